// bng.toml: the daemon's configuration, read with the keys operators know from their
// runbooks (shared/CONFIG.md) and checked as a whole, every problem named by key.
#pragma once

#include <bngkit/bng/pool/pool_config.hpp>
#include <bngkit/bng/session/radius_aaa.hpp>
#include <bngkit/common/result.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace bngkit::bngd {

struct OltConfig {
  std::string id = "bng";
  std::string name;
  std::string region;
  std::uint32_t capacity = 0;  ///< subscribers this node takes before refusing new ones (0: no limit)
  bool operator==(const OltConfig&) const = default;
};

struct InterfacesConfig {
  std::string subscriber;  ///< DHCP is served here; the XDP fast path attaches here
  std::string uplink;
  bool operator==(const InterfacesConfig&) const = default;
};

struct NexusConfig {
  std::vector<std::string> endpoints;
  std::chrono::milliseconds heartbeat_interval{30'000};
  std::chrono::milliseconds timeout{10'000};
  std::string token;  ///< bearer token for Nexus (token or token_file); never logged
  bool operator==(const NexusConfig&) const = default;
};

struct RadiusServerConfig {
  std::string host;
  std::uint16_t port = 1812;
  std::uint16_t accounting_port = 1813;
  std::string secret;  ///< never logged
  bool operator==(const RadiusServerConfig&) const = default;
};

/// A Dynamic Authorization client (RFC 5176): who may send Disconnect/CoA-Requests.
struct DaeClientConfig {
  bng::dhcp::Ipv4 address;
  std::string secret;  ///< never logged
  bool operator==(const DaeClientConfig&) const = default;
};

struct DaeConfig {
  bool enabled = true;
  std::string bind = "0.0.0.0";
  std::uint16_t port = 3799;
  std::vector<DaeClientConfig> clients;
  bool operator==(const DaeConfig&) const = default;
};

struct RadiusConfig {
  std::chrono::milliseconds timeout{5'000};
  std::uint32_t retries = 3;
  std::chrono::seconds dead_time{30};       ///< a server that stopped answering is skipped this long
  std::vector<RadiusServerConfig> servers;
  bool authorize = true;                    ///< Access-Request before a subscriber gets an address
  bool accounting = true;                   ///< Accounting-Requests for every session
  std::string username = "mac";             ///< "mac", "circuit-id" or "remote-id"
  std::string password = "bng";             ///< User-Password of MAC/line authentication (never logged)
  std::string nas_identifier;               ///< default: olt.id
  std::optional<bng::dhcp::Ipv4> nas_ip;
  std::chrono::seconds interim_interval{300};  ///< when the server sends no Acct-Interim-Interval
  std::uint32_t accounting_queue_limit = 100'000;
  std::vector<bng::session::RateProfile> rate_profiles;  ///< Filter-Id -> rate
  DaeConfig dae;
  bool operator==(const RadiusConfig&) const = default;
};

struct DhcpConfig {
  std::string pool_id;  ///< the pool new subscribers draw from
  std::chrono::seconds lease_time{3600};
  std::chrono::seconds renewal_time{1800};
  std::chrono::seconds rebinding_time{3150};
  /// Server identifier (option 54) and source of replies; defaults to the pool's gateway.
  std::optional<bng::dhcp::Ipv4> server_id;
  bool operator==(const DhcpConfig&) const = default;
};

struct BgpNeighbor {
  std::string address;
  std::uint32_t remote_as = 0;
  bool operator==(const BgpNeighbor&) const = default;
};

/// Route announcement through a running FRR bgpd (driven with vtysh).
struct BgpConfig {
  bool enabled = false;
  std::uint32_t local_as = 0;
  std::string router_id;
  std::vector<BgpNeighbor> neighbors;
  std::string vtysh = "vtysh";                   ///< the vtysh binary
  std::string vty_socket;                        ///< FRR's --vty_socket directory; empty: FRR's default
  bool announce_host_routes = false;             ///< a /32 per bound subscriber, beside the pool aggregates
  std::chrono::milliseconds reconcile_interval{10'000};
  std::chrono::milliseconds command_timeout{5'000};  ///< one vtysh call
  bool operator==(const BgpConfig&) const = default;
};

struct MetricsConfig {
  bool enabled = true;
  std::uint16_t port = 9090;
  std::string path = "/metrics";
  bool operator==(const MetricsConfig&) const = default;
};

struct ApiConfig {
  std::string bind = "0.0.0.0";
  std::uint16_t port = 8080;
  /// When set (api.token or api.token_file), requests other than GET/HEAD need
  /// "Authorization: Bearer <token>". Never logged.
  std::string token;
  bool operator==(const ApiConfig&) const = default;
};

struct FastPathConfig {
  bool enabled = true;
  std::string mode = "auto";  ///< "native", "generic" or "auto"
  /// bpffs directory where the subscriber cache maps are pinned, so a restart keeps
  /// serving from the kernel. Empty: no pinning.
  std::string pin_path = "/sys/fs/bpf/bngkit";
  /// Per-subscriber counters (accounting, idle timeout) and rate limits in a TC program on
  /// the subscriber interface.
  bool traffic = true;
  bool operator==(const FastPathConfig&) const = default;
};

struct StorageConfig {
  std::string lease_db = "/var/lib/bngkit/leases.db";
  std::string session_db = "/var/lib/bngkit/sessions.db";  ///< sessions and undelivered accounting
  bool operator==(const StorageConfig&) const = default;
};

struct LogConfig {
  std::string format = "text";
  std::string level = "info";
  bool operator==(const LogConfig&) const = default;
};

/// Everything bng.toml says.
struct Config {
  OltConfig olt;
  InterfacesConfig interfaces;
  std::optional<NexusConfig> nexus;
  std::optional<RadiusConfig> radius;
  DhcpConfig dhcp;
  std::vector<bng::pool::PoolConfig> pools;
  BgpConfig bgp;
  MetricsConfig metrics;
  ApiConfig api;
  FastPathConfig fastpath;
  StorageConfig storage;
  LogConfig log;
};

/// Parses and validates a bng.toml text. On failure the error lists every problem, one
/// per line, each naming its key ("dhcp.pool_id: no pool with id \"x\"").
Result<Config> parse_config(std::string_view toml_text, std::string_view source_name);

/// Reads and validates a bng.toml file.
Result<Config> load_config(const std::string& path);

}  // namespace bngkit::bngd
