/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * maps: weft's maps as the agent sees them, from the registry (weft/maps.h):
 * ids, pinned names and sizes, and the helpers every room uses to read and
 * write them: walk (in batches), dump, count, capacity, batched writes.
 * Every bpf_map_get_next_key loop of the agent lives here.
 */
#ifndef WEFT_LIB_MAPS_H
#define WEFT_LIB_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "weft/maps.h"

/* A map of the registry, as the agent needs it. */
struct weft_map_def {
	const char *name;	/* pinned name, "weft_svc" */
	uint32_t type;		/* BPF_MAP_TYPE_* */
	uint32_t ksize;		/* key bytes */
	uint32_t vsize;		/* value bytes (of one CPU for per-CPU maps) */
	int knob;		/* enum weft_knob that sizes it; WEFT_KNOB_none */
	uint32_t extra;		/* entries added to the knob (all of them if none) */
	bool percpu;		/* per-CPU values */
	bool has_entries;	/* keys and values user space can read (not a ring
				 * buffer, socket storage or sockhash values) */
};

/* The registry entry of a map; NULL for an id out of range. */
const struct weft_map_def *weft_map_def(enum weft_map_id id);

/* The pinned name of a map ("weft_svc"); "?" out of range. */
const char *weft_map_name(enum weft_map_id id);

/* The setting that sizes a map ("max_services"), NULL for a fixed map. */
const char *weft_map_knob(enum weft_map_id id);

/* The name of a size setting ("max_services"), NULL if none. */
const char *weft_knob_name(int knob);

/* The bytes a lookup of one value of this map returns: vsize, or for a
 * per-CPU map vsize rounded up to 8 times the possible CPUs. */
size_t weft_map_value_bytes(enum weft_map_id id);

/* Open map fds, by id. */
struct weft_maps {
	int fd[WEFT_M_COUNT];
};

/* Open the maps pinned under a bpffs directory. 0 or -errno (err names the
 * pin); on error every fd is closed. */
int weft_maps_open_pinned(const char *bpffs, struct weft_maps *maps, char *err, size_t errlen);
void weft_maps_close(struct weft_maps *maps);

#define WEFT_MAP_MAX_KEY 64	/* the longest key of any map weft walks, bytes */

/*
 * Call fn(key, value, ctx) for every entry of a map, read in
 * batches (a key-by-key walk where the kernel has no batch lookups; a key
 * deleted meanwhile is skipped). vsize: the value as the syscall returns it
 * (weft_map_value_bytes). fn returning non-zero stops the walk and is
 * returned; else 0 or -errno.
 */
typedef int (*weft_map_each_fn)(const void *key, const void *value, void *ctx);
int weft_map_each(int fd, size_t ksize, size_t vsize, weft_map_each_fn fn, void *ctx);

/* Call fn(key, NULL, ctx) for every key of a map whose values user space
 * cannot read (a sockhash): a walk. fn's non-zero ends it and is returned. */
int weft_map_keys(int fd, size_t ksize, weft_map_each_fn fn, void *ctx);

/* Every key and value of a hash map, into arrays the caller frees. */
int weft_map_dump(int fd, size_t ksize, size_t vsize, char **keys, char **vals, size_t *n);

/* Entries in a map (hash maps counted in batches; arrays are full; a
 * sockhash by its keys). 0 or -errno; -EOPNOTSUPP for an array of maps,
 * whose slots are not read from user space (a grace period each on 6.1). */
int weft_map_count(int fd, uint64_t *entries);

/* Entries in one of weft's maps: weft_map_count, and for the arrays of flow
 * tables the slots weft gave out (the interfaces of weft_if_src). */
int weft_maps_count(const struct weft_maps *maps, enum weft_map_id id, uint64_t *entries);

/* The map's max_entries (0 if it cannot be asked). */
uint32_t weft_map_capacity(int fd);

/*
 * Write n entries: keys, n * ksize bytes, and vals, n * vsize bytes (vsize:
 * weft_map_value_bytes), or vals NULL for n deletes, in as few syscalls as
 * the kernel allows (BPF_MAP_UPDATE_BATCH,
 * BPF_MAP_DELETE_BATCH; one call per entry where it has none). A delete of
 * a missing key is no error. On error *done (may be NULL) gets the entries
 * written before it, and -errno is returned.
 */
int weft_map_write(int fd, const void *keys, size_t ksize, const void *vals, size_t vsize,
		   size_t n, size_t *done);

#endif /* WEFT_LIB_MAPS_H */
