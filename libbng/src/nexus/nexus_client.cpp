// NexusClient: Beast HTTP/1.1 requests on the caller's io_context, one connection each, with
// failover across endpoints on transport errors and a deadline per attempt.
#include <bngkit/bng/nexus/nexus_client.hpp>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <charconv>
#include <ctime>
#include <mutex>
#include <set>

namespace bngkit::bng::nexus {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;

class NexusCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "bngkit.nexus"; }
  std::string message(int code) const override {
    switch (static_cast<NexusError>(code)) {
      case NexusError::unreachable: return "no Nexus endpoint reachable";
      case NexusError::not_found: return "not found in Nexus";
      case NexusError::exhausted: return "Nexus has no free address (or is not ready)";
      case NexusError::rejected: return "Nexus rejected the request";
      case NexusError::server_error: return "Nexus server error";
      case NexusError::bad_reply: return "malformed Nexus reply";
    }
    return "unknown Nexus error";
  }
};

struct Endpoint {
  std::string host;
  std::string port;
  std::string text;
};

Error nexus_error(NexusError e, std::string context) { return Error{make_error_code(e), std::move(context)}; }

// "2026-12-03T13:54:29.123Z" -> seconds since the epoch (fraction dropped).
std::optional<std::chrono::sys_seconds> parse_rfc3339(std::string_view s) {
  std::tm tm{};
  int consumed = 0;
  const std::string text(s);
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec, &consumed) != 6) {
    return std::nullopt;
  }
  if (text.back() != 'Z') return std::nullopt;  // Nexus writes UTC only
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return std::chrono::sys_seconds(std::chrono::seconds(::timegm(&tm)));
}

const json::object* as_object(const json::value& v) { return v.is_object() ? &v.as_object() : nullptr; }

std::optional<std::string> string_field(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_string()) return std::nullopt;
  return std::string(it->value().as_string());
}

Result<Pool> decode_pool(const json::value& v) {
  const auto* o = as_object(v);
  if (!o) return nexus_error(NexusError::bad_reply, "pool is not an object");
  Pool p;
  auto id = string_field(*o, "id");
  auto cidr = string_field(*o, "cidr");
  if (!id || !cidr) return nexus_error(NexusError::bad_reply, "pool without id or cidr");
  p.id = *id;
  auto net = pool::Ipv4Network::parse(*cidr);
  if (!net) return nexus_error(NexusError::bad_reply, "pool " + p.id + ": cidr \"" + *cidr + "\" is not IPv4");
  p.network = net->normalized();
  if (auto g = string_field(*o, "gateway")) {
    auto ip = dhcp::Ipv4::parse(*g);
    if (!ip) return nexus_error(NexusError::bad_reply, "pool " + p.id + ": gateway \"" + *g + "\"");
    p.gateway = ip.value();
  }
  if (auto it = o->find("dns"); it != o->end() && it->value().is_array()) {
    for (const auto& d : it->value().as_array()) {
      if (!d.is_string()) return nexus_error(NexusError::bad_reply, "pool " + p.id + ": dns entry is not a string");
      auto ip = dhcp::Ipv4::parse(std::string(d.as_string()));
      if (!ip) return nexus_error(NexusError::bad_reply, "pool " + p.id + ": dns \"" + std::string(d.as_string()) + "\"");
      p.dns.push_back(ip.value());
    }
  }
  if (auto it = o->find("lease_ttl"); it != o->end() && it->value().is_number()) {
    p.lease_ttl = std::chrono::seconds(it->value().to_number<std::int64_t>());
  }
  return p;
}

