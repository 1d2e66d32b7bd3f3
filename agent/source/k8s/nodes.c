// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * k8s/nodes: Node objects (v1, cluster-scoped) into cfg->nodes: each
 * Node's name, its InternalIP addresses (the node-port frontends of every
 * NodePort and LoadBalancer Service) and its topology.kubernetes.io/zone
 * label; this node's zone into cfg->datapath.zone (topology hints). The
 * watch keeps only those fields (weft_k8s_node_slim): every Node of the
 * cluster is cached, and the rest of a Node (images, conditions, capacity)
 * is most of its bytes and changes every heartbeat; an event whose slim
 * object equals the cached one is no change (no translation, no reconcile).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "source/k8s/k8s.h"
#include "lib/log.h"

static struct json_object *jget(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (!o || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return NULL;
	return v;
}

static const char *jstring(struct json_object *v)
{
	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* out[key] = a reference to v. 0 or -ENOMEM. */
static int put(struct json_object *out, const char *key, struct json_object *v)
{
	return json_object_object_add(out, key, v) ? json_object_put(v), -ENOMEM : 0;
}

struct json_object *weft_k8s_node_slim(struct json_object *node)
{
	struct json_object *md = jget(node, "metadata"), *addrs = jget(jget(node, "status"), "addresses");
	struct json_object *out = json_object_new_object(), *omd = json_object_new_object();
	struct json_object *olabels = json_object_new_object(), *ostatus = json_object_new_object();
	struct json_object *oaddrs = json_object_new_array(), *zone;
	int r = 0;

	if (!out || !omd || !olabels || !ostatus || !oaddrs)
		goto fail;
	/* no resourceVersion: an update that changes none of this (the
	 * kubelet's status heartbeats) leaves the cached object equal */
	if (jget(md, "name"))
		r = put(omd, "name", json_object_get(jget(md, "name")));
	zone = jget(jget(md, "labels"), WEFT_K8S_ZONE_LABEL);
	if (!r && zone)
		r = put(olabels, WEFT_K8S_ZONE_LABEL, json_object_get(zone));
	for (size_t i = 0; !r && addrs && json_object_is_type(addrs, json_type_array) &&
			   i < json_object_array_length(addrs);
	     i++) {
		struct json_object *a = json_object_array_get_idx(addrs, i);
		const char *type = jstring(jget(a, "type"));

		if (type && !strcmp(type, "InternalIP") &&
		    json_object_array_add(oaddrs, json_object_get(a)))
			r = -ENOMEM;
	}
	if (r)
		goto fail;
	r = put(omd, "labels", olabels);
	olabels = NULL;
	if (!r)
		r = put(ostatus, "addresses", oaddrs);
	oaddrs = NULL;
	if (!r)
		r = put(out, "metadata", omd);
	omd = NULL;
	if (!r)
		r = put(out, "status", ostatus);
	ostatus = NULL;
	if (r)
		goto fail;
	return out;
fail:
	json_object_put(oaddrs);
	json_object_put(ostatus);
	json_object_put(olabels);
	json_object_put(omd);
	json_object_put(out);
	errno = ENOMEM;
	return NULL;
}

static int node_cmp(const void *a, const void *b)
{
	return strcmp(((const struct weft_node *)a)->name, ((const struct weft_node *)b)->name);
}

static void bad_node(const char *name, const char *what, size_t i, const char *why)
{
	weft_log(LOG_ERROR, "k8s: Node %s: %s[%zu]: %s; skipped", name ? name : "?", what, i, why);
}

/* One Node into n (its name checked by the caller). 0, -1 (logged), -ENOMEM. */
static int node_parse(struct json_object *o, const char *name, struct weft_node *n)
{
	struct json_object *addrs = jget(jget(o, "status"), "addresses");
	struct json_object *labels = jget(jget(o, "metadata"), "labels");
	struct json_object *zone = jget(labels, WEFT_K8S_ZONE_LABEL);
	size_t len;

	memset(n, 0, sizeof(*n));
	snprintf(n->name, sizeof(n->name), "%s", name);
	n->origin.kind = "Node";
	if (zone && (!jstring(zone) || strlen(jstring(zone)) >= sizeof(n->zone))) {
		weft_log(LOG_ERROR, "k8s: Node %s: metadata.labels.%s: not a string of at most %zu characters; skipped",
			 name, WEFT_K8S_ZONE_LABEL, sizeof(n->zone) - 1);
		return -1;
	}
	snprintf(n->zone, sizeof(n->zone), "%s", zone ? jstring(zone) : "");
	if (addrs && !json_object_is_type(addrs, json_type_array)) {
		weft_log(LOG_ERROR, "k8s: Node %s: status.addresses: not a list; skipped", name);
		return -1;
	}
	len = addrs ? json_object_array_length(addrs) : 0;
	n->ips = calloc(len + 1, sizeof(*n->ips));
	if (!n->ips)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++) {
		struct json_object *a = json_object_array_get_idx(addrs, i);
		const char *type = jstring(jget(a, "type")), *addr = jstring(jget(a, "address"));
		struct weft_ip ip;

		if (!type || strcmp(type, "InternalIP"))
			continue;
		if (!addr || !weft_ip_parse(addr, &ip)) {
			bad_node(name, "status.addresses", i, "InternalIP address is not an IPv4 or IPv6 address");
			weft_node_clear(n);
			return -1;
		}
		n->ips[n->nips++] = ip;
	}
	return 0;
}

int weft_k8s_translate_nodes(struct json_object *nodes, const char *self, struct weft_model *cfg)
{
	size_t cap = cfg->nnodes;

	if (!nodes)
		return 0;
	json_object_object_foreach(nodes, key, o) {
		const char *name = jstring(jget(jget(o, "metadata"), "name"));
		struct weft_node *n;
		int r;

		(void)key;
		if (!name || !*name || strlen(name) >= WEFT_NODE_NAME_LEN) {
			weft_log(LOG_ERROR, "k8s: Node %s: metadata.name: missing, not a string or too long; skipped",
				 name ? name : "?");
			continue;
		}
		if (cfg->nnodes == cap) {
			void *p = realloc(cfg->nodes, (cap = cap * 2 + 8) * sizeof(*n));

			if (!p)
				return -ENOMEM;
			cfg->nodes = p;
		}
		n = &cfg->nodes[cfg->nnodes];
		r = node_parse(o, name, n);
		if (r == -ENOMEM)
			return r;
		if (r)
			continue;
		/* this node's zone: its clients' topology */
		if (self && !strcmp(name, self))
			snprintf(cfg->datapath.zone, sizeof(cfg->datapath.zone), "%s", n->zone);
		cfg->nnodes++;
	}
	if (cfg->nnodes > 1)
		qsort(cfg->nodes, cfg->nnodes, sizeof(*cfg->nodes), node_cmp);
	return 0;
}
