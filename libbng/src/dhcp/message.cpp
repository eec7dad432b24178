// DHCPv4 message parse (bounded TLV walk over options, file and sname) and serialize.
#include <algorithm>
#include <bitset>
#include <bngkit/bng/dhcp/message.hpp>
#include <cstdio>
#include <cstring>

namespace bngkit::bng::dhcp {
namespace {

constexpr std::size_t kSnameOffset = 44;
constexpr std::size_t kFileOffset = 108;
constexpr std::size_t kCookieOffset = 236;

Error malformed(std::string what) { return make_error(std::errc::bad_message, std::move(what)); }

std::string num(std::size_t v) { return std::to_string(v); }

std::uint16_t load16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}
std::uint32_t load32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}
void put16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}
void put32(std::uint8_t* p, std::uint32_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 24);
  p[1] = static_cast<std::uint8_t>(v >> 16);
  p[2] = static_cast<std::uint8_t>(v >> 8);
  p[3] = static_cast<std::uint8_t>(v);
}

std::string_view area_name(OptionArea area) {
  switch (area) {
    case OptionArea::options:
      return "packet";
    case OptionArea::file:
      return "file field";
    case OptionArea::sname:
      return "sname field";
  }
  return "packet";
}

std::string who(std::uint8_t code) {
  const std::string_view name = option_name(code);
  if (name.empty()) return "option " + num(code);
  return "option " + num(code) + " (" + std::string(name) + ")";
}

struct WalkEnd {
  bool saw_end = false;
  std::size_t next = 0;  // offset just after End, or `end` without one
};

// The bounded TLV walk over bytes[begin, end). Every read is checked against `end`.
Result<WalkEnd> walk(std::span<const std::uint8_t> bytes, std::size_t begin, std::size_t end,
                     OptionArea area, std::vector<Option>& out) {
  std::size_t i = begin;
  while (i < end) {
    const std::uint8_t code = bytes[i];
    if (code == opt::pad) {
      out.push_back({opt::pad, {}, area});
      ++i;
      continue;
    }
    if (code == opt::end) return WalkEnd{true, i + 1};
    if (i + 1 >= end) {
      return malformed("option " + num(code) + " at offset " + num(i) +
                       " has no length octet before end of " + std::string(area_name(area)));
    }
    const std::size_t len = bytes[i + 1];
    if (i + 2 + len > end) {
      return malformed("option " + num(code) + " length " + num(len) + " runs past end of " +
                       std::string(area_name(area)) + " at offset " + num(i));
    }
    if (code == opt::overload && area != OptionArea::options) {
      return malformed("option 52 (dhcp-option-overload) found in the " +
                       std::string(area_name(area)) + " at offset " + num(i) +
                       "; it is only allowed in the options field");
    }
    const auto body = bytes.subspan(i + 2, len);
    out.push_back({code, {body.begin(), body.end()}, area});
    i += 2 + len;
  }
  return WalkEnd{false, end};
}

// The concatenated value of `code`: a view of the single instance when there is one (the
// common case, no copy), or the instances joined into `scratch`.
bool value_of(const std::vector<Option>& options, std::uint8_t code,
              std::vector<std::uint8_t>& scratch, std::span<const std::uint8_t>& value) {
  const Option* first = nullptr;
  bool several = false;
  for (const Option& o : options) {
    if (o.code != code) continue;
    if (first == nullptr) {
      first = &o;
    } else {
      several = true;
      break;
    }
  }
  if (first == nullptr) return false;
  if (!several) {
    value = first->data;
    return true;
  }
  scratch.clear();
  for (const Option& o : options) {
    if (o.code == code) scratch.insert(scratch.end(), o.data.begin(), o.data.end());
  }
  value = scratch;
  return true;
}

template <typename F>
auto typed(const Message& m, std::uint8_t code, F&& decode)
    -> decltype(decode(std::span<const std::uint8_t>{})) {
  std::vector<std::uint8_t> scratch;
  std::span<const std::uint8_t> value;
  if (!value_of(m.options, code, scratch, value)) return std::nullopt;
  return decode(value);
}

// Overload value from the options field (0 when absent or not one valid octet).
std::uint8_t overload_value(const std::vector<Option>& options) {
  std::uint8_t value = 0;
  for (const Option& o : options) {
    if (o.code == opt::overload && o.area == OptionArea::options && o.data.size() == 1 &&
        o.data[0] >= 1 && o.data[0] <= 3) {
      value = o.data[0];
    }
  }
  return value;
}

