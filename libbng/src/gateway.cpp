// Gateway: allocator + leases + slow path + fast path, driven by an Asio io_context.
#include <bngkit/bng/gateway.hpp>

#include <bngkit/bng/lease/lease_store.hpp>
#include <bngkit/bng/lease/lease_table.hpp>
#include <bngkit/bng/lease/restore.hpp>
#include <bngkit/bng/pool/local_pool_allocator.hpp>
#include <bngkit/bng/slowpath/packet_socket.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <map>
#include <unordered_map>
#include <mutex>
#include <thread>

namespace bngkit::bng {

namespace asio = boost::asio;
using std::chrono::steady_clock;
using std::chrono::sys_seconds;

namespace {

sys_seconds wall_now() { return pool::system_now(); }

// Group commit rounds (see handle_waiting_requests): ACKs per transaction at most, how
// long a round naps to collect more requests, and how long a round may last.
constexpr std::size_t kRequestsPerCommit = 256;
constexpr auto kGatherWait = std::chrono::microseconds{200};
constexpr auto kMaxRoundTime = std::chrono::milliseconds{2};
// How often fast-path events are drained when the kernel has not woken us for a batch.
constexpr auto kEventDrainInterval = std::chrono::milliseconds{10};

// The kernel's clock for an instant on the wall clock (leases persist wall time).
steady_clock::time_point to_steady(sys_seconds t) {
  const auto wall = std::chrono::system_clock::now();
  return steady_clock::now() + std::chrono::duration_cast<steady_clock::duration>(t - wall);
}

fastpath::PoolParams fast_path_params(const pool::PoolParameters& p) {
  fastpath::PoolParams out;
  out.subnet_mask = dhcp::Ipv4::from_host(p.network.netmask());
  if (p.gateway) out.router = *p.gateway;
  for (std::size_t i = 0; i < p.dns.size() && i < 4; ++i) out.dns.push_back(p.dns[i]);
  out.lease_time = p.lease_time;
  out.renewal_time = p.renewal_time;
  out.rebinding_time = p.rebinding_time;
  out.broadcast = p.network.broadcast();
  return out;
}

}  // namespace

struct Gateway::Impl {
  GatewayOptions options;
  std::unique_ptr<pool::AddressAllocator> allocator;
  pool::LocalPoolAllocator* local_allocator = nullptr;  // set when `allocator` is ours
  std::unique_ptr<lease::LeaseStore> store;
  lease::LeaseTable table;
  std::optional<fastpath::FastPath> fast_path;
  std::map<std::string, std::uint32_t, std::less<>> pool_index;  // kernel pool ids, from 1
  std::unordered_map<std::uint32_t, std::chrono::seconds> renewal_time_by_kernel_pool;  // T1
  dhcp::Ipv4 server_id;

  mutable std::mutex mutex;  // guards server (HTTP handlers may run on other threads)
  std::optional<slowpath::DhcpServer> server;
  std::optional<slowpath::PacketSocket> socket;
  std::optional<asio::posix::stream_descriptor> socket_wait;
  std::optional<asio::posix::stream_descriptor> events_wait;
  std::optional<asio::steady_timer> expiry_timer;
  std::optional<asio::steady_timer> events_timer;
  std::function<void(const RequestRecord&)> observer;
  slowpath::AdmissionHook admission;
  slowpath::LeaseEvents lease_observer;
  // Requests whose admission is pending, the newest per subscriber (the client retransmits;
  // only its last word matters).
  std::map<pool::SubscriberKey, std::pair<std::vector<std::uint8_t>, steady_clock::time_point>> held;
  std::uint64_t admission_overflows = 0;
  std::vector<std::uint8_t> frame;
  struct Answer {  // one request of a group-commit round
    std::optional<std::vector<std::uint8_t>> reply;
    slowpath::Outcome outcome;
    steady_clock::time_point start;
  };
  std::vector<Answer> answers;
  std::uint64_t renewals_served = 0;    // kernel ACKs applied to a bound lease
  std::uint64_t renewals_recorded = 0;  // ... of which extended it on disk
  std::uint64_t event_errors = 0;
  std::uint64_t cache_errors = 0;
  // Leases bound in the open commit round. Until the round is durable the kernel must not
  // answer for them (an XDP ACK would reach a client before the lease survives kill -9) and
  // their sessions must not start; a round whose commit fails never publishes them.
  bool in_round = false;
  std::vector<lease::Lease> bound_in_round;
  bool running = false;
  bool draining = false;

