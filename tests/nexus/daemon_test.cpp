// The nexus daemon as a process: CLI exit codes, the API, health and metrics over real HTTP,
// the token, graceful shutdown on SIGTERM, kill -9 of a replica under concurrent load while a
// peer replicates with it (what survives: every acknowledged allocation and release, in its
// own store and on both replicas; what the operator sees: peer metrics, the "lost peer" log
// line, readiness after the initial sync), one daemon per store, and backup/restore while it
// runs (online) and while it does not; no capability left in any thread.
#include <bngkit/ops/capabilities.hpp>
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <deque>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "cluster_checks.hpp"

namespace {

using namespace nexus_test;

const std::string kBinary = NEXUS_BINARY;

Daemon::Options lone(const std::string& id) {
  Daemon::Options o;
  o.id = id;
  o.http_port = free_port();
  o.metrics_port = free_port();
  o.p2p_port = free_port();
  return o;
}

std::string json_field(const HttpReply& r, const char* key) {
  auto v = r.json();
  if (!v.is_object() || !v.as_object().contains(key)) return "";
  const auto& f = v.at(key);
  return f.is_string() ? std::string(f.as_string()) : boost::json::serialize(f);
}

TEST(NexusCli, ExitCodesAndMessages) {
  TempDir dir;
  auto [rc, out] = run_command({kBinary});
  EXPECT_EQ(rc, 2);
  EXPECT_NE(out.find("usage: nexus run"), std::string::npos);
  std::tie(rc, out) = run_command({kBinary, "frobnicate", "--config", "x"});
  EXPECT_EQ(rc, 2);
  std::tie(rc, out) = run_command({kBinary, "validate"});
  EXPECT_EQ(rc, 2);
  EXPECT_NE(out.find("needs --config"), std::string::npos);
  {
    std::ofstream(dir.path() / "good.toml")
        << "[node]\nid = \"n1\"\n[p2p]\npeers = [\"n2\"]\nsecret = "
           "\"0123456789abcdef\"\n";
    std::ofstream(dir.path() / "bad.toml") << "[clset]\nnum_workers = 0\n[p2p]\npeers = [\"n2\"]\n";
  }
  // good.toml holds the peer secret inline: world-readable (0644) it is refused, naming the
  // file, the key and the fix; 0640 is accepted.
  namespace fs = std::filesystem;
  const auto good = (dir.path() / "good.toml").string();
  fs::permissions(good, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                            fs::perms::others_read);
  std::tie(rc, out) = run_command({kBinary, "validate", "--config", good});
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("p2p.secret: " + good + " holds the secret p2p.secret inline but every user can read it "
                     "(mode 0644): run chmod o-r " + good),
            std::string::npos)
      << out;
  EXPECT_EQ(out.find("0123456789abcdef"), std::string::npos) << "never the secret";
  fs::permissions(good, fs::perms::others_read, fs::perm_options::remove);
  std::tie(rc, out) = run_command({kBinary, "validate", "--config", good});
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("ok (replica n1"), std::string::npos) << out;
  std::tie(rc, out) =
      run_command({kBinary, "validate", "--config", (dir.path() / "bad.toml").string()});
  EXPECT_EQ(rc, 1);
  EXPECT_NE(out.find("clset.num_workers"), std::string::npos) << out;
  EXPECT_NE(out.find("must be authenticated"), std::string::npos) << out;
  std::tie(rc, out) = run_command({kBinary, "run", "--config", (dir.path() / "bad.toml").string()});
  EXPECT_EQ(rc, 2);
  std::tie(rc, out) = run_command({kBinary, "version"});
  EXPECT_EQ(rc, 0);
  EXPECT_NE(out.find("nexus (bngkit)"), std::string::npos);
}

