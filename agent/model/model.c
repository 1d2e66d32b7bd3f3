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
	dp->drain_timeout = WEFT_DRAIN_TIMEOUT;
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

const char *weft_endpoint_canonical_service(const struct weft_endpoint *ep)
{
	const char *v;

	if ((v = label_of(ep, "service.istio.io/canonical-name")) ||
	    (v = label_of(ep, "app.kubernetes.io/name")) || (v = label_of(ep, "app")))
		return v;
	return ep->workload[0] ? ep->workload : ep->name;
}

const char *weft_endpoint_canonical_revision(const struct weft_endpoint *ep)
{
	const char *v;

	if ((v = label_of(ep, "service.istio.io/canonical-revision")) ||
	    (v = label_of(ep, "app.kubernetes.io/version")) || (v = label_of(ep, "version")))
		return v;
	return "latest";
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

static bool has_name(char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; name && *name && i < n; i++)
		if (!strcmp(names[i], name))
			return true;
	return false;
}

/* kube-proxy's topologyModeFromHints over the ready candidates: 2 (node
 * hints), 1 (zone hints) or 0 (none: every candidate). */
static int topology_mode(const struct weft_service *svc, const bool *cand, const char *node,
			 const char *zone)
{
	bool all_node = true, for_node = false, all_zone = true, for_zone = false;

	for (size_t i = 0; i < svc->nbackends; i++) {
		const struct weft_backend_cfg *b = &svc->backends[i];

		if (!cand[i] || (!svc->publish_not_ready && (b->cond & WEFT_BE_NOT_READY)))
			continue;
		all_zone = all_zone && b->nfor_zones;
		for_zone = for_zone || has_name(b->for_zones, b->nfor_zones, zone);
		all_node = all_node && b->nfor_nodes;
		for_node = for_node || has_name(b->for_nodes, b->nfor_nodes, node);
	}
	if (svc->traffic == WEFT_TD_PREFER_NODE && all_node && for_node)
		return 2;
	return all_zone && for_zone ? 1 : 0;
}

size_t weft_service_in_use(const struct weft_service *svc, const char *node, const char *zone,
			   bool external, bool *use)
{
	bool local = svc->node_local && !external;
	size_t n[2] = { 0 };	/* ready, serving terminating */
	int topo;

	for (size_t i = 0; i < svc->nbackends; i++) {
		const struct weft_backend_cfg *b = &svc->backends[i];

		use[i] = !local || (b->node && node && !strcmp(b->node, node));
	}
	/* topology narrows the ready ones; the terminating fallback ignores
	 * it (there is no ready endpoint anywhere by then) */
	topo = svc->traffic && !local ? topology_mode(svc, use, node, zone) : 0;
	for (size_t i = 0; i < svc->nbackends; i++) {
		const struct weft_backend_cfg *b = &svc->backends[i];
		bool close = topo == 2 ? has_name(b->for_nodes, b->nfor_nodes, node) :
			     topo == 1 ? has_name(b->for_zones, b->nfor_zones, zone) : true;

		if (!use[i])
			continue;
		if (svc->publish_not_ready) {
			n[0] += close;
			continue;
		}
		n[0] += close && !(b->cond & WEFT_BE_NOT_READY);
		n[1] += (b->cond & (WEFT_BE_NOT_SERVING | WEFT_BE_TERMINATING)) == WEFT_BE_TERMINATING;
	}
	for (size_t i = 0; i < svc->nbackends; i++) {
		const struct weft_backend_cfg *b = &svc->backends[i];
		uint8_t c = b->cond;
		bool close = topo == 2 ? has_name(b->for_nodes, b->nfor_nodes, node) :
			     topo == 1 ? has_name(b->for_zones, b->nfor_zones, zone) : true;

		if (svc->publish_not_ready)
			use[i] = use[i] && close;
		else if (n[0])
			use[i] = use[i] && close && !(c & WEFT_BE_NOT_READY);
		else
			use[i] = use[i] && (c & (WEFT_BE_NOT_SERVING | WEFT_BE_TERMINATING)) ==
						   WEFT_BE_TERMINATING;
	}
	return svc->publish_not_ready || n[0] ? n[0] : n[1];
}

