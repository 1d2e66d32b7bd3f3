// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Observability in the kernel (bpf/lib/obs.h) against real sockets: the
 * socket programs, sockops and sk_msg on the test cgroup, a client pod and a
 * server pod. Known bytes each way, through a VIP and direct, with redirect
 * on and off: the flows while the connection is open, the edges after it
 * closed (exactly the bytes sent, both reporters), a refused connect counted
 * failed, a reset counted reset, and the latency histograms filled.
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "model/model.h"
#include "source/file.h"
#include "harness.h"
#include "serve/metrics.h"
#include "reconcile/endpoints.h"
#include "reconcile/policy.h"
#include "sockfix.h"
#include "testenv.h"
#include "weft.skel.h"

#define CLI_IP "10.250.0.10"
#define SRV_IP "10.250.0.21"
#define CLI_IP6 "fd00:250::10"
#define SRV_IP6 "fd00:250::21"

/* The addresses of the bytes scenarios (IPv4 unless a test says IPv6). */
static const char *g_cli = CLI_IP, *g_srv = SRV_IP;
#define VIP "10.250.100.7"

struct ofx {
	struct sfx sfx;		/* socket, sockops and sk_msg programs on the test cgroup */
};

static int ofx_redirect(struct ofx *f, uint32_t on)
{
	struct weft_redir_cfg rc = { .enabled = on };
	__u32 zero = 0;

	return bpf_map_update_elem(bpf_map__fd(f->sfx.skel->maps.weft_redir_cfg), &zero, &rc,
				   BPF_ANY) ? -errno : 0;
}

static int ofx_open(struct ofx *f, bool redirect)
{
	int err = sfx_open_sockops(&f->sfx);

	return err ? err : ofx_redirect(f, redirect);
}

static void ofx_close(struct ofx *f)
{
	sfx_close(&f->sfx);
}

static bool setup(struct ofx *f, bool redirect)
{
	int err;

	memset(f, 0, sizeof(*f));
	f->sfx.cgfd = -1;
	tenv_need_root();
	signal(SIGPIPE, SIG_IGN);
	if (!ASSERT_OK(tenv_pod("cli", CLI_IP, CLI_IP6), "client pod") ||
	    !ASSERT_OK(tenv_pod("srv", SRV_IP, SRV_IP6), "server pod"))
		return false;
	err = ofx_open(f, redirect);
	if (err == -EOPNOTSUPP || err == -EINVAL)
		SKIP("kernel cannot load sockops/sk_msg: %s", strerror(-err));
	return ASSERT_OK(err, "load and attach the socket, sockops and sk_msg programs");
}

static void v4(__be32 *a, const char *ip)
{
	a[0] = 0;
	a[1] = 0;
	a[2] = htonl(0xffff);
	inet_pton(AF_INET, ip, &a[3]);
}

/* Any address in the 16-byte form (IPv4 v4-mapped). */
static void addr16(__be32 *a, const char *ip)
{
	struct weft_ip w;

	weft_ip_parse(ip, &w);
	memcpy(a, &w.a, 16);
}

static long long now_ms(void)
{
	return tenv_now_ms();
}

/* ---- the server: in the srv pod and the cgroup --------------------------- */

/* Per connection: read `up` bytes, write `down` bytes, read to EOF (or
 * reset), close. Exits with the number of connections that went wrong. */
static pid_t obs_server(uint16_t port, int nconn, size_t up, size_t down)
{
	int p[2];
	pid_t pid;

	if (pipe(p))
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		struct sockaddr_storage ss;
		long long deadline = now_ms() + 20000;
		char *buf = malloc(up > down ? up + 1 : down + 1);
		int lfd, one = 1, bad = 0;
		socklen_t sl;

		close(p[0]);
		if (!buf || tenv_enter("srv", true))
			_exit(251);
		lfd = socket(weft_sockaddr(g_srv, port, false, &ss, &sl), SOCK_STREAM | SOCK_CLOEXEC, 0);
		setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (lfd < 0 || bind(lfd, (struct sockaddr *)&ss, sl) || listen(lfd, 64))
			_exit(251);
		if (write(p[1], "r", 1) != 1)
			_exit(251);
		for (int i = 0; i < nconn && now_ms() < deadline; i++) {
			struct timeval tv = { .tv_sec = 5 };
			size_t got = 0, sent = 0;
			int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			ssize_t n;

			if (fd < 0) {
				bad++;
				continue;
			}
			setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
			while (got < up && (n = read(fd, buf, up - got)) > 0)
				got += n;
			while (sent < down && (n = write(fd, buf, down - sent)) > 0)
				sent += n;
			while ((n = read(fd, buf, 1)) > 0)
				got += n;
			bad += got != up || sent != down;
			close(fd);
		}
		_exit(bad > 250 ? 250 : bad);
	}
	close(p[1]);
	return tenv_wait_ready(p[0], pid);
}

static int server_wait(pid_t pid)
{
	int st = 0;

	for (long long end = now_ms() + 10000; now_ms() < end; usleep(5000))
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 252;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return 253;
}

/* ---- the client: this process, in the cli pod and the cgroup ------------ */

/* Connect, write up bytes, read down bytes; the socket stays open. */
static int obs_client(const char *addr, uint16_t port, size_t up, size_t down)
{
	struct sockaddr_storage ss;
	struct timeval tv = { .tv_sec = 5 };
	char *buf = calloc(1, up > down ? up + 1 : down + 1);
	size_t got = 0, sent = 0;
	socklen_t sl;
	ssize_t n;
	int fd;

	fd = socket(weft_sockaddr(addr, port, false, &ss, &sl), SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (!buf || fd < 0)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&ss, sl))
		goto fail;
	while (sent < up && (n = write(fd, buf, up - sent)) > 0)
		sent += n;
	while (got < down && (n = read(fd, buf, down - got)) > 0)
		got += n;
	if (sent != up || got != down)
		goto fail;
	free(buf);
	return fd;
