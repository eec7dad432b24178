// The daemon's BGP side: the [bgp] section turned into a RouteAnnouncer, fed with the
// pool aggregates (and, with announce_host_routes, a /32 per bound lease) from a timer on
// the io_context, withdrawn on drain and on shutdown, reported in /health and /metrics.
#pragma once

#include <bngkit/bng/bgp/route_announcer.hpp>
#include <bngkit/bng/gateway.hpp>
#include <bngkit/ops/health.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <memory>

#include "config.hpp"

namespace bngkit::bngd {

/// The prefixes `config` says to announce: every pool's network, and a /32 per bound
/// lease when bgp.announce_host_routes is set.
std::vector<bng::bgp::Prefix> desired_prefixes(const Config& config, const std::vector<bng::lease::Lease>& leases);

/// The announcer options [bgp] gives.
bng::bgp::AnnouncerOptions announcer_options(const BgpConfig& bgp);

class BgpAnnouncements {
 public:
  /// Starts announcing for `config` (bgp.enabled): the worker reconciles FRR at once, and a
  /// timer on `io` refreshes the desired prefixes every bgp.reconcile_interval.
  static Result<std::unique_ptr<BgpAnnouncements>> start(const Config& config, boost::asio::io_context& io,
                                                         const bng::Gateway& gateway);
  /// A reloaded configuration: new speaker, host routes on or off, pools.
  Result<void> apply(const Config& next);
  /// Drain withdraws every prefix; its end announces them again.
  void set_draining(bool draining);
  /// Cancels the timer and withdraws every prefix (blocks up to a few vtysh timeouts).
  void shutdown();

  [[nodiscard]] bng::bgp::AnnouncerStatus status() const;
  /// Readiness detail: FRR reachable and in step, peers and what is announced.
  [[nodiscard]] ops::CheckResult health() const;

 private:
  BgpAnnouncements(Config config, boost::asio::io_context& io, const bng::Gateway& gateway,
                   std::unique_ptr<bng::bgp::RouteAnnouncer> announcer);
  void refresh();
  void schedule();

  Config config_;
  const bng::Gateway& gateway_;
  std::unique_ptr<bng::bgp::RouteAnnouncer> announcer_;
  boost::asio::steady_timer timer_;
  bool frr_was_up_ = true;  // for logging transitions only
  std::string last_error_logged_;
  std::optional<std::size_t> announced_logged_;
};

/// Adds the group `name` to the process's supplementary groups (needs CAP_SETGID: call
/// before dropping capabilities). Fails when the group does not exist.
Result<void> join_group(const char* name);

}  // namespace bngkit::bngd
