// Message parse/serialize: byte-for-byte round trips of real captures and RFC-layout
// fixtures, typed accessors, overload and RFC 3396, and errors that say what is wrong.
#include <gtest/gtest.h>

#include <bngkit/bng/dhcp/message.hpp>
#include <random>

#include "dhcp_fixtures.hpp"

namespace bngkit::bng::dhcp {
namespace {

using testing::bytes_of;
using testing::fixture_names;
using testing::load_payload;

Message parse_ok(const std::vector<std::uint8_t>& bytes) {
  auto m = Message::parse(bytes);
  EXPECT_TRUE(m.ok()) << m.error().message();
  return m.ok() ? *m : Message{};
}

TEST(DhcpMessage, EveryFixtureRoundTripsByteForByte) {
  const auto names = fixture_names();
  ASSERT_GE(names.size(), 14u);
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    const auto payload = load_payload(name);
    auto m = Message::parse(payload);
    ASSERT_TRUE(m.ok()) << m.error().message();
    auto out = m->serialize();
    ASSERT_TRUE(out.ok()) << out.error().message();
    EXPECT_EQ(*out, payload);
    EXPECT_EQ(m->wire_size(), payload.size());
  }
}

TEST(DhcpMessage, DhclientDiscover) {
  const Message m = parse_ok(load_payload("dhclient-discover.frame.hex"));
  EXPECT_EQ(m.op, kBootRequest);
  EXPECT_EQ(m.xid, 0xc3c09572u);
  EXPECT_EQ(m.client_mac().to_string(), "02:00:00:00:10:01");
  EXPECT_EQ(m.message_type(), MessageType::discover);
  EXPECT_EQ(m.hostname(), "cpe-dhclient");
  EXPECT_EQ(m.parameter_request_list(),
            (std::vector<std::uint8_t>{1, 28, 2, 3, 15, 6, 119, 12, 44, 47, 26, 121, 42}));
  EXPECT_FALSE(m.client_id());  // dhclient sends none by default
  EXPECT_FALSE(m.max_message_size());
  EXPECT_EQ(m.pad_to, 300u);  // padded to the BOOTP minimum
  EXPECT_TRUE(m.trailer.empty());
  EXPECT_EQ(m.to_string(),
            "DHCPDISCOVER xid=0xc3c09572 chaddr=02:00:00:00:10:01 host-name=\"cpe-dhclient\" "
            "dhcp-parameter-request-list=1,28,2,3,15,6,119,12,44,47,26,121,42");
}

TEST(DhcpMessage, UdhcpcRequest) {
  const Message m = parse_ok(load_payload("udhcpc-request.frame.hex"));
  EXPECT_EQ(m.message_type(), MessageType::request);
  EXPECT_EQ(m.requested_ip(), Ipv4(10, 200, 0, 150));
  EXPECT_EQ(m.server_id(), Ipv4(10, 200, 0, 1));
  EXPECT_EQ(m.max_message_size(), 576);
  EXPECT_EQ(m.vendor_class_id(), "udhcp 1.35.0");
  // Option 61: type 1 (Ethernet) + the MAC.
  EXPECT_EQ(m.client_id(), (std::vector<std::uint8_t>{1, 0x02, 0, 0, 0, 0x10, 0x02}));
  EXPECT_EQ(m.parameter_request_list(), (std::vector<std::uint8_t>{1, 3, 6, 12, 15, 28, 42}));
}

TEST(DhcpMessage, DnsmasqAck) {
  const Message m = parse_ok(load_payload("dnsmasq-ack.frame.hex"));
  EXPECT_EQ(m.op, kBootReply);
  EXPECT_EQ(m.message_type(), MessageType::ack);
  EXPECT_EQ(m.yiaddr, Ipv4(10, 200, 0, 149));
  EXPECT_EQ(m.siaddr, Ipv4(10, 200, 0, 1));
  EXPECT_EQ(m.lease_time(), 3600u);
  EXPECT_EQ(m.renewal_time(), 1800u);
  EXPECT_EQ(m.rebinding_time(), 3150u);
  EXPECT_EQ(m.subnet_mask(), Ipv4(255, 255, 255, 0));
  EXPECT_EQ(m.routers(), std::vector<Ipv4>{Ipv4(10, 200, 0, 1)});
  EXPECT_EQ(m.dns_servers(), std::vector<Ipv4>{Ipv4(10, 200, 0, 1)});
  EXPECT_EQ(m.domain_name(), "isp.example");
  EXPECT_EQ(m.pad_to, 319u);  // dnsmasq does not pad replies
}

TEST(DhcpMessage, DnsmasqOverloadedOfferReadsTheFileField) {
  const auto payload = load_payload("dnsmasq-offer-overload.frame.hex");
  const Message m = parse_ok(payload);
  EXPECT_EQ(m.overload(), 1);
  EXPECT_EQ(m.file_text(), "");  // the field holds options, not a boot file name
  ASSERT_TRUE(m.has_option(opt::domain_search));
  const auto search = m.option(opt::domain_search);
  ASSERT_TRUE(search);
  EXPECT_EQ(decode_dns_names(*search),
            (std::vector<std::string>{"access.isp.example", "subscribers.isp.example",
                                      "region-north.isp.example", "region-south.isp.example",
                                      "backbone.isp.example"}));
  const auto it = std::find_if(m.options.begin(), m.options.end(),
                               [](const Option& o) { return o.code == opt::domain_search; });
  EXPECT_EQ(it->area, OptionArea::file);
  const auto routes = decode_classless_routes(*m.option(opt::classless_static_route));
  ASSERT_TRUE(routes);
  ASSERT_EQ(routes->size(), 8u);
  EXPECT_EQ(routes->front(), (ClasslessRoute{Ipv4(10, 10, 0, 0), 16, Ipv4(10, 200, 0, 1)}));
  EXPECT_EQ(routes->back(), (ClasslessRoute{Ipv4(), 0, Ipv4(10, 200, 0, 1)}));
  // The client asked for 576-octet datagrams; the reply respects it.
  EXPECT_LE(payload.size(), 548u);
}

TEST(DhcpMessage, Rfc3396SplitOptionsAndOverloadOfBothFields) {
  const Message m = parse_ok(load_payload("rfc3396-overload-split.dhcp.hex"));
  EXPECT_EQ(m.overload(), 3);
  // Two instances of 119 in the options field are concatenated.
  const auto search = m.option(opt::domain_search);
  ASSERT_TRUE(search);
  EXPECT_EQ(search->size(), 301u);
  const auto names = decode_dns_names(*search);
  ASSERT_TRUE(names);
  ASSERT_EQ(names->size(), 2u);
  EXPECT_EQ((*names)[1], "zone." + std::string(49, 'x'));
  // 121 starts in file and continues in sname: file is interpreted before sname.
  const auto routes = decode_classless_routes(*m.option(opt::classless_static_route));
  ASSERT_TRUE(routes) << "concatenation order file -> sname broken";
  ASSERT_EQ(routes->size(), 20u);
  for (std::uint8_t i = 0; i < 20; ++i) {
    EXPECT_EQ((*routes)[i], (ClasslessRoute{Ipv4(10, i, 0, 0), 24, Ipv4(10, 203, 0, 1)}));
  }
  EXPECT_EQ(m.domain_name(), "isp.example");
  const auto merged = m.merged_options();
  std::vector<std::uint8_t> codes;
  for (const Option& o : merged) codes.push_back(o.code);
  EXPECT_EQ(codes, (std::vector<std::uint8_t>{53, 52, 54, 51, 1, 119, 3, 121, 15}));
}

TEST(DhcpMessage, PadsInsideOptionsAndTrailerAfterEndSurvive) {
  const auto payload = load_payload("pads-and-trailer.dhcp.hex");
  const Message m = parse_ok(payload);
  const auto pads = std::count_if(m.options.begin(), m.options.end(),
                                  [](const Option& o) { return o.code == opt::pad; });
  EXPECT_EQ(pads, 4);
  EXPECT_EQ(m.trailer.front(), 0xde);
  EXPECT_TRUE(m.broadcast());
  EXPECT_EQ(m.vendor_class_id(), "MSFT 5.0");
  EXPECT_EQ(m.parameter_request_list(), (std::vector<std::uint8_t>{1, 3, 6}));
}

TEST(DhcpMessage, BootpRequestKeepsSnameAndFile) {
  const Message m = parse_ok(load_payload("bootp-request.dhcp.hex"));
  EXPECT_FALSE(m.message_type());
  EXPECT_EQ(m.sname_text(), "bootsrv.isp.example");
  EXPECT_EQ(m.file_text(), "/tftpboot/cpe/firmware-2.1.bin");
  EXPECT_EQ(m.secs, 4);
  EXPECT_EQ(m.to_string().substr(0, 11), "BOOTREQUEST");
}

TEST(DhcpMessage, RelayAgentInformationSubOptionsVerbatim) {
  const Message m = parse_ok(load_payload("rfc3046-relayed-request.dhcp.hex"));
  EXPECT_EQ(m.giaddr, Ipv4(10, 201, 0, 1));
  EXPECT_EQ(m.hops, 1);
  const auto rai = m.relay_agent_info();
  ASSERT_TRUE(rai);
  ASSERT_EQ(rai->sub_options.size(), 3u);
  EXPECT_EQ(testing::copy_of(rai->circuit_id()), bytes_of("olt-7 eth 1/1/03/07:100"));
  const std::vector<std::uint8_t> mac{0x02, 0, 0, 0, 0x10, 0x05};
  EXPECT_EQ(std::vector<std::uint8_t>(rai->remote_id()->begin(), rai->remote_id()->end()), mac);
  EXPECT_EQ(rai->sub_options[2].code, rai::vendor_specific);
  EXPECT_EQ(rai->sub_options[2].data,
            (std::vector<std::uint8_t>{0, 0, 0x0d, 0xe9, 5, 1, 3, 'A', '1', 'B'}));
  // Option 82 is the last option.
  EXPECT_EQ(m.options.back().code, opt::relay_agent_info);
}

TEST(DhcpMessage, ErrorsSayWhatIsWrong) {
  auto payload = load_payload("dhclient-discover.frame.hex");
  {
    auto r = Message::parse(std::span(payload).first(239));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().context,
              "message too short: 239 octets, a DHCP message needs at least 240 (236-octet "
              "header and magic cookie)");
    EXPECT_EQ(r.error().code, std::errc::bad_message);
  }
  {
    auto bad = payload;
    bad[237] = 0;
    auto r = Message::parse(bad);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().context,
              "magic cookie missing at offset 236: found 0x63005363, expected 0x63825363");
  }
  {
    // Option 12 at offset 243 holds 12 octets; the packet is cut at 250.
    auto r = Message::parse(std::span(payload).first(250));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().context, "option 12 length 12 runs past end of packet at offset 243");
  }
  {
    auto bad = payload;
    bad[290] = 82;  // an option 82 header in the padding after End would not be read...
    bad[291] = 40;
    bad[272] = 0;  // ...unless End becomes a Pad; then the walk reaches it.
    auto r = Message::parse(bad);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().context, "option 82 length 40 runs past end of packet at offset 290");
  }
  {
    auto bad = payload;
    bad[272] = 0;
    bad[299] = 61;  // last octet: a code without a length
    auto r = Message::parse(bad);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().context,
              "option 61 at offset 299 has no length octet before end of packet");
  }
  {
    auto bad = payload;
    bad[241] = 2;     // option 53 length 2 swallows the next octet
    bad[244] = 0xff;  // keep the framing valid: End right after the widened option
    auto r = Message::parse(bad);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().context, "option 53 (dhcp-message-type) length 2, expected 1");
    // Framing-only parsing accepts it; the typed accessor then has nothing to give.
    auto lenient = Message::parse(bad, Validation::framing);
    ASSERT_TRUE(lenient) << lenient.error().message();
    EXPECT_FALSE(lenient->message_type());
  }
  {
    auto bad = payload;
    bad[0] = 7;
    auto r = Message::parse(bad);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().context, "op 7 is neither BOOTREQUEST (1) nor BOOTREPLY (2)");
  }
  {
    auto bad = payload;
    bad[2] = 17;
    auto r = Message::parse(bad);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().context, "hlen 17 exceeds the 16-octet chaddr field");
  }
}

