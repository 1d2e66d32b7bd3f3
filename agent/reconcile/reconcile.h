/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * reconcile: the one path that makes the datapath equal to a model. Start,
 * restart (adopting what a previous weftd pinned), SIGHUP and every
 * Kubernetes batch all call weft_rec_apply(). It runs a table of steps, in
 * this order, each of the same shape:
 *
 *	services	weft_svc, weft_be, weft_slot, weft_svc_meta, counters
 *	redirect	weft_redir_off, weft_redir_cfg (enabled, noff)
 *	policy		weft_pol_id, weft_pol, weft_pol_meta under a new epoch,
 *			the flip in weft_redir_cfg, the old generation gone
 *	endpoints	weft_ep (names, identities, interfaces)
 *	netns		weft_ns_ep (pod network namespaces)
 *	observability	weft_obs_cfg (metrics.tcp_rtt_updates)
 *	tc		the tc programs on policed endpoints' interfaces
 *
 * build: the wanted contents, from the model (and what other steps hold:
 * endpoints take their identities from the policy in force); diff: a pure
 * function of what the maps hold and what is wanted, emitting ordered
 * writes; the writes go through weft_write (reconcile/write.h), batched;
 * after a failed write the step re-reads what the maps hold, so its idea of
 * the maps stays true. A step that fails is logged and counted; the steps
 * after it still run (from what the failed one holds), so one bad part of a
 * model does not stop the rest from applying.
 */
#ifndef WEFT_RECONCILE_RECONCILE_H
#define WEFT_RECONCILE_RECONCILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/maps.h"
#include "model/model.h"
#include "reconcile/policy.h"
#include "reconcile/services.h"

struct weft_datapath;

enum weft_step_id {
	WEFT_STEP_SERVICES,
	WEFT_STEP_REDIRECT,
	WEFT_STEP_POLICY,
	WEFT_STEP_ENDPOINTS,
	WEFT_STEP_NETNS,
	WEFT_STEP_OBSERVABILITY,
	WEFT_STEP_TC,
	WEFT_STEP_COUNT,
};

#define WEFT_STEPS_ALL ((1u << WEFT_STEP_COUNT) - 1)
/* What an interface that came or went changes: pod netns, ifindexes. */
#define WEFT_STEPS_LINKS ((1u << WEFT_STEP_ENDPOINTS) | (1u << WEFT_STEP_NETNS))

struct weft_rec;

/* A reconciler over maps; dp (may be NULL: no tc step, for tests) attaches
 * the tc programs. NULL with errno. */
struct weft_rec *weft_rec_new(const struct weft_maps *maps, struct weft_datapath *dp);
void weft_rec_free(struct weft_rec *r);

/* Read what the maps hold, for every step (start: what a previous weftd
 * left). 0 or -errno (err filled). */
int weft_rec_adopt(struct weft_rec *r, char *err, size_t errlen);

/* The outcome of an apply. */
struct weft_rec_result {
	uint64_t nops;			/* map writes and deletes */
	unsigned int failed;		/* bit per enum weft_step_id that failed */
	char err[WEFT_STEP_COUNT][512];	/* each failed step's error */
};

/*
 * Bring the datapath to m, the steps of mask (WEFT_STEPS_ALL) in table
 * order. Each failure is logged once ("reconcile: policy: ..."). Returns 0
 * if every step applied, else the first step's -errno; res (may be NULL)
 * gets the details.
 */
int weft_rec_apply(struct weft_rec *r, const struct weft_model *m, unsigned int mask,
		   struct weft_rec_result *res);

/* The name of a step ("services"). */
const char *weft_rec_step_name(enum weft_step_id id);

/* What the maps hold now, as the reconciler knows it. */
const struct weft_state *weft_rec_services(const struct weft_rec *r);
const struct weft_pol_state *weft_rec_policy(const struct weft_rec *r);

#endif /* WEFT_RECONCILE_RECONCILE_H */
