// LeaseTable: a map by address plus two indexes kept in step — (pool, subscriber) for
// offered/bound leases and an ordered expiry queue for every active lease.
#include <bngkit/bng/lease/lease_table.hpp>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <tuple>

namespace bngkit::bng::lease {

struct LeaseTable::Impl {
  mutable std::mutex mu;
  std::map<Ipv4, Lease> by_address;
  std::map<std::pair<std::string, SubscriberKey>, Ipv4, std::less<>> by_subscriber;
  std::set<std::pair<std::chrono::sys_seconds, Ipv4>> expiry;

  static bool holds_address(LeaseState s) {
    return s == LeaseState::offered || s == LeaseState::bound;
  }

  void index(const Lease& l) {
    if (holds_address(l.state)) by_subscriber[{l.pool_id, l.subscriber}] = l.address;
    if (is_active(l.state)) expiry.emplace(l.expires, l.address);
  }

  void unindex(const Lease& l) {
    if (holds_address(l.state)) {
      auto it = by_subscriber.find(std::pair{l.pool_id, l.subscriber});
      if (it != by_subscriber.end() && it->second == l.address) by_subscriber.erase(it);
    }
    if (is_active(l.state)) expiry.erase({l.expires, l.address});
  }
};

LeaseTable::LeaseTable() : impl_(std::make_unique<Impl>()) {}
LeaseTable::~LeaseTable() = default;

Result<void> LeaseTable::upsert(const Lease& lease) {
  std::lock_guard lock(impl_->mu);
  if (Impl::holds_address(lease.state)) {
    auto it = impl_->by_subscriber.find(std::pair{lease.pool_id, lease.subscriber});
    if (it != impl_->by_subscriber.end() && it->second != lease.address) {
      return make_error(std::errc::address_in_use, "lease table: " + lease.subscriber.to_string() +
                                                       " already holds " + it->second.to_string() +
                                                       " in pool " + lease.pool_id);
    }
  }
  if (auto it = impl_->by_address.find(lease.address); it != impl_->by_address.end()) {
    impl_->unindex(it->second);
    it->second = lease;
  } else {
    impl_->by_address.emplace(lease.address, lease);
  }
  impl_->index(lease);
  return ok();
}

std::optional<Lease> LeaseTable::erase(Ipv4 address) {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->by_address.find(address);
  if (it == impl_->by_address.end()) return std::nullopt;
  impl_->unindex(it->second);
  Lease l = std::move(it->second);
  impl_->by_address.erase(it);
  return l;
}

std::optional<Lease> LeaseTable::find(Ipv4 address) const {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->by_address.find(address);
  if (it == impl_->by_address.end()) return std::nullopt;
  return it->second;
}

std::optional<Lease> LeaseTable::find(const SubscriberKey& subscriber,
                                      std::string_view pool_id) const {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->by_subscriber.find(std::pair{std::string(pool_id), subscriber});
  if (it == impl_->by_subscriber.end()) return std::nullopt;
  return impl_->by_address.at(it->second);
}

std::vector<Lease> LeaseTable::expire(std::chrono::sys_seconds now) {
  std::lock_guard lock(impl_->mu);
  std::vector<Lease> out;
  while (!impl_->expiry.empty() && impl_->expiry.begin()->first <= now) {
    const Ipv4 address = impl_->expiry.begin()->second;
    auto it = impl_->by_address.find(address);
    Lease& l = it->second;
    out.push_back(l);
    impl_->unindex(l);
    if (l.state == LeaseState::declined) {
      impl_->by_address.erase(it);
    } else {
      l.state = LeaseState::released;
      impl_->index(l);
    }
  }
  return out;
}

std::optional<std::chrono::sys_seconds> LeaseTable::next_expiry() const {
  std::lock_guard lock(impl_->mu);
  if (impl_->expiry.empty()) return std::nullopt;
  return impl_->expiry.begin()->first;
}

std::vector<Lease> LeaseTable::snapshot() const {
  std::lock_guard lock(impl_->mu);
  std::vector<Lease> out;
  out.reserve(impl_->by_address.size());
  for (const auto& [address, l] : impl_->by_address) out.push_back(l);
  return out;
}

std::size_t LeaseTable::count(LeaseState state) const {
  std::lock_guard lock(impl_->mu);
  std::size_t n = 0;
  for (const auto& [address, l] : impl_->by_address) n += l.state == state ? 1 : 0;
  return n;
}

std::size_t LeaseTable::size() const {
  std::lock_guard lock(impl_->mu);
  return impl_->by_address.size();
}

}  // namespace bngkit::bng::lease
