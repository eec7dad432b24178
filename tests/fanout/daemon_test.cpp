// The udp-fanout daemon as operators run it, in network namespaces: `run` with real
// traffic, /metrics driven by real state, /health/live and /health/ready, and a clean
// exit on SIGTERM.
#include <bngkit/ops/capabilities.hpp>
#include <gtest/gtest.h>
#include <linux/capability.h>

#include "daemon_util.hpp"

namespace {

using namespace std::chrono_literals;
using bngkit::fanout::Endpoint;
using fotest::Receiver;
using fotest::sample;
using fotest::Sender;
using fotest::slurp;
using fotest::TempDir;
using fotest::Topology;
using fotest::wait_until;

class UdpFanoutDaemon : public ::testing::TestWithParam<std::string> {};

TEST_P(UdpFanoutDaemon, RunsServesRealMetricsAndHealthAndStopsOnSigterm) {
  FANOUT_REQUIRE_NET_ADMIN();
  Topology topo(3);
  ASSERT_TRUE(topo.ok()) << topo.error;
  std::vector<std::unique_ptr<Receiver>> rx;
  for (std::size_t i = 0; i < 3; ++i) {
    rx.push_back(std::make_unique<Receiver>(topo.receivers[i]->name(),
                                            Topology::receiver_endpoint(i, 9000), true));
    ASSERT_TRUE(rx.back()->start());
  }
  TempDir dir;
  const std::string mode = GetParam();
  const std::string pins = "/sys/fs/bpf/fanout-daemon-test-" + fotest::unique_tag();
  const auto cfg = dir.write("fanout.toml", "[tc]\npin_path = \"" + pins + "\"\n" + R"(
[[listeners]]
name = "flows"
bind = "10.77.0.1:2055"
interface = "f0"
mode = ")" + mode + R"("
policy = "replicate"
[[listeners.downstream]]
name = "r0"
address = "10.78.0.2:9000"
[[listeners.downstream]]
name = "r1"
address = "10.78.1.2:9000"
[listeners.settings]
recv_buf_size = 16777216

[[listeners]]
name = "syslog"
bind = "10.77.0.1:5514"
interface = "f0"
mode = ")" + mode + R"("
policy = "balance"
[[listeners.downstream]]
name = "r2"
address = "10.78.2.2:9000"
[listeners.settings]
recv_buf_size = 16777216

[health]
protocol = "udp_echo"
interval_secs = "200ms"
timeout_secs = "100ms"
failure_threshold = 2

[metrics]
bind = "10.77.0.1:9190"
)");
  const auto log = (dir.path / "daemon.log").string();
  auto daemon = fotest::spawn(topo.fanout->name(), {UDP_FANOUT_BIN, "run", "--config", cfg}, log);
  const std::string client = topo.client->name();
  auto get = [&](const std::string& path) {
    return fotest::http_get(client, "10.77.0.1", 9190, path);
  };
  ASSERT_TRUE(wait_until([&] { return get("/health/ready").first == 200; }, 5s)) << slurp(log);
  EXPECT_EQ(get("/health/live").first, 200);

  Sender s(client);
  s.send(Endpoint::parse("10.77.0.1:2055").value(), 1, 0, 1000, 500);
  s.send(Endpoint::parse("10.77.0.1:5514").value(), 2, 0, 300, 100);
  ASSERT_TRUE(wait_until(
      [&] { return rx[0]->count() == 1000 && rx[1]->count() == 1000 && rx[2]->count() == 300; },
      5s))
      << rx[0]->count() << " " << rx[1]->count() << " " << rx[2]->count() << "\n"
      << get("/metrics").second;
  std::string m;
  ASSERT_TRUE(wait_until(
      [&] {
        m = get("/metrics").second;
        return sample(m, "udp_fanout_packets_forwarded_total{listener=\"flows\"}") == 2000.0 &&
               sample(m, "udp_fanout_packets_forwarded_total{listener=\"syslog\"}") == 300.0;
      },
      3s))
      << m;
  EXPECT_EQ(sample(m, "udp_fanout_packets_received_total{listener=\"flows\"}"), 1000.0) << m;
  EXPECT_EQ(sample(m, "udp_fanout_listener_info{configured_mode=\"" + mode +
                          "\",listener=\"flows\",mode=\"" + mode + "\",policy=\"replicate\"}"),
            1.0)
      << m;
  EXPECT_EQ(sample(m, "udp_fanout_bytes_received_total{listener=\"flows\"}"), 500000.0) << m;
  EXPECT_EQ(sample(m, "udp_fanout_bytes_forwarded_total{listener=\"flows\"}"), 1000000.0) << m;
  EXPECT_EQ(sample(m, "udp_fanout_packets_received_total{listener=\"syslog\"}"), 300.0) << m;
  EXPECT_EQ(
      sample(m, "udp_fanout_packets_dropped_total{listener=\"flows\",reason=\"no_downstream\"}"),
      0.0)
      << m;
  EXPECT_EQ(sample(m, "udp_fanout_downstream_active{listener=\"flows\"}"), 2.0) << m;
  EXPECT_EQ(sample(m,
                   "udp_fanout_downstream_health{address=\"10.78.1.2:9000\",downstream=\"r1\","
                   "listener=\"flows\",source=\"static\"}"),
            1.0)
      << m;

  // r1 dies: health and the active count say so, and delivery to r0 goes on.
  rx[1]->stop();
  ASSERT_TRUE(wait_until(
      [&] {
        m = get("/metrics").second;
        return sample(m,
                      "udp_fanout_downstream_health{address=\"10.78.1.2:9000\",downstream=\"r1\","
                      "listener=\"flows\",source=\"static\"}") == 0.0;
      },
      3s))
      << m;
  EXPECT_EQ(sample(m, "udp_fanout_downstream_active{listener=\"flows\"}"), 1.0) << m << slurp(log);
  EXPECT_EQ(get("/health/ready").first, 200);  // every listener still has somewhere to send

  // r2 dies: syslog has nobody left, its datagrams are dropped and counted, not ready.
  rx[2]->stop();
  ASSERT_TRUE(wait_until([&] { return get("/health/ready").first == 503; }, 3s));
  const auto ready = get("/health/ready");
  EXPECT_NE(ready.second.find("listener syslog: no healthy downstream"), std::string::npos)
      << ready.second;
  EXPECT_EQ(get("/health/live").first, 200);
  s.send(Endpoint::parse("10.77.0.1:5514").value(), 2, 300, 50, 100);
  ASSERT_TRUE(wait_until(
      [&] {
        m = get("/metrics").second;
        return sample(m,
                      "udp_fanout_packets_dropped_total{listener=\"syslog\",reason=\"no_"
                      "downstream\"}") == 50.0;
      },
      3s))
      << m;

  // Serving: only CAP_NET_ADMIN (to detach TC at exit) is left, in every set of every
  // thread (the sets are per thread; the engines and the prober started before the drop).
  auto threads = bngkit::ops::thread_capabilities(daemon.pid());
  ASSERT_TRUE(threads.ok()) << threads.error().message();
  EXPECT_GE(threads->size(), mode == "userspace" ? 4U : 2U) << "main, prober (and one engine per listener)";
  for (const auto& t : *threads) {
    const std::uint64_t net_admin = 1ULL << CAP_NET_ADMIN;
    EXPECT_EQ(t.effective, net_admin) << t.tid << " " << t.name;
    EXPECT_EQ(t.permitted, net_admin) << t.tid << " " << t.name;
    EXPECT_EQ(t.bounding, net_admin) << t.tid << " " << t.name;
    EXPECT_EQ(t.ambient | t.inheritable, 0U) << t.tid << " " << t.name;
  }
  EXPECT_NE(slurp(log).find("capabilities: kept cap_net_admin"), std::string::npos) << slurp(log);

  daemon.kill(SIGTERM);
  EXPECT_EQ(daemon.wait_exit(5s), 0) << slurp(log);
  const auto text = slurp(log);
  EXPECT_NE(text.find("SIGTERM: stopping"), std::string::npos) << text;
  EXPECT_NE(text.find("stopped"), std::string::npos) << text;
  EXPECT_EQ(get("/health/live").first, 0) << "nothing listens after exit";
  EXPECT_FALSE(std::filesystem::exists(pins)) << "TC pins removed at exit";
  const auto filters =
      fotest::sh_out("tc -n " + topo.fanout->name() + " filter show dev f0 ingress");
  EXPECT_EQ(filters.find("fanout_ingress"), std::string::npos) << "TC filter removed at exit";
}

INSTANTIATE_TEST_SUITE_P(Engines, UdpFanoutDaemon, ::testing::Values("userspace", "tc_ebpf"),
                         [](const auto& p) { return p.param; });

}  // namespace
