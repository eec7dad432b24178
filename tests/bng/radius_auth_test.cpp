// RADIUS cryptography: MD5/HMAC-MD5 vectors, User-Password and Tunnel-Password hiding, CHAP,
// Message-Authenticator and Request/Response Authenticators against RFC 2865 examples,
// FreeRADIUS radclient captures and replies signed by an independent Python implementation.
#include <gtest/gtest.h>
#include <openssl/hmac.h>

#include <bngkit/bng/radius/auth.hpp>
#include <random>

#include "radius_test_util.hpp"

namespace bngkit::bng::radius {
namespace {

using test::fixture;

Packet parsed(const std::string& name) {
  auto packet = Packet::parse(fixture(name));
  EXPECT_TRUE(packet.ok()) << name;
  return packet.ok() ? *packet : Packet{};
}

TEST(RadiusCrypto, Md5MatchesRfc1321) {
  EXPECT_EQ(to_hex(*md5({})), "0xd41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(to_hex(*md5({as_bytes("abc")})), "0x900150983cd24fb0d6963f7d28e17f72");
  // Parts are concatenated.
  EXPECT_EQ(to_hex(*md5({as_bytes("message "), as_bytes("digest")})),
            "0xf96b697d7cb7938d525a2f31aaf161d0");
}

TEST(RadiusCrypto, HmacMd5MatchesRfc2202) {
  const std::vector<std::uint8_t> key1(16, 0x0b);
  EXPECT_EQ(to_hex(*hmac_md5(key1, {as_bytes("Hi There")})), "0x9294727a3638bb1c13f48ef8158bfc9d");
  EXPECT_EQ(
      to_hex(*hmac_md5(as_bytes("Jefe"), {as_bytes("what do ya want "), as_bytes("for nothing?")})),
      "0x750c783e6ab0b503eaa86e310a5db738");
  const std::vector<std::uint8_t> key3(16, 0xaa);
  const std::vector<std::uint8_t> data3(50, 0xdd);
  EXPECT_EQ(to_hex(*hmac_md5(key3, {data3})), "0x56be34521d144c88dbb8c733f0e8b3f6");
  // Key longer than the 64-octet block is hashed first.
  const std::vector<std::uint8_t> key6(80, 0xaa);
  EXPECT_EQ(to_hex(*hmac_md5(key6, {as_bytes("Test Using Larger Than Block-Size Key - Hash Key "
                                             "First")})),
            "0x6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd");
}

TEST(RadiusCrypto, HmacMd5AgreesWithOpenSslHmac) {
  std::mt19937 rng(7);
  for (std::size_t key_size : {0u, 1u, 9u, 63u, 64u, 65u, 200u}) {
    for (std::size_t data_size : {0u, 1u, 20u, 64u, 4096u}) {
      std::vector<std::uint8_t> key(key_size);
      std::vector<std::uint8_t> data(data_size);
      for (auto& b : key) b = static_cast<std::uint8_t>(rng());
      for (auto& b : data) b = static_cast<std::uint8_t>(rng());
      Md5Digest expected{};
      unsigned int size = 0;
      // OpenSSL refuses a null key pointer, which an empty vector may give.
      const std::uint8_t no_key = 0;
      ASSERT_NE(HMAC(EVP_md5(), key.empty() ? &no_key : key.data(), static_cast<int>(key.size()),
                     data.data(), data.size(), expected.data(), &size),
                nullptr);
      EXPECT_EQ(*hmac_md5(key, {data}), expected) << key_size << "/" << data_size;
    }
  }
}

TEST(RadiusPassword, HidesArctangentAsRfc2865Prints) {
  const Packet request = parsed("rfc2865_7_1_access_request");
  auto hidden = hide_password("arctangent", "xyzzy5461", request.authenticator);
  ASSERT_TRUE(hidden.ok());
  const auto sent = request.find(attr::kUserPassword)->value();
  EXPECT_EQ(to_hex(*hidden), to_hex(sent));
  EXPECT_EQ(*get_user_password(request, "xyzzy5461"), "arctangent");
}

TEST(RadiusPassword, UnhidesRfc2865ChallengeAndRadclientPasswords) {
  EXPECT_EQ(*get_user_password(parsed("rfc2865_7_3_access_request_1"), "xyzzy5461"), "challenge");
  EXPECT_EQ(*get_user_password(parsed("rfc2865_7_3_access_request_2"), "xyzzy5461"), "99101462");
  // 28 octets: two blocks, the second chained on the first.
  EXPECT_EQ(*get_user_password(parsed("radclient_access_request_bbf"), "testing123"),
            "correct horse battery staple");
  EXPECT_NE(*get_user_password(parsed("radclient_access_request_bbf"), "testing124"),
            "correct horse battery staple");
}

TEST(RadiusPassword, RoundTripsEveryLengthFrom0To128) {
  std::mt19937 rng(1);
  for (std::size_t length = 0; length <= kMaxPasswordLength; ++length) {
    std::string password(length, '\0');
    for (auto& c : password) c = static_cast<char>(1 + rng() % 255);  // no NUL: it is padding
    Authenticator auth{};
    for (auto& b : auth) b = static_cast<std::uint8_t>(rng());
    auto hidden = hide_password(password, "s3cret-shared", auth);
    ASSERT_TRUE(hidden.ok()) << length;
    EXPECT_EQ(hidden->size(), std::max<std::size_t>(16, (length + 15) / 16 * 16));
    if (length > 0) {
      EXPECT_NE(std::string(hidden->begin(), hidden->begin() + static_cast<std::ptrdiff_t>(length)),
                password);
    }
    auto clear = unhide_password(*hidden, "s3cret-shared", auth);
    ASSERT_TRUE(clear.ok()) << length;
    EXPECT_EQ(*clear, password) << length;
  }
}

TEST(RadiusPassword, RefusesWhatRfc2865Forbids) {
  const Authenticator auth{};
  auto too_long = hide_password(std::string(129, 'p'), "s", auth);
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.error().context, "User-Password of 129 octets exceeds 128 (RFC 2865 5.2)");
  EXPECT_EQ(hide_password("p", "", auth).error().context, "the RADIUS shared secret is empty");
  for (std::size_t size : {0u, 15u, 17u, 144u}) {
    auto bad = unhide_password(std::vector<std::uint8_t>(size, 1), "s", auth);
    ASSERT_FALSE(bad.ok()) << size;
    EXPECT_EQ(bad.error().context, "hidden User-Password of " + std::to_string(size) +
                                       " octets is not 16-128 in blocks of 16 (RFC 2865 5.2)");
  }
}

TEST(RadiusPassword, SetUserPasswordReplacesInPlace) {
  Packet request(Code::kAccessRequest, 1, *random_authenticator());
  ASSERT_TRUE(request.add(attr::kUserName, "u").ok());
  ASSERT_TRUE(set_user_password(request, "first", "secret").ok());
  request.add_integer(attr::kNasPort, 1);
  ASSERT_TRUE(set_user_password(request, "second", "secret").ok());
  ASSERT_EQ(request.attributes.size(), 3u);
  EXPECT_EQ(request.attributes[1].type(), attr::kUserPassword);
  EXPECT_EQ(*get_user_password(request, "secret"), "second");
  request.add(request.attributes[1]);
  EXPECT_EQ(get_user_password(request, "secret").error().context,
            "Access-Request has 2 User-Password attributes, expected 1");
}

TEST(RadiusTunnelPassword, MatchesIndependentImplementation) {
  const Packet request = parsed("radclient_access_request_bbf");
  const Packet reference = parsed("ref_access_accept_tunnel");
  const auto value = reference.find(attr::kTunnelPassword)->value();
  ASSERT_EQ(value[0], 1);  // tag
  EXPECT_EQ(*unhide_tunnel_password(value.subspan(1), "testing123", request.authenticator),
            "tunnel-secret-0123456789");

  // The same reply, built here, is the same octets.
  Packet accept = request.make_response(Code::kAccessAccept);
  ASSERT_TRUE(accept.add(attr::kTunnelType, std::vector<std::uint8_t>{1, 0, 0, 3}).ok());
  ASSERT_TRUE(accept.add(attr::kTunnelMediumType, std::vector<std::uint8_t>{1, 0, 0, 1}).ok());
  ASSERT_TRUE(accept
                  .add(attr::kTunnelServerEndpoint,
                       "\x01"
                       "192.0.2.50")
                  .ok());
  auto hidden = hide_tunnel_password("tunnel-secret-0123456789", "testing123",
                                     request.authenticator, {0x01, 0x23});  // high bit forced
  ASSERT_TRUE(hidden.ok());
  std::vector<std::uint8_t> tagged{1};
  tagged.insert(tagged.end(), hidden->begin(), hidden->end());
  ASSERT_TRUE(accept.add(attr::kTunnelPassword, tagged).ok());
  // The reference has its Message-Authenticator last; encode fills in one already there.
  ASSERT_TRUE(accept.add(attr::kMessageAuthenticator, Authenticator{}).ok());
  auto wire = encode(accept, "testing123", {.request_auth = request.authenticator});
  ASSERT_TRUE(wire.ok()) << wire.error().message();
  EXPECT_EQ(to_hex(*wire), to_hex(fixture("ref_access_accept_tunnel")));
}

TEST(RadiusTunnelPassword, RoundTripsAndRefusesBadInput) {
  const Authenticator auth{9, 8, 7};
  for (std::size_t length : {0u, 1u, 14u, 15u, 16u, 100u, 239u}) {
    const std::string password(length, 'k');
    auto hidden = hide_tunnel_password(password, "secret", auth, {0x12, 0x34});
    ASSERT_TRUE(hidden.ok()) << length;
    EXPECT_EQ((*hidden)[0], 0x92);  // RFC 2868: salt's high bit set
    EXPECT_LE(hidden->size() + 1, kMaxAttributeValue);
    EXPECT_EQ(*unhide_tunnel_password(*hidden, "secret", auth), password);
  }
  EXPECT_FALSE(hide_tunnel_password(std::string(240, 'k'), "secret", auth, {}).ok());
  EXPECT_FALSE(unhide_tunnel_password(std::vector<std::uint8_t>(17, 0), "secret", auth).ok());
  EXPECT_FALSE(unhide_tunnel_password(std::vector<std::uint8_t>(19, 0), "secret", auth).ok());
  // A wrong secret decodes to a length that does not fit (with overwhelming probability here).
  auto hidden = hide_tunnel_password("pw", "secret", auth, {0x80, 1});
  auto wrong = unhide_tunnel_password(*hidden, "other", auth);
  EXPECT_TRUE(!wrong.ok() || *wrong != "pw");
}

TEST(RadiusChap, VerifiesRadclientChapWithAuthenticatorAsChallenge) {
  const Packet request = parsed("radclient_access_request_chap");
  EXPECT_EQ(request.find(attr::kChapChallenge), nullptr);
  EXPECT_TRUE(verify_chap_password(request, "rabbit-hole").ok());
  auto wrong = verify_chap_password(request, "rabbit-hold");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().context, "CHAP-Password does not match");
  EXPECT_EQ(wrong.error().code, std::errc::permission_denied);
  const auto expected = chap_password(request.find(attr::kChapPassword)->value()[0], "rabbit-hole",
                                      request.authenticator);
  EXPECT_EQ(to_hex(*expected), to_hex(request.find(attr::kChapPassword)->value()));
}

TEST(RadiusChap, UsesChapChallengeWhenPresent) {
  Packet request(Code::kAccessRequest, 3, *random_authenticator());
  const std::vector<std::uint8_t> challenge = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10,
                                               11, 12, 13, 14, 15, 16, 17, 18, 19, 20};
  ASSERT_TRUE(request.add(attr::kChapChallenge, challenge).ok());
  ASSERT_TRUE(request.add(attr::kChapPassword, *chap_password(0x42, "pw", challenge)).ok());
  EXPECT_TRUE(verify_chap_password(request, "pw").ok());
  request.erase(attr::kChapChallenge);
  EXPECT_FALSE(verify_chap_password(request, "pw").ok());

