// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* apply: read the service ports out of the maps, and write a diff into them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "reconcile/services.h"

struct apply_ctx {
	const struct weft_maps *maps;
	uint64_t nops;
	char *err;
	size_t errlen;
};

static int apply_op(const struct weft_op *op, void *vctx)
{
	struct apply_ctx *ctx = vctx;
	int fd = ctx->maps->fd[op->map], err = 0;

	if (op->del) {
		if (bpf_map_delete_elem(fd, op->key) < 0 && errno != ENOENT)
			err = -errno;
	} else if (bpf_map_update_elem(fd, op->key, op->value,
				       BPF_ANY) < 0) {
		err = -errno;
	}
	if (!err) {
		ctx->nops++;
		return 0;
	}
	if (!op->del && (err == -E2BIG || err == -ENOSPC) && weft_map_knob(op->map))
		snprintf(ctx->err, ctx->errlen, "map %s is full (%u entries): raise datapath.%s",
			 weft_map_name(op->map), weft_map_capacity(fd), weft_map_knob(op->map));
	else
		snprintf(ctx->err, ctx->errlen, "map %s: %s: %s", weft_map_name(op->map),
			 op->del ? "delete" : "update", strerror(-err));
	return err;
}

int weft_apply(const struct weft_maps *maps, const struct weft_state *cur,
	       const struct weft_state *want, uint64_t *nops, char *err, size_t errlen)
{
	struct apply_ctx ctx = { .maps = maps, .err = err, .errlen = errlen };
	int ret = weft_diff(cur, want, apply_op, &ctx);

	*nops = ctx.nops;
	return ret;
}

/* --- read ----------------------------------------------------------------- */

struct id_pos {
	uint32_t id;
	uint32_t pos;
};

static int id_pos_cmp(const void *a, const void *b)
{
	uint32_t x = ((const struct id_pos *)a)->id, y = ((const struct id_pos *)b)->id;

	return x < y ? -1 : x > y;
}

struct reader {
	struct weft_state *st;
	struct id_pos *index;	/* sorted by id, one per st->sp */
};

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t n = *cap ? *cap : 16;
	void *q;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	q = realloc(*p, n * size);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = n;
	return 0;
}

/* The service port with this id, or an orphan entry for it (made on demand). */
static struct weft_sp *sp_by_id(struct reader *r, uint32_t id)
{
	struct id_pos probe = { .id = id }, *hit;
	struct weft_state *st = r->st;
	struct weft_sp *o;

	hit = st->n ? bsearch(&probe, r->index, st->n, sizeof(*r->index), id_pos_cmp) : NULL;
	if (hit)
		return &st->sp[hit->pos];
	for (size_t i = 0; i < st->norphans; i++)
		if (st->orphans[i].val.id == id)
			return &st->orphans[i];
	o = realloc(st->orphans, (st->norphans + 1) * sizeof(*o));
	if (!o)
		return NULL;
	st->orphans = o;
	o = &o[st->norphans++];
	memset(o, 0, sizeof(*o));
	o->val.id = id;
	return o;
}

static int read_svc(int fd, struct weft_state *st)
{
	struct weft_svc_key key, next;
	size_t cap = 0;
	void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		struct weft_sp *sp;

		key = next;
		prev = &key;
		if (grow((void **)&st->sp, &cap, st->n + 1, sizeof(*st->sp)))
			return -ENOMEM;
		sp = &st->sp[st->n];
		memset(sp, 0, sizeof(*sp));
		sp->key = key;
		if (bpf_map_lookup_elem(fd, &key, &sp->val) < 0)
			continue; /* deleted while we walked */
		st->n++;
	}
	return errno == ENOENT ? 0 : -errno;
}

static int add_slot(struct weft_sp *sp, uint32_t slot, uint32_t idx)
{
	size_t n = sp->nslots;

	if (slot >= WEFT_MAX_SLOTS_PER_SVC * 2u)
		return 0; /* nonsense; ignore */
	if (slot >= n) {
		uint32_t *s = realloc(sp->slots, (slot + 1) * sizeof(*s));

		if (!s)
			return -ENOMEM;
		for (size_t i = n; i <= slot; i++)
			s[i] = UINT32_MAX;
		sp->slots = s;
		sp->nslots = slot + 1;
	}
	sp->slots[slot] = idx;
	return 0;
}

