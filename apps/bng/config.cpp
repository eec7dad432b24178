// bng.toml parsing and cross-checks.
#include "config.hpp"

#include <bngkit/ops/config.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace bngkit::bngd {

namespace {

namespace pool = bng::pool;
using bng::dhcp::Ipv4;
using ops::ConfigReader;

template <typename T>
void set_if(std::optional<T> v, T& out) {
  if (v) out = std::move(*v);
}

std::optional<Ipv4> read_ip(ConfigReader& r, std::string_view key, bool required = false) {
  auto s = r.string(key, required);
  if (!s) return std::nullopt;
  auto ip = Ipv4::parse(*s);
  if (!ip) {
    r.fail(key, "\"" + *s + "\" is not an IPv4 address");
    return std::nullopt;
  }
  return ip.value();
}

std::chrono::seconds whole_seconds(std::chrono::milliseconds ms) {
  return std::chrono::duration_cast<std::chrono::seconds>(ms);
}

pool::PoolConfig read_pool(ConfigReader& r, const DhcpConfig& dhcp) {
  pool::PoolConfig p;
  r.reject_unknown({"id", "network", "range", "gateway", "dns", "lease_time", "renewal_time", "rebinding_time",
                    "exclusions", "reservations", "probation_time"});
  set_if(r.string("id", true), p.id);
  if (auto net = r.string("network", true)) {
    if (auto n = pool::Ipv4Network::parse(*net)) p.network = *n;
    else r.fail("network", "\"" + *net + "\" is not an IPv4 network such as 10.0.1.0/24");
  }
  if (auto range = r.string("range")) {
    if (auto rg = pool::Ipv4Range::parse(*range)) p.range = *rg;
    else r.fail("range", "\"" + *range + "\" is not a range such as 10.0.1.10-10.0.1.200");
  }
  p.gateway = read_ip(r, "gateway");
  if (auto dns = r.string_list("dns")) {
    for (const auto& d : *dns) {
      if (auto ip = Ipv4::parse(d)) p.dns.push_back(ip.value());
      else r.fail("dns", "\"" + d + "\" is not an IPv4 address");
    }
  }
  p.lease_time = dhcp.lease_time;
  p.renewal_time = dhcp.renewal_time;
  p.rebinding_time = dhcp.rebinding_time;
  if (auto d = r.duration("lease_time")) p.lease_time = whole_seconds(*d);
  if (auto d = r.duration("renewal_time")) p.renewal_time = whole_seconds(*d);
  if (auto d = r.duration("rebinding_time")) p.rebinding_time = whole_seconds(*d);
  if (auto d = r.duration("probation_time")) p.probation_time = whole_seconds(*d);
  if (auto ex = r.string_list("exclusions")) {
    for (const auto& e : *ex) {
      if (auto rg = pool::Ipv4Range::parse(e)) p.exclusions.push_back(*rg);
      else if (auto ip = Ipv4::parse(e)) p.exclusions.push_back({ip.value(), ip.value()});
      else r.fail("exclusions", "\"" + e + "\" is neither an address nor a range");
    }
  }
  if (auto res = r.table("reservations")) {
    // reservations = { "mac:02:00:00:00:00:01" = "10.0.1.50", "circuit-id:olt1/1/1" = "10.0.1.51" }
    for (const auto& key : res->keys()) {
      auto subscriber = pool::SubscriberKey::parse(key);
      if (!subscriber) {
        res->fail(key, "is not a subscriber id such as \"mac:02:00:00:00:00:01\" or \"circuit-id:olt1/1/1\"");
        continue;
      }
      if (auto ip = read_ip(*res, key, true)) p.reservations.push_back({*subscriber, *ip});
    }
  }
  return p;
}

// [bgp]: the speaker FRR is told to be, and how the daemon reaches FRR.
void read_bgp(ConfigReader& bgp, BgpConfig& b) {
  bgp.reject_unknown({"enabled", "local_as", "router_id", "neighbors", "vtysh", "vty_socket", "announce_host_routes",
                      "reconcile_interval", "command_timeout"});
  set_if(bgp.boolean("enabled"), b.enabled);
  if (auto as = bgp.integer("local_as", b.enabled, 1, 4294967295)) b.local_as = static_cast<std::uint32_t>(*as);
  if (auto id = read_ip(bgp, "router_id", b.enabled)) b.router_id = id->to_string();
  std::vector<std::string> seen;
  for (auto& n : bgp.table_array("neighbors")) {
    n.reject_unknown({"address", "remote_as"});
    BgpNeighbor nb;
    if (auto ip = read_ip(n, "address", true)) nb.address = ip->to_string();
    if (auto as = n.integer("remote_as", true, 1, 4294967295)) nb.remote_as = static_cast<std::uint32_t>(*as);
    if (!nb.address.empty() && std::find(seen.begin(), seen.end(), nb.address) != seen.end()) {
      n.fail("address", nb.address + " is already a neighbor");
    }
    seen.push_back(nb.address);
    b.neighbors.push_back(std::move(nb));
  }
  if (b.enabled && b.neighbors.empty()) {
    bgp.fail("neighbors", "needs at least one [[bgp.neighbors]] to announce to when bgp is enabled");
  }
  set_if(bgp.string("vtysh"), b.vtysh);
  if (b.vtysh.empty()) bgp.fail("vtysh", "must name the vtysh binary");
  set_if(bgp.string("vty_socket"), b.vty_socket);
  set_if(bgp.boolean("announce_host_routes"), b.announce_host_routes);
  set_if(bgp.duration("reconcile_interval"), b.reconcile_interval);
  set_if(bgp.duration("command_timeout"), b.command_timeout);
  if (b.reconcile_interval < std::chrono::seconds(1)) bgp.fail("reconcile_interval", "must be at least 1s");
  if (b.command_timeout < std::chrono::milliseconds(100) || b.command_timeout > std::chrono::minutes(1)) {
    bgp.fail("command_timeout", "must be between 100ms and 1m");
  }
}

}  // namespace

