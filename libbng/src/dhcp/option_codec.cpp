// Per-shape option codecs and the table-driven validator/formatter.
#include <bngkit/bng/dhcp/option_codec.hpp>
#include <bngkit/bng/dhcp/relay_agent_info.hpp>
#include <cstdio>

namespace bngkit::bng::dhcp {
namespace {

Error malformed(std::string what) { return make_error(std::errc::bad_message, std::move(what)); }

std::string num(std::size_t v) { return std::to_string(v); }

// Reads one name starting at `pos` into `out` (dotted; skipped when null, for validation);
// advances `pos` past the name in the uncompressed stream. Pointers may only go backwards, so
// loops are impossible.
bool read_dns_name(ByteView d, std::size_t& pos, std::string* out) {
  std::size_t cursor = pos;
  bool jumped = false;
  std::size_t name_len = 0;
  if (out) out->clear();
  while (true) {
    if (cursor >= d.size()) return false;
    const std::uint8_t len = d[cursor];
    if (len == 0) {
      if (!jumped) pos = cursor + 1;
      return true;
    }
    if ((len & 0xc0) == 0xc0) {
      if (cursor + 1 >= d.size()) return false;
      const std::size_t target = (static_cast<std::size_t>(len & 0x3f) << 8) | d[cursor + 1];
      if (target >= cursor) return false;  // forward or self pointer
      if (!jumped) pos = cursor + 2;
      jumped = true;
      cursor = target;
      continue;
    }
    if ((len & 0xc0) != 0) return false;  // reserved label types
    if (cursor + 1 + len > d.size()) return false;
    name_len += len + 1u;
    if (name_len > 255) return false;
    if (out == nullptr) {
      cursor += 1 + len;
      continue;
    }
    if (!out->empty()) out->push_back('.');
    for (std::size_t i = 0; i < len; ++i) {
      const auto c = static_cast<char>(d[cursor + 1 + i]);
      if (c == '.' || c == '\\' || c < 0x21 || c > 0x7e) {
        char esc[8];
        std::snprintf(esc, sizeof esc, "\\%03u", static_cast<unsigned>(d[cursor + 1 + i]));
        *out += esc;
      } else {
        out->push_back(c);
      }
    }
    cursor += 1 + len;
  }
}

std::string quote(ByteView d) {
  std::string out = "\"";
  for (std::uint8_t c : d) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      char esc[8];
      std::snprintf(esc, sizeof esc, "\\x%02x", c);
      out += esc;
    }
  }
  out.push_back('"');
  return out;
}

template <typename T>
std::string join(const std::vector<T>& items, auto&& fmt) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out.push_back(',');
    out += fmt(items[i]);
  }
  return out;
}

