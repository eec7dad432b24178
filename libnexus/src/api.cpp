// Nexus HTTP API handlers: strict JSON decoding (types checked, unknown fields refused, every
// error naming the field), model errors mapped to statuses, bearer token on writes.

#include <bngkit/nexus/api.hpp>
#include <bngkit/nexus/model.hpp>
#include <boost/json.hpp>
#include <ctime>
#include <initializer_list>
#include <limits>
#include <set>

namespace bngkit::nexus {
namespace {

namespace json = boost::json;
using ops::Request;
using ops::Response;

// ---- errors

int status_of(const Error& e) {
  if (e.code == std::errc::invalid_argument) return 400;
  if (e.code == std::errc::no_such_file_or_directory) return 404;
  if (e.code == std::errc::file_exists) return 409;
  if (e.code == std::errc::no_buffer_space) return 503;
  return 500;
}

Response fail(const Error& e) {
  const int status = status_of(e);
  // Client errors: the model's sentence is the message; server errors keep the cause too.
  return Response::error(status, status < 500 || status == 503 ? e.context : e.message());
}

// A request that cannot be served as sent: 400 with what is wrong.
struct BadRequest {
  std::string message;
};

// ---- JSON in

// The fields of one JSON object, read with their types checked.
class Fields {
 public:
  Fields(const json::object& o, std::string where) : o_(o), where_(std::move(where)) {}

  void only(std::initializer_list<std::string_view> known) const {
    for (const auto& [k, v] : o_) {
      bool ok = false;
      for (auto n : known) ok = ok || k == n;
      if (!ok) {
        std::string list;
        for (auto n : known) list += (list.empty() ? "" : ", ") + std::string(n);
        throw BadRequest{"unknown field \"" + std::string(k) + "\"" + where_ + " (known: " + list +
                         ")"};
      }
    }
  }
  [[nodiscard]] const json::value* get(std::string_view key) const {
    const auto* v = o_.if_contains(key);
    return v == nullptr || v->is_null() ? nullptr : v;
  }
  std::optional<std::string> string(std::string_view key, bool required = false) const {
    const auto* v = get(key);
    if (v == nullptr) {
      if (required) throw BadRequest{"\"" + std::string(key) + "\" is required" + where_};
      return std::nullopt;
    }
    if (!v->is_string()) throw BadRequest{"\"" + std::string(key) + "\" must be a string" + where_};
    return std::string(v->as_string());
  }
  std::optional<std::int64_t> integer(std::string_view key, std::int64_t min,
                                      std::int64_t max) const {
    const auto* v = get(key);
    if (v == nullptr) return std::nullopt;
    std::int64_t n = 0;
    if (v->is_int64()) {
      n = v->as_int64();
    } else if (v->is_uint64()) {
      n = std::numeric_limits<std::int64_t>::max();  // above any range we accept
    } else {
      throw BadRequest{"\"" + std::string(key) + "\" must be an integer" + where_};
    }
    if (n < min || n > max)
      throw BadRequest{"\"" + std::string(key) + "\" must be between " + std::to_string(min) +
                       " and " + std::to_string(max) + where_};
    return n;
  }
  std::vector<std::string> strings(std::string_view key) const {
    const auto* v = get(key);
    std::vector<std::string> out;
    if (v == nullptr) return out;
    if (!v->is_array())
      throw BadRequest{"\"" + std::string(key) + "\" must be an array of strings" + where_};
    for (const auto& e : v->as_array()) {
      if (!e.is_string())
        throw BadRequest{"\"" + std::string(key) + "\" must be an array of strings" + where_};
      out.emplace_back(e.as_string());
    }
    return out;
  }
  std::map<std::string, std::string> string_map(std::string_view key) const {
    const auto* v = get(key);
    std::map<std::string, std::string> out;
    if (v == nullptr) return out;
    if (!v->is_object())
      throw BadRequest{"\"" + std::string(key) + "\" must be an object of strings" + where_};
    for (const auto& [k, e] : v->as_object()) {
      if (!e.is_string())
        throw BadRequest{"\"" + std::string(key) + "." + std::string(k) + "\" must be a string" +
                         where_};
      out.emplace(std::string(k), std::string(e.as_string()));
    }
    return out;
  }

