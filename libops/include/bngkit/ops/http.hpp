// A small HTTP/1.1 server for the daemons' ops and API endpoints (/health, /metrics,
// /api/v1/...). Routes are patterns with {params}; handlers are plain functions of a
// Request, so libraries can register endpoints without knowing about Beast.
#pragma once

#include <bngkit/common/result.hpp>
#include <bngkit/ops/export.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace boost::asio {
class io_context;
}
namespace prometheus {
class Registry;
}

namespace bngkit::ops {

/// One HTTP request as a handler sees it.
struct BNGKIT_OPS_EXPORT Request {
  std::string method;                             ///< "GET", "POST", ...
  std::string path;                               ///< decoded path without the query
  std::map<std::string, std::string> query;       ///< decoded query parameters
  std::map<std::string, std::string> params;      ///< values of {name} route segments
  std::map<std::string, std::string> headers;     ///< lower-cased names
  std::string body;
  /// The path as sent, escapes kept; when set, the router splits it before decoding, so an
  /// escaped slash (%2F) stays inside one {param} ("circuit-id:olt1%2F1%2F1").
  std::string raw_path;

  /// A header value by lower-case name, if present.
  [[nodiscard]] std::optional<std::string> header(std::string_view name) const;
  /// A query parameter, if present.
  [[nodiscard]] std::optional<std::string> query_param(std::string_view name) const;
};

/// What a handler answers.
struct BNGKIT_OPS_EXPORT Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  /// A JSON body (already serialised) with a status.
  static Response json(int status, std::string body);
  /// `{"error": message}` with a status, as every bngkit API reports errors.
  static Response error(int status, std::string_view message);
  /// A plain-text body.
  static Response text(int status, std::string body, std::string content_type = "text/plain; charset=utf-8");
  /// 204 No Content.
  static Response no_content();
};

/// The Request a handler sees, from what the HTTP parser read: the target splits at '?' into
/// the percent-decoded path (raw_path keeps the escapes) and the decoded query; header names
/// are lower-cased. A bad percent-escape is an error (the server answers 400).
BNGKIT_OPS_EXPORT Result<Request> make_request(
    std::string method, std::string_view target,
    const std::vector<std::pair<std::string, std::string>>& headers, std::string body);

using Handler = std::function<Response(const Request&)>;

/// Maps (method, path pattern) to handlers. Patterns are literal segments and {name}
/// segments, e.g. "/api/v1/sessions/{id}". Unknown path: 404; known path, other method: 405.
class BNGKIT_OPS_EXPORT Router {
 public:
  /// Registers a handler. Later registrations of the same method and pattern replace earlier ones.
  void add(std::string method, std::string pattern, Handler handler);
  /// Dispatches a request (fills request.params) and always returns a response.
  [[nodiscard]] Response dispatch(Request& request) const;
  /// When `token` is not empty, every request with a method other than GET or HEAD (one
  /// that can change state) needs "Authorization: Bearer <token>" before any handler
  /// runs: 401 without it, 403 with another token. Reads stay open. Empty: no check.
  void require_token(std::string token) { token_ = std::move(token); }
  [[nodiscard]] bool token_required() const { return !token_.empty(); }

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;
    Handler handler;
  };
  std::vector<Route> routes_;
  std::string token_;
};

/// The bearer-token check behind Router::require_token, for handlers that guard
/// themselves: nullopt when `request` carries "Authorization: Bearer <token>" (scheme in
/// any case; compared in constant time), else the 401 (with WWW-Authenticate) or 403
/// response to send. The token never appears in a response.
BNGKIT_OPS_EXPORT std::optional<Response> check_bearer(const Request& request, std::string_view token);

/// Server limits: every buffer fed from the network is bounded.
struct HttpServerOptions {
  std::string bind_address = "0.0.0.0";
  std::uint16_t port = 8080;
  std::size_t max_body_bytes = 1 << 20;
  std::size_t max_header_bytes = 16 << 10;
  /// Connections served at once; one more is closed at accept and counted as refused.
  std::size_t max_connections = 256;
  std::chrono::seconds idle_timeout{30};
  /// When set, the server keeps bngkit_http_connections{server=name} (open now) and
  /// bngkit_http_connections_refused_total{server=name} (over max_connections) in it.
  std::shared_ptr<prometheus::Registry> registry;
  std::string name = "api";
  /// Called after each request with method, route status and handler time (for metrics).
  std::function<void(const Request&, int status, std::chrono::nanoseconds)> observer;
};

/// Asynchronous HTTP/1.1 server on an io_context the caller runs. Keep-alive, bounded
/// bodies, idle timeout; handlers run on the io_context's threads.
class BNGKIT_OPS_EXPORT HttpServer {
 public:
  HttpServer(boost::asio::io_context& io, std::shared_ptr<const Router> router);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// Binds and starts accepting. Errors name the address ("bind 0.0.0.0:8080: Address in use").
  Result<void> start(const HttpServerOptions& options);
  /// The bound port (useful with port 0 in tests).
  [[nodiscard]] std::uint16_t port() const;
  /// Connections open now, and refused so far because max_connections were open.
  struct Stats {
    std::size_t open = 0;
    std::uint64_t refused = 0;
  };
  [[nodiscard]] Stats stats() const;
  /// Stops accepting; open connections finish their current request.
  void stop();

  struct Impl;  // opaque; public so the sessions in http.cpp can name it

 private:
  std::shared_ptr<Impl> impl_;
};

/// Percent-decodes a URL component ('+' stays '+'). Returns nullopt on a bad escape.
BNGKIT_OPS_EXPORT std::optional<std::string> url_decode(std::string_view in);

}  // namespace bngkit::ops
