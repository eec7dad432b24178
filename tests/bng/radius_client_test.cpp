// RADIUS client against fake servers on loopback: verified replies, retransmission, failover,
// dead-time hold-down, bad replies dropped, accounting retransmissions, >256 in flight, stop().
#include <gtest/gtest.h>

#include <bngkit/bng/radius/client.hpp>

#include "radius_loopback.hpp"

namespace bngkit::bng::radius::test {
namespace {

using namespace std::chrono_literals;

ServerConfig server_config(const FakeServer& server, const std::string& secret) {
  ServerConfig config;
  config.host = "127.0.0.1";
  config.auth_port = server.port();
  config.acct_port = server.port();  // the fake answers both kinds on one port
  config.secret = secret;
  return config;
}

Packet access_request(const std::string& user) {
  Packet packet(Code::kAccessRequest, 0);
  EXPECT_TRUE(packet.add(attr::kUserName, user).ok());
  return packet;
}

Packet accounting_request(const std::string& session) {
  Packet packet(Code::kAccountingRequest, 0);
  EXPECT_TRUE(packet.add(attr::kUserName, "alice").ok());
  packet.add_integer(attr::kAcctStatusType, static_cast<std::uint32_t>(AcctStatusType::kStart));
  EXPECT_TRUE(packet.add(attr::kAcctSessionId, session).ok());
  return packet;
}

/// Collects one callback's result.
struct Outcome {
  std::optional<Result<Packet>> result;
  Client::Callback callback() {
    return [this](Result<Packet> r) { result.emplace(std::move(r)); };
  }
  [[nodiscard]] bool done() const { return result.has_value(); }
};

class RadiusClientTest : public ::testing::Test {
 protected:
  std::unique_ptr<Client> make_client(std::vector<ServerConfig> servers,
                                      std::chrono::milliseconds timeout = 100ms,
                                      unsigned retries = 2, std::chrono::seconds dead_time = 30s) {
    ClientOptions options;
    options.servers = std::move(servers);
    options.timeout = timeout;
    options.retries = retries;
    options.dead_time = dead_time;
    options.nas_ip = Ipv4(192, 0, 2, 1);
    options.nas_identifier = "bng-test";
    auto client = Client::create(io, std::move(options));
    EXPECT_TRUE(client.ok()) << client.error().message();
    return client.ok() ? std::move(*client) : nullptr;
  }

