// AddressAllocator's out-of-line pieces: the AllocError category and the system clock.
#include <bngkit/bng/pool/allocator.hpp>
#include <ctime>

namespace bngkit::bng::pool {
namespace {

class AllocCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "bngkit.pool"; }
  std::string message(int code) const override {
    switch (static_cast<AllocError>(code)) {
      case AllocError::pool_not_found:
        return "no such pool";
      case AllocError::pool_exhausted:
        return "pool exhausted";
      case AllocError::invalid_subscriber:
        return "invalid subscriber key";
      case AllocError::not_in_pool:
        return "address not assignable in this pool";
      case AllocError::address_in_use:
        return "address belongs to another subscriber";
      case AllocError::in_probation:
        return "address in probation after a decline";
      case AllocError::wrong_address:
        return "subscriber holds another address";
      case AllocError::not_bound:
        return "subscriber does not hold this address";
      case AllocError::unavailable:
        return "no allocation known for the subscriber yet";
    }
    return "unknown allocation error";
  }
  std::error_condition default_error_condition(int code) const noexcept override {
    switch (static_cast<AllocError>(code)) {
      case AllocError::pool_not_found:
        return std::errc::no_such_device_or_address;
      case AllocError::pool_exhausted:
        return std::errc::no_space_on_device;
      case AllocError::invalid_subscriber:
        return std::errc::invalid_argument;
      case AllocError::not_in_pool:
      case AllocError::wrong_address:
        return std::errc::address_not_available;
      case AllocError::address_in_use:
      case AllocError::in_probation:
        return std::errc::address_in_use;
      case AllocError::not_bound:
        return std::errc::operation_not_permitted;
      case AllocError::unavailable:
        return std::errc::resource_unavailable_try_again;
    }
    return std::error_condition(code, *this);
  }
};

}  // namespace

const std::error_category& alloc_category() noexcept {
  static const AllocCategory category;
  return category;
}

std::error_code make_error_code(AllocError e) noexcept {
  return {static_cast<int>(e), alloc_category()};
}

std::chrono::sys_seconds system_now() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return std::chrono::sys_seconds(std::chrono::seconds(ts.tv_sec));
}

AddressAllocator::~AddressAllocator() = default;

}  // namespace bngkit::bng::pool
