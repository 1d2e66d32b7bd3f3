// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Socket iterators that close connections to backends that left their
 * service (issue 14): weftd fills weft_gone after an apply that removed
 * backends, runs both iterators once, and empties it. A socket is
 * destroyed only if weft_rev says it reached that backend through that
 * service address (a connection made to a pod IP directly is left alone):
 * TCP gets a reset (the application sees ECONNABORTED), a connected UDP
 * socket an error on its next call. Needs bpf_sock_destroy (Linux 6.5);
 * weftd does not load these programs on a kernel without it.
 *
 * (Its name sorts after maps.bpf.c on purpose: bpftool's linker failed to
 * relocate the extern maps of an object linked before the one that defines
 * them, "map relo failed to find map for section '.maps'".)
 */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "weft/abi.h"
#include "lib/maps.h"

#define AF_INET 2
#define AF_INET6 10

extern int bpf_sock_destroy(struct sock_common *sk) __ksym __weak;

static __always_inline int gone_check(struct sock_common *skc, __u8 proto)
{
	struct weft_rev_key rk = {};
	struct weft_gone_key gk = {};
	struct weft_rev_val *rv;

	if (skc->skc_family == AF_INET) {
		rk.addr[2] = bpf_htonl(0xffff);
		rk.addr[3] = skc->skc_daddr;
	} else if (skc->skc_family == AF_INET6) {
		__builtin_memcpy(rk.addr, skc->skc_v6_daddr.in6_u.u6_addr32, sizeof(rk.addr));
	} else {
		return 0;
	}
	rk.port = skc->skc_dport;
	rk.cookie = bpf_get_socket_cookie(skc);
	rv = bpf_map_lookup_elem(&weft_rev, &rk);
	if (!rv)
		return 0;
	__builtin_memcpy(gk.vip, rv->addr, sizeof(gk.vip));
	__builtin_memcpy(gk.addr, rk.addr, sizeof(gk.addr));
	gk.vport = rv->port;
	gk.port = rk.port;
	gk.proto = proto;
	if (!bpf_map_lookup_elem(&weft_gone, &gk))
		return 0;
	if (bpf_sock_destroy(skc) == 0)
		weft_stat_inc(WEFT_STAT_GONE_DESTROYED);
	return 0;
}

SEC("iter/tcp")
int weft_gone_tcp(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;

	return skc ? gone_check(skc, IPPROTO_TCP) : 0;
}

SEC("iter/udp")
int weft_gone_udp(struct bpf_iter__udp *ctx)
{
	struct udp_sock *us = ctx->udp_sk;

	return us ? gone_check((struct sock_common *)us, IPPROTO_UDP) : 0;
}
