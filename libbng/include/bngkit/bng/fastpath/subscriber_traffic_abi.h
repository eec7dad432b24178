/* subscriber_traffic_abi.h — the one definition of every struct shared by the per-subscriber
 * TC accounting and rate-limiting programs (libbng/bpf/subscriber_tc.bpf.c) and their
 * user-space loader (bngkit::bng::fastpath::SubscriberTraffic).
 *
 * Plain C, fixed-width types, no implicit padding. Rules, as in dhcp_fastpath_abi.h:
 *   - A field whose name ends in `_be` holds NETWORK byte order; every other multi-byte
 *     field is host order.
 *   - Times are CLOCK_MONOTONIC nanoseconds (bpf_ktime_get_ns() in the kernel,
 *     std::chrono::steady_clock in user space). One clock for every bucket.
 *
 * What is counted: "octets" are IPv4 octets (the IPv4 total length, header included, no
 * link-layer framing), so the numbers do not depend on VLAN tags or tag offload. A GSO/GRO
 * aggregate counts as the segments it stands for (skb gso_segs) and as their octets
 * (its own length plus one IPv4 + TCP/UDP header per extra segment).
 */
#ifndef BNGKIT_BNG_FASTPATH_SUBSCRIBER_TRAFFIC_ABI_H
#define BNGKIT_BNG_FASTPATH_SUBSCRIBER_TRAFFIC_ABI_H

#include <linux/bpf.h> /* struct bpf_spin_lock */
#include <linux/types.h>

#ifdef __cplusplus
#define BNG_ST_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define BNG_ST_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

/* Names of the maps and programs in the object (map names are also the pin names). */
#define BNG_ST_MAP_POLICY "sub_policy"
#define BNG_ST_MAP_COUNTERS "sub_counters"
#define BNG_ST_MAP_STATS "sub_tc_stats"
#define BNG_ST_PROG_INGRESS "sub_tc_ingress" /* clsact ingress: from subscribers (up) */
#define BNG_ST_PROG_EGRESS "sub_tc_egress"   /* clsact egress: to subscribers (down) */

/* Where the filters sit on clsact: fixed, so that a restarted process finds (and replaces)
 * a filter its dead predecessor left behind. */
#define BNG_ST_TC_PRIORITY 1
#define BNG_ST_TC_HANDLE 0xb57

/* Highest rate a policy may set (bits/s): keeps the refill arithmetic within 64 bits. */
#define BNG_ST_MAX_RATE_BPS 100000000000ULL /* 100 Gbit/s */

/* Key of sub_policy and sub_counters: the subscriber's IPv4 address. */
struct bng_st_key {
  __be32 ip_be;
};
BNG_ST_STATIC_ASSERT(sizeof(struct bng_st_key) == 4, "bng_st_key size");

/* Highest burst a policy may set (bytes): burst * 8e9 stays within 63 bits. */
#define BNG_ST_MAX_BURST_BYTES (1ULL << 30)

/* One direction's token bucket, kept in TIME like the kernel's act_police and tbf: the
 * bucket holds up to burst_bytes * 8e9 / rate_bps ns of credit, gains one ns per ns that
 * passes and a packet of L octets costs L * 8e9 / rate_bps ns. Crediting time instead of
 * bytes loses nothing to rounding at high packet rates.
 * A packet passes when the bucket holds its cost, or the whole bucket when the cost is
 * larger (a GSO aggregate bigger than the burst): the bucket then goes into debt
 * (tokens_ns < 0), paid back before anything else passes, so the average rate holds and
 * big aggregates are never starved. Otherwise it is dropped (a policer, TC_ACT_SHOT).
 * rate_bps 0 = unlimited: the bucket is not used. */
struct bng_st_bucket {
  __u64 rate_bps;    /* bits per second; 0 = unlimited */
  __u64 burst_bytes; /* bucket size in octets (1 .. BNG_ST_MAX_BURST_BYTES when limited) */
  __s64 tokens_ns;   /* credit now, in ns at rate_bps (negative: debt) */
  __u64 last_ns;     /* bpf_ktime_get_ns() of the last refill */
};
BNG_ST_STATIC_ASSERT(sizeof(struct bng_st_bucket) == 32, "bng_st_bucket size");

/* Value of sub_policy (a hash map). `lock` guards both buckets: the kernel takes it with
 * bpf_spin_lock, user space reads and writes the value with BPF_F_LOCK. */
struct bng_st_policy {
  struct bpf_spin_lock lock;
  __u32 flags;             /* zero; reserved */
  struct bng_st_bucket up;   /* from the subscriber (ingress, key = IPv4 source) */
  struct bng_st_bucket down; /* to the subscriber (egress, key = IPv4 destination) */
};
BNG_ST_STATIC_ASSERT(sizeof(struct bng_st_policy) == 8 + 2 * 32, "bng_st_policy size");

/* Value of sub_counters (a per-CPU hash map, same key). Packets and octets that passed,
 * and, separately, those the rate limiter dropped (TC_ACT_SHOT). */
struct bng_st_counters {
  __u64 packets_up;
  __u64 octets_up;
  __u64 packets_down;
  __u64 octets_down;
  __u64 dropped_packets_up;
  __u64 dropped_octets_up;
  __u64 dropped_packets_down;
  __u64 dropped_octets_down;
};
BNG_ST_STATIC_ASSERT(sizeof(struct bng_st_counters) == 8 * 8, "bng_st_counters size");

/* Value of sub_tc_stats (per-CPU array, one entry at key 0): everything the programs saw
 * that belongs to no subscriber entry. Such traffic always passes. */
struct bng_st_stats {
  __u64 unknown_packets_up;   /* IPv4 from a source without an entry */
  __u64 unknown_octets_up;
  __u64 unknown_packets_down; /* IPv4 to a destination without an entry */
  __u64 unknown_octets_down;
  __u64 non_ipv4;             /* ARP, IPv6, ... (any direction) */
  __u64 malformed;            /* truncated or bad IPv4 header, too many VLAN tags */
  __u64 no_counters;          /* policy entry without a counters entry (map full) */
  __u64 reserved;
};
BNG_ST_STATIC_ASSERT(sizeof(struct bng_st_stats) == 8 * 8, "bng_st_stats size");

#endif /* BNGKIT_BNG_FASTPATH_SUBSCRIBER_TRAFFIC_ABI_H */
