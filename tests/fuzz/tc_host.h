/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The host's side of bpf/lib/pkt.h: what vmlinux.h gives the BPF build,
 * from the UAPI headers, and a struct __sk_buff of two pointers (in BPF
 * data and data_end are 32-bit fields the verifier rewrites into the
 * packet's pointers; pkt.h only ever reads them as (void *)(long)). Do not
 * include linux/bpf.h next to it (its struct __sk_buff is the kernel's).
 */
#ifndef WEFT_TC_HOST_H
#define WEFT_TC_HOST_H

#include <sys/cdefs.h>		/* __always_inline */
#include <netinet/in.h>		/* IPPROTO_* */
#include <linux/types.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>

struct __sk_buff {
	long data;
	long data_end;
};

#include "lib/pkt.h"

#endif /* WEFT_TC_HOST_H */
