// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Unit tests of policies: parsing with places, compiling into identities and
 * entries, and the order of the epoch-flipping diff. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "model/model.h"
#include "source/file.h"
#include "harness.h"
#include "reconcile/policy.h"

#define EPS                                                                                   \
	"endpoints:\n"                                                                        \
	"  - {name: web-1, ip: 10.250.0.21, labels: {app: web}}\n"                           \
	"  - {name: web-2, ip: 10.250.0.22, labels: {app: web}}\n"                           \
	"  - {name: cli, ip: 10.250.0.10, labels: {app: client}}\n"                          \
	"  - {name: db, ip: 10.250.0.30, labels: {app: db}}\n"                               \
	"  - {name: other, namespace: prod, ip: 10.250.0.40, labels: {app: client}}\n"

/* The example policy, at lines 7-19. */
#define POL                                                                                   \
	"policies:\n"                                                                         \
	"  - name: web-from-client\n"                                                         \
	"    selector: {app: web}\n"                                                          \
	"    ingress:\n"                                                                      \
	"      - from: [{selector: {app: client}}, {cidr: 10.251.0.0/24, except: [10.251.0.99/32]}]\n" \
	"        ports: [{port: 8080, protocol: tcp}, {port: 9000, end_port: 9002, protocol: tcp}]\n" \
	"    egress:\n"                                                                       \
	"      - to: [{selector: {app: db}}]\n"                                                \
	"        ports: [{port: 5432}]\n"                                                      \
	"    deny:\n"                                                                         \
	"      - from: [{cidr: 10.251.0.66/32}]\n"

static struct weft_model *parse(const char *yaml, char *err, size_t len)
{
	return weft_file_parse(yaml, strlen(yaml), "t.yaml", err, len);
}

struct bad_case {
	const char *name;
	const char *yaml;
	const char *want;
};

static const struct bad_case bad[] = {
	{ "unknown_key", "policies:\n  - {name: p, color: red}\n",
	  "t.yaml:2:15: policies[0].color: unknown key" },
	{ "no_name", "policies:\n  - {selector: {app: web}}\n",
	  "t.yaml:2:5: policies[0]: missing required key \"name\"" },
	{ "dup_name", "policies:\n  - {name: p}\n  - {name: p}\n", "t.yaml:3:5: policies[1]: duplicate policy namespace/name: the same as policies[0] at 2:5" },
	{ "bad_cidr", "policies:\n  - name: p\n    ingress: [{from: [{cidr: 10.0.0/8}]}]\n",
	  "t.yaml:3:30: policies[0].ingress[0].from[0].cidr: \"10.0.0/8\" is not a CIDR" },
	{ "host_bits", "policies:\n  - name: p\n    ingress: [{from: [{cidr: 10.0.0.1/8}]}]\n",
	  "t.yaml:3:30: policies[0].ingress[0].from[0].cidr: \"10.0.0.1/8\" has host bits set" },
	{ "both_peer_kinds",
	  "policies:\n  - name: p\n    ingress: [{from: [{cidr: 10.0.0.0/8, selector: {a: b}}]}]\n",
	  "t.yaml:3:23: policies[0].ingress[0].from[0]: needs exactly one of \"selector\" and \"cidr\"" },
	{ "except_outside",
	  "policies:\n  - name: p\n    ingress: [{from: [{cidr: 10.0.0.0/8, except: [11.0.0.0/8]}]}]\n",
	  "t.yaml:3:51: policies[0].ingress[0].from[0].except[0]: not within the cidr" },
	{ "to_in_ingress", "policies:\n  - name: p\n    ingress: [{to: []}]\n",
	  "t.yaml:3:16: policies[0].ingress[0].to: unknown key" },
	{ "end_below", "policies:\n  - name: p\n    egress: [{ports: [{port: 90, end_port: 80}]}]\n",
	  "t.yaml:3:44: policies[0].egress[0].ports[0].end_port: 80 is below port 90" },
	{ "bad_proto", "policies:\n  - name: p\n    egress: [{ports: [{port: 90, protocol: icmp}]}]\n",
	  "policies[0].egress[0].ports[0].protocol: unknown protocol \"icmp\"" },
	{ "deny_no_dir", "policies:\n  - name: p\n    deny: [{ports: [{port: 1}]}]\n",
	  "t.yaml:3:12: policies[0].deny[0]: needs exactly one of \"from\" (ingress) and \"to\" (egress)" },
	{ "ns_dup", "namespaces:\n  - {name: a}\n  - {name: a}\n",
	  "t.yaml:3:5: namespaces[1]: duplicate namespace name: the same as namespaces[0] at 2:5" },
	{ "ns_labels_not_map", "namespaces:\n  - {name: a, labels: [x]}\n",
	  "t.yaml:2:23: namespaces[0].labels: expected a mapping, got a sequence" },
	{ "ns_no_name", "namespaces:\n  - {labels: {a: b}}\n",
	  "t.yaml:2:5: namespaces[0]: missing required key \"name\"" },
	{ "ns_selector_and_cidr",
	  "policies:\n  - name: p\n    ingress: [{from: [{cidr: 10.0.0.0/8, namespace_selector: {}}]}]\n",
	  "t.yaml:3:23: policies[0].ingress[0].from[0]: needs exactly one of \"selector\" and \"cidr\"" },
	{ "ns_selector_not_map",
	  "policies:\n  - name: p\n    egress: [{to: [{namespace_selector: [a]}]}]\n",
	  "t.yaml:3:41: policies[0].egress[0].to[0].namespace_selector: expected a mapping" },
	{ "expr_bad_op",
	  "policies:\n  - name: p\n    match_expressions: [{key: a, operator: Near, values: [b]}]\n",
	  "t.yaml:3:44: policies[0].match_expressions[0].operator: unknown operator \"Near\"" },
	{ "expr_in_no_values",
	  "policies:\n  - name: p\n    match_expressions: [{key: a, operator: In}]\n",
	  "t.yaml:3:25: policies[0].match_expressions[0]: operator In and NotIn need values" },
	{ "expr_exists_values",
	  "policies:\n  - name: p\n    ingress: [{from: [{match_expressions: [{key: a, operator: Exists, values: [b]}]}]}]\n",
	  "policies[0].ingress[0].from[0].match_expressions[0]: operator Exists and DoesNotExist take no values" },
	{ "expr_no_key",
	  "policies:\n  - name: p\n    match_expressions: [{operator: Exists}]\n",
	  "policies[0].match_expressions[0]: missing required key \"key\"" },
	{ "audit_not_bool", "policies:\n  - {name: p, audit: maybe}\n",
	  "t.yaml:2:22: policies[0].audit: \"maybe\" is not a boolean" },
};

