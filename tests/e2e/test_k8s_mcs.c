// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * e2e: optional APIs (issue 14, item 8). weftd --kubeconfig against k8sapi
 * whose ServiceImport API (multicluster.x-k8s.io/v1alpha1) is switched off
 * and on at run time, as a CRD installed late and deleted again: weftd logs
 * it once, re-checks at a bounded rate, serves everything else and is ready
 * meanwhile, and lists and watches the resource once it is served.
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

#define VIP "10.250.100.1"
#define RECHECK_S 1		/* weftd --api-recheck: re-checks 1-2 s apart */

#define SVC(name, vip, port, target)                                                       \
	"{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"" name "\","    \
	"\"namespace\":\"default\",\"uid\":\"u-" name "\"},\"spec\":{\"clusterIP\":\"" vip "\"," \
	"\"clusterIPs\":[\"" vip "\"],\"ipFamilies\":[\"IPv4\"],\"ports\":[{\"name\":\"http\","  \
	"\"port\":" port ",\"protocol\":\"TCP\",\"targetPort\":" target "}],"                 \
	"\"selector\":{\"app\":\"" name "\"},\"type\":\"ClusterIP\"}}"
#define SLICE(svc, name, ip, port)                                                         \
	"{\"addressType\":\"IPv4\",\"apiVersion\":\"discovery.k8s.io/v1\",\"endpoints\":[{"   \
	"\"addresses\":[\"" ip "\"],\"conditions\":{\"ready\":true},\"nodeName\":\"node-1\"}]," \
	"\"kind\":\"EndpointSlice\",\"metadata\":{\"labels\":{\"kubernetes.io/service-name\":\"" \
	svc "\"},\"name\":\"" name "\",\"namespace\":\"default\"},\"ports\":[{\"name\":\"http\"," \
	"\"port\":" port ",\"protocol\":\"TCP\"}]}"
#define POD(name, ip)                                                                      \
	"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"labels\":{\"app\":\"" name "\"}," \
	"\"name\":\"" name "\",\"namespace\":\"default\",\"uid\":\"u-" name "\"},\"spec\":{"   \
	"\"containers\":[{\"name\":\"c\"}],\"nodeName\":\"node-1\"},\"status\":{"              \
	"\"phase\":\"Running\",\"podIP\":\"" ip "\",\"podIPs\":[{\"ip\":\"" ip "\"}]}}"

/* How many lines of file match the extended regex re (0 if none or no file). */
static int count_lines(const char *file, const char *re)
{
	char out[64];

	if (tenv_capture(out, sizeof(out), "grep -c -E -- '%s' %s || true", re, file))
		return -1;
	return atoi(out);
}

/* /readyz of the weftd listening on 127.0.0.1:port in the node netns:
 * true when it answers 200. */
static bool ready(int port)
{
	char ns[64], out[512];

	tenv_ns("node", ns, sizeof(ns));
	return !tenv_capture(out, sizeof(out),
			     "nsenter --net=/run/netns/%s curl -s -w ' %%{http_code}' http://127.0.0.1:%d/readyz",
			     ns, port) &&
	       strstr(out, " 200");
}

/* cli asks addr:port over TCP (from a child in its netns and cgroup);
 * true when the server named want answers. */
