// SIGKILL of udp-fanout mid-load (issue 8), for both engines, stating what survives:
//   tc_ebpf:   the kernel program keeps replicating while the daemon is dead (the filter and
//              its maps outlive the process); the restart replaces the dead daemon's filter
//              (one filter, never two) and nothing is delivered twice.
//   userspace: delivery stops with the process (the kernel refuses datagrams for a closed
//              port) and resumes, exactly once per receiver, after the restart.
// The operator sees the gap in udp_fanout_packets_received_total (it restarts from zero)
// and /health/ready while the daemon is down (nothing answers).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "daemon_util.hpp"

namespace {

using namespace std::chrono_literals;
using bngkit::fanout::Endpoint;
using fotest::Receiver;
using fotest::Sender;
using fotest::slurp;
using fotest::TempDir;
using fotest::Topology;
using fotest::wait_until;

class UdpFanoutKill : public ::testing::TestWithParam<std::string> {};

TEST_P(UdpFanoutKill, SigkillMidLoadThenRestart) {
  FANOUT_REQUIRE_NET_ADMIN();
  Topology topo(2);
  ASSERT_TRUE(topo.ok()) << topo.error;
  std::vector<std::unique_ptr<Receiver>> rx;
  for (std::size_t i = 0; i < 2; ++i) {
    rx.push_back(std::make_unique<Receiver>(topo.receivers[i]->name(), Topology::receiver_endpoint(i, 9000), true));
    ASSERT_TRUE(rx.back()->start());
  }
  TempDir dir;
  const std::string mode = GetParam();
  const std::string pins = "/sys/fs/bpf/fanout-kill-test-" + fotest::unique_tag();
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

[metrics]
bind = "10.77.0.1:9191"
)");
  const std::string client = topo.client->name();
  auto ready = [&] { return fotest::http_get(client, "10.77.0.1", 9191, "/health/ready").first == 200; };
  const auto log = (dir.path / "daemon.log").string();
  auto daemon = fotest::spawn(topo.fanout->name(), {UDP_FANOUT_BIN, "run", "--config", cfg}, log);
  ASSERT_TRUE(wait_until(ready, 5s)) << slurp(log);

  // Load: stream 1 flows while the daemon is killed.
  Sender s(client);
  const auto to = Endpoint::parse("10.77.0.1:2055").value();
  std::atomic<bool> sending{true};
  std::atomic<std::uint32_t> sent{0};
  std::thread load([&] {
    while (sending) {
      s.send(to, 1, sent, 50, 200);
      sent += 50;
      std::this_thread::sleep_for(2ms);
    }
  });
  ASSERT_TRUE(wait_until([&] { return rx[0]->count() >= 500; }, 5s));
  daemon.kill(SIGKILL);
  const auto at_kill = rx[0]->count();
  std::this_thread::sleep_for(500ms);  // load goes on with nobody in userspace
  const auto while_dead = rx[0]->count() - at_kill;
  EXPECT_FALSE(ready()) << "nothing answers for the dead daemon";
  if (mode == "tc_ebpf") {
    EXPECT_GT(while_dead, 100u) << "the kernel program keeps replicating without its daemon";
  } else {
    EXPECT_LT(while_dead, 50u) << "userspace delivery ends with the process";
  }

  // Restart under load: ready again, one filter, exactly once from here on.
  auto again = fotest::spawn(topo.fanout->name(), {UDP_FANOUT_BIN, "run", "--config", cfg}, log + ".2");
  ASSERT_TRUE(wait_until(ready, 5s)) << slurp(log + ".2");
  sending = false;
  load.join();
  const std::uint32_t last = sent;
  s.send(to, 2, 0, 1000, 200);  // a clean stream after the restart
  ASSERT_TRUE(wait_until([&] { return rx[0]->seqs(2).size() == 1000 && rx[1]->seqs(2).size() == 1000; }, 5s))
      << rx[0]->seqs(2).size() << " " << rx[1]->seqs(2).size() << "\n" << slurp(log + ".2");
  std::this_thread::sleep_for(200ms);
  for (const auto& r : rx) {
    EXPECT_EQ(r->duplicates(), 0u) << "nothing delivered twice (a second filter would)";
    EXPECT_EQ(r->damaged(), 0u);
  }
  if (mode == "tc_ebpf") {
    const auto filters = fotest::sh_out("tc -n " + topo.fanout->name() + " filter show dev f0 ingress");
    // One filter line each: "... handle 0xfa0 fanout_ingress:[id] direct-action ... name fanout_ingress".
    std::size_t n = 0;
    for (auto pos = filters.find("direct-action"); pos != std::string::npos; pos = filters.find("direct-action", pos + 1)) ++n;
    EXPECT_EQ(n, 1u) << filters;
  }
  EXPECT_GT(last, 1000u);
  again.kill(SIGTERM);
  EXPECT_EQ(again.wait_exit(5s), 0) << slurp(log + ".2");
  fotest::sh_out("rm -rf " + pins);
}

INSTANTIATE_TEST_SUITE_P(Engines, UdpFanoutKill, ::testing::Values("userspace", "tc_ebpf"),
                         [](const auto& param_info) { return param_info.param; });

}  // namespace
