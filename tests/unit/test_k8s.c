// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Unit tests of the Kubernetes translation: objects in the exact shape the
 * API returns (as recorded from a v1.30 cluster) into weft services. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>

#include "harness.h"
#include "source/file.h"
#include "source/k8s/k8s.h"
#include "source/k8s/internal.h"
#include "lib/log.h"
#include "testenv.h"

/* A Service as `kubectl get svc web -o json` shows it; %s placeholders:
 * annotations, clusterIP, clusterIPs, ports, sessionAffinity block. */
#define SVC_FMT                                                                            \
	"{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"annotations\":{%s},"   \
	"\"creationTimestamp\":\"2024-05-02T10:11:12Z\",\"name\":\"%s\",\"namespace\":\"default\","\
	"\"resourceVersion\":\"1201\",\"uid\":\"6f1c2f5e-8f0b-4c55-9f3a-0c1d2e3f4a5b\"},"  \
	"\"spec\":{\"clusterIP\":\"%s\",\"clusterIPs\":[%s],\"internalTrafficPolicy\":\"Cluster\"," \
	"\"ipFamilies\":[\"IPv4\"],\"ipFamilyPolicy\":\"SingleStack\",\"ports\":[%s],"       \
	"\"selector\":{\"app\":\"web\"},%s\"type\":\"ClusterIP\"},\"status\":{\"loadBalancer\":{}}}"

#define PORTS_WEB                                                                          \
	"{\"name\":\"http\",\"port\":80,\"protocol\":\"TCP\",\"targetPort\":\"http\"},"      \
	"{\"name\":\"dns\",\"port\":53,\"protocol\":\"UDP\",\"targetPort\":8080}"

/* An EndpointSlice as the endpointslice controller writes it. */
#define EP(ip, ready, serving, term)                                                       \
	"{\"addresses\":[\"" ip "\"],\"conditions\":{\"ready\":" ready ",\"serving\":" serving \
	",\"terminating\":" term "},\"nodeName\":\"node-1\",\"targetRef\":{\"kind\":\"Pod\","   \
	"\"name\":\"web-7d4b9c\",\"namespace\":\"default\",\"uid\":\"0a1b2c3d\"},\"zone\":\"z1\"}"
#define EP_READY(ip) EP(ip, "true", "true", "false")
#define SLICE_FMT                                                                          \
	"{\"addressType\":\"%s\",\"apiVersion\":\"discovery.k8s.io/v1\",\"endpoints\":[%s],"  \
	"\"kind\":\"EndpointSlice\",\"metadata\":{\"generateName\":\"%s-\",\"labels\":{"      \
	"\"endpointslice.kubernetes.io/managed-by\":\"endpointslice-controller.k8s.io\","     \
	"\"kubernetes.io/service-name\":\"%s\"},\"name\":\"%s\",\"namespace\":\"default\","   \
	"\"resourceVersion\":\"1305\",\"uid\":\"9e8d7c6b\"},\"ports\":[%s]}"

struct fx {
	struct json_object *svcs, *slices;
	struct weft_model cfg;
	int n;
};

static void fx_init(struct fx *f)
{
	memset(f, 0, sizeof(*f));
	f->svcs = json_object_new_object();
	f->slices = json_object_new_object();
	weft_log_level = LOG_ERROR + 0;	/* the skipped objects' lines are expected */
}

static void add(struct json_object *cache, const char *text, int *n)
{
	char key[16];
	struct json_object *o = json_tokener_parse(text);

	snprintf(key, sizeof(key), "%d", (*n)++);
	if (!o) {
		fprintf(stderr, "fixture is not JSON: %s\n", text);
		abort();
	}
	json_object_object_add(cache, key, o);
}

static void svc(struct fx *f, const char *name, const char *ann, const char *ip, const char *ips,
		const char *ports, const char *aff)
{
	char buf[8192];

	snprintf(buf, sizeof(buf), SVC_FMT, ann, name, ip, ips, ports, aff);
	add(f->svcs, buf, &f->n);
}

static void slice(struct fx *f, const char *svcname, const char *name, const char *family,
		  const char *eps, const char *ports)
{
	char buf[8192];

	snprintf(buf, sizeof(buf), SLICE_FMT, family, eps, svcname, svcname, name, ports);
	add(f->slices, buf, &f->n);
}

static int run(struct fx *f)
{
	return weft_k8s_translate(f->svcs, f->slices, &f->cfg);
}

