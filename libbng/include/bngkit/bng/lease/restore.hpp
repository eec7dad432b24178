// Start-up: load the persisted leases, drop those that expired while the daemon was down,
// and rebuild the allocator and the lease table from the rest. The returned bound leases
// are what the fast-path cache is refilled with.
#pragma once

#include <bngkit/bng/export.hpp>
#include <bngkit/bng/lease/lease.hpp>
#include <bngkit/bng/lease/lease_store.hpp>
#include <bngkit/bng/lease/lease_table.hpp>
#include <bngkit/bng/pool/allocator.hpp>
#include <bngkit/common/result.hpp>
#include <chrono>
#include <utility>
#include <vector>

namespace bngkit::bng::lease {

/// What restore_leases() did.
struct RestoreReport {
  /// Offered, bound and declined leases now held by the allocator and the table. The bound
  /// ones are what the fast path serves.
  std::vector<Lease> active;
  /// Leases that ended while the daemon was down (as they were before ending).
  std::vector<Lease> expired;
  /// Active leases the allocator refused (their pool is gone, the address is now excluded
  /// or reserved for someone else, ...), with the reason. They are ended in the store.
  std::vector<std::pair<Lease, Error>> rejected;
  /// Released leases replayed as stickiness hints.
  std::size_t history = 0;
};

/// Expires the store at `now`, then replays every lease into `allocator` and `table` (which
/// should be empty). Fails only when the store fails.
[[nodiscard]] BNGKIT_BNG_EXPORT Result<RestoreReport> restore_leases(
    LeaseStore& store, pool::AddressAllocator& allocator, LeaseTable& table,
    std::chrono::sys_seconds now);

}  // namespace bngkit::bng::lease
