// DHCPv4 message (RFC 2131 / RFC 2132): a value type with the fixed BOOTP header and the
// option instances in wire order, parsed with a bounded TLV walk and serialized back byte for
// byte. Handles pad/end, option overload (52) and RFC 3396 long options.
#pragma once

#include <array>
#include <bngkit/bng/dhcp/ipv4.hpp>
#include <bngkit/bng/dhcp/option_codec.hpp>
#include <bngkit/bng/dhcp/option_defs.hpp>
#include <bngkit/bng/dhcp/relay_agent_info.hpp>
#include <bngkit/bng_codec/export.hpp>
#include <bngkit/common/result.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace bngkit::bng::dhcp {

/// BOOTP op codes.
inline constexpr std::uint8_t kBootRequest = 1;
inline constexpr std::uint8_t kBootReply = 2;
/// Size of the fixed header before the magic cookie.
inline constexpr std::size_t kHeaderSize = 236;
/// Header plus magic cookie: the smallest possible DHCP message.
inline constexpr std::size_t kMinMessageSize = 240;
/// RFC 1542: BOOTP messages are at least 300 octets; clients and servers pad to it.
inline constexpr std::size_t kBootpMinSize = 300;
/// RFC 2131: every client accepts a 576-octet IP datagram, i.e. a 548-octet DHCP message.
inline constexpr std::size_t kDefaultMaxMessageSize = 548;
inline constexpr std::array<std::uint8_t, 4> kMagicCookie{99, 130, 83, 99};
inline constexpr std::size_t kSnameSize = 64;
inline constexpr std::size_t kFileSize = 128;
/// The broadcast bit of `flags` (RFC 2131 figure 2).
inline constexpr std::uint16_t kBroadcastFlag = 0x8000;

/// DHCP message types (option 53), RFC 2132, RFC 3203, RFC 4388, RFC 6926, RFC 7724.
enum class MessageType : std::uint8_t {
  discover = 1,
  offer = 2,
  request = 3,
  decline = 4,
  ack = 5,
  nak = 6,
  release = 7,
  inform = 8,
  force_renew = 9,
  lease_query = 10,
  lease_unassigned = 11,
  lease_unknown = 12,
  lease_active = 13,
  bulk_lease_query = 14,
  lease_query_done = 15,
  active_lease_query = 16,
  lease_query_status = 17,
  tls = 18,
};

/// "DHCPDISCOVER", ...; "DHCP-TYPE-<n>" for unknown values.
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT std::string to_string(MessageType type);

/// Which part of the message an option instance sits in (option overload, RFC 2132 9.3).
enum class OptionArea : std::uint8_t { options, file, sname };

/// One option instance as it is on the wire: at most 255 octets of data. Code 0 is one Pad
/// octet (kept so that parse -> serialize reproduces the input). RFC 3396 splits long values
/// into several instances; Message::option() concatenates them back.
struct Option {
  std::uint8_t code = 0;
  std::vector<std::uint8_t> data;
  OptionArea area = OptionArea::options;
  bool operator==(const Option&) const = default;
};

/// How much parse() checks beyond framing.
enum class Validation : std::uint8_t {
  strict,   ///< framing plus every standard option against the table (validate())
  framing,  ///< header, cookie, TLV framing and overload only; typed accessors return
            ///< std::nullopt for values of the wrong shape
};

/// A DHCPv4 message. Plain value: fields are public; parse() and serialize() are exact inverses
/// for every message without garbage after the End option of the file/sname fields.
struct BNGKIT_BNG_CODEC_EXPORT Message {
  std::uint8_t op = kBootRequest;
  std::uint8_t htype = 1;  ///< ARP hardware type; 1 = Ethernet
  std::uint8_t hlen = 6;
  std::uint8_t hops = 0;
  std::uint32_t xid = 0;
  std::uint16_t secs = 0;
  std::uint16_t flags = 0;
  Ipv4 ciaddr;
  Ipv4 yiaddr;
  Ipv4 siaddr;
  Ipv4 giaddr;
  std::array<std::uint8_t, 16> chaddr{};
  /// Raw field. When option 52 overloads it, it holds options instead: parse() leaves it
  /// zero and serialize() fills it from the options with area sname.
  std::array<std::uint8_t, kSnameSize> sname{};
  /// Raw field; as sname, for option 52 value 1 or 3.
  std::array<std::uint8_t, kFileSize> file{};
  /// Every option instance in wire order: the options field first, then file, then sname
  /// (the order RFC 2131 interprets them in). Unknown options are kept verbatim.
  std::vector<Option> options;
  /// serialize() appends zero octets after the End option until the message is this long
  /// (parse() sets the received length when it saw only zeros after End; builders use 300).
  std::size_t pad_to = 0;
  /// Non-zero octets found after the End option of the options field, kept verbatim.
  std::vector<std::uint8_t> trailer;

