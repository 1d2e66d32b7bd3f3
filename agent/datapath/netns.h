/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * datapath/netns: which network namespace the peer of a host-side veth is
 * in, by its cookie (what BPF programs see: bpf_get_netns_cookie).
 *
 * RTM_GETLINK gives the peer's netns id, in ours (IFLA_LINK_NETNSID); the
 * namespace files of /run/netns, /var/run/netns (ip netns, CNI) and then
 * of /proc/PID/ns/net are asked for their id (RTM_GETNSID) until each is
 * found; a socket made inside the match gives its cookie (SO_NETNS_COOKIE).
 */
#ifndef WEFT_DATAPATH_NETNS_H
#define WEFT_DATAPATH_NETNS_H

#include <stddef.h>
#include <stdint.h>

/* cookies[i] (of n): the cookie of the netns the peer of interface
 * names[i] is in; 0 when names[i] is "" or missing, has no peer in another
 * netns, or that netns has no namespace file to be found by. Enters other
 * network namespaces for a moment (the calling thread only). 0 or -errno
 * (no netlink socket, no file of our own netns). */
int weft_netns_peer_cookies(const char *const *names, size_t n, uint64_t *cookies);

#endif /* WEFT_DATAPATH_NETNS_H */
