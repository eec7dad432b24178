// The nexus daemon as a process: CLI exit codes, the API, health and metrics over real HTTP,
// the token, graceful shutdown on SIGTERM, kill -9 losing no acknowledged allocation, one
// daemon per store, and backup/restore while it runs (online) and while it does not.
#include <bngkit/ops/capabilities.hpp>
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "nexus_process.hpp"

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

TEST(NexusDaemon, Kill9LosesNoAcknowledgedAllocation) {
  TempDir dir;
  Daemon d(kBinary, dir.path(), lone("n1"));
  d.start();
  ASSERT_TRUE(d.wait_ready());
  ASSERT_EQ(d.request("POST", "/api/v1/pools", R"({"id":"p","cidr":"10.0.0.0/20"})").status, 201);
  std::map<std::string, std::string> acked;
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; !stop; ++i) {
      const std::string sub = "cpe-" + std::to_string(i);
      auto r = d.request("POST", "/api/v1/allocations",
                         R"({"pool_id":"p","subscriber_id":")" + sub + "\"}", 2s);
      if (r.status == 201) acked[sub] = json_field(r, "ip");
      if (r.status == 0) break;  // the process is gone
    }
  });
  std::this_thread::sleep_for(1500ms);
  d.kill(SIGKILL);
  stop = true;
  writer.join();
  ASSERT_GT(acked.size(), 20U);
  d.start();
  ASSERT_TRUE(d.wait_ready());
  auto all = d.get("/api/v1/allocations?pool_id=p").json();
  std::map<std::string, std::string> found;
  for (const auto& a : all.at("allocations").as_array())
    found[std::string(a.at("subscriber_id").as_string())] = std::string(a.at("ip").as_string());
  for (const auto& [sub, ip] : acked) {
    ASSERT_TRUE(found.count(sub)) << sub << " was acknowledged and is gone";
    EXPECT_EQ(found[sub], ip) << sub;
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