  Packet bad(Code::kAccessRequest, 3);
  EXPECT_EQ(verify_chap_password(bad, "pw").error().context, "Access-Request has no CHAP-Password");
  ASSERT_TRUE(bad.add(attr::kChapPassword, std::vector<std::uint8_t>(16, 0)).ok());
  EXPECT_EQ(verify_chap_password(bad, "pw").error().context,
            "CHAP-Password of 16 octets is not 17 (RFC 2865 5.3)");
}

TEST(RadiusAuthenticator, VerifiesRfc2865Responses) {
  const std::pair<const char*, const char*> pairs[] = {
      {"rfc2865_7_1_access_request", "rfc2865_7_1_access_accept"},
      {"rfc2865_7_2_access_request_chap", "rfc2865_7_2_access_accept"},
      {"rfc2865_7_3_access_request_1", "rfc2865_7_3_access_challenge"},
      {"rfc2865_7_3_access_request_2", "rfc2865_7_3_access_reject"},
  };
  for (const auto& [request_name, response_name] : pairs) {
    SCOPED_TRACE(response_name);
    const Packet request = parsed(request_name);
    auto response = fixture(response_name);
    EXPECT_TRUE(verify_response(response, request.authenticator, "xyzzy5461").ok());
    EXPECT_FALSE(verify_response(response, request.authenticator, "xyzzy5462").ok());
    EXPECT_FALSE(verify_request(response, "xyzzy5461").ok());
    // Any changed octet is caught.
    for (std::size_t i = 0; i < response.size(); ++i) {
      if (i == 2 || i == 3) continue;  // Length: framing, not authentication
      auto tampered = response;
      tampered[i] ^= 0x01;
      EXPECT_FALSE(verify_response(tampered, request.authenticator, "xyzzy5461").ok()) << i;
    }
  }
  const Packet request = parsed("rfc2865_7_1_access_request");
  auto tampered = fixture("rfc2865_7_1_access_accept");
  tampered.back() ^= 0xff;
  EXPECT_EQ(verify_response(tampered, request.authenticator, "xyzzy5461").error().context,
            "Access-Accept Response Authenticator does not match (wrong shared secret or "
            "request?)");
}

