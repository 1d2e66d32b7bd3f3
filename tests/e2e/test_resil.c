// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * e2e: resilience in the datapath (issue 16): fault injection, connection
 * caps, least-request. weftd against pods in network namespaces; the client
 * connects through the VIP from its pod and the assertions are on what
 * connect() returned and which backend answered.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <bpf/bpf.h>

#include "harness.h"
#include "testenv.h"
#include "lib/maps.h"
#include "weft/abi.h"

#define VIP "10.250.110.1"
/* The service port's labels in /metrics. */
#define WEB "destination_service_name=\"web\",destination_service_namespace=\"default\"," \
	    "protocol=\"tcp\",port_name=\"http\""

static const char *const be_ips[] = { "10.250.0.31", "10.250.0.32", "10.250.0.33" };
static const char *const be_pods[] = { "be1", "be2", "be3" };

struct rnode {
	char dir[128];
	char config[256];
	int port;		/* metrics listener on 127.0.0.1 */
	int host_ns;		/* the netns weftd runs in */
	pid_t weftd;
	pid_t srv[3];		/* the backends' namesrv */
	const char *dp_extra;	/* more datapath: keys, or NULL */
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
		 "datapath:\n  cgroup: %s\n  bpffs: %s\n%s"
		 "services:\n"
		 "  - name: web\n"
		 "    vip: " VIP "\n"
		 "    ports: [{name: http, port: 80, target_port: 8080}]\n"
		 "%s"
		 "    backends:\n%s",
		 n->port, tenv_cgroup(), tenv_bpffs(), n->dp_extra ? n->dp_extra : "", res, backends);
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
	memset(n, 0, sizeof(*n));
	snprintf(n->dir, sizeof(n->dir), "%s", tenv_dir());
	snprintf(n->config, sizeof(n->config), "%s/weft.yaml", n->dir);
	n->port = free_port();
	if (!ASSERT_OK(tenv_pod("cli", "10.250.0.10", NULL), "client pod"))
		return false;
	for (int i = 0; i < nbe; i++)
		if (!ASSERT_OK(tenv_pod(be_pods[i], be_ips[i], NULL), "backend pod") ||
		    !ASSERT_TRUE((n->srv[i] = tenv_namesrv(be_pods[i], be_pods[i], be_ips[i], 8080)) > 0,
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

/* promtool lints a scrape (when it is installed). */
static void lint(const struct rnode *n, const char *body)
{
	char path[300], out[4096];

	snprintf(path, sizeof(path), "%s/scrape.txt", n->dir);
	if (tenv_write_file(path, body) || system("command -v promtool >/dev/null 2>&1") != 0)
		return;
	ASSERT_EQ(tenv_capture(out, sizeof(out), "promtool check metrics < %s 2>&1", path), 0, out);
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
	if (ASSERT_OK(tenv_capture(body, sizeof(body), "%s/weft --bpffs %s services",
				   weft_test_bindir(), tenv_bpffs()), "weft services"))
		ASSERT_TRUE(strstr(body, "10.250.0.31:8080 (1) active 2/2") &&
			    strstr(body, "10.250.0.32:8080 (1) active 2/2"), body);
	if (ASSERT_OK(tenv_capture(body, sizeof(body), "%s/weft --bpffs %s services --json",
				   weft_test_bindir(), tenv_bpffs()), "weft services --json") &&
	    ASSERT_TRUE(tenv_json_plain(body, sizeof(body)), body)) {
		ASSERT_TRUE(strstr(body, "\"resilience\":{\"abort_percent\":0.0,\"max_connections\":2,"
					 "\"outlier_detection\":null}"), body);
		ASSERT_TRUE(strstr(body, "\"port\":8080,\"weight\":1,\"active\":2,\"max_connections\":2,"
					 "\"consecutive_errors\":0,\"ejections\":0,\"ejected\":false,"
					 "\"ejected_until\":null}"), body);
	}
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
	lint(&n, body);
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
#define LR_NEW 200

TEST_TIMEOUT(e2e, resil_least_request_sends_new_connections_to_the_emptier_backend, 180)
{
	static int fds[LR_HELD + LR_NEW];
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
	/* be2 joins empty: power of two choices sends it a new connection
	 * unless both picks are be1 (3 in 4) while it has fewer, which lasts
	 * about 200 connections (be1 gains 1/4 a connection, be2 3/4): about
	 * 150 of 200 (sd 6) where random would send it 100 (sd 7). */
	if (!write_cfg(&n, 2, "    lb: least_request\n") || !reload(&n))
		goto out;
	for (int i = 0; i < LR_NEW; i++) {
		fds[nfd] = open_conn(who, sizeof(who));
		if (!ASSERT_TRUE(fds[nfd] >= 0 && who_index(who) >= 0, "a new connection"))
			goto out;
		per[who_index(who)]++;
		nfd++;
	}
	ASSERT_GE(per[1], 130, "the emptier backend takes most new connections (>= 130 of 200)");
	ASSERT_TRUE(active_is(be_ips[1], per[1]) && active_is(be_ips[0], LR_HELD + per[0]),
		    "active counts as held");
out:
	for (int i = 0; i < nfd; i++)
		close(fds[i]);
}

/* --- outlier detection ----------------------------------------------------- */

/* One connection through the VIP with a client connect timeout of
 * timeout_ms and no retry: 0 and the backend's name in who, or -errno
 * (-ETIMEDOUT when the SYN went unanswered). */
static int try_conn(int timeout_ms, char *who, size_t len)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(80) };
	struct pollfd p = { .events = POLLOUT };
	struct timeval tv = { .tv_sec = 2 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), err = 0;
	socklen_t el = sizeof(err);
	size_t got = 0;

	if (fd < 0)
		return -errno;
	inet_pton(AF_INET, VIP, &sa.sin_addr);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
		err = -errno;
		goto out;
	}
	p.fd = fd;
	if (poll(&p, 1, timeout_ms) != 1) {
		err = -ETIMEDOUT;
		goto out;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) || err) {
		err = -err;
		goto out;
	}
	fcntl(fd, F_SETFL, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (got + 1 < len && read(fd, who + got, 1) == 1 && who[got] != '\n')
		got++;
	who[got] = 0;
	err = got ? 0 : -EIO;
out:
	close(fd);
	return err;
}

