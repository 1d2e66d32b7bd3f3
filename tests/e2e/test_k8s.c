// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * e2e: weftd --kubeconfig against k8sapi (tests/k8sapi.c: TLS, list, chunked
 * watch streams, bookmarks, 410 both ways, 401) with pods in network
 * namespaces. After each event: the maps (weft services --json) and real
 * connections through the VIP.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <json-c/json.h>

#include "harness.h"
#include "testenv.h"
#include "k8sclient.h"
#include "lib/maps.h"
#include "weft/abi.h"

#define VIP "10.250.100.1"
#define WAIT_MS 5000	/* generous bound; the goal is < 1 s (max is printed) */

/* The `weft services --json` item of vip:port/proto on one line, "" if
 * absent. */
static void sp_line(const char *vip, int port, const char *proto, char *out, size_t len)
{
	static char all[65536];
	struct json_object *doc, *items, *v;

	out[0] = 0;
	if (tenv_capture(all, sizeof(all), "%s/weft --bpffs %s services --json", weft_test_bindir(),
			 tenv_bpffs()))
		return;
	doc = json_tokener_parse(all);
	if (!json_object_object_get_ex(doc, "items", &items))
		items = NULL;
	for (size_t i = 0; items && i < json_object_array_length(items); i++) {
		struct json_object *sp = json_object_array_get_idx(items, i);
		const char *svip = "", *sproto = "";
		int sport = -1;

		if (json_object_object_get_ex(sp, "vip", &v))
			svip = json_object_get_string(v);
		if (json_object_object_get_ex(sp, "port", &v))
			sport = json_object_get_int(v);
		if (json_object_object_get_ex(sp, "protocol", &v))
			sproto = json_object_get_string(v);
		if (!strcmp(svip, vip) && sport == port && !strcmp(sproto, proto)) {
			snprintf(out, len, "%s", json_object_to_json_string_ext(sp, JSON_C_TO_STRING_PLAIN));
			break;
		}
	}
	json_object_put(doc);
}

/* Does the line hold exactly these backends ("ip:port ip:port"; "-": the
 * service port must be absent)? */
static bool line_is(const char *line, const char *want)
{
	char w[512], needle[128];
	int n = 0, have = 0;

	if (!strcmp(want, "-"))
		return !line[0];
	if (!line[0])
		return false;
	snprintf(w, sizeof(w), "%s", want);
	for (char *t = strtok(w, " "); t; t = strtok(NULL, " ")) {
		char *colon = strrchr(t, ':');

		*colon = 0;
		snprintf(needle, sizeof(needle), "{\"address\":\"%s\",\"ip\":\"%s\",\"port\":%s,", t,
			 t, colon + 1);
		if (!strstr(line, needle))
			return false;
		n++;
	}
	for (const char *p = line; (p = strstr(p, "{\"address\":")); p++)
		have++;
	return have == n;
}

/* Wait until vip:port/proto holds want; records how long it took. */
static bool wait_sp(struct api *a, pid_t weftd, const char *vip, int port, const char *proto,
		    const char *want, const char *what)
{
	long long start = tenv_now_ms();
	char line[4096];

	for (;;) {
		sp_line(vip, port, proto, line, sizeof(line));
		if (line_is(line, want))
			break;
		if (tenv_now_ms() - start > WAIT_MS || waitpid(weftd, NULL, WNOHANG) == weftd)
			return ASSERT_TRUE(false, what) && false;
		usleep(5000);
	}
	if (tenv_now_ms() - start > a->max_ms)
		a->max_ms = tenv_now_ms() - start;
	return true;
}

static int spread(const char *vip, int count, int hits[4])
{
	static const char *const names[] = { "be1", "be2", "be3", "be4" };

	return tenv_spread(vip, 80, NULL, count, names, 4, hits);
}

static bool logged(struct api *a, const char *what)
{
	char out[256];

	return tenv_capture(out, sizeof(out), "grep -c -E -- '%s' %s/requests.log", what, a->dir) == 0;
}

#define SVC(name, vip, ann, ports)                                                         \
	"{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"annotations\":{" ann "},"  \
	"\"name\":\"" name "\",\"namespace\":\"default\",\"uid\":\"u-" name "\"},\"spec\":{"   \
	"\"clusterIP\":\"" vip "\",\"clusterIPs\":[\"" vip "\"],\"ipFamilies\":[\"IPv4\"],"     \
	"\"ipFamilyPolicy\":\"SingleStack\",\"ports\":[" ports "],\"selector\":{\"app\":\"" name "\"}," \
	"\"sessionAffinity\":\"None\",\"type\":\"ClusterIP\"},\"status\":{\"loadBalancer\":{}}}"
#define WEB_PORTS                                                                          \
	"{\"name\":\"http\",\"port\":80,\"protocol\":\"TCP\",\"targetPort\":\"http\"},"      \
	"{\"name\":\"dns\",\"port\":53,\"protocol\":\"UDP\",\"targetPort\":8080}"
#define EP(ip, ready, term)                                                                \
	"{\"addresses\":[\"" ip "\"],\"conditions\":{\"ready\":" ready ",\"serving\":true,"   \
	"\"terminating\":" term "},\"nodeName\":\"node-1\"}"
#define SLICE(svc, name, eps, ports)                                                       \
	"{\"addressType\":\"IPv4\",\"apiVersion\":\"discovery.k8s.io/v1\",\"endpoints\":[" eps "]," \
	"\"kind\":\"EndpointSlice\",\"metadata\":{\"labels\":{\"kubernetes.io/service-name\":\"" svc \
	"\"},\"name\":\"" name "\",\"namespace\":\"default\"},\"ports\":[" ports "]}"
#define P8080 "{\"name\":\"http\",\"port\":8080,\"protocol\":\"TCP\"},{\"name\":\"dns\",\"port\":8080,\"protocol\":\"UDP\"}"

