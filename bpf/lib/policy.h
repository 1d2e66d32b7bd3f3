/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * L4 policy decisions over the maps the agent compiles (see abi.h):
 * weft_pol_id turns an address into an identity, weft_pol holds what each
 * local endpoint (subject) allows or denies per direction, peer, protocol
 * and port. Everything is read under the active epoch, one value read once
 * per decision, so a decision sees one whole generation of the policy.
 *
 * Decision for (subject, peer, proto, port, direction), two lookups of
 * weft_pol (peer, then any peer), each the longest port block holding the
 * port (the agent resolved overlapping ranges into each block's value):
 *   1. any DENY among the two: deny;
 *   2. any ALLOW among them: allow;
 *   3. the subject is selected in that direction: deny (default deny);
 *   4. else allow (an endpoint no policy selects allows everything).
 * A deny whose entry is in audit mode is counted and allowed.
 */
#ifndef WEFT_BPF_POLICY_H
#define WEFT_BPF_POLICY_H

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "weft/abi.h"
#include "lib/events.h"
#include "lib/maps.h"

#ifndef EPERM
#define EPERM 1
#endif

enum weft_pol_verdict {
	WEFT_PV_ALLOW,	/* allowed by a rule, or not subject to policy */
	WEFT_PV_DENY,	/* denied by a deny rule or by default deny */
	WEFT_PV_AUDIT,	/* would be denied; audit mode lets it pass */
};

/* The active policy epoch (0: no policy), or -1 when weft_redir_cfg cannot
 * be read (an array's only entry: it should not happen), counted: the
 * caller denies (fail closed), since "no epoch" must not read as "no
 * policy". A value, not an out-parameter: it stays in a register. */
static __always_inline __s64 weft_pol_epoch(void)
{
	struct weft_redir_cfg *cfg;
	__u32 zero = 0;

	cfg = bpf_map_lookup_elem(&weft_redir_cfg, &zero);
	if (!cfg) {
		weft_stat_inc(WEFT_STAT_POL_NO_CFG);
		return -1;
	}
	return (__u32)cfg->policy_epoch;
}

/* Identity of an address (16-byte form) under an epoch. */
static __always_inline __u32 weft_pol_ident(__u32 epoch, const __be32 *addr)
{
	struct weft_pol_id_key k = {};
	struct weft_pol_id_val *v;

	k.prefixlen = 32 + 128;
	k.epoch = bpf_htonl(epoch);
	k.addr[0] = addr[0];
	k.addr[1] = addr[1];
	k.addr[2] = addr[2];
	k.addr[3] = addr[3];
	v = bpf_map_lookup_elem(&weft_pol_id, &k);
	return v ? v->id : WEFT_ID_WORLD;
}

/* What the lookups of one decision found: the rule of each kind. */
struct weft_pol_found {
	__u32 deny, audit, allow;	/* rule, or WEFT_RULE_NONE */
};

/* One lookup of the decision (the longest block of k's port); folds it
 * into *f. */
static __always_inline void weft_pol_probe(struct weft_pol_key *k, __u32 peer,
					   struct weft_pol_found *f)
{
	struct weft_pol_val *v;

	k->peer = peer;
	v = bpf_map_lookup_elem(&weft_pol, k);
	if (!v)
		return;
	if (v->action == WEFT_POL_DENY) {
		if (v->audit)
			f->audit = v->rule;
		else
			f->deny = v->rule;
	} else if (v->action == WEFT_POL_ALLOW) {
		f->allow = v->rule;
	}
}

/* Count one decision of a rule (not for WEFT_RULE_NONE). */
static __always_inline void weft_pol_count(__u32 epoch, __u32 subject, __u32 rule, __u8 dir,
					   __u8 verdict)
{
	struct weft_pol_cnt_key ck = {};
	__u64 zero = 0, *c;

	if (rule == WEFT_RULE_NONE)
		return;
	ck.epoch = epoch;
	ck.subject = subject;
	ck.rule = rule;
	ck.dir = dir;
	ck.verdict = verdict;
	c = bpf_map_lookup_elem(&weft_pol_cnt, &ck);
	if (!c) {
		bpf_map_update_elem(&weft_pol_cnt, &ck, &zero, BPF_NOEXIST);
		c = bpf_map_lookup_elem(&weft_pol_cnt, &ck);
	}
	if (c)
		*c += 1;
}

/* The decision; *rule gets the deciding rule (WEFT_RULE_NONE if none). */
static __always_inline enum weft_pol_verdict weft_pol_judge(__u32 epoch, __u32 subject,
							    __u32 peer, __u8 proto, __be16 port,
							    __u8 dir, __u32 *rule)
{
	struct weft_pol_found f = { WEFT_RULE_NONE, WEFT_RULE_NONE, WEFT_RULE_NONE };
	struct weft_pol_key k = {};
	struct weft_pol_val *v;

	*rule = WEFT_RULE_NONE;
	if (!epoch)
		return WEFT_PV_ALLOW;
	k.prefixlen = WEFT_POL_FULL_BITS;
	k.epoch = epoch;
	k.subject = subject;
	k.proto = proto;
	k.dir = dir;
	k.port = port;
	weft_pol_probe(&k, peer, &f);
	weft_pol_probe(&k, WEFT_ID_ANY, &f);
	if (f.deny != WEFT_RULE_NONE) {
		*rule = f.deny;
		return WEFT_PV_DENY;
	}
	if (f.audit != WEFT_RULE_NONE) {
		*rule = f.audit;
		return WEFT_PV_AUDIT;
	}
	if (f.allow != WEFT_RULE_NONE) {
		*rule = f.allow;
		return WEFT_PV_ALLOW;
	}
	k.peer = WEFT_ID_ANY;
	k.port = 0;
	k.proto = 0;
	v = bpf_map_lookup_elem(&weft_pol, &k);
	if (!v || v->action != WEFT_POL_SELECTED)
		return WEFT_PV_ALLOW;
	*rule = v->rule;
	return v->audit ? WEFT_PV_AUDIT : WEFT_PV_DENY;
}

/* The decision without counting (sockops, sk_msg: they never drop). */
static __always_inline enum weft_pol_verdict weft_pol_decide(__u32 epoch, __u32 subject,
							     __u32 peer, __u8 proto, __be16 port,
							     __u8 dir)
{
	__u32 rule;

	return weft_pol_judge(epoch, subject, peer, proto, port, dir, &rule);
}

/* The decision, counted per rule. */
static __always_inline enum weft_pol_verdict weft_pol_decide_count(__u32 epoch, __u32 subject,
								   __u32 peer, __u8 proto,
								   __be16 port, __u8 dir)
{
	__u32 rule;
	enum weft_pol_verdict r = weft_pol_judge(epoch, subject, peer, proto, port, dir, &rule);

	weft_pol_count(epoch, subject, rule, dir,
		       r == WEFT_PV_DENY ? WEFT_PV_CNT_DENY :
		       r == WEFT_PV_AUDIT ? WEFT_PV_CNT_AUDIT : WEFT_PV_CNT_ALLOW);
	return r;
}

/*
 * Egress at connect/sendmsg, on the real destination (after service
 * translation). The client endpoint is its socket's bound source address;
 * an unbound socket (no source yet) is its pod's endpoint, found by the
 * socket's netns cookie in weft_ns_ep (the address of the destination's
 * family). A socket of an unknown netns is left to tc. Returns 1 to let
 * the call proceed, 0 to fail it with EPERM (a policy refusal is "operation
 * not permitted", distinct from ECONNREFUSED, which weft uses for a service
 * without backends).
 */
static __always_inline int weft_pol_connect(const __be32 *src, const __be32 *dst, __u8 proto,
					    __be16 dport, struct bpf_sock_addr *ctx)
{
	struct weft_ns_ep *ne;
	__u32 epoch, subject;
	__u64 netns;
	__s64 e;

	e = weft_pol_epoch();
	if (e < 0) {
		bpf_set_retval(-EPERM);
		return 0;
	}
	epoch = (__u32)e;
	if (!epoch)
		return 1;
	if (!(src[0] | src[1] | src[2] | src[3])) {
		netns = bpf_get_netns_cookie(ctx);
		ne = bpf_map_lookup_elem(&weft_ns_ep, &netns);
		if (!ne)
			return 1;
		if (dst[0] == 0 && dst[1] == 0 && dst[2] == bpf_htonl(0xffff))
			src = ne->addr4;
		else
			src = ne->addr6;
		if (!(src[0] | src[1] | src[2] | src[3]))
			return 1;
	}
	subject = weft_pol_ident(epoch, src);
	if (subject < WEFT_ID_EP_MIN || (subject & WEFT_ID_CIDR))
		return 1;	/* not a local endpoint */
	switch (weft_pol_decide_count(epoch, subject, weft_pol_ident(epoch, dst), proto, dport,
				      WEFT_DIR_EGRESS)) {
	case WEFT_PV_DENY:
		weft_stat_inc(WEFT_STAT_POL_EGRESS_DENY);
		weft_ev_drop(WEFT_STAT_POL_EGRESS_DENY, WEFT_DIR_EGRESS, proto, src, dst, 0, dport);
		bpf_set_retval(-EPERM);
		return 0;
	case WEFT_PV_AUDIT:
		weft_stat_inc(WEFT_STAT_POL_AUDIT);
		return 1;
	default:
		return 1;
	}
}

#endif /* WEFT_BPF_POLICY_H */