TEST(DhcpMessage, OverloadErrors) {
  auto payload = load_payload("dnsmasq-offer-overload.frame.hex");
  const Message m = parse_ok(payload);
  // Find option 52 on the wire and corrupt its value.
  std::size_t at = 240;
  while (payload[at] != opt::overload) at += payload[at] == 0 ? 1 : 2 + payload[at + 1];
  {
    auto bad = payload;
    bad[at + 2] = 5;
    auto r = Message::parse(bad);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().context,
              "option 52 (dhcp-option-overload) must be one octet of value 1, 2 or 3; found 1 "
              "octet(s) starting 5");
  }
  {
    auto bad = payload;
    bad[108 + 1] = 200;  // first file option (119) now runs past the 128-octet field
    auto r = Message::parse(bad);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().context, "option 119 length 200 runs past end of file field at offset 108");
  }
  {
    auto bad = payload;
    bad[at + 2] = 3;  // sname is overloaded too, but holds zeros: pads, no End
    auto r = Message::parse(bad);
    ASSERT_TRUE(r) << r.error().message();
    auto out = r->serialize();
    ASSERT_TRUE(out);
    EXPECT_EQ(*out, bad);
  }
  {
    Message copy = m;
    copy.options.push_back({opt::router, encode_ip(Ipv4(1, 2, 3, 4)), OptionArea::sname});
    auto out = copy.serialize();
    ASSERT_FALSE(out);
    EXPECT_EQ(out.error().context,
              "option 3 (routers) is placed in the sname field, which option 52 does not "
              "overload");
    EXPECT_FALSE(copy.validate());
  }
  {
    Message copy = m;
    for (Option& o : copy.options) {
      if (o.area == OptionArea::file) o.data.resize(200, 1);
    }
    auto out = copy.serialize();
    ASSERT_FALSE(out);
    EXPECT_EQ(out.error().context, "options placed in the file field do not fit its 128 octets");
  }
}

