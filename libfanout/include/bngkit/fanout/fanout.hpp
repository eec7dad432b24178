// The fanout as a whole: one engine per listener, downstreams merged from their sources
// (static config, Kubernetes discovery), filtered by health probes and handed to the
// engines as atomic sets. What the daemon runs and what its metrics and health read.
#pragma once

#include <bngkit/common/result.hpp>
#include <bngkit/fanout/config.hpp>
#include <bngkit/fanout/endpoint.hpp>
#include <bngkit/fanout/export.hpp>
#include <bngkit/fanout/health.hpp>
#include <bngkit/fanout/kubernetes.hpp>
#include <bngkit/fanout/stats.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bngkit::fanout {

/// Where a downstream came from.
inline constexpr std::string_view kSourceStatic = "static";
inline constexpr std::string_view kSourceKubernetes = "kubernetes";

/// One downstream of a listener as the fanout sees it now.
struct DownstreamStatus {
  std::string name;
  Endpoint address;
  std::string source;  ///< "static", "kubernetes"
  Health health = Health::unknown;
  bool active = false;  ///< in the set the engine delivers to
};

/// One listener as the fanout sees it now.
struct ListenerStatus {
  std::string name;
  Mode configured_mode = Mode::userspace;
  Mode mode = Mode::userspace;  ///< the engine running (differs after a fallback)
  std::string fallback_reason;  ///< why tc_ebpf fell back to userspace
  Policy policy = Policy::replicate;
  bool running = false;
  ListenerStats stats;
  std::vector<DownstreamStatus> downstreams;
  std::size_t active_downstreams = 0;
  /// EndpointSlice discovery of this listener, when it has a Kubernetes source.
  std::optional<EndpointSliceWatcher::Status> discovery;
};

/// Runs the listeners of a FanoutConfig.
class BNGKIT_FANOUT_EXPORT Fanout {
 public:
  explicit Fanout(FanoutConfig config);
  ~Fanout();
  Fanout(const Fanout&) = delete;
  Fanout& operator=(const Fanout&) = delete;

  /// Starts health probes, every listener's engine (in the caller's network namespace)
  /// and EndpointSlice discovery. A tc_ebpf listener that cannot attach falls back to
  /// userspace (logged, and in ListenerStatus::fallback_reason). Fails when a listener
  /// cannot start at all, or discovery cannot find the API server or its namespace.
  [[nodiscard]] Result<void> start();
  /// Stops probes and engines. Idempotent.
  void stop() noexcept;

  /// Replaces what `source` contributes to `listener`'s downstreams (discovery calls
  /// this with kSourceKubernetes; the static ones come from the config). Takes effect
  /// at once, atomically for the engine.
  [[nodiscard]] Result<void> set_downstreams(std::string_view listener, std::string_view source,
                                             std::vector<Downstream> downstreams);

  /// Every listener's state, counters and downstreams.
  [[nodiscard]] std::vector<ListenerStatus> status() const;

  /// Liveness: every engine, the probe thread and the discovery threads still run.
  /// `why` says what does not.
  [[nodiscard]] bool live(std::string* why = nullptr) const;
  /// Readiness: live, every Kubernetes source has been listed once, and every listener
  /// has at least one downstream to deliver to.
  [[nodiscard]] bool ready(std::string* why = nullptr) const;

  [[nodiscard]] const FanoutConfig& config() const noexcept;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace bngkit::fanout