Result<Allocation> decode_allocation(const json::value& v) {
  const auto* o = as_object(v);
  if (!o) return nexus_error(NexusError::bad_reply, "allocation is not an object");
  Allocation a;
  auto pool_id = string_field(*o, "pool_id");
  auto sub = string_field(*o, "subscriber_id");
  auto ip = string_field(*o, "ip");
  auto expires = string_field(*o, "expires_at");
  if (!pool_id || !sub || !ip || !expires) {
    return nexus_error(NexusError::bad_reply, "allocation lacks pool_id, subscriber_id, ip or expires_at");
  }
  auto addr = dhcp::Ipv4::parse(*ip);
  if (!addr) return nexus_error(NexusError::bad_reply, "allocation ip \"" + *ip + "\" is not IPv4");
  auto when = parse_rfc3339(*expires);
  if (!when) return nexus_error(NexusError::bad_reply, "allocation expires_at \"" + *expires + "\"");
  a.pool_id = *pool_id;
  a.subscriber_id = *sub;
  a.address = addr.value();
  a.node_id = string_field(*o, "node_id").value_or("");
  a.expires_at = *when;
  return a;
}

// One HTTP exchange's outcome: a status and body, or a transport failure.
struct Reply {
  unsigned status = 0;
  std::string body;
};

Error status_error(const Reply& r, const std::string& what) {
  std::string detail;
  json::error_code ec;
  auto v = json::parse(r.body, ec);
  if (!ec && v.is_object()) {
    if (auto e = string_field(v.as_object(), "error")) detail = *e;
  }
  const auto context = what + ": HTTP " + std::to_string(r.status) + (detail.empty() ? "" : " " + detail);
  if (r.status == 404) return nexus_error(NexusError::not_found, context);
  if (r.status == 503) return nexus_error(NexusError::exhausted, context);
  if (r.status >= 500) return nexus_error(NexusError::server_error, context);
  return nexus_error(NexusError::rejected, context);
}

}  // namespace

const std::error_category& nexus_category() noexcept {
  static const NexusCategory c;
  return c;
}
std::error_code make_error_code(NexusError e) noexcept { return {static_cast<int>(e), nexus_category()}; }

std::string escape_path_segment(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == ':') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

struct NexusClient::Impl : std::enable_shared_from_this<Impl> {
  asio::io_context& io;
  ClientOptions options;
  std::vector<Endpoint> endpoints;
  std::size_t preferred = 0;  // the endpoint that answered last
  bool stopped = false;
  std::set<std::shared_ptr<beast::tcp_stream>> streams;  // in flight, for stop()

  std::atomic<std::uint64_t> ok{0}, http_error{0}, unreachable{0}, failovers{0};
  std::atomic<bool> up{false};
  mutable std::mutex mu;  // guards `current` for stats() from other threads
  std::string current;

  Impl(asio::io_context& i, ClientOptions o) : io(i), options(std::move(o)) {}

  // One request, tried on each endpoint in turn from the preferred one until one answers.
  void send(http::verb method, std::string target, std::optional<json::value> body,
            std::function<void(Result<Reply>)> done) {
    auto req = std::make_shared<http::request<http::string_body>>(method, target, 11);
    if (!options.token.empty()) req->set(http::field::authorization, "Bearer " + options.token);
    if (body) {
      req->set(http::field::content_type, "application/json");
      req->body() = json::serialize(*body);
    }
    req->prepare_payload();
    attempt(std::move(req), 0, std::string(), std::move(done));
  }

