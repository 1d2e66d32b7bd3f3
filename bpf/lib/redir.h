/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Same-node socket redirect: sockops learns established TCP sockets into
 * weft_sock under their own 4-tuple; sk_msg moves a message straight into
 * the peer socket's receive queue when the peer is a learned socket.
 *
 * Byte order (see FIELD-NOTES): in both contexts remote_port holds the port
 * in network order in the upper 16 bits of the u32, local_port is in host
 * order. Addresses are kept 16 bytes, IPv4 v4-mapped, so a dual-stack IPv6
 * socket talking IPv4 (::ffff:a.b.c.d) matches an AF_INET peer.
 *
 * Ordering: a redirected message goes to the peer's psock ingress queue,
 * which the peer reads BEFORE its TCP receive queue. So a direction that has
 * ever sent a byte through the stack (a first message that raced the peer's
 * handshake, or one sent while redirect was off) stays on the stack for the
 * life of the connection (WEFT_STAT_REDIR_PENDING): redirecting later could
 * overtake stack bytes the peer has not read yet. (sk_msg cannot look at the
 * peer's receive queue: it may not hold a reference to the peer socket.)
 * The other way round is safe: after redirect is switched off, stack bytes
 * queue behind the redirected ones, and the peer reads those first. So
 * switching off takes effect at once; switching on, for new connections.
 */
#ifndef WEFT_BPF_REDIR_H
#define WEFT_BPF_REDIR_H

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "weft/abi.h"
#include "lib/maps.h"
#include "lib/policy.h"

#ifndef AF_INET
#define AF_INET 2
#endif
/* weft_sk_state.epoch of a verdict made without an epoch: equals none */
#define WEFT_SK_EPOCH_NONE (~0ULL)
#ifndef AF_INET6
#define AF_INET6 10
#endif

static __always_inline void weft_redir_v4(__be32 *a, __be32 ip4)
{
	a[0] = 0;
	a[1] = 0;
	a[2] = bpf_htonl(0xffff);
	a[3] = ip4;
}

/* Addresses that repeat in every netns: 127/8 (also v4-mapped), ::1 and
 * link-local fe80::/10. Sockets on them are keyed with their netns cookie,
 * so a pod's loopback connection never matches another pod's. */
static __always_inline int weft_redir_ns_scoped(const __be32 *a)
{
	if (a[0] == 0 && a[1] == 0 && a[2] == bpf_htonl(0xffff))
		return (bpf_ntohl(a[3]) >> 24) == 127;
	if ((a[0] & bpf_htonl(0xffc00000)) == bpf_htonl(0xfe800000))
		return 1;
	return a[0] == 0 && a[1] == 0 && a[2] == 0 && a[3] == bpf_htonl(1);
}

/* The key of a socket, from the fields sockops and sk_msg share (a macro:
 * the verifier wants every context field read at a constant offset from
 * the context itself). Evaluates to 0, or -1 for a socket that is not IP. */
#define weft_redir_key(k, ctx)						\
	({								\
		int ret_ = 0;						\
		if ((ctx)->family == AF_INET) {				\
			weft_redir_v4((k)->local, (ctx)->local_ip4);	\
			weft_redir_v4((k)->remote, (ctx)->remote_ip4);	\
		} else if ((ctx)->family == AF_INET6) {			\
			(k)->local[0] = (ctx)->local_ip6[0];		\
			(k)->local[1] = (ctx)->local_ip6[1];		\
			(k)->local[2] = (ctx)->local_ip6[2];		\
			(k)->local[3] = (ctx)->local_ip6[3];		\
			(k)->remote[0] = (ctx)->remote_ip6[0];		\
			(k)->remote[1] = (ctx)->remote_ip6[1];		\
			(k)->remote[2] = (ctx)->remote_ip6[2];		\
			(k)->remote[3] = (ctx)->remote_ip6[3];		\
		} else {						\
			ret_ = -1;					\
		}							\
		/* local_port: host order; remote_port: network order,	\
		 * upper 16 bits. */					\
		(k)->lport = bpf_htons((__u16)(ctx)->local_port);	\
		(k)->rport = (__be16)((ctx)->remote_port >> 16);	\
		ret_;							\
	})

/* The peer's key: the same connection seen from the other end. */
static __always_inline void weft_redir_peer(const struct weft_sock_key *k, struct weft_sock_key *p)
{
	p->netns = k->netns;
	p->local[0] = k->remote[0];
	p->local[1] = k->remote[1];
	p->local[2] = k->remote[2];
	p->local[3] = k->remote[3];
	p->remote[0] = k->local[0];
	p->remote[1] = k->local[1];
	p->remote[2] = k->local[2];
	p->remote[3] = k->local[3];
	p->lport = k->rport;
	p->rport = k->lport;
	p->pad = 0;
}

/* Whether redirect is on for a connection between these two addresses:
 * the global switch, then the endpoints switched off. */
static __always_inline int weft_redir_enabled(const struct weft_sock_key *k)
{
	struct weft_redir_cfg *cfg;
	__u32 zero = 0;

	cfg = bpf_map_lookup_elem(&weft_redir_cfg, &zero);
	if (!cfg || !cfg->enabled)
		return 0;
	if (cfg->noff &&
	    (bpf_map_lookup_elem(&weft_redir_off, k->local) ||
	     bpf_map_lookup_elem(&weft_redir_off, k->remote)))
		return 0;
	return 1;
}

static __always_inline void weft_stat_add(__u32 stat, __u64 n)
{
	__u64 *c = bpf_map_lookup_elem(&weft_stats, &stat);

	if (c)
		*c += n;
}

/* The policy verdict of a connection seen from one end (k): the client's
 * egress and the server's ingress, on the server's port. */
static __always_inline __u32 weft_redir_verdict(__u32 epoch, const struct weft_sock_key *k,
						__u32 active)
{
	const __be32 *cli = active ? k->local : k->remote;
	const __be32 *srv = active ? k->remote : k->local;
	__be16 port = active ? k->rport : k->lport;
	__u32 c, s;

	if (!epoch)
		return WEFT_VERDICT_ALLOW;
	c = weft_pol_ident(epoch, cli);
	s = weft_pol_ident(epoch, srv);
	if (weft_pol_decide(epoch, c, s, IPPROTO_TCP, port, WEFT_DIR_EGRESS) == WEFT_PV_DENY ||
	    weft_pol_decide(epoch, s, c, IPPROTO_TCP, port, WEFT_DIR_INGRESS) == WEFT_PV_DENY)
		return WEFT_VERDICT_STACK;
	return WEFT_VERDICT_ALLOW;
}

/* sockops, on ACTIVE/PASSIVE_ESTABLISHED: learn the socket. A function of
 * its own (not inlined): its stack does not add to weft_obs_open's (unused
 * in redir.bpf.c, which includes this file for sk_msg). */
static __noinline __attribute__((unused)) int weft_redir_learn(struct bpf_sock_ops *ctx)
{
	struct weft_sock_key k = {};
	struct weft_sk_state *st;
	struct bpf_sock *sk;
	__s64 epoch;

	if (weft_redir_key(&k, ctx))
		return 0;
	if (weft_redir_ns_scoped(k.local))
		k.netns = bpf_get_netns_cookie(ctx);
	/* Off at connect time: the socket never gets a psock, so the pod is
	 * exactly as without weft (tcpdump sees everything). */
	if (!weft_redir_enabled(&k))
		return 0;
	sk = ctx->sk;
	if (!sk)
		return 0;
	/* Without its state a socket would have no verdict for sk_msg to
	 * keep: such a socket is not learned, so the stack (and tc) carries
	 * its bytes. */
	st = bpf_sk_storage_get(&weft_sk_state, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!st) {
		weft_stat_inc(WEFT_STAT_REDIR_NO_STATE);
		return 0;
	}
	st->active = ctx->op == BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB;
	epoch = weft_pol_epoch();
	if (epoch < 0) {
		/* no epoch: the stack, and judged again on every message */
		st->verdict = WEFT_VERDICT_STACK;
		st->epoch = WEFT_SK_EPOCH_NONE;
	} else {
		st->verdict = weft_redir_verdict((__u32)epoch, &k, st->active);
		st->epoch = (__u32)epoch;
	}
	bpf_sock_hash_update(ctx, &weft_sock, &k, BPF_ANY);
	return 0;
}

/* A redirected message in both flows (lib/obs.h made them): sent by this
 * socket, received by its peer. Only this socket's sk_msg (under its lock)
 * writes these two fields, so plain adds do. */
static __always_inline void weft_redir_flow_add(const struct weft_sock_key *k,
						const struct weft_sock_key *peer, __u32 size)
{
	struct weft_flow *f = bpf_map_lookup_elem(&weft_flow, k);

	if (f) {
		f->redir_sent += size;
		if (!(f->flags & WEFT_FLOW_REDIRECTED))
			f->flags |= WEFT_FLOW_REDIRECTED;
	}
	f = bpf_map_lookup_elem(&weft_flow, peer);
	if (f) {
		f->redir_received += size;
		if (!(f->flags & WEFT_FLOW_REDIRECTED))
			f->flags |= WEFT_FLOW_REDIRECTED;
	}
}

/* Whether this socket has ever sent a byte through the stack: anything
 * queued (write_seq != snd_una) or any data segment sent. */
static __always_inline int weft_redir_stack_used(struct bpf_sock *sk)
{
	struct tcp_sock *tp = bpf_skc_to_tcp_sock(sk);

	return !tp || tp->write_seq != tp->snd_una || tp->data_segs_out != 0;
}

/* sk_msg: redirect one message to the peer, or leave it to the stack.
 * Always SK_PASS: a message is never dropped here. */
static __always_inline int weft_redir_msg(struct sk_msg_md *msg)
{
	struct weft_sock_key k = {}, peer = {};
	struct weft_sk_state *st;
	struct bpf_sock *sk = msg->sk;
	__u32 size = msg->size;
	__s64 epoch;

	if (!sk || weft_redir_key(&k, msg))
		return SK_PASS;
	if (weft_redir_ns_scoped(k.local))
		k.netns = bpf_get_netns_cookie(msg);
	if (!weft_redir_enabled(&k)) {
		weft_stat_inc(WEFT_STAT_REDIR_OFF);
		return SK_PASS;
	}
	/* Policy: judged again when the epoch moved since the last verdict.
	 * No state means no verdict (sockops did not make it, or it is gone):
	 * never redirect without one; the stack carries it, where tc judges. */
	st = bpf_sk_storage_get(&weft_sk_state, sk, 0, 0);
	if (!st) {
		weft_stat_inc(WEFT_STAT_REDIR_NO_STATE);
		return SK_PASS;
	}
	epoch = weft_pol_epoch();
	if (epoch < 0) {
		st->verdict = WEFT_VERDICT_STACK;
		st->epoch = WEFT_SK_EPOCH_NONE;
	} else if (st->epoch != (__u64)epoch) {
		st->verdict = weft_redir_verdict((__u32)epoch, &k, st->active);
		st->epoch = (__u32)epoch;
	}
	if (st->verdict != WEFT_VERDICT_ALLOW) {
		weft_stat_inc(WEFT_STAT_REDIR_POLICY);
		return SK_PASS;
	}
	if (weft_redir_stack_used(sk)) {
		weft_stat_inc(WEFT_STAT_REDIR_PENDING);
		return SK_PASS;
	}
	weft_redir_peer(&k, &peer);
	if (bpf_msg_redirect_hash(msg, &weft_sock, &peer, BPF_F_INGRESS) != SK_PASS) {
		/* Not a learned local socket (or it just closed). */
		weft_stat_inc(WEFT_STAT_REDIR_NO_PEER);
		return SK_PASS;
	}
	weft_stat_inc(WEFT_STAT_REDIR_MSGS);
	weft_stat_add(WEFT_STAT_REDIR_BYTES, size);
	weft_redir_flow_add(&k, &peer, size);
	return SK_PASS;
}

#endif /* WEFT_BPF_REDIR_H */
