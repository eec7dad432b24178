// MapHandle: map info, byte-level element operations, batch operations with a
// per-element fallback, and the typed-map helpers.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <bngkit/ebpfkit/libbpf_opts.hpp>
#include <bngkit/ebpfkit/map.hpp>
#include <cstring>

#include "internal.hpp"

namespace bngkit::ebpfkit {

Result<unsigned> possible_cpus() {
  int n = libbpf_num_possible_cpus();
  if (n <= 0) return detail::bpf_error(n, "reading the number of possible CPUs");
  return static_cast<unsigned>(n);
}

std::string_view map_type_name(bpf_map_type type) noexcept {
  const char* s = libbpf_bpf_map_type_str(type);
  return s != nullptr ? s : "unknown";
}

Result<MapInfo> map_info(int fd) {
  if (auto k = detail::expect_fd_kind(fd, "bpf-map"); !k) return k.error();
  bpf_map_info raw{};
  std::uint32_t len = sizeof(raw);
  int rc = bpf_obj_get_info_by_fd(fd, &raw, &len);
  if (rc != 0) return detail::bpf_error(rc, "reading info of BPF map fd {}", fd);
  MapInfo info;
  info.name.assign(raw.name, strnlen(raw.name, sizeof(raw.name)));
  info.type = static_cast<bpf_map_type>(raw.type);
  info.id = raw.id;
  info.key_size = raw.key_size;
  info.value_size = raw.value_size;
  info.max_entries = raw.max_entries;
  info.map_flags = raw.map_flags;
  return info;
}

namespace detail {

bool is_per_cpu_type(bpf_map_type type) noexcept {
  return type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_ARRAY ||
         type == BPF_MAP_TYPE_LRU_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
}

Error typed_map_mismatch(const MapInfo& info, std::string_view what, std::size_t key_size,
                         std::size_t value_size) {
  std::string why;
  bool per_cpu = is_per_cpu_type(info.type);
  if (what.starts_with("PerCpuMap") && !per_cpu) {
    why = fmt::format("map type {} is not per-CPU (use Map<K,V>)", map_type_name(info.type));
  } else if (!what.starts_with("PerCpuMap") && per_cpu) {
    why = fmt::format("map type {} is per-CPU (use PerCpuMap<K,V>)", map_type_name(info.type));
  } else if (info.key_size != key_size) {
    why = fmt::format("key size mismatch: kernel map has {} bytes, sizeof(K) is {}", info.key_size,
                      key_size);
  } else {
    why = fmt::format("value size mismatch: kernel map has {} bytes, sizeof(V) is {}",
                      info.value_size, value_size);
  }
  return make_error(std::errc::invalid_argument,
                    fmt::format("{} for map '{}': {}", what, info.name, why));
}

Error missing_key_error(const MapInfo& info) {
  return make_error(std::errc::no_such_file_or_directory,
                    fmt::format("map '{}': no entry for this key", info.name));
}

}  // namespace detail

MapHandle::MapHandle(int fd, UniqueFd owned, MapInfo info) noexcept
    : owned_(std::move(owned)), fd_(fd), info_(std::move(info)) {
  stride_ = info_.value_size;
  if (detail::is_per_cpu_type(info_.type)) {
    int n = libbpf_num_possible_cpus();
    stride_ = (static_cast<std::size_t>(info_.value_size) + 7) / 8 * 8 *
              static_cast<std::size_t>(n > 0 ? n : 1);
  }
}

bool MapHandle::is_per_cpu() const noexcept { return detail::is_per_cpu_type(info_.type); }

Result<MapHandle> MapHandle::borrow(int fd) {
  auto info = map_info(fd);
  if (!info) return info.error();
  return MapHandle(fd, UniqueFd{}, std::move(info).value());
}

Result<MapHandle> MapHandle::adopt(UniqueFd fd) {
  auto info = map_info(fd.get());
  if (!info) return info.error();
  int raw = fd.get();
  return MapHandle(raw, std::move(fd), std::move(info).value());
}

Result<MapHandle> MapHandle::from_id(std::uint32_t id) {
  int fd = bpf_map_get_fd_by_id(id);
  if (fd < 0) return detail::bpf_error(fd, "opening BPF map id {}", id);
  return adopt(UniqueFd(fd));
}

Result<MapHandle> MapHandle::create(bpf_map_type type, std::string_view name,
                                    std::uint32_t key_size, std::uint32_t value_size,
                                    std::uint32_t max_entries, std::uint32_t map_flags) {
  LibbpfOpts<bpf_map_create_opts> opts;
  opts.map_flags = map_flags;
  std::string n(name);
  int fd = bpf_map_create(type, n.c_str(), key_size, value_size, max_entries, &opts);
  if (fd < 0) {
    return detail::bpf_error(fd, "creating {} map '{}' (key {} B, value {} B, {} entries)",
                             map_type_name(type), name, key_size, value_size, max_entries);
  }
  auto h = adopt(UniqueFd(fd));
  if (h) h->info_.name = n;  // the kernel keeps only 15 characters
  return h;
}

Result<bool> MapHandle::lookup_bytes(const void* key, void* value, std::uint64_t flags) const {
  int rc = bpf_map_lookup_elem_flags(fd_, key, value, flags);
  if (rc == 0) return true;
  if (-rc == ENOENT) return false;
  return detail::bpf_error(rc, "lookup in map '{}'", info_.name);
}

Result<void> MapHandle::update_bytes(const void* key, const void* value,
                                     std::uint64_t flags) const {
  int rc = bpf_map_update_elem(fd_, key, value, flags);
  if (rc == 0) return ok();
  const char* hint = "";
  if (-rc == EEXIST) hint = " (key exists and no_exist was asked)";
  if (-rc == ENOENT) hint = " (key absent and exist was asked)";
  if (-rc == E2BIG) hint = " (map full or array index out of range)";
  return detail::bpf_error(rc, "update of map '{}'{}", info_.name, hint);
}

Result<bool> MapHandle::erase_bytes(const void* key) const {
  int rc = bpf_map_delete_elem(fd_, key);
  if (rc == 0) return true;
  if (-rc == ENOENT) return false;
  return detail::bpf_error(rc, "delete from map '{}' ({})", info_.name, map_type_name(info_.type));
}

Result<bool> MapHandle::lookup_and_delete_bytes(const void* key, void* value) const {
  int rc = bpf_map_lookup_and_delete_elem(fd_, key, value);
  if (rc == 0) return true;
  if (-rc == ENOENT) return false;
  return detail::bpf_error(rc, "lookup-and-delete in map '{}' ({})", info_.name,
                           map_type_name(info_.type));
}

Result<bool> MapHandle::next_key_bytes(const void* key, void* next) const {
  int rc = bpf_map_get_next_key(fd_, key, next);
  if (rc == 0) return true;
  if (-rc == ENOENT) return false;
  return detail::bpf_error(rc, "iterating keys of map '{}'", info_.name);
}

namespace {

// Walks the map with BPF_MAP_LOOKUP_BATCH, `chunk` entries at a time, handing each
// chunk to `sink(keys, values, count)`. Returns false (having called nothing) when the
// kernel or map type has no batch lookup.
template <typename Sink>
Result<bool> batch_walk(int fd, const MapInfo& info, std::size_t stride, std::uint32_t chunk,
                        Sink&& sink) {
  const std::size_t ks = info.key_size;
  // The batch cursor is a bucket index (hash) or a key (array): room for either.
  std::vector<std::byte> in_batch(std::max<std::size_t>(ks, 8));
  std::vector<std::byte> out_batch(in_batch.size());
  std::vector<std::byte> keys;
  std::vector<std::byte> values;
  chunk = std::max<std::uint32_t>(chunk, 1);
  bool first = true;
  while (true) {
    keys.resize(chunk * ks);
    values.resize(chunk * stride);
    std::uint32_t count = chunk;
    LibbpfOpts<bpf_map_batch_opts> bo;
    int rc = bpf_map_lookup_batch(fd, first ? nullptr : in_batch.data(), out_batch.data(),
                                  keys.data(), values.data(), &count, &bo);
    int err = rc < 0 ? -rc : 0;
    if (err == ENOSPC && count == 0) {  // one hash bucket holds more than `chunk`
      chunk *= 2;
      continue;
    }
    if (err != 0 && err != ENOENT) {
      if (first && detail::batch_unsupported(err)) return false;
      return detail::bpf_error(rc, "batch lookup in map '{}'", info.name);
    }
    if (count > 0) sink(keys.data(), values.data(), count);
    if (err == ENOENT) return true;  // end of map
    in_batch.swap(out_batch);
    first = false;
  }
}

}  // namespace

Result<std::size_t> MapHandle::count_keys() const {
  if (info_.type == BPF_MAP_TYPE_ARRAY || info_.type == BPF_MAP_TYPE_PERCPU_ARRAY) {
    return static_cast<std::size_t>(info_.max_entries);
  }
  std::size_t n = 0;
  auto walked = batch_walk(fd_, info_, stride_, 1024,
                           [&](const std::byte*, const std::byte*, std::uint32_t c) { n += c; });
  if (!walked) return walked.error();
  if (*walked) return n;
  std::vector<std::byte> cur(info_.key_size);
  std::vector<std::byte> next(info_.key_size);
  bool first = true;
  while (true) {
    auto r = next_key_bytes(first ? nullptr : cur.data(), next.data());
    if (!r) return r.error();
    if (!*r) return n;
    first = false;
    cur.swap(next);
    ++n;
  }
}

Result<std::size_t> MapHandle::lookup_batch_bytes(std::vector<std::byte>& keys,
                                                  std::vector<std::byte>& values,
                                                  const BatchOptions& opts) const {
  const std::size_t ks = info_.key_size;
  const std::size_t vs = stride_;
  std::size_t total = 0;
  if (opts.use_kernel_batch) {
    auto walked = batch_walk(fd_, info_, vs, opts.chunk,
                             [&](const std::byte* k, const std::byte* v, std::uint32_t c) {
                               keys.insert(keys.end(), k, k + c * ks);
                               values.insert(values.end(), v, v + c * vs);
                               total += c;
                             });
    if (!walked) return walked.error();
    if (*walked) return total;
  }
  // One element at a time: BPF_MAP_GET_NEXT_KEY + BPF_MAP_LOOKUP_ELEM.
  std::vector<std::byte> cur(ks);
  std::vector<std::byte> next(ks);
  std::vector<std::byte> val(vs);
  bool first = true;
  while (true) {
    auto n = next_key_bytes(first ? nullptr : cur.data(), next.data());
    if (!n) return n.error();
    if (!*n) break;
    first = false;
    cur.swap(next);
    auto l = lookup_bytes(cur.data(), val.data());
    if (!l) return l.error();
    if (!*l) continue;  // deleted meanwhile
    keys.insert(keys.end(), cur.begin(), cur.end());
    values.insert(values.end(), val.begin(), val.end());
    ++total;
  }
  return total;
}

Result<std::size_t> MapHandle::update_batch_bytes(const void* keys, const void* values,
                                                  std::size_t count, std::uint64_t flags,
                                                  const BatchOptions& opts) const {
  const auto* kp = static_cast<const std::byte*>(keys);
  const auto* vp = static_cast<const std::byte*>(values);
  const std::size_t ks = info_.key_size;
  const std::size_t vs = stride_;
  std::size_t done = 0;
  // The kernel batch update only has BPF_ANY semantics (elem_flags takes BPF_F_LOCK).
  bool kernel = opts.use_kernel_batch && (flags & ~static_cast<std::uint64_t>(BPF_F_LOCK)) == 0;
  const std::uint32_t chunk = std::max<std::uint32_t>(opts.chunk, 1);
  while (kernel && done < count) {
    auto n = static_cast<std::uint32_t>(std::min<std::size_t>(chunk, count - done));
    std::uint32_t c = n;
    LibbpfOpts<bpf_map_batch_opts> bo;
    bo.elem_flags = flags;
    int rc = bpf_map_update_batch(fd_, kp + done * ks, vp + done * vs, &c, &bo);
    if (rc == 0) {
      done += n;
      continue;
    }
    if (done == 0 && c == 0 && detail::batch_unsupported(-rc)) break;  // fall back
    return detail::bpf_error(rc, "batch update of map '{}' failed at element {}", info_.name,
                             done + c);
  }
  for (; done < count; ++done) {
    int rc = bpf_map_update_elem(fd_, kp + done * ks, vp + done * vs, flags);
    if (rc != 0) {
      return detail::bpf_error(rc, "update of map '{}' failed at element {}", info_.name, done);
    }
  }
  return done;
}

Result<std::size_t> MapHandle::delete_batch_bytes(const void* keys, std::size_t count,
                                                  const BatchOptions& opts) const {
  const auto* kp = static_cast<const std::byte*>(keys);
  const std::size_t ks = info_.key_size;
  std::size_t pos = 0;
  std::size_t existed = 0;
  bool kernel = opts.use_kernel_batch;
  const std::uint32_t chunk = std::max<std::uint32_t>(opts.chunk, 1);
  while (kernel && pos < count) {
    auto n = static_cast<std::uint32_t>(std::min<std::size_t>(chunk, count - pos));
    std::uint32_t c = n;
    LibbpfOpts<bpf_map_batch_opts> bo;
    int rc = bpf_map_delete_batch(fd_, kp + pos * ks, &c, &bo);
    if (rc == 0) {
      pos += n;
      existed += n;
      continue;
    }
    if (-rc == ENOENT) {  // the kernel stops at an absent key: count the rest, skip it
      pos += c + 1;
      existed += c;
      continue;
    }
    if (pos == 0 && c == 0 && detail::batch_unsupported(-rc)) break;  // fall back
    return detail::bpf_error(rc, "batch delete from map '{}' failed at element {}", info_.name,
                             pos + c);
  }
  for (; pos < count; ++pos) {
    auto r = erase_bytes(kp + pos * ks);
    if (!r) return r.error();
    if (*r) ++existed;
  }
  return existed;
}

}  // namespace bngkit::ebpfkit
