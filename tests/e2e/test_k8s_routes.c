// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * e2e: routes from Kubernetes (issue 15): weftd --kubeconfig against
 * k8sapi serving the Gateway API (TCPRoute v1, v1alpha2) and SMI
 * (TrafficSplit v1alpha4), with real connections from a pod: the split,
 * a re-weight by an update of the object, TrafficSplit with a backend
 * that does not exist refused at its share, and v1alpha2 when v1 is not
 * served.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "testenv.h"
#include "k8sclient.h"

#define PARENT "10.250.100.1"

static const char *const pods[] = { "be1", "be2", "be3", "be4" };
static const char *const ips[] = { "10.250.0.21", "10.250.0.22", "10.250.0.23", "10.250.0.24" };

#define SVC(name, vip)                                                                     \
	"{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"" name "\","    \
	"\"namespace\":\"default\",\"uid\":\"u-" name "\"},\"spec\":{\"clusterIP\":\"" vip "\"," \
	"\"clusterIPs\":[\"" vip "\"],\"ipFamilies\":[\"IPv4\"],\"ports\":[{\"name\":\"tcp\","   \
	"\"port\":80,\"protocol\":\"TCP\",\"targetPort\":8080}],\"type\":\"ClusterIP\"}}"
#define EP(ip) "{\"addresses\":[\"" ip "\"],\"conditions\":{\"ready\":true},\"nodeName\":\"node-1\"}"
#define SLICE(svc, eps)                                                                    \
	"{\"addressType\":\"IPv4\",\"apiVersion\":\"discovery.k8s.io/v1\",\"endpoints\":[" eps "]," \
	"\"kind\":\"EndpointSlice\",\"metadata\":{\"labels\":{\"kubernetes.io/service-name\":\"" \
	svc "\"},\"name\":\"" svc "-a\",\"namespace\":\"default\"},\"ports\":[{\"name\":\"tcp\"," \
	"\"port\":8080,\"protocol\":\"TCP\"}]}"
#define POD(name, ip)                                                                      \
	"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"labels\":{\"app\":\"web\"},"  \
	"\"name\":\"" name "\",\"namespace\":\"default\",\"uid\":\"u-" name "\"},\"spec\":{"   \
	"\"containers\":[{\"name\":\"c\"}],\"nodeName\":\"node-1\"},\"status\":{"              \
	"\"phase\":\"Running\",\"podIP\":\"" ip "\",\"podIPs\":[{\"ip\":\"" ip "\"}]}}"
#define TCPROUTE(ver, w1, w2)                                                              \
	"{\"apiVersion\":\"gateway.networking.k8s.io/" ver "\",\"kind\":\"TCPRoute\","        \
	"\"metadata\":{\"name\":\"split\",\"namespace\":\"default\","                          \
	"\"creationTimestamp\":\"2026-01-01T00:00:00Z\"},\"spec\":{\"parentRefs\":[{\"group\":\"\"," \
	"\"kind\":\"Service\",\"name\":\"web\",\"port\":80}],\"rules\":[{\"backendRefs\":["     \
	"{\"name\":\"web-v1\",\"port\":80,\"weight\":" #w1 "},"                                \
	"{\"name\":\"web-v2\",\"port\":80,\"weight\":" #w2 "}]}]}}"
#define SPLIT                                                                              \
	"{\"apiVersion\":\"split.smi-spec.io/v1alpha4\",\"kind\":\"TrafficSplit\","            \
	"\"metadata\":{\"name\":\"ts\",\"namespace\":\"default\"},\"spec\":{\"service\":\"web\"," \
	"\"backends\":[{\"service\":\"web-v1\",\"weight\":50},{\"service\":\"gone\",\"weight\":50}]}}"

struct tally {
	int hits[4], refused, other;
};

