// System benchmark: allocations per second through the nexus HTTP API on one node with
// durability on (every allocation committed to SQLite with synchronous=FULL before the
// answer), compared in the same run with etcd doing the equivalent compare-and-set allocation
// (one transaction per attempt: "the subscriber has no address and the candidate address is
// free" -> write both keys; else probe the next address), both from the same HTTP client with
// the same concurrency, both on the same disk. etcd is started on loopback by this program and
// stopped by its PID.
//
//   nexus_api_bench [--allocations N] [--clients C] [--nexus PATH] [--etcd PATH] [--no-etcd]
#include <atomic>
#include <iomanip>
#include <iostream>
#include <mutex>

#include "nexus_bench_util.hpp"

namespace {

using namespace nexus_bench;

struct Outcome {
  std::string name;
  std::size_t allocations = 0;
  std::size_t requests = 0;
  std::size_t errors = 0;
  double seconds = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  [[nodiscard]] double rate() const {
    return seconds > 0 ? static_cast<double>(allocations) / seconds : 0;
  }
};

// Runs `one(client, i)` for i in [0, n) on `clients` threads, each with its own keep-alive
// connection; `one` returns the number of requests it made (0: failed).
Outcome drive(const std::string& name, std::uint16_t port, std::size_t n, int clients,
              const std::function<std::size_t(HttpClient&, std::size_t)>& one) {
  Outcome o;
  o.name = name;
  std::atomic<std::size_t> next{0};
  std::atomic<std::size_t> requests{0};
  std::atomic<std::size_t> errors{0};
  std::mutex mu;
  std::vector<double> latencies;
  latencies.reserve(n);
  const auto began = Clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < clients; ++t) {
    threads.emplace_back([&] {
      HttpClient client(port);
      std::vector<double> mine;
      for (std::size_t i; (i = next.fetch_add(1)) < n;) {
        const auto t0 = Clock::now();
        const std::size_t made = one(client, i);
        mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        if (made == 0) errors++;
        requests += made;
      }
      std::lock_guard l(mu);
      latencies.insert(latencies.end(), mine.begin(), mine.end());
    });
  }
  for (auto& t : threads) t.join();
  o.seconds = std::chrono::duration<double>(Clock::now() - began).count();
  o.allocations = n - errors;
  o.requests = requests;
  o.errors = errors;
  o.p50_ms = percentile(latencies, 0.50);
  o.p99_ms = percentile(latencies, 0.99);
  return o;
}

std::string base64(const std::string& in) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                       (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], t[v & 63]};
  }
  if (i + 1 == in.size()) {
    const unsigned v = static_cast<unsigned char>(in[i]) << 16;
    out += {t[v >> 18], t[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    const unsigned v =
        (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], '='};
  }
  return out;
}

std::uint64_t fnv(const std::string& s) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
  return h;
}

// One allocation in etcd: compare-and-set on the subscriber's key and the candidate address's
// key, probing on from a hash of the subscriber id, as an allocator on etcd does it.
std::size_t etcd_allocate(HttpClient& c, std::size_t i) {
  const std::string sub = "sub-" + std::to_string(i);
  const std::string sub_key = base64("alloc/bench/" + sub);
  std::uint64_t u = fnv(sub) % 65534;
  for (std::size_t attempt = 1; attempt <= 65534; ++attempt, u = (u + 1) % 65534) {
    const unsigned host = static_cast<unsigned>(u) + 1;
    const std::string ip = "10.0." + std::to_string(host >> 8) + "." + std::to_string(host & 255);
    const std::string ip_key = base64("ip/bench/" + ip);
    const std::string body =
        R"({"compare":[{"key":")" + sub_key +
        R"(","target":"CREATE","result":"EQUAL","create_revision":"0"},)" + R"({"key":")" + ip_key +
        R"(","target":"CREATE","result":"EQUAL","create_revision":"0"}],)" +
        R"("success":[{"requestPut":{"key":")" + sub_key + R"(","value":")" + base64(ip) +
        R"("}},)" + R"({"requestPut":{"key":")" + ip_key + R"(","value":")" + base64(sub) +
        R"("}}],)" + R"("failure":[{"requestRange":{"key":")" + sub_key + R"("}}]})";
    auto r = c.request("POST", "/v3/kv/txn", body);
    if (r.status != 200) return 0;
    if (r.body.find("\"succeeded\":true") != std::string::npos) return attempt;
    if (r.body.find("\"kvs\"") != std::string::npos) return attempt;  // it already had one
  }
  return 0;
}