TEST(NexusDaemon, ServesTheApiHealthAndMetricsAndStopsOnSigterm) {
  TempDir dir;
  auto o = lone("n1");
  o.token = "api-token";
  Daemon d(kBinary, dir.path(), o);
  d.start();
  ASSERT_TRUE(d.wait_ready()) << "log:\n" << std::ifstream(d.log()).rdbuf();
  EXPECT_EQ(d.get("/health").status, 200);
  EXPECT_EQ(d.get("/health/live").status, 200);
  auto ready = d.get("/ready");
  EXPECT_NE(ready.body.find("initial_sync"), std::string::npos) << ready.body;

  // Writes need the token; reads do not.
  auto no_token = in_netns("", [&] {
    return http("127.0.0.1", o.http_port, "POST", "/api/v1/pools",
                R"({"id":"p","cidr":"10.0.0.0/24"})");
  });
  EXPECT_EQ(no_token.status, 401);
  auto r =
      d.request("POST", "/api/v1/pools", R"({"id":"p","cidr":"10.0.0.0/24","gateway":"10.0.0.1"})");
  ASSERT_EQ(r.status, 201) << r.body;
  r = d.request("POST", "/api/v1/allocations", R"({"pool_id":"p","subscriber_id":"cpe-1"})");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(json_field(r, "node_id"), "n1");
  r = d.request("POST", "/api/v1/allocations", R"({"pool_id":"p","subscriber_id":"cpe-1"})");
  EXPECT_EQ(r.status, 200);
  r = d.request("POST", "/api/v1/allocations", R"({"pool_id":"p","subscriber_id":)");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("not valid JSON"), std::string::npos) << r.body;
  r = d.get("/api/v1/allocations?pool_id=p");
  EXPECT_EQ(json_field(r, "count"), "1");
  r = d.request("POST", "/api/v1/nodes", R"({"id":"olt-1","region":"east"})");
  EXPECT_EQ(r.status, 201);

  const std::string m = d.metrics().body;
  for (const char* want :
       {"nexus_allocations{pool=\"p\"} 1", "nexus_pool_utilisation_ratio{pool=\"p\"}",
        "nexus_nodes{status=\"active\"} 1", "nexus_ready 1",
        "nexus_api_request_duration_seconds_count{method=\"POST\",route=\"/api/v1/allocations\"} 3",
        "nexus_api_requests_total{method=\"POST\",route=\"/api/v1/pools\",status=\"401\"} 1",
        "nexus_peers{state=\"connected\"} 0", "nexus_allocations_created_total 1"})
    EXPECT_NE(m.find(want), std::string::npos) << "missing " << want << "\n" << m;

  // Serving with every port bound and the store open: no capability is left in any set of
  // any thread (the sets are per thread; replication's threads started before the drop).
  auto threads = bngkit::ops::thread_capabilities(d.pid());
  ASSERT_TRUE(threads.ok()) << threads.error().message();
  EXPECT_GE(threads->size(), 3U) << "the API, the replication acceptor and its maintainer";
  for (const auto& t : *threads) {
    EXPECT_EQ(t.effective | t.permitted | t.inheritable | t.ambient, 0U) << t.tid << " " << t.name;
    if (::geteuid() == 0) {
      EXPECT_EQ(t.bounding, 0U) << "root: the bounding set is emptied too";
    }
  }

  d.kill(SIGTERM);
  EXPECT_EQ(d.wait(15s), 0);
  std::stringstream log;
  log << std::ifstream(d.log()).rdbuf();
  EXPECT_NE(log.str().find("stopped"), std::string::npos) << log.str();
  EXPECT_EQ(log.str().find("api-token"), std::string::npos) << "the token is never logged";
  EXPECT_EQ(log.str().find("server.token is not set"), std::string::npos) << "a token is set: no warning";
}

