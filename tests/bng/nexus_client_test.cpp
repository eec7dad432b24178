// NexusClient against a real `nexus` daemon on loopback (free ports, temporary store):
// pools, allocate (sticky), renew, release, node heartbeat, the bearer token; failover past
// a dead endpoint, a silent endpoint timing out, and "unreachable" when nothing answers.
#include <bngkit/bng/nexus/nexus_client.hpp>
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <boost/asio/io_context.hpp>

#include "nexus_process.hpp"

namespace {

using namespace nexus_test;
using namespace bngkit;
using bng::nexus::NexusClient;
using bng::nexus::NexusError;

const std::string kBinary = NEXUS_BINARY;

bng::dhcp::Ipv4 dhcp_ip(const char* s) { return bng::dhcp::Ipv4::parse(s).value(); }

// Runs `io` until `done` holds a value (each call has its own timeout, so this ends).
template <typename T>
T await(boost::asio::io_context& io, std::optional<T>& done) {
  io.restart();
  while (!done && io.run_one() > 0) {
  }
  EXPECT_TRUE(done.has_value());
  return std::move(*done);
}

template <typename T>
Result<T> call(boost::asio::io_context& io, const std::function<void(NexusClient::Callback<T>)>& f) {
  std::optional<Result<T>> out;
  f([&out](Result<T> r) { out = std::move(r); });
  return await(io, out);
}

struct NexusClientTest : ::testing::Test {
  TempDir dir;
  std::unique_ptr<Daemon> daemon;
  boost::asio::io_context io;

  void start(const std::string& token = "") {
    Daemon::Options o;
    o.id = "n1";
    o.http_port = free_port();
    o.metrics_port = free_port();
    o.p2p_port = free_port();
    o.token = token;
    daemon = std::make_unique<Daemon>(kBinary, dir.path(), o);
    daemon->start();
    ASSERT_TRUE(daemon->wait_ready()) << "nexus did not become ready";
  }
  std::string endpoint() const { return "127.0.0.1:" + std::to_string(daemon->options().http_port); }
  std::unique_ptr<NexusClient> client(std::vector<std::string> endpoints, std::string token = "",
                                      std::chrono::milliseconds timeout = std::chrono::seconds(2)) {
    return NexusClient::create(io, {std::move(endpoints), std::move(token), timeout}).value();
  }
};

TEST(NexusClientCreate, RejectsBadEndpoints) {
  boost::asio::io_context io;
  EXPECT_FALSE(NexusClient::create(io, {{}, "", std::chrono::seconds(1)}));
  auto r = NexusClient::create(io, {{"nexus-1"}, "", std::chrono::seconds(1)});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("\"nexus-1\" is not host:port"), std::string::npos);
  EXPECT_FALSE(NexusClient::create(io, {{"h:0"}, "", std::chrono::seconds(1)}));
  EXPECT_FALSE(NexusClient::create(io, {{"h:1"}, "", std::chrono::milliseconds(0)}));
  EXPECT_EQ(bng::nexus::escape_path_segment("circuit-id:olt1/1 x"), "circuit-id:olt1%2F1%20x");
}

TEST_F(NexusClientTest, PoolsAllocateRenewReleaseAndHeartbeat) {
  start();
  auto c = client({endpoint()});
  auto pool = call<bng::nexus::Pool>(io, [&](auto cb) { c->create_pool("res", "10.77.0.0/24", "10.77.0.1", cb); });
  ASSERT_TRUE(pool) << pool.error().message();
  auto pools = call<std::vector<bng::nexus::Pool>>(io, [&](auto cb) { c->list_pools(cb); });
  ASSERT_TRUE(pools) << pools.error().message();
  ASSERT_EQ(pools->size(), 1u);
  EXPECT_EQ(pools->front().id, "res");
  EXPECT_EQ(pools->front().network.to_string(), "10.77.0.0/24");
  EXPECT_EQ(pools->front().gateway, dhcp_ip("10.77.0.1"));
  EXPECT_GT(pools->front().lease_ttl.count(), 0);

  const std::string sub = "mac:02:00:00:00:00:01";
  auto a = call<bng::nexus::Allocation>(io, [&](auto cb) { c->allocate("res", sub, std::chrono::seconds(120), cb); });
  ASSERT_TRUE(a) << a.error().message();
  EXPECT_EQ(a->subscriber_id, sub);
  EXPECT_TRUE(pools->front().network.contains(a->address));
  EXPECT_NE(a->address, dhcp_ip("10.77.0.1"));
  EXPECT_GT(a->expires_at, std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now()));
  // Sticky: asking again gives the same address; so does asking after a release.
  auto again = call<bng::nexus::Allocation>(io, [&](auto cb) { c->allocate("res", sub, std::nullopt, cb); });
  ASSERT_TRUE(again);
  EXPECT_EQ(again->address, a->address);
  auto renewed = call<bng::nexus::Allocation>(io, [&](auto cb) { c->renew("res", sub, std::chrono::seconds(600), cb); });
  ASSERT_TRUE(renewed) << renewed.error().message();
  EXPECT_EQ(renewed->address, a->address);
  EXPECT_GT(renewed->expires_at, a->expires_at);
  // The daemon sees the grant for that subscriber.
  auto seen = http("127.0.0.1", daemon->options().http_port, "GET", "/api/v1/allocations/" + sub + "?pool_id=res");
  EXPECT_EQ(seen.status, 200);
  EXPECT_EQ(std::string(seen.json().at("ip").as_string()), a->address.to_string());

  auto released = call<void>(io, [&](auto cb) { c->release("res", sub, cb); });
  ASSERT_TRUE(released) << released.error().message();
  EXPECT_EQ(http("127.0.0.1", daemon->options().http_port, "GET", "/api/v1/allocations/" + sub + "?pool_id=res").status,
            404);
  EXPECT_TRUE(call<void>(io, [&](auto cb) { c->release("res", sub, cb); }));  // gone already: done
  auto missing = call<bng::nexus::Allocation>(io, [&](auto cb) { c->renew("res", sub, std::nullopt, cb); });
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, make_error_code(NexusError::not_found));
  auto nopool = call<bng::nexus::Allocation>(io, [&](auto cb) { c->allocate("nope", sub, std::nullopt, cb); });
  ASSERT_FALSE(nopool);
  EXPECT_EQ(nopool.error().code, make_error_code(NexusError::not_found));

  ASSERT_TRUE(call<void>(io, [&](auto cb) { c->register_node("bng-a", "127.0.0.1:8080", "test", cb); }));
  auto nodes = http("127.0.0.1", daemon->options().http_port, "GET", "/api/v1/nodes");
  EXPECT_NE(nodes.body.find("\"bng-a\""), std::string::npos) << nodes.body;

  const auto s = c->stats();
  EXPECT_TRUE(s.up);
  EXPECT_EQ(s.endpoint, endpoint());
  EXPECT_GE(s.requests_ok, 7u);
  EXPECT_GE(s.requests_http_error, 2u);  // the two 404s
  EXPECT_EQ(s.requests_unreachable, 0u);
}

