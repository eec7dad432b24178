// Model: pools, allocations and nodes over three CLSets; deterministic allocation from the
// replica's own share of each pool, conflict resolution and repair, expiry, persistence.
#include <algorithm>
#include <bngkit/nexus/model.hpp>
#include <bngkit/nexus/store.hpp>
#include <charconv>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <span>
#include <type_traits>

#include "pool_space.hpp"

namespace bngkit::nexus {
namespace {

using detail::PoolSpace;

constexpr std::string_view kPoolsSet = "pools";
constexpr std::string_view kAllocationsSet = "allocations";
constexpr std::string_view kNodesSet = "nodes";
constexpr std::string_view kReplicaMeta = "replica_id";
constexpr std::string_view kQuarantineMeta = "quarantine/";
// Probing stops after this many units (every IPv4 pool up to a /8 is searched whole).
constexpr std::uint64_t kMaxProbes = std::uint64_t{1} << 24;

Error invalid(std::string what) { return make_error(std::errc::invalid_argument, std::move(what)); }
Error not_found(std::string what) {
  return make_error(std::errc::no_such_file_or_directory, std::move(what));
}

// Identifiers travel in keys, logs and URLs: printable, bounded.
bool valid_id(std::string_view id, std::size_t max = 256) {
  if (id.empty() || id.size() > max) return false;
  return std::none_of(id.begin(), id.end(),
                      [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

std::uint64_t random_epoch() {
  std::random_device rd;
  const std::uint64_t e = (static_cast<std::uint64_t>(rd()) << 32) | rd();
  return e == 0 ? 1 : e;
}

template <typename K, typename V>
void add_to_batch(WriteBatch& b, std::string_view set, const Delta<K, V>& d) {
  for (const auto& [k, e] : d.entries())
    b.entries.push_back(StoredEntry{std::string(set), encode_bytes(k), e.length, e.stamp.hlc,
                                    e.stamp.origin, encode_bytes(e.value)});
}

template <typename K, typename V>
Result<Delta<K, V>> delta_from_store(const Store& store, std::string_view set) {
  auto rows = store.load(set);
  if (!rows) return rows.error();
  Delta<K, V> d;
  for (const auto& row : *rows) {
    K key{};
    Entry<V> e;
    if (!decode_bytes(row.key, key) || !decode_bytes(row.value, e.value) || row.length == 0)
      return make_error(std::errc::illegal_byte_sequence,
                        "undecodable " + std::string(set) + " entry in " + store.path().string());
    e.length = row.length;
    e.stamp = Stamp{row.hlc, row.origin};
    d.join(key, e);
  }
  return d;
}

std::string quarantine_name(const std::string& pool, const IpAddress& a) {
  return std::string(kQuarantineMeta) + pool + '\0' + a.to_string();
}

// Group commit. Changes are applied in memory under the model's lock and queued for the
// store in that same order; whichever caller then finds the store idle writes every queued
// batch in one transaction (one fsync) for everybody. Nobody is answered — and nothing is
// shown — before what it saw is durable (Model::Impl::durably). A failed write is sticky: the
// memory would be ahead of the disk, so every later change and wait fails with that error
// until the process restarts and reloads the store (liveness reports it).
class Committer {
 public:
  void set_store(Store* store) { store_ = store; }
  // Call with the model's lock held, right when the batch is applied in memory.
  std::uint64_t enqueue(WriteBatch batch) {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(batch));
    return ++enqueued_;
  }
  [[nodiscard]] std::uint64_t last() const {
    std::lock_guard lock(mu_);
    return enqueued_;
  }
  [[nodiscard]] std::optional<Error> failed() const {
    std::lock_guard lock(mu_);
    return failed_;
  }
  // Returns once batch `ticket` (and every one before it) is durable.
  Result<void> wait(std::uint64_t ticket) {
    std::unique_lock lock(mu_);
    for (;;) {
      if (failed_) return *failed_;
      if (durable_ >= ticket) return ok();
      if (writing_) {
        cv_.wait(lock);
        continue;
      }
      writing_ = true;
      std::vector<WriteBatch> batches;
      batches.swap(queue_);
      const std::uint64_t upto = enqueued_;
      lock.unlock();
      auto r = store_->write(std::span<const WriteBatch>(batches));
      lock.lock();
      writing_ = false;
      if (r)
        durable_ = upto;
      else
        failed_ =
            Error{r.error().code, "store write failed, restart to reload: " + r.error().message()};
      cv_.notify_all();
    }
  }

 private:
  Store* store_ = nullptr;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<WriteBatch> queue_;
  std::uint64_t enqueued_ = 0;
  std::uint64_t durable_ = 0;
  bool writing_ = false;
  std::optional<Error> failed_;
};

template <typename T>
struct IsResult : std::false_type {};
template <typename T>
struct IsResult<Result<T>> : std::true_type {};

}  // namespace

const char* to_string(NodeStatus status) noexcept {
  return status == NodeStatus::active ? "active" : "stale";
}

Result<Pool> validate_pool(Pool p) {
  if (!valid_id(p.id, 128)) return invalid("pool id must be 1-128 printable characters");
  const int width = p.network.address().bits();
  const bool v4 = p.network.is_v4();
  if (p.delegated_length == 0) p.delegated_length = width;
  if (v4 && p.delegated_length != 32)
    return invalid("pool " + p.id + ": IPv4 pools hand out single addresses (/32)");
  if (p.delegated_length < p.network.length() || p.delegated_length > width)
    return invalid("pool " + p.id + ": delegated length /" + std::to_string(p.delegated_length) +
                   " does not fit " + p.network.to_string());
  if (p.delegated_length == p.network.length() && v4)
    return invalid("pool " + p.id + ": " + p.network.to_string() + " holds no host addresses");
  if (p.gateway && !p.network.contains(*p.gateway))
    return invalid("pool " + p.id + ": gateway " + p.gateway->to_string() + " is outside " +
                   p.network.to_string());
  for (const auto& x : p.exclusions)
    if (!p.network.overlaps(x))
      return invalid("pool " + p.id + ": exclusion " + x.to_string() + " is outside " +
                     p.network.to_string());
  if (p.lease_ttl == 0 || p.max_ttl < p.lease_ttl)
    return invalid("pool " + p.id + ": need 0 < lease_ttl <= max_ttl");
  std::sort(p.owners.begin(), p.owners.end());
  p.owners.erase(std::unique(p.owners.begin(), p.owners.end()), p.owners.end());
  for (const auto& o : p.owners)
    if (!valid_id(o, 128)) return invalid("pool " + p.id + ": bad owner replica id");
  // Reservations: inside the pool, at a grant boundary, usable, one subscriber each.
  Pool no_reservations = p;
  no_reservations.reservations.clear();
  const PoolSpace space(no_reservations);
  std::set<IpAddress> seen;
  for (const auto& [sub, a] : p.reservations) {
    if (!valid_id(sub)) return invalid("pool " + p.id + ": bad subscriber id in reservations");
    auto u = space.unit_of(a);
    if (!u || !space.usable(*u))
      return invalid("pool " + p.id + ": reservation " + a.to_string() + " for " + sub +
                     " is not an assignable " + (v4 ? "address" : "grant") + " of the pool");
    if (!seen.insert(a).second)
      return invalid("pool " + p.id + ": " + a.to_string() + " is reserved twice");
  }
  return p;
}

struct Model::Impl {
  using AddrKey = std::pair<std::string, IpAddress>;

  ModelOptions opt;
  Store* store = nullptr;
  mutable std::mutex mu;
  std::shared_ptr<HybridClock> clock;
  std::unique_ptr<PoolSet> pools;
  std::unique_ptr<AllocationSet> allocs;
  std::unique_ptr<NodeSet> nodes;

  // Derived from the sets, kept current by the merge observers.
  std::map<std::string, PoolSpace, std::less<>> spaces;       // valid, present pools
  std::map<AddrKey, std::set<std::string>> holders;           // present allocations by address
  std::set<AddrKey> conflicted;                               // holders with more than one
  std::map<AddrKey, std::int64_t> quarantine;                 // local: not before this time
  mutable std::map<std::string, double, std::less<>> usable;  // cache: pool -> usable grants
  std::function<void()> on_change;
  Counters counters;
  Committer committer;

  // Runs `f` under the model's lock, then waits — unlocked, so others' changes join the same
  // transaction — until everything `f` wrote or read is durable.
  template <typename F>
  auto durably(F&& f) -> std::invoke_result_t<F> {
    std::unique_lock lock(mu);
    auto r = f();
    const std::uint64_t ticket = committer.last();
    lock.unlock();
    auto w = committer.wait(ticket);
    if constexpr (IsResult<decltype(r)>::value) {
      if (r && !w) return w.error();
    }
    return r;
  }

  [[nodiscard]] std::int64_t now() const { return opt.now_ms(); }

  void reset_sets() {
    const std::uint64_t epoch = random_epoch();
    pools = std::make_unique<PoolSet>(opt.replica_id, clock, epoch);
    allocs = std::make_unique<AllocationSet>(opt.replica_id, clock, epoch);
    nodes = std::make_unique<NodeSet>(opt.replica_id, clock, epoch);
    spaces.clear();
    holders.clear();
    conflicted.clear();
    quarantine.clear();
    usable.clear();
  }

  void changed() const {
    if (on_change) on_change();
  }

  // ---- observers keeping the derived indexes true

  void on_pool(const std::string& id, const Entry<Pool>*, const Entry<Pool>& after) {
    spaces.erase(id);
    usable.erase(id);
    if (!after.present()) return;
    // A peer's pool definition is state like any other; only a valid one is allocated from.
    if (auto v = validate_pool(after.value); v && v->id == id) spaces.emplace(id, PoolSpace(*v));
  }

  void on_allocation(const AllocationKey& k, const Entry<AllocationRecord>* before,
                     const Entry<AllocationRecord>& after) {
    if (before != nullptr && before->present()) {
      AddrKey ak{k.pool_id, before->value.address};
      auto it = holders.find(ak);
      if (it != holders.end()) {
        it->second.erase(k.subscriber_id);
        if (it->second.size() <= 1) conflicted.erase(ak);
        if (it->second.empty()) holders.erase(it);
      }
    }
    if (after.present()) {
      AddrKey ak{k.pool_id, after.value.address};
      auto& h = holders[ak];
      h.insert(k.subscriber_id);
      if (h.size() > 1) conflicted.insert(ak);
    }
  }

  // ---- applying changes: durable first, then in memory

  // Joins `d` (local or from a peer): writes what is new to the store, then merges it.
  Result<ModelDelta> apply(const ModelDelta& d) {
    ModelDelta novel{pools->novel(d.pools), allocs->novel(d.allocations), nodes->novel(d.nodes)};
    if (novel.empty()) return novel;
    WriteBatch batch;
    add_to_batch(batch, kPoolsSet, novel.pools);
    add_to_batch(batch, kAllocationsSet, novel.allocations);
    add_to_batch(batch, kNodesSet, novel.nodes);
    // A grant of ours replaced by another grant for the same subscriber (two replicas
    // allocated it concurrently) may still be in use until it expires: keep it back.
    std::vector<std::pair<AddrKey, std::int64_t>> held_back;
    const std::int64_t t = now();
    for (const auto& [k, e] : novel.allocations.entries()) {
      const auto* cur = allocs->entry(k);
      if (cur != nullptr && cur->present() && e.present() &&
          cur->value.address != e.value.address && cur->value.node_id == opt.replica_id &&
          cur->value.expires_at_ms > t) {
        held_back.emplace_back(AddrKey{k.pool_id, cur->value.address}, cur->value.expires_at_ms);
        batch.meta.emplace_back(quarantine_name(k.pool_id, cur->value.address),
                                std::to_string(cur->value.expires_at_ms));
      }
    }
    if (store != nullptr) {
      if (auto f = committer.failed()) return *f;
      committer.enqueue(std::move(batch));
    }
    merge_loaded(novel);
    for (auto& [ak, until] : held_back) quarantine[ak] = std::max(quarantine[ak], until);
    counters.superseded += held_back.size();
    changed();
    return novel;
  }

  // Merges into memory only (what the store already holds).
  void merge_loaded(const ModelDelta& d) {
    pools->merge(d.pools,
                 [this](const auto& k, const auto* b, const auto& a) { on_pool(k, b, a); });
    allocs->merge(d.allocations,
                  [this](const auto& k, const auto* b, const auto& a) { on_allocation(k, b, a); });
    nodes->merge(d.nodes);
  }

  Result<void> load() {
    reset_sets();
    if (store == nullptr) return ok();
    ModelDelta d;
    auto p = delta_from_store<std::string, Pool>(*store, kPoolsSet);
    if (!p) return p.error();
    auto a = delta_from_store<AllocationKey, AllocationRecord>(*store, kAllocationsSet);
    if (!a) return a.error();
    auto n = delta_from_store<std::string, Node>(*store, kNodesSet);
    if (!n) return n.error();
    d.pools = std::move(*p);
    d.allocations = std::move(*a);
    d.nodes = std::move(*n);
    merge_loaded(d);
    auto q = store->meta_with_prefix(kQuarantineMeta);
    if (!q) return q.error();
    for (const auto& [name, value] : *q) {
      const std::string rest = name.substr(kQuarantineMeta.size());
      const auto nul = rest.find('\0');
      std::int64_t until = 0;
      auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), until);
      auto addr = IpAddress::parse(nul == std::string::npos ? "" : rest.substr(nul + 1));
      if (nul == std::string::npos || ec != std::errc{} || !addr) continue;  // ignore junk
      quarantine[AddrKey{rest.substr(0, nul), *addr}] = until;
    }
    return ok();
  }