TEST(NexusDaemon, SigtermDrainsNotReadyButServingThenExits) {
  TempDir dir;
  auto o = lone("n1");
  o.grace = "1500ms";
  Daemon d(kBinary, dir.path(), o);
  d.start();
  ASSERT_TRUE(d.wait_ready());
  ASSERT_EQ(d.request("POST", "/api/v1/pools", R"({"id":"p","cidr":"10.0.0.0/24"})").status, 201);
  const auto signalled = std::chrono::steady_clock::now();
  d.kill(SIGTERM);
  ASSERT_TRUE(wait_until([&] { return d.get("/ready").status == 503; }, 1s));
  EXPECT_NE(d.get("/ready").body.find("shutting down"), std::string::npos);
  EXPECT_EQ(d.get("/health").status, 200) << "alive while draining";
  EXPECT_EQ(
      d.request("POST", "/api/v1/allocations", R"({"pool_id":"p","subscriber_id":"late"})").status,
      201)
      << "still serving during the grace period";
  EXPECT_EQ(d.wait(15s), 0);
  EXPECT_GE(std::chrono::steady_clock::now() - signalled, 1400ms);
  std::stringstream log;
  log << std::ifstream(d.log()).rdbuf();
  EXPECT_NE(log.str().find("server.token is not set"), std::string::npos) << "no token: a warning at start";
}

