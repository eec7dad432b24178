// IPv4 UDP endpoints (address and port) as listeners bind them and downstreams receive.
#pragma once

#include <bngkit/common/result.hpp>
#include <bngkit/fanout/export.hpp>

#include <bit>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace bngkit::fanout {

/// An IPv4 address and UDP port. The address is kept in network byte order (as the
/// kernel and the BPF maps hold it), the port in host order.
struct BNGKIT_FANOUT_EXPORT Endpoint {
  std::uint32_t address_be = 0;  ///< IPv4 address, network byte order (0: any)
  std::uint16_t port = 0;        ///< UDP port, host byte order

  /// Parses "10.0.1.10:9000". The port must be 1..65535 unless `allow_port_zero`.
  [[nodiscard]] static Result<Endpoint> parse(std::string_view text, bool allow_port_zero = false);
  /// Parses a dotted-quad IPv4 address into network byte order.
  [[nodiscard]] static Result<std::uint32_t> parse_address(std::string_view text);

  /// "10.0.1.10:9000".
  [[nodiscard]] std::string to_string() const;
  /// "10.0.1.10".
  [[nodiscard]] std::string address_string() const;

  /// The address as a number (10.0.1.10 -> 0x0a00010a), for ordering.
  [[nodiscard]] constexpr std::uint32_t address_host_order() const noexcept {
    if constexpr (std::endian::native == std::endian::little) {
      const std::uint32_t x = address_be;
      return (x << 24) | ((x & 0xff00U) << 8) | ((x >> 8) & 0xff00U) | (x >> 24);
    } else {
      return address_be;
    }
  }

  friend bool operator==(const Endpoint&, const Endpoint&) = default;
  /// Numeric order of address, then port (10.0.0.9 before 10.0.1.1).
  friend std::strong_ordering operator<=>(const Endpoint& a, const Endpoint& b) noexcept {
    if (auto c = a.address_host_order() <=> b.address_host_order(); c != 0) return c;
    return a.port <=> b.port;
  }
};

/// Hash for unordered containers; also the stable identity the balance table is built from.
struct BNGKIT_FANOUT_EXPORT EndpointHash {
  [[nodiscard]] std::size_t operator()(const Endpoint& e) const noexcept;
};

}  // namespace bngkit::fanout
