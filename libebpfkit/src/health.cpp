// Health data: attachment checks and map pressure.
#include <bngkit/ebpfkit/health.hpp>

#include "internal.hpp"

namespace bngkit::ebpfkit {

Result<bool> xdp_attached(unsigned ifindex, std::uint32_t prog_id) {
  auto q = xdp_query(ifindex);
  if (!q) return q.error();
  return prog_id != 0 &&
         (q->native_id == prog_id || q->generic_id == prog_id || q->offload_id == prog_id);
}

Result<bool> tc_attached(unsigned ifindex, TcDirection direction, std::uint32_t priority,
                         std::uint32_t handle, std::uint32_t prog_id) {
  auto id = tc_query(ifindex, direction, priority, handle);
  if (!id) return id.error();
  return prog_id != 0 && *id == prog_id;
}

Result<MapPressure> map_pressure(const MapHandle& map) {
  const MapInfo& mi = map.info();
  MapPressure p;
  p.max_entries = mi.max_entries;
  switch (mi.type) {
    case BPF_MAP_TYPE_ARRAY:
    case BPF_MAP_TYPE_PERCPU_ARRAY:
      p.entries = mi.max_entries;
      p.fixed_size = true;
      return p;
    case BPF_MAP_TYPE_RINGBUF:
    case BPF_MAP_TYPE_PERF_EVENT_ARRAY:
      return make_error(std::errc::invalid_argument,
                        fmt::format("map '{}' is a {}: it has no keys to count (use "
                                    "ring_pressure on its consumer)",
                                    mi.name, map_type_name(mi.type)));
    default:
      break;
  }
  auto n = map.count_keys();
  if (!n) return n.error();
  p.entries = *n;
  return p;
}

}  // namespace bngkit::ebpfkit
