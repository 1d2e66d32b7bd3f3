// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* policy: compile `policies:` into the policy maps, diff and apply them. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "reconcile/policy.h"

#define ID_EP_RANGE (WEFT_ID_CIDR - WEFT_ID_EP_MIN)
#define ID_CIDR_MASK (WEFT_ID_CIDR - 1)

void weft_pol_free(struct weft_pol_state *st)
{
	if (!st)
		return;
	free(st->ids);
	free(st->ents);
	free(st->stale_ids);
	free(st->stale_ents);
	memset(st, 0, sizeof(*st));
}

/* qsort that accepts an empty (NULL) array. */
static void sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(base, n, size, cmp);
}

static uint32_t fnv(uint32_t h, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 16777619u;
	}
	return h;
}

/* Identities being handed out: sorted names, their ids. */
struct idname {
	char *name;		/* namespace, then sorted "key=value", NUL-separated */
	size_t len;
	uint32_t id;
};

static int label_cmp(const void *a, const void *b)
{
	const struct weft_label *x = a, *y = b;

	return strcmp(x->key, y->key);
}

/* The name of an endpoint's label set (malloc'd). */
static char *ep_name(const struct weft_endpoint *ep, size_t *len)
{
	struct weft_label *l = calloc(ep->nlabels ? ep->nlabels : 1, sizeof(*l));
	size_t n = strlen(ep->ns) + 1;
	char *s, *p;

	if (!l)
		return NULL;
	if (ep->nlabels)
		memcpy(l, ep->labels, ep->nlabels * sizeof(*l));
	sort(l, ep->nlabels, sizeof(*l), label_cmp);
	for (size_t i = 0; i < ep->nlabels; i++)
		n += strlen(l[i].key) + strlen(l[i].value) + 2;
	s = malloc(n);
	if (s) {
		p = s + sprintf(s, "%s", ep->ns) + 1;
		for (size_t i = 0; i < ep->nlabels; i++)
			p += sprintf(p, "%s=%s", l[i].key, l[i].value) + 1;
		*len = n;
	}
	free(l);
	return s;
}

uint32_t weft_pol_ep_hash(const struct weft_endpoint *ep)
{
	size_t len = 0;
	char *s = ep_name(ep, &len);
	uint32_t h;

	if (!s)
		return 0;
	h = WEFT_ID_EP_MIN + fnv(2166136261u, s, len) % ID_EP_RANGE;
	free(s);
	return h;
}

static int idname_cmp(const void *a, const void *b)
{
	const struct idname *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int r = memcmp(x->name, y->name, n);

	return r ? r : (x->len > y->len) - (x->len < y->len);
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* The compiler's working state. */
struct comp {
	const struct weft_model *cfg;
	uint32_t *ep_id;		/* per endpoint */
	struct weft_cidr *pfx;		/* distinct CIDRs of the policies, sorted */
	size_t npfx;
	uint32_t *pfx_id;
	struct weft_pol_ent *ents;
	size_t nents, cap;
	size_t max;			/* entries allowed (one generation) */
	char *err;
	size_t errlen;
};

/* Give each distinct name an id: hash, then the next free one on collision
 * (ids taken in sorted name order). used: sorted array of taken ids. */
static int assign_ids(struct idname *names, size_t n, bool cidr)
{
	size_t cap = 16;
	uint32_t *used;

	while (cap < 2 * n)
		cap *= 2;
	used = calloc(cap, sizeof(*used));	/* open addressing; 0 = free (no id is 0) */
	if (!used)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		uint32_t h = fnv(2166136261u, names[i].name, names[i].len), id;
		size_t slot;

		if (i && !idname_cmp(&names[i], &names[i - 1])) {
			names[i].id = names[i - 1].id;
			continue;
		}
		for (uint32_t k = 0;; k++) {
			id = cidr ? WEFT_ID_CIDR | ((h + k) & ID_CIDR_MASK) :
				    WEFT_ID_EP_MIN + (h + k) % ID_EP_RANGE;
			for (slot = (id * 2654435761u) & (cap - 1); used[slot] && used[slot] != id;
			     slot = (slot + 1) & (cap - 1))
				;
			if (!used[slot])
				break;
		}
		names[i].id = id;
		used[slot] = id;
	}
	free(used);
	return 0;
}

