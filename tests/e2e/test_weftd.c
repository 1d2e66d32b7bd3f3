// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * e2e: weftd itself against pods in network namespaces. Each test builds a
 * node (client pod, backend pods running namesrv), writes a config, runs
 * build/weftd, and asserts on behaviour: which backend answered, what
 * getpeername() said, whether a connection survived.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>

#include "harness.h"
#include "testenv.h"
#include "lib/maps.h"
#include "weft/abi.h"

#define VIP "10.250.100.1"

struct node {
	char dir[128];		/* scratch dir for config files */
	char config[256];
	pid_t weftd;
};

static const char *const be_ips[] = { "10.250.0.21", "10.250.0.22", "10.250.0.23", "10.250.0.24" };
static const char *const be_pods[] = { "be1", "be2", "be3", "be4" };

/* A node: client pod "cli", nbe backend pods serving TCP+UDP on 8080. */
static bool node_up(struct node *n, int nbe)
{
	tenv_need_root();
	snprintf(n->dir, sizeof(n->dir), "%s", tenv_dir());
	snprintf(n->config, sizeof(n->config), "%s/weft.yaml", n->dir);
	if (!ASSERT_OK(tenv_pod("cli", "10.250.0.10", NULL), "client pod"))
		return false;
	for (int i = 0; i < nbe; i++) {
		if (!ASSERT_OK(tenv_pod(be_pods[i], be_ips[i], NULL), "backend pod") ||
		    !ASSERT_TRUE(tenv_namesrv(be_pods[i], be_pods[i], be_ips[i], 8080) > 0,
				 "namesrv started"))
			return false;
	}
	return true;
}

/* The config: one service "web" (tcp 80 -> 8080, udp 53 -> 8080) with the
 * given backends line(s), plus "empty" with no backends. */
static void config_text(char *text, size_t len, const char *lb, const char *backends,
			const char *extra, const char *more_services)
{
	snprintf(text, len,
		 "metrics:\n"
		 "  listen: \"\"\n"
		 "datapath:\n"
		 "  cgroup: %s\n"
		 "  bpffs: %s\n"
		 "%s"
		 "services:\n"
		 "  - name: web\n"
		 "    namespace: default\n"
		 "    vip: " VIP "\n"
		 "    lb: %s\n"
		 "    ports:\n"
		 "      - {name: http, port: 80, target_port: 8080, protocol: tcp}\n"
		 "      - {name: dns, port: 53, target_port: 8080, protocol: udp}\n"
		 "    backends:\n%s"
		 "  - name: empty\n"
		 "    vip: 10.250.100.2\n"
		 "    ports: [{port: 80}]\n"
		 "%s",
		 tenv_cgroup(), tenv_bpffs(), extra ? extra : "", lb, backends,
		 more_services ? more_services : "");
}

/* Write that config. */
static bool write_config2(struct node *n, const char *lb, const char *backends, const char *extra,
			  const char *more_services)
{
	char text[8192];

	config_text(text, sizeof(text), lb, backends, extra, more_services);
	/* Replaced whole, as a ConfigMap or an editor does: weftd watches the
	 * file and must never see it half-written by the test. */
	char tmp[600];

	snprintf(tmp, sizeof(tmp), "%s.new", n->config);
	return ASSERT_OK(tenv_write_file(tmp, text), "write config") &&
	       ASSERT_OK(rename(tmp, n->config) ? -errno : 0, "replace config");
}

static bool write_config(struct node *n, const char *lb, const char *backends, const char *extra)
{
	return write_config2(n, lb, backends, extra, NULL);
}

static uint64_t generation(void)
{
	struct weft_info info;

	tenv_info(&info);
	return info.generation;
}

static pid_t weftd_start(struct node *n)
{
	char bin[512];

	snprintf(bin, sizeof(bin), "%s/weftd", weft_test_bindir());
	char *argv[] = { bin, "--config", n->config, "--log-level", "warn", NULL };
	n->weftd = tenv_spawn(NULL, false, false, argv);
	if (!ASSERT_TRUE(n->weftd > 0, "weftd spawned") ||
	    !ASSERT_TRUE(tenv_wait_applied(n->weftd, 1), "weftd applied its config"))
		return -1;
	return n->weftd;
}

/* Send sig to weftd and wait for it to exit; returns its exit status. */
static int weftd_stop(struct node *n, int sig)
{
	int st = 0;

	kill(n->weftd, sig);
	waitpid(n->weftd, &st, 0);
	n->weftd = -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static bool reload(struct node *n)
{
	uint64_t gen = generation();

	kill(n->weftd, SIGHUP);
	return ASSERT_TRUE(tenv_wait_applied(n->weftd, gen + 1), "reload applied within 10 s");
}

/* How many of count connections each backend answered (by pod index). */
static int spread(int count, int hits[4], const char *bind_addr)
{
	return tenv_spread(VIP, 80, bind_addr, count, be_pods, 4, hits);
}

/* A long-lived echo connection through the VIP. */
static int open_conn(char *backend, size_t len)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(80) };
	struct timeval tv = { .tv_sec = 2 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	size_t got = 0;

	inet_pton(AF_INET, VIP, &sa.sin_addr);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	while (got + 1 < len && read(fd, backend + got, 1) == 1 && backend[got] != '\n')
		got++;
	backend[got] = 0;
	return fd;
}

static bool conn_alive(int fd)
{
	char buf[8];

	return write(fd, "ping", 4) == 4 && read(fd, buf, sizeof(buf)) == 4 && !memcmp(buf, "ping", 4);
}

static int progs_attached(enum bpf_attach_type type)
{
	__u32 ids[8], n = 8;
	int fd = open(tenv_cgroup(), O_RDONLY | O_DIRECTORY);
	int ret;

	ret = bpf_prog_query(fd, type, 0, NULL, ids, &n);
	close(fd);
	return ret ? -1 : (int)n;
}

