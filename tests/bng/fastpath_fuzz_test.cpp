// The XDP DHCP fast path fed thousands of mutated and random frames through
// BPF_PROG_TEST_RUN (privileged): random bytes, random payloads behind valid headers, every
// truncation of valid DISCOVER/REQUEST frames, bit flips, option-TLV mutations and header
// mutations (tagged and untagged), with a cache of a few subscribers. For every frame the
// verdict is XDP_PASS (frame untouched), XDP_DROP or XDP_TX; every transmitted frame is a
// well-formed reply: it parses with libbng's frame and message codecs (IPv4 header checksum
// valid, UDP checksum valid or zero, lengths consistent), comes from the server's MAC and IP,
// is a BOOTREPLY OFFER/ACK echoing xid and chaddr for an address of the cache, and is no
// longer than the client accepts (576 octets, or its option 57).
// Out-of-bounds access is not tested here: the verifier refuses to load a program with any
// path that could read or write outside the packet or a map value, so loading proves it.
// The RNG seed is printed and can be set with BNGKIT_XDP_FUZZ_SEED to replay a failure.
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <bngkit/bng/dhcp/frame.hpp>
#include <bngkit/bng/dhcp/message.hpp>
#include <bngkit/bng/fastpath/fast_path.hpp>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "fastpath_frames.hpp"

