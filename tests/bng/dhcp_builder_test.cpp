// Reply builder: OFFER/ACK/NAK byte for byte against hand-written RFC 2131 table 3 layouts,
// compared with a real dnsmasq reply, echo rules (RFC 3046, RFC 6842), parameter request list
// order and the client's maximum message size.
#include <gtest/gtest.h>

#include <algorithm>
#include <bngkit/bng/dhcp/builder.hpp>

#include "dhcp_fixtures.hpp"

namespace bngkit::bng::dhcp {
namespace {

using testing::bytes_of;
using testing::load_payload;

Message parsed(const std::string& fixture) {
  auto m = Message::parse(load_payload(fixture));
  EXPECT_TRUE(m) << fixture << ": " << m.error().message();
  return m ? *m : Message{};
}

// The configuration of the dnsmasq run that made dnsmasq-offer.frame.hex.
ReplyParams dnsmasq_like() {
  ReplyParams p;
  p.server_id = Ipv4(10, 200, 0, 1);
  p.next_server = Ipv4(10, 200, 0, 1);
  p.your_ip = Ipv4(10, 200, 0, 149);
  p.lease_time = 3600;
  p.renewal_time = 1800;
  p.rebinding_time = 3150;
  p.options = {
      {opt::subnet_mask, encode_ip(Ipv4(255, 255, 255, 0))},
      {opt::broadcast_address, encode_ip(Ipv4(10, 200, 0, 255))},
      {opt::domain_name, encode_string("isp.example")},
      {opt::domain_name_server, encode_ip(Ipv4(10, 200, 0, 1))},
      {opt::router, encode_ip(Ipv4(10, 200, 0, 1))},
  };
  return p;
}

std::vector<std::uint8_t> codes_of(const Message& m) {
  std::vector<std::uint8_t> codes;
  for (const Option& o : m.options) codes.push_back(o.code);
  return codes;
}

TEST(DhcpBuilder, OfferToDhclientByteForByte) {
  const Message discover = parsed("dhclient-discover.frame.hex");
  auto offer = make_offer(discover, dnsmasq_like());
  ASSERT_TRUE(offer) << offer.error().message();
  auto bytes = offer->serialize();
  ASSERT_TRUE(bytes);
  EXPECT_EQ(*bytes, load_payload("builder-offer-dhclient.dhcp.hex"));
}

TEST(DhcpBuilder, OfferCarriesWhatDnsmasqSentForTheSameConfiguration) {
  const Message discover = parsed("dhclient-discover.frame.hex");
  const Message real = parsed("dnsmasq-offer.frame.hex");
  auto offer = make_offer(discover, dnsmasq_like());
  ASSERT_TRUE(offer);
  // Same header, same options; only the order differs (we follow the request list).
  Message ours = *offer;
  Message theirs = real;
  auto sorted = [](std::vector<Option> v) {
    std::sort(v.begin(), v.end(), [](const Option& a, const Option& b) { return a.code < b.code; });
    return v;
  };
  EXPECT_EQ(sorted(ours.merged_options()), sorted(theirs.merged_options()));
  ours.options.clear();
  theirs.options.clear();
  ours.pad_to = theirs.pad_to = 0;
  EXPECT_EQ(ours, theirs);
}

TEST(DhcpBuilder, AckToUdhcpcEchoesClientIdentifier) {
  const Message request = parsed("udhcpc-request.frame.hex");
  ReplyParams p = dnsmasq_like();
  p.your_ip = *request.requested_ip();
  p.always_send = {{opt::domain_name, encode_string("isp.example")}};
  p.options.erase(std::remove_if(p.options.begin(), p.options.end(),
                                 [](const OptionValue& v) { return v.code == opt::domain_name; }),
                  p.options.end());
  auto ack = make_ack(request, p);
  ASSERT_TRUE(ack) << ack.error().message();
  EXPECT_EQ(ack->op, kBootReply);
  EXPECT_EQ(ack->message_type(), MessageType::ack);
  EXPECT_EQ(ack->yiaddr, Ipv4(10, 200, 0, 150));
  EXPECT_EQ(ack->xid, request.xid);
  EXPECT_EQ(ack->client_id(), request.client_id());
  // udhcpc asks 1,3,6,12,15,28,42: always-send 15 takes its requested slot.
  EXPECT_EQ(codes_of(*ack), (std::vector<std::uint8_t>{53, 54, 51, 58, 59, 1, 3, 6, 15, 28, 61}));
  auto bytes = ack->serialize();
  ASSERT_TRUE(bytes);
  EXPECT_EQ(bytes->size(), 314u);  // past the BOOTP minimum, so no padding
  // Byte for byte: header, then the options in that order, End and zero padding.
  Bytes expected(bytes->begin(), bytes->begin() + 240);
  auto append = [&](std::uint8_t code, const Bytes& data) {
    expected.push_back(code);
    expected.push_back(static_cast<std::uint8_t>(data.size()));
    expected.insert(expected.end(), data.begin(), data.end());
  };
  append(53, {5});
  append(54, {10, 200, 0, 1});
  append(51, {0, 0, 0x0e, 0x10});
  append(58, {0, 0, 0x07, 0x08});
  append(59, {0, 0, 0x0c, 0x4e});
  append(1, {255, 255, 255, 0});
  append(3, {10, 200, 0, 1});
  append(6, {10, 200, 0, 1});
  append(15, bytes_of("isp.example"));
  append(28, {10, 200, 0, 255});
  append(61, {1, 2, 0, 0, 0, 0x10, 2});
  expected.push_back(255);
  EXPECT_EQ(*bytes, expected);
  // The fixed header per RFC 2131 table 3.
  EXPECT_EQ(Bytes(bytes->begin(), bytes->begin() + 4), (Bytes{2, 1, 6, 0}));
  EXPECT_EQ(Bytes(bytes->begin() + 4, bytes->begin() + 8), (Bytes{0x70, 0x0b, 0x85, 0x39}));
  EXPECT_EQ(Bytes(bytes->begin() + 16, bytes->begin() + 24),
            (Bytes{10, 200, 0, 150, 10, 200, 0, 1}));
}

TEST(DhcpBuilder, NakToRelayedRequestByteForByte) {
  const Message request = parsed("rfc3046-relayed-request.dhcp.hex");
  auto nak = make_nak(request, Ipv4(10, 202, 0, 1), "requested address not on this link");
  ASSERT_TRUE(nak) << nak.error().message();
  EXPECT_TRUE(nak->broadcast());
  EXPECT_EQ(nak->options.back().code, opt::relay_agent_info);
  auto bytes = nak->serialize();
  ASSERT_TRUE(bytes);
  EXPECT_EQ(*bytes, load_payload("builder-nak-relayed.dhcp.hex"));
}

TEST(DhcpBuilder, NakWithoutRelayLeavesFlagsAlone) {
  const Message request = parsed("udhcpc-request.frame.hex");
  auto nak = make_nak(request, Ipv4(10, 200, 0, 1));
  ASSERT_TRUE(nak);
  EXPECT_FALSE(nak->broadcast());
  EXPECT_EQ(codes_of(*nak), (std::vector<std::uint8_t>{53, 54, 61}));
  EXPECT_TRUE(nak->yiaddr.is_unspecified());
  EXPECT_TRUE(nak->siaddr.is_unspecified());
}

TEST(DhcpBuilder, AckToInformHasNoLease) {
  Message inform = parsed("udhcpc-request.frame.hex");
  inform.set_option(opt::message_type, encode_u8(static_cast<std::uint8_t>(MessageType::inform)));
  inform.remove_option(opt::requested_address);
  inform.remove_option(opt::server_id);
  inform.ciaddr = Ipv4(10, 200, 0, 77);
  ReplyParams p = dnsmasq_like();
  auto ack = make_ack(inform, p);
  ASSERT_TRUE(ack) << ack.error().message();
  EXPECT_TRUE(ack->yiaddr.is_unspecified());
  EXPECT_EQ(ack->ciaddr, Ipv4(10, 200, 0, 77));
  EXPECT_FALSE(ack->lease_time());
  EXPECT_FALSE(ack->renewal_time());
  EXPECT_FALSE(ack->rebinding_time());
  EXPECT_EQ(ack->server_id(), Ipv4(10, 200, 0, 1));
}

TEST(DhcpBuilder, NoRequestListMeansOnlyAlwaysSendOptions) {
  Message discover = parsed("udhcpc-discover.frame.hex");
  discover.remove_option(opt::parameter_request_list);
  ReplyParams p = dnsmasq_like();
  p.always_send = {{opt::router, encode_ip(Ipv4(10, 200, 0, 1))},
                   {opt::subnet_mask, encode_ip(Ipv4(255, 255, 255, 0))}};
  auto offer = make_offer(discover, p);
  ASSERT_TRUE(offer);
  EXPECT_EQ(codes_of(*offer), (std::vector<std::uint8_t>{53, 54, 51, 58, 59, 3, 1, 61}));
}

TEST(DhcpBuilder, RespectsMaximumMessageSize) {
  Message discover = parsed("udhcpc-discover.frame.hex");  // option 57 = 576
  ASSERT_EQ(reply_size_limit(discover), 548u);
  ReplyParams p = dnsmasq_like();
  // Requested (PRL 1,3,6,12,15,28,42) values too large to all fit in 548 octets.
  p.options = {{opt::subnet_mask, encode_ip(Ipv4(255, 255, 255, 0))},
               {opt::router, encode_ip(Ipv4(10, 200, 0, 1))},
               {opt::domain_name_server, Bytes(120, 10)},
               {opt::host_name, Bytes(100, 'h')},
               {opt::domain_name, Bytes(60, 'd')},
               {opt::ntp_servers, Bytes(80, 10)}};
  auto offer = make_offer(discover, p);
  ASSERT_TRUE(offer) << offer.error().message();
  auto bytes = offer->serialize();
  ASSERT_TRUE(bytes);
  EXPECT_LE(bytes->size(), 548u);
  // The least preferred requested options (the end of the list) went first: 42, then 15.
  EXPECT_FALSE(offer->has_option(opt::ntp_servers));
  EXPECT_FALSE(offer->has_option(opt::domain_name));
  EXPECT_TRUE(offer->has_option(opt::host_name));
  EXPECT_TRUE(offer->has_option(opt::domain_name_server));

  // A client that accepts 1500-octet datagrams gets everything.
  discover.set_option(opt::max_message_size, encode_u16(1500));
  EXPECT_EQ(reply_size_limit(discover), 1472u);
  offer = make_offer(discover, p);
  ASSERT_TRUE(offer);
  EXPECT_TRUE(offer->has_option(opt::ntp_servers));
  // Values below the RFC 2132 minimum of 576 are treated as 576.
  discover.set_option(opt::max_message_size, encode_u16(300));
  EXPECT_EQ(reply_size_limit(discover), 548u);

  // When mandatory options alone do not fit, the builder says so.
  discover.set_option(opt::max_message_size, encode_u16(576));
  p.always_send = {{opt::vendor_specific, Bytes(400, 1)}};
  auto too_big = make_offer(discover, p);
  ASSERT_FALSE(too_big);
  EXPECT_EQ(too_big.error().code, std::errc::message_size);
  EXPECT_EQ(too_big.error().context,
            "DHCPOFFER needs 681 octets without optional options, the client accepts 548");
}

TEST(DhcpBuilder, OverloadsFileAndSnameBeforeDroppingOptions) {
  const Message discover = parsed("udhcpc-discover.frame.hex");  // option 57 = 576
  ReplyParams p = dnsmasq_like();
  p.options = {{opt::subnet_mask, encode_ip(Ipv4(255, 255, 255, 0))},
               {opt::router, encode_ip(Ipv4(10, 200, 0, 1))},
               {opt::domain_name_server, Bytes(120, 10)},
               {opt::host_name, Bytes(80, 'h')},
               {opt::domain_name, Bytes(60, 'd')},
               {opt::ntp_servers, Bytes(40, 10)}};
  p.always_send = {{opt::vendor_specific, Bytes(60, 0x2b)}};
  ReplyParams no_overload = p;
  no_overload.allow_overload = false;
  auto dropped = make_offer(discover, no_overload);
  ASSERT_TRUE(dropped) << dropped.error().message();
  EXPECT_FALSE(dropped->has_option(opt::ntp_servers));

  auto offer = make_offer(discover, p);
  ASSERT_TRUE(offer) << offer.error().message();
  EXPECT_EQ(offer->overload(), 3);
  EXPECT_EQ(codes_of(*offer),
            (std::vector<std::uint8_t>{53, 52, 54, 51, 58, 59, 1, 3, 6, 12, 61, 15, 42, 43}));
  std::vector<OptionArea> areas;
  for (const Option& o : offer->options) areas.push_back(o.area);
  EXPECT_EQ(std::vector<OptionArea>(areas.end() - 3, areas.end()),
            (std::vector<OptionArea>{OptionArea::file, OptionArea::file, OptionArea::sname}));
  auto bytes = offer->serialize();
  ASSERT_TRUE(bytes) << bytes.error().message();
  EXPECT_LE(bytes->size(), 548u);
  // A client reads every option back, in the order the builder meant.
  auto back = Message::parse(*bytes);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back->options, offer->options);
  EXPECT_EQ(back->option(opt::ntp_servers), Bytes(40, 10));
  EXPECT_EQ(back->option(opt::vendor_specific), Bytes(60, 0x2b));
  EXPECT_EQ(back->file_text(), "");
  // sname starts with option 43 and ends with End then zeros.
  EXPECT_EQ((*bytes)[44], opt::vendor_specific);
  EXPECT_EQ((*bytes)[44 + 62], opt::end);
}

TEST(DhcpBuilder, Refusals) {
  const Message discover = parsed("udhcpc-discover.frame.hex");
  const Message request = parsed("udhcpc-request.frame.hex");
  ReplyParams p = dnsmasq_like();
  auto r = make_ack(discover, p);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().context, "cannot answer DHCPDISCOVER with DHCPACK");
  r = make_offer(request, p);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().context, "cannot answer DHCPREQUEST with DHCPOFFER");
  r = make_reply(request, MessageType::release, p);
  ASSERT_FALSE(r);
  r = make_offer(parsed("dnsmasq-offer.frame.hex"), p);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().context, "request op is 2, expected BOOTREQUEST (1)");
  r = make_offer(parsed("bootp-request.dhcp.hex"), p);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().context, "request has no DHCP message type (option 53)");

  ReplyParams no_lease = p;
  no_lease.lease_time.reset();
  r = make_offer(discover, no_lease);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().context, "DHCPOFFER needs a lease time (option 51)");
  ReplyParams no_ip = p;
  no_ip.your_ip = Ipv4();
  r = make_ack(request, no_ip);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().context, "DHCPACK needs the client's address (your_ip)");
  ReplyParams no_server = p;
  no_server.server_id = Ipv4();
  r = make_offer(discover, no_server);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().context, "server identifier (option 54) is 0.0.0.0");
  ReplyParams owned = p;
  owned.options.push_back({opt::lease_time, encode_u32(1)});
  r = make_offer(discover, owned);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().context, "option 51 is set by the reply builder, not by configured options");
  ReplyParams malformed = p;
  malformed.always_send = {{opt::router, Bytes{10, 0, 0}}};
  r = make_offer(discover, malformed);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().context, "option 3 (routers) length 3 below minimum 4");
}

}  // namespace
}  // namespace bngkit::bng::dhcp
