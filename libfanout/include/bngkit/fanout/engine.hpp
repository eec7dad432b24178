// A listener's data path: receives its datagrams and delivers them to the active
// downstream set by its policy. Userspace and TC eBPF engines share this interface.
#pragma once

#include <bngkit/common/result.hpp>
#include <bngkit/fanout/config.hpp>
#include <bngkit/fanout/endpoint.hpp>
#include <bngkit/fanout/export.hpp>
#include <bngkit/fanout/stats.hpp>

#include <memory>
#include <span>
#include <string>

namespace bngkit::fanout {

/// One listener's data path.
class BNGKIT_FANOUT_EXPORT Engine {
 public:
  virtual ~Engine();
  Engine() = default;
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  /// The engine actually running.
  [[nodiscard]] virtual Mode mode() const noexcept = 0;
  /// Binds / attaches and starts delivering. Errors say what failed and where.
  [[nodiscard]] virtual Result<void> start() = 0;
  /// Stops delivering and releases sockets / detaches. Idempotent.
  virtual void stop() noexcept = 0;
  /// True while started and every worker (or the attached program) still runs.
  [[nodiscard]] virtual bool running() const noexcept = 0;

  /// Replaces the set of downstreams datagrams go to (already filtered by health).
  /// Atomic: each datagram sees the old set or the new one, never a mix. Order matters
  /// only for round-robin; flow-hash placement depends on membership alone.
  [[nodiscard]] virtual Result<void> set_downstreams(std::span<const Endpoint> active) = 0;

  /// Counters since start.
  [[nodiscard]] virtual ListenerStats stats() const = 0;
};

/// The recvmmsg/sendmmsg engine for `config` (not started).
[[nodiscard]] BNGKIT_FANOUT_EXPORT std::unique_ptr<Engine> make_userspace_engine(
    const ListenerConfig& config);

}  // namespace bngkit::fanout
