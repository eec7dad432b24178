// RADIUS for sessions, as pure functions: the Access-Request that authorises a subscriber,
// what an Access-Accept grants, the Accounting-Requests of a session, and how a Dynamic
// Authorization request (RFC 5176) names a session and what a CoA changes. No sockets here:
// SessionManager sends what these build.
#pragma once

#include <bngkit/bng/export.hpp>
#include <bngkit/bng/radius/packet.hpp>
#include <bngkit/bng/session/session.hpp>
#include <bngkit/common/result.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace bngkit::bng::session {

/// Where User-Name comes from.
enum class UserNameSource : std::uint8_t {
  mac,         ///< "aa:bb:cc:dd:ee:ff"
  circuit_id,  ///< option 82 circuit-id as text (falls back to the MAC)
  remote_id,   ///< option 82 remote-id as text (falls back to the MAC)
};

/// A named rate profile: an Access-Accept or CoA whose Filter-Id names it gets its rate.
struct RateProfile {
  std::string filter_id;
  RatePolicy rate;
  friend bool operator==(const RateProfile&, const RateProfile&) = default;
};

/// NAS identity and request contents.
struct AaaOptions {
  UserNameSource username = UserNameSource::mac;
  std::string password = "bng";  ///< User-Password for MAC/line authentication
  std::string nas_identifier;
  std::optional<dhcp::Ipv4> nas_ip;
  std::vector<RateProfile> rate_profiles;
  friend bool operator==(const AaaOptions&, const AaaOptions&) = default;
};

/// WISPr (vendor 14122) Bandwidth-Max-Up/Down, bits/s: the rate attributes honoured besides
/// Filter-Id profiles.
inline constexpr std::uint32_t kWisprVendor = 14122;
inline constexpr std::uint32_t kWisprBandwidthMaxUp = 7;
inline constexpr std::uint32_t kWisprBandwidthMaxDown = 8;

/// The User-Name of a subscriber.
[[nodiscard]] BNGKIT_BNG_EXPORT std::string username_for(const Session& session,
                                                         UserNameSource source);

/// An Access-Request for `session` (identifier and authenticator are the sender's): User-Name,
/// User-Password (cleartext here; radius::Client hides it per server secret), Service-Type
/// Framed-User, NAS-Port-Type Ethernet, Calling-Station-Id, the Broadband Forum
/// Agent-Circuit-Id/Agent-Remote-Id, Acct-Session-Id, NAS identity.
[[nodiscard]] BNGKIT_BNG_EXPORT Result<radius::Packet> access_request(const Session& session,
                                                                      const AaaOptions& options);

/// What an Access-Accept grants. Fails, naming the attribute, when one it honours is
/// malformed (a bad Framed-IP-Address must not become a silent "any address").
[[nodiscard]] BNGKIT_BNG_EXPORT Result<Authorization> parse_accept(const radius::Packet& accept,
                                                                   const AaaOptions& options);

/// An Accounting-Request of `type` (Start, Interim-Update, Stop) for `session` at `now`, with
/// its counters (and Gigawords) and, for Stop, `cause`.
[[nodiscard]] BNGKIT_BNG_EXPORT Result<radius::Packet> accounting_request(
    const Session& session, radius::AcctStatusType type, std::chrono::sys_seconds now,
    const AaaOptions& options,
    std::optional<radius::AcctTerminateCause> cause = std::nullopt);

/// Accounting-On or Accounting-Off for the whole NAS.
[[nodiscard]] BNGKIT_BNG_EXPORT Result<radius::Packet> accounting_on_off(bool on,
                                                                         const AaaOptions& options);

/// Does a Disconnect/CoA-Request name this session? Every session-identification attribute
/// present (Acct-Session-Id, User-Name, Framed-IP-Address, Calling-Station-Id) must match
/// (RFC 5176 3.3).
[[nodiscard]] BNGKIT_BNG_EXPORT bool names_session(const radius::Packet& request,
                                                   const Session& session);
/// True when the request carries at least one session-identification attribute.
[[nodiscard]] BNGKIT_BNG_EXPORT bool identifies_a_session(const radius::Packet& request);

/// The authorisation a CoA-Request leaves: `current` with the attributes it changes
/// (Session-Timeout, Idle-Timeout, Acct-Interim-Interval, Filter-Id, WISPr rates, Class).
/// Fails with the Error-Cause to NAK with: Unsupported-Attribute (401) for any other
/// attribute that is not identification or NAS identity, Invalid-Attribute-Value (407).
struct CoaRefusal {
  radius::ErrorCause cause;
  std::string reason;
};
[[nodiscard]] BNGKIT_BNG_EXPORT std::variant<Authorization, CoaRefusal> apply_coa(
    const radius::Packet& request, const Authorization& current, const AaaOptions& options);

}  // namespace bngkit::bng::session
