// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Unit tests of routes (issue 15): the file's routes[], which routes apply,
 * and the weighted backend set a route compiles into its parent's port. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "model/model.h"
#include "reconcile/services.h"
#include "source/file.h"
#include "source/k8s/k8s.h"
#include <json-c/json.h>

/* web (the parent, its own backend .9), v1 with four endpoints, v2 with one,
 * v3 with one that is not ready: lines 1-19. */
#define SERVICES                                                                  \
	"services:\n"                                                             \
	"  - {name: web, namespace: shop, vip: 10.96.0.1, ports: [{port: 80}, {port: 81}],\n" \
	"     backends: [{ip: 10.1.0.9}]}\n"                                      \
	"  - name: v1\n"                                                          \
	"    namespace: shop\n"                                                   \
	"    vip: 10.96.0.2\n"                                                    \
	"    ports: [{port: 80, target_port: 8080}]\n"                            \
	"    backends:\n"                                                         \
	"      - {ip: 10.1.0.1}\n"                                                \
	"      - {ip: 10.1.0.2}\n"                                                \
	"      - {ip: 10.1.0.3}\n"                                                \
	"      - {ip: 10.1.0.4}\n"                                                \
	"  - name: v2\n"                                                          \
	"    namespace: shop\n"                                                   \
	"    vip: 10.96.0.3\n"                                                    \
	"    ports: [{port: 9000, target_port: 9090}]\n"                          \
	"    backends: [{ip: 10.2.0.1}]\n"                                        \
	"  - {name: v3, namespace: shop, vip: 10.96.0.4, ports: [{port: 80}],\n"  \
	"     backends: [{ip: 10.3.0.1, ready: false, serving: false}]}\n"

static struct weft_model *parse(const char *yaml, char *err, size_t len)
{
	err[0] = 0;
	return weft_file_parse(yaml, strlen(yaml), "t.yaml", err, len);
}

static bool ip4_is(const __be32 *a, const char *text)
{
	struct in_addr in;

	inet_pton(AF_INET, text, &in);
	return a[0] == 0 && a[1] == 0 && a[2] == htonl(0xffff) && a[3] == in.s_addr;
}

/* Slots of sp going to backends whose IPv4 address starts with prefix
 * ("10.1.0."), or to the zero (refusing) backend for prefix NULL. */
static size_t slots_to(const struct weft_sp *sp, const char *prefix)
{
	size_t n = 0;

	for (size_t s = 0; s < sp->nslots; s++) {
		const struct weft_backend *be = NULL;
		char buf[INET_ADDRSTRLEN];

		for (size_t i = 0; i < sp->nbe; i++)
			if (sp->be[i].idx == sp->slots[s])
				be = &sp->be[i];
		if (!be)
			continue;
		if (!prefix) {
			n += !(be->addr[0] | be->addr[1] | be->addr[2] | be->addr[3] | be->port);
			continue;
		}
		inet_ntop(AF_INET, &be->addr[3], buf, sizeof(buf));
		n += be->addr[2] == htonl(0xffff) && !strncmp(buf, prefix, strlen(prefix));
	}
	return n;
}

/* The built service port of vip:port. */
static const struct weft_sp *sp_of(const struct weft_state *st, const char *vip, uint16_t port)
{
	struct weft_svc_key k = { .port = htons(port), .proto = IPPROTO_TCP };
	struct in_addr in;

	inet_pton(AF_INET, vip, &in);
	k.addr[2] = htonl(0xffff);
	k.addr[3] = in.s_addr;
	return weft_state_find(st, &k);
}

static bool build(const struct weft_model *m, struct weft_state *out)
{
	struct weft_state cur = { 0 };
	char err[512] = "";

	return ASSERT_OK(weft_state_build(m, &cur, out, err, sizeof(err)), err);
}

