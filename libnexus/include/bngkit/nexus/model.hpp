// The Nexus model: pools, allocations (subscriber -> address per pool) and BNG nodes, each a
// replicated CLSet, made durable through the Store before any change is acknowledged.
// Allocation is deterministic and keeps two promises across partitions and merges (see
// libnexus/README.md): an address is held by at most one subscriber, and a subscriber has
// one address per pool, the same on every replica.
#pragma once

#include <bngkit/common/result.hpp>
#include <bngkit/nexus/clset.hpp>
#include <bngkit/nexus/export.hpp>
#include <bngkit/nexus/ip.hpp>
#include <chrono>
#include <compare>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bngkit::nexus {

class Store;

/// An address pool: IPv4 addresses, or IPv6 addresses or delegated prefixes.
struct Pool {
  std::string id;
  Prefix network;            ///< the pool's CIDR (IPv4 network or IPv6 prefix)
  int delegated_length = 0;  ///< length of each grant: 32 (IPv4), 128 (IPv6 address) or a
                             ///< delegated prefix length such as 56; 0 means the family width
  std::optional<IpAddress> gateway;               ///< never handed out
  std::vector<IpAddress> dns;                     ///< handed to clients; never handed out
  std::vector<Prefix> exclusions;                 ///< never handed out
  std::map<std::string, IpAddress> reservations;  ///< subscriber -> its fixed grant
  std::uint32_t lease_ttl = 3600;                 ///< seconds, when a request names none
  std::uint32_t max_ttl = 86400;                  ///< requests are capped to this many seconds
  std::uint32_t reclaim_after = 3600;  ///< seconds an expired grant stays held before expire()
                                       ///< frees it (a late renewal still finds it)
  /// Nexus replicas that hand out addresses from this pool, each from its own disjoint share
  /// (sorted, unique). Empty: every replica allocates anywhere and conflicts are repaired.
  std::vector<std::string> owners;

  friend bool operator==(const Pool&, const Pool&) = default;
};

/// Checks a pool definition and returns its canonical form (delegated_length filled in,
/// owners sorted); invalid_argument with the reason otherwise.
[[nodiscard]] BNGKIT_NEXUS_EXPORT Result<Pool> validate_pool(Pool pool);

/// The key of an allocation: one per subscriber and pool.
struct AllocationKey {
  std::string pool_id;
  std::string subscriber_id;
  friend bool operator==(const AllocationKey&, const AllocationKey&) = default;
  friend std::strong_ordering operator<=>(const AllocationKey&, const AllocationKey&) = default;
};

/// The replicated value of an allocation.
struct AllocationRecord {
  IpAddress address;              ///< the address, or the first address of the delegated prefix
  int prefix_length = 32;         ///< 32/128 for one address, else the delegated length
  std::string node_id;            ///< the nexus replica that chose the address
  std::uint64_t claimed_hlc = 0;  ///< when this subscriber first got this address (HLC); the
                                  ///< older claim keeps an address both hold after a merge
  std::int64_t allocated_at_ms = 0;
  std::int64_t expires_at_ms = 0;
  friend bool operator==(const AllocationRecord&, const AllocationRecord&) = default;
};

/// An allocation as clients see it.
struct Allocation {
  std::string pool_id;
  std::string subscriber_id;
  IpAddress address;
  int prefix_length = 32;
  std::string node_id;
  std::int64_t allocated_at_ms = 0;
  std::int64_t expires_at_ms = 0;
  friend bool operator==(const Allocation&, const Allocation&) = default;
};

/// A BNG node as registered.
struct Node {
  std::string id;
  std::string address;
  std::string region;
  std::map<std::string, std::string> metadata;
  std::int64_t registered_at_ms = 0;
  std::int64_t last_seen_ms = 0;
  friend bool operator==(const Node&, const Node&) = default;
};

/// What a BNG sends to register or heartbeat; empty fields keep what is known.
struct NodeRegistration {
  std::string id;
  std::string address;
  std::string region;
  std::map<std::string, std::string> metadata;
};

