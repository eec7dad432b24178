// Subscriber sessions: what the BNG knows about one subscriber between its authorisation
// and the end of its lease. A session is authorised (RADIUS Access-Accept, or locally when
// there is no RADIUS), becomes active when its lease is bound, is accounted while active,
// and ends with its lease (release, expiry, disconnect, timeout).
#pragma once

#include <bngkit/bng/dhcp/ipv4.hpp>
#include <bngkit/bng/export.hpp>
#include <bngkit/bng/fastpath/subscriber_traffic.hpp>
#include <bngkit/bng/pool/subscriber_key.hpp>
#include <bngkit/bng/radius/protocol.hpp>
#include <bngkit/common/result.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace bngkit::bng::session {

/// The session state machine:
///   authorizing --Accept--> authorized --lease bound--> active --lease ended--> (gone)
///   authorizing --Reject/no server--> rejected --hold-down over--> (gone)
/// Only authorized and active sessions are stored; the others live in memory.
enum class State : std::uint8_t { authorizing, authorized, active, rejected };
[[nodiscard]] BNGKIT_BNG_EXPORT std::string_view to_string(State state) noexcept;

/// A per-subscriber rate, and its counters: the kernel's types (fastpath::SubscriberTraffic).
using RatePolicy = fastpath::RatePolicy;
using TrafficCounters = fastpath::TrafficCounters;

/// Where counters come from and rates are enforced (the kernel, see
/// fastpath::SubscriberTraffic). Calls come from the session manager's thread.
class BNGKIT_BNG_EXPORT TrafficControl {
 public:
  virtual ~TrafficControl();
  /// Starts counting `address` (keeping counters it already has) under `rate`.
  [[nodiscard]] virtual Result<void> apply(dhcp::Ipv4 address, const RatePolicy& rate) = 0;
  [[nodiscard]] virtual Result<TrafficCounters> read(dhcp::Ipv4 address) = 0;
  /// Counters of each of `addresses`, in order. The session manager reads every active
  /// session each tick: the default calls read() for each, an implementation over a kernel
  /// map reads it in one pass (a lookup each is a system call per subscriber per tick).
  [[nodiscard]] virtual std::vector<Result<TrafficCounters>> read_many(
      std::span<const dhcp::Ipv4> addresses);
  /// Stops counting `address`; returns its final counters.
  [[nodiscard]] virtual Result<TrafficCounters> remove(dhcp::Ipv4 address) = 0;

 protected:
  TrafficControl() = default;
  TrafficControl(const TrafficControl&) = default;
  TrafficControl& operator=(const TrafficControl&) = default;
};

/// What an authorisation grants (RADIUS Access-Accept attributes, RFC 2865/2866/2869).
struct Authorization {
  std::optional<dhcp::Ipv4> framed_address;   ///< Framed-IP-Address: this address only
  std::string framed_pool;                    ///< Framed-Pool: allocate from this pool
  std::chrono::seconds session_timeout{0};    ///< Session-Timeout; 0: none
  std::chrono::seconds idle_timeout{0};       ///< Idle-Timeout; 0: none
  std::chrono::seconds interim_interval{0};   ///< Acct-Interim-Interval; 0: the configured one
  RatePolicy rate;                            ///< WISPr-Bandwidth-Max-Up/Down or Filter-Id profile
  std::string filter_id;                      ///< Filter-Id
  std::vector<std::string> classes;           ///< Class, echoed in accounting
  friend bool operator==(const Authorization&, const Authorization&) = default;
};

/// One subscriber's session.
struct Session {
  std::string id;  ///< Acct-Session-Id: 16 hex digits, unique per NAS
  pool::SubscriberKey subscriber;
  std::optional<dhcp::MacAddress> mac;  ///< client hardware address (Calling-Station-Id)
  std::string circuit_id;         ///< option 82 Agent-Circuit-Id, raw
  std::string remote_id;          ///< option 82 Agent-Remote-Id, raw
  std::string username;           ///< User-Name sent in Access-Request
  State state = State::authorizing;
  Authorization authorization;
  std::optional<dhcp::Ipv4> address;  ///< the bound address (active sessions)
  std::string pool_id;
  std::chrono::sys_seconds created{};        ///< authorisation asked
  std::chrono::sys_seconds started{};        ///< lease bound: Acct-Start
  std::chrono::sys_seconds last_activity{};  ///< counters last moved
  std::chrono::sys_seconds last_interim{};
  std::chrono::sys_seconds rejected_until{};  ///< rejected: hold-down end
  std::string reject_reason;
  TrafficCounters counters;  ///< as last read
  friend bool operator==(const Session&, const Session&) = default;
};

}  // namespace bngkit::bng::session
