// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* model/route: which routes apply, and the weighted backend set a route
 * gives a port of its parent service. Pure. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "model/model.h"

void weft_route_clear(struct weft_route *r)
{
	for (size_t i = 0; i < r->nrules; i++)
		free(r->rules[i].backends);
	free(r->rules);
	r->rules = NULL;
	r->nrules = 0;
}

static bool svc_is(const struct weft_service *svc, const struct weft_route_ref *ref)
{
	return !strcmp(svc->name, ref->name) && !strcmp(svc->ns, ref->ns);
}

/* Whether route r takes port number p of its parent. */
static bool takes(const struct weft_route *r, const struct weft_port *p)
{
	return (!r->parent.port || r->parent.port == p->port) && (!r->proto || r->proto == p->proto);
}

/* Why route i cannot apply (ok[] says it of the routes before it), into
 * msg and *reason; NULL if it can. */
static const char *route_problem(const struct weft_model *m, size_t i, const bool *ok, char *msg,
				 size_t len)
{
	const struct weft_route *r = &m->routes[i];
	bool parent = false, port = !r->parent.port;

	/* Kubernetes: producer routes only (see weft_routes_check) */
	if (r->origin.kind && strcmp(r->ns, r->parent.ns)) {
		snprintf(msg, len, "a consumer route (parent service %s/%s is of another namespace): weft applies only producer routes, of the service's own namespace",
			 r->parent.ns, r->parent.name);
		return "consumer_route";
	}

	for (size_t s = 0; s < m->nservices; s++) {
		const struct weft_service *svc = &m->services[s];

		if (!svc_is(svc, &r->parent))
			continue;
		parent = true;
		for (size_t p = 0; p < svc->nports; p++) {
			if (!takes(r, &svc->ports[p]))
				continue;
			port = true;
			for (size_t j = 0; j < i; j++) {
				const struct weft_route *o = &m->routes[j];

				if (ok[j] && svc_is(svc, &o->parent) && takes(o, &svc->ports[p])) {
					snprintf(msg, len, "port %u of service %s/%s is already routed by routes[%zu] (%s/%s)",
						 svc->ports[p].port, svc->ns, svc->name, j, o->ns, o->name);
					return "conflict";
				}
			}
		}
	}
	if (!parent) {
		snprintf(msg, len, "parent service %s/%s does not exist", r->parent.ns, r->parent.name);
		return "no_parent";
	}
	if (!port) {
		snprintf(msg, len, "parent service %s/%s has no port %u", r->parent.ns, r->parent.name,
			 r->parent.port);
		return "no_parent_port";
	}
	return NULL;
}

static int routes_ok(const struct weft_model *m, bool *ok, weft_route_reject_fn fn, void *ctx)
{
	char msg[512], where[300], full[1024];
	int bad = 0;

	for (size_t i = 0; i < m->nroutes; i++) {
		const struct weft_route *r = &m->routes[i];
		const char *reason = route_problem(m, i, ok, msg, sizeof(msg));

		ok[i] = !reason;
		if (ok[i])
			continue;
		bad++;
		if (!fn)
			continue;
		weft_origin_str(m, &r->origin, r->ns, r->name, where, sizeof(where));
		if (r->origin.kind)
			snprintf(full, sizeof(full), "%s: %s", where, msg);
		else
			snprintf(full, sizeof(full), "%s: routes[%zu] (%s/%s): %s", where, i, r->ns,
				 r->name, msg);
		fn(ctx, i, reason, full);
	}
	return bad;
}

int weft_routes_check(const struct weft_model *m, weft_route_reject_fn fn, void *ctx)
{
	bool *ok = calloc(m->nroutes + 1, sizeof(*ok));
	int n;

	if (!ok)
		return -ENOMEM;
	n = routes_ok(m, ok, fn, ctx);
	free(ok);
	return n;
}

long weft_route_find(const struct weft_model *m, const struct weft_service *svc,
		     const struct weft_port *port)
{
	bool *ok;
	long found = -1;

	for (size_t i = 0; i < m->nroutes && found < 0; i++)
		if (svc_is(svc, &m->routes[i].parent) && takes(&m->routes[i], port))
			found = (long)i;
	if (found < 0)
		return -1;
	ok = calloc(m->nroutes + 1, sizeof(*ok));
	if (!ok)
		return -1;
	routes_ok(m, ok, NULL, NULL);
	found = -1;
	for (size_t i = 0; i < m->nroutes && found < 0; i++)
		if (ok[i] && svc_is(svc, &m->routes[i].parent) && takes(&m->routes[i], port))
			found = (long)i;
	free(ok);
	return found;
}

