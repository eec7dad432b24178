// AF_PACKET I/O with a classic BPF filter for UDP to port 67 (untagged, or with one tag
// left in the frame after the kernel took the outer one into metadata).
#include <bngkit/bng/slowpath/packet_socket.hpp>

#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace bngkit::bng::slowpath {

namespace {

// Receive buffer of the AF_PACKET socket (see open()).
constexpr int kReceiveBufferBytes = 8 << 20;

// "udp dst port 67" for IPv4 directly after the MAC header or after one VLAN tag; not
// fragments (a later fragment has no UDP header). Verified by the tests' tagged frames.
constexpr sock_filter kDhcpServerFilter[] = {
    /* 0 */ BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),
    /* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETHERTYPE_IP, 4, 0),        // -> 6 (offset 14)
    /* 2 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x8100, 1, 0),              // -> 4
    /* 3 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x88a8, 0, 17),             // else drop
    /* 4 */ BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 16),
    /* 5 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETHERTYPE_IP, 7, 15),       // -> 13 (offset 18)
    // Untagged: IPv4 at 14.
    /* 6 */ BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 14 + 9),
    /* 7 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_UDP, 0, 13),
    /* 8 */ BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 14 + 6),
    /* 9 */ BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x1fff, 11, 0),
    /*10 */ BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 14),
    /*11 */ BPF_STMT(BPF_LD | BPF_H | BPF_IND, 14 + 2),
    /*12 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 67, 7, 8),                  // accept / drop
    // One tag left: IPv4 at 18.
    /*13 */ BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 18 + 9),
    /*14 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_UDP, 0, 6),
    /*15 */ BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 18 + 6),
    /*16 */ BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x1fff, 4, 0),
    /*17 */ BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 18),
    /*18 */ BPF_STMT(BPF_LD | BPF_H | BPF_IND, 18 + 2),
    /*19 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 67, 0, 1),
    /*20 */ BPF_STMT(BPF_RET | BPF_K, 0x40000),  // accept (whole frame)
    /*21 */ BPF_STMT(BPF_RET | BPF_K, 0),        // drop
};

}  // namespace

