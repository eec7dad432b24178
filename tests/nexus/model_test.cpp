// Model: pool validation, allocation rules (uniqueness, stickiness, reservations, exclusions,
// shares, IPv6 delegation), TTL/renew/expiry, nodes, persistence through the store (reopen,
// SIGKILL, backup/restore) and the replication messages.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bngkit/nexus/model.hpp>
#include <bngkit/nexus/store.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <string>

namespace bngkit::nexus {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "nexus-model-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

IpAddress ip(const char* s) { return *IpAddress::parse(s); }
Prefix cidr(const char* s) { return *Prefix::parse(s); }

Pool v4_pool(const char* id, const char* network) {
  Pool p;
  p.id = id;
  p.network = cidr(network);
  return p;
}

// A model on a clock the test moves.
struct Fixture {
  std::int64_t now = 1'700'000'000'000;
  std::unique_ptr<Model> make(const std::string& replica, Store* store = nullptr) {
    ModelOptions o;
    o.replica_id = replica;
    o.now_ms = [this] { return now; };
    auto m = Model::open(store, o);
    if (!m) {
      ADD_FAILURE() << m.error().message();
      std::abort();
    }
    return std::move(m).value();
  }
};

void sync(Model& a, Model& b) {
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(b.merge(a.full_delta()).ok());
    ASSERT_TRUE(a.merge(b.full_delta()).ok());
  }
}

TEST(PoolValidation, AcceptsGoodPoolsAndExplainsBadOnes) {
  Pool p = v4_pool("res", "10.0.1.0/24");
  p.gateway = ip("10.0.1.1");
  p.owners = {"n2", "n1", "n2"};
  auto v = validate_pool(p);
  ASSERT_TRUE(v.ok()) << v.error().message();
  EXPECT_EQ(v->delegated_length, 32);
  EXPECT_EQ(v->owners, (std::vector<std::string>{"n1", "n2"}));

  auto bad = [](Pool q) {
    auto r = validate_pool(std::move(q));
    EXPECT_FALSE(r.ok());
    return r.ok() ? std::string() : r.error().message();
  };
  Pool q = p;
  q.gateway = ip("10.0.2.1");
  EXPECT_NE(bad(q).find("gateway"), std::string::npos);
  q = p;
  q.id = "";
  bad(q);
  q = p;
  q.delegated_length = 30;
  bad(q);
  q = p;
  q.lease_ttl = 0;
  bad(q);
  q = p;
  q.exclusions = {cidr("192.168.0.0/24")};
  bad(q);
  q = p;
  q.reservations = {{"sub", ip("10.0.1.0")}};  // network address
  bad(q);
  q = p;
  q.reservations = {{"sub", ip("10.0.1.1")}};  // the gateway
  bad(q);
  q = p;
  q.reservations = {{"a", ip("10.0.1.9")}, {"b", ip("10.0.1.9")}};
  EXPECT_NE(bad(q).find("reserved twice"), std::string::npos);
  q = p;
  q.exclusions = {cidr("10.0.1.8/29")};
  q.reservations = {{"a", ip("10.0.1.9")}};
  bad(q);
  Pool v6;
  v6.id = "pd";
  v6.network = cidr("2001:db8::/48");
  v6.delegated_length = 44;
  bad(v6);
  v6.delegated_length = 56;
  v6.reservations = {{"a", ip("2001:db8:0:1::")}};  // inside a /56, not at its start
  bad(v6);
}

