/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Resilience of service ports (issue 16): the per-backend state the connect
 * hooks read (weft_be_state: active connections, ejection) and sockops
 * keeps (lib/resops.h). Only service ports flagged WEFT_SVC_F_RES, TCP
 * connect() only.
 *
 *   connect4/6      weft_res_choose (lib/svc.h): skip backends at their cap
 *                   (and, with outlier detection, ejected ones);
 *                   least_request takes the emptier of two; weft_res_track
 *                   remembers the backend in the socket's weft_sk_svc.
 *   TCP_CONNECT_CB  weft_res_connect: the socket counts in active.
 *   STATE_CB CLOSE  weft_res_close: and out again.
 */
#ifndef WEFT_BPF_RES_H
#define WEFT_BPF_RES_H

#include <bpf/bpf_helpers.h>

#include "weft/abi.h"
#include "lib/maps.h"
#include "lib/events.h"

#define WEFT_RES_TRIES 4	/* random re-picks before the scan of every backend */
#define WEFT_RES_SCAN_MAX 8192	/* most backend indexes the scan visits */

/* What a backend is for a new connection. Ordered: lower is better. */
enum weft_res_verdict {
	WEFT_RES_OK = 0,	/* eligible */
	WEFT_RES_EJECTED = 1,	/* ejected by outlier detection, under its cap */
	WEFT_RES_FULL = 2,	/* at connection_pool.max_connections */
};

static __always_inline int weft_res_same(const struct weft_be_state *st, const __be32 *addr,
					 __be16 port)
{
	return st->port == port && st->addr[0] == addr[0] && st->addr[1] == addr[1] &&
	       st->addr[2] == addr[2] && st->addr[3] == addr[3];
}

/* The state of backend idx of svc_id if it is still this backend's. */
static __always_inline struct weft_be_state *weft_res_state(__u32 svc_id, __u32 idx,
							    const __be32 *addr, __be16 port)
{
	struct weft_be_key k = { .svc_id = svc_id, .idx = idx };
	struct weft_be_state *st = bpf_map_lookup_elem(&weft_be_state, &k);

	return st && weft_res_same(st, addr, port) ? st : NULL;
}

/* outlier: the service port detects outliers (an ejection of a port that
 * no longer does is ignored). Reinstatement is lazy: an ejection is over
 * when its time has passed, nobody has to end it. */
static __always_inline int weft_res_verdict(__u32 max_conns, __u32 outlier,
					    const struct weft_be_state *st, __u64 now)
{
	if (!st)
		return WEFT_RES_OK;
	if (max_conns && st->active >= max_conns)
		return WEFT_RES_FULL;
	if (outlier && st->ejected_until_ns > now)
		return WEFT_RES_EJECTED;
	return WEFT_RES_OK;
}

/* One candidate: its verdict and active count. */
struct weft_res_cand {
	__u32 verdict;
	__u32 active;
};

/* An ejection found over: the first to see it ends it, for `weft observe`. */
static __always_inline void weft_res_reinstate(struct weft_be_state *st, __u32 svc_id, __u64 now)
{
	__u64 until = st->ejected_until_ns;
	struct weft_event *e;

	if (!until || until > now || __sync_val_compare_and_swap(&st->ejected_until_ns, until, 0) != until)
		return;
	e = weft_ev_new(WEFT_EV_REINSTATE, IPPROTO_TCP);
	if (!e)
		return;
	__builtin_memcpy(e->daddr, st->addr, sizeof(e->daddr));
	e->dport = st->port;
	e->svc_id = svc_id;
	bpf_ringbuf_submit(e, 0);
}

static __always_inline void weft_res_judge(const struct weft_svc_res *res, __u32 svc_id,
					   const struct weft_backend *be, __u64 now,
					   struct weft_res_cand *c)
{
	struct weft_be_state *st = weft_res_state(svc_id, be->idx, be->addr, be->port);

	if (st && res->errors)
		weft_res_reinstate(st, svc_id, now);

	c->verdict = weft_res_verdict(res->max_conns, res->errors, st, now);
	c->active = st ? st->active : 0;
}

/* Is a better than b: a better verdict, or as good with fewer connections. */
static __always_inline int weft_res_better(const struct weft_res_cand *a,
					   const struct weft_res_cand *b)
{
	return a->verdict < b->verdict || (a->verdict == b->verdict && a->active < b->active);
}

/* The scan (bpf_loop over backend indexes): the eligible backend with the
 * fewest active connections. Scalars only in the context. */
struct weft_res_scan {
	__u64 now;
	__u32 svc_id;
	__u32 max_conns;
	__u32 best_idx;
	__u32 best_active;
	__u32 found;
	__u32 outlier;
};

static long weft_res_scan_cb(__u32 i, void *data)
{
	struct weft_res_scan *s = data;
	struct weft_be_key k = { .svc_id = s->svc_id, .idx = i };
	struct weft_be_state *st;
	struct weft_backend *b;
	__u32 active;

	b = bpf_map_lookup_elem(&weft_be, &k);
	if (!b)
		return 0;
	st = bpf_map_lookup_elem(&weft_be_state, &k);
	if (st && !weft_res_same(st, b->addr, b->port))
		st = NULL;
	if (weft_res_verdict(s->max_conns, s->outlier, st, s->now) != WEFT_RES_OK)
		return 0;
	active = st ? st->active : 0;
	if (!s->found || active < s->best_active) {
		s->found = 1;
		s->best_idx = i;
		s->best_active = active;
	}
	return 0;
}

/* Every backend index below idx_end: the best eligible backend into *be.
 * 0, or -1 when none is eligible. */
static __always_inline int weft_res_scan(const struct weft_svc_res *res, __u32 svc_id, __u64 now,
					 struct weft_backend *be)
{
	struct weft_res_scan s = { .now = now, .svc_id = svc_id, .max_conns = res->max_conns,
				   .outlier = res->errors };
	struct weft_be_key k = { .svc_id = svc_id };
	struct weft_backend *b;
	__u32 n = res->idx_end;

	if (n > WEFT_RES_SCAN_MAX)
		n = WEFT_RES_SCAN_MAX;
	bpf_loop(n, weft_res_scan_cb, &s, 0);
	if (!s.found)
		return -1;
	k.idx = s.best_idx;
	b = bpf_map_lookup_elem(&weft_be, &k);
	if (!b)
		return -1;
	*be = *b;
	return 0;
}

/* Remember the backend a TCP socket of a resilient service port was sent
 * to; sockops counts it from its SYN on. */
static __always_inline void weft_res_track(struct bpf_sock *sk, __u32 svc_id,
					   const struct weft_backend *be, __u8 flags)
{
	struct weft_sk_svc *s;

	if (!sk)
		return;
	s = bpf_sk_storage_get(&weft_sk_svc, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!s) {
		weft_stat_inc(WEFT_STAT_BE_STATE_FULL);
		return;
	}
	__builtin_memcpy(s->addr, be->addr, sizeof(s->addr));
	s->svc_id = svc_id;
	s->idx = be->idx;
	s->port = be->port;
	s->flags = flags;
}

#endif /* WEFT_BPF_RES_H */
