// NexusClient: the BNG side of the Nexus HTTP API (shared/API.md) — register/heartbeat the
// node, list pools, allocate, renew and release subscriber addresses — asynchronous on a
// caller-supplied Asio io_context, so that nothing on the io thread ever waits on the network.
#pragma once

#include <bngkit/bng/dhcp/ipv4.hpp>
#include <bngkit/bng/export.hpp>
#include <bngkit/bng/pool/ipv4_range.hpp>
#include <bngkit/common/result.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace bngkit::bng::nexus {

/// Why a Nexus call failed.
enum class NexusError {
  unreachable = 1,  ///< no endpoint answered (connect, timeout or transport failure on all)
  not_found,        ///< 404: no such pool or allocation
  exhausted,        ///< 503: the pool (this replica's share) has no free address, or not ready
  rejected,         ///< another 4xx: bad input, auth (the body's error is in the context)
  server_error,     ///< 5xx other than 503
  bad_reply,        ///< the answer is not the JSON the API promises
};
[[nodiscard]] BNGKIT_BNG_EXPORT const std::error_category& nexus_category() noexcept;
[[nodiscard]] BNGKIT_BNG_EXPORT std::error_code make_error_code(NexusError e) noexcept;

struct ClientOptions {
  std::vector<std::string> endpoints;  ///< "host:port", tried in order from the last one that answered
  std::string token;                   ///< bearer token; empty: none sent
  std::chrono::milliseconds timeout{10'000};  ///< per attempt (connect + request + reply)
};

/// A Nexus pool as far as DHCP cares.
struct Pool {
  std::string id;
  pool::Ipv4Network network;  ///< normalised
  std::optional<dhcp::Ipv4> gateway;
  std::vector<dhcp::Ipv4> dns;
  std::chrono::seconds lease_ttl{0};  ///< allocation TTL when a request names none
};

/// An address Nexus granted to a subscriber.
struct Allocation {
  std::string pool_id;
  std::string subscriber_id;
  dhcp::Ipv4 address;
  std::string node_id;
  std::chrono::sys_seconds expires_at{};
};

/// Counters since creation, safe to read from any thread.
struct ClientStats {
  std::uint64_t requests_ok = 0;           ///< answered with a 2xx
  std::uint64_t requests_http_error = 0;   ///< answered with another status
  std::uint64_t requests_unreachable = 0;  ///< no endpoint answered
  std::uint64_t failovers = 0;             ///< attempts moved on to the next endpoint
  bool up = false;                         ///< the latest request reached an endpoint
  std::string endpoint;                    ///< the endpoint tried first now
};

/// Asynchronous Nexus API client. One connection per request (no pooling: the request rate of
/// one BNG is a few per subscriber per lease time). Every call completes exactly once, on the
/// io thread, unless the client is destroyed first (then never). Use from the io thread only.
class BNGKIT_BNG_EXPORT NexusClient {
 public:
  template <typename T>
  using Callback = std::function<void(Result<T>)>;

  /// Checks the options (at least one "host:port", a timeout above zero).
  [[nodiscard]] static Result<std::unique_ptr<NexusClient>> create(boost::asio::io_context& io,
                                                                   ClientOptions options);
  ~NexusClient();
  NexusClient(const NexusClient&) = delete;
  NexusClient& operator=(const NexusClient&) = delete;

  /// POST /api/v1/nodes: registers or heartbeats this node.
  void register_node(std::string id, std::string address, std::string region, Callback<void> done);
  /// GET /api/v1/pools.
  void list_pools(Callback<std::vector<Pool>> done);
  /// POST /api/v1/pools (tests and tools; the BNG itself never creates pools).
  void create_pool(std::string id, std::string cidr, std::optional<std::string> gateway, Callback<Pool> done);
  /// POST /api/v1/allocations: the subscriber's allocation in the pool, existing or new.
  void allocate(std::string pool_id, std::string subscriber_id, std::optional<std::chrono::seconds> ttl,
                Callback<Allocation> done);
  /// POST /api/v1/allocations/{subscriber_id}/renew?pool_id=P.
  void renew(std::string pool_id, std::string subscriber_id, std::optional<std::chrono::seconds> ttl,
             Callback<Allocation> done);
  /// DELETE /api/v1/allocations/{subscriber_id}?pool_id=P. A 404 counts as done.
  void release(std::string pool_id, std::string subscriber_id, Callback<void> done);

  [[nodiscard]] ClientStats stats() const;
  /// Cancels every request in flight; their callbacks are not called.
  void stop();

 private:
  struct Impl;
  explicit NexusClient(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

/// Percent-escapes a path segment (RFC 3986 unreserved characters stay).
[[nodiscard]] BNGKIT_BNG_EXPORT std::string escape_path_segment(std::string_view text);

}  // namespace bngkit::bng::nexus

template <>
struct std::is_error_code_enum<bngkit::bng::nexus::NexusError> : std::true_type {};
