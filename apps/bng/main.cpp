// bng: the BNG daemon. `bng run --config bng.toml` serves DHCP on the subscriber
// interface (XDP fast path + slow path), the API on api.port and /metrics on metrics.port;
// `bng validate --config bng.toml` checks a config and exits.
#include "bgp.hpp"
#include "config.hpp"
#include "metrics.hpp"
#include "nexus.hpp"
#include "reload.hpp"
#include "subscriber_metrics.hpp"
#include "subscribers.hpp"

#include <bngkit/bng/gateway.hpp>
#include <bngkit/ops/capabilities.hpp>
#include <bngkit/ops/health.hpp>
#include <bngkit/ops/http.hpp>
#include <bngkit/ops/log.hpp>
#include <bngkit/ops/metrics.hpp>

#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <boost/program_options.hpp>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <linux/capability.h>

#include <cstdio>
#include <fstream>
#include <iostream>

namespace po = boost::program_options;
namespace asio = boost::asio;
using namespace bngkit;

namespace {

constexpr const char* kUsage =
    "usage: bng run --config FILE      serve subscribers\n"
    "       bng validate --config FILE check a configuration and exit\n"
    "       bng version\n";

bng::GatewayOptions gateway_options(const bngd::Config& c) {
  bng::GatewayOptions g;
  g.interface = c.interfaces.subscriber;
  g.pools = c.pools;
  g.default_pool = c.dhcp.pool_id;
  g.server_id = c.dhcp.server_id;
  g.lease_db = c.storage.lease_db;
  g.fast_path = c.fastpath.enabled;
  g.xdp_mode = c.fastpath.mode == "native"    ? bng::fastpath::XdpMode::native
               : c.fastpath.mode == "generic" ? bng::fastpath::XdpMode::generic
                                              : bng::fastpath::XdpMode::automatic;
  g.pin_dir = c.fastpath.pin_path;
  return g;
}

boost::json::object lease_json(const bng::lease::Lease& l) {
  return {{"ip", l.address.to_string()},
          {"pool_id", l.pool_id},
          {"subscriber", l.subscriber.to_string()},
          {"state", std::string(bng::lease::to_string(l.state))},
          {"expires", bng::lease::to_epoch_seconds(l.expires)},
          {"hostname", l.hostname},
          {"last_seen", bng::lease::to_epoch_seconds(l.last_seen)}};
}

void add_api_routes(ops::Router& router, bng::Gateway& gateway, std::function<void(bool)> on_drain) {
  router.add("GET", "/api/v1/leases", [&gateway](const ops::Request& req) {
    boost::json::array out;
    const auto state = req.query_param("state");
    for (const auto& l : gateway.leases()) {
      if (state && *state != bng::lease::to_string(l.state)) continue;
      out.push_back(lease_json(l));
    }
    const auto count = out.size();
    return ops::Response::json(200, boost::json::serialize(boost::json::object{{"leases", std::move(out)},
                                                                               {"count", count}}));
  });
  router.add("GET", "/api/v1/leases/{ip}", [&gateway](const ops::Request& req) {
    auto ip = bng::dhcp::Ipv4::parse(req.params.at("ip"));
    if (!ip) return ops::Response::error(400, "\"" + req.params.at("ip") + "\" is not an IPv4 address");
    for (const auto& l : gateway.leases()) {
      if (l.address == ip.value()) return ops::Response::json(200, boost::json::serialize(lease_json(l)));
    }
    return ops::Response::error(404, "no lease on " + ip->to_string());
  });
  router.add("DELETE", "/api/v1/leases/{ip}", [&gateway](const ops::Request& req) {
    auto ip = bng::dhcp::Ipv4::parse(req.params.at("ip"));
    if (!ip) return ops::Response::error(400, "\"" + req.params.at("ip") + "\" is not an IPv4 address");
    auto ended = gateway.disconnect(ip.value());
    if (!ended) return ops::Response::error(404, ended.error().message());
    spdlog::info("lease {} of {} ended by operator", ip->to_string(), ended->subscriber.to_string());
    return ops::Response::no_content();
  });
  // Draining takes the node out of service for new subscribers (readiness fails too);
  // DELETE resumes.
  auto drain = [&gateway, on_drain](bool on) {
    gateway.set_draining(on);
    if (on_drain) on_drain(on);
    spdlog::info(on ? "draining: no new subscribers, existing ones still served" : "drain ended: taking new subscribers");
    return ops::Response::json(200, boost::json::serialize(boost::json::object{{"draining", on}}));
  };
  router.add("POST", "/admin/drain", [drain](const ops::Request&) { return drain(true); });
  router.add("DELETE", "/admin/drain", [drain](const ops::Request&) { return drain(false); });
}

int run(const std::string& config_path) {
  auto config = bngd::load_config(config_path);
  if (!config) {
    std::cerr << "bng: " << config.error().message() << "\n";
    return 2;
  }
  const auto& c = config.value();
  auto format = ops::parse_log_format(c.log.format);
  if (auto r = ops::setup_logging(format ? *format : ops::LogFormat::text, c.log.level, "bng"); !r) {
    std::cerr << "bng: " << r.error().message() << "\n";
    return 2;
  }

  asio::io_context io;
  // [nexus]: addresses come from Nexus, through a cache that admission fills (nexus.hpp).
  std::unique_ptr<bngd::NexusNode> nexus;
  if (c.nexus) {
    auto node = bngd::NexusNode::create(io, c);
    if (!node) {
      spdlog::error("start-up failed: {}", node.error().message());
      return 1;
    }
    nexus = std::move(node).value();
  }
  auto gateway = bng::Gateway::create(gateway_options(c), nexus ? nexus->take_allocator() : nullptr);
  if (!gateway) {
    spdlog::error("start-up failed: {}", gateway.error().message());
    return 1;
  }
  auto& gw = *gateway.value();
  // Sessions (and RADIUS) hook into the gateway before it serves its first request.
  auto subscribers = bngd::Subscribers::create(io, c, gw);
  if (!subscribers) {
    spdlog::error("start-up failed: {}", subscribers.error().message());
    return 1;
  }
  auto& subs = *subscribers.value();
  if (nexus) nexus->attach(gw);  // after the sessions' hook: Nexus is asked once a subscriber is authorised
  if (auto r = gw.start(io); !r) {
    spdlog::error("start-up failed: {}", r.error().message());
    return 1;
  }
  if (auto r = subs.start(); !r) {
    spdlog::error("start-up failed: {}", r.error().message());
    return 1;
  }
  const auto started = gw.status();
  spdlog::info("serving DHCP on {} (server id {}, fast path {}), {} bound leases restored", c.interfaces.subscriber,
               c.dhcp.server_id ? c.dhcp.server_id->to_string() : "the Nexus pool's gateway",
               started.fast_path_attached ? "attached" : "off", started.leases_bound);

  // BGP through FRR, started once everything else serves (see below); FRR trouble never stops DHCP.
  std::unique_ptr<bngd::BgpAnnouncements> bgp;

  auto registry = std::make_shared<prometheus::Registry>();
  bngd::Metrics metrics(*registry);
  bngd::SubscriberMetrics subscriber_metrics(*registry);
  gw.set_request_observer([&metrics](const bng::RequestRecord& r) { metrics.observe(r); });
  if (nexus) nexus->register_metrics(*registry);

  ops::HealthChecks health;
  health.add(ops::HealthChecks::Kind::liveness, "dhcp", [&gw] {
    return gw.status().running ? ops::CheckResult{true, "serving"} : ops::CheckResult{false, "DHCP server stopped"};
  });
  health.add(ops::HealthChecks::Kind::readiness, "fast_path", [&gw, &c] {
    if (!c.fastpath.enabled) return ops::CheckResult{true, "disabled by configuration"};
    return gw.status().fast_path_attached
               ? ops::CheckResult{true, "XDP attached to " + c.interfaces.subscriber}
               : ops::CheckResult{false, "XDP program is not attached to " + c.interfaces.subscriber};
  });

  // A subscriber link that is down serves nobody, whatever else is well: say so.
  health.add(ops::HealthChecks::Kind::readiness, "subscriber_link", [&c] {
    std::ifstream in("/sys/class/net/" + c.interfaces.subscriber + "/operstate");
    std::string state;
    if (!(in >> state)) return ops::CheckResult{false, "cannot read the state of " + c.interfaces.subscriber};
    const bool up = state == "up" || state == "unknown";  // "unknown": drivers without carrier state
    return ops::CheckResult{up, c.interfaces.subscriber + " is " + state};
  });

  health.add(ops::HealthChecks::Kind::readiness, "drain", [&gw] {
    return gw.status().draining ? ops::CheckResult{false, "draining: not taking new subscribers"}
                                : ops::CheckResult{true, "taking new subscribers"};
  });

  subs.add_health(health);
  if (nexus) nexus->add_health(health);
  if (c.bgp.enabled) {
    health.add(ops::HealthChecks::Kind::readiness, "bgp", [&bgp] {
      return bgp ? bgp->health() : ops::CheckResult{false, "starting"};
    });
  }

  auto api_router = std::make_shared<ops::Router>();
  api_router->require_token(c.api.token);  // security: POST/DELETE need the bearer token
  if (c.api.token.empty()) {
    spdlog::warn("api.token is not set: anyone reaching {}:{} can drain, end leases and disconnect sessions",
                 c.api.bind, c.api.port);
  }
  health.add_endpoints(*api_router);
  add_api_routes(*api_router, gw, [&bgp](bool on) {
    if (bgp) bgp->set_draining(on);
  });
  subs.add_routes(*api_router);
  auto refresh = [&metrics, &subscriber_metrics, &gw, &subs, &bgp, &nexus] {
    if (nexus) nexus->update_metrics();
    const auto status = gw.status();
    metrics.update(status);
    subscriber_metrics.update(subs.status(), status);
    if (bgp) metrics.update_bgp(bgp->status());
  };
  ops::add_metrics_endpoint(*api_router, registry, c.metrics.path, refresh);
  ops::HttpServer api(io, api_router);
  ops::HttpServerOptions api_options;
  api_options.bind_address = c.api.bind;
  api_options.port = c.api.port;
  api_options.registry = registry;  // security: open/refused connection metrics
  if (auto r = api.start(api_options); !r) {
    spdlog::error("API: {}", r.error().message());
    return 1;
  }

  std::unique_ptr<ops::HttpServer> metrics_server;
  if (c.metrics.enabled) {
    auto router = std::make_shared<ops::Router>();
    ops::add_metrics_endpoint(*router, registry, c.metrics.path, refresh);
    health.add_endpoints(*router);
    metrics_server = std::make_unique<ops::HttpServer>(io, router);
    ops::HttpServerOptions mo;
    mo.bind_address = c.api.bind;
    mo.port = c.metrics.port;
    mo.registry = registry;
    mo.name = "metrics";
    if (auto r = metrics_server->start(mo); !r) {
      spdlog::error("metrics: {}", r.error().message());
      return 1;
    }
  }
  spdlog::info("API on {}:{}, metrics on :{}{}", c.api.bind, api.port(), c.metrics.enabled ? metrics_server->port() : 0,
               c.metrics.path);
  // vtysh reads /etc/frr/vtysh.conf and reaches bgpd's socket as group frrvty: once the
  // capabilities below are gone (no DAC override), bng reaches FRR through that group.
  if (c.bgp.enabled) {
    if (auto r = bngd::join_group("frrvty"); !r) spdlog::warn("bgp: {}", r.error().message());
  }
  // Dropped before the BGP worker below starts, so it inherits the result (the drop would
  // reach it anyway: capabilities are per thread, and the drop changes every thread).
  // security: XDP/TC attached, sockets open, ports bound. What is left to do needs only
  // CAP_NET_ADMIN (detaching XDP and TC at stop); maps are updated through open fds.
  auto caps = ops::drop_capabilities_except({CAP_NET_ADMIN});
  if (!caps) {
    spdlog::error("start-up failed: {}", caps.error().message());
    return 1;
  }
  spdlog::info("capabilities: kept {}, dropped {}{}", ops::capability_names(caps->kept),
               ops::capability_names(caps->dropped), caps->bounding_dropped ? "" : " (bounding set unchanged)");
  // Announce only now: a start-up that fails above leaves nothing announced for a dead node.
  if (c.bgp.enabled) {
    auto started_bgp = bngd::BgpAnnouncements::start(c, io, gw);
    if (!started_bgp) {
      spdlog::error("start-up failed: {}", started_bgp.error().message());
      return 1;
    }
    bgp = std::move(started_bgp).value();
  }
  // Serving DHCP, API and metrics: ready for systemd (Type=notify) from here on.
  (void)sd_notifyf(0, "READY=1\nSTATUS=serving DHCP on %s", c.interfaces.subscriber.c_str());

  // SIGHUP: re-read the file; apply it whole or not at all (reload.hpp says what is live).
  // systemd (Type=notify) hears RELOADING=1 and READY=1 around it.
  bngd::Config running = c;
  auto reload = [&] {
    (void)sd_notify(0, "RELOADING=1");
    struct Ready {
      ~Ready() { (void)sd_notify(0, "READY=1"); }
    } ready;
    auto next = bngd::load_config(config_path);
    if (!next) {
      spdlog::error("reload: {}; keeping the running configuration", next.error().message());
      return metrics.reloaded(false);
    }
    if (auto restart = bngd::restart_needed(running, *next); !restart.empty()) {
      spdlog::error("reload refused: changing {} needs a restart; keeping the running configuration",
                    fmt::join(restart, ", "));
      return metrics.reloaded(false);
    }
    if (auto r = nexus ? Result<void>() : gw.update_pool_options(next->pools); !r) {
      spdlog::error("reload: {}; keeping the running configuration", r.error().message());
      return metrics.reloaded(false);
    }
    subs.reload(*next);
    if (bgp) {
      if (auto r = bgp->apply(*next); !r) spdlog::error("reload: {}", r.error().message());
    }
    if (next->log != running.log) {
      auto fmt = ops::parse_log_format(next->log.format);
      if (auto r = ops::setup_logging(fmt ? *fmt : ops::LogFormat::text, next->log.level, "bng"); !r) {
        spdlog::error("reload: log: {}", r.error().message());
      }
    }
    running = std::move(next).value();
    spdlog::info("configuration reloaded from {}", config_path);
    metrics.reloaded(true);
  };
  asio::signal_set hangup(io, SIGHUP);
  std::function<void()> wait_hangup = [&] {
    hangup.async_wait([&](boost::system::error_code ec, int) {
      if (ec) return;
      reload();
      wait_hangup();
    });
  };
  wait_hangup();

  asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](boost::system::error_code ec, int signo) {
    if (ec) return;
    spdlog::info("signal {}: detaching and stopping", signo);
    (void)sd_notify(0, "STOPPING=1");
    hangup.cancel();
    gw.stop();
    if (nexus) nexus->stop();
    api.stop();
    if (metrics_server) metrics_server->stop();
    io.stop();
  });
  io.run();
  if (bgp) bgp->shutdown();  // withdraw the announcements before the process goes
  // Accounting still in flight gets a moment; what is not acknowledged stays queued on disk.
  subs.stop(io, std::chrono::seconds(2));
  spdlog::info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string command;
  std::string config_path;
  po::options_description options("options");
  options.add_options()("help,h", "show usage")("config,c", po::value(&config_path), "configuration file (TOML)");
  po::options_description all;
  all.add(options).add_options()("command", po::value(&command));
  po::positional_options_description positional;
  positional.add("command", 1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "bng: " << e.what() << "\n" << kUsage;
    return 2;
  }
  if (vm.count("help") || command.empty()) {
    std::cout << kUsage << options;
    return command.empty() && !vm.count("help") ? 2 : 0;
  }
  if (command == "version") {
    std::cout << "bng (bngkit) " << BNGKIT_VERSION << "\n";
    return 0;
  }
  if (command != "run" && command != "validate") {
    std::cerr << "bng: unknown command \"" << command << "\"\n" << kUsage;
    return 2;
  }
  if (config_path.empty()) {
    std::cerr << "bng: " << command << " needs --config FILE\n";
    return 2;
  }
  if (command == "validate") {
    auto config = bngd::load_config(config_path);
    if (!config) {
      std::cerr << "bng: " << config.error().message() << "\n";
      return 1;
    }
    std::cout << config_path << ": ok (" << config->pools.size() << " pool(s), serving pool "
              << config->dhcp.pool_id << " on " << config->interfaces.subscriber << ")\n";
    return 0;
  }
  return run(config_path);
}
