// The FRR side of the route announcer as data: bgpd's running config and summary JSON
// (fixtures captured from FRR 8.4.4's vtysh), the desired-vs-actual plan, speaker checks,
// and the timed process runner vtysh goes through. No FRR needed.
#include <bngkit/bng/bgp/route_announcer.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "bgp/process.hpp"

namespace bngkit::bng::bgp {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::string fixture(const std::string& name) {
  std::ifstream in(std::filesystem::path(BNGKIT_FRR_FIXTURES) / name);
  EXPECT_TRUE(in) << name;
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

Prefix prefix(std::string_view text) {
  auto p = Prefix::parse(text);
  EXPECT_TRUE(p) << text;
  return p.value_or(Prefix{});
}

FrrBgpConfig running(const std::string& name) {
  auto c = parse_running_config(fixture(name));
  EXPECT_TRUE(c) << c.error().message();
  return c ? *c : FrrBgpConfig{};
}

SpeakerConfig bng_speaker() { return {65001, "10.1.1.10", {{"10.99.0.2", 65000}}}; }

TEST(FrrRunningConfig, BngInstance) {
  const auto c = running("running_config_bng.txt");
  EXPECT_EQ(c.local_as, 65001u);
  EXPECT_EQ(c.router_id, "10.1.1.10");
  EXPECT_FALSE(c.ebgp_requires_policy);
  EXPECT_FALSE(c.network_import_check);
  EXPECT_THAT(c.neighbors, ElementsAre(FrrNeighbor{"10.99.0.2", "65000", ""},
                                       FrrNeighbor{"10.99.0.9", "65009", "bngkit"}));
  EXPECT_THAT(c.networks, ElementsAre(prefix("10.0.1.0/24"), prefix("10.0.3.0/24"), prefix("10.0.4.0/24")));
}

TEST(FrrRunningConfig, FourByteAsDescriptionsAndOnlyIpv4Networks) {
  const auto c = running("running_config_4byte_as.txt");
  EXPECT_EQ(c.local_as, 4200000001u);
  EXPECT_THAT(c.neighbors, ElementsAre(FrrNeighbor{"10.99.0.2", "65000", "bngkit"},
                                       FrrNeighbor{"192.0.2.7", "65007", ""}));
  // The ipv6 unicast network is not one of ours to count.
  EXPECT_THAT(c.networks, ElementsAre(prefix("10.0.1.0/24"), prefix("10.0.1.150/32"), prefix("100.64.0.0/22")));
}

TEST(FrrRunningConfig, NoInstanceAndDefaults) {
  const auto c = running("running_config_empty.txt");
  EXPECT_FALSE(c.local_as);
  EXPECT_TRUE(c.ebgp_requires_policy);
  EXPECT_TRUE(c.network_import_check);
  EXPECT_THAT(c.networks, IsEmpty());
  const auto upstream = running("running_config_upstream.txt");
  EXPECT_EQ(upstream.local_as, 65000u);
  EXPECT_THAT(upstream.networks, IsEmpty());
}

TEST(FrrRunningConfig, VrfInstancesAreIgnoredAndBadLinesNamed) {
  const auto c = parse_running_config(
      "router bgp 65010 vrf cust\n address-family ipv4 unicast\n  network 192.0.2.0/24\n exit-address-family\nexit\n"
      "!\nrouter bgp 65001\n address-family ipv4 unicast\n  network 10.0.2.0/24 route-map tag\n"
      " exit-address-family\nexit\n");
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->local_as, 65001u);
  EXPECT_THAT(c->networks, ElementsAre(prefix("10.0.2.0/24")));

  auto bad = parse_running_config("router bgp 65001\n address-family ipv4 unicast\n  network 10.0.2.0/40\n");
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad.error().message(), HasSubstr("line 3: \"10.0.2.0/40\" is not an IPv4 prefix"));
  auto bad_as = parse_running_config("router bgp sixty\n");
  ASSERT_FALSE(bad_as);
  EXPECT_THAT(bad_as.error().message(), HasSubstr("\"sixty\" is not an AS number"));
}

