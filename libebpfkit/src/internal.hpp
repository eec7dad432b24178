// Private helpers shared by the libebpfkit sources: errno capture and error formatting.
#pragma once

#include <fmt/format.h>

#include <bngkit/common/result.hpp>
#include <cerrno>
#include <string>

namespace bngkit::ebpfkit::detail {

/// libbpf (1.x) returns negative errno values; some paths only set errno. Pick a
/// usable positive errno either way.
inline int libbpf_errno(int rc) noexcept {
  if (rc < 0) return -rc;
  return errno != 0 ? errno : EINVAL;
}

/// Error from a libbpf return code with a formatted context.
template <typename... Args>
Error bpf_error(int rc, fmt::format_string<Args...> f, Args&&... args) {
  return errno_error(libbpf_errno(rc), fmt::format(f, std::forward<Args>(args)...));
}

/// Kernel-internal ENOTSUPP (524) leaks to userspace from some BPF commands.
inline constexpr int kKernelEnotsupp = 524;

/// True when a batch command is simply not available for this map/kernel.
inline bool batch_unsupported(int err) noexcept {
  return err == EINVAL || err == ENOTSUP || err == EOPNOTSUPP || err == kKernelEnotsupp;
}

/// Kind of BPF object behind `fd` from /proc/self/fd ("bpf-map", "bpf-prog",
/// "bpf_link", ...); empty when it cannot be told (no /proc).
std::string bpf_fd_kind(int fd);

/// Error when `fd` is known to be something other than `kind`.
Result<void> expect_fd_kind(int fd, const char* kind);

/// Checks that `path` (or its closest existing ancestor) lives on a bpffs mount.
Result<void> require_bpffs(const std::string& path);

}  // namespace bngkit::ebpfkit::detail
