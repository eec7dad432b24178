// BPF maps: MapHandle (a map by descriptor, owned or borrowed, with its kernel shape),
// typed Map<K,V> for hash/array/LRU/LPM maps and PerCpuMap<K,V> for per-CPU maps.
// Typed maps check key/value sizes against the kernel map when they are made; batch
// operations use the kernel batch commands and fall back to one element at a time
// when the kernel or the map type does not support them.
#pragma once

#include <linux/bpf.h>

#include <bngkit/common/result.hpp>
#include <bngkit/ebpfkit/export.hpp>
#include <bngkit/ebpfkit/fd.hpp>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace bngkit::ebpfkit {

/// The shape of a kernel map (BPF_OBJ_GET_INFO_BY_FD).
struct MapInfo {
  std::string name;  ///< full name when it came from an Object, else the kernel's (<=15 chars)
  bpf_map_type type = BPF_MAP_TYPE_UNSPEC;
  std::uint32_t id = 0;
  std::uint32_t key_size = 0;
  std::uint32_t value_size = 0;
  std::uint32_t max_entries = 0;
  std::uint32_t map_flags = 0;
};

/// Update semantics (BPF_ANY / BPF_NOEXIST / BPF_EXIST, optionally with BPF_F_LOCK).
enum class UpdateFlag : std::uint64_t {
  any = BPF_ANY,           ///< create or replace
  no_exist = BPF_NOEXIST,  ///< create only
  exist = BPF_EXIST,       ///< replace only
};

/// Tuning for batch operations.
struct BatchOptions {
  /// Elements per kernel batch call (grown automatically when a hash bucket is bigger).
  std::uint32_t chunk = 256;
  /// Use the kernel batch commands when available (false: always one element at a time).
  bool use_kernel_batch = true;
};

/// Number of possible CPUs (the per-CPU value count), cached by libbpf.
[[nodiscard]] BNGKIT_EBPFKIT_EXPORT Result<unsigned> possible_cpus();

/// Human name of a map type ("hash", "percpu_array", ...).
[[nodiscard]] BNGKIT_EBPFKIT_EXPORT std::string_view map_type_name(bpf_map_type type) noexcept;

/// Kernel info about the map behind `fd`.
[[nodiscard]] BNGKIT_EBPFKIT_EXPORT Result<MapInfo> map_info(int fd);

/// A map by descriptor, owned or borrowed, with byte-level operations. Typed access
/// goes through Map<K,V> / PerCpuMap<K,V>, which wrap a MapHandle.
class BNGKIT_EBPFKIT_EXPORT MapHandle {
 public:
  /// Borrows `fd` (must stay open while the handle is used); reads its shape.
  [[nodiscard]] static Result<MapHandle> borrow(int fd);
  /// Takes ownership of `fd`; reads its shape.
  [[nodiscard]] static Result<MapHandle> adopt(UniqueFd fd);
  /// Opens the map with kernel id `id` (owned fd).
  [[nodiscard]] static Result<MapHandle> from_id(std::uint32_t id);
  /// Creates a new map (owned fd), e.g. for tests or map-in-map inner maps.
  [[nodiscard]] static Result<MapHandle> create(bpf_map_type type, std::string_view name,
                                                std::uint32_t key_size, std::uint32_t value_size,
                                                std::uint32_t max_entries,
                                                std::uint32_t map_flags = 0);

  MapHandle(MapHandle&& other) noexcept
      : owned_(std::move(other.owned_)),
        fd_(std::exchange(other.fd_, -1)),
        info_(std::move(other.info_)),
        stride_(other.stride_) {}
  MapHandle& operator=(MapHandle&& other) noexcept {
    if (this != &other) {
      owned_ = std::move(other.owned_);
      fd_ = std::exchange(other.fd_, -1);
      info_ = std::move(other.info_);
      stride_ = other.stride_;
    }
    return *this;
  }
  MapHandle(const MapHandle&) = delete;
  MapHandle& operator=(const MapHandle&) = delete;
  ~MapHandle() = default;

