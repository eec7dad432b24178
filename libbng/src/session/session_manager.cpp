#include "session_store.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <bngkit/bng/session/session_manager.hpp>

#include <cstdio>
#include <deque>
#include <map>
#include <random>
#include <unordered_map>

namespace bngkit::bng::session {

namespace asio = boost::asio;
using radius::AcctStatusType;
using radius::AcctTerminateCause;
using std::chrono::sys_seconds;

TrafficControl::~TrafficControl() = default;

std::vector<Result<TrafficCounters>> TrafficControl::read_many(std::span<const dhcp::Ipv4> addresses) {
  std::vector<Result<TrafficCounters>> out;
  out.reserve(addresses.size());
  for (const auto a : addresses) out.push_back(read(a));
  return out;
}

std::string_view to_string(State state) noexcept {
  switch (state) {
    case State::authorizing: return "authorizing";
    case State::authorized: return "authorized";
    case State::active: return "active";
    case State::rejected: return "rejected";
  }
  return "unknown";
}

namespace {

// An authorised subscriber that never binds its lease is asked about again after this.
constexpr std::chrono::minutes kAuthorizedWithoutLease{5};

AcctTerminateCause cause_of(slowpath::EndReason reason) {
  switch (reason) {
    case slowpath::EndReason::released: return AcctTerminateCause::kUserRequest;
    case slowpath::EndReason::declined: return AcctTerminateCause::kLostService;
    case slowpath::EndReason::expired: return AcctTerminateCause::kLostCarrier;
    case slowpath::EndReason::disconnected: return AcctTerminateCause::kAdminReset;
  }
  return AcctTerminateCause::kNasRequest;
}

struct PendingRecord {
  QueuedRecord record;
  bool in_flight = false;
  sys_seconds retry_at{};  // not before (after a failed attempt)
};

}  // namespace

struct SessionManager::Impl {
  asio::io_context& io;
  SessionOptions options;
  SessionHooks hooks;
  SessionStore store;
  asio::steady_timer timer;
  sys_seconds counters_read_at{};  // the last read of every session's counters
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);  // callbacks check it
  bool running = false;

  std::map<std::string, Session, std::less<>> sessions;           // by id
  std::map<pool::SubscriberKey, std::string> by_subscriber;
  std::map<std::string, AcctTerminateCause, std::less<>> end_cause;  // disconnects under way
  std::deque<PendingRecord> queue;  // accounting, oldest first (mirrors the store)
  std::size_t in_flight = 0;
  std::size_t authorizing = 0;  // sessions in State::authorizing
  std::size_t rejected = 0;     // ... in State::rejected
  SessionStats stats;
  std::uint64_t next_id;

  Impl(asio::io_context& ctx, SessionOptions o, SessionHooks h)
      : io(ctx), options(std::move(o)), hooks(std::move(h)), timer(ctx) {
    // Session ids: a random start per process, then a counter: unique per NAS across restarts.
    std::random_device rd;
    next_id = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  }
  ~Impl() {
    *alive = false;
    if (store.in_batch()) (void)store.end_batch();  // what this turn wrote is kept
  }

  sys_seconds wall_now() const { return options.clock ? options.clock() : pool::system_now(); }

