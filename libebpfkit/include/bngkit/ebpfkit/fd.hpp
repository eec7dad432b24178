// UniqueFd: the one owner of a file descriptor (BPF object, map, program, link, socket).
#pragma once

#include <bngkit/ebpfkit/export.hpp>

#include <utility>

namespace bngkit::ebpfkit {

/// Move-only owner of a file descriptor; closes it on destruction.
class BNGKIT_EBPFKIT_EXPORT UniqueFd {
 public:
  UniqueFd() noexcept = default;
  /// Takes ownership of `fd` (negative means empty).
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  ~UniqueFd() { reset(); }

  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  /// The descriptor, still owned by this object (-1 when empty).
  [[nodiscard]] int get() const noexcept { return fd_; }
  [[nodiscard]] bool valid() const noexcept { return fd_ >= 0; }
  explicit operator bool() const noexcept { return valid(); }

  /// Gives up ownership and returns the descriptor.
  [[nodiscard]] int release() noexcept { return std::exchange(fd_, -1); }
  /// Closes the current descriptor (if any) and takes `fd`.
  void reset(int fd = -1) noexcept;

 private:
  int fd_ = -1;
};

}  // namespace bngkit::ebpfkit
