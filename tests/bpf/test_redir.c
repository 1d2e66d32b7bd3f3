// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Same-node socket redirect (sockops + sk_msg) against the real kernel:
 * weft's skeleton with the socket programs and the redirect programs, on the
 * test cgroup, pods in network namespaces, real TCP sockets.
 *
 * Every transfer is a checksummed stream: byte i of a direction is byte i of
 * a PRNG sequence both ends compute, so loss, duplication and reordering
 * are all caught at the byte where they happen. Redirect is proven twice:
 * the redirect counters move and the pod's veth does not carry the payload.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <netinet/tcp.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "model/model.h"
#include "harness.h"
#include "sockfix.h"
#include "testenv.h"
#include "weft.skel.h"

#define CLI_IP "10.250.0.10"
#define SRV_IP "10.250.0.21"
#define CLI_IP6 "fd00:250::10"
#define SRV_IP6 "fd00:250::21"
#define VIP "10.250.100.1"
#define MAGIC 0x77656674u	/* "weft" */

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* ---- fixture: socket programs + redirect programs on the test cgroup ---- */

struct rfx {
	struct sfx sfx;		/* socket, sockops and sk_msg programs on the test cgroup */
	struct weft *skel;	/* sfx.skel */
};

static int rfx_set(struct rfx *f, uint32_t enabled)
{
	struct weft_redir_cfg rc = { .enabled = enabled };
	struct weft_addr_key k;
	__u32 zero = 0, next_ok;

	/* noff = entries in weft_redir_off */
	rc.noff = 0;
	for (next_ok = bpf_map_get_next_key(bpf_map__fd(f->skel->maps.weft_redir_off), NULL, &k);
	     next_ok == 0;
	     next_ok = bpf_map_get_next_key(bpf_map__fd(f->skel->maps.weft_redir_off), &k, &k))
		rc.noff++;
	return bpf_map_update_elem(bpf_map__fd(f->skel->maps.weft_redir_cfg), &zero, &rc, BPF_ANY);
}

/* Switch redirect off (off = true) or on for one endpoint address. */
static int rfx_endpoint(struct rfx *f, const char *ip, bool off)
{
	struct weft_addr_key k;
	struct weft_ip a;
	struct weft_redir_cfg rc;
	__u32 one = 1, zero = 0;
	int fd = bpf_map__fd(f->skel->maps.weft_redir_off);

	if (!weft_ip_parse(ip, &a))
		return -EINVAL;
	memcpy(k.addr, &a.a, sizeof(k.addr));
	if (off ? bpf_map_update_elem(fd, &k, &one, BPF_ANY) : bpf_map_delete_elem(fd, &k))
		return -errno;
	if (bpf_map_lookup_elem(bpf_map__fd(f->skel->maps.weft_redir_cfg), &zero, &rc))
		return -errno;
	return rfx_set(f, rc.enabled);
}

/* The programs on the test cgroup, redirect on. */
static int rfx_open(struct rfx *f)
{
	int err = sfx_open_sockops(&f->sfx);

	f->skel = f->sfx.skel;
	return err ? err : rfx_set(f, 1) ? -errno : 0;
}

static void rfx_close(struct rfx *f)
{
	sfx_close(&f->sfx);
	f->skel = NULL;
}

static uint64_t rfx_stat(struct rfx *f, enum weft_stat stat)
{
	return sfx_stat(&f->sfx, stat);
}

/* A VIP 10.250.100.1:80 -> SRV_IP:port through the connect-time rewrite. */
static int rfx_vip(struct rfx *f, uint16_t port)
{
	struct sfx s = { .skel = f->skel, .next_id = 1 };
	struct sfx_be be = { .ip = SRV_IP, .port = port };
	struct sfx_svc svc = { .vip = VIP, .port = 80, .proto = IPPROTO_TCP, .be = &be, .nbe = 1 };

	return sfx_add_service(&s, &svc);
}

/* Bytes the node saw on a pod's veth (both directions). */
static uint64_t veth_bytes(const char *pod)
{
	char ns[64], out[128];
	uint64_t rx = 0, tx = 0;

	tenv_ns("node", ns, sizeof(ns));
	if (tenv_capture(out, sizeof(out),
			 "ip netns exec %s cat /sys/class/net/wv-%s/statistics/rx_bytes "
			 "/sys/class/net/wv-%s/statistics/tx_bytes", ns, pod, pod))
		return 0;
	sscanf(out, "%lu %lu", &rx, &tx);
	return rx + tx;
}

/* ---- checksummed streams ---- */

