// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * cli: weft policy. The active generation of weft_pol and weft_pol_id, one
 * line per rule of each subject identity (entries merged over port runs),
 * with the decision counts of weft_pol_cnt; a rule's policy is named from
 * weft_pol_meta {epoch, rule >> 16} when weftd wrote it there, else by its
 * index ("policies[0]"). Subjects are named by the local endpoints of
 * weft_ep with their identity.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>

#include "cli/cli.h"
#include "cli/inspect.h"
#include "lib/maps.h"
#include "reconcile/policy.h"

/* One line: entries of a subject merged over port runs. */
struct pol_line {
	uint8_t dir, action, audit, proto;
	uint32_t peer, rule;
	uint16_t lo, hi;		/* host order; 0-65535: every port */
};

/* A local endpoint's identity and names (weft_ep), sorted by identity. */
struct member {
	uint32_t identity;
	char name[WEFT_NAME_LEN], ns[WEFT_NAME_LEN];
};

struct pol {
	const struct weft_cli_opts *o;
	const struct weft_maps *maps;
	struct weft_pol_state st;
	struct member *members;
	size_t nmembers, cap;
};

static int pol_line_cmp(const void *a, const void *b)
{
	const struct pol_line *x = a, *y = b;

	if (x->dir != y->dir)
		return x->dir - y->dir;
	if (x->action != y->action)
		return x->action - y->action;
	if (x->peer != y->peer)
		return x->peer < y->peer ? -1 : 1;
	if (x->proto != y->proto)
		return x->proto - y->proto;
	if (x->rule != y->rule)
		return x->rule < y->rule ? -1 : 1;
	return x->lo - y->lo;
}

static int member_cmp(const void *a, const void *b)
{
	const struct member *x = a, *y = b;
	int c = x->identity < y->identity ? -1 : x->identity > y->identity;

	if (!c)
		c = strcmp(x->ns, y->ns);
	return c ? c : strcmp(x->name, y->name);
}

static int member_add(const void *key, const void *val, void *ctx)
{
	const struct weft_ep_val *v = val;
	struct pol *p = ctx;
	struct member *m;

	(void)key;
	if (weft_grow(&p->members, &p->cap, p->nmembers + 1, sizeof(*p->members)))
		return -ENOMEM;
	m = &p->members[p->nmembers++];
	m->identity = v->identity;
	snprintf(m->name, sizeof(m->name), "%.*s", WEFT_NAME_LEN - 1, v->name);
	snprintf(m->ns, sizeof(m->ns), "%.*s", WEFT_NAME_LEN - 1, v->ns);
	return 0;
}

/* The local endpoints of an identity: *n of them from the returned one. */
static const struct member *members_of(const struct pol *p, uint32_t id, size_t *n)
{
	size_t lo = 0, hi = p->nmembers;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->members[mid].identity < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (*n = 0; lo + *n < p->nmembers && p->members[lo + *n].identity == id; ++*n)
		;
	return p->members + lo;
}

/* A decision count of the active epoch, summed over CPUs. */
static uint64_t pol_count(const struct pol *p, uint32_t subject, uint32_t rule, uint8_t dir,
			  uint8_t verdict)
{
	struct weft_pol_cnt_key k = { .epoch = (uint32_t)p->st.epoch, .subject = subject,
				      .rule = rule, .dir = dir, .verdict = verdict };
	int ncpu = libbpf_num_possible_cpus();
	uint64_t v[1024], sum = 0;

	if (ncpu <= 0 || ncpu > 1024 ||
	    bpf_map_lookup_elem(p->maps->fd[WEFT_M_POL_CNT], &k, v))
		return 0;
	for (int i = 0; i < ncpu; i++)
		sum += v[i];
	return sum;
}