static int read_slots(int fd, struct reader *r)
{
	struct weft_slot_key key, next;
	struct weft_backend be;
	void *prev = NULL;

	/* Every table starts as nslots holes, so a missing slot is rewritten. */
	for (size_t i = 0; i < r->st->n; i++) {
		struct weft_sp *sp = &r->st->sp[i];

		if (sp->val.nslots && add_slot(sp, sp->val.nslots - 1, UINT32_MAX))
			return -ENOMEM;
	}
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		struct weft_sp *sp;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &be) < 0)
			continue;
		sp = sp_by_id(r, key.svc_id);
		if (!sp || add_slot(sp, key.slot, be.idx))
			return -ENOMEM;
	}
	return errno == ENOENT ? 0 : -errno;
}

static int read_backends(int fd, struct reader *r)
{
	struct weft_be_key key, next;
	struct weft_backend be;
	void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		struct weft_sp *sp;
		struct weft_backend *b;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &be) < 0)
			continue;
		sp = sp_by_id(r, key.svc_id);
		if (!sp)
			return -ENOMEM;
		b = realloc(sp->be, (sp->nbe + 1) * sizeof(*b));
		if (!b)
			return -ENOMEM;
		sp->be = b;
		be.idx = key.idx;
		sp->be[sp->nbe++] = be;
	}
	return errno == ENOENT ? 0 : -errno;
}

static int read_meta(int fd, struct reader *r)
{
	uint32_t key, next;
	void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		struct weft_sp *sp;

		key = next;
		prev = &key;
		sp = sp_by_id(r, key);
		if (!sp)
			return -ENOMEM;
		if (bpf_map_lookup_elem(fd, &key, &sp->meta) < 0)
			memset(&sp->meta, 0, sizeof(sp->meta));
	}
	return errno == ENOENT ? 0 : -errno;
}

static int be_idx_cmp(const void *a, const void *b)
{
	uint32_t x = ((const struct weft_backend *)a)->idx, y = ((const struct weft_backend *)b)->idx;

	return x < y ? -1 : x > y;
}

int weft_state_read(const struct weft_maps *maps, struct weft_state *out, char *err, size_t errlen)
{
	struct reader r = { .st = out };
	const char *what = weft_map_name(WEFT_M_SVC);
	int ret;

	memset(out, 0, sizeof(*out));
	ret = read_svc(maps->fd[WEFT_M_SVC], out);
	if (ret)
		goto fail;
	if (out->n)
		qsort(out->sp, out->n, sizeof(*out->sp), weft_sp_cmp);
	r.index = calloc(out->n + 1, sizeof(*r.index));
	if (!r.index) {
		ret = -ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < out->n; i++)
		r.index[i] = (struct id_pos){ out->sp[i].val.id, i };
	qsort(r.index, out->n, sizeof(*r.index), id_pos_cmp);

	what = weft_map_name(WEFT_M_META);
	ret = read_meta(maps->fd[WEFT_M_META], &r);
	if (!ret) {
		what = weft_map_name(WEFT_M_BE);
		ret = read_backends(maps->fd[WEFT_M_BE], &r);
	}
	if (!ret) {
		what = weft_map_name(WEFT_M_SLOT);
		ret = read_slots(maps->fd[WEFT_M_SLOT], &r);
	}
	free(r.index);
	if (ret)
		goto fail;
	for (size_t i = 0; i < out->n; i++)
		if (out->sp[i].nbe)
			qsort(out->sp[i].be, out->sp[i].nbe, sizeof(struct weft_backend), be_idx_cmp);
	return 0;
fail:
	snprintf(err, errlen, "map %s: read: %s", what, strerror(-ret));
	weft_state_free(out);
	return ret;
}