TEST(RadiusAuthenticator, VerifiesEveryRadclientRequest) {
  for (const char* name :
       {"radclient_access_request_bbf", "radclient_access_request_chap",
        "radclient_access_request_eap", "radclient_accounting_start", "radclient_accounting_stop",
        "radclient_coa_request", "radclient_disconnect_request", "radclient_status_server"}) {
    SCOPED_TRACE(name);
    const auto wire = fixture(name);
    auto verified = verify_request(wire, "testing123");
    EXPECT_TRUE(verified.ok()) << verified.error().message();
  }
  EXPECT_EQ(verify_request(fixture("radclient_accounting_start"), "wrong").error().context,
            "Accounting-Request Request Authenticator does not match (wrong shared secret?)");
  EXPECT_EQ(verify_request(fixture("radclient_disconnect_request"), "wrong").error().context,
            "Disconnect-Request Request Authenticator does not match (wrong shared secret?)");
  EXPECT_EQ(verify_request(fixture("radclient_access_request_bbf"), "wrong").error().context,
            "Access-Request Message-Authenticator does not match (wrong shared secret?)");
  EXPECT_EQ(verify_request(fixture("radclient_status_server"), "wrong").error().context,
            "Status-Server Message-Authenticator does not match (wrong shared secret?)");
  // An Access-Request without Message-Authenticator has nothing to check...
  EXPECT_TRUE(verify_request(fixture("radclient_access_request_chap"), "wrong").ok());
  // ...unless the caller demands one.
  EXPECT_EQ(verify_request(fixture("radclient_access_request_chap"), "testing123",
                           {.require_message_authenticator = true})
                .error()
                .context,
            "RADIUS packet has no Message-Authenticator");
}

