// Sessions: the RADIUS requests they make and read (radius_aaa), and SessionManager's state
// machine driven through fake RADIUS senders, a fake kernel (TrafficControl) and an injected
// clock: authorisation holds and steers DHCP, accounting carries real counters and survives
// server loss and restarts, timeouts and RFC 5176 requests end or change sessions.
#include <boost/asio/io_context.hpp>
#include <bngkit/bng/radius/value.hpp>
#include <bngkit/bng/session/radius_aaa.hpp>
#include <bngkit/bng/session/session_manager.hpp>

#include <gtest/gtest.h>
#include <unistd.h>

#include <deque>
#include <filesystem>
#include <map>

namespace bngkit::bng::session {
namespace {

namespace attr = radius::attr;
using dhcp::Ipv4;
using radius::AcctStatusType;
using radius::AcctTerminateCause;
using radius::Code;
using radius::Packet;
using namespace std::chrono_literals;

constexpr std::int64_t kT0 = 1'700'000'000;
Ipv4 ip(std::string_view s) { return Ipv4::parse(s).value(); }
const dhcp::MacAddress kMac({0x02, 0, 0, 0, 0, 0x01});
const pool::SubscriberKey kKey = pool::SubscriberKey::mac(kMac);

dhcp::Message discover() {
  dhcp::Message m;
  m.op = dhcp::kBootRequest;
  m.chaddr = {0x02, 0, 0, 0, 0, 0x01};
  const std::uint8_t t = 1;
  m.add_option(53, std::span(&t, 1));
  return m;
}

std::uint32_t integer(const Packet& p, std::uint8_t type) {
  const auto* a = p.find(type);
  return a ? radius::decode_integer(a->value()).value() : 0xffffffffu;
}

std::vector<std::uint8_t> wispr(std::uint32_t bps) {
  auto v = radius::encode_integer(bps);
  return {v.begin(), v.end()};
}

// ---- radius_aaa -------------------------------------------------------------------------

Session sample_session() {
  Session s;
  s.id = "00000000000000aa";
  s.subscriber = kKey;
  s.mac = kMac;
  s.circuit_id = "olt1 eth 1/1/1:100";
  s.remote_id = "cpe-42";
  s.username = "02:00:00:00:00:01";
  s.address = ip("10.0.1.50");
  s.started = std::chrono::sys_seconds(std::chrono::seconds(kT0));
  return s;
}

TEST(RadiusAaa, AccessRequestNamesTheSubscriberAndItsLine) {
  AaaOptions o;
  o.nas_identifier = "olt-east-01";
  o.nas_ip = ip("192.0.2.1");
  auto p = access_request(sample_session(), o).value();
  EXPECT_EQ(p.code, Code::kAccessRequest);
  EXPECT_EQ(p.find(attr::kUserName)->text(), "02:00:00:00:00:01");
  EXPECT_EQ(p.find(attr::kUserPassword)->text(), "bng") << "cleartext here: the client hides it per server";
  EXPECT_EQ(integer(p, attr::kServiceType), 2u);
  EXPECT_EQ(integer(p, attr::kNasPortType), 15u);
  EXPECT_EQ(p.find(attr::kCallingStationId)->text(), "02:00:00:00:00:01");
  EXPECT_EQ(p.find(attr::kAcctSessionId)->text(), "00000000000000aa");
  EXPECT_EQ(p.find(attr::kNasIdentifier)->text(), "olt-east-01");
  const auto line = radius::read_access_line(p);
  EXPECT_EQ(line.circuit_id, "olt1 eth 1/1/1:100");
  EXPECT_EQ(line.remote_id, "cpe-42");
}

TEST(RadiusAaa, UserNameFromTheLineFallsBackToTheMac) {
  auto s = sample_session();
  EXPECT_EQ(username_for(s, UserNameSource::circuit_id), "olt1 eth 1/1/1:100");
  EXPECT_EQ(username_for(s, UserNameSource::remote_id), "cpe-42");
  s.circuit_id = std::string("\x01\x02", 2);  // binary: not a user name
  EXPECT_EQ(username_for(s, UserNameSource::circuit_id), "02:00:00:00:00:01");
}

TEST(RadiusAaa, AcceptAttributesAreHonouredAndBadOnesNamed) {
  AaaOptions o;
  o.rate_profiles = {{"gold", {100'000'000, 200'000'000, 0}}};
  Packet accept(Code::kAccessAccept, 1);
  accept.add_ipaddr(attr::kFramedIpAddress, ip("10.0.1.77"));
  ASSERT_TRUE(accept.add(attr::kFramedPool, "business"));
  accept.add_integer(attr::kSessionTimeout, 3600);
  accept.add_integer(attr::kIdleTimeout, 600);
  accept.add_integer(attr::kAcctInterimInterval, 30);  // below RFC 2869's 60 s floor
  ASSERT_TRUE(accept.add(attr::kFilterId, "gold"));
  ASSERT_TRUE(accept.add(attr::kClass, "plan=gold"));
  ASSERT_TRUE(accept.add_vendor(kWisprVendor, kWisprBandwidthMaxDown, wispr(50'000'000)));
  auto a = parse_accept(accept, o).value();
  EXPECT_EQ(a.framed_address, ip("10.0.1.77"));
  EXPECT_EQ(a.framed_pool, "business");
  EXPECT_EQ(a.session_timeout, 3600s);
  EXPECT_EQ(a.idle_timeout, 600s);
  EXPECT_EQ(a.interim_interval, 60s);
  EXPECT_EQ(a.rate.up_bps, 100'000'000u) << "from the gold profile";
  EXPECT_EQ(a.rate.down_bps, 50'000'000u) << "WISPr wins over the profile";
  EXPECT_EQ(a.classes, std::vector<std::string>{"plan=gold"});

  Packet nas_chooses(Code::kAccessAccept, 1);
  nas_chooses.add_ipaddr(attr::kFramedIpAddress, ip("255.255.255.254"));
  EXPECT_FALSE(parse_accept(nas_chooses, o).value().framed_address);

  Packet bad(Code::kAccessAccept, 1);
  ASSERT_TRUE(bad.add(attr::kSessionTimeout, "xx"));
  auto refused = parse_accept(bad, o);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message().find("Session-Timeout"), std::string::npos) << refused.error().message();
}

TEST(RadiusAaa, AccountingCarriesCountersWithGigawordsAndTheCause) {
  auto s = sample_session();
  s.counters = {10, (5ull << 32) + 7, 20, 9000, 0, 0};
  s.authorization.classes = {"plan=gold"};
  const auto now = s.started + 125s;
  auto stop = accounting_request(s, AcctStatusType::kStop, now, {}, AcctTerminateCause::kIdleTimeout).value();
  EXPECT_EQ(integer(stop, attr::kAcctStatusType), 2u);
  EXPECT_EQ(integer(stop, attr::kAcctSessionTime), 125u);
  EXPECT_EQ(integer(stop, attr::kAcctInputOctets), 7u);
  EXPECT_EQ(integer(stop, attr::kAcctInputGigawords), 5u);
  EXPECT_EQ(integer(stop, attr::kAcctOutputOctets), 9000u);
  EXPECT_EQ(integer(stop, attr::kAcctInputPackets), 10u);
  EXPECT_EQ(integer(stop, attr::kAcctOutputPackets), 20u);
  EXPECT_EQ(integer(stop, attr::kAcctTerminateCause), 4u);
  EXPECT_EQ(stop.find(attr::kClass)->text(), "plan=gold");
  EXPECT_EQ(Ipv4::from_bytes(std::span(stop.find(attr::kFramedIpAddress)->value()).first<4>()), ip("10.0.1.50"));
  auto start = accounting_request(s, AcctStatusType::kStart, now, {}).value();
  EXPECT_EQ(start.find(attr::kAcctInputOctets), nullptr) << "a Start has no counters";
  EXPECT_EQ(start.find(attr::kAcctTerminateCause), nullptr);
}

TEST(RadiusAaa, DaeRequestsNameSessionsAndCoaChangesOnlyWhatItMay) {
  const auto s = sample_session();
  Packet dm(Code::kDisconnectRequest, 1);
  EXPECT_FALSE(identifies_a_session(dm));
  ASSERT_TRUE(dm.add(attr::kAcctSessionId, s.id));
  EXPECT_TRUE(names_session(dm, s));
  dm.add_ipaddr(attr::kFramedIpAddress, ip("10.0.1.51"));
  EXPECT_FALSE(names_session(dm, s)) << "every identification attribute must match";

  Packet coa(Code::kCoaRequest, 2);
  ASSERT_TRUE(coa.add(attr::kUserName, s.username));
  ASSERT_TRUE(coa.add_vendor(kWisprVendor, kWisprBandwidthMaxUp, wispr(2'000'000)));
  coa.add_integer(attr::kSessionTimeout, 60);
  auto changed = apply_coa(coa, {}, {});
  ASSERT_TRUE(std::holds_alternative<Authorization>(changed));
  EXPECT_EQ(std::get<Authorization>(changed).rate.up_bps, 2'000'000u);
  EXPECT_EQ(std::get<Authorization>(changed).session_timeout, 60s);

  coa.add_ipaddr(attr::kFramedIpNetmask, ip("255.255.255.0"));
  auto refused = apply_coa(coa, {}, {});
  ASSERT_TRUE(std::holds_alternative<CoaRefusal>(refused));
  EXPECT_EQ(std::get<CoaRefusal>(refused).cause, radius::ErrorCause::kUnsupportedAttribute);
}

// ---- SessionManager ---------------------------------------------------------------------

// The kernel's per-subscriber counters and rates.
class FakeTraffic : public TrafficControl {
 public:
  Result<void> apply(Ipv4 a, const RatePolicy& rate) override {
    rates[a] = rate;
    counters.try_emplace(a);
    return ok();
  }
  Result<TrafficCounters> read(Ipv4 a) override {
    ++reads;
    auto it = counters.find(a);
    if (it == counters.end()) return make_error(std::errc::no_such_file_or_directory, "no entry");
    return it->second;
  }
  Result<TrafficCounters> remove(Ipv4 a) override {
    auto c = read(a);
    counters.erase(a);
    rates.erase(a);
    return c;
  }
  std::vector<Result<TrafficCounters>> read_many(std::span<const Ipv4> addresses) override {
    ++bulk_reads;
    const auto before = reads;
    auto out = TrafficControl::read_many(addresses);  // read() for each
    reads = before;                                   // counted as one bulk read
    return out;
  }
  std::map<Ipv4, RatePolicy> rates;
  std::map<Ipv4, TrafficCounters> counters;
  std::size_t reads = 0, bulk_reads = 0;
};

// A RADIUS server whose answers the test decides; requests wait until answered.
struct FakeRadius {
  struct Waiting {
    Packet request;
    std::function<void(Result<Packet>)> done;
  };
  std::deque<Waiting> waiting;
  std::vector<Packet> seen;
  bool down = false;  // answer every request with "no server answered"

