// libebpfkit tests that need no privileges: opening objects, name lookups and their
// errors, bpffs detection, option defaults, libbpf opts structs.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <bngkit/ebpfkit/ebpfkit.hpp>
#include <bngkit/ebpfkit/fd.hpp>
#include <bngkit/ebpfkit/libbpf_opts.hpp>
#include <bngkit/ebpfkit/map.hpp>
#include <bngkit/ebpfkit/object.hpp>
#include <bngkit/ebpfkit/pin.hpp>
#include <bngkit/ebpfkit/test_run.hpp>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <new>

#include "test_util.hpp"

namespace ek = bngkit::ebpfkit;
using ::testing::HasSubstr;

namespace {

TEST(UniqueFd, ClosesOnDestructionAndMoves) {
  int raw = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(raw, 0);
  {
    ek::UniqueFd a(raw);
    ek::UniqueFd b(std::move(a));
    EXPECT_FALSE(a.valid());
    EXPECT_EQ(b.get(), raw);
  }
  EXPECT_EQ(::fcntl(raw, F_GETFD), -1);  // closed
  EXPECT_EQ(errno, EBADF);
}

TEST(ObjectOpen, FromSkeletonMemoryListsProgramsAndMaps) {
  auto obj = ektest::open_test_object();
  ASSERT_TRUE(obj.ok()) << obj.error().message();
  EXPECT_EQ(obj->name(), "ebpfkit_test");
  EXPECT_FALSE(obj->loaded());
  EXPECT_THAT(obj->program_names(),
              ::testing::UnorderedElementsAre("xdp_count", "tc_count", "xdp_drop", "xdp_event",
                                              "xdp_swap_mac", "xdp_grow", "tc_ttl"));
  auto maps = obj->map_names();
  EXPECT_THAT(maps,
              ::testing::IsSupersetOf({"hash_map", "array_map", "lru_map", "lpm_map", "pcpu_hash",
                                       "xdp_stats", "tc_stats", "pinned_counts", "events"}));
  auto prog = obj->program("xdp_count");
  ASSERT_TRUE(prog.ok());
  EXPECT_EQ(prog->type(), BPF_PROG_TYPE_XDP);
  EXPECT_EQ(prog->section(), "xdp");
  EXPECT_FALSE(prog->loaded());
  auto tc = obj->program("tc_count");
  ASSERT_TRUE(tc.ok());
  EXPECT_EQ(tc->type(), BPF_PROG_TYPE_SCHED_CLS);
}

TEST(ObjectOpen, FromFileNamedAfterTheFile) {
  auto obj = ek::Object::open_file(EBPFKIT_TEST_BPF_OBJ);
  ASSERT_TRUE(obj.ok()) << obj.error().message();
  EXPECT_EQ(obj->name(), "ebpfkit_test");  // base name up to the first dot
  EXPECT_TRUE(obj->program("xdp_count").ok());
  EXPECT_TRUE(obj->raw_map("events").ok());
}

TEST(ObjectOpen, NameOverride) {
  ek::ObjectOptions opts;
  opts.name = "custom";
  auto obj = ek::Object::open_memory("ignored", ektest::test_object_elf(), opts);
  ASSERT_TRUE(obj.ok()) << obj.error().message();
  EXPECT_EQ(obj->name(), "custom");
}

TEST(ObjectOpen, UnknownProgramAndMapNamesAreClearErrors) {
  auto obj = ektest::open_test_object();
  ASSERT_TRUE(obj.ok());
  auto p = obj->program("nope");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().context, "no program named nope in object ebpfkit_test");
  EXPECT_EQ(p.error().code, std::errc::no_such_file_or_directory);
  auto m = obj->map("missing_map");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().context, "no map named missing_map in object ebpfkit_test");
  auto rm = obj->raw_map("missing_map");
  ASSERT_FALSE(rm.ok());
  EXPECT_THAT(rm.error().message(), HasSubstr("no map named missing_map"));
}

TEST(ObjectOpen, MapBeforeLoadSaysToLoad) {
  auto obj = ektest::open_test_object();
  ASSERT_TRUE(obj.ok());
  EXPECT_TRUE(obj->raw_map("hash_map").ok());
  auto m = obj->map("hash_map");
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(m.error().context, HasSubstr("load() the object first"));
}

