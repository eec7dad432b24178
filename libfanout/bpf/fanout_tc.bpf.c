// The fanout's TC clsact ingress program. A UDP datagram to a listener's address and
// port is rewritten (destination address and port, IPv4 header checksum updated
// incrementally, UDP checksum updated or left zero) and
//   replicate: cloned out towards every downstream of the set, the original dropped
//              (the last copy takes the original itself instead of a clone);
//   balance:   sent to one downstream (round robin per CPU, or by flow hash through
//              the Maglev table) with bpf_redirect_neigh.
// The source address and port are kept. Everything else (other traffic, IP options,
// fragments) goes on untouched (TC_ACT_UNSPEC: later filters, then the stack), where
// the userspace engine's socket relays what is for a listener.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "fanout_abi.h"

#define AF_INET 2
#define IP_CSUM_OFF (ETH_HLEN + __builtin_offsetof(struct iphdr, check))
#define IP_DST_OFF (ETH_HLEN + __builtin_offsetof(struct iphdr, daddr))
#define UDP_OFF (ETH_HLEN + sizeof(struct iphdr))
#define UDP_CSUM_OFF (UDP_OFF + __builtin_offsetof(struct udphdr, check))
#define UDP_DPORT_OFF (UDP_OFF + __builtin_offsetof(struct udphdr, dest))

char LICENSE[] SEC("license") = "GPL";

/* Listener bind address -> listener. Pinned: survives a restart of the daemon. */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, FANOUT_MAX_LISTENERS);
  __type(key, struct fanout_listener_key);
  __type(value, struct fanout_listener);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} fanout_listeners SEC(".maps");

/* The inner map type: one fanout_set, replaced as a whole on every change. Sizes, not
 * __type(): clang emits only a forward declaration into BTF for a struct used like this. */
struct fanout_set_map {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __uint(key_size, sizeof(__u32));
  __uint(value_size, sizeof(struct fanout_set));
};

/* Listener index -> its current downstream set. */
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
  __uint(max_entries, FANOUT_MAX_LISTENERS);
  __type(key, __u32);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
  __array(values, struct fanout_set_map); /* must come last */
} fanout_sets SEC(".maps");

/* Listener index -> per-CPU counters. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, FANOUT_MAX_LISTENERS);
  __type(key, __u32);
  __type(value, struct fanout_stats);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} fanout_stats SEC(".maps");

/* Listener index -> per-CPU round-robin position. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, FANOUT_MAX_LISTENERS);
  __type(key, __u32);
  __type(value, __u32);
} fanout_rr SEC(".maps");

/* Points the packet at `to` (address and port), from `from`. The UDP checksum is
 * updated with the pseudo-header change; BPF_F_MARK_MANGLED_0 leaves a zero checksum
 * (none, legal in IPv4) at zero and turns a computed zero into 0xffff. */
static __always_inline int retarget(struct __sk_buff* skb, const struct fanout_target* from,
                                    const struct fanout_target* to) {
  if (from->addr_be != to->addr_be) {
    if (bpf_l4_csum_replace(skb, UDP_CSUM_OFF, from->addr_be, to->addr_be,
                            BPF_F_PSEUDO_HDR | BPF_F_MARK_MANGLED_0 | sizeof(__u32)))
      return -1;
    if (bpf_l3_csum_replace(skb, IP_CSUM_OFF, from->addr_be, to->addr_be, sizeof(__u32))) return -1;
    if (bpf_skb_store_bytes(skb, IP_DST_OFF, &to->addr_be, sizeof(__u32), 0)) return -1;
  }
  if (from->port_be != to->port_be) {
    if (bpf_l4_csum_replace(skb, UDP_CSUM_OFF, from->port_be, to->port_be,
                            BPF_F_MARK_MANGLED_0 | sizeof(__u16)))
      return -1;
    if (bpf_skb_store_bytes(skb, UDP_DPORT_OFF, &to->port_be, sizeof(__u16), 0)) return -1;
  }
  return 0;
}