fail:
	free(buf);
	if (fd >= 0)
		close(fd);
	return -1;
}

/* ---- reading the maps ---------------------------------------------------- */

static void edge_key(struct weft_edge_key *k, uint8_t reporter, uint32_t svc_id, uint16_t port)
{
	memset(k, 0, sizeof(*k));
	addr16(k->client, g_cli);
	addr16(k->server, g_srv);
	k->svc_id = svc_id;
	k->server_port = htons(port);
	k->reporter = reporter;
	k->proto = IPPROTO_TCP;
}

static bool edge_get(struct ofx *f, uint8_t reporter, uint32_t svc_id, uint16_t port,
		     struct weft_edge_val *v)
{
	struct weft_edge_key k;

	edge_key(&k, reporter, svc_id, port);
	memset(v, 0, sizeof(*v));
	return bpf_map_lookup_elem(bpf_map__fd(f->sfx.skel->maps.weft_edge), &k, v) == 0;
}

/* Wait (2 s at most) until both reporters' edges count `closed` closes. */
static bool edges_closed(struct ofx *f, uint32_t svc_id, uint16_t port, uint64_t closed,
			 struct weft_edge_val *src, struct weft_edge_val *dst)
{
	for (long long end = now_ms() + 2000; now_ms() < end; usleep(2000))
		if (edge_get(f, WEFT_REPORTER_SOURCE, svc_id, port, src) &&
		    edge_get(f, WEFT_REPORTER_DESTINATION, svc_id, port, dst) &&
		    src->closed >= closed && dst->closed >= closed)
			return true;
	return false;
}

/* The live flows of the port: the client's (local port = cport) and the
 * server's. Returns how many were found. */
static int flows_of(struct ofx *f, uint16_t cport, uint16_t sport, struct weft_flow *cli,
		    struct weft_flow *srv)
{
	int fd = bpf_map__fd(f->sfx.skel->maps.weft_flow), n = 0;
	struct weft_sock_key k, next;
	struct weft_flow v;
	bool first = true;

	while (bpf_map_get_next_key(fd, first ? NULL : &k, &next) == 0) {
		k = next;
		first = false;
		if (bpf_map_lookup_elem(fd, &k, &v))
			continue;
		if (k.lport == htons(cport) && k.rport == htons(sport)) {
			*cli = v;
			n++;
		} else if (k.lport == htons(sport) && k.rport == htons(cport)) {
			*srv = v;
			n++;
		}
	}
	return n;
}

static bool hist_get(struct ofx *f, uint32_t svc_id, uint8_t kind, uint8_t reporter,
		     struct weft_hist *sum)
{
	int ncpu = libbpf_num_possible_cpus();
	struct weft_hist_key k = { .svc_id = svc_id, .kind = kind, .reporter = reporter };
	struct weft_hist *v = calloc(ncpu, sizeof(*v));
	bool ok;

	v4(k.server, SRV_IP);
	memset(sum, 0, sizeof(*sum));
	ok = v && bpf_map_lookup_elem(bpf_map__fd(f->sfx.skel->maps.weft_hist), &k, v) == 0;
	for (int c = 0; ok && c < ncpu; c++) {
		for (int b = 0; b < WEFT_HIST_BUCKETS; b++)
			sum->bucket[b] += v[c].bucket[b];
		sum->sum_us += v[c].sum_us;
		sum->count += v[c].count;
	}
	free(v);
	return ok;
}

static uint16_t local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &sl))
		return 0;
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/*
 * One scenario: up bytes client to server, down bytes back, to addr:port
 * (the VIP or the server), redirect on or off. Checks the two flows while
 * the connection is open and both edges after it closed.
 */
static void bytes_scenario(bool redirect, bool via_vip, uint16_t port)
{
	const size_t up = 70001, down = 123457;
	struct sfx_be be = { g_srv, port, 1 };
	struct sfx_svc svc = { VIP, port, IPPROTO_TCP, WEFT_LB_RANDOM, 0, 0, &be, 1 };
	struct weft_edge_val src, dst;
	struct weft_flow cf = { 0 }, sf = { 0 };
	struct ofx f;
	uint32_t svc_id = 0;
	int fd, id;
	pid_t srv;

	if (!setup(&f, redirect))
		goto out;
	if (via_vip) {
		id = sfx_add_service(&f.sfx, &svc);
		if (!ASSERT_TRUE(id > 0, "service written"))
			goto out;
		svc_id = id;
	}
	srv = obs_server(port, 1, up, down);
	if (!ASSERT_TRUE(srv > 0, "server started") || !ASSERT_OK(tenv_enter("cli", true), "enter cli"))
		goto out;
	fd = obs_client(via_vip ? VIP : g_srv, port, up, down);
	if (!ASSERT_TRUE(fd >= 0, "exchange up/down bytes"))
		goto out;
	/* Open: both ends have a flow. */
	if (ASSERT_EQ(flows_of(&f, local_port(fd), port, &cf, &sf), 2, "a flow per end while open")) {
		ASSERT_TRUE(cf.flags & WEFT_FLOW_ACTIVE, "client flow is the active end");
		ASSERT_FALSE(sf.flags & WEFT_FLOW_ACTIVE, "server flow is the passive end");
		ASSERT_EQ(cf.svc_id, svc_id, "client flow's service");
		ASSERT_EQ(sf.svc_id, svc_id, "server flow's service, from the local client");
		ASSERT_EQ(!!(cf.flags & WEFT_FLOW_SERVICE), via_vip, "client flow through a VIP");
		ASSERT_TRUE(cf.established_ns >= cf.start_ns && cf.start_ns > 0, "client times");
		if (redirect) {
			/* The reply is sent after the server read everything:
			 * both ends learned, so it went socket to socket. */
			ASSERT_EQ(sf.redir_sent, down, "server's redirected bytes, live");
			ASSERT_EQ(cf.redir_received, down, "client's redirected bytes, live");
			ASSERT_TRUE(cf.flags & sf.flags & WEFT_FLOW_REDIRECTED, "both flagged redirected");
		} else {
			ASSERT_EQ(cf.redir_sent + cf.redir_received + sf.redir_sent + sf.redir_received,
				  0, "nothing redirected with redirect off");
		}
	}
	close(fd);
	ASSERT_OK(server_wait(srv), "server saw every byte");
	if (!ASSERT_TRUE(edges_closed(&f, svc_id, port, 1, &src, &dst), "both edges count the close"))
		goto out;
	ASSERT_EQ(src.opened, 1, "source: opened");
	ASSERT_EQ(dst.opened, 1, "destination: opened");
	ASSERT_EQ(src.closed, 1, "source: closed");
	ASSERT_EQ(src.failed + dst.failed + src.reset + dst.reset, 0, "no failure, no reset");
	ASSERT_EQ(src.received_bytes, up, "source: received = client to server");
	ASSERT_EQ(src.sent_bytes, down, "source: sent = server to client");
	ASSERT_EQ(dst.received_bytes, up, "destination: received = client to server");
	ASSERT_EQ(dst.sent_bytes, down, "destination: sent = server to client");
	ASSERT_EQ(src.redirected, redirect, "source: redirected connections");
	ASSERT_EQ(dst.redirected, redirect, "destination: redirected connections");
	ASSERT_EQ(flows_of(&f, local_port(fd), port, &cf, &sf), 0, "flows deleted at close");
	ASSERT_EQ(sfx_stat(&f.sfx, WEFT_STAT_FLOW_MISSING), 0, "no flow went missing");
out:
	ofx_close(&f);
}

