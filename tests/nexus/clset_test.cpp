// CLSet: causal-length semantics, value tie-breaks, the join laws (property tests over seeded
// random histories), convergence under any delivery order, anti-entropy and the codecs.
#include <gtest/gtest.h>

#include <algorithm>
#include <bngkit/nexus/clset.hpp>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace bngkit::nexus {
namespace {

using Set = CLSet<std::string, std::string>;
using D = Set::DeltaType;

// A clock whose physical time the test controls (and can freeze, to force equal HLC readings).
std::shared_ptr<HybridClock> fixed_clock(std::uint64_t ms) {
  return std::make_shared<HybridClock>([ms] { return ms; });
}

TEST(HybridClock, NeverGoesBackwardsAndPassesObservedStamps) {
  std::uint64_t phys = 1000;
  HybridClock clock([&] { return phys; });
  const auto a = clock.now();
  phys = 500;  // wall clock steps back
  const auto b = clock.now();
  EXPECT_GT(b, a);
  clock.observe((std::uint64_t{5000} << 16) + 7);
  const auto c = clock.now();
  EXPECT_GT(c, (std::uint64_t{5000} << 16) + 7);
  phys = 9000;
  EXPECT_EQ(clock.now(), std::uint64_t{9000} << 16);
  EXPECT_EQ(Stamp::millis(clock.last()), 9000u);
}

TEST(CLSet, AddRemoveReAddFollowCausalLength) {
  Set s("a");
  EXPECT_FALSE(s.contains("k"));
  s.put("k", "v1");
  ASSERT_NE(s.entry("k"), nullptr);
  EXPECT_EQ(s.entry("k")->length, 1u);
  EXPECT_EQ(*s.find("k"), "v1");
  s.put("k", "v2");  // value change keeps the length
  EXPECT_EQ(s.entry("k")->length, 1u);
  EXPECT_EQ(*s.find("k"), "v2");
  s.erase("k");
  EXPECT_FALSE(s.contains("k"));
  EXPECT_EQ(s.entry("k")->length, 2u);
  EXPECT_EQ(s.entry("k")->value, "v2");  // a tombstone keeps the last value
  EXPECT_TRUE(s.erase("k").empty());     // removing an absent key changes nothing
  s.put("k", "v3");
  EXPECT_EQ(s.entry("k")->length, 3u);
  s.renew("k", "v4");
  EXPECT_EQ(s.entry("k")->length, 5u);
  EXPECT_EQ(s.size(), 1u);
  EXPECT_EQ(s.entry_count(), 1u);
}

TEST(CLSet, RemoveThatSawTheAddWinsAndReAddWinsOverIt) {
  Set a("a");
  Set b("b");
  a.put("k", "v");
  b.merge(a);
  b.erase("k");      // b saw the add: length 2
  a.put("k", "v2");  // concurrent value update at length 1
  a.merge(b);
  b.merge(a);
  EXPECT_FALSE(a.contains("k"));
  EXPECT_TRUE(a.same_state(b));

  a.put("k", "again");  // re-add after seeing the remove: length 3
  b.erase("k");         // b: nothing to remove
  b.merge(a);
  EXPECT_EQ(*b.find("k"), "again");
}

TEST(CLSet, RenewBeatsAConcurrentRemove) {
  Set a("a");
  Set b("b");
  a.put("lease", "1");
  b.merge(a);
  a.erase("lease");           // length 2
  b.renew("lease", "1+ttl");  // length 3, made without seeing the remove
  a.merge(b);
  b.merge(a);
  ASSERT_TRUE(a.contains("lease"));
  EXPECT_EQ(*a.find("lease"), "1+ttl");
  EXPECT_TRUE(a.same_state(b));
}

TEST(CLSet, ConcurrentAddsOfDifferentValuesPickOneDeterministically) {
  // Same physical time on both replicas: equal HLC readings, origin decides.
  Set a("a", fixed_clock(100));
  Set b("b", fixed_clock(100));
  a.put("k", "from-a");
  b.put("k", "from-b");
  EXPECT_EQ(a.entry("k")->stamp.hlc, b.entry("k")->stamp.hlc);
  Set ab("x");
  ab.merge(a);
  ab.merge(b);
  Set ba("y");
  ba.merge(b);
  ba.merge(a);
  EXPECT_EQ(*ab.find("k"), "from-b");  // ("b" > "a")
  EXPECT_TRUE(ab.same_state(ba));
}

TEST(CLSet, EqualStampsFallBackToValueBytes) {
  // Only a replica restored from an old backup can reissue a stamp; the bytes decide then.
  // Canonical string bytes are a length prefix and the bytes: compare equal lengths here.
  Entry<std::string> x{1, Stamp{42, "a"}, "apple"};
  Entry<std::string> y{1, Stamp{42, "a"}, "\xffpple"};
  D dx;
  dx.join("k", x);
  D dy;
  dy.join("k", y);
  Set s1("s1");
  s1.merge(dx);
  s1.merge(dy);
  Set s2("s2");
  s2.merge(dy);
  s2.merge(dx);
  EXPECT_EQ(*s1.find("k"), "\xffpple");  // 0xff sorts after 'a' as unsigned bytes
  EXPECT_TRUE(s1.same_state(s2));
  EXPECT_TRUE(compare_entries(y, x) > 0);
}

TEST(CLSet, MergeReportsOnlyWhatChangedAndTellsTheObserver) {
  Set a("a");
  Set b("b");
  a.put("x", "1");
  a.put("y", "2");
  b.merge(a);
  a.put("y", "3");
  std::vector<std::string> seen;
  const D changed = b.merge(
      a.full_delta(),
      [&](const std::string& k, const Entry<std::string>* before, const Entry<std::string>& after) {
        ASSERT_NE(before, nullptr);
        EXPECT_EQ(before->value, "2");
        EXPECT_EQ(after.value, "3");
        seen.push_back(k);
      });
  EXPECT_EQ(changed.size(), 1u);
  EXPECT_NE(changed.find("y"), nullptr);
  EXPECT_EQ(seen, std::vector<std::string>{"y"});
  EXPECT_TRUE(b.merge(a).empty());  // idempotent
  EXPECT_TRUE(b.novel(a.full_delta()).empty());
}

TEST(CLSet, PrepareDoesNotApply) {
  Set a("a");
  const D d = a.prepare_put("k", "v");
  EXPECT_FALSE(a.contains("k"));
  EXPECT_EQ(a.novel(d).size(), 1u);
  a.merge(d);
  EXPECT_TRUE(a.contains("k"));
}

// ---- property tests over random histories

struct History {
  std::vector<std::unique_ptr<Set>> replicas;
  std::vector<D> deltas;  // every delta any operation produced, in issue order
};

// Random operations on `n` replicas over a small key space (many concurrent writes to the
// same keys), with occasional gossip so that some operations are causally ordered.
History random_history(std::mt19937_64& rng, int n, int ops) {
  History h;
  // Half the runs freeze physical time so HLC readings collide across replicas.
  const bool frozen = rng() % 2 == 0;
  for (int i = 0; i < n; ++i) {
    auto clock = frozen ? fixed_clock(7) : std::make_shared<HybridClock>();
    h.replicas.push_back(std::make_unique<Set>("r" + std::to_string(i), clock));
  }
  std::uniform_int_distribution<int> pick(0, n - 1);
  for (int i = 0; i < ops; ++i) {
    Set& r = *h.replicas[static_cast<std::size_t>(pick(rng))];
    const std::string key = "k" + std::to_string(rng() % 6);
    const std::string value = "v" + std::to_string(rng() % 4);
    switch (rng() % 5) {
      case 0:
      case 1:
        h.deltas.push_back(r.put(key, value));
        break;
      case 2:
        h.deltas.push_back(r.erase(key));
        break;
      case 3:
        h.deltas.push_back(r.renew(key, value));
        break;
      default: {
        Set& other = *h.replicas[static_cast<std::size_t>(pick(rng))];
        r.merge(other.delta_since({}));
      }
    }
  }
  return h;
}

D join_all(const std::vector<D>& ds) {
  D out;
  for (const auto& d : ds) out.join(d);
  return out;
}

TEST(CLSetProperty, MergeIsCommutativeAssociativeIdempotent) {
  std::mt19937_64 rng(0x5eed0001);
  for (int iter = 0; iter < 400; ++iter) {
    History h = random_history(rng, 3, 40);
    const D a = h.replicas[0]->full_delta();
    const D b = h.replicas[1]->full_delta();
    const D c = h.replicas[2]->full_delta();

    // On deltas (states as values).
    D ab = a;
    ab.join(b);
    D ba = b;
    ba.join(a);
    ASSERT_EQ(ab, ba) << "iteration " << iter;
    D ab_c = ab;
    ab_c.join(c);
    D bc = b;
    bc.join(c);
    D a_bc = a;
    a_bc.join(bc);
    ASSERT_EQ(ab_c, a_bc) << "iteration " << iter;
    D aa = a;
    aa.join(a);
    ASSERT_EQ(aa, a) << "iteration " << iter;

    // On replicas, through CLSet::merge.
    Set x("x");
    x.merge(*h.replicas[0]);
    x.merge(*h.replicas[1]);
    Set y("y");
    y.merge(*h.replicas[1]);
    y.merge(*h.replicas[0]);
    ASSERT_TRUE(x.same_state(y)) << "iteration " << iter;
    ASSERT_EQ(x.full_delta(), ab) << "iteration " << iter;
    ASSERT_TRUE(x.merge(*h.replicas[0]).empty()) << "merge of known state changed something";
    ASSERT_EQ(x.digest(), y.digest());
  }
}

TEST(CLSetProperty, AnyDeliveryOrderOfTheSameDeltasConverges) {
  std::mt19937_64 rng(0x5eed0002);
  for (int iter = 0; iter < 300; ++iter) {
    History h = random_history(rng, 4, 60);
    const D expected = join_all(h.deltas);
    Set first("first");
    for (int receiver = 0; receiver < 4; ++receiver) {
      // Shuffled, with some deltas delivered twice.
      std::vector<D> order = h.deltas;
      for (int dup = 0; dup < 10; ++dup) order.push_back(h.deltas[rng() % h.deltas.size()]);
      std::shuffle(order.begin(), order.end(), rng);
      Set r("recv" + std::to_string(receiver));
      for (const auto& d : order) r.merge(d);
      ASSERT_EQ(r.full_delta(), expected) << "iteration " << iter;
      if (receiver == 0) {
        first.merge(r);
      } else {
        ASSERT_TRUE(r.same_state(first));
        ASSERT_EQ(r.digest(), first.digest());
        ASSERT_EQ(r.digest().root(), first.digest().root());
      }
    }
    // The replicas themselves, after exchanging everything, hold the same join.
    for (auto& r : h.replicas)
      for (auto& o : h.replicas) r->merge(*o);
    for (auto& r : h.replicas) ASSERT_EQ(r->full_delta(), expected);
  }
}

TEST(CLSetProperty, WatermarkPushConvergesAndSendsOnlyChanges) {
  std::mt19937_64 rng(0x5eed0003);
  for (int iter = 0; iter < 200; ++iter) {
    History h = random_history(rng, 3, 50);
    // Every replica keeps, per peer, the watermark of what it received from it.
    std::vector<std::vector<Watermark>> seen(3, std::vector<Watermark>(3));
    for (int round = 0; round < 4; ++round) {
      std::vector<std::pair<int, int>> links;
      for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j)
          if (i != j) links.emplace_back(i, j);
      std::shuffle(links.begin(), links.end(), rng);
      for (auto [from, to] : links) {
        Set& src = *h.replicas[static_cast<std::size_t>(from)];
        const D d =
            src.delta_since(seen[static_cast<std::size_t>(to)][static_cast<std::size_t>(from)]);
        const Watermark mark = src.watermark();
        h.replicas[static_cast<std::size_t>(to)]->merge(d);
        seen[static_cast<std::size_t>(to)][static_cast<std::size_t>(from)] = mark;
      }
    }
    const D expected = join_all(h.deltas);
    for (auto& r : h.replicas) ASSERT_EQ(r->full_delta(), expected) << "iteration " << iter;
    // Nothing new: the next push is empty.
    EXPECT_TRUE(h.replicas[0]->delta_since(h.replicas[0]->watermark()).empty());
  }
}

