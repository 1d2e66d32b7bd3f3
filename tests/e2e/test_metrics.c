// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * e2e: weftd's /metrics, /healthz and /readyz. Known traffic goes through a
 * VIP from a client pod; the counts are read back from a scrape (linted by
 * promtool) and through a real Prometheus server's query API. Garbage and
 * idle connections must not hurt the server.
 */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "model/model.h"
#include "harness.h"
#include "testenv.h"

#define VIP "10.250.100.1"

/* A TCP port on 127.0.0.1 that nothing listens on right now. */
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

static int connect_local(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct timeval tv = { .tv_sec = 30 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Send raw bytes, read the answer to EOF; returns the HTTP status (0 if the
 * answer is not HTTP, -1 if no connection). The body goes to body. */
static int http_raw(int port, const char *req, size_t reqlen, char *body, size_t len)
{
	char *buf = malloc(1 << 20), *b;
	size_t got = 0;
	ssize_t n;
	int fd = connect_local(port), status = 0;

	if (body && len)
		body[0] = 0;
	if (fd < 0 || !buf) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (reqlen && write(fd, req, reqlen) < 0) {
		/* the server may close early: read what it said */
	}
	while (got + 1 < (1 << 20) && (n = read(fd, buf + got, (1 << 20) - 1 - got)) > 0)
		got += n;
	buf[got] = 0;
	close(fd);
	if (sscanf(buf, "HTTP/1.1 %d", &status) != 1)
		status = 0;
	b = strstr(buf, "\r\n\r\n");
	if (b && body)
		snprintf(body, len, "%s", b + 4);
	free(buf);
	return status;
}

static int http_get(int port, const char *path, char *body, size_t len)
{
	char req[2048];
	int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);

	return http_raw(port, req, n, body, len);
}

/* The value of the sample whose line starts with series + " ", or -1. */
static long long sample(const char *text, const char *series)
{
	size_t n = strlen(series);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, series, n) && p[n] == ' ')
			return atoll(p + n + 1);
	return -1;
}

/* Percent-encode a PromQL query for a URL. */
static void urlenc(const char *s, char *out, size_t len)
{
	size_t o = 0;

	for (; *s && o + 4 < len; s++) {
		if (isalnum((unsigned char)*s) || strchr("_.-~", *s))
			out[o++] = *s;
		else
			o += snprintf(out + o, len - o, "%%%02X", (unsigned char)*s);
	}
	out[o] = 0;
}

/* Ask Prometheus for query; the single result's value, or -1. */
static long long prom_query(int port, const char *query)
{
	char path[2048], enc[1536], body[8192], *v;
	long long val = -1;

	urlenc(query, enc, sizeof(enc));
	snprintf(path, sizeof(path), "/api/v1/query?query=%s", enc);
	if (http_get(port, path, body, sizeof(body)) != 200 || !strstr(body, "\"status\":\"success\""))
		return -1;
	/* {"status":"success","data":{"resultType":"vector","result":[{"metric":{...},"value":[T,"30"]}]}} */
	v = strstr(body, "\"value\":[");
	if (v && strstr(v + 1, "\"value\":[") == NULL) {
		v = strchr(v, ',');
		if (v && v[1] == '"')
			val = atoll(v + 2);
	}
	return val;
}

#define SVC_HTTP "destination_service_name=\"web\",destination_service_namespace=\"default\",protocol=\"tcp\",port_name=\"http\""
#define SVC_DNS "destination_service_name=\"web\",destination_service_namespace=\"default\",protocol=\"udp\",port_name=\"dns\""
#define SVC_EMPTY "destination_service_name=\"empty\",destination_service_namespace=\"default\",protocol=\"tcp\",port_name=\"\""

#define TCP_CONNS (30 + ECHO_CONNS)

struct traffic {
	int hits[2];	/* connections answered by be1, be2 */
	int fails;
};

#define ECHO_CONNS 10
#define ECHO_BYTES 1000

/* One connection to namesrv with known bytes: it sends "NAME\n", then we
 * send n bytes and read them back. The backend's name into out. */
static int echo_ask(const char *addr, uint16_t port, size_t n, char *out, size_t len)
{
	struct timeval tv = { .tv_sec = 2 };
	struct sockaddr_storage ss;
	char buf[ECHO_BYTES], c;
	size_t got = 0, o = 0;
	socklen_t sl;
	ssize_t r;
	int fd, err = -EIO;

	if (n > sizeof(buf) || weft_sockaddr(addr, port, false, &ss, &sl) < 0)
		return -EINVAL;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&ss, sl))
		goto out;
	while (o + 1 < len && read(fd, &c, 1) == 1 && c != '\n')
		out[o++] = c;
	out[o] = 0;
	memset(buf, 'w', n);
	if (write(fd, buf, n) != (ssize_t)n)
		goto out;
	while (got < n && (r = read(fd, buf, n - got)) > 0)
		got += r;
	err = got == n ? 0 : -EIO;
out:
	close(fd);
	return err;
}

/* From the client pod: 30 TCP connections that read the backend's name,
 * 10 that also send ECHO_BYTES and read them back, 5 UDP datagrams, 4
 * refusals. */