  // The kernel's copy of each pool's reply options (and T1 for recording renewals).
  Result<void> push_pools_to_fast_path() {
    if (!fast_path) return ok();
    for (const auto& [id, index] : pool_index) {
      if (auto params = allocator->pool(id)) {
        if (auto r = fast_path->set_pool(index, fast_path_params(*params)); !r) return r;
        renewal_time_by_kernel_pool[index] = params->renewal_time;
      }
    }
    return ok();
  }

  void cache(const lease::Lease& l) {
    if (!fast_path || l.state != lease::LeaseState::bound) return;
    auto idx = pool_index.find(l.pool_id);
    if (idx == pool_index.end()) return;
    fastpath::CacheEntry entry{l.address, idx->second, to_steady(l.expires), true, true};
    const auto& key = l.subscriber;
    const auto bytes = std::span(reinterpret_cast<const std::uint8_t*>(key.bytes().data()), key.bytes().size());
    Result<void> cached = ok();
    if (key.kind() == pool::SubscriberKeyKind::mac && bytes.size() == 6) {
      cached = fast_path->cache_by_mac(dhcp::MacAddress::from_bytes(bytes), entry);
    } else if (key.kind() == pool::SubscriberKeyKind::circuit_id && bytes.size() <= 64) {
      cached = fast_path->cache_by_circuit_id(bytes, entry);
    }
    if (!cached) ++cache_errors;  // the slow path keeps serving this subscriber
    // Client-id subscribers stay on the slow path: the kernel cache has no client-id key.
  }

  // A bound lease is durable: the kernel may answer for it, its session may start.
  void publish_bound(const lease::Lease& l) {
    cache(l);
    if (lease_observer.bound) lease_observer.bound(l);
  }

  void uncache(const lease::Lease& l) {
    if (!fast_path) return;
    const auto& key = l.subscriber;
    const auto bytes = std::span(reinterpret_cast<const std::uint8_t*>(key.bytes().data()), key.bytes().size());
    if (key.kind() == pool::SubscriberKeyKind::mac && bytes.size() == 6) {
      (void)fast_path->uncache_by_mac(dhcp::MacAddress::from_bytes(bytes));
    } else if (key.kind() == pool::SubscriberKeyKind::circuit_id) {
      (void)fast_path->uncache_by_circuit_id(bytes);
    }
  }

  // A renewal the kernel answered: extend the lease (durably) and the cache entry, when
  // the recorded expiry would not outlast the client's next renewal (record_renewal).
  void on_fast_path_event(const fastpath::LeaseEvent& e) {
    if (e.type != fastpath::LeaseEvent::Type::ack) return;
    // The kernel served from a cache entry whose expiry is the recorded one: while it still
    // outlasts T1 there is nothing to record, which is decided here without the lease.
    if (auto t1 = renewal_time_by_kernel_pool.find(e.pool_id);
        t1 != renewal_time_by_kernel_pool.end() && e.expiry >= e.served_at + t1->second) {
      ++renewals_served;
      return;
    }
    auto current = table.find(e.ip);
    if (!current || current->state != lease::LeaseState::bound) {
      ++event_errors;
      return;
    }
    const auto served_wall = wall_now() - std::chrono::duration_cast<std::chrono::seconds>(
                                              steady_clock::now() - e.served_at);
    const auto expires = served_wall + e.lease_time;
    auto recorded = server->record_renewal(current->subscriber, e.ip, expires, wall_now());
    if (!recorded) {
      ++event_errors;
      return;
    }
    ++renewals_served;
    if (!*recorded) return;
    ++renewals_recorded;
    if (auto updated = table.find(e.ip)) cache(*updated);
  }