namespace {

using namespace std::chrono_literals;
using bngkit::bng::Ipv4;
using bngkit::bng::MacAddress;
using namespace bngkit::bng::fastpath;
namespace dhcp = bngkit::bng::dhcp;
using fpt::Bootp;
using fpt::Bytes;
using fpt::ip4;
using fpt::Ip4Udp;
using fpt::L2;
using fpt::Mac;
using fpt::Tag;

constexpr Mac kServerMac{0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
constexpr Mac kBroadcast{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
constexpr std::uint32_t kServerIp = ip4(10, 0, 0, 1);
constexpr std::uint32_t kRelayIp = ip4(10, 1, 0, 1);
constexpr std::uint32_t kPool = 3;
constexpr std::size_t kFramesPerKind = 10000;  // bounded: ~50k test runs in all (~3 s)
constexpr auto kTimeBudget = 90s;

// The cache: three subscribers by MAC, two lines by VLAN (802.1Q and QinQ), one circuit-id.
const std::vector<std::pair<Mac, std::uint32_t>> kByMac = {
    {{0x02, 0x11, 0x22, 0x33, 0x44, 0x01}, ip4(10, 0, 0, 50)},
    {{0x02, 0x11, 0x22, 0x33, 0x44, 0x02}, ip4(10, 0, 0, 51)},
    {{0x02, 0x11, 0x22, 0x33, 0x44, 0x03}, ip4(10, 0, 0, 52)},
};
constexpr Mac kUnknownMac{0x02, 0x99, 0x99, 0x99, 0x99, 0x99};
constexpr std::uint32_t kVlanIp = ip4(10, 0, 0, 60);
constexpr std::uint32_t kQinqIp = ip4(10, 0, 0, 61);
constexpr std::uint32_t kCircuitIp = ip4(10, 0, 0, 62);
const Bytes kCircuit = {'o', 'l', 't', '1', '/', '1', '/', '1'};

std::uint32_t seed_from_env() {
  if (const char* s = std::getenv("BNGKIT_XDP_FUZZ_SEED")) {
    return static_cast<std::uint32_t>(std::strtoul(s, nullptr, 0));
  }
  return std::random_device{}();
}

Bytes ipb(std::uint32_t ip) {
  return {static_cast<std::uint8_t>(ip >> 24), static_cast<std::uint8_t>(ip >> 16),
          static_cast<std::uint8_t>(ip >> 8), static_cast<std::uint8_t>(ip)};
}

// A valid request frame in one of the shapes the fast path serves.
struct Shape {
  L2 l2;
  Ip4Udp ip;
  Bootp b;
  [[nodiscard]] Bytes frame() const { return fpt::frame(l2, ip, fpt::bootp_bytes(b)); }
};

Bytes options_for(std::uint8_t type, std::uint32_t ip, bool with_circuit) {
  Bytes o = {53, 1, type, 55, 6, 1, 3, 6, 15, 26, 28};
  if (type == 3) {
    o.insert(o.end(), {50, 4});
    const Bytes a = ipb(ip);
    o.insert(o.end(), a.begin(), a.end());
    o.insert(o.end(), {54, 4, 10, 0, 0, 1});
  }
  if (with_circuit) {
    o.insert(o.end(), {82, static_cast<std::uint8_t>(kCircuit.size() + 2), 1,
                       static_cast<std::uint8_t>(kCircuit.size())});
    o.insert(o.end(), kCircuit.begin(), kCircuit.end());
  }
  o.push_back(255);
  return o;
}

std::vector<Shape> valid_shapes() {
  std::vector<Shape> out;
  for (std::uint8_t type : {std::uint8_t{1}, std::uint8_t{3}}) {
    for (const auto& [mac, ip] : kByMac) {  // untagged, by MAC
      Shape s{L2{kBroadcast, mac, {}}, fpt::udp4(0, 0xffffffff, 68, 67), {}};
      s.b.chaddr = mac;
      s.b.xid = 0x1000u + ip;
      s.b.options = options_for(type, ip, false);
      out.push_back(s);
    }
    Shape vlan{L2{kBroadcast, kUnknownMac, {Tag{0x8100, 100}}}, fpt::udp4(0, 0xffffffff, 68, 67), {}};
    vlan.b.chaddr = kUnknownMac;
    vlan.b.xid = 0xabc00100;
    vlan.b.options = options_for(type, kVlanIp, false);
    out.push_back(vlan);
    Shape qinq{L2{kBroadcast, kUnknownMac, {Tag{0x88a8, 200}, Tag{0x8100, 300}}},
               fpt::udp4(0, 0xffffffff, 68, 67), {}};
    qinq.b.chaddr = kUnknownMac;
    qinq.b.xid = 0xabc00300;
    qinq.b.flags = 0x8000;  // broadcast bit
    qinq.b.options = options_for(type, kQinqIp, false);
    out.push_back(qinq);
    Shape relayed{L2{kServerMac, {0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee}, {}},
                  fpt::udp4(kRelayIp, kServerIp, 67, 67), {}};
    relayed.b.chaddr = kUnknownMac;
    relayed.b.giaddr = kRelayIp;
    relayed.b.hops = 1;
    relayed.b.xid = 0xabc00082;
    relayed.b.options = options_for(type, kCircuitIp, true);
    out.push_back(relayed);
  }
  return out;
}

class FastPathFuzzTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root/CAP_BPF: loads and test-runs an XDP program";
    auto fp = FastPath::open();
    ASSERT_TRUE(fp) << fp.error().message();
    fp_.emplace(std::move(fp).value());
    ServerConfig c;
    c.server_ip = Ipv4::from_host(kServerIp);
    c.server_mac = MacAddress(kServerMac);
    ASSERT_TRUE(fp_->set_server_config(c));
    PoolParams p;
    p.subnet_mask = Ipv4(255, 255, 255, 0);
    p.router = Ipv4(10, 0, 0, 1);
    p.dns = {Ipv4(8, 8, 8, 8), Ipv4(1, 1, 1, 1), Ipv4(9, 9, 9, 9)};
    p.broadcast = Ipv4(10, 0, 0, 255);
    p.domain_name = "isp.example";
    p.mtu = 1492;
    ASSERT_TRUE(fp_->set_pool(kPool, p));
    for (const auto& [mac, ip] : kByMac) ASSERT_TRUE(fp_->cache_by_mac(MacAddress(mac), entry(ip)));
    ASSERT_TRUE(fp_->cache_by_vlan(VlanKey{0, 100}, entry(kVlanIp)));
    ASSERT_TRUE(fp_->cache_by_vlan(VlanKey{200, 300}, entry(kQinqIp)));
    ASSERT_TRUE(fp_->cache_by_circuit_id(kCircuit, entry(kCircuitIp)));
    seed_ = seed_from_env();
    rng_.seed(seed_);
    std::cout << "XDP fuzz seed " << seed_ << " (replay: BNGKIT_XDP_FUZZ_SEED=" << seed_ << ")\n";
    RecordProperty("seed", std::to_string(seed_));
    started_ = std::chrono::steady_clock::now();
  }

  static CacheEntry entry(std::uint32_t ip) {
    CacheEntry e;
    e.ip = Ipv4::from_host(ip);
    e.pool_id = kPool;
    e.expiry = std::chrono::steady_clock::now() + 1h;
    return e;
  }

  [[nodiscard]] bool out_of_time() const {
    return std::chrono::steady_clock::now() - started_ > kTimeBudget;
  }

  // Runs one frame and checks the verdict and any reply. Returns the action.
  std::uint32_t run_checked(const Bytes& f, const char* kind) {
    ++runs_;
    if (runs_ % 512 == 0) {
      // Drain the served-lease ring buffer, else replies turn into pass_event_full.
      auto n = fp_->poll_events([](const LeaseEvent&) {});
      EXPECT_TRUE(n) << n.error().message();
    }
    auto r = fp_->test_run(f);
    if (!r) {
      // The kernel refuses frames shorter than an Ethernet header before the program runs.
      EXPECT_LT(f.size(), 14u) << r.error().message();
      return 0;
    }
    const std::string what = std::string(kind) + " frame (seed " + std::to_string(seed_) + "): " +
                             fpt::to_hex(f);
    switch (r->action) {
      case XDP_PASS:
        EXPECT_EQ(r->frame, f) << "XDP_PASS must leave the frame untouched: " << what;
        ++passed_;
        break;
      case XDP_DROP:
        ++dropped_;
        break;
      case XDP_TX:
        check_reply(f, r->frame, what);
        ++served_;
        break;
      default:
        ADD_FAILURE() << "action " << r->action << " on " << what;
    }
    return r->action;
  }

  // The reply to `req` is well formed, from the server, for an address of the cache.
  void check_reply(const Bytes& req, const Bytes& out, const std::string& what) {
    const fpt::ReplyCheck independent = fpt::check_reply(out);
    EXPECT_TRUE(independent.ok) << independent.why << "\nreply " << fpt::to_hex(out) << "\n" << what;

    auto parsed = dhcp::parse_udp_frame(out, dhcp::FrameChecks{true, true});
    ASSERT_TRUE(parsed) << parsed.error().message() << "\nreply " << fpt::to_hex(out) << "\n" << what;
    const auto& h = parsed->headers;
    EXPECT_EQ(h.src_mac, MacAddress(kServerMac)) << what;
    EXPECT_EQ(h.src_ip, Ipv4::from_host(kServerIp)) << what;
    EXPECT_EQ(h.src_port, 67) << what;
    EXPECT_TRUE(h.dst_port == 67 || h.dst_port == 68) << what;
    auto msg = dhcp::Message::parse(parsed->payload);
    ASSERT_TRUE(msg) << msg.error().message() << "\nreply " << fpt::to_hex(out) << "\n" << what;
    EXPECT_EQ(msg->op, dhcp::kBootReply) << what;
    const auto type = msg->message_type();
    ASSERT_TRUE(type.has_value()) << what;
    EXPECT_TRUE(*type == dhcp::MessageType::offer || *type == dhcp::MessageType::ack) << what;
    const auto server_id = msg->option(54);
    EXPECT_EQ(server_id, std::optional<std::vector<std::uint8_t>>(ipb(kServerIp))) << what;

    // The request as the kernel read it: Ethernet, up to two tags, IPv4 with its IHL, UDP.
    std::size_t at = 12;
    int tags = 0;
    while (tags < 2 && at + 2 <= req.size()) {
      const std::uint16_t tpid = fpt::get16(req, at);
      if (tpid != 0x8100 && tpid != 0x88a8 && tpid != 0x9100) break;
      at += 4;
      ++tags;
    }
    EXPECT_EQ(h.vlans.size(), static_cast<std::size_t>(tags)) << "VLAN tags kept: " << what;
    const std::size_t ip = at + 2;
    ASSERT_LT(ip, req.size()) << what;
    const std::size_t bootp = ip + (req[ip] & 0x0f) * 4u + 8;
    ASSERT_LE(bootp + 240, req.size()) << "served a request without a whole BOOTP header: " << what;
    EXPECT_EQ(msg->xid, fpt::get32(req, bootp + 4)) << "xid echoed: " << what;
    EXPECT_TRUE(std::equal(msg->chaddr.begin(), msg->chaddr.end(), req.begin() + static_cast<std::ptrdiff_t>(bootp + 28)))
        << "chaddr echoed: " << what;

    // The address is one the cache holds, and the MAC entry's when chaddr is cached.
    const std::uint32_t yiaddr = msg->yiaddr.to_host();
    bool known = yiaddr == kVlanIp || yiaddr == kQinqIp || yiaddr == kCircuitIp;
    for (const auto& [mac, addr] : kByMac) {
      known = known || yiaddr == addr;
      if (req[bootp + 1] == 1 && req[bootp + 2] == 6 &&
          std::equal(mac.begin(), mac.end(), req.begin() + static_cast<std::ptrdiff_t>(bootp + 28))) {
        EXPECT_EQ(yiaddr, addr) << "a cached MAC gets its own address: " << what;
      }
    }
    EXPECT_TRUE(known) << "yiaddr " << msg->yiaddr.to_string() << " is not in the cache: " << what;

    // Never longer than the client accepts: 576 octets of IP, or more by its option 57.
    std::size_t limit = 576;
    for (std::size_t o = bootp + 240; o < req.size() && req[o] != 255;) {
      if (req[o] == 0) {
        ++o;
        continue;
      }
      if (o + 1 >= req.size()) break;
      if (req[o] == 57 && req[o + 1] == 2 && o + 3 < req.size()) {
        limit = std::max<std::size_t>(limit, fpt::get16(req, o + 2));
      }
      o += 2u + req[o + 1];
    }
    const std::size_t ip_len = out.size() - parsed->ip_offset;
    EXPECT_LE(ip_len, limit) << what;
    EXPECT_LE(ip_len, 1500u) << what;
  }

  void expect_every_request_accounted() {
    auto s = fp_->stats();
    ASSERT_TRUE(s) << s.error().message();
    EXPECT_EQ(s->rx_requests, s->tx_offer + s->tx_ack + s->passed() + s->drop_error);
    std::cout << "XDP fuzz: " << runs_ << " frames, " << served_ << " served, " << passed_
              << " passed, " << dropped_ << " dropped; kernel: " << s->rx_requests
              << " DHCP requests seen, " << s->pass_malformed << " malformed\n";
  }

  std::optional<FastPath> fp_;
  std::uint32_t seed_ = 0;
  std::mt19937 rng_;
  std::chrono::steady_clock::time_point started_;
  std::size_t runs_ = 0, served_ = 0, passed_ = 0, dropped_ = 0;
};

TEST_F(FastPathFuzzTest, ValidShapesAreServed) {
  for (const Shape& s : valid_shapes()) EXPECT_EQ(run_checked(s.frame(), "valid"), XDP_TX);
}

TEST_F(FastPathFuzzTest, RandomBytesAndRandomPayloadsBehindValidHeaders) {
  for (std::size_t i = 0; i < kFramesPerKind && !out_of_time(); ++i) {
    Bytes f(14 + rng_() % 700);
    for (auto& b : f) b = static_cast<std::uint8_t>(rng_());
    if (i % 2 == 0) {
      f[12] = 0x08;  // IPv4, so the program gets past the Ethernet header
      f[13] = 0x00;
    }
    run_checked(f, "random");
    // Valid headers with a random BOOTP payload; half of them carry the magic cookie.
    Bytes payload(rng_() % 700);
    for (auto& b : payload) b = static_cast<std::uint8_t>(rng_());
    if (payload.size() >= 240 && i % 2 == 0) {
      payload[0] = 1;
      payload[1] = 1;
      payload[2] = 6;
      payload[236] = 0x63;
      payload[237] = 0x82;
      payload[238] = 0x53;
      payload[239] = 0x63;
    }
    const auto shapes = valid_shapes();
    const Shape& s = shapes[rng_() % shapes.size()];
    run_checked(fpt::frame(s.l2, s.ip, payload), "random payload");
  }
  expect_every_request_accounted();
}

TEST_F(FastPathFuzzTest, EveryTruncationOfValidFramesIsNeverAMalformedReply) {
  for (const Shape& s : valid_shapes()) {
    const Bytes full = s.frame();
    for (std::size_t len = 14; len < full.size(); ++len) {
      run_checked(Bytes(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(len)),
                  "truncated");
    }
    // The BOOTP message cut (IP and UDP lengths shrunk to match, checksums right).
    Shape cut = s;
    for (std::size_t keep : {0, 1, 100, 235, 236, 239, 240, 241, 243, 250}) {
      Bytes payload = fpt::bootp_bytes(cut.b);
      payload.resize(std::min(keep, payload.size()));
      run_checked(fpt::frame(cut.l2, cut.ip, payload), "short BOOTP");
    }
  }
  expect_every_request_accounted();
}

TEST_F(FastPathFuzzTest, BitFlipsOfValidFrames) {
  const auto shapes = valid_shapes();
  for (std::size_t i = 0; i < kFramesPerKind && !out_of_time(); ++i) {
    Bytes f = shapes[i % shapes.size()].frame();
    for (int flips = 1 + static_cast<int>(rng_() % 4); flips > 0; --flips) {
      f[rng_() % f.size()] ^= static_cast<std::uint8_t>(1u << (rng_() % 8));
    }
    run_checked(f, "bit-flipped");
  }
  expect_every_request_accounted();
}

// Options mutated and the frame rebuilt with right lengths and checksums, so the mutation
// reaches the option walker instead of failing a checksum.
TEST_F(FastPathFuzzTest, OptionTlvMutations) {
  const auto shapes = valid_shapes();
  static constexpr std::uint8_t kCodes[] = {0, 1, 3, 6, 12, 15, 26, 28, 50, 51, 52,
                                            53, 54, 55, 57, 60, 61, 82, 255};
  for (std::size_t i = 0; i < kFramesPerKind && !out_of_time(); ++i) {
    Shape s = shapes[i % shapes.size()];
    Bytes& o = s.b.options;
    for (int edits = 1 + static_cast<int>(rng_() % 3); edits > 0; --edits) {
      const std::size_t at = rng_() % (o.size() + 1);
      switch (rng_() % 7) {
        case 0:  // a length byte (or any byte) set to a random value
          if (!o.empty()) o[rng_() % o.size()] = static_cast<std::uint8_t>(rng_());
          break;
        case 1: {  // a new option with a random length and content
          Bytes opt = {kCodes[rng_() % std::size(kCodes)]};
          const std::size_t len = rng_() % 2 ? rng_() % 8 : rng_() % 256;
          opt.push_back(static_cast<std::uint8_t>(len));
          for (std::size_t k = 0; k < len; ++k) opt.push_back(static_cast<std::uint8_t>(rng_()));
          o.insert(o.begin() + static_cast<std::ptrdiff_t>(at), opt.begin(), opt.end());
          break;
        }
        case 2:  // END removed or moved
          std::erase(o, std::uint8_t{255});
          if (rng_() % 2) o.insert(o.begin() + static_cast<std::ptrdiff_t>(rng_() % (o.size() + 1)), 255);
          break;
        case 3:  // cut anywhere
          o.resize(at);
          break;
        case 4:  // a second message type, or a strange one
          o.insert(o.begin() + static_cast<std::ptrdiff_t>(at),
                   {53, 1, static_cast<std::uint8_t>(rng_() % 10)});
          break;
        case 5: {  // option 57 with any value
          const auto v = static_cast<std::uint16_t>(rng_());
          o.insert(o.begin(), {57, 2, static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)});
          break;
        }
        default:  // a run of pads
          o.insert(o.begin() + static_cast<std::ptrdiff_t>(at), rng_() % 300, std::uint8_t{0});
      }
    }
    if (rng_() % 4 == 0) s.b.min_len = 0;  // no padding to 300
    run_checked(s.frame(), "option-mutated");
  }
  expect_every_request_accounted();
}