TEST(unit, policy_config_errors)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char err[512] = "";
		struct weft_model *cfg = parse(bad[i].yaml, err, sizeof(err));

		if (ASSERT_TRUE(cfg == NULL, bad[i].name))
			weft_assert(strstr(err, bad[i].want) != NULL, __FILE__, __LINE__,
				    "%s: error \"%s\" lacks \"%s\"", bad[i].name, err, bad[i].want);
		weft_model_free(cfg);
	}
}

TEST(unit, policy_config_values)
{
	char err[512] = "";
	struct weft_model *cfg = parse(EPS POL, err, sizeof(err));
	const struct weft_policy *p;

	if (!ASSERT_NOT_NULL(cfg, err))
		return;
	ASSERT_EQ(cfg->npolicies, 1, "one policy");
	p = &cfg->policies[0];
	ASSERT_STR(p->ns, "default", "namespace defaults");
	ASSERT_TRUE(p->has_ingress && p->has_egress, "both directions present");
	ASSERT_EQ(p->ningress, 1, "ingress rules");
	ASSERT_EQ(p->ingress[0].nfrom, 2, "two peers");
	ASSERT_EQ(p->ingress[0].from[1].cidr.plen, 96 + 24, "IPv4 /24 in the 16-byte form");
	ASSERT_EQ(p->ingress[0].from[1].nexcept, 1, "one exception");
	ASSERT_EQ(p->ingress[0].ports[1].end_port, 9002, "range end");
	ASSERT_EQ(p->egress[0].ports[0].proto, IPPROTO_TCP, "protocol defaults to tcp");
	ASSERT_TRUE(p->deny[0].has_from && !p->deny[0].has_to, "deny rule is ingress");
	weft_model_free(cfg);
}

static struct weft_ip ip(const char *s)
{
	struct weft_ip a;

	weft_ip_parse(s, &a);
	return a;
}

/* The kernel's lookup of weft_pol (an LPM_TRIE): the entry of (subj, peer,
 * proto, dir) with the longest port block holding port, or NULL. */
static const struct weft_pol_val *find(const struct weft_pol_state *st, uint32_t subj,
				       uint32_t peer, uint16_t port, uint8_t proto, uint8_t dir)
{
	const struct weft_pol_val *best = NULL;
	uint32_t bestlen = 0;

	for (size_t i = 0; i < st->nents; i++) {
		const struct weft_pol_key *k = &st->ents[i].k;
		uint32_t bits = k->prefixlen - WEFT_POL_FIXED_BITS;
		uint32_t mask = bits ? 0xffffu << (16 - bits) & 0xffff : 0;

		if (k->prefixlen < WEFT_POL_FIXED_BITS || k->prefixlen > WEFT_POL_FULL_BITS)
			continue;
		if (k->subject == subj && k->peer == peer && k->proto == proto && k->dir == dir &&
		    (port & mask) == ntohs(k->port) && (!best || k->prefixlen > bestlen)) {
			best = &st->ents[i].v;
			bestlen = k->prefixlen;
		}
	}
	return best;
}

/* The decision the datapath makes (lib/policy.h), over a built state: a
 * lookup for the peer, one for any peer. */
static int decide(const struct weft_pol_state *st, const char *src, const char *dst,
		  uint16_t port, uint8_t proto, uint8_t dir)
{
	struct weft_ip s = ip(src), d = ip(dst);
	uint32_t subj = weft_pol_ident(st, dir == WEFT_DIR_INGRESS ? &d : &s);
	uint32_t peer = weft_pol_ident(st, dir == WEFT_DIR_INGRESS ? &s : &d);
	const uint32_t peers[2] = { peer, WEFT_ID_ANY };
	const struct weft_pol_val *v;
	bool deny = false, allow = false;

	for (int i = 0; i < 2; i++) {
		v = find(st, subj, peers[i], port, proto, dir);
		if (v && v->action == WEFT_POL_DENY && !v->audit)
			deny = true;
		if (v && v->action == WEFT_POL_ALLOW)
			allow = true;
	}
	if (deny)
		return WEFT_POL_DENY;
	if (allow)
		return WEFT_POL_ALLOW;
	v = find(st, subj, WEFT_ID_ANY, 0, 0, dir);
	return v && v->action == WEFT_POL_SELECTED && !v->audit ? WEFT_POL_DENY : WEFT_POL_ALLOW;
}

#define IN WEFT_DIR_INGRESS
#define EG WEFT_DIR_EGRESS
#define TCP IPPROTO_TCP
#define UDP IPPROTO_UDP
#define A WEFT_POL_ALLOW
#define D WEFT_POL_DENY

/* One verdict to check: src -> dst:port under the built state. */
struct vcase {
	const char *src, *dst;
	uint16_t port;
	uint8_t proto, dir;
	int want;		/* A or D */
	const char *what;
};

static void check_cases(const struct weft_pol_state *st, const struct vcase *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ASSERT_EQ(decide(st, c[i].src, c[i].dst, c[i].port, c[i].proto, c[i].dir), c[i].want,
			  c[i].what);
}

