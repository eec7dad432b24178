// XDP and TC attachments on a real veth pair between two namespaces, with real UDP
// traffic: per-CPU counters must equal the packets sent; detach restores what was there.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <bngkit/ebpfkit/attach.hpp>
#include <bngkit/ebpfkit/health.hpp>
#include <bngkit/ebpfkit/map.hpp>
#include <bngkit/ebpfkit/object.hpp>
#include <bngkit/ebpfkit/probe.hpp>
#include <chrono>
#include <thread>

#include "netns_util.hpp"
#include "test_util.hpp"

namespace ek = bngkit::ebpfkit;
using ::testing::HasSubstr;

namespace {

constexpr int kPackets = 200;
constexpr std::size_t kPayload = 100;
constexpr std::size_t kFrame = 14 + 20 + 8 + kPayload;

ebpfkit_counter add(ebpfkit_counter a, const ebpfkit_counter& b) {
  return {a.packets + b.packets, a.bytes + b.bytes};
}

// Waits until the per-CPU sum of `idx` reaches `want` packets (NAPI runs asynchronously).
ebpfkit_counter wait_for(const ek::PerCpuMap<std::uint32_t, ebpfkit_counter>& m, std::uint32_t idx,
                         std::uint64_t want) {
  ebpfkit_counter c{};
  for (int i = 0; i < 200; ++i) {
    auto r = m.aggregate(idx, ebpfkit_counter{}, add);
    if (r.ok()) c = *r;
    if (c.packets >= want) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return c;
}

class AttachTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EBPFKIT_REQUIRE_PRIVILEGES();
    veth_ = std::make_unique<ektest::VethPair>();
    ASSERT_TRUE(veth_->ok()) << veth_->error;
    obj_.emplace(ektest::load_test_object());
    ASSERT_TRUE(obj_->loaded());
  }
  ek::Program prog(const char* name) { return obj_->program(name).value(); }
  std::uint32_t id_of(const char* name) { return prog(name).info()->id; }
  bool has_clsact() {
    return ektest::sh_out("ip netns exec " + veth_->ns_a + " tc qdisc show dev " + veth_->dev_a)
               .find("clsact") != std::string::npos;
  }
  std::unique_ptr<ektest::VethPair> veth_;
  std::optional<ek::Object> obj_;
};

