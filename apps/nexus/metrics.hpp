// The nexus daemon's Prometheus metrics, every one driven by real state: allocations and
// pool utilisation from the model, peers, lag and traffic from the replicator, conflicts
// from the model's counters, API latency from the HTTP server's observer.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <bngkit/nexus/model.hpp>
#include <bngkit/nexus/replication.hpp>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <string>

namespace bngkit::nexusd {

/// The label an API path is counted under: collections keep their name, identifiers become
/// {id} ("/api/v1/allocations/{id}/renew"), anything unknown is "other" (bounded cardinality).
std::string route_label(std::string_view path);

class Metrics {
 public:
  explicit Metrics(prometheus::Registry& registry);
  /// After each API request: latency and counts by method, route and status.
  void observe_request(std::string_view method, std::string_view path, int status,
                       std::chrono::nanoseconds latency);
  /// Before each scrape: mirror the model and the replicator (null: replication off).
  void update(const nexus::Model& model, const nexus::Replicator* replicator, bool ready);

 private:
  prometheus::Family<prometheus::Gauge>& allocations_;
  prometheus::Family<prometheus::Gauge>& pool_usable_;
  prometheus::Family<prometheus::Gauge>& pool_utilisation_;
  prometheus::Family<prometheus::Gauge>& nodes_;
  prometheus::Family<prometheus::Gauge>& peers_;
  prometheus::Family<prometheus::Gauge>& peer_up_;
  prometheus::Family<prometheus::Gauge>& lag_;
  prometheus::Family<prometheus::Gauge>& last_sync_;
  prometheus::Family<prometheus::Gauge>& ready_;
  prometheus::Family<prometheus::Counter>& conflicts_;
  prometheus::Family<prometheus::Counter>& merged_;
  prometheus::Family<prometheus::Counter>& repl_frames_;
  prometheus::Family<prometheus::Counter>& repl_bytes_;
  prometheus::Family<prometheus::Counter>& repl_entries_;
  prometheus::Family<prometheus::Counter>& repl_rounds_;
  prometheus::Family<prometheus::Counter>& repl_failures_;
  prometheus::Family<prometheus::Counter>& api_requests_;
  prometheus::Family<prometheus::Histogram>& api_latency_;
  prometheus::Family<prometheus::Counter>& allocations_created_;
  std::mutex mutex_;
  std::set<std::string> pools_seen_;
  std::set<std::pair<std::string, std::string>> peers_seen_;
};

}  // namespace bngkit::nexusd
