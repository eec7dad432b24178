// Object load (privileged): programs and maps get fds, the verifier log reaches the
// error when a program is rejected, autoload, program info.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <bngkit/ebpfkit/object.hpp>

#include "test_util.hpp"

namespace ek = bngkit::ebpfkit;
using ::testing::HasSubstr;

namespace {

TEST(ObjectLoad, LoadsProgramsAndMaps) {
  EBPFKIT_REQUIRE_PRIVILEGES();
  auto obj = ektest::load_test_object();
  ASSERT_TRUE(obj.loaded());
  for (const auto& name : obj.program_names()) {
    auto p = obj.program(name);
    ASSERT_TRUE(p.ok());
    EXPECT_TRUE(p->loaded()) << name;
  }
  auto m = obj.map("pinned_counts");
  ASSERT_TRUE(m.ok()) << m.error().message();
  EXPECT_EQ(m->name(), "pinned_counts");  // full name, not the kernel's 15 characters
  EXPECT_EQ(m->info().type, BPF_MAP_TYPE_HASH);
  EXPECT_EQ(m->info().key_size, 4U);
  EXPECT_EQ(m->info().value_size, 8U);
  EXPECT_EQ(m->info().max_entries, 64U);
  EXPECT_GT(m->info().id, 0U);
  EXPECT_FALSE(m->owns_fd());
  auto again = obj.load();
  ASSERT_FALSE(again.ok());
  EXPECT_THAT(again.error().context, HasSubstr("already loaded"));
}

TEST(ObjectLoad, VerifierRejectionCarriesTheLog) {
  EBPFKIT_REQUIRE_PRIVILEGES();
  auto obj = ektest::open_bad_object();
  ASSERT_TRUE(obj.ok()) << obj.error().message();
  auto r = obj->load();
  ASSERT_FALSE(r.ok());
  const std::string& ctx = r.error().context;
  EXPECT_THAT(ctx, HasSubstr("the kernel rejected program 'xdp_unchecked'"));
  EXPECT_THAT(ctx, HasSubstr("verifier log:"));
  // The verifier's own words about the unchecked access.
  EXPECT_THAT(ctx, HasSubstr("invalid access to packet"));
  EXPECT_EQ(r.error().code, std::errc::permission_denied);
  EXPECT_THAT(obj->verifier_log(), HasSubstr("invalid access to packet"));
}

TEST(ObjectLoad, AutoloadOffSkipsTheBadProgram) {
  EBPFKIT_REQUIRE_PRIVILEGES();
  auto obj = ektest::open_bad_object();
  ASSERT_TRUE(obj.ok());
  auto bad = obj->program("xdp_unchecked");
  ASSERT_TRUE(bad.ok());
  ASSERT_TRUE(bad->set_autoload(false).ok());
  auto r = obj->load();
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_TRUE(obj->program("xdp_ok")->loaded());
  EXPECT_FALSE(obj->program("xdp_unchecked")->loaded());
  EXPECT_FALSE(bad->set_autoload(true).ok());  // too late after load
}

TEST(ObjectLoad, VerboseLogOnSuccessWhenAsked) {
  EBPFKIT_REQUIRE_PRIVILEGES();
  ek::ObjectOptions opts;
  opts.verifier_log_level = 1;
  opts.verifier_log_size = 8U << 20;
  auto obj = ektest::load_test_object(opts);
  ASSERT_TRUE(obj.loaded());
  EXPECT_THAT(obj.verifier_log(), HasSubstr("processed"));
}

TEST(ObjectLoad, ProgramInfoAndHandles) {
  EBPFKIT_REQUIRE_PRIVILEGES();
  auto obj = ektest::load_test_object();
  auto p = obj.program("xdp_swap_mac");
  ASSERT_TRUE(p.ok());
  auto info = p->info();
  ASSERT_TRUE(info.ok()) << info.error().message();
  EXPECT_EQ(info->name, "xdp_swap_mac");
  EXPECT_EQ(info->type, BPF_PROG_TYPE_XDP);
  EXPECT_GT(info->id, 0U);
  EXPECT_GT(info->xlated_len, 0U);
  auto by_id = ek::ProgramHandle::from_id(info->id);
  ASSERT_TRUE(by_id.ok()) << by_id.error().message();
  EXPECT_TRUE(by_id->owns_fd());
  EXPECT_EQ(by_id->info().id, info->id);
  EXPECT_EQ(by_id->info().tag, info->tag);
  auto borrowed = ek::ProgramHandle::borrow(p->fd());
  ASSERT_TRUE(borrowed.ok());
  EXPECT_FALSE(borrowed->owns_fd());
  // A map fd is not a program.
  auto m = obj.map("hash_map");
  ASSERT_TRUE(m.ok());
  auto wrong = ek::ProgramHandle::borrow(m->fd());
  ASSERT_FALSE(wrong.ok());
  EXPECT_THAT(wrong.error().context, HasSubstr("not a bpf-prog"));
}

TEST(ObjectLoad, TypedMapThroughTheObject) {
  EBPFKIT_REQUIRE_PRIVILEGES();
  auto obj = ektest::load_test_object();
  auto m = obj.map_as<ek::Map<std::uint32_t, std::uint64_t>>("array_map");
  ASSERT_TRUE(m.ok()) << m.error().message();
  ASSERT_TRUE(m->update(3, 33).ok());
  EXPECT_EQ(m->lookup(3)->value_or(0), 33U);
  auto missing = obj.map_as<ek::Map<std::uint32_t, std::uint64_t>>("nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().context, "no map named nope in object ebpfkit_test");
}

}  // namespace
