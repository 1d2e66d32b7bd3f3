// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * e2e: weftd's HTTP server against hostile clients, from outside: early
 * hang-ups during a large scrape, idle and slow clients holding
 * connections, slow readers of a large scrape; then gzip and the process_*
 * metrics. The scrape is made large by the config: thousands of services,
 * each with its counters' series.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "harness.h"
#include "testenv.h"

/* Services in the config of the tests that need a large scrape: about
 * 1.2 KiB of series each. */
#define BIG_SERVICES 8000

struct hnode {
	char dir[128];
	char config[256];
	int port;
	pid_t weftd;
	time_t started;		/* wall clock, just before weftd was spawned */
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

/* A connection to weftd; rcvbuf > 0 sets SO_RCVBUF before connecting. */
static int hconnect(int port, int rcvbuf)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct timeval tv = { .tv_sec = 8 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool send_all(int fd, const char *s)
{
	size_t len = strlen(s);

	return send(fd, s, len, MSG_NOSIGNAL) == (ssize_t)len;
}

static bool send_get(int fd, const char *path, const char *headers)
{
	char req[1024];

	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%sConnection: close\r\n\r\n",
		 path, headers ? headers : "");
	return send_all(fd, req);
}

/* An answer read to EOF. */
struct ans {
	int status;		/* 0: not HTTP; -1: no connection */
	char head[2048];	/* status line and headers */
	char *body;		/* malloc'd, NUL-terminated */
	size_t len;
	long long clen;		/* Content-Length, -1 if none */
};

static void ans_free(struct ans *a)
{
	free(a->body);
	a->body = NULL;
}

/* The value of header name in a's head ("" if absent), into buf. */
static const char *header(const struct ans *a, const char *name, char *buf, size_t len)
{
	size_t n = strlen(name);

	buf[0] = 0;
	for (const char *p = strstr(a->head, "\r\n"); p && p[2] != '\r'; p = strstr(p + 2, "\r\n")) {
		if (!strncasecmp(p + 2, name, n) && p[2 + n] == ':') {
			const char *v = p + 3 + n, *e = strstr(v, "\r\n");

			while (*v == ' ')
				v++;
			snprintf(buf, len, "%.*s", (int)(e - v), v);
			break;
		}
	}
	return buf;
}

/* Read the answer on fd to EOF (closing fd). */
static void ans_read(int fd, struct ans *a)
{
	size_t cap = 1 << 20, got = 0;
	char *buf = malloc(cap), *b, cl[32];
	ssize_t n;

	memset(a, 0, sizeof(*a));
	a->clen = -1;
	while (buf && (n = recv(fd, buf + got, cap - 1 - got, 0)) > 0) {
		got += n;
		if (got + 1 == cap) {
			char *nb = realloc(buf, cap * 2);

			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
	}
	close(fd);
	if (!buf)
		return;
	buf[got] = 0;
	if (sscanf(buf, "HTTP/1.1 %d", &a->status) != 1)
		a->status = 0;
	b = strstr(buf, "\r\n\r\n");
	if (!b) {
		free(buf);
		return;
	}
	snprintf(a->head, sizeof(a->head), "%.*s", (int)(b + 2 - buf), buf);
	a->len = got - (b + 4 - buf);
	memmove(buf, b + 4, a->len + 1);
	a->body = buf;
	if (header(a, "Content-Length", cl, sizeof(cl))[0])
		a->clen = atoll(cl);
}

static int hget(int port, const char *path, const char *headers, struct ans *a)
{
	int fd = hconnect(port, 0);

	memset(a, 0, sizeof(*a));
	a->status = -1;
	if (fd < 0)
		return -1;
	if (!send_get(fd, path, headers)) {
		close(fd);
		return -1;
	}
	ans_read(fd, a);
	return a->status;
}

/* GET path; its status, and how long it took in *ms. */
static int timed_get(int port, const char *path, long long *ms)
{
	long long t0 = tenv_now_ms();
	struct ans a;
	int st = hget(port, path, NULL, &a);

	*ms = tenv_now_ms() - t0;
	ans_free(&a);
	return st;
}

/* weftd's resident set in KiB (/proc/PID/status VmRSS), -1 if unknown. */
static long vmrss_kib(pid_t pid)
{
	char path[64], line[256];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6))
			v = atol(line + 6);
	if (f)
		fclose(f);
	return v;
}

