/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Policy on packets, at the host-side interface of an endpoint (a pod's
 * veth peer in the node netns). Two directions of one interface:
 *   to pod   (clsact egress of the host side):  the endpoint's ingress policy
 *   from pod (clsact ingress of the host side): the endpoint's egress policy
 *
 * Every packet gets a defined verdict:
 *   - no policy (epoch 0), non-IP (ARP, ...): pass;
 *   - truncated IPv4/IPv6 or L4 header: drop (WEFT_STAT_POL_MALFORMED);
 *   - IPv6 extension headers (hop-by-hop, routing, destination options,
 *     fragment; at most WEFT_TC_MAX_EXT) are walked to the L4 header; any
 *     other next header is judged as that protocol without ports;
 *   - a non-first fragment has no ports: it is judged with port 0, i.e.
 *     passes only if the peer is allowed on every port of the protocol;
 *   - ICMP/ICMPv6 errors (destination unreachable, time exceeded, parameter
 *     problem, packet too big) and IPv6 neighbour discovery pass: the stack
 *     needs them; other ICMP is judged as its protocol without ports (no
 *     rule names ICMP, so a policed endpoint drops it);
 *   - TCP, UDP, SCTP (ports from its 12-byte common header, which must be
 *     whole): a tracked flow (weft_ct) or its reply passes while its
 *     decision's epoch is active; otherwise the packet is judged, and an
 *     allowed one starts a tracked flow. A flow judged again after a policy
 *     change that now denies it is dropped and forgotten.
 */
#ifndef WEFT_BPF_TC_H
#define WEFT_BPF_TC_H

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "weft/abi.h"
#include "lib/maps.h"
#include "lib/policy.h"

#define WEFT_TC_OK 0		/* TC_ACT_OK */
#define WEFT_TC_DROP 2		/* TC_ACT_SHOT */
#define WEFT_TC_MAX_EXT 4	/* IPv6 extension headers walked */

#define WEFT_ETH_P_IP 0x0800
#define WEFT_ETH_P_IPV6 0x86DD
#define WEFT_IP_MF 0x2000
#define WEFT_IP_OFFSET 0x1fff
#define WEFT_IPPROTO_ICMPV6 58
#define WEFT_SCTP_HDR_LEN 12	/* ports, verification tag, checksum */

static __always_inline void weft_tc_v4(__be32 *a, __be32 ip4)
{
	a[0] = 0;
	a[1] = 0;
	a[2] = bpf_htonl(0xffff);
	a[3] = ip4;
}

/* A parsed packet: addresses in the 16-byte form, ports 0 when absent. */
struct weft_pkt {
	__be32 src[4];
	__be32 dst[4];
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 nofrag;		/* 1: a non-first fragment (no L4 header) */
	__u8 pass;		/* 1: pass without a decision (ICMP error, ND) */
};

enum weft_parse { WEFT_P_OK, WEFT_P_NOT_IP, WEFT_P_BAD };

/* Protocols judged by port and tracked as flows. */
static __always_inline int weft_tc_ported(__u8 proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP;
}

static __always_inline int weft_icmp_passes(__u8 proto, __u8 type)
{
	if (proto == IPPROTO_ICMP)
		return type == 3 || type == 11 || type == 12;
	/* ICMPv6: errors 1-4, router/neighbour discovery 133-137 */
	return (type >= 1 && type <= 4) || (type >= 133 && type <= 137);
}

/* L4 at off: ports, or the ICMP type. */
static __always_inline int weft_parse_l4(struct __sk_buff *skb, __u32 off, struct weft_pkt *p)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;

	if (p->nofrag)
		return WEFT_P_OK;
	if (weft_tc_ported(p->proto)) {
		__be16 *ports = data + off;

		/* TCP, UDP: the ports; SCTP: its whole common header */
		if ((void *)(ports + 2) > end ||
		    (p->proto == IPPROTO_SCTP && data + off + WEFT_SCTP_HDR_LEN > end))
			return WEFT_P_BAD;
		p->sport = ports[0];
		p->dport = ports[1];
	} else if (p->proto == IPPROTO_ICMP || p->proto == WEFT_IPPROTO_ICMPV6) {
		__u8 *type = data + off;

		if ((void *)(type + 1) > end)
			return WEFT_P_BAD;
		p->pass = weft_icmp_passes(p->proto, *type);
	}
	return WEFT_P_OK;
}