TEST(unit, policy_compile)
{
	static const struct vcase cases[] = {
		{ "10.250.0.10", "10.250.0.21", 8080, TCP, IN, A, "client to web 8080" },
		{ "10.250.0.10", "10.250.0.22", 9001, TCP, IN, A, "client to web, in the range" },
		{ "10.250.0.10", "10.250.0.21", 9003, TCP, IN, D, "client to web, past the range" },
		{ "10.250.0.10", "10.250.0.21", 8080, UDP, IN, D, "client to web, wrong protocol" },
		{ "10.250.0.30", "10.250.0.21", 8080, TCP, IN, D, "db to web: not a selected peer" },
		{ "10.250.0.40", "10.250.0.21", 8080, TCP, IN, D, "client of another namespace" },
		{ "10.251.0.5", "10.250.0.21", 8080, TCP, IN, A, "inside the CIDR" },
		{ "10.251.0.99", "10.250.0.21", 8080, TCP, IN, D, "the CIDR's exception" },
		{ "10.251.0.66", "10.250.0.21", 8080, TCP, IN, D, "explicit deny beats the CIDR allow" },
		{ "10.252.0.1", "10.250.0.21", 8080, TCP, IN, D, "world" },
		{ "10.250.0.21", "10.250.0.30", 5432, TCP, EG, A, "web to db" },
		{ "10.250.0.21", "10.250.0.30", 5433, TCP, EG, D, "web to db, other port" },
		{ "10.250.0.21", "10.250.0.10", 8080, TCP, EG, D, "web egress default deny" },
		{ "10.250.0.30", "10.250.0.10", 1, UDP, EG, A, "unselected endpoint allows all" },
		{ "10.252.0.1", "10.250.0.30", 1, TCP, IN, A, "unselected endpoint ingress" },
	};
	char err[512] = "";
	struct weft_model *cfg = parse(EPS POL, err, sizeof(err));
	struct weft_pol_state cur = { 0 }, st, again;
	uint32_t web;

	if (!ASSERT_NOT_NULL(cfg, err))
		return;
	if (!ASSERT_OK(weft_pol_build(cfg, &cur, &st, err, sizeof(err)), err))
		goto out_cfg;
	web = weft_pol_ident(&st, &cfg->endpoints[0].ip);
	ASSERT_EQ(web, weft_pol_ident(&st, &cfg->endpoints[1].ip), "same labels, same identity");
	ASSERT_EQ(web, weft_pol_ep_hash(&cfg->endpoints[0]), "identity is the label set's hash");
	ASSERT_TRUE(web != weft_pol_ident(&st, &cfg->endpoints[4].ip),
		    "same labels in another namespace: another identity");
	ASSERT_GE(web, WEFT_ID_EP_MIN, "endpoint identities start at WEFT_ID_EP_MIN");
	ASSERT_TRUE(weft_pol_ident(&st, &(struct weft_ip){ ip("10.251.0.7").a }) & WEFT_ID_CIDR,
		    "CIDR addresses get a CIDR identity");
	ASSERT_EQ(st.epoch, 1, "first policy: epoch 1");
	ASSERT_EQ(find(&st, web, WEFT_ID_ANY, 0, 0, IN)->action, WEFT_POL_SELECTED,
		  "web is selected for ingress");
	check_cases(&st, cases, sizeof(cases) / sizeof(cases[0]));

	/* The same config again: same entries, same epoch. */
	if (ASSERT_OK(weft_pol_build(cfg, &st, &again, err, sizeof(err)), err)) {
		ASSERT_EQ(again.epoch, st.epoch, "unchanged policy keeps its epoch");
		ASSERT_EQ(again.nents, st.nents, "same entries");
		weft_pol_free(&again);
	}
	weft_pol_free(&st);
out_cfg:
	weft_model_free(cfg);
}

/* Port ranges compile to aligned blocks of an LPM key, not an entry per
 * port: the 1-65535 from three selectors is 3 x 16 blocks and a
 * marker; overlapping allows and denies are resolved per block, so the
 * longest match (what the kernel finds) is the right verdict at each edge. */
TEST(unit, policy_port_ranges_compile_to_blocks)
{
	static const char yaml[] = EPS
		"datapath: {max_policy: 400}\n"
		"policies:\n"
		"  - name: wide\n"
		"    selector: {app: web}\n"
		"    ingress:\n"
		"      - from: [{selector: {app: client}}, {selector: {app: db}}, {selector: {app: web}}]\n"
		"        ports: [{port: 1, end_port: 65535}]\n"
		"  - name: db\n"
		"    selector: {app: db}\n"
		"    ingress:\n"
		"      - from: [{selector: {app: client}}]\n"
		"        ports: [{port: 1000, end_port: 2000}]\n"
		"      - from: [{selector: {app: web}}]\n"
		"    deny:\n"
		"      - from: [{selector: {app: client}}]\n"
		"        ports: [{port: 1500, end_port: 1600}]\n"
		"      - from: [{selector: {app: web}}]\n"
		"        ports: [{port: 80}]\n";
	static const struct vcase cases[] = {
		{ "10.250.0.10", "10.250.0.21", 1, TCP, IN, A, "wide: client at 1" },
		{ "10.250.0.10", "10.250.0.21", 80, TCP, IN, A, "wide: client at 80" },
		{ "10.250.0.30", "10.250.0.22", 32767, TCP, IN, A, "wide: db at 32767" },
		{ "10.250.0.22", "10.250.0.21", 65535, TCP, IN, A, "wide: web at 65535" },
		{ "10.250.0.10", "10.250.0.21", 0, TCP, IN, D, "wide: port 0 is not in 1-65535" },
		{ "10.250.0.10", "10.250.0.21", 80, UDP, IN, D, "wide: TCP only" },
		{ "10.250.0.40", "10.250.0.21", 80, TCP, IN, D, "wide: a peer not selected" },
		{ "10.252.0.1", "10.250.0.21", 443, TCP, IN, D, "wide: world" },
		{ "10.250.0.10", "10.250.0.30", 999, TCP, IN, D, "db: lo - 1" },
		{ "10.250.0.10", "10.250.0.30", 1000, TCP, IN, A, "db: lo" },
		{ "10.250.0.10", "10.250.0.30", 1499, TCP, IN, A, "db: below the deny" },
		{ "10.250.0.10", "10.250.0.30", 1500, TCP, IN, D, "db: the deny's lo" },
		{ "10.250.0.10", "10.250.0.30", 1536, TCP, IN, D, "db: inside the deny" },
		{ "10.250.0.10", "10.250.0.30", 1600, TCP, IN, D, "db: the deny's hi" },
		{ "10.250.0.10", "10.250.0.30", 1601, TCP, IN, A, "db: past the deny" },
		{ "10.250.0.10", "10.250.0.30", 2000, TCP, IN, A, "db: hi" },
		{ "10.250.0.10", "10.250.0.30", 2001, TCP, IN, D, "db: hi + 1" },
		{ "10.250.0.21", "10.250.0.30", 79, TCP, IN, A, "db: web, every port" },
		{ "10.250.0.21", "10.250.0.30", 80, TCP, IN, D, "db: web, the denied port in every port" },
		{ "10.250.0.21", "10.250.0.30", 81, TCP, IN, A, "db: web, past it" },
		{ "10.250.0.21", "10.250.0.30", 80, UDP, IN, A, "db: web, UDP 80 (the deny is TCP)" },
	};
	char err[512] = "";
	struct weft_model *cfg = parse(yaml, err, sizeof(err));
	struct weft_pol_state cur = { 0 }, st;
	uint32_t web;
	size_t n = 0;

	if (!ASSERT_NOT_NULL(cfg, err))
		return;
	if (!ASSERT_OK(weft_pol_build(cfg, &cur, &st, err, sizeof(err)), err))
		goto out;
	ASSERT_EQ(st.nrejects, 0, "both fit 200 entries");
	web = weft_pol_ident(&st, &cfg->endpoints[0].ip);
	for (size_t i = 0; i < st.nents; i++)
		n += st.ents[i].k.subject == web;
	ASSERT_EQ(n, 3 * 16 + 1, "1-65535 from three selectors: 16 blocks a peer and the marker");
	for (size_t i = 0; i < st.nents; i++) {
		const struct weft_pol_key *k = &st.ents[i].k;
		uint32_t bits = k->prefixlen - WEFT_POL_FIXED_BITS;

		weft_assert(k->prefixlen >= WEFT_POL_FIXED_BITS && bits <= 16 &&
				    !(ntohs(k->port) & (bits < 16 ? 0xffffu >> bits : 0)),
			    __FILE__, __LINE__, "entry %zu: prefixlen %u, port %u: bits past the prefix",
			    i, k->prefixlen, ntohs(k->port));
	}
	check_cases(&st, cases, sizeof(cases) / sizeof(cases[0]));
	/* The deciding rule of a block is the one that holds it. */
	{
		uint32_t cli = weft_pol_ident(&st, &cfg->endpoints[2].ip);
		uint32_t db = weft_pol_ident(&st, &cfg->endpoints[3].ip);
		const struct weft_pol_val *v = find(&st, db, cli, 1550, TCP, IN);

		if (ASSERT_NOT_NULL(v, "db, client, 1550"))
			ASSERT_EQ(v->rule, 1u << 16 | 0, "deny rule 0 of policy 1");
		v = find(&st, db, cli, 1200, TCP, IN);
		if (ASSERT_NOT_NULL(v, "db, client, 1200"))
			ASSERT_EQ(v->rule, 1u << 16 | 0, "ingress rule 0 of policy 1");
		ASSERT_EQ(v ? v->action : 0, WEFT_POL_ALLOW, "an allow");
	}
	weft_pol_free(&st);
out:
	weft_model_free(cfg);
}