static bool drive(struct traffic *t)
{
	int p[2], st;
	pid_t pid;

	if (pipe(p) < 0)
		return false;
	pid = fork();
	if (pid == 0) {
		struct traffic r = { { 0, 0 }, 0 };
		char name[64];

		close(p[0]);
		if (tenv_enter("cli", true))
			_exit(1);
		for (int i = 0; i < 30; i++) {
			if (tenv_tcp_ask(VIP, 80, NULL, false, name, sizeof(name), NULL, 0))
				r.fails++;
			else if (!strcmp(name, "be1"))
				r.hits[0]++;
			else if (!strcmp(name, "be2"))
				r.hits[1]++;
		}
		for (int i = 0; i < ECHO_CONNS; i++) {
			if (echo_ask(VIP, 80, ECHO_BYTES, name, sizeof(name)))
				r.fails++;
			else if (!strcmp(name, "be1"))
				r.hits[0]++;
			else if (!strcmp(name, "be2"))
				r.hits[1]++;
		}
		for (int i = 0; i < 5; i++)
			r.fails += tenv_udp_ask(VIP, 53, false, false, name, sizeof(name), NULL, 0) != 0;
		for (int i = 0; i < 4; i++)
			r.fails += tenv_tcp_ask("10.250.100.2", 80, NULL, false, name, sizeof(name),
						NULL, 0) != -ECONNREFUSED;
		_exit(write(p[1], &r, sizeof(r)) == sizeof(r) ? 0 : 1);
	}
	close(p[1]);
	st = read(p[0], t, sizeof(*t)) == sizeof(*t);
	close(p[0]);
	waitpid(pid, NULL, 0);
	return st;
}

struct mnode {
	char dir[128];
	char config[256];
	int port;
	pid_t weftd;
};

/* The node's weft.yaml: metrics: gets metrics_extra, services: more
 * (each may be ""). */
static void mnode_text(const struct mnode *n, char *text, size_t len, const char *dp_extra,
		       const char *metrics_extra, const char *more)
{
	/* be1 is a known endpoint (workload "shop-api"); be2 is not. */
	snprintf(text, len,
		 "datapath:\n  cgroup: %s\n  bpffs: %s\n%s"
		 "metrics:\n  listen: \"127.0.0.1:%d\"\n%s"
		 "endpoints:\n  - {name: shop-api, namespace: shop, ip: 10.250.0.21}\n"
		 "services:\n"
		 "  - name: web\n    vip: " VIP "\n"
		 "    ports:\n"
		 "      - {name: http, port: 80, target_port: 8080, protocol: tcp}\n"
		 "      - {name: dns, port: 53, target_port: 8080, protocol: udp}\n"
		 "    backends: [{ip: 10.250.0.21}, {ip: 10.250.0.22}]\n"
		 "  - name: empty\n    vip: 10.250.100.2\n    ports: [{port: 80}]\n%s",
		 tenv_cgroup(), tenv_bpffs(), dp_extra, n->port, metrics_extra, more);
}

/* A new version of a ConfigMap volume in dir, as kubelet writes one: the
 * files in a fresh ..VERSION directory, a ..data_tmp symlink to it
 * renamed over ..data (one atomic swap), weft.yaml -> ..data/weft.yaml
 * (made once). 0 or -1. */
static int cm_version(const char *dir, const char *version, const char *text)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/..%s", dir, version);
	if (tenv_sh("mkdir -p %s", path))
		return -1;
	snprintf(path, sizeof(path), "%s/..%s/weft.yaml", dir, version);
	if (tenv_write_file(path, text))
		return -1;
	return tenv_sh("cd %s && ln -sfn ..%s ..data_tmp && mv -T ..data_tmp ..data && "
		       "{ [ -L weft.yaml ] || ln -s ..data/weft.yaml weft.yaml; }", dir, version);
}

/* weftd with the node's config (metrics_extra under metrics:, more
 * services), in a ConfigMap-style directory if cm. */
