// HttpServer on Boost.Beast: one async session per connection, each owning its socket;
// every completion checks its error. Routing is plain string work in Router.
#include <bngkit/ops/http.hpp>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <atomic>
#include <cctype>

namespace bngkit::ops {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::optional<std::string> Request::header(std::string_view name) const {
  auto it = headers.find(std::string(name));
  if (it == headers.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> Request::query_param(std::string_view name) const {
  auto it = query.find(std::string(name));
  if (it == query.end()) return std::nullopt;
  return it->second;
}

Response Response::json(int status, std::string body) {
  return Response{status, "application/json", std::move(body), {}};
}

namespace {

// Messages echo request bytes (paths, ids); Boost.JSON would copy invalid UTF-8 into the
// body as it is, making it invalid JSON. Each byte of an ill-formed sequence becomes U+FFFD.
std::string valid_utf8(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  std::size_t i = 0;
  while (i < in.size()) {
    const auto b = static_cast<unsigned char>(in[i]);
    std::size_t len = 0;
    unsigned char lo = 0x80, hi = 0xbf;  // allowed range of the second byte (RFC 3629 table)
    if (b < 0x80) len = 1;
    else if (b >= 0xc2 && b <= 0xdf) len = 2;
    else if (b >= 0xe0 && b <= 0xef) {
      len = 3;
      if (b == 0xe0) lo = 0xa0;
      if (b == 0xed) hi = 0x9f;  // no surrogates
    } else if (b >= 0xf0 && b <= 0xf4) {
      len = 4;
      if (b == 0xf0) lo = 0x90;
      if (b == 0xf4) hi = 0x8f;
    }
    bool ok = len != 0 && i + len <= in.size();
    for (std::size_t k = 1; ok && k < len; ++k) {
      const auto c = static_cast<unsigned char>(in[i + k]);
      ok = k == 1 ? c >= lo && c <= hi : c >= 0x80 && c <= 0xbf;
    }
    if (ok) {
      out.append(in.substr(i, len));
      i += len;
    } else {
      out.append("\xEF\xBF\xBD");
      ++i;
    }
  }
  return out;
}

}  // namespace

Response Response::error(int status, std::string_view message) {
  boost::json::object o;
  o["error"] = valid_utf8(message);
  return json(status, boost::json::serialize(o));
}

Response Response::text(int status, std::string body, std::string content_type) {
  return Response{status, std::move(content_type), std::move(body), {}};
}

Response Response::no_content() { return Response{204, "", "", {}}; }

std::optional<std::string> url_decode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size() || !std::isxdigit(static_cast<unsigned char>(in[i + 1])) ||
        !std::isxdigit(static_cast<unsigned char>(in[i + 2]))) {
      return std::nullopt;
    }
    out.push_back(static_cast<char>(std::stoi(std::string(in.substr(i + 1, 2)), nullptr, 16)));
    i += 2;
  }
  return out;
}

namespace {

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> segments;
  std::size_t start = 0;
  while (start <= path.size()) {
    auto end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    if (end > start) segments.emplace_back(path.substr(start, end - start));
    start = end + 1;
  }
  return segments;
}

bool is_param(const std::string& segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

// Splits "a=1&b=x%20y" into decoded pairs; a bad escape is an error.
Result<std::map<std::string, std::string>> parse_query(std::string_view q) {
  std::map<std::string, std::string> out;
  while (!q.empty()) {
    auto amp = q.find('&');
    auto part = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
    if (part.empty()) continue;
    auto eq = part.find('=');
    auto key = url_decode(part.substr(0, eq));
    auto value = url_decode(eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1));
    if (!key || !value) {
      return make_error(std::errc::invalid_argument, "bad percent-escape in query string");
    }
    out[*key] = *value;
  }
  return out;
}

// Equal in time that depends only on the length of `want` (the secret), not on where
// `got` first differs.
bool equal_constant_time(std::string_view got, std::string_view want) {
  volatile unsigned char diff = got.size() == want.size() ? 0 : 1;
  for (std::size_t i = 0; i < want.size(); ++i) {
    const char g = i < got.size() ? got[i] : '\0';
    diff = static_cast<unsigned char>(diff | static_cast<unsigned char>(g ^ want[i]));
  }
  return diff == 0;
}

}  // namespace