enum class NodeStatus { active, stale };
/// "active" or "stale".
[[nodiscard]] BNGKIT_NEXUS_EXPORT const char* to_string(NodeStatus status) noexcept;

/// A node and whether it has been heard from recently.
struct NodeView {
  Node node;
  NodeStatus status = NodeStatus::active;
};

/// An address that two subscribers hold in the merged state, and who keeps it.
struct AddressConflict {
  std::string pool_id;
  IpAddress address;
  std::string winner;
  std::vector<std::string> losers;
};

// Canonical encodings of the replicated values (store and wire); each value starts with a
// format version byte. Declared before the sets below use them.

template <>
struct Codec<Pool> {
  static constexpr std::uint8_t kVersion = 1;
  static void encode(const Pool& p, ByteWriter& w) {
    w.u8(kVersion);
    w.bytes(p.id);
    Codec<Prefix>::encode(p.network, w);
    w.u8(static_cast<std::uint8_t>(p.delegated_length));
    w.u8(p.gateway ? 1 : 0);
    if (p.gateway) Codec<IpAddress>::encode(*p.gateway, w);
    Codec<std::vector<IpAddress>>::encode(p.dns, w);
    Codec<std::vector<Prefix>>::encode(p.exclusions, w);
    Codec<std::map<std::string, IpAddress>>::encode(p.reservations, w);
    w.u32(p.lease_ttl);
    w.u32(p.max_ttl);
    w.u32(p.reclaim_after);
    Codec<std::vector<std::string>>::encode(p.owners, w);
  }
  static bool decode(ByteReader& r, Pool& p) {
    std::uint8_t version = 0;
    std::uint8_t delegated = 0;
    std::uint8_t has_gateway = 0;
    if (!r.u8(version) || version != kVersion) return false;
    if (!Codec<std::string>::decode(r, p.id) || !Codec<Prefix>::decode(r, p.network) ||
        !r.u8(delegated) || !r.u8(has_gateway) || has_gateway > 1)
      return false;
    p.delegated_length = delegated;
    p.gateway.reset();
    if (has_gateway == 1) {
      IpAddress g;
      if (!Codec<IpAddress>::decode(r, g)) return false;
      p.gateway = g;
    }
    return Codec<std::vector<IpAddress>>::decode(r, p.dns) &&
           Codec<std::vector<Prefix>>::decode(r, p.exclusions) &&
           Codec<std::map<std::string, IpAddress>>::decode(r, p.reservations) &&
           r.u32(p.lease_ttl) && r.u32(p.max_ttl) && r.u32(p.reclaim_after) &&
           Codec<std::vector<std::string>>::decode(r, p.owners);
  }
};

template <>
struct Codec<AllocationKey> {
  static void encode(const AllocationKey& k, ByteWriter& w) {
    w.bytes(k.pool_id);
    w.bytes(k.subscriber_id);
  }
  static bool decode(ByteReader& r, AllocationKey& k) {
    return Codec<std::string>::decode(r, k.pool_id) &&
           Codec<std::string>::decode(r, k.subscriber_id);
  }
};

template <>
struct Codec<AllocationRecord> {
  static constexpr std::uint8_t kVersion = 1;
  static void encode(const AllocationRecord& a, ByteWriter& w) {
    w.u8(kVersion);
    Codec<IpAddress>::encode(a.address, w);
    w.u8(static_cast<std::uint8_t>(a.prefix_length));
    w.bytes(a.node_id);
    w.u64(a.claimed_hlc);
    Codec<std::int64_t>::encode(a.allocated_at_ms, w);
    Codec<std::int64_t>::encode(a.expires_at_ms, w);
  }
  static bool decode(ByteReader& r, AllocationRecord& a) {
    std::uint8_t version = 0;
    std::uint8_t plen = 0;
    if (!r.u8(version) || version != kVersion || !Codec<IpAddress>::decode(r, a.address) ||
        !r.u8(plen) || plen > a.address.bits())
      return false;
    a.prefix_length = plen;
    return Codec<std::string>::decode(r, a.node_id) && r.u64(a.claimed_hlc) &&
           Codec<std::int64_t>::decode(r, a.allocated_at_ms) &&
           Codec<std::int64_t>::decode(r, a.expires_at_ms);
  }
};