/* Byte i of stream seed: splitmix64 of (seed, i / 8), byte i % 8. */
static inline uint64_t mix64(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void stream_fill(uint64_t seed, uint64_t off, uint8_t *buf, size_t len)
{
	uint64_t w = mix64(seed ^ ((off / 8) * 0x100000001b3ull));

	for (size_t i = 0; i < len; i++, off++) {
		if (off % 8 == 0)
			w = mix64(seed ^ ((off / 8) * 0x100000001b3ull));
		buf[i] = w >> (8 * (off % 8));
	}
}

/* How the sending side writes. */
enum wstyle { W_WRITE, W_WRITEV, W_SENDFILE };

/* One direction's plan, sent by the client in the header. */
struct plan {
	uint64_t bytes;		/* payload length */
	uint32_t wchunk;	/* bytes per write() (W_WRITE), per writev iovec set */
	uint32_t rchunk;	/* bytes per read() of the receiver: 1 = byte at a time */
	uint32_t style;		/* enum wstyle */
	uint32_t after_eof;	/* start sending only after the peer's EOF (half-close) */
	uint32_t pace_us;	/* sleep between writes (0: full speed) */
	uint32_t pad;
};

struct hdr {
	uint32_t magic;
	uint32_t flags;
	uint64_t seed;
	struct plan up;		/* client -> server */
	struct plan down;	/* server -> client */
};

#define F_RST_CLIENT 1	/* client resets (SO_LINGER 0) half-way through up */
#define F_SIMUL_CLOSE 2	/* both ends close as soon as their own send is done */

/* One end of one connection, driven by poll. */
struct end {
	int fd;
	uint64_t seed_tx, seed_rx;
	const struct plan *tx, *rx;
	uint64_t sent, got;
	bool tx_done, rx_eof, bad, reset;
	bool simul;		/* F_SIMUL_CLOSE: close as soon as both ways are done */
	int sfd;		/* W_SENDFILE: file holding the stream */
	off_t soff;
	long long next_write_ms;
};

static int end_send(struct end *e)
{
	uint8_t buf[262144];
	uint64_t left = e->tx->bytes - e->sent;
	ssize_t n;

	if (e->tx_done || (e->tx->after_eof && !e->rx_eof))
		return 0;
	if (!left) {
		e->tx_done = true;
		return shutdown(e->fd, SHUT_WR) < 0 && errno != ENOTCONN ? -errno : 0;
	}
	if (e->tx->pace_us) {
		if (now_ms() * 1000 < e->next_write_ms * 1000)
			return 0;
		e->next_write_ms = now_ms() + e->tx->pace_us / 1000;
	}
	if (e->tx->style == W_SENDFILE) {
		n = sendfile(e->fd, e->sfd, &e->soff, left > (1 << 20) ? 1 << 20 : left);
	} else if (e->tx->style == W_WRITEV) {
		/* Three iovecs of odd sizes covering one chunk. */
		size_t c = e->tx->wchunk < left ? e->tx->wchunk : left;
		size_t a = c / 3, b = c / 5;
		struct iovec iov[3];

		if (c > sizeof(buf))
			c = sizeof(buf);
		stream_fill(e->seed_tx, e->sent, buf, c);
		iov[0] = (struct iovec){ buf, a };
		iov[1] = (struct iovec){ buf + a, b };
		iov[2] = (struct iovec){ buf + a + b, c - a - b };
		n = writev(e->fd, iov, 3);
	} else {
		size_t c = e->tx->wchunk < left ? e->tx->wchunk : left;

		if (c > sizeof(buf))
			c = sizeof(buf);
		stream_fill(e->seed_tx, e->sent, buf, c);
		n = write(e->fd, buf, c);
	}
	if (n < 0)
		return errno == EAGAIN ? 0 : -errno;
	e->sent += n;
	return 0;
}

static int end_recv(struct end *e)
{
	uint8_t buf[262144], want[262144];
	size_t c = e->rx->rchunk ? e->rx->rchunk : sizeof(buf);
	ssize_t n;

	if (e->rx_eof)
		return 0;
	if (c > sizeof(buf))
		c = sizeof(buf);
	n = read(e->fd, buf, c);
	if (n < 0)
		return errno == EAGAIN ? 0 : -errno;
	if (n == 0) {
		e->rx_eof = true;
		return 0;
	}
	if (e->got + n > e->rx->bytes) {
		e->bad = true;
		return -EPROTO;
	}
	stream_fill(e->seed_rx, e->got, want, n);
	if (memcmp(buf, want, n)) {
		fprintf(stderr, "    stream mismatch at byte %lu..%lu\n", (unsigned long)e->got,
			(unsigned long)(e->got + n));
		e->bad = true;
		return -EPROTO;
	}
	e->got += n;
	return 0;
}

static bool end_complete(const struct end *e)
{
	return e->tx_done && e->got == e->rx->bytes && (e->rx_eof || e->simul);
}

static bool end_finished(const struct end *e)
{
	return e->bad || e->reset || end_complete(e);
}

static bool end_wants_write(const struct end *e)
{
	if (e->tx_done || (e->tx->after_eof && !e->rx_eof))
		return false;
	return !e->tx->pace_us || now_ms() >= e->next_write_ms;
}

/* Drive ends until all finish or deadline. Returns the number of ends that
 * ended correctly (all bytes both ways, in order, then EOF). */
static int run_ends(struct end *ends, int n, long long deadline_ms, bool *timed_out)
{
	struct pollfd *pf = calloc(n, sizeof(*pf));
	int ok = 0, live = n;

	*timed_out = false;
	while (live && now_ms() < deadline_ms) {
		int k = 0;

		for (int i = 0; i < n; i++) {
			struct end *e = &ends[i];

			if (end_finished(e) || e->fd < 0)
				continue;
			pf[k].fd = e->fd;
			pf[k].events = (e->rx_eof ? 0 : POLLIN) | (end_wants_write(e) ? POLLOUT : 0);
			pf[k].revents = 0;
			k++;
		}
		if (poll(pf, k, 1) < 0 && errno != EINTR)
			break;
		live = 0;
		for (int i = 0; i < n; i++) {
			struct end *e = &ends[i];
			int r1, r2;

			if (end_finished(e) || e->fd < 0)
				continue;
			r1 = end_recv(e);
			r2 = end_send(e);
			if (r1 == -ECONNRESET || r2 == -ECONNRESET || r2 == -EPIPE)
				e->reset = true;
			else if (r1 || r2)
				e->bad = true;
			if (e->simul && end_complete(e) && e->fd >= 0) {
				close(e->fd);
				e->fd = -1;
			}
			if (!end_finished(e))
				live++;
		}
	}
	for (int i = 0; i < n; i++) {
		if (!end_finished(&ends[i]))
			*timed_out = true;
		ok += !ends[i].bad && !ends[i].reset && end_complete(&ends[i]) &&
		      ends[i].sent == ends[i].tx->bytes;
	}
	free(pf);
	return ok;
}

static int read_full(int fd, void *buf, size_t len, long long deadline)
{
	size_t got = 0;

	while (got < len && now_ms() < deadline) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 100) <= 0)
			continue;
		n = read(fd, (char *)buf + got, len - got);
		if (n <= 0)
			return n == 0 ? -EPIPE : -errno;
		got += n;
	}
	return got == len ? 0 : -ETIMEDOUT;
}