std::optional<Response> check_bearer(const Request& request, std::string_view token) {
  auto auth = request.header("authorization");
  constexpr std::string_view kScheme = "bearer ";
  const bool bearer = auth && auth->size() >= kScheme.size() &&
                      std::equal(kScheme.begin(), kScheme.end(), auth->begin(), [](char a, char b) {
                        return a == std::tolower(static_cast<unsigned char>(b));
                      });
  if (!bearer) {
    Response r = Response::error(401, "this request changes state: send Authorization: Bearer <token>");
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return r;
  }
  std::string_view presented(*auth);
  presented.remove_prefix(kScheme.size());
  while (!presented.empty() && presented.front() == ' ') presented.remove_prefix(1);
  if (!equal_constant_time(presented, token)) return Response::error(403, "the bearer token was not accepted");
  return std::nullopt;
}

Result<Request> make_request(std::string method, std::string_view target,
                             const std::vector<std::pair<std::string, std::string>>& headers,
                             std::string body) {
  Request request;
  request.method = std::move(method);
  const auto qpos = target.find('?');
  auto path = url_decode(target.substr(0, qpos));
  auto query = parse_query(qpos == std::string_view::npos ? std::string_view{} : target.substr(qpos + 1));
  if (!path || !query) return make_error(std::errc::invalid_argument, "bad percent-escape in request target");
  request.path = std::move(*path);
  request.raw_path = std::string(target.substr(0, qpos));
  request.query = std::move(query.value());
  for (const auto& [field, value] : headers) {
    std::string name = field;
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    request.headers[name] = value;
  }
  request.body = std::move(body);
  return request;
}

void Router::add(std::string method, std::string pattern, Handler handler) {
  auto segments = split_path(pattern);
  for (auto& r : routes_) {
    if (r.method == method && r.segments == segments) {
      r.handler = std::move(handler);
      return;
    }
  }
  routes_.push_back(Route{std::move(method), std::move(segments), std::move(handler)});
}

Response Router::dispatch(Request& request) const {
  if (!token_.empty() && request.method != "GET" && request.method != "HEAD") {
    if (auto refused = check_bearer(request, token_)) return *refused;
  }
  auto segments = split_path(request.raw_path.empty() ? request.path : request.raw_path);
  if (!request.raw_path.empty()) {
    for (auto& segment : segments) {
      auto decoded = url_decode(segment);
      if (!decoded) return Response::error(400, "bad percent-escape in request target");
      segment = std::move(*decoded);
    }
  }
  bool path_known = false;
  for (const auto& route : routes_) {
    if (route.segments.size() != segments.size()) continue;
    std::map<std::string, std::string> params;
    bool match = true;
    for (std::size_t i = 0; i < segments.size() && match; ++i) {
      if (is_param(route.segments[i])) {
        params[route.segments[i].substr(1, route.segments[i].size() - 2)] = segments[i];
      } else {
        match = route.segments[i] == segments[i];
      }
    }
    if (!match) continue;
    path_known = true;
    if (route.method != request.method &&
        !(request.method == "HEAD" && route.method == "GET")) {
      continue;
    }
    request.params = std::move(params);
    try {
      return route.handler(request);
    } catch (const std::exception& e) {
      return Response::error(500, std::string("internal error: ") + e.what());
    }
  }
  if (path_known) return Response::error(405, "method " + request.method + " not allowed on " + request.path);
  return Response::error(404, "no such endpoint: " + request.path);
}

