// Address pool and lease store microbenchmarks: LocalPoolAllocator allocations per second
// (empty pool, churn at high fill, threads sharing one allocator) and durable LeaseStore
// upserts per second (one fsync each, and batched). The store writes under
// $BNGKIT_BENCH_DIR (default /var/tmp), which should be on the disk a BNG would use.
#include <bngkit/bng/lease/lease_store.hpp>
#include <bngkit/bng/pool/local_pool_allocator.hpp>

#include <benchmark/benchmark.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace {

using namespace bngkit::bng;  // NOLINT: benchmark brevity
using pool::AllocationRequest;
using pool::LocalPoolAllocator;
using pool::SubscriberKey;

SubscriberKey key(std::uint32_t n) {
  return SubscriberKey::mac(MacAddress({0x02, 0x00, static_cast<std::uint8_t>(n >> 24),
                                        static_cast<std::uint8_t>(n >> 16),
                                        static_cast<std::uint8_t>(n >> 8),
                                        static_cast<std::uint8_t>(n)}));
}

// One pool 10.0.0.0/<prefix> with its gateway at .1.
std::unique_ptr<LocalPoolAllocator> make_allocator(int prefix) {
  pool::PoolConfig p;
  p.id = "bench";
  p.network = pool::Ipv4Network{Ipv4(10, 0, 0, 0), static_cast<std::uint8_t>(prefix)};
  p.gateway = Ipv4(10, 0, 0, 1);
  auto a = LocalPoolAllocator::create({p});
  if (!a) {
    std::fprintf(stderr, "bench pool: %s\n", a.error().message().c_str());
    std::abort();
  }
  return std::move(a).value();
}

std::uint64_t capacity(const LocalPoolAllocator& a) { return a.utilisation()[0].total; }

// New subscribers into a pool until it is 90% full, then a fresh pool (untimed).
void BM_AllocateNewSubscribers(benchmark::State& state) {
  const int prefix = static_cast<int>(state.range(0));
  auto a = make_allocator(prefix);
  const std::uint64_t limit = capacity(*a) * 9 / 10;
  std::uint32_t n = 0;
  AllocationRequest req{{}, "bench", {}};
  for (auto _ : state) {
    if (n == limit) {
      state.PauseTiming();
      a = make_allocator(prefix);
      n = 0;
      state.ResumeTiming();
    }
    req.subscriber = key(n++);
    auto r = a->allocate(req);
    if (!r) state.SkipWithError(r.error().message().c_str());
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AllocateNewSubscribers)->Arg(24)->Arg(16)->Arg(12);

// Steady state at a fill level (range(1) percent): each iteration one subscriber leaves and
// a new one arrives, so the search for a free address runs in a nearly full bitmap.
void BM_ChurnAtFill(benchmark::State& state) {
  auto a = make_allocator(static_cast<int>(state.range(0)));
  const auto fill = static_cast<std::uint32_t>(capacity(*a) * state.range(1) / 100);
  std::vector<std::pair<SubscriberKey, Ipv4>> bound;
  bound.reserve(fill);
  for (std::uint32_t i = 0; i < fill; ++i) {
    auto r = a->allocate({key(i), "bench", {}});
    if (!r) {
      state.SkipWithError(r.error().message().c_str());
      return;
    }
    bound.emplace_back(key(i), r->address);
  }
  std::mt19937 rng(42);
  std::uint32_t next = fill;
  for (auto _ : state) {
    auto& slot = bound[rng() % bound.size()];
    if (!a->release(slot.first, "bench", slot.second)) state.SkipWithError("release failed");
    slot.first = key(next++);
    auto r = a->allocate({slot.first, "bench", {}});
    if (!r) state.SkipWithError(r.error().message().c_str());
    slot.second = r->address;
  }
  state.SetItemsProcessed(state.iterations());  // one release + one allocation each
}
BENCHMARK(BM_ChurnAtFill)->Args({16, 50})->Args({16, 99})->Args({12, 99});

// Several threads allocating from one shared allocator (one mutex).
std::unique_ptr<LocalPoolAllocator> g_shared;
void BM_AllocateSharedAcrossThreads(benchmark::State& state) {
  if (state.thread_index() == 0) g_shared = make_allocator(12);  // 1M addresses
  std::uint32_t n = static_cast<std::uint32_t>(state.thread_index()) << 24;
  std::vector<std::pair<SubscriberKey, Ipv4>> mine;
  for (auto _ : state) {
    const auto k = key(n++);
    auto r = g_shared->allocate({k, "bench", {}});
    if (!r) {
      state.SkipWithError(r.error().message().c_str());
      break;
    }
    mine.emplace_back(k, r->address);
    if (mine.size() == 4096) {  // keep the pool from filling up
      for (const auto& [mk, addr] : mine) (void)g_shared->release(mk, "bench", addr);
      mine.clear();
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AllocateSharedAcrossThreads)->Threads(1)->Threads(2)->UseRealTime();

// ---- Lease store ----------------------------------------------------------------------

std::filesystem::path bench_db() {
  const char* dir = std::getenv("BNGKIT_BENCH_DIR");
  return std::filesystem::path(dir ? dir : "/var/tmp") /
         ("bngkit-pool-bench-" + std::to_string(getpid()) + ".db");
}

void remove_db(const std::filesystem::path& p) {
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::error_code ec;
    std::filesystem::remove(p.string() + suffix, ec);
  }
}

lease::Lease make_lease(std::uint32_t n) {
  lease::Lease l;
  l.address = Ipv4::from_host(0x0a000000u + (n & 0xffffffu));
  l.pool_id = "bench";
  l.subscriber = key(n);
  l.state = lease::LeaseState::bound;
  l.expires = lease::from_epoch_seconds(1'700'003'600 + n);
  l.hostname = "cpe-" + std::to_string(n);
  l.circuit_id = "olt-east-01 pon 1/1/" + std::to_string(n % 64);
  l.last_seen = lease::from_epoch_seconds(1'700'000'000 + n);
  return l;
}

// range(0) leases per transaction: 1 is what an ACK costs (one fsync).
void BM_LeaseStoreUpsert(benchmark::State& state) {
  const auto path = bench_db();
  remove_db(path);
  {
    auto store = lease::LeaseStore::open(path);
    if (!store) {
      state.SkipWithError(store.error().message().c_str());
      return;
    }
    const auto batch = static_cast<std::uint32_t>(state.range(0));
    std::vector<lease::Lease> leases(batch);
    std::uint32_t n = 0;
    for (auto _ : state) {
      for (auto& l : leases) l = make_lease(n++);
      auto r = batch == 1 ? store->upsert(leases.front()) : store->upsert(leases);
      if (!r) state.SkipWithError(r.error().message().c_str());
    }
    state.SetItemsProcessed(state.iterations() * batch);
  }
  remove_db(path);
}
BENCHMARK(BM_LeaseStoreUpsert)->Arg(1)->Arg(64)->UseRealTime();

}  // namespace
