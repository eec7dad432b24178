// RADIUS packet and attribute codec: framing checks, parse/serialize, Vendor-Specific
// sub-attributes, and the Broadband Forum access-line attributes.
#include <algorithm>
#include <bngkit/bng/radius/packet.hpp>
#include <cstring>

#include "wire.hpp"

namespace bngkit::bng::radius {

namespace detail {

Result<std::size_t> check_header(std::span<const std::uint8_t> wire) {
  if (wire.size() < kHeaderSize) {
    return make_error(std::errc::bad_message, "RADIUS packet of " + std::to_string(wire.size()) +
                                                  " octets is shorter than the 20-octet header");
  }
  const std::size_t length = load_be16(&wire[2]);
  if (length < kHeaderSize || length > kMaxPacketSize) {
    return make_error(std::errc::bad_message,
                      "RADIUS Length field " + std::to_string(length) + " is outside 20..4096");
  }
  if (length > wire.size()) {
    return make_error(std::errc::bad_message, "RADIUS Length field " + std::to_string(length) +
                                                  " exceeds the " + std::to_string(wire.size()) +
                                                  " octets received");
  }
  return length;
}

Result<Framing> scan(std::span<const std::uint8_t> wire) {
  auto length = check_header(wire);
  if (!length) return std::move(length).error();
  Framing framing;
  framing.length = *length;
  auto count = walk_attributes(
      wire, framing.length,
      [&](std::size_t, std::uint8_t type, std::size_t value_offset, std::size_t value_length) {
        if (type == attr::kMessageAuthenticator) {
          ++framing.message_authenticator_count;
          if (value_length == kAuthenticatorSize) {
            framing.message_authenticator = value_offset;
          } else {
            framing.message_authenticator_malformed = true;
          }
        } else if (type == attr::kEapMessage) {
          framing.has_eap_message = true;
        }
      });
  if (!count) return std::move(count).error();
  framing.attribute_count = *count;
  return framing;
}

}  // namespace detail

namespace {

/// Walks the sub-attributes of a Vendor-Specific value (after the vendor id) without
/// allocating; stops at the first `visit` returning true. Fails on broken framing.
template <typename Visit>
Result<void> walk_vendor_data(std::span<const std::uint8_t> data, std::size_t base_offset,
                              const VendorFormat& format, Visit&& visit) {
  if (format.type_size != 1 && format.type_size != 2 && format.type_size != 4) {
    return make_error(
        std::errc::invalid_argument,
        "vendor format type size " + std::to_string(format.type_size) + " is not 1, 2 or 4");
  }
  if (format.length_size > 2) {
    return make_error(
        std::errc::invalid_argument,
        "vendor format length size " + std::to_string(format.length_size) + " is not 0, 1 or 2");
  }
  const std::size_t header =
      std::size_t{format.type_size} + format.length_size + (format.continuation ? 1u : 0u);
  if (data.empty()) {
    return make_error(std::errc::bad_message, "Vendor-Specific attribute has no vendor data");
  }
  std::size_t offset = 0;
  while (offset < data.size()) {
    const std::size_t at = base_offset + offset;
    if (data.size() - offset < header) {
      return make_error(std::errc::bad_message, "vendor sub-attribute at offset " +
                                                    std::to_string(at) + " needs " +
                                                    std::to_string(header) + " header octets, " +
                                                    std::to_string(data.size() - offset) + " left");
    }
    const std::uint8_t* p = data.data() + offset;
    std::uint32_t type = 0;
    switch (format.type_size) {
      case 1:
        type = p[0];
        break;
      case 2:
        type = detail::load_be16(p);
        break;
      default:
        type = detail::load_be32(p);
        break;
    }
    std::size_t sub_length = data.size() - offset;  // length_size 0: the rest
    if (format.length_size == 1) {
      sub_length = p[format.type_size];
    } else if (format.length_size == 2) {
      sub_length = detail::load_be16(p + format.type_size);
    }
    if (sub_length < header || sub_length > data.size() - offset) {
      return make_error(
          std::errc::bad_message,
          "vendor sub-attribute type " + std::to_string(type) + " at offset " + std::to_string(at) +
              " has length " + std::to_string(sub_length) +
              (sub_length < header ? ", below its header size" : ", past the attribute end"));
    }
    if (visit(SubAttribute{type, data.subspan(offset + header, sub_length - header)})) {
      return ok();
    }
    offset += sub_length;
  }
  return ok();
}

Result<std::uint32_t> vendor_id_of(const Attribute& attribute) {
  if (attribute.type() != attr::kVendorSpecific) {
    return make_error(
        std::errc::invalid_argument,
        "attribute type " + std::to_string(attribute.type()) + " is not Vendor-Specific (26)");
  }
  const auto value = attribute.value();
  if (value.size() < 5) {
    return make_error(std::errc::bad_message, "Vendor-Specific attribute of " +
                                                  std::to_string(value.size()) +
                                                  " value octets is shorter than 5");
  }
  if (value[0] != 0) {
    return make_error(std::errc::bad_message,
                      "Vendor-Specific vendor id has a non-zero high octet (RFC 2865 5.26)");
  }
  return detail::load_be32(value.data());
}

}  // namespace

Attribute::Attribute(std::uint8_t type, std::span<const std::uint8_t> value) noexcept
    : type_(type), size_(static_cast<std::uint8_t>(value.size())) {
  if (!value.empty()) std::memcpy(data_.data(), value.data(), value.size());
}

Result<Attribute> Attribute::make(std::uint8_t type, std::span<const std::uint8_t> value) {
  if (value.size() > kMaxAttributeValue) {
    return make_error(std::errc::value_too_large, "attribute type " + std::to_string(type) +
                                                      " value of " + std::to_string(value.size()) +
                                                      " octets exceeds 253");
  }
  return Attribute(type, value);
}

Result<Attribute> Attribute::make(std::uint8_t type, std::string_view text) {
  return make(type, as_bytes(text));
}

Attribute Attribute::integer(std::uint8_t type, std::uint32_t value) noexcept {
  return Attribute(type, encode_integer(value));
}

Attribute Attribute::ipaddr(std::uint8_t type, const Ipv4& address) noexcept {
  return Attribute(type, address.bytes());
}

Result<VendorSpecific> parse_vendor_specific(const Attribute& attribute, VendorFormat format) {
  auto vendor_id = vendor_id_of(attribute);
  if (!vendor_id) return std::move(vendor_id).error();
  VendorSpecific vsa;
  vsa.vendor = *vendor_id;
  auto walked =
      walk_vendor_data(attribute.value().subspan(4), 6, format, [&](const SubAttribute& sub) {
        vsa.attributes.push_back(sub);
        return false;
      });
  if (!walked) {
    return Error{walked.error().code,
                 "vendor " + std::to_string(vsa.vendor) + ": " + walked.error().context};
  }
  return vsa;
}

Result<Attribute> make_vendor_specific(std::uint32_t vendor_id, std::uint32_t type,
                                       std::span<const std::uint8_t> value, VendorFormat format) {
  if (vendor_id > 0x00ffffffu) {
    return make_error(std::errc::invalid_argument,
                      "vendor id " + std::to_string(vendor_id) + " does not fit in 24 bits");
  }
  if (format.type_size != 1 && format.type_size != 2 && format.type_size != 4) {
    return make_error(std::errc::invalid_argument, "vendor format type size must be 1, 2 or 4");
  }
  if (format.length_size > 2) {
    return make_error(std::errc::invalid_argument, "vendor format length size must be 0, 1 or 2");
  }
  if ((format.type_size == 1 && type > 0xff) || (format.type_size == 2 && type > 0xffff)) {
    return make_error(std::errc::invalid_argument,
                      "vendor attribute type " + std::to_string(type) + " does not fit in " +
                          std::to_string(format.type_size) + " octet(s)");
  }
  const std::size_t header =
      std::size_t{format.type_size} + format.length_size + (format.continuation ? 1u : 0u);
  const std::size_t total = 4 + header + value.size();
  if (total > kMaxAttributeValue) {
    return make_error(std::errc::value_too_large,
                      "vendor " + std::to_string(vendor_id) + " attribute " + std::to_string(type) +
                          " value of " + std::to_string(value.size()) +
                          " octets does not fit in one Vendor-Specific attribute");
  }
  std::array<std::uint8_t, kMaxAttributeValue> buffer{};
  detail::store_be32(buffer.data(), vendor_id);
  std::uint8_t* p = buffer.data() + 4;
  switch (format.type_size) {
    case 1:
      p[0] = static_cast<std::uint8_t>(type);
      break;
    case 2:
      detail::store_be16(p, static_cast<std::uint16_t>(type));
      break;
    default:
      detail::store_be32(p, type);
      break;
  }
  const auto sub_length = static_cast<std::uint16_t>(header + value.size());
  if (format.length_size == 1) {
    p[format.type_size] = static_cast<std::uint8_t>(sub_length);
  } else if (format.length_size == 2) {
    detail::store_be16(p + format.type_size, sub_length);
  }
  if (format.continuation) p[format.type_size + format.length_size] = 0;
  if (!value.empty()) std::memcpy(p + header, value.data(), value.size());
  return Attribute::make(attr::kVendorSpecific, std::span(buffer.data(), total));
}

Result<Packet> Packet::parse(std::span<const std::uint8_t> wire) {
  auto length = detail::check_header(wire);
  if (!length) return std::move(length).error();
  // First pass checks framing and counts, so the second allocates once and cannot fail.
  auto count = detail::walk_attributes(wire, *length,
                                       [](std::size_t, std::uint8_t, std::size_t, std::size_t) {});
  if (!count) return std::move(count).error();

  Packet packet(static_cast<Code>(wire[0]), wire[1]);
  std::memcpy(packet.authenticator.data(), &wire[4], kAuthenticatorSize);
  packet.attributes.reserve(*count);
  (void)detail::walk_attributes(
      wire, *length,
      [&](std::size_t, std::uint8_t type, std::size_t value_offset, std::size_t value_length) {
        // Value lengths come from one octet minus two, so at most 253.
        packet.attributes.push_back(Attribute(type, wire.subspan(value_offset, value_length)));
      });
  return packet;
}

std::size_t Packet::wire_size() const noexcept {
  std::size_t size = kHeaderSize;
  for (const auto& attribute : attributes) size += attribute.wire_size();
  return size;
}

Result<std::size_t> Packet::serialize_to(std::span<std::uint8_t> out) const {
  const std::size_t size = wire_size();
  if (size > kMaxPacketSize) {
    return make_error(std::errc::message_size,
                      "RADIUS packet of " + std::to_string(size) + " octets exceeds 4096");
  }
  if (out.size() < size) {
    return make_error(std::errc::no_buffer_space, "RADIUS packet needs " + std::to_string(size) +
                                                      " octets, buffer has " +
                                                      std::to_string(out.size()));
  }
  out[0] = static_cast<std::uint8_t>(code);
  out[1] = identifier;
  detail::store_be16(&out[2], static_cast<std::uint16_t>(size));
  std::memcpy(&out[4], authenticator.data(), kAuthenticatorSize);
  std::size_t offset = kHeaderSize;
  for (const auto& attribute : attributes) {
    const auto value = attribute.value();
    out[offset] = attribute.type();
    out[offset + 1] = static_cast<std::uint8_t>(attribute.wire_size());
    if (!value.empty()) std::memcpy(&out[offset + 2], value.data(), value.size());
    offset += attribute.wire_size();
  }
  return size;
}

Result<std::vector<std::uint8_t>> Packet::serialize() const {
  std::vector<std::uint8_t> out(std::min(wire_size(), kMaxPacketSize + 1));
  auto written = serialize_to(out);
  if (!written) return std::move(written).error();
  return out;
}

const Attribute* Packet::find(std::uint8_t type) const noexcept {
  for (const auto& attribute : attributes) {
    if (attribute.type() == type) return &attribute;
  }
  return nullptr;
}

std::vector<const Attribute*> Packet::find_all(std::uint8_t type) const {
  std::vector<const Attribute*> found;
  for (const auto& attribute : attributes) {
    if (attribute.type() == type) found.push_back(&attribute);
  }
  return found;
}

std::size_t Packet::count(std::uint8_t type) const noexcept {
  return static_cast<std::size_t>(
      std::count_if(attributes.begin(), attributes.end(),
                    [type](const Attribute& attribute) { return attribute.type() == type; }));
}

std::optional<std::span<const std::uint8_t>> Packet::find_vendor(
    std::uint32_t vendor_id, std::uint32_t type, VendorFormat format) const noexcept {
  for (const auto& attribute : attributes) {
    if (attribute.type() != attr::kVendorSpecific) continue;
    const auto value = attribute.value();
    if (value.size() < 5 || detail::load_be32(value.data()) != vendor_id) continue;
    std::optional<std::span<const std::uint8_t>> found;
    // Walk to the end even after a match: a VSA broken further on is not trusted at all.
    auto walked = walk_vendor_data(value.subspan(4), 6, format, [&](const SubAttribute& sub) {
      if (sub.type == type && !found) found = sub.value;
      return false;
    });
    if (walked && found) return found;
  }
  return std::nullopt;
}

std::size_t Packet::erase(std::uint8_t type) noexcept {
  return std::erase_if(attributes,
                       [type](const Attribute& attribute) { return attribute.type() == type; });
}

Result<void> Packet::add(std::uint8_t type, std::span<const std::uint8_t> value) {
  auto attribute = Attribute::make(type, value);
  if (!attribute) return std::move(attribute).error();
  attributes.push_back(*attribute);
  return ok();
}

Result<void> Packet::add(std::uint8_t type, std::string_view text) {
  return add(type, as_bytes(text));
}

Result<void> Packet::add_vendor(std::uint32_t vendor_id, std::uint32_t type,
                                std::span<const std::uint8_t> value, VendorFormat format) {
  auto attribute = make_vendor_specific(vendor_id, type, value, format);
  if (!attribute) return std::move(attribute).error();
  attributes.push_back(*attribute);
  return ok();
}

Packet Packet::make_response(Code response_code) const {
  Packet response(response_code, identifier, authenticator);
  for (const auto& attribute : attributes) {
    if (attribute.type() == attr::kProxyState) response.attributes.push_back(attribute);
  }
  return response;
}

AccessLine read_access_line(const Packet& packet) {
  AccessLine line;
  auto rate = [](std::optional<std::uint32_t>& field, std::span<const std::uint8_t> value) {
    if (field) return;
    if (auto decoded = decode_integer(value)) field = *decoded;
  };
  for (const auto& attribute : packet.attributes) {
    if (attribute.type() != attr::kVendorSpecific) continue;
    const auto value = attribute.value();
    if (value.size() < 5 || detail::load_be32(value.data()) != vendor::kAdslForum) continue;
    (void)walk_vendor_data(value.subspan(4), 6, VendorFormat{}, [&](const SubAttribute& sub) {
      switch (sub.type) {
        case bbf::kAgentCircuitId:
          if (!line.circuit_id) line.circuit_id = std::string(as_text(sub.value));
          break;
        case bbf::kAgentRemoteId:
          if (!line.remote_id) line.remote_id = std::string(as_text(sub.value));
          break;
        case bbf::kActualDataRateUpstream:
          rate(line.actual_rate_up, sub.value);
          break;
        case bbf::kActualDataRateDownstream:
          rate(line.actual_rate_down, sub.value);
          break;
        case bbf::kMinimumDataRateUpstream:
          rate(line.minimum_rate_up, sub.value);
          break;
        case bbf::kMinimumDataRateDownstream:
          rate(line.minimum_rate_down, sub.value);
          break;
        case bbf::kAttainableDataRateUpstream:
          rate(line.attainable_rate_up, sub.value);
          break;
        case bbf::kAttainableDataRateDownstream:
          rate(line.attainable_rate_down, sub.value);
          break;
        case bbf::kMaximumDataRateUpstream:
          rate(line.maximum_rate_up, sub.value);
          break;
        case bbf::kMaximumDataRateDownstream:
          rate(line.maximum_rate_down, sub.value);
          break;
        case bbf::kMinimumDataRateUpstreamLowPower:
          rate(line.minimum_rate_up_low_power, sub.value);
          break;
        case bbf::kMinimumDataRateDownstreamLowPower:
          rate(line.minimum_rate_down_low_power, sub.value);
          break;
        case bbf::kMaximumInterleavingDelayUpstream:
          rate(line.maximum_delay_up, sub.value);
          break;
        case bbf::kActualInterleavingDelayUpstream:
          rate(line.actual_delay_up, sub.value);
          break;
        case bbf::kMaximumInterleavingDelayDownstream:
          rate(line.maximum_delay_down, sub.value);
          break;
        case bbf::kActualInterleavingDelayDownstream:
          rate(line.actual_delay_down, sub.value);
          break;
        case bbf::kAccessLoopEncapsulation:
          if (!line.encapsulation && sub.value.size() == 3) {
            line.encapsulation =
                std::array<std::uint8_t, 3>{sub.value[0], sub.value[1], sub.value[2]};
          }
          break;
        default:
          break;
      }
      return false;
    });
  }
  return line;
}

Result<void> add_access_line(Packet& packet, const AccessLine& line) {
  std::vector<Attribute> staged;
  auto add = [&](std::uint8_t type, std::span<const std::uint8_t> value) -> Result<void> {
    auto attribute = make_vendor_specific(vendor::kAdslForum, type, value);
    if (!attribute) return std::move(attribute).error();
    staged.push_back(*attribute);
    return ok();
  };
  auto add_id = [&](std::uint8_t type, const std::optional<std::string>& id,
                    std::string_view what) -> Result<void> {
    if (!id) return ok();
    if (id->empty() || id->size() > 247) {
      return make_error(
          std::errc::invalid_argument,
          std::string(what) + " must be 1-247 octets, got " + std::to_string(id->size()));
    }
    return add(type, as_bytes(*id));
  };
  auto add_rate = [&](std::uint8_t type, const std::optional<std::uint32_t>& rate) {
    if (rate) (void)add(type, encode_integer(*rate));  // 4 octets always fit
  };
  if (auto r = add_id(bbf::kAgentCircuitId, line.circuit_id, "Agent-Circuit-Id"); !r) return r;
  if (auto r = add_id(bbf::kAgentRemoteId, line.remote_id, "Agent-Remote-Id"); !r) return r;
  add_rate(bbf::kActualDataRateUpstream, line.actual_rate_up);
  add_rate(bbf::kActualDataRateDownstream, line.actual_rate_down);
  add_rate(bbf::kMinimumDataRateUpstream, line.minimum_rate_up);
  add_rate(bbf::kMinimumDataRateDownstream, line.minimum_rate_down);
  add_rate(bbf::kAttainableDataRateUpstream, line.attainable_rate_up);
  add_rate(bbf::kAttainableDataRateDownstream, line.attainable_rate_down);
  add_rate(bbf::kMaximumDataRateUpstream, line.maximum_rate_up);
  add_rate(bbf::kMaximumDataRateDownstream, line.maximum_rate_down);
  add_rate(bbf::kMinimumDataRateUpstreamLowPower, line.minimum_rate_up_low_power);
  add_rate(bbf::kMinimumDataRateDownstreamLowPower, line.minimum_rate_down_low_power);
  add_rate(bbf::kMaximumInterleavingDelayUpstream, line.maximum_delay_up);
  add_rate(bbf::kActualInterleavingDelayUpstream, line.actual_delay_up);
  add_rate(bbf::kMaximumInterleavingDelayDownstream, line.maximum_delay_down);
  add_rate(bbf::kActualInterleavingDelayDownstream, line.actual_delay_down);
  if (line.encapsulation) (void)add(bbf::kAccessLoopEncapsulation, *line.encapsulation);
  packet.attributes.insert(packet.attributes.end(), staged.begin(), staged.end());
  return ok();
}

}  // namespace bngkit::bng::radius
