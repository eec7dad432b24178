// Router matching and the HTTP server answering real requests over loopback.
#include <bngkit/ops/http.hpp>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <bngkit/ops/metrics.hpp>

#include <thread>

namespace bngkit::ops {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;

TEST(Router, MatchesParamsAndMethods) {
  Router router;
  router.add("GET", "/api/v1/sessions/{id}", [](const Request& r) {
    return Response::json(200, "{\"id\":\"" + r.params.at("id") + "\"}");
  });
  Request get{.method = "GET", .path = "/api/v1/sessions/abc"};
  EXPECT_EQ(router.dispatch(get).body, "{\"id\":\"abc\"}");

  Request del{.method = "DELETE", .path = "/api/v1/sessions/abc"};
  auto r = router.dispatch(del);
  EXPECT_EQ(r.status, 405);
  EXPECT_NE(r.body.find("DELETE"), std::string::npos);

  Request missing{.method = "GET", .path = "/api/v1/nope"};
  r = router.dispatch(missing);
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "{\"error\":\"no such endpoint: /api/v1/nope\"}");
}

TEST(Router, HandlerExceptionBecomes500) {
  Router router;
  router.add("GET", "/boom", [](const Request&) -> Response { throw std::runtime_error("kaput"); });
  Request req{.method = "GET", .path = "/boom"};
  auto r = router.dispatch(req);
  EXPECT_EQ(r.status, 500);
  EXPECT_NE(r.body.find("kaput"), std::string::npos);
}

TEST(Router, TokenGuardsEveryMethodButGetAndHead) {
  Router router;
  int drained = 0;
  router.add("GET", "/api/v1/leases", [](const Request&) { return Response::json(200, "[]"); });
  router.add("POST", "/admin/drain", [&drained](const Request&) {
    ++drained;
    return Response::json(200, "{}");
  });
  router.add("DELETE", "/api/v1/leases/{ip}", [](const Request&) { return Response::no_content(); });
  auto send = [&router](std::string method, std::string path, std::string auth = "") {
    Request r{.method = std::move(method), .path = std::move(path)};
    if (!auth.empty()) r.headers["authorization"] = std::move(auth);
    return router.dispatch(r);
  };
  // No token configured: writes stay open.
  EXPECT_EQ(send("POST", "/admin/drain").status, 200);
  router.require_token("s3cret-token");
  ASSERT_TRUE(router.token_required());
  auto r = send("POST", "/admin/drain");
  EXPECT_EQ(r.status, 401);
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].first, "WWW-Authenticate");
  EXPECT_EQ(send("POST", "/admin/drain", "Basic czNjcmV0LXRva2Vu").status, 401);
  r = send("POST", "/admin/drain", "Bearer s3cret-tokeN");
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.body.find("s3cret"), std::string::npos) << "the token is never echoed";
  EXPECT_EQ(send("POST", "/admin/drain", "Bearer s3cret-token-longer").status, 403);
  EXPECT_EQ(send("POST", "/admin/drain", "Bearer s3cret").status, 403);
  EXPECT_EQ(send("POST", "/admin/drain", "Bearer ").status, 403);
  EXPECT_EQ(drained, 1) << "no refused request reached the handler";
  EXPECT_EQ(send("POST", "/admin/drain", "Bearer s3cret-token").status, 200);
  EXPECT_EQ(send("POST", "/admin/drain", "bearer s3cret-token").status, 200) << "the scheme is case-insensitive";
  EXPECT_EQ(drained, 3);
  EXPECT_EQ(send("DELETE", "/api/v1/leases/10.0.1.5").status, 401);
  EXPECT_EQ(send("DELETE", "/api/v1/leases/10.0.1.5", "Bearer s3cret-token").status, 204);
  // Unknown paths and methods need the token too: nothing about the API leaks without it.
  EXPECT_EQ(send("PUT", "/nowhere").status, 401);
  // Reads stay open.
  EXPECT_EQ(send("GET", "/api/v1/leases").status, 200);
  EXPECT_EQ(send("HEAD", "/api/v1/leases").status, 200);
  EXPECT_EQ(send("GET", "/nowhere").status, 404);
}

