// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * k8s_translate: Services and EndpointSlices (as the API returns them) into
 * the services of a weft_config; Pods, Namespaces and NetworkPolicies into
 * its endpoints, namespaces and policies (below). Pure: no I/O but the log
 * line naming a malformed object (and the interface lookup k8s.c
 * passes in for pods).
 *
 * One weft service per Service port and IP family. Its backends are the
 * endpoints of the EndpointSlices labelled kubernetes.io/service-name with
 * that Service's name, of the same address family, whose port of the same
 * name and protocol gives each backend its own port (a named targetPort can
 * resolve differently per endpoint). Every endpoint comes with its
 * conditions and node; which ones new connections reach (ready ones, else
 * serving terminating ones; spec.publishNotReadyAddresses: all;
 * spec.internalTrafficPolicy Local: this node's) the model decides
 * (weft_service_in_use), for both sources alike. A ServiceImport (MCS
 * API) is translated the same way over the slices labelled
 * multicluster.kubernetes.io/service-name, each backend with its slice's
 * source cluster.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <json-c/json.h>

#include "source/k8s/k8s.h"
#include "lib/log.h"

#define SVC_LABEL "kubernetes.io/service-name"
/* MCS (KEP-1645): a ServiceImport's slices, and the cluster each came from. */
#define MCS_SVC_LABEL "multicluster.kubernetes.io/service-name"
#define MCS_CLUSTER_LABEL "multicluster.kubernetes.io/source-cluster"

struct kport {
	char name[WEFT_NAME_LEN];
	uint16_t port;
	uint8_t proto;
	uint16_t target;		/* numeric targetPort, or 0 if named */
	uint16_t node_port;		/* nodePort (NodePort, LoadBalancer); 0 = none */
};

struct ksvc {
	const char *name, *ns;
	struct weft_ip ip[2];
	int family[2];
	size_t nip;
	struct kport *ports;
	size_t nports;
	uint8_t lb;
	uint32_t affinity;
	uint32_t abort_ppm;		/* WEFT_K8S_ANN_FAULT_ABORT, TCP ports only */
	bool node_local, publish_not_ready;
	uint8_t type, traffic;		/* WEFT_SVC_*, WEFT_TD_* */
	bool external_local;		/* externalTrafficPolicy Local */
	struct weft_ip *ext, *lbip;	/* spec.externalIPs, status.loadBalancer.ingress[].ip */
	size_t next, nlbip;
	bool import;			/* a ServiceImport: its slices carry MCS_SVC_LABEL */
	struct json_object *weights;	/* owned; NULL = all 1 */
};

/* A slice that passed the checks. */
struct kslice {
	struct json_object *obj;
	const char *ns, *service;
	const char *import, *cluster;	/* MCS_SVC_LABEL, MCS_CLUSTER_LABEL; NULL: none */
	int family;
};

static struct json_object *jget(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (!o || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return NULL;
	return v;
}

/* A string member, NULL if absent; *bad set if present but not a string. */
static const char *jstr(struct json_object *o, const char *key, bool *bad)
{
	struct json_object *v = jget(o, key);

	if (!v)
		return NULL;
	if (!json_object_is_type(v, json_type_string)) {
		*bad = true;
		return NULL;
	}
	return json_object_get_string(v);
}

static void bad_obj(const char *kind, const char *ns, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void bad_obj(const char *kind, const char *ns, const char *name, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	weft_log(LOG_ERROR, "k8s: %s %s/%s: %s; skipped", kind, ns ? ns : "?", name ? name : "?", msg);
}

/* Name and namespace of an object; false if missing or too long. */
static bool meta_names(struct json_object *o, const char *kind, const char **ns, const char **name)
{
	struct json_object *md = jget(o, "metadata");
	bool bad = false;

	*name = jstr(md, "name", &bad);
	*ns = jstr(md, "namespace", &bad);
	if (bad || !*name || !*ns || !**name) {
		bad_obj(kind, *ns, *name, "metadata.name and metadata.namespace must be strings");
		return false;
	}
	if (strlen(*name) >= WEFT_NAME_LEN || strlen(*ns) >= WEFT_NAME_LEN) {
		bad_obj(kind, *ns, *name, "name or namespace longer than %d characters",
			WEFT_NAME_LEN - 1);
		return false;
	}
	return true;
}

static bool jint(struct json_object *v, long lo, long hi, long *out)
{
	if (!v || !json_object_is_type(v, json_type_int))
		return false;
	*out = (long)json_object_get_int64(v);
	return *out >= lo && *out <= hi;
}

/* A percentage "0".."100" with up to four decimals, as the file's
 * fault.abort_percent, into parts per million. 0 or -EINVAL. */
static int k8s_percent_ppm(const char *t, uint32_t *ppm)
{
	unsigned long whole = 0, frac = 0, scale = 1000;	/* ppm of the first decimal */
	const char *p = t;

	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++)
		if ((whole = whole * 10 + (unsigned long)(*p - '0')) > 100)
			return -EINVAL;
	if (*p == '.') {
		if (!isdigit((unsigned char)*++p))
			return -EINVAL;
		for (; isdigit((unsigned char)*p); p++, scale /= 10) {
			if (!scale)
				return -EINVAL;	/* a fifth decimal */
			frac += (unsigned long)(*p - '0') * scale;
		}
	}
	if (*p || whole * 10000 + frac > WEFT_ABORT_PPM_MAX)
		return -EINVAL;
	*ppm = (uint32_t)(whole * 10000 + frac);
	return 0;
}

/* protocol: 1 TCP/UDP (proto set), 0 SCTP (skipped), -1 unknown. */
static int proto_of(const char *p, uint8_t *proto)
{
	if (!p || !strcmp(p, "TCP"))
		*proto = IPPROTO_TCP;
	else if (!strcmp(p, "UDP"))
		*proto = IPPROTO_UDP;
	else if (!strcmp(p, "SCTP"))
		return 0;
	else
		return -1;
	return 1;
}

static void ksvc_free(struct ksvc *s)
{
	free(s->ports);
	free(s->ext);
	free(s->lbip);
	json_object_put(s->weights);
}

/* A list of address strings (o[key] at where) into *out, *n. 0, -1
 * (logged), -ENOMEM. ingress: status.loadBalancer.ingress, objects whose
 * ip is taken (hostname-only ones and ipMode Proxy ones skipped). */
static int ip_list(const struct ksvc *s, struct json_object *list, const char *where,
		   bool ingress, struct weft_ip **out, size_t *n)
{
	size_t len;

	if (!list)
		return 0;
	if (!json_object_is_type(list, json_type_array)) {
		bad_obj("Service", s->ns, s->name, "%s: not a list", where);
		return -1;
	}
	len = json_object_array_length(list);
	*out = calloc(len + 1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++) {
		struct json_object *v = json_object_array_get_idx(list, i);
		const char *t = NULL, *mode = NULL;
		bool bad = false;

		if (ingress) {
			if (!json_object_is_type(v, json_type_object)) {
				bad_obj("Service", s->ns, s->name, "%s[%zu]: not an object", where, i);
				return -1;
			}
			t = jstr(v, "ip", &bad);
			mode = jstr(v, "ipMode", &bad);
			if (bad) {
				bad_obj("Service", s->ns, s->name, "%s[%zu]: ip and ipMode must be strings",
					where, i);
				return -1;
			}
			/* KEP-1860: Proxy means the load balancer must see the
			 * traffic (it terminates TLS, PROXY protocol...):
			 * kube-proxy leaves such an address alone */
			if (!t || (mode && !strcmp(mode, "Proxy")))
				continue;
		} else if (!(t = json_object_is_type(v, json_type_string) ? json_object_get_string(v) :
									       NULL)) {
			bad_obj("Service", s->ns, s->name, "%s[%zu]: not a string", where, i);
			return -1;
		}
		if (!weft_ip_parse(t, &(*out)[*n])) {
			bad_obj("Service", s->ns, s->name, "%s[%zu]%s: '%s' is not an IPv4 or IPv6 address",
				where, i, ingress ? ".ip" : "", t);
			return -1;
		}
		(*n)++;
	}
	return 0;
}

/* What reaches a Service from outside its cluster IP: externalIPs, the
 * load balancer's addresses, externalTrafficPolicy, and its topology
 * (trafficDistribution). 0, -1 (logged), -ENOMEM. */
static int svc_external(struct json_object *o, struct json_object *spec, struct ksvc *s)
{
	const char *etp, *td, *mode;
	bool bad = false;
	int r;

	etp = jstr(spec, "externalTrafficPolicy", &bad);
	if (bad || (etp && strcmp(etp, "Cluster") && strcmp(etp, "Local"))) {
		bad_obj("Service", s->ns, s->name, "spec.externalTrafficPolicy: '%s' (Cluster or Local)",
			bad ? "not a string" : etp);
		return -1;
	}
	s->external_local = etp && !strcmp(etp, "Local");
	td = jstr(spec, "trafficDistribution", &bad);
	mode = jstr(jget(jget(o, "metadata"), "annotations"), "service.kubernetes.io/topology-mode",
		    &bad);
	if (bad) {
		bad_obj("Service", s->ns, s->name, "spec.trafficDistribution: not a string");
		return -1;
	}
	if (td && (!strcmp(td, "PreferClose") || !strcmp(td, "PreferSameZone")))
		s->traffic = WEFT_TD_PREFER_ZONE;
	else if (td && !strcmp(td, "PreferSameNode"))
		s->traffic = WEFT_TD_PREFER_NODE;
	else if (td)	/* the API server rejects others; a newer one may add some */
		bad_obj("Service", s->ns, s->name, "spec.trafficDistribution: '%s' unknown (PreferClose, PreferSameZone or PreferSameNode): ignored, no topology", td);
	/* the older way to ask for zone hints (KEP-2433), same hints */
	if (!s->traffic && mode && (!strcmp(mode, "Auto") || !strcmp(mode, "auto")))
		s->traffic = WEFT_TD_PREFER_ZONE;
	r = ip_list(s, jget(spec, "externalIPs"), "spec.externalIPs", false, &s->ext, &s->next);
	if (!r && s->type == WEFT_SVC_LOAD_BALANCER)
		r = ip_list(s, jget(jget(jget(o, "status"), "loadBalancer"), "ingress"),
			    "status.loadBalancer.ingress", true, &s->lbip, &s->nlbip);
	return r;
}

/* 1: a ClusterIP service to translate; 0: one weft ignores (headless,
 * ExternalName, no IP); -1: malformed (logged); -ENOMEM. */
static int svc_parse(struct json_object *o, struct ksvc *s)
{
	struct json_object *spec, *ips, *ports, *ann, *pnr;
	const char *type, *cip, *aff, *lb, *w, *itp, *fa;
	bool bad = false;
	size_t n;
	int er;

	memset(s, 0, sizeof(*s));
	if (!meta_names(o, "Service", &s->ns, &s->name))
		return -1;
#define BAD(...) do { bad_obj("Service", s->ns, s->name, __VA_ARGS__); goto fail; } while (0)
	spec = jget(o, "spec");
	if (!spec || !json_object_is_type(spec, json_type_object))
		BAD("spec: missing");
	type = jstr(spec, "type", &bad);
	cip = jstr(spec, "clusterIP", &bad);
	if (bad)
		BAD("spec.type and spec.clusterIP must be strings");
	if (type && !strcmp(type, "ExternalName"))
		return 0;
	if (!cip || !*cip || !strcmp(cip, "None"))
		return 0;
	if (!type || !strcmp(type, "ClusterIP"))
		s->type = WEFT_SVC_CLUSTER_IP;
	else if (!strcmp(type, "NodePort"))
		s->type = WEFT_SVC_NODE_PORT;
	else if (!strcmp(type, "LoadBalancer"))
		s->type = WEFT_SVC_LOAD_BALANCER;
	else
		BAD("spec.type: '%s' (ClusterIP, NodePort, LoadBalancer or ExternalName)", type);
	ips = jget(spec, "clusterIPs");
	if (ips && !json_object_is_type(ips, json_type_array))
		BAD("spec.clusterIPs: not a list");
	n = ips ? json_object_array_length(ips) : 1;
	if (n < 1 || n > 2)
		BAD("spec.clusterIPs: %zu addresses (1 or 2)", n);
	for (size_t i = 0; i < n; i++) {
		struct json_object *v = ips ? json_object_array_get_idx(ips, i) : NULL;
		const char *t = v ? json_object_get_string(v) : cip;

		if (v && !json_object_is_type(v, json_type_string))
			BAD("spec.clusterIPs[%zu]: not a string", i);
		s->family[i] = weft_ip_parse(t, &s->ip[i]);
		if (!s->family[i])
			BAD("spec.clusterIPs[%zu]: '%s' is not an IPv4 or IPv6 address", i, t);
		if (i && s->family[i] == s->family[0])
			BAD("spec.clusterIPs: two addresses of one family");
	}
	s->nip = n;

	ports = jget(spec, "ports");
	if (!ports || !json_object_is_type(ports, json_type_array))
		BAD("spec.ports: missing or not a list");
	n = json_object_array_length(ports);
	s->ports = calloc(n ? n : 1, sizeof(*s->ports));
	if (!s->ports)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct json_object *p = json_object_array_get_idx(ports, i), *tp;
		struct kport *kp = &s->ports[s->nports];
		const char *name, *proto;
		long v;
		int r;

		name = jstr(p, "name", &bad);
		proto = jstr(p, "protocol", &bad);
		if (bad || !jint(jget(p, "port"), 1, 65535, &v))
			BAD("spec.ports[%zu]: port must be 1..65535, name and protocol strings", i);
		kp->port = v;
		r = proto_of(proto, &kp->proto);
		if (r < 0)
			BAD("spec.ports[%zu].protocol: '%s' (TCP, UDP or SCTP)", i, proto);
		if (name && strlen(name) >= sizeof(kp->name))
			BAD("spec.ports[%zu].name: too long", i);
		snprintf(kp->name, sizeof(kp->name), "%s", name ? name : "");
		tp = jget(p, "targetPort");
		if (!tp)
			kp->target = kp->port;
		else if (json_object_is_type(tp, json_type_string))
			kp->target = 0;
		else if (jint(tp, 1, 65535, &v))
			kp->target = v;
		else
			BAD("spec.ports[%zu].targetPort: not a port number or name", i);
		if (jget(p, "nodePort") && !jint(jget(p, "nodePort"), 1, 65535, &v))
			BAD("spec.ports[%zu].nodePort: not 1..65535", i);
		/* a node port exists for NodePort and LoadBalancer Services only */
		kp->node_port = s->type != WEFT_SVC_CLUSTER_IP && jget(p, "nodePort") ? v : 0;
		if (r == 0)
			continue; /* SCTP: weft has no SCTP datapath */
		s->nports++;
	}

	aff = jstr(spec, "sessionAffinity", &bad);
	if (bad)
		BAD("spec.sessionAffinity: not a string");
	if (aff && !strcmp(aff, "ClientIP")) {
		struct json_object *t = jget(jget(jget(spec, "sessionAffinityConfig"), "clientIP"),
					     "timeoutSeconds");
		long v = WEFT_K8S_DEF_AFFINITY;

		if (t && !jint(t, 1, 86400, &v))
			BAD("spec.sessionAffinityConfig.clientIP.timeoutSeconds: not 1..86400");
		s->affinity = v;
	} else if (aff && strcmp(aff, "None")) {
		BAD("spec.sessionAffinity: '%s' (None or ClientIP)", aff);
	}

	itp = jstr(spec, "internalTrafficPolicy", &bad);
	if (bad || (itp && strcmp(itp, "Cluster") && strcmp(itp, "Local")))
		BAD("spec.internalTrafficPolicy: '%s' (Cluster or Local)", itp ? itp : "not a string");
	s->node_local = itp && !strcmp(itp, "Local");
	pnr = jget(spec, "publishNotReadyAddresses");
	if (pnr && !json_object_is_type(pnr, json_type_boolean))
		BAD("spec.publishNotReadyAddresses: not a boolean");
	s->publish_not_ready = pnr && json_object_get_boolean(pnr);
	er = svc_external(o, spec, s);
	if (er == -ENOMEM) {
		ksvc_free(s);
		return er;
	}
	if (er)
		goto fail;

	ann = jget(jget(o, "metadata"), "annotations");
	lb = jstr(ann, WEFT_K8S_ANN_LB, &bad);
	w = jstr(ann, WEFT_K8S_ANN_WEIGHTS, &bad);
	fa = jstr(ann, WEFT_K8S_ANN_FAULT_ABORT, &bad);
	if (bad)
		BAD("metadata.annotations: values must be strings");
	s->lb = WEFT_LB_RANDOM;
	if (lb && !strcmp(lb, "round_robin"))
		s->lb = WEFT_LB_ROUND_ROBIN;
	else if (lb && !strcmp(lb, "maglev"))
		s->lb = WEFT_LB_MAGLEV;
	else if (lb && strcmp(lb, "random"))
		BAD("annotation " WEFT_K8S_ANN_LB ": '%s' (random, round_robin or maglev)", lb);
	if (fa && k8s_percent_ppm(fa, &s->abort_ppm))
		BAD("annotation " WEFT_K8S_ANN_FAULT_ABORT ": '%s' (a percentage 0..100, up to four decimals)", fa);
	if (w) {
		struct weft_ip ip;

		s->weights = json_tokener_parse(w);
		if (!s->weights || !json_object_is_type(s->weights, json_type_object))
			BAD("annotation " WEFT_K8S_ANN_WEIGHTS ": not a JSON object");
		json_object_object_foreach(s->weights, k, v) {
			long x;

			if (!weft_ip_parse(k, &ip) || !jint(v, 1, 65535, &x))
				BAD("annotation " WEFT_K8S_ANN_WEIGHTS ": '%s': want an IP address and a weight 1..65535", k);
		}
	}
	return 1;
#undef BAD
fail:
	ksvc_free(s);
	return -1;
}

/* Check a slice enough that building from it cannot fail half-way. */
static bool slice_ok(struct json_object *o, struct kslice *ks)
{
	struct json_object *eps, *ports;
	const char *ns, *name, *at;
	bool bad = false;

	if (!meta_names(o, "EndpointSlice", &ns, &name))
		return false;
#define BAD(...) do { bad_obj("EndpointSlice", ns, name, __VA_ARGS__); return false; } while (0)
	ks->obj = o;
	ks->ns = ns;
	ks->service = jstr(jget(jget(o, "metadata"), "labels"), SVC_LABEL, &bad);
	ks->import = jstr(jget(jget(o, "metadata"), "labels"), MCS_SVC_LABEL, &bad);
	ks->cluster = jstr(jget(jget(o, "metadata"), "labels"), MCS_CLUSTER_LABEL, &bad);
	at = jstr(o, "addressType", &bad);
	if (bad)
		BAD("addressType and labels must be strings");
	if (!ks->service && !ks->import)
		return false; /* neither a Service's slice nor a ServiceImport's */
	if (at && !strcmp(at, "IPv4"))
		ks->family = AF_INET;
	else if (at && !strcmp(at, "IPv6"))
		ks->family = AF_INET6;
	else if (at && !strcmp(at, "FQDN"))
		return false;
	else
		BAD("addressType: '%s' (IPv4, IPv6 or FQDN)", at ? at : "");
	ports = jget(o, "ports");
	if (ports && !json_object_is_type(ports, json_type_array))
		BAD("ports: not a list");
	for (size_t i = 0; ports && i < json_object_array_length(ports); i++) {
		struct json_object *p = json_object_array_get_idx(ports, i);
		uint8_t proto;
		long v;

		jstr(p, "name", &bad);
		if (bad || proto_of(jstr(p, "protocol", &bad), &proto) < 0 || bad ||
		    (jget(p, "port") && !jint(jget(p, "port"), 1, 65535, &v)))
			BAD("ports[%zu]: port must be 1..65535, name and protocol strings", i);
	}
	eps = jget(o, "endpoints");
	if (eps && !json_object_is_type(eps, json_type_array))
		BAD("endpoints: not a list");
	for (size_t i = 0; eps && i < json_object_array_length(eps); i++) {
		struct json_object *e = json_object_array_get_idx(eps, i), *a, *c;
		struct weft_ip ip;

		a = jget(e, "addresses");
		if (!a || !json_object_is_type(a, json_type_array) || !json_object_array_length(a) ||
		    !json_object_is_type(json_object_array_get_idx(a, 0), json_type_string) ||
		    weft_ip_parse(json_object_get_string(json_object_array_get_idx(a, 0)), &ip) !=
			    ks->family)
			BAD("endpoints[%zu].addresses[0]: not an %s address", i,
			    ks->family == AF_INET ? "IPv4" : "IPv6");
		jstr(e, "nodeName", &bad);
		if (bad)
			BAD("endpoints[%zu].nodeName: not a string", i);
		for (int h = 0; h < 2; h++) {
			const char *key = h ? "forNodes" : "forZones";
			struct json_object *hints = jget(e, "hints"), *l = jget(hints, key);

			if (hints && !json_object_is_type(hints, json_type_object))
				BAD("endpoints[%zu].hints: not an object", i);
			if (l && !json_object_is_type(l, json_type_array))
				BAD("endpoints[%zu].hints.%s: not a list", i, key);
			for (size_t j = 0; l && j < json_object_array_length(l); j++) {
				const char *nm = jstr(json_object_array_get_idx(l, j), "name", &bad);

				if (bad || !nm || !*nm)
					BAD("endpoints[%zu].hints.%s[%zu].name: missing or not a string",
					    i, key, j);
			}
		}
		c = jget(e, "conditions");
		if (c && !json_object_is_type(c, json_type_object))
			BAD("endpoints[%zu].conditions: not an object", i);
		if (!c)
			continue;
		json_object_object_foreach(c, k, v) {
			if (!json_object_is_type(v, json_type_boolean) &&
			    !json_object_is_type(v, json_type_null))
				BAD("endpoints[%zu].conditions.%s: not a boolean", i, k);
		}
	}
	return true;
#undef BAD
}

/* Whether an object has the label key (whatever its value). */
static bool labelled(struct json_object *o, const char *key)
{
	return jget(jget(jget(o, "metadata"), "labels"), key) != NULL;
}

static bool cond(struct json_object *c, const char *key, bool dflt)
{
	struct json_object *v = jget(c, key);

	return v ? json_object_get_boolean(v) : dflt;
}

static void be_free(struct weft_backend_cfg *b)
{
	free(b->node);
	free(b->cluster);
	for (size_t i = 0; i < b->nfor_zones; i++)
		free(b->for_zones[i]);
	for (size_t i = 0; i < b->nfor_nodes; i++)
		free(b->for_nodes[i]);
	free(b->for_zones);
	free(b->for_nodes);
}

/* endpoints[].hints.forZones or forNodes (checked: slice_ok) into a list
 * of names. 0 or -ENOMEM. */
static int hint_names(struct json_object *e, const char *key, char ***out, size_t *n)
{
	struct json_object *l = jget(jget(e, "hints"), key);
	size_t len = l ? json_object_array_length(l) : 0;

	*out = NULL;
	*n = 0;
	if (!len)
		return 0;
	*out = calloc(len, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++) {
		bool bad = false;
		const char *nm = jstr(json_object_array_get_idx(l, i), "name", &bad);

		if (!((*out)[(*n)++] = strdup(nm)))
			return -ENOMEM;
	}
	return 0;
}

static int be_cmp(const void *a, const void *b)
{
	const struct weft_backend_cfg *x = a, *y = b;
	int r = memcmp(&x->ip, &y->ip, sizeof(x->ip));

	return r ? r : x->port - y->port;
}

/* Backends of one service port in one family: every endpoint of its
 * slices, with its conditions and node (the model chooses which ones new
 * connections go to: weft_service_in_use). Sorted, unique by address and
 * port (an address in two slices, as during a slice's replacement: the
 * readier entry). */
static int backends_of(const struct ksvc *s, const struct kport *kp, int family,
		       const struct kslice *sl, size_t nsl, struct weft_service *out)
{
	struct weft_backend_cfg *be = NULL;
	size_t n = 0, cap = 0;

	for (size_t i = 0; i < nsl; i++) {
		struct json_object *ports = jget(sl[i].obj, "ports"), *eps;
		long port = -1;
		bool bad = false;

		const char *owner = s->import ? sl[i].import : sl[i].service;

		if (sl[i].family != family || strcmp(sl[i].ns, s->ns) || !owner ||
		    strcmp(owner, s->name))
			continue;
		for (size_t j = 0; ports && j < json_object_array_length(ports); j++) {
			struct json_object *p = json_object_array_get_idx(ports, j);
			const char *name = jstr(p, "name", &bad);
			uint8_t proto = 0;

			proto_of(jstr(p, "protocol", &bad), &proto);
			if (strcmp(name ? name : "", kp->name) || proto != kp->proto)
				continue;
			if (!jint(jget(p, "port"), 1, 65535, &port))
				port = -1;
			break;
		}
		if (port < 0)
			continue;
		eps = jget(sl[i].obj, "endpoints");
		for (size_t j = 0; eps && j < json_object_array_length(eps); j++) {
			struct json_object *e = json_object_array_get_idx(eps, j);
			struct json_object *c = jget(e, "conditions");
			bool ready = cond(c, "ready", true);
			bool serving = cond(c, "serving", ready), term = cond(c, "terminating", false);
			const char *addr = json_object_get_string(
				json_object_array_get_idx(jget(e, "addresses"), 0));
			const char *node = jstr(e, "nodeName", &bad);
			struct weft_backend_cfg *b;
			long w = 1;

			if (n == cap) {
				void *p = realloc(be, (cap = cap * 2 + 8) * sizeof(*be));

				if (!p)
					goto oom;
				be = p;
			}
			b = &be[n];
			memset(b, 0, sizeof(*b));
			weft_ip_parse(addr, &b->ip);
			b->port = port;
			jint(jget(s->weights, addr), 1, 65535, &w);
			b->weight = w;
			b->cond = (ready ? 0 : WEFT_BE_NOT_READY) | (serving ? 0 : WEFT_BE_NOT_SERVING) |
				  (term ? WEFT_BE_TERMINATING : 0);
			n++;
			if ((node && !(b->node = strdup(node))) ||
			    (s->import && !(b->cluster = strdup(sl[i].cluster))) ||
			    hint_names(e, "forZones", &b->for_zones, &b->nfor_zones) ||
			    hint_names(e, "forNodes", &b->for_nodes, &b->nfor_nodes))
				goto oom;
		}
	}
	if (n > 1) {
		size_t u = 1;

		qsort(be, n, sizeof(*be), be_cmp);
		for (size_t i = 1; i < n; i++) {
			if (be_cmp(&be[i], &be[u - 1])) {
				be[u++] = be[i];
				continue;
			}
			/* the same address and port: keep the readier */
			if (be[i].cond < be[u - 1].cond) {
				be_free(&be[u - 1]);
				be[u - 1] = be[i];
			} else {
				be_free(&be[i]);
			}
		}
		n = u;
	}
	if (n > WEFT_LB_MAX_BACKENDS) {
		bad_obj(s->import ? "ServiceImport" : "Service", s->ns, s->name,
			"port %u: %zu endpoints, only the first %d used",
			kp->port, n, WEFT_LB_MAX_BACKENDS);
		for (size_t i = WEFT_LB_MAX_BACKENDS; i < n; i++)
			be_free(&be[i]);
		n = WEFT_LB_MAX_BACKENDS;
	}
	out->backends = be;
	out->nbackends = n;
	return 0;
oom:
	for (size_t i = 0; i < n; i++)
		be_free(&be[i]);
	free(be);
	return -ENOMEM;
}

static int ip_family(const struct weft_ip *ip)
{
	return IN6_IS_ADDR_V4MAPPED(&ip->a) ? AF_INET : AF_INET6;
}

static int add_service(struct weft_model *cfg, size_t *cap, const struct ksvc *s,
		       const struct kslice *sl, size_t nsl)
{
	for (size_t f = 0; f < s->nip; f++) {
		for (size_t i = 0; i < s->nports; i++) {
			struct weft_service *ws;
			int ret;

			if (cfg->nservices == *cap) {
				void *p = realloc(cfg->services, (*cap = *cap * 2 + 16) * sizeof(*ws));

				if (!p)
					return -ENOMEM;
				cfg->services = p;
			}
			ws = &cfg->services[cfg->nservices];
			memset(ws, 0, sizeof(*ws));
			snprintf(ws->name, sizeof(ws->name), "%s", s->name);
			snprintf(ws->ns, sizeof(ws->ns), "%s", s->ns);
			ws->vip = s->ip[f];
			ws->family = s->family[f];
			ws->lb = s->lb;
			ws->affinity = s->affinity;
			ws->node_local = s->node_local;
			ws->publish_not_ready = s->publish_not_ready;
			ws->type = s->type;
			ws->traffic = s->traffic;
			ws->external_local = s->external_local;
			if (s->ports[i].proto == IPPROTO_TCP)	/* resilience is TCP's */
				ws->abort_ppm = s->abort_ppm;
			ws->ports = calloc(1, sizeof(*ws->ports));
			ws->external_ips = calloc(s->next + 1, sizeof(*ws->external_ips));
			ws->lb_ips = calloc(s->nlbip + 1, sizeof(*ws->lb_ips));
			if (!ws->ports || !ws->external_ips || !ws->lb_ips) {
				weft_service_clear(ws);
				return -ENOMEM;
			}
			/* one weft service per family: the addresses of its family */
			for (size_t j = 0; j < s->next; j++)
				if (ip_family(&s->ext[j]) == ws->family)
					ws->external_ips[ws->nexternal_ips++] = s->ext[j];
			for (size_t j = 0; j < s->nlbip; j++)
				if (ip_family(&s->lbip[j]) == ws->family)
					ws->lb_ips[ws->nlb_ips++] = s->lbip[j];
			ws->nports = 1;
			ws->ports[0] = (struct weft_port){ .port = s->ports[i].port,
							   .proto = s->ports[i].proto,
							   .node_port = s->ports[i].node_port };
			memcpy(ws->ports[0].name, s->ports[i].name, sizeof(ws->ports[0].name));
			ret = backends_of(s, &s->ports[i], s->family[f], sl, nsl, ws);
			if (ret) {
				weft_service_clear(ws);
				return ret;
			}
			ws->ports[0].target_port = s->ports[i].target ? s->ports[i].target :
						   ws->nbackends ? ws->backends[0].port :
								   s->ports[i].port;
			ws->origin.kind = s->import ? "ServiceImport" : "Service";
			cfg->nservices++;
		}
	}
	return 0;
}

int weft_k8s_translate(struct json_object *services, struct json_object *slices,
		       struct weft_model *cfg)
{
	size_t nsl = 0, cap = cfg->nservices;
	struct kslice *sl;
	int ret = 0;

	sl = calloc(slices ? json_object_object_length(slices) + 1 : 1, sizeof(*sl));
	if (!sl)
		return -ENOMEM;
	if (slices) {
		json_object_object_foreach(slices, k, v) {
			(void)k;
			if (labelled(v, SVC_LABEL) && slice_ok(v, &sl[nsl]))
				nsl++;
		}
	}
	if (services) {
		json_object_object_foreach(services, k, v) {
			struct ksvc s;
			int r = svc_parse(v, &s);

			(void)k;
			if (r < 0 && r != -1) {
				ret = r;
				break;
			}
			if (r <= 0)
				continue;
			ret = add_service(cfg, &cap, &s, sl, nsl);
			ksvc_free(&s);
			if (ret)
				break;
		}
	}
	free(sl);
	return ret ? ret : weft_k8s_reject_invalid(cfg);
}

/* --- ServiceImports (MCS API, KEP-1645) ----------------------------- */

/* 1: a ClusterSetIP import to translate; 0: one weft ignores (Headless: no
 * VIP; no spec.ips yet); -1: malformed (logged); -ENOMEM. */
static int imp_parse(struct json_object *o, struct ksvc *s)
{
	struct json_object *spec, *ips, *ports;
	const char *type, *aff;
	bool bad = false;
	size_t n;

	memset(s, 0, sizeof(*s));
	s->import = true;
	s->lb = WEFT_LB_RANDOM;
	if (!meta_names(o, "ServiceImport", &s->ns, &s->name))
		return -1;
#define BAD(...) do { bad_obj("ServiceImport", s->ns, s->name, __VA_ARGS__); goto fail; } while (0)
	spec = jget(o, "spec");
	if (!spec || !json_object_is_type(spec, json_type_object))
		BAD("spec: missing");
	type = jstr(spec, "type", &bad);
	if (bad)
		BAD("spec.type: not a string");
	if (type && !strcmp(type, "Headless"))
		return 0;
	if (type && strcmp(type, "ClusterSetIP"))
		BAD("spec.type: '%s' (ClusterSetIP or Headless)", type);
	ips = jget(spec, "ips");
	if (ips && !json_object_is_type(ips, json_type_array))
		BAD("spec.ips: not a list");
	n = ips ? json_object_array_length(ips) : 0;
	if (!n)
		return 0;	/* no clusterset IP allocated yet */
	if (n > 2)
		BAD("spec.ips: %zu addresses (1 or 2)", n);
	for (size_t i = 0; i < n; i++) {
		struct json_object *v = json_object_array_get_idx(ips, i);
		const char *t = json_object_get_string(v);

		if (!json_object_is_type(v, json_type_string))
			BAD("spec.ips[%zu]: not a string", i);
		s->family[i] = weft_ip_parse(t, &s->ip[i]);
		if (!s->family[i])
			BAD("spec.ips[%zu]: '%s' is not an IPv4 or IPv6 address", i, t);
		if (i && s->family[i] == s->family[0])
			BAD("spec.ips: two addresses of one family");
	}
	s->nip = n;

	ports = jget(spec, "ports");
	if (!ports || !json_object_is_type(ports, json_type_array))
		BAD("spec.ports: missing or not a list");
	n = json_object_array_length(ports);
	s->ports = calloc(n ? n : 1, sizeof(*s->ports));
	if (!s->ports)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct json_object *p = json_object_array_get_idx(ports, i);
		struct kport *kp = &s->ports[s->nports];
		const char *name, *proto;
		long v;
		int r;

		name = jstr(p, "name", &bad);
		proto = jstr(p, "protocol", &bad);
		if (bad || !jint(jget(p, "port"), 1, 65535, &v))
			BAD("spec.ports[%zu]: port must be 1..65535, name and protocol strings", i);
		kp->port = v;
		r = proto_of(proto, &kp->proto);
		if (r < 0)
			BAD("spec.ports[%zu].protocol: '%s' (TCP, UDP or SCTP)", i, proto);
		if (name && strlen(name) >= sizeof(kp->name))
			BAD("spec.ports[%zu].name: too long", i);
		snprintf(kp->name, sizeof(kp->name), "%s", name ? name : "");
		kp->target = 0;	/* each slice's port of this name and protocol */
		if (r == 0)
			continue; /* SCTP: weft has no SCTP datapath */
		s->nports++;
	}

	aff = jstr(spec, "sessionAffinity", &bad);
	if (bad)
		BAD("spec.sessionAffinity: not a string");
	if (aff && !strcmp(aff, "ClientIP")) {
		struct json_object *t = jget(jget(jget(spec, "sessionAffinityConfig"), "clientIP"),
					     "timeoutSeconds");
		long v = WEFT_K8S_DEF_AFFINITY;

		if (t && !jint(t, 1, 86400, &v))
			BAD("spec.sessionAffinityConfig.clientIP.timeoutSeconds: not 1..86400");
		s->affinity = v;
	} else if (aff && strcmp(aff, "None")) {
		BAD("spec.sessionAffinity: '%s' (None or ClientIP)", aff);
	}
	return 1;
#undef BAD
fail:
	ksvc_free(s);
	return -1;
}