TEST_F(AttachTest, XdpAndTcCountRealUdpPackets) {
  ektest::EnterNetns in_a(veth_->ns_a);
  ASSERT_TRUE(in_a.ok());
  auto stats_on = ek::StatsEnabler::enable();
  ASSERT_TRUE(stats_on.ok()) << stats_on.error().message();
  auto before = ek::run_stats(prog("xdp_count"));
  ASSERT_TRUE(before.ok());

  ek::XdpAttachOptions xo;
  xo.mode = ek::XdpMode::native;
  auto xdp = ek::XdpAttachment::attach(veth_->dev_a, prog("xdp_count"), xo);
  ASSERT_TRUE(xdp.ok()) << xdp.error().message();
  EXPECT_EQ(xdp->mode(), ek::XdpMode::native);
  EXPECT_EQ(xdp->program_id(), id_of("xdp_count"));
  EXPECT_EQ(xdp->previous_program_id(), 0U);
  EXPECT_TRUE(*xdp->still_attached());
  EXPECT_TRUE(*ek::xdp_attached(xdp->ifindex(), xdp->program_id()));

  auto tc = ek::TcAttachment::attach(veth_->dev_a, prog("tc_count"));
  ASSERT_TRUE(tc.ok()) << tc.error().message();
  EXPECT_TRUE(tc->created_qdisc());
  EXPECT_GT(tc->priority(), 0U);
  EXPECT_GT(tc->handle(), 0U);
  EXPECT_TRUE(*tc->still_attached());
  EXPECT_TRUE(*ek::tc_attached(tc->ifindex(), ek::TcDirection::ingress, tc->priority(),
                               tc->handle(), id_of("tc_count")));
  EXPECT_TRUE(has_clsact());

  int sent = ektest::send_udp_from(veth_->ns_b, ektest::VethPair::kAddrA, EBPFKIT_TEST_UDP_PORT,
                                   kPackets, kPayload);
  ASSERT_EQ(sent, kPackets);

  auto xs = obj_->map_as<ek::PerCpuMap<std::uint32_t, ebpfkit_counter>>("xdp_stats");
  auto ts = obj_->map_as<ek::PerCpuMap<std::uint32_t, ebpfkit_counter>>("tc_stats");
  ASSERT_TRUE(xs.ok() && ts.ok());
  ebpfkit_counter x = wait_for(*xs, EBPFKIT_STAT_UDP, kPackets);
  ebpfkit_counter t = wait_for(*ts, EBPFKIT_STAT_UDP, kPackets);
  EXPECT_EQ(x.packets, static_cast<std::uint64_t>(kPackets));
  EXPECT_EQ(x.bytes, kPackets * kFrame);
  EXPECT_EQ(t.packets, static_cast<std::uint64_t>(kPackets));
  EXPECT_EQ(t.bytes, kPackets * kFrame);  // skb->len at TC ingress includes Ethernet

  auto after = ek::run_stats(prog("xdp_count"));
  ASSERT_TRUE(after.ok());
  auto delta = after->since(*before);
  EXPECT_GE(delta.run_count, static_cast<std::uint64_t>(kPackets));
  EXPECT_GT(delta.run_time_ns, 0U);
  EXPECT_GT(delta.mean_ns(), 0.0);

  unsigned ifindex = xdp->ifindex();
  ASSERT_TRUE(xdp->detach().ok());
  EXPECT_FALSE(xdp->active());
  EXPECT_FALSE(*ek::xdp_attached(ifindex, id_of("xdp_count")));
  EXPECT_EQ(ek::xdp_query(ifindex)->native_id, 0U);
  ASSERT_TRUE(tc->detach().ok());
  EXPECT_EQ(*ek::tc_query(ifindex, ek::TcDirection::ingress, tc->priority(), tc->handle()), 0U);
  EXPECT_FALSE(has_clsact());  // we created it, so we removed it
}

TEST_F(AttachTest, DetachRestoresThePreviousXdpProgram) {
  ektest::EnterNetns in_a(veth_->ns_a);
  ASSERT_TRUE(in_a.ok());
  // Someone else's program, left attached (generic mode).
  ek::XdpAttachOptions gen;
  gen.mode = ek::XdpMode::generic;
  {
    auto other = ek::XdpAttachment::attach(veth_->dev_a, prog("xdp_drop"), gen);
    ASSERT_TRUE(other.ok()) << other.error().message();
    other->release();
  }
  const unsigned ifindex = *ek::interface_index(veth_->dev_a);
  ASSERT_EQ(ek::xdp_query(ifindex)->generic_id, id_of("xdp_drop"));

  ek::XdpAttachOptions no_replace;
  no_replace.mode = ek::XdpMode::generic;
  no_replace.replace = false;
  auto refused = ek::XdpAttachment::attach(veth_->dev_a, prog("xdp_count"), no_replace);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, std::errc::file_exists);
  EXPECT_THAT(refused.error().context, HasSubstr("already runs XDP program id"));

  {
    // Automatic mode follows the generic program that is there and replaces it.
    auto mine = ek::XdpAttachment::attach(veth_->dev_a, prog("xdp_count"));
    ASSERT_TRUE(mine.ok()) << mine.error().message();
    EXPECT_EQ(mine->mode(), ek::XdpMode::generic);
    EXPECT_EQ(mine->previous_program_id(), id_of("xdp_drop"));
    EXPECT_EQ(ek::xdp_query(ifindex)->generic_id, id_of("xdp_count"));
  }                                                                  // destructor detaches
  EXPECT_EQ(ek::xdp_query(ifindex)->generic_id, id_of("xdp_drop"));  // restored
  // Clean the interface for the netns teardown.
  auto cleanup = ek::XdpAttachment::attach(veth_->dev_a, prog("xdp_count"), gen);
  ASSERT_TRUE(cleanup.ok());
}