static int ip_family(const struct weft_ip *ip)
{
	return IN6_IS_ADDR_V4MAPPED(&ip->a) ? AF_INET : AF_INET6;
}

size_t weft_port_frontends(const struct weft_model *m, const struct weft_service *svc,
			   const struct weft_port *p, struct weft_frontend *out)
{
	size_t k = 0;

#define FE(addr, prt, what)                                                   \
	do {                                                                  \
		if (out)                                                      \
			out[k] = (struct weft_frontend){ addr, prt, what };   \
		k++;                                                          \
	} while (0)
	FE(svc->vip, p->port, WEFT_FE_VIP);
	for (size_t i = 0; i < svc->nexternal_ips; i++)
		FE(svc->external_ips[i], p->port, WEFT_FE_EXTERNAL_IP);
	for (size_t i = 0; i < svc->nlb_ips; i++)
		FE(svc->lb_ips[i], p->port, WEFT_FE_LB_IP);
	for (size_t i = 0; p->node_port && svc->type != WEFT_SVC_CLUSTER_IP && m && i < m->nnodes;
	     i++)
		for (size_t j = 0; j < m->nodes[i].nips; j++)
			if (ip_family(&m->nodes[i].ips[j]) == svc->family)
				FE(m->nodes[i].ips[j], p->node_port, WEFT_FE_NODE_PORT);
#undef FE
	return k;
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
		for (size_t p = 0; p < m->services[i].nports; p++)
			cap += weft_port_frontends(m, &m->services[i], &m->services[i].ports[p],
						   NULL) * m->services[i].nbackends;
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
			size_t nfe = weft_port_frontends(m, s, &s->ports[p], NULL);
			struct weft_frontend *fe = calloc(nfe, sizeof(*fe));

			if (!fe) {
				free(*out);
				*out = NULL;
				return -ENOMEM;
			}
			weft_port_frontends(m, s, &s->ports[p], fe);
			for (size_t f = 0; f < nfe; f++) {
				for (size_t b = 0; b < s->nbackends; b++) {
					struct weft_gone_key *g = &(*out)[k++];
					const struct weft_backend_cfg *be = &s->backends[b];

					memcpy(g->vip, &fe[f].ip.a, sizeof(g->vip));
					memcpy(g->addr, &be->ip.a, sizeof(g->addr));
					g->vport = htons(fe[f].port);
					g->port = htons(be->port ? be->port :
								   s->ports[p].target_port);
					g->proto = s->ports[p].proto;
				}
			}
			free(fe);
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

static void names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n && names; i++)
		free(names[i]);
	free(names);
}

void weft_service_clear(struct weft_service *svc)
{
	for (size_t i = 0; i < svc->nbackends; i++) {
		free(svc->backends[i].node);
		names_free(svc->backends[i].for_zones, svc->backends[i].nfor_zones);
		names_free(svc->backends[i].for_nodes, svc->backends[i].nfor_nodes);
		free(svc->backends[i].cluster);
	}
	free(svc->ports);
	free(svc->backends);
	free(svc->external_ips);
	free(svc->lb_ips);
	svc->ports = NULL;
	svc->backends = NULL;
	svc->external_ips = svc->lb_ips = NULL;
	svc->nports = svc->nbackends = svc->nexternal_ips = svc->nlb_ips = 0;
}

void weft_node_clear(struct weft_node *n)
{
	free(n->ips);
	n->ips = NULL;
	n->nips = 0;
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
	for (size_t i = 0; i < m->nnodes; i++)
		weft_node_clear(&m->nodes[i]);
	free(m->nodes);
	for (size_t i = 0; i < m->nroutes; i++)
		weft_route_clear(&m->routes[i]);
	free(m->routes);
	free(m->rejects);
	free(m->source);
	free(m);
}
