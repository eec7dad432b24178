// nexus: the coordination daemon. `nexus run --config nexus.toml` serves the API on
// server.http_port, /metrics on server.metrics_port and replicates with its peers on
// p2p.listen_port; `nexus validate` checks a config; `nexus backup` copies the live store
// (consistent, online); `nexus restore` replaces it, through the running daemon when there is
// one, else directly.
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <bngkit/nexus/api.hpp>
#include <bngkit/nexus/model.hpp>
#include <bngkit/nexus/replication.hpp>
#include <bngkit/nexus/store.hpp>
#include <bngkit/ops/capabilities.hpp>
#include <bngkit/ops/health.hpp>
#include <bngkit/ops/http.hpp>
#include <bngkit/ops/log.hpp>
#include <bngkit/ops/metrics.hpp>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <boost/program_options.hpp>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <thread>

#include "config.hpp"
#include "metrics.hpp"

namespace po = boost::program_options;
namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace bngkit;

namespace {

constexpr const char* kUsage =
    "usage: nexus run --config FILE                  serve the API and replicate with peers\n"
    "       nexus validate --config FILE             check a configuration and exit\n"
    "       nexus backup --config FILE --output OUT  write a consistent copy of the live store\n"
    "       nexus restore --config FILE --input IN   replace the store with a backup (online\n"
    "                                                through the running daemon, else offline)\n"
    "       nexus version\n";

fs::path db_path(const nexusd::Config& c) { return fs::path(c.storage.path) / "nexus.db"; }

// The store directory's lock: one daemon per store. Released when the fd closes.
class StoreLock {
 public:
  static Result<StoreLock> take(const fs::path& dir) {
    const fs::path file = dir / "nexus.lock";
    StoreLock l;
    l.fd_ = ::open(file.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
    if (l.fd_ < 0) return errno_error(errno, "open " + file.string());
    if (::flock(l.fd_, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      if (err == EWOULDBLOCK)
        return make_error(std::errc::device_or_resource_busy,
                          "another nexus process is using " + dir.string());
      return errno_error(err, "lock " + file.string());
    }
    return l;
  }
  StoreLock(StoreLock&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  StoreLock& operator=(StoreLock&&) = delete;
  ~StoreLock() {
    if (fd_ >= 0) ::close(fd_);
  }

 private:
  StoreLock() = default;
  int fd_ = -1;
};

Result<std::unique_ptr<nexus::Model>> open_model(const nexusd::Config& c, nexus::Store& store) {
  nexus::ModelOptions mo;
  mo.replica_id = c.node.id;
  mo.node_stale_after = c.housekeeping.node_stale_after;
  mo.node_expire_after = c.housekeeping.node_expire_after;
  return nexus::Model::open(&store, mo);
}

int run(const std::string& config_path) {
  auto config = nexusd::load_config(config_path);
  if (!config) {
    std::cerr << "nexus: " << config.error().message() << "\n";
    return 2;
  }
  const auto& c = config.value();
  auto format = ops::parse_log_format(c.log.format);
  if (auto r = ops::setup_logging(format ? *format : ops::LogFormat::text, c.log.level, "nexus");
      !r) {
    std::cerr << "nexus: " << r.error().message() << "\n";
    return 2;
  }

  std::error_code ec;
  fs::create_directories(c.storage.path, ec);
  if (ec) {
    spdlog::error("start-up failed: create {}: {}", c.storage.path, ec.message());
    return 1;
  }
  auto lock = StoreLock::take(c.storage.path);
  if (!lock) {
    spdlog::error("start-up failed: {}", lock.error().message());
    return 1;
  }
  auto store = nexus::Store::open(db_path(c));
  if (!store) {
    spdlog::error("start-up failed: {}", store.error().message());
    return 1;
  }
  auto opened = open_model(c, *store);
  if (!opened) {
    spdlog::error("start-up failed: {}", opened.error().message());
    return 1;
  }
  nexus::Model& model = **opened;
  spdlog::info("replica {} ({} role, region {}): store {} with {} pool(s), {} allocation(s)",
               c.node.id, c.node.role, c.node.region.empty() ? "-" : c.node.region,
               db_path(c).string(), model.pools().size(), model.allocations().size());

  std::unique_ptr<nexus::Replicator> replicator;
  if (c.replication_enabled()) {
    auto r = nexus::Replicator::start(model, c.replication());
    if (!r) {
      spdlog::error("start-up failed: {}", r.error().message());
      return 1;
    }
    replicator = std::move(*r);
  } else {
    spdlog::warn("no peers and no peer authentication configured: running as a lone replica");
  }

  auto registry = std::make_shared<prometheus::Registry>();
  nexusd::Metrics metrics(*registry);
  std::atomic<bool> draining{false};

  ops::HealthChecks health;
  health.add(ops::HealthChecks::Kind::liveness, "store", [&store, &model] {
    if (auto e = model.write_error()) return ops::CheckResult{false, e->message()};
    auto d = store->durability();
    if (!d) return ops::CheckResult{false, "store unreadable: " + d.error().message()};
    return ops::CheckResult{
        true, "open (" + d->journal_mode + ", synchronous=" + std::to_string(d->synchronous) + ")"};
  });
  health.add(ops::HealthChecks::Kind::readiness, "initial_sync", [&replicator] {
    if (!replicator) return ops::CheckResult{true, "replication off: no peers configured"};
    auto s = replicator->status();
    return ops::CheckResult{s.initial_sync_done, s.initial_sync_detail};
  });
  health.add(ops::HealthChecks::Kind::readiness, "shutdown", [&draining] {
    return draining
               ? ops::CheckResult{false, "shutting down: finishing requests and pushing to peers"}
               : ops::CheckResult{true, "serving"};
  });
  auto is_ready = [&health] { return health.evaluate(ops::HealthChecks::Kind::readiness).healthy; };

  nexus::ApiOptions api_options;
  api_options.token = c.server.token;
  api_options.default_owners = c.node.pool_owners;
  if (replicator) {
    api_options.resync = [&replicator] { replicator->resync(); };
    api_options.restored = [&replicator] { replicator->resync(); };
  }
  auto api_router = std::make_shared<ops::Router>();
  health.add_endpoints(*api_router);
  nexus::add_api_routes(*api_router, model, api_options);

  auto refresh = [&] { metrics.update(model, replicator.get(), is_ready()); };
  auto metrics_router = std::make_shared<ops::Router>();
  ops::add_metrics_endpoint(*metrics_router, registry, "/metrics", refresh);
  health.add_endpoints(*metrics_router);

  asio::io_context io;
  ops::HttpServer api(io, api_router);
  ops::HttpServerOptions ao;
  ao.bind_address = c.server.bind;
  ao.port = c.server.http_port;
  ao.registry = registry;  // open/refused connection metrics
  ao.observer = [&metrics](const ops::Request& req, int status, std::chrono::nanoseconds t) {
    metrics.observe_request(req.method, req.path, status, t);
  };
  if (auto r = api.start(ao); !r) {
    spdlog::error("API: {}", r.error().message());
    return 1;
  }
  ops::HttpServer metrics_server(io, metrics_router);
  ops::HttpServerOptions mo;
  mo.bind_address = c.server.bind;
  mo.port = c.server.metrics_port;
  mo.registry = registry;
  mo.name = "metrics";
  if (auto r = metrics_server.start(mo); !r) {
    spdlog::error("metrics: {}", r.error().message());
    return 1;
  }
  spdlog::info("API on {}:{}, metrics on {}:{}/metrics", c.server.bind, api.port(), c.server.bind,
               metrics_server.port());
  if (c.server.token.empty()) {
    spdlog::warn("server.token is not set: anyone reaching {}:{} can change pools and allocations",
                 c.server.bind, api.port());
  }
  // security: the store is open and every port bound (peers included); nothing left needs
  // a capability. The drop reaches replication's threads too (the sets are per thread).
  if (auto caps = ops::drop_capabilities_except({}); !caps) {
    spdlog::error("start-up failed: {}", caps.error().message());
    return 1;
  } else if (caps->dropped != 0) {
    spdlog::info("capabilities: dropped {} in all {} threads", ops::capability_names(caps->dropped),
                 caps->threads);
  }

  // Housekeeping: free expired grants and silent nodes.
  asio::steady_timer housekeeping(io);
  std::function<void()> schedule = [&] {
    housekeeping.expires_after(c.housekeeping.interval);
    housekeeping.async_wait([&](boost::system::error_code e) {
      if (e) return;
      auto r = model.expire();
      if (!r) {
        spdlog::error("expiry: {}", r.error().message());
      } else if (r->allocations + r->nodes > 0) {
        spdlog::info("expiry freed {} allocation(s) and removed {} node(s)", r->allocations,
                     r->nodes);
      }
      schedule();
    });
  };
  schedule();

  // Graceful shutdown: not ready for grace_period (load balancers move away) while still
  // serving, then stop accepting, push what peers lack, stop. `timeout` bounds it all.
  std::mutex shutdown_mu;
  std::condition_variable shutdown_cv;
  bool finished = false;
  std::thread watchdog;
  asio::steady_timer grace(io);
  auto finish = [&] {
    api.stop();
    metrics_server.stop();
    housekeeping.cancel();
    if (replicator) {
      const bool flushed = replicator->flush(std::min<std::chrono::milliseconds>(
          c.graceful_shutdown.timeout / 4, std::chrono::seconds(10)));
      if (!flushed)
        spdlog::warn(
            "shutdown: some peers did not acknowledge every change (anti-entropy will repair)");
      replicator->stop();
    }
    io.stop();
  };
  asio::signal_set signals(io, SIGTERM, SIGINT);
  std::function<void(boost::system::error_code, int)> on_signal = [&](boost::system::error_code e,
                                                                      int signo) {
    if (e) return;
    if (draining.exchange(true)) {
      spdlog::info("signal {} again: stopping now", signo);
      grace.cancel();
      return;
    }
    spdlog::info("signal {}: not ready for {} ms, then stopping", signo,
                 c.graceful_shutdown.grace_period.count());
    watchdog = std::thread([&, timeout = c.graceful_shutdown.timeout] {
      std::unique_lock l(shutdown_mu);
      if (!shutdown_cv.wait_for(l, timeout, [&] { return finished; })) {
        spdlog::error("shutdown took longer than {} ms: exiting now", timeout.count());
        spdlog::default_logger()->flush();
        std::_Exit(1);
      }
    });
    grace.expires_after(c.graceful_shutdown.grace_period);
    grace.async_wait([&](boost::system::error_code) { finish(); });
    signals.async_wait(on_signal);
  };
  signals.async_wait(on_signal);

  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < c.server.threads; ++i) threads.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : threads) t.join();
  if (replicator) replicator->stop();
  {
    std::lock_guard l(shutdown_mu);
    finished = true;
  }
  shutdown_cv.notify_all();
  if (watchdog.joinable()) watchdog.join();
  spdlog::info("stopped");
  return 0;
}

int backup(const std::string& config_path, const std::string& output) {
  auto config = nexusd::load_config(config_path);
  if (!config) {
    std::cerr << "nexus: " << config.error().message() << "\n";
    return 2;
  }
  nexus::StoreOptions so;
  so.create = false;
  auto store = nexus::Store::open(db_path(*config), so);
  if (!store) {
    std::cerr << "nexus: " << store.error().message() << "\n";
    return 1;
  }
  // Its own read transaction: one consistent snapshot while the daemon keeps writing.
  if (auto r = store->backup(output); !r) {
    std::cerr << "nexus: backup failed: " << r.error().message() << "\n";
    return 1;
  }
  std::cout << "nexus: backup of " << db_path(*config).string() << " written to " << output << " ("
            << fs::file_size(output) << " bytes)\n";
  return 0;
}

// POSTs to the running daemon's API; returns status and body.
Result<std::pair<int, std::string>> post(const nexusd::Config& c, const std::string& target,
                                         const std::string& body) {
  namespace http = boost::beast::http;
  std::string host = c.server.bind;
  if (host == "0.0.0.0") host = "127.0.0.1";
  if (host == "::") host = "::1";
  boost::system::error_code ec;
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  const auto address = asio::ip::make_address(host, ec);
  if (ec) return Error{ec, "server.bind " + host};
  socket.connect({address, c.server.http_port}, ec);
  if (ec)
    return Error{ec, "connect to the daemon on " + host + ":" + std::to_string(c.server.http_port)};
  timeval tv{300, 0};  // a large restore takes a while
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  http::request<http::string_body> req{http::verb::post, target, 11};
  req.set(http::field::host, host);
  req.set(http::field::content_type, "application/json");
  if (!c.server.token.empty()) req.set(http::field::authorization, "Bearer " + c.server.token);
  req.body() = body;
  req.prepare_payload();
  http::write(socket, req, ec);
  if (ec) return Error{ec, "send to the daemon"};
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(socket, buffer, res, ec);
  if (ec) return Error{ec, "read the daemon's answer"};
  return std::pair(static_cast<int>(res.result_int()), res.body());
}

int restore(const std::string& config_path, const std::string& input) {
  auto config = nexusd::load_config(config_path);
  if (!config) {
    std::cerr << "nexus: " << config.error().message() << "\n";
    return 2;
  }
  const auto& c = *config;
  std::error_code ec;
  const fs::path source = fs::absolute(input, ec);
  if (auto v = nexus::Store::verify(source); !v) {
    std::cerr << "nexus: " << v.error().message() << "\n";
    return 1;
  }
  fs::create_directories(c.storage.path, ec);
  auto lock = StoreLock::take(c.storage.path);
  if (!lock) {
    if (lock.error().code != std::errc::device_or_resource_busy) {
      std::cerr << "nexus: " << lock.error().message() << "\n";
      return 1;
    }
    // A daemon owns the store: it restores online and resyncs with its peers.
    boost::json::object body{{"path", source.string()}};
    auto r = post(c, "/admin/restore", boost::json::serialize(body));
    if (!r) {
      std::cerr << "nexus: a daemon holds " << c.storage.path
                << " but its API is unreachable: " << r.error().message() << "\n";
      return 1;
    }
    if (r->first != 200) {
      std::cerr << "nexus: the daemon refused the restore (" << r->first << "): " << r->second
                << "\n";
      return 1;
    }
    std::cout << "nexus: restored " << source.string() << " into the running daemon: " << r->second
              << "\n";
    return 0;
  }
  auto store = nexus::Store::open(db_path(c));
  if (!store) {
    std::cerr << "nexus: " << store.error().message() << "\n";
    return 1;
  }
  auto model = open_model(c, *store);
  if (!model) {
    std::cerr << "nexus: " << model.error().message() << "\n";
    return 1;
  }
  if (auto r = (*model)->restore(source); !r) {
    std::cerr << "nexus: restore failed: " << r.error().message() << "\n";
    return 1;
  }
  std::cout << "nexus: restored " << source.string() << " into " << db_path(c).string() << " ("
            << (*model)->pools().size() << " pool(s), " << (*model)->allocations().size()
            << " allocation(s)); peers send back anything newer when it starts\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string command;
  std::string config_path;
  std::string output;
  std::string input;
  po::options_description options("options");
  options.add_options()("help,h", "show usage")("config,c", po::value(&config_path),
                                                "configuration file (TOML)")(
      "output,o", po::value(&output), "backup: file to write")("input,i", po::value(&input),
                                                               "restore: backup to read");
  po::options_description all;
  all.add(options).add_options()("command", po::value(&command));
  po::positional_options_description positional;
  positional.add("command", 1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "nexus: " << e.what() << "\n" << kUsage;
    return 2;
  }
  if (vm.count("help") || command.empty()) {
    std::cout << kUsage << options;
    return command.empty() && !vm.count("help") ? 2 : 0;
  }
  if (command == "version") {
    std::cout << "nexus (bngkit) " << BNGKIT_VERSION << "\n";
    return 0;
  }
  if (command != "run" && command != "validate" && command != "backup" && command != "restore") {
    std::cerr << "nexus: unknown command \"" << command << "\"\n" << kUsage;
    return 2;
  }
  if (config_path.empty()) {
    std::cerr << "nexus: " << command << " needs --config FILE\n";
    return 2;
  }
  if (command == "validate") {
    auto config = nexusd::load_config(config_path);
    if (!config) {
      std::cerr << "nexus: " << config.error().message() << "\n";
      return 1;
    }
    const auto& c = *config;
    std::cout << config_path << ": ok (replica " << c.node.id << ", API :" << c.server.http_port
              << ", metrics :" << c.server.metrics_port << ", ";
    if (c.replication_enabled())
      std::cout << "peers :" << c.p2p.listen_port << " " << c.p2p.peers.size() << " static"
                << (c.p2p.dns.empty() ? "" : " + DNS " + c.p2p.dns) << ", "
                << (c.p2p.cert_file.empty() ? "shared secret" : "mutual TLS");
    else
      std::cout << "no replication";
    std::cout << ", store " << c.storage.path << ")\n";
    return 0;
  }
  if (command == "backup") {
    if (output.empty()) {
      std::cerr << "nexus: backup needs --output FILE\n";
      return 2;
    }
    return backup(config_path, output);
  }
  if (command == "restore") {
    if (input.empty()) {
      std::cerr << "nexus: restore needs --input FILE\n";
      return 2;
    }
    return restore(config_path, input);
  }
  return run(config_path);
}
