/* dhcp_fastpath.bpf.c — XDP DHCPv4 fast path: answers DISCOVER with OFFER and REQUEST with
 * ACK in the kernel for subscribers in the cache maps, and passes everything else to the
 * slow path (XDP_PASS). Map layouts: <bngkit/bng/fastpath/dhcp_fastpath_abi.h>.
 *
 * How it stays safe:
 *   - Only the fixed Ethernet/VLAN/IPv4 headers are read through packet pointers (each
 *     access bounds-checked); the UDP header and the BOOTP message are copied with
 *     bpf_xdp_load_bytes into a per-CPU scratch buffer and read there with masked offsets.
 *   - Options are found by walking the TLV list (bpf_loop, bounded by the message length),
 *     never by fixed offset. Malformed or unusual messages go to the slow path.
 *   - The reply is built whole in the scratch buffer (IPv4 + UDP + BOOTP, padded to the
 *     300-octet BOOTP minimum and to a multiple of 4), checksummed, and only then is the
 *     frame resized (bpf_xdp_adjust_tail) and overwritten. Nothing in the packet changes
 *     before every check has passed, so XDP_PASS always passes the original frame.
 *   - Every reply is reported on the lease_events ring buffer; when the ring is full the
 *     request is not served (the slow path answers it) so user space never misses a lease.
 */
#include <bngkit/bng/fastpath/dhcp_fastpath_abi.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>

char LICENSE[] SEC("license") = "GPL";

/* ---- Maps ---------------------------------------------------------------------------- */

/* The subscriber caches are LRU: when full, the least recently served subscriber makes
 * room, and is served by the slow path (which caches it again) the next time it asks. */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 65536);
  __type(key, struct bng_fp_mac_key);
  __type(value, struct bng_fp_subscriber);
} subscriber_pools SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 65536);
  __type(key, struct bng_fp_vlan_key);
  __type(value, struct bng_fp_subscriber);
} subscriber_vlans SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 65536);
  __type(key, struct bng_fp_circuit_key);
  __type(value, struct bng_fp_subscriber);
} subscriber_circuits SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4096);
  __type(key, __u32);
  __type(value, struct bng_fp_pool);
} pool_params SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct bng_fp_config);
} server_config SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct bng_fp_stats);
} dhcp_stats SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 256 * 1024);
} lease_events SEC(".maps");

/* Scratch space: the request's BOOTP message and the reply's IPv4+UDP+BOOTP bytes. */
#define REQ_BUF 2048 /* > BNG_FP_MAX_DHCP_LEN + 3 */
#define REQ_MASK (REQ_BUF - 1)
#define REP_BUF 2048
#define REP_MASK 1023 /* replies stay below 1024 bytes; copies of up to 256 fit behind */

/* ---- Wire constants ------------------------------------------------------------------ */

#define ETH_P_8021AD_ 0x88A8
#define ETH_P_QINQ1_ 0x9100
#define DHCP_SERVER_PORT 67
#define DHCP_CLIENT_PORT 68
#define BOOTP_FIXED_LEN 236
#define BOOTP_MIN_LEN 300   /* RFC 951/1542: the BOOTP message is at least 300 octets */
#define DHCP_OPTS_OFF 240   /* fixed part + magic cookie */
#define DHCP_MIN_IP_LEN 576 /* RFC 2131: every client accepts a 576-octet datagram */

#define DHCPDISCOVER 1
#define DHCPOFFER 2
#define DHCPREQUEST 3
#define DHCPACK 5

/* BOOTP field offsets. */
#define B_OP 0
#define B_HTYPE 1
#define B_HLEN 2
#define B_XID 4
#define B_FLAGS 10
#define B_CIADDR 12
#define B_YIADDR 16
#define B_SIADDR 20
#define B_GIADDR 24
#define B_CHADDR 28
#define B_SNAME 44
#define B_COOKIE 236

/* Reply layout in fp_scratch.rep. */
#define R_IP 0
#define R_UDP 20
#define R_BOOTP 28
#define R_OPTS (R_BOOTP + DHCP_OPTS_OFF)

struct vlan_hdr_ {
  __be16 tci;
  __be16 encap_proto;
};

/* ---- Option walk --------------------------------------------------------------------- */

enum walk_status { WALK_ON = 0, WALK_END, WALK_MALFORMED, WALK_UNSUPPORTED };

#define SEEN_53 (1U << 0)
#define SEEN_50 (1U << 1)
#define SEEN_54 (1U << 2)
#define SEEN_61 (1U << 3)
#define SEEN_55 (1U << 4)
#define SEEN_82 (1U << 5)
#define SEEN_57 (1U << 6)

#define WANT_28 (1U << 0)
#define WANT_15 (1U << 1)
#define WANT_26 (1U << 2)

