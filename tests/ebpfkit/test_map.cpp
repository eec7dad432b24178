// Typed maps against real kernel maps: element ops and flags, size checks, iteration,
// batch ops with and without kernel support, per-CPU values and folds.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <bngkit/ebpfkit/map.hpp>
#include <bngkit/ebpfkit/object.hpp>
#include <map>
#include <numeric>

#include "test_util.hpp"

namespace ek = bngkit::ebpfkit;
using ::testing::HasSubstr;
using U32Map = ek::Map<std::uint32_t, std::uint64_t>;

namespace {

class MapTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EBPFKIT_REQUIRE_PRIVILEGES();
    obj_.emplace(ektest::load_test_object());
    ASSERT_TRUE(obj_->loaded());
  }
  template <typename M>
  M get(const char* name) {
    auto m = obj_->map_as<M>(name);
    EXPECT_TRUE(m.ok()) << m.error().message();
    return std::move(m).value();
  }
  std::optional<ek::Object> obj_;
};

TEST_F(MapTest, HashElementOpsAndFlags) {
  auto m = get<U32Map>("hash_map");
  EXPECT_FALSE(m.lookup(7)->has_value());
  ASSERT_TRUE(m.update(7, 70).ok());
  EXPECT_EQ(m.lookup(7)->value(), 70U);

  auto dup = m.update(7, 71, ek::UpdateFlag::no_exist);
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, std::errc::file_exists);
  EXPECT_THAT(dup.error().context, HasSubstr("hash_map"));

  auto absent = m.update(8, 80, ek::UpdateFlag::exist);
  ASSERT_FALSE(absent.ok());
  EXPECT_EQ(absent.error().code, std::errc::no_such_file_or_directory);

  ASSERT_TRUE(m.update(7, 72, ek::UpdateFlag::exist).ok());
  EXPECT_EQ(m.lookup(7)->value(), 72U);

  auto taken = m.lookup_and_delete(7);
  ASSERT_TRUE(taken.ok()) << taken.error().message();
  EXPECT_EQ(taken->value(), 72U);
  EXPECT_FALSE(m.lookup(7)->has_value());
  EXPECT_FALSE(m.lookup_and_delete(7)->has_value());

  ASSERT_TRUE(m.update(9, 90).ok());
  EXPECT_TRUE(*m.erase(9));
  EXPECT_FALSE(*m.erase(9));
}

TEST_F(MapTest, KeyAndValueSizeMismatchesAreClearErrors) {
  auto wrong_key = obj_->map_as<ek::Map<std::uint64_t, std::uint64_t>>("hash_map");
  ASSERT_FALSE(wrong_key.ok());
  EXPECT_EQ(wrong_key.error().context,
            "Map<K,V> for map 'hash_map': key size mismatch: kernel map has 4 bytes, "
            "sizeof(K) is 8");
  EXPECT_EQ(wrong_key.error().code, std::errc::invalid_argument);

  auto wrong_value = obj_->map_as<ek::Map<std::uint32_t, std::uint32_t>>("hash_map");
  ASSERT_FALSE(wrong_value.ok());
  EXPECT_EQ(wrong_value.error().context,
            "Map<K,V> for map 'hash_map': value size mismatch: kernel map has 8 bytes, "
            "sizeof(V) is 4");

  auto not_per_cpu = obj_->map_as<ek::PerCpuMap<std::uint32_t, std::uint64_t>>("hash_map");
  ASSERT_FALSE(not_per_cpu.ok());
  EXPECT_THAT(not_per_cpu.error().context, HasSubstr("map type hash is not per-CPU"));

  auto per_cpu = obj_->map_as<U32Map>("pcpu_hash");
  ASSERT_FALSE(per_cpu.ok());
  EXPECT_THAT(per_cpu.error().context, HasSubstr("is per-CPU (use PerCpuMap<K,V>)"));

  auto pc_value = obj_->map_as<ek::PerCpuMap<std::uint32_t, std::uint32_t>>("pcpu_hash");
  ASSERT_FALSE(pc_value.ok());
  EXPECT_THAT(pc_value.error().context, HasSubstr("value size mismatch"));
}

TEST_F(MapTest, ArrayKeysAndBounds) {
  auto m = get<U32Map>("array_map");
  auto keys = m.keys();
  ASSERT_TRUE(keys.ok());
  std::vector<std::uint32_t> expect(16);
  std::iota(expect.begin(), expect.end(), 0U);
  EXPECT_EQ(*keys, expect);
  EXPECT_EQ(*m.handle().count_keys(), 16U);
  EXPECT_EQ(m.lookup(15)->value(), 0U);  // arrays are zero-filled
  auto out = m.update(16, 1);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, std::errc::argument_list_too_long);  // E2BIG
  EXPECT_FALSE(m.erase(0).ok());                                   // arrays cannot delete
  EXPECT_FALSE(m.lookup(16)->has_value());
}

