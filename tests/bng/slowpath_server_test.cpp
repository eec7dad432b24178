// DhcpServer (slow-path protocol logic): DORA, renew/rebind, NAK, DECLINE with probation,
// RELEASE, INFORM, relayed clients, offer and lease expiry, durability of ACKed leases, and
// the reply frame addressing — all without sockets.
#include <bngkit/bng/dhcp/frame.hpp>
#include <bngkit/bng/lease/lease_store.hpp>
#include <bngkit/bng/lease/restore.hpp>
#include <bngkit/bng/pool/local_pool_allocator.hpp>
#include <bngkit/bng/slowpath/dhcp_server.hpp>

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace bngkit::bng::slowpath {
namespace {

using dhcp::Ipv4;
using dhcp::MacAddress;
using dhcp::Message;
using dhcp::MessageType;
using lease::LeaseState;
using namespace std::chrono_literals;

constexpr std::int64_t kT0 = 1'700'000'000;
std::chrono::sys_seconds at(std::int64_t s) { return std::chrono::sys_seconds(std::chrono::seconds(kT0 + s)); }
Ipv4 ip(std::string_view s) { return Ipv4::parse(s).value(); }

Message client_message(MessageType type, std::uint8_t mac_last, std::uint32_t xid = 0x1234) {
  Message m;
  m.op = dhcp::kBootRequest;
  m.xid = xid;
  m.chaddr = {0x02, 0x00, 0x00, 0x00, 0x00, mac_last};
  const std::uint8_t t = static_cast<std::uint8_t>(type);
  m.add_option(53, std::span(&t, 1));
  const std::uint8_t prl[] = {1, 3, 6, 51};
  m.add_option(55, prl);
  m.pad_to = 300;
  return m;
}

void set_ip_option(Message& m, std::uint8_t code, Ipv4 a) { m.add_option(code, a.bytes()); }

class DhcpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("bngkit-slowpath-" + std::to_string(::getpid()) + "-" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    open_all();
  }
  void TearDown() override {
    server_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  void open_all() {
    pool::PoolConfig home;
    home.id = "residential-ipv4";
    home.network = pool::Ipv4Network::parse("10.0.1.0/24").value();
    home.range = pool::Ipv4Range::parse("10.0.1.10-10.0.1.12").value();
    home.gateway = ip("10.0.1.1");
    home.dns = {ip("10.0.1.2"), ip("10.0.1.3")};
    home.lease_time = 3600s;
    pool::PoolConfig relayed;
    relayed.id = "business";
    relayed.network = pool::Ipv4Network::parse("10.0.2.0/24").value();
    relayed.gateway = ip("10.0.2.1");
    relayed.lease_time = 600s;
    allocator_ = pool::LocalPoolAllocator::create({home, relayed}, [this] { return now_; }).value();
    store_ = std::make_unique<lease::LeaseStore>(lease::LeaseStore::open(dir_ / "leases.db").value());
    table_ = std::make_unique<lease::LeaseTable>();
    DhcpServerOptions options;
    options.server_id = ip("10.0.1.1");
    options.server_mac = MacAddress({0x02, 0xbb, 0, 0, 0, 1});
    options.default_pool = "residential-ipv4";
    options.offer_time = 30s;
    LeaseEvents events;
    events.bound = [this](const lease::Lease& l) { bound_.push_back(l.address); };
    events.ended = [this](const lease::Lease& l, EndReason why) {
      ended_.push_back(l.address);
      reasons_.push_back(why);
    };
    server_ = std::make_unique<DhcpServer>(options, *allocator_, *table_, *store_, events);
  }

  // DISCOVER + REQUEST (SELECTING); returns the ACKed address.
  Ipv4 dora(std::uint8_t mac_last) {
    auto offer = server_->handle(client_message(MessageType::discover, mac_last), now_);
    EXPECT_TRUE(offer.reply) << offer.drop_reason;
    if (!offer.reply) return Ipv4();
    EXPECT_EQ(offer.reply->message_type(), MessageType::offer);
    auto req = client_message(MessageType::request, mac_last);
    set_ip_option(req, 50, offer.reply->yiaddr);
    set_ip_option(req, 54, ip("10.0.1.1"));
    auto ack = server_->handle(req, now_);
    EXPECT_TRUE(ack.reply) << ack.drop_reason;
    if (!ack.reply) return Ipv4();
    EXPECT_EQ(ack.reply->message_type(), MessageType::ack);
    return ack.reply->yiaddr;
  }

  std::filesystem::path dir_;
  std::chrono::sys_seconds now_ = at(0);
  std::unique_ptr<pool::LocalPoolAllocator> allocator_;
  std::unique_ptr<lease::LeaseStore> store_;
  std::unique_ptr<lease::LeaseTable> table_;
  std::unique_ptr<DhcpServer> server_;
  std::vector<Ipv4> bound_;
  std::vector<Ipv4> ended_;
  std::vector<EndReason> reasons_;
};

TEST_F(DhcpServerTest, DoraGivesAnAddressWithPoolParameters) {
  auto offer = server_->handle(client_message(MessageType::discover, 1), now_);
  ASSERT_TRUE(offer.reply) << offer.drop_reason;
  const auto& o = *offer.reply;
  EXPECT_EQ(o.message_type(), MessageType::offer);
  const Ipv4 a = o.yiaddr;
  EXPECT_TRUE(pool::Ipv4Range::parse("10.0.1.10-10.0.1.12")->contains(a)) << a.to_string();
  EXPECT_EQ(o.server_id(), ip("10.0.1.1"));
  EXPECT_EQ(o.lease_time(), 3600u);
  EXPECT_EQ(o.renewal_time(), 1800u);
  EXPECT_EQ(o.rebinding_time(), 3150u);
  EXPECT_EQ(o.subnet_mask(), ip("255.255.255.0"));
  EXPECT_EQ(o.routers(), std::vector<Ipv4>{ip("10.0.1.1")});
  EXPECT_EQ(o.dns_servers(), (std::vector<Ipv4>{ip("10.0.1.2"), ip("10.0.1.3")}));
  EXPECT_TRUE(bound_.empty()) << "an OFFER is not a lease";
  EXPECT_EQ(store_->count().value(), 0u) << "an OFFER is not written to disk";

  auto req = client_message(MessageType::request, 1);
  set_ip_option(req, 50, o.yiaddr);
  set_ip_option(req, 54, ip("10.0.1.1"));
  auto ack = server_->handle(req, now_);
  ASSERT_TRUE(ack.reply) << ack.drop_reason;
  EXPECT_EQ(ack.reply->message_type(), MessageType::ack);
  EXPECT_EQ(ack.reply->yiaddr, a);
  EXPECT_EQ(bound_, std::vector<Ipv4>{a});
  auto stored = store_->find(a).value();
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->state, LeaseState::bound);
  EXPECT_EQ(stored->expires, at(3600));
  EXPECT_EQ(server_->stats().requests[1], 1u);
  EXPECT_EQ(server_->stats().requests[3], 1u);
  EXPECT_EQ(server_->stats().offers, 1u);
  EXPECT_EQ(server_->stats().acks, 1u);
}

TEST_F(DhcpServerTest, SameClientGetsSameAddressAndRenewalExtendsLease) {
  const Ipv4 a = dora(1);
  const Ipv4 b = dora(2);
  EXPECT_NE(a, b);
  now_ = at(1800);
  auto renew = client_message(MessageType::request, 1);
  renew.ciaddr = a;  // RENEWING: ciaddr, no 50/54
  auto ack = server_->handle(renew, now_);
  ASSERT_TRUE(ack.reply) << ack.drop_reason;
  EXPECT_EQ(ack.reply->message_type(), MessageType::ack);
  EXPECT_EQ(store_->find(a).value()->expires, at(1800 + 3600));
  EXPECT_EQ(dora(1), a) << "a new DORA of a bound client returns its address";
}

TEST_F(DhcpServerTest, WrongAddressIsNakedAndUnknownServerIsIgnored) {
  const Ipv4 a = dora(1);
  auto reboot = client_message(MessageType::request, 2);
  set_ip_option(reboot, 50, a);  // INIT-REBOOT for someone else's address
  auto out = server_->handle(reboot, now_);
  ASSERT_TRUE(out.reply);
  EXPECT_EQ(out.reply->message_type(), MessageType::nak);
  EXPECT_EQ(server_->stats().naks, 1u);

  auto outside = client_message(MessageType::request, 3);
  set_ip_option(outside, 50, ip("192.168.7.7"));
  out = server_->handle(outside, now_);
  ASSERT_TRUE(out.reply);
  EXPECT_EQ(out.reply->message_type(), MessageType::nak);

  // SELECTING another server: no reply, and our offer goes back to the pool.
  auto offer = server_->handle(client_message(MessageType::discover, 4), now_);
  ASSERT_TRUE(offer.reply);
  auto other = client_message(MessageType::request, 4);
  set_ip_option(other, 50, offer.reply->yiaddr);
  set_ip_option(other, 54, ip("10.0.1.99"));
  out = server_->handle(other, now_);
  EXPECT_FALSE(out.reply);
  EXPECT_FALSE(allocator_->owner(offer.reply->yiaddr).has_value());
}

TEST_F(DhcpServerTest, DeclinePutsAddressInProbation) {
  const Ipv4 a = dora(1);
  auto decline = client_message(MessageType::decline, 1);
  set_ip_option(decline, 50, a);
  set_ip_option(decline, 54, ip("10.0.1.1"));
  EXPECT_FALSE(server_->handle(decline, now_).reply);
  EXPECT_EQ(ended_, std::vector<Ipv4>{a});
  EXPECT_EQ(reasons_, std::vector<EndReason>{EndReason::declined});
  EXPECT_EQ(store_->find(a).value()->state, LeaseState::declined);
  // The same client now gets another address; the declined one is held back.
  const Ipv4 b = dora(1);
  EXPECT_NE(a, b);
  // A forged DECLINE by a client that does not hold the address changes nothing.
  auto forged = client_message(MessageType::decline, 9);
  set_ip_option(forged, 50, b);
  set_ip_option(forged, 54, ip("10.0.1.1"));
  EXPECT_FALSE(server_->handle(forged, now_).reply);
  EXPECT_EQ(store_->find(b).value()->state, LeaseState::bound);
}

TEST_F(DhcpServerTest, ReleaseFreesAndExpiryEndsLeases) {
  const Ipv4 a = dora(1);
  auto release = client_message(MessageType::release, 1);
  release.ciaddr = a;
  set_ip_option(release, 54, ip("10.0.1.1"));
  EXPECT_FALSE(server_->handle(release, now_).reply);
  EXPECT_EQ(ended_, std::vector<Ipv4>{a});
  EXPECT_EQ(reasons_, std::vector<EndReason>{EndReason::released});
  EXPECT_EQ(store_->find(a).value()->state, LeaseState::released);
  EXPECT_FALSE(allocator_->owner(a).has_value());

  const Ipv4 b = dora(2);
  // An unanswered offer ends after offer_time; a lease after lease_time.
  auto offer = server_->handle(client_message(MessageType::discover, 3), now_);
  ASSERT_TRUE(offer.reply);
  now_ = at(31);
  auto expired = server_->expire(now_);
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].address, offer.reply->yiaddr);
  EXPECT_FALSE(allocator_->owner(offer.reply->yiaddr).has_value());
  now_ = at(3601);
  expired = server_->expire(now_);
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].address, b);
  EXPECT_EQ(ended_.back(), b);
  EXPECT_EQ(reasons_.back(), EndReason::expired);
  EXPECT_EQ(store_->find(b).value()->state, LeaseState::released);
}