  RadiusSend sender() {
    return [this](Packet p, std::function<void(Result<Packet>)> done) {
      seen.push_back(p);
      if (down) {
        done(make_error(std::errc::timed_out, "every RADIUS server timed out"));
        return;
      }
      waiting.push_back({std::move(p), std::move(done)});
    };
  }
  void answer(Code code, const std::function<void(Packet&)>& fill = {}) {
    ASSERT_FALSE(waiting.empty());
    auto w = std::move(waiting.front());
    waiting.pop_front();
    Packet reply = w.request.make_response(code);
    if (fill) fill(reply);
    w.done(reply);
  }
  void answer_all(Code code) {
    while (!waiting.empty()) answer(code);
  }
  std::vector<std::uint32_t> status_types() const {
    std::vector<std::uint32_t> out;
    for (const auto& p : seen) {
      if (p.code == Code::kAccountingRequest) out.push_back(integer(p, attr::kAcctStatusType));
    }
    return out;
  }
};

lease::Lease bound_lease(Ipv4 address) {
  lease::Lease l;
  l.address = address;
  l.pool_id = "residential-ipv4";
  l.subscriber = kKey;
  l.state = lease::LeaseState::bound;
  return l;
}

class SessionManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("bngkit-session-" + std::to_string(::getpid()) + "-" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    options_.database = dir_ / "sessions.db";
    options_.authorize = true;
    options_.accounting = true;
    options_.interim_interval = 300s;
    options_.tick = 5ms;
    options_.accounting_retry = 10s;
    options_.clock = [this] { return now_; };
  }
  void TearDown() override {
    manager_.reset();
    std::filesystem::remove_all(dir_);
  }

