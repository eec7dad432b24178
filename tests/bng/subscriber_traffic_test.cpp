// SubscriberTraffic tests (privileged): the TC programs run with BPF_PROG_TEST_RUN on
// byte-exact frames (untagged, 802.1Q, QinQ, non-IPv4, truncated, GSO aggregates) and the
// counters are checked exactly; the token bucket drops an over-rate burst once it is
// empty; rate changes keep counters; remove() returns the final counters; pinned maps
// survive re-creation; attach/detach (and replacing a filter a dead process left) on a
// veth; and real traffic between two network namespaces: ping counted to the octet, a
// UDP flood held to the configured rate in each direction while unlimited traffic is
// much faster.
#include <arpa/inet.h>
#include <bngkit/bng/fastpath/subscriber_traffic_abi.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bngkit/bng/fastpath/subscriber_traffic.hpp>
#include <bngkit/bng/session/session_manager.hpp>
#include <bngkit/ebpfkit/attach.hpp>
#include <bngkit/ebpfkit/pin.hpp>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

using bngkit::bng::Ipv4;
using namespace bngkit::bng::fastpath;
using Frame = std::vector<std::uint8_t>;

static_assert(sizeof(bng_st_key) == 4);
static_assert(sizeof(bng_st_bucket) == 32 && offsetof(bng_st_bucket, tokens_ns) == 16);
static_assert(sizeof(bng_st_policy) == 72 && offsetof(bng_st_policy, up) == 8 &&
              offsetof(bng_st_policy, down) == 40);
static_assert(sizeof(bng_st_counters) == 64 && offsetof(bng_st_counters, dropped_packets_up) == 32);
static_assert(sizeof(bng_st_stats) == 64 && offsetof(bng_st_stats, non_ipv4) == 32);

constexpr std::int32_t kPass = -1;  // TC_ACT_UNSPEC
constexpr std::int32_t kShot = 2;   // TC_ACT_SHOT

bool is_root() { return ::geteuid() == 0; }

#define REQUIRE_ROOT()                                                                    \
  do {                                                                                    \
    if (!is_root()) GTEST_SKIP() << "needs root/CAP_BPF: loads and runs TC programs";     \
  } while (0)

const Ipv4 kSub{10, 0, 0, 2};
const Ipv4 kSub2{10, 0, 0, 3};
const Ipv4 kServer{192, 0, 2, 1};

// ---- Frames -----------------------------------------------------------------------------

void put16(Frame& f, std::uint16_t v) {
  f.push_back(static_cast<std::uint8_t>(v >> 8));
  f.push_back(static_cast<std::uint8_t>(v));
}

struct Tag {
  std::uint16_t tpid;
  std::uint16_t vid;
};

// Ethernet (+ tags) + IPv4 (20 octets) + UDP (or TCP header, 20 octets) + zero payload
// filling ip_len octets; padded to the 60-octet Ethernet minimum.
Frame frame(Ipv4 src, Ipv4 dst, std::uint16_t ip_len, std::vector<Tag> tags = {},
            std::uint8_t proto = 17) {
  Frame f = {0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02};
  for (const Tag& t : tags) {
    put16(f, t.tpid);
    put16(f, t.vid);
  }
  put16(f, 0x0800);
  const std::size_t ip = f.size();
  f.insert(f.end(), {0x45, 0x00});
  put16(f, ip_len);
  f.insert(f.end(), {0x12, 0x34, 0x40, 0x00, 64, proto, 0, 0});
  for (auto b : src.bytes()) f.push_back(b);
  for (auto b : dst.bytes()) f.push_back(b);
  std::uint32_t sum = 0;
  for (std::size_t i = ip; i < ip + 20; i += 2) sum += (f[i] << 8) | f[i + 1];
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  f[ip + 10] = static_cast<std::uint8_t>(~sum >> 8);
  f[ip + 11] = static_cast<std::uint8_t>(~sum);
  if (proto == 6) {
    // TCP header, data offset 5 (20 octets)
    f.insert(f.end(), {0x30, 0x39, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x10, 0xff, 0xff,
                       0, 0, 0, 0});
  } else {
    put16(f, 12345);
    put16(f, 5201);
    put16(f, static_cast<std::uint16_t>(ip_len - 20));
    put16(f, 0);
  }
  f.resize(ip + ip_len, 0);
  if (f.size() < 60) f.resize(60, 0);
  return f;
}

// An independent fixture: a 60-octet frame, 10.0.0.2:12345 -> 192.0.2.1:5201, UDP with no
// payload (IPv4 total length 28), Ethernet padding after it. Written out by hand.
const Frame kUpHex = {
    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x00,  // eth
    0x45, 0x00, 0x00, 0x1c, 0x12, 0x34, 0x40, 0x00, 0x40, 0x11, 0x5c, 0x9a,              // ip
    0x0a, 0x00, 0x00, 0x02, 0xc0, 0x00, 0x02, 0x01,                                      //
    0x30, 0x39, 0x14, 0x51, 0x00, 0x08, 0x00, 0x00,                                      // udp
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};                               // pad

class SubscriberTrafficTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_ROOT();
    SubscriberTrafficOptions o;
    o.max_subscribers = 128;
    auto st = SubscriberTraffic::create(o);
    ASSERT_TRUE(st) << st.error().message();
    st_.emplace(std::move(st).value());
  }

  std::int32_t run(TrafficDirection d, const Frame& f, std::uint32_t gso_segs = 0) {
    auto r = st_->test_run(d, f, gso_segs);
    EXPECT_TRUE(r) << r.error().message();
    return r ? r->action : 0;
  }
  TrafficCounters counters(Ipv4 ip) {
    auto c = st_->counters(ip);
    EXPECT_TRUE(c) << c.error().message();
    EXPECT_TRUE(c && *c) << "no counters for " << ip.to_string();
    return c && *c ? **c : TrafficCounters{};
  }
  SubscriberTrafficStatus status() {
    auto s = st_->status();
    EXPECT_TRUE(s) << s.error().message();
    return s ? *s : SubscriberTrafficStatus{};
  }

  std::optional<SubscriberTraffic> st_;
};

