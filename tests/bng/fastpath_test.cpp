// XDP DHCP fast path tests (privileged): BPF_PROG_TEST_RUN with byte-exact expected replies
// for every served case, XDP_PASS for everything the slow path must see, malformed and
// truncated frames at every length, counters and served-lease events, pinned-cache reuse
// and XDP attach/detach. Expected replies are an independent hex fixture or are built
// field by field here; checksums are computed here (RFC 1071), not by the code under test.
#include <arpa/inet.h>
#include <bngkit/bng/fastpath/dhcp_fastpath_abi.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bngkit/bng/fastpath/fast_path.hpp>
#include <bngkit/ebpfkit/attach.hpp>
#include <bngkit/ebpfkit/map.hpp>
#include <bngkit/ebpfkit/object.hpp>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "fastpath_frames.hpp"

namespace {

using namespace std::chrono_literals;
using bngkit::bng::Ipv4;
using bngkit::bng::MacAddress;
using namespace bngkit::bng::fastpath;
using fpt::Bootp;
using fpt::Bytes;
using fpt::ip4;
using fpt::Ip4Udp;
using fpt::L2;
using fpt::Mac;
using fpt::Tag;

// ---- ABI layout, checked from C++ (the header checks sizes itself too) ------------------
static_assert(sizeof(bng_fp_subscriber) == 24 && offsetof(bng_fp_subscriber, ip_be) == 0 &&
              offsetof(bng_fp_subscriber, pool_id) == 4 &&
              offsetof(bng_fp_subscriber, expiry_ns) == 8 &&
              offsetof(bng_fp_subscriber, flags) == 16);
static_assert(sizeof(bng_fp_vlan_key) == 4 && offsetof(bng_fp_vlan_key, c_vlan) == 2);
static_assert(sizeof(bng_fp_circuit_key) == 68 && offsetof(bng_fp_circuit_key, id) == 4);
static_assert(sizeof(bng_fp_pool) == 108 && offsetof(bng_fp_pool, dns_be) == 12 &&
              offsetof(bng_fp_pool, lease_time_be) == 28 && offsetof(bng_fp_pool, mtu_be) == 40 &&
              offsetof(bng_fp_pool, dns_count) == 42 && offsetof(bng_fp_pool, domain) == 44);
static_assert(sizeof(bng_fp_config) == 16 && offsetof(bng_fp_config, server_mac) == 8);
static_assert(sizeof(bng_fp_stats) == 128 && offsetof(bng_fp_stats, drop_error) == 120);
static_assert(sizeof(bng_fp_lease_event) == 128 && offsetof(bng_fp_lease_event, ip_be) == 16 &&
              offsetof(bng_fp_lease_event, chaddr) == 52 &&
              offsetof(bng_fp_lease_event, circuit) == 60);

// ---- The independent fixture: generated with a separate Python script (struct.pack and
// an RFC 1071 sum), then read field by field:
//   DISCOVER: ff..ff <- 02:11:22:33:44:55, 0.0.0.0:68 -> 255.255.255.255:67, xid deadbeef,
//             options 53=1, 55={1,3,6}, END, BOOTP padded to 300.
//   OFFER:    02:11:22:33:44:55 <- 02:00:00:00:00:01, 10.0.0.1:67 -> 10.0.0.50:68,
//             IPv4 id 0 + DF, TTL 64, yiaddr 10.0.0.50, options 53=2, 54=10.0.0.1,
//             51=3600, 58=1800, 59=3150, 1=255.255.255.0, 3=10.0.0.1, 6=8.8.8.8 1.1.1.1,
//             END, padded to 300. IPv4 checksum 0x2573, UDP checksum 0x454e.
constexpr std::string_view kDiscoverHex =
    "ffffffffffff02112233445508004500014800000000401179a600000000ffff"
    "ffff004400430134fda101010600deadbeef0000000000000000000000000000"
    "0000000000000211223344550000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000063825363350101370301"
    "0306ff0000000000000000000000000000000000000000000000000000000000"
    "00000000000000000000000000000000000000000000";
constexpr std::string_view kOfferHex =
    "02112233445502000000000108004500014800004000401125730a0000010a00"
    "0032004300440134454e02010600deadbeef00000000000000000a0000320000"
    "0000000000000211223344550000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000006382536335010236040a"
    "000001330400000e103a04000007083b0400000c4e0104ffffff0003040a0000"
    "0106080808080801010101ff00000000000000000000";

constexpr Mac kClientMac{0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
constexpr Mac kServerMac{0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
constexpr Mac kRelayMac{0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee};
constexpr Mac kRouterMac{0x02, 0x77, 0x77, 0x77, 0x77, 0x77};
constexpr Mac kBroadcastMac{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
constexpr std::uint32_t kServerIp = ip4(10, 0, 0, 1);
constexpr std::uint32_t kClientIp = ip4(10, 0, 0, 50);
constexpr std::uint32_t kRelayIp = ip4(10, 1, 0, 1);
constexpr std::uint32_t kPool = 7;
constexpr std::uint32_t kXid = 0xdeadbeef;

constexpr std::uint8_t DISCOVER = 1, OFFER = 2, REQUEST = 3, ACK = 5;

Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}
Bytes str(std::string_view s) { return Bytes(s.begin(), s.end()); }
Bytes ipb(std::uint32_t ip) {
  return {static_cast<std::uint8_t>(ip >> 24), static_cast<std::uint8_t>(ip >> 16),
          static_cast<std::uint8_t>(ip >> 8), static_cast<std::uint8_t>(ip)};
}
MacAddress mac(const Mac& m) { return MacAddress(m); }

/// The options every reply carries for pool kPool, in the order the fast path sends them:
/// 53, 54, 51 (3600), 58 (1800 = 1/2), 59 (3150 = 7/8), 1, 3, 6.
Bytes base_options(std::uint8_t type) {
  return {53, 1, type,                    //
          54, 4, 10,   0,    0,    1,     //
          51, 4, 0x00, 0x00, 0x0e, 0x10,  //
          58, 4, 0x00, 0x00, 0x07, 0x08,  //
          59, 4, 0x00, 0x00, 0x0c, 0x4e,  //
          1,  4, 255,  255,  255,  0,     //
          3,  4, 10,   0,    0,    1,     //
          6,  8, 8,    8,    8,    8,    1, 1, 1, 1};
}

/// A client request as the tests send it: untagged broadcast from kClientMac.
struct Request {
  L2 l2{kBroadcastMac, kClientMac, {}};
  Ip4Udp ip = fpt::udp4(0, 0xffffffff, 68, 67);
  Bootp b;
  Request(std::uint8_t type, Bytes more_options = {}) {
    b.chaddr = kClientMac;
    b.xid = kXid;
    b.options = cat({{53, 1, type}, more_options, {255}});
  }
  [[nodiscard]] Bytes frame() const { return fpt::frame(l2, ip, fpt::bootp_bytes(b)); }
};

/// The reply the fast path must send: server MAC/IP as source, the request's VLAN tags,
/// BOOTP header per RFC 2131 table 3 (op 2, hops 0, secs 0, xid/flags/giaddr/chaddr copied).
Bytes expected_reply(const Request& req, Mac l2_dst, std::uint32_t ip_dst, std::uint16_t dport,
                     std::uint32_t ciaddr, Bytes options) {
  Bootp b = req.b;
  b.op = 2;
  b.hops = 0;
  b.secs = 0;
  b.ciaddr = ciaddr;
  b.yiaddr = kClientIp;
  b.siaddr = 0;
  b.options = std::move(options);
  b.min_len = 300;
  b.pad_to_4 = true;
  Ip4Udp u = fpt::udp4(kServerIp, ip_dst, 67, dport);
  u.frag = 0x4000;  // DF, id 0
  return fpt::frame(L2{l2_dst, kServerMac, req.l2.tags}, u, fpt::bootp_bytes(b));
}

bool is_root() { return geteuid() == 0; }

class FastPathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!is_root()) GTEST_SKIP() << "needs root/CAP_BPF: loads and test-runs an XDP program";
    auto fp = FastPath::open();
    ASSERT_TRUE(fp) << fp.error().message();
    fp_.emplace(std::move(fp).value());
    ASSERT_TRUE(fp_->set_server_config(server_config())) << "server config";
    ASSERT_TRUE(fp_->set_pool(kPool, pool_params()));
  }

