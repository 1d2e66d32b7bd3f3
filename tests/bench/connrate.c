// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * wb-connrate: new-connection rate and per-connection latency, the one
 * measurement of weft's benchmark that sockperf, wrk and iperf3 lack.
 *
 * Server:	wb-connrate --serve --addr ADDR --port PORT [--size BYTES]
 *	reads BYTES (default 64) on each connection, echoes them, closes
 *	(the server closes first, as an HTTP/1.0 server does: its side keeps
 *	the TIME_WAIT, so the client's ports free at once).
 * Client:	wb-connrate --addr ADDR --port PORT [--duration S] [--max N] [--size BYTES]
 *	one connection at a time: socket, connect, send BYTES, read BYTES, read
 *	EOF, close. Runs for S seconds (default 3) or N connections, then prints
 *	one JSON object: connections, failures, rate, latency percentiles (us).
 * Open loop:	wb-connrate --addr ADDR --port PORT --rate R [--duration S] [--size BYTES]
 *	one kept connection, a request of BYTES every 1/R s on a fixed schedule
 *	(request i is due at start + i/R, whenever the previous one came back),
 *	each latency measured from the time the request was due, not from when
 *	it was sent: a stall delays the requests behind it and their latencies
 *	show it (no coordinated omission, as in wrk2). Prints the same JSON,
 *	with "requests" for connections and "late" (requests sent after their
 *	time). A request whose first byte is 'K' asks the server to keep the
 *	connection and echo every message until the client closes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_SIZE 65536
#define MAX_SAMPLES (4u << 20)	/* latencies kept; later connections are only counted */
#define IO_TIMEOUT_S 2		/* a dropped SYN or a lost reply fails one connection, not the run */

struct opts {
	const char *addr;
	unsigned int port;
	unsigned int size;
	double duration;
	double rate;		/* > 0: open loop at this many requests/s */
	uint64_t max;
	bool serve;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int make_sa(const char *addr, unsigned int port, struct sockaddr_storage *ss, socklen_t *sl)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		*sl = sizeof(*s4);
		return 0;
	}
	if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		*sl = sizeof(*s6);
		return 0;
	}
	return -EINVAL;
}

/* Per-connection progress of the server, indexed by fd. */
struct conn {
	unsigned int got;
	bool keep;	/* the first byte was 'K': echo until the client closes */
};

static int serve(const struct opts *o)
{
	struct sockaddr_storage ss;
	struct epoll_event ev = { .events = EPOLLIN }, evs[64];
	static char buf[MAX_SIZE];
	struct conn *conns;
	int one = 1, lfd, ep, maxfd = 65536;
	socklen_t sl;

	if (make_sa(o->addr, o->port, &ss, &sl) < 0) {
		fprintf(stderr, "wb-connrate: %s: not an address\n", o->addr);
		return 2;
	}
	conns = calloc(maxfd, sizeof(*conns));
	lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (!conns || lfd < 0 || ep < 0)
		goto fail;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&ss, sl) < 0 || listen(lfd, 4096) < 0)
		goto fail;
	ev.data.fd = lfd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0)
		goto fail;
	for (;;) {
		int n = epoll_wait(ep, evs, 64, -1);

		if (n < 0 && errno != EINTR)
			goto fail;
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd, c;
			ssize_t r;

			if (fd == lfd) {
				while ((c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
					if (c >= maxfd) {
						close(c);
						continue;
					}
					conns[c].got = 0;
					conns[c].keep = false;
					ev.data.fd = c;
					epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
				}
				continue;
			}
			r = read(fd, buf, sizeof(buf));
			if (r > 0 && conns[fd].got == 0 && buf[0] == 'K')
				conns[fd].keep = true;
			if (r > 0 && write(fd, buf, r) == r) {
				conns[fd].got += r;
				if (conns[fd].keep || conns[fd].got < o->size)
					continue;
			} else if (r < 0 && errno == EAGAIN) {
				continue;
			}
			close(fd);	/* request served, EOF or error */
		}
	}
fail:
	fprintf(stderr, "wb-connrate: serve %s:%u: %s\n", o->addr, o->port, strerror(errno));
	free(conns);
	return 1;
}