/* Namespace selectors: alone, with a pod selector, {} and the implicit
 * kubernetes.io/metadata.name label; equal labels in two namespaces. */
TEST(unit, policy_namespace_selectors)
{
	static const char yaml[] =
		"namespaces:\n"
		"  - {name: prod, labels: {team: a}}\n"
		"  - {name: default, labels: {team: b}}\n"
		EPS
		"  - {name: prod-web, namespace: prod, ip: 10.250.0.41, labels: {app: web}}\n"
		"  - {name: stage-cli, namespace: stage, ip: 10.250.0.50, labels: {app: client}}\n"
		"policies:\n"
		"  - name: web\n"
		"    selector: {app: web}\n"
		"    ingress:\n"
		"      - from: [{namespace_selector: {team: a}, selector: {app: client}}]\n"
		"        ports: [{port: 80}]\n"
		"      - from: [{namespace_selector: {}}]\n"
		"        ports: [{port: 90}]\n"
		"      - from: [{namespace_selector: {kubernetes.io/metadata.name: stage}}]\n"
		"        ports: [{port: 91}]\n"
		"  - name: db\n"
		"    selector: {app: db}\n"
		"    ingress: [{from: [{namespace_selector: {team: a}}]}]\n";
	static const struct vcase cases[] = {
		{ "10.250.0.40", "10.250.0.21", 80, TCP, IN, A, "client of a team-a namespace" },
		{ "10.250.0.10", "10.250.0.21", 80, TCP, IN, D, "equal labels in a team-b namespace" },
		{ "10.250.0.50", "10.250.0.21", 80, TCP, IN, D, "equal labels in an unlabelled namespace" },
		{ "10.250.0.41", "10.250.0.21", 80, TCP, IN, D, "team-a namespace, labels do not match" },
		{ "10.250.0.30", "10.250.0.21", 90, TCP, IN, A, "{}: every namespace" },
		{ "10.250.0.50", "10.250.0.21", 90, TCP, IN, A, "{}: also a namespace not listed" },
		{ "10.252.0.1", "10.250.0.21", 90, TCP, IN, D, "{}: endpoints only, not the world" },
		{ "10.250.0.50", "10.250.0.21", 91, TCP, IN, A, "kubernetes.io/metadata.name is implicit" },
		{ "10.250.0.40", "10.250.0.21", 91, TCP, IN, D, "metadata.name of another namespace" },
		{ "10.250.0.41", "10.250.0.30", 5432, TCP, IN, A, "namespace selector alone: every pod" },
		{ "10.250.0.40", "10.250.0.30", 1, TCP, IN, A, "namespace selector alone: any labels" },
		{ "10.250.0.10", "10.250.0.30", 5432, TCP, IN, D, "another namespace" },
		{ "10.250.0.40", "10.250.0.41", 80, TCP, IN, A, "prod-web is not selected (its namespace)" },
	};
	char err[512] = "";
	struct weft_model *cfg = weft_file_parse(yaml, strlen(yaml), "t.yaml", err, sizeof(err));
	struct weft_pol_state cur = { 0 }, st;

	if (!ASSERT_NOT_NULL(cfg, err))
		return;
	ASSERT_EQ(cfg->nnamespaces, 2, "two namespaces");
	ASSERT_STR(cfg->namespaces[0].labels[0].value, "a", "namespace labels");
	ASSERT_TRUE(cfg->policies[0].ingress[0].from[0].has_ns_selector &&
		    cfg->policies[0].ingress[0].from[0].has_selector, "both selectors");
	ASSERT_TRUE(cfg->policies[0].ingress[1].from[0].has_ns_selector &&
		    !cfg->policies[0].ingress[1].from[0].has_selector, "namespace selector alone");
	if (!ASSERT_OK(weft_pol_build(cfg, &cur, &st, err, sizeof(err)), err))
		goto out;
	ASSERT_TRUE(weft_pol_ident(&st, &cfg->endpoints[0].ip) !=
			    weft_pol_ident(&st, &cfg->endpoints[5].ip),
		    "web in default and web in prod: two identities");
	ASSERT_EQ(weft_pol_ident(&st, &cfg->endpoints[0].ip),
		  weft_pol_ident(&st, &cfg->endpoints[1].ip), "one identity per (namespace, labels)");
	check_cases(&st, cases, sizeof(cases) / sizeof(cases[0]));
	weft_pol_free(&st);
out:
	weft_model_free(cfg);
}