  static ServerConfig server_config() {
    ServerConfig c;
    c.server_ip = Ipv4::from_host(kServerIp);
    c.server_mac = mac(kServerMac);
    return c;
  }
  static PoolParams pool_params() {
    PoolParams p;
    p.subnet_mask = Ipv4(255, 255, 255, 0);
    p.router = Ipv4(10, 0, 0, 1);
    p.dns = {Ipv4(8, 8, 8, 8), Ipv4(1, 1, 1, 1)};
    p.lease_time = 3600s;
    p.broadcast = Ipv4(10, 0, 0, 255);
    p.domain_name = "isp.example";
    p.mtu = 1492;
    return p;
  }
  static CacheEntry entry(std::chrono::steady_clock::duration ttl = 1h) {
    CacheEntry e;
    e.ip = Ipv4::from_host(kClientIp);
    e.pool_id = kPool;
    e.expiry = std::chrono::steady_clock::now() + ttl;
    return e;
  }
  void cache_client() { ASSERT_TRUE(fp_->cache_by_mac(mac(kClientMac), entry())); }

  TestRunOutput run(const Bytes& frame) {
    auto r = fp_->test_run(frame);
    EXPECT_TRUE(r) << r.error().message();
    return r ? *r : TestRunOutput{};
  }
  /// Runs `frame`, expects XDP_TX with exactly `want`.
  void expect_reply(const Bytes& frame, const Bytes& want) {
    TestRunOutput out = run(frame);
    EXPECT_EQ(out.action, XDP_TX);
    EXPECT_EQ(out.frame, want) << fpt::diff(out.frame, want);
    const fpt::ReplyCheck c = fpt::check_reply(out.frame);
    EXPECT_TRUE(c.ok) << c.why;
  }
  /// Runs `frame`, expects XDP_PASS with the frame untouched.
  void expect_pass(const Bytes& frame) {
    TestRunOutput out = run(frame);
    EXPECT_EQ(out.action, XDP_PASS);
    EXPECT_EQ(out.frame, frame) << fpt::diff(out.frame, frame);
  }
  Stats stats() {
    auto s = fp_->stats();
    EXPECT_TRUE(s) << s.error().message();
    return s ? *s : Stats{};
  }
  std::vector<LeaseEvent> events() {
    std::vector<LeaseEvent> out;
    auto n = fp_->poll_events([&](const LeaseEvent& e) { out.push_back(e); });
    EXPECT_TRUE(n) << n.error().message();
    if (n) {
      EXPECT_EQ(*n, out.size());
    }
    return out;
  }

  std::optional<FastPath> fp_;
};

// The test-side builder reproduces the independent hex fixture exactly.
TEST_F(FastPathTest, FrameBuilderMatchesIndependentFixture) {
  Request d(DISCOVER, {55, 3, 1, 3, 6});
  EXPECT_EQ(d.frame(), fpt::from_hex(kDiscoverHex))
      << fpt::diff(d.frame(), fpt::from_hex(kDiscoverHex));
  const Bytes want =
      expected_reply(d, kClientMac, kClientIp, 68, 0, cat({base_options(OFFER), {255}}));
  EXPECT_EQ(want, fpt::from_hex(kOfferHex)) << fpt::diff(want, fpt::from_hex(kOfferHex));
}

TEST_F(FastPathTest, DiscoverToOfferMatchesHexFixture) {
  cache_client();
  const auto before = std::chrono::steady_clock::now();
  const CacheEntry e = entry();
  ASSERT_TRUE(fp_->cache_by_mac(mac(kClientMac), e));
  expect_reply(fpt::from_hex(kDiscoverHex), fpt::from_hex(kOfferHex));

  Stats want;
  want.rx_requests = 1;
  want.tx_offer = 1;
  EXPECT_EQ(stats(), want);

  auto ev = events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].type, LeaseEvent::Type::offer);
  EXPECT_EQ(ev[0].ip, Ipv4::from_host(kClientIp));
  EXPECT_EQ(ev[0].chaddr, mac(kClientMac));
  EXPECT_EQ(ev[0].xid, kXid);
  EXPECT_EQ(ev[0].pool_id, kPool);
  EXPECT_EQ(ev[0].lease_time, 3600s);
  EXPECT_EQ(ev[0].matched_by, MatchedBy::mac);
  EXPECT_EQ(ev[0].expiry, e.expiry);
  EXPECT_GE(ev[0].served_at, before);
  EXPECT_LE(ev[0].served_at, std::chrono::steady_clock::now());
  EXPECT_EQ(ev[0].ifindex, 1u);  // BPF_PROG_TEST_RUN runs on the namespace's loopback
  EXPECT_FALSE(ev[0].renewal);
  EXPECT_FALSE(ev[0].relayed);
  EXPECT_FALSE(ev[0].broadcast);
  EXPECT_TRUE(ev[0].circuit_id.empty());
}

TEST_F(FastPathTest, RequestSelectingWithBroadcastFlagIsAckedByBroadcast) {
  cache_client();
  Request r(REQUEST, cat({{50, 4}, ipb(kClientIp), {54, 4}, ipb(kServerIp), {55, 2, 1, 3}}));
  r.b.flags = 0x8000;
  expect_reply(r.frame(), expected_reply(r, kBroadcastMac, 0xffffffff, 68, 0,
                                         cat({base_options(ACK), {255}})));
  auto ev = events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].type, LeaseEvent::Type::ack);
  EXPECT_TRUE(ev[0].broadcast);
  EXPECT_EQ(stats().tx_ack, 1u);
}

TEST_F(FastPathTest, RequestInitRebootIsAckedUnicastToClient) {
  cache_client();
  Request r(REQUEST, cat({{50, 4}, ipb(kClientIp)}));
  expect_reply(r.frame(),
               expected_reply(r, kClientMac, kClientIp, 68, 0, cat({base_options(ACK), {255}})));
}

