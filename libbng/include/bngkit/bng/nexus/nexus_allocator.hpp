// NexusAllocator: an AddressAllocator that answers synchronously from a local cache of what
// Nexus granted (subscriber -> address per pool), so that the DHCP slow path never waits on
// the network. Filling the cache is the caller's job (an admission hook that asks Nexus
// asynchronously and replays the request when the answer arrives); releases are handed to
// the caller to send to Nexus.
#pragma once

#include <bngkit/bng/export.hpp>
#include <bngkit/bng/pool/allocator.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <vector>

namespace bngkit::bng::nexus {

/// One cached grant.
struct CachedAllocation {
  pool::SubscriberKey subscriber;
  std::string pool_id;
  dhcp::Ipv4 address;
  std::chrono::sys_seconds expires_at{};  ///< Nexus expiry; epoch for restored leases (unconfirmed)
};

struct NexusAllocatorOptions {
  std::vector<pool::PoolParameters> pools;      ///< the pools served (from Nexus), lease times set
  std::chrono::seconds probation{3600};         ///< what decline() reports (Nexus keeps no probation)
  /// Told (outside the lock) when a subscriber gives its address back (release, decline,
  /// expiry): the caller releases it in Nexus, then calls release_done().
  std::function<void(const CachedAllocation&)> released;
  pool::WallClock clock;                        ///< system clock when empty
};

/// Thread-safe (one mutex); no call does I/O.
///
/// Cache rules: allocate() and renew() answer only for a subscriber whose grant is cached
/// (learn() or restore()); otherwise they fail with AllocError::unavailable, which the slow
/// path drops instead of NAKing. A REQUEST for another address than the cached one is
/// wrong_address (NAK); for an address cached for someone else, address_in_use (NAK). The
/// client's requested address is not honoured: Nexus chooses (and is sticky per subscriber).
///
/// Releases: a grant given back leaves the cache at once and, with a `released` callback,
/// stays "releasing" until the caller reports that Nexus took the release (release_done).
/// Meanwhile learn() refuses the subscriber (an answer Nexus gave before it saw the release
/// would bring the grant back), and a renewal's answer never re-creates a released grant
/// (refresh).
class BNGKIT_BNG_EXPORT NexusAllocator final : public pool::AddressAllocator {
 public:
  /// Fails when no pool is given or a pool id repeats.
  [[nodiscard]] static Result<std::unique_ptr<NexusAllocator>> create(NexusAllocatorOptions options);
  ~NexusAllocator() override;
  NexusAllocator(const NexusAllocator&) = delete;
  NexusAllocator& operator=(const NexusAllocator&) = delete;

  /// Caches what Nexus answered for a subscriber (allocate or renew). Fails, caching nothing,
  /// when the pool is unknown, the address is outside it, the address is cached for
  /// another subscriber (Nexus moved it: the local holder keeps it until its lease ends), or
  /// the subscriber's previous grant is still being released (AllocError::unavailable).
  [[nodiscard]] Result<void> learn(const CachedAllocation& allocation);
  /// A renewal Nexus answered: the grant's new expiry, when the subscriber still holds that
  /// address here. False, changing nothing, when it does not (released while the renewal
  /// was on its way: the answer is stale and must not bring the grant back).
  [[nodiscard]] bool refresh(const CachedAllocation& renewed);
  /// True from the release of the subscriber's grant until release_done().
  [[nodiscard]] bool releasing(const pool::SubscriberKey& subscriber, std::string_view pool_id) const;
  /// Nexus took the release of `released` (the grant handed to the `released` callback).
  void release_done(const CachedAllocation& released);
  /// Grants given back whose release Nexus has not confirmed yet.
  [[nodiscard]] std::size_t releases_pending() const;
  /// Forgets a subscriber's grant without telling anybody (Nexus no longer has it).
  void forget(const pool::SubscriberKey& subscriber, std::string_view pool_id);
  /// Every cached grant (for renewals towards Nexus).
  [[nodiscard]] std::vector<CachedAllocation> cached() const;

  [[nodiscard]] Result<pool::Allocation> allocate(const pool::AllocationRequest& request) override;
  [[nodiscard]] Result<pool::Allocation> renew(const pool::SubscriberKey& subscriber, std::string_view pool_id,
                                               dhcp::Ipv4 address) override;
  [[nodiscard]] Result<void> release(const pool::SubscriberKey& subscriber, std::string_view pool_id,
                                     dhcp::Ipv4 address) override;
  [[nodiscard]] Result<std::chrono::sys_seconds> decline(const pool::SubscriberKey& subscriber,
                                                         std::string_view pool_id, dhcp::Ipv4 address) override;
  /// Bindings re-enter the cache with an unconfirmed expiry; probation and history are
  /// Nexus's business and are ignored.
  [[nodiscard]] Result<void> restore(const pool::RestoredAddress& restored) override;
  [[nodiscard]] std::optional<pool::Allocation> lookup(const pool::SubscriberKey& subscriber,
                                                       std::string_view pool_id) const override;
  [[nodiscard]] std::optional<pool::SubscriberKey> owner(dhcp::Ipv4 address) const override;
  [[nodiscard]] std::optional<pool::PoolParameters> pool(std::string_view pool_id) const override;
  [[nodiscard]] std::optional<pool::PoolParameters> pool_for(dhcp::Ipv4 address) const override;
  /// This node's view: `total` the pool's host addresses, `assigned` the grants cached here,
  /// `free` the rest (other nodes' grants are not known here, so it is an upper bound).
  [[nodiscard]] std::vector<pool::PoolUtilisation> utilisation() const override;

 private:
  struct Impl;
  explicit NexusAllocator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace bngkit::bng::nexus
