// Object: open, load with the verifier log captured, name lookups.
#include <bpf/libbpf.h>

#include <algorithm>
#include <bngkit/ebpfkit/libbpf_opts.hpp>
#include <bngkit/ebpfkit/object.hpp>
#include <cstring>

#include "internal.hpp"

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

Result<std::string> object_name_and_check(const ObjectOptions& opts, std::string default_name) {
  std::string name = opts.name.empty() ? std::move(default_name) : opts.name;
  if (!opts.pin_root.empty()) {
    if (auto r = detail::require_bpffs(opts.pin_root); !r) {
      return Error{r.error().code,
                   fmt::format("BPF object '{}': pin root {}", name, r.error().context)};
    }
  }
  return name;
}

}  // namespace

Object::Object(::bpf_object* obj, const ObjectOptions& opts, std::vector<std::byte> image) noexcept
    : obj_(obj),
      // The kernel wants at least 128 bytes and at most UINT32_MAX >> 2.
      log_size_(opts.verifier_log_size == 0
                    ? 0
                    : std::clamp<std::size_t>(opts.verifier_log_size, 128, (1U << 30) - 1)),
      log_level_(opts.verifier_log_level),
      image_(std::move(image)) {}

Object::Object(Object&& other) noexcept
    : obj_(std::exchange(other.obj_, nullptr)),
      log_size_(other.log_size_),
      log_level_(other.log_level_),
      image_(std::move(other.image_)),
      logs_(std::move(other.logs_)),
      failed_(std::move(other.failed_)),
      loaded_(std::exchange(other.loaded_, false)) {}

Object& Object::operator=(Object&& other) noexcept {
  if (this != &other) {
    if (obj_ != nullptr) bpf_object__close(obj_);
    obj_ = std::exchange(other.obj_, nullptr);
    log_size_ = other.log_size_;
    log_level_ = other.log_level_;
    image_ = std::move(other.image_);
    logs_ = std::move(other.logs_);
    failed_ = std::move(other.failed_);
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
  auto name = object_name_and_check(opts, base);
  if (!name) return name.error();
  LibbpfOpts<bpf_object_open_opts> oo;
  oo.object_name = name->c_str();
  oo.pin_root_path = opts.pin_root.empty() ? nullptr : opts.pin_root.c_str();
  ::bpf_object* obj = bpf_object__open_file(path.c_str(), &oo);
  if (obj == nullptr) return detail::bpf_error(0, "opening BPF object file {}", path);
  return Object(obj, opts, {});
}

Result<Object> Object::open_memory(std::string_view name, std::span<const std::byte> elf,
                                   const ObjectOptions& opts) {
  auto obj_name = object_name_and_check(opts, std::string(name));
  if (!obj_name) return obj_name.error();
  if (elf.empty()) {
    return make_error(std::errc::invalid_argument,
                      fmt::format("BPF object '{}': empty ELF image", *obj_name));
  }
  std::vector<std::byte> image(elf.begin(), elf.end());
  LibbpfOpts<bpf_object_open_opts> oo;
  oo.object_name = obj_name->c_str();
  oo.pin_root_path = opts.pin_root.empty() ? nullptr : opts.pin_root.c_str();
  ::bpf_object* obj = bpf_object__open_mem(image.data(), image.size(), &oo);
  if (obj == nullptr) {
    return detail::bpf_error(0, "opening BPF object '{}' from memory", *obj_name);
  }
  return Object(obj, opts, std::move(image));
}

std::string_view Object::name() const noexcept {
  return obj_ != nullptr ? bpf_object__name(obj_) : std::string_view{};
}

Result<void> Object::load() {
  if (obj_ == nullptr)
    return make_error(std::errc::invalid_argument, "load of a moved-from Object");
  if (loaded_) {
    return make_error(std::errc::invalid_argument,
                      fmt::format("BPF object '{}' is already loaded", name()));
  }
  // One log buffer per program, alive only during load: libbpf unloads every program
  // when one fails, so the program with a log (the last one tried) names the culprit.
  std::vector<std::pair<::bpf_program*, std::unique_ptr<char[]>>> bufs;
  ::bpf_program* prog = nullptr;
  if (log_size_ > 0) {
    bpf_object__for_each_program(prog, obj_) {
      if (!bpf_program__autoload(prog)) continue;
      auto buf = std::make_unique<char[]>(log_size_);
      buf[0] = '\0';
      (void)bpf_program__set_log_buf(prog, buf.get(), log_size_);
      (void)bpf_program__set_log_level(prog, log_level_);
      bufs.emplace_back(prog, std::move(buf));
    }
  }
  errno = 0;
  int rc = bpf_object__load(obj_);
  logs_.clear();
  failed_.clear();
  for (auto& [p, buf] : bufs) {
    std::string log(buf.get(), strnlen(buf.get(), log_size_));
    if (!log.empty()) logs_.emplace_back(bpf_program__name(p), std::move(log));
  }
  if (rc == 0) {
    loaded_ = true;
    return ok();
  }
  // Programs load in ELF order and stop at the first failure.
  std::string ctx;
  if (!logs_.empty()) {
    failed_ = logs_.back().first;
    ctx = fmt::format("BPF object '{}': the kernel rejected program '{}'; verifier log:\n{}\n",
                      name(), failed_, tail(logs_.back().second));
  } else {
    ctx = fmt::format(
        "BPF object '{}': load failed before any program was verified "
        "(maps, BTF or relocations; see libbpf messages)",
        name());
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

Result<void> Object::prepare_map(std::string_view name, std::uint32_t max_entries,
                                 const std::string& pin_dir) const {
  auto m = raw_map(name);
  if (!m) return m.error();
  if (max_entries != 0) {
    if (int err = bpf_map__set_max_entries(*m, max_entries); err != 0) {
      return errno_error(err, fmt::format("sizing map {}", name));
    }
  }
  if (!pin_dir.empty()) {
    const std::string path = pin_dir + "/" + std::string(name);
    if (int err = bpf_map__set_pin_path(*m, path.c_str()); err != 0) {
      return errno_error(err, "setting pin path " + path);
    }
  }
  return ok();
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

std::string Object::verifier_log(std::string_view program) const {
  for (const auto& [p, log] : logs_) {
    if (p == program) return log;
  }
  return {};
}

std::string Object::verifier_log() const {
  if (!failed_.empty()) return verifier_log(failed_);
  std::string all;
  for (const auto& [p, log] : logs_) all += fmt::format("--- {} ---\n{}", p, log);
  return all;
}

}  // namespace bngkit::ebpfkit
