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

static int be_cmp(const void *a, const void *b)
{
	uint32_t x = ((const struct weft_backend *)a)->idx, y = ((const struct weft_backend *)b)->idx;

	return x < y ? -1 : x > y;
}

/* The backend of a service port with index idx (sp->be is sorted by idx). */
static const struct weft_backend *be_find(const struct weft_sp *sp, uint32_t idx)
{
	struct weft_backend probe = { .idx = idx };

	return sp->nbe ? bsearch(&probe, sp->be, sp->nbe, sizeof(*sp->be), be_cmp) : NULL;
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
 * backend of this service port uses. A port a route takes has the route's
 * backends (routed, nrouted: all in use) instead of the service's own; its
 * refusing share is the zero backend (weft/abi.h). */
static int build_backends(struct weft_sp *sp, const struct weft_service *svc,
			  const struct weft_port *port, const struct weft_sp *cur,
			  const struct weft_datapath_cfg *dp, bool external, bool routed,
			  const struct weft_backend_cfg *rbe, size_t nrouted)
{
	const struct weft_backend_cfg *list = routed ? rbe : svc->backends;
	size_t nlist = routed ? nrouted : svc->nbackends;
	bool *use = calloc(nlist + 1, sizeof(*use));
	uint32_t next = 0;
	size_t k = 0;

	if (!use)
		return -ENOMEM;
	/* those new connections may go to (conditions, node-local, topology);
	 * a route's backends are all in use */
	if (routed)
		for (size_t i = 0; i < nlist; i++)
			use[i] = true;
	sp->nbe = routed ? nrouted : weft_service_in_use(svc, dp->node_name, dp->zone, external, use);
	sp->be = sp->nbe ? calloc(sp->nbe, sizeof(*sp->be)) : NULL;
	if (sp->nbe && !sp->be) {
		free(use);
		return -ENOMEM;
	}
	for (size_t i = 0; i < nlist; i++) {
		const struct weft_backend_cfg *b = &list[i];
		struct weft_backend *be;

		if (!use[i])
			continue;
		be = &sp->be[k++];

		memcpy(be->addr, &b->ip.a, 16);
		be->port = htons(b->port ? b->port : port->target_port);
		if (b->refuse) {
			memset(be->addr, 0, sizeof(be->addr));
			be->port = 0;
		}
		be->weight = b->weight;
		be->idx = UINT32_MAX;
		for (size_t j = 0; cur && j < cur->nbe; j++) {
			if (!memcmp(cur->be[j].addr, be->addr, 16) && cur->be[j].port == be->port)
				be->idx = cur->be[j].idx;
		}
	}
	free(use);
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
	if (sp->nbe)
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
	sp->meta.nbackends = sp->nbe;
}

/* Resilience settings (TCP ports only: they act on TCP connect()). */
static void build_res(struct weft_sp *sp, const struct weft_service *svc,
		      const struct weft_port *port)
{
	if (port->proto != IPPROTO_TCP || !weft_service_resilient(svc))
		return;
	sp->val.flags |= WEFT_SVC_F_RES;
	sp->res.abort_ppm = svc->abort_ppm;
	sp->res.max_conns = svc->max_conns;
	sp->res.errors = svc->outlier.errors;
	sp->res.interval_s = svc->outlier.interval;
	sp->res.eject_s = svc->outlier.eject_s;
	sp->res.eject_pct = svc->outlier.eject_pct;
	sp->res.nbackends = sp->nbe;
	for (size_t i = 0; i < sp->nbe; i++)
		if (sp->be[i].idx >= sp->res.idx_end)
			sp->res.idx_end = sp->be[i].idx + 1;
}

static bool has_res(const struct weft_sp *sp)
{
	return sp && (sp->val.flags & WEFT_SVC_F_RES);
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

/* One frontend of a service port: its own id, backends and table. */
static int build_sp(struct weft_sp *sp, const struct weft_model *m, const struct weft_service *svc,
		    const struct weft_port *port, const struct weft_frontend *fe,
		    const struct weft_state *cur, struct idset *ids, uint32_t *hint,
		    const struct weft_datapath_cfg *dp)
{
	long route = weft_route_find(m, svc, port);
	struct weft_backend_cfg *routed = NULL;
	size_t nrouted = 0;
	const struct weft_sp *c;
	int err;

	memcpy(sp->key.addr, &fe->ip.a, 16);
	sp->key.port = htons(fe->port);
	sp->key.proto = port->proto;
	c = weft_state_find(cur, &sp->key);
	sp->val.id = c ? c->val.id : id_alloc(ids, hint);
	sp->val.lb = svc->lb;
	sp->val.affinity = svc->affinity;
	if (route >= 0) {
		err = weft_route_backends(m, &m->routes[route], svc, port, dp->node_name, &routed,
					  &nrouted);
		if (err)
			return err;
		if (nrouted > WEFT_LB_MAX_BACKENDS) {
			free(routed);
			return -E2BIG;
		}
	}
	err = build_backends(sp, svc, port, c, dp, fe->kind != WEFT_FE_VIP, route >= 0, routed,
			     nrouted);
	free(routed);
	if (err)
		return err;
	build_meta(sp, svc, port);
	build_res(sp, svc, port);
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
	size_t nsp = 0, nbe = 0, nslots = 0, nrbe = 0, k = 0, maxfe = 0;
	struct idset ids = { .max = dp->max_services };
	struct weft_frontend *fe = NULL;
	uint32_t hint = 1;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	/* one entry of weft_svc per frontend (vip, external and LB addresses,
	 * node ports), each with its own backends */
	for (size_t i = 0; i < cfg->nservices; i++) {
		const struct weft_service *svc = &cfg->services[i];

		for (size_t j = 0; j < svc->nports; j++) {
			size_t n = weft_port_frontends(cfg, svc, &svc->ports[j], NULL);

			nsp += n;
			nbe += n * svc->nbackends;
			maxfe = n > maxfe ? n : maxfe;
		}
	}
	ret = check_limit(weft_map_name(WEFT_M_SVC), nsp, dp->max_services, "max_services", err, errlen);
	if (!ret)
		ret = check_limit(weft_map_name(WEFT_M_BE), nbe, dp->max_backends, "max_backends", err, errlen);
	if (ret)
		return ret;
	ids.bits = calloc(ids.max / 8 + 1, 1);
	out->sp = calloc(nsp ? nsp : 1, sizeof(*out->sp));
	fe = calloc(maxfe + 1, sizeof(*fe));
	if (!ids.bits || !out->sp || !fe) {
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

		for (size_t j = 0; j < svc->nports; j++) {
			size_t nfe = weft_port_frontends(cfg, svc, &svc->ports[j], fe);

			for (size_t f = 0; f < nfe; f++, k++) {
				ret = build_sp(&out->sp[k], cfg, svc, &svc->ports[j], &fe[f], cur, &ids,
					       &hint, dp);
				out->n = k + 1;
				if (ret == 0 && out->sp[k].val.id == 0)
					ret = -ENOSPC;
				if (ret) {
					snprintf(err, errlen, "services[%zu] (%s/%s) port %u: %s", i,
						 svc->ns, svc->name, fe[f].port,
						 ret == -ENOSPC ? "no free service id (raise datapath.max_services)"
								: strerror(-ret));
					goto fail;
				}
				nslots += out->sp[k].nslots;
				nrbe += out->sp[k].nbe;
			}
		}
	}
	/* routes take backends of other services: the set built is what counts */
	ret = check_limit(weft_map_name(WEFT_M_BE), nrbe, dp->max_backends, "max_backends", err, errlen);
	if (!ret)
		ret = check_limit(weft_map_name(WEFT_M_SLOT), nslots, dp->max_slots, "max_slots", err, errlen);
	if (ret)
		goto fail;
	qsort(out->sp, out->n, sizeof(*out->sp), weft_sp_cmp);
	free(ids.bits);
	free(fe);
	return 0;
fail:
	free(ids.bits);
	free(fe);
	weft_state_free(out);
	return ret;
}

/* --- diff ----------------------------------------------------------------- */

/*
 * The diff runs in phases over every service port, so that one phase writes
 * one map (and the writer sends it in batches), while each service port
 * still sees its writes in the safe order (see weft_diff in services.h).
 */
struct emitter {
	weft_op_fn fn;
	void *ctx;
};

static int emit(const struct emitter *e, enum weft_map_id map, int del, const void *key,
		const void *value)
{
	struct weft_op op = { .map = map, .del = del, .key = key, .value = value };

	return e->fn(&op, e->ctx);
}

static int emit_be(const struct emitter *e, enum weft_map_id map, int del, uint32_t id,
		   uint32_t idx, const void *value)
{
	struct weft_be_key k = { id, idx };

	return emit(e, map, del, &k, value);
}

static int emit_slot(const struct emitter *e, int del, uint32_t id, uint32_t slot,
		     const void *value)
{
	struct weft_slot_key k = { id, slot };

	return emit(e, WEFT_M_SLOT, del, &k, value);
}

static bool be_same(const struct weft_backend *a, const struct weft_backend *b)
{
	return a && b && !memcmp(a, b, sizeof(*a));
}

/* Removed service ports (and orphaned ids: has_svc false), one map at a
 * time: weft_svc first (no new connects), then slots, backends and their
 * counters, names and counters. */
enum { RM_SVC, RM_RES, RM_SLOT, RM_BE, RM_BE_CNT, RM_BE_STATE, RM_META, RM_SVC_CNT, RM_PHASES };

static int diff_remove(const struct emitter *e, const struct weft_sp *sp, bool has_svc, int phase)
{
	uint32_t id = sp->val.id;
	int err = 0;

	switch (phase) {
	case RM_SVC:
		return has_svc ? emit(e, WEFT_M_SVC, 1, &sp->key, NULL) : 0;
	case RM_RES:
		return has_res(sp) ? emit(e, WEFT_M_SVC_RES, 1, &id, NULL) : 0;
	case RM_BE_STATE:
		for (size_t i = 0; !err && has_res(sp) && i < sp->nbe; i++)
			err = emit_be(e, WEFT_M_BE_STATE, 1, id, sp->be[i].idx, NULL);
		return err;
	case RM_SLOT:
		for (size_t i = 0; !err && i < sp->nslots; i++)
			err = emit_slot(e, 1, id, i, NULL);
		return err;
	case RM_BE:
	case RM_BE_CNT:
		for (size_t i = 0; !err && i < sp->nbe; i++)
			err = emit_be(e, phase == RM_BE ? WEFT_M_BE : WEFT_M_BE_CNT, 1, id,
				      sp->be[i].idx, NULL);
		return err;
	case RM_META:
		return emit(e, WEFT_M_META, 1, &id, NULL);
	default:
		return emit(e, WEFT_M_SVC_CNT, 1, &id, NULL);
	}
}

/* Changed and new service ports, phase by phase. */
enum { UP_META, UP_SVC_CNT, UP_BE_CNT, UP_BE_STATE, UP_BE, UP_SLOT, UP_RES, UP_SVC, UP_RES_GONE,
       UP_SLOT_TAIL, UP_BE_GONE, UP_BE_CNT_GONE, UP_BE_STATE_GONE, UP_PHASES };

static int diff_update(const struct emitter *e, const struct weft_sp *c, const struct weft_sp *w,
		       int phase)
{
	uint32_t id = w->val.id;
	int err = 0;

	switch (phase) {
	case UP_META:
		if (!c || memcmp(&c->meta, &w->meta, sizeof(w->meta)))
			err = emit(e, WEFT_M_META, 0, &id, &w->meta);
		return err;
	case UP_SVC_CNT:
		/* Counters of a new service port or backend start absent
		 * (= zero): clear what an id's previous owner may have left;
		 * the datapath makes the entry on first use. A delete of a
		 * missing key is cheap, unlike making 100,000 per-CPU entries
		 * up front. */
		return c ? 0 : emit(e, WEFT_M_SVC_CNT, 1, &id, NULL);
	case UP_BE_CNT:
	case UP_BE:
		for (size_t i = 0; !err && i < w->nbe; i++) {
			const struct weft_backend *old = c ? be_find(c, w->be[i].idx) : NULL;

			if (phase == UP_BE_CNT && !old)
				err = emit_be(e, WEFT_M_BE_CNT, 1, id, w->be[i].idx, NULL);
			else if (phase == UP_BE && !be_same(old, &w->be[i]))
				err = emit_be(e, WEFT_M_BE, 0, id, w->be[i].idx, &w->be[i]);
		}
		return err;
	case UP_BE_STATE:
		/* A resilient service port's new backend starts with no
		 * state (as its counters do); the programs make the entry. */
		for (size_t i = 0; !err && has_res(w) && i < w->nbe; i++)
			if (!c || !be_find(c, w->be[i].idx))
				err = emit_be(e, WEFT_M_BE_STATE, 1, id, w->be[i].idx, NULL);
		return err;
	case UP_RES:
		/* Settings before the flag that makes connect read them. */
		if (has_res(w) && (!has_res(c) || memcmp(&c->res, &w->res, sizeof(w->res))))
			err = emit(e, WEFT_M_SVC_RES, 0, &id, &w->res);
		return err;
	case UP_RES_GONE:
		return has_res(c) && !has_res(w) ? emit(e, WEFT_M_SVC_RES, 1, &id, NULL) : 0;
	case UP_BE_STATE_GONE:
		for (size_t i = 0; !err && has_res(c) && i < c->nbe; i++)
			if (!be_find(w, c->be[i].idx))
				err = emit_be(e, WEFT_M_BE_STATE, 1, id, c->be[i].idx, NULL);
		return err;
	case UP_SLOT:
		/* Growing tables: new slots before nslots grows. */
		for (size_t i = 0; !err && i < w->nslots; i++) {
			const struct weft_backend *be = be_find(w, w->slots[i]);

			if (!be)
				return -EINVAL;
			if (c && i < c->nslots && c->slots[i] == w->slots[i] &&
			    be_same(be_find(c, c->slots[i]), be))
				continue;
			err = emit_slot(e, 0, id, i, be);
		}
		return err;
	case UP_SVC:
		if (!c || memcmp(&c->val, &w->val, sizeof(w->val)))
			err = emit(e, WEFT_M_SVC, 0, &w->key, &w->val);
		return err;
	case UP_SLOT_TAIL:
		/* Shrinking tables: nslots shrank before the tail goes. */
		for (size_t i = w->nslots; !err && c && i < c->nslots; i++)
			err = emit_slot(e, 1, id, i, NULL);
		return err;
	default:
		for (size_t i = 0; !err && c && i < c->nbe; i++)
			if (!be_find(w, c->be[i].idx))
				err = emit_be(e, phase == UP_BE_GONE ? WEFT_M_BE : WEFT_M_BE_CNT, 1,
					      id, c->be[i].idx, NULL);
		return err;
	}
}

int weft_diff(const struct weft_state *cur, const struct weft_state *want, weft_op_fn fn, void *ctx)
{
	const struct emitter e = { fn, ctx };
	int err = 0;

	for (int ph = 0; !err && ph < RM_PHASES; ph++) {
		for (size_t i = 0; !err && i < cur->norphans; i++)
			err = diff_remove(&e, &cur->orphans[i], false, ph);
		for (size_t i = 0; !err && i < cur->n; i++)
			if (!weft_state_find(want, &cur->sp[i].key))
				err = diff_remove(&e, &cur->sp[i], true, ph);
	}
	for (int ph = 0; !err && ph < UP_PHASES; ph++)
		for (size_t i = 0; !err && i < want->n; i++)
			err = diff_update(&e, weft_state_find(cur, &want->sp[i].key), &want->sp[i], ph);
	return err;
}

/* --- write ---------------------------------------------------------------- */

static int diff_states(const void *cur, const void *want, weft_op_fn fn, void *ctx)
{
	return weft_diff(cur, want, fn, ctx);
}

int weft_apply(const struct weft_maps *maps, const struct weft_state *cur,
	       const struct weft_state *want, uint64_t *nops, char *err, size_t errlen)
{
	return weft_write(maps, diff_states, cur, want, NULL, NULL, nops, err, errlen);
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
	size_t cap, ocap;
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
	if (grow((void **)&st->orphans, &r->ocap, st->norphans + 1, sizeof(*o)))
		return NULL;
	o = &st->orphans[st->norphans++];
	memset(o, 0, sizeof(*o));
	o->val.id = id;
	return o;
}

static int read_svc(const void *key, const void *val, void *ctx)
{
	struct reader *r = ctx;
	struct weft_sp *sp;

	if (grow((void **)&r->st->sp, &r->cap, r->st->n + 1, sizeof(*sp)))
		return -ENOMEM;
	sp = &r->st->sp[r->st->n++];
	memset(sp, 0, sizeof(*sp));
	memcpy(&sp->key, key, sizeof(sp->key));
	memcpy(&sp->val, val, sizeof(sp->val));
	return 0;
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

static int read_slot(const void *key, const void *val, void *ctx)
{
	const struct weft_slot_key *k = key;
	const struct weft_backend *be = val;
	struct weft_sp *sp = sp_by_id(ctx, k->svc_id);

	return sp ? add_slot(sp, k->slot, be->idx) : -ENOMEM;
}

/* Backends arrive in any order: appended with doubling (nbe's capacity is
 * the next power of two), sorted by idx at the end. */
static int read_be(const void *key, const void *val, void *ctx)
{
	const struct weft_be_key *k = key;
	struct weft_sp *sp = sp_by_id(ctx, k->svc_id);

	if (!sp)
		return -ENOMEM;
	if (!(sp->nbe & (sp->nbe - 1))) {	/* 0, 1, 2, 4, ...: full */
		struct weft_backend *b = realloc(sp->be, (sp->nbe ? 2 * sp->nbe : 1) * sizeof(*b));

		if (!b)
			return -ENOMEM;
		sp->be = b;
	}
	memcpy(&sp->be[sp->nbe], val, sizeof(*sp->be));
	sp->be[sp->nbe++].idx = k->idx;
	return 0;
}

static int read_res(const void *key, const void *val, void *ctx)
{
	struct weft_sp *sp = sp_by_id(ctx, *(const uint32_t *)key);

	if (!sp)
		return -ENOMEM;
	memcpy(&sp->res, val, sizeof(sp->res));
	sp->val.flags |= WEFT_SVC_F_RES;	/* an orphan's entry is deleted with it */
	return 0;
}

static int read_meta(const void *key, const void *val, void *ctx)
{
	struct weft_sp *sp = sp_by_id(ctx, *(const uint32_t *)key);

	if (!sp)
		return -ENOMEM;
	memcpy(&sp->meta, val, sizeof(sp->meta));
	return 0;
}

int weft_state_read(const struct weft_maps *maps, struct weft_state *out, char *err, size_t errlen)
{
	struct reader r = { .st = out };
	enum weft_map_id what = WEFT_M_SVC;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = weft_map_each(maps->fd[WEFT_M_SVC], sizeof(struct weft_svc_key),
			    sizeof(struct weft_svc_val), read_svc, &r);
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
	/* Every table starts as nslots holes, so a missing slot is rewritten. */
	for (size_t i = 0; !ret && i < out->n; i++)
		if (out->sp[i].val.nslots)
			ret = add_slot(&out->sp[i], out->sp[i].val.nslots - 1, UINT32_MAX);
	if (!ret) {
		what = WEFT_M_META;
		ret = weft_map_each(maps->fd[WEFT_M_META], sizeof(uint32_t),
				    sizeof(struct weft_svc_meta), read_meta, &r);
	}
	if (!ret) {
		what = WEFT_M_SVC_RES;
		ret = weft_map_each(maps->fd[WEFT_M_SVC_RES], sizeof(uint32_t),
				    sizeof(struct weft_svc_res), read_res, &r);
	}
	if (!ret) {
		what = WEFT_M_BE;
		ret = weft_map_each(maps->fd[WEFT_M_BE], sizeof(struct weft_be_key),
				    sizeof(struct weft_backend), read_be, &r);
	}
	if (!ret) {
		what = WEFT_M_SLOT;
		ret = weft_map_each(maps->fd[WEFT_M_SLOT], sizeof(struct weft_slot_key),
				    sizeof(struct weft_backend), read_slot, &r);
	}
	free(r.index);
	if (ret)
		goto fail;
	for (size_t i = 0; i < out->n; i++)
		if (out->sp[i].nbe)
			qsort(out->sp[i].be, out->sp[i].nbe, sizeof(struct weft_backend), be_cmp);
	for (size_t i = 0; i < out->norphans; i++)
		if (out->orphans[i].nbe)
			qsort(out->orphans[i].be, out->orphans[i].nbe, sizeof(struct weft_backend),
			      be_cmp);
	return 0;
fail:
	snprintf(err, errlen, "map %s: read: %s", weft_map_name(what), strerror(-ret));
	weft_state_free(out);
	return ret;
}
