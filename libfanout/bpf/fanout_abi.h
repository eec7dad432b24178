/* The contract between the fanout TC program and user space: limits, the flow hash and
 * the map value layouts. Plain C with fixed-width types; fields in network byte order
 * end in _be. User space static_asserts these sizes (libfanout/src/tc_engine.cpp). */
#ifndef BNGKIT_FANOUT_ABI_H
#define BNGKIT_FANOUT_ABI_H

#include <linux/types.h>

/* Downstreams one listener can deliver to in the TC engine (clone loop bound; a power
 * of two, the program masks indexes with it). */
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

/* Drop reasons: indexes of fanout_stats.drops, the same order as
 * bngkit::fanout::DropReason (checked by static_assert in tc_engine.cpp). */
enum fanout_drop_reason {
  FANOUT_DROP_NO_DOWNSTREAM = 0,
  FANOUT_DROP_RECEIVE_QUEUE_FULL = 1, /* userspace only */
  FANOUT_DROP_TRUNCATED = 2,          /* userspace only */
  FANOUT_DROP_TOO_BIG = 3,            /* userspace only */
  FANOUT_DROP_SEND_ERROR = 4,         /* userspace only */
  FANOUT_DROP_NO_ROUTE = 5,
  FANOUT_DROP_REDIRECT_FAILED = 6,
  FANOUT_DROP_MALFORMED = 7,
  FANOUT_DROP_REASONS = 8,
};

/* Policies and balance methods, as in bngkit::fanout::Policy / BalanceMethod. */
#define FANOUT_POLICY_REPLICATE 0
#define FANOUT_POLICY_BALANCE 1
#define FANOUT_BALANCE_ROUND_ROBIN 0
#define FANOUT_BALANCE_FLOW_HASH 1

/* fanout_listeners key: the listener's bind address; addr_be 0 matches any address. */
struct fanout_listener_key {
  __u32 addr_be;
  __u16 port_be;
  __u16 pad;
};

/* fanout_listeners value. */
struct fanout_listener {
  __u32 index; /* into fanout_sets, fanout_stats, fanout_rr */
  __u8 policy;
  __u8 balance;
  __u8 pad[2];
};

struct fanout_target {
  __u32 addr_be;
  __u16 port_be;
  __u16 pad;
};

/* One listener's downstream set: the single value of an inner map of fanout_sets.
 * User space builds a new inner map per change and swaps it in, so the program sees
 * the old set or the new one, never half of each. table[] (balance by flow hash) holds
 * indexes below count. */
struct fanout_set {
  __u32 count;
  __u32 pad;
  struct fanout_target targets[FANOUT_MAX_DOWNSTREAMS];
  __u8 table[FANOUT_TABLE_SIZE];
  __u8 pad2[3];
};

/* Per-CPU counters of one listener (fanout_stats value); bytes are UDP payload. */
struct fanout_stats {
  __u64 rx_packets;
  __u64 rx_bytes;
  __u64 fwd_packets;
  __u64 fwd_bytes;
  __u64 drops[FANOUT_DROP_REASONS];
};

#endif /* BNGKIT_FANOUT_ABI_H */
