// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Unit tests of observability: the histogram bucket math the BPF programs
 * use (bpf/lib/hist.h, the same function compiled for the host), and the
 * weft_ep entries built from a config. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "model/model.h"
#include "source/file.h"
#include "harness.h"
#include "reconcile/endpoints.h"
#include "reconcile/policy.h"
#include "../../bpf/lib/hist.h"

TEST(unit, obs_hist_bucket_boundaries)
{
	static const struct {
		uint64_t v;
		uint32_t b;
	} cases[] = {
		{ 0, 0 }, { 1, 1 }, { 2, 2 }, { 3, 3 }, { 4, 4 }, { 5, 4 }, { 6, 5 }, { 7, 5 },
		{ 8, 6 }, { 11, 6 }, { 12, 7 }, { 15, 7 }, { 16, 8 }, { 1000, 19 }, { 1023, 19 },
		{ 1024, 20 }, { 1u << 27, 54 }, { 3u << 26, 55 }, { (1u << 28) - 1, 55 },
		{ 1u << 28, 55 }, { UINT64_MAX, 55 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (!ASSERT_EQ(weft_hist_bucket(cases[i].v), cases[i].b, "bucket of a boundary"))
			return;
	/* Every power of two below the last bucket: 2^k opens bucket 2k, 1.5 * 2^k
	 * opens 2k + 1, and the values just below them close the previous one. */
	for (uint32_t k = 1; k < 28; k++) {
		uint64_t p = 1ull << k, h = p + p / 2;

		if (!ASSERT_EQ(weft_hist_bucket(p), 2 * k, "2^k") ||
		    !ASSERT_EQ(weft_hist_bucket(p - 1), 2 * k - 1, "2^k - 1") ||
		    !ASSERT_EQ(weft_hist_bucket(h - 1), 2 * k, "1.5 * 2^k - 1") ||
		    !ASSERT_EQ(weft_hist_bucket(h), 2 * k + 1, "1.5 * 2^k"))
			return;
	}
}

/* weft_ep entries from a config: the workload name's fallbacks, the
 * redirect flag, identities and policed flags from the compiled policy. */
TEST(unit, obs_endpoints_built_from_config)
{
	static const char yaml[] =
		"endpoints:\n"
		"  - {name: api-7f9c, namespace: shop, ip: 10.0.0.3, workload: shop-api,\n"
		"     labels: {app: ignored}}\n"
		"  - {name: web-1, namespace: shop, ip: 10.0.0.2,\n"
		"     labels: {app: web, app.kubernetes.io/name: storefront}}\n"
		"  - {name: db-0, namespace: shop, ip: 10.0.0.1, labels: {app: db}, redirect: false}\n"
		"  - {name: lone, ip: 'fd00::1'}\n"
		"policies:\n"
		"  - {name: db-in, namespace: shop, selector: {app: db}, ingress: []}\n";
	char err[512] = "";
	struct weft_model *cfg = weft_file_parse(yaml, strlen(yaml), "t.yaml", err, sizeof(err));
	struct weft_pol_state empty = { 0 }, pol;
	struct weft_ep_ent *e = NULL;
	size_t n = 0;

	if (!ASSERT_NOT_NULL(cfg, err))
		return;
	cfg->datapath.max_policy = 64;
	cfg->datapath.max_idents = 64;
	if (!ASSERT_OK(weft_pol_build(cfg, &empty, &pol, err, sizeof(err)), err))
		goto out_cfg;
	if (!ASSERT_OK(weft_ep_build(cfg, &pol, &e, &n), "build") || !ASSERT_EQ(n, 4, "one per endpoint"))
		goto out;
	/* Sorted by address: 10.0.0.1, .2, .3 (v4-mapped), then fd00::1. */
	ASSERT_STR(e[0].v.name, "db-0", "sorted by address");
	ASSERT_STR(e[0].v.workload, "db", "label app");
	ASSERT_EQ(e[0].v.flags, WEFT_EP_REDIRECT_OFF | WEFT_EP_INGRESS_POLICED,
		  "redirect off, selected for ingress");
	ASSERT_GE(e[0].v.identity, WEFT_ID_EP_MIN, "an endpoint identity");
	ASSERT_STR(e[1].v.workload, "storefront", "app.kubernetes.io/name before app");
	ASSERT_EQ(e[1].v.flags, 0, "not selected");
	ASSERT_STR(e[2].v.workload, "shop-api", "workload: wins");
	ASSERT_STR(e[2].v.ns, "shop", "namespace");
	ASSERT_STR(e[3].v.workload, "lone", "the name when nothing else");
	ASSERT_STR(e[3].v.ns, "default", "default namespace");
	ASSERT_EQ(e[3].k.addr[0], htonl(0xfd000000), "IPv6 address as is");
out:
	free(e);
	weft_pol_free(&pol);
out_cfg:
	weft_model_free(cfg);
}

/* The file's service_account and node_name keys of an endpoint: the
 * account (Kubernetes' "default" when not said) goes to weft_ep_v2; an
 * endpoint of another node is remote there (no interface, not policed),
 * one of this node or of no node_name is local; bad values are refused
 * at their place. */
TEST(unit, obs_endpoints_service_account_and_node_from_file)
{
	static const char yaml[] =
		"datapath: {node_name: node-a}\n"
		"endpoints:\n"
		"  - {name: web-1, namespace: shop, ip: 10.0.0.2, service_account: web-sa,\n"
		"     interface: lo, labels: {app: web}, node_name: node-a}\n"
		"  - {name: cli-1, namespace: shop, ip: 10.0.0.3, service_account: cli-sa,\n"
		"     interface: lo, labels: {app: web}, node_name: node-b}\n"
		"  - {name: lone, ip: 10.0.0.4}\n"
		"policies:\n"
		"  - {name: web-in, namespace: shop, selector: {app: web}, ingress: []}\n";
	static const struct {
		const char *yaml, *want;
	} bad[] = {
		{ "endpoints:\n  - {name: a, ip: 10.0.0.1, service_account: Web_SA}\n",
		  "t.yaml:2:46: endpoints[0].service_account: \"Web_SA\" is not a valid name" },
		{ "endpoints:\n  - {name: a, ip: 10.0.0.1, node_name: [x]}\n", "t.yaml:2:40: endpoints[0].node_name: " },
		{ "metrics: {trust_domain: 'Not A Domain'}\n", "t.yaml:1:25: metrics.trust_domain: " },
	};
	char err[512] = "";
	struct weft_model *cfg = weft_file_parse(yaml, strlen(yaml), "t.yaml", err, sizeof(err));
	struct weft_pol_state empty = { 0 }, pol;
	struct weft_ep_ent *e = NULL;
	size_t n = 0;

	if (!ASSERT_NOT_NULL(cfg, err))
		return;
	ASSERT_STR(cfg->metrics.trust_domain, "cluster.local", "trust domain default");
	ASSERT_FALSE(cfg->endpoints[0].remote, "node_name of this node: local");
	ASSERT_TRUE(cfg->endpoints[1].remote, "node_name of another node: remote");
	ASSERT_FALSE(cfg->endpoints[2].remote, "no node_name: local");
	cfg->datapath.max_policy = 64;
	cfg->datapath.max_idents = 64;
	if (!ASSERT_OK(weft_pol_build(cfg, &empty, &pol, err, sizeof(err)), err))
		goto out_cfg;
	if (!ASSERT_OK(weft_ep_build(cfg, &pol, &e, &n), "build") || !ASSERT_EQ(n, 3, "one per endpoint"))
		goto out;
	ASSERT_STR(e[0].v.service_account, "web-sa", "service_account: kept");
	ASSERT_EQ(e[0].v.flags, WEFT_EP_INGRESS_POLICED, "local: policed here");
	ASSERT_TRUE(e[0].v.ifindex != 0, "local: its interface");
	ASSERT_STR(e[1].v.service_account, "cli-sa", "the remote one's too");
	ASSERT_EQ(e[1].v.flags, WEFT_EP_REMOTE, "another node's: remote, not policed here");
	ASSERT_EQ(e[1].v.ifindex, 0, "remote: no interface");
	ASSERT_GE(e[1].v.identity, WEFT_ID_EP_MIN, "remote: an identity all the same");
	ASSERT_STR(e[2].v.service_account, "default", "not said: default, as Kubernetes");
	ASSERT_STR(e[0].v.canonical_service, "web", "canonical service: label app");
	ASSERT_STR(e[0].v.canonical_revision, "latest", "canonical revision: no version label");
	ASSERT_STR(e[2].v.canonical_service, "lone", "no labels: the workload (its name)");
	ASSERT_STR(e[2].v.canonical_revision, "latest", "no labels: latest");
out:
	free(e);
	weft_pol_free(&pol);
out_cfg:
	weft_model_free(cfg);
	cfg = weft_file_parse("metrics: {trust_domain: example.org}\n", 36, "t.yaml", err, sizeof(err));
	if (ASSERT_NOT_NULL(cfg, err))
		ASSERT_STR(cfg->metrics.trust_domain, "example.org", "trust_domain set");
	weft_model_free(cfg);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		cfg = weft_file_parse(bad[i].yaml, strlen(bad[i].yaml), "t.yaml", err, sizeof(err));
		ASSERT_TRUE(!cfg && !strncmp(err, bad[i].want, strlen(bad[i].want)), err);
		weft_model_free(cfg);
	}
}

/* Istio's canonical service and revision: service.istio.io/canonical-*,
 * then app.kubernetes.io/name and version, then app and version, else the
 * workload and "latest"; each chosen on its own. */
TEST(unit, endpoint_canonical_service_and_revision)
{
	static const char yaml[] =
		"endpoints:\n"
		"  - {name: p1, ip: 10.0.0.1, labels: {service.istio.io/canonical-name: shop,\n"
		"     service.istio.io/canonical-revision: v7, app.kubernetes.io/name: x,\n"
		"     app.kubernetes.io/version: '9', app: y, version: v1}}\n"
		"  - {name: p2, ip: 10.0.0.2, labels: {app.kubernetes.io/name: cart,\n"
		"     app.kubernetes.io/version: '2.1', app: y, version: v1}}\n"
		"  - {name: p3, ip: 10.0.0.3, labels: {app: web, version: canary}}\n"
		"  - {name: p4, ip: 10.0.0.4, workload: rollout-a, labels: {version: v2}}\n"
		"  - {name: p5, ip: 10.0.0.5, labels: {service.istio.io/canonical-revision: r3}}\n";
	static const char *const want[][2] = {
		{ "shop", "v7" }, { "cart", "2.1" }, { "web", "canary" }, { "rollout-a", "v2" },
		{ "p5", "r3" },
	};
	char err[512] = "";
	struct weft_model *cfg = weft_file_parse(yaml, strlen(yaml), "t.yaml", err, sizeof(err));
	struct weft_ep_ent *e = NULL;
	size_t n = 0;

	if (!ASSERT_NOT_NULL(cfg, err))
		return;
	if (ASSERT_OK(weft_ep_build(cfg, NULL, &e, &n), "build") && ASSERT_EQ(n, 5, "five")) {
		for (size_t i = 0; i < n; i++) {
			ASSERT_STR(e[i].v.canonical_service, want[i][0], e[i].v.name);
			ASSERT_STR(e[i].v.canonical_revision, want[i][1], e[i].v.name);
		}
	}
	free(e);
	weft_model_free(cfg);
}