TEST(bpf, obs_bytes_direct_stack)
{
	bytes_scenario(false, false, 7101);
}

TEST(bpf, obs_bytes_vip_stack)
{
	bytes_scenario(false, true, 7102);
}

TEST(bpf, obs_bytes_direct_redirect)
{
	bytes_scenario(true, false, 7103);
}

TEST(bpf, obs_bytes_vip_redirect)
{
	bytes_scenario(true, true, 7104);
}

/* IPv6 ends (16-byte keys as they are). */
TEST(bpf, obs_bytes_ipv6_stack)
{
	g_cli = CLI_IP6;
	g_srv = SRV_IP6;
	bytes_scenario(false, false, 7105);
}

TEST(bpf, obs_bytes_ipv6_redirect)
{
	g_cli = CLI_IP6;
	g_srv = SRV_IP6;
	bytes_scenario(true, false, 7106);
}

/* A connect to a port nobody listens on: one `failed` at the source. */
TEST(bpf, obs_refused_connect_counts_failed)
{
	struct sockaddr_storage ss;
	struct weft_edge_val v;
	struct ofx f;
	socklen_t sl;
	int fd, rc;

	if (!setup(&f, false))
		goto out;
	if (!ASSERT_OK(tenv_enter("cli", true), "enter cli"))
		goto out;
	for (int i = 0; i < 3; i++) {
		weft_sockaddr(SRV_IP, 7110, false, &ss, &sl);
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		rc = connect(fd, (struct sockaddr *)&ss, sl) ? errno : 0;
		close(fd);
		if (!ASSERT_EQ(rc, ECONNREFUSED, "nobody listens"))
			goto out;
	}
	if (ASSERT_TRUE(edge_get(&f, WEFT_REPORTER_SOURCE, 0, 7110, &v), "source edge made")) {
		ASSERT_EQ(v.failed, 3, "three failed connects");
		ASSERT_EQ(v.opened + v.closed, 0, "nothing opened");
	}
	ASSERT_FALSE(edge_get(&f, WEFT_REPORTER_DESTINATION, 0, 7110, &v),
		     "no destination edge: nothing was accepted");
out:
	ofx_close(&f);
}

/* The client resets (SO_LINGER 0): the server's end closes by reset. */
TEST(bpf, obs_reset_counted)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	struct weft_edge_val src, dst;
	struct ofx f;
	pid_t srv;
	int fd;

	if (!setup(&f, false))
		goto out;
	srv = obs_server(7111, 1, 100, 200);
	if (!ASSERT_TRUE(srv > 0, "server started") || !ASSERT_OK(tenv_enter("cli", true), "enter cli"))
		goto out;
	fd = obs_client(SRV_IP, 7111, 100, 200);
	if (!ASSERT_TRUE(fd >= 0, "exchange"))
		goto out;
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
	server_wait(srv);
	if (!ASSERT_TRUE(edges_closed(&f, 0, 7111, 1, &src, &dst), "both ends closed"))
		goto out;
	ASSERT_EQ(dst.reset, 1, "destination: closed by a reset");
	ASSERT_EQ(src.reset, 0, "source: it sent the reset");
	ASSERT_EQ(dst.received_bytes, 100, "destination: bytes before the reset");
	ASSERT_EQ(src.sent_bytes, 200, "source: bytes before the reset");
out:
	ofx_close(&f);
}

/* Connect time and RTT: one connect sample per connection, RTT samples at
 * both ends, every value plausible for a veth (under a second). */