  std::string new_id() {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(next_id++));
    return buf;
  }

  // Runs `f` later on the io thread, unless the manager is gone by then.
  template <typename F>
  void later(F&& f) {
    asio::post(io, [weak = std::weak_ptr<bool>(alive), f = std::forward<F>(f)]() mutable {
      if (auto a = weak.lock(); a && *a) f();
    });
  }

  // Group commit: the writes of one io turn (a gateway round binds many leases at once)
  // share a transaction committed by a posted flush, so a burst costs one fsync, not one
  // per subscriber. Accounting sends are posted after the flush, so no record leaves
  // before it is on disk. A crash in between loses at most that turn's session rows: a
  // bound lease without a session is authorised and started again at the next start.
  void batch() {
    if (store.in_batch()) return;
    if (auto r = store.begin_batch(); !r) {
      ++stats.store_errors;  // the writes commit one by one instead
      return;
    }
    asio::post(io, [weak = std::weak_ptr<bool>(alive), this] {
      if (auto a = weak.lock(); !a || !*a) return;
      if (auto r = store.end_batch(); !r) ++stats.store_errors;
    });
  }

  void persist(const Session& s) {
    batch();
    if (auto r = store.save(s); !r) ++stats.store_errors;
  }
  void forget(const std::string& id) {
    auto it = sessions.find(id);
    if (it == sessions.end()) return;
    if (it->second.state == State::authorizing) --authorizing;
    if (it->second.state == State::rejected) --rejected;
    by_subscriber.erase(it->second.subscriber);
    if (it->second.state == State::authorized || it->second.state == State::active) {
      batch();
      if (auto r = store.erase(id); !r) ++stats.store_errors;
    }
    sessions.erase(it);
  }

  static slowpath::Admission accept(const Session& s) {
    slowpath::Admission a;
    a.pool_id = s.authorization.framed_pool;
    a.address = s.authorization.framed_address;
    return a;
  }

  Session& add(Session s) {
    by_subscriber[s.subscriber] = s.id;
    auto id = s.id;
    return sessions.insert_or_assign(id, std::move(s)).first->second;
  }

  // ---- Authorisation ----------------------------------------------------------------------

  void ask_radius(const std::string& id) {
    auto it = sessions.find(id);
    auto request = access_request(it->second, options.aaa);
    if (!request) {
      on_access_reply(id, request.error());
      return;
    }
    // Never from inside the caller's stack: the admission hook runs under the gateway's lock.
    later([this, id, packet = std::move(request).value()]() mutable {
      hooks.authenticate(std::move(packet), [this, id, weak = std::weak_ptr<bool>(alive)](Result<radius::Packet> r) {
        if (auto a = weak.lock(); a && *a) on_access_reply(id, std::move(r));
      });
    });
  }

  void on_access_reply(const std::string& id, Result<radius::Packet> reply) {
    auto it = sessions.find(id);
    if (it == sessions.end() || it->second.state != State::authorizing) return;
    Session& s = it->second;
    const auto now = wall_now();
    --authorizing;
    auto refuse = [&](std::chrono::seconds hold, std::string reason) {
      ++rejected;
      s.state = State::rejected;
      s.rejected_until = now + hold;
      s.reject_reason = std::move(reason);
    };
    if (!reply) {
      ++stats.access_failures;
      refuse(options.unavailable_hold_down, "no RADIUS answer: " + reply.error().message());
    } else if (reply->code == radius::Code::kAccessAccept) {
      if (auto auth = parse_accept(*reply, options.aaa); !auth) {
        ++stats.access_failures;
        refuse(options.unavailable_hold_down, "malformed Access-Accept: " + auth.error().message());
      } else {
        ++stats.access_accepts;
        s.authorization = std::move(auth).value();
        s.state = State::authorized;
        persist(s);
      }
    } else {
      ++stats.access_rejects;
      const auto* msg = reply->find(radius::attr::kReplyMessage);
      refuse(options.reject_hold_down, msg ? "Access-Reject: " + std::string(msg->text()) : "Access-Reject");
    }
    const auto subscriber = s.subscriber;
    if (s.address) {
      // Its lease was bound before it was authorised (restored, or sessions started later).
      if (s.state == State::authorized) {
        activate(s, now);
      } else if (hooks.end_lease) {
        const auto address = *s.address;
        s.address.reset();
        (void)hooks.end_lease(address);
      }
    }
    if (hooks.admission_decided) hooks.admission_decided(subscriber);
    // Too many remembered rejections (a flood of unknown subscribers): the replayed request
    // was refused above; forget this one rather than hold it down.
    if (rejected > options.max_rejected) {
      if (auto again = sessions.find(id); again != sessions.end() && again->second.state == State::rejected) forget(id);
    }
  }

  // ---- Activity and accounting ------------------------------------------------------------

  void activate(Session& s, sys_seconds now) {
    s.state = State::active;
    s.started = s.last_activity = s.last_interim = now;
    s.counters = {};
    if (hooks.traffic && s.address) {
      if (auto r = hooks.traffic->apply(*s.address, s.authorization.rate); !r) ++stats.traffic_errors;
    }
    persist(s);
    account(s, AcctStatusType::kStart, now);
  }

  void end_session(const std::string& id, AcctTerminateCause cause, sys_seconds now) {
    auto it = sessions.find(id);
    if (it == sessions.end()) return;
    Session& s = it->second;
    if (s.state == State::active) {
      if (hooks.traffic && s.address) {
        if (auto c = hooks.traffic->remove(*s.address)) {
          s.counters = *c;
        } else {
          ++stats.traffic_errors;
        }
      }
      account(s, AcctStatusType::kStop, now, cause);
    }
    forget(id);
  }

  void account(const Session& s, AcctStatusType type, sys_seconds now,
               std::optional<AcctTerminateCause> cause = std::nullopt) {
    if (!options.accounting) return;
    auto packet = accounting_request(s, type, now, options.aaa, cause);
    if (!packet) return;
    enqueue(static_cast<std::uint32_t>(type), now, *packet);
  }

  void enqueue(std::uint32_t status, sys_seconds now, const radius::Packet& packet) {
    auto bytes = packet.serialize();
    if (!bytes) return;
    batch();
    // Full: the oldest Interim-Update goes first (a later one or the Stop carries its
    // counters); with none to drop, the new record is lost and counted.
    if (queue.size() >= options.accounting_queue_limit) {
      const auto interim = static_cast<std::uint32_t>(AcctStatusType::kInterimUpdate);
      auto old = std::find_if(queue.begin(), queue.end(),
                              [&](const PendingRecord& p) { return !p.in_flight && p.record.status_type == interim; });
      ++stats.accounting_dropped;
      if (old == queue.end()) return;
      (void)store.dequeue(old->record.seq);
      queue.erase(old);
    }
    auto seq = store.enqueue(status, now, *bytes);
    if (!seq) {
      ++stats.store_errors;
      return;
    }
    queue.push_back({QueuedRecord{*seq, status, now, std::move(bytes).value()}, false, {}});
    pump();
  }

  void pump() {
    if (!hooks.account || !running) return;
    const auto now = wall_now();
    for (auto& p : queue) {
      if (in_flight >= options.accounting_in_flight) break;
      if (p.in_flight || p.retry_at > now) continue;
      auto packet = radius::Packet::parse(p.record.packet);
      if (!packet) {  // cannot happen for records we wrote; never retry it forever
        batch();
        (void)store.dequeue(p.record.seq);
        p.retry_at = sys_seconds::max();
        continue;
      }
      // RFC 2866 5.2: how long the record waited before this attempt.
      packet->erase(radius::attr::kAcctDelayTime);
      const auto waited = std::max<std::int64_t>(0, (now - p.record.created).count());
      packet->add_integer(radius::attr::kAcctDelayTime, static_cast<std::uint32_t>(waited));
      p.in_flight = true;
      ++in_flight;
      later([this, seq = p.record.seq, packet = std::move(packet).value()]() mutable {
        hooks.account(std::move(packet), [this, seq, weak = std::weak_ptr<bool>(alive)](Result<radius::Packet> r) {
          if (auto a = weak.lock(); a && *a) on_accounting_reply(seq, r && r->code == radius::Code::kAccountingResponse);
        });
      });
    }
  }

  void on_accounting_reply(std::int64_t seq, bool acknowledged) {
    auto it = std::find_if(queue.begin(), queue.end(), [&](const PendingRecord& p) { return p.record.seq == seq; });
    if (in_flight > 0) --in_flight;
    if (it != queue.end()) {
      if (acknowledged) {
        ++stats.accounting_sent;
        batch();
        if (auto r = store.dequeue(seq); !r) ++stats.store_errors;
        queue.erase(it);
      } else {
        ++stats.accounting_failures;
        it->in_flight = false;
        it->retry_at = wall_now() + options.accounting_retry;
      }
    }
    pump();
  }

  // ---- Timers -----------------------------------------------------------------------------

  // New counters for a session; packets that moved since the last read are activity (the
  // idle timeout).
  void take_counters(Session& s, const TrafficCounters& c, sys_seconds now) {
    if (c.packets_up != s.counters.packets_up || c.packets_down != s.counters.packets_down) {
      s.last_activity = now;
    }
    s.counters = c;
  }
  // One session's counters now (before an Interim, or ending it as idle).
  void read_counters(Session& s, sys_seconds now) {
    if (!hooks.traffic || !s.address) return;
    if (auto c = hooks.traffic->read(*s.address)) {
      take_counters(s, *c, now);
    } else {
      ++stats.traffic_errors;
    }
  }
  // Every active session's counters, in one read.
  void read_all_counters(sys_seconds now) {
    if (!hooks.traffic) return;
    std::vector<Session*> counted;
    std::vector<dhcp::Ipv4> addresses;
    for (auto& [id, s] : sessions) {
      if (s.state != State::active || !s.address) continue;
      counted.push_back(&s);
      addresses.push_back(*s.address);
    }
    if (counted.empty()) return;
    auto read = hooks.traffic->read_many(addresses);
    for (std::size_t i = 0; i < counted.size(); ++i) {
      if (i >= read.size() || !read[i]) {
        ++stats.traffic_errors;
        continue;
      }
      take_counters(*counted[i], *read[i], now);
    }
  }

  void tick() {
    const auto now = wall_now();
    if (now - counters_read_at >= options.counters_interval) {
      read_all_counters(now);
      counters_read_at = now;
    }
    std::vector<std::pair<std::string, AcctTerminateCause>> to_end;
    std::vector<std::string> to_forget;
    for (auto& [id, s] : sessions) {
      if (s.state == State::rejected) {
        if (now >= s.rejected_until) to_forget.push_back(id);
        continue;
      }
      if (s.state == State::authorized) {
        if (!s.address && now - s.created >= kAuthorizedWithoutLease) to_forget.push_back(id);
        continue;
      }
      if (s.state != State::active) continue;
      const auto& a = s.authorization;
      if (a.session_timeout.count() > 0 && now - s.started >= a.session_timeout) {
        ++stats.ended_session_timeout;
        to_end.emplace_back(id, AcctTerminateCause::kSessionTimeout);
        continue;
      }
      if (a.idle_timeout.count() > 0 && now - s.last_activity >= a.idle_timeout) {
        read_counters(s, now);  // the last full read may be counters_interval old
      }
      if (a.idle_timeout.count() > 0 && now - s.last_activity >= a.idle_timeout) {
        ++stats.ended_idle_timeout;
        to_end.emplace_back(id, AcctTerminateCause::kIdleTimeout);
        continue;
      }
      const auto interval = a.interim_interval.count() > 0 ? a.interim_interval : options.interim_interval;
      if (interval.count() > 0 && now - s.last_interim >= interval) {
        read_counters(s, now);
        s.last_interim = now;
        persist(s);
        account(s, AcctStatusType::kInterimUpdate, now);
      }
    }
    for (const auto& id : to_forget) forget(id);
    for (const auto& [id, cause] : to_end) (void)disconnect(id, cause);
    pump();
  }

  void schedule() {
    timer.expires_after(options.tick);
    timer.async_wait([this](boost::system::error_code ec) {
      if (ec || !running) return;
      tick();
      schedule();
    });
  }

  Result<Session> disconnect(std::string_view id, AcctTerminateCause cause) {
    auto it = sessions.find(id);
    if (it == sessions.end()) return make_error(std::errc::no_such_file_or_directory, "no session " + std::string(id));
    Session copy = it->second;
    if (cause == AcctTerminateCause::kAdminReset) ++stats.ended_admin;
    if (copy.state == State::active && copy.address && hooks.end_lease) {
      end_cause[copy.id] = cause;
      // Ending the lease comes back as lease_ended(), which ends the session with `cause`.
      if (auto r = hooks.end_lease(*copy.address); r) return copy;
      end_cause.erase(copy.id);
    }
    end_session(copy.id, cause, wall_now());
    return copy;
  }
};