TEST_F(FastPathTest, RenewalIsAckedUnicastToCiaddr) {
  cache_client();
  // RENEWING: unicast from the client's address to the server, ciaddr set, no 50/54.
  Request r(REQUEST);
  r.l2 = L2{kServerMac, kClientMac, {}};
  r.ip = fpt::udp4(kClientIp, kServerIp, 68, 67);
  r.b.ciaddr = kClientIp;
  expect_reply(r.frame(), expected_reply(r, kClientMac, kClientIp, 68, kClientIp,
                                         cat({base_options(ACK), {255}})));
  // The same renewal routed to us: the reply goes back to the router's MAC, not chaddr.
  Request routed = r;
  routed.l2.src = kRouterMac;
  expect_reply(routed.frame(), expected_reply(routed, kRouterMac, kClientIp, 68, kClientIp,
                                              cat({base_options(ACK), {255}})));
  auto ev = events();
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_TRUE(ev[0].renewal);
  EXPECT_EQ(ev[0].ciaddr, Ipv4::from_host(kClientIp));
  // REBINDING: broadcast, ciaddr set -> still unicast to ciaddr (RFC 2131 4.1).
  Request rebind = r;
  rebind.l2.dst = kBroadcastMac;
  rebind.ip.dst = 0xffffffff;
  expect_reply(rebind.frame(), expected_reply(rebind, kClientMac, kClientIp, 68, kClientIp,
                                              cat({base_options(ACK), {255}})));
}

TEST_F(FastPathTest, RelayedRequestIsAnsweredToTheRelayOnPort67) {
  cache_client();
  const Bytes o82 = cat({{82, 13, 1, 4}, str("port"), {2, 5}, str("relay")});
  Request r(DISCOVER, o82);
  r.l2 = L2{kServerMac, kRelayMac, {}};
  r.ip = fpt::udp4(kRelayIp, kServerIp, 67, 67);
  r.b.giaddr = kRelayIp;
  r.b.hops = 1;
  // Option 82 echoed, last before END (RFC 3046).
  expect_reply(r.frame(), expected_reply(r, kRelayMac, kRelayIp, 67, 0,
                                         cat({base_options(OFFER), o82, {255}})));
  Request q(REQUEST, cat({{50, 4}, ipb(kClientIp), {54, 4}, ipb(kServerIp), o82}));
  q.l2 = r.l2;
  q.ip = r.ip;
  q.b.giaddr = kRelayIp;
  q.b.hops = 1;
  expect_reply(q.frame(),
               expected_reply(q, kRelayMac, kRelayIp, 67, 0, cat({base_options(ACK), o82, {255}})));
  auto ev = events();
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_TRUE(ev[1].relayed);
  EXPECT_EQ(ev[1].giaddr, Ipv4::from_host(kRelayIp));
  EXPECT_EQ(ev[1].circuit_id, str("port"));
  EXPECT_EQ(ev[1].matched_by, MatchedBy::mac);
}

TEST_F(FastPathTest, Dot1QTaggedRequestIsServedByVlanKeyAndKeepsTheTag) {
  ASSERT_TRUE(fp_->cache_by_vlan(VlanKey{0, 100}, entry()));
  Request r(DISCOVER, {55, 3, 1, 3, 6});
  r.l2.tags = {Tag{0x8100, 100, 5}};
  expect_reply(r.frame(),
               expected_reply(r, kClientMac, kClientIp, 68, 0, cat({base_options(OFFER), {255}})));
  // Another VLAN, or no tag at all, is not this subscriber.
  Request other = r;
  other.l2.tags = {Tag{0x8100, 101}};
  expect_pass(other.frame());
  Request untagged(DISCOVER);
  expect_pass(untagged.frame());
  auto ev = events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].matched_by, MatchedBy::vlan);
  EXPECT_EQ(ev[0].vlan, (VlanKey{0, 100}));
}

TEST_F(FastPathTest, QinQRequestIsServedByOuterAndInnerVlan) {
  ASSERT_TRUE(fp_->cache_by_vlan(VlanKey{200, 300}, entry()));
  for (std::uint16_t outer_tpid :
       {std::uint16_t{0x88a8}, std::uint16_t{0x9100}, std::uint16_t{0x8100}}) {
    SCOPED_TRACE(outer_tpid);
    Request r(REQUEST, cat({{50, 4}, ipb(kClientIp), {54, 4}, ipb(kServerIp)}));
    r.l2.tags = {Tag{outer_tpid, 200, 3}, Tag{0x8100, 300, 1}};
    expect_reply(r.frame(),
                 expected_reply(r, kClientMac, kClientIp, 68, 0, cat({base_options(ACK), {255}})));
  }
  auto ev = events();
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0].vlan, (VlanKey{200, 300}));
  // Inner and outer swapped is a different line.
  Request swapped(DISCOVER);
  swapped.l2.tags = {Tag{0x88a8, 300}, Tag{0x8100, 200}};
  expect_pass(swapped.frame());
}

TEST_F(FastPathTest, CircuitIdKeyServesAndEchoesOption82AndClientId) {
  const Bytes circuit = str("olt1/1/1:100");
  ASSERT_TRUE(fp_->cache_by_circuit_id(circuit, entry()));
  const Bytes o82 = cat({{82, 2 + 12 + 2 + 6, 1, 12}, circuit, {2, 6}, str("remote")});
  const Bytes o61 = {61, 7, 1, 0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
  Request r(DISCOVER, cat({o61, o82}));
  // An access switch inserted option 82 without a giaddr (L2 snooping): reply to the client.
  expect_reply(r.frame(), expected_reply(r, kClientMac, kClientIp, 68, 0,
                                         cat({base_options(OFFER), o61, o82, {255}})));
  auto ev = events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].matched_by, MatchedBy::circuit_id);
  EXPECT_EQ(ev[0].circuit_id, circuit);
  // A circuit-id that differs in one byte is another line.
  Bytes other_circuit = circuit;
  other_circuit.back() = '1';
  Request other(DISCOVER, cat({{82, 14, 1, 12}, other_circuit}));
  expect_pass(other.frame());
}

TEST_F(FastPathTest, ShortRequestIsGrownAndLongRequestShrunk) {
  cache_client();
  // 300-octet BOOTP request whose reply needs far more room: every optional option, a
  // client id and option 82.
  const Bytes o61 = cat({{61, 19, 0}, str("subscriber-0000042")});
  ASSERT_EQ(o61.size(), 21u);
  const Bytes o82 = cat({{82, 24, 1, 10}, str("olt7/0/3/1"), {2, 10}, str("cpe-012345")});
  ASSERT_EQ(o82.size(), 26u);
  Request r(DISCOVER, cat({{55, 7, 1, 3, 6, 15, 26, 28, 42}, o61, o82}));
  const Bytes req = r.frame();
  ASSERT_EQ(req.size(), 14u + 20 + 8 + 300);
  const Bytes want = expected_reply(r, kClientMac, kClientIp, 68, 0,
                                    cat({base_options(OFFER),
                                         {28, 4, 10, 0, 0, 255},
                                         {15, 11},
                                         str("isp.example"),
                                         {26, 2, 0x05, 0xd4},
                                         o61,
                                         o82,
                                         {255}}));
  ASSERT_GT(want.size(), req.size());
  expect_reply(req, want);

  // A request padded to 576 octets gets a 300-octet reply (the frame shrinks).
  Request big(DISCOVER, {55, 3, 1, 3, 6});
  big.b.min_len = 576;
  const Bytes big_frame = big.frame();
  const Bytes big_want =
      expected_reply(big, kClientMac, kClientIp, 68, 0, cat({base_options(OFFER), {255}}));
  ASSERT_LT(big_want.size(), big_frame.size());
  expect_reply(big_frame, big_want);

  // The shortest legal DHCP message (options end right after 53, no BOOTP padding).
  Request tiny(DISCOVER);
  tiny.b.min_len = 0;
  ASSERT_EQ(tiny.frame().size(), 14u + 20 + 8 + 240 + 4);
  expect_reply(tiny.frame(), expected_reply(tiny, kClientMac, kClientIp, 68, 0,
                                            cat({base_options(OFFER), {255}})));
}