/* The names of a rule's policy (weft_pol_meta of the active epoch). */
static bool pol_meta(const struct pol *p, uint32_t rule, struct weft_pol_meta *m)
{
	struct weft_pol_meta_key k = { .epoch = (uint32_t)p->st.epoch, .policy = rule >> 16 };

	if (bpf_map_lookup_elem(p->maps->fd[WEFT_M_POL_META], &k, m))
		return false;
	m->name[WEFT_NAME_LEN - 1] = 0;
	m->ns[WEFT_NAME_LEN - 1] = 0;
	return true;
}

/* The rule within its policy, as /metrics labels it: "ingress[1]",
 * "deny[0]", "default". */
static const char *rule_label(const struct pol_line *l, char *buf, size_t len)
{
	if ((l->rule & 0xffff) == WEFT_RULE_DEFAULT)
		snprintf(buf, len, "default");
	else
		snprintf(buf, len, "%s[%u]", l->action == WEFT_POL_DENY ? "deny"
			 : l->dir == WEFT_DIR_INGRESS ? "ingress" : "egress", l->rule & 0xffff);
	return buf;
}

/* The whole name: "NAMESPACE/NAME ingress[1]" from weft_pol_meta, else by
 * index, "policies[0].ingress[1]" ("policies[0] default deny"). */
static const char *rule_name(const struct pol_line *l, const struct weft_pol_meta *m, char *buf,
			     size_t len)
{
	char r[32];
	bool def = (l->rule & 0xffff) == WEFT_RULE_DEFAULT;

	rule_label(l, r, sizeof(r));
	if (m)
		snprintf(buf, len, "%s/%s %s", m->ns, m->name, def ? "default deny" : r);
	else if (def)
		snprintf(buf, len, "policies[%u] default deny", l->rule >> 16);
	else
		snprintf(buf, len, "policies[%u].%s", l->rule >> 16, r);
	return buf;
}

/* The prefixes of an identity, "ADDR/LEN" ("any" for WEFT_ID_ANY): into an
 * array (arr) or '\n'-separated into buf. */
static void pol_addrs(const struct weft_pol_state *st, uint32_t id, struct json_object *arr,
		      char *buf, size_t len)
{
	size_t off = 0;
	char a[64], item[96];

	if (buf)
		buf[0] = 0;
	if (id == WEFT_ID_ANY) {
		if (arr)
			weft_doc_str(arr, NULL, "any");
		if (buf)
			snprintf(buf, len, "any");
		return;
	}
	for (size_t i = 0; i < st->nids; i++) {
		if (st->ids[i].v.id != id)
			continue;
		weft_addr_str(st->ids[i].k.addr, a, sizeof(a));
		snprintf(item, sizeof(item), "%s/%u", a,
			 st->ids[i].k.prefixlen - 32 -
				 (IN6_IS_ADDR_V4MAPPED((struct in6_addr *)st->ids[i].k.addr) ? 96 : 0));
		if (arr)
			weft_doc_str(arr, NULL, item);
		if (buf && off < len)
			off += snprintf(buf + off, len - off, "%s%s", off ? "\n" : "", item);
	}
	if (buf && !off)
		snprintf(buf, len, "(no address)");
}

/* The lines of the subject whose entries start at *i (advanced past them):
 * each entry a port block (weft_pol is an LPM_TRIE), the blocks of one
 * rule merged back into the ranges they came from. A deny inside an
 * allow's range shows as its own line (the kernel's longest block wins,
 * see README). How many, in lines. */