#define TWO_BACKENDS "      - {ip: 10.250.0.21}\n      - {ip: 10.250.0.22}\n"
#define THREE_BACKENDS TWO_BACKENDS "      - {ip: 10.250.0.23}\n"

TEST(e2e, weftd_serves_a_vip_and_the_cli_shows_it)
{
	struct node n;
	char out[8192], name[64], peer[64];
	int hits[4];

	if (!node_up(&n, 2) || !write_config(&n, "random", TWO_BACKENDS, NULL) ||
	    weftd_start(&n) < 0 || !ASSERT_OK(tenv_enter("cli", true), "enter client pod"))
		return;
	ASSERT_EQ(spread(200, hits, NULL), 0, "no failed connections");
	ASSERT_TRUE(hits[0] > 0 && hits[1] > 0 && hits[0] + hits[1] == 200, "both backends answer");
	ASSERT_OK(tenv_tcp_ask(VIP, 80, NULL, false, name, sizeof(name), peer, sizeof(peer)), "tcp");
	ASSERT_STR(peer, VIP ":80", "getpeername shows the VIP");
	ASSERT_OK(tenv_udp_ask(VIP, 53, false, false, name, sizeof(name), peer, sizeof(peer)), "udp");
	ASSERT_STR(peer, VIP ":53", "UDP replies come from the VIP");
	ASSERT_EQ(tenv_tcp_ask("10.250.100.2", 80, NULL, false, name, sizeof(name), NULL, 0),
		  -ECONNREFUSED, "a service without backends refuses");

	ASSERT_OK(tenv_capture(out, sizeof(out), "%s/weft --bpffs %s services --json",
			       weft_test_bindir(), tenv_bpffs()), "weft services --json");
	ASSERT_TRUE(tenv_json_plain(out, sizeof(out)), out);
	ASSERT_TRUE(strstr(out, "\"name\":\"web\",\"namespace\":\"default\"") != NULL, out);
	ASSERT_TRUE(strstr(out, "\"vip\":\"10.250.100.1\",\"port\":80,\"protocol\":\"tcp\""), out);
	ASSERT_TRUE(strstr(out, "\"vip\":\"10.250.100.1\",\"port\":53,\"protocol\":\"udp\""), out);
	ASSERT_TRUE(strstr(out, "\"address\":\"10.250.0.22\",\"ip\":\"10.250.0.22\",\"port\":8080,"
			   "\"weight\":1}"), out);
	ASSERT_TRUE(strstr(out, "\"name\":\"empty\"") && strstr(out, "\"backends\":[]"), out);
	ASSERT_OK(tenv_capture(out, sizeof(out), "%s/weft --bpffs %s services", weft_test_bindir(),
			       tenv_bpffs()), "weft services");
	ASSERT_TRUE(strstr(out, "10.250.100.1:80") && strstr(out, "10.250.0.21:8080 (1)"), out);
	ASSERT_EQ(tenv_capture(out, sizeof(out), "%s/weft --bpffs /nonexistent services 2>&1",
			       weft_test_bindir()), 4, "weft without pinned maps fails (WEFT_EXIT_NO_PINS)");
	ASSERT_TRUE(strstr(out, "/nonexistent") && strstr(out, "never run"), out);
}

TEST(e2e, weftd_rejects_a_bad_config_naming_the_place)
{
	struct node n;
	char out[2048];

	if (!node_up(&n, 1) || !write_config(&n, "random", "      - {ip: 10.250.0.21, weight: 0}\n", NULL))
		return;
	ASSERT_EQ(tenv_capture(out, sizeof(out), "%s/weftd --config %s 2>&1", weft_test_bindir(),
			       n.config), 1, "weftd exits 1");
	ASSERT_TRUE(strstr(out, "weft.yaml:15:") && strstr(out, "weight"), out);
	ASSERT_EQ(access(tenv_bpffs(), F_OK), -1, "nothing pinned");
}

TEST(e2e, datapath_survives_kill9_and_restart_adopts_it)
{
	struct node n;
	char be[64], name[64];
	int hits[4], fd;

	if (!node_up(&n, 3) || !write_config(&n, "random", TWO_BACKENDS, NULL) ||
	    weftd_start(&n) < 0 || !ASSERT_OK(tenv_enter("cli", true), "enter client pod"))
		return;
	fd = open_conn(be, sizeof(be));
	if (!ASSERT_TRUE(fd >= 0 && conn_alive(fd), "long-lived connection"))
		return;
	weftd_stop(&n, SIGKILL);
	ASSERT_EQ(spread(50, hits, NULL), 0, "the VIP works with weftd dead");
	ASSERT_TRUE(conn_alive(fd), "the connection lives on");

	/* Restart with a third backend: adopt, reconcile, no reset. */
	if (!write_config(&n, "random", THREE_BACKENDS, NULL) || weftd_start(&n) < 0)
		return;
	ASSERT_TRUE(conn_alive(fd), "the connection survives the restart");
	ASSERT_EQ(spread(300, hits, NULL), 0, "no failures after restart");
	ASSERT_TRUE(hits[2] > 0, "the new backend gets connections");
	ASSERT_EQ(progs_attached(BPF_CGROUP_INET4_CONNECT), 1, "one connect4 program, not two");
	ASSERT_EQ(progs_attached(BPF_CGROUP_UDP4_RECVMSG), 1, "one recvmsg4 program");
	ASSERT_EQ(tenv_tcp_ask("10.250.100.2", 80, NULL, false, name, sizeof(name), NULL, 0),
		  -ECONNREFUSED, "adopted state still refuses the empty service");
	close(fd);
}

/* The upgrade to ABI 5: the pins of an ABI 4 weftd hold weft_ep (208-byte
 * values, no service account) and no weft_ep_v2. The new weftd adopts the
 * other maps (no reset), makes weft_ep_v2 and fills it, service accounts
 * included, and never reads or writes the old weft_ep. */
