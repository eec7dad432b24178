// RADIUS packet codec: RFC 2865 section 7 and radclient fixtures byte for byte, building the
// same packets, framing errors with their messages, truncation and mutation robustness,
// Vendor-Specific attributes and the Broadband Forum access-line attributes.
#include <gtest/gtest.h>

#include <bngkit/bng/radius/auth.hpp>
#include <bngkit/bng/radius/packet.hpp>
#include <random>

#include "radius_test_util.hpp"

namespace bngkit::bng::radius {
namespace {

using test::fixture;

std::vector<std::uint8_t> bytes(std::string_view text) { return {text.begin(), text.end()}; }

TEST(RadiusPacket, ParsesRfc2865AccessRequest) {
  const auto wire = fixture("rfc2865_7_1_access_request");
  auto packet = Packet::parse(wire);
  ASSERT_TRUE(packet.ok()) << packet.error().message();
  EXPECT_EQ(packet->code, Code::kAccessRequest);
  EXPECT_EQ(packet->identifier, 0);
  EXPECT_EQ(to_hex(packet->authenticator), "0x0f403f9473978057bd83d5cb98f4227a");
  ASSERT_EQ(packet->attributes.size(), 4u);
  EXPECT_EQ(packet->attributes[0].type(), attr::kUserName);
  EXPECT_EQ(packet->attributes[0].text(), "nemo");
  EXPECT_EQ(packet->attributes[1].type(), attr::kUserPassword);
  EXPECT_EQ(packet->attributes[1].value().size(), 16u);
  EXPECT_EQ(decode_ipaddr(packet->find(attr::kNasIpAddress)->value())->to_string(), "192.168.1.16");
  EXPECT_EQ(*decode_integer(packet->find(attr::kNasPort)->value()), 3u);
  EXPECT_EQ(*packet->serialize(), wire);
}

TEST(RadiusPacket, BuildsRfc2865AccessRequestByteForByte) {
  // The NAS side of RFC 2865 7.1: same authenticator, password hidden with "xyzzy5461".
  const auto expected = fixture("rfc2865_7_1_access_request");
  Packet request(Code::kAccessRequest, 0);
  std::copy(expected.begin() + 4, expected.begin() + 20, request.authenticator.begin());
  ASSERT_TRUE(request.add(attr::kUserName, "nemo").ok());
  ASSERT_TRUE(set_user_password(request, "arctangent", "xyzzy5461").ok());
  request.add_ipaddr(attr::kNasIpAddress, Ipv4(192, 168, 1, 16));
  request.add_integer(attr::kNasPort, 3);
  auto wire = encode(request, "xyzzy5461");
  ASSERT_TRUE(wire.ok()) << wire.error().message();
  EXPECT_EQ(to_hex(*wire), to_hex(expected));
}

TEST(RadiusPacket, BuildsRfc2865AccessAcceptByteForByte) {
  // The server side of RFC 2865 7.1: the Response Authenticator comes out as printed.
  auto request = Packet::parse(fixture("rfc2865_7_1_access_request"));
  ASSERT_TRUE(request.ok());
  Packet accept = request->make_response(Code::kAccessAccept);
  accept.add_integer(attr::kServiceType, static_cast<std::uint32_t>(ServiceType::kLoginUser));
  accept.add_integer(attr::kLoginService, 0);  // Telnet
  accept.add_ipaddr(attr::kLoginIpHost, Ipv4(192, 168, 1, 3));
  auto wire = encode(accept, "xyzzy5461", {.request_auth = request->authenticator});
  ASSERT_TRUE(wire.ok()) << wire.error().message();
  EXPECT_EQ(to_hex(*wire), to_hex(fixture("rfc2865_7_1_access_accept")));
  EXPECT_EQ(to_hex(accept.authenticator), "0x86fe220e7624ba2a1005f6bf9b55e0b2");
}

TEST(RadiusPacket, ParsesRfc2865ChapAndChallengeExamples) {
  auto chap = Packet::parse(fixture("rfc2865_7_2_access_request_chap"));
  ASSERT_TRUE(chap.ok());
  EXPECT_EQ(chap->identifier, 1);
  EXPECT_EQ(chap->find(attr::kUserName)->text(), "flopsy");
  ASSERT_NE(chap->find(attr::kChapPassword), nullptr);
  EXPECT_EQ(chap->find(attr::kChapPassword)->value().size(), 17u);
  EXPECT_EQ(chap->find(attr::kChapPassword)->value()[0], 0x16);
  EXPECT_EQ(*decode_integer(chap->find(attr::kServiceType)->value()), 2u);

  auto accept = Packet::parse(fixture("rfc2865_7_2_access_accept"));
  ASSERT_TRUE(accept.ok());
  EXPECT_EQ(decode_ipaddr(accept->find(attr::kFramedIpAddress)->value())->to_string(),
            "255.255.255.254");
  EXPECT_EQ(*decode_integer(accept->find(attr::kFramedMtu)->value()), 1500u);

  auto challenge = Packet::parse(fixture("rfc2865_7_3_access_challenge"));
  ASSERT_TRUE(challenge.ok());
  EXPECT_EQ(challenge->code, Code::kAccessChallenge);
  EXPECT_EQ(challenge->find(attr::kReplyMessage)->text(),
            "Challenge 32769430.  Enter response at prompt.");
  EXPECT_EQ(challenge->find(attr::kState)->text(), "32769430");

  auto reject = Packet::parse(fixture("rfc2865_7_3_access_reject"));
  ASSERT_TRUE(reject.ok());
  EXPECT_EQ(reject->code, Code::kAccessReject);
  EXPECT_TRUE(reject->attributes.empty());
}

TEST(RadiusPacket, EveryFixtureRoundTripsExactly) {
  for (const auto& name : test::all_fixtures()) {
    SCOPED_TRACE(name);
    const auto wire = fixture(name);
    auto packet = Packet::parse(wire);
    ASSERT_TRUE(packet.ok()) << packet.error().message();
    EXPECT_EQ(packet->wire_size(), wire.size());
    EXPECT_EQ(*packet->serialize(), wire);
    std::vector<std::uint8_t> out(wire.size());
    auto written = packet->serialize_to(out);
    ASSERT_TRUE(written.ok());
    EXPECT_EQ(*written, wire.size());
    EXPECT_EQ(out, wire);
  }
}

TEST(RadiusPacket, ParsesCoaRequestAndBuildsItAgain) {
  // RFC 5176 CoA-Request as radclient sent it; rebuilt from scratch, signing reproduces the
  // Message-Authenticator and the Request Authenticator exactly.
  const auto wire = fixture("radclient_coa_request");
  auto parsed = Packet::parse(wire);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->code, Code::kCoaRequest);
  EXPECT_EQ(code_name(parsed->code), "CoA-Request");
  Packet coa(Code::kCoaRequest, parsed->identifier);
  ASSERT_TRUE(coa.add(attr::kUserName, "subscriber@isp.example").ok());
  ASSERT_TRUE(coa.add(attr::kAcctSessionId, "0000002a-5f3e").ok());
  coa.add_integer(attr::kSessionTimeout, 7200);
  ASSERT_TRUE(coa.add(attr::kFilterId, "gold-100M").ok());
  ASSERT_TRUE(coa.add(attr::kMessageAuthenticator, Authenticator{}).ok());  // last, as radclient
  auto out = encode(coa, "testing123");
  ASSERT_TRUE(out.ok()) << out.error().message();
  EXPECT_EQ(to_hex(*out), to_hex(wire));
  EXPECT_EQ(coa.authenticator, parsed->authenticator);
}

TEST(RadiusPacket, RefusesShortAndOverlongDatagramsWithReasons) {
  std::vector<std::uint8_t> wire(20, 0);
  wire[0] = 1;

  auto short_packet = Packet::parse(std::span(wire).first(19));
  ASSERT_FALSE(short_packet.ok());
  EXPECT_EQ(short_packet.error().context,
            "RADIUS packet of 19 octets is shorter than the 20-octet header");
  EXPECT_EQ(short_packet.error().code, std::errc::bad_message);

  wire[3] = 19;
  EXPECT_EQ(Packet::parse(wire).error().context, "RADIUS Length field 19 is outside 20..4096");
  wire[2] = 0x10;
  wire[3] = 0x01;
  EXPECT_EQ(Packet::parse(wire).error().context, "RADIUS Length field 4097 is outside 20..4096");
  wire[2] = 0;
  wire[3] = 22;
  EXPECT_EQ(Packet::parse(wire).error().context,
            "RADIUS Length field 22 exceeds the 20 octets received");

  wire.push_back(1);
  wire.push_back(1);
  EXPECT_EQ(Packet::parse(wire).error().context,
            "RADIUS attribute type 1 at offset 20 has length 1 (minimum 2)");
  wire[21] = 3;
  EXPECT_EQ(Packet::parse(wire).error().context,
            "RADIUS attribute type 1 at offset 20 has length 3, past the packet end at 22");
  wire[3] = 21;
  EXPECT_EQ(Packet::parse(wire).error().context,
            "RADIUS attribute at offset 20: only 1 octet left before the packet end at 21");
}

TEST(RadiusPacket, OctetsPastLengthArePadding) {
  auto wire = fixture("rfc2865_7_1_access_request");
  const auto original = wire;
  wire.insert(wire.end(), {0xde, 0xad, 0xbe, 0xef});
  auto packet = Packet::parse(wire);
  ASSERT_TRUE(packet.ok());
  EXPECT_EQ(*packet->serialize(), original);
}

TEST(RadiusPacket, EmptyAttributeValuesAreKept) {
  // IWF-Session (RFC 4679) and others may be empty: length 2.
  std::vector<std::uint8_t> wire = {1, 7, 0, 22, 0, 0, 0, 0, 0, 0,  0,
                                    0, 0, 0, 0,  0, 0, 0, 0, 0, 99, 2};
  auto packet = Packet::parse(wire);
  ASSERT_TRUE(packet.ok());
  ASSERT_EQ(packet->attributes.size(), 1u);
  EXPECT_EQ(packet->attributes[0].type(), 99);
  EXPECT_TRUE(packet->attributes[0].value().empty());
  EXPECT_EQ(*packet->serialize(), wire);
}

TEST(RadiusPacket, EveryTruncationIsRefusedAndNeverCrashes) {
  for (const auto& name : test::all_fixtures()) {
    SCOPED_TRACE(name);
    const auto wire = fixture(name);
    for (std::size_t n = 0; n < wire.size(); ++n) {
      auto packet = Packet::parse(std::span(wire).first(n));
      ASSERT_FALSE(packet.ok()) << "prefix of " << n << " octets parsed";
      EXPECT_FALSE(packet.error().context.empty());
    }
  }
}

TEST(RadiusPacket, RandomMutationsYieldErrorsOrConsistentPackets) {
  std::mt19937 rng(20240611);  // fixed seed: failures reproduce
  std::size_t parsed = 0;
  std::size_t refused = 0;
  for (const auto& name : test::all_fixtures()) {
    const auto original = fixture(name);
    for (int round = 0; round < 2000; ++round) {
      auto wire = original;
      const int edits = 1 + static_cast<int>(rng() % 4);
      for (int e = 0; e < edits; ++e) {
        const auto at = rng() % wire.size();
        switch (rng() % 4) {
          case 0:
            wire[at] = static_cast<std::uint8_t>(rng());
            break;
          case 1:
            wire[at] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
            break;
          case 2:
            wire.erase(wire.begin() + static_cast<std::ptrdiff_t>(at));
            break;
          default:
            wire.insert(wire.begin() + static_cast<std::ptrdiff_t>(at),
                        static_cast<std::uint8_t>(rng()));
            break;
        }
        if (wire.empty()) wire.push_back(0);
      }
      auto packet = Packet::parse(wire);
      if (!packet) {
        ++refused;
        ASSERT_FALSE(packet.error().context.empty());
        continue;
      }
      ++parsed;
      // A mutated packet that parses is consistent: it serializes to its Length octets.
      const std::size_t length = (std::size_t{wire[2]} << 8) | wire[3];
      auto out = packet->serialize();
      ASSERT_TRUE(out.ok());
      ASSERT_EQ(out->size(), length);
      ASSERT_TRUE(std::equal(out->begin(), out->end(), wire.begin()));
    }
  }
  // Both outcomes happen, so the test exercises both paths.
  EXPECT_GT(parsed, 1000u);
  EXPECT_GT(refused, 1000u);
}

TEST(RadiusPacket, SerializeRefusesPacketsOver4096Octets) {
  Packet packet(Code::kAccessRequest, 1);
  const std::vector<std::uint8_t> value(253, 'x');
  for (int i = 0; i < 16; ++i) ASSERT_TRUE(packet.add(attr::kClass, value).ok());
  EXPECT_EQ(packet.wire_size(), 20u + 16u * 255u);  // 4100
  auto wire = packet.serialize();
  ASSERT_FALSE(wire.ok());
  EXPECT_EQ(wire.error().context, "RADIUS packet of 4100 octets exceeds 4096");
  packet.attributes.pop_back();
  EXPECT_TRUE(packet.serialize().ok());
  std::vector<std::uint8_t> small(100);
  EXPECT_EQ(packet.serialize_to(small).error().code, std::errc::no_buffer_space);
}

TEST(RadiusPacket, AttributeValuesAreLimitedTo253Octets) {
  EXPECT_TRUE(Attribute::make(attr::kClass, std::vector<std::uint8_t>(253, 1)).ok());
  auto too_long = Attribute::make(attr::kClass, std::vector<std::uint8_t>(254, 1));
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.error().context, "attribute type 25 value of 254 octets exceeds 253");
  Packet packet;
  EXPECT_FALSE(packet.add(attr::kReplyMessage, std::string(254, 'a')).ok());
  EXPECT_TRUE(packet.attributes.empty());
}