 private:
  const json::object& o_;
  std::string where_;
};

json::object parse_object(const Request& req) {
  if (req.body.empty()) throw BadRequest{"the request needs a JSON object body"};
  boost::system::error_code ec;
  json::value v = json::parse(req.body, ec);
  if (ec) throw BadRequest{"the body is not valid JSON: " + ec.message()};
  if (!v.is_object()) throw BadRequest{"the body must be a JSON object"};
  return std::move(v.as_object());
}

// An optional body: empty means {}.
json::object parse_optional_object(const Request& req) {
  if (req.body.empty()) return {};
  return parse_object(req);
}

IpAddress parse_ip(const std::string& text, std::string_view field) {
  auto a = IpAddress::parse(text);
  if (!a) throw BadRequest{"\"" + std::string(field) + "\": \"" + text + "\" is not an IP address"};
  return *a;
}

Prefix parse_prefix(const std::string& text, std::string_view field, bool allow_address) {
  if (auto p = Prefix::parse(text)) return *p;
  if (allow_address) {
    if (auto a = IpAddress::parse(text)) {
      if (auto p = Prefix::parse(text + (a->is_v4() ? "/32" : "/128"))) return *p;
    }
  }
  throw BadRequest{"\"" + std::string(field) + "\": \"" + text +
                   "\" is not a CIDR such as 10.0.0.0/16" +
                   (allow_address ? " or an address" : "")};
}

Pool pool_from(const json::object& o, const ApiOptions& opt) {
  Fields f(o, "");
  f.only({"id", "cidr", "gateway", "dns", "exclusions", "reservations", "delegated_length",
          "lease_ttl", "max_ttl", "reclaim_after", "owners"});
  Pool p;
  p.id = f.string("id", true).value();
  p.network = parse_prefix(f.string("cidr", true).value(), "cidr", false);
  if (auto g = f.string("gateway")) p.gateway = parse_ip(*g, "gateway");
  for (const auto& d : f.strings("dns")) p.dns.push_back(parse_ip(d, "dns"));
  for (const auto& x : f.strings("exclusions"))
    p.exclusions.push_back(parse_prefix(x, "exclusions", true));
  for (const auto& [sub, a] : f.string_map("reservations"))
    p.reservations.emplace(sub, parse_ip(a, "reservations." + sub));
  if (auto n = f.integer("delegated_length", 0, 128)) p.delegated_length = static_cast<int>(*n);
  constexpr std::int64_t kMaxSeconds = std::numeric_limits<std::uint32_t>::max();
  if (auto n = f.integer("lease_ttl", 1, kMaxSeconds)) p.lease_ttl = static_cast<std::uint32_t>(*n);
  if (auto n = f.integer("max_ttl", 1, kMaxSeconds)) p.max_ttl = static_cast<std::uint32_t>(*n);
  if (auto n = f.integer("reclaim_after", 0, kMaxSeconds))
    p.reclaim_after = static_cast<std::uint32_t>(*n);
  if (o.if_contains("owners") != nullptr)
    p.owners = f.strings("owners");
  else
    p.owners = opt.default_owners;
  if (p.lease_ttl > p.max_ttl && o.if_contains("max_ttl") == nullptr) p.max_ttl = p.lease_ttl;
  return p;
}

// ---- JSON out

json::object to_json(const Pool& p) {
  json::array dns, exclusions, owners;
  for (const auto& d : p.dns) dns.emplace_back(d.to_string());
  for (const auto& x : p.exclusions) exclusions.emplace_back(x.to_string());
  for (const auto& o : p.owners) owners.emplace_back(o);
  json::object reservations;
  for (const auto& [sub, a] : p.reservations) reservations[sub] = a.to_string();
  json::object out{{"id", p.id},
                   {"cidr", p.network.to_string()},
                   {"delegated_length", p.delegated_length},
                   {"dns", std::move(dns)},
                   {"exclusions", std::move(exclusions)},
                   {"reservations", std::move(reservations)},
                   {"lease_ttl", p.lease_ttl},
                   {"max_ttl", p.max_ttl},
                   {"reclaim_after", p.reclaim_after},
                   {"owners", std::move(owners)}};
  out["gateway"] = p.gateway ? json::value(p.gateway->to_string()) : json::value(nullptr);
  return out;
}

json::object to_json(const Pool& p, const Model& model) {
  json::object out = to_json(p);
  if (auto u = model.pool_usage(p.id)) {
    // Whole numbers while they are exact in a double; IPv6 pools can exceed that.
    const json::value usable = u->usable <= 9007199254740992.0
                                   ? json::value(static_cast<std::uint64_t>(u->usable))
                                   : json::value(u->usable);
    out["usage"] = json::object{
        {"usable", usable}, {"allocated", u->allocated}, {"utilisation", u->utilisation()}};
  }
  return out;
}

json::object to_json(const Allocation& a) {
  return {{"pool_id", a.pool_id},
          {"subscriber_id", a.subscriber_id},
          {"ip", a.address.to_string()},
          {"prefix_length", a.prefix_length},
          {"node_id", a.node_id},
          {"allocated_at", rfc3339(a.allocated_at_ms)},
          {"expires_at", rfc3339(a.expires_at_ms)}};
}

json::object to_json(const NodeView& v) {
  json::object metadata;
  for (const auto& [k, val] : v.node.metadata) metadata[k] = val;
  return {{"id", v.node.id},
          {"status", to_string(v.status)},
          {"address", v.node.address},
          {"region", v.node.region},
          {"metadata", std::move(metadata)},
          {"registered_at", rfc3339(v.node.registered_at_ms)},
          {"last_seen", rfc3339(v.node.last_seen_ms)}};
}

Response json_response(int status, const json::value& v) {
  return Response::json(status, json::serialize(v));
}

template <typename T>
Response list_response(const char* name, const std::vector<T>& items,
                       const std::function<json::object(const T&)>& f) {
  json::array arr;
  arr.reserve(items.size());
  for (const auto& i : items) arr.emplace_back(f(i));
  return json_response(200, json::object{{name, std::move(arr)}, {"count", items.size()}});
}

// ---- the handlers

class Api {
 public:
  Api(Model& m, ApiOptions o) : model_(m), opt_(std::move(o)) {}