  // Group commit: requests are answered in rounds that share one store transaction. An
  // ACK leaves only once the round is durable; other replies (OFFER, NAK) leave at once.
  // While ACKs wait, the round naps kGatherWait and takes what arrived meanwhile, until a
  // nap brings nothing (or kMaxRoundTime, kRequestsPerCommit): under load one fsync covers
  // many ACKs, and when idle an ACK waits one nap. A failed commit sends no ACK of the round.
  void handle_waiting_requests() {
    answers.clear();
    std::lock_guard lock(mutex);
    auto batch = store->begin_batch();  // without one each ACK commits on its own
    in_round = static_cast<bool>(batch);
    const auto round_start = steady_clock::now();
    bool acks_waiting = false;
    bool napped = false;  // slept since the last request arrived
    while (answers.size() < kRequestsPerCommit) {
      auto got = socket->receive(frame);
      if (!got) break;
      if (!got.value()) {
        if (!acks_waiting || napped || steady_clock::now() - round_start >= kMaxRoundTime) break;
        // One nap collects whatever arrives meanwhile: a wakeup per nap, not per request.
        std::this_thread::sleep_for(kGatherWait);
        napped = true;
        continue;
      }
      napped = false;
      if (frame.empty()) continue;
      Answer a;
      a.start = steady_clock::now();
      a.reply = server->handle_frame(frame, wall_now(), &a.outcome);
      if (a.outcome.pending) hold(*a.outcome.pending, frame, a.start);
      if (needs_commit(a)) {
        acks_waiting = true;
        answers.push_back(std::move(a));
      } else {
        finish(a);
      }
    }
    if (batch) {
      in_round = false;
      if (auto committed = batch->commit(); !committed) {
        for (Answer& a : answers) {
          a.reply.reset();
          a.outcome.drop_reason = "lease store: " + committed.error().message();
        }
        bound_in_round.clear();
      }
      for (const auto& l : bound_in_round) publish_bound(l);
      bound_in_round.clear();
    }
    for (Answer& a : answers) finish(a);
    // A full round may leave requests queued that no new readiness event will announce.
    if (answers.size() >= kRequestsPerCommit) {
      asio::post(socket_wait->get_executor(), [this] {
        if (running) handle_waiting_requests();
      });
    }
  }

  void hold(const pool::SubscriberKey& subscriber, const std::vector<std::uint8_t>& request,
            steady_clock::time_point received) {
    auto it = held.find(subscriber);
    if (it == held.end() && held.size() >= kMaxHeldRequests) {
      ++admission_overflows;  // the client retransmits; admission is still under way
      return;
    }
    held[subscriber] = {request, received};
  }

  // Answers a held request (its admission is decided). Without a batch the ACK commits on
  // its own before it leaves.
  void replay(const pool::SubscriberKey& subscriber) {
    std::lock_guard lock(mutex);
    auto it = held.find(subscriber);
    if (it == held.end() || !server || !running) return;
    Answer a;
    a.start = it->second.second;
    auto request = std::move(it->second.first);
    held.erase(it);
    a.reply = server->handle_frame(request, wall_now(), &a.outcome);
    if (a.outcome.pending) hold(*a.outcome.pending, request, a.start);
    finish(a);
  }

  static bool needs_commit(const Answer& a) {
    return a.reply && a.outcome.reply && a.outcome.reply->message_type() == dhcp::MessageType::ack;
  }

  // Sends the reply (if any) and reports the request.
  void finish(Answer& a) {
    if (a.reply) {
      if (auto sent = socket->send(*a.reply); !sent) a.outcome.drop_reason = sent.error().message();
    }
    if (observer) {
      RequestRecord record{a.outcome.request_type, std::nullopt, a.outcome.drop_reason,
                           steady_clock::now() - a.start};
      if (a.reply && a.outcome.reply) record.reply = a.outcome.reply->message_type();
      observer(record);
    }
  }

  void wait_socket() {
    socket_wait->async_wait(asio::posix::stream_descriptor::wait_read, [this](boost::system::error_code ec) {
      if (ec || !running) return;
      handle_waiting_requests();
      wait_socket();
    });
  }

  // The kernel already answered: its leases are recorded in one transaction per drain.
  void drain_events() {
    std::lock_guard lock(mutex);
    auto batch = store->begin_batch();
    auto n = fast_path->poll_events([this](const fastpath::LeaseEvent& e) { on_fast_path_event(e); });
    if (!n) ++event_errors;
    if (batch && !batch->commit()) ++event_errors;
  }

