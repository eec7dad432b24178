// nexus-client: what a BNG node says to Nexus over its HTTP API (shared/API.md), with
// Boost.Beast (synchronous, one connection per call) and Boost.JSON: register the node,
// create a pool, allocate an address for a subscriber (and get the same one when asking
// again), renew it, release it. bngkit::nexus checks that the address is in the pool.
//
//   nexus-client [HOST:PORT]          (default 127.0.0.1:9000)
//   NEXUS_TOKEN=...                   bearer token, when the server has one configured
#include <bngkit/nexus/ip.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = boost::asio::ip::tcp;

namespace {

struct Reply {
  unsigned status = 0;
  json::value body;  // null when the reply has none (204)
};

class NexusClient {
 public:
  NexusClient(std::string host, std::string port) : host_(std::move(host)), port_(std::move(port)) {
    if (const char* t = std::getenv("NEXUS_TOKEN")) token_ = t;
  }

  // One request; throws on transport errors (the caller decides what a status means).
  Reply call(http::verb method, const std::string& target, const json::value& body = nullptr) {
    boost::asio::io_context io;
    beast::tcp_stream stream(io);
    stream.expires_after(std::chrono::seconds(5));
    stream.connect(tcp::resolver(io).resolve(host_, port_));
    http::request<http::string_body> req{method, target, 11};
    req.set(http::field::host, host_);
    if (!token_.empty()) req.set(http::field::authorization, "Bearer " + token_);
    if (!body.is_null()) {
      req.set(http::field::content_type, "application/json");
      req.body() = json::serialize(body);
    }
    req.prepare_payload();
    http::write(stream, req);
    beast::flat_buffer buf;
    http::response<http::string_body> res;
    http::read(stream, buf, res);
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);  // the server may close first
    Reply r{res.result_int(), nullptr};
    if (!res.body().empty()) r.body = json::parse(res.body());
    return r;
  }

 private:
  std::string host_, port_, token_;
};

// Fails with the server's {"error": ...} unless the status is one of those expected.
Reply expect(Reply r, std::initializer_list<unsigned> ok, const char* what) {
  for (unsigned s : ok)
    if (r.status == s) return r;
  throw std::runtime_error(std::string(what) + ": HTTP " + std::to_string(r.status) + " " +
                           (r.body.is_null() ? "" : json::serialize(r.body)));
}

std::string str(const json::value& v, const char* key) {
  return std::string(v.as_object().at(key).as_string());
}

}  // namespace

int main(int argc, char** argv) {
  const std::string server = argc > 1 ? argv[1] : "127.0.0.1:9000";
  const auto colon = server.rfind(':');
  if (colon == std::string::npos) {
    std::fprintf(stderr, "usage: %s [HOST:PORT]\n", argv[0]);
    return 2;
  }
  NexusClient nexus(server.substr(0, colon), server.substr(colon + 1));
  try {
    // 1. The BNG node announces itself (and heartbeats by repeating this).
    auto node = expect(
        nexus.call(http::verb::post, "/api/v1/nodes",
                   {{"id", "olt-example-01"}, {"address", "192.0.2.10"}, {"region", "east"}}),
        {200, 201}, "register node");
    std::printf("node %s: %s\n", str(node.body, "id").c_str(), str(node.body, "status").c_str());

    // 2. A pool (200 or 409 when it exists already, from an earlier run: fine).
    const std::string cidr = "10.99.0.0/29";
    expect(nexus.call(http::verb::post, "/api/v1/pools",
                      {{"id", "example-pool"},
                       {"cidr", cidr},
                       {"gateway", "10.99.0.1"},
                       {"dns", {"10.99.0.1"}}}),
           {200, 201, 409}, "create pool");

    // 3. An address for a subscriber; asking again returns the same one.
    const json::value want{{"pool_id", "example-pool"}, {"subscriber_id", "sub-0001"}};
    auto first =
        expect(nexus.call(http::verb::post, "/api/v1/allocations", want), {200, 201}, "allocate");
    auto again =
        expect(nexus.call(http::verb::post, "/api/v1/allocations", want), {200}, "allocate again");
    const std::string ip = str(first.body, "ip");
    auto addr = bngkit::nexus::IpAddress::parse(ip);
    auto pool = bngkit::nexus::Prefix::parse(cidr);
    if (!addr || !pool || !pool->contains(*addr) || str(again.body, "ip") != ip)
      throw std::runtime_error("allocation " + json::serialize(first.body) + " then " +
                               json::serialize(again.body) + " (pool " + cidr + ")");
    std::printf("sub-0001: %s from %s on node %s, expires %s\n", ip.c_str(), cidr.c_str(),
                str(first.body, "node_id").c_str(), str(first.body, "expires_at").c_str());

    // 4. Renew (a DHCP renewal at the BNG), 5. release (the subscriber left).
    auto renewed =
        expect(nexus.call(http::verb::post, "/api/v1/allocations/sub-0001/renew"), {200}, "renew");
    std::printf("renewed: expires %s\n", str(renewed.body, "expires_at").c_str());
    expect(nexus.call(http::verb::delete_, "/api/v1/allocations/sub-0001"), {204}, "release");
    expect(nexus.call(http::verb::get, "/api/v1/allocations/sub-0001"), {404},
           "allocation after release");
    std::printf("released %s\n", ip.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "nexus-client: %s: %s\n", server.c_str(), e.what());
    return 1;
  }
  return 0;
}
