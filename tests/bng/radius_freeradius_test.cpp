// The RADIUS client and DAE server against real FreeRADIUS 3.2 tools on loopback: Access-Accept
// with attributes, Access-Reject, accounting records in FreeRADIUS' detail file, failover when
// a server is stopped, and radclient's Disconnect-/CoA-Requests answered by the DAE server.
#include <gtest/gtest.h>

#include <atomic>
#include <bngkit/bng/radius/client.hpp>
#include <bngkit/bng/radius/dae_server.hpp>
#include <thread>

#include "freeradius_fixture.hpp"
#include "radius_loopback.hpp"

namespace bngkit::bng::radius::test {
namespace {

using namespace std::chrono_literals;

const char* const kUsers =
    "alice Cleartext-Password := \"alice-pw\"\n"
    "\tFramed-IP-Address = 100.64.0.10,\n"
    "\tSession-Timeout = 7200,\n"
    "\tClass = \"plan-gold\"\n"
    "\n"
    "bob Cleartext-Password := \"bob-pw\", Auth-Type := Reject\n"
    "\tReply-Message = \"account suspended\"\n";

ServerConfig config_of(const FreeRadiusServer& server) {
  return ServerConfig{"127.0.0.1", server.auth_port(), server.acct_port(), "testing123"};
}

std::unique_ptr<Client> make_client(asio::io_context& io, std::vector<ServerConfig> servers,
                                    std::chrono::milliseconds timeout = 1000ms) {
  ClientOptions options;
  options.servers = std::move(servers);
  options.timeout = timeout;
  options.retries = 1;
  options.nas_ip = Ipv4(192, 0, 2, 7);
  options.nas_identifier = "bngkit-test";
  auto client = Client::create(io, std::move(options));
  EXPECT_TRUE(client.ok()) << client.error().message();
  return client.ok() ? std::move(*client) : nullptr;
}

Result<Packet> exchange(asio::io_context& io, Client& client, Request request) {
  std::optional<Result<Packet>> result;
  client.send(std::move(request), [&](Result<Packet> r) { result.emplace(std::move(r)); });
  if (!run_until(
          io, [&] { return result.has_value(); }, 10s)) {
    return make_error(std::errc::timed_out, "test: no callback within 10 s");
  }
  return std::move(*result);
}

Packet access_request(const std::string& user) {
  Packet packet(Code::kAccessRequest, 0);
  EXPECT_TRUE(packet.add(attr::kUserName, user).ok());
  packet.add_integer(attr::kNasPortType, static_cast<std::uint32_t>(NasPortType::kEthernet));
  EXPECT_TRUE(packet.add(attr::kCallingStationId, "02-00-00-00-00-01").ok());
  return packet;
}

TEST(RadiusFreeRadius, AccessAcceptCarriesTheUsersAttributes) {
  BNGKIT_REQUIRE_FREERADIUS();
  FreeRadiusServer radius({.users = kUsers});
  ASSERT_TRUE(radius.start()) << radius.error();
  asio::io_context io;
  // FreeRADIUS holds every Access-Reject back for its reject_delay (1 s in the stock config).
  auto client = make_client(io, {config_of(radius)}, 3000ms);

  auto reply = exchange(io, *client, Request{access_request("alice"), std::string("alice-pw")});
  ASSERT_TRUE(reply.ok()) << reply.error().message();
  EXPECT_EQ(reply->code, Code::kAccessAccept);
  ASSERT_NE(reply->find(attr::kFramedIpAddress), nullptr);
  EXPECT_EQ(*decode_ipaddr(reply->find(attr::kFramedIpAddress)->value()), Ipv4(100, 64, 0, 10));
  ASSERT_NE(reply->find(attr::kSessionTimeout), nullptr);
  EXPECT_EQ(*decode_integer(reply->find(attr::kSessionTimeout)->value()), 7200u);
  ASSERT_NE(reply->find(attr::kClass), nullptr);
  EXPECT_EQ(reply->find(attr::kClass)->text(), "plan-gold");

  // The wrong password, and a user the server rejects outright.
  auto wrong = exchange(io, *client, Request{access_request("alice"), std::string("guess")});
  ASSERT_TRUE(wrong.ok()) << wrong.error().message();
  EXPECT_EQ(wrong->code, Code::kAccessReject);
  auto rejected = exchange(io, *client, Request{access_request("bob"), std::string("bob-pw")});
  ASSERT_TRUE(rejected.ok()) << rejected.error().message();
  EXPECT_EQ(rejected->code, Code::kAccessReject);

  const auto stats = client->stats();
  EXPECT_EQ(stats.auth[0].responses, 3u);
  EXPECT_EQ(stats.auth[0].bad_responses, 0u);
  EXPECT_EQ(stats.auth[0].retransmits, 0u);
}

TEST(RadiusFreeRadius, AccountingStartInterimStopLandInTheDetailFile) {
  BNGKIT_REQUIRE_FREERADIUS();
  FreeRadiusServer radius({.users = kUsers});
  ASSERT_TRUE(radius.start()) << radius.error();
  asio::io_context io;
  auto client = make_client(io, {config_of(radius)});

  struct Record {
    AcctStatusType type;
    std::uint32_t in_octets, out_octets, session_time;
  };
  const Record records[] = {{AcctStatusType::kStart, 0, 0, 0},
                            {AcctStatusType::kInterimUpdate, 123456, 654321, 300},
                            {AcctStatusType::kStop, 2000000, 9000000, 620}};
  for (const auto& record : records) {
    Packet packet(Code::kAccountingRequest, 0);
    ASSERT_TRUE(packet.add(attr::kUserName, "alice").ok());
    packet.add_integer(attr::kAcctStatusType, static_cast<std::uint32_t>(record.type));
    ASSERT_TRUE(packet.add(attr::kAcctSessionId, "bngkit-0001").ok());
    packet.add_ipaddr(attr::kFramedIpAddress, Ipv4(100, 64, 0, 10));
    packet.add_integer(attr::kAcctInputOctets, record.in_octets);
    packet.add_integer(attr::kAcctOutputOctets, record.out_octets);
    packet.add_integer(attr::kAcctSessionTime, record.session_time);
    ASSERT_TRUE(packet.add(attr::kClass, "plan-gold").ok());
    if (record.type == AcctStatusType::kStop) {
      packet.add_integer(attr::kAcctTerminateCause,
                         static_cast<std::uint32_t>(AcctTerminateCause::kUserRequest));
    }
    auto reply = exchange(io, *client, Request{std::move(packet), std::nullopt});
    ASSERT_TRUE(reply.ok()) << reply.error().message();
    EXPECT_EQ(reply->code, Code::kAccountingResponse);
  }

  const std::string detail = radius.detail();
  ASSERT_FALSE(detail.empty()) << "no detail file at " << radius.detail_file();
  for (const char* expected :
       {"Acct-Status-Type = Start", "Acct-Status-Type = Interim-Update", "Acct-Status-Type = Stop",
        "Acct-Input-Octets = 123456", "Acct-Output-Octets = 654321", "Acct-Session-Time = 300",
        "Acct-Input-Octets = 2000000", "Acct-Output-Octets = 9000000", "Acct-Session-Time = 620",
        "Acct-Terminate-Cause = User-Request", "Acct-Session-Id = \"bngkit-0001\"",
        "Framed-IP-Address = 100.64.0.10", "NAS-IP-Address = 192.0.2.7",
        "NAS-Identifier = \"bngkit-test\"",
        "Class = 0x706c616e2d676f6c64"}) {  // FreeRADIUS writes Class as hex
    EXPECT_NE(detail.find(expected), std::string::npos) << expected << "\n" << detail;
  }
  // Three records, in order.
  const auto start = detail.find("= Start");
  const auto interim = detail.find("= Interim-Update");
  const auto stop = detail.find("= Stop");
  EXPECT_LT(start, interim);
  EXPECT_LT(interim, stop);
}

TEST(RadiusFreeRadius, FailsOverWhenTheFirstServerIsStopped) {
  BNGKIT_REQUIRE_FREERADIUS();
  FreeRadiusServer first({.users = kUsers});
  FreeRadiusServer second({.users = kUsers});
  ASSERT_TRUE(first.start()) << first.error();
  ASSERT_TRUE(second.start()) << second.error();
  asio::io_context io;
  auto client = make_client(io, {config_of(first), config_of(second)}, 300ms);

  auto before = exchange(io, *client, Request{access_request("alice"), std::string("alice-pw")});
  ASSERT_TRUE(before.ok()) << before.error().message();
  EXPECT_EQ(client->stats().auth[0].responses, 1u);

  first.stop();
  auto after = exchange(io, *client, Request{access_request("alice"), std::string("alice-pw")});
  ASSERT_TRUE(after.ok()) << after.error().message();
  EXPECT_EQ(after->code, Code::kAccessAccept);
  auto stats = client->stats();
  EXPECT_EQ(stats.auth[0].timeouts, 1u);
  EXPECT_FALSE(stats.auth[0].alive);
  EXPECT_EQ(stats.auth[1].responses, 1u);

  // Accounting fails over too, and the record lands on the second server only.
  Packet packet(Code::kAccountingRequest, 0);
  ASSERT_TRUE(packet.add(attr::kUserName, "alice").ok());
  packet.add_integer(attr::kAcctStatusType, static_cast<std::uint32_t>(AcctStatusType::kStart));
  ASSERT_TRUE(packet.add(attr::kAcctSessionId, "failover-1").ok());
  auto acct = exchange(io, *client, Request{std::move(packet), std::nullopt});
  ASSERT_TRUE(acct.ok()) << acct.error().message();
  const std::string detail = second.detail();
  EXPECT_NE(detail.find("failover-1"), std::string::npos) << detail;
  EXPECT_EQ(first.detail().find("failover-1"), std::string::npos);
  EXPECT_EQ(client->stats().acct[0].timeouts, 1u);
  // It waited 2 x 300 ms on the first server: under a second, so no Acct-Delay-Time yet.
  EXPECT_EQ(detail.find("Acct-Delay-Time"), std::string::npos) << detail;

  // The first server's acct port is held down now: straight to the second, and a caller's
  // Acct-Delay-Time (time queued before the client had the record) goes out as given.
  Packet late(Code::kAccountingRequest, 0);
  ASSERT_TRUE(late.add(attr::kUserName, "alice").ok());
  late.add_integer(attr::kAcctStatusType, static_cast<std::uint32_t>(AcctStatusType::kStop));
  ASSERT_TRUE(late.add(attr::kAcctSessionId, "failover-1").ok());
  late.add_integer(attr::kAcctDelayTime, 4);  // already queued for 4 s before the client saw it
  auto stop = exchange(io, *client, Request{std::move(late), std::nullopt});
  ASSERT_TRUE(stop.ok()) << stop.error().message();
  EXPECT_NE(second.detail().find("Acct-Delay-Time = 4"), std::string::npos) << second.detail();
}

/// radclient in a thread while the test's io_context serves the DAE server.
struct RadclientRun {
  std::string output;
  int status = -1;
  std::atomic<bool> done{false};
  std::thread thread;

