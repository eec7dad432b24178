/* Structs shared by the ebpfkit test programs and the tests (plain C, fixed width). */
#ifndef EBPFKIT_TEST_ABI_H
#define EBPFKIT_TEST_ABI_H

#include <linux/types.h>

/* UDP destination port the counting programs single out (the tests' traffic). */
#define EBPFKIT_TEST_UDP_PORT 9999

/* Index in the stats arrays: 0 = every packet, 1 = UDP to EBPFKIT_TEST_UDP_PORT. */
#define EBPFKIT_STAT_ALL 0
#define EBPFKIT_STAT_UDP 1

struct ebpfkit_counter {
  __u64 packets;
  __u64 bytes;
};

struct ebpfkit_lpm_v4 {
  __u32 prefixlen;
  __u8 addr[4];
};

struct ebpfkit_event {
  __u32 len;     /* packet length */
  __u32 seq;     /* first 4 payload bytes after the Ethernet header */
  __u64 ts_ns;   /* bpf_ktime_get_ns() */
};

struct ebpfkit_lru_value {
  __u64 a;
  __u64 b;
};

#endif
