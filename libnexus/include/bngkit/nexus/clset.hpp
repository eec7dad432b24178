// CLSet<K, V>: the causal-length set CRDT (Yu & Rostad, "A low-cost set CRDT based on causal
// lengths", PaPoC 2020) extended to a map: every key carries a causal length (odd = present)
// and a value. Adding or removing a key increments its length; merge keeps, per key, the
// greatest entry under one deterministic total order, so merge is a join: commutative,
// associative and idempotent. Also here: Delta (a partial state, itself joinable), and the
// anti-entropy vocabulary — Watermark (incremental push), Digest and Summary (repair).
#pragma once

#include <algorithm>
#include <array>
#include <bngkit/common/result.hpp>
#include <bngkit/nexus/codec.hpp>
#include <bngkit/nexus/hlc.hpp>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace bngkit::nexus {

/// One key's replicated state.
template <typename V>
struct Entry {
  std::uint64_t length = 0;  ///< causal length: 0 never seen, odd present, even removed
  Stamp stamp;               ///< who wrote this entry, and when
  V value{};                 ///< the value (a removed entry keeps its last value)

  [[nodiscard]] bool present() const noexcept { return (length & 1U) == 1U; }
  friend bool operator==(const Entry&, const Entry&) = default;
};

/// The deterministic total order merge uses: causal length first (so a remove beats the add
/// it saw, and a re-add beats that remove), then the stamp (later write wins between
/// concurrent writes of the same length), then the canonical value bytes (which decide only
/// if a replica ever reused a stamp, e.g. after being restored from an old backup).
template <typename V>
[[nodiscard]] std::strong_ordering compare_entries(const Entry<V>& a, const Entry<V>& b) {
  if (auto c = a.length <=> b.length; c != 0) return c;
  if (auto c = a.stamp <=> b.stamp; c != 0) return c;
  // char_traits<char>::compare orders bytes as unsigned char: plain byte order.
  return encode_bytes(a.value).compare(encode_bytes(b.value)) <=> 0;
}

/// A partial state: the entries some replica changed, keyed and joined like the set itself.
/// Joining deltas is itself commutative, associative and idempotent, so deltas can be
/// batched, duplicated and delivered in any order.
template <typename K, typename V>
class Delta {
 public:
  using Map = std::map<K, Entry<V>>;

  /// Keeps the greater of the held entry for `key` and `entry`; true if that changed this delta.
  bool join(const K& key, const Entry<V>& entry) {
    auto [it, inserted] = entries_.try_emplace(key, entry);
    if (inserted) return true;
    if (compare_entries(entry, it->second) > 0) {
      it->second = entry;
      return true;
    }
    return false;
  }
  /// Joins every entry of `other`.
  void join(const Delta& other) {
    for (const auto& [k, e] : other.entries_) join(k, e);
  }

  [[nodiscard]] const Map& entries() const noexcept { return entries_; }
  [[nodiscard]] std::size_t size() const noexcept { return entries_.size(); }
  [[nodiscard]] bool empty() const noexcept { return entries_.empty(); }
  [[nodiscard]] const Entry<V>* find(const K& key) const {
    auto it = entries_.find(key);
    return it == entries_.end() ? nullptr : &it->second;
  }

  friend bool operator==(const Delta&, const Delta&) = default;

 private:
  template <typename, typename>
  friend class CLSet;
  // For callers that produce keys in ascending order, each once: O(1) per entry.
  void append_sorted(const K& key, const Entry<V>& entry) {
    entries_.emplace_hint(entries_.end(), key, entry);
  }

  Map entries_;
};

/// Position in one replica's change log: which incarnation (epoch, new on every start or
/// restore) and how many local changes a peer has already received. Lets a replica push
/// only what changed since (`CLSet::delta_since`).
struct Watermark {
  std::uint64_t epoch = 0;
  std::uint64_t seq = 0;
  friend bool operator==(const Watermark&, const Watermark&) = default;
};