TEST(RadiusPacket, FindCountEraseKeepOrder) {
  Packet packet(Code::kAccessAccept, 9);
  ASSERT_TRUE(packet.add(attr::kClass, "a").ok());
  packet.add_integer(attr::kSessionTimeout, 60);
  ASSERT_TRUE(packet.add(attr::kClass, "b").ok());
  EXPECT_EQ(packet.count(attr::kClass), 2u);
  EXPECT_EQ(packet.find(attr::kClass)->text(), "a");
  const auto all = packet.find_all(attr::kClass);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1]->text(), "b");
  EXPECT_EQ(packet.find(attr::kUserName), nullptr);
  EXPECT_EQ(packet.erase(attr::kClass), 2u);
  ASSERT_EQ(packet.attributes.size(), 1u);
  EXPECT_EQ(packet.attributes[0].type(), attr::kSessionTimeout);
}

TEST(RadiusPacket, ResponseCopiesIdentifierAuthenticatorAndProxyStateInOrder) {
  Packet request(Code::kDisconnectRequest, 42, Authenticator{1, 2, 3});
  ASSERT_TRUE(request.add(attr::kProxyState, "first").ok());
  ASSERT_TRUE(request.add(attr::kAcctSessionId, "s").ok());
  ASSERT_TRUE(request.add(attr::kProxyState, "second").ok());
  Packet nak = request.make_response(Code::kDisconnectNak);
  EXPECT_EQ(nak.code, Code::kDisconnectNak);
  EXPECT_EQ(nak.identifier, 42);
  EXPECT_EQ(nak.authenticator, request.authenticator);
  ASSERT_EQ(nak.attributes.size(), 2u);
  EXPECT_EQ(nak.attributes[0].text(), "first");
  EXPECT_EQ(nak.attributes[1].text(), "second");
}