// Writes the instances of `area` into a fixed field, then End if there is room, then zeros.
Result<void> write_field(const std::vector<Option>& options, OptionArea area, std::uint8_t* field,
                         std::size_t size) {
  std::size_t pos = 0;
  for (const Option& o : options) {
    if (o.area != area) continue;
    const std::size_t need = o.code == opt::pad ? 1 : 2 + o.data.size();
    if (o.data.size() > 255 || o.code == opt::end) {
      return make_error(std::errc::invalid_argument,
                        who(o.code) + " instance cannot be written (" + num(o.data.size()) +
                            " octets; instances hold at most 255, End is implicit)");
    }
    if (pos + need > size) {
      return make_error(std::errc::message_size, "options placed in the " +
                                                     std::string(area_name(area)) +
                                                     " do not fit its " + num(size) + " octets");
    }
    field[pos] = o.code;
    if (o.code != opt::pad) {
      field[pos + 1] = static_cast<std::uint8_t>(o.data.size());
      if (!o.data.empty()) std::memcpy(field + pos + 2, o.data.data(), o.data.size());
    }
    pos += need;
  }
  if (pos < size) field[pos++] = opt::end;
  std::memset(field + pos, 0, size - pos);
  return ok();
}

}  // namespace

std::string to_string(MessageType type) {
  static constexpr std::string_view kNames[] = {
      "",
      "DHCPDISCOVER",
      "DHCPOFFER",
      "DHCPREQUEST",
      "DHCPDECLINE",
      "DHCPACK",
      "DHCPNAK",
      "DHCPRELEASE",
      "DHCPINFORM",
      "DHCPFORCERENEW",
      "DHCPLEASEQUERY",
      "DHCPLEASEUNASSIGNED",
      "DHCPLEASEUNKNOWN",
      "DHCPLEASEACTIVE",
      "DHCPBULKLEASEQUERY",
      "DHCPLEASEQUERYDONE",
      "DHCPACTIVELEASEQUERY",
      "DHCPLEASEQUERYSTATUS",
      "DHCPTLS",
  };
  const auto v = static_cast<std::size_t>(type);
  if (v >= 1 && v < std::size(kNames)) return std::string(kNames[v]);
  return "DHCP-TYPE-" + num(v);
}

Result<Message> Message::parse(std::span<const std::uint8_t> bytes, Validation validation) {
  if (bytes.size() < kMinMessageSize) {
    return malformed("message too short: " + num(bytes.size()) +
                     " octets, a DHCP message needs at least 240 (236-octet header and magic "
                     "cookie)");
  }
  const std::uint8_t* p = bytes.data();
  if (!std::equal(kMagicCookie.begin(), kMagicCookie.end(), p + kCookieOffset)) {
    char found[16];
    std::snprintf(found, sizeof found, "0x%08x", load32(p + kCookieOffset));
    return malformed(std::string("magic cookie missing at offset 236: found ") + found +
                     ", expected 0x63825363");
  }
  Message m;
  m.op = p[0];
  m.htype = p[1];
  m.hlen = p[2];
  m.hops = p[3];
  m.xid = load32(p + 4);
  m.secs = load16(p + 8);
  m.flags = load16(p + 10);
  m.ciaddr = Ipv4::from_bytes(bytes.subspan(12, 4));
  m.yiaddr = Ipv4::from_bytes(bytes.subspan(16, 4));
  m.siaddr = Ipv4::from_bytes(bytes.subspan(20, 4));
  m.giaddr = Ipv4::from_bytes(bytes.subspan(24, 4));
  std::memcpy(m.chaddr.data(), p + 28, m.chaddr.size());
  std::memcpy(m.sname.data(), p + kSnameOffset, m.sname.size());
  std::memcpy(m.file.data(), p + kFileOffset, m.file.size());
  m.options.reserve(16);

  auto main = walk(bytes, kMinMessageSize, bytes.size(), OptionArea::options, m.options);
  if (!main) return std::move(main).error();
  m.pad_to = bytes.size();
  const auto rest = bytes.subspan(main->next);
  if (std::any_of(rest.begin(), rest.end(), [](std::uint8_t b) { return b != 0; })) {
    m.trailer.assign(rest.begin(), rest.end());
  }

  // Option overload decides whether file and sname hold options (RFC 2131 section 4.1:
  // interpret the options field, then file, then sname).
  std::vector<std::uint8_t> scratch;
  std::span<const std::uint8_t> overload;
  if (value_of(m.options, opt::overload, scratch, overload)) {
    if (overload.size() != 1 || overload[0] < 1 || overload[0] > 3) {
      return malformed(
          "option 52 (dhcp-option-overload) must be one octet of value 1, 2 or 3; "
          "found " +
          num(overload.size()) + " octet(s)" +
          (overload.empty() ? std::string() : " starting " + num(overload[0])));
    }
    const std::uint8_t which = overload[0];
    if (which & 1) {
      m.file.fill(0);
      auto r = walk(bytes, kFileOffset, kCookieOffset, OptionArea::file, m.options);
      if (!r) return std::move(r).error();
    }
    if (which & 2) {
      m.sname.fill(0);
      auto r = walk(bytes, kSnameOffset, kFileOffset, OptionArea::sname, m.options);
      if (!r) return std::move(r).error();
    }
  }

  if (validation == Validation::strict) {
    auto valid = m.validate();
    if (!valid) return valid.error();
  }
  return m;
}