static bool mnode_boot(struct mnode *n, const char *dp_extra, const char *metrics_extra,
		       const char *more, bool cm)
{
	static const char *const ips[] = { "10.250.0.21", "10.250.0.22" };
	static const char *const pods[] = { "be1", "be2" };
	char text[4096], bin[512];

	tenv_need_root();
	snprintf(n->dir, sizeof(n->dir), "%s", tenv_dir());
	snprintf(n->config, sizeof(n->config), "%s%s/weft.yaml", n->dir, cm ? "/cm" : "");
	if (!ASSERT_OK(tenv_pod("cli", "10.250.0.10", NULL), "client pod"))
		return false;
	for (int i = 0; i < 2; i++)
		if (!ASSERT_OK(tenv_pod(pods[i], ips[i], NULL), "backend pod") ||
		    !ASSERT_TRUE(tenv_namesrv(pods[i], pods[i], ips[i], 8080) > 0, "namesrv"))
			return false;
	n->port = free_port();
	if (!ASSERT_TRUE(n->port > 0, "a free port"))
		return false;
	mnode_text(n, text, sizeof(text), dp_extra, metrics_extra, more);
	if (cm) {
		char cmdir[256];

		snprintf(cmdir, sizeof(cmdir), "%s/cm", n->dir);
		if (!ASSERT_OK(cm_version(cmdir, "2026_a", text), "ConfigMap-style config"))
			return false;
	} else if (!ASSERT_OK(tenv_write_file(n->config, text), "config")) {
		return false;
	}
	snprintf(bin, sizeof(bin), "%s/weftd", weft_test_bindir());
	char *argv[] = { bin, "--config", n->config, "--log-level", "warn", NULL };
	n->weftd = tenv_spawn(NULL, false, false, argv);
	if (!ASSERT_TRUE(n->weftd > 0, "weftd spawned"))
		return false;
	for (long long end = tenv_now_ms() + 10000; tenv_now_ms() < end; usleep(50000)) {
		if (http_get(n->port, "/readyz", NULL, 0) == 200)
			return true;
		if (waitpid(n->weftd, NULL, WNOHANG) == n->weftd)
			break;
	}
	return ASSERT_TRUE(false, "weftd ready (/readyz 200) within 10 s");
}

static bool mnode_up(struct mnode *n)
{
	return mnode_boot(n, "", "", "", false);
}

/* From the client pod: a TCP connection to addr:80, the answering
 * backend's name into out. 0 or -errno. */