Result<PacketSocket> PacketSocket::open(const std::string& interface) {
  PacketSocket s;
  s.interface_ = interface;
  s.ifindex_ = static_cast<int>(::if_nametoindex(interface.c_str()));
  if (s.ifindex_ == 0) return errno_error(errno, "subscriber interface \"" + interface + "\"");

  s.packet_.reset(::socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL)));
  if (!s.packet_) return errno_error(errno, "AF_PACKET socket (needs CAP_NET_RAW)");
  // Filter before bind so no unfiltered frame is queued in between.
  sock_fprog prog{static_cast<unsigned short>(std::size(kDhcpServerFilter)),
                  const_cast<sock_filter*>(kDhcpServerFilter)};
  if (::setsockopt(s.packet_.get(), SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) != 0) {
    return errno_error(errno, "attach DHCP socket filter");
  }
  // Room for the requests that arrive while the server waits for a lease commit (fsync):
  // a default-sized buffer holds ~150 frames, a few milliseconds of a busy access network.
  // FORCE (CAP_NET_ADMIN) goes past net.core.rmem_max; without it the plain option caps.
  int rcvbuf = kReceiveBufferBytes;
  if (::setsockopt(s.packet_.get(), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) != 0) {
    (void)::setsockopt(s.packet_.get(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  }
  int one = 1;
  if (::setsockopt(s.packet_.get(), SOL_PACKET, PACKET_AUXDATA, &one, sizeof one) != 0) {
    return errno_error(errno, "PACKET_AUXDATA");
  }
  sockaddr_ll addr{};
  addr.sll_family = AF_PACKET;
  addr.sll_protocol = htons(ETH_P_ALL);
  addr.sll_ifindex = s.ifindex_;
  if (::bind(s.packet_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return errno_error(errno, "bind AF_PACKET socket to " + interface);
  }
  // Drain anything that slipped in before the filter applied.
  std::uint8_t scratch[64];
  while (::recv(s.packet_.get(), scratch, sizeof scratch, MSG_DONTWAIT) > 0) {
  }

  ifreq ifr{};
  std::strncpy(ifr.ifr_name, interface.c_str(), IFNAMSIZ - 1);
  if (::ioctl(s.packet_.get(), SIOCGIFHWADDR, &ifr) != 0) return errno_error(errno, "MAC address of " + interface);
  s.mac_ = dhcp::MacAddress::from_bytes(
      std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(ifr.ifr_hwaddr.sa_data), 6));

  s.udp_guard_.reset(::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!s.udp_guard_) return errno_error(errno, "UDP socket");
  ::setsockopt(s.udp_guard_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::setsockopt(s.udp_guard_.get(), SOL_SOCKET, SO_BINDTODEVICE, interface.c_str(),
                   static_cast<socklen_t>(interface.size())) != 0) {
    return errno_error(errno, "SO_BINDTODEVICE " + interface);
  }
  // The guard only exists so the kernel does not send port-unreachable; it reads nothing.
  int zero = 0;
  ::setsockopt(s.udp_guard_.get(), SOL_SOCKET, SO_RCVBUF, &zero, sizeof zero);
  sockaddr_in udp{};
  udp.sin_family = AF_INET;
  udp.sin_port = htons(67);
  if (::bind(s.udp_guard_.get(), reinterpret_cast<sockaddr*>(&udp), sizeof udp) != 0) {
    return errno_error(errno, "bind UDP port 67 on " + interface + " (another DHCP server running?)");
  }
  ::shutdown(s.udp_guard_.get(), SHUT_RD);
  return s;
}

Result<bool> PacketSocket::receive(std::vector<std::uint8_t>& buffer) {
  buffer.resize(9216 + 8);
  // Leave room in front to put a stripped VLAN tag back.
  constexpr std::size_t kHeadroom = 4;
  iovec iov{buffer.data() + kHeadroom, buffer.size() - kHeadroom};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(tpacket_auxdata))];
  sockaddr_ll from{};
  msghdr msg{};
  msg.msg_name = &from;
  msg.msg_namelen = sizeof from;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  const ssize_t n = ::recvmsg(packet_.get(), &msg, MSG_DONTWAIT);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
    return errno_error(errno, "receive on " + interface_);
  }
  if (from.sll_pkttype == PACKET_OUTGOING) {  // our own replies, looped back to taps
    buffer.clear();
    return true;
  }
  std::size_t start = kHeadroom;
  std::size_t length = static_cast<std::size_t>(n);
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA) continue;
    tpacket_auxdata aux{};
    std::memcpy(&aux, CMSG_DATA(c), sizeof aux);
    const bool tagged = (aux.tp_status & TP_STATUS_VLAN_VALID) != 0 || aux.tp_vlan_tci != 0;
    if (tagged && length >= 12) {
      const std::uint16_t tpid = (aux.tp_status & TP_STATUS_VLAN_TPID_VALID) ? aux.tp_vlan_tpid : 0x8100;
      std::uint8_t* base = buffer.data() + kHeadroom;
      std::memmove(base - 4, base, 12);  // MAC addresses move forward into the headroom
      base[-4 + 12] = static_cast<std::uint8_t>(tpid >> 8);
      base[-4 + 13] = static_cast<std::uint8_t>(tpid);
      base[-4 + 14] = static_cast<std::uint8_t>(aux.tp_vlan_tci >> 8);
      base[-4 + 15] = static_cast<std::uint8_t>(aux.tp_vlan_tci);
      start -= 4;
      length += 4;
    }
  }
  buffer.erase(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(start));
  buffer.resize(length);
  return true;
}

Result<void> PacketSocket::send(std::span<const std::uint8_t> frame) {
  sockaddr_ll to{};
  to.sll_family = AF_PACKET;
  to.sll_ifindex = ifindex_;
  to.sll_halen = 6;
  std::memcpy(to.sll_addr, frame.data(), frame.size() >= 6 ? 6 : 0);
  if (::sendto(packet_.get(), frame.data(), frame.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) < 0) {
    return errno_error(errno, "send on " + interface_);
  }
  return ok();
}

}  // namespace bngkit::bng::slowpath
