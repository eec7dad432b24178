// fanout.toml parsing: the runbook keys, defaults, and errors that name their key.
#include "config.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstdlib>

namespace bngkit::fanoutd {
namespace {

// shared/CONFIG.md's example, line for line.
constexpr const char* kRunbookExample = R"(
[[listeners]]
name = "syslog"
bind = "0.0.0.0:5514"
interface = "eth0"
mode = "tc_ebpf"            # or "userspace"
# policy = "replicate" | "balance"
[listeners.kubernetes]
namespace = "logging"
service = "vector-aggregators"
port = 5514
[[listeners.downstream]]    # static downstreams, instead of or beside kubernetes
name = "receiver-1"
address = "10.0.1.10:9000"
[listeners.settings]        # userspace mode
batch_size = 64
workers = 4
pin_cpus = true
recv_buf_size = 16777216

[health]
enabled = true
interval_secs = 5
timeout_secs = 2
protocol = "icmp"           # or "udp_echo"

[metrics]
enabled = true
bind = "0.0.0.0:9090"
path = "/metrics"
)";

std::string errors_of(std::string_view text) {
  auto r = parse_config(text);
  EXPECT_FALSE(r.ok());
  return r.ok() ? "" : r.error().message();
}

TEST(FanoutConfig, ReadsTheRunbookExample) {
  auto c = parse_config(kRunbookExample);
  ASSERT_TRUE(c.ok()) << c.error().message();
  ASSERT_EQ(c->fanout.listeners.size(), 1u);
  const auto& l = c->fanout.listeners[0];
  EXPECT_EQ(l.name, "syslog");
  EXPECT_EQ(l.bind.to_string(), "0.0.0.0:5514");
  EXPECT_EQ(l.interface, "eth0");
  EXPECT_EQ(l.mode, fanout::Mode::tc_ebpf);
  EXPECT_EQ(l.policy, fanout::Policy::replicate);  // the default
  ASSERT_TRUE(l.kubernetes.has_value());
  EXPECT_EQ(l.kubernetes->namespace_name, "logging");
  EXPECT_EQ(l.kubernetes->service, "vector-aggregators");
  EXPECT_EQ(l.kubernetes->port, 5514);
  ASSERT_EQ(l.downstreams.size(), 1u);
  EXPECT_EQ(l.downstreams[0].name, "receiver-1");
  EXPECT_EQ(l.downstreams[0].address.to_string(), "10.0.1.10:9000");
  EXPECT_EQ(l.settings.batch_size, 64u);
  EXPECT_EQ(l.settings.workers, 4u);
  EXPECT_TRUE(l.settings.pin_cpus);
  EXPECT_EQ(l.settings.recv_buf_size, 16777216u);
  const auto& h = c->fanout.health;
  EXPECT_TRUE(h.enabled);
  EXPECT_EQ(h.interval, std::chrono::seconds(5));
  EXPECT_EQ(h.timeout, std::chrono::seconds(2));
  EXPECT_EQ(h.protocol, fanout::ProbeProtocol::icmp);
  EXPECT_EQ(h.failure_threshold, 3u);
  EXPECT_TRUE(c->metrics.enabled);
  EXPECT_EQ(c->metrics.bind_address, "0.0.0.0");
  EXPECT_EQ(c->metrics.port, 9090);
  EXPECT_EQ(c->metrics.path, "/metrics");
}

TEST(FanoutConfig, SeveralListenersWithTheirOwnPolicies) {
  auto c = parse_config(R"(
[[listeners]]
name = "netflow"
bind = "10.0.0.1:2055"
policy = "replicate"
[[listeners.downstream]]
address = "10.0.1.10:2055"
[[listeners.downstream]]
address = "10.0.1.11:2055"

[[listeners]]
name = "syslog"
bind = "0.0.0.0:514"
policy = "balance"
balance = "flow_hash"
preserve_source = false
[[listeners.downstream]]
name = "collector-a"
address = "10.0.2.10:514"
[listeners.settings]
gso = false
max_datagram_size = 65535
send_buf_size = 1048576

[health]
protocol = "udp_echo"
interval_secs = "500ms"
timeout_secs = "200ms"
failure_threshold = 2
recovery_threshold = 2
port = 7

[tc]
pin_path = "/sys/fs/bpf/fanout-test"
keep_attached = true

[log]
format = "json"
level = "debug"
)");
  ASSERT_TRUE(c.ok()) << c.error().message();
  ASSERT_EQ(c->fanout.listeners.size(), 2u);
  const auto& nf = c->fanout.listeners[0];
  EXPECT_EQ(nf.mode, fanout::Mode::userspace);
  EXPECT_EQ(nf.downstreams.size(), 2u);
  EXPECT_EQ(nf.downstreams[0].name, "10.0.1.10:2055");  // name defaults to the address
  EXPECT_TRUE(nf.preserve_source);
  const auto& sl = c->fanout.listeners[1];
  EXPECT_EQ(sl.policy, fanout::Policy::balance);
  EXPECT_EQ(sl.balance, fanout::BalanceMethod::flow_hash);
  EXPECT_FALSE(sl.preserve_source);
  EXPECT_FALSE(sl.settings.gso);
  EXPECT_EQ(sl.settings.max_datagram_size, 65535u);
  EXPECT_EQ(sl.settings.send_buf_size, 1048576u);
  EXPECT_EQ(c->fanout.health.protocol, fanout::ProbeProtocol::udp_echo);
  EXPECT_EQ(c->fanout.health.interval, std::chrono::milliseconds(500));
  EXPECT_EQ(c->fanout.health.timeout, std::chrono::milliseconds(200));
  EXPECT_EQ(c->fanout.health.failure_threshold, 2u);
  EXPECT_EQ(c->fanout.health.recovery_threshold, 2u);
  EXPECT_EQ(c->fanout.health.udp_port, 7);
  EXPECT_EQ(c->fanout.tc.pin_path, "/sys/fs/bpf/fanout-test");
  EXPECT_TRUE(c->fanout.tc.keep_attached);
  EXPECT_EQ(c->log.format, "json");
  EXPECT_EQ(c->log.level, "debug");
}

TEST(FanoutConfig, ExpandsEnvironmentVariables) {
  ::setenv("FANOUT_TEST_COLLECTOR", "10.9.9.9:6343", 1);
  auto c = parse_config(R"(
[[listeners]]
name = "sflow"
bind = "0.0.0.0:6343"
[[listeners.downstream]]
address = "${FANOUT_TEST_COLLECTOR}"
)");
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->fanout.listeners[0].downstreams[0].address.to_string(), "10.9.9.9:6343");
}

