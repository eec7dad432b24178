// LocalPoolAllocator: allocation until exhaustion, stickiness, hints, reservations,
// exclusions, probation, renew/release rules (NAK reasons), restore, utilisation, and
// uniqueness under concurrent allocation. Also the free-set bitmap against a reference.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <bngkit/bng/pool/local_pool_allocator.hpp>
#include <memory>
#include <random>
#include <set>
#include <thread>

#include "pool/free_set.hpp"

namespace bngkit::bng::pool {
namespace {

using std::chrono::seconds;
using std::chrono::sys_seconds;

Ipv4 ip(std::string_view text) { return Ipv4::parse(text).value(); }

SubscriberKey mac(std::uint32_t n) {
  return SubscriberKey::mac(MacAddress(
      {0x02, 0x00, static_cast<std::uint8_t>(n >> 24), static_cast<std::uint8_t>(n >> 16),
       static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)}));
}

// A clock the test moves by hand.
struct FakeClock {
  std::shared_ptr<std::atomic<std::int64_t>> now =
      std::make_shared<std::atomic<std::int64_t>>(1'700'000'000);
  WallClock fn() const {
    return [n = now] { return sys_seconds(seconds(n->load())); };
  }
  void advance(seconds s) const { *now += s.count(); }
  sys_seconds time() const { return sys_seconds(seconds(now->load())); }
};

PoolConfig pool(std::string id, std::string_view cidr, std::string_view gateway) {
  PoolConfig p;
  p.id = std::move(id);
  p.network = *Ipv4Network::parse(cidr);
  p.gateway = ip(gateway);
  p.dns = {ip("192.0.2.53")};
  p.lease_time = seconds(3600);
  p.probation_time = seconds(600);
  return p;
}

// 10.0.1.0/29 with gateway .1: exactly .2 to .6 are assignable.
PoolConfig tiny() { return pool("tiny", "10.0.1.0/29", "10.0.1.1"); }

std::unique_ptr<LocalPoolAllocator> make(std::vector<PoolConfig> pools, WallClock clock = {}) {
  auto a = LocalPoolAllocator::create(std::move(pools), std::move(clock));
  EXPECT_TRUE(a) << a.error().message();
  return std::move(a).value();
}

Result<Allocation> alloc(AddressAllocator& a, const SubscriberKey& k, std::string pool_id,
                         std::optional<Ipv4> requested = std::nullopt) {
  return a.allocate({k, std::move(pool_id), requested});
}

TEST(LocalPoolAllocator, UpdatesOptionsButNotWhoOwnsWhichAddress) {
  auto a = make({tiny(), pool("other", "10.0.2.0/24", "10.0.2.1")});
  const auto held = alloc(*a, mac(1), "tiny").value();
  PoolConfig next = tiny();
  next.dns = {ip("192.0.2.54"), ip("192.0.2.55")};
  next.lease_time = seconds(7200);
  next.renewal_time = seconds(1000);
  ASSERT_TRUE(a->update_options({next, pool("other", "10.0.2.0/24", "10.0.2.1")}));
  const auto params = a->pool("tiny").value();
  EXPECT_EQ(params.dns, next.dns);
  EXPECT_EQ(params.lease_time, seconds(7200));
  EXPECT_EQ(params.renewal_time, seconds(1000));
  EXPECT_EQ(params.rebinding_time, seconds(6300)) << "T2 default follows the new lease time";
  EXPECT_EQ(alloc(*a, mac(1), "tiny").value().address, held.address) << "bindings are kept";
  EXPECT_EQ(a->pools().front().lease_time, seconds(7200));

  // Anything that decides ownership is refused, and nothing is applied.
  PoolConfig moved = next;
  moved.network = *Ipv4Network::parse("10.0.9.0/29");
  moved.gateway = ip("10.0.9.1");
  moved.lease_time = seconds(60);
  auto refused = a->update_options({moved, pool("other", "10.0.2.0/24", "10.0.2.1")});
  ASSERT_FALSE(refused);
  EXPECT_THAT(refused.error().message(), ::testing::HasSubstr("pool tiny: network changed (needs a restart)"));
  EXPECT_EQ(a->pool("tiny")->lease_time, seconds(7200));
  auto missing = a->update_options({next});
  ASSERT_FALSE(missing);
  EXPECT_THAT(missing.error().message(), ::testing::HasSubstr("adding or removing pools needs a restart"));
  PoolConfig invalid = next;
  invalid.lease_time = seconds(0);
  EXPECT_FALSE(a->update_options({invalid, pool("other", "10.0.2.0/24", "10.0.2.1")}));
}

TEST(LocalPoolAllocator, RefusesInvalidConfiguration) {
  auto p = tiny();
  p.gateway = ip("10.0.2.1");
  auto a = LocalPoolAllocator::create({p});
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().context, "pool tiny: gateway 10.0.2.1 is outside 10.0.1.0/29");
}

TEST(LocalPoolAllocator, AllocatesUntilExhaustedThenSaysSo) {
  auto a = make({tiny()});
  std::set<Ipv4> seen;
  for (std::uint32_t i = 0; i < 5; ++i) {
    auto r = alloc(*a, mac(i), "tiny");
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_TRUE(seen.insert(r->address).second) << r->address.to_string() << " given twice";
    EXPECT_FALSE(r->reserved);
    EXPECT_EQ(r->pool.pool_id, "tiny");
    EXPECT_EQ(r->pool.gateway, ip("10.0.1.1"));
    EXPECT_EQ(r->pool.network.prefix_length, 29);
    EXPECT_EQ(r->pool.renewal_time, seconds(1800));
    EXPECT_EQ(r->pool.rebinding_time, seconds(3150));
  }
  EXPECT_EQ(seen, (std::set<Ipv4>{ip("10.0.1.2"), ip("10.0.1.3"), ip("10.0.1.4"), ip("10.0.1.5"),
                                  ip("10.0.1.6")}));
  auto r = alloc(*a, mac(99), "tiny");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, AllocError::pool_exhausted);
  EXPECT_EQ(r.error().code, std::errc::no_space_on_device);  // generic condition too
  EXPECT_EQ(r.error().context,
            "pool tiny is exhausted (5 addresses: 5 bound, 0 in probation, 0 reserved)");