TEST(e2e, upgrade_to_weft_ep_v2_adopts_the_rest_and_names_again)
{
	static const char eps[] =
		"endpoints:\n"
		"  - {name: be1-0, namespace: shop, ip: 10.250.0.21, service_account: be1-sa}\n"
		"  - {name: cli-0, namespace: shop, ip: 10.250.0.10, node_name: elsewhere}\n";
	struct { char name[64], ns[64], workload[64]; __u32 identity, ifindex, flags, pad; } old = { .name = "old", .ns = "", .workload = "" };
	struct weft_addr_key k = { 0 };
	char be[64], path[512], out[8192];
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	struct node n;
	int hits[4], fd, ofd;

	_Static_assert(sizeof(old) == 208, "the ABI 4 weft_ep_val");
	if (!node_up(&n, 2) || !write_config(&n, "random", TWO_BACKENDS, eps) || weftd_start(&n) < 0 ||
	    !ASSERT_OK(tenv_enter("cli", true), "enter client pod"))
		return;
	fd = open_conn(be, sizeof(be));
	if (!ASSERT_TRUE(fd >= 0 && conn_alive(fd), "long-lived connection"))
		return;
	weftd_stop(&n, SIGKILL);
	/* What an ABI 4 weftd would have left. */
	snprintf(path, sizeof(path), "%s/weft_ep_v2", tenv_bpffs());
	ASSERT_OK(unlink(path), "no weft_ep_v2 pinned");
	ofd = bpf_map_create(BPF_MAP_TYPE_HASH, "weft_ep", sizeof(k), sizeof(old), 16, NULL);
	k.addr[2] = htonl(0xffff);
	k.addr[3] = inet_addr("10.250.0.21");
	snprintf(path, sizeof(path), "%s/weft_ep", tenv_bpffs());
	if (!ASSERT_TRUE(ofd >= 0, "old weft_ep") ||
	    !ASSERT_OK(bpf_map_update_elem(ofd, &k, &old, BPF_ANY), "an old entry") ||
	    !ASSERT_OK(bpf_obj_pin(ofd, path), "pinned as weft_ep"))
		goto out;
	if (weftd_start(&n) < 0)
		goto out;
	ASSERT_TRUE(conn_alive(fd), "the connection survives the upgrade");
	ASSERT_EQ(spread(50, hits, NULL), 0, "the VIP works");
	ASSERT_EQ(progs_attached(BPF_CGROUP_INET4_CONNECT), 1, "one connect4 program");
	if (ASSERT_EQ(tenv_capture(out, sizeof(out), "%s/weft --bpffs %s endpoints -o wide",
				   weft_test_bindir(), tenv_bpffs()), 0, "weft endpoints"))
		ASSERT_TRUE(strstr(out, "be1-0") && strstr(out, " be1-sa ") && strstr(out, " default ") &&
			    strstr(out, "remote"),
			    out);
	ASSERT_OK(bpf_obj_get_info_by_fd(ofd, &info, &len), "old map info");
	ASSERT_EQ(info.value_size, sizeof(old), "the old weft_ep keeps its layout");
	memset(&old, 0, sizeof(old));
	ASSERT_OK(bpf_map_lookup_elem(ofd, &k, &old), "and its entry");
	ASSERT_STR(old.name, "old", "untouched");
out:
	if (ofd >= 0)
		close(ofd);
	unlink(path);
	close(fd);
}

TEST(e2e, sigterm_keeps_the_datapath_and_cleanup_removes_it)
{
	struct node n;
	char name[64], out[1024];
	int hits[4];

	if (!node_up(&n, 2) || !write_config(&n, "random", TWO_BACKENDS, NULL) ||
	    weftd_start(&n) < 0 || !ASSERT_OK(tenv_enter("cli", true), "enter client pod"))
		return;
	ASSERT_EQ(weftd_stop(&n, SIGTERM), 0, "SIGTERM: clean exit");
	ASSERT_EQ(spread(20, hits, NULL), 0, "VIP still works after SIGTERM");
	ASSERT_EQ(progs_attached(BPF_CGROUP_INET4_CONNECT), 1, "still attached");

	ASSERT_EQ(tenv_capture(out, sizeof(out), "%s/weftd --cleanup --config %s 2>&1",
			       weft_test_bindir(), n.config), 0, "weftd --cleanup");
	ASSERT_EQ(progs_attached(BPF_CGROUP_INET4_CONNECT), 0, "connect4 detached");
	ASSERT_EQ(progs_attached(BPF_CGROUP_INET6_GETPEERNAME), 0, "getpeername6 detached");
	ASSERT_EQ(access(tenv_bpffs(), F_OK), -1, "pin directory removed");
	ASSERT_TRUE(tenv_tcp_ask(VIP, 80, NULL, false, name, sizeof(name), NULL, 0) != 0,
		    "the VIP is no longer translated");
}

