// Pool configuration: parsing of ranges, networks and subscriber keys, and every
// validation error, asserted by the exact sentence an operator reads.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <bngkit/bng/pool/pool_config.hpp>

namespace bngkit::bng::pool {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

Ipv4 ip(std::string_view text) { return Ipv4::parse(text).value(); }

SubscriberKey mac(std::uint8_t last) {
  return SubscriberKey::mac(MacAddress({0x02, 0x00, 0x5e, 0x00, 0x00, last}));
}

PoolConfig residential() {
  PoolConfig p;
  p.id = "residential-ipv4";
  p.network = *Ipv4Network::parse("10.0.1.0/24");
  p.gateway = ip("10.0.1.1");
  p.dns = {ip("10.0.1.1")};
  return p;
}

std::vector<std::string> messages(const std::vector<Error>& errors) {
  std::vector<std::string> out;
  for (const auto& e : errors) {
    EXPECT_EQ(e.code, std::errc::invalid_argument) << e.message();
    out.push_back(e.context);
  }
  return out;
}

std::vector<std::string> problems(const PoolConfig& p) { return messages(pool_problems(p)); }

std::vector<std::string> problems(const std::vector<PoolConfig>& pools) {
  return messages(pool_problems(std::span<const PoolConfig>(pools)));
}

TEST(Ipv4Network, ParsesCidrAndComputesEdges) {
  auto n = Ipv4Network::parse("10.0.1.0/24");
  ASSERT_TRUE(n);
  EXPECT_EQ(n->network(), ip("10.0.1.0"));
  EXPECT_EQ(n->broadcast(), ip("10.0.1.255"));
  EXPECT_EQ(n->netmask(), 0xffffff00u);
  EXPECT_TRUE(n->contains(ip("10.0.1.77")));
  EXPECT_FALSE(n->contains(ip("10.0.2.1")));
  EXPECT_FALSE(n->has_host_bits());
  EXPECT_EQ(n->to_string(), "10.0.1.0/24");
  EXPECT_TRUE(Ipv4Network::parse("10.0.1.5/24")->has_host_bits());
  EXPECT_EQ(Ipv4Network::parse("0.0.0.0/0")->broadcast(), ip("255.255.255.255"));
  for (auto bad :
       {"10.0.1.0", "10.0.1.0/33", "10.0.1.0/", "10.0.1.0/024", "10.0.1/24", "10.0.1.0/2x"}) {
    EXPECT_FALSE(Ipv4Network::parse(bad)) << bad;
  }
}

TEST(Ipv4Range, ParsesSingleAddressesAndRanges) {
  EXPECT_EQ(Ipv4Range::parse("10.0.1.5"), (Ipv4Range{ip("10.0.1.5"), ip("10.0.1.5")}));
  auto r = Ipv4Range::parse("10.0.1.10-10.0.1.20");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->size(), 11u);
  EXPECT_EQ(r->to_string(), "10.0.1.10-10.0.1.20");
  EXPECT_TRUE(r->contains(ip("10.0.1.20")));
  EXPECT_FALSE(r->contains(ip("10.0.1.21")));
  EXPECT_FALSE(Ipv4Range::parse("10.0.1.20-10.0.1.10"));  // reversed
  EXPECT_FALSE(Ipv4Range::parse("10.0.1.10-"));
}

TEST(SubscriberKey, TextFormRoundTrips) {
  const std::array<std::uint8_t, 7> cid = {0x01, 0x02, 0x00, 0x5e, 0x00, 0x00, 0x01};
  const std::vector<std::pair<SubscriberKey, std::string>> cases = {
      {mac(0x01), "mac:02:00:5e:00:00:01"},
      {SubscriberKey::client_id(cid), "client-id:0102005e000001"},
      {SubscriberKey::circuit_id("olt-east-01 pon 1/1/3"), "circuit-id:olt-east-01 pon 1/1/3"},
      {SubscriberKey::circuit_id(std::string("\x00\x04\x00\x01", 4)), "circuit-id:0x00040001"},
      {SubscriberKey::remote_id("0xabc"), "remote-id:0x3078616263"},  // would read as hex
  };
  for (const auto& [key, text] : cases) {
    EXPECT_TRUE(key.valid()) << text;
    EXPECT_EQ(key.to_string(), text);
    auto back = SubscriberKey::parse(text);
    ASSERT_TRUE(back) << text;
    EXPECT_EQ(*back, key) << text;
  }
  EXPECT_EQ(SubscriberKey::parse("mac:02-00-5E-00-00-01"), mac(0x01));
  for (auto bad : {"mac:02:00:5e:00:00", "client-id:0g", "client-id:", "imsi:1234", "nocolon",
                   "circuit-id:"}) {
    EXPECT_FALSE(SubscriberKey::parse(bad)) << bad;
  }
  EXPECT_FALSE(SubscriberKey(SubscriberKeyKind::mac, "abc").valid());
}