  void make(std::vector<lease::Lease> bound = {}) {
    SessionHooks hooks;
    hooks.authenticate = auth_.sender();
    hooks.account = acct_.sender();
    hooks.traffic = &traffic_;
    hooks.end_lease = [this](Ipv4 a) -> Result<void> {
      ended_leases_.push_back(a);
      // The gateway reports the end back, as Gateway::disconnect does.
      manager_->lease_ended(bound_lease(a), slowpath::EndReason::disconnected);
      return ok();
    };
    hooks.admission_decided = [this](const pool::SubscriberKey& k) { decided_.push_back(k); };
    manager_ = SessionManager::create(io_, options_, hooks).value();
    auto restored = manager_->start(bound);
    ASSERT_TRUE(restored);
    restored_ = *restored;
    settle();
  }
  // Runs what is queued on the io_context (posted sends, one tick of the timer).
  // Runs the timer for 30 ms, then whatever is still ready: a durable commit (fsync) can
  // outlast the 30 ms on a loaded machine, and the sends it posts must not slip into the
  // test's next step.
  void settle() {
    io_.restart();
    io_.run_for(30ms);
    io_.restart();
    io_.poll();
  }
  // Runs the io loop until `done` (accounting goes out after a durable commit, which takes
  // longer than settle() on a loaded machine), for at most 5 s.
  bool settle_until(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!done() && std::chrono::steady_clock::now() < deadline) settle();
    return done();
  }
  bool last_accounting_is(std::uint32_t status_type) const {
    const auto types = acct_.status_types();
    return !types.empty() && types.back() == status_type;
  }
  RestoreSummary restored_;  // what the last make()'s start() reported
  slowpath::Admission admit() {
    const auto m = discover();
    return manager_->admit(slowpath::AdmissionRequest{m, kKey, "residential-ipv4"});
  }
  // Authorises the test subscriber with `fill` in the Accept and binds 10.0.1.50.
  void activate(const std::function<void(Packet&)>& fill = {}) {
    ASSERT_EQ(admit().verdict, slowpath::Admission::Verdict::pending);
    settle();
    auth_.answer(Code::kAccessAccept, fill);
    settle();
    ASSERT_EQ(admit().verdict, slowpath::Admission::Verdict::accept);
    manager_->lease_bound(bound_lease(ip("10.0.1.50")));
    settle();
  }

  std::filesystem::path dir_;
  std::chrono::sys_seconds now_{std::chrono::seconds(kT0)};
  boost::asio::io_context io_;
  SessionOptions options_;
  FakeRadius auth_, acct_;
  FakeTraffic traffic_;
  std::vector<Ipv4> ended_leases_;
  std::vector<pool::SubscriberKey> decided_;
  std::unique_ptr<SessionManager> manager_;
};