  // Freeing one address lets the next subscriber in.
  ASSERT_TRUE(a->release(mac(2), "tiny", a->lookup(mac(2), "tiny")->address));
  EXPECT_TRUE(alloc(*a, mac(99), "tiny"));
}

TEST(LocalPoolAllocator, SameSubscriberGetsTheSameBindingAgain) {
  auto a = make({tiny()});
  auto first = alloc(*a, mac(1), "tiny");
  auto again = alloc(*a, mac(1), "tiny", ip("10.0.1.6"));  // hint ignored: it holds one
  ASSERT_TRUE(first && again);
  EXPECT_EQ(first->address, again->address);
  EXPECT_EQ(a->utilisation()[0].assigned, 1u);
}

TEST(LocalPoolAllocator, StickyAfterReleaseWhileTheAddressIsFree) {
  auto a = make({pool("p", "10.0.0.0/24", "10.0.0.1")});
  const Ipv4 before = alloc(*a, mac(1), "p")->address;
  ASSERT_TRUE(a->release(mac(1), "p", before));
  for (std::uint32_t i = 2; i < 50; ++i) ASSERT_TRUE(alloc(*a, mac(i), "p"));
  EXPECT_EQ(alloc(*a, mac(1), "p")->address, before);
}

TEST(LocalPoolAllocator, StickyPreferenceDoesNotDependOnTheProcess) {
  // Two allocators (as after a restart without any lease history) agree on where a
  // subscriber starts looking.
  auto a = make({pool("p", "10.0.0.0/16", "10.0.0.1")});
  auto b = make({pool("p", "10.0.0.0/16", "10.0.0.1")});
  for (std::uint32_t i = 0; i < 20; ++i) {
    EXPECT_EQ(alloc(*a, mac(i), "p")->address, alloc(*b, mac(i), "p")->address);
  }
}

TEST(LocalPoolAllocator, PreviousAddressTakenMeansAnotherOne) {
  auto a = make({tiny()});
  const Ipv4 x = alloc(*a, mac(1), "tiny")->address;
  ASSERT_TRUE(a->release(mac(1), "tiny", x));
  auto thief = alloc(*a, mac(2), "tiny", x);  // asks for exactly that address
  ASSERT_TRUE(thief);
  EXPECT_EQ(thief->address, x);
  auto back = alloc(*a, mac(1), "tiny");
  ASSERT_TRUE(back);
  EXPECT_NE(back->address, x);
}