TEST_F(MapTest, LruStructValuesAndEntries) {
  auto m = get<ek::Map<std::uint64_t, ebpfkit_lru_value>>("lru_map");
  for (std::uint64_t k = 1; k <= 10; ++k) {
    ASSERT_TRUE(m.update(k * 1000, ebpfkit_lru_value{k, k * k}).ok());
  }
  auto e = m.entries();
  ASSERT_TRUE(e.ok());
  ASSERT_EQ(e->size(), 10U);
  for (const auto& [k, v] : *e) {
    EXPECT_EQ(k, v.a * 1000);
    EXPECT_EQ(v.b, v.a * v.a);
  }
  int seen = 0;
  auto stop = m.for_each([&](const std::uint64_t&, const ebpfkit_lru_value&) {
    ++seen;
    return seen < 3;
  });
  ASSERT_TRUE(stop.ok());
  EXPECT_EQ(seen, 3);
}

ebpfkit_lpm_v4 prefix(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d,
                      std::uint32_t len) {
  return ebpfkit_lpm_v4{len, {a, b, c, d}};
}

TEST_F(MapTest, LpmLongestPrefixAndBatchFallback) {
  auto m = get<ek::Map<ebpfkit_lpm_v4, std::uint32_t>>("lpm_map");
  ASSERT_TRUE(m.update(prefix(10, 0, 0, 0, 8), 1).ok());
  ASSERT_TRUE(m.update(prefix(10, 1, 0, 0, 16), 2).ok());
  EXPECT_EQ(m.lookup(prefix(10, 1, 2, 3, 32))->value(), 2U);
  EXPECT_EQ(m.lookup(prefix(10, 2, 0, 1, 32))->value(), 1U);
  EXPECT_FALSE(m.lookup(prefix(11, 0, 0, 1, 32))->has_value());
  // LPM tries have no kernel batch lookup: the per-element fallback answers.
  auto all = m.lookup_batch();
  ASSERT_TRUE(all.ok()) << all.error().message();
  ASSERT_EQ(all->size(), 2U);
  std::map<std::uint32_t, std::uint32_t> by_len;
  for (const auto& [k, v] : *all) by_len[k.prefixlen] = v;
  EXPECT_EQ(by_len[8], 1U);
  EXPECT_EQ(by_len[16], 2U);
  std::vector<ebpfkit_lpm_v4> del = {prefix(10, 0, 0, 0, 8), prefix(12, 0, 0, 0, 8)};
  auto n = m.delete_batch(del);
  ASSERT_TRUE(n.ok()) << n.error().message();
  EXPECT_EQ(*n, 1U);
  EXPECT_EQ(*m.handle().count_keys(), 1U);
}

TEST_F(MapTest, HashBatchRoundTripMatchesPerElement) {
  auto m = get<U32Map>("hash_map");
  std::vector<std::uint32_t> keys(600);
  std::vector<std::uint64_t> values(600);
  for (std::uint32_t i = 0; i < 600; ++i) {
    keys[i] = i * 7 + 1;
    values[i] = 1000000ULL + i;
  }
  ek::BatchOptions small;
  small.chunk = 64;
  auto n = m.update_batch(keys, values, ek::UpdateFlag::any, small);
  ASSERT_TRUE(n.ok()) << n.error().message();
  EXPECT_EQ(*n, 600U);

  auto batch = m.lookup_batch(small);
  ASSERT_TRUE(batch.ok()) << batch.error().message();
  ek::BatchOptions per_element;
  per_element.use_kernel_batch = false;
  auto slow = m.lookup_batch(per_element);
  ASSERT_TRUE(slow.ok());
  auto sorted = [](std::vector<std::pair<std::uint32_t, std::uint64_t>> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  auto a = sorted(*batch);
  ASSERT_EQ(a.size(), 600U);
  EXPECT_EQ(a, sorted(*slow));
  for (std::uint32_t i = 0; i < 600; ++i) {
    EXPECT_EQ(m.lookup(keys[i])->value(), values[i]);
  }

  // A tiny chunk is grown automatically when a hash bucket holds more.
  ek::BatchOptions one;
  one.chunk = 1;
  auto tiny = m.lookup_batch(one);
  ASSERT_TRUE(tiny.ok()) << tiny.error().message();
  EXPECT_EQ(tiny->size(), 600U);

  // no_exist is not a kernel batch flag: handled per element and fails on a duplicate.
  std::vector<std::uint32_t> k2 = {5000, keys[3]};
  std::vector<std::uint64_t> v2 = {1, 2};
  auto dup = m.update_batch(k2, v2, ek::UpdateFlag::no_exist);
  ASSERT_FALSE(dup.ok());
  EXPECT_THAT(dup.error().context, HasSubstr("failed at element 1"));
  EXPECT_EQ(m.lookup(5000)->value(), 1U);

  std::vector<std::uint32_t> del(keys.begin(), keys.begin() + 300);
  del.insert(del.begin() + 10, 999999);  // absent: skipped, not an error
  auto gone = m.delete_batch(del, small);
  ASSERT_TRUE(gone.ok()) << gone.error().message();
  EXPECT_EQ(*gone, 300U);
  EXPECT_EQ(*m.handle().count_keys(), 301U);  // 300 left + key 5000

  auto mismatch = m.update_batch(std::vector<std::uint32_t>{1, 2}, std::vector<std::uint64_t>{1});
  ASSERT_FALSE(mismatch.ok());
  EXPECT_THAT(mismatch.error().context, HasSubstr("2 keys but 1 values"));
}

TEST_F(MapTest, PerCpuValuesSumsAndFolds) {
  auto m = get<ek::PerCpuMap<std::uint32_t, std::uint64_t>>("pcpu_hash");
  const unsigned n = m.num_cpus();
  ASSERT_EQ(n, *ek::possible_cpus());
  std::vector<std::uint64_t> per(n);
  std::iota(per.begin(), per.end(), 1ULL);
  ASSERT_TRUE(m.update(1, per).ok());
  auto got = m.lookup(1);
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(**got, per);
  EXPECT_EQ(*m.sum(1), static_cast<std::uint64_t>(n) * (n + 1) / 2);
  auto max = m.aggregate(1, std::uint64_t{0},
                         [](std::uint64_t a, std::uint64_t b) { return std::max(a, b); });
  EXPECT_EQ(*max, n);

  ASSERT_TRUE(m.update_all(2, 5).ok());
  EXPECT_EQ(*m.sum(2), 5ULL * n);
  auto missing = m.sum(3);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, std::errc::no_such_file_or_directory);

  auto agg = m.aggregate_entries();
  ASSERT_TRUE(agg.ok()) << agg.error().message();
  std::map<std::uint32_t, std::uint64_t> sums(agg->begin(), agg->end());
  EXPECT_EQ(sums.size(), 2U);
  EXPECT_EQ(sums[2], 5ULL * n);

  std::vector<std::uint64_t> short_vec(n + 1);
  auto bad = m.update(4, short_vec);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().context, HasSubstr("possible CPUs"));
  EXPECT_TRUE(*m.erase(1));
  EXPECT_EQ(m.keys()->size(), 1U);
}

