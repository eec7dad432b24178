// The fanout TC program byte for byte, through BPF_PROG_TEST_RUN: rewritten frames are
// compared with frames built from scratch for the new destination (so the incremental
// IPv4 and UDP checksum updates must equal full recomputations), a zero UDP checksum
// stays zero, and traffic that is not the fanout's passes untouched. The flow hash and
// Maglev table must pick the same downstream as the userspace engine.
#include <bngkit/ebpfkit/object.hpp>
#include <bngkit/ebpfkit/pin.hpp>
#include <bngkit/ebpfkit/test_run.hpp>
#include <bngkit/fanout/config.hpp>
#include <bngkit/fanout/selector.hpp>

#include <arpa/inet.h>
#include <linux/pkt_cls.h>

#include <gtest/gtest.h>

#include <filesystem>

#include "fanout_abi.h"
#include "fanout_tc.skel.h"
#include "netns.hpp"

namespace bngkit::fanout {
namespace {

using ebpfkit::Map;
using ebpfkit::MapHandle;
using ebpfkit::PerCpuMap;

constexpr std::uint32_t kUnspec = static_cast<std::uint32_t>(TC_ACT_UNSPEC);

std::uint32_t ip(const char* s) { return Endpoint::parse_address(s).value(); }

// An Ethernet + IPv4 + UDP frame with correct checksums (or a zero UDP checksum).
struct Frame {
  std::uint32_t saddr = ip("10.77.0.2"), daddr = ip("10.77.0.1");
  std::uint16_t sport = 40000, dport = 5514;
  std::string payload = "flow record 0123456789abcdef";
  bool udp_checksum = true;
  std::uint16_t frag_off = 0;  // host order, flags and offset
  int udp_len_delta = 0;       // to build malformed frames

  [[nodiscard]] std::vector<std::byte> bytes() const {
    std::vector<std::uint8_t> f(14 + 20 + 8 + payload.size());
    const std::uint8_t dst_mac[6] = {0x02, 0, 0, 0, 0, 0x01}, src_mac[6] = {0x02, 0, 0, 0, 0, 0x02};
    std::memcpy(&f[0], dst_mac, 6);
    std::memcpy(&f[6], src_mac, 6);
    f[12] = 0x08;
    std::uint8_t* h = &f[14];
    const std::size_t ip_len = 20 + 8 + payload.size();
    h[0] = 0x45;
    h[2] = static_cast<std::uint8_t>(ip_len >> 8);
    h[3] = static_cast<std::uint8_t>(ip_len);
    h[4] = 0x12;
    h[5] = 0x34;  // id
    h[6] = static_cast<std::uint8_t>(frag_off >> 8);
    h[7] = static_cast<std::uint8_t>(frag_off);
    h[8] = 64;
    h[9] = 17;
    std::memcpy(h + 12, &saddr, 4);
    std::memcpy(h + 16, &daddr, 4);
    put16(h + 10, sum16(h, 20, 0));
    std::uint8_t* u = h + 20;
    const std::size_t udp_len = 8 + payload.size() + static_cast<std::size_t>(udp_len_delta);
    put16(u, sport);
    put16(u + 2, dport);
    put16(u + 4, static_cast<std::uint16_t>(udp_len));
    std::memcpy(u + 8, payload.data(), payload.size());
    if (udp_checksum) {
      std::uint32_t pseudo = 0;
      pseudo +=
          ntohs(static_cast<std::uint16_t>(saddr)) + ntohs(static_cast<std::uint16_t>(saddr >> 16));
      pseudo +=
          ntohs(static_cast<std::uint16_t>(daddr)) + ntohs(static_cast<std::uint16_t>(daddr >> 16));
      pseudo += 17 + static_cast<std::uint32_t>(8 + payload.size());
      std::uint16_t c = sum16(u, 8 + payload.size(), pseudo);
      put16(u + 6, c == 0 ? 0xffff : c);
    }
    std::vector<std::byte> out(f.size());
    std::memcpy(out.data(), f.data(), f.size());
    return out;
  }

  static void put16(std::uint8_t* p, std::uint16_t v) {
    p[0] = static_cast<std::uint8_t>(v >> 8);
    p[1] = static_cast<std::uint8_t>(v);
  }
  static std::uint16_t sum16(const std::uint8_t* p, std::size_t n, std::uint32_t sum) {
    for (std::size_t i = 0; i + 1 < n; i += 2) sum += (p[i] << 8) | p[i + 1];
    if (n & 1) sum += p[n - 1] << 8;
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<std::uint16_t>(~sum);
  }
};

class TcProgram : public ::testing::Test {
 protected:
  void SetUp() override {
    FANOUT_REQUIRE_NET_ADMIN();
    ebpfkit::ObjectOptions opts;
    opts.pin_root = pin_;
    auto obj = BNGKIT_EBPFKIT_OPEN_SKELETON(fanout_tc, opts);
    ASSERT_TRUE(obj.ok()) << obj.error().message();
    obj_ = std::make_unique<ebpfkit::Object>(std::move(obj).value());
    auto r = obj_->load();
    ASSERT_TRUE(r.ok()) << r.error().message();
    loaded_ = true;
  }
  void TearDown() override {
    obj_.reset();
    if (!loaded_) return;
    for (const char* m : {"fanout_listeners", "fanout_sets", "fanout_stats"}) {
      (void)ebpfkit::unpin(pin_ + "/" + m);
    }
    std::filesystem::remove(pin_);
  }

