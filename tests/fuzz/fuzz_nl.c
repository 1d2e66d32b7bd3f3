// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fuzz targets nl_link, nl_qdisc, nl_route, nl_nsid: one datagram of
 * rtnetlink messages into a parser of lib/nl.c (the route one is what
 * lib/route.c's weft_route_ifname reads its answer with). Built once per
 * parser, FUZZ_NL naming it. The bytes are copied to a 4-byte aligned heap
 * buffer of exactly their length, as a socket read gives them; each input
 * is parsed as a multicast event (seq and portid 0) and as the answer to a
 * request (seq 1, portid 1).
 */
#include <string.h>

#include "fuzz.h"
#include "lib/nl.h"

#if FUZZ_NL == 1
static void on_link(const struct weft_nl_link *l, void *arg)
{
	(void)arg;
	FUZZ_ASSERT(memchr(l->name, 0, sizeof(l->name)), "a link name is a string");
}
#endif

static int parse(const void *buf, size_t len, uint32_t seq, uint32_t portid)
{
#if FUZZ_NL == 1
	struct weft_nl_links out = { on_link, NULL };

	return weft_nl_parse_links(buf, len, seq, portid, &out);
#elif FUZZ_NL == 2
	struct weft_nl_qdisc q = { 0 };
	int ret = weft_nl_parse_qdisc(buf, len, seq, portid, &q);

	FUZZ_ASSERT(memchr(q.kind, 0, sizeof(q.kind)), "a qdisc kind is a string");
	return ret;
#elif FUZZ_NL == 3
	struct weft_nl_route r = { 0 };
	int ret = weft_nl_parse_route(buf, len, seq, portid, &r);

	FUZZ_ASSERT(r.found || (!r.oif && !r.gateway), "nothing read without a route message");
	return ret;
#elif FUZZ_NL == 4
	int32_t nsid = -1;

	return weft_nl_parse_nsid(buf, len, seq, portid, &nsid);
#else
#error "FUZZ_NL: 1 links, 2 qdisc, 3 route, 4 nsid (the Makefile sets it)"
#endif
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* malloc's alignment (16 on x86-64) is also the 4 netlink wants */
	void *buf = malloc(size ? size : 1);
	int ret;

	if (!buf)
		abort();
	memcpy(buf, data, size);
	for (int i = 0; i < 2; i++) {
		ret = parse(buf, size, i, i);
		FUZZ_ASSERT(ret <= 1, "1, 0 or -errno");
	}
	free(buf);
	return 0;
}
