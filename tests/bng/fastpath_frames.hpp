// Test-side frame builder and checker for the XDP DHCP fast path tests: builds DHCP request
// frames and the expected reply frames field by field (RFC 951/2131 layouts, RFC 1071
// checksums), independent of the code under test, and checks that any frame the program
// transmits is a well-formed DHCP reply.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fpt {

using Bytes = std::vector<std::uint8_t>;
using Mac = std::array<std::uint8_t, 6>;

constexpr std::uint32_t ip4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
  return (std::uint32_t{a} << 24) | (std::uint32_t{b} << 16) | (std::uint32_t{c} << 8) | d;
}

inline void put8(Bytes& b, std::uint8_t v) { b.push_back(v); }
inline void put16(Bytes& b, std::uint16_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 8));
  b.push_back(static_cast<std::uint8_t>(v));
}
inline void put32(Bytes& b, std::uint32_t v) {
  put16(b, static_cast<std::uint16_t>(v >> 16));
  put16(b, static_cast<std::uint16_t>(v));
}
inline void put(Bytes& b, const Bytes& v) { b.insert(b.end(), v.begin(), v.end()); }
inline void put(Bytes& b, const Mac& m) { b.insert(b.end(), m.begin(), m.end()); }
inline std::uint16_t get16(const Bytes& b, std::size_t at) {
  return static_cast<std::uint16_t>((b[at] << 8) | b[at + 1]);
}
inline std::uint32_t get32(const Bytes& b, std::size_t at) {
  return (std::uint32_t{get16(b, at)} << 16) | get16(b, at + 2);
}
inline void set16(Bytes& b, std::size_t at, std::uint16_t v) {
  b[at] = static_cast<std::uint8_t>(v >> 8);
  b[at + 1] = static_cast<std::uint8_t>(v);
}

/// RFC 1071 one's-complement sum over big-endian 16-bit words (odd tail padded with 0).
inline std::uint32_t sum16(const std::uint8_t* p, std::size_t n, std::uint32_t acc = 0) {
  for (std::size_t i = 0; i + 1 < n; i += 2)
    acc += static_cast<std::uint32_t>((p[i] << 8) | p[i + 1]);
  if (n % 2) acc += static_cast<std::uint32_t>(p[n - 1] << 8);
  return acc;
}
inline std::uint16_t fold(std::uint32_t acc) {
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  return static_cast<std::uint16_t>(~acc & 0xffff);
}

Bytes from_hex(std::string_view hex);
std::string to_hex(const Bytes& b);
/// Multi-line hex dump marking the first difference, for failure messages.
std::string diff(const Bytes& got, const Bytes& want);

/// One VLAN tag: TPID (0x8100, 0x88a8, 0x9100) and VID.
struct Tag {
  std::uint16_t tpid = 0x8100;
  std::uint16_t vid = 0;
  std::uint8_t pcp = 0;
};

struct L2 {
  Mac dst{};
  Mac src{};
  std::vector<Tag> tags;  ///< outermost first
};

struct Ip4Udp {
  std::uint32_t src = 0;
  std::uint32_t dst = 0;
  std::uint16_t sport = 68;
  std::uint16_t dport = 67;
  std::uint8_t ttl = 64;
  std::uint16_t id = 0;
  std::uint16_t frag = 0;    ///< flags + fragment offset field
  bool udp_checksum = true;  ///< false: send 0 (no checksum)
  Bytes ip_options;          ///< appended to the IPv4 header (multiple of 4)
};

/// IPv4/UDP addressing with defaults for the rest.
inline Ip4Udp udp4(std::uint32_t src, std::uint32_t dst, std::uint16_t sport, std::uint16_t dport) {
  Ip4Udp u;
  u.src = src;
  u.dst = dst;
  u.sport = sport;
  u.dport = dport;
  return u;
}

