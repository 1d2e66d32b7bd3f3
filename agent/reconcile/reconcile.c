// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* reconcile: the table of steps and the one apply (see reconcile.h). */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "datapath/datapath.h"
#include "lib/log.h"
#include "reconcile/endpoints.h"
#include "reconcile/netns.h"
#include "reconcile/reconcile.h"
#include "reconcile/redirect.h"
#include "reconcile/write.h"

/* The tc step: interfaces of policed endpoints, sorted by name. */
struct tcset {
	struct weft_tc_status *v;
	size_t n;
};

/* What each step holds: cur (what the maps hold) and want (being applied). */
struct weft_rec {
	const struct weft_maps *maps;
	struct weft_datapath *dp;
	struct weft_state svc, svc_want;
	struct weft_redir_state redir, redir_want;
	struct weft_pol_state pol, pol_want;
	struct weft_kvset ep, ep_want;
	struct weft_kvset ns, ns_want;
	struct weft_obs_cfg obs, obs_want;
	struct tcset tc, tc_want;
};

/*
 * A step: build the wanted contents into r (from m and what the steps
 * before it hold), diff cur against want, read cur from the maps, and
 * commit (cur = want) or drop (free want) after the writes.
 */
struct step {
	const char *name;
	int (*build)(struct weft_rec *r, const struct weft_model *m, char *err, size_t errlen);
	weft_diff_fn diff;
	const void *(*cur)(const struct weft_rec *r);
	const void *(*want)(const struct weft_rec *r);
	int (*read)(struct weft_rec *r, char *err, size_t errlen);
	void (*commit)(struct weft_rec *r);
	void (*drop)(struct weft_rec *r);
};

#define STATE(step, field)                                                                     \
	static const void *step##_cur(const struct weft_rec *r) { return &r->field; }         \
	static const void *step##_want(const struct weft_rec *r) { return &r->field##_want; }

/* --- services ------------------------------------------------------------- */

STATE(svc, svc)

static int svc_build(struct weft_rec *r, const struct weft_model *m, char *err, size_t errlen)
{
	return weft_state_build(m, &r->svc, &r->svc_want, err, errlen);
}

static int svc_diff(const void *cur, const void *want, weft_op_fn fn, void *ctx)
{
	return weft_diff(cur, want, fn, ctx);
}

static int svc_read(struct weft_rec *r, char *err, size_t errlen)
{
	weft_state_free(&r->svc);
	return weft_state_read(r->maps, &r->svc, err, errlen);
}

static void svc_commit(struct weft_rec *r)
{
	weft_state_free(&r->svc);
	r->svc = r->svc_want;
	memset(&r->svc_want, 0, sizeof(r->svc_want));
}

static void svc_drop(struct weft_rec *r)
{
	weft_state_free(&r->svc_want);
}

/* --- redirect ------------------------------------------------------------- */

STATE(redir, redir)

static int redir_build(struct weft_rec *r, const struct weft_model *m, char *err, size_t errlen)
{
	int ret = weft_redir_build(m, r->pol.epoch, &r->redir_want);

	if (ret)
		snprintf(err, errlen, "%s", strerror(-ret));
	return ret;
}

static int redir_read(struct weft_rec *r, char *err, size_t errlen)
{
	int ret;

	weft_redir_free(&r->redir);
	ret = weft_redir_read(r->maps, &r->redir);
	if (ret)
		snprintf(err, errlen, "map %s: read: %s", weft_map_name(WEFT_M_REDIR_OFF),
			 strerror(-ret));
	return ret;
}

static void redir_commit(struct weft_rec *r)
{
	weft_redir_free(&r->redir);
	r->redir = r->redir_want;
	weft_redir_init(&r->redir_want);
	r->pol.flip = r->redir.cfg;	/* what a flip keeps */
}

static void redir_drop(struct weft_rec *r)
{
	weft_redir_free(&r->redir_want);
}

/* --- policy --------------------------------------------------------------- */

STATE(pol, pol)

