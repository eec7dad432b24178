// One codec per RADIUS wire shape, and the FreeRADIUS-style text form of each.
#include <arpa/inet.h>

#include <bngkit/bng/radius/value.hpp>
#include <charconv>
#include <cstring>
#include <ctime>

#include "wire.hpp"

namespace bngkit::bng::radius {

namespace {

Error size_error(std::string_view shape, std::size_t got, std::string_view want) {
  return make_error(std::errc::bad_message, std::string(shape) + " value has " +
                                                std::to_string(got) + " octets, expected " +
                                                std::string(want));
}

template <std::size_t N>
Result<std::array<std::uint8_t, N>> fixed(std::string_view shape,
                                          std::span<const std::uint8_t> value) {
  if (value.size() != N) return size_error(shape, value.size(), std::to_string(N));
  std::array<std::uint8_t, N> out{};
  std::memcpy(out.data(), value.data(), N);
  return out;
}

/// True when no bit past `length` is set in `bytes`.
bool host_bits_clear(std::span<const std::uint8_t> bytes, unsigned length) {
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    const unsigned first_bit = static_cast<unsigned>(i) * 8;
    std::uint8_t mask = 0xff;  // bits of this octet past the prefix
    if (first_bit + 8 <= length) {
      mask = 0;
    } else if (first_bit < length) {
      mask = static_cast<std::uint8_t>(0xff >> (length - first_bit));
    }
    if (bytes[i] & mask) return false;
  }
  return true;
}

std::string ipv4_text(const std::uint8_t* p) {
  char buf[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, p, buf, sizeof buf);
  return buf;
}

std::string ipv6_text(const std::uint8_t* p) {
  char buf[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET6, p, buf, sizeof buf);
  return buf;
}

std::string quoted(std::span<const std::uint8_t> value) {
  std::string out = "\"";
  for (const std::uint8_t c : value) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      // Octal escapes as FreeRADIUS prints them; bytes >= 0x80 pass (UTF-8).
      out += '\\';
      out += static_cast<char>('0' + ((c >> 6) & 7));
      out += static_cast<char>('0' + ((c >> 3) & 7));
      out += static_cast<char>('0' + (c & 7));
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
  return out;
}

template <typename T>
Result<T> parse_number(std::string_view text, std::string_view what) {
  std::string_view digits = text;
  int base = 10;
  if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
    digits.remove_prefix(2);
    base = 16;
  }
  T value{};
  const auto* end = digits.data() + digits.size();
  const auto [ptr, ec] = std::from_chars(digits.data(), end, value, base);
  if (digits.empty() || ec != std::errc{} || ptr != end) {
    return make_error(std::errc::invalid_argument,
                      "'" + std::string(text) + "' is not a valid " + std::string(what));
  }
  return value;
}

Result<std::pair<std::string_view, unsigned>> split_prefix(std::string_view text,
                                                           unsigned max_length) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) return std::pair{text, max_length};
  auto length = parse_number<unsigned>(text.substr(slash + 1), "prefix length");
  if (!length) return std::move(length).error();
  if (*length > max_length) {
    return make_error(std::errc::invalid_argument, "prefix length " + std::to_string(*length) +
                                                       " exceeds " + std::to_string(max_length));
  }
  return std::pair{text.substr(0, slash), *length};
}

template <std::size_t N>
Result<std::vector<std::uint8_t>> parse_hex_groups(std::string_view text, std::size_t groups,
                                                   std::size_t group_octets,
                                                   std::string_view what) {
  std::vector<std::uint8_t> out;
  out.reserve(N);
  std::size_t start = 0;
  for (std::size_t g = 0; g < groups; ++g) {
    const auto sep = text.find_first_of(":-", start);
    const bool last = g + 1 == groups;
    if (last != (sep == std::string_view::npos)) {
      return make_error(std::errc::invalid_argument,
                        "'" + std::string(text) + "' is not a valid " + std::string(what));
    }
    const auto part = text.substr(start, last ? std::string_view::npos : sep - start);
    std::uint32_t v = 0;
    const auto [ptr, ec] = std::from_chars(part.data(), part.data() + part.size(), v, 16);
    if (part.empty() || part.size() > group_octets * 2 || ec != std::errc{} ||
        ptr != part.data() + part.size()) {
      return make_error(std::errc::invalid_argument,
                        "'" + std::string(text) + "' is not a valid " + std::string(what));
    }
    for (std::size_t i = group_octets; i-- > 0;) {
      out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    }
    start = sep + 1;
  }
  return out;
}

