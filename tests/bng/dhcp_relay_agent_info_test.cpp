// Relay Agent Information (option 82, RFC 3046): sub-option walk, build, and the relay-side
// insertion checked byte for byte against isc-dhcp-relay's output on the same packet.
#include <gtest/gtest.h>

#include <bngkit/bng/dhcp/builder.hpp>
#include <bngkit/bng/dhcp/relay_agent_info.hpp>

#include "dhcp_fixtures.hpp"

namespace bngkit::bng::dhcp {
namespace {

using testing::bytes_of;
using testing::load_payload;

TEST(RelayAgentInfo, ParseKeepsEverySubOptionVerbatim) {
  const Bytes value{1, 4, 'e', 't', 'h', '0', 2,   6, 0,  0x11, 0x22, 0x33, 0x44, 0x55,
                    5, 4, 10,  1,   2,   0,   200, 0, 11, 4,    10,   9,    9,    9};
  auto info = RelayAgentInfo::parse(value);
  ASSERT_TRUE(info) << info.error().message();
  ASSERT_EQ(info->sub_options.size(), 5u);
  EXPECT_EQ(info->sub_options[3].code, 200);
  EXPECT_TRUE(info->sub_options[3].data.empty());
  EXPECT_EQ(testing::copy_of(info->circuit_id()), bytes_of("eth0"));
  EXPECT_EQ(info->link_selection(), Ipv4(10, 1, 2, 0));
  EXPECT_EQ(info->server_id_override(), Ipv4(10, 9, 9, 9));
  EXPECT_EQ(info->to_string(),
            "circuit-id=\"eth0\" remote-id=00:11:22:33:44:55 link-selection=0a:01:02:00 "
            "sub-option-200= server-id-override=0a:09:09:09");
  EXPECT_EQ(info->serialize().value(), value);
}

TEST(RelayAgentInfo, MalformedValues) {
  auto r = RelayAgentInfo::parse(Bytes{1, 2, 'a', 'b', 2});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().context, "sub-option 2 at offset 4 has no length octet");
  r = RelayAgentInfo::parse(Bytes{1, 9, 'a'});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().context, "sub-option 1 length 9 runs past end of option at offset 0");
  r = RelayAgentInfo::parse(Bytes{});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().context, "relay agent information has no sub-options");
}

TEST(RelayAgentInfo, SetReplaceRemove) {
  RelayAgentInfo info;
  info.set(rai::remote_id, bytes_of("rid"));
  info.set(rai::circuit_id, bytes_of("cid"));
  info.sub_options.push_back({rai::remote_id, bytes_of("dup")});
  info.set(rai::remote_id, bytes_of("new"));  // first kept in place, duplicate dropped
  ASSERT_EQ(info.sub_options.size(), 2u);
  EXPECT_EQ(info.sub_options[0], (SubOption{rai::remote_id, bytes_of("new")}));
  EXPECT_TRUE(info.remove(rai::remote_id));
  EXPECT_FALSE(info.remove(rai::remote_id));
  EXPECT_FALSE(info.remote_id());
  info.set(rai::vendor_specific, Bytes(256, 0));
  auto out = info.serialize();
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().context, "sub-option 9 holds 256 octets (255 allowed)");
}

TEST(RelayAgentInfo, InsertMatchesIscDhcrelayByteForByte) {
  // The same DISCOVER captured before and after `dhcrelay -a` (circuit-id = interface "r0").
  const auto before = load_payload("udhcpc-discover-unrelayed.frame.hex");
  const auto after = load_payload("dhcrelay-discover.frame.hex");
  auto request = Message::parse(before);
  ASSERT_TRUE(request) << request.error().message();
  RelayAgentInfo info;
  info.set(rai::circuit_id, bytes_of("r0"));
  auto r = insert_relay_agent_info(*request, info, Ipv4(10, 201, 0, 1));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(request->hops, 1);
  EXPECT_EQ(request->giaddr, Ipv4(10, 201, 0, 1));
  EXPECT_EQ(request->options.back().code, opt::relay_agent_info);
  auto out = request->serialize();
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, after);
}

TEST(RelayAgentInfo, DnsmasqEchoesOption82Verbatim) {
  const auto request = Message::parse(load_payload("dhcrelay-discover.frame.hex"));
  const auto offer = Message::parse(load_payload("dnsmasq-offer-relayed.frame.hex"));
  ASSERT_TRUE(request && offer);
  EXPECT_EQ(offer->option(opt::relay_agent_info), request->option(opt::relay_agent_info));
  EXPECT_EQ(testing::copy_of(offer->relay_agent_info()->circuit_id()), bytes_of("r0"));
}

TEST(RelayAgentInfo, InsertRefusals) {
  auto relayed = Message::parse(load_payload("rfc3046-relayed-request.dhcp.hex"));
  ASSERT_TRUE(relayed);
  RelayAgentInfo info;
  info.set(rai::circuit_id, bytes_of("x"));
  Message copy = *relayed;
  auto r = insert_relay_agent_info(copy, info, Ipv4(10, 0, 0, 1));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().context, "request already carries option 82 (dhcp-agent-options)");
  EXPECT_EQ(copy, *relayed);  // untouched

  auto plain = Message::parse(load_payload("udhcpc-discover.frame.hex"));
  ASSERT_TRUE(plain);
  copy = *plain;
  r = insert_relay_agent_info(copy, info, Ipv4());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().context, "relay address (giaddr) is 0.0.0.0");
  copy.hops = 16;
  r = insert_relay_agent_info(copy, info, Ipv4(10, 0, 0, 1));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().context, "hops 16 reached the limit of 16");
  copy = *plain;
  RelayAgentInfo big;
  big.set(rai::circuit_id, Bytes(250, 'c'));
  big.set(rai::remote_id, Bytes(100, 'r'));  // 354 octets: two instances (RFC 3396)
  r = insert_relay_agent_info(copy, big, Ipv4(10, 0, 0, 1));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().context,
            "adding option 82 grows the request to 638 octets, above the limit of 548");
}

}  // namespace
}  // namespace bngkit::bng::dhcp