/* Route towards `daddr` as if forwarding the packet that came in on this interface. */
static __always_inline long route(struct __sk_buff* skb, struct bpf_fib_lookup* fib, __u32 saddr,
                                  __u32 daddr, __u16 tot_len) {
  __builtin_memset(fib, 0, sizeof(*fib));
  fib->family = AF_INET;
  fib->l4_protocol = IPPROTO_UDP;
  fib->tot_len = tot_len;
  fib->ipv4_src = saddr;
  fib->ipv4_dst = daddr;
  fib->ifindex = skb->ingress_ifindex;
  return bpf_fib_lookup(skb, fib, sizeof(*fib), 0);
}

/* The packet as it is now goes to the route's next hop with the neighbour subsystem
 * filling in the MAC addresses (resolving them first when needed). */
static __always_inline long send_final(struct fanout_stats* st, struct bpf_fib_lookup* fib, long rc,
                                       __u32 payload) {
  if (rc != BPF_FIB_LKUP_RET_SUCCESS && rc != BPF_FIB_LKUP_RET_NO_NEIGH) {
    st->drops[FANOUT_DROP_NO_ROUTE]++;
    return TC_ACT_SHOT;
  }
  struct bpf_redir_neigh nh = {.nh_family = AF_INET, .ipv4_nh = fib->ipv4_dst};
  long verdict = bpf_redirect_neigh(fib->ifindex, &nh, sizeof(nh), 0);
  if (verdict == TC_ACT_REDIRECT) {
    st->fwd_packets++;
    st->fwd_bytes += payload;
  } else {
    st->drops[FANOUT_DROP_REDIRECT_FAILED]++;
  }
  return verdict;
}

