// DHCPv4 option definitions as data (RFC 2132 and later RFCs): code, name, wire shape and
// length bounds for every standard option, in one constexpr table. Codecs work per shape
// (see option_codec.hpp), never per option code.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace bngkit::bng::dhcp {

/// Option codes libbng refers to by name.
namespace opt {
inline constexpr std::uint8_t pad = 0;
inline constexpr std::uint8_t subnet_mask = 1;
inline constexpr std::uint8_t time_offset = 2;
inline constexpr std::uint8_t router = 3;
inline constexpr std::uint8_t domain_name_server = 6;
inline constexpr std::uint8_t host_name = 12;
inline constexpr std::uint8_t domain_name = 15;
inline constexpr std::uint8_t interface_mtu = 26;
inline constexpr std::uint8_t broadcast_address = 28;
inline constexpr std::uint8_t static_routes = 33;
inline constexpr std::uint8_t ntp_servers = 42;
inline constexpr std::uint8_t vendor_specific = 43;
inline constexpr std::uint8_t requested_address = 50;
inline constexpr std::uint8_t lease_time = 51;
inline constexpr std::uint8_t overload = 52;
inline constexpr std::uint8_t message_type = 53;
inline constexpr std::uint8_t server_id = 54;
inline constexpr std::uint8_t parameter_request_list = 55;
inline constexpr std::uint8_t message = 56;
inline constexpr std::uint8_t max_message_size = 57;
inline constexpr std::uint8_t renewal_time = 58;
inline constexpr std::uint8_t rebinding_time = 59;
inline constexpr std::uint8_t vendor_class_id = 60;
inline constexpr std::uint8_t client_id = 61;
inline constexpr std::uint8_t tftp_server_name = 66;
inline constexpr std::uint8_t bootfile_name = 67;
inline constexpr std::uint8_t user_class = 77;
inline constexpr std::uint8_t rapid_commit = 80;
inline constexpr std::uint8_t client_fqdn = 81;
inline constexpr std::uint8_t relay_agent_info = 82;
inline constexpr std::uint8_t ipv6_only_preferred = 108;
inline constexpr std::uint8_t captive_portal = 114;
inline constexpr std::uint8_t subnet_selection = 118;
inline constexpr std::uint8_t domain_search = 119;
inline constexpr std::uint8_t classless_static_route = 121;
inline constexpr std::uint8_t vivco = 124;
inline constexpr std::uint8_t vivso = 125;
inline constexpr std::uint8_t end = 255;
}  // namespace opt

/// Wire shape of an option value. One codec (validate/format/decode) exists per shape.
enum class OptionType : std::uint8_t {
  empty,               ///< no data (rapid commit)
  flag,                ///< one octet, 0 or 1
  u8,                  ///< unsigned 8-bit
  u16,                 ///< unsigned 16-bit, network order
  u32,                 ///< unsigned 32-bit, network order
  i32,                 ///< signed 32-bit, network order (time offset)
  ip,                  ///< one IPv4 address
  ip_list,             ///< IPv4 addresses, 4 octets each
  ip_pair_list,        ///< pairs of IPv4 addresses (policy filter, static routes)
  u8_list,             ///< octets (parameter request list)
  u16_list,            ///< 16-bit values (path MTU plateau table)
  string,              ///< NVT ASCII text
  binary,              ///< opaque octets
  dns_names,           ///< RFC 1035 wire-format names, compression allowed (RFC 3397)
  client_id,           ///< type octet + identifier (RFC 2132 9.14)
  relay_agent_info,    ///< sub-option TLVs (RFC 3046)
  client_fqdn,         ///< flags, rcode1, rcode2, name (RFC 4702)
  classless_routes,    ///< width, significant destination octets, router (RFC 3442)
  vendor_identifying,  ///< enterprise number + length-prefixed data, repeated (RFC 3925)
  sip_servers,         ///< encoding octet + names or addresses (RFC 3361)
};

/// No upper bound beyond what RFC 3396 concatenation allows.
inline constexpr std::uint16_t kUnbounded = 0xffff;

/// One standard option: what it is called, its wire shape and the bounds of its value
/// length (after RFC 3396 concatenation).
struct OptionDef {
  std::uint8_t code;
  std::string_view name;
  OptionType type;
  std::uint16_t min_len;
  std::uint16_t max_len;
};

