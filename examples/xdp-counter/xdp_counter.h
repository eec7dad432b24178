/* xdp-counter: the per-CPU counter (struct pkt_counter) shared by the XDP program and the loader (plain C). */
#ifndef XDP_COUNTER_H
#define XDP_COUNTER_H

#include <linux/types.h>

struct pkt_counter {
  __u64 packets;
  __u64 bytes;
};

#endif
