// Pinning on bpffs: maps declared LIBBPF_PIN_BY_NAME survive their Object and are
// reused; explicit pins of maps and programs; unpin cleans up.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <bngkit/ebpfkit/map.hpp>
#include <bngkit/ebpfkit/object.hpp>
#include <bngkit/ebpfkit/pin.hpp>
#include <bngkit/ebpfkit/test_run.hpp>
#include <filesystem>

#include "netns_util.hpp"
#include "test_util.hpp"

namespace ek = bngkit::ebpfkit;
using ::testing::HasSubstr;
using U32Map = ek::Map<std::uint32_t, std::uint64_t>;

namespace {

class PinTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EBPFKIT_REQUIRE_PRIVILEGES();
    dir_ = std::make_unique<ektest::BpffsDir>();
    ASSERT_TRUE(dir_->ok()) << dir_->error;
  }
  std::unique_ptr<ektest::BpffsDir> dir_;
};

TEST_F(PinTest, PinnedByNameMapIsReusedAcrossObjects) {
  ek::ObjectOptions opts;
  opts.pin_root = dir_->path;
  const std::string pin_path = dir_->path + "/pinned_counts";
  std::uint32_t first_id = 0;
  {
    auto obj = ektest::load_test_object(opts);
    ASSERT_TRUE(obj.loaded());
    EXPECT_TRUE(std::filesystem::exists(pin_path));
    auto m = obj.map_as<U32Map>("pinned_counts");
    ASSERT_TRUE(m.ok());
    first_id = m->info().id;
    ASSERT_TRUE(m->update(1, 42).ok());
    ASSERT_TRUE(m->update(2, 43).ok());
    // Unpinned maps of the same object are not kept.
    EXPECT_FALSE(std::filesystem::exists(dir_->path + "/hash_map"));
  }  // Object gone: only the pin keeps the map alive

  auto reopened = ek::open_pinned_map(pin_path);
  ASSERT_TRUE(reopened.ok()) << reopened.error().message();
  EXPECT_EQ(reopened->info().id, first_id);
  EXPECT_TRUE(reopened->owns_fd());

  {
    auto obj = ektest::load_test_object(opts);  // "restart": reuses the pinned map
    auto m = obj.map_as<U32Map>("pinned_counts");
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(m->info().id, first_id);
    EXPECT_EQ(m->lookup(1)->value_or(0), 42U);
    EXPECT_EQ(m->lookup(2)->value_or(0), 43U);
    // The reloaded program writes into the same map.
    auto pkt = ektest::udp_frame(EBPFKIT_TEST_UDP_PORT, {1});
    ASSERT_TRUE(ek::test_run(obj.program("xdp_swap_mac").value(), pkt).ok());
    EXPECT_EQ(m->lookup(0)->value_or(0), 1U);
  }
  ASSERT_TRUE(ek::unpin(pin_path).ok());
  EXPECT_FALSE(std::filesystem::exists(pin_path));
  auto gone = ek::open_pinned_map(pin_path);
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, std::errc::no_such_file_or_directory);
  EXPECT_THAT(gone.error().context, HasSubstr(pin_path));
  // The handle opened earlier still works: the map lives while someone holds it.
  auto still = U32Map::from(std::move(reopened).value());
  ASSERT_TRUE(still.ok());
  EXPECT_EQ(still->lookup(1)->value_or(0), 42U);
}

TEST_F(PinTest, ExplicitMapAndProgramPins) {
  auto obj = ektest::load_test_object();
  auto h = obj.map("hash_map");
  ASSERT_TRUE(h.ok());
  const std::string map_path = dir_->path + "/nested/dir/hash";
  ASSERT_TRUE(ek::pin(*h, map_path).ok());
  auto m = U32Map::from(h->borrowed());
  ASSERT_TRUE(m->update(5, 55).ok());

  const std::string prog_path = dir_->path + "/progs/swap";
  auto p = obj.program("xdp_swap_mac");
  ASSERT_TRUE(ek::pin(*p, prog_path).ok());
  auto dup = ek::pin(*p, prog_path);
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, std::errc::file_exists);

  const std::uint32_t map_id = h->info().id;
  const std::uint32_t prog_id = p->info()->id;
  obj = ektest::load_test_object();  // drop the first object

  auto pm = ek::open_pinned_map(map_path);
  ASSERT_TRUE(pm.ok()) << pm.error().message();
  EXPECT_EQ(pm->info().id, map_id);
  EXPECT_EQ(pm->name(), "hash_map");
  auto typed = U32Map::from(std::move(pm).value());
  EXPECT_EQ(typed->lookup(5)->value_or(0), 55U);

  auto pp = ek::open_pinned_program(prog_path);
  ASSERT_TRUE(pp.ok()) << pp.error().message();
  EXPECT_EQ(pp->info().id, prog_id);
  EXPECT_EQ(pp->info().type, BPF_PROG_TYPE_XDP);
  auto pkt = ektest::udp_frame(EBPFKIT_TEST_UDP_PORT, {1});
  auto r = ek::test_run(*pp, pkt);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->retval, static_cast<std::uint32_t>(XDP_TX));

  auto wrong = ek::open_pinned_program(map_path);
  ASSERT_FALSE(wrong.ok());
  EXPECT_THAT(wrong.error().context, HasSubstr("is not a pinned program"));
  auto wrong2 = ek::open_pinned_map(prog_path);
  ASSERT_FALSE(wrong2.ok());
  EXPECT_THAT(wrong2.error().context, HasSubstr("is not a pinned map"));

  ASSERT_TRUE(ek::unpin(map_path).ok());
  ASSERT_TRUE(ek::unpin(prog_path).ok());
  EXPECT_FALSE(ek::unpin(prog_path).ok());
}

TEST_F(PinTest, PinningOutsideBpffsIsAClearError) {
  auto obj = ektest::load_test_object();
  const std::string path = "/dev/shm/bngkit-not-bpffs-" + std::to_string(::getpid()) + "/m";
  auto r = ek::pin(*obj.map("hash_map"), path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().context, path + " is not on a bpffs mount: mount -t bpf bpf /sys/fs/bpf");
  EXPECT_FALSE(std::filesystem::exists(path));
}

}  // namespace
