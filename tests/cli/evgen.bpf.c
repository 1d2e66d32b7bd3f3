// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * evgen: the test's writer of weft_events. User space cannot write a ring
 * buffer, so the CLI tests hand a struct weft_event to this tc program as
 * the packet of BPF_PROG_TEST_RUN, and it copies it into the pinned
 * weft_events (the test reuses the pinned map's fd before load).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "weft/abi.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
} weft_events SEC(".maps");

SEC("tc")
int evgen(struct __sk_buff *skb)
{
	struct weft_event ev;

	if (bpf_skb_load_bytes(skb, 0, &ev, sizeof(ev)))
		return 1;
	return bpf_ringbuf_output(&weft_events, &ev, sizeof(ev), 0) ? 2 : 0;
}

char LICENSE[] SEC("license") = "GPL";
