// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* state: build the wanted service ports from a config, read them from the
 * maps, and diff two states into ordered map writes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "reconcile/lb.h"
#include "reconcile/services.h"

static void sp_free(struct weft_sp *sp)
{
	free(sp->be);
	free(sp->slots);
}

void weft_state_free(struct weft_state *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->n; i++)
		sp_free(&st->sp[i]);
	for (size_t i = 0; i < st->norphans; i++)
		sp_free(&st->orphans[i]);
	free(st->sp);
	free(st->orphans);
	memset(st, 0, sizeof(*st));
}

int weft_sp_cmp(const void *a, const void *b)
{
	return memcmp(&((const struct weft_sp *)a)->key, &((const struct weft_sp *)b)->key,
		      sizeof(struct weft_svc_key));
}

const struct weft_sp *weft_state_find(const struct weft_state *st, const struct weft_svc_key *key)
{
	struct weft_sp probe = { .key = *key };

	if (!st->n)
		return NULL;
	return bsearch(&probe, st->sp, st->n, sizeof(*st->sp), weft_sp_cmp);
}

static const struct weft_backend *be_find(const struct weft_sp *sp, uint32_t idx)
{
	for (size_t i = 0; i < sp->nbe; i++)
		if (sp->be[i].idx == idx)
			return &sp->be[i];
	return NULL;
}

static int be_cmp(const void *a, const void *b)
{
	uint32_t x = ((const struct weft_backend *)a)->idx, y = ((const struct weft_backend *)b)->idx;

	return x < y ? -1 : x > y;
}

/* --- build ---------------------------------------------------------------- */

/* Bitmap of ids in use. */
struct idset {
	uint8_t *bits;
	uint32_t max;
};

static bool id_used(const struct idset *s, uint32_t id)
{
	return id <= s->max && (s->bits[id / 8] & (1u << (id % 8)));
}

static void id_take(struct idset *s, uint32_t id)
{
	if (id <= s->max)
		s->bits[id / 8] |= 1u << (id % 8);
}

static uint32_t id_alloc(struct idset *s, uint32_t *hint)
{
	for (uint32_t id = *hint; id <= s->max; id++) {
		if (!id_used(s, id)) {
			id_take(s, id);
			*hint = id + 1;
			return id;
		}
	}
	return 0;
}

/* Backend indexes: keep the index of a backend (address and port) that the
 * current state has; give new ones the lowest index no current or new
 * backend of this service port uses. */
static int build_backends(struct weft_sp *sp, const struct weft_service *svc,
			  const struct weft_port *port, const struct weft_sp *cur)
{
	uint32_t next = 0;

	sp->nbe = svc->nbackends;
	if (!sp->nbe)
		return 0;
	sp->be = calloc(sp->nbe, sizeof(*sp->be));
	if (!sp->be)
		return -ENOMEM;
	for (size_t i = 0; i < sp->nbe; i++) {
		const struct weft_backend_cfg *b = &svc->backends[i];
		struct weft_backend *be = &sp->be[i];

		memcpy(be->addr, &b->ip.a, 16);
		be->port = htons(b->port ? b->port : port->target_port);
		be->weight = b->weight;
		be->idx = UINT32_MAX;
		for (size_t j = 0; cur && j < cur->nbe; j++) {
			if (!memcmp(cur->be[j].addr, be->addr, 16) && cur->be[j].port == be->port)
				be->idx = cur->be[j].idx;
		}
	}
	for (size_t i = 0; i < sp->nbe; i++) {
		struct weft_backend *be = &sp->be[i];
		bool taken;

		if (be->idx != UINT32_MAX)
			continue;
		do {
			taken = cur && be_find(cur, next);
			for (size_t j = 0; j < sp->nbe && !taken; j++)
				taken = sp->be[j].idx == next;
		} while (taken && ++next);
		be->idx = next++;
	}
	qsort(sp->be, sp->nbe, sizeof(*sp->be), be_cmp);
	return 0;
}

static void build_meta(struct weft_sp *sp, const struct weft_service *svc,
		       const struct weft_port *port)
{
	snprintf(sp->meta.name, sizeof(sp->meta.name), "%s", svc->name);
	snprintf(sp->meta.ns, sizeof(sp->meta.ns), "%s", svc->ns);
	snprintf(sp->meta.port_name, sizeof(sp->meta.port_name), "%s", port->name);
	sp->meta.target_port = htons(port->target_port);
	sp->meta.nbackends = svc->nbackends;
}

/* Maglev may build on the current table only if the algorithm and every
 * remaining backend's weight are unchanged. */
