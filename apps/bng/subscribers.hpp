// The subscriber side of the bng daemon: sessions (SessionManager) wired to the gateway,
// RADIUS (client, Dynamic Authorization server) when [radius] is configured, and the
// kernel's per-subscriber counters and rate limits (SubscriberTraffic). main.cpp owns one;
// it serves /api/v1/sessions, adds health checks and feeds the metrics.
#pragma once

#include "config.hpp"

#include <bngkit/bng/fastpath/subscriber_traffic.hpp>
#include <bngkit/bng/gateway.hpp>
#include <bngkit/bng/radius/client.hpp>
#include <bngkit/bng/radius/dae_server.hpp>
#include <bngkit/bng/session/session_manager.hpp>
#include <bngkit/ops/health.hpp>
#include <bngkit/ops/http.hpp>

#include <memory>
#include <optional>

namespace boost::asio {
class io_context;
}

namespace bngkit::bngd {

/// What the metrics mirror.
struct SubscribersStatus {
  bng::session::SessionStats sessions;
  std::optional<bng::radius::ClientStats> radius;
  std::optional<bng::radius::DaeStats> dae;
  std::optional<bng::fastpath::SubscriberTrafficStatus> traffic;
};

/// The session options a config asks for (also on reload).
[[nodiscard]] bng::session::SessionOptions session_options(const Config& config);

class Subscribers {
 public:
  /// Loads the traffic program, opens the session store, creates the RADIUS client and DAE
  /// server, and installs the admission hook and lease observer on `gateway` (before its
  /// start()).
  [[nodiscard]] static Result<std::unique_ptr<Subscribers>> create(boost::asio::io_context& io, const Config& config,
                                                                   bng::Gateway& gateway);
  ~Subscribers();

  /// After gateway.start(): attaches the traffic program, restores sessions against the
  /// bound leases, sends Accounting-On (fresh start) and queued records.
  [[nodiscard]] Result<void> start();
  /// Stops timers and servers; gives accounting in flight up to `grace` on `io` to finish.
  void stop(boost::asio::io_context& io, std::chrono::milliseconds grace);

  void add_routes(ops::Router& router);
  void add_health(ops::HealthChecks& health);
  void reload(const Config& next);
  [[nodiscard]] SubscribersStatus status() const;

 private:
  explicit Subscribers(bng::Gateway& gateway) : gateway_(gateway) {}
  bng::Gateway& gateway_;
  std::optional<bng::fastpath::SubscriberTraffic> traffic_;
  std::unique_ptr<bng::session::KernelTraffic> kernel_traffic_;
  std::unique_ptr<bng::radius::Client> radius_;
  std::unique_ptr<bng::session::SessionManager> sessions_;
  std::unique_ptr<bng::radius::DaeServer> dae_;
};

}  // namespace bngkit::bngd
