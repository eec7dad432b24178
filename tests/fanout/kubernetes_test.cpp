// EndpointSlice discovery against a local HTTPS server that speaks the list and watch
// API with real-shaped JSON: which endpoints count, list then watch, a watch that
// breaks and resumes from the last resourceVersion, "410 Gone" and a fresh list, token
// and CA checks, and the Fanout delivering to what was discovered.
#include <bngkit/fanout/engine.hpp>
#include <bngkit/fanout/fanout.hpp>
#include <bngkit/fanout/kubernetes.hpp>

#include <gtest/gtest.h>

#include "daemon_util.hpp"
#include "k8s_api_server.hpp"

namespace bngkit::fanout {
namespace {

using fotest::endpoint_slice;
using fotest::K8sApiServer;
using fotest::K8sEndpoint;
using fotest::wait_until;
using namespace std::chrono_literals;

std::string text(const boost::json::object& o) { return boost::json::serialize(o); }

KubernetesSource source(std::string ns = "logging") {
  KubernetesSource s;
  s.namespace_name = std::move(ns);
  s.service = "vector-aggregators";
  s.port = 5514;
  return s;
}

std::vector<std::string> names(const std::vector<Downstream>& ds) {
  std::vector<std::string> out;
  for (const auto& d : ds) out.push_back(d.name + "=" + d.address.to_string());
  return out;
}

TEST(EndpointSlices, ReadyNotTerminatingIPv4EndpointsCount) {
  const auto slice = endpoint_slice(
      "vector-aggregators-abcde", "logging", "vector-aggregators",
      {{"10.1.0.5", "vector-0", true, false},
       {"10.1.0.6", "vector-1", false, false},          // not ready
       {"10.1.0.7", "vector-2", true, true},            // terminating
       {"10.1.0.8", "vector-3", std::nullopt, false}},  // ready absent: counts as ready
      "syslog", 5514);
  auto ds = downstreams_from_slice(text(slice), source());
  ASSERT_TRUE(ds.ok()) << ds.error().message();
  EXPECT_EQ(names(*ds),
            (std::vector<std::string>{"vector-0=10.1.0.5:5514", "vector-3=10.1.0.8:5514"}));
}

TEST(EndpointSlices, PortByNameAndSlicesThatAreNotOurs) {
  auto by_name = source();
  by_name.port = 0;
  by_name.port_name = "syslog";
  const auto slice = endpoint_slice("s1", "logging", "vector-aggregators",
                                    {{"10.1.0.5", "vector-0"}}, "syslog", 6514);
  auto ds = downstreams_from_slice(text(slice), by_name);
  ASSERT_TRUE(ds.ok());
  EXPECT_EQ(names(*ds), (std::vector<std::string>{"vector-0=10.1.0.5:6514"}));

  by_name.port_name = "metrics";  // a slice without that port contributes nothing
  EXPECT_TRUE(downstreams_from_slice(text(slice), by_name)->empty());

  const auto v6 = endpoint_slice("s2", "logging", "vector-aggregators", {{"fd00::5", "vector-0"}},
                                 "syslog", 5514, "IPv6");
  EXPECT_TRUE(downstreams_from_slice(text(v6), source())->empty());

  auto empty = endpoint_slice("s3", "logging", "vector-aggregators", {}, "syslog", 5514);
  empty["endpoints"] = nullptr;  // what the API sends for a Service with no pods
  EXPECT_TRUE(downstreams_from_slice(text(empty), source())->empty());

  EXPECT_FALSE(downstreams_from_slice("[1,2]", source()).ok());
  EXPECT_FALSE(
      downstreams_from_slice("{\"endpoints\": 5, \"addressType\": \"IPv4\"}", source()).ok());
}

// A server, the files a pod has, and a watcher on them.
class Discovery : public ::testing::Test {
 protected:
  Discovery() : server_("logging", "vector-aggregators", "s3cr3t-token") {
    api_.api_server = server_.url();
    api_.token_file = dir_.write("token", "s3cr3t-token\n");
    api_.ca_file = dir_.write("ca.crt", server_.ca_pem());
    api_.namespace_file = dir_.write("namespace", "logging");
    api_.request_timeout = 2s;
    api_.backoff_min = 20ms;
    api_.backoff_max = 200ms;
  }

