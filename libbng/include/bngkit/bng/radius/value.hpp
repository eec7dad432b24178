// One codec per RADIUS wire shape: fixed-size integers and addresses, IPv4/IPv6 prefixes,
// interface ids, and the text forms FreeRADIUS uses ("2001:db8::/32", "0:0:0:1", "0x0a0b").
// Decoders check sizes and never read past the span they are given.
#pragma once

#include <array>
#include <bngkit/bng/dhcp/ipv4.hpp>
#include <bngkit/bng/radius/attributes.hpp>
#include <bngkit/bng_codec/export.hpp>
#include <bngkit/common/result.hpp>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace bngkit::bng::radius {

// IPv4 and MAC addresses are libbng's shared value types (bngkit::bng::Ipv4, MacAddress).
using Ipv6Address = std::array<std::uint8_t, 16>;  ///< network order
using InterfaceId = std::array<std::uint8_t, 8>;   ///< RFC 3162 Framed-Interface-Id

/// An IPv6 prefix (RFC 3162 2.3). Bits past `length` are zero in a valid prefix.
struct Ipv6Prefix {
  std::uint8_t length = 0;  ///< 0-128
  Ipv6Address address{};
  friend bool operator==(const Ipv6Prefix&, const Ipv6Prefix&) = default;
};

/// An IPv4 prefix (RFC 6572 6.3).
struct Ipv4Prefix {
  std::uint8_t length = 0;  ///< 0-32
  Ipv4 address{};
  friend bool operator==(const Ipv4Prefix&, const Ipv4Prefix&) = default;
};

// Fixed-size encoders: network order.
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT std::array<std::uint8_t, 4> encode_integer(
    std::uint32_t value) noexcept;
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT std::array<std::uint8_t, 8> encode_integer64(
    std::uint64_t value) noexcept;
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT std::array<std::uint8_t, 2> encode_short(
    std::uint16_t value) noexcept;

/// RFC 3162 form: reserved 0, prefix length, then only the octets the length covers.
/// Fails when the length exceeds 128 or bits past it are set.
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT Result<std::vector<std::uint8_t>> encode_ipv6prefix(
    const Ipv6Prefix& prefix);
/// RFC 6572 form: reserved 0, prefix length, 4 address octets.
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT Result<std::vector<std::uint8_t>> encode_ipv4prefix(
    const Ipv4Prefix& prefix);

// Decoders: each checks the exact size of its shape.
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT Result<std::uint32_t> decode_integer(
    std::span<const std::uint8_t> value);
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT Result<std::uint64_t> decode_integer64(
    std::span<const std::uint8_t> value);
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT Result<std::uint16_t> decode_short(
    std::span<const std::uint8_t> value);
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT Result<std::uint8_t> decode_byte(
    std::span<const std::uint8_t> value);
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT Result<std::int32_t> decode_signed(
    std::span<const std::uint8_t> value);
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT Result<Ipv4> decode_ipaddr(
    std::span<const std::uint8_t> value);
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT Result<Ipv6Address> decode_ipv6addr(
    std::span<const std::uint8_t> value);
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT Result<InterfaceId> decode_ifid(
    std::span<const std::uint8_t> value);
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT Result<MacAddress> decode_ether(
    std::span<const std::uint8_t> value);
/// Accepts 2-18 octets (RFC 3162 2.3): the prefix length must fit in the octets sent and
/// bits past it must be zero (RFC 8044 3.10).
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT Result<Ipv6Prefix> decode_ipv6prefix(
    std::span<const std::uint8_t> value);
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT Result<Ipv4Prefix> decode_ipv4prefix(
    std::span<const std::uint8_t> value);

/// Checks that `value` has the size its shape requires (e.g. 4 for kInteger, 2-18 for
/// kIpv6Prefix, 1-253 for kString), and `fixed_length` when non-zero.
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT Result<void> check_value(ValueType type,
                                                               std::span<const std::uint8_t> value,
                                                               std::uint8_t fixed_length = 0);

/// The text form of a value (FreeRADIUS style: dotted quads, "2001:db8::/32", "0:0:0:1",
/// decimal integers, strings as they are with non-printables escaped, octets as 0x hex).
/// A value whose size is wrong for its shape is shown as 0x hex.
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT std::string format_value(ValueType type,
                                                               std::span<const std::uint8_t> value);

/// Parses the text form of a value into wire octets (integers in decimal or 0x hex;
/// octets as 0x hex or as raw text). Enumerated names are the Dictionary's business.
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT Result<std::vector<std::uint8_t>> parse_value(
    ValueType type, std::string_view text);

/// Lower-case hex of `bytes` with a 0x prefix.
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT std::string to_hex(std::span<const std::uint8_t> bytes);

/// Bytes of a hex string; whitespace and an optional 0x prefix are allowed.
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT Result<std::vector<std::uint8_t>> from_hex(
    std::string_view text);

/// Views a string's characters as octets.
[[nodiscard]] inline std::span<const std::uint8_t> as_bytes(std::string_view text) noexcept {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

/// Views octets as characters.
[[nodiscard]] inline std::string_view as_text(std::span<const std::uint8_t> bytes) noexcept {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

}  // namespace bngkit::bng::radius
