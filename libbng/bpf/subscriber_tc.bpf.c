/* subscriber_tc.bpf.c — per-subscriber accounting and rate limiting on the subscriber-facing
 * interface, as two TC clsact programs (direct action):
 *   sub_tc_ingress  traffic FROM subscribers (upstream), keyed by the IPv4 source;
 *   sub_tc_egress   traffic TO subscribers (downstream), keyed by the IPv4 destination.
 * Map layouts and what "octets" means: <bngkit/bng/fastpath/subscriber_traffic_abi.h>.
 *
 * Per packet: skip up to two VLAN tags (802.1Q 0x8100, 802.1ad 0x88a8, old QinQ 0x9100),
 * read the IPv4 header, look the subscriber up in sub_policy; police it against its token
 * bucket and count it in sub_counters (passed or dropped). Traffic of addresses without an
 * entry, non-IPv4 and malformed frames pass untouched and are counted only in the global
 * sub_tc_stats. A passing packet returns TC_ACT_UNSPEC, so filters after ours still run.
 *
 * Headers are read with bpf_skb_load_bytes: it works on non-linear skbs (GRO/GSO
 * aggregates) where direct packet access sees only the linear part.
 */
#include <bngkit/bng/fastpath/subscriber_traffic_abi.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>

char LICENSE[] SEC("license") = "GPL";

/* ---- Maps ---------------------------------------------------------------------------- */

/* Policy and token buckets. A plain hash, not LRU: an entry is a subscriber's contract and
 * leaves only when the session ends (user space removes it). Both subscriber maps allocate
 * entries as subscribers come (BPF_F_NO_PREALLOC): the per-CPU counters would otherwise
 * take max_entries * 64 octets * possible CPUs up front. */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __uint(max_entries, 65536);
  __type(key, struct bng_st_key);
  __type(value, struct bng_st_policy);
} sub_policy SEC(".maps");

/* Counters, per CPU: the hot path only adds to its own CPU's copy, without atomics. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __uint(max_entries, 65536);
  __type(key, struct bng_st_key);
  __type(value, struct bng_st_counters);
} sub_counters SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct bng_st_stats);
} sub_tc_stats SEC(".maps");

/* ---- Wire constants ------------------------------------------------------------------ */

#define ETH_P_8021Q_ 0x8100
#define ETH_P_8021AD_ 0x88A8
#define ETH_P_QINQ1_ 0x9100
#define MAX_VLAN_TAGS 2
#define NSEC_PER_SEC 1000000000ULL

static __always_inline int is_vlan(__u16 proto) {
  return proto == ETH_P_8021Q_ || proto == ETH_P_8021AD_ || proto == ETH_P_QINQ1_;
}

static __always_inline struct bng_st_stats* global_stats(void) {
  __u32 zero = 0;
  return bpf_map_lookup_elem(&sub_tc_stats, &zero);
}

/* What the parser found: the subscriber's address, and what the packet counts for. */
struct pkt_info {
  __be32 ip_be;
  __u64 packets;
  __u64 octets;
};

enum parse_result { PARSE_OK = 0, PARSE_NOT_IPV4, PARSE_MALFORMED };

static __always_inline int parse(struct __sk_buff* skb, int upstream, struct pkt_info* out) {
  __u32 off = ETH_HLEN;
  __be16 proto_be;
  if (bpf_skb_load_bytes(skb, 12, &proto_be, sizeof(proto_be)) != 0) return PARSE_MALFORMED;
  __u16 proto = bpf_ntohs(proto_be);
#pragma unroll
  for (int i = 0; i < MAX_VLAN_TAGS; i++) {
    if (!is_vlan(proto)) break;
    /* tag: TCI (2 octets), then the encapsulated EtherType */
    if (bpf_skb_load_bytes(skb, off + 2, &proto_be, sizeof(proto_be)) != 0)
      return PARSE_MALFORMED;
    proto = bpf_ntohs(proto_be);
    off += 4;
  }
  if (is_vlan(proto)) return PARSE_MALFORMED; /* more tags than the BNG serves */
  if (proto != ETH_P_IP) return PARSE_NOT_IPV4;

  struct iphdr ip;
  if (bpf_skb_load_bytes(skb, off, &ip, sizeof(ip)) != 0) return PARSE_MALFORMED;
  if (ip.version != 4 || ip.ihl < 5) return PARSE_MALFORMED;
  const __u32 ihl = (__u32)ip.ihl * 4;
  const __u32 avail = skb->len > off ? skb->len - off : 0;
  __u32 l3_len = bpf_ntohs(ip.tot_len);
  const __u32 segs = skb->gso_segs;
  if (l3_len == 0 && segs > 1) l3_len = avail; /* BIG TCP aggregate: tot_len is 0 */
  if (l3_len < ihl || l3_len > avail) return PARSE_MALFORMED;

  out->ip_be = upstream ? ip.saddr : ip.daddr;
  out->packets = 1;
  out->octets = l3_len;
  if (segs > 1) {
    /* The aggregate stands for `segs` packets, each with its own IPv4 and L4 header. */
    __u32 hdr = ihl;
    if (ip.protocol == IPPROTO_TCP) {
      __u8 doff;
      if (bpf_skb_load_bytes(skb, off + ihl + 12, &doff, 1) == 0) hdr += (doff >> 4) * 4;
    } else if (ip.protocol == IPPROTO_UDP) {
      hdr += 8;
    }
    out->packets = segs;
    out->octets = l3_len + (__u64)(segs - 1) * hdr;
  }
  return PARSE_OK;
}

