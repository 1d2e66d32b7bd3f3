/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Service translation at the socket layer: connect()/sendmsg() to a service
 * address is rewritten to one of its backends, and recvmsg()/getpeername()
 * show the service address again. No packet is ever NATed.
 *
 * Every address is handled in the ABI's 16-byte form (IPv4 v4-mapped), so one
 * service entry serves AF_INET sockets, AF_INET6 sockets and IPv4 reached
 * from a dual-stack AF_INET6 socket (::ffff:a.b.c.d).
 *
 * The 4 and 6 variants differ only in which context fields they may touch:
 * the verifier allows user_ip4 only in the *4 hooks and user_ip6 only in the
 * *6 hooks, so each family has its own small wrapper around the shared core.
 */
#ifndef WEFT_BPF_SVC_H
#define WEFT_BPF_SVC_H

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "weft/abi.h"
#include "lib/maps.h"
#include "lib/cnt.h"
#include "lib/policy.h"
#include "lib/res.h"

#ifndef ECONNREFUSED
#define ECONNREFUSED 111
#endif

#define WEFT_NSEC_PER_SEC 1000000000ULL

/* What the core decided for one connect/sendmsg. */
enum weft_verdict {
	WEFT_PASS,	/* not a service, or no usable backend: leave the call alone */
	WEFT_REFUSE,	/* service without backends, a fault abort or an overflow:
			 * fail with ECONNREFUSED */
	WEFT_XLATE,	/* rewrite the destination to the chosen backend */
};

static __always_inline int weft_addr_is_v4mapped(const __be32 *a)
{
	return a[0] == 0 && a[1] == 0 && a[2] == bpf_htonl(0xffff);
}

static __always_inline void weft_addr_set_v4mapped(__be32 *a, __be32 ip4)
{
	a[0] = 0;
	a[1] = 0;
	a[2] = bpf_htonl(0xffff);
	a[3] = ip4;
}

/* One murmur3 block and the finalizer: a cheap hash with good spread. */
static __always_inline __u32 weft_hash_word(__u32 h, __u32 k)
{
	k *= 0xcc9e2d51;
	k = (k << 15) | (k >> 17);
	k *= 0x1b873593;
	h ^= k;
	h = (h << 13) | (h >> 19);
	return h * 5 + 0xe6546b64;
}

static __always_inline __u32 weft_hash_final(__u32 h, __u32 len)
{
	h ^= len;
	h ^= h >> 16;
	h *= 0x85ebca6b;
	h ^= h >> 13;
	h *= 0xc2b2ae35;
	h ^= h >> 16;
	return h;
}

/* Hash of a client: its bound source address if it has one, else its netns
 * (one key per pod). */
static __always_inline __u32 weft_client_hash(const struct weft_aff_key *c)
{
	__u32 h = 0;

	if (c->addr[0] | c->addr[1] | c->addr[2] | c->addr[3]) {
		h = weft_hash_word(h, c->addr[0]);
		h = weft_hash_word(h, c->addr[1]);
		h = weft_hash_word(h, c->addr[2]);
		h = weft_hash_word(h, c->addr[3]);
		return weft_hash_final(h, 16);
	}
	h = weft_hash_word(h, (__u32)c->netns);
	h = weft_hash_word(h, (__u32)(c->netns >> 32));
	return weft_hash_final(h, 8);
}

/* Is the backend an affinity entry remembers still a backend of the service? */
static __always_inline int weft_be_current(__u32 svc_id, const struct weft_backend *be)
{
	struct weft_be_key k = { .svc_id = svc_id, .idx = be->idx };
	struct weft_backend *cur = bpf_map_lookup_elem(&weft_be, &k);

	return cur && cur->port == be->port && cur->addr[0] == be->addr[0] &&
	       cur->addr[1] == be->addr[1] && cur->addr[2] == be->addr[2] &&
	       cur->addr[3] == be->addr[3];
}

/* fault.abort_percent: refuse this connect? */
static __always_inline int weft_fault_abort(const struct weft_svc_res *res)
{
	return res->abort_ppm && bpf_get_prandom_u32() % 1000000 < res->abort_ppm;
}

