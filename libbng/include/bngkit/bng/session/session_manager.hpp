// SessionManager: one session per subscriber, from authorisation to the end of its lease.
//   - Admission: the DHCP server asks before giving a subscriber an address; an unknown
//     subscriber is authorised (RADIUS Access-Request, or locally without RADIUS) while its
//     request waits; Access-Accept attributes steer the allocation (Framed-IP-Address,
//     Framed-Pool) and the session (timeouts, rate, Class); Access-Reject gets no address.
//   - Accounting: Start when the lease is bound, Interim-Update at the configured or
//     server-given interval, Stop with the Acct-Terminate-Cause of how it ended, with octet
//     and packet counters read from the kernel (TrafficControl). Records go through a
//     durable, bounded queue: a server that is down delays them, a restart does not lose them.
//     Delivery is at least once: a record leaves the queue when its acknowledgement is on
//     disk, so one the server logged just before a crash is sent again after the restart
//     (the same record, Acct-Delay-Time set); a restored session gets no new Start.
//   - Control: idle and absolute timeouts, operator disconnect, RFC 5176 Disconnect and CoA.
//   - Persistence: authorised and active sessions are on disk and restored at start.
// Runs on one Asio io_context; call every member on its thread.
#pragma once

#include <bngkit/bng/export.hpp>
#include <bngkit/bng/lease/lease.hpp>
#include <bngkit/bng/pool/allocator.hpp>
#include <bngkit/bng/radius/client.hpp>
#include <bngkit/bng/radius/packet.hpp>
#include <bngkit/bng/session/radius_aaa.hpp>
#include <bngkit/bng/session/session.hpp>
#include <bngkit/bng/slowpath/dhcp_server.hpp>
#include <bngkit/common/result.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace bngkit::bng::session {

struct SessionOptions {
  std::filesystem::path database;         ///< sessions and the accounting queue (SQLite)
  AaaOptions aaa;
  bool authorize = false;                 ///< ask RADIUS; false: every subscriber is authorised
  bool accounting = false;                ///< send RADIUS accounting
  std::chrono::seconds interim_interval{300};   ///< when the server gives none; 0: no Interim
  std::chrono::seconds reject_hold_down{30};    ///< a rejected subscriber is not asked about again sooner
  std::chrono::seconds unavailable_hold_down{5};  ///< ... nor one no RADIUS server answered for
  std::size_t accounting_queue_limit = 100000;  ///< records kept while servers are down
  std::size_t accounting_in_flight = 64;
  std::chrono::seconds accounting_retry{10};    ///< after every server failed a record
  std::chrono::milliseconds tick{1000};         ///< timeouts and interims are checked this often
  /// Every session's kernel counters are read this often (one dump of the map, whose cost
  /// grows with the subscribers); a session due an Interim or about to end idle is read
  /// at that moment.
  std::chrono::seconds counters_interval{10};
  /// Bounds on what unknown subscribers (a DISCOVER flood of random MACs) can make us hold:
  /// Access-Requests in flight, and rejected subscribers remembered for their hold-down.
  std::size_t max_authorizing = 4096;
  std::size_t max_rejected = 65536;
  /// Sessions kept at once. A DISCOVER from any MAC makes one (held up to 5 minutes without
  /// a lease), so a flood of made-up MACs would grow the table and its store without end:
  /// a new subscriber beyond this is rejected and counted (SessionStats::refused_full).
  std::size_t max_sessions = 1'000'000;
  pool::WallClock clock;                        ///< empty: the system clock (tests inject one)
};

/// Sends a RADIUS request and calls back with the verified reply or why there is none
/// (radius::Client::send fits).
using RadiusSend =
    std::function<void(radius::Packet request, std::function<void(Result<radius::Packet>)> done)>;

/// What the manager drives.
struct SessionHooks {
  RadiusSend authenticate;   ///< Access-Requests (needed with SessionOptions::authorize)
  RadiusSend account;        ///< Accounting-Requests (needed with SessionOptions::accounting)
  TrafficControl* traffic = nullptr;  ///< counters and rates; nullptr: none
  /// Ends the lease on an address (Gateway::disconnect); its end comes back as lease_ended().
  std::function<Result<void>(dhcp::Ipv4)> end_lease;
  /// A waiting subscriber's authorisation is decided: replay its request (Gateway::readmit).
  std::function<void(const pool::SubscriberKey&)> admission_decided;
};