TEST(bpf, obs_latency_histograms)
{
	struct sfx_be be = { SRV_IP, 7112, 1 };
	struct sfx_svc svc = { VIP, 7112, IPPROTO_TCP, WEFT_LB_RANDOM, 0, 0, &be, 1 };
	struct weft_hist h;
	struct ofx f;
	uint64_t n;
	pid_t srv;
	int id, fd;

	if (!setup(&f, false))
		goto out;
	id = sfx_add_service(&f.sfx, &svc);
	srv = obs_server(7112, 5, 1000, 300000);
	if (!ASSERT_TRUE(id > 0 && srv > 0, "service and server") ||
	    !ASSERT_OK(tenv_enter("cli", true), "enter cli"))
		goto out;
	for (int i = 0; i < 5; i++) {
		fd = obs_client(VIP, 7112, 1000, 300000);
		if (!ASSERT_TRUE(fd >= 0, "exchange"))
			goto out;
		close(fd);
	}
	server_wait(srv);
	if (ASSERT_TRUE(hist_get(&f, id, WEFT_HIST_CONNECT, WEFT_REPORTER_SOURCE, &h), "connect histogram")) {
		n = 0;
		for (int b = 0; b < WEFT_HIST_BUCKETS; b++)
			n += h.bucket[b];
		ASSERT_EQ(h.count, 5, "one connect sample per connection");
		ASSERT_EQ(n, h.count, "buckets add up to the count");
		ASSERT_LE(h.sum_us, 5 * 1000000ull, "connect times under a second");
	}
	if (ASSERT_TRUE(hist_get(&f, id, WEFT_HIST_RTT, WEFT_REPORTER_SOURCE, &h), "client RTT histogram")) {
		ASSERT_GE(h.count, 5, "at least the handshake RTT of each connection");
		ASSERT_GE(h.sum_us, h.count, "RTTs of at least 1 us");
		ASSERT_LE(h.sum_us / h.count, 1000000, "mean RTT under a second (srtt_us >> 3)");
	}
	if (ASSERT_TRUE(hist_get(&f, id, WEFT_HIST_RTT, WEFT_REPORTER_DESTINATION, &h), "server RTT histogram"))
		ASSERT_GE(h.count, 5, "server side samples, under the service the client asked for");
out:
	ofx_close(&f);
}

/* metrics.tcp_rtt_updates: false (WEFT_OBS_NO_RTT_UPDATES) leaves sockops
 * without RTT_CB: the server, which sends 300 kB, gets its handshake RTT
 * sample only, and the bytes still come out exact at the close. Switched
 * back on, the next connection samples on every RTT update. */
TEST(bpf, obs_rtt_updates_switch)
{
	const size_t up = 1000, down = 300000;
	struct sfx_be be = { SRV_IP, 7141, 1 };
	struct sfx_svc svc = { VIP, 7141, IPPROTO_TCP, WEFT_LB_RANDOM, 0, 0, &be, 1 };
	struct weft_obs_cfg oc = { .flags = WEFT_OBS_NO_RTT_UPDATES };
	struct weft_edge_val src, dst;
	struct weft_hist h;
	struct ofx f;
	uint64_t off_count = 0;
	__u32 zero = 0;
	pid_t srv;
	int id, fd, cfd;

	if (!setup(&f, false))
		goto out;
	cfd = bpf_map__fd(f.sfx.skel->maps.weft_obs_cfg);
	id = sfx_add_service(&f.sfx, &svc);
	srv = obs_server(7141, 2, up, down);
	if (!ASSERT_TRUE(id > 0 && srv > 0, "service and server") ||
	    !ASSERT_OK(bpf_map_update_elem(cfd, &zero, &oc, BPF_ANY), "updates off") ||
	    !ASSERT_OK(tenv_enter("cli", true), "enter cli"))
		goto out;
	fd = obs_client(VIP, 7141, up, down);
	if (!ASSERT_TRUE(fd >= 0, "exchange with updates off"))
		goto out;
	close(fd);
	if (!ASSERT_TRUE(edges_closed(&f, id, 7141, 1, &src, &dst), "closed"))
		goto out;
	ASSERT_EQ(src.received_bytes, up, "off: received bytes exact at close");
	ASSERT_EQ(dst.sent_bytes, down, "off: sent bytes exact at close");
	if (ASSERT_TRUE(hist_get(&f, id, WEFT_HIST_RTT, WEFT_REPORTER_DESTINATION, &h), "server RTT")) {
		off_count = h.count;
		ASSERT_LE(off_count, 1, "off: the handshake sample only");
	}
	oc.flags = 0;
	if (!ASSERT_OK(bpf_map_update_elem(cfd, &zero, &oc, BPF_ANY), "updates on"))
		goto out;
	fd = obs_client(VIP, 7141, up, down);
	if (!ASSERT_TRUE(fd >= 0, "exchange with updates on"))
		goto out;
	close(fd);
	ASSERT_OK(server_wait(srv), "server saw every byte");
	if (ASSERT_TRUE(edges_closed(&f, id, 7141, 2, &src, &dst), "closed") &&
	    ASSERT_TRUE(hist_get(&f, id, WEFT_HIST_RTT, WEFT_REPORTER_DESTINATION, &h), "server RTT"))
		ASSERT_GE(h.count, off_count + 3, "on: samples on RTT updates while sending");
out:
	ofx_close(&f);
}

/* weft_ep against a real map: the first apply writes every endpoint, an
 * unchanged config writes nothing, a change writes one entry, a removed
 * endpoint is deleted. */
static int ep_apply_yaml(int fd, const char *yaml, uint64_t *nops)
{
	char err[512] = "";
	struct weft_model *cfg = weft_file_parse(yaml, strlen(yaml), "t.yaml", err, sizeof(err));
	struct weft_maps maps;
	struct weft_ep_ent *e = NULL;
	size_t n = 0;
	int ret;

	if (!cfg)
		return -EINVAL;
	for (int i = 0; i < WEFT_M_COUNT; i++)
		maps.fd[i] = -1;
	maps.fd[WEFT_M_EP] = fd;
	ret = weft_ep_build(cfg, NULL, &e, &n);
	if (!ret)
		ret = weft_ep_apply(&maps, e, n, nops, err, sizeof(err));
	free(e);
	weft_model_free(cfg);
	return ret;
}

