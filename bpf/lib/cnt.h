/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Per service port and per backend counters (weft_svc_cnt_v2, weft_be_cnt_v2).
 * weftd deletes an id's entries when the service port or backend appears
 * and when it goes, so a reused id starts at zero; the entry is made here on
 * first use. If the map is full, WEFT_STAT_CNT_FULL.
 */
#ifndef WEFT_BPF_CNT_H
#define WEFT_BPF_CNT_H

#include <bpf/bpf_helpers.h>

#include "weft/abi.h"
#include "lib/maps.h"

/* What one translated call was. */
enum weft_cnt_kind {
	WEFT_CNT_CONNECT,	/* connect(): a TCP connection or a connected UDP socket */
	WEFT_CNT_SEND,		/* sendmsg() of an unconnected UDP socket */
};

static __always_inline struct weft_cnt *weft_cnt_entry(void *map, const void *key)
{
	struct weft_cnt *c = bpf_map_lookup_elem(map, key);
	struct weft_cnt zero = {};

	if (c)
		return c;
	bpf_map_update_elem(map, key, &zero, BPF_NOEXIST);
	c = bpf_map_lookup_elem(map, key);
	if (!c)
		weft_stat_inc(WEFT_STAT_CNT_FULL);
	return c;
}

/* A call to service port svc_id was refused: it has no backends. */
static __always_inline void weft_cnt_refused(__u32 svc_id)
{
	struct weft_cnt *c = weft_cnt_entry(&weft_svc_cnt_v2, &svc_id);

	if (c)
		c->refused += 1;
}

/* A connect to service port svc_id was refused by its resilience settings:
 * fault injection (aborted) or every backend at its cap (overflow). */
static __always_inline void weft_cnt_aborted(__u32 svc_id)
{
	struct weft_cnt *c = weft_cnt_entry(&weft_svc_cnt_v2, &svc_id);

	if (c)
		c->aborted += 1;
}

static __always_inline void weft_cnt_overflow(__u32 svc_id)
{
	struct weft_cnt *c = weft_cnt_entry(&weft_svc_cnt_v2, &svc_id);

	if (c)
		c->overflow += 1;
}

/* A call to service port svc_id was sent to its backend idx. */
static __always_inline void weft_cnt_xlate(__u32 svc_id, __u32 idx, __u32 kind)
{
	struct weft_be_key bk = { .svc_id = svc_id, .idx = idx };
	struct weft_cnt *c;

	c = weft_cnt_entry(&weft_svc_cnt_v2, &svc_id);
	if (c) {
		if (kind == WEFT_CNT_SEND)
			c->sends += 1;
		else
			c->connects += 1;
	}
	c = weft_cnt_entry(&weft_be_cnt_v2, &bk);
	if (c) {
		if (kind == WEFT_CNT_SEND)
			c->sends += 1;
		else
			c->connects += 1;
	}
}

#endif /* WEFT_BPF_CNT_H */
