// RADIUS attribute definitions as data: the wire shapes, and constexpr tables of the built-in
// attributes, vendors and value names (names as in FreeRADIUS' dictionaries, so files loaded
// on top agree with them). One codec per wire shape; no class per attribute.
#pragma once

#include <bngkit/bng/radius/protocol.hpp>
#include <bngkit/bng_codec/export.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace bngkit::bng::radius {

/// Wire shape of an attribute value (FreeRADIUS dictionary type names in comments).
enum class ValueType : std::uint8_t {
  kString,        ///< "string": 1-253 octets, usually UTF-8 text
  kOctets,        ///< "octets": 1-253 octets of binary
  kIpAddr,        ///< "ipaddr": 4 octets, IPv4 address
  kIpv6Addr,      ///< "ipv6addr": 16 octets (RFC 3162 2.1)
  kIpv6Prefix,    ///< "ipv6prefix": reserved, length, 0-16 prefix octets (RFC 3162 2.3)
  kIpv4Prefix,    ///< "ipv4prefix": reserved, length, 4 octets (RFC 6572 6.3)
  kInteger,       ///< "integer": 4 octets, unsigned, network order
  kInteger64,     ///< "integer64": 8 octets (RFC 6929)
  kDate,          ///< "date": 4 octets, seconds since 1970-01-01 UTC
  kIfId,          ///< "ifid": 8 octets, IPv6 interface identifier (RFC 3162 2.2)
  kByte,          ///< "byte": 1 octet
  kShort,         ///< "short": 2 octets
  kSigned,        ///< "signed": 4 octets, two's complement
  kEther,         ///< "ether": 6 octets, MAC address
  kComboIp,       ///< "combo-ip": 4 or 16 octets
  kAbinary,       ///< "abinary": Ascend binary filter, kept as octets
  kTlv,           ///< "tlv": nested type-length-value list
  kVsa,           ///< "vsa": Vendor-Specific (26): vendor id and vendor data
  kExtended,      ///< "extended": RFC 6929 Extended-Type (241-244)
  kLongExtended,  ///< "long-extended": RFC 6929 Long-Extended-Type (245-246)
  kEvs,           ///< "evs": RFC 6929 Extended-Vendor-Specific
};

/// FreeRADIUS type name ("ipv6prefix") of a wire shape.
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT std::string_view value_type_name(ValueType type) noexcept;
/// Wire shape for a FreeRADIUS type name, case-insensitive; also "uint8", "uint16", "uint32",
/// "uint64", "int32" and "cidr". Empty for an unknown name.
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT std::optional<ValueType> value_type_from_name(
    std::string_view name) noexcept;

/// How an attribute's value is hidden on the wire (FreeRADIUS "encrypt=N").
enum class Encryption : std::uint8_t {
  kNone = 0,
  kUserPassword = 1,    ///< RFC 2865 5.2
  kTunnelPassword = 2,  ///< RFC 2868 3.5 (salted)
  kAscendSecret = 3,    ///< Ascend-Send-Secret
};

/// One attribute: standard when vendor is 0, else a sub-attribute of Vendor-Specific.
struct AttributeDef {
  std::uint32_t vendor = 0;
  std::uint32_t number = 0;  ///< attribute type, or the vendor's type inside a VSA
  std::string_view name;
  ValueType type = ValueType::kOctets;
  Encryption encrypt = Encryption::kNone;
  bool has_tag = false;           ///< RFC 2868 tunnel tag
  bool concat = false;            ///< long values split over several attributes (EAP-Message)
  bool array = false;             ///< repeated fixed-size values in one attribute
  std::uint8_t fixed_length = 0;  ///< "octets[N]": exact value size; 0 when free
};

/// A name for one value of an enumerated integer attribute (FreeRADIUS "VALUE").
struct ValueDef {
  std::uint32_t vendor = 0;
  std::uint32_t attribute = 0;
  std::string_view name;
  std::uint64_t value = 0;
};

