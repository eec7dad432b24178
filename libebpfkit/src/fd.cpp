// UniqueFd implementation.
#include <bngkit/ebpfkit/fd.hpp>

#include <unistd.h>

namespace bngkit::ebpfkit {

void UniqueFd::reset(int fd) noexcept {
  if (fd_ >= 0 && fd_ != fd) ::close(fd_);
  fd_ = fd;
}

}  // namespace bngkit::ebpfkit
