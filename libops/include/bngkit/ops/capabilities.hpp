// Giving up Linux capabilities once a daemon holds what it opened at start (BPF programs
// attached, raw sockets open, ports bound): a bug exploited later finds no CAP_SYS_ADMIN,
// CAP_BPF or CAP_DAC_OVERRIDE to use, and nothing it execs can get them back.
#pragma once

#include <bngkit/common/result.hpp>
#include <bngkit/ops/export.hpp>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace bngkit::ops {

/// What drop_capabilities_except did.
struct CapabilityDrop {
  std::uint64_t kept = 0;     ///< effective and permitted set now (bit n: capability n)
  std::uint64_t dropped = 0;  ///< what the permitted set lost
  /// Whether the bounding set was cut to `kept` as well (needs CAP_SETPCAP, which a
  /// daemon started as root has; one started with a few ambient capabilities does not).
  bool bounding_dropped = false;
  /// Threads of the process that hold only `kept` now (the caller included).
  std::size_t threads = 1;
};

/// Keeps only the capabilities in `keep` (numbers from <linux/capability.h>, such as
/// CAP_NET_ADMIN) that the process holds: the effective and permitted sets become exactly
/// those, the inheritable and ambient sets empty, and every other capability leaves the
/// bounding set, so no later execve() regains it. An empty `keep` drops everything.
///
/// Linux keeps these sets per thread, so this changes every thread of the process: the
/// caller directly, each other thread by running the same drop in a signal handler (a
/// real-time signal no one has a handler for, borrowed for the call), the way glibc makes
/// setuid() process-wide. It returns once /proc shows every thread holding only what is
/// kept, and fails, naming the thread, when one blocks that signal or has not dropped
/// within five seconds. Threads interrupted by the signal see EINTR from calls such as
/// poll() or reads on sockets with a receive timeout.
BNGKIT_OPS_EXPORT Result<CapabilityDrop> drop_capabilities_except(std::initializer_list<int> keep);

/// One thread's capability sets, as /proc/PID/task/TID/status shows them.
struct ThreadCapabilities {
  int tid = 0;
  std::string name;  ///< the thread's comm
  std::uint64_t effective = 0, permitted = 0, inheritable = 0, bounding = 0, ambient = 0;
  std::uint64_t blocked_signals = 0;  ///< SigBlk: bit n-1 for signal n
};

/// Every thread of process `pid` (0: this one). How tests and operators check that no
/// thread kept what a drop gave up.
BNGKIT_OPS_EXPORT Result<std::vector<ThreadCapabilities>> thread_capabilities(int pid = 0);

/// "cap_net_admin,cap_net_raw" for a mask as in /proc/PID/status CapEff ("none" when 0).
BNGKIT_OPS_EXPORT std::string capability_names(std::uint64_t mask);

/// This process's effective capabilities (a mask as above).
BNGKIT_OPS_EXPORT Result<std::uint64_t> effective_capabilities();

}  // namespace bngkit::ops