Result<Config> parse_config(std::string_view toml_text, std::string_view source_name) {
  toml::table table;
  try {
    table = toml::parse(toml_text, source_name);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << source_name << ":" << e.source().begin.line << ":" << e.source().begin.column << ": "
        << e.description();
    return make_error(std::errc::invalid_argument, msg.str());
  }

  std::vector<std::string> errors;
  ConfigReader root(table, "", &errors);
  root.reject_unknown({"olt", "interfaces", "nexus", "radius", "dhcp", "pools", "bgp", "metrics", "api",
                       "fastpath", "storage", "log"});
  Config c;

  if (auto olt = root.table("olt")) {
    olt->reject_unknown({"id", "name", "region", "capacity"});
    set_if(olt->string("id"), c.olt.id);
    set_if(olt->string("name"), c.olt.name);
    set_if(olt->string("region"), c.olt.region);
    if (auto cap = olt->integer("capacity", false, 0, 10'000'000)) c.olt.capacity = static_cast<std::uint32_t>(*cap);
  }

  if (auto ifs = root.table("interfaces", true)) {
    ifs->reject_unknown({"subscriber", "uplink"});
    set_if(ifs->string("subscriber", true), c.interfaces.subscriber);
    set_if(ifs->string("uplink"), c.interfaces.uplink);
  }

  if (auto nx = root.table("nexus")) {
    nx->reject_unknown({"endpoints", "heartbeat_interval", "timeout", "token", "token_file"});
    NexusConfig n;
    set_if(nx->string_list("endpoints", true), n.endpoints);
    set_if(nx->duration("heartbeat_interval"), n.heartbeat_interval);
    set_if(nx->duration("timeout"), n.timeout);
    set_if(nx->secret("token"), n.token);
    if (n.endpoints.empty()) nx->fail("endpoints", "must name at least one Nexus endpoint (host:port)");
    c.nexus = std::move(n);
  }

  if (auto rad = root.table("radius")) {
    rad->reject_unknown({"timeout", "retries", "dead_time", "servers", "authorize", "accounting", "username",
                         "password", "password_file", "nas_identifier", "nas_ip", "interim_interval",
                         "accounting_queue_limit", "rate_profiles", "dae"});
    RadiusConfig r;
    set_if(rad->duration("timeout"), r.timeout);
    if (auto n = rad->integer("retries", false, 0, 10)) r.retries = static_cast<std::uint32_t>(*n);
    if (auto d = rad->duration("dead_time")) r.dead_time = whole_seconds(*d);
    for (auto& s : rad->table_array("servers")) {
      s.reject_unknown({"host", "port", "accounting_port", "secret", "secret_file"});
      RadiusServerConfig srv;
      set_if(s.string("host", true), srv.host);
      if (auto p = s.integer("port", false, 1, 65535)) srv.port = static_cast<std::uint16_t>(*p);
      if (auto p = s.integer("accounting_port", false, 1, 65535)) srv.accounting_port = static_cast<std::uint16_t>(*p);
      set_if(s.secret("secret", true), srv.secret);
      r.servers.push_back(std::move(srv));
    }
    if (r.servers.empty()) rad->fail("servers", "needs at least one [[radius.servers]]");
    set_if(rad->boolean("authorize"), r.authorize);
    set_if(rad->boolean("accounting"), r.accounting);
    set_if(rad->string("username"), r.username);
    if (r.username != "mac" && r.username != "circuit-id" && r.username != "remote-id") {
      rad->fail("username", "must be \"mac\", \"circuit-id\" or \"remote-id\", not \"" + r.username + "\"");
    }
    set_if(rad->secret("password"), r.password);
    set_if(rad->string("nas_identifier"), r.nas_identifier);
    r.nas_ip = read_ip(*rad, "nas_ip");
    if (auto d = rad->duration("interim_interval")) r.interim_interval = whole_seconds(*d);
    if (r.interim_interval.count() != 0 && r.interim_interval < std::chrono::seconds(60)) {
      rad->fail("interim_interval", "must be 0 (no Interim-Update) or at least 60s (RFC 2869 5.16)");
    }
    if (auto n = rad->integer("accounting_queue_limit", false, 1, 10'000'000)) {
      r.accounting_queue_limit = static_cast<std::uint32_t>(*n);
    }
    for (auto& p : rad->table_array("rate_profiles")) {
      p.reject_unknown({"filter_id", "up_bps", "down_bps", "burst_bytes"});
      bng::session::RateProfile profile;
      set_if(p.string("filter_id", true), profile.filter_id);
      if (auto v = p.integer("up_bps", false, 0, INT64_MAX)) profile.rate.up_bps = static_cast<std::uint64_t>(*v);
      if (auto v = p.integer("down_bps", false, 0, INT64_MAX)) profile.rate.down_bps = static_cast<std::uint64_t>(*v);
      if (auto v = p.integer("burst_bytes", false, 0, UINT32_MAX)) profile.rate.burst_bytes = static_cast<std::uint32_t>(*v);
      r.rate_profiles.push_back(std::move(profile));
    }
    if (auto dae = rad->table("dae")) {
      dae->reject_unknown({"enabled", "bind", "port", "clients"});
      set_if(dae->boolean("enabled"), r.dae.enabled);
      set_if(dae->string("bind"), r.dae.bind);
      if (auto p = dae->integer("port", false, 0, 65535)) r.dae.port = static_cast<std::uint16_t>(*p);
      for (auto& cl : dae->table_array("clients")) {
        cl.reject_unknown({"address", "secret", "secret_file"});
        DaeClientConfig client;
        if (auto a = read_ip(cl, "address", true)) client.address = *a;
        set_if(cl.secret("secret", true), client.secret);
        r.dae.clients.push_back(std::move(client));
      }
    }
    if (r.dae.enabled && r.dae.clients.empty()) {
      // Without clients nobody could be answered: say so rather than listen for nothing.
      rad->fail("dae.clients", "needs at least one [[radius.dae.clients]] (or radius.dae.enabled = false)");
    }
    c.radius = std::move(r);
  }

  if (auto dhcp = root.table("dhcp")) {
    dhcp->reject_unknown({"pool_id", "lease_time", "renewal_time", "rebinding_time", "server_id"});
    set_if(dhcp->string("pool_id"), c.dhcp.pool_id);
    if (auto d = dhcp->duration("lease_time")) c.dhcp.lease_time = whole_seconds(*d);
    if (auto d = dhcp->duration("renewal_time")) c.dhcp.renewal_time = whole_seconds(*d);
    if (auto d = dhcp->duration("rebinding_time")) c.dhcp.rebinding_time = whole_seconds(*d);
    c.dhcp.server_id = read_ip(*dhcp, "server_id");
    if (!(c.dhcp.renewal_time < c.dhcp.rebinding_time && c.dhcp.rebinding_time < c.dhcp.lease_time)) {
      dhcp->fail("renewal_time", "must satisfy renewal_time < rebinding_time < lease_time");
    }
  }

  for (auto& p : root.table_array("pools")) c.pools.push_back(read_pool(p, c.dhcp));
  if (c.pools.empty() && !c.nexus) root.fail("pools", "needs at least one [[pools]] when there is no [nexus]");
  for (const auto& problem : pool::pool_problems(c.pools)) errors.push_back(problem.context);
  if (c.dhcp.pool_id.empty() && !c.pools.empty()) c.dhcp.pool_id = c.pools.front().id;
  if (c.dhcp.pool_id.empty() && c.pools.empty() && c.nexus) {
    errors.push_back("dhcp.pool_id: required with [nexus] and no [[pools]] (the Nexus pool to serve)");
  }
  const pool::PoolConfig* serving = nullptr;
  for (const auto& p : c.pools) {
    if (p.id == c.dhcp.pool_id) serving = &p;
  }
  if (!c.pools.empty() && serving == nullptr) {
    errors.push_back("dhcp.pool_id: no [[pools]] entry has id \"" + c.dhcp.pool_id + "\"");
  }
  if (!c.dhcp.server_id && serving != nullptr) c.dhcp.server_id = serving->gateway;
  // A pool only Nexus defines brings its gateway at start (Gateway::create checks it then).
  if (!c.dhcp.server_id && !(c.nexus && serving == nullptr)) {
    errors.push_back("dhcp.server_id: not set and the pool has no gateway to use instead");
  }

  if (auto bgp = root.table("bgp")) read_bgp(*bgp, c.bgp);

  if (auto m = root.table("metrics")) {
    m->reject_unknown({"enabled", "port", "path"});
    set_if(m->boolean("enabled"), c.metrics.enabled);
    if (auto p = m->integer("port", false, 0, 65535)) c.metrics.port = static_cast<std::uint16_t>(*p);
    set_if(m->string("path"), c.metrics.path);
    if (c.metrics.path.empty() || c.metrics.path.front() != '/') m->fail("path", "must start with /");
  }

  if (auto a = root.table("api")) {
    a->reject_unknown({"bind", "port", "token", "token_file"});
    set_if(a->string("bind"), c.api.bind);
    set_if(a->secret("token"), c.api.token);
    if (auto p = a->integer("port", false, 0, 65535)) c.api.port = static_cast<std::uint16_t>(*p);
  }

  if (auto f = root.table("fastpath")) {
    f->reject_unknown({"enabled", "mode", "pin_path", "traffic"});
    set_if(f->boolean("enabled"), c.fastpath.enabled);
    set_if(f->boolean("traffic"), c.fastpath.traffic);
    set_if(f->string("mode"), c.fastpath.mode);
    set_if(f->string("pin_path"), c.fastpath.pin_path);
    if (c.fastpath.mode != "native" && c.fastpath.mode != "generic" && c.fastpath.mode != "auto") {
      f->fail("mode", "must be \"native\", \"generic\" or \"auto\", not \"" + c.fastpath.mode + "\"");
    }
  }

  if (auto s = root.table("storage")) {
    s->reject_unknown({"lease_db", "session_db"});
    set_if(s->string("lease_db"), c.storage.lease_db);
    set_if(s->string("session_db"), c.storage.session_db);
  }

  if (auto l = root.table("log")) {
    l->reject_unknown({"format", "level"});
    set_if(l->string("format"), c.log.format);
    set_if(l->string("level"), c.log.level);
    if (c.log.format != "text" && c.log.format != "json") l->fail("format", "must be \"text\" or \"json\"");
  }

  if (c.radius && c.radius->nas_identifier.empty()) c.radius->nas_identifier = c.olt.id;

  if (c.metrics.enabled && c.metrics.port == c.api.port && c.metrics.port != 0) {
    errors.push_back("metrics.port: " + std::to_string(c.metrics.port) + " is also api.port; use two ports");
  }

  if (!errors.empty()) {
    std::string all = std::string(source_name) + ": " + std::to_string(errors.size()) + " problem(s):";
    for (const auto& e : errors) all += "\n  " + e;
    return make_error(std::errc::invalid_argument, all);
  }
  return c;
}

Result<Config> load_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) return errno_error(errno ? errno : ENOENT, "cannot read config " + path);
  std::stringstream text;
  text << in.rdbuf();
  return parse_config(text.str(), path);
}

}  // namespace bngkit::bngd
