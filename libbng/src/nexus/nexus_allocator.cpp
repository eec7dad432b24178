// NexusAllocator: the cache of Nexus grants behind the AddressAllocator interface.
#include <bngkit/bng/nexus/nexus_allocator.hpp>

#include <map>
#include <mutex>
#include <unordered_map>

namespace bngkit::bng::nexus {
namespace {

using pool::AllocError;
using Key = std::pair<pool::SubscriberKey, std::string>;  // subscriber, pool id

Error alloc_error(AllocError e, std::string context) { return Error{pool::make_error_code(e), std::move(context)}; }

}  // namespace

struct NexusAllocator::Impl {
  NexusAllocatorOptions options;
  mutable std::mutex mu;
  std::map<Key, CachedAllocation> grants;
  std::unordered_map<std::uint32_t, Key> by_address;
  std::map<Key, dhcp::Ipv4> releasing;  // given back; Nexus has not confirmed the release yet

  const pool::PoolParameters* find_pool(std::string_view id) const {
    for (const auto& p : options.pools)
      if (p.pool_id == id) return &p;
    return nullptr;
  }

  pool::Allocation to_allocation(const CachedAllocation& c) const {
    return pool::Allocation{c.subscriber, c.address, false, *find_pool(c.pool_id)};
  }

  // Caller holds `mu`.
  Result<void> insert(const CachedAllocation& a) {
    const auto* p = find_pool(a.pool_id);
    if (!p) return alloc_error(AllocError::pool_not_found, "pool \"" + a.pool_id + "\" is not served here");
    if (!p->network.contains(a.address)) {
      return alloc_error(AllocError::not_in_pool, a.address.to_string() + " is outside pool " + a.pool_id);
    }
    Key key{a.subscriber, a.pool_id};
    if (releasing.count(key)) {
      return alloc_error(AllocError::unavailable, a.subscriber.to_string() + " in " + a.pool_id +
                                                      ": its previous grant is still being released in Nexus");
    }
    if (auto it = by_address.find(a.address.to_host()); it != by_address.end() && it->second != key) {
      return alloc_error(AllocError::address_in_use, a.address.to_string() + " is held here by " +
                                                         it->second.first.to_string() + ", not " +
                                                         a.subscriber.to_string());
    }
    if (auto it = grants.find(key); it != grants.end() && it->second.address != a.address) {
      by_address.erase(it->second.address.to_host());
    }
    grants[key] = a;
    by_address[a.address.to_host()] = key;
    return {};
  }

