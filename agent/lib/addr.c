// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Addresses and the cgroup v2 mount: small helpers shared by every module. */
#include <arpa/inet.h>
#include <errno.h>
#include <mntent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/addr.h"

int weft_ip_parse(const char *text, struct weft_ip *ip)
{
	struct in_addr a4;

	memset(ip, 0, sizeof(*ip));
	if (inet_pton(AF_INET, text, &a4) == 1) {
		ip->a.s6_addr[10] = 0xff;
		ip->a.s6_addr[11] = 0xff;
		memcpy(&ip->a.s6_addr[12], &a4, 4);
		return AF_INET;
	}
	if (inet_pton(AF_INET6, text, &ip->a) == 1)
		return AF_INET6;
	return 0;
}

const char *weft_ip_str(const struct weft_ip *ip, char *buf, size_t len)
{
	if (IN6_IS_ADDR_V4MAPPED(&ip->a)) {
		if (!inet_ntop(AF_INET, &ip->a.s6_addr[12], buf, len))
			snprintf(buf, len, "?");
	} else if (!inet_ntop(AF_INET6, &ip->a, buf, len)) {
		snprintf(buf, len, "?");
	}
	return buf;
}

int weft_sockaddr(const char *text, uint16_t port, bool v4mapped, struct sockaddr_storage *ss,
		  socklen_t *len)
{
	struct weft_ip ip;
	int fam = weft_ip_parse(text, &ip);

	memset(ss, 0, sizeof(*ss));
	if (fam == AF_INET && !v4mapped) {
		struct sockaddr_in *s = (struct sockaddr_in *)ss;

		s->sin_family = AF_INET;
		s->sin_port = htons(port);
		memcpy(&s->sin_addr, &ip.a.s6_addr[12], 4);
		*len = sizeof(*s);
		return AF_INET;
	}
	if (fam) {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;

		s->sin6_family = AF_INET6;
		s->sin6_port = htons(port);
		s->sin6_addr = ip.a;
		*len = sizeof(*s);
		return AF_INET6;
	}
	return -EINVAL;
}

int weft_cgroup2_root(char *buf, size_t len)
{
	struct mntent *m;
	FILE *f = setmntent("/proc/mounts", "r");
	int err = -ENOENT;

	if (!f)
		return -errno;
	while ((m = getmntent(f))) {
		if (strcmp(m->mnt_type, "cgroup2") != 0)
			continue;
		if (snprintf(buf, len, "%s", m->mnt_dir) >= (int)len) {
			err = -ENAMETOOLONG;
			break;
		}
		err = 0;
		break;
	}
	endmntent(f);
	return err;
}

static bool cidr_bit(const struct weft_ip *ip, unsigned int i)
{
	return ip->a.s6_addr[i / 8] & (0x80 >> (i % 8));
}

int weft_cidr_parse(const char *text, struct weft_cidr *c)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash, *end;
	unsigned int bits;
	long n;

	memset(c, 0, sizeof(*c));
	if (strlen(text) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, text);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	c->family = weft_ip_parse(buf, &c->net);
	if (!c->family || (c->family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&c->net.a)))
		return -EINVAL;
	bits = c->family == AF_INET ? 32 : 128;
	n = bits;
	if (slash) {
		errno = 0;
		n = strtol(slash + 1, &end, 10);
		if (!slash[1] || *end || errno || n < 0 || n > (long)bits)
			return -EINVAL;
	}
	c->plen = (uint8_t)(n + (128 - bits));
	for (unsigned int i = c->plen; i < 128; i++)
		if (cidr_bit(&c->net, i))
			return -EDOM;
	return 0;
}

bool weft_cidr_within(const struct weft_cidr *inner, const struct weft_cidr *outer)
{
	if (inner->plen < outer->plen)
		return false;
	for (unsigned int i = 0; i < outer->plen; i++)
		if (cidr_bit(&inner->net, i) != cidr_bit(&outer->net, i))
			return false;
	return true;
}

int weft_listen_parse(const char *text, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_storage tmp;
	char host[64];
	const char *colon, *port;
	unsigned long p;
	char *end;
	size_t hl;

	if (!ss)
		ss = &tmp;
	memset(ss, 0, sizeof(*ss));
	if (text[0] == '[') {
		const char *close = strchr(text, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		hl = close - text - 1;
		if (hl >= sizeof(host))
			return -EINVAL;
		memcpy(host, text + 1, hl);
		host[hl] = 0;
		port = close + 2;
	} else {
		colon = strrchr(text, ':');
		if (!colon || strchr(text, ':') != colon)
			return -EINVAL;
		hl = colon - text;
		if (hl >= sizeof(host))
			return -EINVAL;
		memcpy(host, text, hl);
		host[hl] = 0;
		port = colon + 1;
	}
	if (*port < '0' || *port > '9')
		return -EINVAL;
	errno = 0;
	p = strtoul(port, &end, 10);
	if (*end || errno || p == 0 || p > 65535)
		return -EINVAL;
	if (text[0] == '[') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			return -EINVAL;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(p);
		if (len)
			*len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			return -EINVAL;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(p);
		if (len)
			*len = sizeof(*s4);
	}
	return 0;
}