  void add_listener(std::uint32_t addr, std::uint16_t port, std::uint32_t index, Policy policy,
                    BalanceMethod balance = BalanceMethod::round_robin) {
    auto m = obj_->map_as<Map<fanout_listener_key, fanout_listener>>("fanout_listeners");
    ASSERT_TRUE(m.ok()) << m.error().message();
    fanout_listener v{
        index, static_cast<std::uint8_t>(policy), static_cast<std::uint8_t>(balance), {}};
    ASSERT_TRUE(m->update({addr, htons(port), 0}, v).ok());
  }

  void set_targets(std::uint32_t index, const std::vector<Endpoint>& targets) {
    fanout_set set{};
    set.count = static_cast<std::uint32_t>(targets.size());
    std::vector<std::uint64_t> keys;
    for (std::size_t i = 0; i < targets.size(); ++i) {
      set.targets[i] = {targets[i].address_be, htons(targets[i].port), 0};
      keys.push_back(endpoint_key(targets[i]));
    }
    const auto table = build_lookup_table(keys);
    std::copy(table.begin(), table.end(), set.table);
    auto inner = MapHandle::create(BPF_MAP_TYPE_ARRAY, "fanout_set", 4, sizeof set, 1);
    ASSERT_TRUE(inner.ok()) << inner.error().message();
    const std::uint32_t zero = 0;
    ASSERT_TRUE(inner->update_bytes(&zero, &set).ok());
    auto outer = obj_->map_as<Map<std::uint32_t, std::uint32_t>>("fanout_sets");
    ASSERT_TRUE(outer.ok());
    ASSERT_TRUE(outer->update(index, static_cast<std::uint32_t>(inner->fd())).ok());
  }

  ebpfkit::TestRunResult run(const std::vector<std::byte>& frame) {
    auto prog = obj_->program("fanout_ingress");
    EXPECT_TRUE(prog.ok());
    auto r = ebpfkit::test_run(*prog, frame);
    EXPECT_TRUE(r.ok()) << r.error().message();
    return r.ok() ? std::move(r).value() : ebpfkit::TestRunResult{};
  }

  fanout_stats stats(std::uint32_t index) {
    auto m = obj_->map_as<PerCpuMap<std::uint32_t, fanout_stats>>("fanout_stats");
    fanout_stats total{};
    auto per_cpu = m->lookup(index);
    for (const auto& s : **per_cpu) {
      total.rx_packets += s.rx_packets;
      total.rx_bytes += s.rx_bytes;
      total.fwd_packets += s.fwd_packets;
      for (int i = 0; i < FANOUT_DROP_REASONS; ++i) total.drops[i] += s.drops[i];
    }
    return total;
  }

