// HealthChecks: evaluation and JSON rendering.
#include <bngkit/ops/health.hpp>

#include <boost/json.hpp>

namespace bngkit::ops {

void HealthChecks::add(Kind kind, std::string name, Check check) {
  std::lock_guard lock(mutex_);
  checks_.emplace_back(kind, std::move(name), std::move(check));
}

HealthChecks::Report HealthChecks::evaluate(Kind kind) const {
  std::vector<std::tuple<Kind, std::string, Check>> checks;
  {
    std::lock_guard lock(mutex_);
    checks = checks_;
  }
  Report report;
  for (const auto& [k, name, check] : checks) {
    if (kind == Kind::liveness && k != Kind::liveness) continue;
    CheckResult r;
    try {
      r = check();
    } catch (const std::exception& e) {
      r = CheckResult{false, std::string("check failed: ") + e.what()};
    }
    report.healthy = report.healthy && r.healthy;
    report.checks.emplace_back(name, std::move(r));
  }
  return report;
}

std::string HealthChecks::to_json(const Report& report) {
  boost::json::object checks;
  for (const auto& [name, r] : report.checks) {
    checks[name] = boost::json::object{{"healthy", r.healthy}, {"detail", r.detail}};
  }
  boost::json::object o{{"status", report.healthy ? "ok" : "unavailable"}, {"checks", std::move(checks)}};
  return boost::json::serialize(o);
}

void HealthChecks::add_endpoints(Router& router) const {
  auto handler = [this](Kind kind) {
    return [this, kind](const Request&) {
      auto report = evaluate(kind);
      return Response::json(report.healthy ? 200 : 503, to_json(report));
    };
  };
  router.add("GET", "/health/live", handler(Kind::liveness));
  router.add("GET", "/health", handler(Kind::liveness));
  router.add("GET", "/health/ready", handler(Kind::readiness));
  router.add("GET", "/ready", handler(Kind::readiness));
}

}  // namespace bngkit::ops
