// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* write: carry out a step's ops, batched (see write.h); keyed sets. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reconcile/write.h"

#define BATCH 4096	/* entries staged before a batch syscall */

struct writer {
	const struct weft_maps *maps;
	weft_action_fn action;
	void *actx;
	char *err;
	size_t errlen;
	uint64_t nops;
	/* The run of writes being staged: one map, one kind. */
	int map;		/* -1: none */
	int del;
	size_t ksize, vsize;	/* of the staged map (vsize: as the syscall wants it) */
	size_t n;
	char *keys, *vals;	/* BATCH entries each */
	size_t kcap, vcap;	/* bytes allocated */
};

static int fail(struct writer *w, enum weft_map_id map, int del, int ret)
{
	const char *knob = weft_map_knob(map);

	if (!del && knob && (ret == -E2BIG || ret == -ENOSPC))
		snprintf(w->err, w->errlen, "map %s is full (%u entries): raise datapath.%s",
			 weft_map_name(map), weft_map_capacity(w->maps->fd[map]), knob);
	else
		snprintf(w->err, w->errlen, "map %s: %s: %s", weft_map_name(map),
			 del ? "delete" : "update", strerror(-ret));
	return ret;
}

static int flush(struct writer *w)
{
	size_t done = 0;
	int ret;

	if (!w->n)
		return 0;
	ret = weft_map_write(w->maps->fd[w->map], w->keys, w->ksize, w->del ? NULL : w->vals,
			     w->vsize, w->n, &done);
	w->nops += done;
	w->n = 0;
	return ret ? fail(w, w->map, w->del, ret) : 0;
}

static int stage(struct writer *w, const struct weft_op *op)
{
	const struct weft_map_def *d = weft_map_def(op->map);
	int ret;

	if (!d)
		return -EINVAL;
	if (w->n && (w->map != (int)op->map || w->del != op->del || w->n == BATCH)) {
		ret = flush(w);
		if (ret)
			return ret;
	}
	if (!w->n) {
		size_t vsize = weft_map_value_bytes(op->map);

		if (w->kcap < BATCH * d->ksize || w->vcap < BATCH * vsize) {
			char *k = realloc(w->keys, BATCH * d->ksize), *v;

			if (k)
				w->keys = k;
			v = k ? realloc(w->vals, BATCH * (vsize ? vsize : 1)) : NULL;
			if (!v) {
				snprintf(w->err, w->errlen, "map %s: out of memory", d->name);
				return -ENOMEM;
			}
			w->vals = v;
			w->kcap = BATCH * d->ksize;
			w->vcap = BATCH * (vsize ? vsize : 1);
		}
		w->map = op->map;
		w->del = op->del;
		w->ksize = d->ksize;
		w->vsize = vsize;
	}
	memcpy(w->keys + w->n * w->ksize, op->key, w->ksize);
	if (!op->del)
		memcpy(w->vals + w->n * w->vsize, op->value, w->vsize);
	w->n++;
	return 0;
}

struct prune {
	uint32_t keep;
	struct weft_kvset gone;	/* keys only */
};

static int prune_one(const void *key, const void *val, void *ctx)
{
	struct prune *p = ctx;
	uint32_t epoch;

	(void)val;
	memcpy(&epoch, key, sizeof(epoch));
	return epoch == p->keep ? 0 : weft_kvset_add(&p->gone, key, NULL);
}

/* Delete every key of a map whose leading __u32 is not keep. */
static int prune(struct writer *w, const struct weft_op *op)
{
	struct prune p = { .keep = *(const uint32_t *)op->value };
	int ret, fd = w->maps->fd[op->map];

	weft_kvset_init(&p.gone, op->map);
	p.gone.vsize = 0;
	ret = weft_map_each(fd, p.gone.ksize, weft_map_value_bytes(op->map), prune_one, &p);
	for (size_t i = 0; !ret && i < p.gone.n; i++) {
		struct weft_op del = { .map = op->map, .del = 1, .key = p.gone.ents + i * p.gone.ksize };

		ret = stage(w, &del);
	}
	if (!ret)
		ret = flush(w);
	else if (ret == -ENOMEM)
		snprintf(w->err, w->errlen, "map %s: out of memory", weft_map_name(op->map));
	weft_kvset_free(&p.gone);
	return ret;
}

static int on_op(const struct weft_op *op, void *ctx)
{
	struct writer *w = ctx;
	int ret;

	switch (op->kind) {
	case WEFT_OP_WRITE:
		return stage(w, op);
	case WEFT_OP_PRUNE:
		ret = flush(w);
		return ret ? ret : prune(w, op);
	case WEFT_OP_ACTION:
		ret = flush(w);
		if (ret)
			return ret;
		if (!w->action) {
			snprintf(w->err, w->errlen, "reconcile: an action without a datapath");
			return -EINVAL;
		}
		return w->action(w->actx, op, w->err, w->errlen);
	default:
		return -EINVAL;
	}
}

