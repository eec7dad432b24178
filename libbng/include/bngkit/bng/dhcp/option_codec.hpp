// Per-shape DHCPv4 option codecs: decode, encode, validate against the option table, and
// format for logs. One function per wire shape (option_defs.hpp), never one per code.
#pragma once

#include <bngkit/bng/dhcp/ipv4.hpp>
#include <bngkit/bng/dhcp/option_defs.hpp>
#include <bngkit/bng_codec/export.hpp>
#include <bngkit/common/result.hpp>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace bngkit::bng::dhcp {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

/// One classless static route (RFC 3442).
struct ClasslessRoute {
  Ipv4 destination;
  std::uint8_t prefix_len = 0;  ///< 0..32
  Ipv4 router;
  bool operator==(const ClasslessRoute&) const = default;
};

// ---- Decoders: std::nullopt when the bytes do not have the shape. ----

[[nodiscard]] inline std::optional<std::uint8_t> decode_u8(ByteView d) noexcept {
  if (d.size() != 1) return std::nullopt;
  return d[0];
}
[[nodiscard]] inline std::optional<std::uint16_t> decode_u16(ByteView d) noexcept {
  if (d.size() != 2) return std::nullopt;
  return static_cast<std::uint16_t>((d[0] << 8) | d[1]);
}
[[nodiscard]] inline std::optional<std::uint32_t> decode_u32(ByteView d) noexcept {
  if (d.size() != 4) return std::nullopt;
  return (std::uint32_t{d[0]} << 24) | (std::uint32_t{d[1]} << 16) | (std::uint32_t{d[2]} << 8) |
         std::uint32_t{d[3]};
}
[[nodiscard]] inline std::optional<std::int32_t> decode_i32(ByteView d) noexcept {
  const auto v = decode_u32(d);
  if (!v) return std::nullopt;
  return static_cast<std::int32_t>(*v);
}
[[nodiscard]] inline std::optional<Ipv4> decode_ip(ByteView d) noexcept {
  if (d.size() != 4) return std::nullopt;
  return Ipv4::from_bytes(d);
}
/// IPv4 addresses, 4 octets each; an empty value is an empty list.
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT std::optional<std::vector<Ipv4>> decode_ip_list(ByteView d);
/// 16-bit values in network order.
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT std::optional<std::vector<std::uint16_t>> decode_u16_list(
    ByteView d);
/// The octets as text. Trailing NULs, which some clients append although RFC 2132 says
/// strings are not terminated, are dropped.
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT std::string decode_string(ByteView d);
/// RFC 1035 wire-format names with RFC 3397 compression pointers (which may only point
/// backwards inside the value), as dotted text without the final dot.
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT std::optional<std::vector<std::string>> decode_dns_names(
    ByteView d);
/// RFC 3442 routes.
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT std::optional<std::vector<ClasslessRoute>>
decode_classless_routes(ByteView d);

// ---- Encoders. ----

[[nodiscard]] inline Bytes encode_u8(std::uint8_t v) { return Bytes{v}; }
[[nodiscard]] inline Bytes encode_u16(std::uint16_t v) {
  return Bytes{static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
}
[[nodiscard]] inline Bytes encode_u32(std::uint32_t v) {
  return Bytes{static_cast<std::uint8_t>(v >> 24), static_cast<std::uint8_t>(v >> 16),
               static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
}
[[nodiscard]] inline Bytes encode_ip(Ipv4 ip) {
  return Bytes(ip.bytes().begin(), ip.bytes().end());
}
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT Bytes encode_ip_list(std::span<const Ipv4> ips);
[[nodiscard]] inline Bytes encode_string(std::string_view s) { return Bytes(s.begin(), s.end()); }
/// Uncompressed wire-format names; fails on an empty label, a label over 63 octets or a
/// name over 255 octets.
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT Result<Bytes> encode_dns_names(
    std::span<const std::string> names);
/// Fails on a prefix length over 32.
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT Result<Bytes> encode_classless_routes(
    std::span<const ClasslessRoute> routes);

// ---- Table-driven checks and formatting. ----

/// Checks the structure of a value of shape `type` (element size, record layout); length
/// bounds come from the table and are checked by validate_option.
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT Result<void> validate_shape(OptionType type, ByteView data);

/// Checks a (concatenated) option value against the standard table: length bounds and shape.
/// Codes not in the table are opaque and always valid. Errors name the option and the fault,
/// e.g. "option 53 (dhcp-message-type) length 2, expected 1".
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT Result<void> validate_option(std::uint8_t code,
                                                                   ByteView data);

/// "routers=192.0.2.1,192.0.2.2"; codes not in the table print as "option-224=0a:0b", and
/// values that do not match their shape print as hex.
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT std::string format_option(std::uint8_t code, ByteView data);

/// "0a:0b:0c"
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT std::string to_hex(ByteView data, char separator = ':');

}  // namespace bngkit::bng::dhcp