int weft_k8s_translate_imports(struct json_object *imports, struct json_object *slices,
			       struct weft_model *cfg)
{
	size_t nsl = 0, cap = cfg->nservices;
	struct kslice *sl;
	int ret = 0;

	if (!imports || !json_object_object_length(imports))
		return 0;
	sl = calloc(slices ? json_object_object_length(slices) + 1 : 1, sizeof(*sl));
	if (!sl)
		return -ENOMEM;
	if (slices) {
		json_object_object_foreach(slices, k, v) {
			struct kslice *ks = &sl[nsl];

			(void)k;
			if (!labelled(v, MCS_SVC_LABEL) || !slice_ok(v, ks))
				continue;
			if (!ks->cluster || !*ks->cluster || strlen(ks->cluster) >= WEFT_NAME_LEN) {
				bad_obj("EndpointSlice", ks->ns, json_object_get_string(jget(jget(v, "metadata"), "name")),
					"labels." MCS_CLUSTER_LABEL ": %s (a ServiceImport's slice names its cluster, up to %d characters)",
					ks->cluster ? "empty or too long" : "missing", WEFT_NAME_LEN - 1);
				continue;
			}
			nsl++;
		}
	}
	json_object_object_foreach(imports, k, v) {
		struct ksvc s;
		int r = imp_parse(v, &s);

		(void)k;
		if (r < 0 && r != -1) {
			ret = r;
			break;
		}
		if (r <= 0)
			continue;
		ret = add_service(cfg, &cap, &s, sl, nsl);
		ksvc_free(&s);
		if (ret)
			break;
	}
	free(sl);
	return ret ? ret : weft_k8s_reject_invalid(cfg);
}