/*
 * The server: a child in pod srv (in the test cgroup when cgroup), listening
 * on listen_addr:port, serving nconn connections (all concurrently), each
 * following the plan in its header. Exits with the number of connections
 * that did not end correctly (capped at 250), 251 on setup errors.
 */
static pid_t server(const char *pod, bool cgroup, const char *listen_addr, uint16_t port,
		    int nconn)
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
		struct end *ends = calloc(nconn, sizeof(*ends));
		struct hdr *h = calloc(nconn, sizeof(*h));
		int lfd, one = 1, fam, ok, accepted = 0;
		long long deadline = now_ms() + 60000;
		socklen_t sl;
		bool to;

		close(p[0]);
		if (tenv_enter(pod, cgroup))
			_exit(251);
		fam = weft_sockaddr(listen_addr, port, false, &ss, &sl);
		lfd = socket(fam, SOCK_STREAM | SOCK_CLOEXEC, 0);
		setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (lfd < 0 || bind(lfd, (struct sockaddr *)&ss, sl) || listen(lfd, 4096))
			_exit(251);
		if (write(p[1], "r", 1) != 1)
			_exit(251);
		while (accepted < nconn && now_ms() < deadline) {
			struct pollfd pl = { .fd = lfd, .events = POLLIN };
			int fd;

			if (poll(&pl, 1, 100) <= 0)
				continue;
			fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			if (fd < 0)
				continue;
			if (read_full(fd, &h[accepted], sizeof(h[accepted]), deadline) ||
			    h[accepted].magic != MAGIC)
				_exit(251);
			fcntl(fd, F_SETFL, O_NONBLOCK);
			ends[accepted] = (struct end){ .fd = fd, .seed_tx = h[accepted].seed + 1,
						       .seed_rx = h[accepted].seed,
						       .tx = &h[accepted].down, .rx = &h[accepted].up,
						       .sfd = -1,
						       .simul = h[accepted].flags & F_SIMUL_CLOSE };
			accepted++;
		}
		ok = run_ends(ends, accepted, deadline, &to);
		/* Against a resetting client, ending by reset (or EOF) in time
		 * with no corrupt byte is the right end. */
		if (accepted && (h[0].flags & F_RST_CLIENT)) {
			ok = 0;
			for (int i = 0; i < accepted; i++)
				ok += !ends[i].bad && end_finished(&ends[i]);
		}
		for (int i = 0; i < accepted; i++)
			if (ends[i].fd >= 0)
				close(ends[i].fd);
		_exit(nconn - ok > 250 ? 250 : nconn - ok);
	}
	close(p[1]);
	return tenv_wait_ready(p[0], pid);
}

/* Exit status of the server (its failed connections), waiting up to ms. */
static int server_wait(pid_t pid, int ms)
{
	int st = 0;

	for (long long end = now_ms() + ms; now_ms() < end; usleep(5000))
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 252;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return 253;
}

struct run {
	const char *addr;	/* where the client connects */
	uint16_t port;
	bool v4mapped;		/* AF_INET6 client socket to ::ffff:addr */
	int nconn;
	uint32_t flags;
	struct plan up, down;
	const char *pod;	/* the client's pod; NULL = cli */
	uint64_t seed_base;	/* streams of this run (0 = 1000) */
	uint16_t src_port;	/* bind connection i to addr:src_port+i (0: ephemeral) */
	int settle_ms;		/* pause between connect and the first byte: the
				 * server's end is learned by sockops when it sees
				 * the handshake's last ACK, and a first message sent
				 * before keeps its direction on the stack (the order
				 * rule); under emulation that window is wide */
};

/*
 * The client side, in this process (already in the cli pod and cgroup):
 * nconn concurrent connections, each with the plans. Returns the number of
 * connections that ended correctly.
 */