static void fx_free(struct fx *f)
{
	for (size_t i = 0; i < f->cfg.nservices; i++)
		weft_service_clear(&f->cfg.services[i]);
	free(f->cfg.services);
	json_object_put(f->svcs);
	json_object_put(f->slices);
}

/* The weft service for name/port/family, or NULL. */
static const struct weft_service *find(const struct fx *f, const char *name, int port, int family)
{
	for (size_t i = 0; i < f->cfg.nservices; i++) {
		const struct weft_service *s = &f->cfg.services[i];

		if (!strcmp(s->name, name) && s->ports[0].port == port && s->family == family)
			return s;
	}
	return NULL;
}

/* "ip:port/weight ..." of the backends new connections of a service go to
 * from a pod of node in zone, through the vip or (external) another
 * frontend (weft_service_in_use), sorted as built. */
static const char *bes_at(const struct weft_service *s, const char *node, const char *zone,
			  bool external, char *buf, size_t len)
{
	bool use[64] = { 0 };
	size_t o = 0;

	buf[0] = 0;
	if (!s || s->nbackends > 64)
		return buf;
	weft_service_in_use(s, node, zone, external, use);
	for (size_t i = 0; i < s->nbackends && o < len; i++) {
		char ip[64];

		if (!use[i])
			continue;
		o += snprintf(buf + o, len - o, "%s%s:%u/%u", o ? " " : "",
			      weft_ip_str(&s->backends[i].ip, ip, sizeof(ip)), s->backends[i].port,
			      s->backends[i].weight);
	}
	return buf;
}

static const char *bes_on(const struct weft_service *s, const char *node, char *buf, size_t len)
{
	return bes_at(s, node, NULL, false, buf, len);
}

static const char *bes(const struct weft_service *s, char *buf, size_t len)
{
	return bes_on(s, "node-1", buf, len);
}

#define SLICE_PORTS_8080                                                                   \
	"{\"name\":\"http\",\"port\":8080,\"protocol\":\"TCP\"},{\"name\":\"dns\",\"port\":8080,\"protocol\":\"UDP\"}"

TEST(unit, k8s_named_target_port_resolves_per_endpoint)
{
	struct fx f;
	char buf[512];
	const struct weft_service *s;

	fx_init(&f);
	svc(&f, "web", "", "10.96.0.10", "\"10.96.0.10\"", PORTS_WEB, "\"sessionAffinity\":\"None\",");
	slice(&f, "web", "web-abc12", "IPv4", EP_READY("10.0.0.1") "," EP_READY("10.0.0.2"),
	      SLICE_PORTS_8080);
	slice(&f, "web", "web-def34", "IPv4", EP_READY("10.0.0.3"),
	      "{\"name\":\"http\",\"port\":9090,\"protocol\":\"TCP\"}");
	if (!ASSERT_OK(run(&f), "translate"))
		goto out;
	ASSERT_EQ(f.cfg.nservices, 2, "one weft service per port");
	s = find(&f, "web", 80, AF_INET);
	if (!ASSERT_NOT_NULL(s, "web:80"))
		goto out;
	ASSERT_EQ(s->nports, 1, "one port");
	ASSERT_EQ(s->ports[0].proto, IPPROTO_TCP, "tcp");
	ASSERT_STR(s->ports[0].name, "http", "port name");
	ASSERT_STR(bes(s, buf, sizeof(buf)), "10.0.0.1:8080/1 10.0.0.2:8080/1 10.0.0.3:9090/1",
		   "each endpoint with its own port");
	ASSERT_EQ(s->lb, WEFT_LB_RANDOM, "default lb");
	ASSERT_EQ(s->affinity, 0, "no affinity");
	s = find(&f, "web", 53, AF_INET);
	if (ASSERT_NOT_NULL(s, "web:53")) {
		ASSERT_EQ(s->ports[0].proto, IPPROTO_UDP, "udp");
		ASSERT_EQ(s->ports[0].target_port, 8080, "numeric target port");
		ASSERT_STR(bes(s, buf, sizeof(buf)), "10.0.0.1:8080/1 10.0.0.2:8080/1",
			   "only the slice with a dns port");
	}
out:
	fx_free(&f);
}