/* weftd with nservices services (each one TCP port, two backends that are
 * not endpoints), serving on a free loopback port; ready. */
static bool hnode_up(struct hnode *n, int nservices)
{
	size_t cap = 4096 + (size_t)nservices * 256, o;
	char bin[512], *text = malloc(cap);
	bool ok = false;

	tenv_need_root();
	memset(n, 0, sizeof(*n));
	snprintf(n->dir, sizeof(n->dir), "%s", tenv_dir());
	snprintf(n->config, sizeof(n->config), "%s/weft.yaml", n->dir);
	n->port = free_port();
	if (!ASSERT_NOT_NULL(text, "malloc") || !ASSERT_TRUE(n->port > 0, "a free port"))
		goto out;
	o = snprintf(text, cap, "datapath:\n  cgroup: %s\n  bpffs: %s\nmetrics:\n  listen: \"127.0.0.1:%d\"\n"
		     "services:\n", tenv_cgroup(), tenv_bpffs(), n->port);
	for (int i = 0; i < nservices; i++)
		o += snprintf(text + o, cap - o,
			      "  - {name: svc-%d, namespace: ns-%d, vip: 10.251.%d.%d, "
			      "ports: [{name: http, port: 80, target_port: 8080}], "
			      "backends: [{ip: 10.252.%d.%d}, {ip: 10.253.%d.%d}]}\n",
			      i, i % 10, i / 250, i % 250 + 1, i / 250, i % 250 + 1, i / 250, i % 250 + 1);
	if (!ASSERT_OK(tenv_write_file(n->config, text), "config"))
		goto out;
	snprintf(bin, sizeof(bin), "%s/weftd", weft_test_bindir());
	char *argv[] = { bin, "--config", n->config, "--log-level", "warn", NULL };
	n->started = time(NULL);
	n->weftd = tenv_spawn(NULL, false, false, argv);
	if (!ASSERT_TRUE(n->weftd > 0, "weftd spawned"))
		goto out;
	for (long long end = tenv_now_ms() + 30000; tenv_now_ms() < end; usleep(50000)) {
		struct ans a;

		if (hget(n->port, "/readyz", NULL, &a) == 200) {
			ans_free(&a);
			ok = true;
			goto out;
		}
		ans_free(&a);
		if (waitpid(n->weftd, NULL, WNOHANG) == n->weftd)
			break;
	}
	ASSERT_TRUE(false, "weftd ready (/readyz 200) within 30 s");
out:
	free(text);
	return ok;
}

static bool alive(pid_t pid)
{
	return waitpid(pid, NULL, WNOHANG) == 0;
}

/* A scrape, whole; the body's length, or -1. */
static long long scrape_len(int port)
{
	struct ans a;
	long long len = -1;

	if (hget(port, "/metrics", NULL, &a) == 200 && a.clen == (long long)a.len)
		len = a.len;
	ans_free(&a);
	return len;
}

/* 30 clients ask for a large scrape and hang up at once, with a receive
 * buffer so small that weftd's writes block: the write after the hang-up
 * fails (EPIPE), which must cost the connection, not weftd (SIGPIPE). */
TEST_TIMEOUT(e2e, http_early_close_scrapes_leave_weftd_alive, 120)
{
	struct hnode n;
	int fds[30];
	long long len;
	char c;

	if (!hnode_up(&n, BIG_SERVICES))
		return;
	len = scrape_len(n.port);
	if (!ASSERT_GE(len, 4 << 20, "a scrape larger than the socket buffers"))
		return;
	for (int i = 0; i < 30; i++) {
		fds[i] = hconnect(n.port, 1024);
		if (!ASSERT_TRUE(fds[i] >= 0, "connect") || !ASSERT_TRUE(send_get(fds[i], "/metrics", NULL), "send"))
			return;
		if (i % 2 == 0) {
			close(fds[i]);	/* before the answer */
			fds[i] = -1;
		}
	}
	/* The others hang up after the first byte of the answer. */
	for (int i = 1; i < 30; i += 2) {
		ASSERT_EQ(recv(fds[i], &c, 1, 0), 1, "the answer starts");
		close(fds[i]);
	}
	usleep(500000);
	if (!ASSERT_TRUE(alive(n.weftd), "weftd survives 30 early hang-ups"))
		return;
	{
		long long ms;

		ASSERT_EQ(timed_get(n.port, "/healthz", &ms), 200, "/healthz after the hang-ups");
	}
	ASSERT_EQ(scrape_len(n.port), len, "a whole scrape after the hang-ups");
	ASSERT_TRUE(alive(n.weftd), "weftd still running");
}

