// The bng daemon's subscriber metrics: sessions, RADIUS (per server: requests, retransmits,
// timeouts, state, latency), accounting delivery, Dynamic Authorization, admission, and the
// kernel's per-subscriber traffic program. Every one mirrors real state before a scrape.
#pragma once

#include "subscribers.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <map>
#include <mutex>
#include <string>

namespace bngkit::bngd {

class SubscriberMetrics {
 public:
  explicit SubscriberMetrics(prometheus::Registry& registry);
  void update(const SubscribersStatus& status, const bng::GatewayStatus& gateway);

 private:
  void update_radius(const bng::radius::ClientStats& stats);

  prometheus::Family<prometheus::Gauge>& sessions_;
  prometheus::Family<prometheus::Counter>& access_;
  prometheus::Family<prometheus::Counter>& accounting_;
  prometheus::Family<prometheus::Gauge>& accounting_queue_;
  prometheus::Family<prometheus::Counter>& session_ends_;
  prometheus::Family<prometheus::Counter>& session_errors_;
  prometheus::Family<prometheus::Counter>& dae_requests_;
  prometheus::Family<prometheus::Counter>& dae_replies_;
  prometheus::Family<prometheus::Counter>& dae_dropped_;
  prometheus::Family<prometheus::Counter>& radius_requests_;
  prometheus::Family<prometheus::Counter>& radius_retransmits_;
  prometheus::Family<prometheus::Counter>& radius_responses_;
  prometheus::Family<prometheus::Counter>& radius_timeouts_;
  prometheus::Family<prometheus::Counter>& radius_bad_;
  prometheus::Family<prometheus::Gauge>& radius_up_;
  prometheus::Family<prometheus::Histogram>& radius_latency_;
  prometheus::Family<prometheus::Counter>& radius_failed_;
  prometheus::Family<prometheus::Gauge>& admission_held_;
  prometheus::Family<prometheus::Counter>& admission_;
  prometheus::Family<prometheus::Gauge>& traffic_attached_;
  prometheus::Family<prometheus::Gauge>& traffic_entries_;
  prometheus::Family<prometheus::Gauge>& traffic_capacity_;
  prometheus::Family<prometheus::Counter>& traffic_unknown_;
  // Latency histograms are fed the bucket counts added since the last scrape.
  std::map<std::string, bng::radius::LatencyHistogram> seen_latency_;
  std::mutex mutex_;
};

}  // namespace bngkit::bngd
