// The userspace engine, the UDP echo prober and the Fanout over loopback, with no
// privileges: replicate and balance deliver every datagram intact, GSO runs arrive as
// separate datagrams, counters add up, and a receiver that stops answering probes is
// taken out of rotation and brought back.
#include <bngkit/fanout/engine.hpp>
#include <bngkit/fanout/fanout.hpp>
#include <bngkit/fanout/health.hpp>

#include <gtest/gtest.h>

#include <sched.h>

#include <filesystem>
#include <fstream>

#include "netns.hpp"

namespace bngkit::fanout {
namespace {

using namespace std::chrono_literals;
using fotest::Receiver;
using fotest::Sender;
using fotest::wait_until;

Endpoint loopback(std::uint16_t port) {
  return Endpoint::parse("127.0.0.1:" + std::to_string(port), true).value();
}

// CPUs this process may use.
std::vector<int> process_cpus() {
  std::vector<int> out;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) != 0) return out;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &set)) out.push_back(c);
  }
  return out;
}

ListenerConfig listener(Policy policy, std::uint32_t workers = 1) {
  ListenerConfig l;
  l.name = "lo";
  l.bind = loopback(fotest::free_udp_port());
  l.policy = policy;
  l.preserve_source = false;  // no raw socket without privileges
  l.settings.workers = workers;
  l.settings.recv_buf_size = 8 << 20;
  return l;
}

struct Receivers {
  std::vector<std::unique_ptr<Receiver>> list;
  explicit Receivers(std::size_t n, bool echo = false) {
    for (std::size_t i = 0; i < n; ++i) {
      list.push_back(std::make_unique<Receiver>("", loopback(0), echo));
      EXPECT_TRUE(list.back()->start());
    }
  }
  std::vector<Endpoint> endpoints() const {
    std::vector<Endpoint> e;
    for (const auto& r : list) e.push_back(r->endpoint());
    return e;
  }
  std::size_t total() const {
    std::size_t t = 0;
    for (const auto& r : list) t += r->count();
    return t;
  }
};

TEST(UserspaceEngine, ReplicatesEveryDatagramToEveryDownstream) {
  Receivers rx(3);
  auto cfg = listener(Policy::replicate, 2);
  auto engine = make_userspace_engine(cfg);
  ASSERT_TRUE(engine->start().ok());
  ASSERT_TRUE(engine->set_downstreams(rx.endpoints()).ok());
  ASSERT_TRUE(engine->running());

  constexpr std::uint32_t kCount = 3000;
  Sender s("");
  ASSERT_EQ(s.send(cfg.bind, 1, 0, kCount, 300), kCount);
  ASSERT_TRUE(wait_until([&] { return rx.total() == 3 * kCount; }, 5s)) << rx.total();
  for (const auto& r : rx.list) {
    EXPECT_EQ(r->seqs(1).size(), kCount);
    EXPECT_EQ(r->damaged(), 0u);
    EXPECT_EQ(r->duplicates(), 0u);
  }
  // Counters are added after each sendmmsg returns: a receiver may be a little ahead.
  ASSERT_TRUE(wait_until([&] { return engine->stats().forwarded_packets == 3ull * kCount; }, 2s));
  const auto st = engine->stats();
  EXPECT_EQ(st.received_packets, kCount);
  EXPECT_EQ(st.received_bytes, kCount * 300ull);
  EXPECT_EQ(st.forwarded_packets, 3ull * kCount);
  EXPECT_EQ(st.forwarded_bytes, 3ull * kCount * 300);
  EXPECT_EQ(st.total_dropped(), 0u);
  engine->stop();
  EXPECT_FALSE(engine->running());
}

TEST(UserspaceEngine, GsoRunsArriveAsSeparateIntactDatagrams) {
  // Equal-sized datagrams in a burst are coalesced into GSO sends; the receiver must
  // still see each one alone, with its own payload, and the short last one of a run too.
  Receivers rx(2);
  auto cfg = listener(Policy::replicate);
  cfg.settings.batch_size = 256;
  auto engine = make_userspace_engine(cfg);
  ASSERT_TRUE(engine->start().ok());
  ASSERT_TRUE(engine->set_downstreams(rx.endpoints()).ok());
  Sender s("");
  for (std::uint32_t round = 0; round < 20; ++round) {
    // 50 datagrams of 1000 bytes then one of 10: the receive batch holds both sizes.
    s.send(cfg.bind, 2, round * 51, 50, 1000, 0);
    s.send(cfg.bind, 2, round * 51 + 50, 1, 10, 0);
  }
  ASSERT_TRUE(wait_until([&] { return rx.total() == 2 * 20 * 51; }, 5s)) << rx.total();
  for (const auto& r : rx.list) {
    EXPECT_EQ(r->seqs(2).size(), 20u * 51);
    EXPECT_EQ(r->damaged(), 0u);
  }
  EXPECT_TRUE(wait_until([&] { return engine->stats().forwarded_packets == 2u * 20 * 51; }, 2s));
}

