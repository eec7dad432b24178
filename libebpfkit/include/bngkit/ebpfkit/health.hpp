// Health data a daemon can expose: is a program still attached where we put it, how
// full are the maps, how far behind is a ring buffer consumer. Every value is read
// from the kernel at call time.
#pragma once

#include <bngkit/common/result.hpp>
#include <bngkit/ebpfkit/attach.hpp>
#include <bngkit/ebpfkit/export.hpp>
#include <bngkit/ebpfkit/map.hpp>
#include <bngkit/ebpfkit/ringbuf.hpp>
#include <cstdint>

namespace bngkit::ebpfkit {

/// True when program `prog_id` is attached at `ifindex` in any XDP mode.
[[nodiscard]] BNGKIT_EBPFKIT_EXPORT Result<bool> xdp_attached(unsigned ifindex,
                                                              std::uint32_t prog_id);
/// True when program `prog_id` is the TC filter at (ifindex, direction, priority, handle).
[[nodiscard]] BNGKIT_EBPFKIT_EXPORT Result<bool> tc_attached(unsigned ifindex,
                                                             TcDirection direction,
                                                             std::uint32_t priority,
                                                             std::uint32_t handle,
                                                             std::uint32_t prog_id);

/// How full a map is.
struct MapPressure {
  std::uint64_t entries = 0;  ///< keys present (arrays: always max_entries)
  std::uint64_t max_entries = 0;
  bool fixed_size = false;  ///< arrays: every slot exists, the ratio says nothing
  [[nodiscard]] double ratio() const noexcept {
    return max_entries == 0 ? 0.0 : static_cast<double>(entries) / static_cast<double>(max_entries);
  }
};
/// Counts the keys of hash/LRU/LPM maps (batch reads where supported, else key walk;
/// O(entries)). Ring buffers: use ring_pressure().
[[nodiscard]] BNGKIT_EBPFKIT_EXPORT Result<MapPressure> map_pressure(const MapHandle& map);

/// Bytes waiting in a ring buffer consumer.
[[nodiscard]] inline RingBacklog ring_pressure(const RingBuffer& rb) noexcept {
  return rb.backlog();
}

}  // namespace bngkit::ebpfkit