TEST(e2e, sighup_applies_only_the_difference)
{
	struct node n;
	char be[64], before[8192], after[8192];
	struct weft_info info;
	int hits[4], fd = -1;
	uint64_t gen;

	if (!node_up(&n, 3) || !write_config(&n, "round_robin", THREE_BACKENDS, "  max_services: 3\n") ||
	    weftd_start(&n) < 0 || !ASSERT_OK(tenv_enter("cli", true), "enter client pod"))
		return;
	/* A long-lived connection on be3, the backend about to go. */
	for (int i = 0; i < 6 && fd < 0; i++) {
		fd = open_conn(be, sizeof(be));
		if (fd >= 0 && strcmp(be, "be3")) {
			close(fd);
			fd = -1;
		}
	}
	if (!ASSERT_TRUE(fd >= 0, "a connection to be3"))
		return;
	if (!write_config(&n, "round_robin", TWO_BACKENDS, "  max_services: 3\n") || !reload(&n))
		return;
	ASSERT_TRUE(tenv_info(&info), "weft_info");
	/* tcp/80 and udp/53 each: 3 -> 2 slots: svc, 1 slot delete, 1 backend
	 * delete, slots 0..1 rewritten at most. */
	ASSERT_LE(info.last_ops, 12, "only the difference is written");
	ASSERT_GE(info.last_ops, 4, "something was written");
	ASSERT_EQ(spread(100, hits, NULL), 0, "no failures");
	ASSERT_EQ(hits[2], 0, "the removed backend gets no new connections");
	ASSERT_EQ(hits[0], 50, "round robin is even");
	/* The connection to the removed backend: closed where the kernel can
	 * (issue 14, connections_to_a_removed_backend_are_closed), else it
	 * keeps its backend. */
	ASSERT_TRUE(conn_alive(fd) == !tenv_kfunc("bpf_sock_destroy"),
		    "the existing connection to the removed backend: closed with bpf_sock_destroy, else kept");
	close(fd);

	/* A bad file, and a file that does not fit the maps, change nothing. */
	ASSERT_OK(tenv_capture(before, sizeof(before), "%s/weft --bpffs %s services --json",
			       weft_test_bindir(), tenv_bpffs()), "services before");
	gen = generation();
	tenv_write_file(n.config, "services:\n  - name: [oops\n");
	kill(n.weftd, SIGHUP);
	usleep(300000);
	write_config2(&n, "random", TWO_BACKENDS, "  max_services: 3\n",
		      "  - {name: a, vip: 10.250.100.3, ports: [{port: 1}, {port: 2}]}\n");
	kill(n.weftd, SIGHUP);
	usleep(500000);
	ASSERT_EQ(generation(), gen, "no apply from bad files");
	ASSERT_OK(tenv_capture(after, sizeof(after), "%s/weft --bpffs %s services --json",
			       weft_test_bindir(), tenv_bpffs()), "services after");
	ASSERT_STR(after, before, "the maps are untouched");
	ASSERT_EQ(spread(20, hits, NULL), 0, "the VIP still works");
	ASSERT_TRUE(waitpid(n.weftd, NULL, WNOHANG) == 0, "weftd is still running");
}

TEST_TIMEOUT(e2e, backends_change_under_load_without_a_failed_connection, 180)
{
	static const char *const sets[] = {
		"      - {ip: 10.250.0.21}\n      - {ip: 10.250.0.22}\n",
		"      - {ip: 10.250.0.22}\n      - {ip: 10.250.0.23, weight: 3}\n",
		"      - {ip: 10.250.0.23}\n",
		"      - {ip: 10.250.0.21}\n      - {ip: 10.250.0.23}\n      - {ip: 10.250.0.22}\n",
	};
	struct node n;
	int st, p[2], r[2] = { -1, -1 };
	long aborted = -1;
	uint64_t destroyed0;
	pid_t client;

	if (!node_up(&n, 3) || !write_config(&n, "random", sets[0], NULL) || weftd_start(&n) < 0)
		return;
	if (!ASSERT_OK(pipe(p), "pipe") || !ASSERT_OK(pipe(r), "report pipe"))
		return;
	destroyed0 = tenv_stat(WEFT_STAT_GONE_DESTROYED);
	client = fork();
	if (client == 0) {
		/* Connect until told to stop (at most 60 s); exit with the
		 * failures. A connection weftd closed because its backend left
		 * (ECONNABORTED, bpf_sock_destroy) is reported apart. */
		int fails = 0;
		long ab = 0;
		char c, name[64];

		close(p[1]);
		close(r[0]);
		fcntl(p[0], F_SETFL, O_NONBLOCK);
		if (tenv_enter("cli", true))
			_exit(255);
		for (long long end = tenv_now_ms() + 60000; tenv_now_ms() < end;) {
			for (int i = 0; i < 10; i++) {
				int err = tenv_tcp_ask(VIP, 80, NULL, false, name, sizeof(name), NULL, 0);

				if (err == -ECONNABORTED)
					ab++;
				else if (err) {
					fails++;
					fprintf(stderr, "connection through the VIP: %s\n", strerror(-err));
				}
			}
			if (read(p[0], &c, 1) == 0)
				break;
		}
		if (write(r[1], &ab, sizeof(ab)) != sizeof(ab))
			_exit(253);
		_exit(fails > 252 ? 252 : fails);
	}
	close(p[0]);
	close(r[1]);
	for (int i = 0; i < 30; i++) {
		if (!write_config(&n, i % 3 ? "random" : "maglev", sets[i % 4], NULL) || !reload(&n))
			break;
		usleep(50000);
	}
	close(p[1]);
	waitpid(client, &st, 0);
	if (read(r[0], &aborted, sizeof(aborted)) != sizeof(aborted))
		aborted = -1;
	close(r[0]);
	ASSERT_TRUE(WIFEXITED(st), "client finished");
	ASSERT_EQ(WEXITSTATUS(st), 0, "failed connections while backends changed");
	ASSERT_GE(aborted, 0, "the client reported its aborted connections");
	/* Only a connection to a backend that left may be closed, and each
	 * one weftd closed is counted. */
	ASSERT_LE(aborted, (long)(tenv_stat(WEFT_STAT_GONE_DESTROYED) - destroyed0),
		  "every aborted connection was one weftd destroyed for a removed backend");
}

