// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* http: a small non-blocking HTTP/1.1 server inside one epoll fd. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>

#include "serve/http.h"
#include "lib/log.h"

/* --- buffer --------------------------------------------------------------- */

static bool buf_reserve(struct weft_buf *b, size_t more)
{
	size_t cap = b->cap ? b->cap : 4096;
	char *p;

	if (b->err)
		return false;
	if (b->len + more + 1 <= b->cap)
		return true;
	while (cap < b->len + more + 1)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p) {
		b->err = -ENOMEM;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

void weft_buf_put(struct weft_buf *b, const char *s, size_t len)
{
	if (!buf_reserve(b, len))
		return;
	memcpy(b->p + b->len, s, len);
	b->len += len;
	b->p[b->len] = '\0';
}

void weft_buf_printf(struct weft_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!buf_reserve(b, 256))
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->err = -EINVAL;
		return;
	}
	if ((size_t)n >= b->cap - b->len) {
		if (!buf_reserve(b, n))
			return;
		va_start(ap, fmt);
		vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += n;
}

void weft_buf_free(struct weft_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

const char *weft_http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 414: return "URI Too Long";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

/* End of the head ("\r\n\r\n" or "\n\n"), or NULL. */
static const char *head_end(const char *buf, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (buf[i] == '\n' && buf[i + 1] == '\n')
			return buf + i + 2;
		if (i + 3 < len && !memcmp(buf + i, "\r\n\r\n", 4))
			return buf + i + 4;
	}
	return NULL;
}

int weft_http_parse(const char *buf, size_t len, struct weft_http_req *req)
{
	const char *end, *p, *sp1, *sp2, *eol;
	size_t n;

	memset(req, 0, sizeof(*req));
	/* Not a method so far (a TLS hello, binary junk): refuse at once. */
	for (p = buf; p < buf + len && *p != ' '; p++)
		if (*p < 'A' || *p > 'Z' || p - buf >= (long)sizeof(req->method))
			return 400;
	end = head_end(buf, len);
	if (!end)
		return len >= WEFT_HTTP_MAX_REQUEST ? 431 : -EAGAIN;
	if ((size_t)(end - buf) > WEFT_HTTP_MAX_REQUEST)
		return 431;
	if (memchr(buf, '\0', end - buf))
		return 400;
	eol = memchr(buf, '\n', end - buf);
	/* method SP target SP version [CR] LF */
	for (p = buf; p < eol && *p >= 'A' && *p <= 'Z'; p++)
		;
	n = p - buf;
	if (!n || p >= eol || *p != ' ' || n >= sizeof(req->method))
		return 400;
	memcpy(req->method, buf, n);
	sp1 = p;
	for (p = sp1 + 1; p < eol && *p > ' ' && *p < 0x7f; p++)
		;
	sp2 = p;
	if (sp2 == sp1 + 1 || sp2 >= eol || *sp2 != ' ' || sp1[1] != '/')
		return 400;
	n = eol - (sp2 + 1);
	if (n && sp2[n] == '\r')
		n--;
	if (n != 8 || memcmp(sp2 + 1, "HTTP/1.", 7))
		return 400;
	if (sp2[8] != '0' && sp2[8] != '1')
		return 505;
	/* Headers: printable text, each with a colon; their values are unused. */
	for (p = eol + 1; p < end;) {
		const char *le = memchr(p, '\n', end - p);
		size_t ll = le - p;

		if (ll && p[ll - 1] == '\r')
			ll--;
		if (!ll)
			break;
		if (!memchr(p, ':', ll) || *p == ' ' || *p == '\t')
			return 400;
		for (size_t i = 0; i < ll; i++)
			if ((unsigned char)p[i] < ' ' && p[i] != '\t')
				return 400;
		p = le + 1;
	}
	n = strcspn(sp1 + 1, "? ");
	if (n >= sizeof(req->path))
		return 414;
	memcpy(req->path, sp1 + 1, n);
	req->head = !strcmp(req->method, "HEAD");
	if (strcmp(req->method, "GET") && !req->head)
		return 405;
	return 0;
}

/* --- server --------------------------------------------------------------- */

enum conn_state { C_FREE, C_READ, C_WRITE, C_DRAIN };

