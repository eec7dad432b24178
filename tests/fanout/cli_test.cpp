// The udp-fanout command line: validate, errors named by key, exit codes, usage.
#include <gtest/gtest.h>

#include "daemon_util.hpp"

namespace {

using fotest::run_cli;
using fotest::TempDir;

constexpr const char* kValid = R"(
[[listeners]]
name = "flows"
bind = "127.0.0.1:2055"
policy = "replicate"
[[listeners.downstream]]
name = "collector-a"
address = "10.0.0.1:2055"
[[listeners.downstream]]
address = "10.0.0.2:2055"
[listeners.kubernetes]
namespace = "netflow"
service = "collectors"
port = 2055

[[listeners]]
name = "syslog"
bind = "0.0.0.0:5514"
policy = "balance"
balance = "flow_hash"
[[listeners.downstream]]
address = "10.0.0.3:514"

[health]
protocol = "udp_echo"
interval_secs = 2
timeout_secs = 1
)";

TEST(UdpFanoutCli, ValidateAcceptsAGoodConfigAndSummarisesIt) {
  TempDir dir;
  const auto cfg = dir.write("fanout.toml", kValid);
  auto [rc, out] = run_cli(dir, {"validate", "--config", cfg});
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find(cfg + ": valid"), std::string::npos) << out;
  EXPECT_NE(
      out.find("listener flows: 127.0.0.1:2055, userspace, replicate, 2 static downstream(s), "
               "EndpointSlices of netflow/collectors"),
      std::string::npos)
      << out;
  EXPECT_NE(out.find("listener syslog: 0.0.0.0:5514, userspace, balance (flow_hash)"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("health: udp_echo every 2000 ms, timeout 1000 ms, out after 3 failure(s)"),
            std::string::npos)
      << out;
}

TEST(UdpFanoutCli, BadConfigExitsNonZeroNamingEveryProblem) {
  TempDir dir;
  const auto cfg = dir.write("bad.toml", R"(
[[listeners]]
name = "x"
bind = "0.0.0.0:70000"
policy = "scatter"
[[listeners.downstream]]
address = "10.0.0.1:1"
[health]
failure_threshold = 0
)");
  for (const char* cmd : {"validate", "run"}) {
    auto [rc, out] = run_cli(dir, {cmd, "--config", cfg});
    EXPECT_EQ(rc, 2) << cmd << ": " << out;
    EXPECT_NE(out.find("udp-fanout: invalid config " + cfg), std::string::npos) << out;
    EXPECT_NE(out.find("listeners[0].bind"), std::string::npos) << out;
    EXPECT_NE(out.find("listeners[0].policy"), std::string::npos) << out;
    EXPECT_NE(out.find("health.failure_threshold"), std::string::npos) << out;
  }
}

TEST(UdpFanoutCli, UsageErrors) {
  TempDir dir;
  auto [rc1, out1] = run_cli(dir, {"validate"});
  EXPECT_EQ(rc1, 2);
  EXPECT_NE(out1.find("validate needs --config FILE"), std::string::npos) << out1;
  auto [rc2, out2] = run_cli(dir, {"launch", "--config", "x"});
  EXPECT_EQ(rc2, 2);
  EXPECT_NE(out2.find("unknown command \"launch\""), std::string::npos) << out2;
  auto [rc3, out3] = run_cli(dir, {"validate", "--config", (dir.path / "missing.toml").string()});
  EXPECT_EQ(rc3, 2);
  EXPECT_NE(out3.find("cannot read config"), std::string::npos) << out3;
  const auto cfg = dir.write("fanout.toml", kValid);
  auto [rc5, out5] = run_cli(dir, {"run", "--config", cfg, "--log-format", "xml"});
  EXPECT_EQ(rc5, 2);
  EXPECT_NE(out5.find("xml"), std::string::npos) << out5;
  auto [rc6, out6] = run_cli(dir, {"run", "--config", cfg, "--log-level", "loud"});
  EXPECT_EQ(rc6, 2);
  EXPECT_NE(out6.find("loud"), std::string::npos) << out6;
  auto [rc4, out4] = run_cli(dir, {"--help"});
  EXPECT_EQ(rc4, 0);
  EXPECT_NE(out4.find("Usage: udp-fanout <command>"), std::string::npos) << out4;
}

// The config map in deploy/udp-fanout is a valid config for a node.
TEST(UdpFanoutDeploy, TheShippedConfigValidates) {
  std::ifstream in(std::string(FANOUT_DEPLOY_DIR) + "/configmap.yaml");
  ASSERT_TRUE(in.good());
  std::string toml;
  bool inside = false;
  for (std::string line; std::getline(in, line);) {
    if (line.find("fanout.toml: |") != std::string::npos) {
      inside = true;
      continue;
    }
    if (!inside) continue;
    if (!line.empty() && line.compare(0, 4, "    ") != 0) break;
    toml += (line.size() > 4 ? line.substr(4) : "") + "\n";
  }
  ASSERT_NE(toml.find("[[listeners]]"), std::string::npos);
  TempDir dir;
  const auto cfg = dir.write("fanout.toml", toml);
  ::setenv("NODE_INTERFACE", "eth0", 1);  // what the DaemonSet sets
  auto [rc, out] = run_cli(dir, {"validate", "--config", cfg});
  ::unsetenv("NODE_INTERFACE");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("listener syslog: 0.0.0.0:5514, tc_ebpf, replicate, 0 static downstream(s), "
                     "EndpointSlices of logging/vector-aggregators"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("listener netflow: 0.0.0.0:2055, userspace, balance (flow_hash), 1 static "
                     "downstream(s), EndpointSlices of netflow/flow-collectors"),
            std::string::npos)
      << out;
  // Without the variable the config says which one is missing.
  std::tie(rc, out) = run_cli(dir, {"validate", "--config", cfg});
  EXPECT_EQ(rc, 2);
  EXPECT_NE(out.find("NODE_INTERFACE"), std::string::npos) << out;
}

}  // namespace