TEST(RadiusPacket, CodeNamesAndKinds) {
  EXPECT_EQ(code_name(Code::kAccessRequest), "Access-Request");
  EXPECT_EQ(code_name(Code::kDisconnectNak), "Disconnect-NAK");
  EXPECT_EQ(code_name(Code::kCoaAck), "CoA-ACK");
  EXPECT_EQ(code_name(static_cast<Code>(99)), "");
  static_assert(authenticator_kind(Code::kAccessRequest) == AuthenticatorKind::kRandom);
  static_assert(authenticator_kind(Code::kStatusServer) == AuthenticatorKind::kRandom);
  static_assert(authenticator_kind(Code::kAccountingRequest) == AuthenticatorKind::kRequest);
  static_assert(authenticator_kind(Code::kCoaRequest) == AuthenticatorKind::kRequest);
  static_assert(authenticator_kind(Code::kDisconnectRequest) == AuthenticatorKind::kRequest);
  static_assert(authenticator_kind(Code::kCoaNak) == AuthenticatorKind::kResponse);
  static_assert(authenticator_kind(static_cast<Code>(99)) == AuthenticatorKind::kUnknown);
  static_assert(is_request(Code::kCoaRequest) && !is_response(Code::kCoaRequest));
  static_assert(is_response(Code::kAccountingResponse));
}