SessionManager::SessionManager(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SessionManager::~SessionManager() = default;

Result<std::unique_ptr<SessionManager>> SessionManager::create(asio::io_context& io, SessionOptions options,
                                                               SessionHooks hooks) {
  if (options.authorize && !hooks.authenticate) {
    return make_error(std::errc::invalid_argument, "sessions: RADIUS authorisation needs an Access-Request sender");
  }
  if (options.accounting && !hooks.account) {
    return make_error(std::errc::invalid_argument, "sessions: accounting needs an Accounting-Request sender");
  }
  auto impl = std::make_unique<Impl>(io, std::move(options), std::move(hooks));
  if (auto r = impl->store.open(impl->options.database); !r) return r.error();
  return std::unique_ptr<SessionManager>(new SessionManager(std::move(impl)));
}

Result<RestoreSummary> SessionManager::start(const std::vector<lease::Lease>& bound_leases) {
  auto& d = *impl_;
  const auto now = d.wall_now();
  auto stored = d.store.load();
  if (!stored) return stored.error();
  auto queued = d.store.queued();
  if (!queued) return queued.error();
  RestoreSummary summary;
  summary.accounting_resumed = queued->size();
  for (auto& r : *queued) d.queue.push_back({std::move(r), false, {}});
  d.running = true;

  std::map<pool::SubscriberKey, const lease::Lease*> bound;
  for (const auto& l : bound_leases) {
    if (l.state == lease::LeaseState::bound) bound[l.subscriber] = &l;
  }
  for (auto& s : *stored) {
    const auto lease = bound.find(s.subscriber);
    const bool still_bound = lease != bound.end() && s.address && lease->second->address == *s.address;
    Session& added = d.add(std::move(s));
    if (added.state != State::active) continue;
    if (!still_bound) {
      // Its lease ended while the daemon was down.
      d.end_session(added.id, AcctTerminateCause::kLostCarrier, now);
      ++summary.ended_while_down;
      continue;
    }
    ++summary.restored_active;
    if (d.hooks.traffic) {
      if (auto r = d.hooks.traffic->apply(*added.address, added.authorization.rate); !r) ++d.stats.traffic_errors;
    }
  }
  // A NAS with nothing carried over starts afresh: the servers may close what they still
  // think is open for it (RFC 2866 Accounting-On).
  if (summary.restored_active == 0 && d.options.accounting) {
    if (auto on = accounting_on_off(true, d.options.aaa)) {
      d.enqueue(static_cast<std::uint32_t>(AcctStatusType::kAccountingOn), now, *on);
      summary.accounting_on = true;
    }
  }
  // Bound leases whose session is not active (sessions just enabled, or the session's last
  // write was lost in a crash): authorise or start them now. Active ones are left alone.
  for (const auto& [key, l] : bound) {
    const auto it = d.by_subscriber.find(key);
    if (it == d.by_subscriber.end() || d.sessions.at(it->second).state != State::active) ++summary.started;
    lease_bound(*l);
  }
  d.pump();
  d.schedule();
  return summary;
}

void SessionManager::stop() {
  auto& d = *impl_;
  if (!d.running) return;
  const bool none_active = std::none_of(d.sessions.begin(), d.sessions.end(),
                                        [](const auto& kv) { return kv.second.state == State::active; });
  if (none_active && d.options.accounting) {
    if (auto off = accounting_on_off(false, d.options.aaa)) {
      d.enqueue(static_cast<std::uint32_t>(AcctStatusType::kAccountingOff), d.wall_now(), *off);
    }
  }
  d.timer.cancel();
}

bool SessionManager::accounting_idle() const { return impl_->in_flight == 0; }

slowpath::Admission SessionManager::admit(const slowpath::AdmissionRequest& request) {
  auto& d = *impl_;
  const auto now = d.wall_now();
  if (auto it = d.by_subscriber.find(request.subscriber); it != d.by_subscriber.end()) {
    Session& s = d.sessions.at(it->second);
    switch (s.state) {
      case State::authorizing:
        return {slowpath::Admission::Verdict::pending, {}, {}, "RADIUS Access-Request in flight"};
      case State::rejected:
        if (now < s.rejected_until) return {slowpath::Admission::Verdict::reject, {}, {}, s.reject_reason};
        d.forget(s.id);  // hold-down over: ask again
        break;
      case State::authorized:
      case State::active:
        return Impl::accept(s);
    }
  }
  if (d.sessions.size() >= d.options.max_sessions) {
    ++d.stats.refused_full;
    return {slowpath::Admission::Verdict::reject, {}, {},
            "session table full (" + std::to_string(d.options.max_sessions) + " sessions)"};
  }
  Session s;
  s.id = d.new_id();
  s.subscriber = request.subscriber;
  const auto& m = request.message;
  s.mac = dhcp::MacAddress::from_bytes(std::span(m.chaddr).first<6>());
  if (auto rai = m.relay_agent_info()) {
    if (auto c = rai->circuit_id()) s.circuit_id.assign(c->begin(), c->end());
    if (auto r = rai->remote_id()) s.remote_id.assign(r->begin(), r->end());
  }
  s.username = username_for(s, d.options.aaa.username);
  s.created = now;
  if (!d.options.authorize) {
    s.state = State::authorized;
    d.persist(d.add(std::move(s)));
    return slowpath::Admission{};
  }
  if (d.authorizing >= d.options.max_authorizing) {
    ++d.stats.authorization_overflows;
    return {slowpath::Admission::Verdict::reject, {}, {}, "too many authorisations in flight"};
  }
  ++d.authorizing;
  const auto id = d.add(std::move(s)).id;
  d.ask_radius(id);
  return {slowpath::Admission::Verdict::pending, {}, {}, "RADIUS Access-Request sent"};
}

void SessionManager::lease_bound(const lease::Lease& lease) {
  auto& d = *impl_;
  const auto now = d.wall_now();
  auto it = d.by_subscriber.find(lease.subscriber);
  if (it == d.by_subscriber.end()) {
    // Bound without an admission (a lease older than its session): authorise it now.
    Session s;
    s.id = d.new_id();
    s.subscriber = lease.subscriber;
    if (lease.subscriber.kind() == pool::SubscriberKeyKind::mac && lease.subscriber.bytes().size() == 6) {
      s.mac = dhcp::MacAddress::from_bytes(
          std::span(reinterpret_cast<const std::uint8_t*>(lease.subscriber.bytes().data()), 6).first<6>());
    }
    s.circuit_id = lease.circuit_id;
    s.remote_id = lease.remote_id;
    s.username = username_for(s, d.options.aaa.username);
    s.created = now;
    s.address = lease.address;
    s.pool_id = lease.pool_id;
    Session& added = d.add(std::move(s));
    if (!d.options.authorize) {
      added.state = State::authorized;
      d.activate(added, now);
    } else {
      ++d.authorizing;
      d.ask_radius(added.id);
    }
    return;
  }
  Session& s = d.sessions.at(it->second);
  if (s.state == State::authorized) {
    s.address = lease.address;
    s.pool_id = lease.pool_id;
    d.activate(s, now);
  } else if (s.state == State::authorizing) {
    s.address = lease.address;
    s.pool_id = lease.pool_id;
  }
  // Active: a renewal, nothing changes.
}

void SessionManager::lease_ended(const lease::Lease& lease, slowpath::EndReason reason) {
  auto& d = *impl_;
  auto it = d.by_subscriber.find(lease.subscriber);
  if (it == d.by_subscriber.end()) return;
  const std::string id = it->second;
  Session& s = d.sessions.at(id);
  if (!s.address || *s.address != lease.address) return;
  auto cause = cause_of(reason);
  if (auto c = d.end_cause.find(id); c != d.end_cause.end()) {
    cause = c->second;
    d.end_cause.erase(c);
  }
  d.end_session(id, cause, d.wall_now());
}

std::vector<Session> SessionManager::sessions() const {
  impl_->read_all_counters(impl_->wall_now());
  std::vector<Session> out;
  out.reserve(impl_->sessions.size());
  for (const auto& [id, s] : impl_->sessions) out.push_back(s);
  return out;
}

std::optional<Session> SessionManager::find(std::string_view id) const {
  auto it = impl_->sessions.find(id);
  if (it == impl_->sessions.end()) return std::nullopt;
  if (it->second.state == State::active) impl_->read_counters(it->second, impl_->wall_now());
  return it->second;
}

Result<Session> SessionManager::disconnect(std::string_view id, AcctTerminateCause cause) {
  return impl_->disconnect(id, cause);
}

DaeAnswer SessionManager::handle_dae(const radius::Packet& request) {
  auto& d = *impl_;
  const auto& aaa = d.options.aaa;
  auto nak = [&](radius::ErrorCause cause, std::string reason) {
    ++d.stats.dae_naks;
    return DaeAnswer{false, cause, std::move(reason)};
  };
  // RFC 5176 3: a request meant for another NAS is refused.
  if (const auto* a = request.find(radius::attr::kNasIpAddress); a && aaa.nas_ip) {
    if (auto ip = radius::decode_ipaddr(a->value()); !ip || *ip != *aaa.nas_ip) {
      return nak(radius::ErrorCause::kNasIdentificationMismatch, "NAS-IP-Address is not this NAS");
    }
  }
  if (const auto* a = request.find(radius::attr::kNasIdentifier); a && !aaa.nas_identifier.empty()) {
    if (a->text() != aaa.nas_identifier) {
      return nak(radius::ErrorCause::kNasIdentificationMismatch, "NAS-Identifier is not this NAS");
    }
  }
  if (!identifies_a_session(request)) {
    return nak(radius::ErrorCause::kMissingAttribute,
               "no session identification (Acct-Session-Id, User-Name, Framed-IP-Address, Calling-Station-Id)");
  }
  std::vector<std::string> matches;
  for (const auto& [id, s] : d.sessions) {
    if ((s.state == State::active || s.state == State::authorized) && names_session(request, s)) matches.push_back(id);
  }
  if (matches.empty()) return nak(radius::ErrorCause::kSessionContextNotFound, "no session matches");

  if (request.code == radius::Code::kDisconnectRequest) {
    for (const auto& id : matches) (void)d.disconnect(id, AcctTerminateCause::kAdminReset);
    ++d.stats.dae_disconnects;
    return DaeAnswer{true, {}, {}};
  }
  if (request.code != radius::Code::kCoaRequest) {
    return nak(radius::ErrorCause::kUnsupportedService, "not a Disconnect-Request or CoA-Request");
  }
  // All or nothing: check every match first.
  std::vector<Authorization> next;
  for (const auto& id : matches) {
    auto applied = apply_coa(request, d.sessions.at(id).authorization, aaa);
    if (auto* refusal = std::get_if<CoaRefusal>(&applied)) return nak(refusal->cause, refusal->reason);
    next.push_back(std::get<Authorization>(std::move(applied)));
  }
  for (std::size_t i = 0; i < matches.size(); ++i) {
    Session& s = d.sessions.at(matches[i]);
    const bool rate_changed = !(s.authorization.rate == next[i].rate);
    s.authorization = std::move(next[i]);
    if (rate_changed && s.state == State::active && s.address && d.hooks.traffic) {
      if (auto r = d.hooks.traffic->apply(*s.address, s.authorization.rate); !r) ++d.stats.traffic_errors;
    }
    d.persist(s);
  }
  ++d.stats.dae_coas;
  return DaeAnswer{true, {}, {}};
}

void SessionManager::update_options(const SessionOptions& options) {
  auto database = impl_->options.database;
  auto clock = impl_->options.clock;
  impl_->options = options;
  impl_->options.database = std::move(database);
  impl_->options.clock = std::move(clock);
}

SessionStats SessionManager::stats() const {
  SessionStats s = impl_->stats;
  for (const auto& [id, session] : impl_->sessions) {
    switch (session.state) {
      case State::authorizing: ++s.authorizing; break;
      case State::authorized: ++s.authorized; break;
      case State::active: ++s.active; break;
      case State::rejected: ++s.rejected; break;
    }
  }
  s.accounting_queued = impl_->queue.size();
  return s;
}

}  // namespace bngkit::bng::session

