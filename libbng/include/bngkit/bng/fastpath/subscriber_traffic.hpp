// SubscriberTraffic: per-subscriber octet/packet counters (for RADIUS accounting Interim and
// Stop) and per-subscriber rate limits (from RADIUS attributes or CoA), enforced in the
// kernel by two TC clsact programs on the subscriber-facing interface
// (libbng/bpf/subscriber_tc.bpf.c): ingress counts and polices upstream traffic by IPv4
// source, egress downstream traffic by IPv4 destination. 802.1Q and QinQ frames are
// looked through.
//
// What is counted: IPv4 octets (header included, no link-layer framing); a GSO/GRO
// aggregate counts as the packets it stands for. Packets the limiter drops are counted
// apart (dropped_*), not in packets_*/octets_*. Traffic of addresses without an entry
// passes, counted only in the global "unknown" counters of status(); so do non-IPv4 and
// malformed frames. The limiter is a policer: over-rate packets are dropped (TC_ACT_SHOT),
// not queued.
//
// Deployment notes: needs kernel >= 5.1 (bpf_spin_lock in TC programs). The filters sit
// at clsact priority 1, handle 0xb57 and pass with TC_ACT_UNSPEC, so filters after them
// still run.
#pragma once

#include <bngkit/bng/dhcp/ipv4.hpp>
#include <bngkit/bng/export.hpp>
#include <bngkit/common/result.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace bngkit::ebpfkit {
class Object;
}

namespace bngkit::bng::fastpath {

/// How SubscriberTraffic::create loads the programs.
struct SubscriberTrafficOptions {
  /// The subscriber-facing interface attach() hooks (may be set later than create(), but
  /// must name an interface by then).
  std::string interface;
  /// bpffs directory for the policy, counter and global stats maps. When set, they are
  /// pinned there and REUSED when already pinned, so counters and rate limits survive a
  /// daemon restart. Empty: nothing is pinned.
  std::string pin_dir;
  /// Capacity of the policy and counter maps (subscribers with an entry at once). Memory
  /// grows with the entries present: about 72 + 64 * possible CPUs octets each, plus
  /// the kernel's per-element overhead.
  std::uint32_t max_subscribers = 65536;
};

/// A subscriber's rate limits. 0 = unlimited in that direction.
struct RatePolicy {
  std::uint64_t up_bps = 0;    ///< from the subscriber, bits/s (at most 100 Gbit/s)
  std::uint64_t down_bps = 0;  ///< to the subscriber, bits/s (at most 100 Gbit/s)
  /// Token bucket size in octets, for each limited direction (at most 1 GiB). 0: the
  /// default, 250 ms at the direction's rate and at least 64 KiB. TCP through a policer
  /// needs a bucket of that order: with much less it gets a fraction of the rate.
  std::uint64_t burst_bytes = 0;
  friend bool operator==(const RatePolicy&, const RatePolicy&) = default;
};

/// One subscriber's counters, summed over CPUs. Octets are IPv4 octets.
struct BNGKIT_BNG_EXPORT TrafficCounters {
  std::uint64_t packets_up = 0;  ///< passed, from the subscriber
  std::uint64_t octets_up = 0;
  std::uint64_t packets_down = 0;  ///< passed, to the subscriber
  std::uint64_t octets_down = 0;
  std::uint64_t dropped_up = 0;  ///< packets dropped by the upstream limiter
  std::uint64_t dropped_down = 0;
  std::uint64_t dropped_octets_up = 0;
  std::uint64_t dropped_octets_down = 0;