static size_t subject_lines(const struct weft_pol_state *st, size_t *i, struct pol_line *lines)
{
	uint32_t subj = st->ents[*i].k.subject;
	size_t n = 0, m = 0;

	for (; *i < st->nents && st->ents[*i].k.subject == subj; ++*i) {
		const struct weft_pol_ent *e = &st->ents[*i];
		uint32_t bits = e->k.prefixlen >= WEFT_POL_FIXED_BITS &&
						e->k.prefixlen <= WEFT_POL_FULL_BITS ?
					e->k.prefixlen - WEFT_POL_FIXED_BITS : 16;
		uint32_t lo = ntohs(e->k.port);

		lines[n++] = (struct pol_line){ e->k.dir, e->v.action, e->v.audit, e->k.proto,
						e->k.peer, e->v.rule, (uint16_t)lo,
						(uint16_t)(lo + (1u << (16 - bits)) - 1) };
	}
	qsort(lines, n, sizeof(*lines), pol_line_cmp);
	for (size_t j = 0; j < n; j++) {
		struct pol_line *l = m ? &lines[m - 1] : NULL;

		if (l && l->dir == lines[j].dir && l->action == lines[j].action &&
		    l->peer == lines[j].peer && l->proto == lines[j].proto &&
		    l->rule == lines[j].rule && l->audit == lines[j].audit &&
		    (uint32_t)l->hi + 1 == lines[j].lo) {
			l->hi = lines[j].hi;
			continue;
		}
		lines[m++] = lines[j];
	}
	return m;
}

/* -n: a subject with a local endpoint in the namespace, or a rule of one of
 * its namespace's policies. */
static bool subject_in_ns(const struct pol *p, uint32_t subj, const struct pol_line *lines,
			  size_t n)
{
	struct weft_pol_meta m;
	size_t nm;
	const struct member *mem = members_of(p, subj, &nm);

	for (size_t i = 0; i < nm; i++)
		if (!strcmp(mem[i].ns, p->o->ns))
			return true;
	for (size_t i = 0; i < n; i++)
		if (pol_meta(p, lines[i].rule, &m) && !strcmp(m.ns, p->o->ns))
			return true;
	return false;
}

/* What a line says, for both forms. */
struct line_text {
	const char *dir, *action, *proto;
	char ports[16], rule[3 * WEFT_NAME_LEN + 48], label[32];
	struct weft_pol_meta meta;
	bool has_meta;
	uint64_t count, audit;
};

static void line_text(const struct pol *p, uint32_t subj, const struct pol_line *l,
		      struct line_text *t)
{
	uint8_t verdict = l->action == WEFT_POL_ALLOW ? WEFT_PV_CNT_ALLOW : WEFT_PV_CNT_DENY;

	t->dir = l->dir == WEFT_DIR_INGRESS ? "ingress" : "egress";
	t->action = l->action == WEFT_POL_SELECTED ? "default-deny" :
		    l->action == WEFT_POL_DENY ? "deny" : "allow";
	t->proto = l->action == WEFT_POL_SELECTED ? "any" : weft_proto_name(l->proto);
	snprintf(t->ports, sizeof(t->ports), "any");
	if (l->action == WEFT_POL_SELECTED || (!l->lo && l->hi == 65535))
		;
	else if (l->lo == l->hi)
		snprintf(t->ports, sizeof(t->ports), "%u", l->lo);
	else
		snprintf(t->ports, sizeof(t->ports), "%u-%u", l->lo, l->hi);
	t->has_meta = pol_meta(p, l->rule, &t->meta);
	rule_name(l, t->has_meta ? &t->meta : NULL, t->rule, sizeof(t->rule));
	rule_label(l, t->label, sizeof(t->label));
	t->count = pol_count(p, subj, l->rule, l->dir, verdict);
	t->audit = pol_count(p, subj, l->rule, l->dir, WEFT_PV_CNT_AUDIT);
}