// Value of a valid option as text, by shape.
std::string format_shape(OptionType type, ByteView d) {
  switch (type) {
    case OptionType::empty:
      return "";
    case OptionType::flag:
      return d[0] ? "true" : "false";
    case OptionType::u8:
      return num(d[0]);
    case OptionType::u16:
      return num(*decode_u16(d));
    case OptionType::u32:
      return num(*decode_u32(d));
    case OptionType::i32:
      return std::to_string(*decode_i32(d));
    case OptionType::ip:
      return decode_ip(d)->to_string();
    case OptionType::ip_list:
      return join(*decode_ip_list(d), [](Ipv4 ip) { return ip.to_string(); });
    case OptionType::ip_pair_list: {
      const auto ips = *decode_ip_list(d);
      std::string out;
      for (std::size_t i = 0; i + 1 < ips.size(); i += 2) {
        if (i) out.push_back(',');
        out += ips[i].to_string() + "/" + ips[i + 1].to_string();
      }
      return out;
    }
    case OptionType::u8_list: {
      std::string out;
      for (std::size_t i = 0; i < d.size(); ++i) out += (i ? "," : "") + num(d[i]);
      return out;
    }
    case OptionType::u16_list:
      return join(*decode_u16_list(d), [](std::uint16_t v) { return num(v); });
    case OptionType::string:
      return quote(d);
    case OptionType::binary:
      return to_hex(d);
    case OptionType::dns_names:
      return join(*decode_dns_names(d), [](const std::string& s) { return s; });
    case OptionType::client_id:
      return "type=" + num(d[0]) + " id=" + to_hex(d.subspan(1));
    case OptionType::relay_agent_info:
      return RelayAgentInfo::parse(d)->to_string();
    case OptionType::client_fqdn: {
      char flags[8];
      std::snprintf(flags, sizeof flags, "0x%02x", d[0]);
      std::string name;
      if (d[0] & 0x04) {  // E: canonical wire format, possibly partial (no final zero)
        std::size_t pos = 3;
        while (pos < d.size() && d[pos] != 0) {
          if (!name.empty()) name.push_back('.');
          name.append(reinterpret_cast<const char*>(&d[pos + 1]), d[pos]);
          pos += 1u + d[pos];
        }
      } else {
        name = decode_string(d.subspan(3));
      }
      return std::string("flags=") + flags + " rcode=" + num(d[1]) + "/" + num(d[2]) +
             " name=" + name;
    }
    case OptionType::classless_routes:
      return join(*decode_classless_routes(d), [](const ClasslessRoute& r) {
        return r.destination.to_string() + "/" + num(r.prefix_len) + "->" + r.router.to_string();
      });
    case OptionType::vendor_identifying: {
      std::string out;
      std::size_t pos = 0;
      while (pos + 5 <= d.size()) {
        const std::uint32_t enterprise = *decode_u32(d.subspan(pos, 4));
        const std::size_t len = d[pos + 4];
        if (!out.empty()) out.push_back(' ');
        out += "enterprise=" + num(enterprise) + ":" + to_hex(d.subspan(pos + 5, len));
        pos += 5 + len;
      }
      return out;
    }
    case OptionType::sip_servers:
      if (d[0] == 0) {
        return join(*decode_dns_names(d.subspan(1)), [](const std::string& s) { return s; });
      }
      return join(*decode_ip_list(d.subspan(1)), [](Ipv4 ip) { return ip.to_string(); });
  }
  return to_hex(d);
}

std::size_t element_size(OptionType type) {
  switch (type) {
    case OptionType::ip_list:
      return 4;
    case OptionType::ip_pair_list:
      return 8;
    case OptionType::u16_list:
      return 2;
    default:
      return 1;
  }
}

}  // namespace

std::optional<std::vector<Ipv4>> decode_ip_list(ByteView d) {
  if (d.size() % 4 != 0) return std::nullopt;
  std::vector<Ipv4> out;
  out.reserve(d.size() / 4);
  for (std::size_t i = 0; i < d.size(); i += 4) out.push_back(Ipv4::from_bytes(d.subspan(i, 4)));
  return out;
}

std::optional<std::vector<std::uint16_t>> decode_u16_list(ByteView d) {
  if (d.size() % 2 != 0) return std::nullopt;
  std::vector<std::uint16_t> out;
  out.reserve(d.size() / 2);
  for (std::size_t i = 0; i < d.size(); i += 2) {
    out.push_back(static_cast<std::uint16_t>((d[i] << 8) | d[i + 1]));
  }
  return out;
}

std::string decode_string(ByteView d) {
  std::size_t n = d.size();
  while (n > 0 && d[n - 1] == 0) --n;
  return std::string(reinterpret_cast<const char*>(d.data()), n);
}

std::optional<std::vector<std::string>> decode_dns_names(ByteView d) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  std::string name;
  while (pos < d.size()) {
    if (!read_dns_name(d, pos, &name)) return std::nullopt;
    out.push_back(name);
  }
  return out;
}

std::optional<std::vector<ClasslessRoute>> decode_classless_routes(ByteView d) {
  std::vector<ClasslessRoute> out;
  std::size_t pos = 0;
  while (pos < d.size()) {
    const std::uint8_t width = d[pos];
    if (width > 32) return std::nullopt;
    const std::size_t significant = (width + 7u) / 8u;
    if (pos + 1 + significant + 4 > d.size()) return std::nullopt;
    std::array<std::uint8_t, 4> dest{};
    for (std::size_t i = 0; i < significant; ++i) dest[i] = d[pos + 1 + i];
    out.push_back({Ipv4(dest), width, Ipv4::from_bytes(d.subspan(pos + 1 + significant, 4))});
    pos += 1 + significant + 4;
  }
  return out;
}

