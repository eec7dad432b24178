// Object: open, load with the verifier log captured, name lookups.
#include <bngkit/ebpfkit/object.hpp>

#include "internal.hpp"

#include <bpf/libbpf.h>

#include <algorithm>
#include <cstring>

namespace bngkit::ebpfkit {
namespace {

// The end of a verifier log is where the reason is; keep that part in errors.
constexpr std::size_t kLogTailInError = 32 * 1024;

std::string tail(std::string_view log) {
  while (!log.empty() && (log.back() == '\n' || log.back() == '\0')) log.remove_suffix(1);
  if (log.size() <= kLogTailInError) return std::string(log);
  std::size_t cut = log.size() - kLogTailInError;
  std::size_t nl = log.find('\n', cut);
  if (nl != std::string_view::npos) cut = nl + 1;
  return fmt::format("... ({} bytes omitted) ...\n{}", cut, log.substr(cut));
}

struct OpenArgs {
  std::string name;
  std::string pin_root;
  std::unique_ptr<char[]> log;
  std::size_t log_size = 0;
};

Result<OpenArgs> prepare(const ObjectOptions& opts, std::string default_name) {
  OpenArgs a;
  a.name = opts.name.empty() ? std::move(default_name) : opts.name;
  a.pin_root = opts.pin_root;
  if (!a.pin_root.empty()) {
    if (auto r = detail::require_bpffs(a.pin_root); !r) {
      return Error{r.error().code,
                   fmt::format("BPF object '{}': pin root {}", a.name, r.error().context)};
    }
  }
  if (opts.verifier_log_size > 0) {
    // The kernel wants at least 128 bytes and at most UINT32_MAX >> 2.
    a.log_size = std::clamp<std::size_t>(opts.verifier_log_size, 128, (1U << 30) - 1);
    a.log.reset(new char[a.log_size]);
    a.log[0] = '\0';
  }
  return a;
}

}  // namespace

Object::Object(::bpf_object* obj, std::unique_ptr<char[]> log, std::size_t log_size,
               std::vector<std::byte> image) noexcept
    : obj_(obj), log_(std::move(log)), log_size_(log_size), image_(std::move(image)) {}

Object::Object(Object&& other) noexcept
    : obj_(std::exchange(other.obj_, nullptr)),
      log_(std::move(other.log_)),
      log_size_(std::exchange(other.log_size_, 0)),
      image_(std::move(other.image_)),
      loaded_(std::exchange(other.loaded_, false)) {}

Object& Object::operator=(Object&& other) noexcept {
  if (this != &other) {
    if (obj_ != nullptr) bpf_object__close(obj_);
    obj_ = std::exchange(other.obj_, nullptr);
    log_ = std::move(other.log_);
    log_size_ = std::exchange(other.log_size_, 0);
    image_ = std::move(other.image_);
    loaded_ = std::exchange(other.loaded_, false);
  }
  return *this;
}

Object::~Object() {
  if (obj_ != nullptr) bpf_object__close(obj_);
}

Result<Object> Object::open_file(const std::string& path, const ObjectOptions& opts) {
  std::string base = path.substr(path.find_last_of('/') + 1);
  if (auto dot = base.find('.'); dot != std::string::npos) base.resize(dot);
  auto a = prepare(opts, base);
  if (!a) return a.error();
  LIBBPF_OPTS(bpf_object_open_opts, oo, .object_name = a->name.c_str(),
              .pin_root_path = a->pin_root.empty() ? nullptr : a->pin_root.c_str(),
              .kernel_log_buf = a->log.get(), .kernel_log_size = a->log_size,
              .kernel_log_level = opts.verifier_log_level);
  ::bpf_object* obj = bpf_object__open_file(path.c_str(), &oo);
  if (obj == nullptr) return detail::bpf_error(0, "opening BPF object file {}", path);
  return Object(obj, std::move(a->log), a->log_size, {});
}

Result<Object> Object::open_memory(std::string_view name, std::span<const std::byte> elf,
                                   const ObjectOptions& opts) {
  auto a = prepare(opts, std::string(name));
  if (!a) return a.error();
  if (elf.empty()) {
    return make_error(std::errc::invalid_argument,
                      fmt::format("BPF object '{}': empty ELF image", a->name));
  }
  std::vector<std::byte> image(elf.begin(), elf.end());
  LIBBPF_OPTS(bpf_object_open_opts, oo, .object_name = a->name.c_str(),
              .pin_root_path = a->pin_root.empty() ? nullptr : a->pin_root.c_str(),
              .kernel_log_buf = a->log.get(), .kernel_log_size = a->log_size,
              .kernel_log_level = opts.verifier_log_level);
  ::bpf_object* obj = bpf_object__open_mem(image.data(), image.size(), &oo);
  if (obj == nullptr) return detail::bpf_error(0, "opening BPF object '{}' from memory", a->name);
  return Object(obj, std::move(a->log), a->log_size, std::move(image));
}

std::string_view Object::name() const noexcept {
  return obj_ != nullptr ? bpf_object__name(obj_) : std::string_view{};
}

Result<void> Object::load() {
  if (obj_ == nullptr) return make_error(std::errc::invalid_argument, "load of a moved-from Object");
  if (loaded_) {
    return make_error(std::errc::invalid_argument,
                      fmt::format("BPF object '{}' is already loaded", name()));
  }
  if (log_) log_[0] = '\0';
  errno = 0;
  int rc = bpf_object__load(obj_);
  if (rc == 0) {
    loaded_ = true;
    return ok();
  }
  // Programs load in ELF order: the first autoload program without an fd failed (if
  // none did, map creation or BTF failed before any program was tried).
  const char* failed = nullptr;
  ::bpf_program* prog = nullptr;
  bpf_object__for_each_program(prog, obj_) {
    if (bpf_program__autoload(prog) && bpf_program__fd(prog) < 0) {
      failed = bpf_program__name(prog);
      break;
    }
  }
  std::string log = verifier_log();
  std::string ctx;
  if (failed != nullptr && !log.empty()) {
    ctx = fmt::format("BPF object '{}': the kernel rejected program '{}'; verifier log:\n{}\n",
                      name(), failed, tail(log));
  } else if (failed != nullptr) {
    ctx = fmt::format("BPF object '{}': loading program '{}' failed (no verifier log; "
                      "see libbpf messages)",
                      name(), failed);
  } else {
    ctx = fmt::format("BPF object '{}': load failed (maps/BTF, before any program)", name());
    if (!log.empty()) ctx += fmt::format("; kernel log:\n{}\n", tail(log));
  }
  return detail::bpf_error(rc, "{}", ctx);
}

Result<Program> Object::program(std::string_view name) const {
  std::string n(name);
  ::bpf_program* p = bpf_object__find_program_by_name(obj_, n.c_str());
  if (p == nullptr) {
    return make_error(std::errc::no_such_file_or_directory,
                      fmt::format("no program named {} in object {}", name, this->name()));
  }
  return Program(p);
}

Result<::bpf_map*> Object::raw_map(std::string_view name) const {
  std::string n(name);
  ::bpf_map* m = bpf_object__find_map_by_name(obj_, n.c_str());
  if (m == nullptr) {
    return make_error(std::errc::no_such_file_or_directory,
                      fmt::format("no map named {} in object {}", name, this->name()));
  }
  return m;
}

Result<MapHandle> Object::map(std::string_view name) const {
  auto m = raw_map(name);
  if (!m) return m.error();
  int fd = bpf_map__fd(*m);
  if (fd < 0) {
    return make_error(std::errc::invalid_argument,
                      fmt::format("map {} in object {} has no fd yet: load() the object first",
                                  name, this->name()));
  }
  auto info = map_info(fd);
  if (!info) return info.error();
  info->name = bpf_map__name(*m);  // full name, not the kernel's 15 characters
  return MapHandle(fd, UniqueFd{}, std::move(info).value());
}

std::vector<std::string> Object::program_names() const {
  std::vector<std::string> out;
  ::bpf_program* p = nullptr;
  bpf_object__for_each_program(p, obj_) out.emplace_back(bpf_program__name(p));
  return out;
}

std::vector<std::string> Object::map_names() const {
  std::vector<std::string> out;
  ::bpf_map* m = nullptr;
  bpf_object__for_each_map(m, obj_) out.emplace_back(bpf_map__name(m));
  return out;
}

std::string Object::verifier_log() const {
  if (!log_) return {};
  return std::string(log_.get(), strnlen(log_.get(), log_size_));
}

}  // namespace bngkit::ebpfkit
