/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Resilience, the sockops side (issue 16; the connect side is lib/res.h): a
 * socket the connect hooks tracked in weft_sk_svc counts in its backend's
 * weft_be_state.active from its SYN (TCP_CONNECT_CB) to its close (STATE_CB
 * to TCP_CLOSE; weft_obs_connect asks for the state callbacks).
 */
#ifndef WEFT_BPF_RESOPS_H
#define WEFT_BPF_RESOPS_H

#include <bpf/bpf_helpers.h>

#include "weft/abi.h"
#include "lib/maps.h"
#include "lib/res.h"

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

/* STATE_CB to TCP_CLOSE: a counted socket counts out (never below 0). */
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
	if (st && st->active)
		__sync_fetch_and_sub(&st->active, 1);
	return 0;
}

#endif /* WEFT_BPF_RESOPS_H */
