// Ethernet/VLAN/IPv4/UDP build and parse with checksums (RFC 791, RFC 768, RFC 1071).
#include <bngkit/bng/dhcp/frame.hpp>
#include <cstdio>
#include <string>

namespace bngkit::bng::dhcp {
namespace {

constexpr std::size_t kEthHeader = 14;
constexpr std::size_t kVlanHeader = 4;
constexpr std::size_t kIpHeader = 20;
constexpr std::size_t kUdpHeader = 8;

Error malformed(std::string what) { return make_error(std::errc::bad_message, std::move(what)); }

std::string num(std::size_t v) { return std::to_string(v); }

std::string hex16(std::uint16_t v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%04x", v);
  return buf;
}

std::uint16_t load16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}
void put16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}

bool is_vlan_tpid(std::uint16_t type) {
  return type == kEtherTypeVlan || type == kEtherTypeQinQ || type == kEtherTypeQinQ9100;
}

std::uint16_t fold(std::uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(sum);
}

std::uint32_t pseudo_header_sum(Ipv4 src, Ipv4 dst, std::size_t udp_len) {
  std::uint32_t sum = checksum_partial(src.bytes());
  sum = checksum_partial(dst.bytes(), sum);
  sum += 17;  // zero octet + protocol UDP
  sum += static_cast<std::uint32_t>(udp_len);
  return sum;
}

}  // namespace

