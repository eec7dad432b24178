// map-export: read BPF maps with bngkit::ebpfkit and print them in the Prometheus text
// format, for node_exporter's textfile collector or any scraper. Maps are chosen by bpffs
// pin or by kernel name (every loaded map of that name, e.g. `dhcp_stats` of each bng fast
// path). Each value is read as 64-bit counters (per-CPU maps summed over the possible
// CPUs); the map's size and capacity are exported beside them.
//
//   map-export [--pinned PATH]... [--name NAME]... [--max-keys N]
//   map-export --name dhcp_stats > /var/lib/node_exporter/textfile/bng.prom.tmp && mv ...
#include <bpf/bpf.h>

#include <bngkit/ebpfkit/map.hpp>
#include <bngkit/ebpfkit/pin.hpp>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace ek = bngkit::ebpfkit;

namespace {

// A key as a label value: array indexes as numbers, other keys as hex bytes.
std::string key_label(const ek::MapHandle& m, const std::vector<std::byte>& key) {
  if (m.info().key_size == 4 &&
      (m.type() == BPF_MAP_TYPE_ARRAY || m.type() == BPF_MAP_TYPE_PERCPU_ARRAY)) {
    std::uint32_t i;
    std::memcpy(&i, key.data(), 4);
    return std::to_string(i);
  }
  std::string hex = "0x";
  for (auto b : key) {
    char two[3];
    std::snprintf(two, sizeof two, "%02x", static_cast<unsigned>(b));
    hex += two;
  }
  return hex;
}

// The text of each metric family; Prometheus wants a family's samples together.
struct Families {
  std::string values, entries, max_entries;
};

// Appends one map's samples.
bngkit::Result<void> export_map(const ek::MapHandle& m, std::size_t max_keys, Families& out) {
  const auto& info = m.info();
  const std::string labels = "map=\"" + info.name + "\",id=\"" + std::to_string(info.id) + "\"";
  const std::size_t words = info.value_size / 8;  // trailing bytes of odd sizes are skipped
  const std::size_t slot = (info.value_size + 7) / 8 * 8;
  const std::size_t cpus = m.is_per_cpu() ? m.value_stride() / slot : 1;
  std::vector<std::byte> key(info.key_size), next(info.key_size), value(m.value_stride());
  std::size_t n = 0;
  for (bool first = true;; first = false) {
    auto more = m.next_key_bytes(first ? nullptr : key.data(), next.data());
    if (!more) return more.error();
    if (!*more || n == max_keys) break;
    key = next;
    auto found = m.lookup_bytes(key.data(), value.data());
    if (!found) return found.error();
    if (!*found) continue;  // deleted between the two calls
    ++n;
    for (std::size_t w = 0; w < words; ++w) {
      std::uint64_t sum = 0;
      for (std::size_t c = 0; c < cpus; ++c) {
        std::uint64_t v;
        std::memcpy(&v, value.data() + c * slot + w * 8, 8);
        sum += v;
      }
      out.values += "bpf_map_value{" + labels + ",key=\"" + key_label(m, key) + "\",word=\"" +
                    std::to_string(w) + "\"} " + std::to_string(sum) + "\n";
    }
  }
  out.entries += "bpf_map_entries{" + labels + "} " + std::to_string(n) + "\n";
  out.max_entries +=
      "bpf_map_max_entries{" + labels + "} " + std::to_string(info.max_entries) + "\n";
  return bngkit::ok();
}

// Every loaded map called `name` (kernel names are cut at 15 characters).
bngkit::Result<std::vector<ek::MapHandle>> maps_named(std::string_view name) {
  std::vector<ek::MapHandle> found;
  for (std::uint32_t id = 0; bpf_map_get_next_id(id, &id) == 0;) {
    auto m = ek::MapHandle::from_id(id);
    if (!m) continue;  // gone since the id was listed
    if (m->name() == name.substr(0, 15)) found.push_back(std::move(*m));
  }
  if (errno != ENOENT) return bngkit::errno_error(errno, "listing BPF maps");
  return found;
}

int usage(const char* argv0) {
  std::fprintf(stderr, "usage: %s [--pinned PATH]... [--name NAME]... [--max-keys N]\n", argv0);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<ek::MapHandle> maps;
  std::size_t max_keys = 4096;  // bound the output of a large hash map
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (i + 1 >= argc) return usage(argv[0]);
    std::string v = argv[++i];
    if (a == "--pinned") {
      auto m = ek::open_pinned_map(v);
      if (!m) {
        std::fprintf(stderr, "map-export: %s: %s\n", v.c_str(), m.error().message().c_str());
        return 1;
      }
      maps.push_back(std::move(*m));
    } else if (a == "--name") {
      auto named = maps_named(v);
      if (!named) {
        std::fprintf(stderr, "map-export: %s\n", named.error().message().c_str());
        return 1;
      }
      if (named->empty())
        std::fprintf(stderr, "map-export: no loaded map is named %s\n", v.c_str());
      for (auto& m : *named) maps.push_back(std::move(m));
    } else if (a == "--max-keys") {
      max_keys = std::strtoul(v.c_str(), nullptr, 10);
    } else {
      return usage(argv[0]);
    }
  }
  if (maps.empty()) return usage(argv[0]);

  Families f;
  for (const auto& m : maps) {
    if (auto r = export_map(m, max_keys, f); !r) {
      std::fprintf(stderr, "map-export: map %s: %s\n", m.name().c_str(),
                   r.error().message().c_str());
      return 1;
    }
  }
  std::printf(
      "# HELP bpf_map_value 64-bit word of a BPF map value, summed over CPUs.\n"
      "# TYPE bpf_map_value gauge\n%s"
      "# HELP bpf_map_entries Keys present in the BPF map (read up to --max-keys).\n"
      "# TYPE bpf_map_entries gauge\n%s"
      "# HELP bpf_map_max_entries Capacity of the BPF map.\n"
      "# TYPE bpf_map_max_entries gauge\n%s",
      f.values.c_str(), f.entries.c_str(), f.max_entries.c_str());
  return 0;
}
