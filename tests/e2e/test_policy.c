// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * e2e: L4 policy with weftd itself. Pods cli (app: client), be1 (app: web)
 * and be2 (app: db) with echo servers; weftd runs in the node netns so it
 * can put its tc programs on the pods' host-side veths. A table of
 * {source, destination (pod or VIP), bound or not, policy, redirect} ->
 * allowed or denied, with real connections; then a policy change that
 * revokes a live, redirected connection: no byte reaches the server after.
 */
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>

#include "model/model.h"
#include "harness.h"
#include "testenv.h"
#include "weft/abi.h"

#define CLI "10.250.0.10"
#define BE1 "10.250.0.21"
#define BE2 "10.250.0.22"
#define BE3 "10.250.0.23"	/* app: web too, but in namespace other (team a) */
#define VIP_WEB "10.250.100.1"
#define VIP_DB "10.250.100.2"
#define ECHO 8081

/* web takes clients on the echo port; db takes only web. */
#define P_WEB_DB                                                                 \
	"  - name: web\n"                                                        \
	"    selector: {app: web}\n"                                             \
	"    ingress: [{from: [{selector: {app: client}}], ports: [{port: 8081}]}]\n" \
	"  - name: db\n"                                                         \
	"    selector: {app: db}\n"                                              \
	"    ingress: [{from: [{selector: {app: web}}]}]\n"

/* The client may only talk to web. */
#define P_CLI_EGRESS                                                             \
	"  - name: cli\n"                                                        \
	"    selector: {app: client}\n"                                          \
	"    egress: [{to: [{selector: {app: web}}]}]\n"

/* The client (namespace default, team b) may talk to web pods of team-a
 * namespaces only: be3 (namespace other), not be1 (equal labels, its own
 * namespace, which a plain selector would have chosen). */
#define P_CLI_NS                                                                 \
	"  - name: cli-ns\n"                                                     \
	"    selector: {app: client}\n"                                          \
	"    egress: [{to: [{namespace_selector: {team: a}, selector: {app: web}}]}]\n"

/* web takes nobody. */
#define P_WEB_CLOSED                                                             \
	"  - {name: web, selector: {app: web}, ingress: []}\n"

struct pnode {
	char dir[128];
	char config[256];
	const char *listen;	/* metrics.listen in the node netns; NULL: no server */
	const char *extra_eps;	/* more endpoints: lines of the endpoints list */
	bool audit;		/* datapath.policy_audit */
	pid_t weftd;
	uint64_t gen;
};

static bool write_cfg(struct pnode *n, bool redirect, const char *policies)
{
	char text[8192];

	snprintf(text, sizeof(text),
		 "datapath: {cgroup: %s, bpffs: %s, redirect: %s, policy_audit: %s}\n"
		 "metrics: {listen: \"%s\"}\n"
		 "namespaces: [{name: default, labels: {team: b}}, {name: other, labels: {team: a}}]\n"
		 "endpoints:\n"
		 "  - {name: cli, ip: " CLI ", interface: wv-cli, labels: {app: client}}\n"
		 "  - {name: be1, ip: " BE1 ", interface: wv-be1, labels: {app: web}}\n"
		 "  - {name: be2, ip: " BE2 ", interface: wv-be2, labels: {app: db}}\n"
		 "  - {name: be3, namespace: other, ip: " BE3 ", interface: wv-be3, labels: {app: web}}\n"
		 "%s"
		 "services:\n"
		 "  - {name: web, vip: " VIP_WEB ", ports: [{port: 7, target_port: 8081}], backends: [{ip: " BE1 "}]}\n"
		 "  - {name: db, vip: " VIP_DB ", ports: [{port: 7, target_port: 8081}], backends: [{ip: " BE2 "}]}\n"
		 "%s%s",
		 tenv_cgroup(), tenv_bpffs(), redirect ? "true" : "false", n->audit ? "true" : "false",
		 n->listen ? n->listen : "", n->extra_eps ? n->extra_eps : "", policies ? "policies:\n" : "", policies ? policies : "");
	return ASSERT_OK(tenv_write_file(n->config, text), "write config");
}

/* Write the config and make weftd apply it (start or SIGHUP). */
static bool apply(struct pnode *n, bool redirect, const char *policies)
{
	if (!write_cfg(n, redirect, policies))
		return false;
	if (!n->weftd) {
		char bin[512];

		snprintf(bin, sizeof(bin), "%s/weftd", weft_test_bindir());
		char *argv[] = { bin, "--config", n->config, "--log-level", "warn", NULL };
		/* In the node netns: the pods' host-side veths are there. */
		n->weftd = tenv_spawn("node", false, false, argv);
		n->gen = 1;
		return ASSERT_TRUE(n->weftd > 0, "weftd spawned") &&
		       ASSERT_TRUE(tenv_wait_applied(n->weftd, 1), "weftd applied");
	}
	kill(n->weftd, SIGHUP);
	n->gen++;
	return ASSERT_TRUE(tenv_wait_applied(n->weftd, n->gen), "reload applied");
}

static bool node_up(struct pnode *n)
{
	tenv_need_root();
	signal(SIGPIPE, SIG_IGN);
	memset(n, 0, sizeof(*n));
	snprintf(n->dir, sizeof(n->dir), "%s", tenv_dir());
	snprintf(n->config, sizeof(n->config), "%s/weft.yaml", n->dir);
	return ASSERT_OK(tenv_pod("cli", CLI, NULL), "client pod") &&
	       ASSERT_OK(tenv_pod("be1", BE1, NULL), "web pod") &&
	       ASSERT_OK(tenv_pod("be2", BE2, NULL), "db pod") &&
	       ASSERT_OK(tenv_pod("be3", BE3, NULL), "web pod of namespace other") &&
	       ASSERT_TRUE(tenv_namesrv("be1", "be1", "::", ECHO) > 0, "web echo server") &&
	       ASSERT_TRUE(tenv_namesrv("be2", "be2", "::", ECHO) > 0, "db echo server") &&
	       ASSERT_TRUE(tenv_namesrv("be3", "be3", "::", ECHO) > 0, "other web echo server");
}

/* Connect (from bind if not NULL), read the name line if name: fd or
 * -errno. */