/* 64 idle connections, then more than the server holds: the probes still
 * answer within kubelet's 1 s probe timeout. */
TEST_TIMEOUT(e2e, http_probes_answer_with_64_idle_connections, 60)
{
	static int idle[320];
	struct hnode n;
	long long ms;
	int nidle = 0;

	if (!hnode_up(&n, 1))
		return;
	for (; nidle < 64; nidle++) {
		idle[nidle] = hconnect(n.port, 0);
		if (!ASSERT_TRUE(idle[nidle] >= 0, "idle connection"))
			goto out;
	}
	usleep(200000);
	ASSERT_EQ(timed_get(n.port, "/healthz", &ms), 200, "/healthz with 64 idle connections");
	fprintf(stderr, "    /healthz with 64 idle connections: %lld ms\n", ms);
	ASSERT_LE(ms, 999, "/healthz within 1 s");
	ASSERT_EQ(timed_get(n.port, "/readyz", &ms), 200, "/readyz with 64 idle connections");
	ASSERT_LE(ms, 999, "/readyz within 1 s");
	/* More idle ones than connection slots: the oldest idle give way. */
	for (; nidle < 320; nidle++) {
		idle[nidle] = hconnect(n.port, 0);
		if (!ASSERT_TRUE(idle[nidle] >= 0, "idle connection"))
			goto out;
	}
	usleep(200000);
	ASSERT_EQ(timed_get(n.port, "/healthz", &ms), 200, "/healthz with 320 idle connections");
	fprintf(stderr, "    /healthz with 320 idle connections: %lld ms\n", ms);
	ASSERT_LE(ms, 999, "/healthz within 1 s");
	ASSERT_TRUE(alive(n.weftd), "weftd running");
out:
	while (nidle-- > 0)
		close(idle[nidle]);
}