TEST(RadiusVendorSpecific, ParsesBroadbandForumAttributesFromRadclient) {
  auto packet = Packet::parse(fixture("radclient_access_request_bbf"));
  ASSERT_TRUE(packet.ok());
  const auto vsas = packet->find_all(attr::kVendorSpecific);
  ASSERT_EQ(vsas.size(), 5u);
  auto first = parse_vendor_specific(*vsas[0]);
  ASSERT_TRUE(first.ok()) << first.error().message();
  EXPECT_EQ(first->vendor, vendor::kAdslForum);
  ASSERT_EQ(first->attributes.size(), 1u);
  EXPECT_EQ(first->attributes[0].type, bbf::kAgentCircuitId);
  EXPECT_EQ(as_text(first->attributes[0].value), "olt-1 eth 0/3:100.200");

  const auto remote = packet->find_vendor(vendor::kAdslForum, bbf::kAgentRemoteId);
  ASSERT_TRUE(remote.has_value());
  EXPECT_EQ(as_text(*remote), "cpe-0042");
  EXPECT_FALSE(packet->find_vendor(vendor::kAdslForum, bbf::kIwfSession).has_value());
  EXPECT_FALSE(packet->find_vendor(9, bbf::kAgentRemoteId).has_value());

  const AccessLine line = read_access_line(*packet);
  EXPECT_EQ(line.circuit_id, "olt-1 eth 0/3:100.200");
  EXPECT_EQ(line.remote_id, "cpe-0042");
  EXPECT_EQ(line.actual_rate_up, 100000000u);
  EXPECT_EQ(line.actual_rate_down, 1000000000u);
  EXPECT_EQ(line.encapsulation, (std::array<std::uint8_t, 3>{2, 1, 0}));
  EXPECT_FALSE(line.minimum_rate_up.has_value());
}

