// Programs for ebpfkit_bench: an XDP packet counter (per-CPU array) for
// BPF_PROG_TEST_RUN timing.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct counter {
  __u64 packets;
  __u64 bytes;
};

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct counter);
} stats SEC(".maps");

SEC("xdp")
int xdp_count(struct xdp_md *ctx) {
  __u32 key = 0;
  struct counter *c = bpf_map_lookup_elem(&stats, &key);
  if (c) {
    c->packets++;
    c->bytes += ctx->data_end - ctx->data;
  }
  return XDP_PASS;
}

SEC("xdp")
int xdp_pass(struct xdp_md *ctx) { return XDP_PASS; }

char LICENSE[] SEC("license") = "GPL";