TEST(Allocation, HandsOutUsableDistinctAddressesUntilExhausted) {
  Fixture f;
  auto m = f.make("n1");
  Pool p = v4_pool("tiny", "10.9.0.0/29");  // hosts .1-.6
  p.gateway = ip("10.9.0.1");
  p.dns = {ip("10.9.0.2")};
  ASSERT_TRUE(m->create_pool(p).ok());
  std::set<IpAddress> seen;
  for (int i = 0; i < 4; ++i) {
    auto a = m->allocate("tiny", "sub-" + std::to_string(i));
    ASSERT_TRUE(a.ok()) << a.error().message();
    EXPECT_TRUE(a->created);
    EXPECT_TRUE(cidr("10.9.0.0/29").contains(a->allocation.address));
    EXPECT_TRUE(seen.insert(a->allocation.address).second);
  }
  for (const char* never : {"10.9.0.0", "10.9.0.1", "10.9.0.2", "10.9.0.7"})
    EXPECT_EQ(seen.count(ip(never)), 0u) << never;
  auto full = m->allocate("tiny", "one-too-many");
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error().code, std::errc::no_buffer_space);
  auto unknown = m->allocate("nope", "x");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, std::errc::no_such_file_or_directory);
  EXPECT_FALSE(m->allocate("tiny", "").ok());
}

TEST(Allocation, SameSubscriberGetsTheSameAddressAgainAndAfterRelease) {
  Fixture f;
  auto m = f.make("n1");
  ASSERT_TRUE(m->create_pool(v4_pool("p", "10.1.0.0/16")).ok());
  auto first = m->allocate("p", "alice");
  ASSERT_TRUE(first.ok());
  auto again = m->allocate("p", "alice");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->allocation, first->allocation);
  ASSERT_TRUE(m->release("p", "alice").ok());
  EXPECT_FALSE(m->allocation("p", "alice").has_value());
  EXPECT_EQ(m->release("p", "alice").error().code, std::errc::no_such_file_or_directory);
  auto back = m->allocate("p", "alice");
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->created);
  EXPECT_EQ(back->allocation.address, first->allocation.address);

  // The address is derived from (pool, subscriber), not from history: a fresh replica
  // with the same pool picks the same one.
  auto other = f.make("n1");
  ASSERT_TRUE(other->create_pool(v4_pool("p", "10.1.0.0/16")).ok());
  EXPECT_EQ(other->allocate("p", "alice")->allocation.address, first->allocation.address);
}

TEST(Allocation, ReservationsAndExclusionsAreHonoured) {
  Fixture f;
  auto m = f.make("n1");
  Pool p = v4_pool("p", "10.2.0.0/27");   // .1-.30
  p.exclusions = {cidr("10.2.0.16/28")};  // .16-.31 out
  p.reservations = {{"vip", ip("10.2.0.5")}};
  ASSERT_TRUE(m->create_pool(p).ok());
  std::set<IpAddress> got;
  for (int i = 0;; ++i) {
    auto a = m->allocate("p", "s" + std::to_string(i));
    if (!a) break;
    got.insert(a->allocation.address);
  }
  EXPECT_EQ(got.size(), 14u);  // .1-.15 minus the reservation
  EXPECT_EQ(got.count(ip("10.2.0.5")), 0u);
  for (const auto& a : got) EXPECT_FALSE(cidr("10.2.0.16/28").contains(a)) << a.to_string();
  auto vip = m->allocate("p", "vip");  // the pool is full, the reservation still works
  ASSERT_TRUE(vip.ok());
  EXPECT_EQ(vip->allocation.address, ip("10.2.0.5"));
}

TEST(Allocation, DelegatesAlignedIpv6Prefixes) {
  Fixture f;
  auto m = f.make("n1");
  Pool p;
  p.id = "pd";
  p.network = cidr("2001:db8:100::/48");
  p.delegated_length = 56;
  p.exclusions = {cidr("2001:db8:100::/52")};  // first 16 /56s
  ASSERT_TRUE(m->create_pool(p).ok());
  std::set<IpAddress> seen;
  for (int i = 0; i < 240; ++i) {  // 256 /56s minus 16 excluded
    auto a = m->allocate("pd", "cpe-" + std::to_string(i));
    ASSERT_TRUE(a.ok()) << a.error().message();
    EXPECT_EQ(a->allocation.prefix_length, 56);
    auto pre = Prefix::make(a->allocation.address, 56);
    EXPECT_EQ(pre->address(), a->allocation.address) << "not /56 aligned";
    EXPECT_TRUE(p.network.contains(a->allocation.address));
    EXPECT_FALSE(cidr("2001:db8:100::/52").contains(a->allocation.address));
    EXPECT_TRUE(seen.insert(a->allocation.address).second);
  }
  EXPECT_FALSE(m->allocate("pd", "cpe-240").ok());
}

