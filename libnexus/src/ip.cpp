// IpAddress and Prefix: parsing and printing through inet_pton/inet_ntop, prefix arithmetic.
#include <arpa/inet.h>

#include <bngkit/nexus/ip.hpp>
#include <charconv>
#include <cstring>

namespace bngkit::nexus {

IpAddress IpAddress::v4(std::uint32_t host_order) noexcept {
  IpAddress a;
  a.family_ = Family::v4;
  a.bytes_[0] = static_cast<std::uint8_t>(host_order >> 24);
  a.bytes_[1] = static_cast<std::uint8_t>(host_order >> 16);
  a.bytes_[2] = static_cast<std::uint8_t>(host_order >> 8);
  a.bytes_[3] = static_cast<std::uint8_t>(host_order);
  return a;
}

IpAddress IpAddress::v6(const std::array<std::uint8_t, 16>& bytes) noexcept {
  IpAddress a;
  a.family_ = Family::v6;
  a.bytes_ = bytes;
  return a;
}

Result<IpAddress> IpAddress::parse(std::string_view text) {
  // inet_pton wants a NUL-terminated string; bound the copy so hostile input stays small.
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN)
    return make_error(std::errc::invalid_argument,
                      "not an IP address: '" + std::string(text) + "'");
  char buf[INET6_ADDRSTRLEN] = {};
  std::memcpy(buf, text.data(), text.size());
  if (text.find(':') == std::string_view::npos) {
    in_addr v4addr{};
    if (inet_pton(AF_INET, buf, &v4addr) == 1) return v4(ntohl(v4addr.s_addr));
  } else {
    std::array<std::uint8_t, 16> b{};
    if (inet_pton(AF_INET6, buf, b.data()) == 1) return v6(b);
  }
  return make_error(std::errc::invalid_argument, "not an IP address: '" + std::string(text) + "'");
}

std::uint32_t IpAddress::v4_value() const noexcept {
  if (!is_v4()) return 0;
  return (std::uint32_t{bytes_[0]} << 24) | (std::uint32_t{bytes_[1]} << 16) |
         (std::uint32_t{bytes_[2]} << 8) | std::uint32_t{bytes_[3]};
}

std::string IpAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  const int af = is_v4() ? AF_INET : AF_INET6;
  if (inet_ntop(af, bytes_.data(), buf, sizeof buf) == nullptr) return {};
  return buf;
}

namespace {

// Clears every bit of `a` after the first `length` bits.
IpAddress masked(const IpAddress& a, int length) {
  std::array<std::uint8_t, 16> b = a.bytes();
  const int width = a.bits();
  for (int bit = length; bit < width; ++bit)
    b[static_cast<std::size_t>(bit / 8)] &= static_cast<std::uint8_t>(~(0x80U >> (bit % 8)));
  if (a.is_v4())
    return IpAddress::v4((std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) |
                         (std::uint32_t{b[2]} << 8) | std::uint32_t{b[3]});
  return IpAddress::v6(b);
}

}  // namespace

Result<Prefix> Prefix::make(const IpAddress& address, int length) {
  if (length < 0 || length > address.bits())
    return make_error(std::errc::invalid_argument, "prefix length " + std::to_string(length) +
                                                       " out of range for " + address.to_string());
  Prefix p;
  p.address_ = masked(address, length);
  p.length_ = length;
  return p;
}

Result<Prefix> Prefix::parse(std::string_view text) {
  const auto slash = text.find('/');
  auto addr = IpAddress::parse(text.substr(0, slash));
  if (!addr) return addr.error();
  if (slash == std::string_view::npos) return make(*addr, addr->bits());
  const std::string_view len_text = text.substr(slash + 1);
  int len = -1;
  auto [ptr, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), len);
  if (ec != std::errc{} || ptr != len_text.data() + len_text.size() || len_text.empty())
    return make_error(std::errc::invalid_argument,
                      "bad prefix length in '" + std::string(text) + "'");
  return make(*addr, len);
}

bool Prefix::contains(const IpAddress& a) const noexcept {
  if (a.family() != address_.family()) return false;
  return masked(a, length_) == address_;
}

bool Prefix::contains(const Prefix& p) const noexcept {
  return p.length_ >= length_ && contains(p.address_);
}

bool Prefix::overlaps(const Prefix& p) const noexcept { return contains(p) || p.contains(*this); }

std::string Prefix::to_string() const {
  return address_.to_string() + "/" + std::to_string(length_);
}

}  // namespace bngkit::nexus
