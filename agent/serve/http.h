/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * http: the smallest HTTP/1.1 server weftd needs for /metrics, /healthz and
 * /readyz. Non-blocking, no threads: the server is one epoll fd that weftd's
 * loop watches; weft_http_run() does whatever is ready. GET and HEAD only,
 * requests of at most WEFT_HTTP_MAX_REQUEST bytes of head, a deadline per
 * connection, at most WEFT_HTTP_MAX_CONNS at a time, Connection: close.
 */
#ifndef WEFT_HTTP_H
#define WEFT_HTTP_H

#include <stdarg.h>
#include <stddef.h>
#include <sys/socket.h>

#define WEFT_HTTP_MAX_REQUEST 8192	/* request line and headers, bytes */
#define WEFT_HTTP_MAX_CONNS 32
#define WEFT_HTTP_TIMEOUT_MS 5000	/* from accept to the last byte written */

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

/* "127.0.0.1:9465" or "[::1]:9465" into a socket address (either may be
 * NULL: only check). 0 or -EINVAL. */
int weft_listen_parse(const char *text, struct sockaddr_storage *ss, socklen_t *len);

/* A parsed request head. */
struct weft_http_req {
	char method[16];
	char path[256];		/* target without the query string */
	int head;		/* HEAD: no body in the answer */
};

/* Parse the head of a request in buf[0..len). Returns 0 (complete, req
 * filled), -EAGAIN (need more bytes), or the HTTP status to refuse it with:
 * 400 (malformed), 405 (not GET/HEAD), 414 (target too long), 431 (head
 * longer than WEFT_HTTP_MAX_REQUEST), 505 (not HTTP/1.x). */
int weft_http_parse(const char *buf, size_t len, struct weft_http_req *req);

/* The reason phrase of a status ("Not Found"). */
const char *weft_http_reason(int status);

/* Answer a request: fill body and *ctype, return the status. */
typedef int (*weft_http_fn)(void *ctx, const char *path, struct weft_buf *body,
			    const char **ctype);

struct weft_http;

/* Listen on text (weft_listen_parse). NULL with errno and err filled. */
struct weft_http *weft_http_open(const char *text, weft_http_fn fn, void *ctx, char *err,
				 size_t errlen);

/* The fd to watch for EPOLLIN; then call weft_http_run(). */
int weft_http_fd(const struct weft_http *h);

/* Accept, read, answer, write and expire whatever is ready; never blocks. */
void weft_http_run(struct weft_http *h);

/* Close the listener and every connection. Accepts NULL. */
void weft_http_close(struct weft_http *h);

#endif /* WEFT_HTTP_H */
