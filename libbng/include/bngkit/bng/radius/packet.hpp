// RADIUS packets and attributes on the wire (RFC 2865 section 3 and 5): parse a datagram into
// code, identifier, authenticator and the attributes in order (unknown ones kept verbatim,
// so serialize(parse(x)) gives x back), build packets, and read or write Vendor-Specific
// attributes, including the Broadband Forum access-line attributes (RFC 4679).
#pragma once

#include <algorithm>
#include <array>
#include <bngkit/bng/radius/protocol.hpp>
#include <bngkit/bng/radius/value.hpp>
#include <bngkit/bng_codec/export.hpp>
#include <bngkit/common/result.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace bngkit::bng::radius {

/// One attribute: its type and up to 253 value octets, stored inline (no allocation).
class BNGKIT_BNG_CODEC_EXPORT Attribute {
 public:
  Attribute() = default;

  /// Fails when the value is longer than 253 octets.
  [[nodiscard]] static Result<Attribute> make(std::uint8_t type,
                                              std::span<const std::uint8_t> value);
  /// Text as octets; fails when longer than 253.
  [[nodiscard]] static Result<Attribute> make(std::uint8_t type, std::string_view text);
  /// A 4-octet integer value (also for "date" and enumerated values).
  [[nodiscard]] static Attribute integer(std::uint8_t type, std::uint32_t value) noexcept;
  /// A 4-octet IPv4 address value.
  [[nodiscard]] static Attribute ipaddr(std::uint8_t type, const Ipv4& address) noexcept;

  [[nodiscard]] std::uint8_t type() const noexcept { return type_; }
  [[nodiscard]] std::span<const std::uint8_t> value() const noexcept {
    return {data_.data(), size_};
  }
  /// The value as characters (for "string" attributes).
  [[nodiscard]] std::string_view text() const noexcept { return as_text(value()); }
  /// Octets on the wire: type, length and value.
  [[nodiscard]] std::size_t wire_size() const noexcept { return 2u + size_; }

  friend bool operator==(const Attribute& a, const Attribute& b) noexcept {
    return a.type_ == b.type_ && a.size_ == b.size_ &&
           std::equal(a.data_.begin(), a.data_.begin() + a.size_, b.data_.begin());
  }

 private:
  friend class Packet;
  /// Caller guarantees value.size() <= 253.
  Attribute(std::uint8_t type, std::span<const std::uint8_t> value) noexcept;

  std::uint8_t type_ = 0;
  std::uint8_t size_ = 0;
  // Only the first size_ octets are meaningful; left uninitialised so building and copying
  // an attribute does not clear 253 octets first.
  std::array<std::uint8_t, kMaxAttributeValue> data_;
};

/// Layout of the sub-attributes inside a vendor's Vendor-Specific attributes. RFC 2865 5.26
/// recommends the default, 1-octet type and 1-octet length.
struct VendorFormat {
  std::uint8_t type_size = 1;    ///< 1, 2 or 4
  std::uint8_t length_size = 1;  ///< 0 (the value runs to the end), 1 or 2
  bool continuation = false;     ///< a continuation octet follows the length (WiMAX)
};

/// One sub-attribute of a Vendor-Specific attribute; `value` points into the attribute.
struct SubAttribute {
  std::uint32_t type = 0;
  std::span<const std::uint8_t> value;
};

/// A Vendor-Specific attribute taken apart.
struct VendorSpecific {
  std::uint32_t vendor = 0;
  std::vector<SubAttribute> attributes;
};

/// Splits a Vendor-Specific (26) attribute into vendor id and sub-attributes. Fails (with the
/// offset) when the attribute is not type 26, is shorter than 5 octets, or its sub-attributes
/// do not tile the value exactly. Sub-attribute spans point into `attribute`.
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT Result<VendorSpecific> parse_vendor_specific(
    const Attribute& attribute, VendorFormat format = {});

/// Builds a Vendor-Specific attribute carrying one sub-attribute. Fails when it does not fit
/// in 253 octets, or the type does not fit the format's type size.
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT Result<Attribute> make_vendor_specific(
    std::uint32_t vendor_id, std::uint32_t type, std::span<const std::uint8_t> value,
    VendorFormat format = {});

/// A RADIUS packet. Attributes keep their order; unknown and malformed ones are kept as sent.
class BNGKIT_BNG_CODEC_EXPORT Packet {
 public:
  Packet() = default;
  Packet(Code packet_code, std::uint8_t id, const Authenticator& auth = {}) noexcept
      : code(packet_code), identifier(id), authenticator(auth) {}

  /// Reads one datagram. Octets past the Length field are padding and ignored (RFC 2865 3).
  /// Fails, saying what is wrong and at which offset, when the datagram is shorter than the
  /// header or than its Length, Length is outside 20-4096, or an attribute's length is below 2
  /// or runs past the packet. Never reads outside `wire`.
  [[nodiscard]] static Result<Packet> parse(std::span<const std::uint8_t> wire);

