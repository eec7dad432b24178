// DHCP Relay Agent Information option (82, RFC 3046): sub-options kept verbatim in wire
// order, with accessors for the ones a BNG keys subscribers on (circuit-id, remote-id).
#pragma once

#include <bngkit/bng/dhcp/ipv4.hpp>
#include <bngkit/bng_codec/export.hpp>
#include <bngkit/common/result.hpp>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace bngkit::bng::dhcp {

/// Relay agent sub-option codes (IANA "DHCP Relay Agent Sub-Option Codes").
namespace rai {
inline constexpr std::uint8_t circuit_id = 1;           ///< RFC 3046
inline constexpr std::uint8_t remote_id = 2;            ///< RFC 3046
inline constexpr std::uint8_t docsis_device_class = 4;  ///< RFC 3256
inline constexpr std::uint8_t link_selection = 5;       ///< RFC 3527
inline constexpr std::uint8_t subscriber_id = 6;        ///< RFC 3993
inline constexpr std::uint8_t radius_attributes = 7;    ///< RFC 4014
inline constexpr std::uint8_t authentication = 8;       ///< RFC 4030
inline constexpr std::uint8_t vendor_specific = 9;      ///< RFC 4243
inline constexpr std::uint8_t relay_agent_flags = 10;   ///< RFC 5010
inline constexpr std::uint8_t server_id_override = 11;  ///< RFC 5107
inline constexpr std::uint8_t relay_id = 12;            ///< RFC 6925
inline constexpr std::uint8_t relay_source_port = 19;   ///< RFC 8357
}  // namespace rai

/// Name of a relay agent sub-option ("circuit-id"), or empty when unknown.
[[nodiscard]] BNGKIT_BNG_CODEC_EXPORT std::string_view sub_option_name(std::uint8_t code) noexcept;

/// One sub-option, value verbatim.
struct SubOption {
  std::uint8_t code = 0;
  std::vector<std::uint8_t> data;
  bool operator==(const SubOption&) const = default;
};

/// The value of option 82: a list of sub-options in wire order. Unknown sub-options are kept.
class BNGKIT_BNG_CODEC_EXPORT RelayAgentInfo {
 public:
  RelayAgentInfo() = default;
  explicit RelayAgentInfo(std::vector<SubOption> subs) : sub_options(std::move(subs)) {}

  /// Parses the (concatenated) value of option 82. Fails when a sub-option runs past the
  /// end or the value is shorter than one sub-option header.
  [[nodiscard]] static Result<RelayAgentInfo> parse(std::span<const std::uint8_t> value);
  /// The option 82 value (may exceed 255 octets; Message::set_option splits it, RFC 3396).
  /// Fails when one sub-option holds more than 255 octets.
  [[nodiscard]] Result<std::vector<std::uint8_t>> serialize() const;

  /// First sub-option with `code`, or nullptr.
  [[nodiscard]] const SubOption* find(std::uint8_t code) const noexcept;
  /// Replaces the first sub-option with `code` (removing later duplicates) or appends one.
  void set(std::uint8_t code, std::span<const std::uint8_t> data);
  /// Removes every sub-option with `code`; returns whether any was there.
  bool remove(std::uint8_t code);

  /// Agent Circuit ID (sub-option 1).
  [[nodiscard]] std::optional<std::span<const std::uint8_t>> circuit_id() const noexcept;
  /// Agent Remote ID (sub-option 2).
  [[nodiscard]] std::optional<std::span<const std::uint8_t>> remote_id() const noexcept;
  /// Link selection address (sub-option 5, RFC 3527), when it is 4 octets.
  [[nodiscard]] std::optional<Ipv4> link_selection() const noexcept;
  /// Server identifier override (sub-option 11, RFC 5107), when it is 4 octets.
  [[nodiscard]] std::optional<Ipv4> server_id_override() const noexcept;

  /// "circuit-id=\"eth0/1:100\" remote-id=00:11:22:33:44:55" for logs.
  [[nodiscard]] std::string to_string() const;

  bool operator==(const RelayAgentInfo&) const = default;

  std::vector<SubOption> sub_options;  ///< wire order, verbatim
};

}  // namespace bngkit::bng::dhcp