  void attempt(std::shared_ptr<http::request<http::string_body>> req, std::size_t tried, std::string errors,
               std::function<void(Result<Reply>)> done) {
    if (stopped) return;
    if (tried == endpoints.size()) {
      ++unreachable;
      up = false;
      return done(nexus_error(NexusError::unreachable, errors));
    }
    const auto index = (preferred + tried) % endpoints.size();
    const auto& ep = endpoints[index];
    req->set(http::field::host, ep.host);
    auto stream = std::make_shared<beast::tcp_stream>(io);
    auto resolver = std::make_shared<tcp::resolver>(io);
    auto buffer = std::make_shared<beast::flat_buffer>();
    auto res = std::make_shared<http::response<http::string_body>>();
    streams.insert(stream);
    stream->expires_after(options.timeout);
    auto self = shared_from_this();
    // Any transport failure moves on to the next endpoint.
    auto fail = [self, req, tried, errors, done, stream, index](const char* step, beast::error_code ec) mutable {
      self->streams.erase(stream);
      if (self->stopped) return;
      if (!errors.empty()) errors += "; ";
      errors += self->endpoints[index].text + ": " + step + ": " + ec.message();
      if (tried + 1 < self->endpoints.size()) ++self->failovers;
      self->attempt(req, tried + 1, std::move(errors), std::move(done));
    };
    resolver->async_resolve(
        ep.host, ep.port,
        [self, req, stream, resolver, buffer, res, fail, done, index](beast::error_code resolve_ec,
                                                                     tcp::resolver::results_type results) mutable {
          if (self->stopped) return;
          if (resolve_ec) return fail("resolve", resolve_ec);
          stream->async_connect(results, [self, req, stream, buffer, res, fail, done, index](
                                             beast::error_code connect_ec, const tcp::endpoint&) mutable {
            if (self->stopped) return;
            if (connect_ec) return fail("connect", connect_ec);
            http::async_write(*stream, *req, [self, req, stream, buffer, res, fail, done, index](
                                                 beast::error_code write_ec, std::size_t) mutable {
              if (write_ec) return fail("write", write_ec);
              http::async_read(*stream, *buffer, *res, [self, req, stream, buffer, res, fail, done, index](
                                                           beast::error_code ec, std::size_t) mutable {
                if (ec) return fail("read", ec);
                self->streams.erase(stream);
                beast::error_code ignored;
                stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
                if (self->stopped) return;
                self->up = true;
                self->preferred = index;
                {
                  std::lock_guard lock(self->mu);
                  self->current = self->endpoints[index].text;
                }
                const unsigned status = res->result_int();
                if (status >= 200 && status < 300) ++self->ok;
                else ++self->http_error;
                done(Reply{status, std::move(res->body())});
              });
            });
          });
        });
  }

  // Sends and decodes a JSON reply with `decode`; `what` names the call in errors.
  template <typename T, typename Decode>
  void call(http::verb method, std::string target, std::optional<json::value> body, std::string what,
            Decode decode, std::function<void(Result<T>)> done) {
    send(method, std::move(target), std::move(body),
         [what = std::move(what), decode, done = std::move(done)](Result<Reply> r) {
           if (!r) return done(Error{r.error().code, what + ": " + r.error().context});
           if (r->status < 200 || r->status >= 300) return done(status_error(*r, what));
           json::error_code ec;
           auto v = json::parse(r->body, ec);
           if (ec) return done(nexus_error(NexusError::bad_reply, what + ": reply is not JSON"));
           auto decoded = decode(v);
           if (!decoded) return done(Error{decoded.error().code, what + ": " + decoded.error().context});
           done(std::move(decoded).value());
         });
  }
};

Result<std::unique_ptr<NexusClient>> NexusClient::create(asio::io_context& io, ClientOptions options) {
  if (options.timeout <= std::chrono::milliseconds::zero()) {
    return make_error(std::errc::invalid_argument, "nexus: timeout must be above zero");
  }
  auto impl = std::make_shared<Impl>(io, options);
  for (const auto& e : options.endpoints) {
    const auto colon = e.rfind(':');
    std::uint16_t port = 0;
    if (colon == std::string::npos || colon == 0 ||
        std::from_chars(e.data() + colon + 1, e.data() + e.size(), port).ec != std::errc{} || port == 0) {
      return make_error(std::errc::invalid_argument, "nexus: endpoint \"" + e + "\" is not host:port");
    }
    impl->endpoints.push_back({e.substr(0, colon), e.substr(colon + 1), e});
  }
  if (impl->endpoints.empty()) return make_error(std::errc::invalid_argument, "nexus: no endpoints");
  impl->current = impl->endpoints.front().text;
  return std::unique_ptr<NexusClient>(new NexusClient(std::move(impl)));
}