constexpr auto kOn = static_cast<std::uint32_t>(AcctStatusType::kAccountingOn);
constexpr auto kStart = static_cast<std::uint32_t>(AcctStatusType::kStart);
constexpr auto kInterim = static_cast<std::uint32_t>(AcctStatusType::kInterimUpdate);
constexpr auto kStop = static_cast<std::uint32_t>(AcctStatusType::kStop);

TEST_F(SessionManagerTest, AcceptedSubscriberIsAccountedFromStartToStopWithKernelCounters) {
  make();
  EXPECT_EQ(acct_.status_types(), std::vector<std::uint32_t>{kOn}) << "a fresh NAS says Accounting-On";
  acct_.answer_all(Code::kAccountingResponse);
  activate([](Packet& p) {
    p.add_ipaddr(attr::kFramedIpAddress, ip("10.0.1.50"));
    ASSERT_TRUE(p.add(attr::kClass, "plan=gold"));
    ASSERT_TRUE(p.add_vendor(kWisprVendor, kWisprBandwidthMaxUp, wispr(2'000'000)));
  });
  ASSERT_EQ(auth_.seen.size(), 1u);
  EXPECT_EQ(decided_, std::vector<pool::SubscriberKey>{kKey}) << "the held DISCOVER is replayed";
  const auto admitted = admit();
  EXPECT_EQ(admitted.address, ip("10.0.1.50")) << "Framed-IP-Address steers the allocation";
  EXPECT_EQ(traffic_.rates[ip("10.0.1.50")].up_bps, 2'000'000u) << "the rate is enforced in the kernel";
  EXPECT_EQ(acct_.status_types(), (std::vector<std::uint32_t>{kOn, kStart}));
  EXPECT_EQ(acct_.seen.back().find(attr::kClass)->text(), "plan=gold") << "Class is echoed";
  acct_.answer_all(Code::kAccountingResponse);

  // Traffic flows; after the interim interval an Interim-Update carries the counters.
  traffic_.counters[ip("10.0.1.50")] = {3, 1500, 4, 6000, 0, 0};
  now_ += 301s;
  settle();
  ASSERT_EQ(acct_.status_types().back(), kInterim);
  EXPECT_EQ(integer(acct_.seen.back(), attr::kAcctInputOctets), 1500u);
  EXPECT_EQ(integer(acct_.seen.back(), attr::kAcctOutputPackets), 4u);
  acct_.answer_all(Code::kAccountingResponse);

  // The client releases: Stop with User-Request and the final counters.
  traffic_.counters[ip("10.0.1.50")] = {5, 2500, 6, 9000, 0, 0};
  manager_->lease_ended(bound_lease(ip("10.0.1.50")), slowpath::EndReason::released);
  settle();
  ASSERT_EQ(acct_.status_types().back(), kStop);
  EXPECT_EQ(integer(acct_.seen.back(), attr::kAcctTerminateCause), 1u);
  EXPECT_EQ(integer(acct_.seen.back(), attr::kAcctOutputOctets), 9000u);
  EXPECT_EQ(integer(acct_.seen.back(), attr::kAcctSessionTime), 301u);
  EXPECT_TRUE(traffic_.rates.empty()) << "the kernel entry is removed";
  acct_.answer_all(Code::kAccountingResponse);
  settle();
  const auto st = manager_->stats();
  EXPECT_EQ(st.active, 0u);
  EXPECT_EQ(st.access_accepts, 1u);
  EXPECT_EQ(st.accounting_sent, 4u);
  EXPECT_EQ(st.accounting_queued, 0u);
}

