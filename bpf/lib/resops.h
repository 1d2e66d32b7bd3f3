/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Resilience, the sockops side (issue 16; the connect side is lib/res.h): a
 * socket the connect hooks tracked in weft_sk_svc counts in its backend's
 * weft_be_state.active from its SYN (TCP_CONNECT_CB) to its close (STATE_CB
 * to TCP_CLOSE; weft_obs_connect asks for the state callbacks).
 *
 * Outlier detection (WEFT_SKS_OUTLIER): a socket that closes from SYN_SENT
 * (refused, reset before established, or given up by the client while its
 * SYN went unanswered) is an error of its backend, an established one a
 * success. consecutive errors eject the backend (weft_svc_res.errors),
 * unless max_ejection_percent of the service port's backends are ejected
 * already (Envoy's rule: eject while ejected * 100 < pct * backends) or it
 * is the last one not ejected. Two CPUs ejecting at the same instant can
 * exceed the share by one.
 */
#ifndef WEFT_BPF_RESOPS_H
#define WEFT_BPF_RESOPS_H

#include <bpf/bpf_helpers.h>

#include "weft/abi.h"
#include "lib/maps.h"
#include "lib/cnt.h"
#include "lib/res.h"

#define WEFT_RES_NSEC 1000000000ULL

/* The state of a tracked socket's backend, made if missing (or if its
 * index now holds another backend). */
static __always_inline struct weft_be_state *weft_res_state_get(const struct weft_sk_svc *s)
{
	struct weft_be_key k = { .svc_id = s->svc_id, .idx = s->idx };
	struct weft_be_state *st = bpf_map_lookup_elem(&weft_be_state, &k);
	struct weft_be_state fresh = {};

	if (st && weft_res_same(st, s->addr, s->port))
		return st;
	__builtin_memcpy(fresh.addr, s->addr, sizeof(fresh.addr));
	fresh.port = s->port;
	bpf_map_update_elem(&weft_be_state, &k, &fresh, st ? BPF_EXIST : BPF_NOEXIST);
	st = bpf_map_lookup_elem(&weft_be_state, &k);
	if (!st || !weft_res_same(st, s->addr, s->port)) {
		weft_stat_inc(WEFT_STAT_BE_STATE_FULL);
		return NULL;
	}
	return st;
}

/* TCP_CONNECT_CB: the SYN goes out; a tracked socket counts in active.
 * A subprogram of its own: inlined, clang folds the ctx->sk loads of the
 * callers into a moved ctx pointer, which the verifier refuses. */
static __noinline int weft_res_connect(struct bpf_sock_ops *ctx)
{
	struct bpf_sock *sk = ctx->sk;
	struct weft_be_state *st;
	struct weft_sk_svc *s;

	if (!sk)
		return 0;
	s = bpf_sk_storage_get(&weft_sk_svc, sk, 0, 0);
	if (!s || (s->flags & WEFT_SKS_COUNTED))
		return 0;
	st = weft_res_state_get(s);
	if (!st)
		return 0;
	__sync_fetch_and_add(&st->active, 1);
	s->flags |= WEFT_SKS_COUNTED;
	return 0;
}

/* Count the ejected backends of a service port (bpf_loop over its
 * backend indexes). */
struct weft_res_count {
	__u64 now;
	__u32 svc_id;
	__u32 ejected;
};

static long weft_res_count_cb(__u32 i, void *data)
{
	struct weft_res_count *c = data;
	struct weft_be_key k = { .svc_id = c->svc_id, .idx = i };
	struct weft_be_state *st = bpf_map_lookup_elem(&weft_be_state, &k);
	struct weft_backend *b;

	if (!st || st->ejected_until_ns <= c->now)
		return 0;
	b = bpf_map_lookup_elem(&weft_be, &k);
	if (b && weft_res_same(st, b->addr, b->port))
		c->ejected++;
	return 0;
}

/* Room to eject one more backend of the service port? */
static __always_inline int weft_res_may_eject(const struct weft_svc_res *res, __u32 svc_id,
					      __u64 now)
{
	struct weft_res_count c = { .now = now, .svc_id = svc_id };
	__u32 n = res->idx_end;

	if (n > WEFT_RES_SCAN_MAX)
		n = WEFT_RES_SCAN_MAX;
	bpf_loop(n, weft_res_count_cb, &c, 0);
	return (__u64)c.ejected * 100 < (__u64)res->eject_pct * res->nbackends &&
	       c.ejected + 1 < res->nbackends;
}

/* A tracked connection of an outlier-detecting service port failed before
 * it was established. */
static __always_inline void weft_res_error(const struct weft_sk_svc *s, struct weft_be_state *st)
{
	struct weft_be_key bk = { .svc_id = s->svc_id, .idx = s->idx };
	struct weft_svc_res *res = bpf_map_lookup_elem(&weft_svc_res, &s->svc_id);
	__u64 now = bpf_ktime_get_ns(), last;
	struct weft_event *e;
	struct weft_cnt *cnt;
	__u32 errors;

	if (!res || !res->errors)
		return;
	last = st->last_error_ns;
	st->last_error_ns = now;
	if (last && now - last > (__u64)res->interval_s * WEFT_RES_NSEC)
		st->errors = 0;	/* the previous error is too old to count */
	errors = __sync_fetch_and_add(&st->errors, 1) + 1;
	if (errors < res->errors || st->ejected_until_ns > now ||
	    !weft_res_may_eject(res, s->svc_id, now))
		return;
	st->errors = 0;
	st->ejections += 1;
	st->ejected_until_ns = now + (__u64)res->eject_s * st->ejections * WEFT_RES_NSEC;
	weft_stat_inc(WEFT_STAT_OUTLIER_EJECT);
	cnt = weft_cnt_entry(&weft_be_cnt_v2, &bk);
	if (cnt)
		cnt->ejections += 1;
	e = weft_ev_new(WEFT_EV_EJECT, IPPROTO_TCP);
	if (!e)
		return;
	__builtin_memcpy(e->daddr, s->addr, sizeof(e->daddr));
	e->dport = s->port;
	e->svc_id = s->svc_id;
	e->reason = errors;
	e->duration_ns = st->ejected_until_ns - now;
	bpf_ringbuf_submit(e, 0);
}

/* ACTIVE_ESTABLISHED_CB: a success ends the run of errors, and after an
 * ejection is over, the backend starts again at one ejection time. */
static __noinline int weft_res_established(struct bpf_sock_ops *ctx)
{
	struct bpf_sock *sk = ctx->sk;
	struct weft_be_state *st;
	struct weft_sk_svc *s;

	if (!sk)
		return 0;
	s = bpf_sk_storage_get(&weft_sk_svc, sk, 0, 0);
	if (!s || !(s->flags & WEFT_SKS_OUTLIER))
		return 0;
	st = weft_res_state(s->svc_id, s->idx, s->addr, s->port);
	if (!st)
		return 0;
	if (st->errors)
		st->errors = 0;
	if (st->ejections && st->ejected_until_ns <= bpf_ktime_get_ns())
		st->ejections = 0;
	return 0;
}

/* STATE_CB to TCP_CLOSE: a counted socket counts out (never below 0), and
 * a close from SYN_SENT is an error of its backend. */
static __noinline int weft_res_close(struct bpf_sock_ops *ctx)
{
	struct bpf_sock *sk = ctx->sk;
	struct weft_be_state *st;
	struct weft_sk_svc *s;

	if (!sk)
		return 0;
	s = bpf_sk_storage_get(&weft_sk_svc, sk, 0, 0);
	if (!s || !(s->flags & WEFT_SKS_COUNTED))
		return 0;
	s->flags &= ~WEFT_SKS_COUNTED;
	st = weft_res_state(s->svc_id, s->idx, s->addr, s->port);
	if (!st)
		return 0;
	if (st->active)
		__sync_fetch_and_sub(&st->active, 1);
	if ((s->flags & WEFT_SKS_OUTLIER) && ctx->args[0] == BPF_TCP_SYN_SENT)
		weft_res_error(s, st);
	return 0;
}

#endif /* WEFT_BPF_RESOPS_H */
