// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * e2e: routes (issue 15) with weftd and real pods: new connections to the
 * parent's address split by weight over backend services, a re-weight, and
 * a backend that does not resolve refused at its share.
 */
#include <errno.h>
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
#include "weft/abi.h"

#define PARENT "10.250.100.1"

static const char *const be_ips[] = { "10.250.0.21", "10.250.0.22", "10.250.0.23", "10.250.0.24" };
static const char *const be_pods[] = { "be1", "be2", "be3", "be4" };

struct node {
	char config[256];
	pid_t weftd;
	int port;		/* of /metrics, on 127.0.0.1 of weftd's netns */
};

static int free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;

	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

/* A client pod and four backend pods serving TCP on 8080. */
static bool node_up(struct node *n)
{
	tenv_need_root();
	snprintf(n->config, sizeof(n->config), "%s/weft.yaml", tenv_dir());
	n->port = free_port();
	if (!ASSERT_TRUE(n->port > 0, "a free port"))
		return false;
	if (!ASSERT_OK(tenv_pod("cli", "10.250.0.10", NULL), "client pod"))
		return false;
	for (int i = 0; i < 4; i++)
		if (!ASSERT_OK(tenv_pod(be_pods[i], be_ips[i], NULL), "backend pod") ||
		    !ASSERT_TRUE(tenv_namesrv(be_pods[i], be_pods[i], be_ips[i], 8080) > 0,
				 "namesrv started"))
			return false;
	return true;
}

/* web (the parent, its own backend be4), v1 (be1, be2), v2 (be3), and the
 * routes given. */
static bool write_config2(struct node *n, const char *dp, const char *routes)
{
	char text[8192], tmp[300];

	snprintf(text, sizeof(text),
		 "metrics:\n  listen: \"127.0.0.1:%d\"\n"
		 "datapath:\n  cgroup: %s\n  bpffs: %s\n%s"
		 "services:\n"
		 "  - {name: web, vip: " PARENT ", ports: [{port: 80, target_port: 8080}],\n"
		 "     backends: [{ip: 10.250.0.24}]}\n"
		 "  - {name: v1, vip: 10.250.100.11, ports: [{port: 80, target_port: 8080}],\n"
		 "     backends: [{ip: 10.250.0.21}, {ip: 10.250.0.22}]}\n"
		 "  - {name: v2, vip: 10.250.100.12, ports: [{port: 80, target_port: 8080}],\n"
		 "     backends: [{ip: 10.250.0.23}]}\n"
		 "routes:\n%s",
		 n->port, tenv_cgroup(), tenv_bpffs(), dp, routes);
	snprintf(tmp, sizeof(tmp), "%s.new", n->config);
	return ASSERT_OK(tenv_write_file(tmp, text), "write config") &&
	       ASSERT_OK(rename(tmp, n->config) ? -errno : 0, "replace config");
}

static bool write_config(struct node *n, const char *routes)
{
	return write_config2(n, "", routes);
}

/* The pods as endpoints: v1's and v2's pods are one app (web) in two
 * versions, as a canary rollout has them. */
#define ENDPOINTS                                                                          \
	"endpoints:\n"                                                                     \
	"  - {name: cli, ip: 10.250.0.10, labels: {app: client}}\n"                        \
	"  - {name: be1, ip: 10.250.0.21, labels: {app: web, version: v1}}\n"              \
	"  - {name: be2, ip: 10.250.0.22, labels: {app: web, version: v1}}\n"              \
	"  - {name: be3, ip: 10.250.0.23, labels: {app: web, version: v2}}\n"

static uint64_t generation(void)
{
	struct weft_info info = { 0 };

	tenv_info(&info);
	return info.generation;
}

static bool weftd_start(struct node *n)
{
	char bin[512];

	snprintf(bin, sizeof(bin), "%s/weftd", weft_test_bindir());
	char *argv[] = { bin, "--config", n->config, "--log-level", "warn", NULL };
	n->weftd = tenv_spawn(NULL, false, false, argv);
	return ASSERT_TRUE(n->weftd > 0, "weftd spawned") &&
	       ASSERT_TRUE(tenv_wait_applied(n->weftd, 1), "weftd applied its config");
}