struct drive {
	int ok, refused, timedout, other;
	int per[3];
};

static void drive(int count, int timeout_ms, struct drive *d)
{
	char who[64];

	memset(d, 0, sizeof(*d));
	for (int i = 0; i < count; i++) {
		int r = try_conn(timeout_ms, who, sizeof(who));

		if (!r && who_index(who) >= 0) {
			d->ok++;
			d->per[who_index(who)]++;
		} else if (r == -ECONNREFUSED) {
			d->refused++;
		} else if (r == -ETIMEDOUT) {
			d->timedout++;
		} else {
			d->other++;
		}
	}
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);	/* bpf_ktime_get_ns()'s clock */
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* Backends (by weft_be_state) ejected now. */
static int ejected(bool which[3])
{
	struct weft_be_key k, *prev = NULL;
	struct weft_be_state st;
	uint64_t now = mono_ns();
	char path[512];
	int fd, n = 0;

	memset(which, 0, 3 * sizeof(*which));
	snprintf(path, sizeof(path), "%s/%s", tenv_bpffs(), weft_map_name(WEFT_M_BE_STATE));
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -1;
	while (!bpf_map_get_next_key(fd, prev, &k)) {
		prev = &k;
		if (bpf_map_lookup_elem(fd, &k, &st) || st.ejected_until_ns <= now)
			continue;
		n++;
		for (int i = 0; i < 3; i++) {
			__be32 a4;

			inet_pton(AF_INET, be_ips[i], &a4);
			which[i] |= st.addr[3] == a4;
		}
	}
	close(fd);
	return n;
}

static void stop_backend(struct rnode *n, int i)
{
	kill(n->srv[i], SIGKILL);
	waitpid(n->srv[i], NULL, 0);
	n->srv[i] = -1;
}

/* weftd anew from weftd's netns (the test is in the client pod). */
static bool weftd_restart(struct rnode *n)
{
	int pod = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	char bin[512];
	bool ok;

	snprintf(bin, sizeof(bin), "%s/weftd", weft_test_bindir());
	char *argv[] = { bin, "--config", n->config, "--log-level", "warn", NULL };
	if (!ASSERT_TRUE(pod >= 0 && !setns(n->host_ns, CLONE_NEWNET), "into weftd's netns"))
		return false;
	n->weftd = tenv_spawn(NULL, false, false, argv);
	ok = ASSERT_OK(setns(pod, CLONE_NEWNET) ? -errno : 0, "back into the client pod");
	close(pod);
	return ok && ASSERT_TRUE(n->weftd > 0, "weftd spawned") &&
	       ASSERT_TRUE(tenv_wait_applied(n->weftd, 1), "the new weftd applied its config");
}

#define OUTLIER(errors, eject, pct)                                                              \
	"    outlier_detection: {consecutive_errors: " #errors ", base_ejection_time: " #eject       \
	", max_ejection_percent: " #pct "}\n"

