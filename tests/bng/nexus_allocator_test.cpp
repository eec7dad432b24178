// NexusAllocator's cache rules: answers only for granted subscribers (else `unavailable`,
// which the slow path drops), NAKs other addresses, hands releases to the caller, restores
// bindings; and the DhcpServer over it: a client's DHCPRELEASE hands the grant back (to be
// released in Nexus) and ends the lease as released.
#include <bngkit/bng/dhcp/frame.hpp>
#include <bngkit/bng/lease/lease_store.hpp>
#include <bngkit/bng/lease/lease_table.hpp>
#include <bngkit/bng/nexus/nexus_allocator.hpp>
#include <bngkit/bng/slowpath/dhcp_server.hpp>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace {

using namespace bngkit::bng;
using nexus::CachedAllocation;
using pool::AllocError;

dhcp::Ipv4 ip(const char* s) { return dhcp::Ipv4::parse(s).value(); }
pool::SubscriberKey mac(std::uint8_t last) { return pool::SubscriberKey::mac(std::array<std::uint8_t, 6>{2, 0, 0, 0, 0, last}); }

pool::PoolParameters params(std::string id, const char* cidr) {
  pool::PoolParameters p;
  p.pool_id = std::move(id);
  p.network = pool::Ipv4Network::parse(cidr).value();
  p.gateway = dhcp::Ipv4::from_host(p.network.network().to_host() + 1);
  p.lease_time = std::chrono::seconds(600);
  return p;
}

struct NexusAllocatorTest : ::testing::Test {
  std::vector<CachedAllocation> released;
  std::unique_ptr<nexus::NexusAllocator> a;
  void SetUp() override {
    nexus::NexusAllocatorOptions o;
    o.pools = {params("p1", "10.1.0.0/24"), params("p2", "10.2.0.0/24")};
    o.probation = std::chrono::seconds(100);
    o.clock = [] { return std::chrono::sys_seconds(std::chrono::seconds(1000)); };
    o.released = [this](const CachedAllocation& c) { released.push_back(c); };
    a = nexus::NexusAllocator::create(std::move(o)).value();
  }
};

TEST(NexusAllocatorCreate, RejectsNoPoolsAndDuplicates) {
  EXPECT_FALSE(nexus::NexusAllocator::create({}));
  nexus::NexusAllocatorOptions o;
  o.pools = {params("p", "10.0.0.0/24"), params("p", "10.9.0.0/24")};
  auto r = nexus::NexusAllocator::create(std::move(o));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("\"p\" twice"), std::string::npos);
}

TEST_F(NexusAllocatorTest, UncachedSubscriberIsUnavailableNotANak) {
  auto r = a->allocate({mac(1), "p1", ip("10.1.0.7")});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, pool::make_error_code(AllocError::unavailable));
  auto n = a->renew(mac(1), "p1", ip("10.1.0.7"));
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().code, pool::make_error_code(AllocError::unavailable));
  EXPECT_EQ(a->allocate({mac(1), "nope", {}}).error().code, pool::make_error_code(AllocError::pool_not_found));
}

TEST_F(NexusAllocatorTest, CachedGrantIsServedWhateverTheClientAsks) {
  ASSERT_TRUE(a->learn({mac(1), "p1", ip("10.1.0.9"), {}}));
  auto r = a->allocate({mac(1), "p1", ip("10.1.0.50")});  // Nexus chose .9; the request is a hint only
  ASSERT_TRUE(r);
  EXPECT_EQ(r->address, ip("10.1.0.9"));
  EXPECT_EQ(r->pool.pool_id, "p1");
  EXPECT_EQ(r->pool.lease_time, std::chrono::seconds(600));
  EXPECT_TRUE(a->renew(mac(1), "p1", ip("10.1.0.9")));
  EXPECT_EQ(a->renew(mac(1), "p1", ip("10.1.0.10")).error().code, pool::make_error_code(AllocError::wrong_address));
  // Another subscriber asking for that address is NAKed; outside the pool too.
  EXPECT_EQ(a->renew(mac(2), "p1", ip("10.1.0.9")).error().code, pool::make_error_code(AllocError::address_in_use));
  EXPECT_EQ(a->renew(mac(2), "p1", ip("10.3.0.1")).error().code, pool::make_error_code(AllocError::not_in_pool));
  // Not cached in the other pool.
  EXPECT_EQ(a->allocate({mac(1), "p2", {}}).error().code, pool::make_error_code(AllocError::unavailable));
  EXPECT_EQ(a->owner(ip("10.1.0.9")), mac(1));
  ASSERT_TRUE(a->lookup(mac(1), "p1"));
  EXPECT_EQ(a->pool_for(ip("10.2.0.77"))->pool_id, "p2");
}

