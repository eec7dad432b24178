// nexus metrics: names, labels, and the mirroring of model and replicator state into them.
#include "metrics.hpp"

#include <bngkit/ops/metrics.hpp>
#include <vector>

namespace bngkit::nexusd {

namespace {
using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty()) {
    const auto slash = path.find('/');
    const auto seg = path.substr(0, slash);
    if (!seg.empty()) out.push_back(seg);
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}
}  // namespace

std::string route_label(std::string_view path) {
  const auto s = segments(path);
  if (s.size() >= 3 && s[0] == "api" && s[1] == "v1" &&
      (s[2] == "pools" || s[2] == "allocations" || s[2] == "nodes")) {
    std::string r = "/api/v1/" + std::string(s[2]);
    if (s.size() == 3) return r;
    r += "/{id}";
    if (s.size() == 4) return r;
    if (s.size() == 5 && s[2] == "allocations" && s[4] == "renew") return r + "/renew";
    return "other";
  }
  for (std::string_view known : {"/health", "/health/live", "/health/ready", "/ready", "/metrics",
                                 "/admin/resync", "/admin/restore"})
    if (path == known) return std::string(known);
  return "other";
}

Metrics::Metrics(prometheus::Registry& r)
    : allocations_(BuildGauge()
                       .Name("nexus_allocations")
                       .Help("Allocations held now, by pool (as this replica sees the cluster)")
                       .Register(r)),
      pool_usable_(BuildGauge()
                       .Name("nexus_pool_usable_addresses")
                       .Help("Grants a pool can hand out (addresses or delegated prefixes)")
                       .Register(r)),
      pool_utilisation_(BuildGauge()
                            .Name("nexus_pool_utilisation_ratio")
                            .Help("Allocated share of a pool's usable grants")
                            .Register(r)),
      nodes_(BuildGauge().Name("nexus_nodes").Help("Registered BNG nodes, by status").Register(r)),
      peers_(BuildGauge()
                 .Name("nexus_peers")
                 .Help("Replication peers, by state (connected, disconnected)")
                 .Register(r)),
      peer_up_(BuildGauge()
                   .Name("nexus_peer_up")
                   .Help("1 while the authenticated connection to a peer is up")
                   .Register(r)),
      lag_(BuildGauge()
               .Name("nexus_replication_lag_seconds")
               .Help("Age of the oldest change made here that a peer has not acknowledged")
               .Register(r)),
      last_sync_(BuildGauge()
                     .Name("nexus_peer_last_sync_timestamp_seconds")
                     .Help("When anti-entropy with a peer last completed (Unix time)")
                     .Register(r)),
      ready_(BuildGauge()
                 .Name("nexus_ready")
                 .Help("1 once the store is open and the initial sync is done")
                 .Register(r)),
      conflicts_(BuildCounter()
                     .Name("nexus_conflicts_resolved_total")
                     .Help("Conflicts resolved here: address (one address, two subscribers: "
                           "the loser re-allocated) and superseded (one subscriber allocated "
                           "on two replicas at once: the later kept, ours held back)")
                     .Register(r)),
      merged_(BuildCounter()
                  .Name("nexus_replication_merged_entries_total")
                  .Help("Entries received from peers that changed this replica")
                  .Register(r)),
      repl_frames_(BuildCounter()
                       .Name("nexus_replication_frames_total")
                       .Help("Peer protocol frames, by direction")
                       .Register(r)),
      repl_bytes_(BuildCounter()
                      .Name("nexus_replication_bytes_total")
                      .Help("Peer protocol bytes (before TLS), by direction")
                      .Register(r)),
      repl_entries_(BuildCounter()
                        .Name("nexus_replication_entries_sent_total")
                        .Help("Entries sent to peers (pushes and anti-entropy)")
                        .Register(r)),
      repl_rounds_(BuildCounter()
                       .Name("nexus_anti_entropy_rounds_total")
                       .Help("Anti-entropy rounds this replica completed as initiator")
                       .Register(r)),
      repl_failures_(BuildCounter()
                         .Name("nexus_replication_failures_total")
                         .Help("Refused peer connections and frames, by reason "
                               "(handshake: failed authentication, protocol: malformed, "
                               "inbound_limit: max_inbound connections already served)")
                         .Register(r)),
      api_requests_(BuildCounter()
                        .Name("nexus_api_requests_total")
                        .Help("API requests, by method, route and status")
                        .Register(r)),
      api_latency_(BuildHistogram()
                       .Name("nexus_api_request_duration_seconds")
                       .Help("Time from a parsed request to its response, by method and route")
                       .Register(r)),
      allocations_created_(BuildCounter()
                               .Name("nexus_allocations_created_total")
                               .Help("Allocations made through this replica's API")
                               .Register(r)) {}