static int cli_ask(const char *addr, char *out, size_t len)
{
	char name[64] = "";
	int p[2], ret = -EIO;
	pid_t pid;

	if (pipe(p) < 0)
		return -errno;
	pid = fork();
	if (pid == 0) {
		int r;

		close(p[0]);
		r = tenv_enter("cli", true) ? -EPERM :
		    tenv_tcp_ask(addr, 80, NULL, false, name, sizeof(name), NULL, 0);
		_exit(write(p[1], &r, sizeof(r)) == sizeof(r) && write(p[1], name, sizeof(name)) ==
		      sizeof(name) ? 0 : 1);
	}
	close(p[1]);
	if (pid > 0 && read(p[0], &ret, sizeof(ret)) == sizeof(ret) &&
	    read(p[0], name, sizeof(name)) == sizeof(name))
		snprintf(out, len, "%.*s", (int)sizeof(name) - 1, name);
	else
		ret = -EIO;
	close(p[0]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	return ret;
}

TEST_TIMEOUT(e2e, metrics_count_known_traffic_and_prometheus_scrapes_them, 120)
{
	static char body[1 << 20];
	char out[8192], path[512], cmd[2048], q[512];
	struct traffic t;
	struct mnode n;
	long long v = -1;
	int pport;
	pid_t prom;

	if (!mnode_up(&n))
		return;
	ASSERT_EQ(http_get(n.port, "/healthz", body, sizeof(body)), 200, "/healthz");
	if (!ASSERT_TRUE(drive(&t), "traffic from the client pod"))
		return;
	ASSERT_EQ(t.fails, 0, "every connection, datagram and refusal as expected");

	if (!ASSERT_EQ(http_get(n.port, "/metrics", body, sizeof(body)), 200, "/metrics"))
		return;
	ASSERT_EQ(sample(body, "weft_service_connections_total{" SVC_HTTP "}"), TCP_CONNS, body);
	ASSERT_EQ(sample(body, "weft_service_datagrams_total{" SVC_DNS "}"), 5, "UDP datagrams");
	ASSERT_EQ(sample(body, "weft_service_refused_total{" SVC_EMPTY "}"), 4, "refusals");
	ASSERT_EQ(sample(body, "weft_service_refused_total{" SVC_HTTP "}"), 0, "no refusals for web");
	ASSERT_EQ(sample(body, "weft_backend_connections_total{" SVC_HTTP
			 ",destination_workload=\"shop-api\",destination_workload_namespace=\"shop\","
			 "destination_cluster=\"Kubernetes\"}"),
		  t.hits[0], "be1's connections, named by its endpoint");
	ASSERT_EQ(sample(body, "weft_backend_connections_total{" SVC_HTTP
			 ",destination_workload=\"unknown\",destination_workload_namespace=\"unknown\","
			 "destination_cluster=\"Kubernetes\"}"),
		  t.hits[1], "be2's connections, not an endpoint: unknown");
	ASSERT_GE(sample(body, "weft_datapath_events_total{event=\"translated\"}"), 35, "stats");
	ASSERT_EQ(sample(body, "weft_services"), 2, "services");
	ASSERT_EQ(sample(body, "weft_config_generation"), 1, "generation");
	ASSERT_EQ(sample(body, "weft_program_attached{program=\"weft_connect4\"}"), 1, "attached");
	ASSERT_EQ(sample(body, "weft_map_entries{map=\"weft_svc\"}"), 3, "weft_svc entries");
	ASSERT_TRUE(strstr(body, "10.250.") == NULL, "no addresses in the metrics");

	/* The CLI reads the same from the pins. */
	ASSERT_OK(tenv_capture(out, sizeof(out), "%s/weft --bpffs %s status --json",
			       weft_test_bindir(), tenv_bpffs()), "weft status --json");
	ASSERT_TRUE(tenv_json_plain(out, sizeof(out)), out);
	snprintf(cmd, sizeof(cmd), "\"weftd\":{\"pid\":%d,\"alive\":true}", (int)n.weftd);
	ASSERT_TRUE(strstr(out, cmd) && strstr(out, "\"generation\":1,"), out);
	ASSERT_TRUE(strstr(out, "{\"name\":\"weft_svc\",\"entries\":3,\"capacity\":65536}"), out);
	ASSERT_TRUE(strstr(out, "{\"name\":\"weft_connect4\",\"attached\":true}"), out);
	ASSERT_OK(tenv_capture(out, sizeof(out), "%s/weft --bpffs %s map list --json",
			       weft_test_bindir(), tenv_bpffs()), "weft map list --json");
	ASSERT_TRUE(tenv_json_plain(out, sizeof(out)), out);
	ASSERT_TRUE(strstr(out, "{\"name\":\"weft_svc_cnt_v2\",\"type\":\"percpu_hash\",\"key_size\":4,"
			   "\"value_size\":48,\"entries\":3,"), out);
	ASSERT_OK(tenv_capture(out, sizeof(out), "%s/weft --bpffs %s map dump weft_svc_meta --json",
			       weft_test_bindir(), tenv_bpffs()), "weft map dump --json");
	ASSERT_TRUE(tenv_json_plain(out, sizeof(out)), out);
	ASSERT_TRUE(strstr(out, "\"value\":{\"name\":\"web\",\"ns\":\"default\",\"port_name\":\"http\","), out);
	ASSERT_OK(tenv_capture(out, sizeof(out), "%s/weft --bpffs %s map dump weft_be_cnt_v2",
			       weft_test_bindir(), tenv_bpffs()), "weft map dump");
	ASSERT_TRUE(strstr(out, "key: { \"svc_id\": ") && strstr(out, "cpu0: { \"connects\": "), out);
	ASSERT_EQ(tenv_capture(out, sizeof(out), "%s/weft --bpffs /nonexistent status 2>&1",
			       weft_test_bindir()), 4, "no pins: exit 4 (WEFT_EXIT_NO_PINS)");
	ASSERT_TRUE(strstr(out, "/nonexistent/weft_info") && strstr(out, "wrong --bpffs"), out);
	ASSERT_EQ(tenv_capture(out, sizeof(out), "%s/weft --bpffs %s map dump weft_nope 2>&1",
			       weft_test_bindir(), tenv_bpffs()), 1, "unknown map: exit 1");

	/* promtool lints a real scrape. */
	snprintf(path, sizeof(path), "%s/scrape.txt", n.dir);
	tenv_write_file(path, body);
	if (system("command -v promtool >/dev/null 2>&1") != 0)
		SKIP("promtool not installed (make deps installs the prometheus package)");
	ASSERT_EQ(tenv_capture(out, sizeof(out), "promtool check metrics < %s 2>&1", path), 0, out);

	/* A real Prometheus scrapes weftd every second. */
	pport = free_port();
	snprintf(path, sizeof(path), "%s/prometheus.yml", n.dir);
	snprintf(cmd, sizeof(cmd),
		 "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
		 "scrape_configs:\n  - job_name: weft\n    static_configs: [{targets: ['127.0.0.1:%d']}]\n",
		 n.port);
	tenv_write_file(path, cmd);
	snprintf(cmd, sizeof(cmd),
		 "exec prometheus --config.file=%s --storage.tsdb.path=%s/tsdb "
		 "--web.listen-address=127.0.0.1:%d >%s/prometheus.log 2>&1",
		 path, n.dir, pport, n.dir);
	char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	prom = tenv_spawn(NULL, false, false, argv);
	if (!ASSERT_TRUE(prom > 0, "prometheus started"))
		return;
	snprintf(q, sizeof(q), "weft_service_connections_total{destination_service_name=\"web\",port_name=\"http\"}");
	for (long long end = tenv_now_ms() + 40000; tenv_now_ms() < end && v != TCP_CONNS; usleep(250000))
		v = prom_query(pport, q);
	ASSERT_EQ(v, TCP_CONNS, "Prometheus sees the 40 connections (within 40 s)");
	ASSERT_EQ(prom_query(pport, "weft_service_datagrams_total{port_name=\"dns\"}"), 5, "datagrams");
	ASSERT_EQ(prom_query(pport, "weft_service_refused_total{destination_service_name=\"empty\"}"), 4,
		  "refusals");
	ASSERT_EQ(prom_query(pport, "sum(weft_backend_connections_total{port_name=\"http\"})"), TCP_CONNS,
		  "backends sum to the service");
	/* Istio's TCP metrics, from the kernel: every connection opened and
	 * closed, exactly the bytes each way, at both ends (namesrv runs in
	 * the cgroup too), and RTT and connect-time samples. */
	for (int r = 0; r < 2; r++) {
		static const char *const rep[] = { "source", "destination" };
		static const char *const fam[] = {
			"weft_tcp_connections_opened_total", "weft_tcp_connections_closed_total",
			"weft_tcp_received_bytes_total", "weft_tcp_sent_bytes_total",
		};
		const long long want[] = { TCP_CONNS, TCP_CONNS, ECHO_CONNS * ECHO_BYTES,
					   TCP_CONNS * 4 + ECHO_CONNS * ECHO_BYTES };

		for (int i = 0; i < 4; i++) {
			snprintf(q, sizeof(q), "sum(%s{reporter=\"%s\",destination_service_name=\"web\","
				 "destination_service_namespace=\"default\",destination_service="
				 "\"web.default.svc.cluster.local\",request_protocol=\"tcp\"})", fam[i], rep[r]);
			v = -1;
			for (long long end = tenv_now_ms() + 10000; tenv_now_ms() < end && v != want[i];
			     usleep(250000))
				v = prom_query(pport, q);
			ASSERT_EQ(v, want[i], q);
		}
	}
	snprintf(q, sizeof(q), "sum(weft_tcp_connections_opened_total{reporter=\"source\","
		 "source_workload=\"unknown\",destination_workload=\"shop-api\","
		 "destination_workload_namespace=\"shop\"})");
	ASSERT_EQ(prom_query(pport, q), t.hits[0], "be1's connections, named by its endpoint");
	ASSERT_EQ(prom_query(pport, "sum(weft_tcp_connections_active{destination_service_name=\"web\"})"), 0,
		  "none open now");
	ASSERT_EQ(prom_query(pport, "sum(weft_tcp_connect_duration_seconds_count{reporter=\"source\","
				    "destination_service_name=\"web\"})"), TCP_CONNS,
		  "one connect-time sample per connection");
	ASSERT_GE(prom_query(pport, "sum(weft_tcp_rtt_seconds_count{destination_service_name=\"web\"})"), 1,
		  "RTT samples");
	ASSERT_EQ(prom_query(pport, "up{job=\"weft\"}"), 1, "the scrape target is up");
	kill(prom, SIGTERM);
	waitpid(prom, NULL, 0);
}

TEST(e2e, metrics_server_survives_garbage_and_idle_clients)
{
	static char body[1 << 20];
	static char big[64 << 10];
	static const char *const junk[] = {
		"\r\n\r\n", "GET\r\n\r\n", "GET / HTTP/9.9\r\n\r\n", "DELETE /metrics HTTP/1.1\r\n\r\n",
		"\x16\x03\x01\x02\x05\x01\x7f\x01\xfc\x03\x03", "GET /metrics HTTP/1.1\r\n",
		"GET /../../etc/passwd HTTP/1.1\r\n\r\n", "GET /metrics HTTP/1.1\r\nX\r\n\r\n",
	};
	struct mnode n;
	int idle, st;
	char c;
	long long t0;

	if (!mnode_up(&n))
		return;
	idle = connect_local(n.port); /* says nothing */
	if (!ASSERT_TRUE(idle >= 0, "idle connection"))
		return;
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		int fd = connect_local(n.port);

		/* Half a request, then hang up. */
		if (fd >= 0 && write(fd, junk[i], strlen(junk[i]) / 2) >= 0)
			close(fd);
	}
	ASSERT_EQ(http_raw(n.port, junk[0], strlen(junk[0]), NULL, 0), 400, "empty request line");
	ASSERT_EQ(http_raw(n.port, junk[3], strlen(junk[3]), NULL, 0), 405, "DELETE");
	ASSERT_EQ(http_raw(n.port, junk[6], strlen(junk[6]), NULL, 0), 404, "unknown path");
	ASSERT_EQ(http_raw(n.port, junk[7], strlen(junk[7]), NULL, 0), 400, "bad header");
	ASSERT_EQ(http_raw(n.port, junk[4], strlen(junk[4]), NULL, 0), 400, "TLS hello");
	memset(big, 'A', sizeof(big));
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	ASSERT_EQ(http_raw(n.port, big, sizeof(big), NULL, 0), 431, "64 KiB of header");
	/* Many at once, more than the server holds. */
	{
		int fds[48];

		for (int i = 0; i < 48; i++)
			fds[i] = connect_local(n.port);
		for (int i = 0; i < 48; i++)
			if (fds[i] >= 0)
				close(fds[i]);
	}
	ASSERT_EQ(http_get(n.port, "/metrics", body, sizeof(body)), 200, "/metrics after the garbage");
	ASSERT_TRUE(strstr(body, "# TYPE weft_service_connections_total counter") != NULL, "a real scrape");
	ASSERT_EQ(http_get(n.port, "/healthz", NULL, 0), 200, "/healthz");
	/* The idle client is cut off after the idle limit (2 s, counted from
	 * its connect). */
	t0 = tenv_now_ms();
	ASSERT_EQ(read(idle, &c, 1), 0, "the idle connection is closed by weftd");
	ASSERT_LE(tenv_now_ms() - t0, 4000, "within the idle limit");
	close(idle);
	ASSERT_EQ(waitpid(n.weftd, &st, WNOHANG), 0, "weftd is still running");
}