static int pol_build(struct weft_rec *r, const struct weft_model *m, char *err, size_t errlen)
{
	int ret = weft_pol_build(m, &r->pol, &r->pol_want, err, errlen);

	if (!ret)
		r->pol_want.flip = r->redir.cfg;
	return ret;
}

static int pol_diff(const void *cur, const void *want, weft_op_fn fn, void *ctx)
{
	return weft_pol_diff(cur, want, fn, ctx);
}

static int pol_read(struct weft_rec *r, char *err, size_t errlen)
{
	weft_pol_free(&r->pol);
	return weft_pol_read(r->maps, &r->pol, err, errlen);
}

static void pol_commit(struct weft_rec *r)
{
	weft_pol_free(&r->pol);
	r->pol = r->pol_want;
	memset(&r->pol_want, 0, sizeof(r->pol_want));
	r->redir.cfg.policy_epoch = r->pol.epoch;
}

static void pol_drop(struct weft_rec *r)
{
	weft_pol_free(&r->pol_want);
}

/* --- endpoints and their network namespaces -------------------------------- */

STATE(ep, ep)
STATE(ns, ns)

/* An array of entries into a wanted set (the arrays are key, then value). */
static int set_from(struct weft_kvset *s, enum weft_map_id map, const void *ents, size_t n,
		    size_t stride)
{
	weft_kvset_init(s, map);
	for (size_t i = 0; i < n; i++) {
		const char *e = (const char *)ents + i * stride;
		int ret = weft_kvset_add(s, e, e + s->ksize);

		if (ret)
			return ret;
	}
	weft_kvset_sort(s);
	return 0;
}

static int ep_build(struct weft_rec *r, const struct weft_model *m, char *err, size_t errlen)
{
	struct weft_ep_ent *e = NULL;
	size_t n = 0;
	int ret = weft_ep_build(m, &r->pol, &e, &n);

	if (!ret)
		ret = set_from(&r->ep_want, WEFT_M_EP, e, n, sizeof(*e));
	free(e);
	if (ret)
		snprintf(err, errlen, "%s", strerror(-ret));
	return ret;
}

static int ns_build(struct weft_rec *r, const struct weft_model *m, char *err, size_t errlen)
{
	struct weft_ns_ent *e = NULL;
	size_t n = 0;
	int ret = weft_ns_ep_build(m, &e, &n);

	if (!ret)
		ret = set_from(&r->ns_want, WEFT_M_NS_EP, e, n, sizeof(*e));
	free(e);
	if (ret)
		snprintf(err, errlen, "finding pod network namespaces: %s", strerror(-ret));
	return ret;
}

static int set_read(const struct weft_maps *maps, struct weft_kvset *s, char *err, size_t errlen)
{
	int ret = weft_kvset_read(maps, s);

	if (ret)
		snprintf(err, errlen, "map %s: read: %s", weft_map_name(s->map), strerror(-ret));
	return ret;
}

static int ep_read(struct weft_rec *r, char *err, size_t errlen)
{
	return set_read(r->maps, &r->ep, err, errlen);
}

static int ns_read(struct weft_rec *r, char *err, size_t errlen)
{
	return set_read(r->maps, &r->ns, err, errlen);
}

static void set_commit(struct weft_kvset *cur, struct weft_kvset *want)
{
	weft_kvset_free(cur);
	*cur = *want;
	weft_kvset_init(want, cur->map);
}

static void ep_commit(struct weft_rec *r)
{
	set_commit(&r->ep, &r->ep_want);
}

static void ns_commit(struct weft_rec *r)
{
	set_commit(&r->ns, &r->ns_want);
}

static void ep_drop(struct weft_rec *r)
{
	weft_kvset_free(&r->ep_want);
}

static void ns_drop(struct weft_rec *r)
{
	weft_kvset_free(&r->ns_want);
}

/* --- observability ------------------------------------------------------- */

STATE(obs, obs)

static int obs_build(struct weft_rec *r, const struct weft_model *m, char *err, size_t errlen)
{
	int ret = weft_obs_build(r->maps, m, &r->obs_want);

	if (ret)
		snprintf(err, errlen, "map %s: read: %s", weft_map_name(WEFT_M_OBS_CFG),
			 strerror(-ret));
	return ret;
}