struct opt_walk {
  __u32 off;                /* next option (offset in the BOOTP message) */
  __u32 len;                /* BOOTP message length */
  __u32 status;             /* enum walk_status */
  __u32 seen;               /* SEEN_* */
  __u32 want;               /* WANT_*: optional options the PRL asks for */
  __be32 requested_ip_be;   /* option 50 */
  __be32 server_id_be;      /* option 54 */
  __u32 max_msg_size;       /* option 57 */
  __u32 msg_type;           /* option 53 */
  __u32 cid_off, cid_len;   /* option 61 value */
  __u32 prl_off, prl_len;   /* option 55 value */
  __u32 o82_off, o82_len;   /* option 82 value */
  __u32 sub_off;            /* option 82 sub-option walk position */
  __u32 circ_off, circ_len; /* sub-option 1 (circuit id) value */
  __u32 tmp;                /* see launder() */
};

/* Per-CPU scratch. The option walk state lives here too, not on the stack: values loaded
 * from a map are unknown to the verifier, so the bpf_loop callbacks below verify once for
 * every offset instead of once per constant offset. */
/* What main() decided about the reply, for build_reply(). */
struct reply_plan {
  __be32 yiaddr_be;
  __be32 ciaddr_be; /* ciaddr field of the reply (0 in an OFFER) */
  __be32 giaddr_be;
  __be32 dst_ip_be;
  __be32 server_ip_be;
  __u32 dhcp_off; /* offset of the request's BOOTP message in the frame */
  __u32 pool_id;
  __be16 dst_port_be;
  __u8 reply_type;
  __u8 pad;
};

struct fp_scratch {
  __u8 req[REQ_BUF];
  __u8 rep[REP_BUF];
  struct opt_walk w;
  struct reply_plan plan;
} __attribute__((aligned(8)));

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct fp_scratch);
} fp_scratch SEC(".maps");

static __always_inline struct fp_scratch* scratch(void) {
  __u32 zero = 0;
  return bpf_map_lookup_elem(&fp_scratch, &zero);
}

/* Returns `v` through a volatile store and load in map memory. The verifier then sees an
 * unknown value instead of one of many exact constants: reply offsets stay imprecise, so
 * the states of the many optional-option paths merge instead of multiplying. Every use of
 * a laundered value is masked or range-checked. */
static __always_inline __u32 launder(struct fp_scratch* s, __u32 v) {
  *(volatile __u32*)&s->w.tmp = v;
  return *(volatile __u32*)&s->w.tmp;
}

static __always_inline __u32 req_u8(const struct fp_scratch* s, __u32 off) {
  return s->req[off & REQ_MASK];
}

/* Four request bytes at `off`, as a network-order value. */
static __always_inline __be32 req_be32(const struct fp_scratch* s, __u32 off) {
  __u32 v = (req_u8(s, off) << 24) | (req_u8(s, off + 1) << 16) | (req_u8(s, off + 2) << 8) |
            req_u8(s, off + 3);
  return bpf_htonl(v);
}

static long walk_option(__u32 idx, void* unused) {
  struct fp_scratch* s = scratch();
  if (!s) return 1; /* status stays WALK_ON: treated as malformed */
  struct opt_walk* w = &s->w;
  __u32 off = w->off;
  __u32 len = w->len;
  if (off >= len) { /* ran off the end without an END option */
    w->status = WALK_MALFORMED;
    return 1;
  }
  __u32 code = req_u8(s, off);
  if (code == 0) { /* PAD */
    w->off = off + 1;
    return 0;
  }
  if (code == 255) {
    w->status = WALK_END;
    return 1;
  }
  if (off + 2 > len) {
    w->status = WALK_MALFORMED;
    return 1;
  }
  __u32 olen = req_u8(s, off + 1);
  __u32 v = off + 2;
  if (v + olen > len) {
    w->status = WALK_MALFORMED;
    return 1;
  }
  __u32 bit = 0;
  switch (code) {
    case 53:
      bit = SEEN_53;
      if (olen != 1) goto malformed;
      w->msg_type = req_u8(s, v);
      break;
    case 50:
      bit = SEEN_50;
      if (olen != 4) goto malformed;
      w->requested_ip_be = req_be32(s, v);
      break;
    case 54:
      bit = SEEN_54;
      if (olen != 4) goto malformed;
      w->server_id_be = req_be32(s, v);
      break;
    case 57:
      bit = SEEN_57;
      if (olen != 2) goto malformed;
      w->max_msg_size = (req_u8(s, v) << 8) | req_u8(s, v + 1);
      break;
    case 61:
      bit = SEEN_61;
      if (olen < 2) goto malformed; /* RFC 2132 9.14: a type octet and an identifier */
      w->cid_off = v;
      w->cid_len = olen;
      break;
    case 55:
      bit = SEEN_55;
      w->prl_off = v;
      w->prl_len = olen;
      break;
    case 82:
      bit = SEEN_82;
      if (olen < 2) goto malformed; /* RFC 3046 2.0: at least one sub-option */
      w->o82_off = v;
      w->o82_len = olen;
      break;
    case 52: /* option overload: options also live in sname/file */
      w->status = WALK_UNSUPPORTED;
      return 1;
    default:
      break;
  }
  if (w->seen & bit) { /* split option (RFC 3396) or duplicate: leave it to the slow path */
    w->status = WALK_UNSUPPORTED;
    return 1;
  }
  w->seen |= bit;
  w->off = v + olen;
  return 0;
malformed:
  w->status = WALK_MALFORMED;
  return 1;
}

