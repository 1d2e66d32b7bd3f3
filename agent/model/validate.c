// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * model/validate: what every source must hand the reconciler (see
 * weft_model_check in model.h). Each check sorts an index array, so a
 * model of 100,000 services is checked in O(n log n), and reports the later
 * entry of each pair that collides, naming where the earlier one is.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"

struct check {
	const struct weft_model *m;
	weft_problem_fn fn;
	void *ctx;
	int n;			/* problems reported */
};

/*
 * Where an object is, for a message: the one at fault as "t.yaml:4:13:
 * services[1].ports[0]" (at pos, or the origin when pos is unset) or
 * "Service shop/web"; the one it collides with (earlier) as
 * "services[0].ports[0] at 4:13" or "Service shop/a's".
 */
struct where {
	const char *list, *sub;
	size_t i, j;
	const struct weft_origin *o;
	const struct weft_pos *pos;
	const char *ns, *name;
};

static const char *place_of(const struct check *c, const struct where *w, bool earlier, char *buf,
			    size_t len)
{
	const struct weft_pos *p = w->pos && w->pos->line ? w->pos : &w->o->pos;
	char at[64] = "";

	if (w->o->kind) {
		snprintf(buf, len, "%s %s/%s%s", w->o->kind, w->ns, w->name, earlier ? "'s" : "");
		return buf;
	}
	if (w->sub)
		snprintf(at, sizeof(at), ".%s[%zu]", w->sub, w->j);
	if (earlier)
		snprintf(buf, len, "%s[%zu]%s at %u:%u", w->list, w->i, at, p->line, p->col);
	else
		snprintf(buf, len, "%s:%u:%u: %s[%zu]%s", c->m->source ? c->m->source : "?", p->line,
			 p->col, w->list, w->i, at);
	return buf;
}

static const char *place(const struct check *c, const char *list, size_t i, const char *sub,
			 size_t j, const struct weft_origin *o, const struct weft_pos *pos,
			 const char *ns, const char *name, char *buf, size_t len)
{
	const struct where w = { list, sub, i, j, o, pos, ns, name };

	return place_of(c, &w, false, buf, len);
}

static const char *other(const char *list, size_t i, const char *sub, size_t j,
			 const struct weft_origin *o, const struct weft_pos *pos, const char *ns,
			 const char *name, char *buf, size_t len)
{
	const struct where w = { list, sub, i, j, o, pos, ns, name };

	return place_of(NULL, &w, true, buf, len);
}