TEST(CLSetProperty, DeltaSinceWalksTheChangeLogExactly) {
  // Many rewrites of few keys force log compactions; copies rebuild the log; each snapshot's
  // delta_since must be exactly the entries that differ from the snapshot.
  for (std::uint32_t seed = 1; seed <= 20; ++seed) {
    std::mt19937 rng(seed);
    Set s("a");
    Set peer("b");
    struct Snap {
      Set copy;
      Watermark mark;
    };
    std::vector<Snap> snaps;
    for (int op = 0; op < 6000; ++op) {
      const std::string k = "k" + std::to_string(rng() % 50);
      switch (rng() % 5) {
        case 0:
          s.erase(k);
          break;
        case 1:
          s.renew(k, std::to_string(op));
          break;
        case 2:
          peer.put(k, "p" + std::to_string(op));
          s.merge(peer.full_delta());
          break;
        default:
          s.put(k, std::to_string(op));
          break;
      }
      if (op % 997 == 0) snaps.push_back({s, s.watermark()});
    }
    const Set copied = s;  // a copy answers from its own rebuilt log
    for (const auto& snap : snaps) {
      D expected;
      s.for_each_entry([&](const std::string& k, const Entry<std::string>& e) {
        const auto* before = snap.copy.entry(k);
        if (before == nullptr || !(*before == e)) expected.join(k, e);
      });
      ASSERT_EQ(s.delta_since(snap.mark), expected) << "seed " << seed;
      ASSERT_EQ(copied.delta_since(snap.mark), expected) << "seed " << seed;
      // Skipping the peer's own writes leaves exactly those out.
      D mine;
      for (const auto& [k, e] : expected.entries())
        if (e.stamp.origin != "b") mine.join(k, e);
      ASSERT_EQ(s.delta_since(snap.mark, "b"), mine) << "seed " << seed;
    }
    EXPECT_TRUE(s.delta_since(s.watermark()).empty());
  }
}

