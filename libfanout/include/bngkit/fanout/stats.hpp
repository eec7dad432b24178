// Counters an engine keeps per listener: datagrams and bytes received and forwarded,
// and drops by reason. Read at any time; monotonic while the engine lives.
#pragma once

#include <bngkit/fanout/export.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace bngkit::fanout {

/// Why a datagram (or one copy of it) was not delivered.
enum class DropReason : std::uint8_t {
  no_downstream,       ///< no healthy downstream at the time
  receive_queue_full,  ///< the kernel dropped it before we read it (SO_RXQ_OVFL)
  truncated,           ///< larger than max_datagram_size
  too_big,             ///< the kernel refused a send as too large (EMSGSIZE)
  send_error,          ///< the kernel refused the send (one count per copy)
  no_route,            ///< TC: no route towards the downstream (FIB look-up failed)
  redirect_failed,     ///< TC: clone/redirect refused
  malformed,           ///< TC: not a well-formed IPv4/UDP packet for us
};
inline constexpr std::size_t kDropReasonCount = 8;

/// Label value for metrics: "no_downstream", "receive_queue_full", ...
[[nodiscard]] BNGKIT_FANOUT_EXPORT std::string_view to_string(DropReason r) noexcept;

/// A listener's counters. Forwarded counts copies: a replicated datagram delivered to
/// three downstreams adds 3 to forwarded_packets.
struct ListenerStats {
  std::uint64_t received_packets = 0;
  std::uint64_t received_bytes = 0;  ///< UDP payload bytes
  std::uint64_t forwarded_packets = 0;
  std::uint64_t forwarded_bytes = 0;  ///< UDP payload bytes
  std::array<std::uint64_t, kDropReasonCount> dropped{};
  /// TC engine: datagrams the program left to the stack (fragments, IP options, other
  /// interfaces, this host) that its userspace socket received; included above.
  std::uint64_t slow_path_packets = 0;

  [[nodiscard]] std::uint64_t& drops(DropReason r) { return dropped[static_cast<std::size_t>(r)]; }
  [[nodiscard]] std::uint64_t drops(DropReason r) const {
    return dropped[static_cast<std::size_t>(r)];
  }
  [[nodiscard]] std::uint64_t total_dropped() const {
    std::uint64_t t = 0;
    for (auto d : dropped) t += d;
    return t;
  }
  ListenerStats& operator+=(const ListenerStats& o) {
    received_packets += o.received_packets;
    received_bytes += o.received_bytes;
    forwarded_packets += o.forwarded_packets;
    forwarded_bytes += o.forwarded_bytes;
    for (std::size_t i = 0; i < kDropReasonCount; ++i) dropped[i] += o.dropped[i];
    slow_path_packets += o.slow_path_packets;
    return *this;
  }
};

}  // namespace bngkit::fanout