TEST(DhcpMessage, EveryTruncationIsAnErrorOrAValidPrefix) {
  for (const std::string& name : fixture_names()) {
    SCOPED_TRACE(name);
    const auto payload = load_payload(name);
    for (std::size_t len = 0; len <= payload.size(); ++len) {
      const std::vector<std::uint8_t> prefix(payload.begin(),
                                             payload.begin() + static_cast<std::ptrdiff_t>(len));
      for (Validation v : {Validation::strict, Validation::framing}) {
        auto r = Message::parse(prefix, v);
        if (!r) {
          EXPECT_FALSE(r.error().context.empty());
          continue;
        }
        // A prefix that parses serializes and re-parses to the same options.
        auto out = r->serialize();
        ASSERT_TRUE(out) << out.error().message();
        auto again = Message::parse(*out, Validation::framing);
        ASSERT_TRUE(again) << again.error().message();
        EXPECT_EQ(again->merged_options(), r->merged_options());
      }
    }
  }
}

TEST(DhcpMessage, RandomMutationsNeverCrashAndSerializeIdempotently) {
  std::mt19937 rng(20240611);
  const auto names = fixture_names();
  for (const std::string& name : names) {
    const auto payload = load_payload(name);
    for (int round = 0; round < 2000; ++round) {
      auto bytes = payload;
      const int edits = 1 + static_cast<int>(rng() % 4);
      for (int e = 0; e < edits; ++e) {
        const std::size_t at = rng() % bytes.size();
        switch (rng() % 4) {
          case 0:
            bytes[at] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
            break;
          case 1:
            bytes[at] = static_cast<std::uint8_t>(rng());
            break;
          case 2:
            bytes.erase(bytes.begin() + static_cast<std::ptrdiff_t>(at));
            break;
          default:
            bytes.insert(bytes.begin() + static_cast<std::ptrdiff_t>(at),
                         static_cast<std::uint8_t>(rng()));
        }
        if (bytes.empty()) bytes.push_back(0);
      }
      auto r = Message::parse(bytes, (round & 1) ? Validation::framing : Validation::strict);
      if (!r) continue;
      auto first = r->serialize();
      ASSERT_TRUE(first) << name << ": " << first.error().message();
      auto reparsed = Message::parse(*first, Validation::framing);
      ASSERT_TRUE(reparsed) << name << ": " << reparsed.error().message();
      auto second = reparsed->serialize();
      ASSERT_TRUE(second);
      ASSERT_EQ(*first, *second) << name << " round " << round;
      (void)r->to_string();
    }
  }
}

