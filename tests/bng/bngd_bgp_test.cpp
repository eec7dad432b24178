// The bng daemon's [bgp] section: parsing and every validation error by key, what a
// SIGHUP may change live, and the prefixes the daemon asks FRR to announce.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "bgp.hpp"
#include "config.hpp"
#include "reload.hpp"

namespace bngkit::bngd {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::string bng_toml(const std::string& bgp) {
  return R"([interfaces]
subscriber = "eth1"

[[pools]]
id = "residential-ipv4"
network = "10.0.1.0/24"
gateway = "10.0.1.1"
range = "10.0.1.100-10.0.1.199"

[[pools]]
id = "business-ipv4"
network = "100.64.8.0/22"
gateway = "100.64.8.1"

)" + bgp;
}

const std::string kBgp = R"([bgp]
enabled = true
local_as = 65001
router_id = "10.1.1.10"
vty_socket = "/run/frr-bng"
announce_host_routes = true
reconcile_interval = "5s"
command_timeout = "2s"
[[bgp.neighbors]]
address = "10.1.1.1"
remote_as = 65000
[[bgp.neighbors]]
address = "10.1.1.2"
remote_as = 65000
)";

Config parse(const std::string& text) {
  auto c = parse_config(text, "bng.toml");
  EXPECT_TRUE(c) << c.error().message();
  return c ? *c : Config{};
}

std::string problems(const std::string& text) {
  auto c = parse_config(text, "bng.toml");
  EXPECT_FALSE(c);
  return c ? "" : c.error().message();
}

bng::bgp::Prefix prefix(std::string_view text) { return bng::bgp::Prefix::parse(text).value_or(bng::bgp::Prefix{}); }

TEST(BngBgpConfig, ReadsEveryKey) {
  const auto c = parse(bng_toml(kBgp));
  EXPECT_TRUE(c.bgp.enabled);
  EXPECT_EQ(c.bgp.local_as, 65001u);
  EXPECT_EQ(c.bgp.router_id, "10.1.1.10");
  EXPECT_THAT(c.bgp.neighbors, ElementsAre(BgpNeighbor{"10.1.1.1", 65000}, BgpNeighbor{"10.1.1.2", 65000}));
  EXPECT_EQ(c.bgp.vty_socket, "/run/frr-bng");
  EXPECT_EQ(c.bgp.vtysh, "vtysh");
  EXPECT_TRUE(c.bgp.announce_host_routes);
  EXPECT_EQ(c.bgp.reconcile_interval, std::chrono::seconds(5));
  EXPECT_EQ(c.bgp.command_timeout, std::chrono::seconds(2));
  const auto o = announcer_options(c.bgp);
  EXPECT_EQ(o.speaker.local_as, 65001u);
  EXPECT_EQ(o.vty_socket_dir, "/run/frr-bng");
  EXPECT_EQ(o.speaker.neighbors.size(), 2u);
}

TEST(BngBgpConfig, DisabledNeedsNothing) {
  const auto c = parse(bng_toml("[bgp]\nenabled = false\n"));
  EXPECT_FALSE(c.bgp.enabled);
  EXPECT_FALSE(parse(bng_toml("")).bgp.enabled);
}

TEST(BngBgpConfig, NamesEveryProblemByKey) {
  const auto m = problems(bng_toml(R"([bgp]
enabled = true
local_as = 0
router_id = "10.1.1"
vty_sockets = "/run/frr"
reconcile_interval = "500ms"
command_timeout = "0s"
vtysh = ""
[[bgp.neighbors]]
address = "10.1.1.1"
remote_as = 65000
[[bgp.neighbors]]
address = "10.1.1.1"
remote_as = 65000
[[bgp.neighbors]]
address = "frr-upstream"
)"));
  EXPECT_THAT(m, HasSubstr("bgp.local_as"));
  EXPECT_THAT(m, HasSubstr("bgp.router_id: \"10.1.1\" is not an IPv4 address"));
  EXPECT_THAT(m, HasSubstr("bgp.vty_sockets"));
  EXPECT_THAT(m, HasSubstr("bgp.reconcile_interval: must be at least 1s"));
  EXPECT_THAT(m, HasSubstr("bgp.command_timeout: must be between 100ms and 1m"));
  EXPECT_THAT(m, HasSubstr("bgp.vtysh: must name the vtysh binary"));
  EXPECT_THAT(m, HasSubstr("10.1.1.1 is already a neighbor"));
  EXPECT_THAT(m, HasSubstr("\"frr-upstream\" is not an IPv4 address"));
  EXPECT_THAT(m, HasSubstr("remote_as"));
}

TEST(BngBgpConfig, EnabledWithoutNeighboursOrRouterIdIsAnError) {
  const auto m = problems(bng_toml("[bgp]\nenabled = true\nlocal_as = 65001\n"));
  EXPECT_THAT(m, HasSubstr("bgp.router_id"));
  EXPECT_THAT(m, HasSubstr("bgp.neighbors: needs at least one [[bgp.neighbors]]"));
}

TEST(BngBgpReload, SpeakerAndHostRoutesAreLiveTheWayToFrrIsNot) {
  const Config running = parse(bng_toml(kBgp));
  Config next = running;
  next.bgp.neighbors.push_back({"10.1.1.3", 65002});
  next.bgp.local_as = 65009;
  next.bgp.router_id = "10.1.1.11";
  next.bgp.announce_host_routes = false;
  EXPECT_THAT(restart_needed(running, next), IsEmpty());
  next = running;
  next.bgp.vty_socket = "/run/frr-other";
  EXPECT_THAT(restart_needed(running, next),
              ElementsAre("bgp (enabled, vtysh, vty_socket, reconcile_interval, command_timeout)"));
  next = running;
  next.bgp.enabled = false;
  EXPECT_THAT(restart_needed(running, next),
              ElementsAre("bgp (enabled, vtysh, vty_socket, reconcile_interval, command_timeout)"));
}

bng::lease::Lease lease(const char* ip, bng::lease::LeaseState state) {
  bng::lease::Lease l;
  l.address = bng::dhcp::Ipv4::parse(ip).value();
  l.pool_id = "residential-ipv4";
  l.state = state;
  return l;
}

TEST(BngBgpPrefixes, PoolAggregatesAndBoundHostRoutes) {
  Config c = parse(bng_toml(kBgp));
  const std::vector<bng::lease::Lease> leases{lease("10.0.1.150", bng::lease::LeaseState::bound),
                                              lease("10.0.1.151", bng::lease::LeaseState::offered),
                                              lease("10.0.1.120", bng::lease::LeaseState::bound),
                                              lease("10.0.1.152", bng::lease::LeaseState::released)};
  EXPECT_THAT(desired_prefixes(c, leases), ElementsAre(prefix("10.0.1.0/24"), prefix("10.0.1.120/32"),
                                                       prefix("10.0.1.150/32"), prefix("100.64.8.0/22")));
  c.bgp.announce_host_routes = false;
  EXPECT_THAT(desired_prefixes(c, leases), ElementsAre(prefix("10.0.1.0/24"), prefix("100.64.8.0/22")));
}

}  // namespace
}  // namespace bngkit::bngd