/* Slot of the selection table for a new choice, by the service's algorithm. */
static __always_inline __u32 weft_pick_slot(const struct weft_svc_val *svc,
					    const struct weft_aff_key *client)
{
	__u32 n = svc->nslots, id = svc->id, v;
	__u32 *rr;

	switch (svc->lb) {
	case WEFT_LB_ROUND_ROBIN:
		rr = bpf_map_lookup_elem(&weft_rr, &id);
		if (!rr)
			return 0;
		/* Atomic fetch-and-add (BPF_FETCH, -mcpu=v3): every connect
		 * takes its own turn, also when CPUs race. */
		v = __sync_fetch_and_add(rr, 1);
		return v % n;
	case WEFT_LB_MAGLEV:
		return weft_client_hash(client) % n;
	default:
		return bpf_get_prandom_u32() % n;
	}
}

/* One slot's backend, at random over the table. 0 or -1. */
static __always_inline int weft_slot_random(const struct weft_svc_val *svc, struct weft_backend *be)
{
	struct weft_slot_key sk = { .svc_id = svc->id, .slot = bpf_get_prandom_u32() % svc->nslots };
	struct weft_backend *slot = bpf_map_lookup_elem(&weft_slot, &sk);

	if (!slot)
		return -1;
	*be = *slot;
	return 0;
}

/*
 * A resilient service port's choice: *be holds the algorithm's pick.
 * least_request compares it with a second random slot; a pick at its cap
 * (or ejected) is replaced by one of WEFT_RES_TRIES random slots, then by
 * a scan of every backend. 0, or -1 when every backend is at its cap.
 */
static __always_inline int weft_res_choose(const struct weft_svc_val *svc,
					   const struct weft_svc_res *res, struct weft_backend *be)
{
	struct weft_res_cand c, c2;
	struct weft_backend b2;
	__u64 now = bpf_ktime_get_ns();

	weft_res_judge(res, svc->id, be, now, &c);
	if (svc->lb == WEFT_LB_LEAST_REQUEST && !weft_slot_random(svc, &b2)) {
		weft_res_judge(res, svc->id, &b2, now, &c2);
		if (weft_res_better(&c2, &c)) {
			*be = b2;
			c = c2;
		}
	}
	for (int i = 0; i < WEFT_RES_TRIES && c.verdict != WEFT_RES_OK; i++) {
		if (weft_slot_random(svc, &b2))
			continue;
		weft_res_judge(res, svc->id, &b2, now, &c2);
		if (weft_res_better(&c2, &c)) {
			*be = b2;
			c = c2;
		}
	}
	if (c.verdict == WEFT_RES_OK || !weft_res_scan(res, svc->id, now, be))
		return 0;
	/* None eligible: an ejected one under its cap rather than nothing */
	return c.verdict == WEFT_RES_FULL ? -1 : 0;
}

/* What the caller does after a translation of a resilient service port. */
struct weft_pick {
	__u32 svc_id;
	__u8 track;	/* 1: keep the backend in the socket's weft_sk_svc */
	__u8 flags;	/* its WEFT_SKS_* flags */
};

/*
 * The core of connect/sendmsg: look key up, choose a backend into *be.
 * client->addr holds the socket's bound source (v4-mapped) or zero; the rest
 * of client is filled here. v4_only: the caller can only write an IPv4
 * destination. kind (enum weft_cnt_kind) says what to count. pick says
 * whether the socket is to be tracked (resilient service ports).
 */
static __always_inline enum weft_verdict weft_svc_select(void *ctx,
							 const struct weft_svc_key *key,
							 struct weft_aff_key *client, int v4_only,
							 struct weft_backend *be, __u32 kind,
							 struct weft_pick *pick)
{
	struct weft_slot_key sk = {};
	struct weft_svc_val *svc;
	struct weft_aff_val *aff;
	struct weft_backend *slot;
	struct weft_svc_res *res = NULL;
	__u64 now = 0;
	int hit = 0;

