// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * namesrv: the tiny workload of weft's tests and demo.
 *
 * Server:	namesrv --name NAME --listen ADDR --port PORT [--ready-fd FD]
 *	TCP: sends "NAME\n" on accept, then echoes what it reads until EOF.
 *	UDP: answers every datagram with "NAME".
 * Client:	namesrv --ask ADDR --port PORT [--udp] [--count N]
 *	makes N requests (default 100), one connection each, and prints how
 *	many each backend answered ("NAME COUNT" per line) and the failures.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/addr.h"

#define MAX_NAMES 64

struct tally {
	char name[MAX_NAMES][64];
	unsigned int count[MAX_NAMES];
	unsigned int n, failed;
};

static int listen_on(int type, const struct sockaddr_storage *ss, socklen_t sl)
{
	int one = 1, fd = socket(ss->ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)ss, sl) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 4096) < 0)) {
		close(fd);
		return -1;
	}
	return fd;
}

static int serve(const char *name, const char *addr, unsigned int port, int ready_fd)
{
	struct sockaddr_storage ss, from;
	struct epoll_event ev, evs[64];
	size_t nlen = strlen(name);
	char line[128], buf[65536];
	int tfd, ufd, ep;
	socklen_t sl;

	if (weft_sockaddr(addr, port, false, &ss, &sl) < 0) {
		fprintf(stderr, "namesrv: %s: not an address\n", addr);
		return 2;
	}
	tfd = listen_on(SOCK_STREAM, &ss, sl);
	ufd = listen_on(SOCK_DGRAM, &ss, sl);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (tfd < 0 || ufd < 0 || ep < 0) {
		fprintf(stderr, "namesrv: listen %s:%u: %s\n", addr, port, strerror(errno));
		return 1;
	}
	snprintf(line, sizeof(line), "%s\n", name);
	ev.events = EPOLLIN;
	ev.data.fd = tfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
	ev.data.fd = ufd;
	epoll_ctl(ep, EPOLL_CTL_ADD, ufd, &ev);
	if (ready_fd >= 0) {
		if (write(ready_fd, "r", 1) != 1)
			return 1;
		close(ready_fd);
	}
	for (;;) {
		int n = epoll_wait(ep, evs, 64, -1);

		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			ssize_t r;

			if (fd == tfd) {
				int c;

				while ((c = accept4(tfd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
					if (write(c, line, nlen + 1) != (ssize_t)nlen + 1) {
						close(c);
						continue;
					}
					ev.events = EPOLLIN;
					ev.data.fd = c;
					epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
				}
			} else if (fd == ufd) {
				socklen_t fl = sizeof(from);

				while (recvfrom(ufd, buf, sizeof(buf), MSG_DONTWAIT,
						(struct sockaddr *)&from, &fl) >= 0) {
					sendto(ufd, name, nlen, 0, (struct sockaddr *)&from, fl);
					fl = sizeof(from);
				}
			} else {
				r = read(fd, buf, sizeof(buf));
				if (r <= 0 || write(fd, buf, r) != r)
					close(fd);
			}
		}
	}
}

static void tally_add(struct tally *t, const char *name)
{
	for (unsigned int i = 0; i < t->n; i++) {
		if (strcmp(t->name[i], name) == 0) {
			t->count[i]++;
			return;
		}
	}
	if (t->n < MAX_NAMES) {
		snprintf(t->name[t->n], sizeof(t->name[0]), "%.63s", name);
		t->count[t->n++] = 1;
	}
}

/* One request: a connection (TCP) or a datagram (UDP); name into out. */
static int ask_one(const struct sockaddr_storage *ss, socklen_t sl, bool udp, char *out, size_t len)
{
	struct timeval tv = { .tv_sec = 2 };
	int fd = socket(ss->ss_family, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
	ssize_t n = -1;

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (const struct sockaddr *)ss, sl) == 0 && (!udp || send(fd, "?", 1, 0) == 1))
		n = read(fd, out, len - 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -EPIPE;
	out[n] = 0;
	out[strcspn(out, "\n")] = 0;
	return 0;
}

static int ask(const char *addr, unsigned int port, bool udp, unsigned int count)
{
	struct sockaddr_storage ss;
	struct tally t = { 0 };
	char name[128];
	socklen_t sl;

	if (weft_sockaddr(addr, port, false, &ss, &sl) < 0) {
		fprintf(stderr, "namesrv: %s: not an address\n", addr);
		return 2;
	}
	for (unsigned int i = 0; i < count; i++) {
		if (ask_one(&ss, sl, udp, name, sizeof(name)) == 0)
			tally_add(&t, name);
		else
			t.failed++;
	}
	for (unsigned int i = 0; i < t.n; i++)
		printf("%-16s %6u  %5.1f%%\n", t.name[i], t.count[i], 100.0 * t.count[i] / count);
	printf("%-16s %6u\n", "failed", t.failed);
	return t.failed ? 1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, 0, 'n' },	 { "listen", required_argument, 0, 'l' },
		{ "port", required_argument, 0, 'p' },	 { "ready-fd", required_argument, 0, 'r' },
		{ "ask", required_argument, 0, 'a' },	 { "udp", no_argument, 0, 'u' },
		{ "count", required_argument, 0, 'c' }, { 0 },
	};
	const char *name = NULL, *listen_addr = NULL, *ask_addr = NULL;
	unsigned int port = 0, count = 100;
	int ready_fd = -1, c;
	bool udp = false;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n': name = optarg; break;
		case 'l': listen_addr = optarg; break;
		case 'p': port = strtoul(optarg, NULL, 10); break;
		case 'r': ready_fd = atoi(optarg); break;
		case 'a': ask_addr = optarg; break;
		case 'u': udp = true; break;
		case 'c': count = strtoul(optarg, NULL, 10); break;
		default: goto usage;
		}
	}
	if (port == 0 || port > 65535)
		goto usage;
	if (ask_addr)
		return ask(ask_addr, port, udp, count);
	if (name && listen_addr)
		return serve(name, listen_addr, port, ready_fd);
usage:
	fprintf(stderr, "usage: namesrv --name NAME --listen ADDR --port PORT [--ready-fd FD]\n"
			"       namesrv --ask ADDR --port PORT [--udp] [--count N]\n");
	return 2;
}