// A replica SIGKILLed under concurrent load while a peer replicates with it: n0 is killed and
// restarted, n1 survives. What survives: every allocation and release n0 acknowledged, in n0's
// own store (opened alone before it rejoins, so nothing is merely recovered from n1) and,
// after convergence, on both replicas with the same address; no address held twice anywhere;
// n1 kept acknowledging writes while n0 was down. What the operator sees: on n1, the peer
// down in nexus_peer_up / nexus_peers{state} with replication lag growing, a "lost peer" log
// line and /ready still 200; after the restart "connected to peer" and the peer up again; n0
// ready only once its initial sync with n1 is done, holding what n1 wrote meanwhile.
TEST(NexusDaemon, Kill9MidLoadLosesNothingAcknowledgedAndThePeerShowsIt) {
  TempDir dir;
  std::array<Daemon::Options, 2> opts;
  for (std::size_t i = 0; i < opts.size(); ++i) {
    opts[i].id = "n" + std::to_string(i);
    opts[i].http_port = free_port();
    opts[i].metrics_port = free_port();
    opts[i].p2p_port = free_port();
    opts[i].owners = {"n0", "n1"};  // disjoint shares: no address conflict across the outage
  }
  const std::string addr0 = "127.0.0.1:" + std::to_string(opts[0].p2p_port);
  const std::string addr1 = "127.0.0.1:" + std::to_string(opts[1].p2p_port);
  opts[0].peers = {addr1};
  opts[1].peers = {addr0};
  Daemon n0(kBinary, dir.path(), opts[0]);
  Daemon n1(kBinary, dir.path(), opts[1]);
  n0.start();
  n1.start();
  ASSERT_TRUE(n0.wait_ready()) << std::ifstream(n0.log()).rdbuf();
  ASSERT_TRUE(n1.wait_ready()) << std::ifstream(n1.log()).rdbuf();
  ASSERT_EQ(n0.request("POST", "/api/v1/pools", R"({"id":"p","cidr":"10.20.0.0/16"})").status, 201);
  ASSERT_TRUE(wait_until([&] { return n1.get("/api/v1/pools/p").status == 200; }, 10s));
  const std::string n0_up = "nexus_peer_up{peer=\"" + addr0 + "\",replica=\"n0\"}";
  const std::string n0_lag = "nexus_replication_lag_seconds{peer=\"" + addr0 + "\",replica=\"n0\"}";
  ASSERT_TRUE(wait_until([&] { return metric(n1, n0_up) == 1; }, 10s)) << n1.metrics().body;

  // What clients were told, per replica that told them.
  struct Ledger {
    Allocations acked;               // subscriber -> ip, not released since
    std::set<std::string> released;  // release acknowledged (204)
    std::set<std::string> unsure;    // release unanswered: held or not, both are right
    std::size_t allocations = 0;     // allocations acknowledged in all
  };
  std::mutex mu;
  std::array<Ledger, 2> ledger;
  Allocations n1_during_outage;  // acknowledged by n1 while n0 was dead
  std::atomic<bool> outage{false};
  std::atomic<bool> stop{false};
  std::atomic<bool> park{false};  // n0 writers that find n0 dead wait until this is false
  std::atomic<int> n0_writers_parked{0};
  std::array<std::atomic<int>, 2> unanswered{};

  // One writer: allocations for its own subscribers, every third one followed by the release
  // of the oldest it holds. A replica that is down gets the same allocation again until it
  // answers (the restarted one answers 200 with the address if it had committed it); n0's
  // writers park meanwhile, so what n0 shows when it is ready again is what it had at the kill
  // plus what n1 sent, not releases made since.
  auto writer = [&](std::size_t node, int w) {
    Daemon& d = node == 0 ? n0 : n1;
    const std::string prefix = "n" + std::to_string(node) + "-w" + std::to_string(w) + "-";
    std::deque<std::string> held;
    for (int k = 0; !stop; ++k) {
      const std::string sub = prefix + std::to_string(k);
      for (;;) {
        const bool down_before = outage;
        auto r = d.request("POST", "/api/v1/allocations",
                           R"({"pool_id":"p","subscriber_id":")" + sub + "\"}", 3s);
        if (r.status == 201 || r.status == 200) {
          std::lock_guard l(mu);
          const std::string ip = json_field(r, "ip");
          ledger[node].acked[sub] = ip;
          ledger[node].allocations++;
          if (node == 1 && down_before && outage) n1_during_outage[sub] = ip;
          held.push_back(sub);
          break;
        }
        if (r.status != 0) {
          ADD_FAILURE() << sub << " on n" << node << ": " << r.status << " " << r.body;
          return;
        }
        unanswered[node]++;
        if (node == 0 && park) {
          ++n0_writers_parked;
          while (park && !stop) std::this_thread::sleep_for(10ms);
        }
        if (stop) return;
        std::this_thread::sleep_for(50ms);
      }
      if (k % 3 != 2) continue;
      const std::string victim = held.front();
      held.pop_front();
      auto r = d.request("DELETE", "/api/v1/allocations/" + victim + "?pool_id=p", "", 3s);
      std::lock_guard l(mu);
      ledger[node].acked.erase(victim);
      if (r.status == 204) {
        ledger[node].released.insert(victim);
      } else if (r.status == 0) {
        unanswered[node]++;
        ledger[node].unsure.insert(victim);
      } else {
        ADD_FAILURE() << "release of " << victim << " on n" << node << ": " << r.status << " "
                      << r.body;
        return;
      }
    }
  };
  auto snapshot = [&](std::size_t node) {
    std::lock_guard l(mu);
    return ledger[node];
  };
  auto log_of = [](const Daemon& d) {
    std::stringstream s;
    s << std::ifstream(d.log()).rdbuf();
    return s.str();
  };
  // Acknowledged allocations missing from `have` or there with another address ("" if none).
  auto missing = [](const Allocations& want, const Allocations& have) {
    std::string out;
    std::size_t n = 0;
    for (const auto& [sub, ip] : want) {
      auto it = have.find(sub);
      if (it != have.end() && it->second == ip) continue;
      if (++n <= 5)
        out += " " + sub + "=" + ip + (it == have.end() ? " (gone)" : " (now " + it->second + ")");
    }
    return n == 0 ? out : std::to_string(n) + " of " + std::to_string(want.size()) + ":" + out;
  };
  auto still_held = [](const std::set<std::string>& released, const Allocations& have) {
    std::string out;
    for (const auto& sub : released)
      if (have.count(sub) != 0) out += " " + sub;
    return out;
  };

  // Four writers on the replica to be killed, two on the survivor; joined on every way out.
  std::vector<std::thread> writers;
  struct Join {
    std::atomic<bool>& stop;
    std::vector<std::thread>& threads;
    ~Join() {
      stop = true;
      for (auto& t : threads)
        if (t.joinable()) t.join();
    }
  } join{stop, writers};
  for (int w = 0; w < 4; ++w) writers.emplace_back(writer, std::size_t{0}, w);
  for (int w = 0; w < 2; ++w) writers.emplace_back(writer, std::size_t{1}, w);

  // Mid-load: n0 has acknowledged allocations and releases and is still taking more.
  ASSERT_TRUE(wait_until(
      [&] {
        const auto s = snapshot(0);
        return s.allocations >= 300 && s.released.size() >= 80;
      },
      30s));
  park = true;
  outage = true;
  ASSERT_EQ(n0.kill(SIGKILL), 128 + SIGKILL);
  // Every n0 writer has since found n0 dead, so whatever n0 acknowledged is in the ledger.
  ASSERT_TRUE(wait_until([&] { return n0_writers_parked == 4; }, 15s));
  const Ledger at_kill = snapshot(0);

  // The survivor while n0 is down: the peer shows as down, the log says so, n1 stays ready and
  // keeps acknowledging writes, which n0 has not acknowledged (lag).
  EXPECT_TRUE(wait_until([&] { return metric(n1, n0_up) == 0; }, 15s)) << n1.metrics().body;
  EXPECT_EQ(metric(n1, "nexus_peers{state=\"connected\"}"), 0);
  EXPECT_EQ(metric(n1, "nexus_peers{state=\"disconnected\"}"), 1);
  const std::string lost_line = "nexus: lost peer n0 (" + addr0 + "): ";
  EXPECT_TRUE(wait_until([&] { return log_of(n1).find(lost_line) != std::string::npos; }, 5s))
      << log_of(n1);
  EXPECT_EQ(n1.get("/ready").status, 200) << "a peer down is no reason to stop serving";
  ASSERT_TRUE(wait_until(
      [&] {
        std::lock_guard l(mu);
        return n1_during_outage.size() >= 60;
      },
      20s))
      << "n1 acknowledges writes while n0 is down";
  EXPECT_GT(metric(n1, n0_lag), 0) << "n1's writes are waiting for n0";

  // n0's own store, opened by a lone replica (no peers, no peer listener): everything n0
  // acknowledged is in it, not merely recoverable from n1.
  {
    Daemon::Options o;
    o.id = "n0";
    o.http_port = free_port();
    o.metrics_port = free_port();
    o.p2p_port = free_port();
    o.secret.clear();
    o.storage = (dir.path() / "n0" / "data").string();
    Daemon alone(kBinary, dir.path() / "alone", o);
    alone.start();
    ASSERT_TRUE(alone.wait_ready()) << log_of(alone);
    const Allocations stored = allocations_of(alone, "p");
    expect_no_address_twice(stored, "n0's store");
    EXPECT_EQ(missing(at_kill.acked, stored), "") << "acknowledged by n0, not in its store";
    EXPECT_EQ(still_held(at_kill.released, stored), "") << "released by n0, held in its store";
    alone.kill(SIGTERM);
    EXPECT_EQ(alone.wait(15s), 0);
  }

  // The restart: ready only after the initial sync with n1, so it already holds what n1
  // acknowledged meanwhile.
  outage = false;
  Allocations n1_wrote;
  {
    std::lock_guard l(mu);
    n1_wrote = n1_during_outage;
  }
  const auto log_from = fs::file_size(n0.log());
  n0.start();
  ASSERT_TRUE(n0.wait_ready()) << log_of(n0).substr(log_from);
  const std::string ready = n0.get("/ready").body;
  const Allocations at_ready = allocations_of(n0, "p");
  EXPECT_NE(ready.find("initial sync done with all 1 peer(s)"), std::string::npos) << ready;
  EXPECT_EQ(missing(n1_wrote, at_ready), "") << "acknowledged by n1 during the outage";
  EXPECT_EQ(missing(at_kill.acked, at_ready), "") << "acknowledged by n0 before the kill";
  {
    const std::string log = log_of(n0).substr(log_from);
    const auto synced = log.find("nexus: initial sync with n1 (" + addr1 + ") done");
    const auto ready_line = log.find("nexus: ready: initial sync done with all 1 peer(s)");
    EXPECT_NE(synced, std::string::npos) << log;
    EXPECT_NE(ready_line, std::string::npos) << log;
    EXPECT_LT(synced, ready_line) << log;
  }
  // Back under load for a while, then the survivor sees its peer again.
  park = false;
  ASSERT_TRUE(wait_until([&] { return snapshot(0).allocations >= at_kill.allocations + 60; }, 20s))
      << "the restarted n0 acknowledges writes";
  stop = true;
  for (auto& t : writers) t.join();
  EXPECT_TRUE(wait_until([&] { return metric(n1, n0_up) == 1; }, 15s)) << n1.metrics().body;
  EXPECT_EQ(metric(n1, "nexus_peers{state=\"connected\"}"), 1);
  {
    const std::string log = log_of(n1);
    const auto lost = log.find(lost_line);
    const auto back = log.find("nexus: connected to peer n0 (" + addr0 + ")", lost);
    EXPECT_NE(back, std::string::npos) << log;
  }

  // Converged: both replicas equal, every acknowledged allocation with its address, every
  // acknowledged release released, no address twice, nothing re-allocated.
  const std::vector<Daemon*> both{&n0, &n1};
  ASSERT_TRUE(wait_until([&] { return converged(both); }, 30s)) << digest_of(n0) << "\n"
                                                                << digest_of(n1);
  Allocations acked = ledger[0].acked;
  acked.insert(ledger[1].acked.begin(), ledger[1].acked.end());
  expect_consistent(both, "p", acked);
  for (const auto* d : both) {
    const Allocations now = allocations_of(*d, "p");
    for (const auto& l : ledger)
      EXPECT_EQ(still_held(l.released, now), "") << "released, held on " << d->options().id;
    EXPECT_EQ(metric(*d, "nexus_conflicts_resolved_total{kind=\"address\"}"), 0) << d->options().id;
  }
  EXPECT_TRUE(wait_until([&] { return metric(n1, n0_lag) == 0; }, 10s)) << "n0 caught up";
  EXPECT_GT(unanswered[0].load(), 0) << "the kill happened under load";
  std::cout << "[   INFO   ] n0 acknowledged " << at_kill.allocations << " allocations and "
            << at_kill.released.size() << " releases before the kill (" << at_kill.unsure.size()
            << " release(s) unanswered), " << ledger[0].allocations - at_kill.allocations
            << " allocations after its restart; n1 " << n1_wrote.size() << " while n0 was down; "
            << unanswered[1].load() << " request(s) to n1 unanswered\n";
  for (auto* d : both) {
    d->kill(SIGTERM);
    EXPECT_EQ(d->wait(20s), 0) << d->options().id;
  }
}