TEST(unit, k8s_conditions_ready_nil_and_terminating_fallback)
{
	struct fx f;
	char buf[512];

	fx_init(&f);
	svc(&f, "web", "", "10.96.0.10", "\"10.96.0.10\"", PORTS_WEB, "");
	slice(&f, "web", "web-1", "IPv4",
	      EP("10.0.0.1", "null", "null", "null") ","	  /* nil ready: ready */
	      EP("10.0.0.2", "false", "true", "true") ","	  /* terminating, serving */
	      EP("10.0.0.3", "false", "false", "false") ","	  /* not ready */
	      "{\"addresses\":[\"10.0.0.4\"],\"conditions\":{}}", /* no conditions: ready */
	      SLICE_PORTS_8080);
	/* Another service whose endpoints are all terminating. */
	svc(&f, "old", "", "10.96.0.11", "\"10.96.0.11\"", PORTS_WEB, "");
	slice(&f, "old", "old-1", "IPv4",
	      EP("10.0.1.1", "false", "true", "true") "," EP("10.0.1.2", "false", "false", "true"),
	      SLICE_PORTS_8080);
	if (!ASSERT_OK(run(&f), "translate"))
		goto out;
	ASSERT_STR(bes(find(&f, "web", 80, AF_INET), buf, sizeof(buf)),
		   "10.0.0.1:8080/1 10.0.0.4:8080/1", "ready ones only");
	ASSERT_STR(bes(find(&f, "old", 80, AF_INET), buf, sizeof(buf)), "10.0.1.1:8080/1",
		   "no ready endpoint: the serving terminating one");
out:
	fx_free(&f);
}

/* EP on another node. */
#define EP_ON(ip, node, ready, serving, term)                                                 \
	"{\"addresses\":[\"" ip "\"],\"conditions\":{\"ready\":" ready ",\"serving\":" serving \
	",\"terminating\":" term "},\"nodeName\":\"" node "\"}"

TEST(unit, k8s_internal_traffic_policy_local_and_publish_not_ready)
{
	char buf[512], text[8192], *p;
	struct fx f;

	fx_init(&f);
	/* Local: only node-1's endpoints; node-2's and one with no nodeName
	 * are not this node's. */
	snprintf(text, sizeof(text), SVC_FMT, "", "loc", "10.96.0.20", "\"10.96.0.20\"", PORTS_WEB, "");
	p = strstr(text, "\"Cluster\"");
	memcpy(p, "\"Local\"  ", 9);
	add(f.svcs, text, &f.n);
	slice(&f, "loc", "loc-1", "IPv4",
	      EP_ON("10.0.2.1", "node-1", "true", "true", "false") ","
	      EP_ON("10.0.2.2", "node-2", "true", "true", "false") ","
	      "{\"addresses\":[\"10.0.2.3\"]}",
	      SLICE_PORTS_8080);
	/* publishNotReadyAddresses: the not-ready and terminating ones too */
	svc(&f, "pnr", "", "10.96.0.21", "\"10.96.0.21\"", PORTS_WEB,
	    "\"publishNotReadyAddresses\":true,");
	slice(&f, "pnr", "pnr-1", "IPv4",
	      EP_ON("10.0.3.1", "node-2", "true", "true", "false") ","
	      EP_ON("10.0.3.2", "node-2", "false", "false", "false") ","
	      EP_ON("10.0.3.3", "node-2", "false", "true", "true"),
	      SLICE_PORTS_8080);
	/* a bad internalTrafficPolicy: that Service alone is skipped */
	snprintf(text, sizeof(text), SVC_FMT, "", "bad", "10.96.0.22", "\"10.96.0.22\"", PORTS_WEB, "");
	p = strstr(text, "\"Cluster\"");
	memcpy(p, "\"Nearby\" ", 9);
	add(f.svcs, text, &f.n);
	if (!ASSERT_OK(run(&f), "translate"))
		goto out;
	ASSERT_TRUE(find(&f, "loc", 80, AF_INET) && find(&f, "loc", 80, AF_INET)->node_local,
		    "internalTrafficPolicy Local read");
	ASSERT_STR(bes_on(find(&f, "loc", 80, AF_INET), "node-1", buf, sizeof(buf)),
		   "10.0.2.1:8080/1", "Local on node-1: its own endpoint only");
	ASSERT_STR(bes_on(find(&f, "loc", 80, AF_INET), "node-2", buf, sizeof(buf)),
		   "10.0.2.2:8080/1", "Local on node-2: its own");
	ASSERT_STR(bes_on(find(&f, "loc", 80, AF_INET), "node-3", buf, sizeof(buf)), "",
		   "Local on a node without endpoints: none (connect refused)");
	ASSERT_STR(bes(find(&f, "pnr", 80, AF_INET), buf, sizeof(buf)),
		   "10.0.3.1:8080/1 10.0.3.2:8080/1 10.0.3.3:8080/1",
		   "publishNotReadyAddresses: every endpoint");
	ASSERT_TRUE(!find(&f, "bad", 80, AF_INET), "a bad internalTrafficPolicy skips its Service");
out:
	fx_free(&f);
}