static int conn_to(const char *addr, uint16_t port, const char *bind_addr, bool name)
{
	struct sockaddr_storage sa, ba;
	struct timeval tv = { .tv_sec = 2 };
	socklen_t sl, bl;
	int fd, ret;
	char c;

	if (weft_sockaddr(addr, port, false, &sa, &sl) < 0)
		return -EINVAL;
	fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (bind_addr && (weft_sockaddr(bind_addr, 0, false, &ba, &bl) < 0 ||
			  bind(fd, (struct sockaddr *)&ba, bl) < 0))
		goto fail;
	if (connect(fd, (struct sockaddr *)&sa, sl) < 0)
		goto fail;
	if (!name)
		return fd;
	while ((ret = read(fd, &c, 1)) == 1 && c != '\n')
		;
	if (ret != 1)
		goto fail;
	return fd;
fail:
	ret = errno ? -errno : -EIO;
	close(fd);
	return ret;
}

static int conn(const char *addr, uint16_t port, const char *bind_addr)
{
	return conn_to(addr, port, bind_addr, true);
}

/* Unbound, to a server that sends nothing first. */
static int conn_raw(const char *addr, uint16_t port)
{
	return conn_to(addr, port, NULL, false);
}

/* One round trip of out[0..n): true if it comes back whole within 1.5 s. */
static bool echo_buf(int fd, const unsigned char *out, size_t n)
{
	static unsigned char in[16384];
	size_t got = 0;

	if (n > sizeof(in) || write(fd, out, n) != (ssize_t)n)
		return false;
	while (got < n) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (poll(&p, 1, 1500) != 1)
			return false;
		r = read(fd, in + got, n - got);
		if (r <= 0)
			return false;
		got += r;
	}
	return memcmp(in, out, n) == 0;
}

/* One round trip of n patterned bytes. */
static bool echo(int fd, size_t n, unsigned int seed)
{
	static unsigned char out[16384];

	for (size_t i = 0; i < n && i < sizeof(out); i++)
		out[i] = (unsigned char)((i * 2654435761u + seed) >> 13);
	return echo_buf(fd, out, n);
}

struct pcase {
	const char *policies;
	const char *dst;
	uint16_t port;
	const char *bind;	/* NULL: unbound (its pod by netns); else its address */
	int want;		/* 0 allowed; -EPERM refused at connect; 1 no answer (tc drops) */
	const char *what;
};

#define DENIED_TC 1

TEST_TIMEOUT(e2e, policy_matrix_with_and_without_redirect, 150)
{
	static const struct pcase cases[] = {
		{ P_WEB_DB, BE1, ECHO, NULL, 0, "cli -> web pod: allowed" },
		{ P_WEB_DB, VIP_WEB, 7, NULL, 0, "cli -> web VIP: allowed on the backend" },
		{ P_WEB_DB, BE2, ECHO, NULL, DENIED_TC, "cli -> db pod: db's ingress drops the SYN" },
		{ P_WEB_DB, VIP_DB, 7, NULL, DENIED_TC, "cli -> db VIP: judged on the backend" },
		{ P_WEB_DB P_CLI_EGRESS, BE1, ECHO, CLI, 0, "bound cli -> web: allowed" },
		{ P_WEB_DB P_CLI_EGRESS, VIP_DB, 7, CLI, -EPERM, "bound cli -> db VIP: EPERM at connect" },
		{ P_WEB_DB P_CLI_EGRESS, BE2, ECHO, NULL, -EPERM, "unbound cli -> db: EPERM by the pod's netns" },
		{ P_CLI_NS, BE3, ECHO, CLI, 0, "namespace selector: web of team a allowed" },
		{ P_CLI_NS, BE1, ECHO, CLI, -EPERM, "namespace selector: equal labels, team b: EPERM" },
		{ P_CLI_NS, BE1, ECHO, NULL, -EPERM, "namespace selector, unbound: EPERM" },
		{ P_CLI_NS, BE3, ECHO, NULL, 0, "namespace selector, unbound: web of team a" },
		{ NULL, BE2, ECHO, NULL, 0, "no policy: allowed" },
		{ NULL, BE3, ECHO, NULL, 0, "no policy: be3 answers" },
	};
	struct pnode n;

	if (!node_up(&n) || !apply(&n, true, NULL) ||
	    !ASSERT_OK(tenv_enter("cli", true), "enter the client pod"))
		return;
	for (int redirect = 1; redirect >= 0; redirect--) {
		const char *applied = "";

		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			const struct pcase *c = &cases[i];
			char what[256];
			uint64_t m = tenv_stat(WEFT_STAT_REDIR_MSGS);
			int fd;

			snprintf(what, sizeof(what), "%s (redirect %s)", c->what, redirect ? "on" : "off");
			if ((c->policies ? c->policies : "") != applied &&
			    !apply(&n, redirect, c->policies))
				return;
			applied = c->policies ? c->policies : "";
			fd = conn(c->dst, c->port, c->bind);
			if (c->want == 0) {
				if (ASSERT_TRUE(fd >= 0, what)) {
					ASSERT_TRUE(echo(fd, 4096, (unsigned int)i), what);
					if (redirect)
						ASSERT_GE(tenv_stat(WEFT_STAT_REDIR_MSGS) - m, 2, what);
				}
			} else if (c->want == -EPERM) {
				ASSERT_EQ(fd, -EPERM, what);
			} else {
				weft_assert(fd < 0 && fd != -EPERM, __FILE__, __LINE__,
					    "%s: connect gave %d, want no answer", what, fd);
			}
			if (fd >= 0)
				close(fd);
		}
	}
	ASSERT_GE(tenv_stat(WEFT_STAT_POL_TC_INGRESS_DENY), 1, "tc ingress drops counted");
	ASSERT_GE(tenv_stat(WEFT_STAT_POL_EGRESS_DENY), 8, "connect refusals counted, bound and unbound");
	/* A packet that passed no socket hook (a raw SYN): cli's egress in tc. */
	if (apply(&n, false, P_WEB_DB P_CLI_EGRESS)) {
		uint64_t before = tenv_stat(WEFT_STAT_POL_TC_EGRESS_DENY);
		struct tcphdr th = { .source = htons(40000), .dest = htons(ECHO), .doff = 5, .syn = 1,
				     .window = htons(1024) };
		struct sockaddr_in to = { .sin_family = AF_INET };
		int rs = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_TCP);

		inet_pton(AF_INET, BE2, &to.sin_addr);
		ASSERT_TRUE(rs >= 0 && sendto(rs, &th, sizeof(th), 0, (struct sockaddr *)&to,
					      sizeof(to)) == sizeof(th), "raw SYN sent");
		if (rs >= 0)
			close(rs);
		for (long long end = tenv_now_ms() + 1000;
		     tenv_stat(WEFT_STAT_POL_TC_EGRESS_DENY) == before && tenv_now_ms() < end;)
			usleep(5000);
		ASSERT_GE(tenv_stat(WEFT_STAT_POL_TC_EGRESS_DENY), before + 1, "tc egress drop counted");
	}
}