TEST(Allocation, OwnersAllocateFromDisjointSharesThatCoverThePool) {
  Fixture f;
  auto a = f.make("nexus-a");
  auto b = f.make("nexus-b");
  auto c = f.make("nexus-c");  // not an owner
  Pool p = v4_pool("p", "10.3.0.0/24");
  p.gateway = ip("10.3.0.1");
  p.owners = {"nexus-a", "nexus-b"};
  ASSERT_TRUE(a->create_pool(p).ok());
  sync(*a, *b);
  sync(*a, *c);
  std::set<IpAddress> from_a;
  std::set<IpAddress> from_b;
  for (int i = 0;; ++i) {
    auto r = a->allocate("p", "a" + std::to_string(i));
    if (!r) {
      EXPECT_EQ(r.error().code, std::errc::no_buffer_space);
      break;
    }
    from_a.insert(r->allocation.address);
  }
  for (int i = 0;; ++i) {
    auto r = b->allocate("p", "b" + std::to_string(i));
    if (!r) break;
    from_b.insert(r->allocation.address);
  }
  for (const auto& x : from_a)
    EXPECT_EQ(from_b.count(x), 0u) << "both shares hold " << x.to_string();
  EXPECT_EQ(from_a.size() + from_b.size(), 253u);  // 256 - network - broadcast - gateway
  EXPECT_GT(from_a.size(), 100u);
  EXPECT_GT(from_b.size(), 100u);
  auto none = c->allocate("p", "c0");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message().find("owns no part"), std::string::npos);
  // Still: every replica answers with an existing allocation, whoever made it.
  sync(*a, *c);
  auto existing = c->allocate("p", "a0");
  ASSERT_TRUE(existing.ok());
  EXPECT_FALSE(existing->created);
}