template <>
struct Codec<Node> {
  static constexpr std::uint8_t kVersion = 1;
  static void encode(const Node& n, ByteWriter& w) {
    w.u8(kVersion);
    w.bytes(n.id);
    w.bytes(n.address);
    w.bytes(n.region);
    Codec<std::map<std::string, std::string>>::encode(n.metadata, w);
    Codec<std::int64_t>::encode(n.registered_at_ms, w);
    Codec<std::int64_t>::encode(n.last_seen_ms, w);
  }
  static bool decode(ByteReader& r, Node& n) {
    std::uint8_t version = 0;
    return r.u8(version) && version == kVersion && Codec<std::string>::decode(r, n.id) &&
           Codec<std::string>::decode(r, n.address) && Codec<std::string>::decode(r, n.region) &&
           Codec<std::map<std::string, std::string>>::decode(r, n.metadata) &&
           Codec<std::int64_t>::decode(r, n.registered_at_ms) &&
           Codec<std::int64_t>::decode(r, n.last_seen_ms);
  }
};

using PoolSet = CLSet<std::string, Pool>;
using AllocationSet = CLSet<AllocationKey, AllocationRecord>;
using NodeSet = CLSet<std::string, Node>;

/// A change to the model: one delta per set.
struct ModelDelta {
  PoolSet::DeltaType pools;
  AllocationSet::DeltaType allocations;
  NodeSet::DeltaType nodes;
  [[nodiscard]] bool empty() const noexcept {
    return pools.empty() && allocations.empty() && nodes.empty();
  }
  [[nodiscard]] std::size_t size() const noexcept {
    return pools.size() + allocations.size() + nodes.size();
  }
  void join(const ModelDelta& o) {
    pools.join(o.pools);
    allocations.join(o.allocations);
    nodes.join(o.nodes);
  }
  friend bool operator==(const ModelDelta&, const ModelDelta&) = default;
};
/// Where a peer is in this replica's change log (one epoch, one position per set).
struct ModelWatermark {
  Watermark pools, allocations, nodes;
  friend bool operator==(const ModelWatermark&, const ModelWatermark&) = default;
};
/// Anti-entropy step 1: the digests of the three sets.
struct ModelDigest {
  Digest pools, allocations, nodes;
  friend bool operator==(const ModelDigest&, const ModelDigest&) = default;
};
/// Anti-entropy step 2: versions held in the buckets where digests differ.
struct ModelSummary {
  Summary pools, allocations, nodes;
  friend bool operator==(const ModelSummary&, const ModelSummary&) = default;
};

/// How a model runs.
struct ModelOptions {
  std::string replica_id;                     ///< this nexus replica (required)
  std::function<std::int64_t()> now_ms;       ///< wall clock, ms since the epoch (default: system)
  std::chrono::seconds node_stale_after{90};  ///< a node silent this long is "stale"
  std::chrono::seconds node_expire_after{24 * 3600};  ///< and expire() removes it after this
};

/// The replicated model of one nexus replica. Thread-safe. Every change is written to the
/// store (when there is one) before the call returns, so a returned allocation is durable;
/// concurrent changes share one transaction (group commit), and reads return only what is
/// durable too.
/// Errors: invalid_argument (bad input), no_such_file_or_directory (unknown pool,
/// allocation or node), file_exists (conflicting definition), no_buffer_space (pool or this
/// replica's share exhausted), others from the store.
class BNGKIT_NEXUS_EXPORT Model {
 public:
  /// Loads the model from `store` (nullptr: memory only, for tools and simulations).
  [[nodiscard]] static Result<std::unique_ptr<Model>> open(Store* store, ModelOptions options);
  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  [[nodiscard]] const std::string& replica_id() const noexcept;

