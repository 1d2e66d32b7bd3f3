// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Unit tests of multi-cluster services (MCS API, KEP-1645; issue 14 item
 * 7): ServiceImports and their EndpointSlices into weft services, the file
 * mode's backends[].cluster and metrics.cluster_name, and the cluster of a
 * backend on /metrics (destination_cluster).
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <json-c/json.h>

#include "harness.h"
#include "lib/log.h"
#include "serve/metrics.h"
#include "source/file.h"
#include "source/k8s/k8s.h"

/* A ServiceImport as an MCS controller writes it; %s: name, spec. */
#define IMP_FMT                                                                            \
	"{\"apiVersion\":\"multicluster.x-k8s.io/v1alpha1\",\"kind\":\"ServiceImport\","      \
	"\"metadata\":{\"name\":\"%s\",\"namespace\":\"default\",\"resourceVersion\":\"77\","  \
	"\"uid\":\"1f2e3d4c\"},\"spec\":{%s},\"status\":{\"clusters\":[{\"cluster\":\"east\"}," \
	"{\"cluster\":\"west\"}]}}"
#define IMP_SPEC(ips, extra)                                                               \
	"\"ips\":[" ips "],\"ports\":[{\"name\":\"tcp\",\"port\":5432,\"protocol\":\"TCP\"},"  \
	"{\"name\":\"sctp\",\"port\":9,\"protocol\":\"SCTP\"}],\"type\":\"ClusterSetIP\"" extra

/* An imported EndpointSlice; %s: labels, name, endpoints, port. */
#define MSLICE_FMT                                                                         \
	"{\"addressType\":\"IPv4\",\"apiVersion\":\"discovery.k8s.io/v1\",\"endpoints\":[%s]," \
	"\"kind\":\"EndpointSlice\",\"metadata\":{\"labels\":{%s},\"name\":\"%s\","            \
	"\"namespace\":\"default\"},\"ports\":[{\"name\":\"tcp\",\"port\":%d,\"protocol\":\"TCP\"}]}"
#define MCS_LABELS(svc, cluster)                                                           \
	"\"multicluster.kubernetes.io/service-name\":\"" svc "\","                            \
	"\"multicluster.kubernetes.io/source-cluster\":\"" cluster "\""
#define EPR(ip) "{\"addresses\":[\"" ip "\"],\"conditions\":{\"ready\":true}}"
#define EPNR(ip) "{\"addresses\":[\"" ip "\"],\"conditions\":{\"ready\":false}}"

struct fx {
	struct json_object *svcs, *imps, *slices;
	struct weft_model cfg;
	int n;
};