TEST(NexusDaemon, OneDaemonPerStore) {
  TempDir dir;
  Daemon a(kBinary, dir.path(), lone("n1"));
  a.start();
  ASSERT_TRUE(a.wait_ready());
  auto o = lone("n1");
  o.storage = (dir.path() / "n1" / "data").string();
  Daemon b(kBinary, dir.path() / "other", o);
  b.start();
  EXPECT_EQ(b.wait(10s), 1);
  std::stringstream log;
  log << std::ifstream(b.log()).rdbuf();
  EXPECT_NE(log.str().find("another nexus process is using"), std::string::npos) << log.str();
}

TEST(NexusDaemon, BackupWhileRunningRestoreOnlineAndOffline) {
  TempDir dir;
  Daemon d(kBinary, dir.path(), lone("n1"));
  d.start();
  ASSERT_TRUE(d.wait_ready());
  ASSERT_EQ(d.request("POST", "/api/v1/pools", R"({"id":"p","cidr":"10.0.0.0/24"})").status, 201);
  ASSERT_EQ(d.request("POST", "/api/v1/allocations", R"({"pool_id":"p","subscriber_id":"before"})")
                .status,
            201);
  const std::string backup = (dir.path() / "backup.db").string();
  auto [rc, out] =
      run_command({kBinary, "backup", "--config", d.config().string(), "--output", backup});
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("written to"), std::string::npos);
  ASSERT_EQ(
      d.request("POST", "/api/v1/allocations", R"({"pool_id":"p","subscriber_id":"after"})").status,
      201);

  // Online: the daemon holds the store, so the CLI asks it to restore.
  std::tie(rc, out) =
      run_command({kBinary, "restore", "--config", d.config().string(), "--input", backup});
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("into the running daemon"), std::string::npos) << out;
  EXPECT_EQ(d.get("/api/v1/allocations/after?pool_id=p").status, 404);
  EXPECT_EQ(d.get("/api/v1/allocations/before?pool_id=p").status, 200);
  // A file that is not a backup is refused before anything changes.
  std::ofstream(dir.path() / "junk.db") << "not a database";
  std::tie(rc, out) = run_command({kBinary, "restore", "--config", d.config().string(), "--input",
                                   (dir.path() / "junk.db").string()});
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(d.get("/api/v1/allocations/before?pool_id=p").status, 200);

  // Offline: stopped daemon, restore directly, start again.
  ASSERT_EQ(
      d.request("POST", "/api/v1/allocations", R"({"pool_id":"p","subscriber_id":"later"})").status,
      201);
  d.kill(SIGTERM);
  ASSERT_EQ(d.wait(15s), 0);
  std::tie(rc, out) =
      run_command({kBinary, "restore", "--config", d.config().string(), "--input", backup});
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("1 allocation(s)"), std::string::npos) << out;
  d.start();
  ASSERT_TRUE(d.wait_ready());
  EXPECT_EQ(d.get("/api/v1/allocations/later?pool_id=p").status, 404);
  EXPECT_EQ(d.get("/api/v1/allocations/before?pool_id=p").status, 200);
}