/* --- DestinationRules (Istio, networking.istio.io) ------------------ */

int weft_k8s_duration_ms(const char *text, uint64_t *ms)
{
	static const struct { const char *unit; double ns; } units[] = {
		{ "ns", 1 }, { "us", 1e3 }, { "\xc2\xb5s", 1e3 }, { "\xce\xbcs", 1e3 },
		{ "ms", 1e6 }, { "s", 1e9 }, { "m", 60e9 }, { "h", 3600e9 },
	};
	const char *p = text;
	double total = 0;

	if (*p == '+')
		p++;
	if (!strcmp(p, "0")) {
		*ms = 0;
		return 0;
	}
	if (!*p)
		return -EINVAL;
	while (*p) {
		double v = 0, scale = 1;
		bool digits = false;
		size_t best = 0, bi = 0;

		for (; isdigit((unsigned char)*p); p++, digits = true)
			v = v * 10 + (*p - '0');
		if (*p == '.')
			for (p++; isdigit((unsigned char)*p); p++, digits = true)
				v += (*p - '0') * (scale /= 10);
		if (!digits)
			return -EINVAL;
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t l = strlen(units[i].unit);

			if (!strncmp(p, units[i].unit, l) && l > best) {
				best = l;
				bi = i;
			}
		}
		if (!best)
			return -EINVAL;	/* no unit */
		total += v * units[bi].ns;
		p += best;
		if (total > 86400e9)
			return -EINVAL;
	}
	*ms = (uint64_t)((total + 999999) / 1e6);
	return 0;
}

