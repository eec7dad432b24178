// Gateway: the whole DHCP side of a BNG on one subscriber interface, ready to embed. It
// wires the address allocator, the lease table and durable store, the slow-path server on
// an AF_PACKET socket, and the XDP fast path: bound leases are cached in the kernel,
// renewals the kernel served come back through its ring buffer and keep leases true, and
// leases that end leave the cache. Runs on a caller-supplied Asio io_context.
#pragma once

#include <bngkit/bng/export.hpp>
#include <bngkit/bng/fastpath/fast_path.hpp>
#include <bngkit/bng/lease/lease.hpp>
#include <bngkit/bng/pool/allocator.hpp>
#include <bngkit/bng/pool/pool_config.hpp>
#include <bngkit/bng/slowpath/dhcp_server.hpp>
#include <bngkit/common/result.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace bngkit::bng {

struct GatewayOptions {
  std::string interface;                  ///< subscriber-facing interface
  std::vector<pool::PoolConfig> pools;    ///< for the embedded local allocator
  std::string default_pool;               ///< pool of unrelayed clients (first pool when empty)
  std::optional<dhcp::Ipv4> server_id;    ///< default: the default pool's gateway
  std::filesystem::path lease_db;         ///< SQLite lease database (parent must exist)
  std::chrono::seconds offer_time{60};
  slowpath::SubscriberIdentity identity = slowpath::SubscriberIdentity::mac;
  bool fast_path = true;                  ///< serve cached subscribers from XDP
  fastpath::XdpMode xdp_mode = fastpath::XdpMode::automatic;
  std::string pin_dir;                    ///< bpffs dir for the cache maps; empty: no pinning
  bool verify_checksums = true;           ///< fast path: send bad-checksum requests to the slow path
  std::chrono::milliseconds expiry_interval{1000};
};

/// One slow-path request as observed, for metrics and logs.
struct RequestRecord {
  std::optional<dhcp::MessageType> type;
  std::optional<dhcp::MessageType> reply;  ///< OFFER, ACK, NAK, or nullopt (dropped)
  std::string drop_reason;
  std::chrono::nanoseconds latency{0};     ///< receive to reply sent
};

/// State a daemon exposes in /metrics and /health.
struct GatewayStatus {
  bool running = false;
  bool draining = false;  ///< not taking new subscribers
  bool fast_path_attached = false;
  std::optional<fastpath::Stats> fast_path;       ///< nullopt when the fast path is off
  slowpath::DhcpServerStats slow_path;
  std::size_t leases_offered = 0;
  std::size_t leases_bound = 0;
  std::size_t leases_declined = 0;
  std::uint64_t fast_path_renewals_served = 0;    ///< kernel ACKs of bound leases (ring buffer)
  std::uint64_t fast_path_renewals_recorded = 0;  ///< ... that extended the lease on disk
  std::uint64_t fast_path_event_errors = 0;      ///< ring buffer events that could not be applied
  std::uint64_t fast_path_cache_errors = 0;      ///< bound leases the kernel cache refused
  std::size_t admission_held = 0;                ///< requests waiting for their admission
  std::uint64_t admission_overflows = 0;         ///< requests dropped: kMaxHeldRequests reached
  std::vector<pool::PoolUtilisation> pools;
};

class BNGKIT_BNG_EXPORT Gateway {
 public:
  /// Opens the lease store, restores leases into the allocator (the local pools of
  /// `options`, or `allocator` when given, e.g. a Nexus-backed one) and loads the fast path.
  [[nodiscard]] static Result<std::unique_ptr<Gateway>> create(
      GatewayOptions options, std::unique_ptr<pool::AddressAllocator> allocator = nullptr);
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  /// Opens the interface, attaches XDP, refills the kernel cache from bound leases, and
  /// starts serving on `io` (which the caller runs).
  [[nodiscard]] Result<void> start(boost::asio::io_context& io);
  /// Stops serving and detaches XDP (pinned cache maps stay). Call on the io thread.
  void stop();

  /// Called after every slow-path request.
  void set_request_observer(std::function<void(const RequestRecord&)> observer);
  /// Puts every DISCOVER and REQUEST to `hook` first (see DhcpServer::set_admission). A
  /// request left pending is held (the newest per subscriber, kMaxHeldRequests in all) until
  /// readmit() replays it. Call before start() or on the io thread.
  void set_admission(slowpath::AdmissionHook hook);
  /// The hook set_admission installed (empty when none), e.g. to chain another after it.
  [[nodiscard]] slowpath::AdmissionHook admission() const;
  /// Replays the held request of `subscriber` now that its admission is decided. Call on
  /// the io thread, never from inside the admission hook.
  void readmit(const pool::SubscriberKey& subscriber);
  /// Told after the gateway's own handling when a lease is bound or a bound lease ends
  /// (sessions, accounting, routes). Called with the gateway's lock held: do not call back
  /// into the gateway from it.
  void set_lease_observer(slowpath::LeaseEvents observer);
  static constexpr std::size_t kMaxHeldRequests = 4096;

  [[nodiscard]] GatewayStatus status() const;
  /// Every lease in memory (released ones included), in address order.
  [[nodiscard]] std::vector<lease::Lease> leases() const;
  /// Ends the lease on `address` now (operator or RADIUS disconnect) and removes it from
  /// the fast path.
  [[nodiscard]] Result<lease::Lease> disconnect(dhcp::Ipv4 address);
  /// Draining stops taking new subscribers while existing ones keep being served (slow and
  /// fast path); false resumes. See DhcpServer::set_draining.
  void set_draining(bool draining);
  /// New DNS, lease time, T1/T2 and probation time for the running local pools (a config
  /// reload); see LocalPoolAllocator::update_options. Not with an external allocator.
  [[nodiscard]] Result<void> update_pool_options(const std::vector<pool::PoolConfig>& pools);

 private:
  struct Impl;
  explicit Gateway(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace bngkit::bng
