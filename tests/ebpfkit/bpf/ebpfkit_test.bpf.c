// Test programs for libebpfkit: one map of each kind, counting XDP and TC programs,
// a ring buffer producer and a packet rewriter for BPF_PROG_TEST_RUN.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "ebpfkit_test_abi.h"

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1024);
  __type(key, __u32);
  __type(value, __u64);
} hash_map SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 16);
  __type(key, __u32);
  __type(value, __u64);
} array_map SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 128);
  __type(key, __u64);
  __type(value, struct ebpfkit_lru_value);
} lru_map SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __uint(max_entries, 64);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, struct ebpfkit_lpm_v4);
  __type(value, __u32);
} lpm_map SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
  __uint(max_entries, 64);
  __type(key, __u32);
  __type(value, __u64);
} pcpu_hash SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 2);
  __type(key, __u32);
  __type(value, struct ebpfkit_counter);
} xdp_stats SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 2);
  __type(key, __u32);
  __type(value, struct ebpfkit_counter);
} tc_stats SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 64);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
  __type(key, __u32);
  __type(value, __u64);
} pinned_counts SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 4096 * 4);
} events SEC(".maps");

static __always_inline void count(void *map, __u32 idx, __u64 len) {
  struct ebpfkit_counter *c = bpf_map_lookup_elem(map, &idx);
  if (c) {
    c->packets++;
    c->bytes += len;
  }
}

/* 1 when the frame is IPv4/UDP to EBPFKIT_TEST_UDP_PORT. */
static __always_inline int is_test_udp(void *data, void *data_end) {
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP)) return 0;
  struct iphdr *ip = (void *)(eth + 1);
  if ((void *)(ip + 1) > data_end || ip->protocol != IPPROTO_UDP || ip->ihl != 5) return 0;
  struct udphdr *udp = (void *)(ip + 1);
  if ((void *)(udp + 1) > data_end) return 0;
  return udp->dest == bpf_htons(EBPFKIT_TEST_UDP_PORT);
}

SEC("xdp")
int xdp_count(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  __u64 len = data_end - data;
  count(&xdp_stats, EBPFKIT_STAT_ALL, len);
  if (is_test_udp(data, data_end)) count(&xdp_stats, EBPFKIT_STAT_UDP, len);
  return XDP_PASS;
}

SEC("tc")
int tc_count(struct __sk_buff *skb) {
  void *data = (void *)(long)skb->data;
  void *data_end = (void *)(long)skb->data_end;
  count(&tc_stats, EBPFKIT_STAT_ALL, skb->len);
  if (is_test_udp(data, data_end)) count(&tc_stats, EBPFKIT_STAT_UDP, skb->len);
  return TC_ACT_OK;
}

SEC("xdp")
int xdp_drop(struct xdp_md *ctx) { return XDP_DROP; }

/* Sends one ring buffer event per packet. */
SEC("xdp")
int xdp_event(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  struct ebpfkit_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
  if (!e) return XDP_ABORTED;
  e->len = data_end - data;
  e->seq = 0;
  if (data + ETH_HLEN + 4 <= data_end) __builtin_memcpy(&e->seq, data + ETH_HLEN, 4);
  e->ts_ns = bpf_ktime_get_ns();
  bpf_ringbuf_submit(e, 0);
  return XDP_PASS;
}

/* Swaps the Ethernet addresses and bounces the frame (XDP_TX); the pinned map counts it. */
SEC("xdp")
int xdp_swap_mac(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > data_end) return XDP_ABORTED;
  unsigned char tmp[ETH_ALEN];
  __builtin_memcpy(tmp, eth->h_dest, ETH_ALEN);
  __builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
  __builtin_memcpy(eth->h_source, tmp, ETH_ALEN);
  __u32 key = 0;
  __u64 one = 1;
  __u64 *v = bpf_map_lookup_elem(&pinned_counts, &key);
  if (v)
    __sync_fetch_and_add(v, 1);
  else
    bpf_map_update_elem(&pinned_counts, &key, &one, BPF_NOEXIST);
  return XDP_TX;
}

/* Grows the frame by 16 bytes (bpf_xdp_adjust_tail zero-fills them), for data_out
 * capacity tests. */
SEC("xdp")
int xdp_grow(struct xdp_md *ctx) {
  if (bpf_xdp_adjust_tail(ctx, 16)) return XDP_ABORTED;
  return XDP_PASS;
}

/* TC: rewrites the IPv4 TTL to 1 (checksum fixed), stores the old TTL in skb->mark, and
 * says TC_ACT_SHOT for TTL 0. */
SEC("tc")
int tc_ttl(struct __sk_buff *skb) {
  void *data = (void *)(long)skb->data;
  void *data_end = (void *)(long)skb->data_end;
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP)) return TC_ACT_OK;
  struct iphdr *ip = (void *)(eth + 1);
  if ((void *)(ip + 1) > data_end) return TC_ACT_OK;
  if (ip->ttl == 0) return TC_ACT_SHOT;
  skb->mark = ip->ttl;
  __u16 old = *(__u16 *)&ip->ttl;
  ip->ttl = 1;
  __u16 now = *(__u16 *)&ip->ttl;
  bpf_l3_csum_replace(skb, ETH_HLEN + __builtin_offsetof(struct iphdr, check), old, now, 2);
  return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