TEST_F(SubscriberTrafficTest, FrameBuilderMatchesHandWrittenFixture) {
  EXPECT_EQ(frame(kSub, kServer, 28), kUpHex);
}

TEST_F(SubscriberTrafficTest, CountsEachDirectionToTheOctet) {
  ASSERT_TRUE(st_->add(kSub, RatePolicy{}));
  EXPECT_EQ(counters(kSub), TrafficCounters{});
  // Up: keyed by the source. The padded 60-octet frame counts its 28 IPv4 octets.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(run(TrafficDirection::up, kUpHex), kPass);
  EXPECT_EQ(run(TrafficDirection::up, frame(kSub, kServer, 1500)), kPass);
  // Down: keyed by the destination.
  EXPECT_EQ(run(TrafficDirection::down, frame(kServer, kSub, 100)), kPass);
  EXPECT_EQ(run(TrafficDirection::down, frame(kServer, kSub, 576)), kPass);
  TrafficCounters want;
  want.packets_up = 4;
  want.octets_up = 3 * 28 + 1500;
  want.packets_down = 2;
  want.octets_down = 100 + 576;
  EXPECT_EQ(counters(kSub), want);

  // The subscriber's address on the wrong side of a direction is not its traffic.
  EXPECT_EQ(run(TrafficDirection::up, frame(kServer, kSub, 200)), kPass);
  EXPECT_EQ(run(TrafficDirection::down, frame(kSub, kServer, 300)), kPass);
  EXPECT_EQ(counters(kSub), want);
  auto s = status();
  EXPECT_EQ(s.unknown_packets_up, 1u);
  EXPECT_EQ(s.unknown_octets_up, 200u);
  EXPECT_EQ(s.unknown_packets_down, 1u);
  EXPECT_EQ(s.unknown_octets_down, 300u);
  EXPECT_EQ(s.entries, 1u);
  EXPECT_EQ(s.capacity, 128u);
  EXPECT_FALSE(s.attached);
}

TEST_F(SubscriberTrafficTest, VlanAndQinQFramesCountLikeUntaggedOnes) {
  ASSERT_TRUE(st_->add(kSub, RatePolicy{}));
  const std::vector<std::vector<Tag>> tagsets = {
      {},
      {{0x8100, 100}},                  // 802.1Q
      {{0x88a8, 10}, {0x8100, 200}},    // QinQ (802.1ad outer)
      {{0x8100, 10}, {0x8100, 200}},    // QinQ with two 802.1Q tags
      {{0x9100, 10}, {0x8100, 200}},    // pre-standard QinQ outer TPID
  };
  for (const auto& tags : tagsets) {
    EXPECT_EQ(run(TrafficDirection::up, frame(kSub, kServer, 64, tags)), kPass);
    EXPECT_EQ(run(TrafficDirection::down, frame(kServer, kSub, 1000, tags)), kPass);
  }
  TrafficCounters want;
  want.packets_up = 5;
  want.octets_up = 5 * 64;
  want.packets_down = 5;
  want.octets_down = 5 * 1000;
  EXPECT_EQ(counters(kSub), want);
  // Three tags: more than the BNG serves; passed and counted as malformed.
  const Frame triple = frame(kSub, kServer, 64, {{0x88a8, 1}, {0x8100, 2}, {0x8100, 3}});
  EXPECT_EQ(run(TrafficDirection::up, triple), kPass);
  EXPECT_EQ(counters(kSub), want);
  EXPECT_EQ(status().malformed, 1u);
}

TEST_F(SubscriberTrafficTest, NonIpv4AndBadHeadersPassUntouched) {
  ASSERT_TRUE(st_->add(kSub, RatePolicy{1'000, 1'000, 100}));  // would drop nearly anything
  // ARP request who-has 192.0.2.1 tell 10.0.0.2.
  Frame arp = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 0x02, 0x08, 0x06,
               0x00, 0x01, 0x08, 0x00, 6,    4,    0x00, 0x01, 0x02, 0, 0, 0, 0, 0x02,
               10,   0,    0,    2,    0,    0,    0,    0,    0,    0, 192, 0, 2, 1};
  arp.resize(60, 0);
  EXPECT_EQ(run(TrafficDirection::up, arp), kPass);
  // IPv6 (EtherType 0x86dd), inside an 802.1Q tag too.
  Frame v6 = frame(kSub, kServer, 100);
  v6[12] = 0x86;
  v6[13] = 0xdd;
  EXPECT_EQ(run(TrafficDirection::up, v6), kPass);
  Frame v6tagged = frame(kSub, kServer, 100, {{0x8100, 5}});
  v6tagged[16] = 0x86;
  v6tagged[17] = 0xdd;
  EXPECT_EQ(run(TrafficDirection::down, v6tagged), kPass);
  EXPECT_EQ(status().non_ipv4, 3u);

  // EtherType IPv4 with a bad version, a too short IHL, a total length past the frame
  // and one shorter than the header.
  Frame bad_version = frame(kSub, kServer, 100);
  bad_version[14] = 0x65;
  Frame bad_ihl = frame(kSub, kServer, 100);
  bad_ihl[14] = 0x44;
  Frame too_long = frame(kSub, kServer, 100);
  too_long[16] = 0x05;  // tot_len 0x0564 = 1380 > 100
  Frame too_short = frame(kSub, kServer, 100);
  too_short[17] = 19;
  too_short[16] = 0;
  for (const Frame* f : {&bad_version, &bad_ihl, &too_long, &too_short}) {
    EXPECT_EQ(run(TrafficDirection::up, *f), kPass);
  }
  EXPECT_EQ(status().malformed, 4u);
  EXPECT_EQ(counters(kSub), TrafficCounters{});
}

