// The Nexus HTTP API (shared/API.md, "Nexus"): pools, allocations, BNG nodes and admin
// actions as handlers on a bngkit::ops::Router, so the daemon (or an embedding program)
// serves them on its own HttpServer. JSON in and out; every error is {"error": "..."} with
// a fitting status; requests that change state need the bearer token when one is set.
#pragma once

#include <bngkit/common/result.hpp>
#include <bngkit/nexus/export.hpp>
#include <bngkit/ops/http.hpp>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace bngkit::nexus {

class Model;

/// How the API behaves.
struct ApiOptions {
  /// When not empty, POST/PUT/DELETE need "Authorization: Bearer <token>" (401 without it,
  /// 403 with another). Reads stay open. Compared in constant time; never logged.
  std::string token;
  /// Owners given to a pool created without "owners": the replicas that share it.
  std::vector<std::string> default_owners;
  /// POST /admin/resync: start anti-entropy with every peer (absent: 503).
  std::function<void()> resync;
  /// After POST /admin/restore replaced the store (typically: resync, so peers send back
  /// everything newer than the backup).
  std::function<void()> restored;
};

/// Registers every Nexus endpoint on `router`. The model must outlive the router.
BNGKIT_NEXUS_EXPORT void add_api_routes(ops::Router& router, Model& model, ApiOptions options);

/// Milliseconds since the Unix epoch as RFC 3339 UTC ("2025-01-31T12:00:00.250Z").
[[nodiscard]] BNGKIT_NEXUS_EXPORT std::string rfc3339(std::int64_t ms);

}  // namespace bngkit::nexus