TEST(e2e, metrics_listen_empty_disables_the_server)
{
	struct mnode n;
	char text[4096];
	uint64_t gen = 0;

	if (!mnode_up(&n))
		return;
	kill(n.weftd, SIGTERM);
	waitpid(n.weftd, NULL, 0);
	snprintf(text, sizeof(text), "datapath:\n  cgroup: %s\n  bpffs: %s\nmetrics:\n  listen: \"\"\n",
		 tenv_cgroup(), tenv_bpffs());
	tenv_write_file(n.config, text);
	{
		char bin[512];

		snprintf(bin, sizeof(bin), "%s/weftd", weft_test_bindir());
		char *argv[] = { bin, "--config", n.config, "--log-level", "error", NULL };
		n.weftd = tenv_spawn(NULL, false, false, argv);
	}
	/* Wait for the apply that removes the services (weft services shows none). */
	for (long long end = tenv_now_ms() + 10000; tenv_now_ms() < end; usleep(50000)) {
		char out[4096];

		if (tenv_capture(out, sizeof(out), "%s/weft --bpffs %s services --json",
				 weft_test_bindir(), tenv_bpffs()) == 0 && tenv_json_plain(out, sizeof(out)) &&
		    strstr(out, "\"items\":[]")) {
			gen = 1;
			break;
		}
	}
	ASSERT_EQ(gen, 1, "weftd applied the new config");
	ASSERT_EQ(http_get(n.port, "/healthz", NULL, 0), -1, "nothing listens");
	ASSERT_EQ(waitpid(n.weftd, NULL, WNOHANG), 0, "weftd runs without a metrics server");
}

