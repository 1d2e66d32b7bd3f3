/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * write: the one way the reconciler changes the datapath. Every step's diff
 * (a pure function of what the maps hold and what is wanted) emits ops in
 * the order it documents; weft_write() carries them out in that order,
 * batching consecutive writes of one kind to one map into one syscall
 * (BPF_MAP_UPDATE_BATCH / DELETE_BATCH where the kernel has them), and
 * stops at the first failure with an error that names the map (and, for a
 * full map, the setting that sizes it).
 *
 * Also here: the small keyed sets (weft_kvset) that several steps hold a
 * map's wanted or current contents in, with their read and diff.
 */
#ifndef WEFT_RECONCILE_WRITE_H
#define WEFT_RECONCILE_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/maps.h"

enum weft_op_kind {
	WEFT_OP_WRITE = 0,	/* map: update key = value, or delete key (del) */
	WEFT_OP_PRUNE,		/* map: delete every key whose first __u32 (an epoch)
				 * is not *(const uint32_t *)value */
	WEFT_OP_ACTION,		/* not a map write: handed to the writer's action
				 * (tc attachment: key is the step's own record) */
};

struct weft_op {
	enum weft_map_id map;	/* WEFT_OP_WRITE, WEFT_OP_PRUNE */
	int del;		/* WRITE: 1 delete key, 0 update key = value;
				 * ACTION: 1 undo, 0 do */
	const void *key;	/* valid only during the callback */
	const void *value;
	int kind;		/* enum weft_op_kind */
};

typedef int (*weft_op_fn)(const struct weft_op *op, void *ctx);

/* A step's diff: emit the ops that turn cur into want, in order. */
typedef int (*weft_diff_fn)(const void *cur, const void *want, weft_op_fn fn, void *ctx);

/* What carries out WEFT_OP_ACTION ops (NULL: none may come). 0 or -errno
 * with err filled. */
typedef int (*weft_action_fn)(void *actx, const struct weft_op *op, char *err, size_t errlen);

/*
 * Carry out diff(cur, want): every op in order, writes batched. *nops (may
 * be NULL) gets the writes and deletes done, also on failure. 0, or the
 * first -errno with err naming the map: "map weft_be is full (262144
 * entries): raise datapath.max_backends", "map weft_ep: delete: ...".
 */
int weft_write(const struct weft_maps *maps, weft_diff_fn diff, const void *cur,
	       const void *want, weft_action_fn action, void *actx, uint64_t *nops, char *err,
	       size_t errlen);

/*
 * A map's contents as a set: n entries of ksize + vsize bytes (key, then
 * value), sorted by memcmp of the key. For the steps whose maps are plain
 * sets (weft_ep, weft_ns_ep, weft_redir_off).
 */
struct weft_kvset {
	enum weft_map_id map;
	size_t ksize, vsize;
	char *ents;
	size_t n, cap;
};

void weft_kvset_init(struct weft_kvset *s, enum weft_map_id map);
void weft_kvset_free(struct weft_kvset *s);

/* Append one entry (keep the set sorted with weft_kvset_sort after). */
int weft_kvset_add(struct weft_kvset *s, const void *key, const void *value);

/* Sort by key and keep the first of equal keys. */
void weft_kvset_sort(struct weft_kvset *s);

/* What the map holds now (replaces s's entries). 0 or -errno. */
int weft_kvset_read(const struct weft_maps *maps, struct weft_kvset *s);

/* An array of n entries (key, then value, sorted by key) seen as a set,
 * without a copy: s must not be freed or grown. */
void weft_kvset_view(struct weft_kvset *s, enum weft_map_id map, const void *ents, size_t n);

/* Bring a map to want: read what it holds, write the difference
 * (weft_kvset_diff through weft_write). 0 or -errno (err names the map). */
int weft_kvset_sync(const struct weft_maps *maps, const struct weft_kvset *want, uint64_t *nops,
		    char *err, size_t errlen);

/* The weft_diff_fn of two kvsets of one map: the entries of want that are
 * missing or differ in cur (updates), then the keys of cur that want lacks
 * (deletes). */
int weft_kvset_diff(const void *cur, const void *want, weft_op_fn fn, void *ctx);

#endif /* WEFT_RECONCILE_WRITE_H */
