// EndpointSlice discovery: LIST, then WATCH with resume (resourceVersion) over HTTPS
// (Beast + OpenSSL, peer and host name verified against the service account CA), the
// token re-read per request since kubelet rotates it. One thread and one io_context per
// watcher; every network step has a timeout; stop() cuts whatever is in flight.
#include <bngkit/fanout/kubernetes.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

namespace bngkit::fanout {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Stream = beast::ssl_stream<beast::tcp_stream>;

Result<std::string> read_file_trimmed(const std::string& path, const char* what) {
  std::ifstream in(path);
  if (!in) return errno_error(errno ? errno : ENOENT, std::string("reading ") + what + " " + path);
  std::stringstream s;
  s << in.rdbuf();
  std::string text = s.str();
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  return text;
}

struct ApiServer {
  std::string host;  // without brackets
  std::string port;
};

Result<ApiServer> resolve_api_server(const KubernetesApiConfig& api) {
  std::string url = api.api_server;
  if (url.empty()) {
    const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
    const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
    if (host == nullptr || port == nullptr) {
      return Error{{},
                   "no Kubernetes API server: [kubernetes] api_server is not set and "
                   "KUBERNETES_SERVICE_HOST/PORT are not in the environment (not in a pod?)"};
    }
    const std::string h = host;
    url = "https://" + (h.find(':') != std::string::npos ? "[" + h + "]" : h) + ":" + port;
  }
  constexpr std::string_view kScheme = "https://";
  if (url.rfind(kScheme, 0) != 0) {
    return Error{{}, "Kubernetes API server \"" + url + "\" must be an https:// URL"};
  }
  std::string rest = url.substr(kScheme.size());
  if (const auto slash = rest.find('/'); slash != std::string::npos) rest.resize(slash);
  ApiServer s;
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string::npos) return Error{{}, "bad API server address \"" + url + "\""};
    s.host = rest.substr(1, close - 1);
    rest = rest.substr(close + 1);
  } else {
    const auto colon = rest.find(':');
    s.host = rest.substr(0, colon);
    rest = colon == std::string::npos ? "" : rest.substr(colon);
  }
  s.port = rest.empty() ? "443" : rest.substr(1);
  if (s.host.empty() || s.port.empty()) return Error{{}, "bad API server address \"" + url + "\""};
  return s;
}

// Percent-encodes a query value (Kubernetes names are DNS labels, but be exact anyway).
std::string url_encode(std::string_view in) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : in) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

const json::object* object_at(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr ? v->if_object() : nullptr;
}

std::string string_at(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  const json::string* s = v != nullptr ? v->if_string() : nullptr;
  return s != nullptr ? std::string(*s) : std::string();
}

std::string resource_version(const json::object& o) {
  const json::object* meta = object_at(o, "metadata");
  return meta != nullptr ? string_at(*meta, "resourceVersion") : std::string();
}

// A condition: true/false when set, `absent` when missing or null.
bool condition(const json::object* conditions, std::string_view key, bool absent) {
  if (conditions == nullptr) return absent;
  const json::value* v = conditions->if_contains(key);
  if (v == nullptr || v->is_null()) return absent;
  const bool* b = v->if_bool();
  return b != nullptr ? *b : absent;
}

