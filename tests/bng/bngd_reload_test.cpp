// What a SIGHUP may change live (pool options, log) and what needs a restart, on real
// bng.toml texts parsed the way the daemon parses them.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "config.hpp"
#include "reload.hpp"

namespace bngkit::bngd {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::string bng_toml(const std::string& pool_extra = "", const std::string& tail = "") {
  return R"([interfaces]
subscriber = "eth1"

[dhcp]
pool_id = "residential-ipv4"
lease_time = 3600

[[pools]]
id = "residential-ipv4"
network = "10.0.1.0/24"
gateway = "10.0.1.1"
dns = ["10.0.1.1"]
range = "10.0.1.100-10.0.1.199"
)" + pool_extra + "\n[api]\nport = 8080\n" + tail;
}

Config parse(const std::string& text) {
  auto c = parse_config(text, "bng.toml");
  EXPECT_TRUE(c) << c.error().message();
  return c ? *c : Config{};
}

TEST(BngReload, PoolOptionsAndLogChangeLive) {
  const Config running = parse(bng_toml());
  EXPECT_THAT(restart_needed(running, running), IsEmpty());
  const Config next = parse(bng_toml("lease_time = 7200\nrenewal_time = 1000\n", "[log]\nlevel = \"debug\"\n"));
  ASSERT_NE(next.pools.front().lease_time, running.pools.front().lease_time);
  EXPECT_THAT(restart_needed(running, next), IsEmpty());
  Config other_dns = running;
  other_dns.pools.front().dns = {bng::dhcp::Ipv4(192, 0, 2, 53)};
  EXPECT_THAT(restart_needed(running, other_dns), IsEmpty());
}

TEST(BngReload, EverythingElseNeedsARestart) {
  const Config running = parse(bng_toml());
  Config next = running;
  next.api.port = 8081;
  next.interfaces.subscriber = "eth2";
  EXPECT_THAT(restart_needed(running, next), ElementsAre("interfaces", "api"));

  next = running;
  next.pools.front().range = bng::pool::Ipv4Range::parse("10.0.1.100-10.0.1.150").value();
  EXPECT_THAT(restart_needed(running, next),
              ElementsAre("pools.residential-ipv4 (id, network, range, gateway, exclusions or reservations)"));

  next = running;
  next.pools.push_back(next.pools.front());
  next.pools.back().id = "business-ipv4";
  EXPECT_THAT(restart_needed(running, next), ElementsAre("pools (added or removed)"));

  next = running;
  next.storage.lease_db = "/elsewhere/leases.db";
  next.fastpath.mode = "native";
  EXPECT_THAT(restart_needed(running, next), ElementsAre("fastpath", "storage"));
}

constexpr const char* kRadius = R"(
[radius]
interim_interval = "5m"
[[radius.servers]]
host = "127.0.0.1"
secret = "testing123"
[[radius.rate_profiles]]
filter_id = "gold"
up_bps = 100000000
down_bps = 200000000
[[radius.dae.clients]]
address = "127.0.0.1"
secret = "testing123"
)";

TEST(BngReload, RadiusSessionOptionsChangeLiveTransportNeedsARestart) {
  const Config running = parse(bng_toml("", kRadius));
  ASSERT_TRUE(running.radius);
  EXPECT_EQ(running.radius->nas_identifier, "bng") << "defaults to olt.id";
  Config next = running;
  next.radius->interim_interval = std::chrono::seconds(600);
  next.radius->rate_profiles.front().rate.down_bps = 1;
  next.radius->username = "circuit-id";
  EXPECT_THAT(restart_needed(running, next), IsEmpty());
  next.radius->servers.front().secret = "other";
  EXPECT_THAT(restart_needed(running, next),
              ElementsAre("radius (servers, timeouts, authorize, accounting, NAS identity, dae)"));
}

TEST(BngConfig, RadiusMistakesAreNamedByKey) {
  auto bad = parse_config(bng_toml("", R"(
[radius]
username = "imsi"
interim_interval = "10s"
[[radius.servers]]
host = "127.0.0.1"
)"),
                          "bng.toml");
  ASSERT_FALSE(bad);
  const auto message = bad.error().message();
  EXPECT_NE(message.find("radius.username"), std::string::npos) << message;
  EXPECT_NE(message.find("radius.interim_interval"), std::string::npos) << message;
  EXPECT_NE(message.find("radius.servers[0].secret"), std::string::npos) << message;
  EXPECT_NE(message.find("radius.dae.clients"), std::string::npos) << message;
}

}  // namespace
}  // namespace bngkit::bngd
