/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Policy on packets, at the host-side interface of an endpoint (a pod's
 * veth peer in the node netns). Two directions of one interface:
 *   to pod   (clsact egress of the host side):  the endpoint's ingress policy
 *   from pod (clsact ingress of the host side): the endpoint's egress policy
 *
 * Every packet gets a defined verdict, in this order:
 *   - no policy (epoch 0), non-IP (ARP, ...): pass; weft_redir_cfg
 *     unreadable (no epoch): drop (WEFT_STAT_POL_NO_CFG);
 *   - truncated IPv4/IPv6 or L4 header: drop (WEFT_STAT_POL_MALFORMED);
 *   - the interface's addresses (weft_if_src, written by weftd with the
 *     programs) missing: drop (WEFT_STAT_IF_UNKNOWN);
 *   - from pod, a source that is not one of the interface's endpoint
 *     addresses: drop (WEFT_STAT_SPOOFED), before anything else is judged.
 *     Link-scoped sources (fe80::/10, ::, 0.0.0.0: neighbour discovery,
 *     DAD, DHCP), which the kernel never forwards off the link, pass the
 *     check and are judged as the interface's first endpoint address;
 *   - the endpoint side of a packet (the subject) is its source from the
 *     pod, and its destination to the pod when that is one of the
 *     interface's addresses, else (broadcast, multicast, link-local) the
 *     interface's first address. A subject without an endpoint identity in
 *     the active policy: drop (WEFT_STAT_SUBJECT_UNKNOWN);
 *   - IPv6 extension headers (hop-by-hop, routing, destination options,
 *     fragment; at most WEFT_TC_MAX_EXT) are walked to the L4 header; any
 *     other next header is judged as that protocol without ports;
 *   - ICMP/ICMPv6 errors (destination unreachable, time exceeded, parameter
 *     problem, packet too big), IPv6 neighbour discovery and MLD pass: the
 *     stack needs them; other ICMP is judged as its protocol without ports
 *     (no rule names ICMP, so a policed endpoint drops it);
 *   - fragments: the first fragment of a datagram (offset 0, more to come)
 *     records its ports in weft_frag under (source, destination, protocol,
 *     identification); a later fragment takes them from there and is then
 *     judged and tracked as the first was (the first fragment's decision
 *     applies to all). A later fragment whose first was not seen (it came
 *     first, or its record was evicted) is judged without ports: it passes
 *     only where the peer may use every port, else it is dropped
 *     (WEFT_STAT_FRAG_UNKNOWN). Nothing is held back for reordering;
 *   - TCP, UDP, SCTP (ports from its 12-byte common header, which must be
 *     whole): a tracked flow or its reply passes while its decision's epoch
 *     is active; otherwise the packet is judged, and an allowed one starts
 *     a tracked flow. Flows live in the interface's own tables, one per
 *     direction the flow was opened in (weft_ct_egress: by the endpoint,
 *     weft_ct_ingress: to it), so no other interface's flows can evict
 *     them. A flow judged again after a policy change that now denies it
 *     is dropped and forgotten. An interface without its tables judges
 *     every packet and tracks nothing (WEFT_STAT_CT_NO_TABLE).
 */
#ifndef WEFT_BPF_TC_H
#define WEFT_BPF_TC_H

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "weft/abi.h"
#include "lib/maps.h"
#include "lib/pkt.h"
#include "lib/policy.h"

#define WEFT_TC_OK 0		/* TC_ACT_OK */
#define WEFT_TC_DROP 2		/* TC_ACT_SHOT */
#define WEFT_EEXIST 17

/* Addresses an endpoint may send from without being one of its own: they
 * never leave the link (the kernel does not forward them). */
static __always_inline int weft_tc_link_scoped(const __be32 *a)
{
	if (a[0] == 0 && a[1] == 0 && a[2] == bpf_htonl(0xffff))
		return a[3] == 0;				/* 0.0.0.0 */
	if ((a[0] & bpf_htonl(0xffc00000)) == bpf_htonl(0xfe800000))
		return 1;					/* fe80::/10 */
	return !(a[0] | a[1] | a[2] | a[3]);			/* :: */
}

/* Whether a is one of the interface's endpoint addresses. */
static __always_inline int weft_if_has(const struct weft_if_src *e, const __be32 *a)
{
	for (__u32 i = 0; i < WEFT_IF_ADDRS; i++) {
		if (i >= e->naddr)
			break;
		if (e->addr[i][0] == a[0] && e->addr[i][1] == a[1] && e->addr[i][2] == a[2] &&
		    e->addr[i][3] == a[3])
			return 1;
	}
	return 0;
}

/* The address a packet is judged as on this interface (see the top), or
 * NULL for a spoofed source. */