static long scan_prl(__u32 idx, void* unused) {
  struct fp_scratch* s = scratch();
  if (!s) return 1;
  struct opt_walk* w = &s->w;
  __u32 code = req_u8(s, w->prl_off + idx);
  if (code == 28)
    w->want |= WANT_28;
  else if (code == 15)
    w->want |= WANT_15;
  else if (code == 26)
    w->want |= WANT_26;
  return 0;
}

/* Walks all of option 82's sub-options: the first agent circuit id (sub-option 1) is the
 * cache key, and a sub-option running past the option makes the request malformed (it is
 * echoed in the reply, which must not carry what no parser accepts: found by fuzzing). */
static long scan_o82(__u32 idx, void* unused) {
  struct fp_scratch* s = scratch();
  if (!s) return 1;
  struct opt_walk* w = &s->w;
  __u32 off = w->sub_off;
  __u32 end = w->o82_off + w->o82_len;
  if (off >= end) return 1;
  if (off + 2 > end) goto malformed;
  __u32 code = req_u8(s, off);
  __u32 len = req_u8(s, off + 1);
  if (off + 2 + len > end) goto malformed;
  if (code == 1 && w->circ_off == 0) {
    w->circ_off = off + 2;
    w->circ_len = len;
  }
  w->sub_off = off + 2 + len;
  return 0;
malformed:
  if (w->status == WALK_END) w->status = WALK_MALFORMED;
  return 1;
}

/* Hides a value from the optimizer so that a bounds check on it stays where it is. */
#ifndef barrier_var
#define barrier_var(var) asm volatile("" : "+r"(var))
#endif

/* ---- Checksums ----------------------------------------------------------------------- */

static __always_inline __u16 csum_fold64(__u64 sum) {
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return (__u16)~sum;
}

/* One's-complement partial sum (in native 16-bit words) of `len` bytes at `p`, len a
 * multiple of 4 and at most 1536. bpf_csum_diff takes at most 512 bytes per call; each
 * call's result is added here rather than chained, which holds whatever width the helper
 * returns. */
static __always_inline __u64 sum_bytes(__u8* p, __u32 len) {
  __u64 sum = 0;
#pragma unroll
  for (int k = 0; k < 3; k++) {
    __u32 off = k * 512;
    if (len <= off) break;
    __u64 n = len - off;
    /* min(n, 512) in asm: clang knows the bound from the caller and would drop a C clamp,
     * but the verifier needs it on the register that is passed. */
    asm volatile("if %0 <= 512 goto +1; %0 = 512" : "+r"(n));
    __s64 r = bpf_csum_diff(0, 0, (__be32*)(p + off), n, 0);
    if (r < 0) return ~0ULL; /* cannot happen for valid sizes; makes the check fail */
    sum += (__u64)r & 0xffffffffULL;
  }
  return sum;
}

static __always_inline __u64 sum_be32(__be32 v) { return (v & 0xffff) + (v >> 16); }

/* ---- Reply building ------------------------------------------------------------------ */

static __always_inline void rep_u8(struct fp_scratch* s, __u32 off, __u8 v) {
  s->rep[off & REP_MASK] = v;
}

/* Writes a network-order value byte by byte, as it lies in memory. */
static __always_inline void rep_be32(struct fp_scratch* s, __u32 off, __be32 v) {
  const __u8* b = (const __u8*)&v;
  rep_u8(s, off, b[0]);
  rep_u8(s, off + 1, b[1]);
  rep_u8(s, off + 2, b[2]);
  rep_u8(s, off + 3, b[3]);
}

/* Appends option `code` with one 4-byte value; returns the new offset. */
static __always_inline __u32 put_opt32(struct fp_scratch* s, __u32 o, __u8 code, __be32 v) {
  rep_u8(s, o, code);
  rep_u8(s, o + 1, 4);
  rep_be32(s, o + 2, v);
  return o + 6;
}

/* Appends an option copied whole (code, length, value) from the request packet at
 * `pkt_off` (the option's value) with value length `len` (1..255). */
static __always_inline long put_echo(struct xdp_md* ctx, struct fp_scratch* s, __u32* o, __u8 code,
                                     __u32 pkt_off, __u32 len) {
  __u32 at = *o;
  rep_u8(s, at, code);
  rep_u8(s, at + 1, (__u8)len);
  __u32 n = ((len - 1) & 255) + 1; /* 1..256 for the verifier; equals len (1..255) */
  long err = bpf_xdp_load_bytes(ctx, pkt_off, &s->rep[(at + 2) & REP_MASK], n);
  if (err) return err;
  *o = at + 2 + len;
  return 0;
}

/* Per-CPU counters: no atomics needed. `st` is checked once, right after its lookup. */
#define COUNT(st, f) ((st)->f += 1)