Bytes encode_ip_list(std::span<const Ipv4> ips) {
  Bytes out;
  out.reserve(ips.size() * 4);
  for (const Ipv4& ip : ips) out.insert(out.end(), ip.bytes().begin(), ip.bytes().end());
  return out;
}

Result<Bytes> encode_dns_names(std::span<const std::string> names) {
  Bytes out;
  for (const std::string& name : names) {
    std::string_view rest = name;
    if (!rest.empty() && rest.back() == '.') rest.remove_suffix(1);
    std::size_t wire = 1;
    while (!rest.empty()) {
      const std::size_t dot = rest.find('.');
      const std::string_view label = rest.substr(0, dot);
      if (label.empty() || label.size() > 63) {
        return malformed("domain name \"" + name + "\" has a label of " + num(label.size()) +
                         " octets (1..63 allowed)");
      }
      wire += 1 + label.size();
      out.push_back(static_cast<std::uint8_t>(label.size()));
      out.insert(out.end(), label.begin(), label.end());
      rest = dot == std::string_view::npos ? std::string_view{} : rest.substr(dot + 1);
    }
    if (wire > 255) {
      return malformed("domain name \"" + name + "\" is " + num(wire) + " octets (255 allowed)");
    }
    out.push_back(0);
  }
  return out;
}

Result<Bytes> encode_classless_routes(std::span<const ClasslessRoute> routes) {
  Bytes out;
  for (const ClasslessRoute& r : routes) {
    if (r.prefix_len > 32) {
      return malformed("classless route " + r.destination.to_string() + "/" + num(r.prefix_len) +
                       ": prefix length above 32");
    }
    out.push_back(r.prefix_len);
    const std::size_t significant = (r.prefix_len + 7u) / 8u;
    out.insert(out.end(), r.destination.bytes().begin(),
               r.destination.bytes().begin() + static_cast<std::ptrdiff_t>(significant));
    out.insert(out.end(), r.router.bytes().begin(), r.router.bytes().end());
  }
  return out;
}

