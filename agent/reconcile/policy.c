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
	free(st->metas);
	free(st->stale_ids);
	free(st->stale_ents);
	free(st->stale_metas);
	free(st->rejects);
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

/* A rule's port range for one (subject, peer, proto, dir): k holds those
 * (prefixlen, epoch and port zero), lo..hi the ports, host order. */
struct range {
	struct weft_pol_key k;
	uint16_t lo, hi;
	struct weft_pol_val v;
};

/* The compiler's working state. */
struct comp {
	const struct weft_model *cfg;
	uint32_t *ep_id;		/* per endpoint */
	struct weft_cidr *pfx;		/* distinct CIDRs of the policies, sorted */
	size_t npfx;
	uint32_t *pfx_id;
	size_t *in_start;		/* per prefix (npfx + 1): its run of in_ep */
	size_t *in_ep;			/* endpoints whose address a prefix holds */
	struct range *raw;		/* rules as port ranges, before resolve() */
	size_t nraw, cap;
	size_t nblocks;			/* their blocks: at least what resolve() emits */
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

static int cidr_cmp(const void *a, const void *b);

/* The index of a prefix among the policies' (exact match), or -1. */
static long pfx_find(const struct comp *c, const struct weft_ip *ip, unsigned int plen)
{
	struct weft_cidr key = { .plen = (uint8_t)plen };
	const struct weft_cidr *at;

	for (unsigned int i = 0; i < 16; i++) {
		unsigned int bits = i * 8 >= plen ? 0 : plen - i * 8 >= 8 ? 8 : plen - i * 8;

		key.net.a.s6_addr[i] = ip->a.s6_addr[i] & (uint8_t)(0xff00u >> bits);
	}
	at = c->npfx ? bsearch(&key, c->pfx, c->npfx, sizeof(key), cidr_cmp) : NULL;
	return at ? at - c->pfx : -1;
}

/*
 * Which policy prefixes hold each endpoint's address (c->in_start/in_ep),
 * found per prefix length present (at most 129 lookups an address), and
 * appended to each endpoint's identity name: endpoints of one identity are
 * inside the same CIDRs and the same excepts, so a CIDR peer can select
 * whole identities and still match exactly the addresses it names.
 */
static int endpoint_pfx(struct comp *c, struct idname *names)
{
	const struct weft_model *cfg = c->cfg;
	size_t npair = 0, cap = 0, *pair = NULL, nlen = 0;
	unsigned char lens[129];
	bool have[129] = { false };
	int ret = -ENOMEM;

	c->in_start = calloc(c->npfx + 1, sizeof(*c->in_start));
	if (!c->in_start)
		return -ENOMEM;
	for (size_t j = 0; j < c->npfx; j++)
		have[c->pfx[j].plen] = true;
	for (unsigned int l = 0; l <= 128; l++)
		if (have[l])
			lens[nlen++] = (unsigned char)l;
	for (size_t e = 0; e < cfg->nendpoints; e++) {
		for (size_t l = 0; l < nlen; l++) {
			long j = pfx_find(c, &cfg->endpoints[e].ip, lens[l]);
			char *nn;

			if (j < 0)
				continue;
			if (npair == cap) {
				size_t *np = realloc(pair, (cap = cap * 2 + 64) * 2 * sizeof(*np));

				if (!np)
					goto out;
				pair = np;
			}
			pair[2 * npair] = (size_t)j;
			pair[2 * npair++ + 1] = e;
			c->in_start[j + 1]++;
			nn = realloc(names[e].name, names[e].len + 17);
			if (!nn)
				goto out;
			memcpy(nn + names[e].len, &c->pfx[j].net, 16);
			nn[names[e].len + 16] = (char)c->pfx[j].plen;
			names[e].name = nn;
			names[e].len += 17;
		}
	}
	for (size_t j = 0; j < c->npfx; j++)
		c->in_start[j + 1] += c->in_start[j];
	c->in_ep = calloc(npair + 1, sizeof(*c->in_ep));
	if (!c->in_ep)
		goto out;
	{
		size_t *fill = calloc(c->npfx + 1, sizeof(*fill));

		if (!fill)
			goto out;
		for (size_t i = 0; i < npair; i++)
			c->in_ep[c->in_start[pair[2 * i]] + fill[pair[2 * i]]++] = pair[2 * i + 1];
		free(fill);
	}
	ret = 0;
out:
	free(pair);
	return ret;
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
	ret = endpoint_pfx(c, names);
	if (ret)
		goto out;
	ret = -ENOMEM;
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

/* The aligned blocks of lo..hi, in order: each (first port, port bits),
 * the largest block that starts at lo and ends by hi, then on from there.
 * At most 30 for a range of 16-bit ports; 1-65535 is 16, 0-65535 one /0.
 * out may be NULL (count only). */
static size_t port_blocks(uint32_t lo, uint32_t hi, uint16_t *first, uint8_t *bits)
{
	size_t n = 0;

	while (lo <= hi) {
		unsigned int b = 16;

		while (b && !(lo & ((1u << (17 - b)) - 1)) && lo + (1u << (17 - b)) - 1 <= hi)
			b--;
		if (first) {
			first[n] = (uint16_t)lo;
			bits[n] = (uint8_t)b;
		}
		n++;
		lo += 1u << (16 - b);
	}
	return n;
}

/* One rule's range for one (subject, peer): its blocks count against the
 * budget (an upper bound of what resolve() emits for it). */
static int add_ent(struct comp *c, uint32_t subject, uint32_t peer, uint16_t lo, uint16_t hi,
		   uint8_t proto, uint8_t dir, uint8_t action, bool audit, uint32_t rule)
{
	size_t cost = port_blocks(lo, hi, NULL, NULL);
	struct range *e;

	if (c->nblocks + cost > c->max)
		return -E2BIG;	/* weft_pol_build names the policy */
	if (c->nraw == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 64;

		e = realloc(c->raw, ncap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		c->raw = e;
		c->cap = ncap;
	}
	c->nblocks += cost;
	e = &c->raw[c->nraw++];
	memset(e, 0, sizeof(*e));
	e->k.subject = subject;
	e->k.peer = peer;
	e->k.proto = proto;
	e->k.dir = dir;
	e->lo = lo;
	e->hi = hi;
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
 * its exceptions (they are one run of the sorted prefixes), and of the
 * endpoints whose address is in the CIDR and in none of its exceptions:
 * an ipBlock matches pod addresses too, as in Kubernetes. */
static int cidr_peer_ids(struct comp *c, const struct weft_peer *p, uint32_t **ids, size_t *k,
			 size_t *cap)
{
	long j0 = pfx_find(c, &p->cidr.net, p->cidr.plen);

	for (size_t i = j0 < 0 ? 0 : c->in_start[j0]; j0 >= 0 && i < c->in_start[j0 + 1]; i++) {
		size_t e = c->in_ep[i];
		struct weft_cidr addr = { .net = c->cfg->endpoints[e].ip, .plen = 128 };
		bool out_ = false;

		for (size_t x = 0; !out_ && x < p->nexcept; x++)
			out_ = weft_cidr_within(&addr, &p->except[x]);
		if (!out_ && push_id(ids, k, cap, c->ep_id[e]))
			return -ENOMEM;
	}
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
			if (weft_peer_selects(cfg, ns, p, &cfg->endpoints[e]))
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
				uint16_t lo = ports[j].port;
				uint16_t hi = !lo ? 65535 : ports[j].end_port ? ports[j].end_port : lo;

				ret = add_ent(c, subj[s], peer[i], lo, hi, ports[j].proto, dir,
					      action, p->audit || c->cfg->datapath.policy_audit,
					      rule);
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
	/* Subjects are this node's endpoints: another node enforces for its own. */
	for (size_t e = 0; e < cfg->nendpoints; e++)
		if (!cfg->endpoints[e].remote && weft_policy_selects(p, &cfg->endpoints[e]))
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
			ret = add_ent(c, subj[s], WEFT_ID_ANY, 0, 0, 0, WEFT_DIR_INGRESS,
				      WEFT_POL_SELECTED, audit, (uint32_t)pi << 16 | WEFT_RULE_DEFAULT);
		if (!ret && p->has_egress)
			ret = add_ent(c, subj[s], WEFT_ID_ANY, 0, 0, 0, WEFT_DIR_EGRESS,
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

static int range_cmp(const void *a, const void *b)
{
	const struct range *x = a, *y = b;
	int r = memcmp(&x->k, &y->k, sizeof(x->k));

	if (r)
		return r;
	return x->lo != y->lo ? (x->lo > y->lo) - (x->lo < y->lo) : (x->hi > y->hi) - (x->hi < y->hi);
}

/* Fold rule value v into m (m->action 0: nothing yet): deny beats allow
 * and marker; a deny or a marker is in audit mode only if every rule that
 * made it is, and names a rule not in audit mode if there is one; else the
 * lowest rule. */
static void fold(struct weft_pol_val *m, const struct weft_pol_val *v)
{
	if (!m->action || (v->action == WEFT_POL_DENY && m->action != WEFT_POL_DENY)) {
		*m = *v;
		return;
	}
	if (v->action != m->action)
		return;
	if (m->action != WEFT_POL_ALLOW && m->audit != v->audit) {
		if (m->audit)
			m->rule = v->rule;
		m->audit = 0;
	} else if (v->rule < m->rule) {
		m->rule = v->rule;
	}
}

struct block {
	uint16_t first;
	uint8_t bits;
};

static int block_cmp(const void *a, const void *b)
{
	const struct block *x = a, *y = b;

	return x->first != y->first ? (x->first > y->first) - (x->first < y->first) :
				      (x->bits > y->bits) - (x->bits < y->bits);
}

/*
 * The entries of weft_pol from the rules' ranges. Per (subject, peer,
 * proto, dir), the blocks of every range, each once; a block's value is
 * every range that holds the whole block folded together. Any port's
 * longest block B is one of its ranges' own blocks, and every range that
 * holds the port holds B (its own block of that port holds B, blocks
 * nest), so the longest match is exactly the fold over the ranges holding
 * the port: no cutting into pieces, and no more entries than blocks.
 * Sorted by key. 0 or -ENOMEM.
 */
static int resolve(struct comp *c, struct weft_pol_ent **out, size_t *nout)
{
	struct weft_pol_ent *ents = calloc(c->nblocks + 1, sizeof(*ents));
	struct block *blk = NULL;
	size_t n = 0, bcap = 0;

	if (!ents)
		return -ENOMEM;
	sort(c->raw, c->nraw, sizeof(*c->raw), range_cmp);
	for (size_t g = 0, ge; g < c->nraw; g = ge) {
		size_t nb = 0;

		for (ge = g; ge < c->nraw && !memcmp(&c->raw[ge].k, &c->raw[g].k, sizeof(c->raw[g].k)); ge++) {
			uint16_t first[32];
			uint8_t bits[32];
			size_t k = port_blocks(c->raw[ge].lo, c->raw[ge].hi, first, bits);

			if (nb + k > bcap) {
				size_t ncap = (nb + k) * 2;
				struct block *p = realloc(blk, ncap * sizeof(*p));

				if (!p) {
					free(blk);
					free(ents);
					return -ENOMEM;
				}
				blk = p;
				bcap = ncap;
			}
			for (size_t i = 0; i < k; i++)
				blk[nb++] = (struct block){ first[i], bits[i] };
		}
		sort(blk, nb, sizeof(*blk), block_cmp);
		for (size_t i = 0; i < nb; i++) {
			uint32_t a = blk[i].first, b = a + (1u << (16 - blk[i].bits)) - 1;
			struct weft_pol_ent *e = &ents[n];

			if (i && !block_cmp(&blk[i], &blk[i - 1]))
				continue;
			memset(e, 0, sizeof(*e));
			/* Ranges sorted by lo: those starting past the block end the scan. */
			for (size_t r = g; r < ge && c->raw[r].lo <= a; r++)
				if (c->raw[r].hi >= b)
					fold(&e->v, &c->raw[r].v);
			e->k = c->raw[g].k;
			e->k.prefixlen = WEFT_POL_FIXED_BITS + blk[i].bits;
			e->k.port = htons(blk[i].first);
			n++;
		}
	}
	free(blk);
	sort(ents, n, sizeof(*ents), ent_cmp);
	*out = ents;
	*nout = n;
	return 0;
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
	return a->nids == b->nids && a->nents == b->nents && a->nmetas == b->nmetas &&
	       (!a->nids || !memcmp(a->ids, b->ids, a->nids * sizeof(*a->ids))) &&
	       (!a->nmetas || !memcmp(a->metas, b->metas, a->nmetas * sizeof(*a->metas))) &&
	       (!a->nents || !memcmp(a->ents, b->ents, a->nents * sizeof(*a->ents)));
}

/* The names of each policy, by index (weft_pol_val.rule >> 16). */
static int build_metas(const struct weft_model *cfg, struct weft_pol_state *out, char *err,
		       size_t errlen)
{
	if (cfg->npolicies > cfg->datapath.max_policies / 2) {
		snprintf(err, errlen,
			 "%zu policies; map %s holds two generations of %u: raise datapath.max_policies",
			 cfg->npolicies, weft_map_name(WEFT_M_POL_META), cfg->datapath.max_policies / 2);
		return -E2BIG;
	}
	out->metas = calloc(cfg->npolicies + 1, sizeof(*out->metas));
	if (!out->metas)
		return -ENOMEM;
	out->nmetas = cfg->npolicies;
	for (size_t i = 0; i < cfg->npolicies; i++) {
		const struct weft_policy *p = &cfg->policies[i];
		struct weft_pol_meta *m = &out->metas[i];

		snprintf(m->name, sizeof(m->name), "%s", p->name);
		snprintf(m->ns, sizeof(m->ns), "%s", p->ns);
		m->ningress = p->ningress;
		m->negress = p->negress;
		m->ndeny = p->ndeny;
		m->audit = p->audit || cfg->datapath.policy_audit;
	}
	return 0;
}

/* Leave policy pi out, with a message naming it. 0 or -ENOMEM. */
static int reject(struct comp *c, struct weft_pol_state *out, size_t pi, const char *reason,
		  size_t used)
{
	const struct weft_policy *p = &c->cfg->policies[pi];
	struct weft_pol_reject *r = realloc(out->rejects, (out->nrejects + 1) * sizeof(*r));
	char where[300];

	if (!r)
		return -ENOMEM;
	out->rejects = r;
	r = &r[out->nrejects++];
	memset(r, 0, sizeof(*r));
	r->policy = pi;
	snprintf(r->reason, sizeof(r->reason), "%s", reason);
	weft_origin_str(c->cfg, &p->origin, p->ns, p->name, where, sizeof(where));
	if (!p->origin.kind)	/* a file position: name the policy too */
		snprintf(where + strlen(where), sizeof(where) - strlen(where), ": policy %s/%s",
			 p->ns, p->name);
	snprintf(r->msg, sizeof(r->msg),
		 "%s: needs more than the %zu of %zu entries of map %s left (it holds two generations: raise datapath.max_policy; a port range costs its aligned blocks, 16 for 1-65535); rejected, the other policies apply",
		 where, c->max - used, c->max, weft_map_name(WEFT_M_POL));
	return 0;
}

int weft_pol_build(const struct weft_model *cfg, const struct weft_pol_state *cur,
		   struct weft_pol_state *out, char *err, size_t errlen)
{
	struct comp c = { .cfg = cfg, .err = err, .errlen = errlen };
	int ret = 0;

	memset(out, 0, sizeof(*out));
	c.max = cfg->datapath.max_policy / 2;
	if (cfg->npolicies) {
		ret = cidr_ids(&c);	/* first: endpoint identities depend on them */
		if (!ret)
			ret = endpoint_ids(&c);
		for (size_t i = 0; !ret && i < cfg->npolicies; i++) {
			size_t before = c.nraw, used = c.nblocks;

			ret = compile_policy(&c, i);
			if (ret == -E2BIG) {
				c.nraw = before;	/* as if it were absent */
				c.nblocks = used;
				ret = reject(&c, out, i, "map_budget", used);
			}
		}
		if (!ret)
			ret = build_ids(&c, out, cfg->datapath.max_idents / 2);
		if (ret) {
			if (ret == -ENOMEM)
				snprintf(err, errlen, "policies: out of memory");
			goto out;
		}
		ret = resolve(&c, &out->ents, &out->nents);
		if (!ret)
			ret = build_metas(cfg, out, err, errlen);
		if (ret == -ENOMEM)
			snprintf(err, errlen, "policies: out of memory");
		if (ret)
			goto out;
	}
	out->epoch = cur->epoch;
	out->flip = cur->flip;
	if (!same(cur, out) || cur->nstale_ids || cur->nstale_ents || cur->nstale_metas) {
		out->epoch = (uint32_t)(cur->epoch + 1);
		if (!out->epoch)
			out->epoch = 1;	/* 0 is "no policy": skip it when wrapping */
	}
out:
	if (ret)
		weft_pol_free(out);
	free(c.ep_id);
	free(c.in_start);
	free(c.in_ep);
	free(c.pfx);
	free(c.pfx_id);
	free(c.raw);
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
	struct weft_pol_ent key = { .k.prefixlen = WEFT_POL_FULL_BITS, .k.subject = id }, *e;
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

static int emit_id(weft_op_fn fn, void *ctx, const struct weft_pol_id_key *k,
		   const struct weft_pol_id_val *v, uint32_t epoch)
{
	struct weft_pol_id_key key = *k;
	struct weft_op op = { .map = WEFT_M_POL_ID, .del = !v, .key = &key, .value = v };

	key.epoch = htonl(epoch);
	return fn(&op, ctx);
}

static int emit_ent(weft_op_fn fn, void *ctx, const struct weft_pol_key *k,
		    const struct weft_pol_val *v, uint32_t epoch)
{
	struct weft_pol_key key = *k;
	struct weft_op op = { .map = WEFT_M_POL, .del = !v, .key = &key, .value = v };

	key.epoch = epoch;
	return fn(&op, ctx);
}

static int emit_meta(weft_op_fn fn, void *ctx, uint32_t policy, const struct weft_pol_meta *v,
		     uint32_t epoch)
{
	struct weft_pol_meta_key key = { epoch, policy };
	struct weft_op op = { .map = WEFT_M_POL_META, .del = !v, .key = &key, .value = v };

	return fn(&op, ctx);
}

int weft_pol_diff(const struct weft_pol_state *cur, const struct weft_pol_state *want,
		  weft_op_fn fn, void *ctx)
{
	uint32_t old = (uint32_t)cur->epoch, new = (uint32_t)want->epoch;
	struct weft_redir_cfg rc = want->flip;
	struct weft_op flip = { .map = WEFT_M_REDIR_CFG, .key = &(const __u32){ 0 }, .value = &rc };
	struct weft_op prune = { .map = WEFT_M_POL_CNT, .kind = WEFT_OP_PRUNE, .value = &new };
	int ret = 0;

	/* Leftovers of a cut-short apply are of no active epoch. */
	for (size_t i = 0; !ret && i < cur->nstale_ids; i++) {
		struct weft_op op = { .map = WEFT_M_POL_ID, .del = 1, .key = &cur->stale_ids[i] };

		ret = fn(&op, ctx);
	}
	for (size_t i = 0; !ret && i < cur->nstale_ents; i++) {
		struct weft_op op = { .map = WEFT_M_POL, .del = 1, .key = &cur->stale_ents[i] };

		ret = fn(&op, ctx);
	}
	for (size_t i = 0; !ret && i < cur->nstale_metas; i++) {
		struct weft_op op = { .map = WEFT_M_POL_META, .del = 1, .key = &cur->stale_metas[i] };

		ret = fn(&op, ctx);
	}
	if (ret || old == new)
		return ret;
	for (size_t i = 0; !ret && i < want->nids; i++)
		ret = emit_id(fn, ctx, &want->ids[i].k, &want->ids[i].v, new);
	for (size_t i = 0; !ret && i < want->nents; i++)
		ret = emit_ent(fn, ctx, &want->ents[i].k, &want->ents[i].v, new);
	for (size_t i = 0; !ret && i < want->nmetas; i++)
		ret = emit_meta(fn, ctx, i, &want->metas[i], new);
	rc.policy_epoch = want->epoch;
	if (!ret)
		ret = fn(&flip, ctx);
	for (size_t i = 0; !ret && i < cur->nents; i++)
		ret = emit_ent(fn, ctx, &cur->ents[i].k, NULL, old);
	for (size_t i = 0; !ret && i < cur->nids; i++)
		ret = emit_id(fn, ctx, &cur->ids[i].k, NULL, old);
	for (size_t i = 0; !ret && i < cur->nmetas; i++)
		ret = emit_meta(fn, ctx, i, NULL, old);
	/* Decisions count since the policy last changed. */
	if (!ret)
		ret = fn(&prune, ctx);
	return ret;
}

/* Maps. */

static int diff_states(const void *cur, const void *want, weft_op_fn fn, void *ctx)
{
	return weft_pol_diff(cur, want, fn, ctx);
}

int weft_pol_apply(const struct weft_maps *maps, const struct weft_pol_state *cur,
		   const struct weft_pol_state *want, uint64_t *nops, char *err, size_t errlen)
{
	struct weft_pol_state w = *want;	/* shallow: only flip differs */
	__u32 zero = 0;

	/* On its own (no reconciler holding the redirect switches): the flip
	 * keeps what weft_redir_cfg holds now. */
	if (bpf_map_lookup_elem(maps->fd[WEFT_M_REDIR_CFG], &zero, &w.flip))
		memset(&w.flip, 0, sizeof(w.flip));
	return weft_write(maps, diff_states, cur, &w, NULL, NULL, nops, err, errlen);
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

struct reader {
	struct weft_pol_state *st;
	uint32_t epoch;
	size_t cap_ids, cap_ents, cap_metas, cap_si, cap_se, cap_sm;
};

static int read_id(const void *key, const void *val, void *ctx)
{
	struct reader *r = ctx;
	struct weft_pol_state *st = r->st;
	const struct weft_pol_id_key *k = key;
	int ret;

	if (ntohl(k->epoch) != r->epoch || !r->epoch) {
		ret = grow((void **)&st->stale_ids, &r->cap_si, st->nstale_ids, sizeof(*k));
		if (!ret)
			st->stale_ids[st->nstale_ids++] = *k;
		return ret;
	}
	ret = grow((void **)&st->ids, &r->cap_ids, st->nids, sizeof(*st->ids));
	if (!ret) {
		st->ids[st->nids].k = *k;
		st->ids[st->nids].k.epoch = 0;
		st->ids[st->nids++].v = *(const struct weft_pol_id_val *)val;
	}
	return ret;
}

static int read_ent(const void *key, const void *val, void *ctx)
{
	struct reader *r = ctx;
	struct weft_pol_state *st = r->st;
	const struct weft_pol_key *k = key;
	int ret;

	if (k->epoch != r->epoch || !r->epoch) {
		ret = grow((void **)&st->stale_ents, &r->cap_se, st->nstale_ents, sizeof(*k));
		if (!ret)
			st->stale_ents[st->nstale_ents++] = *k;
		return ret;
	}
	ret = grow((void **)&st->ents, &r->cap_ents, st->nents, sizeof(*st->ents));
	if (!ret) {
		st->ents[st->nents].k = *k;
		st->ents[st->nents].k.epoch = 0;
		st->ents[st->nents++].v = *(const struct weft_pol_val *)val;
	}
	return ret;
}

/* Names of the active generation, by policy index (a gap reads empty). */
static int read_meta(const void *key, const void *val, void *ctx)
{
	struct reader *r = ctx;
	struct weft_pol_state *st = r->st;
	const struct weft_pol_meta_key *k = key;
	int ret;

	if (k->epoch != r->epoch || !r->epoch || k->policy >= (1u << 20)) {
		ret = grow((void **)&st->stale_metas, &r->cap_sm, st->nstale_metas, sizeof(*k));
		if (!ret)
			st->stale_metas[st->nstale_metas++] = *k;
		return ret;
	}
	while (st->nmetas <= k->policy) {
		ret = grow((void **)&st->metas, &r->cap_metas, st->nmetas, sizeof(*st->metas));
		if (ret)
			return ret;
		memset(&st->metas[st->nmetas++], 0, sizeof(*st->metas));
	}
	st->metas[k->policy] = *(const struct weft_pol_meta *)val;
	return 0;
}

int weft_pol_read(const struct weft_maps *maps, struct weft_pol_state *out, char *err,
		  size_t errlen)
{
	struct weft_redir_cfg rc = { 0 };
	struct reader r = { .st = out };
	__u32 zero = 0;
	int ret;

	memset(out, 0, sizeof(*out));
	if (bpf_map_lookup_elem(maps->fd[WEFT_M_REDIR_CFG], &zero, &rc) == 0)
		out->epoch = rc.policy_epoch;
	out->flip = rc;
	r.epoch = (uint32_t)out->epoch;
	ret = weft_map_each(maps->fd[WEFT_M_POL_ID], sizeof(struct weft_pol_id_key),
			    sizeof(struct weft_pol_id_val), read_id, &r);
	if (!ret)
		ret = weft_map_each(maps->fd[WEFT_M_POL], sizeof(struct weft_pol_key),
				    sizeof(struct weft_pol_val), read_ent, &r);
	if (!ret)
		ret = weft_map_each(maps->fd[WEFT_M_POL_META], sizeof(struct weft_pol_meta_key),
				    sizeof(struct weft_pol_meta), read_meta, &r);
	if (ret) {
		snprintf(err, errlen, "policy: read maps: %s", strerror(-ret));
		weft_pol_free(out);
		return ret;
	}
	sort(out->ids, out->nids, sizeof(*out->ids), id_cmp);
	sort(out->ents, out->nents, sizeof(*out->ents), ent_cmp);
	return 0;
}