TEST_F(AttachTest, DetachByIdRemovesOnlyThatProgram) {
  ektest::EnterNetns in_a(veth_->ns_a);
  ASSERT_TRUE(in_a.ok());
  ek::XdpAttachOptions gen;
  gen.mode = ek::XdpMode::generic;
  {
    auto left = ek::XdpAttachment::attach(veth_->dev_a, prog("xdp_drop"), gen);
    ASSERT_TRUE(left.ok()) << left.error().message();
    left->release();  // as if its process had died
  }
  const unsigned ifindex = *ek::interface_index(veth_->dev_a);
  auto other = ek::xdp_detach_id(ifindex, id_of("xdp_count"));  // not the attached one
  ASSERT_TRUE(other.ok()) << other.error().message();
  EXPECT_FALSE(*other);
  EXPECT_EQ(ek::xdp_query(ifindex)->generic_id, id_of("xdp_drop"));
  auto removed = ek::xdp_detach_id(ifindex, id_of("xdp_drop"));
  ASSERT_TRUE(removed.ok()) << removed.error().message();
  EXPECT_TRUE(*removed);
  EXPECT_EQ(ek::xdp_query(ifindex)->generic_id, 0u);
  EXPECT_EQ(ek::xdp_query(ifindex)->native_id, 0u);
}

TEST_F(AttachTest, DetachLeavesSomeoneElsesReplacementAlone) {
  ektest::EnterNetns in_a(veth_->ns_a);
  ASSERT_TRUE(in_a.ok());
  ek::XdpAttachOptions native;
  native.mode = ek::XdpMode::native;
  auto mine = ek::XdpAttachment::attach(veth_->dev_a, prog("xdp_count"), native);
  ASSERT_TRUE(mine.ok()) << mine.error().message();
  auto theirs = ek::XdpAttachment::attach(veth_->dev_a, prog("xdp_drop"), native);
  ASSERT_TRUE(theirs.ok()) << theirs.error().message();
  EXPECT_EQ(theirs->previous_program_id(), id_of("xdp_count"));
  EXPECT_FALSE(*mine->still_attached());
  ASSERT_TRUE(mine->detach().ok());  // not ours any more: left in place
  const unsigned ifindex = mine->ifindex();
  EXPECT_EQ(ek::xdp_query(ifindex)->native_id, id_of("xdp_drop"));
  ASSERT_TRUE(theirs->detach().ok());
  // Theirs restored the program it replaced (ours), which now has no owner here; the
  // namespace teardown removes it.
  EXPECT_EQ(ek::xdp_query(ifindex)->native_id, id_of("xdp_count"));
}

TEST_F(AttachTest, AttachmentOutlivesItsObjectAndDetachesFromAnotherNamespace) {
  std::optional<ek::XdpAttachment> xdp;
  {
    ektest::EnterNetns in_a(veth_->ns_a);
    ASSERT_TRUE(in_a.ok());
    auto a = ek::XdpAttachment::attach(veth_->dev_a, prog("xdp_count"));
    ASSERT_TRUE(a.ok()) << a.error().message();
    xdp.emplace(std::move(a).value());
  }
  obj_.reset();  // the attachment holds its own program reference
  const unsigned ifindex = xdp->ifindex();
  EXPECT_TRUE(*xdp->still_attached());  // queried in ns_a although we are back in the root ns
  ASSERT_TRUE(xdp->detach().ok());
  ektest::EnterNetns in_a(veth_->ns_a);
  auto q = ek::xdp_query(ifindex);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->native_id + q->generic_id, 0U);
}

