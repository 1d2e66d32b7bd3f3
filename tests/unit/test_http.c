// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Unit tests of the HTTP server's pure parts: Accept-Encoding and gzip. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "harness.h"
#include "serve/http.h"

TEST(unit, http_accept_encoding_gzip)
{
	static const struct {
		const char *in;
		bool gzip;
	} cases[] = {
		{ "gzip", true },
		{ "GZip", true },
		{ "x-gzip", true },
		{ " deflate, gzip ", true },
		{ "br;q=1.0, gzip;q=0.8", true },
		{ "gzip;q=0.001", true },
		{ "gzip ; q=1", true },
		{ "gzip;level=1;q=0.5", true },
		{ "*", true },
		{ "identity, *;q=0.1", true },
		{ "", false },
		{ "identity", false },
		{ "deflate, br", false },
		{ "gzip;q=0", false },
		{ "gzip;q=0.000", false },
		{ "gzip;q=0, *", false },
		{ "*;q=0", false },
		{ "gzip;q=2", false },		/* not a qvalue: the element is void */
		{ "gzip;q=1.5", false },
		{ "gzip;q=0.0001", false },
		{ "gzip;q=", false },
		{ "gzipx", false },
		{ "xgzip", false },
		{ ",,,gzip,,", true },
		{ "gzip;q=0.5, gzip;q=0", false },	/* the last weight counts */
	};
	char what[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(what, sizeof(what), "Accept-Encoding: %s", cases[i].in);
		ASSERT_EQ(weft_http_accepts_gzip(cases[i].in, strlen(cases[i].in)), cases[i].gzip, what);
	}
	/* The length bounds the value: what follows is not read. */
	ASSERT_EQ(weft_http_accepts_gzip("br, gzip", 3), false, "only \"br,\"");
}

TEST(unit, http_parse_reads_accept_encoding)
{
	static const struct {
		const char *in;
		bool gzip;
	} cases[] = {
		{ "GET /metrics HTTP/1.1\r\nAccept-Encoding: gzip\r\n\r\n", true },
		{ "GET /metrics HTTP/1.1\r\naccept-encoding:gzip\r\n\r\n", true },
		{ "GET /metrics HTTP/1.1\r\nHost: a\r\nACCEPT-ENCODING:  br, gzip;q=0.5\r\n\r\n", true },
		{ "GET /metrics HTTP/1.1\r\nAccept: gzip\r\n\r\n", false },
		{ "GET /metrics HTTP/1.1\r\nX-Accept-Encoding: gzip\r\n\r\n", false },
		{ "GET /metrics HTTP/1.1\r\n\r\n", false },
		/* Lines of one field are one list: the later q=0 wins over *. */
		{ "GET / HTTP/1.1\r\nAccept-Encoding: *\r\nAccept-Encoding: gzip;q=0\r\n\r\n", false },
		{ "GET / HTTP/1.1\r\nAccept-Encoding: br\r\nAccept-Encoding: gzip\r\n\r\n", true },
		/* Only the head counts. */
		{ "GET / HTTP/1.1\r\n\r\nAccept-Encoding: gzip\r\n\r\n", false },
	};
	struct weft_http_req req;
	char what[32];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(what, sizeof(what), "case %zu", i);
		if (ASSERT_OK(weft_http_parse(cases[i].in, strlen(cases[i].in), &req), what))
			ASSERT_EQ(req.gzip, cases[i].gzip, what);
	}
}

/* weft_gzip makes one gzip member that zlib inflates back. */
TEST(unit, http_gzip_round_trip)
{
	size_t len = 3 << 20;
	char *in = malloc(len), *back = malloc(len + 1);
	struct weft_buf gz = { 0 };
	z_stream zs = { 0 };
	int ret;

	if (!ASSERT_TRUE(in && back, "malloc"))
		goto out;
	for (size_t i = 0; i < len; i++)
		in[i] = "weft_tcp_sent_bytes_total{reporter=\"source\"} 12345\n"[i % 52] + (i / 4096 % 3);
	if (!ASSERT_OK(weft_gzip(in, len, &gz), "gzip"))
		goto out;
	ASSERT_TRUE(gz.len > 18 && gz.len < len / 4, "compressed");
	ASSERT_TRUE((unsigned char)gz.p[0] == 0x1f && (unsigned char)gz.p[1] == 0x8b, "a gzip header");
	if (!ASSERT_EQ(inflateInit2(&zs, 15 + 16), Z_OK, "inflateInit2"))
		goto out;
	zs.next_in = (Bytef *)gz.p;
	zs.avail_in = gz.len;
	zs.next_out = (Bytef *)back;
	zs.avail_out = len + 1;
	ret = inflate(&zs, Z_FINISH);
	inflateEnd(&zs);
	ASSERT_EQ(ret, Z_STREAM_END, "inflates whole");
	ASSERT_EQ(zs.total_out, len, "to the same length");
	ASSERT_TRUE(!memcmp(in, back, len), "and the same bytes");
	weft_buf_free(&gz);
	ASSERT_OK(weft_gzip("", 0, &gz), "an empty body");
	ASSERT_TRUE(gz.len >= 18, "still a gzip member");
out:
	weft_buf_free(&gz);
	free(in);
	free(back);
}