  // ---- the allocation rules

  // The holder that keeps an address held by several: a subscriber the pool reserves it for,
  // else the oldest claim, else the smallest subscriber id. The same on every replica.
  std::string winner(const AddrKey& ak) const {
    const auto& hs = holders.at(ak);
    const Pool* pool = pools->find(ak.first);
    auto rank = [&](const std::string& s) {
      const AllocationRecord* r = allocs->find(AllocationKey{ak.first, s});
      bool reserved = false;
      if (pool != nullptr) {
        auto it = pool->reservations.find(s);
        reserved = it != pool->reservations.end() && it->second == ak.second;
      }
      return std::tuple(!reserved, r != nullptr ? r->claimed_hlc : ~std::uint64_t{0}, s);
    };
    return *std::min_element(hs.begin(), hs.end(),
                             [&](const auto& a, const auto& b) { return rank(a) < rank(b); });
  }

  // The allocation clients see: present, of an existing pool, and not a conflict loser.
  const AllocationRecord* visible(const AllocationKey& k) const {
    const AllocationRecord* r = allocs->find(k);
    if (r == nullptr || !pools->contains(k.pool_id)) return nullptr;
    AddrKey ak{k.pool_id, r->address};
    if (conflicted.count(ak) != 0 && winner(ak) != k.subscriber_id) return nullptr;
    return r;
  }

