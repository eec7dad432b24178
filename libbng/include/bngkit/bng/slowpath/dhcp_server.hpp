// DhcpServer: the slow path's DHCPv4 protocol logic (RFC 2131 server behaviour) with no
// sockets in it: a request goes in, a reply (or a reasoned drop) comes out. Addresses come
// from an AddressAllocator, leases live in a LeaseTable written through to the durable
// LeaseStore, and lease events tell the fast path what it may serve.
#pragma once

#include <bngkit/bng/dhcp/builder.hpp>
#include <bngkit/bng/dhcp/frame.hpp>
#include <bngkit/bng/dhcp/message.hpp>
#include <bngkit/bng/export.hpp>
#include <bngkit/bng/lease/lease.hpp>
#include <bngkit/bng/lease/lease_store.hpp>
#include <bngkit/bng/lease/lease_table.hpp>
#include <bngkit/bng/pool/allocator.hpp>
#include <bngkit/common/result.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace bngkit::bng::slowpath {

/// Which identifier names a subscriber (and keys its lease).
enum class SubscriberIdentity : std::uint8_t {
  mac,         ///< chaddr
  client_id,   ///< option 61 when sent, else chaddr
  circuit_id,  ///< option 82 circuit-id when present, else chaddr
};

struct DhcpServerOptions {
  dhcp::Ipv4 server_id;         ///< option 54 and the source address of replies
  dhcp::MacAddress server_mac;  ///< source MAC of reply frames
  std::string default_pool;     ///< pool of clients that are not relayed from a pool's network
  std::chrono::seconds offer_time{60};  ///< how long an unanswered OFFER holds its address
  SubscriberIdentity identity = SubscriberIdentity::mac;
};

/// How a bound lease ended.
enum class EndReason : std::uint8_t {
  released,      ///< the client sent DHCPRELEASE
  declined,      ///< the client found the address in use (DHCPDECLINE)
  expired,       ///< the client stopped renewing
  disconnected,  ///< ended by an operator, RADIUS or a session timeout (end_lease)
};
[[nodiscard]] BNGKIT_BNG_EXPORT std::string_view to_string(EndReason reason) noexcept;

/// Told when the fast path may start or must stop serving a subscriber.
struct LeaseEvents {
  std::function<void(const lease::Lease&)> bound;              ///< ACK sent (new lease or renewal)
  std::function<void(const lease::Lease&, EndReason)> ended;  ///< a bound lease ended
};

/// A subscriber asking for an address (DISCOVER, REQUEST), as the admission hook sees it.
struct AdmissionRequest {
  const dhcp::Message& message;
  const pool::SubscriberKey& subscriber;
  std::string_view pool_id;  ///< the pool it would be served from
};

/// The admission hook's answer.
struct Admission {
  enum class Verdict : std::uint8_t {
    accept,   ///< serve it (from `pool_id` / `address` when set)
    pending,  ///< not decided yet: no answer now; the caller replays the request later
    reject,   ///< no address: DISCOVER unanswered, REQUEST NAKed
  };
  Verdict verdict = Verdict::accept;
  std::string pool_id;                ///< serve from this pool instead (RADIUS Framed-Pool)
  std::optional<dhcp::Ipv4> address;  ///< this address only (RADIUS Framed-IP-Address)
  std::string reason;                 ///< why pending or rejected
};
/// Decides whether a subscriber may have an address; see DhcpServer::set_admission.
using AdmissionHook = std::function<Admission(const AdmissionRequest&)>;

/// What the server did with one request, for logs and metrics.
struct Outcome {
  std::optional<dhcp::MessageType> request_type;  ///< nullopt when not a DHCP message
  std::optional<dhcp::Message> reply;             ///< OFFER, ACK or NAK; nullopt: no reply
  std::string drop_reason;                        ///< why there is no reply (empty if replied)
  /// Admission is pending for this subscriber: replay the request once it is decided.
  std::optional<pool::SubscriberKey> pending;
};

/// Per-type counters, read by the daemon's /metrics.
struct DhcpServerStats {
  std::uint64_t requests[19] = {};  ///< indexed by MessageType value (1..18)
  std::uint64_t offers = 0;
  std::uint64_t acks = 0;
  std::uint64_t naks = 0;
  std::uint64_t drops = 0;
  std::uint64_t malformed = 0;
  std::uint64_t admission_pending = 0;   ///< requests held while their subscriber is authorised
  std::uint64_t admission_rejected = 0;  ///< requests refused by the admission hook
};