/* The port of a backend service that backend b of a route gives parent
 * port pp (see weft_route_backends), and its service; false if none. */
static bool backend_port(const struct weft_model *m, const struct weft_route_ref *b, int family,
			 const struct weft_port *pp, const struct weft_service **svc,
			 const struct weft_port **port)
{
	const struct weft_service *only_svc = NULL;
	const struct weft_port *only = NULL;
	size_t nproto = 0;

	for (size_t s = 0; s < m->nservices; s++) {
		const struct weft_service *x = &m->services[s];

		if (!svc_is(x, b) || x->family != family)
			continue;
		for (size_t p = 0; p < x->nports; p++) {
			if (x->ports[p].proto != pp->proto)
				continue;
			if (x->ports[p].port == (b->port ? b->port : pp->port)) {
				*svc = x;
				*port = &x->ports[p];
				return true;
			}
			nproto++;
			only_svc = x;
			only = &x->ports[p];
		}
	}
	if (b->port || nproto != 1)
		return false;
	*svc = only_svc;
	*port = only;
	return true;
}

static uint64_t gcd64(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

/* One entry of the set being built: a backend and its share (numerator). */
struct share {
	struct weft_backend_cfg be;
	uint64_t w;
};

static int add_share(struct share **v, size_t *n, size_t *cap, const struct weft_backend_cfg *be,
		     uint64_t w)
{
	for (size_t i = 0; i < *n; i++) {
		struct share *s = &(*v)[i];

		if (s->be.refuse == be->refuse && s->be.port == be->port &&
		    !memcmp(&s->be.ip, &be->ip, sizeof(be->ip))) {
			s->w += w;
			return 0;
		}
	}
	if (*n == *cap) {
		size_t nc = *cap ? 2 * *cap : 16;
		struct share *q = realloc(*v, nc * sizeof(*q));

		if (!q)
			return -ENOMEM;
		*v = q;
		*cap = nc;
	}
	(*v)[*n].be = *be;
	(*v)[(*n)++].w = w;
	return 0;
}

#define LCM_CAP (1u << 20)	/* past it, shares are rounded (to 1/65535 of the largest) */

int weft_route_backends(const struct weft_model *m, const struct weft_route *r,
			const struct weft_service *svc, const struct weft_port *port,
			const char *node, struct weft_backend_cfg **out, size_t *n)
{
	size_t nref = 0, k = 0, nv = 0, cap = 0, maxbe = 0;
	const struct weft_service **bsvc = NULL;
	const struct weft_port **bport = NULL;
	struct share *v = NULL;
	uint64_t lcm = 1, g = 0, wmax = 0;
	size_t *cnt = NULL;
	bool *use = NULL;
	int err = -ENOMEM;

	*out = NULL;
	*n = 0;
	for (size_t i = 0; i < r->nrules; i++)
		nref += r->rules[i].nbackends;
	for (size_t s = 0; s < m->nservices; s++)
		if (m->services[s].nbackends > maxbe)
			maxbe = m->services[s].nbackends;
	bsvc = calloc(nref + 1, sizeof(*bsvc));
	bport = calloc(nref + 1, sizeof(*bport));
	cnt = calloc(nref + 1, sizeof(*cnt));
	use = calloc(maxbe + 1, sizeof(*use));
	if (!bsvc || !bport || !cnt || !use)
		goto out;
	/* resolve each backend, count its usable endpoints, and the lcm of the counts */
	for (size_t i = 0; i < r->nrules; i++) {
		for (size_t j = 0; j < r->rules[i].nbackends; j++, k++) {
			const struct weft_route_backend *b = &r->rules[i].backends[j];

			if (!b->weight || !backend_port(m, &b->ref, svc->family, port, &bsvc[k], &bport[k]))
				continue;
			cnt[k] = weft_service_in_use(bsvc[k], node, m->datapath.zone, false, use);
			if (cnt[k] && lcm < LCM_CAP)
				lcm = lcm / gcd64(lcm, cnt[k]) * cnt[k];
		}
	}
	if (lcm > LCM_CAP)
		lcm = LCM_CAP;
	k = 0;
	for (size_t i = 0; i < r->nrules; i++) {
		for (size_t j = 0; j < r->rules[i].nbackends; j++, k++) {
			const struct weft_route_backend *b = &r->rules[i].backends[j];
			struct weft_backend_cfg be = { .refuse = true };

			if (!b->weight)
				continue;
			if (!cnt[k]) {
				err = add_share(&v, &nv, &cap, &be, (uint64_t)b->weight * lcm);
				if (err)
					goto out;
				continue;
			}
			weft_service_in_use(bsvc[k], node, m->datapath.zone, false, use);
			for (size_t e = 0; e < bsvc[k]->nbackends; e++) {
				const struct weft_backend_cfg *x = &bsvc[k]->backends[e];

				if (!use[e])
					continue;
				memset(&be, 0, sizeof(be));
				be.ip = x->ip;
				be.port = x->port ? x->port : bport[k]->target_port;
				be.pos = x->pos;
				/* rounded up: a share never vanishes */
				err = add_share(&v, &nv, &cap, &be,
						((uint64_t)b->weight * lcm + cnt[k] - 1) / cnt[k]);
				if (err)
					goto out;
			}
		}
	}
	err = 0;
	if (!nv)
		goto out;
	for (size_t i = 0; i < nv; i++)
		g = gcd64(g, v[i].w);
	for (size_t i = 0; i < nv; i++) {
		v[i].w /= g;
		if (v[i].w > wmax)
			wmax = v[i].w;
	}
	err = -ENOMEM;
	*out = calloc(nv, sizeof(**out));
	if (!*out)
		goto out;
	for (size_t i = 0; i < nv; i++) {
		uint64_t w = wmax <= 65535 ? v[i].w : (v[i].w * 65535 + wmax / 2) / wmax;

		(*out)[i] = v[i].be;
		(*out)[i].weight = w ? (uint16_t)w : 1;
	}
	*n = nv;
	err = 0;
out:
	free(v);
	free(use);
	free(cnt);
	free(bport);
	free(bsvc);
	return err;
}

/* --- draining ------------------------------------------------------------- */

struct tuples {
	struct weft_gone_key *v;
	size_t n, cap;
};

static int tup_add(struct tuples *t, const struct weft_service *svc, const struct weft_port *p,
		   const struct weft_ip *ip, uint16_t port)
{
	struct weft_gone_key *g;

	if (t->n == t->cap) {
		size_t nc = t->cap ? 2 * t->cap : 64;
		struct weft_gone_key *q = realloc(t->v, nc * sizeof(*q));

		if (!q)
			return -ENOMEM;
		t->v = q;
		t->cap = nc;
	}
	g = &t->v[t->n++];
	memset(g, 0, sizeof(*g));
	memcpy(g->vip, &svc->vip.a, sizeof(g->vip));
	memcpy(g->addr, &ip->a, sizeof(g->addr));
	g->vport = htons(p->port);
	g->port = htons(port);
	g->proto = p->proto;
	return 0;
}

static int key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct weft_gone_key));
}

