// Byte codec and stable hash for replicated state: every key and value of a CLSet has one
// canonical byte form, used for the deterministic tie-break, digests, the store and the wire.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace bngkit::nexus {

/// Appends big-endian integers, LEB128 varints and length-prefixed byte strings to a buffer.
class ByteWriter {
 public:
  explicit ByteWriter(std::string& out) noexcept : out_(&out) {}

  void u8(std::uint8_t v) { out_->push_back(static_cast<char>(v)); }
  void u32(std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) u8(static_cast<std::uint8_t>(v >> shift));
  }
  void u64(std::uint64_t v) {
    for (int shift = 56; shift >= 0; shift -= 8) u8(static_cast<std::uint8_t>(v >> shift));
  }
  void varint(std::uint64_t v) {
    while (v >= 0x80) {
      u8(static_cast<std::uint8_t>(v | 0x80));
      v >>= 7;
    }
    u8(static_cast<std::uint8_t>(v));
  }
  /// Varint length, then the bytes.
  void bytes(std::string_view b) {
    varint(b.size());
    out_->append(b);
  }
  /// The bytes alone (the reader must know the length).
  void raw(std::string_view b) { out_->append(b); }

 private:
  std::string* out_;
};

/// Reads what ByteWriter wrote. Every read checks bounds and returns false on short or
/// malformed input; nothing here throws or allocates more than the input holds.
class ByteReader {
 public:
  explicit ByteReader(std::string_view in) noexcept : in_(in) {}

  [[nodiscard]] bool u8(std::uint8_t& v) noexcept {
    if (in_.empty()) return false;
    v = static_cast<std::uint8_t>(in_.front());
    in_.remove_prefix(1);
    return true;
  }
  [[nodiscard]] bool u32(std::uint32_t& v) noexcept {
    if (in_.size() < 4) return false;
    v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<std::uint8_t>(in_[i]);
    in_.remove_prefix(4);
    return true;
  }
  [[nodiscard]] bool u64(std::uint64_t& v) noexcept {
    if (in_.size() < 8) return false;
    v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<std::uint8_t>(in_[i]);
    in_.remove_prefix(8);
    return true;
  }
  [[nodiscard]] bool varint(std::uint64_t& v) noexcept {
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      std::uint8_t byte = 0;
      if (!u8(byte)) return false;
      if (shift == 63 && byte > 1) return false;  // would overflow 64 bits
      v |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) return true;
    }
    return false;
  }
  /// A varint-length-prefixed byte string, viewed in place.
  [[nodiscard]] bool bytes(std::string_view& b) noexcept {
    std::uint64_t n = 0;
    if (!varint(n) || n > in_.size()) return false;
    b = in_.substr(0, n);
    in_.remove_prefix(n);
    return true;
  }
  [[nodiscard]] bool raw(std::size_t n, std::string_view& b) noexcept {
    if (n > in_.size()) return false;
    b = in_.substr(0, n);
    in_.remove_prefix(n);
    return true;
  }
  /// A count of elements that follow, each at least `min_size` bytes long: rejects counts
  /// the remaining input cannot hold, so a hostile count cannot make us reserve memory.
  [[nodiscard]] bool count(std::uint64_t& n, std::size_t min_size = 1) noexcept {
    if (!varint(n)) return false;
    return min_size == 0 || n <= in_.size() / min_size;
  }
  [[nodiscard]] bool done() const noexcept { return in_.empty(); }
  [[nodiscard]] std::size_t remaining() const noexcept { return in_.size(); }

 private:
  std::string_view in_;
};

/// Canonical byte form of a type used as a CLSet key or value. Specialise with
///   static void encode(const T&, ByteWriter&);
///   static bool decode(ByteReader&, T&);   // false on malformed input
/// Two values that differ must encode differently (the tie-break compares encodings).
template <typename T, typename Enable = void>
struct Codec;

template <>
struct Codec<std::string> {
  static void encode(const std::string& v, ByteWriter& w) { w.bytes(v); }
  static bool decode(ByteReader& r, std::string& v) {
    std::string_view b;
    if (!r.bytes(b)) return false;
    v.assign(b);
    return true;
  }
};