	svc = bpf_map_lookup_elem(&weft_svc, key);
	if (!svc)
		return WEFT_PASS;
	if (svc->nslots == 0) {
		weft_stat_inc(WEFT_STAT_NO_BACKEND);
		weft_cnt_refused(svc->id);
		return WEFT_REFUSE;
	}
	if ((svc->flags & WEFT_SVC_F_RES) && kind == WEFT_CNT_CONNECT &&
	    key->proto == IPPROTO_TCP) {
		res = bpf_map_lookup_elem(&weft_svc_res, &svc->id);
		if (res && weft_fault_abort(res)) {
			weft_stat_inc(WEFT_STAT_FAULT_ABORT);
			weft_cnt_aborted(svc->id);
			return WEFT_REFUSE;
		}
	}
	if (svc->affinity || svc->lb == WEFT_LB_MAGLEV) {
		client->netns = bpf_get_netns_cookie(ctx);
		client->svc_id = svc->id;
	}
	if (svc->affinity) {
		now = bpf_ktime_get_ns();
		aff = bpf_map_lookup_elem(&weft_aff, client);
		if (aff && now - aff->last_ns < (__u64)svc->affinity * WEFT_NSEC_PER_SEC &&
		    weft_be_current(svc->id, &aff->be)) {
			aff->last_ns = now;
			*be = aff->be;
			hit = 1;
			weft_stat_inc(WEFT_STAT_AFFINITY_HIT);
		}
	}
	if (!hit) {
		sk.svc_id = svc->id;
		sk.slot = weft_pick_slot(svc, client);
		slot = bpf_map_lookup_elem(&weft_slot, &sk);
		if (!slot) {
			weft_stat_inc(WEFT_STAT_SLOT_MISS);
			sk.slot = 0;
			slot = bpf_map_lookup_elem(&weft_slot, &sk);
			if (!slot)
				return WEFT_PASS;
		}
		*be = *slot;
		if (!(be->addr[0] | be->addr[1] | be->addr[2] | be->addr[3] | be->port)) {
			/* a route's share without a backend (weft/abi.h) */
			weft_cnt_refused(svc->id);
			return WEFT_REFUSE;
		}
		if (res && weft_res_choose(svc, res, be)) {
			weft_stat_inc(WEFT_STAT_OVERFLOW);
			weft_cnt_overflow(svc->id);
			return WEFT_REFUSE;
		}
	}
	if (res) {
		pick->svc_id = svc->id;
		pick->track = 1;
		pick->flags = res->errors ? WEFT_SKS_OUTLIER : 0;
	}
	if (v4_only && !weft_addr_is_v4mapped(be->addr)) {
		weft_stat_inc(WEFT_STAT_FAMILY);
		return WEFT_PASS;
	}
	if (svc->affinity && !hit) {
		struct weft_aff_val v = { .last_ns = now, .be = *be };

		bpf_map_update_elem(&weft_aff, client, &v, BPF_ANY);
	}
	weft_cnt_xlate(svc->id, be->idx, kind);
	return WEFT_XLATE;
}

/* Remember what the socket asked for, for recvmsg and getpeername. */
static __always_inline void weft_rev_record(void *ctx, const struct weft_svc_key *key,
					    const struct weft_backend *be)
{
	struct weft_rev_key rk = {};
	struct weft_rev_val rv = {};

	rk.cookie = bpf_get_socket_cookie(ctx);
	__builtin_memcpy(rk.addr, be->addr, sizeof(rk.addr));
	rk.port = be->port;
	__builtin_memcpy(rv.addr, key->addr, sizeof(rv.addr));
	rv.port = key->port;
	bpf_map_update_elem(&weft_rev, &rk, &rv, BPF_ANY);
	weft_stat_inc(WEFT_STAT_XLATE);
}

static __always_inline int weft_proto_ok(__u32 proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP;
}

/* connect4 and sendmsg4 (also IPv4 sent from an AF_INET6 socket to a
 * v4-mapped address, which the kernel hands to the IPv4 hooks). */
static __always_inline int weft_sock_xlate4(struct bpf_sock_addr *ctx, __u32 kind)
{
	struct weft_aff_key client = {};
	struct weft_svc_key key = {};
	struct weft_pick pick = {};
	struct weft_backend be;
	__u32 src;

	if (!weft_proto_ok(ctx->protocol))
		return 1;	/* policy covers TCP and UDP only */
	weft_addr_set_v4mapped(key.addr, ctx->user_ip4);
	key.port = (__be16)ctx->user_port;
	key.proto = ctx->protocol;

	src = ctx->sk->src_ip4;
	if (src)
		weft_addr_set_v4mapped(client.addr, src);

	switch (weft_svc_select(ctx, &key, &client, 1, &be, kind, &pick)) {
	case WEFT_REFUSE:
		bpf_set_retval(-ECONNREFUSED);
		return 0;
	case WEFT_XLATE:
		/* Policy judges the real backend, after translation. */
		if (!weft_pol_connect(client.addr, be.addr, key.proto, be.port, ctx))
			return 0;
		ctx->user_ip4 = be.addr[3];
		ctx->user_port = be.port;
		weft_rev_record(ctx, &key, &be);
		if (pick.track)
			weft_res_track(ctx->sk, pick.svc_id, &be, pick.flags);
		return 1;
	default:
		return weft_pol_connect(client.addr, key.addr, key.proto, key.port, ctx);
	}
}