  /// A non-owning handle to the same map (valid while this one's fd is open).
  [[nodiscard]] MapHandle borrowed() const { return MapHandle(fd_, UniqueFd{}, info_); }

  [[nodiscard]] int fd() const noexcept { return fd_; }
  [[nodiscard]] bool owns_fd() const noexcept { return owned_.valid(); }
  [[nodiscard]] const MapInfo& info() const noexcept { return info_; }
  [[nodiscard]] const std::string& name() const noexcept { return info_.name; }
  [[nodiscard]] bpf_map_type type() const noexcept { return info_.type; }
  [[nodiscard]] bool is_per_cpu() const noexcept;
  /// Bytes one value occupies in user space: value_size, or for per-CPU maps
  /// round_up(value_size, 8) * possible CPUs.
  [[nodiscard]] std::size_t value_stride() const noexcept { return stride_; }

  // Byte-level operations. `value` buffers must hold value_stride() bytes.
  /// Reads `key`; false when absent.
  [[nodiscard]] Result<bool> lookup_bytes(const void* key, void* value,
                                          std::uint64_t flags = 0) const;
  [[nodiscard]] Result<void> update_bytes(const void* key, const void* value,
                                          std::uint64_t flags = BPF_ANY) const;
  /// Deletes `key`; false when it was absent.
  [[nodiscard]] Result<bool> erase_bytes(const void* key) const;
  /// Reads and deletes `key` in one command; false when absent.
  [[nodiscard]] Result<bool> lookup_and_delete_bytes(const void* key, void* value) const;
  /// Next key after `key` (nullptr: first key) into `next`; false at the end.
  [[nodiscard]] Result<bool> next_key_bytes(const void* key, void* next) const;

  /// Appends every entry: key bytes to `keys`, value_stride() bytes each to `values`.
  /// Returns the number of entries read.
  [[nodiscard]] Result<std::size_t> lookup_batch_bytes(std::vector<std::byte>& keys,
                                                       std::vector<std::byte>& values,
                                                       const BatchOptions& opts = {}) const;
  /// Writes `count` entries (packed keys, values of value_stride() bytes each).
  [[nodiscard]] Result<std::size_t> update_batch_bytes(const void* keys, const void* values,
                                                       std::size_t count, std::uint64_t flags,
                                                       const BatchOptions& opts = {}) const;
  /// Deletes `count` packed keys; returns how many existed.
  [[nodiscard]] Result<std::size_t> delete_batch_bytes(const void* keys, std::size_t count,
                                                       const BatchOptions& opts = {}) const;

  /// Number of keys present (walks the keys; for arrays this is max_entries).
  [[nodiscard]] Result<std::size_t> count_keys() const;

 private:
  friend class Object;
  MapHandle(int fd, UniqueFd owned, MapInfo info) noexcept;

  UniqueFd owned_;
  int fd_ = -1;
  MapInfo info_;
  std::size_t stride_ = 0;
};

namespace detail {
BNGKIT_EBPFKIT_EXPORT Error typed_map_mismatch(const MapInfo& info, std::string_view what,
                                               std::size_t key_size, std::size_t value_size);
BNGKIT_EBPFKIT_EXPORT bool is_per_cpu_type(bpf_map_type type) noexcept;
BNGKIT_EBPFKIT_EXPORT Error missing_key_error(const MapInfo& info);
}  // namespace detail

/// Typed view of a hash, array, LRU hash or LPM trie map (non per-CPU).
/// K and V must be trivially copyable with the exact sizes of the kernel map.
template <typename K, typename V>
class Map {
  static_assert(std::is_trivially_copyable_v<K>, "map keys must be trivially copyable");
  static_assert(std::is_trivially_copyable_v<V>, "map values must be trivially copyable");

 public:
  using key_type = K;
  using value_type = V;