// Reading every session's counters costs a dump of the kernel map: once per
// counters_interval, however often the timer ticks.
TEST_F(SessionManagerTest, EveryCounterIsReadInOnePassPerInterval) {
  options_.counters_interval = 10s;
  make();
  acct_.answer_all(Code::kAccountingResponse);
  activate();
  const auto bulk = traffic_.bulk_reads;
  now_ += 5s;
  settle();  // several ticks (5 ms each), all within the interval
  EXPECT_EQ(traffic_.bulk_reads, bulk);
  now_ += 5s;
  settle();
  EXPECT_EQ(traffic_.bulk_reads, bulk + 1) << "one read of all per interval";
  EXPECT_EQ(traffic_.reads, 0u) << "and none one by one";

  // What the API shows is read when asked, not the last interval's numbers.
  traffic_.counters[ip("10.0.1.50")] = {7, 700, 8, 800, 0, 0};
  const auto id = manager_->sessions().front().id;
  EXPECT_EQ(manager_->find(id)->counters.octets_down, 800u);
  EXPECT_EQ(manager_->sessions().front().counters.octets_up, 700u);
}

// Traffic the last full read did not see keeps a session from ending idle: the session is
// read before it is ended.
TEST_F(SessionManagerTest, AnIdleCheckReadsTheSessionsCountersFirst) {
  options_.counters_interval = 3600s;
  make();
  activate([](Packet& p) { p.add_integer(attr::kIdleTimeout, 30); });
  now_ += 20s;
  settle();
  traffic_.counters[ip("10.0.1.50")] = {2, 100, 2, 100, 0, 0};
  now_ += 15s;  // 35 s since the last activity the manager saw, 30 s allowed
  settle();
  EXPECT_GT(traffic_.reads, 0u) << "read before ending it idle";
  EXPECT_TRUE(ended_leases_.empty()) << "it was not idle";
  EXPECT_EQ(manager_->stats().ended_idle_timeout, 0u);
  now_ += 31s;  // no traffic since: idle
  ASSERT_TRUE(settle_until([&] { return !ended_leases_.empty(); }));
  EXPECT_EQ(manager_->stats().ended_idle_timeout, 1u);
}

// An Interim carries the counters of its moment, not those of the last full read.
TEST_F(SessionManagerTest, AnInterimReadsTheSessionsCountersThen) {
  options_.counters_interval = 3600s;
  make();
  acct_.answer_all(Code::kAccountingResponse);
  activate();
  acct_.answer_all(Code::kAccountingResponse);
  traffic_.counters[ip("10.0.1.50")] = {3, 1500, 4, 6000, 0, 0};
  now_ += 301s;
  ASSERT_TRUE(settle_until([&] { return last_accounting_is(kInterim); }));
  EXPECT_EQ(integer(acct_.seen.back(), attr::kAcctInputOctets), 1500u);
  EXPECT_EQ(integer(acct_.seen.back(), attr::kAcctOutputOctets), 6000u);
}

TEST_F(SessionManagerTest, RejectedSubscriberGetsNoAddressUntilTheHoldDownEnds) {
  make();
  ASSERT_EQ(admit().verdict, slowpath::Admission::Verdict::pending);
  EXPECT_EQ(admit().verdict, slowpath::Admission::Verdict::pending) << "one Access-Request at a time";
  settle();
  EXPECT_EQ(auth_.seen.size(), 1u);
  auth_.answer(Code::kAccessReject, [](Packet& p) { ASSERT_TRUE(p.add(attr::kReplyMessage, "unpaid")); });
  settle();
  auto a = admit();
  EXPECT_EQ(a.verdict, slowpath::Admission::Verdict::reject);
  EXPECT_NE(a.reason.find("unpaid"), std::string::npos) << a.reason;
  EXPECT_EQ(manager_->stats().access_rejects, 1u);
  now_ += options_.reject_hold_down;
  settle();
  EXPECT_EQ(admit().verdict, slowpath::Admission::Verdict::pending) << "asked again after the hold-down";
}

TEST_F(SessionManagerTest, NoRadiusAnswerIsAShortRejectAndCounted) {
  auth_.down = true;
  make();
  EXPECT_EQ(admit().verdict, slowpath::Admission::Verdict::pending);
  settle();
  EXPECT_EQ(admit().verdict, slowpath::Admission::Verdict::reject);
  EXPECT_EQ(manager_->stats().access_failures, 1u);
  now_ += options_.unavailable_hold_down;
  settle();
  EXPECT_EQ(admit().verdict, slowpath::Admission::Verdict::pending);
}