TEST_TIMEOUT(e2e, k8s_weftd_follows_the_api_server, 120)
{
	struct api a = { 0 };
	char bin[512], kc[256], cfg[256], name[64], peer[64], want[256];
	long es_rv = 0;	/* the endpointslices watch's last version */
	int hits[4];
	pid_t weftd;
	long long t;

	tenv_need_root();
	if (!ASSERT_OK(tenv_pod("cli", "10.250.0.10", NULL), "client pod") ||
	    !ASSERT_OK(tenv_pod("be1", "10.250.0.21", NULL), "be1") ||
	    !ASSERT_OK(tenv_pod("be2", "10.250.0.22", NULL), "be2") ||
	    !ASSERT_OK(tenv_pod("be3", "10.250.0.23", NULL), "be3") ||
	    !ASSERT_TRUE(tenv_namesrv("be1", "be1", "10.250.0.21", 8080) > 0, "namesrv be1") ||
	    !ASSERT_TRUE(tenv_namesrv("be2", "be2", "10.250.0.22", 8080) > 0, "namesrv be2") ||
	    !ASSERT_TRUE(tenv_namesrv("be3", "be3", "10.250.0.23", 9090) > 0, "namesrv be3 on 9090") ||
	    !api_start(&a, false))
		return;
	if (!api(&a, "put services " SVC("web", VIP, "", WEB_PORTS)))
		return;

	snprintf(bin, sizeof(bin), "%s/weftd", weft_test_bindir());
	snprintf(kc, sizeof(kc), "%s/kubeconfig", a.dir);
	snprintf(cfg, sizeof(cfg), "%s/weft.yaml", a.dir);
	char *argv[] = { bin, "--kubeconfig", kc, "--node", "node-1", "--config", cfg,
			 "--log-level", "info", NULL };
	t = tenv_now_ms();
	weftd = tenv_spawn(NULL, false, false, argv);
	if (!ASSERT_TRUE(weftd > 0, "weftd spawned"))
		return;
	if (!ASSERT_TRUE(tenv_wait_applied(weftd, 1), "first list applied") ||
	    !wait_sp(&a, weftd, VIP, 80, "tcp", "", "web:80 without backends") ||
	    !ASSERT_OK(tenv_enter("cli", true), "enter client pod"))
		return;
	fprintf(stderr, "k8s e2e: start to first apply: %lld ms\n", tenv_now_ms() - t);
	ASSERT_EQ(tenv_tcp_ask(VIP, 80, NULL, false, name, sizeof(name), NULL, 0), -ECONNREFUSED,
		  "no endpoints: refused");

	/* Endpoints appear. */
	if (!api(&a, "put endpointslices " SLICE("web", "web-a", EP("10.250.0.21", "true", "false") ","
					      EP("10.250.0.22", "null", "false"), P8080)) ||
	    !wait_sp(&a, weftd, VIP, 80, "tcp", "10.250.0.21:8080 10.250.0.22:8080", "endpoints added") ||
	    !wait_sp(&a, weftd, VIP, 53, "udp", "10.250.0.21:8080 10.250.0.22:8080", "udp endpoints"))
		return;
	ASSERT_EQ(spread(VIP, 100, hits), 0, "no failed connections");
	ASSERT_TRUE(hits[0] > 0 && hits[1] > 0, "be1 and be2 answer");
	ASSERT_OK(tenv_udp_ask(VIP, 53, false, false, name, sizeof(name), peer, sizeof(peer)), "udp");

	/* Scale up with a second slice whose named port resolves to 9090; the
	 * event crosses the wire in two chunks. */
	if (!api(&a, "split on") ||
	    !api(&a, "put endpointslices " SLICE("web", "web-b", EP("10.250.0.23", "true", "false"),
						 "{\"name\":\"http\",\"port\":9090,\"protocol\":\"TCP\"}")) ||
	    !api(&a, "split off") ||
	    !wait_sp(&a, weftd, VIP, 80, "tcp", "10.250.0.21:8080 10.250.0.22:8080 10.250.0.23:9090",
		     "scaled to three, be3 on its own port"))
		return;
	ASSERT_EQ(spread(VIP, 150, hits), 0, "no failed connections after scaling");
	ASSERT_TRUE(hits[2] > 0, "be3 answers on 9090");
	ASSERT_TRUE(wait_sp(&a, weftd, VIP, 53, "udp", "10.250.0.21:8080 10.250.0.22:8080",
			    "udp: web-b has no dns port"), "udp unchanged");

	/* be1 terminating, and a second service, in one chunk. */
	if (!api(&a, "begin") ||
	    !api(&a, "put endpointslices " SLICE("web", "web-a", EP("10.250.0.21", "false", "true") ","
						 EP("10.250.0.22", "true", "false"), P8080)) ||
	    !api(&a, "put services " SVC("other", "10.250.100.3", "\"weft.dev/lb\":\"round_robin\"",
					 "{\"port\":80,\"protocol\":\"TCP\",\"targetPort\":8080}")) ||
	    !api(&a, "put endpointslices " SLICE("other", "other-a", EP("10.250.0.21", "true", "false"),
						 "{\"port\":8080,\"protocol\":\"TCP\"}")) ||
	    !api(&a, "commit") || !(es_rv = a.rv) ||
	    !wait_sp(&a, weftd, VIP, 80, "tcp", "10.250.0.22:8080 10.250.0.23:9090", "be1 terminating: out") ||
	    !wait_sp(&a, weftd, "10.250.100.3", 80, "tcp", "10.250.0.21:8080", "other added"))
		return;
	ASSERT_EQ(spread(VIP, 100, hits), 0, "no failures");
	ASSERT_EQ(hits[0], 0, "the terminating endpoint gets no new connections");
	ASSERT_EQ(spread("10.250.100.3", 10, hits), 0, "other works");
	ASSERT_EQ(hits[0], 10, "other -> be1");

	/* A malformed object is skipped; the next good event still lands. */
	if (!api(&a, "put services " SVC("bad", "banana", "", WEB_PORTS)) ||
	    !api(&a, "put services " SVC("web", VIP, "\"weft.dev/lb\":\"round_robin\"", WEB_PORTS)))
		return;
	t = tenv_now_ms();
	for (char line[4096] = ""; tenv_now_ms() - t < WAIT_MS && !strstr(line, "\"round_robin\"");
	     usleep(5000))
		sp_line(VIP, 80, "tcp", line, sizeof(line));
	ASSERT_TRUE(wait_sp(&a, weftd, VIP, 80, "tcp", "10.250.0.22:8080 10.250.0.23:9090", "web kept"),
		    "web kept after a malformed object");
	ASSERT_TRUE(wait_sp(&a, weftd, "10.250.100.3", 80, "tcp", "10.250.0.21:8080", "other kept"),
		    "other kept");
	ASSERT_EQ(spread(VIP, 40, hits), 0, "web works");
	ASSERT_TRUE(hits[1] > 0 && hits[2] > 0, "round robin over be2 and be3");

	/* A bookmark moves the resourceVersion the next watch starts from. */
	if (!api(&a, "qput endpointslices " SLICE("zzz", "zzz-a", "", "")) ||
	    !api(&a, "bookmark services") || !api(&a, "drop"))
		return;
	snprintf(want, sizeof(want), "^GET /api/v1/services\\?watch=1&allowWatchBookmarks=true&resourceVersion=%ld&.* 200$", a.rv);
	t = tenv_now_ms();
	while (tenv_now_ms() - t < WAIT_MS && !logged(&a, want))
		usleep(10000);
	ASSERT_TRUE(logged(&a, want), "the services watch resumed from the bookmark's version");

	/* Changes the watches never see, then 410: as an ERROR event in the
	 * services stream, as HTTP 410 for endpointslices. Both relist. */
	if (!api(&a, "qput services " SVC("late", "10.250.100.4", "",
					  "{\"port\":80,\"protocol\":\"TCP\",\"targetPort\":8080}")) ||
	    !api(&a, "qput endpointslices " SLICE("late", "late-a", EP("10.250.0.22", "true", "false"),
						  "{\"port\":8080,\"protocol\":\"TCP\"}")) ||
	    !api(&a, "compact services event") || !api(&a, "compact endpointslices http") ||
	    !wait_sp(&a, weftd, "10.250.100.4", 80, "tcp", "10.250.0.22:8080", "relisted after 410"))
		return;
	snprintf(want, sizeof(want), "endpointslices\\?watch=1&allowWatchBookmarks=true&resourceVersion=%ld&.* 410$", es_rv);
	ASSERT_TRUE(logged(&a, want), "endpointslices re-watched from its old version: HTTP 410");
	ASSERT_EQ(spread("10.250.100.4", 10, hits), 0, "late works");
	ASSERT_EQ(hits[1], 10, "late -> be2");

	/* Token rotation: the server takes only the new token and ends the
	 * streams; weftd gets 401s until the file changes, then carries on. */
	if (!api(&a, "token token-two") || !api(&a, "drop"))
		return;
	t = tenv_now_ms();
	while (tenv_now_ms() - t < WAIT_MS && !logged(&a, " 401$"))
		usleep(10000);
	ASSERT_TRUE(logged(&a, " 401$"), "401 with the old token");
	tenv_sh("cd %s && printf 'token-two\\n' > token.new && mv token.new token", a.dir);
	if (!api(&a, "del endpointslices default/other-a") ||
	    !wait_sp(&a, weftd, "10.250.100.3", 80, "tcp", "", "event after token rotation"))
		return;
	ASSERT_EQ(tenv_tcp_ask("10.250.100.3", 80, NULL, false, name, sizeof(name), NULL, 0),
		  -ECONNREFUSED, "other without endpoints refuses");

	/* Delete the service. */
	if (!api(&a, "del services default/web") ||
	    !wait_sp(&a, weftd, VIP, 80, "tcp", "-", "web deleted") ||
	    !wait_sp(&a, weftd, VIP, 53, "udp", "-", "web udp deleted"))
		return;
	ASSERT_TRUE(tenv_tcp_ask(VIP, 80, NULL, false, name, sizeof(name), NULL, 0) != 0,
		    "the VIP is no longer translated");
	ASSERT_TRUE(waitpid(weftd, NULL, WNOHANG) == 0, "weftd still running");
	fprintf(stderr, "k8s e2e: slowest event to reach the maps: %lld ms\n", a.max_ms);
	ASSERT_LE(a.max_ms, WAIT_MS, "events reach the maps");
	kill(weftd, SIGTERM);
	waitpid(weftd, NULL, 0);
	kill(a.pid, SIGTERM);
	waitpid(a.pid, NULL, 0);
}

/* A Node as the kubelet registers it: its zone label and InternalIP (and an
 * ExternalIP weft must not use). */
#define NODE(name, zone, ip)                                                               \
	"{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"labels\":{"                \
	"\"kubernetes.io/hostname\":\"" name "\",\"topology.kubernetes.io/zone\":\"" zone "\"}," \
	"\"name\":\"" name "\",\"uid\":\"u-node-" name "\"},\"spec\":{\"podCIDR\":\"10.244.0.0/24\"}," \
	"\"status\":{\"addresses\":[{\"address\":\"" ip "\",\"type\":\"InternalIP\"},"          \
	"{\"address\":\"203.0.113.9\",\"type\":\"ExternalIP\"},{\"address\":\"" name "\","      \
	"\"type\":\"Hostname\"}],\"conditions\":[{\"status\":\"True\",\"type\":\"Ready\"}]}}"
/* A Service of type type; spec: more spec members (each ending in ','). */
#define XSVC(name, type, vip, spec, ports, status)                                          \
	"{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"" name "\","     \
	"\"namespace\":\"default\",\"uid\":\"u-" name "\"},\"spec\":{\"clusterIP\":\"" vip "\"," \
	"\"clusterIPs\":[\"" vip "\"],\"ipFamilies\":[\"IPv4\"],\"ipFamilyPolicy\":\"SingleStack\"," \
	spec "\"ports\":[" ports "],\"selector\":{\"app\":\"" name "\"},\"type\":\"" type "\"}," \
	"\"status\":" status "}"
/* An endpoint on node with its hints (a JSON object, or null). */
#define HEP(ip, ready, node, hints)                                                         \
	"{\"addresses\":[\"" ip "\"],\"conditions\":{\"ready\":" ready ",\"serving\":" ready   \
	",\"terminating\":false},\"nodeName\":\"" node "\",\"hints\":" hints "}"
#define FORZONE(z) "{\"forZones\":[{\"name\":\"" z "\"}]}"

/* weftd as node-1 against a, with the test's config; its pid. */
static pid_t weftd_node1(struct api *a)
{
	static char bin[512], kc[256], cfg[256];
	static char *argv[] = { bin, "--kubeconfig", kc, "--node", "node-1", "--config", cfg,
				"--log-level", "info", NULL };

	snprintf(bin, sizeof(bin), "%s/weftd", weft_test_bindir());
	snprintf(kc, sizeof(kc), "%s/kubeconfig", a->dir);
	snprintf(cfg, sizeof(cfg), "%s/weft.yaml", a->dir);
	return tenv_spawn(NULL, false, false, argv);
}

