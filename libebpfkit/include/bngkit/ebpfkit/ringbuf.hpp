// RingBuffer: RAII consumer of a BPF ring buffer map. Records arrive in a callback as
// byte spans; fd() is an epoll descriptor that becomes readable when records are
// waiting, so it fits any event loop (epoll, poll, Asio posix::stream_descriptor);
// backlog() tells how many bytes are waiting (computed from the mmapped producer and
// consumer positions: libbpf 1.1 has no ring__avail_data_size).
#pragma once

#include <bngkit/common/result.hpp>
#include <bngkit/ebpfkit/export.hpp>
#include <bngkit/ebpfkit/map.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <span>

namespace bngkit::ebpfkit {

/// Ring buffer fill level.
struct RingBacklog {
  std::size_t bytes = 0;     ///< produced but not yet consumed (record headers included)
  std::size_t capacity = 0;  ///< ring size (max_entries)
  [[nodiscard]] double ratio() const noexcept {
    return capacity == 0 ? 0.0 : static_cast<double>(bytes) / static_cast<double>(capacity);
  }
};

/// Consumer of one BPF_MAP_TYPE_RINGBUF map.
///
/// With Asio: `asio::posix::stream_descriptor sd(io, ::dup(rb.fd()));` then on each
/// `sd.async_wait(wait_read, ...)` call `rb.consume()` and wait again.
class BNGKIT_EBPFKIT_EXPORT RingBuffer {
 public:
  /// Called once per record, in order; the span is valid only during the call.
  using Callback = std::function<void(std::span<const std::byte>)>;

  /// Opens a consumer on `map` (must be a ring buffer map). The map fd is duplicated,
  /// so the handle (and its Object) may go away first.
  [[nodiscard]] static Result<RingBuffer> open(const MapHandle& map, Callback callback);

  RingBuffer(RingBuffer&&) noexcept;
  RingBuffer& operator=(RingBuffer&&) noexcept;
  RingBuffer(const RingBuffer&) = delete;
  RingBuffer& operator=(const RingBuffer&) = delete;
  ~RingBuffer();

  /// Epoll descriptor, readable when records are waiting (owned by the RingBuffer).
  [[nodiscard]] int fd() const noexcept;
  /// Waits up to `timeout` (negative: forever) and handles every waiting record.
  /// Returns the number of records handled (0 on timeout); EINTR counts as 0.
  [[nodiscard]] Result<int> poll(std::chrono::milliseconds timeout);
  /// Handles every waiting record without blocking; returns how many.
  [[nodiscard]] Result<int> consume();
  /// Bytes waiting to be consumed.
  [[nodiscard]] RingBacklog backlog() const noexcept;

 private:
  struct State;
  explicit RingBuffer(std::unique_ptr<State> s) noexcept;
  std::unique_ptr<State> s_;
};

}  // namespace bngkit::ebpfkit