#define VIP2 "10.250.100.3"
#define WEB2 "  - name: web2\n    vip: " VIP2 "\n    ports: [{port: 80, target_port: 8080}]\n" \
	     "    backends: [{ip: 10.250.0.22}]\n"

/* kubelet's update of a ConfigMap volume reaches weftd without a signal;
 * a bad version changes nothing and is counted. */
TEST_TIMEOUT(e2e, config_map_symlink_swap_reloads_without_a_signal, 90)
{
	static char body[1 << 20];
	char text[4096], cmdir[256], name[64] = "";
	struct mnode n;
	int r = -1;

	if (!mnode_boot(&n, "", "", "", true))
		return;
	snprintf(cmdir, sizeof(cmdir), "%s/cm", n.dir);
	ASSERT_OK(cli_ask(VIP, name, sizeof(name)), "web answers");
	ASSERT_EQ(http_get(n.port, "/metrics", body, sizeof(body)), 200, "/metrics");
	ASSERT_EQ(sample(body, "weft_config_reload_failures_total"), 0, "no refused reload yet");

	/* One more service: ..data swapped to ..2026_b, the old version removed. */
	mnode_text(&n, text, sizeof(text), "", "", WEB2);
	if (!ASSERT_OK(cm_version(cmdir, "2026_b", text), "new version") ||
	    !ASSERT_OK(tenv_sh("rm -rf %s/..2026_a", cmdir), "old version gone"))
		return;
	for (long long end = tenv_now_ms() + 10000; tenv_now_ms() < end && r; usleep(100000))
		r = cli_ask(VIP2, name, sizeof(name));
	ASSERT_OK(r, "web2's VIP answers within 10 s, no SIGHUP");
	ASSERT_STR(name, "be2", "web2's one backend");
	ASSERT_EQ(http_get(n.port, "/metrics", body, sizeof(body)), 200, "/metrics");
	ASSERT_EQ(sample(body, "weft_config_generation"), 2, "one reload");

	/* A bad version (and without web2): refused whole, counted. */
	mnode_text(&n, text, sizeof(text), "", "", "  - name: bad\n    vip: 10.250.100.x\n    ports: [{port: 80}]\n");
	if (!ASSERT_OK(cm_version(cmdir, "2026_c", text), "bad version"))
		return;
	long long fails = -1;

	for (long long end = tenv_now_ms() + 10000; tenv_now_ms() < end && fails != 1; usleep(100000))
		if (http_get(n.port, "/metrics", body, sizeof(body)) == 200)
			fails = sample(body, "weft_config_reload_failures_total");
	ASSERT_EQ(fails, 1, "the bad version is counted within 10 s");
	ASSERT_EQ(sample(body, "weft_config_generation"), 2, "and not applied");
	ASSERT_OK(cli_ask(VIP2, name, sizeof(name)), "web2 still answers");
	ASSERT_STR(name, "be2", "from its backend");
	ASSERT_OK(cli_ask(VIP, name, sizeof(name)), "web still answers");
	ASSERT_EQ(waitpid(n.weftd, NULL, WNOHANG), 0, "weftd still running");
}

/* A service and an endpoint removed from the config take their series
 * with them: service, backend, TCP and histogram families. */