/// A vendor and the layout of its sub-attributes (FreeRADIUS "format=t,l[,c]").
struct VendorDef {
  std::uint32_t id = 0;
  std::string_view name;
  std::uint8_t type_size = 1;    ///< octets of the sub-attribute type: 1, 2 or 4
  std::uint8_t length_size = 1;  ///< octets of the sub-attribute length: 0, 1 or 2
  bool continuation = false;     ///< WiMAX-style continuation octet after the length
};

namespace detail {
constexpr AttributeDef def(std::uint32_t number, std::string_view name, ValueType type) {
  return AttributeDef{0, number, name, type};
}
constexpr AttributeDef bbf(std::uint32_t number, std::string_view name, ValueType type) {
  return AttributeDef{vendor::kAdslForum, number, name, type};
}
}  // namespace detail

/// Built-in vendors.
inline constexpr VendorDef kBuiltinVendors[] = {
    {vendor::kAdslForum, "ADSL-Forum", 1, 1, false},
};

/// Built-in attributes, sorted by (vendor, number).
inline constexpr AttributeDef kBuiltinAttributes[] = {
    // RFC 2865
    detail::def(1, "User-Name", ValueType::kString),
    {0, 2, "User-Password", ValueType::kString, Encryption::kUserPassword},
    detail::def(3, "CHAP-Password", ValueType::kOctets),
    detail::def(4, "NAS-IP-Address", ValueType::kIpAddr),
    detail::def(5, "NAS-Port", ValueType::kInteger),
    detail::def(6, "Service-Type", ValueType::kInteger),
    detail::def(7, "Framed-Protocol", ValueType::kInteger),
    detail::def(8, "Framed-IP-Address", ValueType::kIpAddr),
    detail::def(9, "Framed-IP-Netmask", ValueType::kIpAddr),
    detail::def(10, "Framed-Routing", ValueType::kInteger),
    detail::def(11, "Filter-Id", ValueType::kString),
    detail::def(12, "Framed-MTU", ValueType::kInteger),
    detail::def(13, "Framed-Compression", ValueType::kInteger),
    detail::def(14, "Login-IP-Host", ValueType::kIpAddr),
    detail::def(15, "Login-Service", ValueType::kInteger),
    detail::def(16, "Login-TCP-Port", ValueType::kInteger),
    detail::def(18, "Reply-Message", ValueType::kString),
    detail::def(19, "Callback-Number", ValueType::kString),
    detail::def(20, "Callback-Id", ValueType::kString),
    detail::def(22, "Framed-Route", ValueType::kString),
    detail::def(23, "Framed-IPX-Network", ValueType::kIpAddr),
    detail::def(24, "State", ValueType::kOctets),
    detail::def(25, "Class", ValueType::kOctets),
    detail::def(26, "Vendor-Specific", ValueType::kVsa),
    detail::def(27, "Session-Timeout", ValueType::kInteger),
    detail::def(28, "Idle-Timeout", ValueType::kInteger),
    detail::def(29, "Termination-Action", ValueType::kInteger),
    detail::def(30, "Called-Station-Id", ValueType::kString),
    detail::def(31, "Calling-Station-Id", ValueType::kString),
    detail::def(32, "NAS-Identifier", ValueType::kString),
    detail::def(33, "Proxy-State", ValueType::kOctets),
    detail::def(34, "Login-LAT-Service", ValueType::kString),
    detail::def(35, "Login-LAT-Node", ValueType::kString),
    detail::def(36, "Login-LAT-Group", ValueType::kOctets),
    detail::def(37, "Framed-AppleTalk-Link", ValueType::kInteger),
    detail::def(38, "Framed-AppleTalk-Network", ValueType::kInteger),
    detail::def(39, "Framed-AppleTalk-Zone", ValueType::kString),
    // RFC 2866
    detail::def(40, "Acct-Status-Type", ValueType::kInteger),
    detail::def(41, "Acct-Delay-Time", ValueType::kInteger),
    detail::def(42, "Acct-Input-Octets", ValueType::kInteger),
    detail::def(43, "Acct-Output-Octets", ValueType::kInteger),
    detail::def(44, "Acct-Session-Id", ValueType::kString),
    detail::def(45, "Acct-Authentic", ValueType::kInteger),
    detail::def(46, "Acct-Session-Time", ValueType::kInteger),
    detail::def(47, "Acct-Input-Packets", ValueType::kInteger),
    detail::def(48, "Acct-Output-Packets", ValueType::kInteger),
    detail::def(49, "Acct-Terminate-Cause", ValueType::kInteger),
    detail::def(50, "Acct-Multi-Session-Id", ValueType::kString),
    detail::def(51, "Acct-Link-Count", ValueType::kInteger),
    // RFC 2869
    detail::def(52, "Acct-Input-Gigawords", ValueType::kInteger),
    detail::def(53, "Acct-Output-Gigawords", ValueType::kInteger),
    detail::def(55, "Event-Timestamp", ValueType::kDate),
    // RFC 4675
    detail::def(56, "Egress-VLANID", ValueType::kInteger),
    detail::def(57, "Ingress-Filters", ValueType::kInteger),
    detail::def(58, "Egress-VLAN-Name", ValueType::kString),
    detail::def(59, "User-Priority-Table", ValueType::kOctets),
    // RFC 2865
    detail::def(60, "CHAP-Challenge", ValueType::kOctets),
    detail::def(61, "NAS-Port-Type", ValueType::kInteger),
    detail::def(62, "Port-Limit", ValueType::kInteger),
    detail::def(63, "Login-LAT-Port", ValueType::kString),
    // RFC 2868 (tagged) and RFC 2867
    {0, 64, "Tunnel-Type", ValueType::kInteger, Encryption::kNone, true},
    {0, 65, "Tunnel-Medium-Type", ValueType::kInteger, Encryption::kNone, true},
    {0, 66, "Tunnel-Client-Endpoint", ValueType::kString, Encryption::kNone, true},
    {0, 67, "Tunnel-Server-Endpoint", ValueType::kString, Encryption::kNone, true},
    detail::def(68, "Acct-Tunnel-Connection", ValueType::kString),
    {0, 69, "Tunnel-Password", ValueType::kString, Encryption::kTunnelPassword, true},
    // RFC 2869
    {0, 70, "ARAP-Password", ValueType::kOctets, Encryption::kNone, false, false, false, 16},
    {0, 71, "ARAP-Features", ValueType::kOctets, Encryption::kNone, false, false, false, 14},
    detail::def(72, "ARAP-Zone-Access", ValueType::kInteger),
    detail::def(73, "ARAP-Security", ValueType::kInteger),
    detail::def(74, "ARAP-Security-Data", ValueType::kString),
    detail::def(75, "Password-Retry", ValueType::kInteger),
    detail::def(76, "Prompt", ValueType::kInteger),
    detail::def(77, "Connect-Info", ValueType::kString),
    detail::def(78, "Configuration-Token", ValueType::kString),
    {0, 79, "EAP-Message", ValueType::kOctets, Encryption::kNone, false, true},
    detail::def(80, "Message-Authenticator", ValueType::kOctets),
    {0, 81, "Tunnel-Private-Group-Id", ValueType::kString, Encryption::kNone, true},
    {0, 82, "Tunnel-Assignment-Id", ValueType::kString, Encryption::kNone, true},
    {0, 83, "Tunnel-Preference", ValueType::kInteger, Encryption::kNone, true},
    {0, 84, "ARAP-Challenge-Response", ValueType::kOctets, Encryption::kNone, false, false, false,
     8},
    detail::def(85, "Acct-Interim-Interval", ValueType::kInteger),
    detail::def(86, "Acct-Tunnel-Packets-Lost", ValueType::kInteger),
    detail::def(87, "NAS-Port-Id", ValueType::kString),
    detail::def(88, "Framed-Pool", ValueType::kString),
    // RFC 4372
    detail::def(89, "Chargeable-User-Identity", ValueType::kOctets),
    // RFC 2868
    {0, 90, "Tunnel-Client-Auth-Id", ValueType::kString, Encryption::kNone, true},
    {0, 91, "Tunnel-Server-Auth-Id", ValueType::kString, Encryption::kNone, true},
    // RFC 7155
    {0, 94, "Originating-Line-Info", ValueType::kOctets, Encryption::kNone, false, false, false, 2},
    // RFC 3162
    detail::def(95, "NAS-IPv6-Address", ValueType::kIpv6Addr),
    detail::def(96, "Framed-Interface-Id", ValueType::kIfId),
    detail::def(97, "Framed-IPv6-Prefix", ValueType::kIpv6Prefix),
    detail::def(98, "Login-IPv6-Host", ValueType::kIpv6Addr),
    detail::def(99, "Framed-IPv6-Route", ValueType::kString),
    detail::def(100, "Framed-IPv6-Pool", ValueType::kString),
    // RFC 5176 (first in RFC 3576)
    detail::def(101, "Error-Cause", ValueType::kInteger),
    // RFC 4818
    detail::def(123, "Delegated-IPv6-Prefix", ValueType::kIpv6Prefix),
    // RFC 6911
    detail::def(168, "Framed-IPv6-Address", ValueType::kIpv6Addr),
    detail::def(169, "DNS-Server-IPv6-Address", ValueType::kIpv6Addr),
    detail::def(170, "Route-IPv6-Information", ValueType::kIpv6Prefix),
    detail::def(171, "Delegated-IPv6-Prefix-Pool", ValueType::kString),
    detail::def(172, "Stateful-IPv6-Address-Pool", ValueType::kString),
    // Broadband Forum access line (RFC 4679; FreeRADIUS dictionary.rfc4679)
    detail::bbf(1, "ADSL-Agent-Circuit-Id", ValueType::kOctets),
    detail::bbf(2, "ADSL-Agent-Remote-Id", ValueType::kOctets),
    detail::bbf(129, "Actual-Data-Rate-Upstream", ValueType::kInteger),
    detail::bbf(130, "Actual-Data-Rate-Downstream", ValueType::kInteger),
    detail::bbf(131, "Minimum-Data-Rate-Upstream", ValueType::kInteger),
    detail::bbf(132, "Minimum-Data-Rate-Downstream", ValueType::kInteger),
    detail::bbf(133, "Attainable-Data-Rate-Upstream", ValueType::kInteger),
    detail::bbf(134, "Attainable-Data-Rate-Downstream", ValueType::kInteger),
    detail::bbf(135, "Maximum-Data-Rate-Upstream", ValueType::kInteger),
    detail::bbf(136, "Maximum-Data-Rate-Downstream", ValueType::kInteger),
    detail::bbf(137, "Minimum-Data-Rate-Upstream-Low-Power", ValueType::kInteger),
    detail::bbf(138, "Minimum-Data-Rate-Downstream-Low-Power", ValueType::kInteger),
    detail::bbf(139, "Maximum-Interleaving-Delay-Upstream", ValueType::kInteger),
    detail::bbf(140, "Actual-Interleaving-Delay-Upstream", ValueType::kInteger),
    detail::bbf(141, "Maximum-Interleaving-Delay-Downstream", ValueType::kInteger),
    detail::bbf(142, "Actual-Interleaving-Delay-Downstream", ValueType::kInteger),
    detail::bbf(144, "Access-Loop-Encapsulation", ValueType::kOctets),
    detail::bbf(254, "IWF-Session", ValueType::kOctets),
};

