// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * e2e: resilience from Kubernetes objects (issue 16): weftd --kubeconfig
 * against k8sapi. An Istio DestinationRule (networking.istio.io, an
 * optional CRD: not served at start, then served in v1beta1 only) with
 * outlierDetection ejects a refusing backend; a bad one is rejected alone
 * and counted; the Service annotation weft.dev/fault-abort-percent refuses
 * its share of connections. Real connections from the client pod through
 * the VIP.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "testenv.h"
#include "k8sclient.h"
#include "weft/abi.h"

#define VIP "10.250.120.1"
#define RECHECK_S 1		/* weftd --api-recheck: re-checks 1-2 s apart */

#define SVC(ann)                                                                           \
	"{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"web\","         \
	"\"namespace\":\"default\",\"uid\":\"u-web\",\"annotations\":{" ann "}},\"spec\":{"  \
	"\"clusterIP\":\"" VIP "\",\"clusterIPs\":[\"" VIP "\"],\"ipFamilies\":[\"IPv4\"],"    \
	"\"ports\":[{\"name\":\"http\",\"port\":80,\"protocol\":\"TCP\",\"targetPort\":8080}]," \
	"\"selector\":{\"app\":\"web\"},\"type\":\"ClusterIP\"}}"
#define EP(ip) "{\"addresses\":[\"" ip "\"],\"conditions\":{\"ready\":true},\"nodeName\":\"node-1\"}"
#define SLICE                                                                              \
	"{\"addressType\":\"IPv4\",\"apiVersion\":\"discovery.k8s.io/v1\",\"endpoints\":["    \
	EP("10.250.0.31") "," EP("10.250.0.32") "],\"kind\":\"EndpointSlice\",\"metadata\":{" \
	"\"labels\":{\"kubernetes.io/service-name\":\"web\"},\"name\":\"web-a\","             \
	"\"namespace\":\"default\"},\"ports\":[{\"name\":\"http\",\"port\":8080,\"protocol\":\"TCP\"}]}"
#define POD(name, ip)                                                                      \
	"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"labels\":{\"app\":\"" name "\"}," \
	"\"name\":\"" name "\",\"namespace\":\"default\",\"uid\":\"u-" name "\"},\"spec\":{"   \
	"\"containers\":[{\"name\":\"c\"}],\"nodeName\":\"node-1\"},\"status\":{"              \
	"\"phase\":\"Running\",\"podIP\":\"" ip "\",\"podIPs\":[{\"ip\":\"" ip "\"}]}}"
#define DR(name, tp)                                                                       \
	"{\"apiVersion\":\"networking.istio.io/v1beta1\",\"kind\":\"DestinationRule\","       \
	"\"metadata\":{\"name\":\"" name "\",\"namespace\":\"default\",\"uid\":\"u-dr-" name "\"," \
	"\"creationTimestamp\":\"2026-01-01T00:00:00Z\"},\"spec\":{"                          \
	"\"host\":\"web.default.svc.cluster.local\",\"trafficPolicy\":{" tp "}}}"

static const char *const be_ips[] = { "10.250.0.31", "10.250.0.32" };
static const char *const be_names[] = { "be1", "be2" };

struct knode {
	struct api a;
	char wlog[256], reqlog[256];
	int port;		/* metrics, in the node netns */
	pid_t weftd;
	pid_t srv[2];
};

static int count_lines(const char *file, const char *re)
{
	char out[64];

	if (tenv_capture(out, sizeof(out), "grep -c -E -- '%s' %s || true", re, file))
		return -1;
	return atoi(out);
}

/* `weft services --json`, compact, into out. */
static bool services_json(char *out, size_t len)
{
	return !tenv_capture(out, len, "%s/weft --bpffs %s services --json", weft_test_bindir(),
			     tenv_bpffs()) &&
	       tenv_json_plain(out, len);
}

/* Wait up to ms for `weft services --json` to have (want) or lack text. */
static bool wait_services(const char *text, bool want, int ms)
{
	static char all[65536];

	for (long long end = tenv_now_ms() + ms; tenv_now_ms() < end; usleep(50000))
		if (services_json(all, sizeof(all)) && !!strstr(all, text) == want)
			return true;
	return false;
}

static bool node_scrape(const struct knode *n, char *out, size_t len)
{
	char ns[64];

	tenv_ns("node", ns, sizeof(ns));
	return tenv_capture(out, len, "nsenter --net=/run/netns/%s curl -sf http://127.0.0.1:%d/metrics",
			    ns, n->port) == 0;
}

/* Pods cli, be1, be2 (answering their names on 8080), k8sapi with the
 * pods, the Service svc (web) over be1 and be2, and whatever
 * setup asks; then weftd in the node netns; the test ends up in cli. */