/* One connection: 0 or -errno. */
static int one_conn(const struct sockaddr_storage *ss, socklen_t sl, const char *req, unsigned int size)
{
	struct timeval tv = { .tv_sec = IO_TIMEOUT_S };
	static char buf[MAX_SIZE];
	unsigned int got = 0;
	int fd, ret = 0;
	ssize_t r;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (const struct sockaddr *)ss, sl) < 0 ||
	    write(fd, req, size) != (ssize_t)size) {
		ret = -errno;
		goto out_close;
	}
	while ((r = read(fd, buf, sizeof(buf))) > 0)
		got += r;	/* the echo, then EOF when the server closes */
	if (r < 0)
		ret = -errno;
	else if (got != size)
		ret = -EPROTO;
out_close:
	close(fd);
	return ret;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double pct(const uint64_t *v, size_t n, double p)
{
	size_t i = (size_t)(p / 100.0 * (double)n);

	if (!n)
		return 0;
	return v[i < n ? i : n - 1] / 1000.0;
}

static void print_result(const char *count_name, uint64_t n, uint64_t failures, int first_err,
			 uint64_t start, uint64_t end, uint64_t *lat, size_t nlat, uint64_t sum,
			 const char *extra)
{
	qsort(lat, nlat, sizeof(*lat), cmp_u64);
	printf("{\"%s\": %llu, \"failures\": %llu, \"first_error\": \"%s\", "
	       "\"duration_s\": %.6f, \"rate\": %.1f, \"latency_us\": {\"min\": %.1f, "
	       "\"average\": %.1f, \"p50\": %.1f, \"p90\": %.1f, \"p99\": %.1f, \"p999\": %.1f, "
	       "\"max\": %.1f}%s}\n",
	       count_name, (unsigned long long)n, (unsigned long long)failures,
	       first_err ? strerror(first_err) : "", (end - start) / 1e9,
	       n / ((end - start) / 1e9), nlat ? lat[0] / 1000.0 : 0,
	       n ? sum / 1000.0 / n : 0, pct(lat, nlat, 50), pct(lat, nlat, 90),
	       pct(lat, nlat, 99), pct(lat, nlat, 99.9), nlat ? lat[nlat - 1] / 1000.0 : 0, extra);
}

static int client(const struct opts *o)
{
	struct sockaddr_storage ss;
	uint64_t start, end, deadline, conns = 0, failures = 0, sum = 0;
	uint64_t *lat;
	size_t nlat = 0;
	char *req;
	socklen_t sl;
	int first_err = 0;

	if (make_sa(o->addr, o->port, &ss, &sl) < 0) {
		fprintf(stderr, "wb-connrate: %s: not an address\n", o->addr);
		return 2;
	}
	lat = malloc(MAX_SAMPLES * sizeof(*lat));
	req = malloc(o->size);
	if (!lat || !req) {
		free(lat);
		free(req);
		return 1;
	}
	memset(req, 'w', o->size);
	start = now_ns();
	deadline = start + (uint64_t)(o->duration * 1e9);
	for (end = start; end < deadline && conns + failures < o->max;) {
		uint64_t t0 = end;
		int ret = one_conn(&ss, sl, req, o->size);

		end = now_ns();
		if (ret) {
			if (!first_err)
				first_err = -ret;
			failures++;
			continue;
		}
		conns++;
		sum += end - t0;
		if (nlat < MAX_SAMPLES)
			lat[nlat++] = end - t0;
	}
	print_result("connections", conns, failures, first_err, start, end, lat, nlat, sum, "");
	free(lat);
	free(req);
	return conns ? 0 : 1;
}

/* Read exactly len bytes: 0 or -errno (-EPROTO at EOF). */
static int read_full(int fd, char *buf, unsigned int len)
{
	unsigned int got = 0;
	ssize_t r;

	while (got < len) {
		r = read(fd, buf + got, len - got);
		if (r <= 0)
			return r < 0 ? -errno : -EPROTO;
		got += (unsigned int)r;
	}
	return 0;
}