  // Wraps a handler: token check for writes, BadRequest -> 400.
  ops::Handler guard(bool write, std::function<Response(const Request&)> h) const {
    return [this, write, h = std::move(h)](const Request& req) -> Response {
      if (write && !opt_.token.empty()) {
        if (auto refused = ops::check_bearer(req, opt_.token)) return *refused;
      }
      try {
        return h(req);
      } catch (const BadRequest& e) {
        return Response::error(400, e.message);
      }
    };
  }

  Response create_pool(const Request& req) {
    Pool p = pool_from(parse_object(req), opt_);
    const auto existing = model_.pool(p.id);
    auto r = model_.create_pool(std::move(p));
    if (!r) return fail(r.error());
    return json_response(existing ? 200 : 201, to_json(*r, model_));
  }

  Response update_pool(const Request& req) {
    json::object o = parse_object(req);
    const std::string& id = req.params.at("id");
    if (const auto* v = o.if_contains("id");
        v != nullptr && !(v->is_string() && v->as_string() == id))
      throw BadRequest{"\"id\" in the body does not match the pool in the path (" + id + ")"};
    o["id"] = id;
    if (o.if_contains("owners") == nullptr) {
      // An update keeps the owners it does not mention.
      if (auto cur = model_.pool(id)) {
        json::array owners;
        for (const auto& w : cur->owners) owners.emplace_back(w);
        o["owners"] = std::move(owners);
      }
    }
    auto r = model_.update_pool(pool_from(o, opt_));
    if (!r) return fail(r.error());
    return json_response(200, to_json(*r, model_));
  }

  Response list_pools(const Request&) {
    const auto pools = model_.pools();
    return list_response<Pool>("pools", pools,
                               [this](const Pool& p) { return to_json(p, model_); });
  }

  Response get_pool(const Request& req) {
    auto p = model_.pool(req.params.at("id"));
    if (!p) return Response::error(404, "no pool " + req.params.at("id"));
    return json_response(200, to_json(*p, model_));
  }

  Response delete_pool(const Request& req) {
    if (auto r = model_.delete_pool(req.params.at("id")); !r) return fail(r.error());
    return Response::no_content();
  }