TEST_F(NexusAllocatorTest, LearnRefusesConflictsAndForeignAddresses) {
  ASSERT_TRUE(a->learn({mac(1), "p1", ip("10.1.0.9"), {}}));
  auto clash = a->learn({mac(2), "p1", ip("10.1.0.9"), {}});
  ASSERT_FALSE(clash);
  EXPECT_EQ(clash.error().code, pool::make_error_code(AllocError::address_in_use));
  EXPECT_FALSE(a->lookup(mac(2), "p1"));
  EXPECT_EQ(a->learn({mac(2), "p1", ip("10.2.0.9"), {}}).error().code, pool::make_error_code(AllocError::not_in_pool));
  EXPECT_EQ(a->learn({mac(2), "zz", ip("10.1.0.3"), {}}).error().code, pool::make_error_code(AllocError::pool_not_found));
  // Re-learning the same subscriber with a new expiry (a renewal) replaces its entry.
  const auto later = std::chrono::sys_seconds(std::chrono::seconds(5000));
  ASSERT_TRUE(a->learn({mac(1), "p1", ip("10.1.0.9"), later}));
  auto all = a->cached();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].expires_at, later);
}

TEST_F(NexusAllocatorTest, ReleaseAndDeclineHandTheGrantBack) {
  ASSERT_TRUE(a->learn({mac(1), "p1", ip("10.1.0.9"), {}}));
  ASSERT_TRUE(a->learn({mac(2), "p1", ip("10.1.0.10"), {}}));
  EXPECT_EQ(a->release(mac(1), "p1", ip("10.1.0.10")).error().code, pool::make_error_code(AllocError::not_bound));
  EXPECT_TRUE(released.empty());
  ASSERT_TRUE(a->release(mac(1), "p1", ip("10.1.0.9")));
  ASSERT_EQ(released.size(), 1u);
  EXPECT_EQ(released[0].subscriber, mac(1));
  EXPECT_EQ(released[0].address, ip("10.1.0.9"));
  EXPECT_FALSE(a->lookup(mac(1), "p1"));
  EXPECT_FALSE(a->owner(ip("10.1.0.9")));
  auto until = a->decline(mac(2), "p1", ip("10.1.0.10"));
  ASSERT_TRUE(until);
  EXPECT_EQ(*until, std::chrono::sys_seconds(std::chrono::seconds(1100)));
  EXPECT_EQ(released.size(), 2u);
  // forget() drops without telling anybody.
  ASSERT_TRUE(a->learn({mac(3), "p2", ip("10.2.0.3"), {}}));
  a->forget(mac(3), "p2");
  EXPECT_FALSE(a->lookup(mac(3), "p2"));
  EXPECT_EQ(released.size(), 2u);
}

TEST_F(NexusAllocatorTest, ReleaseStaysPendingUntilNexusTakesIt) {
  ASSERT_TRUE(a->learn({mac(1), "p1", ip("10.1.0.9"), {}}));
  EXPECT_FALSE(a->releasing(mac(1), "p1"));
  ASSERT_TRUE(a->release(mac(1), "p1", ip("10.1.0.9")));
  EXPECT_TRUE(a->releasing(mac(1), "p1"));
  EXPECT_FALSE(a->releasing(mac(1), "p2"));
  EXPECT_EQ(a->releases_pending(), 1u);
  // Nexus's answer to a request that left before the release (the subscriber asked again at
  // once) would bring the released grant back: refused until the release is done.
  auto early = a->learn({mac(1), "p1", ip("10.1.0.9"), {}});
  ASSERT_FALSE(early);
  EXPECT_EQ(early.error().code, pool::make_error_code(AllocError::unavailable));
  EXPECT_NE(early.error().message().find("still being released"), std::string::npos) << early.error().message();
  // The address itself is free here: Nexus may grant it to someone else.
  ASSERT_TRUE(a->learn({mac(2), "p1", ip("10.1.0.9"), {}}));
  a->release_done({mac(1), "p1", ip("10.1.0.7"), {}});  // not the released grant: still pending
  EXPECT_TRUE(a->releasing(mac(1), "p1"));
  ASSERT_EQ(released.size(), 1u);
  a->release_done(released[0]);
  EXPECT_FALSE(a->releasing(mac(1), "p1"));
  EXPECT_EQ(a->releases_pending(), 0u);
  EXPECT_TRUE(a->learn({mac(1), "p1", ip("10.1.0.11"), {}}));
  // Decline gives the grant back the same way.
  ASSERT_TRUE(a->decline(mac(1), "p1", ip("10.1.0.11")));
  EXPECT_TRUE(a->releasing(mac(1), "p1"));

  // Without a `released` callback nobody releases in Nexus, so nothing stays pending.
  nexus::NexusAllocatorOptions o;
  o.pools = {params("p1", "10.1.0.0/24")};
  auto silent = nexus::NexusAllocator::create(std::move(o)).value();
  ASSERT_TRUE(silent->learn({mac(1), "p1", ip("10.1.0.9"), {}}));
  ASSERT_TRUE(silent->release(mac(1), "p1", ip("10.1.0.9")));
  EXPECT_FALSE(silent->releasing(mac(1), "p1"));
  EXPECT_TRUE(silent->learn({mac(1), "p1", ip("10.1.0.9"), {}}));
}

