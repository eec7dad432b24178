// Three `nexus` processes in three network namespaces joined by a bridge (a fourth namespace),
// replicating over real veths. The minority replica is cut off (`ip link set down` on its
// switch port), both sides allocate — including the same subscribers on both sides — the cut
// replica is SIGKILLed and restarted while still cut off, then the link heals. Afterwards:
// all replicas equal, no address twice, no acknowledged allocation lost, the same subscriber
// with one address everywhere, and conflicts counted where they were resolved.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <iostream>
#include <mutex>

#include "cluster_checks.hpp"

namespace {

using namespace nexus_test;

const std::string kBinary = NEXUS_BINARY;

std::string ip_of(const HttpReply& r) {
  auto v = r.json();
  return v.is_object() && v.as_object().contains("ip") ? std::string(v.at("ip").as_string()) : "";
}

int sh(const std::vector<std::string>& argv) { return run_command(argv).first; }

// Namespaces <base>-sw (the bridge) and <base>-0..2 (one replica each, 10.77.0.1-3/24 on
// eth0), removed with everything in them when the test ends, whatever happens.
class Testbed {
 public:
  explicit Testbed(int n) : base_("nxp" + std::to_string(::getpid())), n_(n) {}
  ~Testbed() {
    for (const auto& ns : created_) sh({"ip", "netns", "del", ns});
  }
  Testbed(const Testbed&) = delete;
  Testbed& operator=(const Testbed&) = delete;

  [[nodiscard]] std::string sw() const { return base_ + "-sw"; }
  [[nodiscard]] std::string node(int i) const { return base_ + "-" + std::to_string(i); }
  [[nodiscard]] static std::string address(int i) { return "10.77.0." + std::to_string(i + 1); }

  bool up() {
    if (!add(sw())) return false;
    bool ok = sh({"ip", "-n", sw(), "link", "add", "br0", "type", "bridge"}) == 0 &&
              sh({"ip", "-n", sw(), "link", "set", "br0", "up"}) == 0;
    for (int i = 0; ok && i < n_; ++i) {
      const std::string port = "n" + std::to_string(i);
      ok = add(node(i)) &&
           sh({"ip", "-n", node(i), "link", "add", "eth0", "type", "veth", "peer", "name", port,
               "netns", sw()}) == 0 &&
           sh({"ip", "-n", node(i), "link", "set", "lo", "up"}) == 0 &&
           sh({"ip", "-n", node(i), "addr", "add", address(i) + "/24", "dev", "eth0"}) == 0 &&
           sh({"ip", "-n", node(i), "link", "set", "eth0", "up"}) == 0 &&
           sh({"ip", "-n", sw(), "link", "set", port, "master", "br0"}) == 0 &&
           sh({"ip", "-n", sw(), "link", "set", port, "up"}) == 0;
    }
    return ok;
  }
  /// Cuts (or restores) replica i's link to the others.
  bool link(int i, bool up) {
    return sh({"ip", "-n", sw(), "link", "set", "n" + std::to_string(i), up ? "up" : "down"}) == 0;
  }

 private:
  bool add(const std::string& ns) {
    if (sh({"ip", "netns", "add", ns}) != 0) return false;
    created_.push_back(ns);
    return true;
  }
  std::string base_;
  int n_;
  std::vector<std::string> created_;
};

std::string allocate(const Daemon& d, const std::string& sub, int* status = nullptr) {
  auto r =
      d.request("POST", "/api/v1/allocations", R"({"pool_id":"p","subscriber_id":")" + sub + "\"}");
  if (status != nullptr) *status = r.status;
  return r.status == 201 || r.status == 200 ? ip_of(r) : "";
}

