// Flow hash (shared with the TC program through fanout_abi.h) and the Maglev table.
#include <bngkit/fanout/selector.hpp>

#include <algorithm>
#include <cassert>

#include "fanout_abi.h"

namespace bngkit::fanout {

static_assert(kLookupTableSize == FANOUT_TABLE_SIZE);
static_assert(kMaxDownstreamsTc == FANOUT_MAX_DOWNSTREAMS);
static_assert(kMaxListenersTc == FANOUT_MAX_LISTENERS);

namespace {

// splitmix64: spreads a 64-bit key so offsets and skips of near keys differ.
std::uint64_t mix64(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

std::uint32_t flow_hash(std::uint32_t saddr_be, std::uint16_t sport_be) noexcept {
  return fanout_flow_hash(saddr_be, sport_be);
}

std::uint64_t endpoint_key(const Endpoint& e) noexcept {
  return mix64((static_cast<std::uint64_t>(e.address_be) << 16) | e.port);
}

std::vector<std::uint8_t> build_lookup_table(std::span<const std::uint64_t> keys,
                                             std::size_t size) {
  const std::size_t n = std::min<std::size_t>(keys.size(), kMaxDownstreamsUserspace);
  if (n == 0 || size == 0) return {};
  // Each key walks its own permutation of the slots (offset + j * skip mod size; size is
  // prime so every skip visits every slot) and the keys take turns claiming their next
  // free preference until the table is full (Maglev, NSDI 2016, section 3.4).
  std::vector<std::size_t> offset(n), skip(n), next(n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t h = mix64(keys[i]);
    offset[i] = static_cast<std::size_t>(h % size);
    skip[i] = size > 1 ? static_cast<std::size_t>((h >> 32) % (size - 1)) + 1 : 1;
  }
  constexpr std::uint8_t kFree = 0xff;  // n <= 255, so index 255 is never a key
  std::vector<std::uint8_t> table(size, kFree);
  std::size_t filled = 0;
  while (true) {
    for (std::size_t i = 0; i < n; ++i) {
      std::size_t slot = 0;
      do {
        slot = (offset[i] + next[i] * skip[i]) % size;
        ++next[i];
      } while (table[slot] != kFree);
      table[slot] = static_cast<std::uint8_t>(i);
      if (++filled == size) return table;
    }
  }
}

}  // namespace bngkit::fanout