Result<void> Message::validate() const {
  if (op != kBootRequest && op != kBootReply) {
    return malformed("op " + num(op) + " is neither BOOTREQUEST (1) nor BOOTREPLY (2)");
  }
  if (hlen > chaddr.size()) {
    return malformed("hlen " + num(hlen) + " exceeds the 16-octet chaddr field");
  }
  const std::uint8_t ov = overload_value(options);
  std::bitset<256> seen;
  std::vector<std::uint8_t> scratch;
  for (const Option& o : options) {
    if (o.area == OptionArea::file && !(ov & 1)) {
      return malformed(who(o.code) +
                       " is placed in the file field, which option 52 does not "
                       "overload");
    }
    if (o.area == OptionArea::sname && !(ov & 2)) {
      return malformed(who(o.code) +
                       " is placed in the sname field, which option 52 does not "
                       "overload");
    }
    if (o.code == opt::end) return malformed("option list holds an End (255) instance");
    if (o.code == opt::pad || seen.test(o.code)) continue;
    seen.set(o.code);
    std::span<const std::uint8_t> value;
    value_of(options, o.code, scratch, value);
    auto r = validate_option(o.code, value);
    if (!r) return r;
  }
  return ok();
}

std::size_t Message::wire_size() const noexcept {
  std::size_t size = kMinMessageSize;
  for (const Option& o : options) {
    if (o.area != OptionArea::options) continue;
    size += o.code == opt::pad ? 1 : 2 + o.data.size();
  }
  size += 1 + trailer.size();
  return std::max(size, pad_to);
}

Result<void> Message::serialize_into(std::vector<std::uint8_t>& out) const {
  out.assign(kMinMessageSize, 0);
  out.reserve(wire_size());
  std::uint8_t* p = out.data();
  p[0] = op;
  p[1] = htype;
  p[2] = hlen;
  p[3] = hops;
  put32(p + 4, xid);
  put16(p + 8, secs);
  put16(p + 10, flags);
  std::memcpy(p + 12, ciaddr.bytes().data(), 4);
  std::memcpy(p + 16, yiaddr.bytes().data(), 4);
  std::memcpy(p + 20, siaddr.bytes().data(), 4);
  std::memcpy(p + 24, giaddr.bytes().data(), 4);
  std::memcpy(p + 28, chaddr.data(), chaddr.size());
  std::memcpy(p + kCookieOffset, kMagicCookie.data(), kMagicCookie.size());

  const std::uint8_t ov = overload_value(options);
  for (const Option& o : options) {
    if ((o.area == OptionArea::file && !(ov & 1)) || (o.area == OptionArea::sname && !(ov & 2))) {
      return make_error(std::errc::invalid_argument, who(o.code) + " is placed in the " +
                                                         std::string(area_name(o.area)) +
                                                         ", which option 52 does not overload");
    }
  }
  if (ov & 2) {
    auto r = write_field(options, OptionArea::sname, p + kSnameOffset, kSnameSize);
    if (!r) return r;
  } else {
    std::memcpy(p + kSnameOffset, sname.data(), sname.size());
  }
  if (ov & 1) {
    auto r = write_field(options, OptionArea::file, p + kFileOffset, kFileSize);
    if (!r) return r;
  } else {
    std::memcpy(p + kFileOffset, file.data(), file.size());
  }

  for (const Option& o : options) {
    if (o.area != OptionArea::options) continue;
    if (o.code == opt::pad) {
      out.push_back(opt::pad);
      continue;
    }
    if (o.code == opt::end) {
      return make_error(std::errc::invalid_argument,
                        "option list holds an End (255) instance; serialize() writes End");
    }
    if (o.data.size() > 255) {
      return make_error(std::errc::message_size,
                        who(o.code) + " instance holds " + num(o.data.size()) +
                            " octets (255 allowed; set_option/add_option split long values)");
    }
    out.push_back(o.code);
    out.push_back(static_cast<std::uint8_t>(o.data.size()));
    out.insert(out.end(), o.data.begin(), o.data.end());
  }
  out.push_back(opt::end);
  out.insert(out.end(), trailer.begin(), trailer.end());
  if (out.size() < pad_to) out.resize(pad_to, 0);
  return ok();
}

