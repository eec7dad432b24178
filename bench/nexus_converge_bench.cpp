// System benchmark: how long three nexus replicas take to converge after 100k allocations.
// Three `nexus run` processes on loopback, durable stores, TLS peer links.
//  1. live: clients allocate 100k subscribers through all three APIs at once while the
//     replicas push to each other; reported: load rate, and the time from the last
//     acknowledged allocation until all three show the same digests.
//  2. rejoin: one replica loses its disk (store deleted) and starts again; reported: the time
//     until anti-entropy has given it all 100k+ entries back and the digests match.
//
//   nexus_converge_bench [--allocations N] [--clients-per-node C] [--nexus PATH]
#include <atomic>
#include <iomanip>
#include <iostream>

#include "nexus_bench_util.hpp"

namespace {

using namespace nexus_bench;

std::string digest(std::uint16_t port) {
  HttpClient c(port);
  return c.request("GET", "/admin/digest").body;
}

bool converged(const std::vector<NexusNode>& nodes) {
  const std::string first = digest(nodes[0].http_port);
  if (first.empty()) return false;
  for (std::size_t i = 1; i < nodes.size(); ++i)
    if (digest(nodes[i].http_port) != first) return false;
  return true;
}

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t n = 100000;
  int per_node = 4;
  std::string nexus = NEXUS_BINARY;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--allocations")
      n = std::stoul(value());
    else if (a == "--clients-per-node")
      per_node = std::stoi(value());
    else if (a == "--nexus")
      nexus = value();
    else {
      std::cerr << "usage: nexus_converge_bench [--allocations N] [--clients-per-node C] [--nexus "
                   "PATH]\n";
      return 2;
    }
  }
  std::string tmpl = (fs::temp_directory_path() / "nexus-converge-bench-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) return 1;
  const fs::path dir = tmpl;
  std::vector<NexusNode> nodes{{"n0"}, {"n1"}, {"n2"}};
  const std::vector<std::string> owners{"n0", "n1", "n2"};
  auto config = [&](std::size_t i) {
    std::vector<std::string> peers;
    for (std::size_t j = 0; j < nodes.size(); ++j)
      if (j != i) peers.push_back("127.0.0.1:" + std::to_string(nodes[j].p2p_port));
    nodes[i].write_config(dir / nodes[i].id, peers, owners);
  };
  auto start = [&](std::size_t i) {
    return std::make_unique<Process>(
        std::vector<std::string>{nexus, "run", "--config",
                                 (dir / nodes[i].id / "nexus.toml").string()},
        dir / (nodes[i].id + ".log"));
  };
  std::vector<std::unique_ptr<Process>> procs;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    config(i);
    procs.push_back(start(i));
  }
  for (const auto& node : nodes) {
    HttpClient c(node.http_port);
    if (!wait_until([&] { return c.request("GET", "/ready").status == 200; }, 30s)) {
      std::cerr << node.id << " did not become ready; logs in " << dir << "\n";
      return 1;
    }
  }
  {
    HttpClient c(nodes[0].http_port);
    auto r = c.request("POST", "/api/v1/pools", R"({"id":"bench","cidr":"10.64.0.0/12"})");
    if (r.status != 201) {
      std::cerr << "pool: " << r.status << " " << r.body << "\n";
      return 1;
    }
  }
  if (!wait_until([&] { return converged(nodes); }, 10s)) return 1;

  // ---- 1. live
  std::atomic<std::size_t> next{0};
  std::atomic<std::size_t> errors{0};
  std::vector<std::thread> clients;
  const auto began = Clock::now();
  for (std::size_t node = 0; node < nodes.size(); ++node) {
    for (int t = 0; t < per_node; ++t) {
      clients.emplace_back([&, node] {
        HttpClient c(nodes[node].http_port);
        for (std::size_t i; (i = next.fetch_add(1)) < n;) {
          auto r =
              c.request("POST", "/api/v1/allocations",
                        R"({"pool_id":"bench","subscriber_id":"sub-)" + std::to_string(i) + "\"}");
          if (r.status != 201) errors++;
        }
      });
    }
  }
  for (auto& t : clients) t.join();
  const double load_s = seconds_since(began);
  const auto last_ack = Clock::now();
  const bool live_ok = wait_until([&] { return converged(nodes); }, 300s, 10ms);
  const double live_converge_s = seconds_since(last_ack);
  if (!live_ok) std::cerr << "live: no convergence within 300 s\n";

  // ---- 2. rejoin with an empty disk
  procs[2]->stop();
  fs::remove_all(dir / "n2" / "data");
  const auto restarted = Clock::now();
  procs[2] = start(2);
  double rejoin_s = -1;
  double ready_s = -1;
  {
    HttpClient c(nodes[2].http_port);
    wait_until(
        [&] {
          if (ready_s < 0 && c.request("GET", "/ready").status == 200)
            ready_s = seconds_since(restarted);
          if (rejoin_s < 0 && converged(nodes)) rejoin_s = seconds_since(restarted);
          return ready_s >= 0 && rejoin_s >= 0;
        },
        300s, 10ms);
  }
  const bool rejoin_ok = rejoin_s >= 0;
  std::size_t held = 0;
  {
    HttpClient c(nodes[2].http_port);
    auto r = c.request("GET", "/api/v1/pools/bench");
    const auto at = r.body.find("\"allocated\":");
    if (at != std::string::npos) held = std::strtoul(r.body.c_str() + at + 12, nullptr, 10);
  }

  std::cout << std::fixed << std::setprecision(2);
  std::cout << "\nthree replicas on loopback, durable stores, TLS peer links, " << per_node * 3
            << " API clients (" << per_node << " per replica)\n";
  std::cout << "  live:   " << n - errors << " allocations (" << errors << " errors) in " << load_s
            << " s = " << std::setprecision(0) << static_cast<double>(n - errors) / load_s
            << " allocs/s over the cluster;" << std::setprecision(2) << " converged "
            << live_converge_s << " s after the last acknowledgement"
            << (live_ok ? "" : " (NOT converged)") << "\n";
  std::cout << "  rejoin: a replica with an empty disk has all " << held << " allocations after "
            << rejoin_s << " s (ready after " << ready_s << " s)"
            << (rejoin_ok ? "" : " (NOT converged)") << "\n";
  for (auto& p : procs) p->stop();
  std::error_code ec;
  fs::remove_all(dir, ec);
  return live_ok && rejoin_ok && errors == 0 && held == n ? 0 : 1;
}
