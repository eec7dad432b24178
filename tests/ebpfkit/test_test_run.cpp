// BPF_PROG_TEST_RUN on XDP and TC programs, byte for byte.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/pkt_cls.h>

#include <bngkit/ebpfkit/map.hpp>
#include <bngkit/ebpfkit/object.hpp>
#include <bngkit/ebpfkit/test_run.hpp>

#include "test_util.hpp"

namespace ek = bngkit::ebpfkit;
using ::testing::HasSubstr;

namespace {

class TestRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EBPFKIT_REQUIRE_PRIVILEGES();
    obj_.emplace(ektest::load_test_object());
    ASSERT_TRUE(obj_->loaded());
  }
  ek::Program prog(const char* name) { return obj_->program(name).value(); }
  std::optional<ek::Object> obj_;
};

TEST_F(TestRunTest, XdpCountRepeatsAndCounts) {
  auto pkt = ektest::udp_frame(EBPFKIT_TEST_UDP_PORT, {1, 2, 3, 4});
  auto r = ek::test_run(prog("xdp_count"), pkt, 1000);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->retval, static_cast<std::uint32_t>(XDP_PASS));
  EXPECT_EQ(r->data, pkt);  // unchanged
  EXPECT_GT(r->duration_ns, 0U);
  auto stats = obj_->map_as<ek::PerCpuMap<std::uint32_t, ebpfkit_counter>>("xdp_stats");
  ASSERT_TRUE(stats.ok());
  auto add = [](ebpfkit_counter a, const ebpfkit_counter& b) {
    return ebpfkit_counter{a.packets + b.packets, a.bytes + b.bytes};
  };
  auto udp = stats->aggregate(EBPFKIT_STAT_UDP, ebpfkit_counter{}, add);
  ASSERT_TRUE(udp.ok());
  EXPECT_EQ(udp->packets, 1000U);
  EXPECT_EQ(udp->bytes, 1000U * pkt.size());

  auto other = ektest::udp_frame(53, {9});
  ASSERT_TRUE(ek::test_run(prog("xdp_count"), other).ok());
  EXPECT_EQ(stats->aggregate(EBPFKIT_STAT_ALL, ebpfkit_counter{}, add)->packets, 1001U);
  EXPECT_EQ(stats->aggregate(EBPFKIT_STAT_UDP, ebpfkit_counter{}, add)->packets, 1000U);
}

TEST_F(TestRunTest, XdpRewriteIsByteExact) {
  auto pkt = ektest::udp_frame(EBPFKIT_TEST_UDP_PORT, {0xde, 0xad});
  auto r = ek::test_run(prog("xdp_swap_mac"), pkt);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->retval, static_cast<std::uint32_t>(XDP_TX));
  auto expect = pkt;
  std::swap_ranges(expect.begin(), expect.begin() + 6, expect.begin() + 6);
  EXPECT_EQ(r->data, expect);
  auto pinned = obj_->map_as<ek::Map<std::uint32_t, std::uint64_t>>("pinned_counts");
  EXPECT_EQ(pinned->lookup(0)->value_or(0), 1U);
}

TEST_F(TestRunTest, XdpGrowNeedsOutputRoom) {
  auto pkt = ektest::udp_frame(EBPFKIT_TEST_UDP_PORT, {1});
  auto r = ek::test_run(prog("xdp_grow"), pkt);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->retval, static_cast<std::uint32_t>(XDP_PASS));
  ASSERT_EQ(r->data.size(), pkt.size() + 16);
  EXPECT_TRUE(std::equal(pkt.begin(), pkt.end(), r->data.begin()));
  for (std::size_t i = pkt.size(); i < r->data.size(); ++i) EXPECT_EQ(r->data[i], std::byte{0});

  ek::TestRunInput tight;
  tight.data = pkt;
  tight.data_out_capacity = pkt.size();
  auto small = ek::test_run(prog("xdp_grow"), tight);
  ASSERT_FALSE(small.ok());
  EXPECT_EQ(small.error().code, std::errc::no_space_on_device);
  EXPECT_THAT(small.error().context, HasSubstr("data_out_capacity"));
}

TEST_F(TestRunTest, TcRewritesTtlFixesChecksumAndSetsMark) {
  auto pkt = ektest::udp_frame(EBPFKIT_TEST_UDP_PORT, {1, 2, 3}, 64);
  __sk_buff ctx{};
  ctx.mark = 0;
  ek::TestRunInput in;
  in.data = pkt;
  in.ctx = std::as_bytes(std::span(&ctx, 1));
  in.ctx_out_capacity = sizeof(__sk_buff);
  auto r = ek::test_run(prog("tc_ttl"), in);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->retval, static_cast<std::uint32_t>(TC_ACT_OK));
  ASSERT_EQ(r->data.size(), pkt.size());
  const auto* ip = reinterpret_cast<const std::uint8_t*>(r->data.data()) + 14;
  EXPECT_EQ(ip[8], 1);                        // TTL rewritten
  EXPECT_EQ(ektest::ip_checksum(ip, 20), 0);  // header checksum still valid
  ASSERT_EQ(r->ctx.size(), sizeof(__sk_buff));
  __sk_buff out{};
  std::memcpy(&out, r->ctx.data(), sizeof(out));
  EXPECT_EQ(out.mark, 64U);  // the old TTL, written by the program

  auto dead = ektest::udp_frame(EBPFKIT_TEST_UDP_PORT, {1}, 0);
  auto shot = ek::test_run(prog("tc_ttl"), dead);
  ASSERT_TRUE(shot.ok());
  EXPECT_EQ(shot->retval, static_cast<std::uint32_t>(TC_ACT_SHOT));
}

TEST_F(TestRunTest, TcCountUsesSkbLength) {
  auto pkt = ektest::udp_frame(EBPFKIT_TEST_UDP_PORT, std::vector<std::uint8_t>(100, 7));
  auto r = ek::test_run(prog("tc_count"), pkt, 10);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->retval, static_cast<std::uint32_t>(TC_ACT_OK));
  auto stats = obj_->map_as<ek::PerCpuMap<std::uint32_t, ebpfkit_counter>>("tc_stats");
  ASSERT_TRUE(stats.ok());
  auto per_cpu = stats->lookup(EBPFKIT_STAT_UDP);
  ASSERT_TRUE(per_cpu.ok() && per_cpu->has_value());
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
  for (const auto& c : **per_cpu) {
    packets += c.packets;
    bytes += c.bytes;
  }
  EXPECT_EQ(packets, 10U);
  EXPECT_EQ(bytes, 10U * pkt.size());
}

TEST_F(TestRunTest, ShortFrameIsRejected) {
  std::vector<std::byte> runt(8);
  auto r = ek::test_run(prog("tc_count"), runt);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, std::errc::invalid_argument);
  EXPECT_THAT(r.error().context, HasSubstr("shorter than an Ethernet header"));
}

}  // namespace
