// Network-namespace tests: a client, the fanout and N receivers each in their own
// namespace, joined by veth pairs. Replicate gives every receiver every datagram,
// balance gives each a fair share, payloads arrive intact and (where the engine keeps
// it) from the client's address; health probes take a dead receiver out of rotation
// and bring it back; set changes under load lose nothing for receivers that stay.
#include "netns_fixture.hpp"

namespace bngkit::fanout {

// Test names and failure messages say "userspace" / "tc_ebpf", not bytes.
void PrintTo(Mode m, std::ostream* os) { *os << to_string(m); }

namespace {

TEST_P(FanoutNetns, ReplicateDeliversEveryDatagramToEveryReceiverFromTheClient) {
  FANOUT_REQUIRE_NET_ADMIN();
  build(4);
  FanoutConfig fc;
  fc.listeners.push_back(listener(Policy::replicate, 0, 4));
  fc.health.enabled = false;
  start(fc);

  constexpr std::uint32_t kCount = 5000;
  Sender s(topo_->client->name());
  ASSERT_EQ(s.send(listen_endpoint(), 1, 0, kCount, 400), kCount);
  ASSERT_TRUE(wait_until([&] { return total() == 4 * kCount; }, 10s)) << diag();
  for (const auto& r : rx_) {
    EXPECT_EQ(r->seqs(1).size(), kCount);
    EXPECT_EQ(r->damaged(), 0u);
    EXPECT_EQ(r->duplicates(), 0u);
    // The source address is the client's (raw socket in userspace, rewrite in TC).
    EXPECT_EQ(r->sources(), std::set<std::uint32_t>{addr_be(Topology::kClientAddr)});
  }
  ASSERT_TRUE(wait_until([&] { return stats().forwarded_packets == 4ull * kCount; }, 2s));
  EXPECT_EQ(stats().received_packets, kCount);
  EXPECT_EQ(stats().slow_path_packets, 0u) << "the TC program handles these itself";
  EXPECT_EQ(stats().received_bytes, kCount * 400ull);
  EXPECT_EQ(stats().total_dropped(), 0u);
}

TEST_P(FanoutNetns, DatagramsLargerThanTheMtuArriveWholeFromTheClient) {
  // 4000-byte datagrams leave the client as IPv4 fragments. Userspace: the socket gets
  // them reassembled and the raw send cuts its own fragments (the kernel does not
  // fragment IP_HDRINCL packets). TC: the program leaves fragments to the stack and
  // the engine's userspace socket relays them (its slow path).
  FANOUT_REQUIRE_NET_ADMIN();
  build(2);
  FanoutConfig fc;
  fc.listeners.push_back(listener(Policy::replicate, 0, 2));
  fc.health.enabled = false;
  start(fc);

  constexpr std::uint32_t kCount = 300;
  Sender s(topo_->client->name());
  ASSERT_EQ(s.send(listen_endpoint(), 5, 0, kCount, 4000, 16), kCount);
  ASSERT_TRUE(wait_until([&] { return total() == 2 * kCount; }, 10s)) << diag();
  for (const auto& r : rx_) {
    EXPECT_EQ(r->seqs(5).size(), kCount);
    EXPECT_EQ(r->damaged(), 0u);
    EXPECT_EQ(r->sources(), std::set<std::uint32_t>{addr_be(Topology::kClientAddr)});
  }
  ASSERT_TRUE(wait_until([&] { return stats().forwarded_packets == 2ull * kCount; }, 2s));
  EXPECT_EQ(stats().total_dropped(), 0u);
  if (GetParam() == Mode::tc_ebpf) {
    EXPECT_EQ(stats().slow_path_packets, kCount);
  }
}

TEST_P(FanoutNetns, ReplicateWithoutSourcePreservationUsesGso) {
  FANOUT_REQUIRE_NET_ADMIN();
  if (GetParam() != Mode::userspace) GTEST_SKIP() << "the TC engine always keeps the source";
  build(3);
  FanoutConfig fc;
  auto l = listener(Policy::replicate, 0, 3);
  l.preserve_source = false;
  l.settings.batch_size = 128;
  fc.listeners.push_back(l);
  fc.health.enabled = false;
  start(fc);

  constexpr std::uint32_t kCount = 4000;
  Sender s(topo_->client->name());
  // Bursts of equal sizes (GSO runs) with an odd size now and then (run breaks).
  for (std::uint32_t i = 0; i < kCount; i += 100) {
    s.send(listen_endpoint(), 2, i, 99, 1400, 0);
    s.send(listen_endpoint(), 2, i + 99, 1, 77, 0);
    std::this_thread::sleep_for(1ms);
  }
  ASSERT_TRUE(wait_until([&] { return total() == 3 * kCount; }, 10s)) << diag();
  for (std::size_t i = 0; i < rx_.size(); ++i) {
    EXPECT_EQ(rx_[i]->seqs(2).size(), kCount);
    EXPECT_EQ(rx_[i]->damaged(), 0u);
    // Sent from the fanout's own address on that link.
    const auto own = "10.78." + std::to_string(i) + ".1";
    EXPECT_EQ(rx_[i]->sources(), std::set<std::uint32_t>{addr_be(own.c_str())});
  }
}

TEST_P(FanoutNetns, BalanceRoundRobinGivesEachReceiverAFairShare) {
  FANOUT_REQUIRE_NET_ADMIN();
  build(4);
  FanoutConfig fc;
  fc.listeners.push_back(listener(Policy::balance, 0, 4));
  fc.health.enabled = false;
  start(fc);

  constexpr std::uint32_t kCount = 8000;
  Sender s(topo_->client->name());
  s.send(listen_endpoint(), 3, 0, kCount, 300);
  ASSERT_TRUE(wait_until([&] { return total() == kCount; }, 10s)) << diag();
  std::set<std::uint32_t> all;
  for (const auto& r : rx_) {
    // Round robin per worker (userspace) or per CPU (TC): within 10% of a quarter.
    EXPECT_NEAR(static_cast<double>(r->count()), kCount / 4.0, kCount / 40.0);
    EXPECT_EQ(r->damaged(), 0u);
    for (auto q : r->seqs(3)) EXPECT_TRUE(all.insert(q).second) << "seq " << q << " twice";
  }
  EXPECT_EQ(all.size(), kCount);
  EXPECT_EQ(stats().slow_path_packets, 0u);
}

TEST_P(FanoutNetns, BalanceFlowHashKeepsFlowsOnTheirReceiver) {
  FANOUT_REQUIRE_NET_ADMIN();
  build(4);
  FanoutConfig fc;
  auto l = listener(Policy::balance, 0, 4);
  l.balance = BalanceMethod::flow_hash;
  fc.listeners.push_back(l);
  fc.health.enabled = false;
  start(fc);

  constexpr std::uint32_t kFlows = 48;
  constexpr std::uint32_t kPerFlow = 40;
  for (std::uint32_t f = 0; f < kFlows; ++f) {
    Sender s(topo_->client->name());
    s.send(listen_endpoint(), 100 + f, 0, kPerFlow);
  }
  ASSERT_TRUE(wait_until([&] { return total() == kFlows * kPerFlow; }, 10s)) << diag();
  for (std::uint32_t f = 0; f < kFlows; ++f) {
    int holders = 0;
    for (const auto& r : rx_) {
      const auto n = r->seqs(100 + f).size();
      if (n == 0) continue;
      ++holders;
      EXPECT_EQ(n, kPerFlow);
    }
    EXPECT_EQ(holders, 1) << "flow " << f << " was split";
  }
  for (const auto& r : rx_) EXPECT_GT(r->count(), 0u) << "48 flows should reach every receiver";
}

TEST_P(FanoutNetns, SeveralListenersEachWithTheirOwnPolicyAndReceivers) {
  FANOUT_REQUIRE_NET_ADMIN();
  build(4);
  FanoutConfig fc;
  auto a = listener(Policy::replicate, 0, 2);
  a.name = "flows";
  auto b = listener(Policy::balance, 2, 2);
  b.name = "syslog";
  b.bind.port = kListenPort + 1;
  fc.listeners = {a, b};
  fc.health.enabled = false;
  start(fc);

  Sender s(topo_->client->name());
  s.send(a.bind, 10, 0, 1000);
  s.send(b.bind, 11, 0, 1000);
  ASSERT_TRUE(wait_until([&] { return total() == 2 * 1000 + 1000; }, 10s)) << diag();
  EXPECT_EQ(rx_[0]->seqs(10).size(), 1000u);
  EXPECT_EQ(rx_[1]->seqs(10).size(), 1000u);
  EXPECT_EQ(rx_[2]->seqs(10).size() + rx_[3]->seqs(10).size(), 0u);
  EXPECT_EQ(rx_[2]->seqs(11).size(), 500u);
  EXPECT_EQ(rx_[3]->seqs(11).size(), 500u);
  EXPECT_EQ(rx_[0]->seqs(11).size() + rx_[1]->seqs(11).size(), 0u);
  ASSERT_TRUE(wait_until([&] { return stats(1).forwarded_packets == 1000; }, 2s));
  EXPECT_EQ(stats(0).forwarded_packets, 2000u);
}

// Sends `count` datagrams from the client while the fanout is in its current state and
// waits until the receivers in `expect_all` got all of them.
::testing::AssertionResult deliver_and_check(Sender& s, std::uint32_t stream, std::uint32_t count,
                                             const std::vector<Receiver*>& expect_all) {
  s.send(listen_endpoint(), stream, 0, count);
  const bool ok = wait_until(
      [&] {
        for (auto* r : expect_all) {
          if (r->seqs(stream).size() != count) return false;
        }
        return true;
      },
      10s);
  if (ok) return ::testing::AssertionSuccess();
  auto failure = ::testing::AssertionFailure();
  for (auto* r : expect_all) failure << r->seqs(stream).size() << "/" << count << " ";
  return failure;
}

TEST_P(FanoutNetns, IcmpHealthDropsAnUnreachableReceiverAndBringsItBack) {
  FANOUT_REQUIRE_NET_ADMIN();
  build(3);
  FanoutConfig fc;
  fc.listeners.push_back(listener(Policy::replicate, 0, 3));
  fc.health.protocol = ProbeProtocol::icmp;
  fc.health.interval = 200ms;
  fc.health.timeout = 100ms;
  fc.health.failure_threshold = 3;
  start(fc);
  ASSERT_TRUE(wait_until([&] { return fanout_->ready(); }, 3s));
  auto all_healthy = [&] {
    const auto status = fanout_->status();  // kept: a range-for over a temporary's member dangles
    for (const auto& d : status[0].downstreams) {
      if (d.health != Health::healthy) return false;
    }
    return true;
  };
  ASSERT_TRUE(wait_until(all_healthy, 3s));

  // Receiver 1's link goes down: its host stops answering pings.
  ASSERT_EQ(topo_->set_receiver_link(1, false), 0);
  const auto cut = fotest::Clock::now();
  ASSERT_TRUE(wait_until([&] { return fanout_->status()[0].active_downstreams == 2; }, 5s));
  const auto took = fotest::Clock::now() - cut;
  // failure_threshold x interval + timeout, plus scheduling slack.
  EXPECT_LT(took, 3 * 200ms + 100ms + 300ms)
      << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms";

  Sender s(topo_->client->name());
  EXPECT_TRUE(deliver_and_check(s, 20, 2000, {rx_[0].get(), rx_[2].get()}));
  EXPECT_EQ(stats().drops(DropReason::send_error), 0u) << "nothing sent to the dead receiver";

  ASSERT_EQ(topo_->set_receiver_link(1, true), 0);
  ASSERT_TRUE(wait_until([&] { return fanout_->status()[0].active_downstreams == 3; }, 5s));
  EXPECT_TRUE(deliver_and_check(s, 21, 2000, {rx_[0].get(), rx_[1].get(), rx_[2].get()}));
}

TEST_P(FanoutNetns, UdpEchoHealthDropsAKilledReceiverProcessAndBringsItBack) {
  FANOUT_REQUIRE_NET_ADMIN();
  build(3, true);
  // Receiver 1 is a separate process (an echo server), killed with SIGKILL.
  rx_[1]->stop();
  const auto r1 = Topology::receiver_endpoint(1, kReceiverPort);
  auto proc = fotest::spawn_echo_process(topo_->receivers[1]->name(), r1);
  FanoutConfig fc;
  fc.listeners.push_back(listener(Policy::replicate, 0, 3));
  fc.health.protocol = ProbeProtocol::udp_echo;
  fc.health.interval = 200ms;
  fc.health.timeout = 100ms;
  fc.health.failure_threshold = 2;
  start(fc);
  auto health_of_1 = [&] {
    const auto status = fanout_->status();  // kept: a range-for over a temporary's member dangles
    for (const auto& d : status[0].downstreams) {
      if (d.address == r1) return d.health;
    }
    return Health::unknown;
  };
  ASSERT_TRUE(wait_until([&] { return health_of_1() == Health::healthy; }, 3s));

  proc.kill();
  const auto killed = fotest::Clock::now();
  ASSERT_TRUE(wait_until([&] { return health_of_1() == Health::unhealthy; }, 3s));
  EXPECT_LT(fotest::Clock::now() - killed, 2 * 200ms + 100ms + 300ms);
  EXPECT_EQ(fanout_->status()[0].active_downstreams, 2u);
  Sender s(topo_->client->name());
  EXPECT_TRUE(deliver_and_check(s, 30, 2000, {rx_[0].get(), rx_[2].get()}));

  // A new receiver process on the same address: back in rotation, and it gets traffic.
  ASSERT_TRUE(rx_[1]->start());
  ASSERT_TRUE(wait_until([&] { return health_of_1() == Health::healthy; }, 3s));
  ASSERT_TRUE(wait_until([&] { return fanout_->status()[0].active_downstreams == 3; }, 1s));
  EXPECT_TRUE(deliver_and_check(s, 31, 2000, {rx_[0].get(), rx_[1].get(), rx_[2].get()}));
}

TEST_P(FanoutNetns, DownstreamSetChangesUnderLoadLoseNothingForThoseWhoStay) {
  FANOUT_REQUIRE_NET_ADMIN();
  build(4);
  FanoutConfig fc;
  fc.listeners.push_back(listener(Policy::replicate, 0, 2));  // receivers 0, 1 stay
  fc.health.enabled = false;
  start(fc);

  // Receivers 2 and 3 come and go as discovered downstreams while traffic flows.
  const std::vector<std::vector<Downstream>> churn = {
      {},
      {{"r2", Topology::receiver_endpoint(2, kReceiverPort)}},
      {{"r2", Topology::receiver_endpoint(2, kReceiverPort)},
       {"r3", Topology::receiver_endpoint(3, kReceiverPort)}},
      {{"r3", Topology::receiver_endpoint(3, kReceiverPort)}}};
  std::atomic<bool> done{false};
  std::atomic<int> changes{0};
  std::thread flipper([&] {
    for (std::size_t i = 0; !done; ++i) {
      EXPECT_TRUE(
          fanout_->set_downstreams("test", kSourceKubernetes, churn[i % churn.size()]).ok());
      ++changes;
      std::this_thread::sleep_for(2ms);
    }
  });
  constexpr std::uint32_t kCount = 20000;
  Sender s(topo_->client->name());
  s.send(listen_endpoint(), 40, 0, kCount, 200);
  done = true;
  flipper.join();
  EXPECT_GT(changes.load(), 20);
  ASSERT_TRUE(wait_until(
      [&] { return rx_[0]->seqs(40).size() == kCount && rx_[1]->seqs(40).size() == kCount; }, 10s))
      << diag();
  EXPECT_EQ(rx_[0]->duplicates() + rx_[1]->duplicates(), 0u);
  EXPECT_GT(rx_[2]->count() + rx_[3]->count(), 0u);
  EXPECT_EQ(stats().total_dropped(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Engines, FanoutNetns, ::testing::Values(Mode::userspace, Mode::tc_ebpf),
                         [](const auto& p) { return std::string(to_string(p.param)); });

}  // namespace
}  // namespace bngkit::fanout