TEST_TIMEOUT(e2e, series_of_deleted_services_and_endpoints_disappear, 90)
{
	static char body[1 << 20];
	char text[4096], name[64];
	struct mnode n;
	long long gen = -1;

	if (!mnode_up(&n))
		return;
	for (int i = 0; i < 6; i++)
		ASSERT_OK(cli_ask(VIP, name, sizeof(name)), "web answers");
	if (!ASSERT_EQ(http_get(n.port, "/metrics", body, sizeof(body)), 200, "/metrics"))
		return;
	ASSERT_EQ(sample(body, "weft_service_connections_total{" SVC_HTTP "}"), 6, "web's series");
	ASSERT_TRUE(strstr(body, "\nweft_tcp_connections_opened_total{reporter=\"source\",") &&
		    strstr(body, "destination_service_name=\"web\",destination_service_namespace=\"default\",request_protocol=\"tcp\",source_canonical_service="),
		    "web's TCP series");
	ASSERT_TRUE(strstr(body, "destination_workload=\"shop-api\""), "the endpoint's series");
	ASSERT_TRUE(strstr(body, "\nweft_tcp_connect_duration_seconds_count{reporter=\"source\","), "histograms");

	/* web and the endpoint shop-api gone (empty stays): the file's
	 * watch and the SIGHUP each reload. */
	snprintf(text, sizeof(text),
		 "datapath:\n  cgroup: %s\n  bpffs: %s\nmetrics:\n  listen: \"127.0.0.1:%d\"\n"
		 "services:\n  - name: empty\n    vip: 10.250.100.2\n    ports: [{port: 80}]\n",
		 tenv_cgroup(), tenv_bpffs(), n.port);
	if (!ASSERT_OK(tenv_write_file(n.config, text), "new config"))
		return;
	kill(n.weftd, SIGHUP);
	for (long long end = tenv_now_ms() + 10000; tenv_now_ms() < end && gen < 2; usleep(100000))
		if (http_get(n.port, "/metrics", body, sizeof(body)) == 200)
			gen = sample(body, "weft_config_generation");
	if (!ASSERT_GE(gen, 2, "reloaded within 10 s"))
		return;
	ASSERT_TRUE(!strstr(body, "destination_service_name=\"web\""), "no series of web left");
	ASSERT_TRUE(!strstr(body, "shop-api"), "no series of the removed endpoint");
	ASSERT_TRUE(!strstr(body, "\nweft_tcp_connections_opened_total{reporter=\"source\","),
		    "web's client-side totals deleted, not renamed unknown");
	ASSERT_TRUE(!strstr(body, "\nweft_tcp_connect_duration_seconds_count{"), "and its histograms");
	ASSERT_TRUE(strstr(body, "destination_service_name=\"empty\""), "the kept service's series stay");
}

/* A step that fails is counted by step; /readyz says which; the next
 * good version clears readiness but not the counter. */
TEST_TIMEOUT(e2e, apply_failures_are_counted_by_step, 90)
{
	static char body[1 << 20];
	char text[4096];
	struct mnode n;
	long long fails = -1;

	/* web's two ports and empty's one fill weft_svc. */
	if (!mnode_boot(&n, "  max_services: 3\n", "", "", false))
		return;
	ASSERT_EQ(http_get(n.port, "/metrics", body, sizeof(body)), 200, "/metrics");
	ASSERT_EQ(sample(body, "weft_apply_failures_total{step=\"services\"}"), 0, "none yet");
	/* One more service port than the map holds. */
	mnode_text(&n, text, sizeof(text), "  max_services: 3\n", "", WEB2);
	if (!ASSERT_OK(tenv_write_file(n.config, text), "too big a config"))
		return;
	kill(n.weftd, SIGHUP);
	for (long long end = tenv_now_ms() + 10000; tenv_now_ms() < end && fails < 1; usleep(100000))
		if (http_get(n.port, "/metrics", body, sizeof(body)) == 200)
			fails = sample(body, "weft_apply_failures_total{step=\"services\"}");
	ASSERT_EQ(fails, 1, "the services step's failure, counted within 10 s");
	ASSERT_EQ(sample(body, "weft_apply_failures_total{step=\"policy\"}"), 0, "by step");
	ASSERT_EQ(http_get(n.port, "/readyz", body, sizeof(body)), 503, "not ready");
	ASSERT_TRUE(strstr(body, "services: "), body);
}

/* The policy of issue 12 that stopped the node: ports 1-65535 from three
 * selectors. It was 3 x 65535 entries, over the default max_policy / 2 =
 * 131072; now 3 x 16 blocks and a marker (e2e/policy_full_port_range_...),
 * so over budget only under a small datapath.max_policy: 64 (32 an epoch). */
#define BIG_POLICY                                                                         \
	"  - name: big\n    selector: {app: web}\n    ingress:\n"                              \
	"      - from: [{selector: {app: client}}, {selector: {app: a}}, {selector: {app: b}}]\n" \
	"        ports: [{port: 1, end_port: 65535}]\n"

/*
 * A policy that does not fit its map budget is rejected alone (issue 12):
 * weftd starts, the VIP works, the policy after it applies; the error names
 * the policy (file:line:col) on /readyz (503) and it is counted on /metrics
 * (weft_config_rejected_total). Removing it makes the node ready.
 */