TEST(unit, routes_file_fields_and_defaults)
{
	static const char yaml[] = SERVICES
		"routes:\n"
		"  - name: split\n"
		"    namespace: shop\n"
		"    parent: {name: web, port: 80}\n"
		"    rules:\n"
		"      - backends: [{name: v1, weight: 80}, {name: v2, namespace: other, port: 9000}]\n"
		"      - backends: [{name: v3, weight: 0}]\n";
	char err[512];
	struct weft_model *m = parse(yaml, err, sizeof(err));
	const struct weft_route *r;

	if (!ASSERT_NOT_NULL(m, err))
		return;
	r = &m->routes[0];
	if (ASSERT_EQ(m->nroutes, 1, "routes") && ASSERT_STR(r->name, "split", "name") &&
	    ASSERT_STR(r->parent.ns, "shop", "parent namespace: the route's") &&
	    ASSERT_EQ(r->parent.port, 80, "parent port") && ASSERT_EQ(r->nrules, 2, "rules") &&
	    ASSERT_EQ(r->rules[0].nbackends, 2, "backends") &&
	    ASSERT_STR(r->rules[0].backends[0].ref.ns, "shop", "backend namespace: the route's")) {
		ASSERT_EQ(r->rules[0].backends[0].weight, 80, "weight");
		ASSERT_EQ(r->rules[0].backends[1].weight, 1, "weight default");
		ASSERT_STR(r->rules[0].backends[1].ref.ns, "other", "namespace said");
		ASSERT_EQ(r->rules[0].backends[1].ref.port, 9000, "port");
		ASSERT_EQ(r->rules[1].backends[0].weight, 0, "weight 0 allowed");
		ASSERT_EQ(r->origin.pos.line, 21, "origin line");
	}
	weft_model_free(m);
}

TEST(unit, routes_file_errors_name_the_place)
{
	static const struct {
		const char *yaml, *want;
	} bad[] = {
		{ "routes:\n  - name: r\n    parent: {name: web}\n    rules: [{backends: [{name: a, weight: 1000001}]}]\n",
		  "t.yaml:4:43: routes[0].rules[0].backends[0].weight: 1000001 is out of range 0..1000000" },
		{ "routes:\n  - name: r\n    parent: {name: web, color: red}\n    rules: [{backends: [{name: a}]}]\n",
		  "t.yaml:3:25: routes[0].parent.color: unknown key" },
		{ "routes:\n  - name: r\n    rules: [{backends: [{name: a}]}]\n",
		  "t.yaml:2:5: routes[0]: missing required key \"parent\"" },
		{ "routes:\n  - name: r\n    parent: {name: web}\n    rules: [{backends: []}]\n",
		  "t.yaml:4:24: routes[0].rules[0].backends: needs at least 1 entry" },
		{ "routes:\n  - name: r\n    parent: {name: web}\n    rules:\n      - backends: [{name: a}, {name: a}]\n",
		  "t.yaml:5:38: routes[0].rules[0].backends[1].name: duplicate backend (same service and port)" },
		{ "routes:\n  - {name: r, parent: {name: w}, rules: [{backends: [{name: a}]}]}\n"
		  "  - {name: r, parent: {name: x}, rules: [{backends: [{name: a}]}]}\n",
		  "t.yaml:3:12: routes[1].name: duplicate route namespace/name" },
	};
	char err[512];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct weft_model *m = parse(bad[i].yaml, err, sizeof(err));

		ASSERT_TRUE(!m, bad[i].want);
		ASSERT_TRUE(strstr(err, bad[i].want) != NULL, err);
		weft_model_free(m);
	}
}

/* 80/20 over v1 (four endpoints) and v2 (one): each service gets its share
 * whatever its endpoint count; backend ports resolve (v1 by the parent's
 * number, v2 as its only TCP port); port 81 of the parent keeps its own
 * backends. */