  /// Wraps `handle` after checking the map type and key/value sizes.
  [[nodiscard]] static Result<Map> from(MapHandle handle) {
    const MapInfo& mi = handle.info();
    if (detail::is_per_cpu_type(mi.type) || mi.key_size != sizeof(K) ||
        mi.value_size != sizeof(V)) {
      return detail::typed_map_mismatch(mi, "Map<K,V>", sizeof(K), sizeof(V));
    }
    return Map(std::move(handle));
  }

  [[nodiscard]] const MapHandle& handle() const noexcept { return h_; }
  [[nodiscard]] const MapInfo& info() const noexcept { return h_.info(); }
  [[nodiscard]] int fd() const noexcept { return h_.fd(); }

  /// The value for `key`, or nullopt when absent.
  [[nodiscard]] Result<std::optional<V>> lookup(const K& key) const {
    V v{};
    auto r = h_.lookup_bytes(&key, &v);
    if (!r) return r.error();
    if (!*r) return std::optional<V>{};
    return std::optional<V>{v};
  }
  /// Inserts or replaces according to `flag`.
  [[nodiscard]] Result<void> update(const K& key, const V& value,
                                    UpdateFlag flag = UpdateFlag::any) const {
    return h_.update_bytes(&key, &value, static_cast<std::uint64_t>(flag));
  }
  /// Deletes `key`; false when it was absent.
  [[nodiscard]] Result<bool> erase(const K& key) const { return h_.erase_bytes(&key); }
  /// Reads and deletes `key` atomically (hash/LRU maps, kernel >= 5.14).
  [[nodiscard]] Result<std::optional<V>> lookup_and_delete(const K& key) const {
    V v{};
    auto r = h_.lookup_and_delete_bytes(&key, &v);
    if (!r) return r.error();
    if (!*r) return std::optional<V>{};
    return std::optional<V>{v};
  }

  /// Calls `fn(const K&, const V&)` for every entry; `fn` may return bool (false stops).
  /// Entries deleted concurrently are skipped.
  template <typename Fn>
  [[nodiscard]] Result<void> for_each(Fn&& fn) const {
    K cur{};
    K next{};
    bool first = true;
    while (true) {
      auto n = h_.next_key_bytes(first ? nullptr : &cur, &next);
      if (!n) return n.error();
      if (!*n) return ok();
      first = false;
      cur = next;
      V v{};
      auto l = h_.lookup_bytes(&cur, &v);
      if (!l) return l.error();
      if (!*l) continue;
      if constexpr (std::is_same_v<std::invoke_result_t<Fn&, const K&, const V&>, bool>) {
        if (!fn(static_cast<const K&>(cur), static_cast<const V&>(v))) return ok();
      } else {
        fn(static_cast<const K&>(cur), static_cast<const V&>(v));
      }
    }
  }
  /// Every key (one BPF_MAP_GET_NEXT_KEY per key).
  [[nodiscard]] Result<std::vector<K>> keys() const {
    std::vector<K> out;
    K cur{};
    K next{};
    bool first = true;
    while (true) {
      auto n = h_.next_key_bytes(first ? nullptr : &cur, &next);
      if (!n) return n.error();
      if (!*n) return out;
      first = false;
      cur = next;
      out.push_back(cur);
    }
  }
  /// Every entry, one element at a time (see lookup_batch for the fast path).
  [[nodiscard]] Result<std::vector<std::pair<K, V>>> entries() const {
    std::vector<std::pair<K, V>> out;
    auto r = for_each([&](const K& k, const V& v) { out.emplace_back(k, v); });
    if (!r) return r.error();
    return out;
  }

