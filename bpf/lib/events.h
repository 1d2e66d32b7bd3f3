/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Events for `weft observe` (weft_events ring buffer, struct weft_event):
 * made only while weft_obs_cfg.observers > 0, so without an observer an
 * event point costs one array lookup. A full ring counts
 * WEFT_STAT_EVENTS_LOST.
 */
#ifndef WEFT_BPF_EVENTS_H
#define WEFT_BPF_EVENTS_H

#include <bpf/bpf_helpers.h>

#include "weft/abi.h"
#include "lib/maps.h"

static __always_inline int weft_obs_on(void)
{
	struct weft_obs_cfg *cfg;
	__u32 zero = 0;

	cfg = bpf_map_lookup_elem(&weft_obs_cfg, &zero);
	return cfg && cfg->observers;
}

/* A zeroed event of this type from the ring, or NULL (no observer, or the
 * ring is full: counted). Submit it with bpf_ringbuf_submit(e, 0). */
static __always_inline struct weft_event *weft_ev_new(__u8 type, __u8 proto)
{
	struct weft_event *e;

	if (!weft_obs_on())
		return NULL;
	e = bpf_ringbuf_reserve(&weft_events, sizeof(*e), 0);
	if (!e) {
		weft_stat_inc(WEFT_STAT_EVENTS_LOST);
		return NULL;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = bpf_ktime_get_ns();
	e->type = type;
	e->proto = proto;
	return e;
}

/* A refusal or drop by policy: reason is the WEFT_STAT_* it is counted as,
 * dir the direction of the policy that decided. Ports in network order. */
static __always_inline void weft_ev_drop(__u32 reason, __u8 dir, __u8 proto, const __be32 *src,
					 const __be32 *dst, __be16 sport, __be16 dport)
{
	struct weft_event *e = weft_ev_new(WEFT_EV_DROP, proto);

	if (!e)
		return;
	e->dir = dir;
	e->reason = reason;
	__builtin_memcpy(e->saddr, src, sizeof(e->saddr));
	__builtin_memcpy(e->daddr, dst, sizeof(e->daddr));
	e->sport = sport;
	e->dport = dport;
	bpf_ringbuf_submit(e, 0);
}

#endif /* WEFT_BPF_EVENTS_H */