static int client(const struct run *r, long long deadline)
{
	struct end *ends = calloc(r->nconn, sizeof(*ends));
	struct hdr h = { .magic = MAGIC, .flags = r->flags, .up = r->up, .down = r->down };
	struct sockaddr_storage ss;
	char tmpl[] = "/tmp/weft-redir-XXXXXX";
	int sfd = -1, ok = 0, fam;
	socklen_t sl;
	bool to;

	fam = weft_sockaddr(r->addr, r->port, r->v4mapped, &ss, &sl);
	if (r->up.style == W_SENDFILE) {
		uint8_t *buf = malloc(r->up.bytes);

		sfd = mkstemp(tmpl);
		unlink(tmpl);
		stream_fill(r->seed_base ? r->seed_base : 1000, 0, buf, r->up.bytes);
		if (sfd < 0 || write(sfd, buf, r->up.bytes) != (ssize_t)r->up.bytes) {
			free(buf);
			free(ends);
			return -1;
		}
		free(buf);
	}
	for (int i = 0; i < r->nconn; i++) {
		int fd = socket(fam, SOCK_STREAM | SOCK_CLOEXEC, 0);

		h.seed = (r->seed_base ? r->seed_base : 1000) +
			 (r->up.style == W_SENDFILE ? 0 : 2 * (uint64_t)i);
		if (fd >= 0 && r->src_port) {
			struct sockaddr_storage bs;
			socklen_t bl;
			int one = 1;

			weft_sockaddr(r->addr, r->src_port + i, r->v4mapped, &bs, &bl);
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
			if (bind(fd, (struct sockaddr *)&bs, bl))
				fprintf(stderr, "    bind %d: %s\n", i, strerror(errno));
		}
		bool up = fd >= 0 && connect(fd, (struct sockaddr *)&ss, sl) == 0;

		if (up && r->settle_ms)
			usleep(r->settle_ms * 1000);
		if (!up || write(fd, &h, sizeof(h)) != sizeof(h)) {
			fprintf(stderr, "    connect %d: %s\n", i, strerror(errno));
			if (fd >= 0)
				close(fd);
			ends[i] = (struct end){ .fd = -1, .bad = true, .tx = &r->up, .rx = &r->down };
			continue;
		}
		fcntl(fd, F_SETFL, O_NONBLOCK);
		ends[i] = (struct end){ .fd = fd, .seed_tx = h.seed, .seed_rx = h.seed + 1,
					.tx = &r->up, .rx = &r->down, .sfd = sfd,
					.simul = r->flags & F_SIMUL_CLOSE };
	}
	if (r->flags & F_RST_CLIENT) {
		/* Send half, then reset. The server must end (EOF or reset)
		 * with a correct prefix and not hang. */
		struct plan half = r->up;

		half.bytes = r->up.bytes / 2;
		for (int i = 0; i < r->nconn; i++)
			ends[i].tx = &half;
		for (long long end = now_ms() + 10000; now_ms() < end;) {
			bool all = true;

			for (int i = 0; i < r->nconn; i++) {
				if (ends[i].sent < half.bytes)
					end_send(&ends[i]);
				end_recv(&ends[i]);
				all &= ends[i].sent == half.bytes;
			}
			if (all)
				break;
			usleep(1000);
		}
		for (int i = 0; i < r->nconn; i++) {
			struct linger l = { .l_onoff = 1, .l_linger = 0 };

			setsockopt(ends[i].fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
			close(ends[i].fd);
			ok += ends[i].sent == half.bytes && !ends[i].bad;
		}
		goto out;
	}
	ok = run_ends(ends, r->nconn, deadline, &to);
	if (to)
		fprintf(stderr, "    client: timed out\n");
	for (int i = 0; i < r->nconn; i++)
		if (ends[i].fd >= 0)
			close(ends[i].fd);
out:
	if (sfd >= 0)
		close(sfd);
	free(ends);
	return ok;
}

/* Run r in a forked client in the cli pod; the client exits with the
 * connections that failed. */
static int client_child(const struct run *r, int timeout_ms)
{
	pid_t pid;
	int st = 0;

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		int ok;

		if (tenv_enter(r->pod ? r->pod : "cli", true))
			_exit(251);
		ok = client(r, now_ms() + timeout_ms);
		_exit(ok < 0 ? 251 : r->nconn - ok > 250 ? 250 : r->nconn - ok);
	}
	for (long long end = now_ms() + timeout_ms + 5000; now_ms() < end; usleep(5000))
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 252;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return 253;
}

static bool setup(struct rfx *f)
{
	int err;

	memset(f, 0, sizeof(*f));
	f->sfx.cgfd = -1;
	tenv_need_root();
	/* A write to a reset connection is an error to count, not a death. */
	signal(SIGPIPE, SIG_IGN);
	if (!ASSERT_OK(tenv_pod("cli", CLI_IP, CLI_IP6), "client pod") ||
	    !ASSERT_OK(tenv_pod("srv", SRV_IP, SRV_IP6), "server pod"))
		return false;
	err = rfx_open(f);
	if (err == -EOPNOTSUPP || err == -EINVAL)
		SKIP("kernel cannot load sockops/sk_msg: %s", strerror(-err));
	return ASSERT_OK(err, "load and attach the redirect programs");
}

/* One client/server exchange; asserts both sides ended correctly. */
static bool exchange(const char *what, const struct run *r, const char *listen_addr,
		     bool srv_cgroup, int timeout_ms)
{
	pid_t srv = server("srv", srv_cgroup, listen_addr, r->port, r->nconn);
	int cfail, sfail;

	if (!ASSERT_TRUE(srv > 0, "server started"))
		return false;
	cfail = client_child(r, timeout_ms);
	sfail = server_wait(srv, timeout_ms);
	return weft_assert(cfail == 0 && sfail == 0, __FILE__, __LINE__,
			   "%s: client failed %d, server failed %d (of %d connections)", what,
			   cfail, sfail, r->nconn);
}

#define PLAN(b, wc, rc) { .bytes = (b), .wchunk = (wc), .rchunk = (rc) }

/* Every payload size, both ways at once, redirected: counters move, the
 * veth does not see the payload. */
TEST_TIMEOUT(bpf, redir_payload_sizes_checksummed, 240)
{
	static const uint64_t sizes[] = { 1, 2, 7, 100, 1460, 4096, 65535, 65536, 65537,
					  1 << 20, (1 << 20) + 3, 16 << 20, 64 << 20 };
	struct rfx f;
	uint64_t msgs, bytes, veth, total = 0;

	if (!setup(&f))
		return;
	msgs = rfx_stat(&f, WEFT_STAT_REDIR_MSGS);
	bytes = rfx_stat(&f, WEFT_STAT_REDIR_BYTES);
	veth = veth_bytes("srv");
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct run r = { .addr = SRV_IP, .port = 7000 + i, .nconn = 1,
				 .up = PLAN(sizes[i], 65536, 0), .down = PLAN(sizes[i], 200000, 0) };
		char what[64];

		snprintf(what, sizeof(what), "%lu bytes each way", (unsigned long)sizes[i]);
		if (!exchange(what, &r, "::", true, 60000))
			break;
		total += 2 * sizes[i];
	}
	ASSERT_GE(rfx_stat(&f, WEFT_STAT_REDIR_MSGS) - msgs, 26, "messages redirected");
	/* Headers (48 B per connection) also ride the redirect. */
	ASSERT_GE(rfx_stat(&f, WEFT_STAT_REDIR_BYTES) - bytes, total, "bytes redirected");
	ASSERT_LE(veth_bytes("srv") - veth, total / 100 + 13 * 4096, "the veth saw handshakes, not payload");
	ASSERT_EQ(rfx_stat(&f, WEFT_STAT_REDIR_NO_PEER), 0, "no fallback: both ends learned");
	rfx_close(&f);
}

/* Write and read styles: 1-byte writes, writev, sendfile, a reader that
 * reads one byte at a time, a half-close with the other side still sending. */
