// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Unit tests of Istio DestinationRules (issue 16, Kubernetes side) and the
 * fault-injection annotation: the same model settings the file's
 * outlier_detection, connection_pool, lb and fault keys make.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>

#include "harness.h"
#include "lib/log.h"
#include "source/k8s/k8s.h"

/* A Service with a TCP and a UDP port; %s: namespace, name, annotations. */
#define SVC_FMT                                                                            \
	"{\"kind\":\"Service\",\"metadata\":{\"name\":\"%s\",\"namespace\":\"%s\","           \
	"\"annotations\":{%s}},\"spec\":{\"clusterIP\":\"%s\",\"ports\":["                   \
	"{\"name\":\"http\",\"port\":80,\"protocol\":\"TCP\"},"                               \
	"{\"name\":\"dns\",\"port\":53,\"protocol\":\"UDP\"}],\"type\":\"ClusterIP\"}}"

/* A DestinationRule; %s: namespace, name, creationTimestamp, spec. */
#define DR_FMT                                                                             \
	"{\"apiVersion\":\"networking.istio.io/v1\",\"kind\":\"DestinationRule\","            \
	"\"metadata\":{\"name\":\"%s\",\"namespace\":\"%s\",\"creationTimestamp\":\"%s\"},"   \
	"\"spec\":{%s}}"

struct fx {
	struct json_object *svcs, *imps, *drs, *noted;
	struct weft_model *cfg;
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
	f->drs = json_object_new_object();
	f->noted = json_object_new_object();
	weft_log_level = LOG_WARN + 0;	/* the lines under test */
}

static void fx_free(struct fx *f)
{
	weft_model_free(f->cfg);
	json_object_put(f->svcs);
	json_object_put(f->imps);
	json_object_put(f->drs);
	json_object_put(f->noted);
}

/* Services then DestinationRules, as weft_k8s_config runs them (a new
 * model each time, the same noted); stderr (the log) into log[len]. */
