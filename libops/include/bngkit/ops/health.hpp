// Liveness and readiness as data: named checks, each computed from real state when asked.
// Served at /health/live, /health/ready and the runbook aliases /health and /ready.
#pragma once

#include <bngkit/ops/export.hpp>
#include <bngkit/ops/http.hpp>

#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace bngkit::ops {

/// Outcome of one check: healthy or not, and a sentence an operator can act on.
struct CheckResult {
  bool healthy = true;
  std::string detail;
};

/// A set of named checks. Liveness: is the process able to do its job at all.
/// Readiness: should it get traffic now (store open, program attached, not draining...).
class BNGKIT_OPS_EXPORT HealthChecks {
 public:
  enum class Kind { liveness, readiness };
  using Check = std::function<CheckResult()>;

  /// Adds a check. Readiness includes every liveness check too.
  void add(Kind kind, std::string name, Check check);

  struct Report {
    bool healthy = true;
    std::vector<std::pair<std::string, CheckResult>> checks;
  };
  /// Runs the checks of `kind` now.
  [[nodiscard]] Report evaluate(Kind kind) const;
  /// JSON body: {"status":"ok"|"unavailable","checks":{name:{"healthy":..,"detail":..}}}
  [[nodiscard]] static std::string to_json(const Report& report);

  /// Registers /health/live and /health (liveness), /health/ready and /ready (readiness):
  /// 200 when healthy, 503 with the failing checks otherwise.
  void add_endpoints(Router& router) const;

 private:
  mutable std::mutex mutex_;
  std::vector<std::tuple<Kind, std::string, Check>> checks_;
};

}  // namespace bngkit::ops