  void start(KubernetesSource src = source()) {
    watcher_ = std::make_unique<EndpointSliceWatcher>(api_, src, [this](std::vector<Downstream> d) {
      std::lock_guard l(mu_);
      latest_ = names(d);
      ++updates_;
    });
    auto r = watcher_->start();
    ASSERT_TRUE(r.ok()) << r.error().message();
  }

  std::vector<std::string> latest() {
    std::lock_guard l(mu_);
    return latest_;
  }
  bool latest_is(const std::vector<std::string>& want) {
    return wait_until([&] { return latest() == want; }, 5s);
  }
  std::vector<std::string> watch_requests() {
    std::vector<std::string> w;
    for (const auto& r : server_.requests()) {
      if (r.find("watch=1") != std::string::npos) w.push_back(r);
    }
    return w;
  }

  fotest::TempDir dir_;
  K8sApiServer server_;
  KubernetesApiConfig api_;
  std::unique_ptr<EndpointSliceWatcher> watcher_;
  std::mutex mu_;
  std::vector<std::string> latest_;
  int updates_ = 0;
};

TEST_F(Discovery, ListsThenFollowsTheWatch) {
  server_.put(endpoint_slice("va-1", "logging", "vector-aggregators",
                             {{"10.1.0.5", "vector-0"}, {"10.1.0.6", "vector-1"}}, "syslog", 5514));
  server_.put(endpoint_slice("va-2", "logging", "vector-aggregators", {{"10.1.1.5", "vector-2"}},
                             "syslog", 5514));
  start();
  ASSERT_TRUE(
      latest_is({"vector-0=10.1.0.5:5514", "vector-1=10.1.0.6:5514", "vector-2=10.1.1.5:5514"}))
      << ::testing::PrintToString(latest());
  auto st = watcher_->status();
  EXPECT_TRUE(st.synced);
  EXPECT_EQ(st.lists, 1u);
  EXPECT_EQ(st.namespace_name, "logging");

  // vector-1 starts terminating (rolling update), a new pod becomes ready elsewhere.
  server_.put(endpoint_slice("va-1", "logging", "vector-aggregators",
                             {{"10.1.0.5", "vector-0"}, {"10.1.0.6", "vector-1", true, true}},
                             "syslog", 5514));
  server_.put(endpoint_slice("va-3", "logging", "vector-aggregators", {{"10.1.2.9", "vector-3"}},
                             "syslog", 5514));
  ASSERT_TRUE(
      latest_is({"vector-0=10.1.0.5:5514", "vector-2=10.1.1.5:5514", "vector-3=10.1.2.9:5514"}))
      << ::testing::PrintToString(latest());
  server_.remove("va-2");
  ASSERT_TRUE(latest_is({"vector-0=10.1.0.5:5514", "vector-3=10.1.2.9:5514"}));
  server_.bookmark();
  ASSERT_TRUE(wait_until(
      [&] { return watcher_->status().resource_version == server_.resource_version(); }, 5s));
  st = watcher_->status();
  EXPECT_EQ(st.lists, 1u);
  EXPECT_EQ(st.watches, 1u);
  EXPECT_EQ(st.events, 4u);
  EXPECT_TRUE(st.last_error.empty()) << st.last_error;
  // What the API server saw: a list by service label, then a watch from its version.
  const auto reqs = server_.requests();
  ASSERT_GE(reqs.size(), 2u);
  EXPECT_EQ(reqs[0],
            "/apis/discovery.k8s.io/v1/namespaces/logging/endpointslices?labelSelector="
            "kubernetes.io%2Fservice-name%3Dvector-aggregators");
  EXPECT_NE(reqs[1].find("&watch=1&allowWatchBookmarks=true&resourceVersion=1002&timeoutSeconds="),
            std::string::npos)
      << reqs[1];
}

TEST_F(Discovery, ABrokenWatchResumesFromTheLastVersionWithoutMissingAnything) {
  server_.put(endpoint_slice("va-1", "logging", "vector-aggregators", {{"10.1.0.5", "vector-0"}},
                             "syslog", 5514));
  start();
  ASSERT_TRUE(latest_is({"vector-0=10.1.0.5:5514"}));
  server_.put(endpoint_slice("va-1", "logging", "vector-aggregators",
                             {{"10.1.0.5", "vector-0"}, {"10.1.0.6", "vector-1"}}, "syslog", 5514));
  ASSERT_TRUE(latest_is({"vector-0=10.1.0.5:5514", "vector-1=10.1.0.6:5514"}));
  const std::string seen = watcher_->status().resource_version;

  // The connection drops; while the watcher is away, a slice changes.
  server_.break_watch();
  server_.put(endpoint_slice("va-2", "logging", "vector-aggregators", {{"10.1.1.5", "vector-2"}},
                             "syslog", 5514));
  ASSERT_TRUE(
      latest_is({"vector-0=10.1.0.5:5514", "vector-1=10.1.0.6:5514", "vector-2=10.1.1.5:5514"}))
      << ::testing::PrintToString(latest()) << ::testing::PrintToString(server_.requests())
      << watcher_->status().last_error;
  const auto watches = watch_requests();
  ASSERT_GE(watches.size(), 2u);
  EXPECT_NE(watches[1].find("resourceVersion=" + seen + "&"), std::string::npos) << watches[1];
  EXPECT_EQ(watcher_->status().lists, 1u) << "resumed, not listed again";
}

TEST_F(Discovery, AnEventOverTheLimitIsRefusedAndCounted) {
  api_.max_response_bytes = 8192;
  server_.put(endpoint_slice("va-1", "logging", "vector-aggregators", {{"10.1.0.5", "vector-0"}},
                             "syslog", 5514));
  start();
  ASSERT_TRUE(latest_is({"vector-0=10.1.0.5:5514"}));
  // A slice of 100 endpoints is one event of ~30 KiB: over the limit, never buffered whole.
  std::vector<K8sEndpoint> many;
  for (int i = 0; i < 100; ++i) many.push_back({"10.2.0." + std::to_string(i + 1), "big-" + std::to_string(i)});
  server_.put(endpoint_slice("va-big", "logging", "vector-aggregators", many, "syslog", 5514));
  ASSERT_TRUE(wait_until([&] { return watcher_->status().oversized >= 2; }, 5s))
      << watcher_->status().last_error;
  EXPECT_NE(watcher_->status().last_error.find("a watch event over 8192 bytes"), std::string::npos)
      << watcher_->status().last_error;
  EXPECT_EQ(latest(), std::vector<std::string>{"vector-0=10.1.0.5:5514"}) << "what was known stays";
  // Once the big slice is gone the stream of small events is followed again.
  server_.remove("va-big");
  server_.put(endpoint_slice("va-2", "logging", "vector-aggregators", {{"10.1.1.5", "vector-2"}},
                             "syslog", 5514));
  server_.compact();  // the big event leaves the history: a fresh list (small again)
  ASSERT_TRUE(latest_is({"vector-0=10.1.0.5:5514", "vector-2=10.1.1.5:5514"}))
      << ::testing::PrintToString(latest()) << watcher_->status().last_error;
}

TEST_F(Discovery, GoneVersionMeansAFreshList) {
  server_.put(endpoint_slice("va-1", "logging", "vector-aggregators", {{"10.1.0.5", "vector-0"}},
                             "syslog", 5514));
  start();
  ASSERT_TRUE(latest_is({"vector-0=10.1.0.5:5514"}));
  // History compacted past what the watcher knows: its resume gets 410 and it lists.
  server_.compact();
  server_.remove("va-1");
  server_.put(endpoint_slice("va-9", "logging", "vector-aggregators", {{"10.1.9.9", "vector-9"}},
                             "syslog", 5514));
  server_.compact();
  ASSERT_TRUE(latest_is({"vector-9=10.1.9.9:5514"})) << ::testing::PrintToString(latest());
  EXPECT_GE(watcher_->status().lists, 2u);
}

TEST_F(Discovery, BadTokenIsReportedAndARotatedTokenIsPickedUp) {
  server_.put(endpoint_slice("va-1", "logging", "vector-aggregators", {{"10.1.0.5", "vector-0"}},
                             "syslog", 5514));
  server_.set_token("rotated-token");
  start();
  ASSERT_TRUE(wait_until(
      [&] { return watcher_->status().last_error.find("HTTP 401") != std::string::npos; }, 5s))
      << watcher_->status().last_error;
  EXPECT_FALSE(watcher_->status().synced);
  dir_.write("token", "rotated-token\n");  // kubelet rotated the projected token
  ASSERT_TRUE(latest_is({"vector-0=10.1.0.5:5514"}));
  EXPECT_TRUE(watcher_->status().synced);
}

TEST_F(Discovery, AServerCertificateFromAnotherCaIsRefused) {
  K8sApiServer other("logging", "vector-aggregators", "s3cr3t-token");
  api_.ca_file = dir_.write("other-ca.crt", other.ca_pem());
  start();
  ASSERT_TRUE(wait_until([&] { return !watcher_->status().last_error.empty(); }, 5s));
  EXPECT_NE(watcher_->status().last_error.find("TLS handshake"), std::string::npos)
      << watcher_->status().last_error;
  EXPECT_FALSE(watcher_->status().synced);
}

TEST_F(Discovery, NamespaceComesFromTheServiceAccountWhenNotConfigured) {
  server_.put(endpoint_slice("va-1", "logging", "vector-aggregators", {{"10.1.0.5", "vector-0"}},
                             "syslog", 5514));
  start(source(""));
  ASSERT_TRUE(latest_is({"vector-0=10.1.0.5:5514"}));
  EXPECT_EQ(watcher_->status().namespace_name, "logging");
}

TEST_F(Discovery, StartFailsClearlyWithoutAnApiServerOrNamespace) {
  auto api = api_;
  api.api_server.clear();
  ::unsetenv("KUBERNETES_SERVICE_HOST");
  EndpointSliceWatcher w1(api, source(), {});
  auto r = w1.start();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("KUBERNETES_SERVICE_HOST"), std::string::npos);
  api = api_;
  api.namespace_file = dir_.path.string() + "/missing";
  EndpointSliceWatcher w2(api, source(""), {});
  r = w2.start();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("namespace"), std::string::npos) << r.error().message();
}