Result<std::vector<Downstream>> from_slice(const json::object& slice, const KubernetesSource& src) {
  std::vector<Downstream> out;
  if (string_at(slice, "addressType") != "IPv4") return out;  // IPv6 and FQDN slices: not ours
  std::uint16_t port = src.port;
  if (port == 0) {
    const json::value* ports = slice.if_contains("ports");
    if (ports != nullptr && ports->is_array()) {
      for (const auto& p : ports->get_array()) {
        const json::object* po = p.if_object();
        if (po == nullptr || string_at(*po, "name") != src.port_name) continue;
        const auto proto = string_at(*po, "protocol");
        if (!proto.empty() && proto != "UDP") continue;
        const json::value* n = po->if_contains("port");
        if (n != nullptr && n->is_int64() && n->get_int64() > 0 && n->get_int64() < 65536) {
          port = static_cast<std::uint16_t>(n->get_int64());
        }
      }
    }
    if (port == 0) return out;  // this slice does not carry the named UDP port
  }
  const json::value* endpoints = slice.if_contains("endpoints");
  if (endpoints == nullptr || endpoints->is_null()) return out;  // a slice may have none
  if (!endpoints->is_array()) return make_error(std::errc::bad_message, "endpoints is not a list");
  for (const auto& e : endpoints->get_array()) {
    const json::object* eo = e.if_object();
    if (eo == nullptr) continue;
    const json::object* conditions = object_at(*eo, "conditions");
    // ready: "nil ... should be interpreted as true"; terminating: nil means false.
    if (!condition(conditions, "ready", true) || condition(conditions, "terminating", false))
      continue;
    std::string name;
    if (const json::object* ref = object_at(*eo, "targetRef")) name = string_at(*ref, "name");
    const json::value* addresses = eo->if_contains("addresses");
    if (addresses == nullptr || !addresses->is_array()) continue;
    for (const auto& a : addresses->get_array()) {
      const json::string* text = a.if_string();
      if (text == nullptr) continue;
      auto addr = Endpoint::parse_address(std::string_view(*text));
      if (!addr) continue;
      const Endpoint ep{*addr, port};
      out.push_back({name.empty() ? ep.to_string() : name, ep});
    }
  }
  return out;
}

}  // namespace

Result<std::vector<Downstream>> downstreams_from_slice(std::string_view slice_json,
                                                       const KubernetesSource& source) {
  boost::system::error_code ec;
  json::value v = json::parse(slice_json, ec);
  if (ec || !v.is_object()) {
    return make_error(std::errc::bad_message, "EndpointSlice is not a JSON object");
  }
  return from_slice(v.get_object(), source);
}

struct EndpointSliceWatcher::Impl {
  KubernetesApiConfig api;
  KubernetesSource source;
  Callback on_change;
  ApiServer server;
  std::string ns;    // the namespace watched
  std::string path;  // .../endpointslices?labelSelector=...

  asio::io_context io;
  std::thread thread;
  std::atomic<bool> alive{false};
  mutable std::mutex mutex;  // stopping, status; io.stop()/restart() ordering
  std::condition_variable cv;
  bool stopping = false;
  Status status;

  // Watcher-thread state.
  std::map<std::string, std::vector<Downstream>> slices;  // by slice name
  std::optional<std::vector<Downstream>> reported;
  std::string rv;

  void run();
  Result<void> list();
  enum class WatchEnd { closed, gone };
  Result<WatchEnd> watch();
  Result<std::unique_ptr<Stream>> connect(ssl::context& ctx);
  Result<http::request<http::empty_body>> request(const std::string& target);
  bool run_io();
  void apply(const std::string& type, const json::object& object, bool* gone);
  void report();
  void count_oversized() {
    std::lock_guard lock(mutex);
    ++status.oversized;
  }
  void set_error(std::string e) {
    std::lock_guard lock(mutex);
    status.last_error = std::move(e);
  }
  bool is_stopping() {
    std::lock_guard lock(mutex);
    return stopping;
  }
  // Sleeps `d` unless stopped first; false when stopped.
  bool sleep_for(std::chrono::milliseconds d) {
    std::unique_lock lock(mutex);
    return !cv.wait_for(lock, d, [&] { return stopping; });
  }

  // Starts an async operation with a handler setting `ec`, runs it to completion.
  template <typename Start>
  beast::error_code await(Start&& start) {
    beast::error_code result = asio::error::operation_aborted;
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    if (!run_io()) return asio::error::operation_aborted;
    return result;
  }
};

EndpointSliceWatcher::EndpointSliceWatcher(KubernetesApiConfig api, KubernetesSource source,
                                           Callback on_change)
    : impl_(std::make_unique<Impl>()) {
  impl_->api = std::move(api);
  impl_->source = std::move(source);
  impl_->on_change = std::move(on_change);
}

EndpointSliceWatcher::~EndpointSliceWatcher() { stop(); }

