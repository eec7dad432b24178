// The daemon's Prometheus metrics, set from the fanout's real state right before each
// scrape: counters follow the engines' counters, gauges the current downstream sets.
#pragma once

#include <bngkit/fanout/fanout.hpp>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <map>
#include <string>
#include <vector>

namespace bngkit::fanoutd {

/// udp_fanout_* metrics in a registry.
class FanoutMetrics {
 public:
  explicit FanoutMetrics(prometheus::Registry& registry);

  /// Brings every metric up to date with `status` (Fanout::status()).
  void update(const std::vector<fanout::ListenerStatus>& status);

 private:
  prometheus::Family<prometheus::Counter>& received_packets_;
  prometheus::Family<prometheus::Counter>& received_bytes_;
  prometheus::Family<prometheus::Counter>& forwarded_packets_;
  prometheus::Family<prometheus::Counter>& forwarded_bytes_;
  prometheus::Family<prometheus::Counter>& dropped_packets_;
  prometheus::Family<prometheus::Counter>& slow_path_packets_;
  prometheus::Family<prometheus::Gauge>& downstream_active_;
  prometheus::Family<prometheus::Gauge>& downstream_health_;
  prometheus::Family<prometheus::Gauge>& listener_up_;
  prometheus::Family<prometheus::Gauge>& listener_info_;
  prometheus::Family<prometheus::Gauge>& discovery_synced_;
  prometheus::Family<prometheus::Counter>& discovery_lists_;
  prometheus::Family<prometheus::Counter>& discovery_oversized_;
  std::map<std::string, std::uint64_t> last_lists_;    // by listener
  std::map<std::string, std::uint64_t> last_oversized_;  // by listener
  std::map<std::string, fanout::ListenerStats> last_;  // by listener: what was added so far
  std::map<std::vector<std::string>, prometheus::Gauge*> health_;  // by label values
  std::map<std::string, prometheus::Gauge*> info_;                 // by listener
};

}  // namespace bngkit::fanoutd