std::string date_text(std::uint32_t seconds) {
  const std::time_t t = seconds;
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Result<std::uint32_t> parse_date(std::string_view text) {
  if (text.find('-') == std::string_view::npos) return parse_number<std::uint32_t>(text, "date");
  std::tm tm{};
  const std::string copy(text);
  const char* end = ::strptime(copy.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (end == nullptr || *end != '\0') {
    return make_error(std::errc::invalid_argument,
                      "'" + copy + "' is not a date (seconds or YYYY-MM-DDTHH:MM:SSZ)");
  }
  const std::time_t t = ::timegm(&tm);
  if (t < 0 || t > 0xffffffffLL) {
    return make_error(std::errc::result_out_of_range, "date '" + copy + "' does not fit 32 bits");
  }
  return static_cast<std::uint32_t>(t);
}

}  // namespace

std::array<std::uint8_t, 4> encode_integer(std::uint32_t value) noexcept {
  std::array<std::uint8_t, 4> out{};
  detail::store_be32(out.data(), value);
  return out;
}

std::array<std::uint8_t, 8> encode_integer64(std::uint64_t value) noexcept {
  std::array<std::uint8_t, 8> out{};
  detail::store_be32(out.data(), static_cast<std::uint32_t>(value >> 32));
  detail::store_be32(out.data() + 4, static_cast<std::uint32_t>(value));
  return out;
}

std::array<std::uint8_t, 2> encode_short(std::uint16_t value) noexcept {
  std::array<std::uint8_t, 2> out{};
  detail::store_be16(out.data(), value);
  return out;
}

Result<std::vector<std::uint8_t>> encode_ipv6prefix(const Ipv6Prefix& prefix) {
  if (prefix.length > 128) {
    return make_error(std::errc::invalid_argument,
                      "IPv6 prefix length " + std::to_string(prefix.length) + " exceeds 128");
  }
  if (!host_bits_clear(prefix.address, prefix.length)) {
    return make_error(std::errc::invalid_argument, ipv6_text(prefix.address.data()) + "/" +
                                                       std::to_string(prefix.length) +
                                                       " has bits set past the prefix length");
  }
  const std::size_t octets = (prefix.length + 7u) / 8u;
  std::vector<std::uint8_t> out{0, prefix.length};
  out.insert(out.end(), prefix.address.begin(), prefix.address.begin() + octets);
  return out;
}

Result<std::vector<std::uint8_t>> encode_ipv4prefix(const Ipv4Prefix& prefix) {
  if (prefix.length > 32) {
    return make_error(std::errc::invalid_argument,
                      "IPv4 prefix length " + std::to_string(prefix.length) + " exceeds 32");
  }
  const auto& bytes = prefix.address.bytes();
  if (!host_bits_clear(bytes, prefix.length)) {
    return make_error(std::errc::invalid_argument, prefix.address.to_string() + "/" +
                                                       std::to_string(prefix.length) +
                                                       " has bits set past the prefix length");
  }
  std::vector<std::uint8_t> out{0, prefix.length};
  out.insert(out.end(), bytes.begin(), bytes.end());
  return out;
}

Result<std::uint32_t> decode_integer(std::span<const std::uint8_t> value) {
  if (value.size() != 4) return size_error("integer", value.size(), "4");
  return detail::load_be32(value.data());
}

Result<std::uint64_t> decode_integer64(std::span<const std::uint8_t> value) {
  if (value.size() != 8) return size_error("integer64", value.size(), "8");
  return (std::uint64_t{detail::load_be32(value.data())} << 32) |
         detail::load_be32(value.data() + 4);
}

Result<std::uint16_t> decode_short(std::span<const std::uint8_t> value) {
  if (value.size() != 2) return size_error("short", value.size(), "2");
  return detail::load_be16(value.data());
}

Result<std::uint8_t> decode_byte(std::span<const std::uint8_t> value) {
  if (value.size() != 1) return size_error("byte", value.size(), "1");
  return value[0];
}

Result<std::int32_t> decode_signed(std::span<const std::uint8_t> value) {
  if (value.size() != 4) return size_error("signed", value.size(), "4");
  return static_cast<std::int32_t>(detail::load_be32(value.data()));
}

Result<Ipv4> decode_ipaddr(std::span<const std::uint8_t> value) {
  auto bytes = fixed<4>("ipaddr", value);
  if (!bytes) return std::move(bytes).error();
  return Ipv4(*bytes);
}

Result<Ipv6Address> decode_ipv6addr(std::span<const std::uint8_t> value) {
  return fixed<16>("ipv6addr", value);
}

Result<InterfaceId> decode_ifid(std::span<const std::uint8_t> value) {
  return fixed<8>("ifid", value);
}

Result<MacAddress> decode_ether(std::span<const std::uint8_t> value) {
  auto bytes = fixed<6>("ether", value);
  if (!bytes) return std::move(bytes).error();
  return MacAddress(*bytes);
}

Result<Ipv6Prefix> decode_ipv6prefix(std::span<const std::uint8_t> value) {
  if (value.size() < 2 || value.size() > 18) {
    return size_error("ipv6prefix", value.size(), "2-18");
  }
  Ipv6Prefix prefix;
  prefix.length = value[1];
  if (prefix.length > 128) {
    return make_error(std::errc::bad_message,
                      "ipv6prefix length " + std::to_string(prefix.length) + " exceeds 128");
  }
  const auto bits = value.subspan(2);
  if (bits.size() * 8 < prefix.length) {
    return make_error(std::errc::bad_message, "ipv6prefix length " + std::to_string(prefix.length) +
                                                  " needs " +
                                                  std::to_string((prefix.length + 7) / 8) +
                                                  " octets, got " + std::to_string(bits.size()));
  }
  if (!host_bits_clear(bits, prefix.length)) {
    return make_error(std::errc::bad_message,
                      "ipv6prefix has bits set past its length " + std::to_string(prefix.length));
  }
  std::memcpy(prefix.address.data(), bits.data(), bits.size());
  return prefix;
}

Result<Ipv4Prefix> decode_ipv4prefix(std::span<const std::uint8_t> value) {
  if (value.size() != 6) return size_error("ipv4prefix", value.size(), "6");
  Ipv4Prefix prefix;
  prefix.length = value[1] & 0x3f;  // RFC 6572: the top two bits are reserved
  if (prefix.length > 32) {
    return make_error(std::errc::bad_message,
                      "ipv4prefix length " + std::to_string(prefix.length) + " exceeds 32");
  }
  if (!host_bits_clear(value.subspan(2), prefix.length)) {
    return make_error(std::errc::bad_message,
                      "ipv4prefix has bits set past its length " + std::to_string(prefix.length));
  }
  prefix.address = Ipv4::from_bytes(value.subspan(2));
  return prefix;
}

Result<void> check_value(ValueType type, std::span<const std::uint8_t> value,
                         std::uint8_t fixed_length) {
  if (fixed_length != 0 && value.size() != fixed_length) {
    return size_error(value_type_name(type), value.size(), std::to_string(fixed_length));
  }
  auto sized = [&](std::size_t n) -> Result<void> {
    if (value.size() != n)
      return size_error(value_type_name(type), value.size(), std::to_string(n));
    return ok();
  };
  switch (type) {
    case ValueType::kIpAddr:
    case ValueType::kInteger:
    case ValueType::kDate:
    case ValueType::kSigned:
      return sized(4);
    case ValueType::kIpv6Addr:
      return sized(16);
    case ValueType::kIfId:
    case ValueType::kInteger64:
      return sized(8);
    case ValueType::kByte:
      return sized(1);
    case ValueType::kShort:
      return sized(2);
    case ValueType::kEther:
      return sized(6);
    case ValueType::kComboIp:
      if (value.size() != 4 && value.size() != 16) {
        return size_error("combo-ip", value.size(), "4 or 16");
      }
      return ok();
    case ValueType::kIpv6Prefix: {
      auto prefix = decode_ipv6prefix(value);
      if (!prefix) return std::move(prefix).error();
      return ok();
    }
    case ValueType::kIpv4Prefix: {
      auto prefix = decode_ipv4prefix(value);
      if (!prefix) return std::move(prefix).error();
      return ok();
    }
    case ValueType::kVsa:
      if (value.size() < 5) return size_error("vsa", value.size(), "5-253");
      return ok();
    case ValueType::kString:
    case ValueType::kOctets:
    case ValueType::kAbinary:
    case ValueType::kTlv:
    case ValueType::kExtended:
    case ValueType::kLongExtended:
    case ValueType::kEvs:
      break;
  }
  if (value.size() > kMaxAttributeValue) {
    return size_error(value_type_name(type), value.size(), "at most 253");
  }
  return ok();
}

std::string to_hex(std::span<const std::uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out = "0x";
  out.reserve(2 + bytes.size() * 2);
  for (const std::uint8_t b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 0xf];
  }
  return out;
}