TEST(unit, k8s_affinity_headless_externalname_sctp)
{
	struct fx f;

	fx_init(&f);
	svc(&f, "aff", "", "10.96.0.12", "\"10.96.0.12\"", PORTS_WEB,
	    "\"sessionAffinity\":\"ClientIP\",\"sessionAffinityConfig\":{\"clientIP\":{\"timeoutSeconds\":600}},");
	svc(&f, "affdef", "", "10.96.0.13", "\"10.96.0.13\"",
	    "{\"port\":80,\"protocol\":\"TCP\",\"targetPort\":80},{\"port\":99,\"protocol\":\"SCTP\",\"targetPort\":99}",
	    "\"sessionAffinity\":\"ClientIP\",");
	svc(&f, "headless", "", "None", "\"None\"", PORTS_WEB, "");
	add(f.svcs,
	    "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"ext\",\"namespace\":\"default\"},"
	    "\"spec\":{\"externalName\":\"example.com\",\"sessionAffinity\":\"None\",\"type\":\"ExternalName\"}}",
	    &f.n);
	if (!ASSERT_OK(run(&f), "translate"))
		goto out;
	ASSERT_EQ(f.cfg.nservices, 3, "aff x2, affdef x1 (SCTP port skipped), no headless, no ExternalName");
	if (ASSERT_NOT_NULL(find(&f, "aff", 80, AF_INET), "aff"))
		ASSERT_EQ(find(&f, "aff", 80, AF_INET)->affinity, 600, "timeoutSeconds");
	if (ASSERT_NOT_NULL(find(&f, "affdef", 80, AF_INET), "affdef"))
		ASSERT_EQ(find(&f, "affdef", 80, AF_INET)->affinity, WEFT_K8S_DEF_AFFINITY,
			  "default timeout");
	ASSERT_TRUE(!find(&f, "affdef", 99, AF_INET), "no SCTP");
out:
	fx_free(&f);
}

TEST(unit, k8s_dual_stack_one_service_per_family)
{
	struct fx f;
	char buf[512];

	fx_init(&f);
	svc(&f, "ds", "", "10.96.0.14", "\"10.96.0.14\",\"fd00:96::14\"",
	    "{\"name\":\"http\",\"port\":80,\"protocol\":\"TCP\",\"targetPort\":8080}", "");
	slice(&f, "ds", "ds-v4", "IPv4", EP_READY("10.0.0.1"),
	      "{\"name\":\"http\",\"port\":8080,\"protocol\":\"TCP\"}");
	slice(&f, "ds", "ds-v6", "IPv6", EP_READY("fd00::1") "," EP_READY("fd00::2"),
	      "{\"name\":\"http\",\"port\":8080,\"protocol\":\"TCP\"}");
	if (!ASSERT_OK(run(&f), "translate"))
		goto out;
	ASSERT_EQ(f.cfg.nservices, 2, "two families");
	ASSERT_STR(bes(find(&f, "ds", 80, AF_INET), buf, sizeof(buf)), "10.0.0.1:8080/1", "v4 backends");
	ASSERT_STR(bes(find(&f, "ds", 80, AF_INET6), buf, sizeof(buf)), "fd00::1:8080/1 fd00::2:8080/1",
		   "v6 backends");
out:
	fx_free(&f);
}