TEST(RadiusMessageAuthenticator, MatchesRadclientVectors) {
  for (const char* name : {"radclient_access_request_bbf", "radclient_access_request_eap",
                           "radclient_coa_request", "radclient_status_server"}) {
    SCOPED_TRACE(name);
    const auto wire = fixture(name);
    auto computed = compute_message_authenticator(wire, "testing123");
    ASSERT_TRUE(computed.ok()) << computed.error().message();
    const Packet packet = *Packet::parse(wire);
    EXPECT_EQ(to_hex(*computed), to_hex(packet.find(attr::kMessageAuthenticator)->value()));
  }
  // The bbf request's HMAC, written out as a known vector.
  EXPECT_EQ(
      to_hex(*compute_message_authenticator(fixture("radclient_access_request_bbf"), "testing123")),
      "0x677e1aeedbcfbc40717d6d1368b37b24");
}

TEST(RadiusMessageAuthenticator, EapNeedsOneWellFormedMessageAuthenticator) {
  Packet eap = parsed("radclient_access_request_eap");
  eap.erase(attr::kMessageAuthenticator);
  auto without = eap.serialize();
  EXPECT_EQ(verify_request(*without, "testing123").error().context,
            "RADIUS packet has no Message-Authenticator");

  Packet twice = parsed("radclient_access_request_eap");
  twice.add(*twice.find(attr::kMessageAuthenticator));
  EXPECT_EQ(verify_request(*twice.serialize(), "testing123").error().context,
            "RADIUS packet has 2 Message-Authenticator attributes");

  Packet short_ma = parsed("radclient_access_request_eap");
  short_ma.erase(attr::kMessageAuthenticator);
  ASSERT_TRUE(short_ma.add(attr::kMessageAuthenticator, std::vector<std::uint8_t>(15, 0)).ok());
  EXPECT_EQ(verify_request(*short_ma.serialize(), "testing123").error().context,
            "Message-Authenticator value is not 16 octets (RFC 3579 3.2)");
}

