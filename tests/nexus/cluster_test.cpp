// Three `nexus` processes on loopback replicating with each other: concurrent allocations on
// every replica through the HTTP API, one replica SIGKILLed mid-load and restarted, then
// convergence; no acknowledged allocation lost, no address twice, the same subscriber gets
// the same address from every replica, and all replicas equal.
#include <gtest/gtest.h>

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

TEST(NexusCluster, ConcurrentAllocationsKill9AndRestartConverge) {
  TempDir dir("nexus-cluster");
  constexpr int kN = 3;
  std::vector<Daemon::Options> opts(kN);
  for (int i = 0; i < kN; ++i) {
    opts[i].id = "n" + std::to_string(i);
    opts[i].http_port = free_port();
    opts[i].metrics_port = free_port();
    opts[i].p2p_port = free_port();
    opts[i].owners = {"n0", "n1", "n2"};
  }
  for (int i = 0; i < kN; ++i)
    for (int j = 0; j < kN; ++j)
      if (i != j) opts[i].peers.push_back("127.0.0.1:" + std::to_string(opts[j].p2p_port));
  std::vector<std::unique_ptr<Daemon>> d;
  for (int i = 0; i < kN; ++i) d.push_back(std::make_unique<Daemon>(kBinary, dir.path(), opts[i]));
  for (auto& x : d) x->start();
  for (auto& x : d) ASSERT_TRUE(x->wait_ready()) << x->options().id;
  const std::vector<Daemon*> all{d[0].get(), d[1].get(), d[2].get()};

  auto r = d[0]->request("POST", "/api/v1/pools", R"({"id":"p","cidr":"10.100.0.0/16"})");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_NE(r.body.find("\"owners\":[\"n0\",\"n1\",\"n2\"]"), std::string::npos) << r.body;
  ASSERT_TRUE(wait_until(
      [&] {
        return d[1]->get("/api/v1/pools/p").status == 200 &&
               d[2]->get("/api/v1/pools/p").status == 200;
      },
      10s));

  // One client per replica, each with its own subscribers, as fast as the replica answers.
  std::mutex mu;
  Allocations acked;
  std::atomic<bool> stop{false};
  std::atomic<int> unanswered{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < kN; ++i) {
    clients.emplace_back([&, i] {
      for (int k = 0; !stop; ++k) {
        const std::string sub = "n" + std::to_string(i) + "-cpe-" + std::to_string(k);
        // A replica that is down gets the same request again until it answers.
        for (;;) {
          auto a = d[static_cast<std::size_t>(i)]->request(
              "POST", "/api/v1/allocations", R"({"pool_id":"p","subscriber_id":")" + sub + "\"}",
              3s);
          if (a.status == 201 || a.status == 200) {
            std::lock_guard l(mu);
            acked[sub] = ip_of(a);
            break;
          }
          ASSERT_EQ(a.status, 0) << a.body;
          ++unanswered;
          if (stop) return;
          std::this_thread::sleep_for(50ms);
        }
      }
    });
  }
  std::this_thread::sleep_for(1500ms);
  ASSERT_EQ(d[2]->kill(SIGKILL), 128 + SIGKILL);
  std::this_thread::sleep_for(1000ms);
  d[2]->start();
  ASSERT_TRUE(d[2]->wait_ready());
  std::this_thread::sleep_for(1500ms);
  stop = true;
  for (auto& t : clients) t.join();
  EXPECT_GT(unanswered.load(), 0) << "the kill happened under load";
  ASSERT_GT(acked.size(), 300U);

  const auto heal_began = std::chrono::steady_clock::now();
  ASSERT_TRUE(wait_until([&] { return converged(all); }, 30s)) << "digests:\n"
                                                               << digest_of(*d[0]) << "\n"
                                                               << digest_of(*d[1]) << "\n"
                                                               << digest_of(*d[2]);
  std::cout << "[   INFO   ] " << acked.size() << " acknowledged allocations, " << unanswered.load()
            << " requests unanswered while n2 was down; converged "
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - heal_began)
                   .count()
            << " ms after the load stopped\n";
  expect_consistent(all, "p", acked);

  // The same subscriber asking another replica gets its address (200, not a new one).
  int asked = 0;
  for (const auto& [sub, ip] : acked) {
    if (++asked % 7 != 0) continue;
    const int owner = sub[1] - '0';
    auto again = d[static_cast<std::size_t>((owner + 1) % kN)]->request(
        "POST", "/api/v1/allocations", R"({"pool_id":"p","subscriber_id":")" + sub + "\"}");
    ASSERT_EQ(again.status, 200) << sub << ": " << again.body;
    EXPECT_EQ(ip_of(again), ip) << sub;
  }
  for (auto* x : all) {
    EXPECT_TRUE(
        wait_until([&] { return metric(*x, "nexus_peers{state=\"connected\"}") == 2; }, 10s))
        << x->options().id;
    EXPECT_EQ(metric(*x, "nexus_conflicts_resolved_total{kind=\"address\"}"), 0) << x->options().id;
  }
  for (auto& x : d) {
    x->kill(SIGTERM);
    EXPECT_EQ(x->wait(20s), 0) << x->options().id;
  }
}

}  // namespace