TEST(SubscriberKey, StableHashDoesNotDependOnTheRun) {
  // The hash picks a subscriber's preferred address: it must not change between builds.
  EXPECT_EQ(mac(0x01).stable_hash(), mac(0x01).stable_hash());
  EXPECT_NE(mac(0x01).stable_hash(), mac(0x02).stable_hash());
  EXPECT_NE(SubscriberKey::circuit_id("a").stable_hash(),
            SubscriberKey::remote_id("a").stable_hash());
  EXPECT_EQ(SubscriberKey::circuit_id("olt1").stable_hash(), 0x81592a350f3dbf2aull);
}

TEST(PoolConfig, ValidPoolHasNoProblems) {
  auto p = residential();
  p.range = Ipv4Range::parse("10.0.1.10-10.0.1.200");
  p.exclusions = {*Ipv4Range::parse("10.0.1.50"), *Ipv4Range::parse("10.0.1.60-10.0.1.69")};
  p.reservations = {{mac(1), ip("10.0.1.20")}};
  EXPECT_THAT(problems(p), IsEmpty());
  EXPECT_TRUE(validate_pools(std::vector{p}));
}

TEST(PoolConfig, DefaultsT1AndT2FromTheLeaseTime) {
  auto p = residential();
  p.lease_time = std::chrono::seconds(3600);
  EXPECT_EQ(p.effective_renewal_time().count(), 1800);
  EXPECT_EQ(p.effective_rebinding_time().count(), 3150);
  p.renewal_time = std::chrono::seconds(600);
  p.rebinding_time = std::chrono::seconds(900);
  EXPECT_EQ(p.effective_renewal_time().count(), 600);
  EXPECT_EQ(p.effective_rebinding_time().count(), 900);
}

TEST(PoolConfig, GatewayOutsideTheNetwork) {
  auto p = residential();
  p.gateway = ip("10.0.2.1");
  EXPECT_THAT(problems(p),
              ElementsAre("pool residential-ipv4: gateway 10.0.2.1 is outside 10.0.1.0/24"));
}

TEST(PoolConfig, GatewayOnNetworkOrBroadcastAddress) {
  auto p = residential();
  p.gateway = ip("10.0.1.0");
  EXPECT_THAT(problems(p), ElementsAre("pool residential-ipv4: gateway 10.0.1.0 is the network "
                                       "address of 10.0.1.0/24"));
  p.gateway = ip("10.0.1.255");
  EXPECT_THAT(problems(p), ElementsAre("pool residential-ipv4: gateway 10.0.1.255 is the "
                                       "broadcast address of 10.0.1.0/24"));
}

TEST(PoolConfig, NetworkShape) {
  auto p = residential();
  p.network = *Ipv4Network::parse("10.0.1.5/24");
  EXPECT_THAT(problems(p), ElementsAre("pool residential-ipv4: network 10.0.1.5/24 has host bits "
                                       "set (did you mean 10.0.1.0/24?)"));
  p.network = *Ipv4Network::parse("10.0.0.0/7");
  p.gateway.reset();
  EXPECT_THAT(problems(p), ElementsAre("pool residential-ipv4: network 10.0.0.0/7 is too large "
                                       "(at most /8)"));
  p.network = *Ipv4Network::parse("10.0.1.0/31");
  EXPECT_THAT(problems(p), ElementsAre("pool residential-ipv4: network 10.0.1.0/31 has no "
                                       "assignable addresses (at most /30)"));
}