TEST_TIMEOUT(bpf, redir_write_and_read_styles, 180)
{
	struct {
		const char *what;
		struct plan up, down;
	} cases[] = {
		{ "many 1-byte writes", PLAN(20000, 1, 0), PLAN(20000, 3, 0) },
		{ "writev", { .bytes = 3 << 20, .wchunk = 100003, .style = W_WRITEV },
		  { .bytes = 1 << 20, .wchunk = 7777, .style = W_WRITEV } },
		{ "sendfile", { .bytes = 8 << 20, .style = W_SENDFILE }, PLAN(1, 1, 0) },
		{ "1-byte reader", PLAN(300000, 65536, 1), PLAN(300000, 65536, 1) },
		{ "half-close, server keeps sending",
		  PLAN(1000, 1000, 0), { .bytes = 4 << 20, .wchunk = 65536, .after_eof = 1 } },
	};
	struct rfx f;

	if (!setup(&f))
		return;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct run r = { .addr = SRV_IP, .port = 7100 + i, .nconn = 1, .up = cases[i].up,
				 .down = cases[i].down };
		uint64_t msgs = rfx_stat(&f, WEFT_STAT_REDIR_MSGS);

		exchange(cases[i].what, &r, "::", true, 60000);
		ASSERT_GE(rfx_stat(&f, WEFT_STAT_REDIR_MSGS) - msgs, 2, cases[i].what);
	}
	rfx_close(&f);
}

/* IPv4, IPv6, v4-mapped on a dual-stack socket, and through a VIP. */
TEST(bpf, redir_families_and_vip)
{
	struct {
		const char *what, *addr, *listen;
		bool v4mapped;
	} cases[] = {
		{ "IPv4 to a dual-stack listener", SRV_IP, "::", false },
		{ "IPv6", SRV_IP6, "::", false },
		{ "v4-mapped client to an IPv4 listener", SRV_IP, "0.0.0.0", true },
		{ "through the VIP", VIP, "::", false },
		{ "through the VIP, v4-mapped", VIP, "0.0.0.0", true },
	};
	struct rfx f;

	if (!setup(&f))
		return;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint16_t port = 7200 + i;
		struct run r = { .addr = cases[i].addr, .port = port, .v4mapped = cases[i].v4mapped,
				 .nconn = 2, .up = PLAN(1 << 20, 65536, 0),
				 .down = PLAN(1 << 20, 65536, 0), .settle_ms = 100 };
		uint64_t b = rfx_stat(&f, WEFT_STAT_REDIR_BYTES), veth = veth_bytes("srv");

		if (!strcmp(cases[i].addr, VIP)) {
			/* The VIP's port 80 goes to this case's server port. */
			struct sfx s = { .skel = f.skel };
			struct weft_svc_key k = { .port = htons(80), .proto = IPPROTO_TCP };
			struct weft_ip vip;

			weft_ip_parse(VIP, &vip);
			memcpy(k.addr, &vip.a, sizeof(k.addr));
			bpf_map_delete_elem(bpf_map__fd(s.skel->maps.weft_svc), &k);
			if (!ASSERT_TRUE(rfx_vip(&f, port) > 0, "VIP"))
				return;
			r.port = 80;
		}
		pid_t srv = server("srv", true, cases[i].listen, port, r.nconn);

		if (!ASSERT_TRUE(srv > 0, "server"))
			return;
		ASSERT_EQ(client_child(&r, 30000), 0, cases[i].what);
		ASSERT_EQ(server_wait(srv, 30000), 0, cases[i].what);
		ASSERT_GE(rfx_stat(&f, WEFT_STAT_REDIR_BYTES) - b, 4 << 20, cases[i].what);
		ASSERT_LE(veth_bytes("srv") - veth, 64 << 10, cases[i].what);
	}
	rfx_close(&f);
}

/* Abrupt ends: RST (SO_LINGER 0) and kill -9 of one end mid-stream; both
 * ends closing at once. The survivor must see a correct prefix and end
 * (EOF or reset) in bounded time; no connection may hang. */
TEST_TIMEOUT(bpf, redir_rst_kill_and_simultaneous_close, 120)
{
	struct rfx f;
	pid_t srv;
	int st;

	if (!setup(&f))
		return;
	/* RST from the client half-way: the server must end every connection
	 * (reset or EOF) in time, and every byte it got must be right. */
	{
		struct run r = { .addr = SRV_IP, .port = 7300, .nconn = 8, .flags = F_RST_CLIENT,
				 .up = PLAN(4 << 20, 65536, 0), .down = PLAN(4 << 20, 65536, 0) };

		srv = server("srv", true, "::", r.port, r.nconn);
		if (!ASSERT_TRUE(srv > 0, "server"))
			return;
		ASSERT_EQ(client_child(&r, 20000), 0, "client sent half and reset");
		ASSERT_EQ(server_wait(srv, 20000), 0,
			  "server ended every reset connection in time, no corrupt byte");
	}
	/* kill -9 of the server mid-stream: the client must see EOF/reset,
	 * not hang, and every byte it got is correct. */
	{
		struct run r = { .addr = SRV_IP, .port = 7301, .nconn = 4,
				 .up = { .bytes = 64 << 20, .wchunk = 65536, .pace_us = 2000 },
				 .down = { .bytes = 64 << 20, .wchunk = 65536, .pace_us = 2000 } };
		pid_t cli;

		srv = server("srv", true, "::", r.port, r.nconn);
		if (!ASSERT_TRUE(srv > 0, "server"))
			return;
		fflush(NULL);
		cli = fork();
		if (cli == 0) {
			if (tenv_enter("cli", true))
				_exit(251);
			/* 0 ok connections expected; exit 0 when the client ended
			 * (all ends reset/EOF), 1 on a corrupt byte or timeout. */
			struct end *ends = calloc(r.nconn, sizeof(*ends));
			struct hdr h = { .magic = MAGIC, .up = r.up, .down = r.down };
			struct sockaddr_storage ss;
			socklen_t sl;
			bool to;

			weft_sockaddr(SRV_IP, r.port, false, &ss, &sl);
			for (int i = 0; i < r.nconn; i++) {
				int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

				h.seed = 5000 + 2 * i;
				if (connect(fd, (struct sockaddr *)&ss, sl) ||
				    write(fd, &h, sizeof(h)) != sizeof(h))
					_exit(2);
				fcntl(fd, F_SETFL, O_NONBLOCK);
				ends[i] = (struct end){ .fd = fd, .seed_tx = h.seed,
							.seed_rx = h.seed + 1, .tx = &r.up,
							.rx = &r.down, .sfd = -1 };
			}
			run_ends(ends, r.nconn, now_ms() + 15000, &to);
			for (int i = 0; i < r.nconn; i++)
				if (ends[i].bad || !ends[i].got)
					_exit(3);
			_exit(to ? 4 : 0);
		}
		usleep(300000);
		kill(srv, SIGKILL);
		waitpid(srv, NULL, 0);
		waitpid(cli, &st, 0);
		ASSERT_TRUE(WIFEXITED(st), "client exited");
		ASSERT_EQ(WEXITSTATUS(st), 0, "client saw a correct prefix, then EOF/reset, in time");
	}
	/* Both ends close at once, many times. */
	{
		struct run r = { .addr = SRV_IP, .port = 7302, .nconn = 64, .flags = F_SIMUL_CLOSE,
				 .up = PLAN(100000, 65536, 0), .down = PLAN(100000, 65536, 0) };

		exchange("both ends close at once", &r, "::", true, 30000);
	}
	ASSERT_GE(rfx_stat(&f, WEFT_STAT_REDIR_MSGS), 100, "these connections were redirected");
	rfx_close(&f);
}