/* match_expressions (In, NotIn, Exists, DoesNotExist) on the policy's
 * selector, a peer's and a peer's namespace selector. */
TEST(unit, policy_match_expressions)
{
	static const char yaml[] =
		"namespaces: [{name: prod, labels: {team: a}}]\n"
		EPS
		"  - {name: canary, ip: 10.250.0.23, labels: {app: web, track: canary}}\n"
		"  - {name: tool, ip: 10.250.0.11, labels: {app: tool, tier: x}}\n"
		"policies:\n"
		"  - name: web\n"
		"    match_expressions: [{key: app, operator: In, values: [web, api]},\n"
		"                        {key: track, operator: DoesNotExist}]\n"
		"    ingress:\n"
		"      - from: [{match_expressions: [{key: app, operator: NotIn, values: [db]}]}]\n"
		"        ports: [{port: 80}]\n"
		"      - from: [{namespace_match_expressions: [{key: team, operator: Exists}]}]\n"
		"        ports: [{port: 90}]\n"
		"      - from: [{match_expressions: [{key: tier, operator: Exists}]}]\n"
		"        ports: [{port: 91}]\n";
	static const struct vcase cases[] = {
		{ "10.250.0.10", "10.250.0.21", 80, TCP, IN, A, "NotIn db: client" },
		{ "10.250.0.30", "10.250.0.21", 80, TCP, IN, D, "NotIn db: db is out" },
		{ "10.250.0.11", "10.250.0.21", 80, TCP, IN, A, "NotIn: another app" },
		{ "10.250.0.40", "10.250.0.21", 80, TCP, IN, D, "a peer selector is the policy's namespace" },
		{ "10.250.0.40", "10.250.0.21", 90, TCP, IN, A, "namespace with a team label" },
		{ "10.250.0.10", "10.250.0.21", 90, TCP, IN, D, "namespace without one" },
		{ "10.250.0.11", "10.250.0.21", 91, TCP, IN, A, "Exists tier" },
		{ "10.250.0.10", "10.250.0.21", 91, TCP, IN, D, "no tier label" },
		{ "10.250.0.30", "10.250.0.23", 80, TCP, IN, A, "canary is not selected (DoesNotExist)" },
		{ "10.250.0.30", "10.250.0.11", 80, TCP, IN, A, "tool is not selected (In)" },
	};
	char err[512] = "";
	struct weft_model *cfg = parse(yaml, err, sizeof(err));
	struct weft_pol_state cur = { 0 }, st;

	if (!ASSERT_NOT_NULL(cfg, err))
		return;
	ASSERT_EQ(cfg->policies[0].nexprs, 2, "policy requirements");
	ASSERT_EQ(cfg->policies[0].exprs[0].nvalues, 2, "In values");
	ASSERT_TRUE(cfg->policies[0].ingress[0].from[0].has_selector, "match_expressions is a selector");
	ASSERT_TRUE(cfg->policies[0].ingress[1].from[0].has_ns_selector,
		    "namespace_match_expressions is a namespace selector");
	if (!ASSERT_OK(weft_pol_build(cfg, &cur, &st, err, sizeof(err)), err))
		goto out;
	check_cases(&st, cases, sizeof(cases) / sizeof(cases[0]));
	weft_pol_free(&st);
out:
	weft_model_free(cfg);
}

TEST(unit, policy_audit_and_no_policy)
{
	static const char yaml[] = EPS
		"policies:\n"
		"  - {name: p, selector: {app: web}, ingress: [], audit: true}\n";
	char err[512] = "";
	struct weft_model *cfg = parse(yaml, err, sizeof(err)), *none;
	struct weft_pol_state cur = { 0 }, st, empty;
	const struct weft_pol_val *m;

	if (!ASSERT_NOT_NULL(cfg, err))
		return;
	if (ASSERT_OK(weft_pol_build(cfg, &cur, &st, err, sizeof(err)), err)) {
		m = find(&st, weft_pol_ep_hash(&cfg->endpoints[0]), WEFT_ID_ANY, 0, 0, IN);
		if (ASSERT_NOT_NULL(m, "empty ingress selects"))
			ASSERT_EQ(m->audit, 1, "audit policy: marker in audit mode");
		ASSERT_TRUE(find(&st, weft_pol_ep_hash(&cfg->endpoints[0]), WEFT_ID_ANY, 0, 0, EG) ==
				    NULL,
			    "no egress key: egress not selected");
		/* All policies removed: a new, empty epoch. */
		none = parse(EPS, err, sizeof(err));
		if (ASSERT_NOT_NULL(none, err) &&
		    ASSERT_OK(weft_pol_build(none, &st, &empty, err, sizeof(err)), err)) {
			ASSERT_EQ(empty.nents + empty.nids, 0, "no entries");
			ASSERT_EQ(empty.epoch, st.epoch + 1, "removal flips to a new epoch");
			weft_pol_free(&empty);
		}
		/* Never had a policy: nothing, epoch stays 0. */
		if (none && ASSERT_OK(weft_pol_build(none, &cur, &empty, err, sizeof(err)), err)) {
			ASSERT_EQ(empty.epoch, 0, "no policy: epoch 0");
			weft_pol_free(&empty);
		}
		weft_model_free(none);
		weft_pol_free(&st);
	}
	weft_model_free(cfg);
}

