// Ethernet/VLAN/IPv4/UDP framing: captured frames parse with valid checksums and rebuild byte
// for byte; VLAN and QinQ tags; checksum errors; RFC 2131 4.1 reply addressing.
#include <gtest/gtest.h>

#include <bngkit/bng/dhcp/frame.hpp>
#include <cstdio>
#include <cstring>

#include "dhcp_fixtures.hpp"

namespace bngkit::bng::dhcp {
namespace {

using testing::fixture_names;
using testing::load_hex;
using testing::load_payload;

TEST(DhcpFrame, CapturedFramesRebuildByteForByte) {
  int frames = 0;
  for (const std::string& name : fixture_names()) {
    if (!name.ends_with(".frame.hex")) continue;
    SCOPED_TRACE(name);
    ++frames;
    const auto bytes = load_hex(name);
    auto frame = parse_udp_frame(bytes);
    ASSERT_TRUE(frame) << frame.error().message();
    EXPECT_TRUE(frame->udp_checksum_present);
    EXPECT_EQ(frame->ip_offset, 14u);
    EXPECT_EQ(frame->udp_offset, 34u);
    auto rebuilt = build_udp_frame(frame->headers, frame->payload);
    ASSERT_TRUE(rebuilt) << rebuilt.error().message();
    EXPECT_EQ(*rebuilt, bytes);
  }
  EXPECT_GE(frames, 10);
}

TEST(DhcpFrame, DhclientHeaders) {
  auto frame = parse_udp_frame(load_hex("dhclient-discover.frame.hex"));
  ASSERT_TRUE(frame);
  const UdpFrame& h = frame->headers;
  EXPECT_EQ(h.dst_mac, MacAddress::broadcast());
  EXPECT_EQ(h.src_mac.to_string(), "02:00:00:00:10:01");
  EXPECT_TRUE(h.vlans.empty());
  EXPECT_EQ(h.src_ip, Ipv4());
  EXPECT_EQ(h.dst_ip, Ipv4(255, 255, 255, 255));
  EXPECT_EQ(h.src_port, kDhcpClientPort);
  EXPECT_EQ(h.dst_port, kDhcpServerPort);
  EXPECT_EQ(h.ttl, 128);  // ISC dhclient's raw sender
  EXPECT_EQ(h.tos, 0x10);
  EXPECT_EQ(frame->payload.size(), 300u);
}

TEST(DhcpFrame, ChecksumKnownVector) {
  // The usual worked example of the IPv4 header checksum: 0xb861.
  const Bytes header{0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                     0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
  EXPECT_EQ(ipv4_header_checksum(header), 0xb861);
  Bytes with = header;
  with[10] = 0xb8;
  with[11] = 0x61;
  EXPECT_EQ(ipv4_header_checksum(with), 0);
  // Odd length: the last octet is padded with zero.
  EXPECT_EQ(checksum_partial(Bytes{0x01}), 0x0100u);
}

TEST(DhcpFrame, VlanAndQinQ) {
  const auto payload = load_payload("udhcpc-discover.frame.hex");
  UdpFrame h;
  h.src_mac = *MacAddress::parse("02:00:00:00:10:02");
  h.vlans = {{kEtherTypeQinQ, 100, 0, false}, {kEtherTypeVlan, 2001, 5, true}};
  auto bytes = build_udp_frame(h, payload);
  ASSERT_TRUE(bytes);
  ASSERT_EQ(bytes->size(), 14u + 8u + 20u + 8u + payload.size());
  EXPECT_EQ(Bytes(bytes->begin() + 12, bytes->begin() + 24),
            (Bytes{0x88, 0xa8, 0x00, 0x64, 0x81, 0x00, 0xb7, 0xd1, 0x08, 0x00, 0x45, 0x00}));
  auto parsed = parse_udp_frame(*bytes);
  ASSERT_TRUE(parsed) << parsed.error().message();
  EXPECT_EQ(parsed->headers, h);
  EXPECT_EQ(parsed->ip_offset, 22u);
  EXPECT_TRUE(
      std::equal(parsed->payload.begin(), parsed->payload.end(), payload.begin(), payload.end()));

  h.vlans.push_back({kEtherTypeVlan, 3, 0, false});
  auto three = build_udp_frame(h, payload);
  ASSERT_FALSE(three);
  EXPECT_EQ(three.error().context, "3 VLAN tags; at most 2 (QinQ) are supported");
  h.vlans = {{kEtherTypeVlan, 4096, 0, false}};
  EXPECT_FALSE(build_udp_frame(h, payload));

  // Three tags on the wire are refused by the parser too.
  Bytes tagged = *build_udp_frame(
      UdpFrame{.vlans = {{kEtherTypeQinQ, 1, 0, false}, {kEtherTypeVlan, 2, 0, false}}}, payload);
  tagged.insert(tagged.begin() + 12, {0x81, 0x00, 0x00, 0x03});
  auto r = parse_udp_frame(tagged);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().context, "more than 2 VLAN tags at offset 20");
}

TEST(DhcpFrame, ChecksumErrorsAndZeroUdpChecksum) {
  const auto good = load_hex("dnsmasq-ack.frame.hex");
  {
    auto bad = good;
    bad[14 + 8] ^= 1;  // TTL changes, header checksum no longer matches
    auto r = parse_udp_frame(bad);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().context.find("IPv4 header checksum 0x"), std::string::npos)
        << r.error().context;
    EXPECT_TRUE(parse_udp_frame(bad, FrameChecks{.ip_checksum = false}));
  }
  {
    auto bad = good;
    bad.back() ^= 0xff;  // payload octet: UDP checksum no longer matches
    auto r = parse_udp_frame(bad);
    ASSERT_FALSE(r);
    const auto ok = parse_udp_frame(good);
    char expected[64];
    std::snprintf(expected, sizeof expected, "UDP checksum 0x%02x%02x is wrong, expected 0x",
                  good[40], good[41]);
    EXPECT_EQ(r.error().context.substr(0, std::strlen(expected)), expected);
    EXPECT_TRUE(parse_udp_frame(bad, FrameChecks{.udp_checksum = false}));
  }
  {
    // dhcpcd sends unicast renewals with UDP checksum 0 (legal in IPv4): accepted.
    auto zero = good;
    zero[40] = zero[41] = 0;
    auto r = parse_udp_frame(zero);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_FALSE(r->udp_checksum_present);
  }
}

TEST(DhcpFrame, MalformedFramesSayWhy) {
  const auto good = load_hex("dnsmasq-offer.frame.hex");
  auto expect = [](const Bytes& frame, const std::string& text) {
    auto r = parse_udp_frame(frame);
    ASSERT_FALSE(r) << text;
    EXPECT_EQ(r.error().context, text);
  };
  expect(Bytes(good.begin(), good.begin() + 10),
         "frame of 10 octets is shorter than an Ethernet header");
  expect(Bytes(good.begin(), good.begin() + 30), "IPv4 header at offset 14 is truncated");
  expect(Bytes(good.begin(), good.end() - 1),
         "IPv4 total length 333 runs past end of frame (332 octets after Ethernet header)");
  Bytes v6 = good;
  v6[12] = 0x86;
  v6[13] = 0xdd;
  expect(v6, "ethertype 0x86dd at offset 12 is not IPv4");
  Bytes fragment = good;
  fragment[14 + 6] = 0x20;  // more fragments
  expect(fragment, "IPv4 fragment (flags/offset 0x2000)");
  Bytes tcp = good;
  tcp[14 + 9] = 6;
  expect(tcp, "IPv4 protocol 6 is not UDP");
  Bytes v5 = good;
  v5[14] = 0x55;
  expect(v5, "IP version 5, expected 4");
  Bytes short_udp = good;
  short_udp[34 + 4] = 0;
  short_udp[34 + 5] = 4;
  expect(short_udp, "UDP length 4 does not match IPv4 payload of 313 octets");
  // Ethernet padding after the IP packet is not payload.
  Bytes padded = good;
  padded.insert(padded.end(), 20, 0);
  auto r = parse_udp_frame(padded);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->payload.size(), 305u);
}

