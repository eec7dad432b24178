// RouteAnnouncer: tells the routers where the BNG's subscribers are by driving a running
// FRR bgpd through vtysh. It configures `router bgp <local_as>` (router id, neighbours) and
// keeps the ipv4 unicast `network` statements equal to a desired prefix set (pool
// aggregates, optional /32 host routes) with a reconcile loop: read bgpd's running config
// back, diff, apply only the difference. FRR being down or slow never blocks the caller:
// vtysh runs on the announcer's own thread with a timeout, failures are counted and
// reported in status(), and the next reconcile retries.
//
// The parsing and diff steps are public free functions so they can be checked without FRR.
#pragma once

#include <bngkit/bng/export.hpp>
#include <bngkit/bng/pool/ipv4_range.hpp>
#include <bngkit/common/result.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bngkit::bng::bgp {

/// An IPv4 prefix announced with a `network` statement (host bits cleared).
using Prefix = pool::Ipv4Network;

/// One configured BGP neighbour.
struct Neighbor {
  std::string address;  ///< IPv4 address of the peer
  std::uint32_t remote_as = 0;
  bool operator==(const Neighbor&) const = default;
};

/// The BGP speaker the BNG wants bgpd to be.
struct SpeakerConfig {
  std::uint32_t local_as = 0;
  std::string router_id;  ///< IPv4 dotted quad
  std::vector<Neighbor> neighbors;
  bool operator==(const SpeakerConfig&) const = default;
};

/// Neighbours the announcer configures carry this description; only those are ever removed
/// again, so neighbours an operator added to the same instance by hand are left alone.
inline constexpr std::string_view kNeighborDescription = "bngkit";

/// A neighbour as bgpd's running config shows it.
struct FrrNeighbor {
  std::string address;
  std::string remote_as;  ///< "65000", or "internal"/"external"
  std::string description;
  bool ipv4_activated = true;  ///< exchanges ipv4 unicast routes (`neighbor X activate`)
  bool operator==(const FrrNeighbor&) const = default;
};

/// The part of bgpd's running configuration the announcer reads back: the default-VRF
/// `router bgp` instance (VRF instances are ignored).
struct FrrBgpConfig {
  std::optional<std::uint32_t> local_as;  ///< nullopt: no default-VRF instance
  std::string router_id;                  ///< empty when not set
  bool ebgp_requires_policy = true;       ///< false once "no bgp ebgp-requires-policy" is set
  bool network_import_check = true;       ///< false once "no bgp network import-check" is set
  bool default_ipv4_unicast = true;       ///< false once "no bgp default ipv4-unicast" is set
  std::vector<FrrNeighbor> neighbors;
  std::vector<Prefix> networks;           ///< `network` statements of address-family ipv4 unicast
};

/// Parses the text of `show running-config` (bgpd's, or the integrated one).
[[nodiscard]] BNGKIT_BNG_EXPORT Result<FrrBgpConfig> parse_running_config(std::string_view text);

/// One peer as `show bgp summary json` reports it.
struct PeerStatus {
  std::string address;
  std::uint32_t remote_as = 0;
  std::string state;  ///< FSM state: "Idle", "Connect", "Active", "OpenSent", "Established"...
  std::uint64_t prefixes_sent = 0;
  std::uint64_t prefixes_received = 0;
  [[nodiscard]] bool established() const { return state == "Established"; }
};

/// Parses `show bgp summary json` (ipv4 unicast peers). `{}` (no instance) gives no peers;
/// text that is not that JSON shape is an error naming what is missing.
[[nodiscard]] BNGKIT_BNG_EXPORT Result<std::vector<PeerStatus>> parse_bgp_summary(std::string_view json);

/// The configuration changes that take bgpd from `actual` to `speaker` + `prefixes`, as
/// vtysh commands grouped by the CLI node they run in.
struct ChangePlan {
  std::optional<std::uint32_t> remove_instance;  ///< `no router bgp N` first (AS changed)
  std::vector<std::string> router_commands;      ///< under `router bgp <local_as>`
  std::vector<std::string> ipv4_commands;        ///< under `address-family ipv4 unicast`
  [[nodiscard]] bool empty() const {
    return !remove_instance && router_commands.empty() && ipv4_commands.empty();
  }
};

