// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * e2e: same-node socket redirect with weftd itself. Real programs (nginx and
 * wrk, iperf3, sockperf) between pods through a VIP must complete while the
 * redirect counters move; a reload switches redirect off (globally, then for
 * one endpoint) without breaking a live connection; a restart re-attaches
 * the sk_msg program to the reused sockhash; --cleanup detaches it all.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "harness.h"
#include "testenv.h"
#include "lib/maps.h"
#include "weft/abi.h"

#define VIP "10.250.100.1"
#define BE_IP "10.250.0.21"

struct rnode {
	char dir[128];
	char config[256];
	pid_t weftd;
};

/* Config: service "bench" on the VIP, ports 80 -> 8080 (nginx), 5201
 * (iperf3), 11111 (sockperf), 7 -> 8081 (echo); endpoint be1 with the
 * given redirect switch; datapath.redirect as given. */
static bool write_cfg(struct rnode *n, bool redirect, bool be_redirect)
{
	char text[4096];

	snprintf(text, sizeof(text),
		 "datapath:\n"
		 "  cgroup: %s\n"
		 "  bpffs: %s\n"
		 "  redirect: %s\n"
		 "endpoints:\n"
		 "  - {name: be1, ip: " BE_IP ", redirect: %s}\n"
		 "  - {name: cli, ip: 10.250.0.10}\n"
		 "services:\n"
		 "  - name: bench\n"
		 "    vip: " VIP "\n"
		 "    ports:\n"
		 "      - {name: http, port: 80, target_port: 8080}\n"
		 "      - {name: iperf, port: 5201}\n"
		 "      - {name: sockperf, port: 11111}\n"
		 "      - {name: echo, port: 7, target_port: 8081}\n"
		 "    backends:\n"
		 "      - {ip: " BE_IP "}\n",
		 tenv_cgroup(), tenv_bpffs(), redirect ? "true" : "false",
		 be_redirect ? "true" : "false");
	return ASSERT_OK(tenv_write_file(n->config, text), "write config");
}

static bool node_up(struct rnode *n, bool redirect)
{
	char bin[512];

	tenv_need_root();
	signal(SIGPIPE, SIG_IGN);
	snprintf(n->dir, sizeof(n->dir), "%s", tenv_dir());
	snprintf(n->config, sizeof(n->config), "%s/weft.yaml", n->dir);
	if (!ASSERT_OK(tenv_pod("cli", "10.250.0.10", NULL), "client pod") ||
	    !ASSERT_OK(tenv_pod("be1", BE_IP, NULL), "backend pod") ||
	    !ASSERT_TRUE(tenv_namesrv("be1", "be1", "::", 8081) > 0, "echo server") ||
	    !write_cfg(n, redirect, true))
		return false;
	snprintf(bin, sizeof(bin), "%s/weftd", weft_test_bindir());
	char *argv[] = { bin, "--config", n->config, "--log-level", "warn", NULL };
	n->weftd = tenv_spawn(NULL, false, false, argv);
	return ASSERT_TRUE(n->weftd > 0, "weftd spawned") &&
	       ASSERT_TRUE(tenv_wait_applied(n->weftd, 0), "weftd applied and attached");
}

/* Wait until something accepts on addr:port in the pod (bounded). */
static bool wait_listen(const char *pod, uint16_t port)
{
	for (int i = 0; i < 100; i++) {
		char ns[64];

		tenv_ns(pod, ns, sizeof(ns));
		if (tenv_capture((char[64]){ 0 }, 64, "ip netns exec %s ss -Hltn 'sport = :%u' | grep -q LISTEN",
				 ns, port) == 0)
			return true;
		usleep(50000);
	}
	return false;
}

static bool need(const char *bin)
{
	if (access(bin, X_OK) == 0)
		return true;
	SKIP("%s not installed (make deps)", bin);
}

