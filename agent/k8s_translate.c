// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * k8s_translate: Services and EndpointSlices (as the API returns them) into
 * the services of a weft_config. Pure: no I/O but the log line naming a
 * malformed object.
 *
 * One weft service per Service port and IP family. Its backends are the
 * endpoints of the EndpointSlices labelled kubernetes.io/service-name with
 * that Service's name, of the same address family, whose port of the same
 * name and protocol gives each backend its own port (a named targetPort can
 * resolve differently per endpoint). Endpoints that are ready (a missing
 * condition counts as ready) are used; only when none is, those serving and
 * terminating are (as kube-proxy does).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <json-c/json.h>

#include "k8s.h"
#include "lb.h"
#include "log.h"

#define SVC_LABEL "kubernetes.io/service-name"

struct kport {
	char name[WEFT_NAME_LEN];
	uint16_t port;
	uint8_t proto;
	uint16_t target;		/* numeric targetPort, or 0 if named */
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
	struct json_object *weights;	/* owned; NULL = all 1 */
};

/* A slice that passed the checks. */
struct kslice {
	struct json_object *obj;
	const char *ns, *service;
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
	json_object_put(s->weights);
}

/* 1: a ClusterIP service to translate; 0: one weft ignores (headless,
 * ExternalName, no IP); -1: malformed (logged); -ENOMEM. */
static int svc_parse(struct json_object *o, struct ksvc *s)
{
	struct json_object *spec, *ips, *ports, *ann;
	const char *type, *cip, *aff, *lb, *w;
	bool bad = false;
	size_t n;

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

	ann = jget(jget(o, "metadata"), "annotations");
	lb = jstr(ann, WEFT_K8S_ANN_LB, &bad);
	w = jstr(ann, WEFT_K8S_ANN_WEIGHTS, &bad);
	if (bad)
		BAD("metadata.annotations: values must be strings");
	s->lb = WEFT_LB_RANDOM;
	if (lb && !strcmp(lb, "round_robin"))
		s->lb = WEFT_LB_ROUND_ROBIN;
	else if (lb && !strcmp(lb, "maglev"))
		s->lb = WEFT_LB_MAGLEV;
	else if (lb && strcmp(lb, "random"))
		BAD("annotation " WEFT_K8S_ANN_LB ": '%s' (random, round_robin or maglev)", lb);
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
	at = jstr(o, "addressType", &bad);
	if (bad)
		BAD("addressType and labels must be strings");
	if (!ks->service)
		return false; /* not a Service's slice */
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

static bool cond(struct json_object *c, const char *key, bool dflt)
{
	struct json_object *v = jget(c, key);

	return v ? json_object_get_boolean(v) : dflt;
}

static int be_cmp(const void *a, const void *b)
{
	const struct weft_backend_cfg *x = a, *y = b;
	int r = memcmp(&x->ip, &y->ip, sizeof(x->ip));

	return r ? r : x->port - y->port;
}

/* Backends of one service port in one family: ready endpoints, else the
 * serving terminating ones. Sorted, unique by address and port. */
static int backends_of(const struct ksvc *s, const struct kport *kp, int family,
		       const struct kslice *sl, size_t nsl, struct weft_service *out)
{
	struct weft_backend_cfg *be[2] = { 0 };	/* 0: ready, 1: terminating */
	size_t n[2] = { 0 }, cap[2] = { 0 };
	int use;

	for (size_t i = 0; i < nsl; i++) {
		struct json_object *ports = jget(sl[i].obj, "ports"), *eps;
		long port = -1;
		bool bad = false;

		if (sl[i].family != family || strcmp(sl[i].ns, s->ns) || strcmp(sl[i].service, s->name))
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
			struct weft_backend_cfg *b;
			int k = ready ? 0 : 1;
			long w = 1;

			if (!ready && !(serving && term))
				continue;
			if (n[k] == cap[k]) {
				void *p = realloc(be[k], (cap[k] = cap[k] * 2 + 8) * sizeof(*be[k]));

				if (!p) {
					free(be[0]);
					free(be[1]);
					return -ENOMEM;
				}
				be[k] = p;
			}
			b = &be[k][n[k]++];
			memset(b, 0, sizeof(*b));
			weft_ip_parse(addr, &b->ip);
			b->port = port;
			jint(jget(s->weights, addr), 1, 65535, &w);
			b->weight = w;
		}
	}
	use = n[0] ? 0 : 1;
	free(be[!use]);
	if (n[use] > 1) {
		size_t u = 1;

		qsort(be[use], n[use], sizeof(*be[use]), be_cmp);
		for (size_t i = 1; i < n[use]; i++)
			if (be_cmp(&be[use][i], &be[use][u - 1]))
				be[use][u++] = be[use][i];
		n[use] = u;
	}
	if (n[use] > WEFT_LB_MAX_BACKENDS) {
		bad_obj("Service", s->ns, s->name, "port %u: %zu endpoints, only the first %d used",
			kp->port, n[use], WEFT_LB_MAX_BACKENDS);
		n[use] = WEFT_LB_MAX_BACKENDS;
	}
	out->backends = be[use];
	out->nbackends = n[use];
	return 0;
}

/* Another service already has this frontend (the API server prevents it;
 * a malformed object could not). */
static bool frontend_taken(const struct weft_config *cfg, const struct weft_service *ws)
{
	for (size_t i = 0; i < cfg->nservices; i++) {
		const struct weft_service *o = &cfg->services[i];

		if (!memcmp(&o->vip, &ws->vip, sizeof(ws->vip)) &&
		    o->ports[0].port == ws->ports[0].port && o->ports[0].proto == ws->ports[0].proto) {
			char ip[INET6_ADDRSTRLEN];

			bad_obj("Service", ws->ns, ws->name, "%s port %u is also Service %s/%s's",
				weft_ip_str(&ws->vip, ip, sizeof(ip)), ws->ports[0].port, o->ns, o->name);
			return true;
		}
	}
	return false;
}

static int add_service(struct weft_config *cfg, size_t *cap, const struct ksvc *s,
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
			ws->ports = calloc(1, sizeof(*ws->ports));
			if (!ws->ports)
				return -ENOMEM;
			ws->nports = 1;
			ws->ports[0] = (struct weft_port){ .port = s->ports[i].port,
							   .proto = s->ports[i].proto };
			memcpy(ws->ports[0].name, s->ports[i].name, sizeof(ws->ports[0].name));
			ret = backends_of(s, &s->ports[i], s->family[f], sl, nsl, ws);
			if (ret) {
				free(ws->ports);
				return ret;
			}
			ws->ports[0].target_port = s->ports[i].target ? s->ports[i].target :
						   ws->nbackends ? ws->backends[0].port :
								   s->ports[i].port;
			if (frontend_taken(cfg, ws)) {
				free(ws->ports);
				free(ws->backends);
				continue;
			}
			cfg->nservices++;
		}
	}
	return 0;
}

int weft_k8s_translate(struct json_object *services, struct json_object *slices,
		       struct weft_config *cfg)
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
			if (slice_ok(v, &sl[nsl]))
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
	return ret;
}