TEST(CheckBearer, AcceptsOnlyTheToken) {
  Request r{.method = "POST", .path = "/x"};
  EXPECT_EQ(check_bearer(r, "t")->status, 401);
  r.headers["authorization"] = "Bearer t";
  EXPECT_FALSE(check_bearer(r, "t").has_value());
  r.headers["authorization"] = "Bearer u";
  EXPECT_EQ(check_bearer(r, "t")->status, 403);
}

TEST(Response, ErrorBodiesStayValidJsonWhateverTheRequestSent) {
  // Found by fuzz/http_request_fuzz: a path with a byte that is not UTF-8 ("/%FFealth") was
  // echoed into {"error": ...} as it was, and the body was not JSON.
  Router router;
  Request req{.method = "GET", .path = std::string("/\xff" "ealth/\xc3") + "\xa9\xed\xa0\x80"};
  const Response r = router.dispatch(req);
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body,
            "{\"error\":\"no such endpoint: /\xef\xbf\xbd" "ealth/\xc3\xa9"
            "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"}");
  EXPECT_EQ(Response::error(400, "caf\xc3\xa9 \xf0\x9f\x98\x80").body,
            "{\"error\":\"caf\xc3\xa9 \xf0\x9f\x98\x80\"}");
  EXPECT_EQ(Response::error(400, "cut \xe2\x82").body,
            "{\"error\":\"cut \xef\xbf\xbd\xef\xbf\xbd\"}");
}

TEST(UrlDecode, DecodesAndRejectsBadEscapes) {
  EXPECT_EQ(url_decode("a%20b%2Fc").value(), "a b/c");
  EXPECT_FALSE(url_decode("bad%2").has_value());
  EXPECT_FALSE(url_decode("bad%zz").has_value());
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto router = std::make_shared<Router>();
    router->add("POST", "/echo/{name}", [](const Request& r) {
      return Response::json(201, "{\"name\":\"" + r.params.at("name") + "\",\"q\":\"" +
                                     r.query_param("q").value_or("") + "\",\"body\":\"" + r.body + "\"}");
    });
    server_ = std::make_unique<HttpServer>(io_, router);
    HttpServerOptions options;
    options.bind_address = "127.0.0.1";
    options.port = 0;
    options.max_body_bytes = 64;
    options.observer = [this](const Request&, int status, std::chrono::nanoseconds) { last_status_ = status; };
    ASSERT_TRUE(server_->start(options).ok());
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    asio::post(io_, [this] { server_->stop(); });
    io_.stop();
    thread_.join();
  }

  http::response<http::string_body> request(http::verb verb, const std::string& target, const std::string& body) {
    asio::io_context client_io;
    asio::ip::tcp::socket socket(client_io);
    socket.connect({asio::ip::make_address("127.0.0.1"), server_->port()});
    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, "localhost");
    req.body() = body;
    req.prepare_payload();
    http::write(socket, req);
    boost::beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(socket, buffer, res);
    return res;
  }

  asio::io_context io_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
  std::atomic<int> last_status_{0};
};

TEST_F(ServerTest, ServesRoutesWithQueryAndBody) {
  auto res = request(http::verb::post, "/echo/x%20y?q=1", "hi");
  EXPECT_EQ(res.result_int(), 201);
  EXPECT_EQ(res.body(), "{\"name\":\"x y\",\"q\":\"1\",\"body\":\"hi\"}");
  EXPECT_EQ(res[http::field::content_type], "application/json");
  EXPECT_EQ(last_status_.load(), 201);
}

TEST_F(ServerTest, AnEscapedSlashStaysInsideOneParam) {
  auto res = request(http::verb::post, "/echo/circuit-id:olt1%2F1%2F1", "");
  EXPECT_EQ(res.result_int(), 201);
  EXPECT_EQ(res.body(), "{\"name\":\"circuit-id:olt1/1/1\",\"q\":\"\",\"body\":\"\"}");
  EXPECT_EQ(request(http::verb::post, "/echo/a/b", "").result_int(), 404);
}

