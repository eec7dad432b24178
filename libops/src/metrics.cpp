// Prometheus text rendering and the /metrics endpoint.
#include <bngkit/ops/metrics.hpp>

#include <prometheus/text_serializer.h>

namespace bngkit::ops {

std::string render_prometheus(const prometheus::Registry& registry) {
  return prometheus::TextSerializer().Serialize(registry.Collect());
}

void add_metrics_endpoint(Router& router, std::shared_ptr<prometheus::Registry> registry, std::string path,
                          std::function<void()> refresh) {
  router.add("GET", std::move(path), [registry = std::move(registry), refresh = std::move(refresh)](const Request&) {
    if (refresh) refresh();
    return Response::text(200, render_prometheus(*registry), "text/plain; version=0.0.4; charset=utf-8");
  });
}

void sync_counter(prometheus::Counter& counter, double total) {
  const double current = counter.Value();
  if (total > current) counter.Increment(total - current);
}

std::vector<double> latency_buckets_seconds() {
  std::vector<double> buckets;
  for (double b = 50e-6; b < 4.0; b *= 2) buckets.push_back(b);
  return buckets;
}

}  // namespace bngkit::ops