static int open_loop(const struct opts *o)
{
	struct timeval tv = { .tv_sec = IO_TIMEOUT_S };
	static char buf[MAX_SIZE];
	struct sockaddr_storage ss;
	uint64_t start, end, deadline, period, n = 0, late = 0, sum = 0, *lat;
	size_t nlat = 0;
	char *req, extra[96];
	socklen_t sl;
	int fd, one = 1, err = 0;

	if (make_sa(o->addr, o->port, &ss, &sl) < 0) {
		fprintf(stderr, "wb-connrate: %s: not an address\n", o->addr);
		return 2;
	}
	lat = malloc(MAX_SAMPLES * sizeof(*lat));
	req = malloc(o->size);
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (!lat || !req || fd < 0) {
		fprintf(stderr, "wb-connrate: %s\n", strerror(errno));
		return 1;
	}
	memset(req, 'w', o->size);
	req[0] = 'K';
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)&ss, sl) < 0) {
		fprintf(stderr, "wb-connrate: connect %s:%u: %s\n", o->addr, o->port, strerror(errno));
		return 1;
	}
	period = (uint64_t)(1e9 / o->rate);
	start = now_ns();
	deadline = start + (uint64_t)(o->duration * 1e9);
	for (end = start; n < o->max;) {
		uint64_t due = start + n * period;
		struct timespec ts = { (time_t)(due / 1000000000ull), (long)(due % 1000000000ull) };

		if (due >= deadline)
			break;
		if (now_ns() < due)
			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
		else if (n)
			late++;
		if (write(fd, req, o->size) != (ssize_t)o->size) {
			err = errno ? errno : EIO;
			break;
		}
		err = -read_full(fd, buf, o->size);
		if (err)
			break;
		end = now_ns();
		n++;
		sum += end - due;
		if (nlat < MAX_SAMPLES)
			lat[nlat++] = end - due;
		req[0] = 'w';
	}
	close(fd);
	snprintf(extra, sizeof(extra), ", \"target_rate\": %.1f, \"late\": %llu", o->rate,
		 (unsigned long long)late);
	print_result("requests", n, err ? 1 : 0, err, start, end > start ? end : start + 1, lat, nlat,
		     sum, extra);
	free(lat);
	free(req);
	return n && !err ? 0 : 1;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: wb-connrate --serve --addr ADDR --port PORT [--size BYTES]\n"
		   "       wb-connrate --addr ADDR --port PORT [--duration S] [--max N] [--size BYTES]\n"
		   "       wb-connrate --addr ADDR --port PORT --rate R [--duration S] [--size BYTES]\n");
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "serve", no_argument, 0, 's' },
		{ "addr", required_argument, 0, 'a' },
		{ "port", required_argument, 0, 'p' },
		{ "size", required_argument, 0, 'S' },
		{ "duration", required_argument, 0, 'd' },
		{ "max", required_argument, 0, 'm' },
		{ "rate", required_argument, 0, 'r' },
		{ "help", no_argument, 0, 'h' },
		{ 0 },
	};
	struct opts o = { .size = 64, .duration = 3, .max = UINT64_MAX };
	int c;

	while ((c = getopt_long(argc, argv, "sa:p:S:d:m:r:h", lopts, NULL)) != -1) {
		switch (c) {
		case 's':
			o.serve = true;
			break;
		case 'a':
			o.addr = optarg;
			break;
		case 'p':
			o.port = strtoul(optarg, NULL, 10);
			break;
		case 'S':
			o.size = strtoul(optarg, NULL, 10);
			break;
		case 'd':
			o.duration = strtod(optarg, NULL);
			break;
		case 'm':
			o.max = strtoull(optarg, NULL, 10);
			break;
		case 'r':
			o.rate = strtod(optarg, NULL);
			if (!(o.rate > 0 && o.rate <= 1e6)) {
				fprintf(stderr, "wb-connrate: --rate %s: not a rate in (0, 1000000]\n", optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!o.addr || !o.port || o.port > 65535 || !o.size || o.size > MAX_SIZE ||
	    !(o.duration > 0 && o.duration <= 3600) || optind != argc) {
		usage(stderr);
		return 2;
	}
	return o.serve ? serve(&o) : o.rate > 0 ? open_loop(&o) : client(&o);
}