  /// Octets serialize() produces.
  [[nodiscard]] std::size_t wire_size() const noexcept;
  /// The packet as it is (the authenticator field as set; see auth.hpp to sign it). Fails
  /// when it is longer than 4096 octets.
  [[nodiscard]] Result<std::vector<std::uint8_t>> serialize() const;
  /// Like serialize(), into `out`; returns the octets written. Fails when `out` is too small.
  [[nodiscard]] Result<std::size_t> serialize_to(std::span<std::uint8_t> out) const;

  /// First attribute of this type, or nullptr.
  [[nodiscard]] const Attribute* find(std::uint8_t type) const noexcept;
  /// Every attribute of this type, in order.
  [[nodiscard]] std::vector<const Attribute*> find_all(std::uint8_t type) const;
  /// How many attributes of this type there are.
  [[nodiscard]] std::size_t count(std::uint8_t type) const noexcept;
  /// Value of the first sub-attribute (vendor_id, type) in any well-formed Vendor-Specific
  /// attribute, or empty. The span points into this packet.
  [[nodiscard]] std::optional<std::span<const std::uint8_t>> find_vendor(
      std::uint32_t vendor_id, std::uint32_t type, VendorFormat format = {}) const noexcept;
  /// Removes every attribute of this type; returns how many went.
  std::size_t erase(std::uint8_t type) noexcept;

  /// Appends an attribute.
  void add(const Attribute& attribute) { attributes.push_back(attribute); }
  /// Appends (type, value); fails when the value is longer than 253 octets.
  [[nodiscard]] Result<void> add(std::uint8_t type, std::span<const std::uint8_t> value);
  /// Appends (type, text); fails when the text is longer than 253 octets.
  [[nodiscard]] Result<void> add(std::uint8_t type, std::string_view text);
  /// Appends a 4-octet integer attribute.
  void add_integer(std::uint8_t type, std::uint32_t value) {
    attributes.push_back(Attribute::integer(type, value));
  }
  /// Appends an IPv4 address attribute.
  void add_ipaddr(std::uint8_t type, const Ipv4& address) {
    attributes.push_back(Attribute::ipaddr(type, address));
  }
  /// Appends a Vendor-Specific attribute with one sub-attribute.
  [[nodiscard]] Result<void> add_vendor(std::uint32_t vendor_id, std::uint32_t type,
                                        std::span<const std::uint8_t> value,
                                        VendorFormat format = {});

  /// A reply to this request: same identifier, this packet's authenticator (the Request
  /// Authenticator a Response Authenticator is computed over), and every Proxy-State copied
  /// in order, as RFC 2865 5.33 requires.
  [[nodiscard]] Packet make_response(Code response_code) const;

  Code code = Code::kAccessRequest;
  std::uint8_t identifier = 0;
  Authenticator authenticator{};
  std::vector<Attribute> attributes;
};

/// The Broadband Forum access-line attributes (vendor 3561, RFC 4679 / TR-101): what a BNG
/// learns from the access node (DHCP option 82, PPPoE intermediate agent) and sends on.
struct AccessLine {
  std::optional<std::string> circuit_id;                     ///< Agent-Circuit-Id (1)
  std::optional<std::string> remote_id;                      ///< Agent-Remote-Id (2)
  std::optional<std::uint32_t> actual_rate_up;               ///< 129, kbit/s
  std::optional<std::uint32_t> actual_rate_down;             ///< 130
  std::optional<std::uint32_t> minimum_rate_up;              ///< 131
  std::optional<std::uint32_t> minimum_rate_down;            ///< 132
  std::optional<std::uint32_t> attainable_rate_up;           ///< 133
  std::optional<std::uint32_t> attainable_rate_down;         ///< 134
  std::optional<std::uint32_t> maximum_rate_up;              ///< 135
  std::optional<std::uint32_t> maximum_rate_down;            ///< 136
  std::optional<std::uint32_t> minimum_rate_up_low_power;    ///< 137
  std::optional<std::uint32_t> minimum_rate_down_low_power;  ///< 138
  std::optional<std::uint32_t> maximum_delay_up;             ///< 139, ms
  std::optional<std::uint32_t> actual_delay_up;              ///< 140
  std::optional<std::uint32_t> maximum_delay_down;           ///< 141
  std::optional<std::uint32_t> actual_delay_down;            ///< 142
  /// Access-Loop-Encapsulation (144): data link, encapsulation 1, encapsulation 2.
  std::optional<std::array<std::uint8_t, 3>> encapsulation;

  friend bool operator==(const AccessLine&, const AccessLine&) = default;
};

/// Reads the access-line attributes from a packet's vendor 3561 VSAs. Malformed ones (a rate
/// that is not 4 octets) are left out rather than guessed at.
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT AccessLine read_access_line(const Packet& packet);

/// Appends the set fields as one Vendor-Specific attribute each, in RFC 4679 order. Fails when
/// an identifier is empty or longer than 247 octets (nothing is appended then).
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT Result<void> add_access_line(Packet& packet,
                                                                   const AccessLine& line);

}  // namespace bngkit::bng::radius
