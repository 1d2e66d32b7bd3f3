/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * redir: the switches of the same-node socket redirect, written into the
 * maps: datapath.redirect into weft_redir_cfg, and the endpoints with
 * `redirect: false` into weft_redir_off. Called at start and on every
 * reload; the BPF side reads them on every message, so switching off takes
 * effect on established connections at once (their next message takes the
 * stack; no byte is lost or reordered, see bpf/lib/redir.h).
 */
#ifndef WEFT_REDIR_H
#define WEFT_REDIR_H

#include <stddef.h>

#include "model/model.h"
#include "reconcile/services.h"

/* Bring weft_redir_off and weft_redir_cfg to cfg. 0 or -errno (err filled). */
int weft_redir_apply(const struct weft_maps *maps, const struct weft_model *cfg, char *err,
		     size_t errlen);

#endif /* WEFT_REDIR_H */