TEST(LocalPoolAllocator, HonoursTheRequestedAddressWhenFree) {
  auto p = pool("p", "10.0.1.0/28", "10.0.1.1");
  p.exclusions = {*Ipv4Range::parse("10.0.1.6")};
  auto a = make({p});
  EXPECT_EQ(alloc(*a, mac(1), "p", ip("10.0.1.4"))->address, ip("10.0.1.4"));
  // Taken, excluded, gateway, outside: each falls back to some free address.
  std::uint32_t n = 2;
  for (auto hint : {"10.0.1.4", "10.0.1.6", "10.0.1.1", "10.0.9.9"}) {
    auto r = alloc(*a, mac(n++), "p", ip(hint));
    ASSERT_TRUE(r) << hint;
    EXPECT_NE(r->address, ip(hint)) << hint;
    EXPECT_TRUE(p.network.contains(r->address)) << hint;
  }
}

TEST(LocalPoolAllocator, ReservationsAlwaysWin) {
  auto p = tiny();
  p.reservations = {{mac(100), ip("10.0.1.3")}};
  auto a = make({p});
  // Nobody else gets .3, not even by asking for it, and the pool runs dry without it.
  EXPECT_NE(alloc(*a, mac(1), "tiny", ip("10.0.1.3"))->address, ip("10.0.1.3"));
  for (std::uint32_t i = 2; i <= 4; ++i) ASSERT_TRUE(alloc(*a, mac(i), "tiny"));
  auto full = alloc(*a, mac(5), "tiny");
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code, AllocError::pool_exhausted);
  EXPECT_EQ(full.error().context,
            "pool tiny is exhausted (5 addresses: 4 bound, 0 in probation, 1 reserved)");
  // The reserved subscriber still gets its address, whatever it asks for.
  auto r = alloc(*a, mac(100), "tiny", ip("10.0.1.2"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->address, ip("10.0.1.3"));
  EXPECT_TRUE(r->reserved);
  // Renewing another address is a NAK; a stranger renewing the reserved one too.
  auto wrong = a->renew(mac(100), "tiny", ip("10.0.1.2"));
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, AllocError::wrong_address);
  EXPECT_EQ(wrong.error().context,
            "pool tiny: mac:02:00:00:00:00:64 is reserved 10.0.1.3, not 10.0.1.2");
  ASSERT_TRUE(a->release(mac(100), "tiny", ip("10.0.1.3")));
  auto stranger = a->renew(mac(7), "tiny", ip("10.0.1.3"));
  ASSERT_FALSE(stranger);
  EXPECT_EQ(stranger.error().code, AllocError::address_in_use);
  EXPECT_EQ(stranger.error().context, "pool tiny: 10.0.1.3 is reserved for mac:02:00:00:00:00:64");
  // Released, the reserved address still is not free for others.
  EXPECT_EQ(a->utilisation()[0].free, 0u);
}