/* count connections from cli to the parent, in a child in its netns. */
static bool measure(int count, struct tally *t)
{
	int p[2], st = -1;
	pid_t c;

	memset(t, 0, sizeof(*t));
	if (pipe(p))
		return false;
	c = fork();
	if (c == 0) {
		struct tally x = { 0 };
		char name[64];

		close(p[0]);
		if (tenv_enter("cli", true))
			_exit(1);
		for (int i = 0; i < count; i++) {
			int err = tenv_tcp_ask(PARENT, 80, NULL, false, name, sizeof(name), NULL, 0);
			bool known = false;

			for (int b = 0; !err && b < 4; b++)
				if (!strcmp(name, pods[b])) {
					x.hits[b]++;
					known = true;
				}
			if (err == -111)	/* ECONNREFUSED */
				x.refused++;
			else if (!known)
				x.other++;
		}
		_exit(write(p[1], &x, sizeof(x)) != sizeof(x));
	}
	close(p[1]);
	if (c > 0 && read(p[0], t, sizeof(*t)) != sizeof(*t))
		c = -1;
	close(p[0]);
	return c > 0 && waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* Wait (up to ms) until 20 connections all go to be3. */
static bool all_to_v2(int ms)
{
	struct tally t;

	for (long long end = tenv_now_ms() + ms; tenv_now_ms() < end; usleep(100000))
		if (measure(20, &t) && t.hits[2] == 20)
			return true;
	return false;
}

TEST_TIMEOUT(e2e, k8s_tcproute_and_trafficsplit_split_connections, 120)
{
	enum { N = 600 };
	struct api a = { 0 };
	char bin[512], kc[256], cfg[256], text[512];
	struct tally t;
	pid_t weftd = -1;

	tenv_need_root();
	if (!ASSERT_OK(tenv_pod("cli", "10.250.0.10", NULL), "client pod"))
		return;
	for (int i = 0; i < 4; i++)
		if (!ASSERT_OK(tenv_pod(pods[i], ips[i], NULL), "backend pod") ||
		    !ASSERT_TRUE(tenv_namesrv(pods[i], pods[i], ips[i], 8080) > 0, "namesrv"))
			return;
	if (!api_start(&a, true))
		return;
	snprintf(cfg, sizeof(cfg), "%s/weft.yaml", a.dir);
	snprintf(text, sizeof(text), "datapath:\n  cgroup: %s\n  bpffs: %s\nmetrics:\n  listen: \"\"\n",
		 tenv_cgroup(), tenv_bpffs());
	if (!ASSERT_OK(tenv_write_file(cfg, text), "weft.yaml") ||
	    !api(&a, "put pods " POD("be1", "10.250.0.21")) ||
	    !api(&a, "put pods " POD("be2", "10.250.0.22")) ||
	    !api(&a, "put pods " POD("be3", "10.250.0.23")) ||
	    !api(&a, "put services " SVC("web", PARENT)) ||
	    !api(&a, "put services " SVC("web-v1", "10.250.100.11")) ||
	    !api(&a, "put services " SVC("web-v2", "10.250.100.12")) ||
	    !api(&a, "put endpointslices " SLICE("web", EP("10.250.0.24"))) ||
	    !api(&a, "put endpointslices " SLICE("web-v1", EP("10.250.0.21") "," EP("10.250.0.22"))) ||
	    !api(&a, "put endpointslices " SLICE("web-v2", EP("10.250.0.23"))) ||
	    !api(&a, "put tcproutes " TCPROUTE("v1", 80, 20)))
		goto out;
	snprintf(bin, sizeof(bin), "%s/weftd", weft_test_bindir());
	snprintf(kc, sizeof(kc), "%s/kubeconfig", a.dir);
	char *argv[] = { bin, "--kubeconfig", kc, "--node", "node-1", "--config", cfg,
			 "--log-level", "warn", "--api-recheck", "1", NULL };
	weftd = tenv_spawn("node", false, false, argv);
	if (!ASSERT_TRUE(weftd > 0, "weftd spawned") ||
	    !ASSERT_TRUE(tenv_wait_applied(weftd, 1), "weftd applied"))
		goto out;

	/* TCPRoute v1, 80/20 over web-v1 (two pods) and web-v2 (one) */
	if (!ASSERT_TRUE(measure(N, &t), "connections"))
		goto out;
	fprintf(stderr, "TCPRoute 80/20: v1 %d v2 %d parent %d refused %d other %d\n",
		t.hits[0] + t.hits[1], t.hits[2], t.hits[3], t.refused, t.other);
	ASSERT_EQ(t.refused + t.other, 0, "no failure");
	ASSERT_EQ(t.hits[3], 0, "the parent's own endpoint: none, the route took its port");
	ASSERT_GE(t.hits[2], N * 15 / 100, "web-v2 about 20%");
	ASSERT_LE(t.hits[2], N * 25 / 100, "web-v2 about 20%");

	/* Re-weighted by an update of the object: within a second or so. */
	if (!api(&a, "put tcproutes " TCPROUTE("v1", 0, 100)))
		goto out;
	ASSERT_TRUE(all_to_v2(3000), "0/100: every new connection to web-v2");

	/* TrafficSplit: web-v1 50, a service that does not exist 50. */
	if (!api(&a, "del tcproutes default/split") || !api(&a, "put trafficsplits " SPLIT))
		goto out;
	for (long long end = tenv_now_ms() + 3000; tenv_now_ms() < end; usleep(100000))
		if (measure(20, &t) && t.refused > 0 && t.hits[2] == 0)
			break;
	if (!ASSERT_TRUE(measure(400, &t), "connections"))
		goto out;
	fprintf(stderr, "TrafficSplit 50/50 missing: v1 %d refused %d other %d\n",
		t.hits[0] + t.hits[1], t.refused, t.other);
	ASSERT_EQ(t.other + t.hits[2] + t.hits[3], 0, "only web-v1 or refused");
	ASSERT_GE(t.refused, 400 * 40 / 100, "the missing backend's half refused");
	ASSERT_LE(t.refused, 400 * 60 / 100, "the missing backend's half refused");

	/* v1 not served: the v1alpha2 TCPRoute applies. */
	if (!api(&a, "del trafficsplits default/ts") || !api(&a, "serve tcproutes off") ||
	    !api(&a, "put tcproutes-v1alpha2 " TCPROUTE("v1alpha2", 0, 100)))
		goto out;
	ASSERT_TRUE(all_to_v2(6000), "TCPRoute v1alpha2 read when v1 is not served");
	ASSERT_TRUE(waitpid(weftd, NULL, WNOHANG) == 0, "weftd still running");
out:
	if (weftd > 0) {
		kill(weftd, SIGTERM);
		waitpid(weftd, NULL, 0);
	}
	kill(a.pid, SIGTERM);
	waitpid(a.pid, NULL, 0);
}
