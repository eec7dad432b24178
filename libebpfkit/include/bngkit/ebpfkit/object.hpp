// Object: the owner of a libbpf bpf_object — open from a file, from memory or from a
// bpftool skeleton's embedded ELF, load (with the verifier log in the error when the
// kernel rejects a program), reuse of maps pinned by name, and name lookups.
#pragma once

#include <bngkit/common/result.hpp>
#include <bngkit/ebpfkit/export.hpp>
#include <bngkit/ebpfkit/map.hpp>
#include <bngkit/ebpfkit/program.hpp>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

struct bpf_object;
struct bpf_map;

namespace bngkit::ebpfkit {

/// How to open an Object.
struct ObjectOptions {
  /// Object name override (defaults: file base name, or the name given to open_memory).
  std::string name;
  /// Directory for maps declared with `__uint(pinning, LIBBPF_PIN_BY_NAME)`: they are
  /// pinned at <pin_root>/<map name> on load and REUSED from there when already pinned
  /// (state survives a restart). Must be on bpffs. Empty: libbpf's /sys/fs/bpf.
  std::string pin_root;
  /// Verifier log buffer size per program (allocated during load() only). The log of a
  /// rejected program is put in the load error; see also Object::verifier_log().
  std::size_t verifier_log_size = 1U << 20;
  /// 0: ask for a log only when a load fails (libbpf retries at level 1); 1 or 2:
  /// always log (slower), e.g. to inspect verified instruction counts.
  std::uint32_t verifier_log_level = 0;
};

/// Bytes of a bpftool skeleton's embedded ELF; see BNGKIT_EBPFKIT_SKELETON_ELF.
[[nodiscard]] inline std::span<const std::byte> skeleton_elf(const void* (*elf_bytes)(size_t*)) {
  size_t size = 0;
  const void* data = elf_bytes(&size);
  return {static_cast<const std::byte*>(data), size};
}

/// The ELF embedded in skeleton `name` (from `#include "name.skel.h"`), as a span for
/// Object::open_memory: `Object::open_memory("name", BNGKIT_EBPFKIT_SKELETON_ELF(name))`.
#define BNGKIT_EBPFKIT_SKELETON_ELF(name) ::bngkit::ebpfkit::skeleton_elf(&name##__elf_bytes)

/// Opens the object embedded in skeleton `name` under the skeleton's name.
#define BNGKIT_EBPFKIT_OPEN_SKELETON(name, ...) \
  ::bngkit::ebpfkit::Object::open_memory(       \
      #name, BNGKIT_EBPFKIT_SKELETON_ELF(name) __VA_OPT__(, ) __VA_ARGS__)

/// Move-only owner of a bpf_object: maps and programs live as long as it does
/// (attachments made from its programs must be dropped or released before it).
class BNGKIT_EBPFKIT_EXPORT Object {
 public:
  /// Opens (parses, does not load) an ELF object file.
  [[nodiscard]] static Result<Object> open_file(const std::string& path,
                                                const ObjectOptions& opts = {});
  /// Opens an ELF image held in memory (copied; `elf` need not outlive the call).
  [[nodiscard]] static Result<Object> open_memory(std::string_view name,
                                                  std::span<const std::byte> elf,
                                                  const ObjectOptions& opts = {});

  Object(Object&& other) noexcept;
  Object& operator=(Object&& other) noexcept;
  Object(const Object&) = delete;
  Object& operator=(const Object&) = delete;
  ~Object();

  /// Creates the maps (reusing pinned ones) and loads every autoload program. When the
  /// kernel rejects a program, the error names it and carries the verifier log.
  [[nodiscard]] Result<void> load();
  [[nodiscard]] bool loaded() const noexcept { return loaded_; }

  [[nodiscard]] std::string_view name() const noexcept;

  /// The program `name` (function name); error "no program named X in object Y".
  [[nodiscard]] Result<Program> program(std::string_view name) const;
  /// The loaded map `name` as a borrowed handle (valid while this Object lives);
  /// error "no map named X in object Y", or when not loaded yet.
  [[nodiscard]] Result<MapHandle> map(std::string_view name) const;
  /// A typed map: `obj.map_as<PerCpuMap<uint32_t, uint64_t>>("counters")`.
  template <typename TypedMap>
  [[nodiscard]] Result<TypedMap> map_as(std::string_view name) const {
    auto h = map(name);
    if (!h) return h.error();
    return TypedMap::from(std::move(h).value());
  }
  /// The libbpf map `name` before load, to tune it (bpf_map__set_max_entries, ...).
  [[nodiscard]] Result<::bpf_map*> raw_map(std::string_view name) const;
  /// Before load: sizes map `name` to `max_entries` (0 keeps its size) and, when `pin_dir`
  /// is not empty, pins it at pin_dir/name (libbpf reuses a compatible map pinned there).
  [[nodiscard]] Result<void> prepare_map(std::string_view name, std::uint32_t max_entries,
                                         const std::string& pin_dir) const;

  /// Names of all programs / maps, in ELF order.
  [[nodiscard]] std::vector<std::string> program_names() const;
  [[nodiscard]] std::vector<std::string> map_names() const;

  /// Verifier output of program `program`: with verifier_log_level > 0 for every
  /// program, else only for the program the kernel rejected. Empty when none.
  [[nodiscard]] std::string verifier_log(std::string_view program) const;
  /// Verifier output of the rejected program after a failed load(), else of all
  /// programs (verifier_log_level > 0) one after another.
  [[nodiscard]] std::string verifier_log() const;

  /// The libbpf object, for calls this library does not wrap.
  [[nodiscard]] ::bpf_object* raw() const noexcept { return obj_; }

 private:
  Object(::bpf_object* obj, const ObjectOptions& opts, std::vector<std::byte> image) noexcept;
  ::bpf_object* obj_ = nullptr;
  std::size_t log_size_ = 0;
  std::uint32_t log_level_ = 0;
  std::vector<std::byte> image_;                           // ELF copy for open_memory
  std::vector<std::pair<std::string, std::string>> logs_;  // program -> verifier log
  std::string failed_;  // program the kernel rejected in the last load()
  bool loaded_ = false;
};

}  // namespace bngkit::ebpfkit
