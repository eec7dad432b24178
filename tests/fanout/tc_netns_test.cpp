// The TC engine in network namespaces, beyond what both engines share: checksums on the
// wire (computed ones stay valid, zero ones stay zero), delivery across a restart with
// the program left attached and the maps pinned, and the fallback to userspace with the
// reason when TC cannot be used.
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/udp.h>

#include <filesystem>
#include <fstream>

#include "netns_fixture.hpp"

namespace bngkit::fanout {
namespace {

class TcNetns : public NetnsFixture {
 protected:
  void SetUp() override { mode_ = Mode::tc_ebpf; }
};

// UDP datagrams to `port` as they arrive on `dev` in namespace `ns` (AF_PACKET).
class Capture {
 public:
  struct Datagram {
    std::uint16_t check_be;  // UDP checksum field as sent
    bool check_ok;           // 0, or correct over the pseudo-header and payload
    std::uint32_t saddr_be;
  };

  Capture(const std::string& ns, const std::string& dev, std::uint16_t port) : port_(port) {
    fd_ = fotest::in_netns(ns, [&] {
      const int fd = ::socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_IP));
      sockaddr_ll sll{};
      sll.sll_family = AF_PACKET;
      sll.sll_protocol = htons(ETH_P_IP);
      sll.sll_ifindex = static_cast<int>(::if_nametoindex(dev.c_str()));
      ::bind(fd, reinterpret_cast<sockaddr*>(&sll), sizeof sll);
      const int big = 16 << 20;
      ::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
      timeval tv{0, 200'000};
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      return fd;
    });
  }
  ~Capture() { ::close(fd_); }
  Capture(const Capture&) = delete;
  Capture& operator=(const Capture&) = delete;

  /// Reads until `n` datagrams to the port were seen or nothing came for 200 ms.
  std::vector<Datagram> read(std::size_t n) {
    std::vector<Datagram> out;
    std::uint8_t buf[9000];
    while (out.size() < n) {
      const ssize_t len = ::recv(fd_, buf, sizeof buf, 0);
      if (len <= 0) break;
      iphdr ip;
      if (static_cast<std::size_t>(len) < sizeof ip + sizeof(udphdr)) continue;
      std::memcpy(&ip, buf, sizeof ip);
      if (ip.protocol != IPPROTO_UDP || ip.ihl != 5) continue;
      udphdr udp;
      std::memcpy(&udp, buf + sizeof ip, sizeof udp);
      if (ntohs(udp.dest) != port_) continue;
      const std::size_t udp_len = ntohs(udp.len);
      // One's-complement sum over pseudo-header, header and payload must be 0xffff.
      std::uint32_t sum = 0;
      auto add = [&](const std::uint8_t* p, std::size_t k) {
        for (std::size_t i = 0; i + 1 < k; i += 2) sum += (p[i] << 8) | p[i + 1];
        if (k & 1) sum += p[k - 1] << 8;
      };
      add(reinterpret_cast<const std::uint8_t*>(&ip.saddr), 8);
      sum += IPPROTO_UDP + udp_len;
      add(buf + sizeof ip, udp_len);
      while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
      out.push_back({udp.check, udp.check == 0 || sum == 0xffff, ip.saddr});
    }
    return out;
  }