TEST(PoolConfig, Ids) {
  auto p = residential();
  p.id = "";
  EXPECT_THAT(problems(p), ElementsAre("pool #1: id is empty"));
  p.id = "residential ipv4";
  EXPECT_THAT(problems(p), ElementsAre("pool residential ipv4: id may only contain letters, "
                                       "digits, '.', '-' and '_'"));
}

TEST(PoolConfig, Range) {
  auto p = residential();
  p.range = Ipv4Range{ip("10.0.2.10"), ip("10.0.2.20")};
  EXPECT_THAT(problems(p), ElementsAre("pool residential-ipv4: range 10.0.2.10-10.0.2.20 is "
                                       "outside 10.0.1.0/24"));
  p.range = Ipv4Range{ip("10.0.1.20"), ip("10.0.1.10")};
  EXPECT_THAT(problems(p), ElementsAre("pool residential-ipv4: range 10.0.1.20-10.0.1.10 ends "
                                       "before it starts"));
}

TEST(PoolConfig, NothingLeftToAssign) {
  auto p = residential();
  p.range = Ipv4Range{ip("10.0.1.1"), ip("10.0.1.3")};
  p.exclusions = {Ipv4Range{ip("10.0.1.2"), ip("10.0.1.3")}};
  EXPECT_THAT(problems(p), ElementsAre("pool residential-ipv4: range 10.0.1.1-10.0.1.3 has no "
                                       "assignable address once the network, broadcast, gateway "
                                       "and exclusions are taken out"));
  // A /30 with its gateway still has one address.
  p = residential();
  p.network = *Ipv4Network::parse("10.0.1.0/30");
  EXPECT_THAT(problems(p), IsEmpty());
}