/* 1,000 concurrent connections, each 64 KiB both ways, in bounded time. */
TEST_TIMEOUT(bpf, redir_1000_concurrent_connections, 120)
{
	struct run r = { .addr = SRV_IP, .port = 7400, .nconn = 1000,
			 .up = PLAN(65536, 16384, 0), .down = PLAN(65536, 16384, 0) };
	struct rfx f;
	long long t0;
	uint64_t b;

	if (!setup(&f))
		return;
	b = rfx_stat(&f, WEFT_STAT_REDIR_BYTES);
	t0 = now_ms();
	exchange("1000 concurrent connections", &r, "::", true, 60000);
	ASSERT_LE(now_ms() - t0, 60000, "within 60 s");
	ASSERT_GE(rfx_stat(&f, WEFT_STAT_REDIR_BYTES) - b, 1000ull * 2 * 65536, "all redirected");
	rfx_close(&f);
}

/* A peer that is not a learned socket (a server outside the cgroup) is left
 * to the stack: counted as no_peer, data correct, nothing redirected. */
TEST(bpf, redir_peer_not_local_is_left_to_the_stack)
{
	struct run r = { .addr = SRV_IP, .port = 7500, .nconn = 2,
			 .up = PLAN(1 << 20, 65536, 0), .down = PLAN(1 << 20, 65536, 0) };
	struct rfx f;
	uint64_t msgs, np, veth;

	if (!setup(&f))
		return;
	msgs = rfx_stat(&f, WEFT_STAT_REDIR_MSGS);
	np = rfx_stat(&f, WEFT_STAT_REDIR_NO_PEER);
	veth = veth_bytes("srv");
	exchange("server outside the cgroup", &r, "::", false, 30000);
	ASSERT_EQ(rfx_stat(&f, WEFT_STAT_REDIR_MSGS) - msgs, 0, "nothing redirected");
	ASSERT_GE(rfx_stat(&f, WEFT_STAT_REDIR_NO_PEER) - np, 2, "fallback counted: no peer");
	ASSERT_GE(veth_bytes("srv") - veth, 4 << 20, "the payload crossed the veth");
	rfx_close(&f);
}

/* Redirect off globally, or for the server endpoint: counters do not move,
 * the veth carries the payload, the data is correct. */
TEST(bpf, redir_off_globally_and_per_endpoint)
{
	struct rfx f;

	if (!setup(&f))
		return;
	{
		/* Control: on, the same exchange is redirected. */
		struct run r = { .addr = SRV_IP, .port = 7610, .nconn = 2,
				 .up = PLAN(1 << 20, 65536, 0), .down = PLAN(1 << 20, 65536, 0) };
		uint64_t msgs = rfx_stat(&f, WEFT_STAT_REDIR_MSGS);

		exchange("redirect on", &r, "::", true, 30000);
		ASSERT_GE(rfx_stat(&f, WEFT_STAT_REDIR_MSGS) - msgs, 4, "on: redirected");
	}
	for (int mode = 0; mode < 3; mode++) {
		static const char *const what[] = { "global off", "server endpoint off",
						    "client endpoint off (IPv6)" };
		struct run r = { .addr = mode == 2 ? SRV_IP6 : SRV_IP, .port = 7600 + mode,
				 .nconn = 2, .up = PLAN(1 << 20, 65536, 0),
				 .down = PLAN(1 << 20, 65536, 0) };
		uint64_t msgs, veth;

		ASSERT_OK(mode == 0 ? rfx_set(&f, 0)
			  : mode == 1 ? rfx_endpoint(&f, SRV_IP, true)
				      : rfx_endpoint(&f, CLI_IP6, true), "switch off");
		msgs = rfx_stat(&f, WEFT_STAT_REDIR_MSGS);
		veth = veth_bytes("srv");
		exchange(what[mode], &r, "::", true, 30000);
		ASSERT_EQ(rfx_stat(&f, WEFT_STAT_REDIR_MSGS) - msgs, 0, what[mode]);
		ASSERT_GE(veth_bytes("srv") - veth, 4 << 20, what[mode]);
		ASSERT_OK(mode == 0 ? rfx_set(&f, 1)
			  : mode == 1 ? rfx_endpoint(&f, SRV_IP, false)
				      : rfx_endpoint(&f, CLI_IP6, false), "switch on again");
	}
	rfx_close(&f);
}