TEST_TIMEOUT(e2e, k8s_topology_hints_follow_the_node_zone, 120)
{
	static const char *const names[] = { "be1", "be2", "be3", "be4" };
	struct api a = { 0 };
	int hits[4];
	pid_t weftd;

	tenv_need_root();
	if (!ASSERT_OK(tenv_pod("cli", "10.250.0.10", NULL), "client pod") ||
	    !ASSERT_OK(tenv_pod("be1", "10.250.0.21", NULL), "be1") ||
	    !ASSERT_OK(tenv_pod("be2", "10.250.0.22", NULL), "be2") ||
	    !ASSERT_OK(tenv_pod("be3", "10.250.0.23", NULL), "be3") ||
	    !ASSERT_TRUE(tenv_namesrv("be1", "be1", "10.250.0.21", 8080) > 0, "namesrv be1") ||
	    !ASSERT_TRUE(tenv_namesrv("be2", "be2", "10.250.0.22", 8080) > 0, "namesrv be2") ||
	    !ASSERT_TRUE(tenv_namesrv("be3", "be3", "10.250.0.23", 8080) > 0, "namesrv be3") ||
	    !api_start(&a, false))
		return;
	/* this node (node-1) is in z1; be1 is hinted for z1, be2 and be3 for z2 */
	if (!api(&a, "put nodes " NODE("node-1", "z1", "192.0.2.11")) ||
	    !api(&a, "put nodes " NODE("node-2", "z2", "192.0.2.12")) ||
	    !api(&a, "put services " XSVC("web", "ClusterIP", VIP, "\"trafficDistribution\":\"PreferClose\",",
					  "{\"port\":80,\"protocol\":\"TCP\",\"targetPort\":8080}", "{}")) ||
	    !api(&a, "put endpointslices " SLICE("web", "web-a",
						 HEP("10.250.0.21", "true", "node-1", FORZONE("z1")) ","
						 HEP("10.250.0.22", "true", "node-2", FORZONE("z2")) ","
						 HEP("10.250.0.23", "true", "node-2", FORZONE("z2")),
						 "{\"port\":8080,\"protocol\":\"TCP\"}")))
		return;
	weftd = weftd_node1(&a);
	if (!ASSERT_TRUE(weftd > 0, "weftd spawned") ||
	    !ASSERT_TRUE(tenv_wait_applied(weftd, 1), "first list applied") ||
	    !wait_sp(&a, weftd, VIP, 80, "tcp", "10.250.0.21:8080", "z1: its zone's backend only") ||
	    !ASSERT_OK(tenv_enter("cli", true), "enter client pod"))
		goto out;
	ASSERT_EQ(tenv_spread(VIP, 80, NULL, 40, names, 4, hits), 0, "no failed connections");
	ASSERT_EQ(hits[0], 40, "a z1 client reaches z1's backend only");

	/* The z1 backend is not ready: every ready backend. */
	if (!api(&a, "put endpointslices " SLICE("web", "web-a",
						 HEP("10.250.0.21", "false", "node-1", FORZONE("z1")) ","
						 HEP("10.250.0.22", "true", "node-2", FORZONE("z2")) ","
						 HEP("10.250.0.23", "true", "node-2", FORZONE("z2")),
						 "{\"port\":8080,\"protocol\":\"TCP\"}")) ||
	    !wait_sp(&a, weftd, VIP, 80, "tcp", "10.250.0.22:8080 10.250.0.23:8080",
		     "the hinted one not ready: fall back to all"))
		goto out;
	ASSERT_EQ(tenv_spread(VIP, 80, NULL, 60, names, 4, hits), 0, "fallback: no failures");
	ASSERT_TRUE(hits[0] == 0 && hits[1] > 0 && hits[2] > 0, "fallback: be2 and be3");

	/* Ready again, and this node moves to z2 (its Node's label): z2's. */
	if (!api(&a, "put endpointslices " SLICE("web", "web-a",
						 HEP("10.250.0.21", "true", "node-1", FORZONE("z1")) ","
						 HEP("10.250.0.22", "true", "node-2", FORZONE("z2")) ","
						 HEP("10.250.0.23", "true", "node-2", FORZONE("z2")),
						 "{\"port\":8080,\"protocol\":\"TCP\"}")) ||
	    !wait_sp(&a, weftd, VIP, 80, "tcp", "10.250.0.21:8080", "back to z1's") ||
	    !api(&a, "put nodes " NODE("node-1", "z2", "192.0.2.11")) ||
	    !wait_sp(&a, weftd, VIP, 80, "tcp", "10.250.0.22:8080 10.250.0.23:8080",
		     "the Node's zone label moved: z2's backends"))
		goto out;
	ASSERT_EQ(tenv_spread(VIP, 80, NULL, 60, names, 4, hits), 0, "z2: no failures");
	ASSERT_TRUE(hits[0] == 0 && hits[1] > 0 && hits[2] > 0, "a z2 client: be2 and be3");

	/* One endpoint without hints: kube-proxy ignores them all. */
	if (!api(&a, "put endpointslices " SLICE("web", "web-a",
						 HEP("10.250.0.21", "true", "node-1", FORZONE("z1")) ","
						 HEP("10.250.0.22", "true", "node-2", "null") ","
						 HEP("10.250.0.23", "true", "node-2", FORZONE("z2")),
						 "{\"port\":8080,\"protocol\":\"TCP\"}")) ||
	    !wait_sp(&a, weftd, VIP, 80, "tcp", "10.250.0.21:8080 10.250.0.22:8080 10.250.0.23:8080",
		     "an endpoint without hints: all"))
		goto out;
	ASSERT_TRUE(waitpid(weftd, NULL, WNOHANG) == 0, "weftd still running");
out:
	kill(weftd, SIGTERM);
	waitpid(weftd, NULL, 0);
	kill(a.pid, SIGTERM);
	waitpid(a.pid, NULL, 0);
}

#define NP_PORTS                                                                            \
	"{\"name\":\"http\",\"nodePort\":30080,\"port\":80,\"protocol\":\"TCP\",\"targetPort\":8080}," \
	"{\"name\":\"dns\",\"nodePort\":30053,\"port\":53,\"protocol\":\"UDP\",\"targetPort\":8080}"

/* Milliseconds until vip:port/proto holds want (-1: not within WAIT_MS). */
static long long until_sp(struct api *a, pid_t weftd, const char *vip, int port, const char *want)
{
	long long t = tenv_now_ms();

	if (!wait_sp(a, weftd, vip, port, "tcp", want, vip))
		return -1;
	return tenv_now_ms() - t;
}

