// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* maps: the registry's maps for the agent, and the helpers that read and
 * write them (see maps.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "lib/maps.h"

static const struct weft_map_def defs[WEFT_M_COUNT] = {
#define WEFT_X(id, name_, type_, key, value, knob_, extra_, flags)                              \
	[WEFT_M_##id] = { .name = #name_, .type = BPF_MAP_TYPE_##type_, .ksize = sizeof(key),  \
			  .vsize = sizeof(value), .knob = WEFT_KNOB_##knob_, .extra = (extra_), \
			  .percpu = BPF_MAP_TYPE_##type_ == BPF_MAP_TYPE_PERCPU_HASH ||          \
				    BPF_MAP_TYPE_##type_ == BPF_MAP_TYPE_PERCPU_ARRAY,           \
			  .has_entries = BPF_MAP_TYPE_##type_ != BPF_MAP_TYPE_RINGBUF &&        \
					 BPF_MAP_TYPE_##type_ != BPF_MAP_TYPE_SK_STORAGE &&     \
					 BPF_MAP_TYPE_##type_ != BPF_MAP_TYPE_SOCKHASH },
	WEFT_MAP_LIST(WEFT_X)
#undef WEFT_X
};

static const char *const knob_names[WEFT_KNOB_COUNT] = {
#define WEFT_X(knob, def, what) [WEFT_KNOB_##knob] = #knob,
	WEFT_KNOB_LIST(WEFT_X)
#undef WEFT_X
};

const struct weft_map_def *weft_map_def(enum weft_map_id id)
{
	return (unsigned int)id < WEFT_M_COUNT ? &defs[id] : NULL;
}

const char *weft_map_name(enum weft_map_id id)
{
	return (unsigned int)id < WEFT_M_COUNT ? defs[id].name : "?";
}

const char *weft_knob_name(int knob)
{
	return knob >= 0 && knob < WEFT_KNOB_COUNT ? knob_names[knob] : NULL;
}

const char *weft_map_knob(enum weft_map_id id)
{
	return (unsigned int)id < WEFT_M_COUNT ? weft_knob_name(defs[id].knob) : NULL;
}

size_t weft_map_value_bytes(enum weft_map_id id)
{
	const struct weft_map_def *d = weft_map_def(id);
	int ncpu;

	if (!d)
		return 0;
	if (!d->percpu)
		return d->vsize;
	ncpu = libbpf_num_possible_cpus();
	return (d->vsize + 7) / 8 * 8 * (size_t)(ncpu > 0 ? ncpu : 1);
}

uint32_t weft_map_capacity(int fd)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.max_entries;
}

int weft_maps_open_pinned(const char *bpffs, struct weft_maps *maps, char *err, size_t errlen)
{
	char path[4200];

	for (int id = 0; id < WEFT_M_COUNT; id++)
		maps->fd[id] = -1;
	for (int id = 0; id < WEFT_M_COUNT; id++) {
		snprintf(path, sizeof(path), "%s/%s", bpffs, weft_map_name(id));
		maps->fd[id] = bpf_obj_get(path);
		if (maps->fd[id] < 0) {
			int ret = -errno;

			snprintf(err, errlen, "%s: %s%s", path, strerror(errno),
				 errno == ENOENT ? " (weftd has not run here, or wrong --bpffs)"
				 : errno == EPERM || errno == EACCES ? " (needs root)" : "");
			weft_maps_close(maps);
			return ret;
		}
	}
	return 0;
}

void weft_maps_close(struct weft_maps *maps)
{
	for (int id = 0; id < WEFT_M_COUNT; id++) {
		if (maps->fd[id] >= 0)
			close(maps->fd[id]);
		maps->fd[id] = -1;
	}
}

#ifndef ENOTSUPP
#define ENOTSUPP 524	/* the kernel's "operation not supported" */
#endif

int weft_map_each(int fd, size_t ksize, size_t vsize, weft_map_each_fn fn, void *ctx)
{
	size_t cap = 1024;
	char *keys = malloc(cap * ksize), *vals = malloc(cap * vsize), *prev = NULL;
	/* The kernel's resume token: a bucket index for hash maps, a whole key
	 * for the generic batch ops (arrays, tries): room for either. */
	__u64 batch[(WEFT_MAP_MAX_KEY + 7) / 8] = { 0 };
	bool first = true;
	int ret = 0;

	if (!keys || !vals) {
		ret = -ENOMEM;
		goto out;
	}
	if (ksize > WEFT_MAP_MAX_KEY) {
		ret = -EINVAL;
		goto out;
	}
	for (;;) {
		__u32 count = (__u32)cap;
		int err = bpf_map_lookup_batch(fd, first ? NULL : batch, batch, keys, vals, &count,
					       NULL);

		if (err && errno == ENOSPC) {
			/* One bucket holds more than a batch: a bigger one. */
			char *nk = realloc(keys, 2 * cap * ksize), *nv;

			if (nk)
				keys = nk;
			nv = nk ? realloc(vals, 2 * cap * vsize) : NULL;
			if (!nv) {
				ret = -ENOMEM;
				goto out;
			}
			vals = nv;
			cap *= 2;
			continue;
		}
		if (err && errno != ENOENT) {
			if (first && (errno == EINVAL || errno == ENOTSUPP || errno == EOPNOTSUPP))
				break;
			ret = -errno;
			goto out;
		}
		for (__u32 i = 0; i < count; i++)
			if ((ret = fn(keys + i * ksize, vals + i * vsize, ctx)))
				goto out;
		if (err)
			goto out;	/* ENOENT: that was the last batch */
		first = false;
	}
	/* No batch lookups: walk, keys[0] the previous key, keys[ksize] the next. */
	while (bpf_map_get_next_key(fd, prev, keys + ksize) == 0) {
		memcpy(keys, keys + ksize, ksize);
		prev = keys;
		if (bpf_map_lookup_elem(fd, keys, vals))
			continue;
		if ((ret = fn(keys, vals, ctx)))
			goto out;
	}
out:
	free(keys);
	free(vals);
	return ret;
}

int weft_map_keys(int fd, size_t ksize, weft_map_each_fn fn, void *ctx)
{
	char *k = calloc(2, ksize ? ksize : 1);
	int ret = 0;

	if (!k)
		return -ENOMEM;
	for (bool first = true; !ret && bpf_map_get_next_key(fd, first ? NULL : k, k + ksize) == 0;
	     first = false) {
		memcpy(k, k + ksize, ksize);
		ret = fn(k, NULL, ctx);
	}
	free(k);
	return ret;
}

static int count_one(const void *key, const void *val, void *ctx)
{
	(void)key;
	(void)val;
	++*(uint64_t *)ctx;
	return 0;
}

int weft_map_count(int fd, uint64_t *entries)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);
	uint64_t n = 0;
	size_t vsize;
	int ncpu, ret;

	*entries = 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	switch (info.type) {
	case BPF_MAP_TYPE_ARRAY:
	case BPF_MAP_TYPE_PERCPU_ARRAY:
	case BPF_MAP_TYPE_PROG_ARRAY:
		*entries = info.max_entries;
		return 0;
	case BPF_MAP_TYPE_ARRAY_OF_MAPS:
		/* Not walked: on 6.1 every user-space read of a slot waits for
		 * an RCU grace period (measured under emulation: 18 ms a
		 * lookup, 289 s for one batch over 16384 slots), so a walk
		 * stalls whoever asks. weft_maps_count counts weft's own. */
		return -EOPNOTSUPP;
	default:
		break;
	}
	if (info.type == BPF_MAP_TYPE_SOCKHASH || info.type == BPF_MAP_TYPE_SOCKMAP) {
		/* Values (sockets) cannot be read here: count the keys. */
		ret = weft_map_keys(fd, info.key_size, count_one, &n);
		*entries = n;
		return ret;
	}
	ncpu = libbpf_num_possible_cpus();
	if (ncpu <= 0)
		return ncpu;
	vsize = (info.value_size + 7) / 8 * 8;
	if (info.type == BPF_MAP_TYPE_PERCPU_HASH || info.type == BPF_MAP_TYPE_LRU_PERCPU_HASH)
		vsize *= ncpu;
	ret = weft_map_each(fd, info.key_size, vsize, count_one, &n);
	*entries = n;
	return ret;
}