/* Builds the reply (IPv4 + UDP + BOOTP) in scratch.rep from scratch.plan and scratch.w, and
 * returns its IPv4 length, or BUILD_*. A global function: the verifier checks it once, on
 * its own, instead of once for every combination of paths that leads to the call, and
 * every value it reads comes from map memory (unknown to the verifier, so no constant
 * offsets to tell paths apart). That keeps the program far below the verifier's limits. */
#define BUILD_ERROR (-1)
#define BUILD_TOO_BIG (-2)
#define BUILD_NO_POOL (-3)

__noinline int build_reply(struct xdp_md* ctx) {
  struct fp_scratch* s = scratch();
  if (!s) return BUILD_ERROR;
  const struct reply_plan* plan = &s->plan;
  __u32 pool_id = plan->pool_id;
  const struct bng_fp_pool* pool = bpf_map_lookup_elem(&pool_params, &pool_id);
  if (!pool) return BUILD_NO_POOL;

  /* BOOTP fixed part of the reply (RFC 2131 table 3). */
  __u8* rep = s->rep;
  const struct opt_walk* w = &s->w;
  const __u8 reply_type = plan->reply_type;
  __u64* z = (__u64*)&rep[R_BOOTP + B_SNAME]; /* sname + file: 192 zero bytes */
#pragma unroll
  for (int i = 0; i < 192 / 8; i++) z[i] = 0;
  z = (__u64*)&rep[R_BOOTP + B_COOKIE]; /* cookie + first 60 option bytes (300 minimum) */
#pragma unroll
  for (int i = 0; i < 64 / 8; i++) z[i] = 0;
  rep[R_BOOTP + B_OP] = 2;
  rep[R_BOOTP + B_HTYPE] = 1;
  rep[R_BOOTP + B_HLEN] = 6;
  rep[R_BOOTP + 3] = 0;                                     /* hops */
  *(__u32*)&rep[R_BOOTP + B_XID] = *(__u32*)&s->req[B_XID]; /* xid */
  *(__u16*)&rep[R_BOOTP + 8] = 0;                           /* secs */
  *(__u16*)&rep[R_BOOTP + B_FLAGS] = *(__u16*)&s->req[B_FLAGS];
  *(__u32*)&rep[R_BOOTP + B_CIADDR] = plan->ciaddr_be;
  *(__u32*)&rep[R_BOOTP + B_YIADDR] = plan->yiaddr_be;
  *(__u32*)&rep[R_BOOTP + B_SIADDR] = 0;
  *(__u32*)&rep[R_BOOTP + B_GIADDR] = plan->giaddr_be;
#pragma unroll
  for (int i = 0; i < 4; i++)
    *(__u32*)&rep[R_BOOTP + B_CHADDR + 4 * i] = *(__u32*)&s->req[B_CHADDR + 4 * i];
  *(__be32*)&rep[R_BOOTP + B_COOKIE] = bpf_htonl(0x63825363);

  /* Options: 53 54 51 58 59 1 3 6 [28 15 26 if asked] [61 82 echoed] 255. */
  __u32 o = launder(s, R_OPTS);
  rep_u8(s, o, 53);
  rep_u8(s, o + 1, 1);
  rep_u8(s, o + 2, reply_type);
  o += 3;
  o = put_opt32(s, o, 54, plan->server_ip_be);
  o = put_opt32(s, o, 51, pool->lease_time_be);
  if (pool->t1_be) o = put_opt32(s, o, 58, pool->t1_be);
  if (pool->t2_be) o = put_opt32(s, o, 59, pool->t2_be);
  if (pool->subnet_mask_be) o = put_opt32(s, o, 1, pool->subnet_mask_be);
  if (pool->router_be) o = put_opt32(s, o, 3, pool->router_be);
  __u32 ndns = pool->dns_count;
  if (ndns > BNG_FP_DNS_MAX) ndns = BNG_FP_DNS_MAX;
  if (ndns) {
    rep_u8(s, o, 6);
    rep_u8(s, o + 1, (__u8)(4 * ndns));
    o += 2;
#pragma unroll
    for (int i = 0; i < BNG_FP_DNS_MAX; i++) {
      if (i < ndns) rep_be32(s, o + 4 * i, pool->dns_be[i]);
    }
    o += 4 * ndns;
  }
  if ((w->want & WANT_28) && pool->broadcast_be) o = put_opt32(s, o, 28, pool->broadcast_be);
  __u32 dlen = pool->domain_len;
  if ((w->want & WANT_15) && dlen > 0 && dlen <= BNG_FP_DOMAIN_MAX) {
    rep_u8(s, o, 15);
    rep_u8(s, o + 1, (__u8)dlen);
    o += 2;
    /* Copies all BNG_FP_DOMAIN_MAX bytes (one constant-size copy, no branch per byte);
     * what lies past dlen is overwritten by later options or zeroed after END. */
    __builtin_memcpy(&s->rep[o & REP_MASK], pool->domain, BNG_FP_DOMAIN_MAX);
    o += dlen;
  }
  if ((w->want & WANT_26) && pool->mtu_be) {
    const __u8* m = (const __u8*)&pool->mtu_be;
    rep_u8(s, o, 26);
    rep_u8(s, o + 1, 2);
    rep_u8(s, o + 2, m[0]);
    rep_u8(s, o + 3, m[1]);
    o += 4;
  }
  if (w->cid_len && put_echo(ctx, s, &o, 61, plan->dhcp_off + w->cid_off, w->cid_len)) {
    return BUILD_ERROR;
  }
  /* RFC 3046 2.2: the server copies option 82 into its reply; it goes last. */
  if (w->o82_len && put_echo(ctx, s, &o, 82, plan->dhcp_off + w->o82_off, w->o82_len)) {
    return BUILD_ERROR;
  }
  rep_u8(s, o, 255);
  o += 1;
  /* Zeros after END: the padding to a multiple of 4 and to the 300-octet minimum, and over
   * whatever the domain copy left behind. */
#pragma unroll
  for (int i = 0; i < (BNG_FP_DOMAIN_MAX + 4) / 4; i++)
    *(__u32*)&s->rep[(o + 4 * i) & REP_MASK] = 0;

  __u32 bootp_len = (o - R_BOOTP + 3) & ~3U;
  if (bootp_len < BOOTP_MIN_LEN) bootp_len = BOOTP_MIN_LEN;
  bootp_len = launder(s, bootp_len);
  __u32 rep_ip_len = sizeof(struct iphdr) + sizeof(struct udphdr) + bootp_len;
  __u32 limit = DHCP_MIN_IP_LEN;
  if ((w->seen & SEEN_57) && w->max_msg_size > limit) limit = w->max_msg_size;
  if (rep_ip_len > limit || rep_ip_len > REP_MASK) {
    return BUILD_TOO_BIG;
  }

  /* UDP header and checksum (pseudo header + UDP header + message). */
  __be16 udp_len_be = bpf_htons(sizeof(struct udphdr) + bootp_len);
  *(__be16*)&rep[R_UDP + 0] = bpf_htons(DHCP_SERVER_PORT);
  *(__be16*)&rep[R_UDP + 2] = plan->dst_port_be;
  *(__be16*)&rep[R_UDP + 4] = udp_len_be;
  *(__be16*)&rep[R_UDP + 6] = 0;
  __u64 usum = sum_be32(plan->server_ip_be) + sum_be32(plan->dst_ip_be) + bpf_htons(IPPROTO_UDP) +
               udp_len_be;
  usum += sum_bytes(&rep[R_UDP], sizeof(struct udphdr) + bootp_len);
  __u16 ucsum = csum_fold64(usum);
  *(__u16*)&rep[R_UDP + 6] = ucsum ? ucsum : 0xffff;

  /* IPv4 header: no options, DF with ID 0 (an atomic datagram, RFC 6864). */
  rep[R_IP + 0] = 0x45;
  rep[R_IP + 1] = 0;
  *(__be16*)&rep[R_IP + 2] = bpf_htons(rep_ip_len);
  *(__be16*)&rep[R_IP + 4] = 0;
  *(__be16*)&rep[R_IP + 6] = bpf_htons(0x4000);
  rep[R_IP + 8] = 64;
  rep[R_IP + 9] = IPPROTO_UDP;
  *(__u16*)&rep[R_IP + 10] = 0;
  *(__be32*)&rep[R_IP + 12] = plan->server_ip_be;
  *(__be32*)&rep[R_IP + 16] = plan->dst_ip_be;
  __u64 isum = 0;
#pragma unroll
  for (int i = 0; i < 10; i++) isum += *(__u16*)&rep[R_IP + 2 * i];
  *(__u16*)&rep[R_IP + 10] = csum_fold64(isum);

  return (int)rep_ip_len;
}