struct SessionStats {
  std::size_t authorizing = 0, authorized = 0, active = 0, rejected = 0;
  std::uint64_t access_accepts = 0, access_rejects = 0, access_failures = 0;  ///< failures: no server answered
  std::uint64_t authorization_overflows = 0;  ///< subscribers refused: max_authorizing in flight
  std::uint64_t accounting_sent = 0;      ///< records a server acknowledged
  std::uint64_t accounting_failures = 0;  ///< attempts every server failed (the record stays queued)
  std::uint64_t accounting_dropped = 0;   ///< records dropped because the queue was full
  std::size_t accounting_queued = 0;      ///< records not yet acknowledged
  std::uint64_t ended_session_timeout = 0, ended_idle_timeout = 0, ended_admin = 0;
  std::uint64_t dae_disconnects = 0, dae_coas = 0, dae_naks = 0;
  std::uint64_t traffic_errors = 0;       ///< TrafficControl calls that failed
  std::uint64_t store_errors = 0;         ///< session store writes that failed
  std::uint64_t refused_full = 0;         ///< new subscribers rejected: max_sessions were kept
};

/// The answer to a Disconnect-Request or CoA-Request.
struct DaeAnswer {
  bool ack = false;
  radius::ErrorCause cause = radius::ErrorCause::kSessionContextNotFound;  ///< when !ack
  std::string reason;
};

/// What start() found on disk and did with it (the daemon logs it: after a crash the
/// operator learns what was carried over and what accounting was still owed).
struct RestoreSummary {
  std::size_t restored_active = 0;     ///< active sessions carried over: no new Start
  std::size_t ended_while_down = 0;    ///< stored active sessions whose lease was gone: Stop (Lost-Carrier)
  std::size_t started = 0;             ///< bound leases without an active session: authorised or started now
  std::size_t accounting_resumed = 0;  ///< accounting records queued before the restart, sent again
  bool accounting_on = false;          ///< nothing carried over: Accounting-On queued
};

class BNGKIT_BNG_EXPORT SessionManager {
 public:
  /// Opens the session store. Nothing is sent until start().
  [[nodiscard]] static Result<std::unique_ptr<SessionManager>> create(boost::asio::io_context& io,
                                                                      SessionOptions options, SessionHooks hooks);
  ~SessionManager();
  SessionManager(const SessionManager&) = delete;
  SessionManager& operator=(const SessionManager&) = delete;

  /// Restores stored sessions against the leases that are bound now (a session whose lease
  /// is gone is stopped in accounting), re-applies their rates, sends Accounting-On when no
  /// session was restored (a NAS that starts afresh), resends queued accounting, and starts
  /// the timers. Says what it restored.
  [[nodiscard]] Result<RestoreSummary> start(const std::vector<lease::Lease>& bound_leases);
  /// Stops timers; sends Accounting-Off when no session is active (sessions that stay
  /// active across a restart are not ended by a restart).
  void stop();
  /// No accounting record is in flight (a stopping daemon waits for this, briefly).
  [[nodiscard]] bool accounting_idle() const;

  /// The DHCP server's admission hook (slowpath::DhcpServer::set_admission).
  [[nodiscard]] slowpath::Admission admit(const slowpath::AdmissionRequest& request);
  /// Lease events (slowpath::LeaseEvents).
  void lease_bound(const lease::Lease& lease);
  void lease_ended(const lease::Lease& lease, slowpath::EndReason reason);

  /// Every session, its counters read from the kernel now (one dump of the map).
  [[nodiscard]] std::vector<Session> sessions() const;
  /// One session, its counters read from the kernel now.
  [[nodiscard]] std::optional<Session> find(std::string_view id) const;
  /// Ends a session and its lease, accounted with `cause`. Fails when there is no such session.
  [[nodiscard]] Result<Session> disconnect(std::string_view id,
                                           radius::AcctTerminateCause cause = radius::AcctTerminateCause::kAdminReset);
  /// An authenticated Disconnect-Request or CoA-Request (radius::DaeServer checked it).
  [[nodiscard]] DaeAnswer handle_dae(const radius::Packet& request);

  /// New interim interval, hold-downs, username source, rate profiles (a config reload).
  void update_options(const SessionOptions& options);
  [[nodiscard]] SessionStats stats() const;

 private:
  struct Impl;
  explicit SessionManager(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// Wiring: Access- and Accounting-Requests through a radius::Client (the cleartext
/// User-Password an Access-Request carries is handed to the client to hide per server).
[[nodiscard]] BNGKIT_BNG_EXPORT RadiusSend send_through(radius::Client& client);

/// Wiring: the kernel's per-subscriber counters and rates as the sessions' TrafficControl.
class BNGKIT_BNG_EXPORT KernelTraffic final : public TrafficControl {
 public:
  explicit KernelTraffic(fastpath::SubscriberTraffic& traffic) : traffic_(traffic) {}
  [[nodiscard]] Result<void> apply(dhcp::Ipv4 address, const RatePolicy& rate) override;
  [[nodiscard]] Result<TrafficCounters> read(dhcp::Ipv4 address) override;
  /// One batched dump of the kernel's counter map for all of them.
  [[nodiscard]] std::vector<Result<TrafficCounters>> read_many(
      std::span<const dhcp::Ipv4> addresses) override;
  [[nodiscard]] Result<TrafficCounters> remove(dhcp::Ipv4 address) override;

 private:
  fastpath::SubscriberTraffic& traffic_;
};

}  // namespace bngkit::bng::session
