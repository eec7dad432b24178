// XDP DHCP fast path microbenchmarks (BPF_PROG_TEST_RUN; needs root/CAP_BPF).
//
// Reported counter `kernel_ns` is the kernel's own time per packet. BPF_PROG_TEST_RUN with
// repeat > 1 runs the program again on the frame it rewrote (the OFFER, which the fast
// path rightly ignores), so the served paths (DISCOVER->OFFER, REQUEST->ACK) are timed one
// run per call (kernel_ns from each call, averaged), while the pass paths, which leave the
// frame untouched, use repeat to get the in-kernel time per packet without syscall cost.
// Wall time per iteration includes the syscall and copying the frame in and out.
#include <benchmark/benchmark.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <bngkit/bng/fastpath/fast_path.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "fastpath_frames.hpp"

namespace {

using namespace std::chrono_literals;
using bngkit::bng::Ipv4;
using bngkit::bng::MacAddress;
namespace fp = bngkit::bng::fastpath;
using fpt::Bytes;

constexpr fpt::Mac kClient{0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
constexpr std::uint32_t kServerIp = fpt::ip4(10, 0, 0, 1);
constexpr std::uint32_t kClientIp = fpt::ip4(10, 0, 0, 50);
constexpr std::uint32_t kSubscribers = 100000;  // cache size, so lookups hit a real table

Bytes request_frame(std::uint8_t type, Bytes options) {
  fpt::Bootp b;
  b.chaddr = kClient;
  options.insert(options.begin(), {53, 1, type});
  for (std::uint8_t x : {55, 4, 1, 3, 6, 15, 255}) options.push_back(x);
  b.options = std::move(options);
  fpt::L2 l2{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, kClient, {}};
  return fpt::frame(l2, fpt::udp4(0, 0xffffffff, 68, 67), fpt::bootp_bytes(b));
}

struct Env {
  std::optional<fp::FastPath> path;
  Bytes discover;
  Bytes request;
  Bytes wrong_address;
  Bytes arp;
  std::string error;
};

Env& env() {
  static Env e = [] {
    Env x;
    if (geteuid() != 0) {
      x.error = "needs root/CAP_BPF";
      return x;
    }
    fp::FastPathOptions o;
    o.max_subscribers = kSubscribers + 1;
    o.event_ring_bytes = 16U << 20;
    auto p = fp::FastPath::open(o);
    if (!p) {
      x.error = p.error().message();
      return x;
    }
    x.path.emplace(std::move(p).value());
    fp::ServerConfig c;
    c.server_ip = Ipv4::from_host(kServerIp);
    c.server_mac = MacAddress({0x02, 0, 0, 0, 0, 1});
    fp::PoolParams pool;
    pool.subnet_mask = Ipv4(255, 255, 0, 0);
    pool.router = Ipv4(10, 0, 0, 1);
    pool.dns = {Ipv4(10, 0, 0, 53), Ipv4(10, 0, 1, 53)};
    pool.domain_name = "isp.example";
    if (!x.path->set_server_config(c) || !x.path->set_pool(1, pool)) {
      x.error = "configuring the fast path failed";
      return x;
    }
    fp::CacheEntry entry;
    entry.pool_id = 1;
    entry.expiry = std::chrono::steady_clock::now() + 24h;
    for (std::uint32_t i = 0; i < kSubscribers; ++i) {  // other subscribers
      entry.ip = Ipv4::from_host(fpt::ip4(10, 1, 0, 0) + i);
      const MacAddress m({0x02, 0xee, static_cast<std::uint8_t>(i >> 16),
                          static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i), 1});
      (void)x.path->cache_by_mac(m, entry);
    }
    entry.ip = Ipv4::from_host(kClientIp);
    (void)x.path->cache_by_mac(MacAddress(kClient), entry);
    x.discover = request_frame(1, {});
    x.request = request_frame(3, {50, 4, 10, 0, 0, 50, 54, 4, 10, 0, 0, 1});
    x.wrong_address = request_frame(3, {50, 4, 10, 0, 0, 51});
    x.arp = Bytes(60, 0);
    x.arp[12] = 0x08;
    x.arp[13] = 0x06;
    return x;
  }();
  return e;
}

// One test run per iteration (the served paths rewrite the frame); kernel time averaged.
void served(benchmark::State& state, const Bytes& frame) {
  Env& e = env();
  if (!e.path) {
    state.SkipWithError(e.error.c_str());
    return;
  }
  std::uint64_t kernel_ns = 0;
  std::uint64_t n = 0;
  for (auto _ : state) {
    auto r = e.path->test_run(frame, 1);
    if (!r || r->action != XDP_TX) {
      state.SkipWithError(r ? "not served (XDP_TX expected)" : r.error().message().c_str());
      break;
    }
    kernel_ns += r->duration_ns;
    if (++n % 4096 == 0) {  // keep the event ring from filling (a full ring is not served)
      state.PauseTiming();
      (void)e.path->poll_events([](const fp::LeaseEvent&) {});
      state.ResumeTiming();
    }
  }
  (void)e.path->poll_events([](const fp::LeaseEvent&) {});
  if (n) state.counters["kernel_ns"] = static_cast<double>(kernel_ns) / static_cast<double>(n);
}

// Frames the program passes untouched: repeat in the kernel gives exact per-packet time.
void passed(benchmark::State& state, const Bytes& frame) {
  Env& e = env();
  if (!e.path) {
    state.SkipWithError(e.error.c_str());
    return;
  }
  constexpr std::uint32_t kRepeat = 10000;
  double kernel_ns = 0;
  std::uint64_t n = 0;
  for (auto _ : state) {
    auto r = e.path->test_run(frame, kRepeat);
    if (!r || r->action != XDP_PASS) {
      state.SkipWithError(r ? "XDP_PASS expected" : r.error().message().c_str());
      break;
    }
    kernel_ns += r->duration_ns;
    ++n;
  }
  if (n) state.counters["kernel_ns"] = kernel_ns / static_cast<double>(n);
  state.SetItemsProcessed(static_cast<std::int64_t>(n * kRepeat));
}

void BM_DiscoverToOffer(benchmark::State& s) { served(s, env().discover); }
void BM_RequestToAck(benchmark::State& s) { served(s, env().request); }
void BM_RequestOtherAddressPassed(benchmark::State& s) { passed(s, env().wrong_address); }
void BM_NonDhcpPassed(benchmark::State& s) { passed(s, env().arp); }

BENCHMARK(BM_DiscoverToOffer);
BENCHMARK(BM_RequestToAck);
BENCHMARK(BM_RequestOtherAddressPassed);
BENCHMARK(BM_NonDhcpPassed);

}  // namespace

BENCHMARK_MAIN();