TEST(ObjectOpen, GarbageAndEmptyImagesAreErrors) {
  std::vector<std::byte> junk(64, std::byte{0x5a});
  auto a = ek::Object::open_memory("junk", junk);
  ASSERT_FALSE(a.ok());
  EXPECT_THAT(a.error().context, HasSubstr("opening BPF object 'junk' from memory"));
  auto b = ek::Object::open_memory("empty", {});
  ASSERT_FALSE(b.ok());
  EXPECT_THAT(b.error().context, HasSubstr("empty ELF image"));
}

TEST(ObjectOpen, MissingFileNamesThePath) {
  auto obj = ek::Object::open_file("/nonexistent/dir/prog.bpf.o");
  ASSERT_FALSE(obj.ok());
  EXPECT_THAT(obj.error().context, HasSubstr("/nonexistent/dir/prog.bpf.o"));
  EXPECT_EQ(obj.error().code, std::errc::no_such_file_or_directory);
}

TEST(ObjectOpen, MovedFromObjectIsInert) {
  auto obj = ektest::open_test_object();
  ASSERT_TRUE(obj.ok());
  ek::Object a = std::move(obj).value();
  ek::Object b = std::move(a);
  EXPECT_EQ(a.raw(), nullptr);  // NOLINT: testing moved-from state
  EXPECT_FALSE(a.load().ok());
  EXPECT_NE(b.raw(), nullptr);
}

// A scratch directory on tmpfs (/dev/shm), removed at the end.
struct TmpfsDir {
  std::string path;
  TmpfsDir() {
    char tmpl[] = "/dev/shm/bngkit-ebpfkit-XXXXXX";
    const char* p = ::mkdtemp(tmpl);
    if (p != nullptr) path = p;
  }
  ~TmpfsDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

TEST(Bpffs, TmpfsIsNotBpffsWithAClearError) {
  TmpfsDir dir;
  ASSERT_FALSE(dir.path.empty());
  auto on = ek::on_bpffs(dir.path);
  ASSERT_TRUE(on.ok()) << on.error().message();
  EXPECT_FALSE(*on);
  const std::string pin = dir.path + "/maps/counters";  // does not exist yet
  auto r = ek::require_bpffs(pin);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().context, pin + " is not on a bpffs mount: mount -t bpf bpf /sys/fs/bpf");
  auto open = ek::open_pinned_map(pin);
  ASSERT_FALSE(open.ok());
  EXPECT_THAT(open.error().context, HasSubstr("is not on a bpffs mount"));
  EXPECT_FALSE(ek::unpin(pin).ok());
}

TEST(Bpffs, PinRootOnTmpfsFailsAtOpen) {
  TmpfsDir dir;
  ek::ObjectOptions opts;
  opts.pin_root = dir.path;
  auto obj = ektest::open_test_object(opts);
  ASSERT_FALSE(obj.ok());
  EXPECT_THAT(obj.error().context,
              HasSubstr(dir.path + " is not on a bpffs mount: mount -t bpf bpf /sys/fs/bpf"));
  EXPECT_THAT(obj.error().context, HasSubstr("ebpfkit_test"));
}

TEST(LibbpfLogger, CapturesAndRestores) {
  std::vector<std::pair<ek::LibbpfLevel, std::string>> seen;
  ek::set_libbpf_logger([&](ek::LibbpfLevel l, std::string_view m) { seen.emplace_back(l, m); });
  std::vector<std::byte> junk(64, std::byte{0x5a});
  EXPECT_FALSE(ek::Object::open_memory("junk", junk).ok());
  ek::reset_libbpf_logger();
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen[0].first, ek::LibbpfLevel::warn);
  EXPECT_THAT(seen[0].second, HasSubstr("not a proper ELF object"));
  EXPECT_NE(seen[0].second.back(), '\n');
  const std::size_t n = seen.size();
  EXPECT_FALSE(ek::Object::open_memory("junk", junk).ok());
  EXPECT_EQ(seen.size(), n);  // no longer routed to us

  ek::set_libbpf_logger({});  // silence
  EXPECT_FALSE(ek::Object::open_memory("junk", junk).ok());
  ek::reset_libbpf_logger();
  EXPECT_EQ(seen.size(), n);
}

