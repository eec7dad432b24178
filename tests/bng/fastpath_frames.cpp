// Test-side helpers for the fast path tests: hex conversion, diffs and the reply checker.
#include "fastpath_frames.hpp"

#include <sstream>

namespace fpt {

Bytes from_hex(std::string_view hex) {
  Bytes out;
  auto nib = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  int hi = -1;
  for (char c : hex) {
    const int v = nib(c);
    if (v < 0) continue;  // spaces and separators
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<std::uint8_t>(hi * 16 + v));
      hi = -1;
    }
  }
  return out;
}

std::string to_hex(const Bytes& b) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (std::uint8_t x : b) {
    s.push_back(d[x >> 4]);
    s.push_back(d[x & 15]);
  }
  return s;
}

std::string diff(const Bytes& got, const Bytes& want) {
  std::ostringstream o;
  std::size_t first = 0;
  while (first < got.size() && first < want.size() && got[first] == want[first]) ++first;
  o << "got " << got.size() << " bytes, want " << want.size() << "; first difference at " << first
    << "\n";
  auto dump = [&](const char* name, const Bytes& b) {
    o << name << ":\n";
    for (std::size_t i = 0; i < b.size(); i += 16) {
      char line[32];
      std::snprintf(line, sizeof(line), "%04zx ", i);
      o << line;
      for (std::size_t j = i; j < i + 16 && j < b.size(); ++j) {
        std::snprintf(line, sizeof(line), j == first ? "[%02x]" : " %02x", b[j]);
        o << line;
      }
      o << "\n";
    }
  };
  dump("got", got);
  dump("want", want);
  return o.str();
}

ReplyCheck check_reply(const Bytes& f) {
  ReplyCheck r;
  auto fail = [&](std::string why) {
    r.ok = false;
    r.why = std::move(why);
    return r;
  };
  if (f.size() < 14) return fail("shorter than Ethernet");
  std::size_t at = 12;
  std::uint16_t type = get16(f, at);
  int tags = 0;
  while ((type == 0x8100 || type == 0x88a8 || type == 0x9100) && tags < 2) {
    at += 4;
    if (f.size() < at + 2) return fail("truncated VLAN tag");
    type = get16(f, at);
    ++tags;
  }
  at += 2;
  if (type != 0x0800) return fail("not IPv4");
  const std::size_t ip = at;
  if (f.size() < ip + 20) return fail("truncated IPv4 header");
  if (f[ip] != 0x45) return fail("IPv4 version/IHL not 0x45");
  const std::size_t tot = get16(f, ip + 2);
  if (ip + tot != f.size()) return fail("IPv4 total length does not match the frame");
  if (fold(sum16(&f[ip], 20)) != 0) return fail("bad IPv4 header checksum");
  if (f[ip + 9] != 17) return fail("not UDP");
  const std::size_t udp = ip + 20;
  if (tot < 28) return fail("no UDP header");
  const std::size_t ulen = get16(f, udp + 4);
  if (ulen != tot - 20) return fail("UDP length does not match IPv4 length");
  if (get16(f, udp) != 67) return fail("UDP source port not 67");
  const std::uint16_t dport = get16(f, udp + 2);
  if (dport != 67 && dport != 68) return fail("UDP destination port not 67/68");
  if (get16(f, udp + 6) == 0) return fail("UDP checksum missing");
  Bytes pseudo;
  put32(pseudo, get32(f, ip + 12));
  put32(pseudo, get32(f, ip + 16));
  put16(pseudo, 17);
  put16(pseudo, static_cast<std::uint16_t>(ulen));
  if (fold(sum16(&f[udp], ulen, sum16(pseudo.data(), pseudo.size()))) != 0) {
    return fail("bad UDP checksum");
  }
  const std::size_t d = udp + 8;
  const std::size_t dlen = ulen - 8;
  if (dlen < 300) return fail("BOOTP message shorter than 300 octets");
  if (f[d] != 2 || f[d + 1] != 1 || f[d + 2] != 6) return fail("BOOTP op/htype/hlen");
  if (get32(f, d + 236) != 0x63825363) return fail("bad magic cookie");
  std::size_t o = d + 240;
  const std::size_t end = d + dlen;
  bool seen_end = false;
  while (o < end) {
    const std::uint8_t code = f[o];
    if (code == 0) {
      ++o;
      continue;
    }
    if (code == 255) {
      seen_end = true;
      break;
    }
    if (o + 2 > end || o + 2 + f[o + 1] > end) return fail("option runs past the message");
    if (code == 53) {
      if (f[o + 1] != 1) return fail("option 53 length");
      r.msg_type = f[o + 2];
    }
    o += 2 + f[o + 1];
  }
  if (!seen_end) return fail("no END option");
  for (std::size_t i = o + 1; i < end; ++i) {
    if (f[i] != 0) return fail("non-zero byte after END");
  }
  if (r.msg_type != 2 && r.msg_type != 5) return fail("message type not OFFER/ACK");
  r.yiaddr = get32(f, d + 16);
  r.ok = true;
  return r;
}

}  // namespace fpt
