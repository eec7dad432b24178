// PoolSpace: unit <-> address arithmetic (128-bit), usable units, and owner shares.
#include "pool_space.hpp"

#include <algorithm>

namespace bngkit::nexus::detail {
namespace {

u128 to_int(const IpAddress& a) {
  u128 v = 0;
  const int n = a.is_v4() ? 4 : 16;
  for (int i = 0; i < n; ++i) v = (v << 8) | a.bytes()[static_cast<std::size_t>(i)];
  return v;
}

IpAddress from_int(u128 v, bool v4) {
  if (v4) return IpAddress::v4(static_cast<std::uint32_t>(v));
  std::array<std::uint8_t, 16> b{};
  for (int i = 15; i >= 0; --i) {
    b[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v);
    v >>= 8;
  }
  return IpAddress::v6(b);
}

u128 span_of(int bits) {  // 2^bits - 1 without overflowing at 128
  return bits >= 128 ? ~u128{0} : (u128{1} << bits) - 1;
}

}  // namespace

PoolSpace::PoolSpace(const Pool& pool) : owners_(pool.owners) {
  v4_ = pool.network.is_v4();
  const int width = v4_ ? 32 : 128;
  const int delegated = pool.delegated_length == 0 ? width : pool.delegated_length;
  shift_ = width - delegated;
  base_ = to_int(pool.network.address());
  const int unit_bits = std::min(delegated - pool.network.length(), 63);
  units_ = std::uint64_t{1} << unit_bits;
  skip_edges_ = v4_ && pool.network.length() <= 30;

  const std::uint64_t k = owners_.empty() ? 1 : owners_.size();
  // Blocks small enough that every owner gets several, large enough to keep a subscriber's
  // probe local; a power of two that divides the unit count.
  std::uint64_t target = units_ / (4 * k);
  block_ = 1;
  while (block_ * 2 <= target && block_ < 256) block_ *= 2;
  if (owners_.empty()) block_ = units_;

  auto block_address = [&](const IpAddress& a) {
    if (auto u = unit_of(a))
      blocked_.insert(*u);
    else if (a.is_v4() == v4_ && pool.network.contains(a)) {
      // Inside a unit but not at its start (a gateway inside a delegated prefix).
      const u128 off = (to_int(a) - base_) >> shift_;
      if (off < units_) blocked_.insert(static_cast<std::uint64_t>(off));
    }
  };
  if (pool.gateway) block_address(*pool.gateway);
  for (const auto& d : pool.dns) block_address(d);
  for (const auto& [sub, a] : pool.reservations) block_address(a);
  for (const auto& x : pool.exclusions) {
    if (x.is_v4() != v4_) continue;
    const u128 lo = to_int(x.address());
    excluded_.emplace_back(lo, lo + span_of((v4_ ? 32 : 128) - x.length()));
  }
}

u128 PoolSpace::value_of(std::uint64_t u) const { return base_ + (u128{u} << shift_); }

IpAddress PoolSpace::address_of(std::uint64_t u) const { return from_int(value_of(u), v4_); }

std::optional<std::uint64_t> PoolSpace::unit_of(const IpAddress& a) const {
  if (a.is_v4() != v4_) return std::nullopt;
  const u128 v = to_int(a);
  if (v < base_) return std::nullopt;
  const u128 off = v - base_;
  if ((off & span_of(shift_)) != 0) return std::nullopt;
  const u128 u = off >> shift_;
  if (u >= units_) return std::nullopt;
  return static_cast<std::uint64_t>(u);
}

bool PoolSpace::usable(std::uint64_t u) const {
  if (u >= units_) return false;
  if (skip_edges_ && (u == 0 || u == units_ - 1)) return false;
  if (blocked_.count(u) != 0) return false;
  const u128 lo = value_of(u);
  const u128 hi = lo + span_of(shift_);
  for (const auto& [xlo, xhi] : excluded_)
    if (xlo <= hi && lo <= xhi) return false;
  return true;
}

std::optional<std::size_t> PoolSpace::owner_index(std::uint64_t u) const {
  if (owners_.empty()) return std::nullopt;
  return static_cast<std::size_t>((u / block_) % owners_.size());
}

PoolSpace::Share PoolSpace::share_of(std::string_view replica) const {
  if (owners_.empty()) return Share{units_, 0, true};
  auto it = std::find(owners_.begin(), owners_.end(), replica);
  if (it == owners_.end()) return Share{};
  const auto i = static_cast<std::uint64_t>(it - owners_.begin());
  const std::uint64_t k = owners_.size();
  const std::uint64_t blocks = units_ / block_;
  const std::uint64_t mine = blocks > i ? (blocks - 1 - i) / k + 1 : 0;
  return Share{mine * block_, static_cast<std::size_t>(i), false};
}

std::uint64_t PoolSpace::unit_in_share(const Share& s, std::uint64_t t) const {
  if (s.whole) return t;
  const std::uint64_t block = s.index + owners_.size() * (t / block_);
  return block * block_ + t % block_;
}

bool PoolSpace::in_share(const Share& s, std::uint64_t u) const {
  if (s.whole) return u < units_;
  if (s.size == 0) return false;
  auto owner = owner_index(u);
  return owner && *owner == s.index;
}

double PoolSpace::usable_count() const {
  if (units_ <= (std::uint64_t{1} << 22)) {
    std::uint64_t n = 0;
    for (std::uint64_t u = 0; u < units_; ++u) n += usable(u) ? 1 : 0;
    return static_cast<double>(n);
  }
  double n = static_cast<double>(units_) - static_cast<double>(blocked_.size());
  if (skip_edges_) n -= 2;
  const u128 first = base_;
  const u128 last = value_of(units_ - 1) + span_of(shift_);
  for (auto [lo, hi] : excluded_) {
    lo = std::max(lo, first);
    hi = std::min(hi, last);
    if (lo <= hi) n -= static_cast<double>(((hi - lo) >> shift_) + 1);
  }
  return std::max(n, 0.0);
}

}  // namespace bngkit::nexus::detail