TEST(bpf, obs_endpoints_diffed_into_the_map)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_NO_PREALLOC);
	static const char two[] = "endpoints:\n"
				  "  - {name: a, namespace: shop, ip: 10.0.0.1, workload: api}\n"
				  "  - {name: b, namespace: shop, ip: 10.0.0.2, interface: lo}\n";
	static const char changed[] = "endpoints:\n"
				      "  - {name: a, namespace: shop, ip: 10.0.0.1, workload: api-v2}\n"
				      "  - {name: b, namespace: shop, ip: 10.0.0.2, interface: lo}\n";
	static const char one[] = "endpoints:\n"
				  "  - {name: a, namespace: shop, ip: 10.0.0.1, workload: api-v2}\n";
	struct weft_addr_key k = { 0 };
	struct weft_ep_val v;
	uint64_t nops = 99;
	int fd;

	tenv_need_root();
	fd = bpf_map_create(BPF_MAP_TYPE_HASH, weft_map_name(WEFT_M_EP), sizeof(struct weft_addr_key),
			    sizeof(struct weft_ep_val), 16, &opts);
	if (!ASSERT_TRUE(fd >= 0, "weft_ep made"))
		return;
	v4(k.addr, "10.0.0.2");
	if (ASSERT_OK(ep_apply_yaml(fd, two, &nops), "first apply") && ASSERT_EQ(nops, 2, "both written") &&
	    ASSERT_OK(bpf_map_lookup_elem(fd, &k, &v), "b is there")) {
		ASSERT_STR(v.name, "b", "name");
		ASSERT_STR(v.workload, "b", "workload: the name");
		ASSERT_EQ(v.ifindex, 1, "ifindex of lo");
	}
	if (ASSERT_OK(ep_apply_yaml(fd, two, &nops), "same again"))
		ASSERT_EQ(nops, 0, "an unchanged config writes nothing");
	if (ASSERT_OK(ep_apply_yaml(fd, changed, &nops), "one workload changed"))
		ASSERT_EQ(nops, 1, "one write");
	v4(k.addr, "10.0.0.1");
	if (ASSERT_OK(bpf_map_lookup_elem(fd, &k, &v), "a is there"))
		ASSERT_STR(v.workload, "api-v2", "the new workload");
	if (ASSERT_OK(ep_apply_yaml(fd, one, &nops), "b removed"))
		ASSERT_EQ(nops, 1, "one delete");
	v4(k.addr, "10.0.0.2");
	ASSERT_EQ(bpf_map_lookup_elem(fd, &k, &v), -ENOENT, "b is gone");
	close(fd);
}

/* ---- events for `weft observe` ------------------------------------------ */

struct evs {
	struct weft_event ev[64];
	int n;
};

static int ev_collect(void *ctx, void *data, size_t len)
{
	struct evs *e = ctx;

	if (len == sizeof(struct weft_event) && e->n < 64)
		memcpy(&e->ev[e->n++], data, len);
	return 0;
}

static int ev_count(const struct evs *e, uint8_t type, uint8_t reporter)
{
	int n = 0;

	for (int i = 0; i < e->n; i++)
		n += e->ev[i].type == type && (!reporter || e->ev[i].reporter == reporter);
	return n;
}

static const struct weft_event *ev_find(const struct evs *e, uint8_t type, uint8_t reporter)
{
	for (int i = 0; i < e->n; i++)
		if (e->ev[i].type == type && e->ev[i].reporter == reporter)
			return &e->ev[i];
	return NULL;
}

/* No observer: no event. One observer: open and close of both ends (close
 * with the connection's bytes), a failed connect, a connect refused by
 * policy (a drop, with its reason and direction). */