/* Whether weftd closed fd (EOF or reset); false while it is open. */
static bool closed_by_peer(int fd)
{
	char buf[256];
	ssize_t r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

	return r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

/* Clients that send their request head a byte at a time: none blocks the
 * probes, each is cut at the head deadline though it makes progress; a
 * client that stops halfway through its head is cut after the idle limit,
 * before the whole-head deadline. */
TEST_TIMEOUT(e2e, http_slow_request_heads_are_cut_by_progress_and_deadline, 60)
{
	static const char req[] = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
	int drip[48], half, sent = 0, nclosed = 0;
	long long t0, half_closed = -1, ms;
	struct hnode n;

	if (!hnode_up(&n, 1))
		return;
	for (int i = 0; i < 48; i++)
		if (!ASSERT_TRUE((drip[i] = hconnect(n.port, 0)) >= 0, "connect"))
			return;
	half = hconnect(n.port, 0);
	if (!ASSERT_TRUE(half >= 0, "connect") || !ASSERT_EQ(send(half, req, 10, MSG_NOSIGNAL), 10, "half a head"))
		return;
	t0 = tenv_now_ms();
	/* One byte per connection every 250 ms, for up to 8 s. */
	while (tenv_now_ms() - t0 < 8000 && nclosed < 48) {
		nclosed = 0;
		for (int i = 0; i < 48; i++) {
			if (drip[i] < 0) {
				nclosed++;
				continue;
			}
			if (closed_by_peer(drip[i]) ||
			    send(drip[i], req + sent % (sizeof(req) - 5), 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
				close(drip[i]);
				drip[i] = -1;
				ASSERT_GE(tenv_now_ms() - t0, 4000, "a dripping head cut by the deadline, not before");
				nclosed++;
			}
		}
		sent++;
		if (half_closed < 0 && closed_by_peer(half))
			half_closed = tenv_now_ms() - t0;
		if (sent == 4) {
			ASSERT_EQ(timed_get(n.port, "/healthz", &ms), 200, "/healthz among dripping heads");
			ASSERT_LE(ms, 999, "/healthz within 1 s");
		}
		usleep(250000);
	}
	fprintf(stderr, "    dripping heads cut: %d of 48 within %lld ms; half a head cut after %lld ms\n",
		nclosed, tenv_now_ms() - t0, half_closed);
	ASSERT_EQ(nclosed, 48, "every dripping head cut within 8 s (the head deadline is 5 s)");
	ASSERT_TRUE(half_closed >= 1500 && half_closed <= 4000,
		    "a silent client cut after the idle limit (2 s), before the head deadline (5 s)");
	for (int i = 0; i < 48; i++)
		if (drip[i] >= 0)
			close(drip[i]);
	close(half);
	ASSERT_TRUE(alive(n.weftd), "weftd running");
}

/* 16 slow readers of a large scrape share one rendered body: weftd's
 * resident memory does not grow by a body per reader. Readers that keep
 * reading, however slowly, are served; with every scrape slot taken the
 * probes still answer; a reader that stops is cut. */
TEST_TIMEOUT(e2e, http_slow_readers_share_one_scrape, 120)
{
	long rss0, rss_max = 0, r;
	long long len, t0;
	struct hnode n;
	int fds[16], stall;
	size_t got[16] = { 0 };
	char buf[4096];

#if defined(__SANITIZE_ADDRESS__)
	/* The sanitizer flavour of weftd: AddressSanitizer keeps freed memory
	 * in quarantine (256 MiB by default), which would be measured here
	 * instead of weftd's own holdings. */
	{
		char opts[512];
		const char *o = getenv("ASAN_OPTIONS");

		snprintf(opts, sizeof(opts), "%s%squarantine_size_mb=0:thread_local_quarantine_size_kb=0",
			 o ? o : "", o && *o ? ":" : "");
		setenv("ASAN_OPTIONS", opts, 1);
	}
#endif
	if (!hnode_up(&n, BIG_SERVICES))
		return;
	len = scrape_len(n.port);
	if (!ASSERT_GE(len, 4 << 20, "a large scrape"))
		return;
	usleep(1200000);
	rss0 = vmrss_kib(n.weftd);
	for (int i = 0; i < 16; i++) {
		fds[i] = hconnect(n.port, 4096);
		if (!ASSERT_TRUE(fds[i] >= 0, "connect") || !ASSERT_TRUE(send_get(fds[i], "/metrics", NULL), "send"))
			return;
	}
	/* 4 KiB per reader every 200 ms for 4 s: past the idle limit. */
	for (t0 = tenv_now_ms(); tenv_now_ms() - t0 < 4000; usleep(200000)) {
		for (int i = 0; i < 16; i++) {
			ssize_t k = recv(fds[i], buf, sizeof(buf), MSG_DONTWAIT);

			if (k > 0)
				got[i] += k;
		}
		r = vmrss_kib(n.weftd);
		if (r > rss_max)
			rss_max = r;
	}
	fprintf(stderr, "    body %lld KiB; weftd RSS %ld KiB before, %ld KiB at most with 16 slow readers\n",
		len >> 10, rss0, rss_max);
	if (!ASSERT_TRUE(rss0 > 0 && rss_max > 0, "VmRSS read"))
		return;
	/* A copy per reader would be 16 bodies. */
	ASSERT_LE(rss_max - rss0, 4 * (len >> 10), "RSS grew by at most 4 bodies with 16 readers");
	for (int i = 0; i < 16; i++) {
		ASSERT_GE(got[i], 4096, "each slow reader got its answer's start");
		ASSERT_FALSE(closed_by_peer(fds[i]), "a slow reader that keeps reading is not cut");
	}
	/* Every scrape slot taken (64): one more is refused at once, and the
	 * probes still answer. */
	{
		int more[48], extra;
		struct ans a;
		long long ms;

		for (int i = 0; i < 48; i++) {
			more[i] = hconnect(n.port, 4096);
			if (!ASSERT_TRUE(more[i] >= 0 && send_get(more[i], "/metrics", NULL), "scrape"))
				return;
		}
		usleep(100000);
		extra = hconnect(n.port, 0);
		if (ASSERT_TRUE(extra >= 0 && send_get(extra, "/metrics", NULL), "one scrape more")) {
			ans_read(extra, &a);
			ASSERT_EQ(a.status, 503, "the 65th scrape at once: 503");
			ASSERT_TRUE(strstr(a.head, "\r\nRetry-After: 1\r\n") != NULL, a.head);
			ans_free(&a);
		}
		ASSERT_EQ(timed_get(n.port, "/healthz", &ms), 200, "/healthz with every scrape slot taken");
		ASSERT_LE(ms, 999, "/healthz within 1 s");
		ASSERT_EQ(timed_get(n.port, "/readyz", &ms), 200, "/readyz with every scrape slot taken");
		ASSERT_LE(ms, 999, "/readyz within 1 s");
		for (int i = 0; i < 48; i++)
			close(more[i]);
	}
	for (int i = 0; i < 16; i++)
		close(fds[i]);
	/* A reader that stops: cut after the idle limit, well before the
	 * whole answer's deadline. */
	stall = hconnect(n.port, 4096);
	if (!ASSERT_TRUE(stall >= 0, "connect") || !ASSERT_TRUE(send_get(stall, "/metrics", NULL), "send") ||
	    !ASSERT_EQ(recv(stall, buf, 1, 0), 1, "the answer starts"))
		return;
	usleep(3500000);
	{
		struct ans a;

		ans_read(stall, &a);
		ASSERT_TRUE(a.len + 1 < (size_t)len, "a reader silent for 3.5 s does not get the whole answer");
		ans_free(&a);
	}
	ASSERT_TRUE(alive(n.weftd), "weftd running");
}

/* zlib's inflate of a gzip member into out. */
static int gunzip(const char *in, size_t len, char **out, size_t *outlen)
{
	z_stream zs = { 0 };
	size_t cap = len * 4 + 4096;
	int ret;

	*out = malloc(cap);
	*outlen = 0;
	if (!*out || inflateInit2(&zs, 15 + 32) != Z_OK)
		return -1;
	zs.next_in = (Bytef *)in;
	zs.avail_in = len;
	do {
		if (*outlen + 1 >= cap) {
			char *n = realloc(*out, cap * 2);

			if (!n)
				break;
			*out = n;
			cap *= 2;
		}
		zs.next_out = (Bytef *)*out + *outlen;
		zs.avail_out = cap - 1 - *outlen;
		ret = inflate(&zs, Z_NO_FLUSH);
		*outlen = zs.total_out;
	} while (ret == Z_OK);
	inflateEnd(&zs);
	(*out)[*outlen] = 0;
	return ret == Z_STREAM_END && zs.avail_in == 0 ? 0 : -1;
}

/* The series of a scrape ("name{labels} value" lines), sorted. */
static char **series_of(char *text, size_t *n)
{
	size_t cap = 1024;
	char **v = malloc(cap * sizeof(*v));

	*n = 0;
	for (char *p = strtok(text, "\n"); p && v; p = strtok(NULL, "\n")) {
		if (p[0] == '#')
			continue;
		if (*n == cap) {
			char **nv = realloc(v, 2 * cap * sizeof(*v));

			if (!nv)
				break;
			v = nv;
			cap *= 2;
		}
		v[(*n)++] = p;
	}
	return v;
}

/* The value of a series "name" without labels, or -1. */
static double value_of(const char *text, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, name, n) && p[n] == ' ')
			return atof(p + n + 1);
	return -1;
}

