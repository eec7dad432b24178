// libebpfkit microbenchmarks: map update/lookup/batch through ebpfkit next to the same
// raw libbpf calls in the same run (the wrapper should cost ~nothing over the
// syscall), and BPF_PROG_TEST_RUN time per packet with repeat. Needs root/CAP_BPF.
#include <benchmark/benchmark.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <bngkit/ebpfkit/libbpf_opts.hpp>
#include <bngkit/ebpfkit/map.hpp>
#include <bngkit/ebpfkit/object.hpp>
#include <bngkit/ebpfkit/test_run.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <vector>

#include "ebpfkit_bench.skel.h"

namespace ek = bngkit::ebpfkit;

namespace {

constexpr std::uint32_t kEntries = 4096;
using U32Map = ek::Map<std::uint32_t, std::uint64_t>;

// One hash map shared by every map benchmark, filled with kEntries keys.
U32Map& hash_map() {
  static std::optional<U32Map> m = [] {
    auto h = ek::MapHandle::create(BPF_MAP_TYPE_HASH, "bench_hash", 4, 8, kEntries);
    if (!h) {
      std::fprintf(stderr, "%s\n", h.error().message().c_str());
      std::exit(1);
    }
    auto typed = U32Map::from(std::move(h).value());
    for (std::uint32_t k = 0; k < kEntries; ++k) (void)typed->update(k, k);
    return std::optional<U32Map>(std::move(typed).value());
  }();
  return *m;
}

void BM_Update_Raw(benchmark::State& state) {
  const int fd = hash_map().fd();
  std::uint32_t k = 0;
  for (auto _ : state) {
    std::uint64_t v = k;
    benchmark::DoNotOptimize(bpf_map_update_elem(fd, &k, &v, BPF_ANY));
    k = (k + 1) % kEntries;
  }
}
BENCHMARK(BM_Update_Raw);

void BM_Update_Ebpfkit(benchmark::State& state) {
  const U32Map& m = hash_map();
  std::uint32_t k = 0;
  for (auto _ : state) {
    auto r = m.update(k, k);
    benchmark::DoNotOptimize(r);
    k = (k + 1) % kEntries;
  }
}
BENCHMARK(BM_Update_Ebpfkit);

void BM_Lookup_Raw(benchmark::State& state) {
  const int fd = hash_map().fd();
  std::uint32_t k = 0;
  std::uint64_t v = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(bpf_map_lookup_elem(fd, &k, &v));
    k = (k + 1) % kEntries;
  }
}
BENCHMARK(BM_Lookup_Raw);

void BM_Lookup_Ebpfkit(benchmark::State& state) {
  const U32Map& m = hash_map();
  std::uint32_t k = 0;
  for (auto _ : state) {
    auto r = m.lookup(k);
    benchmark::DoNotOptimize(r);
    k = (k + 1) % kEntries;
  }
}
BENCHMARK(BM_Lookup_Ebpfkit);

// Reading the whole map: raw BPF_MAP_LOOKUP_BATCH loop vs ebpfkit lookup_batch vs
// ebpfkit one element at a time.
void BM_DumpBatch_Raw(benchmark::State& state) {
  const int fd = hash_map().fd();
  const auto chunk = static_cast<std::uint32_t>(state.range(0));
  std::vector<std::uint32_t> keys(kEntries + chunk);
  std::vector<std::uint64_t> values(kEntries + chunk);
  for (auto _ : state) {
    std::uint32_t in = 0;
    std::uint32_t out = 0;
    std::size_t total = 0;
    bool first = true;
    while (true) {
      std::uint32_t count = chunk;
      ek::LibbpfOpts<bpf_map_batch_opts> opts;
      int rc = bpf_map_lookup_batch(fd, first ? nullptr : &in, &out, keys.data() + total,
                                    values.data() + total, &count, &opts);
      total += count;
      if (rc != 0) break;  // -ENOENT at the end
      in = out;
      first = false;
    }
    benchmark::DoNotOptimize(total);
  }
  state.SetItemsProcessed(state.iterations() * kEntries);
}
BENCHMARK(BM_DumpBatch_Raw)->Arg(256)->Arg(1024);