TEST(UserspaceEngine, RoundRobinGivesEachAnEqualShare) {
  Receivers rx(4);
  auto cfg = listener(Policy::balance);
  auto engine = make_userspace_engine(cfg);
  ASSERT_TRUE(engine->start().ok());
  ASSERT_TRUE(engine->set_downstreams(rx.endpoints()).ok());
  constexpr std::uint32_t kCount = 4000;
  Sender s("");
  s.send(cfg.bind, 3, 0, kCount);
  ASSERT_TRUE(wait_until([&] { return rx.total() == kCount; }, 5s)) << rx.total();
  std::set<std::uint32_t> all;
  for (const auto& r : rx.list) {
    EXPECT_EQ(r->count(), kCount / 4);  // one worker: strict turns
    for (auto q : r->seqs(3)) EXPECT_TRUE(all.insert(q).second) << "seq " << q << " twice";
  }
  EXPECT_EQ(all.size(), kCount);
}

TEST(UserspaceEngine, FlowHashKeepsEachSourceOnOneDownstream) {
  Receivers rx(4);
  auto cfg = listener(Policy::balance, 2);
  cfg.balance = BalanceMethod::flow_hash;
  auto engine = make_userspace_engine(cfg);
  ASSERT_TRUE(engine->start().ok());
  ASSERT_TRUE(engine->set_downstreams(rx.endpoints()).ok());
  constexpr std::uint32_t kFlows = 64;
  constexpr std::uint32_t kPerFlow = 50;
  std::vector<std::unique_ptr<Sender>> senders;
  for (std::uint32_t f = 0; f < kFlows; ++f) {
    senders.push_back(std::make_unique<Sender>(""));
    senders.back()->send(cfg.bind, 100 + f, 0, kPerFlow);
  }
  ASSERT_TRUE(wait_until([&] { return rx.total() == kFlows * kPerFlow; }, 5s)) << rx.total();
  std::size_t used = 0;
  for (std::uint32_t f = 0; f < kFlows; ++f) {
    int holders = 0;
    for (const auto& r : rx.list) {
      const auto n = r->seqs(100 + f).size();
      if (n == 0) continue;
      ++holders;
      EXPECT_EQ(n, kPerFlow) << "flow " << f << " split";
    }
    EXPECT_EQ(holders, 1) << "flow " << f;
  }
  for (const auto& r : rx.list) used += r->count() > 0 ? 1 : 0;
  EXPECT_EQ(used, 4u) << "64 flows should reach all 4 downstreams";
}

TEST(UserspaceEngine, CountsDropsByReason) {
  Receivers rx(1);
  auto cfg = listener(Policy::replicate);
  cfg.settings.max_datagram_size = 500;
  auto engine = make_userspace_engine(cfg);
  ASSERT_TRUE(engine->start().ok());
  Sender s("");
  s.send(cfg.bind, 4, 0, 10, 100);  // no downstream yet
  ASSERT_TRUE(
      wait_until([&] { return engine->stats().drops(DropReason::no_downstream) == 10; }, 5s));
  ASSERT_TRUE(engine->set_downstreams(rx.endpoints()).ok());
  s.send(cfg.bind, 4, 10, 5, 501);  // larger than max_datagram_size
  s.send(cfg.bind, 4, 15, 5, 500);
  ASSERT_TRUE(wait_until([&] { return rx.total() == 5; }, 5s));
  ASSERT_TRUE(wait_until([&] { return engine->stats().forwarded_packets == 5; }, 2s));
  const auto st = engine->stats();
  EXPECT_EQ(st.drops(DropReason::truncated), 5u);
  EXPECT_EQ(st.received_packets, 20u);
  EXPECT_EQ(st.forwarded_packets, 5u);
  EXPECT_EQ(rx.list[0]->seqs(4), (std::set<std::uint32_t>{15, 16, 17, 18, 19}));
}