TEST_F(SubscriberTrafficTest, TruncatedFramesPassUncountedAtEveryLength) {
  ASSERT_TRUE(st_->add(kSub, RatePolicy{}));
  std::uint64_t truncated = 0;
  for (const auto& tags : std::vector<std::vector<Tag>>{{}, {{0x8100, 7}}, {{0x88a8, 1}, {0x8100, 2}}}) {
    const Frame full = frame(kSub, kServer, 200, tags);
    // BPF_PROG_TEST_RUN needs at least an Ethernet header (14 octets), and for EtherType
    // IPv4 a whole IPv4 header (the kernel refuses shorter frames); tagged frames are
    // taken at every length, so the program's own bounds checks see headers cut anywhere.
    const std::size_t shortest = tags.empty() ? 14 + 20 : 14;
    for (std::size_t len = shortest; len < full.size(); ++len) {
      const Frame cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(len));
      EXPECT_EQ(run(TrafficDirection::up, cut), kPass) << "length " << len;
      EXPECT_EQ(run(TrafficDirection::down, cut), kPass) << "length " << len;
      truncated += 2;
    }
  }
  EXPECT_EQ(counters(kSub), TrafficCounters{});
  auto s = status();
  EXPECT_EQ(s.malformed, truncated);
  EXPECT_EQ(s.unknown_packets_up + s.unknown_packets_down, 0u);
}

