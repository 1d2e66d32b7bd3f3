/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * state: the service ports of a node as the maps hold them.
 *
 * Deciding is separate from doing: weft_state_build() turns a config (and
 * what the maps hold now, for stable ids and Maglev tables) into the wanted
 * state; weft_diff() compares two states and emits the map writes, in an
 * order that never lets a connect see a half-written service; apply.c does
 * the writes. The same path serves start, restart, reload and (later)
 * Kubernetes events.
 */
#ifndef WEFT_STATE_H
#define WEFT_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/model.h"
#include "weft/abi.h"

/* One service port: its weft_svc entry and everything keyed by its id. */
struct weft_sp {
	struct weft_svc_key key;
	struct weft_svc_val val;	/* val.nslots == nslots */
	struct weft_svc_meta meta;
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
int weft_state_build(const struct weft_config *cfg, const struct weft_state *cur,
		     struct weft_state *out, char *err, size_t errlen);

/* The maps, as file descriptors. */
enum weft_map_id {
	WEFT_M_SVC,
	WEFT_M_BE,
	WEFT_M_SLOT,
	WEFT_M_META,
	WEFT_M_RR,
	WEFT_M_AFF,
	WEFT_M_REV,
	WEFT_M_STATS,
	WEFT_M_INFO,
	WEFT_M_SVC_CNT,
	WEFT_M_BE_CNT,
	WEFT_M_SOCK,
	WEFT_M_REDIR_CFG,
	WEFT_M_REDIR_OFF,
	WEFT_M_SK_STATE,
	WEFT_M_POL_ID,
	WEFT_M_POL,
	WEFT_M_CT,
	WEFT_M_POL_CNT,
	WEFT_M_EP,
	WEFT_M_FLOW,
	WEFT_M_EDGE,
	WEFT_M_HIST,
	WEFT_M_OBS_CFG,
	WEFT_M_EVENTS,
	WEFT_M_SK_OBS,
	WEFT_M_NS_EP,
	WEFT_M_COUNT,
};

struct weft_maps {
	int fd[WEFT_M_COUNT];
};

/*
 * Call fn(key, value, ctx) for every entry of a hash-type map, read in
 * batches (a key-by-key walk where the kernel has no batch lookups; a key
 * deleted meanwhile is skipped). vsize: the value as the syscall returns it
 * (per-CPU maps: rounded up to 8, times the possible CPUs). fn returning
 * non-zero stops the walk and is returned; else 0 or -errno.
 */
typedef int (*weft_map_each_fn)(const void *key, const void *value, void *ctx);
int weft_map_each(int fd, size_t ksize, size_t vsize, weft_map_each_fn fn, void *ctx);

/*
 * Bring a small hash map to a wanted set: n entries of stride bytes, each a
 * key (ksize bytes) followed by its value (vsize bytes), sorted by memcmp of
 * the key. Writes the entries that differ, then deletes the keys that are
 * not wanted. *nops (may be NULL) gets the writes and deletes. 0 or -errno
 * (err names the map; `full` is added to a "map full" error).
 */
int weft_map_sync(int fd, const char *name, const void *want, size_t n, size_t stride,
		  size_t ksize, size_t vsize, const char *full, uint64_t *nops, char *err,
		  size_t errlen);

/* The pinned name of a map ("weft_svc", ...). */
const char *weft_map_name(enum weft_map_id id);

/* Read the service ports the maps hold (apply.c). 0 or -errno (err filled). */
int weft_state_read(const struct weft_maps *maps, struct weft_state *out, char *err, size_t errlen);

/* Write the diff from cur to want into the maps (apply.c). *nops gets the
 * number of writes and deletes. On error, err names the map; what was
 * already in the maps stays valid (see the order of weft_diff). */
int weft_apply(const struct weft_maps *maps, const struct weft_state *cur,
	       const struct weft_state *want, uint64_t *nops, char *err, size_t errlen);

/* One map write or delete. key/value point into the states or into op's
 * own buffers; valid only during the callback. value NULL in an update
 * (the counter maps weft_svc_cnt, weft_be_cnt): write zero on every CPU. */
struct weft_op {
	enum weft_map_id map;
	int del;			/* 1: delete key; 0: update key = value */
	const void *key;
	const void *value;
	/* storage for keys and values the diff makes up */
	union {
		struct weft_be_key be;
		struct weft_slot_key slot;
		uint32_t id;
	} k;
	struct weft_backend v;
};

typedef int (*weft_op_fn)(const struct weft_op *op, void *ctx);

/*
 * Emit the writes that turn the maps from cur into want. Order:
 *   1. removed service ports: weft_svc first (no new connects), then their
 *      slots, backends and meta;
 *   2. changed and new service ports: meta, new/changed backends, slots
 *      (growing tables: new slots before nslots grows; shrinking: nslots
 *      shrinks before the tail is deleted), weft_svc, then removed backends;
 * so every state a connect can see during an apply is a valid service with
 * valid backends. Counters: a new service port's and a new backend's are
 * zeroed before anything points at them (before weft_svc, before the
 * slots); a removed one's are deleted after it, so a reused id or backend
 * index starts from zero. Stops at the first callback error and returns it.
 */
int weft_diff(const struct weft_state *cur, const struct weft_state *want, weft_op_fn fn, void *ctx);

#endif /* WEFT_STATE_H */
