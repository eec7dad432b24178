// Pinning in bpffs and the bpffs mount check.
#include <bpf/bpf.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <bngkit/ebpfkit/pin.hpp>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <string_view>

#include "internal.hpp"

namespace bngkit::ebpfkit {
namespace {

// Directory that will hold `path` once created: walk up to an existing ancestor.
Result<std::string> existing_ancestor(const std::string& path) {
  std::filesystem::path p(path);
  if (p.empty()) return make_error(std::errc::invalid_argument, "empty bpffs path");
  while (true) {
    struct stat st {};
    if (::stat(p.c_str(), &st) == 0) return p.string();
    if (errno != ENOENT) return errno_error(errno, "stat " + p.string());
    if (!p.has_parent_path() || p.parent_path() == p) {
      return make_error(std::errc::no_such_file_or_directory, "no existing parent of " + path);
    }
    p = p.parent_path();
  }
}

Result<void> make_parent_dirs(const std::string& path) {
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (parent.empty()) return ok();
  std::error_code ec;
  std::filesystem::create_directories(parent, ec);
  if (ec) return Error{ec, "creating pin directory " + parent.string()};
  return ok();
}

}  // namespace

Result<bool> on_bpffs(const std::string& path) {
  auto dir = existing_ancestor(path);
  if (!dir) return dir.error();
  struct statfs fs {};
  if (::statfs(dir->c_str(), &fs) != 0) return errno_error(errno, "statfs " + *dir);
  return static_cast<unsigned long>(fs.f_type) == BPF_FS_MAGIC;
}

Result<void> require_bpffs(const std::string& path) {
  auto r = on_bpffs(path);
  if (!r) return r.error();
  if (!*r) {
    return make_error(std::errc::operation_not_supported,
                      path + " is not on a bpffs mount: mount -t bpf bpf /sys/fs/bpf");
  }
  return ok();
}

namespace detail {
Result<void> require_bpffs(const std::string& path) { return ebpfkit::require_bpffs(path); }

std::string bpf_fd_kind(int fd) {
  char link[64];
  char target[128];
  std::snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
  ssize_t n = ::readlink(link, target, sizeof(target) - 1);
  if (n <= 0) return {};
  std::string_view t(target, static_cast<std::size_t>(n));
  constexpr std::string_view kAnon = "anon_inode:";
  if (t.substr(0, kAnon.size()) != kAnon) return std::string(t);
  return std::string(t.substr(kAnon.size()));
}

Result<void> expect_fd_kind(int fd, const char* kind) {
  std::string k = bpf_fd_kind(fd);
  if (k.empty() || k == kind) return ok();
  return make_error(std::errc::invalid_argument,
                    fmt::format("fd {} is a {}, not a {}", fd, k, kind));
}
}  // namespace detail

namespace {
Result<void> pin_fd(int fd, const std::string& path, const char* what) {
  if (auto r = require_bpffs(path); !r) return r;
  if (auto r = make_parent_dirs(path); !r) return r;
  int rc = bpf_obj_pin(fd, path.c_str());
  if (rc != 0) return detail::bpf_error(rc, "pinning {} at {}", what, path);
  return ok();
}
}  // namespace

Result<void> pin(const MapHandle& map, const std::string& path) {
  return pin_fd(map.fd(), path, ("map '" + map.name() + "'").c_str());
}

Result<void> pin(ProgramRef prog, const std::string& path) {
  return pin_fd(prog.fd(), path, "program");
}

Result<void> unpin(const std::string& path) {
  if (auto r = require_bpffs(path); !r) return r;
  if (::unlink(path.c_str()) != 0) return errno_error(errno, "unpinning " + path);
  return ok();
}

Result<MapHandle> open_pinned_map(const std::string& path) {
  if (auto r = require_bpffs(path); !r) return r.error();
  int fd = bpf_obj_get(path.c_str());
  if (fd < 0) return detail::bpf_error(fd, "opening pinned map {}", path);
  UniqueFd owned(fd);
  auto h = MapHandle::adopt(std::move(owned));
  if (!h) return errno_error(EINVAL, path + " is not a pinned map (" + h.error().message() + ")");
  return h;
}

Result<ProgramHandle> open_pinned_program(const std::string& path) {
  if (auto r = require_bpffs(path); !r) return r.error();
  int fd = bpf_obj_get(path.c_str());
  if (fd < 0) return detail::bpf_error(fd, "opening pinned program {}", path);
  auto h = ProgramHandle::adopt(UniqueFd(fd));
  if (!h) {
    return errno_error(EINVAL, path + " is not a pinned program (" + h.error().message() + ")");
  }
  return h;
}

}  // namespace bngkit::ebpfkit
