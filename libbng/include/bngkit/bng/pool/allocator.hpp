// AddressAllocator: the interface the DHCP slow path allocates addresses through. The
// embedded default is LocalPoolAllocator; a Nexus-backed allocator fits behind the same
// interface. Errors carry AllocError codes so the slow path can tell a NAK from a drop.
#pragma once

#include <bngkit/bng/export.hpp>
#include <bngkit/bng/pool/ipv4_range.hpp>
#include <bngkit/bng/pool/subscriber_key.hpp>
#include <bngkit/common/result.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace bngkit::bng::pool {

/// Why an allocator operation failed.
enum class AllocError {
  pool_not_found = 1,  ///< no pool with that id
  pool_exhausted,      ///< no free address left for a dynamic allocation
  invalid_subscriber,  ///< the subscriber key is empty or malformed
  not_in_pool,         ///< the address is outside the pool's range or never assignable (NAK)
  address_in_use,      ///< the address belongs to another subscriber or reservation (NAK)
  in_probation,        ///< the address was declined and is in probation (NAK)
  wrong_address,       ///< the subscriber holds or is reserved another address (NAK)
  not_bound,           ///< the subscriber does not hold that address (release, decline)
  unavailable,         ///< the allocator cannot answer now (e.g. not yet heard from Nexus): drop, never NAK
};

/// The error category of AllocError ("bngkit.pool").
[[nodiscard]] BNGKIT_BNG_EXPORT const std::error_category& alloc_category() noexcept;
[[nodiscard]] BNGKIT_BNG_EXPORT std::error_code make_error_code(AllocError e) noexcept;

/// Wall-clock time source (CLOCK_REALTIME, whole seconds); injectable for tests.
using WallClock = std::function<std::chrono::sys_seconds()>;
/// The system's CLOCK_REALTIME, truncated to seconds.
[[nodiscard]] BNGKIT_BNG_EXPORT std::chrono::sys_seconds system_now() noexcept;

/// What a client is told about its pool: options 1, 3, 6, 51, 58, 59.
struct PoolParameters {
  std::string pool_id;
  Ipv4Network network;  ///< normalised (no host bits): subnet mask = prefix_length
  std::optional<Ipv4> gateway;
  std::vector<Ipv4> dns;
  std::chrono::seconds lease_time{0};
  std::chrono::seconds renewal_time{0};    ///< T1, default already applied
  std::chrono::seconds rebinding_time{0};  ///< T2, default already applied
};

/// An address bound to a subscriber.
struct Allocation {
  SubscriberKey subscriber;
  Ipv4 address;
  bool reserved = false;  ///< the address comes from a static reservation
  PoolParameters pool;
};

/// What to allocate.
struct AllocationRequest {
  SubscriberKey subscriber;
  std::string pool_id;
  /// The client's requested address (option 50 or ciaddr): honoured when it is free.
  std::optional<Ipv4> requested;
};

/// Address counts of one pool. `total` counts every address allocation may hand out
/// (reserved ones included); `free` those a new subscriber could get now.
struct PoolUtilisation {
  std::string pool_id;
  std::uint64_t total = 0;
  std::uint64_t assigned = 0;  ///< bound to a subscriber, dynamic or reserved
  std::uint64_t declined = 0;  ///< in probation after a DECLINE
  std::uint64_t reserved = 0;  ///< carry a static reservation, bound or not
  std::uint64_t free = 0;      ///< neither bound, reserved, declined nor excluded

  /// Share of the pool not available to a new subscriber, 0.0 to 1.0.
  [[nodiscard]] double used_ratio() const noexcept {
    return total == 0 ? 1.0 : static_cast<double>(total - free) / static_cast<double>(total);
  }
};

/// How a persisted lease re-enters an allocator on start.
enum class RestoreKind {
  binding,    ///< offered or bound: the subscriber holds the address
  probation,  ///< declined: the address stays out of use until `until`
  history,    ///< released or expired: a stickiness hint, the address stays free
};

/// One persisted address, given back to an allocator on start.
struct RestoredAddress {
  SubscriberKey subscriber;
  std::string pool_id;
  Ipv4 address;
  RestoreKind kind = RestoreKind::binding;
  std::chrono::sys_seconds until{};  ///< end of probation (RestoreKind::probation)
};

/// Hands out addresses from pools. One address per subscriber per pool; an address belongs
/// to at most one subscriber. Implementations are safe to call from several threads.
class BNGKIT_BNG_EXPORT AddressAllocator {
 public:
  virtual ~AddressAllocator();

  /// Gives the subscriber an address: its reservation, else the address it already holds,
  /// else the requested address when free, else its previous address when free, else any
  /// free address. Fails with pool_not_found, pool_exhausted or invalid_subscriber.
  [[nodiscard]] virtual Result<Allocation> allocate(const AllocationRequest& request) = 0;

  /// Confirms that the subscriber may use `address` (DHCPREQUEST in every state). Binds it
  /// when it is free and assignable and the subscriber holds nothing else in the pool. Fails
  /// with a NAK-worthy error (not_in_pool, address_in_use, in_probation, wrong_address) or
  /// pool_not_found.
  [[nodiscard]] virtual Result<Allocation> renew(const SubscriberKey& subscriber,
                                                 std::string_view pool_id, Ipv4 address) = 0;

  /// Frees the subscriber's address (DHCPRELEASE, lease expiry); the subscriber is likely to
  /// get it back next time. Fails with not_bound when it does not hold it.
  [[nodiscard]] virtual Result<void> release(const SubscriberKey& subscriber,
                                             std::string_view pool_id, Ipv4 address) = 0;

  /// Puts `address` in probation (DHCPDECLINE: the client found it in use) and ends the
  /// subscriber's binding to it. Returns the end of probation. Fails with not_bound when
  /// the subscriber does not hold it, so that a forged DECLINE cannot poison free addresses.
  [[nodiscard]] virtual Result<std::chrono::sys_seconds> decline(const SubscriberKey& subscriber,
                                                                 std::string_view pool_id,
                                                                 Ipv4 address) = 0;

  /// Re-enters a persisted lease on start. Fails when it conflicts with configuration or an
  /// already restored binding (the address is then not restored).
  [[nodiscard]] virtual Result<void> restore(const RestoredAddress& restored) = 0;

  /// The subscriber's current binding in the pool, if any.
  [[nodiscard]] virtual std::optional<Allocation> lookup(const SubscriberKey& subscriber,
                                                         std::string_view pool_id) const = 0;
  /// Who holds `address`, if anybody.
  [[nodiscard]] virtual std::optional<SubscriberKey> owner(Ipv4 address) const = 0;

  /// The parameters of a pool by id.
  [[nodiscard]] virtual std::optional<PoolParameters> pool(std::string_view pool_id) const = 0;
  /// The pool whose network contains `address` (relay giaddr, DHCPINFORM ciaddr).
  [[nodiscard]] virtual std::optional<PoolParameters> pool_for(Ipv4 address) const = 0;

  /// Counts for every pool, in configuration order.
  [[nodiscard]] virtual std::vector<PoolUtilisation> utilisation() const = 0;

 protected:
  AddressAllocator() = default;
  AddressAllocator(const AddressAllocator&) = default;
  AddressAllocator& operator=(const AddressAllocator&) = default;
};

}  // namespace bngkit::bng::pool

template <>
struct std::is_error_code_enum<bngkit::bng::pool::AllocError> : std::true_type {};