TEST(e2e, maglev_removal_moves_only_the_removed_backends_clients)
{
	enum { CLIENTS = 400 };
	static char first[CLIENTS];
	char batch[256], addr[32], name[64], node_ns[64], cli_ns[64];
	int moved_other = 0, moved_gone = 0, on_gone = 0, used[4] = { 0 };
	FILE *f;
	struct node n;

	if (!node_up(&n, 4))
		return;
	/* 400 client addresses on the client pod, routed back by the node. */
	snprintf(batch, sizeof(batch), "%s/addrs", n.dir);
	f = fopen(batch, "w");
	for (int i = 0; i < CLIENTS; i++)
		fprintf(f, "addr add 10.250.%d.%d/32 dev eth0\n", 1 + i / 250, 1 + i % 250);
	fclose(f);
	tenv_ns("cli", cli_ns, sizeof(cli_ns));
	tenv_ns("node", node_ns, sizeof(node_ns));
	if (!ASSERT_OK(tenv_sh("ip -n %s -batch %s && ip -n %s route add 10.250.1.0/24 dev wv-cli && "
			       "ip -n %s route add 10.250.2.0/24 dev wv-cli",
			       cli_ns, batch, node_ns, node_ns), "client addresses"))
		return;
	if (!write_config(&n, "maglev",
			  THREE_BACKENDS "      - {ip: 10.250.0.24}\n", NULL) ||
	    weftd_start(&n) < 0 || !ASSERT_OK(tenv_enter("cli", true), "enter client pod"))
		return;
	for (int i = 0; i < CLIENTS; i++) {
		snprintf(addr, sizeof(addr), "10.250.%d.%d", 1 + i / 250, 1 + i % 250);
		if (!ASSERT_OK(tenv_tcp_ask(VIP, 80, addr, false, name, sizeof(name), NULL, 0), addr))
			return;
		first[i] = name[2];
		used[name[2] - '1']++;
		on_gone += name[2] == '4';
	}
	for (int b = 0; b < 4; b++)
		ASSERT_GE(used[b], CLIENTS / 8, "maglev spreads clients over every backend");
	if (!write_config(&n, "maglev", THREE_BACKENDS, NULL) || !reload(&n))
		return;
	for (int i = 0; i < CLIENTS; i++) {
		snprintf(addr, sizeof(addr), "10.250.%d.%d", 1 + i / 250, 1 + i % 250);
		if (!ASSERT_OK(tenv_tcp_ask(VIP, 80, addr, false, name, sizeof(name), NULL, 0), addr))
			return;
		if (first[i] == '4')
			moved_gone += name[2] != '4';
		else
			moved_other += name[2] != first[i];
	}
	ASSERT_EQ(moved_other, 0, "clients of the remaining backends keep their backend");
	ASSERT_EQ(moved_gone, on_gone, "clients of the removed backend all moved");
}

static uint32_t pinned_max_entries(const char *map)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tenv_bpffs(), map);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		info.max_entries = 0;
	close(fd);
	return info.max_entries;
}

TEST(e2e, restart_with_resized_maps_replaces_them_without_a_reset)
{
	struct node n;
	char be[64];
	int hits[4], fd;

	if (!node_up(&n, 2) || !write_config(&n, "random", TWO_BACKENDS, "  max_services: 64\n") ||
	    weftd_start(&n) < 0 || !ASSERT_OK(tenv_enter("cli", true), "enter client pod"))
		return;
	fd = open_conn(be, sizeof(be));
	if (!ASSERT_TRUE(fd >= 0 && conn_alive(fd), "long-lived connection"))
		return;
	ASSERT_EQ(pinned_max_entries(weft_map_name(WEFT_M_SVC)), 64, "weft_svc sized from the config");
	weftd_stop(&n, SIGTERM);
	if (!write_config(&n, "random", TWO_BACKENDS, "  max_services: 128\n  max_backends: 1000\n") ||
	    weftd_start(&n) < 0)
		return;
	ASSERT_EQ(pinned_max_entries(weft_map_name(WEFT_M_SVC)), 128, "weft_svc resized");
	ASSERT_EQ(pinned_max_entries(weft_map_name(WEFT_M_BE)), 1000, "weft_be resized");
	ASSERT_EQ(pinned_max_entries(weft_map_name(WEFT_M_RR)), 129, "weft_rr resized");
	ASSERT_TRUE(conn_alive(fd), "the connection survives");
	ASSERT_EQ(spread(50, hits, NULL), 0, "the VIP works through the new maps");
	ASSERT_TRUE(hits[0] > 0 && hits[1] > 0, "both backends");
	ASSERT_EQ(progs_attached(BPF_CGROUP_INET4_CONNECT), 1, "one connect4 program");
	close(fd);
}

/* Service semantics of issue 14 in file mode: endpoint conditions
 * (KEP-1669), publish_not_ready_addresses, internal_traffic_policy Local. */
#define COND_BACKENDS                                                                      \
	"      - {ip: 10.250.0.21}\n"                                                      \
	"      - {ip: 10.250.0.22, ready: false, serving: true, terminating: true}\n"       \
	"      - {ip: 10.250.0.23, ready: false}\n"
#define LOCAL_SERVICES                                                                     \
	"  - name: local\n    vip: 10.250.100.3\n    internal_traffic_policy: Local\n"      \
	"    ports: [{port: 80, target_port: 8080}]\n"                                      \
	"    backends:\n"                                                                    \
	"      - {ip: 10.250.0.21, node_name: node-b}\n"                                     \
	"      - {ip: 10.250.0.22, node_name: node-a}\n"                                     \
	"  - name: elsewhere\n    vip: 10.250.100.4\n    internal_traffic_policy: Local\n"  \
	"    ports: [{port: 80, target_port: 8080}]\n"                                      \
	"    backends: [{ip: 10.250.0.21, node_name: node-b}]\n"                             \
	"  - name: everyone\n    vip: 10.250.100.5\n    publish_not_ready_addresses: true\n"\
	"    ports: [{port: 80, target_port: 8080}]\n"                                      \
	"    backends: [{ip: 10.250.0.22, ready: false}, {ip: 10.250.0.23, ready: false, serving: false}]\n"

