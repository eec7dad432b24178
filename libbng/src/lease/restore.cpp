// Start-up replay of persisted leases into the allocator and the lease table.
#include <bngkit/bng/lease/restore.hpp>

namespace bngkit::bng::lease {

Result<RestoreReport> restore_leases(LeaseStore& store, pool::AddressAllocator& allocator,
                                     LeaseTable& table, std::chrono::sys_seconds now) {
  RestoreReport report;
  auto expired = store.expire(now);
  if (!expired) return std::move(expired).error();
  report.expired = std::move(*expired);

  // Oldest first, so that the newest stickiness hint of an address is the one that stays.
  auto leases = store.load_all();
  if (!leases) return std::move(leases).error();

  for (Lease& l : *leases) {
    if (l.state == LeaseState::released) {
      // A hint only: a pool that is gone or an address now excluded simply gives no hint.
      (void)allocator.restore(to_restored(l));
      if (table.upsert(l)) ++report.history;
      continue;
    }
    auto restored = allocator.restore(to_restored(l));
    if (restored) {
      restored = table.upsert(l);
      if (!restored && l.state != LeaseState::declined) {
        (void)allocator.release(l.subscriber, l.pool_id, l.address);  // keep both views equal
      }
    }
    if (restored) {
      report.active.push_back(std::move(l));
      continue;
    }
    // The configuration no longer allows this lease: end it durably so that it is not
    // replayed again, and tell the caller.
    Result<void> ended = ok();
    if (l.state == LeaseState::declined) {
      auto erased = store.erase(l.address);
      if (!erased) ended = std::move(erased).error();
    } else {
      Lease released = l;
      released.state = LeaseState::released;
      ended = store.upsert(released);
    }
    if (!ended) return ended.error();
    report.rejected.emplace_back(std::move(l), restored.error());
  }
  return report;
}

}  // namespace bngkit::bng::lease
