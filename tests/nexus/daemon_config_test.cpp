// nexus.toml as operators write it (shared/CONFIG.md): the runbook example, defaults, secrets
// from files and the environment, every problem named by its key; and the daemon's metrics
// following real model state with bounded labels.
#include <gtest/gtest.h>
#include <unistd.h>

#include <bngkit/nexus/model.hpp>
#include <bngkit/ops/metrics.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "config.hpp"
#include "metrics.hpp"

namespace bngkit::nexusd {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string problems(std::string_view toml) {
  auto c = parse_config(toml, "nexus.toml");
  return c.ok() ? std::string() : c.error().message();
}

TEST(NexusConfig, TheRunbookExampleReadsLineByLine) {
  auto c = parse_config(R"(
[server]
http_port = 9000
metrics_port = 9002

[node]
id = "nexus-0"
role = "core"
region = "production"

[p2p]
listen_port = 33123
peers = ["nexus-1:33123", "nexus-2:33123"]
dns = "nexus.bng-system.svc.cluster.local"
secret = "a-long-enough-shared-secret"

[storage]
path = "/var/lib/nexus/data"

[clset]
topic = "nexus-state"
rebroadcast_interval = "5s"
num_workers = 50

[graceful_shutdown]
timeout = "2m"
grace_period = "10s"
)",
                        "nexus.toml");
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->server.http_port, 9000);
  EXPECT_EQ(c->server.metrics_port, 9002);
  EXPECT_EQ(c->node.id, "nexus-0");
  EXPECT_EQ(c->node.region, "production");
  EXPECT_EQ(c->p2p.peers.size(), 2U);
  EXPECT_EQ(c->clset.rebroadcast_interval, 5s);
  EXPECT_EQ(c->clset.num_workers, 50U);
  EXPECT_EQ(c->graceful_shutdown.timeout, 120s);
  EXPECT_EQ(c->graceful_shutdown.grace_period, 10s);
  ASSERT_TRUE(c->replication_enabled());
  const auto r = c->replication();
  EXPECT_EQ(r.listen_port, 33123);
  EXPECT_EQ(r.dns, "nexus.bng-system.svc.cluster.local");
  EXPECT_EQ(r.topic, "nexus-state");
  EXPECT_EQ(r.auth.secret, "a-long-enough-shared-secret");
  EXPECT_EQ(r.rebroadcast_interval, 5s);
  EXPECT_EQ(r.num_workers, 50U);
}

TEST(NexusConfig, DefaultsAreTheRunbookOnes) {
  auto c = parse_config("", "empty.toml");
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->server.http_port, 9000);
  EXPECT_EQ(c->server.metrics_port, 9002);
  EXPECT_EQ(c->p2p.listen_port, 33123);
  EXPECT_EQ(c->storage.path, "/var/lib/nexus/data");
  EXPECT_EQ(c->clset.topic, "nexus-state");
  EXPECT_EQ(c->clset.rebroadcast_interval, 5s);
  EXPECT_EQ(c->clset.num_workers, 50U);
  EXPECT_EQ(c->p2p.initial_sync_timeout, 10s);
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  EXPECT_EQ(c->node.id, host) << "the replica id defaults to the host name (the pod name)";
  EXPECT_FALSE(c->replication_enabled());
}

TEST(NexusConfig, EveryProblemIsNamedByItsKey) {
  const std::string m = problems(R"(
[server]
htp_port = 9000
metrics_port = 9000
http_port = 9000
[node]
id = "n1"
pool_owners = ["n2", "n3"]
[p2p]
peers = ["nexus-1:33123", "nexus-2:99999"]
[clset]
num_workers = 0
rebroadcast_interval = "fast"
[graceful_shutdown]
timeout = "5s"
grace_period = "10s"
[logs]
level = "info"
)");
  for (const char* want :
       {"server.htp_port: unknown key", "server.metrics_port: 9000 is also server.http_port",
        "node.pool_owners: does not include this replica", "clset.num_workers",
        "clset.rebroadcast_interval", "graceful_shutdown.grace_period", "logs: unknown key",
        "p2p: peer traffic must be authenticated", "secret_file or [p2p.tls]"})
    EXPECT_NE(m.find(want), std::string::npos) << "missing \"" << want << "\" in:\n" << m;
  EXPECT_NE(
      problems("[p2p]\nsecret = \"long-enough-secret-1\"\npeers = [\"a:99999\"]\n").find("a:99999"),
      std::string::npos);
  EXPECT_NE(problems("[p2p]\nsecret = \"short\"\n").find("too short"), std::string::npos);
  EXPECT_NE(problems("[server]\nhttp_port = 33123\n[p2p]\nsecret = \"long-enough-secret-1\"\n")
                .find("p2p.listen_port: 33123 is already used"),
            std::string::npos);
  EXPECT_NE(problems("[server\n").find("nexus.toml:1"), std::string::npos) << problems("[server\n");
}