std::uint32_t checksum_partial(std::span<const std::uint8_t> data, std::uint32_t initial) noexcept {
  std::uint64_t sum = initial;
  std::size_t i = 0;
  for (; i + 1 < data.size(); i += 2)
    sum += static_cast<std::uint32_t>((data[i] << 8) | data[i + 1]);
  if (i < data.size()) sum += static_cast<std::uint32_t>(data[i] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint32_t>(sum);
}

std::uint16_t ipv4_header_checksum(std::span<const std::uint8_t> header) noexcept {
  return static_cast<std::uint16_t>(~fold(checksum_partial(header)));
}

std::uint16_t udp_checksum(Ipv4 src, Ipv4 dst, std::span<const std::uint8_t> segment) noexcept {
  const std::uint32_t sum = checksum_partial(segment, pseudo_header_sum(src, dst, segment.size()));
  const auto c = static_cast<std::uint16_t>(~fold(sum));
  return c == 0 ? 0xffff : c;
}

Result<std::vector<std::uint8_t>> build_udp_frame(const UdpFrame& h,
                                                  std::span<const std::uint8_t> payload) {
  if (h.vlans.size() > kMaxVlanTags) {
    return make_error(std::errc::invalid_argument,
                      num(h.vlans.size()) + " VLAN tags; at most 2 (QinQ) are supported");
  }
  const std::size_t udp_len = kUdpHeader + payload.size();
  const std::size_t ip_len = kIpHeader + udp_len;
  if (ip_len > 0xffff) {
    return make_error(std::errc::message_size,
                      "payload of " + num(payload.size()) + " octets does not fit one IPv4 packet");
  }
  const std::size_t l2 = kEthHeader + kVlanHeader * h.vlans.size();
  std::vector<std::uint8_t> f(l2 + ip_len, 0);
  std::uint8_t* p = f.data();
  std::copy(h.dst_mac.bytes().begin(), h.dst_mac.bytes().end(), p);
  std::copy(h.src_mac.bytes().begin(), h.src_mac.bytes().end(), p + 6);
  std::size_t pos = 12;
  for (const VlanTag& tag : h.vlans) {
    if (tag.vid > 0xfff || tag.pcp > 7) {
      return make_error(std::errc::invalid_argument,
                        "VLAN tag vid " + num(tag.vid) + " pcp " + num(tag.pcp) + " out of range");
    }
    put16(p + pos, tag.tpid);
    put16(p + pos + 2,
          static_cast<std::uint16_t>((tag.pcp << 13) | (tag.dei ? 0x1000 : 0) | tag.vid));
    pos += kVlanHeader;
  }
  put16(p + pos, kEtherTypeIpv4);
  pos += 2;

  std::uint8_t* ip = p + pos;
  ip[0] = 0x45;
  ip[1] = h.tos;
  put16(ip + 2, static_cast<std::uint16_t>(ip_len));
  put16(ip + 4, h.ip_id);
  put16(ip + 6, h.dont_fragment ? 0x4000 : 0);
  ip[8] = h.ttl;
  ip[9] = 17;
  std::copy(h.src_ip.bytes().begin(), h.src_ip.bytes().end(), ip + 12);
  std::copy(h.dst_ip.bytes().begin(), h.dst_ip.bytes().end(), ip + 16);
  put16(ip + 10, ipv4_header_checksum({ip, kIpHeader}));

  std::uint8_t* udp = ip + kIpHeader;
  put16(udp, h.src_port);
  put16(udp + 2, h.dst_port);
  put16(udp + 4, static_cast<std::uint16_t>(udp_len));
  std::copy(payload.begin(), payload.end(), udp + kUdpHeader);
  put16(udp + 6, udp_checksum(h.src_ip, h.dst_ip, {udp, udp_len}));
  return f;
}

Result<std::vector<std::uint8_t>> build_dhcp_frame(const UdpFrame& headers,
                                                   const Message& message) {
  auto payload = message.serialize();
  if (!payload) return std::move(payload).error();
  return build_udp_frame(headers, *payload);
}

Result<ParsedUdpFrame> parse_udp_frame(std::span<const std::uint8_t> f, FrameChecks checks) {
  ParsedUdpFrame out;
  if (f.size() < kEthHeader) {
    return malformed("frame of " + num(f.size()) + " octets is shorter than an Ethernet header");
  }
  out.headers.dst_mac = MacAddress::from_bytes(f.subspan(0, 6));
  out.headers.src_mac = MacAddress::from_bytes(f.subspan(6, 6));
  std::size_t pos = 12;
  std::uint16_t type = load16(&f[pos]);
  while (is_vlan_tpid(type)) {
    if (out.headers.vlans.size() == kMaxVlanTags) {
      return malformed("more than 2 VLAN tags at offset " + num(pos));
    }
    if (pos + kVlanHeader + 2 > f.size()) {
      return malformed("VLAN tag at offset " + num(pos) + " is truncated");
    }
    const std::uint16_t tci = load16(&f[pos + 2]);
    out.headers.vlans.push_back({type, static_cast<std::uint16_t>(tci & 0xfff),
                                 static_cast<std::uint8_t>(tci >> 13), (tci & 0x1000) != 0});
    pos += kVlanHeader;
    type = load16(&f[pos]);
  }
  if (type != kEtherTypeIpv4) {
    return malformed("ethertype " + hex16(type) + " at offset " + num(pos) + " is not IPv4");
  }
  pos += 2;
  out.ip_offset = pos;
  if (pos + kIpHeader > f.size()) {
    return malformed("IPv4 header at offset " + num(pos) + " is truncated");
  }
  const std::uint8_t* ip = &f[pos];
  if ((ip[0] >> 4) != 4) return malformed("IP version " + num(ip[0] >> 4) + ", expected 4");
  const std::size_t ihl = (ip[0] & 0xfu) * 4u;
  if (ihl < kIpHeader) return malformed("IPv4 header length " + num(ihl) + " below 20");
  const std::size_t total = load16(ip + 2);
  if (total < ihl + kUdpHeader) {
    return malformed("IPv4 total length " + num(total) + " too small for headers");
  }
  if (pos + total > f.size()) {
    return malformed("IPv4 total length " + num(total) + " runs past end of frame (" +
                     num(f.size() - pos) + " octets after Ethernet header)");
  }
  const std::uint16_t frag = load16(ip + 6);
  if ((frag & 0x3fff) != 0) return malformed("IPv4 fragment (flags/offset " + hex16(frag) + ")");
  if (ip[9] != 17) return malformed("IPv4 protocol " + num(ip[9]) + " is not UDP");
  if (checks.ip_checksum && fold(checksum_partial({ip, ihl})) != 0xffff) {
    std::vector<std::uint8_t> copy(ip, ip + ihl);
    copy[10] = copy[11] = 0;
    return malformed("IPv4 header checksum " + hex16(load16(ip + 10)) + " is wrong, expected " +
                     hex16(ipv4_header_checksum(copy)));
  }
  out.headers.tos = ip[1];
  out.headers.ip_id = load16(ip + 4);
  out.headers.dont_fragment = (frag & 0x4000) != 0;
  out.headers.ttl = ip[8];
  out.headers.src_ip = Ipv4::from_bytes(f.subspan(pos + 12, 4));
  out.headers.dst_ip = Ipv4::from_bytes(f.subspan(pos + 16, 4));

  const std::size_t udp_pos = pos + ihl;
  out.udp_offset = udp_pos;
  const std::uint8_t* udp = &f[udp_pos];
  const std::size_t udp_len = load16(udp + 4);
  if (udp_len < kUdpHeader || udp_len > total - ihl) {
    return malformed("UDP length " + num(udp_len) + " does not match IPv4 payload of " +
                     num(total - ihl) + " octets");
  }
  out.headers.src_port = load16(udp);
  out.headers.dst_port = load16(udp + 2);
  const std::uint16_t sent = load16(udp + 6);
  out.udp_checksum_present = sent != 0;
  if (checks.udp_checksum && sent != 0) {
    const auto segment = f.subspan(udp_pos, udp_len);
    const std::uint32_t sum = checksum_partial(
        segment, pseudo_header_sum(out.headers.src_ip, out.headers.dst_ip, udp_len));
    if (fold(sum) != 0xffff) {
      std::vector<std::uint8_t> copy(segment.begin(), segment.end());
      copy[6] = copy[7] = 0;
      return malformed("UDP checksum " + hex16(sent) + " is wrong, expected " +
                       hex16(udp_checksum(out.headers.src_ip, out.headers.dst_ip, copy)));
    }
  }
  out.payload = f.subspan(udp_pos + kUdpHeader, udp_len - kUdpHeader);
  return out;
}

UdpFrame reply_frame_headers(const UdpFrame& request_frame, const Message& request,
                             const Message& reply, MacAddress server_mac, Ipv4 server_ip) {
  UdpFrame h;
  h.vlans = request_frame.vlans;
  h.src_mac = server_mac;
  h.src_ip = server_ip;
  h.src_port = kDhcpServerPort;
  h.dst_port = kDhcpClientPort;
  const bool nak = reply.message_type() == MessageType::nak;
  if (!request.giaddr.is_unspecified()) {
    h.dst_mac = request_frame.src_mac;
    h.dst_ip = request.giaddr;
    h.dst_port = kDhcpServerPort;
  } else if (!nak && !request.ciaddr.is_unspecified()) {
    h.dst_mac = request_frame.src_mac;
    h.dst_ip = request.ciaddr;
  } else if (nak || request.broadcast() || reply.yiaddr.is_unspecified()) {
    h.dst_mac = MacAddress::broadcast();
    h.dst_ip = Ipv4(255, 255, 255, 255);
  } else {
    h.dst_mac = request.client_mac();
    h.dst_ip = reply.yiaddr;
  }
  return h;
}

}  // namespace bngkit::bng::dhcp
