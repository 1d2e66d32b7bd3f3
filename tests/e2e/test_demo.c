// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * e2e: `make demo` (deploy/demo/demo.sh) shows two nodes: a client on
 * node-b reaches a service with backends on both nodes, each node's maps
 * and /metrics name the peer on the other node, and the demo leaves
 * nothing behind, after a whole run and after a Ctrl-C.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "testenv.h"

#define DEMO "deploy/demo/demo.sh"

/* What the demo makes: none of it may outlive it. */
static const char *const leftovers[] = {
	"/run/netns/wd-node", "/run/netns/wd-client", "/run/netns/wd-web1", "/run/netns/wd-web2",
	"/sys/fs/bpf/weft-demo-a", "/sys/fs/bpf/weft-demo-b",
};

static bool nothing_left(void)
{
	char cg[512];
	bool clean = true;

	for (size_t i = 0; i < sizeof(leftovers) / sizeof(leftovers[0]); i++)
		if (!ASSERT_TRUE(access(leftovers[i], F_OK) != 0, leftovers[i]))
			clean = false;
	for (int n = 0; n < 2; n++) {
		if (tenv_capture(cg, sizeof(cg), "awk '$3 == \"cgroup2\" { print $2; exit }' /proc/mounts") ||
		    !cg[0])
			continue;
		cg[strcspn(cg, "\n")] = 0;
		strncat(cg, n ? "/weft-demo-b" : "/weft-demo-a", sizeof(cg) - strlen(cg) - 1);
		if (!ASSERT_TRUE(access(cg, F_OK) != 0, cg))
			clean = false;
	}
	/* the demo's weftd and servers (its pods' processes) */
	if (!ASSERT_TRUE(tenv_capture(cg, sizeof(cg), "pgrep -f 'weftd --config [^ ]*deploy/demo/node-[ab].yaml|"
			     "namesrv --name web[12] '") == 1, cg))
		clean = false;
	return clean;
}

/* The part of the demo's output after the step line that contains head,
 * up to the next step; "" if there is none. */
static const char *section(const char *out, const char *head, char *buf, size_t len)
{
	const char *s = strstr(out, head), *e;

	buf[0] = 0;
	if (!s)
		return buf;
	e = strstr(s, "\n\033[1m== ");
	snprintf(buf, len, "%.*s", (int)(e ? e - s : (long)strlen(s)), s);
	return buf;
}