/* nginx, iperf3 and sockperf servers in be1 (in the cgroup). */
static bool servers_up(struct rnode *n)
{
	char conf[256], root[256], text[4096];

	need("/usr/sbin/nginx");
	need("/usr/bin/iperf3");
	need("/usr/bin/sockperf");
	need("/usr/bin/wrk");
	snprintf(root, sizeof(root), "%s/www", n->dir);
	mkdir(root, 0755);
	snprintf(conf, sizeof(conf), "%s/www/index.html", n->dir);
	{
		static char page[16384];

		memset(page, 'w', sizeof(page) - 1);
		tenv_write_file(conf, page);
	}
	snprintf(conf, sizeof(conf), "%s/nginx.conf", n->dir);
	snprintf(text, sizeof(text),
		 "daemon off; master_process off; worker_processes 1;\n"
		 "error_log %s/nginx.err; pid %s/nginx.pid;\n"
		 "events { worker_connections 256; }\n"
		 "http { access_log off; client_body_temp_path %s; proxy_temp_path %s;\n"
		 "  fastcgi_temp_path %s; uwsgi_temp_path %s; scgi_temp_path %s;\n"
		 "  server { listen 8080; root %s; } }\n",
		 n->dir, n->dir, n->dir, n->dir, n->dir, n->dir, n->dir, root);
	tenv_write_file(conf, text);
	snprintf(text, sizeof(text), "exec /usr/sbin/nginx -c %s -p %s >/dev/null 2>&1", conf, n->dir);
	char *nginx[] = { "/bin/sh", "-c", text, NULL };
	char *iperf[] = { "/bin/sh", "-c", "exec /usr/bin/iperf3 -s -p 5201 >/dev/null 2>&1", NULL };
	char *sockperf[] = { "/bin/sh", "-c",
			     "exec /usr/bin/sockperf sr --tcp -i " BE_IP " -p 11111 >/dev/null 2>&1", NULL };

	return ASSERT_TRUE(tenv_spawn("be1", true, false, nginx) > 0, "nginx") &&
	       ASSERT_TRUE(tenv_spawn("be1", true, false, iperf) > 0, "iperf3 -s") &&
	       ASSERT_TRUE(tenv_spawn("be1", true, false, sockperf) > 0, "sockperf sr") &&
	       ASSERT_TRUE(wait_listen("be1", 8080), "nginx listening") &&
	       ASSERT_TRUE(wait_listen("be1", 5201), "iperf3 listening") &&
	       ASSERT_TRUE(wait_listen("be1", 11111), "sockperf listening");
}

/* Run a client command in this process's pod and cgroup; its output in out. */
static int run(char *out, size_t len, const char *cmd)
{
	int st = tenv_capture(out, len, "timeout 20 %s 2>&1", cmd);

	if (st)
		fprintf(stderr, "    $ %s -> %d\n%s\n", cmd, st, out);
	return st;
}

TEST_TIMEOUT(e2e, redir_real_programs_through_a_vip, 120)
{
	static char out[65536];
	struct rnode n;
	uint64_t m0, b0;

	if (!node_up(&n, true) || !servers_up(&n) ||
	    !ASSERT_OK(tenv_enter("cli", true), "enter client pod"))
		return;

	m0 = tenv_stat(WEFT_STAT_REDIR_MSGS);
	b0 = tenv_stat(WEFT_STAT_REDIR_BYTES);
	if (ASSERT_OK(run(out, sizeof(out), "wrk -t1 -c8 -d2s http://" VIP "/index.html"), "wrk")) {
		ASSERT_TRUE(strstr(out, "requests in") && !strstr(out, "Non-2xx") &&
			    !strstr(out, "Socket errors"), out);
	}
	ASSERT_GE(tenv_stat(WEFT_STAT_REDIR_MSGS) - m0, 1000, "wrk: messages redirected");
	ASSERT_GE(tenv_stat(WEFT_STAT_REDIR_BYTES) - b0, 1000 * 16384ull, "wrk: bytes redirected");

	b0 = tenv_stat(WEFT_STAT_REDIR_BYTES);
	if (ASSERT_OK(run(out, sizeof(out), "iperf3 -c " VIP " -p 5201 -t 2 -f m"), "iperf3"))
		ASSERT_TRUE(strstr(out, "receiver") != NULL, out);
	ASSERT_GE(tenv_stat(WEFT_STAT_REDIR_BYTES) - b0, 100ull << 20, "iperf3: bytes redirected");

	m0 = tenv_stat(WEFT_STAT_REDIR_MSGS);
	if (ASSERT_OK(run(out, sizeof(out), "sockperf pp --tcp -i " VIP " -p 11111 -t 2 -m 64"),
		      "sockperf"))
		ASSERT_TRUE(strstr(out, "avg-latency") || strstr(out, "avg-lat"), out);
	ASSERT_GE(tenv_stat(WEFT_STAT_REDIR_MSGS) - m0, 2000, "sockperf: messages redirected");
	ASSERT_OK(tenv_capture(out, sizeof(out), "%s/weft --bpffs %s stats", weft_test_bindir(),
			       tenv_bpffs()), "weft stats");
	ASSERT_TRUE(strstr(out, "redirect_msgs") && strstr(out, "redirect_fb_no_peer"), out);
}