TEST(UserspaceEngine, SetChangesUnderLoadLoseNothingForThoseWhoStay) {
  Receivers stay(2);
  Receivers churn(2);
  auto cfg = listener(Policy::replicate, 2);
  auto engine = make_userspace_engine(cfg);
  ASSERT_TRUE(engine->start().ok());
  auto stay_eps = stay.endpoints();
  ASSERT_TRUE(engine->set_downstreams(stay_eps).ok());

  // Cycle through sets that add, reorder and remove the churning receivers.
  const auto c = churn.endpoints();
  const std::vector<std::vector<Endpoint>> sets = {
      stay_eps, {stay_eps[0], c[0], stay_eps[1]}, {c[1], stay_eps[0], c[0], stay_eps[1]}};
  std::atomic<bool> done{false};
  std::thread flipper([&] {
    for (std::size_t i = 0; !done; ++i) {
      EXPECT_TRUE(engine->set_downstreams(sets[i % sets.size()]).ok());
      std::this_thread::sleep_for(1ms);
    }
  });
  constexpr std::uint32_t kCount = 20000;
  Sender s("");
  s.send(cfg.bind, 5, 0, kCount, 120);
  done = true;
  flipper.join();
  ASSERT_TRUE(wait_until([&] { return stay.total() == 2 * kCount; }, 10s)) << stay.total();
  for (const auto& r : stay.list) {
    EXPECT_EQ(r->seqs(5).size(), kCount);
    EXPECT_EQ(r->duplicates(), 0u);
  }
  EXPECT_GT(churn.total(), 0u);
  EXPECT_EQ(engine->stats().total_dropped(), 0u);
}

// The CPUs a thread may run on, from /proc/self/task/<tid>/status.
std::vector<std::string> worker_cpu_lists() {
  std::vector<std::string> out;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    std::getline(comm, name);
    if (name.rfind("fanout-w", 0) != 0) continue;
    std::ifstream status(task.path() / "status");
    for (std::string line; std::getline(status, line);) {
      if (line.rfind("Cpus_allowed_list:", 0) == 0)
        out.push_back(line.substr(line.find_last_of("\t ") + 1));
    }
  }
  return out;
}

TEST(UserspaceEngine, PinsWorkersWithinTheProcessCpuSet) {
  const auto cpus = process_cpus();
  if (cpus.size() < 2) GTEST_SKIP() << "needs two CPUs to tell pinning within the set apart";
  // The engine starts on a thread allowed only the last CPU, as a process started with
  // taskset or a cgroup cpuset would be: every worker must land there, not on CPU 0.
  const int only = cpus.back();
  std::unique_ptr<Engine> engine;
  std::thread starter([&] {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(only, &set);
    ASSERT_EQ(::sched_setaffinity(0, sizeof set, &set), 0);
    auto cfg = listener(Policy::replicate, 3);
    cfg.settings.pin_cpus = true;
    engine = make_userspace_engine(cfg);
    ASSERT_TRUE(engine->start().ok());
  });
  starter.join();
  ASSERT_TRUE(engine);
  ASSERT_TRUE(wait_until([] { return worker_cpu_lists().size() == 3; }, 2s));
  for (const auto& list : worker_cpu_lists()) EXPECT_EQ(list, std::to_string(only));
  engine->stop();
}

TEST(HealthProber, UdpEchoDetectsAStoppedReceiverAndItsReturn) {
  Receiver echo("", loopback(0), true);
  ASSERT_TRUE(echo.start());
  HealthConfig hc;
  hc.protocol = ProbeProtocol::udp_echo;
  hc.interval = 100ms;
  hc.timeout = 50ms;
  hc.failure_threshold = 2;
  std::mutex mu;
  std::vector<Health> changes;
  HealthProber prober(hc, [&](const Endpoint& e, Health h) {
    EXPECT_EQ(e, echo.endpoint());
    std::lock_guard l(mu);
    changes.push_back(h);
  });
  ASSERT_TRUE(prober.start().ok());
  prober.set_targets({echo.endpoint()});
  ASSERT_TRUE(wait_until([&] { return prober.health(echo.endpoint()) == Health::healthy; }, 2s));
  EXPECT_GT(echo.probes_echoed(), 0u);

  const auto stopped = fotest::Clock::now();
  echo.stop();  // port unreachable from now on
  ASSERT_TRUE(wait_until([&] { return prober.health(echo.endpoint()) == Health::unhealthy; }, 2s));
  // failure_threshold x interval + timeout is the bound; ICMP errors make it faster.
  EXPECT_LT(fotest::Clock::now() - stopped, 2 * 100ms + 50ms + 250ms);  // + scheduling slack
  const auto st = prober.status();
  ASSERT_EQ(st.size(), 1u);
  EXPECT_GE(st[0].consecutive_failures, 2u);
  EXPECT_FALSE(st[0].last_error.empty());

  ASSERT_TRUE(echo.start());  // same port again
  ASSERT_TRUE(wait_until([&] { return prober.health(echo.endpoint()) == Health::healthy; }, 2s));
  prober.stop();
  std::lock_guard l(mu);
  EXPECT_EQ(changes, (std::vector<Health>{Health::healthy, Health::unhealthy, Health::healthy}));
}