/* One DestinationRule, read. */
struct kdr {
	const char *ns, *name, *created;
	char hname[WEFT_NAME_LEN], hns[WEFT_NAME_LEN];	/* the Service; hname "": none */
	bool outlier_set, pool_set;
	struct weft_outlier outlier;	/* errors 0: off */
	uint32_t max_conns;
	int lb;				/* WEFT_LB_*, -1: not said */
	bool clusterset;		/* host name.ns.svc.clusterset.local: the ServiceImport */
	char ignored[512];		/* fields not honoured, ", " between */
	char err[512];			/* why it does not translate */
};

static void dr_ignore(struct kdr *d, const char *prefix, const char *key)
{
	size_t n = strlen(d->ignored);

	if (n < sizeof(d->ignored) - 1)
		snprintf(d->ignored + n, sizeof(d->ignored) - n, "%s%s%s", n ? ", " : "", prefix, key);
}

/* Every key of o not in known[] is a field weft does not honour. */
static void dr_unknown(struct kdr *d, struct json_object *o, const char *prefix,
		       const char *const *known)
{
	json_object_object_foreach(o, key, v) {
		size_t i = 0;

		(void)v;
		while (known[i] && strcmp(known[i], key))
			i++;
		if (!known[i])
			dr_ignore(d, prefix, key);
	}
}

/* spec.host into the Service it names, if it can name one. */
static void dr_host(struct kdr *d, const char *h)
{
	const char *dot = strchr(h, '.'), *dot2 = dot ? strchr(dot + 1, '.') : NULL;
	size_t nl = dot ? (size_t)(dot - h) : strlen(h);
	size_t sl = dot ? (dot2 ? (size_t)(dot2 - dot - 1) : strlen(dot + 1)) : strlen(d->ns);

	d->hname[0] = 0;
	if (strchr(h, '*')) {
		dr_ignore(d, "spec.host: ", "a wildcard");
		return;
	}
	/* name, name.ns, name.ns.svc, name.ns.svc.<cluster domain> */
	if (dot2 && strncmp(dot2 + 1, "svc", 3) != 0)
		return;
	if (dot2 && dot2[4] && dot2[4] != '.')
		return;
	if (!nl || nl >= WEFT_NAME_LEN || !sl || sl >= WEFT_NAME_LEN)
		return;
	memcpy(d->hname, h, nl);
	d->hname[nl] = 0;
	d->clusterset = dot2 && !strcmp(dot2 + 4, ".clusterset.local");	/* MCS's domain */
	memcpy(d->hns, dot ? dot + 1 : d->ns, sl);
	d->hns[sl] = 0;
}

/* A duration field in whole seconds (rounded up) 1..86400. */
static bool dr_seconds(struct json_object *o, const char *key, uint32_t *s)
{
	struct json_object *v = jget(o, key);
	uint64_t ms;

	if (!v)
		return true;
	if (!json_object_is_type(v, json_type_string) ||
	    weft_k8s_duration_ms(json_object_get_string(v), &ms) || !ms)
		return false;
	*s = (uint32_t)((ms + 999) / 1000);
	return true;
}

/* 0: read; -1: malformed (d->err says why, unless meta_names logged it). */
static int dr_parse(struct json_object *o, struct kdr *d)
{
	static const char *const spec_known[] = { "host", "trafficPolicy", NULL };
	static const char *const tp_known[] = { "loadBalancer", "connectionPool", "outlierDetection", NULL };
	static const char *const od_known[] = { "consecutive5xxErrors", "consecutiveGatewayErrors",
		"interval", "baseEjectionTime", "maxEjectionPercent", "minHealthPercent", NULL };
	static const char *const cp_known[] = { "tcp", NULL };
	static const char *const tcp_known[] = { "maxConnections", NULL };
	static const char *const lb_known[] = { "simple", "consistentHash", NULL };
	static const char *const ch_known[] = { "useSourceIp", "maglev", NULL };
	struct json_object *spec, *tp, *od, *cp, *tcp, *lbo, *ch;
	const char *host, *simple;
	bool bad = false;

	memset(d, 0, sizeof(*d));
	d->lb = -1;
	if (!meta_names(o, "DestinationRule", &d->ns, &d->name))
		return -1;
#define BAD(...) do { snprintf(d->err, sizeof(d->err), __VA_ARGS__); return -1; } while (0)
#define OBJ(v, what) do { if ((v) && !json_object_is_type((v), json_type_object)) BAD("%s: not an object", what); } while (0)
	d->created = jstr(jget(o, "metadata"), "creationTimestamp", &bad);
	spec = jget(o, "spec");
	if (!spec || !json_object_is_type(spec, json_type_object))
		BAD("spec: missing");
	host = jstr(spec, "host", &bad);
	if (bad || !host || !*host)
		BAD("spec.host: missing or not a string");
	dr_unknown(d, spec, "spec.", spec_known);
	dr_host(d, host);
	tp = jget(spec, "trafficPolicy");
	OBJ(tp, "spec.trafficPolicy");
	if (!tp)
		return 0;
	dr_unknown(d, tp, "spec.trafficPolicy.", tp_known);

	od = jget(tp, "outlierDetection");
	OBJ(od, "spec.trafficPolicy.outlierDetection");
	if (od) {
		const struct weft_outlier def = WEFT_OUTLIER_DEFAULT;
		struct json_object *c5 = jget(od, "consecutive5xxErrors");
		struct json_object *cg = jget(od, "consecutiveGatewayErrors");
		long e5 = def.errors, eg = 0, mx = def.eject_pct, mh = 0;

		dr_unknown(d, od, "spec.trafficPolicy.outlierDetection.", od_known);
		d->outlier_set = true;
		d->outlier = def;
		if (c5 && !jint(c5, 0, 65535, &e5))
			BAD("spec.trafficPolicy.outlierDetection.consecutive5xxErrors: not 0..65535");
		if (cg && !jint(cg, 0, 65535, &eg))
			BAD("spec.trafficPolicy.outlierDetection.consecutiveGatewayErrors: not 0..65535");
		/* both count L4 connect failures: the stricter one that is on */
		d->outlier.errors = !e5 ? (uint32_t)eg : !eg ? (uint32_t)e5 :
				    (uint32_t)(e5 < eg ? e5 : eg);
		if (!dr_seconds(od, "interval", &d->outlier.interval))
			BAD("spec.trafficPolicy.outlierDetection.interval: not a duration of 1ms to 24h ('10s', '1m', '500ms')");
		if (!dr_seconds(od, "baseEjectionTime", &d->outlier.eject_s))
			BAD("spec.trafficPolicy.outlierDetection.baseEjectionTime: not a duration of 1ms to 24h ('30s', '1m', '500ms')");
		if (jget(od, "maxEjectionPercent") && !jint(jget(od, "maxEjectionPercent"), 0, 100, &mx))
			BAD("spec.trafficPolicy.outlierDetection.maxEjectionPercent: not 0..100");
		if (jget(od, "minHealthPercent") && !jint(jget(od, "minHealthPercent"), 0, 100, &mh))
			BAD("spec.trafficPolicy.outlierDetection.minHealthPercent: not 0..100");
		/* ejecting stops where fewer than minHealthPercent would be left */
		d->outlier.eject_pct = (uint32_t)(mx < 100 - mh ? mx : 100 - mh);
	}

	cp = jget(tp, "connectionPool");
	OBJ(cp, "spec.trafficPolicy.connectionPool");
	if (cp) {
		dr_unknown(d, cp, "spec.trafficPolicy.connectionPool.", cp_known);
		tcp = jget(cp, "tcp");
		OBJ(tcp, "spec.trafficPolicy.connectionPool.tcp");
		if (tcp) {
			struct json_object *mc = jget(tcp, "maxConnections");
			long v;

			dr_unknown(d, tcp, "spec.trafficPolicy.connectionPool.tcp.", tcp_known);
			if (mc && !jint(mc, 1, 1L << 30, &v))
				BAD("spec.trafficPolicy.connectionPool.tcp.maxConnections: not 1..1073741824");
			if (mc) {
				d->pool_set = true;
				d->max_conns = (uint32_t)v;
			}
		}
	}

	lbo = jget(tp, "loadBalancer");
	OBJ(lbo, "spec.trafficPolicy.loadBalancer");
	if (lbo) {
		dr_unknown(d, lbo, "spec.trafficPolicy.loadBalancer.", lb_known);
		simple = jstr(lbo, "simple", &bad);
		ch = jget(lbo, "consistentHash");
		OBJ(ch, "spec.trafficPolicy.loadBalancer.consistentHash");
		if (bad)
			BAD("spec.trafficPolicy.loadBalancer.simple: not a string");
		if (simple && ch)
			BAD("spec.trafficPolicy.loadBalancer: simple and consistentHash are exclusive");
		if (!simple || !strcmp(simple, "UNSPECIFIED"))
			;
		else if (!strcmp(simple, "LEAST_REQUEST") || !strcmp(simple, "LEAST_CONN"))
			d->lb = WEFT_LB_LEAST_REQUEST;
		else if (!strcmp(simple, "ROUND_ROBIN"))
			d->lb = WEFT_LB_ROUND_ROBIN;
		else if (!strcmp(simple, "RANDOM"))
			d->lb = WEFT_LB_RANDOM;
		else if (!strcmp(simple, "PASSTHROUGH"))
			dr_ignore(d, "spec.trafficPolicy.loadBalancer.simple: ", "PASSTHROUGH");
		else
			BAD("spec.trafficPolicy.loadBalancer.simple: '%s' (LEAST_REQUEST, LEAST_CONN, ROUND_ROBIN, RANDOM)",
			    simple);
		if (ch) {
			d->lb = WEFT_LB_MAGLEV;	/* keyed on the client */
			dr_unknown(d, ch, "spec.trafficPolicy.loadBalancer.consistentHash.", ch_known);
		}
	}
	return 0;
#undef OBJ
#undef BAD
}

/* Istio's order of precedence among rules for one host: the oldest first
 * (RFC 3339 timestamps of one form sort as text), then namespace/name. */
static bool dr_before(const struct kdr *a, const struct kdr *b)
{
	int c = strcmp(a->created ? a->created : "", b->created ? b->created : "");

	if (c)
		return c < 0;
	c = strcmp(a->ns, b->ns);
	return c ? c < 0 : strcmp(a->name, b->name) < 0;
}

static int reject_add(struct weft_model *cfg, const char *kind, const char *ns, const char *name,
		      const char *reason)
{
	struct weft_src_reject *r = realloc(cfg->rejects, (cfg->nrejects + 1) * sizeof(*r));

	if (!r)
		return -ENOMEM;
	cfg->rejects = r;
	r = &r[cfg->nrejects++];
	memset(r, 0, sizeof(*r));
	snprintf(r->kind, sizeof(r->kind), "%s", kind);
	snprintf(r->ns, sizeof(r->ns), "%s", ns ? ns : "");
	snprintf(r->name, sizeof(r->name), "%s", name ? name : "");
	snprintf(r->reason, sizeof(r->reason), "%s", reason);
	return 0;
}

/* Log msg about rule ns/name once while it stays the same: seen gets what
 * is to be remembered, noted is what was (NULL: log every time). */
static int note_once(struct json_object *noted, struct json_object *seen, const struct kdr *d,
		     int level, const char *msg)
{
	char key[2 * WEFT_NAME_LEN + 1];
	struct json_object *was, *v;

	snprintf(key, sizeof(key), "%s/%s", d->ns, d->name);
	if (seen && !(v = json_object_new_string(msg)))
		return -ENOMEM;
	if (seen)
		json_object_object_add(seen, key, v);
	if (noted && json_object_object_get_ex(noted, key, &was) && !strcmp(json_object_get_string(was), msg))
		return 0;
	weft_log(level, "k8s: DestinationRule %s: %s", key, msg);
	return 0;
}

/* What d does not honour, and which rule shadows it, if anything. */
static int dr_note(struct json_object *noted, struct json_object *seen, const struct kdr *d,
		   const struct kdr *winner)
{
	char msg[768];
	int n = 0;

	if (d->ignored[0])
		n = snprintf(msg, sizeof(msg), "not honoured at L4 (ignored): %s", d->ignored);
	if (winner)
		snprintf(msg + n, sizeof(msg) - n, "%shost %s.%s is also DestinationRule %s/%s's, the older: this one is not applied",
			 n ? "; " : "", d->hname, d->hns, winner->ns, winner->name);
	else if (!n)
		return 0;
	return note_once(noted, seen, d, LOG_WARN, msg);
}