static int endpoint_ids(struct comp *c)
{
	const struct weft_model *cfg = c->cfg;
	size_t n = cfg->nendpoints;
	struct idname *names = calloc(n ? n : 1, sizeof(*names));
	size_t *order = NULL;
	int ret = -ENOMEM;

	c->ep_id = calloc(n ? n : 1, sizeof(*c->ep_id));
	if (!names || !c->ep_id)
		goto out;
	for (size_t i = 0; i < n; i++) {
		names[i].name = ep_name(&cfg->endpoints[i], &names[i].len);
		if (!names[i].name)
			goto out;
		names[i].id = (uint32_t)i;	/* the endpoint, until sorted */
	}
	/* Sort names, remembering which endpoint each was. */
	order = calloc(n ? n : 1, sizeof(*order));
	if (!order)
		goto out;
	sort(names, n, sizeof(*names), idname_cmp);
	for (size_t i = 0; i < n; i++)
		order[i] = names[i].id;
	ret = assign_ids(names, n, false);
	if (ret)
		goto out;
	for (size_t i = 0; i < n; i++)
		c->ep_id[order[i]] = names[i].id;
out:
	for (size_t i = 0; names && i < n; i++)
		free(names[i].name);
	free(names);
	free(order);
	return ret;
}

static int cidr_cmp(const void *a, const void *b)
{
	const struct weft_cidr *x = a, *y = b;
	int r = memcmp(&x->net, &y->net, sizeof(x->net));

	return r ? r : x->plen - y->plen;
}

static int add_pfx(struct comp *c, const struct weft_cidr *p, size_t *cap)
{
	if (c->npfx == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct weft_cidr *np = realloc(c->pfx, ncap * sizeof(*np));

		if (!np)
			return -ENOMEM;
		c->pfx = np;
		*cap = ncap;
	}
	c->pfx[c->npfx++] = *p;
	return 0;
}

static int rule_pfx(struct comp *c, const struct weft_peer *peers, size_t n, size_t *cap)
{
	for (size_t i = 0; i < n; i++) {
		if (!peers[i].has_cidr)
			continue;
		if (add_pfx(c, &peers[i].cidr, cap))
			return -ENOMEM;
		for (size_t j = 0; j < peers[i].nexcept; j++)
			if (add_pfx(c, &peers[i].except[j], cap))
				return -ENOMEM;
	}
	return 0;
}

static int cidr_ids(struct comp *c)
{
	const struct weft_model *cfg = c->cfg;
	struct idname *names = NULL;
	size_t cap = 0, n = 0;
	int ret = 0;

	for (size_t i = 0; i < cfg->npolicies && !ret; i++) {
		const struct weft_policy *p = &cfg->policies[i];
		const struct weft_rule *sets[3] = { p->ingress, p->egress, p->deny };
		size_t counts[3] = { p->ningress, p->negress, p->ndeny };

		for (int s = 0; s < 3 && !ret; s++)
			for (size_t r = 0; r < counts[s] && !ret; r++) {
				ret = rule_pfx(c, sets[s][r].from, sets[s][r].nfrom, &cap);
				if (!ret)
					ret = rule_pfx(c, sets[s][r].to, sets[s][r].nto, &cap);
			}
	}
	if (ret)
		return ret;
	sort(c->pfx, c->npfx, sizeof(*c->pfx), cidr_cmp);
	for (size_t i = 0; i < c->npfx; i++)
		if (!n || cidr_cmp(&c->pfx[i], &c->pfx[n - 1]))
			c->pfx[n++] = c->pfx[i];
	c->npfx = n;
	names = calloc(n ? n : 1, sizeof(*names));
	c->pfx_id = calloc(n ? n : 1, sizeof(*c->pfx_id));
	if (!names || !c->pfx_id) {
		ret = -ENOMEM;
		goto out;
	}
	/* Names (address, prefix length) in the prefixes' sorted order, so
	 * collisions resolve in that order. */
	for (size_t i = 0; i < n; i++) {
		names[i].name = malloc(17);
		if (!names[i].name) {
			ret = -ENOMEM;
			goto out;
		}
		memcpy(names[i].name, &c->pfx[i].net, 16);
		names[i].name[16] = (char)c->pfx[i].plen;
		names[i].len = 17;
	}
	ret = assign_ids(names, n, true);
	for (size_t i = 0; !ret && i < n; i++)
		c->pfx_id[i] = names[i].id;
out:
	for (size_t i = 0; names && i < n; i++)
		free(names[i].name);
	free(names);
	return ret;
}

/* The value of key in a label set, NULL if absent. */
static const char *label_get(const struct weft_label *l, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(l[i].key, key))
			return l[i].value;
	return NULL;
}

/* Whether a label set (plus one implicit label, if ikey) has every label of
 * sel and meets every requirement of exprs. */
static bool selector_match(const struct weft_label *sel, size_t nsel,
			   const struct weft_label_expr *exprs, size_t nexprs,
			   const struct weft_label *l, size_t n, const char *ikey, const char *ival)
{
	for (size_t i = 0; i < nsel; i++) {
		const char *v = ikey && !strcmp(sel[i].key, ikey) ? ival : label_get(l, n, sel[i].key);

		if (!v || strcmp(v, sel[i].value))
			return false;
	}
	for (size_t i = 0; i < nexprs; i++) {
		const struct weft_label_expr *x = &exprs[i];
		const char *v = ikey && !strcmp(x->key, ikey) ? ival : label_get(l, n, x->key);
		bool in = false;

		for (size_t j = 0; v && j < x->nvalues; j++)
			in = in || !strcmp(v, x->values[j]);
		if ((x->op == WEFT_SEL_IN && !in) || (x->op == WEFT_SEL_NOT_IN && in) ||
		    (x->op == WEFT_SEL_EXISTS && !v) || (x->op == WEFT_SEL_NOT_EXISTS && v))
			return false;
	}
	return true;
}

