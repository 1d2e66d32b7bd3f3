// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* fuzz target http: a request head as a client sends it (serve/http.c,
 * weft_http_parse), and an Accept-Encoding value on its own. */
#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "serve/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct weft_http_req req;
	int ret = weft_http_parse(buf, size, &req);

	FUZZ_ASSERT(ret == 0 || ret == -EAGAIN || ret == 400 || ret == 405 || ret == 414 ||
			    ret == 431 || ret == 505,
		    "a status the header names");
	FUZZ_ASSERT(memchr(req.method, 0, sizeof(req.method)) && memchr(req.path, 0, sizeof(req.path)),
		    "method and path are strings");
	if (ret == 0) {
		FUZZ_ASSERT(!strcmp(req.method, "GET") || !strcmp(req.method, "HEAD"), "GET or HEAD");
		FUZZ_ASSERT(req.path[0] == '/', "the target is a path");
		FUZZ_ASSERT(!strchr(req.path, '?') && !strchr(req.path, ' '), "no query, no space");
	}
	if (ret == -EAGAIN)
		FUZZ_ASSERT(size < WEFT_HTTP_MAX_REQUEST, "a head too long is refused, not awaited");
	(void)weft_http_accepts_gzip(buf, size);
	return 0;
}