TEST(unit, k8s_annotations_lb_and_weights)
{
	struct fx f;
	char buf[512];

	fx_init(&f);
	svc(&f, "canary", "\"weft.dev/lb\":\"maglev\",\"weft.dev/weights\":\"{\\\"10.0.0.1\\\": 90, \\\"10.0.0.2\\\": 10}\"",
	    "10.96.0.15", "\"10.96.0.15\"", PORTS_WEB, "");
	svc(&f, "rr", "\"weft.dev/lb\":\"round_robin\"", "10.96.0.16", "\"10.96.0.16\"", PORTS_WEB, "");
	svc(&f, "badlb", "\"weft.dev/lb\":\"fastest\"", "10.96.0.17", "\"10.96.0.17\"", PORTS_WEB, "");
	svc(&f, "badw", "\"weft.dev/weights\":\"{\\\"10.0.0.1\\\": 0}\"", "10.96.0.18", "\"10.96.0.18\"",
	    PORTS_WEB, "");
	slice(&f, "canary", "canary-1", "IPv4", EP_READY("10.0.0.1") "," EP_READY("10.0.0.2"),
	      SLICE_PORTS_8080);
	if (!ASSERT_OK(run(&f), "translate"))
		goto out;
	ASSERT_EQ(f.cfg.nservices, 4, "canary and rr, not the malformed ones");
	if (ASSERT_NOT_NULL(find(&f, "canary", 80, AF_INET), "canary"))
		ASSERT_EQ(find(&f, "canary", 80, AF_INET)->lb, WEFT_LB_MAGLEV, "maglev");
	ASSERT_STR(bes(find(&f, "canary", 80, AF_INET), buf, sizeof(buf)),
		   "10.0.0.1:8080/90 10.0.0.2:8080/10", "weights");
	if (ASSERT_NOT_NULL(find(&f, "rr", 80, AF_INET), "rr"))
		ASSERT_EQ(find(&f, "rr", 80, AF_INET)->lb, WEFT_LB_ROUND_ROBIN, "round robin");
out:
	fx_free(&f);
}

TEST(unit, k8s_malformed_objects_are_skipped_alone)
{
	struct fx f;
	char buf[512];

	fx_init(&f);
	svc(&f, "good", "", "10.96.0.20", "\"10.96.0.20\"", PORTS_WEB, "");
	svc(&f, "badip", "", "banana", "\"banana\"", PORTS_WEB, "");
	svc(&f, "badport", "", "10.96.0.21", "\"10.96.0.21\"",
	    "{\"name\":\"http\",\"port\":70000,\"protocol\":\"TCP\"}", "");
	svc(&f, "badproto", "", "10.96.0.22", "\"10.96.0.22\"", "{\"port\":80,\"protocol\":\"ICMP\"}", "");
	svc(&f, "dupvip", "", "10.96.0.20", "\"10.96.0.20\"", PORTS_WEB, "");
	add(f.svcs, "{\"kind\":\"Service\",\"metadata\":{\"name\":\"nospec\",\"namespace\":\"default\"}}", &f.n);
	add(f.svcs, "{\"kind\":\"Service\",\"metadata\":{\"name\":5},\"spec\":{}}", &f.n);
	add(f.svcs, "[1,2,3]", &f.n);
	slice(&f, "good", "good-1", "IPv4", EP_READY("10.0.0.1"), SLICE_PORTS_8080);
	slice(&f, "good", "good-bad", "IPv4", EP_READY("fd00::1"), SLICE_PORTS_8080);
	slice(&f, "good", "good-bad2", "IPv4", "{\"addresses\":[7]}", SLICE_PORTS_8080);
	slice(&f, "good", "good-bad3", "Martian", EP_READY("10.0.0.9"), SLICE_PORTS_8080);
	if (!ASSERT_OK(run(&f), "translate"))
		goto out;
	ASSERT_EQ(f.cfg.nservices, 2, "only good's two ports");
	ASSERT_STR(bes(find(&f, "good", 80, AF_INET), buf, sizeof(buf)), "10.0.0.1:8080/1",
		   "the good slice only");
out:
	fx_free(&f);
}

TEST(unit, k8s_no_endpoints_and_no_slices)
{
	struct fx f;

	fx_init(&f);
	svc(&f, "empty", "", "10.96.0.30", "\"10.96.0.30\"",
	    "{\"name\":\"http\",\"port\":80,\"protocol\":\"TCP\",\"targetPort\":\"http\"}", "");
	if (!ASSERT_OK(run(&f), "translate") || !ASSERT_EQ(f.cfg.nservices, 1, "one"))
		goto out;
	ASSERT_EQ(f.cfg.services[0].nbackends, 0, "no backends: refuses");
	ASSERT_EQ(f.cfg.services[0].ports[0].target_port, 80, "named, unresolved: the port");
out:
	fx_free(&f);
}

/* What the watch caches of an object: managedFields and foreign
 * annotations go, weft's annotations and everything else stay. */