TEST_TIMEOUT(e2e, http_gzip_scrape_decodes_to_the_plain_series, 120)
{
	static const char *const enc[] = {
		NULL, "Accept-Encoding: gzip\r\n", "Accept-Encoding: br, GZIP;q=0.8\r\n",
		"Accept-Encoding: gzip;q=0, identity\r\n",
	};
	static const bool want_gz[] = { false, true, true, false };
	struct ans a[4];
	struct hnode n;
	char v[128], *plain = NULL;
	size_t plen = 0;
	int fds[4];

	if (!hnode_up(&n, BIG_SERVICES) || !ASSERT_GE(scrape_len(n.port), 4 << 20, "a large scrape"))
		return;
	/* Four requests at once: one render serves them all. */
	for (int i = 0; i < 4; i++) {
		fds[i] = hconnect(n.port, 0);
		if (!ASSERT_TRUE(fds[i] >= 0, "connect") || !ASSERT_TRUE(send_get(fds[i], "/metrics", enc[i]), "send"))
			return;
	}
	for (int i = 0; i < 4; i++)
		ans_read(fds[i], &a[i]);
	for (int i = 0; i < 4; i++) {
		char what[128];

		snprintf(what, sizeof(what), "request %d (%s)", i, enc[i] ? enc[i] : "no Accept-Encoding");
		ASSERT_EQ(a[i].status, 200, what);
		ASSERT_EQ(a[i].clen, a[i].len, what);
		ASSERT_STR(header(&a[i], "Content-Encoding", v, sizeof(v)), want_gz[i] ? "gzip" : "", what);
		ASSERT_STR(header(&a[i], "Vary", v, sizeof(v)), "Accept-Encoding", what);
		ASSERT_TRUE(!strncmp(header(&a[i], "Content-Type", v, sizeof(v)), "text/plain; version=0.0.4", 25),
			    what);
	}
	if (!ASSERT_OK(gunzip(a[1].body, a[1].len, &plain, &plen), "zlib inflates the gzip answer"))
		goto out;
	fprintf(stderr, "    plain %zu bytes, gzip %zu bytes\n", a[0].len, a[1].len);
	ASSERT_LE(a[1].len, a[0].len / 4, "gzip is smaller");
	ASSERT_EQ(plen, a[0].len, "the same length decoded");
	{
		size_t n1, n2, diff = 0;
		char **s1 = series_of(a[0].body, &n1), **s2 = series_of(plain, &n2);

		ASSERT_GE(n1, 3 * BIG_SERVICES, "every service's series");
		if (ASSERT_EQ(n2, n1, "the same number of series")) {
			for (size_t i = 0; i < n1; i++)
				diff += strcmp(s1[i], s2[i]) != 0;
			ASSERT_EQ(diff, 0, "the same series and values, in the same order");
		}
		free(s1);
		free(s2);
	}
out:
	free(plain);
	for (int i = 0; i < 4; i++)
		ans_free(&a[i]);
}