TEST_F(NexusAllocatorTest, RenewalAnswerNeverBringsAReleasedGrantBack) {
  const auto t1 = std::chrono::sys_seconds(std::chrono::seconds(2000));
  const auto t2 = std::chrono::sys_seconds(std::chrono::seconds(3000));
  ASSERT_TRUE(a->learn({mac(1), "p1", ip("10.1.0.9"), t1}));
  EXPECT_TRUE(a->refresh({mac(1), "p1", ip("10.1.0.9"), t2}));
  ASSERT_EQ(a->cached().size(), 1u);
  EXPECT_EQ(a->cached()[0].expires_at, t2);
  EXPECT_FALSE(a->refresh({mac(1), "p1", ip("10.1.0.10"), t2})) << "another address is not this grant";
  EXPECT_FALSE(a->refresh({mac(2), "p1", ip("10.1.0.9"), t2})) << "nor another subscriber's";
  // The subscriber releases while a renewal is on its way; its answer arrives before and
  // after Nexus took the release.
  ASSERT_TRUE(a->release(mac(1), "p1", ip("10.1.0.9")));
  EXPECT_FALSE(a->refresh({mac(1), "p1", ip("10.1.0.9"), t2}));
  a->release_done(released.at(0));
  EXPECT_FALSE(a->refresh({mac(1), "p1", ip("10.1.0.9"), t2}));
  EXPECT_TRUE(a->cached().empty());
  EXPECT_FALSE(a->lookup(mac(1), "p1"));
  EXPECT_FALSE(a->owner(ip("10.1.0.9")));
}

TEST_F(NexusAllocatorTest, RestoreCachesBindingsOnly) {
  ASSERT_TRUE(a->restore({mac(1), "p1", ip("10.1.0.9"), pool::RestoreKind::binding, {}}));
  EXPECT_TRUE(a->restore({mac(2), "p1", ip("10.1.0.20"), pool::RestoreKind::history, {}}));
  EXPECT_TRUE(a->restore({mac(3), "p1", ip("10.1.0.21"), pool::RestoreKind::probation, {}}));
  EXPECT_FALSE(a->restore({mac(4), "p1", ip("10.1.0.9"), pool::RestoreKind::binding, {}}));
  auto all = a->cached();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].expires_at, std::chrono::sys_seconds{});  // unconfirmed: renewed in Nexus first thing
  auto u = a->utilisation();
  ASSERT_EQ(u.size(), 2u);
  EXPECT_EQ(u[0].total, 253u);  // /24 minus network, broadcast, gateway
  EXPECT_EQ(u[0].assigned, 1u);
  EXPECT_EQ(u[0].free, 252u);
}

// The slow path over the Nexus cache, fed frames as the gateway's packet socket delivers them.
struct NexusSlowPathTest : NexusAllocatorTest {
  std::filesystem::path dir;
  std::unique_ptr<lease::LeaseStore> store;
  lease::LeaseTable table;
  std::unique_ptr<slowpath::DhcpServer> server;
  std::vector<std::pair<dhcp::Ipv4, slowpath::EndReason>> ended;
  const std::chrono::sys_seconds now{std::chrono::seconds(1000)};
  const dhcp::MacAddress server_mac{{0x02, 0xbb, 0, 0, 0, 1}};

