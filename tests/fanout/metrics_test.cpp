// The daemon's metrics follow the fanout's state: counters advance by what the engines
// counted, gauges mirror the downstream sets, and downstreams that leave disappear.
#include <bngkit/ops/metrics.hpp>

#include "metrics.hpp"

#include <gtest/gtest.h>

namespace bngkit::fanoutd {
namespace {

using fanout::DropReason;
using fanout::Health;

fanout::ListenerStatus listener(std::uint64_t rx, std::uint64_t fwd) {
  fanout::ListenerStatus l;
  l.name = "syslog";
  l.configured_mode = fanout::Mode::tc_ebpf;
  l.mode = fanout::Mode::userspace;
  l.policy = fanout::Policy::replicate;
  l.running = true;
  l.stats.received_packets = rx;
  l.stats.received_bytes = rx * 100;
  l.stats.forwarded_packets = fwd;
  l.stats.forwarded_bytes = fwd * 100;
  l.stats.drops(DropReason::no_downstream) = 3;
  l.stats.slow_path_packets = 2;
  fanout::DownstreamStatus a{"a", fanout::Endpoint::parse("10.0.0.1:514").value(), "static",
                             Health::healthy, true};
  fanout::DownstreamStatus b{"b", fanout::Endpoint::parse("10.0.0.2:514").value(), "kubernetes",
                             Health::unhealthy, false};
  l.downstreams = {a, b};
  l.active_downstreams = 1;
  fanout::EndpointSliceWatcher::Status discovery;
  discovery.synced = true;
  discovery.lists = 2;
  l.discovery = discovery;
  return l;
}

bool has_line(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

TEST(FanoutMetrics, FollowTheFanoutState) {
  prometheus::Registry registry;
  FanoutMetrics metrics(registry);
  metrics.update({listener(10, 20)});
  auto text = ops::render_prometheus(registry);
  EXPECT_TRUE(has_line(text, "udp_fanout_packets_received_total{listener=\"syslog\"} 10")) << text;
  EXPECT_TRUE(has_line(text, "udp_fanout_packets_forwarded_total{listener=\"syslog\"} 20")) << text;
  EXPECT_TRUE(has_line(text, "udp_fanout_bytes_received_total{listener=\"syslog\"} 1000")) << text;
  EXPECT_TRUE(has_line(text, "udp_fanout_bytes_forwarded_total{listener=\"syslog\"} 2000")) << text;
  EXPECT_TRUE(has_line(
      text, "udp_fanout_packets_dropped_total{listener=\"syslog\",reason=\"no_downstream\"} 3"))
      << text;
  EXPECT_TRUE(has_line(
      text, "udp_fanout_packets_dropped_total{listener=\"syslog\",reason=\"send_error\"} 0"))
      << text;
  EXPECT_TRUE(has_line(text, "udp_fanout_downstream_active{listener=\"syslog\"} 1")) << text;
  EXPECT_TRUE(has_line(text, "udp_fanout_packets_slow_path_total{listener=\"syslog\"} 2")) << text;
  EXPECT_TRUE(has_line(text,
                       "udp_fanout_downstream_health{address=\"10.0.0.1:514\",downstream=\"a\","
                       "listener=\"syslog\",source=\"static\"} 1"))
      << text;
  EXPECT_TRUE(has_line(text,
                       "udp_fanout_downstream_health{address=\"10.0.0.2:514\",downstream=\"b\","
                       "listener=\"syslog\",source=\"kubernetes\"} 0"))
      << text;
  EXPECT_TRUE(has_line(text,
                       "udp_fanout_listener_info{configured_mode=\"tc_ebpf\",listener=\"syslog\","
                       "mode=\"userspace\",policy=\"replicate\"} 1"))
      << text;
  EXPECT_TRUE(has_line(text, "udp_fanout_listener_up{listener=\"syslog\"} 1")) << text;
  EXPECT_TRUE(has_line(text, "udp_fanout_discovery_synced{listener=\"syslog\"} 1")) << text;
  EXPECT_TRUE(has_line(text, "udp_fanout_discovery_lists_total{listener=\"syslog\"} 2")) << text;

  // The engine counted more; b left the set.
  auto later = listener(15, 30);
  later.downstreams.pop_back();
  later.running = false;
  metrics.update({later});
  text = ops::render_prometheus(registry);
  EXPECT_TRUE(has_line(text, "udp_fanout_packets_received_total{listener=\"syslog\"} 15")) << text;
  EXPECT_TRUE(has_line(text, "udp_fanout_packets_forwarded_total{listener=\"syslog\"} 30")) << text;
  EXPECT_EQ(text.find("downstream=\"b\""), std::string::npos) << text;
  EXPECT_TRUE(has_line(text, "udp_fanout_listener_up{listener=\"syslog\"} 0")) << text;
}

}  // namespace
}  // namespace bngkit::fanoutd