TEST_TIMEOUT(e2e, k8s_node_ports_external_and_lb_ips_from_pods, 120)
{
	static const char *const names[] = { "be1", "be2", "be3", "be4" };
	struct api a = { 0 };
	char name[64];
	long long ms;
	int hits[4];
	pid_t weftd;

	tenv_need_root();
	if (!ASSERT_OK(tenv_pod("cli", "10.250.0.10", NULL), "client pod") ||
	    !ASSERT_OK(tenv_pod("be1", "10.250.0.21", NULL), "be1") ||
	    !ASSERT_OK(tenv_pod("be2", "10.250.0.22", NULL), "be2") ||
	    !ASSERT_TRUE(tenv_namesrv("be1", "be1", "10.250.0.21", 8080) > 0, "namesrv be1") ||
	    !ASSERT_TRUE(tenv_namesrv("be2", "be2", "10.250.0.22", 8080) > 0, "namesrv be2") ||
	    !api_start(&a, false))
		return;
	/* Node addresses and external addresses from unrouted test ranges
	 * (192.0.2.0/24, 198.51.100.0/24): only translation reaches them. */
	if (!api(&a, "put nodes " NODE("node-1", "z1", "192.0.2.11")) ||
	    !api(&a, "put nodes " NODE("node-2", "z1", "192.0.2.12")) ||
	    !api(&a, "put services " XSVC("np", "NodePort", VIP, "\"externalIPs\":[\"198.51.100.7\"],",
					  NP_PORTS, "{\"loadBalancer\":{}}")) ||
	    !api(&a, "put endpointslices " SLICE("np", "np-a", EP("10.250.0.21", "true", "false") ","
						 EP("10.250.0.22", "true", "false"), P8080)) ||
	    /* eTP Local, its one backend on node-2: pods still reach it */
	    !api(&a, "put services " XSVC("lb", "LoadBalancer", "10.250.100.2",
					  "\"externalTrafficPolicy\":\"Local\",\"internalTrafficPolicy\":\"Local\",",
					  "{\"name\":\"http\",\"nodePort\":31080,\"port\":80,\"protocol\":\"TCP\",\"targetPort\":8080}",
					  "{\"loadBalancer\":{\"ingress\":[{\"ip\":\"198.51.100.20\",\"ipMode\":\"VIP\"}]}}")) ||
	    !api(&a, "put endpointslices " SLICE("lb", "lb-a",
						 HEP("10.250.0.22", "true", "node-2", "null"),
						 "{\"name\":\"http\",\"port\":8080,\"protocol\":\"TCP\"}")))
		return;
	weftd = weftd_node1(&a);
	if (!ASSERT_TRUE(weftd > 0, "weftd spawned") ||
	    !ASSERT_TRUE(tenv_wait_applied(weftd, 1), "first list applied") ||
	    !wait_sp(&a, weftd, "192.0.2.12", 30080, "tcp", "10.250.0.21:8080 10.250.0.22:8080",
		     "node-2's node port") ||
	    !wait_sp(&a, weftd, "198.51.100.20", 80, "tcp", "10.250.0.22:8080", "the LB IP") ||
	    !ASSERT_OK(tenv_enter("cli", true), "enter client pod"))
		goto out;
	ASSERT_EQ(tenv_spread("192.0.2.11", 30080, NULL, 30, names, 4, hits), 0,
		  "node-1's InternalIP at the node port");
	ASSERT_TRUE(hits[0] > 0 && hits[1] > 0, "node-1:30080 reaches both backends");
	ASSERT_EQ(tenv_spread("192.0.2.12", 30080, NULL, 30, names, 4, hits), 0,
		  "node-2's InternalIP at the node port");
	ASSERT_TRUE(hits[0] + hits[1] == 30, "node-2:30080 reaches a backend");
	ASSERT_OK(tenv_udp_ask("192.0.2.12", 30053, true, false, name, sizeof(name), NULL, 0),
		  "the UDP node port (connected)");
	ASSERT_TRUE(!strcmp(name, "be1") || !strcmp(name, "be2"), "UDP answered by a backend");
	ASSERT_TRUE(tenv_tcp_ask("192.0.2.12", 30053, NULL, false, name, sizeof(name), NULL, 0) != 0,
		    "the UDP node port is not a TCP one");
	ASSERT_EQ(tenv_spread("198.51.100.7", 80, NULL, 20, names, 4, hits), 0, "the external IP");
	ASSERT_EQ(hits[0] + hits[1], 20, "externalIP:80 reaches a backend");
	ASSERT_EQ(tenv_spread("198.51.100.20", 80, NULL, 20, names, 4, hits), 0,
		  "the load balancer IP, eTP Local");
	ASSERT_EQ(hits[1], 20, "LB IP -> be2 on node-2: eTP Local does not apply to pods");
	ASSERT_EQ(tenv_tcp_ask("10.250.100.2", 80, NULL, false, name, sizeof(name), NULL, 0),
		  -ECONNREFUSED, "its cluster IP keeps internalTrafficPolicy Local (no backend here)");
	ASSERT_EQ(tenv_spread("192.0.2.11", 31080, NULL, 10, names, 4, hits), 0,
		  "the LoadBalancer's node port");

	/* node-2's address changes; node-3 joins: node ports follow. */
	if (!api(&a, "put nodes " NODE("node-2", "z1", "192.0.2.22")))
		goto out;
	ms = until_sp(&a, weftd, "192.0.2.22", 30080, "10.250.0.21:8080 10.250.0.22:8080");
	fprintf(stderr, "node IP change to node-port frontend: %lld ms\n", ms);
	if (!ASSERT_TRUE(ms >= 0, "the new address is a frontend") ||
	    !wait_sp(&a, weftd, "192.0.2.12", 30080, "tcp", "-", "the old address is not"))
		goto out;
	ASSERT_LE(ms, 1000, "within a second");
	ASSERT_EQ(tenv_spread("192.0.2.22", 30080, NULL, 10, names, 4, hits), 0, "node-2's new address");
	if (!api(&a, "put nodes " NODE("node-3", "z2", "192.0.2.13")) ||
	    !wait_sp(&a, weftd, "192.0.2.13", 30080, "tcp", "10.250.0.21:8080 10.250.0.22:8080",
		     "node-3 added"))
		goto out;
	ASSERT_EQ(tenv_spread("192.0.2.13", 30080, NULL, 10, names, 4, hits), 0, "node-3's node port");
	if (!api(&a, "del nodes node-3") ||
	    !wait_sp(&a, weftd, "192.0.2.13", 30080, "tcp", "-", "node-3 removed"))
		goto out;
	ASSERT_TRUE(tenv_tcp_ask("192.0.2.13", 30080, NULL, false, name, sizeof(name), NULL, 0) != 0,
		    "a removed Node's address is no longer translated");
	/* type back to ClusterIP: the node ports and the LB IP go */
	if (!api(&a, "put services " XSVC("np", "ClusterIP", VIP, "", WEB_PORTS, "{\"loadBalancer\":{}}")) ||
	    !wait_sp(&a, weftd, "192.0.2.11", 30080, "tcp", "-", "ClusterIP: no node port"))
		goto out;
	ASSERT_EQ(tenv_spread(VIP, 80, NULL, 10, names, 4, hits), 0, "the cluster IP still works");
	ASSERT_TRUE(waitpid(weftd, NULL, WNOHANG) == 0, "weftd still running");
out:
	kill(weftd, SIGTERM);
	waitpid(weftd, NULL, 0);
	kill(a.pid, SIGTERM);
	waitpid(a.pid, NULL, 0);
}

/* Nodes not readable (an old ClusterRole without them, or not served):
 * logged once, every Service still works, node ports come when they are. */
TEST_TIMEOUT(e2e, k8s_nodes_not_served_cost_node_ports_only, 90)
{
	static const char *const names[] = { "be1", "be2", "be3", "be4" };
	static char bin[512], kc[256], cfg[256];
	struct api a = { 0 };
	char out[4096];
	int hits[4];
	pid_t weftd;
	long long t;

	tenv_need_root();
	if (!ASSERT_OK(tenv_pod("cli", "10.250.0.10", NULL), "client pod") ||
	    !ASSERT_OK(tenv_pod("be1", "10.250.0.21", NULL), "be1") ||
	    !ASSERT_TRUE(tenv_namesrv("be1", "be1", "10.250.0.21", 8080) > 0, "namesrv be1") ||
	    !api_start(&a, false))
		return;
	if (!api(&a, "put nodes " NODE("node-1", "z1", "192.0.2.11")) ||
	    !api(&a, "serve nodes off") ||
	    !api(&a, "put services " XSVC("np", "NodePort", VIP, "", NP_PORTS, "{\"loadBalancer\":{}}")) ||
	    !api(&a, "put endpointslices " SLICE("np", "np-a", EP("10.250.0.21", "true", "false"), P8080)))
		return;
	snprintf(bin, sizeof(bin), "%s/weftd", weft_test_bindir());
	snprintf(kc, sizeof(kc), "%s/kubeconfig", a.dir);
	snprintf(cfg, sizeof(cfg), "%s/weft.yaml", a.dir);
	char *argv[] = { bin, "--kubeconfig", kc, "--node", "node-1", "--config", cfg,
			 "--log-level", "info", "--api-recheck", "1", NULL };
	weftd = tenv_spawn(NULL, false, false, argv);
	if (!ASSERT_TRUE(weftd > 0, "weftd spawned") ||
	    !ASSERT_TRUE(tenv_wait_applied(weftd, 1), "applied without Nodes") ||
	    !wait_sp(&a, weftd, VIP, 80, "tcp", "10.250.0.21:8080", "the cluster IP works") ||
	    !ASSERT_OK(tenv_enter("cli", true), "enter client pod"))
		goto out;
	ASSERT_EQ(tenv_spread(VIP, 80, NULL, 10, names, 4, hits), 0, "the Service is reached");
	sp_line("192.0.2.11", 30080, "tcp", out, sizeof(out));
	ASSERT_STR(out, "", "no Nodes: no node port yet");
	/* served again: listed at the next re-check (1-2 s) */
	t = tenv_now_ms();
	if (!api(&a, "serve nodes on"))
		goto out;
	while (tenv_now_ms() - t < 2 * WAIT_MS) {
		sp_line("192.0.2.11", 30080, "tcp", out, sizeof(out));
		if (line_is(out, "10.250.0.21:8080"))
			break;
		usleep(20000);
	}
	ASSERT_TRUE(line_is(out, "10.250.0.21:8080"), "the node port once Nodes are served");
	ASSERT_EQ(tenv_spread("192.0.2.11", 30080, NULL, 10, names, 4, hits), 0, "and reached");
out:
	kill(weftd, SIGTERM);
	waitpid(weftd, NULL, 0);
	kill(a.pid, SIGTERM);
	waitpid(a.pid, NULL, 0);
}

/* A Pod as the API returns it (trimmed of status details weft does not read). */
#define POD(name, ns, node, labels, ip)                                                    \
	"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"labels\":{" labels "},"      \
	"\"name\":\"" name "\",\"namespace\":\"" ns "\",\"ownerReferences\":[{\"apiVersion\":" \
	"\"apps/v1\",\"blockOwnerDeletion\":true,\"controller\":true,\"kind\":\"ReplicaSet\","  \
	"\"name\":\"" name "-5d8f7c9b4\",\"uid\":\"u-rs-" name "\"}],\"uid\":\"u-" name "\"},"  \
	"\"spec\":{\"containers\":[{\"image\":\"nginx:1.27\",\"name\":\"c\",\"ports\":[{"       \
	"\"containerPort\":8080,\"name\":\"http\",\"protocol\":\"TCP\"}]}],\"nodeName\":\""   \
	node "\",\"restartPolicy\":\"Always\"},\"status\":{\"hostIP\":\"192.168.1.10\","       \
	"\"phase\":\"Running\",\"podIP\":\"" ip "\",\"podIPs\":[{\"ip\":\"" ip "\"}]}}"
#define NAMESPACE(name, team)                                                              \
	"{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"labels\":{"           \
	"\"kubernetes.io/metadata.name\":\"" name "\",\"team\":\"" team "\"},\"name\":\"" name \
	"\",\"uid\":\"u-ns-" name "\"},\"spec\":{\"finalizers\":[\"kubernetes\"]},"            \
	"\"status\":{\"phase\":\"Active\"}}"
/* web in shop takes clients of the namespaces nsel selects, on its port
 * named http. */
#define NETPOL(nsel)                                                                       \
	"{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"NetworkPolicy\",\"metadata\":{"  \
	"\"name\":\"web\",\"namespace\":\"shop\",\"uid\":\"u-np-web\"},\"spec\":{"             \
	"\"podSelector\":{\"matchLabels\":{\"app\":\"web\"}},\"policyTypes\":[\"Ingress\"],"    \
	"\"ingress\":[{\"from\":[{\"namespaceSelector\":" nsel ",\"podSelector\":{"           \
	"\"matchLabels\":{\"app\":\"client\"}}}],\"ports\":[{\"port\":\"http\","              \
	"\"protocol\":\"TCP\"}]}]}}"