int weft_k8s_translate_destrules(struct json_object *rules, struct json_object *noted,
				 struct weft_model *cfg)
{
	size_t n = 0, cap = rules ? (size_t)json_object_object_length(rules) : 0;
	struct json_object *seen = noted ? json_object_new_object() : NULL;
	struct kdr *d = calloc(cap + 1, sizeof(*d));
	int ret = -ENOMEM;

	if (!d || (noted && !seen))
		goto out;
	ret = 0;
	if (rules) {
		json_object_object_foreach(rules, k, v) {
			(void)k;
			char msg[600];

			if (!dr_parse(v, &d[n])) {
				n++;
				continue;
			}
			if (d[n].err[0]) {	/* logged when it becomes rejected */
				snprintf(msg, sizeof(msg), "%s; skipped", d[n].err);
				ret = note_once(noted, seen, &d[n], LOG_ERROR, msg);
				if (ret)
					goto out;
			}
			ret = reject_add(cfg, "DestinationRule", d[n].ns, d[n].name, "invalid");
			if (ret)
				goto out;
		}
	}
	for (size_t i = 0; i < n; i++) {
		const struct kdr *w = NULL;	/* an older rule for the same Service */

		for (size_t j = 0; d[i].hname[0] && j < n; j++)
			if (j != i && !strcmp(d[j].hname, d[i].hname) && !strcmp(d[j].hns, d[i].hns) &&
			    d[j].clusterset == d[i].clusterset && dr_before(&d[j], &d[i]) &&
			    (!w || dr_before(&d[j], w)))
				w = &d[j];
		ret = dr_note(noted, seen, &d[i], w);
		if (ret)
			goto out;
		if (w || !d[i].hname[0])
			continue;
		for (size_t s = 0; s < cfg->nservices; s++) {
			struct weft_service *ws = &cfg->services[s];

			bool tcp = ws->nports == 1 && ws->ports[0].proto == IPPROTO_TCP;

			if (!ws->origin.kind ||
			    strcmp(ws->origin.kind, d[i].clusterset ? "ServiceImport" : "Service") ||
			    strcmp(ws->name, d[i].hname) || strcmp(ws->ns, d[i].hns))
				continue;
			/* resilience acts on TCP connects (README, Resilience) */
			if (d[i].outlier_set && tcp)
				ws->outlier = d[i].outlier;
			if (d[i].pool_set && tcp)
				ws->max_conns = d[i].max_conns;
			if (d[i].lb >= 0 && (tcp || d[i].lb != WEFT_LB_LEAST_REQUEST))
				ws->lb = (uint8_t)d[i].lb;
		}
	}
	if (noted) {	/* now what was logged: forget deleted and quiet rules */
		size_t ngone = 0, i = 0;
		char **gone = calloc((size_t)json_object_object_length(noted) + 1, sizeof(*gone));

		if (!gone) {
			ret = -ENOMEM;
			goto out;
		}
		json_object_object_foreach(noted, k, v) {
			(void)v;
			if (!json_object_object_get_ex(seen, k, NULL) && (gone[ngone] = strdup(k)))
				ngone++;
		}
		for (i = 0; i < ngone; i++) {
			json_object_object_del(noted, gone[i]);
			free(gone[i]);
		}
		free(gone);
		json_object_object_foreach(seen, k2, v2)
			json_object_object_add(noted, k2, json_object_get(v2));
	}
out:
	json_object_put(seen);
	free(d);
	return ret;
}

/* --- Pods, Namespaces, NetworkPolicies ------------------------------ */

/* Append key=value to a label array. 0 or -ENOMEM. */
static int label_add(struct weft_label **l, size_t *n, const char *key, const char *value)
{
	struct weft_label *p = realloc(*l, (*n + 1) * sizeof(**l));

	if (!p)
		return -ENOMEM;
	*l = p;
	p[*n].key = strdup(key);
	p[*n].value = strdup(value);
	if (!p[*n].key || !p[*n].value) {
		free(p[*n].key);
		free(p[*n].value);
		return -ENOMEM;
	}
	(*n)++;
	return 0;
}

/* metadata.labels (or matchLabels): an object of strings. 0, -1 (not
 * one), -ENOMEM. An absent object is no labels. */
static int jlabels(struct json_object *o, struct weft_label **l, size_t *n)
{
	*l = NULL;
	*n = 0;
	if (!o)
		return 0;
	if (!json_object_is_type(o, json_type_object))
		return -1;
	json_object_object_foreach(o, k, v) {
		int r;

		if (!json_object_is_type(v, json_type_string)) {
			r = -1;
		} else {
			r = label_add(l, n, k, json_object_get_string(v));
		}
		if (r) {
			weft_labels_free(*l, *n);
			*l = NULL;
			*n = 0;
			return r;
		}
	}
	return 0;
}

/* One matchExpressions entry. -1 (why), 0, -ENOMEM. */
static int jexpr(struct json_object *e, struct weft_label_expr *x, char *why, size_t len)
{
	static const char *const ops[] = { "", "In", "NotIn", "Exists", "DoesNotExist" };
	struct json_object *vals = jget(e, "values");
	bool bad = false;
	const char *key = jstr(e, "key", &bad), *op = jstr(e, "operator", &bad);
	size_t n;

	if (bad || !key || !op) {
		snprintf(why, len, "key and operator must be strings");
		return -1;
	}
	for (int i = WEFT_SEL_IN; i <= WEFT_SEL_NOT_EXISTS && !x->op; i++)
		if (!strcmp(op, ops[i]))
			x->op = i;
	if (!x->op) {
		snprintf(why, len, "operator '%s' (In, NotIn, Exists or DoesNotExist)", op);
		return -1;
	}
	if (vals && !json_object_is_type(vals, json_type_array)) {
		snprintf(why, len, "values: not a list");
		return -1;
	}
	n = vals ? json_object_array_length(vals) : 0;
	if ((x->op <= WEFT_SEL_NOT_IN) != (n > 0)) {
		snprintf(why, len, "%s: %s", op,
			 n ? "takes no values" : "needs at least one value");
		return -1;
	}
	x->key = strdup(key);
	x->values = calloc(n ? n : 1, sizeof(*x->values));
	if (!x->key || !x->values)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct json_object *v = json_object_array_get_idx(vals, i);

		if (!json_object_is_type(v, json_type_string)) {
			snprintf(why, len, "values[%zu]: not a string", i);
			return -1;
		}
		if (!(x->values[i] = strdup(json_object_get_string(v))))
			return -ENOMEM;
		x->nvalues = i + 1;
	}
	return 0;
}

/*
 * A LabelSelector into weft's form (all must match): matchLabels as labels,
 * matchExpressions (In, NotIn, Exists, DoesNotExist) as requirements.
 * 0; -1 malformed (why filled); -ENOMEM. On failure nothing is kept.
 */
static int jselector(struct json_object *sel, struct weft_label **l, size_t *n,
		     struct weft_label_expr **x, size_t *nx, char *why, size_t len)
{
	struct json_object *ml = jget(sel, "matchLabels"), *me = jget(sel, "matchExpressions");
	size_t cnt;
	int r;

	*l = NULL;
	*n = 0;
	*x = NULL;
	*nx = 0;
	if (sel && !json_object_is_type(sel, json_type_object)) {
		snprintf(why, len, "not an object");
		return -1;
	}
	r = jlabels(ml, l, n);
	if (r == -1)
		snprintf(why, len, "matchLabels: not an object of strings");
	if (r)
		return r;
	if (me && !json_object_is_type(me, json_type_array)) {
		snprintf(why, len, "matchExpressions: not a list");
		r = -1;
		goto fail;
	}
	cnt = me ? json_object_array_length(me) : 0;
	*x = calloc(cnt ? cnt : 1, sizeof(**x));
	if (!*x) {
		r = -ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < cnt; i++) {
		char w[192];

		*nx = i + 1;
		r = jexpr(json_object_array_get_idx(me, i), &(*x)[i], w, sizeof(w));
		if (r == -1)
			snprintf(why, len, "matchExpressions[%zu]: %s", i, w);
		if (r)
			goto fail;
	}
	return 0;
fail:
	weft_labels_free(*l, *n);
	weft_exprs_free(*x, *nx);
	*l = NULL;
	*n = 0;
	*x = NULL;
	*nx = 0;
	return r;
}

/* The workload of a pod: its controller's name, a ReplicaSet's without the
 * pod-template-hash (the Deployment's name). */
static void pod_workload(struct json_object *pod, const char *name, char *out, size_t len)
{
	struct json_object *md = jget(pod, "metadata"), *refs = jget(md, "ownerReferences");
	struct json_object *owner = NULL;
	const char *kind, *oname, *hash;
	bool bad = false;

	for (size_t i = 0; refs && json_object_is_type(refs, json_type_array) &&
			   i < json_object_array_length(refs); i++) {
		struct json_object *r = json_object_array_get_idx(refs, i);

		if (!owner || cond(r, "controller", false))
			owner = r;
	}
	kind = jstr(owner, "kind", &bad);
	oname = jstr(owner, "name", &bad);
	if (bad || !kind || !oname || !*oname) {
		snprintf(out, len, "%s", name);
		return;
	}
	if (!strcmp(kind, "ReplicaSet")) {
		size_t n = strlen(oname);
		const char *dash = strrchr(oname, '-');

		hash = jstr(jget(md, "labels"), "pod-template-hash", &bad);
		if (hash && !bad && n > strlen(hash) + 1 && oname[n - strlen(hash) - 1] == '-' &&
		    !strcmp(oname + n - strlen(hash), hash))
			n -= strlen(hash) + 1;
		else if (dash && dash > oname)
			n = dash - oname;
		snprintf(out, len, "%.*s", (int)n, oname);
	} else if (!strcmp(kind, "StatefulSet") || !strcmp(kind, "DaemonSet") ||
		   !strcmp(kind, "Job") || !strcmp(kind, "Deployment")) {
		snprintf(out, len, "%s", oname);
	} else {
		snprintf(out, len, "%s", name);
	}
}

static int ep_cmp(const void *a, const void *b)
{
	const struct weft_endpoint *x = a, *y = b;
	int r = strcmp(x->ns, y->ns);

	if (!r)
		r = strcmp(x->name, y->name);
	return r ? r : memcmp(&x->ip, &y->ip, sizeof(x->ip));
}

/* A copy of o[key] into out, if o has it. 0 or -ENOMEM. */
static int keep(struct json_object *out, struct json_object *o, const char *key)
{
	struct json_object *v = jget(o, key);

	return v && json_object_object_add(out, key, json_object_get(v)) ? -ENOMEM : 0;
}

struct json_object *weft_k8s_pod_slim(struct json_object *pod)
{
	static const char *const md_keys[] = { "name", "namespace", "labels", "ownerReferences",
					       "resourceVersion" };
	static const char *const spec_keys[] = { "nodeName", "hostNetwork", "serviceAccountName" };
	static const char *const status_keys[] = { "phase", "podIP", "podIPs" };
	struct json_object *out = json_object_new_object(), *md = json_object_new_object();
	struct json_object *spec = json_object_new_object(), *status = json_object_new_object();
	struct json_object *ctrs = jget(jget(pod, "spec"), "containers"), *cs = NULL;
	int r = 0;

	if (!out || !md || !spec || !status)
		goto fail;
	for (size_t i = 0; !r && i < sizeof(md_keys) / sizeof(md_keys[0]); i++)
		r = keep(md, jget(pod, "metadata"), md_keys[i]);
	for (size_t i = 0; !r && i < sizeof(spec_keys) / sizeof(spec_keys[0]); i++)
		r = keep(spec, jget(pod, "spec"), spec_keys[i]);
	for (size_t i = 0; !r && i < sizeof(status_keys) / sizeof(status_keys[0]); i++)
		r = keep(status, jget(pod, "status"), status_keys[i]);
	/* containers[].ports only: named ports of NetworkPolicies. */
	if (!r && ctrs && json_object_is_type(ctrs, json_type_array)) {
		if (!(cs = json_object_new_array()))
			goto fail;
		for (size_t i = 0; !r && i < json_object_array_length(ctrs); i++) {
			struct json_object *c = json_object_new_object();

			if (!c || json_object_array_add(cs, c)) {
				json_object_put(c);
				r = -ENOMEM;
				break;
			}
			r = keep(c, json_object_array_get_idx(ctrs, i), "ports");
		}
		if (!r && json_object_object_add(spec, "containers", cs))
			r = -ENOMEM;
		if (!r)
			cs = NULL;
	}
	if (r || json_object_object_add(out, "metadata", md))
		goto fail;
	md = NULL;
	if (json_object_object_add(out, "spec", spec))
		goto fail;
	spec = NULL;
	if (json_object_object_add(out, "status", status))
		goto fail;
	return out;
fail:
	json_object_put(cs);
	json_object_put(md);
	json_object_put(spec);
	json_object_put(status);
	json_object_put(out);
	errno = ENOMEM;
	return NULL;
}