TEST(unit, routes_split_by_service_not_endpoint)
{
	static const char yaml[] = SERVICES
		"routes:\n"
		"  - name: split\n"
		"    namespace: shop\n"
		"    parent: {name: web, port: 80}\n"
		"    rules: [{backends: [{name: v1, weight: 80}, {name: v2, weight: 20}]}]\n";
	char err[512];
	struct weft_model *m = parse(yaml, err, sizeof(err));
	struct weft_state st = { 0 };
	const struct weft_sp *sp, *own;

	if (!ASSERT_NOT_NULL(m, err) || !build(m, &st))
		goto out;
	sp = sp_of(&st, "10.96.0.1", 80);
	own = sp_of(&st, "10.96.0.1", 81);
	if (!ASSERT_NOT_NULL(sp, "parent port 80") || !ASSERT_NOT_NULL(own, "parent port 81"))
		goto out;
	ASSERT_EQ(sp->nbe, 5, "every endpoint of v1 and v2, not the parent's own");
	ASSERT_EQ(slots_to(sp, "10.1.0.") * 100 / sp->nslots, 80, "v1: 80%");
	ASSERT_EQ(slots_to(sp, "10.2.0.") * 100 / sp->nslots, 20, "v2: 20%");
	for (size_t i = 0; i < sp->nbe; i++)
		ASSERT_EQ(ntohs(sp->be[i].port), ip4_is(sp->be[i].addr, "10.2.0.1") ? 9090 : 8080,
			  "the backend service's target port");
	ASSERT_EQ(own->nbe, 1, "port 81: not routed");
	ASSERT_TRUE(ip4_is(own->be[0].addr, "10.1.0.9"), "port 81: the parent's own backend");
out:
	weft_state_free(&st);
	weft_model_free(m);
}

/* A backend that does not resolve (no such service; one whose only endpoint
 * is not usable) keeps its share as the refusing zero backend; weight 0
 * gets nothing. */
TEST(unit, routes_unresolved_share_refuses)
{
	static const char yaml[] = SERVICES
		"routes:\n"
		"  - name: split\n"
		"    namespace: shop\n"
		"    parent: {name: web}\n"
		"    rules: [{backends: [{name: v1, weight: 50}, {name: nope, weight: 30},\n"
		"                        {name: v3, weight: 20}, {name: v2, weight: 0}]}]\n";
	char err[512];
	struct weft_model *m = parse(yaml, err, sizeof(err));
	struct weft_state st = { 0 };
	const struct weft_sp *sp;

	if (!ASSERT_NOT_NULL(m, err) || !build(m, &st))
		goto out;
	sp = sp_of(&st, "10.96.0.1", 80);
	if (!ASSERT_NOT_NULL(sp, "parent"))
		goto out;
	ASSERT_EQ(sp->nbe, 5, "four v1 endpoints and one refusing backend");
	ASSERT_EQ(slots_to(sp, NULL) * 100 / sp->nslots, 50, "nope and v3: refused, 30+20%");
	ASSERT_EQ(slots_to(sp, "10.1.0.") * 100 / sp->nslots, 50, "v1: 50%");
	ASSERT_EQ(slots_to(sp, "10.2.0."), 0, "v2, weight 0: nothing");
	ASSERT_NOT_NULL(sp_of(&st, "10.96.0.1", 81), "no port said: port 81 routed too");
	if (sp_of(&st, "10.96.0.1", 81))
		ASSERT_EQ(slots_to(sp_of(&st, "10.96.0.1", 81), "10.1.0.9"), 0, "81: routed");
out:
	weft_state_free(&st);
	weft_model_free(m);
}

TEST(unit, routes_all_weights_zero_no_backends)
{
	static const char yaml[] = SERVICES
		"routes:\n"
		"  - {name: r, namespace: shop, parent: {name: web, port: 80},\n"
		"     rules: [{backends: [{name: v1, weight: 0}]}]}\n";
	char err[512];
	struct weft_model *m = parse(yaml, err, sizeof(err));
	struct weft_state st = { 0 };
	const struct weft_sp *sp;

	if (!ASSERT_NOT_NULL(m, err) || !build(m, &st))
		goto out;
	sp = sp_of(&st, "10.96.0.1", 80);
	if (ASSERT_NOT_NULL(sp, "parent"))
		ASSERT_EQ(sp->nslots, 0, "no slots: refused as a service without backends");
out:
	weft_state_free(&st);
	weft_model_free(m);
}

struct rejects {
	size_t n;
	size_t index[4];
	char reason[4][32];
	char msg[4][512];
};