TEST(unit, policy_limit)
{
	static const char yaml[] = EPS
		"datapath: {max_policy: 10}\n"
		"policies:\n"
		"  - name: p\n"
		"    selector: {app: web}\n"
		"    ingress: [{ports: [{port: 1000, end_port: 2000}]}]\n"
		"  - name: q\n"
		"    selector: {app: web}\n"
		"    ingress: [{ports: [{port: 80}]}]\n";
	char err[512] = "";
	struct weft_model *cfg = parse(yaml, err, sizeof(err));
	struct weft_pol_state cur = { 0 }, st;

	if (!ASSERT_NOT_NULL(cfg, err))
		return;
	/* p does not fit: rejected alone, q compiles. */
	if (!ASSERT_OK(weft_pol_build(cfg, &cur, &st, err, sizeof(err)), err))
		goto out;
	ASSERT_EQ(st.nrejects, 1, "one policy rejected");
	ASSERT_EQ(st.nrejects ? st.rejects[0].policy : 99, 0, "p is the one");
	weft_assert(st.nrejects && strstr(st.rejects[0].msg, ":9:5: policy default/p:") &&
			    strstr(st.rejects[0].msg, "raise datapath.max_policy"),
		    __FILE__, __LINE__, "the error names the policy and the knob: %s",
		    st.nrejects ? st.rejects[0].msg : "");
	ASSERT_TRUE(st.nrejects && !strcmp(st.rejects[0].reason, "map_budget"), "reason");
	for (size_t i = 0; i < st.nents; i++)
		ASSERT_EQ(st.ents[i].v.rule >> 16, 1, "entries are q's only");
	ASSERT_GE(st.nents, 2, "q's marker and its port");
	weft_pol_free(&st);
out:
	weft_model_free(cfg);
}

/* Record of the ops of a diff. */
struct rec {
	int n;
	int flip_at;		/* index of the epoch flip, -1 */
	int first_del;		/* index of the first delete of the old epoch, -1 */
	int last_new;		/* index of the last write under the new epoch */
	int prune_at;		/* the counters of other epochs go */
	uint32_t old, new;
	bool bad;		/* a write under the old epoch, or a delete under the new */
};

static int record(const struct weft_op *op, void *ctx)
{
	struct rec *r = ctx;
	uint32_t e = op->map == WEFT_M_POL ? ((const struct weft_pol_key *)op->key)->epoch :
		     op->map == WEFT_M_POL_ID ? ntohl(((const struct weft_pol_id_key *)op->key)->epoch) :
		     op->map == WEFT_M_POL_META ? ((const struct weft_pol_meta_key *)op->key)->epoch : 0;

	if (op->kind == WEFT_OP_PRUNE) {
		r->prune_at = r->n;
		if (*(const uint32_t *)op->value != r->new)
			r->bad = true;
	} else if (op->map == WEFT_M_REDIR_CFG) {
		r->flip_at = r->n;
		if (((const struct weft_redir_cfg *)op->value)->policy_epoch != r->new)
			r->bad = true;
	} else if (op->del) {
		if (r->first_del < 0)
			r->first_del = r->n;
		if (e != r->old)
			r->bad = true;
	} else {
		r->last_new = r->n;
		if (e != r->new)
			r->bad = true;
	}
	r->n++;
	return 0;
}

TEST(unit, policy_diff_order)
{
	static const char yaml2[] = EPS
		"policies:\n"
		"  - {name: p, selector: {app: db}, ingress: [{from: [{selector: {app: web}}]}]}\n";
	char err[512] = "";
	struct weft_model *a = parse(EPS POL, err, sizeof(err)), *b = parse(yaml2, err, sizeof(err));
	struct weft_pol_state cur = { 0 }, s1 = { 0 }, s2 = { 0 };
	struct rec r = { .flip_at = -1, .first_del = -1, .last_new = -1, .prune_at = -1 };

	if (!ASSERT_NOT_NULL(a, err) || !ASSERT_NOT_NULL(b, err))
		goto out;
	if (!ASSERT_OK(weft_pol_build(a, &cur, &s1, err, sizeof(err)), err) ||
	    !ASSERT_OK(weft_pol_build(b, &s1, &s2, err, sizeof(err)), err))
		goto out;
	r.old = (uint32_t)s1.epoch;
	r.new = (uint32_t)s2.epoch;
	ASSERT_EQ(r.new, r.old + 1, "a change takes the next epoch");
	ASSERT_OK(weft_pol_diff(&s1, &s2, record, &r), "diff");
	ASSERT_FALSE(r.bad, "new entries under the new epoch, deletes under the old");
	ASSERT_EQ(r.n, (int)(s2.nids + s2.nents + s2.nmetas + 1 + s1.nids + s1.nents + s1.nmetas + 1),
		  "every entry once, the flip, the counter prune");
	ASSERT_EQ(s2.nmetas, 1, "one policy named");
	ASSERT_TRUE(r.last_new < r.flip_at && r.flip_at < r.first_del && r.first_del < r.prune_at,
		    "all new entries, then the flip, then the deletes, then the old counters");

	/* Unchanged: no ops at all. */
	memset(&r, 0, sizeof(r));
	ASSERT_OK(weft_pol_diff(&s2, &s2, record, &r), "diff with itself");
	ASSERT_EQ(r.n, 0, "unchanged policy writes nothing");
out:
	weft_pol_free(&s1);
	weft_pol_free(&s2);
	weft_model_free(a);
	weft_model_free(b);
}

/* The scale: 10,000 CIDRs and 1,000 identities compile to the
 * expected entries, and a reload of the same compiles to no change. How
 * long it takes is measured by make bench (tests/bench/policy.sh). */
TEST(unit, policy_scale_10k_cidrs_1k_identities)
{
	size_t cap = 4 << 20, len = 0;
	char *yaml = malloc(cap), err[512] = "";
	struct weft_pol_state cur = { 0 }, st = { 0 }, again = { 0 };
	struct weft_model *cfg = NULL;

	if (!ASSERT_NOT_NULL(yaml, "buffer"))
		return;
	len += snprintf(yaml + len, cap - len, "endpoints:\n");
	for (int i = 0; i < 1000; i++)
		len += snprintf(yaml + len, cap - len,
				"  - {name: ep-%d, ip: 10.200.%d.%d, labels: {app: a%d, role: %s}}\n", i,
				i / 200, i % 200 + 1, i, i < 10 ? "db" : "web");
	len += snprintf(yaml + len, cap - len,
			"policies:\n  - name: db\n    selector: {role: db}\n    ingress:\n"
			"      - from: [{selector: {role: web}}]\n        ports: [{port: 5432}]\n"
			"      - ports: [{port: 5432}]\n        from:\n");
	for (int i = 0; i < 10000; i++)
		len += snprintf(yaml + len, cap - len, "          - {cidr: 10.%d.%d.0/24}\n",
				i / 256 + 1, i % 256);
	cfg = parse(yaml, err, sizeof(err));
	free(yaml);
	if (!ASSERT_NOT_NULL(cfg, err))
		return;
	if (!ASSERT_OK(weft_pol_build(cfg, &cur, &st, err, sizeof(err)), err))
		goto out;
	ASSERT_EQ(st.nids, 1000 + 10000, "one prefix per endpoint and per CIDR");
	/* 10 subjects x (990 web identities + 10,000 CIDRs) + 10 selected markers */
	ASSERT_EQ(st.nents, 10 * (990 + 10000) + 10, "entries");
	if (ASSERT_OK(weft_pol_build(cfg, &st, &again, err, sizeof(err)), err))
		ASSERT_EQ(again.epoch, st.epoch, "same config: same epoch, nothing to write");
out:
	weft_pol_free(&st);
	weft_pol_free(&again);
	weft_model_free(cfg);
}