static bool keeps_table(const struct weft_sp *c, const struct weft_sp *sp)
{
	if (!c || c->val.lb != sp->val.lb)
		return false;
	for (size_t i = 0; i < sp->nbe; i++) {
		const struct weft_backend *old = be_find(c, sp->be[i].idx);

		if (old && old->weight != sp->be[i].weight)
			return false;
	}
	return true;
}

static int build_sp(struct weft_sp *sp, const struct weft_service *svc,
		    const struct weft_port *port, const struct weft_state *cur, struct idset *ids,
		    uint32_t *hint)
{
	const struct weft_sp *c;
	int err;

	memcpy(sp->key.addr, &svc->vip.a, 16);
	sp->key.port = htons(port->port);
	sp->key.proto = port->proto;
	c = weft_state_find(cur, &sp->key);
	sp->val.id = c ? c->val.id : id_alloc(ids, hint);
	sp->val.lb = svc->lb;
	sp->val.affinity = svc->affinity;
	build_meta(sp, svc, port);
	err = build_backends(sp, svc, port, c);
	if (err)
		return err;
	err = weft_lb_build(svc->lb, sp->be, sp->nbe, keeps_table(c, sp) ? c->slots : NULL,
			    c ? c->nslots : 0, &sp->slots, &sp->nslots);
	sp->val.nslots = sp->nslots;
	return err;
}

static int check_limit(const char *map, size_t want, uint32_t cap, const char *knob, char *err,
		       size_t errlen)
{
	if (want <= cap)
		return 0;
	snprintf(err, errlen, "map %s is too small: the config needs %zu entries, it holds %u (raise datapath.%s)",
		 map, want, cap, knob);
	return -E2BIG;
}

int weft_state_build(const struct weft_model *cfg, const struct weft_state *cur,
		     struct weft_state *out, char *err, size_t errlen)
{
	const struct weft_datapath_cfg *dp = &cfg->datapath;
	size_t nsp = 0, nbe = 0, nslots = 0, k = 0;
	struct idset ids = { .max = dp->max_services };
	uint32_t hint = 1;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < cfg->nservices; i++) {
		nsp += cfg->services[i].nports;
		nbe += cfg->services[i].nports * cfg->services[i].nbackends;
	}
	ret = check_limit(weft_map_name(WEFT_M_SVC), nsp, dp->max_services, "max_services", err, errlen);
	if (!ret)
		ret = check_limit(weft_map_name(WEFT_M_BE), nbe, dp->max_backends, "max_backends", err, errlen);
	if (ret)
		return ret;
	ids.bits = calloc(ids.max / 8 + 1, 1);
	out->sp = calloc(nsp ? nsp : 1, sizeof(*out->sp));
	if (!ids.bits || !out->sp) {
		ret = -ENOMEM;
		goto fail;
	}
	id_take(&ids, 0);
	for (size_t i = 0; i < cur->n; i++)
		id_take(&ids, cur->sp[i].val.id);
	for (size_t i = 0; i < cur->norphans; i++)
		id_take(&ids, cur->orphans[i].val.id);

	for (size_t i = 0; i < cfg->nservices; i++) {
		const struct weft_service *svc = &cfg->services[i];

		for (size_t j = 0; j < svc->nports; j++, k++) {
			ret = build_sp(&out->sp[k], svc, &svc->ports[j], cur, &ids, &hint);
			out->n = k + 1;
			if (ret == 0 && out->sp[k].val.id == 0)
				ret = -ENOSPC;
			if (ret) {
				snprintf(err, errlen, "services[%zu] (%s/%s) port %u: %s", i, svc->ns,
					 svc->name, svc->ports[j].port,
					 ret == -ENOSPC ? "no free service id (raise datapath.max_services)"
							: strerror(-ret));
				goto fail;
			}
			nslots += out->sp[k].nslots;
		}
	}
	ret = check_limit(weft_map_name(WEFT_M_SLOT), nslots, dp->max_slots, "max_slots", err, errlen);
	if (ret)
		goto fail;
	qsort(out->sp, out->n, sizeof(*out->sp), weft_sp_cmp);
	free(ids.bits);
	return 0;
fail:
	free(ids.bits);
	weft_state_free(out);
	return ret;
}

/* --- diff ----------------------------------------------------------------- */

static int emit(weft_op_fn fn, void *ctx, struct weft_op *op, enum weft_map_id map, int del,
		const void *key, const void *value)
{
	op->map = map;
	op->del = del;
	op->key = key;
	op->value = value;
	return fn(op, ctx);
}