TEST(CLSetProperty, DigestThenSummaryRepairsDivergedReplicas) {
  std::mt19937_64 rng(0x5eed0004);
  for (int iter = 0; iter < 200; ++iter) {
    History h = random_history(rng, 2, 80);
    Set& a = *h.replicas[0];
    Set& b = *h.replicas[1];
    // Extra keys so that many buckets are involved.
    for (int i = 0; i < 50; ++i) a.put("only-a-" + std::to_string(rng() % 40), "x");
    const auto diff = a.digest().differing(b.digest());
    if (a.same_state(b)) {
      EXPECT_TRUE(diff.empty());
      continue;
    }
    ASSERT_FALSE(diff.empty());
    // a -> b: digest; b -> a: summary of differing buckets; each side sends what the other
    // lacks or holds older.
    const Summary sb = b.summary(diff);
    const Summary sa = a.summary(diff);
    const D to_b = a.delta_for(sb);
    const D to_a = b.delta_for(sa);
    b.merge(to_b);
    a.merge(to_a);
    ASSERT_TRUE(a.same_state(b)) << "iteration " << iter;
    ASSERT_EQ(a.digest(), b.digest());
    ASSERT_TRUE(a.delta_for(b.summary(diff)).empty());
  }
}

// ---- codecs

TEST(CLSetCodec, RoundTripsEveryMessage) {
  std::mt19937_64 rng(0x5eed0005);
  History h = random_history(rng, 2, 60);
  const D full = h.replicas[0]->full_delta();
  auto back = decode<D>(encode(full), "delta");
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_EQ(*back, full);

  auto digest = decode<Digest>(encode(h.replicas[0]->digest()));
  ASSERT_TRUE(digest.ok());
  EXPECT_EQ(*digest, h.replicas[0]->digest());

  std::vector<std::uint32_t> all(Digest::kBuckets);
  for (std::uint32_t i = 0; i < all.size(); ++i) all[i] = i;
  const Summary s = h.replicas[0]->summary(all);
  auto summary = decode<Summary>(encode(s));
  ASSERT_TRUE(summary.ok());
  EXPECT_EQ(*summary, s);

  auto mark = decode<Watermark>(encode(Watermark{0xdeadbeefcafe, 12345}));
  ASSERT_TRUE(mark.ok());
  EXPECT_EQ(mark->seq, 12345u);
}