static pid_t client_bg(const struct run *r)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		if (tenv_enter("cli", true))
			_exit(251);
		_exit(r->nconn - client(r, now_ms() + 30000));
	}
	return pid;
}

static int client_bg_wait(pid_t pid)
{
	int st = 0;

	for (long long end = now_ms() + 40000; now_ms() < end; usleep(5000))
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 252;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return 253;
}

/*
 * Switching redirect off under live redirected streams (both directions at
 * once), globally and for the server endpoint; and connections started
 * while off carrying on correctly after it is switched on again. Every byte
 * arrives, in order; both paths carried part of it.
 */
TEST_TIMEOUT(bpf, redir_switch_under_live_streams, 120)
{
	struct rfx f;

	if (!setup(&f))
		return;
	for (int mode = 0; mode < 2; mode++) {
		const char *what = mode ? "server endpoint switched" : "global switch";
		struct run r = { .addr = SRV_IP, .port = 7700 + mode, .nconn = 4,
				 .up = { .bytes = 4 << 20, .wchunk = 16384, .pace_us = 2000 },
				 .down = { .bytes = 4 << 20, .wchunk = 16384, .pace_us = 2000 } };
		uint64_t msgs = rfx_stat(&f, WEFT_STAT_REDIR_MSGS);
		uint64_t off = rfx_stat(&f, WEFT_STAT_REDIR_OFF);
		uint64_t order = rfx_stat(&f, WEFT_STAT_REDIR_PENDING);
		uint64_t veth = veth_bytes("srv");
		pid_t srv, c1, c2;

		srv = server("srv", true, "::", r.port, 2 * r.nconn);
		if (!ASSERT_TRUE(srv > 0, "server"))
			return;
		c1 = client_bg(&r);
		usleep(150000);			/* c1 redirected */
		ASSERT_OK(mode ? rfx_endpoint(&f, SRV_IP, true) : rfx_set(&f, 0), "switch off");
		c2 = client_bg(&r);
		usleep(150000);			/* c1 and c2 on the stack */
		ASSERT_OK(mode ? rfx_endpoint(&f, SRV_IP, false) : rfx_set(&f, 1), "switch on");
		ASSERT_EQ(client_bg_wait(c1), 0, what);
		ASSERT_EQ(client_bg_wait(c2), 0, what);
		ASSERT_EQ(server_wait(srv, 30000), 0, what);
		ASSERT_GE(rfx_stat(&f, WEFT_STAT_REDIR_MSGS) - msgs, 8, "redirected before the switch");
		ASSERT_GE(rfx_stat(&f, WEFT_STAT_REDIR_OFF) - off, 8, "stack while off");
		ASSERT_GE(rfx_stat(&f, WEFT_STAT_REDIR_PENDING) - order, 8,
			  "stack after switching on again (order)");
		ASSERT_GE(veth_bytes("srv") - veth, 1 << 20, "the stack carried part of the payload");
	}
	rfx_close(&f);
}

/* Write len bytes of stream seed from offset off, blocking. */
static bool write_stream(int fd, uint64_t seed, uint64_t off, size_t len)
{
	static uint8_t buf[1 << 16];

	while (len) {
		size_t c = len < sizeof(buf) ? len : sizeof(buf);
		ssize_t n;

		stream_fill(seed, off, buf, c);
		n = write(fd, buf, c);
		if (n <= 0)
			return false;
		off += n;
		len -= n;
	}
	return true;
}

/* Read len bytes and compare with stream seed from offset 0. */
static bool read_stream(int fd, uint64_t seed, size_t len)
{
	static uint8_t buf[1 << 16], want[1 << 16];
	uint64_t off = 0;

	while (off < len) {
		ssize_t n = read(fd, buf, len - off < sizeof(buf) ? len - off : sizeof(buf));

		if (n <= 0)
			return false;
		stream_fill(seed, off, want, n);
		if (memcmp(buf, want, n)) {
			fprintf(stderr, "    stream mismatch at byte %lu\n", (unsigned long)off);
			return false;
		}
		off += n;
	}
	return true;
}

/*
 * The ordering hazard, made deterministic: bytes sent through the stack sit
 * unread in the peer's receive queue when redirect is switched on; the next
 * bytes must not overtake them (the peer reads its redirect queue first).
 * Both directions, from one process owning both ends.
 */