/// Order-independent summary of a whole set for anti-entropy: the XOR of entry fingerprints
/// in each of kBuckets buckets chosen by key hash. Two replicas with equal digests hold the
/// same entries (up to 64-bit hash collisions); otherwise they exchange Summaries of the
/// differing buckets only. Maintained incrementally on every change.
struct Digest {
  static constexpr std::size_t kBuckets = 256;

  std::uint64_t count = 0;  ///< entries, removed ones included
  std::array<std::uint64_t, kBuckets> buckets{};

  /// One number for the whole set.
  [[nodiscard]] std::uint64_t root() const noexcept {
    std::uint64_t h = mix64(count);
    for (std::uint64_t b : buckets) h = mix64(h ^ b) + 0x9e3779b97f4a7c15ULL;
    return h;
  }
  /// Buckets whose contents differ between the two digests.
  [[nodiscard]] std::vector<std::uint32_t> differing(const Digest& other) const {
    std::vector<std::uint32_t> out;
    for (std::uint32_t i = 0; i < kBuckets; ++i)
      if (buckets[i] != other.buckets[i]) out.push_back(i);
    return out;
  }
  friend bool operator==(const Digest&, const Digest&) = default;
};

/// The versions a replica holds in some buckets: the second step of anti-entropy. The peer
/// answers with `CLSet::delta_for(summary)`: its entries the summary lacks or holds older.
struct Summary {
  /// One key's version: canonical key bytes, causal length, HLC and entry fingerprint.
  struct Version {
    std::string key;
    std::uint64_t length = 0;
    std::uint64_t hlc = 0;
    std::uint64_t fingerprint = 0;
    friend bool operator==(const Version&, const Version&) = default;
  };
  std::vector<std::uint32_t> buckets;  ///< the buckets this summary covers, ascending
  std::vector<Version> versions;       ///< every entry in those buckets
  friend bool operator==(const Summary&, const Summary&) = default;
};

/// Which digest bucket a key belongs to, from its canonical bytes.
[[nodiscard]] inline std::uint32_t digest_bucket(std::string_view key_bytes) noexcept {
  return static_cast<std::uint32_t>(stable_hash(key_bytes, 0x6275636bULL) % Digest::kBuckets);
}

/// A causal-length set of keys with values. Local operations stamp entries with the shared
/// hybrid clock and this replica's origin id; `merge` joins deltas from anywhere. Not
/// thread-safe: the owner serialises access. K needs operator< and a Codec; V a Codec.
template <typename K, typename V>
class CLSet {
 public:
  using Key = K;
  using Value = V;
  using EntryType = Entry<V>;
  using DeltaType = Delta<K, V>;
  /// Told about every entry a merge changes: key, the entry before (nullptr if new), after.
  using Observer = std::function<void(const K&, const Entry<V>* before, const Entry<V>& after)>;

  /// `origin` names this replica in stamps; `clock` may be shared by several sets of one
  /// replica; `epoch` 0 picks a random one (a new incarnation of the change log).
  explicit CLSet(std::string origin, std::shared_ptr<HybridClock> clock = nullptr,
                 std::uint64_t epoch = 0)
      : origin_(std::move(origin)),
        clock_(clock ? std::move(clock) : std::make_shared<HybridClock>()),
        epoch_(epoch != 0 ? epoch : random_epoch()) {}

  // The change log points into slots_: a copy rebuilds it; a move keeps it (std::map nodes,
  // and iterators to them, move with the map).
  CLSet(const CLSet& o)
      : origin_(o.origin_),
        clock_(o.clock_),
        epoch_(o.epoch_),
        seq_(o.seq_),
        present_(o.present_),
        slots_(o.slots_),
        digest_(o.digest_) {
    rebuild_log();
  }
  CLSet& operator=(const CLSet& o) {
    if (this != &o) {
      CLSet copy(o);
      *this = std::move(copy);
    }
    return *this;
  }
  CLSet(CLSet&&) noexcept = default;
  CLSet& operator=(CLSet&&) noexcept = default;
  ~CLSet() = default;

  // ---- local operations: prepare_* compute the delta without applying it (so the caller
  // can make it durable first); the plain forms prepare and merge in one step.

