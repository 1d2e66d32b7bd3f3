// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Addresses and the cgroup v2 mount: small helpers shared by every module. */
#include <arpa/inet.h>
#include <errno.h>
#include <mntent.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "config.h"

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