/// The standard option table, sorted by code.
inline constexpr std::array kStandardOptionDefs = std::to_array<OptionDef>({
    // RFC 2132 section 3: vendor extensions.
    {1, "subnet-mask", OptionType::ip, 4, 4},
    {2, "time-offset", OptionType::i32, 4, 4},
    {3, "routers", OptionType::ip_list, 4, kUnbounded},
    {4, "time-servers", OptionType::ip_list, 4, kUnbounded},
    {5, "name-servers", OptionType::ip_list, 4, kUnbounded},
    {6, "domain-name-servers", OptionType::ip_list, 4, kUnbounded},
    {7, "log-servers", OptionType::ip_list, 4, kUnbounded},
    {8, "cookie-servers", OptionType::ip_list, 4, kUnbounded},
    {9, "lpr-servers", OptionType::ip_list, 4, kUnbounded},
    {10, "impress-servers", OptionType::ip_list, 4, kUnbounded},
    {11, "resource-location-servers", OptionType::ip_list, 4, kUnbounded},
    {12, "host-name", OptionType::string, 1, kUnbounded},
    {13, "boot-size", OptionType::u16, 2, 2},
    {14, "merit-dump", OptionType::string, 1, kUnbounded},
    {15, "domain-name", OptionType::string, 1, kUnbounded},
    {16, "swap-server", OptionType::ip, 4, 4},
    {17, "root-path", OptionType::string, 1, kUnbounded},
    {18, "extensions-path", OptionType::string, 1, kUnbounded},
    // Section 4: IP layer parameters per host.
    {19, "ip-forwarding", OptionType::flag, 1, 1},
    {20, "non-local-source-routing", OptionType::flag, 1, 1},
    {21, "policy-filter", OptionType::ip_pair_list, 8, kUnbounded},
    {22, "max-dgram-reassembly", OptionType::u16, 2, 2},
    {23, "default-ip-ttl", OptionType::u8, 1, 1},
    {24, "path-mtu-aging-timeout", OptionType::u32, 4, 4},
    {25, "path-mtu-plateau-table", OptionType::u16_list, 2, kUnbounded},
    // Section 5: IP layer parameters per interface.
    {26, "interface-mtu", OptionType::u16, 2, 2},
    {27, "all-subnets-local", OptionType::flag, 1, 1},
    {28, "broadcast-address", OptionType::ip, 4, 4},
    {29, "perform-mask-discovery", OptionType::flag, 1, 1},
    {30, "mask-supplier", OptionType::flag, 1, 1},
    {31, "router-discovery", OptionType::flag, 1, 1},
    {32, "router-solicitation-address", OptionType::ip, 4, 4},
    {33, "static-routes", OptionType::ip_pair_list, 8, kUnbounded},
    // Section 6: link layer parameters per interface.
    {34, "trailer-encapsulation", OptionType::flag, 1, 1},
    {35, "arp-cache-timeout", OptionType::u32, 4, 4},
    {36, "ieee802-3-encapsulation", OptionType::flag, 1, 1},
    // Section 7: TCP parameters.
    {37, "default-tcp-ttl", OptionType::u8, 1, 1},
    {38, "tcp-keepalive-interval", OptionType::u32, 4, 4},
    {39, "tcp-keepalive-garbage", OptionType::flag, 1, 1},
    // Section 8: application and service parameters.
    {40, "nis-domain", OptionType::string, 1, kUnbounded},
    {41, "nis-servers", OptionType::ip_list, 4, kUnbounded},
    {42, "ntp-servers", OptionType::ip_list, 4, kUnbounded},
    {43, "vendor-encapsulated-options", OptionType::binary, 1, kUnbounded},
    {44, "netbios-name-servers", OptionType::ip_list, 4, kUnbounded},
    {45, "netbios-dd-server", OptionType::ip_list, 4, kUnbounded},
    {46, "netbios-node-type", OptionType::u8, 1, 1},
    {47, "netbios-scope", OptionType::string, 1, kUnbounded},
    {48, "font-servers", OptionType::ip_list, 4, kUnbounded},
    {49, "x-display-manager", OptionType::ip_list, 4, kUnbounded},
    // Section 9: DHCP extensions.
    {50, "dhcp-requested-address", OptionType::ip, 4, 4},
    {51, "dhcp-lease-time", OptionType::u32, 4, 4},
    {52, "dhcp-option-overload", OptionType::u8, 1, 1},
    {53, "dhcp-message-type", OptionType::u8, 1, 1},
    {54, "dhcp-server-identifier", OptionType::ip, 4, 4},
    {55, "dhcp-parameter-request-list", OptionType::u8_list, 1, kUnbounded},
    {56, "dhcp-message", OptionType::string, 1, kUnbounded},
    {57, "dhcp-max-message-size", OptionType::u16, 2, 2},
    {58, "dhcp-renewal-time", OptionType::u32, 4, 4},
    {59, "dhcp-rebinding-time", OptionType::u32, 4, 4},
    {60, "vendor-class-identifier", OptionType::string, 1, kUnbounded},
    {61, "dhcp-client-identifier", OptionType::client_id, 2, kUnbounded},
    {62, "nwip-domain-name", OptionType::string, 1, kUnbounded},
    {63, "nwip-suboptions", OptionType::binary, 1, kUnbounded},
    {64, "nisplus-domain-name", OptionType::string, 1, kUnbounded},
    {65, "nisplus-servers", OptionType::ip_list, 4, kUnbounded},
    {66, "tftp-server-name", OptionType::string, 1, kUnbounded},
    {67, "boot-file-name", OptionType::string, 1, kUnbounded},
    {68, "mobile-ip-home-agent", OptionType::ip_list, 0, kUnbounded},
    {69, "smtp-server", OptionType::ip_list, 4, kUnbounded},
    {70, "pop-server", OptionType::ip_list, 4, kUnbounded},
    {71, "nntp-server", OptionType::ip_list, 4, kUnbounded},
    {72, "www-server", OptionType::ip_list, 4, kUnbounded},
    {73, "finger-server", OptionType::ip_list, 4, kUnbounded},
    {74, "irc-server", OptionType::ip_list, 4, kUnbounded},
    {75, "streettalk-server", OptionType::ip_list, 4, kUnbounded},
    {76, "streettalk-directory-assistance-server", OptionType::ip_list, 4, kUnbounded},
    // Later RFCs.
    {77, "user-class", OptionType::binary, 1, kUnbounded},                         // RFC 3004
    {78, "slp-directory-agent", OptionType::binary, 1, kUnbounded},                // RFC 2610
    {79, "slp-service-scope", OptionType::binary, 1, kUnbounded},                  // RFC 2610
    {80, "rapid-commit", OptionType::empty, 0, 0},                                 // RFC 4039
    {81, "fqdn", OptionType::client_fqdn, 3, kUnbounded},                          // RFC 4702
    {82, "dhcp-agent-options", OptionType::relay_agent_info, 2, kUnbounded},       // RFC 3046
    {85, "nds-servers", OptionType::ip_list, 4, kUnbounded},                       // RFC 2241
    {86, "nds-tree-name", OptionType::string, 1, kUnbounded},                      // RFC 2241
    {87, "nds-context", OptionType::string, 1, kUnbounded},                        // RFC 2241
    {88, "bcms-controller-names", OptionType::dns_names, 1, kUnbounded},           // RFC 4280
    {89, "bcms-controller-address", OptionType::ip_list, 4, kUnbounded},           // RFC 4280
    {90, "authenticate", OptionType::binary, 11, kUnbounded},                      // RFC 3118
    {91, "client-last-transaction-time", OptionType::u32, 4, 4},                   // RFC 4388
    {92, "associated-ip", OptionType::ip_list, 4, kUnbounded},                     // RFC 4388
    {93, "client-system", OptionType::u16_list, 2, kUnbounded},                    // RFC 4578
    {94, "client-ndi", OptionType::binary, 3, 3},                                  // RFC 4578
    {97, "uuid-guid", OptionType::binary, 17, 17},                                 // RFC 4578
    {98, "uap-servers", OptionType::string, 1, kUnbounded},                        // RFC 2485
    {99, "geoconf-civic", OptionType::binary, 3, kUnbounded},                      // RFC 4776
    {100, "pcode", OptionType::string, 1, kUnbounded},                             // RFC 4833
    {101, "tcode", OptionType::string, 1, kUnbounded},                             // RFC 4833
    {108, "v6-only-preferred", OptionType::u32, 4, 4},                             // RFC 8925
    {112, "netinfo-server-address", OptionType::ip_list, 4, kUnbounded},           // RFC 3679
    {113, "netinfo-server-tag", OptionType::string, 1, kUnbounded},                // RFC 3679
    {114, "v4-captive-portal", OptionType::string, 1, kUnbounded},                 // RFC 8910
    {116, "auto-config", OptionType::u8, 1, 1},                                    // RFC 2563
    {117, "name-service-search", OptionType::u16_list, 2, kUnbounded},             // RFC 2937
    {118, "subnet-selection", OptionType::ip, 4, 4},                               // RFC 3011
    {119, "domain-search", OptionType::dns_names, 1, kUnbounded},                  // RFC 3397
    {120, "sip-server", OptionType::sip_servers, 2, kUnbounded},                   // RFC 3361
    {121, "classless-static-route", OptionType::classless_routes, 5, kUnbounded},  // RFC 3442
    {123, "geoconf", OptionType::binary, 16, 16},                                  // RFC 6225
    {124, "vivco-suboptions", OptionType::vendor_identifying, 5, kUnbounded},      // RFC 3925
    {125, "vivso-suboptions", OptionType::vendor_identifying, 5, kUnbounded},      // RFC 3925
    {136, "pana-agent", OptionType::ip_list, 4, kUnbounded},                       // RFC 5192
    {137, "v4-lost", OptionType::dns_names, 1, kUnbounded},                        // RFC 5223
    {138, "capwap-ac-v4", OptionType::ip_list, 4, kUnbounded},                     // RFC 5417
    {141, "sip-ua-cs-domains", OptionType::dns_names, 1, kUnbounded},              // RFC 6011
    {142, "andsf-ipv4", OptionType::ip_list, 4, kUnbounded},                       // RFC 6153
    {145, "forcerenew-nonce-capable", OptionType::u8_list, 1, kUnbounded},         // RFC 6704
    {150, "tftp-server-address", OptionType::ip_list, 4, kUnbounded},              // RFC 5859
    {151, "status-code", OptionType::binary, 1, kUnbounded},                       // RFC 6926
    {152, "base-time", OptionType::u32, 4, 4},                                     // RFC 6926
    {153, "start-time-of-state", OptionType::u32, 4, 4},                           // RFC 6926
    {154, "query-start-time", OptionType::u32, 4, 4},                              // RFC 6926
    {155, "query-end-time", OptionType::u32, 4, 4},                                // RFC 6926
    {156, "dhcp-state", OptionType::u8, 1, 1},                                     // RFC 6926
    {157, "data-source", OptionType::u8, 1, 1},                                    // RFC 6926
    {159, "v4-portparams", OptionType::binary, 4, 4},                              // RFC 7618
    {161, "mud-url-v4", OptionType::string, 1, kUnbounded},                        // RFC 8520
    {208, "pxelinux-magic", OptionType::binary, 4, 4},                             // RFC 5071
    {209, "configuration-file", OptionType::string, 1, kUnbounded},                // RFC 5071
    {210, "path-prefix", OptionType::string, 1, kUnbounded},                       // RFC 5071
    {211, "reboot-time", OptionType::u32, 4, 4},                                   // RFC 5071
    {213, "v4-access-domain", OptionType::dns_names, 1, kUnbounded},               // RFC 5986
    {252, "wpad", OptionType::string, 1, kUnbounded},  // draft-ietf-wrec-wpad
});

namespace detail {
// code -> index into kStandardOptionDefs, or -1; built at compile time.
inline constexpr std::array<std::int16_t, 256> kOptionDefIndex = [] {
  std::array<std::int16_t, 256> index{};
  index.fill(-1);
  for (std::size_t i = 0; i < kStandardOptionDefs.size(); ++i) {
    index[kStandardOptionDefs[i].code] = static_cast<std::int16_t>(i);
  }
  return index;
}();
}  // namespace detail

/// The definition of a standard option, or nullptr for codes not in the table (including
/// pad and end, which are framing, not options).
[[nodiscard]] constexpr const OptionDef* find_option_def(std::uint8_t code) noexcept {
  const std::int16_t i = detail::kOptionDefIndex[code];
  return i < 0 ? nullptr : &kStandardOptionDefs[static_cast<std::size_t>(i)];
}

/// The table's name for `code`, or an empty view for unknown codes.
[[nodiscard]] constexpr std::string_view option_name(std::uint8_t code) noexcept {
  const OptionDef* def = find_option_def(code);
  return def ? def->name : std::string_view{};
}

}  // namespace bngkit::bng::dhcp
