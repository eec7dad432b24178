// LocalPoolAllocator: pools in process memory. Per pool, an address is identified by its
// offset from the start of the pool's range. Invariant kept by every operation:
//   free.test(o)  <=>  assignable[o] && !reserved(o) && !bound(o) && !in_probation(o)
#include <bngkit/bng/pool/local_pool_allocator.hpp>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>
#include <utility>

#include "free_set.hpp"

namespace bngkit::bng::pool {
namespace {

using Offset = std::uint32_t;
using std::chrono::sys_seconds;

std::string when(sys_seconds t) { return std::to_string(t.time_since_epoch().count()); }

struct Pool {
  PoolConfig config;
  PoolParameters params;
  Ipv4Range range;
  std::vector<bool> assignable;  // false for network, broadcast, gateway, exclusions
  std::uint64_t total = 0;
  detail::FreeSet free;

  std::unordered_map<SubscriberKey, Offset> reserved_by_key;
  std::unordered_map<Offset, SubscriberKey> reserved_by_offset;
  std::unordered_map<SubscriberKey, Offset> bound_by_key;
  std::unordered_map<Offset, SubscriberKey> bound_by_offset;
  std::unordered_map<Offset, sys_seconds> probation;
  std::set<std::pair<sys_seconds, Offset>> probation_queue;
  // Stickiness: the address each subscriber last held. At most one key per offset, so the
  // history never outgrows the pool.
  std::unordered_map<SubscriberKey, Offset> history_by_key;
  std::unordered_map<Offset, SubscriberKey> history_by_offset;

  explicit Pool(PoolConfig c)
      : config(std::move(c)),
        range(config.effective_range()),
        free(static_cast<std::size_t>(range.size())) {
    const Ipv4Network net{config.network.network(), config.network.prefix_length};
    params.pool_id = config.id;
    params.network = net;
    params.gateway = config.gateway;
    params.dns = config.dns;
    params.lease_time = config.lease_time;
    params.renewal_time = config.effective_renewal_time();
    params.rebinding_time = config.effective_rebinding_time();

    assignable.assign(free.size(), true);
    auto cut = [this](Ipv4Range r) {
      if (!r.overlaps(range)) return;
      const auto lo = std::max(r.first, range.first).to_host() - range.first.to_host();
      const auto hi = std::min(r.last, range.last).to_host() - range.first.to_host();
      for (std::uint64_t o = lo; o <= hi; ++o) assignable[o] = false;
    };
    cut({net.network(), net.network()});
    cut({net.broadcast(), net.broadcast()});
    if (config.gateway) cut({*config.gateway, *config.gateway});
    for (const auto& e : config.exclusions) cut(e);

    for (const auto& r : config.reservations) {
      const Offset o = offset_of(r.address);
      reserved_by_key.emplace(r.subscriber, o);
      reserved_by_offset.emplace(o, r.subscriber);
    }
    for (std::size_t o = 0; o < assignable.size(); ++o) {
      if (!assignable[o]) continue;
      ++total;
      if (!reserved_by_offset.contains(static_cast<Offset>(o))) free.set(o);
    }
  }

  [[nodiscard]] bool in_range(Ipv4 a) const { return range.contains(a); }
  [[nodiscard]] Offset offset_of(Ipv4 a) const { return a.to_host() - range.first.to_host(); }
  [[nodiscard]] Ipv4 address_of(Offset o) const {
    return Ipv4::from_host(range.first.to_host() + o);
  }

  [[nodiscard]] std::string name() const { return "pool " + config.id; }

  // Ends every probation that is over.
  void sweep(sys_seconds now) {
    while (!probation_queue.empty() && probation_queue.begin()->first <= now) {
      const Offset o = probation_queue.begin()->second;
      probation_queue.erase(probation_queue.begin());
      probation.erase(o);
      if (!reserved_by_offset.contains(o) && !bound_by_offset.contains(o)) free.set(o);
    }
  }

