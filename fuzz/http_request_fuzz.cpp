// libFuzzer target for HTTP request handling: the input is a byte stream of pipelined
// requests, read with Beast's request parser under the server's limits, turned into a
// Request by ops::make_request (what HttpServer does) and dispatched on a router that holds
// the whole Nexus API over a memory-only model plus the health and metrics endpoints.
// Properties: nothing crashes; every answer has a status Beast knows and serialises into a
// response that parses back; JSON answers are JSON; a malformed JSON body on an endpoint that
// reads one is a 400; no request makes a handler fail with 500 (nothing here can fail
// inside). Also linked into tests/fuzz/http_fuzz_corpus_test.cpp (BNGKIT_FUZZ_IN_GTEST).
#include <bngkit/nexus/api.hpp>
#include <bngkit/nexus/model.hpp>
#include <bngkit/ops/health.hpp>
#include <bngkit/ops/http.hpp>
#include <bngkit/ops/metrics.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <prometheus/counter.h>
#include <prometheus/registry.h>
#include <string>
#include <string_view>
#include <vector>

#define HTTP_FUZZ_CHECK(cond)                                                                   \
  do {                                                                                          \
    if (!(cond)) {                                                                              \
      std::fprintf(stderr, "http fuzz: check failed: %s (%s:%d) on %s\n", #cond, __FILE__,      \
                   __LINE__, bngkit::fuzz::g_exchange.c_str());                              \
      std::abort();                                                                             \
    }                                                                                           \
  } while (0)

namespace bngkit::fuzz {

// The request and answer being checked, for the message of a failed check.
std::string g_exchange;

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;

constexpr std::string_view kToken = "fuzz-token";
constexpr std::size_t kMaxRequests = 16;  // per input: enough to create, use and delete

// The daemons' HttpServerOptions defaults.
constexpr std::size_t kMaxBody = 1 << 20;
constexpr std::uint32_t kMaxHeader = 16 << 10;

struct Service {
  std::unique_ptr<nexus::Model> model;
  ops::Router router;
  ops::HealthChecks health;
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();

  Service() {
    nexus::ModelOptions mo;
    mo.replica_id = "fuzz-1";
    mo.now_ms = [] { return std::int64_t{1'700'000'000'000}; };  // reproducible
    model = std::move(nexus::Model::open(nullptr, mo)).value();
    nexus::ApiOptions ao;
    ao.token = std::string(kToken);
    ao.resync = [] {};
    nexus::add_api_routes(router, *model, ao);
    health.add(ops::HealthChecks::Kind::readiness, "model",
               [m = model.get()] { return ops::CheckResult{!m->pools().empty(), "pools"}; });
    health.add_endpoints(router);
    auto& family = prometheus::BuildCounter().Name("fuzz_requests_total").Help("h").Register(*registry);
    family.Add({}).Increment();
    ops::add_metrics_endpoint(router, registry);
  }
};

// The router's view of the path: segments split on '/' before percent-decoding.
std::vector<std::string> segments_of(const std::string& raw_path) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= raw_path.size()) {
    auto end = raw_path.find('/', start);
    if (end == std::string::npos) end = raw_path.size();
    if (end > start) {
      auto d = ops::url_decode(std::string_view(raw_path).substr(start, end - start));
      if (!d) return {};
      out.push_back(*d);
    }
    start = end + 1;
  }
  return out;
}

// Nexus endpoints whose handler reads a JSON object from the body.
bool reads_json_body(const ops::Request& r) {
  const auto s = segments_of(r.raw_path);
  const bool api = s.size() >= 3 && s[0] == "api" && s[1] == "v1";
  if (r.method == "POST") {
    if (api && s.size() == 3) return s[2] == "pools" || s[2] == "allocations" || s[2] == "nodes";
    if (api && s.size() == 5) return s[2] == "allocations" && s[4] == "renew";
    return s.size() == 2 && s[0] == "admin" && s[1] == "restore";
  }
  if (r.method == "PUT") return api && s.size() == 4 && s[2] == "pools";
  return false;
}

bool authorised(const ops::Request& r) {
  const auto auth = r.header("authorization");
  return auth && *auth == "Bearer " + std::string(kToken);
}

bool is_json(std::string_view body) {
  boost::system::error_code ec;
  (void)json::parse(body, ec);
  return !ec;
}