/* `weft policy --json`: the rule of web's ingress on 8081 and its count. */
static long long web_rule_count(void)
{
	static char out[65536];
	struct json_object *root, *eps;
	long long count = -1;

	if (!ASSERT_OK(tenv_capture(out, sizeof(out), "%s/weft --bpffs %s policy --json",
				    weft_test_bindir(), tenv_bpffs()), "weft policy --json"))
		return -1;
	root = json_tokener_parse(out);
	if (!ASSERT_NOT_NULL(root, out))
		return -1;
	if (json_object_object_get_ex(root, "endpoints", &eps)) {
		for (size_t i = 0; i < json_object_array_length(eps); i++) {
			struct json_object *ep = json_object_array_get_idx(eps, i), *rules, *addrs;

			if (!json_object_object_get_ex(ep, "addresses", &addrs) ||
			    !strstr(json_object_to_json_string(addrs), BE1) ||
			    !json_object_object_get_ex(ep, "rules", &rules))
				continue;
			for (size_t j = 0; j < json_object_array_length(rules); j++) {
				struct json_object *r = json_object_array_get_idx(rules, j), *v;
				const char *dir = "", *act = "", *ports = "";

				if (json_object_object_get_ex(r, "direction", &v))
					dir = json_object_get_string(v);
				if (json_object_object_get_ex(r, "action", &v))
					act = json_object_get_string(v);
				if (json_object_object_get_ex(r, "ports", &v))
					ports = json_object_get_string(v);
				if (!strcmp(dir, "ingress") && !strcmp(act, "allow") &&
				    !strcmp(ports, "8081") && json_object_object_get_ex(r, "count", &v))
					count = json_object_get_int64(v);
			}
		}
	}
	json_object_put(root);
	return count;
}

TEST_TIMEOUT(e2e, policy_revoke_stops_a_redirected_connection, 60)
{
	struct pnode n;
	uint64_t pol, rev;
	int fd;

	if (!node_up(&n) || !apply(&n, true, P_WEB_DB) ||
	    !ASSERT_OK(tenv_enter("cli", true), "enter the client pod"))
		return;
	fd = conn(VIP_WEB, 7, NULL);
	if (!ASSERT_TRUE(fd >= 0, "connection to web"))
		return;
	rev = tenv_stat(WEFT_STAT_REDIR_MSGS);
	ASSERT_TRUE(echo(fd, 4096, 1), "echo while allowed");
	ASSERT_GE(tenv_stat(WEFT_STAT_REDIR_MSGS) - rev, 2, "redirected while allowed");
	ASSERT_GE(web_rule_count(), 1, "weft policy shows web's ingress rule, counted in tc");

	if (!apply(&n, true, P_WEB_CLOSED))
		goto out;
	pol = tenv_stat(WEFT_STAT_REDIR_POLICY);
	rev = tenv_stat(WEFT_STAT_POL_REVOKED);
	ASSERT_FALSE(echo(fd, 100, 2), "revoked: nothing comes back");
	ASSERT_GE(tenv_stat(WEFT_STAT_REDIR_POLICY) - pol, 1, "sk_msg left it to the stack");
	ASSERT_GE(tenv_stat(WEFT_STAT_POL_REVOKED) - rev, 1, "where tc dropped the tracked flow");
	ASSERT_TRUE(conn(VIP_WEB, 7, NULL) < 0, "a new connection is not answered either");
out:
	close(fd);
}

/* Whether weft's tc program is on an interface of the node netns. */
static bool tc_on(const char *dev, const char *dir, const char *prog)
{
	char ns[64], out[4096] = "";

	tenv_ns("node", ns, sizeof(ns));
	tenv_capture(out, sizeof(out), "nsenter --net=/run/netns/%s tc filter show dev %s %s", ns,
		     dev, dir);
	return strstr(out, prog) != NULL;
}

TEST_TIMEOUT(e2e, policy_tc_attach_follows_policies_and_cleanup, 60)
{
	char out[1024], ns[64];
	struct pnode n;

	if (!node_up(&n) || !apply(&n, false, NULL))
		return;
	ASSERT_FALSE(tc_on("wv-be1", "egress", "weft_to_pod"), "no policies: no tc programs");
	if (!apply(&n, false, P_WEB_DB))
		return;
	ASSERT_TRUE(tc_on("wv-be1", "egress", "weft_to_pod"), "to-pod program on clsact egress");
	ASSERT_TRUE(tc_on("wv-be1", "ingress", "weft_from_pod"), "from-pod program on clsact ingress");
	ASSERT_TRUE(tc_on("wv-cli", "egress", "weft_to_pod"), "on every endpoint's interface");
	if (!apply(&n, false, NULL))
		return;
	ASSERT_FALSE(tc_on("wv-be1", "egress", "weft_to_pod"), "policies gone: detached");
	if (!apply(&n, false, P_WEB_DB))
		return;
	kill(n.weftd, SIGTERM);
	waitpid(n.weftd, NULL, 0);
	ASSERT_TRUE(tc_on("wv-be1", "egress", "weft_to_pod"), "stays attached after weftd stops");
	tenv_ns("node", ns, sizeof(ns));
	ASSERT_EQ(tenv_capture(out, sizeof(out), "nsenter --net=/run/netns/%s %s/weftd --cleanup --config %s 2>&1",
			       ns, weft_test_bindir(), n.config), 0, "weftd --cleanup");
	ASSERT_FALSE(tc_on("wv-be1", "egress", "weft_to_pod"), "--cleanup detaches tc");
	ASSERT_FALSE(tc_on("wv-be1", "ingress", "weft_from_pod"), "both directions");
}

