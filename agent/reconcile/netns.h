/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * netns: the pod network namespace of each endpoint, in weft_ns_ep, so
 * connect/sendmsg of an unbound socket (the usual client) can be judged by
 * egress policy: its source address is not chosen yet, its netns is known.
 *
 * An endpoint's netns is the one its host-side `interface` (a veth) has its
 * peer in (found by datapath/netns.h). An endpoint whose interface is
 * missing, or whose netns cannot be found, is left out: its unbound
 * sockets are judged in tc, as before.
 */
#ifndef WEFT_NETNS_H
#define WEFT_NETNS_H

#include <stddef.h>
#include <stdint.h>

#include "model/model.h"
#include "reconcile/services.h"
#include "reconcile/write.h"
#include "weft/abi.h"

struct weft_ns_ent {
	uint64_t cookie;
	struct weft_ns_ep v;
};

/* The weft_ns_ep entries of cfg's endpoints, sorted by the cookie's bytes. 0 or -errno;
 * the caller frees *out. Enters other network namespaces for a moment (the
 * calling thread only). */
int weft_ns_ep_build(const struct weft_model *cfg, struct weft_ns_ent **out, size_t *n);

/* Bring weft_ns_ep to want (n entries, sorted): writes what differs,
 * deletes what is gone. *nops (may be NULL) gets the count. 0 or -errno
 * (err names the map). */
int weft_ns_ep_apply(const struct weft_maps *maps, const struct weft_ns_ent *want, size_t n,
		     uint64_t *nops, char *err, size_t errlen);

#endif /* WEFT_NETNS_H */