TEST(DhcpFrame, Ipv4OptionsAreSkipped) {
  const auto payload = load_payload("dhclient-discover.frame.hex");
  Bytes frame = *build_udp_frame(UdpFrame{}, payload);
  // Router Alert (RFC 2113) makes the header 24 octets; UDP's checksum does not cover it.
  frame.insert(frame.begin() + 34, {0x94, 0x04, 0x00, 0x00});
  frame[14] = 0x46;
  const std::uint16_t total = static_cast<std::uint16_t>((frame[16] << 8 | frame[17]) + 4);
  frame[16] = static_cast<std::uint8_t>(total >> 8);
  frame[17] = static_cast<std::uint8_t>(total);
  frame[24] = frame[25] = 0;
  const std::uint16_t sum = ipv4_header_checksum(std::span(frame).subspan(14, 24));
  frame[24] = static_cast<std::uint8_t>(sum >> 8);
  frame[25] = static_cast<std::uint8_t>(sum);
  auto r = parse_udp_frame(frame);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->udp_offset, 38u);
  EXPECT_EQ(Bytes(r->payload.begin(), r->payload.end()), payload);
}

TEST(DhcpFrame, BuildDhcpFrame) {
  auto m = Message::parse(load_payload("builder-offer-dhclient.dhcp.hex"));
  ASSERT_TRUE(m);
  UdpFrame h;
  h.src_mac = *MacAddress::parse("02:00:00:00:0f:01");
  h.dst_mac = m->client_mac();
  h.src_ip = Ipv4(10, 200, 0, 1);
  h.dst_ip = m->yiaddr;
  h.src_port = kDhcpServerPort;
  h.dst_port = kDhcpClientPort;
  auto bytes = build_dhcp_frame(h, *m);
  ASSERT_TRUE(bytes);
  auto back = parse_udp_frame(*bytes);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->headers, h);
  EXPECT_EQ(Bytes(back->payload.begin(), back->payload.end()), *m->serialize());
}

