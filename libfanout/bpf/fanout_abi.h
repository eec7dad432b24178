/* The contract between the fanout TC program and user space: limits, the flow hash and
 * the map value layouts. Plain C with fixed-width types; fields in network byte order
 * end in _be. User space static_asserts these sizes (libfanout/src/tc_engine.cpp). */
#ifndef BNGKIT_FANOUT_ABI_H
#define BNGKIT_FANOUT_ABI_H

#include <linux/types.h>

/* Downstreams one listener can deliver to in the TC engine (clone loop bound). */
#define FANOUT_MAX_DOWNSTREAMS 64
/* Listeners one daemon can run in the TC engine. */
#define FANOUT_MAX_LISTENERS 64
/* Slots of the balance lookup table (prime, as Maglev needs). */
#define FANOUT_TABLE_SIZE 1021

/* murmur3's 32-bit finaliser: a cheap, well-mixing bijection. */
static inline __u32 fanout_mix32(__u32 h) {
  h ^= h >> 16;
  h *= 0x85ebca6bU;
  h ^= h >> 13;
  h *= 0xc2b2ae35U;
  h ^= h >> 16;
  return h;
}

/* Flow hash of a datagram's source, from the bytes as they sit in the packet (network
 * order). The same function runs in the TC program and in the userspace engine, so
 * both engines send one flow to the same downstream. */
static inline __u32 fanout_flow_hash(__u32 saddr_be, __u16 sport_be) {
  return fanout_mix32(saddr_be ^ fanout_mix32((__u32)sport_be + 0x9e3779b9U));
}

#endif /* BNGKIT_FANOUT_ABI_H */
