// fanout.toml parsing and cross-checks.
#include <bngkit/ops/config.hpp>
#include <bngkit/ops/log.hpp>

#include "config.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

namespace bngkit::fanoutd {

namespace {

using fanout::Endpoint;
using ops::ConfigReader;

template <typename T>
void set_if(std::optional<T> v, T& out) {
  if (v) out = std::move(*v);
}

template <typename T>
void set_uint(ConfigReader& r, std::string_view key, T& out, std::int64_t min, std::int64_t max) {
  if (auto v = r.integer(key, false, min, max)) out = static_cast<T>(*v);
}

template <typename E, typename Parse>
void set_enum(ConfigReader& r, std::string_view key, E& out, Parse parse,
              std::string_view choices) {
  auto s = r.string(key);
  if (!s) return;
  if (auto v = parse(*s)) {
    out = *v;
  } else {
    r.fail(key, "\"" + *s + "\" is not one of " + std::string(choices));
  }
}

std::optional<Endpoint> read_endpoint(ConfigReader& r, std::string_view key, bool required) {
  auto s = r.string(key, required);
  if (!s) return std::nullopt;
  auto e = Endpoint::parse(*s);
  if (!e) {
    r.fail(key, e.error().context);
    return std::nullopt;
  }
  return *e;
}

fanout::ListenerConfig read_listener(ConfigReader& r) {
  fanout::ListenerConfig l;
  r.reject_unknown({"name", "bind", "interface", "mode", "policy", "balance", "preserve_source",
                    "kubernetes", "downstream", "settings"});
  set_if(r.string("name", true), l.name);
  if (auto e = read_endpoint(r, "bind", true)) l.bind = *e;
  set_if(r.string("interface"), l.interface);
  set_enum(r, "mode", l.mode, fanout::parse_mode, "\"userspace\", \"tc_ebpf\"");
  set_enum(r, "policy", l.policy, fanout::parse_policy, "\"replicate\", \"balance\"");
  set_enum(r, "balance", l.balance, fanout::parse_balance_method, "\"round_robin\", \"flow_hash\"");
  set_if(r.boolean("preserve_source"), l.preserve_source);

  if (auto k = r.table("kubernetes")) {
    k->reject_unknown({"namespace", "service", "port", "port_name"});
    fanout::KubernetesSource src;
    set_if(k->string("namespace"), src.namespace_name);
    set_if(k->string("service", true), src.service);
    set_uint(*k, "port", src.port, 1, 65535);
    set_if(k->string("port_name"), src.port_name);
    if (src.port == 0 && src.port_name.empty()) {
      k->fail("port", "set port (a number) or port_name (the EndpointSlice port's name)");
    }
    l.kubernetes = std::move(src);
  }

  for (auto& d : r.table_array("downstream")) {
    d.reject_unknown({"name", "address"});
    fanout::Downstream ds;
    if (auto e = read_endpoint(d, "address", true)) ds.address = *e;
    set_if(d.string("name"), ds.name);
    if (ds.name.empty()) ds.name = ds.address.to_string();
    l.downstreams.push_back(std::move(ds));
  }

  if (auto s = r.table("settings")) {
    s->reject_unknown({"batch_size", "workers", "pin_cpus", "recv_buf_size", "send_buf_size",
                       "max_datagram_size", "gso"});
    auto& st = l.settings;
    set_uint(*s, "batch_size", st.batch_size, 1, 1024);
    set_uint(*s, "workers", st.workers, 1, 256);
    set_if(s->boolean("pin_cpus"), st.pin_cpus);
    set_uint(*s, "recv_buf_size", st.recv_buf_size, 0, 0x7fffffff);
    set_uint(*s, "send_buf_size", st.send_buf_size, 0, 0x7fffffff);
    set_uint(*s, "max_datagram_size", st.max_datagram_size, 1, 65535);
    set_if(s->boolean("gso"), st.gso);
  }
  return l;
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
  root.reject_unknown({"listeners", "health", "metrics", "tc", "kubernetes", "log"});
  Config c;

  for (auto& l : root.table_array("listeners")) c.fanout.listeners.push_back(read_listener(l));
  if (c.fanout.listeners.empty()) root.fail("listeners", "needs at least one [[listeners]]");

  if (auto h = root.table("health")) {
    h->reject_unknown({"enabled", "interval_secs", "timeout_secs", "protocol", "failure_threshold",
                       "recovery_threshold", "port"});
    auto& hc = c.fanout.health;
    set_if(h->boolean("enabled"), hc.enabled);
    // Integers of seconds as the runbooks write them, or durations such as "500ms".
    set_if(h->duration("interval_secs"), hc.interval);
    set_if(h->duration("timeout_secs"), hc.timeout);
    set_enum(*h, "protocol", hc.protocol, fanout::parse_probe_protocol, "\"icmp\", \"udp_echo\"");
    set_uint(*h, "failure_threshold", hc.failure_threshold, 1, 1000);
    set_uint(*h, "recovery_threshold", hc.recovery_threshold, 1, 1000);
    set_uint(*h, "port", hc.udp_port, 1, 65535);
  }

  if (auto m = root.table("metrics")) {
    m->reject_unknown({"enabled", "bind", "path"});
    set_if(m->boolean("enabled"), c.metrics.enabled);
    if (auto bind = m->string("bind")) {
      if (auto e = Endpoint::parse(*bind, true)) {
        c.metrics.bind_address = e->address_string();
        c.metrics.port = e->port;
      } else {
        m->fail("bind", e.error().context);
      }
    }
    set_if(m->string("path"), c.metrics.path);
    if (c.metrics.path.empty() || c.metrics.path.front() != '/')
      m->fail("path", "must start with /");
  }

  if (auto t = root.table("tc")) {
    t->reject_unknown({"pin_path", "keep_attached"});
    set_if(t->string("pin_path"), c.fanout.tc.pin_path);
    set_if(t->boolean("keep_attached"), c.fanout.tc.keep_attached);
  }

  if (auto k = root.table("kubernetes")) {
    k->reject_unknown({"api_server", "token_file", "ca_file", "namespace_file", "request_timeout",
                       "watch_timeout", "max_response_bytes"});
    auto& kc = c.fanout.kubernetes;
    set_uint(*k, "max_response_bytes", kc.max_response_bytes, 4096, std::int64_t{1} << 32);
    set_if(k->string("api_server"), kc.api_server);
    set_if(k->string("token_file"), kc.token_file);
    set_if(k->string("ca_file"), kc.ca_file);
    set_if(k->string("namespace_file"), kc.namespace_file);
    set_if(k->duration("request_timeout"), kc.request_timeout);
    if (auto w = k->duration("watch_timeout")) {
      kc.watch_timeout = std::chrono::duration_cast<std::chrono::seconds>(*w);
      if (kc.watch_timeout.count() < 1) k->fail("watch_timeout", "must be at least 1s");
    }
    if (!kc.api_server.empty() && kc.api_server.rfind("https://", 0) != 0) {
      k->fail("api_server", "must be an https:// URL");
    }
  }

  if (auto lg = root.table("log")) {
    lg->reject_unknown({"format", "level"});
    set_if(lg->string("format"), c.log.format);
    set_if(lg->string("level"), c.log.level);
    if (!ops::parse_log_format(c.log.format)) lg->fail("format", "must be \"text\" or \"json\"");
    static constexpr std::string_view kLevels[] = {"trace", "debug", "info", "warn", "error"};
    if (std::find(std::begin(kLevels), std::end(kLevels), c.log.level) == std::end(kLevels)) {
      lg->fail("level", "must be one of trace, debug, info, warn, error");
    }
  }

  // Checks across keys (duplicate names and binds, thresholds...), after the keys are read.
  if (errors.empty()) {
    for (auto& p : fanout::config_problems(c.fanout)) errors.push_back(std::move(p));
  }
  if (!errors.empty()) {
    std::string all;
    for (const auto& e : errors) all += (all.empty() ? "" : "\n") + e;
    return Error{{}, all};  // no errno text appended to the last problem
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

}  // namespace bngkit::fanoutd
