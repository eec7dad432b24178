// IpAddress and Prefix: parsing, canonical text, containment and codecs.
#include <gtest/gtest.h>

#include <bngkit/nexus/ip.hpp>

namespace bngkit::nexus {
namespace {

TEST(IpAddress, ParsesAndPrintsBothFamilies) {
  auto a = IpAddress::parse("10.0.1.7");
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->is_v4());
  EXPECT_EQ(a->v4_value(), 0x0a000107u);
  EXPECT_EQ(a->to_string(), "10.0.1.7");
  auto b = IpAddress::parse("2001:DB8:0:0::1");
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(b->is_v4());
  EXPECT_EQ(b->to_string(), "2001:db8::1");  // RFC 5952 form
  EXPECT_LT(*a, *b);                         // IPv4 sorts first
  for (const char* bad : {"", "10.0.0", "10.0.0.256", "1.2.3.4.5", "::g", "10.0.0.1/24",
                          "a very long string that is certainly not any kind of address"}) {
    auto r = IpAddress::parse(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.error().code, std::errc::invalid_argument);
    }
  }
}

TEST(Prefix, NormalisesAndContains) {
  auto p = Prefix::parse("10.0.1.77/24");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->to_string(), "10.0.1.0/24");
  EXPECT_TRUE(p->contains(*IpAddress::parse("10.0.1.255")));
  EXPECT_FALSE(p->contains(*IpAddress::parse("10.0.2.0")));
  EXPECT_FALSE(p->contains(*IpAddress::parse("::a00:101")));  // other family
  EXPECT_TRUE(p->contains(*Prefix::parse("10.0.1.128/25")));
  EXPECT_FALSE(p->contains(*Prefix::parse("10.0.0.0/23")));
  EXPECT_TRUE(p->overlaps(*Prefix::parse("10.0.0.0/23")));
  auto host = Prefix::parse("2001:db8::5");
  ASSERT_TRUE(host.ok());
  EXPECT_EQ(host->length(), 128);
  auto v6 = Prefix::parse("2001:db8:ff::/40");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->to_string(), "2001:db8::/40");
  EXPECT_FALSE(Prefix::parse("10.0.0.0/33").ok());
  EXPECT_FALSE(Prefix::parse("10.0.0.0/").ok());
  EXPECT_FALSE(Prefix::parse("10.0.0.0/2x").ok());
  EXPECT_FALSE(Prefix::parse("::/129").ok());
}

TEST(IpCodec, RoundTripsAndRejectsNonCanonicalPrefixes) {
  const auto p = *Prefix::parse("2001:db8:1::/48");
  Prefix back;
  ASSERT_TRUE(decode_bytes(encode_bytes(p), back));
  EXPECT_EQ(back, p);
  const auto a = *IpAddress::parse("192.0.2.9");
  IpAddress aback;
  ASSERT_TRUE(decode_bytes(encode_bytes(a), aback));
  EXPECT_EQ(aback, a);
  // 10.0.0.1/24 has host bits set: not a canonical prefix.
  std::string bytes;
  ByteWriter w(bytes);
  Codec<IpAddress>::encode(*IpAddress::parse("10.0.0.1"), w);
  w.u8(24);
  EXPECT_FALSE(decode_bytes(bytes, back));
  EXPECT_FALSE(decode_bytes(std::string("\x05\x01\x02\x03\x04", 5), aback));  // bad family
}

}  // namespace
}  // namespace bngkit::nexus
