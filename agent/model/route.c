// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* model/route: which routes apply, and the weighted backend set a route
 * gives a port of its parent service. Pure. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
static bool takes(const struct weft_route *r, uint16_t p)
{
	return !r->parent.port || r->parent.port == p;
}

/* Why route i cannot apply (ok[] says it of the routes before it), into
 * msg and *reason; NULL if it can. */
static const char *route_problem(const struct weft_model *m, size_t i, const bool *ok, char *msg,
				 size_t len)
{
	const struct weft_route *r = &m->routes[i];
	bool parent = false, port = !r->parent.port;

	for (size_t s = 0; s < m->nservices; s++) {
		const struct weft_service *svc = &m->services[s];

		if (!svc_is(svc, &r->parent))
			continue;
		parent = true;
		for (size_t p = 0; p < svc->nports; p++) {
			if (!takes(r, svc->ports[p].port))
				continue;
			port = true;
			for (size_t j = 0; j < i; j++) {
				const struct weft_route *o = &m->routes[j];

				if (ok[j] && svc_is(svc, &o->parent) && takes(o, svc->ports[p].port)) {
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
		if (svc_is(svc, &m->routes[i].parent) && takes(&m->routes[i], port->port))
			found = (long)i;
	if (found < 0)
		return -1;
	ok = calloc(m->nroutes + 1, sizeof(*ok));
	if (!ok)
		return -1;
	routes_ok(m, ok, NULL, NULL);
	found = -1;
	for (size_t i = 0; i < m->nroutes && found < 0; i++)
		if (ok[i] && svc_is(svc, &m->routes[i].parent) && takes(&m->routes[i], port->port))
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
			cnt[k] = weft_service_in_use(bsvc[k], node, use);
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
			weft_service_in_use(bsvc[k], node, use);
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
