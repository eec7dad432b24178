// RADIUS wire shapes: one codec per shape, its size checks and its text form.
#include <gtest/gtest.h>

#include <bngkit/bng/radius/value.hpp>

namespace bngkit::bng::radius {
namespace {

std::vector<std::uint8_t> v(std::initializer_list<int> list) {
  std::vector<std::uint8_t> out;
  for (int x : list) out.push_back(static_cast<std::uint8_t>(x));
  return out;
}

TEST(RadiusValue, IntegersAreNetworkOrderAndSizeChecked) {
  EXPECT_EQ(encode_integer(0x01020304), (std::array<std::uint8_t, 4>{1, 2, 3, 4}));
  EXPECT_EQ(*decode_integer(v({0xff, 0, 0, 1})), 0xff000001u);
  EXPECT_EQ(decode_integer(v({1, 2, 3})).error().context, "integer value has 3 octets, expected 4");
  EXPECT_EQ(*decode_integer64(encode_integer64(0x0102030405060708ull)), 0x0102030405060708ull);
  EXPECT_FALSE(decode_integer64(v({1, 2, 3, 4})).ok());
  EXPECT_EQ(*decode_short(encode_short(0xbeef)), 0xbeef);
  EXPECT_EQ(*decode_byte(v({7})), 7);
  EXPECT_FALSE(decode_byte({}).ok());
  EXPECT_EQ(*decode_signed(v({0xff, 0xff, 0xff, 0xfe})), -2);
}

TEST(RadiusValue, AddressesUseLibbngTypes) {
  EXPECT_EQ(*decode_ipaddr(v({192, 0, 2, 1})), Ipv4(192, 0, 2, 1));
  EXPECT_FALSE(decode_ipaddr(v({192, 0, 2})).ok());
  EXPECT_EQ(decode_ether(v({2, 0, 0x5e, 0, 0x53, 1}))->to_string(), "02:00:5e:00:53:01");
  EXPECT_FALSE(decode_ether(v({2, 0, 0x5e, 0, 0x53})).ok());
  EXPECT_EQ((*decode_ipv6addr(std::vector<std::uint8_t>(16, 0)))[15], 0);
  EXPECT_FALSE(decode_ipv6addr(std::vector<std::uint8_t>(15, 0)).ok());
  EXPECT_FALSE(decode_ifid(std::vector<std::uint8_t>(9, 0)).ok());
}

TEST(RadiusValue, Ipv6PrefixFollowsRfc3162) {
  const Ipv6Prefix prefix{56, {0x20, 0x01, 0x0d, 0xb8, 0x12, 0x00, 0x00}};
  auto wire = encode_ipv6prefix(prefix);
  ASSERT_TRUE(wire.ok());
  // Reserved, length, then only the 7 octets 56 bits need.
  EXPECT_EQ(*wire, v({0, 56, 0x20, 0x01, 0x0d, 0xb8, 0x12, 0x00, 0x00}));
  EXPECT_EQ(*decode_ipv6prefix(*wire), prefix);
  // Senders may send all 16 octets; the reserved octet is ignored.
  auto full = v({9, 56, 0x20, 0x01, 0x0d, 0xb8, 0x12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  EXPECT_EQ(*decode_ipv6prefix(full), prefix);
  EXPECT_EQ(*decode_ipv6prefix(v({0, 0})), Ipv6Prefix{});
  const Ipv6Prefix host{128, {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}};
  EXPECT_EQ(*decode_ipv6prefix(*encode_ipv6prefix(host)), host);

  EXPECT_EQ(decode_ipv6prefix(v({0})).error().context,
            "ipv6prefix value has 1 octets, expected 2-18");
  EXPECT_EQ(decode_ipv6prefix(v({0, 129})).error().context, "ipv6prefix length 129 exceeds 128");
  EXPECT_EQ(decode_ipv6prefix(v({0, 17, 0x20, 0x01})).error().context,
            "ipv6prefix length 17 needs 3 octets, got 2");
  EXPECT_EQ(decode_ipv6prefix(v({0, 4, 0xf8})).error().context,
            "ipv6prefix has bits set past its length 4");
  EXPECT_FALSE(encode_ipv6prefix({4, {0xff}}).ok());
  EXPECT_FALSE(encode_ipv6prefix({129, {}}).ok());
}

TEST(RadiusValue, Ipv4PrefixFollowsRfc6572) {
  const Ipv4Prefix prefix{24, Ipv4(10, 1, 2, 0)};
  EXPECT_EQ(*encode_ipv4prefix(prefix), v({0, 24, 10, 1, 2, 0}));
  EXPECT_EQ(*decode_ipv4prefix(v({0, 24, 10, 1, 2, 0})), prefix);
  EXPECT_FALSE(decode_ipv4prefix(v({0, 33, 0, 0, 0, 0})).ok());
  EXPECT_FALSE(decode_ipv4prefix(v({0, 8, 1, 1, 0, 0})).ok());
  EXPECT_FALSE(decode_ipv4prefix(v({0, 8, 1, 0, 0})).ok());
  EXPECT_FALSE(encode_ipv4prefix({8, Ipv4(1, 1, 0, 0)}).ok());
}

TEST(RadiusValue, CheckValueKnowsEveryShape) {
  EXPECT_TRUE(check_value(ValueType::kInteger, v({0, 0, 0, 1})).ok());
  EXPECT_FALSE(check_value(ValueType::kDate, v({0, 0, 1})).ok());
  EXPECT_TRUE(check_value(ValueType::kComboIp, std::vector<std::uint8_t>(16, 0)).ok());
  EXPECT_FALSE(check_value(ValueType::kComboIp, std::vector<std::uint8_t>(8, 0)).ok());
  EXPECT_TRUE(check_value(ValueType::kOctets, {}).ok());
  EXPECT_FALSE(check_value(ValueType::kOctets, std::vector<std::uint8_t>(254, 0)).ok());
  EXPECT_TRUE(check_value(ValueType::kOctets, v({1, 2}), 2).ok());
  EXPECT_EQ(check_value(ValueType::kOctets, v({1, 2, 3}), 2).error().context,
            "octets value has 3 octets, expected 2");
  EXPECT_FALSE(check_value(ValueType::kVsa, v({0, 0, 1})).ok());
}

TEST(RadiusValue, FormatsLikeFreeRadius) {
  EXPECT_EQ(format_value(ValueType::kString, v({'n', 'e', 'm', 'o'})), "\"nemo\"");
  EXPECT_EQ(format_value(ValueType::kString, v({'a', '"', '\\', 0, 0x1f})),
            "\"a\\\"\\\\\\000\\037\"");
  EXPECT_EQ(format_value(ValueType::kOctets, v({0xde, 0xad})), "0xdead");
  EXPECT_EQ(format_value(ValueType::kIpAddr, v({192, 0, 2, 1})), "192.0.2.1");
  EXPECT_EQ(format_value(ValueType::kIpv6Prefix, v({0, 56, 0x20, 0x01, 0x0d, 0xb8, 0x12, 0, 0})),
            "2001:db8:1200::/56");
  EXPECT_EQ(format_value(ValueType::kIpv4Prefix, v({0, 24, 10, 1, 2, 0})), "10.1.2.0/24");
  EXPECT_EQ(format_value(ValueType::kIfId, v({0, 0, 0, 0, 0, 0, 0, 1})), "0:0:0:1");
  EXPECT_EQ(format_value(ValueType::kEther, v({2, 0, 0x5e, 0, 0x53, 1})), "02:00:5e:00:53:01");
  EXPECT_EQ(format_value(ValueType::kDate, encode_integer(1700000000)), "2023-11-14T22:13:20Z");
  EXPECT_EQ(format_value(ValueType::kSigned, v({0xff, 0xff, 0xff, 0xff})), "-1");
  EXPECT_EQ(format_value(ValueType::kInteger64, encode_integer64(1ull << 40)), "1099511627776");
  // A value of the wrong size is shown as hex, not misread.
  EXPECT_EQ(format_value(ValueType::kInteger, v({1, 2, 3})), "0x010203");
}

TEST(RadiusValue, ParsesTextBackToTheSameOctets) {
  struct Case {
    ValueType type;
    const char* text;
    const char* formatted;  // nullptr: same as text
  };
  const Case cases[] = {
      {ValueType::kIpAddr, "198.51.100.23", nullptr},
      {ValueType::kIpv6Addr, "2001:db8::1", nullptr},
      {ValueType::kIpv6Prefix, "2001:db8:abcd:12::/64", nullptr},
      {ValueType::kIpv6Prefix, "::/0", nullptr},
      {ValueType::kIpv4Prefix, "192.0.2.0/24", nullptr},
      {ValueType::kInteger, "4294967295", nullptr},
      {ValueType::kInteger, "0x10", "16"},
      {ValueType::kInteger64, "18446744073709551615", nullptr},
      {ValueType::kShort, "65535", nullptr},
      {ValueType::kByte, "255", nullptr},
      {ValueType::kSigned, "-2147483648", nullptr},
      {ValueType::kDate, "2023-11-14T22:13:20Z", nullptr},
      {ValueType::kDate, "1700000000", "2023-11-14T22:13:20Z"},
      {ValueType::kIfId, "0:0:0:1", nullptr},
      {ValueType::kIfId, "0200:5eff:fe00:5301", "200:5eff:fe00:5301"},
      {ValueType::kEther, "02:00:5e:00:53:01", nullptr},
      {ValueType::kEther, "02-00-5E-00-53-01", "02:00:5e:00:53:01"},
      {ValueType::kComboIp, "192.0.2.9", nullptr},
      {ValueType::kComboIp, "2001:db8::9", nullptr},
      {ValueType::kOctets, "0x00ff10", nullptr},
      {ValueType::kOctets, "ab", "0x6162"},
      {ValueType::kString, "plan-gold", "\"plan-gold\""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    auto wire = parse_value(c.type, c.text);
    ASSERT_TRUE(wire.ok()) << wire.error().message();
    EXPECT_EQ(format_value(c.type, *wire), c.formatted ? c.formatted : c.text);
  }
}

TEST(RadiusValue, RefusesBadText) {
  EXPECT_EQ(parse_value(ValueType::kInteger, "4294967296").error().context,
            "'4294967296' is not a valid integer");
  EXPECT_FALSE(parse_value(ValueType::kInteger, "-1").ok());
  EXPECT_FALSE(parse_value(ValueType::kInteger, "").ok());
  EXPECT_FALSE(parse_value(ValueType::kByte, "256").ok());
  EXPECT_FALSE(parse_value(ValueType::kIpAddr, "192.0.2").ok());
  EXPECT_FALSE(parse_value(ValueType::kIpAddr, "2001:db8::1").ok());
  EXPECT_FALSE(parse_value(ValueType::kIpv6Prefix, "2001:db8::1/64").ok());  // host bits
  EXPECT_FALSE(parse_value(ValueType::kIpv6Prefix, "2001:db8::/129").ok());
  EXPECT_FALSE(parse_value(ValueType::kIpv4Prefix, "10.0.0.0/x").ok());
  EXPECT_FALSE(parse_value(ValueType::kIfId, "0:0:0").ok());
  EXPECT_FALSE(parse_value(ValueType::kIfId, "0:0:0:10000").ok());
  EXPECT_FALSE(parse_value(ValueType::kEther, "02:00:5e:00:53").ok());
  EXPECT_FALSE(parse_value(ValueType::kDate, "2023-13-45").ok());
  EXPECT_FALSE(parse_value(ValueType::kOctets, "0xabc").ok());
  EXPECT_FALSE(parse_value(ValueType::kString, std::string(254, 'a')).ok());
}

TEST(RadiusValue, HexHelpers) {
  EXPECT_EQ(to_hex(v({0, 0xab})), "0x00ab");
  EXPECT_EQ(*from_hex("0x00 AB\n12"), v({0, 0xab, 0x12}));
  EXPECT_EQ(from_hex("zz").error().context, "'z' at position 0 is not a hex digit");
  EXPECT_EQ(from_hex("abc").error().context, "odd number of hex digits");
}

TEST(RadiusValue, TypeNamesRoundTrip) {
  for (auto type : {ValueType::kString,   ValueType::kOctets,       ValueType::kIpAddr,
                    ValueType::kIpv6Addr, ValueType::kIpv6Prefix,   ValueType::kIpv4Prefix,
                    ValueType::kInteger,  ValueType::kInteger64,    ValueType::kDate,
                    ValueType::kIfId,     ValueType::kByte,         ValueType::kShort,
                    ValueType::kSigned,   ValueType::kEther,        ValueType::kComboIp,
                    ValueType::kAbinary,  ValueType::kTlv,          ValueType::kVsa,
                    ValueType::kExtended, ValueType::kLongExtended, ValueType::kEvs}) {
    EXPECT_EQ(value_type_from_name(value_type_name(type)), type) << value_type_name(type);
  }
  EXPECT_EQ(value_type_from_name("UINT32"), ValueType::kInteger);
  EXPECT_EQ(value_type_from_name("String"), ValueType::kString);
  EXPECT_FALSE(value_type_from_name("float").has_value());
}

}  // namespace
}  // namespace bngkit::bng::radius