  static std::optional<std::uint32_t> ttl_of(const Fields& f) {
    if (auto n = f.integer("ttl", 1, std::numeric_limits<std::uint32_t>::max()))
      return static_cast<std::uint32_t>(*n);
    return std::nullopt;
  }

  Response allocate(const Request& req) {
    const json::object o = parse_object(req);
    Fields f(o, "");
    f.only({"pool_id", "subscriber_id", "ttl"});
    const std::string pool = f.string("pool_id", true).value();
    const std::string sub = f.string("subscriber_id", true).value();
    auto r = model_.allocate(pool, sub, ttl_of(f));
    if (!r) return fail(r.error());
    return json_response(r->created ? 201 : 200, to_json(r->allocation));
  }

  Response list_allocations(const Request& req) {
    const auto pool = req.query_param("pool_id");
    if (pool && !model_.pool(*pool)) return Response::error(404, "no pool " + *pool);
    std::vector<Allocation> all;
    if (auto sub = req.query_param("subscriber_id")) {
      for (auto& a : model_.allocations_of(*sub))
        if (!pool || a.pool_id == *pool) all.push_back(std::move(a));
    } else {
      all = model_.allocations(pool.value_or(""));
    }
    return list_response<Allocation>("allocations", all,
                                     [](const Allocation& a) { return to_json(a); });
  }

  // The pool a subscriber request is about: ?pool_id=, the body's pool_id, or the one pool
  // the subscriber holds an allocation in.
  std::string pool_for(const Request& req, const std::string& sub,
                       const std::optional<std::string>& body_pool) {
    auto q = req.query_param("pool_id");
    if (q && body_pool && *q != *body_pool)
      throw BadRequest{"pool_id in the query (" + *q + ") and in the body (" + *body_pool +
                       ") differ"};
    if (q) return *q;
    if (body_pool) return *body_pool;
    const auto held = model_.allocations_of(sub);
    if (held.empty()) throw NotFound{"subscriber " + sub + " holds no allocation"};
    if (held.size() > 1) {
      std::string pools;
      for (const auto& a : held) pools += (pools.empty() ? "" : ", ") + a.pool_id;
      throw BadRequest{"subscriber " + sub + " holds allocations in pools " + pools +
                       ": choose one with ?pool_id="};
    }
    return held.front().pool_id;
  }

  struct NotFound {
    std::string message;
  };

  Response get_allocation(const Request& req) {
    const std::string& sub = req.params.at("subscriber_id");
    try {
      const std::string pool = pool_for(req, sub, std::nullopt);
      auto a = model_.allocation(pool, sub);
      if (!a) return Response::error(404, "subscriber " + sub + " holds nothing in pool " + pool);
      return json_response(200, to_json(*a));
    } catch (const NotFound& e) {
      return Response::error(404, e.message);
    }
  }

  Response renew(const Request& req) {
    const std::string& sub = req.params.at("subscriber_id");
    const json::object o = parse_optional_object(req);
    Fields f(o, "");
    f.only({"pool_id", "ttl"});
    try {
      const std::string pool = pool_for(req, sub, f.string("pool_id"));
      auto r = model_.renew(pool, sub, ttl_of(f));
      if (!r) return fail(r.error());
      return json_response(200, to_json(*r));
    } catch (const NotFound& e) {
      return Response::error(404, e.message);
    }
  }

  Response release(const Request& req) {
    const std::string& sub = req.params.at("subscriber_id");
    std::vector<std::string> pools;
    if (auto q = req.query_param("pool_id")) {
      pools.push_back(*q);
    } else {
      for (const auto& a : model_.allocations_of(sub)) pools.push_back(a.pool_id);
      if (pools.empty()) return Response::error(404, "subscriber " + sub + " holds no allocation");
    }
    for (const auto& p : pools)
      if (auto r = model_.release(p, sub); !r) return fail(r.error());
    return Response::no_content();
  }

  Response heartbeat(const Request& req) {
    const json::object o = parse_object(req);
    Fields f(o, "");
    f.only({"id", "address", "region", "metadata"});
    NodeRegistration reg;
    reg.id = f.string("id", true).value();
    reg.address = f.string("address").value_or("");
    reg.region = f.string("region").value_or("");
    reg.metadata = f.string_map("metadata");
    const bool known = model_.node(reg.id).has_value();
    auto r = model_.heartbeat(reg);
    if (!r) return fail(r.error());
    auto view = model_.node(reg.id);
    return json_response(known ? 200 : 201,
                         to_json(view ? *view : NodeView{*r, NodeStatus::active}));
  }