TEST_F(Discovery, TheFanoutDeliversToDiscoveredReceiversAndFollowsChanges) {
  // Receivers on 127.0.0.x (all loopback) at one port, as pods share a target port.
  const std::uint16_t port = fotest::free_udp_port("", "127.0.0.2");
  std::vector<std::unique_ptr<fotest::Receiver>> rx;
  for (int i = 2; i <= 4; ++i) {
    rx.push_back(std::make_unique<fotest::Receiver>(
        "", Endpoint::parse("127.0.0." + std::to_string(i) + ":" + std::to_string(port)).value(),
        false));
    ASSERT_TRUE(rx.back()->start());
  }
  server_.put(endpoint_slice("va-1", "logging", "vector-aggregators",
                             {{"127.0.0.2", "vector-0"}, {"127.0.0.3", "vector-1"}}, "syslog",
                             port));
  FanoutConfig fc;
  ListenerConfig l;
  l.name = "syslog";
  l.bind = Endpoint::parse("127.0.0.1:" + std::to_string(fotest::free_udp_port())).value();
  l.preserve_source = false;
  l.kubernetes = source();
  l.kubernetes->port = 0;
  l.kubernetes->port_name = "syslog";
  fc.listeners.push_back(l);
  fc.health.enabled = false;
  fc.kubernetes = api_;
  Fanout fanout(fc);
  ASSERT_TRUE(fanout.start().ok());
  ASSERT_TRUE(wait_until([&] { return fanout.ready(); }, 5s));
  auto st = fanout.status()[0];
  ASSERT_TRUE(st.discovery.has_value());
  EXPECT_TRUE(st.discovery->synced);
  EXPECT_EQ(st.active_downstreams, 2u);
  EXPECT_EQ(st.downstreams[0].source, "kubernetes");
  EXPECT_EQ(st.downstreams[0].name, "vector-0");

  fotest::Sender s("");
  s.send(l.bind, 1, 0, 200);
  ASSERT_TRUE(wait_until([&] { return rx[0]->count() == 200 && rx[1]->count() == 200; }, 5s));
  EXPECT_EQ(rx[2]->count(), 0u);

  // vector-1 goes, vector-2 comes.
  server_.put(endpoint_slice("va-1", "logging", "vector-aggregators",
                             {{"127.0.0.2", "vector-0"}, {"127.0.0.4", "vector-2"}}, "syslog",
                             port));
  ASSERT_TRUE(wait_until(
      [&] {
        const auto ds = fanout.status()[0].downstreams;
        return ds.size() == 2 && ds[1].name == "vector-2";
      },
      5s));
  s.send(l.bind, 2, 0, 200);
  ASSERT_TRUE(
      wait_until([&] { return rx[0]->seqs(2).size() == 200 && rx[2]->seqs(2).size() == 200; }, 5s));
  EXPECT_TRUE(rx[1]->seqs(2).empty());
  fanout.stop();
}

