// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* model: defaults, freeing, small questions about the desired state. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "model/model.h"

void weft_datapath_defaults(struct weft_datapath_cfg *dp)
{
	memset(dp, 0, sizeof(*dp));
	if (weft_cgroup2_root(dp->cgroup, sizeof(dp->cgroup)) < 0)
		dp->cgroup[0] = '\0';
	strcpy(dp->bpffs, "/sys/fs/bpf/weft");
	dp->redirect = true;
	if (gethostname(dp->node_name, sizeof(dp->node_name) - 1))
		dp->node_name[0] = '\0';
#define WEFT_X(knob, def, what) dp->knob = WEFT_DEF_##knob;
	WEFT_KNOB_LIST(WEFT_X)
#undef WEFT_X
}

void weft_metrics_defaults(struct weft_metrics_cfg *m)
{
	memset(m, 0, sizeof(*m));
	strcpy(m->listen, WEFT_METRICS_LISTEN);
	m->tcp_rtt_updates = true;
	m->max_series = WEFT_METRICS_MAX_SERIES;
	strcpy(m->trust_domain, WEFT_TRUST_DOMAIN);
	strcpy(m->cluster_name, WEFT_METRICS_CLUSTER);
}

uint32_t weft_datapath_size(const struct weft_datapath_cfg *dp, int knob)
{
	switch (knob) {
#define WEFT_X(knob, def, what)   \
	case WEFT_KNOB_##knob:    \
		return dp->knob;
		WEFT_KNOB_LIST(WEFT_X)
#undef WEFT_X
	default:
		return 0;
	}
}

bool weft_datapath_restart_needed(const struct weft_datapath_cfg *a,
				  const struct weft_datapath_cfg *b)
{
	if (strcmp(a->cgroup, b->cgroup) || strcmp(a->bpffs, b->bpffs))
		return true;
	for (int k = 0; k < WEFT_KNOB_COUNT; k++)
		if (weft_datapath_size(a, k) != weft_datapath_size(b, k))
			return true;
	return false;
}

static const char *const lb_names[] = {
	[WEFT_LB_RANDOM] = "random",
	[WEFT_LB_ROUND_ROBIN] = "round_robin",
	[WEFT_LB_MAGLEV] = "maglev",
	[WEFT_LB_LEAST_REQUEST] = "least_request",
};
#define NLB (sizeof(lb_names) / sizeof(lb_names[0]))

const char *weft_lb_name(uint8_t lb)
{
	return lb < NLB ? lb_names[lb] : NULL;
}

int weft_lb_parse(const char *name)
{
	for (size_t i = 0; name && i < NLB; i++)
		if (!strcmp(name, lb_names[i]))
			return i;
	return -1;
}

bool weft_service_resilient(const struct weft_service *svc)
{
	return svc->outlier.errors || svc->max_conns || svc->abort_ppm ||
	       svc->lb == WEFT_LB_LEAST_REQUEST;
}

struct weft_model *weft_model_new(const char *source)
{
	struct weft_model *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->source = strdup(source ? source : "");
	if (!m->source) {
		free(m);
		return NULL;
	}
	weft_datapath_defaults(&m->datapath);
	weft_metrics_defaults(&m->metrics);
	return m;
}

const char *weft_origin_str(const struct weft_model *m, const struct weft_origin *o,
			    const char *ns, const char *name, char *buf, size_t len)
{
	if (o->kind)
		snprintf(buf, len, "%s %s/%s", o->kind, ns, name);
	else
		snprintf(buf, len, "%s:%u:%u", m && m->source ? m->source : "?", o->pos.line,
			 o->pos.col);
	return buf;
}

static const char *label_of(const struct weft_endpoint *ep, const char *key)
{
	for (size_t i = 0; i < ep->nlabels; i++)
		if (!strcmp(ep->labels[i].key, key) && ep->labels[i].value[0])
			return ep->labels[i].value;
	return NULL;
}

const char *weft_endpoint_workload(const struct weft_endpoint *ep)
{
	const char *w;

	if (ep->workload[0])
		return ep->workload;
	if ((w = label_of(ep, "app.kubernetes.io/name")) || (w = label_of(ep, "app")))
		return w;
	return ep->name;
}

void weft_labels_free(struct weft_label *l, size_t n)
{
	for (size_t i = 0; i < n && l; i++) {
		free(l[i].key);
		free(l[i].value);
	}
	free(l);
}

void weft_exprs_free(struct weft_label_expr *x, size_t n)
{
	for (size_t i = 0; i < n && x; i++) {
		free(x[i].key);
		for (size_t j = 0; j < x[i].nvalues && x[i].values; j++)
			free(x[i].values[j]);
		free(x[i].values);
	}
	free(x);
}

static void peers_free(struct weft_peer *p, size_t n)
{
	for (size_t j = 0; j < n && p; j++) {
		weft_labels_free(p[j].labels, p[j].nlabels);
		weft_labels_free(p[j].ns_labels, p[j].ns_nlabels);
		weft_exprs_free(p[j].exprs, p[j].nexprs);
		weft_exprs_free(p[j].ns_exprs, p[j].ns_nexprs);
		free(p[j].except);
	}
	free(p);
}

void weft_rule_clear(struct weft_rule *r)
{
	peers_free(r->from, r->nfrom);
	peers_free(r->to, r->nto);
	free(r->ports);
	memset(r, 0, sizeof(*r));
}