  static Allocation view(const AllocationKey& k, const AllocationRecord& r) {
    return Allocation{k.pool_id, k.subscriber_id,   r.address,      r.prefix_length,
                      r.node_id, r.allocated_at_ms, r.expires_at_ms};
  }

  bool held_by_other(const std::string& pool, const IpAddress& a, const std::string& sub) const {
    auto it = holders.find(AddrKey{pool, a});
    if (it == holders.end()) return false;
    return it->second.size() > 1 || it->second.count(sub) == 0;
  }

  bool quarantined(const std::string& pool, const IpAddress& a, std::int64_t t) const {
    auto it = quarantine.find(AddrKey{pool, a});
    return it != quarantine.end() && it->second > t;
  }

  // Picks the address for `sub` in `pool` from this replica's share: the subscriber's
  // previous address when still free, else the first free unit of its hash probe.
  std::optional<IpAddress> choose(const std::string& pool, const std::string& sub,
                                  const PoolSpace& space, const std::set<IpAddress>& taken) const {
    const PoolSpace::Share share = space.share_of(opt.replica_id);
    if (share.size == 0) return std::nullopt;
    const std::int64_t t = now();
    auto free = [&](std::uint64_t u) {
      if (!space.usable(u)) return false;
      const IpAddress a = space.address_of(u);
      return !held_by_other(pool, a, sub) && !quarantined(pool, a, t) && taken.count(a) == 0;
    };
    if (const auto* prev = allocs->entry(AllocationKey{pool, sub})) {
      auto u = space.unit_of(prev->value.address);
      if (u && space.in_share(share, *u) && free(*u)) return space.address_of(*u);
    }
    std::string seed = pool;
    seed.push_back('\0');
    seed += sub;
    const std::uint64_t start = stable_hash(seed, 0x616c6c6fULL) % share.size;
    const std::uint64_t probes = std::min(share.size, kMaxProbes);
    for (std::uint64_t i = 0; i < probes; ++i) {
      const std::uint64_t u = space.unit_in_share(share, (start + i) % share.size);
      if (free(u)) return space.address_of(u);
    }
    return std::nullopt;
  }