void Metrics::observe_request(std::string_view method, std::string_view path, int status,
                              std::chrono::nanoseconds latency) {
  const std::string route = route_label(path);
  const std::string m(method);
  std::lock_guard lock(mutex_);
  api_latency_.Add({{"method", m}, {"route", route}}, ops::latency_buckets_seconds())
      .Observe(std::chrono::duration<double>(latency).count());
  api_requests_.Add({{"method", m}, {"route", route}, {"status", std::to_string(status)}})
      .Increment();
  if (m == "POST" && route == "/api/v1/allocations" && status == 201)
    allocations_created_.Add({}).Increment();
}

void Metrics::update(const nexus::Model& model, const nexus::Replicator* replicator, bool ready) {
  std::map<std::string, std::size_t> per_pool;
  for (const auto& p : model.pools()) per_pool[p.id] = 0;
  for (const auto& a : model.allocations()) per_pool[a.pool_id]++;
  std::map<std::string, nexus::Model::PoolUsage> usage;
  for (const auto& [id, n] : per_pool)
    if (auto u = model.pool_usage(id)) usage[id] = *u;
  std::size_t active = 0;
  std::size_t stale = 0;
  for (const auto& n : model.nodes()) (n.status == nexus::NodeStatus::active ? active : stale)++;
  const auto counters = model.counters();
  std::optional<nexus::ReplicationStatus> rs;
  if (replicator != nullptr) rs = replicator->status();

  std::lock_guard lock(mutex_);
  // Pools that are gone leave no stale series behind.
  for (auto it = pools_seen_.begin(); it != pools_seen_.end();) {
    if (per_pool.count(*it) == 0) {
      allocations_.Remove(&allocations_.Add({{"pool", *it}}));
      pool_usable_.Remove(&pool_usable_.Add({{"pool", *it}}));
      pool_utilisation_.Remove(&pool_utilisation_.Add({{"pool", *it}}));
      it = pools_seen_.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& [id, n] : per_pool) {
    pools_seen_.insert(id);
    allocations_.Add({{"pool", id}}).Set(static_cast<double>(n));
    const auto u = usage[id];
    pool_usable_.Add({{"pool", id}}).Set(u.usable);
    pool_utilisation_.Add({{"pool", id}}).Set(u.utilisation());
  }
  nodes_.Add({{"status", "active"}}).Set(static_cast<double>(active));
  nodes_.Add({{"status", "stale"}}).Set(static_cast<double>(stale));
  ready_.Add({}).Set(ready ? 1 : 0);
  ops::sync_counter(conflicts_.Add({{"kind", "address"}}), static_cast<double>(counters.repaired));
  ops::sync_counter(conflicts_.Add({{"kind", "superseded"}}),
                    static_cast<double>(counters.superseded));
  ops::sync_counter(merged_.Add({}), static_cast<double>(counters.merged));
  if (!rs) return;

  std::set<std::pair<std::string, std::string>> now;
  std::size_t connected = 0;
  for (const auto& p : rs->peers) {
    const prometheus::Labels labels{{"peer", p.address}, {"replica", p.replica_id}};
    now.emplace(p.address, p.replica_id);
    connected += p.connected ? 1 : 0;
    peer_up_.Add(labels).Set(p.connected ? 1 : 0);
    lag_.Add(labels).Set(p.lag_seconds);
    last_sync_.Add(labels).Set(static_cast<double>(p.last_sync_ms) / 1000.0);
  }
  for (const auto& [addr, id] : peers_seen_) {
    if (now.count({addr, id}) != 0) continue;
    const prometheus::Labels labels{{"peer", addr}, {"replica", id}};
    peer_up_.Remove(&peer_up_.Add(labels));
    lag_.Remove(&lag_.Add(labels));
    last_sync_.Remove(&last_sync_.Add(labels));
  }
  peers_seen_ = std::move(now);
  peers_.Add({{"state", "connected"}}).Set(static_cast<double>(connected));
  peers_.Add({{"state", "disconnected"}}).Set(static_cast<double>(rs->peers.size() - connected));
  const auto& s = rs->stats;
  ops::sync_counter(repl_frames_.Add({{"direction", "sent"}}), static_cast<double>(s.frames_sent));
  ops::sync_counter(repl_frames_.Add({{"direction", "received"}}),
                    static_cast<double>(s.frames_received));
  ops::sync_counter(repl_bytes_.Add({{"direction", "sent"}}), static_cast<double>(s.bytes_sent));
  ops::sync_counter(repl_bytes_.Add({{"direction", "received"}}),
                    static_cast<double>(s.bytes_received));
  ops::sync_counter(repl_entries_.Add({}), static_cast<double>(s.entries_sent));
  ops::sync_counter(repl_rounds_.Add({}), static_cast<double>(s.anti_entropy_rounds));
  ops::sync_counter(repl_failures_.Add({{"reason", "handshake"}}),
                    static_cast<double>(s.handshake_failures));
  ops::sync_counter(repl_failures_.Add({{"reason", "protocol"}}),
                    static_cast<double>(s.protocol_errors));
  ops::sync_counter(repl_failures_.Add({{"reason", "inbound_limit"}}),
                    static_cast<double>(s.connections_refused));
}

}  // namespace bngkit::nexusd
