// RingBuffer: libbpf ring_buffer consumer plus our own read-only view of the
// consumer/producer position pages for the backlog.
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bngkit/ebpfkit/ringbuf.hpp>
#include <exception>
#include <string>

#include "internal.hpp"

namespace bngkit::ebpfkit {

struct RingBuffer::State {
  Callback callback;
  UniqueFd map_fd;
  ::ring_buffer* rb = nullptr;
  void* consumer_page = MAP_FAILED;
  void* producer_page = MAP_FAILED;
  std::size_t page_size = 0;
  std::size_t capacity = 0;
  std::string name;
  std::string callback_error;  // what the callback threw, reported by poll/consume

  ~State() {
    if (rb != nullptr) ring_buffer__free(rb);
    if (consumer_page != MAP_FAILED) ::munmap(consumer_page, page_size);
    if (producer_page != MAP_FAILED) ::munmap(producer_page, page_size);
  }

  static int on_sample(void* ctx, void* data, size_t size) noexcept {
    auto* s = static_cast<State*>(ctx);
    try {
      s->callback(std::span<const std::byte>(static_cast<const std::byte*>(data), size));
      return 0;
    } catch (const std::exception& e) {
      s->callback_error = e.what();
    } catch (...) {
      s->callback_error = "unknown exception";
    }
    return -ECANCELED;  // stops this round; the record counts as consumed
  }

  Result<int> finish(int rc, const char* what) {
    if (rc >= 0) return rc;
    if (rc == -EINTR) return 0;
    if (rc == -ECANCELED && !callback_error.empty()) {
      std::string msg = std::exchange(callback_error, {});
      return make_error(std::errc::operation_canceled,
                        fmt::format("ring buffer '{}': callback threw: {}", name, msg));
    }
    return detail::bpf_error(rc, "ring buffer '{}': {}", name, what);
  }
};

RingBuffer::RingBuffer(std::unique_ptr<State> s) noexcept : s_(std::move(s)) {}
RingBuffer::RingBuffer(RingBuffer&&) noexcept = default;
RingBuffer& RingBuffer::operator=(RingBuffer&&) noexcept = default;
RingBuffer::~RingBuffer() = default;

Result<RingBuffer> RingBuffer::open(const MapHandle& map, Callback callback) {
  if (map.type() != BPF_MAP_TYPE_RINGBUF) {
    return make_error(
        std::errc::invalid_argument,
        fmt::format("map '{}' is a {} map, not a ringbuf", map.name(), map_type_name(map.type())));
  }
  if (!callback) {
    return make_error(std::errc::invalid_argument,
                      fmt::format("ring buffer '{}': empty callback", map.name()));
  }
  auto s = std::make_unique<State>();
  s->callback = std::move(callback);
  s->name = map.name();
  s->capacity = map.info().max_entries;
  s->page_size = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  s->map_fd.reset(::fcntl(map.fd(), F_DUPFD_CLOEXEC, 3));
  if (!s->map_fd) return errno_error(errno, "duplicating ring buffer map fd");

  s->rb = ring_buffer__new(s->map_fd.get(), &State::on_sample, s.get(), nullptr);
  if (s->rb == nullptr) return detail::bpf_error(0, "opening ring buffer '{}'", s->name);
  // Page 0: consumer position; page 1: producer position (read-only views suffice).
  s->consumer_page = ::mmap(nullptr, s->page_size, PROT_READ, MAP_SHARED, s->map_fd.get(), 0);
  if (s->consumer_page == MAP_FAILED) {
    return errno_error(errno, "mapping consumer page of ring buffer '" + s->name + "'");
  }
  s->producer_page = ::mmap(nullptr, s->page_size, PROT_READ, MAP_SHARED, s->map_fd.get(),
                            static_cast<off_t>(s->page_size));
  if (s->producer_page == MAP_FAILED) {
    return errno_error(errno, "mapping producer page of ring buffer '" + s->name + "'");
  }
  return RingBuffer(std::move(s));
}

int RingBuffer::fd() const noexcept { return s_ ? ring_buffer__epoll_fd(s_->rb) : -1; }

Result<int> RingBuffer::poll(std::chrono::milliseconds timeout) {
  if (!s_) return make_error(std::errc::bad_file_descriptor, "poll on a moved-from RingBuffer");
  int ms = timeout.count() < 0 ? -1 : static_cast<int>(timeout.count());
  return s_->finish(ring_buffer__poll(s_->rb, ms), "poll");
}

Result<int> RingBuffer::consume() {
  if (!s_) return make_error(std::errc::bad_file_descriptor, "consume on a moved-from RingBuffer");
  return s_->finish(ring_buffer__consume(s_->rb), "consume");
}

RingBacklog RingBuffer::backlog() const noexcept {
  if (!s_) return {};
  const auto* cons = static_cast<const unsigned long*>(s_->consumer_page);
  const auto* prod = static_cast<const unsigned long*>(s_->producer_page);
  unsigned long c = __atomic_load_n(cons, __ATOMIC_ACQUIRE);
  unsigned long p = __atomic_load_n(prod, __ATOMIC_ACQUIRE);
  return RingBacklog{p >= c ? static_cast<std::size_t>(p - c) : 0, s_->capacity};
}

}  // namespace bngkit::ebpfkit