NexusClient::NexusClient(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
NexusClient::~NexusClient() { stop(); }

void NexusClient::stop() {
  impl_->stopped = true;
  for (const auto& s : impl_->streams) s->cancel();
  impl_->streams.clear();
}

void NexusClient::register_node(std::string id, std::string address, std::string region, Callback<void> done) {
  json::object body{{"id", id}};
  if (!address.empty()) body["address"] = address;
  if (!region.empty()) body["region"] = region;
  impl_->send(http::verb::post, "/api/v1/nodes", json::value(std::move(body)),
              [done = std::move(done)](Result<Reply> r) {
                if (!r) return done(Error{r.error().code, "registering node: " + r.error().context});
                if (r->status < 200 || r->status >= 300) return done(status_error(*r, "registering node"));
                done(Result<void>());
              });
}

void NexusClient::list_pools(Callback<std::vector<Pool>> done) {
  impl_->call<std::vector<Pool>>(
      http::verb::get, "/api/v1/pools", std::nullopt, "listing pools",
      [](const json::value& v) -> Result<std::vector<Pool>> {
        const auto* o = as_object(v);
        auto it = o ? o->find("pools") : nullptr;
        if (!o || it == o->end() || !it->value().is_array()) {
          return nexus_error(NexusError::bad_reply, "no \"pools\" array");
        }
        std::vector<Pool> out;
        for (const auto& p : it->value().as_array()) {
          auto pool = decode_pool(p);
          // An IPv6 pool is not an error: the DHCPv4 BNG just cannot serve it.
          if (!pool && pool.error().context.find("is not IPv4") != std::string::npos) continue;
          if (!pool) return pool.error();
          out.push_back(std::move(pool).value());
        }
        return out;
      },
      std::move(done));
}

void NexusClient::create_pool(std::string id, std::string cidr, std::optional<std::string> gateway,
                              Callback<Pool> done) {
  json::object body{{"id", id}, {"cidr", cidr}};
  if (gateway) body["gateway"] = *gateway;
  impl_->call<Pool>(http::verb::post, "/api/v1/pools", json::value(std::move(body)), "creating pool " + id,
                    decode_pool, std::move(done));
}

void NexusClient::allocate(std::string pool_id, std::string subscriber_id, std::optional<std::chrono::seconds> ttl,
                           Callback<Allocation> done) {
  json::object body{{"pool_id", pool_id}, {"subscriber_id", subscriber_id}};
  if (ttl) body["ttl"] = ttl->count();
  impl_->call<Allocation>(http::verb::post, "/api/v1/allocations", json::value(std::move(body)),
                          "allocating for " + subscriber_id, decode_allocation, std::move(done));
}

void NexusClient::renew(std::string pool_id, std::string subscriber_id, std::optional<std::chrono::seconds> ttl,
                        Callback<Allocation> done) {
  json::object body{{"pool_id", pool_id}};
  if (ttl) body["ttl"] = ttl->count();
  impl_->call<Allocation>(http::verb::post, "/api/v1/allocations/" + escape_path_segment(subscriber_id) + "/renew",
                          json::value(std::move(body)), "renewing " + subscriber_id, decode_allocation,
                          std::move(done));
}

void NexusClient::release(std::string pool_id, std::string subscriber_id, Callback<void> done) {
  const auto what = "releasing " + subscriber_id;
  impl_->send(http::verb::delete_,
              "/api/v1/allocations/" + escape_path_segment(subscriber_id) + "?pool_id=" + escape_path_segment(pool_id),
              std::nullopt, [what, done = std::move(done)](Result<Reply> r) {
                if (!r) return done(Error{r.error().code, what + ": " + r.error().context});
                // 404: already gone (a retry after an answer that was lost, or reclaimed).
                if ((r->status >= 200 && r->status < 300) || r->status == 404) return done(Result<void>());
                done(status_error(*r, what));
              });
}

ClientStats NexusClient::stats() const {
  ClientStats s;
  s.requests_ok = impl_->ok;
  s.requests_http_error = impl_->http_error;
  s.requests_unreachable = impl_->unreachable;
  s.failovers = impl_->failovers;
  s.up = impl_->up;
  std::lock_guard lock(impl_->mu);
  s.endpoint = impl_->current;
  return s;
}

}  // namespace bngkit::bng::nexus
