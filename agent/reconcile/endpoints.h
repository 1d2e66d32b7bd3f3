/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * obs: the local endpoints in weft_ep, so /metrics and the CLI can name both
 * ends of a flow (Istio's workload labels) from the maps alone.
 *
 * As elsewhere, deciding is separate from doing: weft_ep_build() is a pure
 * function of the config and the compiled policy; weft_ep_apply() writes
 * only the entries that differ from what the map holds and deletes the ones
 * whose endpoint is gone, so a reload that changes nothing writes nothing.
 */
#ifndef WEFT_OBS_H
#define WEFT_OBS_H

#include <stddef.h>
#include <stdint.h>

#include "model/model.h"
#include "reconcile/policy.h"
#include "reconcile/services.h"
#include "reconcile/write.h"
#include "weft/abi.h"

struct weft_ep_ent {
	struct weft_addr_key k;
	struct weft_ep_val v;
};

/* The weft_ep entries of cfg, sorted by address (one per address). pol
 * (may be NULL) gives identities and policed flags; the ifindex of each
 * `interface` is looked up now (0 if it does not exist). 0 or -ENOMEM;
 * the caller frees *out. */
int weft_ep_build(const struct weft_model *cfg, const struct weft_pol_state *pol,
		  struct weft_ep_ent **out, size_t *n);

/* Bring weft_ep to want (n entries, sorted). *nops (may be NULL) gets the
 * writes and deletes done. 0 or -errno (err names the map). */
int weft_ep_apply(const struct weft_maps *maps, const struct weft_ep_ent *want, size_t n,
		  uint64_t *nops, char *err, size_t errlen);

#endif /* WEFT_OBS_H */
