// FastPath: loads and drives the XDP DHCP fast path (dhcp_fastpath.bpf.c): server config,
// pool parameters, the subscriber cache (by MAC, VLAN tags or option 82 circuit-id),
// XDP attach/detach, summed per-CPU counters and the ring buffer of served leases.
// Takes host-side C++ types; the conversion to the kernel ABI (network order, monotonic
// nanoseconds) happens in one place inside the implementation.
//
// Deployment notes: needs kernel >= 5.18 (bpf_loop, bpf_xdp_load/store_bytes). VLAN keys
// need the tags in the frame XDP sees: turn rx VLAN offload off on the NIC
// (`ethtool -K <dev> rxvlan off`). With checksum verification on, requests from senders
// that leave checksums to offload (veth peers with tx offload on) go to the slow path.
#pragma once

#include <bngkit/bng/dhcp/ipv4.hpp>
#include <bngkit/bng/export.hpp>
#include <bngkit/common/result.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace bngkit::ebpfkit {
class Object;
}

namespace bngkit::bng::fastpath {

/// How FastPath::open loads the program.
struct FastPathOptions {
  /// bpffs directory for the cache maps (subscriber_pools, subscriber_vlans,
  /// subscriber_circuits, pool_params). When set, they are pinned there and REUSED when
  /// already pinned, so the cache survives a restart. Empty: nothing is pinned.
  std::string pin_dir;
  /// Capacity of each subscriber cache map.
  std::uint32_t max_subscribers = 65536;
  /// Capacity of the pool parameter map.
  std::uint32_t max_pools = 4096;
  /// Bytes of the served-lease ring buffer (a power of two, at least one page).
  std::uint32_t event_ring_bytes = 256 * 1024;
};

/// The server side of every reply.
struct ServerConfig {
  Ipv4 server_ip;         ///< option 54 and IPv4 source of replies
  MacAddress server_mac;  ///< Ethernet source of replies (the attached interface's MAC)
  bool enabled = true;    ///< false: every request goes to the slow path
  /// Verify IPv4 header and UDP checksums of requests (a bad one goes to the slow path).
  /// Senders that leave checksums to offload (veth with tx offload on) fail this check.
  bool verify_checksums = true;
};

/// What a pool hands out besides the address. Unset/empty values are not sent.
struct PoolParams {
  Ipv4 subnet_mask;                       ///< option 1 (always sent when set)
  Ipv4 router;                            ///< option 3 (always sent when set)
  std::vector<Ipv4> dns;                  ///< option 6, at most 4 (always sent when set)
  std::chrono::seconds lease_time{3600};  ///< option 51 (1 s .. 0xfffffffe s)
  /// Options 58/59; default 1/2 and 7/8 of the lease time (RFC 2131 4.4.5).
  std::optional<std::chrono::seconds> renewal_time;
  std::optional<std::chrono::seconds> rebinding_time;
  Ipv4 broadcast;           ///< option 28, sent only when the client asks (PRL)
  std::string domain_name;  ///< option 15 (at most 64 bytes), only when asked
  std::uint16_t mtu = 0;    ///< option 26 (>= 68), only when asked
};

/// A subscriber the fast path may serve.
struct CacheEntry {
  Ipv4 ip;                    ///< the address to hand out
  std::uint32_t pool_id = 0;  ///< pool whose parameters go with it (set_pool)
  /// Served only before this instant (steady_clock is CLOCK_MONOTONIC on Linux, the clock
  /// of bpf_ktime_get_ns). The kernel never extends it: refresh it from lease events.
  std::chrono::steady_clock::time_point expiry;
  bool serve_discover = true;  ///< false: DISCOVERs of this subscriber go to the slow path
  bool serve_request = true;   ///< false: REQUESTs of this subscriber go to the slow path
};

/// VLAN IDs of a subscriber line: one 802.1Q tag is {0, vid}; QinQ is {outer, inner}.
struct VlanKey {
  std::uint16_t s_vlan = 0;
  std::uint16_t c_vlan = 0;
  friend bool operator==(const VlanKey&, const VlanKey&) = default;
};

/// Which cache map matched a request (lookup order: MAC, VLAN, circuit-id).
enum class MatchedBy : std::uint8_t { mac = 1, vlan = 2, circuit_id = 3 };

/// One reply sent by the kernel, as read from the ring buffer.
struct LeaseEvent {
  enum class Type : std::uint8_t { offer = 2, ack = 5 };
  Type type = Type::offer;
  std::chrono::steady_clock::time_point served_at;  ///< when the kernel replied
  std::chrono::steady_clock::time_point expiry;     ///< cache entry expiry at that time
  Ipv4 ip;                                          ///< yiaddr handed out
  Ipv4 ciaddr;                                      ///< set on renewals
  Ipv4 giaddr;                                      ///< set when relayed
  std::uint32_t xid = 0;
  std::uint32_t pool_id = 0;
  std::chrono::seconds lease_time{0};
  std::uint32_t ifindex = 0;
  VlanKey vlan;
  MacAddress chaddr;
  MatchedBy matched_by = MatchedBy::mac;
  std::vector<std::uint8_t> circuit_id;  ///< option 82 circuit-id (empty: none or > 64 bytes)
  bool renewal = false;                  ///< ciaddr was set
  bool relayed = false;                  ///< giaddr was set; the reply went to the relay
  bool broadcast = false;                ///< the reply was broadcast
};

/// Counters summed over CPUs. Each DHCP request counts in `rx_requests` and in exactly
/// one other field.
struct BNGKIT_BNG_EXPORT Stats {
  std::uint64_t rx_requests = 0;
  std::uint64_t tx_offer = 0;
  std::uint64_t tx_ack = 0;
  std::uint64_t pass_disabled = 0;
  std::uint64_t pass_malformed = 0;
  std::uint64_t pass_unsupported = 0;
  std::uint64_t pass_not_for_us = 0;
  std::uint64_t pass_other_server = 0;
  std::uint64_t pass_no_entry = 0;
  std::uint64_t pass_expired = 0;
  std::uint64_t pass_policy = 0;
  std::uint64_t pass_mismatch = 0;
  std::uint64_t pass_too_big = 0;
  std::uint64_t pass_no_room = 0;
  std::uint64_t pass_event_full = 0;
  std::uint64_t drop_error = 0;