  void forget_history_of_offset(Offset o) {
    if (auto it = history_by_offset.find(o); it != history_by_offset.end()) {
      history_by_key.erase(it->second);
      history_by_offset.erase(it);
    }
  }

  void forget_history_of_key(const SubscriberKey& key) {
    if (auto it = history_by_key.find(key); it != history_by_key.end()) {
      history_by_offset.erase(it->second);
      history_by_key.erase(it);
    }
  }

  void remember(const SubscriberKey& key, Offset o) {
    forget_history_of_key(key);
    forget_history_of_offset(o);
    history_by_key.emplace(key, o);
    history_by_offset.emplace(o, key);
  }

  void bind(const SubscriberKey& key, Offset o) {
    free.reset(o);
    bound_by_key[key] = o;
    bound_by_offset[o] = key;
    forget_history_of_key(key);
    forget_history_of_offset(o);
  }

  // Ends the key's binding to `o`; the address becomes free unless reserved.
  void unbind(const SubscriberKey& key, Offset o) {
    bound_by_key.erase(key);
    bound_by_offset.erase(o);
    if (!reserved_by_offset.contains(o)) free.set(o);
    remember(key, o);
  }

  void start_probation(Offset o, sys_seconds until) {
    if (auto it = probation.find(o); it != probation.end()) {
      probation_queue.erase({it->second, o});
    }
    free.reset(o);
    probation[o] = until;
    probation_queue.emplace(until, o);
  }

  [[nodiscard]] Allocation allocation(const SubscriberKey& key, Offset o) const {
    Allocation a;
    a.subscriber = key;
    a.address = address_of(o);
    a.reserved = reserved_by_offset.contains(o);
    a.pool = params;
    return a;
  }

  [[nodiscard]] PoolUtilisation utilisation() const {
    PoolUtilisation u;
    u.pool_id = config.id;
    u.total = total;
    u.assigned = bound_by_offset.size();
    u.declined = probation.size();
    u.reserved = reserved_by_offset.size();
    u.free = free.count();
    return u;
  }

  // Why `o` (in range) cannot be bound to `key`, or success when it can.
  [[nodiscard]] Result<void> check_bindable(const SubscriberKey& key, Offset o) const {
    const std::string addr = address_of(o).to_string();
    if (!assignable[o]) {
      return Error{AllocError::not_in_pool, name() + ": " + addr + " is never handed out"};
    }
    if (auto it = reserved_by_offset.find(o); it != reserved_by_offset.end() && it->second != key) {
      return Error{AllocError::address_in_use,
                   name() + ": " + addr + " is reserved for " + it->second.to_string()};
    }
    if (auto it = bound_by_offset.find(o); it != bound_by_offset.end() && it->second != key) {
      return Error{AllocError::address_in_use,
                   name() + ": " + addr + " is bound to " + it->second.to_string()};
    }
    if (auto it = probation.find(o); it != probation.end()) {
      return Error{AllocError::in_probation,
                   name() + ": " + addr + " is in probation until " + when(it->second)};
    }
    return ok();
  }
};

}  // namespace

struct LocalPoolAllocator::Impl {
  WallClock clock;
  std::vector<PoolConfig> configs;
  std::vector<Pool> pools;
  std::map<std::string, std::size_t, std::less<>> by_id;
  mutable std::mutex mu;

  // The pool by id with its expired probations swept, or pool_not_found.
  Result<Pool*> find(std::string_view id) {
    auto it = by_id.find(id);
    if (it == by_id.end()) {
      return Error{AllocError::pool_not_found, "no pool with id " + std::string(id)};
    }
    Pool* p = &pools[it->second];
    p->sweep(clock());
    return p;
  }

  static Result<void> check_key(const SubscriberKey& key) {
    if (!key.valid()) {
      return Error{AllocError::invalid_subscriber,
                   "invalid subscriber key of kind " + std::string(to_string(key.kind()))};
    }
    return ok();
  }