template <typename T>
struct Codec<T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>>> {
  // Fixed width, big-endian, sign bit flipped: byte order equals numeric order.
  using U = std::make_unsigned_t<T>;
  static constexpr U kFlip = std::is_signed_v<T> ? (U{1} << (sizeof(T) * 8 - 1)) : U{0};
  static void encode(const T& v, ByteWriter& w) {
    const U u = static_cast<U>(v) ^ kFlip;
    for (int shift = static_cast<int>(sizeof(T) * 8) - 8; shift >= 0; shift -= 8)
      w.u8(static_cast<std::uint8_t>(u >> shift));
  }
  static bool decode(ByteReader& r, T& v) {
    U u = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) {
      std::uint8_t b = 0;
      if (!r.u8(b)) return false;
      u = static_cast<U>((u << 8) | b);
    }
    v = static_cast<T>(u ^ kFlip);
    return true;
  }
};

template <>
struct Codec<bool> {
  static void encode(const bool& v, ByteWriter& w) { w.u8(v ? 1 : 0); }
  static bool decode(ByteReader& r, bool& v) {
    std::uint8_t b = 0;
    if (!r.u8(b) || b > 1) return false;
    v = b == 1;
    return true;
  }
};

template <typename T>
struct Codec<std::vector<T>> {
  static void encode(const std::vector<T>& v, ByteWriter& w) {
    w.varint(v.size());
    for (const auto& e : v) Codec<T>::encode(e, w);
  }
  static bool decode(ByteReader& r, std::vector<T>& v) {
    std::uint64_t n = 0;
    if (!r.count(n)) return false;
    v.clear();
    v.reserve(n);
    for (std::uint64_t i = 0; i < n; ++i) {
      T e{};
      if (!Codec<T>::decode(r, e)) return false;
      v.push_back(std::move(e));
    }
    return true;
  }
};

template <typename K, typename V>
struct Codec<std::map<K, V>> {
  static void encode(const std::map<K, V>& m, ByteWriter& w) {
    w.varint(m.size());
    for (const auto& [k, v] : m) {
      Codec<K>::encode(k, w);
      Codec<V>::encode(v, w);
    }
  }
  static bool decode(ByteReader& r, std::map<K, V>& m) {
    std::uint64_t n = 0;
    if (!r.count(n, 2)) return false;
    m.clear();
    for (std::uint64_t i = 0; i < n; ++i) {
      K k{};
      V v{};
      if (!Codec<K>::decode(r, k) || !Codec<V>::decode(r, v)) return false;
      m.emplace(std::move(k), std::move(v));
    }
    return true;
  }
};

template <typename A, typename B>
struct Codec<std::pair<A, B>> {
  static void encode(const std::pair<A, B>& p, ByteWriter& w) {
    Codec<A>::encode(p.first, w);
    Codec<B>::encode(p.second, w);
  }
  static bool decode(ByteReader& r, std::pair<A, B>& p) {
    return Codec<A>::decode(r, p.first) && Codec<B>::decode(r, p.second);
  }
};

/// The canonical bytes of `v`.
template <typename T>
[[nodiscard]] std::string encode_bytes(const T& v) {
  std::string out;
  ByteWriter w(out);
  Codec<T>::encode(v, w);
  return out;
}

/// Decodes `bytes` completely into a T; false when malformed or when bytes are left over.
template <typename T>
[[nodiscard]] bool decode_bytes(std::string_view bytes, T& v) {
  ByteReader r(bytes);
  return Codec<T>::decode(r, v) && r.done();
}

/// splitmix64 finaliser: spreads every input bit over the whole word.
[[nodiscard]] constexpr std::uint64_t mix64(std::uint64_t x) noexcept {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

/// A 64-bit hash that is the same in every process, build and platform (FNV-1a, then
/// mix64). Not for hostile inputs: it places keys in digest buckets and picks candidate
/// addresses, where an attacker gains nothing by colliding.
[[nodiscard]] constexpr std::uint64_t stable_hash(std::string_view bytes,
                                                  std::uint64_t seed = 0) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL ^ mix64(seed);
  for (char c : bytes) {
    h ^= static_cast<std::uint8_t>(c);
    h *= 0x100000001b3ULL;
  }
  return mix64(h);
}

}  // namespace bngkit::nexus
