// Address arithmetic for pools: an inclusive IPv4 range and a CIDR network, built on the
// libbng-wide Ipv4 value type (<bngkit/bng/dhcp/ipv4.hpp>).
#pragma once

#include <bngkit/bng/dhcp/ipv4.hpp>
#include <bngkit/bng/export.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bngkit::bng::pool {

/// An inclusive range of addresses [first, last]; a single address has first == last.
struct BNGKIT_BNG_EXPORT Ipv4Range {
  Ipv4 first;
  Ipv4 last;

  /// "10.0.1.10-10.0.1.20" or a single "10.0.1.10"; nullopt when malformed or first > last.
  [[nodiscard]] static std::optional<Ipv4Range> parse(std::string_view text);

  [[nodiscard]] constexpr bool contains(Ipv4 a) const noexcept { return first <= a && a <= last; }
  [[nodiscard]] constexpr bool overlaps(const Ipv4Range& o) const noexcept {
    return first <= o.last && o.first <= last;
  }
  /// Number of addresses (up to 2^32).
  [[nodiscard]] constexpr std::uint64_t size() const noexcept {
    return std::uint64_t{last.to_host()} - first.to_host() + 1;
  }
  /// "a-b", or "a" when the range holds one address.
  [[nodiscard]] std::string to_string() const;

  friend constexpr bool operator==(const Ipv4Range&, const Ipv4Range&) noexcept = default;
};

/// A CIDR network such as 10.0.1.0/24. `address` may carry host bits (parse keeps them, so
/// that validation can say what is wrong); network() clears them.
struct BNGKIT_BNG_EXPORT Ipv4Network {
  Ipv4 address;
  std::uint8_t prefix_length = 0;

  /// "10.0.1.0/24"; nullopt when malformed or the prefix is above 32.
  [[nodiscard]] static std::optional<Ipv4Network> parse(std::string_view text);

  [[nodiscard]] constexpr std::uint32_t netmask() const noexcept {
    return prefix_length == 0 ? 0u : ~std::uint32_t{0} << (32 - prefix_length);
  }
  /// The network address (host bits cleared).
  [[nodiscard]] constexpr Ipv4 network() const noexcept {
    return Ipv4::from_host(address.to_host() & netmask());
  }
  /// The directed broadcast address.
  [[nodiscard]] constexpr Ipv4 broadcast() const noexcept {
    return Ipv4::from_host(network().to_host() | ~netmask());
  }
  /// The same network with host bits cleared.
  [[nodiscard]] constexpr Ipv4Network normalized() const noexcept {
    return {network(), prefix_length};
  }
  [[nodiscard]] constexpr bool has_host_bits() const noexcept {
    return (address.to_host() & ~netmask()) != 0;
  }
  [[nodiscard]] constexpr bool contains(Ipv4 a) const noexcept {
    return (a.to_host() & netmask()) == network().to_host();
  }
  /// Every address of the network, network and broadcast included.
  [[nodiscard]] constexpr Ipv4Range all() const noexcept { return {network(), broadcast()}; }
  [[nodiscard]] constexpr bool overlaps(const Ipv4Network& o) const noexcept {
    return all().overlaps(o.all());
  }
  /// "10.0.1.0/24" (as given, host bits included).
  [[nodiscard]] std::string to_string() const;

  friend constexpr bool operator==(const Ipv4Network&, const Ipv4Network&) noexcept = default;
};

}  // namespace bngkit::bng::pool