  Pool* pool_containing(Ipv4 a) {
    for (auto& p : pools) {
      if (p.in_range(a)) return &p;
    }
    return nullptr;
  }
};

LocalPoolAllocator::LocalPoolAllocator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LocalPoolAllocator::~LocalPoolAllocator() = default;

Result<std::unique_ptr<LocalPoolAllocator>> LocalPoolAllocator::create(
    std::vector<PoolConfig> pools, WallClock clock) {
  if (auto valid = validate_pools(pools); !valid) return valid.error();
  auto impl = std::make_unique<Impl>();
  impl->clock = clock ? std::move(clock) : WallClock(system_now);
  impl->pools.reserve(pools.size());
  for (std::size_t i = 0; i < pools.size(); ++i) {
    impl->pools.emplace_back(pools[i]);
    impl->by_id.emplace(pools[i].id, i);
  }
  impl->configs = std::move(pools);
  return std::unique_ptr<LocalPoolAllocator>(new LocalPoolAllocator(std::move(impl)));
}

Result<Allocation> LocalPoolAllocator::allocate(const AllocationRequest& request) {
  std::lock_guard lock(impl_->mu);
  const SubscriberKey& key = request.subscriber;
  if (auto k = Impl::check_key(key); !k) return k.error();
  auto found = impl_->find(request.pool_id);
  if (!found) return std::move(found).error();
  Pool& p = **found;

  // A reserved subscriber can only ever be bound to its reservation (renew and restore
  // refuse anything else), so an existing binding is returned as it is.
  if (auto b = p.bound_by_key.find(key); b != p.bound_by_key.end()) {
    return p.allocation(key, b->second);
  }
  if (auto r = p.reserved_by_key.find(key); r != p.reserved_by_key.end()) {
    if (auto why = p.check_bindable(key, r->second); !why) return why.error();
    p.bind(key, r->second);
    return p.allocation(key, r->second);
  }

  std::optional<std::size_t> pick;
  if (request.requested && p.in_range(*request.requested)) {
    const Offset o = p.offset_of(*request.requested);
    if (p.free.test(o)) pick = o;
  }
  if (!pick) {
    if (auto h = p.history_by_key.find(key);
        h != p.history_by_key.end() && p.free.test(h->second)) {
      pick = h->second;
    }
  }
  if (!pick) pick = p.free.find_from(key.stable_hash() % p.free.size());
  if (!pick) {
    const auto u = p.utilisation();
    return Error{AllocError::pool_exhausted,
                 p.name() + " is exhausted (" + std::to_string(u.total) + " addresses: " +
                     std::to_string(u.assigned) + " bound, " + std::to_string(u.declined) +
                     " in probation, " + std::to_string(u.reserved) + " reserved)"};
  }
  const auto o = static_cast<Offset>(*pick);
  p.bind(key, o);
  return p.allocation(key, o);
}

Result<Allocation> LocalPoolAllocator::renew(const SubscriberKey& key, std::string_view pool_id,
                                             Ipv4 address) {
  std::lock_guard lock(impl_->mu);
  if (auto k = Impl::check_key(key); !k) return k.error();
  auto found = impl_->find(pool_id);
  if (!found) return std::move(found).error();
  Pool& p = **found;
  const std::string addr = address.to_string();
  if (!p.in_range(address)) {
    return Error{AllocError::not_in_pool,
                 p.name() + ": " + addr + " is outside range " + p.range.to_string()};
  }
  const Offset o = p.offset_of(address);
  if (auto r = p.reserved_by_key.find(key); r != p.reserved_by_key.end() && r->second != o) {
    return Error{AllocError::wrong_address, p.name() + ": " + key.to_string() + " is reserved " +
                                                p.address_of(r->second).to_string() + ", not " +
                                                addr};
  }
  if (auto b = p.bound_by_key.find(key); b != p.bound_by_key.end()) {
    if (b->second == o) return p.allocation(key, o);
    return Error{AllocError::wrong_address, p.name() + ": " + key.to_string() + " holds " +
                                                p.address_of(b->second).to_string() + ", not " +
                                                addr};
  }
  if (auto why = p.check_bindable(key, o); !why) return why.error();
  p.bind(key, o);
  return p.allocation(key, o);
}

Result<void> LocalPoolAllocator::release(const SubscriberKey& key, std::string_view pool_id,
                                         Ipv4 address) {
  std::lock_guard lock(impl_->mu);
  auto found = impl_->find(pool_id);
  if (!found) return std::move(found).error();
  Pool& p = **found;
  auto b = p.bound_by_key.find(key);
  if (!p.in_range(address) || b == p.bound_by_key.end() || b->second != p.offset_of(address)) {
    return Error{AllocError::not_bound,
                 p.name() + ": " + key.to_string() + " does not hold " + address.to_string()};
  }
  p.unbind(key, b->second);
  return ok();
}

Result<std::chrono::sys_seconds> LocalPoolAllocator::decline(const SubscriberKey& key,
                                                             std::string_view pool_id,
                                                             Ipv4 address) {
  std::lock_guard lock(impl_->mu);
  auto found = impl_->find(pool_id);
  if (!found) return std::move(found).error();
  Pool& p = **found;
  auto b = p.bound_by_key.find(key);
  if (!p.in_range(address) || b == p.bound_by_key.end() || b->second != p.offset_of(address)) {
    return Error{AllocError::not_bound,
                 p.name() + ": " + key.to_string() + " does not hold " + address.to_string()};
  }
  const Offset o = b->second;
  p.bound_by_key.erase(b);
  p.bound_by_offset.erase(o);
  // The client saw the address in use: do not steer it (or anyone) back to it.
  p.forget_history_of_key(key);
  p.forget_history_of_offset(o);
  const sys_seconds until = impl_->clock() + p.config.probation_time;
  p.start_probation(o, until);
  if (p.config.probation_time.count() == 0) p.sweep(until);
  return until;
}

Result<void> LocalPoolAllocator::restore(const RestoredAddress& r) {
  std::lock_guard lock(impl_->mu);
  if (auto k = Impl::check_key(r.subscriber); !k) return k.error();
  auto found = impl_->find(r.pool_id);
  if (!found) return std::move(found).error();
  Pool& p = **found;
  const std::string addr = r.address.to_string();
  if (!p.in_range(r.address) || !p.assignable[p.offset_of(r.address)]) {
    return Error{AllocError::not_in_pool,
                 p.name() + ": " + addr + " is no longer an assignable address of the pool"};
  }
  const Offset o = p.offset_of(r.address);
  switch (r.kind) {
    case RestoreKind::binding: {
      if (auto res = p.reserved_by_key.find(r.subscriber);
          res != p.reserved_by_key.end() && res->second != o) {
        return Error{AllocError::wrong_address,
                     p.name() + ": " + r.subscriber.to_string() + " is now reserved " +
                         p.address_of(res->second).to_string() + ", not " + addr};
      }
      if (auto b = p.bound_by_key.find(r.subscriber); b != p.bound_by_key.end()) {
        if (b->second == o) return ok();
        return Error{AllocError::wrong_address, p.name() + ": " + r.subscriber.to_string() +
                                                    " already holds " +
                                                    p.address_of(b->second).to_string()};
      }
      if (auto why = p.check_bindable(r.subscriber, o); !why) return why.error();
      p.bind(r.subscriber, o);
      return ok();
    }
    case RestoreKind::probation: {
      if (auto b = p.bound_by_offset.find(o); b != p.bound_by_offset.end()) {
        return Error{AllocError::address_in_use,
                     p.name() + ": " + addr + " is bound to " + b->second.to_string()};
      }
      if (r.until <= impl_->clock()) return ok();  // Probation already over: stays free.
      p.start_probation(o, r.until);
      return ok();
    }
    case RestoreKind::history:
      if (!p.bound_by_key.contains(r.subscriber)) p.remember(r.subscriber, o);
      return ok();
  }
  return ok();
}

std::optional<Allocation> LocalPoolAllocator::lookup(const SubscriberKey& key,
                                                     std::string_view pool_id) const {
  std::lock_guard lock(impl_->mu);
  auto found = impl_->find(pool_id);
  if (!found) return std::nullopt;
  const Pool& p = **found;
  auto b = p.bound_by_key.find(key);
  if (b == p.bound_by_key.end()) return std::nullopt;
  return p.allocation(key, b->second);
}

std::optional<SubscriberKey> LocalPoolAllocator::owner(Ipv4 address) const {
  std::lock_guard lock(impl_->mu);
  const Pool* p = impl_->pool_containing(address);
  if (!p) return std::nullopt;
  auto b = p->bound_by_offset.find(p->offset_of(address));
  if (b == p->bound_by_offset.end()) return std::nullopt;
  return b->second;
}

std::optional<PoolParameters> LocalPoolAllocator::pool(std::string_view pool_id) const {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->by_id.find(pool_id);
  if (it == impl_->by_id.end()) return std::nullopt;
  return impl_->pools[it->second].params;
}

std::optional<PoolParameters> LocalPoolAllocator::pool_for(Ipv4 address) const {
  std::lock_guard lock(impl_->mu);
  // Pools sharing one subnet have disjoint ranges: prefer the one whose range holds the
  // address, else the first whose network does.
  if (const Pool* p = impl_->pool_containing(address)) return p->params;
  for (const auto& p : impl_->pools) {
    if (p.params.network.contains(address)) return p.params;
  }
  return std::nullopt;
}

std::vector<PoolUtilisation> LocalPoolAllocator::utilisation() const {
  std::lock_guard lock(impl_->mu);
  const sys_seconds now = impl_->clock();
  std::vector<PoolUtilisation> out;
  out.reserve(impl_->pools.size());
  for (auto& p : impl_->pools) {
    p.sweep(now);
    out.push_back(p.utilisation());
  }
  return out;
}

const std::vector<PoolConfig>& LocalPoolAllocator::pools() const noexcept { return impl_->configs; }

namespace {
// The first field that decides address ownership and differs, or nullptr.
const char* layout_change(const PoolConfig& a, const PoolConfig& b) {
  if (a.network != b.network) return "network";
  if (a.effective_range() != b.effective_range()) return "range";
  if (a.gateway != b.gateway) return "gateway";
  if (a.exclusions != b.exclusions) return "exclusions";
  if (a.reservations != b.reservations) return "reservations";
  return nullptr;
}
}  // namespace

Result<void> LocalPoolAllocator::update_options(const std::vector<PoolConfig>& pools) {
  std::lock_guard lock(impl_->mu);
  std::vector<std::string> problems;
  if (pools.size() != impl_->pools.size()) {
    problems.push_back("pools: " + std::to_string(pools.size()) + " given, " +
                       std::to_string(impl_->pools.size()) + " running (adding or removing pools needs a restart)");
  }
  for (const auto& next : pools) {
    for (const auto& e : pool_problems(next)) problems.push_back(e.message());
    auto it = impl_->by_id.find(next.id);
    if (it == impl_->by_id.end()) {
      problems.push_back("pool " + next.id + ": not running (adding pools needs a restart)");
    } else if (const char* field = layout_change(impl_->pools[it->second].config, next)) {
      problems.push_back("pool " + next.id + ": " + field + " changed (needs a restart)");
    }
  }
  if (!problems.empty()) {
    std::string all;
    for (const auto& p : problems) all += (all.empty() ? "" : "; ") + p;
    return make_error(std::errc::invalid_argument, all);
  }
  for (const auto& next : pools) {
    const std::size_t i = impl_->by_id.find(next.id)->second;
    Pool& p = impl_->pools[i];
    p.config = next;
    p.params.dns = next.dns;
    p.params.lease_time = next.lease_time;
    p.params.renewal_time = next.effective_renewal_time();
    p.params.rebinding_time = next.effective_rebinding_time();
    impl_->configs[i] = next;
  }
  return ok();
}

}  // namespace bngkit::bng::pool