TEST_F(FastPathTest, ParameterRequestListSelectsTheOptionalOptions) {
  cache_client();
  // Asked for, in a PRL scattered with other codes and with padding around it.
  Request asked(DISCOVER, {0, 0, 55, 6, 26, 12, 28, 1, 15, 3, 0});
  expect_reply(asked.frame(), expected_reply(asked, kClientMac, kClientIp, 68, 0,
                                             cat({base_options(OFFER),
                                                  {28, 4, 10, 0, 0, 255},
                                                  {15, 11},
                                                  str("isp.example"),
                                                  {26, 2, 0x05, 0xd4},
                                                  {255}})));
  // Only MTU asked for.
  Request mtu_only(DISCOVER, {55, 1, 26});
  expect_reply(mtu_only.frame(),
               expected_reply(mtu_only, kClientMac, kClientIp, 68, 0,
                              cat({base_options(OFFER), {26, 2, 0x05, 0xd4}, {255}})));
  // No PRL: none of them.
  Request none(DISCOVER);
  expect_reply(none.frame(), expected_reply(none, kClientMac, kClientIp, 68, 0,
                                            cat({base_options(OFFER), {255}})));
  // Asked for but not configured in the pool: not sent; a pool without router/DNS sends
  // neither, and explicit T1/T2 are used as given.
  PoolParams bare;
  bare.subnet_mask = Ipv4(255, 255, 0, 0);
  bare.lease_time = 600s;
  bare.renewal_time = 100s;
  bare.rebinding_time = 200s;
  ASSERT_TRUE(fp_->set_pool(kPool, bare));
  expect_reply(asked.frame(), expected_reply(asked, kClientMac, kClientIp, 68, 0,
                                             {53, 1,    OFFER, 54, 4, 10,  0,   0, 1,   51, 4, 0,
                                              0,  0x02, 0x58,  58, 4, 0,   0,   0, 100, 59, 4, 0,
                                              0,  0,    200,   1,  4, 255, 255, 0, 0,   255}));
  // Bytes past domain_len in the pool map are never sent, whatever they hold (this reply is
  // shorter than 300 octets, so its padding lies where the domain bytes were copied).
  bare.domain_name = "isp.example";
  ASSERT_TRUE(fp_->set_pool(kPool, bare));
  auto pools =
      fp_->object().map_as<bngkit::ebpfkit::Map<std::uint32_t, bng_fp_pool>>(BNG_FP_MAP_POOLS);
  ASSERT_TRUE(pools) << pools.error().message();
  auto raw_pool = pools->lookup(kPool);
  ASSERT_TRUE(raw_pool && raw_pool->has_value());
  bng_fp_pool junk = **raw_pool;
  for (std::size_t i = junk.domain_len; i < BNG_FP_DOMAIN_MAX; ++i) junk.domain[i] = 0xaa;
  ASSERT_TRUE(pools->update(kPool, junk));
  Request domain_only(DISCOVER, {55, 1, 15});
  expect_reply(domain_only.frame(),
               expected_reply(
                   domain_only, kClientMac, kClientIp, 68, 0,
                   cat({{53, 1, OFFER, 54, 4, 10, 0, 0, 1,   51, 4, 0,   0,   0x02, 0x58, 58, 4, 0,
                         0,  0, 100,   59, 4, 0,  0, 0, 200, 1,  4, 255, 255, 0,    0,    15, 11},
                        str("isp.example"),
                        {255}})));
}

TEST_F(FastPathTest, RequestsTheFastPathMustNotAnswerArePassedUntouched) {
  cache_client();
  // Another address than the cached one.
  expect_pass(Request(REQUEST, cat({{50, 4}, ipb(ip4(10, 0, 0, 51))})).frame());
  // The client chose another server.
  expect_pass(
      Request(REQUEST, cat({{50, 4}, ipb(kClientIp), {54, 4}, ipb(ip4(10, 0, 0, 2))})).frame());
  // Renewal of an address that is not the cached one.
  Request renew(REQUEST);
  renew.l2 = L2{kServerMac, kClientMac, {}};
  renew.ip = fpt::udp4(ip4(10, 0, 0, 99), kServerIp, 68, 67);
  renew.b.ciaddr = ip4(10, 0, 0, 99);
  expect_pass(renew.frame());
  // A REQUEST naming no address at all.
  expect_pass(Request(REQUEST).frame());
  // Message types the fast path leaves to the slow path.
  for (std::uint8_t t : {4, 7, 8}) expect_pass(Request(t).frame());  // DECLINE, RELEASE, INFORM
  // Unicast to another DHCP server behind us.
  Request elsewhere(DISCOVER);
  elsewhere.ip.dst = ip4(192, 0, 2, 67);
  expect_pass(elsewhere.frame());
  // Option overload (52) and a split client id (RFC 3396) are left to the slow path.
  expect_pass(Request(DISCOVER, {52, 1, 3}).frame());
  expect_pass(Request(DISCOVER, {61, 2, 1, 2, 61, 2, 3, 4}).frame());
  // A reply (op 2) sent to port 67, and a non-Ethernet htype.
  Request op2(DISCOVER);
  op2.b.op = 2;
  expect_pass(op2.frame());
  Request htype(DISCOVER);
  htype.b.htype = 6;
  expect_pass(htype.frame());

  Stats s = stats();
  EXPECT_EQ(s.rx_requests, 12u);
  EXPECT_EQ(s.pass_mismatch, 3u);
  EXPECT_EQ(s.pass_other_server, 1u);
  EXPECT_EQ(s.pass_not_for_us, 1u);
  EXPECT_EQ(s.pass_unsupported, 7u);
  EXPECT_EQ(s.passed(), 12u);
  EXPECT_EQ(s.tx_offer + s.tx_ack, 0u);
  EXPECT_TRUE(events().empty());
}

TEST_F(FastPathTest, UnknownExpiredOrHeldBackSubscribersArePassed) {
  const Bytes discover = Request(DISCOVER).frame();
  expect_pass(discover);  // nothing cached
  EXPECT_EQ(stats().pass_no_entry, 1u);

  ASSERT_TRUE(fp_->cache_by_mac(mac(kClientMac), entry(-1s)));
  expect_pass(discover);
  EXPECT_EQ(stats().pass_expired, 1u);

  // Fresh entry, but this subscriber's DISCOVERs belong to the slow path.
  CacheEntry e = entry();
  e.serve_discover = false;
  ASSERT_TRUE(fp_->cache_by_mac(mac(kClientMac), e));
  expect_pass(discover);
  EXPECT_EQ(stats().pass_policy, 1u);
  Request q(REQUEST, cat({{50, 4}, ipb(kClientIp)}));
  EXPECT_EQ(run(q.frame()).action, XDP_TX);
  e.serve_discover = true;
  e.serve_request = false;
  ASSERT_TRUE(fp_->cache_by_mac(mac(kClientMac), e));
  expect_pass(q.frame());
  EXPECT_EQ(stats().pass_policy, 2u);

  // The entry's pool is gone.
  ASSERT_TRUE(fp_->cache_by_mac(mac(kClientMac), entry()));
  ASSERT_TRUE(fp_->remove_pool(kPool).value_or(false));
  expect_pass(discover);
  EXPECT_EQ(stats().pass_no_entry, 2u);
  ASSERT_TRUE(fp_->set_pool(kPool, pool_params()));

  // Removed from the cache.
  ASSERT_TRUE(fp_->uncache_by_mac(mac(kClientMac)).value_or(false));
  expect_pass(discover);
  EXPECT_EQ(stats().pass_no_entry, 3u);

  // Fast path switched off.
  cache_client();
  ServerConfig off = server_config();
  off.enabled = false;
  ASSERT_TRUE(fp_->set_server_config(off));
  expect_pass(discover);
  EXPECT_EQ(stats().pass_disabled, 1u);
  ASSERT_EQ(events().size(), 1u);  // only the one ACK above
}