/* A scrape of weftd's /metrics (weftd listens in the node netns). */
static bool scrape(char *out, size_t len)
{
	char ns[64];

	tenv_ns("node", ns, sizeof(ns));
	return ASSERT_OK(tenv_capture(out, len, "nsenter --net=/run/netns/%s curl -sf http://%s/metrics",
				      ns, "127.0.0.1:9465"), "scrape /metrics");
}

/* The value of one series (name{labels}) in a scrape; 0 if absent. */
static unsigned long long series(const char *text, const char *name_labels)
{
	size_t n = strlen(name_labels);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, name_labels, n) && p[n] == ' ')
			return strtoull(p + n + 1, NULL, 10);
	return 0;
}

#define DECISIONS "weft_policy_decisions_total"
#define WEB_ALLOW DECISIONS "{direction=\"ingress\",policy=\"web\",policy_namespace=\"default\",rule=\"ingress[0]\",verdict=\"allow\"}"
#define DB_AUDIT DECISIONS "{direction=\"ingress\",policy=\"db\",policy_namespace=\"default\",rule=\"default\",verdict=\"audit\"}"
#define DB_DEFAULT DECISIONS "{direction=\"ingress\",policy=\"db\",policy_namespace=\"default\",rule=\"default\",verdict=\"deny\"}"

/* weft_policy_decisions_total: a denied connection moves its policy's
 * default-deny series, an allowed one its rule's allow series (the first
 * packet only: the rest of the flow is tracked), and the scrape lints. */
TEST_TIMEOUT(e2e, policy_decisions_on_metrics, 60)
{
	static char t[262144];
	unsigned long long allow0, deny0;
	char path[256], out[4096];
	struct pnode n;
	int fd;

	if (!node_up(&n))
		return;
	n.listen = "127.0.0.1:9465";
	if (!apply(&n, false, P_WEB_DB) || !ASSERT_OK(tenv_enter("cli", true), "enter the client pod") ||
	    !scrape(t, sizeof(t)))
		return;
	ASSERT_TRUE(strstr(t, "# TYPE " DECISIONS " counter\n") != NULL, "the family is served");
	allow0 = series(t, WEB_ALLOW);
	deny0 = series(t, DB_DEFAULT);
	ASSERT_EQ(allow0 + deny0, 0, "nothing decided yet");

	fd = conn(BE2, ECHO, NULL);
	weft_assert(fd < 0, __FILE__, __LINE__, "cli -> db: denied (connect gave %d)", fd);
	if (fd >= 0)
		close(fd);
	if (!scrape(t, sizeof(t)))
		return;
	ASSERT_GE(series(t, DB_DEFAULT), 1, "denied SYN: db's default deny counted");
	ASSERT_EQ(series(t, WEB_ALLOW), 0, "web's allow untouched");

	fd = conn(BE1, ECHO, NULL);
	if (ASSERT_TRUE(fd >= 0, "cli -> web: allowed")) {
		ASSERT_TRUE(echo(fd, 4096, 7), "echo");
		close(fd);
	}
	deny0 = series(t, DB_DEFAULT);
	if (!scrape(t, sizeof(t)))
		return;
	ASSERT_EQ(series(t, WEB_ALLOW), 1, "one allowed connection: one decision (its first packet)");
	ASSERT_EQ(series(t, DB_DEFAULT), deny0, "db's series untouched");

	/* Global audit mode by reload: the same connection to db now passes,
	 * counted as an audit of db's default deny. */
	n.audit = true;
	if (!apply(&n, false, P_WEB_DB))
		return;
	fd = conn(BE2, ECHO, NULL);
	if (ASSERT_TRUE(fd >= 0, "audit mode: cli -> db answered")) {
		ASSERT_TRUE(echo(fd, 4096, 8), "audit mode: echo");
		close(fd);
	}
	if (!scrape(t, sizeof(t)))
		return;
	ASSERT_EQ(series(t, DB_AUDIT), 1, "audit mode: db's default deny counted as audit");
	ASSERT_EQ(series(t, DB_DEFAULT), 0, "audit mode: no deny (counters restart with the epoch)");

	snprintf(path, sizeof(path), "%s/scrape.txt", n.dir);
	tenv_write_file(path, t);
	if (system("command -v promtool >/dev/null 2>&1") != 0)
		SKIP("promtool not installed (make deps installs the prometheus package)");
	ASSERT_EQ(tenv_capture(out, sizeof(out), "promtool check metrics < %s 2>&1", path), 0, out);
}

#define LATE "10.250.0.31"
#define LATE_EP "  - {name: late, ip: " LATE ", interface: wv-late, labels: {app: late}}\n"
/* late takes clients on the echo port only. */
#define P_LATE                                                                   \
	"  - name: late\n"                                                       \
	"    selector: {app: late}\n"                                            \
	"    ingress: [{from: [{selector: {app: client}}], ports: [{port: 8081}]}]\n"
#define LATE_ATTACHED "weft_policy_interface_attached{endpoint=\"late\",endpoint_namespace=\"default\",interface=\"wv-late\"}"

/* Wait up to ms for weft's programs on both directions of dev; the time
 * it took in ms, or -1. */
static long long wait_tc(const char *dev, long long ms)
{
	long long t0 = tenv_now_ms();

	do {
		if (tc_on(dev, "egress", "weft_to_pod") && tc_on(dev, "ingress", "weft_from_pod"))
			return tenv_now_ms() - t0;
		usleep(10000);
	} while (tenv_now_ms() - t0 < ms);
	return -1;
}

/* The late pod's interface again, after it was deleted (as a CNI does when
 * a pod's sandbox is re-created): a new veth with a new ifindex. */
static bool relink_late(void)
{
	char ns[64], node[64];

	tenv_ns("late", ns, sizeof(ns));
	tenv_ns("node", node, sizeof(node));
	return ASSERT_OK(tenv_sh("ip -n %s link add eth0 type veth peer name wv-late netns %s && "
				 "ip -n %s link set wv-late up && ip -n %s link set eth0 up && "
				 "ip -n %s addr add " LATE "/32 dev eth0 && "
				 "ip -n %s route add 169.254.1.1 dev eth0 scope link && "
				 "ip -n %s route add default via 169.254.1.1 dev eth0 && "
				 "ip -n %s route add " LATE "/32 dev wv-late",
				 ns, node, node, ns, ns, ns, ns, node), "re-create the late pod's veth");
}