  /// Requests passed to the slow path (every pass_* counter).
  [[nodiscard]] std::uint64_t passed() const noexcept;
  friend bool operator==(const Stats&, const Stats&) = default;
};

/// How XDP is attached.
enum class XdpMode : std::uint8_t {
  automatic,  ///< native when the driver supports it, else generic
  native,     ///< in the driver (XDP_FLAGS_DRV_MODE)
  generic,    ///< after skb allocation (XDP_FLAGS_SKB_MODE), works on any device
};

/// Result of running the program once on a frame (BPF_PROG_TEST_RUN).
struct TestRunOutput {
  std::uint32_t action = 0;  ///< XDP_PASS (2), XDP_TX (3), XDP_DROP (1), ...
  std::uint32_t duration_ns = 0;
  std::vector<std::uint8_t> frame;  ///< the frame after the program ran
};

/// The loaded fast path. Move-only; detaches and closes everything on destruction
/// (pinned maps stay pinned).
class BNGKIT_BNG_EXPORT FastPath {
 public:
  /// Loads the embedded program and creates (or reuses pinned) maps.
  [[nodiscard]] static Result<FastPath> open(const FastPathOptions& options = {});

  FastPath(FastPath&&) noexcept;
  FastPath& operator=(FastPath&&) noexcept;
  FastPath(const FastPath&) = delete;
  FastPath& operator=(const FastPath&) = delete;
  ~FastPath();

  /// Sets the server identity; until called, every request goes to the slow path.
  [[nodiscard]] Result<void> set_server_config(const ServerConfig& config);
  /// Adds or replaces pool `pool_id`'s parameters.
  [[nodiscard]] Result<void> set_pool(std::uint32_t pool_id, const PoolParams& params);
  /// Removes a pool; false when it was absent.
  [[nodiscard]] Result<bool> remove_pool(std::uint32_t pool_id);

  /// Adds or replaces a cache entry keyed by client hardware address.
  [[nodiscard]] Result<void> cache_by_mac(const MacAddress& mac, const CacheEntry& entry);
  /// Adds or replaces a cache entry keyed by the frame's VLAN tags.
  [[nodiscard]] Result<void> cache_by_vlan(VlanKey vlan, const CacheEntry& entry);
  /// Adds or replaces a cache entry keyed by option 82 circuit-id (1..64 bytes).
  [[nodiscard]] Result<void> cache_by_circuit_id(std::span<const std::uint8_t> circuit_id,
                                                 const CacheEntry& entry);
  /// Remove cache entries; false when absent.
  [[nodiscard]] Result<bool> uncache_by_mac(const MacAddress& mac);
  [[nodiscard]] Result<bool> uncache_by_vlan(VlanKey vlan);
  [[nodiscard]] Result<bool> uncache_by_circuit_id(std::span<const std::uint8_t> circuit_id);
  /// The entry cached for `mac`, if any.
  [[nodiscard]] Result<std::optional<CacheEntry>> cached_by_mac(const MacAddress& mac) const;

  /// Attaches to `ifname`; fails (EEXIST) when another XDP program is attached there, or
  /// when this FastPath is already attached. A `dhcp_fastpath` program left attached by a
  /// process that died without detaching (SIGKILL, crash) is removed and replaced.
  [[nodiscard]] Result<void> attach(std::string_view ifname, XdpMode mode = XdpMode::automatic);
  /// Detaches (no-op when not attached).
  [[nodiscard]] Result<void> detach();
  /// Interface index attached to, or 0.
  [[nodiscard]] int attached_ifindex() const noexcept;

  /// Counters summed over all CPUs.
  [[nodiscard]] Result<Stats> stats() const;
  /// Sets every counter to zero.
  [[nodiscard]] Result<void> reset_stats();

  /// Calls `on_event` for each served lease waiting in the ring buffer, waiting up to
  /// `timeout` for the first (0: do not wait). Returns the number of events delivered.
  [[nodiscard]] Result<std::size_t> poll_events(
      const std::function<void(const LeaseEvent&)>& on_event,
      std::chrono::milliseconds timeout = std::chrono::milliseconds{0});
  /// A descriptor (owned by this object) for event loops: it polls readable once a batch
  /// of events waits (BNG_FP_EVENT_WAKEUP_BYTES), so call poll_events() with a zero timeout
  /// when it fires and also on a short timer (a few ms) for the events of a quiet period.
  [[nodiscard]] int event_fd() const noexcept;

  /// Runs the program on `frame` with BPF_PROG_TEST_RUN (`repeat` times in the kernel).
  [[nodiscard]] Result<TestRunOutput> test_run(std::span<const std::uint8_t> frame,
                                               std::uint32_t repeat = 1) const;

  /// The underlying object, for what this class does not wrap (health checks, maps).
  [[nodiscard]] const ebpfkit::Object& object() const noexcept;

 private:
  struct Impl;
  explicit FastPath(std::unique_ptr<Impl> impl) noexcept;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bngkit::bng::fastpath