static __always_inline int weft_parse(struct __sk_buff *skb, struct weft_pkt *p)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	__u32 off = sizeof(*eth);

	if ((void *)(eth + 1) > end)
		return WEFT_P_NOT_IP;
	if (eth->h_proto == bpf_htons(WEFT_ETH_P_IP)) {
		struct iphdr *ip = data + off;
		__u32 hl;

		if ((void *)(ip + 1) > end)
			return WEFT_P_BAD;
		hl = ip->ihl * 4;
		if (hl < sizeof(*ip))
			return WEFT_P_BAD;
		weft_tc_v4(p->src, ip->saddr);
		weft_tc_v4(p->dst, ip->daddr);
		p->proto = ip->protocol;
		p->nofrag = (ip->frag_off & bpf_htons(WEFT_IP_OFFSET)) != 0;
		return weft_parse_l4(skb, off + hl, p);
	}
	if (eth->h_proto == bpf_htons(WEFT_ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = data + off;
		__u8 nh;

		if ((void *)(ip6 + 1) > end)
			return WEFT_P_BAD;
		__builtin_memcpy(p->src, &ip6->saddr, 16);
		__builtin_memcpy(p->dst, &ip6->daddr, 16);
		nh = ip6->nexthdr;
		off += sizeof(*ip6);
		for (int i = 0; i < WEFT_TC_MAX_EXT; i++) {
			__u8 *h = data + off;

			if (nh != 0 && nh != 43 && nh != 60 && nh != 44)
				break;
			data = (void *)(long)skb->data;
			end = (void *)(long)skb->data_end;
			h = data + off;
			if ((void *)(h + 8) > end)
				return WEFT_P_BAD;
			if (nh == 44) {
				/* fragment header: 8 bytes, offset in the upper 13 bits of 2..3 */
				__be16 fo = *(__be16 *)(h + 2);

				if (fo & bpf_htons(0xfff8))
					p->nofrag = 1;
				nh = h[0];
				off += 8;
			} else {
				nh = h[0];
				off += ((__u32)h[1] + 1) * 8;
			}
			if (off > 512)
				return WEFT_P_BAD;
		}
		p->proto = nh;
		return weft_parse_l4(skb, off, p);
	}
	return WEFT_P_NOT_IP;
}

/* Judge one flow of a direction (counted per rule): subject is dst
 * (ingress) or src (egress). */
static __always_inline enum weft_pol_verdict weft_tc_judge(__u32 epoch, const struct weft_ct_key *k)
{
	const __be32 *subj = k->dir == WEFT_DIR_INGRESS ? k->daddr : k->saddr;
	const __be32 *peer = k->dir == WEFT_DIR_INGRESS ? k->saddr : k->daddr;

	return weft_pol_decide_count(epoch, weft_pol_ident(epoch, subj),
				     weft_pol_ident(epoch, peer), k->proto, k->dport, k->dir);
}

static __always_inline void weft_ct_fill(struct weft_ct_key *k, const struct weft_pkt *p, int rev,
					 __u8 dir)
{
	__builtin_memcpy(k->saddr, rev ? p->dst : p->src, 16);
	__builtin_memcpy(k->daddr, rev ? p->src : p->dst, 16);
	k->sport = rev ? p->dport : p->sport;
	k->dport = rev ? p->sport : p->dport;
	k->proto = p->proto;
	k->dir = dir;
	k->pad = 0;
}

/* A tracked flow under k: 1 pass, 0 not tracked, -1 revoked (drop). */
static __always_inline int weft_ct_check(__u32 epoch, struct weft_ct_key *k)
{
	struct weft_ct_val *v = bpf_map_lookup_elem(&weft_ct, k);

	if (!v)
		return 0;
	if (v->epoch == epoch)
		return 1;
	if (weft_tc_judge(epoch, k) == WEFT_PV_DENY) {
		bpf_map_delete_elem(&weft_ct, k);
		weft_stat_inc(WEFT_STAT_POL_REVOKED);
		weft_ev_drop(WEFT_STAT_POL_REVOKED, k->dir, k->proto, k->saddr, k->daddr, k->sport,
			     k->dport);
		return -1;
	}
	v->epoch = epoch;
	return 1;
}

/* dir: WEFT_DIR_INGRESS for packets to the endpoint, EGRESS from it. */
static __always_inline int weft_tc_policy(struct __sk_buff *skb, __u8 dir)
{
	struct weft_pkt p = {};
	struct weft_ct_key k = {};
	struct weft_ct_val v = {};
	__u32 epoch = weft_pol_epoch();
	int r;

	if (!epoch)
		return WEFT_TC_OK;
	r = weft_parse(skb, &p);
	if (r == WEFT_P_NOT_IP)
		return WEFT_TC_OK;
	if (r == WEFT_P_BAD) {
		weft_stat_inc(WEFT_STAT_POL_MALFORMED);
		return WEFT_TC_DROP;
	}
	if (p.pass)
		return WEFT_TC_OK;
	if (!p.nofrag && weft_tc_ported(p.proto)) {
		/* this side's flow, then a reply to the other side's */
		weft_ct_fill(&k, &p, 0, dir);
		r = weft_ct_check(epoch, &k);
		if (r == 0) {
			weft_ct_fill(&k, &p, 1, dir == WEFT_DIR_INGRESS ? WEFT_DIR_EGRESS : WEFT_DIR_INGRESS);
			r = weft_ct_check(epoch, &k);
		}
		if (r)
			return r > 0 ? WEFT_TC_OK : WEFT_TC_DROP;
	}
	weft_ct_fill(&k, &p, 0, dir);
	switch (weft_tc_judge(epoch, &k)) {
	case WEFT_PV_DENY:
		r = dir == WEFT_DIR_INGRESS ? WEFT_STAT_POL_TC_INGRESS_DENY : WEFT_STAT_POL_TC_EGRESS_DENY;
		weft_stat_inc(r);
		weft_ev_drop(r, dir, p.proto, p.src, p.dst, p.sport, p.dport);
		return WEFT_TC_DROP;
	case WEFT_PV_AUDIT:
		weft_stat_inc(WEFT_STAT_POL_AUDIT);
		break;
	default:
		break;
	}
	if (!p.nofrag && weft_tc_ported(p.proto)) {
		v.epoch = epoch;
		bpf_map_update_elem(&weft_ct, &k, &v, BPF_ANY);
	}
	return WEFT_TC_OK;
}

#endif /* WEFT_BPF_TC_H */