  Error exhausted(const Pool& pool, const PoolSpace& space) const {
    if (space.share_of(opt.replica_id).size == 0)
      return make_error(std::errc::no_buffer_space,
                        "replica " + opt.replica_id + " owns no part of pool " + pool.id);
    return make_error(
        std::errc::no_buffer_space,
        "pool " + pool.id + " has no free address in replica " + opt.replica_id + "'s share");
  }

  // Who re-allocates the losers of a conflict: the owner of the address's block, or in a
  // pool without owners the replica that chose the winner's address. One replica acts;
  // everyone else sees the result through replication.
  bool responsible(const AddrKey& ak, const std::string& win) const {
    auto sit = spaces.find(ak.first);
    const AllocationRecord* wr = allocs->find(AllocationKey{ak.first, win});
    if (sit != spaces.end()) {
      if (auto u = sit->second.unit_of(ak.second)) {
        if (auto owner = sit->second.owner_index(*u))
          return sit->second.owners()[*owner] == opt.replica_id;
      }
    }
    return wr != nullptr && wr->node_id == opt.replica_id;
  }

  // Re-allocates the losers of every conflict this replica is responsible for.
  Result<std::size_t> repair() {
    std::size_t repaired = 0;
    for (int round = 0; round < 4 && !conflicted.empty(); ++round) {
      ModelDelta d;
      std::set<IpAddress> taken;
      const std::int64_t t = now();
      for (const auto& ak : conflicted) {
        auto sit = spaces.find(ak.first);
        if (sit == spaces.end()) continue;
        const std::string win = winner(ak);
        if (!responsible(ak, win)) continue;
        const Pool& pool = *pools->find(ak.first);
        for (const auto& loser : holders.at(ak)) {
          if (loser == win) continue;
          const AllocationKey k{ak.first, loser};
          const AllocationRecord* old = allocs->find(k);
          auto addr = choose(ak.first, loser, sit->second, taken);
          if (old == nullptr || !addr) continue;  // nothing free: stays hidden until asked
          taken.insert(*addr);
          AllocationRecord r = *old;
          r.address = *addr;
          r.node_id = opt.replica_id;
          r.claimed_hlc = clock->now();
          r.allocated_at_ms = t;
          if (r.expires_at_ms <= t) r.expires_at_ms = t + std::int64_t{pool.lease_ttl} * 1000;
          d.allocations.join(allocs->prepare_put(k, std::move(r)));
        }
      }
      if (d.empty()) break;
      auto applied = apply(d);
      if (!applied) return applied.error();
      repaired += d.allocations.size();
    }
    counters.repaired += repaired;
    return repaired;
  }