  TrafficCounters& operator+=(const TrafficCounters& other) noexcept;
  friend bool operator==(const TrafficCounters&, const TrafficCounters&) = default;
};

/// State for metrics and health checks.
struct SubscriberTrafficStatus {
  bool attached = false;        ///< both filters are ours and in place on the interface
  std::string interface;        ///< the interface from the options
  unsigned ifindex = 0;         ///< attached to (0: not attached)
  std::size_t entries = 0;      ///< subscribers with an entry
  std::uint32_t capacity = 0;   ///< map capacity (max_subscribers)
  /// Global counters (summed over CPUs) of traffic that belongs to no entry; it passed.
  std::uint64_t unknown_packets_up = 0;
  std::uint64_t unknown_octets_up = 0;
  std::uint64_t unknown_packets_down = 0;
  std::uint64_t unknown_octets_down = 0;
  std::uint64_t non_ipv4 = 0;     ///< frames that are not IPv4 (ARP, IPv6, ...)
  std::uint64_t malformed = 0;    ///< truncated or bad IPv4 headers, more than two tags
  std::uint64_t no_counters = 0;  ///< packets of an entry whose counters were missing
};

/// Which program a test run exercises.
enum class TrafficDirection : std::uint8_t {
  up,    ///< ingress: from the subscriber, keyed by IPv4 source
  down,  ///< egress: to the subscriber, keyed by IPv4 destination
};

/// Result of running one program once on a frame (BPF_PROG_TEST_RUN).
struct TrafficTestRun {
  std::int32_t action = 0;  ///< TC_ACT_UNSPEC (-1) when passed, TC_ACT_SHOT (2) when dropped
  [[nodiscard]] bool passed() const noexcept { return action == -1; }
};

/// The loaded programs and their maps. Move-only; detaches on destruction (pinned maps
/// stay pinned, with their entries).
class BNGKIT_BNG_EXPORT SubscriberTraffic {
 public:
  /// Loads the embedded programs and creates (or reuses pinned) maps. Does not attach.
  [[nodiscard]] static Result<SubscriberTraffic> create(const SubscriberTrafficOptions& options);

  SubscriberTraffic(SubscriberTraffic&&) noexcept;
  SubscriberTraffic& operator=(SubscriberTraffic&&) noexcept;
  SubscriberTraffic(const SubscriberTraffic&) = delete;
  SubscriberTraffic& operator=(const SubscriberTraffic&) = delete;
  ~SubscriberTraffic();

  /// Attaches both programs (clsact ingress and egress) to the interface of the options.
  /// A filter running our programs found at our place (left by a process that died
  /// without detaching) is replaced, so run one SubscriberTraffic per interface; a filter
  /// of any other program there is an error (EEXIST), as is attaching twice.
  [[nodiscard]] Result<void> attach();
  /// Detaches both (no-op when not attached).
  [[nodiscard]] Result<void> detach();
  /// True while attached by this object.
  [[nodiscard]] bool attached() const noexcept;

  /// Adds subscriber `ip` with `policy`, with zeroed counters; for a subscriber already
  /// present, changes its rates and keeps its counters and bucket state.
  [[nodiscard]] Result<void> add(Ipv4 ip, const RatePolicy& policy);
  /// Removes subscriber `ip`; returns its final counters (nullopt when it was absent).
  [[nodiscard]] Result<std::optional<TrafficCounters>> remove(Ipv4 ip);
  /// Counters of `ip` (nullopt when absent).
  [[nodiscard]] Result<std::optional<TrafficCounters>> counters(Ipv4 ip) const;
  /// Counters of every subscriber with an entry.
  [[nodiscard]] Result<std::vector<std::pair<Ipv4, TrafficCounters>>> all_counters() const;
  /// The policy of `ip` as stored (burst resolved; nullopt when absent).
  [[nodiscard]] Result<std::optional<RatePolicy>> policy(Ipv4 ip) const;
  /// Attachment, occupancy (walks the policy map's keys) and global counters.
  [[nodiscard]] Result<SubscriberTrafficStatus> status() const;

  /// Runs one direction's program on `frame` (a full Ethernet frame) with
  /// BPF_PROG_TEST_RUN. `gso_segs` > 1 presents it as a GSO aggregate of that many segments.
  /// Maps are updated as for real traffic.
  [[nodiscard]] Result<TrafficTestRun> test_run(TrafficDirection direction,
                                                std::span<const std::uint8_t> frame,
                                                std::uint32_t gso_segs = 0) const;

  /// The underlying object, for what this class does not wrap (health checks, maps).
  [[nodiscard]] const ebpfkit::Object& object() const noexcept;

 private:
  struct Impl;
  explicit SubscriberTraffic(std::unique_ptr<Impl> impl) noexcept;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bngkit::bng::fastpath