static bool knode_up(struct knode *n, const char *svc, bool (*setup)(struct api *a))
{
	char bin[512], kc[256], cfg[256], text[512], sh[1024];

	tenv_need_root();
	memset(n, 0, sizeof(*n));
	n->port = 19465 + getpid() % 20000;
	if (!ASSERT_OK(tenv_pod("cli", "10.250.0.10", NULL), "client pod"))
		return false;
	for (int i = 0; i < 2; i++)
		if (!ASSERT_OK(tenv_pod(be_names[i], be_ips[i], NULL), "backend pod") ||
		    !ASSERT_TRUE((n->srv[i] = tenv_namesrv(be_names[i], be_names[i], be_ips[i], 8080)) > 0,
				 "backend server"))
			return false;
	if (!api_start(&n->a, true))
		return false;
	snprintf(cfg, sizeof(cfg), "%s/weft.yaml", n->a.dir);
	snprintf(n->reqlog, sizeof(n->reqlog), "%s/requests.log", n->a.dir);
	snprintf(n->wlog, sizeof(n->wlog), "%s/weftd.log", n->a.dir);
	snprintf(text, sizeof(text), "datapath:\n  cgroup: %s\n  bpffs: %s\nmetrics:\n  listen: \"127.0.0.1:%d\"\n",
		 tenv_cgroup(), tenv_bpffs(), n->port);
	if (!ASSERT_OK(tenv_write_file(cfg, text), "weft.yaml") ||
	    !api(&n->a, "put pods " POD("cli", "10.250.0.10")) ||
	    !api(&n->a, "put pods " POD("be1", "10.250.0.31")) ||
	    !api(&n->a, "put pods " POD("be2", "10.250.0.32")) ||
	    !api(&n->a, "put services %s", svc) ||
	    !api(&n->a, "put endpointslices " SLICE) ||
	    (setup && !setup(&n->a)))
		return false;
	snprintf(bin, sizeof(bin), "%s/weftd", weft_test_bindir());
	snprintf(kc, sizeof(kc), "%s/kubeconfig", n->a.dir);
	snprintf(sh, sizeof(sh), "exec \"$0\" \"$@\" 2>>%s", n->wlog);
	char *argv[] = { "/bin/sh", "-c", sh, bin, "--kubeconfig", kc, "--node", "node-1",
			 "--config", cfg, "--log-level", "info", "--api-recheck", "1", NULL };
	n->weftd = tenv_spawn("node", false, false, argv);
	return ASSERT_TRUE(n->weftd > 0, "weftd spawned") &&
	       ASSERT_TRUE(tenv_wait_applied(n->weftd, 1), "weftd applied the cluster") &&
	       ASSERT_OK(tenv_enter("cli", true), "enter the client pod");
}

static void knode_down(struct knode *n)
{
	if (n->weftd > 0) {
		kill(n->weftd, SIGTERM);
		waitpid(n->weftd, NULL, 0);
	}
	if (n->a.pid > 0) {
		kill(n->a.pid, SIGTERM);
		waitpid(n->a.pid, NULL, 0);
	}
}

struct drive {
	int ok, refused, other;
	int per[2];
};

/* count connections through the VIP from this process (in cli), no retries. */
static void drive(int count, struct drive *d)
{
	char who[64];

	memset(d, 0, sizeof(*d));
	for (int i = 0; i < count; i++) {
		int r = tenv_tcp_ask(VIP, 80, NULL, false, who, sizeof(who), NULL, 0);

		if (!r && (!strcmp(who, "be1") || !strcmp(who, "be2"))) {
			d->ok++;
			d->per[who[2] - '1']++;
		} else if (r == -ECONNREFUSED) {
			d->refused++;
		} else {
			d->other++;
		}
	}
}

/* No DestinationRule API at start: neither version served; the rules are
 * there, hidden, in v1beta1. */
static bool dr_absent(struct api *a)
{
	return api(a, "serve destinationrules off") && api(a, "serve destinationrules.v1beta1 off") &&
	       api(a, "put destinationrules.v1beta1 "
		      DR("web", "\"outlierDetection\":{\"consecutive5xxErrors\":2,"
				"\"baseEjectionTime\":\"1m\",\"maxEjectionPercent\":50},"
				"\"connectionPool\":{\"http\":{\"http2MaxRequests\":10}}")) &&
	       api(a, "put destinationrules.v1beta1 "
		      DR("bad", "\"outlierDetection\":{\"interval\":\"soon\"}"));
}