void print(const std::vector<Outcome>& rows, int clients) {
  std::cout << "\nallocations through the API, " << clients
            << " concurrent keep-alive clients, durable commits\n";
  std::cout << std::left << std::setw(10) << "system" << std::right << std::setw(12)
            << "allocations" << std::setw(10) << "requests" << std::setw(8) << "errors"
            << std::setw(10) << "seconds" << std::setw(12) << "allocs/s" << std::setw(10)
            << "p50 ms" << std::setw(10) << "p99 ms"
            << "\n";
  for (const auto& o : rows)
    std::cout << std::left << std::setw(10) << o.name << std::right << std::setw(12)
              << o.allocations << std::setw(10) << o.requests << std::setw(8) << o.errors
              << std::setw(10) << std::fixed << std::setprecision(2) << o.seconds << std::setw(12)
              << std::setprecision(0) << o.rate() << std::setw(10) << std::setprecision(2)
              << o.p50_ms << std::setw(10) << o.p99_ms << "\n";
  if (rows.size() == 2 && rows[1].rate() > 0)
    std::cout << "nexus/etcd allocation rate: " << std::setprecision(2)
              << rows[0].rate() / rows[1].rate() << "x\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t n = 20000;
  int clients = 16;
  std::string nexus = NEXUS_BINARY;
  std::string etcd = "etcd";
  bool with_etcd = true;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--allocations")
      n = std::stoul(value());
    else if (a == "--clients")
      clients = std::stoi(value());
    else if (a == "--nexus")
      nexus = value();
    else if (a == "--etcd")
      etcd = value();
    else if (a == "--no-etcd")
      with_etcd = false;
    else {
      std::cerr << "usage: nexus_api_bench [--allocations N] [--clients C] [--nexus PATH] [--etcd "
                   "PATH] [--no-etcd]\n";
      return 2;
    }
  }
  if (n > 60000) {
    std::cerr << "at most 60000 allocations (one /16 pool)\n";
    return 2;
  }
  std::string tmpl = (fs::temp_directory_path() / "nexus-api-bench-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) return 1;
  const fs::path dir = tmpl;
  std::vector<Outcome> rows;
  int rc = 0;
  {
    NexusNode node{"bench"};
    node.write_config(dir / "nexus", {}, {});
    Process p({nexus, "run", "--config", (dir / "nexus" / "nexus.toml").string()},
              dir / "nexus.log");
    HttpClient admin(node.http_port);
    if (!wait_until([&] { return admin.request("GET", "/ready").status == 200; }, 20s)) {
      std::cerr << "nexus did not become ready; see " << (dir / "nexus.log") << "\n";
      return 1;
    }
    admin.request("POST", "/api/v1/pools", R"({"id":"bench","cidr":"10.0.0.0/16"})");
    rows.push_back(
        drive("nexus", node.http_port, n, clients, [](HttpClient& c, std::size_t i) -> std::size_t {
          auto r =
              c.request("POST", "/api/v1/allocations",
                        R"({"pool_id":"bench","subscriber_id":"sub-)" + std::to_string(i) + "\"}");
          return r.status == 201 ? 1 : 0;
        }));
    auto count = admin.request("GET", "/api/v1/pools/bench");
    if (count.body.find("\"allocated\":" + std::to_string(rows.back().allocations)) ==
        std::string::npos) {
      std::cerr << "nexus holds an unexpected number of allocations: " << count.body << "\n";
      rc = 1;
    }
    p.stop();
  }
  if (with_etcd) {
    const auto client_port = free_port();
    const auto peer_port = free_port();
    const std::string curl = "http://127.0.0.1:" + std::to_string(client_port);
    const std::string purl = "http://127.0.0.1:" + std::to_string(peer_port);
    Process p({etcd, "--name", "bench", "--data-dir", (dir / "etcd").string(),
               "--listen-client-urls", curl, "--advertise-client-urls", curl, "--listen-peer-urls",
               purl, "--initial-advertise-peer-urls", purl, "--initial-cluster", "bench=" + purl,
               "--logger", "zap", "--log-level", "warn"},
              dir / "etcd.log");
    HttpClient admin(client_port);
    if (!wait_until(
            [&] { return admin.request("GET", "/health").body.find("true") != std::string::npos; },
            20s)) {
      std::cerr << "etcd did not start; see " << (dir / "etcd.log") << "\n";
      return 1;
    }
    rows.push_back(drive("etcd", client_port, n, clients, etcd_allocate));
    auto count = admin.request("POST", "/v3/kv/range",
                               R"({"key":")" + base64("alloc/bench/") + R"(","range_end":")" +
                                   base64("alloc/bench0") + R"(","count_only":true})");
    if (count.body.find("\"count\":\"" + std::to_string(rows.back().allocations) + "\"") ==
        std::string::npos) {
      std::cerr << "etcd holds an unexpected number of allocations: " << count.body << "\n";
      rc = 1;
    }
    p.stop();
  }
  print(rows, clients);
  std::error_code ec;
  fs::remove_all(dir, ec);
  return rc;
}
