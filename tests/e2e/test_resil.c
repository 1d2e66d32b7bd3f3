// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * e2e: resilience in the datapath (issue 16): fault injection, connection
 * caps, least-request. weftd against pods in network namespaces; the client
 * connects through the VIP from its pod and the assertions are on what
 * connect() returned and which backend answered.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "harness.h"
#include "testenv.h"
#include "lib/maps.h"
#include "weft/abi.h"

#define VIP "10.250.110.1"

static const char *const be_ips[] = { "10.250.0.31", "10.250.0.32", "10.250.0.33" };
static const char *const be_pods[] = { "be1", "be2", "be3" };

struct rnode {
	char dir[128];
	char config[256];
	int port;		/* metrics listener on 127.0.0.1 */
	int host_ns;		/* the netns weftd runs in */
	pid_t weftd;
};

static int free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;

	if (fd >= 0 && !bind(fd, (struct sockaddr *)&sa, sizeof(sa)) &&
	    !getsockname(fd, (struct sockaddr *)&sa, &len))
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/* The config: service "web" (tcp 80 -> 8080) over the first nbe backend
 * pods, with the resilience keys in res (indented four spaces). */
static bool write_cfg(struct rnode *n, int nbe, const char *res)
{
	char text[4096], backends[512] = "", tmp[300];
	size_t len = 0;

	for (int i = 0; i < nbe; i++)
		len += snprintf(backends + len, sizeof(backends) - len, "      - {ip: %s}\n", be_ips[i]);
	snprintf(text, sizeof(text),
		 "metrics:\n  listen: \"127.0.0.1:%d\"\n"
		 "datapath:\n  cgroup: %s\n  bpffs: %s\n"
		 "services:\n"
		 "  - name: web\n"
		 "    vip: " VIP "\n"
		 "    ports: [{name: http, port: 80, target_port: 8080}]\n"
		 "%s"
		 "    backends:\n%s",
		 n->port, tenv_cgroup(), tenv_bpffs(), res, backends);
	snprintf(tmp, sizeof(tmp), "%s.new", n->config);
	return ASSERT_OK(tenv_write_file(tmp, text), "write config") &&
	       ASSERT_OK(rename(tmp, n->config) ? -errno : 0, "replace config");
}

/* Client pod, nbe backend pods answering their name on 8080, weftd with
 * the config; the test process ends up in the client pod. */
static bool rnode_up(struct rnode *n, int nbe, const char *res)
{
	char bin[512];

	tenv_need_root();
	snprintf(n->dir, sizeof(n->dir), "%s", tenv_dir());
	snprintf(n->config, sizeof(n->config), "%s/weft.yaml", n->dir);
	n->port = free_port();
	if (!ASSERT_OK(tenv_pod("cli", "10.250.0.10", NULL), "client pod"))
		return false;
	for (int i = 0; i < nbe; i++)
		if (!ASSERT_OK(tenv_pod(be_pods[i], be_ips[i], NULL), "backend pod") ||
		    !ASSERT_TRUE(tenv_namesrv(be_pods[i], be_pods[i], be_ips[i], 8080) > 0,
				 "namesrv started"))
			return false;
	if (!write_cfg(n, nbe, res))
		return false;
	snprintf(bin, sizeof(bin), "%s/weftd", weft_test_bindir());
	char *argv[] = { bin, "--config", n->config, "--log-level", "warn", NULL };
	n->weftd = tenv_spawn(NULL, false, false, argv);
	n->host_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	return ASSERT_TRUE(n->host_ns >= 0, "host netns") && ASSERT_TRUE(n->weftd > 0, "weftd spawned") &&
	       ASSERT_TRUE(tenv_wait_applied(n->weftd, 1), "weftd applied its config") &&
	       ASSERT_OK(tenv_enter("cli", true), "enter client pod");
}

/* A scrape of weftd's /metrics into out: curl from weftd's netns, then
 * back into the client pod's. */
static bool scrape(const struct rnode *n, char *out, size_t len)
{
	int pod = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	bool ok;

	if (!ASSERT_TRUE(pod >= 0 && !setns(n->host_ns, CLONE_NEWNET), "into weftd's netns")) {
		if (pod >= 0)
			close(pod);
		return false;
	}
	ok = ASSERT_OK(tenv_capture(out, len, "curl -s http://127.0.0.1:%d/metrics", n->port),
		       "scrape /metrics");
	ok &= ASSERT_OK(setns(pod, CLONE_NEWNET) ? -errno : 0, "back into the client pod");
	close(pod);
	return ok;
}

/* SIGHUP and wait for the apply. */
static bool reload(struct rnode *n)
{
	struct weft_info info = { 0 };

	tenv_info(&info);
	kill(n->weftd, SIGHUP);
	return ASSERT_TRUE(tenv_wait_applied(n->weftd, info.generation + 1), "reload applied");
}

TEST_TIMEOUT(e2e, resil_fault_abort_refuses_its_share, 120)
{
	static char body[1 << 18];
	struct rnode n;
	char name[64], out[16384];
	int refused = 0, other = 0;
	uint64_t stat0;
	long long v;

	if (!rnode_up(&n, 2, "    fault: {abort_percent: 20}\n"))
		return;
	stat0 = tenv_stat(WEFT_STAT_FAULT_ABORT);
	for (int i = 0; i < 1000; i++) {
		int r = tenv_tcp_ask(VIP, 80, NULL, false, name, sizeof(name), NULL, 0);

		refused += r == -ECONNREFUSED;
		other += r && r != -ECONNREFUSED;
	}
	ASSERT_EQ(other, 0, "no failure but the injected refusals");
	ASSERT_TRUE(refused >= 150 && refused <= 250, "abort_percent 20: 15-25% of 1,000 refused");
	ASSERT_EQ((long long)(tenv_stat(WEFT_STAT_FAULT_ABORT) - stat0), refused,
		  "each refusal counted (fault_aborted)");
	ASSERT_OK(tenv_capture(out, sizeof(out), "%s/weft --bpffs %s stats", weft_test_bindir(),
			       tenv_bpffs()), "weft stats");
	ASSERT_TRUE(strstr(out, "fault_aborted") != NULL, out);
	if (scrape(&n, body, sizeof(body))) {
		v = tenv_sample(body, "weft_service_fault_aborts_total{destination_service_name=\"web\","
				      "destination_service_namespace=\"default\",protocol=\"tcp\","
				      "port_name=\"http\"}");
		ASSERT_EQ(v, refused, "/metrics: the service's injected aborts");
	}
	/* Reload without the fault: nothing refused any more. */
	if (!write_cfg(&n, 2, ""))
		return;
	if (!reload(&n))
		return;
	refused = 0;
	for (int i = 0; i < 100; i++)
		refused += tenv_tcp_ask(VIP, 80, NULL, false, name, sizeof(name), NULL, 0) != 0;
	ASSERT_EQ(refused, 0, "fault removed: every connection succeeds");
}