TEST(LocalPoolAllocator, NeverHandsOutExcludedNetworkBroadcastOrGateway) {
  auto p = pool("p", "10.0.1.0/28", "10.0.1.14");
  p.exclusions = {*Ipv4Range::parse("10.0.1.3-10.0.1.5"), *Ipv4Range::parse("10.0.1.9")};
  auto a = make({p});
  std::set<Ipv4> got;
  for (std::uint32_t i = 0;; ++i) {
    auto r = alloc(*a, mac(i), "p");
    if (!r) {
      EXPECT_EQ(r.error().code, AllocError::pool_exhausted);
      break;
    }
    got.insert(r->address);
  }
  EXPECT_EQ(got, (std::set<Ipv4>{ip("10.0.1.1"), ip("10.0.1.2"), ip("10.0.1.6"), ip("10.0.1.7"),
                                 ip("10.0.1.8"), ip("10.0.1.10"), ip("10.0.1.11"), ip("10.0.1.12"),
                                 ip("10.0.1.13")}));
  EXPECT_EQ(a->utilisation()[0].total, 9u);
  // Renewing an excluded address is a NAK.
  auto r = a->renew(mac(1000), "p", ip("10.0.1.4"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, AllocError::not_in_pool);
  EXPECT_EQ(r.error().context, "pool p: 10.0.1.4 is never handed out");
}

TEST(LocalPoolAllocator, RangeLimitsAllocation) {
  auto p = pool("p", "10.0.1.0/24", "10.0.1.1");
  p.range = Ipv4Range::parse("10.0.1.100-10.0.1.103");
  auto a = make({p});
  for (std::uint32_t i = 0; i < 4; ++i) {
    auto r = alloc(*a, mac(i), "p");
    ASSERT_TRUE(r);
    EXPECT_TRUE(p.range->contains(r->address)) << r->address.to_string();
  }
  EXPECT_FALSE(alloc(*a, mac(9), "p"));
  auto outside = a->renew(mac(9), "p", ip("10.0.1.50"));
  ASSERT_FALSE(outside);
  EXPECT_EQ(outside.error().code, AllocError::not_in_pool);
  EXPECT_EQ(outside.error().context, "pool p: 10.0.1.50 is outside range 10.0.1.100-10.0.1.103");
}

TEST(LocalPoolAllocator, DeclinedAddressSitsOutItsProbation) {
  FakeClock clock;
  auto a = make({tiny()}, clock.fn());
  const Ipv4 x = alloc(*a, mac(1), "tiny")->address;

  auto forged = a->decline(mac(2), "tiny", x);  // not the holder
  ASSERT_FALSE(forged);
  EXPECT_EQ(forged.error().code, AllocError::not_bound);

  auto until = a->decline(mac(1), "tiny", x);
  ASSERT_TRUE(until);
  EXPECT_EQ(*until, clock.time() + seconds(600));
  EXPECT_FALSE(a->lookup(mac(1), "tiny"));
  EXPECT_FALSE(a->owner(x));
  auto u = a->utilisation()[0];
  EXPECT_EQ(u.declined, 1u);
  EXPECT_EQ(u.assigned, 0u);
  EXPECT_EQ(u.free, 4u);

  // Nobody gets it during probation: not the decliner, not by request, not by renewing.
  std::set<Ipv4> got;
  for (std::uint32_t i = 1; i <= 4; ++i) got.insert(alloc(*a, mac(i), "tiny", x)->address);
  EXPECT_FALSE(got.contains(x));
  auto full = alloc(*a, mac(5), "tiny");
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().context,
            "pool tiny is exhausted (5 addresses: 4 bound, 1 in probation, 0 reserved)");
  auto renew = a->renew(mac(5), "tiny", x);
  ASSERT_FALSE(renew);
  EXPECT_EQ(renew.error().code, AllocError::in_probation);
  EXPECT_EQ(renew.error().context, "pool tiny: " + x.to_string() + " is in probation until " +
                                       std::to_string(until->time_since_epoch().count()));

  clock.advance(seconds(599));
  EXPECT_FALSE(alloc(*a, mac(5), "tiny"));
  clock.advance(seconds(1));
  auto after = alloc(*a, mac(5), "tiny");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->address, x);
  EXPECT_EQ(a->utilisation()[0].declined, 0u);
}

TEST(LocalPoolAllocator, ZeroProbationFreesAtOnce) {
  auto p = tiny();
  p.probation_time = seconds(0);
  auto a = make({p});
  const Ipv4 x = alloc(*a, mac(1), "tiny")->address;
  ASSERT_TRUE(a->decline(mac(1), "tiny", x));
  EXPECT_EQ(a->utilisation()[0].free, 5u);
}