TEST_F(SubscriberTrafficTest, UnknownAddressesAreUntouchedEvenWhenOthersAreLimited) {
  ASSERT_TRUE(st_->add(kSub, RatePolicy{8'000, 8'000, 1'000}));
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(run(TrafficDirection::up, frame(kSub2, kServer, 1500)), kPass);
    EXPECT_EQ(run(TrafficDirection::down, frame(kServer, kSub2, 1500)), kPass);
  }
  auto c = st_->counters(kSub2);
  ASSERT_TRUE(c);
  EXPECT_FALSE(*c);
  auto s = status();
  EXPECT_EQ(s.unknown_packets_up, 20u);
  EXPECT_EQ(s.unknown_octets_up, 20u * 1500);
  EXPECT_EQ(s.unknown_packets_down, 20u);
  EXPECT_EQ(counters(kSub), TrafficCounters{});
}

TEST_F(SubscriberTrafficTest, OverRateBurstIsDroppedOnceTheBucketIsEmpty) {
  // 100 kbit/s refills 12.5 octets per ms; the bucket holds three 1000-octet packets.
  ASSERT_TRUE(st_->add(kSub, RatePolicy{100'000, 0, 3'000}));
  const Frame up = frame(kSub, kServer, 1000);
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::int32_t> verdicts;
  for (int i = 0; i < 10; ++i) verdicts.push_back(run(TrafficDirection::up, up));
  const auto took = std::chrono::steady_clock::now() - t0;
  // Refill during the loop must stay below one packet (80 ms) for exact numbers.
  ASSERT_LT(took, std::chrono::milliseconds(60)) << "test runs too slow for exact counts";
  const std::vector<std::int32_t> want = {kPass, kPass, kPass, kShot, kShot,
                                          kShot, kShot, kShot, kShot, kShot};
  EXPECT_EQ(verdicts, want);
  // The down direction is unlimited: it is not held back by the empty up bucket.
  for (int i = 0; i < 10; ++i) EXPECT_EQ(run(TrafficDirection::down, frame(kServer, kSub, 1000)), kPass);
  TrafficCounters c = counters(kSub);
  EXPECT_EQ(c.packets_up, 3u);
  EXPECT_EQ(c.octets_up, 3000u);
  EXPECT_EQ(c.dropped_up, 7u);
  EXPECT_EQ(c.dropped_octets_up, 7000u);
  EXPECT_EQ(c.packets_down, 10u);
  EXPECT_EQ(c.dropped_down, 0u);

  // After 100 ms the bucket holds 1250 octets: one packet passes, the next is dropped.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(run(TrafficDirection::up, up), kPass);
  EXPECT_EQ(run(TrafficDirection::up, up), kShot);
  c = counters(kSub);
  EXPECT_EQ(c.packets_up, 4u);
  EXPECT_EQ(c.dropped_up, 8u);
}

TEST_F(SubscriberTrafficTest, GsoAggregatesCountAsTheirSegmentsAndAreNotStarved) {
  ASSERT_TRUE(st_->add(kSub, RatePolicy{0, 100'000, 2'000}));
  // TCP aggregates (BPF_PROG_TEST_RUN takes frames up to about 3.5 KiB): each extra
  // segment has its own 20-octet IPv4 and 20-octet TCP header on the wire.
  EXPECT_EQ(run(TrafficDirection::up, frame(kSub, kServer, 3000, {}, 6), 3), kPass);
  // Down is limited with a 2000-octet bucket: the full bucket lets the bigger aggregate
  // through once (into debt), then everything is dropped until the debt is paid back.
  const Frame agg = frame(kServer, kSub, 3000, {}, 6);
  EXPECT_EQ(run(TrafficDirection::down, agg, 3), kPass);
  EXPECT_EQ(run(TrafficDirection::down, agg, 3), kShot);
  EXPECT_EQ(run(TrafficDirection::down, frame(kServer, kSub, 100)), kShot);
  TrafficCounters want;
  want.packets_up = 3;
  want.octets_up = 3000 + 2 * 40;
  want.packets_down = 3;
  want.octets_down = 3000 + 2 * 40;
  want.dropped_down = 3 + 1;
  want.dropped_octets_down = 3000 + 2 * 40 + 100;
  EXPECT_EQ(counters(kSub), want);
}

TEST_F(SubscriberTrafficTest, ChangingTheRateKeepsCounters) {
  ASSERT_TRUE(st_->add(kSub, RatePolicy{}));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(run(TrafficDirection::up, frame(kSub, kServer, 1000)), kPass);
  const TrafficCounters before = counters(kSub);
  EXPECT_EQ(before.packets_up, 5u);

  // CoA: limit up to 100 kbit/s with a 2000-octet bucket; counters stay, the new bucket
  // starts full and then holds.
  ASSERT_TRUE(st_->add(kSub, RatePolicy{100'000, 2'000'000, 2'000}));
  EXPECT_EQ(counters(kSub), before);
  auto p = st_->policy(kSub);
  ASSERT_TRUE(p && *p);
  EXPECT_EQ(**p, (RatePolicy{100'000, 2'000'000, 2'000}));
  EXPECT_EQ(run(TrafficDirection::up, frame(kSub, kServer, 1000)), kPass);
  EXPECT_EQ(run(TrafficDirection::up, frame(kSub, kServer, 1000)), kPass);
  EXPECT_EQ(run(TrafficDirection::up, frame(kSub, kServer, 1000)), kShot);
  TrafficCounters c = counters(kSub);
  EXPECT_EQ(c.packets_up, 7u);
  EXPECT_EQ(c.octets_up, 7000u);
  EXPECT_EQ(c.dropped_up, 1u);

  // Back to unlimited: everything passes again, counters still kept.
  ASSERT_TRUE(st_->add(kSub, RatePolicy{}));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(run(TrafficDirection::up, frame(kSub, kServer, 1000)), kPass);
  c = counters(kSub);
  EXPECT_EQ(c.packets_up, 12u);
  EXPECT_EQ(c.dropped_up, 1u);
  // Default burst: 250 ms at the rate, at least 64 KiB.
  ASSERT_TRUE(st_->add(kSub, RatePolicy{80'000'000, 1'000'000, 0}));
  p = st_->policy(kSub);
  ASSERT_TRUE(p && *p);
  EXPECT_EQ((*p)->burst_bytes, 2'500'000u);  // the larger of 2.5 MB (up) and 64 KiB (down)
}

TEST_F(SubscriberTrafficTest, RemoveReturnsTheFinalCounters) {
  ASSERT_TRUE(st_->add(kSub, RatePolicy{}));
  ASSERT_TRUE(st_->add(kSub2, RatePolicy{}));
  EXPECT_EQ(run(TrafficDirection::up, frame(kSub, kServer, 400)), kPass);
  EXPECT_EQ(run(TrafficDirection::down, frame(kServer, kSub, 600)), kPass);
  EXPECT_EQ(run(TrafficDirection::down, frame(kServer, kSub2, 50)), kPass);

  auto all = st_->all_counters();
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 2u);
  for (const auto& [ip, c] : *all) {
    EXPECT_TRUE(ip == kSub || ip == kSub2) << ip.to_string();
    EXPECT_EQ(c.octets_down, ip == kSub ? 600u : 50u);
  }

  auto final_counters = st_->remove(kSub);
  ASSERT_TRUE(final_counters);
  ASSERT_TRUE(*final_counters);
  TrafficCounters want;
  want.packets_up = 1;
  want.octets_up = 400;
  want.packets_down = 1;
  want.octets_down = 600;
  EXPECT_EQ(**final_counters, want);
  auto gone = st_->counters(kSub);
  ASSERT_TRUE(gone);
  EXPECT_FALSE(*gone);
  auto again = st_->remove(kSub);
  ASSERT_TRUE(again);
  EXPECT_FALSE(*again);
  // After removal its traffic is unknown traffic.
  EXPECT_EQ(run(TrafficDirection::up, frame(kSub, kServer, 400)), kPass);
  EXPECT_EQ(status().unknown_packets_up, 1u);
  EXPECT_EQ(status().entries, 1u);
  // Adding it again starts from zero.
  ASSERT_TRUE(st_->add(kSub, RatePolicy{}));
  EXPECT_EQ(counters(kSub), TrafficCounters{});
}

// The session manager reads every active session each tick: one dump of the map, answers in
// the order asked, an error for an address the kernel does not count.
TEST_F(SubscriberTrafficTest, SessionsReadEveryCounterInOnePass) {
  ASSERT_TRUE(st_->add(kSub, RatePolicy{}));
  ASSERT_TRUE(st_->add(kSub2, RatePolicy{}));
  EXPECT_EQ(run(TrafficDirection::down, frame(kServer, kSub, 600)), kPass);
  EXPECT_EQ(run(TrafficDirection::up, frame(kSub2, kServer, 70)), kPass);
  bngkit::bng::session::KernelTraffic kernel(*st_);
  const Ipv4 unknown = Ipv4::from_host(0x0a000163);
  const std::vector<Ipv4> asked = {kSub2, unknown, kSub};
  auto read = kernel.read_many(asked);
  ASSERT_EQ(read.size(), 3u);
  ASSERT_TRUE(read[0]);
  EXPECT_EQ(read[0]->octets_up, 70u);
  EXPECT_EQ(read[0]->octets_down, 0u);
  ASSERT_FALSE(read[1]);
  EXPECT_NE(read[1].error().message().find("no kernel counters for 10.0.1.99"), std::string::npos)
      << read[1].error().message();
  ASSERT_TRUE(read[2]);
  EXPECT_EQ(read[2]->octets_down, 600u);
  // The same answers one read() at a time.
  EXPECT_EQ(*kernel.read(kSub), *read[2]);
  EXPECT_EQ(*kernel.read(kSub2), *read[0]);
  EXPECT_FALSE(kernel.read(unknown));
}

TEST_F(SubscriberTrafficTest, BadInputIsRejectedWithAClearError) {
  auto r = st_->add(Ipv4{}, RatePolicy{});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("0.0.0.0"), std::string::npos) << r.error().message();
  r = st_->add(kSub, RatePolicy{200'000'000'000ULL, 0, 0});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("up_bps"), std::string::npos) << r.error().message();
  r = st_->add(kSub, RatePolicy{0, 1'000, (1ULL << 30) + 1});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("burst_bytes"), std::string::npos) << r.error().message();
  EXPECT_FALSE(st_->attach());  // no interface in the options
  auto none = SubscriberTraffic::create(SubscriberTrafficOptions{"", "", 0});
  EXPECT_FALSE(none);
}

TEST_F(SubscriberTrafficTest, FullMapIsAnErrorNamingTheCapacity) {
  SubscriberTrafficOptions o;
  o.max_subscribers = 2;
  auto small = SubscriberTraffic::create(o);
  ASSERT_TRUE(small) << small.error().message();
  ASSERT_TRUE(small->add(Ipv4{10, 0, 0, 1}, RatePolicy{}));
  ASSERT_TRUE(small->add(Ipv4{10, 0, 0, 2}, RatePolicy{}));
  auto r = small->add(Ipv4{10, 0, 0, 3}, RatePolicy{});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("capacity 2"), std::string::npos) << r.error().message();
  // The entries that were there still work, and changing one of them still does.
  EXPECT_TRUE(small->add(Ipv4{10, 0, 0, 2}, RatePolicy{1'000'000, 0, 0}));
  auto s = small->status();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->entries, 2u);
  EXPECT_EQ(s->capacity, 2u);
}

// ---- Pinning ---------------------------------------------------------------------------

TEST(SubscriberTrafficPin, CountersAndPoliciesSurviveReCreation) {
  REQUIRE_ROOT();
  if (::system("mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf") != 0) {
    GTEST_SKIP() << "no bpffs at /sys/fs/bpf";
  }
  const std::string dir = "/sys/fs/bpf/sttr" + std::to_string(::getpid());
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      for (const char* m : {BNG_ST_MAP_POLICY, BNG_ST_MAP_COUNTERS, BNG_ST_MAP_STATS}) {
        (void)bngkit::ebpfkit::unpin(dir + "/" + m);
      }
      ::rmdir(dir.c_str());
    }
  } cleanup{dir};
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0) << std::strerror(errno);
  SubscriberTrafficOptions o;
  o.pin_dir = dir;
  o.max_subscribers = 64;
  const Frame up = frame(kSub, kServer, 700);
  {
    auto st = SubscriberTraffic::create(o);
    ASSERT_TRUE(st) << st.error().message();
    ASSERT_TRUE(st->add(kSub, RatePolicy{5'000'000, 0, 50'000}));
    auto r = st->test_run(TrafficDirection::up, up);
    ASSERT_TRUE(r && r->passed());
    r = st->test_run(TrafficDirection::up, frame(kSub2, kServer, 33));
    ASSERT_TRUE(r && r->passed());
  }  // destroyed: maps stay pinned
  for (const char* m : {BNG_ST_MAP_POLICY, BNG_ST_MAP_COUNTERS, BNG_ST_MAP_STATS}) {
    EXPECT_TRUE(std::filesystem::exists(dir + "/" + m)) << m;
  }
  auto st = SubscriberTraffic::create(o);
  ASSERT_TRUE(st) << st.error().message();
  auto c = st->counters(kSub);
  ASSERT_TRUE(c && *c);
  EXPECT_EQ((*c)->packets_up, 1u);
  EXPECT_EQ((*c)->octets_up, 700u);
  auto p = st->policy(kSub);
  ASSERT_TRUE(p && *p);
  EXPECT_EQ(**p, (RatePolicy{5'000'000, 0, 50'000}));
  auto s = st->status();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->unknown_octets_up, 33u);
  // And it keeps counting into the same maps.
  auto r = st->test_run(TrafficDirection::up, up);
  ASSERT_TRUE(r && r->passed());
  c = st->counters(kSub);
  ASSERT_TRUE(c && *c);
  EXPECT_EQ((*c)->octets_up, 1400u);

  // A different capacity cannot reuse the pinned maps: a clear error, not a silent reset.
  o.max_subscribers = 65;
  auto other = SubscriberTraffic::create(o);
  ASSERT_FALSE(other);
  EXPECT_NE(other.error().message().find("max_subscribers"), std::string::npos)
      << other.error().message();
}

// ---- Network namespaces ------------------------------------------------------------------

int sh(const std::string& cmd) {
  const int rc = std::system((cmd + " >/dev/null 2>&1").c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

// Runs `fn` on a thread inside network namespace `ns`.
template <typename Fn>
void in_netns(const std::string& ns, Fn&& fn) {
  std::thread t([&] {
    const int fd = ::open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::setns(fd, CLONE_NEWNET) != 0) {
      std::fprintf(stderr, "cannot enter netns %s: %s\n", ns.c_str(), std::strerror(errno));
      std::abort();
    }
    ::close(fd);
    fn();
  });
  t.join();
}

// Two namespaces joined by a veth: the subscriber (s0, 10.99.0.2) and the BNG side
// (b0, 10.99.0.1). Deleted on destruction.
struct Testbed {
  std::string sub, bng;
  bool ok = false;
  Testbed() {
    static std::atomic<int> n{0};
    const std::string tag = std::to_string(::getpid()) + "x" + std::to_string(n++);
    sub = "sttrS" + tag;
    bng = "sttrB" + tag;
    ok = sh("ip netns add " + sub) == 0 && sh("ip netns add " + bng) == 0 &&
         sh("ip -n " + bng + " link add b0 type veth peer name s0 netns " + sub) == 0 &&
         sh("ip -n " + bng + " addr add 10.99.0.1/24 dev b0") == 0 &&
         sh("ip -n " + sub + " addr add 10.99.0.2/24 dev s0") == 0 &&
         sh("ip -n " + bng + " link set b0 up") == 0 && sh("ip -n " + sub + " link set s0 up") == 0 &&
         sh("ip -n " + bng + " link set lo up") == 0 && sh("ip -n " + sub + " link set lo up") == 0;
  }
  ~Testbed() {
    sh("ip netns del " + sub);
    sh("ip netns del " + bng);
  }
};

const Ipv4 kNsSub{10, 99, 0, 2};
const Ipv4 kNsBng{10, 99, 0, 1};
constexpr std::size_t kPayload = 1400;  // + 28 = 1428 IPv4 octets per datagram

// A UDP receiver bound in `ns`; counts datagrams until stopped.
struct Receiver {
  int fd = -1;
  std::uint16_t port = 0;
  std::atomic<std::uint64_t> datagrams{0};
  std::atomic<std::uint64_t> octets{0};  // IPv4 octets (payload + 28)
  std::atomic<bool> stop{false};
  std::thread thread;

  Receiver(const std::string& ns, Ipv4 addr) {
    in_netns(ns, [&] {
      fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      int big = 8 << 20;
      ::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = addr.to_be();
      ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
      socklen_t len = sizeof a;
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
      port = ntohs(a.sin_port);
      timeval tv{0, 50'000};
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    });
    thread = std::thread([this] {
      std::vector<char> buf(65536);
      while (!stop.load()) {
        const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
        if (n < 0) continue;
        ++datagrams;
        octets += static_cast<std::uint64_t>(n) + 28;
      }
    });
  }
  ~Receiver() {
    stop = true;
    if (thread.joinable()) thread.join();
    if (fd >= 0) ::close(fd);
  }
};

// Sends kPayload-octet datagrams from `ns` to `to`:`port` as fast as it can for `for_`
// (bounded); returns how long it sent.
std::chrono::duration<double> flood(const std::string& ns, Ipv4 to, std::uint16_t port,
                                    std::chrono::milliseconds for_) {
  std::chrono::duration<double> took{};
  in_netns(ns, [&] {
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = to.to_be();
    a.sin_port = htons(port);
    ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    const std::vector<char> payload(kPayload, 'x');
    const auto t0 = std::chrono::steady_clock::now();
    const auto end = t0 + for_;
    while (std::chrono::steady_clock::now() < end) {
      for (int i = 0; i < 64; ++i) (void)::send(fd, payload.data(), payload.size(), 0);
    }
    took = std::chrono::steady_clock::now() - t0;
    ::close(fd);
  });
  return took;
}

class SubscriberTrafficNetnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_ROOT();
    bed_.emplace();
    ASSERT_TRUE(bed_->ok) << "could not create the namespaces and veth";
    SubscriberTrafficOptions o;
    o.interface = "b0";
    auto st = SubscriberTraffic::create(o);
    ASSERT_TRUE(st) << st.error().message();
    st_.emplace(std::move(st).value());
    bngkit::Result<void> r = bngkit::ok();
    in_netns(bed_->bng, [&] { r = st_->attach(); });
    ASSERT_TRUE(r) << r.error().message();
  }
  void TearDown() override {
    if (st_) {
      EXPECT_TRUE(st_->detach());
    }
    st_.reset();
    bed_.reset();
  }
  std::optional<Testbed> bed_;
  std::optional<SubscriberTraffic> st_;
};

TEST_F(SubscriberTrafficNetnsTest, PingIsCountedToTheOctetInBothDirections) {
  ASSERT_TRUE(st_->add(kNsSub, RatePolicy{}));
  auto s = st_->status();
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->attached);
  EXPECT_NE(s->ifindex, 0u);
  // 20 echo requests of 100 octets of data: 128 IPv4 octets each way per ping.
  ASSERT_EQ(sh("ip netns exec " + bed_->sub + " ping -q -c 20 -i 0.01 -s 100 -W 1 10.99.0.1"), 0);
  auto c = st_->counters(kNsSub);
  ASSERT_TRUE(c && *c);
  TrafficCounters want;
  want.packets_up = 20;
  want.octets_up = 20 * 128;
  want.packets_down = 20;
  want.octets_down = 20 * 128;
  EXPECT_EQ(**c, want);
  s = st_->status();
  ASSERT_TRUE(s);
  EXPECT_GE(s->non_ipv4, 2u);  // at least the ARP request and reply
}

TEST_F(SubscriberTrafficNetnsTest, TaggedFramesAreCountedOnARealInterface) {
  // On a real receive path the kernel moves the outer tag into skb metadata before TC
  // ingress sees the frame (the inner QinQ tag stays in the data): counts must not change.
  ASSERT_TRUE(st_->add(kNsSub, RatePolicy{}));
  const std::vector<std::vector<Tag>> tagsets = {
      {{0x8100, 100}}, {{0x88a8, 10}, {0x8100, 200}}, {{0x8100, 10}, {0x8100, 200}}};
  int sent = 0;
  in_netns(bed_->sub, [&] {
    const int fd = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0) << std::strerror(errno);
    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_ifindex = static_cast<int>(::if_nametoindex("s0"));
    to.sll_halen = 6;
    for (const auto& tags : tagsets) {
      Frame f = frame(kNsSub, kNsBng, 100, tags);
      std::fill(f.begin(), f.begin() + 6, 0xff);  // broadcast: every receiver looks at it
      for (int i = 0; i < 4; ++i) {
        if (::sendto(fd, f.data(), f.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) ==
            static_cast<ssize_t>(f.size())) {
          ++sent;
        }
      }
    }
    ::close(fd);
  });
  ASSERT_EQ(sent, 12);
  TrafficCounters want;
  want.packets_up = 12;
  want.octets_up = 12 * 100;
  std::optional<TrafficCounters> got;
  for (int i = 0; i < 50; ++i) {  // frames cross the veth asynchronously
    auto c = st_->counters(kNsSub);
    ASSERT_TRUE(c && *c);
    got = **c;
    if (got->packets_up >= 12) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(got, want);
}

TEST_F(SubscriberTrafficNetnsTest, RateLimitHoldsEachDirectionWhileUnlimitedIsMuchFaster) {
  constexpr std::uint64_t kUp = 2'000'000;    // 2 Mbit/s
  constexpr std::uint64_t kDown = 4'000'000;  // 4 Mbit/s
  constexpr std::uint64_t kBurst = 20'000;
  constexpr auto kSend = std::chrono::milliseconds(1500);

  // Unlimited first, for the comparison (and it fills the ARP caches).
  ASSERT_TRUE(st_->add(kNsSub, RatePolicy{}));
  Receiver at_bng(bed_->bng, kNsBng);
  const auto t_free = flood(bed_->sub, kNsBng, at_bng.port, std::chrono::milliseconds(500));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const double free_bps = static_cast<double>(at_bng.octets.load()) * 8 / t_free.count();
  auto c0 = st_->counters(kNsSub);
  ASSERT_TRUE(c0 && *c0);
  // Everything the receiver got passed the filter and was counted (a flood this fast may
  // also overflow the socket after the filter, so not necessarily the other way round).
  EXPECT_GE((*c0)->packets_up, at_bng.datagrams.load());
  EXPECT_EQ((*c0)->octets_up, (*c0)->packets_up * (kPayload + 28));
  EXPECT_EQ((*c0)->dropped_up, 0u);
  EXPECT_GT(free_bps, 20.0 * kUp) << "unlimited upstream only reached " << free_bps << " bit/s";

  // Limit both directions (CoA): upstream flood.
  ASSERT_TRUE(st_->add(kNsSub, RatePolicy{kUp, kDown, kBurst}));
  const std::uint64_t base_dgrams = at_bng.datagrams.load();
  const std::uint64_t base_octets = at_bng.octets.load();
  const auto t_up = flood(bed_->sub, kNsBng, at_bng.port, kSend);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const std::uint64_t got_up = at_bng.octets.load() - base_octets;
  const double up_bps = static_cast<double>(got_up) * 8 / t_up.count();
  // A policer fed by a flood passes the burst plus the rate for the time sent.
  const double up_max = kUp / 8.0 * t_up.count() + kBurst + 2 * (kPayload + 28);
  EXPECT_LE(static_cast<double>(got_up), up_max * 1.03) << up_bps << " bit/s";
  EXPECT_GE(up_bps, 0.90 * kUp) << up_bps << " bit/s";
  auto c1 = st_->counters(kNsSub);
  ASSERT_TRUE(c1 && *c1);
  EXPECT_EQ((*c1)->packets_up - (*c0)->packets_up, at_bng.datagrams.load() - base_dgrams);
  EXPECT_EQ((*c1)->octets_up - (*c0)->octets_up, got_up);
  EXPECT_GT((*c1)->dropped_up, 0u);
  EXPECT_EQ((*c1)->dropped_octets_up, (*c1)->dropped_up * (kPayload + 28));

  // Downstream flood from the BNG side: policed on egress at the other rate.
  Receiver at_sub(bed_->sub, kNsSub);
  const auto t_down = flood(bed_->bng, kNsSub, at_sub.port, kSend);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const std::uint64_t got_down = at_sub.octets.load();
  const double down_bps = static_cast<double>(got_down) * 8 / t_down.count();
  const double down_max = kDown / 8.0 * t_down.count() + kBurst + 2 * (kPayload + 28);
  EXPECT_LE(static_cast<double>(got_down), down_max * 1.03) << down_bps << " bit/s";
  EXPECT_GE(down_bps, 0.90 * kDown) << down_bps << " bit/s";
  auto c2 = st_->counters(kNsSub);
  ASSERT_TRUE(c2 && *c2);
  EXPECT_EQ((*c2)->packets_down, at_sub.datagrams.load());
  EXPECT_EQ((*c2)->octets_down, got_down);
  EXPECT_GT((*c2)->dropped_down, 0u);
  std::printf("unlimited up %.1f Mbit/s; limited up %.3f Mbit/s (limit %.1f), down %.3f Mbit/s "
              "(limit %.1f)\n",
              free_bps / 1e6, up_bps / 1e6, kUp / 1e6, down_bps / 1e6, kDown / 1e6);
}

TEST_F(SubscriberTrafficNetnsTest, TcpDownstreamIsPolicedAndCountedPerSegment) {
  // TCP from the BNG side leaves b0 as GSO aggregates (veth keeps them whole): the counters
  // must count the segments on the wire, and the policer must hold the rate with them.
  constexpr std::uint64_t kDown = 4'000'000;
  constexpr std::uint64_t kBurst = 150'000;  // TCP needs room for its bursts
  ASSERT_TRUE(st_->add(kNsSub, RatePolicy{0, kDown, kBurst}));
  const auto t_added = std::chrono::steady_clock::now();

  int listener = -1;
  std::uint16_t port = 0;
  in_netns(bed_->sub, [&] {
    listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = kNsSub.to_be();
    ::bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(listener, 1);
    socklen_t len = sizeof a;
    ::getsockname(listener, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  });
  ASSERT_GE(listener, 0);
  std::atomic<std::uint64_t> received{0};
  std::thread server([&] {
    const int c = ::accept(listener, nullptr, nullptr);
    if (c < 0) return;
    timeval tv{0, 200'000};
    ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::vector<char> buf(1 << 16);
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(6);
    while (std::chrono::steady_clock::now() < give_up) {
      const ssize_t n = ::recv(c, buf.data(), buf.size(), 0);
      if (n == 0) break;  // EOF
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) break;  // reset
      if (n > 0) received += static_cast<std::uint64_t>(n);
    }
    ::close(c);
  });

  std::chrono::duration<double> took{};
  std::uint64_t received_while_sending = 0;
  in_netns(bed_->bng, [&] {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    timeval tv{0, 100'000};  // keeps every write bounded in time
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    linger abort{1, 0};  // close() resets: the send buffer is not drained at 4 Mbit/s
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = kNsSub.to_be();
    a.sin_port = htons(port);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd);
      return;
    }
    const std::vector<char> chunk(1 << 16, 'y');
    const auto t0 = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() < t0 + std::chrono::seconds(2)) {
      (void)::send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL);
    }
    took = std::chrono::steady_clock::now() - t0;
    received_while_sending = received.load();
    ::close(fd);
  });
  server.join();
  ::close(listener);
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t_added).count();
  ASSERT_GT(took.count(), 0.0) << "could not connect";

  auto c = st_->counters(kNsSub);
  ASSERT_TRUE(c && *c);
  const TrafficCounters& t = **c;
  // Segments, not aggregates: on a 1500-octet MTU no counted packet is bigger.
  ASSERT_GT(t.packets_down, 0u);
  EXPECT_LE(t.octets_down, t.packets_down * 1500) << t.packets_down << " packets";
  // Each segment carries at least a 20-octet IPv4 and a 20-octet TCP header; what the
  // receiver got passed the policer (retransmissions may add more).
  EXPECT_GE(t.octets_down, received.load() + 40 * t.packets_down);
  EXPECT_GT(t.packets_up, 0u);  // the ACKs, unlimited
  EXPECT_EQ(t.dropped_up, 0u);
  EXPECT_GT(t.dropped_down, 0u);
  // The policer's bound on what passed in the whole window, plus one aggregate of debt.
  const double bound = kDown / 8.0 * elapsed + kBurst + 65536;
  EXPECT_LE(static_cast<double>(t.octets_down), bound);
  // TCP through a policer loses some throughput to drops and backoff, but not most of it.
  const double goodput = static_cast<double>(received_while_sending) * 8 / took.count();
  EXPECT_GE(goodput, 0.5 * kDown) << goodput << " bit/s";
  std::printf("TCP down: goodput %.3f Mbit/s (limit %.1f), %llu packets, %llu dropped\n",
              goodput / 1e6, kDown / 1e6, static_cast<unsigned long long>(t.packets_down),
              static_cast<unsigned long long>(t.dropped_down));
}