TEST(RadiusEncode, ReproducesRadclientRequestsExactly) {
  // Accounting, CoA and Disconnect authenticators are deterministic; Access-Request and
  // Status-Server keep their random authenticator and get the same Message-Authenticator.
  for (const char* name :
       {"radclient_accounting_start", "radclient_accounting_stop", "radclient_coa_request",
        "radclient_disconnect_request", "radclient_access_request_bbf",
        "radclient_access_request_eap", "radclient_status_server"}) {
    SCOPED_TRACE(name);
    const auto wire = fixture(name);
    Packet packet = *Packet::parse(wire);
    if (authenticator_kind(packet.code) == AuthenticatorKind::kRequest) packet.authenticator = {};
    for (auto& attribute : packet.attributes) {
      if (attribute.type() == attr::kMessageAuthenticator) {
        attribute = *Attribute::make(attr::kMessageAuthenticator, Authenticator{});
      }
    }
    auto out = encode(packet, "testing123");
    ASSERT_TRUE(out.ok()) << out.error().message();
    EXPECT_EQ(to_hex(*out), to_hex(wire));
    EXPECT_EQ(*packet.serialize(), wire);  // the packet now holds what was sent
  }
}

TEST(RadiusEncode, RepliesMatchIndependentImplementation) {
  struct Case {
    const char* request;
    const char* reply;
    bool has_message_authenticator;
  };
  for (const Case& c : {Case{"radclient_access_request_bbf", "ref_access_accept", true},
                        Case{"radclient_coa_request", "ref_coa_ack", true},
                        Case{"radclient_disconnect_request", "ref_disconnect_nak", false},
                        Case{"radclient_accounting_start", "ref_accounting_response", false}}) {
    SCOPED_TRACE(c.reply);
    const Packet request = parsed(c.request);
    const auto expected = fixture(c.reply);
    auto verified = verify_response(expected, request.authenticator, "testing123",
                                    {.require_message_authenticator = c.has_message_authenticator});
    EXPECT_TRUE(verified.ok()) << verified.error().message();
    // Rebuild from the parsed attributes (Message-Authenticator zeroed, authenticator unset).
    const Packet reference = *Packet::parse(expected);
    Packet reply = request.make_response(reference.code);
    for (const auto& attribute : reference.attributes) {
      reply.add(attribute.type() == attr::kMessageAuthenticator
                    ? *Attribute::make(attr::kMessageAuthenticator, Authenticator{})
                    : attribute);
    }
    auto out = encode(reply, "testing123", {.request_auth = request.authenticator});
    ASSERT_TRUE(out.ok()) << out.error().message();
    EXPECT_EQ(to_hex(*out), to_hex(expected));
  }
}

