// udp_fanout_* metrics from Fanout::status().
#include "metrics.hpp"

namespace bngkit::fanoutd {

namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;

// Adds what a monotonic engine counter gained since the last scrape.
void advance(prometheus::Counter& c, std::uint64_t now, std::uint64_t before) {
  if (now > before) c.Increment(static_cast<double>(now - before));
}

}  // namespace

FanoutMetrics::FanoutMetrics(prometheus::Registry& registry)
    : received_packets_(BuildCounter()
                            .Name("udp_fanout_packets_received_total")
                            .Help("Datagrams received by the listener")
                            .Register(registry)),
      received_bytes_(BuildCounter()
                          .Name("udp_fanout_bytes_received_total")
                          .Help("UDP payload bytes received by the listener")
                          .Register(registry)),
      forwarded_packets_(BuildCounter()
                             .Name("udp_fanout_packets_forwarded_total")
                             .Help("Datagrams sent to downstreams (each copy counts)")
                             .Register(registry)),
      forwarded_bytes_(BuildCounter()
                           .Name("udp_fanout_bytes_forwarded_total")
                           .Help("UDP payload bytes sent to downstreams (each copy counts)")
                           .Register(registry)),
      dropped_packets_(BuildCounter()
                           .Name("udp_fanout_packets_dropped_total")
                           .Help("Datagrams or copies not delivered, by reason")
                           .Register(registry)),
      slow_path_packets_(BuildCounter()
                             .Name("udp_fanout_packets_slow_path_total")
                             .Help("TC engine: datagrams the program left to the stack "
                                   "(fragments, IP options, other interfaces) and the userspace "
                                   "socket relayed; included in received")
                             .Register(registry)),
      downstream_active_(BuildGauge()
                             .Name("udp_fanout_downstream_active")
                             .Help("Downstreams the listener delivers to now")
                             .Register(registry)),
      downstream_health_(BuildGauge()
                             .Name("udp_fanout_downstream_health")
                             .Help("1: in rotation (healthy, or not probed yet), 0: failed "
                                   "its health probes")
                             .Register(registry)),
      listener_up_(BuildGauge()
                       .Name("udp_fanout_listener_up")
                       .Help("1 while the listener's engine runs")
                       .Register(registry)),
      listener_info_(BuildGauge()
                         .Name("udp_fanout_listener_info")
                         .Help("Engine and policy of the listener (value 1); mode differs from "
                               "configured_mode after a fallback")
                         .Register(registry)),
      discovery_synced_(BuildGauge()
                            .Name("udp_fanout_discovery_synced")
                            .Help("1 once the listener's EndpointSlices were listed")
                            .Register(registry)),
      discovery_lists_(BuildCounter()
                           .Name("udp_fanout_discovery_lists_total")
                           .Help("Full EndpointSlice lists (the first, and one after each "
                                 "410 Gone)")
                           .Register(registry)),
      discovery_oversized_(BuildCounter()
                               .Name("udp_fanout_discovery_oversized_total")
                               .Help("EndpointSlice lists and watch events refused for exceeding "
                                     "kubernetes.max_response_bytes")
                               .Register(registry)) {}

void FanoutMetrics::update(const std::vector<fanout::ListenerStatus>& status) {
  std::map<std::vector<std::string>, prometheus::Gauge*> seen_health;
  for (const auto& l : status) {
    const std::map<std::string, std::string> labels{{"listener", l.name}};
    auto& before = last_[l.name];
    const auto& now = l.stats;
    advance(received_packets_.Add(labels), now.received_packets, before.received_packets);
    advance(received_bytes_.Add(labels), now.received_bytes, before.received_bytes);
    advance(forwarded_packets_.Add(labels), now.forwarded_packets, before.forwarded_packets);
    advance(forwarded_bytes_.Add(labels), now.forwarded_bytes, before.forwarded_bytes);
    for (std::size_t i = 0; i < fanout::kDropReasonCount; ++i) {
      const auto reason = static_cast<fanout::DropReason>(i);
      advance(
          dropped_packets_.Add({{"listener", l.name}, {"reason", std::string(to_string(reason))}}),
          now.dropped[i], before.dropped[i]);
    }
    advance(slow_path_packets_.Add(labels), now.slow_path_packets, before.slow_path_packets);
    before = now;

    downstream_active_.Add(labels).Set(static_cast<double>(l.active_downstreams));
    listener_up_.Add(labels).Set(l.running ? 1 : 0);

    auto& info = info_[l.name];
    const std::map<std::string, std::string> info_labels{
        {"listener", l.name},
        {"mode", std::string(to_string(l.mode))},
        {"configured_mode", std::string(to_string(l.configured_mode))},
        {"policy", std::string(to_string(l.policy))}};
    auto& g = listener_info_.Add(info_labels);
    if (info != nullptr && info != &g) listener_info_.Remove(info);
    info = &g;
    g.Set(1);

    if (l.discovery) {
      discovery_synced_.Add(labels).Set(l.discovery->synced ? 1 : 0);
      auto& lists = last_lists_[l.name];
      advance(discovery_lists_.Add(labels), l.discovery->lists, lists);
      lists = l.discovery->lists;
      auto& oversized = last_oversized_[l.name];
      advance(discovery_oversized_.Add(labels), l.discovery->oversized, oversized);
      oversized = l.discovery->oversized;
    }

    for (const auto& d : l.downstreams) {
      std::vector<std::string> key{l.name, d.name, d.address.to_string(), d.source};
      auto& h = downstream_health_.Add(
          {{"listener", key[0]}, {"downstream", key[1]}, {"address", key[2]}, {"source", key[3]}});
      h.Set(d.health == fanout::Health::unhealthy ? 0 : 1);
      seen_health.emplace(std::move(key), &h);
    }
  }
  // Downstreams that left (discovery, reload) stop being reported.
  for (const auto& [key, gauge] : health_) {
    if (!seen_health.contains(key)) downstream_health_.Remove(gauge);
  }
  health_ = std::move(seen_health);
}

}  // namespace bngkit::fanoutd
