/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * state: the service ports of a node as the maps hold them.
 *
 * Deciding is separate from doing: weft_state_build() turns a config (and
 * what the maps hold now, for stable ids and Maglev tables) into the wanted
 * state; weft_diff() compares two states and emits the map writes, in an
 * order that never lets a connect see a half-written service; write.c does
 * the writes. The same path serves start, restart, reload and
 * Kubernetes events (reconcile.c runs it as its first step).
 */
#ifndef WEFT_STATE_H
#define WEFT_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/model.h"
#include "lib/maps.h"
#include "reconcile/write.h"
#include "weft/abi.h"

/* One service port: its weft_svc entry and everything keyed by its id. */
struct weft_sp {
	struct weft_svc_key key;
	struct weft_svc_val val;	/* val.nslots == nslots */
	struct weft_svc_meta meta;
	struct weft_svc_res res;	/* when val.flags has WEFT_SVC_F_RES */
	struct weft_backend *be;	/* sorted by idx */
	size_t nbe;
	uint32_t *slots;		/* backend idx of each slot */
	size_t nslots;
};

struct weft_state {
	struct weft_sp *sp;		/* sorted by key (memcmp) */
	size_t n;
	/* Ids that have entries in weft_be, weft_slot or weft_svc_meta but no
	 * weft_svc entry (an apply interrupted by a crash): only key-less
	 * leftovers to delete. Empty in a built state. */
	struct weft_sp *orphans;
	size_t norphans;
};

void weft_state_free(struct weft_state *st);

/* qsort/bsearch order of service ports (by key). */
int weft_sp_cmp(const void *a, const void *b);

/* Find a service port by key; NULL if absent. */
const struct weft_sp *weft_state_find(const struct weft_state *st, const struct weft_svc_key *key);

/*
 * Build the wanted state from a config. cur (may be empty) keeps ids and
 * backend indexes stable and gives Maglev its previous tables. Limits are
 * checked against the config's map sizes; an error names the map, the size
 * and the config key that sets it. 0 or -errno (err filled).
 */
int weft_state_build(const struct weft_model *cfg, const struct weft_state *cur,
		     struct weft_state *out, char *err, size_t errlen);

/* Read the service ports the maps hold. 0 or -errno (err filled). */
int weft_state_read(const struct weft_maps *maps, struct weft_state *out, char *err, size_t errlen);

/* Write the diff from cur to want into the maps (through weft_write).
 * *nops gets the number of writes and deletes. On error, err names the
 * map; what was already in the maps stays valid (see the order of
 * weft_diff). */
int weft_apply(const struct weft_maps *maps, const struct weft_state *cur,
	       const struct weft_state *want, uint64_t *nops, char *err, size_t errlen);

/*
 * Emit the writes that turn the maps from cur into want. Order:
 *   1. removed service ports: weft_svc first (no new connects), then their
 *      slots, backends and meta;
 *   2. changed and new service ports: meta, new/changed backends, slots
 *      (growing tables: new slots before nslots grows; shrinking: nslots
 *      shrinks before the tail is deleted), weft_svc, then removed backends;
 * so every state a connect can see during an apply is a valid service with
 * valid backends. Each step runs over every service port before the next
 * (one map at a time: the writer batches them). Counters: a new service
 * port's and a new backend's entries are deleted before anything points at
 * them (the datapath makes them from zero); a removed one's after it, so a
 * reused id or backend index starts from zero. Stops at the first callback
 * error and returns it.
 */
int weft_diff(const struct weft_state *cur, const struct weft_state *want, weft_op_fn fn, void *ctx);

#endif /* WEFT_STATE_H */