/* Both ports of the late pod from the client: 8081 answers, 8082 (not in
 * the policy) does not. */
static void late_policed(const char *when)
{
	char what[128];
	uint64_t drops = tenv_stat(WEFT_STAT_POL_TC_INGRESS_DENY);
	int fd = conn(LATE, ECHO, NULL);

	snprintf(what, sizeof(what), "%s: cli -> late:8081 allowed", when);
	if (ASSERT_TRUE(fd >= 0, what)) {
		ASSERT_TRUE(echo(fd, 4096, 3), what);
		close(fd);
	}
	fd = conn(LATE, ECHO + 1, NULL);
	snprintf(what, sizeof(what), "%s: cli -> late:8082 not answered (connect gave %d)", when, fd);
	weft_assert(fd < 0 && fd != -EPERM, __FILE__, __LINE__, "%s", what);
	if (fd >= 0)
		close(fd);
	snprintf(what, sizeof(what), "%s: dropped in tc", when);
	ASSERT_GE(tenv_stat(WEFT_STAT_POL_TC_INGRESS_DENY) - drops, 1, what);
}

/* An endpoint whose interface does not exist when weftd applies the policy
 * gets its tc programs as soon as the interface appears (weftd listens to
 * rtnetlink link events), and again when it is re-created with a new
 * ifindex; /metrics shows the attach status. */
TEST_TIMEOUT(e2e, policy_tc_follows_interfaces_that_appear_later, 60)
{
	static char t[262144];
	char node[64];
	long long ms;
	struct pnode n;

	if (!node_up(&n))
		return;
	n.listen = "127.0.0.1:9465";
	n.extra_eps = LATE_EP;
	if (!apply(&n, false, P_WEB_DB P_LATE) || !scrape(t, sizeof(t)))
		return;
	ASSERT_EQ(series(t, LATE_ATTACHED), 0, "wv-late missing: not attached");
	ASSERT_TRUE(strstr(t, LATE_ATTACHED " 0\n") != NULL, "and shown as 0");

	if (!ASSERT_OK(tenv_pod("late", LATE, NULL), "the late pod appears"))
		return;
	ms = wait_tc("wv-late", 1000);
	weft_assert(ms >= 0, __FILE__, __LINE__, "tc programs on wv-late within 1 s of its creation");
	fprintf(stderr, "    tc attached %lld ms after the pod's setup finished\n", ms);
	if (!ASSERT_TRUE(tenv_namesrv("late", "late", "::", ECHO) > 0, "late echo server") ||
	    !ASSERT_TRUE(tenv_namesrv("late", "late", "::", ECHO + 1) > 0, "late second server") ||
	    !scrape(t, sizeof(t)))
		return;
	ASSERT_EQ(series(t, LATE_ATTACHED), 1, "/metrics: attached");
	if (!ASSERT_OK(tenv_enter("cli", true), "enter the client pod"))
		return;
	late_policed("appeared after weftd");

	/* Re-created with a new ifindex. */
	tenv_ns("node", node, sizeof(node));
	if (!ASSERT_OK(tenv_sh("ip -n %s link del wv-late", node), "delete the late veth"))
		return;
	ms = tenv_now_ms();
	while (scrape(t, sizeof(t)) && series(t, LATE_ATTACHED) != 0 && tenv_now_ms() - ms < 1000)
		usleep(10000);
	ASSERT_EQ(series(t, LATE_ATTACHED), 0, "/metrics: interface gone, not attached");
	if (!relink_late())
		return;
	ms = wait_tc("wv-late", 1000);
	weft_assert(ms >= 0, __FILE__, __LINE__, "tc programs on the re-created wv-late within 1 s");
	if (scrape(t, sizeof(t)))
		ASSERT_EQ(series(t, LATE_ATTACHED), 1, "/metrics: attached again");
	late_policed("re-created");
}

/*
 * Both landing orders of policy and socket redirect. A counting echo
 * server (a child of the test, in a pod and in the test cgroup, so sockops
 * learns its sockets) records, per accepted connection in a shared page,
 * every byte it received: count and FNV-1a. A forbidden connection must
 * show exactly the bytes sent while it was allowed: none of what the client
 * wrote afterwards reached the server's socket, on any path.
 */
#define CS_PORT1 8091
#define CS_PORT2 8092
#define CS_MAX 16

struct cs_conn {
	uint16_t port;		/* local port it was accepted on */
	uint64_t bytes;		/* received */
	uint32_t fnv;		/* FNV-1a of what it received */
};

struct cs_page {
	uint32_t naccepted;
	struct cs_conn c[CS_MAX];
};

static uint32_t fnv1a(uint32_t h, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

#define FNV0 2166136261u

static void cs_serve(struct cs_page *pg, const uint16_t *ports, int nports)
{
	struct pollfd p[2 + CS_MAX];
	int slot[2 + CS_MAX];
	unsigned char buf[65536];
	int n = 0;

	alarm(120);	/* bounded even if the harness could not kill it */
	for (int i = 0; i < nports; i++) {
		struct sockaddr_storage ss;
		socklen_t sl;
		int one = 1, fd;

		weft_sockaddr("::", ports[i], false, &ss, &sl);
		fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (fd < 0 || bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 64) < 0)
			_exit(1);
		p[n] = (struct pollfd){ .fd = fd, .events = POLLIN };
		slot[n++] = -1;
	}
	if (write(3, "r", 1) != 1)
		_exit(1);
	for (;;) {
		if (poll(p, n, -1) < 0)
			_exit(1);
		for (int i = 0; i < n; i++) {
			ssize_t r;

			if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (slot[i] < 0) {
				int fd = accept4(p[i].fd, NULL, NULL, SOCK_CLOEXEC);
				uint32_t k = pg->naccepted;

				if (fd < 0 || k >= CS_MAX || n >= 2 + CS_MAX)
					_exit(1);
				pg->c[k] = (struct cs_conn){ .port = ports[i], .fnv = FNV0 };
				p[n] = (struct pollfd){ .fd = fd, .events = POLLIN };
				slot[n++] = (int)k;
				__atomic_store_n(&pg->naccepted, k + 1, __ATOMIC_RELEASE);
				continue;
			}
			r = read(p[i].fd, buf, sizeof(buf));
			if (r <= 0) {
				p[i].events = 0;	/* closed: keep its totals */
				p[i].fd = -1;
				continue;
			}
			pg->c[slot[i]].fnv = fnv1a(pg->c[slot[i]].fnv, buf, r);
			__atomic_add_fetch(&pg->c[slot[i]].bytes, (uint64_t)r, __ATOMIC_RELEASE);
			if (write(p[i].fd, buf, r) != r)
				_exit(1);
		}
	}
}