TEST_F(SessionManagerTest, TheSessionTableIsBoundedAndNewSubscribersBeyondAreRejected) {
  options_.authorize = false;
  options_.max_sessions = 2;
  make();
  auto admit_mac = [this](std::uint8_t last) {
    auto m = discover();
    m.chaddr[5] = last;
    const auto key = pool::SubscriberKey::mac(std::array<std::uint8_t, 6>{0x02, 0, 0, 0, 0, last});
    return manager_->admit(slowpath::AdmissionRequest{m, key, "residential-ipv4"});
  };
  EXPECT_EQ(admit_mac(1).verdict, slowpath::Admission::Verdict::accept);
  EXPECT_EQ(admit_mac(2).verdict, slowpath::Admission::Verdict::accept);
  // A DISCOVER from a third (perhaps made-up) MAC would add a session: refused, counted.
  const auto third = admit_mac(3);
  EXPECT_EQ(third.verdict, slowpath::Admission::Verdict::reject);
  EXPECT_EQ(third.reason, "session table full (2 sessions)");
  EXPECT_EQ(manager_->stats().refused_full, 1u);
  EXPECT_EQ(manager_->sessions().size(), 2u);
  // Subscribers that have a session are still served.
  EXPECT_EQ(admit_mac(1).verdict, slowpath::Admission::Verdict::accept);
  // Sessions that never got a lease are forgotten after a while: room again.
  now_ += std::chrono::minutes(6);
  settle();
  EXPECT_EQ(admit_mac(3).verdict, slowpath::Admission::Verdict::accept);
  EXPECT_EQ(manager_->stats().refused_full, 1u);
}

TEST_F(SessionManagerTest, AccountingWaitsOutAServerOutageAndARestart) {
  acct_.down = true;
  make();
  activate();
  EXPECT_GE(manager_->stats().accounting_failures, 2u);
  EXPECT_EQ(manager_->stats().accounting_queued, 2u) << "Accounting-On and Start kept";
  manager_.reset();  // the daemon stops with records undelivered

  acct_.down = false;
  acct_.seen.clear();
  now_ += 40s;
  make({bound_lease(ip("10.0.1.50"))});
  // Restored: the session is active again (no new Start, no Accounting-On: it carried over),
  // and both old records are delivered, stamped with how long they waited.
  ASSERT_EQ(acct_.status_types(), (std::vector<std::uint32_t>{kOn, kStart}));
  EXPECT_EQ(integer(acct_.seen[1], attr::kAcctDelayTime), 40u);
  acct_.answer_all(Code::kAccountingResponse);
  settle();
  EXPECT_EQ(manager_->stats().accounting_queued, 0u);
  EXPECT_EQ(manager_->stats().active, 1u);
  EXPECT_EQ(traffic_.rates.count(ip("10.0.1.50")), 1u) << "the rate is applied again";
  EXPECT_EQ(auth_.seen.size(), 1u) << "no new authorisation for a restored session";
  EXPECT_EQ(restored_.restored_active, 1u);
  EXPECT_EQ(restored_.accounting_resumed, 2u);
  EXPECT_EQ(restored_.started, 0u);
  EXPECT_EQ(restored_.ended_while_down, 0u);
  EXPECT_FALSE(restored_.accounting_on);
}

// SIGKILL after the server logged a Start but before its acknowledgement was on disk: the
// restart sends that record again (at-least-once: the same Acct-Session-Id and
// Event-Timestamp, marked by Acct-Delay-Time), and makes no new Start for the session.
TEST_F(SessionManagerTest, AStartInFlightAtACrashIsSentAgainAsTheSameRecordNotANewStart) {
  make();
  acct_.answer_all(Code::kAccountingResponse);  // Accounting-On
  settle();
  activate();
  ASSERT_EQ(acct_.status_types().back(), kStart);
  const Packet first = acct_.seen.back();
  manager_.reset();  // dies with the Start unacknowledged
  acct_.waiting.clear();
  acct_.seen.clear();
  now_ += 7s;
  make({bound_lease(ip("10.0.1.50"))});
  ASSERT_EQ(acct_.status_types(), std::vector<std::uint32_t>{kStart}) << "the one record, no Accounting-On";
  const Packet& again = acct_.seen.front();
  EXPECT_EQ(again.find(attr::kAcctSessionId)->text(), first.find(attr::kAcctSessionId)->text());
  EXPECT_EQ(integer(again, attr::kEventTimestamp), integer(first, attr::kEventTimestamp));
  EXPECT_EQ(integer(again, attr::kAcctDelayTime), 7u);
  EXPECT_EQ(restored_.restored_active, 1u);
  EXPECT_EQ(restored_.accounting_resumed, 1u);
  EXPECT_EQ(restored_.started, 0u);
  acct_.answer_all(Code::kAccountingResponse);
  settle();
  EXPECT_EQ(manager_->stats().accounting_queued, 0u);
  // Acknowledged now: a further restart sends nothing.
  manager_.reset();
  acct_.seen.clear();
  make({bound_lease(ip("10.0.1.50"))});
  EXPECT_TRUE(acct_.seen.empty());
  EXPECT_EQ(restored_.accounting_resumed, 0u);
}