static int obs_read(struct weft_rec *r, char *err, size_t errlen)
{
	int ret = weft_obs_read(r->maps, &r->obs);

	if (ret)
		snprintf(err, errlen, "map %s: read: %s", weft_map_name(WEFT_M_OBS_CFG),
			 strerror(-ret));
	return ret;
}

static void obs_commit(struct weft_rec *r)
{
	r->obs = r->obs_want;
}

static void obs_drop(struct weft_rec *r)
{
	(void)r;
}

/* --- tc ------------------------------------------------------------------- */

STATE(tc, tc)

static int tc_cmp(const void *a, const void *b)
{
	return strcmp(((const struct weft_tc_status *)a)->interface,
		      ((const struct weft_tc_status *)b)->interface);
}

/* One more address of an interface (each once, at most WEFT_IF_ADDRS: the
 * ones beyond are logged: their packets will be dropped as spoofed). */
static void tc_add_src(struct weft_tc_status *t, const struct weft_endpoint *ep)
{
	struct weft_if_src *src = &t->src;

	for (uint32_t j = 0; j < src->naddr; j++)
		if (!memcmp(src->addr[j], &ep->ip.a, 16))
			return;
	if (src->naddr == WEFT_IF_ADDRS) {
		weft_log(LOG_ERROR, "reconcile: tc: endpoint %s/%s: interface %s has more than %d endpoint addresses: packets from this one are dropped as spoofed",
			 ep->ns, ep->name, t->interface, WEFT_IF_ADDRS);
		return;
	}
	memcpy(src->addr[src->naddr++], &ep->ip.a, 16);
}

/* The interfaces of the endpoints, while any policy exists (an interface
 * shared by endpoints is one entry, named by the first of them, with every
 * endpoint's address: the sources tc accepts from it). */
static int tc_build(struct weft_rec *r, const struct weft_model *m, char *err, size_t errlen)
{
	struct tcset *w = &r->tc_want;
	size_t k = 0;

	w->n = 0;
	w->v = calloc(m->nendpoints + 1, sizeof(*w->v));
	if (!w->v) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	for (size_t i = 0; m->npolicies && i < m->nendpoints; i++) {
		const struct weft_endpoint *ep = &m->endpoints[i];
		struct weft_tc_status *t = &w->v[k];

		if (!ep->interface[0] || ep->remote)
			continue;
		snprintf(t->interface, sizeof(t->interface), "%s", ep->interface);
		snprintf(t->endpoint, sizeof(t->endpoint), "%s", ep->name);
		snprintf(t->ns, sizeof(t->ns), "%s", ep->ns);
		k++;
	}
	if (k > 1)
		qsort(w->v, k, sizeof(*w->v), tc_cmp);
	for (size_t i = 0; i < k; i++)	/* the first of each name */
		if (!w->n || tc_cmp(&w->v[w->n - 1], &w->v[i]))
			w->v[w->n++] = w->v[i];
	for (size_t i = 0; m->npolicies && i < m->nendpoints; i++) {
		const struct weft_endpoint *ep = &m->endpoints[i];
		struct weft_tc_status key = { 0 }, *t;

		if (!ep->interface[0] || ep->remote)
			continue;
		snprintf(key.interface, sizeof(key.interface), "%s", ep->interface);
		t = bsearch(&key, w->v, w->n, sizeof(*w->v), tc_cmp);
		if (t)
			tc_add_src(t, ep);
	}
	return 0;
}

/* Attach to the interfaces wanted anew (or now named by another endpoint),
 * then detach from those no longer wanted. */