static int run(struct fx *f, char *log, size_t len)
{
	char path[] = "/tmp/weft-dr-log-XXXXXX";
	int fd = mkstemp(path), saved = dup(2), ret;
	ssize_t n;

	weft_model_free(f->cfg);
	f->cfg = weft_model_new("kubernetes");
	if (!f->cfg)
		return -ENOMEM;
	fflush(stderr);
	if (fd >= 0)
		dup2(fd, 2);
	ret = weft_k8s_translate(f->svcs, NULL, f->cfg);
	if (!ret)
		ret = weft_k8s_translate_imports(f->imps, NULL, f->cfg);
	if (!ret)
		ret = weft_k8s_translate_destrules(f->drs, f->noted, f->cfg);
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

/* The weft service of kind ns/name's port. */
static const struct weft_service *find_kind(const struct fx *f, const char *kind, const char *ns,
					    const char *name, uint16_t port)
{
	for (size_t i = 0; f->cfg && i < f->cfg->nservices; i++) {
		const struct weft_service *s = &f->cfg->services[i];

		if (!strcmp(s->ns, ns) && !strcmp(s->name, name) && s->ports[0].port == port &&
		    !strcmp(s->origin.kind, kind))
			return s;
	}
	return NULL;
}

static const struct weft_service *find(const struct fx *f, const char *ns, const char *name,
				       uint16_t port)
{
	return find_kind(f, "Service", ns, name, port);
}

TEST(unit, k8s_destrule_translates_into_the_file_keys_settings)
{
	static char log[8192];
	const struct weft_service *tcp, *udp, *other;
	struct fx f;

	fx_init(&f);
	add(f.svcs, &f.n, SVC_FMT, "web", "shop", "", "10.96.0.10");
	add(f.svcs, &f.n, SVC_FMT, "other", "shop", "", "10.96.0.11");
	add(f.drs, &f.n, DR_FMT, "web", "shop", "2026-01-01T00:00:00Z",
	    "\"host\":\"web.shop.svc.cluster.local\",\"trafficPolicy\":{"
	    "\"outlierDetection\":{\"consecutive5xxErrors\":7,\"consecutiveGatewayErrors\":3,"
	    "\"interval\":\"1m\",\"baseEjectionTime\":\"500ms\",\"maxEjectionPercent\":50,"
	    "\"minHealthPercent\":60},"
	    "\"connectionPool\":{\"tcp\":{\"maxConnections\":100}},"
	    "\"loadBalancer\":{\"simple\":\"LEAST_CONN\"}}");
	if (!ASSERT_OK(run(&f, log, sizeof(log)), "translate"))
		goto out;
	tcp = find(&f, "shop", "web", 80);
	udp = find(&f, "shop", "web", 53);
	other = find(&f, "shop", "other", 80);
	if (!ASSERT_TRUE(tcp && udp && other, "the service ports"))
		goto out;
	ASSERT_EQ(tcp->outlier.errors, 3, "the smaller non-zero of 5xx and gateway errors");
	ASSERT_EQ(tcp->outlier.interval, 60, "interval 1m");
	ASSERT_EQ(tcp->outlier.eject_s, 1, "baseEjectionTime 500ms, rounded up to a second");
	ASSERT_EQ(tcp->outlier.eject_pct, 40, "maxEjectionPercent 50 bounded by 100 - minHealthPercent 60");
	ASSERT_EQ(tcp->max_conns, 100, "connectionPool.tcp.maxConnections");
	ASSERT_EQ(tcp->lb, WEFT_LB_LEAST_REQUEST, "LEAST_CONN: Istio's alias of LEAST_REQUEST");
	ASSERT_TRUE(weft_service_resilient(tcp), "the TCP port is resilient");
	ASSERT_FALSE(weft_service_resilient(udp), "the UDP port is left alone");
	ASSERT_EQ(udp->lb, WEFT_LB_RANDOM, "no least_request on UDP");
	ASSERT_FALSE(weft_service_resilient(other), "another Service is left alone");
	ASSERT_EQ(f.cfg->nrejects, 0, "nothing rejected");
	ASSERT_STR(log, "", "nothing logged");

	/* Defaults, and the other balancers. */
	json_object_object_del(f.drs, "2");
	add(f.drs, &f.n, DR_FMT, "web", "shop", "2026-01-01T00:00:00Z",
	    "\"host\":\"web\",\"trafficPolicy\":{\"outlierDetection\":{},"
	    "\"loadBalancer\":{\"consistentHash\":{\"useSourceIp\":true}}}");
	add(f.drs, &f.n, DR_FMT, "other", "shop", "2026-01-01T00:00:00Z",
	    "\"host\":\"other.shop\",\"trafficPolicy\":{\"outlierDetection\":"
	    "{\"consecutive5xxErrors\":0},\"loadBalancer\":{\"simple\":\"ROUND_ROBIN\"}}");
	if (!ASSERT_OK(run(&f, log, sizeof(log)), "translate again"))
		goto out;
	tcp = find(&f, "shop", "web", 80);
	other = find(&f, "shop", "other", 80);
	if (!ASSERT_TRUE(tcp && other, "the service ports"))
		goto out;
	ASSERT_EQ(tcp->outlier.errors, 5, "Istio's defaults: 5 errors");
	ASSERT_EQ(tcp->outlier.interval, 10, "10 s");
	ASSERT_EQ(tcp->outlier.eject_s, 30, "30 s");
	ASSERT_EQ(tcp->outlier.eject_pct, 10, "10 %");
	ASSERT_EQ(tcp->lb, WEFT_LB_MAGLEV, "consistentHash: maglev");
	ASSERT_EQ(other->outlier.errors, 0, "consecutive5xxErrors 0 alone: off");
	ASSERT_EQ(other->lb, WEFT_LB_ROUND_ROBIN, "ROUND_ROBIN");
	ASSERT_STR(log, "", "nothing logged");
out:
	fx_free(&f);
}

TEST(unit, k8s_destrule_durations_in_go_form)
{
	static const struct { const char *text; long long ms; } cases[] = {
		{ "30s", 30000 }, { "1m", 60000 }, { "500ms", 500 }, { "1h30m", 5400000 },
		{ "1.5s", 1500 }, { "0", 0 }, { "2us", 1 }, { "1500000ns", 2 }, { "+5s", 5000 },
		{ "\xc2\xb5s", -1 }, { "3\xc2\xb5s", 1 }, { "24h", 86400000 },
		{ "", -1 }, { "10", -1 }, { "s", -1 }, { "1x", -1 }, { "-1s", -1 }, { "25h", -1 },
		{ "1.s", 1000 }, { ".5s", 500 }, { "1s ", -1 }, { "1d", -1 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t ms = 12345;
		int ret = weft_k8s_duration_ms(cases[i].text, &ms);
		char what[64];

		snprintf(what, sizeof(what), "'%s'", cases[i].text);
		if (cases[i].ms < 0) {
			ASSERT_EQ(ret, -EINVAL, what);
		} else {
			ASSERT_OK(ret, what);
			ASSERT_EQ((long long)ms, cases[i].ms, what);
		}
	}
}

TEST(unit, k8s_destrule_host_forms)
{
	static char log[8192];
	static const char *const hosts[] = {
		"a.shop.svc.cluster.local", "b.shop", "c", "d.shop.svc",
	};
	struct fx f;

	fx_init(&f);
	add(f.svcs, &f.n, SVC_FMT, "a", "shop", "", "10.96.1.1");
	add(f.svcs, &f.n, SVC_FMT, "b", "shop", "", "10.96.1.2");
	add(f.svcs, &f.n, SVC_FMT, "c", "shop", "", "10.96.1.3");
	add(f.svcs, &f.n, SVC_FMT, "d", "shop", "", "10.96.1.4");
	add(f.svcs, &f.n, SVC_FMT, "c", "other", "", "10.96.1.5");
	add(f.svcs, &f.n, SVC_FMT, "e", "shop", "", "10.96.1.6");
	for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		char spec[256], name[8];

		snprintf(name, sizeof(name), "r%zu", i);
		snprintf(spec, sizeof(spec), "\"host\":\"%s\",\"trafficPolicy\":{\"connectionPool\":"
			 "{\"tcp\":{\"maxConnections\":%zu}}}", hosts[i], 10 + i);
		add(f.drs, &f.n, DR_FMT, name, "shop", "2026-01-01T00:00:00Z", spec);
	}
	/* Hosts that name no Service: nothing, no error. */
	add(f.drs, &f.n, DR_FMT, "ext", "shop", "2026-01-01T00:00:00Z",
	    "\"host\":\"example.com\",\"trafficPolicy\":{\"connectionPool\":{\"tcp\":{\"maxConnections\":1}}}");
	add(f.drs, &f.n, DR_FMT, "gone", "shop", "2026-01-01T00:00:00Z",
	    "\"host\":\"nosuch.shop.svc.cluster.local\",\"trafficPolicy\":{\"connectionPool\":{\"tcp\":{\"maxConnections\":1}}}");
	add(f.drs, &f.n, DR_FMT, "e", "shop", "2026-01-01T00:00:00Z",
	    "\"host\":\"e.shop.example.com\",\"trafficPolicy\":{\"connectionPool\":{\"tcp\":{\"maxConnections\":1}}}");
	if (!ASSERT_OK(run(&f, log, sizeof(log)), "translate"))
		goto out;
	ASSERT_EQ(find(&f, "shop", "a", 80)->max_conns, 10, "name.ns.svc.cluster.local");
	ASSERT_EQ(find(&f, "shop", "b", 80)->max_conns, 11, "name.ns");
	ASSERT_EQ(find(&f, "shop", "c", 80)->max_conns, 12, "a short name, in the rule's namespace");
	ASSERT_EQ(find(&f, "other", "c", 80)->max_conns, 0, "not in another namespace");
	ASSERT_EQ(find(&f, "shop", "d", 80)->max_conns, 13, "name.ns.svc");
	ASSERT_EQ(find(&f, "shop", "e", 80)->max_conns, 0, "a host outside the cluster");
	ASSERT_EQ(f.cfg->nrejects, 0, "no match is no error");
	ASSERT_STR(log, "", "nothing logged");

	/* MCS: name.ns.svc.clusterset.local is the ServiceImport, not the Service. */
	add(f.imps, &f.n, "{\"kind\":\"ServiceImport\",\"metadata\":{\"name\":\"a\",\"namespace\":\"shop\"},"
			  "\"spec\":{\"ips\":[\"10.200.0.1\"],\"ports\":[{\"port\":80,\"protocol\":\"TCP\"}],"
			  "\"type\":\"ClusterSetIP\"}}");
	add(f.drs, &f.n, DR_FMT, "set", "shop", "2025-01-01T00:00:00Z",
	    "\"host\":\"a.shop.svc.clusterset.local\",\"trafficPolicy\":{\"connectionPool\":{\"tcp\":{\"maxConnections\":77}}}");
	if (!ASSERT_OK(run(&f, log, sizeof(log)), "translate with the import"))
		goto out;
	ASSERT_EQ(find_kind(&f, "ServiceImport", "shop", "a", 80)->max_conns, 77, "the import's rule");
	ASSERT_EQ(find(&f, "shop", "a", 80)->max_conns, 10, "the Service keeps its own");
	ASSERT_STR(log, "", "nothing logged");
out:
	fx_free(&f);
}

TEST(unit, k8s_destrule_bad_values_are_rejected_alone)
{
	static const struct { const char *name, *tp, *msg; } bad[] = {
		{ "iv", "\"outlierDetection\":{\"interval\":\"10x\"}",
		  "DestinationRule shop/iv: spec.trafficPolicy.outlierDetection.interval: not a duration" },
		{ "bt", "\"outlierDetection\":{\"baseEjectionTime\":30}",
		  "DestinationRule shop/bt: spec.trafficPolicy.outlierDetection.baseEjectionTime: not a duration" },
		{ "c5", "\"outlierDetection\":{\"consecutive5xxErrors\":-1}",
		  "DestinationRule shop/c5: spec.trafficPolicy.outlierDetection.consecutive5xxErrors: not 0..65535" },
		{ "mx", "\"outlierDetection\":{\"maxEjectionPercent\":101}",
		  "DestinationRule shop/mx: spec.trafficPolicy.outlierDetection.maxEjectionPercent: not 0..100" },
		{ "mh", "\"outlierDetection\":{\"minHealthPercent\":\"50\"}",
		  "DestinationRule shop/mh: spec.trafficPolicy.outlierDetection.minHealthPercent: not 0..100" },
		{ "mc", "\"connectionPool\":{\"tcp\":{\"maxConnections\":0}}",
		  "DestinationRule shop/mc: spec.trafficPolicy.connectionPool.tcp.maxConnections: not 1..1073741824" },
		{ "lb", "\"loadBalancer\":{\"simple\":\"FASTEST\"}",
		  "DestinationRule shop/lb: spec.trafficPolicy.loadBalancer.simple: 'FASTEST'" },
		{ "od", "\"outlierDetection\":[]",
		  "DestinationRule shop/od: spec.trafficPolicy.outlierDetection: not an object" },
	};
	static char log[16384];
	const struct weft_service *good;
	struct fx f;

	fx_init(&f);
	add(f.svcs, &f.n, SVC_FMT, "web", "shop", "", "10.96.0.10");
	add(f.svcs, &f.n, SVC_FMT, "api", "shop", "", "10.96.0.12");
	add(f.drs, &f.n, DR_FMT, "good", "shop", "2026-01-02T00:00:00Z",
	    "\"host\":\"api\",\"trafficPolicy\":{\"connectionPool\":{\"tcp\":{\"maxConnections\":5}}}");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char spec[512];

		/* each older than good and for web: none may apply */
		snprintf(spec, sizeof(spec), "\"host\":\"web\",\"trafficPolicy\":{%s}", bad[i].tp);
		add(f.drs, &f.n, DR_FMT, bad[i].name, "shop", "2026-01-01T00:00:00Z", spec);
	}
	add(f.drs, &f.n, DR_FMT, "nohost", "shop", "2026-01-01T00:00:00Z", "\"trafficPolicy\":{}");
	if (!ASSERT_OK(run(&f, log, sizeof(log)), "translate"))
		goto out;
	good = find(&f, "shop", "api", 80);
	ASSERT_TRUE(good && good->max_conns == 5, "the good rule applies");
	ASSERT_FALSE(weft_service_resilient(find(&f, "shop", "web", 80)), "no bad rule applies");
	ASSERT_EQ(f.cfg->nservices, 4, "every Service port stays");
	ASSERT_EQ(f.cfg->nrejects, sizeof(bad) / sizeof(bad[0]) + 1, "each bad rule rejected");
	for (size_t i = 0; i < f.cfg->nrejects; i++) {
		ASSERT_STR(f.cfg->rejects[i].kind, "DestinationRule", "reject kind");
		ASSERT_STR(f.cfg->rejects[i].ns, "shop", "reject namespace");
		ASSERT_STR(f.cfg->rejects[i].reason, "invalid", "reject reason");
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ASSERT_TRUE(strstr(log, bad[i].msg), bad[i].msg);
	ASSERT_TRUE(strstr(log, "DestinationRule shop/nohost: spec.host: missing"), "no host");
	ASSERT_FALSE(strstr(log, "shop/good"), "the good rule is not named");
	/* The next translation: rejected again, not logged again. */
	if (!ASSERT_OK(run(&f, log, sizeof(log)), "translate again"))
		goto out;
	ASSERT_EQ(f.cfg->nrejects, sizeof(bad) / sizeof(bad[0]) + 1, "still rejected");
	ASSERT_STR(log, "", "logged when it became rejected only");
out:
	fx_free(&f);
}

TEST(unit, k8s_destrule_unhonoured_fields_are_logged_once_per_object)
{
	static char log[8192];
	struct fx f;

	fx_init(&f);
	add(f.svcs, &f.n, SVC_FMT, "web", "shop", "", "10.96.0.10");
	add(f.drs, &f.n, DR_FMT, "web", "shop", "2026-01-01T00:00:00Z",
	    "\"host\":\"web\",\"subsets\":[{\"name\":\"v1\",\"labels\":{\"v\":\"1\"}}],"
	    "\"trafficPolicy\":{\"tls\":{\"mode\":\"ISTIO_MUTUAL\"},"
	    "\"connectionPool\":{\"tcp\":{\"maxConnections\":9,\"connectTimeout\":\"1s\"},"
	    "\"http\":{\"http1MaxPendingRequests\":1}},"
	    "\"outlierDetection\":{\"consecutiveLocalOriginFailures\":2}}");
	if (!ASSERT_OK(run(&f, log, sizeof(log)), "translate"))
		goto out;
	ASSERT_EQ(find(&f, "shop", "web", 80)->max_conns, 9, "what it can honour applies");
	ASSERT_EQ(f.cfg->nrejects, 0, "not a reject");
	ASSERT_TRUE(strstr(log, "DestinationRule shop/web: not honoured at L4 (ignored): "), "logged");
	ASSERT_TRUE(strstr(log, "spec.subsets"), "subsets named");
	ASSERT_TRUE(strstr(log, "spec.trafficPolicy.tls"), "tls named");
	ASSERT_TRUE(strstr(log, "spec.trafficPolicy.connectionPool.http"), "http pool named");
	ASSERT_TRUE(strstr(log, "spec.trafficPolicy.connectionPool.tcp.connectTimeout"), "tcp field named");
	ASSERT_TRUE(strstr(log, "spec.trafficPolicy.outlierDetection.consecutiveLocalOriginFailures"),
		    "outlier field named");
	/* A relist of the same object: no new line. */
	if (!ASSERT_OK(run(&f, log, sizeof(log)), "translate again"))
		goto out;
	ASSERT_STR(log, "", "logged once");
	/* Gone, then back: logged anew. */
	json_object_object_del(f.drs, "1");
	if (!ASSERT_OK(run(&f, log, sizeof(log)), "without it"))
		goto out;
	ASSERT_STR(log, "", "nothing to say");
	ASSERT_EQ(json_object_object_length(f.noted), 0, "forgotten when deleted");
	add(f.drs, &f.n, DR_FMT, "web", "shop", "2026-01-01T00:00:00Z",
	    "\"host\":\"web\",\"exportTo\":[\".\"]");
	if (!ASSERT_OK(run(&f, log, sizeof(log)), "back"))
		goto out;
	ASSERT_TRUE(strstr(log, "DestinationRule shop/web: not honoured at L4 (ignored): spec.exportTo"),
		    "logged again for the new object");
out:
	fx_free(&f);
}

TEST(unit, k8s_destrule_oldest_of_several_for_one_host_wins)
{
	static char log[8192];
	struct fx f;

	fx_init(&f);
	add(f.svcs, &f.n, SVC_FMT, "web", "shop", "", "10.96.0.10");
	add(f.drs, &f.n, DR_FMT, "young", "shop", "2026-03-01T00:00:00Z",
	    "\"host\":\"web\",\"trafficPolicy\":{\"connectionPool\":{\"tcp\":{\"maxConnections\":1}}}");
	add(f.drs, &f.n, DR_FMT, "old", "ops", "2026-02-01T00:00:00Z",
	    "\"host\":\"web.shop.svc.cluster.local\",\"trafficPolicy\":{\"connectionPool\":{\"tcp\":{\"maxConnections\":2}}}");
	add(f.drs, &f.n, DR_FMT, "mid", "shop", "2026-02-15T00:00:00Z",
	    "\"host\":\"web.shop\",\"trafficPolicy\":{\"connectionPool\":{\"tcp\":{\"maxConnections\":3}}}");
	if (!ASSERT_OK(run(&f, log, sizeof(log)), "translate"))
		goto out;
	ASSERT_EQ(find(&f, "shop", "web", 80)->max_conns, 2, "the oldest rule's, whatever its namespace");
	ASSERT_TRUE(strstr(log, "DestinationRule shop/young: host web.shop is also DestinationRule ops/old's, the older: this one is not applied"),
		    "the shadowed ones logged");
	ASSERT_TRUE(strstr(log, "DestinationRule shop/mid: host web.shop"), "both");
	if (!ASSERT_OK(run(&f, log, sizeof(log)), "translate again"))
		goto out;
	ASSERT_STR(log, "", "once");
	ASSERT_EQ(find(&f, "shop", "web", 80)->max_conns, 2, "the same again");
out:
	fx_free(&f);
}

TEST(unit, k8s_fault_abort_annotation)
{
	static char log[8192];
	struct fx f;

	fx_init(&f);
	add(f.svcs, &f.n, SVC_FMT, "web", "shop", "\"" WEFT_K8S_ANN_FAULT_ABORT "\":\"20\"", "10.96.0.10");
	add(f.svcs, &f.n, SVC_FMT, "fine", "shop", "\"" WEFT_K8S_ANN_FAULT_ABORT "\":\"12.3456\"", "10.96.0.11");
	add(f.svcs, &f.n, SVC_FMT, "all", "shop", "\"" WEFT_K8S_ANN_FAULT_ABORT "\":\"100\"", "10.96.0.12");
	add(f.svcs, &f.n, SVC_FMT, "over", "shop", "\"" WEFT_K8S_ANN_FAULT_ABORT "\":\"100.5\"", "10.96.0.13");
	add(f.svcs, &f.n, SVC_FMT, "word", "shop", "\"" WEFT_K8S_ANN_FAULT_ABORT "\":\"lots\"", "10.96.0.14");
	add(f.svcs, &f.n, SVC_FMT, "digits", "shop", "\"" WEFT_K8S_ANN_FAULT_ABORT "\":\"1.23456\"", "10.96.0.15");
	if (!ASSERT_OK(run(&f, log, sizeof(log)), "translate"))
		goto out;
	ASSERT_EQ(find(&f, "shop", "web", 80)->abort_ppm, 200000, "20 % of TCP connects");
	ASSERT_EQ(find(&f, "shop", "web", 53)->abort_ppm, 0, "not the UDP port");
	ASSERT_EQ(find(&f, "shop", "fine", 80)->abort_ppm, 123456, "four decimals");
	ASSERT_EQ(find(&f, "shop", "all", 80)->abort_ppm, WEFT_ABORT_PPM_MAX, "100 %");
	ASSERT_TRUE(!find(&f, "shop", "over", 80) && !find(&f, "shop", "word", 80) &&
		    !find(&f, "shop", "digits", 80), "bad values: the Service skipped");
	ASSERT_EQ(f.cfg->nservices, 6, "the other three, both ports");
	ASSERT_TRUE(strstr(log, "Service shop/over: annotation " WEFT_K8S_ANN_FAULT_ABORT ": '100.5'"),
		    "named");
	ASSERT_TRUE(strstr(log, "Service shop/word: annotation " WEFT_K8S_ANN_FAULT_ABORT), "named");
	ASSERT_TRUE(strstr(log, "Service shop/digits: annotation " WEFT_K8S_ANN_FAULT_ABORT), "named");
out:
	fx_free(&f);
}