TEST(LocalPoolAllocator, RenewRules) {
  auto a = make({tiny(), pool("other", "10.0.2.0/24", "10.0.2.1")});
  const Ipv4 x = alloc(*a, mac(1), "tiny")->address;

  auto same = a->renew(mac(1), "tiny", x);
  ASSERT_TRUE(same);
  EXPECT_EQ(same->address, x);

  auto taken = a->renew(mac(2), "tiny", x);
  ASSERT_FALSE(taken);
  EXPECT_EQ(taken.error().code, AllocError::address_in_use);
  EXPECT_EQ(taken.error().context,
            "pool tiny: " + x.to_string() + " is bound to mac:02:00:00:00:00:01");

  // INIT-REBOOT with a free address and nothing held: bound.
  const Ipv4 y = x == ip("10.0.1.6") ? ip("10.0.1.5") : ip("10.0.1.6");
  auto reboot = a->renew(mac(2), "tiny", y);
  ASSERT_TRUE(reboot);
  EXPECT_EQ(a->owner(y), mac(2));

  // Its own binding is the first reason to refuse another address.
  auto other = a->renew(mac(1), "tiny", y);
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, AllocError::wrong_address);
  const Ipv4 z = ip("10.0.1.2") == x || ip("10.0.1.2") == y ? ip("10.0.1.3") : ip("10.0.1.2");
  auto moved = a->renew(mac(1), "tiny", z);
  ASSERT_FALSE(moved);
  EXPECT_EQ(moved.error().code, AllocError::wrong_address);
  EXPECT_EQ(moved.error().context,
            "pool tiny: mac:02:00:00:00:00:01 holds " + x.to_string() + ", not " + z.to_string());

  auto nopool = a->renew(mac(1), "nope", x);
  ASSERT_FALSE(nopool);
  EXPECT_EQ(nopool.error().code, AllocError::pool_not_found);
  EXPECT_EQ(nopool.error().context, "no pool with id nope");

  // Bindings are per pool: the same subscriber may hold one address in each.
  EXPECT_TRUE(alloc(*a, mac(1), "other"));
  EXPECT_EQ(a->lookup(mac(1), "tiny")->address, x);
}

TEST(LocalPoolAllocator, ReleaseRules) {
  auto a = make({tiny()});
  const Ipv4 x = alloc(*a, mac(1), "tiny")->address;
  auto stranger = a->release(mac(2), "tiny", x);
  ASSERT_FALSE(stranger);
  EXPECT_EQ(stranger.error().code, AllocError::not_bound);
  EXPECT_EQ(stranger.error().context,
            "pool tiny: mac:02:00:00:00:00:02 does not hold " + x.to_string());
  EXPECT_EQ(a->owner(x), mac(1));
  ASSERT_TRUE(a->release(mac(1), "tiny", x));
  EXPECT_FALSE(a->owner(x));
  EXPECT_FALSE(a->lookup(mac(1), "tiny"));
  EXPECT_FALSE(a->release(mac(1), "tiny", x));  // twice
}

TEST(LocalPoolAllocator, RejectsInvalidSubscriberAndUnknownPool) {
  auto a = make({tiny()});
  auto bad = alloc(*a, SubscriberKey(SubscriberKeyKind::mac, "short"), "tiny");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, AllocError::invalid_subscriber);
  auto nopool = alloc(*a, mac(1), "residential");
  ASSERT_FALSE(nopool);
  EXPECT_EQ(nopool.error().code, AllocError::pool_not_found);
}

TEST(LocalPoolAllocator, UtilisationCountsEveryKindOfAddress) {
  FakeClock clock;
  auto p = pool("res", "10.0.1.0/24", "10.0.1.1");
  p.exclusions = {*Ipv4Range::parse("10.0.1.240-10.0.1.249")};
  p.reservations = {{mac(500), ip("10.0.1.10")}, {mac(501), ip("10.0.1.11")}};
  auto q = pool("biz", "10.0.2.0/30", "10.0.2.1");
  auto a = make({p, q}, clock.fn());

  auto u = a->utilisation();
  ASSERT_EQ(u.size(), 2u);
  EXPECT_EQ(u[0].pool_id, "res");
  EXPECT_EQ(u[0].total, 243u);  // 254 hosts - gateway - 10 excluded
  EXPECT_EQ(u[0].reserved, 2u);
  EXPECT_EQ(u[0].free, 241u);
  EXPECT_EQ(u[0].assigned, 0u);
  EXPECT_EQ(u[1].pool_id, "biz");
  EXPECT_EQ(u[1].total, 1u);

  for (std::uint32_t i = 0; i < 40; ++i) ASSERT_TRUE(alloc(*a, mac(i), "res"));
  ASSERT_TRUE(alloc(*a, mac(500), "res"));
  ASSERT_TRUE(a->decline(mac(0), "res", a->lookup(mac(0), "res")->address));
  ASSERT_TRUE(a->decline(mac(1), "res", a->lookup(mac(1), "res")->address));
  ASSERT_TRUE(alloc(*a, mac(7), "biz"));

  u = a->utilisation();
  EXPECT_EQ(u[0].assigned, 39u);  // 40 dynamic - 2 declined + 1 reserved
  EXPECT_EQ(u[0].declined, 2u);
  EXPECT_EQ(u[0].reserved, 2u);
  EXPECT_EQ(u[0].free, 243u - 38u - 2u - 2u);
  EXPECT_NEAR(u[0].used_ratio(), (243.0 - 201.0) / 243.0, 1e-9);
  EXPECT_EQ(u[1].free, 0u);
  EXPECT_DOUBLE_EQ(u[1].used_ratio(), 1.0);

  clock.advance(seconds(600));
  u = a->utilisation();
  EXPECT_EQ(u[0].declined, 0u);
  EXPECT_EQ(u[0].free, 203u);
}