TEST_TIMEOUT(e2e, demo_shows_two_nodes_and_cleans_up, 120)
{
	static char out[1 << 18], part[1 << 16];
	long long start;
	int rc;

	tenv_need_root();
	if (access(DEMO, X_OK) != 0)
		SKIP(DEMO ": not found from the working directory");
	if (!nothing_left())
		return;	/* another demo is running: not ours to disturb */
	start = tenv_now_ms();
	rc = tenv_capture(out, sizeof(out), DEMO " %s 2>&1", weft_test_bindir());
	if (!ASSERT_EQ(rc, 0, out))
		goto out;
	fprintf(stderr, "demo: %lld ms\n", tenv_now_ms() - start);
	ASSERT_LE(tenv_now_ms() - start, 60000, "the demo takes under a minute");

	/* The client on node-b reached backends on both nodes through the VIP. */
	section(out, "client (node-b) -> 10.250.100.1:80", part, sizeof(part));
	ASSERT_TRUE(strstr(part, "\nweb1 ") && strstr(part, "\nweb2 "), part);
	ASSERT_TRUE(strstr(part, "\nfailed                0\n"), "no connection failed");

	/* Each node's map names its own pods and the other's (remote). */
	section(out, "weft endpoints -o wide on node-a", part, sizeof(part));
	ASSERT_TRUE(strstr(part, "default    client  client    client           client             latest    10.250.0.10 ") &&
			    strstr(part, "remote"),
		    part);
	ASSERT_TRUE(strstr(part, "web-1   web       web              web                latest    10.250.0.21") &&
			    strstr(part, "wv-web1"),
		    "node-a: web-1 local, with its interface");
	section(out, "weft endpoints -o wide on node-b", part, sizeof(part));
	ASSERT_TRUE(strstr(part, "wv-client") && strstr(part, "wv-web2") && strstr(part, "remote"), part);

	/* Flows on both nodes: node-a sees the node-b client at its server. */
	section(out, "weft flows -o wide on both nodes", part, sizeof(part));
	ASSERT_TRUE(strstr(part, "-- node-a\n") && strstr(part, "dst  client  web-1 "), part);

	/* Both /metrics name the peer on the other node, with its principal. */
	section(out, "metrics of node-a", part, sizeof(part));
	ASSERT_TRUE(strstr(part, "\nweft_tcp_connections_opened_total{reporter=\"destination\","
				 "source_workload=\"client\",source_workload_namespace=\"default\","
				 "source_principal=\"spiffe://cluster.local/ns/default/sa/client\","
				 "destination_workload=\"web\""),
		    part);
	section(out, "metrics of node-b", part, sizeof(part));
	ASSERT_TRUE(strstr(part, "\nweft_tcp_connections_opened_total{reporter=\"source\","
				 "source_workload=\"client\",source_workload_namespace=\"default\","
				 "source_principal=\"spiffe://cluster.local/ns/default/sa/client\","
				 "destination_workload=\"web\",destination_workload_namespace=\"default\","
				 "destination_principal=\"spiffe://cluster.local/ns/default/sa/web\","
				 "destination_cluster=\"Kubernetes\","
				 "destination_service=\"web.default.svc.cluster.local\""),
		    part);
	ASSERT_TRUE(strstr(part, "\nweft_endpoints{location=\"remote\"} 1\n"), "node-b: one remote pod");
	ASSERT_FALSE(strstr(part, "destination_workload=\"unknown\""), "no unknown peer");

	/* node-b's weftd killed: its datapath still serves both nodes. */
	section(out, "kill -9 node-b's weftd", part, sizeof(part));
	ASSERT_TRUE(strstr(part, "\nweb1 ") && strstr(part, "\nweb2 ") &&
			    strstr(part, "\nfailed                0\n"),
		    part);
out:
	nothing_left();
}

/* A Ctrl-C (SIGINT to the demo's process group, as a terminal sends it)
 * once both weftd run: the demo stops and cleans up everything. */
TEST_TIMEOUT(e2e, demo_cleans_up_on_ctrl_c, 60)
{
	char bin[512];
	bool reaped = false;
	pid_t pid;
	int st = 0;

	tenv_need_root();
	if (access(DEMO, X_OK) != 0)
		SKIP(DEMO ": not found from the working directory");
	if (!nothing_left())
		return;
	snprintf(bin, sizeof(bin), "%s", weft_test_bindir());
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		setpgid(0, 0);
		if (null >= 0) {
			dup2(null, 1);
			dup2(null, 2);
		}
		execl(DEMO, DEMO, bin, (char *)NULL);
		_exit(127);
	}
	if (!ASSERT_TRUE(pid > 0, "demo started"))
		return;
	setpgid(pid, pid);
	for (long long end = tenv_now_ms() + 20000; tenv_now_ms() < end; usleep(20000))
		if (access("/sys/fs/bpf/weft-demo-a/links/weft_connect4", F_OK) == 0 &&
		    access("/sys/fs/bpf/weft-demo-b/links/weft_connect4", F_OK) == 0)
			break;
	ASSERT_TRUE(access("/sys/fs/bpf/weft-demo-b/links/weft_connect4", F_OK) == 0,
		    "both nodes' weftd attached");
	usleep(300000);	/* into the traffic */
	ASSERT_OK(kill(-pid, SIGINT), "Ctrl-C");
	for (long long end = tenv_now_ms() + 20000; tenv_now_ms() < end; usleep(20000))
		if ((reaped = waitpid(pid, &st, WNOHANG) == pid))
			break;
	if (!ASSERT_TRUE(reaped, "the demo stopped within 20 s")) {
		kill(-pid, SIGKILL);
		waitpid(pid, &st, 0);
	}
	ASSERT_TRUE(reaped && WIFEXITED(st) && WEXITSTATUS(st) == 130, "exit status 130 (interrupted)");
	nothing_left();
}