TEST_TIMEOUT(e2e, resil_outlier_a_refusing_backend_is_ejected_and_stays_so_over_kill9, 180)
{
	static char body[1 << 18];
	char out[16384];
	struct rnode n;
	struct drive d;
	uint64_t ej0;
	bool which[3];
	int st;

	if (!rnode_up(&n, 2, OUTLIER(2, 60, 50)))
		return;
	ej0 = tenv_stat(WEFT_STAT_OUTLIER_EJECT);
	stop_backend(&n, 1);
	drive(300, 1000, &d);
	ASSERT_TRUE(d.ok >= 297, "with no client retries, >= 99% of 300 connections succeed");
	ASSERT_TRUE(d.refused >= 1 && d.refused <= 3 && d.other == 0 && d.timedout == 0,
		    "the refusals that ejected be2, and no more");
	ASSERT_EQ(d.per[1], 0, "be2 answered none");
	ASSERT_EQ((long long)(tenv_stat(WEFT_STAT_OUTLIER_EJECT) - ej0), 1, "one ejection counted");
	ASSERT_TRUE(ejected(which) == 1 && which[1], "weft_be_state: be2 ejected");
	if (ASSERT_OK(tenv_capture(out, sizeof(out), "%s/weft --bpffs %s services",
				   weft_test_bindir(), tenv_bpffs()), "weft services"))
		ASSERT_TRUE(strstr(out, "10.250.0.31:8080 (1) active 0, "
					"10.250.0.32:8080 (1) active 0 ejected 60s\n"), out);
	if (ASSERT_OK(tenv_capture(out, sizeof(out), "%s/weft --bpffs %s services --json",
				   weft_test_bindir(), tenv_bpffs()), "weft services --json") &&
	    ASSERT_TRUE(tenv_json_plain(out, sizeof(out)), out)) {
		ASSERT_TRUE(strstr(out, "\"outlier_detection\":{\"consecutive_errors\":2,\"interval_s\":10,"
					"\"base_ejection_time_s\":60,\"max_ejection_percent\":50}"), out);
		ASSERT_TRUE(strstr(out, "\"ejections\":1,\"ejected\":true,\"ejected_until\":\"20"), out);
	}
	if (scrape(&n, body, sizeof(body))) {
		ASSERT_EQ(tenv_sample(body, "weft_outlier_ejected_backends{" WEB "}"), 1,
			  "/metrics: one backend ejected now");
		ASSERT_EQ(tenv_sample(body, "weft_outlier_ejections_total{" WEB ",destination_workload=\"unknown\","
					    "destination_workload_namespace=\"unknown\"}"),
			  1, "/metrics: one ejection");
		lint(&n, body);
	}

	/* weftd killed: the ejection is in the kernel's maps, in force. */
	kill(n.weftd, SIGKILL);
	waitpid(n.weftd, &st, 0);
	drive(100, 1000, &d);
	ASSERT_EQ(d.ok, 100, "weftd down: every connection succeeds");
	/* a new weftd adopts the state: still ejected */
	if (!weftd_restart(&n))
		return;
	drive(100, 1000, &d);
	ASSERT_EQ(d.ok, 100, "weftd restarted: every connection succeeds");
	ASSERT_TRUE(ejected(which) == 1 && which[1], "be2 still ejected after the restart");

	/* Resized maps: the set is made anew and the state copied over. */
	kill(n.weftd, SIGKILL);
	waitpid(n.weftd, &st, 0);
	n.dp_extra = "  max_backends: 1000\n";
	if (!write_cfg(&n, 2, OUTLIER(2, 60, 50)) || !weftd_restart(&n))
		return;
	{
		struct bpf_map_info info = { 0 };
		__u32 il = sizeof(info);
		char path[512];
		int fd;

		snprintf(path, sizeof(path), "%s/%s", tenv_bpffs(), weft_map_name(WEFT_M_BE_STATE));
		fd = bpf_obj_get(path);
		ASSERT_TRUE(fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &il) &&
				    info.max_entries == 1000,
			    "weft_be_state was made anew with 1000 entries");
		if (fd >= 0)
			close(fd);
	}
	ASSERT_TRUE(ejected(which) == 1 && which[1], "be2 still ejected in the rebuilt maps");
	drive(100, 1000, &d);
	ASSERT_EQ(d.ok, 100, "rebuilt maps: every connection succeeds");
	ASSERT_EQ(be_active(be_ips[0]), 0, "no connection left counted");
}