TEST_F(FastPathTest, OtherTrafficIsPassedAndNotCounted) {
  cache_client();
  Bytes arp = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x11, 0x22, 0x33, 0x44, 0x55, 0x08, 0x06};
  arp.resize(60, 0);
  expect_pass(arp);
  Request dns(DISCOVER);
  dns.ip.dport = 53;
  expect_pass(dns.frame());
  Request client_side(DISCOVER);
  client_side.ip.dport = 68;
  expect_pass(client_side.frame());
  Bytes v6 = Request(DISCOVER).frame();
  v6[12] = 0x86;
  v6[13] = 0xdd;
  expect_pass(v6);
  // A later fragment of something sent to port 67 (offset != 0) carries no UDP header.
  Request frag(DISCOVER);
  frag.ip.frag = 0x0010;
  expect_pass(frag.frame());
  // Three VLAN tags: not parsed.
  Request three(DISCOVER);
  three.l2.tags = {Tag{0x88a8, 1}, Tag{0x8100, 2}, Tag{0x8100, 3}};
  expect_pass(three.frame());
  EXPECT_EQ(stats(), Stats{});
}

TEST_F(FastPathTest, ChecksumsOfRequestsAreVerified) {
  cache_client();
  const Request d(DISCOVER);
  Bytes bad_udp = d.frame();
  bad_udp[14 + 20 + 6] ^= 0x01;
  expect_pass(bad_udp);
  Bytes bad_ip = d.frame();
  bad_ip[14 + 10] ^= 0x01;
  expect_pass(bad_ip);
  EXPECT_EQ(stats().pass_malformed, 2u);
  // UDP checksum 0 means "none" (dhcpcd renewals): served.
  Request nosum(DISCOVER);
  nosum.ip.udp_checksum = false;
  expect_reply(nosum.frame(), expected_reply(nosum, kClientMac, kClientIp, 68, 0,
                                             cat({base_options(OFFER), {255}})));
  // IPv4 options are fine: the checksum covers them and the reply carries none.
  Request opts(DISCOVER);
  opts.ip.ip_options = {0x94, 0x04, 0x00, 0x00};  // router alert
  expect_reply(opts.frame(), expected_reply(opts, kClientMac, kClientIp, 68, 0,
                                            cat({base_options(OFFER), {255}})));
  // With verification off (senders with checksum offload), a bad UDP sum is served.
  ServerConfig c = server_config();
  c.verify_checksums = false;
  ASSERT_TRUE(fp_->set_server_config(c));
  EXPECT_EQ(run(bad_udp).action, XDP_TX);
}

TEST_F(FastPathTest, ReplyLargerThanTheClientAcceptsIsPassed) {
  cache_client();
  Bytes o61 = {61, 255};
  for (int i = 0; i < 255; ++i) o61.push_back(static_cast<std::uint8_t>(i));
  Bytes o82 = {82, 255, 1, 253};
  for (int i = 0; i < 253; ++i) o82.push_back('c');
  // Reply: 20 + 8 + 240 + 52 + 257 + 257 + 1 (+pad) > 576, and no option 57.
  expect_pass(Request(DISCOVER, cat({o61, o82})).frame());
  EXPECT_EQ(stats().pass_too_big, 1u);
  // The client accepts 1500-octet messages: served.
  Request ok(DISCOVER, cat({{57, 2, 0x05, 0xdc}, o61, o82}));
  expect_reply(ok.frame(), expected_reply(ok, kClientMac, kClientIp, 68, 0,
                                          cat({base_options(OFFER), o61, o82, {255}})));
}

TEST_F(FastPathTest, EchoedOptionsThatNoParserAcceptsGoToTheSlowPath) {
  // Found by bng_fastpath_fuzz_tests: options 61 and 82 are echoed into the reply, so one
  // that is malformed (61 without an identifier, 82 without a whole sub-option) made a reply
  // that libbng's codec refuses. Such requests are malformed: the slow path sees them.
  cache_client();
  expect_pass(Request(DISCOVER, {61, 1, 1}).frame());
  expect_pass(Request(DISCOVER, {82, 1, 's'}).frame());
  expect_pass(Request(DISCOVER, {82, 4, 1, 2, 'a', 'b', 2}).frame());  // 2nd sub-option cut
  expect_pass(Request(DISCOVER, {82, 5, 2, 1, 'x', 1, 9, 'c'}).frame());  // runs past
  EXPECT_EQ(stats().pass_malformed, 4u);
  // A whole sub-option list still serves (and the first circuit-id is the one echoed).
  Request ok(DISCOVER, {82, 7, 2, 1, 'x', 1, 2, 'c', 'd'});
  expect_reply(ok.frame(), expected_reply(ok, kClientMac, kClientIp, 68, 0,
                                          cat({base_options(OFFER), {82, 7, 2, 1, 'x', 1, 2, 'c', 'd'}, {255}})));
}

/// Valid requests of every shape, used by the malformed-frame tests below.
std::vector<Bytes> valid_requests() {
  std::vector<Bytes> out;
  out.push_back(fpt::from_hex(kDiscoverHex));
  Request qinq(REQUEST, cat({{50, 4},
                             ipb(kClientIp),
                             {54, 4},
                             ipb(kServerIp),
                             {61, 7, 1, 2, 0x11, 0x22, 0x33, 0x44, 0x55},
                             {82, 6, 1, 4, 'a', 'b', 'c', 'd'},
                             {55, 4, 1, 15, 26, 28}}));
  qinq.l2.tags = {Tag{0x88a8, 200}, Tag{0x8100, 300}};
  qinq.b.min_len = 0;
  out.push_back(qinq.frame());
  Request relayed(DISCOVER, {82, 6, 1, 4, 'p', 'o', 'r', 't'});
  relayed.l2 = L2{kServerMac, kRelayMac, {}};
  relayed.ip = fpt::udp4(kRelayIp, kServerIp, 67, 67);
  relayed.b.giaddr = kRelayIp;
  out.push_back(relayed.frame());
  Request renew(REQUEST);
  renew.l2 = L2{kServerMac, kClientMac, {Tag{0x8100, 100}}};
  renew.ip = fpt::udp4(kClientIp, kServerIp, 68, 67);
  renew.b.ciaddr = kClientIp;
  out.push_back(renew.frame());
  return out;
}