int weft_k8s_translate_pods(struct json_object *pods, const char *node,
			    weft_k8s_ifname_fn ifname, struct weft_model *cfg)
{
	size_t cap = cfg->nendpoints;

	if (!pods)
		return 0;
	json_object_object_foreach(pods, key, pod) {
		struct json_object *spec = jget(pod, "spec"), *status = jget(pod, "status"), *ips;
		struct weft_label *labels;
		const char *ns, *name, *phase, *one;
		struct weft_ip ip[2];
		int family[2];
		size_t nip = 0, at;
		bool bad = false, remote;
		const char *pnode, *sa;
		char wl[WEFT_NAME_LEN];
		int r;

		(void)key;
		if (!meta_names(pod, "Pod", &ns, &name))
			continue;
#define BAD(...) do { bad_obj("Pod", ns, name, __VA_ARGS__); goto next; } while (0)
		if (jget(spec, "hostNetwork") && json_object_get_boolean(jget(spec, "hostNetwork")))
			continue;	/* the node's addresses, not an endpoint */
		phase = jstr(status, "phase", &bad);
		if (bad)
			BAD("status.phase: not a string");
		if (!phase || strcmp(phase, "Running"))
			continue;
		ips = jget(status, "podIPs");
		one = jstr(status, "podIP", &bad);
		if (bad || (ips && !json_object_is_type(ips, json_type_array)))
			BAD("status.podIP(s): not a string or a list");
		for (size_t i = 0; i < (ips ? json_object_array_length(ips) : one ? 1 : 0); i++) {
			const char *t = ips ? jstr(json_object_array_get_idx(ips, i), "ip", &bad) : one;

			if (bad || !t)
				BAD("status.podIPs[%zu].ip: not a string", i);
			if (nip == 2)
				BAD("status.podIPs: more than two addresses");
			family[nip] = weft_ip_parse(t, &ip[nip]);
			if (!family[nip])
				BAD("status.podIPs[%zu]: '%s' is not an IPv4 or IPv6 address", i, t);
			nip++;
		}
		pnode = jstr(spec, "nodeName", &bad);
		sa = jstr(spec, "serviceAccountName", &bad);
		if (bad)
			BAD("spec.nodeName, spec.serviceAccountName: not strings");
		remote = node && (!pnode || strcmp(pnode, node));
		r = jlabels(jget(jget(pod, "metadata"), "labels"), &labels, &at);
		weft_labels_free(labels, at);	/* checked; each endpoint gets its own copy */
		if (r == -1)
			BAD("metadata.labels: not an object of strings");
		if (r)
			return r;
		pod_workload(pod, name, wl, sizeof(wl));
		for (size_t i = 0; i < nip; i++) {
			struct weft_endpoint *ep;

			if (cfg->nendpoints == cap) {
				void *p = realloc(cfg->endpoints, (cap = cap * 2 + 16) * sizeof(*ep));

				if (!p)
					return -ENOMEM;
				cfg->endpoints = p;
			}
			ep = &cfg->endpoints[cfg->nendpoints];
			memset(ep, 0, sizeof(*ep));
			if (jlabels(jget(jget(pod, "metadata"), "labels"), &ep->labels, &ep->nlabels))
				return -ENOMEM;
			cfg->nendpoints++;
			snprintf(ep->name, sizeof(ep->name), "%s", name);
			snprintf(ep->ns, sizeof(ep->ns), "%s", ns);
			memcpy(ep->workload, wl, sizeof(ep->workload));
			ep->ip = ip[i];
			ep->family = family[i];
			ep->redirect = true;
			ep->remote = remote;
			snprintf(ep->service_account, sizeof(ep->service_account), "%s",
				 sa && *sa ? sa : "default");
			ep->origin.kind = "Pod";
			if (!remote && ifname && ifname(&ip[i], ep->interface, sizeof(ep->interface)))
				ep->interface[0] = 0;
		}
next:;
#undef BAD
	}
	if (cfg->nendpoints > 1)
		qsort(cfg->endpoints, cfg->nendpoints, sizeof(*cfg->endpoints), ep_cmp);
	return weft_k8s_reject_invalid(cfg);
}

static int ns_cmp(const void *a, const void *b)
{
	return strcmp(((const struct weft_namespace *)a)->name,
		      ((const struct weft_namespace *)b)->name);
}

int weft_k8s_translate_namespaces(struct json_object *nss, struct weft_model *cfg)
{
	size_t cap = cfg->nnamespaces;

	if (!nss)
		return 0;
	json_object_object_foreach(nss, key, o) {
		struct json_object *md = jget(o, "metadata");
		struct weft_namespace *n;
		bool bad = false;
		const char *name = jstr(md, "name", &bad);
		int r;

		(void)key;
		if (bad || !name || !*name || strlen(name) >= WEFT_NAME_LEN) {
			bad_obj("Namespace", "", name, "metadata.name: missing, not a string or too long");
			continue;
		}
		if (cfg->nnamespaces == cap) {
			void *p = realloc(cfg->namespaces, (cap = cap * 2 + 16) * sizeof(*n));

			if (!p)
				return -ENOMEM;
			cfg->namespaces = p;
		}
		n = &cfg->namespaces[cfg->nnamespaces];
		memset(n, 0, sizeof(*n));
		snprintf(n->name, sizeof(n->name), "%s", name);
		r = jlabels(jget(md, "labels"), &n->labels, &n->nlabels);
		if (r == -1) {
			bad_obj("Namespace", "", name, "metadata.labels: not an object of strings");
			continue;
		}
		if (r)
			return r;
		cfg->nnamespaces++;
	}
	if (cfg->nnamespaces > 1)
		qsort(cfg->namespaces, cfg->nnamespaces, sizeof(*cfg->namespaces), ns_cmp);
	return 0;
}

/* What a NetworkPolicy is being turned into, and where it went wrong. */
struct npctx {
	const char *ns, *name;
	struct json_object *pods;	/* for named ports */
	const struct weft_policy *pol;	/* its podSelector selects the pods */
	const struct weft_model *cfg;	/* endpoints and namespaces, for named ports */
	char why[384];
};

/* Whether a pod (JSON) is one a policy selects: its namespace, its labels. */
/* A label of a pod as the API returns it (metadata.labels), NULL if absent
 * or not a string. */
static const char *pod_label(const void *obj, const char *key)
{
	bool bad = false;
	const char *v = jstr(jget(jget((struct json_object *)obj, "metadata"), "labels"), key, &bad);

	return bad ? NULL : v;
}

static bool pod_selected(struct json_object *pod, const struct weft_policy *p)
{
	bool bad = false;
	const char *pns = jstr(jget(pod, "metadata"), "namespace", &bad);

	if (bad || !pns || strcmp(pns, p->ns))
		return false;
	return weft_selector_matches(p->labels, p->nlabels, p->exprs, p->nexprs, pod_label, pod);
}

static int port_add(struct weft_pol_port **ports, size_t *n, uint16_t port, uint16_t end,
		    uint8_t proto)
{
	struct weft_pol_port *p;

	for (size_t i = 0; i < *n; i++)
		if ((*ports)[i].port == port && (*ports)[i].end_port == end && (*ports)[i].proto == proto)
			return 0;
	p = realloc(*ports, (*n + 1) * sizeof(*p));
	if (!p)
		return -ENOMEM;
	*ports = p;
	p[(*n)++] = (struct weft_pol_port){ .port = port, .end_port = end, .proto = proto };
	return 0;
}

/* The containerPorts of a pod named pname with protocol proto, into ports.
 * 0 or -ENOMEM. */
static int pod_ports(struct json_object *pod, const char *pname, uint8_t proto,
		     struct weft_pol_port **ports, size_t *n)
{
	struct json_object *ctrs = jget(jget(pod, "spec"), "containers");

	for (size_t i = 0; ctrs && json_object_is_type(ctrs, json_type_array) &&
			   i < json_object_array_length(ctrs); i++) {
		struct json_object *cp = jget(json_object_array_get_idx(ctrs, i), "ports");

		for (size_t j = 0; cp && json_object_is_type(cp, json_type_array) &&
				   j < json_object_array_length(cp); j++) {
			struct json_object *p = json_object_array_get_idx(cp, j);
			bool bad = false;
			const char *nm = jstr(p, "name", &bad);
			uint8_t pr = 0;
			long num;

			if (bad || !nm || strcmp(nm, pname) ||
			    !jint(jget(p, "containerPort"), 1, 65535, &num))
				continue;
			if (proto_of(jstr(p, "protocol", &bad), &pr) == 0)
				pr = IPPROTO_SCTP;
			if (!bad && pr == proto && port_add(ports, n, (uint16_t)num, 0, proto))
				return -ENOMEM;
		}
	}
	return 0;
}

/* The pod (JSON) an endpoint came from, NULL if none. */
static struct json_object *pod_of(struct json_object *pods, const struct weft_endpoint *ep)
{
	json_object_object_foreach(pods, key, pod) {
		struct json_object *md = jget(pod, "metadata");
		bool bad = false;
		const char *ns = jstr(md, "namespace", &bad), *name = jstr(md, "name", &bad);

		(void)key;
		if (!bad && ns && name && !strcmp(ns, ep->ns) && !strcmp(name, ep->name))
			return pod;
	}
	return NULL;
}

/*
 * A named port, resolved on this node's pods: for an ingress rule, on the
 * pods the policy selects (they are the destination); for an egress rule,
 * on the endpoints its peers select (every endpoint if it has none; an
 * ipBlock selects none). Pods that number the name differently each add
 * their number. 0 (maybe none found) or -ENOMEM.
 */
static int named_port(struct npctx *c, const struct weft_rule *r, bool ingress, const char *pname,
		      uint8_t proto, struct weft_pol_port **ports, size_t *n)
{
	if (ingress) {
		json_object_object_foreach(c->pods, key, pod) {
			(void)key;
			if (pod_selected(pod, c->pol) && pod_ports(pod, pname, proto, ports, n))
				return -ENOMEM;
		}
		return 0;
	}
	for (size_t e = 0; c->cfg && e < c->cfg->nendpoints; e++) {
		const struct weft_endpoint *ep = &c->cfg->endpoints[e];
		struct json_object *pod;
		bool sel = !r->nto;

		for (size_t i = 0; !sel && i < r->nto; i++)
			sel = weft_peer_selects(c->cfg, c->ns, &r->to[i], ep);
		if (sel && (pod = pod_of(c->pods, ep)) && pod_ports(pod, pname, proto, ports, n))
			return -ENOMEM;
	}
	return 0;
}

/* ports of one rule. -1: malformed (why); 0; 1: every port it names is a
 * name that resolves to nothing, so the rule allows nothing; -ENOMEM. */
static int np_ports(struct npctx *c, struct json_object *ports, bool ingress, const char *where,
		    struct weft_rule *r)
{
	size_t named = 0, unresolved = 0;

	if (!ports)
		return 0;
	if (!json_object_is_type(ports, json_type_array)) {
		snprintf(c->why, sizeof(c->why), "%s.ports: not a list", where);
		return -1;
	}
	for (size_t i = 0; i < json_object_array_length(ports); i++) {
		struct json_object *p = json_object_array_get_idx(ports, i), *port = jget(p, "port");
		bool bad = false;
		const char *proto = jstr(p, "protocol", &bad);
		uint8_t pr = 0;
		long num = 0, end = 0;
		size_t before = r->nports;
		int ret;

		if (bad || !json_object_is_type(p, json_type_object)) {
			snprintf(c->why, sizeof(c->why), "%s.ports[%zu]: not an object with a string protocol",
				 where, i);
			return -1;
		}
		ret = proto_of(proto, &pr);
		if (ret < 0) {
			snprintf(c->why, sizeof(c->why), "%s.ports[%zu].protocol: '%s' (TCP, UDP or SCTP)",
				 where, i, proto);
			return -1;
		}
		if (ret == 0)
			pr = IPPROTO_SCTP;
		if (jget(p, "endPort") && (!jint(jget(p, "endPort"), 1, 65535, &end) ||
					   !port || !json_object_is_type(port, json_type_int))) {
			snprintf(c->why, sizeof(c->why),
				 "%s.ports[%zu].endPort: needs a numeric port and 1..65535", where, i);
			return -1;
		}
		if (port && json_object_is_type(port, json_type_string)) {
			named++;
			if (named_port(c, r, ingress, json_object_get_string(port), pr, &r->ports,
				       &r->nports))
				return -ENOMEM;
			if (r->nports == before) {
				weft_log(LOG_WARN,
					 "k8s: NetworkPolicy %s/%s: %s.ports[%zu].port: no pod of this node %s names a port '%s'; this port is skipped",
					 c->ns, c->name, where, i,
					 ingress ? "that the policy selects" : "that the rule's peers select",
					 json_object_get_string(port));
				unresolved++;
			}
			continue;
		}
		if (port && !jint(port, 1, 65535, &num)) {
			snprintf(c->why, sizeof(c->why), "%s.ports[%zu].port: not 1..65535 or a name",
				 where, i);
			return -1;
		}
		if (end && end < num) {
			snprintf(c->why, sizeof(c->why), "%s.ports[%zu].endPort: %ld is below port %ld",
				 where, i, end, num);
			return -1;
		}
		if (port_add(&r->ports, &r->nports, (uint16_t)num, end == num ? 0 : (uint16_t)end, pr))
			return -ENOMEM;
	}
	/* Ports were named and none remains: the rule must not become "every
	 * port" (no ports); it allows nothing. */
	return named && unresolved && !r->nports ? 1 : 0;
}

