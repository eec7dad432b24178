// IP vocabulary for pools and allocations: IpAddress (IPv4 or IPv6) and Prefix (CIDR), with
// parsing that returns errors instead of throwing, canonical text, and byte codecs.
#pragma once

#include <array>
#include <bngkit/common/result.hpp>
#include <bngkit/nexus/codec.hpp>
#include <bngkit/nexus/export.hpp>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

namespace bngkit::nexus {

/// An IPv4 or IPv6 address. IPv4 addresses are their own family (not IPv4-mapped IPv6);
/// ordering puts every IPv4 address before every IPv6 address.
class BNGKIT_NEXUS_EXPORT IpAddress {
 public:
  enum class Family : std::uint8_t { v4 = 4, v6 = 6 };

  /// 0.0.0.0
  IpAddress() = default;
  /// An IPv4 address from its value in host byte order (10.0.0.1 is 0x0a000001).
  [[nodiscard]] static IpAddress v4(std::uint32_t host_order) noexcept;
  /// An IPv6 address from its 16 bytes in network order.
  [[nodiscard]] static IpAddress v6(const std::array<std::uint8_t, 16>& bytes) noexcept;
  /// Parses dotted-quad IPv4 or RFC 4291 IPv6 text.
  [[nodiscard]] static Result<IpAddress> parse(std::string_view text);

  [[nodiscard]] Family family() const noexcept { return family_; }
  [[nodiscard]] bool is_v4() const noexcept { return family_ == Family::v4; }
  /// 32 or 128.
  [[nodiscard]] int bits() const noexcept { return is_v4() ? 32 : 128; }
  /// Network-order bytes; an IPv4 address uses the first 4.
  [[nodiscard]] const std::array<std::uint8_t, 16>& bytes() const noexcept { return bytes_; }
  /// The IPv4 value in host byte order (0 for IPv6).
  [[nodiscard]] std::uint32_t v4_value() const noexcept;
  /// Canonical text (RFC 5952 for IPv6).
  [[nodiscard]] std::string to_string() const;

  friend bool operator==(const IpAddress&, const IpAddress&) = default;
  friend std::strong_ordering operator<=>(const IpAddress& a, const IpAddress& b) noexcept {
    if (auto c = a.family_ <=> b.family_; c != 0) return c;
    return a.bytes_ <=> b.bytes_;
  }

 private:
  Family family_ = Family::v4;
  std::array<std::uint8_t, 16> bytes_{};
};

/// A CIDR prefix. Its address is always the network address (host bits zero).
class BNGKIT_NEXUS_EXPORT Prefix {
 public:
  /// 0.0.0.0/0
  Prefix() = default;
  /// The prefix of `length` bits containing `address` (host bits are cleared); an error when
  /// the length exceeds the family's width.
  [[nodiscard]] static Result<Prefix> make(const IpAddress& address, int length);
  /// Parses "a.b.c.d/n", "x::/n", or a bare address (a host prefix, /32 or /128).
  [[nodiscard]] static Result<Prefix> parse(std::string_view text);

  [[nodiscard]] const IpAddress& address() const noexcept { return address_; }
  [[nodiscard]] int length() const noexcept { return length_; }
  [[nodiscard]] bool is_v4() const noexcept { return address_.is_v4(); }
  /// True when `a` is of the same family and inside this prefix.
  [[nodiscard]] bool contains(const IpAddress& a) const noexcept;
  /// True when `p` lies entirely inside this prefix.
  [[nodiscard]] bool contains(const Prefix& p) const noexcept;
  /// True when the two prefixes share at least one address.
  [[nodiscard]] bool overlaps(const Prefix& p) const noexcept;
  /// "network/length".
  [[nodiscard]] std::string to_string() const;

  friend bool operator==(const Prefix&, const Prefix&) = default;
  friend std::strong_ordering operator<=>(const Prefix& a, const Prefix& b) noexcept {
    if (auto c = a.address_ <=> b.address_; c != 0) return c;
    return a.length_ <=> b.length_;
  }

 private:
  IpAddress address_;
  int length_ = 0;
};

template <>
struct Codec<IpAddress> {
  static void encode(const IpAddress& a, ByteWriter& w) {
    w.u8(static_cast<std::uint8_t>(a.family()));
    const std::size_t n = a.is_v4() ? 4 : 16;
    w.raw(std::string_view(reinterpret_cast<const char*>(a.bytes().data()), n));
  }
  static bool decode(ByteReader& r, IpAddress& a) {
    std::uint8_t family = 0;
    std::string_view b;
    if (!r.u8(family)) return false;
    if (family == 4) {
      if (!r.raw(4, b)) return false;
      std::uint32_t v = 0;
      for (char c : b) v = (v << 8) | static_cast<std::uint8_t>(c);
      a = IpAddress::v4(v);
      return true;
    }
    if (family != 6 || !r.raw(16, b)) return false;
    std::array<std::uint8_t, 16> bytes{};
    for (std::size_t i = 0; i < 16; ++i) bytes[i] = static_cast<std::uint8_t>(b[i]);
    a = IpAddress::v6(bytes);
    return true;
  }
};

template <>
struct Codec<Prefix> {
  static void encode(const Prefix& p, ByteWriter& w) {
    Codec<IpAddress>::encode(p.address(), w);
    w.u8(static_cast<std::uint8_t>(p.length()));
  }
  static bool decode(ByteReader& r, Prefix& p) {
    IpAddress a;
    std::uint8_t len = 0;
    if (!Codec<IpAddress>::decode(r, a) || !r.u8(len)) return false;
    auto made = Prefix::make(a, len);
    if (!made || made->address() != a) return false;  // canonical form only
    p = *made;
    return true;
  }
};

}  // namespace bngkit::nexus