class FastPathMalformedTest : public FastPathTest {
 protected:
  void SetUp() override {
    FastPathTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    cache_client();
    ASSERT_TRUE(fp_->cache_by_vlan(VlanKey{200, 300}, entry()));
    ASSERT_TRUE(fp_->cache_by_vlan(VlanKey{0, 100}, entry()));
  }
  /// Any outcome but a malformed reply: XDP_PASS with the frame untouched, or XDP_TX with
  /// a well-formed reply for the cached address. Returns the action.
  std::uint32_t run_checked(const Bytes& f, const std::string& what) {
    TestRunOutput out = run(f);
    if (out.action == XDP_PASS) {
      EXPECT_EQ(out.frame, f) << what << ": XDP_PASS must leave the frame untouched";
    } else if (out.action == XDP_TX) {
      const fpt::ReplyCheck c = fpt::check_reply(out.frame);
      EXPECT_TRUE(c.ok) << what << ": malformed reply: " << c.why << "\n" << fpt::to_hex(out.frame);
      EXPECT_EQ(c.yiaddr, kClientIp) << what;
    } else {
      ADD_FAILURE() << what << ": unexpected action " << out.action;
    }
    return out.action;
  }
  void expect_every_request_accounted() {
    const Stats s = stats();
    EXPECT_EQ(s.rx_requests, s.tx_offer + s.tx_ack + s.passed() + s.drop_error);
    EXPECT_EQ(s.drop_error, 0u);
  }
};

TEST_F(FastPathMalformedTest, ValidRequestsAreServed) {
  for (const Bytes& f : valid_requests()) EXPECT_EQ(run_checked(f, "valid"), XDP_TX);
}

TEST_F(FastPathMalformedTest, TruncatedAtEveryLengthIsPassedUntouched) {
  // BPF_PROG_TEST_RUN needs at least an Ethernet header (14 bytes).
  for (const Bytes& full : valid_requests()) {
    for (std::size_t len = 14; len < full.size(); ++len) {
      const Bytes f(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(len));
      EXPECT_EQ(run_checked(f, "truncated to " + std::to_string(len)), XDP_PASS) << len;
    }
  }
  expect_every_request_accounted();
  EXPECT_EQ(stats().tx_offer + stats().tx_ack, 0u);
}

TEST_F(FastPathMalformedTest, ByteFlipsNeverProduceAMalformedReply) {
  for (bool verify : {true, false}) {
    ServerConfig c = server_config();
    c.verify_checksums = verify;
    ASSERT_TRUE(fp_->set_server_config(c));
    for (const Bytes& good : valid_requests()) {
      for (std::size_t i = 0; i < good.size(); ++i) {
        for (std::uint8_t x : {0x01, 0x80, 0xff}) {
          Bytes f = good;
          f[i] ^= x;
          run_checked(f, "byte " + std::to_string(i) + " ^ " + std::to_string(x));
        }
      }
    }
  }
  expect_every_request_accounted();
}

TEST_F(FastPathMalformedTest, RandomOptionListsNeverProduceAMalformedReply) {
  ServerConfig c = server_config();
  c.verify_checksums = false;
  ASSERT_TRUE(fp_->set_server_config(c));
  std::mt19937 rng(20261122);
  const std::uint8_t interesting[] = {0, 255, 53, 50, 54, 55, 57, 61, 82, 52, 12, 1};
  int served = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    Bytes opts;
    if (iter % 2 == 0) opts = {53, 1, static_cast<std::uint8_t>(iter % 4 == 0 ? 1 : 3)};
    const int n = static_cast<int>(rng() % 12);
    for (int k = 0; k < n; ++k) {
      const std::uint8_t code = interesting[rng() % sizeof(interesting)];
      opts.push_back(code);
      if (code == 0 || code == 255) continue;
      const std::uint8_t len = static_cast<std::uint8_t>(rng() % (rng() % 4 == 0 ? 256 : 8));
      opts.push_back(len);
      for (int b = 0; b < len; ++b) opts.push_back(static_cast<std::uint8_t>(rng()));
    }
    if (rng() % 4 != 0) opts.push_back(255);
    Request r(DISCOVER);
    r.b.options = opts;
    r.b.min_len = 240 + (rng() % 3 == 0 ? 0 : rng() % 400);
    if (rng() % 3 == 0) r.l2.tags = {Tag{0x88a8, 200}, Tag{0x8100, 300}};
    if (r.b.min_len + 28 + 22 > 1514) continue;
    if (run_checked(r.frame(), "random options #" + std::to_string(iter)) == XDP_TX) ++served;
  }
  EXPECT_GT(served, 0);
  expect_every_request_accounted();
}

TEST_F(FastPathTest, CountersAndEventsTrackEveryServedLease) {
  cache_client();
  ASSERT_TRUE(fp_->cache_by_vlan(VlanKey{0, 100}, entry()));
  const Bytes discover = fpt::from_hex(kDiscoverHex);
  Request request(REQUEST, cat({{50, 4}, ipb(kClientIp), {54, 4}, ipb(kServerIp)}));
  request.b.xid = 0x01020304;
  Request tagged(DISCOVER);
  tagged.l2.tags = {Tag{0x8100, 100}};
  tagged.b.chaddr = {0x02, 0, 0, 0, 0, 0x99};  // not cached by MAC: matched by VLAN
  for (int i = 0; i < 3; ++i) EXPECT_EQ(run(discover).action, XDP_TX);
  EXPECT_EQ(run(request.frame()).action, XDP_TX);
  EXPECT_EQ(run(tagged.frame()).action, XDP_TX);
  expect_pass(Request(REQUEST, cat({{50, 4}, ipb(ip4(10, 0, 0, 9))})).frame());

  Stats want;
  want.rx_requests = 6;
  want.tx_offer = 4;
  want.tx_ack = 1;
  want.pass_mismatch = 1;
  EXPECT_EQ(stats(), want);

  auto ev = events();
  ASSERT_EQ(ev.size(), 5u);
  EXPECT_EQ(ev[3].type, LeaseEvent::Type::ack);
  EXPECT_EQ(ev[3].xid, 0x01020304u);
  EXPECT_EQ(ev[4].type, LeaseEvent::Type::offer);
  EXPECT_EQ(ev[4].matched_by, MatchedBy::vlan);
  EXPECT_EQ(ev[4].chaddr, MacAddress({0x02, 0, 0, 0, 0, 0x99}));
  for (std::size_t i = 1; i < ev.size(); ++i) EXPECT_GE(ev[i].served_at, ev[i - 1].served_at);
  EXPECT_TRUE(events().empty());  // consumed

  ASSERT_TRUE(fp_->reset_stats());
  EXPECT_EQ(stats(), Stats{});
  // BPF_PROG_TEST_RUN with repeat runs again on the frame the program rewrote: the OFFER
  // (to port 68) must not be answered again, nor counted as a request.
  auto r = fp_->test_run(discover, 50);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->frame, fpt::from_hex(kOfferHex));
  want = Stats{};
  want.rx_requests = 1;
  want.tx_offer = 1;
  EXPECT_EQ(stats(), want);
  EXPECT_EQ(events().size(), 1u);
}