/* A long-lived echo connection through the VIP; true if it echoes a
 * checksummed 64 KiB round trip. */
static int echo_open(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(7) };
	struct timeval tv = { .tv_sec = 3 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	char c;

	inet_pton(AF_INET, VIP, &sa.sin_addr);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	while (read(fd, &c, 1) == 1 && c != '\n')	/* the name line */
		;
	return fd;
}

static bool echo_ok(int fd, unsigned int seed)
{
	static unsigned char out[65536], in[65536];
	size_t got = 0;

	for (size_t i = 0; i < sizeof(out); i++)
		out[i] = (unsigned char)((i * 2654435761u + seed) >> 13);
	if (write(fd, out, sizeof(out)) != (ssize_t)sizeof(out))
		return false;
	while (got < sizeof(in)) {
		ssize_t r = read(fd, in + got, sizeof(in) - got);

		if (r <= 0)
			return false;
		got += r;
	}
	return memcmp(in, out, sizeof(in)) == 0;
}

TEST_TIMEOUT(e2e, redir_reload_switches_off_without_breaking_connections, 90)
{
	struct rnode n;
	uint64_t m, off;
	int fd, fd2;

	if (!node_up(&n, true) || !ASSERT_OK(tenv_enter("cli", true), "enter client pod"))
		return;
	fd = echo_open();
	if (!ASSERT_TRUE(fd >= 0, "echo connection"))
		return;
	m = tenv_stat(WEFT_STAT_REDIR_MSGS);
	ASSERT_TRUE(echo_ok(fd, 1), "echo, redirected");
	ASSERT_GE(tenv_stat(WEFT_STAT_REDIR_MSGS) - m, 2, "redirected both ways");

	/* Global off on reload: the live connection keeps working, on the stack. */
	if (!write_cfg(&n, false, true))
		return;
	kill(n.weftd, SIGHUP);
	ASSERT_TRUE(tenv_wait_applied(0, 2), "reload applied");
	m = tenv_stat(WEFT_STAT_REDIR_MSGS);
	off = tenv_stat(WEFT_STAT_REDIR_OFF);
	for (unsigned int i = 0; i < 10; i++)
		ASSERT_TRUE(echo_ok(fd, 10 + i), "echo across the switch");
	fd2 = echo_open();
	ASSERT_TRUE(fd2 >= 0 && echo_ok(fd2, 2), "a new connection while off");
	ASSERT_EQ(tenv_stat(WEFT_STAT_REDIR_MSGS) - m, 0, "nothing redirected while off");
	ASSERT_GE(tenv_stat(WEFT_STAT_REDIR_OFF) - off, 10, "the live connection took the stack");
	close(fd2);

	/* On again, but be1 off: new connections to be1 are not redirected. */
	if (!write_cfg(&n, true, false))
		return;
	kill(n.weftd, SIGHUP);
	ASSERT_TRUE(tenv_wait_applied(0, 3), "reload applied");
	m = tenv_stat(WEFT_STAT_REDIR_MSGS);
	fd2 = echo_open();
	ASSERT_TRUE(fd2 >= 0 && echo_ok(fd2, 3) && echo_ok(fd, 4), "endpoint off: echo works");
	ASSERT_EQ(tenv_stat(WEFT_STAT_REDIR_MSGS) - m, 0, "nothing redirected to be1");
	close(fd2);

	/* be1 on again: a new connection is redirected. */
	if (!write_cfg(&n, true, true))
		return;
	kill(n.weftd, SIGHUP);
	ASSERT_TRUE(tenv_wait_applied(0, 4), "reload applied");
	m = tenv_stat(WEFT_STAT_REDIR_MSGS);
	fd2 = echo_open();
	ASSERT_TRUE(fd2 >= 0 && echo_ok(fd2, 5), "echo");
	ASSERT_GE(tenv_stat(WEFT_STAT_REDIR_MSGS) - m, 2, "redirected again");
	ASSERT_TRUE(echo_ok(fd, 6), "the first connection is still fine");
	close(fd2);
	close(fd);
}

