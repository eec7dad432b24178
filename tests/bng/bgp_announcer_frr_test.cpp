// RouteAnnouncer against a real FRR 8.4 bgpd (started here without zebra and without a
// listening BGP port, so no namespace is needed): configuring from empty, many host routes
// (several vtysh calls), minimal follow-up rounds, neighbour ownership, an AS change, drain,
// the worker waking on a change, bgpd killed and restarted, and shutdown. Needs root (bgpd
// switches to the frr user) and the frr package; skips otherwise.
#include <bngkit/bng/bgp/route_announcer.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "bgp/process.hpp"

namespace bngkit::bng::bgp {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kBgpd = "/usr/lib/frr/bgpd";

class FrrBgpd : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root: bgpd starts as root and switches to the frr user";
    if (!fs::exists(kBgpd) || ::getpwnam("frr") == nullptr) {
      GTEST_SKIP() << "FRR is not installed (Debian package frr; scripts/install-deps.sh installs it)";
    }
    char tmpl[] = "/tmp/bngkit-bgpd.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    fs::permissions(dir_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                              fs::perms::others_read | fs::perms::others_exec);
    std::ofstream(dir_ / "bgpd.conf").close();
    const auto* frr = ::getpwnam("frr");
    ASSERT_EQ(::chown(dir_.c_str(), frr->pw_uid, frr->pw_gid), 0);
    ASSERT_EQ(::chown((dir_ / "bgpd.conf").c_str(), frr->pw_uid, frr->pw_gid), 0);
    start_bgpd();
  }

  void TearDown() override {
    stop_bgpd();
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  // bgpd daemonises (-d) once its vty socket is up; its PID comes from the pid file.
  void start_bgpd() {
    auto r = run_process({kBgpd, "-d", "-Z", "-p", "0", "-P", "0", "-i", (dir_ / "bgpd.pid").string(), "--vty_socket",
                          dir_.string(), "-f", (dir_ / "bgpd.conf").string(), "--log",
                          "file:" + (dir_ / "bgpd.log").string()},
                         std::chrono::seconds(10));
    ASSERT_TRUE(r) << r.error().message();
    ASSERT_EQ(r->exit_code, 0) << r->out << r->err;
    for (int i = 0; i < 100 && !vtysh({"show version"}); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::ifstream pid_file(dir_ / "bgpd.pid");
    pid_file >> pid_;
    ASSERT_GT(pid_, 0);
  }

  void stop_bgpd() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 100 && ::kill(pid_, 0) == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (::kill(pid_, 0) == 0) ::kill(pid_, SIGKILL);
    pid_ = -1;
    fs::remove(dir_ / "bgpd.vty");
  }

  std::optional<std::string> vtysh(std::vector<std::string> commands) {
    std::vector<std::string> argv{"vtysh", "--vty_socket", dir_.string(), "-d", "bgpd"};
    for (auto& c : commands) {
      argv.emplace_back("-c");
      argv.push_back(std::move(c));
    }
    auto r = run_process(argv, std::chrono::seconds(5));
    if (!r || r->exit_code != 0) return std::nullopt;
    return r->out;
  }

  FrrBgpConfig frr_config() {
    auto text = vtysh({"show running-config"});
    EXPECT_TRUE(text);
    auto c = parse_running_config(text.value_or(""));
    EXPECT_TRUE(c);
    return c ? *c : FrrBgpConfig{};
  }

  std::unique_ptr<RouteAnnouncer> announcer(SpeakerConfig speaker) {
    AnnouncerOptions o;
    o.speaker = std::move(speaker);
    o.vty_socket_dir = dir_.string();
    o.command_timeout = std::chrono::seconds(5);
    o.reconcile_interval = std::chrono::minutes(10);  // only a change wakes the worker here
    auto a = RouteAnnouncer::create(o);
    EXPECT_TRUE(a) << a.error().message();
    return a ? std::move(a).value() : nullptr;
  }

  fs::path dir_;
  pid_t pid_ = -1;
};

std::vector<Prefix> aggregate_and_hosts(std::uint32_t hosts) {
  std::vector<Prefix> p{Prefix::parse("10.0.0.0/16").value()};
  for (std::uint32_t i = 0; i < hosts; ++i) p.push_back(Prefix{dhcp::Ipv4::from_host(0x0a000000u + 256 + i), 32});
  return p;
}

const SpeakerConfig kSpeaker{65001, "10.1.1.10", {{"192.0.2.1", 65000}}};

