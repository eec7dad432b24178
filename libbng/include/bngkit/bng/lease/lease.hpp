// Lease: what the BNG has told one client about one address, as persisted by LeaseStore and
// held by LeaseTable. Times are CLOCK_REALTIME epoch seconds (they must mean the same thing
// after a restart); the helpers below convert them for the fast path, which runs on
// CLOCK_MONOTONIC (bpf_ktime_get_ns).
#pragma once

#include <bngkit/bng/export.hpp>
#include <bngkit/bng/pool/allocator.hpp>
#include <bngkit/bng/pool/ipv4_range.hpp>
#include <bngkit/bng/pool/subscriber_key.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bngkit::bng::lease {

using pool::SubscriberKey;

/// Where a lease stands. The numeric values are persisted: never renumber.
enum class LeaseState : std::uint8_t {
  offered = 0,   ///< DHCPOFFER sent, REQUEST not yet seen; expires after the offer time
  bound = 1,     ///< DHCPACK sent; the client uses the address until `expires`
  declined = 2,  ///< the client DECLINEd it; the address is in probation until `expires`
  released = 3,  ///< released or expired: kept as a stickiness hint, address is free
};

/// "offered", "bound", "declined", "released".
[[nodiscard]] BNGKIT_BNG_EXPORT std::string_view to_string(LeaseState state) noexcept;
/// The state named by to_string(), or nullopt.
[[nodiscard]] BNGKIT_BNG_EXPORT std::optional<LeaseState> parse_lease_state(
    std::string_view text) noexcept;

/// True for states in which the address is in use (offered, bound) or held back (declined).
[[nodiscard]] constexpr bool is_active(LeaseState s) noexcept { return s != LeaseState::released; }

/// One lease. Identified by its address: an address has at most one lease record.
struct Lease {
  Ipv4 address;
  std::string pool_id;
  SubscriberKey subscriber;
  LeaseState state = LeaseState::offered;
  std::chrono::sys_seconds expires{};    ///< end of the lease, offer or probation
  std::string hostname;                  ///< option 12, as sent by the client
  std::string circuit_id;                ///< option 82 sub-option 1, raw bytes
  std::string remote_id;                 ///< option 82 sub-option 2, raw bytes
  std::chrono::sys_seconds last_seen{};  ///< last message from the client

  friend bool operator==(const Lease&, const Lease&) = default;
};

/// The allocator entry that re-creates this lease's effect on start (binding, probation or
/// history), see AddressAllocator::restore.
[[nodiscard]] BNGKIT_BNG_EXPORT pool::RestoredAddress to_restored(const Lease& lease);

// ---- Clock conversions -------------------------------------------------------------------

/// CLOCK_REALTIME epoch seconds as persisted.
[[nodiscard]] constexpr std::int64_t to_epoch_seconds(std::chrono::sys_seconds t) noexcept {
  return t.time_since_epoch().count();
}
[[nodiscard]] constexpr std::chrono::sys_seconds from_epoch_seconds(std::int64_t s) noexcept {
  return std::chrono::sys_seconds(std::chrono::seconds(s));
}

/// One reading of both clocks, taken together, so conversions between them agree.
struct BNGKIT_BNG_EXPORT ClockPair {
  std::chrono::sys_seconds realtime;  ///< CLOCK_REALTIME, whole seconds
  std::uint64_t monotonic_ns = 0;     ///< CLOCK_MONOTONIC, as bpf_ktime_get_ns() reads it

  /// Reads both clocks now.
  [[nodiscard]] static ClockPair now() noexcept;

  /// The CLOCK_MONOTONIC nanosecond value at which wall time `t` is reached; 0 when `t` is
  /// already more than `monotonic_ns` in the past (the fast path then treats it as expired).
  [[nodiscard]] std::uint64_t to_monotonic_ns(std::chrono::sys_seconds t) const noexcept;
  /// The wall time corresponding to a CLOCK_MONOTONIC nanosecond value, rounded down.
  [[nodiscard]] std::chrono::sys_seconds to_realtime(std::uint64_t monotonic_ns) const noexcept;
};

}  // namespace bngkit::bng::lease