static bool labels_match(const struct weft_label *sel, size_t nsel,
			 const struct weft_label_expr *exprs, size_t nexprs,
			 const struct weft_endpoint *ep)
{
	return selector_match(sel, nsel, exprs, nexprs, ep->labels, ep->nlabels, NULL, NULL);
}

/* Whether namespace ns has every label of a peer's namespace selector.
 * Every namespace has kubernetes.io/metadata.name=<its name>, as in
 * Kubernetes; one not in `namespaces:` has no other label. */
static bool ns_match(const struct weft_model *cfg, const struct weft_peer *p, const char *ns)
{
	const struct weft_namespace *n = NULL;

	for (size_t i = 0; i < cfg->nnamespaces && !n; i++)
		if (!strcmp(cfg->namespaces[i].name, ns))
			n = &cfg->namespaces[i];
	return selector_match(p->ns_labels, p->ns_nlabels, p->ns_exprs, p->ns_nexprs,
			      n ? n->labels : NULL, n ? n->nlabels : 0, WEFT_NS_NAME_LABEL, ns);
}

bool weft_pol_peer_selects(const struct weft_model *cfg, const char *ns,
			   const struct weft_peer *p, const struct weft_endpoint *ep)
{
	if (p->has_cidr)
		return false;
	return (p->has_ns_selector ? ns_match(cfg, p, ep->ns) : !strcmp(ep->ns, ns)) &&
	       labels_match(p->labels, p->nlabels, p->exprs, p->nexprs, ep);
}

static int add_ent(struct comp *c, uint32_t subject, uint32_t peer, uint16_t port, uint8_t proto,
		   uint8_t dir, uint8_t action, bool audit, uint32_t rule)
{
	struct weft_pol_ent *e;

	if (c->nents == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 64;

		if (c->nents >= c->max) {
			snprintf(c->err, c->errlen,
				 "policies need more than %zu entries; map %s holds two generations of %zu: raise datapath.max_policy",
				 c->max, weft_map_name(WEFT_M_POL), c->max);
			return -E2BIG;
		}
		e = realloc(c->ents, ncap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		c->ents = e;
		c->cap = ncap;
	}
	e = &c->ents[c->nents++];
	memset(e, 0, sizeof(*e));
	e->k.subject = subject;
	e->k.peer = peer;
	e->k.port = htons(port);
	e->k.proto = proto;
	e->k.dir = dir;
	e->v.action = action;
	e->v.audit = audit;
	e->v.rule = rule;
	return 0;
}

static int push_id(uint32_t **ids, size_t *n, size_t *cap, uint32_t id)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		uint32_t *p = realloc(*ids, ncap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		*ids = p;
		*cap = ncap;
	}
	(*ids)[(*n)++] = id;
	return 0;
}

/* Index of the first prefix (sorted by address, then length) whose address
 * is not below net. */
