// BPF programs: a non-owning view of a program inside an Object, an fd-based handle
// (owned or borrowed, e.g. opened from a pin), kernel-side program info, and
// ProgramRef, the borrowed "which program" argument of attach/test-run/stats calls.
#pragma once

#include <linux/bpf.h>

#include <array>
#include <bngkit/common/result.hpp>
#include <bngkit/ebpfkit/export.hpp>
#include <bngkit/ebpfkit/fd.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

struct bpf_program;

namespace bngkit::ebpfkit {

/// What the kernel reports about a loaded program (BPF_OBJ_GET_INFO_BY_FD).
struct ProgramInfo {
  std::string name;  ///< kernel name (truncated to 15 characters by the kernel)
  bpf_prog_type type = BPF_PROG_TYPE_UNSPEC;
  std::uint32_t id = 0;
  std::array<std::uint8_t, BPF_TAG_SIZE> tag{};
  std::uint32_t xlated_len = 0;   ///< bytes of verified instructions
  std::uint32_t jited_len = 0;    ///< bytes of JIT-compiled code (0: interpreted)
  std::uint64_t run_cnt = 0;      ///< runs counted while BPF stats were enabled
  std::uint64_t run_time_ns = 0;  ///< total run time while BPF stats were enabled
  std::uint64_t recursion_misses = 0;
};

/// Kernel info about the program behind `fd`.
[[nodiscard]] BNGKIT_EBPFKIT_EXPORT Result<ProgramInfo> program_info(int fd);

/// Non-owning view of a program in an Object; valid while the Object lives.
class BNGKIT_EBPFKIT_EXPORT Program {
 public:
  explicit Program(::bpf_program* prog) noexcept : prog_(prog) {}

  /// Function name of the program in the ELF (full length).
  [[nodiscard]] std::string_view name() const noexcept;
  /// ELF section, e.g. "xdp" or "tc".
  [[nodiscard]] std::string_view section() const noexcept;
  [[nodiscard]] bpf_prog_type type() const noexcept;
  /// Program fd once the object is loaded, -1 before (borrowed: the Object owns it).
  [[nodiscard]] int fd() const noexcept;
  [[nodiscard]] bool loaded() const noexcept { return fd() >= 0; }

  /// Changes the program type before load (e.g. for sections libbpf cannot guess).
  [[nodiscard]] Result<void> set_type(bpf_prog_type type);
  /// Skips (false) or includes (true) this program when the Object is loaded.
  [[nodiscard]] Result<void> set_autoload(bool autoload);

  /// Kernel info (id, tag, run stats); the object must be loaded.
  [[nodiscard]] Result<ProgramInfo> info() const;

  /// The libbpf program, for calls this library does not wrap.
  [[nodiscard]] ::bpf_program* raw() const noexcept { return prog_; }

 private:
  ::bpf_program* prog_;
};

/// A program by descriptor: owned (opened from a pin or an id) or borrowed.
class BNGKIT_EBPFKIT_EXPORT ProgramHandle {
 public:
  /// Borrows `fd` (must stay open while the handle is used).
  [[nodiscard]] static Result<ProgramHandle> borrow(int fd);
  /// Takes ownership of `fd`.
  [[nodiscard]] static Result<ProgramHandle> adopt(UniqueFd fd);
  /// Opens the loaded program with kernel id `id` (owned fd).
  [[nodiscard]] static Result<ProgramHandle> from_id(std::uint32_t id);

  ProgramHandle(ProgramHandle&& other) noexcept
      : owned_(std::move(other.owned_)),
        fd_(std::exchange(other.fd_, -1)),
        info_(std::move(other.info_)) {}
  ProgramHandle& operator=(ProgramHandle&& other) noexcept {
    if (this != &other) {
      owned_ = std::move(other.owned_);
      fd_ = std::exchange(other.fd_, -1);
      info_ = std::move(other.info_);
    }
    return *this;
  }
  ProgramHandle(const ProgramHandle&) = delete;
  ProgramHandle& operator=(const ProgramHandle&) = delete;
  ~ProgramHandle() = default;

  [[nodiscard]] int fd() const noexcept { return fd_; }
  [[nodiscard]] bool owns_fd() const noexcept { return owned_.valid(); }
  /// Info captured when the handle was made (name, type, id, tag).
  [[nodiscard]] const ProgramInfo& info() const noexcept { return info_; }
  /// Fresh kernel info (run stats change over time).
  [[nodiscard]] Result<ProgramInfo> refresh_info() const { return program_info(fd_); }

 private:
  ProgramHandle(int fd, UniqueFd owned, ProgramInfo info) noexcept
      : owned_(std::move(owned)), fd_(fd), info_(std::move(info)) {}
  UniqueFd owned_;
  int fd_ = -1;
  ProgramInfo info_;
};

/// A borrowed program descriptor: what attach, test-run and stats functions take.
/// Converts implicitly from Program and ProgramHandle; from a raw fd explicitly.
class ProgramRef {
 public:
  explicit ProgramRef(int fd) noexcept : fd_(fd) {}
  ProgramRef(const Program& p) noexcept : fd_(p.fd()) {}        // NOLINT: implicit
  ProgramRef(const ProgramHandle& p) noexcept : fd_(p.fd()) {}  // NOLINT: implicit
  [[nodiscard]] int fd() const noexcept { return fd_; }

 private:
  int fd_;
};

}  // namespace bngkit::ebpfkit