static bool ask(const char *addr, int port, const char *want)
{
	int st = -1;
	pid_t c = fork();

	if (c == 0) {
		char name[64] = "";

		_exit(tenv_enter("cli", true) ||
		      tenv_tcp_ask(addr, port, NULL, false, name, sizeof(name), NULL, 0) ||
		      strcmp(name, want));
	}
	return c > 0 && waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* Wait up to ms for re to match at least n lines of file. */
static bool wait_lines(const char *file, const char *re, int n, int ms)
{
	for (long long end = tenv_now_ms() + ms; tenv_now_ms() < end; usleep(50000))
		if (count_lines(file, re) >= n)
			return true;
	return false;
}

TEST_TIMEOUT(e2e, k8s_optional_api_absent_then_served_then_removed, 120)
{
	struct api a = { 0 };
	char bin[512], kc[256], cfg[256], text[512], reqlog[256], wlog[256], sh[1024];
	int port = 19465 + getpid() % 20000, n404;
	long long t;
	pid_t weftd;

	tenv_need_root();
	if (!ASSERT_OK(tenv_pod("cli", "10.250.0.10", NULL), "client pod") ||
	    !ASSERT_OK(tenv_pod("web", "10.250.0.21", NULL), "web pod") ||
	    !ASSERT_TRUE(tenv_namesrv("web", "web", "10.250.0.21", 8080) > 0, "web server") ||
	    !api_start(&a, true))
		return;
	snprintf(cfg, sizeof(cfg), "%s/weft.yaml", a.dir);
	snprintf(reqlog, sizeof(reqlog), "%s/requests.log", a.dir);
	snprintf(wlog, sizeof(wlog), "%s/weftd.log", a.dir);
	snprintf(text, sizeof(text), "datapath:\n  cgroup: %s\n  bpffs: %s\nmetrics:\n  listen: \"127.0.0.1:%d\"\n",
		 tenv_cgroup(), tenv_bpffs(), port);
	/* The cluster has no MCS CRD yet. */
	if (!ASSERT_OK(tenv_write_file(cfg, text), "weft.yaml") ||
	    !api(&a, "serve serviceimports off") ||
	    !api(&a, "put pods " POD("cli", "10.250.0.10")) ||
	    !api(&a, "put pods " POD("web", "10.250.0.21")) ||
	    !api(&a, "put services " SVC("web", VIP, "80", "8080")) ||
	    !api(&a, "put endpointslices " SLICE("web", "web-a", "10.250.0.21", "8080")))
		return;

	/* weftd, its log in a file (exec: the pid stays weftd's). */
	snprintf(bin, sizeof(bin), "%s/weftd", weft_test_bindir());
	snprintf(kc, sizeof(kc), "%s/kubeconfig", a.dir);
	snprintf(sh, sizeof(sh), "exec \"$0\" \"$@\" 2>>%s", wlog);
	char *argv[] = { "/bin/sh", "-c", sh, bin, "--kubeconfig", kc, "--node", "node-1",
			 "--config", cfg, "--log-level", "info", "--api-recheck", "1", NULL };
	weftd = tenv_spawn("node", false, false, argv);
	if (!ASSERT_TRUE(weftd > 0, "weftd spawned") ||
	    !ASSERT_TRUE(tenv_wait_applied(weftd, 1), "applied without the ServiceImport API"))
		goto out;
	ASSERT_TRUE(ask(VIP, 80, "web"), "the other services work: cli -> web's VIP");
	ASSERT_TRUE(ready(port), "/readyz 200 without the ServiceImport API");

	/* Re-checked at a bounded rate, logged once. */
	t = tenv_now_ms();
	usleep(4500 * 1000);
	n404 = count_lines(reqlog, "serviceimports.* 404$");
	fprintf(stderr, "optional API: %d requests in %lld ms of 404s\n", n404,
		tenv_now_ms() - t + 1000);
	ASSERT_TRUE(n404 >= 3, "re-checked (at least every 2 s)");
	ASSERT_TRUE(n404 <= 7, "no tight retry loop (at most one request a second, and a start)");
	ASSERT_EQ(count_lines(wlog, "ServiceImport \\(multicluster.x-k8s.io/v1alpha1\\) not served"),
		  1, "one log line");

	/* The CRD is installed: listed and watched within the bound. */
	if (!api(&a, "serve serviceimports on"))
		goto out;
	t = tenv_now_ms();
	ASSERT_TRUE(wait_lines(reqlog, "GET /apis/multicluster.x-k8s.io/v1alpha1/serviceimports\\?limit=.* 200$",
			       1, 2 * RECHECK_S * 1000 + 1500), "listed within the re-check bound");
	ASSERT_TRUE(wait_lines(reqlog, "GET /apis/multicluster.x-k8s.io/v1alpha1/serviceimports\\?watch=.* 200$",
			       1, 1500), "then watched");
	fprintf(stderr, "optional API: served to listed in %lld ms\n", tenv_now_ms() - t);
	ASSERT_TRUE(ready(port), "/readyz 200 with the ServiceImport API");

	/* The CRD is deleted: the watch ends, the resource is re-checked again. */
	n404 = count_lines(reqlog, "serviceimports.* 404$");
	if (!api(&a, "serve serviceimports off"))
		goto out;
	ASSERT_TRUE(wait_lines(reqlog, "serviceimports.* 404$", n404 + 2, 2 * RECHECK_S * 1000 + 1500),
		    "back to re-checking");
	ASSERT_TRUE(wait_lines(wlog, "ServiceImport \\(multicluster.x-k8s.io/v1alpha1\\) not served", 2,
			       1000), "logged once more, when it went away");
	ASSERT_TRUE(ask(VIP, 80, "web"), "the other services still work");
	ASSERT_TRUE(ready(port), "/readyz 200");
	ASSERT_TRUE(waitpid(weftd, NULL, WNOHANG) == 0, "weftd still running");
out:
	kill(weftd, SIGTERM);
	waitpid(weftd, NULL, 0);
	kill(a.pid, SIGTERM);
	waitpid(a.pid, NULL, 0);
}