int weft_write(const struct weft_maps *maps, weft_diff_fn diff, const void *cur,
	       const void *want, weft_action_fn action, void *actx, uint64_t *nops, char *err,
	       size_t errlen)
{
	struct writer w = { .maps = maps, .action = action, .actx = actx, .err = err,
			    .errlen = errlen, .map = -1 };
	int ret;

	if (err && errlen)
		err[0] = 0;
	ret = diff(cur, want, on_op, &w);
	if (!ret)
		ret = flush(&w);
	if (ret && err && errlen && !err[0])
		snprintf(err, errlen, "reconcile: %s", strerror(-ret));
	free(w.keys);
	free(w.vals);
	if (nops)
		*nops = w.nops;
	return ret;
}

/* --- keyed sets ----------------------------------------------------------- */

void weft_kvset_init(struct weft_kvset *s, enum weft_map_id map)
{
	const struct weft_map_def *d = weft_map_def(map);

	memset(s, 0, sizeof(*s));
	s->map = map;
	s->ksize = d ? d->ksize : 0;
	s->vsize = d ? d->vsize : 0;
}

void weft_kvset_free(struct weft_kvset *s)
{
	free(s->ents);
	s->ents = NULL;
	s->n = s->cap = 0;
}

int weft_kvset_add(struct weft_kvset *s, const void *key, const void *value)
{
	size_t stride = s->ksize + s->vsize;

	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		char *p = realloc(s->ents, cap * (stride ? stride : 1));

		if (!p)
			return -ENOMEM;
		s->ents = p;
		s->cap = cap;
	}
	memcpy(s->ents + s->n * stride, key, s->ksize);
	if (s->vsize) {
		if (value)
			memcpy(s->ents + s->n * stride + s->ksize, value, s->vsize);
		else
			memset(s->ents + s->n * stride + s->ksize, 0, s->vsize);
	}
	s->n++;
	return 0;
}

static int key_cmp(const void *a, const void *b, void *arg)
{
	return memcmp(a, b, *(const size_t *)arg);
}

void weft_kvset_sort(struct weft_kvset *s)
{
	size_t stride = s->ksize + s->vsize, w = 0;

	if (s->n < 2)
		return;
	qsort_r(s->ents, s->n, stride, key_cmp, &s->ksize);
	for (size_t i = 0; i < s->n; i++)
		if (!w || memcmp(s->ents + (w - 1) * stride, s->ents + i * stride, s->ksize))
			memmove(s->ents + w++ * stride, s->ents + i * stride, stride);
	s->n = w;
}

static int read_one(const void *key, const void *val, void *ctx)
{
	return weft_kvset_add(ctx, key, val);
}

int weft_kvset_read(const struct weft_maps *maps, struct weft_kvset *s)
{
	int ret;

	s->n = 0;
	ret = weft_map_each(maps->fd[s->map], s->ksize, s->vsize, read_one, s);
	if (!ret)
		weft_kvset_sort(s);
	return ret;
}

int weft_kvset_diff(const void *vcur, const void *vwant, weft_op_fn fn, void *ctx)
{
	const struct weft_kvset *cur = vcur, *want = vwant;
	size_t stride = want->ksize + want->vsize, i = 0, j = 0;
	int ret = 0;

	/* Updates first: what is wanted is in place before anything goes. */
	while (!ret && i < want->n) {
		const char *w = want->ents + i * stride, *c = j < cur->n ? cur->ents + j * stride : NULL;
		int r = c ? memcmp(c, w, want->ksize) : 1;

		if (r < 0) {
			j++;
			continue;
		}
		if (r > 0 || memcmp(c + want->ksize, w + want->ksize, want->vsize)) {
			struct weft_op op = { .map = want->map, .key = w, .value = w + want->ksize };

			ret = fn(&op, ctx);
		}
		if (!r)
			j++;
		i++;
	}
	for (i = j = 0; !ret && j < cur->n; j++) {
		const char *c = cur->ents + j * stride;
		int r = 1;

		while (i < want->n && (r = memcmp(want->ents + i * stride, c, want->ksize)) < 0)
			i++;
		if (i < want->n && !r)
			continue;
		struct weft_op op = { .map = cur->map, .del = 1, .key = c };

		ret = fn(&op, ctx);
	}
	return ret;
}

void weft_kvset_view(struct weft_kvset *s, enum weft_map_id map, const void *ents, size_t n)
{
	weft_kvset_init(s, map);
	s->ents = (char *)ents;
	s->n = n;
}

int weft_kvset_sync(const struct weft_maps *maps, const struct weft_kvset *want, uint64_t *nops,
		    char *err, size_t errlen)
{
	struct weft_kvset cur;
	int ret;

	if (nops)
		*nops = 0;
	weft_kvset_init(&cur, want->map);
	ret = weft_kvset_read(maps, &cur);
	if (ret)
		snprintf(err, errlen, "map %s: read: %s", weft_map_name(want->map), strerror(-ret));
	else
		ret = weft_write(maps, weft_kvset_diff, &cur, want, NULL, NULL, nops, err, errlen);
	weft_kvset_free(&cur);
	return ret;
}
