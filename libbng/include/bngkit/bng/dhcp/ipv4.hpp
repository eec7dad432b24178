// IPv4 and Ethernet MAC address value types shared by the DHCP codec and the rest of libbng.
// Addresses are kept as network-order bytes, the way they sit in packets and `_be` map fields.
#pragma once

#include <array>
#include <bit>
#include <bngkit/bng_codec/export.hpp>
#include <bngkit/common/result.hpp>
#include <compare>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace bngkit::bng::dhcp {

/// An IPv4 address as four network-order bytes.
class BNGKIT_BNG_CODEC_EXPORT Ipv4 {
 public:
  /// 0.0.0.0
  constexpr Ipv4() noexcept = default;
  constexpr explicit Ipv4(std::array<std::uint8_t, 4> bytes) noexcept : b_(bytes) {}
  constexpr Ipv4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) noexcept
      : b_{a, b, c, d} {}

  /// From a host-order integer: 0x0a000001 is 10.0.0.1.
  [[nodiscard]] static constexpr Ipv4 from_host(std::uint32_t host) noexcept {
    return Ipv4(static_cast<std::uint8_t>(host >> 24), static_cast<std::uint8_t>(host >> 16),
                static_cast<std::uint8_t>(host >> 8), static_cast<std::uint8_t>(host));
  }
  /// From a network-order integer exactly as it sits in memory (a `__be32`, `s_addr`).
  [[nodiscard]] static constexpr Ipv4 from_be(std::uint32_t be) noexcept {
    return Ipv4(std::bit_cast<std::array<std::uint8_t, 4>>(be));
  }
  /// From the first four bytes of `bytes`; the caller guarantees at least four.
  [[nodiscard]] static Ipv4 from_bytes(std::span<const std::uint8_t> bytes) noexcept {
    return Ipv4(bytes[0], bytes[1], bytes[2], bytes[3]);
  }
  /// Parses strict dotted-quad text ("192.0.2.1"; no leading zeros, no spaces).
  [[nodiscard]] static Result<Ipv4> parse(std::string_view text);

  /// Host-order integer (10.0.0.1 -> 0x0a000001), for arithmetic and ranges.
  [[nodiscard]] constexpr std::uint32_t to_host() const noexcept {
    return (std::uint32_t{b_[0]} << 24) | (std::uint32_t{b_[1]} << 16) |
           (std::uint32_t{b_[2]} << 8) | std::uint32_t{b_[3]};
  }
  /// Network-order integer as it sits in memory, for `__be32` / `_be` fields.
  [[nodiscard]] constexpr std::uint32_t to_be() const noexcept {
    return std::bit_cast<std::uint32_t>(b_);
  }
  [[nodiscard]] constexpr const std::array<std::uint8_t, 4>& bytes() const noexcept { return b_; }
  [[nodiscard]] constexpr bool is_unspecified() const noexcept { return to_host() == 0; }
  /// Dotted-quad text.
  [[nodiscard]] std::string to_string() const;

  constexpr auto operator<=>(const Ipv4&) const noexcept = default;

 private:
  std::array<std::uint8_t, 4> b_{};
};

/// A 48-bit Ethernet MAC address.
class BNGKIT_BNG_CODEC_EXPORT MacAddress {
 public:
  constexpr MacAddress() noexcept = default;
  constexpr explicit MacAddress(std::array<std::uint8_t, 6> bytes) noexcept : b_(bytes) {}
  /// From the first six bytes of `bytes`; the caller guarantees at least six.
  [[nodiscard]] static MacAddress from_bytes(std::span<const std::uint8_t> bytes) noexcept {
    return MacAddress({bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5]});
  }
  /// Parses "02:00:5e:10:00:01" (also '-' separated; hex digits in either case).
  [[nodiscard]] static Result<MacAddress> parse(std::string_view text);
  /// ff:ff:ff:ff:ff:ff
  [[nodiscard]] static constexpr MacAddress broadcast() noexcept {
    return MacAddress({0xff, 0xff, 0xff, 0xff, 0xff, 0xff});
  }

  [[nodiscard]] constexpr const std::array<std::uint8_t, 6>& bytes() const noexcept { return b_; }
  /// Lower-case colon-separated text.
  [[nodiscard]] std::string to_string() const;

  constexpr auto operator<=>(const MacAddress&) const noexcept = default;

 private:
  std::array<std::uint8_t, 6> b_{};
};

}  // namespace bngkit::bng::dhcp

namespace bngkit::bng {
// The address types belong to all of libbng, not only to DHCP.
using dhcp::Ipv4;
using dhcp::MacAddress;
}  // namespace bngkit::bng