Result<void> EndpointSliceWatcher::start() {
  auto& d = *impl_;
  if (d.thread.joinable()) return ok();
  auto server = resolve_api_server(d.api);
  if (!server) return server.error();
  d.server = *server;
  d.ns = d.source.namespace_name;
  if (d.ns.empty()) {
    auto file = read_file_trimmed(d.api.namespace_file, "the pod's namespace from");
    if (!file) return file.error();
    d.ns = *file;
  }
  d.path = "/apis/discovery.k8s.io/v1/namespaces/" + url_encode(d.ns) +
           "/endpointslices?labelSelector=" +
           url_encode("kubernetes.io/service-name=" + d.source.service);
  {
    std::lock_guard lock(d.mutex);
    d.stopping = false;
    d.status.namespace_name = d.ns;
  }
  d.alive = true;
  d.thread = std::thread([&d] { d.run(); });
  return ok();
}

void EndpointSliceWatcher::stop() noexcept {
  auto& d = *impl_;
  if (!d.thread.joinable()) return;
  {
    std::lock_guard lock(d.mutex);
    d.stopping = true;
    d.io.stop();  // cuts the request in flight
  }
  d.cv.notify_all();
  d.thread.join();
}

bool EndpointSliceWatcher::running() const noexcept { return impl_->alive.load(); }

EndpointSliceWatcher::Status EndpointSliceWatcher::status() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->status;
}

bool EndpointSliceWatcher::Impl::run_io() {
  {
    std::lock_guard lock(mutex);
    if (stopping) return false;
    io.restart();
  }
  io.run();
  return !is_stopping();
}

void EndpointSliceWatcher::Impl::run() {
  std::mt19937 rng{std::random_device{}()};
  auto backoff = api.backoff_min;
  bool need_list = true;
  while (!is_stopping()) {
    Result<void> step = ok();
    if (need_list) {
      step = list();
      if (step) need_list = false;
    } else {
      auto end = watch();
      if (end && *end == WatchEnd::gone) need_list = true;
      if (!end) step = end.error();
    }
    if (is_stopping()) break;
    if (step) {
      backoff = api.backoff_min;
      continue;
    }
    set_error(step.error().message());
    spdlog::warn("kubernetes {}/{}: {}; retrying in {} ms", ns, source.service,
                 step.error().message(), backoff.count());
    // Jitter (up to +50%) so many daemons do not retry in step after an API outage.
    const auto jitter = std::chrono::milliseconds(
        std::uniform_int_distribution<std::int64_t>(0, backoff.count() / 2)(rng));
    if (!sleep_for(backoff + jitter)) break;
    backoff = std::min(backoff * 2, api.backoff_max);
  }
  alive = false;
}

Result<http::request<http::empty_body>> EndpointSliceWatcher::Impl::request(
    const std::string& target) {
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, server.host);
  req.set(http::field::accept, "application/json");
  req.set(http::field::user_agent, "udp-fanout (bngkit)");
  if (!api.token_file.empty()) {
    auto token = read_file_trimmed(api.token_file, "the service account token from");
    if (!token) return token.error();
    req.set(http::field::authorization, "Bearer " + *token);
  }
  return req;
}

Result<std::unique_ptr<Stream>> EndpointSliceWatcher::Impl::connect(ssl::context& ctx) {
  const std::string where = "https://" + server.host + ":" + server.port;
  boost::system::error_code ec;
  ctx.set_verify_mode(ssl::verify_peer);
  ctx.load_verify_file(api.ca_file, ec);
  if (ec) return Error{ec, "loading the CA " + api.ca_file};

  tcp::resolver resolver(io);
  tcp::resolver::results_type endpoints;
  ec = await([&](auto handler) {
    resolver.async_resolve(
        server.host, server.port,
        [&endpoints, handler](beast::error_code e, tcp::resolver::results_type r) mutable {
          endpoints = std::move(r);
          handler(e);
        });
  });
  if (ec) return Error{ec, "resolving " + server.host};

  auto stream = std::make_unique<Stream>(io, ctx);
  // SNI and the name the certificate must carry (an IP address is checked as one).
  boost::system::error_code addr_ec;
  asio::ip::make_address(server.host, addr_ec);
  if (addr_ec && !SSL_set_tlsext_host_name(stream->native_handle(), server.host.c_str())) {
    return Error{{}, "setting TLS SNI for " + server.host};
  }
  stream->set_verify_callback(ssl::host_name_verification(server.host));
  auto& tcp_layer = beast::get_lowest_layer(*stream);
  tcp_layer.expires_after(api.request_timeout);
  ec = await([&](auto handler) {
    tcp_layer.async_connect(
        endpoints, [handler](beast::error_code e, const tcp::endpoint&) mutable { handler(e); });
  });
  if (ec) return Error{ec, "connecting to " + where};
  tcp_layer.expires_after(api.request_timeout);
  ec = await([&](auto handler) { stream->async_handshake(ssl::stream_base::client, handler); });
  if (ec) return Error{ec, "TLS handshake with " + where};
  return stream;
}

