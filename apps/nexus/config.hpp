// nexus.toml: the daemon's configuration, with the keys operators know from their runbooks
// (shared/CONFIG.md) and a few additions (server.token, node.id, p2p TLS files, timeouts),
// checked as a whole with every problem named by its key.
#pragma once

#include <bngkit/common/result.hpp>
#include <bngkit/nexus/replication.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bngkit::nexusd {

struct ServerConfig {
  std::string bind = "0.0.0.0";
  std::uint16_t http_port = 9000;
  std::uint16_t metrics_port = 9002;
  std::string token;        ///< bearer token for requests that change state (token or token_file)
  std::size_t threads = 4;  ///< HTTP worker threads (handlers wait for the disk)
};

struct NodeConfig {
  std::string id;  ///< this replica's id; defaults to the host name (the pod name in a StatefulSet)
  std::string role = "core";
  std::string region;
  /// Replica ids that share a pool created without "owners" (every replica of the cluster).
  /// Empty: pools without owners (any replica allocates anywhere; conflicts are repaired).
  std::vector<std::string> pool_owners;
};

struct P2pConfig {
  std::string bind = "0.0.0.0";
  std::uint16_t listen_port = 33123;
  std::vector<std::string> peers;
  std::string dns;
  std::string secret;                        ///< secret or secret_file; never logged
  std::string cert_file, key_file, ca_file;  ///< [p2p.tls]: mutual TLS instead of a secret
  std::chrono::milliseconds connect_timeout{3000};
  std::chrono::milliseconds io_timeout{30000};
  std::chrono::milliseconds initial_sync_timeout{10000};
};

struct StorageConfig {
  std::string path = "/var/lib/nexus/data";  ///< a directory: nexus.db and nexus.lock live here
};

struct ClsetConfig {
  std::string topic = "nexus-state";
  std::chrono::milliseconds rebroadcast_interval{5000};
  std::size_t num_workers = 50;
};

struct ShutdownConfig {
  std::chrono::milliseconds timeout{120'000};      ///< hard limit for the whole shutdown
  std::chrono::milliseconds grace_period{10'000};  ///< not ready but serving, before stopping
};

struct HousekeepingConfig {
  std::chrono::milliseconds interval{30'000};  ///< how often expired grants and nodes are freed
  std::chrono::seconds node_stale_after{90};
  std::chrono::seconds node_expire_after{24 * 3600};
};

struct LogConfig {
  std::string format = "text";
  std::string level = "info";
};

/// Everything nexus.toml says.
struct Config {
  ServerConfig server;
  NodeConfig node;
  P2pConfig p2p;
  StorageConfig storage;
  ClsetConfig clset;
  ShutdownConfig graceful_shutdown;
  HousekeepingConfig housekeeping;
  LogConfig log;

  /// Replication runs when peer authentication is configured (required as soon as there are
  /// peers or a DNS name); a lone replica without it does not listen for peers.
  [[nodiscard]] bool replication_enabled() const;
  [[nodiscard]] nexus::ReplicationOptions replication() const;
};

/// Parses and validates nexus.toml text. On failure the error lists every problem, one per
/// line, each naming its key ("clset.num_workers: must be between 1 and 1024").
Result<Config> parse_config(std::string_view toml_text, std::string_view source_name);

/// Reads and validates a nexus.toml file.
Result<Config> load_config(const std::string& path);

}  // namespace bngkit::nexusd