TEST(DhcpMessage, SetAddRemoveOptions) {
  Message m;
  m.set_client_mac(*MacAddress::parse("02:00:00:00:00:01"));
  m.add_option(opt::message_type, encode_u8(1));
  std::vector<std::uint8_t> long_value(600);
  for (std::size_t i = 0; i < long_value.size(); ++i) long_value[i] = static_cast<std::uint8_t>(i);
  m.add_option(opt::vendor_specific, long_value);
  ASSERT_EQ(m.options.size(), 4u);  // 53 + 255 + 255 + 90
  EXPECT_EQ(m.options[1].data.size(), 255u);
  EXPECT_EQ(m.options[3].data.size(), 90u);
  EXPECT_EQ(m.option(opt::vendor_specific), long_value);

  m.add_option(opt::host_name, encode_string("cpe"));
  m.set_option(opt::vendor_specific, encode_u8(7));  // shrinks back to one instance, in place
  ASSERT_EQ(m.options.size(), 3u);
  EXPECT_EQ(m.options[1].code, opt::vendor_specific);
  EXPECT_EQ(m.options[2].code, opt::host_name);
  EXPECT_TRUE(m.remove_option(opt::vendor_specific));
  EXPECT_FALSE(m.remove_option(opt::vendor_specific));
  m.set_option(opt::message, {});  // empty value: one zero-length instance
  EXPECT_EQ(m.option(opt::message), std::vector<std::uint8_t>{});

  // Serialized long options come back equal after a parse.
  m.remove_option(opt::message);
  m.add_option(opt::vendor_specific, long_value);
  m.pad_to = kBootpMinSize;
  auto out = m.serialize();
  ASSERT_TRUE(out) << out.error().message();
  auto back = Message::parse(*out);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back->option(opt::vendor_specific), long_value);
  EXPECT_EQ(back->options, m.options);

  Option huge{opt::vendor_specific, std::vector<std::uint8_t>(256), OptionArea::options};
  m.options.push_back(huge);
  auto fail = m.serialize();
  ASSERT_FALSE(fail);
  EXPECT_EQ(fail.error().context,
            "option 43 (vendor-encapsulated-options) instance holds 256 octets (255 allowed; "
            "set_option/add_option split long values)");
}

TEST(DhcpMessage, MessageTypeNames) {
  EXPECT_EQ(to_string(MessageType::discover), "DHCPDISCOVER");
  EXPECT_EQ(to_string(MessageType::nak), "DHCPNAK");
  EXPECT_EQ(to_string(MessageType::inform), "DHCPINFORM");
  EXPECT_EQ(to_string(MessageType::tls), "DHCPTLS");
  EXPECT_EQ(to_string(static_cast<MessageType>(200)), "DHCP-TYPE-200");
}

TEST(DhcpMessage, MissingEndIsAcceptedAndSerializeAddsOne) {
  std::vector<std::uint8_t> bytes(240, 0);
  bytes[0] = 1;
  bytes[1] = 1;
  bytes[2] = 6;
  std::copy(kMagicCookie.begin(), kMagicCookie.end(), bytes.begin() + 236);
  bytes.insert(bytes.end(), {53, 1, 1});
  auto m = Message::parse(bytes);
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(m->message_type(), MessageType::discover);
  auto out = m->serialize();
  ASSERT_TRUE(out);
  bytes.push_back(255);
  EXPECT_EQ(*out, bytes);
}

}  // namespace
}  // namespace bngkit::bng::dhcp