TEST(e2e, endpoint_conditions_and_node_local_services)
{
	static const char *const names[4] = { "be1", "be2", "be3", "be4" };
	struct node n;
	char be[64], name[64];
	int hits[4], fd = -1;

	if (!node_up(&n, 3) ||
	    !write_config2(&n, "random", COND_BACKENDS, "  node_name: node-a\n", LOCAL_SERVICES) ||
	    weftd_start(&n) < 0 || !ASSERT_OK(tenv_enter("cli", true), "enter client pod"))
		return;
	/* Ready be1 only: be2 terminating (serving), be3 not ready. */
	ASSERT_EQ(spread(60, hits, NULL), 0, "no failed connections");
	ASSERT_EQ(hits[0], 60, "new connections go to the ready backend only");
	/* Local: this node's (node-a) backend only; none here: refused at once. */
	ASSERT_EQ(tenv_spread("10.250.100.3", 80, NULL, 30, names, 4, hits), 0, "Local: no failures");
	ASSERT_EQ(hits[1], 30, "Local: only the backend on node-a");
	ASSERT_EQ(tenv_tcp_ask("10.250.100.4", 80, NULL, false, name, sizeof(name), NULL, 0),
		  -ECONNREFUSED, "Local without a backend on this node refuses");
	/* publish_not_ready_addresses: not-ready backends too (be3 not serving
	 * either: published as well, as kube-proxy does). */
	ASSERT_EQ(tenv_spread("10.250.100.5", 80, NULL, 60, names, 4, hits), 0, "published: no failures");
	ASSERT_TRUE(hits[1] > 0 && hits[2] > 0 && hits[1] + hits[2] == 60, "published: both answer");

	/* be1 turns terminating: its established connection keeps working, new
	 * ones go to the serving terminating backends (be1, be2). */
	for (int i = 0; i < 4 && fd < 0; i++)
		fd = open_conn(be, sizeof(be));
	if (!ASSERT_TRUE(fd >= 0 && !strcmp(be, "be1"), "a connection to be1"))
		return;
	if (!write_config2(&n, "random",
			   "      - {ip: 10.250.0.21, ready: false, serving: true, terminating: true}\n"
			   "      - {ip: 10.250.0.22, ready: false, serving: true, terminating: true}\n"
			   "      - {ip: 10.250.0.23, ready: false, serving: false, terminating: true}\n",
			   "  node_name: node-a\n", LOCAL_SERVICES) ||
	    !reload(&n))
		return;
	ASSERT_EQ(spread(60, hits, NULL), 0, "every endpoint terminating: connections still succeed");
	ASSERT_TRUE(hits[0] > 0 && hits[1] > 0 && hits[2] == 0,
		    "the serving terminating ones, never the non-serving one");
	ASSERT_TRUE(conn_alive(fd), "the established connection to a terminating backend works");
	close(fd);
	/* and no serving one at all: refused */
	if (!write_config2(&n, "random", "      - {ip: 10.250.0.23, ready: false, serving: false}\n",
			   "  node_name: node-a\n", LOCAL_SERVICES) ||
	    !reload(&n))
		return;
	ASSERT_EQ(tenv_tcp_ask(VIP, 80, NULL, false, name, sizeof(name), NULL, 0), -ECONNREFUSED,
		  "no ready or serving backend: refused");
}

/* A connected UDP socket to addr:port from the current process, and the
 * name of the backend that answers; -1 if none answered. */
static int udp_conn(const char *addr, uint16_t port, char *who, size_t len)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct timeval tv = { .tv_sec = 2 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ssize_t n;

	inet_pton(AF_INET, addr, &sa.sin_addr);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || send(fd, "?", 1, 0) != 1 ||
	    (n = recv(fd, who, len - 1, 0)) <= 0) {
		close(fd);
		return -1;
	}
	who[n] = 0;
	who[strcspn(who, "\n")] = 0;
	return fd;
}