static int msg_progs_on_sockhash(void)
{
	__u32 ids[8], cnt = 8;
	char path[512];
	int fd, ret;

	snprintf(path, sizeof(path), "%s/%s", tenv_bpffs(), weft_map_name(WEFT_M_SOCK));
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -1;
	ret = bpf_prog_query(fd, BPF_SK_MSG_VERDICT, 0, NULL, ids, &cnt);
	close(fd);
	return ret ? -1 : (int)cnt;
}

static int sockops_attached(void)
{
	__u32 ids[8], cnt = 8;
	int fd = open(tenv_cgroup(), O_RDONLY | O_DIRECTORY);
	int ret = bpf_prog_query(fd, BPF_CGROUP_SOCK_OPS, 0, NULL, ids, &cnt);

	close(fd);
	return ret ? -1 : (int)cnt;
}

TEST_TIMEOUT(e2e, redir_survives_kill9_restart_and_cleanup_detaches, 90)
{
	struct rnode n;
	char bin[512], out[1024];
	uint64_t m;
	int fd, fd2;

	if (!node_up(&n, true) || !ASSERT_OK(tenv_enter("cli", true), "enter client pod"))
		return;
	ASSERT_EQ(msg_progs_on_sockhash(), 1, "sk_msg attached to the sockhash");
	ASSERT_EQ(sockops_attached(), 1, "sockops attached to the cgroup");
	fd = echo_open();
	if (!ASSERT_TRUE(fd >= 0 && echo_ok(fd, 1), "echo"))
		return;
	kill(n.weftd, SIGKILL);
	waitpid(n.weftd, NULL, 0);
	m = tenv_stat(WEFT_STAT_REDIR_MSGS);
	ASSERT_TRUE(echo_ok(fd, 2), "redirected connection with weftd dead");
	ASSERT_GE(tenv_stat(WEFT_STAT_REDIR_MSGS) - m, 2, "still redirected");

	snprintf(bin, sizeof(bin), "%s/weftd", weft_test_bindir());
	char *argv[] = { bin, "--config", n.config, "--log-level", "warn", NULL };
	n.weftd = tenv_spawn(NULL, false, false, argv);
	ASSERT_TRUE(n.weftd > 0 && tenv_wait_applied(n.weftd, 0), "restarted weftd applied and attached");
	ASSERT_EQ(msg_progs_on_sockhash(), 1, "one sk_msg program after restart, not two");
	ASSERT_EQ(sockops_attached(), 1, "one sockops program after restart");
	m = tenv_stat(WEFT_STAT_REDIR_MSGS);
	fd2 = echo_open();
	ASSERT_TRUE(fd2 >= 0 && echo_ok(fd2, 3) && echo_ok(fd, 4), "old and new connections");
	ASSERT_GE(tenv_stat(WEFT_STAT_REDIR_MSGS) - m, 4, "both redirected");

	kill(n.weftd, SIGTERM);
	waitpid(n.weftd, NULL, 0);
	ASSERT_EQ(tenv_capture(out, sizeof(out), "%s/weftd --cleanup --config %s 2>&1",
			       weft_test_bindir(), n.config), 0, "weftd --cleanup");
	ASSERT_EQ(sockops_attached(), 0, "sockops detached");
	ASSERT_EQ(access(tenv_bpffs(), F_OK), -1, "pins removed");
	ASSERT_TRUE(echo_ok(fd2, 5), "a redirected connection survives --cleanup (idle)");
	close(fd2);
	close(fd);
}