TEST(PoolConfig, Times) {
  auto p = residential();
  p.lease_time = std::chrono::seconds(0);
  EXPECT_THAT(problems(p),
              ElementsAre("pool residential-ipv4: lease_time must be positive (got 0s)"));
  p = residential();
  p.lease_time = std::chrono::seconds(3600);
  p.renewal_time = std::chrono::seconds(2000);
  p.rebinding_time = std::chrono::seconds(1500);
  EXPECT_THAT(problems(p), ElementsAre("pool residential-ipv4: renewal_time (2000s) must be less "
                                       "than rebinding_time (1500s)"));
  p.renewal_time = std::chrono::seconds(1800);
  p.rebinding_time = std::chrono::seconds(4000);
  EXPECT_THAT(problems(p), ElementsAre("pool residential-ipv4: rebinding_time (4000s) must be "
                                       "less than lease_time (3600s)"));
  p = residential();
  p.lease_time = std::chrono::seconds(5'000'000'000);
  EXPECT_THAT(problems(p), ElementsAre("pool residential-ipv4: lease_time 5000000000s does not "
                                       "fit DHCP's 32-bit lease time"));
  p = residential();
  p.probation_time = std::chrono::seconds(-1);
  EXPECT_THAT(problems(p),
              ElementsAre("pool residential-ipv4: probation_time must not be negative"));
}

TEST(PoolConfig, DnsServers) {
  auto p = residential();
  p.dns = {ip("10.0.1.1"), ip("0.0.0.0")};
  EXPECT_THAT(problems(p),
              ElementsAre("pool residential-ipv4: dns server 0.0.0.0 is not a usable address"));
}

TEST(PoolConfig, Exclusions) {
  auto p = residential();
  p.exclusions = {*Ipv4Range::parse("10.0.2.5"), Ipv4Range{ip("10.0.1.9"), ip("10.0.1.5")}};
  EXPECT_THAT(problems(p),
              ElementsAre("pool residential-ipv4: exclusion 10.0.2.5 is outside 10.0.1.0/24",
                          "pool residential-ipv4: exclusion 10.0.1.9-10.0.1.5 ends before it "
                          "starts"));
}

TEST(PoolConfig, Reservations) {
  auto p = residential();
  p.range = Ipv4Range::parse("10.0.1.10-10.0.1.200");
  p.exclusions = {*Ipv4Range::parse("10.0.1.50-10.0.1.59")};
  p.reservations = {
      {mac(1), ip("10.0.1.5")},                                       // outside the range
      {mac(2), ip("10.0.1.55")},                                      // excluded
      {mac(3), ip("10.0.1.20")},                                      // fine
      {mac(4), ip("10.0.1.20")},                                      // same address twice
      {mac(3), ip("10.0.1.21")},                                      // same subscriber twice
      {SubscriberKey(SubscriberKeyKind::mac, "x"), ip("10.0.1.30")},  // bad key
  };
  EXPECT_THAT(
      problems(p),
      ElementsAre("pool residential-ipv4: reservation 10.0.1.5 for mac:02:00:5e:00:00:01 is "
                  "outside range 10.0.1.10-10.0.1.200",
                  "pool residential-ipv4: reservation 10.0.1.55 for mac:02:00:5e:00:00:02 is "
                  "excluded (exclusion 10.0.1.50-10.0.1.59)",
                  "pool residential-ipv4: reservation 10.0.1.20 is given to both "
                  "mac:02:00:5e:00:00:03 and mac:02:00:5e:00:00:04",
                  "pool residential-ipv4: subscriber mac:02:00:5e:00:00:03 has two reservations "
                  "(10.0.1.20 and 10.0.1.21)",
                  "pool residential-ipv4: reservation 10.0.1.30 for ? has an invalid subscriber "
                  "key"));
}

TEST(PoolConfig, ReservationOnGatewayOrNetworkAddress) {
  auto p = residential();
  p.reservations = {{mac(1), ip("10.0.1.1")}, {mac(2), ip("10.0.1.0")}};
  EXPECT_THAT(problems(p), ElementsAre("pool residential-ipv4: reservation 10.0.1.1 for "
                                       "mac:02:00:5e:00:00:01 is the gateway",
                                       "pool residential-ipv4: reservation 10.0.1.0 for "
                                       "mac:02:00:5e:00:00:02 is the network address"));
}

TEST(PoolConfig, DuplicateIds) {
  auto a = residential();
  auto b = residential();
  b.network = *Ipv4Network::parse("10.0.2.0/24");
  b.gateway = ip("10.0.2.1");
  EXPECT_THAT(problems({a, b}),
              ElementsAre("pool id residential-ipv4 is used by more than one pool"));
}

TEST(PoolConfig, OverlappingPools) {
  auto a = residential();
  auto b = residential();
  b.id = "business-ipv4";
  b.network = *Ipv4Network::parse("10.0.1.128/25");
  b.gateway = ip("10.0.1.129");
  EXPECT_THAT(problems({a, b}), ElementsAre("pools residential-ipv4 and business-ipv4 overlap "
                                            "(10.0.1.0/24 and 10.0.1.128/25)"));

  // One subnet split between two pools: fine while the ranges are disjoint.
  b.network = a.network;
  b.gateway = a.gateway;
  a.range = Ipv4Range::parse("10.0.1.10-10.0.1.99");
  b.range = Ipv4Range::parse("10.0.1.100-10.0.1.200");
  EXPECT_THAT(problems({a, b}), IsEmpty());
  b.range = Ipv4Range::parse("10.0.1.90-10.0.1.200");
  EXPECT_THAT(problems({a, b}),
              ElementsAre("pools residential-ipv4 and business-ipv4 overlap (range "
                          "10.0.1.10-10.0.1.99 and 10.0.1.90-10.0.1.200 in 10.0.1.0/24)"));
}

TEST(PoolConfig, ValidateReturnsTheFirstProblem) {
  EXPECT_EQ(validate_pools({}).error().context, "no pools are configured");
  auto p = residential();
  p.gateway = ip("10.0.2.1");
  p.dns = {ip("0.0.0.0")};
  auto r = validate_pools(std::vector{p});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, std::errc::invalid_argument);
  EXPECT_EQ(r.error().context, "pool residential-ipv4: gateway 10.0.2.1 is outside 10.0.1.0/24");
}

}  // namespace
}  // namespace bngkit::bng::pool