/// Diffs the desired state against what bgpd holds. Deterministic (sorted) and minimal:
/// only what differs is in the plan; an in-step bgpd gives an empty plan. When the
/// instance must be (re)created, `actual` is treated as empty after the removal.
[[nodiscard]] BNGKIT_BNG_EXPORT ChangePlan plan_changes(const SpeakerConfig& speaker,
                                                        const std::vector<Prefix>& prefixes,
                                                        const FrrBgpConfig& actual);

/// Checks a speaker config: AS numbers not 0, router id and neighbour addresses IPv4,
/// no neighbour twice. The error names every problem.
[[nodiscard]] BNGKIT_BNG_EXPORT Result<void> validate(const SpeakerConfig& speaker);

/// Sorted, normalized (host bits cleared), without duplicates.
[[nodiscard]] BNGKIT_BNG_EXPORT std::vector<Prefix> canonical(std::vector<Prefix> prefixes);

struct AnnouncerOptions {
  SpeakerConfig speaker;
  std::string vtysh = "vtysh";  ///< the vtysh binary (PATH is searched)
  std::string vty_socket_dir;   ///< FRR's --vty_socket directory; empty: FRR's default
  std::chrono::milliseconds command_timeout{5'000};      ///< one vtysh call, then it is killed
  std::chrono::milliseconds reconcile_interval{10'000};  ///< periodic re-check (FRR restarts)
};

/// What the announcer knows, for /metrics and /health.
struct AnnouncerStatus {
  bool frr_up = false;          ///< the last vtysh round trip to bgpd succeeded
  bool in_step = false;         ///< after the last reconcile, bgpd held exactly the desired state
  bool announcing = true;       ///< false while withdrawn (drain, shutdown)
  std::size_t desired_prefixes = 0;    ///< prefixes bgpd should hold now (0 while withdrawn)
  std::size_t announced_prefixes = 0;  ///< `network` statements bgpd held at the last read-back
  std::vector<PeerStatus> peers;       ///< from the last `show bgp summary json`
  std::uint64_t reconciles = 0;          ///< reconcile rounds run
  std::uint64_t reconcile_failures = 0;  ///< rounds that ended in an error
  std::uint64_t commands_applied = 0;    ///< configuration commands bgpd accepted
  std::string last_error;                ///< empty after a successful round
};

class BNGKIT_BNG_EXPORT RouteAnnouncer {
 public:
  /// Validates the options; starts nothing (see start()).
  [[nodiscard]] static Result<std::unique_ptr<RouteAnnouncer>> create(AnnouncerOptions options);
  /// Stops the worker thread (waiting for a vtysh call in flight, bounded by its timeout).
  /// Announcements stay in FRR: call shutdown() first to withdraw them.
  ~RouteAnnouncer();
  RouteAnnouncer(const RouteAnnouncer&) = delete;
  RouteAnnouncer& operator=(const RouteAnnouncer&) = delete;

  /// Starts the worker thread: a reconcile at once, then every reconcile_interval and
  /// whenever the desired state changes.
  void start();
  /// The prefixes to announce (canonicalised). A change wakes the worker. Cheap; any thread.
  void set_prefixes(std::vector<Prefix> prefixes);
  /// A new speaker config (a configuration reload), applied by the next reconcile.
  [[nodiscard]] Result<void> set_speaker(SpeakerConfig speaker);
  /// false withdraws every prefix (drain); true announces them again.
  void set_announcing(bool announcing);
  /// Runs one reconcile on the calling thread (blocks up to a few command timeouts).
  [[nodiscard]] Result<void> reconcile_now();
  /// Withdraws every prefix synchronously, then stops the worker. For daemon shutdown.
  [[nodiscard]] Result<void> shutdown();

  [[nodiscard]] AnnouncerStatus status() const;

 private:
  struct Impl;
  explicit RouteAnnouncer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace bngkit::bng::bgp