  /// Every entry through BPF_MAP_LOOKUP_BATCH (falls back to per-element reads when
  /// the map type or kernel lacks batch support).
  [[nodiscard]] Result<std::vector<std::pair<K, V>>> lookup_batch(
      const BatchOptions& opts = {}) const {
    std::vector<std::byte> kb;
    std::vector<std::byte> vb;
    auto n = h_.lookup_batch_bytes(kb, vb, opts);
    if (!n) return n.error();
    std::vector<std::pair<K, V>> out(*n);
    for (std::size_t i = 0; i < *n; ++i) {
      std::memcpy(&out[i].first, kb.data() + i * sizeof(K), sizeof(K));
      std::memcpy(&out[i].second, vb.data() + i * sizeof(V), sizeof(V));
    }
    return out;
  }
  /// Writes keys[i] -> values[i] with BPF_MAP_UPDATE_BATCH (flag `any` only; other
  /// flags, or no kernel support, go one element at a time). Returns entries written.
  [[nodiscard]] Result<std::size_t> update_batch(std::span<const K> keys, std::span<const V> values,
                                                 UpdateFlag flag = UpdateFlag::any,
                                                 const BatchOptions& opts = {}) const {
    if (keys.size() != values.size()) {
      return make_error(std::errc::invalid_argument, "update_batch on map '" + info().name +
                                                         "': " + std::to_string(keys.size()) +
                                                         " keys but " +
                                                         std::to_string(values.size()) + " values");
    }
    return h_.update_batch_bytes(keys.data(), values.data(), keys.size(),
                                 static_cast<std::uint64_t>(flag), opts);
  }
  /// Deletes keys with BPF_MAP_DELETE_BATCH (per element when unsupported or when a
  /// key is absent). Returns how many keys existed.
  [[nodiscard]] Result<std::size_t> delete_batch(std::span<const K> keys,
                                                 const BatchOptions& opts = {}) const {
    return h_.delete_batch_bytes(keys.data(), keys.size(), opts);
  }

 private:
  explicit Map(MapHandle h) noexcept : h_(std::move(h)) {}
  MapHandle h_;
};

/// Typed view of a per-CPU hash/array/LRU map: one V per possible CPU for each key.
template <typename K, typename V>
class PerCpuMap {
  static_assert(std::is_trivially_copyable_v<K>, "map keys must be trivially copyable");
  static_assert(std::is_trivially_copyable_v<V>, "map values must be trivially copyable");

 public:
  using key_type = K;
  using value_type = V;
  /// The kernel stores each CPU's value rounded up to 8 bytes.
  static constexpr std::size_t kSlot = (sizeof(V) + 7) / 8 * 8;

  /// Wraps `handle` after checking that it is per-CPU and the key/value sizes match.
  [[nodiscard]] static Result<PerCpuMap> from(MapHandle handle) {
    const MapInfo& mi = handle.info();
    if (!detail::is_per_cpu_type(mi.type) || mi.key_size != sizeof(K) ||
        mi.value_size != sizeof(V)) {
      return detail::typed_map_mismatch(mi, "PerCpuMap<K,V>", sizeof(K), sizeof(V));
    }
    auto n = possible_cpus();
    if (!n) return n.error();
    return PerCpuMap(std::move(handle), *n);
  }

  [[nodiscard]] const MapHandle& handle() const noexcept { return h_; }
  [[nodiscard]] const MapInfo& info() const noexcept { return h_.info(); }
  [[nodiscard]] int fd() const noexcept { return h_.fd(); }
  /// Values per key (possible CPUs, not only online ones).
  [[nodiscard]] unsigned num_cpus() const noexcept { return ncpus_; }