static bool reload(struct node *n)
{
	uint64_t gen = generation();

	kill(n->weftd, SIGHUP);
	return ASSERT_TRUE(tenv_wait_applied(n->weftd, gen + 1), "reload applied within 10 s");
}

static void weftd_stop(struct node *n)
{
	if (n->weftd > 0) {
		kill(n->weftd, SIGTERM);
		waitpid(n->weftd, NULL, 0);
	}
}

/* count connections to the parent: hits by backend pod, refused ones. */
static int ask(int count, int hits[4], int *refused)
{
	char name[64];
	int other = 0;

	memset(hits, 0, 4 * sizeof(*hits));
	*refused = 0;
	for (int i = 0; i < count; i++) {
		int err = tenv_tcp_ask(PARENT, 80, NULL, false, name, sizeof(name), NULL, 0);

		if (err == -ECONNREFUSED) {
			(*refused)++;
			continue;
		}
		for (int b = 0; !err && b < 4; b++)
			if (!strcmp(name, be_pods[b])) {
				hits[b]++;
				break;
			}
		other += !!err;
	}
	return other;
}

#define SPLIT(w1, w2)                                                                      \
	"  - name: split\n"                                                                \
	"    parent: {name: web, port: 80}\n"                                              \
	"    rules: [{backends: [{name: v1, weight: " #w1 "}, {name: v2, weight: " #w2 "}]}]\n"

/* A route naming a parent that does not exist: rejected alone. */
#define BAD_ROUTE "  - {name: stray, parent: {name: nope}, rules: [{backends: [{name: v1}]}]}\n"

TEST_TIMEOUT(e2e, routes_split_reweight_and_refuse, 120)
{
	enum { N = 1000 };
	struct node n = { .weftd = -1 };
	static char body[1 << 20];
	int hits[4], refused;
	struct weft_info info;

	if (!node_up(&n) || !write_config(&n, SPLIT(80, 20) BAD_ROUTE) || !weftd_start(&n))
		goto out;
	/* The stray route: rejected alone, logged, counted, named by /readyz. */
	for (long long end = tenv_now_ms() + 5000; tenv_now_ms() < end; usleep(50000))
		if (!tenv_capture(body, sizeof(body), "curl -sf http://127.0.0.1:%d/metrics", n.port))
			break;
	ASSERT_EQ(tenv_sample(body, "weft_config_rejected_total{kind=\"route\",name=\"stray\","
				    "namespace=\"default\",reason=\"no_parent\"}"),
		  1, "the rejected route is counted");
	tenv_capture(body, sizeof(body), "curl -s http://127.0.0.1:%d/readyz", n.port);
	ASSERT_TRUE(strstr(body, "weft.yaml:17:5: routes[1] (default/stray): parent service default/nope does not exist") != NULL,
		    body);
	if (!ASSERT_OK(tenv_enter("cli", true), "enter client pod"))
		goto out;
	/* 80/20 over v1 (two endpoints) and v2 (one): 1,000 connections; 4
	 * standard deviations of a binomial are about +-5% */
	ASSERT_EQ(ask(N, hits, &refused), 0, "no failed connection");
	fprintf(stderr, "80/20: be1 %d be2 %d be3 %d be4 %d refused %d\n", hits[0], hits[1], hits[2],
		hits[3], refused);
	ASSERT_EQ(refused, 0, "none refused");
	ASSERT_EQ(hits[3], 0, "the parent's own backend gets nothing: the route took its port");
	ASSERT_GE(hits[0] + hits[1], N * 75 / 100, "v1 gets 80%");
	ASSERT_LE(hits[0] + hits[1], N * 85 / 100, "v1 gets 80%");
	ASSERT_GE(hits[0], N * 30 / 100, "v1's share spread over its two endpoints");
	ASSERT_GE(hits[1], N * 30 / 100, "v1's share spread over its two endpoints");
	ASSERT_GE(hits[2], N * 15 / 100, "v2 (one endpoint) gets 20%");
	ASSERT_LE(hits[2], N * 25 / 100, "v2 gets 20%");

	/* Re-weight to 0/100: every new connection goes to v2, and only the
	 * parent port's entries are written. */
	if (!write_config(&n, SPLIT(0, 100) BAD_ROUTE) || !reload(&n))
		goto out;
	ASSERT_TRUE(tenv_info(&info), "weft_info");
	ASSERT_LE(info.last_ops, 16, "only the difference is written");
	ASSERT_EQ(ask(200, hits, &refused), 0, "no failed connection");
	ASSERT_EQ(hits[2], 200, "0/100: all new connections to v2");

	/* v1 50, a service that does not exist 50: about half refused. */
	if (!write_config(&n, "  - name: split\n    parent: {name: web}\n"
			      "    rules: [{backends: [{name: v1, weight: 50}, {name: gone, weight: 50}]}]\n") ||
	    !reload(&n))
		goto out;
	ASSERT_EQ(ask(400, hits, &refused), 0, "no other failure");
	fprintf(stderr, "50/50 unresolved: v1 %d refused %d\n", hits[0] + hits[1], refused);
	ASSERT_GE(refused, 400 * 40 / 100, "about half refused (ECONNREFUSED)");
	ASSERT_LE(refused, 400 * 60 / 100, "about half refused (ECONNREFUSED)");
	ASSERT_EQ(hits[0] + hits[1] + refused, 400, "the rest to v1");
	ASSERT_EQ(hits[2] + hits[3], 0, "nothing elsewhere");
out:
	weftd_stop(&n);
}