// ---------------------------------------------------------------------------------------

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  Impl(asio::io_context& io_, std::shared_ptr<const Router> router_)
      : io(io_), acceptor(io_), router(std::move(router_)) {}

  asio::io_context& io;
  tcp::acceptor acceptor;
  std::shared_ptr<const Router> router;
  HttpServerOptions options;
  std::atomic<bool> stopped{false};
  std::atomic<std::size_t> open{0};
  std::atomic<std::uint64_t> refused{0};
  prometheus::Gauge* open_gauge = nullptr;
  prometheus::Counter* refused_counter = nullptr;

  void accept();
  void opened() {
    ++open;
    if (open_gauge != nullptr) open_gauge->Increment();
  }
  void closed() {
    --open;
    if (open_gauge != nullptr) open_gauge->Decrement();
  }
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<HttpServer::Impl> server)
      : stream_(std::move(socket)), buffer_(buffer_limit(server->options)), server_(std::move(server)) {
    server_->opened();
  }
  ~Session() { server_->closed(); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void start() { read(); }

 private:
  // What one request may occupy (the parser enforces the header and body limits; this
  // also bounds bytes a client pipelines behind them).
  static std::size_t buffer_limit(const HttpServerOptions& o) {
    return o.max_header_bytes + o.max_body_bytes + (64 << 10);
  }

  void read() {
    parser_.emplace();
    parser_->body_limit(server_->options.max_body_bytes);
    parser_->header_limit(static_cast<std::uint32_t>(server_->options.max_header_bytes));
    stream_.expires_after(server_->options.idle_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       self->on_read(ec);
                     });
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted) {
      close();
      return;
    }
    if (ec) {
      // Malformed or oversized request: answer 400/413 once, then close.
      const int status = ec == http::error::body_limit || ec == http::error::header_limit ||
                                 ec == http::error::buffer_overflow
                             ? (ec == http::error::header_limit ? 431 : 413)
                             : 400;
      http::request<http::string_body> dummy;
      send(make_response(dummy, Response::error(status, "bad request: " + ec.message())), false);
      return;
    }
    auto& req = parser_->get();
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::pair<std::string, std::string>> fields;
    for (const auto& field : req) fields.emplace_back(field.name_string(), field.value());
    auto made = make_request(std::string(req.method_string()), req.target(), fields, std::move(req.body()));
    Request request;
    Response response;
    if (!made) {
      request.method = std::string(req.method_string());
      response = Response::error(400, made.error().context);
    } else {
      request = std::move(*made);
      response = server_->router->dispatch(request);
    }
    if (server_->options.observer) {
      server_->options.observer(request, response.status, std::chrono::steady_clock::now() - start);
    }
    send(make_response(req, std::move(response)), req.keep_alive());
  }

  static http::response<http::string_body> make_response(const http::request<http::string_body>& req,
                                                         Response r) {
    http::response<http::string_body> res{static_cast<http::status>(r.status), req.version() ? req.version() : 11};
    res.set(http::field::server, "bngkit");
    if (!r.content_type.empty()) res.set(http::field::content_type, r.content_type);
    for (auto& [k, v] : r.headers) res.set(k, v);
    if (req.method() != http::verb::head) res.body() = std::move(r.body);
    res.prepare_payload();
    return res;
  }

  void send(http::response<http::string_body> res, bool keep_alive) {
    res.keep_alive(keep_alive);
    auto sp = std::make_shared<http::response<http::string_body>>(std::move(res));
    http::async_write(stream_, *sp,
                      [self = shared_from_this(), sp, keep_alive](beast::error_code ec, std::size_t) {
                        if (ec || !keep_alive || self->server_->stopped) {
                          self->close();
                          return;
                        }
                        self->read();
                      });
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<HttpServer::Impl> server_;
};

}  // namespace

void HttpServer::Impl::accept() {
  acceptor.async_accept([self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
    if (self->stopped || !self->acceptor.is_open()) return;
    if (!ec) {
      if (self->open.load() >= self->options.max_connections) {
        // Over the limit: close at once rather than hold buffers for it.
        ++self->refused;
        if (self->refused_counter != nullptr) self->refused_counter->Increment();
        beast::error_code ignored;
        socket.close(ignored);
      } else {
        std::make_shared<Session>(std::move(socket), self)->start();
      }
    }
    self->accept();
  });
}

HttpServer::HttpServer(asio::io_context& io, std::shared_ptr<const Router> router)
    : impl_(std::make_shared<Impl>(io, std::move(router))) {}

HttpServer::~HttpServer() { stop(); }

Result<void> HttpServer::start(const HttpServerOptions& options) {
  impl_->options = options;
  if (options.registry && impl_->open_gauge == nullptr) {
    impl_->open_gauge = &prometheus::BuildGauge()
                             .Name("bngkit_http_connections")
                             .Help("HTTP connections open now, by server")
                             .Register(*options.registry)
                             .Add({{"server", options.name}});
    impl_->open_gauge->Set(static_cast<double>(impl_->open.load()));
    impl_->refused_counter = &prometheus::BuildCounter()
                                  .Name("bngkit_http_connections_refused_total")
                                  .Help("HTTP connections closed at accept because max_connections were open")
                                  .Register(*options.registry)
                                  .Add({{"server", options.name}});
  }
  const std::string where = options.bind_address + ":" + std::to_string(options.port);
  beast::error_code ec;
  auto address = asio::ip::make_address(options.bind_address, ec);
  if (ec) return Error{ec, "bind address '" + options.bind_address + "' is not an IP address"};
  tcp::endpoint endpoint(address, options.port);
  impl_->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(endpoint, ec);
  if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Error{ec, "HTTP listen on " + where};
  impl_->stopped = false;
  impl_->accept();
  return ok();
}

std::uint16_t HttpServer::port() const {
  beast::error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

HttpServer::Stats HttpServer::stats() const { return Stats{impl_->open.load(), impl_->refused.load()}; }

void HttpServer::stop() {
  impl_->stopped = true;
  beast::error_code ignored;
  impl_->acceptor.close(ignored);
}

}  // namespace bngkit::ops