TEST(unit, k8s_strip_keeps_only_what_is_read)
{
	struct json_object *o = json_tokener_parse(
		"{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\",\"labels\":{\"app\":\"web\"},"
		"\"managedFields\":[{\"manager\":\"kubectl\",\"fieldsV1\":{\"f:spec\":{}}}],"
		"\"annotations\":{\"weft.dev/lb\":\"maglev\",\"weft.dev/weights\":\"{}\","
		"\"kubectl.kubernetes.io/last-applied-configuration\":\"{...}\"}},"
		"\"spec\":{\"clusterIP\":\"10.0.0.1\"}}");
	struct json_object *md, *ann, *v;

	if (!ASSERT_NOT_NULL(o, "object"))
		return;
	weft_k8s_strip(o);
	ASSERT_TRUE(json_object_object_get_ex(o, "metadata", &md), "metadata stays");
	ASSERT_FALSE(json_object_object_get_ex(md, "managedFields", &v), "managedFields gone");
	ASSERT_TRUE(json_object_object_get_ex(md, "annotations", &ann), "annotations stay");
	ASSERT_EQ(json_object_object_length(ann), 2, "only weft's annotations");
	ASSERT_TRUE(json_object_object_get_ex(ann, "weft.dev/lb", &v) &&
			    !strcmp(json_object_get_string(v), "maglev"), "weft.dev/lb kept");
	ASSERT_TRUE(json_object_object_get_ex(md, "labels", &v), "labels stay");
	ASSERT_TRUE(json_object_object_get_ex(o, "spec", &v), "spec stays");
	json_object_put(o);
}

/* A watch stream whose event has a type that is not a string (found by the
 * fuzz target watch: strcmp on NULL, weftd's SIGSEGV): the event is
 * unparseable, the stream stops for a relist, what came before stays. */
TEST(unit, k8s_watch_event_without_a_string_type_relists)
{
	static const char stream[] =
		"{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\",\"namespace\":\"d\"}}}\n"
		"{\"type\":null,\"object\":{\"metadata\":{\"name\":\"b\",\"namespace\":\"d\"}}}\n"
		"{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"c\",\"namespace\":\"d\"}}}\n";
	struct weft_k8s *k = calloc(1, sizeof(*k));
	struct res *r;

	if (!ASSERT_TRUE(k, "client"))
		return;
	weft_log_level = LOG_ERROR + 0;	/* the unparseable event's line is expected */
	r = &k->res[RES_SVC];
	*r = (struct res){ .kind = "Service", .st = R_WATCH, .synced = true,
			   .cache = json_object_new_object() };
	ASSERT_FALSE(weft_k8s_feed(k, r, stream, sizeof(stream) - 1, true), "the stream stops");
	ASSERT_TRUE(r->relist, "and relists");
	ASSERT_EQ(json_object_object_length(r->cache), 1, "the event before it applied, none after");
	ASSERT_TRUE(json_object_object_get_ex(r->cache, "d/a", NULL), "d/a");
	json_object_put(r->cache);
	free(r->buf);
	free(k);
}

/* A kubeconfig whose server is "https://" and no host (found by the fuzz
 * target kubeconfig: accepted, and its trailing '/' cut to "https:/") is
 * refused, naming the key. */
TEST(unit, k8s_kubeconfig_server_needs_a_host)
{
	static const char *const servers[] = { "https://", "https:///api", "http://h:6443" };
	struct weft_k8s_conn c;
	char text[512], err[256];

	for (size_t i = 0; i < sizeof(servers) / sizeof(servers[0]); i++) {
		snprintf(text, sizeof(text),
			 "clusters:\n- name: c\n  cluster: {server: \"%s\"}\n"
			 "contexts:\n- name: x\n  context: {cluster: c, user: u}\n"
			 "users:\n- name: u\n  user: {token: t}\n", servers[i]);
		err[0] = 0;
		if (!ASSERT_EQ(weft_k8s_kubeconfig_parse(text, strlen(text), "kc", &c, err, sizeof(err)),
			       -EINVAL, servers[i]) ||
		    !ASSERT_TRUE(strstr(err, "kc: clusters[].cluster.server"), "names the key"))
			return;
	}
	snprintf(text, sizeof(text), "clusters:\n- name: c\n  cluster: {server: \"https://h:6443/\"}\n"
		 "contexts:\n- name: x\n  context: {cluster: c, user: u}\n"
		 "users:\n- name: u\n  user: {token: t}\n");
	if (!ASSERT_OK(weft_k8s_kubeconfig_parse(text, strlen(text), "kc", &c, err, sizeof(err)),
		       "a host"))
		return;
	ASSERT_STR(c.server, "https://h:6443", "the trailing slash cut");
	weft_k8s_conn_free(&c);
}