static size_t pfx_lower(const struct comp *c, const struct weft_ip *net)
{
	size_t lo = 0, hi = c->npfx;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (memcmp(&c->pfx[mid].net, net, sizeof(*net)) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The identities of the prefixes within a CIDR peer and not within one of
 * its exceptions: they are one run of the sorted prefixes. */
static int cidr_peer_ids(struct comp *c, const struct weft_peer *p, uint32_t **ids, size_t *k,
			 size_t *cap)
{
	for (size_t j = pfx_lower(c, &p->cidr.net); j < c->npfx; j++) {
		struct weft_cidr addr = { .net = c->pfx[j].net, .plen = 128 };
		bool out_;

		if (!weft_cidr_within(&addr, &p->cidr))
			break;	/* past the CIDR's addresses */
		out_ = c->pfx[j].plen < p->cidr.plen;
		for (size_t x = 0; !out_ && x < p->nexcept; x++)
			out_ = weft_cidr_within(&c->pfx[j], &p->except[x]);
		if (!out_ && push_id(ids, k, cap, c->pfx_id[j]))
			return -ENOMEM;
	}
	return 0;
}

/* The peer identities of one rule side into ids (caller frees). No peers =
 * WEFT_ID_ANY. */
static int peer_ids(struct comp *c, const char *ns, const struct weft_peer *peers, size_t n,
		    uint32_t **out, size_t *nout)
{
	const struct weft_model *cfg = c->cfg;
	uint32_t *ids = NULL;
	size_t cap = 0, k = 0;
	int ret = 0;

	if (!n)
		ret = push_id(&ids, &k, &cap, WEFT_ID_ANY);
	for (size_t i = 0; !ret && i < n; i++) {
		const struct weft_peer *p = &peers[i];

		if (p->has_cidr) {
			ret = cidr_peer_ids(c, p, &ids, &k, &cap);
			continue;
		}
		for (size_t e = 0; !ret && e < cfg->nendpoints; e++)
			if (weft_pol_peer_selects(cfg, ns, p, &cfg->endpoints[e]))
				ret = push_id(&ids, &k, &cap, c->ep_id[e]);
	}
	if (ret) {
		free(ids);
		return ret;
	}
	sort(ids, k, sizeof(*ids), u32_cmp);
	*nout = 0;
	for (size_t i = 0; i < k; i++)
		if (!*nout || ids[i] != ids[*nout - 1])
			ids[(*nout)++] = ids[i];
	*out = ids;
	return 0;
}

static int compile_rule(struct comp *c, const struct weft_policy *p, const uint32_t *subj,
			size_t nsubj, const struct weft_rule *r, uint8_t dir, uint8_t action,
			uint32_t rule)
{
	const struct weft_peer *peers = dir == WEFT_DIR_INGRESS ? r->from : r->to;
	size_t npeers = dir == WEFT_DIR_INGRESS ? r->nfrom : r->nto;
	static const struct weft_pol_port all[] = {
		{ 0, 0, IPPROTO_TCP }, { 0, 0, IPPROTO_UDP }, { 0, 0, IPPROTO_SCTP }
	};
	const struct weft_pol_port *ports = r->nports ? r->ports : all;
	size_t nports = r->nports ? r->nports : sizeof(all) / sizeof(all[0]), npeer = 0;
	uint32_t *peer = NULL;
	int ret;

	ret = peer_ids(c, p->ns, peers, npeers, &peer, &npeer);
	for (size_t s = 0; !ret && s < nsubj; s++)
		for (size_t i = 0; !ret && i < npeer; i++)
			for (size_t j = 0; !ret && j < nports; j++) {
				uint32_t lo = ports[j].port;
				uint32_t hi = ports[j].end_port ? ports[j].end_port : lo;

				for (uint32_t port = lo; !ret && port <= hi; port++)
					ret = add_ent(c, subj[s], peer[i], (uint16_t)port,
						      ports[j].proto, dir, action,
						      p->audit || c->cfg->datapath.policy_audit, rule);
			}
	free(peer);
	return ret;
}

static int compile_policy(struct comp *c, size_t pi)
{
	const struct weft_model *cfg = c->cfg;
	const struct weft_policy *p = &cfg->policies[pi];
	uint32_t *subj = calloc(cfg->nendpoints ? cfg->nendpoints : 1, sizeof(*subj));
	bool audit = p->audit || cfg->datapath.policy_audit;	/* global audit mode */
	size_t nsubj = 0;
	int ret = 0;

	if (!subj)
		return -ENOMEM;
	for (size_t e = 0; e < cfg->nendpoints; e++)
		if (!strcmp(cfg->endpoints[e].ns, p->ns) &&
		    labels_match(p->labels, p->nlabels, p->exprs, p->nexprs, &cfg->endpoints[e]))
			subj[nsubj++] = c->ep_id[e];
	sort(subj, nsubj, sizeof(*subj), u32_cmp);
	{
		size_t k = 0;

		for (size_t i = 0; i < nsubj; i++)
			if (!k || subj[i] != subj[k - 1])
				subj[k++] = subj[i];
		nsubj = k;
	}
	for (size_t s = 0; !ret && s < nsubj; s++) {
		if (p->has_ingress)
			ret = add_ent(c, subj[s], WEFT_ID_ANY, 0, 0, WEFT_DIR_INGRESS,
				      WEFT_POL_SELECTED, audit, (uint32_t)pi << 16 | WEFT_RULE_DEFAULT);
		if (!ret && p->has_egress)
			ret = add_ent(c, subj[s], WEFT_ID_ANY, 0, 0, WEFT_DIR_EGRESS,
				      WEFT_POL_SELECTED, audit, (uint32_t)pi << 16 | WEFT_RULE_DEFAULT);
	}
	for (size_t r = 0; !ret && r < p->ningress; r++)
		ret = compile_rule(c, p, subj, nsubj, &p->ingress[r], WEFT_DIR_INGRESS,
				   WEFT_POL_ALLOW, (uint32_t)pi << 16 | r);
	for (size_t r = 0; !ret && r < p->negress; r++)
		ret = compile_rule(c, p, subj, nsubj, &p->egress[r], WEFT_DIR_EGRESS,
				   WEFT_POL_ALLOW, (uint32_t)pi << 16 | r);
	for (size_t r = 0; !ret && r < p->ndeny; r++)
		ret = compile_rule(c, p, subj, nsubj, &p->deny[r],
				   p->deny[r].has_from ? WEFT_DIR_INGRESS : WEFT_DIR_EGRESS,
				   WEFT_POL_DENY, (uint32_t)pi << 16 | r);
	free(subj);
	return ret;
}

static int ent_cmp(const void *a, const void *b)
{
	return memcmp(&((const struct weft_pol_ent *)a)->k, &((const struct weft_pol_ent *)b)->k,
		      sizeof(struct weft_pol_key));
}

static int id_cmp(const void *a, const void *b)
{
	return memcmp(&((const struct weft_pol_id_ent *)a)->k,
		      &((const struct weft_pol_id_ent *)b)->k, sizeof(struct weft_pol_id_key));
}

/* Sort and merge entries with the same key: deny beats allow; a deny or a
 * marker is in audit mode only if every policy that made it is; an allow
 * keeps the first rule. */
static size_t merge_ents(struct weft_pol_ent *e, size_t n)
{
	size_t k = 0;

	sort(e, n, sizeof(*e), ent_cmp);
	for (size_t i = 0; i < n; i++) {
		struct weft_pol_ent *m = k ? &e[k - 1] : NULL;

		if (!m || ent_cmp(m, &e[i])) {
			e[k++] = e[i];
			continue;
		}
		if (e[i].v.action == WEFT_POL_DENY && m->v.action != WEFT_POL_DENY)
			m->v = e[i].v;
		else if (e[i].v.action == m->v.action && m->v.action != WEFT_POL_ALLOW)
			m->v.audit = m->v.audit && e[i].v.audit;
	}
	return k;
}

static void id_key(struct weft_pol_id_key *k, const struct weft_ip *ip, unsigned int plen)
{
	memset(k, 0, sizeof(*k));
	k->prefixlen = 32 + plen;
	memcpy(k->addr, &ip->a, sizeof(k->addr));
}

static int build_ids(struct comp *c, struct weft_pol_state *out, size_t max)
{
	const struct weft_model *cfg = c->cfg;
	size_t n = cfg->nendpoints + c->npfx, k = 0;
	struct weft_pol_id_ent *ids = calloc(n ? n : 1, sizeof(*ids));

	if (!ids)
		return -ENOMEM;
	/* Endpoints first: a CIDR with the same key is dropped by the merge. */
	for (size_t i = 0; i < cfg->nendpoints; i++) {
		id_key(&ids[k].k, &cfg->endpoints[i].ip, 128);
		ids[k++].v.id = c->ep_id[i];
	}
	for (size_t i = 0; i < c->npfx; i++) {
		id_key(&ids[k].k, &c->pfx[i].net, c->pfx[i].plen);
		ids[k++].v.id = c->pfx_id[i];
	}
	/* Tag endpoints (pad 0) so the merge keeps them over a CIDR of the
	 * same key, whatever order qsort leaves equal keys in. */
	for (size_t i = 0; i < k; i++)
		ids[i].v.pad = i < cfg->nendpoints ? 0 : 1;
	sort(ids, k, sizeof(*ids), id_cmp);
	n = 0;
	for (size_t i = 0; i < k; i++) {
		if (n && !id_cmp(&ids[n - 1], &ids[i])) {
			if (ids[i].v.pad == 0)
				ids[n - 1].v = ids[i].v;
			continue;
		}
		ids[n++] = ids[i];
	}
	for (size_t i = 0; i < n; i++)
		ids[i].v.pad = 0;
	if (n > max) {
		free(ids);
		snprintf(c->err, c->errlen,
			 "policies need %zu address prefixes; map %s holds two generations of %zu: raise datapath.max_idents",
			 n, weft_map_name(WEFT_M_POL_ID), max);
		return -E2BIG;
	}
	out->ids = ids;
	out->nids = n;
	return 0;
}

static bool same(const struct weft_pol_state *a, const struct weft_pol_state *b)
{
	return a->nids == b->nids && a->nents == b->nents &&
	       (!a->nids || !memcmp(a->ids, b->ids, a->nids * sizeof(*a->ids))) &&
	       (!a->nents || !memcmp(a->ents, b->ents, a->nents * sizeof(*a->ents)));
}

int weft_pol_build(const struct weft_model *cfg, const struct weft_pol_state *cur,
		   struct weft_pol_state *out, char *err, size_t errlen)
{
	struct comp c = { .cfg = cfg, .err = err, .errlen = errlen };
	int ret = 0;

	memset(out, 0, sizeof(*out));
	c.max = cfg->datapath.max_policy / 2;
	if (cfg->npolicies) {
		ret = endpoint_ids(&c);
		if (!ret)
			ret = cidr_ids(&c);
		for (size_t i = 0; !ret && i < cfg->npolicies; i++)
			ret = compile_policy(&c, i);
		if (!ret)
			ret = build_ids(&c, out, cfg->datapath.max_idents / 2);
		if (ret) {
			if (ret == -ENOMEM)
				snprintf(err, errlen, "policies: out of memory");
			goto out;
		}
		out->ents = c.ents;
		out->nents = merge_ents(c.ents, c.nents);
		c.ents = NULL;
	}
	out->epoch = cur->epoch;
	if (!same(cur, out) || cur->nstale_ids || cur->nstale_ents) {
		out->epoch = (uint32_t)(cur->epoch + 1);
		if (!out->epoch)
			out->epoch = 1;	/* 0 is "no policy": skip it when wrapping */
	}
out:
	if (ret)
		weft_pol_free(out);
	free(c.ep_id);
	free(c.pfx);
	free(c.pfx_id);
	free(c.ents);
	return ret;
}

uint32_t weft_pol_ident(const struct weft_pol_state *st, const struct weft_ip *ip)
{
	uint32_t best = WEFT_ID_WORLD, bestlen = 0;
	bool found = false;

	for (size_t i = 0; i < st->nids; i++) {
		struct weft_cidr in = { .net = *ip, .plen = 128 }, pfx;

		memcpy(&pfx.net, st->ids[i].k.addr, 16);
		pfx.plen = (uint8_t)(st->ids[i].k.prefixlen - 32);
		if (weft_cidr_within(&in, &pfx) && (!found || pfx.plen > bestlen)) {
			best = st->ids[i].v.id;
			bestlen = pfx.plen;
			found = true;
		}
	}
	return best;
}

uint32_t weft_pol_ep_ident(const struct weft_pol_state *st, const struct weft_ip *ip)
{
	struct weft_pol_id_ent key = { .k.prefixlen = 32 + 128 }, *e;

	memcpy(key.k.addr, &ip->a, sizeof(key.k.addr));
	e = st->nids ? bsearch(&key, st->ids, st->nids, sizeof(key), id_cmp) : NULL;
	return e ? e->v.id : 0;
}

uint32_t weft_pol_policed(const struct weft_pol_state *st, uint32_t id)
{
	struct weft_pol_ent key = { .k.subject = id }, *e;
	uint32_t flags = 0;

	for (uint8_t dir = WEFT_DIR_INGRESS; id && st->nents && dir <= WEFT_DIR_EGRESS; dir++) {
		key.k.dir = dir;
		e = bsearch(&key, st->ents, st->nents, sizeof(key), ent_cmp);
		if (e && e->v.action == WEFT_POL_SELECTED)
			flags |= dir == WEFT_DIR_INGRESS ? WEFT_EP_INGRESS_POLICED :
							   WEFT_EP_EGRESS_POLICED;
	}
	return flags;
}

/* Diff. */

static int emit_id(weft_pol_op_fn fn, void *ctx, const struct weft_pol_id_key *k,
		   const struct weft_pol_id_val *v, uint32_t epoch)
{
	struct weft_pol_op op = { .map = WEFT_M_POL_ID, .del = !v };

	op.k.id = *k;
	op.k.id.epoch = htonl(epoch);
	if (v)
		op.v.id = *v;
	return fn(&op, ctx);
}

static int emit_ent(weft_pol_op_fn fn, void *ctx, const struct weft_pol_key *k,
		    const struct weft_pol_val *v, uint32_t epoch)
{
	struct weft_pol_op op = { .map = WEFT_M_POL, .del = !v };

	op.k.pol = *k;
	op.k.pol.epoch = epoch;
	if (v)
		op.v.pol = *v;
	return fn(&op, ctx);
}

int weft_pol_diff(const struct weft_pol_state *cur, const struct weft_pol_state *want,
		  weft_pol_op_fn fn, void *ctx)
{
	uint32_t old = (uint32_t)cur->epoch, new = (uint32_t)want->epoch;
	struct weft_pol_op flip = { .map = WEFT_M_REDIR_CFG, .epoch = want->epoch };
	int ret = 0;

	/* Leftovers of a cut-short apply are of no active epoch. */
	for (size_t i = 0; !ret && i < cur->nstale_ids; i++) {
		struct weft_pol_op op = { .map = WEFT_M_POL_ID, .del = 1 };

		op.k.id = cur->stale_ids[i];
		ret = fn(&op, ctx);
	}
	for (size_t i = 0; !ret && i < cur->nstale_ents; i++) {
		struct weft_pol_op op = { .map = WEFT_M_POL, .del = 1 };

		op.k.pol = cur->stale_ents[i];
		ret = fn(&op, ctx);
	}
	if (ret || old == new)
		return ret;
	for (size_t i = 0; !ret && i < want->nids; i++)
		ret = emit_id(fn, ctx, &want->ids[i].k, &want->ids[i].v, new);
	for (size_t i = 0; !ret && i < want->nents; i++)
		ret = emit_ent(fn, ctx, &want->ents[i].k, &want->ents[i].v, new);
	if (!ret)
		ret = fn(&flip, ctx);
	for (size_t i = 0; !ret && i < cur->nents; i++)
		ret = emit_ent(fn, ctx, &cur->ents[i].k, NULL, old);
	for (size_t i = 0; !ret && i < cur->nids; i++)
		ret = emit_id(fn, ctx, &cur->ids[i].k, NULL, old);
	return ret;
}

/* Maps. */

static int grow(void **arr, size_t *cap, size_t n, size_t size);

#define POL_BATCH 4096	/* weft_pol writes per batch syscall */

struct apply_ctx {
	const struct weft_maps *maps;
	uint64_t nops;
	char *err;
	size_t errlen;
	/* weft_pol writes in order, all updates or all deletes, held until a
	 * write of another kind (the flip) or the end: one syscall each. */
	struct weft_pol_key bk[POL_BATCH];
	struct weft_pol_val bv[POL_BATCH];
	size_t nb;
	int bdel;
	bool nobatch;		/* the kernel has no batch ops for the map */
};

/* One weft_pol write at a time (no batch ops): 0 or -errno. */
static int pol_one(int fd, const struct weft_pol_key *k, const struct weft_pol_val *v, int del)
{
	if (del)
		return bpf_map_delete_elem(fd, k) < 0 && errno != ENOENT ? -errno : 0;
	return bpf_map_update_elem(fd, k, v, BPF_ANY) < 0 ? -errno : 0;
}

static int batch_flush(struct apply_ctx *c)
{
	int fd = c->maps->fd[WEFT_M_POL], ret = 0;
	size_t done = 0;

	while (!ret && done < c->nb) {
		__u32 n = (__u32)(c->nb - done);

		if (c->nobatch) {
			ret = pol_one(fd, &c->bk[done], &c->bv[done], c->bdel);
			done += !ret;
			continue;
		}
		ret = c->bdel ? bpf_map_delete_batch(fd, &c->bk[done], &n, NULL) :
				bpf_map_update_batch(fd, &c->bk[done], &c->bv[done], &n, NULL);
		ret = ret < 0 ? -errno : 0;
		if (ret && n > c->nb - done)
			n = 0;
		done += n;	/* on failure: the writes before the failing one */
		if (ret == -ENOENT && c->bdel) {
			done++;	/* already gone: what a delete wants */
			ret = 0;
		} else if (ret && !n && (ret == -EINVAL || ret == -EOPNOTSUPP || ret == -524)) {
			c->nobatch = true;	/* no batch ops (ENOTSUPP): one at a time */
			ret = 0;
		}
	}
	c->nops += done;
	c->nb = 0;
	if (ret)
		snprintf(c->err, c->errlen, "map %s: %s: %s", weft_map_name(WEFT_M_POL),
			 c->bdel ? "delete" : "update", strerror(-ret));
	return ret;
}

static int apply_op(const struct weft_pol_op *op, void *vctx)
{
	struct apply_ctx *c = vctx;
	int fd = c->maps->fd[op->map];
	const void *k = op->map == WEFT_M_POL ? (const void *)&op->k.pol : (const void *)&op->k.id;
	const void *v = op->map == WEFT_M_POL ? (const void *)&op->v.pol : (const void *)&op->v.id;
	int ret = 0;

	if (c->nb && (op->map != WEFT_M_POL || op->del != c->bdel || c->nb == POL_BATCH)) {
		ret = batch_flush(c);
		if (ret)
			return ret;
	}
	if (op->map == WEFT_M_POL) {
		c->bk[c->nb] = op->k.pol;
		c->bv[c->nb] = op->v.pol;
		c->bdel = op->del;
		c->nb++;
		return 0;
	}
	if (op->map == WEFT_M_REDIR_CFG) {
		struct weft_redir_cfg rc = { 0 };
		__u32 zero = 0;

		if (bpf_map_lookup_elem(fd, &zero, &rc) < 0)
			memset(&rc, 0, sizeof(rc));
		rc.policy_epoch = op->epoch;
		if (bpf_map_update_elem(fd, &zero, &rc, BPF_ANY) < 0)
			ret = -errno;
	} else if (op->del) {
		if (bpf_map_delete_elem(fd, k) < 0 && errno != ENOENT)
			ret = -errno;
	} else if (bpf_map_update_elem(fd, k, v, BPF_ANY) < 0) {
		ret = -errno;
	}
	if (ret) {
		snprintf(c->err, c->errlen, "map %s: %s: %s", weft_map_name(op->map),
			 op->del ? "delete" : "update", strerror(-ret));
		return ret;
	}
	c->nops++;
	return 0;
}

/* Counters of other epochs than the active one go (after the flip). */
static int cnt_prune(int fd, uint32_t epoch, struct apply_ctx *c)
{
	struct weft_pol_cnt_key k, next, *del = NULL;
	size_t n = 0, cap = 0;
	int ret = 0;

	if (fd < 0)
		return 0;
	for (void *prev = NULL; bpf_map_get_next_key(fd, prev, &next) == 0; prev = &k) {
		k = next;
		if (k.epoch == epoch)
			continue;
		if (grow((void **)&del, &cap, n, sizeof(*del))) {
			ret = -ENOMEM;
			break;
		}
		del[n++] = k;
	}
	for (size_t i = 0; !ret && i < n; i++) {
		if (bpf_map_delete_elem(fd, &del[i]) < 0 && errno != ENOENT) {
			ret = -errno;
			snprintf(c->err, c->errlen, "map %s: delete: %s", weft_map_name(WEFT_M_POL_CNT),
				 strerror(errno));
		}
		c->nops++;
	}
	if (ret == -ENOMEM)
		snprintf(c->err, c->errlen, "policy: out of memory");
	free(del);
	return ret;
}

int weft_pol_apply(const struct weft_maps *maps, const struct weft_pol_state *cur,
		   const struct weft_pol_state *want, uint64_t *nops, char *err, size_t errlen)
{
	struct apply_ctx *c = calloc(1, sizeof(*c));
	int ret;

	if (!c) {
		snprintf(err, errlen, "policy: apply: out of memory");
		return -ENOMEM;
	}
	*c = (struct apply_ctx){ .maps = maps, .err = err, .errlen = errlen };
	ret = weft_pol_diff(cur, want, apply_op, c);
	if (!ret && c->nb)
		ret = batch_flush(c);
	if (!ret && cur->epoch != want->epoch)
		ret = cnt_prune(maps->fd[WEFT_M_POL_CNT], (uint32_t)want->epoch, c);
	if (nops)
		*nops = c->nops;
	free(c);
	return ret;
}

static int grow(void **arr, size_t *cap, size_t n, size_t size)
{
	void *p;

	if (n < *cap)
		return 0;
	*cap = *cap ? *cap * 2 : 64;
	p = realloc(*arr, *cap * size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	return 0;
}

int weft_pol_read(const struct weft_maps *maps, struct weft_pol_state *out, char *err,
		  size_t errlen)
{
	int idfd = maps->fd[WEFT_M_POL_ID], pfd = maps->fd[WEFT_M_POL];
	size_t cap_ids = 0, cap_ents = 0, cap_si = 0, cap_se = 0;
	struct weft_redir_cfg rc = { 0 };
	struct weft_pol_id_key ik, inext;
	struct weft_pol_key pk, pnext;
	__u32 zero = 0, epoch;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	if (bpf_map_lookup_elem(maps->fd[WEFT_M_REDIR_CFG], &zero, &rc) == 0)
		out->epoch = rc.policy_epoch;
	epoch = (uint32_t)out->epoch;
	for (void *prev = NULL; !ret && bpf_map_get_next_key(idfd, prev, &inext) == 0; prev = &ik) {
		struct weft_pol_id_val v;

		ik = inext;
		if (ntohl(ik.epoch) != epoch || !epoch) {
			ret = grow((void **)&out->stale_ids, &cap_si, out->nstale_ids,
				   sizeof(*out->stale_ids));
			if (!ret)
				out->stale_ids[out->nstale_ids++] = ik;
			continue;
		}
		if (bpf_map_lookup_elem(idfd, &ik, &v))
			continue;
		ret = grow((void **)&out->ids, &cap_ids, out->nids, sizeof(*out->ids));
		if (!ret) {
			out->ids[out->nids].k = ik;
			out->ids[out->nids].k.epoch = 0;
			out->ids[out->nids++].v = v;
		}
	}
	for (void *prev = NULL; !ret && bpf_map_get_next_key(pfd, prev, &pnext) == 0; prev = &pk) {
		struct weft_pol_val v;

		pk = pnext;
		if (pk.epoch != epoch || !epoch) {
			ret = grow((void **)&out->stale_ents, &cap_se, out->nstale_ents,
				   sizeof(*out->stale_ents));
			if (!ret)
				out->stale_ents[out->nstale_ents++] = pk;
			continue;
		}
		if (bpf_map_lookup_elem(pfd, &pk, &v))
			continue;
		ret = grow((void **)&out->ents, &cap_ents, out->nents, sizeof(*out->ents));
		if (!ret) {
			out->ents[out->nents].k = pk;
			out->ents[out->nents].k.epoch = 0;
			out->ents[out->nents++].v = v;
		}
	}
	if (ret) {
		snprintf(err, errlen, "policy: read maps: %s", strerror(-ret));
		weft_pol_free(out);
		return ret;
	}
	sort(out->ids, out->nids, sizeof(*out->ids), id_cmp);
	sort(out->ents, out->nents, sizeof(*out->ents), ent_cmp);
	return 0;
}
