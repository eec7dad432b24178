// CLSet merge throughput: elements merged per second into a replica, for fresh keys, for
// keys the replica already holds (newer entries), and for redundant (already known) deltas.
#include <benchmark/benchmark.h>

#include <bngkit/nexus/clset.hpp>
#include <cstdint>
#include <string>

namespace {

using bngkit::nexus::CLSet;
using Set = CLSet<std::string, std::string>;

Set make_source(const char* origin, std::int64_t n) {
  Set s(origin);
  for (std::int64_t i = 0; i < n; ++i)
    s.put("pool-1/subscriber-" + std::to_string(i), "10.0." + std::to_string(i % 250) + ".1");
  return s;
}

// Delta of n fresh keys into an empty replica.
void BM_MergeNewKeys(benchmark::State& state) {
  const Set src = make_source("a", state.range(0));
  const auto delta = src.full_delta();
  for (auto _ : state) {
    Set dst("b");
    benchmark::DoNotOptimize(dst.merge(delta));
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_MergeNewKeys)->Arg(1000)->Arg(100000)->Unit(benchmark::kMillisecond);

// Delta of n updates to keys the replica holds: each replaces an entry and its fingerprint.
void BM_MergeUpdates(benchmark::State& state) {
  Set src = make_source("a", state.range(0));
  const auto old_delta = src.full_delta();
  for (std::int64_t i = 0; i < state.range(0); ++i)
    (void)src.put("pool-1/subscriber-" + std::to_string(i), "renewed");
  const auto new_delta = src.full_delta();
  for (auto _ : state) {
    state.PauseTiming();
    Set dst("b");
    dst.merge(old_delta);
    state.ResumeTiming();
    benchmark::DoNotOptimize(dst.merge(new_delta));
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_MergeUpdates)->Arg(1000)->Arg(100000)->Unit(benchmark::kMillisecond);

// Redundant delivery (what anti-entropy mostly sees): every entry is already known.
void BM_MergeKnown(benchmark::State& state) {
  const Set src = make_source("a", state.range(0));
  const auto delta = src.full_delta();
  Set dst("b");
  dst.merge(delta);
  for (auto _ : state) benchmark::DoNotOptimize(dst.merge(delta));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_MergeKnown)->Arg(1000)->Arg(100000)->Unit(benchmark::kMillisecond);

}  // namespace