TEST(FanoutConfig, ErrorsNameTheirKeys) {
  const auto e = errors_of(R"(
[[listeners]]
name = "a"
bind = "0.0.0.0"
mode = "xdp"
policy = "broadcast"
colour = "blue"
[[listeners.downstream]]
address = "10.0.0.300:1"
[listeners.settings]
batch_size = 0
[health]
protocol = "tcp"
[metrics]
path = "metrics"
)");
  EXPECT_NE(e.find("listeners[0].bind"), std::string::npos) << e;
  EXPECT_NE(e.find("listeners[0].mode: \"xdp\" is not one of"), std::string::npos) << e;
  EXPECT_NE(e.find("listeners[0].policy"), std::string::npos) << e;
  EXPECT_NE(e.find("colour"), std::string::npos) << e;
  EXPECT_NE(e.find("listeners[0].downstream[0].address"), std::string::npos) << e;
  EXPECT_NE(e.find("listeners[0].settings.batch_size"), std::string::npos) << e;
  EXPECT_NE(e.find("health.protocol"), std::string::npos) << e;
  EXPECT_NE(e.find("metrics.path: must start with /"), std::string::npos) << e;
}

TEST(FanoutConfig, CrossChecks) {
  auto e = errors_of(R"(
[[listeners]]
name = "a"
bind = "0.0.0.0:5514"
mode = "tc_ebpf"
[[listeners.downstream]]
address = "10.0.0.1:1"
[[listeners]]
name = "a"
bind = "0.0.0.0:5514"
)");
  EXPECT_NE(e.find("name used twice"), std::string::npos) << e;
  EXPECT_NE(e.find("used by another listener"), std::string::npos) << e;
  EXPECT_NE(e.find("tc_ebpf needs an interface"), std::string::npos) << e;
  EXPECT_NE(e.find("needs [[listeners.downstream]] entries or [listeners.kubernetes]"),
            std::string::npos)
      << e;

  e = errors_of(R"(
[[listeners]]
name = "a"
bind = "0.0.0.0:5514"
[[listeners.downstream]]
address = "10.0.0.1:1"
[health]
interval_secs = 1
timeout_secs = 3
)");
  EXPECT_NE(e.find("health.timeout must not exceed health.interval"), std::string::npos) << e;

  e = errors_of(R"(
[[listeners]]
name = "a"
bind = "10.0.0.1:5514"
[[listeners.downstream]]
address = "10.0.0.1:5514"
)");
  EXPECT_NE(e.find("downstream 10.0.0.1:5514 is the listener itself"), std::string::npos) << e;

  EXPECT_NE(errors_of("").find("listeners: needs at least one [[listeners]]"), std::string::npos);
  EXPECT_NE(errors_of("[[listeners]\n").find("fanout.toml:1"), std::string::npos);
}

