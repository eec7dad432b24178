/* dhcp_fastpath_abi.h — the one definition of every struct shared by the XDP DHCP fast path
 * (libbng/bpf/dhcp_fastpath.bpf.c) and its user-space loader (bngkit::bng::fastpath).
 *
 * Plain C, fixed-width types, no implicit padding: the kernel program and C++ see the same
 * bytes. Rules that keep the two sides honest:
 *   - A field whose name ends in `_be` holds NETWORK byte order (as on the wire); the
 *     kernel copies it into packets unchanged. Every other multi-byte field is host order.
 *   - Times are CLOCK_MONOTONIC nanoseconds: the kernel reads bpf_ktime_get_ns(), user
 *     space clock_gettime(CLOCK_MONOTONIC) (std::chrono::steady_clock on Linux). No wall
 *     clock anywhere, so expiry compares like with like.
 *   - Sizes are checked below (and again from C++ in the tests).
 */
#ifndef BNGKIT_BNG_FASTPATH_DHCP_FASTPATH_ABI_H
#define BNGKIT_BNG_FASTPATH_DHCP_FASTPATH_ABI_H

#include <linux/types.h>

#ifdef __cplusplus
#define BNG_FP_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define BNG_FP_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

/* Limits. */
#define BNG_FP_CIRCUIT_ID_MAX 64 /* longest option 82 circuit-id the cache can key on */
#define BNG_FP_DNS_MAX 4         /* DNS servers per pool (option 6) */
#define BNG_FP_DOMAIN_MAX 64     /* domain name bytes per pool (option 15) */
/* The event ring buffer wakes its reader once this many bytes of events wait; readers
 * also drain it on a timer (a few ms) so that a trickle of events is not left waiting. */
#define BNG_FP_EVENT_WAKEUP_BYTES (16 * 1024)
#define BNG_FP_MAX_DHCP_LEN 1472 /* longest BOOTP message served (1500-byte IP MTU) */

/* Names of the maps in the object (also the pin names under a pin directory). */
#define BNG_FP_MAP_BY_MAC "subscriber_pools"
#define BNG_FP_MAP_BY_VLAN "subscriber_vlans"
#define BNG_FP_MAP_BY_CIRCUIT "subscriber_circuits"
#define BNG_FP_MAP_POOLS "pool_params"
#define BNG_FP_MAP_CONFIG "server_config"
#define BNG_FP_MAP_STATS "dhcp_stats"
#define BNG_FP_MAP_EVENTS "lease_events"
#define BNG_FP_PROG_NAME "dhcp_fastpath"

/* ---- Subscriber cache ---------------------------------------------------------------- */

/* Key of subscriber_pools: the client hardware address (BOOTP chaddr, htype 1, hlen 6). */
struct bng_fp_mac_key {
  __u8 addr[6];
};
BNG_FP_STATIC_ASSERT(sizeof(struct bng_fp_mac_key) == 6, "bng_fp_mac_key size");

/* Key of subscriber_vlans: VLAN IDs (12 bits, host order) of the received frame.
 * One 802.1Q tag: s_vlan = 0, c_vlan = its VID. Two tags (QinQ): s_vlan = outer VID,
 * c_vlan = inner VID. Untagged frames are never looked up here. */
struct bng_fp_vlan_key {
  __u16 s_vlan;
  __u16 c_vlan;
};
BNG_FP_STATIC_ASSERT(sizeof(struct bng_fp_vlan_key) == 4, "bng_fp_vlan_key size");

/* Key of subscriber_circuits: option 82 sub-option 1 (agent circuit id), raw bytes.
 * `id` is zero-filled after `len` bytes (both sides must zero it: it is hashed whole). */
struct bng_fp_circuit_key {
  __u32 len; /* 1..BNG_FP_CIRCUIT_ID_MAX */
  __u8 id[BNG_FP_CIRCUIT_ID_MAX];
};
BNG_FP_STATIC_ASSERT(sizeof(struct bng_fp_circuit_key) == 68, "bng_fp_circuit_key size");

/* Entry flags: send this subscriber's DISCOVERs / REQUESTs to the slow path. */
#define BNG_FP_SUB_F_NO_DISCOVER (1U << 0)
#define BNG_FP_SUB_F_NO_REQUEST (1U << 1)

/* Value of the three cache maps: what the fast path may hand out, and until when. */
struct bng_fp_subscriber {
  __be32 ip_be;    /* the subscriber's address (yiaddr), network order */
  __u32 pool_id;   /* key into pool_params */
  __u64 expiry_ns; /* CLOCK_MONOTONIC ns; served only while bpf_ktime_get_ns() < expiry_ns */
  __u32 flags;     /* BNG_FP_SUB_F_* */
  __u32 reserved;  /* zero */
};
BNG_FP_STATIC_ASSERT(sizeof(struct bng_fp_subscriber) == 24, "bng_fp_subscriber size");

/* Which cache map matched. Lookup order: MAC, then VLAN (tagged frames), then circuit-id
 * (option 82 present); the first entry found decides, even when it is expired. */
#define BNG_FP_KEY_MAC 1
#define BNG_FP_KEY_VLAN 2
#define BNG_FP_KEY_CIRCUIT 3

/* ---- Pool parameters (pool_params, key: __u32 pool_id) ---------------------------- */

/* Every option value is stored exactly as it goes on the wire. A zero address, zero MTU,
 * zero count or zero length means "not configured": the option is not sent.
 * Always sent (when configured): 51, 58, 59, 1, 3, 6. Sent only when the client's parameter
 * request list (option 55) asks: 28, 15, 26. */
