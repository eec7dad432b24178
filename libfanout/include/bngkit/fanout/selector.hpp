// Choosing downstreams for the balance policy: the flow hash both engines use and a
// Maglev lookup table, so a flow keeps its downstream while the set changes around it.
#pragma once

#include <bngkit/fanout/endpoint.hpp>
#include <bngkit/fanout/export.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace bngkit::fanout {

/// Slots of a balance lookup table (prime, as Maglev needs; the TC program uses the same).
inline constexpr std::size_t kLookupTableSize = 1021;
/// Downstreams one listener delivers to at most (the table stores 8-bit indices).
inline constexpr std::size_t kMaxDownstreamsUserspace = 255;
/// Downstreams one listener delivers to at most in the TC engine (clone loop bound).
inline constexpr std::size_t kMaxDownstreamsTc = 64;
/// Listeners of one Fanout when any of them uses the TC engine (map slots).
inline constexpr std::size_t kMaxListenersTc = 64;

/// Hash of a datagram's source, from address and port in network byte order (as in
/// sockaddr_in and in the packet).
[[nodiscard]] BNGKIT_FANOUT_EXPORT std::uint32_t flow_hash(std::uint32_t saddr_be,
                                                           std::uint16_t sport_be) noexcept;

/// Stable 64-bit identity of an endpoint: the input of the lookup table.
[[nodiscard]] BNGKIT_FANOUT_EXPORT std::uint64_t endpoint_key(const Endpoint& e) noexcept;

/// Maglev lookup table over `keys` (at most 255): slot -> index into `keys`. Every key
/// gets size/N slots give or take one; adding or removing one key moves about 1/N of
/// the slots, and only slots of the key that left or towards the key that came.
/// Empty `keys` gives an empty table.
[[nodiscard]] BNGKIT_FANOUT_EXPORT std::vector<std::uint8_t> build_lookup_table(
    std::span<const std::uint64_t> keys, std::size_t size = kLookupTableSize);

}  // namespace bngkit::fanout