/* A TCP connection straight to a pod address (no service). */
static int direct_conn(const char *addr, uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct timeval tv = { .tv_sec = 2 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	char c;

	inet_pton(AF_INET, addr, &sa.sin_addr);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	while (read(fd, &c, 1) == 1 && c != '\n')
		;
	return fd;
}

TEST(e2e, connections_to_a_removed_backend_are_closed)
{
	struct node n;
	char be[64], buf[64];
	int tcp = -1, udp = -1, direct, keep = -1;
	uint64_t before;
	bool closed = false;
	if (!tenv_kfunc("bpf_sock_destroy")) {
		SKIP("the kernel has no bpf_sock_destroy (Linux 6.5+)");
		return;
	}
	if (!node_up(&n, 2) || !write_config(&n, "random", TWO_BACKENDS, NULL) ||
	    weftd_start(&n) < 0 || !ASSERT_OK(tenv_enter("cli", true), "enter client pod"))
		return;
	/* Through the VIP to be2 (TCP and connected UDP), one to be1 that
	 * stays, and one straight to be2's address. */
	for (int i = 0; i < 40 && (tcp < 0 || keep < 0); i++) {
		int fd = open_conn(be, sizeof(be));

		if (fd >= 0 && !strcmp(be, "be2") && tcp < 0)
			tcp = fd;
		else if (fd >= 0 && !strcmp(be, "be1") && keep < 0)
			keep = fd;
		else if (fd >= 0)
			close(fd);
	}
	for (int i = 0; i < 40 && udp < 0; i++) {
		udp = udp_conn(VIP, 53, be, sizeof(be));
		if (udp >= 0 && strcmp(be, "be2")) {
			close(udp);
			udp = -1;
		}
	}
	direct = direct_conn("10.250.0.22", 8080);
	if (!ASSERT_TRUE(tcp >= 0 && keep >= 0 && udp >= 0 && direct >= 0, "the four sockets"))
		return;
	before = tenv_stat(WEFT_STAT_GONE_DESTROYED);
	if (!write_config(&n, "random", "      - {ip: 10.250.0.21}\n", NULL) || !reload(&n))
		return;
	/* The TCP one: reset (ECONNABORTED) or at its end, within 2 s. */
	for (long long end = tenv_now_ms() + 2000; tenv_now_ms() < end && !closed; usleep(20000)) {
		ssize_t r = recv(tcp, buf, sizeof(buf), MSG_DONTWAIT);

		closed = r == 0 || (r < 0 && errno != EAGAIN);
	}
	ASSERT_TRUE(closed, "the TCP connection through the VIP to the removed backend is closed");
	ASSERT_TRUE(send(udp, "?", 1, 0) < 0 || recv(udp, buf, sizeof(buf), 0) < 0,
		    "the connected UDP socket to the removed backend gets an error");
	ASSERT_TRUE(conn_alive(direct), "a connection made to the pod address directly is left alone");
	ASSERT_TRUE(conn_alive(keep), "a connection to a backend that stays is left alone");
	ASSERT_EQ(tenv_stat(WEFT_STAT_GONE_DESTROYED) - before, 2, "both counted");
	close(tcp);
	close(udp);
	close(direct);
	close(keep);
}

TEST(e2e, second_weftd_on_the_same_bpffs_is_refused)
{
	struct node n;
	char out[4096], want[160];
	int hits[4];
	pid_t first;

	if (!node_up(&n, 2) || !write_config(&n, "random", TWO_BACKENDS, NULL) ||
	    weftd_start(&n) < 0 || !ASSERT_OK(tenv_enter("cli", true), "enter client pod"))
		return;
	first = n.weftd;
	long long t0 = tenv_now_ms();
	ASSERT_EQ(tenv_capture(out, sizeof(out), "timeout 10 %s/weftd --config %s 2>&1",
			       weft_test_bindir(), n.config), 1, "the second weftd exits 1");
	ASSERT_TRUE(tenv_now_ms() - t0 < 5000, "refused at once");
	snprintf(want, sizeof(want), "%s is in use by another weftd (pid %d", tenv_bpffs(), (int)first);
	ASSERT_TRUE(strstr(out, want) != NULL, out);
	ASSERT_EQ(kill(first, 0), 0, "the first weftd still runs");
	ASSERT_EQ(spread(50, hits, NULL), 0, "the VIP still works");
	ASSERT_EQ(progs_attached(BPF_CGROUP_INET4_CONNECT), 1, "one connect4 program");
	ASSERT_OK(tenv_capture(out, sizeof(out), "%s/weft --bpffs %s services", weft_test_bindir(),
			       tenv_bpffs()), "the CLI works while weftd holds the lock");
	ASSERT_TRUE(strstr(out, "10.250.100.1:80") != NULL, out);
	/* The first weftd still applies a reload. */
	if (!write_config(&n, "random", "      - {ip: 10.250.0.21}\n", NULL) || !reload(&n))
		return;
	ASSERT_EQ(spread(50, hits, NULL), 0, "after the reload");
	ASSERT_EQ(hits[1], 0, "the first weftd applied the reload");
	/* kill -9: the kernel releases the lock with the fd. */
	weftd_stop(&n, SIGKILL);
	weftd_start(&n);
}

/* --cleanup takes the folder lock too: it never pulls the datapath from
 * under a running weftd, and names the pid that holds the folder. */
TEST(e2e, cleanup_while_weftd_runs_is_refused)
{
	struct node n;
	char out[4096], want[200];
	int hits[4];
	pid_t first;

	if (!node_up(&n, 2) || !write_config(&n, "random", TWO_BACKENDS, NULL) ||
	    weftd_start(&n) < 0 || !ASSERT_OK(tenv_enter("cli", true), "enter client pod"))
		return;
	first = n.weftd;
	ASSERT_EQ(tenv_capture(out, sizeof(out), "timeout 10 %s/weftd --cleanup --config %s 2>&1",
			       weft_test_bindir(), n.config), 1, "--cleanup exits 1");
	snprintf(want, sizeof(want), "%s is in use by a running weftd (pid %d holds its lock)",
		 tenv_bpffs(), (int)first);
	ASSERT_TRUE(strstr(out, want) != NULL, out);
	ASSERT_EQ(kill(first, 0), 0, "weftd still runs");
	ASSERT_EQ(progs_attached(BPF_CGROUP_INET4_CONNECT), 1, "connect4 still attached");
	ASSERT_EQ(access(tenv_bpffs(), F_OK), 0, "the pins are still there");
	ASSERT_EQ(spread(50, hits, NULL), 0, "the VIP still works");
	/* Once weftd is gone, the same command cleans up. */
	ASSERT_EQ(weftd_stop(&n, SIGTERM), 0, "SIGTERM: clean exit");
	ASSERT_EQ(tenv_capture(out, sizeof(out), "timeout 10 %s/weftd --cleanup --config %s 2>&1",
			       weft_test_bindir(), n.config), 0, out);
	ASSERT_EQ(progs_attached(BPF_CGROUP_INET4_CONNECT), 0, "connect4 detached");
	ASSERT_EQ(access(tenv_bpffs(), F_OK), -1, "pin directory removed");
}

/* Is SIGHUP in /proc/PID/status's SigBlk? */
static bool sighup_blocked(pid_t pid)
{
	char path[64], line[256];
	unsigned long long blk = 0;
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	while (f && !found && fgets(line, sizeof(line), f))
		found = sscanf(line, "SigBlk: %llx", &blk) == 1;
	if (f)
		fclose(f);
	return found && (blk & (1ull << (SIGHUP - 1)));
}

TEST(e2e, sighup_during_start_does_not_kill_weftd)
{
	struct node n;
	char bin[512], exe[4096], real[4096], path[64];
	int hits[4], sent = 0;
	long long t0;

	if (!node_up(&n, 2) || !write_config(&n, "random", TWO_BACKENDS, NULL))
		return;
	snprintf(bin, sizeof(bin), "%s/weftd", weft_test_bindir());
	char *argv[] = { bin, "--config", n.config, "--log-level", "warn", NULL };
	n.weftd = tenv_spawn(NULL, false, false, argv);
	if (!ASSERT_TRUE(n.weftd > 0, "weftd spawned"))
		return;
	/* Once weftd runs its own code (exec done), SIGHUP must be blocked
	 * before the datapath is loaded and applied, not only in the loop. */
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)n.weftd);
	if (!ASSERT_TRUE(realpath(bin, real) != NULL, "weftd's path"))
		return;
	t0 = tenv_now_ms();
	for (;;) {
		ssize_t len = readlink(path, exe, sizeof(exe) - 1);

		exe[len > 0 ? len : 0] = 0;
		if (tenv_now_ms() - t0 > 10000 || (!strcmp(exe, real) && sighup_blocked(n.weftd)))
			break;
		usleep(200);
	}
	ASSERT_STR(exe, real, "weftd exec'd");
	ASSERT_TRUE(sighup_blocked(n.weftd), "SIGHUP blocked");
	ASSERT_EQ(generation(), 0, "blocked before the first apply");
	/* SIGHUPs all through the start. */
	while (tenv_now_ms() - t0 < 10000 && generation() == 0 && kill(n.weftd, SIGHUP) == 0) {
		sent++;
		usleep(2000);
	}
	ASSERT_TRUE(sent > 0, "SIGHUPs sent during the start");
	ASSERT_TRUE(tenv_wait_applied(n.weftd, 1), "weftd applied its config");
	ASSERT_EQ(kill(n.weftd, 0), 0, "weftd alive");
	if (!ASSERT_OK(tenv_enter("cli", true), "enter client pod"))
		return;
	ASSERT_EQ(spread(20, hits, NULL), 0, "the VIP works");
}

