// The TC eBPF engine (private): one TcDataplane per Fanout holds the loaded program and
// its pinned maps and shares one clsact ingress attachment per interface among the
// listeners on it; one TcEngine per listener publishes its downstream sets and keeps a
// userspace socket for what the program leaves to the stack (fragments, IP options).
#pragma once

#include <bngkit/common/result.hpp>
#include <bngkit/ebpfkit/attach.hpp>
#include <bngkit/ebpfkit/map.hpp>
#include <bngkit/ebpfkit/object.hpp>
#include <bngkit/fanout/config.hpp>
#include <bngkit/fanout/engine.hpp>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "fanout_abi.h"

namespace bngkit::fanout {

/// The loaded fanout_tc program, its maps (pinned under TcConfig::pin_path and reused
/// from there), and its attachments.
class TcDataplane {
 public:
  /// Loads the program, reusing maps already pinned (a restart takes over the state).
  [[nodiscard]] static Result<std::shared_ptr<TcDataplane>> open(const TcConfig& tc);
  ~TcDataplane();
  TcDataplane(const TcDataplane&) = delete;
  TcDataplane& operator=(const TcDataplane&) = delete;

  /// An attachment to `ifname`'s clsact ingress, shared by every listener on it; the
  /// filter goes when the last holder lets go (unless keep_attached).
  [[nodiscard]] Result<std::shared_ptr<ebpfkit::TcAttachment>> attach(const std::string& ifname);

  /// Removes listener entries left by an earlier run that are not in `keep`.
  void prune_listeners(const std::vector<fanout_listener_key>& keep);

  [[nodiscard]] const TcConfig& config() const noexcept { return tc_; }
  [[nodiscard]] const ebpfkit::Map<fanout_listener_key, fanout_listener>& listeners() const {
    return *listeners_;
  }
  [[nodiscard]] const ebpfkit::Map<std::uint32_t, std::uint32_t>& sets() const { return *sets_; }
  [[nodiscard]] const ebpfkit::PerCpuMap<std::uint32_t, fanout_stats>& stats() const {
    return *stats_;
  }

 private:
  TcDataplane() = default;
  TcConfig tc_;
  std::unique_ptr<ebpfkit::Object> object_;
  std::unique_ptr<ebpfkit::Map<fanout_listener_key, fanout_listener>> listeners_;
  std::unique_ptr<ebpfkit::Map<std::uint32_t, std::uint32_t>> sets_;  // inner map fds
  std::unique_ptr<ebpfkit::PerCpuMap<std::uint32_t, fanout_stats>> stats_;
  std::mutex mutex_;
  std::map<std::string, std::weak_ptr<ebpfkit::TcAttachment>> hooks_;
};

/// The TC engine for `listener`, slot `index` of the dataplane's maps (not started).
[[nodiscard]] Result<std::unique_ptr<Engine>> make_tc_engine(
    const ListenerConfig& listener, std::uint32_t index, std::shared_ptr<TcDataplane> dataplane);

}  // namespace bngkit::fanout