  // ---- pools
  /// Creates a pool; creating an identical one again returns it, a different one with the
  /// same id is file_exists.
  [[nodiscard]] Result<Pool> create_pool(Pool pool);
  /// Replaces the definition of an existing pool.
  [[nodiscard]] Result<Pool> update_pool(Pool pool);
  /// Removes a pool and its allocations.
  [[nodiscard]] Result<void> delete_pool(std::string_view id);
  [[nodiscard]] std::optional<Pool> pool(std::string_view id) const;
  [[nodiscard]] std::vector<Pool> pools() const;

  // ---- allocations
  struct AllocateResult {
    Allocation allocation;
    bool created = false;  ///< false: the subscriber already held it
  };
  /// The subscriber's allocation in the pool, making one if it has none. `ttl` seconds
  /// (default the pool's lease_ttl, capped to max_ttl).
  [[nodiscard]] Result<AllocateResult> allocate(std::string_view pool_id,
                                                std::string_view subscriber_id,
                                                std::optional<std::uint32_t> ttl = {});
  /// Extends an allocation (also one past its expiry that expire() has not freed yet).
  [[nodiscard]] Result<Allocation> renew(std::string_view pool_id, std::string_view subscriber_id,
                                         std::optional<std::uint32_t> ttl = {});
  /// Frees an allocation.
  [[nodiscard]] Result<void> release(std::string_view pool_id, std::string_view subscriber_id);
  /// The subscriber's allocation in the pool, if it holds one.
  [[nodiscard]] std::optional<Allocation> allocation(std::string_view pool_id,
                                                     std::string_view subscriber_id) const;
  /// Allocations of one pool, or of every pool when `pool_id` is empty.
  [[nodiscard]] std::vector<Allocation> allocations(std::string_view pool_id = {}) const;
  /// One subscriber's allocations across pools.
  [[nodiscard]] std::vector<Allocation> allocations_of(std::string_view subscriber_id) const;
  /// Addresses held by two subscribers in the merged state (each resolved, see README).
  [[nodiscard]] std::vector<AddressConflict> conflicts() const;

  // ---- nodes
  /// Registers a node or records its heartbeat.
  [[nodiscard]] Result<Node> heartbeat(const NodeRegistration& registration);
  [[nodiscard]] std::optional<NodeView> node(std::string_view id) const;
  [[nodiscard]] std::vector<NodeView> nodes() const;

  // ---- housekeeping
  struct ExpiryStats {
    std::size_t allocations = 0;  ///< freed: expired longer than their pool's reclaim_after
    std::size_t nodes = 0;        ///< removed: silent longer than node_expire_after
  };
  /// Frees what has expired. Run it periodically.
  [[nodiscard]] Result<ExpiryStats> expire();

  // ---- replication
  [[nodiscard]] ModelWatermark watermark() const;
  /// What changed here since a peer's watermark (everything for another epoch).
  [[nodiscard]] ModelDelta delta_since(const ModelWatermark& seen) const;
  [[nodiscard]] ModelDelta full_delta() const;
  [[nodiscard]] ModelDigest digest() const;
  /// Our versions in the buckets where our digest differs from the peer's.
  [[nodiscard]] ModelSummary summary(const ModelDigest& peer) const;
  /// Our entries that a summarised peer lacks or holds older.
  [[nodiscard]] ModelDelta delta_for(const ModelSummary& peer) const;
  struct MergeStats {
    std::size_t changed = 0;   ///< entries of the delta that were new here
    std::size_t repaired = 0;  ///< conflict losers this replica re-allocated
  };
  /// Joins a peer's delta: made durable, then applied; then any address conflict this
  /// replica is responsible for is repaired (which is itself a local change to send on).
  [[nodiscard]] Result<MergeStats> merge(const ModelDelta& delta);
  /// True when both replicas hold exactly the same entries.
  [[nodiscard]] bool same_state(const Model& other) const;
  /// What changed here since a peer's watermark and the watermark that covers it, read
  /// together (a change made between two separate calls would otherwise be skipped).
  /// Entries written by `skip_origin` (the peer itself) are left out.
  [[nodiscard]] std::pair<ModelDelta, ModelWatermark> changes_since(
      const ModelWatermark& seen, std::string_view skip_origin = {}) const;
  /// Called after every change to this replica's state — local writes, merges that brought
  /// something new, repairs, restores — so replication can push it at once. It runs under
  /// the model's lock: keep it short and do not call back into the model.
  void set_change_listener(std::function<void()> listener);