// The manifests in deploy/nexus: the config map's nexus.toml is a valid config for every pod,
// and the kustomization renders.
TEST(NexusDeploy, TheShippedConfigValidatesAndTheManifestsRender) {
  const fs::path deploy = NEXUS_DEPLOY_DIR;
  std::ifstream in(deploy / "configmap.yaml");
  ASSERT_TRUE(in.good());
  std::string line;
  std::string toml;
  bool inside = false;
  while (std::getline(in, line)) {
    if (line.find("nexus.toml: |") != std::string::npos) {
      inside = true;
      continue;
    }
    if (!inside) continue;
    if (!line.empty() && line.compare(0, 4, "    ") != 0) break;
    toml += (line.size() > 4 ? line.substr(4) : "") + "\n";
  }
  ASSERT_NE(toml.find("[p2p]"), std::string::npos);
  TempDir dir;
  std::ofstream(dir.path() / "peer-secret") << "0123456789abcdef0123456789abcdef\n";
  std::ofstream(dir.path() / "api-token") << "token\n";
  // As the StatefulSet mounts them (defaultMode 0400): nexus refuses world-readable secrets.
  for (const char* f : {"peer-secret", "api-token"})
    std::filesystem::permissions(dir.path() / f, std::filesystem::perms::owner_read);
  for (std::size_t at = 0; (at = toml.find("/etc/nexus/secrets", at)) != std::string::npos;)
    toml.replace(at, 18, dir.path().string());
  std::ofstream(dir.path() / "nexus.toml") << toml;
  ::setenv("POD_NAME", "nexus-1", 1);
  auto [rc, out] =
      run_command({kBinary, "validate", "--config", (dir.path() / "nexus.toml").string()});
  ::unsetenv("POD_NAME");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("replica nexus-1"), std::string::npos) << out;
  EXPECT_NE(out.find("DNS nexus-peers.bng-system.svc.cluster.local"), std::string::npos) << out;
  EXPECT_NE(out.find("shared secret"), std::string::npos) << out;

  if (run_command({"kubectl", "version", "--client"}).first != 0)
    GTEST_SKIP() << "no kubectl to render the kustomization";
  std::tie(rc, out) = run_command({"kubectl", "kustomize", deploy.string()});
  ASSERT_EQ(rc, 0) << out;
  for (const char* kind :
       {"kind: StatefulSet", "kind: Service", "kind: ConfigMap", "kind: PodDisruptionBudget",
        "publishNotReadyAddresses: true", "path: /ready", "namespace: bng-system"})
    EXPECT_NE(out.find(kind), std::string::npos) << kind;
}

}  // namespace
