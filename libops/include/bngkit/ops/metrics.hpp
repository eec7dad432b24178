// Prometheus exposition for the daemons: prometheus-cpp holds the metrics; this serves
// them at /metrics, refreshing state-derived gauges right before each scrape.
#pragma once

#include <bngkit/ops/export.hpp>
#include <bngkit/ops/http.hpp>

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace bngkit::ops {

/// Text exposition format (version 0.0.4) of everything in `registry`.
BNGKIT_OPS_EXPORT std::string render_prometheus(const prometheus::Registry& registry);

/// Registers GET `path` on `router`. `refresh` runs before each scrape so gauges that
/// mirror kernel or store state (map counters, lease counts) are read when asked for.
BNGKIT_OPS_EXPORT void add_metrics_endpoint(Router& router, std::shared_ptr<prometheus::Registry> registry,
                                            std::string path = "/metrics",
                                            std::function<void()> refresh = {});

/// Brings a counter that mirrors a monotonically increasing total kept elsewhere (a
/// per-CPU BPF map, a library's statistics) up to `total`. A total below the counter
/// (the source was reset) is ignored: Prometheus counters never go down.
BNGKIT_OPS_EXPORT void sync_counter(prometheus::Counter& counter, double total);

/// Exponential latency buckets in seconds, from 50 µs to ~3 s.
BNGKIT_OPS_EXPORT std::vector<double> latency_buckets_seconds();

}  // namespace bngkit::ops
