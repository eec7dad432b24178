// LeaseTable (in-memory indexes and expiry queue) and restore_leases(): a restarted daemon
// rebuilds allocator and table from the store, with expired and conflicting leases ended.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <bngkit/bng/lease/lease_table.hpp>
#include <bngkit/bng/lease/restore.hpp>
#include <bngkit/bng/pool/local_pool_allocator.hpp>

#include "lease_test_util.hpp"

namespace bngkit::bng::lease {
namespace {

using namespace testing;  // NOLINT: test helpers
using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(LeaseTable, FindsByAddressAndBySubscriber) {
  LeaseTable t;
  ASSERT_TRUE(t.upsert(bound("10.0.1.7", mac(7))));
  ASSERT_TRUE(t.upsert(bound("10.0.2.7", mac(7), 3600, "business-ipv4")));
  EXPECT_EQ(t.find(ip("10.0.1.7")), bound("10.0.1.7", mac(7)));
  EXPECT_EQ(t.find(mac(7), "residential-ipv4"), bound("10.0.1.7", mac(7)));
  EXPECT_EQ(t.find(mac(7), "business-ipv4")->address, ip("10.0.2.7"));
  EXPECT_FALSE(t.find(mac(8), "residential-ipv4"));
  EXPECT_FALSE(t.find(ip("10.0.1.8")));
  EXPECT_EQ(t.size(), 2u);
}

TEST(LeaseTable, OneOfferedOrBoundLeasePerSubscriberAndPool) {
  LeaseTable t;
  ASSERT_TRUE(t.upsert(bound("10.0.1.7", mac(7))));
  auto r = t.upsert(bound("10.0.1.8", mac(7)));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, std::errc::address_in_use);
  EXPECT_EQ(r.error().context,
            "lease table: mac:02:00:5e:00:00:07 already holds 10.0.1.7 in pool residential-ipv4");
  Lease declined = bound("10.0.1.7", mac(7), 600);
  declined.state = LeaseState::declined;
  ASSERT_TRUE(t.upsert(declined));  // the subscriber no longer holds .7
  ASSERT_TRUE(t.upsert(bound("10.0.1.8", mac(7))));
  EXPECT_EQ(t.find(mac(7), "residential-ipv4")->address, ip("10.0.1.8"));
  EXPECT_EQ(t.count(LeaseState::declined), 1u);
  EXPECT_EQ(t.count(LeaseState::bound), 1u);
}

TEST(LeaseTable, ReplacingALeaseMovesItsIndexes) {
  LeaseTable t;
  ASSERT_TRUE(t.upsert(bound("10.0.1.7", mac(7), 100)));
  ASSERT_TRUE(t.upsert(bound("10.0.1.7", mac(8), 200)));  // address given to someone else
  EXPECT_FALSE(t.find(mac(7), "residential-ipv4"));
  EXPECT_EQ(t.find(mac(8), "residential-ipv4")->address, ip("10.0.1.7"));
  EXPECT_EQ(t.next_expiry(), at(200));
  EXPECT_EQ(t.erase(ip("10.0.1.7"))->subscriber, mac(8));
  EXPECT_FALSE(t.find(mac(8), "residential-ipv4"));
  EXPECT_FALSE(t.next_expiry());
  EXPECT_FALSE(t.erase(ip("10.0.1.7")));
}

TEST(LeaseTable, ExpiresLikeTheStore) {
  LeaseTable t;
  Lease offered = bound("10.0.1.2", mac(2), 30);
  offered.state = LeaseState::offered;
  const Lease due = bound("10.0.1.3", mac(3), 60);
  Lease declined = bound("10.0.1.4", mac(4), 90);
  declined.state = LeaseState::declined;
  const Lease later = bound("10.0.1.5", mac(5), 3600);
  for (const auto& l : {offered, due, declined, later}) ASSERT_TRUE(t.upsert(l));

  EXPECT_EQ(t.next_expiry(), at(30));
  EXPECT_THAT(t.expire(at(29)), IsEmpty());
  EXPECT_THAT(t.expire(at(100)), ElementsAre(offered, due, declined));
  EXPECT_EQ(t.find(offered.address)->state, LeaseState::released);
  EXPECT_EQ(t.find(due.address)->state, LeaseState::released);
  EXPECT_FALSE(t.find(declined.address));
  EXPECT_FALSE(t.find(mac(3), "residential-ipv4"));  // no longer holds it
  EXPECT_EQ(t.next_expiry(), at(3600));
  EXPECT_EQ(t.size(), 3u);
  EXPECT_EQ(t.snapshot().front().address, ip("10.0.1.2"));
}

pool::PoolConfig residential() {
  pool::PoolConfig p;
  p.id = "residential-ipv4";
  p.network = *pool::Ipv4Network::parse("10.0.1.0/24");
  p.gateway = ip("10.0.1.1");
  p.dns = {ip("10.0.1.1")};
  p.exclusions = {*pool::Ipv4Range::parse("10.0.1.200-10.0.1.254")};
  return p;
}

TEST(RestoreLeases, RebuildsAllocatorAndTableFromTheStore) {
  TempDir dir;
  const auto path = dir.file("leases.db");
  const auto now = at(1000);

  const Lease active = bound("10.0.1.10", mac(10), 3600);
  const Lease expired = bound("10.0.1.11", mac(11), 500);
  Lease declined = bound("10.0.1.12", mac(12), 1600);
  declined.state = LeaseState::declined;
  Lease released = bound("10.0.1.13", mac(13), 200);
  released.state = LeaseState::released;
  const Lease now_excluded = bound("10.0.1.210", mac(14), 3600);
  const Lease pool_gone = bound("10.0.9.10", mac(15), 3600, "old-pool");
  {
    auto store = LeaseStore::open(path);
    ASSERT_TRUE(store);
    ASSERT_TRUE(
        store->upsert(std::vector{active, expired, declined, released, now_excluded, pool_gone}));
  }

  // "Restart": a fresh allocator and table from configuration, then the store.
  auto store = LeaseStore::open(path);
  ASSERT_TRUE(store);
  auto allocator = pool::LocalPoolAllocator::create({residential()}, [now] { return now; }).value();
  LeaseTable table;
  auto report = restore_leases(*store, *allocator, table, now);
  ASSERT_TRUE(report) << report.error().message();

  EXPECT_THAT(report->active, ElementsAre(active, declined));
  EXPECT_THAT(report->expired, ElementsAre(expired));
  EXPECT_EQ(report->history, 2u);  // the old release and the lease that just expired
  ASSERT_EQ(report->rejected.size(), 2u);
  EXPECT_EQ(report->rejected[0].first, now_excluded);
  EXPECT_EQ(report->rejected[0].second.context,
            "pool residential-ipv4: 10.0.1.210 is no longer an assignable address of the pool");
  EXPECT_EQ(report->rejected[1].first, pool_gone);
  EXPECT_EQ(report->rejected[1].second.code, pool::AllocError::pool_not_found);

  // Allocator: the bound lease is held, the declined address sits out, the others are free
  // and the expired subscriber gets its address back.
  EXPECT_EQ(allocator->owner(active.address), active.subscriber);
  EXPECT_EQ(allocator->lookup(active.subscriber, "residential-ipv4")->address, active.address);
  auto u = allocator->utilisation()[0];
  EXPECT_EQ(u.assigned, 1u);
  EXPECT_EQ(u.declined, 1u);
  EXPECT_EQ(allocator->allocate({mac(11), "residential-ipv4", {}})->address, expired.address);
  EXPECT_EQ(allocator->allocate({mac(13), "residential-ipv4", {}})->address, released.address);
  EXPECT_NE(allocator->allocate({mac(12), "residential-ipv4", {}})->address, declined.address);

  // Table: the same view.
  EXPECT_EQ(table.find(active.address), active);
  EXPECT_EQ(table.find(declined.address), declined);
  EXPECT_EQ(table.find(expired.address)->state, LeaseState::released);
  EXPECT_EQ(table.next_expiry(), declined.expires);

  // Store: the rejected leases were ended, so a second restart replays cleanly.
  EXPECT_EQ(store->find(now_excluded.address).value()->state, LeaseState::released);
  auto allocator2 =
      pool::LocalPoolAllocator::create({residential()}, [now] { return now; }).value();
  LeaseTable table2;
  auto again = restore_leases(*store, *allocator2, table2, now);
  ASSERT_TRUE(again);
  EXPECT_THAT(again->rejected, IsEmpty());
  EXPECT_THAT(again->active, ElementsAre(active, declined));
}

}  // namespace
}  // namespace bngkit::bng::lease