/* Delete everything a service port (or an orphaned id) has in the maps. */
static int diff_remove(const struct weft_sp *sp, bool has_svc, weft_op_fn fn, void *ctx)
{
	struct weft_op op = { 0 };
	int err = 0;

	if (has_svc)
		err = emit(fn, ctx, &op, WEFT_M_SVC, 1, &sp->key, NULL);
	for (size_t i = 0; !err && i < sp->nslots; i++) {
		op.k.slot = (struct weft_slot_key){ sp->val.id, i };
		err = emit(fn, ctx, &op, WEFT_M_SLOT, 1, &op.k.slot, NULL);
	}
	for (size_t i = 0; !err && i < sp->nbe; i++) {
		op.k.be = (struct weft_be_key){ sp->val.id, sp->be[i].idx };
		err = emit(fn, ctx, &op, WEFT_M_BE, 1, &op.k.be, NULL);
		if (!err)
			err = emit(fn, ctx, &op, WEFT_M_BE_CNT, 1, &op.k.be, NULL);
	}
	if (!err) {
		op.k.id = sp->val.id;
		err = emit(fn, ctx, &op, WEFT_M_META, 1, &op.k.id, NULL);
	}
	if (!err)
		err = emit(fn, ctx, &op, WEFT_M_SVC_CNT, 1, &op.k.id, NULL);
	return err;
}

static bool be_same(const struct weft_backend *a, const struct weft_backend *b)
{
	return a && b && !memcmp(a, b, sizeof(*a));
}

static int diff_update(const struct weft_sp *c, const struct weft_sp *w, weft_op_fn fn, void *ctx)
{
	struct weft_op op = { 0 };
	uint32_t id = w->val.id;
	int err = 0;

	if (!c || memcmp(&c->meta, &w->meta, sizeof(w->meta))) {
		op.k.id = id;
		err = emit(fn, ctx, &op, WEFT_M_META, 0, &op.k.id, &w->meta);
	}
	/* Counters of a new service port or backend start absent (= zero):
	 * clear what an id's previous owner may have left; the datapath
	 * makes the entry on first use. A delete of a missing key is cheap,
	 * unlike making 100,000 per-CPU entries up front. */
	if (!err && !c) {
		op.k.id = id;
		err = emit(fn, ctx, &op, WEFT_M_SVC_CNT, 1, &op.k.id, NULL);
	}
	for (size_t i = 0; !err && i < w->nbe; i++) {
		if (c && be_same(be_find(c, w->be[i].idx), &w->be[i]))
			continue;
		op.k.be = (struct weft_be_key){ id, w->be[i].idx };
		if (!c || !be_find(c, w->be[i].idx))
			err = emit(fn, ctx, &op, WEFT_M_BE_CNT, 1, &op.k.be, NULL);
		if (!err)
			err = emit(fn, ctx, &op, WEFT_M_BE, 0, &op.k.be, &w->be[i]);
	}
	for (size_t i = 0; !err && i < w->nslots; i++) {
		const struct weft_backend *be = be_find(w, w->slots[i]);

		if (!be)
			return -EINVAL;
		if (c && i < c->nslots && c->slots[i] == w->slots[i] &&
		    be_same(be_find(c, c->slots[i]), be))
			continue;
		op.k.slot = (struct weft_slot_key){ id, i };
		err = emit(fn, ctx, &op, WEFT_M_SLOT, 0, &op.k.slot, be);
	}
	if (!err && (!c || memcmp(&c->val, &w->val, sizeof(w->val))))
		err = emit(fn, ctx, &op, WEFT_M_SVC, 0, &w->key, &w->val);
	for (size_t i = w->nslots; !err && c && i < c->nslots; i++) {
		op.k.slot = (struct weft_slot_key){ id, i };
		err = emit(fn, ctx, &op, WEFT_M_SLOT, 1, &op.k.slot, NULL);
	}
	for (size_t i = 0; !err && c && i < c->nbe; i++) {
		if (be_find(w, c->be[i].idx))
			continue;
		op.k.be = (struct weft_be_key){ id, c->be[i].idx };
		err = emit(fn, ctx, &op, WEFT_M_BE, 1, &op.k.be, NULL);
		if (!err)
			err = emit(fn, ctx, &op, WEFT_M_BE_CNT, 1, &op.k.be, NULL);
	}
	return err;
}

int weft_diff(const struct weft_state *cur, const struct weft_state *want, weft_op_fn fn, void *ctx)
{
	int err = 0;

	for (size_t i = 0; !err && i < cur->norphans; i++)
		err = diff_remove(&cur->orphans[i], false, fn, ctx);
	for (size_t i = 0; !err && i < cur->n; i++) {
		if (!weft_state_find(want, &cur->sp[i].key))
			err = diff_remove(&cur->sp[i], true, fn, ctx);
	}
	for (size_t i = 0; !err && i < want->n; i++)
		err = diff_update(weft_state_find(cur, &want->sp[i].key), &want->sp[i], fn, ctx);
	return err;
}