TEST(DhcpFrame, ReplyAddressingRfc2131Section41) {
  const MacAddress server_mac = *MacAddress::parse("02:00:00:00:0f:01");
  const Ipv4 server_ip(10, 200, 0, 1);
  Message request;
  request.set_client_mac(*MacAddress::parse("02:00:00:00:10:09"));
  request.add_option(opt::message_type, encode_u8(3));
  UdpFrame request_frame;
  request_frame.src_mac = *MacAddress::parse("02:00:00:00:0e:0e");
  request_frame.vlans = {{kEtherTypeQinQ, 10, 0, false}, {kEtherTypeVlan, 20, 0, false}};
  Message reply;
  reply.op = kBootReply;
  reply.yiaddr = Ipv4(10, 200, 0, 99);
  reply.add_option(opt::message_type, encode_u8(5));

  // Unicast to yiaddr / chaddr.
  UdpFrame h = reply_frame_headers(request_frame, request, reply, server_mac, server_ip);
  EXPECT_EQ(h.dst_ip, Ipv4(10, 200, 0, 99));
  EXPECT_EQ(h.dst_mac.to_string(), "02:00:00:00:10:09");
  EXPECT_EQ(h.src_mac, server_mac);
  EXPECT_EQ(h.src_ip, server_ip);
  EXPECT_EQ(h.dst_port, kDhcpClientPort);
  EXPECT_EQ(h.vlans, request_frame.vlans);
  // Broadcast bit.
  request.flags = kBroadcastFlag;
  h = reply_frame_headers(request_frame, request, reply, server_mac, server_ip);
  EXPECT_EQ(h.dst_ip, Ipv4(255, 255, 255, 255));
  EXPECT_EQ(h.dst_mac, MacAddress::broadcast());
  // ciaddr (renewing): unicast to it, at the sender's MAC.
  request.flags = 0;
  request.ciaddr = Ipv4(10, 200, 0, 98);
  h = reply_frame_headers(request_frame, request, reply, server_mac, server_ip);
  EXPECT_EQ(h.dst_ip, Ipv4(10, 200, 0, 98));
  EXPECT_EQ(h.dst_mac, request_frame.src_mac);
  // NAK without relay: broadcast even when ciaddr is set.
  Message nak = reply;
  nak.set_option(opt::message_type, encode_u8(6));
  h = reply_frame_headers(request_frame, request, nak, server_mac, server_ip);
  EXPECT_EQ(h.dst_ip, Ipv4(255, 255, 255, 255));
  // Relayed: to the relay's server port.
  request.giaddr = Ipv4(10, 201, 0, 1);
  h = reply_frame_headers(request_frame, request, reply, server_mac, server_ip);
  EXPECT_EQ(h.dst_ip, Ipv4(10, 201, 0, 1));
  EXPECT_EQ(h.dst_port, kDhcpServerPort);
  EXPECT_EQ(h.dst_mac, request_frame.src_mac);
}

}  // namespace
}  // namespace bngkit::bng::dhcp
