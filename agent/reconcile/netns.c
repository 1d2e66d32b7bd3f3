// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* netns: each endpoint's pod network namespace, by the peer of its
 * host-side veth, into weft_ns_ep (see abi.h). */
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <linux/net_namespace.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "lib/log.h"
#include "reconcile/netns.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

/* One request, one answer; the answer's attributes of type want into *val
 * (an s32). 0, -ENOENT (no such attribute) or -errno. */
static int rtnl_ask(int fd, struct nlmsghdr *req, size_t attr_off, unsigned short want,
		    int32_t *val)
{
	char buf[8192] __attribute__((aligned(4)));
	ssize_t n;

	if (send(fd, req, req->nlmsg_len, 0) < 0)
		return -errno;
	n = recv(fd, buf, sizeof(buf), 0);
	if (n < 0)
		return -errno;
	for (struct nlmsghdr *nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (size_t)n);
	     nh = NLMSG_NEXT(nh, n)) {
		int len;

		if (nh->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = NLMSG_DATA(nh);

			return e->error ? e->error : -ENOENT;
		}
		len = (int)nh->nlmsg_len - (int)NLMSG_LENGTH(NLMSG_ALIGN(attr_off));
		for (struct rtattr *a = (struct rtattr *)((char *)NLMSG_DATA(nh) + NLMSG_ALIGN(attr_off));
		     RTA_OK(a, len); a = RTA_NEXT(a, len))
			if (a->rta_type == want && RTA_PAYLOAD(a) >= sizeof(*val)) {
				memcpy(val, RTA_DATA(a), sizeof(*val));
				return 0;
			}
	}
	return -ENOENT;
}

/* The nsid (in our netns) of the netns an interface's peer is in: its
 * IFLA_LINK_NETNSID. -ENOENT for an interface without a peer elsewhere. */
static int peer_nsid(int fd, int ifindex, int32_t *nsid)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
	} req = { 0 };

	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.ifi));
	req.nh.nlmsg_type = RTM_GETLINK;
	req.nh.nlmsg_flags = NLM_F_REQUEST;
	req.ifi.ifi_family = AF_UNSPEC;
	req.ifi.ifi_index = ifindex;
	return rtnl_ask(fd, &req.nh, sizeof(struct ifinfomsg), IFLA_LINK_NETNSID, nsid);
}

/* The nsid (in our netns) of the netns behind an open namespace file. */
static int fd_nsid(int fd, int nsfd, int32_t *nsid)
{
	struct {
		struct nlmsghdr nh;
		struct rtgenmsg g;
		char pad[3];
		struct rtattr a;
		uint32_t fd;
	} req = { 0 };

	req.nh.nlmsg_len = sizeof(req);
	req.nh.nlmsg_type = RTM_GETNSID;
	req.nh.nlmsg_flags = NLM_F_REQUEST;
	req.g.rtgen_family = AF_UNSPEC;
	req.a.rta_type = NETNSA_FD;
	req.a.rta_len = RTA_LENGTH(sizeof(req.fd));
	req.fd = (uint32_t)nsfd;
	return rtnl_ask(fd, &req.nh, sizeof(struct rtgenmsg), NETNSA_NSID, nsid);
}

/* The cookie of the netns behind nsfd: a socket made inside it. The
 * calling thread enters it and comes back to self (our netns). */
static int ns_cookie(int nsfd, int self, uint64_t *cookie)
{
	socklen_t len = sizeof(*cookie);
	int s, ret = 0;

	if (setns(nsfd, CLONE_NEWNET))
		return -errno;
	s = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0 || getsockopt(s, SOL_SOCKET, SO_NETNS_COOKIE, cookie, &len))
		ret = -errno;
	if (s >= 0)
		close(s);
	if (setns(self, CLONE_NEWNET)) {
		weft_log(LOG_ERROR, "netns: cannot return to weftd's own netns: %s", strerror(errno));
		abort();	/* every later netlink and map write would go astray */
	}
	return ret;
}

struct want {
	int32_t nsid;
	uint64_t cookie;	/* 0 until found */
};

/* Look at one namespace file: if its nsid is wanted, take its cookie.
 * Returns how many wanted nsids it resolved (0 or 1). */
static int try_file(const char *path, int rtnl, int self, struct want *w, size_t nw)
{
	int nsfd = open(path, O_RDONLY | O_CLOEXEC), found = 0;
	int32_t nsid;

	if (nsfd < 0)
		return 0;
	if (fd_nsid(rtnl, nsfd, &nsid) == 0 && nsid >= 0)
		for (size_t i = 0; i < nw; i++)
			if (w[i].nsid == nsid && !w[i].cookie && ns_cookie(nsfd, self, &w[i].cookie) == 0) {
				found = 1;
				break;
			}
	close(nsfd);
	return found;
}