Result<std::vector<std::uint8_t>> Message::serialize() const {
  std::vector<std::uint8_t> out;
  auto r = serialize_into(out);
  if (!r) return r.error();
  return out;
}

bool Message::has_option(std::uint8_t code) const noexcept {
  return std::any_of(options.begin(), options.end(),
                     [code](const Option& o) { return o.code == code; });
}

std::optional<std::vector<std::uint8_t>> Message::option(std::uint8_t code) const {
  std::optional<std::vector<std::uint8_t>> out;
  for (const Option& o : options) {
    if (o.code != code) continue;
    if (!out) out.emplace();
    out->insert(out->end(), o.data.begin(), o.data.end());
  }
  return out;
}

void Message::set_option(std::uint8_t code, std::span<const std::uint8_t> data) {
  auto first = std::find_if(options.begin(), options.end(),
                            [code](const Option& o) { return o.code == code; });
  if (first == options.end()) {
    add_option(code, data);
    return;
  }
  const OptionArea area = first->area;
  auto at = options.erase(first);
  const auto index = at - options.begin();
  std::erase_if(options, [code](const Option& o) { return o.code == code; });
  std::vector<Option> chunks;
  std::size_t pos = 0;
  do {
    const std::size_t n = std::min<std::size_t>(255, data.size() - pos);
    chunks.push_back({code,
                      {data.begin() + static_cast<std::ptrdiff_t>(pos),
                       data.begin() + static_cast<std::ptrdiff_t>(pos + n)},
                      area});
    pos += n;
  } while (pos < data.size());
  // Instances after the first one were erased too; the first one's slot is still valid
  // because only later elements moved.
  options.insert(options.begin() +
                     std::min<std::ptrdiff_t>(index, static_cast<std::ptrdiff_t>(options.size())),
                 std::make_move_iterator(chunks.begin()), std::make_move_iterator(chunks.end()));
}

void Message::add_option(std::uint8_t code, std::span<const std::uint8_t> data) {
  // Keep the options-field instances ahead of file/sname ones (interpretation order).
  auto at = std::find_if(options.begin(), options.end(),
                         [](const Option& o) { return o.area != OptionArea::options; });
  std::size_t index = static_cast<std::size_t>(at - options.begin());
  std::size_t pos = 0;
  do {
    const std::size_t n = std::min<std::size_t>(255, data.size() - pos);
    options.insert(options.begin() + static_cast<std::ptrdiff_t>(index),
                   Option{code,
                          {data.begin() + static_cast<std::ptrdiff_t>(pos),
                           data.begin() + static_cast<std::ptrdiff_t>(pos + n)},
                          OptionArea::options});
    ++index;
    pos += n;
  } while (pos < data.size());
}

bool Message::remove_option(std::uint8_t code) {
  return std::erase_if(options, [code](const Option& o) { return o.code == code; }) > 0;
}

std::vector<Option> Message::merged_options() const {
  std::vector<Option> out;
  std::array<std::int16_t, 256> index;
  index.fill(-1);
  for (const Option& o : options) {
    if (o.code == opt::pad) continue;
    if (index[o.code] < 0) {
      index[o.code] = static_cast<std::int16_t>(out.size());
      out.push_back({o.code, o.data, OptionArea::options});
    } else {
      auto& data = out[static_cast<std::size_t>(index[o.code])].data;
      data.insert(data.end(), o.data.begin(), o.data.end());
    }
  }
  return out;
}