void BM_DumpBatch_Ebpfkit(benchmark::State& state) {
  const U32Map& m = hash_map();
  ek::BatchOptions opts;
  opts.chunk = static_cast<std::uint32_t>(state.range(0));
  for (auto _ : state) {
    auto r = m.lookup_batch(opts);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations() * kEntries);
}
BENCHMARK(BM_DumpBatch_Ebpfkit)->Arg(256)->Arg(1024);

void BM_DumpPerElement_Ebpfkit(benchmark::State& state) {
  const U32Map& m = hash_map();
  ek::BatchOptions opts;
  opts.use_kernel_batch = false;
  for (auto _ : state) {
    auto r = m.lookup_batch(opts);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations() * kEntries);
}
BENCHMARK(BM_DumpPerElement_Ebpfkit);

void BM_UpdateBatch_Raw(benchmark::State& state) {
  const int fd = hash_map().fd();
  std::vector<std::uint32_t> keys(kEntries);
  std::vector<std::uint64_t> values(kEntries);
  for (std::uint32_t i = 0; i < kEntries; ++i) keys[i] = values[i] = i;
  for (auto _ : state) {
    std::uint32_t count = kEntries;
    ek::LibbpfOpts<bpf_map_batch_opts> opts;
    benchmark::DoNotOptimize(bpf_map_update_batch(fd, keys.data(), values.data(), &count, &opts));
  }
  state.SetItemsProcessed(state.iterations() * kEntries);
}
BENCHMARK(BM_UpdateBatch_Raw);

void BM_UpdateBatch_Ebpfkit(benchmark::State& state) {
  const U32Map& m = hash_map();
  std::vector<std::uint32_t> keys(kEntries);
  std::vector<std::uint64_t> values(kEntries);
  for (std::uint32_t i = 0; i < kEntries; ++i) keys[i] = values[i] = i;
  ek::BatchOptions opts;
  opts.chunk = kEntries;
  for (auto _ : state) {
    auto r = m.update_batch(keys, values, ek::UpdateFlag::any, opts);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations() * kEntries);
}
BENCHMARK(BM_UpdateBatch_Ebpfkit);

// BPF_PROG_TEST_RUN: the kernel's own per-run mean (ns_per_pkt) for a 64-byte frame,
// and the wall time per packet including the syscall, for growing repeat counts.
ek::Object& bench_object() {
  static std::optional<ek::Object> obj = [] {
    auto o = BNGKIT_EBPFKIT_OPEN_SKELETON(ebpfkit_bench);
    if (!o || !o->load()) {
      std::fprintf(stderr, "cannot load the benchmark BPF object\n");
      std::exit(1);
    }
    return std::optional<ek::Object>(std::move(o).value());
  }();
  return *obj;
}

void test_run_bench(benchmark::State& state, const char* prog_name) {
  auto prog = bench_object().program(prog_name).value();
  std::vector<std::byte> frame(64);
  frame[12] = std::byte{0x08};  // IPv4 ethertype; content is irrelevant to these programs
  const auto repeat = static_cast<std::uint32_t>(state.range(0));
  double kernel_ns = 0;
  for (auto _ : state) {
    auto r = ek::test_run(prog, frame, repeat);
    if (!r) {
      state.SkipWithError(r.error().message().c_str());
      return;
    }
    kernel_ns += r->duration_ns;
  }
  state.counters["ns_per_pkt"] =
      benchmark::Counter(kernel_ns / static_cast<double>(state.iterations()));
  state.SetItemsProcessed(state.iterations() * repeat);
}

void BM_TestRun_XdpCount(benchmark::State& state) { test_run_bench(state, "xdp_count"); }
BENCHMARK(BM_TestRun_XdpCount)->Arg(1)->Arg(100)->Arg(10000);

void BM_TestRun_XdpPass(benchmark::State& state) { test_run_bench(state, "xdp_pass"); }
BENCHMARK(BM_TestRun_XdpPass)->Arg(1)->Arg(10000);

}  // namespace

int main(int argc, char** argv) {
  // Creating maps and running programs needs CAP_BPF (root here).
  int probe = bpf_map_create(BPF_MAP_TYPE_ARRAY, "bench_probe", 4, 4, 1, nullptr);
  if (probe < 0) {
    std::printf(
        "ebpfkit_bench: skipped: needs root/CAP_BPF to create BPF maps and run "
        "programs (%s)\n",
        std::strerror(-probe));
    return 0;
  }
  ::close(probe);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