TEST_TIMEOUT(e2e, resil_outlier_a_restarted_backend_gets_traffic_after_its_ejection, 120)
{
	char evfile[300], out[8192];
	struct weft_obs_cfg oc = { 0 };
	struct rnode n;
	struct drive d;
	bool which[3];
	long long t0;

	if (!rnode_up(&n, 2, OUTLIER(2, 2, 50)))
		return;
	/* weft observe sees the ejection and the reinstatement */
	snprintf(evfile, sizeof(evfile), "%s/events.json", n.dir);
	if (!ASSERT_OK(tenv_sh("%s/weft --bpffs %s observe --json --type eject,reinstate --count 2 "
			       "--timeout 20 > %s 2>&1 &", weft_test_bindir(), tenv_bpffs(), evfile),
		       "weft observe started"))
		return;
	for (int i = 0; i < 500 && (tenv_map_value(weft_map_name(WEFT_M_OBS_CFG), &oc) || !oc.observers); i++)
		usleep(10000);
	ASSERT_TRUE(oc.observers > 0, "weft observe is watching");
	stop_backend(&n, 1);
	drive(50, 1000, &d);
	t0 = tenv_now_ms();
	ASSERT_TRUE(d.refused >= 1 && d.refused <= 2 && ejected(which) == 1 && which[1],
		    "be2 ejected after 2 refusals");
	if (!ASSERT_TRUE((n.srv[1] = tenv_namesrv("be2", "be2", be_ips[1], 8080)) > 0,
			 "be2 restarted"))
		return;
	drive(50, 1000, &d);
	if (tenv_now_ms() - t0 < 1800)
		ASSERT_EQ(d.per[1], 0, "still ejected: no traffic while the ejection lasts");
	while (tenv_now_ms() - t0 < 2200)
		usleep(20000);
	ASSERT_EQ(ejected(which), 0, "the ejection ended by itself (2 s)");
	drive(60, 1000, &d);
	ASSERT_EQ(d.ok, 60, "every connection succeeds");
	ASSERT_TRUE(d.per[1] > 0, "be2 gets traffic again");
	for (int i = 0; i < 300 && (tenv_capture(out, sizeof(out), "cat %s", evfile) ||
				    !strstr(out, "\"reinstate\"")); i++)
		usleep(10000);
	ASSERT_TRUE(strstr(out, "\"type\": \"eject\"") && strstr(out, "\"type\": \"reinstate\"") &&
		    strstr(out, "10.250.0.32"), out);
}

TEST_TIMEOUT(e2e, resil_outlier_a_backend_dropping_syns_is_ejected, 120)
{
	struct rnode n;
	struct drive d;
	char ns[64];
	bool which[3];
	int tries = 0, timeouts = 0;

	if (!rnode_up(&n, 2, OUTLIER(2, 60, 50)))
		return;
	/* be2's own namespace has no way back to the client: its SYN-ACKs
	 * go to a blackhole route, so the client's SYNs go unanswered. */
	if (!ASSERT_OK(tenv_sh("ip -n %s route add blackhole 10.250.0.10/32",
			       tenv_ns("be2", ns, sizeof(ns))),
		       "blackhole be2's answers"))
		return;
	/* Clients give up after 1 s; two timeouts eject be2. */
	for (tries = 0; tries < 40 && ejected(which) < 1; tries++) {
		drive(1, 1000, &d);
		timeouts += d.timedout;
	}
	ASSERT_TRUE(ejected(which) == 1 && which[1], "be2 ejected after its SYNs timed out");
	ASSERT_EQ(timeouts, 2, "after two timeouts (consecutive_errors 2)");
	drive(100, 1000, &d);
	ASSERT_EQ(d.ok, 100, "then every connection succeeds, at be1");
	ASSERT_EQ(d.timedout, 0, "no timeouts");
}

TEST_TIMEOUT(e2e, resil_outlier_max_ejection_percent_holds_with_two_of_three_down, 120)
{
	struct rnode n;
	struct drive d;
	uint64_t ej0;
	bool which[3];

	/* 33%: one of three (0 * 100 < 99, then 100 >= 99). */
	if (!rnode_up(&n, 3, OUTLIER(2, 60, 33)))
		return;
	ej0 = tenv_stat(WEFT_STAT_OUTLIER_EJECT);
	stop_backend(&n, 1);
	stop_backend(&n, 2);
	drive(150, 1000, &d);
	ASSERT_EQ(ejected(which), 1, "exactly one backend ejected");
	ASSERT_TRUE(!which[0] && (which[1] || which[2]), "one of the two that are down");
	ASSERT_EQ((long long)(tenv_stat(WEFT_STAT_OUTLIER_EJECT) - ej0), 1, "one ejection counted");
	ASSERT_TRUE(d.refused > 10, "the other one keeps its share: its connections fail");
	ASSERT_TRUE(d.per[0] > 50, "be1 serves the rest");
}