  // The ring buffer wakes us for batches of events; the timer picks up the rest.
  void wait_events() {
    events_wait->async_wait(asio::posix::stream_descriptor::wait_read, [this](boost::system::error_code ec) {
      if (ec || !running) return;
      drain_events();
      wait_events();
    });
  }
  void schedule_event_drain() {
    events_timer->expires_after(kEventDrainInterval);
    events_timer->async_wait([this](boost::system::error_code ec) {
      if (ec || !running) return;
      drain_events();
      schedule_event_drain();
    });
  }

  void schedule_expiry() {
    expiry_timer->expires_after(options.expiry_interval);
    expiry_timer->async_wait([this](boost::system::error_code ec) {
      if (ec || !running) return;
      {
        std::lock_guard lock(mutex);
        (void)server->expire(wall_now());
      }
      schedule_expiry();
    });
  }
};

Gateway::Gateway(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Gateway::~Gateway() { stop(); }

Result<std::unique_ptr<Gateway>> Gateway::create(GatewayOptions options,
                                                 std::unique_ptr<pool::AddressAllocator> allocator) {
  auto impl = std::make_unique<Impl>();
  if (!allocator) {
    auto local = pool::LocalPoolAllocator::create(options.pools);
    if (!local) return local.error();
    impl->local_allocator = local.value().get();
    allocator = std::move(local).value();
  }
  impl->allocator = std::move(allocator);
  const auto pools = impl->allocator->utilisation();
  if (pools.empty()) return make_error(std::errc::invalid_argument, "no address pools");
  if (options.default_pool.empty()) options.default_pool = pools.front().pool_id;
  auto default_pool = impl->allocator->pool(options.default_pool);
  if (!default_pool) {
    return make_error(std::errc::invalid_argument, "default pool \"" + options.default_pool + "\" does not exist");
  }
  std::uint32_t next_index = 1;
  for (const auto& p : pools) impl->pool_index[p.pool_id] = next_index++;
  if (options.server_id) impl->server_id = *options.server_id;
  else if (default_pool->gateway) impl->server_id = *default_pool->gateway;
  else return make_error(std::errc::invalid_argument, "no server id: set one or give the default pool a gateway");

  std::error_code ec;
  if (options.lease_db.has_parent_path()) std::filesystem::create_directories(options.lease_db.parent_path(), ec);
  auto store = lease::LeaseStore::open(options.lease_db);
  if (!store) return store.error();
  impl->store = std::make_unique<lease::LeaseStore>(std::move(store).value());
  auto restored = lease::restore_leases(*impl->store, *impl->allocator, impl->table, wall_now());
  if (!restored) return restored.error();

  if (options.fast_path) {
    fastpath::FastPathOptions fo;
    fo.pin_dir = options.pin_dir;
    auto fp = fastpath::FastPath::open(fo);
    if (!fp) return Error{fp.error().code, "XDP fast path: " + fp.error().message()};
    impl->fast_path.emplace(std::move(fp).value());
  }
  impl->options = std::move(options);
  return std::unique_ptr<Gateway>(new Gateway(std::move(impl)));
}

Result<void> Gateway::start(asio::io_context& io) {
  auto& d = *impl_;
  auto socket = slowpath::PacketSocket::open(d.options.interface);
  if (!socket) return socket.error();
  d.socket.emplace(std::move(socket).value());

  slowpath::DhcpServerOptions so;
  so.server_id = d.server_id;
  so.server_mac = d.socket->mac();
  so.default_pool = d.options.default_pool;
  so.offer_time = d.options.offer_time;
  so.identity = d.options.identity;
  slowpath::LeaseEvents events;
  events.bound = [&d](const lease::Lease& l) {
    if (d.in_round) {
      d.bound_in_round.push_back(l);
    } else {
      d.publish_bound(l);
    }
  };
  events.ended = [&d](const lease::Lease& l, slowpath::EndReason reason) {
    d.uncache(l);
    if (d.lease_observer.ended) d.lease_observer.ended(l, reason);
  };
  d.server.emplace(so, *d.allocator, d.table, *d.store, std::move(events));
  d.server->set_draining(d.draining);
  if (d.admission) d.server->set_admission(d.admission);

  if (d.fast_path) {
    auto& fp = *d.fast_path;
    if (auto r = fp.set_server_config({d.server_id, d.socket->mac(), true, d.options.verify_checksums}); !r) return r;
    if (auto r = d.push_pools_to_fast_path(); !r) return r;
    for (const auto& l : d.table.snapshot()) d.cache(l);  // refill from the restored leases
    if (auto r = fp.attach(d.options.interface, d.options.xdp_mode); !r) {
      return Error{r.error().code, "attach XDP to " + d.options.interface + ": " + r.error().message()};
    }
    d.events_wait.emplace(io, fp.event_fd());
    d.events_timer.emplace(io);
  }
  d.socket_wait.emplace(io, d.socket->fd());
  d.expiry_timer.emplace(io);
  d.running = true;
  d.wait_socket();
  if (d.events_wait) {
    d.wait_events();
    d.schedule_event_drain();
  }
  d.schedule_expiry();
  return ok();
}

void Gateway::stop() {
  if (!impl_) return;
  auto& d = *impl_;
  d.running = false;
  // The descriptors belong to PacketSocket and FastPath: release, never close, them here.
  if (d.socket_wait) {
    d.socket_wait->cancel();
    (void)d.socket_wait->release();
    d.socket_wait.reset();
  }
  if (d.events_wait) {
    d.events_wait->cancel();
    (void)d.events_wait->release();
    d.events_wait.reset();
  }
  for (auto* timer : {&d.expiry_timer, &d.events_timer}) {
    if (*timer) (*timer)->cancel();
    timer->reset();
  }
  if (d.fast_path) (void)d.fast_path->detach();
  d.socket.reset();
  d.held.clear();
}

void Gateway::set_request_observer(std::function<void(const RequestRecord&)> observer) {
  impl_->observer = std::move(observer);
}

void Gateway::set_admission(slowpath::AdmissionHook hook) {
  std::lock_guard lock(impl_->mutex);
  impl_->admission = std::move(hook);
  if (impl_->server) impl_->server->set_admission(impl_->admission);
}

slowpath::AdmissionHook Gateway::admission() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->admission;
}

void Gateway::readmit(const pool::SubscriberKey& subscriber) { impl_->replay(subscriber); }

void Gateway::set_lease_observer(slowpath::LeaseEvents observer) {
  std::lock_guard lock(impl_->mutex);
  impl_->lease_observer = std::move(observer);
}

GatewayStatus Gateway::status() const {
  const auto& d = *impl_;
  GatewayStatus s;
  s.running = d.running;
  if (d.fast_path) {
    s.fast_path_attached = d.fast_path->attached_ifindex() != 0;
    if (auto st = d.fast_path->stats()) s.fast_path = st.value();
  }
  {
    std::lock_guard lock(d.mutex);
    if (d.server) s.slow_path = d.server->stats();
    s.draining = d.draining;
    s.fast_path_renewals_served = d.renewals_served;
    s.fast_path_renewals_recorded = d.renewals_recorded;
    s.fast_path_event_errors = d.event_errors;
    s.fast_path_cache_errors = d.cache_errors;
    s.admission_held = d.held.size();
    s.admission_overflows = d.admission_overflows;
  }
  s.leases_offered = d.table.count(lease::LeaseState::offered);
  s.leases_bound = d.table.count(lease::LeaseState::bound);
  s.leases_declined = d.table.count(lease::LeaseState::declined);
  s.pools = d.allocator->utilisation();
  return s;
}

std::vector<lease::Lease> Gateway::leases() const { return impl_->table.snapshot(); }

Result<lease::Lease> Gateway::disconnect(dhcp::Ipv4 address) {
  std::lock_guard lock(impl_->mutex);
  if (!impl_->server) return make_error(std::errc::not_connected, "gateway is not running");
  return impl_->server->end_lease(address, wall_now());
}

Result<void> Gateway::update_pool_options(const std::vector<pool::PoolConfig>& pools) {
  std::lock_guard lock(impl_->mutex);
  if (!impl_->local_allocator) {
    return make_error(std::errc::operation_not_supported,
                      "pool options come from the external allocator, not from this configuration");
  }
  if (auto r = impl_->local_allocator->update_options(pools); !r) return r;
  // Replies built from now on, by either path, carry the new options.
  return impl_->push_pools_to_fast_path();
}

void Gateway::set_draining(bool draining) {
  std::lock_guard lock(impl_->mutex);
  impl_->draining = draining;
  if (impl_->server) impl_->server->set_draining(draining);
}

}  // namespace bngkit::bng