/* Decides one packet against a bucket; called with the policy's lock held (no helper
 * calls in here). Returns 1 to pass, 0 to drop. */
static __always_inline int police(struct bng_st_bucket* b, __u64 now, __u64 octets) {
  const __u64 rate = b->rate_bps;
  if (rate == 0) return 1;
  /* Both products stay below 2^63: burst <= 2^30 (user space checks it) and the cost of
   * one packet is taken for at most 2^30 octets (a packet is far smaller). */
  const __u64 o = octets < (1ULL << 30) ? octets : (1ULL << 30);
  const __s64 burst_ns = (__s64)(b->burst_bytes * 8 * NSEC_PER_SEC / rate);
  const __s64 cost_ns = (__s64)(o * 8 * NSEC_PER_SEC / rate);
  __s64 tokens = b->tokens_ns;
  if (tokens > burst_ns) tokens = burst_ns; /* the burst shrank */
  if (now > b->last_ns) {
    const __u64 room = (__u64)(burst_ns - tokens); /* >= 0 */
    const __u64 elapsed = now - b->last_ns;
    tokens = elapsed >= room ? burst_ns : tokens + (__s64)elapsed;
    b->last_ns = now;
  }
  const __s64 need = cost_ns < burst_ns ? cost_ns : burst_ns;
  int pass = tokens >= need;
  if (pass) tokens -= cost_ns;
  b->tokens_ns = tokens;
  return pass;
}

static __always_inline int handle(struct __sk_buff* skb, int upstream) {
  struct pkt_info p = {};
  const int pr = parse(skb, upstream, &p);
  if (pr != PARSE_OK) {
    struct bng_st_stats* st = global_stats();
    if (st) {
      if (pr == PARSE_NOT_IPV4)
        st->non_ipv4++;
      else
        st->malformed++;
    }
    return TC_ACT_UNSPEC;
  }

  struct bng_st_key key = {.ip_be = p.ip_be};
  struct bng_st_policy* pol = bpf_map_lookup_elem(&sub_policy, &key);
  if (!pol) {
    struct bng_st_stats* st = global_stats();
    if (st) {
      if (upstream) {
        st->unknown_packets_up += p.packets;
        st->unknown_octets_up += p.octets;
      } else {
        st->unknown_packets_down += p.packets;
        st->unknown_octets_down += p.octets;
      }
    }
    return TC_ACT_UNSPEC;
  }

  /* Concurrency: packets of one subscriber may be policed on several CPUs at once, and a
   * bucket's state is two coupled words (credit and last refill time) that must change
   * together, which a single atomic add or compare-and-swap cannot do. bpf_spin_lock
   * around the few ALU instructions of police() is short, contended only between packets
   * of the same subscriber, and lets user space change the policy consistently
   * (BPF_F_LOCK). The clock is read before the lock (no helper calls under it). */
  const __u64 now = bpf_ktime_get_ns();
  int pass;
  bpf_spin_lock(&pol->lock);
  pass = police(upstream ? &pol->up : &pol->down, now, p.octets);
  bpf_spin_unlock(&pol->lock);

  struct bng_st_counters* c = bpf_map_lookup_elem(&sub_counters, &key);
  if (c) {
    if (upstream) {
      if (pass) {
        c->packets_up += p.packets;
        c->octets_up += p.octets;
      } else {
        c->dropped_packets_up += p.packets;
        c->dropped_octets_up += p.octets;
      }
    } else {
      if (pass) {
        c->packets_down += p.packets;
        c->octets_down += p.octets;
      } else {
        c->dropped_packets_down += p.packets;
        c->dropped_octets_down += p.octets;
      }
    }
  } else {
    struct bng_st_stats* st = global_stats();
    if (st) st->no_counters++;
  }
  return pass ? TC_ACT_UNSPEC : TC_ACT_SHOT;
}

SEC("tc")
int sub_tc_ingress(struct __sk_buff* skb) { return handle(skb, 1); }

SEC("tc")
int sub_tc_egress(struct __sk_buff* skb) { return handle(skb, 0); }