/// The protocol engine. Not thread-safe: call it from one thread (the allocator, table and
/// store it uses are themselves thread-safe, so other threads may read them).
class BNGKIT_BNG_EXPORT DhcpServer {
 public:
  DhcpServer(DhcpServerOptions options, pool::AddressAllocator& allocator, lease::LeaseTable& table,
             lease::LeaseStore& store, LeaseEvents events = {});

  /// Answers one parsed request at wall time `now`.
  Outcome handle(const dhcp::Message& request, std::chrono::sys_seconds now);

  /// Parses an Ethernet frame, answers it and builds the reply frame (RFC 2131 4.1
  /// addressing, VLAN tags kept). nullopt when there is nothing to send.
  std::optional<std::vector<std::uint8_t>> handle_frame(std::span<const std::uint8_t> frame,
                                                        std::chrono::sys_seconds now,
                                                        Outcome* outcome = nullptr);

  /// Every DISCOVER and REQUEST is first put to `hook` (sessions: RADIUS authorisation).
  /// Without a hook every subscriber is accepted.
  void set_admission(AdmissionHook hook) { admission_ = std::move(hook); }
  /// Ends leases whose time is up (offers, leases, probation); returns them.
  std::vector<lease::Lease> expire(std::chrono::sys_seconds now);

  /// The fast path renewed `address` for `subscriber` until `expires`: keep the lease true.
  /// The renewal is recorded (store and table, true) only when the recorded expiry would
  /// otherwise come before the client's next renewal (now + T1): until then the lease stays
  /// valid anyway, so a burst of renewals costs one disk write, not one each (false).
  Result<bool> record_renewal(const pool::SubscriberKey& subscriber, dhcp::Ipv4 address,
                              std::chrono::sys_seconds expires, std::chrono::sys_seconds now);

  /// Ends a subscriber's lease on an operator's or RADIUS server's word (disconnect).
  Result<lease::Lease> end_lease(dhcp::Ipv4 address, std::chrono::sys_seconds now);

  /// The key this server uses for the client that sent `request`.
  [[nodiscard]] pool::SubscriberKey subscriber_of(const dhcp::Message& request) const;

  /// Draining: subscribers without an offered or bound lease get no answer (they go to
  /// another BNG); those with one keep being served. For taking a node out of service.
  void set_draining(bool draining) noexcept { draining_ = draining; }
  [[nodiscard]] bool draining() const noexcept { return draining_; }
  /// Why a request was not answered while draining.
  static constexpr std::string_view kDrainingReason = "draining: not taking new subscribers";

  [[nodiscard]] const DhcpServerStats& stats() const noexcept { return stats_; }
  [[nodiscard]] const DhcpServerOptions& options() const noexcept { return options_; }

 private:
  Outcome on_discover(const dhcp::Message& request, std::chrono::sys_seconds now);
  Outcome on_request(const dhcp::Message& request, std::chrono::sys_seconds now);
  Outcome on_decline(const dhcp::Message& request, std::chrono::sys_seconds now);
  Outcome on_release(const dhcp::Message& request, std::chrono::sys_seconds now);
  Outcome on_inform(const dhcp::Message& request);
  Outcome ack(const dhcp::Message& request, const pool::Allocation& allocation,
              std::chrono::sys_seconds now);
  Outcome nak(const dhcp::Message& request, std::string reason);
  std::string pool_of(const dhcp::Message& request) const;
  void end(lease::Lease lease, lease::LeaseState state, std::chrono::sys_seconds now, bool durable,
           EndReason reason);
  /// Puts a request to the admission hook; an Outcome when it is not simply accepted.
  std::optional<Outcome> admit(const dhcp::Message& request, const pool::SubscriberKey& subscriber,
                               std::string& pool_id, std::optional<dhcp::Ipv4>& address);

  DhcpServerOptions options_;
  pool::AddressAllocator& allocator_;
  lease::LeaseTable& table_;
  lease::LeaseStore& store_;
  LeaseEvents events_;
  AdmissionHook admission_;
  DhcpServerStats stats_;
  bool draining_ = false;

  [[nodiscard]] bool is_new_subscriber(const pool::SubscriberKey& subscriber, std::string_view pool_id) const;
};

/// Reply parameters (options 1, 3, 6, 51, 58, 59) for a pool.
[[nodiscard]] BNGKIT_BNG_EXPORT dhcp::ReplyParams reply_params(const pool::PoolParameters& pool,
                                                              dhcp::Ipv4 server_id);

}  // namespace bngkit::bng::slowpath
