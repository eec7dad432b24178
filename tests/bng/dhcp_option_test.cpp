// The option table and the per-shape codecs: table invariants, validation messages, encode/
// decode round trips and formatting.
#include <gtest/gtest.h>

#include <bngkit/bng/dhcp/option_codec.hpp>
#include <bngkit/bng/dhcp/option_defs.hpp>

#include "dhcp_fixtures.hpp"

namespace bngkit::bng::dhcp {
namespace {

using testing::bytes_of;

constexpr bool table_sorted_and_unique() {
  for (std::size_t i = 1; i < kStandardOptionDefs.size(); ++i) {
    if (kStandardOptionDefs[i - 1].code >= kStandardOptionDefs[i].code) return false;
  }
  return true;
}
static_assert(table_sorted_and_unique());
static_assert(find_option_def(opt::pad) == nullptr && find_option_def(opt::end) == nullptr);
static_assert(find_option_def(opt::message_type)->type == OptionType::u8);
static_assert(option_name(opt::relay_agent_info) == "dhcp-agent-options");
static_assert(find_option_def(opt::client_id)->min_len == 2);

TEST(DhcpOptionTable, BoundsAgreeWithShapes) {
  for (const OptionDef& def : kStandardOptionDefs) {
    SCOPED_TRACE(std::string(def.name));
    EXPECT_LE(def.min_len, def.max_len);
    EXPECT_FALSE(def.name.empty());
    switch (def.type) {
      case OptionType::u8:
      case OptionType::flag:
        EXPECT_EQ(def.min_len, 1);
        EXPECT_EQ(def.max_len, 1);
        break;
      case OptionType::u16:
        EXPECT_EQ(def.max_len, 2);
        break;
      case OptionType::u32:
      case OptionType::i32:
      case OptionType::ip:
        EXPECT_EQ(def.min_len, 4);
        EXPECT_EQ(def.max_len, 4);
        break;
      case OptionType::ip_list:
        EXPECT_EQ(def.min_len % 4, 0);
        break;
      default:
        break;
    }
  }
}

TEST(DhcpOptionCodec, ValidateSaysWhatIsWrong) {
  auto expect_error = [](std::uint8_t code, std::vector<std::uint8_t> data, const char* text) {
    auto r = validate_option(code, data);
    ASSERT_FALSE(r) << text;
    EXPECT_EQ(r.error().context, text);
    EXPECT_EQ(r.error().code, std::errc::bad_message);
  };
  expect_error(53, {1, 2}, "option 53 (dhcp-message-type) length 2, expected 1");
  expect_error(3, {10, 0, 0}, "option 3 (routers) length 3 below minimum 4");
  expect_error(6, {10, 0, 0, 1, 10, 0},
               "option 6 (domain-name-servers): length 6 is not a multiple of 4");
  expect_error(61, {1}, "option 61 (dhcp-client-identifier) length 1 below minimum 2");
  expect_error(12, {}, "option 12 (host-name) length 0 below minimum 1");
  expect_error(19, {2}, "option 19 (ip-forwarding): flag value 2, expected 0 or 1");
  expect_error(80, {1}, "option 80 (rapid-commit) length 1, expected 0");
  expect_error(82, {1, 5, 'a'},
               "option 82 (dhcp-agent-options): sub-option 1 length 5 runs past end of option "
               "at offset 0");
  expect_error(121, {33, 10, 0, 0, 0, 10, 0, 0, 1},
               "option 121 (classless-static-route): route 1 prefix width 33 exceeds 32");
  expect_error(121, {24, 10, 0, 0, 10, 0, 0, 1, 8, 10, 10},
               "option 121 (classless-static-route): route 2 at offset 8 needs 6 octets, 3 left");
  expect_error(119, {3, 'i', 's', 'p', 0xc0, 0x09},
               "option 119 (domain-search): domain name at offset 0 is malformed");
  expect_error(125, {0, 0, 0x0d, 0xe9, 4, 1, 2},
               "option 125 (vivso-suboptions): enterprise data length 4 at offset 0 runs past end "
               "of option");
  expect_error(120, {2, 1, 2, 3, 4},
               "option 120 (sip-server): encoding 2, expected 0 (names) or 1 (addresses)");
  expect_error(81, {0x04, 0, 0, 70, 'a'},
               "option 81 (fqdn): domain name label at offset 3 is malformed");
  // Codes not in the table are opaque.
  EXPECT_TRUE(validate_option(224, {}));
  EXPECT_TRUE(validate_option(224, std::vector<std::uint8_t>(300, 1)));
}

TEST(DhcpOptionCodec, NumbersAndAddresses) {
  EXPECT_EQ(encode_u16(0x1234), (Bytes{0x12, 0x34}));
  EXPECT_EQ(encode_u32(3600), (Bytes{0, 0, 0x0e, 0x10}));
  EXPECT_EQ(decode_u32(encode_u32(0xdeadbeef)), 0xdeadbeefu);
  EXPECT_EQ(decode_i32(Bytes{0xff, 0xff, 0xf1, 0xf0}), -3600);
  EXPECT_FALSE(decode_u16(Bytes{1}));
  EXPECT_FALSE(decode_ip(Bytes{1, 2, 3}));
  const std::vector<Ipv4> ips{Ipv4(192, 0, 2, 1), Ipv4(192, 0, 2, 2)};
  EXPECT_EQ(decode_ip_list(encode_ip_list(ips)), ips);
  EXPECT_FALSE(decode_ip_list(Bytes{1, 2, 3, 4, 5}));
  EXPECT_EQ(decode_u16_list(Bytes{0x05, 0xdc, 0x02, 0x40}),
            (std::vector<std::uint16_t>{1500, 576}));
  EXPECT_EQ(decode_string(bytes_of(std::string("host\0\0", 6))), "host");
}

TEST(DhcpOptionCodec, DnsNamesWithCompression) {
  auto encoded = encode_dns_names(std::vector<std::string>{"isp.example", "eu.isp.example."});
  ASSERT_TRUE(encoded);
  EXPECT_EQ(*encoded, (Bytes{3, 'i', 's', 'p', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, 2, 'e', 'u',
                             3, 'i', 's', 'p', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0}));
  // RFC 3397 section 2 style: the second name points back at the first.
  const Bytes compressed{3,   'i', 's', 'p', 7, 'e', 'x', 'a',  'm',
                         'p', 'l', 'e', 0,   2, 'e', 'u', 0xc0, 0x00};
  EXPECT_EQ(decode_dns_names(compressed),
            (std::vector<std::string>{"isp.example", "eu.isp.example"}));
  EXPECT_FALSE(decode_dns_names(Bytes{0xc0, 0x00}));               // points at itself
  EXPECT_FALSE(decode_dns_names(Bytes{2, 'a', 'b', 0xc0, 0x05}));  // forward
  EXPECT_FALSE(decode_dns_names(Bytes{3, 'a', 'b'}));              // truncated label
  EXPECT_FALSE(decode_dns_names(Bytes{0x40, 0}));                  // reserved label type
  EXPECT_FALSE(encode_dns_names(std::vector<std::string>{"a..b"}));
  EXPECT_FALSE(encode_dns_names(std::vector<std::string>{std::string(64, 'a') + ".example"}));
  std::string long_name;
  for (int i = 0; i < 5; ++i) long_name += std::string(60, 'a') + ".";
  auto too_long = encode_dns_names(std::vector<std::string>{long_name});
  ASSERT_FALSE(too_long);
  EXPECT_NE(too_long.error().context.find("(255 allowed)"), std::string::npos);
}

TEST(DhcpOptionCodec, ClasslessRoutesRfc3442Examples) {
  // RFC 3442 section 1: subnet number / width -> destination descriptor.
  const std::vector<ClasslessRoute> routes{
      {Ipv4(0, 0, 0, 0), 0, Ipv4(10, 0, 0, 1)},         // 0 -> default route
      {Ipv4(10, 0, 0, 0), 8, Ipv4(10, 0, 0, 2)},        // 8.10
      {Ipv4(10, 17, 0, 0), 16, Ipv4(10, 0, 0, 3)},      // 16.10.17
      {Ipv4(10, 27, 129, 0), 24, Ipv4(10, 0, 0, 4)},    // 24.10.27.129
      {Ipv4(10, 229, 0, 128), 25, Ipv4(10, 0, 0, 5)},   // 25.10.229.0.128
      {Ipv4(10, 198, 122, 47), 32, Ipv4(10, 0, 0, 6)},  // 32.10.198.122.47
  };
  auto encoded = encode_classless_routes(routes);
  ASSERT_TRUE(encoded);
  // clang-format off
  EXPECT_EQ(*encoded, (Bytes{0, 10, 0, 0, 1,
                             8, 10, 10, 0, 0, 2,
                             16, 10, 17, 10, 0, 0, 3,
                             24, 10, 27, 129, 10, 0, 0, 4,
                             25, 10, 229, 0, 128, 10, 0, 0, 5,
                             32, 10, 198, 122, 47, 10, 0, 0, 6}));
  // clang-format on
  EXPECT_EQ(decode_classless_routes(*encoded), routes);
  EXPECT_FALSE(encode_classless_routes(std::vector<ClasslessRoute>{{Ipv4(), 33, Ipv4()}}));
}

TEST(DhcpOptionCodec, Format) {
  EXPECT_EQ(
      format_option(3, encode_ip_list(std::vector<Ipv4>{Ipv4(10, 0, 0, 1), Ipv4(10, 0, 0, 2)})),
      "routers=10.0.0.1,10.0.0.2");
  EXPECT_EQ(format_option(51, encode_u32(3600)), "dhcp-lease-time=3600");
  EXPECT_EQ(format_option(2, encode_u32(static_cast<std::uint32_t>(-3600))), "time-offset=-3600");
  EXPECT_EQ(format_option(12, bytes_of("cpe \"1\"\x01")), "host-name=\"cpe \\\"1\\\"\\x01\"");
  EXPECT_EQ(format_option(61, Bytes{1, 2, 0, 0, 0, 0x10, 2}),
            "dhcp-client-identifier=type=1 id=02:00:00:00:10:02");
  EXPECT_EQ(format_option(82, Bytes{1, 2, 'r', '0', 2, 2, 0xab, 0xcd}),
            "dhcp-agent-options=circuit-id=\"r0\" remote-id=ab:cd");
  EXPECT_EQ(format_option(121, Bytes{24, 10, 1, 2, 10, 0, 0, 1}),
            "classless-static-route=10.1.2.0/24->10.0.0.1");
  EXPECT_EQ(format_option(81, Bytes{0x05, 0, 0, 3, 'c', 'p', 'e', 3, 'i', 's', 'p', 0}),
            "fqdn=flags=0x05 rcode=0/0 name=cpe.isp");
  EXPECT_EQ(format_option(80, {}), "rapid-commit");
  EXPECT_EQ(
      format_option(21, encode_ip_list(std::vector<Ipv4>{Ipv4(10, 0, 0, 0), Ipv4(255, 0, 0, 0)})),
      "policy-filter=10.0.0.0/255.0.0.0");
  EXPECT_EQ(format_option(125, Bytes{0, 0, 0x0d, 0xe9, 2, 1, 0}),
            "vivso-suboptions=enterprise=3561:01:00");
  EXPECT_EQ(format_option(120, Bytes{1, 10, 0, 0, 1}), "sip-server=10.0.0.1");
  EXPECT_EQ(format_option(224, Bytes{0x0a, 0x0b}), "option-224=0a:0b");
  EXPECT_EQ(format_option(53, Bytes{1, 2}), "dhcp-message-type=<malformed 01:02>");
  EXPECT_EQ(to_hex(Bytes{0xde, 0xad}, 0), "dead");
}

}  // namespace
}  // namespace bngkit::bng::dhcp