  /// Adds `key` with `value` (length + 1) if absent, or gives a present key a new value
  /// (same length, newer stamp).
  [[nodiscard]] DeltaType prepare_put(const K& key, V value) const {
    const Entry<V>* cur = entry(key);
    const std::uint64_t length =
        cur == nullptr ? 1 : (cur->present() ? cur->length : cur->length + 1);
    return single(key, length, cur, std::move(value));
  }
  /// Like put, but a present key is removed and added again (length + 2), so the new value
  /// also wins over a concurrent remove made without seeing this write. Use it when keeping
  /// the key matters more than a concurrent removal (renewing a lease, a heartbeat).
  [[nodiscard]] DeltaType prepare_renew(const K& key, V value) const {
    const Entry<V>* cur = entry(key);
    const std::uint64_t length =
        cur == nullptr ? 1 : (cur->present() ? cur->length + 2 : cur->length + 1);
    return single(key, length, cur, std::move(value));
  }
  /// Removes a present key (length + 1), keeping its last value; empty delta if absent.
  [[nodiscard]] DeltaType prepare_erase(const K& key) const {
    const Entry<V>* cur = entry(key);
    if (cur == nullptr || !cur->present()) return {};
    return single(key, cur->length + 1, cur, cur->value);
  }

  DeltaType put(const K& key, V value) { return apply(prepare_put(key, std::move(value))); }
  DeltaType renew(const K& key, V value) { return apply(prepare_renew(key, std::move(value))); }
  DeltaType erase(const K& key) { return apply(prepare_erase(key)); }

  // ---- merge

  /// Joins `delta` into this replica. Returns the entries that changed it (as now held).
  DeltaType merge(const DeltaType& delta, const Observer& observer = {}) {
    DeltaType changed;
    for (const auto& [k, e] : delta.entries()) {
      if (merge_entry(k, e, observer)) changed.append_sorted(k, e);
    }
    return changed;
  }
  /// Joins another replica's whole state.
  DeltaType merge(const CLSet& other, const Observer& observer = {}) {
    DeltaType changed;
    for (const auto& [k, slot] : other.slots_) {
      if (merge_entry(k, slot.entry, observer)) changed.append_sorted(k, slot.entry);
    }
    return changed;
  }
  /// The entries of `delta` that would change this replica (merge without applying).
  [[nodiscard]] DeltaType novel(const DeltaType& delta) const {
    DeltaType out;
    for (const auto& [k, e] : delta.entries()) {
      const Entry<V>* cur = entry(k);
      if (cur == nullptr || compare_entries(e, *cur) > 0) out.join(k, e);
    }
    return out;
  }

  // ---- queries

  /// The entry for `key`, removed or not; nullptr if never seen.
  [[nodiscard]] const Entry<V>* entry(const K& key) const {
    auto it = slots_.find(key);
    return it == slots_.end() ? nullptr : &it->second.entry;
  }
  /// The value of a present key; nullptr if absent or removed.
  [[nodiscard]] const V* find(const K& key) const {
    const Entry<V>* e = entry(key);
    return e != nullptr && e->present() ? &e->value : nullptr;
  }
  [[nodiscard]] bool contains(const K& key) const { return find(key) != nullptr; }
  /// Number of present keys.
  [[nodiscard]] std::size_t size() const noexcept { return present_; }
  /// Number of entries, removed ones included.
  [[nodiscard]] std::size_t entry_count() const noexcept { return slots_.size(); }
  /// Calls f(key, value) for every present key, in key order.
  template <typename F>
  void for_each(F&& f) const {
    for (const auto& [k, slot] : slots_)
      if (slot.entry.present()) f(k, slot.entry.value);
  }
  /// Calls f(key, entry) for every entry, removed ones included, in key order.
  template <typename F>
  void for_each_entry(F&& f) const {
    for (const auto& [k, slot] : slots_) f(k, slot.entry);
  }
  [[nodiscard]] const std::string& origin() const noexcept { return origin_; }
  [[nodiscard]] HybridClock& clock() const noexcept { return *clock_; }