Result<void> EndpointSliceWatcher::Impl::list() {
  ssl::context ctx(ssl::context::tls_client);
  auto stream = connect(ctx);
  if (!stream) return stream.error();
  auto req = request(path);
  if (!req) return req.error();
  auto& tcp_layer = beast::get_lowest_layer(**stream);
  tcp_layer.expires_after(api.request_timeout);
  auto ec = await([&](auto handler) { http::async_write(**stream, *req, handler); });
  if (ec) return Error{ec, "sending the EndpointSlice list request"};
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(api.max_response_bytes);
  tcp_layer.expires_after(api.request_timeout);
  ec = await([&](auto handler) { http::async_read(**stream, buffer, parser, handler); });
  if (ec == http::error::body_limit) count_oversized();
  if (ec) return Error{ec, "reading the EndpointSlice list"};
  const auto& res = parser.get();
  if (res.result() != http::status::ok) {
    return Error{{},
                 "listing EndpointSlices: HTTP " + std::to_string(res.result_int()) + ": " +
                     res.body().substr(0, 300)};
  }
  json::value v = json::parse(res.body(), ec);
  const json::object* list = v.if_object();
  const json::value* items = list != nullptr ? list->if_contains("items") : nullptr;
  if (ec || items == nullptr || !(items->is_array() || items->is_null())) {
    return Error{{}, "the EndpointSlice list is not a list object"};
  }
  std::map<std::string, std::vector<Downstream>> fresh;
  if (items->is_array()) {
    for (const auto& item : items->get_array()) {
      const json::object* slice = item.if_object();
      if (slice == nullptr) continue;
      const json::object* meta = object_at(*slice, "metadata");
      auto ds = from_slice(*slice, source);
      if (meta == nullptr || !ds) continue;
      fresh[string_at(*meta, "name")] = std::move(ds).value();
    }
  }
  slices = std::move(fresh);
  rv = resource_version(*list);
  {
    std::lock_guard lock(mutex);
    status.synced = true;
    status.resource_version = rv;
    status.last_error.clear();
    ++status.lists;
  }
  spdlog::info("kubernetes {}/{}: listed {} EndpointSlice(s) at resourceVersion {}", ns,
               source.service, slices.size(), rv);
  report();
  return ok();
}