TEST_F(Discovery, TheFanoutIsNotReadyBeforeTheFirstList) {
  server_.set_token("not-yet");
  FanoutConfig fc;
  ListenerConfig l;
  l.name = "syslog";
  l.bind = Endpoint::parse("127.0.0.1:" + std::to_string(fotest::free_udp_port())).value();
  l.preserve_source = false;
  l.kubernetes = source();
  l.downstreams.push_back({"static", Endpoint::parse("127.0.0.9:9").value()});
  fc.listeners.push_back(l);
  fc.health.enabled = false;
  fc.kubernetes = api_;
  Fanout fanout(fc);
  ASSERT_TRUE(fanout.start().ok());
  std::string why;
  std::this_thread::sleep_for(200ms);
  EXPECT_FALSE(fanout.ready(&why));
  EXPECT_NE(why.find("EndpointSlices not listed yet"), std::string::npos) << why;
  EXPECT_TRUE(fanout.live());
  server_.set_token("s3cr3t-token");
  EXPECT_TRUE(wait_until([&] { return fanout.ready(); }, 5s));
}

TEST_F(Discovery, TheDaemonFindsItsReceiversThroughTheApi) {
  const std::uint16_t port = fotest::free_udp_port("", "127.0.0.2");
  fotest::Receiver a("", Endpoint::parse("127.0.0.2:" + std::to_string(port)).value(), false);
  fotest::Receiver b("", Endpoint::parse("127.0.0.3:" + std::to_string(port)).value(), false);
  ASSERT_TRUE(a.start() && b.start());
  server_.put(endpoint_slice("va-1", "logging", "vector-aggregators",
                             {{"127.0.0.2", "vector-0"}, {"127.0.0.3", "vector-1"}}, "syslog",
                             port));
  const auto listen = fotest::free_udp_port();
  const auto http_port = fotest::free_udp_port();  // a free number; TCP on it is free too here
  const auto cfg = dir_.write("fanout.toml", R"(
[[listeners]]
name = "syslog"
bind = "127.0.0.1:)" + std::to_string(listen) + R"("
policy = "replicate"
preserve_source = false
[listeners.kubernetes]
service = "vector-aggregators"
port_name = "syslog"

[kubernetes]
api_server = ")" + server_.url() + R"("
token_file = ")" + api_.token_file + R"("
ca_file = ")" + api_.ca_file + R"("
namespace_file = ")" + api_.namespace_file + R"("

[health]
enabled = false

[metrics]
bind = "127.0.0.1:)" + std::to_string(http_port) +
                                                 R"("
)");
  const auto log = (dir_.path / "daemon.log").string();
  auto daemon = fotest::spawn("", {UDP_FANOUT_BIN, "run", "--config", cfg}, log);
  auto get = [&](const std::string& path) {
    return fotest::http_get("", "127.0.0.1", http_port, path);
  };
  ASSERT_TRUE(wait_until([&] { return get("/health/ready").first == 200; }, 5s))
      << fotest::slurp(log);

  fotest::Sender s("");
  s.send(Endpoint::parse("127.0.0.1:" + std::to_string(listen)).value(), 1, 0, 300);
  ASSERT_TRUE(wait_until([&] { return a.count() == 300 && b.count() == 300; }, 5s))
      << a.count() << " and " << b.count() << " of 300 arrived\n"
      << get("/metrics").second << fotest::slurp(log);  // flaked twice in CI: say where they went
  const auto m = get("/metrics").second;
  EXPECT_EQ(fotest::sample(m, "udp_fanout_discovery_synced{listener=\"syslog\"}"), 1.0) << m;
  EXPECT_EQ(fotest::sample(
                m, "udp_fanout_downstream_health{address=\"127.0.0.3:" + std::to_string(port) +
                       "\",downstream=\"vector-1\",listener=\"syslog\",source=\"kubernetes\"}"),
            1.0)
      << m;
  EXPECT_EQ(fotest::sample(m, "udp_fanout_downstream_active{listener=\"syslog\"}"), 2.0) << m;

  daemon.kill(SIGTERM);
  EXPECT_EQ(daemon.wait_exit(5s), 0) << fotest::slurp(log);
}

}  // namespace
}  // namespace bngkit::fanout