  // ---- observing
  /// Addresses (grants) a pool can hand out and how many are held now.
  struct PoolUsage {
    double usable = 0;          ///< usable grants (see README: exact up to 2^22 units)
    std::size_t allocated = 0;  ///< visible allocations
    [[nodiscard]] double utilisation() const noexcept {
      return usable > 0 ? static_cast<double>(allocated) / usable : 0.0;
    }
  };
  [[nodiscard]] std::optional<PoolUsage> pool_usage(std::string_view id) const;
  /// Totals since this model was opened.
  struct Counters {
    std::uint64_t merged = 0;      ///< entries merged from peers that changed this replica
    std::uint64_t repaired = 0;    ///< address conflicts resolved here by re-allocating a loser
    std::uint64_t superseded = 0;  ///< grants of ours replaced by a concurrent allocation of
                                   ///< the same subscriber elsewhere (address held back)
  };
  [[nodiscard]] Counters counters() const;
  /// Set once a store write failed: memory is then ahead of the disk, every later change
  /// fails, and the process should restart to reload the store (a liveness check).
  [[nodiscard]] std::optional<Error> write_error() const;

  // ---- durability
  /// Online, consistent copy of the store (see Store::backup).
  [[nodiscard]] Result<void> backup(const std::filesystem::path& destination) const;
  /// Replaces the store with a backup and reloads, online. The replica then starts a new
  /// epoch, so peers resend what it lost through anti-entropy.
  [[nodiscard]] Result<void> restore(const std::filesystem::path& source);

 private:
  struct Impl;
  explicit Model(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// ---- encodings of the replication messages

template <>
struct Codec<ModelDelta> {
  static void encode(const ModelDelta& d, ByteWriter& w) {
    Codec<PoolSet::DeltaType>::encode(d.pools, w);
    Codec<AllocationSet::DeltaType>::encode(d.allocations, w);
    Codec<NodeSet::DeltaType>::encode(d.nodes, w);
  }
  static bool decode(ByteReader& r, ModelDelta& d) {
    return Codec<PoolSet::DeltaType>::decode(r, d.pools) &&
           Codec<AllocationSet::DeltaType>::decode(r, d.allocations) &&
           Codec<NodeSet::DeltaType>::decode(r, d.nodes);
  }
};

template <>
struct Codec<ModelWatermark> {
  static void encode(const ModelWatermark& m, ByteWriter& w) {
    Codec<Watermark>::encode(m.pools, w);
    Codec<Watermark>::encode(m.allocations, w);
    Codec<Watermark>::encode(m.nodes, w);
  }
  static bool decode(ByteReader& r, ModelWatermark& m) {
    return Codec<Watermark>::decode(r, m.pools) && Codec<Watermark>::decode(r, m.allocations) &&
           Codec<Watermark>::decode(r, m.nodes);
  }
};

template <>
struct Codec<ModelDigest> {
  static void encode(const ModelDigest& d, ByteWriter& w) {
    Codec<Digest>::encode(d.pools, w);
    Codec<Digest>::encode(d.allocations, w);
    Codec<Digest>::encode(d.nodes, w);
  }
  static bool decode(ByteReader& r, ModelDigest& d) {
    return Codec<Digest>::decode(r, d.pools) && Codec<Digest>::decode(r, d.allocations) &&
           Codec<Digest>::decode(r, d.nodes);
  }
};

template <>
struct Codec<ModelSummary> {
  static void encode(const ModelSummary& s, ByteWriter& w) {
    Codec<Summary>::encode(s.pools, w);
    Codec<Summary>::encode(s.allocations, w);
    Codec<Summary>::encode(s.nodes, w);
  }
  static bool decode(ByteReader& r, ModelSummary& s) {
    return Codec<Summary>::decode(r, s.pools) && Codec<Summary>::decode(r, s.allocations) &&
           Codec<Summary>::decode(r, s.nodes);
  }
};

}  // namespace bngkit::nexus
