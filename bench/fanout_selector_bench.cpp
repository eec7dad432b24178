// Microbenchmarks of the balance policy's hot and warm paths: picking a downstream by
// flow hash (per datagram) and rebuilding the Maglev table (per downstream-set change).
#include <bngkit/fanout/selector.hpp>

#include <benchmark/benchmark.h>

#include <arpa/inet.h>

#include <vector>

namespace {

using namespace bngkit::fanout;

std::vector<std::uint64_t> keys(std::size_t n) {
  std::vector<std::uint64_t> k;
  for (std::size_t i = 0; i < n; ++i) {
    k.push_back(endpoint_key(Endpoint{htonl(0x0a000000U + static_cast<std::uint32_t>(i)), 9000}));
  }
  return k;
}

void BM_FlowHashPick(benchmark::State& state) {
  const auto table = build_lookup_table(keys(static_cast<std::size_t>(state.range(0))));
  std::uint32_t saddr = htonl(0xc0a80001U);
  std::uint16_t sport = 1;
  for (auto _ : state) {
    benchmark::DoNotOptimize(table[flow_hash(saddr, htons(sport)) % table.size()]);
    ++sport;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FlowHashPick)->Arg(1)->Arg(4)->Arg(16)->Arg(64);

void BM_BuildLookupTable(benchmark::State& state) {
  const auto k = keys(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(build_lookup_table(k));
}
BENCHMARK(BM_BuildLookupTable)->Arg(1)->Arg(4)->Arg(16)->Arg(64)->Arg(255);

}  // namespace

BENCHMARK_MAIN();