TEST_F(DhcpServerTest, RelayedClientGetsRelayPoolAndInformGetsNoLease) {
  auto discover = client_message(MessageType::discover, 5);
  discover.giaddr = ip("10.0.2.1");
  discover.hops = 1;
  auto offer = server_->handle(discover, now_);
  ASSERT_TRUE(offer.reply) << offer.drop_reason;
  EXPECT_TRUE(pool::Ipv4Network::parse("10.0.2.0/24").value().contains(offer.reply->yiaddr));
  EXPECT_EQ(offer.reply->lease_time(), 600u);

  auto inform = client_message(MessageType::inform, 6);
  inform.ciaddr = ip("10.0.1.50");
  auto ack = server_->handle(inform, now_);
  ASSERT_TRUE(ack.reply) << ack.drop_reason;
  EXPECT_EQ(ack.reply->message_type(), MessageType::ack);
  EXPECT_TRUE(ack.reply->yiaddr.is_unspecified());
  EXPECT_FALSE(ack.reply->lease_time().has_value());
}

TEST_F(DhcpServerTest, ExhaustedPoolDropsWithReason) {
  dora(1);
  dora(2);
  dora(3);
  auto out = server_->handle(client_message(MessageType::discover, 4), now_);
  EXPECT_FALSE(out.reply);
  EXPECT_NE(out.drop_reason.find("no address"), std::string::npos) << out.drop_reason;
}