  void SetUp() override {
    NexusAllocatorTest::SetUp();
    dir = std::filesystem::temp_directory_path() / ("bngkit-nexus-slowpath-" + std::to_string(::getpid()) + "-" +
                                                    ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    store = std::make_unique<lease::LeaseStore>(lease::LeaseStore::open(dir / "leases.db").value());
    slowpath::DhcpServerOptions o;
    o.server_id = ip("10.1.0.1");
    o.server_mac = server_mac;
    o.default_pool = "p1";
    slowpath::LeaseEvents events;
    events.ended = [this](const lease::Lease& l, slowpath::EndReason why) { ended.emplace_back(l.address, why); };
    server = std::make_unique<slowpath::DhcpServer>(o, *a, table, *store, events);
  }
  void TearDown() override {
    server.reset();
    store.reset();
    std::filesystem::remove_all(dir);
  }

  static dhcp::Message client_message(dhcp::MessageType type, std::uint8_t mac_last) {
    dhcp::Message m;
    m.op = dhcp::kBootRequest;
    m.xid = 0x5150;
    m.chaddr = {0x02, 0, 0, 0, 0, mac_last};
    const auto t = static_cast<std::uint8_t>(type);
    m.add_option(53, std::span(&t, 1));
    m.pad_to = 300;
    return m;
  }
  // Broadcast DISCOVER and REQUEST (SELECTING); the ACKed address.
  dhcp::Ipv4 dora(std::uint8_t mac_last) {
    auto offer = server->handle(client_message(dhcp::MessageType::discover, mac_last), now);
    if (!offer.reply) {
      ADD_FAILURE() << offer.drop_reason;
      return {};
    }
    auto request = client_message(dhcp::MessageType::request, mac_last);
    request.add_option(50, offer.reply->yiaddr.bytes());
    request.add_option(54, ip("10.1.0.1").bytes());
    auto ack = server->handle(request, now);
    if (!ack.reply || ack.reply->message_type() != dhcp::MessageType::ack) {
      ADD_FAILURE() << "no ACK: " << ack.drop_reason;
      return {};
    }
    return ack.reply->yiaddr;
  }
  // A DHCPRELEASE as udhcpc -R and dhclient -r send it: unicast from the held address to
  // the server (its MAC, its address), ciaddr the address, option 54 the server.
  std::vector<std::uint8_t> release_frame(std::uint8_t mac_last, dhcp::Ipv4 address) {
    auto m = client_message(dhcp::MessageType::release, mac_last);
    m.ciaddr = address;
    m.add_option(54, ip("10.1.0.1").bytes());
    dhcp::UdpFrame h;
    h.src_mac = dhcp::MacAddress({0x02, 0, 0, 0, 0, mac_last});
    h.dst_mac = server_mac;
    h.src_ip = address;
    h.dst_ip = ip("10.1.0.1");
    return dhcp::build_dhcp_frame(h, m).value();
  }
};

TEST_F(NexusSlowPathTest, ClientReleaseHandsTheGrantBackAndEndsTheLeaseAsReleased) {
  ASSERT_TRUE(a->learn({mac(1), "p1", ip("10.1.0.9"), {}}));
  ASSERT_EQ(dora(1), ip("10.1.0.9"));

  // Another subscriber naming that address releases nothing.
  slowpath::Outcome out;
  EXPECT_FALSE(server->handle_frame(release_frame(2, ip("10.1.0.9")), now, &out));
  EXPECT_NE(out.drop_reason.find("does not hold it"), std::string::npos) << out.drop_reason;
  EXPECT_TRUE(released.empty());
  EXPECT_TRUE(ended.empty());

  out = {};
  EXPECT_FALSE(server->handle_frame(release_frame(1, ip("10.1.0.9")), now, &out)) << "RELEASE has no reply";
  EXPECT_EQ(out.request_type, dhcp::MessageType::release);
  EXPECT_EQ(out.drop_reason, "");
  ASSERT_EQ(released.size(), 1u) << "the grant goes back to be released in Nexus";
  EXPECT_EQ(released[0].subscriber, mac(1));
  EXPECT_EQ(released[0].pool_id, "p1");
  EXPECT_EQ(released[0].address, ip("10.1.0.9"));
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0], std::make_pair(ip("10.1.0.9"), slowpath::EndReason::released));  // accounting: User-Request
  EXPECT_EQ(store->find(ip("10.1.0.9")).value()->state, lease::LeaseState::released);
  EXPECT_FALSE(a->owner(ip("10.1.0.9")));
  EXPECT_TRUE(a->releasing(mac(1), "p1")) << "until Nexus took it (admission holds the subscriber meanwhile)";

  // A repeated RELEASE (the client retransmits, or the answer was lost) changes nothing.
  EXPECT_FALSE(server->handle_frame(release_frame(1, ip("10.1.0.9")), now));
  EXPECT_EQ(released.size(), 1u);
  EXPECT_EQ(ended.size(), 1u);

  // Nexus hands the address to someone else: served here.
  ASSERT_TRUE(a->learn({mac(3), "p1", ip("10.1.0.9"), {}}));
  EXPECT_EQ(dora(3), ip("10.1.0.9"));
}

}  // namespace
