// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fuzz targets k8s_service, k8s_slice, k8s_pod, k8s_namespace, k8s_netpol,
 * k8s_import (ServiceImports), k8s_node (Nodes, as the watch slims them,
 * with the Services whose node ports they carry), k8s_destrule
 * (DestinationRules):
 * Kubernetes objects as JSON into the model (source/k8s/translate.c), the
 * way weft_k8s_config translates the caches, then the model's rejections
 * (weft_k8s_reject_invalid). This file is built once per translator, with
 * FUZZ_KIND the kind under test: an input is one object of that kind, or
 * an array of objects where an element naming another kind in "kind" (an
 * EndpointSlice next to its Service, the Pods a NetworkPolicy selects) goes
 * to that kind's cache. Pod interfaces come from a fixed function, never
 * from the node's routes.
 */
#include <stdio.h>
#include <string.h>
#include <json-c/json.h>

#include "fuzz.h"
#include "lib/log.h"
#include "source/k8s/k8s.h"

enum { K_SVC, K_SLICE, K_POD, K_NS, K_NETPOL, K_IMPORT, K_NODE, K_DESTRULE, K_N };

static const char *const kinds[K_N] = { "Service", "EndpointSlice", "Pod", "Namespace",
					"NetworkPolicy", "ServiceImport", "Node", "DestinationRule" };

#ifndef FUZZ_KIND
#error "FUZZ_KIND: K_SVC, K_SLICE, K_POD, K_NS, K_NETPOL, K_IMPORT, K_NODE or K_DESTRULE (the Makefile sets it)"
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	weft_log_level = LOG_ERROR;
	return 0;
}

/* Every address has an interface: "eth" and its last byte. */
static int fake_ifname(const struct weft_ip *ip, char *name, size_t len)
{
	snprintf(name, len, "eth%u", ip->a.s6_addr[15]);
	return 0;
}

static void put(struct json_object **cache, struct json_object *o, int *n)
{
	struct json_object *kind;
	int k = FUZZ_KIND;
	char key[16];

	if (json_object_object_get_ex(o, "kind", &kind) && json_object_is_type(kind, json_type_string))
		for (int i = 0; i < K_N; i++)
			if (!strcmp(json_object_get_string(kind), kinds[i]))
				k = i;
	snprintf(key, sizeof(key), "%d", (*n)++);
	json_object_object_add(cache[k], key, json_object_get(o));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *doc, *cache[K_N], *last_good = json_object_new_object();
	struct json_object *noted = json_object_new_object();
	struct weft_model *cfg = weft_model_new("kubernetes");
	int n = 0, ret;

	for (int i = 0; i < K_N; i++)
		cache[i] = json_object_new_object();
	if (!tok || !cfg || !last_good || !noted)
		abort();
	doc = json_tokener_parse_ex(tok, (const char *)data, (int)size);
	if (json_object_is_type(doc, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(doc); i++)
			put(cache, json_object_array_get_idx(doc, i), &n);
	} else if (doc) {
		put(cache, doc, &n);
	}
	/* Nodes first, slimmed as the watch caches them (node-1: this node) */
	json_object_object_foreach(cache[K_NODE], key, node) {
		struct json_object *slim = weft_k8s_node_slim(node);

		FUZZ_ASSERT(slim != NULL, "only memory can fail a slim");
		json_object_object_add(cache[K_NODE], key, slim);
	}
	ret = weft_k8s_translate_nodes(cache[K_NODE], "node-1", cfg);
	if (!ret)
		ret = weft_k8s_translate(cache[K_SVC], cache[K_SLICE], cfg);
	if (!ret)
		ret = weft_k8s_translate_imports(cache[K_IMPORT], cache[K_SLICE], cfg);
	if (!ret)
		ret = weft_k8s_translate_destrules(cache[K_DESTRULE], noted, cfg);
	if (!ret)	/* again: what was noted is not logged twice */
		ret = weft_k8s_translate_destrules(cache[K_DESTRULE], noted, cfg);
	if (!ret)
		ret = weft_k8s_translate_pods(cache[K_POD], "node-1", fake_ifname, cfg);
	if (!ret)
		ret = weft_k8s_translate_namespaces(cache[K_NS], cfg);
	if (!ret)
		ret = weft_k8s_translate_netpols(cache[K_NETPOL], cache[K_POD], last_good, cfg);
	if (!ret)
		ret = weft_k8s_reject_invalid(cfg);
	FUZZ_ASSERT(ret == 0, "only memory can fail a translation");
	weft_model_free(cfg);
	json_object_put(doc);
	json_object_put(last_good);
	json_object_put(noted);
	for (int i = 0; i < K_N; i++)
		json_object_put(cache[i]);
	json_tokener_free(tok);
	return 0;
}
