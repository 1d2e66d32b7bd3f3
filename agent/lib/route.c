// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* route: the node's route to an address, asked of rtnetlink (see route.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <linux/rtnetlink.h>

#include "lib/nl.h"
#include "lib/route.h"

#define ROUTE_TIMEOUT_MS 1000

int weft_route_ifname(const struct weft_ip *ip, char *name, size_t len)
{
	bool v4 = IN6_IS_ADDR_V4MAPPED(&ip->a);
	struct rtmsg rt = { .rtm_family = v4 ? AF_INET : AF_INET6, .rtm_dst_len = v4 ? 32 : 128 };
	char buf[WEFT_NL_REQSIZE] __attribute__((aligned(4))), ifn[IF_NAMESIZE];
	struct nlmsghdr *req = weft_nl_request(buf, RTM_GETROUTE, 0, &rt, sizeof(rt));
	struct weft_nl_route r = { 0 };
	int ret;

	mnl_attr_put(req, RTA_DST, v4 ? 4 : 16, v4 ? &ip->a.s6_addr[12] : ip->a.s6_addr);
	ret = weft_nl_query(req, ROUTE_TIMEOUT_MS, weft_nl_parse_route, &r);
	if (ret)
		return ret;
	if (!r.found || r.oif <= 0 || r.gateway || !if_indextoname((unsigned int)r.oif, ifn))
		return -ENOENT;
	snprintf(name, len, "%s", ifn);
	return 0;
}