TEST(RadiusEncode, BuildsAccessAcceptWithTypedAttributes) {
  const Packet request = parsed("radclient_access_request_bbf");
  Packet accept = request.make_response(Code::kAccessAccept);
  accept.add_ipaddr(attr::kFramedIpAddress, Ipv4(198, 51, 100, 23));
  accept.add_integer(attr::kSessionTimeout, 86400);
  accept.add_integer(attr::kAcctInterimInterval, 300);
  ASSERT_TRUE(accept.add(attr::kClass, "plan-gold").ok());
  Ipv6Prefix framed{64, {0x20, 0x01, 0x0d, 0xb8, 0xab, 0xcd, 0x00, 0x12}};
  ASSERT_TRUE(accept.add(attr::kFramedIpv6Prefix, *encode_ipv6prefix(framed)).ok());
  Ipv6Prefix delegated{56, {0x20, 0x01, 0x0d, 0xb8, 0x00, 0x12, 0x00}};
  ASSERT_TRUE(accept.add(attr::kDelegatedIpv6Prefix, *encode_ipv6prefix(delegated)).ok());
  ASSERT_TRUE(accept.add(attr::kMessageAuthenticator, Authenticator{}).ok());  // last, as there
  auto out = encode(accept, "testing123", {.request_auth = request.authenticator});
  ASSERT_TRUE(out.ok()) << out.error().message();
  EXPECT_EQ(to_hex(*out), to_hex(fixture("ref_access_accept")));
}

TEST(RadiusEncode, AddedMessageAuthenticatorComesFirst) {
  // Blast-RADIUS (CVE-2024-3596) mitigation: Message-Authenticator first in Access-Request and
  // in replies, and replies checked for it.
  Packet request(Code::kAccessRequest, 8, *random_authenticator());
  ASSERT_TRUE(request.add(attr::kUserName, "u").ok());
  ASSERT_TRUE(set_user_password(request, "p", "s").ok());
  auto wire = encode(request, "s", {.add_message_authenticator = true});
  ASSERT_TRUE(wire.ok());
  EXPECT_EQ(request.attributes[0].type(), attr::kMessageAuthenticator);
  EXPECT_EQ((*wire)[20], attr::kMessageAuthenticator);
  EXPECT_TRUE(verify_request(*wire, "s", {.require_message_authenticator = true}).ok());

  Packet accept = request.make_response(Code::kAccessAccept);
  accept.add_integer(attr::kSessionTimeout, 60);
  auto reply = encode(accept, "s",
                      {.add_message_authenticator = true, .request_auth = request.authenticator});
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ((*reply)[20], attr::kMessageAuthenticator);
  EXPECT_TRUE(
      verify_response(*reply, request.authenticator, "s", {.require_message_authenticator = true})
          .ok());
  // A reply without one is refused when one is required.
  Packet bare = request.make_response(Code::kAccessAccept);
  auto bare_wire = encode(bare, "s", {.request_auth = request.authenticator});
  EXPECT_TRUE(verify_response(*bare_wire, request.authenticator, "s").ok());
  EXPECT_EQ(verify_response(*bare_wire, request.authenticator, "s",
                            {.require_message_authenticator = true})
                .error()
                .context,
            "RADIUS packet has no Message-Authenticator");

  // A packet that fits only without the Message-Authenticator (4084 + 18 octets) is left as it
  // was.
  Packet big(Code::kAccessRequest, 9, *random_authenticator());
  for (int i = 0; i < 16; ++i) {
    ASSERT_TRUE(big.add(attr::kClass, std::vector<std::uint8_t>(252, 1)).ok());
  }
  EXPECT_FALSE(encode(big, "s", {.add_message_authenticator = true}).ok());
  EXPECT_EQ(big.count(attr::kMessageAuthenticator), 0u);
}

