// Dynamic Authorization server (RFC 5176) on loopback: ACK and NAK with Error-Cause, signed
// replies, unknown clients and bad authenticators dropped, duplicates answered from the cache.
#include <gtest/gtest.h>

#include <bngkit/bng/radius/dae_server.hpp>

#include "radius_loopback.hpp"

namespace bngkit::bng::radius::test {
namespace {

using namespace std::chrono_literals;

class DaeServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DaeServerOptions options;
    options.listen_address = "127.0.0.1";
    options.port = 0;
    options.clients = {{"127.0.0.1", "dae-secret"}, {"::1", "v6-secret"}};
    auto server = DaeServer::create(
        io, options,
        [this](const Packet& request, const DaeSource& from, DaeServer::Respond respond) {
          ++handled;
          last_from = from;
          const auto* session = request.find(attr::kAcctSessionId);
          if (session == nullptr) {
            respond(DaeReply::make_nak(ErrorCause::kMissingAttribute));
          } else if (session->text() == "known") {
            respond(DaeReply::make_ack());
          } else if (session->text() == "later") {
            later = std::move(respond);  // answered by the test, asynchronously
          } else {
            respond(DaeReply::make_nak(ErrorCause::kSessionContextNotFound));
          }
        });
    ASSERT_TRUE(server.ok()) << server.error().message();
    dae = std::move(*server);
    client.open(udp::v4());
    client.bind(udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  }

  std::vector<std::uint8_t> request(Code code, const std::string& session,
                                    const std::string& secret = "dae-secret",
                                    bool message_authenticator = false, std::uint8_t id = 7) {
    Packet packet(code, id);
    EXPECT_TRUE(packet.add(attr::kAcctSessionId, session).ok());
    EncodeOptions options;
    options.add_message_authenticator = message_authenticator;
    auto wire = encode(packet, secret, options);
    EXPECT_TRUE(wire.ok());
    return *wire;
  }

  /// Sends `wire`; returns the reply, or nothing within `wait`.
  std::optional<std::vector<std::uint8_t>> exchange(const std::vector<std::uint8_t>& wire,
                                                    std::chrono::milliseconds wait = 300ms) {
    client.send_to(asio::buffer(wire),
                   udp::endpoint(asio::ip::make_address("127.0.0.1"), dae->port()));
    std::array<std::uint8_t, 4096> buffer{};
    std::optional<std::vector<std::uint8_t>> reply;
    udp::endpoint from;
    client.async_receive_from(
        asio::buffer(buffer), from, [&](boost::system::error_code ec, std::size_t size) {
          if (!ec) reply.emplace(buffer.begin(), buffer.begin() + static_cast<long>(size));
        });
    run_until(
        io, [&] { return reply.has_value(); }, wait);
    if (!reply) {
      client.cancel();
      run_for(io, 10ms);
    }
    return reply;
  }