static void on_reject(void *ctx, size_t i, const char *reason, const char *msg)
{
	struct rejects *r = ctx;

	if (r->n < 4) {
		r->index[r->n] = i;
		snprintf(r->reason[r->n], sizeof(r->reason[0]), "%s", reason);
		snprintf(r->msg[r->n++], sizeof(r->msg[0]), "%s", msg);
	}
}

/* A route that cannot apply is rejected alone: the others apply. */
TEST(unit, routes_bad_route_rejected_alone)
{
	static const char yaml[] = SERVICES
		"routes:\n"
		"  - {name: nothere, namespace: shop, parent: {name: gone}, rules: [{backends: [{name: v1}]}]}\n"
		"  - {name: noport, namespace: shop, parent: {name: web, port: 99}, rules: [{backends: [{name: v1}]}]}\n"
		"  - {name: good, namespace: shop, parent: {name: web, port: 80}, rules: [{backends: [{name: v2}]}]}\n"
		"  - {name: late, namespace: shop, parent: {name: web}, rules: [{backends: [{name: v1}]}]}\n";
	char err[512];
	struct weft_model *m = parse(yaml, err, sizeof(err));
	struct weft_state st = { 0 };
	struct rejects rj = { 0 };
	const struct weft_sp *sp;

	if (!ASSERT_NOT_NULL(m, err))
		return;
	if (!ASSERT_EQ(weft_routes_check(m, on_reject, &rj), 3, "three rejected") ||
	    !ASSERT_EQ(rj.n, 3, "reported"))
		goto out;
	ASSERT_STR(rj.msg[0], "t.yaml:21:5: routes[0] (shop/nothere): parent service shop/gone does not exist",
		   "no parent");
	ASSERT_STR(rj.reason[0], "no_parent", "reason");
	ASSERT_STR(rj.msg[1], "t.yaml:22:5: routes[1] (shop/noport): parent service shop/web has no port 99",
		   "no port");
	ASSERT_STR(rj.reason[1], "no_parent_port", "reason");
	ASSERT_STR(rj.msg[2], "t.yaml:24:5: routes[3] (shop/late): port 80 of service shop/web is already routed by routes[2] (shop/good)",
		   "conflict");
	ASSERT_STR(rj.reason[2], "conflict", "reason");
	if (!build(m, &st))
		goto out;
	sp = sp_of(&st, "10.96.0.1", 80);
	if (ASSERT_NOT_NULL(sp, "port 80"))
		ASSERT_EQ(slots_to(sp, "10.2.0."), sp->nslots, "port 80: the good route (v2)");
	sp = sp_of(&st, "10.96.0.1", 81);
	if (ASSERT_NOT_NULL(sp, "port 81"))
		ASSERT_EQ(slots_to(sp, "10.1.0.9"), sp->nslots, "port 81: the rejected route left it alone");
out:
	weft_state_free(&st);
	weft_model_free(m);
}

#define ROUTE(w1, w2)                                                                      \
	"routes:\n"                                                                        \
	"  - name: split\n"                                                                \
	"    namespace: shop\n"                                                            \
	"    parent: {name: web, port: 80}\n"                                              \
	"    rules: [{backends: [{name: v1, weight: " #w1 "}, {name: v2, weight: " #w2 "}]}]\n"

/* v1 to weight 0: its four endpoints drain, on the parent's address and
 * port 80 only; v2 keeps its weight: nothing of it. */