  asio::io_context io;
};

TEST_F(RadiusClientTest, AccessRequestIsSignedAndTheVerifiedAcceptComesBack) {
  FakeServer server(io, "s3cret");
  server.add_message_authenticator = true;
  auto client = make_client({server_config(server, "s3cret")});
  Outcome outcome;
  client->send(Request{access_request("alice"), std::string("pa55word")}, outcome.callback());
  EXPECT_FALSE(outcome.done()) << "the callback must not run inside send()";
  ASSERT_TRUE(run_until(io, [&] { return outcome.done(); }));
  ASSERT_TRUE(outcome.result->ok()) << outcome.result->error().message();
  const Packet& reply = outcome.result->value();
  EXPECT_EQ(reply.code, Code::kAccessAccept);
  ASSERT_NE(reply.find(attr::kFramedIpAddress), nullptr);
  EXPECT_EQ(*decode_ipaddr(reply.find(attr::kFramedIpAddress)->value()), Ipv4(10, 0, 0, 9));

  // What went out: the password hidden under the server's secret, a valid
  // Message-Authenticator (first, per the Blast-RADIUS mitigations), the NAS attributes.
  ASSERT_EQ(server.received.size(), 1u);
  EXPECT_TRUE(verify_request(server.received[0], "s3cret", {true}).ok());
  const Packet sent = server.packets()[0];
  EXPECT_EQ(sent.attributes.front().type(), attr::kMessageAuthenticator);
  EXPECT_EQ(*get_user_password(sent, "s3cret"), "pa55word");
  EXPECT_EQ(*decode_ipaddr(sent.find(attr::kNasIpAddress)->value()), Ipv4(192, 0, 2, 1));
  EXPECT_EQ(sent.find(attr::kNasIdentifier)->text(), "bng-test");

  const auto stats = client->stats();
  ASSERT_EQ(stats.auth.size(), 1u);
  EXPECT_EQ(stats.auth[0].name, "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(stats.auth[0].requests, 1u);
  EXPECT_EQ(stats.auth[0].responses, 1u);
  EXPECT_EQ(stats.auth[0].retransmits, 0u);
  EXPECT_EQ(stats.auth[0].latency.count, 1u);
  EXPECT_GT(stats.auth[0].latency.sum_seconds, 0.0);
  std::uint64_t bucketed = 0;
  for (auto c : stats.auth[0].latency.counts) bucketed += c;
  EXPECT_EQ(bucketed, 1u);
  EXPECT_EQ(stats.in_flight, 0u);
  EXPECT_EQ(stats.failed, 0u);
}

TEST_F(RadiusClientTest, SilentServerIsRetriedThenFailedOverThenHeldDownThenRetriedLater) {
  FakeServer first(io, "secret-a");
  first.mode = FakeServer::Mode::kSilent;
  FakeServer second(io, "secret-b");
  auto client = make_client({server_config(first, "secret-a"), server_config(second, "secret-b")},
                            80ms, 2, 1s);
  Outcome outcome;
  client->send(Request{access_request("bob"), std::string("pw")}, outcome.callback());
  ASSERT_TRUE(run_until(io, [&] { return outcome.done(); }));
  ASSERT_TRUE(outcome.result->ok()) << outcome.result->error().message();

  // 1 + 2 retransmissions to the first server, byte for byte the same packet.
  ASSERT_EQ(first.received.size(), 3u);
  EXPECT_EQ(first.received[1], first.received[0]);
  EXPECT_EQ(first.received[2], first.received[0]);
  // The second server got the password under its own secret.
  ASSERT_EQ(second.received.size(), 1u);
  EXPECT_EQ(*get_user_password(second.packets()[0], "secret-b"), "pw");

  auto stats = client->stats();
  EXPECT_EQ(stats.auth[0].requests, 1u);
  EXPECT_EQ(stats.auth[0].retransmits, 2u);
  EXPECT_EQ(stats.auth[0].timeouts, 1u);
  EXPECT_FALSE(stats.auth[0].alive);
  EXPECT_TRUE(stats.auth[1].alive);
  EXPECT_EQ(stats.auth[1].responses, 1u);
  EXPECT_TRUE(stats.acct[0].alive) << "the acct port has its own state";

  // Held down: the next request goes straight to the second server.
  Outcome held;
  client->send(Request{access_request("bob"), std::string("pw")}, held.callback());
  ASSERT_TRUE(run_until(io, [&] { return held.done(); }));
  ASSERT_TRUE(held.result->ok());
  EXPECT_EQ(first.received.size(), 3u);
  EXPECT_EQ(second.received.size(), 2u);

  // After the dead time the first server is tried again, and it answers now.
  run_for(io, 1100ms);
  first.mode = FakeServer::Mode::kReply;
  Outcome revived;
  client->send(Request{access_request("bob"), std::string("pw")}, revived.callback());
  ASSERT_TRUE(run_until(io, [&] { return revived.done(); }));
  ASSERT_TRUE(revived.result->ok());
  EXPECT_EQ(first.received.size(), 4u);
  EXPECT_EQ(second.received.size(), 2u);
  stats = client->stats();
  EXPECT_TRUE(stats.auth[0].alive);
  EXPECT_EQ(stats.auth[0].responses, 1u);
}

TEST_F(RadiusClientTest, EveryServerSilentFailsWithTimeout) {
  FakeServer first(io, "a");
  first.mode = FakeServer::Mode::kSilent;
  FakeServer second(io, "b");
  second.mode = FakeServer::Mode::kSilent;
  auto client = make_client({server_config(first, "a"), server_config(second, "b")}, 50ms, 1);
  Outcome outcome;
  client->send(accounting_request("s1"), outcome.callback());
  ASSERT_TRUE(run_until(io, [&] { return outcome.done(); }));
  ASSERT_FALSE(outcome.result->ok());
  EXPECT_EQ(outcome.result->error().code, std::errc::timed_out);
  EXPECT_NE(outcome.result->error().message().find("no reply from any RADIUS server"),
            std::string::npos);
  EXPECT_EQ(outcome.result->error().message().find("\"a\""), std::string::npos);
  EXPECT_EQ(first.received.size(), 2u);
  EXPECT_EQ(second.received.size(), 2u);
  const auto stats = client->stats();
  EXPECT_EQ(stats.failed, 1u);
  EXPECT_EQ(stats.in_flight, 0u);
  EXPECT_FALSE(stats.acct[0].alive);
  EXPECT_FALSE(stats.acct[1].alive);

  // Both held down: the next request still tries them (in order) rather than failing blind.
  first.mode = FakeServer::Mode::kReply;
  Outcome again;
  client->send(accounting_request("s2"), again.callback());
  ASSERT_TRUE(run_until(io, [&] { return again.done(); }));
  EXPECT_TRUE(again.result->ok());
}

TEST_F(RadiusClientTest, BadAuthenticatorAndWrongSourceRepliesAreDroppedAndCounted) {
  FakeServer server(io, "good");
  server.mode = FakeServer::Mode::kBadAuthenticator;
  server.chase_with_good = true;
  auto client = make_client({server_config(server, "good")}, 200ms, 0);
  Outcome outcome;
  client->send(Request{access_request("carol"), std::string("x")}, outcome.callback());
  ASSERT_TRUE(run_until(io, [&] { return outcome.done(); }));
  ASSERT_TRUE(outcome.result->ok()) << "the good reply after the forged one is taken";
  auto stats = client->stats();
  EXPECT_EQ(stats.auth[0].bad_responses, 1u);
  EXPECT_EQ(stats.auth[0].responses, 1u);

  // Only forged replies: nothing is accepted, the request times out.
  server.chase_with_good = false;
  Outcome forged;
  client->send(Request{access_request("carol"), std::string("x")}, forged.callback());
  ASSERT_TRUE(run_until(io, [&] { return forged.done(); }));
  EXPECT_FALSE(forged.result->ok());
  EXPECT_EQ(client->stats().auth[0].bad_responses, 2u);

  // A correctly signed reply from the wrong port is not the server's.
  FakeServer other(io, "good");
  other.mode = FakeServer::Mode::kWrongSource;
  auto client2 = make_client({server_config(other, "good")}, 100ms, 0);
  Outcome wrong;
  client2->send(Request{access_request("carol"), std::string("x")}, wrong.callback());
  ASSERT_TRUE(run_until(io, [&] { return wrong.done(); }));
  EXPECT_FALSE(wrong.result->ok());
  EXPECT_EQ(client2->stats().auth[0].bad_responses, 1u);
}

TEST_F(RadiusClientTest, RequiredMessageAuthenticatorMissingIsDropped) {
  FakeServer server(io, "k");
  ClientOptions options;
  options.servers = {server_config(server, "k")};
  options.timeout = 80ms;
  options.retries = 0;
  options.require_message_authenticator = true;
  auto client = Client::create(io, options).value();
  Outcome without;
  client->send(Request{access_request("dave"), std::string("x")}, without.callback());
  ASSERT_TRUE(run_until(io, [&] { return without.done(); }));
  EXPECT_FALSE(without.result->ok());
  EXPECT_EQ(client->stats().auth[0].bad_responses, 1u);

  server.add_message_authenticator = true;
  Outcome with;
  client->send(Request{access_request("dave"), std::string("x")}, with.callback());
  ASSERT_TRUE(run_until(io, [&] { return with.done(); }));
  EXPECT_TRUE(with.result->ok());
}

TEST_F(RadiusClientTest, AccountingRetransmissionsUpdateAcctDelayTimeAndAreResigned) {
  FakeServer server(io, "acct");
  server.ignore_first = 3;
  auto client = make_client({server_config(server, "acct")}, 600ms, 3);
  Packet packet = accounting_request("sess-1");
  packet.add_integer(attr::kAcctDelayTime, 5);  // the caller already waited 5 s
  Outcome outcome;
  client->send(std::move(packet), outcome.callback());
  ASSERT_TRUE(run_until(
      io, [&] { return outcome.done(); }, 4000ms));
  ASSERT_TRUE(outcome.result->ok()) << outcome.result->error().message();
  EXPECT_EQ(outcome.result->value().code, Code::kAccountingResponse);

  ASSERT_EQ(server.received.size(), 4u);
  std::uint32_t previous = 0;
  std::set<std::uint8_t> identifiers;
  for (std::size_t i = 0; i < server.received.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_TRUE(verify_request(server.received[i], "acct").ok()) << "each one re-signed";
    const Packet sent = *Packet::parse(server.received[i]);
    identifiers.insert(sent.identifier);
    EXPECT_EQ(sent.count(attr::kAcctDelayTime), 1u);
    const auto delay = *decode_integer(sent.find(attr::kAcctDelayTime)->value());
    EXPECT_GE(delay, previous);
    previous = delay;
    EXPECT_EQ(sent.find(attr::kAcctSessionId)->text(), "sess-1");
  }
  EXPECT_EQ(*decode_integer(Packet::parse(server.received[0])->find(attr::kAcctDelayTime)->value()),
            5u);
  EXPECT_GE(previous, 6u) << "1.8 s after send(), the last one says at least 5 + 1";
  EXPECT_EQ(identifiers.size(), 4u) << "a changed packet takes a new identifier";
  EXPECT_EQ(client->stats().acct[0].retransmits, 3u);
}

TEST_F(RadiusClientTest, ThousandsInFlightUseMoreSourceSocketsAndAllAreAnswered) {
  constexpr std::size_t kRequests = 1000;
  FakeServer server(io, "many");
  server.batch = kRequests;  // nothing is answered until every request has arrived
  // Retransmissions cover a datagram the kernel might drop in the burst.
  auto client = make_client({server_config(server, "many")}, 2000ms, 2);
  std::size_t accepted = 0;
  std::size_t failed = 0;
  for (std::size_t i = 0; i < kRequests; ++i) {
    client->send(Request{access_request("user" + std::to_string(i)), std::string("pw")},
                 [&](Result<Packet> r) { r.ok() ? ++accepted : ++failed; });
  }
  EXPECT_EQ(client->stats().in_flight, kRequests);
  ASSERT_TRUE(run_until(
      io, [&] { return accepted + failed == kRequests; }, 10000ms));
  EXPECT_EQ(accepted, kRequests);
  const auto stats = client->stats();
  EXPECT_EQ(stats.auth[0].sockets, (kRequests + 255) / 256);
  EXPECT_EQ(stats.auth[0].responses, kRequests);
  EXPECT_EQ(stats.auth[0].bad_responses, 0u);
  EXPECT_EQ(stats.in_flight, 0u);
}

TEST_F(RadiusClientTest, InFlightLimitFailsClearly) {
  FakeServer server(io, "lim");
  server.mode = FakeServer::Mode::kSilent;
  ClientOptions options;
  options.servers = {server_config(server, "lim")};
  options.max_sockets_per_server = 1;
  auto client = Client::create(io, options).value();
  std::vector<Outcome> outcomes(257);
  for (auto& o : outcomes) client->send(accounting_request("x"), o.callback());
  EXPECT_FALSE(outcomes.back().done()) << "even a refusal is not delivered inside send()";
  ASSERT_TRUE(run_until(io, [&] { return outcomes.back().done(); }));
  ASSERT_FALSE(outcomes.back().result->ok());
  EXPECT_EQ(outcomes.back().result->error().code, std::errc::resource_unavailable_try_again);
  EXPECT_EQ(client->stats().in_flight, 256u);
  client->stop();
}

TEST_F(RadiusClientTest, StopCancelsEverythingInFlight) {
  FakeServer server(io, "stop");
  server.mode = FakeServer::Mode::kSilent;
  auto client = make_client({server_config(server, "stop")}, 5000ms);
  std::vector<Outcome> outcomes(3);
  for (auto& o : outcomes)
    client->send(Request{access_request("eve"), std::string("pw")}, o.callback());
  ASSERT_TRUE(run_until(io, [&] { return server.received.size() == 3; }));
  client->stop();
  for (auto& o : outcomes) {
    ASSERT_TRUE(o.done());
    ASSERT_FALSE(o.result->ok());
    EXPECT_EQ(o.result->error().code, std::errc::operation_canceled);
  }
  EXPECT_EQ(client->stats().in_flight, 0u);
  Outcome late;
  client->send(accounting_request("late"), late.callback());
  EXPECT_FALSE(late.done());
  ASSERT_TRUE(run_until(io, [&] { return late.done(); }));
  EXPECT_FALSE(late.result->ok());
}

TEST_F(RadiusClientTest, Ipv6ServerIsReachedAndNamedInBrackets) {
  boost::system::error_code ec;
  udp::socket probe(io);
  probe.open(udp::v6(), ec);
  if (!ec) probe.bind(udp::endpoint(asio::ip::make_address("::1"), 0), ec);
  if (ec) GTEST_SKIP() << "no IPv6 loopback here: " << ec.message();
  FakeServer server(io, "six", "::1");
  ServerConfig config = server_config(server, "six");
  config.host = "::1";
  auto client = make_client({config});
  Outcome outcome;
  client->send(Request{access_request("grace"), std::string("pw")}, outcome.callback());
  ASSERT_TRUE(run_until(io, [&] { return outcome.done(); }));
  ASSERT_TRUE(outcome.result->ok()) << outcome.result->error().message();
  EXPECT_EQ(client->stats().auth[0].name, "[::1]:" + std::to_string(server.port()));
}

TEST_F(RadiusClientTest, InvalidRequestsAndOptionsFailWithTheReason) {
  FakeServer server(io, "v");
  auto client = make_client({server_config(server, "v")});
  Outcome hidden;
  Packet with_password = access_request("frank");
  ASSERT_TRUE(set_user_password(with_password, "pw", "v").ok());
  client->send(std::move(with_password), hidden.callback());
  Outcome coa;
  client->send(Packet(Code::kCoaRequest, 0), coa.callback());
  ASSERT_TRUE(run_until(io, [&] { return hidden.done() && coa.done(); }));
  ASSERT_FALSE(hidden.result->ok());
  EXPECT_NE(hidden.result->error().message().find("user_password"), std::string::npos);
  ASSERT_FALSE(coa.result->ok());
  EXPECT_NE(coa.result->error().message().find("CoA-Request"), std::string::npos);
  EXPECT_TRUE(server.received.empty());

  ClientOptions none;
  EXPECT_FALSE(Client::create(io, none).ok());
  ClientOptions no_secret;
  no_secret.servers = {ServerConfig{"127.0.0.1", 1812, 1813, ""}};
  auto refused = Client::create(io, no_secret);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message().find("empty secret"), std::string::npos);
  ClientOptions bad_host;
  bad_host.servers = {ServerConfig{"no-such-host.invalid", 1812, 1813, "s"}};
  EXPECT_FALSE(Client::create(io, bad_host).ok());
}

}  // namespace
}  // namespace bngkit::bng::radius::test