static int tc_diff(const void *vcur, const void *vwant, weft_op_fn fn, void *ctx)
{
	const struct tcset *cur = vcur, *want = vwant;
	int ret = 0;

	for (size_t i = 0; !ret && i < want->n; i++) {
		const struct weft_tc_status *c =
			cur->n ? bsearch(&want->v[i], cur->v, cur->n, sizeof(*cur->v), tc_cmp) : NULL;
		struct weft_op op = { .kind = WEFT_OP_ACTION, .key = &want->v[i] };

		if (!c || strcmp(c->endpoint, want->v[i].endpoint) || strcmp(c->ns, want->v[i].ns) ||
		    memcmp(&c->src, &want->v[i].src, sizeof(c->src)))
			ret = fn(&op, ctx);
	}
	for (size_t i = 0; !ret && i < cur->n; i++) {
		struct weft_op op = { .kind = WEFT_OP_ACTION, .del = 1, .key = &cur->v[i] };

		if (!want->n || !bsearch(&cur->v[i], want->v, want->n, sizeof(*want->v), tc_cmp))
			ret = fn(&op, ctx);
	}
	/* Last, what an earlier weftd left on interfaces no longer wanted
	 * (key NULL: the sweep). */
	if (!ret) {
		struct weft_op sweep = { .kind = WEFT_OP_ACTION };

		ret = fn(&sweep, ctx);
	}
	return ret;
}

/* What this weftd attached, as the datapath tracks it. */
static int tc_read(struct weft_rec *r, char *err, size_t errlen)
{
	size_t n = r->dp ? weft_datapath_tc_status(r->dp, NULL, 0) : 0;

	free(r->tc.v);
	r->tc.n = 0;
	r->tc.v = calloc(n + 1, sizeof(*r->tc.v));
	if (!r->tc.v) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	if (n)
		r->tc.n = weft_datapath_tc_status(r->dp, r->tc.v, n);
	if (r->tc.n > 1)
		qsort(r->tc.v, r->tc.n, sizeof(*r->tc.v), tc_cmp);
	return 0;
}

static void tc_commit(struct weft_rec *r)
{
	free(r->tc.v);
	r->tc = r->tc_want;
	memset(&r->tc_want, 0, sizeof(r->tc_want));
}

static void tc_drop(struct weft_rec *r)
{
	free(r->tc_want.v);
	memset(&r->tc_want, 0, sizeof(r->tc_want));
}

static int tc_action(void *actx, const struct weft_op *op, char *err, size_t errlen)
{
	struct weft_rec *r = actx;
	int ret;

	if (!r->dp)
		return 0;
	if (op->key)
		return weft_datapath_tc_want(r->dp, op->key, !op->del, err, errlen);
	ret = weft_datapath_tc_sweep(r->dp);
	if (ret)
		snprintf(err, errlen, "tc: sweeping interfaces of an earlier weftd: %s", strerror(-ret));
	return ret;
}

/* --- the table ------------------------------------------------------------ */

