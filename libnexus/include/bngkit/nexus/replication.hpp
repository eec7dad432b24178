// Replication between nexus replicas over TCP (port 33123): every change is pushed to every
// peer as it happens, and anti-entropy (digest exchange, then the missing entries both ways)
// runs with each peer every rebroadcast interval and on demand. Peers come from a static
// list and from DNS (a Kubernetes headless service). Every connection is TLS 1.3,
// authenticated by a shared secret (external PSK) or by certificates from a cluster CA
// (mutual TLS): a party without them can neither read nor write state. No OpenSSL or socket
// type appears here (see libnexus/README.md for the wire protocol).
#pragma once

#include <bngkit/common/result.hpp>
#include <bngkit/nexus/export.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace bngkit::nexus {

class Model;

/// How replicas prove to each other that they belong to the cluster. Exactly one of: a
/// shared secret, or a certificate and key signed by `ca_file` (mutual TLS).
struct PeerAuth {
  std::string secret;               ///< shared secret; never logged
  std::filesystem::path cert_file;  ///< this replica's certificate chain (PEM)
  std::filesystem::path key_file;   ///< its private key (PEM)
  std::filesystem::path ca_file;    ///< the CA that signs every replica's certificate (PEM)
  [[nodiscard]] bool uses_certificates() const noexcept { return !cert_file.empty(); }
};

/// How replication runs.
struct ReplicationOptions {
  std::string listen_address = "0.0.0.0";  ///< "::" for IPv6 (and IPv4-mapped)
  std::uint16_t listen_port = 33123;       ///< 0: an ephemeral port (see Replicator::port)
  /// Static peers, "host:port", "[v6]:port" or "host" (then listen_port). A host name is
  /// resolved again on every connection attempt.
  std::vector<std::string> peers;
  /// A DNS name whose A/AAAA records are all peers ("name" or "name:port"), re-resolved every
  /// rebroadcast interval: a Kubernetes headless service. This replica's own address may be
  /// among them; it is recognised in the handshake and skipped.
  std::string dns;
  /// Replicas only talk within one topic (it is part of the handshake and of the PSK).
  std::string topic = "nexus-state";
  PeerAuth auth;
  /// Anti-entropy period per peer, and DNS refresh period.
  std::chrono::milliseconds rebroadcast_interval{5000};
  /// Threads that decode and apply what peers send (merges are serialised by the model).
  std::size_t num_workers = 50;
  std::chrono::milliseconds connect_timeout{3000};
  /// Bound on every socket read/write (a frame in flight, a TLS handshake).
  std::chrono::milliseconds io_timeout{30000};
  /// Readiness waits at most this long for the first anti-entropy round with reachable peers.
  std::chrono::milliseconds initial_sync_timeout{10000};
  /// Largest frame accepted from a peer.
  std::size_t max_frame_bytes = std::size_t{256} << 20;
  /// Deltas are sent in frames of at most this many entries.
  std::size_t max_batch_entries = 20000;
  /// Inbound connections served at once; more are refused.
  std::size_t max_inbound = 64;
};

/// One peer as this replica sees it.
struct PeerStatus {
  std::string address;     ///< as configured ("nexus-1:33123") or resolved ("10.0.0.2:33123")
  std::string replica_id;  ///< learned in the handshake; empty until then
  bool connected = false;  ///< the outbound connection is up and authenticated
  bool synced = false;     ///< an anti-entropy round with it has completed since start
  std::int64_t last_sync_ms = 0;  ///< wall clock of the last completed anti-entropy round
  /// Age of the oldest change made here that this peer has not acknowledged (0: none).
  double lag_seconds = 0;
  std::string last_error;  ///< why the last connection failed or ended
};

/// Totals since start.
struct ReplicationStats {
  std::uint64_t connections_accepted = 0;
  std::uint64_t handshake_failures = 0;  ///< TLS/authentication failures, both directions
  std::uint64_t protocol_errors = 0;     ///< malformed or unexpected frames from peers
  std::uint64_t frames_sent = 0;
  std::uint64_t frames_received = 0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t bytes_received = 0;
  std::uint64_t pushes = 0;                ///< delta frames pushed to peers
  std::uint64_t entries_sent = 0;          ///< entries in pushed and repair deltas
  std::uint64_t entries_applied = 0;       ///< received entries that changed this replica
  std::uint64_t anti_entropy_rounds = 0;   ///< completed, as the initiating side
  std::uint64_t anti_entropy_repairs = 0;  ///< entries exchanged by anti-entropy (both ways)
  std::uint64_t connections_refused = 0;   ///< inbound, closed at once: max_inbound were served
};

/// What replication is doing now.
struct ReplicationStatus {
  /// Readiness: the first anti-entropy round finished with every peer that was reachable
  /// (peers that refused or failed a connection do not block), or initial_sync_timeout
  /// passed. Once true it stays true.
  bool initial_sync_done = false;
  std::string initial_sync_detail;  ///< a sentence for /ready
  std::vector<PeerStatus> peers;    ///< every peer but this replica itself
  ReplicationStats stats;
};

/// Replicates one model with its peers. Thread-safe. Stops (and joins every thread it
/// started) when destroyed.
class BNGKIT_NEXUS_EXPORT Replicator {
 public:
  /// Validates the options, binds the listening socket (errors name the address), and
  /// starts pushing and anti-entropy. The model must outlive the replicator.
  [[nodiscard]] static Result<std::unique_ptr<Replicator>> start(Model& model,
                                                                 ReplicationOptions options);
  ~Replicator();
  Replicator(const Replicator&) = delete;
  Replicator& operator=(const Replicator&) = delete;

  /// The bound peer port.
  [[nodiscard]] std::uint16_t port() const noexcept;
  /// Starts an anti-entropy round with every peer now (POST /admin/resync).
  void resync();
  /// Waits until every connected peer has acknowledged every change made here so far (a
  /// graceful shutdown's last push). False if the time ran out first.
  bool flush(std::chrono::milliseconds timeout);
  [[nodiscard]] ReplicationStatus status() const;
  /// Closes every connection and joins every thread. Idempotent.
  void stop();

  struct Impl;  // opaque; public so the helpers in replication.cpp can name it

 private:
  explicit Replicator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// Checks replication options without starting anything (used by `nexus validate`):
/// authentication present and complete, addresses well formed, limits sensible.
[[nodiscard]] BNGKIT_NEXUS_EXPORT Result<void> validate_replication_options(
    const ReplicationOptions& options);

}  // namespace bngkit::nexus