 private:
  int fd_ = -1;
  std::uint16_t port_;
};

using fotest::sh_out;

TEST_F(TcNetns, ChecksumsOnTheWireAreRightAndZeroStaysZero) {
  FANOUT_REQUIRE_NET_ADMIN();
  build(2);
  // Full checksums from the client (no offload), so the receivers' kernels verify
  // every datagram and drop any the rewrite got wrong.
  ASSERT_EQ(fotest::sh("ip netns exec " + topo_->client->name() + " ethtool -K c0 tx off"), 0);
  FanoutConfig fc;
  fc.listeners.push_back(listener(Policy::replicate, 0, 2));
  fc.health.enabled = false;
  start(fc);
  Capture cap(topo_->receivers[0]->name(), "d0", kReceiverPort);

  Sender with_sum(topo_->client->name());
  Sender without_sum(topo_->client->name());
  const int one = 1;
  ASSERT_EQ(::setsockopt(without_sum.fd(), SOL_SOCKET, SO_NO_CHECK, &one, sizeof one), 0);
  with_sum.send(listen_endpoint(), 1, 0, 200, 333, 0);
  without_sum.send(listen_endpoint(), 2, 0, 200, 333, 0);
  ASSERT_TRUE(wait_until([&] { return total() == 2 * 400; }, 5s)) << diag();
  for (const auto& r : rx_) EXPECT_EQ(r->damaged(), 0u);

  const auto seen = cap.read(400);
  ASSERT_EQ(seen.size(), 400u);
  std::size_t zero = 0;
  for (const auto& d : seen) {
    EXPECT_TRUE(d.check_ok) << "bad UDP checksum " << ntohs(d.check_be);
    EXPECT_EQ(d.saddr_be, addr_be(Topology::kClientAddr));
    zero += d.check_be == 0 ? 1 : 0;
  }
  EXPECT_EQ(zero, 200u) << "datagrams sent without a checksum keep none";
  const auto snmp =
      sh_out("ip netns exec " + topo_->receivers[1]->name() + " nstat -az UdpInCsumErrors");
  EXPECT_NE(snmp.find("UdpInCsumErrors                 0"), std::string::npos) << snmp;
  EXPECT_EQ(stats().slow_path_packets, 0u);
}

TEST_F(TcNetns, DeliveryGoesOnAcrossARestartWithTheProgramLeftAttached) {
  FANOUT_REQUIRE_NET_ADMIN();
  build(2);
  FanoutConfig fc;
  fc.listeners.push_back(listener(Policy::replicate, 0, 2));
  fc.health.enabled = false;
  fc.tc.pin_path = pin_path_;
  fc.tc.keep_attached = true;
  start(fc);
  Sender s(topo_->client->name());
  s.send(listen_endpoint(), 1, 0, 500);
  ASSERT_TRUE(wait_until([&] { return total() == 1000; }, 5s)) << diag();

  // The daemon goes away: the filter and the pinned maps stay, and so does delivery.
  fanout_->stop();
  fanout_.reset();
  const auto filters = sh_out("tc -n " + topo_->fanout->name() + " filter show dev f0 ingress");
  EXPECT_NE(filters.find("fanout_ingress"), std::string::npos) << filters;
  EXPECT_TRUE(std::filesystem::exists(pin_path_ + "/fanout_sets"));
  s.send(listen_endpoint(), 2, 0, 500);
  ASSERT_TRUE(wait_until(
      [&] { return rx_[0]->seqs(2).size() == 500 && rx_[1]->seqs(2).size() == 500; }, 5s))
      << rx_[0]->seqs(2).size() << " " << rx_[1]->seqs(2).size();

  // The next instance takes over while traffic flows; nothing is lost in the handover.
  std::atomic<bool> done{false};
  std::thread traffic([&] {
    Sender t(topo_->client->name());
    for (std::uint32_t i = 0; !done || i < 2000; i += 100) t.send(listen_endpoint(), 3, i, 100);
  });
  std::this_thread::sleep_for(20ms);
  fc.tc.keep_attached = false;  // this one cleans up when it stops
  start(fc);
  std::this_thread::sleep_for(50ms);
  done = true;
  traffic.join();
  const auto sent = rx_[0]->seqs(3).empty() ? 0 : *rx_[0]->seqs(3).rbegin() + 1;
  ASSERT_TRUE(wait_until(
      [&] { return rx_[0]->seqs(3).size() == sent && rx_[1]->seqs(3).size() == sent; }, 5s))
      << rx_[0]->seqs(3).size() << " " << rx_[1]->seqs(3).size() << " of " << sent;
  EXPECT_GE(sent, 2000u);

  fanout_->stop();
  fanout_.reset();
  const auto after = sh_out("tc -n " + topo_->fanout->name() + " filter show dev f0 ingress");
  EXPECT_EQ(after.find("fanout_ingress"), std::string::npos) << after;
  EXPECT_FALSE(std::filesystem::exists(pin_path_)) << "pins removed when not kept";
}

TEST_F(TcNetns, FallsBackToUserspaceAndSaysWhy) {
  FANOUT_REQUIRE_NET_ADMIN();
  build(2);
  ASSERT_EQ(fotest::sh("ip netns exec " + topo_->fanout->name() +
                       " sysctl -qw net.ipv4.conf.f0.forwarding=0"),
            0);
  FanoutConfig fc;
  auto a = listener(Policy::replicate, 0, 1);
  a.name = "no-forwarding";
  auto b = listener(Policy::replicate, 1, 1);
  b.name = "no-interface";
  b.interface = "nope0";
  b.bind.port = kListenPort + 1;
  fc.listeners = {a, b};
  fc.health.enabled = false;
  start(fc, true);
  const auto st = fanout_->status();
  ASSERT_EQ(st.size(), 2u);
  EXPECT_EQ(st[0].mode, Mode::userspace);
  EXPECT_EQ(st[0].configured_mode, Mode::tc_ebpf);
  EXPECT_NE(st[0].fallback_reason.find("IPv4 forwarding is off on f0"), std::string::npos)
      << st[0].fallback_reason;
  EXPECT_EQ(st[1].mode, Mode::userspace);
  EXPECT_NE(st[1].fallback_reason.find("nope0"), std::string::npos) << st[1].fallback_reason;

  Sender s(topo_->client->name());
  s.send(a.bind, 1, 0, 300);
  s.send(b.bind, 2, 0, 300);
  ASSERT_TRUE(wait_until([&] { return rx_[0]->count() == 300 && rx_[1]->count() == 300; }, 5s))
      << diag();
}

}  // namespace
}  // namespace bngkit::fanout
