// Private: remember the network namespace an attachment was made in, and switch the
// calling thread into it (and back) for the netlink calls of detach/query.
#pragma once

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>

#include <bngkit/ebpfkit/fd.hpp>

namespace bngkit::ebpfkit::detail {

/// The calling thread's network namespace (invalid when /proc is unavailable).
inline UniqueFd current_netns() noexcept {
  return UniqueFd(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
}

/// Identity (device, inode) of a namespace fd.
struct NsId {
  dev_t dev = 0;
  ino_t ino = 0;
  bool operator==(const NsId&) const = default;
  auto operator<=>(const NsId&) const = default;
};
inline NsId ns_id(int fd) noexcept {
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0) return {};
  return {st.st_dev, st.st_ino};
}

/// Enters `target` when the thread is in another namespace; goes back on destruction.
class NetnsSwitch {
 public:
  explicit NetnsSwitch(int target) noexcept {
    if (target < 0) return;
    UniqueFd cur = current_netns();
    if (!cur || ns_id(cur.get()) == ns_id(target)) return;
    if (::setns(target, CLONE_NEWNET) == 0) orig_ = std::move(cur);
  }
  ~NetnsSwitch() {
    if (orig_) (void)::setns(orig_.get(), CLONE_NEWNET);
  }
  NetnsSwitch(const NetnsSwitch&) = delete;
  NetnsSwitch& operator=(const NetnsSwitch&) = delete;

 private:
  UniqueFd orig_;
};

}  // namespace bngkit::ebpfkit::detail
