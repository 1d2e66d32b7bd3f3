/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Observability in sockops (abi.h, "Observability"): for every TCP socket of
 * the attached cgroup, whether or not redirect is on.
 *
 *   TCP_CONNECT_CB       connect start into weft_sk_obs; STATE_CB on, so a
 *                        connect that never establishes is seen (failed).
 *   ACTIVE/PASSIVE_      the weft_flow entry (service from weft_rev by the
 *   ESTABLISHED_CB       socket cookie; the server copies it from a local
 *                        client's flow), `opened` in weft_edge, the connect
 *                        time and the handshake RTT into weft_hist, then
 *                        STATE_CB on, and RTT_CB unless weft_obs_cfg says
 *                        WEFT_OBS_NO_RTT_UPDATES.
 *   RTT_CB               the flow's byte, segment and RTT sample; an RTT
 *                        sample into weft_hist.
 *   STATE_CB -> CLOSE    final totals, folded into weft_edge, flow deleted.
 *
 * Bytes are payload only: sent = tcp_sock bytes_sent - bytes_retrans (no
 * SYN, no FIN, no retransmission), received = bytes_received less the FIN
 * (SOCK_DONE: a FIN was taken in). Redirected bytes never reach TCP; sk_msg
 * adds them to redir_sent / redir_received (lib/redir.h). Istio's meaning
 * for both reporters: received = client to server, sent = server to client.
 */
#ifndef WEFT_BPF_OBS_H
#define WEFT_BPF_OBS_H

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "weft/abi.h"
#include "lib/events.h"
#include "lib/hist.h"
#include "lib/maps.h"
#include "lib/redir.h"

#define WEFT_ECONNRESET 104

/* The zero value a new histogram starts from (too large for the stack). */
static const struct weft_hist weft_hist_zero;

/* This socket's key, as in weft_sock and weft_flow. 0 or -1 (not IP). */
static __always_inline int weft_obs_key(struct bpf_sock_ops *ctx, struct weft_sock_key *k)
{
	if (weft_redir_key(k, ctx))
		return -1;
	if (weft_redir_ns_scoped(k->local))
		k->netns = bpf_get_netns_cookie(ctx);
	return 0;
}

/* The edge a socket reports on: client and server after translation. */
static __always_inline void weft_edge_of(struct weft_edge_key *ek, const struct weft_sock_key *k,
					 int active, __u32 svc_id)
{
	if (active) {
		__builtin_memcpy(ek->client, k->local, 16);
		__builtin_memcpy(ek->server, k->remote, 16);
		ek->server_port = k->rport;
		ek->reporter = WEFT_REPORTER_SOURCE;
	} else {
		__builtin_memcpy(ek->client, k->remote, 16);
		__builtin_memcpy(ek->server, k->local, 16);
		ek->server_port = k->lport;
		ek->reporter = WEFT_REPORTER_DESTINATION;
	}
	ek->svc_id = svc_id;
	ek->proto = IPPROTO_TCP;
}

/* The edge's totals, made zero on first use; NULL if the map is full. */
static __always_inline struct weft_edge_val *weft_edge_get(const struct weft_edge_key *ek)
{
	struct weft_edge_val zero = {};
	struct weft_edge_val *v = bpf_map_lookup_elem(&weft_edge, ek);

	if (v)
		return v;
	bpf_map_update_elem(&weft_edge, ek, &zero, BPF_NOEXIST);
	v = bpf_map_lookup_elem(&weft_edge, ek);
	if (!v)
		weft_stat_inc(WEFT_STAT_EDGE_FULL);
	return v;
}

/* One latency sample (microseconds) into its per-CPU histogram. */
static __always_inline int weft_hist_add(const __be32 *server, __u32 svc_id, __u32 kind,
				    __u32 reporter, __u64 us)
{
	struct weft_hist_key hk = {};
	struct weft_hist *h;
	__u32 b;

	__builtin_memcpy(hk.server, server, 16);
	hk.svc_id = svc_id;
	hk.kind = kind;
	hk.reporter = reporter;
	h = bpf_map_lookup_elem(&weft_hist, &hk);
	if (!h) {
		bpf_map_update_elem(&weft_hist, &hk, &weft_hist_zero, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&weft_hist, &hk);
		if (!h) {
			weft_stat_inc(WEFT_STAT_HIST_FULL);
			return 0;
		}
	}
	b = weft_hist_bucket(us);
	/* Keep the bound check: the compiler knows b < 56, the verifier not. */
	asm volatile("" : "+r"(b));
	if (b < WEFT_HIST_BUCKETS)
		h->bucket[b] += 1;
	h->sum_us += us;
	h->count += 1;
	return 0;
}

/* The counters of the socket now, into its flow (payload bytes, see top). */
static __always_inline void weft_obs_sample(struct bpf_sock_ops *ctx, struct weft_flow *f)
{
	struct bpf_sock *sk = ctx->sk;
	struct tcp_sock *tp;

	f->segs_out = ctx->segs_out;
	f->segs_in = ctx->segs_in;
	f->retrans = ctx->total_retrans;
	f->srtt_us = ctx->srtt_us >> 3;
	if (!sk)
		return;
	tp = bpf_skc_to_tcp_sock(sk);
	if (!tp)
		return;
	f->bytes_acked = tp->bytes_sent - tp->bytes_retrans;
	f->bytes_received = tp->bytes_received -
			    ((tp->inet_conn.icsk_inet.sk.__sk_common.skc_flags >> SOCK_DONE) & 1);
}

/* Client-to-server and server-to-client bytes of a flow. */
static __always_inline void weft_flow_bytes(const struct weft_flow *f, __u64 *c2s, __u64 *s2c)
{
	__u64 out = f->bytes_acked + f->redir_sent, in = f->bytes_received + f->redir_received;

	*c2s = (f->flags & WEFT_FLOW_ACTIVE) ? out : in;
	*s2c = (f->flags & WEFT_FLOW_ACTIVE) ? in : out;
}

static __always_inline void weft_ev_flow(__u8 type, const struct weft_edge_key *ek,
					 const struct weft_sock_key *k, __u32 reason, __u64 c2s,
					 __u64 s2c, __u64 dur)
{
	struct weft_event *e = weft_ev_new(type, IPPROTO_TCP);

	if (!e)
		return;
	e->reporter = ek->reporter;
	e->reason = reason;
	__builtin_memcpy(e->saddr, ek->client, sizeof(e->saddr));
	__builtin_memcpy(e->daddr, ek->server, sizeof(e->daddr));
	e->sport = ek->reporter == WEFT_REPORTER_SOURCE ? k->lport : k->rport;
	e->dport = ek->server_port;
	e->svc_id = ek->svc_id;
	e->received_bytes = c2s;
	e->sent_bytes = s2c;
	e->duration_ns = dur;
	bpf_ringbuf_submit(e, 0);
}

/* TCP_CONNECT_CB: remember when the SYN went out; see the close. */
static __always_inline void weft_obs_connect(struct bpf_sock_ops *ctx)
{
	struct bpf_sock *sk = ctx->sk;
	struct weft_sk_obs *so;

	if (!sk)
		return;
	so = bpf_sk_storage_get(&weft_sk_obs, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (so)
		so->connect_ns = bpf_ktime_get_ns();
	bpf_sock_ops_cb_flags_set(ctx, ctx->bpf_sock_ops_cb_flags | BPF_SOCK_OPS_STATE_CB_FLAG);
}

/* The service a client socket was translated for (weft_rev by cookie). */
static __always_inline void weft_obs_service(struct bpf_sock_ops *ctx,
					     const struct weft_sock_key *k, struct weft_flow *f)
{
	struct weft_rev_key rk = {};
	struct weft_svc_key sk = {};
	struct weft_rev_val *rv;
	struct weft_svc_val *sv;

	rk.cookie = bpf_get_socket_cookie(ctx);
	__builtin_memcpy(rk.addr, k->remote, 16);
	rk.port = k->rport;
	rv = bpf_map_lookup_elem(&weft_rev, &rk);
	if (!rv)
		return;
	__builtin_memcpy(sk.addr, rv->addr, 16);
	sk.port = rv->port;
	sk.proto = IPPROTO_TCP;
	sv = bpf_map_lookup_elem(&weft_svc, &sk);
	if (!sv)
		return;
	__builtin_memcpy(f->vip, rv->addr, 16);
	f->vport = rv->port;
	f->svc_id = sv->id;
	f->flags |= WEFT_FLOW_SERVICE;
}

/* ACTIVE/PASSIVE_ESTABLISHED_CB: the flow, `opened`, the first samples. */
static __noinline int weft_obs_open(struct bpf_sock_ops *ctx)
{
	struct weft_sock_key k = {};
	struct weft_edge_key ek = {};
	struct weft_flow f = {};
	struct weft_edge_val *ev;
	struct weft_flow *pf;
	struct weft_sk_obs *so;
	struct bpf_sock *sk = ctx->sk;
	int active = ctx->op == BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB;
	__u64 now = bpf_ktime_get_ns(), connect_ns = 0;
	struct weft_obs_cfg *cfg;
	__u32 zero = 0, cbf;

	if (!sk || weft_obs_key(ctx, &k))
		return 0;
	f.start_ns = now;
	f.established_ns = now;
	f.netns = bpf_get_netns_cookie(ctx);
	if (active) {
		f.flags = WEFT_FLOW_ACTIVE;
		weft_obs_service(ctx, &k, &f);
		so = bpf_sk_storage_get(&weft_sk_obs, sk, 0, 0);
		if (so && so->connect_ns && so->connect_ns <= now) {
			connect_ns = so->connect_ns;
			f.start_ns = connect_ns;
		}
	} else {
		/* A local client established first: its service is ours. */
		struct weft_sock_key pk = {};

		weft_redir_peer(&k, &pk);
		pf = bpf_map_lookup_elem(&weft_flow, &pk);
		if (pf && (pf->flags & WEFT_FLOW_SERVICE)) {
			__builtin_memcpy(f.vip, pf->vip, 16);
			f.vport = pf->vport;
			f.svc_id = pf->svc_id;
			f.flags |= WEFT_FLOW_SERVICE;
		}
	}
	weft_obs_sample(ctx, &f);
	bpf_map_update_elem(&weft_flow, &k, &f, BPF_ANY);
	weft_edge_of(&ek, &k, active, f.svc_id);
	ev = weft_edge_get(&ek);
	if (ev)
		__sync_fetch_and_add(&ev->opened, 1);
	if (connect_ns)
		weft_hist_add(ek.server, f.svc_id, WEFT_HIST_CONNECT, ek.reporter,
			      (now - connect_ns) / 1000);
	if (f.srtt_us)
		weft_hist_add(ek.server, f.svc_id, WEFT_HIST_RTT, ek.reporter, f.srtt_us);
	cfg = bpf_map_lookup_elem(&weft_obs_cfg, &zero);
	cbf = BPF_SOCK_OPS_STATE_CB_FLAG;
	if (!cfg || !(cfg->flags & WEFT_OBS_NO_RTT_UPDATES))
		cbf |= BPF_SOCK_OPS_RTT_CB_FLAG;
	bpf_sock_ops_cb_flags_set(ctx, ctx->bpf_sock_ops_cb_flags | cbf);
	weft_ev_flow(WEFT_EV_OPEN, &ek, &k, 0, 0, 0, connect_ns ? now - connect_ns : 0);
	return 0;
}

/* RTT_CB: the flow's counters and one RTT sample. */
static __noinline int weft_obs_rtt(struct bpf_sock_ops *ctx)
{
	struct weft_sock_key k = {};
	struct weft_flow *f;
	int active;

	if (weft_obs_key(ctx, &k))
		return 0;
	f = bpf_map_lookup_elem(&weft_flow, &k);
	if (!f)
		return 0;
	weft_obs_sample(ctx, f);
	active = f->flags & WEFT_FLOW_ACTIVE;
	if (f->srtt_us)
		weft_hist_add(active ? k.remote : k.local, f->svc_id, WEFT_HIST_RTT,
			      active ? WEFT_REPORTER_SOURCE : WEFT_REPORTER_DESTINATION, f->srtt_us);
	return 0;
}

static __always_inline int weft_obs_sk_err(struct bpf_sock_ops *ctx)
{
	struct bpf_sock *sk = ctx->sk;
	struct tcp_sock *tp;

	if (!sk)
		return 0;
	tp = bpf_skc_to_tcp_sock(sk);
	return tp ? tp->inet_conn.icsk_inet.sk.sk_err : 0;
}

/* A client socket closed before it was established: `failed`. */
static __always_inline void weft_obs_failed(struct bpf_sock_ops *ctx,
					    const struct weft_sock_key *k)
{
	struct weft_edge_key ek = {};
	struct weft_flow f = {};
	struct weft_edge_val *ev;

	weft_obs_service(ctx, k, &f);
	weft_edge_of(&ek, k, 1, f.svc_id);
	ev = weft_edge_get(&ek);
	if (ev)
		__sync_fetch_and_add(&ev->failed, 1);
	weft_ev_flow(WEFT_EV_FAIL, &ek, k, weft_obs_sk_err(ctx), 0, 0, 0);
}

/* STATE_CB to TCP_CLOSE: fold the flow into its edge, delete it. */
static __noinline int weft_obs_close(struct bpf_sock_ops *ctx)
{
	struct weft_sock_key k = {};
	struct weft_edge_key ek = {};
	struct weft_edge_val *ev;
	struct weft_flow *f;
	__u32 old = ctx->args[0];
	__u64 c2s, s2c;
	int err;

	if (old == BPF_TCP_CLOSE || old == BPF_TCP_LISTEN || weft_obs_key(ctx, &k))
		return 0;
	if (old == BPF_TCP_SYN_SENT) {
		weft_obs_failed(ctx, &k);
		return 0;
	}
	f = bpf_map_lookup_elem(&weft_flow, &k);
	if (!f) {
		weft_stat_inc(WEFT_STAT_FLOW_MISSING);
		return 0;
	}
	weft_obs_sample(ctx, f);
	weft_flow_bytes(f, &c2s, &s2c);
	err = weft_obs_sk_err(ctx);
	weft_edge_of(&ek, &k, f->flags & WEFT_FLOW_ACTIVE, f->svc_id);
	ev = weft_edge_get(&ek);
	if (ev) {
		__sync_fetch_and_add(&ev->closed, 1);
		if (err == WEFT_ECONNRESET)
			__sync_fetch_and_add(&ev->reset, 1);
		__sync_fetch_and_add(&ev->received_bytes, c2s);
		__sync_fetch_and_add(&ev->sent_bytes, s2c);
		if (f->flags & WEFT_FLOW_REDIRECTED)
			__sync_fetch_and_add(&ev->redirected, 1);
	}
	weft_ev_flow(WEFT_EV_CLOSE, &ek, &k, err, c2s, s2c, bpf_ktime_get_ns() - f->established_ns);
	bpf_map_delete_elem(&weft_flow, &k);
	return 0;
}

#endif /* WEFT_BPF_OBS_H */
