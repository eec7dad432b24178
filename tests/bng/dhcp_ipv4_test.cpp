// Ipv4 and MacAddress: byte order, text forms, strict parsing.
#include <gtest/gtest.h>

#include <bngkit/bng/dhcp/ipv4.hpp>
#include <cstring>

namespace bngkit::bng {
namespace {

TEST(Ipv4, ByteOrderIsExplicit) {
  constexpr Ipv4 ip(10, 0, 0, 1);
  static_assert(ip.to_host() == 0x0a000001u);
  static_assert(Ipv4::from_host(0x0a000001u) == ip);
  static_assert(Ipv4::from_be(ip.to_be()) == ip);
  // to_be() is the value as it sits in memory: the same four octets in the same order.
  const std::uint32_t be = ip.to_be();
  std::uint8_t raw[4];
  std::memcpy(raw, &be, 4);
  EXPECT_EQ(raw[0], 10);
  EXPECT_EQ(raw[3], 1);
  EXPECT_TRUE(Ipv4().is_unspecified());
  EXPECT_LT(Ipv4(10, 0, 0, 1), Ipv4(10, 0, 1, 0));
}

TEST(Ipv4, Text) {
  EXPECT_EQ(Ipv4(192, 0, 2, 255).to_string(), "192.0.2.255");
  EXPECT_EQ(Ipv4::parse("0.0.0.0").value(), Ipv4());
  EXPECT_EQ(Ipv4::parse("255.255.255.255").value(), Ipv4(255, 255, 255, 255));
  for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "256.0.0.1", "01.2.3.4", "1.2.3.4 ", " 1.2.3.4",
                          "1..2.3", "a.b.c.d", "1.2.3.-4", "1.2.3.1000"}) {
    auto r = Ipv4::parse(bad);
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_EQ(r.error().context, std::string("not a dotted-quad IPv4 \"") + bad + "\"");
    }
  }
}

TEST(MacAddress, Text) {
  auto mac = MacAddress::parse("02:00:5E:10:00:0a");
  ASSERT_TRUE(mac);
  EXPECT_EQ(mac->to_string(), "02:00:5e:10:00:0a");
  EXPECT_EQ(MacAddress::parse("02-00-5e-10-00-0a").value(), *mac);
  EXPECT_EQ(MacAddress::broadcast().to_string(), "ff:ff:ff:ff:ff:ff");
  for (const char* bad : {"", "02:00:5e:10:00", "02:00:5e:10:00:0g", "02:00-5e:10:00:0a",
                          "0200.5e10.000a", "02:00:5e:10:00:0a:"}) {
    EXPECT_FALSE(MacAddress::parse(bad)) << bad;
  }
}

}  // namespace
}  // namespace bngkit::bng