static void add(struct json_object *cache, int *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void add(struct json_object *cache, int *n, const char *fmt, ...)
{
	char text[8192], key[16];
	struct json_object *o;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	o = json_tokener_parse(text);
	if (!o) {
		fprintf(stderr, "fixture is not JSON: %s\n", text);
		abort();
	}
	snprintf(key, sizeof(key), "%d", (*n)++);
	json_object_object_add(cache, key, o);
}

static void fx_init(struct fx *f)
{
	memset(f, 0, sizeof(*f));
	f->svcs = json_object_new_object();
	f->imps = json_object_new_object();
	f->slices = json_object_new_object();
	weft_log_level = LOG_ERROR + 0;	/* the skipped objects' lines are expected */
}

static void fx_free(struct fx *f)
{
	for (size_t i = 0; i < f->cfg.nservices; i++)
		weft_service_clear(&f->cfg.services[i]);
	free(f->cfg.services);
	json_object_put(f->svcs);
	json_object_put(f->imps);
	json_object_put(f->slices);
}

/* Both translations, as weft_k8s_config runs them; stderr (the log) into
 * log[len]. */
static int run(struct fx *f, char *log, size_t len)
{
	char path[] = "/tmp/weft-mcs-log-XXXXXX";
	int fd = mkstemp(path), saved = dup(2), ret;
	ssize_t n;

	fflush(stderr);
	if (fd >= 0)
		dup2(fd, 2);
	ret = weft_k8s_translate(f->svcs, f->slices, &f->cfg);
	if (!ret)
		ret = weft_k8s_translate_imports(f->imps, f->slices, &f->cfg);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	log[0] = 0;
	if (fd >= 0) {
		n = pread(fd, log, len - 1, 0);
		log[n > 0 ? n : 0] = 0;
		close(fd);
		unlink(path);
	}
	return ret;
}

static const struct weft_service *find(const struct fx *f, const char *kind, const char *name)
{
	for (size_t i = 0; i < f->cfg.nservices; i++)
		if (!strcmp(f->cfg.services[i].name, name) && f->cfg.services[i].origin.kind &&
		    !strcmp(f->cfg.services[i].origin.kind, kind))
			return &f->cfg.services[i];
	return NULL;
}

/* "ip:port@cluster ..." of every backend, as built (sorted). */
static const char *bes(const struct weft_service *s, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = 0;
	for (size_t i = 0; s && i < s->nbackends && o < len; i++) {
		char ip[64];

		o += snprintf(buf + o, len - o, "%s%s:%u@%s", o ? " " : "",
			      weft_ip_str(&s->backends[i].ip, ip, sizeof(ip)), s->backends[i].port,
			      s->backends[i].cluster ? s->backends[i].cluster : "-");
	}
	return buf;
}

TEST(unit, k8s_service_import_translates_over_its_slices_with_their_clusters)
{
	static char log[8192];
	const struct weft_service *s, *local;
	char buf[512], ip[64];
	struct fx f;
	bool use[8] = { 0 };

	fx_init(&f);
	add(f.imps, &f.n, IMP_FMT, "db",
	    IMP_SPEC("\"10.200.0.5\"", ",\"sessionAffinity\":\"ClientIP\",\"sessionAffinityConfig\":"
				       "{\"clientIP\":{\"timeoutSeconds\":60}}"));
	/* Its slices, one per cluster (each its own target port), one not ready. */
	add(f.slices, &f.n, MSLICE_FMT, EPR("10.1.0.1") "," EPNR("10.1.0.2"),
	    MCS_LABELS("db", "east"), "imported-db-east", 5432);
	add(f.slices, &f.n, MSLICE_FMT, EPR("10.2.0.1"), MCS_LABELS("db", "west"),
	    "imported-db-west", 15432);
	/* Not its: another import's slice; the local Service db's own slice. */
	add(f.slices, &f.n, MSLICE_FMT, EPR("10.3.0.1"), MCS_LABELS("other", "east"),
	    "imported-other-east", 5432);
	add(f.slices, &f.n, MSLICE_FMT, EPR("10.0.0.7"), "\"kubernetes.io/service-name\":\"db\"",
	    "db-abcde", 5432);
	/* The exported Service itself, of the same namespace and name. */
	add(f.svcs, &f.n, "{\"kind\":\"Service\",\"metadata\":{\"name\":\"db\",\"namespace\":\"default\"},"
			  "\"spec\":{\"clusterIP\":\"10.96.0.9\",\"ports\":[{\"name\":\"tcp\",\"port\":5432,"
			  "\"protocol\":\"TCP\"}],\"type\":\"ClusterIP\"}}");
	if (!ASSERT_OK(run(&f, log, sizeof(log)), "translate"))
		goto out;
	ASSERT_EQ(f.cfg.nservices, 2, "the Service and the import (its SCTP port skipped)");
	s = find(&f, "ServiceImport", "db");
	local = find(&f, "Service", "db");
	if (!ASSERT_TRUE(s && local, "both, by kind"))
		goto out;
	ASSERT_STR(weft_ip_str(&s->vip, ip, sizeof(ip)), "10.200.0.5", "the clusterset IP is the VIP");
	ASSERT_EQ(s->nports, 1, "one port");
	ASSERT_EQ(s->ports[0].port, 5432, "spec.ports[0].port");
	ASSERT_EQ(s->ports[0].proto, IPPROTO_TCP, "TCP");
	ASSERT_STR(s->ports[0].name, "tcp", "port name");
	ASSERT_EQ(s->affinity, 60, "sessionAffinity ClientIP, timeoutSeconds");
	ASSERT_STR(bes(s, buf, sizeof(buf)), "10.1.0.1:5432@east 10.1.0.2:5432@east 10.2.0.1:15432@west",
		   "every endpoint of its slices, each with its slice's port and cluster");
	ASSERT_EQ(weft_service_in_use(s, "node-1", NULL, false, use), 2, "the ready ones get new connections");
	ASSERT_TRUE(use[0] && !use[1] && use[2], "not the not-ready one");
	ASSERT_STR(bes(local, buf, sizeof(buf)), "10.0.0.7:5432@-",
		   "the Service keeps its own slice, of this cluster");
	ASSERT_STR(log, "", "nothing logged");
out:
	fx_free(&f);
}

TEST(unit, k8s_service_import_bad_values_are_rejected_alone)
{
	static char log[16384];
	char buf[512];
	struct fx f;

	fx_init(&f);
	add(f.imps, &f.n, IMP_FMT, "good", IMP_SPEC("\"10.200.0.1\"", ""));
	add(f.imps, &f.n, IMP_FMT, "headless",
	    "\"ports\":[{\"port\":80,\"protocol\":\"TCP\"}],\"type\":\"Headless\"");
	add(f.imps, &f.n, IMP_FMT, "noips", "\"ports\":[{\"port\":80}],\"type\":\"ClusterSetIP\"");
	add(f.imps, &f.n, IMP_FMT, "badip", IMP_SPEC("\"banana\"", ""));
	add(f.imps, &f.n, IMP_FMT, "twov4", IMP_SPEC("\"10.200.0.2\",\"10.200.0.3\"", ""));
	add(f.imps, &f.n, IMP_FMT, "badtype",
	    "\"ips\":[\"10.200.0.4\"],\"ports\":[{\"port\":80}],\"type\":\"LoadBalancer\"");
	add(f.imps, &f.n, IMP_FMT, "badport",
	    "\"ips\":[\"10.200.0.5\"],\"ports\":[{\"port\":70000,\"protocol\":\"TCP\"}]");
	add(f.imps, &f.n, IMP_FMT, "badaff",
	    IMP_SPEC("\"10.200.0.6\"", ",\"sessionAffinity\":\"ClientIP\",\"sessionAffinityConfig\":"
				       "{\"clientIP\":{\"timeoutSeconds\":0}}"));
	add(f.imps, &f.n, "{\"kind\":\"ServiceImport\",\"metadata\":{\"name\":\"s\","
			  "\"namespace\":\"default\"},\"spec\":[]}");
	/* good's slices: one names no cluster (skipped alone), one does. */
	add(f.slices, &f.n, MSLICE_FMT, EPR("10.1.0.9"),
	    "\"multicluster.kubernetes.io/service-name\":\"good\"", "imported-good-x", 5432);
	add(f.slices, &f.n, MSLICE_FMT, EPR("10.1.0.1"), MCS_LABELS("good", "east"),
	    "imported-good-east", 5432);
	if (!ASSERT_OK(run(&f, log, sizeof(log)), "translate"))
		goto out;
	ASSERT_EQ(f.cfg.nservices, 1, "only good");
	ASSERT_STR(bes(find(&f, "ServiceImport", "good"), buf, sizeof(buf)), "10.1.0.1:5432@east",
		   "the slice that names its cluster only");
	/* Each error names its object and field. */
	ASSERT_TRUE(strstr(log, "ServiceImport default/badip: spec.ips[0]: 'banana' is not an IPv4 or IPv6 address; skipped"),
		    "bad ip named");
	ASSERT_TRUE(strstr(log, "ServiceImport default/twov4: spec.ips: two addresses of one family"),
		    "two of a family");
	ASSERT_TRUE(strstr(log, "ServiceImport default/badtype: spec.type: 'LoadBalancer' (ClusterSetIP or Headless)"),
		    "bad type");
	ASSERT_TRUE(strstr(log, "ServiceImport default/badport: spec.ports[0]: port must be 1..65535"),
		    "bad port");
	ASSERT_TRUE(strstr(log, "ServiceImport default/badaff: spec.sessionAffinityConfig.clientIP.timeoutSeconds: not 1..86400"),
		    "bad affinity timeout");
	ASSERT_TRUE(strstr(log, "ServiceImport default/s: spec: missing"), "spec not an object");
	ASSERT_TRUE(strstr(log, "EndpointSlice default/imported-good-x: labels.multicluster.kubernetes.io/source-cluster: missing"),
		    "slice without its cluster");
	ASSERT_TRUE(!strstr(log, "headless") && !strstr(log, "noips"),
		    "Headless and not yet allocated: ignored, not errors");
out:
	fx_free(&f);
}

TEST(unit, k8s_service_import_clusterset_ip_taken_by_a_service_is_rejected_alone)
{
	static char log[8192];
	struct fx f;

	fx_init(&f);
	add(f.svcs, &f.n, "{\"kind\":\"Service\",\"metadata\":{\"name\":\"db\",\"namespace\":\"default\"},"
			  "\"spec\":{\"clusterIP\":\"10.96.0.9\",\"ports\":[{\"name\":\"tcp\",\"port\":5432,"
			  "\"protocol\":\"TCP\"}],\"type\":\"ClusterIP\"}}");
	add(f.imps, &f.n, IMP_FMT, "db", IMP_SPEC("\"10.96.0.9\"", ""));
	add(f.imps, &f.n, IMP_FMT, "cache", IMP_SPEC("\"10.200.0.7\"", ""));
	if (!ASSERT_OK(run(&f, log, sizeof(log)), "translate"))
		goto out;
	ASSERT_EQ(f.cfg.nservices, 2, "the Service and the other import");
	ASSERT_TRUE(find(&f, "Service", "db") != NULL, "the Service keeps its frontend");
	ASSERT_TRUE(find(&f, "ServiceImport", "cache") != NULL, "the other import stays");
	ASSERT_TRUE(find(&f, "ServiceImport", "db") == NULL, "the import that collides goes");
out:
	fx_free(&f);
}

TEST(unit, config_backend_cluster_and_metrics_cluster_name)
{
	static const char ok[] =
		"metrics:\n  cluster_name: Cluster-1\n"
		"services:\n  - name: db\n    vip: 10.200.0.5\n    ports: [{port: 5432}]\n"
		"    backends:\n      - {ip: 10.1.0.1, cluster: east}\n      - {ip: 10.0.0.7}\n";
	static const struct {
		const char *yaml, *err;
	} bad[] = {
		{ "metrics:\n  cluster_name: \"\"\n", "t.yaml:2:17: metrics.cluster_name: empty" },
		{ "services:\n  - name: db\n    vip: 10.200.0.5\n    ports: [{port: 1}]\n"
		  "    backends: [{ip: 10.1.0.1, cluster: -east}]\n",
		  "t.yaml:5:40: services[0].backends[0].cluster: \"-east\" is not a cluster name" },
	};
	struct weft_model *m;
	char err[512];

	m = weft_file_parse(ok, strlen(ok), "t.yaml", err, sizeof(err));
	if (!ASSERT_TRUE(m != NULL, err))
		return;
	ASSERT_STR(m->metrics.cluster_name, "Cluster-1", "metrics.cluster_name");
	ASSERT_STR(m->services[0].backends[0].cluster ? m->services[0].backends[0].cluster : "",
		   "east", "backends[0].cluster");
	ASSERT_TRUE(m->services[0].backends[1].cluster == NULL, "unsaid: this cluster");
	weft_model_free(m);
	m = weft_file_parse("services: []\n", 13, "t.yaml", err, sizeof(err));
	if (ASSERT_TRUE(m != NULL, err))
		ASSERT_STR(m->metrics.cluster_name, "Kubernetes", "default: Istio's");
	weft_model_free(m);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		m = weft_file_parse(bad[i].yaml, strlen(bad[i].yaml), "t.yaml", err, sizeof(err));
		ASSERT_TRUE(m == NULL, bad[i].yaml);
		ASSERT_TRUE(!strncmp(err, bad[i].err, strlen(bad[i].err)), err);
		weft_model_free(m);
	}
}