TEST(NexusConfig, SecretsComeFromFilesOrTheEnvironmentAndAreNeverEchoed) {
  const fs::path dir = fs::temp_directory_path() / ("nexus-cfg-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  {
    std::ofstream(dir / "secret") << "file-secret-0123456789\n";
    std::ofstream(dir / "token") << "file-token\n";
  }
  for (const char* f : {"secret", "token"}) fs::permissions(dir / f, fs::perms::owner_read);
  ::setenv("NEXUS_TEST_SECRET", "env-secret-0123456789", 1);
  auto c = parse_config("[server]\ntoken_file = \"" + (dir / "token").string() +
                            "\"\n[p2p]\nsecret_file = \"" + (dir / "secret").string() + "\"\n",
                        "f.toml");
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->server.token, "file-token");
  EXPECT_EQ(c->p2p.secret, "file-secret-0123456789");
  c = parse_config("[p2p]\nsecret = \"${NEXUS_TEST_SECRET}\"\n", "e.toml");
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->p2p.secret, "env-secret-0123456789");
  const std::string both = problems("[p2p]\nsecret = \"inline-secret-visible\"\nsecret_file = \"" +
                                    (dir / "secret").string() + "\"\n");
  EXPECT_NE(both.find("not both"), std::string::npos) << both;
  EXPECT_EQ(both.find("inline-secret-visible"), std::string::npos);
  EXPECT_NE(problems("[p2p]\nsecret = \"${NEXUS_TEST_UNSET_VARIABLE}\"\n")
                .find("NEXUS_TEST_UNSET_VARIABLE"),
            std::string::npos);
  fs::remove_all(dir);
}

TEST(NexusConfig, MutualTlsInsteadOfASecret) {
  auto c = parse_config(R"(
[p2p]
dns = "nexus-headless:33123"
[p2p.tls]
cert_file = "/etc/nexus/tls/tls.crt"
key_file = "/etc/nexus/tls/tls.key"
ca_file = "/etc/nexus/tls/ca.crt"
)",
                        "tls.toml");
  ASSERT_TRUE(c.ok()) << c.error().message();
  const auto r = c->replication();
  EXPECT_TRUE(r.auth.uses_certificates());
  EXPECT_EQ(r.auth.ca_file, "/etc/nexus/tls/ca.crt");
  EXPECT_NE(
      problems("[p2p]\nsecret = \"long-enough-secret-1\"\n[p2p.tls]\ncert_file = \"a\"\nkey_file = "
               "\"b\"\nca_file = \"c\"\n")
          .find("not both"),
      std::string::npos);
  EXPECT_NE(problems("[p2p.tls]\ncert_file = \"a\"\n").find("p2p.tls.key_file"), std::string::npos);
}

TEST(NexusMetrics, RouteLabelsStayBounded) {
  EXPECT_EQ(route_label("/api/v1/allocations"), "/api/v1/allocations");
  EXPECT_EQ(route_label("/api/v1/allocations/circuit-id:olt1/1/1"), "other");
  EXPECT_EQ(route_label("/api/v1/allocations/sub-1"), "/api/v1/allocations/{id}");
  EXPECT_EQ(route_label("/api/v1/allocations/sub-1/renew"), "/api/v1/allocations/{id}/renew");
  EXPECT_EQ(route_label("/api/v1/pools/p1"), "/api/v1/pools/{id}");
  EXPECT_EQ(route_label("/ready"), "/ready");
  EXPECT_EQ(route_label("/admin/resync"), "/admin/resync");
  EXPECT_EQ(route_label("/wp-login.php"), "other");
}

double sample(const std::string& text, const std::string& series) {
  const auto at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::strtod(text.c_str() + at + series.size() + 2, nullptr);
}

TEST(NexusMetrics, FollowTheModel) {
  nexus::ModelOptions mo;
  mo.replica_id = "n1";
  auto model = std::move(nexus::Model::open(nullptr, mo)).value();
  prometheus::Registry registry;
  Metrics metrics(registry);
  nexus::Pool p;
  p.id = "p";
  p.network = *nexus::Prefix::parse("10.0.0.0/29");  // 6 usable
  ASSERT_TRUE(model->create_pool(p).ok());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(model->allocate("p", "s" + std::to_string(i)).ok());
  ASSERT_TRUE(model->heartbeat({"olt", "", "", {}}).ok());
  metrics.observe_request("POST", "/api/v1/allocations", 201, 2ms);
  metrics.observe_request("POST", "/api/v1/allocations", 503, 1ms);
  metrics.update(*model, nullptr, true);
  std::string text = "\n" + ops::render_prometheus(registry);
  EXPECT_EQ(sample(text, "nexus_allocations{pool=\"p\"}"), 3);
  EXPECT_EQ(sample(text, "nexus_pool_usable_addresses{pool=\"p\"}"), 6);
  EXPECT_EQ(sample(text, "nexus_pool_utilisation_ratio{pool=\"p\"}"), 0.5);
  EXPECT_EQ(sample(text, "nexus_nodes{status=\"active\"}"), 1);
  EXPECT_EQ(sample(text, "nexus_ready"), 1);
  EXPECT_EQ(sample(text, "nexus_allocations_created_total"), 1);
  EXPECT_EQ(
      sample(
          text,
          "nexus_api_requests_total{method=\"POST\",route=\"/api/v1/allocations\",status=\"503\"}"),
      1);
  EXPECT_EQ(sample(text,
                   "nexus_api_request_duration_seconds_count{method=\"POST\",route=\"/api/v1/"
                   "allocations\"}"),
            2);
  // A deleted pool leaves no series behind.
  ASSERT_TRUE(model->delete_pool("p").ok());
  metrics.update(*model, nullptr, false);
  text = "\n" + ops::render_prometheus(registry);
  EXPECT_EQ(sample(text, "nexus_allocations{pool=\"p\"}"), -1);
  EXPECT_EQ(sample(text, "nexus_ready"), 0);
}

}  // namespace
}  // namespace bngkit::nexusd