/* Resolve the wanted nsids to cookies: named namespaces first (ip netns,
 * CNI: /run/netns, /var/run/netns), then every process's (/proc). */
static void resolve(int rtnl, int self, struct want *w, size_t nw)
{
	static const char *const dirs[] = { "/run/netns", "/var/run/netns" };
	size_t left = nw;
	char path[512];
	DIR *d;

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]) && left; i++) {
		struct dirent *e;

		if (!(d = opendir(dirs[i])))
			continue;
		while (left && (e = readdir(d)))
			if (e->d_name[0] != '.' &&
			    snprintf(path, sizeof(path), "%s/%s", dirs[i], e->d_name) < (int)sizeof(path))
				left -= try_file(path, rtnl, self, w, nw);
		closedir(d);
	}
	if (left && (d = opendir("/proc"))) {
		struct dirent *e;

		while (left && (e = readdir(d)))
			if (e->d_name[0] >= '1' && e->d_name[0] <= '9' &&
			    snprintf(path, sizeof(path), "/proc/%s/ns/net", e->d_name) < (int)sizeof(path))
				left -= try_file(path, rtnl, self, w, nw);
		closedir(d);
	}
}

/* The order weft_map_sync wants: the key's bytes. */
static int ent_cmp(const void *a, const void *b)
{
	return memcmp(&((const struct weft_ns_ent *)a)->cookie, &((const struct weft_ns_ent *)b)->cookie,
		      sizeof(uint64_t));
}

int weft_ns_ep_build(const struct weft_model *cfg, struct weft_ns_ent **out, size_t *n)
{
	struct want *w = calloc(cfg->nendpoints + 1, sizeof(*w));
	int32_t *ep_nsid = calloc(cfg->nendpoints + 1, sizeof(*ep_nsid));
	struct weft_ns_ent *e = calloc(cfg->nendpoints + 1, sizeof(*e));
	int rtnl = -1, self = -1, ret = 0;
	size_t nw = 0, m = 0;

	*out = NULL;
	*n = 0;
	if (!w || !ep_nsid || !e) {
		ret = -ENOMEM;
		goto out;
	}
	rtnl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (rtnl < 0 || self < 0) {
		ret = -errno;
		goto out;
	}
	for (size_t i = 0; i < cfg->nendpoints; i++) {
		const char *ifn = cfg->endpoints[i].interface;
		int ifindex = ifn[0] ? (int)if_nametoindex(ifn) : 0;
		size_t j;

		ep_nsid[i] = -1;
		if (!ifindex || peer_nsid(rtnl, ifindex, &ep_nsid[i]) || ep_nsid[i] < 0) {
			ep_nsid[i] = -1;
			continue;
		}
		for (j = 0; j < nw && w[j].nsid != ep_nsid[i]; j++)
			;
		if (j == nw)
			w[nw++].nsid = ep_nsid[i];
	}
	if (nw)
		resolve(rtnl, self, w, nw);
	/* One entry per netns, with the endpoint address of each family. */
	for (size_t j = 0; j < nw; j++) {
		if (!w[j].cookie)
			continue;
		e[m].cookie = w[j].cookie;
		for (size_t i = 0; i < cfg->nendpoints; i++) {
			const struct weft_endpoint *ep = &cfg->endpoints[i];

			if (ep_nsid[i] != w[j].nsid)
				continue;
			memcpy(ep->family == AF_INET ? e[m].v.addr4 : e[m].v.addr6, &ep->ip.a, 16);
		}
		m++;
	}
	qsort(e, m, sizeof(*e), ent_cmp);
	*out = e;
	*n = m;
	e = NULL;
out:
	if (rtnl >= 0)
		close(rtnl);
	if (self >= 0)
		close(self);
	free(w);
	free(ep_nsid);
	free(e);
	return ret;
}

int weft_ns_ep_apply(const struct weft_maps *maps, const struct weft_ns_ent *want, size_t n,
		     uint64_t *nops, char *err, size_t errlen)
{
	_Static_assert(offsetof(struct weft_ns_ent, v) == sizeof(uint64_t), "value right after the key");
	return weft_map_sync(maps->fd[WEFT_M_NS_EP], weft_map_name(WEFT_M_NS_EP), want, n, sizeof(*want),
			     sizeof(want->cookie), sizeof(want->v),
			     " (more pod namespaces than datapath.max_endpoints)", nops, err, errlen);
}