/* A long-lived connection through the parent; the answering pod's name
 * into name. */
static int open_conn(char *name, size_t len)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(80) };
	struct timeval tv = { .tv_sec = 2 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	size_t got = 0;

	inet_pton(AF_INET, PARENT, &sa.sin_addr);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	while (got + 1 < len && read(fd, name + got, 1) == 1 && name[got] != '\n')
		got++;
	name[got] = 0;
	return fd;
}

/* namesrv echoes what it is sent after its first line. */
static bool conn_alive(int fd)
{
	char buf[8];

	return write(fd, "ping", 4) == 4 && read(fd, buf, sizeof(buf)) == 4 && !memcmp(buf, "ping", 4);
}

static bool closed_within(int fd, int ms)
{
	char buf[64];

	for (long long end = tenv_now_ms() + ms; tenv_now_ms() < end; usleep(20000)) {
		ssize_t r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (r == 0 || (r < 0 && errno != EAGAIN))
			return true;
	}
	return false;
}

/* v1 drops to weight 0 (drain_timeout 1): its connection through the
 * parent is closed after about a second, v2's stays; a weight back before
 * the timeout (drain_timeout 3) keeps the connection. */
TEST_TIMEOUT(e2e, routes_drain_closes_connections_of_a_backend_that_left, 90)
{
	struct node n = { .weftd = -1 };
	char name[64];
	int c1 = -1, c2 = -1, c3 = -1;
	uint64_t before;
	long long t0;

	if (!tenv_kfunc("bpf_sock_destroy")) {
		SKIP("the kernel has no bpf_sock_destroy (Linux 6.5+)");
		return;
	}
	if (!node_up(&n) || !write_config2(&n, "  drain_timeout: 1\n", SPLIT(50, 50)) ||
	    !weftd_start(&n) || !ASSERT_OK(tenv_enter("cli", true), "enter client pod"))
		goto out;
	for (int i = 0; i < 60 && (c1 < 0 || c2 < 0); i++) {
		int fd = open_conn(name, sizeof(name));

		if (fd >= 0 && !strcmp(name, "be1") && c1 < 0)
			c1 = fd;
		else if (fd >= 0 && !strcmp(name, "be3") && c2 < 0)
			c2 = fd;
		else if (fd >= 0)
			close(fd);
	}
	if (!ASSERT_TRUE(c1 >= 0 && c2 >= 0, "a connection to v1 (be1) and one to v2 (be3)"))
		goto out;
	before = tenv_stat(WEFT_STAT_GONE_DESTROYED);
	if (!write_config2(&n, "  drain_timeout: 1\n", SPLIT(0, 100)) || !reload(&n))
		goto out;
	t0 = tenv_now_ms();
	ASSERT_TRUE(conn_alive(c1), "v1's connection drains: still up at once");
	ASSERT_TRUE(closed_within(c1, 3000), "v1's connection closed after drain_timeout");
	ASSERT_GE(tenv_now_ms() - t0, 700, "not before the drain timeout");
	ASSERT_TRUE(conn_alive(c2), "v2 keeps its weight: its connection stays");
	ASSERT_EQ(tenv_stat(WEFT_STAT_GONE_DESTROYED) - before, 1, "one socket destroyed");

	/* drain_timeout 3: v2 to 0 and back before it is due: kept */
	if (!write_config2(&n, "  drain_timeout: 3\n", SPLIT(100, 0)) || !reload(&n))
		goto out;
	c3 = c2;
	c2 = -1;
	if (!write_config2(&n, "  drain_timeout: 3\n", SPLIT(0, 100)) || !reload(&n))
		goto out;
	ASSERT_TRUE(!closed_within(c3, 4000), "weight back before the timeout: the drain stopped");
	ASSERT_TRUE(conn_alive(c3), "the connection to v2 is still up");
out:
	if (c1 >= 0)
		close(c1);
	if (c2 >= 0)
		close(c2);
	if (c3 >= 0)
		close(c3);
	weftd_stop(&n);
}