TEST(Allocation, TtlRenewAndExpiry) {
  Fixture f;
  auto m = f.make("n1");
  Pool p = v4_pool("p", "10.4.0.0/30");  // one host: .1, .2
  p.lease_ttl = 60;
  p.max_ttl = 600;
  p.reclaim_after = 30;
  ASSERT_TRUE(m->create_pool(p).ok());
  auto a = m->allocate("p", "s1", 100000);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->allocation.expires_at_ms, f.now + 600'000);  // capped to max_ttl
  EXPECT_FALSE(m->allocate("p", "s2", 0).ok());
  auto b = m->allocate("p", "s2");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->allocation.expires_at_ms, f.now + 60'000);  // lease_ttl
  EXPECT_FALSE(m->allocate("p", "s3").ok());               // full

  f.now += 50'000;
  auto renewed = m->renew("p", "s2");
  ASSERT_TRUE(renewed.ok());
  EXPECT_EQ(renewed->expires_at_ms, f.now + 60'000);
  EXPECT_EQ(m->renew("p", "nobody").error().code, std::errc::no_such_file_or_directory);

  // s1 expires at +600 s; held for reclaim_after more, then freed by expire().
  f.now += 560'000;                         // +610 s
  ASSERT_EQ(m->expire()->allocations, 1u);  // s2 (expired at +110 s) is past its grace
  ASSERT_TRUE(m->allocation("p", "s1").has_value());
  auto back = m->allocate("p", "s1");  // expired, not freed: reactivated, same address
  ASSERT_TRUE(back.ok());
  EXPECT_FALSE(back->created);
  EXPECT_EQ(back->allocation.address, a->allocation.address);
  EXPECT_GT(back->allocation.expires_at_ms, f.now);
  auto s3 = m->allocate("p", "s3");  // s2's address was freed
  ASSERT_TRUE(s3.ok());
  EXPECT_EQ(s3->allocation.address, b->allocation.address);
}

TEST(Allocation, RenewOnOneReplicaOutlivesAConcurrentExpireOnAnother) {
  Fixture f;
  auto a = f.make("a");
  auto b = f.make("b");
  Pool p = v4_pool("p", "10.5.0.0/24");
  p.lease_ttl = 60;
  p.reclaim_after = 0;
  ASSERT_TRUE(a->create_pool(p).ok());
  ASSERT_TRUE(a->allocate("p", "s").ok());
  sync(*a, *b);
  f.now += 61'000;
  ASSERT_EQ(a->expire()->allocations, 1u);  // a thinks s is gone
  ASSERT_TRUE(b->renew("p", "s").ok());     // b renews, not having heard
  sync(*a, *b);
  EXPECT_TRUE(a->allocation("p", "s").has_value());
  EXPECT_TRUE(a->same_state(*b));
}

TEST(Allocation, ConcurrentAllocationOfOneSubscriberKeepsTheLaterAndHoldsBackTheOther) {
  Fixture f;
  auto a = f.make("a");
  auto b = f.make("b");
  Pool p = v4_pool("p", "10.6.0.0/24");
  p.owners = {"a", "b"};
  ASSERT_TRUE(a->create_pool(p).ok());
  sync(*a, *b);
  auto on_a = a->allocate("p", "roamer");
  f.now += 5;
  auto on_b = b->allocate("p", "roamer");
  ASSERT_TRUE(on_a.ok());
  ASSERT_TRUE(on_b.ok());
  ASSERT_NE(on_a->allocation.address, on_b->allocation.address);  // disjoint shares
  sync(*a, *b);
  // Later write wins everywhere; the same address on both replicas.
  EXPECT_EQ(a->allocation("p", "roamer")->address, on_b->allocation.address);
  EXPECT_EQ(b->allocation("p", "roamer")->address, on_b->allocation.address);
  EXPECT_TRUE(a->conflicts().empty());
  // a's superseded address may still be in use until its lease ends: a does not hand it
  // to a subscriber whose hash would land on it... verified by exhausting a's share.
  std::set<IpAddress> handed;
  for (int i = 0;; ++i) {
    auto r = a->allocate("p", "fill-" + std::to_string(i));
    if (!r) break;
    handed.insert(r->allocation.address);
  }
  EXPECT_EQ(handed.count(on_a->allocation.address), 0u);
  f.now += 3600'000 + 1;  // the old lease is over
  ASSERT_TRUE(a->expire().ok());
  auto late = a->allocate("p", "late");
  ASSERT_TRUE(late.ok()) << late.error().message();
  EXPECT_EQ(late->allocation.address, on_a->allocation.address);
}

TEST(Allocation, AddressConflictKeepsTheOlderClaimAndRepairsTheOther) {
  // Without owners two replicas can pick one address for two subscribers in a partition.
  Fixture f;
  auto a = f.make("a");
  auto b = f.make("b");
  Pool p = v4_pool("p", "10.7.0.0/30");  // two hosts
  ASSERT_TRUE(a->create_pool(p).ok());
  sync(*a, *b);
  // Find two subscribers that hash to the same first address.
  auto probe = f.make("probe");
  ASSERT_TRUE(probe->create_pool(p).ok());
  const IpAddress target = probe->allocate("p", "x0")->allocation.address;
  std::string other;
  for (int i = 1; other.empty(); ++i) {
    auto fresh = f.make("probe");
    ASSERT_TRUE(fresh->create_pool(p).ok());
    if (fresh->allocate("p", "x" + std::to_string(i))->allocation.address == target)
      other = "x" + std::to_string(i);
  }
  auto first = a->allocate("p", "x0");
  f.now += 10;
  auto second = b->allocate("p", other);
  ASSERT_EQ(first->allocation.address, second->allocation.address);
  sync(*a, *b);
  EXPECT_TRUE(a->same_state(*b));
  EXPECT_TRUE(a->conflicts().empty());
  auto x0 = a->allocation("p", "x0");
  auto xo = a->allocation("p", other);
  ASSERT_TRUE(x0.has_value());
  ASSERT_TRUE(xo.has_value());
  EXPECT_EQ(x0->address, target);  // older claim keeps it
  EXPECT_NE(xo->address, target);  // the other was re-allocated...
  EXPECT_EQ(xo->node_id, "a");     // ...by the replica that chose the winner's address
  EXPECT_EQ(b->allocation("p", other)->address, xo->address);
}

TEST(Allocation, ReservationAddedLaterTakesItsAddressBack) {
  Fixture f;
  auto m = f.make("n1");
  ASSERT_TRUE(m->create_pool(v4_pool("p", "10.8.0.0/29")).ok());
  auto dyn = m->allocate("p", "dynamic");
  ASSERT_TRUE(dyn.ok());
  Pool p = *m->pool("p");
  p.reservations = {{"vip", dyn->allocation.address}};
  ASSERT_TRUE(m->update_pool(p).ok());
  auto vip = m->allocate("p", "vip");
  ASSERT_TRUE(vip.ok());
  EXPECT_EQ(vip->allocation.address, dyn->allocation.address);
  auto moved = m->allocation("p", "dynamic");
  ASSERT_TRUE(moved.has_value());
  EXPECT_NE(moved->address, dyn->allocation.address);
  EXPECT_TRUE(m->conflicts().empty());
}

TEST(Pools, CreateIsIdempotentConflictsAreRefusedDeleteDropsAllocations) {
  Fixture f;
  auto m = f.make("n1");
  const Pool p = v4_pool("p", "10.10.0.0/24");
  ASSERT_TRUE(m->create_pool(p).ok());
  EXPECT_TRUE(m->create_pool(p).ok());
  Pool other = p;
  other.lease_ttl = 5;
  EXPECT_EQ(m->create_pool(other).error().code, std::errc::file_exists);
  ASSERT_TRUE(m->update_pool(other).ok());
  EXPECT_EQ(m->pool("p")->lease_ttl, 5u);
  EXPECT_EQ(m->update_pool(v4_pool("q", "10.11.0.0/24")).error().code,
            std::errc::no_such_file_or_directory);
  ASSERT_TRUE(m->allocate("p", "s").ok());
  EXPECT_EQ(m->pools().size(), 1u);
  ASSERT_TRUE(m->delete_pool("p").ok());
  EXPECT_TRUE(m->pools().empty());
  EXPECT_TRUE(m->allocations().empty());
  EXPECT_FALSE(m->delete_pool("p").ok());
}

TEST(Nodes, RegisterHeartbeatStaleAndExpire) {
  Fixture f;
  auto m = f.make("n1");
  auto n = m->heartbeat({"olt-1", "10.1.1.10", "east", {{"capacity", "2000"}}});
  ASSERT_TRUE(n.ok());
  const std::int64_t registered = f.now;
  f.now += 30'000;
  ASSERT_TRUE(m->heartbeat({"olt-1", "", "", {}}).ok());
  auto v = m->node("olt-1");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->status, NodeStatus::active);
  EXPECT_EQ(v->node.registered_at_ms, registered);
  EXPECT_EQ(v->node.last_seen_ms, f.now);
  EXPECT_EQ(v->node.address, "10.1.1.10");  // kept
  EXPECT_EQ(v->node.metadata.at("capacity"), "2000");
  f.now += 91'000;
  EXPECT_EQ(m->node("olt-1")->status, NodeStatus::stale);
  EXPECT_STREQ(to_string(NodeStatus::stale), "stale");
  EXPECT_EQ(m->expire()->nodes, 0u);
  f.now += 24 * 3600 * 1000;
  EXPECT_EQ(m->expire()->nodes, 1u);
  EXPECT_TRUE(m->nodes().empty());
  EXPECT_FALSE(m->heartbeat({"", "", "", {}}).ok());
}