static void subject_doc(const struct pol *p, struct json_object *eps, uint32_t subj,
			const struct pol_line *lines, size_t n)
{
	struct json_object *e = weft_doc_obj(eps, NULL), *arr, *r, *pm;
	const struct member *mem;
	struct line_text t;
	size_t nm;

	weft_doc_u64(e, "identity", subj);
	pol_addrs(&p->st, subj, weft_doc_arr(e, "addresses"), NULL, 0);
	arr = weft_doc_arr(e, "local_endpoints");
	mem = members_of(p, subj, &nm);
	for (size_t i = 0; i < nm; i++) {
		struct json_object *m = weft_doc_obj(arr, NULL);

		weft_doc_str(m, "name", mem[i].name);
		weft_doc_str(m, "namespace", mem[i].ns);
	}
	arr = weft_doc_arr(e, "rules");
	for (size_t j = 0; j < n; j++) {
		line_text(p, subj, &lines[j], &t);
		r = weft_doc_obj(arr, NULL);
		weft_doc_str(r, "direction", t.dir);
		weft_doc_str(r, "action", t.action);
		weft_doc_bool(r, "audit", lines[j].audit);
		weft_doc_u64(r, "peer_identity", lines[j].peer);
		pol_addrs(&p->st, lines[j].peer, weft_doc_arr(r, "peer"), NULL, 0);
		weft_doc_str(r, "protocol", t.proto);
		weft_doc_str(r, "ports", t.ports);
		weft_doc_str(r, "rule", t.rule);
		pm = weft_doc_obj(r, "policy");
		weft_doc_u64(pm, "index", lines[j].rule >> 16);
		weft_doc_str(pm, "name", t.has_meta ? t.meta.name : NULL);
		weft_doc_str(pm, "namespace", t.has_meta ? t.meta.ns : NULL);
		weft_doc_str(pm, "rule", t.label);
		weft_doc_u64(r, "count", t.count);
		weft_doc_u64(r, "audit_count", t.audit);
	}
}

static void subject_rows(const struct pol *p, struct weft_table *tb, uint32_t subj,
			 const struct pol_line *lines, size_t n)
{
	char who[2 * WEFT_NAME_LEN + 32] = "-", peer[4096];
	const struct member *mem;
	struct line_text t;
	size_t nm;

	mem = members_of(p, subj, &nm);
	if (nm)
		snprintf(who, sizeof(who), "%s/%s%s", mem[0].ns, mem[0].name, nm > 1 ? " +" : "");
	if (nm > 1)
		snprintf(who + strlen(who), sizeof(who) - strlen(who), "%zu", nm - 1);
	for (size_t j = 0; j < n; j++) {
		const struct pol_line *l = &lines[j];

		line_text(p, subj, l, &t);
		weft_table_cellf(tb, "%u", subj);
		weft_table_cell(tb, WEFT_C_NONE, who);
		weft_table_cell(tb, WEFT_C_NONE, t.dir);
		weft_table_cellf(tb, "%s%s", t.action, l->audit ? "*" : "");
		weft_table_cell(tb, WEFT_C_NONE, t.proto);
		weft_table_cell(tb, WEFT_C_NONE, t.ports);
		weft_table_cell(tb, WEFT_C_NONE, t.rule);
		weft_table_cellf(tb, "%llu", (unsigned long long)t.count);
		weft_table_cellf(tb, "%llu", (unsigned long long)t.audit);
		weft_table_cellf(tb, "%u", l->peer);
		pol_addrs(&p->st, l->peer, NULL, peer, sizeof(peer));
		weft_table_cell(tb, l->action == WEFT_POL_ALLOW ? WEFT_C_NONE : WEFT_C_RED, peer);
	}
}

static void identities_doc(const struct pol *p, struct json_object *doc)
{
	struct json_object *arr = weft_doc_arr(doc, "identities");
	char a[64];

	for (size_t i = 0; i < p->st.nids; i++) {
		struct json_object *e = weft_doc_obj(arr, NULL);

		weft_doc_str(e, "prefix", weft_addr_str(p->st.ids[i].k.addr, a, sizeof(a)));
		weft_doc_u64(e, "prefix_len", p->st.ids[i].k.prefixlen - 32);
		weft_doc_u64(e, "identity", p->st.ids[i].v.id);
	}
}

