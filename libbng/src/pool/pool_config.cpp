// Pool configuration defaults and validation. Every message names the pool and says what
// is wrong in the operator's own terms (the config keys of [[pools]]).
#include <algorithm>
#include <bngkit/bng/pool/pool_config.hpp>
#include <cstdint>
#include <map>

namespace bngkit::bng::pool {
namespace {

constexpr std::int64_t kMaxDhcpSeconds = 0xfffffffe;  // 0xffffffff means "infinite"

Error problem(const std::string& label, const std::string& what) {
  return make_error(std::errc::invalid_argument, label + ": " + what);
}

std::string secs(std::chrono::seconds s) { return std::to_string(s.count()) + "s"; }

bool valid_id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

// Addresses in `r` that allocation may hand out, given merged exclusion ranges.
std::uint64_t assignable_count(const PoolConfig& p) {
  const Ipv4Range r = p.effective_range();
  std::vector<Ipv4Range> cut = p.exclusions;
  const Ipv4Network net{p.network.network(), p.network.prefix_length};
  cut.push_back({net.network(), net.network()});
  cut.push_back({net.broadcast(), net.broadcast()});
  if (p.gateway) cut.push_back({*p.gateway, *p.gateway});
  std::sort(cut.begin(), cut.end(),
            [](const Ipv4Range& a, const Ipv4Range& b) { return a.first < b.first; });
  std::uint64_t removed = 0;
  std::uint64_t next = r.first.to_host();  // first address not yet accounted for
  for (const auto& c : cut) {
    if (c.last < c.first || !c.overlaps(r)) continue;
    const std::uint64_t lo = std::max<std::uint64_t>(c.first.to_host(), next);
    const std::uint64_t hi = std::min<std::uint64_t>(c.last.to_host(), r.last.to_host());
    if (lo > hi) continue;
    removed += hi - lo + 1;
    next = hi + 1;
  }
  return r.size() - removed;
}

void check_times(const PoolConfig& p, const std::string& label, std::vector<Error>& out) {
  if (p.lease_time.count() <= 0) {
    out.push_back(problem(label, "lease_time must be positive (got " + secs(p.lease_time) + ")"));
    return;
  }
  if (p.lease_time.count() > kMaxDhcpSeconds) {
    out.push_back(problem(
        label, "lease_time " + secs(p.lease_time) + " does not fit DHCP's 32-bit lease time"));
    return;
  }
  if (p.renewal_time.count() < 0) {
    out.push_back(problem(label, "renewal_time must not be negative"));
    return;
  }
  if (p.rebinding_time.count() < 0) {
    out.push_back(problem(label, "rebinding_time must not be negative"));
    return;
  }
  const auto t1 = p.effective_renewal_time();
  const auto t2 = p.effective_rebinding_time();
  if (t1 >= t2) {
    out.push_back(problem(label, "renewal_time (" + secs(t1) + ") must be less than " +
                                     "rebinding_time (" + secs(t2) + ")"));
  }
  if (t2 >= p.lease_time) {
    out.push_back(problem(label, "rebinding_time (" + secs(t2) + ") must be less than " +
                                     "lease_time (" + secs(p.lease_time) + ")"));
  }
  if (p.probation_time.count() < 0) {
    out.push_back(problem(label, "probation_time must not be negative"));
  }
}

void check_pool(const PoolConfig& p, const std::string& label, std::vector<Error>& out) {
  if (p.id.empty()) {
    out.push_back(problem(label, "id is empty"));
  } else if (!std::all_of(p.id.begin(), p.id.end(), valid_id_char)) {
    out.push_back(problem(label, "id may only contain letters, digits, '.', '-' and '_'"));
  }

  const Ipv4Network& given = p.network;
  const std::string net_text = Ipv4Network{given.network(), given.prefix_length}.to_string();
  if (given.prefix_length < PoolConfig::kMinPrefixLength) {
    out.push_back(problem(label, "network " + given.to_string() + " is too large (at most /" +
                                     std::to_string(PoolConfig::kMinPrefixLength) + ")"));
    return;  // Every other check would talk about a network that cannot be built.
  }
  if (given.prefix_length > PoolConfig::kMaxPrefixLength) {
    out.push_back(problem(label, "network " + given.to_string() +
                                     " has no assignable addresses (at most /" +
                                     std::to_string(PoolConfig::kMaxPrefixLength) + ")"));
    return;
  }
  if (given.has_host_bits()) {
    out.push_back(problem(label, "network " + given.to_string() +
                                     " has host bits set (did you "
                                     "mean " +
                                     net_text + "?)"));
  }
  const Ipv4 network_addr = given.network();
  const Ipv4 broadcast_addr = given.broadcast();

  bool range_ok = true;
  if (p.range) {
    if (p.range->last < p.range->first) {
      out.push_back(problem(label, "range " + p.range->first.to_string() + "-" +
                                       p.range->last.to_string() + " ends before it starts"));
      range_ok = false;
    } else if (!given.contains(p.range->first) || !given.contains(p.range->last)) {
      out.push_back(problem(label, "range " + p.range->to_string() + " is outside " + net_text));
      range_ok = false;
    }
  }

  if (p.gateway) {
    const std::string gw = p.gateway->to_string();
    if (!given.contains(*p.gateway)) {
      out.push_back(problem(label, "gateway " + gw + " is outside " + net_text));
    } else if (*p.gateway == network_addr) {
      out.push_back(problem(label, "gateway " + gw + " is the network address of " + net_text));
    } else if (*p.gateway == broadcast_addr) {
      out.push_back(problem(label, "gateway " + gw + " is the broadcast address of " + net_text));
    }
  }

  for (const Ipv4 dns : p.dns) {
    if (dns.is_unspecified() || dns == Ipv4::from_host(0xffffffffu)) {
      out.push_back(problem(label, "dns server " + dns.to_string() + " is not a usable address"));
    }
  }

  check_times(p, label, out);

  bool exclusions_ok = true;
  for (const auto& e : p.exclusions) {
    if (e.last < e.first) {
      out.push_back(problem(label, "exclusion " + e.first.to_string() + "-" + e.last.to_string() +
                                       " ends before it starts"));
      exclusions_ok = false;
    } else if (!given.contains(e.first) || !given.contains(e.last)) {
      out.push_back(problem(label, "exclusion " + e.to_string() + " is outside " + net_text));
      exclusions_ok = false;
    }
  }

  const Ipv4Range effective = p.effective_range();
  const std::string range_text = p.range ? "range " + p.range->to_string() : "network " + net_text;
  std::map<Ipv4, const SubscriberKey*> by_address;
  std::map<SubscriberKey, Ipv4> by_subscriber;
  for (const auto& r : p.reservations) {
    const std::string who = r.subscriber.valid() ? r.subscriber.to_string() : "?";
    const std::string what = "reservation " + r.address.to_string() + " for " + who;
    if (!r.subscriber.valid()) {
      out.push_back(problem(label, what + " has an invalid subscriber key"));
      continue;
    }
    if (range_ok && !effective.contains(r.address)) {
      out.push_back(problem(label, what + " is outside " + range_text));
    } else if (r.address == network_addr) {
      out.push_back(problem(label, what + " is the network address"));
    } else if (r.address == broadcast_addr) {
      out.push_back(problem(label, what + " is the broadcast address"));
    } else if (p.gateway && r.address == *p.gateway) {
      out.push_back(problem(label, what + " is the gateway"));
    } else {
      for (const auto& e : p.exclusions) {
        if (e.contains(r.address)) {
          out.push_back(problem(label, what + " is excluded (exclusion " + e.to_string() + ")"));
          break;
        }
      }
    }
    if (auto [it, fresh] = by_address.emplace(r.address, &r.subscriber); !fresh) {
      out.push_back(problem(label, "reservation " + r.address.to_string() + " is given to both " +
                                       it->second->to_string() + " and " + who));
    }
    if (auto [it, fresh] = by_subscriber.emplace(r.subscriber, r.address); !fresh) {
      out.push_back(problem(label, "subscriber " + who + " has two reservations (" +
                                       it->second.to_string() + " and " + r.address.to_string() +
                                       ")"));
    }
  }

  if (range_ok && exclusions_ok && assignable_count(p) == 0) {
    out.push_back(problem(label, range_text +
                                     " has no assignable address once the network, broadcast, "
                                     "gateway and exclusions are taken out"));
  }
}

std::string label_of(const PoolConfig& p, std::size_t index) {
  return p.id.empty() ? "pool #" + std::to_string(index + 1) : "pool " + p.id;
}

}  // namespace

Ipv4Range PoolConfig::effective_range() const noexcept {
  if (range) return *range;
  return network.all();
}

std::chrono::seconds PoolConfig::effective_renewal_time() const noexcept {
  return renewal_time.count() > 0 ? renewal_time : lease_time / 2;
}

std::chrono::seconds PoolConfig::effective_rebinding_time() const noexcept {
  return rebinding_time.count() > 0 ? rebinding_time : lease_time * 7 / 8;
}

bool PoolConfig::is_excluded(Ipv4 a) const noexcept {
  if (a == network.network() || a == network.broadcast()) return true;
  if (gateway && a == *gateway) return true;
  return std::any_of(exclusions.begin(), exclusions.end(),
                     [a](const Ipv4Range& e) { return e.contains(a); });
}

std::vector<Error> pool_problems(const PoolConfig& pool) {
  std::vector<Error> out;
  check_pool(pool, label_of(pool, 0), out);
  return out;
}

std::vector<Error> pool_problems(std::span<const PoolConfig> pools) {
  std::vector<Error> out;
  for (std::size_t i = 0; i < pools.size(); ++i) check_pool(pools[i], label_of(pools[i], i), out);

  for (std::size_t i = 0; i < pools.size(); ++i) {
    const PoolConfig& a = pools[i];
    for (std::size_t j = i + 1; j < pools.size(); ++j) {
      const PoolConfig& b = pools[j];
      if (!a.id.empty() && a.id == b.id) {
        out.push_back(make_error(std::errc::invalid_argument,
                                 "pool id " + a.id + " is used by more than one pool"));
        continue;
      }
      const Ipv4Network na{a.network.network(), a.network.prefix_length};
      const Ipv4Network nb{b.network.network(), b.network.prefix_length};
      if (!na.overlaps(nb)) continue;
      const std::string names =
          "pools " + label_of(a, i).substr(5) + " and " + label_of(b, j).substr(5) + " overlap";
      if (na != nb) {
        // Different masks over the same addresses: a client could not be told its subnet.
        out.push_back(make_error(std::errc::invalid_argument,
                                 names + " (" + na.to_string() + " and " + nb.to_string() + ")"));
      } else if (a.effective_range().overlaps(b.effective_range())) {
        // One subnet split between pools is fine as long as the ranges are disjoint.
        out.push_back(make_error(std::errc::invalid_argument,
                                 names + " (range " + a.effective_range().to_string() + " and " +
                                     b.effective_range().to_string() + " in " + na.to_string() +
                                     ")"));
      }
    }
  }
  return out;
}

Result<void> validate_pools(std::span<const PoolConfig> pools) {
  if (pools.empty()) return make_error(std::errc::invalid_argument, "no pools are configured");
  auto problems = pool_problems(pools);
  if (!problems.empty()) return std::move(problems.front());
  return ok();
}

}  // namespace bngkit::bng::pool
