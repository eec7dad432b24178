// The daemon's Nexus glue without a network: [nexus] keys (token, pool_id without [[pools]]),
// the admission combinator, and the pool parameters served from a Nexus pool.
#include <gtest/gtest.h>

#include <bngkit/bng/dhcp/message.hpp>

#include "config.hpp"
#include "nexus.hpp"

namespace bngkit::bngd {
namespace {

using bng::slowpath::Admission;
using bng::slowpath::AdmissionRequest;
using Verdict = Admission::Verdict;

TEST(BngdNexusConfig, TokenAndPoolIdWithoutPools) {
  auto c = parse_config(R"([interfaces]
subscriber = "eth1"
[dhcp]
pool_id = "res"
[nexus]
endpoints = ["127.0.0.1:9000"]
token = "t0ken"
timeout = "2s"
)",
                        "bng.toml");
  ASSERT_TRUE(c) << c.error().message();
  ASSERT_TRUE(c->nexus);
  EXPECT_EQ(c->nexus->token, "t0ken");
  EXPECT_EQ(c->nexus->timeout, std::chrono::seconds(2));
  EXPECT_TRUE(c->pools.empty());

  auto missing = parse_config("[interfaces]\nsubscriber = \"eth1\"\n[nexus]\nendpoints = [\"n:9000\"]\n", "bng.toml");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message().find("dhcp.pool_id: required with [nexus]"), std::string::npos)
      << missing.error().message();
  auto both = parse_config(
      "[interfaces]\nsubscriber = \"eth1\"\n[dhcp]\npool_id = \"p\"\n[nexus]\nendpoints = [\"n:9000\"]\n"
      "token = \"a\"\ntoken_file = \"/x\"\n",
      "bng.toml");
  ASSERT_FALSE(both);
  EXPECT_NE(both.error().message().find("nexus.token"), std::string::npos) << both.error().message();
}

TEST(BngdNexus, ChainAsksTheSecondHookOnlyAfterAnAcceptWithTheChosenPool) {
  std::vector<std::string> asked;  // pools the second hook saw
  Admission first_answer;
  Admission second_answer;
  auto chain = chain_admission([&](const AdmissionRequest&) { return first_answer; },
                               [&](const AdmissionRequest& r) {
                                 asked.emplace_back(r.pool_id);
                                 return second_answer;
                               });
  bng::dhcp::Message m;
  const auto sub = bng::pool::SubscriberKey::mac(std::array<std::uint8_t, 6>{2, 0, 0, 0, 0, 1});
  const AdmissionRequest req{m, sub, "default"};

  // Both accept: the first's steering (RADIUS Framed-Pool / address) is kept.
  first_answer = {Verdict::accept, "gold", bng::dhcp::Ipv4::parse("10.9.0.5").value(), {}};
  auto a = chain(req);
  EXPECT_EQ(a.verdict, Verdict::accept);
  EXPECT_EQ(a.pool_id, "gold");
  ASSERT_EQ(asked.size(), 1u);
  EXPECT_EQ(asked[0], "gold");  // Nexus is asked about the pool RADIUS chose

  // The second holds: pending with its reason.
  second_answer = {Verdict::pending, {}, {}, "asking Nexus"};
  first_answer = {};
  a = chain(req);
  EXPECT_EQ(a.verdict, Verdict::pending);
  EXPECT_EQ(a.reason, "asking Nexus");
  EXPECT_EQ(asked.back(), "default");

  // The first rejects or holds: the second is not asked.
  first_answer = {Verdict::reject, {}, {}, "RADIUS said no"};
  a = chain(req);
  EXPECT_EQ(a.verdict, Verdict::reject);
  EXPECT_EQ(a.reason, "RADIUS said no");
  first_answer = {Verdict::pending, {}, {}, "RADIUS in flight"};
  EXPECT_EQ(chain(req).reason, "RADIUS in flight");
  EXPECT_EQ(asked.size(), 2u);

  // An empty hook on either side leaves the other alone.
  EXPECT_EQ(chain_admission({}, [](const AdmissionRequest&) { return Admission{Verdict::reject, {}, {}, "x"}; })(req).verdict,
            Verdict::reject);
  EXPECT_FALSE(chain_admission({}, {}));
}

TEST(BngdNexus, ServedPoolTakesNetworkFromNexusAndLeaseTimesFromDhcp) {
  bng::nexus::Pool p{"res", bng::pool::Ipv4Network::parse("10.7.0.0/22").value(),
                     bng::dhcp::Ipv4::parse("10.7.0.1").value(), {bng::dhcp::Ipv4::parse("9.9.9.9").value()},
                     std::chrono::seconds(86400)};
  DhcpConfig d;
  d.lease_time = std::chrono::seconds(600);
  d.renewal_time = std::chrono::seconds(300);
  d.rebinding_time = std::chrono::seconds(500);
  auto s = served_pool(p, d);
  EXPECT_EQ(s.pool_id, "res");
  EXPECT_EQ(s.network.to_string(), "10.7.0.0/22");
  EXPECT_EQ(s.gateway->to_string(), "10.7.0.1");
  ASSERT_EQ(s.dns.size(), 1u);
  EXPECT_EQ(s.lease_time, std::chrono::seconds(600));
  EXPECT_EQ(s.renewal_time, std::chrono::seconds(300));
  EXPECT_EQ(s.rebinding_time, std::chrono::seconds(500));
}

}  // namespace
}  // namespace bngkit::bngd