TEST(Nodes, HeartbeatOnOneReplicaOutlivesAConcurrentExpiryOnAnother) {
  Fixture f;
  auto a = f.make("a");
  auto b = f.make("b");
  ASSERT_TRUE(a->heartbeat({"olt-1", "", "", {}}).ok());
  sync(*a, *b);
  f.now += 25 * 3600 * 1000;
  ASSERT_EQ(a->expire()->nodes, 1u);                      // a has not heard from olt-1 for a day
  ASSERT_TRUE(b->heartbeat({"olt-1", "", "", {}}).ok());  // but it just reached b
  sync(*a, *b);
  ASSERT_TRUE(a->node("olt-1").has_value());
  EXPECT_EQ(a->node("olt-1")->status, NodeStatus::active);
  EXPECT_TRUE(a->same_state(*b));
}

TEST(Replication, MessagesRoundTripAndAntiEntropyConverges) {
  Fixture f;
  auto a = f.make("a");
  auto b = f.make("b");
  Pool p = v4_pool("p", "10.12.0.0/22");
  p.owners = {"a", "b"};
  ASSERT_TRUE(a->create_pool(p).ok());
  ASSERT_TRUE(b->create_pool(p).ok());
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(a->allocate("p", "a" + std::to_string(i)).ok());
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(b->allocate("p", "b" + std::to_string(i)).ok());
  ASSERT_TRUE(a->heartbeat({"olt", "", "", {}}).ok());

  const ModelDelta d = a->full_delta();
  auto back = decode<ModelDelta>(encode(d), "model delta");
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_EQ(*back, d);
  auto wm = decode<ModelWatermark>(encode(a->watermark()));
  ASSERT_TRUE(wm.ok());
  EXPECT_EQ(*wm, a->watermark());
  EXPECT_FALSE(decode<ModelDelta>(encode(d).substr(0, 20)).ok());

  // Digest -> summary -> missing entries, both ways, over the wire encoding.
  auto digest_a = *decode<ModelDigest>(encode(a->digest()));
  auto digest_b = *decode<ModelDigest>(encode(b->digest()));
  auto sum_b = *decode<ModelSummary>(encode(b->summary(digest_a)));
  auto sum_a = *decode<ModelSummary>(encode(a->summary(digest_b)));
  ASSERT_TRUE(b->merge(*decode<ModelDelta>(encode(a->delta_for(sum_b)))).ok());
  ASSERT_TRUE(a->merge(*decode<ModelDelta>(encode(b->delta_for(sum_a)))).ok());
  EXPECT_TRUE(a->same_state(*b));
  EXPECT_EQ(a->digest(), b->digest());
  EXPECT_EQ(a->allocations("p").size(), 100u);

  // Incremental push: only the change travels.
  const ModelWatermark seen = a->watermark();
  ASSERT_TRUE(a->allocate("p", "late").ok());
  const ModelDelta inc = a->delta_since(seen);
  EXPECT_EQ(inc.size(), 1u);
  ASSERT_TRUE(b->merge(inc).ok());
  EXPECT_TRUE(a->same_state(*b));
}

