// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* redir: redirect switches into weft_redir_cfg and weft_redir_off. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <bpf/bpf.h>

#include "reconcile/redirect.h"

static bool endpoint_off(const struct weft_model *cfg, const struct weft_addr_key *k)
{
	for (size_t i = 0; i < cfg->nendpoints; i++)
		if (!cfg->endpoints[i].redirect &&
		    !memcmp(&cfg->endpoints[i].ip.a, k->addr, sizeof(k->addr)))
			return true;
	return false;
}

int weft_redir_apply(const struct weft_maps *maps, const struct weft_model *cfg, char *err,
		     size_t errlen)
{
	int off_fd = maps->fd[WEFT_M_REDIR_OFF];
	struct weft_redir_cfg rc = { .enabled = cfg->datapath.redirect }, old;
	struct weft_addr_key k, next;
	__u32 one = 1, zero = 0, n = 0;
	bool first = true;

	/* Endpoints switched off first, so a connection never redirects
	 * between "off" in the file and "off" in the map. */
	for (size_t i = 0; i < cfg->nendpoints; i++) {
		if (cfg->endpoints[i].redirect)
			continue;
		memcpy(k.addr, &cfg->endpoints[i].ip.a, sizeof(k.addr));
		if (bpf_map_update_elem(off_fd, &k, &one, BPF_ANY)) {
			snprintf(err, errlen, "redirect: %s: endpoints[%zu]: %s", weft_map_name(WEFT_M_REDIR_OFF), i,
				 strerror(errno));
			return -errno;
		}
	}
	/* Remove the endpoints switched on again (after a delete, walk from
	 * the start: the deleted key can no longer lead to the next). */
	while (bpf_map_get_next_key(off_fd, first ? NULL : &k, &next) == 0) {
		k = next;
		first = false;
		if (endpoint_off(cfg, &k))
			continue;
		if (bpf_map_delete_elem(off_fd, &k) && errno != ENOENT) {
			snprintf(err, errlen, "redirect: %s: delete: %s", weft_map_name(WEFT_M_REDIR_OFF),
				 strerror(errno));
			return -errno;
		}
		first = true;
	}
	for (first = true; bpf_map_get_next_key(off_fd, first ? NULL : &k, &next) == 0; first = false) {
		k = next;
		n++;
	}
	/* Keep the policy epoch (issue 4 owns it). */
	if (bpf_map_lookup_elem(maps->fd[WEFT_M_REDIR_CFG], &zero, &old) == 0)
		rc.policy_epoch = old.policy_epoch;
	rc.noff = n;
	if (bpf_map_update_elem(maps->fd[WEFT_M_REDIR_CFG], &zero, &rc, BPF_ANY)) {
		snprintf(err, errlen, "redirect: %s: %s", weft_map_name(WEFT_M_REDIR_CFG), strerror(errno));
		return -errno;
	}
	return 0;
}
