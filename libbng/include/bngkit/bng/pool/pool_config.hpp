// PoolConfig: one address pool as operators configure it ([[pools]] in bng.toml), and the
// validation that turns a wrong pool into a sentence naming the pool and the problem.
#pragma once

#include <bngkit/bng/export.hpp>
#include <bngkit/bng/pool/ipv4_range.hpp>
#include <bngkit/bng/pool/subscriber_key.hpp>
#include <bngkit/common/result.hpp>
#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace bngkit::bng::pool {

/// A static reservation: this subscriber always gets this address from the pool.
struct Reservation {
  SubscriberKey subscriber;
  Ipv4 address;
  friend bool operator==(const Reservation&, const Reservation&) = default;
};

/// One address pool. The network and broadcast addresses and the gateway are never handed
/// out; neither are exclusions. Reserved addresses go only to their subscriber.
struct BNGKIT_BNG_EXPORT PoolConfig {
  /// Smallest network a pool may have: a /8 (16M addresses, a 2 MiB free-set).
  static constexpr std::uint8_t kMinPrefixLength = 8;
  /// Largest prefix with an assignable address once network and broadcast are taken out.
  static constexpr std::uint8_t kMaxPrefixLength = 30;

  std::string id;                  ///< [[pools]] id, e.g. "residential-ipv4"
  Ipv4Network network;             ///< [[pools]] network, e.g. 10.0.1.0/24
  std::optional<Ipv4Range> range;  ///< dynamic range; the whole network when absent
  std::optional<Ipv4> gateway;     ///< option 3 (router); inside the network
  std::vector<Ipv4> dns;           ///< option 6, in order
  std::chrono::seconds lease_time{3600};
  /// T1 (option 58); zero means half the lease time.
  std::chrono::seconds renewal_time{0};
  /// T2 (option 59); zero means 7/8 of the lease time.
  std::chrono::seconds rebinding_time{0};
  std::vector<Ipv4Range> exclusions;  ///< never handed out; single addresses have first == last
  std::vector<Reservation> reservations;
  /// How long a DECLINEd address stays out of use before it may be handed out again.
  std::chrono::seconds probation_time{3600};

  /// The addresses that allocation draws from: `range`, or the network's hosts.
  [[nodiscard]] Ipv4Range effective_range() const noexcept;
  /// T1 with the default applied.
  [[nodiscard]] std::chrono::seconds effective_renewal_time() const noexcept;
  /// T2 with the default applied.
  [[nodiscard]] std::chrono::seconds effective_rebinding_time() const noexcept;
  /// True when `a` is excluded (an exclusion, network, broadcast or gateway address).
  [[nodiscard]] bool is_excluded(Ipv4 a) const noexcept;

  friend bool operator==(const PoolConfig&, const PoolConfig&) = default;
};

/// Every problem with one pool, each a sentence such as
/// "pool residential-ipv4: gateway 10.0.2.1 is outside 10.0.1.0/24". Empty when valid.
[[nodiscard]] BNGKIT_BNG_EXPORT std::vector<Error> pool_problems(const PoolConfig& pool);

/// Every problem with a set of pools: each pool's problems, then problems between pools
/// (duplicate ids, overlapping networks or ranges). Empty when valid.
[[nodiscard]] BNGKIT_BNG_EXPORT std::vector<Error> pool_problems(std::span<const PoolConfig> pools);

/// The first problem with a set of pools (std::errc::invalid_argument), or success.
[[nodiscard]] BNGKIT_BNG_EXPORT Result<void> validate_pools(std::span<const PoolConfig> pools);

}  // namespace bngkit::bng::pool