// ---- durability

TEST(Durability, ReopeningRestoresEverythingAndChecksTheReplica) {
  TempDir dir;
  Fixture f;
  const auto path = dir.path() / "nexus.db";
  Allocation before;
  {
    auto store = Store::open(path);
    ASSERT_TRUE(store.ok());
    auto m = f.make("nexus-1", &*store);
    Pool p = v4_pool("p", "10.20.0.0/24");
    p.reservations = {{"vip", ip("10.20.0.9")}};
    ASSERT_TRUE(m->create_pool(p).ok());
    before = m->allocate("p", "alice")->allocation;
    ASSERT_TRUE(m->heartbeat({"olt", "1.2.3.4", "", {}}).ok());
  }
  auto store = Store::open(path);
  ASSERT_TRUE(store.ok());
  auto m = f.make("nexus-1", &*store);
  EXPECT_EQ(m->pool("p")->reservations.at("vip"), ip("10.20.0.9"));
  ASSERT_TRUE(m->allocation("p", "alice").has_value());
  EXPECT_EQ(*m->allocation("p", "alice"), before);
  EXPECT_EQ(m->node("olt")->node.address, "1.2.3.4");
  auto again = m->allocate("p", "alice");
  EXPECT_FALSE(again->created);

  ModelOptions o;
  o.replica_id = "nexus-2";
  auto wrong = Model::open(&*store, o);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().message().find("belongs to replica nexus-1"), std::string::npos);
}