TEST_F(DhcpServerTest, FrameInFrameOutWithRfc2131Addressing) {
  auto discover = client_message(MessageType::discover, 7);
  dhcp::UdpFrame headers;
  headers.src_mac = MacAddress({0x02, 0, 0, 0, 0, 7});
  headers.src_ip = Ipv4();
  headers.vlans = {dhcp::VlanTag{dhcp::kEtherTypeQinQ, 100, 0, false}, dhcp::VlanTag{dhcp::kEtherTypeVlan, 200, 0, false}};
  auto frame = dhcp::build_dhcp_frame(headers, discover).value();
  Outcome outcome;
  auto reply = server_->handle_frame(frame, now_, &outcome);
  ASSERT_TRUE(reply) << outcome.drop_reason;
  auto parsed = dhcp::parse_udp_frame(*reply).value();
  EXPECT_EQ(parsed.headers.vlans, headers.vlans) << "tags are kept";
  EXPECT_EQ(parsed.headers.src_ip, ip("10.0.1.1"));
  EXPECT_EQ(parsed.headers.src_port, 67);
  EXPECT_EQ(parsed.headers.dst_port, 68);
  EXPECT_EQ(parsed.headers.dst_mac, headers.src_mac) << "unicast to chaddr";
  auto msg = Message::parse(parsed.payload).value();
  EXPECT_EQ(parsed.headers.dst_ip, msg.yiaddr);
  EXPECT_EQ(msg.message_type(), MessageType::offer);

  // Garbage never produces a reply.
  for (std::size_t len = 0; len < frame.size(); len += 7) {
    EXPECT_FALSE(server_->handle_frame(std::span(frame).first(len), now_));
  }
  EXPECT_GT(server_->stats().malformed, 0u);
}

