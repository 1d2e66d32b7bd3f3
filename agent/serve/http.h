/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * http: the HTTP/1.1 server weftd needs for /metrics, /healthz and /readyz,
 * built so that no client can kill, stall or bloat weftd. The server is one
 * epoll fd that weftd's loop watches; weft_http_run() does whatever is ready
 * and never blocks. GET and HEAD only, Connection: close.
 *
 * Two kinds of answer:
 * - small ones (probes, errors), made on the loop by ops.answer and sent at
 *   once;
 * - the shared one (/metrics): ops.prepare copies, on the loop, what the
 *   render needs from state the loop may change later; ops.render makes the
 *   body on the server's render thread from that copy alone. One render at
 *   a time, at most one started per WEFT_HTTP_RENDER_MS; every request
 *   waiting meanwhile gets the same immutable body (and its gzip form),
 *   reference-counted, so memory does not grow with the number of readers.
 *
 * Limits: WEFT_HTTP_MAX_CONNS connections at once, of which at most
 * WEFT_HTTP_MAX_SCRAPES wait for or read the shared answer (more get 503);
 * when every slot is taken, a new connection evicts the oldest one still
 * sending its request head, so idle clients cannot keep the probes out. A
 * connection that makes no progress for WEFT_HTTP_IDLE_MS (no byte of its
 * request head arrived, or none of its answer acknowledged) is closed, and
 * so is one whose head is not complete WEFT_HTTP_HEAD_MS after accept or
 * whose answer is not out WEFT_HTTP_ANSWER_MS after its head.
 */
#ifndef WEFT_HTTP_H
#define WEFT_HTTP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "lib/addr.h"

#define WEFT_HTTP_MAX_REQUEST 8192	/* request line and headers, bytes */
#define WEFT_HTTP_MAX_CONNS 256		/* connections held at once */
#define WEFT_HTTP_MAX_SCRAPES 64	/* of which waiting for or sending the shared answer */
#define WEFT_HTTP_IDLE_MS 2000		/* no byte of progress for this long: closed */
#define WEFT_HTTP_HEAD_MS 5000		/* from accept to the end of the request head */
#define WEFT_HTTP_ANSWER_MS 30000	/* from the request head to the last byte acknowledged */
#define WEFT_HTTP_RENDER_MS 1000	/* at most one render of the shared answer started per */
#define WEFT_HTTP_SNDBUF (256 << 10)	/* socket send buffer per connection, bytes */

/* A growing text buffer. On allocation failure err is set and further
 * appends do nothing. */
struct weft_buf {
	char *p;
	size_t len, cap;
	int err;
};

void weft_buf_printf(struct weft_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void weft_buf_put(struct weft_buf *b, const char *s, size_t len);
void weft_buf_free(struct weft_buf *b);

/* A parsed request head. */
struct weft_http_req {
	char method[16];
	char path[256];		/* target without the query string */
	bool head;		/* HEAD: no body in the answer */
	bool gzip;		/* Accept-Encoding allows gzip */
};

/* Parse the head of a request in buf[0..len). Returns 0 (complete, req
 * filled), -EAGAIN (need more bytes), or the HTTP status to refuse it with:
 * 400 (malformed), 405 (not GET/HEAD), 414 (target too long), 431 (head
 * longer than WEFT_HTTP_MAX_REQUEST), 505 (not HTTP/1.x). */
int weft_http_parse(const char *buf, size_t len, struct weft_http_req *req);

/* Whether an Accept-Encoding value (RFC 9110 12.5.3: codings with optional
 * ";q=" weights, "*" for any other) allows gzip: a q above 0 for "gzip" or
 * "x-gzip", or else for "*". */
bool weft_http_accepts_gzip(const char *value, size_t len);

/* The reason phrase of a status ("Not Found"). */
const char *weft_http_reason(int status);

/* Returned by weft_http_ops.answer: serve the shared answer. */
#define WEFT_HTTP_SHARED 0

struct weft_http_ops {
	/* On the loop: fill body and *ctype and return the status, or return
	 * WEFT_HTTP_SHARED for the shared answer. */
	int (*answer)(void *ctx, const char *path, struct weft_buf *body, const char **ctype);
	/* On the loop: what render needs, copied (NULL with errno: 500). */
	void *(*prepare)(void *ctx);
	/* On the render thread, from the job alone: fill body and *ctype
	 * (a string constant), return the status. */
	int (*render)(void *job, struct weft_buf *body, const char **ctype);
	/* Either thread: free what prepare made. */
	void (*job_free)(void *job);
};

struct weft_http;

/* Listen on text (weft_listen_parse) and start the render thread (with every
 * signal blocked). NULL with errno and err filled. */
struct weft_http *weft_http_open(const char *text, const struct weft_http_ops *ops, void *ctx,
				 char *err, size_t errlen);

/* The fd to watch for EPOLLIN; then call weft_http_run(). */
int weft_http_fd(const struct weft_http *h);

/* Accept, read, answer, write and expire whatever is ready; never blocks. */
void weft_http_run(struct weft_http *h);

/* Stop the render thread, close the listener and every connection. Accepts
 * NULL. */
void weft_http_close(struct weft_http *h);

/* Gzip in[0..len) into out (a gzip member, zlib level 1). 0 or -errno. */
int weft_gzip(const char *in, size_t len, struct weft_buf *out);

#endif /* WEFT_HTTP_H */