  /// True when both hold exactly the same entries (what convergence means).
  [[nodiscard]] bool same_state(const CLSet& other) const {
    if (slots_.size() != other.slots_.size()) return false;
    auto a = slots_.begin();
    auto b = other.slots_.begin();
    for (; a != slots_.end(); ++a, ++b) {
      if (a->first < b->first || b->first < a->first) return false;
      if (!(a->second.entry == b->second.entry)) return false;
    }
    return true;
  }

  // ---- anti-entropy

  /// Every entry.
  [[nodiscard]] DeltaType full_delta() const {
    DeltaType out;
    for (const auto& [k, slot] : slots_) out.join(k, slot.entry);
    return out;
  }
  /// This replica's position in its change log.
  [[nodiscard]] Watermark watermark() const noexcept { return {epoch_, seq_}; }
  /// What changed here after a peer's watermark: the entries changed since `seen.seq`, or
  /// everything when `seen` is from another incarnation of this replica. Send it with
  /// `watermark()`, which the peer keeps for next time. Costs O(changes since), not O(size):
  /// it walks the change log. Entries written by `skip_origin` are left out (that replica
  /// wrote them; anti-entropy still covers the case where it lost them).
  [[nodiscard]] DeltaType delta_since(const Watermark& seen,
                                      std::string_view skip_origin = {}) const {
    if (seen.epoch != epoch_) return full_delta();
    DeltaType out;
    if (seen.seq >= seq_) return out;
    auto it = std::upper_bound(log_.begin(), log_.end(), seen.seq,
                               [](std::uint64_t s, const LogEntry& e) { return s < e.first; });
    for (; it != log_.end(); ++it) {
      const auto& [key, slot] = *it->second;
      if (slot.seq != it->first) continue;  // changed again since: a later log entry has it
      if (!skip_origin.empty() && slot.entry.stamp.origin == skip_origin) continue;
      out.join(key, slot.entry);
    }
    return out;
  }
  /// The incrementally maintained digest.
  [[nodiscard]] const Digest& digest() const noexcept { return digest_; }
  /// The versions held in `buckets` (e.g. the buckets where two digests differ).
  [[nodiscard]] Summary summary(std::span<const std::uint32_t> buckets) const {
    Summary out;
    out.buckets.assign(buckets.begin(), buckets.end());
    std::sort(out.buckets.begin(), out.buckets.end());
    out.buckets.erase(std::unique(out.buckets.begin(), out.buckets.end()), out.buckets.end());
    for (const auto& [k, slot] : slots_) {
      if (!std::binary_search(out.buckets.begin(), out.buckets.end(), slot.bucket)) continue;
      out.versions.push_back(
          {encode_bytes(k), slot.entry.length, slot.entry.stamp.hlc, slot.fingerprint});
    }
    return out;
  }
  /// The entries in the summary's buckets that the summarised replica lacks or holds an
  /// older version of. Where both versions tie on (length, hlc) but differ, ours is sent
  /// and the receiver's merge decides.
  [[nodiscard]] DeltaType delta_for(const Summary& peer) const {
    std::map<std::string_view, const Summary::Version*> theirs;
    for (const auto& v : peer.versions) theirs.emplace(v.key, &v);
    DeltaType out;
    for (const auto& [k, slot] : slots_) {
      if (!std::binary_search(peer.buckets.begin(), peer.buckets.end(), slot.bucket)) continue;
      const std::string kb = encode_bytes(k);
      auto it = theirs.find(kb);
      if (it == theirs.end()) {
        out.join(k, slot.entry);
        continue;
      }
      const Summary::Version& v = *it->second;
      const auto mine = std::pair(slot.entry.length, slot.entry.stamp.hlc);
      const auto other = std::pair(v.length, v.hlc);
      if (mine > other || (mine == other && v.fingerprint != slot.fingerprint))
        out.join(k, slot.entry);
    }
    return out;
  }

 private:
  struct Slot {
    Entry<V> entry;
    std::uint64_t fingerprint = 0;  // hash of key and entry, XORed into the digest
    std::uint64_t seq = 0;          // local change-log position of the last change
    std::uint32_t bucket = 0;
  };
  using SlotMap = std::map<K, Slot>;
  // (seq, slot) for every change in seq order; stale when the slot changed again. Compacted
  // to one record per slot once it holds more than twice as many.
  using LogEntry = std::pair<std::uint64_t, typename SlotMap::const_iterator>;