  /// Parses a DHCP message (the UDP payload). Never throws and never reads outside `bytes`;
  /// errors say what is wrong and where ("option 82 length 40 runs past end of packet at
  /// offset 290").
  [[nodiscard]] static Result<Message> parse(std::span<const std::uint8_t> bytes,
                                             Validation validation = Validation::strict);

  /// The wire form. Fails when an instance holds more than 255 octets, an option sits in a
  /// file/sname field that option 52 does not overload, or overloaded options do not fit.
  [[nodiscard]] Result<std::vector<std::uint8_t>> serialize() const;
  /// As serialize(), into `out` (cleared first), so a caller can reuse its buffer.
  [[nodiscard]] Result<void> serialize_into(std::vector<std::uint8_t>& out) const;
  /// Octets serialize() would produce (without checking that it can).
  [[nodiscard]] std::size_t wire_size() const noexcept;

  /// Checks every standard option (concatenated) against the option table, the header
  /// (op, hlen) and overload placement. parse() runs it under Validation::strict.
  [[nodiscard]] Result<void> validate() const;

  // ---- Generic option access (RFC 3396: instances of one code are concatenated). ----

  /// Whether any instance of `code` is present.
  [[nodiscard]] bool has_option(std::uint8_t code) const noexcept;
  /// The concatenated value of all instances of `code`, or std::nullopt when absent.
  [[nodiscard]] std::optional<std::vector<std::uint8_t>> option(std::uint8_t code) const;
  /// Replaces every instance of `code` with `data`, split into 255-octet instances, placed
  /// where the first old instance was (or appended to the options field).
  void set_option(std::uint8_t code, std::span<const std::uint8_t> data);
  /// Appends `data` as new instance(s) of `code` to the options field (split at 255 octets).
  void add_option(std::uint8_t code, std::span<const std::uint8_t> data);
  /// Removes every instance of `code`; returns whether any was there.
  bool remove_option(std::uint8_t code);
  /// One entry per code in order of first appearance, values concatenated, pads dropped.
  [[nodiscard]] std::vector<Option> merged_options() const;

  // ---- Typed accessors: std::nullopt when absent or not of the option's shape. ----

  [[nodiscard]] std::optional<MessageType> message_type() const;
  [[nodiscard]] std::optional<Ipv4> requested_ip() const;
  [[nodiscard]] std::optional<Ipv4> server_id() const;
  [[nodiscard]] std::optional<Ipv4> subnet_mask() const;
  [[nodiscard]] std::optional<std::vector<Ipv4>> routers() const;
  [[nodiscard]] std::optional<std::vector<Ipv4>> dns_servers() const;
  [[nodiscard]] std::optional<std::uint32_t> lease_time() const;
  [[nodiscard]] std::optional<std::uint32_t> renewal_time() const;
  [[nodiscard]] std::optional<std::uint32_t> rebinding_time() const;
  /// Option 61 value: type octet followed by the identifier.
  [[nodiscard]] std::optional<std::vector<std::uint8_t>> client_id() const;
  /// Option 55: requested codes in the client's order of preference.
  [[nodiscard]] std::optional<std::vector<std::uint8_t>> parameter_request_list() const;
  /// Option 82 parsed into sub-options.
  [[nodiscard]] std::optional<RelayAgentInfo> relay_agent_info() const;
  /// Option 57 as sent (RFC 2132 says at least 576; builders clamp smaller values).
  [[nodiscard]] std::optional<std::uint16_t> max_message_size() const;
  [[nodiscard]] std::optional<std::string> hostname() const;
  [[nodiscard]] std::optional<std::string> vendor_class_id() const;
  [[nodiscard]] std::optional<std::string> domain_name() const;
  /// Option 56 text.
  [[nodiscard]] std::optional<std::string> message_text() const;
  /// Option 52: 1 = file, 2 = sname, 3 = both hold options.
  [[nodiscard]] std::optional<std::uint8_t> overload() const;

  // ---- Header helpers. ----

  /// chaddr[0 .. min(hlen, 16)).
  [[nodiscard]] std::span<const std::uint8_t> hardware_address() const noexcept;
  /// The first six octets of chaddr (meaningful for htype 1, hlen 6).
  [[nodiscard]] MacAddress client_mac() const noexcept;
  void set_client_mac(MacAddress mac) noexcept;
  [[nodiscard]] bool broadcast() const noexcept { return (flags & kBroadcastFlag) != 0; }
  /// sname / file up to the first NUL (empty when overloaded).
  [[nodiscard]] std::string sname_text() const;
  [[nodiscard]] std::string file_text() const;

  /// One line for logs: "DHCPREQUEST xid=0x3903f326 chaddr=... ciaddr=... [options]".
  [[nodiscard]] std::string to_string() const;

  bool operator==(const Message&) const = default;
};

}  // namespace bngkit::bng::dhcp