  RadclientRun(std::string args, std::string input) {
    thread = std::thread([this, args = std::move(args), input = std::move(input)] {
      output = radclient(args, input, status);
      done = true;
    });
  }
  ~RadclientRun() {
    if (thread.joinable()) thread.join();
  }
  void wait(asio::io_context& io) {
    run_until(
        io, [this] { return done.load(); }, 15s);
    if (thread.joinable()) thread.join();
  }
};

TEST(RadiusFreeRadius, DaeServerAnswersRadclientDisconnectAndCoa) {
  BNGKIT_REQUIRE_FREERADIUS();
  asio::io_context io;
  DaeServerOptions options;
  options.listen_address = "127.0.0.1";
  options.port = 0;
  options.clients = {{"127.0.0.1", "coa-secret"}};
  std::vector<std::string> seen;
  auto server = DaeServer::create(
      io, options, [&](const Packet& request, const DaeSource&, DaeServer::Respond respond) {
        const auto* session = request.find(attr::kAcctSessionId);
        const std::string id = session ? std::string(session->text()) : "";
        seen.push_back(std::string(code_name(request.code)) + " " + id);
        if (id == "sess-42") {
          respond(DaeReply::make_ack());
        } else {
          respond(DaeReply::make_nak(ErrorCause::kSessionContextNotFound));
        }
      });
  ASSERT_TRUE(server.ok()) << server.error().message();
  const std::string target = "127.0.0.1:" + std::to_string((*server)->port());

  {
    RadclientRun run("-x -r 1 -t 2 " + target + " disconnect coa-secret",
                     "Acct-Session-Id = \"sess-42\"\nUser-Name = \"alice\"\n");
    run.wait(io);
    EXPECT_EQ(run.status, 0) << run.output;
    EXPECT_NE(run.output.find("Received Disconnect-ACK"), std::string::npos) << run.output;
  }
  {
    RadclientRun run("-x -r 1 -t 2 " + target + " coa coa-secret",
                     "Acct-Session-Id = \"sess-42\"\nSession-Timeout = 60\n"
                     "Message-Authenticator = 0x00\n");
    run.wait(io);
    EXPECT_NE(run.output.find("Received CoA-ACK"), std::string::npos) << run.output;
  }
  {
    RadclientRun run("-x -r 1 -t 2 " + target + " disconnect coa-secret",
                     "Acct-Session-Id = \"no-such-session\"\n");
    run.wait(io);
    EXPECT_NE(run.output.find("Received Disconnect-NAK"), std::string::npos) << run.output;
    EXPECT_NE(run.output.find("Error-Cause = Session-Context-Not-Found"), std::string::npos)
        << run.output;
  }
  {
    RadclientRun run("-x -r 1 -t 1 " + target + " coa wrong-secret",
                     "Acct-Session-Id = \"sess-42\"\n");
    run.wait(io);
    EXPECT_NE(run.status, 0) << "a bad secret gets no answer\n" << run.output;
    EXPECT_EQ(run.output.find("Received"), std::string::npos) << run.output;
  }
  const auto stats = (*server)->stats();
  EXPECT_EQ(stats.disconnect_requests, 2u);
  EXPECT_EQ(stats.coa_requests, 1u);
  EXPECT_EQ(stats.acks, 2u);
  EXPECT_EQ(stats.naks, 1u);
  EXPECT_GE(stats.dropped_bad_authenticator, 1u);  // radclient retries once
  EXPECT_EQ(seen.size(), 3u);
}

}  // namespace
}  // namespace bngkit::bng::radius::test
