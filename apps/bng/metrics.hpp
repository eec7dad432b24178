// The bng daemon's Prometheus metrics, every one driven by real state: kernel counters
// from the fast path's per-CPU map, slow-path counters and latency, leases, pools, and
// the BGP announcer (FRR reachable, peers by state, prefixes, reconcile errors).
#pragma once

#include <bngkit/bng/bgp/route_announcer.hpp>
#include <bngkit/bng/gateway.hpp>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <map>
#include <mutex>
#include <string>

namespace bngkit::bngd {

class Metrics {
 public:
  explicit Metrics(prometheus::Registry& registry);
  /// After each slow-path request: latency histogram and reply counts.
  void observe(const bng::RequestRecord& record);
  /// Before each scrape: mirror counters and gauges from the gateway's state.
  void update(const bng::GatewayStatus& status);
  /// After each SIGHUP: whether the new configuration was applied.
  void reloaded(bool applied);
  /// Before each scrape, when [bgp] is enabled: mirror the route announcer's state.
  void update_bgp(const bng::bgp::AnnouncerStatus& status);

 private:
  prometheus::Family<prometheus::Counter>& fast_requests_;
  prometheus::Family<prometheus::Counter>& fast_replies_;
  prometheus::Family<prometheus::Counter>& fast_passed_;
  prometheus::Family<prometheus::Counter>& slow_requests_;
  prometheus::Family<prometheus::Counter>& slow_replies_;
  prometheus::Family<prometheus::Counter>& slow_drops_;
  prometheus::Family<prometheus::Histogram>& latency_;
  prometheus::Family<prometheus::Gauge>& leases_;
  prometheus::Family<prometheus::Gauge>& pool_addresses_;
  prometheus::Family<prometheus::Gauge>& pool_utilisation_;
  prometheus::Family<prometheus::Counter>& reloads_;
  prometheus::Family<prometheus::Gauge>& draining_;
  prometheus::Family<prometheus::Gauge>& fast_attached_;
  prometheus::Family<prometheus::Counter>& renewals_served_;
  prometheus::Family<prometheus::Counter>& renewals_recorded_;
  prometheus::Family<prometheus::Counter>& event_errors_;
  prometheus::Family<prometheus::Counter>& cache_errors_;
  prometheus::Family<prometheus::Gauge>& bgp_frr_up_;
  prometheus::Family<prometheus::Gauge>& bgp_peers_;
  prometheus::Family<prometheus::Gauge>& bgp_announced_;
  prometheus::Family<prometheus::Gauge>& bgp_desired_;
  prometheus::Family<prometheus::Counter>& bgp_reconciles_;
  prometheus::Family<prometheus::Counter>& bgp_reconcile_errors_;
  std::mutex mutex_;
};

}  // namespace bngkit::bngd