static void tup_sort(struct tuples *t)
{
	size_t k = 0;

	if (!t->n)
		return;
	qsort(t->v, t->n, sizeof(*t->v), key_cmp);
	for (size_t i = 0; i < t->n; i++)
		if (!k || key_cmp(&t->v[k - 1], &t->v[i]))
			t->v[k++] = t->v[i];
	t->n = k;
}

static bool tup_has(const struct tuples *t, const struct weft_gone_key *g)
{
	return t->n && bsearch(g, t->v, t->n, sizeof(*t->v), key_cmp);
}

/* What new connections of every service port of m may go to: a routed
 * port's route backends (weight > 0, not the refusing one), another port's
 * own backends. Sorted, no duplicates. */
static int active_tuples(const struct weft_model *m, const char *node, struct tuples *t)
{
	int err = 0;

	for (size_t s = 0; !err && m && s < m->nservices; s++) {
		const struct weft_service *svc = &m->services[s];

		for (size_t p = 0; !err && p < svc->nports; p++) {
			const struct weft_port *port = &svc->ports[p];
			long r = weft_route_find(m, svc, port);
			struct weft_backend_cfg *be = NULL;
			size_t nbe = 0;

			if (r < 0) {
				for (size_t b = 0; !err && b < svc->nbackends; b++)
					err = tup_add(t, svc, port, &svc->backends[b].ip,
						      svc->backends[b].port ? svc->backends[b].port
									    : port->target_port);
				continue;
			}
			err = weft_route_backends(m, &m->routes[r], svc, port, node, &be, &nbe);
			for (size_t b = 0; !err && b < nbe; b++)
				if (!be[b].refuse)
					err = tup_add(t, svc, port, &be[b].ip, be[b].port);
			free(be);
		}
	}
	if (!err)
		tup_sort(t);
	return err;
}