Result<void> validate_shape(OptionType type, ByteView d) {
  switch (type) {
    case OptionType::empty:
      if (!d.empty()) return malformed("has " + num(d.size()) + " octets, expected none");
      return ok();
    case OptionType::flag:
      if (d.size() != 1) return malformed("length " + num(d.size()) + ", expected 1");
      if (d[0] > 1) return malformed("flag value " + num(d[0]) + ", expected 0 or 1");
      return ok();
    case OptionType::u8:
    case OptionType::u16:
    case OptionType::u32:
    case OptionType::i32:
    case OptionType::ip: {
      const std::size_t want = type == OptionType::u8 ? 1 : type == OptionType::u16 ? 2 : 4;
      if (d.size() != want) {
        return malformed("length " + num(d.size()) + ", expected " + num(want));
      }
      return ok();
    }
    case OptionType::ip_list:
    case OptionType::ip_pair_list:
    case OptionType::u16_list: {
      const std::size_t unit = element_size(type);
      if (d.size() % unit != 0) {
        return malformed("length " + num(d.size()) + " is not a multiple of " + num(unit));
      }
      return ok();
    }
    case OptionType::u8_list:
    case OptionType::string:
    case OptionType::binary:
      return ok();
    case OptionType::dns_names: {
      std::size_t pos = 0;
      while (pos < d.size()) {
        const std::size_t start = pos;
        if (!read_dns_name(d, pos, nullptr)) {
          return malformed("domain name at offset " + num(start) + " is malformed");
        }
      }
      return ok();
    }
    case OptionType::client_id:
      if (d.size() < 2) {
        return malformed("length " + num(d.size()) + ", needs a type octet and an identifier");
      }
      return ok();
    case OptionType::relay_agent_info: {
      auto rai = RelayAgentInfo::parse(d);
      if (!rai) return rai.error();
      return ok();
    }
    case OptionType::client_fqdn: {
      if (d.size() < 3) return malformed("length " + num(d.size()) + ", needs at least 3");
      if (d[0] & 0x04) {  // canonical wire format; the last name may be partial
        std::size_t pos = 3;
        while (pos < d.size() && d[pos] != 0) {
          if (d[pos] > 63 || pos + 1 + d[pos] > d.size()) {
            return malformed("domain name label at offset " + num(pos) + " is malformed");
          }
          pos += 1u + d[pos];
        }
        if (pos + 1 < d.size()) {
          return malformed("octets after the terminating zero at offset " + num(pos));
        }
      }
      return ok();
    }
    case OptionType::classless_routes: {
      std::size_t pos = 0;
      for (std::size_t route = 1; pos < d.size(); ++route) {
        const std::uint8_t width = d[pos];
        if (width > 32) {
          return malformed("route " + num(route) + " prefix width " + num(width) + " exceeds 32");
        }
        const std::size_t need = 1 + (width + 7u) / 8u + 4;
        if (pos + need > d.size()) {
          return malformed("route " + num(route) + " at offset " + num(pos) + " needs " +
                           num(need) + " octets, " + num(d.size() - pos) + " left");
        }
        pos += need;
      }
      return ok();
    }
    case OptionType::vendor_identifying: {
      std::size_t pos = 0;
      while (pos < d.size()) {
        if (pos + 5 > d.size()) {
          return malformed("enterprise header at offset " + num(pos) + " is truncated");
        }
        const std::size_t len = d[pos + 4];
        if (pos + 5 + len > d.size()) {
          return malformed("enterprise data length " + num(len) + " at offset " + num(pos) +
                           " runs past end of option");
        }
        pos += 5 + len;
      }
      return ok();
    }
    case OptionType::sip_servers:
      if (d.size() < 2) return malformed("length " + num(d.size()) + ", needs at least 2");
      if (d[0] == 0) return validate_shape(OptionType::dns_names, d.subspan(1));
      if (d[0] == 1) {
        if ((d.size() - 1) % 4 != 0) {
          return malformed("address list length " + num(d.size() - 1) + " is not a multiple of 4");
        }
        return ok();
      }
      return malformed("encoding " + num(d[0]) + ", expected 0 (names) or 1 (addresses)");
  }
  return ok();
}

Result<void> validate_option(std::uint8_t code, ByteView data) {
  const OptionDef* def = find_option_def(code);
  if (def == nullptr) return ok();
  // The error text is only built on failure: validation runs on every parsed option.
  auto fail = [&](std::string_view separator, const std::string& what) -> Result<void> {
    return malformed("option " + num(code) + " (" + std::string(def->name) + ")" +
                     std::string(separator) + what);
  };
  if (def->min_len == def->max_len && data.size() != def->min_len) {
    return fail(" ", "length " + num(data.size()) + ", expected " + num(def->min_len));
  }
  if (data.size() < def->min_len) {
    return fail(" ", "length " + num(data.size()) + " below minimum " + num(def->min_len));
  }
  if (data.size() > def->max_len) {
    return fail(" ", "length " + num(data.size()) + " above maximum " + num(def->max_len));
  }
  auto shape = validate_shape(def->type, data);
  if (!shape) return fail(": ", shape.error().context);
  return ok();
}

std::string format_option(std::uint8_t code, ByteView data) {
  const OptionDef* def = find_option_def(code);
  if (def == nullptr) return "option-" + num(code) + "=" + to_hex(data);
  std::string out(def->name);
  if (def->type == OptionType::empty && data.empty()) return out;
  out.push_back('=');
  if (validate_option(code, data)) {
    out += format_shape(def->type, data);
  } else {
    out += "<malformed " + to_hex(data) + ">";
  }
  return out;
}

std::string to_hex(ByteView data, char separator) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(data.size() * 3);
  for (std::size_t i = 0; i < data.size(); ++i) {
    if (i && separator) out.push_back(separator);
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 0xf]);
  }
  return out;
}

}  // namespace bngkit::bng::dhcp
