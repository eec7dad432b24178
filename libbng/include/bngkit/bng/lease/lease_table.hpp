// LeaseTable: the in-memory runtime view of leases — by address, by subscriber and pool,
// and an expiry queue — with the same rules as LeaseStore, so the slow path can answer
// from memory and write through to the store.
#pragma once

#include <bngkit/bng/export.hpp>
#include <bngkit/bng/lease/lease.hpp>
#include <bngkit/common/result.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

namespace bngkit::bng::lease {

/// Leases in memory. Thread-safety: every member takes one internal mutex; lookups return
/// copies.
class BNGKIT_BNG_EXPORT LeaseTable {
 public:
  LeaseTable();
  ~LeaseTable();
  LeaseTable(const LeaseTable&) = delete;
  LeaseTable& operator=(const LeaseTable&) = delete;

  /// Inserts or replaces the lease of `lease.address`. Fails with std::errc::address_in_use
  /// when the subscriber already has another offered or bound lease in the pool, exactly as
  /// LeaseStore::upsert does.
  [[nodiscard]] Result<void> upsert(const Lease& lease);
  /// Removes and returns the lease of `address`.
  std::optional<Lease> erase(Ipv4 address);

  /// The lease of `address`.
  [[nodiscard]] std::optional<Lease> find(Ipv4 address) const;
  /// The subscriber's offered or bound lease in the pool.
  [[nodiscard]] std::optional<Lease> find(const SubscriberKey& subscriber,
                                          std::string_view pool_id) const;

  /// Ends every active lease with `expires <= now` and returns them as they were: offered
  /// and bound leases stay as `released`, declined ones are removed (as LeaseStore::expire).
  [[nodiscard]] std::vector<Lease> expire(std::chrono::sys_seconds now);
  /// The earliest expiry among active leases: when the next expire() has work.
  [[nodiscard]] std::optional<std::chrono::sys_seconds> next_expiry() const;

  /// Every lease, in address order.
  [[nodiscard]] std::vector<Lease> snapshot() const;
  /// Number of leases in `state`.
  [[nodiscard]] std::size_t count(LeaseState state) const;
  /// Number of leases, released ones included.
  [[nodiscard]] std::size_t size() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bngkit::bng::lease
