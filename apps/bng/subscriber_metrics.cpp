#include "subscriber_metrics.hpp"

#include <bngkit/ops/metrics.hpp>

namespace bngkit::bngd {

namespace {
using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

void sync(prometheus::Counter& c, std::uint64_t total) { ops::sync_counter(c, static_cast<double>(total)); }
}  // namespace

SubscriberMetrics::SubscriberMetrics(prometheus::Registry& r)
    : sessions_(BuildGauge().Name("bng_sessions").Help("Subscriber sessions, by state").Register(r)),
      access_(BuildCounter().Name("bng_radius_access_total")
                  .Help("Authorisations decided, by result (accept, reject, failure: no server answered)").Register(r)),
      accounting_(BuildCounter().Name("bng_radius_accounting_records_total")
                      .Help("Accounting records: sent (acknowledged), failed (an attempt every server failed; "
                            "kept queued), dropped (queue full)").Register(r)),
      accounting_queue_(BuildGauge().Name("bng_radius_accounting_queue")
                            .Help("Accounting records not yet acknowledged (on disk)").Register(r)),
      session_ends_(BuildCounter().Name("bng_session_ends_total")
                        .Help("Sessions ended by the BNG, by cause (session_timeout, idle_timeout, admin)").Register(r)),
      session_errors_(BuildCounter().Name("bng_session_errors_total")
                          .Help("Session upkeep failures, by kind (traffic: kernel counters/rates, store)").Register(r)),
      dae_requests_(BuildCounter().Name("bng_radius_dae_requests_total")
                        .Help("Authenticated Dynamic Authorization requests, by type").Register(r)),
      dae_replies_(BuildCounter().Name("bng_radius_dae_replies_total")
                       .Help("Dynamic Authorization replies, by result (ack, nak)").Register(r)),
      dae_dropped_(BuildCounter().Name("bng_radius_dae_dropped_total")
                       .Help("Dynamic Authorization requests dropped, by reason").Register(r)),
      radius_requests_(BuildCounter().Name("bng_radius_requests_total")
                           .Help("RADIUS requests first sent, by server and service (auth, acct)").Register(r)),
      radius_retransmits_(BuildCounter().Name("bng_radius_retransmits_total")
                              .Help("RADIUS retransmissions, by server and service").Register(r)),
      radius_responses_(BuildCounter().Name("bng_radius_responses_total")
                            .Help("Verified RADIUS replies, by server and service").Register(r)),
      radius_timeouts_(BuildCounter().Name("bng_radius_timeouts_total")
                           .Help("Requests that exhausted their retries on a server, by server and service").Register(r)),
      radius_bad_(BuildCounter().Name("bng_radius_bad_responses_total")
                      .Help("Replies dropped (malformed, wrong authenticator or source), by server and service")
                      .Register(r)),
      radius_up_(BuildGauge().Name("bng_radius_server_up")
                     .Help("1 while a RADIUS server is not in its dead-time hold-down").Register(r)),
      radius_latency_(BuildHistogram().Name("bng_radius_request_duration_seconds")
                          .Help("RADIUS request to verified reply, by server and service").Register(r)),
      radius_failed_(BuildCounter().Name("bng_radius_failed_requests_total")
                         .Help("Requests every RADIUS server gave up on").Register(r)),
      admission_held_(BuildGauge().Name("bng_dhcp_admission_held")
                          .Help("DHCP requests held while their subscriber is being authorised").Register(r)),
      admission_(BuildCounter().Name("bng_dhcp_admission_total")
                     .Help("DHCP requests not served at once, by result (pending, rejected, overflow)").Register(r)),
      traffic_attached_(BuildGauge().Name("bng_subscriber_traffic_attached")
                            .Help("1 while the per-subscriber counter/rate program is attached").Register(r)),
      traffic_entries_(BuildGauge().Name("bng_subscriber_traffic_entries")
                           .Help("Subscribers counted and rate-limited in the kernel").Register(r)),
      traffic_capacity_(BuildGauge().Name("bng_subscriber_traffic_capacity")
                            .Help("Capacity of the kernel's per-subscriber map").Register(r)),
      traffic_unknown_(BuildCounter().Name("bng_subscriber_traffic_unknown_packets_total")
                           .Help("Packets of addresses without a session, by direction").Register(r)) {}

void SubscriberMetrics::update(const SubscribersStatus& s, const bng::GatewayStatus& g) {
  std::lock_guard lock(mutex_);
  const auto& st = s.sessions;
  sessions_.Add({{"state", "authorizing"}}).Set(static_cast<double>(st.authorizing));
  sessions_.Add({{"state", "authorized"}}).Set(static_cast<double>(st.authorized));
  sessions_.Add({{"state", "active"}}).Set(static_cast<double>(st.active));
  sessions_.Add({{"state", "rejected"}}).Set(static_cast<double>(st.rejected));
  sync(access_.Add({{"result", "accept"}}), st.access_accepts);
  sync(access_.Add({{"result", "reject"}}), st.access_rejects);
  sync(access_.Add({{"result", "failure"}}), st.access_failures);
  sync(accounting_.Add({{"result", "sent"}}), st.accounting_sent);
  sync(accounting_.Add({{"result", "failed"}}), st.accounting_failures);
  sync(accounting_.Add({{"result", "dropped"}}), st.accounting_dropped);
  accounting_queue_.Add({}).Set(static_cast<double>(st.accounting_queued));
  sync(session_ends_.Add({{"cause", "session_timeout"}}), st.ended_session_timeout);
  sync(session_ends_.Add({{"cause", "idle_timeout"}}), st.ended_idle_timeout);
  sync(session_ends_.Add({{"cause", "admin"}}), st.ended_admin);
  sync(session_errors_.Add({{"kind", "traffic"}}), st.traffic_errors);
  sync(session_errors_.Add({{"kind", "store"}}), st.store_errors);
  sync(admission_.Add({{"result", "session_table_full"}}), st.refused_full);

  admission_held_.Add({}).Set(static_cast<double>(g.admission_held));
  sync(admission_.Add({{"result", "pending"}}), g.slow_path.admission_pending);
  sync(admission_.Add({{"result", "rejected"}}), g.slow_path.admission_rejected);
  sync(admission_.Add({{"result", "overflow"}}), g.admission_overflows);

  if (s.dae) {
    const auto& d = *s.dae;
    sync(dae_requests_.Add({{"type", "disconnect"}}), d.disconnect_requests);
    sync(dae_requests_.Add({{"type", "coa"}}), d.coa_requests);
    sync(dae_replies_.Add({{"result", "ack"}}), d.acks);
    sync(dae_replies_.Add({{"result", "nak"}}), d.naks);
    sync(dae_dropped_.Add({{"reason", "unknown_client"}}), d.dropped_unknown_client);
    sync(dae_dropped_.Add({{"reason", "malformed"}}), d.dropped_malformed);
    sync(dae_dropped_.Add({{"reason", "bad_authenticator"}}), d.dropped_bad_authenticator);
    sync(dae_dropped_.Add({{"reason", "unsupported_code"}}), d.dropped_unsupported_code);
    sync(dae_dropped_.Add({{"reason", "duplicate"}}), d.duplicates);
    sync(dae_dropped_.Add({{"reason", "cache_full"}}), d.dropped_cache_full);
  }
  if (s.radius) update_radius(*s.radius);
  if (s.traffic) {
    const auto& t = *s.traffic;
    traffic_attached_.Add({}).Set(t.attached ? 1 : 0);
    traffic_entries_.Add({}).Set(static_cast<double>(t.entries));
    traffic_capacity_.Add({}).Set(static_cast<double>(t.capacity));
    sync(traffic_unknown_.Add({{"direction", "up"}}), t.unknown_packets_up);
    sync(traffic_unknown_.Add({{"direction", "down"}}), t.unknown_packets_down);
  }
}

void SubscriberMetrics::update_radius(const bng::radius::ClientStats& c) {
  sync(radius_failed_.Add({}), c.failed);
  const std::vector<double> bounds(bng::radius::LatencyHistogram::kBounds.begin(),
                                   bng::radius::LatencyHistogram::kBounds.end());
  for (const auto& [service, servers] : {std::pair{"auth", &c.auth}, std::pair{"acct", &c.acct}}) {
    for (const auto& s : *servers) {
      const std::map<std::string, std::string> labels{{"server", s.name}, {"service", service}};
      sync(radius_requests_.Add(labels), s.requests);
      sync(radius_retransmits_.Add(labels), s.retransmits);
      sync(radius_responses_.Add(labels), s.responses);
      sync(radius_timeouts_.Add(labels), s.timeouts);
      sync(radius_bad_.Add(labels), s.bad_responses + s.unmatched_responses);
      radius_up_.Add(labels).Set(s.alive ? 1 : 0);
      auto& seen = seen_latency_[std::string(service) + "/" + s.name];
      std::vector<double> added(s.latency.counts.size());
      bool any = false;
      for (std::size_t i = 0; i < added.size(); ++i) {
        added[i] = static_cast<double>(s.latency.counts[i] - seen.counts[i]);
        any = any || added[i] > 0;
      }
      auto& histogram = radius_latency_.Add(labels, bounds);
      if (any) histogram.ObserveMultiple(added, s.latency.sum_seconds - seen.sum_seconds);
      seen = s.latency;
    }
  }
}

}  // namespace bngkit::bngd