TEST(bpf, obs_events_only_while_observed)
{
	static const char policy[] =
		"endpoints:\n"
		"  - {name: cli, ip: " CLI_IP ", labels: {app: client}}\n"
		"  - {name: srv, ip: " SRV_IP ", labels: {app: web}}\n"
		"policies:\n"
		"  - name: cli-to-web\n"
		"    selector: {app: client}\n"
		"    egress: [{to: [{selector: {app: web}}], ports: [{port: 7120}]}]\n";
	struct weft_obs_cfg on = { .observers = 1 };
	struct weft_pol_state pol = { 0 };
	struct sockaddr_storage ss, bs;
	const struct weft_event *e;
	struct ring_buffer *rb = NULL;
	struct evs got = { .n = 0 };
	char err[512] = "";
	socklen_t sl, bl;
	struct ofx f;
	__u32 zero = 0;
	int fd, rc;
	pid_t srv;

	if (!setup(&f, false))
		goto out;
	rb = ring_buffer__new(bpf_map__fd(f.sfx.skel->maps.weft_events), ev_collect, &got, NULL);
	if (!ASSERT_NOT_NULL(rb, "ring buffer") || !ASSERT_OK(tenv_enter("cli", true), "enter cli"))
		goto out;
	/* Not observed: nothing. */
	weft_sockaddr(SRV_IP, 7121, false, &ss, &sl);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	connect(fd, (struct sockaddr *)&ss, sl);
	close(fd);
	ring_buffer__consume(rb);
	ASSERT_EQ(got.n, 0, "no event without an observer");

	if (!ASSERT_OK(bpf_map_update_elem(bpf_map__fd(f.sfx.skel->maps.weft_obs_cfg), &zero, &on,
					   BPF_ANY), "one observer"))
		goto out;
	srv = obs_server(7120, 1, 300, 500);
	if (!ASSERT_TRUE(srv > 0, "server"))
		goto out;
	fd = obs_client(SRV_IP, 7120, 300, 500);
	if (!ASSERT_TRUE(fd >= 0, "exchange"))
		goto out;
	close(fd);
	server_wait(srv);
	/* A refused connect: failed. */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	rc = connect(fd, (struct sockaddr *)&ss, sl) ? errno : 0;
	close(fd);
	ASSERT_EQ(rc, ECONNREFUSED, "nobody on 7121");
	/* A connect the client's egress policy forbids (bound source: the
	 * connect hook knows the client). */
	if (!ASSERT_OK(sfx_policy(f.sfx.skel, &pol, policy, err, sizeof(err)), err))
		goto out;
	weft_sockaddr(CLI_IP, 0, false, &bs, &bl);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bind(fd, (struct sockaddr *)&bs, bl);
	rc = connect(fd, (struct sockaddr *)&ss, sl) ? errno : 0;
	close(fd);
	ASSERT_EQ(rc, EPERM, "egress policy refuses port 7121");
	for (long long end = now_ms() + 2000; now_ms() < end && ev_count(&got, WEFT_EV_CLOSE, 0) < 2;
	     usleep(10000))
		ring_buffer__consume(rb);
	ring_buffer__consume(rb);
	ASSERT_EQ(ev_count(&got, WEFT_EV_OPEN, WEFT_REPORTER_SOURCE), 1, "client open");
	ASSERT_EQ(ev_count(&got, WEFT_EV_OPEN, WEFT_REPORTER_DESTINATION), 1, "server open");
	ASSERT_EQ(ev_count(&got, WEFT_EV_CLOSE, 0), 2, "a close per end");
	ASSERT_EQ(ev_count(&got, WEFT_EV_FAIL, WEFT_REPORTER_SOURCE), 1, "the refused connect failed");
	ASSERT_EQ(ev_count(&got, WEFT_EV_DROP, 0), 1, "the policy refusal");
	if ((e = ev_find(&got, WEFT_EV_CLOSE, WEFT_REPORTER_DESTINATION))) {
		ASSERT_EQ(e->received_bytes, 300, "close: client to server");
		ASSERT_EQ(e->sent_bytes, 500, "close: server to client");
		ASSERT_EQ(e->dport, htons(7120), "close: server port");
		ASSERT_TRUE(e->duration_ns > 0, "close: how long it was open");
	}
	if ((e = ev_find(&got, WEFT_EV_OPEN, WEFT_REPORTER_SOURCE)))
		ASSERT_TRUE(e->duration_ns > 0, "open: the connect time");
	if ((e = ev_find(&got, WEFT_EV_FAIL, WEFT_REPORTER_SOURCE)))
		ASSERT_EQ(e->reason, ECONNREFUSED, "fail: sk_err");
	if ((e = ev_find(&got, WEFT_EV_DROP, 0))) {
		ASSERT_EQ(e->reason, WEFT_STAT_POL_EGRESS_DENY, "drop: its counter");
		ASSERT_EQ(e->dir, WEFT_DIR_EGRESS, "drop: egress policy");
		ASSERT_EQ(e->dport, htons(7121), "drop: the port");
		ASSERT_EQ(e->proto, IPPROTO_TCP, "drop: TCP");
	}
out:
	ring_buffer__free(rb);
	weft_pol_free(&pol);
	ofx_close(&f);
}

static bool is_tc(struct weft *s, const struct bpf_program *p)
{
	return p == s->progs.weft_to_pod || p == s->progs.weft_from_pod;
}

/* An Ethernet + IPv4 + TCP SYN, into b; returns its length. */
static size_t syn4(uint8_t *b, const char *src, const char *dst, uint16_t sport, uint16_t dport)
{
	uint16_t et = htons(0x0800), tot = htons(40), sp = htons(sport), dp = htons(dport);

	memset(b, 0, 54);
	memcpy(b + 12, &et, 2);
	b[14] = 0x45;
	memcpy(b + 16, &tot, 2);
	b[22] = 64;
	b[23] = IPPROTO_TCP;
	inet_pton(AF_INET, src, b + 26);
	inet_pton(AF_INET, dst, b + 30);
	memcpy(b + 34, &sp, 2);
	memcpy(b + 36, &dp, 2);
	b[46] = 5 << 4;
	b[47] = 0x02;
	return 54;
}

/* A packet tc drops by policy is an event while observed. */
TEST(bpf, obs_tc_drop_event)
{
	static const char policy[] =
		"endpoints:\n"
		"  - {name: cli, ip: " CLI_IP ", labels: {app: client}}\n"
		"  - {name: srv, ip: " SRV_IP ", labels: {app: web}}\n"
		"policies:\n"
		"  - name: web-in\n"
		"    selector: {app: web}\n"
		"    ingress: [{from: [{selector: {app: client}}], ports: [{port: 8080}]}]\n";
	static const char *const srv_addrs[] = { SRV_IP };
	struct weft_obs_cfg on = { .observers = 1 };
	struct weft_pol_state pol = { 0 };
	struct ring_buffer *rb = NULL;
	struct evs got = { .n = 0 };
	struct weft *skel = NULL;
	const struct weft_event *e;
	char err[512] = "";
	uint8_t pkt[64];
	__u32 zero = 0;

	tenv_need_root();
	if (!ASSERT_OK(sfx_load(&skel, is_tc), "load the tc programs") ||
	    !ASSERT_OK(sfx_tc_iface(skel, 1, srv_addrs, 1, 64), "srv's interface (lo)") ||
	    !ASSERT_OK(sfx_policy(skel, &pol, policy, err, sizeof(err)), err))
		goto out;
	rb = ring_buffer__new(bpf_map__fd(skel->maps.weft_events), ev_collect, &got, NULL);
	if (!ASSERT_NOT_NULL(rb, "ring buffer") ||
	    !ASSERT_OK(bpf_map_update_elem(bpf_map__fd(skel->maps.weft_obs_cfg), &zero, &on, BPF_ANY),
		       "one observer"))
		goto out;
	for (int i = 0; i < 2; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .repeat = 1);

		/* 8080 is allowed, 9090 is not. */
		o.data_size_in = syn4(pkt, CLI_IP, SRV_IP, 40000 + i, i ? 9090 : 8080);
		if (!ASSERT_OK(bpf_prog_test_run_opts(bpf_program__fd(skel->progs.weft_to_pod), &o),
			       "test run"))
			goto out;
		ASSERT_EQ(o.retval, i ? 2 : 0, "verdict (TC_ACT_SHOT for 9090)");
	}
	ring_buffer__consume(rb);
	if (!ASSERT_EQ(got.n, 1, "one event: the drop") || !(e = &got.ev[0]))
		goto out;
	ASSERT_EQ(e->type, WEFT_EV_DROP, "a drop");
	ASSERT_EQ(e->reason, WEFT_STAT_POL_TC_INGRESS_DENY, "its counter");
	ASSERT_EQ(e->dir, WEFT_DIR_INGRESS, "ingress policy");
	ASSERT_EQ(e->sport, htons(40001), "source port");
	ASSERT_EQ(e->dport, htons(9090), "destination port");
	ASSERT_EQ(e->daddr[3], inet_addr(SRV_IP), "destination");