/* weftd's soft RLIMIT_NOFILE from /proc/PID/limits, -1 if unknown. */
static long long max_open_files(pid_t pid)
{
	char path[64], line[256];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/limits", (int)pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "Max open files", 14))
			v = atoll(line + 14);
	if (f)
		fclose(f);
	return v;
}

TEST_TIMEOUT(e2e, http_process_metrics_are_present_and_sane, 60)
{
	double start, fds, maxfds, rss, vsz, cpu;
	char path[256], out[8192];
	struct hnode n;
	struct ans a;
	long rss_now;

	if (!hnode_up(&n, 1))
		return;
	if (!ASSERT_EQ(hget(n.port, "/metrics", NULL, &a), 200, "/metrics"))
		return;
	rss_now = vmrss_kib(n.weftd);
	start = value_of(a.body, "process_start_time_seconds");
	fds = value_of(a.body, "process_open_fds");
	maxfds = value_of(a.body, "process_max_fds");
	rss = value_of(a.body, "process_resident_memory_bytes");
	vsz = value_of(a.body, "process_virtual_memory_bytes");
	cpu = value_of(a.body, "process_cpu_seconds_total");
	fprintf(stderr, "    start %.2f (spawned at %lld), fds %.0f of %.0f, rss %.0f, vsz %.0f, cpu %.2f\n",
		start, (long long)n.started, fds, maxfds, rss, vsz, cpu);
	ASSERT_TRUE(start >= n.started - 2 && start <= time(NULL) + 1,
		    "process_start_time_seconds within the test's lifetime");
	ASSERT_TRUE(fds > 0 && fds < maxfds, "0 < process_open_fds < process_max_fds");
	ASSERT_EQ((long long)maxfds, max_open_files(n.weftd), "process_max_fds is weftd's soft limit");
	ASSERT_TRUE(rss > 1e6 && rss >= rss_now * 1024.0 / 2 && rss <= rss_now * 1024.0 * 2,
		    "process_resident_memory_bytes near /proc/PID/status VmRSS");
	ASSERT_TRUE(vsz >= rss, "virtual >= resident");
	ASSERT_TRUE(cpu >= 0 && cpu <= (time(NULL) - n.started + 1) * 2.0 + 1, "process_cpu_seconds_total sane");
	ASSERT_TRUE(strstr(a.body, "# TYPE process_cpu_seconds_total counter\n") != NULL, "cpu is a counter");
	ASSERT_TRUE(strstr(a.body, "# TYPE process_open_fds gauge\n") != NULL, "fds a gauge");
	snprintf(path, sizeof(path), "%s/scrape.txt", n.dir);
	tenv_write_file(path, a.body);
	ans_free(&a);
	if (system("command -v promtool >/dev/null 2>&1") != 0)
		SKIP("promtool not installed (make deps installs the prometheus package)");
	ASSERT_EQ(tenv_capture(out, sizeof(out), "promtool check metrics < %s 2>&1", path), 0, out);
}