TEST_F(AttachTest, TcQdiscIsSharedAndOnlyRemovedByItsCreator) {
  ektest::EnterNetns in_a(veth_->ns_a);
  ASSERT_TRUE(in_a.ok());
  {
    auto ing = ek::TcAttachment::attach(veth_->dev_a, prog("tc_count"));
    ASSERT_TRUE(ing.ok()) << ing.error().message();
    ek::TcAttachOptions eo;
    eo.direction = ek::TcDirection::egress;
    auto eg = ek::TcAttachment::attach(veth_->dev_a, prog("tc_ttl"), eo);
    ASSERT_TRUE(eg.ok()) << eg.error().message();
    EXPECT_TRUE(ing->created_qdisc());
    EXPECT_FALSE(eg->created_qdisc());
    ASSERT_TRUE(ing->detach().ok());
    EXPECT_TRUE(has_clsact());  // egress filter still uses it
    EXPECT_TRUE(*eg->still_attached());
  }
  EXPECT_FALSE(has_clsact());

  // A qdisc that was there before us stays.
  ASSERT_EQ(
      ektest::sh("ip netns exec " + veth_->ns_a + " tc qdisc add dev " + veth_->dev_a + " clsact"),
      0);
  {
    auto ing = ek::TcAttachment::attach(veth_->dev_a, prog("tc_count"));
    ASSERT_TRUE(ing.ok()) << ing.error().message();
    EXPECT_FALSE(ing->created_qdisc());
  }
  EXPECT_TRUE(has_clsact());
}

TEST_F(AttachTest, ReleasedTcFilterStaysAttached) {
  ektest::EnterNetns in_a(veth_->ns_a);
  ASSERT_TRUE(in_a.ok());
  ek::TcAttachOptions opts;
  opts.priority = 7;
  opts.handle = 3;
  std::uint32_t prio = 0;
  std::uint32_t handle = 0;
  unsigned ifindex = 0;
  {
    auto tc = ek::TcAttachment::attach(veth_->dev_a, prog("tc_count"), opts);
    ASSERT_TRUE(tc.ok()) << tc.error().message();
    EXPECT_EQ(tc->priority(), 7U);
    EXPECT_EQ(tc->handle(), 3U);
    prio = tc->priority();
    handle = tc->handle();
    ifindex = tc->ifindex();
    auto dup = ek::TcAttachment::attach(veth_->dev_a, prog("tc_ttl"), opts);
    ASSERT_FALSE(dup.ok());
    EXPECT_THAT(dup.error().context, HasSubstr("already sits at this priority/handle"));
    ek::TcAttachOptions replace = opts;
    replace.replace = true;
    auto rep = ek::TcAttachment::attach(veth_->dev_a, prog("tc_ttl"), replace);
    ASSERT_TRUE(rep.ok()) << rep.error().message();
    EXPECT_FALSE(*tc->still_attached());  // replaced
    ASSERT_TRUE(tc->detach().ok());       // not ours: left alone
    EXPECT_TRUE(*rep->still_attached());
    rep->release();
  }
  EXPECT_EQ(*ek::tc_query(ifindex, ek::TcDirection::ingress, prio, handle), id_of("tc_ttl"));
  EXPECT_TRUE(has_clsact());
}

TEST_F(AttachTest, WrongProgramTypesAreRefused) {
  ektest::EnterNetns in_a(veth_->ns_a);
  auto x = ek::XdpAttachment::attach(veth_->dev_a, prog("tc_count"));
  ASSERT_FALSE(x.ok());
  EXPECT_THAT(x.error().context, HasSubstr("has type sched_cls, not xdp"));
  auto t = ek::TcAttachment::attach(veth_->dev_a, prog("xdp_count"));
  ASSERT_FALSE(t.ok());
  EXPECT_THAT(t.error().context, HasSubstr("has type xdp, not sched_cls"));
}

TEST(AttachErrors, BadInterfaceNameIsAClearError) {
  EBPFKIT_REQUIRE_PRIVILEGES();
  auto obj = ektest::load_test_object();
  auto x = ek::XdpAttachment::attach("nosuchif0", obj.program("xdp_count").value());
  ASSERT_FALSE(x.ok());
  EXPECT_EQ(x.error().context, "XDP attach: no network interface named 'nosuchif0'");
  EXPECT_EQ(x.error().code, std::errc::no_such_device);
  auto t = ek::TcAttachment::attach("nosuchif0", obj.program("tc_count").value());
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().context, "TC attach: no network interface named 'nosuchif0'");
  auto longname =
      ek::XdpAttachment::attach("a-name-longer-than-ifnamsiz", obj.program("xdp_count").value());
  ASSERT_FALSE(longname.ok());
  EXPECT_THAT(longname.error().context, HasSubstr("bad name"));
}

}  // namespace