namespace bngkit::bng::session {

RadiusSend send_through(radius::Client& client) {
  return [&client](radius::Packet packet, std::function<void(Result<radius::Packet>)> done) {
    radius::Request request;
    if (const auto* pw = packet.find(radius::attr::kUserPassword)) {
      request.user_password = std::string(pw->text());
      packet.erase(radius::attr::kUserPassword);
    }
    request.packet = std::move(packet);
    client.send(std::move(request), std::move(done));
  };
}

Result<void> KernelTraffic::apply(dhcp::Ipv4 address, const RatePolicy& rate) { return traffic_.add(address, rate); }

Result<TrafficCounters> KernelTraffic::read(dhcp::Ipv4 address) {
  auto c = traffic_.counters(address);
  if (!c) return std::move(c).error();
  if (!*c) return make_error(std::errc::no_such_file_or_directory, "no kernel counters for " + address.to_string());
  return **c;
}

std::vector<Result<TrafficCounters>> KernelTraffic::read_many(std::span<const dhcp::Ipv4> addresses) {
  std::vector<Result<TrafficCounters>> out;
  out.reserve(addresses.size());
  auto all = traffic_.all_counters();
  if (!all) {
    for (std::size_t i = 0; i < addresses.size(); ++i) out.push_back(all.error());
    return out;
  }
  std::unordered_map<std::uint32_t, TrafficCounters> by_address;
  by_address.reserve(all->size());
  for (const auto& [ip, c] : *all) by_address.emplace(ip.to_host(), c);
  for (const auto a : addresses) {
    if (auto it = by_address.find(a.to_host()); it != by_address.end()) {
      out.push_back(it->second);
    } else {
      out.push_back(make_error(std::errc::no_such_file_or_directory, "no kernel counters for " + a.to_string()));
    }
  }
  return out;
}

Result<TrafficCounters> KernelTraffic::remove(dhcp::Ipv4 address) {
  auto c = traffic_.remove(address);
  if (!c) return std::move(c).error();
  return c->value_or(TrafficCounters{});
}

}  // namespace bngkit::bng::session