TEST_F(MapTest, PerCpuArrayOfStructsWithACustomFold) {
  auto m = get<ek::PerCpuMap<std::uint32_t, ebpfkit_counter>>("xdp_stats");
  const unsigned n = m.num_cpus();
  std::vector<ebpfkit_counter> per(n);
  for (unsigned c = 0; c < n; ++c) per[c] = {c + 1ULL, 100ULL * (c + 1)};
  ASSERT_TRUE(m.update(0, per).ok());
  auto add = [](ebpfkit_counter a, const ebpfkit_counter& b) {
    return ebpfkit_counter{a.packets + b.packets, a.bytes + b.bytes};
  };
  auto total = m.aggregate(0, ebpfkit_counter{}, add);
  ASSERT_TRUE(total.ok());
  EXPECT_EQ(total->packets, static_cast<std::uint64_t>(n) * (n + 1) / 2);
  EXPECT_EQ(total->bytes, 100ULL * n * (n + 1) / 2);
  auto e = m.entries();
  ASSERT_TRUE(e.ok()) << e.error().message();
  EXPECT_EQ(e->size(), 2U);  // arrays have every index
}

TEST(MapHandleCreate, CreatesOwnsAndBorrows) {
  EBPFKIT_REQUIRE_PRIVILEGES();
  auto h = ek::MapHandle::create(BPF_MAP_TYPE_HASH, "ebpfkit_created_map", 4, 8, 32);
  ASSERT_TRUE(h.ok()) << h.error().message();
  EXPECT_TRUE(h->owns_fd());
  EXPECT_EQ(h->name(), "ebpfkit_created_map");
  ek::MapHandle view = h->borrowed();
  ek::MapHandle moved_from = h->borrowed();
  ek::MapHandle taker = std::move(moved_from);
  EXPECT_EQ(moved_from.fd(), -1);  // NOLINT: moved-from state is defined
  EXPECT_EQ(taker.fd(), h->fd());
  EXPECT_FALSE(view.owns_fd());
  EXPECT_EQ(view.fd(), h->fd());
  auto m = U32Map::from(std::move(view));
  ASSERT_TRUE(m.ok());
  ASSERT_TRUE(m->update(1, 2).ok());
  auto again = ek::MapHandle::from_id(h->info().id);
  ASSERT_TRUE(again.ok());
  EXPECT_NE(again->fd(), h->fd());
  EXPECT_EQ(again->info().max_entries, 32U);
  auto m2 = U32Map::from(std::move(again).value());
  EXPECT_EQ(m2->lookup(1)->value(), 2U);
  auto bad = ek::MapHandle::create(BPF_MAP_TYPE_HASH, "zero", 0, 8, 32);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().context, HasSubstr("creating hash map 'zero'"));
}

}  // namespace