SEC("tc")
int fanout_ingress(struct __sk_buff* skb) {
  void* data = (void*)(long)skb->data;
  void* data_end = (void*)(long)skb->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP)) return TC_ACT_UNSPEC;
  struct iphdr* ip = (void*)(eth + 1);
  if ((void*)(ip + 1) > data_end || ip->protocol != IPPROTO_UDP) return TC_ACT_UNSPEC;
  /* Options and fragments: the stack reassembles and the userspace socket relays. */
  if (ip->ihl != 5 || (ip->frag_off & bpf_htons(0x3fff)) != 0) return TC_ACT_UNSPEC;
  struct udphdr* udp = (void*)(ip + 1);
  if ((void*)(udp + 1) > data_end) return TC_ACT_UNSPEC;

  struct fanout_listener_key key = {.addr_be = ip->daddr, .port_be = udp->dest};
  struct fanout_listener* l = bpf_map_lookup_elem(&fanout_listeners, &key);
  if (!l) {
    key.addr_be = 0;
    l = bpf_map_lookup_elem(&fanout_listeners, &key);
    if (!l) return TC_ACT_UNSPEC;
  }
  __u32 idx = l->index;
  struct fanout_stats* st = bpf_map_lookup_elem(&fanout_stats, &idx);
  if (!st) return TC_ACT_UNSPEC;

  const __u16 ip_len = bpf_ntohs(ip->tot_len);
  const __u16 udp_len = bpf_ntohs(udp->len);
  if (ip_len < sizeof(struct iphdr) + sizeof(struct udphdr) || skb->len < ETH_HLEN + ip_len ||
      udp_len < sizeof(struct udphdr) || udp_len > ip_len - sizeof(struct iphdr)) {
    st->drops[FANOUT_DROP_MALFORMED]++;
    return TC_ACT_SHOT;
  }
  const __u32 payload = udp_len - sizeof(struct udphdr);
  st->rx_packets++;
  st->rx_bytes += payload;

  struct fanout_set* set = 0;
  void* inner = bpf_map_lookup_elem(&fanout_sets, &idx);
  if (inner) {
    __u32 zero = 0;
    set = bpf_map_lookup_elem(inner, &zero);
  }
  __u32 n = set ? set->count : 0;
  if (n == 0) {
    st->drops[FANOUT_DROP_NO_DOWNSTREAM]++;
    return TC_ACT_SHOT;
  }
  if (n > FANOUT_MAX_DOWNSTREAMS) n = FANOUT_MAX_DOWNSTREAMS;

  const __u32 saddr = ip->saddr;
  struct fanout_target cur = {.addr_be = ip->daddr, .port_be = udp->dest};
  struct bpf_fib_lookup fib;
  long rc;

  if (l->policy == FANOUT_POLICY_BALANCE) {
    __u32 i;
    if (l->balance == FANOUT_BALANCE_FLOW_HASH) {
      __u32 slot = fanout_flow_hash(saddr, udp->source) % FANOUT_TABLE_SIZE;
      /* clang turns % into multiply-and-subtract, after which the verifier no longer
       * knows the bound: hide the value from the optimiser and check it explicitly. */
      asm volatile("" : "+r"(slot));
      if (slot >= FANOUT_TABLE_SIZE) return TC_ACT_SHOT;
      i = set->table[slot];
    } else {
      __u32* rr = bpf_map_lookup_elem(&fanout_rr, &idx);
      if (!rr) return TC_ACT_SHOT;
      i = (*rr)++ % n;
    }
    if (i >= n) {
      st->drops[FANOUT_DROP_NO_DOWNSTREAM]++;
      return TC_ACT_SHOT;
    }
    /* The mask changes nothing (i < n <= FANOUT_MAX_DOWNSTREAMS, a power of two) but
     * proves the bound to the verifier on whichever register clang indexes with. */
    struct fanout_target to = set->targets[i & (FANOUT_MAX_DOWNSTREAMS - 1)];
    if (retarget(skb, &cur, &to)) {
      st->drops[FANOUT_DROP_REDIRECT_FAILED]++;
      return TC_ACT_SHOT;
    }
    rc = route(skb, &fib, saddr, to.addr_be, ip_len);
    return send_final(st, &fib, rc, payload);
  }

  /* replicate. The MAC addresses the packet came with, for copies that go back
   * through this interface's ingress (next hop not resolved yet, see below). */
  __u8 macs[2 * ETH_ALEN];
  if (bpf_skb_load_bytes(skb, 0, macs, sizeof(macs))) return TC_ACT_SHOT;
  for (__u32 i = 0; i < FANOUT_MAX_DOWNSTREAMS; i++) {
    if (i >= n) break;
    struct fanout_target to = set->targets[i];
    if (retarget(skb, &cur, &to)) {
      st->drops[FANOUT_DROP_REDIRECT_FAILED] += n - i;
      return TC_ACT_SHOT;
    }
    cur = to;
    rc = route(skb, &fib, saddr, to.addr_be, ip_len);
    if (i + 1 == n) return send_final(st, &fib, rc, payload);  // the original is the last copy
    long err;
    if (rc == BPF_FIB_LKUP_RET_SUCCESS) {
      if (bpf_skb_store_bytes(skb, 0, fib.dmac, ETH_ALEN, 0) ||
          bpf_skb_store_bytes(skb, ETH_ALEN, fib.smac, ETH_ALEN, 0)) {
        st->drops[FANOUT_DROP_REDIRECT_FAILED]++;
        continue;
      }
      err = bpf_clone_redirect(skb, fib.ifindex, 0);
    } else if (rc == BPF_FIB_LKUP_RET_NO_NEIGH) {
      /* No MAC for the next hop yet: hand this copy to the kernel's forwarding path
       * (re-entering this ingress with the original MACs), which resolves it. */
      if (bpf_skb_store_bytes(skb, 0, macs, sizeof(macs), 0)) {
        st->drops[FANOUT_DROP_REDIRECT_FAILED]++;
        continue;
      }
      err = bpf_clone_redirect(skb, skb->ingress_ifindex, BPF_F_INGRESS);
    } else {
      st->drops[FANOUT_DROP_NO_ROUTE]++;
      continue;
    }
    if (err == 0) {
      st->fwd_packets++;
      st->fwd_bytes += payload;
    } else {
      st->drops[FANOUT_DROP_REDIRECT_FAILED]++;
    }
  }
  return TC_ACT_SHOT;
}