TEST_F(ServerTest, OversizedBodyIsRefusedWith413) {
  auto res = request(http::verb::post, "/echo/x", std::string(1000, 'a'));
  EXPECT_EQ(res.result_int(), 413);
  EXPECT_NE(res.body().find("\"error\""), std::string::npos);
}

TEST_F(ServerTest, OversizedHeaderIsRefusedWith431) {
  asio::io_context client_io;
  asio::ip::tcp::socket socket(client_io);
  socket.connect({asio::ip::make_address("127.0.0.1"), server_->port()});
  http::request<http::string_body> req{http::verb::get, "/echo/x", 11};
  req.set("X-Filler", std::string(20 << 10, 'a'));  // over the 16 KiB default
  http::write(socket, req);
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(socket, buffer, res);
  EXPECT_EQ(res.result_int(), 431);
}

// Connects and waits until the server has counted `n` open connections.
bool wait_for_open(const HttpServer& server, std::size_t n) {
  for (int i = 0; i < 200; ++i) {
    if (server.stats().open == n) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

TEST(HttpServer, ConnectionsOverTheLimitAreClosedAndCounted) {
  asio::io_context io;
  auto router = std::make_shared<Router>();
  router->add("GET", "/ping", [](const Request&) { return Response::text(200, "pong"); });
  auto registry = std::make_shared<prometheus::Registry>();
  HttpServer server(io, router);
  HttpServerOptions options;
  options.bind_address = "127.0.0.1";
  options.port = 0;
  options.max_connections = 2;
  options.registry = registry;
  options.name = "test";
  ASSERT_TRUE(server.start(options).ok());
  std::thread thread([&io] { io.run(); });

  asio::io_context client_io;
  const asio::ip::tcp::endpoint at{asio::ip::make_address("127.0.0.1"), server.port()};
  std::vector<asio::ip::tcp::socket> idle;
  for (int i = 0; i < 2; ++i) {
    idle.emplace_back(client_io);
    idle.back().connect(at);
  }
  ASSERT_TRUE(wait_for_open(server, 2));

  // The third is closed without an answer.
  asio::ip::tcp::socket third(client_io);
  third.connect(at);
  char byte = 0;
  boost::system::error_code ec;
  third.read_some(asio::buffer(&byte, 1), ec);
  EXPECT_EQ(ec, asio::error::eof);
  EXPECT_EQ(server.stats().refused, 1u);
  const auto text = render_prometheus(*registry);
  EXPECT_NE(text.find("bngkit_http_connections_refused_total{server=\"test\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("bngkit_http_connections{server=\"test\"} 2"), std::string::npos) << text;

  // One idle client leaves: a new one is served.
  idle.front().close();
  ASSERT_TRUE(wait_for_open(server, 1));
  asio::ip::tcp::socket fourth(client_io);
  fourth.connect(at);
  http::request<http::string_body> req{http::verb::get, "/ping", 11};
  http::write(fourth, req);
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(fourth, buffer, res);
  EXPECT_EQ(res.body(), "pong");

  asio::post(io, [&server] { server.stop(); });
  idle.clear();
  fourth.close();
  io.stop();
  thread.join();
}

TEST(HttpServer, BindErrorNamesTheAddress) {
  asio::io_context io;
  HttpServer a(io, std::make_shared<Router>());
  HttpServerOptions options;
  options.bind_address = "127.0.0.1";
  options.port = 0;
  ASSERT_TRUE(a.start(options).ok());
  HttpServer b(io, std::make_shared<Router>());
  options.port = a.port();
  auto r = b.start(options);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("127.0.0.1:" + std::to_string(a.port())), std::string::npos);

  options.bind_address = "not-an-ip";
  r = b.start(options);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("not-an-ip"), std::string::npos);
}

}  // namespace
}  // namespace bngkit::ops
