// SubscriberKey: who an address belongs to — a MAC, a DHCP client identifier (option 61) or
// relay agent information (option 82 circuit-id / remote-id), as raw bytes plus their kind.
#pragma once

#include <array>
#include <bngkit/bng/dhcp/ipv4.hpp>
#include <bngkit/bng/export.hpp>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace bngkit::bng::pool {

/// What identifies a subscriber. The numeric values are persisted: never renumber.
enum class SubscriberKeyKind : std::uint8_t {
  mac = 1,         ///< client hardware address (chaddr), 6 octets
  client_id = 2,   ///< DHCP option 61, as received (type octet included)
  circuit_id = 3,  ///< option 82 sub-option 1 (agent circuit id)
  remote_id = 4,   ///< option 82 sub-option 2 (agent remote id)
};

/// The text prefix of a kind: "mac", "client-id", "circuit-id", "remote-id".
[[nodiscard]] BNGKIT_BNG_EXPORT std::string_view to_string(SubscriberKeyKind kind) noexcept;

/// A subscriber identity: a kind plus the identifier's raw bytes. Ordered, hashable.
class BNGKIT_BNG_EXPORT SubscriberKey {
 public:
  SubscriberKey() = default;
  /// Raw bytes of the identifier; for `mac` they must be 6 octets (see `valid()`).
  SubscriberKey(SubscriberKeyKind kind, std::string bytes)
      : kind_(kind), bytes_(std::move(bytes)) {}

  [[nodiscard]] static SubscriberKey mac(const MacAddress& mac);
  /// From the first six octets of chaddr.
  [[nodiscard]] static SubscriberKey mac(const std::array<std::uint8_t, 6>& mac);
  [[nodiscard]] static SubscriberKey client_id(std::span<const std::uint8_t> bytes);
  [[nodiscard]] static SubscriberKey circuit_id(std::string_view bytes);
  [[nodiscard]] static SubscriberKey remote_id(std::string_view bytes);

  /// Parses the text form written by `to_string()`: "mac:00:11:22:33:44:55",
  /// "client-id:01001122334455" (hex), "circuit-id:olt1/1/1" or "circuit-id:0x<hex>",
  /// "remote-id:..." likewise. nullopt when malformed.
  [[nodiscard]] static std::optional<SubscriberKey> parse(std::string_view text);

  [[nodiscard]] SubscriberKeyKind kind() const noexcept { return kind_; }
  /// The identifier's raw bytes.
  [[nodiscard]] const std::string& bytes() const noexcept { return bytes_; }
  /// A MAC key holds 6 octets; every other kind holds 1 to 255 octets.
  [[nodiscard]] bool valid() const noexcept;

  /// Text form for logs, configuration and the Nexus `subscriber_id`; parse() reads it back.
  /// Circuit/remote ids are printed as text when printable, otherwise as "0x" + hex.
  [[nodiscard]] std::string to_string() const;

  /// A stable 64-bit hash (FNV-1a over kind and bytes), the same on every build and run.
  [[nodiscard]] std::uint64_t stable_hash() const noexcept;

  friend auto operator<=>(const SubscriberKey&, const SubscriberKey&) = default;
  friend bool operator==(const SubscriberKey&, const SubscriberKey&) = default;

 private:
  SubscriberKeyKind kind_ = SubscriberKeyKind::mac;
  std::string bytes_;
};

}  // namespace bngkit::bng::pool

template <>
struct std::hash<bngkit::bng::pool::SubscriberKey> {
  std::size_t operator()(const bngkit::bng::pool::SubscriberKey& k) const noexcept {
    return static_cast<std::size_t>(k.stable_hash());
  }
};