#define SERIES(rev)                                                                                 \
	"weft_tcp_connections_opened_total{reporter=\"source\",source_workload=\"client\","         \
	"source_workload_namespace=\"default\","                                                    \
	"source_principal=\"spiffe://cluster.local/ns/default/sa/default\","                        \
	"destination_workload=\"web\",destination_workload_namespace=\"default\","                  \
	"destination_principal=\"spiffe://cluster.local/ns/default/sa/default\","                   \
	"destination_cluster=\"Kubernetes\","                                                     \
	"destination_service=\"web.default.svc.cluster.local\",destination_service_name=\"web\","   \
	"destination_service_namespace=\"default\",request_protocol=\"tcp\","                       \
	"source_canonical_service=\"client\",source_canonical_revision=\"latest\","                 \
	"destination_canonical_service=\"web\",destination_canonical_revision=\"" rev "\"}"

/* The canary's connections on /metrics by canonical revision: one app,
 * two versions, one query. */
TEST_TIMEOUT(e2e, routes_canary_metrics_by_canonical_revision, 60)
{
	enum { N = 200 };
	static char body[1 << 20];
	struct node n = { .weftd = -1 };
	long long v1 = -1, v2 = -1;
	pid_t c;
	int st = -1;

	if (!node_up(&n) || !write_config2(&n, "", SPLIT(80, 20) ENDPOINTS) || !weftd_start(&n))
		goto out;
	c = fork();
	if (c == 0) {
		int hits[4], refused;

		_exit(tenv_enter("cli", true) || ask(N, hits, &refused) || refused);
	}
	ASSERT_TRUE(c > 0 && waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0,
		    "200 connections through the parent");
	for (long long end = tenv_now_ms() + 5000; tenv_now_ms() < end; usleep(100000)) {
		if (tenv_capture(body, sizeof(body), "curl -sf http://127.0.0.1:%d/metrics", n.port))
			continue;
		v1 = tenv_sample(body, SERIES("v1"));
		v2 = tenv_sample(body, SERIES("v2"));
		if (v1 + v2 >= N)
			break;
	}
	fprintf(stderr, "opened by revision: v1 %lld v2 %lld\n", v1, v2);
	ASSERT_EQ(v1 + v2, N, "every connection counted under one of the two revisions");
	ASSERT_GE(v2, N * 8 / 100, "the canary (v2) about 20%");
	ASSERT_LE(v2, N * 32 / 100, "the canary (v2) about 20%");
out:
	weftd_stop(&n);
}