static void report(struct check *c, enum weft_obj_kind kind, size_t index, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void report(struct check *c, enum weft_obj_kind kind, size_t index, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->n++;
	if (c->fn)
		c->fn(c->ctx, kind, index, msg);
}

/*
 * Pairs of equal entries: sort idx[0..n) by cmp (ties by position, so the
 * earliest entry of a run comes first) and call dup(arg, first, later) for every
 * later entry of each run.
 */
typedef int (*idx_cmp_fn)(const void *a, const void *b, void *arg);

struct sorter {
	idx_cmp_fn cmp;
	void *arg;
};

static int by_key_then_pos(const void *a, const void *b, void *arg)
{
	const struct sorter *s = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int r = s->cmp(a, b, s->arg);

	return r ? r : (x > y) - (x < y);
}

static int pairs(size_t n, idx_cmp_fn cmp, void *arg,
		 void (*dup)(struct check *, const void *, size_t, size_t), struct check *c)
{
	struct sorter s = { cmp, arg };
	size_t *idx = malloc((n ? n : 1) * sizeof(*idx)), first = 0;

	if (!idx)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	qsort_r(idx, n, sizeof(*idx), by_key_then_pos, &s);
	for (size_t k = 1; k < n; k++) {
		if (cmp(&idx[k - 1], &idx[k], arg))
			first = k;
		else
			dup(c, arg, idx[first], idx[k]);
	}
	free(idx);
	return 0;
}

/* --- namespaces and policies: one per name ---------------------------- */

static int ns_cmp(const void *a, const void *b, void *arg)
{
	const struct weft_namespace *ns = arg;

	return strcmp(ns[*(const size_t *)a].name, ns[*(const size_t *)b].name);
}

static void ns_dup(struct check *c, const void *arg, size_t a, size_t b)
{
	(void)arg;
	const struct weft_namespace *x = &c->m->namespaces[a], *y = &c->m->namespaces[b];
	char p[512], q[512];

	report(c, WEFT_OBJ_NAMESPACE, b, "%s: duplicate namespace name: the same as %s",
	       place(c, "namespaces", b, NULL, 0, &y->origin, NULL, "", y->name, p, sizeof(p)),
	       other("namespaces", a, NULL, 0, &x->origin, NULL, "", x->name, q, sizeof(q)));
}

static int pol_cmp(const void *a, const void *b, void *arg)
{
	const struct weft_policy *x = (const struct weft_policy *)arg + *(const size_t *)a;
	const struct weft_policy *y = (const struct weft_policy *)arg + *(const size_t *)b;
	int r = strcmp(x->ns, y->ns);

	return r ? r : strcmp(x->name, y->name);
}

static void pol_dup(struct check *c, const void *arg, size_t a, size_t b)
{
	(void)arg;
	const struct weft_policy *x = &c->m->policies[a], *y = &c->m->policies[b];
	char p[512], q[512];

	report(c, WEFT_OBJ_POLICY, b, "%s: duplicate policy namespace/name: the same as %s",
	       place(c, "policies", b, NULL, 0, &y->origin, NULL, y->ns, y->name, p, sizeof(p)),
	       other("policies", a, NULL, 0, &x->origin, NULL, x->ns, x->name, q, sizeof(q)));
}

/* --- endpoints: one per address --------------------------------------- */

static int ep_cmp(const void *a, const void *b, void *arg)
{
	const struct weft_endpoint *ep = arg;

	return memcmp(&ep[*(const size_t *)a].ip, &ep[*(const size_t *)b].ip, sizeof(ep->ip));
}

static void ep_dup(struct check *c, const void *arg, size_t a, size_t b)
{
	(void)arg;
	const struct weft_endpoint *x = &c->m->endpoints[a], *y = &c->m->endpoints[b];
	char p[512], q[512], ip[INET6_ADDRSTRLEN];

	if (y->origin.kind)
		report(c, WEFT_OBJ_ENDPOINT, b, "%s: address %s is also %s",
		       place(c, "endpoints", b, NULL, 0, &y->origin, NULL, y->ns, y->name, p, sizeof(p)),
		       weft_ip_str(&y->ip, ip, sizeof(ip)),
		       other("endpoints", a, NULL, 0, &x->origin, NULL, x->ns, x->name, q, sizeof(q)));
	else
		report(c, WEFT_OBJ_ENDPOINT, b, "%s: duplicate endpoint address: the same as %s",
		       place(c, "endpoints", b, NULL, 0, &y->origin, NULL, y->ns, y->name, p, sizeof(p)),
		       other("endpoints", a, NULL, 0, &x->origin, NULL, x->ns, x->name, q, sizeof(q)));
}

/* --- services --------------------------------------------------------- */

static int ip_family(const struct weft_ip *ip)
{
	return IN6_IS_ADDR_V4MAPPED(&ip->a) ? AF_INET : AF_INET6;
}

/* Backends of the vip's family; no two backends that are the same address
 * and port on one service port (a backend without a port takes each
 * port's target_port). */
static int svc_backends(struct check *c, size_t si)
{
	const struct weft_service *s = &c->m->services[si];
	char p[512], q[512];

	for (size_t i = 0; i < s->nbackends; i++) {
		const struct weft_backend_cfg *be = &s->backends[i];
		int family = ip_family(&be->ip);

		if (family == s->family)
			continue;
		report(c, WEFT_OBJ_SERVICE, si, "%s: an %s backend for an %s vip",
		       place(c, "services", si, "backends", i, &s->origin, &be->pos, s->ns, s->name, p,
			     sizeof(p)),
		       family == AF_INET ? "IPv4" : "IPv6", s->family == AF_INET ? "IPv4" : "IPv6");
		return 0;	/* one problem per service is enough */
	}
	for (size_t i = 0; i < s->nexternal_ips + s->nlb_ips; i++) {
		bool ext = i < s->nexternal_ips;
		const struct weft_ip *ip = ext ? &s->external_ips[i] : &s->lb_ips[i - s->nexternal_ips];
		int family = ip_family(ip);

		if (family == s->family)
			continue;
		report(c, WEFT_OBJ_SERVICE, si, "%s: %s[%zu]: an %s address for an %s vip",
		       place(c, "services", si, NULL, 0, &s->origin, NULL, s->ns, s->name, p,
			     sizeof(p)),
		       ext ? "external_ips" : "load_balancer_ips", ext ? i : i - s->nexternal_ips,
		       family == AF_INET ? "IPv4" : "IPv6", s->family == AF_INET ? "IPv4" : "IPv6");
		return 0;
	}
	for (size_t j = 0; j < s->nports; j++) {
		for (size_t b = 1; b < s->nbackends; b++) {
			const struct weft_backend_cfg *y = &s->backends[b];
			uint16_t py = y->port ? y->port : s->ports[j].target_port;

			for (size_t a = 0; a < b; a++) {
				const struct weft_backend_cfg *x = &s->backends[a];
				uint16_t px = x->port ? x->port : s->ports[j].target_port;

				if (px != py || memcmp(&x->ip, &y->ip, sizeof(x->ip)))
					continue;
				report(c, WEFT_OBJ_SERVICE, si,
				       "%s: on port %u it is the same backend (ip and port %u) as %s",
				       place(c, "services", si, "backends", b, &s->origin, &y->pos,
					     s->ns, s->name, p, sizeof(p)),
				       s->ports[j].port, py,
				       other("backends", a, NULL, 0, &s->origin, &x->pos, s->ns,
					     s->name, q, sizeof(q)));
				return 0;
			}
		}
	}
	return 0;
}

/* Resilience settings (issue 16): in range whatever the source, and on a
 * service with a TCP port (they act on TCP connect() only). */
static void svc_resilience(struct check *c, size_t si)
{
	const struct weft_service *s = &c->m->services[si];
	const struct weft_outlier *o = &s->outlier;
	const char *why = NULL;
	bool tcp = false;
	char p[512];

	if (!weft_service_resilient(s))
		return;
	for (size_t j = 0; j < s->nports; j++)
		tcp |= s->ports[j].proto == IPPROTO_TCP;
	if (o->errors && (!o->interval || !o->eject_s))
		why = "outlier_detection: interval and base_ejection_time must be at least 1 second";
	else if (o->eject_pct > 100)
		why = "outlier_detection: max_ejection_percent is more than 100";
	else if (s->abort_ppm > WEFT_ABORT_PPM_MAX)
		why = "fault: abort_percent is more than 100";
	else if (!tcp)
		why = s->lb == WEFT_LB_LEAST_REQUEST && !o->errors && !s->max_conns && !s->abort_ppm
			      ? "lb least_request needs a TCP port (it counts TCP connections)"
			      : "outlier_detection, connection_pool and fault act on TCP connections: the service has no TCP port";
	if (why)
		report(c, WEFT_OBJ_SERVICE, si, "%s: %s",
		       place(c, "services", si, NULL, 0, &s->origin, &s->res_pos, s->ns, s->name, p,
			     sizeof(p)),
		       why);
}

/* One frontend (address, port, protocol) of one service port. */
struct frontend {
	const struct weft_service *svc;
	size_t si, pi;
	struct weft_frontend fe;
};

static const char *const fe_what[] = {
	[WEFT_FE_VIP] = "",
	[WEFT_FE_EXTERNAL_IP] = " (external IP)",
	[WEFT_FE_LB_IP] = " (load balancer IP)",
	[WEFT_FE_NODE_PORT] = " (node port)",
};

static int fe_cmp(const void *a, const void *b, void *arg)
{
	const struct frontend *fe = arg, *x = &fe[*(const size_t *)a], *y = &fe[*(const size_t *)b];
	uint8_t xp = x->svc->ports[x->pi].proto, yp = y->svc->ports[y->pi].proto;
	int r = memcmp(&x->fe.ip, &y->fe.ip, sizeof(x->fe.ip));

	if (!r)
		r = x->fe.port != y->fe.port ? x->fe.port - y->fe.port : xp - yp;
	return r;
}

static void fe_dup(struct check *c, const void *arg, size_t a, size_t b)
{
	const struct frontend *fe = arg, *x = &fe[a], *y = &fe[b];
	const struct weft_port *py = &y->svc->ports[y->pi];
	char p[512], q[512], ip[INET6_ADDRSTRLEN];

	report(c, WEFT_OBJ_SERVICE, y->si, "%s: %s port %u/%s%s is also %s%s",
	       place(c, "services", y->si, "ports", y->pi, &y->svc->origin, &py->pos, y->svc->ns,
		     y->svc->name, p, sizeof(p)),
	       weft_ip_str(&y->fe.ip, ip, sizeof(ip)), y->fe.port,
	       py->proto == IPPROTO_UDP ? "udp" : "tcp", fe_what[y->fe.kind],
	       other("services", x->si, "ports", x->pi, &x->svc->origin, &x->svc->ports[x->pi].pos,
		     x->svc->ns, x->svc->name, q, sizeof(q)),
	       fe_what[x->fe.kind]);
}

static int svc_frontends(struct check *c)
{
	const struct weft_model *m = c->m;
	struct frontend *fe;
	struct weft_frontend *one = NULL;
	size_t n = 0, max = 0;
	int ret;

	for (size_t i = 0; i < m->nservices; i++) {
		for (size_t j = 0; j < m->services[i].nports; j++) {
			size_t k = weft_port_frontends(m, &m->services[i], &m->services[i].ports[j],
						       NULL);

			n += k;
			max = k > max ? k : max;
		}
	}
	fe = calloc(n + 1, sizeof(*fe));
	one = calloc(max + 1, sizeof(*one));
	if (!fe || !one) {
		free(fe);
		free(one);
		return -ENOMEM;
	}
	n = 0;
	for (size_t i = 0; i < m->nservices; i++) {
		for (size_t j = 0; j < m->services[i].nports; j++) {
			size_t k = weft_port_frontends(m, &m->services[i], &m->services[i].ports[j],
						       one);

			for (size_t f = 0; f < k; f++)
				fe[n++] = (struct frontend){ &m->services[i], i, j, one[f] };
		}
	}
	ret = pairs(n, fe_cmp, fe, fe_dup, c);
	free(one);
	free(fe);
	return ret;
}

int weft_model_check(const struct weft_model *m, weft_problem_fn fn, void *ctx)
{
	struct check c = { m, fn, ctx, 0 };
	int ret;

	ret = pairs(m->nnamespaces, ns_cmp, m->namespaces, ns_dup, &c);
	if (!ret)
		ret = pairs(m->nendpoints, ep_cmp, m->endpoints, ep_dup, &c);
	for (size_t i = 0; !ret && i < m->nservices; i++) {
		ret = svc_backends(&c, i);
		svc_resilience(&c, i);
	}
	if (!ret)
		ret = svc_frontends(&c);
	if (!ret)
		ret = pairs(m->npolicies, pol_cmp, m->policies, pol_dup, &c);
	return ret ? ret : c.n;
}