struct bng_fp_pool {
  __be32 subnet_mask_be;          /* option 1 */
  __be32 router_be;               /* option 3 */
  __be32 broadcast_be;            /* option 28 */
  __be32 dns_be[BNG_FP_DNS_MAX];  /* option 6, first dns_count entries */
  __be32 lease_time_be;           /* option 51, seconds */
  __be32 t1_be;                   /* option 58, seconds */
  __be32 t2_be;                   /* option 59, seconds */
  __be16 mtu_be;                  /* option 26 */
  __u8 dns_count;                 /* 0..BNG_FP_DNS_MAX */
  __u8 domain_len;                /* 0..BNG_FP_DOMAIN_MAX */
  __u8 domain[BNG_FP_DOMAIN_MAX]; /* option 15 */
};
BNG_FP_STATIC_ASSERT(sizeof(struct bng_fp_pool) == 108, "bng_fp_pool size");

/* ---- Server configuration (server_config: array, one entry at key 0) -------------- */

#define BNG_FP_CFG_F_ENABLED (1U << 0)     /* serve at all; clear = everything to slow path */
#define BNG_FP_CFG_F_VERIFY_CSUM (1U << 1) /* check IPv4/UDP checksums of requests */

struct bng_fp_config {
  __be32 server_ip_be; /* option 54 and IPv4 source of replies */
  __u32 flags;         /* BNG_FP_CFG_F_* */
  __u8 server_mac[6];  /* Ethernet source of replies (the attached interface's MAC) */
  __u8 reserved[2];    /* zero */
};
BNG_FP_STATIC_ASSERT(sizeof(struct bng_fp_config) == 16, "bng_fp_config size");

/* ---- Counters (dhcp_stats: per-CPU array, one entry at key 0) --------------------- */

/* Every DHCP request (IPv4 UDP to port 67) is counted in rx_requests and then in exactly
 * one of the tx_* / pass_* / drop_* counters. */
struct bng_fp_stats {
  __u64 rx_requests;       /* IPv4/UDP frames to port 67 that the parser looked at */
  __u64 tx_offer;          /* DHCPOFFERs sent from the kernel */
  __u64 tx_ack;            /* DHCPACKs sent from the kernel */
  __u64 pass_disabled;     /* fast path not enabled or no server configured */
  __u64 pass_malformed;    /* bad lengths, truncated options, bad checksums, not BOOTP */
  __u64 pass_unsupported;  /* other message types, option overload, split options,
                              IP options or fragments, UDP port not 67/68 */
  __u64 pass_not_for_us;   /* IPv4 destination neither broadcast nor the server */
  __u64 pass_other_server; /* REQUEST with a server identifier of another server */
  __u64 pass_no_entry;     /* no cache entry for the subscriber, or its pool missing */
  __u64 pass_expired;      /* cache entry found but expired */
  __u64 pass_policy;       /* cache entry flags send this message to the slow path */
  __u64 pass_mismatch;     /* REQUEST for an address other than the cached one */
  __u64 pass_too_big;      /* reply larger than the client accepts (option 57 / 576) */
  __u64 pass_no_room;      /* the frame could not be resized for the reply */
  __u64 pass_event_full;   /* the lease event ring buffer was full: not served */
  __u64 drop_error;        /* the reply could not be written after resizing */
};
BNG_FP_STATIC_ASSERT(sizeof(struct bng_fp_stats) == 16 * 8, "bng_fp_stats size");

/* ---- Served-lease events (lease_events: ring buffer) ------------------------------ */

#define BNG_FP_EV_F_RENEW (1U << 0)     /* ciaddr was set (RENEWING / REBINDING) */
#define BNG_FP_EV_F_RELAYED (1U << 1)   /* giaddr was set: reply went to the relay */
#define BNG_FP_EV_F_BROADCAST (1U << 2) /* reply was broadcast */

/* One record per reply sent from the kernel, so that the slow path keeps leases, sessions,
 * accounting and cache expiry true. The kernel never extends expiry_ns itself. */
struct bng_fp_lease_event {
  __u64 timestamp_ns; /* bpf_ktime_get_ns() when served (CLOCK_MONOTONIC) */
  __u64 expiry_ns;    /* the cache entry's expiry at that moment */
  __be32 ip_be;       /* yiaddr handed out */
  __be32 ciaddr_be;   /* from the request (0 unless renewing) */
  __be32 giaddr_be;   /* from the request (0 unless relayed) */
  __be32 xid_be;      /* transaction id */
  __u32 pool_id;
  __u32 lease_time_s;                /* option 51 value sent, host order */
  __u32 ifindex;                     /* interface the request came in on (and the reply left by) */
  __u32 flags;                       /* BNG_FP_EV_F_* */
  __u16 s_vlan;                      /* outer VID or 0 */
  __u16 c_vlan;                      /* inner (or only) VID or 0 */
  __u8 chaddr[6];                    /* client hardware address */
  __u8 msg_type;                     /* 2 = DHCPOFFER, 5 = DHCPACK */
  __u8 key_kind;                     /* BNG_FP_KEY_* that matched */
  struct bng_fp_circuit_key circuit; /* option 82 circuit-id, len 0 when absent/too long */
};
BNG_FP_STATIC_ASSERT(sizeof(struct bng_fp_lease_event) == 128, "bng_fp_lease_event size");

#endif /* BNGKIT_BNG_FASTPATH_DHCP_FASTPATH_ABI_H */