TEST_F(NexusClientTest, BearerToken) {
  start("s3cret-token");
  auto without = client({endpoint()});
  auto r = call<bng::nexus::Pool>(io, [&](auto cb) { without->create_pool("p", "10.5.0.0/24", std::nullopt, cb); });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, make_error_code(NexusError::rejected));
  EXPECT_NE(r.error().message().find("HTTP 401"), std::string::npos) << r.error().message();
  auto with = client({endpoint()}, "s3cret-token");
  EXPECT_TRUE(call<bng::nexus::Pool>(io, [&](auto cb) { with->create_pool("p", "10.5.0.0/24", std::nullopt, cb); }));
}

TEST_F(NexusClientTest, FailsOverPastDeadAndSilentEndpoints) {
  start();
  // A listening socket that never accepts: connect succeeds (backlog), no reply comes.
  const int silent = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(silent, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  ASSERT_EQ(::listen(silent, 8), 0);
  socklen_t len = sizeof sa;
  ::getsockname(silent, reinterpret_cast<sockaddr*>(&sa), &len);
  const std::string silent_ep = "127.0.0.1:" + std::to_string(ntohs(sa.sin_port));
  const std::string dead_ep = "127.0.0.1:" + std::to_string(free_port());

  auto c = client({dead_ep, silent_ep, endpoint()}, "", std::chrono::milliseconds(500));
  const auto t0 = std::chrono::steady_clock::now();
  auto pools = call<std::vector<bng::nexus::Pool>>(io, [&](auto cb) { c->list_pools(cb); });
  ASSERT_TRUE(pools) << pools.error().message();
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(450));  // waited on the silent one
  EXPECT_EQ(c->stats().failovers, 2u);
  EXPECT_EQ(c->stats().endpoint, endpoint());
  // The endpoint that answered is tried first from now on.
  ASSERT_TRUE(call<std::vector<bng::nexus::Pool>>(io, [&](auto cb) { c->list_pools(cb); }));
  EXPECT_EQ(c->stats().failovers, 2u);

  auto none = client({dead_ep, silent_ep}, "", std::chrono::milliseconds(300));
  auto r = call<std::vector<bng::nexus::Pool>>(io, [&](auto cb) { none->list_pools(cb); });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, make_error_code(NexusError::unreachable));
  EXPECT_NE(r.error().message().find(dead_ep), std::string::npos) << r.error().message();
  EXPECT_NE(r.error().message().find(silent_ep), std::string::npos) << r.error().message();
  EXPECT_FALSE(none->stats().up);
  EXPECT_EQ(none->stats().requests_unreachable, 1u);
  ::close(silent);

  // The daemon going away mid-life: unreachable, then up again once it is back.
  daemon->kill(SIGKILL);
  auto down = call<std::vector<bng::nexus::Pool>>(io, [&](auto cb) { c->list_pools(cb); });
  ASSERT_FALSE(down);
  EXPECT_FALSE(c->stats().up);
  daemon->start();
  ASSERT_TRUE(daemon->wait_ready());
  EXPECT_TRUE(call<std::vector<bng::nexus::Pool>>(io, [&](auto cb) { c->list_pools(cb); }));
  EXPECT_TRUE(c->stats().up);
}

}  // namespace
