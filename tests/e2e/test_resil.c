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
#include <sys/time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <bpf/bpf.h>

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

/* A long-lived connection through the VIP: its fd, the answering backend's
 * name in who; -errno if connect() failed. */
static int open_conn(char *who, size_t len)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(80) };
	struct timeval tv = { .tv_sec = 2 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), err;
	size_t got = 0;

	if (fd < 0)
		return -errno;
	inet_pton(AF_INET, VIP, &sa.sin_addr);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	while (got + 1 < len && read(fd, who + got, 1) == 1 && who[got] != '\n')
		got++;
	who[got] = 0;
	return fd;
}

static int who_index(const char *who)
{
	for (int i = 0; i < 3; i++)
		if (!strcmp(who, be_pods[i]))
			return i;
	return -1;
}

/* weft_be_state.active of the backend with address ip (IPv4), summed over
 * the service ports; -1 if the map cannot be read. */
static long be_active(const char *ip)
{
	struct weft_be_key k, *prev = NULL;
	struct weft_be_state st;
	__be32 a4;
	char path[512];
	long sum = 0;
	int fd;

	inet_pton(AF_INET, ip, &a4);
	snprintf(path, sizeof(path), "%s/%s", tenv_bpffs(), weft_map_name(WEFT_M_BE_STATE));
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -1;
	while (!bpf_map_get_next_key(fd, prev, &k)) {
		prev = &k;
		if (!bpf_map_lookup_elem(fd, &k, &st) && st.addr[3] == a4)
			sum += st.active;
	}
	close(fd);
	return sum;
}

/* Wait (2 s at most) until backend ip has want active connections. */
static bool active_is(const char *ip, long want)
{
	for (int i = 0; i < 200; i++) {
		if (be_active(ip) == want)
			return true;
		usleep(10000);
	}
	return false;
}

TEST_TIMEOUT(e2e, resil_connection_cap_refuses_at_once_and_admits_after_a_close, 120)
{
	static char body[1 << 18];
	int fds[4], per[3] = { 0 }, fd;
	struct rnode n;
	char who[64];
	uint64_t over0;
	long long t0;

	for (int i = 0; i < 4; i++)
		fds[i] = -1;
	if (!rnode_up(&n, 2, "    connection_pool: {max_connections: 2}\n"))
		return;
	over0 = tenv_stat(WEFT_STAT_OVERFLOW);
	for (int i = 0; i < 4; i++) {
		fds[i] = open_conn(who, sizeof(who));
		if (!ASSERT_TRUE(fds[i] >= 0 && who_index(who) >= 0, "a connection under the caps"))
			goto out;
		per[who_index(who)]++;
	}
	ASSERT_TRUE(per[0] == 2 && per[1] == 2, "two per backend: each at its cap of 2");
	ASSERT_TRUE(active_is(be_ips[0], 2) && active_is(be_ips[1], 2), "weft_be_state counts them");
	t0 = tenv_now_ms();
	fd = open_conn(who, sizeof(who));
	ASSERT_EQ(fd, -ECONNREFUSED, "every backend at its cap: refused");
	ASSERT_TRUE(tenv_now_ms() - t0 < 200, "refused at once, not by a timeout");
	if (fd >= 0)
		close(fd);
	ASSERT_EQ((long long)(tenv_stat(WEFT_STAT_OVERFLOW) - over0), 1, "counted as an overflow");
	if (scrape(&n, body, sizeof(body)))
		ASSERT_EQ(tenv_sample(body, "weft_service_overflows_total{destination_service_name=\"web\","
					    "destination_service_namespace=\"default\",protocol=\"tcp\","
					    "port_name=\"http\"}"),
			  1, "/metrics: the overflow");
	/* One closes: its backend has room again, for exactly one more. */
	fd = fds[0];
	fds[0] = -1;
	close(fd);
	if (!ASSERT_TRUE(active_is(be_ips[0], 1) || active_is(be_ips[1], 1), "the close counted out"))
		goto out;
	fds[0] = open_conn(who, sizeof(who));
	ASSERT_TRUE(fds[0] >= 0, "a connection is admitted after a close");
	fd = open_conn(who, sizeof(who));
	ASSERT_EQ(fd, -ECONNREFUSED, "and the next one refused again");
	if (fd >= 0)
		close(fd);
out:
	for (int i = 0; i < 4; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	/* Every socket counted out once: no leak, no underflow. */
	ASSERT_TRUE(active_is(be_ips[0], 0) && active_is(be_ips[1], 0), "all closed: active back to 0");
}

#define LR_HELD 100

TEST_TIMEOUT(e2e, resil_least_request_sends_new_connections_to_the_emptier_backend, 180)
{
	static int fds[2 * LR_HELD];
	struct rnode n;
	int per[3] = { 0 }, nfd = 0;
	char who[64];

	/* be1 alone first: it holds LR_HELD connections. */
	if (!rnode_up(&n, 2, "    lb: least_request\n") || !write_cfg(&n, 1, "    lb: least_request\n") ||
	    !reload(&n))
		return;
	for (int i = 0; i < LR_HELD; i++) {
		fds[nfd] = open_conn(who, sizeof(who));
		if (!ASSERT_TRUE(fds[nfd] >= 0 && !strcmp(who, "be1"), "held by be1"))
			goto out;
		nfd++;
	}
	/* be2 joins empty: power of two choices sends it the new ones while
	 * it has fewer (3 in 4 when the two picks differ or both are be2;
	 * random would send it half). */
	if (!write_cfg(&n, 2, "    lb: least_request\n") || !reload(&n))
		goto out;
	for (int i = 0; i < LR_HELD; i++) {
		fds[nfd] = open_conn(who, sizeof(who));
		if (!ASSERT_TRUE(fds[nfd] >= 0 && who_index(who) >= 0, "a new connection"))
			goto out;
		per[who_index(who)]++;
		nfd++;
	}
	ASSERT_TRUE(per[1] >= 63, "the emptier backend takes most new connections (>= 63 of 100; "
				  "about 75 expected, 50 for random)");
	ASSERT_TRUE(active_is(be_ips[1], per[1]) && active_is(be_ips[0], LR_HELD + per[0]),
		    "active counts as held");
out:
	for (int i = 0; i < nfd; i++)
		close(fds[i]);
}