TEST(HealthProber, SilentTargetFailsByTimeout) {
  // A socket that never answers: no ICMP error, so only the timeout can tell.
  Receiver silent("", loopback(0), false);
  ASSERT_TRUE(silent.start());
  HealthConfig hc;
  hc.protocol = ProbeProtocol::udp_echo;
  hc.interval = 100ms;
  hc.timeout = 50ms;
  hc.failure_threshold = 3;
  HealthProber prober(hc, {});
  ASSERT_TRUE(prober.start().ok());
  const auto t0 = fotest::Clock::now();
  prober.set_targets({silent.endpoint()});
  ASSERT_TRUE(
      wait_until([&] { return prober.health(silent.endpoint()) == Health::unhealthy; }, 2s));
  const auto took = fotest::Clock::now() - t0;
  EXPECT_GE(took, 2 * 100ms + 50ms - 10ms);  // three timed-out probes, not fewer
  EXPECT_LT(took, 3 * 100ms + 50ms + 250ms);
  EXPECT_EQ(prober.status()[0].last_error, "no reply within the timeout");
}

TEST(Fanout, HealthTakesAStoppedReceiverOutAndBackIn) {
  Receivers rx(3, true);
  FanoutConfig fc;
  auto l = listener(Policy::replicate);
  for (const auto& e : rx.endpoints()) l.downstreams.push_back({"r" + std::to_string(e.port), e});
  fc.listeners.push_back(l);
  fc.health.protocol = ProbeProtocol::udp_echo;
  fc.health.interval = 100ms;
  fc.health.timeout = 50ms;
  fc.health.failure_threshold = 2;
  Fanout fanout(fc);
  ASSERT_TRUE(fanout.start().ok());
  ASSERT_TRUE(wait_until([&] { return fanout.ready(); }, 2s));
  ASSERT_TRUE(wait_until(
      [&] {
        const auto status = fanout.status();  // kept: a range-for over a temporary's member dangles
        for (const auto& d : status[0].downstreams) {
          if (d.health != Health::healthy) return false;
        }
        return true;
      },
      2s));

  rx.list[1]->stop();
  ASSERT_TRUE(wait_until([&] { return fanout.status()[0].active_downstreams == 2; }, 2s));
  Sender s("");
  s.send(l.bind, 6, 0, 1000);
  ASSERT_TRUE(
      wait_until([&] { return rx.list[0]->count() == 1000 && rx.list[2]->count() == 1000; }, 5s));
  ASSERT_TRUE(wait_until([&] { return fanout.status()[0].stats.forwarded_packets == 2000; }, 2s));
  auto st = fanout.status()[0];
  for (const auto& d : st.downstreams) {
    const bool stopped = d.address == rx.list[1]->endpoint();
    EXPECT_EQ(d.health, stopped ? Health::unhealthy : Health::healthy) << d.name;
    EXPECT_EQ(d.active, !stopped) << d.name;
  }

  ASSERT_TRUE(rx.list[1]->start());
  ASSERT_TRUE(wait_until([&] { return fanout.status()[0].active_downstreams == 3; }, 2s));
  s.send(l.bind, 6, 1000, 100);
  ASSERT_TRUE(wait_until([&] { return rx.list[1]->count() == 100; }, 5s));

  // Readiness follows: with every receiver gone there is nobody to deliver to.
  for (auto& r : rx.list) r->stop();
  std::string why;
  ASSERT_TRUE(wait_until([&] { return !fanout.ready(&why); }, 2s));
  EXPECT_EQ(why, "listener lo: no healthy downstream");
  EXPECT_TRUE(fanout.live());
  fanout.stop();
  EXPECT_FALSE(fanout.live(&why));
}

TEST(Fanout, DiscoveredDownstreamsJoinTheStaticOnes) {
  Receivers rx(2);
  FanoutConfig fc;
  auto l = listener(Policy::replicate);
  l.downstreams.push_back({"static-0", rx.list[0]->endpoint()});
  fc.listeners.push_back(l);
  fc.health.enabled = false;
  Fanout fanout(fc);
  ASSERT_TRUE(fanout.start().ok());
  ASSERT_TRUE(fanout
                  .set_downstreams("lo", kSourceKubernetes,
                                   {{"pod-a", rx.list[1]->endpoint()},
                                    {"dup-of-static", rx.list[0]->endpoint()}})
                  .ok());
  auto st = fanout.status()[0];
  EXPECT_EQ(st.active_downstreams, 2u);
  ASSERT_EQ(st.downstreams.size(), 2u);  // the duplicate address counts once
  Sender s("");
  s.send(l.bind, 7, 0, 500);
  ASSERT_TRUE(wait_until([&] { return rx.total() == 1000; }, 5s)) << rx.total();
  EXPECT_FALSE(fanout.set_downstreams("nope", kSourceKubernetes, {}).ok());
  ASSERT_TRUE(fanout.set_downstreams("lo", kSourceKubernetes, {}).ok());
  EXPECT_EQ(fanout.status()[0].active_downstreams, 1u);
}

}  // namespace
}  // namespace bngkit::fanout