  // Caller holds `mu`; returns the removed grant, now releasing, when the subscriber held
  // `address`.
  std::optional<CachedAllocation> remove(const pool::SubscriberKey& s, std::string_view pool_id, dhcp::Ipv4 address) {
    auto it = grants.find(Key{s, std::string(pool_id)});
    if (it == grants.end() || it->second.address != address) return std::nullopt;
    auto out = it->second;
    by_address.erase(address.to_host());
    grants.erase(it);
    // Without a callback nobody releases it in Nexus, so nobody would report it done.
    if (options.released) releasing[Key{s, std::string(pool_id)}] = address;
    return out;
  }
};

Result<std::unique_ptr<NexusAllocator>> NexusAllocator::create(NexusAllocatorOptions options) {
  if (options.pools.empty()) return make_error(std::errc::invalid_argument, "nexus allocator: no pools");
  for (std::size_t i = 0; i < options.pools.size(); ++i) {
    for (std::size_t j = i + 1; j < options.pools.size(); ++j) {
      if (options.pools[i].pool_id == options.pools[j].pool_id) {
        return make_error(std::errc::invalid_argument, "nexus allocator: pool \"" + options.pools[i].pool_id + "\" twice");
      }
    }
  }
  if (!options.clock) options.clock = pool::system_now;
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  return std::unique_ptr<NexusAllocator>(new NexusAllocator(std::move(impl)));
}

NexusAllocator::NexusAllocator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
NexusAllocator::~NexusAllocator() = default;

Result<void> NexusAllocator::learn(const CachedAllocation& allocation) {
  std::lock_guard lock(impl_->mu);
  return impl_->insert(allocation);
}

bool NexusAllocator::refresh(const CachedAllocation& renewed) {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->grants.find(Key{renewed.subscriber, renewed.pool_id});
  if (it == impl_->grants.end() || it->second.address != renewed.address) return false;
  it->second.expires_at = renewed.expires_at;
  return true;
}

bool NexusAllocator::releasing(const pool::SubscriberKey& subscriber, std::string_view pool_id) const {
  std::lock_guard lock(impl_->mu);
  return impl_->releasing.count(Key{subscriber, std::string(pool_id)}) != 0;
}

void NexusAllocator::release_done(const CachedAllocation& released) {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->releasing.find(Key{released.subscriber, released.pool_id});
  if (it != impl_->releasing.end() && it->second == released.address) impl_->releasing.erase(it);
}

std::size_t NexusAllocator::releases_pending() const {
  std::lock_guard lock(impl_->mu);
  return impl_->releasing.size();
}

void NexusAllocator::forget(const pool::SubscriberKey& subscriber, std::string_view pool_id) {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->grants.find(Key{subscriber, std::string(pool_id)});
  if (it == impl_->grants.end()) return;
  impl_->by_address.erase(it->second.address.to_host());
  impl_->grants.erase(it);
}

std::vector<CachedAllocation> NexusAllocator::cached() const {
  std::lock_guard lock(impl_->mu);
  std::vector<CachedAllocation> out;
  out.reserve(impl_->grants.size());
  for (const auto& [key, grant] : impl_->grants) out.push_back(grant);
  return out;
}

Result<pool::Allocation> NexusAllocator::allocate(const pool::AllocationRequest& request) {
  if (!request.subscriber.valid()) return alloc_error(AllocError::invalid_subscriber, "allocate");
  std::lock_guard lock(impl_->mu);
  if (!impl_->find_pool(request.pool_id)) {
    return alloc_error(AllocError::pool_not_found, "pool \"" + request.pool_id + "\" is not served here");
  }
  auto it = impl_->grants.find(Key{request.subscriber, request.pool_id});
  if (it == impl_->grants.end()) {
    return alloc_error(AllocError::unavailable, "Nexus has not granted " + request.subscriber.to_string() +
                                                    " an address in " + request.pool_id + " yet");
  }
  return impl_->to_allocation(it->second);
}

Result<pool::Allocation> NexusAllocator::renew(const pool::SubscriberKey& subscriber, std::string_view pool_id,
                                               dhcp::Ipv4 address) {
  if (!subscriber.valid()) return alloc_error(AllocError::invalid_subscriber, "renew");
  std::lock_guard lock(impl_->mu);
  const auto* p = impl_->find_pool(pool_id);
  if (!p) return alloc_error(AllocError::pool_not_found, "pool \"" + std::string(pool_id) + "\" is not served here");
  if (!p->network.contains(address)) {
    return alloc_error(AllocError::not_in_pool, address.to_string() + " is outside pool " + std::string(pool_id));
  }
  auto it = impl_->grants.find(Key{subscriber, std::string(pool_id)});
  if (it != impl_->grants.end()) {
    if (it->second.address != address) {
      return alloc_error(AllocError::wrong_address, subscriber.to_string() + " holds " +
                                                        it->second.address.to_string() + " in Nexus, not " +
                                                        address.to_string());
    }
    return impl_->to_allocation(it->second);
  }
  if (auto o = impl_->by_address.find(address.to_host()); o != impl_->by_address.end()) {
    return alloc_error(AllocError::address_in_use, address.to_string() + " belongs to " + o->second.first.to_string());
  }
  return alloc_error(AllocError::unavailable,
                     "Nexus has not granted " + subscriber.to_string() + " an address in " + std::string(pool_id) + " yet");
}

Result<void> NexusAllocator::release(const pool::SubscriberKey& subscriber, std::string_view pool_id,
                                     dhcp::Ipv4 address) {
  std::optional<CachedAllocation> removed;
  {
    std::lock_guard lock(impl_->mu);
    removed = impl_->remove(subscriber, pool_id, address);
  }
  if (!removed) {
    return alloc_error(AllocError::not_bound, subscriber.to_string() + " does not hold " + address.to_string());
  }
  if (impl_->options.released) impl_->options.released(*removed);
  return {};
}

Result<std::chrono::sys_seconds> NexusAllocator::decline(const pool::SubscriberKey& subscriber,
                                                         std::string_view pool_id, dhcp::Ipv4 address) {
  if (auto r = release(subscriber, pool_id, address); !r) return r.error();
  return impl_->options.clock() + impl_->options.probation;
}

Result<void> NexusAllocator::restore(const pool::RestoredAddress& restored) {
  if (restored.kind != pool::RestoreKind::binding) return {};
  std::lock_guard lock(impl_->mu);
  return impl_->insert(CachedAllocation{restored.subscriber, restored.pool_id, restored.address, {}});
}

std::optional<pool::Allocation> NexusAllocator::lookup(const pool::SubscriberKey& subscriber,
                                                       std::string_view pool_id) const {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->grants.find(Key{subscriber, std::string(pool_id)});
  if (it == impl_->grants.end()) return std::nullopt;
  return impl_->to_allocation(it->second);
}

std::optional<pool::SubscriberKey> NexusAllocator::owner(dhcp::Ipv4 address) const {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->by_address.find(address.to_host());
  if (it == impl_->by_address.end()) return std::nullopt;
  return it->second.first;
}

std::optional<pool::PoolParameters> NexusAllocator::pool(std::string_view pool_id) const {
  if (const auto* p = impl_->find_pool(pool_id)) return *p;
  return std::nullopt;
}

std::optional<pool::PoolParameters> NexusAllocator::pool_for(dhcp::Ipv4 address) const {
  for (const auto& p : impl_->options.pools)
    if (p.network.contains(address)) return p;
  return std::nullopt;
}

std::vector<pool::PoolUtilisation> NexusAllocator::utilisation() const {
  std::lock_guard lock(impl_->mu);
  std::vector<pool::PoolUtilisation> out;
  for (const auto& p : impl_->options.pools) {
    pool::PoolUtilisation u;
    u.pool_id = p.pool_id;
    const std::uint64_t size = std::uint64_t{1} << (32 - p.network.prefix_length);
    u.total = size > 2 ? size - 2 - (p.gateway && p.network.contains(*p.gateway) ? 1 : 0) : size;
    for (const auto& [key, grant] : impl_->grants)
      if (key.second == p.pool_id) ++u.assigned;
    u.free = u.total > u.assigned ? u.total - u.assigned : 0;
    out.push_back(std::move(u));
  }
  return out;
}

}  // namespace bngkit::bng::nexus