  /// One value per possible CPU, or nullopt when `key` is absent.
  [[nodiscard]] Result<std::optional<std::vector<V>>> lookup(const K& key) const {
    std::vector<std::byte> buf(h_.value_stride());
    auto r = h_.lookup_bytes(&key, buf.data());
    if (!r) return r.error();
    if (!*r) return std::optional<std::vector<V>>{};
    return std::optional<std::vector<V>>{unpack(buf.data())};
  }
  /// Sets each CPU's value; `per_cpu.size()` must equal num_cpus().
  [[nodiscard]] Result<void> update(const K& key, std::span<const V> per_cpu,
                                    UpdateFlag flag = UpdateFlag::any) const {
    if (per_cpu.size() != ncpus_) {
      return make_error(std::errc::invalid_argument,
                        "update of per-CPU map '" + info().name + "': got " +
                            std::to_string(per_cpu.size()) + " values for " +
                            std::to_string(ncpus_) + " possible CPUs");
    }
    std::vector<std::byte> buf(h_.value_stride());
    for (unsigned c = 0; c < ncpus_; ++c)
      std::memcpy(buf.data() + c * kSlot, &per_cpu[c], sizeof(V));
    return h_.update_bytes(&key, buf.data(), static_cast<std::uint64_t>(flag));
  }
  /// Sets the same value on every CPU (e.g. zero to reset a counter).
  [[nodiscard]] Result<void> update_all(const K& key, const V& value,
                                        UpdateFlag flag = UpdateFlag::any) const {
    std::vector<V> v(ncpus_, value);
    return update(key, std::span<const V>(v), flag);
  }
  [[nodiscard]] Result<bool> erase(const K& key) const { return h_.erase_bytes(&key); }

  /// Folds the per-CPU values of `key`: fold(fold(init, cpu0), cpu1)... An absent key
  /// is an error (ENOENT).
  template <typename Fold = std::plus<>>
  [[nodiscard]] Result<V> aggregate(const K& key, V init = V{}, Fold fold = {}) const {
    auto r = lookup(key);
    if (!r) return r.error();
    if (!*r) return detail::missing_key_error(info());
    for (const V& v : **r) init = fold(std::move(init), v);
    return init;
  }
  /// Sum over CPUs with `+` (V must support it; else use aggregate with a fold).
  [[nodiscard]] Result<V> sum(const K& key) const { return aggregate(key, V{}, std::plus<>{}); }

  /// Every key with its per-CPU values (batch read with per-element fallback).
  [[nodiscard]] Result<std::vector<std::pair<K, std::vector<V>>>> entries(
      const BatchOptions& opts = {}) const {
    std::vector<std::byte> kb;
    std::vector<std::byte> vb;
    auto n = h_.lookup_batch_bytes(kb, vb, opts);
    if (!n) return n.error();
    std::vector<std::pair<K, std::vector<V>>> out;
    out.reserve(*n);
    for (std::size_t i = 0; i < *n; ++i) {
      K k;
      std::memcpy(&k, kb.data() + i * sizeof(K), sizeof(K));
      out.emplace_back(k, unpack(vb.data() + i * h_.value_stride()));
    }
    return out;
  }
  /// Every key with its values folded over CPUs (default: summed).
  template <typename Fold = std::plus<>>
  [[nodiscard]] Result<std::vector<std::pair<K, V>>> aggregate_entries(
      V init = V{}, Fold fold = {}, const BatchOptions& opts = {}) const {
    auto e = entries(opts);
    if (!e) return e.error();
    std::vector<std::pair<K, V>> out;
    out.reserve(e->size());
    for (auto& [k, vals] : *e) {
      V acc = init;
      for (const V& v : vals) acc = fold(std::move(acc), v);
      out.emplace_back(k, acc);
    }
    return out;
  }
  [[nodiscard]] Result<std::vector<K>> keys() const {
    std::vector<K> out;
    K cur{};
    K next{};
    bool first = true;
    while (true) {
      auto n = h_.next_key_bytes(first ? nullptr : &cur, &next);
      if (!n) return n.error();
      if (!*n) return out;
      first = false;
      cur = next;
      out.push_back(cur);
    }
  }

 private:
  PerCpuMap(MapHandle h, unsigned ncpus) noexcept : h_(std::move(h)), ncpus_(ncpus) {}
  std::vector<V> unpack(const std::byte* p) const {
    std::vector<V> out(ncpus_);
    for (unsigned c = 0; c < ncpus_; ++c) std::memcpy(&out[c], p + c * kSlot, sizeof(V));
    return out;
  }
  MapHandle h_;
  unsigned ncpus_;
};

}  // namespace bngkit::ebpfkit