/* Issue 12, file mode: kill -9, restart with another map size (every map
 * rebuilt) and another backend set: a client probing the VIP every 100 ms
 * sees no failure, and the file's new state applies. */
TEST_TIMEOUT(e2e, restart_with_resized_maps_after_kill9_fails_no_probe, 60)
{
	struct tenv_probe probe;
	struct node n;
	int hits[4];

	if (!node_up(&n, 2) || !write_config(&n, "random", TWO_BACKENDS, "  max_services: 64\n") ||
	    weftd_start(&n) < 0)
		return;
	if (!ASSERT_OK(tenv_probe_start(&probe, "cli", VIP, 80, 100, 100), "prober"))
		return;
	usleep(300000);
	weftd_stop(&n, SIGKILL);
	if (!write_config(&n, "random", "      - {ip: 10.250.0.22}\n", "  max_services: 128\n") ||
	    weftd_start(&n) < 0) {
		tenv_probe_end(&probe);
		return;
	}
	ASSERT_EQ(pinned_max_entries(weft_map_name(WEFT_M_SVC)), 128, "weft_svc rebuilt");
	ASSERT_EQ(tenv_probe_end(&probe), 0, "no failed probe in 10 s");
	if (!ASSERT_OK(tenv_enter("cli", true), "enter client pod"))
		return;
	ASSERT_EQ(spread(40, hits, NULL), 0, "the VIP works");
	ASSERT_EQ(hits[0], 0, "the file's new backend set applied");
}

/* Rewrite path in place as a writer that truncates, pauses pause_ms, then
 * writes text and closes. 0 or -errno. */
static int rewrite_in_place(const char *path, const char *text, int pause_ms)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	size_t len = strlen(text);
	int ret = 0;

	if (fd < 0)
		return -errno;
	usleep((useconds_t)pause_ms * 1000);
	if (write(fd, text, len) != (ssize_t)len)
		ret = -EIO;
	if (close(fd) && !ret)
		ret = -errno;
	return ret;
}

/*
 * A config rewritten in place (truncate, write, close) is read only whole.
 * Each round writes one version in place, then, while the watch's quiet
 * time after it runs, starts the next: the file stays empty for 200 ms
 * (less than the quiet time) across the moment the first read was due. An
 * empty file is a valid config with no services: read then, it would take
 * web off the node until the next version (probes fail) and make two
 * applies a round instead of one.
 */
TEST_TIMEOUT(e2e, config_rewritten_in_place_is_read_only_whole, 90)
{
	static const char *const more[] = {
		"  - {name: a, vip: 10.250.100.3, ports: [{port: 80}]}\n",
		"  - {name: b, vip: 10.250.100.4, ports: [{port: 80}]}\n",
	};
	struct tenv_probe probe;
	char text[8192], name[64];
	struct node n;
	uint64_t gen0;
	int failed;

	if (!node_up(&n, 1) || !write_config(&n, "random", "      - {ip: 10.250.0.21}\n", NULL) ||
	    weftd_start(&n) < 0 || !ASSERT_OK(tenv_enter("cli", true), "enter client pod"))
		return;
	ASSERT_OK(tenv_tcp_ask(VIP, 80, NULL, false, name, sizeof(name), NULL, 0), "web answers");
	gen0 = generation();
	if (!ASSERT_OK(tenv_probe_start(&probe, "cli", VIP, 80, 60, 50), "prober"))
		goto out;
	for (int round = 0; round < 3; round++) {
		config_text(text, sizeof(text), "random", "      - {ip: 10.250.0.21}\n", NULL,
			    more[round % 2]);
		ASSERT_OK(rewrite_in_place(n.config, text, 0), "a version written in place");
		usleep(150 * 1000);
		config_text(text, sizeof(text), "random", "      - {ip: 10.250.0.21}\n", NULL,
			    more[(round + 1) % 2]);
		ASSERT_OK(rewrite_in_place(n.config, text, 200), "the next one, with a pause");
		if (!ASSERT_TRUE(tenv_wait_applied(n.weftd, gen0 + (uint64_t)round + 1),
				 "the whole version applied"))
			break;
		usleep(300 * 1000);	/* nothing more is read */
	}
	failed = tenv_probe_end(&probe);
	ASSERT_EQ(failed, 0, "no probe through the VIP failed while the file was rewritten");
	ASSERT_EQ(generation(), gen0 + 3, "one apply a round: no empty or half version was read");
	ASSERT_EQ(tenv_tcp_ask("10.250.100.4", 80, NULL, false, name, sizeof(name), NULL, 0),
		  -ECONNREFUSED, "the last version is in force: b, a service without backends, refuses");
out:
	weftd_stop(&n, SIGTERM);
}