/* Start a counting server in pod on both ports. The page or NULL. */
static struct cs_page *cs_start(const char *pod)
{
	static const uint16_t ports[] = { CS_PORT1, CS_PORT2 };
	struct cs_page *pg = mmap(NULL, sizeof(*pg), PROT_READ | PROT_WRITE,
				  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int fds[2];
	pid_t pid;

	if (pg == MAP_FAILED || pipe(fds) < 0)
		return NULL;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return NULL;
	if (pid == 0) {
		close(fds[0]);
		if (dup2(fds[1], 3) < 0 || tenv_enter(pod, true) < 0)
			_exit(126);
		cs_serve(pg, ports, 2);
	}
	close(fds[1]);
	return tenv_wait_ready(fds[0], pid) > 0 ? pg : NULL;
}

/* A client connection and what it sent that the server may have. */
struct cs_cli {
	int fd;
	int slot;		/* server slot */
	uint64_t bytes;		/* sent while allowed */
	uint32_t fnv;
	unsigned int seed;
};

/* Connect to dst:port (unbound: judged by tc); wait for the server to
 * accept it. */
static bool cs_connect(struct cs_cli *c, struct cs_page *pg, const char *dst, uint16_t port)
{
	uint32_t before = __atomic_load_n(&pg->naccepted, __ATOMIC_ACQUIRE);
	long long t0 = tenv_now_ms();

	memset(c, 0, sizeof(*c));
	c->fnv = FNV0;
	c->slot = -1;
	c->fd = conn_raw(dst, port);
	if (c->fd < 0)
		return false;
	while (__atomic_load_n(&pg->naccepted, __ATOMIC_ACQUIRE) == before &&
	       tenv_now_ms() - t0 < 2000)
		usleep(1000);
	if (__atomic_load_n(&pg->naccepted, __ATOMIC_ACQUIRE) != before + 1)
		return false;
	c->slot = (int)before;
	return true;
}

/* One round trip of n bytes while allowed: true if it came back whole;
 * the bytes count as delivered. */
static bool cs_echo(struct cs_cli *c, size_t n)
{
	static unsigned char out[16384];

	for (size_t i = 0; i < n; i++)
		out[i] = (unsigned char)((i * 2654435761u + ++c->seed) >> 13);
	if (!echo_buf(c->fd, out, n))
		return false;
	c->bytes += n;
	c->fnv = fnv1a(c->fnv, out, n);
	return true;
}

/* After the policy forbids the connection: write n bytes, give them 1.5 s,
 * then the server must hold exactly what was sent while allowed. */
static void cs_forbidden(struct cs_cli *c, struct cs_page *pg, size_t n, const char *what)
{
	static unsigned char out[16384];
	struct pollfd p = { .fd = c->fd, .events = POLLIN };
	char w[256];

	memset(out, 0xa5, n);
	snprintf(w, sizeof(w), "%s: the write itself is accepted (buffered)", what);
	ASSERT_EQ(write(c->fd, out, n), (ssize_t)n, w);
	snprintf(w, sizeof(w), "%s: no echo", what);
	ASSERT_TRUE(poll(&p, 1, 1500) == 0, w);
	if (c->slot < 0)
		return;
	snprintf(w, sizeof(w), "%s: server received exactly the bytes sent while allowed", what);
	ASSERT_EQ(__atomic_load_n(&pg->c[c->slot].bytes, __ATOMIC_ACQUIRE), c->bytes, w);
	snprintf(w, sizeof(w), "%s: and their checksum", what);
	ASSERT_EQ(pg->c[c->slot].fnv, c->fnv, w);
}

/* web takes the client on CS_PORT1 and CS_PORT2; db only web. */
#define P_ORDER_OPEN                                                             \
	"  - name: web\n"                                                        \
	"    selector: {app: web}\n"                                             \
	"    ingress: [{from: [{selector: {app: client}}], ports: [{port: 8091}, {port: 8092}]}]\n" \
	"  - name: db\n"                                                         \
	"    selector: {app: db}\n"                                              \
	"    ingress: [{from: [{selector: {app: web}}]}]\n"

/* The same, but CS_PORT2 no longer. */
#define P_ORDER_NARROW                                                           \
	"  - name: web\n"                                                        \
	"    selector: {app: web}\n"                                             \
	"    ingress: [{from: [{selector: {app: client}}], ports: [{port: 8091}]}]\n" \
	"  - name: db\n"                                                         \
	"    selector: {app: db}\n"                                              \
	"    ingress: [{from: [{selector: {app: web}}]}]\n"

/* (a) The policy lands first, redirect is switched on by a reload after. */
TEST_TIMEOUT(e2e, policy_first_then_redirect, 90)
{
	struct cs_page *web, *db;
	struct cs_cli a, b1, b2, d;
	uint64_t m;
	struct pnode n;

	if (!node_up(&n))
		return;
	web = cs_start("be1");
	db = cs_start("be2");
	if (!ASSERT_NOT_NULL(web, "counting server in web") || !ASSERT_NOT_NULL(db, "in db") ||
	    !apply(&n, false, P_ORDER_OPEN) || !ASSERT_OK(tenv_enter("cli", true), "enter the client pod"))
		return;
	/* Policy on, redirect off. */
	if (!ASSERT_TRUE(cs_connect(&a, web, BE1, CS_PORT1), "A: cli -> web, before redirect"))
		return;
	ASSERT_TRUE(cs_echo(&a, 4096), "A: echo over the stack");
	ASSERT_FALSE(cs_connect(&d, db, BE2, CS_PORT1), "cli -> db: denied before redirect");

	/* Redirect on. */
	if (!apply(&n, true, P_ORDER_OPEN))
		return;
	m = tenv_stat(WEFT_STAT_REDIR_MSGS);
	if (!ASSERT_TRUE(cs_connect(&b1, web, BE1, CS_PORT1), "B1: cli -> web:8091 after redirect") ||
	    !ASSERT_TRUE(cs_connect(&b2, web, BE1, CS_PORT2), "B2: cli -> web:8092 after redirect"))
		return;
	ASSERT_TRUE(cs_echo(&b1, 4096) && cs_echo(&b2, 4096), "B1, B2: echo");
	ASSERT_GE(tenv_stat(WEFT_STAT_REDIR_MSGS) - m, 4, "B1, B2 redirected socket to socket");
	ASSERT_TRUE(cs_echo(&a, 4096), "A: keeps working over the stack");
	ASSERT_FALSE(cs_connect(&d, db, BE2, CS_PORT1), "cli -> db: still denied with redirect");
	ASSERT_EQ(__atomic_load_n(&db->naccepted, __ATOMIC_ACQUIRE), 0, "db never accepted a client");

	/* The policy narrows: 8092 is revoked, 8091 stays. */
	if (!apply(&n, true, P_ORDER_NARROW))
		return;
	m = tenv_stat(WEFT_STAT_REDIR_MSGS);
	ASSERT_TRUE(cs_echo(&b1, 4096), "B1 (8091, still allowed): echo after the change");
	ASSERT_GE(tenv_stat(WEFT_STAT_REDIR_MSGS) - m, 2, "B1 still redirected");
	ASSERT_TRUE(cs_echo(&a, 4096), "A (8091, stack): echo after the change");
	cs_forbidden(&b2, web, 4096, "B2 (8092, redirected, revoked)");
	ASSERT_TRUE(cs_echo(&b1, 1000), "B1 unaffected by B2's drops");
	close(a.fd);
	close(b1.fd);
	close(b2.fd);
}

/* (b) Redirect is on first; the policy arrives by reload while connections
 * are established and redirected. */
TEST_TIMEOUT(e2e, redirect_first_then_policy, 90)
{
	struct cs_page *web, *db;
	struct cs_cli w1, w2, d, x;
	uint64_t m;
	struct pnode n;

	if (!node_up(&n))
		return;
	web = cs_start("be1");
	db = cs_start("be2");
	if (!ASSERT_NOT_NULL(web, "counting server in web") || !ASSERT_NOT_NULL(db, "in db") ||
	    !apply(&n, true, NULL) || !ASSERT_OK(tenv_enter("cli", true), "enter the client pod"))
		return;
	m = tenv_stat(WEFT_STAT_REDIR_MSGS);
	if (!ASSERT_TRUE(cs_connect(&w1, web, BE1, CS_PORT1), "W1: cli -> web:8091") ||
	    !ASSERT_TRUE(cs_connect(&w2, web, BE1, CS_PORT2), "W2: cli -> web:8092") ||
	    !ASSERT_TRUE(cs_connect(&d, db, BE2, CS_PORT1), "D: cli -> db:8091"))
		return;
	ASSERT_TRUE(cs_echo(&w1, 4096) && cs_echo(&w2, 4096) && cs_echo(&d, 4096), "echo without policy");
	ASSERT_GE(tenv_stat(WEFT_STAT_REDIR_MSGS) - m, 6, "all three redirected");

	/* The policy arrives: W1 stays allowed, W2 and D are forbidden. */
	if (!apply(&n, true, P_ORDER_NARROW))
		return;
	m = tenv_stat(WEFT_STAT_REDIR_MSGS);
	ASSERT_TRUE(cs_echo(&w1, 4096), "W1 (allowed): echo after the policy");
	ASSERT_GE(tenv_stat(WEFT_STAT_REDIR_MSGS) - m, 2, "W1 still redirected");
	cs_forbidden(&w2, web, 4096, "W2 (web:8092, not in the policy)");
	cs_forbidden(&d, db, 4096, "D (db takes only web)");
	ASSERT_TRUE(cs_echo(&w1, 1000), "W1 keeps working");
	ASSERT_FALSE(cs_connect(&x, db, BE2, CS_PORT1), "a new cli -> db connection is denied");
	ASSERT_EQ(__atomic_load_n(&db->naccepted, __ATOMIC_ACQUIRE), 1, "db accepted only D, before the policy");
	close(w1.fd);
	close(w2.fd);
	close(d.fd);
}

/* SCTP with real sockets, when the kernel has SCTP. The cgroup connect
 * hooks never see SCTP (sctp_inet_connect does not run the protocol's
 * pre_connect, where BPF_CGROUP_INET{4,6}_CONNECT runs), so SCTP is policed
 * in tc on the endpoints' interfaces: an association the policy forbids
 * never comes up, and the drop is counted. */
#define P_SCTP                                                                   \
	"  - name: web-sctp\n"                                                   \
	"    selector: {app: web}\n"                                             \
	"    ingress: [{from: [{selector: {app: client}}], ports: [{port: 3868, protocol: sctp}]}]\n" \
	"  - name: cli-sctp\n"                                                   \
	"    selector: {app: client}\n"                                          \
	"    egress: [{to: [{selector: {app: web}}], ports: [{port: 3868, protocol: sctp}, {port: 3869, protocol: sctp}]}]\n"

/* A listening SCTP socket (one-to-one style) on addr:port inside pod's
 * netns, made from this process: fd or -errno. */
static int sctp_listen_in(const char *pod, const char *addr, uint16_t port)
{
	char ns[64], path[128];
	struct sockaddr_storage sa;
	socklen_t sl;
	int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC), nsfd, fd = -EINVAL;