  void log_change(typename SlotMap::const_iterator it) {
    log_.emplace_back(it->second.seq, it);
    if (log_.size() > 2 * slots_.size() + 1024) rebuild_log();
  }
  void rebuild_log() {
    log_.clear();
    log_.reserve(slots_.size());
    for (auto it = slots_.cbegin(); it != slots_.cend(); ++it)
      log_.emplace_back(it->second.seq, it);
    std::sort(log_.begin(), log_.end(),
              [](const LogEntry& a, const LogEntry& b) { return a.first < b.first; });
  }

  static std::uint64_t random_epoch() {
    std::random_device rd;
    std::uint64_t e = (static_cast<std::uint64_t>(rd()) << 32) | rd();
    return e == 0 ? 1 : e;
  }

  // Encodes key then entry into `buf`; returns the key's length. The fingerprint hashes it all.
  static std::size_t encode_slot(std::string& buf, const K& key, const Entry<V>& e) {
    buf.clear();
    ByteWriter w(buf);
    Codec<K>::encode(key, w);
    const std::size_t key_size = buf.size();
    w.varint(e.length);
    w.u64(e.stamp.hlc);
    w.bytes(e.stamp.origin);
    Codec<V>::encode(e.value, w);
    return key_size;
  }

  DeltaType single(const K& key, std::uint64_t length, const Entry<V>* cur, V value) const {
    if (cur != nullptr) clock_->observe(cur->stamp.hlc);
    DeltaType d;
    d.join(key, Entry<V>{length, Stamp{clock_->now(), origin_}, std::move(value)});
    return d;
  }

  DeltaType apply(DeltaType d) {
    merge(d);
    return d;
  }

  bool merge_entry(const K& key, const Entry<V>& incoming, const Observer& observer) {
    clock_->observe(incoming.stamp.hlc);
    auto it = slots_.lower_bound(key);
    const bool exists = it != slots_.end() && !(key < it->first);
    if (exists && compare_entries(incoming, it->second.entry) <= 0) return false;
    const std::size_t key_size = encode_slot(scratch_, key, incoming);
    const std::uint64_t fp = stable_hash(scratch_, 0x66707274ULL);
    if (!exists) {
      const std::uint32_t bucket = digest_bucket(std::string_view(scratch_).substr(0, key_size));
      it = slots_.emplace_hint(it, key, Slot{incoming, fp, ++seq_, bucket});
      log_change(it);
      digest_.count++;
      digest_.buckets[bucket] ^= fp;
      if (incoming.present()) ++present_;
      if (observer) observer(key, nullptr, incoming);
      return true;
    }
    Slot& slot = it->second;
    const Entry<V> before = observer ? slot.entry : Entry<V>{};
    if (slot.entry.present()) --present_;
    if (incoming.present()) ++present_;
    digest_.buckets[slot.bucket] ^= slot.fingerprint ^ fp;
    slot.entry = incoming;
    slot.fingerprint = fp;
    slot.seq = ++seq_;
    log_change(it);
    if (observer) observer(key, &before, slot.entry);
    return true;
  }

  std::string origin_;
  std::shared_ptr<HybridClock> clock_;
  std::uint64_t epoch_;
  std::uint64_t seq_ = 0;
  std::size_t present_ = 0;
  SlotMap slots_;
  Digest digest_;
  std::vector<LogEntry> log_;
  std::string scratch_;  // reused encoding buffer: merging allocates no temporary strings
};

// ---- wire and storage encodings (canonical; decoders never trust their input)

template <typename V>
struct Codec<Entry<V>> {
  static void encode(const Entry<V>& e, ByteWriter& w) {
    w.varint(e.length);
    w.u64(e.stamp.hlc);
    w.bytes(e.stamp.origin);
    w.bytes(encode_bytes(e.value));
  }
  static bool decode(ByteReader& r, Entry<V>& e) {
    std::string_view origin;
    std::string_view value;
    if (!r.varint(e.length) || e.length == 0) return false;
    if (!r.u64(e.stamp.hlc) || !r.bytes(origin) || !r.bytes(value)) return false;
    e.stamp.origin.assign(origin);
    return decode_bytes(value, e.value);
  }
};

