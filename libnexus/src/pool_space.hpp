// PoolSpace: a pool's grants numbered as units 0..N-1, which units may be handed out, and
// how units are shared among the pool's owner replicas (blocks dealt round-robin).
#pragma once

#include <bngkit/nexus/model.hpp>
#include <cstdint>
#include <optional>
#include <set>
#include <string_view>
#include <utility>
#include <vector>

namespace bngkit::nexus::detail {

__extension__ using u128 = unsigned __int128;

/// Address arithmetic and ownership of one validated pool.
class PoolSpace {
 public:
  /// The part of the pool one replica may hand out. `whole` when the pool has no owners.
  struct Share {
    std::uint64_t size = 0;  ///< units in the share (0: this replica owns none)
    std::size_t index = 0;   ///< position of the replica among the pool's owners
    bool whole = false;
  };

  explicit PoolSpace(const Pool& pool);

  /// Number of units (grants) the pool is cut into, at most 2^63.
  [[nodiscard]] std::uint64_t units() const noexcept { return units_; }
  /// Units per ownership block.
  [[nodiscard]] std::uint64_t block() const noexcept { return block_; }
  /// The first address of unit `u`.
  [[nodiscard]] IpAddress address_of(std::uint64_t u) const;
  /// The unit whose grant starts at `a`, if `a` is one.
  [[nodiscard]] std::optional<std::uint64_t> unit_of(const IpAddress& a) const;
  /// May be handed out dynamically: not the network or broadcast address, the gateway, a DNS
  /// server, inside an exclusion, or reserved.
  [[nodiscard]] bool usable(std::uint64_t u) const;
  /// Index of the owner replica of unit `u` among the pool's owners (none without owners).
  [[nodiscard]] std::optional<std::size_t> owner_index(std::uint64_t u) const;
  [[nodiscard]] Share share_of(std::string_view replica) const;
  /// The pool's owner replicas, sorted.
  [[nodiscard]] const std::vector<std::string>& owners() const noexcept { return owners_; }
  /// The t-th unit (0 <= t < share.size) of a share.
  [[nodiscard]] std::uint64_t unit_in_share(const Share& s, std::uint64_t t) const;
  [[nodiscard]] bool in_share(const Share& s, std::uint64_t u) const;
  /// How many units are usable: exact for pools of up to 2^22 units, else computed from the
  /// blocked units and exclusion sizes (overlapping exclusions counted twice).
  [[nodiscard]] double usable_count() const;

 private:
  [[nodiscard]] u128 value_of(std::uint64_t u) const;

  std::vector<std::string> owners_;
  bool v4_ = true;
  int shift_ = 0;  // address bits per unit
  u128 base_ = 0;  // network address as an integer
  std::uint64_t units_ = 0;
  std::uint64_t block_ = 1;
  bool skip_edges_ = false;                      // IPv4 network and broadcast addresses
  std::set<std::uint64_t> blocked_;              // gateway, DNS servers, reservations
  std::vector<std::pair<u128, u128>> excluded_;  // inclusive address ranges
};

}  // namespace bngkit::nexus::detail