/* `weft policy --json` into buf. */
static bool policy_json(char *buf, size_t len)
{
	return tenv_capture(buf, len, "%s/weft --bpffs %s policy --json", weft_test_bindir(),
			    tenv_bpffs()) == 0;
}

/* Wait until `weft policy --json` has (or lacks) text; ms it took, or -1. */
static long long wait_policy(const char *text, bool present)
{
	static char out[65536];
	long long start = tenv_now_ms();

	while (tenv_now_ms() - start < WAIT_MS) {
		if (policy_json(out, sizeof(out)) && !!strstr(out, text) == present)
			return tenv_now_ms() - start;
		usleep(5000);
	}
	return -1;
}

/* From pod (its netns, the test cgroup): does web answer on 8080? */
static bool web_answers(const char *pod)
{
	char name[64] = "";

	return !ASSERT_OK(tenv_enter(pod, true), "enter the client pod") ? false :
	       tenv_tcp_ask("10.250.0.21", 8080, NULL, false, name, sizeof(name), NULL, 0) == 0 &&
		       !strcmp(name, "web");
}

/*
 * Pods, Namespaces and a NetworkPolicy from the API server: weftd (in the
 * node netns, where the pods' veths and routes are) makes this node's pods
 * endpoints, finds their interfaces from the routes and enforces the policy
 * with real connections: a namespace selector lets the client of one
 * namespace in and not its twin (equal labels) of another. A MODIFIED
 * policy changes the verdict within a second; a deleted pod's endpoint goes.
 */
TEST_TIMEOUT(e2e, k8s_pods_namespaces_and_network_policies, 120)
{
	static char out[65536];
	struct api a = { 0 };
	char bin[512], kc[256], cfg[256];
	long long ms;
	pid_t weftd;

	tenv_need_root();
	if (!ASSERT_OK(tenv_pod("cli-a", "10.250.0.10", NULL), "client pod of shop") ||
	    !ASSERT_OK(tenv_pod("cli-b", "10.250.0.11", NULL), "client pod of lab") ||
	    !ASSERT_OK(tenv_pod("web", "10.250.0.21", NULL), "web pod") ||
	    !ASSERT_TRUE(tenv_namesrv("web", "web", "10.250.0.21", 8080) > 0, "web server") ||
	    !api_start(&a, true))
		return;
	if (!api(&a, "put namespaces " NAMESPACE("shop", "b")) ||
	    !api(&a, "put namespaces " NAMESPACE("lab", "a")) ||
	    !api(&a, "put pods " POD("cli-a", "shop", "node-1", "\"app\":\"client\"", "10.250.0.10")) ||
	    !api(&a, "put pods " POD("cli-b", "lab", "node-1", "\"app\":\"client\"", "10.250.0.11")) ||
	    !api(&a, "put pods " POD("web", "shop", "node-1", "\"app\":\"web\"", "10.250.0.21")) ||
	    !api(&a, "put pods " POD("far", "lab", "node-2", "\"app\":\"client\"", "10.250.0.99")) ||
	    !api(&a, "put networkpolicies " NETPOL("{\"matchLabels\":{\"team\":\"a\"}}")))
		return;

	snprintf(bin, sizeof(bin), "%s/weftd", weft_test_bindir());
	snprintf(kc, sizeof(kc), "%s/kubeconfig", a.dir);
	snprintf(cfg, sizeof(cfg), "%s/weft.yaml", a.dir);
	char *argv[] = { bin, "--kubeconfig", kc, "--node", "node-1", "--config", cfg,
			 "--log-level", "info", NULL };
	weftd = tenv_spawn("node", false, false, argv);
	if (!ASSERT_TRUE(weftd > 0, "weftd spawned") ||
	    !ASSERT_TRUE(tenv_wait_applied(weftd, 1), "first list applied") ||
	    !ASSERT_TRUE(wait_policy("10.250.0.11", true) >= 0, "cli-b is web's allowed peer"))
		goto out;
	ASSERT_TRUE(logged(&a, "^GET /api/v1/pods\\?limit=.* 200$") &&
			    !logged(&a, "^GET /api/v1/pods\\?fieldSelector"),
		    "every pod of the cluster listed and watched, no node field selector");
	ASSERT_TRUE(tenv_capture(out, sizeof(out), "%s/weft --bpffs %s endpoints --json",
				 weft_test_bindir(), tenv_bpffs()) == 0 &&
			    tenv_json_plain(out, sizeof(out)) &&
			    strstr(out, "{\"name\":\"far\",\"namespace\":\"lab\"") &&
			    strstr(out, "\"address\":\"10.250.0.99\",\"identity\""),
		    "a pod of another node is a named endpoint");
	{
		const char *far = strstr(out, "{\"name\":\"far\""), *r = strstr(out, "[\"remote\"]");

		ASSERT_TRUE(far && r && r > far && !strstr(r + 1, "[\"remote\"]") &&
				    (!strstr(far + 1, "{\"name\"") || strstr(far + 1, "{\"name\"") > r),
			    "marked remote, the only one");
	}
	ASSERT_TRUE(policy_json(out, sizeof(out)), "weft policy");
	ASSERT_TRUE(strstr(out, "\"ports\": \"8080\"") != NULL, "the named port resolved to 8080");
	ASSERT_TRUE(web_answers("cli-b"), "cli-b (lab, team a) -> web: allowed");
	ASSERT_FALSE(web_answers("cli-a"),
		     "cli-a (web's own namespace, team b, equal labels) -> web: dropped in tc");
	ASSERT_GE(tenv_stat(WEFT_STAT_POL_TC_INGRESS_DENY), 1, "the drop was web's ingress in tc");

	/* The policy changes: every namespace's clients. */
	if (!api(&a, "put networkpolicies " NETPOL("{}")))
		goto out;
	ms = wait_policy("10.250.0.10", true);
	ASSERT_TRUE(ms >= 0, "cli-a became web's allowed peer");
	fprintf(stderr, "k8s e2e: policy change to the maps: %lld ms\n", ms);
	ASSERT_LE(ms, 1000, "a policy event reaches the maps within a second");
	ASSERT_TRUE(web_answers("cli-a"), "cli-a -> web: allowed now");
	ASSERT_TRUE(web_answers("cli-b"), "cli-b -> web: still allowed");

	/* cli-a goes away: its endpoint (and identity) with it. */
	if (!api(&a, "del pods shop/cli-a"))
		goto out;
	ms = wait_policy("10.250.0.10", false);
	ASSERT_TRUE(ms >= 0, "the deleted pod's address left the maps");
	ASSERT_LE(ms, 1000, "a pod deletion reaches the maps within a second");
	ASSERT_FALSE(web_answers("cli-a"), "its address is nobody now: web drops it");
	ASSERT_TRUE(web_answers("cli-b"), "cli-b unaffected");

	/* A malformed NetworkPolicy is skipped; the good one stays. */
	if (!api(&a, "put networkpolicies {\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":"
		     "\"NetworkPolicy\",\"metadata\":{\"name\":\"bad\",\"namespace\":\"shop\"},"
		     "\"spec\":{\"podSelector\":{},\"ingress\":[{\"from\":[{\"ipBlock\":{\"cidr\":"
		     "\"banana\"}}]}]}}") ||
	    !api(&a, "put pods " POD("cli-c", "lab", "node-1", "\"app\":\"other\"", "10.250.0.12")))
		goto out;
	ms = wait_policy("10.250.0.12", true);
	ASSERT_TRUE(ms >= 0, "later events still land");
	ASSERT_LE(ms, 1000, "a new pod reaches the maps within a second");
	ASSERT_TRUE(web_answers("cli-b"), "the good policy is still enforced as it was");

	/* web's own policy updated into something malformed: its last good
	 * version stays (dropping it would let everybody in). */
	if (!api(&a, "put networkpolicies {\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":"
		     "\"NetworkPolicy\",\"metadata\":{\"name\":\"web\",\"namespace\":\"shop\"},"
		     "\"spec\":{\"podSelector\":{},\"policyTypes\":[\"Sideways\"]}}") ||
	    !api(&a, "put pods " POD("cli-d", "lab", "node-1", "\"app\":\"other\"", "10.250.0.13")))
		goto out;
	ASSERT_TRUE(wait_policy("10.250.0.13", true) >= 0, "the next event lands");
	ASSERT_FALSE(web_answers("cli-a"), "a bad update keeps web's policy: nobody's address still dropped");
	ASSERT_TRUE(web_answers("cli-b"), "and cli-b still allowed");
	ASSERT_TRUE(waitpid(weftd, NULL, WNOHANG) == 0, "weftd still running");
out:
	kill(weftd, SIGTERM);
	waitpid(weftd, NULL, 0);
	kill(a.pid, SIGTERM);
	waitpid(a.pid, NULL, 0);
}

/* A scrape of the weftd that listens on 127.0.0.1:port in the node netns. */
static bool node_scrape(int port, char *out, size_t len)
{
	char ns[64];

	tenv_ns("node", ns, sizeof(ns));
	return tenv_capture(out, len, "nsenter --net=/run/netns/%s curl -sf http://127.0.0.1:%d/metrics",
			    ns, port) == 0;
}

/* Wait until weft_obs_cfg.flags and weft_redir_cfg.enabled are what the
 * file says. */
static bool wait_settings(uint32_t obs_flags, uint32_t redirect)
{
	for (long long end = tenv_now_ms() + WAIT_MS; tenv_now_ms() < end; usleep(20000)) {
		struct weft_obs_cfg oc;
		struct weft_redir_cfg rc;

		if (!tenv_map_value("weft_obs_cfg", &oc) && !tenv_map_value("weft_redir_cfg", &rc) &&
		    oc.flags == obs_flags && rc.enabled == redirect)
			return true;
	}
	return false;
}

