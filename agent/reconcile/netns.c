// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* netns: each endpoint's pod network namespace, by the peer of its
 * host-side veth (datapath/netns.h finds it), into weft_ns_ep (see abi.h). */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "datapath/netns.h"
#include "reconcile/netns.h"

/* The order of a weft_kvset: the key's bytes. */
static int ent_cmp(const void *a, const void *b)
{
	return memcmp(&((const struct weft_ns_ent *)a)->cookie, &((const struct weft_ns_ent *)b)->cookie,
		      sizeof(uint64_t));
}

int weft_ns_ep_build(const struct weft_model *cfg, struct weft_ns_ent **out, size_t *n)
{
	const char **names = calloc(cfg->nendpoints + 1, sizeof(*names));
	uint64_t *cookie = calloc(cfg->nendpoints + 1, sizeof(*cookie));
	struct weft_ns_ent *e = calloc(cfg->nendpoints + 1, sizeof(*e));
	size_t m = 0;
	int ret;

	*out = NULL;
	*n = 0;
	if (!names || !cookie || !e) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < cfg->nendpoints; i++)	/* "": no netns looked up */
		names[i] = cfg->endpoints[i].remote ? "" : cfg->endpoints[i].interface;
	ret = weft_netns_peer_cookies(names, cfg->nendpoints, cookie);
	if (ret)
		goto out;
	/* One entry per netns, with the endpoint address of each family. */
	for (size_t i = 0; i < cfg->nendpoints; i++) {
		const struct weft_endpoint *ep = &cfg->endpoints[i];
		size_t j;

		if (!cookie[i])
			continue;
		for (j = 0; j < m && e[j].cookie != cookie[i]; j++)
			;
		if (j == m)
			e[m++].cookie = cookie[i];
		memcpy(ep->family == AF_INET ? e[j].v.addr4 : e[j].v.addr6, &ep->ip.a, 16);
	}
	qsort(e, m, sizeof(*e), ent_cmp);
	*out = e;
	*n = m;
	e = NULL;
out:
	free(names);
	free(cookie);
	free(e);
	return ret;
}

int weft_ns_ep_apply(const struct weft_maps *maps, const struct weft_ns_ent *want, size_t n,
		     uint64_t *nops, char *err, size_t errlen)
{
	struct weft_kvset w;

	_Static_assert(sizeof(struct weft_ns_ent) == sizeof(uint64_t) + sizeof(struct weft_ns_ep),
		       "entries are key then value, unpadded");
	weft_kvset_view(&w, WEFT_M_NS_EP, want, n);
	return weft_kvset_sync(maps, &w, nops, err, errlen);
}