TEST_F(DhcpServerTest, DrainingServesExistingSubscribersOnly) {
  const Ipv4 a = dora(1);
  server_->set_draining(true);
  EXPECT_TRUE(server_->draining());
  // A new subscriber gets no answer, neither to DISCOVER nor to a REQUEST of its own.
  auto fresh = server_->handle(client_message(MessageType::discover, 2), now_);
  EXPECT_FALSE(fresh.reply);
  EXPECT_EQ(fresh.drop_reason, DhcpServer::kDrainingReason);
  auto fresh_request = client_message(MessageType::request, 2);
  set_ip_option(fresh_request, 50, Ipv4(10, 0, 1, 150));
  EXPECT_FALSE(server_->handle(fresh_request, now_).reply);
  EXPECT_FALSE(table_->find(server_->subscriber_of(fresh_request), "residential-ipv4")) << "nothing was offered";
  // The subscriber holding a lease is served: rediscovery and renewal.
  auto again = server_->handle(client_message(MessageType::discover, 1), now_);
  ASSERT_TRUE(again.reply) << again.drop_reason;
  EXPECT_EQ(again.reply->yiaddr, a);
  auto renew = client_message(MessageType::request, 1);
  renew.ciaddr = a;
  auto ack = server_->handle(renew, now_);
  ASSERT_TRUE(ack.reply) << ack.drop_reason;
  EXPECT_EQ(ack.reply->message_type(), MessageType::ack);
  // Resumed: new subscribers are served again.
  server_->set_draining(false);
  EXPECT_NE(dora(2), Ipv4());
}