/* protocol: sctp compiles to IPPROTO_SCTP entries; a rule without ports
 * covers SCTP too; datapath.policy_audit puts every deny and default-deny
 * entry in audit mode, and changing it flips the epoch. */
#define SCTP_POL \
		"policies:\n" \
		"  - name: p\n" \
		"    selector: {app: web}\n" \
		"    ingress:\n" \
		"      - from: [{selector: {app: client}}]\n" \
		"        ports: [{port: 3868, protocol: sctp}, {port: 80, protocol: SCTP}]\n" \
		"      - from: [{selector: {app: db}}]\n" \
		"    deny:\n" \
		"      - from: [{cidr: 10.251.0.66/32}]\n"

TEST(unit, policy_sctp_and_global_audit)
{
	char err[512] = "";
	struct weft_model *cfg = parse(EPS "datapath: {policy_audit: false}\n" SCTP_POL, err, sizeof(err));
	struct weft_model *aud = parse(EPS "datapath: {policy_audit: true}\n" SCTP_POL, err, sizeof(err));
	struct weft_pol_state cur = { 0 }, st = { 0 }, sta = { 0 };
	const struct weft_pol_val *v;
	uint32_t web, cli, db;

	if (!ASSERT_NOT_NULL(cfg, err) || !ASSERT_NOT_NULL(aud, err))
		goto out;
	ASSERT_EQ(cfg->policies[0].ingress[0].ports[0].proto, IPPROTO_SCTP, "sctp parsed");
	ASSERT_EQ(cfg->policies[0].ingress[0].ports[1].proto, IPPROTO_SCTP, "SCTP, any case");
	ASSERT_STR(weft_proto_name(IPPROTO_SCTP), "sctp", "weft policy names SCTP rules");
	ASSERT_FALSE(cfg->datapath.policy_audit, "policy_audit off");
	ASSERT_TRUE(aud->datapath.policy_audit, "policy_audit on");
	if (!ASSERT_OK(weft_pol_build(cfg, &cur, &st, err, sizeof(err)), err) ||
	    !ASSERT_OK(weft_pol_build(aud, &st, &sta, err, sizeof(err)), err))
		goto out;
	web = weft_pol_ep_hash(&cfg->endpoints[0]);
	cli = weft_pol_ep_hash(&cfg->endpoints[2]);
	db = weft_pol_ep_hash(&cfg->endpoints[3]);
	ASSERT_NOT_NULL(find(&st, web, cli, 3868, IPPROTO_SCTP, IN), "SCTP 3868 allowed");
	ASSERT_TRUE(find(&st, web, cli, 3868, IPPROTO_TCP, IN) == NULL, "not TCP 3868");
	ASSERT_NOT_NULL(find(&st, web, db, 0, IPPROTO_SCTP, IN), "no ports: every SCTP port too");
	ASSERT_NOT_NULL(find(&st, web, db, 0, IPPROTO_TCP, IN), "and every TCP port");
	ASSERT_EQ(decide(&st, "10.250.0.10", "10.250.0.21", 3868, IPPROTO_SCTP, IN), WEFT_POL_ALLOW,
		  "client to web on SCTP 3868");
	ASSERT_EQ(decide(&st, "10.250.0.10", "10.250.0.21", 3869, IPPROTO_SCTP, IN), WEFT_POL_DENY,
		  "client to web on SCTP 3869");
	v = find(&st, web, WEFT_ID_ANY, 0, 0, IN);
	if (ASSERT_NOT_NULL(v, "web selected"))
		ASSERT_EQ(v->audit, 0, "enforcing: marker not in audit mode");
	ASSERT_EQ(sta.epoch, st.epoch + 1, "turning audit on is a change: new epoch");
	for (size_t i = 0; i < sta.nents; i++)
		if (sta.ents[i].v.action != WEFT_POL_ALLOW)
			ASSERT_EQ(sta.ents[i].v.audit, 1, "global audit: every deny entry audits");
	ASSERT_EQ(decide(&sta, "10.250.0.10", "10.250.0.21", 3869, IPPROTO_SCTP, IN), WEFT_POL_ALLOW,
		  "global audit: nothing denied");
out:
	weft_pol_free(&cur);
	weft_pol_free(&st);
	weft_pol_free(&sta);
	weft_model_free(cfg);
	weft_model_free(aud);
}

/* ipBlock matches pod addresses (issue 13), as the Kubernetes NetworkPolicy
 * e2e suite expects: every address of the prefix minus the excepts, pods
 * included, whether or not a selector also names them; peers of a rule are
 * ORed. Two pods with the same labels, one inside an except, are told apart. */