  std::string pin_ = "/sys/fs/bpf/fanout-prog-test-" + fotest::unique_tag();
  std::unique_ptr<ebpfkit::Object> obj_;
  bool loaded_ = false;
};

// In BPF_PROG_TEST_RUN there is no ingress device to route from, so every send ends
// with "no route" and TC_ACT_SHOT; the packet as rewritten is what comes back.
TEST_F(TcProgram, BalanceRewritesDestinationWithChecksumsEqualToRecomputed) {
  add_listener(ip("10.77.0.1"), 5514, 0, Policy::balance);
  set_targets(0, {Endpoint::parse("10.78.3.2:9000").value()});
  Frame in;
  auto r = run(in.bytes());
  EXPECT_EQ(r.retval, static_cast<std::uint32_t>(TC_ACT_SHOT));
  Frame want = in;
  want.daddr = ip("10.78.3.2");
  want.dport = 9000;
  EXPECT_EQ(r.data, want.bytes());
  const auto st = stats(0);
  EXPECT_EQ(st.rx_packets, 1u);
  EXPECT_EQ(st.rx_bytes, in.payload.size());
  EXPECT_EQ(st.drops[FANOUT_DROP_NO_ROUTE], 1u);
}

TEST_F(TcProgram, ReplicateChainsRewritesAndEndsOnTheLastTarget) {
  add_listener(ip("10.77.0.1"), 5514, 2, Policy::replicate);
  set_targets(2,
              {Endpoint::parse("10.78.0.2:9000").value(), Endpoint::parse("10.78.1.2:9001").value(),
               Endpoint::parse("192.168.200.77:514").value()});
  Frame in;
  in.payload = std::string(1001, 'x');  // odd length: the checksum's padding byte
  auto r = run(in.bytes());
  Frame want = in;
  want.daddr = ip("192.168.200.77");
  want.dport = 514;
  EXPECT_EQ(r.data, want.bytes());
  EXPECT_EQ(stats(2).drops[FANOUT_DROP_NO_ROUTE], 3u);
}

TEST_F(TcProgram, ZeroUdpChecksumStaysZero) {
  add_listener(ip("10.77.0.1"), 5514, 0, Policy::balance);
  set_targets(0, {Endpoint::parse("10.78.3.2:9000").value()});
  Frame in;
  in.udp_checksum = false;
  auto r = run(in.bytes());
  Frame want = in;
  want.daddr = ip("10.78.3.2");
  want.dport = 9000;
  EXPECT_EQ(r.data, want.bytes());
  EXPECT_EQ(std::to_integer<int>(r.data[14 + 20 + 6]) | std::to_integer<int>(r.data[14 + 20 + 7]),
            0);
}

TEST_F(TcProgram, WildcardListenerMatchesAnyAddress) {
  add_listener(0, 5514, 1, Policy::balance);
  set_targets(1, {Endpoint::parse("10.78.3.2:9000").value()});
  Frame in;
  in.daddr = ip("172.16.5.5");
  auto r = run(in.bytes());
  Frame want = in;
  want.daddr = ip("10.78.3.2");
  want.dport = 9000;
  EXPECT_EQ(r.data, want.bytes());
}

TEST_F(TcProgram, OtherTrafficAndFragmentsPassUntouched) {
  add_listener(ip("10.77.0.1"), 5514, 0, Policy::balance);
  set_targets(0, {Endpoint::parse("10.78.3.2:9000").value()});
  Frame other;
  other.dport = 5515;
  auto r = run(other.bytes());
  EXPECT_EQ(r.retval, kUnspec);
  EXPECT_EQ(r.data, other.bytes());
  Frame fragment;
  fragment.frag_off = 0x2000;  // more fragments: the stack reassembles, userspace relays
  r = run(fragment.bytes());
  EXPECT_EQ(r.retval, kUnspec);
  EXPECT_EQ(r.data, fragment.bytes());
  EXPECT_EQ(stats(0).rx_packets, 0u);
}

TEST_F(TcProgram, MalformedAndUnservedDatagramsAreDroppedAndCounted) {
  add_listener(ip("10.77.0.1"), 5514, 0, Policy::replicate);
  add_listener(ip("10.77.0.1"), 5600, 3, Policy::replicate);  // no set published
  set_targets(0, {Endpoint::parse("10.78.3.2:9000").value()});
  Frame bad;
  bad.udp_len_delta = 40;  // UDP length beyond the IP packet
  auto r = run(bad.bytes());
  EXPECT_EQ(r.retval, static_cast<std::uint32_t>(TC_ACT_SHOT));
  EXPECT_EQ(stats(0).drops[FANOUT_DROP_MALFORMED], 1u);
  Frame unserved;
  unserved.dport = 5600;
  r = run(unserved.bytes());
  EXPECT_EQ(r.retval, static_cast<std::uint32_t>(TC_ACT_SHOT));
  EXPECT_EQ(stats(3).drops[FANOUT_DROP_NO_DOWNSTREAM], 1u);
  EXPECT_EQ(stats(3).rx_packets, 1u);
}

TEST_F(TcProgram, FlowHashPicksTheSameDownstreamAsUserspace) {
  add_listener(ip("10.77.0.1"), 5514, 0, Policy::balance, BalanceMethod::flow_hash);
  std::vector<Endpoint> targets;
  std::vector<std::uint64_t> keys;
  for (int i = 0; i < 7; ++i) {
    targets.push_back(Endpoint::parse("10.78." + std::to_string(i) + ".2:9000").value());
    keys.push_back(endpoint_key(targets.back()));
  }
  set_targets(0, targets);
  const auto table = build_lookup_table(keys);
  std::set<std::uint32_t> used;
  for (std::uint16_t sport = 30000; sport < 30064; ++sport) {
    Frame in;
    in.sport = sport;
    auto r = run(in.bytes());
    std::uint32_t got = 0;
    std::memcpy(&got, r.data.data() + 14 + 16, 4);
    const auto want = targets[table[flow_hash(in.saddr, htons(sport)) % table.size()]];
    EXPECT_EQ(got, want.address_be) << "source port " << sport;
    used.insert(got);
  }
  EXPECT_EQ(used.size(), 7u);
}

}  // namespace
}  // namespace bngkit::fanout