TEST_F(DhcpServerTest, AckedLeaseSurvivesRestartAndRenewalsFromFastPathAreRecorded) {
  const Ipv4 a = dora(1);
  const auto subscriber = server_->subscriber_of(client_message(MessageType::request, 1));
  const auto acked_expiry = store_->find(a).value()->expires;
  // Within T1 the recorded expiry outlasts the client's next renewal: nothing is written.
  auto early = server_->record_renewal(subscriber, a, acked_expiry + 60s, now_ + 60s);
  ASSERT_TRUE(early.ok()) << early.error().message();
  EXPECT_FALSE(*early);
  EXPECT_EQ(store_->find(a).value()->expires, acked_expiry);
  // Past T1 it is: durably, and in the table.
  const auto later = acked_expiry - 60s;  // after T1 (half the lease) for any lease > 2 min
  auto recorded = server_->record_renewal(subscriber, a, later + 3600s, later);
  ASSERT_TRUE(recorded.ok()) << recorded.error().message();
  EXPECT_TRUE(*recorded);
  EXPECT_EQ(store_->find(a).value()->expires, later + 3600s);
  EXPECT_EQ(table_->find(a)->expires, later + 3600s);
  EXPECT_FALSE(server_->record_renewal(server_->subscriber_of(client_message(MessageType::request, 2)), a, at(9000), now_).ok());

  server_.reset();
  store_.reset();
  open_all();
  auto report = lease::restore_leases(*store_, *allocator_, *table_, now_);
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->active.size(), 1u);
  EXPECT_EQ(report->active[0].address, a);
  auto renew = client_message(MessageType::request, 1);
  renew.ciaddr = a;
  auto ack = server_->handle(renew, now_);
  ASSERT_TRUE(ack.reply) << ack.drop_reason;
  EXPECT_EQ(ack.reply->message_type(), MessageType::ack);
  EXPECT_NE(dora(2), a) << "the restored address is not handed to anyone else";
}

TEST_F(DhcpServerTest, AdmissionHoldsRejectsOrSteersTheAllocation) {
  Admission decision;
  std::vector<std::string> asked;
  server_->set_admission([&](const AdmissionRequest& r) {
    asked.push_back(r.subscriber.to_string() + "@" + std::string(r.pool_id));
    return decision;
  });
  // Pending: no answer, and the outcome names the subscriber to replay.
  decision.verdict = Admission::Verdict::pending;
  auto out = server_->handle(client_message(MessageType::discover, 1), now_);
  EXPECT_FALSE(out.reply);
  ASSERT_TRUE(out.pending);
  EXPECT_EQ(*out.pending, server_->subscriber_of(client_message(MessageType::discover, 1)));
  EXPECT_EQ(asked.size(), 1u);
  EXPECT_EQ(server_->stats().admission_pending, 1u);

  // Rejected: DISCOVER unanswered, REQUEST NAKed, nothing allocated.
  decision.verdict = Admission::Verdict::reject;
  decision.reason = "Access-Reject";
  out = server_->handle(client_message(MessageType::discover, 1), now_);
  EXPECT_FALSE(out.reply);
  EXPECT_FALSE(out.pending);
  EXPECT_NE(out.drop_reason.find("Access-Reject"), std::string::npos) << out.drop_reason;
  auto req = client_message(MessageType::request, 1);
  set_ip_option(req, 50, ip("10.0.1.10"));
  out = server_->handle(req, now_);
  ASSERT_TRUE(out.reply);
  EXPECT_EQ(out.reply->message_type(), MessageType::nak);
  EXPECT_EQ(allocator_->utilisation()[0].assigned, 0u);

  // Accepted with a pool and an address (Framed-Pool, Framed-IP-Address).
  decision = Admission{};
  decision.pool_id = "business";
  decision.address = ip("10.0.2.12");
  out = server_->handle(client_message(MessageType::discover, 1), now_);
  ASSERT_TRUE(out.reply) << out.drop_reason;
  EXPECT_EQ(out.reply->yiaddr, ip("10.0.2.12"));
  req = client_message(MessageType::request, 1);
  set_ip_option(req, 50, ip("10.0.2.12"));
  set_ip_option(req, 54, ip("10.0.1.1"));
  out = server_->handle(req, now_);
  ASSERT_TRUE(out.reply) << out.drop_reason;
  EXPECT_EQ(out.reply->message_type(), MessageType::ack);
  EXPECT_EQ(out.reply->yiaddr, ip("10.0.2.12"));

  // Asking for another address than the authorised one is NAKed.
  req = client_message(MessageType::request, 1);
  req.ciaddr = ip("10.0.2.11");
  out = server_->handle(req, now_);
  ASSERT_TRUE(out.reply);
  EXPECT_EQ(out.reply->message_type(), MessageType::nak);

  // A pool the configuration does not have is a drop that names it.
  decision.pool_id = "gold";
  decision.address.reset();
  out = server_->handle(client_message(MessageType::discover, 2), now_);
  EXPECT_FALSE(out.reply);
  EXPECT_NE(out.drop_reason.find("gold"), std::string::npos) << out.drop_reason;
}

}  // namespace
}  // namespace bngkit::bng::slowpath