TEST(LocalPoolAllocator, PoolLookupByIdAndAddress) {
  auto a = pool("a", "10.0.1.0/24", "10.0.1.1");
  a.range = Ipv4Range::parse("10.0.1.10-10.0.1.99");
  auto b = pool("b", "10.0.1.0/24", "10.0.1.1");
  b.range = Ipv4Range::parse("10.0.1.100-10.0.1.199");
  auto alloc_ = make({a, b, pool("c", "10.0.9.0/24", "10.0.9.1")});
  EXPECT_EQ(alloc_->pool("b")->network.to_string(), "10.0.1.0/24");
  EXPECT_FALSE(alloc_->pool("zzz"));
  EXPECT_EQ(alloc_->pool_for(ip("10.0.1.150"))->pool_id, "b");  // range wins
  EXPECT_EQ(alloc_->pool_for(ip("10.0.1.1"))->pool_id, "a");    // relay giaddr: first network
  EXPECT_EQ(alloc_->pool_for(ip("10.0.9.77"))->pool_id, "c");
  EXPECT_FALSE(alloc_->pool_for(ip("192.0.2.1")));
  EXPECT_EQ(alloc_->pools().size(), 3u);
}

TEST(LocalPoolAllocator, RestoreRebuildsBindingsProbationAndHistory) {
  FakeClock clock;
  auto p = tiny();
  p.reservations = {{mac(100), ip("10.0.1.6")}};
  auto a = make({p}, clock.fn());

  ASSERT_TRUE(a->restore({mac(1), "tiny", ip("10.0.1.2"), RestoreKind::binding, {}}));
  ASSERT_TRUE(a->restore({mac(1), "tiny", ip("10.0.1.2"), RestoreKind::binding, {}}));  // again
  ASSERT_TRUE(a->restore(
      {mac(2), "tiny", ip("10.0.1.3"), RestoreKind::probation, clock.time() + seconds(100)}));
  ASSERT_TRUE(a->restore({mac(3), "tiny", ip("10.0.1.5"), RestoreKind::history, {}}));
  ASSERT_TRUE(a->restore({mac(4), "tiny", ip("10.0.1.4"), RestoreKind::probation,
                          clock.time() - seconds(1)}));  // already over: stays free
  EXPECT_EQ(a->owner(ip("10.0.1.2")), mac(1));
  auto u = a->utilisation()[0];
  EXPECT_EQ(u.assigned, 1u);
  EXPECT_EQ(u.declined, 1u);
  EXPECT_EQ(u.free, 2u);                                          // .4 and .5
  EXPECT_EQ(alloc(*a, mac(3), "tiny")->address, ip("10.0.1.5"));  // history honoured

  struct Case {
    RestoredAddress r;
    AllocError code;
    std::string context;
  };
  const std::vector<Case> conflicts = {
      {{mac(9), "tiny", ip("10.0.1.2"), RestoreKind::binding, {}},
       AllocError::address_in_use,
       "pool tiny: 10.0.1.2 is bound to mac:02:00:00:00:00:01"},
      {{mac(1), "tiny", ip("10.0.1.4"), RestoreKind::binding, {}},
       AllocError::wrong_address,
       "pool tiny: mac:02:00:00:00:00:01 already holds 10.0.1.2"},
      {{mac(9), "tiny", ip("10.0.1.6"), RestoreKind::binding, {}},
       AllocError::address_in_use,
       "pool tiny: 10.0.1.6 is reserved for mac:02:00:00:00:00:64"},
      {{mac(100), "tiny", ip("10.0.1.4"), RestoreKind::binding, {}},
       AllocError::wrong_address,
       "pool tiny: mac:02:00:00:00:00:64 is now reserved 10.0.1.6, not 10.0.1.4"},
      {{mac(9), "tiny", ip("10.0.1.1"), RestoreKind::binding, {}},
       AllocError::not_in_pool,
       "pool tiny: 10.0.1.1 is no longer an assignable address of the pool"},
      {{mac(9), "gone", ip("10.0.1.4"), RestoreKind::binding, {}},
       AllocError::pool_not_found,
       "no pool with id gone"},
      {{mac(9), "tiny", ip("10.0.1.3"), RestoreKind::binding, {}},
       AllocError::in_probation,
       "pool tiny: 10.0.1.3 is in probation until " +
           std::to_string((clock.time() + seconds(100)).time_since_epoch().count())},
      {{mac(9), "tiny", ip("10.0.1.2"), RestoreKind::probation, clock.time() + seconds(5)},
       AllocError::address_in_use,
       "pool tiny: 10.0.1.2 is bound to mac:02:00:00:00:00:01"},
  };
  for (const auto& c : conflicts) {
    auto r = a->restore(c.r);
    ASSERT_FALSE(r) << c.context;
    EXPECT_EQ(r.error().code, c.code) << c.context;
    EXPECT_EQ(r.error().context, c.context);
  }
}