#define NETPOL_WEB                                                                         \
	"{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"NetworkPolicy\",\"metadata\":{"  \
	"\"name\":\"web-in\",\"namespace\":\"default\",\"uid\":\"u-np-web-in\"},\"spec\":{"    \
	"\"podSelector\":{\"matchLabels\":{\"app\":\"web\"}},\"policyTypes\":[\"Ingress\"],"    \
	"\"ingress\":[{\"from\":[{\"podSelector\":{\"matchLabels\":{\"app\":\"client\"}}}],"   \
	"\"ports\":[{\"port\":8080,\"protocol\":\"TCP\"}]}]}}"
#define WEB_SERIES                                                                         \
	"{destination_service_name=\"web\",destination_service_namespace=\"default\","         \
	"protocol=\"tcp\",port_name=\"http\""

/*
 * Kubernetes mode names what file mode names: with a Service, its
 * EndpointSlice, this node's pods and a NetworkPolicy from the API server,
 * a real connection through the VIP shows on /metrics as one service
 * (weft_services), a backend named by its pod's workload (not "unknown"),
 * and a decision of the policy's rule, by the policy's name. The file's
 * metrics: and datapath: settings have their file-mode defaults
 * (tcp_rtt_updates on) and SIGHUP re-reads them.
 */
TEST_TIMEOUT(e2e, k8s_metrics_and_settings_as_in_file_mode, 90)
{
	static char body[262144];
	struct api a = { 0 };
	char bin[512], kc[256], cfg[256], text[512], name[64] = "";
	int port = 19465 + getpid() % 20000, st = -1;
	pid_t weftd, c;

	tenv_need_root();
	if (!ASSERT_OK(tenv_pod("cli", "10.250.0.10", NULL), "client pod") ||
	    !ASSERT_OK(tenv_pod("web", "10.250.0.21", NULL), "web pod") ||
	    !ASSERT_TRUE(tenv_namesrv("web", "web", "10.250.0.21", 8080) > 0, "web server") ||
	    !api_start(&a, true))
		return;
	/* The file: the metrics listener only, every other setting defaulted. */
	snprintf(cfg, sizeof(cfg), "%s/weft.yaml", a.dir);
	snprintf(text, sizeof(text), "datapath:\n  cgroup: %s\n  bpffs: %s\nmetrics:\n  listen: \"127.0.0.1:%d\"\n",
		 tenv_cgroup(), tenv_bpffs(), port);
	if (!ASSERT_OK(tenv_write_file(cfg, text), "weft.yaml") ||
	    !api(&a, "put pods " POD("cli", "default", "node-1", "\"app\":\"client\"", "10.250.0.10")) ||
	    !api(&a, "put pods " POD("web", "default", "node-1", "\"app\":\"web\"", "10.250.0.21")) ||
	    !api(&a, "put services " SVC("web", VIP, "", "{\"name\":\"http\",\"port\":80,\"protocol\":\"TCP\",\"targetPort\":8080}")) ||
	    !api(&a, "put endpointslices " SLICE("web", "web-a", EP("10.250.0.21", "true", "false"),
						 "{\"name\":\"http\",\"port\":8080,\"protocol\":\"TCP\"}")) ||
	    !api(&a, "put networkpolicies " NETPOL_WEB))
		return;

	snprintf(bin, sizeof(bin), "%s/weftd", weft_test_bindir());
	snprintf(kc, sizeof(kc), "%s/kubeconfig", a.dir);
	char *argv[] = { bin, "--kubeconfig", kc, "--node", "node-1", "--config", cfg,
			 "--log-level", "info", NULL };
	weftd = tenv_spawn("node", false, false, argv);
	if (!ASSERT_TRUE(weftd > 0, "weftd spawned") ||
	    !ASSERT_TRUE(tenv_wait_applied(weftd, 1), "first list applied") ||
	    !wait_sp(&a, weftd, VIP, 80, "tcp", "10.250.0.21:8080", "web:80 has its pod") ||
	    !ASSERT_TRUE(wait_policy("10.250.0.10", true) >= 0, "cli is web's allowed peer"))
		goto out;
	ASSERT_TRUE(wait_settings(0, 1), "file-mode defaults: RTT updates on, redirect on");

	/* A real connection from cli through the VIP (from a child: the test
	 * process stays in the test netns to scrape). */
	c = fork();
	if (c == 0)
		_exit(tenv_enter("cli", true) ||
		      tenv_tcp_ask(VIP, 80, NULL, false, name, sizeof(name), NULL, 0) || strcmp(name, "web"));
	ASSERT_TRUE(c > 0 && waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0,
		    "cli -> VIP: web answers");
	if (!ASSERT_TRUE(node_scrape(port, body, sizeof(body)), "scrape /metrics"))
		goto out;
	ASSERT_EQ(tenv_sample(body, "weft_services"), 1, "the Service counts (not 0)");
	/* Each watch's freshness, and no step failed. */
	{
		static const char *const kinds[] = { "Service", "EndpointSlice", "Pod", "Namespace",
						     "NetworkPolicy" };
		long long now = time(NULL);

		for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
			char series[128];
			long long t;

			snprintf(series, sizeof(series),
				 "weft_k8s_watch_last_event_timestamp_seconds{resource=\"%s\"}", kinds[i]);
			t = tenv_sample(body, series);
			ASSERT_TRUE(t > now - 120 && t <= now + 1, series);
		}
		ASSERT_EQ(tenv_sample(body, "weft_apply_failures_total{step=\"services\"}"), 0,
			  "no failed step");
	}
	ASSERT_GE(tenv_sample(body, "weft_backend_connections_total" WEB_SERIES
			      ",destination_workload=\"web\",destination_workload_namespace=\"default\","
			      "destination_cluster=\"Kubernetes\"}"),
		  1, "the backend named by its pod's workload");
	ASSERT_EQ(tenv_sample(body, "weft_backend_connections_total" WEB_SERIES
			      ",destination_workload=\"unknown\",destination_workload_namespace=\"unknown\","
			      "destination_cluster=\"Kubernetes\"}"),
		  -1, "no unknown backend");
	ASSERT_GE(tenv_sample(body, "weft_policy_decisions_total{direction=\"ingress\",policy=\"web-in\","
			      "policy_namespace=\"default\",rule=\"ingress[0]\",verdict=\"allow\"}"),
		  1, "the policy's rule, by the policy's name");

	/* SIGHUP re-reads the file's settings. */
	snprintf(text, sizeof(text),
		 "datapath:\n  cgroup: %s\n  bpffs: %s\n  redirect: false\nmetrics:\n  listen: \"127.0.0.1:%d\"\n  tcp_rtt_updates: false\n",
		 tenv_cgroup(), tenv_bpffs(), port);
	if (!ASSERT_OK(tenv_write_file(cfg, text), "new weft.yaml"))
		goto out;
	kill(weftd, SIGHUP);
	ASSERT_TRUE(wait_settings(WEFT_OBS_NO_RTT_UPDATES, 0), "SIGHUP: RTT updates off, redirect off");
	ASSERT_TRUE(wait_sp(&a, weftd, VIP, 80, "tcp", "10.250.0.21:8080", "the cluster's state stays"),
		    "web:80 still has its pod");
out:
	kill(weftd, SIGTERM);
	waitpid(weftd, NULL, 0);
	kill(a.pid, SIGTERM);
	waitpid(a.pid, NULL, 0);
}

/* Ingress to web on every port from three selectors (issue 12): once
 * 3 x 65535 entries, now 3 x 16 port blocks and a marker, more than the
 * 32 an epoch of the test's datapath.max_policy: 64. */
#define NETPOL_BIG                                                                         \
	"{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"NetworkPolicy\",\"metadata\":{"  \
	"\"name\":\"big\",\"namespace\":\"default\",\"uid\":\"u-np-big\"},\"spec\":{"          \
	"\"podSelector\":{\"matchLabels\":{\"app\":\"web\"}},\"policyTypes\":[\"Ingress\"],"    \
	"\"ingress\":[{\"from\":[{\"podSelector\":{\"matchLabels\":{\"app\":\"client\"}}},"   \
	"{\"podSelector\":{\"matchLabels\":{\"app\":\"a\"}}},"                                 \
	"{\"podSelector\":{\"matchLabels\":{\"app\":\"b\"}}}],"                                \
	"\"ports\":[{\"port\":1,\"endPort\":65535,\"protocol\":\"TCP\"}]}]}}"

/*
 * A NetworkPolicy that does not fit its map budget is rejected alone: the
 * other policy applies, a Service added after it applies and answers, the
 * rejection is on /metrics and /readyz (503, naming the object) until the
 * policy is deleted.
 */