TEST(unit, policy_ipblock_matches_pod_addresses)
{
	static const char yaml[] =
		"endpoints:\n"
		"  - {name: web, ip: 10.0.1.21, labels: {app: web}}\n"
		"  - {name: cli-a, ip: 10.0.0.5, labels: {app: client}}\n"
		"  - {name: cli-b, ip: 10.0.0.66, labels: {app: client}}\n"
		"  - {name: db, ip: 10.0.0.7, labels: {app: db}}\n"
		"  - {name: far, ip: 10.1.0.8, labels: {app: client}}\n"
		"  - {name: eg1, ip: 10.2.0.10, labels: {app: eg1}}\n"
		"  - {name: eg2, ip: 10.2.0.11, labels: {app: eg2}}\n"
		"  - {name: server, ip: 10.3.0.20, labels: {app: server}}\n"
		"  - {name: other, ip: 10.3.0.21, labels: {app: server}}\n"
		"policies:\n"
		"  - name: web\n"
		"    selector: {app: web}\n"
		"    ingress:\n"
		"      - from: [{cidr: 10.0.0.0/16, except: [10.0.0.66/32]}]\n"
		"      - from: [{selector: {app: nothing}}, {cidr: 10.1.0.8/32}]\n"
		"        ports: [{port: 81}]\n"
		/* e2e: should allow egress access to server in CIDR block */
		"  - name: eg1\n"
		"    selector: {app: eg1}\n"
		"    egress:\n"
		"      - to: [{cidr: 10.3.0.20/32}]\n"
		/* e2e: should enforce except clause while egress access to server in CIDR block */
		"  - name: eg2\n"
		"    selector: {app: eg2}\n"
		"    egress:\n"
		"      - to: [{cidr: 10.3.0.0/24, except: [10.3.0.20/32]}]\n";
	static const struct vcase cases[] = {
		{ "10.0.0.5", "10.0.1.21", 80, TCP, IN, A, "a pod in the CIDR" },
		{ "10.0.0.66", "10.0.1.21", 80, TCP, IN, D, "the except, a pod with cli-a's labels" },
		{ "10.0.0.7", "10.0.1.21", 80, TCP, IN, A, "a pod of other labels in the CIDR" },
		{ "10.0.9.9", "10.0.1.21", 80, TCP, IN, A, "a non-pod address in the CIDR" },
		{ "10.1.0.8", "10.0.1.21", 80, TCP, IN, D, "a pod outside the CIDR" },
		{ "10.1.0.8", "10.0.1.21", 81, TCP, IN, A, "selector OR cidr: the /32 of a pod" },
		{ "10.2.0.10", "10.3.0.20", 80, TCP, EG, A, "egress to the server's /32" },
		{ "10.2.0.10", "10.3.0.21", 80, TCP, EG, D, "egress to a pod outside the block" },
		{ "10.2.0.11", "10.3.0.20", 80, TCP, EG, D, "egress to the server: its except" },
		{ "10.2.0.11", "10.3.0.21", 80, TCP, EG, A, "egress to a pod of the block, same labels" },
	};
	char err[512] = "";
	struct weft_model *cfg = parse(yaml, err, sizeof(err));
	struct weft_pol_state cur = { 0 }, st;

	if (!ASSERT_NOT_NULL(cfg, err))
		return;
	if (ASSERT_OK(weft_pol_build(cfg, &cur, &st, err, sizeof(err)), err)) {
		check_cases(&st, cases, sizeof(cases) / sizeof(cases[0]));
		ASSERT_TRUE(weft_pol_ident(&st, &cfg->endpoints[1].ip) !=
				    weft_pol_ident(&st, &cfg->endpoints[2].ip),
			    "same labels, one inside an except: two identities");
		ASSERT_EQ(weft_pol_ident(&st, &cfg->endpoints[7].ip) & WEFT_ID_CIDR, 0,
			  "a pod keeps its endpoint identity inside a CIDR");
		weft_pol_free(&st);
	}
	weft_model_free(cfg);
}

/* Pods of other nodes (issue 13): identities as local ones, the same
 * numbers on every node for the same cluster; judged as peers, never
 * subjects here (their own node enforces for them). */
TEST(unit, policy_remote_endpoints)
{
	static const char yaml[] =
		"endpoints:\n"
		"  - {name: web, ip: 10.0.1.21, labels: {app: web}}\n"
		"  - {name: cli, ip: 10.0.2.5, labels: {app: client}}\n"
		"  - {name: scan, ip: 10.0.2.6, labels: {app: scanner}}\n"
		"policies:\n"
		"  - name: web\n"
		"    selector: {app: web}\n"
		"    ingress:\n"
		"      - from: [{selector: {app: client}}]\n"
		"  - name: cli\n"
		"    selector: {app: client}\n"
		"    egress:\n"
		"      - to: [{selector: {app: web}}]\n";
	char err[512] = "";
	struct weft_model *a = parse(yaml, err, sizeof(err)), *b = parse(yaml, err, sizeof(err));
	struct weft_pol_state cur = { 0 }, sa, sb;
	uint32_t web, cli;

	if (!ASSERT_NOT_NULL(a, err) || !ASSERT_NOT_NULL(b, err))
		goto out;
	/* node-a: web local; node-b: the client and the scanner. */
	a->endpoints[1].remote = a->endpoints[2].remote = true;
	b->endpoints[0].remote = true;
	if (!ASSERT_OK(weft_pol_build(a, &cur, &sa, err, sizeof(err)), err))
		goto out;
	if (!ASSERT_OK(weft_pol_build(b, &cur, &sb, err, sizeof(err)), err)) {
		weft_pol_free(&sa);
		goto out;
	}
	web = weft_pol_ident(&sa, &a->endpoints[0].ip);
	cli = weft_pol_ident(&sa, &a->endpoints[1].ip);
	ASSERT_TRUE(cli >= WEFT_ID_EP_MIN && !(cli & WEFT_ID_CIDR), "a remote pod has an endpoint identity");
	ASSERT_EQ(weft_pol_ident(&sb, &b->endpoints[0].ip), web, "web: one identity on both nodes");
	ASSERT_EQ(weft_pol_ident(&sb, &b->endpoints[1].ip), cli, "client: one identity on both nodes");
	ASSERT_EQ(decide(&sa, "10.0.2.5", "10.0.1.21", 80, TCP, IN), A, "node-a: the remote client in");
	ASSERT_EQ(decide(&sa, "10.0.2.6", "10.0.1.21", 80, TCP, IN), D, "node-a: the remote scanner out");
	ASSERT_EQ(decide(&sb, "10.0.2.5", "10.0.1.21", 80, TCP, EG), A, "node-b: client to the remote web");
	ASSERT_EQ(decide(&sb, "10.0.2.5", "10.0.2.6", 80, TCP, EG), D, "node-b: client to the scanner");
	ASSERT_TRUE(find(&sa, cli, WEFT_ID_ANY, 0, 0, EG) == NULL,
		    "node-a compiles no rule for the remote client as a subject");
	ASSERT_TRUE(find(&sb, web, WEFT_ID_ANY, 0, 0, IN) == NULL,
		    "node-b compiles no rule for the remote web as a subject");
	weft_pol_free(&sa);
	weft_pol_free(&sb);
out:
	weft_model_free(a);
	weft_model_free(b);
}