TEST_F(SessionManagerTest, ASessionWhoseLeaseEndedWhileDownIsStopped) {
  make();
  activate();
  acct_.answer_all(Code::kAccountingResponse);
  manager_.reset();
  acct_.seen.clear();
  make({});  // the lease is gone
  EXPECT_EQ(restored_.ended_while_down, 1u);
  EXPECT_EQ(restored_.restored_active, 0u);
  EXPECT_TRUE(restored_.accounting_on) << "nothing carried over";
  const auto types = acct_.status_types();
  ASSERT_FALSE(types.empty());
  EXPECT_EQ(types.front(), kStop);
  EXPECT_EQ(integer(acct_.seen.front(), attr::kAcctTerminateCause), 2u) << "Lost-Carrier";
  EXPECT_EQ(manager_->stats().active, 0u);
}

TEST_F(SessionManagerTest, TimeoutsEndTheLeaseWithTheirCause) {
  make();
  activate([](Packet& p) {
    p.add_integer(attr::kSessionTimeout, 100);
    p.add_integer(attr::kIdleTimeout, 30);
  });
  // Traffic keeps it from idling...
  for (int i = 1; i <= 3; ++i) {
    traffic_.counters[ip("10.0.1.50")].packets_up = static_cast<std::uint64_t>(i);
    now_ += 20s;
    settle();
  }
  EXPECT_TRUE(ended_leases_.empty());
  // ... silence does not.
  now_ += 31s;
  settle();
  ASSERT_EQ(ended_leases_, std::vector<Ipv4>{ip("10.0.1.50")});
  EXPECT_EQ(acct_.status_types().back(), kStop);
  EXPECT_EQ(integer(acct_.seen.back(), attr::kAcctTerminateCause), 4u) << "Idle-Timeout";
  EXPECT_EQ(manager_->stats().ended_idle_timeout, 1u);

  ended_leases_.clear();
  activate([](Packet& p) { p.add_integer(attr::kSessionTimeout, 100); });
  now_ += 100s;
  settle();
  ASSERT_EQ(ended_leases_, std::vector<Ipv4>{ip("10.0.1.50")});
  EXPECT_EQ(integer(acct_.seen.back(), attr::kAcctTerminateCause), 5u) << "Session-Timeout";
}

TEST_F(SessionManagerTest, DisconnectAndCoaRequests) {
  options_.aaa.nas_identifier = "olt-east-01";
  make();
  activate();
  const auto id = manager_->sessions().front().id;

  Packet unknown(Code::kDisconnectRequest, 1);
  ASSERT_TRUE(unknown.add(attr::kAcctSessionId, "ffffffffffffffff"));
  auto answer = manager_->handle_dae(unknown);
  EXPECT_FALSE(answer.ack);
  EXPECT_EQ(answer.cause, radius::ErrorCause::kSessionContextNotFound);

  Packet elsewhere(Code::kDisconnectRequest, 2);
  ASSERT_TRUE(elsewhere.add(attr::kAcctSessionId, id));
  ASSERT_TRUE(elsewhere.add(attr::kNasIdentifier, "olt-west-09"));
  EXPECT_EQ(manager_->handle_dae(elsewhere).cause, radius::ErrorCause::kNasIdentificationMismatch);

  Packet coa(Code::kCoaRequest, 3);
  coa.add_ipaddr(attr::kFramedIpAddress, ip("10.0.1.50"));
  ASSERT_TRUE(coa.add_vendor(kWisprVendor, kWisprBandwidthMaxDown, wispr(8'000'000)));
  EXPECT_TRUE(manager_->handle_dae(coa).ack);
  EXPECT_EQ(traffic_.rates[ip("10.0.1.50")].down_bps, 8'000'000u) << "CoA changes the kernel rate";
  EXPECT_EQ(manager_->find(id)->authorization.rate.down_bps, 8'000'000u);

  Packet bad_coa(Code::kCoaRequest, 4);
  bad_coa.add_ipaddr(attr::kFramedIpAddress, ip("10.0.1.50"));
  bad_coa.add_integer(attr::kFramedMtu, 1400);
  answer = manager_->handle_dae(bad_coa);
  EXPECT_FALSE(answer.ack);
  EXPECT_EQ(answer.cause, radius::ErrorCause::kUnsupportedAttribute);

  Packet dm(Code::kDisconnectRequest, 5);
  ASSERT_TRUE(dm.add(attr::kAcctSessionId, id));
  EXPECT_TRUE(manager_->handle_dae(dm).ack);
  EXPECT_EQ(ended_leases_, std::vector<Ipv4>{ip("10.0.1.50")}) << "the lease (and its cache entry) ends";
  ASSERT_TRUE(settle_until([&] { return last_accounting_is(kStop); }));
  EXPECT_EQ(integer(acct_.seen.back(), attr::kAcctTerminateCause), 6u) << "Admin-Reset";
  EXPECT_FALSE(manager_->find(id));
  const auto st = manager_->stats();
  EXPECT_EQ(st.dae_disconnects, 1u);
  EXPECT_EQ(st.dae_coas, 1u);
  EXPECT_EQ(st.dae_naks, 3u);
}