TEST(CLSetCodec, RejectsTruncatedAndGarbledInputWithoutThrowing) {
  Set s("a");
  for (int i = 0; i < 20; ++i) s.put("key" + std::to_string(i), std::string(i, 'v'));
  const std::string bytes = encode(s.full_delta());
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    auto r = decode<D>(std::string_view(bytes).substr(0, n), "delta");
    ASSERT_FALSE(r.ok()) << "prefix of " << n << " bytes accepted";
    EXPECT_EQ(r.error().code, std::errc::bad_message);
  }
  EXPECT_FALSE(decode<D>(bytes + "x").ok());  // trailing bytes
  std::mt19937_64 rng(0x5eed0006);
  for (int i = 0; i < 2000; ++i) {
    std::string junk = bytes;
    junk[rng() % junk.size()] = static_cast<char>(rng());
    junk.resize(rng() % (junk.size() + 1));
    (void)decode<D>(junk);  // must not crash; either outcome is fine
  }
  // A count far beyond the input must not make the decoder reserve memory.
  std::string huge;
  ByteWriter w(huge);
  w.u8(1);
  w.varint(std::uint64_t{1} << 60);
  EXPECT_FALSE(decode<D>(huge).ok());
  // Length 0 is not a state an entry can have.
  std::string zero;
  ByteWriter z(zero);
  z.u8(1);
  z.varint(1);
  z.bytes(encode_bytes(std::string("k")));
  z.varint(0);
  z.u64(1);
  z.bytes("o");
  z.bytes(encode_bytes(std::string("v")));
  EXPECT_FALSE(decode<D>(zero).ok());
}

TEST(Codec, IntegersEncodeInNumericByteOrder) {
  EXPECT_LT(encode_bytes(std::int64_t{-5}), encode_bytes(std::int64_t{3}));
  EXPECT_LT(encode_bytes(std::uint32_t{1}), encode_bytes(std::uint32_t{256}));
  std::int64_t v = 0;
  ASSERT_TRUE(decode_bytes(encode_bytes(std::int64_t{-123456789}), v));
  EXPECT_EQ(v, -123456789);
  // The stable hash is a fixed function: pinned so a change is a visible format break.
  // Replicas compare digests and derive addresses from it, so every build must agree.
  EXPECT_EQ(stable_hash(""), 0xf52a15e9a9b5e89bULL);
  EXPECT_EQ(stable_hash("nexus"), 0x20be798db49a8a4cULL);
  EXPECT_EQ(stable_hash("nexus", 7), 0xaadd144f9fe89c5bULL);
  EXPECT_NE(stable_hash("a"), stable_hash("b"));
  EXPECT_NE(stable_hash("a", 1), stable_hash("a", 2));
}

}  // namespace
}  // namespace bngkit::nexus
