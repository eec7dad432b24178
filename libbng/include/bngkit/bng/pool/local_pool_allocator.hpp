// LocalPoolAllocator: the embedded default AddressAllocator, used when no Nexus is
// configured. Each pool keeps a hierarchical free-bitmap, so finding a free address costs
// O(log64 n) whatever the pool's fill; bindings, reservations and probation sit in hash maps.
#pragma once

#include <bngkit/bng/export.hpp>
#include <bngkit/bng/pool/allocator.hpp>
#include <bngkit/bng/pool/pool_config.hpp>
#include <memory>
#include <vector>

namespace bngkit::bng::pool {

/// Allocates from local pools. Thread-safety: every public member takes one internal mutex,
/// so the allocator may be shared between threads; calls are short (no I/O).
///
/// Choice of address for a subscriber without a reservation or binding: the requested
/// address if free; else the address it last held (remembered after release or expiry, and
/// restored from the lease store) if free; else the first free address at or after a start
/// point derived from SubscriberKey::stable_hash(), so that the same subscriber tends to get
/// the same address even after its history is gone.
///
/// Probation ends lazily: an address whose probation is over is freed on the next call.
class BNGKIT_BNG_EXPORT LocalPoolAllocator final : public AddressAllocator {
 public:
  /// Validates `pools` (see validate_pools) and builds the allocator. `clock` gives the wall
  /// time used for probation; the system clock when empty.
  [[nodiscard]] static Result<std::unique_ptr<LocalPoolAllocator>> create(
      std::vector<PoolConfig> pools, WallClock clock = {});

  ~LocalPoolAllocator() override;
  LocalPoolAllocator(const LocalPoolAllocator&) = delete;
  LocalPoolAllocator& operator=(const LocalPoolAllocator&) = delete;

  [[nodiscard]] Result<Allocation> allocate(const AllocationRequest& request) override;
  [[nodiscard]] Result<Allocation> renew(const SubscriberKey& subscriber, std::string_view pool_id,
                                         Ipv4 address) override;
  [[nodiscard]] Result<void> release(const SubscriberKey& subscriber, std::string_view pool_id,
                                     Ipv4 address) override;
  [[nodiscard]] Result<std::chrono::sys_seconds> decline(const SubscriberKey& subscriber,
                                                         std::string_view pool_id,
                                                         Ipv4 address) override;
  [[nodiscard]] Result<void> restore(const RestoredAddress& restored) override;
  [[nodiscard]] std::optional<Allocation> lookup(const SubscriberKey& subscriber,
                                                 std::string_view pool_id) const override;
  [[nodiscard]] std::optional<SubscriberKey> owner(Ipv4 address) const override;
  [[nodiscard]] std::optional<PoolParameters> pool(std::string_view pool_id) const override;
  [[nodiscard]] std::optional<PoolParameters> pool_for(Ipv4 address) const override;
  [[nodiscard]] std::vector<PoolUtilisation> utilisation() const override;

  /// The configuration the allocator was built from (as updated by update_options).
  [[nodiscard]] const std::vector<PoolConfig>& pools() const noexcept;

  /// Applies what clients are told — DNS, lease time, T1, T2 — and the probation time of
  /// the same pools, e.g. on a configuration reload. Each pool must keep its id, network,
  /// range, gateway, exclusions and reservations: those decide which address is whose, and
  /// changing them needs a restart. All or nothing; errors name the pool and field.
  [[nodiscard]] Result<void> update_options(const std::vector<PoolConfig>& pools);

 private:
  struct Impl;
  explicit LocalPoolAllocator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace bngkit::bng::pool
