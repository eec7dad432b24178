// Hybrid logical clock: stamps that follow wall-clock milliseconds yet never go backwards
// and always exceed every stamp seen from a peer, so "later write wins" means causally later.
#pragma once

#include <chrono>
#include <compare>
#include <cstdint>
#include <functional>
#include <string>

namespace bngkit::nexus {

/// Who wrote an entry and when: the HLC reading and the writing replica's id. Ordered by
/// (hlc, origin), which is total because one replica never issues the same reading twice.
struct Stamp {
  std::uint64_t hlc = 0;  ///< (milliseconds since the Unix epoch << 16) | logical counter
  std::string origin;     ///< id of the replica that wrote the entry

  friend bool operator==(const Stamp&, const Stamp&) = default;
  friend std::strong_ordering operator<=>(const Stamp& a, const Stamp& b) {
    if (auto c = a.hlc <=> b.hlc; c != 0) return c;
    return a.origin.compare(b.origin) <=> 0;
  }

  /// The wall-clock milliseconds part of an HLC reading.
  [[nodiscard]] static constexpr std::uint64_t millis(std::uint64_t hlc) noexcept {
    return hlc >> 16;
  }
};

/// A hybrid logical clock (Kulkarni et al., 2014) packed into 64 bits: 48 bits of
/// milliseconds, 16 bits of logical counter; a counter overflow borrows the next millisecond.
/// Not thread-safe: its owner serialises access.
class HybridClock {
 public:
  /// Milliseconds since the Unix epoch.
  using PhysicalSource = std::function<std::uint64_t()>;

  HybridClock() : physical_(&system_millis) {}
  explicit HybridClock(PhysicalSource physical) : physical_(std::move(physical)) {}

  /// A reading for a local event: greater than every earlier reading and every observed one.
  [[nodiscard]] std::uint64_t now() {
    const std::uint64_t candidate = physical_() << 16;
    last_ = candidate > last_ ? candidate : last_ + 1;
    return last_;
  }

  /// Takes in a reading received from a peer, so that later local readings exceed it.
  void observe(std::uint64_t remote) noexcept {
    if (remote > last_) last_ = remote;
  }

  /// The last reading issued or observed.
  [[nodiscard]] std::uint64_t last() const noexcept { return last_; }

  /// The system's wall clock in milliseconds since the Unix epoch.
  [[nodiscard]] static std::uint64_t system_millis() {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
  }

 private:
  PhysicalSource physical_;
  std::uint64_t last_ = 0;
};

}  // namespace bngkit::nexus