	snprintf(path, sizeof(path), "/run/netns/%s", tenv_ns(pod, ns, sizeof(ns)));
	nsfd = open(path, O_RDONLY | O_CLOEXEC);
	if (self < 0 || nsfd < 0 || setns(nsfd, CLONE_NEWNET) < 0) {
		fd = -errno;
		goto out;
	}
	if (weft_sockaddr(addr, port, false, &sa, &sl) >= 0) {
		fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_SCTP);
		if (fd >= 0 && (bind(fd, (struct sockaddr *)&sa, sl) < 0 || listen(fd, 16) < 0)) {
			close(fd);
			fd = -1;
		}
		if (fd < 0)
			fd = -errno;
	}
	if (setns(self, CLONE_NEWNET) < 0 && fd >= 0) {
		close(fd);
		fd = -errno;
	}
out:
	if (self >= 0)
		close(self);
	if (nsfd >= 0)
		close(nsfd);
	return fd;
}

/* An SCTP association from src to dst:port within 2 s: 0 or -errno. */
static int sctp_assoc(const char *src, const char *dst, uint16_t port)
{
	struct sockaddr_storage sa, da;
	struct timeval tv = { .tv_sec = 2 };
	socklen_t sl, dl;
	int fd, ret = 0;

	if (weft_sockaddr(src, 0, false, &sa, &sl) < 0 || weft_sockaddr(dst, port, false, &da, &dl) < 0)
		return -EINVAL;
	fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_SCTP);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (bind(fd, (struct sockaddr *)&sa, sl) < 0 || connect(fd, (struct sockaddr *)&da, dl) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

TEST_TIMEOUT(e2e, policy_sctp_associations, 60)
{
	uint64_t in0, eg0;
	int probe, l[3] = { -1, -1, -1 };
	struct pnode n;

	tenv_need_root();
	tenv_sh("modprobe sctp 2>/dev/null || true");
	probe = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_SCTP);
	if (probe < 0) {
		SKIP("SCTP sockets unavailable on this kernel (%s): no sctp module (CONFIG_IP_SCTP); "
		     "tc's SCTP parsing is covered by bpf/tc_policy_packets", strerror(errno));
		return;
	}
	close(probe);
	if (!node_up(&n) || !apply(&n, false, P_SCTP))
		return;
	l[0] = sctp_listen_in("be1", BE1, 3868);
	l[1] = sctp_listen_in("be1", BE1, 3869);
	l[2] = sctp_listen_in("be2", BE2, 3868);
	if (!ASSERT_GE(l[0], 0, "SCTP listener web:3868") || !ASSERT_GE(l[1], 0, "web:3869") ||
	    !ASSERT_GE(l[2], 0, "db:3868") || !ASSERT_OK(tenv_enter("cli", true), "enter the client pod"))
		goto out;
	ASSERT_EQ(sctp_assoc(CLI, BE1, 3868), 0, "cli -> web:3868: allowed both ways, association up");
	in0 = tenv_stat(WEFT_STAT_POL_TC_INGRESS_DENY);
	eg0 = tenv_stat(WEFT_STAT_POL_TC_EGRESS_DENY);
	ASSERT_TRUE(sctp_assoc(CLI, BE1, 3869) < 0, "cli -> web:3869: web's ingress forbids it");
	ASSERT_GE(tenv_stat(WEFT_STAT_POL_TC_INGRESS_DENY) - in0, 1, "INIT dropped at web's interface");
	ASSERT_TRUE(sctp_assoc(CLI, BE2, 3868) < 0, "cli -> db:3868: cli's egress forbids it");
	ASSERT_GE(tenv_stat(WEFT_STAT_POL_TC_EGRESS_DENY) - eg0, 1, "INIT dropped at cli's interface");
out:
	for (int i = 0; i < 3; i++)
		if (l[i] >= 0)
			close(l[i]);
}