TEST_F(FastPathTest, EventRingFullSendsRequestsToTheSlowPath) {
  // A 4 KiB ring holds 4096 / (128 + 8) = 30 events; without a consumer the rest must not
  // be served (they would never reach the lease table).
  FastPathOptions o;
  o.event_ring_bytes = 4096;
  auto small = FastPath::open(o);
  ASSERT_TRUE(small) << small.error().message();
  ASSERT_TRUE(small->set_server_config(server_config()));
  ASSERT_TRUE(small->set_pool(kPool, pool_params()));
  ASSERT_TRUE(small->cache_by_mac(mac(kClientMac), entry()));
  const Bytes discover = fpt::from_hex(kDiscoverHex);
  int served = 0;
  for (int i = 0; i < 40; ++i) {
    auto r = small->test_run(discover);
    ASSERT_TRUE(r);
    if (r->action == XDP_TX) {
      ++served;
    } else {
      EXPECT_EQ(r->action, XDP_PASS);
      EXPECT_EQ(r->frame, discover);
    }
  }
  EXPECT_EQ(served, 30);
  auto s = small->stats();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->pass_event_full, 10u);
  std::size_t n = 0;
  ASSERT_TRUE(small->poll_events([&](const LeaseEvent&) { ++n; }));
  EXPECT_EQ(n, 30u);
  auto again = small->test_run(discover);  // room again
  ASSERT_TRUE(again);
  EXPECT_EQ(again->action, XDP_TX);
}

TEST_F(FastPathTest, CacheApiValidatesAndRoundTrips) {
  const CacheEntry e = entry(90s);
  ASSERT_TRUE(fp_->cache_by_mac(mac(kClientMac), e));
  auto got = fp_->cached_by_mac(mac(kClientMac));
  ASSERT_TRUE(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->ip, e.ip);
  EXPECT_EQ((*got)->pool_id, e.pool_id);
  EXPECT_EQ((*got)->expiry, e.expiry);
  EXPECT_TRUE((*got)->serve_discover);

  // The map holds the address in network order and the expiry in CLOCK_MONOTONIC ns.
  auto raw = fp_->object().map_as<bngkit::ebpfkit::Map<bng_fp_mac_key, bng_fp_subscriber>>(
      BNG_FP_MAP_BY_MAC);
  ASSERT_TRUE(raw) << raw.error().message();
  bng_fp_mac_key k{};
  std::copy(kClientMac.begin(), kClientMac.end(), k.addr);
  auto v = raw->lookup(k);
  ASSERT_TRUE(v && v->has_value());
  const auto* ipb = reinterpret_cast<const std::uint8_t*>(&(*v)->ip_be);
  EXPECT_EQ(Bytes(ipb, ipb + 4), (Bytes{10, 0, 0, 50}));
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  const std::uint64_t now_ns = static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ULL +
                               static_cast<std::uint64_t>(ts.tv_nsec);
  EXPECT_GT((*v)->expiry_ns, now_ns + 80'000'000'000ULL);
  EXPECT_LT((*v)->expiry_ns, now_ns + 91'000'000'000ULL);

  EXPECT_FALSE(fp_->cache_by_circuit_id(Bytes(65, 'x'), e));
  EXPECT_FALSE(fp_->cache_by_circuit_id(Bytes{}, e));
  EXPECT_TRUE(fp_->cache_by_circuit_id(Bytes(64, 'x'), e));
  EXPECT_FALSE(fp_->cache_by_vlan(VlanKey{0, 4096}, e));
  CacheEntry no_ip = e;
  no_ip.ip = Ipv4();
  EXPECT_FALSE(fp_->cache_by_mac(mac(kClientMac), no_ip));
  PoolParams p = pool_params();
  p.dns.resize(5, Ipv4(9, 9, 9, 9));
  EXPECT_FALSE(fp_->set_pool(1, p));
  p = pool_params();
  p.domain_name = std::string(65, 'd');
  EXPECT_FALSE(fp_->set_pool(1, p));
  p = pool_params();
  p.renewal_time = 3000s;
  p.rebinding_time = 2000s;
  EXPECT_FALSE(fp_->set_pool(1, p));
  p = pool_params();
  p.lease_time = 0s;
  EXPECT_FALSE(fp_->set_pool(1, p));
  ServerConfig c;
  EXPECT_FALSE(fp_->set_server_config(c));  // enabled without an address
  EXPECT_FALSE(fp_->uncache_by_mac(mac(kRelayMac)).value_or(true));
}

/// Removes a bpffs pin directory and what is pinned in it.
struct PinDirGuard {
  std::string dir;
  ~PinDirGuard() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

TEST_F(FastPathTest, PinnedCacheSurvivesReopen) {
  PinDirGuard guard{"/sys/fs/bpf/bngkit_fastpath_test_" + std::to_string(getpid())};
  FastPathOptions o;
  o.pin_dir = guard.dir;
  {
    auto first = FastPath::open(o);
    ASSERT_TRUE(first) << first.error().message();
    ASSERT_TRUE(first->set_pool(kPool, pool_params()));
    ASSERT_TRUE(first->cache_by_mac(mac(kClientMac), entry()));
    EXPECT_TRUE(std::filesystem::exists(guard.dir + "/" BNG_FP_MAP_BY_MAC));
    EXPECT_TRUE(std::filesystem::exists(guard.dir + "/" BNG_FP_MAP_POOLS));
  }
  auto second = FastPath::open(o);
  ASSERT_TRUE(second) << second.error().message();
  auto got = second->cached_by_mac(mac(kClientMac));
  ASSERT_TRUE(got && got->has_value());
  EXPECT_EQ((*got)->ip, Ipv4::from_host(kClientIp));
  ASSERT_TRUE(second->set_server_config(server_config()));  // config is not pinned
  auto r = second->test_run(fpt::from_hex(kDiscoverHex));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->action, XDP_TX);
  EXPECT_EQ(r->frame, fpt::from_hex(kOfferHex));

  // A pinned map of another size is not silently reused.
  FastPathOptions other = o;
  other.max_subscribers = 1024;
  EXPECT_FALSE(FastPath::open(other));
  // Not bpffs: a clear error.
  FastPathOptions not_bpffs;
  not_bpffs.pin_dir = "/tmp";
  EXPECT_FALSE(FastPath::open(not_bpffs));
}

/// A veth pair in the root namespace with unique names, deleted on scope exit.
struct VethGuard {
  std::string a, b;
  bool created = false;
  explicit VethGuard(const std::string& base) : a(base + "a"), b(base + "b") {
    created =
        std::system(("ip link add " + a + " type veth peer name " + b +
                     " >/dev/null 2>&1 && ip link set " + a + " up && ip link set " + b + " up")
                        .c_str()) == 0;
  }
  ~VethGuard() {
    if (created) (void)std::system(("ip link del " + a + " >/dev/null 2>&1").c_str());
  }
};

TEST_F(FastPathTest, AttachesAndDetachesXdp) {
  VethGuard veth("fpt" + std::to_string(getpid()));
  ASSERT_TRUE(veth.created) << "could not create a veth pair";
  auto ifindex = bngkit::ebpfkit::interface_index(veth.a);
  ASSERT_TRUE(ifindex);
  EXPECT_EQ(fp_->attached_ifindex(), 0);
  auto a = fp_->attach(veth.a, XdpMode::generic);
  ASSERT_TRUE(a) << a.error().message();
  EXPECT_EQ(fp_->attached_ifindex(), static_cast<int>(*ifindex));
  auto q = bngkit::ebpfkit::xdp_query(*ifindex);
  ASSERT_TRUE(q);
  EXPECT_NE(q->generic_id, 0u);
  EXPECT_FALSE(fp_->attach(veth.a, XdpMode::generic));  // already attached
  ASSERT_TRUE(fp_->detach());
  EXPECT_EQ(fp_->attached_ifindex(), 0);
  q = bngkit::ebpfkit::xdp_query(*ifindex);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->generic_id, 0u);
  EXPECT_FALSE(fp_->attach("no-such-if0", XdpMode::generic));
}

TEST_F(FastPathTest, ReplacesAFastPathLeftBehindByADeadProcess) {
  VethGuard veth("fps" + std::to_string(getpid()));
  ASSERT_TRUE(veth.created) << "could not create a veth pair";
  auto ifindex = bngkit::ebpfkit::interface_index(veth.a);
  ASSERT_TRUE(ifindex);
  // A process attaches the fast path and dies without detaching (as on SIGKILL).
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto fp = FastPath::open();
    _exit(fp && fp->attach(veth.a, XdpMode::generic) ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child could not attach";
  auto q = bngkit::ebpfkit::xdp_query(*ifindex);
  ASSERT_TRUE(q);
  const std::uint32_t stale = q->generic_id;
  ASSERT_NE(stale, 0u) << "the dead process's program stays attached";

  auto a = fp_->attach(veth.a, XdpMode::generic);
  ASSERT_TRUE(a) << a.error().message();
  q = bngkit::ebpfkit::xdp_query(*ifindex);
  ASSERT_TRUE(q);
  EXPECT_NE(q->generic_id, 0u);
  EXPECT_NE(q->generic_id, stale) << "ours replaced the stale one";
  ASSERT_TRUE(fp_->detach());
  q = bngkit::ebpfkit::xdp_query(*ifindex);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->generic_id, 0u) << "detach must not bring the stale program back";
}

/// A raw AF_PACKET socket bound to one interface, closed on scope exit.
struct PacketSocket {
  int fd = -1;
  explicit PacketSocket(unsigned ifindex) {
    fd = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
    if (fd < 0) return;
    sockaddr_ll sll{};
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_ALL);
    sll.sll_ifindex = static_cast<int>(ifindex);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&sll), sizeof(sll)) != 0) {
      ::close(fd);
      fd = -1;
    }
  }
  ~PacketSocket() {
    if (fd >= 0) ::close(fd);
  }
  bool send(const Bytes& f) const {
    return ::send(fd, f.data(), f.size(), 0) == static_cast<ssize_t>(f.size());
  }
  /// The next frame received (not sent by us) for which `match` holds, within `timeout`.
  template <typename Match>
  std::optional<Bytes> receive(Match match, std::chrono::milliseconds timeout) const {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      Bytes buf(2048);
      sockaddr_ll from{};
      socklen_t len = sizeof(from);
      const ssize_t n =
          ::recvfrom(fd, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n <= 0 || from.sll_pkttype == PACKET_OUTGOING) continue;
      buf.resize(static_cast<std::size_t>(n));
      if (match(buf)) return buf;
    }
    return std::nullopt;
  }
};

