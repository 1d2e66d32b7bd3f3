/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* addr: addresses and prefixes as weft holds them, and the cgroup v2 mount. */
#ifndef WEFT_LIB_ADDR_H
#define WEFT_LIB_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

/* An address as weft stores it: 16 bytes, IPv4 v4-mapped (::ffff:a.b.c.d). */
struct weft_ip {
	struct in6_addr a;
};

/* A prefix: addr with the first plen bits (of 128; IPv4 is v4-mapped, so
 * 10.0.0.0/8 is plen 104) significant, the others zero. */
struct weft_cidr {
	struct weft_ip net;
	uint8_t plen;			/* 0..128, in the 16-byte form */
	int family;			/* AF_INET or AF_INET6 */
};

/* Parse "10.0.0.1" or "fd00::1" into a v4-mapped/IPv6 weft_ip; returns the
 * family (AF_INET, AF_INET6) or 0 if the text is not an address. */
int weft_ip_parse(const char *text, struct weft_ip *ip);

/* Parse "10.0.0.0/8" or "fd00::/64" (a bare address is /32 or /128). 0, or
 * -EINVAL (not a prefix), -EDOM (host bits set). */
int weft_cidr_parse(const char *text, struct weft_cidr *c);

/* Whether inner lies within outer (same or longer prefix). */
bool weft_cidr_within(const struct weft_cidr *inner, const struct weft_cidr *outer);

/* Format an address the way people write it (IPv4 dotted, IPv6 compressed). */
const char *weft_ip_str(const struct weft_ip *ip, char *buf, size_t len);

/* Fill a socket address for text:port (port in host order). v4mapped turns
 * an IPv4 address into ::ffff:a.b.c.d for an AF_INET6 socket. Returns the
 * family or -EINVAL. */
int weft_sockaddr(const char *text, uint16_t port, bool v4mapped, struct sockaddr_storage *ss,
		  socklen_t *len);

/* The cgroup v2 mount point, found in /proc/mounts. 0 or -errno. */
int weft_cgroup2_root(char *buf, size_t len);

/* "127.0.0.1:9465" or "[::1]:9465" into a socket address (either may be
 * NULL: only check). 0 or -EINVAL. */
int weft_listen_parse(const char *text, struct sockaddr_storage *ss, socklen_t *len);

#endif /* WEFT_LIB_ADDR_H */