static __always_inline const __be32 *weft_tc_subject(const struct weft_if_src *e,
						     const struct weft_pkt *p, __u8 dir)
{
	if (dir == WEFT_DIR_EGRESS) {
		if (weft_if_has(e, p->src))
			return p->src;
		return weft_tc_link_scoped(p->src) ? e->addr[0] : NULL;
	}
	return weft_if_has(e, p->dst) ? p->dst : e->addr[0];
}

/* Judge one flow of a direction (counted per rule) for the subject subj;
 * the peer is the key's other end. *unknown: the subject has no endpoint
 * identity (denied). */
static __always_inline enum weft_pol_verdict weft_tc_judge(__u32 epoch, const struct weft_ct_key *k,
							   const __be32 *subj, int *unknown)
{
	const __be32 *peer = k->dir == WEFT_DIR_INGRESS ? k->saddr : k->daddr;
	__u32 s = weft_pol_ident(epoch, subj);

	*unknown = s < WEFT_ID_EP_MIN || (s & WEFT_ID_CIDR);
	if (*unknown)
		return WEFT_PV_DENY;
	return weft_pol_decide_count(epoch, s, weft_pol_ident(epoch, peer), k->proto, k->dport,
				     k->dir);
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

/* The interface's flow table of a direction (by its weft_if_src slot), or
 * NULL. */
static __always_inline void *weft_ct_table(__u32 slot, __u8 dir)
{
	if (dir == WEFT_DIR_EGRESS)
		return bpf_map_lookup_elem(&weft_ct_egress, &slot);
	return bpf_map_lookup_elem(&weft_ct_ingress, &slot);
}

/* One event in the interface's table counters (weft_ct_cnt). */
static __always_inline void weft_ct_count(__u32 ifindex, __u8 dir, int removed)
{
	struct weft_ct_cnt *c = bpf_map_lookup_elem(&weft_ct_cnt, &ifindex);
	__u32 d = dir == WEFT_DIR_EGRESS;

	if (!c)
		return;
	if (removed)
		c->removed[d] += 1;
	else
		c->tracked[d] += 1;
}

/* A tracked flow under k in table ct (k's direction): 1 pass, 0 not
 * tracked, -1 revoked (drop). */
/* One store of a flow's whole state: a CPU that reads it sees the epoch and
 * the flags of one decision. */
static __always_inline void weft_ct_set(struct weft_ct_val *v, __u32 epoch, __u32 flags)
{
	struct weft_ct_val nv = { .epoch = epoch, .flags = flags };
	__u64 w;

	__builtin_memcpy(&w, &nv, sizeof(w));
	*(volatile __u64 *)v = w;
}

static __always_inline int weft_ct_drop(const struct weft_ct_key *k, __u32 flags)
{
	__u32 stat = (flags & WEFT_CT_F_UNKNOWN) ? WEFT_STAT_SUBJECT_UNKNOWN : WEFT_STAT_POL_REVOKED;

	weft_stat_inc(stat);
	weft_ev_drop(stat, k->dir, k->proto, k->saddr, k->daddr, k->sport, k->dport);
	return -1;
}

/* The flow k in table ct: 1 it passes (tracked, allowed at this epoch), -1
 * it is dropped (revoked, now or before), 0 not tracked. A flow tracked at
 * an older epoch is judged again: revoked, it stays as a tombstone (see
 * WEFT_CT_F_REVOKED), counted as removed once; allowed again, it lives. */
static __always_inline int weft_ct_check(void *ct, __u32 ifindex, __u32 epoch,
					 struct weft_ct_key *k, const __be32 *subj)
{
	struct weft_ct_val *v = bpf_map_lookup_elem(ct, k);
	__u32 flags;
	int unknown;

	if (!v)
		return 0;
	flags = v->flags;
	if (v->epoch == epoch)
		return (flags & WEFT_CT_F_REVOKED) ? weft_ct_drop(k, flags) : 1;
	if (weft_tc_judge(epoch, k, subj, &unknown) == WEFT_PV_DENY) {
		if (!(flags & WEFT_CT_F_REVOKED))
			weft_ct_count(ifindex, k->dir, 1);
		flags = WEFT_CT_F_REVOKED | (unknown ? WEFT_CT_F_UNKNOWN : 0);
		weft_ct_set(v, epoch, flags);
		return weft_ct_drop(k, flags);
	}
	weft_ct_set(v, epoch, 0);
	return 1;
}

static __always_inline void weft_frag_key_of(struct weft_frag_key *fk, const struct weft_pkt *p)
{
	__builtin_memcpy(fk->saddr, p->src, 16);
	__builtin_memcpy(fk->daddr, p->dst, 16);
	fk->id = p->frag_id;
	fk->proto = p->fproto;
}

/* The first fragment of a datagram: its ports, for the ones after it. */
static __always_inline void weft_frag_note(const struct weft_pkt *p)
{
	struct weft_frag_key fk = {};
	struct weft_frag_val fv = {};

	weft_frag_key_of(&fk, p);
	fv.sport = p->sport;
	fv.dport = p->dport;
	fv.proto = p->proto;
	if (bpf_map_update_elem(&weft_frag, &fk, &fv, BPF_ANY))
		weft_stat_inc(WEFT_STAT_CT_FAILED);
}

/* A later fragment: the protocol and ports its first fragment had. 1 if
 * known (p filled in), 0 if not. */
static __always_inline int weft_frag_find(struct weft_pkt *p)
{
	struct weft_frag_key fk = {};
	struct weft_frag_val *fv;

	weft_frag_key_of(&fk, p);
	fv = bpf_map_lookup_elem(&weft_frag, &fk);
	if (!fv)
		return 0;
	p->sport = fv->sport;
	p->dport = fv->dport;
	p->proto = fv->proto;
	return 1;
}

static __always_inline int weft_tc_drop(__u32 stat, __u8 dir, const struct weft_pkt *p)
{
	weft_stat_inc(stat);
	weft_ev_drop(stat, dir, p->proto, p->src, p->dst, p->sport, p->dport);
	return WEFT_TC_DROP;
}

/* dir: WEFT_DIR_INGRESS for packets to the endpoint, EGRESS from it. */
static __always_inline int weft_tc_policy(struct __sk_buff *skb, __u8 dir)
{
	struct weft_pkt p = {};
	struct weft_ct_key k = {};
	struct weft_ct_val v = {};
	__u8 odir = dir == WEFT_DIR_INGRESS ? WEFT_DIR_EGRESS : WEFT_DIR_INGRESS;
	const struct weft_if_src *e;
	const __be32 *subj;
	__u32 epoch, slot, ifindex = skb->ifindex;
	int r, unknown, noports = 0;
	void *ct = NULL, *rct;
	__s64 e64;

	e64 = weft_pol_epoch();
	if (e64 < 0)
		return WEFT_TC_DROP;
	epoch = (__u32)e64;
	if (!epoch)
		return WEFT_TC_OK;
	r = weft_parse(skb, &p);
	if (r == WEFT_P_NOT_IP)
		return WEFT_TC_OK;
	if (r == WEFT_P_BAD)
		return weft_tc_drop(WEFT_STAT_POL_MALFORMED, dir, &p);
	e = bpf_map_lookup_elem(&weft_if_src, &ifindex);
	if (!e || !e->naddr)
		return weft_tc_drop(WEFT_STAT_IF_UNKNOWN, dir, &p);
	slot = e->slot;
	subj = weft_tc_subject(e, &p, dir);
	if (!subj)
		return weft_tc_drop(WEFT_STAT_SPOOFED, dir, &p);
	if (p.pass)
		return WEFT_TC_OK;
	if (p.frag == WEFT_FRAG_FIRST && weft_tc_ported(p.proto))
		weft_frag_note(&p);
	else if (p.frag == WEFT_FRAG_LATER)
		noports = !weft_frag_find(&p);
	if (!noports && weft_tc_ported(p.proto)) {
		/* this side's flow, then a reply to the other side's */
		ct = weft_ct_table(slot, dir);
		weft_ct_fill(&k, &p, 0, dir);
		r = ct ? weft_ct_check(ct, ifindex, epoch, &k, subj) : 0;
		if (r == 0) {
			rct = weft_ct_table(slot, odir);
			weft_ct_fill(&k, &p, 1, odir);
			r = rct ? weft_ct_check(rct, ifindex, epoch, &k, subj) : 0;
			if (!ct || !rct)
				weft_stat_inc(WEFT_STAT_CT_NO_TABLE);
		}
		if (r)
			return r > 0 ? WEFT_TC_OK : WEFT_TC_DROP;
	}
	weft_ct_fill(&k, &p, 0, dir);
	switch (weft_tc_judge(epoch, &k, subj, &unknown)) {
	case WEFT_PV_DENY:
		if (unknown)
			r = WEFT_STAT_SUBJECT_UNKNOWN;
		else if (noports)
			r = WEFT_STAT_FRAG_UNKNOWN;
		else
			r = dir == WEFT_DIR_INGRESS ? WEFT_STAT_POL_TC_INGRESS_DENY :
						      WEFT_STAT_POL_TC_EGRESS_DENY;
		return weft_tc_drop(r, dir, &p);
	case WEFT_PV_AUDIT:
		weft_stat_inc(WEFT_STAT_POL_AUDIT);
		break;
	default:
		break;
	}
	if (ct) {
		v.epoch = epoch;
		r = bpf_map_update_elem(ct, &k, &v, BPF_NOEXIST);
		if (r == 0)
			weft_ct_count(ifindex, dir, 0);
		else if (r != -WEFT_EEXIST)	/* another CPU tracked it first */
			weft_stat_inc(WEFT_STAT_CT_FAILED);
	}
	return WEFT_TC_OK;
}

#endif /* WEFT_BPF_TC_H */
