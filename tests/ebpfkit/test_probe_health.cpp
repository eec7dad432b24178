// Feature probes, run statistics and map pressure.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/utsname.h>

#include <bngkit/ebpfkit/health.hpp>
#include <bngkit/ebpfkit/object.hpp>
#include <bngkit/ebpfkit/probe.hpp>
#include <bngkit/ebpfkit/test_run.hpp>

#include "test_util.hpp"

namespace ek = bngkit::ebpfkit;
using ::testing::HasSubstr;

namespace {

TEST(Probe, KernelVersionMatchesUname) {
  auto v = ek::kernel_version();
  ASSERT_TRUE(v.ok());
  utsname u{};
  ::uname(&u);
  EXPECT_EQ(v->release, u.release);
  EXPECT_TRUE(v->at_least(5, 8));  // ring buffers, BPF_ENABLE_STATS
  EXPECT_FALSE(v->at_least(v->major + 1, 0));
  EXPECT_TRUE(v->at_least(v->major, v->minor));
}

TEST(Probe, BtfAndJitAsTheTestBedHasThem) {
  EXPECT_TRUE(ek::kernel_btf_available());
  auto jit = ek::jit_enabled();
  ASSERT_TRUE(jit.ok()) << jit.error().message();
  EXPECT_GE(*jit, 1);
}

TEST(Probe, MapProgramAndHelperProbes) {
  EBPFKIT_REQUIRE_PRIVILEGES();
  EXPECT_TRUE(*ek::probe_map_type(BPF_MAP_TYPE_RINGBUF));
  EXPECT_TRUE(*ek::probe_map_type(BPF_MAP_TYPE_LPM_TRIE));
  EXPECT_TRUE(*ek::probe_program_type(BPF_PROG_TYPE_XDP));
  EXPECT_TRUE(*ek::probe_program_type(BPF_PROG_TYPE_SCHED_CLS));
  EXPECT_TRUE(*ek::probe_helper(BPF_PROG_TYPE_XDP, BPF_FUNC_xdp_adjust_tail));
  // skb helpers do not exist for XDP programs.
  EXPECT_FALSE(*ek::probe_helper(BPF_PROG_TYPE_XDP, BPF_FUNC_skb_store_bytes));
  EXPECT_TRUE(*ek::probe_helper(BPF_PROG_TYPE_SCHED_CLS, BPF_FUNC_skb_store_bytes));
}

TEST(Probe, RunStatsCountWhileEnabled) {
  EBPFKIT_REQUIRE_PRIVILEGES();
  auto obj = ektest::load_test_object();
  auto prog = obj.program("xdp_count").value();
  auto on = ek::StatsEnabler::enable();
  ASSERT_TRUE(on.ok()) << on.error().message();
  EXPECT_TRUE(on->active());
  auto before = ek::run_stats(prog);
  ASSERT_TRUE(before.ok());
  auto pkt = ektest::udp_frame(EBPFKIT_TEST_UDP_PORT, {1, 2});
  ASSERT_TRUE(ek::test_run(prog, pkt, 500).ok());
  auto after = ek::run_stats(prog);
  ASSERT_TRUE(after.ok());
  auto d = after->since(*before);
  EXPECT_EQ(d.run_count, 500U);
  EXPECT_GT(d.run_time_ns, 0U);
  EXPECT_GT(d.mean_ns(), 0.0);
  EXPECT_EQ(ek::RunStats{}.mean_ns(), 0.0);
}

TEST(Health, MapPressureCountsKeys) {
  EBPFKIT_REQUIRE_PRIVILEGES();
  auto obj = ektest::load_test_object();
  auto hash = obj.map_as<ek::Map<std::uint32_t, std::uint64_t>>("hash_map");
  for (std::uint32_t k = 0; k < 256; ++k) ASSERT_TRUE(hash->update(k, k).ok());
  auto p = ek::map_pressure(hash->handle());
  ASSERT_TRUE(p.ok()) << p.error().message();
  EXPECT_EQ(p->entries, 256U);
  EXPECT_EQ(p->max_entries, 1024U);
  EXPECT_DOUBLE_EQ(p->ratio(), 0.25);
  EXPECT_FALSE(p->fixed_size);

  auto pc = obj.map_as<ek::PerCpuMap<std::uint32_t, std::uint64_t>>("pcpu_hash");
  for (std::uint32_t k = 0; k < 48; ++k) ASSERT_TRUE(pc->update_all(k, 1).ok());
  EXPECT_EQ(ek::map_pressure(pc->handle())->entries, 48U);

  auto lpm = obj.map_as<ek::Map<ebpfkit_lpm_v4, std::uint32_t>>("lpm_map");  // key walk
  for (std::uint8_t i = 0; i < 16; ++i) {
    ASSERT_TRUE(lpm->update(ebpfkit_lpm_v4{24, {10, i, 0, 0}}, i).ok());
  }
  auto lp = ek::map_pressure(lpm->handle());
  ASSERT_TRUE(lp.ok()) << lp.error().message();
  EXPECT_EQ(lp->entries, 16U);
  EXPECT_DOUBLE_EQ(lp->ratio(), 16.0 / 64.0);

  auto arr = ek::map_pressure(obj.map("array_map").value());
  ASSERT_TRUE(arr.ok());
  EXPECT_TRUE(arr->fixed_size);
  EXPECT_EQ(arr->entries, 16U);

  auto rb = ek::map_pressure(obj.map("events").value());
  ASSERT_FALSE(rb.ok());
  EXPECT_THAT(rb.error().context, HasSubstr("use ring_pressure"));
}

}  // namespace
