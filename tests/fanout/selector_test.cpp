// Balance selection: flow hash determinism and spread, Maglev table fairness and
// minimal disruption when the downstream set changes; endpoint parsing.
#include <bngkit/fanout/endpoint.hpp>
#include <bngkit/fanout/selector.hpp>

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <vector>

namespace bngkit::fanout {
namespace {

std::vector<std::uint64_t> keys_for(std::size_t n, std::uint16_t port = 9000) {
  std::vector<std::uint64_t> keys;
  for (std::size_t i = 0; i < n; ++i) {
    Endpoint e{htonl(0x0a000100U + static_cast<std::uint32_t>(i)), port};
    keys.push_back(endpoint_key(e));
  }
  return keys;
}

TEST(Endpoint, ParsesAndFormats) {
  auto e = Endpoint::parse("10.0.1.10:9000");
  ASSERT_TRUE(e.ok()) << e.error().message();
  EXPECT_EQ(e->address_be, htonl(0x0a00010aU));
  EXPECT_EQ(e->port, 9000);
  EXPECT_EQ(e->to_string(), "10.0.1.10:9000");
  EXPECT_EQ(Endpoint::parse("0.0.0.0:5514")->address_string(), "0.0.0.0");
}

TEST(Endpoint, OrdersNumericallyByAddressThenPort) {
  auto e = [](const char* s) { return Endpoint::parse(s).value(); };
  EXPECT_LT(e("10.0.0.9:9"), e("10.0.1.1:1"));
  EXPECT_LT(e("9.255.255.255:1"), e("10.0.0.0:1"));
  EXPECT_LT(e("10.0.0.1:80"), e("10.0.0.1:443"));
  EXPECT_EQ(e("10.0.0.1:80"), e("10.0.0.1:80"));
  EXPECT_EQ(e("10.0.1.10:1").address_host_order(), 0x0a00010aU);
}

TEST(Endpoint, RejectsBadInputWithReason) {
  EXPECT_NE(Endpoint::parse("10.0.1.10").error().message().find("address:port"), std::string::npos);
  EXPECT_NE(Endpoint::parse("10.0.1:9000").error().message().find("not an IPv4 address"),
            std::string::npos);
  EXPECT_FALSE(Endpoint::parse("10.0.1.10:0").ok());
  EXPECT_TRUE(Endpoint::parse("10.0.1.10:0", true).ok());
  EXPECT_FALSE(Endpoint::parse("10.0.1.10:65536").ok());
  EXPECT_FALSE(Endpoint::parse("10.0.1.10:12ab").ok());
  EXPECT_FALSE(Endpoint::parse("host.example:53").ok());
}

TEST(FlowHash, DeterministicAndSpread) {
  EXPECT_EQ(flow_hash(htonl(0x0a000001U), htons(1234)), flow_hash(htonl(0x0a000001U), htons(1234)));
  EXPECT_NE(flow_hash(htonl(0x0a000001U), htons(1234)), flow_hash(htonl(0x0a000001U), htons(1235)));
  EXPECT_NE(flow_hash(htonl(0x0a000001U), htons(1234)), flow_hash(htonl(0x0a000002U), htons(1234)));
  // Sources differing in one port bit land on 8 buckets about evenly.
  std::map<std::uint32_t, int> buckets;
  for (std::uint32_t port = 10000; port < 18000; ++port) {
    ++buckets[flow_hash(htonl(0xc0a80001U), htons(static_cast<std::uint16_t>(port))) % 8];
  }
  ASSERT_EQ(buckets.size(), 8u);
  for (const auto& [b, n] : buckets) EXPECT_NEAR(n, 1000, 150) << "bucket " << b;
}

TEST(LookupTable, EveryKeyGetsItsShare) {
  for (std::size_t n : {1u, 2u, 4u, 16u, 64u}) {
    const auto keys = keys_for(n);
    const auto table = build_lookup_table(keys);
    ASSERT_EQ(table.size(), kLookupTableSize);
    std::vector<int> share(n, 0);
    for (auto slot : table) {
      ASSERT_LT(slot, n);
      ++share[slot];
    }
    const double ideal = static_cast<double>(kLookupTableSize) / static_cast<double>(n);
    for (std::size_t i = 0; i < n; ++i) {
      // Maglev gives each key floor or ceil of size/N slots (the last round is partial).
      EXPECT_LE(std::abs(share[i] - ideal), 1.0) << "n=" << n << " key " << i;
    }
  }
}

TEST(LookupTable, EmptyAndDeterministic) {
  EXPECT_TRUE(build_lookup_table({}).empty());
  const auto keys = keys_for(5);
  EXPECT_EQ(build_lookup_table(keys), build_lookup_table(keys));
}

TEST(LookupTable, RemovingOneKeyMovesOnlyItsSlotsAndFew) {
  const auto before_keys = keys_for(16);
  const auto before = build_lookup_table(before_keys);
  auto after_keys = before_keys;
  after_keys.erase(after_keys.begin() + 5);  // downstream 5 leaves
  const auto after = build_lookup_table(after_keys);
  std::size_t moved_from_others = 0;
  for (std::size_t s = 0; s < before.size(); ++s) {
    const std::uint64_t was = before_keys[before[s]];
    const std::uint64_t now = after_keys[after[s]];
    if (before[s] == 5) continue;  // its slots must move somewhere
    if (was != now) ++moved_from_others;
  }
  // Slots of the 15 that stay mostly stay: Maglev moves a few percent at most.
  EXPECT_LT(moved_from_others, before.size() / 20) << moved_from_others << " slots moved";
}

TEST(LookupTable, AddingOneKeyTakesAFairShareMostlyFromOthersEvenly) {
  const auto before_keys = keys_for(8);
  auto after_keys = before_keys;
  after_keys.push_back(endpoint_key(Endpoint{htonl(0x0a0002ffU), 9000}));
  const auto before = build_lookup_table(before_keys);
  const auto after = build_lookup_table(after_keys);
  std::size_t changed = 0;
  std::size_t to_new = 0;
  for (std::size_t s = 0; s < before.size(); ++s) {
    if (before_keys[before[s]] != after_keys[after[s]]) ++changed;
    if (after[s] == 8) ++to_new;
  }
  EXPECT_NEAR(static_cast<double>(to_new), kLookupTableSize / 9.0, 1.0);
  EXPECT_LT(changed, to_new + kLookupTableSize / 20);
}

}  // namespace
}  // namespace bngkit::fanout