TEST(MapTypes, Names) {
  EXPECT_EQ(ek::map_type_name(BPF_MAP_TYPE_HASH), "hash");
  EXPECT_EQ(ek::map_type_name(BPF_MAP_TYPE_PERCPU_ARRAY), "percpu_array");
  EXPECT_EQ(ek::map_type_name(BPF_MAP_TYPE_LPM_TRIE), "lpm_trie");
}

TEST(MapTypes, PossibleCpusIsPositive) {
  auto n = ek::possible_cpus();
  ASSERT_TRUE(n.ok());
  EXPECT_GE(*n, 1U);
  EXPECT_GE(*n, static_cast<unsigned>(::sysconf(_SC_NPROCESSORS_ONLN)));
}

TEST(MapHandle, BorrowingANonBpfFdIsAnError) {
  int raw = ::open("/dev/null", O_RDONLY);
  ek::UniqueFd fd(raw);
  auto h = ek::MapHandle::borrow(fd.get());
  ASSERT_FALSE(h.ok());
  auto p = ek::ProgramHandle::borrow(fd.get());
  ASSERT_FALSE(p.ok());
}

TEST(TestRun, DefaultsAreAPlainSingleRun) {
  ek::TestRunInput in;
  EXPECT_EQ(in.repeat, 1U);
  EXPECT_EQ(in.flags, 0U);
  EXPECT_FALSE(in.data_out_capacity.has_value());
  EXPECT_EQ(in.ctx_out_capacity, 0U);
}

TEST(TestRun, BadFdIsAnError) {
  std::vector<std::byte> pkt(64);
  auto r = ek::test_run(ek::ProgramRef(-1), pkt);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().context, HasSubstr("BPF_PROG_TEST_RUN"));
}

// What LIBBPF_OPTS makes: sz = sizeof, every other byte (padding too) zero. libbpf rejects
// opts with non-zero bytes after the last field it knows, bpf_tc_opts' tail padding included.
template <typename Opts>
void expect_libbpf_opts_layout(const char* type) {
  SCOPED_TRACE(type);
  // Built in storage full of 0xa5, so a byte the constructor does not zero shows up.
  alignas(Opts) std::array<unsigned char, sizeof(Opts)> bytes;
  bytes.fill(0xa5);
  const Opts& opts = *::new (bytes.data()) ek::LibbpfOpts<Opts>;
  EXPECT_EQ(static_cast<const void*>(&opts), static_cast<const void*>(bytes.data()));
  EXPECT_EQ(opts.sz, sizeof(Opts));
  for (std::size_t i = sizeof(opts.sz); i < bytes.size(); ++i) {
    EXPECT_EQ(bytes[i], 0) << "byte " << i << " of " << sizeof(Opts);
  }
}

TEST(LibbpfOpts, SizeSetAndEveryOtherByteZero) {
  static_assert(sizeof(bpf_tc_opts) > offsetof(bpf_tc_opts, priority) + sizeof(std::uint32_t),
                "bpf_tc_opts has tail padding, the case libbpf checks");
  expect_libbpf_opts_layout<bpf_tc_opts>("bpf_tc_opts");
  expect_libbpf_opts_layout<bpf_tc_hook>("bpf_tc_hook");
  expect_libbpf_opts_layout<bpf_xdp_attach_opts>("bpf_xdp_attach_opts");
  expect_libbpf_opts_layout<bpf_map_batch_opts>("bpf_map_batch_opts");
  expect_libbpf_opts_layout<bpf_test_run_opts>("bpf_test_run_opts");
  expect_libbpf_opts_layout<bpf_object_open_opts>("bpf_object_open_opts");
}

TEST(LibbpfOpts, LibbpfAcceptsThemWithFieldsSetByName) {
  // bpf_object__open_mem validates its opts (sz, zero bytes past the known fields) without
  // needing privileges.
  ek::LibbpfOpts<bpf_object_open_opts> oo;
  oo.object_name = "opts_test";
  const auto elf = ektest::test_object_elf();
  ::bpf_object* obj = bpf_object__open_mem(elf.data(), elf.size(), &oo);
  ASSERT_NE(obj, nullptr) << "libbpf refused the opts: errno " << errno;
  EXPECT_STREQ(bpf_object__name(obj), "opts_test");
  bpf_object__close(obj);
}

}  // namespace