/// Built-in value names, grouped by attribute. Where FreeRADIUS has aliases for one number
/// ("Alive" for Interim-Update) only the canonical name is here.
inline constexpr ValueDef kBuiltinValues[] = {
    {0, 6, "Login-User", 1},
    {0, 6, "Framed-User", 2},
    {0, 6, "Callback-Login-User", 3},
    {0, 6, "Callback-Framed-User", 4},
    {0, 6, "Outbound-User", 5},
    {0, 6, "Administrative-User", 6},
    {0, 6, "NAS-Prompt-User", 7},
    {0, 6, "Authenticate-Only", 8},
    {0, 6, "Callback-NAS-Prompt", 9},
    {0, 6, "Call-Check", 10},
    {0, 6, "Callback-Administrative", 11},
    {0, 6, "Authorize-Only", 17},
    {0, 6, "Framed-Management", 18},
    {0, 7, "PPP", 1},
    {0, 7, "SLIP", 2},
    {0, 7, "ARAP", 3},
    {0, 7, "Gandalf-SLML", 4},
    {0, 7, "Xylogics-IPX-SLIP", 5},
    {0, 7, "X.75-Synchronous", 6},
    {0, 7, "GPRS-PDP-Context", 7},
    {0, 10, "None", 0},
    {0, 10, "Broadcast", 1},
    {0, 10, "Listen", 2},
    {0, 10, "Broadcast-Listen", 3},
    {0, 13, "None", 0},
    {0, 13, "Van-Jacobson-TCP-IP", 1},
    {0, 13, "IPX-Header-Compression", 2},
    {0, 13, "Stac-LZS", 3},
    {0, 15, "Telnet", 0},
    {0, 15, "Rlogin", 1},
    {0, 15, "TCP-Clear", 2},
    {0, 15, "PortMaster", 3},
    {0, 15, "LAT", 4},
    {0, 15, "X25-PAD", 5},
    {0, 15, "X25-T3POS", 6},
    {0, 15, "TCP-Clear-Quiet", 8},
    {0, 16, "Telnet", 23},
    {0, 16, "Rlogin", 513},
    {0, 16, "Rsh", 514},
    {0, 29, "Default", 0},
    {0, 29, "RADIUS-Request", 1},
    {0, 40, "Start", 1},
    {0, 40, "Stop", 2},
    {0, 40, "Interim-Update", 3},
    {0, 40, "Accounting-On", 7},
    {0, 40, "Accounting-Off", 8},
    {0, 40, "Tunnel-Start", 9},
    {0, 40, "Tunnel-Stop", 10},
    {0, 40, "Tunnel-Reject", 11},
    {0, 40, "Tunnel-Link-Start", 12},
    {0, 40, "Tunnel-Link-Stop", 13},
    {0, 40, "Tunnel-Link-Reject", 14},
    {0, 40, "Failed", 15},
    {0, 45, "RADIUS", 1},
    {0, 45, "Local", 2},
    {0, 45, "Remote", 3},
    {0, 45, "Diameter", 4},
    {0, 49, "User-Request", 1},
    {0, 49, "Lost-Carrier", 2},
    {0, 49, "Lost-Service", 3},
    {0, 49, "Idle-Timeout", 4},
    {0, 49, "Session-Timeout", 5},
    {0, 49, "Admin-Reset", 6},
    {0, 49, "Admin-Reboot", 7},
    {0, 49, "Port-Error", 8},
    {0, 49, "NAS-Error", 9},
    {0, 49, "NAS-Request", 10},
    {0, 49, "NAS-Reboot", 11},
    {0, 49, "Port-Unneeded", 12},
    {0, 49, "Port-Preempted", 13},
    {0, 49, "Port-Suspended", 14},
    {0, 49, "Service-Unavailable", 15},
    {0, 49, "Callback", 16},
    {0, 49, "User-Error", 17},
    {0, 49, "Host-Request", 18},
    {0, 49, "Supplicant-Restart", 19},
    {0, 49, "Reauthentication-Failure", 20},
    {0, 49, "Port-Reinit", 21},
    {0, 49, "Port-Disabled", 22},
    {0, 57, "Enabled", 1},
    {0, 57, "Disabled", 2},
    {0, 61, "Async", 0},
    {0, 61, "Sync", 1},
    {0, 61, "ISDN", 2},
    {0, 61, "ISDN-V120", 3},
    {0, 61, "ISDN-V110", 4},
    {0, 61, "Virtual", 5},
    {0, 61, "PIAFS", 6},
    {0, 61, "HDLC-Clear-Channel", 7},
    {0, 61, "X.25", 8},
    {0, 61, "X.75", 9},
    {0, 61, "G.3-Fax", 10},
    {0, 61, "SDSL", 11},
    {0, 61, "ADSL-CAP", 12},
    {0, 61, "ADSL-DMT", 13},
    {0, 61, "IDSL", 14},
    {0, 61, "Ethernet", 15},
    {0, 61, "xDSL", 16},
    {0, 61, "Cable", 17},
    {0, 61, "Wireless-Other", 18},
    {0, 61, "Wireless-802.11", 19},
    {0, 61, "Token-Ring", 20},
    {0, 61, "FDDI", 21},
    {0, 61, "PPPoA", 30},
    {0, 61, "PPPoEoA", 31},
    {0, 61, "PPPoEoE", 32},
    {0, 61, "PPPoEoVLAN", 33},
    {0, 61, "PPPoEoQinQ", 34},
    {0, 61, "xPON", 35},
    {0, 64, "PPTP", 1},
    {0, 64, "L2F", 2},
    {0, 64, "L2TP", 3},
    {0, 64, "ATMP", 4},
    {0, 64, "VTP", 5},
    {0, 64, "AH", 6},
    {0, 64, "IP", 7},
    {0, 64, "MIN-IP", 8},
    {0, 64, "ESP", 9},
    {0, 64, "GRE", 10},
    {0, 64, "DVS", 11},
    {0, 64, "IP-in-IP", 12},
    {0, 64, "VLAN", 13},
    {0, 65, "IPv4", 1},
    {0, 65, "IPv6", 2},
    {0, 65, "NSAP", 3},
    {0, 65, "HDLC", 4},
    {0, 65, "BBN-1822", 5},
    {0, 65, "IEEE-802", 6},
    {0, 65, "E.163", 7},
    {0, 65, "E.164", 8},
    {0, 65, "F.69", 9},
    {0, 65, "X.121", 10},
    {0, 65, "IPX", 11},
    {0, 65, "Appletalk", 12},
    {0, 65, "DecNet-IV", 13},
    {0, 65, "Banyan-Vines", 14},
    {0, 65, "E.164-NSAP", 15},
    {0, 72, "Default-Zone", 1},
    {0, 72, "Zone-Filter-Inclusive", 2},
    {0, 72, "Zone-Filter-Exclusive", 4},
    {0, 76, "No-Echo", 0},
    {0, 76, "Echo", 1},
    {0, 101, "Residual-Context-Removed", 201},
    {0, 101, "Invalid-EAP-Packet", 202},
    {0, 101, "Unsupported-Attribute", 401},
    {0, 101, "Missing-Attribute", 402},
    {0, 101, "NAS-Identification-Mismatch", 403},
    {0, 101, "Invalid-Request", 404},
    {0, 101, "Unsupported-Service", 405},
    {0, 101, "Unsupported-Extension", 406},
    {0, 101, "Invalid-Attribute-Value", 407},
    {0, 101, "Administratively-Prohibited", 501},
    {0, 101, "Proxy-Request-Not-Routable", 502},
    {0, 101, "Session-Context-Not-Found", 503},
    {0, 101, "Session-Context-Not-Removable", 504},
    {0, 101, "Proxy-Processing-Error", 505},
    {0, 101, "Resources-Unavailable", 506},
    {0, 101, "Request-Initiated", 507},
    {0, 101, "Multiple-Session-Selection-Unsupported", 508},
};

/// The built-in definition of (vendor, number), or nullptr. Usable at compile time.
[[nodiscard]] constexpr const AttributeDef* find_builtin_attribute(std::uint32_t vendor_id,
                                                                   std::uint32_t number) noexcept {
  for (const auto& def : kBuiltinAttributes) {
    if (def.vendor == vendor_id && def.number == number) return &def;
  }
  return nullptr;
}

/// The built-in name of `value` of attribute (vendor, number), or empty.
[[nodiscard]] constexpr std::string_view builtin_value_name(std::uint32_t vendor_id,
                                                            std::uint32_t attribute,
                                                            std::uint64_t value) noexcept {
  for (const auto& def : kBuiltinValues) {
    if (def.vendor == vendor_id && def.attribute == attribute && def.value == value) {
      return def.name;
    }
  }
  return {};
}

}  // namespace bngkit::bng::radius