Result<EndpointSliceWatcher::Impl::WatchEnd> EndpointSliceWatcher::Impl::watch() {
  ssl::context ctx(ssl::context::tls_client);
  auto stream = connect(ctx);
  if (!stream) return stream.error();
  const std::string target = path +
                             "&watch=1&allowWatchBookmarks=true&resourceVersion=" + url_encode(rv) +
                             "&timeoutSeconds=" + std::to_string(api.watch_timeout.count());
  auto req = request(target);
  if (!req) return req.error();
  {
    std::lock_guard lock(mutex);
    ++status.watches;
  }
  auto& tcp_layer = beast::get_lowest_layer(**stream);
  tcp_layer.expires_after(api.request_timeout);
  auto ec = await([&](auto handler) { http::async_write(**stream, *req, handler); });
  if (ec) return Error{ec, "sending the EndpointSlice watch request"};

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(boost::none);
  std::string line;
  bool gone = false;
  std::string bad_event;
  // Watch events are JSON objects, one per line, in the chunks of a chunked response.
  bool oversized = false;
  auto feed = [&](std::string_view body) {
    for (char c : body) {
      if (c != '\n') {
        // One event is one object: never more than a whole list may be.
        if (line.size() >= api.max_response_bytes) {
          oversized = true;
          return;
        }
        line.push_back(c);
        continue;
      }
      boost::system::error_code jec;
      json::value ev = json::parse(line, jec);
      line.clear();
      const json::object* eo = ev.if_object();
      const json::object* object = eo != nullptr ? object_at(*eo, "object") : nullptr;
      if (jec || object == nullptr) {
        bad_event = "a watch event that is not an object";
        continue;
      }
      apply(string_at(*eo, "type"), *object, &gone);
    }
  };
  auto on_chunk = [&](std::uint64_t, std::string_view body, beast::error_code& chunk_ec) {
    feed(body);
    if (oversized) chunk_ec = http::error::body_limit;
    return body.size();
  };
  parser.on_chunk_body(on_chunk);  // kept by reference: lives as long as the parser
  tcp_layer.expires_after(api.request_timeout);
  ec = await([&](auto handler) { http::async_read_header(**stream, buffer, parser, handler); });
  if (ec) return Error{ec, "reading the watch response"};
  const int status_code = parser.get().result_int();
  if (status_code == 410) return WatchEnd::gone;  // resourceVersion too old: list again
  if (status_code != 200) {
    tcp_layer.expires_after(api.request_timeout);
    await([&](auto handler) { http::async_read(**stream, buffer, parser, handler); });
    return Error{{},
                 "watching EndpointSlices: HTTP " + std::to_string(status_code) + ": " +
                     parser.get().body().substr(0, 300)};
  }
  // The server ends the stream after timeoutSeconds; allow that plus the request timeout.
  const auto idle = std::chrono::duration_cast<std::chrono::milliseconds>(api.watch_timeout) +
                    api.request_timeout;
  while (!parser.is_done() && !gone) {
    tcp_layer.expires_after(idle);
    ec = await([&](auto handler) { http::async_read_some(**stream, buffer, parser, handler); });
    if (oversized || parser.get().body().size() > api.max_response_bytes) {
      count_oversized();
      return make_error(std::errc::message_size, "a watch event over " + std::to_string(api.max_response_bytes) +
                                                     " bytes (kubernetes max_response_bytes): dropped the stream");
    }
    if (ec) return Error{ec, "watch stream broke at resourceVersion " + rv};
  }
  feed(parser.get().body());  // a response that was not chunked (chunks never reach the body)
  if (!bad_event.empty()) spdlog::warn("kubernetes {}: skipped {}", source.service, bad_event);
  return gone ? WatchEnd::gone : WatchEnd::closed;
}

void EndpointSliceWatcher::Impl::apply(const std::string& type, const json::object& object,
                                       bool* gone) {
  if (type == "ERROR") {
    // A Status object; 410 Gone: the resourceVersion we resume from is compacted away.
    const json::value* code = object.if_contains("code");
    if (code != nullptr && code->is_int64() && code->get_int64() == 410) {
      *gone = true;
      return;
    }
    set_error("watch error event: " + string_at(object, "message"));
    return;
  }
  const std::string version = resource_version(object);
  if (!version.empty()) rv = version;
  const json::object* meta = object_at(object, "metadata");
  const std::string name = meta != nullptr ? string_at(*meta, "name") : std::string();
  if (type == "ADDED" || type == "MODIFIED") {
    auto ds = from_slice(object, source);
    if (ds && !name.empty()) slices[name] = std::move(ds).value();
  } else if (type == "DELETED") {
    slices.erase(name);
  } else if (type != "BOOKMARK") {
    return;
  }
  {
    std::lock_guard lock(mutex);
    status.resource_version = rv;
    status.last_error.clear();
    ++status.events;
  }
  report();
}

void EndpointSliceWatcher::Impl::report() {
  std::map<Endpoint, Downstream> by_address;
  for (const auto& [name, list] : slices) {
    for (const auto& d : list) by_address.try_emplace(d.address, d);
  }
  std::vector<Downstream> all;
  for (auto& [addr, d] : by_address) all.push_back(std::move(d));
  if (reported && *reported == all) return;
  reported = all;
  if (on_change) on_change(std::move(all));
}

}  // namespace bngkit::fanout