int weft_maps_count(const struct weft_maps *maps, enum weft_map_id id, uint64_t *entries)
{
	const struct weft_map_def *d = weft_map_def(id);

	/* The flow tables' slots are the interfaces weft_if_src records
	 * (each holds one slot of both arrays). */
	if (d && d->type == BPF_MAP_TYPE_ARRAY_OF_MAPS)
		return weft_map_count(maps->fd[WEFT_M_IF_SRC], entries);
	return weft_map_count(maps->fd[id], entries);
}

/* Every key and value of a hash map, into arrays (map_dump). */
struct dump {
	size_t ksize, vsize, n, cap;
	char *k, *v;
};

static int dump_add(const void *key, const void *val, void *ctx)
{
	struct dump *d = ctx;

	if (d->n == d->cap) {
		size_t ncap = d->cap ? 2 * d->cap : 4096;
		char *nk = realloc(d->k, ncap * d->ksize), *nv;

		if (nk)
			d->k = nk;
		nv = nk ? realloc(d->v, ncap * d->vsize) : NULL;
		if (!nv)
			return -ENOMEM;
		d->v = nv;
		d->cap = ncap;
	}
	memcpy(d->k + d->n * d->ksize, key, d->ksize);
	memcpy(d->v + d->n * d->vsize, val, d->vsize);
	d->n++;
	return 0;
}