TEST(RadiusVendorSpecific, AccessLineRoundTripsAsRadclientEncodesIt) {
  AccessLine line;
  line.circuit_id = "olt-1 eth 0/3:100.200";
  line.remote_id = "cpe-0042";
  line.actual_rate_up = 100000000;
  line.actual_rate_down = 1000000000;
  line.encapsulation = std::array<std::uint8_t, 3>{2, 1, 0};
  Packet packet;
  ASSERT_TRUE(add_access_line(packet, line).ok());
  // Same five VSAs, same octets, as FreeRADIUS' radclient put in the fixture.
  auto reference = Packet::parse(fixture("radclient_access_request_bbf"));
  ASSERT_TRUE(reference.ok());
  const auto expected = reference->find_all(attr::kVendorSpecific);
  ASSERT_EQ(packet.attributes.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(packet.attributes[i], *expected[i]);
  EXPECT_EQ(read_access_line(packet), line);

  AccessLine all;
  all.minimum_rate_up = 1;
  all.minimum_rate_down = 2;
  all.attainable_rate_up = 3;
  all.attainable_rate_down = 4;
  all.maximum_rate_up = 5;
  all.maximum_rate_down = 6;
  all.minimum_rate_up_low_power = 7;
  all.minimum_rate_down_low_power = 8;
  all.maximum_delay_up = 9;
  all.actual_delay_up = 10;
  all.maximum_delay_down = 11;
  all.actual_delay_down = 12;
  Packet p2;
  ASSERT_TRUE(add_access_line(p2, all).ok());
  EXPECT_EQ(p2.attributes.size(), 12u);
  EXPECT_EQ(read_access_line(p2), all);
}

TEST(RadiusVendorSpecific, AccessLineRefusesBadIdentifiersAndAddsNothing) {
  AccessLine line;
  line.circuit_id = "ok";
  line.remote_id = std::string(248, 'r');
  Packet packet;
  auto added = add_access_line(packet, line);
  ASSERT_FALSE(added.ok());
  EXPECT_EQ(added.error().context, "Agent-Remote-Id must be 1-247 octets, got 248");
  EXPECT_TRUE(packet.attributes.empty());
  line.remote_id = std::string(247, 'r');
  EXPECT_TRUE(add_access_line(packet, line).ok());
  line.circuit_id = "";
  EXPECT_FALSE(add_access_line(packet, line).ok());
}

TEST(RadiusVendorSpecific, MalformedRatesAreLeftOut) {
  Packet packet;
  ASSERT_TRUE(packet
                  .add_vendor(vendor::kAdslForum, bbf::kActualDataRateUpstream,
                              std::vector<std::uint8_t>{1, 2, 3})
                  .ok());
  ASSERT_TRUE(
      packet.add_vendor(vendor::kAdslForum, bbf::kActualDataRateDownstream, encode_integer(5000))
          .ok());
  const AccessLine line = read_access_line(packet);
  EXPECT_FALSE(line.actual_rate_up.has_value());
  EXPECT_EQ(line.actual_rate_down, 5000u);
}

TEST(RadiusVendorSpecific, SeveralSubAttributesAndOtherFormats) {
  // One VSA holding two sub-attributes (RFC 2865 5.26 allows it).
  const std::vector<std::uint8_t> value = {0, 0, 0x0d, 0xe9, 1, 5, 'a', 'b', 'c', 2, 3, 'z'};
  auto attribute = Attribute::make(attr::kVendorSpecific, value);
  ASSERT_TRUE(attribute.ok());
  auto vsa = parse_vendor_specific(*attribute);
  ASSERT_TRUE(vsa.ok());
  ASSERT_EQ(vsa->attributes.size(), 2u);
  EXPECT_EQ(as_text(vsa->attributes[1].value), "z");
  Packet packet;
  packet.add(*attribute);
  EXPECT_EQ(as_text(*packet.find_vendor(vendor::kAdslForum, 2)), "z");

  // Lucent-style 2,1 and USR-style 4,0 and WiMAX-style 1,1,c.
  for (const VendorFormat format : {VendorFormat{2, 1, false}, VendorFormat{4, 0, false},
                                    VendorFormat{2, 2, false}, VendorFormat{1, 1, true}}) {
    SCOPED_TRACE(std::to_string(format.type_size) + "," + std::to_string(format.length_size));
    const std::uint32_t type = format.type_size == 1 ? 7 : 300;
    auto made = make_vendor_specific(4846, type, bytes("value"), format);
    ASSERT_TRUE(made.ok()) << made.error().message();
    auto parsed = parse_vendor_specific(*made, format);
    ASSERT_TRUE(parsed.ok()) << parsed.error().message();
    ASSERT_EQ(parsed->attributes.size(), 1u);
    EXPECT_EQ(parsed->attributes[0].type, type);
    EXPECT_EQ(as_text(parsed->attributes[0].value), "value");
  }
}

TEST(RadiusVendorSpecific, RefusesBrokenVendorData) {
  auto vsa = [](std::vector<std::uint8_t> value) {
    return parse_vendor_specific(Attribute::make(attr::kVendorSpecific, value).value());
  };
  EXPECT_EQ(vsa({0, 0, 0x0d}).error().context,
            "Vendor-Specific attribute of 3 value octets is shorter than 5");
  EXPECT_EQ(vsa({1, 0, 0x0d, 0xe9, 1, 2}).error().context,
            "Vendor-Specific vendor id has a non-zero high octet (RFC 2865 5.26)");
  EXPECT_EQ(vsa({0, 0, 0x0d, 0xe9, 1, 9, 'a'}).error().context,
            "vendor 3561: vendor sub-attribute type 1 at offset 6 has length 9, past the "
            "attribute end");
  EXPECT_EQ(vsa({0, 0, 0x0d, 0xe9, 1, 1}).error().context,
            "vendor 3561: vendor sub-attribute type 1 at offset 6 has length 1, below its "
            "header size");
  EXPECT_EQ(vsa({0, 0, 0x0d, 0xe9, 1, 2, 7}).error().context,
            "vendor 3561: vendor sub-attribute at offset 8 needs 2 header octets, 1 left");
  EXPECT_FALSE(parse_vendor_specific(Attribute::integer(attr::kNasPort, 1)).ok());
  // A broken VSA yields no match even if a sub-attribute before the break matched.
  Packet packet;
  packet.add(Attribute::make(attr::kVendorSpecific,
                             std::vector<std::uint8_t>{0, 0, 0x0d, 0xe9, 1, 3, 'x', 2, 9})
                 .value());
  EXPECT_FALSE(packet.find_vendor(vendor::kAdslForum, 1).has_value());
}

TEST(RadiusVendorSpecific, MakeRefusesWhatDoesNotFit) {
  EXPECT_FALSE(make_vendor_specific(0x01000000, 1, bytes("x")).ok());
  EXPECT_FALSE(make_vendor_specific(9, 256, bytes("x")).ok());
  EXPECT_FALSE(make_vendor_specific(9, 70000, bytes("x"), {2, 1, false}).ok());
  EXPECT_TRUE(make_vendor_specific(9, 1, std::vector<std::uint8_t>(247, 1)).ok());
  auto big = make_vendor_specific(9, 1, std::vector<std::uint8_t>(248, 1));
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().context,
            "vendor 9 attribute 1 value of 248 octets does not fit in one Vendor-Specific "
            "attribute");
}

}  // namespace
}  // namespace bngkit::bng::radius
