/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* lb: selection tables for a service port's backends. Pure functions. */
#ifndef WEFT_LB_H
#define WEFT_LB_H

#include <stddef.h>
#include <stdint.h>

#include "model/model.h"
#include "weft/abi.h"

/* Largest table for WEFT_LB_RANDOM and WEFT_LB_ROUND_ROBIN. Weights are
 * reduced by their gcd; a sum above this is scaled down (largest remainder,
 * every backend keeps at least one slot). */
#define WEFT_LB_WEIGHTED_MAX 4096

/* Maglev table size for n backends: the smallest prime of a fixed list that
 * is at least 100 * n (<= 1% reshuffle), capped at WEFT_MAX_SLOTS_PER_SVC. */
uint32_t weft_lb_maglev_size(size_t nbackends);

/*
 * Build the selection table of one service port.
 *
 * be[0..nbe): the backends (addr, port, weight, idx); weights >= 1.
 * old[0..nold): the table currently in the maps, as backend idx values, or
 *	NULL. Maglev uses it so that removing backends moves only the clients of
 *	the removed ones: when the new backend set is the old one minus some
 *	backends (same weights), every slot whose backend stays keeps it, and
 *	only the freed slots get the fresh Maglev table's choice.
 *
 * On success *out is a malloc'ed array of *nout backend idx values (the
 * caller frees it); nbe == 0 gives an empty table. Returns 0 or -errno
 * (-EINVAL for a bad algorithm or a zero weight, -E2BIG for too many backends).
 *
 * WEFT_LB_RANDOM and WEFT_LB_ROUND_ROBIN share one table in which each
 * backend appears in proportion to its weight, interleaved smoothly
 * (nginx's smooth weighted round robin order), so round robin is even.
 * WEFT_LB_MAGLEV builds a weighted Maglev table of weft_lb_maglev_size(nbe)
 * slots; a backend's permutation depends only on its address and port.
 */
int weft_lb_build(uint8_t lb, const struct weft_backend *be, size_t nbe,
		  const uint32_t *old, size_t nold, uint32_t **out, size_t *nout);

#endif /* WEFT_LB_H */
