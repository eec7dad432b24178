// IPv4 UDP endpoints (address and port) as listeners bind them and downstreams receive.
#pragma once

#include <bngkit/common/result.hpp>
#include <bngkit/fanout/export.hpp>

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

  friend auto operator<=>(const Endpoint&, const Endpoint&) = default;
};

/// Hash for unordered containers; also the stable identity the balance table is built from.
struct BNGKIT_FANOUT_EXPORT EndpointHash {
  [[nodiscard]] std::size_t operator()(const Endpoint& e) const noexcept;
};

}  // namespace bngkit::fanout
