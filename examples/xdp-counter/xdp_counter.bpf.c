// xdp-counter kernel side: counts every frame and its bytes in a per-CPU array and
// passes it on.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "xdp_counter.h"

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct pkt_counter);
} counters SEC(".maps");

SEC("xdp")
int count_packets(struct xdp_md *ctx) {
  __u32 key = 0;
  struct pkt_counter *c = bpf_map_lookup_elem(&counters, &key);
  if (c) {
    c->packets++;
    c->bytes += ctx->data_end - ctx->data;
  }
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