/* ---- The program --------------------------------------------------------------------- */

SEC("xdp")
int dhcp_fastpath(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  __u32 zero = 0;

  /* L2: Ethernet, then up to two VLAN tags (802.1Q, or QinQ with 802.1ad/0x9100 outside). */
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return XDP_PASS;
  __be16 proto = eth->h_proto;
  __u8 src_mac[6];
  __builtin_memcpy(src_mac, eth->h_source, 6);
  __u32 l2 = sizeof(struct ethhdr);
  __u32 ntags = 0;
  __u16 s_vlan = 0, c_vlan = 0;
  if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD_) ||
      proto == bpf_htons(ETH_P_QINQ1_)) {
    struct vlan_hdr_* vh = data + l2;
    if ((void*)(vh + 1) > data_end) return XDP_PASS;
    c_vlan = bpf_ntohs(vh->tci) & 0x0fff;
    proto = vh->encap_proto;
    l2 += sizeof(struct vlan_hdr_);
    ntags = 1;
    if (proto == bpf_htons(ETH_P_8021Q)) {
      struct vlan_hdr_* vh2 = data + l2;
      if ((void*)(vh2 + 1) > data_end) return XDP_PASS;
      s_vlan = c_vlan;
      c_vlan = bpf_ntohs(vh2->tci) & 0x0fff;
      proto = vh2->encap_proto;
      l2 += sizeof(struct vlan_hdr_);
      ntags = 2;
    }
  }
  if (proto != bpf_htons(ETH_P_IP)) return XDP_PASS;

  struct iphdr* ip = data + l2;
  if ((void*)(ip + 1) > data_end) return XDP_PASS;
  if (ip->version != 4 || ip->ihl < 5 || ip->protocol != IPPROTO_UDP) return XDP_PASS;
  if (ip->frag_off & bpf_htons(0x1fff)) return XDP_PASS; /* a later fragment: no UDP header */
  __u32 ihl = ip->ihl * 4;
  __u32 ip_tot = bpf_ntohs(ip->tot_len);
  __be32 ip_saddr = ip->saddr;
  __be32 ip_daddr = ip->daddr;
  __u16 ip_frag = bpf_ntohs(ip->frag_off);

  struct udphdr udp;
  if (bpf_xdp_load_bytes(ctx, l2 + ihl, &udp, sizeof(udp))) return XDP_PASS;
  if (udp.dest != bpf_htons(DHCP_SERVER_PORT)) return XDP_PASS;

  /* From here on: a DHCP request. Every outcome is counted. */
  struct bng_fp_stats* st = bpf_map_lookup_elem(&dhcp_stats, &zero);
  if (!st) return XDP_PASS; /* a one-entry array: cannot happen, but the verifier asks */
  COUNT(st, rx_requests);

  struct bng_fp_config* cfgp = bpf_map_lookup_elem(&server_config, &zero);
  if (!cfgp || !(cfgp->flags & BNG_FP_CFG_F_ENABLED) || cfgp->server_ip_be == 0) {
    COUNT(st, pass_disabled);
    return XDP_PASS;
  }
  struct bng_fp_config cfg = *cfgp;

  __u64 pkt_len = bpf_xdp_get_buff_len(ctx);
  __u32 udp_len = bpf_ntohs(udp.len);
  if (ip_tot < ihl + sizeof(udp) || l2 + ip_tot > pkt_len || udp_len < sizeof(udp) ||
      udp_len > ip_tot - ihl) {
    COUNT(st, pass_malformed);
    return XDP_PASS;
  }
  if (ip_frag & 0x2000) { /* first fragment of a fragmented request */
    COUNT(st, pass_unsupported);
    return XDP_PASS;
  }
  if (ip_daddr != 0xffffffff && ip_daddr != cfg.server_ip_be) {
    COUNT(st, pass_not_for_us);
    return XDP_PASS;
  }
  if (udp.source != bpf_htons(DHCP_CLIENT_PORT) && udp.source != bpf_htons(DHCP_SERVER_PORT)) {
    COUNT(st, pass_unsupported);
    return XDP_PASS;
  }
  __u32 dhcp_len = udp_len - sizeof(udp);
  if (dhcp_len < DHCP_OPTS_OFF) {
    COUNT(st, pass_malformed);
    return XDP_PASS;
  }
  if (dhcp_len > BNG_FP_MAX_DHCP_LEN) {
    COUNT(st, pass_unsupported);
    return XDP_PASS;
  }

  struct fp_scratch* s = scratch();
  if (!s) return XDP_PASS;
  __u32 dhcp_off = l2 + ihl + sizeof(udp); /* BOOTP message offset in the frame */
  __u32 n = ((dhcp_len - 1) & REQ_MASK) + 1;
  if (bpf_xdp_load_bytes(ctx, dhcp_off, s->req, n)) {
    COUNT(st, pass_malformed);
    return XDP_PASS;
  }
  /* Zeros after the message so that checksums can run over whole 32-bit words. */
  s->req[dhcp_len & REQ_MASK] = 0;
  s->req[(dhcp_len + 1) & REQ_MASK] = 0;
  s->req[(dhcp_len + 2) & REQ_MASK] = 0;

  if (cfg.flags & BNG_FP_CFG_F_VERIFY_CSUM) {
    __u8 iph[60] = {};
    __u32 ilen = ((ihl - 1) & 63) + 1;
    if (ihl > 60 || bpf_xdp_load_bytes(ctx, l2, iph, ilen) ||
        csum_fold64((__u32)bpf_csum_diff(0, 0, (__be32*)iph, sizeof(iph), 0)) != 0) {
      COUNT(st, pass_malformed);
      return XDP_PASS;
    }
    if (udp.check != 0) {
      __u64 sum = sum_be32(ip_saddr) + sum_be32(ip_daddr) + bpf_htons(IPPROTO_UDP) + udp.len;
      sum += sum_be32(*(__be32*)&udp) + sum_be32(*((__be32*)&udp + 1));
      sum += sum_bytes(s->req, (dhcp_len + 3) & ~3U);
      if (csum_fold64(sum) != 0) {
        COUNT(st, pass_malformed);
        return XDP_PASS;
      }
    }
  }

  /* BOOTP fixed part. */
  if (req_u8(s, B_OP) != 1 || req_u8(s, B_HTYPE) != 1 || req_u8(s, B_HLEN) != 6 ||
      req_be32(s, B_COOKIE) != bpf_htonl(0x63825363)) {
    COUNT(st, pass_unsupported);
    return XDP_PASS;
  }

  /* Options. */
  struct opt_walk* wp = &s->w;
  __builtin_memset(wp, 0, sizeof(*wp));
  wp->off = DHCP_OPTS_OFF;
  wp->len = dhcp_len;
  bpf_loop(dhcp_len - DHCP_OPTS_OFF, walk_option, NULL, 0);
  if (wp->prl_len) bpf_loop(wp->prl_len, scan_prl, NULL, 0);
  if (wp->o82_len) {
    wp->sub_off = wp->o82_off;
    bpf_loop(wp->o82_len, scan_o82, NULL, 0);
  }
  struct opt_walk w = *wp;
  if (w.status == WALK_ON || w.status == WALK_MALFORMED) {
    COUNT(st, pass_malformed);
    return XDP_PASS;
  }
  if (w.status == WALK_UNSUPPORTED || !(w.seen & SEEN_53) ||
      (w.msg_type != DHCPDISCOVER && w.msg_type != DHCPREQUEST)) {
    COUNT(st, pass_unsupported);
    return XDP_PASS;
  }

  /* Circuit id key (also reported in the event, whichever key matched). */
  struct bng_fp_circuit_key ck;
  __builtin_memset(&ck, 0, sizeof(ck));
  if (w.circ_len >= 1 && w.circ_len <= BNG_FP_CIRCUIT_ID_MAX) {
    __u32 cn = ((w.circ_len - 1) & (BNG_FP_CIRCUIT_ID_MAX - 1)) + 1;
    if (bpf_xdp_load_bytes(ctx, dhcp_off + w.circ_off, ck.id, cn) == 0) ck.len = cn;
  }

  /* Cache lookup: MAC, then VLAN tags, then circuit id; the first hit decides. */
  struct bng_fp_mac_key mk;
  mk.addr[0] = req_u8(s, B_CHADDR);
  mk.addr[1] = req_u8(s, B_CHADDR + 1);
  mk.addr[2] = req_u8(s, B_CHADDR + 2);
  mk.addr[3] = req_u8(s, B_CHADDR + 3);
  mk.addr[4] = req_u8(s, B_CHADDR + 4);
  mk.addr[5] = req_u8(s, B_CHADDR + 5);
  __u8 key_kind = BNG_FP_KEY_MAC;
  struct bng_fp_subscriber* subp = bpf_map_lookup_elem(&subscriber_pools, &mk);
  if (!subp && ntags) {
    struct bng_fp_vlan_key vk = {.s_vlan = s_vlan, .c_vlan = c_vlan};
    key_kind = BNG_FP_KEY_VLAN;
    subp = bpf_map_lookup_elem(&subscriber_vlans, &vk);
  }
  if (!subp && ck.len) {
    key_kind = BNG_FP_KEY_CIRCUIT;
    subp = bpf_map_lookup_elem(&subscriber_circuits, &ck);
  }
  if (!subp) {
    COUNT(st, pass_no_entry);
    return XDP_PASS;
  }
  struct bng_fp_subscriber sub = *subp;
  __u64 now = bpf_ktime_get_ns();
  if (sub.expiry_ns <= now) {
    COUNT(st, pass_expired);
    return XDP_PASS;
  }
  if ((w.msg_type == DHCPDISCOVER && (sub.flags & BNG_FP_SUB_F_NO_DISCOVER)) ||
      (w.msg_type == DHCPREQUEST && (sub.flags & BNG_FP_SUB_F_NO_REQUEST))) {
    COUNT(st, pass_policy);
    return XDP_PASS;
  }
  struct bng_fp_pool* pool = bpf_map_lookup_elem(&pool_params, &sub.pool_id);
  if (!pool) {
    COUNT(st, pass_no_entry);
    return XDP_PASS;
  }

  __be32 ciaddr = req_be32(s, B_CIADDR);
  __be32 giaddr = req_be32(s, B_GIADDR);
  __u8 reply_type = DHCPOFFER;
  if (w.msg_type == DHCPREQUEST) {
    /* RFC 2131 4.3.2: SELECTING names the server (54) and the address (50); INIT-REBOOT
     * names the address (50); RENEWING/REBINDING put it in ciaddr. */
    if ((w.seen & SEEN_54) && w.server_id_be != cfg.server_ip_be) {
      COUNT(st, pass_other_server);
      return XDP_PASS;
    }
    __be32 wanted = (w.seen & SEEN_50) ? w.requested_ip_be : ciaddr;
    if (wanted != sub.ip_be || (ciaddr != 0 && ciaddr != sub.ip_be)) {
      COUNT(st, pass_mismatch);
      return XDP_PASS;
    }
    reply_type = DHCPACK;
  }

  /* Where the reply goes (RFC 2131 4.1). */
  __u8 req_flags_hi = req_u8(s, B_FLAGS);
  __be32 dst_ip;
  __be16 dst_port = bpf_htons(DHCP_CLIENT_PORT);
  __u8 dst_mac[6];
  __u32 ev_flags = 0;
  if (giaddr != 0) { /* to the relay, from whom the frame came */
    dst_ip = giaddr;
    dst_port = bpf_htons(DHCP_SERVER_PORT);
    __builtin_memcpy(dst_mac, src_mac, 6);
    ev_flags |= BNG_FP_EV_F_RELAYED;
  } else if (ciaddr != 0) { /* unicast renewal: back the way it came */
    dst_ip = ciaddr;
    __builtin_memcpy(dst_mac, src_mac, 6);
  } else if (req_flags_hi & 0x80) { /* the client asked for a broadcast */
    dst_ip = 0xffffffff;
    __builtin_memset(dst_mac, 0xff, 6);
    ev_flags |= BNG_FP_EV_F_BROADCAST;
  } else { /* unicast to the client's hardware address and the new address */
    dst_ip = sub.ip_be;
    __builtin_memcpy(dst_mac, mk.addr, 6);
  }
  if (ciaddr != 0) ev_flags |= BNG_FP_EV_F_RENEW;

  /* The reply is built by build_reply() from this plan (see there for why). */
  struct reply_plan* plan = &s->plan;
  plan->yiaddr_be = sub.ip_be;
  plan->ciaddr_be = reply_type == DHCPACK ? ciaddr : 0;
  plan->giaddr_be = giaddr;
  plan->dst_ip_be = dst_ip;
  plan->server_ip_be = cfg.server_ip_be;
  plan->dhcp_off = dhcp_off;
  plan->pool_id = sub.pool_id;
  plan->dst_port_be = dst_port;
  plan->reply_type = reply_type;
  int built = build_reply(ctx);
  if (built == BUILD_TOO_BIG) {
    COUNT(st, pass_too_big);
    return XDP_PASS;
  }
  if (built == BUILD_NO_POOL) {
    COUNT(st, pass_no_entry);
    return XDP_PASS;
  }
  if (built <= 0 || built > REP_MASK) {
    COUNT(st, pass_malformed);
    return XDP_PASS;
  }
  __u32 rep_ip_len = built;

  /* Everything checked and built: report, then rewrite the frame. */
  struct bng_fp_lease_event* ev = bpf_ringbuf_reserve(&lease_events, sizeof(*ev), 0);
  if (!ev) {
    COUNT(st, pass_event_full);
    return XDP_PASS;
  }
  __u8 l2hdr[12];
  __builtin_memcpy(l2hdr, dst_mac, 6);
  __builtin_memcpy(l2hdr + 6, cfg.server_mac, 6);

  __s64 delta = (__s64)(l2 + rep_ip_len) - (__s64)pkt_len;
  if (delta != 0 && bpf_xdp_adjust_tail(ctx, (int)delta)) {
    bpf_ringbuf_discard(ev, 0);
    COUNT(st, pass_no_room);
    return XDP_PASS;
  }
  __u32 rn = ((rep_ip_len - 1) & REP_MASK) + 1;
  if (bpf_xdp_store_bytes(ctx, l2, s->rep, rn) || bpf_xdp_store_bytes(ctx, 0, l2hdr, 12)) {
    bpf_ringbuf_discard(ev, 0);
    COUNT(st, drop_error);
    return XDP_DROP;
  }

  ev->timestamp_ns = now;
  ev->expiry_ns = sub.expiry_ns;
  ev->ip_be = sub.ip_be;
  ev->ciaddr_be = ciaddr;
  ev->giaddr_be = giaddr;
  ev->xid_be = *(__u32*)&s->req[B_XID];
  ev->pool_id = sub.pool_id;
  ev->lease_time_s = bpf_ntohl(pool->lease_time_be);
  ev->ifindex = ctx->ingress_ifindex;
  ev->flags = ev_flags;
  ev->s_vlan = s_vlan;
  ev->c_vlan = c_vlan;
  __builtin_memcpy(ev->chaddr, mk.addr, 6);
  ev->msg_type = reply_type;
  ev->key_kind = key_kind;
  __builtin_memcpy(&ev->circuit, &ck, sizeof(ck));
  /* Wake the reader only once a batch of events waits (it also drains on a short timer):
   * a wakeup per event would cost userspace more than the kernel spends answering. */
  __u64 wake = bpf_ringbuf_query(&lease_events, BPF_RB_AVAIL_DATA) >= BNG_FP_EVENT_WAKEUP_BYTES
                   ? BPF_RB_FORCE_WAKEUP
                   : BPF_RB_NO_WAKEUP;
  bpf_ringbuf_submit(ev, wake);

  if (reply_type == DHCPACK)
    COUNT(st, tx_ack);
  else
    COUNT(st, tx_offer);
  return XDP_TX;
}