/* An ipBlock CIDR as Kubernetes reads it: host bits past the prefix are
 * allowed and mean the network (10.0.0.1/24 is 10.0.0.0/24). 0 or -EINVAL. */
static int k8s_cidr(const char *text, struct weft_cidr *c)
{
	int r = weft_cidr_parse(text, c);

	if (r != -EDOM)
		return r;
	for (unsigned int i = c->plen; i < 128; i++)
		c->net.a.s6_addr[i / 8] &= (uint8_t)~(0x80u >> (i % 8));
	return 0;
}

/* from/to peers of one rule. -1 (why), 0, -ENOMEM. */
static int np_peers(struct npctx *c, struct json_object *peers, const char *where,
		    struct weft_peer **out, size_t *nout)
{
	size_t n;

	if (!peers)
		return 0;
	if (!json_object_is_type(peers, json_type_array)) {
		snprintf(c->why, sizeof(c->why), "%s: not a list", where);
		return -1;
	}
	n = json_object_array_length(peers);
	*out = calloc(n ? n : 1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct json_object *p = json_object_array_get_idx(peers, i);
		struct json_object *ps = jget(p, "podSelector"), *nsel = jget(p, "namespaceSelector");
		struct json_object *ipb = jget(p, "ipBlock");
		struct weft_peer *w = &(*out)[i];
		char why[256];
		int r;

		*nout = i + 1;
		if (!ps && !nsel && !ipb) {
			snprintf(c->why, sizeof(c->why), "%s[%zu]: needs podSelector, namespaceSelector or ipBlock", where, i);
			return -1;
		}
		if (ipb && (ps || nsel)) {
			snprintf(c->why, sizeof(c->why), "%s[%zu]: ipBlock goes alone", where, i);
			return -1;
		}
		if (ipb) {
			struct json_object *ex = jget(ipb, "except");
			bool bad = false;
			const char *cidr = jstr(ipb, "cidr", &bad);

			if (bad || !cidr || k8s_cidr(cidr, &w->cidr)) {
				snprintf(c->why, sizeof(c->why), "%s[%zu].ipBlock.cidr: '%s' is not a CIDR",
					 where, i, cidr ? cidr : "");
				return -1;
			}
			w->has_cidr = true;
			if (ex && !json_object_is_type(ex, json_type_array)) {
				snprintf(c->why, sizeof(c->why), "%s[%zu].ipBlock.except: not a list", where, i);
				return -1;
			}
			w->except = calloc(ex ? json_object_array_length(ex) + 1 : 1, sizeof(*w->except));
			if (!w->except)
				return -ENOMEM;
			for (size_t j = 0; ex && j < json_object_array_length(ex); j++) {
				struct json_object *e = json_object_array_get_idx(ex, j);
				struct weft_cidr *x = &w->except[w->nexcept];

				if (!json_object_is_type(e, json_type_string) ||
				    k8s_cidr(json_object_get_string(e), x) ||
				    x->family != w->cidr.family || !weft_cidr_within(x, &w->cidr)) {
					snprintf(c->why, sizeof(c->why),
						 "%s[%zu].ipBlock.except[%zu]: not a CIDR within %s", where, i,
						 j, cidr);
					return -1;
				}
				w->nexcept++;
			}
			continue;
		}
		if (ps) {
			r = jselector(ps, &w->labels, &w->nlabels, &w->exprs, &w->nexprs, why,
				      sizeof(why));
			w->has_selector = true;
			if (r == -1)
				snprintf(c->why, sizeof(c->why), "%s[%zu].podSelector: %s", where, i, why);
			if (r)
				return r;
		}
		if (nsel) {
			r = jselector(nsel, &w->ns_labels, &w->ns_nlabels, &w->ns_exprs,
				      &w->ns_nexprs, why, sizeof(why));
			w->has_ns_selector = true;
			if (r == -1)
				snprintf(c->why, sizeof(c->why), "%s[%zu].namespaceSelector: %s", where, i, why);
			if (r)
				return r;
		}
	}
	return 0;
}

/* ingress or egress rules. -1 (why), 0, -ENOMEM. */
static int np_rules(struct npctx *c, struct json_object *rules, bool ingress,
		    struct weft_rule **out, size_t *nout)
{
	const char *dir = ingress ? "ingress" : "egress";
	size_t n;

	if (!rules)
		return 0;
	if (!json_object_is_type(rules, json_type_array)) {
		snprintf(c->why, sizeof(c->why), "spec.%s: not a list", dir);
		return -1;
	}
	n = json_object_array_length(rules);
	*out = calloc(n ? n : 1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct json_object *jr = json_object_array_get_idx(rules, i);
		struct weft_rule *r = &(*out)[*nout];
		char where[64];
		int ret;

		if (!json_object_is_type(jr, json_type_object)) {
			snprintf(c->why, sizeof(c->why), "spec.%s[%zu]: not an object", dir, i);
			return -1;
		}
		(*nout)++;
		snprintf(where, sizeof(where), "spec.%s[%zu].%s", dir, i, ingress ? "from" : "to");
		ret = ingress ? np_peers(c, jget(jr, "from"), where, &r->from, &r->nfrom) :
				np_peers(c, jget(jr, "to"), where, &r->to, &r->nto);
		if (ingress)
			r->has_from = true;
		else
			r->has_to = true;
		if (ret)
			return ret;
		snprintf(where, sizeof(where), "spec.%s[%zu]", dir, i);
		ret = np_ports(c, jget(jr, "ports"), ingress, where, r);
		if (ret < 0)
			return ret;
		if (ret == 1) {	/* allows nothing: drop the rule */
			weft_rule_clear(r);
			(*nout)--;
		}
	}
	return 0;
}

static int pol_cmp(const void *a, const void *b)
{
	const struct weft_policy *x = a, *y = b;
	int r = strcmp(x->ns, y->ns);

	return r ? r : strcmp(x->name, y->name);
}

/* Whether a policyTypes list holds t. -1: malformed. */
static int has_type(struct json_object *types, const char *t)
{
	int found = 0;

	for (size_t i = 0; i < json_object_array_length(types); i++) {
		struct json_object *v = json_object_array_get_idx(types, i);

		if (!json_object_is_type(v, json_type_string) ||
		    (strcmp(json_object_get_string(v), "Ingress") &&
		     strcmp(json_object_get_string(v), "Egress")))
			return -1;
		if (!strcmp(json_object_get_string(v), t))
			found = 1;
	}
	return found;
}

/* One NetworkPolicy into p. 0; -1 malformed (logged, p empty); -ENOMEM. */
static int np_one(struct json_object *o, struct json_object *pods, const struct weft_model *cfg,
		  struct weft_policy *p)
{
	struct json_object *spec = jget(o, "spec"), *types = jget(spec, "policyTypes");
	struct npctx c = { .pods = pods, .pol = p, .cfg = cfg };
	int in, eg, r;

	memset(p, 0, sizeof(*p));
	if (!meta_names(o, "NetworkPolicy", &c.ns, &c.name))
		return -1;
	if (!spec || !json_object_is_type(spec, json_type_object)) {
		snprintf(c.why, sizeof(c.why), "spec: missing");
		r = -1;
		goto done;
	}
	snprintf(p->name, sizeof(p->name), "%s", c.name);
	snprintf(p->ns, sizeof(p->ns), "%s", c.ns);
	p->origin.kind = "NetworkPolicy";
	strcpy(c.why, "spec.podSelector: ");
	r = jselector(jget(spec, "podSelector"), &p->labels, &p->nlabels, &p->exprs, &p->nexprs,
		      c.why + strlen(c.why), sizeof(c.why) - strlen(c.why));
	if (r)
		goto done;
	/* policyTypes: as written; else Ingress, and Egress if there are
	 * egress rules (the API server fills them in; older objects). */
	if (types && !json_object_is_type(types, json_type_array)) {
		snprintf(c.why, sizeof(c.why), "spec.policyTypes: not a list");
		r = -1;
		goto done;
	}
	in = types ? has_type(types, "Ingress") : 1;
	eg = types ? has_type(types, "Egress") :
		     jget(spec, "egress") && json_object_is_type(jget(spec, "egress"), json_type_array) &&
			     json_object_array_length(jget(spec, "egress")) > 0;
	if (in < 0 || eg < 0) {
		snprintf(c.why, sizeof(c.why), "spec.policyTypes: Ingress and Egress only");
		r = -1;
		goto done;
	}
	p->has_ingress = in;
	p->has_egress = eg;
	if (in)
		r = np_rules(&c, jget(spec, "ingress"), true, &p->ingress, &p->ningress);
	if (!r && eg)
		r = np_rules(&c, jget(spec, "egress"), false, &p->egress, &p->negress);
done:
	if (r == -1)
		bad_obj("NetworkPolicy", c.ns, c.name, "%s", c.why);
	if (r)
		weft_policy_clear(p);
	return r;
}

int weft_k8s_translate_netpols(struct json_object *pols, struct json_object *pods,
			       struct json_object *last_good, struct weft_model *cfg)
{
	size_t cap = cfg->npolicies;
	struct json_object *empty = NULL;
	int ret = 0;

	if (!pols)
		return 0;
	if (!pods)
		pods = empty = json_object_new_object();
	if (!pods)
		return -ENOMEM;
	json_object_object_foreach(pols, key, o) {
		struct json_object *prev = last_good ? jget(last_good, key) : NULL;
		struct weft_policy p;
		int r = np_one(o, pods, cfg, &p);

		if (r == -1 && prev && prev != o) {
			/* A bad update leaves the running policy as it was. */
			weft_log(LOG_ERROR, "k8s: NetworkPolicy %s: keeping its last good version", key);
			r = np_one(prev, pods, cfg, &p);
		} else if (!r && last_good && prev != o) {
			json_object_object_add(last_good, key, json_object_get(o));
		}
		if (r == -1)
			continue;
		if (!r && cfg->npolicies == cap) {
			void *np = realloc(cfg->policies, (cap = cap * 2 + 16) * sizeof(p));

			if (!np)
				r = -ENOMEM;
			else
				cfg->policies = np;
		}
		if (r) {
			weft_policy_clear(&p);
			ret = r;
			break;
		}
		cfg->policies[cfg->npolicies++] = p;
	}
	/* Forget the last good versions of deleted objects. */
	if (!ret && last_good) {
		json_object_object_foreach(last_good, key, o) {
			(void)o;
			if (!jget(pols, key))
				json_object_object_del(last_good, key);
		}
	}
	json_object_put(empty);
	if (!ret && cfg->npolicies > 1)
		qsort(cfg->policies, cfg->npolicies, sizeof(*cfg->policies), pol_cmp);
	return ret;
}

/* --- what the model's own rules reject ----------------------------------- */

struct rejects {
	bool *svc, *ep;
};

static void on_problem(void *ctx, enum weft_obj_kind kind, size_t index, const char *msg)
{
	struct rejects *r = ctx;

	weft_log(LOG_ERROR, "k8s: %s; skipped", msg);
	if (kind == WEFT_OBJ_SERVICE)
		r->svc[index] = true;
	else if (kind == WEFT_OBJ_ENDPOINT)
		r->ep[index] = true;
}