static void identities_table(const struct pol *p)
{
	static const struct weft_col cols[] = {
		{ "PREFIX (of 128 bits)", 0, 0 }, { "IDENTITY", WEFT_COL_RIGHT, 0 },
		{ "ENDPOINTS", WEFT_COL_LIST, 0 },
	};
	struct weft_table *t = weft_table_new(&p->o->out, cols, 3);
	char a[64], names[1024];

	for (size_t i = 0; i < p->st.nids; i++) {
		const struct member *mem;
		size_t nm, off = 0;

		mem = members_of(p, p->st.ids[i].v.id, &nm);
		names[0] = 0;
		for (size_t j = 0; j < nm && off < sizeof(names); j++)
			off += snprintf(names + off, sizeof(names) - off, "%s%s/%s", j ? "\n" : "",
					mem[j].ns, mem[j].name);
		weft_table_cellf(t, "%s /%u", weft_addr_str(p->st.ids[i].k.addr, a, sizeof(a)),
				 p->st.ids[i].k.prefixlen - 32);
		weft_table_cellf(t, "%u", p->st.ids[i].v.id);
		weft_table_cell(t, WEFT_C_NONE, nm ? names : "-");
	}
	weft_table_print(t);
	weft_table_free(t);
}

int weft_cmd_policy(struct weft_cli_opts *o, const struct weft_maps *maps)
{
	static const struct weft_col cols[] = {
		{ "IDENTITY", WEFT_COL_RIGHT, 0 }, { "ENDPOINT", WEFT_COL_CUT, 0 }, { "DIR", 0, 0 },
		{ "ACTION", 0, 0 }, { "PROTO", 0, 0 }, { "PORTS", 0, 0 }, { "RULE", 0, 0 },
		{ "COUNT", WEFT_COL_RIGHT, 0 }, { "AUDITED", WEFT_COL_RIGHT | WEFT_COL_WIDE, 0 },
		{ "PEER-ID", WEFT_COL_RIGHT | WEFT_COL_WIDE, 0 }, { "PEER", WEFT_COL_LIST, 0 },
	};
	struct pol p = { .o = o, .maps = maps };
	struct json_object *doc = NULL, *eps = NULL;
	struct weft_table *t = NULL;
	struct pol_line *lines = NULL;
	char err[512];
	int ret = weft_pol_read(maps, &p.st, err, sizeof(err));

	if (ret) {
		fprintf(stderr, "weft: %s\n", err);
		return WEFT_EXIT_ERROR;
	}
	lines = calloc(p.st.nents ? p.st.nents : 1, sizeof(*lines));
	ret = lines ? weft_map_each(maps->fd[WEFT_M_EP], sizeof(struct weft_addr_key),
				    sizeof(struct weft_ep_val), member_add, &p) : -ENOMEM;
	if (ret) {
		ret = weft_cli_read_failed(WEFT_M_EP, ret);
		goto out;
	}
	if (p.nmembers)
		qsort(p.members, p.nmembers, sizeof(*p.members), member_cmp);
	if (weft_out_is_doc(&o->out)) {
		doc = weft_doc_new("CompiledPolicy");
		weft_doc_u64(doc, "epoch", p.st.epoch);
		eps = weft_doc_arr(doc, "endpoints");
	} else {
		if (!o->out.no_headers)
			printf("policy epoch %llu\n", (unsigned long long)p.st.epoch);
		t = weft_table_new(&o->out, cols, sizeof(cols) / sizeof(cols[0]));
	}
	for (size_t i = 0; i < p.st.nents;) {
		uint32_t subj = p.st.ents[i].k.subject;
		size_t n = subject_lines(&p.st, &i, lines);

		if (o->ns && !subject_in_ns(&p, subj, lines, n))
			continue;
		if (doc)
			subject_doc(&p, eps, subj, lines, n);
		else
			subject_rows(&p, t, subj, lines, n);
	}
	if (doc) {
		identities_doc(&p, doc);
		ret = weft_doc_print(&o->out, doc, false);
		goto out;
	}
	weft_table_print(t);
	printf("\n");
	identities_table(&p);
	if (!o->out.no_headers)
		printf("(* audit: would-be drops are counted, not dropped)\n");
out:
	weft_table_free(t);
	free(lines);
	free(p.members);
	weft_pol_free(&p.st);
	return ret;
}
