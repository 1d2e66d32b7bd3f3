// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* model/select: label selectors (Kubernetes matchLabels + matchExpressions)
 * over endpoints, namespaces and anything else that has labels. */
#include <string.h>

#include "model/model.h"

const char *weft_label_get(const struct weft_label *l, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(l[i].key, key))
			return l[i].value;
	return NULL;
}

bool weft_selector_matches(const struct weft_label *sel, size_t nsel,
			   const struct weft_label_expr *exprs, size_t nexprs,
			   weft_label_get_fn get, const void *obj)
{
	for (size_t i = 0; i < nsel; i++) {
		const char *v = get(obj, sel[i].key);

		if (!v || strcmp(v, sel[i].value))
			return false;
	}
	for (size_t i = 0; i < nexprs; i++) {
		const struct weft_label_expr *x = &exprs[i];
		const char *v = get(obj, x->key);
		bool in = false;

		for (size_t j = 0; v && j < x->nvalues; j++)
			in = in || !strcmp(v, x->values[j]);
		if ((x->op == WEFT_SEL_IN && !in) || (x->op == WEFT_SEL_NOT_IN && in) ||
		    (x->op == WEFT_SEL_EXISTS && !v) || (x->op == WEFT_SEL_NOT_EXISTS && v))
			return false;
	}
	return true;
}

static const char *ep_label(const void *obj, const char *key)
{
	const struct weft_endpoint *ep = obj;

	return weft_label_get(ep->labels, ep->nlabels, key);
}

/* A namespace as selectors see it: its labels, and
 * kubernetes.io/metadata.name = its name. */
struct ns_view {
	const char *name;
	const struct weft_namespace *ns;	/* NULL: not listed, no other label */
};

static const char *ns_label(const void *obj, const char *key)
{
	const struct ns_view *v = obj;

	if (!strcmp(key, WEFT_NS_NAME_LABEL))
		return v->name;
	return v->ns ? weft_label_get(v->ns->labels, v->ns->nlabels, key) : NULL;
}

bool weft_policy_selects(const struct weft_policy *p, const struct weft_endpoint *ep)
{
	return !strcmp(ep->ns, p->ns) &&
	       weft_selector_matches(p->labels, p->nlabels, p->exprs, p->nexprs, ep_label, ep);
}

bool weft_namespace_selected(const struct weft_model *m, const struct weft_peer *p, const char *ns)
{
	struct ns_view v = { ns, NULL };

	for (size_t i = 0; i < m->nnamespaces && !v.ns; i++)
		if (!strcmp(m->namespaces[i].name, ns))
			v.ns = &m->namespaces[i];
	return weft_selector_matches(p->ns_labels, p->ns_nlabels, p->ns_exprs, p->ns_nexprs, ns_label,
				     &v);
}

bool weft_peer_selects(const struct weft_model *m, const char *ns, const struct weft_peer *p,
		       const struct weft_endpoint *ep)
{
	if (p->has_cidr)
		return false;
	return (p->has_ns_selector ? weft_namespace_selected(m, p, ep->ns) : !strcmp(ep->ns, ns)) &&
	       weft_selector_matches(p->labels, p->nlabels, p->exprs, p->nexprs, ep_label, ep);
}