// A child process allocates and acknowledges each allocation over a pipe only after
// allocate() returned; it is SIGKILLed mid-stream. Every acknowledged allocation is there
// after reopening, with the acknowledged address.
TEST(Durability, AcknowledgedAllocationsSurviveSigkill) {
  TempDir dir;
  const auto path = dir.path() / "nexus.db";
  {
    Fixture f;
    auto store = Store::open(path);
    ASSERT_TRUE(store.ok());
    auto m = f.make("nexus-1", &*store);
    ASSERT_TRUE(m->create_pool(v4_pool("p", "10.30.0.0/16")).ok());
  }
  struct Ack {
    int index;
    std::uint32_t address;
  };
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(fds[0]);
    auto store = Store::open(path);
    if (!store) ::_exit(2);
    ModelOptions o;
    o.replica_id = "nexus-1";
    auto m = Model::open(&*store, o);
    if (!m) ::_exit(3);
    for (int i = 0;; ++i) {
      auto a = (*m)->allocate("p", "sub-" + std::to_string(i));
      if (!a) ::_exit(4);
      Ack ack{i, a->allocation.address.v4_value()};
      if (::write(fds[1], &ack, sizeof ack) != sizeof ack) ::_exit(5);
    }
  }
  ::close(fds[1]);
  std::map<int, std::uint32_t> acked;
  Ack ack{};
  while (acked.size() < 150 && ::read(fds[0], &ack, sizeof ack) == sizeof ack)
    acked[ack.index] = ack.address;
  ::kill(pid, SIGKILL);
  while (::read(fds[0], &ack, sizeof ack) == sizeof ack) acked[ack.index] = ack.address;
  ::close(fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << status;
  ASSERT_GE(acked.size(), 150u);

  Fixture f;
  auto store = Store::open(path);
  ASSERT_TRUE(store.ok());
  auto m = f.make("nexus-1", &*store);
  for (const auto& [i, addr] : acked) {
    auto a = m->allocation("p", "sub-" + std::to_string(i));
    ASSERT_TRUE(a.has_value()) << "acknowledged allocation " << i << " lost";
    EXPECT_EQ(a->address.v4_value(), addr);
  }
}