TEST_F(FrrBgpd, ConfiguresFromEmptyAndStaysMinimal) {
  auto a = announcer(kSpeaker);
  ASSERT_TRUE(a);
  a->set_prefixes(aggregate_and_hosts(1200));  // 1201 networks: three vtysh calls
  auto r = a->reconcile_now();
  ASSERT_TRUE(r) << r.error().message();
  auto s = a->status();
  EXPECT_TRUE(s.frr_up);
  EXPECT_TRUE(s.in_step);
  EXPECT_EQ(s.announced_prefixes, 1201u);
  EXPECT_EQ(s.desired_prefixes, 1201u);
  ASSERT_EQ(s.peers.size(), 1u);
  EXPECT_EQ(s.peers[0].address, "192.0.2.1");
  EXPECT_FALSE(s.peers[0].established());  // nobody answers there
  const auto c = frr_config();
  EXPECT_EQ(c.local_as, 65001u);
  EXPECT_EQ(c.router_id, "10.1.1.10");
  EXPECT_FALSE(c.network_import_check);
  EXPECT_EQ(c.networks.size(), 1201u);

  // In step: a second round reads and applies nothing.
  const auto applied = s.commands_applied;
  ASSERT_TRUE(a->reconcile_now());
  EXPECT_EQ(a->status().commands_applied, applied);
  EXPECT_EQ(a->status().reconciles, 2u);

  // Fewer subscribers: only the difference goes to bgpd.
  a->set_prefixes(aggregate_and_hosts(1000));
  ASSERT_TRUE(a->reconcile_now());
  EXPECT_EQ(frr_config().networks.size(), 1001u);
  // One call: configure terminal, router bgp, address-family ipv4 unicast, 200 `no network`.
  EXPECT_EQ(a->status().commands_applied, applied + 3 + 200);
}

TEST_F(FrrBgpd, OwnsOnlyItsNeighboursAndFollowsTheAs) {
  auto a = announcer(kSpeaker);
  ASSERT_TRUE(a);
  a->set_prefixes({Prefix::parse("10.0.1.0/24").value()});
  ASSERT_TRUE(a->reconcile_now());
  // An operator adds a neighbour by hand; the BNG's neighbour list changes.
  // They also turn off `bgp default ipv4-unicast`: new neighbours need `activate`.
  ASSERT_TRUE(vtysh({"configure terminal", "router bgp 65001", "neighbor 198.51.100.9 remote-as 65100",
                     "no bgp default ipv4-unicast"}));
  ASSERT_TRUE(a->set_speaker({65001, "10.1.1.10", {{"192.0.2.2", 65000}}}));
  auto r1 = a->reconcile_now();
  ASSERT_TRUE(r1) << r1.error().message();
  EXPECT_TRUE(a->status().in_step);
  auto text = vtysh({"show running-config"}).value_or("");
  EXPECT_THAT(text, Not(HasSubstr("neighbor 192.0.2.1 ")));
  EXPECT_THAT(text, HasSubstr("neighbor 192.0.2.2 remote-as 65000"));
  EXPECT_THAT(text, HasSubstr("neighbor 192.0.2.2 activate"));
  EXPECT_THAT(text, HasSubstr("neighbor 198.51.100.9 remote-as 65100"));

  // Another local AS: bgpd holds one default instance, so it is replaced whole.
  ASSERT_TRUE(a->set_speaker({65002, "10.1.1.11", {{"192.0.2.2", 65000}}}));
  auto r = a->reconcile_now();
  ASSERT_TRUE(r) << r.error().message();
  const auto c = frr_config();
  EXPECT_EQ(c.local_as, 65002u);
  EXPECT_EQ(c.router_id, "10.1.1.11");
  ASSERT_EQ(c.networks.size(), 1u);
  EXPECT_EQ(c.networks[0].to_string(), "10.0.1.0/24");
}

TEST_F(FrrBgpd, DrainWorkerAndFrrRestart) {
  auto a = announcer(kSpeaker);
  ASSERT_TRUE(a);
  a->set_prefixes({Prefix::parse("10.0.1.0/24").value()});
  a->start();
  auto wait_for_networks = [&](std::size_t n) {
    for (int i = 0; i < 100; ++i) {
      if (auto text = vtysh({"show running-config"})) {
        if (auto c = parse_running_config(*text); c && c->local_as && c->networks.size() == n) return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  };
  EXPECT_TRUE(wait_for_networks(1)) << "the first round configures bgpd";
  a->set_announcing(false);  // drain: the worker wakes and withdraws
  EXPECT_TRUE(wait_for_networks(0));
  a->set_announcing(true);
  a->set_prefixes({Prefix::parse("10.0.1.0/24").value(), Prefix::parse("10.0.2.0/24").value()});
  EXPECT_TRUE(wait_for_networks(2));

  // bgpd dies: the next round fails, is counted, and says FRR is down.
  stop_bgpd();
  auto down = a->reconcile_now();
  ASSERT_FALSE(down);
  auto s = a->status();
  EXPECT_FALSE(s.frr_up);
  EXPECT_EQ(s.announced_prefixes, 0u);
  EXPECT_TRUE(s.peers.empty());
  EXPECT_GE(s.reconcile_failures, 1u);
  EXPECT_THAT(s.last_error, HasSubstr("failed to connect"));
  // bgpd is back with an empty config: one round restores everything.
  start_bgpd();
  auto up = a->reconcile_now();
  ASSERT_TRUE(up) << up.error().message();
  EXPECT_TRUE(a->status().frr_up);
  EXPECT_TRUE(a->status().last_error.empty());
  EXPECT_EQ(frr_config().networks.size(), 2u);

  // Shutdown withdraws everything and stops the worker.
  ASSERT_TRUE(a->shutdown());
  EXPECT_TRUE(frr_config().networks.empty());
  EXPECT_FALSE(a->status().announcing);
}

}  // namespace
}  // namespace bngkit::bng::bgp