Result<std::vector<std::uint8_t>> from_hex(std::string_view text) {
  std::vector<std::uint8_t> out;
  int high = -1;
  std::size_t i = 0;
  while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n')) ++i;
  if (text.size() - i >= 2 && text[i] == '0' && (text[i + 1] == 'x' || text[i + 1] == 'X')) i += 2;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    int nibble = -1;
    if (c >= '0' && c <= '9')
      nibble = c - '0';
    else if (c >= 'a' && c <= 'f')
      nibble = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      nibble = c - 'A' + 10;
    else if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
      continue;
    else {
      return make_error(std::errc::invalid_argument, std::string("'") + c + "' at position " +
                                                         std::to_string(i) + " is not a hex digit");
    }
    if (high < 0) {
      high = nibble;
    } else {
      out.push_back(static_cast<std::uint8_t>((high << 4) | nibble));
      high = -1;
    }
  }
  if (high >= 0) return make_error(std::errc::invalid_argument, "odd number of hex digits");
  return out;
}

std::string format_value(ValueType type, std::span<const std::uint8_t> value) {
  if (!check_value(type, value)) return to_hex(value);
  switch (type) {
    case ValueType::kString:
      return quoted(value);
    case ValueType::kIpAddr:
      return ipv4_text(value.data());
    case ValueType::kIpv6Addr:
      return ipv6_text(value.data());
    case ValueType::kComboIp:
      return value.size() == 4 ? ipv4_text(value.data()) : ipv6_text(value.data());
    case ValueType::kIpv6Prefix: {
      const auto prefix = decode_ipv6prefix(value).value();
      return ipv6_text(prefix.address.data()) + "/" + std::to_string(prefix.length);
    }
    case ValueType::kIpv4Prefix: {
      const auto prefix = decode_ipv4prefix(value).value();
      return prefix.address.to_string() + "/" + std::to_string(prefix.length);
    }
    case ValueType::kInteger:
      return std::to_string(detail::load_be32(value.data()));
    case ValueType::kSigned:
      return std::to_string(static_cast<std::int32_t>(detail::load_be32(value.data())));
    case ValueType::kInteger64:
      return std::to_string(decode_integer64(value).value());
    case ValueType::kShort:
      return std::to_string(detail::load_be16(value.data()));
    case ValueType::kByte:
      return std::to_string(value[0]);
    case ValueType::kDate:
      return date_text(detail::load_be32(value.data()));
    case ValueType::kIfId: {
      char buf[24];
      std::snprintf(buf, sizeof buf, "%x:%x:%x:%x", detail::load_be16(&value[0]),
                    detail::load_be16(&value[2]), detail::load_be16(&value[4]),
                    detail::load_be16(&value[6]));
      return buf;
    }
    case ValueType::kEther: {
      char buf[24];
      std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", value[0], value[1], value[2],
                    value[3], value[4], value[5]);
      return buf;
    }
    case ValueType::kOctets:
    case ValueType::kAbinary:
    case ValueType::kTlv:
    case ValueType::kVsa:
    case ValueType::kExtended:
    case ValueType::kLongExtended:
    case ValueType::kEvs:
      break;
  }
  return to_hex(value);
}

