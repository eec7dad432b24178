// Ethernet (+802.1Q / QinQ) / IPv4 / UDP framing around a DHCP payload, with correct IPv4
// header and UDP checksums: for XDP fixtures (BPF_PROG_TEST_RUN), raw-socket slow paths and
// tests that compare replies byte for byte.
#pragma once

#include <bngkit/bng/dhcp/ipv4.hpp>
#include <bngkit/bng/dhcp/message.hpp>
#include <bngkit/bng_codec/export.hpp>
#include <bngkit/common/result.hpp>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace bngkit::bng::dhcp {

inline constexpr std::uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr std::uint16_t kEtherTypeVlan = 0x8100;      ///< 802.1Q C-tag
inline constexpr std::uint16_t kEtherTypeQinQ = 0x88a8;      ///< 802.1ad S-tag
inline constexpr std::uint16_t kEtherTypeQinQ9100 = 0x9100;  ///< pre-standard S-tag
inline constexpr std::uint16_t kDhcpServerPort = 67;
inline constexpr std::uint16_t kDhcpClientPort = 68;
inline constexpr std::size_t kMaxVlanTags = 2;

/// One VLAN tag.
struct VlanTag {
  std::uint16_t tpid = kEtherTypeVlan;
  std::uint16_t vid = 0;  ///< 12 bits
  std::uint8_t pcp = 0;   ///< 3 bits
  bool dei = false;
  bool operator==(const VlanTag&) const = default;
};

/// Everything around the UDP payload.
struct UdpFrame {
  MacAddress dst_mac = MacAddress::broadcast();
  MacAddress src_mac;
  std::vector<VlanTag> vlans;  ///< outermost first; at most two (QinQ)
  Ipv4 src_ip;
  Ipv4 dst_ip = Ipv4(255, 255, 255, 255);
  std::uint8_t tos = 0;
  std::uint8_t ttl = 64;
  std::uint16_t ip_id = 0;
  bool dont_fragment = false;
  std::uint16_t src_port = kDhcpClientPort;
  std::uint16_t dst_port = kDhcpServerPort;
  bool operator==(const UdpFrame&) const = default;
};

/// A parsed frame. `payload` points into the buffer given to parse_udp_frame.
struct ParsedUdpFrame {
  UdpFrame headers;
  std::span<const std::uint8_t> payload;
  std::size_t ip_offset = 0;         ///< offset of the IPv4 header in the frame
  std::size_t udp_offset = 0;        ///< offset of the UDP header in the frame
  bool udp_checksum_present = true;  ///< false when the sender put 0 (legal in IPv4)
};

/// What parse_udp_frame verifies.
struct FrameChecks {
  bool ip_checksum = true;
  bool udp_checksum = true;  ///< a zero UDP checksum always passes (RFC 768)
};

/// RFC 1071 one's-complement sum of `data` folded into 16 bits, not inverted; `initial`
/// carries a previous partial sum.
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT std::uint32_t checksum_partial(
    std::span<const std::uint8_t> data, std::uint32_t initial = 0) noexcept;
/// Checksum of an IPv4 header (the checksum field must be zero or is included as-is: a
/// header carrying a correct checksum yields 0).
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT std::uint16_t ipv4_header_checksum(
    std::span<const std::uint8_t> header) noexcept;
/// UDP checksum over the pseudo-header and `segment` (UDP header + payload; same rule for the
/// checksum field). Returns 0xffff instead of 0, as RFC 768 requires on the wire.
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT std::uint16_t udp_checksum(
    Ipv4 src, Ipv4 dst, std::span<const std::uint8_t> segment) noexcept;

/// Builds Ethernet [+ tags] + IPv4 (no options) + UDP + payload with both checksums filled.
/// Fails with more than two VLAN tags, a VID above 4095 or a payload too large for IPv4.
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT Result<std::vector<std::uint8_t>> build_udp_frame(
    const UdpFrame& headers, std::span<const std::uint8_t> payload);
/// build_udp_frame around message.serialize().
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT Result<std::vector<std::uint8_t>> build_dhcp_frame(
    const UdpFrame& headers, const Message& message);

/// Parses Ethernet [+ up to two 0x8100/0x88a8/0x9100 tags] + IPv4 + UDP. Accepts Ethernet
/// padding after the IP packet and IPv4 options; rejects fragments, non-UDP, truncation and
/// (per `checks`) wrong checksums, saying which.
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT Result<ParsedUdpFrame> parse_udp_frame(
    std::span<const std::uint8_t> frame, FrameChecks checks = {});

/// Headers for the reply to `request` (received in `request_frame`) per RFC 2131 4.1: to the
/// relay (giaddr, port 67) when relayed; else to ciaddr when set; else broadcast when the
/// client set the broadcast bit or this is a NAK; else unicast to yiaddr and chaddr. VLAN tags
/// are kept; the source is the server.
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT UdpFrame reply_frame_headers(const UdpFrame& request_frame,
                                                                   const Message& request,
                                                                   const Message& reply,
                                                                   MacAddress server_mac,
                                                                   Ipv4 server_ip);

}  // namespace bngkit::bng::dhcp