TEST(NexusPartition, BothSidesAllocateThenHealAndConverge) {
  if (::geteuid() != 0)
    GTEST_SKIP() << "needs root: creates network namespaces, veths and a bridge";
  if (sh({"ip", "-V"}) != 0) GTEST_SKIP() << "needs iproute2";
  constexpr int kN = 3;
  Testbed net(kN);
  ASSERT_TRUE(net.up()) << "could not build the namespaces";
  TempDir dir("nexus-partition");
  std::vector<std::unique_ptr<Daemon>> d;
  for (int i = 0; i < kN; ++i) {
    Daemon::Options o;
    o.id = "n" + std::to_string(i);
    o.netns = net.node(i);
    o.bind = "0.0.0.0";
    o.http_port = 9000;  // the runbook ports: every replica has its own namespace
    o.metrics_port = 9002;
    o.p2p_port = 33123;
    o.owners = {"n0", "n1", "n2"};
    // One peer list for all, this replica included (it recognises itself).
    for (int j = 0; j < kN; ++j) o.peers.push_back(Testbed::address(j) + ":33123");
    d.push_back(std::make_unique<Daemon>(kBinary, dir.path(), o));
  }
  for (auto& x : d) x->start();
  for (auto& x : d)
    ASSERT_TRUE(x->wait_ready()) << x->options().id << "\n" << std::ifstream(x->log()).rdbuf();
  const std::vector<Daemon*> all{d[0].get(), d[1].get(), d[2].get()};
  ASSERT_EQ(d[0]->request("POST", "/api/v1/pools", R"({"id":"p","cidr":"10.200.0.0/18"})").status,
            201);
  ASSERT_TRUE(wait_until([&] { return converged(all); }, 15s));
  EXPECT_TRUE(
      wait_until([&] { return metric(*d[0], "nexus_peers{state=\"connected\"}") == 2; }, 10s));

  Allocations acked;
  std::mutex mu;
  auto ack = [&](const std::string& sub, const std::string& ip) {
    ASSERT_FALSE(ip.empty()) << sub;
    std::lock_guard l(mu);
    acked[sub] = ip;
  };
  for (int k = 0; k < 60; ++k)
    ack("pre-" + std::to_string(k), allocate(*d[k % kN], "pre-" + std::to_string(k)));
  ASSERT_TRUE(wait_until([&] { return converged(all); }, 15s));

  // ---- partition: n2 alone
  ASSERT_TRUE(net.link(2, false));
  ack("probe", allocate(*d[0], "probe"));
  std::this_thread::sleep_for(2s);
  EXPECT_EQ(d[2]->get("/api/v1/allocations/probe?pool_id=p").status, 404) << "the partition leaks";
  EXPECT_EQ(d[1]->get("/api/v1/allocations/probe?pool_id=p").status, 200);

  // Both sides allocate at once; "dual-*" subscribers ask both sides (their BNG switched
  // replicas mid-partition): the documented exception, where the later grant is kept.
  std::map<std::string, std::pair<std::string, std::string>> dual;  // sub -> (ip on n0, ip on n2)
  std::vector<std::thread> clients;
  for (int i = 0; i < kN; ++i) {
    clients.emplace_back([&, i] {
      for (int k = 0; k < 150; ++k) {
        const std::string sub = "part-n" + std::to_string(i) + "-" + std::to_string(k);
        ack(sub, allocate(*d[static_cast<std::size_t>(i)], sub));
        if (k < 20 && (i == 0 || i == 2)) {
          const std::string ds = "dual-" + std::to_string(k);
          const std::string ip = allocate(*d[static_cast<std::size_t>(i)], ds);
          ASSERT_FALSE(ip.empty());
          std::lock_guard l(mu);
          (i == 0 ? dual[ds].first : dual[ds].second) = ip;
        }
      }
    });
  }
  for (auto& t : clients) t.join();
  // Renew on the cut side, release on the other, for subscribers from before.
  for (int k = 0; k < 10; ++k)
    EXPECT_EQ(
        d[2]->request("POST", "/api/v1/allocations/pre-" + std::to_string(k) + "/renew?pool_id=p")
            .status,
        200);
  for (int k = 10; k < 20; ++k) {
    EXPECT_EQ(d[0]->request("DELETE", "/api/v1/allocations/pre-" + std::to_string(k) + "?pool_id=p")
                  .status,
              204);
    acked.erase("pre-" + std::to_string(k));
  }

  // The cut replica dies and comes back while still cut off: ready within the bounded wait.
  ASSERT_EQ(d[2]->kill(SIGKILL), 128 + SIGKILL);
  d[2]->start();
  ASSERT_TRUE(d[2]->wait_ready(30s)) << std::ifstream(d[2]->log()).rdbuf();
  // Its peers do not answer (connections time out): they do not hold readiness back.
  EXPECT_NE(d[2]->get("/ready").body.find("unreachable"), std::string::npos)
      << d[2]->get("/ready").body;
  for (int k = 0; k < 150; ++k) {
    const std::string sub = "part-n2-" + std::to_string(k);
    ASSERT_EQ(d[2]->get("/api/v1/allocations/" + sub + "?pool_id=p").status, 200)
        << sub << " lost in the kill";
  }

  // ---- heal
  ASSERT_TRUE(net.link(2, true));
  const auto healed = std::chrono::steady_clock::now();
  ASSERT_TRUE(wait_until([&] { return converged(all); }, 45s)) << digest_of(*d[0]) << "\n"
                                                               << digest_of(*d[1]) << "\n"
                                                               << digest_of(*d[2]);
  std::cout << "[   INFO   ] " << acked.size() << " acknowledged allocations; converged "
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - healed)
                   .count()
            << " ms after the link came back\n";
  std::set<std::string> moved;
  for (const auto& [sub, ips] : dual) moved.insert(sub);
  expect_consistent(all, "p", acked, moved);
  EXPECT_EQ(allocations_of(*d[0], "p").count("pre-15"), 0U)
      << "a release made during the partition holds";

  // Each dual subscriber has one address everywhere, one of the two it was given, and the
  // replica whose grant was replaced counted it.
  const Allocations now = allocations_of(*d[1], "p");
  for (const auto& [sub, ips] : dual) {
    ASSERT_TRUE(now.count(sub)) << sub;
    EXPECT_NE(ips.first, ips.second) << "shares are disjoint";
    EXPECT_TRUE(now.at(sub) == ips.first || now.at(sub) == ips.second) << sub;
  }
  double superseded = 0;
  for (auto* x : all)
    superseded += metric(*x, "nexus_conflicts_resolved_total{kind=\"superseded\"}");
  EXPECT_EQ(superseded, static_cast<double>(dual.size()));

  // Subscribers allocated on the cut side are known to the others with the same address.
  for (int k = 0; k < 150; k += 10) {
    const std::string sub = "part-n2-" + std::to_string(k);
    int status = 0;
    EXPECT_EQ(allocate(*d[0], sub, &status), acked[sub]) << sub;
    EXPECT_EQ(status, 200) << sub;
  }
  for (auto* x : all) {
    EXPECT_EQ(metric(*x, "nexus_conflicts_resolved_total{kind=\"address\"}"), 0) << x->options().id;
    EXPECT_TRUE(
        wait_until([&] { return metric(*x, "nexus_peers{state=\"connected\"}") == 2; }, 10s))
        << x->options().id;
  }
  for (auto& x : d) {
    x->kill(SIGTERM);
    EXPECT_EQ(x->wait(20s), 0) << x->options().id;
  }
}

}  // namespace