/* A Service and a ServiceImport may share a namespace and name. */
static bool same_kind(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* Every object of the model made from the same Kubernetes object as one
 * rejected goes too (a Service becomes a service per port and family, a
 * Pod an endpoint per address). Marks, then compacts. */
#define SPREAD(arr, n, bad)                                                                        \
	do {                                                                                       \
		for (size_t i_ = 0; i_ < (n); i_++)                                                \
			for (size_t j_ = 0; (bad)[i_] && j_ < (n); j_++)                           \
				if (!(bad)[j_] && !strcmp((arr)[j_].ns, (arr)[i_].ns) &&          \
				    !strcmp((arr)[j_].name, (arr)[i_].name) &&                   \
				    same_kind((arr)[j_].origin.kind, (arr)[i_].origin.kind))    \
					(bad)[j_] = true;                                          \
	} while (0)

int weft_k8s_reject_invalid(struct weft_model *m)
{
	struct rejects r = { calloc(m->nservices + 1, sizeof(bool)),
			     calloc(m->nendpoints + 1, sizeof(bool)) };
	size_t w;
	int n = -ENOMEM;

	if (!r.svc || !r.ep)
		goto out;
	n = weft_model_check(m, on_problem, &r);
	if (n <= 0)
		goto out;
	SPREAD(m->services, m->nservices, r.svc);
	SPREAD(m->endpoints, m->nendpoints, r.ep);
	w = 0;
	for (size_t i = 0; i < m->nservices; i++) {
		if (r.svc[i])
			weft_service_clear(&m->services[i]);
		else
			m->services[w++] = m->services[i];
	}
	m->nservices = w;
	w = 0;
	for (size_t i = 0; i < m->nendpoints; i++) {
		if (r.ep[i])
			weft_endpoint_clear(&m->endpoints[i]);
		else
			m->endpoints[w++] = m->endpoints[i];
	}
	m->nendpoints = w;
out:
	free(r.svc);
	free(r.ep);
	return n < 0 ? n : 0;
}

/* --- routes: Gateway API TCPRoute/UDPRoute, SMI TrafficSplit (issue 15) --- */

/* A route being built, with what orders it (oldest first, as the Gateway
 * API resolves conflicts). */
struct kroute {
	struct weft_route r;
	const char *created;		/* metadata.creationTimestamp, "" if none */
};

static int kroute_cmp(const void *a, const void *b)
{
	const struct kroute *x = a, *y = b;
	int c = strcmp(x->created, y->created);

	if (!c)
		c = strcmp(x->r.ns, y->r.ns);
	if (!c)
		c = strcmp(x->r.name, y->r.name);
	return c ? c : strcmp(x->r.origin.kind, y->r.origin.kind);
}

/* A name member that fits WEFT_NAME_LEN into out; false (logged) if bad. */
static bool kname(struct json_object *o, const char *key, const char *where, const char *kind,
		  const char *ns, const char *name, char *out, bool required)
{
	bool bad = false;
	const char *v = jstr(o, key, &bad);

	if (bad || (required && (!v || !*v)) || (v && strlen(v) >= WEFT_NAME_LEN)) {
		bad_obj(kind, ns, name, "%s.%s: %s", where, key,
			bad ? "not a string" : !v || !*v ? "required" : "too long");
		return false;
	}
	if (v)
		snprintf(out, WEFT_NAME_LEN, "%s", v);
	return true;
}

/* One backendRef (Gateway API) into b: only Services of the route's own
 * namespace resolve (no ReferenceGrant is read); another kind or namespace
 * keeps its share, refused (name left empty). false if malformed. */
static bool gw_backend(struct json_object *o, const char *where, const char *kind, const char *ns,
		       const char *name, struct weft_route_backend *b)
{
	bool bad = false;
	const char *group = jstr(o, "group", &bad), *k = jstr(o, "kind", &bad);
	char bns[WEFT_NAME_LEN] = "";
	long v = 1;

	if (bad || !kname(o, "name", where, kind, ns, name, b->ref.name, true) ||
	    !kname(o, "namespace", where, kind, ns, name, bns, false)) {
		if (bad)
			bad_obj(kind, ns, name, "%s: group and kind must be strings", where);
		return false;
	}
	if (jget(o, "weight") && !jint(jget(o, "weight"), 0, WEFT_ROUTE_MAX_WEIGHT, &v)) {
		bad_obj(kind, ns, name, "%s.weight: an integer 0..%d", where, WEFT_ROUTE_MAX_WEIGHT);
		return false;
	}
	b->weight = (uint32_t)v;
	v = 0;
	if (jget(o, "port") && !jint(jget(o, "port"), 1, 65535, &v)) {
		bad_obj(kind, ns, name, "%s.port: an integer 1..65535", where);
		return false;
	}
	b->ref.port = (uint16_t)v;
	snprintf(b->ref.ns, sizeof(b->ref.ns), "%s", ns);
	if ((group && *group) || (k && strcmp(k, "Service")) || (bns[0] && strcmp(bns, ns)))
		b->ref.name[0] = 0;	/* does not resolve: its share is refused */
	return true;
}

static int kroute_add(struct kroute **v, size_t *n, size_t *cap, const struct kroute *x)
{
	if (*n == *cap) {
		size_t nc = *cap ? 2 * *cap : 16;
		struct kroute *q = realloc(*v, nc * sizeof(*q));

		if (!q)
			return -ENOMEM;
		*v = q;
		*cap = nc;
	}
	(*v)[(*n)++] = *x;
	return 0;
}

/* The rules of a TCPRoute/UDPRoute into r (rules[].backendRefs[]). 1 if
 * malformed (logged), 0, -ENOMEM. */
static int gw_rules(struct json_object *rules, const char *kind, const char *ns, const char *name,
		    struct weft_route *r)
{
	size_t n = rules && json_object_is_type(rules, json_type_array) ? json_object_array_length(rules) : 0;

	if (!n) {
		bad_obj(kind, ns, name, "spec.rules: at least one rule");
		return 1;
	}
	r->rules = calloc(n, sizeof(*r->rules));
	if (!r->rules)
		return -ENOMEM;
	r->nrules = n;
	for (size_t i = 0; i < n; i++) {
		struct json_object *refs = jget(json_object_array_get_idx(rules, i), "backendRefs");
		size_t nb = refs && json_object_is_type(refs, json_type_array) ? json_object_array_length(refs) : 0;
		struct weft_route_rule *rule = &r->rules[i];

		if (nb > WEFT_ROUTE_MAX_BACKENDS) {
			bad_obj(kind, ns, name, "spec.rules[%zu].backendRefs: more than %d", i,
				WEFT_ROUTE_MAX_BACKENDS);
			return 1;
		}
		rule->backends = calloc(nb + 1, sizeof(*rule->backends));
		if (!rule->backends)
			return -ENOMEM;
		for (size_t j = 0; j < nb; j++) {
			char where[64];

			snprintf(where, sizeof(where), "spec.rules[%zu].backendRefs[%zu]", i, j);
			if (!gw_backend(json_object_array_get_idx(refs, j), where, kind, ns, name,
					&rule->backends[j]))
				return 1;
			rule->nbackends++;
		}
	}
	return 0;
}

/* The model routes of one TCPRoute or UDPRoute: one per Service parentRef
 * (others, Gateways, are not weft's). */
static int gw_route(struct json_object *o, const char *kind, uint8_t proto, struct kroute **v,
		    size_t *n, size_t *cap)
{
	struct json_object *spec = jget(o, "spec"), *parents = jget(spec, "parentRefs");
	size_t np = parents && json_object_is_type(parents, json_type_array) ? json_object_array_length(parents) : 0;
	const char *ns, *name, *created;
	bool bad = false;
	int ret = 0;

	if (!meta_names(o, kind, &ns, &name))
		return 0;
	created = jstr(jget(o, "metadata"), "creationTimestamp", &bad);
	if (bad)
		created = NULL;
	for (size_t i = 0; !ret && i < np; i++) {
		struct json_object *p = json_object_array_get_idx(parents, i);
		const char *group, *k;
		struct kroute x = { .created = created ? created : "" };
		char where[64];

		bad = false;
		group = jstr(p, "group", &bad);
		k = jstr(p, "kind", &bad);
		long port = 0;

		/* a Service parent says group "" and kind Service */
		if (bad || !group || *group || !k || strcmp(k, "Service"))
			continue;
		snprintf(where, sizeof(where), "spec.parentRefs[%zu]", i);
		if (!kname(p, "name", where, kind, ns, name, x.r.parent.name, true) ||
		    !kname(p, "namespace", where, kind, ns, name, x.r.parent.ns, false))
			return 0;
		if (jget(p, "port") && !jint(jget(p, "port"), 1, 65535, &port)) {
			bad_obj(kind, ns, name, "%s.port: an integer 1..65535", where);
			return 0;
		}
		if (!x.r.parent.ns[0])
			snprintf(x.r.parent.ns, sizeof(x.r.parent.ns), "%s", ns);
		x.r.parent.port = (uint16_t)port;
		x.r.proto = proto;
		snprintf(x.r.name, sizeof(x.r.name), "%s", name);
		snprintf(x.r.ns, sizeof(x.r.ns), "%s", ns);
		x.r.origin.kind = kind;
		ret = gw_rules(jget(spec, "rules"), kind, ns, name, &x.r);
		if (!ret)
			ret = kroute_add(v, n, cap, &x);
		if (ret) {
			weft_route_clear(&x.r);
			return ret < 0 ? ret : 0;
		}
	}
	return 0;
}

/* An SMI TrafficSplit (v1alpha3, v1alpha4: weights are integers):
 * spec.service, spec.backends[{service, weight}], one namespace. */
static int smi_split(struct json_object *o, struct kroute **v, size_t *n, size_t *cap)
{
	static const char kind[] = "TrafficSplit";
	struct json_object *spec = jget(o, "spec"), *bes = jget(spec, "backends");
	size_t nb = bes && json_object_is_type(bes, json_type_array) ? json_object_array_length(bes) : 0;
	struct kroute x = { .created = "" };
	const char *ns, *name, *created;
	bool bad = false;
	int ret;

	if (!meta_names(o, kind, &ns, &name) ||
	    !kname(spec, "service", "spec", kind, ns, name, x.r.parent.name, true))
		return 0;
	created = jstr(jget(o, "metadata"), "creationTimestamp", &bad);
	x.created = created && !bad ? created : "";
	if (!nb || nb > WEFT_ROUTE_MAX_BACKENDS) {
		bad_obj(kind, ns, name, "spec.backends: 1 to %d entries", WEFT_ROUTE_MAX_BACKENDS);
		return 0;
	}
	snprintf(x.r.name, sizeof(x.r.name), "%s", name);
	snprintf(x.r.ns, sizeof(x.r.ns), "%s", ns);
	snprintf(x.r.parent.ns, sizeof(x.r.parent.ns), "%s", ns);
	x.r.origin.kind = kind;
	x.r.rules = calloc(1, sizeof(*x.r.rules));
	if (!x.r.rules || !(x.r.rules[0].backends = calloc(nb, sizeof(struct weft_route_backend)))) {
		weft_route_clear(&x.r);
		free(x.r.rules);
		return -ENOMEM;
	}
	x.r.nrules = 1;
	for (size_t i = 0; i < nb; i++) {
		struct json_object *b = json_object_array_get_idx(bes, i);
		struct weft_route_backend *rb = &x.r.rules[0].backends[i];
		char where[64];
		long w = 0;

		snprintf(where, sizeof(where), "spec.backends[%zu]", i);
		if (!kname(b, "service", where, kind, ns, name, rb->ref.name, true) ||
		    !jint(jget(b, "weight"), 0, WEFT_ROUTE_MAX_WEIGHT, &w)) {
			if (rb->ref.name[0])
				bad_obj(kind, ns, name, "%s.weight: an integer 0..%d", where,
					WEFT_ROUTE_MAX_WEIGHT);
			weft_route_clear(&x.r);
			return 0;
		}
		snprintf(rb->ref.ns, sizeof(rb->ref.ns), "%s", ns);
		rb->weight = (uint32_t)w;
		x.r.rules[0].nbackends++;
	}
	ret = kroute_add(v, n, cap, &x);
	if (ret)
		weft_route_clear(&x.r);
	return ret;
}

int weft_k8s_translate_routes(struct json_object *tcp, struct json_object *udp,
			      struct json_object *splits, struct weft_model *cfg)
{
	struct kroute *v = NULL;
	size_t n = 0, cap = 0;
	int ret = 0;

	if (tcp) {
		json_object_object_foreach(tcp, k1, o) {
			(void)k1;
			if (!ret)
				ret = gw_route(o, "TCPRoute", IPPROTO_TCP, &v, &n, &cap);
		}
	}
	if (udp) {
		json_object_object_foreach(udp, k2, o) {
			(void)k2;
			if (!ret)
				ret = gw_route(o, "UDPRoute", IPPROTO_UDP, &v, &n, &cap);
		}
	}
	if (splits) {
		json_object_object_foreach(splits, k3, o) {
			(void)k3;
			if (!ret)
				ret = smi_split(o, &v, &n, &cap);
		}
	}
	if (!ret && n) {
		void *q = realloc(cfg->routes, (cfg->nroutes + n) * sizeof(*cfg->routes));

		if (!q) {
			ret = -ENOMEM;
		} else {
			cfg->routes = q;
			qsort(v, n, sizeof(*v), kroute_cmp);
			for (size_t i = 0; i < n; i++)
				cfg->routes[cfg->nroutes++] = v[i].r;
			n = 0;
		}
	}
	for (size_t i = 0; i < n; i++)
		weft_route_clear(&v[i].r);
	free(v);
	return ret;
}