TEST(bpf, redir_switch_on_never_overtakes_unread_stack_bytes)
{
	struct sockaddr_storage ss;
	struct timeval tv = { .tv_sec = 5 };
	socklen_t sl;
	struct rfx f;
	uint64_t order;
	int lfd, cfd, sfd, one = 1;

	if (!setup(&f))
		return;
	order = rfx_stat(&f, WEFT_STAT_REDIR_PENDING);
	weft_sockaddr("::", 7800, false, &ss, &sl);
	if (!ASSERT_OK(tenv_enter("srv", true), "enter server pod"))
		return;
	lfd = socket(AF_INET6, SOCK_STREAM, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (!ASSERT_OK(bind(lfd, (struct sockaddr *)&ss, sl) || listen(lfd, 8), "listen") ||
	    !ASSERT_OK(tenv_enter("cli", true), "enter client pod"))
		return;
	weft_sockaddr(SRV_IP, 7800, false, &ss, &sl);
	cfd = socket(AF_INET, SOCK_STREAM, 0);
	if (!ASSERT_OK(connect(cfd, (struct sockaddr *)&ss, sl), "connect"))
		return;
	sfd = accept(lfd, NULL, NULL);
	setsockopt(cfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(sfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	/* Learned while on; 64 KiB each way through the stack, left unread... */
	ASSERT_OK(rfx_set(&f, 0), "redirect off");
	ASSERT_TRUE(write_stream(cfd, 1, 0, 65536) && write_stream(sfd, 2, 0, 65536), "stack part");
	usleep(100000);
	/* ...then redirect on, and 64 KiB more each way. */
	ASSERT_OK(rfx_set(&f, 1), "redirect on");
	ASSERT_TRUE(write_stream(cfd, 1, 65536, 65536) && write_stream(sfd, 2, 65536, 65536),
		    "second part");
	ASSERT_TRUE(read_stream(sfd, 1, 131072), "client -> server in order");
	ASSERT_TRUE(read_stream(cfd, 2, 131072), "server -> client in order");
	ASSERT_GE(rfx_stat(&f, WEFT_STAT_REDIR_PENDING) - order, 2, "held on the stack (order)");
	close(cfd);
	close(sfd);
	close(lfd);
	rfx_close(&f);
}

/* Loopback inside pods: the same 127.0.0.1 4-tuples (fixed source ports) in
 * two pods at once are
 * redirected each within its own pod (netns-scoped keys), never across. */
TEST(bpf, redir_loopback_stays_in_its_pod)
{
	struct rfx f;
	uint64_t b;
	pid_t s1, s2;

	if (!setup(&f))
		return;
	b = rfx_stat(&f, WEFT_STAT_REDIR_BYTES);
	for (int round = 0; round < 3; round++) {
		struct run r1 = { .addr = "127.0.0.1", .port = 7900 + round, .nconn = 8, .pod = "cli",
				  .seed_base = 111111, .src_port = 41000 + 100 * round, .up = PLAN(256 << 10, 65536, 0),
				  .down = PLAN(256 << 10, 65536, 0) };
		struct run r2 = r1;

		r2.pod = "srv";
		r2.seed_base = 999999;
		s1 = server("cli", true, "127.0.0.1", r1.port, r1.nconn);
		s2 = server("srv", true, "127.0.0.1", r2.port, r2.nconn);
		if (!ASSERT_TRUE(s1 > 0 && s2 > 0, "servers"))
			return;
		pid_t c1 = fork();

		if (c1 == 0)
			_exit(client_child(&r1, 20000));
		ASSERT_EQ(client_child(&r2, 20000), 0, "pod srv loopback");
		waitpid(c1, &(int){ 0 }, 0);
		ASSERT_EQ(server_wait(s1, 20000), 0, "pod cli loopback server");
		ASSERT_EQ(server_wait(s2, 20000), 0, "pod srv loopback server");
	}
	ASSERT_GE(rfx_stat(&f, WEFT_STAT_REDIR_BYTES) - b, 3 * 2 * 8 * (512ull << 10),
		  "loopback redirected");
	rfx_close(&f);
}

/* One byte written on wfd must arrive on rfd within 2 s. */
static bool one_byte(int wfd, int rfd, char c, const char *what)
{
	struct pollfd p = { .fd = rfd, .events = POLLIN };
	char got = 0;

	return ASSERT_EQ(write(wfd, &c, 1), 1, what) && ASSERT_EQ(poll(&p, 1, 2000), 1, what) &&
	       ASSERT_EQ(read(rfd, &got, 1), 1, what) && ASSERT_EQ(got, c, what);
}

/*
 * A learned socket whose weft_sk_state is gone has no verdict: sk_msg must
 * not redirect it (it did: a missing state skipped the policy check and
 * redirected), but leave it to the stack, where tc judges it, counted
 * redirect_fb_no_state. Its peer, which kept its state, still redirects.
 */
TEST(bpf, redir_without_socket_state_is_left_to_the_stack)
{
	struct sockaddr_storage sa;
	socklen_t sl;
	struct rfx f;
	int lfd = -1, cfd = -1, afd = -1, one = 1;
	uint64_t msgs, nostate;

	if (!setup(&f))
		return;
	if (!ASSERT_OK(tenv_enter("cli", true), "enter the client pod") ||
	    !ASSERT_EQ(weft_sockaddr(CLI_IP, 7950, false, &sa, &sl), AF_INET, "address"))
		goto out;
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (!ASSERT_OK(bind(lfd, (struct sockaddr *)&sa, sl), "bind") ||
	    !ASSERT_OK(listen(lfd, 1), "listen") ||
	    !ASSERT_OK(connect(cfd, (struct sockaddr *)&sa, sl), "connect"))
		goto out;
	afd = accept(lfd, NULL, NULL);
	if (!ASSERT_TRUE(afd >= 0, "accept"))
		goto out;
	msgs = rfx_stat(&f, WEFT_STAT_REDIR_MSGS);
	if (!one_byte(cfd, afd, 'a', "with its state"))
		goto out;
	ASSERT_EQ(rfx_stat(&f, WEFT_STAT_REDIR_MSGS) - msgs, 1, "control: redirected");
	/* user space deletes a socket's storage by the socket's fd */
	if (!ASSERT_OK(bpf_map_delete_elem(bpf_map__fd(f.skel->maps.weft_sk_state), &cfd),
		       "delete the client socket's weft_sk_state"))
		goto out;
	msgs = rfx_stat(&f, WEFT_STAT_REDIR_MSGS);
	nostate = rfx_stat(&f, WEFT_STAT_REDIR_NO_STATE);
	if (!one_byte(cfd, afd, 'b', "without its state"))
		goto out;
	ASSERT_EQ(rfx_stat(&f, WEFT_STAT_REDIR_MSGS) - msgs, 0, "not redirected without a verdict");
	ASSERT_EQ(rfx_stat(&f, WEFT_STAT_REDIR_NO_STATE) - nostate, 1, "counted redirect_fb_no_state");
	if (one_byte(afd, cfd, 'c', "the peer, with its state"))
		ASSERT_EQ(rfx_stat(&f, WEFT_STAT_REDIR_MSGS) - msgs, 1, "the peer still redirects");
out:
	if (afd >= 0)
		close(afd);
	if (cfd >= 0)
		close(cfd);
	if (lfd >= 0)
		close(lfd);
	rfx_close(&f);
}
