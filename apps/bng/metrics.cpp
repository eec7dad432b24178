// bng metrics: names and labels, and the mirroring of Gateway state into them.
#include "metrics.hpp"

#include <bngkit/ops/metrics.hpp>

namespace bngkit::bngd {

namespace {
using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

const char* type_label(std::optional<bng::dhcp::MessageType> t) {
  if (!t) return "none";
  switch (*t) {
    case bng::dhcp::MessageType::discover: return "discover";
    case bng::dhcp::MessageType::offer: return "offer";
    case bng::dhcp::MessageType::request: return "request";
    case bng::dhcp::MessageType::decline: return "decline";
    case bng::dhcp::MessageType::ack: return "ack";
    case bng::dhcp::MessageType::nak: return "nak";
    case bng::dhcp::MessageType::release: return "release";
    case bng::dhcp::MessageType::inform: return "inform";
    default: return "other";
  }
}
}  // namespace

Metrics::Metrics(prometheus::Registry& r)
    : fast_requests_(BuildCounter().Name("bng_dhcp_fastpath_requests_total")
                         .Help("DHCP requests seen by the XDP fast path").Register(r)),
      fast_replies_(BuildCounter().Name("bng_dhcp_fastpath_replies_total")
                        .Help("Replies built in the kernel (hits), by type").Register(r)),
      fast_passed_(BuildCounter().Name("bng_dhcp_fastpath_passed_total")
                       .Help("Requests passed to the slow path (misses), by reason").Register(r)),
      slow_requests_(BuildCounter().Name("bng_dhcp_slowpath_requests_total")
                         .Help("DHCP requests handled in userspace, by message type").Register(r)),
      slow_replies_(BuildCounter().Name("bng_dhcp_slowpath_replies_total")
                        .Help("Replies sent by the slow path, by type").Register(r)),
      slow_drops_(BuildCounter().Name("bng_dhcp_slowpath_dropped_total")
                      .Help("Requests the slow path did not answer, by reason").Register(r)),
      latency_(BuildHistogram().Name("bng_dhcp_request_duration_seconds")
                   .Help("Slow-path time from receiving a request to sending the reply").Register(r)),
      leases_(BuildGauge().Name("bng_dhcp_leases").Help("Leases in memory, by state").Register(r)),
      pool_addresses_(BuildGauge().Name("bng_pool_addresses").Help("Addresses per pool, by state").Register(r)),
      pool_utilisation_(BuildGauge().Name("bng_pool_utilisation_ratio")
                            .Help("Share of a pool not available to a new subscriber").Register(r)),
      reloads_(BuildCounter().Name("bng_config_reloads_total")
                   .Help("SIGHUP reloads, by result (applied, rejected)").Register(r)),
      draining_(BuildGauge().Name("bng_draining")
                    .Help("1 while the node takes no new subscribers (POST /admin/drain)").Register(r)),
      fast_attached_(BuildGauge().Name("bng_fastpath_attached")
                         .Help("1 while the XDP fast path is attached to the subscriber interface").Register(r)),
      renewals_served_(BuildCounter().Name("bng_dhcp_fastpath_renewals_served_total")
                           .Help("Kernel ACKs of bound leases, applied from the ring buffer").Register(r)),
      renewals_recorded_(BuildCounter().Name("bng_dhcp_fastpath_renewals_recorded_total")
                             .Help("Kernel ACKs that extended the lease on disk (the rest were within T1)").Register(r)),
      event_errors_(BuildCounter().Name("bng_dhcp_fastpath_event_errors_total")
                        .Help("Ring buffer events of kernel-served leases that could not be applied").Register(r)),
      cache_errors_(BuildCounter().Name("bng_fastpath_cache_errors_total")
                        .Help("Bound leases the kernel cache refused (served by the slow path)").Register(r)),
      bgp_frr_up_(BuildGauge().Name("bng_bgp_frr_up")
                      .Help("1 while FRR bgpd answered the last reconcile through vtysh").Register(r)),
      bgp_peers_(BuildGauge().Name("bng_bgp_peers").Help("BGP neighbours by session state, as FRR reports them").Register(r)),
      bgp_announced_(BuildGauge().Name("bng_bgp_announced_prefixes")
                         .Help("Prefixes FRR holds as network statements (read back at the last reconcile)").Register(r)),
      bgp_desired_(BuildGauge().Name("bng_bgp_desired_prefixes")
                       .Help("Prefixes the BNG wants announced now (0 while draining)").Register(r)),
      bgp_reconciles_(BuildCounter().Name("bng_bgp_reconciles_total")
                          .Help("Reconcile rounds against FRR").Register(r)),
      bgp_reconcile_errors_(BuildCounter().Name("bng_bgp_reconcile_errors_total")
                                .Help("Reconcile rounds that failed (FRR unreachable, command refused)").Register(r)) {}

void Metrics::observe(const bng::RequestRecord& record) {
  std::lock_guard lock(mutex_);
  latency_.Add({}, ops::latency_buckets_seconds())
      .Observe(std::chrono::duration<double>(record.latency).count());
  if (!record.reply) {
    const bool silent_by_rfc = record.drop_reason.empty();  // RELEASE, DECLINE: no reply due
    slow_drops_.Add({{"reason", silent_by_rfc ? "no_reply_due" : record.type ? "refused" : "malformed"}}).Increment();
  }
}

void Metrics::update(const bng::GatewayStatus& s) {
  std::lock_guard lock(mutex_);
  fast_attached_.Add({}).Set(s.fast_path_attached ? 1 : 0);
  draining_.Add({}).Set(s.draining ? 1 : 0);
  if (s.fast_path) {
    const auto& f = *s.fast_path;
    ops::sync_counter(fast_requests_.Add({}), static_cast<double>(f.rx_requests));
    ops::sync_counter(fast_replies_.Add({{"type", "offer"}}), static_cast<double>(f.tx_offer));
    ops::sync_counter(fast_replies_.Add({{"type", "ack"}}), static_cast<double>(f.tx_ack));
    const std::pair<const char*, std::uint64_t> passed[] = {
        {"disabled", f.pass_disabled},       {"malformed", f.pass_malformed},
        {"unsupported", f.pass_unsupported}, {"not_for_us", f.pass_not_for_us},
        {"other_server", f.pass_other_server}, {"no_entry", f.pass_no_entry},
        {"expired", f.pass_expired},         {"policy", f.pass_policy},
        {"mismatch", f.pass_mismatch},       {"too_big", f.pass_too_big},
        {"no_room", f.pass_no_room},         {"event_full", f.pass_event_full}};
    for (const auto& [reason, n] : passed) {
      ops::sync_counter(fast_passed_.Add({{"reason", reason}}), static_cast<double>(n));
    }
  }
  ops::sync_counter(renewals_served_.Add({}), static_cast<double>(s.fast_path_renewals_served));
  ops::sync_counter(renewals_recorded_.Add({}), static_cast<double>(s.fast_path_renewals_recorded));
  ops::sync_counter(event_errors_.Add({}), static_cast<double>(s.fast_path_event_errors));
  ops::sync_counter(cache_errors_.Add({}), static_cast<double>(s.fast_path_cache_errors));
  for (std::size_t t = 1; t < std::size(s.slow_path.requests); ++t) {
    if (s.slow_path.requests[t] == 0) continue;
    const auto type = type_label(static_cast<bng::dhcp::MessageType>(t));
    ops::sync_counter(slow_requests_.Add({{"type", type}}), static_cast<double>(s.slow_path.requests[t]));
  }
  ops::sync_counter(slow_replies_.Add({{"type", "offer"}}), static_cast<double>(s.slow_path.offers));
  ops::sync_counter(slow_replies_.Add({{"type", "ack"}}), static_cast<double>(s.slow_path.acks));
  ops::sync_counter(slow_replies_.Add({{"type", "nak"}}), static_cast<double>(s.slow_path.naks));
  leases_.Add({{"state", "offered"}}).Set(static_cast<double>(s.leases_offered));
  leases_.Add({{"state", "bound"}}).Set(static_cast<double>(s.leases_bound));
  leases_.Add({{"state", "declined"}}).Set(static_cast<double>(s.leases_declined));
  for (const auto& p : s.pools) {
    pool_addresses_.Add({{"pool", p.pool_id}, {"state", "total"}}).Set(static_cast<double>(p.total));
    pool_addresses_.Add({{"pool", p.pool_id}, {"state", "assigned"}}).Set(static_cast<double>(p.assigned));
    pool_addresses_.Add({{"pool", p.pool_id}, {"state", "declined"}}).Set(static_cast<double>(p.declined));
    pool_addresses_.Add({{"pool", p.pool_id}, {"state", "free"}}).Set(static_cast<double>(p.free));
    pool_utilisation_.Add({{"pool", p.pool_id}}).Set(p.used_ratio());
  }
}

void Metrics::update_bgp(const bng::bgp::AnnouncerStatus& s) {
  // The FSM states FRR names; every one is set each time so a peer that moves on leaves 0.
  static constexpr const char* kStates[] = {"Idle", "Connect", "Active", "OpenSent", "OpenConfirm", "Established"};
  std::map<std::string, double> by_state;
  for (const char* state : kStates) by_state[state] = 0;
  for (const auto& p : s.peers) {
    auto it = by_state.find(p.state);
    if (it != by_state.end()) ++it->second;
    else ++by_state["other"];
  }
  std::lock_guard lock(mutex_);
  bgp_frr_up_.Add({}).Set(s.frr_up ? 1 : 0);
  for (const auto& [state, n] : by_state) bgp_peers_.Add({{"state", state}}).Set(n);
  bgp_announced_.Add({}).Set(static_cast<double>(s.announced_prefixes));
  bgp_desired_.Add({}).Set(static_cast<double>(s.desired_prefixes));
  ops::sync_counter(bgp_reconciles_.Add({}), static_cast<double>(s.reconciles));
  ops::sync_counter(bgp_reconcile_errors_.Add({}), static_cast<double>(s.reconcile_failures));
}

void Metrics::reloaded(bool applied) {
  std::lock_guard lock(mutex_);
  reloads_.Add({{"result", applied ? "applied" : "rejected"}}).Increment();
}

}  // namespace bngkit::bngd