/*
 * Every key and value of a hash map (weft_map_each). vsize: the value as the
 * syscall returns it (per-CPU maps: rounded to 8, times the CPUs). 0 or
 * -errno; *keys and *vals are the caller's to free.
 */
int weft_map_dump(int fd, size_t ksize, size_t vsize, char **keys, char **vals, size_t *n)
{
	struct dump d = { .ksize = ksize, .vsize = vsize };
	int ret = weft_map_each(fd, ksize, vsize, dump_add, &d);

	if (ret) {
		free(d.k);
		free(d.v);
		d.k = d.v = NULL;
		d.n = 0;
	}
	*keys = d.k;
	*vals = d.v;
	*n = d.n;
	return ret;
}


#define WRITE_BATCH 4096	/* entries per batch syscall */

/* One entry at a time (a kernel without batch ops for this map). */
static int write_one(int fd, const void *k, const void *v)
{
	if (!v)
		return bpf_map_delete_elem(fd, k) < 0 && errno != ENOENT ? -errno : 0;
	return bpf_map_update_elem(fd, k, v, BPF_ANY) < 0 ? -errno : 0;
}

int weft_map_write(int fd, const void *keys, size_t ksize, const void *vals, size_t vsize,
		   size_t n, size_t *done)
{
	const char *kp = keys, *vp = vals;
	bool nobatch = false;
	size_t at = 0;
	int ret = 0;

	while (!ret && at < n) {
		__u32 cnt = (__u32)(n - at > WRITE_BATCH ? WRITE_BATCH : n - at);

		if (nobatch) {
			ret = write_one(fd, kp + at * ksize, vp ? vp + at * vsize : NULL);
			at += !ret;
			continue;
		}
		ret = vp ? bpf_map_update_batch(fd, kp + at * ksize, vp + at * vsize, &cnt, NULL) :
			   bpf_map_delete_batch(fd, kp + at * ksize, &cnt, NULL);
		ret = ret < 0 ? -errno : 0;
		if (ret && cnt > n - at)
			cnt = 0;
		at += cnt;	/* on failure: the writes before the failing one */
		if (ret == -ENOENT && !vp) {
			at++;	/* already gone: what a delete wants */
			ret = 0;
		} else if (ret && !cnt && (ret == -EINVAL || ret == -EOPNOTSUPP || ret == -ENOTSUPP)) {
			nobatch = true;	/* no batch ops for this map: one at a time */
			ret = 0;
		}
	}
	if (done)
		*done = at;
	return ret;
}
