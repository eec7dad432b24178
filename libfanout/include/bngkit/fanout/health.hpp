// Health probes for downstreams: ICMP echo over a raw socket or UDP echo, on an interval
// with a timeout, with failure and recovery thresholds. One thread probes every target;
// a change of state is reported through a callback.
#pragma once

#include <bngkit/common/result.hpp>
#include <bngkit/fanout/config.hpp>
#include <bngkit/fanout/endpoint.hpp>
#include <bngkit/fanout/export.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bngkit::fanout {

/// What the probes say about a downstream.
enum class Health : std::uint8_t {
  unknown,    ///< no verdict yet (just added): kept in rotation until the probes decide
  healthy,    ///< recovery_threshold probes in a row answered
  unhealthy,  ///< failure_threshold probes in a row failed
};

/// "unknown", "healthy", "unhealthy".
[[nodiscard]] BNGKIT_FANOUT_EXPORT std::string_view to_string(Health h) noexcept;

/// Probes a changing set of targets. A target that stops answering is reported
/// unhealthy after failure_threshold failed probes: at most
/// failure_threshold x interval + timeout after it died. Probes that draw an ICMP error
/// (port or host unreachable) fail at once instead of waiting for the timeout.
class BNGKIT_FANOUT_EXPORT HealthProber {
 public:
  /// Called from the probe thread on every change of a target's state.
  using Callback = std::function<void(const Endpoint& target, Health now)>;

  /// Probe state of one target, for status pages and tests.
  struct TargetStatus {
    Endpoint target;
    Health health = Health::unknown;
    std::uint32_t consecutive_failures = 0;
    std::uint32_t consecutive_successes = 0;
    std::uint64_t probes_sent = 0;
    std::optional<std::chrono::microseconds> last_rtt;
    std::string last_error;  ///< why the last failed probe failed
  };

  HealthProber(HealthConfig config, Callback on_change);
  ~HealthProber();
  HealthProber(const HealthProber&) = delete;
  HealthProber& operator=(const HealthProber&) = delete;

  /// Opens the probe socket (raw ICMP needs CAP_NET_RAW) in the caller's network
  /// namespace and starts the probe thread.
  [[nodiscard]] Result<void> start();
  /// Stops the probe thread. Idempotent.
  void stop() noexcept;
  /// True while the probe thread runs.
  [[nodiscard]] bool running() const noexcept;

  /// Replaces the targets. Targets already known keep their state; new ones start as
  /// unknown and are probed at once; targets left out are forgotten. For udp_echo the
  /// probe goes to the target's port unless the config names one.
  void set_targets(const std::vector<Endpoint>& targets);

  /// State of `target` (unknown when not a target).
  [[nodiscard]] Health health(const Endpoint& target) const;
  /// State of every target.
  [[nodiscard]] std::vector<TargetStatus> status() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace bngkit::fanout
