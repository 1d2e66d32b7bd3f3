/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* route: which interface this network namespace routes an address through. */
#ifndef WEFT_LIB_ROUTE_H
#define WEFT_LIB_ROUTE_H

#include <stddef.h>

#include "lib/addr.h"

/* The output interface of the route to ip (RTM_GETROUTE in the caller's
 * netns) into name: 0, or -ENOENT when the route goes through a gateway
 * (for the Kubernetes source: not a pod of this node) or names no
 * interface, or -errno (no route: -ENETUNREACH). Of the shape
 * weft_k8s_ifname_fn. */
int weft_route_ifname(const struct weft_ip *ip, char *name, size_t len);

#endif /* WEFT_LIB_ROUTE_H */