TEST(unit, routes_drained_backends)
{
	char err[512];
	struct weft_model *old = parse(SERVICES ROUTE(80, 20), err, sizeof(err));
	struct weft_model *cur = old ? parse(SERVICES "datapath: {drain_timeout: 5}\n" ROUTE(0, 100),
					     err, sizeof(err)) : NULL;
	struct weft_model *same = cur ? parse(SERVICES ROUTE(80, 20), err, sizeof(err)) : NULL;
	struct weft_gone_key *g = NULL;
	size_t n = 0;

	if (!ASSERT_NOT_NULL(same, err))
		goto out;
	ASSERT_EQ(old->datapath.drain_timeout, 30, "drain_timeout default");
	ASSERT_EQ(cur->datapath.drain_timeout, 5, "drain_timeout");
	if (!ASSERT_OK(weft_model_route_drained(old, cur, "", &g, &n), "drained") ||
	    !ASSERT_EQ(n, 4, "v1's four endpoints"))
		goto out;
	for (size_t i = 0; i < n; i++) {
		char buf[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &g[i].addr[3], buf, sizeof(buf));
		ASSERT_TRUE(ip4_is(g[i].vip, "10.96.0.1"), "the parent's address");
		ASSERT_EQ(ntohs(g[i].vport), 80, "the parent's port");
		ASSERT_EQ(ntohs(g[i].port), 8080, "the endpoint's port");
		ASSERT_TRUE(!strncmp(buf, "10.1.0.", 7), buf);
	}
	free(g);
	g = NULL;
	ASSERT_OK(weft_model_route_drained(old, same, "", &g, &n), "unchanged");
	ASSERT_EQ(n, 0, "no weight dropped: nothing drains");
	free(g);
	g = NULL;
	ASSERT_OK(weft_model_route_drained(cur, old, "", &g, &n), "v2 100 -> 20");
	ASSERT_EQ(n, 0, "weights up or down but not to 0: nothing drains");
out:
	free(g);
	weft_model_free(same);
	weft_model_free(cur);
	weft_model_free(old);
}

/* Kubernetes routes: a Gateway parent is not weft's, a Service parent is;
 * a backendRef of another namespace or kind keeps its share, refused; a
 * consumer route (another namespace than the parent's) is rejected; the
 * older of two routes on one port applies. */
TEST(unit, routes_from_kubernetes_objects)
{
	static const char tcp[] =
		"{\"default/b\":{\"metadata\":{\"name\":\"b\",\"namespace\":\"shop\","
		"\"creationTimestamp\":\"2026-02-01T00:00:00Z\"},\"spec\":{\"parentRefs\":["
		"{\"name\":\"gw\"},{\"group\":\"\",\"kind\":\"Service\",\"name\":\"web\",\"port\":80}],"
		"\"rules\":[{\"backendRefs\":[{\"name\":\"v1\",\"weight\":3},"
		"{\"name\":\"v2\",\"namespace\":\"other\",\"weight\":1},"
		"{\"group\":\"x.io\",\"kind\":\"Thing\",\"name\":\"t\"}]}]}},"
		"\"other/c\":{\"metadata\":{\"name\":\"c\",\"namespace\":\"other\","
		"\"creationTimestamp\":\"2026-03-01T00:00:00Z\"},\"spec\":{"
		"\"parentRefs\":[{\"group\":\"\",\"kind\":\"Service\",\"name\":\"web\",\"namespace\":\"shop\"}],"
		"\"rules\":[{\"backendRefs\":[{\"name\":\"v1\"}]}]}},"
		"\"shop/bad\":{\"metadata\":{\"name\":\"bad\",\"namespace\":\"shop\"},\"spec\":{"
		"\"parentRefs\":[{\"group\":\"\",\"kind\":\"Service\",\"name\":\"web\"}],"
		"\"rules\":[{\"backendRefs\":[{\"name\":\"v1\",\"weight\":-1}]}]}}}";
	static const char splits[] =
		"{\"shop/a\":{\"metadata\":{\"name\":\"a\",\"namespace\":\"shop\","
		"\"creationTimestamp\":\"2026-01-01T00:00:00Z\"},\"spec\":{\"service\":\"web\","
		"\"backends\":[{\"service\":\"v2\",\"weight\":1}]}}}";
	struct json_object *t = json_tokener_parse(tcp), *s = json_tokener_parse(splits);
	struct weft_model *m = weft_model_new("kubernetes");
	struct rejects rj = { 0 };

	if (!ASSERT_NOT_NULL(t, "json") || !ASSERT_NOT_NULL(s, "json") || !ASSERT_NOT_NULL(m, "model"))
		goto out;
	if (!ASSERT_OK(weft_k8s_translate_routes(t, NULL, s, m), "translate") ||
	    !ASSERT_EQ(m->nroutes, 3, "the split, b (its Service parent), c; bad skipped"))
		goto out;
	ASSERT_STR(m->routes[0].origin.kind, "TrafficSplit", "oldest first");
	ASSERT_STR(m->routes[1].name, "b", "then b");
	ASSERT_EQ(m->routes[1].proto, IPPROTO_TCP, "a TCPRoute takes TCP ports");
	ASSERT_EQ(m->routes[1].parent.port, 80, "parent port");
	ASSERT_STR(m->routes[1].rules[0].backends[0].ref.name, "v1", "a Service of its namespace");
	ASSERT_STR(m->routes[1].rules[0].backends[1].ref.name, "", "another namespace: refused");
	ASSERT_STR(m->routes[1].rules[0].backends[2].ref.name, "", "another kind: refused");
	ASSERT_EQ(m->routes[1].rules[0].backends[2].weight, 1, "weight default 1");
	ASSERT_STR(m->routes[2].parent.ns, "shop", "c names the parent's namespace");
	/* no services in m: every route's parent is missing, but c is a consumer route first */
	weft_routes_check(m, on_reject, &rj);
	if (ASSERT_EQ(rj.n, 3, "rejected here"))
		ASSERT_STR(rj.reason[2], "consumer_route", "c: a consumer route");
	if (rj.n == 3)
		ASSERT_TRUE(strstr(rj.msg[2], "TCPRoute other/c: a consumer route") == rj.msg[2], rj.msg[2]);
out:
	json_object_put(t);
	json_object_put(s);
	weft_model_free(m);
}