  Result<std::uint32_t> ttl_for(const Pool& pool, std::optional<std::uint32_t> ttl) const {
    if (ttl && *ttl == 0) return invalid("ttl must be positive");
    return std::min(ttl.value_or(pool.lease_ttl), pool.max_ttl);
  }

  Result<AllocateResult> allocate(const std::string& pool_id, const std::string& sub,
                                  std::optional<std::uint32_t> ttl) {
    if (!valid_id(sub)) return invalid("subscriber id must be 1-256 printable characters");
    const Pool* pool = pools->find(pool_id);
    if (pool == nullptr) return not_found("no pool " + pool_id);
    auto sit = spaces.find(pool_id);
    if (sit == spaces.end()) return invalid("pool " + pool_id + " has an invalid definition");
    const PoolSpace& space = sit->second;
    auto secs = ttl_for(*pool, ttl);
    if (!secs) return secs.error();
    const std::int64_t t = now();
    const AllocationKey key{pool_id, sub};

    if (const AllocationRecord* cur = visible(key)) {
      if (cur->expires_at_ms > t) return AllocateResult{view(key, *cur), false};
      // Expired but not yet freed: the address is still this subscriber's.
      AllocationRecord r = *cur;
      r.expires_at_ms = t + std::int64_t{*secs} * 1000;
      ModelDelta d;
      d.allocations = allocs->prepare_renew(key, r);
      if (auto a = apply(d); !a) return a.error();
      return AllocateResult{view(key, r), false};
    }

    std::optional<IpAddress> addr;
    if (auto res = pool->reservations.find(sub); res != pool->reservations.end()) {
      addr = res->second;  // a reservation wins its address from any dynamic holder
    } else {
      addr = choose(pool_id, sub, space, {});
      if (!addr) return exhausted(*pool, space);
    }
    AllocationRecord r;
    r.address = *addr;
    r.prefix_length = pool->delegated_length;
    r.node_id = opt.replica_id;
    r.claimed_hlc = clock->now();
    r.allocated_at_ms = t;
    r.expires_at_ms = t + std::int64_t{*secs} * 1000;
    ModelDelta d;
    d.allocations = allocs->prepare_put(key, r);
    if (auto a = apply(d); !a) return a.error();
    if (auto rep = repair(); !rep) return rep.error();
    return AllocateResult{view(key, r), true};
  }
};

Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::~Model() = default;

Result<std::unique_ptr<Model>> Model::open(Store* store, ModelOptions options) {
  if (!valid_id(options.replica_id, 128))
    return invalid("replica id must be 1-128 printable characters");
  if (!options.now_ms) {
    options.now_ms = [] { return static_cast<std::int64_t>(HybridClock::system_millis()); };
  }
  auto impl = std::make_unique<Impl>();
  impl->opt = std::move(options);
  impl->store = store;
  impl->committer.set_store(store);
  impl->clock = std::make_shared<HybridClock>([now = impl->opt.now_ms] {
    const std::int64_t t = now();
    return static_cast<std::uint64_t>(t < 0 ? 0 : t);
  });
  if (store != nullptr) {
    auto owner = store->meta(kReplicaMeta);
    if (!owner) return owner.error();
    if (owner->has_value() && **owner != impl->opt.replica_id)
      return invalid("store " + store->path().string() + " belongs to replica " + **owner +
                     ", not " + impl->opt.replica_id);
    if (!owner->has_value()) {
      WriteBatch b;
      b.meta.emplace_back(std::string(kReplicaMeta), impl->opt.replica_id);
      if (auto r = store->write(b); !r) return r.error();
    }
  }
  if (auto r = impl->load(); !r) return r.error();
  // A crash between a merge and its repair leaves a conflict for us to finish.
  if (auto r = impl->repair(); !r) return r.error();
  if (auto w = impl->committer.wait(impl->committer.last()); !w) return w.error();
  return std::unique_ptr<Model>(new Model(std::move(impl)));
}

const std::string& Model::replica_id() const noexcept { return impl_->opt.replica_id; }

// ---- pools

Result<Pool> Model::create_pool(Pool pool) {
  auto v = validate_pool(std::move(pool));
  if (!v) return v.error();
  return impl_->durably([&]() -> Result<Pool> {
    if (const Pool* cur = impl_->pools->find(v->id)) {
      if (*cur == *v) return *cur;
      return make_error(std::errc::file_exists,
                        "pool " + v->id + " exists with another definition");
    }
    ModelDelta d;
    d.pools = impl_->pools->prepare_put(v->id, *v);
    if (auto r = impl_->apply(d); !r) return r.error();
    return *v;
  });
}

Result<Pool> Model::update_pool(Pool pool) {
  auto v = validate_pool(std::move(pool));
  if (!v) return v.error();
  return impl_->durably([&]() -> Result<Pool> {
    if (!impl_->pools->contains(v->id)) return not_found("no pool " + v->id);
    ModelDelta d;
    d.pools = impl_->pools->prepare_put(v->id, *v);
    if (auto r = impl_->apply(d); !r) return r.error();
    if (auto r = impl_->repair(); !r) return r.error();
    return *v;
  });
}

Result<void> Model::delete_pool(std::string_view id) {
  return impl_->durably([&]() -> Result<void> {
    const std::string key(id);
    if (!impl_->pools->contains(key)) return not_found("no pool " + key);
    ModelDelta d;
    d.pools = impl_->pools->prepare_erase(key);
    impl_->allocs->for_each([&](const AllocationKey& k, const AllocationRecord&) {
      if (k.pool_id == key) d.allocations.join(impl_->allocs->prepare_erase(k));
    });
    if (auto r = impl_->apply(d); !r) return r.error();
    return ok();
  });
}

std::optional<Pool> Model::pool(std::string_view id) const {
  return impl_->durably([&]() -> std::optional<Pool> {
    const Pool* p = impl_->pools->find(std::string(id));
    return p != nullptr ? std::optional<Pool>(*p) : std::nullopt;
  });
}

std::vector<Pool> Model::pools() const {
  return impl_->durably([&]() -> std::vector<Pool> {
    std::vector<Pool> out;
    impl_->pools->for_each([&](const std::string&, const Pool& p) { out.push_back(p); });
    return out;
  });
}

// ---- allocations

Result<Model::AllocateResult> Model::allocate(std::string_view pool_id,
                                              std::string_view subscriber_id,
                                              std::optional<std::uint32_t> ttl) {
  return impl_->durably([&]() -> Result<Model::AllocateResult> {
    return impl_->allocate(std::string(pool_id), std::string(subscriber_id), ttl);
  });
}

Result<Allocation> Model::renew(std::string_view pool_id, std::string_view subscriber_id,
                                std::optional<std::uint32_t> ttl) {
  return impl_->durably([&]() -> Result<Allocation> {
    const AllocationKey key{std::string(pool_id), std::string(subscriber_id)};
    const AllocationRecord* cur = impl_->visible(key);
    if (cur == nullptr)
      return not_found("subscriber " + key.subscriber_id + " holds nothing in pool " + key.pool_id);
    auto secs = impl_->ttl_for(*impl_->pools->find(key.pool_id), ttl);
    if (!secs) return secs.error();
    AllocationRecord r = *cur;
    r.expires_at_ms = impl_->now() + std::int64_t{*secs} * 1000;
    ModelDelta d;
    // Renewing re-adds (length + 2): it survives a concurrent expire() on another replica.
    d.allocations = impl_->allocs->prepare_renew(key, r);
    if (auto a = impl_->apply(d); !a) return a.error();
    return Impl::view(key, r);
  });
}

Result<void> Model::release(std::string_view pool_id, std::string_view subscriber_id) {
  return impl_->durably([&]() -> Result<void> {
    const AllocationKey key{std::string(pool_id), std::string(subscriber_id)};
    if (impl_->allocs->find(key) == nullptr)
      return not_found("subscriber " + key.subscriber_id + " holds nothing in pool " + key.pool_id);
    ModelDelta d;
    d.allocations = impl_->allocs->prepare_erase(key);
    if (auto a = impl_->apply(d); !a) return a.error();
    return ok();
  });
}

std::optional<Allocation> Model::allocation(std::string_view pool_id,
                                            std::string_view subscriber_id) const {
  return impl_->durably([&]() -> std::optional<Allocation> {
    const AllocationKey key{std::string(pool_id), std::string(subscriber_id)};
    const AllocationRecord* r = impl_->visible(key);
    return r != nullptr ? std::optional<Allocation>(Impl::view(key, *r)) : std::nullopt;
  });
}

std::vector<Allocation> Model::allocations(std::string_view pool_id) const {
  return impl_->durably([&]() -> std::vector<Allocation> {
    std::vector<Allocation> out;
    impl_->allocs->for_each([&](const AllocationKey& k, const AllocationRecord&) {
      if (!pool_id.empty() && k.pool_id != pool_id) return;
      if (const AllocationRecord* r = impl_->visible(k)) out.push_back(Impl::view(k, *r));
    });
    return out;
  });
}

std::vector<Allocation> Model::allocations_of(std::string_view subscriber_id) const {
  return impl_->durably([&]() -> std::vector<Allocation> {
    std::vector<Allocation> out;
    impl_->allocs->for_each([&](const AllocationKey& k, const AllocationRecord&) {
      if (k.subscriber_id != subscriber_id) return;
      if (const AllocationRecord* r = impl_->visible(k)) out.push_back(Impl::view(k, *r));
    });
    return out;
  });
}

std::vector<AddressConflict> Model::conflicts() const {
  return impl_->durably([&]() -> std::vector<AddressConflict> {
    std::vector<AddressConflict> out;
    for (const auto& ak : impl_->conflicted) {
      AddressConflict c{ak.first, ak.second, impl_->winner(ak), {}};
      for (const auto& s : impl_->holders.at(ak))
        if (s != c.winner) c.losers.push_back(s);
      out.push_back(std::move(c));
    }
    return out;
  });
}

// ---- nodes

Result<Node> Model::heartbeat(const NodeRegistration& reg) {
  if (!valid_id(reg.id, 128)) return invalid("node id must be 1-128 printable characters");
  return impl_->durably([&]() -> Result<Node> {
    const std::int64_t t = impl_->now();
    Node n;
    if (const Node* cur = impl_->nodes->find(reg.id)) {
      n = *cur;
    } else {
      n.id = reg.id;
      n.registered_at_ms = t;
    }
    if (!reg.address.empty()) n.address = reg.address;
    if (!reg.region.empty()) n.region = reg.region;
    if (!reg.metadata.empty()) n.metadata = reg.metadata;
    n.last_seen_ms = t;
    ModelDelta d;
    // Re-add (length + 2): a heartbeat outlives a concurrent expiry made elsewhere.
    d.nodes = impl_->nodes->prepare_renew(reg.id, n);
    if (auto a = impl_->apply(d); !a) return a.error();
    return n;
  });
}

namespace {
NodeView node_view(const Node& n, std::int64_t now, std::chrono::seconds stale_after) {
  const bool stale = now - n.last_seen_ms > std::int64_t{stale_after.count()} * 1000;
  return NodeView{n, stale ? NodeStatus::stale : NodeStatus::active};
}
}  // namespace

std::optional<NodeView> Model::node(std::string_view id) const {
  return impl_->durably([&]() -> std::optional<NodeView> {
    const Node* n = impl_->nodes->find(std::string(id));
    if (n == nullptr) return std::nullopt;
    return node_view(*n, impl_->now(), impl_->opt.node_stale_after);
  });
}

std::vector<NodeView> Model::nodes() const {
  return impl_->durably([&]() -> std::vector<NodeView> {
    std::vector<NodeView> out;
    const std::int64_t t = impl_->now();
    impl_->nodes->for_each([&](const std::string&, const Node& n) {
      out.push_back(node_view(n, t, impl_->opt.node_stale_after));
    });
    return out;
  });
}

// ---- housekeeping

Result<Model::ExpiryStats> Model::expire() {
  return impl_->durably([&]() -> Result<Model::ExpiryStats> {
    const std::int64_t t = impl_->now();
    ModelDelta d;
    ExpiryStats stats;
    impl_->allocs->for_each([&](const AllocationKey& k, const AllocationRecord& r) {
      const Pool* p = impl_->pools->find(k.pool_id);
      if (p == nullptr) return;
      if (r.expires_at_ms + std::int64_t{p->reclaim_after} * 1000 <= t) {
        d.allocations.join(impl_->allocs->prepare_erase(k));
        ++stats.allocations;
      }
    });
    const std::int64_t silent = std::int64_t{impl_->opt.node_expire_after.count()} * 1000;
    impl_->nodes->for_each([&](const std::string& id, const Node& n) {
      if (n.last_seen_ms + silent <= t) {
        d.nodes.join(impl_->nodes->prepare_erase(id));
        ++stats.nodes;
      }
    });
    WriteBatch done;
    for (auto it = impl_->quarantine.begin(); it != impl_->quarantine.end();) {
      if (it->second <= t) {
        done.meta_erase.push_back(quarantine_name(it->first.first, it->first.second));
        it = impl_->quarantine.erase(it);
      } else {
        ++it;
      }
    }
    if (impl_->store != nullptr && !done.empty()) impl_->committer.enqueue(std::move(done));
    if (auto a = impl_->apply(d); !a) return a.error();
    return stats;
  });
}

// ---- replication

ModelWatermark Model::watermark() const {
  return impl_->durably([&]() -> ModelWatermark {
    return {impl_->pools->watermark(), impl_->allocs->watermark(), impl_->nodes->watermark()};
  });
}

ModelDelta Model::delta_since(const ModelWatermark& seen) const {
  return impl_->durably([&]() -> ModelDelta {
    return {impl_->pools->delta_since(seen.pools), impl_->allocs->delta_since(seen.allocations),
            impl_->nodes->delta_since(seen.nodes)};
  });
}

ModelDelta Model::full_delta() const {
  return impl_->durably([&]() -> ModelDelta {
    return {impl_->pools->full_delta(), impl_->allocs->full_delta(), impl_->nodes->full_delta()};
  });
}

ModelDigest Model::digest() const {
  return impl_->durably([&]() -> ModelDigest {
    return {impl_->pools->digest(), impl_->allocs->digest(), impl_->nodes->digest()};
  });
}

ModelSummary Model::summary(const ModelDigest& peer) const {
  return impl_->durably([&]() -> ModelSummary {
    const auto& i = *impl_;
    return {i.pools->summary(i.pools->digest().differing(peer.pools)),
            i.allocs->summary(i.allocs->digest().differing(peer.allocations)),
            i.nodes->summary(i.nodes->digest().differing(peer.nodes))};
  });
}

ModelDelta Model::delta_for(const ModelSummary& peer) const {
  return impl_->durably([&]() -> ModelDelta {
    return {impl_->pools->delta_for(peer.pools), impl_->allocs->delta_for(peer.allocations),
            impl_->nodes->delta_for(peer.nodes)};
  });
}

Result<Model::MergeStats> Model::merge(const ModelDelta& delta) {
  return impl_->durably([&]() -> Result<Model::MergeStats> {
    auto applied = impl_->apply(delta);
    if (!applied) return applied.error();
    impl_->counters.merged += applied->size();
    auto repaired = impl_->repair();
    if (!repaired) return repaired.error();
    return MergeStats{applied->size(), *repaired};
  });
}

std::pair<ModelDelta, ModelWatermark> Model::changes_since(const ModelWatermark& seen,
                                                           std::string_view skip_origin) const {
  return impl_->durably([&]() -> std::pair<ModelDelta, ModelWatermark> {
    const auto& i = *impl_;
    return {{i.pools->delta_since(seen.pools, skip_origin),
             i.allocs->delta_since(seen.allocations, skip_origin),
             i.nodes->delta_since(seen.nodes, skip_origin)},
            {i.pools->watermark(), i.allocs->watermark(), i.nodes->watermark()}};
  });
}

void Model::set_change_listener(std::function<void()> listener) {
  std::lock_guard lock(impl_->mu);
  impl_->on_change = std::move(listener);
}

std::optional<Model::PoolUsage> Model::pool_usage(std::string_view id) const {
  return impl_->durably([&]() -> std::optional<Model::PoolUsage> {
    const std::string key(id);
    if (!impl_->pools->contains(key)) return std::nullopt;
    PoolUsage u;
    if (auto sit = impl_->spaces.find(key); sit != impl_->spaces.end()) {
      auto [cached, inserted] = impl_->usable.try_emplace(key, 0.0);
      if (inserted) cached->second = sit->second.usable_count();
      u.usable = cached->second;
    }
    impl_->allocs->for_each([&](const AllocationKey& k, const AllocationRecord&) {
      if (k.pool_id == key && impl_->visible(k) != nullptr) ++u.allocated;
    });
    return u;
  });
}

std::optional<Error> Model::write_error() const { return impl_->committer.failed(); }

Model::Counters Model::counters() const {
  std::lock_guard lock(impl_->mu);
  return impl_->counters;
}

bool Model::same_state(const Model& other) const {
  if (this == &other) return true;
  std::scoped_lock lock(impl_->mu, other.impl_->mu);
  return impl_->pools->same_state(*other.impl_->pools) &&
         impl_->allocs->same_state(*other.impl_->allocs) &&
         impl_->nodes->same_state(*other.impl_->nodes);
}

// ---- durability

Result<void> Model::backup(const std::filesystem::path& destination) const {
  if (impl_->store == nullptr)
    return make_error(std::errc::not_supported, "memory-only model has nothing to back up");
  return impl_->store->backup(destination);
}

Result<void> Model::restore(const std::filesystem::path& source) {
  if (impl_->store == nullptr)
    return make_error(std::errc::not_supported, "memory-only model cannot restore");
  std::lock_guard lock(impl_->mu);
  // Everything queued reaches the store before the store is replaced.
  if (auto w = impl_->committer.wait(impl_->committer.last()); !w) return w;
  if (auto r = impl_->store->restore(source); !r) return r;
  // The backup may come from another replica (seeding a new one): this store is ours now.
  WriteBatch b;
  b.meta.emplace_back(std::string(kReplicaMeta), impl_->opt.replica_id);
  if (auto r = impl_->store->write(b); !r) return r;
  // The clock object survives the reload: stamps issued from now on still exceed all before.
  if (auto r = impl_->load(); !r) return r;
  auto repaired = impl_->repair();
  if (!repaired) return repaired.error();
  if (auto w = impl_->committer.wait(impl_->committer.last()); !w) return w;
  impl_->changed();  // a new epoch: peers get everything again
  return ok();
}

}  // namespace bngkit::nexus