std::optional<MessageType> Message::message_type() const {
  return typed(*this, opt::message_type, [](auto v) -> std::optional<MessageType> {
    if (auto b = decode_u8(v)) return static_cast<MessageType>(*b);
    return std::nullopt;
  });
}
std::optional<Ipv4> Message::requested_ip() const {
  return typed(*this, opt::requested_address, [](auto v) { return decode_ip(v); });
}
std::optional<Ipv4> Message::server_id() const {
  return typed(*this, opt::server_id, [](auto v) { return decode_ip(v); });
}
std::optional<Ipv4> Message::subnet_mask() const {
  return typed(*this, opt::subnet_mask, [](auto v) { return decode_ip(v); });
}
std::optional<std::vector<Ipv4>> Message::routers() const {
  return typed(*this, opt::router, [](auto v) { return decode_ip_list(v); });
}
std::optional<std::vector<Ipv4>> Message::dns_servers() const {
  return typed(*this, opt::domain_name_server, [](auto v) { return decode_ip_list(v); });
}
std::optional<std::uint32_t> Message::lease_time() const {
  return typed(*this, opt::lease_time, [](auto v) { return decode_u32(v); });
}
std::optional<std::uint32_t> Message::renewal_time() const {
  return typed(*this, opt::renewal_time, [](auto v) { return decode_u32(v); });
}
std::optional<std::uint32_t> Message::rebinding_time() const {
  return typed(*this, opt::rebinding_time, [](auto v) { return decode_u32(v); });
}
std::optional<std::vector<std::uint8_t>> Message::client_id() const {
  return typed(*this, opt::client_id, [](auto v) -> std::optional<std::vector<std::uint8_t>> {
    if (v.size() < 2) return std::nullopt;
    return std::vector<std::uint8_t>(v.begin(), v.end());
  });
}
std::optional<std::vector<std::uint8_t>> Message::parameter_request_list() const {
  return typed(*this, opt::parameter_request_list,
               [](auto v) { return std::optional(std::vector<std::uint8_t>(v.begin(), v.end())); });
}
std::optional<RelayAgentInfo> Message::relay_agent_info() const {
  return typed(*this, opt::relay_agent_info, [](auto v) -> std::optional<RelayAgentInfo> {
    auto parsed = RelayAgentInfo::parse(v);
    if (!parsed) return std::nullopt;
    return std::move(parsed).value();
  });
}
std::optional<std::uint16_t> Message::max_message_size() const {
  return typed(*this, opt::max_message_size, [](auto v) { return decode_u16(v); });
}
std::optional<std::string> Message::hostname() const {
  return typed(*this, opt::host_name, [](auto v) { return std::optional(decode_string(v)); });
}
std::optional<std::string> Message::vendor_class_id() const {
  return typed(*this, opt::vendor_class_id, [](auto v) { return std::optional(decode_string(v)); });
}
std::optional<std::string> Message::domain_name() const {
  return typed(*this, opt::domain_name, [](auto v) { return std::optional(decode_string(v)); });
}
std::optional<std::string> Message::message_text() const {
  return typed(*this, opt::message, [](auto v) { return std::optional(decode_string(v)); });
}
std::optional<std::uint8_t> Message::overload() const {
  return typed(*this, opt::overload, [](auto v) { return decode_u8(v); });
}

std::span<const std::uint8_t> Message::hardware_address() const noexcept {
  return std::span<const std::uint8_t>(chaddr).first(std::min<std::size_t>(hlen, chaddr.size()));
}

MacAddress Message::client_mac() const noexcept { return MacAddress::from_bytes(chaddr); }

void Message::set_client_mac(MacAddress mac) noexcept {
  chaddr.fill(0);
  std::copy(mac.bytes().begin(), mac.bytes().end(), chaddr.begin());
  htype = 1;
  hlen = 6;
}

std::string Message::sname_text() const {
  const auto end = std::find(sname.begin(), sname.end(), 0);
  return std::string(sname.begin(), end);
}

std::string Message::file_text() const {
  const auto end = std::find(file.begin(), file.end(), 0);
  return std::string(file.begin(), end);
}

std::string Message::to_string() const {
  std::string out;
  if (auto type = message_type()) {
    out = dhcp::to_string(*type);
  } else {
    out = op == kBootReply ? "BOOTREPLY" : "BOOTREQUEST";
  }
  char xid_text[16];
  std::snprintf(xid_text, sizeof xid_text, "0x%08x", xid);
  out += std::string(" xid=") + xid_text + " chaddr=" + to_hex(hardware_address());
  if (!ciaddr.is_unspecified()) out += " ciaddr=" + ciaddr.to_string();
  if (!yiaddr.is_unspecified()) out += " yiaddr=" + yiaddr.to_string();
  if (!siaddr.is_unspecified()) out += " siaddr=" + siaddr.to_string();
  if (!giaddr.is_unspecified()) out += " giaddr=" + giaddr.to_string();
  if (hops) out += " hops=" + num(hops);
  if (broadcast()) out += " broadcast";
  for (const Option& o : merged_options()) {
    if (o.code == opt::message_type) continue;
    out += " " + format_option(o.code, o.data);
  }
  return out;
}

}  // namespace bngkit::bng::dhcp