TEST(RadiusEncode, AddsMessageAuthenticatorWhereRequired) {
  Packet status(Code::kStatusServer, 5, *random_authenticator());
  ASSERT_TRUE(status.add(attr::kNasIdentifier, "bng-1").ok());
  auto wire = encode(status, "s");
  ASSERT_TRUE(wire.ok());
  EXPECT_EQ(status.count(attr::kMessageAuthenticator), 1u);
  EXPECT_TRUE(verify_request(*wire, "s").ok());

  Packet eap(Code::kAccessRequest, 6, *random_authenticator());
  ASSERT_TRUE(eap.add(attr::kEapMessage, std::vector<std::uint8_t>{2, 1, 0, 5, 1}).ok());
  wire = encode(eap, "s");
  ASSERT_TRUE(wire.ok());
  EXPECT_EQ(eap.count(attr::kMessageAuthenticator), 1u);
  EXPECT_TRUE(verify_request(*wire, "s", {.require_message_authenticator = true}).ok());
}

TEST(RadiusEncode, RefusesWhatCannotBeSigned) {
  Packet request(Code::kAccessRequest, 1);
  EXPECT_EQ(encode(request, "s").error().context,
            "Access-Request has an all-zero authenticator: set one from random_authenticator()");
  Packet reply(Code::kAccessAccept, 1);
  EXPECT_EQ(encode(reply, "s").error().context,
            "Access-Accept is a reply: the Request Authenticator is needed to sign it");
  Packet unknown(static_cast<Code>(99), 1);
  EXPECT_EQ(encode(unknown, "s").error().context, "RADIUS code 99 has no known authenticator rule");
  Packet acct(Code::kAccountingRequest, 1);
  EXPECT_EQ(encode(acct, "").error().context, "the RADIUS shared secret is empty");
  std::vector<std::uint8_t> runt(10, 0);
  EXPECT_FALSE(sign(runt, "s").ok());
}

TEST(RadiusEncode, RandomAuthenticatorsDiffer) {
  auto a = random_authenticator();
  auto b = random_authenticator();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
  EXPECT_NE(*a, Authenticator{});
}

TEST(RadiusEncode, SignedAccountingVerifiesAndTamperingIsCaught) {
  Packet acct(Code::kAccountingRequest, 77);
  acct.add_integer(attr::kAcctStatusType,
                   static_cast<std::uint32_t>(AcctStatusType::kInterimUpdate));
  ASSERT_TRUE(acct.add(attr::kAcctSessionId, "abc").ok());
  auto wire = encode(acct, "shared");
  ASSERT_TRUE(wire.ok());
  EXPECT_TRUE(verify_request(*wire, "shared").ok());
  (*wire)[wire->size() - 1] ^= 1;
  EXPECT_FALSE(verify_request(*wire, "shared").ok());
}

}  // namespace
}  // namespace bngkit::bng::radius
