// udp-fanout: receives UDP datagrams on listeners and replicates or balances them to
// downstream receivers (libfanout), serving /metrics and /health/* (libops).
//   udp-fanout run --config fanout.toml
//   udp-fanout validate --config fanout.toml
#include <bngkit/fanout/fanout.hpp>
#include <bngkit/ops/capabilities.hpp>
#include <bngkit/ops/health.hpp>
#include <bngkit/ops/http.hpp>
#include <bngkit/ops/log.hpp>
#include <bngkit/ops/metrics.hpp>

#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/program_options.hpp>
#include <linux/capability.h>

#include <csignal>
#include <iostream>

#include "config.hpp"
#include "metrics.hpp"

namespace {

namespace po = boost::program_options;
using namespace bngkit;

constexpr const char* kUsage =
    "Usage: udp-fanout <command> --config FILE [options]\n"
    "Commands:\n"
    "  run        start the listeners and serve /metrics, /health/live, /health/ready\n"
    "  validate   check the config file and exit (0: valid, 2: invalid)\n";

Result<fanoutd::Config> load(const std::string& path) {
  auto config = fanoutd::load_config(path);
  if (!config) {
    std::cerr << "udp-fanout: invalid config " << path << ":\n";
    std::istringstream lines(config.error().message());
    for (std::string line; std::getline(lines, line);) std::cerr << "  " << line << "\n";
  }
  return config;
}

void print_summary(const fanoutd::Config& c) {
  for (const auto& l : c.fanout.listeners) {
    std::cout << "listener " << l.name << ": " << l.bind.to_string() << ", "
              << fanout::to_string(l.mode) << ", " << fanout::to_string(l.policy);
    if (l.policy == fanout::Policy::balance)
      std::cout << " (" << fanout::to_string(l.balance) << ")";
    std::cout << ", " << l.downstreams.size() << " static downstream(s)";
    if (l.kubernetes) {
      std::cout << ", EndpointSlices of "
                << (l.kubernetes->namespace_name.empty() ? "<pod namespace>"
                                                         : l.kubernetes->namespace_name)
                << "/" << l.kubernetes->service;
    }
    std::cout << "\n";
  }
  const auto& h = c.fanout.health;
  if (h.enabled) {
    std::cout << "health: " << fanout::to_string(h.protocol) << " every " << h.interval.count()
              << " ms, timeout " << h.timeout.count() << " ms, out after " << h.failure_threshold
              << " failure(s)\n";
  } else {
    std::cout << "health: probes disabled\n";
  }
  std::cout << "http: " << c.metrics.bind_address << ":" << c.metrics.port
            << (c.metrics.enabled ? " " + c.metrics.path + "," : "")
            << " /health/live, /health/ready\n";
}

int run(const fanoutd::Config& config) {
  const auto format = ops::parse_log_format(config.log.format);
  if (!format) {
    std::cerr << "udp-fanout: " << format.error().message() << "\n";
    return 2;
  }
  if (auto r = ops::setup_logging(*format, config.log.level, "udp-fanout"); !r) {
    std::cerr << "udp-fanout: " << r.error().message() << "\n";
    return 2;
  }

  fanout::Fanout fanout(config.fanout);
  if (auto r = fanout.start(); !r) {
    spdlog::critical("cannot start: {}", r.error().message());
    return 1;
  }

  auto registry = std::make_shared<prometheus::Registry>();
  fanoutd::FanoutMetrics metrics(*registry);
  ops::HealthChecks health;
  health.add(ops::HealthChecks::Kind::liveness, "engines", [&fanout] {
    std::string why;
    const bool live = fanout.live(&why);
    return ops::CheckResult{live, live ? "every listener and the probe thread run" : why};
  });
  health.add(ops::HealthChecks::Kind::readiness, "downstreams", [&fanout] {
    std::string why;
    const bool ready = fanout.ready(&why);
    return ops::CheckResult{ready, ready ? "every listener has a healthy downstream" : why};
  });
  auto router = std::make_shared<ops::Router>();
  health.add_endpoints(*router);
  if (config.metrics.enabled) {
    ops::add_metrics_endpoint(*router, registry, config.metrics.path,
                              [&] { metrics.update(fanout.status()); });
  }

  boost::asio::io_context io(1);
  ops::HttpServer http(io, router);
  ops::HttpServerOptions http_opts;
  http_opts.bind_address = config.metrics.bind_address;
  http_opts.port = config.metrics.port;
  http_opts.registry = registry;  // open/refused connection metrics
  http_opts.name = "metrics";
  if (auto r = http.start(http_opts); !r) {
    spdlog::critical("cannot serve HTTP: {}", r.error().message());
    fanout.stop();
    return 1;
  }
  spdlog::info("serving {}/health/live, /health/ready on {}:{}",
               config.metrics.enabled ? config.metrics.path + ", " : std::string(),
               config.metrics.bind_address, http.port());
  // security: listeners bound, TC attached, probe sockets open. Only detaching TC at stop
  // needs a capability (CAP_NET_ADMIN); maps are updated through open fds. The drop
  // reaches the engine, probe and discovery threads too (the sets are per thread).
  if (auto caps = ops::drop_capabilities_except({CAP_NET_ADMIN}); !caps) {
    spdlog::critical("cannot drop capabilities: {}", caps.error().message());
    http.stop();
    fanout.stop();
    return 1;
  } else {
    spdlog::info("capabilities: kept {}, dropped {} in all {} threads",
                 ops::capability_names(caps->kept), ops::capability_names(caps->dropped),
                 caps->threads);
  }

  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int signo) {
    if (ec) return;
    spdlog::info("{}: stopping", signo == SIGINT ? "SIGINT" : "SIGTERM");
    http.stop();
    io.stop();
  });
  io.run();
  fanout.stop();
  spdlog::info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  po::options_description visible("Options");
  visible.add_options()("help,h", "show this help")("config,c", po::value<std::string>(),
                                                    "config file (TOML)")(
      "log-format", po::value<std::string>(), "text or json (overrides [log] format)")(
      "log-level", po::value<std::string>(),
      "trace, debug, info, warn, error (overrides [log] level)");
  po::options_description hidden;
  hidden.add_options()("command", po::value<std::string>());
  po::options_description all;
  all.add(visible).add(hidden);
  po::positional_options_description positional;
  positional.add("command", 1);

  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "udp-fanout: " << e.what() << "\n" << kUsage << visible;
    return 2;
  }
  if (vm.count("help") || !vm.count("command")) {
    std::cout << kUsage << visible;
    return vm.count("help") ? 0 : 2;
  }
  const auto command = vm["command"].as<std::string>();
  if (command != "run" && command != "validate") {
    std::cerr << "udp-fanout: unknown command \"" << command << "\"\n" << kUsage;
    return 2;
  }
  if (!vm.count("config")) {
    std::cerr << "udp-fanout: " << command << " needs --config FILE\n";
    return 2;
  }
  const auto path = vm["config"].as<std::string>();
  auto config = load(path);
  if (!config) return 2;
  if (vm.count("log-format")) config->log.format = vm["log-format"].as<std::string>();
  if (vm.count("log-level")) config->log.level = vm["log-level"].as<std::string>();
  if (command == "validate") {
    std::cout << path << ": valid\n";
    print_summary(*config);
    return 0;
  }
  return run(*config);
}