TEST(Durability, BackupAndOnlineRestore) {
  TempDir dir;
  Fixture f;
  auto store = Store::open(dir.path() / "nexus.db");
  ASSERT_TRUE(store.ok());
  auto m = f.make("nexus-1", &*store);
  ASSERT_TRUE(m->create_pool(v4_pool("p", "10.40.0.0/24")).ok());
  const auto alice = m->allocate("p", "alice")->allocation;
  const auto backup = dir.path() / "nexus-backup.db";
  ASSERT_TRUE(m->backup(backup).ok());
  ASSERT_TRUE(m->allocate("p", "bob").ok());
  ASSERT_TRUE(m->release("p", "alice").ok());
  const ModelWatermark before = m->watermark();

  auto r = m->restore(backup);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(m->allocation("p", "alice"), alice);
  EXPECT_FALSE(m->allocation("p", "bob").has_value());
  EXPECT_NE(m->watermark().allocations.epoch, before.allocations.epoch);  // peers resend
  ASSERT_TRUE(m->allocate("p", "carol").ok());
  // Restoring a damaged file fails and changes nothing.
  const auto junk = dir.path() / "junk.db";
  {
    std::FILE* fp = std::fopen(junk.c_str(), "w");
    std::fputs("junk", fp);
    std::fclose(fp);
  }
  EXPECT_FALSE(m->restore(junk).ok());
  EXPECT_TRUE(m->allocation("p", "carol").has_value());

  // Memory-only models have no store to copy.
  auto mem = f.make("x");
  EXPECT_EQ(mem->backup(dir.path() / "x.db").error().code, std::errc::not_supported);
}

TEST(Observing, ChangesSinceListenerUsageAndCounters) {
  Fixture f;
  auto a = f.make("a");
  auto b = f.make("b");
  int changes = 0;
  a->set_change_listener([&] { ++changes; });
  Pool p = v4_pool("p", "10.20.0.0/28");  // 14 usable hosts
  p.gateway = ip("10.20.0.1");
  p.exclusions = {cidr("10.20.0.8/30")};  // .8-.11
  ASSERT_TRUE(a->create_pool(p).ok());
  EXPECT_EQ(changes, 1);
  const ModelWatermark w0 = a->watermark();
  ASSERT_TRUE(a->allocate("p", "s1").ok());
  ASSERT_TRUE(a->allocate("p", "s2").ok());
  EXPECT_EQ(changes, 3);
  // What changed after w0, read with the watermark that covers it.
  auto [delta, w1] = a->changes_since(w0);
  EXPECT_EQ(delta.allocations.size(), 2U);
  EXPECT_TRUE(delta.pools.empty());
  EXPECT_EQ(w1, a->watermark());
  EXPECT_TRUE(a->changes_since(w1).first.empty());
  // A merge that brings nothing new is no change; one that does is.
  ASSERT_TRUE(a->merge(a->full_delta()).ok());
  EXPECT_EQ(changes, 3);
  ASSERT_TRUE(b->merge(a->full_delta()).ok());
  ASSERT_TRUE(b->heartbeat({"olt", "", "", {}}).ok());
  ASSERT_TRUE(a->merge(b->full_delta()).ok());
  EXPECT_EQ(changes, 4);
  EXPECT_EQ(a->counters().merged, 1U);
  // 16 addresses - network - broadcast - gateway - 4 excluded = 9 usable, 2 held.
  auto u = a->pool_usage("p");
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->usable, 9.0);
  EXPECT_EQ(u->allocated, 2U);
  EXPECT_NEAR(u->utilisation(), 2.0 / 9.0, 1e-9);
  EXPECT_FALSE(a->pool_usage("nope").has_value());
  // A huge IPv6 pool is counted without walking it.
  Pool v6;
  v6.id = "v6";
  v6.network = cidr("2001:db8::/64");
  v6.exclusions = {cidr("2001:db8::/96")};
  ASSERT_TRUE(a->create_pool(v6).ok());
  auto u6 = a->pool_usage("v6");
  ASSERT_TRUE(u6.has_value());
  EXPECT_DOUBLE_EQ(u6->usable, 18446744073709551616.0 / 2 - 4294967296.0);
  a->set_change_listener({});
  ASSERT_TRUE(a->allocate("p", "s3").ok());
  EXPECT_EQ(changes, 5);  // the IPv6 pool; nothing after the listener was removed
}

}  // namespace
}  // namespace bngkit::nexus
