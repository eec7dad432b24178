// Private helpers shared by the RADIUS codec sources: big-endian access and a bounds-checked
// walk over a packet's header and attribute framing.
#pragma once

#include <bngkit/bng/radius/protocol.hpp>
#include <bngkit/common/result.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace bngkit::bng::radius::detail {

inline std::uint16_t load_be16(const std::uint8_t* p) noexcept {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}
inline std::uint32_t load_be32(const std::uint8_t* p) noexcept {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}
inline void store_be16(std::uint8_t* p, std::uint16_t v) noexcept {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}
inline void store_be32(std::uint8_t* p, std::uint32_t v) noexcept {
  p[0] = static_cast<std::uint8_t>(v >> 24);
  p[1] = static_cast<std::uint8_t>(v >> 16);
  p[2] = static_cast<std::uint8_t>(v >> 8);
  p[3] = static_cast<std::uint8_t>(v);
}

/// Reads the header and checks Length against the datagram (RFC 2865 3). Returns the packet
/// length (octets past it are padding).
Result<std::size_t> check_header(std::span<const std::uint8_t> wire);

/// Calls `visit(offset, type, value_offset, value_length)` for each attribute of a packet whose
/// header already passed check_header; fails at the first attribute whose framing is broken.
template <typename Visit>
Result<std::size_t> walk_attributes(std::span<const std::uint8_t> wire, std::size_t length,
                                    Visit&& visit);

/// What auth.cpp needs to know about a packet: its length, the Message-Authenticator value
/// offset (if exactly one well-formed one exists) and whether EAP-Message is present.
struct Framing {
  std::size_t length = 0;
  std::size_t attribute_count = 0;
  std::optional<std::size_t> message_authenticator;  ///< offset of its 16-octet value
  std::size_t message_authenticator_count = 0;
  bool message_authenticator_malformed = false;  ///< one whose length is not 18
  bool has_eap_message = false;
};

/// Header check plus attribute walk.
Result<Framing> scan(std::span<const std::uint8_t> wire);

template <typename Visit>
Result<std::size_t> walk_attributes(std::span<const std::uint8_t> wire, std::size_t length,
                                    Visit&& visit) {
  std::size_t offset = kHeaderSize;
  std::size_t count = 0;
  while (offset < length) {
    if (length - offset < 2) {
      return make_error(std::errc::bad_message,
                        "RADIUS attribute at offset " + std::to_string(offset) +
                            ": only 1 octet left before the packet end at " +
                            std::to_string(length));
    }
    const std::uint8_t type = wire[offset];
    const std::uint8_t attr_length = wire[offset + 1];
    if (attr_length < 2) {
      return make_error(std::errc::bad_message, "RADIUS attribute type " + std::to_string(type) +
                                                    " at offset " + std::to_string(offset) +
                                                    " has length " + std::to_string(attr_length) +
                                                    " (minimum 2)");
    }
    if (attr_length > length - offset) {
      return make_error(std::errc::bad_message,
                        "RADIUS attribute type " + std::to_string(type) + " at offset " +
                            std::to_string(offset) + " has length " + std::to_string(attr_length) +
                            ", past the packet end at " + std::to_string(length));
    }
    visit(offset, type, offset + 2, static_cast<std::size_t>(attr_length - 2));
    offset += attr_length;
    ++count;
  }
  return count;
}

}  // namespace bngkit::bng::radius::detail