TEST_F(SessionManagerTest, AFullAccountingQueueDropsTheOldestInterimFirst) {
  options_.accounting_queue_limit = 3;
  options_.interim_interval = 60s;
  acct_.down = true;
  make();     // Accounting-On
  activate();  // Start
  now_ += 61s;
  settle();  // Interim 1 (queue full: On, Start, Interim)
  now_ += 61s;
  settle();  // Interim 2 replaces Interim 1
  EXPECT_EQ(manager_->stats().accounting_queued, 3u);
  EXPECT_EQ(manager_->stats().accounting_dropped, 1u);
  acct_.down = false;
  acct_.seen.clear();
  now_ += options_.accounting_retry;
  settle();
  EXPECT_EQ(acct_.status_types(), (std::vector<std::uint32_t>{kOn, kStart, kInterim}));
  EXPECT_EQ(integer(acct_.seen.back(), attr::kAcctSessionTime), 122u) << "the newer interim was kept";
}

TEST_F(SessionManagerTest, ALeaseBoundJustBeforeACrashGetsItsSessionStartedAtTheNextStart) {
  make();
  ASSERT_EQ(admit().verdict, slowpath::Admission::Verdict::pending);
  settle();
  auth_.answer(Code::kAccessAccept);
  settle();  // authorised and stored; the lease is bound, then the daemon dies before it hears
  const auto id = manager_->sessions().front().id;
  manager_.reset();
  acct_.seen.clear();
  make({bound_lease(ip("10.0.1.50"))});
  ASSERT_EQ(manager_->sessions().size(), 1u);
  EXPECT_EQ(manager_->sessions().front().id, id);
  EXPECT_EQ(manager_->sessions().front().state, State::active);
  EXPECT_EQ(manager_->sessions().front().address, ip("10.0.1.50"));
  EXPECT_EQ(acct_.status_types().back(), kStart);
  EXPECT_EQ(auth_.seen.size(), 1u) << "no second authorisation";
  EXPECT_EQ(restored_.started, 1u) << "a bound lease without an active session";
  EXPECT_EQ(restored_.restored_active, 0u);
}

TEST_F(SessionManagerTest, AFloodOfUnknownSubscribersIsBounded) {
  options_.max_authorizing = 2;
  options_.max_rejected = 1;
  make();
  auto admit_mac = [&](std::uint8_t last) {
    auto m = discover();
    m.chaddr[5] = last;
    const auto key = pool::SubscriberKey::mac(dhcp::MacAddress({0x02, 0, 0, 0, 0, last}));
    return manager_->admit(slowpath::AdmissionRequest{m, key, "residential-ipv4"});
  };
  EXPECT_EQ(admit_mac(10).verdict, slowpath::Admission::Verdict::pending);
  EXPECT_EQ(admit_mac(11).verdict, slowpath::Admission::Verdict::pending);
  const auto third = admit_mac(12);
  EXPECT_EQ(third.verdict, slowpath::Admission::Verdict::reject) << "no third Access-Request in flight";
  EXPECT_EQ(manager_->stats().authorization_overflows, 1u);
  settle();
  auth_.answer_all(Code::kAccessReject);
  settle();
  EXPECT_EQ(manager_->stats().rejected, 1u) << "only max_rejected rejections are remembered";
  EXPECT_EQ(admit_mac(12).verdict, slowpath::Admission::Verdict::pending) << "room again";
}

TEST_F(SessionManagerTest, WithoutRadiusEverySubscriberIsAuthorisedAndStillAccounted) {
  options_.authorize = false;
  make();
  EXPECT_EQ(admit().verdict, slowpath::Admission::Verdict::accept);
  manager_->lease_bound(bound_lease(ip("10.0.1.50")));
  settle();
  EXPECT_TRUE(auth_.seen.empty());
  EXPECT_EQ(acct_.status_types(), (std::vector<std::uint32_t>{kOn, kStart}));
  ASSERT_EQ(manager_->sessions().size(), 1u);
  EXPECT_EQ(manager_->sessions().front().state, State::active);
}

}  // namespace
}  // namespace bngkit::bng::session
