// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* model: defaults, freeing, small questions about the desired state. */
#include <stdlib.h>
#include <string.h>

#include "model/model.h"

void weft_datapath_defaults(struct weft_datapath_cfg *dp)
{
	memset(dp, 0, sizeof(*dp));
	if (weft_cgroup2_root(dp->cgroup, sizeof(dp->cgroup)) < 0)
		dp->cgroup[0] = '\0';
	strcpy(dp->bpffs, "/sys/fs/bpf/weft");
	dp->redirect = true;
#define WEFT_X(knob, def, what) dp->knob = WEFT_DEF_##knob;
	WEFT_KNOB_LIST(WEFT_X)
#undef WEFT_X
}

void weft_metrics_defaults(struct weft_metrics_cfg *m)
{
	memset(m, 0, sizeof(*m));
	strcpy(m->listen, WEFT_METRICS_LISTEN);
	m->tcp_rtt_updates = true;
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

static void labels_free(struct weft_label *l, size_t n)
{
	for (size_t i = 0; i < n && l; i++) {
		free(l[i].key);
		free(l[i].value);
	}
	free(l);
}

static void exprs_free(struct weft_label_expr *x, size_t n)
{
	for (size_t i = 0; i < n && x; i++) {
		free(x[i].key);
		for (size_t j = 0; j < x[i].nvalues && x[i].values; j++)
			free(x[i].values[j]);
		free(x[i].values);
	}
	free(x);
}

static void rules_free(struct weft_rule *r, size_t n)
{
	for (size_t i = 0; i < n && r; i++) {
		for (size_t j = 0; j < r[i].nfrom && r[i].from; j++) {
			labels_free(r[i].from[j].labels, r[i].from[j].nlabels);
			labels_free(r[i].from[j].ns_labels, r[i].from[j].ns_nlabels);
			exprs_free(r[i].from[j].exprs, r[i].from[j].nexprs);
			exprs_free(r[i].from[j].ns_exprs, r[i].from[j].ns_nexprs);
			free(r[i].from[j].except);
		}
		for (size_t j = 0; j < r[i].nto && r[i].to; j++) {
			labels_free(r[i].to[j].labels, r[i].to[j].nlabels);
			labels_free(r[i].to[j].ns_labels, r[i].to[j].ns_nlabels);
			exprs_free(r[i].to[j].exprs, r[i].to[j].nexprs);
			exprs_free(r[i].to[j].ns_exprs, r[i].to[j].ns_nexprs);
			free(r[i].to[j].except);
		}
		free(r[i].from);
		free(r[i].to);
		free(r[i].ports);
	}
	free(r);
}

static void policy_free(struct weft_policy *p)
{
	labels_free(p->labels, p->nlabels);
	exprs_free(p->exprs, p->nexprs);
	rules_free(p->ingress, p->ningress);
	rules_free(p->egress, p->negress);
	rules_free(p->deny, p->ndeny);
}

void weft_model_free(struct weft_model *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->nendpoints; i++) {
		for (size_t j = 0; j < cfg->endpoints[i].nlabels; j++) {
			free(cfg->endpoints[i].labels[j].key);
			free(cfg->endpoints[i].labels[j].value);
		}
		free(cfg->endpoints[i].labels);
	}
	free(cfg->endpoints);
	for (size_t i = 0; i < cfg->nnamespaces; i++)
		labels_free(cfg->namespaces[i].labels, cfg->namespaces[i].nlabels);
	free(cfg->namespaces);
	for (size_t i = 0; i < cfg->nservices; i++) {
		free(cfg->services[i].ports);
		free(cfg->services[i].backends);
	}
	free(cfg->services);
	for (size_t i = 0; i < cfg->npolicies; i++)
		policy_free(&cfg->policies[i]);
	free(cfg->policies);
	free(cfg->path);
	free(cfg);
}