  Response list_nodes(const Request&) {
    const auto nodes = model_.nodes();
    return list_response<NodeView>("nodes", nodes, [](const NodeView& v) { return to_json(v); });
  }

  Response get_node(const Request& req) {
    auto n = model_.node(req.params.at("id"));
    if (!n) return Response::error(404, "no node " + req.params.at("id"));
    return json_response(200, to_json(*n));
  }

  // Digest roots of the three sets: two replicas showing the same roots hold the same
  // entries (removed ones included), which is what convergence means.
  Response digest(const Request&) {
    const ModelDigest d = model_.digest();
    auto hex = [](std::uint64_t v) {
      char buf[17];
      std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
      return std::string(buf);
    };
    return json_response(
        200, json::object{{"pools", hex(d.pools.root())},
                          {"allocations", hex(d.allocations.root())},
                          {"nodes", hex(d.nodes.root())},
                          {"entries", d.pools.count + d.allocations.count + d.nodes.count}});
  }

  Response resync(const Request&) {
    if (!opt_.resync) return Response::error(503, "replication is not running on this replica");
    opt_.resync();
    return json_response(202, json::object{{"status", "anti-entropy started with every peer"}});
  }

  Response restore(const Request& req) {
    const json::object o = parse_object(req);
    Fields f(o, "");
    f.only({"path"});
    const std::string path = f.string("path", true).value();
    if (path.empty() || path.front() != '/')
      throw BadRequest{"\"path\" must be an absolute path on the replica"};
    if (auto r = model_.restore(path); !r) {
      const auto& e = r.error();
      const int status = e.code == std::errc::no_such_file_or_directory ? 404
                         : e.code == std::errc::invalid_argument ||
                                 e.code == std::errc::not_supported ||
                                 e.code == std::errc::illegal_byte_sequence
                             ? 400
                             : 500;
      return Response::error(status, "restore refused: " + e.message());
    }
    if (opt_.restored) opt_.restored();
    return json_response(200, json::object{{"restored", path},
                                           {"pools", model_.pools().size()},
                                           {"allocations", model_.allocations().size()}});
  }

 private:
  Model& model_;
  ApiOptions opt_;
};

}  // namespace

std::string rfc3339(std::int64_t ms) {
  const std::time_t secs = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  const int frac = static_cast<int>(ms - static_cast<std::int64_t>(secs) * 1000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
  return buf;
}

void add_api_routes(ops::Router& router, Model& model, ApiOptions options) {
  auto api = std::make_shared<Api>(model, std::move(options));
  auto bind = [api](Response (Api::*f)(const Request&)) {
    return [api, f](const Request& r) { return ((*api).*f)(r); };
  };
  auto add = [&](const char* method, const char* path, Response (Api::*f)(const Request&)) {
    const bool write = std::string_view(method) != "GET";
    router.add(method, path, api->guard(write, bind(f)));
  };
  add("POST", "/api/v1/pools", &Api::create_pool);
  add("GET", "/api/v1/pools", &Api::list_pools);
  add("GET", "/api/v1/pools/{id}", &Api::get_pool);
  add("PUT", "/api/v1/pools/{id}", &Api::update_pool);
  add("DELETE", "/api/v1/pools/{id}", &Api::delete_pool);
  add("POST", "/api/v1/allocations", &Api::allocate);
  add("GET", "/api/v1/allocations", &Api::list_allocations);
  add("GET", "/api/v1/allocations/{subscriber_id}", &Api::get_allocation);
  add("POST", "/api/v1/allocations/{subscriber_id}/renew", &Api::renew);
  add("DELETE", "/api/v1/allocations/{subscriber_id}", &Api::release);
  add("POST", "/api/v1/nodes", &Api::heartbeat);
  add("GET", "/api/v1/nodes", &Api::list_nodes);
  add("GET", "/api/v1/nodes/{id}", &Api::get_node);
  add("GET", "/admin/digest", &Api::digest);
  add("POST", "/admin/resync", &Api::resync);
  add("POST", "/admin/restore", &Api::restore);
}

}  // namespace bngkit::nexus
