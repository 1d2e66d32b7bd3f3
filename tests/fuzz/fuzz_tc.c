// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fuzz target tc: a frame as the tc programs see it on an endpoint's
 * interface (Ethernet first) into the packet parser of bpf/lib/pkt.h, built
 * for the host (tc_host.h). The frame is in a heap buffer that ends where
 * it does, so a read past data_end shows under ASan, and starts 2 bytes
 * into it, as the kernel places a frame (NET_IP_ALIGN: the IP header on a
 * 4-byte boundary); the verifier proves the
 * same for the BPF build, this covers what it cannot: that the bounds
 * checks are the right ones (a parse that reads a header it did not check
 * would be refused at load, one that checks too little is refused here).
 */
#include <string.h>

#include "fuzz.h"
#include "tc_host.h"

#define NET_IP_ALIGN 2

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *buf = malloc(size + NET_IP_ALIGN), *frame;
	struct __sk_buff skb;
	struct weft_pkt p;
	int r;

	if (!buf)
		abort();
	frame = buf + NET_IP_ALIGN;
	memcpy(frame, data, size);
	skb.data = (long)frame;
	skb.data_end = (long)(frame + size);
	memset(&p, 0, sizeof(p));
	r = weft_parse(&skb, &p);
	FUZZ_ASSERT(r == WEFT_P_OK || r == WEFT_P_NOT_IP || r == WEFT_P_BAD, "a defined result");
	FUZZ_ASSERT(p.frag <= WEFT_FRAG_LATER && p.pass <= 1, "defined fields");
	if (r == WEFT_P_OK && p.frag == WEFT_FRAG_LATER)
		FUZZ_ASSERT(!p.sport && !p.dport && !p.pass, "a later fragment has no L4 header");
	if (size < sizeof(struct ethhdr))
		FUZZ_ASSERT(r == WEFT_P_NOT_IP, "no frame, not IP");
	free(buf);
	return 0;
}
