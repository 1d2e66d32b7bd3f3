// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* obs: endpoints into weft_ep_v2, diffed against the map. */
#include <errno.h>
#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "reconcile/endpoints.h"

static int ent_cmp(const void *a, const void *b)
{
	return memcmp(&((const struct weft_ep_ent *)a)->k, &((const struct weft_ep_ent *)b)->k,
		      sizeof(struct weft_addr_key));
}

int weft_ep_build(const struct weft_model *cfg, const struct weft_pol_state *pol,
		  struct weft_ep_ent **out, size_t *n)
{
	struct weft_ep_ent *e = calloc(cfg->nendpoints + 1, sizeof(*e));
	size_t m = 0;

	*out = NULL;
	*n = 0;
	if (!e)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->nendpoints; i++) {
		const struct weft_endpoint *ep = &cfg->endpoints[i];
		struct weft_ep_ent *x = &e[m++];
		uint32_t id = pol ? weft_pol_ep_ident(pol, &ep->ip) : 0;

		memcpy(x->k.addr, &ep->ip.a, sizeof(x->k.addr));
		snprintf(x->v.name, sizeof(x->v.name), "%s", ep->name);
		snprintf(x->v.ns, sizeof(x->v.ns), "%s", ep->ns);
		snprintf(x->v.workload, sizeof(x->v.workload), "%s", weft_endpoint_workload(ep));
		snprintf(x->v.service_account, sizeof(x->v.service_account), "%s", ep->service_account);
		snprintf(x->v.canonical_service, sizeof(x->v.canonical_service), "%s",
			 weft_endpoint_canonical_service(ep));
		snprintf(x->v.canonical_revision, sizeof(x->v.canonical_revision), "%s",
			 weft_endpoint_canonical_revision(ep));
		if (id < WEFT_ID_EP_MIN || (id & WEFT_ID_CIDR))
			id = 0;
		x->v.identity = id;
		x->v.ifindex = ep->interface[0] && !ep->remote ? if_nametoindex(ep->interface) : 0;
		x->v.flags = ep->remote ? WEFT_EP_REMOTE :
			     (ep->redirect ? 0 : WEFT_EP_REDIRECT_OFF) | (pol ? weft_pol_policed(pol, id) : 0);
	}
	/* The config rejects two endpoints with one address; a translated
	 * Kubernetes config could still hold one twice: keep one. */
	qsort(e, m, sizeof(*e), ent_cmp);
	if (m) {
		size_t w = 1;

		for (size_t i = 1; i < m; i++)
			if (ent_cmp(&e[w - 1], &e[i]))
				e[w++] = e[i];
		m = w;
	}
	*out = e;
	*n = m;
	return 0;
}

int weft_ep_apply(const struct weft_maps *maps, const struct weft_ep_ent *want, size_t n,
		  uint64_t *nops, char *err, size_t errlen)
{
	struct weft_kvset w;

	_Static_assert(sizeof(struct weft_ep_ent) == sizeof(struct weft_addr_key) + sizeof(struct weft_ep_val),
		       "entries are key then value, unpadded");
	weft_kvset_view(&w, WEFT_M_EP, want, n);
	return weft_kvset_sync(maps, &w, nops, err, errlen);
}