int weft_model_active(const struct weft_model *m, const char *node, struct weft_gone_key **out,
		      size_t *n)
{
	struct tuples t = { 0 };
	int err = active_tuples(m, node, &t);

	if (err) {
		free(t.v);
		t.v = NULL;
		t.n = 0;
	}
	*out = t.v;
	*n = t.n;
	return err;
}

/* Whether route r (NULL: none) gives backend ref b weight. */
static bool keeps_weight(const struct weft_route *r, const struct weft_route_ref *b)
{
	for (size_t i = 0; r && i < r->nrules; i++)
		for (size_t j = 0; j < r->rules[i].nbackends; j++) {
			const struct weft_route_backend *x = &r->rules[i].backends[j];

			if (x->weight && !strcmp(x->ref.name, b->name) && !strcmp(x->ref.ns, b->ns) &&
			    x->ref.port == b->port)
				return true;
		}
	return false;
}

/* The route of cur on the service port of old's svc/port (same name,
 * namespace, family, port and protocol), or NULL. */
static const struct weft_route *cur_route(const struct weft_model *cur,
					  const struct weft_service *svc,
					  const struct weft_port *port)
{
	for (size_t s = 0; cur && s < cur->nservices; s++) {
		const struct weft_service *c = &cur->services[s];

		if (strcmp(c->name, svc->name) || strcmp(c->ns, svc->ns) || c->family != svc->family)
			continue;
		for (size_t p = 0; p < c->nports; p++) {
			long r;

			if (c->ports[p].port != port->port || c->ports[p].proto != port->proto)
				continue;
			r = weft_route_find(cur, c, &c->ports[p]);
			return r < 0 ? NULL : &cur->routes[r];
		}
	}
	return NULL;
}

int weft_model_route_drained(const struct weft_model *old, const struct weft_model *cur,
			     const char *node, struct weft_gone_key **out, size_t *n)
{
	struct tuples t = { 0 }, keep = { 0 };
	size_t k = 0;
	int err = 0;

	*out = NULL;
	*n = 0;
	for (size_t s = 0; !err && old && s < old->nservices; s++) {
		const struct weft_service *svc = &old->services[s];

		for (size_t p = 0; !err && p < svc->nports; p++) {
			const struct weft_port *port = &svc->ports[p];
			long ro = weft_route_find(old, svc, port);
			const struct weft_route *r, *rc;

			if (ro < 0)
				continue;
			r = &old->routes[ro];
			rc = cur_route(cur, svc, port);
			for (size_t i = 0; !err && i < r->nrules; i++) {
				for (size_t j = 0; !err && j < r->rules[i].nbackends; j++) {
					const struct weft_route_backend *b = &r->rules[i].backends[j];
					const struct weft_service *bs;
					const struct weft_port *bp;

					if (!b->weight || keeps_weight(rc, &b->ref) ||
					    !backend_port(old, &b->ref, svc->family, port, &bs, &bp))
						continue;
					/* every endpoint, whatever its conditions: a
					 * terminating one may have connections */
					for (size_t e = 0; !err && e < bs->nbackends; e++)
						err = tup_add(&t, svc, port, &bs->backends[e].ip,
							      bs->backends[e].port ? bs->backends[e].port
										   : bp->target_port);
				}
			}
		}
	}
	if (!err && t.n)
		err = active_tuples(cur, node, &keep);
	if (err || !t.n)
		goto out;
	tup_sort(&t);
	/* one that new connections of cur still go to stays */
	for (size_t i = 0; i < t.n; i++)
		if (!tup_has(&keep, &t.v[i]))
			t.v[k++] = t.v[i];
	if (k) {
		*out = t.v;
		*n = k;
		t.v = NULL;
	}
out:
	free(keep.v);
	free(t.v);
	return err;
}