struct conn {
	int fd;
	enum conn_state state;
	long long deadline;	/* monotonic ms */
	char in[WEFT_HTTP_MAX_REQUEST];
	size_t inlen;
	struct weft_buf out;
	size_t off;
};

struct weft_http {
	int epfd;
	int lfd;
	int tfd;		/* timerfd: expires connections */
	weft_http_fn fn;
	void *ctx;
	struct conn conns[WEFT_HTTP_MAX_CONNS];
	int nconns;
	bool paused;		/* every slot taken: listener not watched */
};

/* Tags in epoll_data.u64: which fd an event is for. */
#define TAG_LISTEN (1ull << 32)
#define TAG_TIMER (2ull << 32)

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void arm_timer(struct weft_http *h)
{
	struct itimerspec its = { 0 };

	if (h->nconns) {
		its.it_value.tv_nsec = 250 * 1000000;
		its.it_interval.tv_nsec = 250 * 1000000;
	}
	timerfd_settime(h->tfd, 0, &its, NULL);
}

static void listen_watch(struct weft_http *h, bool on);

static void conn_close(struct weft_http *h, struct conn *c)
{
	epoll_ctl(h->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	weft_buf_free(&c->out);
	c->state = C_FREE;
	c->fd = -1;
	if (--h->nconns == 0)
		arm_timer(h);
	listen_watch(h, true);
}

static void conn_watch(struct weft_http *h, struct conn *c, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.u64 = c - h->conns };

	if (epoll_ctl(h->epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0)
		conn_close(h, c);
}

/* Build the answer to status/req into c->out and start writing it. */
static void conn_answer(struct weft_http *h, struct conn *c, int status,
			const struct weft_http_req *req)
{
	struct weft_buf body = { 0 };
	const char *ctype = "text/plain; charset=utf-8";

	if (status == 0)
		status = h->fn(h->ctx, req->path, &body, &ctype);
	else
		weft_buf_printf(&body, "%d %s\n", status, weft_http_reason(status));
	if (body.err) {
		weft_buf_free(&body);
		status = 500;
		weft_buf_printf(&body, "500 out of memory\n");
	}
	weft_buf_printf(&c->out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
			"Connection: close\r\n\r\n", status, weft_http_reason(status), ctype,
			body.len, status == 405 ? "Allow: GET, HEAD\r\n" : "");
	if (!(req && req->head) && body.len)
		weft_buf_put(&c->out, body.p, body.len);
	weft_buf_free(&body);
	if (c->out.err) {
		conn_close(h, c);
		return;
	}
	c->state = C_WRITE;
	c->off = 0;
	conn_watch(h, c, EPOLLOUT);
}

static void conn_read(struct weft_http *h, struct conn *c)
{
	struct weft_http_req req;
	char sink[4096];
	ssize_t n;
	int ret;

	if (c->state == C_DRAIN) {
		/* Our answer is out; read what the client still sends until it
		 * closes, so close() does not reset the answer away. */
		while ((n = read(c->fd, sink, sizeof(sink))) > 0)
			;
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			conn_close(h, c);
		return;
	}
	n = read(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(h, c);
		return;
	}
	c->inlen += n;
	ret = weft_http_parse(c->in, c->inlen, &req);
	if (ret == -EAGAIN)
		return;
	conn_answer(h, c, ret, ret ? NULL : &req);
}

static void conn_write(struct weft_http *h, struct conn *c)
{
	while (c->off < c->out.len) {
		ssize_t n = write(c->fd, c->out.p + c->off, c->out.len - c->off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			conn_close(h, c);
			return;
		}
		c->off += n;
	}
	shutdown(c->fd, SHUT_WR);
	weft_buf_free(&c->out);
	c->state = C_DRAIN;
	c->deadline = mono_ms() + 1000;
	conn_watch(h, c, EPOLLIN | EPOLLRDHUP);
}

/* Watch the listener only while a connection slot is free: the others
 * wait in the backlog. */
static void listen_watch(struct weft_http *h, bool on)
{
	struct epoll_event ev = { .events = on ? EPOLLIN : 0, .data.u64 = TAG_LISTEN };

	if (h->paused == !on)
		return;
	h->paused = !on;
	epoll_ctl(h->epfd, EPOLL_CTL_MOD, h->lfd, &ev);
}

static void do_accept(struct weft_http *h)
{
	for (;;) {
		struct epoll_event ev = { .events = EPOLLIN };
		struct conn *c = NULL;
		int fd;

		for (int i = 0; i < WEFT_HTTP_MAX_CONNS && !c; i++)
			if (h->conns[i].state == C_FREE)
				c = &h->conns[i];
		if (!c) {
			listen_watch(h, false);
			return;
		}
		fd = accept4(h->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		ev.data.u64 = c - h->conns;
		if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->state = C_READ;
		c->inlen = 0;
		c->deadline = mono_ms() + WEFT_HTTP_TIMEOUT_MS;
		if (h->nconns++ == 0)
			arm_timer(h);
	}
}

static void expire(struct weft_http *h)
{
	uint64_t ticks;
	long long now = mono_ms();

	if (read(h->tfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		return;
	for (int i = 0; i < WEFT_HTTP_MAX_CONNS; i++)
		if (h->conns[i].state != C_FREE && h->conns[i].deadline <= now)
			conn_close(h, &h->conns[i]);
}

void weft_http_run(struct weft_http *h)
{
	struct epoll_event evs[16];
	int n = epoll_wait(h->epfd, evs, 16, 0);

	for (int i = 0; i < n; i++) {
		uint64_t tag = evs[i].data.u64;
		struct conn *c;

		if (tag == TAG_LISTEN) {
			do_accept(h);
			continue;
		}
		if (tag == TAG_TIMER) {
			expire(h);
			continue;
		}
		if (tag >= WEFT_HTTP_MAX_CONNS)
			continue;
		c = &h->conns[tag];
		if (c->state == C_FREE)
			continue;
		if (c->state == C_WRITE)
			conn_write(h, c);
		else if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP))
			conn_read(h, c);
	}
}

struct weft_http *weft_http_open(const char *text, weft_http_fn fn, void *ctx, char *err,
				 size_t errlen)
{
	struct weft_http *h = calloc(1, sizeof(*h));
	struct epoll_event ev = { .events = EPOLLIN };
	struct sockaddr_storage ss;
	socklen_t sl;
	int one = 1, ret;

	if (!h) {
		snprintf(err, errlen, "metrics: %s", strerror(ENOMEM));
		return NULL;
	}
	h->fn = fn;
	h->ctx = ctx;
	h->lfd = h->tfd = h->epfd = -1;
	for (int i = 0; i < WEFT_HTTP_MAX_CONNS; i++)
		h->conns[i].fd = -1;
	if (weft_listen_parse(text, &ss, &sl)) {
		ret = -EINVAL;
		snprintf(err, errlen, "metrics.listen: \"%s\" is not ADDR:PORT", text);
		goto fail;
	}
	h->lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	h->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	h->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (h->lfd < 0 || h->tfd < 0 || h->epfd < 0)
		goto fail_errno;
	setsockopt(h->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(h->lfd, (struct sockaddr *)&ss, sl) < 0 || listen(h->lfd, 64) < 0)
		goto fail_errno;
	ev.data.u64 = TAG_LISTEN;
	if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->lfd, &ev) < 0)
		goto fail_errno;
	ev.data.u64 = TAG_TIMER;
	if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->tfd, &ev) < 0)
		goto fail_errno;
	return h;
fail_errno:
	ret = -errno;
	snprintf(err, errlen, "metrics: listen on %s: %s", text, strerror(errno));
fail:
	weft_http_close(h);
	errno = -ret;
	return NULL;
}

int weft_http_fd(const struct weft_http *h)
{
	return h->epfd;
}

void weft_http_close(struct weft_http *h)
{
	if (!h)
		return;
	for (int i = 0; i < WEFT_HTTP_MAX_CONNS; i++) {
		if (h->conns[i].state != C_FREE) {
			close(h->conns[i].fd);
			weft_buf_free(&h->conns[i].out);
		}
	}
	if (h->lfd >= 0)
		close(h->lfd);
	if (h->tfd >= 0)
		close(h->tfd);
	if (h->epfd >= 0)
		close(h->epfd);
	free(h);
}