TEST(FanoutConfig, KubernetesNeedsServiceAndPort) {
  const auto e = errors_of(R"(
[[listeners]]
name = "a"
bind = "0.0.0.0:5514"
[listeners.kubernetes]
namespace = "logging"
)");
  EXPECT_NE(e.find("listeners[0].kubernetes.service"), std::string::npos) << e;
  EXPECT_NE(e.find("listeners[0].kubernetes.port"), std::string::npos) << e;
}

TEST(FanoutConfig, KubernetesApiDefaultsAreInClusterAndCanBeSet) {
  auto c = parse_config(kRunbookExample);
  ASSERT_TRUE(c.ok());
  const auto& k = c->fanout.kubernetes;
  EXPECT_TRUE(k.api_server.empty());
  EXPECT_EQ(k.token_file, "/var/run/secrets/kubernetes.io/serviceaccount/token");
  EXPECT_EQ(k.ca_file, "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt");
  EXPECT_EQ(k.namespace_file, "/var/run/secrets/kubernetes.io/serviceaccount/namespace");

  c = parse_config(std::string(kRunbookExample) + R"(
[kubernetes]
api_server = "https://10.96.0.1:443"
token_file = "/etc/fanout/token"
ca_file = "/etc/fanout/ca.crt"
namespace_file = "/etc/fanout/namespace"
request_timeout = "3s"
watch_timeout = "2m"
)");
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->fanout.kubernetes.api_server, "https://10.96.0.1:443");
  EXPECT_EQ(c->fanout.kubernetes.token_file, "/etc/fanout/token");
  EXPECT_EQ(c->fanout.kubernetes.request_timeout, std::chrono::seconds(3));
  EXPECT_EQ(c->fanout.kubernetes.watch_timeout, std::chrono::seconds(120));

  const auto e = errors_of(std::string(kRunbookExample) + R"(
[kubernetes]
api_server = "http://10.96.0.1"
tokenfile = "x"
)");
  EXPECT_NE(e.find("kubernetes.api_server: must be an https:// URL"), std::string::npos) << e;
  EXPECT_NE(e.find("tokenfile"), std::string::npos) << e;
}

TEST(FanoutConfig, MissingFileSaysSo) {
  auto r = load_config("/nonexistent/fanout.toml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("cannot read config /nonexistent/fanout.toml"),
            std::string::npos);
}

}  // namespace
}  // namespace bngkit::fanoutd