TEST_TIMEOUT(e2e, metrics_policy_over_budget_is_rejected_alone, 90)
{
	static char body[1 << 20], out[65536];
	char text[4096], bin[512], dir[128], config[256], name[64] = "";
	int port, st = -1;
	pid_t weftd, c;

	tenv_need_root();
	snprintf(dir, sizeof(dir), "%s", tenv_dir());
	snprintf(config, sizeof(config), "%s/weft.yaml", dir);
	port = free_port();
	if (!ASSERT_OK(tenv_pod("cli", "10.250.0.10", NULL), "client pod") ||
	    !ASSERT_OK(tenv_pod("be1", "10.250.0.21", NULL), "web pod") ||
	    !ASSERT_TRUE(tenv_namesrv("be1", "web", "10.250.0.21", 8080) > 0, "namesrv") ||
	    !ASSERT_TRUE(port > 0, "a free port"))
		return;
#define ISO_HEAD                                                                           \
	"datapath:\n  cgroup: %s\n  bpffs: %s\n  max_policy: 64\n"                                \
	"metrics:\n  listen: \"127.0.0.1:%d\"\n"                                                 \
	"endpoints:\n"                                                                         \
	"  - {name: cli, ip: 10.250.0.10, labels: {app: client}}\n"                            \
	"  - {name: web, ip: 10.250.0.21, labels: {app: web}}\n"                               \
	"  - {name: a, ip: 10.250.0.31, labels: {app: a}}\n"                                   \
	"  - {name: b, ip: 10.250.0.32, labels: {app: b}}\n"                                   \
	"services:\n"                                                                          \
	"  - {name: web, vip: " VIP ", ports: [{port: 80, target_port: 8080}], backends: [{ip: 10.250.0.21}]}\n" \
	"policies:\n"
#define WEB_IN                                                                             \
	"  - name: web-in\n    selector: {app: web}\n    ingress:\n"                           \
	"      - from: [{selector: {app: client}}]\n        ports: [{port: 8080}]\n"
	snprintf(text, sizeof(text), ISO_HEAD BIG_POLICY WEB_IN, tenv_cgroup(), tenv_bpffs(), port);
	if (!ASSERT_OK(tenv_write_file(config, text), "config"))
		return;
	snprintf(bin, sizeof(bin), "%s/weftd", weft_test_bindir());
	char *argv[] = { bin, "--config", config, "--log-level", "warn", NULL };
	weftd = tenv_spawn(NULL, false, false, argv);
	if (!ASSERT_TRUE(weftd > 0, "weftd spawned") ||
	    !ASSERT_TRUE(tenv_wait_applied(weftd, 1), "weftd started and applied"))
		goto out;
	for (long long end = tenv_now_ms() + 10000; tenv_now_ms() < end; usleep(50000))
		if (http_get(port, "/readyz", body, sizeof(body)) > 0)
			break;
	ASSERT_EQ(http_get(port, "/readyz", body, sizeof(body)), 503,
		  "/readyz: not ready, the desired state is not all applied");
	ASSERT_TRUE(strstr(body, "weft.yaml:15:5: policy default/big:") != NULL,
		    "/readyz names the policy by its place");
	ASSERT_EQ(http_get(port, "/metrics", body, sizeof(body)), 200, "scrape");
	ASSERT_EQ(sample(body, "weft_config_rejected_total{kind=\"policy\",name=\"big\","
			       "namespace=\"default\",reason=\"map_budget\"}"),
		  1, "the rejection is counted, by the policy's name");
	ASSERT_EQ(tenv_capture(out, sizeof(out), "%s/weft --bpffs %s policy --json",
			       weft_test_bindir(), tenv_bpffs()), 0, "weft policy");
	ASSERT_TRUE(strstr(out, "web-in") != NULL, "the policy after it applied");
	ASSERT_TRUE(strstr(out, "\"big\"") == NULL, "the rejected one holds no entries");
	c = fork();
	if (c == 0)
		_exit(tenv_enter("cli", true) ||
		      tenv_tcp_ask(VIP, 80, NULL, false, name, sizeof(name), NULL, 0) || strcmp(name, "web"));
	ASSERT_TRUE(c > 0 && waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0,
		    "cli -> VIP: web answers");

	/* Without it the node is ready; the counter stays (it is a counter). */
	snprintf(text, sizeof(text), ISO_HEAD WEB_IN, tenv_cgroup(), tenv_bpffs(), port);
	if (!ASSERT_OK(tenv_write_file(config, text), "config without it"))
		goto out;
	kill(weftd, SIGHUP);
	ASSERT_TRUE(tenv_wait_applied(weftd, 2), "reload applied");
	ASSERT_EQ(http_get(port, "/readyz", NULL, 0), 200, "/readyz: ready");
	ASSERT_EQ(http_get(port, "/metrics", body, sizeof(body)), 200, "scrape");
	ASSERT_EQ(sample(body, "weft_config_rejected_total{kind=\"policy\",name=\"big\","
			       "namespace=\"default\",reason=\"map_budget\"}"),
		  1, "counted once");
#undef ISO_HEAD
#undef WEB_IN
out:
	kill(weftd, SIGTERM);
	waitpid(weftd, NULL, 0);
}