TEST_F(SubscriberTrafficNetnsTest, AttachTwiceFailsAndDetachRemovesBothFilters) {
  bngkit::Result<void> r = bngkit::ok();
  in_netns(bed_->bng, [&] { r = st_->attach(); });
  EXPECT_FALSE(r);
  EXPECT_TRUE(st_->detach());
  EXPECT_FALSE(st_->attached());
  in_netns(bed_->bng, [&] {
    auto ifindex = bngkit::ebpfkit::interface_index("b0");
    ASSERT_TRUE(ifindex);
    for (auto dir : {bngkit::ebpfkit::TcDirection::ingress, bngkit::ebpfkit::TcDirection::egress}) {
      auto id = bngkit::ebpfkit::tc_query(*ifindex, dir, BNG_ST_TC_PRIORITY, BNG_ST_TC_HANDLE);
      ASSERT_TRUE(id);
      EXPECT_EQ(*id, 0u);
    }
    r = st_->attach();
  });
  EXPECT_TRUE(r) << r.error().message();  // and it attaches again
}

TEST_F(SubscriberTrafficNetnsTest, ReplacesFiltersLeftByADeadProcess) {
  ASSERT_TRUE(st_->detach());
  std::uint32_t stale_ids[2] = {0, 0};
  in_netns(bed_->bng, [&] {
    // A process attaches and dies without detaching (as on SIGKILL).
    const pid_t child = ::fork();
    if (child == 0) {
      SubscriberTrafficOptions o;
      o.interface = "b0";
      auto st = SubscriberTraffic::create(o);
      ::_exit(st && st->attach() ? 0 : 1);
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child could not attach";
    auto ifindex = bngkit::ebpfkit::interface_index("b0");
    ASSERT_TRUE(ifindex);
    int i = 0;
    for (auto dir : {bngkit::ebpfkit::TcDirection::ingress, bngkit::ebpfkit::TcDirection::egress}) {
      auto id = bngkit::ebpfkit::tc_query(*ifindex, dir, BNG_ST_TC_PRIORITY, BNG_ST_TC_HANDLE);
      ASSERT_TRUE(id);
      EXPECT_NE(*id, 0u) << "the dead process's filter stays";
      stale_ids[i++] = *id;
    }
    auto r = st_->attach();
    ASSERT_TRUE(r) << r.error().message();
  });
  ASSERT_TRUE(st_->add(kNsSub, RatePolicy{}));
  // Ours is the one counting now.
  ASSERT_EQ(sh("ip netns exec " + bed_->sub + " ping -q -c 3 -i 0.01 -s 72 -W 1 10.99.0.1"), 0);
  auto c = st_->counters(kNsSub);
  ASSERT_TRUE(c && *c);
  EXPECT_EQ((*c)->packets_up, 3u);
  EXPECT_EQ((*c)->octets_up, 3u * 100);
  EXPECT_EQ((*c)->packets_down, 3u);
  auto s = st_->status();
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->attached);
  EXPECT_NE(stale_ids[0], 0u);
}

}  // namespace
