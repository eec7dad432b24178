// nexus.toml parsing and cross-checks.
#include "config.hpp"

#include <unistd.h>

#include <algorithm>
#include <bngkit/ops/config.hpp>
#include <fstream>
#include <sstream>

namespace bngkit::nexusd {

namespace {

using ops::ConfigReader;

template <typename T>
void set_if(std::optional<T> v, T& out) {
  if (v) out = std::move(*v);
}

std::uint16_t port_of(std::int64_t v) { return static_cast<std::uint16_t>(v); }

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "";
  return buf;
}

}  // namespace

bool Config::replication_enabled() const {
  return !p2p.secret.empty() || !p2p.cert_file.empty() || !p2p.peers.empty() || !p2p.dns.empty();
}

nexus::ReplicationOptions Config::replication() const {
  nexus::ReplicationOptions o;
  o.listen_address = p2p.bind;
  o.listen_port = p2p.listen_port;
  o.peers = p2p.peers;
  o.dns = p2p.dns;
  o.topic = clset.topic;
  o.auth.secret = p2p.secret;
  o.auth.cert_file = p2p.cert_file;
  o.auth.key_file = p2p.key_file;
  o.auth.ca_file = p2p.ca_file;
  o.rebroadcast_interval = clset.rebroadcast_interval;
  o.num_workers = clset.num_workers;
  o.connect_timeout = p2p.connect_timeout;
  o.io_timeout = p2p.io_timeout;
  o.initial_sync_timeout = p2p.initial_sync_timeout;
  return o;
}

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
  root.reject_unknown(
      {"server", "node", "p2p", "storage", "clset", "graceful_shutdown", "housekeeping", "log"});
  Config c;

  if (auto s = root.table("server")) {
    s->reject_unknown({"bind", "http_port", "metrics_port", "token", "token_file", "threads"});
    set_if(s->string("bind"), c.server.bind);
    if (auto p = s->integer("http_port", false, 0, 65535)) c.server.http_port = port_of(*p);
    if (auto p = s->integer("metrics_port", false, 0, 65535)) c.server.metrics_port = port_of(*p);
    set_if(s->secret("token"), c.server.token);
    if (auto n = s->integer("threads", false, 1, 256))
      c.server.threads = static_cast<std::size_t>(*n);
  }

  if (auto n = root.table("node")) {
    n->reject_unknown({"id", "role", "region", "pool_owners"});
    set_if(n->string("id"), c.node.id);
    set_if(n->string("role"), c.node.role);
    set_if(n->string("region"), c.node.region);
    set_if(n->string_list("pool_owners"), c.node.pool_owners);
  }
  if (c.node.id.empty()) c.node.id = host_name();
  if (c.node.id.empty() || c.node.id.size() > 128)
    errors.push_back("node.id: must be 1-128 characters (it defaults to the host name)");
  if (!c.node.pool_owners.empty() && std::find(c.node.pool_owners.begin(), c.node.pool_owners.end(),
                                               c.node.id) == c.node.pool_owners.end())
    errors.push_back("node.pool_owners: does not include this replica (\"" + c.node.id +
                     "\"), which could then allocate from no pool");

  if (auto p = root.table("p2p")) {
    p->reject_unknown({"bind", "listen_port", "peers", "dns", "secret", "secret_file", "tls",
                       "connect_timeout", "io_timeout", "initial_sync_timeout"});
    set_if(p->string("bind"), c.p2p.bind);
    if (auto v = p->integer("listen_port", false, 0, 65535)) c.p2p.listen_port = port_of(*v);
    set_if(p->string_list("peers"), c.p2p.peers);
    set_if(p->string("dns"), c.p2p.dns);
    set_if(p->secret("secret"), c.p2p.secret);
    if (auto t = p->table("tls")) {
      t->reject_unknown({"cert_file", "key_file", "ca_file"});
      set_if(t->string("cert_file", true), c.p2p.cert_file);
      set_if(t->string("key_file", true), c.p2p.key_file);
      set_if(t->string("ca_file", true), c.p2p.ca_file);
    }
    set_if(p->duration("connect_timeout"), c.p2p.connect_timeout);
    set_if(p->duration("io_timeout"), c.p2p.io_timeout);
    set_if(p->duration("initial_sync_timeout"), c.p2p.initial_sync_timeout);
  }

  if (auto s = root.table("storage")) {
    s->reject_unknown({"path"});
    set_if(s->string("path"), c.storage.path);
  }
  if (c.storage.path.empty()) errors.push_back("storage.path: must name a directory");

  if (auto s = root.table("clset")) {
    s->reject_unknown({"topic", "rebroadcast_interval", "num_workers"});
    set_if(s->string("topic"), c.clset.topic);
    set_if(s->duration("rebroadcast_interval"), c.clset.rebroadcast_interval);
    if (auto n = s->integer("num_workers", false, 1, 1024))
      c.clset.num_workers = static_cast<std::size_t>(*n);
    if (c.clset.rebroadcast_interval < std::chrono::milliseconds(10))
      s->fail("rebroadcast_interval", "must be at least 10ms");
  }

  if (auto s = root.table("graceful_shutdown")) {
    s->reject_unknown({"timeout", "grace_period"});
    set_if(s->duration("timeout"), c.graceful_shutdown.timeout);
    set_if(s->duration("grace_period"), c.graceful_shutdown.grace_period);
    if (c.graceful_shutdown.grace_period >= c.graceful_shutdown.timeout)
      s->fail("grace_period", "must be shorter than graceful_shutdown.timeout");
  }

  if (auto s = root.table("housekeeping")) {
    s->reject_unknown({"interval", "node_stale_after", "node_expire_after"});
    set_if(s->duration("interval"), c.housekeeping.interval);
    if (auto d = s->duration("node_stale_after"))
      c.housekeeping.node_stale_after = std::chrono::duration_cast<std::chrono::seconds>(*d);
    if (auto d = s->duration("node_expire_after"))
      c.housekeeping.node_expire_after = std::chrono::duration_cast<std::chrono::seconds>(*d);
    if (c.housekeeping.interval < std::chrono::milliseconds(100))
      s->fail("interval", "must be at least 100ms");
  }

  if (auto l = root.table("log")) {
    l->reject_unknown({"format", "level"});
    set_if(l->string("format"), c.log.format);
    set_if(l->string("level"), c.log.level);
    if (c.log.format != "text" && c.log.format != "json")
      l->fail("format", "must be \"text\" or \"json\"");
  }

  if (c.server.metrics_port == c.server.http_port && c.server.http_port != 0)
    errors.push_back("server.metrics_port: " + std::to_string(c.server.metrics_port) +
                     " is also server.http_port; use two ports");
  if (c.replication_enabled()) {
    if (c.p2p.listen_port != 0 &&
        (c.p2p.listen_port == c.server.http_port || c.p2p.listen_port == c.server.metrics_port))
      errors.push_back("p2p.listen_port: " + std::to_string(c.p2p.listen_port) +
                       " is already used by [server]");
    if (auto v = nexus::validate_replication_options(c.replication()); !v) {
      // Name the keys an operator sets.
      std::string m = v.error().context;
      if (m.find("authenticated") != std::string::npos)
        m += " ([p2p] secret, secret_file or [p2p.tls])";
      errors.push_back("p2p: " + m);
    }
  }

  if (!errors.empty()) {
    std::string all =
        std::string(source_name) + ": " + std::to_string(errors.size()) + " problem(s):";
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

}  // namespace bngkit::nexusd