template <typename K, typename V>
struct Codec<Delta<K, V>> {
  static constexpr std::uint8_t kVersion = 1;
  static void encode(const Delta<K, V>& d, ByteWriter& w) {
    w.u8(kVersion);
    w.varint(d.size());
    for (const auto& [k, e] : d.entries()) {
      w.bytes(encode_bytes(k));
      Codec<Entry<V>>::encode(e, w);
    }
  }
  static bool decode(ByteReader& r, Delta<K, V>& d) {
    std::uint8_t version = 0;
    std::uint64_t n = 0;
    if (!r.u8(version) || version != kVersion || !r.count(n, 12)) return false;
    d = {};
    for (std::uint64_t i = 0; i < n; ++i) {
      std::string_view kb;
      K key{};
      Entry<V> e;
      if (!r.bytes(kb) || !decode_bytes(kb, key) || !Codec<Entry<V>>::decode(r, e)) return false;
      d.join(key, e);  // duplicates join: a delta is a join of its entries
    }
    return true;
  }
};

template <>
struct Codec<Watermark> {
  static void encode(const Watermark& m, ByteWriter& w) {
    w.u64(m.epoch);
    w.varint(m.seq);
  }
  static bool decode(ByteReader& r, Watermark& m) { return r.u64(m.epoch) && r.varint(m.seq); }
};

template <>
struct Codec<Digest> {
  static void encode(const Digest& d, ByteWriter& w) {
    w.varint(Digest::kBuckets);
    w.varint(d.count);
    for (std::uint64_t b : d.buckets) w.u64(b);
  }
  static bool decode(ByteReader& r, Digest& d) {
    std::uint64_t n = 0;
    if (!r.varint(n) || n != Digest::kBuckets || !r.varint(d.count)) return false;
    for (auto& b : d.buckets)
      if (!r.u64(b)) return false;
    return true;
  }
};

template <>
struct Codec<Summary> {
  static void encode(const Summary& s, ByteWriter& w) {
    w.varint(s.buckets.size());
    for (std::uint32_t b : s.buckets) w.varint(b);
    w.varint(s.versions.size());
    for (const auto& v : s.versions) {
      w.bytes(v.key);
      w.varint(v.length);
      w.u64(v.hlc);
      w.u64(v.fingerprint);
    }
  }
  static bool decode(ByteReader& r, Summary& s) {
    std::uint64_t nb = 0;
    if (!r.count(nb)) return false;
    s = {};
    for (std::uint64_t i = 0; i < nb; ++i) {
      std::uint64_t b = 0;
      if (!r.varint(b) || b >= Digest::kBuckets) return false;
      if (!s.buckets.empty() && b <= s.buckets.back()) return false;  // ascending, unique
      s.buckets.push_back(static_cast<std::uint32_t>(b));
    }
    std::uint64_t nv = 0;
    if (!r.count(nv, 18)) return false;
    s.versions.reserve(nv);
    for (std::uint64_t i = 0; i < nv; ++i) {
      Summary::Version v;
      std::string_view key;
      if (!r.bytes(key) || !r.varint(v.length) || !r.u64(v.hlc) || !r.u64(v.fingerprint))
        return false;
      v.key.assign(key);
      s.versions.push_back(std::move(v));
    }
    return true;
  }
};

/// Canonical bytes of any codec-able value (Delta, Digest, Summary, Watermark, ...).
template <typename T>
[[nodiscard]] std::string encode(const T& v) {
  return encode_bytes(v);
}

/// Decodes bytes received from a peer or read from disk; an error (never an exception) when
/// they are malformed. `what` names the thing for the error message.
template <typename T>
[[nodiscard]] Result<T> decode(std::string_view bytes, std::string_view what = "nexus message") {
  T v{};
  if (!decode_bytes(bytes, v))
    return make_error(std::errc::bad_message, "malformed " + std::string(what));
  return v;
}

}  // namespace bngkit::nexus