  asio::io_context io;
  std::unique_ptr<DaeServer> dae;
  udp::socket client{io};
  int handled = 0;
  DaeSource last_from;
  DaeServer::Respond later;
};

TEST_F(DaeServerTest, DisconnectForAKnownSessionIsAckedAndSigned) {
  const auto wire = request(Code::kDisconnectRequest, "known");
  const auto reply = exchange(wire);
  ASSERT_TRUE(reply.has_value());
  const auto sent = *Packet::parse(wire);
  EXPECT_TRUE(verify_response(*reply, sent.authenticator, "dae-secret").ok());
  const auto packet = *Packet::parse(*reply);
  EXPECT_EQ(packet.code, Code::kDisconnectAck);
  EXPECT_EQ(packet.identifier, 7);
  EXPECT_EQ(last_from.address, "127.0.0.1");
  EXPECT_EQ(last_from.port, client.local_endpoint().port());
  const auto stats = dae->stats();
  EXPECT_EQ(stats.disconnect_requests, 1u);
  EXPECT_EQ(stats.acks, 1u);
}

TEST_F(DaeServerTest, CoaForAnUnknownSessionIsNakedWithErrorCause503) {
  const auto wire = request(Code::kCoaRequest, "nobody", "dae-secret", true);
  const auto reply = exchange(wire);
  ASSERT_TRUE(reply.has_value());
  const auto sent = *Packet::parse(wire);
  // The request had a Message-Authenticator, so the reply has one, and it must verify.
  EXPECT_TRUE(verify_response(*reply, sent.authenticator, "dae-secret", {true}).ok());
  const auto packet = *Packet::parse(*reply);
  EXPECT_EQ(packet.code, Code::kCoaNak);
  ASSERT_NE(packet.find(attr::kErrorCause), nullptr);
  EXPECT_EQ(*decode_integer(packet.find(attr::kErrorCause)->value()), 503u);
  EXPECT_EQ(dae->stats().coa_requests, 1u);
  EXPECT_EQ(dae->stats().naks, 1u);
}

TEST_F(DaeServerTest, BadSecretUnknownClientMalformedAndUnsupportedAreDroppedAndCounted) {
  EXPECT_FALSE(exchange(request(Code::kDisconnectRequest, "known", "wrong-secret")).has_value());
  // A Message-Authenticator made with another secret under a valid Request Authenticator.
  auto tampered = request(Code::kCoaRequest, "known", "wrong-secret", true);
  auto header = compute_authenticator(tampered, Authenticator{}, "dae-secret");
  ASSERT_TRUE(header.ok());
  std::copy(header->begin(), header->end(), tampered.begin() + 4);
  EXPECT_FALSE(exchange(tampered).has_value());
  EXPECT_FALSE(exchange({1, 2, 3}).has_value());
  EXPECT_FALSE(exchange(request(Code::kAccountingRequest, "known")).has_value());
  EXPECT_EQ(handled, 0);

  // From another source address (127.0.0.2 is loopback but not a listed client).
  udp::socket stranger(io, udp::endpoint(asio::ip::make_address("127.0.0.2"), 0));
  const auto wire = request(Code::kDisconnectRequest, "known");
  stranger.send_to(asio::buffer(wire),
                   udp::endpoint(asio::ip::make_address("127.0.0.1"), dae->port()));
  run_until(
      io, [&] { return dae->stats().dropped_unknown_client == 1; }, 1000ms);

  const auto stats = dae->stats();
  EXPECT_EQ(stats.dropped_bad_authenticator, 2u);
  EXPECT_EQ(stats.dropped_malformed, 1u);
  EXPECT_EQ(stats.dropped_unsupported_code, 1u);
  EXPECT_EQ(stats.dropped_unknown_client, 1u);
  EXPECT_EQ(stats.acks + stats.naks, 0u);
}

TEST_F(DaeServerTest, DuplicatesGetTheCachedReplyAndTheHandlerRunsOnce) {
  const auto wire = request(Code::kDisconnectRequest, "later", "dae-secret", false, 42);
  // The handler holds the answer: a retransmission meanwhile is not handed over again.
  EXPECT_FALSE(exchange(wire, 100ms).has_value());
  EXPECT_FALSE(exchange(wire, 100ms).has_value());
  EXPECT_EQ(handled, 1);
  ASSERT_TRUE(later);
  later(DaeReply::make_ack());
  later(DaeReply::make_nak(ErrorCause::kSessionContextNotFound));  // a second answer is ignored
  std::array<std::uint8_t, 4096> buffer{};
  std::optional<std::vector<std::uint8_t>> first;
  client.async_receive(asio::buffer(buffer), [&](boost::system::error_code ec, std::size_t n) {
    if (!ec) first.emplace(buffer.begin(), buffer.begin() + static_cast<long>(n));
  });
  ASSERT_TRUE(run_until(
      io, [&] { return first.has_value(); }, 1000ms));
  EXPECT_EQ(Packet::parse(*first)->code, Code::kDisconnectAck);

  // Answered: the same request again gets the same octets back, without the handler.
  const auto again = exchange(wire);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(*again, *first);
  EXPECT_EQ(handled, 1);
  const auto stats = dae->stats();
  EXPECT_EQ(stats.duplicates, 2u);
  EXPECT_EQ(stats.acks, 1u);
  EXPECT_EQ(stats.dropped_stale, 1u);
}

TEST_F(DaeServerTest, AnsweredRequestsAreForgottenAfterTheDuplicateWindow) {
  DaeServerOptions options;
  options.listen_address = "127.0.0.1";
  options.port = 0;
  options.clients = {{"127.0.0.1", "dae-secret"}};
  options.duplicate_window = std::chrono::seconds(1);
  int calls = 0;
  auto short_memory = DaeServer::create(
      io, options, [&](const Packet&, const DaeSource&, DaeServer::Respond respond) {
        ++calls;
        respond(DaeReply::make_ack());
      });
  ASSERT_TRUE(short_memory.ok()) << short_memory.error().message();
  dae = std::move(*short_memory);  // exchange() talks to `dae`
  const auto wire = request(Code::kCoaRequest, "known");
  ASSERT_TRUE(exchange(wire).has_value());
  ASSERT_TRUE(exchange(wire).has_value());
  EXPECT_EQ(calls, 1) << "inside the window: from the cache";
  run_for(io, 1100ms);
  ASSERT_TRUE(exchange(wire).has_value());
  EXPECT_EQ(calls, 2) << "after the window: a new request";
  EXPECT_EQ(dae->stats().duplicates, 1u);
}

TEST_F(DaeServerTest, RememberedRequestsAreBoundedAndTheOverflowCounted) {
  DaeServerOptions options;
  options.listen_address = "127.0.0.1";
  options.port = 0;
  options.clients = {{"127.0.0.1", "dae-secret"}};
  options.duplicate_window = 1s;
  options.max_remembered = 2;
  int calls = 0;
  auto small = DaeServer::create(io, options, [&calls](const Packet&, const DaeSource&, DaeServer::Respond respond) {
    ++calls;
    respond(DaeReply::make_ack());
  });
  ASSERT_TRUE(small.ok()) << small.error().message();
  dae = std::move(*small);  // exchange() talks to `dae`
  EXPECT_TRUE(exchange(request(Code::kDisconnectRequest, "known", "dae-secret", false, 1)).has_value());
  EXPECT_TRUE(exchange(request(Code::kDisconnectRequest, "known", "dae-secret", false, 2)).has_value());
  // Two answers remembered for the duplicate window: a third new request is dropped unseen.
  EXPECT_FALSE(exchange(request(Code::kDisconnectRequest, "known", "dae-secret", false, 3), 200ms).has_value());
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(dae->stats().dropped_cache_full, 1u);
  // Duplicates of what is remembered are still answered from the cache.
  EXPECT_TRUE(exchange(request(Code::kDisconnectRequest, "known", "dae-secret", false, 1)).has_value());
  // Once the window has passed, room again: the client's retransmission is served.
  run_for(io, 1100ms);
  EXPECT_TRUE(exchange(request(Code::kDisconnectRequest, "known", "dae-secret", false, 3)).has_value());
  EXPECT_EQ(calls, 3);
}

TEST_F(DaeServerTest, OptionsAreChecked) {
  auto handler = [](const Packet&, const DaeSource&, DaeServer::Respond) {};
  DaeServerOptions bad_client;
  bad_client.port = 0;
  bad_client.clients = {{"not-an-address", "s"}};
  auto refused = DaeServer::create(io, bad_client, handler);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message().find("not-an-address"), std::string::npos);
  DaeServerOptions no_secret;
  no_secret.port = 0;
  no_secret.clients = {{"10.0.0.1", ""}};
  EXPECT_FALSE(DaeServer::create(io, no_secret, handler).ok());
  DaeServerOptions taken;
  taken.listen_address = "127.0.0.1";
  taken.port = dae->port();
  auto busy = DaeServer::create(io, taken, handler);
  ASSERT_FALSE(busy.ok());
  EXPECT_NE(busy.error().message().find("cannot bind"), std::string::npos);
}

}  // namespace
}  // namespace bngkit::bng::radius::test