/// A BOOTP/DHCP message.
struct Bootp {
  std::uint8_t op = 1;
  std::uint8_t htype = 1;
  std::uint8_t hlen = 6;
  std::uint8_t hops = 0;
  std::uint32_t xid = 0xdeadbeef;
  std::uint16_t secs = 0;
  std::uint16_t flags = 0;
  std::uint32_t ciaddr = 0;
  std::uint32_t yiaddr = 0;
  std::uint32_t siaddr = 0;
  std::uint32_t giaddr = 0;
  Mac chaddr{};
  Bytes options;              ///< everything after the magic cookie, END included
  std::size_t min_len = 300;  ///< zero padding up to this length
  bool pad_to_4 = false;      ///< also pad to a multiple of 4
};

inline Bytes bootp_bytes(const Bootp& m) {
  Bytes b;
  put8(b, m.op);
  put8(b, m.htype);
  put8(b, m.hlen);
  put8(b, m.hops);
  put32(b, m.xid);
  put16(b, m.secs);
  put16(b, m.flags);
  put32(b, m.ciaddr);
  put32(b, m.yiaddr);
  put32(b, m.siaddr);
  put32(b, m.giaddr);
  put(b, m.chaddr);
  b.resize(b.size() + 10 + 64 + 128, 0);  // chaddr padding, sname, file
  put32(b, 0x63825363);
  put(b, m.options);
  if (b.size() < m.min_len) b.resize(m.min_len, 0);
  if (m.pad_to_4) b.resize((b.size() + 3) / 4 * 4, 0);
  return b;
}

/// Ethernet (+ tags) + IPv4 + UDP + payload, with correct IPv4 and UDP checksums.
inline Bytes frame(const L2& l2, const Ip4Udp& u, const Bytes& payload) {
  Bytes f;
  put(f, l2.dst);
  put(f, l2.src);
  for (const Tag& t : l2.tags) {
    put16(f, t.tpid);
    put16(f, static_cast<std::uint16_t>((t.pcp << 13) | (t.vid & 0x0fff)));
  }
  put16(f, 0x0800);
  const std::size_t ip_at = f.size();
  const std::size_t ihl = 20 + u.ip_options.size();
  const std::size_t udp_len = 8 + payload.size();
  put8(f, static_cast<std::uint8_t>(0x40 | (ihl / 4)));
  put8(f, 0);
  put16(f, static_cast<std::uint16_t>(ihl + udp_len));
  put16(f, u.id);
  put16(f, u.frag);
  put8(f, u.ttl);
  put8(f, 17);
  put16(f, 0);
  put32(f, u.src);
  put32(f, u.dst);
  put(f, u.ip_options);
  set16(f, ip_at + 10, fold(sum16(&f[ip_at], ihl)));
  const std::size_t udp_at = f.size();
  put16(f, u.sport);
  put16(f, u.dport);
  put16(f, static_cast<std::uint16_t>(udp_len));
  put16(f, 0);
  put(f, payload);
  if (u.udp_checksum) {
    Bytes pseudo;
    put32(pseudo, u.src);
    put32(pseudo, u.dst);
    put16(pseudo, 17);
    put16(pseudo, static_cast<std::uint16_t>(udp_len));
    std::uint16_t c = fold(sum16(&f[udp_at], udp_len, sum16(pseudo.data(), pseudo.size())));
    set16(f, udp_at + 6, c == 0 ? 0xffff : c);
  }
  return f;
}

/// What a transmitted frame must look like to count as a well-formed DHCP reply.
struct ReplyCheck {
  bool ok = false;
  std::string why;
  std::uint8_t msg_type = 0;
  std::uint32_t yiaddr = 0;
};

/// Parses `f` as Ethernet/VLAN/IPv4/UDP/DHCP and checks every length, both checksums,
/// the BOOTP header and the option list (bounded, ends in END, has option 53).
ReplyCheck check_reply(const Bytes& f);

}  // namespace fpt