TEST_F(FastPathTest, ServesRealFramesOnAnInterface) {
  // The program attached (generic XDP) to one end of a veth pair answers a DISCOVER sent
  // into the other end; the OFFER comes back out of that end, byte for byte.
  VethGuard veth("fpu" + std::to_string(getpid()));
  ASSERT_TRUE(veth.created) << "could not create a veth pair";
  auto ia = bngkit::ebpfkit::interface_index(veth.a);
  auto ib = bngkit::ebpfkit::interface_index(veth.b);
  ASSERT_TRUE(ia && ib);
  cache_client();
  ASSERT_TRUE(fp_->attach(veth.a, XdpMode::generic));
  PacketSocket peer(*ib);
  ASSERT_GE(peer.fd, 0) << "AF_PACKET socket";
  ASSERT_TRUE(peer.send(fpt::from_hex(kDiscoverHex)));
  const Bytes offer = fpt::from_hex(kOfferHex);
  auto got = peer.receive(
      [&](const Bytes& f) {
        return f.size() >= 42 && f[12] == 0x08 && f[13] == 0x00 && f[36] == 0 && f[37] == 68;
      },
      2s);
  ASSERT_TRUE(got) << "no OFFER came back";
  EXPECT_EQ(*got, offer) << fpt::diff(*got, offer);
  std::vector<LeaseEvent> ev;
  auto n = fp_->poll_events([&](const LeaseEvent& e) { ev.push_back(e); }, 1s);
  ASSERT_TRUE(n);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].ifindex, *ia);
  ASSERT_TRUE(fp_->detach());
}

// Fault: more subscribers than the cache holds. The LRU maps never refuse an entry; the
// least recently used ones leave, their clients are passed to the slow path untouched
// (bng_dhcp_fastpath_passed_total{reason="no_entry"} grows), and no reply ever carries
// another subscriber's address.
TEST(FastPathCapacity, AFullCacheEvictsTheOldestAndTheirClientsGoToTheSlowPath) {
  if (!is_root()) GTEST_SKIP() << "needs root/CAP_BPF: loads and test-runs an XDP program";
  FastPathOptions options;
  options.max_subscribers = 64;
  auto opened = FastPath::open(options);
  ASSERT_TRUE(opened) << opened.error().message();
  auto& fp = *opened;
  ServerConfig c;
  c.server_ip = Ipv4::from_host(kServerIp);
  c.server_mac = mac(kServerMac);
  ASSERT_TRUE(fp.set_server_config(c));
  PoolParams p;
  p.subnet_mask = Ipv4(255, 255, 255, 0);
  p.router = Ipv4(10, 0, 0, 1);
  p.lease_time = 3600s;
  ASSERT_TRUE(fp.set_pool(kPool, p));

  constexpr int kSubscribers = 512;
  auto mac_of = [](int i) { return Mac{0x02, 0x42, 0, 0, static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i)}; };
  auto ip_of = [](int i) { return ip4(10, 0, static_cast<std::uint8_t>(1 + (i >> 8)), static_cast<std::uint8_t>(i)); };
  for (int i = 0; i < kSubscribers; ++i) {
    CacheEntry e;
    e.ip = Ipv4::from_host(ip_of(i));
    e.pool_id = kPool;
    e.expiry = std::chrono::steady_clock::now() + 1h;
    ASSERT_TRUE(fp.cache_by_mac(mac(mac_of(i)), e)) << "an LRU cache takes every entry (" << i << ")";
  }
  int served = 0, passed = 0;
  for (int i = 0; i < kSubscribers; ++i) {
    Request d(DISCOVER, {55, 3, 1, 3, 6});
    d.l2.src = mac_of(i);
    d.b.chaddr = mac_of(i);
    const Bytes frame = d.frame();
    auto out = fp.test_run(frame);
    ASSERT_TRUE(out) << out.error().message();
    if (out->action == XDP_TX) {
      ++served;
      const auto check = fpt::check_reply(out->frame);
      EXPECT_TRUE(check.ok) << check.why;
      EXPECT_EQ(check.yiaddr, ip_of(i)) << "subscriber " << i << " got another's address";
    } else {
      ++passed;
      EXPECT_EQ(out->action, XDP_PASS);
      EXPECT_EQ(out->frame, frame) << "passed frames stay untouched";
    }
  }
  EXPECT_GT(served, 0) << "the most recent subscribers are still served in the kernel";
  EXPECT_LE(served, 2 * 64) << "the cache holds about its capacity (LRU lists are per CPU)";
  EXPECT_GT(passed, kSubscribers / 2) << "the evicted ones go to the slow path";
  auto st = fp.stats();
  ASSERT_TRUE(st);
  EXPECT_EQ(st->pass_no_entry, static_cast<std::uint64_t>(passed));
}

}  // namespace