TEST(unit, metrics_destination_cluster_names_an_imported_backend)
{
	struct weft_metrics_svc svc[1] = { 0 };
	struct weft_metrics_be be[2] = { 0 };
	struct weft_metrics_tcp tcp[2] = { 0 };
	struct weft_backend_cfg mbe[2] = { 0 };
	struct weft_port mport = { .port = 5432, .proto = IPPROTO_TCP };
	struct weft_service msvc = { .name = "db", .ns = "default", .family = AF_INET };
	struct weft_model m = { 0 };
	struct weft_metrics_snap s = { 0 };
	struct weft_buf out = { 0 };

	/* The model: db's clusterset IP, a backend in east and one here. */
	weft_ip_parse("10.200.0.5", &msvc.vip);
	weft_ip_parse("10.1.0.1", &mbe[0].ip);
	weft_ip_parse("10.0.0.7", &mbe[1].ip);
	mbe[0].cluster = "east";
	msvc.ports = &mport;
	msvc.nports = 1;
	msvc.backends = mbe;
	msvc.nbackends = 2;
	m.services = &msvc;
	m.nservices = 1;
	/* The snapshot, as weft_metrics_prepare makes it from the state. */
	memcpy(svc[0].key.addr, &msvc.vip, 16);
	svc[0].key.port = htons(5432);
	svc[0].key.proto = IPPROTO_TCP;
	svc[0].id = 3;
	memcpy(be[0].addr, &mbe[0].ip, 16);
	memcpy(be[1].addr, &mbe[1].ip, 16);
	s.svc = svc;
	s.nsvc = 1;
	s.be = be;
	s.nbe = 2;
	if (!ASSERT_OK(weft_metrics_clusters(&s, &m), "clusters"))
		return;
	ASSERT_STR(be[0].cluster, "east", "the imported backend's cluster");
	ASSERT_STR(be[1].cluster, "", "this cluster's backend");

	/* Rendered: the backend's cluster, else metrics.cluster_name. */
	strcpy(svc[0].name, "db");
	strcpy(svc[0].ns, "default");
	strcpy(svc[0].port_name, "tcp");
	svc[0].proto = IPPROTO_TCP;
	strcpy(be[0].workload, "unknown");
	strcpy(be[0].workload_ns, "unknown");
	strcpy(be[1].workload, "db");
	strcpy(be[1].workload_ns, "default");
	be[0].cnt.connects = 7;
	be[1].cnt.connects = 8;
	for (int i = 0; i < 2; i++) {
		tcp[i].reporter = WEFT_REPORTER_SOURCE;
		strcpy(tcp[i].svc, "db");
		strcpy(tcp[i].svc_ns, "default");
		strcpy(tcp[i].dst_wl, i ? "db" : "unknown");
		strcpy(tcp[i].dst_ns, i ? "default" : "unknown");
		strcpy(tcp[i].src_wl, "web");
		strcpy(tcp[i].src_ns, "default");
		tcp[i].v.opened = 4 + i;
	}
	strcpy(tcp[0].cluster, "east");
	s.tcp = tcp;
	s.ntcp = 2;
	strcpy(s.cluster_name, "home");
	if (!ASSERT_OK(weft_metrics_render(&s, &out), "render"))
		return;
	ASSERT_TRUE(strstr(out.p, "destination_workload_namespace=\"unknown\",destination_principal=\"unknown\","
				     "destination_cluster=\"east\","
				     "destination_service=\"db.default.svc.cluster.local\"") != NULL,
		    "the imported backend's series: destination_cluster east");
	ASSERT_TRUE(strstr(out.p, "destination_workload_namespace=\"default\",destination_principal=\"unknown\","
				     "destination_cluster=\"home\",") != NULL,
		    "a local backend: metrics.cluster_name");
	ASSERT_TRUE(strstr(out.p, "\nweft_backend_connections_total{destination_service_name=\"db\","
				     "destination_service_namespace=\"default\",protocol=\"tcp\",port_name=\"tcp\","
				     "destination_workload=\"unknown\",destination_workload_namespace=\"unknown\","
				     "destination_cluster=\"east\"} 7\n") != NULL,
		    "backend families: the imported backend's cluster");
	ASSERT_TRUE(strstr(out.p, "destination_workload=\"db\",destination_workload_namespace=\"default\","
				     "destination_cluster=\"home\"} 8\n") != NULL,
		    "backend families: this cluster's");
	weft_buf_free(&out);
	s.istio_compat = true;
	if (!ASSERT_OK(weft_metrics_render(&s, &out), "render istio"))
		return;
	ASSERT_TRUE(strstr(out.p, "source_cluster=\"home\"") != NULL, "istio: source_cluster");
	ASSERT_TRUE(strstr(out.p, ",destination_cluster=\"east\",destination_service=") != NULL,
		    "istio: destination_cluster of the imported backend");
	weft_buf_free(&out);
}