TEST(LocalPoolAllocator, ConcurrentAllocationsGiveUniqueAddresses) {
  auto a = make({pool("p", "10.0.0.0/22", "10.0.0.1")});  // 1021 assignable
  constexpr int kThreads = 4;
  constexpr int kPerThread = 250;
  std::vector<std::vector<Ipv4>> got(kThreads);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const auto key = mac(static_cast<std::uint32_t>(t * 10000 + i));
        auto r = alloc(*a, key, "p");
        if (!r) {
          ++failures;
          continue;
        }
        got[static_cast<std::size_t>(t)].push_back(r->address);
        // Churn: every third subscriber releases and comes back, racing the others.
        if (i % 3 == 0) {
          if (!a->release(key, "p", r->address)) ++failures;
          auto again = alloc(*a, key, "p");
          if (!again) {
            ++failures;
          } else {
            got[static_cast<std::size_t>(t)].back() = again->address;
          }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  std::set<Ipv4> unique;
  for (const auto& v : got) unique.insert(v.begin(), v.end());
  EXPECT_EQ(unique.size(), static_cast<std::size_t>(kThreads * kPerThread));
  EXPECT_EQ(a->utilisation()[0].assigned, static_cast<std::uint64_t>(kThreads * kPerThread));
  for (const auto& addr : unique) EXPECT_TRUE(a->owner(addr)) << addr.to_string();
}

TEST(FreeSet, MatchesAReferenceSet) {
  for (std::size_t n : {1u, 63u, 64u, 65u, 4096u, 4097u, 300000u}) {
    detail::FreeSet fs(n);
    std::set<std::size_t> ref;
    std::mt19937_64 rng(n);
    for (int step = 0; step < 20000; ++step) {
      const std::size_t i = rng() % n;
      if (rng() % 2) {
        fs.set(i);
        ref.insert(i);
      } else {
        fs.reset(i);
        ref.erase(i);
      }
      const std::size_t from = rng() % n;
      auto want = ref.lower_bound(from);
      if (want == ref.end()) want = ref.begin();
      const auto got = fs.find_from(from);
      if (ref.empty()) {
        ASSERT_FALSE(got) << "n=" << n;
      } else {
        ASSERT_TRUE(got) << "n=" << n;
        ASSERT_EQ(*got, *want) << "n=" << n << " from=" << from;
      }
      ASSERT_EQ(fs.count(), ref.size());
    }
  }
}

}  // namespace
}  // namespace bngkit::bng::pool