TEST_TIMEOUT(e2e, k8s_network_policy_over_budget_is_rejected_alone, 90)
{
	static char body[262144];
	struct api a = { 0 };
	char bin[512], kc[256], cfg[256], text[512], name[64] = "", ns[64];
	int port = 19465 + getpid() % 20000, st = -1;
	pid_t weftd, c;

	tenv_need_root();
	if (!ASSERT_OK(tenv_pod("cli", "10.250.0.10", NULL), "client pod") ||
	    !ASSERT_OK(tenv_pod("web", "10.250.0.21", NULL), "web pod") ||
	    !ASSERT_TRUE(tenv_namesrv("web", "web", "10.250.0.21", 8080) > 0, "web server") ||
	    !api_start(&a, true))
		return;
	snprintf(cfg, sizeof(cfg), "%s/weft.yaml", a.dir);
	snprintf(text, sizeof(text), "datapath:\n  cgroup: %s\n  bpffs: %s\n  max_policy: 64\nmetrics:\n  listen: \"127.0.0.1:%d\"\n",
		 tenv_cgroup(), tenv_bpffs(), port);
	if (!ASSERT_OK(tenv_write_file(cfg, text), "weft.yaml") ||
	    !api(&a, "put pods " POD("cli", "default", "node-1", "\"app\":\"client\"", "10.250.0.10")) ||
	    !api(&a, "put pods " POD("web", "default", "node-1", "\"app\":\"web\"", "10.250.0.21")) ||
	    !api(&a, "put pods " POD("pa", "default", "node-1", "\"app\":\"a\"", "10.250.0.31")) ||
	    !api(&a, "put pods " POD("pb", "default", "node-1", "\"app\":\"b\"", "10.250.0.32")) ||
	    !api(&a, "put networkpolicies " NETPOL_BIG) ||
	    !api(&a, "put networkpolicies " NETPOL_WEB))
		return;
	snprintf(bin, sizeof(bin), "%s/weftd", weft_test_bindir());
	snprintf(kc, sizeof(kc), "%s/kubeconfig", a.dir);
	char *argv[] = { bin, "--kubeconfig", kc, "--node", "node-1", "--config", cfg,
			 "--log-level", "info", NULL };
	weftd = tenv_spawn("node", false, false, argv);
	if (!ASSERT_TRUE(weftd > 0, "weftd spawned") ||
	    !ASSERT_TRUE(tenv_wait_applied(weftd, 1), "first list applied") ||
	    !ASSERT_TRUE(wait_policy("10.250.0.10", true) >= 0, "web-in applied: cli is web's peer"))
		goto out;
	/* A Service after it. */
	if (!api(&a, "put services " SVC("web", VIP, "", "{\"name\":\"http\",\"port\":80,\"protocol\":\"TCP\",\"targetPort\":8080}")) ||
	    !api(&a, "put endpointslices " SLICE("web", "web-a", EP("10.250.0.21", "true", "false"),
						 "{\"name\":\"http\",\"port\":8080,\"protocol\":\"TCP\"}")) ||
	    !wait_sp(&a, weftd, VIP, 80, "tcp", "10.250.0.21:8080", "the later Service applied"))
		goto out;
	c = fork();
	if (c == 0)
		_exit(tenv_enter("cli", true) ||
		      tenv_tcp_ask(VIP, 80, NULL, false, name, sizeof(name), NULL, 0) || strcmp(name, "web"));
	ASSERT_TRUE(c > 0 && waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0,
		    "cli -> VIP: web answers");
	if (!ASSERT_TRUE(node_scrape(port, body, sizeof(body)), "scrape /metrics"))
		goto out;
	ASSERT_EQ(tenv_sample(body, "weft_config_rejected_total{kind=\"NetworkPolicy\",name=\"big\","
				    "namespace=\"default\",reason=\"map_budget\"}"),
		  1, "the rejection counted once, by the object's name (later batches do not count it again)");
	tenv_ns("node", ns, sizeof(ns));
	ASSERT_OK(tenv_capture(body, sizeof(body),
			       "nsenter --net=/run/netns/%s curl -s -w ' %%{http_code}' http://127.0.0.1:%d/readyz",
			       ns, port), "/readyz");
	ASSERT_TRUE(strstr(body, "NetworkPolicy default/big: needs more") && strstr(body, " 503"),
		    "/readyz: 503, naming the object");
	/* Deleted, the node is ready. */
	if (!api(&a, "del networkpolicies default/big"))
		goto out;
	for (long long end = tenv_now_ms() + WAIT_MS; tenv_now_ms() < end; usleep(20000))
		if (!tenv_capture(body, sizeof(body),
				  "nsenter --net=/run/netns/%s curl -s -w ' %%{http_code}' http://127.0.0.1:%d/readyz",
				  ns, port) && strstr(body, " 200"))
			break;
	ASSERT_TRUE(strstr(body, " 200") != NULL, "/readyz: 200 once it is gone");
out:
	kill(weftd, SIGTERM);
	waitpid(weftd, NULL, 0);
	kill(a.pid, SIGTERM);
	waitpid(a.pid, NULL, 0);
}

/* Requests in k8sapi's log matching an extended regex. */
static int count_logged(struct api *a, const char *what)
{
	char out[64] = "";

	tenv_capture(out, sizeof(out), "grep -c -E -- '%s' %s/requests.log || true", what, a->dir);
	return atoi(out);
}

static pid_t weftd_k8s(struct api *a, const char *errfile)
{
	char bin[512], kc[256], cfg[256], cmd[2048];

	snprintf(bin, sizeof(bin), "%s/weftd", weft_test_bindir());
	snprintf(kc, sizeof(kc), "%s/kubeconfig", a->dir);
	snprintf(cfg, sizeof(cfg), "%s/weft.yaml", a->dir);
	if (errfile) {	/* its log into a file */
		snprintf(cmd, sizeof(cmd), "exec %s --kubeconfig %s --node node-1 --config %s 2> %s", bin,
			 kc, cfg, errfile);
		char *argv[] = { "/bin/sh", "-c", cmd, NULL };

		return tenv_spawn(NULL, false, false, argv);
	}
	char *argv[] = { bin, "--kubeconfig", kc, "--node", "node-1", "--config", cfg,
			 "--log-level", "info", NULL };
	return tenv_spawn(NULL, false, false, argv);
}

#define SVC_LISTS "^GET /api/v1/services\\?limit="

/*
 * A 410 storm (every watch of services ends at once with an ERROR 410):
 * relists back off (jittered, exponential) instead of hammering the API
 * server; once a watch brings an object again, the next 410 relists at once.
 */
TEST_TIMEOUT(e2e, k8s_410_storm_relists_at_a_bounded_rate, 90)
{
	struct api a = { 0 };
	int n0, lists;
	long long start, ms = -1;
	pid_t weftd;

	tenv_need_root();
	if (!api_start(&a, false) ||
	    !api(&a, "put services " SVC("web", VIP, "", "{\"name\":\"http\",\"port\":80,\"protocol\":\"TCP\",\"targetPort\":8080}")))
		return;
	weftd = weftd_k8s(&a, NULL);
	if (!ASSERT_TRUE(weftd > 0, "weftd spawned") ||
	    !ASSERT_TRUE(tenv_wait_applied(weftd, 1), "first list applied") ||
	    !api(&a, "storm services on"))
		goto out;
	n0 = count_logged(&a, SVC_LISTS);
	if (!api(&a, "compact services event"))	/* the open watch gets its 410 too */
		goto out;
	for (long long end = tenv_now_ms() + 3000; tenv_now_ms() < end;)
		usleep(50000);
	lists = count_logged(&a, SVC_LISTS) - n0;
	fprintf(stderr, "410 storm: %d relists of services in 3 s\n", lists);
	ASSERT_GE(lists, 2, "it relists");
	ASSERT_LE(lists, 12, "at a bounded rate (immediate relists make hundreds)");
	/* The storm ends; a watch that brings an object resets the backoff. */
	if (!api(&a, "storm services off") ||
	    !api(&a, "put services " SVC("late", "10.250.100.9", "", "{\"name\":\"http\",\"port\":80,\"protocol\":\"TCP\",\"targetPort\":8080}")) ||
	    !wait_sp(&a, weftd, "10.250.100.9", 80, "tcp", "", "listed again") ||
	    !api(&a, "put services " SVC("later", "10.250.100.10", "", "{\"name\":\"http\",\"port\":80,\"protocol\":\"TCP\",\"targetPort\":8080}")) ||
	    !wait_sp(&a, weftd, "10.250.100.10", 80, "tcp", "", "a watch works again"))
		goto out;
	n0 = count_logged(&a, SVC_LISTS);
	if (!api(&a, "compact services event"))
		goto out;
	for (start = tenv_now_ms(); tenv_now_ms() - start < 5000; usleep(10000))
		if (count_logged(&a, SVC_LISTS) > n0) {
			ms = tenv_now_ms() - start;
			break;
		}
	fprintf(stderr, "410 after a working watch: relisted in %lld ms\n", ms);
	ASSERT_TRUE(ms >= 0 && ms < 1000, "a lone 410 relists at once");
	ASSERT_EQ(waitpid(weftd, NULL, WNOHANG), 0, "weftd runs");
out:
	kill(weftd, SIGTERM);
	waitpid(weftd, NULL, 0);
	kill(a.pid, SIGTERM);
	waitpid(a.pid, NULL, 0);
}

/*
 * An object over the size bound (3 MB of annotations) is rejected alone,
 * in a list and in a watch (its last good version kept); the others apply.
 */