/* connect6 and sendmsg6. A v4-mapped backend is written v4-mapped. */
static __always_inline int weft_sock_xlate6(struct bpf_sock_addr *ctx, __u32 kind)
{
	struct weft_aff_key client = {};
	struct weft_svc_key key = {};
	struct weft_pick pick = {};
	struct weft_backend be;
	struct bpf_sock *sk;

	if (!weft_proto_ok(ctx->protocol))
		return 1;
	key.addr[0] = ctx->user_ip6[0];
	key.addr[1] = ctx->user_ip6[1];
	key.addr[2] = ctx->user_ip6[2];
	key.addr[3] = ctx->user_ip6[3];
	key.port = (__be16)ctx->user_port;
	key.proto = ctx->protocol;

	sk = ctx->sk;
	client.addr[0] = sk->src_ip6[0];
	client.addr[1] = sk->src_ip6[1];
	client.addr[2] = sk->src_ip6[2];
	client.addr[3] = sk->src_ip6[3];

	switch (weft_svc_select(ctx, &key, &client, 0, &be, kind, &pick)) {
	case WEFT_REFUSE:
		bpf_set_retval(-ECONNREFUSED);
		return 0;
	case WEFT_XLATE:
		if (!weft_pol_connect(client.addr, be.addr, key.proto, be.port, ctx))
			return 0;
		ctx->user_ip6[0] = be.addr[0];
		ctx->user_ip6[1] = be.addr[1];
		ctx->user_ip6[2] = be.addr[2];
		ctx->user_ip6[3] = be.addr[3];
		ctx->user_port = be.port;
		weft_rev_record(ctx, &key, &be);
		if (pick.track)
			weft_res_track(ctx->sk, pick.svc_id, &be, pick.flags);
		return 1;
	default:
		return weft_pol_connect(client.addr, key.addr, key.proto, key.port, ctx);
	}
}

/* The service address a translated socket asked for, or NULL. */
static __always_inline struct weft_rev_val *weft_rev_lookup(void *ctx, struct weft_rev_key *rk)
{
	rk->cookie = bpf_get_socket_cookie(ctx);
	return bpf_map_lookup_elem(&weft_rev, rk);
}

/* recvmsg4 and getpeername4: show the VIP instead of the backend. */
static __always_inline int weft_sock_rev4(struct bpf_sock_addr *ctx)
{
	struct weft_rev_key rk = {};
	struct weft_rev_val *rv;

	weft_addr_set_v4mapped(rk.addr, ctx->user_ip4);
	rk.port = (__be16)ctx->user_port;
	rv = weft_rev_lookup(ctx, &rk);
	if (rv && weft_addr_is_v4mapped(rv->addr)) {
		ctx->user_ip4 = rv->addr[3];
		ctx->user_port = rv->port;
		weft_stat_inc(WEFT_STAT_REV_XLATE);
	}
	return 1;
}

/* recvmsg6 and getpeername6 (IPv4 peers of dual-stack sockets arrive here
 * v4-mapped, as the reverse key holds them). */
static __always_inline int weft_sock_rev6(struct bpf_sock_addr *ctx)
{
	struct weft_rev_key rk = {};
	struct weft_rev_val *rv;

	rk.addr[0] = ctx->user_ip6[0];
	rk.addr[1] = ctx->user_ip6[1];
	rk.addr[2] = ctx->user_ip6[2];
	rk.addr[3] = ctx->user_ip6[3];
	rk.port = (__be16)ctx->user_port;
	rv = weft_rev_lookup(ctx, &rk);
	if (rv) {
		ctx->user_ip6[0] = rv->addr[0];
		ctx->user_ip6[1] = rv->addr[1];
		ctx->user_ip6[2] = rv->addr[2];
		ctx->user_ip6[3] = rv->addr[3];
		ctx->user_port = rv->port;
		weft_stat_inc(WEFT_STAT_REV_XLATE);
	}
	return 1;
}

#endif /* WEFT_BPF_SVC_H */
