// Relay Agent Information (option 82) sub-option walk and build.
#include <algorithm>
#include <bngkit/bng/dhcp/option_codec.hpp>
#include <bngkit/bng/dhcp/relay_agent_info.hpp>

namespace bngkit::bng::dhcp {

std::string_view sub_option_name(std::uint8_t code) noexcept {
  switch (code) {
    case rai::circuit_id:
      return "circuit-id";
    case rai::remote_id:
      return "remote-id";
    case rai::docsis_device_class:
      return "docsis-device-class";
    case rai::link_selection:
      return "link-selection";
    case rai::subscriber_id:
      return "subscriber-id";
    case rai::radius_attributes:
      return "radius-attributes";
    case rai::authentication:
      return "authentication";
    case rai::vendor_specific:
      return "vendor-specific";
    case rai::relay_agent_flags:
      return "relay-agent-flags";
    case rai::server_id_override:
      return "server-id-override";
    case rai::relay_id:
      return "relay-id";
    case rai::relay_source_port:
      return "relay-source-port";
    default:
      return {};
  }
}

Result<RelayAgentInfo> RelayAgentInfo::parse(std::span<const std::uint8_t> value) {
  RelayAgentInfo info;
  std::size_t pos = 0;
  while (pos < value.size()) {
    const std::uint8_t code = value[pos];
    if (pos + 2 > value.size()) {
      return make_error(std::errc::bad_message, "sub-option " + std::to_string(code) +
                                                    " at offset " + std::to_string(pos) +
                                                    " has no length octet");
    }
    const std::size_t len = value[pos + 1];
    if (pos + 2 + len > value.size()) {
      return make_error(std::errc::bad_message,
                        "sub-option " + std::to_string(code) + " length " + std::to_string(len) +
                            " runs past end of option at offset " + std::to_string(pos));
    }
    const auto body = value.subspan(pos + 2, len);
    info.sub_options.push_back({code, {body.begin(), body.end()}});
    pos += 2 + len;
  }
  if (info.sub_options.empty()) {
    return make_error(std::errc::bad_message, "relay agent information has no sub-options");
  }
  return info;
}

Result<std::vector<std::uint8_t>> RelayAgentInfo::serialize() const {
  std::vector<std::uint8_t> out;
  for (const SubOption& s : sub_options) {
    if (s.data.size() > 255) {
      return make_error(std::errc::message_size, "sub-option " + std::to_string(s.code) +
                                                     " holds " + std::to_string(s.data.size()) +
                                                     " octets (255 allowed)");
    }
    out.push_back(s.code);
    out.push_back(static_cast<std::uint8_t>(s.data.size()));
    out.insert(out.end(), s.data.begin(), s.data.end());
  }
  return out;
}

const SubOption* RelayAgentInfo::find(std::uint8_t code) const noexcept {
  for (const SubOption& s : sub_options) {
    if (s.code == code) return &s;
  }
  return nullptr;
}

void RelayAgentInfo::set(std::uint8_t code, std::span<const std::uint8_t> data) {
  auto first = std::find_if(sub_options.begin(), sub_options.end(),
                            [code](const SubOption& s) { return s.code == code; });
  if (first == sub_options.end()) {
    sub_options.push_back({code, {data.begin(), data.end()}});
    return;
  }
  first->data.assign(data.begin(), data.end());
  sub_options.erase(std::remove_if(std::next(first), sub_options.end(),
                                   [code](const SubOption& s) { return s.code == code; }),
                    sub_options.end());
}

bool RelayAgentInfo::remove(std::uint8_t code) {
  const auto before = sub_options.size();
  std::erase_if(sub_options, [code](const SubOption& s) { return s.code == code; });
  return sub_options.size() != before;
}

std::optional<std::span<const std::uint8_t>> RelayAgentInfo::circuit_id() const noexcept {
  const SubOption* s = find(rai::circuit_id);
  if (s == nullptr) return std::nullopt;
  return std::span<const std::uint8_t>(s->data);
}

std::optional<std::span<const std::uint8_t>> RelayAgentInfo::remote_id() const noexcept {
  const SubOption* s = find(rai::remote_id);
  if (s == nullptr) return std::nullopt;
  return std::span<const std::uint8_t>(s->data);
}

std::optional<Ipv4> RelayAgentInfo::link_selection() const noexcept {
  const SubOption* s = find(rai::link_selection);
  if (s == nullptr || s->data.size() != 4) return std::nullopt;
  return Ipv4::from_bytes(s->data);
}

std::optional<Ipv4> RelayAgentInfo::server_id_override() const noexcept {
  const SubOption* s = find(rai::server_id_override);
  if (s == nullptr || s->data.size() != 4) return std::nullopt;
  return Ipv4::from_bytes(s->data);
}

std::string RelayAgentInfo::to_string() const {
  std::string out;
  for (const SubOption& s : sub_options) {
    if (!out.empty()) out.push_back(' ');
    const std::string_view name = sub_option_name(s.code);
    out += name.empty() ? "sub-option-" + std::to_string(s.code) : std::string(name);
    out.push_back('=');
    const bool printable =
        !s.data.empty() && std::all_of(s.data.begin(), s.data.end(),
                                       [](std::uint8_t c) { return c >= 0x20 && c < 0x7f; });
    if (printable) {
      out.push_back('"');
      out.append(s.data.begin(), s.data.end());
      out.push_back('"');
    } else {
      out += to_hex(s.data);
    }
  }
  return out;
}

}  // namespace bngkit::bng::dhcp
