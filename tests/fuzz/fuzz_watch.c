// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fuzz target watch: what the API server sends a watch and a list
 * (source/k8s/watch.c, weft_k8s_feed and weft_k8s_list_page, the code
 * behind libcurl's write callback; libcurl itself undoes the chunked
 * transfer encoding). The first byte of an input sets the size of the
 * reads the rest arrives in (1 to 256 bytes), so events split across reads
 * are tried; after each read no complete line may be left unapplied. Then
 * the whole rest is taken as a list page.
 */
#include <string.h>
#include <json-c/json.h>

#include "fuzz.h"
#include "lib/log.h"
#include "source/k8s/internal.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	weft_log_level = LOG_ERROR;
	return 0;
}

static void res_free(struct res *r)
{
	json_object_put(r->cache);
	json_object_put(r->next);
	free(r->buf);
	free(r->cont);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct weft_k8s *k = calloc(1, sizeof(*k));
	struct res *w, *l;
	size_t step, off;

	if (!k)
		abort();
	if (!size)
		goto out;
	step = (size_t)data[0] + 1;
	data++;
	size--;
	w = &k->res[RES_SVC];
	*w = (struct res){ .kind = "Service", .st = R_WATCH, .synced = true,
			   .cache = json_object_new_object() };
	for (off = 0; off < size; off += step) {
		size_t n = size - off < step ? size - off : step;

		if (!weft_k8s_feed(k, w, (const char *)data + off, n, true))
			break;
		FUZZ_ASSERT(!w->len || !memchr(w->buf, '\n', w->len), "every complete line applied");
		FUZZ_ASSERT(w->len <= off + n, "no more kept than came");
	}
	l = &k->res[RES_SLICE];
	*l = (struct res){ .kind = "EndpointSlice", .st = R_LIST, .cache = json_object_new_object(),
			   .next = json_object_new_object() };
	if (weft_k8s_feed(k, l, (const char *)data, size, false)) {
		FUZZ_ASSERT(l->len == size, "a list body is kept whole");
		if (!weft_k8s_list_page(k, l) && !l->cont)
			FUZZ_ASSERT(l->synced && !l->next, "the last page replaces the cache");
	}
out:
	for (size_t i = 0; i < NRES; i++)
		res_free(&k->res[i]);
	free(k);
	return 0;
}