/* A UDPRoute takes the parent's UDP port only, its TCP port of the same
 * number keeps the parent's own backends. */
TEST(unit, routes_udproute_takes_udp_ports_only)
{
	static const char yaml[] =
		"services:\n"
		"  - {name: dns, namespace: kube, vip: 10.96.0.10, ports: [{port: 53, protocol: tcp},\n"
		"     {name: u, port: 53, protocol: udp}], backends: [{ip: 10.1.0.9}]}\n"
		"  - {name: dns-v2, namespace: kube, vip: 10.96.0.11, ports: [{port: 53, protocol: udp}],\n"
		"     backends: [{ip: 10.2.0.1}]}\n";
	static const char udp[] =
		"{\"kube/r\":{\"metadata\":{\"name\":\"r\",\"namespace\":\"kube\"},\"spec\":{"
		"\"parentRefs\":[{\"group\":\"\",\"kind\":\"Service\",\"name\":\"dns\"}],"
		"\"rules\":[{\"backendRefs\":[{\"name\":\"dns-v2\",\"port\":53}]}]}}}";
	char err[512];
	struct weft_model *m = parse(yaml, err, sizeof(err));
	struct json_object *u = json_tokener_parse(udp);
	struct weft_state st = { 0 };
	struct weft_svc_key k = { .port = htons(53), .proto = IPPROTO_UDP };
	const struct weft_sp *sp;

	if (!ASSERT_NOT_NULL(m, err) || !ASSERT_NOT_NULL(u, "json") ||
	    !ASSERT_OK(weft_k8s_translate_routes(NULL, u, NULL, m), "translate") || !build(m, &st))
		goto out;
	k.addr[2] = htonl(0xffff);
	inet_pton(AF_INET, "10.96.0.10", &k.addr[3]);
	sp = weft_state_find(&st, &k);
	if (ASSERT_NOT_NULL(sp, "udp/53"))
		ASSERT_EQ(slots_to(sp, "10.2.0."), sp->nslots, "udp/53: the route's backend");
	sp = sp_of(&st, "10.96.0.10", 53);
	if (ASSERT_NOT_NULL(sp, "tcp/53"))
		ASSERT_EQ(slots_to(sp, "10.1.0.9"), sp->nslots, "tcp/53: the parent's own");
out:
	weft_state_free(&st);
	json_object_put(u);
	weft_model_free(m);
}
