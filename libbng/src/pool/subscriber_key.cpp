// SubscriberKey text form and stable hash.
#include <algorithm>
#include <bngkit/bng/pool/subscriber_key.hpp>

namespace bngkit::bng::pool {
namespace {

constexpr char kHex[] = "0123456789abcdef";

std::string to_hex(std::string_view bytes) {
  std::string s;
  s.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    s += kHex[c >> 4];
    s += kHex[c & 0xf];
  }
  return s;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> from_hex(std::string_view hex) {
  if (hex.empty() || hex.size() % 2 != 0) return std::nullopt;
  std::string out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int hi = hex_value(hex[i]);
    const int lo = hex_value(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>((hi << 4) | lo);
  }
  return out;
}

bool printable(std::string_view bytes) {
  return std::all_of(bytes.begin(), bytes.end(),
                     [](unsigned char c) { return c >= 0x20 && c < 0x7f; });
}

}  // namespace

std::string_view to_string(SubscriberKeyKind kind) noexcept {
  switch (kind) {
    case SubscriberKeyKind::mac:
      return "mac";
    case SubscriberKeyKind::client_id:
      return "client-id";
    case SubscriberKeyKind::circuit_id:
      return "circuit-id";
    case SubscriberKeyKind::remote_id:
      return "remote-id";
  }
  return "unknown";
}

SubscriberKey SubscriberKey::mac(const MacAddress& mac) {
  return {SubscriberKeyKind::mac, std::string(mac.bytes().begin(), mac.bytes().end())};
}

SubscriberKey SubscriberKey::mac(const std::array<std::uint8_t, 6>& mac) {
  return SubscriberKey::mac(MacAddress(mac));
}

SubscriberKey SubscriberKey::client_id(std::span<const std::uint8_t> bytes) {
  return {SubscriberKeyKind::client_id, std::string(bytes.begin(), bytes.end())};
}

SubscriberKey SubscriberKey::circuit_id(std::string_view bytes) {
  return {SubscriberKeyKind::circuit_id, std::string(bytes)};
}

SubscriberKey SubscriberKey::remote_id(std::string_view bytes) {
  return {SubscriberKeyKind::remote_id, std::string(bytes)};
}

bool SubscriberKey::valid() const noexcept {
  switch (kind_) {
    case SubscriberKeyKind::mac:
      return bytes_.size() == 6;
    case SubscriberKeyKind::client_id:
    case SubscriberKeyKind::circuit_id:
    case SubscriberKeyKind::remote_id:
      return !bytes_.empty() && bytes_.size() <= 255;
  }
  return false;
}

std::string SubscriberKey::to_string() const {
  std::string s(pool::to_string(kind_));
  s += ':';
  switch (kind_) {
    case SubscriberKeyKind::mac:
      for (std::size_t i = 0; i < bytes_.size(); ++i) {
        if (i) s += ':';
        s += to_hex(std::string_view(bytes_).substr(i, 1));
      }
      break;
    case SubscriberKeyKind::client_id:
      s += to_hex(bytes_);
      break;
    case SubscriberKeyKind::circuit_id:
    case SubscriberKeyKind::remote_id:
      // Printable ids read best as text; "0x" introduces hex, so a printable id that
      // itself starts with "0x" is written as hex too, keeping parse() unambiguous.
      if (printable(bytes_) && !bytes_.starts_with("0x")) {
        s += bytes_;
      } else {
        s += "0x" + to_hex(bytes_);
      }
      break;
  }
  return s;
}

std::optional<SubscriberKey> SubscriberKey::parse(std::string_view text) {
  const auto colon = text.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  const auto kind_text = text.substr(0, colon);
  const auto value = text.substr(colon + 1);
  std::optional<SubscriberKey> key;
  if (kind_text == "mac") {
    auto mac = MacAddress::parse(value);  // "00:11:22:33:44:55" or '-' separated
    if (!mac) return std::nullopt;
    key = SubscriberKey::mac(*mac);
  } else if (kind_text == "client-id") {
    auto bytes = from_hex(value);
    if (!bytes) return std::nullopt;
    key = SubscriberKey(SubscriberKeyKind::client_id, std::move(*bytes));
  } else if (kind_text == "circuit-id" || kind_text == "remote-id") {
    const auto kind =
        kind_text == "circuit-id" ? SubscriberKeyKind::circuit_id : SubscriberKeyKind::remote_id;
    if (value.starts_with("0x")) {
      auto bytes = from_hex(value.substr(2));
      if (!bytes) return std::nullopt;
      key = SubscriberKey(kind, std::move(*bytes));
    } else {
      key = SubscriberKey(kind, std::string(value));
    }
  }
  if (!key || !key->valid()) return std::nullopt;
  return key;
}

std::uint64_t SubscriberKey::stable_hash() const noexcept {
  std::uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a 64 offset basis
  auto mix = [&h](unsigned char c) {
    h ^= c;
    h *= 0x100000001b3ull;  // FNV-1a 64 prime
  };
  mix(static_cast<unsigned char>(kind_));
  for (unsigned char c : bytes_) mix(c);
  // FNV's low bits mix poorly for short keys; finish with a 64-bit avalanche (splitmix64).
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  h ^= h >> 31;
  return h;
}

}  // namespace bngkit::bng::pool
