// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* obs: local endpoints into weft_ep, diffed against the map. */
#include <errno.h>
#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "reconcile/endpoints.h"

static const char *label(const struct weft_endpoint *ep, const char *key)
{
	for (size_t i = 0; i < ep->nlabels; i++)
		if (!strcmp(ep->labels[i].key, key) && ep->labels[i].value[0])
			return ep->labels[i].value;
	return NULL;
}

const char *weft_ep_workload(const struct weft_endpoint *ep)
{
	const char *w;

	if (ep->workload[0])
		return ep->workload;
	if ((w = label(ep, "app.kubernetes.io/name")) || (w = label(ep, "app")))
		return w;
	return ep->name;
}

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
		snprintf(x->v.workload, sizeof(x->v.workload), "%s", weft_ep_workload(ep));
		if (id < WEFT_ID_EP_MIN || (id & WEFT_ID_CIDR))
			id = 0;
		x->v.identity = id;
		x->v.ifindex = ep->interface[0] ? if_nametoindex(ep->interface) : 0;
		x->v.flags = (ep->redirect ? 0 : WEFT_EP_REDIRECT_OFF) | (pol ? weft_pol_policed(pol, id) : 0);
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
	_Static_assert(offsetof(struct weft_ep_ent, v) == sizeof(struct weft_addr_key),
		       "value right after the key");
	return weft_map_sync(maps->fd[WEFT_M_EP], weft_map_name(WEFT_M_EP), want, n, sizeof(*want),
			     sizeof(want->k), sizeof(want->v),
			     " (more endpoints than datapath.max_endpoints)", nops, err, errlen);
}

int weft_obs_cfg_apply(const struct weft_maps *maps, const struct weft_model *cfg, char *err,
		       size_t errlen)
{
	struct weft_obs_cfg oc = { 0 };
	__u32 zero = 0;

	if (bpf_map_lookup_elem(maps->fd[WEFT_M_OBS_CFG], &zero, &oc) == 0 &&
	    oc.flags == (cfg->metrics.tcp_rtt_updates ? 0 : WEFT_OBS_NO_RTT_UPDATES))
		return 0;
	oc.flags = cfg->metrics.tcp_rtt_updates ? 0 : WEFT_OBS_NO_RTT_UPDATES;
	if (bpf_map_update_elem(maps->fd[WEFT_M_OBS_CFG], &zero, &oc, BPF_ANY)) {
		int e = errno;

		snprintf(err, errlen, "%s: %s", weft_map_name(WEFT_M_OBS_CFG), strerror(e));
		return -e;
	}
	return 0;
}