#define WEB_OUTLIER                                                                        \
	"\"outlier_detection\":{\"consecutive_errors\":2,\"interval_s\":10,"                   \
	"\"base_ejection_time_s\":60,\"max_ejection_percent\":50}"

TEST_TIMEOUT(e2e, k8s_destrule_absent_then_served_ejects_a_refusing_backend, 150)
{
	static char body[262144];
	struct knode n;
	struct drive d;
	uint64_t ej0;
	long long t;

	if (!knode_up(&n, SVC(""), dr_absent))
		goto out;
	ASSERT_TRUE(wait_services("\"resilience\":null", true, 2000), "no DestinationRule API: web plain");
	usleep(2500 * 1000);
	ASSERT_EQ(count_lines(n.wlog, "DestinationRule \\(networking.istio.io/v1, v1beta1\\) not served"),
		  1, "both versions asked, one log line");
	drive(50, &d);
	ASSERT_EQ(d.ok, 50, "the Service works meanwhile");

	/* The CRD is installed, serving v1beta1 only: found within the bound. */
	t = tenv_now_ms();
	if (!api(&n.a, "serve destinationrules.v1beta1 on"))
		goto out;
	ASSERT_TRUE(wait_services(WEB_OUTLIER, true, 2 * RECHECK_S * 1000 + 3000),
		    "the rule's outlierDetection is web's outlier_detection");
	fprintf(stderr, "DestinationRule API: served to applied in %lld ms\n", tenv_now_ms() - t);
	ASSERT_TRUE(count_lines(n.reqlog, "GET /apis/networking.istio.io/v1beta1/destinationrules\\?limit=.* 200$") >= 1,
		    "listed in v1beta1");

	/* be2 stops: refused twice, ejected; the client makes no retries. */
	ej0 = tenv_stat(WEFT_STAT_OUTLIER_EJECT);
	kill(n.srv[1], SIGKILL);
	waitpid(n.srv[1], NULL, 0);
	drive(300, &d);
	fprintf(stderr, "after be2 stopped: %d of 300 ok, %d refused, %d other\n", d.ok, d.refused,
		d.other);
	ASSERT_TRUE(d.ok >= 297, ">= 99% of the next 300 connections succeed");
	ASSERT_TRUE(d.refused >= 1 && d.refused <= 3 && d.other == 0, "only the refusals that ejected be2");
	ASSERT_EQ(d.per[1], 0, "be2 answered none");
	ASSERT_EQ((long long)(tenv_stat(WEFT_STAT_OUTLIER_EJECT) - ej0), 1, "one ejection counted");

	/* The bad rule alone is rejected, and counted. */
	if (ASSERT_TRUE(node_scrape(&n, body, sizeof(body)), "scrape /metrics"))
		ASSERT_EQ(tenv_sample(body, "weft_config_rejected_total{kind=\"DestinationRule\","
					    "name=\"bad\",namespace=\"default\",reason=\"invalid\"}"),
			  1, "the bad DestinationRule: weft_config_rejected_total 1");

	/* The rule deleted: web is plain again. */
	if (!api(&n.a, "del destinationrules.v1beta1 default/web"))
		goto out;
	ASSERT_TRUE(wait_services("\"resilience\":null", true, 3000), "rule deleted: web plain again");
	ASSERT_TRUE(waitpid(n.weftd, NULL, WNOHANG) == 0, "weftd still running");
out:
	knode_down(&n);
}

TEST_TIMEOUT(e2e, k8s_fault_annotation_refuses_its_share, 150)
{
	struct knode n;
	struct drive d;
	uint64_t ab0;

	if (!knode_up(&n, SVC("\"weft.dev/fault-abort-percent\":\"20\""), NULL))
		goto out;
	if (!ASSERT_TRUE(wait_services("\"abort_percent\":20", true, 2000), "web's abort_percent 20"))
		goto out;
	ab0 = tenv_stat(WEFT_STAT_FAULT_ABORT);
	drive(1000, &d);
	fprintf(stderr, "abort 20%%: %d of 1000 refused\n", d.refused);
	ASSERT_EQ(d.other, 0, "no failure but the injected refusals");
	ASSERT_TRUE(d.refused >= 150 && d.refused <= 250, "abort 20: 15-25% of 1,000 refused");
	ASSERT_EQ((long long)(tenv_stat(WEFT_STAT_FAULT_ABORT) - ab0), d.refused, "each counted");

	/* The annotation removed: nothing refused. */
	if (!api(&n.a, "put services " SVC("")))
		goto out;
	ASSERT_TRUE(wait_services("\"resilience\":null", true, 3000), "annotation gone: web plain");
	drive(100, &d);
	ASSERT_EQ(d.ok, 100, "every connection succeeds");
out:
	knode_down(&n);
}