// Header fields: tags, IP options and flags, ports, BOOTP fixed fields.
TEST_F(FastPathFuzzTest, HeaderMutations) {
  const auto shapes = valid_shapes();
  static constexpr std::uint16_t kTpids[] = {0x8100, 0x88a8, 0x9100, 0x0800, 0x86dd};
  for (std::size_t i = 0; i < kFramesPerKind && !out_of_time(); ++i) {
    Shape s = shapes[i % shapes.size()];
    switch (rng_() % 6) {
      case 0:
        s.l2.tags.clear();
        for (std::size_t t = rng_() % 4; t > 0; --t) {
          s.l2.tags.push_back(Tag{kTpids[rng_() % std::size(kTpids)],
                                  static_cast<std::uint16_t>(rng_() % 2 ? rng_() % 4096 : 100)});
        }
        break;
      case 1:
        s.ip.ip_options.assign(4 * (1 + rng_() % 10), static_cast<std::uint8_t>(rng_() % 2));
        break;
      case 2:
        s.ip.frag = static_cast<std::uint16_t>(rng_());
        s.ip.ttl = static_cast<std::uint8_t>(rng_());
        break;
      case 3:
        s.ip.sport = static_cast<std::uint16_t>(rng_() % 2 ? 67 + rng_() % 2 : rng_());
        s.ip.dport = static_cast<std::uint16_t>(rng_() % 2 ? 67 + rng_() % 2 : rng_());
        s.ip.udp_checksum = rng_() % 2;
        break;
      case 4:
        s.b.op = static_cast<std::uint8_t>(rng_() % 4);
        s.b.htype = static_cast<std::uint8_t>(rng_() % 3);
        s.b.hlen = static_cast<std::uint8_t>(rng_() % 20);
        s.b.hops = static_cast<std::uint8_t>(rng_() % 20);
        break;
      default:
        s.b.ciaddr = rng_() % 2 ? kByMac[0].second : static_cast<std::uint32_t>(rng_());
        s.b.giaddr = rng_() % 2 ? 0 : static_cast<std::uint32_t>(rng_());
        s.b.flags = static_cast<std::uint16_t>(rng_());
    }
    run_checked(s.frame(), "header-mutated");
  }
  expect_every_request_accounted();
}

}  // namespace
