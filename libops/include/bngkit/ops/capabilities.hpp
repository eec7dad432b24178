// Giving up Linux capabilities once a daemon holds what it opened at start (BPF programs
// attached, raw sockets open, ports bound): a bug exploited later finds no CAP_SYS_ADMIN,
// CAP_BPF or CAP_DAC_OVERRIDE to use, and nothing it execs can get them back.
#pragma once

#include <bngkit/common/result.hpp>
#include <bngkit/ops/export.hpp>

#include <cstdint>
#include <initializer_list>
#include <string>

namespace bngkit::ops {

/// What drop_capabilities_except did.
struct CapabilityDrop {
  std::uint64_t kept = 0;     ///< effective and permitted set now (bit n: capability n)
  std::uint64_t dropped = 0;  ///< what the permitted set lost
  /// Whether the bounding set was cut to `kept` as well (needs CAP_SETPCAP, which a
  /// daemon started as root has; one started with a few ambient capabilities does not).
  bool bounding_dropped = false;
};

/// Keeps only the capabilities in `keep` (numbers from <linux/capability.h>, such as
/// CAP_NET_ADMIN) that the process holds: the effective and permitted sets become exactly
/// those, the inheritable and ambient sets empty, and every other capability leaves the
/// bounding set, so no later execve() regains it. An empty `keep` drops everything.
/// Linux keeps these sets per thread: this changes the calling thread, and the threads it
/// starts afterwards inherit the result. Call it before starting any other thread, or those
/// threads keep what they had.
BNGKIT_OPS_EXPORT Result<CapabilityDrop> drop_capabilities_except(std::initializer_list<int> keep);

/// "cap_net_admin,cap_net_raw" for a mask as in /proc/PID/status CapEff ("none" when 0).
BNGKIT_OPS_EXPORT std::string capability_names(std::uint64_t mask);

/// This process's effective capabilities (a mask as above).
BNGKIT_OPS_EXPORT Result<std::uint64_t> effective_capabilities();

}  // namespace bngkit::ops