out:
	ring_buffer__free(rb);
	weft_pol_free(&pol);
	weft__destroy(skel);
}

/* ---- /metrics from the maps the kernel filled --------------------------- */

static void skel_maps(struct weft *skel, struct weft_maps *maps)
{
	for (int id = 0; id < WEFT_M_COUNT; id++)
		maps->fd[id] = bpf_map__fd(bpf_object__find_map_by_name(skel->obj, weft_map_name(id)));
}

static int ep_put(struct weft *skel, const char *ip, const char *workload)
{
	struct weft_addr_key k;
	struct weft_ep_val v = { 0 };

	v4(k.addr, ip);
	snprintf(v.name, sizeof(v.name), "%s-0", workload);
	snprintf(v.ns, sizeof(v.ns), "shop");
	snprintf(v.workload, sizeof(v.workload), "%s", workload);
	snprintf(v.service_account, sizeof(v.service_account), "%s-sa", workload);
	return bpf_map_update_elem(bpf_map__fd(skel->maps.weft_ep_v2), &k, &v, BPF_ANY);
}

static const struct weft_metrics_tcp *tcp_series(const struct weft_metrics_snap *s, uint8_t reporter)
{
	for (size_t i = 0; i < s->ntcp; i++)
		if (s->tcp[i].reporter == reporter && !strcmp(s->tcp[i].src_wl, "shop-web") &&
		    !strcmp(s->tcp[i].dst_wl, "shop-api") && !strcmp(s->tcp[i].svc, "api") &&
		    !strcmp(s->tcp[i].svc_ns, "shop"))
			return &s->tcp[i];
	return NULL;
}

/* While a redirected connection through a VIP is open, the scrape shows it
 * (opened, active, the bytes so far); after it closed, the exact totals. */
TEST(bpf, obs_metrics_from_live_flows_and_edges)
{
	const size_t up = 4000, down = 9000;
	struct sfx_be be = { SRV_IP, 7130, 1 };
	struct sfx_svc svc = { VIP, 7130, IPPROTO_TCP, WEFT_LB_RANDOM, 0, 0, &be, 1 };
	struct weft_sp sp = { 0 };
	struct weft_state st = { .sp = &sp, .n = 1 };
	struct weft_metrics_snap snap = { 0 };
	const struct weft_metrics_tcp *t;
	struct weft_edge_val src, dst;
	struct weft_maps maps;
	struct ofx f;
	int id, fd;
	pid_t srv;

	if (!setup(&f, true))
		goto out;
	id = sfx_add_service(&f.sfx, &svc);
	if (!ASSERT_TRUE(id > 0, "service") || !ASSERT_OK(ep_put(f.sfx.skel, CLI_IP, "shop-web"), "cli ep") ||
	    !ASSERT_OK(ep_put(f.sfx.skel, SRV_IP, "shop-api"), "srv ep"))
		goto out;
	sp.val.id = id;
	strcpy(sp.meta.name, "api");
	strcpy(sp.meta.ns, "shop");
	skel_maps(f.sfx.skel, &maps);
	srv = obs_server(7130, 1, up, down);
	if (!ASSERT_TRUE(srv > 0, "server") || !ASSERT_OK(tenv_enter("cli", true), "enter cli"))
		goto out;
	fd = obs_client(VIP, 7130, up, down);
	if (!ASSERT_TRUE(fd >= 0, "exchange"))
		goto out;
	if (ASSERT_OK(weft_metrics_gather(&st, &maps, NULL, &snap), "scrape while open")) {
		ASSERT_EQ(snap.flows, 2, "two live flows");
		if (ASSERT_NOT_NULL(t = tcp_series(&snap, WEFT_REPORTER_SOURCE), "source series, named")) {
			ASSERT_EQ(t->v.opened, 1, "opened while open");
			ASSERT_EQ(t->active, 1, "active");
			ASSERT_EQ(t->v.closed, 0, "not closed yet");
			ASSERT_EQ(t->v.sent_bytes, down, "the reply's bytes, live");
			ASSERT_STR(t->src_ns, "shop", "source namespace");
			ASSERT_STR(t->src_sa, "shop-web-sa", "source service account, from weft_ep_v2");
			ASSERT_STR(t->dst_sa, "shop-api-sa", "destination service account");
		}
		if (ASSERT_NOT_NULL(t = tcp_series(&snap, WEFT_REPORTER_DESTINATION), "destination series"))
			ASSERT_EQ(t->v.sent_bytes, down, "destination: the reply's bytes, live");
	}
	weft_metrics_snap_free(&snap);
	close(fd);
	server_wait(srv);
	if (!ASSERT_TRUE(edges_closed(&f, id, 7130, 1, &src, &dst), "closed"))
		goto out;
	if (ASSERT_OK(weft_metrics_gather(&st, &maps, NULL, &snap), "scrape after close")) {
		ASSERT_EQ(snap.flows, 0, "no live flow");
		for (uint8_t r = WEFT_REPORTER_SOURCE; r <= WEFT_REPORTER_DESTINATION; r++) {
			if (!ASSERT_NOT_NULL(t = tcp_series(&snap, r), "series after close"))
				continue;
			ASSERT_EQ(t->v.opened, 1, "opened");
			ASSERT_EQ(t->v.closed, 1, "closed");
			ASSERT_EQ(t->active, 0, "not active");
			ASSERT_EQ(t->v.received_bytes, up, "received = client to server");
			ASSERT_EQ(t->v.sent_bytes, down, "sent = server to client");
		}
		ASSERT_GE(snap.nhist, 2, "RTT and connect histograms");
	}
	weft_metrics_snap_free(&snap);
out:
	ofx_close(&f);
}

