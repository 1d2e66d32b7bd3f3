/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * redirect: the switches of the same-node socket redirect: datapath.redirect
 * into weft_redir_cfg.enabled, and the endpoints with `redirect: false` into
 * weft_redir_off (its size in weft_redir_cfg.noff, so the BPF side skips the
 * lookups while there are none). The BPF side reads them on every message,
 * so switching off takes effect on established connections at once (their
 * next message takes the stack; no byte is lost or reordered, see
 * bpf/lib/redir.h).
 *
 * Also the observability switch (weft_obs_cfg.flags from
 * metrics.tcp_rtt_updates): a value written the same way.
 */
#ifndef WEFT_RECONCILE_REDIRECT_H
#define WEFT_RECONCILE_REDIRECT_H

#include <stddef.h>

#include "model/model.h"
#include "reconcile/write.h"

struct weft_redir_state {
	struct weft_kvset off;		/* weft_redir_off: endpoint addresses -> 1 */
	struct weft_redir_cfg cfg;	/* weft_redir_cfg[0] */
};

void weft_redir_init(struct weft_redir_state *s);
void weft_redir_free(struct weft_redir_state *s);

/* The wanted switches of m; the policy epoch is kept from epoch (the policy
 * step owns it). 0 or -ENOMEM. */
int weft_redir_build(const struct weft_model *m, uint64_t epoch, struct weft_redir_state *out);

/* What the maps hold. 0 or -errno. */
int weft_redir_read(const struct weft_maps *maps, struct weft_redir_state *out);

/* Order: endpoints switched off first (a connection never redirects between
 * "off" in the model and "off" in the map), then those switched on again,
 * then weft_redir_cfg (noff counts what the map holds from here on). */
int weft_redir_diff(const void *cur, const void *want, weft_op_fn fn, void *ctx);

/* weft_obs_cfg: flags from m (WEFT_OBS_NO_RTT_UPDATES), the observer count
 * of `weft observe` as the map holds it now. */
int weft_obs_build(const struct weft_maps *maps, const struct weft_model *m,
		   struct weft_obs_cfg *out);
int weft_obs_read(const struct weft_maps *maps, struct weft_obs_cfg *out);
/* One write when the flags differ. */
int weft_obs_diff(const void *cur, const void *want, weft_op_fn fn, void *ctx);

#endif /* WEFT_RECONCILE_REDIRECT_H */
