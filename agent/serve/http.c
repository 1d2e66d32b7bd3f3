// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * http: a small non-blocking HTTP/1.1 server inside one epoll fd, with one
 * render thread for the shared answer (see http.h for the limits).
 *
 * Why not libmicrohttpd (Debian's 0.9.75, external epoll mode), measured
 * with tests/e2e/test_http.c against a prototype of this file on top of it:
 * - it has no deadline for a whole request head: its connection timeout
 *   counts inactivity, in whole seconds, reset by every byte, so 48 clients
 *   dripping a byte every 250 ms held their connections for the whole 8 s
 *   of the test (0 cut; here all 48 at the 5 s head deadline), and enough
 *   of them would hold every slot and the probes out indefinitely;
 * - past its connection limit it refuses newcomers instead of evicting the
 *   oldest idle one: /healthz took 800 ms with 320 idle connections (here
 *   0-2 ms);
 * - it judges a reader's progress by its own send() calls, not by what the
 *   peer acknowledged (here SIOCOUTQ, with a bounded SO_SNDBUF);
 * - what it would replace is the request parser and the connection state
 *   machine, about 300 of these lines; the shared body, the render thread,
 *   gzip and Accept-Encoding stay ours either way; and it would bring
 *   libmicrohttpd12 and libgnutls30 into a root daemon that serves no TLS.
 * A 6.5 MiB scrape took the same time through both (113 and 120 ms).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include <arpa/inet.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/uio.h>

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


/* What the Accept-Encoding lines of a request said so far: the weights of
 * gzip and of "*" in thousandths, -1 where not named. */
struct accept_enc {
	int gzip, star;
};

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* A qvalue (RFC 9110 12.4.2: "0" ["." 0-3 digits] or "1" ["." 0-3 zeros])
 * in thousandths, or -1. */
static int qvalue(const char *s, size_t len)
{
	int v, scale = 100;

	if (!len || (s[0] != '0' && s[0] != '1'))
		return -1;
	v = (s[0] - '0') * 1000;
	if (len == 1)
		return v;
	if (s[1] != '.' || len > 5)
		return -1;
	for (size_t i = 2; i < len; i++, scale /= 10) {
		if (s[i] < '0' || s[i] > '9' || (v == 1000 && s[i] != '0'))
			return -1;
		v += (s[i] - '0') * scale;
	}
	return v;
}

/* One Accept-Encoding value into ae. */
static void accept_enc_scan(const char *v, size_t len, struct accept_enc *ae)
{
	const char *end = v + len;

	while (v < end) {
		const char *el_end = memchr(v, ',', end - v), *name, *p;
		size_t nlen;
		int q = 1000;

		if (!el_end)
			el_end = end;
		while (v < el_end && is_ows(*v))
			v++;
		name = v;
		while (v < el_end && *v != ';' && !is_ows(*v))
			v++;
		nlen = v - name;
		/* Parameters: only q counts; a bad one voids the element. */
		for (p = v; p < el_end;) {
			const char *pe, *pn;

			while (p < el_end && (is_ows(*p) || *p == ';'))
				p++;
			if (p == el_end)
				break;
			pe = memchr(p, ';', el_end - p);
			if (!pe)
				pe = el_end;
			pn = pe;
			while (pn > p && is_ows(pn[-1]))
				pn--;
			if (pn - p >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=')
				q = qvalue(p + 2, pn - p - 2);
			p = pe;
		}
		v = el_end < end ? el_end + 1 : end;
		if (q < 0 || !nlen)
			continue;
		if ((nlen == 4 && !strncasecmp(name, "gzip", 4)) ||
		    (nlen == 6 && !strncasecmp(name, "x-gzip", 6)))
			ae->gzip = q;
		else if (nlen == 1 && name[0] == '*')
			ae->star = q;
	}
}

static bool accept_enc_gzip(const struct accept_enc *ae)
{
	return ae->gzip >= 0 ? ae->gzip > 0 : ae->star > 0;
}

bool weft_http_accepts_gzip(const char *value, size_t len)
{
	struct accept_enc ae = { -1, -1 };

	accept_enc_scan(value, len, &ae);
	return accept_enc_gzip(&ae);
}

int weft_http_parse(const char *buf, size_t len, struct weft_http_req *req)
{
	static const char ae_name[] = "accept-encoding:";
	struct accept_enc ae = { -1, -1 };
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
	/* Headers: printable text, each with a colon; only Accept-Encoding
	 * is read. */
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
		if (ll >= sizeof(ae_name) - 1 && !strncasecmp(p, ae_name, sizeof(ae_name) - 1))
			accept_enc_scan(p + sizeof(ae_name) - 1, ll - (sizeof(ae_name) - 1), &ae);
		p = le + 1;
	}
	n = strcspn(sp1 + 1, "? ");
	if (n >= sizeof(req->path))
		return 414;
	memcpy(req->path, sp1 + 1, n);
	req->head = !strcmp(req->method, "HEAD");
	req->gzip = accept_enc_gzip(&ae);
	if (strcmp(req->method, "GET") && !req->head)
		return 405;
	return 0;
}

/* --- gzip ----------------------------------------------------------------- */

int weft_gzip(const char *in, size_t len, struct weft_buf *out)
{
	z_stream zs = { 0 };
	uLong bound;
	int ret;

	out->len = 0;
	if (len > UINT_MAX)
		return -E2BIG;
	/* windowBits 15 + 16: a gzip header and trailer around the deflate
	 * stream. Level 1: a tenth of the size for a fraction of the time of
	 * the default level on metrics text. */
	if (deflateInit2(&zs, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	bound = deflateBound(&zs, len);
	if (!buf_reserve(out, bound)) {
		deflateEnd(&zs);
		return -ENOMEM;
	}
	zs.next_in = (Bytef *)in;
	zs.avail_in = len;
	zs.next_out = (Bytef *)out->p;
	zs.avail_out = bound;
	ret = deflate(&zs, Z_FINISH);
	out->len = zs.total_out;
	deflateEnd(&zs);
	if (ret != Z_STREAM_END) {
		weft_buf_free(out);
		return -EIO;
	}
	/* Give back what the bound reserved beyond the result. */
	{
		char *p = realloc(out->p, out->len + 1);

		if (p) {
			out->p = p;
			out->cap = out->len + 1;
		}
	}
	return 0;
}

/* --- the shared answer and its render thread ------------------------------ */

/* A rendered answer: immutable once published, freed with its last
 * reference (the newest is held by the server, the others by the
 * connections still sending them). Touched by the loop only. */
struct shared {
	int refs;
	uint64_t gen;			/* 1, 2, ...: the render that made it */
	int status;
	const char *ctype;
	struct weft_buf plain;
	struct weft_buf gz;		/* empty: not compressed (yet) */
	bool gz_tried;			/* compressed, or failed to */
};

/* Work for the render thread, given back when done. The thread touches
 * nothing else but sh->plain of a compress-only job, which is immutable. */
struct job {
	void *work;			/* ops.prepare's copy; NULL: compress sh only */
	struct shared *sh;		/* compress only: a reference */
	bool gzip;			/* compress the result too */
	uint64_t gen;			/* render: the generation it makes */
	int status;			/* results */
	const char *ctype;
	struct weft_buf plain, gz;
};

static void shared_put(struct shared *sh)
{
	if (!sh || --sh->refs > 0)
		return;
	weft_buf_free(&sh->plain);
	weft_buf_free(&sh->gz);
	free(sh);
}

enum conn_state { C_FREE, C_HEAD, C_WAIT, C_WRITE, C_DRAIN };

struct conn {
	int fd;
	enum conn_state state;
	long long accepted;		/* monotonic ms */
	long long deadline;		/* of the state, monotonic ms */
	long long progress;		/* the last byte in or acknowledged */
	bool scrape;			/* counted in nscrapes (C_WAIT, C_WRITE) */
	bool head, gzip;		/* the request's */
	uint64_t want_gen;		/* C_WAIT: a shared answer at least this new */
	char in[WEFT_HTTP_MAX_REQUEST];
	size_t inlen;
	char hdr[512];			/* the answer's head */
	size_t hdrlen;
	struct weft_buf own;		/* a small answer's body */
	struct shared *sh;		/* a shared answer being sent */
	const char *body;		/* own.p or sh's plain or gz */
	size_t bodylen;
	size_t off;			/* bytes of hdr + body sent */
	size_t acked;			/* of those, acknowledged by the peer */
	long long checked;		/* when acked was last read */
};

struct weft_http {
	int epfd, lfd, tfd, efd;	/* efd: the render thread's "done" */
	struct weft_http_ops ops;
	void *ctx;
	struct conn conns[WEFT_HTTP_MAX_CONNS];
	int nconns, nscrapes;
	bool paused;			/* listener not watched */
	long long listen_at;		/* paused for lack of fds: watch again then */
	/* render thread; todo, done and stop under mu */
	pthread_t thread;
	bool thread_on;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job *todo, *done;
	bool stop;
	/* the loop's side */
	struct job *busy;		/* the job handed over, until it is back */
	struct shared *newest;		/* the last render's answer */
	uint64_t gen;			/* its generation (0: none yet) */
	long long render_at;		/* when the last render was handed over */
};

/* Tags in epoll_data.u64: which fd an event is for. */
#define TAG_LISTEN (1ull << 32)
#define TAG_TIMER (2ull << 32)
#define TAG_DONE (3ull << 32)

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void job_free(struct weft_http *h, struct job *j)
{
	if (!j)
		return;
	if (j->work)
		h->ops.job_free(j->work);
	shared_put(j->sh);
	weft_buf_free(&j->plain);
	weft_buf_free(&j->gz);
	free(j);
}

/* On the render thread. */
static void job_run(struct weft_http *h, struct job *j)
{
	const struct weft_buf *src = j->sh ? &j->sh->plain : &j->plain;

	if (j->work) {
		j->ctype = "text/plain; charset=utf-8";
		j->status = h->ops.render(j->work, &j->plain, &j->ctype);
		if (j->plain.err) {
			weft_buf_free(&j->plain);
			j->status = 500;
			j->ctype = "text/plain; charset=utf-8";
			weft_buf_printf(&j->plain, "500 out of memory\n");
		}
		h->ops.job_free(j->work);
		j->work = NULL;
	}
	if (j->gzip && (j->sh ? j->sh->status : j->status) == 200 && weft_gzip(src->p, src->len, &j->gz))
		weft_buf_free(&j->gz);
}

static void *render_main(void *arg)
{
	struct weft_http *h = arg;
	uint64_t one = 1;

	pthread_mutex_lock(&h->mu);
	for (;;) {
		struct job *j;

		while (!h->todo && !h->stop)
			pthread_cond_wait(&h->cv, &h->mu);
		if (h->stop)
			break;
		j = h->todo;
		h->todo = NULL;
		pthread_mutex_unlock(&h->mu);
		job_run(h, j);
		/* What the render took from the heap goes back to the system:
		 * between scrapes weftd holds no scrape's memory. */
		malloc_trim(0);
		pthread_mutex_lock(&h->mu);
		h->done = j;
		if (write(h->efd, &one, sizeof(one)) < 0) {
			/* an eventfd write fails only on overflow: still readable */
		}
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

static void job_hand(struct weft_http *h, struct job *j)
{
	h->busy = j;
	pthread_mutex_lock(&h->mu);
	h->todo = j;
	pthread_cond_signal(&h->cv);
	pthread_mutex_unlock(&h->mu);
}

/* --- connections ---------------------------------------------------------- */

static void listen_watch(struct weft_http *h, bool on);

/* Close c; reset: with an RST, dropping what the kernel still holds for a
 * client that stopped reading. */
static void conn_close(struct weft_http *h, struct conn *c, bool reset)
{
	if (reset) {
		struct linger lg = { 1, 0 };

		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	epoll_ctl(h->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	weft_buf_free(&c->own);
	shared_put(c->sh);
	c->sh = NULL;
	if (c->scrape)
		h->nscrapes--;
	c->scrape = false;
	c->state = C_FREE;
	c->fd = -1;
	h->nconns--;
	listen_watch(h, true);
}

static void conn_watch(struct weft_http *h, struct conn *c, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.u64 = c - h->conns };

	if (epoll_ctl(h->epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0)
		conn_close(h, c, true);
}

/* Send what is left of the head and body; then drain until the client
 * closes (so that close() does not reset the answer away). */
static void conn_write(struct weft_http *h, struct conn *c)
{
	size_t total = c->hdrlen + c->bodylen;

	while (c->off < total) {
		struct iovec iov[2];
		struct msghdr msg = { .msg_iov = iov };
		ssize_t n;

		if (c->off < c->hdrlen) {
			iov[msg.msg_iovlen++] = (struct iovec){ c->hdr + c->off, c->hdrlen - c->off };
			iov[msg.msg_iovlen++] = (struct iovec){ (char *)c->body, c->bodylen };
		} else {
			iov[msg.msg_iovlen++] = (struct iovec){ (char *)c->body + (c->off - c->hdrlen),
								total - c->off };
		}
		n = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			conn_watch(h, c, EPOLLOUT);
			return;
		}
		if (n <= 0) {
			conn_close(h, c, true);
			return;
		}
		c->off += n;
		c->progress = mono_ms();
	}
	shutdown(c->fd, SHUT_WR);
	weft_buf_free(&c->own);
	shared_put(c->sh);
	c->sh = NULL;
	c->body = NULL;
	if (c->scrape)
		h->nscrapes--;
	c->scrape = false;
	c->state = C_DRAIN;
	c->deadline = mono_ms() + 1000;
	conn_watch(h, c, EPOLLIN | EPOLLRDHUP);
}

static void conn_start(struct weft_http *h, struct conn *c, int status, const char *ctype,
		       const char *body, size_t len, const char *extra)
{
	int n = snprintf(c->hdr, sizeof(c->hdr),
			 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
			 "Connection: close\r\n\r\n", status, weft_http_reason(status), ctype, len,
			 extra);

	c->hdrlen = n > 0 && (size_t)n < sizeof(c->hdr) ? (size_t)n : 0;
	if (!c->hdrlen) {
		conn_close(h, c, true);
		return;
	}
	c->body = body;
	c->bodylen = c->head ? 0 : len;
	c->off = c->acked = 0;
	c->state = C_WRITE;
	c->progress = c->checked = mono_ms();
	conn_write(h, c);
}

/* Start sending sh (its gzip form if c asked and there is one). */
static void conn_start_shared(struct weft_http *h, struct conn *c, struct shared *sh)
{
	bool gz = c->gzip && sh->gz.len;
	const struct weft_buf *b = gz ? &sh->gz : &sh->plain;

	sh->refs++;
	c->sh = sh;
	conn_start(h, c, sh->status, sh->ctype, b->p, b->len,
		   gz ? "Content-Encoding: gzip\r\nVary: Accept-Encoding\r\n" :
			"Vary: Accept-Encoding\r\n");
}

static void schedule(struct weft_http *h);

/* The answer to a parsed (status 0) or refused request. */
static void conn_answer(struct weft_http *h, struct conn *c, int status,
			const struct weft_http_req *req)
{
	const char *ctype = "text/plain; charset=utf-8", *extra = "";

	c->head = req && req->head;
	c->gzip = req && req->gzip;
	c->deadline = mono_ms() + WEFT_HTTP_ANSWER_MS;
	if (status == 0) {
		status = h->ops.answer(h->ctx, req->path, &c->own, &ctype);
		if (status == WEFT_HTTP_SHARED && h->nscrapes >= WEFT_HTTP_MAX_SCRAPES) {
			status = 503;
			extra = "Retry-After: 1\r\n";
			weft_buf_printf(&c->own, "503 too many scrapes at once\n");
		}
		if (status == WEFT_HTTP_SHARED) {
			c->scrape = true;
			h->nscrapes++;
			c->state = C_WAIT;
			/* Join the render under way, else the next one: what a
			 * request sees was read after it came. */
			c->want_gen = h->busy && !h->busy->sh ? h->busy->gen : h->gen + 1;
			/* Nothing to read meanwhile (a client may half-close
			 * after its request): only a reset or hang-up ends it. */
			conn_watch(h, c, 0);
			schedule(h);
			return;
		}
	} else {
		if (status == 405)
			extra = "Allow: GET, HEAD\r\n";
		weft_buf_printf(&c->own, "%d %s\n", status, weft_http_reason(status));
	}
	if (c->own.err) {
		conn_close(h, c, true);
		return;
	}
	conn_start(h, c, status, ctype, c->own.p, c->own.len, extra);
}

static void conn_read(struct weft_http *h, struct conn *c)
{
	struct weft_http_req req;
	char sink[4096];
	ssize_t n;
	int ret;

	if (c->state == C_DRAIN) {
		while ((n = recv(c->fd, sink, sizeof(sink), MSG_DONTWAIT)) > 0)
			;
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			conn_close(h, c, false);
		return;
	}
	n = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(h, c, false);
		return;
	}
	c->inlen += n;
	c->progress = mono_ms();
	ret = weft_http_parse(c->in, c->inlen, &req);
	if (ret == -EAGAIN)
		return;
	conn_answer(h, c, ret, ret ? NULL : &req);
}

/* --- scheduling renders --------------------------------------------------- */

/* Waiters the newest answer serves now; a compress job if one of them
 * wants gzip that was not made yet; else a render if a waiter wants a newer
 * answer and the last render began WEFT_HTTP_RENDER_MS ago. */
static void schedule(struct weft_http *h)
{
	bool want_new = false, want_new_gz = false, want_gz = false;
	long long now = mono_ms();
	struct job *j;

	for (int i = 0; i < WEFT_HTTP_MAX_CONNS; i++) {
		struct conn *c = &h->conns[i];

		if (c->state != C_WAIT)
			continue;
		if (!h->newest && c->want_gen <= h->gen)
			c->want_gen = h->gen + 1;	/* not kept: the next one */
		if (c->want_gen > h->gen) {
			want_new = true;
			want_new_gz |= c->gzip;
		} else if (c->gzip && h->newest->status == 200 && !h->newest->gz_tried) {
			want_gz = true;
		} else {
			conn_start_shared(h, c, h->newest);
		}
	}
	/* A request that comes later waits for a newer render: the newest
	 * answer lives on only in the connections still sending it. */
	if (!want_gz && h->newest && !(h->busy && h->busy->sh)) {
		shared_put(h->newest);
		h->newest = NULL;
	}
	if (h->busy || (!want_gz && !want_new))
		return;
	if (!want_gz && now < h->render_at + WEFT_HTTP_RENDER_MS)
		return;		/* the timer comes back */
	j = calloc(1, sizeof(*j));
	if (!j)
		return;		/* the waiters time out */
	if (want_gz) {
		j->sh = h->newest;
		j->sh->refs++;
		j->gzip = true;
		job_hand(h, j);
		return;
	}
	j->gen = h->gen + 1;
	j->gzip = want_new_gz;
	j->work = h->ops.prepare(h->ctx);
	h->render_at = now;
	if (j->work) {
		job_hand(h, j);
		return;
	}
	/* Nothing to render from: the failure is the answer. */
	j->status = 500;
	j->ctype = "text/plain; charset=utf-8";
	weft_buf_printf(&j->plain, "500 %s\n", strerror(errno ? errno : ENOMEM));
	h->busy = j;
	pthread_mutex_lock(&h->mu);
	h->done = j;
	pthread_mutex_unlock(&h->mu);
	eventfd_write(h->efd, 1);
}

/* A job is back: publish what it made and serve the waiters. */
static void job_back(struct weft_http *h)
{
	struct job *j;
	eventfd_t n;

	if (eventfd_read(h->efd, &n) < 0)
		return;
	pthread_mutex_lock(&h->mu);
	j = h->done;
	h->done = NULL;
	pthread_mutex_unlock(&h->mu);
	if (!j)
		return;
	h->busy = NULL;
	if (j->sh) {
		/* Compressed: the same answer, now also as gzip. */
		j->sh->gz = j->gz;
		j->sh->gz_tried = true;
		memset(&j->gz, 0, sizeof(j->gz));
	} else {
		struct shared *sh = calloc(1, sizeof(*sh));

		if (sh) {
			*sh = (struct shared){ 1, j->gen, j->status, j->ctype, j->plain, j->gz, j->gzip };
			memset(&j->plain, 0, sizeof(j->plain));
			memset(&j->gz, 0, sizeof(j->gz));
			shared_put(h->newest);
			h->newest = sh;
			h->gen = sh->gen;
			/* Two generations at most: a client still reading the
			 * one before the last is too slow to keep. */
			for (int i = 0; i < WEFT_HTTP_MAX_CONNS; i++) {
				struct conn *c = &h->conns[i];

				if (c->state == C_WRITE && c->sh && c->sh->gen + 1 < h->gen)
					conn_close(h, c, true);
			}
		}
	}
	job_free(h, j);
	schedule(h);
}

/* --- accept, expire, run -------------------------------------------------- */

/* Watch the listener only while a connection can be taken: the others
 * wait in the backlog. */
static void listen_watch(struct weft_http *h, bool on)
{
	struct epoll_event ev = { .events = on ? EPOLLIN : 0, .data.u64 = TAG_LISTEN };

	if (h->paused == !on)
		return;
	h->paused = !on;
	epoll_ctl(h->epfd, EPOLL_CTL_MOD, h->lfd, &ev);
}

/* A free slot; else the one to evict for a newcomer: a finished answer
 * draining, else the oldest connection still sending its head. NULL if
 * every slot waits for or sends the shared answer. */
static struct conn *slot_find(struct weft_http *h)
{
	struct conn *victim = NULL;

	for (int i = 0; i < WEFT_HTTP_MAX_CONNS; i++) {
		struct conn *c = &h->conns[i];

		if (c->state == C_FREE)
			return c;
		if (c->state != C_HEAD && c->state != C_DRAIN)
			continue;
		if (!victim || (c->state == C_DRAIN && victim->state != C_DRAIN) ||
		    (c->state == victim->state && c->accepted < victim->accepted))
			victim = c;
	}
	return victim;
}

static void do_accept(struct weft_http *h)
{
	for (int k = 0; k < 64; k++) {
		struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP };
		struct conn *c = slot_find(h);
		int fd, sndbuf = WEFT_HTTP_SNDBUF;
		long long now;

		if (!c) {
			listen_watch(h, false);
			return;
		}
		fd = accept4(h->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0 && (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			       errno == ENOMEM)) {
			/* Out of fds or memory: the backlog waits a while
			 * rather than the loop spinning on it. */
			listen_watch(h, false);
			h->listen_at = mono_ms() + 100;
			return;
		}
		if (fd < 0)
			return;
		if (c->state != C_FREE)
			conn_close(h, c, false);
		/* A bounded send buffer: what a client that stops reading
		 * holds in the kernel, and acknowledgements show progress. */
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
		ev.data.u64 = c - h->conns;
		if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			continue;
		}
		now = mono_ms();
		memset(c, 0, offsetof(struct conn, in));
		c->fd = fd;
		c->state = C_HEAD;
		c->accepted = c->progress = now;
		c->deadline = now + WEFT_HTTP_HEAD_MS;
		c->inlen = 0;
		h->nconns++;
	}
}

/* A sending connection's progress: bytes the peer acknowledged (sent minus
 * what the socket still holds), though its reads may be too small to wake
 * EPOLLOUT. Looked at every WEFT_HTTP_IDLE_MS / 4 while the socket is full. */
#define CHECK_MS (WEFT_HTTP_IDLE_MS / 4)

static void write_progress(struct conn *c, long long now)
{
	int outq;

	c->checked = now;
	if (ioctl(c->fd, SIOCOUTQ, &outq) == 0 && outq >= 0 && c->off >= (size_t)outq &&
	    c->off - outq > c->acked) {
		c->acked = c->off - outq;
		c->progress = now;
	}
}

static long long min_ll(long long a, long long b)
{
	return a < b ? a : b;
}

/* Whether c is past a deadline or made no progress for too long. */
static bool conn_expired(const struct conn *c, long long now)
{
	return now >= c->deadline ||
	       ((c->state == C_HEAD || c->state == C_WRITE) && now >= c->progress + WEFT_HTTP_IDLE_MS);
}

/* When c must be looked at again. */
static long long conn_due(const struct conn *c)
{
	long long idle = min_ll(c->progress + WEFT_HTTP_IDLE_MS, c->deadline);

	switch (c->state) {
	case C_HEAD:
		return idle;
	case C_WRITE:
		return min_ll(idle, c->checked + CHECK_MS);
	default:
		return c->deadline;
	}
}

static void expire(struct weft_http *h)
{
	long long now = mono_ms();
	uint64_t ticks;

	if (read(h->tfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		return;
	if (h->listen_at && h->listen_at <= now) {
		h->listen_at = 0;
		listen_watch(h, true);
	}
	for (int i = 0; i < WEFT_HTTP_MAX_CONNS; i++) {
		struct conn *c = &h->conns[i];

		if (c->state == C_FREE || conn_due(c) > now)
			continue;
		if (c->state == C_WRITE)
			write_progress(c, now);
		if (conn_expired(c, now))
			conn_close(h, c, c->state == C_WRITE);
	}
	schedule(h);
}

/* The timer at the earliest deadline, idle limit or render start due. */
static void arm_timer(struct weft_http *h)
{
	struct itimerspec its = { 0 };
	long long due = LLONG_MAX;
	bool render = false;

	for (int i = 0; i < WEFT_HTTP_MAX_CONNS; i++) {
		const struct conn *c = &h->conns[i];
		long long d;

		if (c->state == C_FREE)
			continue;
		d = conn_due(c);
		if (d < due)
			due = d;
		render |= c->state == C_WAIT && c->want_gen > h->gen;
	}
	if (render && !h->busy && h->render_at + WEFT_HTTP_RENDER_MS < due)
		due = h->render_at + WEFT_HTTP_RENDER_MS;
	if (h->listen_at && h->listen_at < due)
		due = h->listen_at;
	if (due != LLONG_MAX) {
		if (due <= 0)
			due = 1;
		its.it_value.tv_sec = due / 1000;
		its.it_value.tv_nsec = due % 1000 * 1000000;
	}
	timerfd_settime(h->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

void weft_http_run(struct weft_http *h)
{
	struct epoll_event evs[32];
	int n = epoll_wait(h->epfd, evs, 32, 0);

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
		if (tag == TAG_DONE) {
			job_back(h);
			continue;
		}
		if (tag >= WEFT_HTTP_MAX_CONNS)
			continue;
		c = &h->conns[tag];
		switch (c->state) {
		case C_HEAD:
		case C_DRAIN:
			conn_read(h, c);
			break;
		case C_WAIT:
			/* EPOLLERR or EPOLLHUP: the client is gone */
			conn_close(h, c, false);
			break;
		case C_WRITE:
			conn_write(h, c);
			break;
		default:
			break;
		}
	}
	arm_timer(h);
}

struct weft_http *weft_http_open(const char *text, const struct weft_http_ops *ops, void *ctx,
				 char *err, size_t errlen)
{
	struct weft_http *h = calloc(1, sizeof(*h));
	struct epoll_event ev = { .events = EPOLLIN };
	struct sockaddr_storage ss;
	sigset_t all, old;
	socklen_t sl;
	int one = 1, ret;

	if (!h) {
		snprintf(err, errlen, "metrics: %s", strerror(ENOMEM));
		return NULL;
	}
	h->ops = *ops;
	h->ctx = ctx;
	h->lfd = h->tfd = h->epfd = h->efd = -1;
	h->render_at = LLONG_MIN / 2;
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	for (int i = 0; i < WEFT_HTTP_MAX_CONNS; i++)
		h->conns[i].fd = -1;
	if (weft_listen_parse(text, &ss, &sl)) {
		ret = -EINVAL;
		snprintf(err, errlen, "metrics.listen: \"%s\" is not ADDR:PORT", text);
		goto fail;
	}
	h->lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	h->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	h->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	h->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (h->lfd < 0 || h->tfd < 0 || h->efd < 0 || h->epfd < 0)
		goto fail_errno;
	setsockopt(h->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(h->lfd, (struct sockaddr *)&ss, sl) < 0 || listen(h->lfd, 128) < 0)
		goto fail_errno;
	ev.data.u64 = TAG_LISTEN;
	if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->lfd, &ev) < 0)
		goto fail_errno;
	ev.data.u64 = TAG_TIMER;
	if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->tfd, &ev) < 0)
		goto fail_errno;
	ev.data.u64 = TAG_DONE;
	if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->efd, &ev) < 0)
		goto fail_errno;
	/* The thread takes no signal: they are the loop's (signalfd). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = -pthread_create(&h->thread, NULL, render_main, h);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret) {
		snprintf(err, errlen, "metrics: render thread: %s", strerror(-ret));
		goto fail;
	}
	h->thread_on = true;
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
	if (h->thread_on) {
		pthread_mutex_lock(&h->mu);
		h->stop = true;
		pthread_cond_signal(&h->cv);
		pthread_mutex_unlock(&h->mu);
		pthread_join(h->thread, NULL);
	}
	/* The job handed over is back or was never taken. */
	job_free(h, h->todo);
	job_free(h, h->done);
	for (int i = 0; i < WEFT_HTTP_MAX_CONNS; i++) {
		struct conn *c = &h->conns[i];

		if (c->state == C_FREE)
			continue;
		close(c->fd);
		weft_buf_free(&c->own);
		shared_put(c->sh);
	}
	shared_put(h->newest);
	if (h->lfd >= 0)
		close(h->lfd);
	if (h->tfd >= 0)
		close(h->tfd);
	if (h->efd >= 0)
		close(h->efd);
	if (h->epfd >= 0)
		close(h->epfd);
	pthread_mutex_destroy(&h->mu);
	pthread_cond_destroy(&h->cv);
	free(h);
}
