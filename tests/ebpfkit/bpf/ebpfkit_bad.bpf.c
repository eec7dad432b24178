// A program the verifier must reject: it reads packet bytes without a bounds check.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_ok(struct xdp_md *ctx) { return XDP_PASS; }

SEC("xdp")
int xdp_unchecked(struct xdp_md *ctx) {
  unsigned char *data = (unsigned char *)(long)ctx->data;
  return data[12] == 0x08 ? XDP_PASS : XDP_DROP;  // no data + 13 <= data_end check
}

char LICENSE[] SEC("license") = "GPL";