// Flags bgpd prints only when they differ from the `frr defaults` profile (captured with
// `frr defaults datacenter` in bgpd's config file).
TEST(FrrRunningConfig, FlagsFollowTheDefaultsProfile) {
  const std::string datacenter =
      "frr version 8.4.4\nfrr defaults datacenter\nhostname vm\nbgp no-rib\n!\n"
      "router bgp 65001\n neighbor 10.9.9.9 remote-as 65000\nexit\n!\nend\n";
  auto dc = parse_running_config(datacenter);
  ASSERT_TRUE(dc) << dc.error().message();
  EXPECT_FALSE(dc->ebgp_requires_policy);
  EXPECT_TRUE(dc->network_import_check);
  auto dc_on = parse_running_config(
      "frr defaults datacenter\nrouter bgp 65001\n bgp ebgp-requires-policy\n no bgp network import-check\nexit\n");
  ASSERT_TRUE(dc_on);
  EXPECT_TRUE(dc_on->ebgp_requires_policy);
  EXPECT_FALSE(dc_on->network_import_check);
  // In step under the datacenter profile too: nothing to re-apply every round.
  auto in_step = *dc;
  in_step.router_id = "10.1.1.10";
  in_step.network_import_check = false;
  in_step.neighbors = {FrrNeighbor{"10.99.0.2", "65000", "bngkit"}};
  EXPECT_TRUE(plan_changes(bng_speaker(), {}, in_step).empty());
}

// Captured from bgpd 8.4.4: with `no bgp default ipv4-unicast` neighbours need `activate`
// in the address family; with the default, only a deactivation is printed.
TEST(FrrRunningConfig, Ipv4UnicastActivation) {
  const auto off = parse_running_config(
      "router bgp 65001\n no bgp default ipv4-unicast\n neighbor 10.99.0.2 remote-as 65000\n"
      " neighbor 10.99.0.3 remote-as 65000\n neighbor 10.99.0.3 description bngkit\n !\n"
      " address-family ipv4 unicast\n  neighbor 10.99.0.2 activate\n exit-address-family\nexit\n");
  ASSERT_TRUE(off) << off.error().message();
  EXPECT_FALSE(off->default_ipv4_unicast);
  ASSERT_EQ(off->neighbors.size(), 2u);
  EXPECT_TRUE(off->neighbors[0].ipv4_activated);
  EXPECT_FALSE(off->neighbors[1].ipv4_activated);
  const SpeakerConfig s{65001, "10.1.1.10", {{"10.99.0.3", 65000}, {"10.99.0.4", 65000}}};
  auto actual = *off;
  actual.router_id = "10.1.1.10";
  actual.ebgp_requires_policy = false;
  actual.network_import_check = false;
  EXPECT_THAT(plan_changes(s, {}, actual).ipv4_commands,
              ElementsAre("neighbor 10.99.0.3 activate", "neighbor 10.99.0.4 activate"));

  const auto on = parse_running_config(
      "router bgp 65001\n neighbor 10.99.0.3 remote-as 65000\n neighbor 10.99.0.3 description bngkit\n !\n"
      " address-family ipv4 unicast\n  no neighbor 10.99.0.3 activate\n exit-address-family\nexit\n");
  ASSERT_TRUE(on);
  EXPECT_TRUE(on->default_ipv4_unicast);
  EXPECT_FALSE(on->neighbors[0].ipv4_activated);
  auto in_step = *on;
  in_step.router_id = "10.1.1.10";
  in_step.ebgp_requires_policy = false;
  in_step.network_import_check = false;
  const SpeakerConfig one{65001, "10.1.1.10", {{"10.99.0.3", 65000}}};
  EXPECT_THAT(plan_changes(one, {}, in_step).ipv4_commands, ElementsAre("neighbor 10.99.0.3 activate"));
  in_step.neighbors[0].ipv4_activated = true;
  EXPECT_TRUE(plan_changes(one, {}, in_step).empty());
}

TEST(FrrSummaryJson, PeersWithStateAndPrefixCounts) {
  auto peers = parse_bgp_summary(fixture("summary_established_idle.json"));
  ASSERT_TRUE(peers) << peers.error().message();
  ASSERT_EQ(peers->size(), 2u);
  EXPECT_EQ((*peers)[0].address, "10.99.0.2");
  EXPECT_EQ((*peers)[0].remote_as, 65000u);
  EXPECT_TRUE((*peers)[0].established());
  EXPECT_EQ((*peers)[0].prefixes_sent, 3u);
  EXPECT_EQ((*peers)[1].address, "10.99.0.9");
  EXPECT_EQ((*peers)[1].state, "Active");
  EXPECT_FALSE((*peers)[1].established());

  auto four = parse_bgp_summary(fixture("summary_4byte_as.json"));
  ASSERT_TRUE(four) << four.error().message();
  ASSERT_EQ(four->size(), 2u);
  EXPECT_EQ((*four)[1].state, "Active");
  EXPECT_EQ((*four)[1].remote_as, 65007u);
}