Result<std::vector<std::uint8_t>> parse_value(ValueType type, std::string_view text) {
  auto bytes_of = [](const auto& array) {
    return std::vector<std::uint8_t>(array.begin(), array.end());
  };
  Result<std::vector<std::uint8_t>> out = std::vector<std::uint8_t>{};
  switch (type) {
    case ValueType::kString:
      out = std::vector<std::uint8_t>(text.begin(), text.end());
      break;
    case ValueType::kIpAddr:
    case ValueType::kIpv6Addr:
    case ValueType::kComboIp: {
      const std::string copy(text);
      std::array<std::uint8_t, 16> buf{};
      if (type != ValueType::kIpv6Addr && ::inet_pton(AF_INET, copy.c_str(), buf.data()) == 1) {
        out = std::vector<std::uint8_t>(buf.begin(), buf.begin() + 4);
      } else if (type != ValueType::kIpAddr &&
                 ::inet_pton(AF_INET6, copy.c_str(), buf.data()) == 1) {
        out = bytes_of(buf);
      } else {
        return make_error(std::errc::invalid_argument,
                          "'" + copy + "' is not a valid " + std::string(value_type_name(type)));
      }
      break;
    }
    case ValueType::kIpv6Prefix: {
      auto parts = split_prefix(text, 128);
      if (!parts) return std::move(parts).error();
      const std::string address(parts->first);
      Ipv6Prefix prefix;
      prefix.length = static_cast<std::uint8_t>(parts->second);
      if (::inet_pton(AF_INET6, address.c_str(), prefix.address.data()) != 1) {
        return make_error(std::errc::invalid_argument, "'" + address + "' is not an IPv6 address");
      }
      out = encode_ipv6prefix(prefix);
      break;
    }
    case ValueType::kIpv4Prefix: {
      auto parts = split_prefix(text, 32);
      if (!parts) return std::move(parts).error();
      const std::string address(parts->first);
      Ipv4Prefix prefix;
      prefix.length = static_cast<std::uint8_t>(parts->second);
      std::array<std::uint8_t, 4> bytes{};
      if (::inet_pton(AF_INET, address.c_str(), bytes.data()) != 1) {
        return make_error(std::errc::invalid_argument, "'" + address + "' is not an IPv4 address");
      }
      prefix.address = Ipv4(bytes);
      out = encode_ipv4prefix(prefix);
      break;
    }
    case ValueType::kInteger: {
      auto v = parse_number<std::uint32_t>(text, "integer");
      if (!v) return std::move(v).error();
      out = bytes_of(encode_integer(*v));
      break;
    }
    case ValueType::kDate: {
      auto v = parse_date(text);
      if (!v) return std::move(v).error();
      out = bytes_of(encode_integer(*v));
      break;
    }
    case ValueType::kSigned: {
      auto v = parse_number<std::int32_t>(text, "signed integer");
      if (!v) return std::move(v).error();
      out = bytes_of(encode_integer(static_cast<std::uint32_t>(*v)));
      break;
    }
    case ValueType::kInteger64: {
      auto v = parse_number<std::uint64_t>(text, "integer64");
      if (!v) return std::move(v).error();
      out = bytes_of(encode_integer64(*v));
      break;
    }
    case ValueType::kShort: {
      auto v = parse_number<std::uint16_t>(text, "short");
      if (!v) return std::move(v).error();
      out = bytes_of(encode_short(*v));
      break;
    }
    case ValueType::kByte: {
      auto v = parse_number<std::uint8_t>(text, "byte");
      if (!v) return std::move(v).error();
      out = std::vector<std::uint8_t>{*v};
      break;
    }
    case ValueType::kIfId:
      out = parse_hex_groups<8>(text, 4, 2, "interface id (x:x:x:x)");
      break;
    case ValueType::kEther:
      out = parse_hex_groups<6>(text, 6, 1, "MAC address");
      break;
    case ValueType::kOctets:
      if (text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        out = from_hex(text);
      } else {
        out = std::vector<std::uint8_t>(text.begin(), text.end());
      }
      break;
    case ValueType::kAbinary:
    case ValueType::kTlv:
    case ValueType::kVsa:
    case ValueType::kExtended:
    case ValueType::kLongExtended:
    case ValueType::kEvs:
      out = from_hex(text);
      break;
  }
  if (!out) return out;
  if (auto checked = check_value(type, *out); !checked) return checked.error();
  return out;
}

}  // namespace bngkit::bng::radius