/* A counter of a weft_stats map held by fd (one the test kept open). */
static uint64_t stat_of(int fd, enum weft_stat stat)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t vals[512] = { 0 }, sum = 0;
	__u32 key = stat;

	if (ncpu <= 0 || ncpu > 512 || bpf_map_lookup_elem(fd, &key, vals))
		return 0;
	for (int i = 0; i < ncpu; i++)
		sum += vals[i];
	return sum;
}

/* The id of the map pinned at path, or of fd. */
static __u32 map_id(const char *path, int fd)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);
	int f = path ? bpf_obj_get(path) : fd;

	if (f < 0 || bpf_obj_get_info_by_fd(f, &info, &len))
		info.id = 0;
	if (path && f >= 0)
		close(f);
	return info.id;
}

/* Issue 12: a restart that rebuilds the maps (max_services changed) gives
 * the new programs a new sockhash; a connection redirected before stays in
 * the old one with the old sk_msg and a frozen policy epoch. weftd switches
 * redirect off in the old settings, so that connection continues on the
 * stack (where tc sees it and judges revocations). */
TEST_TIMEOUT(e2e, redir_restart_with_rebuilt_maps_moves_old_sockets_to_the_stack, 90)
{
	struct rnode n;
	uint64_t m, off;
	char path[512];
	int fd, fd2, old_stats;

	if (!node_up(&n, true) || !ASSERT_OK(tenv_enter("cli", true), "enter client pod"))
		return;
	fd = echo_open();
	if (!ASSERT_TRUE(fd >= 0, "echo connection"))
		return;
	m = tenv_stat(WEFT_STAT_REDIR_MSGS);
	ASSERT_TRUE(echo_ok(fd, 1), "echo, redirected");
	ASSERT_GE(tenv_stat(WEFT_STAT_REDIR_MSGS) - m, 2, "redirected both ways");
	/* The old set's counters, which the old sk_msg keeps counting into. */
	snprintf(path, sizeof(path), "%s/%s", tenv_bpffs(), weft_map_name(WEFT_M_STATS));
	old_stats = bpf_obj_get(path);
	if (!ASSERT_TRUE(old_stats >= 0, "old weft_stats"))
		return;
	kill(n.weftd, SIGKILL);
	waitpid(n.weftd, NULL, 0);
	if (!ASSERT_OK(tenv_sh("sed -i 's/^  redirect: true$/&\\n  max_services: 128/' %s", n.config),
		       "max_services changed"))
		return;
	char bin[512];
	snprintf(bin, sizeof(bin), "%s/weftd", weft_test_bindir());
	char *argv[] = { bin, "--config", n.config, "--log-level", "warn", NULL };
	/* Spawned from the node's netns: this process is in the pod's now. */
	n.weftd = tenv_spawn("node", false, false, argv);
	if (!ASSERT_TRUE(n.weftd > 0, "weftd restarted") ||
	    !ASSERT_TRUE(tenv_wait_applied(n.weftd, 1), "restarted weftd applied"))
		return;
	ASSERT_TRUE(map_id(path, -1) != map_id(NULL, old_stats), "a new weft_stats is pinned");
	off = stat_of(old_stats, WEFT_STAT_REDIR_OFF);
	m = stat_of(old_stats, WEFT_STAT_REDIR_MSGS);
	for (unsigned int i = 0; i < 5; i++)
		ASSERT_TRUE(echo_ok(fd, 10 + i), "the old connection works after the restart");
	ASSERT_GE(stat_of(old_stats, WEFT_STAT_REDIR_OFF) - off, 5, "it took the stack");
	ASSERT_EQ(stat_of(old_stats, WEFT_STAT_REDIR_MSGS) - m, 0, "nothing redirected by the old sk_msg");
	m = tenv_stat(WEFT_STAT_REDIR_MSGS);
	fd2 = echo_open();
	ASSERT_TRUE(fd2 >= 0 && echo_ok(fd2, 2), "a new connection");
	ASSERT_GE(tenv_stat(WEFT_STAT_REDIR_MSGS) - m, 2, "new connections are redirected by the new set");
	close(fd2);
	close(fd);
	close(old_stats);
}