#define STEP(id_, name_, p, diff_)                                                              \
	[id_] = { name_, p##_build, diff_, p##_cur, p##_want, p##_read, p##_commit, p##_drop }

static const struct step steps[WEFT_STEP_COUNT] = {
	STEP(WEFT_STEP_SERVICES, "services", svc, svc_diff),
	STEP(WEFT_STEP_REDIRECT, "redirect", redir, weft_redir_diff),
	STEP(WEFT_STEP_POLICY, "policy", pol, pol_diff),
	STEP(WEFT_STEP_ENDPOINTS, "endpoints", ep, weft_kvset_diff),
	STEP(WEFT_STEP_NETNS, "netns", ns, weft_kvset_diff),
	STEP(WEFT_STEP_OBSERVABILITY, "observability", obs, weft_obs_diff),
	STEP(WEFT_STEP_TC, "tc", tc, tc_diff),
};

const char *weft_rec_step_name(enum weft_step_id id)
{
	return (unsigned int)id < WEFT_STEP_COUNT ? steps[id].name : "?";
}

struct weft_rec *weft_rec_new(const struct weft_maps *maps, struct weft_datapath *dp)
{
	struct weft_rec *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->maps = maps;
	r->dp = dp;
	weft_redir_init(&r->redir);
	weft_redir_init(&r->redir_want);
	weft_kvset_init(&r->ep, WEFT_M_EP);
	weft_kvset_init(&r->ep_want, WEFT_M_EP);
	weft_kvset_init(&r->ns, WEFT_M_NS_EP);
	weft_kvset_init(&r->ns_want, WEFT_M_NS_EP);
	return r;
}

void weft_rec_free(struct weft_rec *r)
{
	if (!r)
		return;
	for (int i = 0; i < WEFT_STEP_COUNT; i++)
		steps[i].drop(r);
	weft_state_free(&r->svc);
	weft_redir_free(&r->redir);
	weft_pol_free(&r->pol);
	weft_kvset_free(&r->ep);
	weft_kvset_free(&r->ns);
	free(r->tc.v);
	free(r);
}

int weft_rec_adopt(struct weft_rec *r, char *err, size_t errlen)
{
	char why[512];

	for (int i = 0; i < WEFT_STEP_COUNT; i++) {
		int ret = steps[i].read(r, why, sizeof(why));

		if (ret) {
			snprintf(err, errlen, "%s: %s", steps[i].name, why);
			return ret;
		}
	}
	r->pol.flip = r->redir.cfg;
	return 0;
}

/* One step: build, write, commit; after a failed write, what the maps hold. */
static int run(struct weft_rec *r, const struct step *s, const struct weft_model *m,
	       uint64_t *nops, char *err, size_t errlen)
{
	char why[512];
	int ret = s->build(r, m, err, errlen);

	*nops = 0;
	if (ret) {
		s->drop(r);
		return ret;
	}
	ret = weft_write(r->maps, s->diff, s->cur(r), s->want(r), tc_action, r, nops, err, errlen);
	if (!ret) {
		s->commit(r);
		return 0;
	}
	s->drop(r);
	if (s->read(r, why, sizeof(why)))
		weft_log(LOG_ERROR, "reconcile: %s: re-read after a failed write: %s", s->name, why);
	return ret;
}

/* --- the traffic of what is gone --------------------------------------- */

/* What the sweep keeps: the service port ids in force and the endpoint
 * addresses before and after the apply (sorted, as the kvsets are). */
struct sweep {
	uint32_t *ids;
	size_t nids;
	const struct weft_kvset *ep;	/* after */
	char *old_ep;			/* before: keys only */
	size_t nold;
	char *del;			/* keys to delete after the walk */
	size_t ndel, capdel;
	uint64_t deleted;
};

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static bool sweep_has_id(const struct sweep *w, uint32_t id)
{
	return bsearch(&id, w->ids, w->nids, sizeof(*w->ids), u32_cmp) != NULL;
}

static bool in_keys(const char *keys, size_t n, size_t stride, const void *addr)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(keys + mid * stride, addr, sizeof(struct weft_addr_key));

		if (!c)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* An endpoint that was in the maps before this apply and is not now. */
static bool sweep_ep_gone(const struct sweep *w, const __be32 *addr)
{
	return in_keys(w->old_ep, w->nold, sizeof(struct weft_addr_key), addr) &&
	       !in_keys(w->ep->ents, w->ep->n, w->ep->ksize + w->ep->vsize, addr);
}

/* Keep key for deletion after the walk (deleting under get_next_key
 * would restart it). */
static int sweep_mark(struct sweep *w, const void *key, size_t ksize)
{
	if (w->ndel == w->capdel) {
		size_t cap = w->capdel ? 2 * w->capdel : 64;
		char *p = realloc(w->del, cap * ksize);

		if (!p)
			return -ENOMEM;
		w->del = p;
		w->capdel = cap;
	}
	memcpy(w->del + w->ndel++ * ksize, key, ksize);
	return 0;
}

static int sweep_edge(const void *key, const void *val, void *ctx)
{
	const struct weft_edge_key *k = key;
	struct sweep *w = ctx;

	(void)val;
	if ((k->svc_id && !sweep_has_id(w, k->svc_id)) || sweep_ep_gone(w, k->client) ||
	    sweep_ep_gone(w, k->server))
		return sweep_mark(w, k, sizeof(*k));
	return 0;
}

static int sweep_hist(const void *key, const void *val, void *ctx)
{
	const struct weft_hist_key *k = key;
	struct sweep *w = ctx;

	(void)val;
	if ((k->svc_id && !sweep_has_id(w, k->svc_id)) || sweep_ep_gone(w, k->server))
		return sweep_mark(w, k, sizeof(*k));
	return 0;
}

/* Walk one map, then delete what was marked. */
static void sweep_map(struct sweep *w, int fd, size_t ksize, weft_map_each_fn fn)
{
	w->ndel = 0;
	if (fd < 0)
		return;
	if (weft_map_keys(fd, ksize, fn, w))
		weft_log(LOG_WARN, "reconcile: observability sweep: out of memory: the rest at the next apply");
	for (size_t i = 0; i < w->ndel; i++)
		w->deleted += bpf_map_delete_elem(fd, w->del + i * ksize) == 0;
}

/* Totals (weft_edge) and histograms (weft_hist) of service ports no longer
 * in force and of endpoints this apply removed: their series leave
 * /metrics instead of folding into "unknown" (and a service port id used
 * again later starts from zero). Strangers' traffic stays. Deleting while
 * walking may skip or revisit a key; the next apply finishes the job. */
static void sweep_obs(struct weft_rec *r, struct sweep *w, uint64_t *nops)
{
	w->ids = calloc(r->svc.n + 1, sizeof(*w->ids));
	if (!w->ids)
		return;
	for (size_t i = 0; i < r->svc.n; i++)
		w->ids[w->nids++] = r->svc.sp[i].val.id;
	qsort(w->ids, w->nids, sizeof(*w->ids), u32_cmp);
	w->ep = &r->ep;
	sweep_map(w, r->maps->fd[WEFT_M_EDGE], sizeof(struct weft_edge_key), sweep_edge);
	sweep_map(w, r->maps->fd[WEFT_M_HIST], sizeof(struct weft_hist_key), sweep_hist);
	*nops += w->deleted;
	free(w->ids);
	free(w->del);
}

int weft_rec_apply(struct weft_rec *r, const struct weft_model *m, unsigned int mask,
		   struct weft_rec_result *res)
{
	const unsigned int names = (1u << WEFT_STEP_SERVICES) | (1u << WEFT_STEP_ENDPOINTS);
	struct weft_rec_result local;
	struct sweep w = { 0 };
	int first = 0;

	if (!res)
		res = &local;
	memset(res, 0, sizeof(*res));
	/* The endpoints' addresses before, for the sweep after. */
	if ((mask & names) == names) {
		w.old_ep = calloc(r->ep.n + 1, sizeof(struct weft_addr_key));
		for (size_t i = 0; w.old_ep && i < r->ep.n; i++)
			memcpy(w.old_ep + i * sizeof(struct weft_addr_key),
			       r->ep.ents + i * (r->ep.ksize + r->ep.vsize), sizeof(struct weft_addr_key));
		w.nold = w.old_ep ? r->ep.n : 0;
	}
	for (int i = 0; i < WEFT_STEP_COUNT; i++) {
		uint64_t nops = 0;
		int ret;

		if (!(mask & (1u << i)))
			continue;
		ret = run(r, &steps[i], m, &nops, res->err[i], sizeof(res->err[i]));
		res->nops += nops;
		if (!ret)
			continue;
		res->failed |= 1u << i;
		weft_log(LOG_ERROR, "reconcile: %s: %s", steps[i].name, res->err[i]);
		if (!first)
			first = ret;
	}
	/* Only when both name sources are in force: a failed step leaves
	 * cur as it was, and so would mistake nothing for gone. */
	if ((mask & names) == names && !(res->failed & names) && w.old_ep)
		sweep_obs(r, &w, &res->nops);
	free(w.old_ep);
	/* Building a large model leaves the heap full of freed nodes: give
	 * them back (100,000 services: 211 MiB resident -> 68 MiB). */
	malloc_trim(0);
	return first;
}

const struct weft_state *weft_rec_services(const struct weft_rec *r)
{
	return &r->svc;
}

const struct weft_pol_state *weft_rec_policy(const struct weft_rec *r)
{
	return &r->pol;
}