TEST(FrrSummaryJson, NoInstanceIsNoPeersAndGarbageIsAnError) {
  auto none = parse_bgp_summary(fixture("summary_no_instance.json"));
  ASSERT_TRUE(none);
  EXPECT_THAT(*none, IsEmpty());
  auto text = parse_bgp_summary("% BGP instance not found");
  ASSERT_FALSE(text);
  EXPECT_THAT(text.error().message(), HasSubstr("not JSON"));
  auto no_state = parse_bgp_summary(R"({"ipv4Unicast":{"peers":{"10.0.0.1":{"remoteAs":1}}}})");
  ASSERT_FALSE(no_state);
  EXPECT_THAT(no_state.error().message(), HasSubstr("peer 10.0.0.1 has no state"));
}

TEST(PlanChanges, FromNothingConfiguresEverything) {
  const auto plan = plan_changes(bng_speaker(), {prefix("10.0.1.0/24")}, FrrBgpConfig{});
  EXPECT_FALSE(plan.remove_instance);
  EXPECT_THAT(plan.router_commands,
              ElementsAre("bgp router-id 10.1.1.10", "no bgp ebgp-requires-policy", "no bgp network import-check",
                          "neighbor 10.99.0.2 remote-as 65000", "neighbor 10.99.0.2 description bngkit"));
  EXPECT_THAT(plan.ipv4_commands, ElementsAre("network 10.0.1.0/24"));
}

TEST(PlanChanges, InStepIsEmpty) {
  auto actual = running("running_config_bng.txt");
  actual.neighbors[0].description = "bngkit";
  const SpeakerConfig s{65001, "10.1.1.10", {{"10.99.0.9", 65009}, {"10.99.0.2", 65000}}};
  const std::vector<Prefix> want{prefix("10.0.4.0/24"), prefix("10.0.1.0/24"), prefix("10.0.3.0/24")};
  EXPECT_TRUE(plan_changes(s, want, actual).empty());
  // Host bits and duplicates in the desired set do not make a difference.
  auto messy = want;
  messy.push_back(prefix("10.0.1.7/24"));
  EXPECT_TRUE(plan_changes(s, messy, actual).empty());
  // The operator's description on a neighbour the BNG names is taken over.
  actual.neighbors[0].description.clear();
  EXPECT_THAT(plan_changes(s, want, actual).router_commands, ElementsAre("neighbor 10.99.0.2 description bngkit"));
}

TEST(PlanChanges, WithdrawsWhatIsNoLongerWantedAndAnnouncesWhatIsNew) {
  auto actual = running("running_config_4byte_as.txt");
  SpeakerConfig s{4200000001, "10.1.1.10", {{"10.99.0.2", 65000}}};
  const auto plan = plan_changes(s, {prefix("10.0.1.0/24"), prefix("10.0.1.151/32")}, actual);
  EXPECT_THAT(plan.router_commands, IsEmpty());
  EXPECT_THAT(plan.ipv4_commands,
              ElementsAre("no network 10.0.1.150/32", "no network 100.64.0.0/22", "network 10.0.1.151/32"));
  // Drain: nothing wanted, every network withdrawn; the sessions stay.
  const auto drain = plan_changes(s, {}, actual);
  EXPECT_THAT(drain.router_commands, IsEmpty());
  EXPECT_THAT(drain.ipv4_commands,
              ElementsAre("no network 10.0.1.0/24", "no network 10.0.1.150/32", "no network 100.64.0.0/22"));
}

TEST(PlanChanges, OnlyRemovesItsOwnNeighboursAndFollowsRemoteAs) {
  auto actual = running("running_config_4byte_as.txt");
  SpeakerConfig s{4200000001, "10.1.1.10", {{"10.99.0.3", 65003}, {"192.0.2.7", 65008}}};
  const auto plan = plan_changes(s, {}, actual);
  // 10.99.0.2 was ours (description bngkit): removed. 192.0.2.7 was the operator's: kept,
  // but the configured remote AS wins and it becomes ours.
  EXPECT_THAT(plan.router_commands,
              ElementsAre("no neighbor 10.99.0.2", "neighbor 10.99.0.3 remote-as 65003",
                          "neighbor 10.99.0.3 description bngkit", "neighbor 192.0.2.7 remote-as 65008",
                          "neighbor 192.0.2.7 description bngkit"));
  // A neighbour the operator added by hand and the BNG does not name stays.
  SpeakerConfig only_ours{4200000001, "10.1.1.10", {}};
  EXPECT_THAT(plan_changes(only_ours, {}, actual).router_commands, ElementsAre("no neighbor 10.99.0.2"));
}