/* Entries of the pinned weft_pol, or -1. */
static long pol_entries(void)
{
	char path[512];
	struct weft_pol_key k, *prev = NULL;
	long n = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/weft_pol", tenv_bpffs());
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -1;
	while (!bpf_map_get_next_key(fd, prev, &k) && n < 1000000) {
		n++;
		prev = &k;
	}
	close(fd);
	return n;
}

/*
 * Issue 12's policy that stopped the node: ingress on ports 1-65535 from
 * three selectors. Once 196,605 entries (over the 131,072 an epoch of the
 * default datapath.max_policy) and rejected; now 16 port blocks a peer:
 * it applies, costs 49 entries, and is enforced at its edges (1, 80,
 * 65535 allowed) while a peer it does not select is dropped.
 */
TEST_TIMEOUT(e2e, policy_full_port_range_from_three_selectors_fits, 90)
{
	static const char wide[] =
		"  - name: wide\n"
		"    selector: {app: web}\n"
		"    ingress:\n"
		"      - from: [{selector: {app: client}}, {selector: {app: db}}, {selector: {app: web}}]\n"
		"        ports: [{port: 1, end_port: 65535}]\n";
	static const uint16_t ports[] = { 1, 80, ECHO, 65535 };
	struct pnode n;
	int st = -1;
	pid_t c;

	if (!node_up(&n))
		return;
	for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++)
		if (ports[i] != ECHO && !ASSERT_TRUE(tenv_namesrv("be1", "be1", "::", ports[i]) > 0,
						     "a web server on an edge port"))
			return;
	if (!apply(&n, false, wide))
		goto out;
	/* web (one identity) x 3 peers x 16 blocks + web's marker */
	ASSERT_EQ(pol_entries(), 3 * 16 + 1, "weft_pol: 49 entries, not 196,605");
	{
		static char out[65536];
		int ranges = 0;

		if (ASSERT_OK(tenv_capture(out, sizeof(out), "%s/weft --bpffs %s policy --json",
					   weft_test_bindir(), tenv_bpffs()), "weft policy --json")) {
			for (const char *q = out; (q = strstr(q, "\"1-65535\"")); q++)
				ranges++;
			ASSERT_EQ(ranges, 3, "weft policy: one 1-65535 rule a peer, its blocks merged");
			ASSERT_TRUE(!strstr(out, "32768-65535"), "no block shown alone");
		}
	}
	/* be3: app web too, but of namespace other: not a selected peer. */
	c = fork();
	if (c == 0)
		_exit(tenv_enter("be3", true) ? 2 : conn(BE1, 80, NULL) >= 0 ? 0 : 1);
	ASSERT_TRUE(c > 0 && waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 1,
		    "be3 -> web:80: a peer not selected, dropped");
	if (!ASSERT_OK(tenv_enter("cli", true), "enter the client pod"))
		goto out;
	for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
		char what[64];
		int fd = conn(BE1, ports[i], NULL);

		snprintf(what, sizeof(what), "cli -> web:%u allowed", ports[i]);
		ASSERT_TRUE(fd >= 0, what);
		if (fd >= 0)
			close(fd);
	}
	ASSERT_GE(tenv_stat(WEFT_STAT_POL_TC_INGRESS_DENY), 1, "the drop of be3's SYN counted");
out:
	if (n.weftd > 0) {
		kill(n.weftd, SIGTERM);
		waitpid(n.weftd, NULL, 0);
	}
}
