#include <bngkit/bng/radius/value.hpp>
#include <bngkit/bng/session/radius_aaa.hpp>

#include <algorithm>
#include <cstdio>

namespace bngkit::bng::session {
namespace attr = radius::attr;
using radius::Packet;

namespace {

std::string mac_text(const Session& s) { return s.mac ? s.mac->to_string() : std::string(); }

bool printable(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

Result<std::uint32_t> integer_of(const Packet& p, std::uint8_t type, std::string_view name) {
  const auto* a = p.find(type);
  auto v = radius::decode_integer(a->value());
  if (!v) return make_error(std::errc::invalid_argument, std::string(name) + ": " + v.error().message());
  return v.value();
}

// Applies the attributes an Access-Accept and a CoA-Request share to `auth`.
Result<void> apply_common(const Packet& p, Authorization& auth, const AaaOptions& options) {
  if (p.find(attr::kSessionTimeout)) {
    auto v = integer_of(p, attr::kSessionTimeout, "Session-Timeout");
    if (!v) return v.error();
    auth.session_timeout = std::chrono::seconds(*v);
  }
  if (p.find(attr::kIdleTimeout)) {
    auto v = integer_of(p, attr::kIdleTimeout, "Idle-Timeout");
    if (!v) return v.error();
    auth.idle_timeout = std::chrono::seconds(*v);
  }
  if (p.find(attr::kAcctInterimInterval)) {
    auto v = integer_of(p, attr::kAcctInterimInterval, "Acct-Interim-Interval");
    if (!v) return v.error();
    // RFC 2869 5.16: not below 60 seconds.
    auth.interim_interval = std::chrono::seconds(std::max<std::uint32_t>(*v, 60));
  }
  if (const auto* f = p.find(attr::kFilterId)) {
    auth.filter_id = std::string(f->text());
    auto profile = std::find_if(options.rate_profiles.begin(), options.rate_profiles.end(),
                                [&](const RateProfile& r) { return r.filter_id == auth.filter_id; });
    if (profile != options.rate_profiles.end()) auth.rate = profile->rate;
  }
  // WISPr rates win over a profile: they are the specific answer for this subscriber.
  for (auto [type, rate, name] : {std::tuple{kWisprBandwidthMaxUp, &auth.rate.up_bps, "WISPr-Bandwidth-Max-Up"},
                                  std::tuple{kWisprBandwidthMaxDown, &auth.rate.down_bps, "WISPr-Bandwidth-Max-Down"}}) {
    if (auto v = p.find_vendor(kWisprVendor, type)) {
      auto bps = radius::decode_integer(*v);
      if (!bps) return make_error(std::errc::invalid_argument, std::string(name) + ": " + bps.error().message());
      *rate = *bps;
    }
  }
  if (p.find(attr::kClass)) {
    auth.classes.clear();
    for (const auto* c : p.find_all(attr::kClass)) {
      auth.classes.emplace_back(reinterpret_cast<const char*>(c->value().data()), c->value().size());
    }
  }
  return ok();
}

void add_identity(Packet& p, const AaaOptions& options) {
  if (options.nas_ip) p.add_ipaddr(attr::kNasIpAddress, *options.nas_ip);
  if (!options.nas_identifier.empty()) (void)p.add(attr::kNasIdentifier, options.nas_identifier);
}

Result<void> add_text(Packet& p, std::uint8_t type, std::string_view text, std::string_view name) {
  if (auto r = p.add(type, text); !r) {
    return make_error(std::errc::invalid_argument, std::string(name) + ": " + r.error().message());
  }
  return ok();
}

Result<void> add_line(Packet& p, const Session& s) {
  radius::AccessLine line;
  if (!s.circuit_id.empty()) line.circuit_id = s.circuit_id;
  if (!s.remote_id.empty()) line.remote_id = s.remote_id;
  if (!line.circuit_id && !line.remote_id) return ok();
  return radius::add_access_line(p, line);
}

}  // namespace

std::string username_for(const Session& s, UserNameSource source) {
  if (source == UserNameSource::circuit_id && printable(s.circuit_id)) return s.circuit_id;
  if (source == UserNameSource::remote_id && printable(s.remote_id)) return s.remote_id;
  if (s.mac) return s.mac->to_string();
  return s.subscriber.to_string();
}

Result<Packet> access_request(const Session& s, const AaaOptions& options) {
  Packet p(radius::Code::kAccessRequest, 0);
  if (auto r = add_text(p, attr::kUserName, s.username, "User-Name"); !r) return r.error();
  if (auto r = add_text(p, attr::kUserPassword, options.password, "User-Password"); !r) return r.error();
  p.add_integer(attr::kServiceType, static_cast<std::uint32_t>(radius::ServiceType::kFramedUser));
  p.add_integer(attr::kNasPortType, static_cast<std::uint32_t>(radius::NasPortType::kEthernet));
  if (s.mac) (void)p.add(attr::kCallingStationId, mac_text(s));
  (void)p.add(attr::kAcctSessionId, s.id);
  if (auto r = add_line(p, s); !r) return r.error();
  add_identity(p, options);
  return p;
}

Result<Authorization> parse_accept(const Packet& accept, const AaaOptions& options) {
  if (accept.code != radius::Code::kAccessAccept) {
    return make_error(std::errc::invalid_argument, "not an Access-Accept");
  }
  Authorization auth;
  if (const auto* a = accept.find(attr::kFramedIpAddress)) {
    auto ip = radius::decode_ipaddr(a->value());
    if (!ip) return make_error(std::errc::invalid_argument, "Framed-IP-Address: " + ip.error().message());
    // 255.255.255.254 lets the NAS choose, 255.255.255.255 asks the user to (RFC 2865 5.8):
    // both mean "from the pool" for a DHCP BNG.
    if (ip->to_host() < 0xfffffffe) auth.framed_address = *ip;
  }
  if (const auto* a = accept.find(attr::kFramedPool)) auth.framed_pool = std::string(a->text());
  if (auto r = apply_common(accept, auth, options); !r) return r.error();
  return auth;
}

Result<Packet> accounting_request(const Session& s, radius::AcctStatusType type, std::chrono::sys_seconds now,
                                  const AaaOptions& options, std::optional<radius::AcctTerminateCause> cause) {
  Packet p(radius::Code::kAccountingRequest, 0);
  p.add_integer(attr::kAcctStatusType, static_cast<std::uint32_t>(type));
  (void)p.add(attr::kAcctSessionId, s.id);
  if (auto r = add_text(p, attr::kUserName, s.username, "User-Name"); !r) return r.error();
  p.add_integer(attr::kAcctAuthentic, static_cast<std::uint32_t>(radius::AcctAuthentic::kRadius));
  p.add_integer(attr::kServiceType, static_cast<std::uint32_t>(radius::ServiceType::kFramedUser));
  p.add_integer(attr::kNasPortType, static_cast<std::uint32_t>(radius::NasPortType::kEthernet));
  if (s.address) p.add_ipaddr(attr::kFramedIpAddress, *s.address);
  if (s.mac) (void)p.add(attr::kCallingStationId, mac_text(s));
  for (const auto& c : s.authorization.classes) {
    if (auto r = p.add(attr::kClass, std::span(reinterpret_cast<const std::uint8_t*>(c.data()), c.size())); !r) {
      return make_error(std::errc::invalid_argument, "Class: " + r.error().message());
    }
  }
  if (auto r = add_line(p, s); !r) return r.error();
  if (type != radius::AcctStatusType::kStart) {
    const auto elapsed = std::max<std::int64_t>(0, (now - s.started).count());
    p.add_integer(attr::kAcctSessionTime, static_cast<std::uint32_t>(elapsed));
    const auto& c = s.counters;
    // 64-bit octet counters travel as 32-bit low part + Gigawords (RFC 2869 5.1, 5.2).
    p.add_integer(attr::kAcctInputOctets, static_cast<std::uint32_t>(c.octets_up));
    p.add_integer(attr::kAcctInputGigawords, static_cast<std::uint32_t>(c.octets_up >> 32));
    p.add_integer(attr::kAcctOutputOctets, static_cast<std::uint32_t>(c.octets_down));
    p.add_integer(attr::kAcctOutputGigawords, static_cast<std::uint32_t>(c.octets_down >> 32));
    p.add_integer(attr::kAcctInputPackets, static_cast<std::uint32_t>(c.packets_up));
    p.add_integer(attr::kAcctOutputPackets, static_cast<std::uint32_t>(c.packets_down));
  }
  if (type == radius::AcctStatusType::kStop) {
    p.add_integer(attr::kAcctTerminateCause,
                  static_cast<std::uint32_t>(cause.value_or(radius::AcctTerminateCause::kNasRequest)));
  }
  p.add_integer(attr::kEventTimestamp, static_cast<std::uint32_t>(now.time_since_epoch().count()));
  add_identity(p, options);
  return p;
}

Result<Packet> accounting_on_off(bool on, const AaaOptions& options) {
  Packet p(radius::Code::kAccountingRequest, 0);
  p.add_integer(attr::kAcctStatusType, static_cast<std::uint32_t>(on ? radius::AcctStatusType::kAccountingOn
                                                                      : radius::AcctStatusType::kAccountingOff));
  // FreeRADIUS (and RFC 2866 5.5) want a session id on every Accounting-Request.
  (void)p.add(attr::kAcctSessionId, on ? "accounting-on" : "accounting-off");
  add_identity(p, options);
  return p;
}

bool identifies_a_session(const Packet& r) {
  return r.find(attr::kAcctSessionId) || r.find(attr::kUserName) || r.find(attr::kFramedIpAddress) ||
         r.find(attr::kCallingStationId);
}

bool names_session(const Packet& r, const Session& s) {
  if (!identifies_a_session(r)) return false;
  if (const auto* a = r.find(attr::kAcctSessionId); a && a->text() != s.id) return false;
  if (const auto* a = r.find(attr::kUserName); a && a->text() != s.username) return false;
  if (const auto* a = r.find(attr::kFramedIpAddress)) {
    auto ip = radius::decode_ipaddr(a->value());
    if (!ip || !s.address || *ip != *s.address) return false;
  }
  if (const auto* a = r.find(attr::kCallingStationId)) {
    auto mac = dhcp::MacAddress::parse(a->text());
    if (!mac || !s.mac || *mac != *s.mac) return false;
  }
  return true;
}

std::variant<Authorization, CoaRefusal> apply_coa(const Packet& request, const Authorization& current,
                                                  const AaaOptions& options) {
  // What a CoA may carry besides what it changes: identification, NAS identity, State,
  // Event-Timestamp, Message-Authenticator, Proxy-State, and the rate VSAs.
  static constexpr std::uint8_t kAllowed[] = {
      attr::kAcctSessionId, attr::kUserName,      attr::kFramedIpAddress,  attr::kCallingStationId,
      attr::kNasIpAddress,  attr::kNasIdentifier, attr::kState,            attr::kEventTimestamp,
      attr::kMessageAuthenticator, attr::kProxyState, attr::kSessionTimeout, attr::kIdleTimeout,
      attr::kAcctInterimInterval,  attr::kFilterId,   attr::kClass,          attr::kVendorSpecific};
  for (const auto& a : request.attributes) {
    if (std::find(std::begin(kAllowed), std::end(kAllowed), a.type()) == std::end(kAllowed)) {
      return CoaRefusal{radius::ErrorCause::kUnsupportedAttribute,
                        "attribute " + std::to_string(a.type()) + " cannot be changed by CoA"};
    }
    if (a.type() == attr::kVendorSpecific) {
      auto vsa = radius::parse_vendor_specific(a);
      if (!vsa || vsa->vendor != kWisprVendor ||
          std::any_of(vsa->attributes.begin(), vsa->attributes.end(), [](const radius::SubAttribute& s) {
            return s.type != kWisprBandwidthMaxUp && s.type != kWisprBandwidthMaxDown;
          })) {
        return CoaRefusal{radius::ErrorCause::kUnsupportedAttribute,
                          "only WISPr-Bandwidth-Max-Up/Down vendor attributes can be changed by CoA"};
      }
    }
  }
  Authorization next = current;
  if (auto r = apply_common(request, next, options); !r) {
    return CoaRefusal{radius::ErrorCause::kInvalidAttributeValue, r.error().message()};
  }
  return next;
}

}  // namespace bngkit::bng::session
