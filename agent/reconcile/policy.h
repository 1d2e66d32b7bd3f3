/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * policy: `policies:` compiled into weft_pol_id (address -> identity) and
 * weft_pol (subject, peer, proto, direction, port block -> allow/deny/
 * selected; an LPM_TRIE: a port range is its aligned blocks, see resolve()).
 *
 * As for services, deciding is separate from doing: weft_pol_build() is a
 * pure function of the config; weft_pol_diff() emits the map writes;
 * weft_pol_apply() does them. Atomicity comes from the epoch (abi.h): a
 * changed policy is written whole under a new epoch, the epoch is flipped
 * with one write to weft_redir_cfg.policy_epoch, and the old generation is
 * deleted after. An unchanged policy writes nothing.
 *
 * Identities: every distinct (namespace, label set) of the endpoints gets
 * WEFT_ID_EP_MIN + fnv1a(namespace, sorted labels) % range, and every
 * distinct CIDR WEFT_ID_CIDR | fnv1a(prefix); collisions move to the next
 * free value in sorted order. So the same config always compiles to the same
 * ids, also across restarts.
 */
#ifndef WEFT_POLICY_H
#define WEFT_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/model.h"
#include "reconcile/services.h"
#include "reconcile/write.h"
#include "weft/abi.h"

/* Keys are held with epoch 0; the epoch is filled in when written. */
struct weft_pol_id_ent {
	struct weft_pol_id_key k;
	struct weft_pol_id_val v;
};

struct weft_pol_ent {
	struct weft_pol_key k;
	struct weft_pol_val v;
};

/* A policy the compiler left out, alone: the rest of the policies apply. */
struct weft_pol_reject {
	size_t policy;			/* index in the model's policies */
	char reason[32];		/* "map_budget": metrics label */
	char msg[600];			/* for people, naming the policy */
};

struct weft_pol_state {
	uint64_t epoch;			/* active epoch (weft_redir_cfg.policy_epoch) */
	struct weft_pol_id_ent *ids;	/* sorted by key */
	size_t nids;
	struct weft_pol_ent *ents;	/* sorted by key */
	size_t nents;
	struct weft_pol_meta *metas;	/* names, by policy index (weft_pol_meta) */
	size_t nmetas;
	/* What weft_redir_cfg holds but the epoch: the value the flip writes
	 * (with policy_epoch = epoch). The reconciler sets it in a wanted
	 * state; read from the map with the rest. */
	struct weft_redir_cfg flip;
	/* Entries of other epochs (an apply cut short): deleted by the next
	 * apply. Keys with their epoch. Empty in a built state. */
	struct weft_pol_id_key *stale_ids;
	size_t nstale_ids;
	struct weft_pol_key *stale_ents;
	size_t nstale_ents;
	struct weft_pol_meta_key *stale_metas;
	size_t nstale_metas;
	/* Policies of the model left out (built state only; never in the maps):
	 * each one whose entries do not fit what is left of the budget. */
	struct weft_pol_reject *rejects;
	size_t nrejects;
};

void weft_pol_free(struct weft_pol_state *st);

/* Identity of an endpoint's (namespace, labels), as weft_pol_build gives it
 * when no other label set collides with it and no CIDR of the policies
 * holds its address (one that does adds those CIDRs to the name hashed). */
uint32_t weft_pol_ep_hash(const struct weft_endpoint *ep);

/*
 * Compile cfg. out->epoch is cur->epoch when the result equals cur, else the
 * next one. A config without policies compiles to no entries. Limits: each
 * map must hold two generations (datapath.max_policy, max_idents). A policy
 * whose entries (its rules' port blocks, counted before blocks shared with
 * other rules merge: a bound of what it writes) do not fit in what the
 * policies before it left of
 * max_policy / 2 is left out alone (out->rejects, with a message naming it:
 * "weft.yaml:14:7: policy default/big: ..." or "NetworkPolicy ns/name:
 * ..."); as if it were absent, the rest compiles. 0 or -errno (err filled).
 */
int weft_pol_build(const struct weft_model *cfg, const struct weft_pol_state *cur,
		   struct weft_pol_state *out, char *err, size_t errlen);

/* The identity an address has in a state (LPM over its ids), WEFT_ID_WORLD
 * if none. */
uint32_t weft_pol_ident(const struct weft_pol_state *st, const struct weft_ip *ip);

/* The identity of a local endpoint's address (its exact /32 or /128 entry),
 * 0 if the state has none. O(log n). */
uint32_t weft_pol_ep_ident(const struct weft_pol_state *st, const struct weft_ip *ip);

/* WEFT_EP_INGRESS_POLICED / WEFT_EP_EGRESS_POLICED of an identity: the
 * default-deny markers the state holds for it. O(log n). */
uint32_t weft_pol_policed(const struct weft_pol_state *st, uint32_t id);

/* Order: stale deletes; if the epoch changes: every id, entry and policy
 * name (weft_pol_meta) under the new epoch, the flip (weft_redir_cfg =
 * want->flip with the new epoch), the old generation's deletes, then the
 * decision counters of other epochs (a WEFT_OP_PRUNE of weft_pol_cnt). */
int weft_pol_diff(const struct weft_pol_state *cur, const struct weft_pol_state *want,
		  weft_op_fn fn, void *ctx);

/* Read the active generation (and stale entries) from the maps. */
int weft_pol_read(const struct weft_maps *maps, struct weft_pol_state *out, char *err,
		  size_t errlen);

/* Write the diff (the flip keeps the other fields of weft_redir_cfg as the
 * map holds them now). *nops gets the writes and deletes done. */
int weft_pol_apply(const struct weft_maps *maps, const struct weft_pol_state *cur,
		   const struct weft_pol_state *want, uint64_t *nops, char *err, size_t errlen);

#endif /* WEFT_POLICY_H */