TEST_TIMEOUT(e2e, k8s_oversize_object_is_rejected_alone, 90)
{
	struct api a = { 0 };
	char line[4096];
	pid_t weftd;

#define P80 "{\"name\":\"http\",\"port\":80,\"protocol\":\"TCP\",\"targetPort\":8080}"
	tenv_need_root();
	if (!api_start(&a, false) || !api(&a, "put services " SVC("web", VIP, "", P80)) ||
	    !api(&a, "pad 3000000") || !api(&a, "put services " SVC("big", "10.250.100.2", "", P80)) ||
	    !api(&a, "pad 0") || !api(&a, "put services " SVC("ok2", "10.250.100.3", "", P80)))
		return;
	weftd = weftd_k8s(&a, NULL);
	if (!ASSERT_TRUE(weftd > 0, "weftd spawned") ||
	    !ASSERT_TRUE(tenv_wait_applied(weftd, 1), "first list applied") ||
	    !wait_sp(&a, weftd, VIP, 80, "tcp", "", "web applied") ||
	    !wait_sp(&a, weftd, "10.250.100.3", 80, "tcp", "", "ok2 (listed after the big one) applied"))
		goto out;
	sp_line("10.250.100.2", 80, "tcp", line, sizeof(line));
	ASSERT_TRUE(!line[0], "the 3 MB Service is not applied");
	/* In a watch: ok2 grows past the bound; its last good version stays. */
	if (!api(&a, "pad 3000000") ||
	    !api(&a, "put services " SVC("ok2", "10.250.100.5", "", P80)) || !api(&a, "pad 0") ||
	    !api(&a, "put services " SVC("late", "10.250.100.4", "", P80)) ||
	    !wait_sp(&a, weftd, "10.250.100.4", 80, "tcp", "", "a Service after it applies"))
		goto out;
	sp_line("10.250.100.3", 80, "tcp", line, sizeof(line));
	ASSERT_TRUE(line[0] != 0, "ok2's last good version stays");
	sp_line("10.250.100.5", 80, "tcp", line, sizeof(line));
	ASSERT_TRUE(!line[0], "its over-size update is not applied");
	ASSERT_EQ(waitpid(weftd, NULL, WNOHANG), 0, "weftd runs");
#undef P80
out:
	kill(weftd, SIGTERM);
	waitpid(weftd, NULL, 0);
	kill(a.pid, SIGTERM);
	waitpid(a.pid, NULL, 0);
}

/*
 * A bearer token over 16 KiB is an error, never sent cut (a cut token
 * is a wrong one, refused with 401 over and over); fixed, weftd goes on.
 */
TEST_TIMEOUT(e2e, k8s_overlong_token_is_an_error_not_cut, 60)
{
	struct api a = { 0 };
	pid_t weftd;

	tenv_need_root();
	if (!api_start(&a, false) ||
	    !ASSERT_OK(tenv_sh("head -c 20000 /dev/zero | tr '\\0' a > %s/token", a.dir), "a 20000-byte token"))
		return;
	weftd = weftd_k8s(&a, NULL);
	if (!ASSERT_TRUE(weftd > 0, "weftd spawned"))
		goto out;
	for (long long end = tenv_now_ms() + 2000; tenv_now_ms() < end;)
		usleep(50000);
	ASSERT_EQ(count_logged(&a, "^GET "), 0, "no request is sent with a cut token");
	ASSERT_EQ(waitpid(weftd, NULL, WNOHANG), 0, "weftd runs");
	if (!ASSERT_OK(tenv_sh("printf 'token-one\\n' > %s/token.new && mv %s/token.new %s/token",
			       a.dir, a.dir, a.dir), "the token fixed"))
		goto out;
	ASSERT_TRUE(tenv_wait_applied(weftd, 1), "then it lists and applies");
out:
	kill(weftd, SIGTERM);
	waitpid(weftd, NULL, 0);
	kill(a.pid, SIGTERM);
	waitpid(a.pid, NULL, 0);
}

/* insecure-skip-tls-verify: the API server is used, with a warning, once. */
TEST_TIMEOUT(e2e, k8s_insecure_skip_tls_verify_warns, 60)
{
	struct api a = { 0 };
	char errfile[256], out[64] = "";
	pid_t weftd;

	tenv_need_root();
	if (!api_start(&a, false) ||
	    !ASSERT_OK(tenv_sh("cd %s && sed -i '/certificate-authority-data/d; s/^    server: .*/&\\n    insecure-skip-tls-verify: true/' kubeconfig",
			       a.dir), "kubeconfig without a CA, insecure"))
		return;
	snprintf(errfile, sizeof(errfile), "%s/weftd.err", a.dir);
	weftd = weftd_k8s(&a, errfile);
	if (!ASSERT_TRUE(weftd > 0, "weftd spawned") ||
	    !ASSERT_TRUE(tenv_wait_applied(weftd, 1), "it lists (the certificate is not checked)"))
		goto out;
	tenv_capture(out, sizeof(out), "grep -c 'insecure-skip-tls-verify' %s || true", errfile);
	ASSERT_EQ(atoi(out), 1, "one warning");
out:
	kill(weftd, SIGTERM);
	waitpid(weftd, NULL, 0);
	kill(a.pid, SIGTERM);
	waitpid(a.pid, NULL, 0);
}

static uint32_t pinned_size(enum weft_map_id id)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tenv_bpffs(), weft_map_name(id));
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		info.max_entries = 0;
	close(fd);
	return info.max_entries;
}

/* Issue 12: a restart that must rebuild its maps (datapath.max_services
 * changed) while the API server does not answer: the new programs must
 * not be attached to empty maps. */
TEST_TIMEOUT(e2e, k8s_restart_with_resized_maps_while_the_api_server_is_down, 120)
{
	struct api a = { 0 };
	char bin[512], kc[256], cfg[256], text[1024];
	struct tenv_probe probe;
	struct weft_info info;
	int hits[4], fails;
	pid_t weftd;

	tenv_need_root();
	if (!ASSERT_OK(tenv_pod("cli", "10.250.0.10", NULL), "client pod") ||
	    !ASSERT_OK(tenv_pod("be1", "10.250.0.21", NULL), "be1") ||
	    !ASSERT_OK(tenv_pod("be2", "10.250.0.22", NULL), "be2") ||
	    !ASSERT_TRUE(tenv_namesrv("be1", "be1", "10.250.0.21", 8080) > 0, "namesrv be1") ||
	    !ASSERT_TRUE(tenv_namesrv("be2", "be2", "10.250.0.22", 8080) > 0, "namesrv be2") ||
	    !api_start(&a, false) || !api(&a, "put services " SVC("web", VIP, "", WEB_PORTS)) ||
	    !api(&a, "put endpointslices " SLICE("web", "web-a", EP("10.250.0.21", "true", "false") ","
					      EP("10.250.0.22", "true", "false"), P8080)))
		return;
	snprintf(bin, sizeof(bin), "%s/weftd", weft_test_bindir());
	snprintf(kc, sizeof(kc), "%s/kubeconfig", a.dir);
	snprintf(cfg, sizeof(cfg), "%s/restart.yaml", a.dir);
	snprintf(text, sizeof(text), "datapath: {cgroup: %s, bpffs: %s, max_services: 64}\n"
		 "metrics: {listen: \"\"}\n", tenv_cgroup(), tenv_bpffs());
	if (!ASSERT_OK(tenv_write_file(cfg, text), "weft.yaml"))
		return;
	char *argv[] = { bin, "--kubeconfig", kc, "--node", "node-1", "--config", cfg,
			 "--log-level", "info", NULL };
	weftd = tenv_spawn(NULL, false, false, argv);
	if (!ASSERT_TRUE(weftd > 0, "weftd spawned") ||
	    !ASSERT_TRUE(tenv_wait_applied(weftd, 1), "first list applied") ||
	    !wait_sp(&a, weftd, VIP, 80, "tcp", "10.250.0.21:8080 10.250.0.22:8080", "two endpoints"))
		return;
	ASSERT_EQ(pinned_size(WEFT_M_SVC), 64, "weft_svc sized 64");

	/* A client probes the VIP every 100 ms for 10 s through all of it. */
	if (!ASSERT_OK(tenv_probe_start(&probe, "cli", VIP, 80, 100, 100), "prober"))
		return;
	usleep(300000);
	kill(weftd, SIGKILL);
	waitpid(weftd, NULL, 0);
	/* The cluster moves on while weftd is down (be2 leaves), then the API
	 * server stops answering (stopped: connections queue, nothing replies). */
	if (!api(&a, "put endpointslices " SLICE("web", "web-a", EP("10.250.0.21", "true", "false"),
					      P8080)))
		return;
	kill(a.pid, SIGSTOP);
	snprintf(text, sizeof(text), "datapath: {cgroup: %s, bpffs: %s, max_services: 128}\n"
		 "metrics: {listen: \"\"}\n", tenv_cgroup(), tenv_bpffs());
	if (!ASSERT_OK(tenv_write_file(cfg, text), "weft.yaml with another size"))
		goto resume;
	weftd = tenv_spawn(NULL, false, false, argv);
	if (!ASSERT_TRUE(weftd > 0, "weftd restarted") ||
	    !ASSERT_OK(tenv_enter("cli", true), "enter client pod"))
		goto resume;
	/* Attached on the rebuilt maps, from the old state, with no API server. */
	if (!ASSERT_TRUE(tenv_wait_applied(weftd, 0), "the restarted weftd attached"))
		goto resume;
	ASSERT_EQ(pinned_size(WEFT_M_SVC), 128, "weft_svc rebuilt with 128 entries");
	fails = tenv_probe_end(&probe);
	ASSERT_EQ(fails, 0, "no failed probe in 10 s (kill -9, API server down, maps rebuilt)");
	ASSERT_TRUE(tenv_info(&info) && info.generation == 0, "nothing applied yet: the old state served");
	ASSERT_EQ(spread(VIP, 40, hits), 0, "the VIP works on the carried state");
	ASSERT_TRUE(hits[0] > 0 && hits[1] > 0, "both old endpoints still there");
resume:
	kill(a.pid, SIGCONT);
	/* The API server is back: the cluster's state applies (after the
	 * client's retry backoff: up to 30 s). */
	for (int i = 0; i < 2 && !tenv_wait_applied(weftd, 1); i++)
		;
	if (!ASSERT_TRUE(tenv_wait_applied(weftd, 1), "the cluster's state applied") ||
	    !wait_sp(&a, weftd, VIP, 80, "tcp", "10.250.0.21:8080", "be2 gone"))
		return;
	ASSERT_EQ(spread(VIP, 40, hits), 0, "no failures after the apply");
	ASSERT_EQ(hits[1], 0, "only be1 answers");
	ASSERT_EQ(pinned_size(WEFT_M_SVC), 128, "still the new size");
}
