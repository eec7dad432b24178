// Text forms of Ipv4 and MacAddress.
#include <bngkit/bng/dhcp/ipv4.hpp>
#include <cstdio>

namespace bngkit::bng::dhcp {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Error bad_text(std::string_view what, std::string_view text) {
  return make_error(std::errc::invalid_argument,
                    std::string(what) + " \"" + std::string(text.substr(0, 64)) + "\"");
}

}  // namespace

Result<Ipv4> Ipv4::parse(std::string_view text) {
  std::array<std::uint8_t, 4> out{};
  std::size_t pos = 0;
  for (std::size_t part = 0; part < 4; ++part) {
    if (part > 0) {
      if (pos >= text.size() || text[pos] != '.') return bad_text("not a dotted-quad IPv4", text);
      ++pos;
    }
    const std::size_t start = pos;
    unsigned value = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9' && pos - start < 3) {
      value = value * 10 + static_cast<unsigned>(text[pos] - '0');
      ++pos;
    }
    const std::size_t digits = pos - start;
    if (digits == 0 || value > 255 || (digits > 1 && text[start] == '0')) {
      return bad_text("not a dotted-quad IPv4", text);
    }
    out[part] = static_cast<std::uint8_t>(value);
  }
  if (pos != text.size()) return bad_text("not a dotted-quad IPv4", text);
  return Ipv4(out);
}

std::string Ipv4::to_string() const {
  char buf[16];
  const int n = std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", b_[0], b_[1], b_[2], b_[3]);
  return std::string(buf, static_cast<std::size_t>(n));
}

Result<MacAddress> MacAddress::parse(std::string_view text) {
  // Exactly "xx:xx:xx:xx:xx:xx" with one separator kind.
  if (text.size() != 17) return bad_text("not a MAC address", text);
  const char sep = text[2];
  if (sep != ':' && sep != '-') return bad_text("not a MAC address", text);
  std::array<std::uint8_t, 6> out{};
  for (std::size_t i = 0; i < 6; ++i) {
    const int hi = hex_value(text[i * 3]);
    const int lo = hex_value(text[i * 3 + 1]);
    if (hi < 0 || lo < 0 || (i < 5 && text[i * 3 + 2] != sep)) {
      return bad_text("not a MAC address", text);
    }
    out[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return MacAddress(out);
}

std::string MacAddress::to_string() const {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", b_[0], b_[1], b_[2], b_[3], b_[4],
                b_[5]);
  return std::string(buf, 17);
}

}  // namespace bngkit::bng::dhcp