TEST(PlanChanges, AnotherAsReplacesTheInstance) {
  const auto plan = plan_changes(bng_speaker(), {prefix("10.0.1.0/24")}, running("running_config_4byte_as.txt"));
  EXPECT_EQ(plan.remove_instance, 4200000001u);
  EXPECT_EQ(plan.router_commands.size(), 5u);  // everything, on a fresh instance
  EXPECT_THAT(plan.ipv4_commands, ElementsAre("network 10.0.1.0/24"));
}

TEST(SpeakerValidation, NamesEveryProblem) {
  EXPECT_TRUE(validate(bng_speaker()));
  auto bad = validate({0, "10.1.1", {{"10.0.0.1", 65000}, {"10.0.0.1", 65000}, {"fe80::1", 0}}});
  ASSERT_FALSE(bad);
  const auto m = bad.error().message();
  EXPECT_THAT(m, HasSubstr("local_as: must be an AS number"));
  EXPECT_THAT(m, HasSubstr("router_id: \"10.1.1\" is not an IPv4 address"));
  EXPECT_THAT(m, HasSubstr("10.0.0.1 is listed twice"));
  EXPECT_THAT(m, HasSubstr("\"fe80::1\" is not an IPv4 address"));
  EXPECT_THAT(m, HasSubstr("fe80::1 needs a remote_as"));
}

TEST(Canonical, SortedNormalizedUnique) {
  EXPECT_THAT(canonical({prefix("10.0.2.0/24"), prefix("10.0.1.9/24"), prefix("10.0.1.0/24"), prefix("10.0.1.5/32")}),
              ElementsAre(prefix("10.0.1.0/24"), prefix("10.0.1.5/32"), prefix("10.0.2.0/24")));
}

TEST(RunProcess, CapturesOutputAndExitCode) {
  auto r = run_process({"sh", "-c", "echo out; echo err >&2; exit 3"}, std::chrono::seconds(5));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_EQ(r->out, "out\n");
  EXPECT_EQ(r->err, "err\n");
}

TEST(RunProcess, KillsAProgramPastItsDeadline) {
  const auto start = std::chrono::steady_clock::now();
  auto r = run_process({"sleep", "10"}, std::chrono::milliseconds(200));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, std::errc::timed_out);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST(RunProcess, MissingProgramIsAnError) {
  auto r = run_process({"/nonexistent/vtysh"}, std::chrono::seconds(1));
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message(), HasSubstr("cannot run /nonexistent/vtysh"));
}

TEST(RouteAnnouncer, RejectsBadOptions) {
  AnnouncerOptions o;
  o.speaker = {65001, "not-an-ip", {}};
  auto a = RouteAnnouncer::create(o);
  ASSERT_FALSE(a);
  EXPECT_THAT(a.error().message(), HasSubstr("router_id"));
  o.speaker = bng_speaker();
  o.command_timeout = std::chrono::milliseconds(0);
  EXPECT_FALSE(RouteAnnouncer::create(o));
}

// FRR absent (no vtysh, or one that hangs): the caller is never blocked past the timeout,
// every failure is counted and reported, and nothing throws.
TEST(RouteAnnouncer, FrrUnreachableIsReportedNotFatal) {
  AnnouncerOptions o;
  o.speaker = bng_speaker();
  o.vtysh = "/nonexistent/vtysh";
  auto a = RouteAnnouncer::create(o);
  ASSERT_TRUE(a) << a.error().message();
  (*a)->set_prefixes({prefix("10.0.1.0/24")});
  EXPECT_FALSE((*a)->reconcile_now());
  auto s = (*a)->status();
  EXPECT_FALSE(s.frr_up);
  EXPECT_EQ(s.reconciles, 1u);
  EXPECT_EQ(s.reconcile_failures, 1u);
  EXPECT_EQ(s.desired_prefixes, 1u);
  EXPECT_EQ(s.announced_prefixes, 0u);
  EXPECT_THAT(s.last_error, HasSubstr("cannot run /nonexistent/vtysh"));
  (*a)->set_announcing(false);
  EXPECT_EQ((*a)->status().desired_prefixes, 0u);

  const auto dir = std::filesystem::temp_directory_path() / ("bgp-hang-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto hang = dir / "vtysh";
  {
    std::ofstream f(hang);
    f << "#!/bin/sh\nexec sleep 30\n";
  }
  std::filesystem::permissions(hang, std::filesystem::perms::owner_all);
  o.vtysh = hang.string();
  o.command_timeout = std::chrono::milliseconds(300);
  auto slow = RouteAnnouncer::create(o);
  ASSERT_TRUE(slow);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE((*slow)->reconcile_now());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  EXPECT_FALSE((*slow)->status().frr_up);
  EXPECT_THAT((*slow)->status().last_error, HasSubstr("did not finish within 300 ms"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace bngkit::bng::bgp