void check_response(const ops::Request& request, const ops::Response& response) {
  g_exchange = request.method + " " + request.raw_path + " -> " + std::to_string(response.status) +
               " " + response.body.substr(0, 200);
  static const bool trace = std::getenv("BNGKIT_HTTP_FUZZ_TRACE") != nullptr;
  if (trace) std::fprintf(stderr, "%s\n", g_exchange.c_str());  // to see what an input does
  HTTP_FUZZ_CHECK(http::int_to_status(static_cast<unsigned>(response.status)) !=
                  http::status::unknown);
  HTTP_FUZZ_CHECK(response.status != 500);
  if (response.content_type == "application/json" && response.status != 204) {
    HTTP_FUZZ_CHECK(is_json(response.body));
  }
  const auto path = segments_of(request.raw_path);
  const bool health = !path.empty() && (path[0] == "health" || path[0] == "ready");
  if (response.status >= 400 && !(health && response.status == 503)) {
    // {"error": "..."} with a sentence in it.
    boost::system::error_code ec;
    const auto v = json::parse(response.body, ec);
    HTTP_FUZZ_CHECK(!ec && v.is_object() && v.as_object().contains("error"));
    HTTP_FUZZ_CHECK(v.at("error").is_string() && !v.at("error").as_string().empty());
  }
  if (reads_json_body(request) && authorised(request) && !request.body.empty() &&
      !is_json(request.body)) {
    HTTP_FUZZ_CHECK(response.status == 400);
  }

  // Serialised as HttpServer does, the answer parses back with the same status and body.
  http::response<http::string_body> res{static_cast<http::status>(response.status), 11};
  res.set(http::field::server, "bngkit");
  if (!response.content_type.empty()) res.set(http::field::content_type, response.content_type);
  for (const auto& [k, v] : response.headers) res.set(k, v);
  res.body() = response.body;
  res.prepare_payload();
  std::string wire;
  {
    http::serializer<false, http::string_body> sr{res};
    beast::error_code ec;
    do {
      sr.next(ec, [&](beast::error_code&, const auto& buffers) {
        for (const auto b : beast::buffers_range_ref(buffers)) {
          wire.append(static_cast<const char*>(b.data()), b.size());
        }
        sr.consume(beast::buffer_bytes(buffers));
      });
      HTTP_FUZZ_CHECK(!ec);
    } while (!sr.is_done());
  }
  http::response_parser<http::string_body> back;
  back.eager(true);
  beast::error_code ec;
  back.put(boost::asio::buffer(wire), ec);
  if (!ec && !back.is_done()) back.put_eof(ec);
  HTTP_FUZZ_CHECK(!ec && back.is_done());
  HTTP_FUZZ_CHECK(back.get().result_int() == static_cast<unsigned>(response.status));
  if (response.status != 204 && response.status != 304 && response.status >= 200) {
    HTTP_FUZZ_CHECK(back.get().body() == response.body);
  }
}

}  // namespace

int http_request_one(const std::uint8_t* data, std::size_t size) {
  Service service;
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  for (std::size_t n = 0; n < kMaxRequests && !rest.empty(); ++n) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(kMaxBody);
    parser.header_limit(kMaxHeader);
    parser.eager(true);
    beast::error_code ec;
    while (!parser.is_done()) {
      const std::size_t used = parser.put(boost::asio::buffer(rest.data(), rest.size()), ec);
      HTTP_FUZZ_CHECK(used <= rest.size());
      rest.remove_prefix(used);
      if (ec == http::error::need_more) ec = {};
      if (ec || parser.is_done()) break;
      if (used == 0) {
        // Input exhausted (the peer closed): a request may end at EOF (HTTP/1.0 bodies),
        // anything else is incomplete. Bytes Beast cannot use yet wait for more that never come.
        if (rest.empty()) parser.put_eof(ec);
        break;
      }
    }
    // A request Beast refuses is answered 400/413 by the server and the connection closes.
    if (ec || !parser.is_done()) return 0;

    auto& req = parser.get();
    std::vector<std::pair<std::string, std::string>> fields;
    for (const auto& field : req) fields.emplace_back(field.name_string(), field.value());
    auto request = ops::make_request(std::string(req.method_string()), req.target(), fields,
                                     std::move(req.body()));
    if (!request) {
      HTTP_FUZZ_CHECK(!request.error().context.empty());
      continue;
    }
    const ops::Request sent = *request;
    const ops::Response response = service.router.dispatch(*request);
    check_response(sent, response);
    if (!req.keep_alive()) break;
  }
  return 0;
}

}  // namespace bngkit::fuzz

#ifndef BNGKIT_FUZZ_IN_GTEST
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return bngkit::fuzz::http_request_one(data, size);
}
#endif