/* The TCP series are keyed by (workload, namespace, service account) of
 * each end, from weft_ep_v2: two pods of one workload under two accounts
 * are two series with their principals, two under one account one series
 * (summed); an address that is no endpoint is unknown, principal too; the
 * series budget counts the series as rendered. */
TEST(bpf, obs_metrics_series_by_service_account)
{
	static const struct {
		const char *ip, *sa;
	} clients[] = { { "10.250.0.11", "web-a" }, { "10.250.0.12", "web-a" }, { "10.250.0.13", "web-b" },
			{ "192.0.2.7", NULL } };
	struct weft_state st = { 0 };
	struct weft_metrics_snap snap = { 0 };
	struct weft_buf out = { 0 };
	struct weft_maps maps;
	struct ofx f;
	int n;

	if (!setup(&f, false))
		goto out;
	skel_maps(f.sfx.skel, &maps);
	if (!ASSERT_OK(ep_put(f.sfx.skel, SRV_IP, "shop-api"), "server ep"))
		goto out;
	for (size_t i = 0; i < sizeof(clients) / sizeof(clients[0]); i++) {
		struct weft_edge_key k = { .reporter = WEFT_REPORTER_DESTINATION, .proto = IPPROTO_TCP,
					   .server_port = htons(8080) };
		struct weft_edge_val v = { .opened = 1 + i };
		struct weft_addr_key a;
		struct weft_ep_val e = { 0 };

		v4(a.addr, clients[i].ip);
		memcpy(k.client, a.addr, 16);
		v4(k.server, SRV_IP);
		snprintf(e.name, sizeof(e.name), "web-%zu", i);
		snprintf(e.ns, sizeof(e.ns), "shop");
		snprintf(e.workload, sizeof(e.workload), "shop-web");
		if (clients[i].sa)
			snprintf(e.service_account, sizeof(e.service_account), "%s", clients[i].sa);
		if ((clients[i].sa && !ASSERT_OK(bpf_map_update_elem(maps.fd[WEFT_M_EP], &a, &e, BPF_ANY),
						  "client ep")) ||
		    !ASSERT_OK(bpf_map_update_elem(maps.fd[WEFT_M_EDGE], &k, &v, BPF_ANY), "edge"))
			goto out;
	}
	if (!ASSERT_OK(weft_metrics_gather(&st, &maps, NULL, &snap), "scrape") ||
	    !ASSERT_OK(weft_metrics_render(&snap, &out), "render"))
		goto out;
	ASSERT_TRUE(strstr(out.p, "\nweft_tcp_connections_opened_total{reporter=\"destination\","
				  "source_workload=\"shop-web\",source_workload_namespace=\"shop\","
				  "source_principal=\"spiffe://cluster.local/ns/shop/sa/web-a\","
				  "destination_workload=\"shop-api\",destination_workload_namespace=\"shop\","
				  "destination_principal=\"spiffe://cluster.local/ns/shop/sa/shop-api-sa\","),
		    out.p);
	{
		/* the canonical labels follow request_protocol; the value ends the line */
		const char *a = strstr(out.p, "sa/web-a\",destination_workload=\"shop-api\",destination_workload_namespace=\"shop\","
					       "destination_principal=\"spiffe://cluster.local/ns/shop/sa/shop-api-sa\","
					       "destination_cluster=\"Kubernetes\","
					       "destination_service=\"unknown\",destination_service_name=\"unknown\","
					       "destination_service_namespace=\"unknown\",request_protocol=\"tcp\"");
		const char *end = a ? strchr(a, '}') : NULL;

		ASSERT_TRUE(end && !strncmp(end, "} 3\n", 4), "web-a's two pods: one series, 1 + 2 opened");
	}
	ASSERT_TRUE(strstr(out.p, "source_principal=\"spiffe://cluster.local/ns/shop/sa/web-b\","
				  "destination_workload=\"shop-api\""),
		    "web-b: a series of its own");
	ASSERT_TRUE(strstr(out.p, "source_workload=\"unknown\",source_workload_namespace=\"unknown\","
				  "source_principal=\"unknown\","),
		    "the world: unknown");
	n = 0;
	for (const char *p = out.p; (p = strstr(p, "\nweft_tcp_connections_opened_total{")); p++)
		n++;
	ASSERT_EQ(n, 3, "three series: web-a, web-b, unknown");
	/* The budget counts these series: 7 TCP families of 3 series each. */
	weft_buf_free(&out);
	snap.max_series = 4;
	if (ASSERT_OK(weft_metrics_render(&snap, &out), "render with a budget")) {
		n = 0;
		for (const char *p = out.p; (p = strstr(p, "\nweft_tcp_")); p++)
			n += p[strcspn(p + 1, " {") + 1] == '{';
		ASSERT_LE(n, 4, "at most the budget of TCP series");
		ASSERT_TRUE(strstr(out.p, "\nweft_metrics_series_dropped_total ") &&
				    !strstr(out.p, "\nweft_metrics_series_dropped_total 0\n"),
			    "the rest counted as dropped");
	}
out:
	weft_buf_free(&out);
	weft_metrics_snap_free(&snap);
	ofx_close(&f);
}
