// Health checks computed from state, metrics rendered from the registry, JSON logs.
#include <bngkit/ops/health.hpp>
#include <bngkit/ops/log.hpp>
#include <bngkit/ops/metrics.hpp>

#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <prometheus/counter.h>

namespace bngkit::ops {
namespace {

TEST(HealthChecks, ReadinessFollowsState) {
  bool attached = true;
  HealthChecks health;
  health.add(HealthChecks::Kind::liveness, "loop", [] { return CheckResult{true, "running"}; });
  health.add(HealthChecks::Kind::readiness, "xdp", [&] {
    return attached ? CheckResult{true, "attached"} : CheckResult{false, "not attached to eth1"};
  });
  Router router;
  health.add_endpoints(router);

  Request ready{.method = "GET", .path = "/health/ready"};
  EXPECT_EQ(router.dispatch(ready).status, 200);
  attached = false;
  auto r = router.dispatch(ready);
  EXPECT_EQ(r.status, 503);
  auto json = boost::json::parse(r.body).as_object();
  EXPECT_EQ(json["status"].as_string(), "unavailable");
  EXPECT_EQ(json["checks"].as_object()["xdp"].as_object()["detail"].as_string(), "not attached to eth1");

  Request live{.method = "GET", .path = "/health/live"};
  EXPECT_EQ(router.dispatch(live).status, 200);  // liveness ignores readiness checks
  Request alias{.method = "GET", .path = "/ready"};
  EXPECT_EQ(router.dispatch(alias).status, 503);
}

TEST(Metrics, ScrapeRefreshesThenRenders) {
  auto registry = std::make_shared<prometheus::Registry>();
  auto& family = prometheus::BuildCounter().Name("bngkit_test_total").Help("test").Register(*registry);
  auto& counter = family.Add({{"kind", "a"}});
  Router router;
  int refreshed = 0;
  add_metrics_endpoint(router, registry, "/metrics", [&] {
    ++refreshed;
    counter.Increment();
  });
  Request req{.method = "GET", .path = "/metrics"};
  auto r = router.dispatch(req);
  EXPECT_EQ(refreshed, 1);
  EXPECT_NE(r.body.find("bngkit_test_total{kind=\"a\"} 1"), std::string::npos) << r.body;
  EXPECT_NE(r.content_type.find("version=0.0.4"), std::string::npos);
}

TEST(Metrics, SyncCounterFollowsTotalsAndNeverGoesDown) {
  prometheus::Registry registry;
  auto& c = prometheus::BuildCounter().Name("x_total").Help("x").Register(registry).Add({});
  sync_counter(c, 5);
  EXPECT_EQ(c.Value(), 5);
  sync_counter(c, 12);
  EXPECT_EQ(c.Value(), 12);
  sync_counter(c, 3);  // source reset
  EXPECT_EQ(c.Value(), 12);
}

TEST(Log, JsonEscapingAndBadOptions) {
  EXPECT_EQ(json_escape("a\"b\\c\n\x01"), "a\\\"b\\\\c\\n\\u0001");
  EXPECT_FALSE(parse_log_format("xml").ok());
  EXPECT_TRUE(setup_logging(LogFormat::json, "info", "test").ok());
  EXPECT_FALSE(setup_logging(LogFormat::text, "loud", "test").ok());
}

}  // namespace
}  // namespace bngkit::ops