void weft_rules_free(struct weft_rule *r, size_t n)
{
	for (size_t i = 0; i < n && r; i++)
		weft_rule_clear(&r[i]);
	free(r);
}

void weft_endpoint_clear(struct weft_endpoint *ep)
{
	weft_labels_free(ep->labels, ep->nlabels);
	ep->labels = NULL;
	ep->nlabels = 0;
	free(ep->node);
	ep->node = NULL;
}

size_t weft_service_in_use(const struct weft_service *svc, const char *node, bool *use)
{
	size_t n[2] = { 0 };	/* ready, serving terminating */

	for (size_t i = 0; i < svc->nbackends; i++) {
		const struct weft_backend_cfg *b = &svc->backends[i];

		use[i] = !svc->node_local || (b->node && node && !strcmp(b->node, node));
		if (use[i] && !svc->publish_not_ready) {
			n[0] += !(b->cond & WEFT_BE_NOT_READY);
			n[1] += (b->cond & (WEFT_BE_NOT_SERVING | WEFT_BE_TERMINATING)) ==
				WEFT_BE_TERMINATING;
		}
	}
	if (svc->publish_not_ready) {
		size_t k = 0;

		for (size_t i = 0; i < svc->nbackends; i++)
			k += use[i];
		return k;
	}
	for (size_t i = 0; i < svc->nbackends; i++) {
		uint8_t c = svc->backends[i].cond;

		if (n[0])
			use[i] = use[i] && !(c & WEFT_BE_NOT_READY);
		else
			use[i] = use[i] && (c & (WEFT_BE_NOT_SERVING | WEFT_BE_TERMINATING)) ==
						   WEFT_BE_TERMINATING;
	}
	return n[0] ? n[0] : n[1];
}

static int gone_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct weft_gone_key));
}

/* Every (service port, backend) of m, sorted. */
static int gone_tuples(const struct weft_model *m, struct weft_gone_key **out, size_t *n)
{
	size_t k = 0, cap = 0;

	*out = NULL;
	for (size_t i = 0; m && i < m->nservices; i++)
		cap += m->services[i].nports * m->services[i].nbackends;
	if (!cap) {
		*n = 0;
		return 0;
	}
	*out = calloc(cap, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (size_t i = 0; i < m->nservices; i++) {
		const struct weft_service *s = &m->services[i];

		for (size_t p = 0; p < s->nports; p++) {
			for (size_t b = 0; b < s->nbackends; b++) {
				struct weft_gone_key *g = &(*out)[k++];
				const struct weft_backend_cfg *be = &s->backends[b];

				memcpy(g->vip, &s->vip.a, sizeof(g->vip));
				memcpy(g->addr, &be->ip.a, sizeof(g->addr));
				g->vport = htons(s->ports[p].port);
				g->port = htons(be->port ? be->port : s->ports[p].target_port);
				g->proto = s->ports[p].proto;
			}
		}
	}
	qsort(*out, k, sizeof(**out), gone_cmp);
	*n = k;
	return 0;
}

int weft_model_gone(const struct weft_model *old, const struct weft_model *cur,
		    struct weft_gone_key **out, size_t *n)
{
	struct weft_gone_key *a, *b;
	size_t na, nb, j = 0, k = 0;
	int ret = gone_tuples(old, &a, &na);

	*out = NULL;
	*n = 0;
	if (ret)
		return ret;
	ret = gone_tuples(cur, &b, &nb);
	if (ret) {
		free(a);
		return ret;
	}
	for (size_t i = 0; i < na; i++) {
		int c = 1;

		while (j < nb && (c = gone_cmp(&b[j], &a[i])) < 0)
			j++;
		if (j >= nb || c)
			a[k++] = a[i];	/* not in cur: gone */
	}
	free(b);
	if (!k) {
		free(a);
		return 0;
	}
	*out = a;
	*n = k;
	return 0;
}

void weft_service_clear(struct weft_service *svc)
{
	for (size_t i = 0; i < svc->nbackends; i++) {
		free(svc->backends[i].node);
		free(svc->backends[i].cluster);
	}
	free(svc->ports);
	free(svc->backends);
	svc->ports = NULL;
	svc->backends = NULL;
	svc->nports = svc->nbackends = 0;
}

void weft_policy_clear(struct weft_policy *p)
{
	weft_labels_free(p->labels, p->nlabels);
	weft_exprs_free(p->exprs, p->nexprs);
	weft_rules_free(p->ingress, p->ningress);
	weft_rules_free(p->egress, p->negress);
	weft_rules_free(p->deny, p->ndeny);
	memset(p, 0, sizeof(*p));
}

void weft_namespace_clear(struct weft_namespace *ns)
{
	weft_labels_free(ns->labels, ns->nlabels);
	ns->labels = NULL;
	ns->nlabels = 0;
}

void weft_model_free(struct weft_model *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nendpoints; i++)
		weft_endpoint_clear(&m->endpoints[i]);
	free(m->endpoints);
	for (size_t i = 0; i < m->nnamespaces; i++)
		weft_namespace_clear(&m->namespaces[i]);
	free(m->namespaces);
	for (size_t i = 0; i < m->nservices; i++)
		weft_service_clear(&m->services[i]);
	free(m->services);
	for (size_t i = 0; i < m->npolicies; i++)
		weft_policy_clear(&m->policies[i]);
	free(m->policies);
	free(m->rejects);
	free(m->source);
	free(m);
}
