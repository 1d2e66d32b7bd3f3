// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* datapath/netns: the netns of a veth's peer, by cookie (see netns.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/net_namespace.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include "datapath/netns.h"
#include "lib/log.h"
#include "lib/nl.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

#define NETNS_NL_TIMEOUT_MS 2000

static void take_link_nsid(const struct weft_nl_link *l, void *nsid)
{
	*(int32_t *)nsid = l->link_nsid;
}

/* The nsid (in our netns) of the netns an interface's peer is in: its
 * IFLA_LINK_NETNSID; -1 for an interface without a peer elsewhere (or on
 * any error). */
static int32_t peer_nsid(struct weft_nl *nl, int ifindex)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex };
	char buf[WEFT_NL_REQSIZE] __attribute__((aligned(4)));
	int32_t nsid = -1;
	struct weft_nl_links answer = { take_link_nsid, &nsid };

	if (weft_nl_ask(nl, weft_nl_request(buf, RTM_GETLINK, 0, &ifi, sizeof(ifi)),
			weft_nl_parse_links, &answer))
		return -1;
	return nsid;
}

/* The nsid (in our netns) of the netns behind an open namespace file; -1
 * if it has none (or on any error). */
static int32_t fd_nsid(struct weft_nl *nl, int nsfd)
{
	struct rtgenmsg g = { .rtgen_family = AF_UNSPEC };
	char buf[WEFT_NL_REQSIZE] __attribute__((aligned(4)));
	struct nlmsghdr *req = weft_nl_request(buf, RTM_GETNSID, 0, &g, sizeof(g));
	int32_t nsid = -1;

	mnl_attr_put_u32(req, NETNSA_FD, (uint32_t)nsfd);
	if (weft_nl_ask(nl, req, weft_nl_parse_nsid, &nsid))
		return -1;
	return nsid;
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
static int try_file(const char *path, struct weft_nl *nl, int self, struct want *w, size_t nw)
{
	int nsfd = open(path, O_RDONLY | O_CLOEXEC), found = 0;
	int32_t nsid;

	if (nsfd < 0)
		return 0;
	if ((nsid = fd_nsid(nl, nsfd)) >= 0)
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
static void resolve(struct weft_nl *nl, int self, struct want *w, size_t nw)
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
				left -= try_file(path, nl, self, w, nw);
		closedir(d);
	}
	if (left && (d = opendir("/proc"))) {
		struct dirent *e;

		while (left && (e = readdir(d)))
			if (e->d_name[0] >= '1' && e->d_name[0] <= '9' &&
			    snprintf(path, sizeof(path), "/proc/%s/ns/net", e->d_name) < (int)sizeof(path))
				left -= try_file(path, nl, self, w, nw);
		closedir(d);
	}
}

int weft_netns_peer_cookies(const char *const *names, size_t n, uint64_t *cookies)
{
	struct want *w = calloc(n + 1, sizeof(*w));
	int32_t *nsid = calloc(n + 1, sizeof(*nsid));
	struct weft_nl nl = { 0 };
	int self = -1, ret;
	size_t nw = 0;

	memset(cookies, 0, n * sizeof(*cookies));
	if (!w || !nsid) {
		ret = -ENOMEM;
		goto out;
	}
	ret = weft_nl_open(&nl, NETNS_NL_TIMEOUT_MS);
	if (ret)
		goto out;
	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0) {
		ret = -errno;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		int ifindex = names[i][0] ? (int)if_nametoindex(names[i]) : 0;
		size_t j;

		nsid[i] = ifindex ? peer_nsid(&nl, ifindex) : -1;
		if (nsid[i] < 0)
			continue;
		for (j = 0; j < nw && w[j].nsid != nsid[i]; j++)
			;
		if (j == nw)
			w[nw++].nsid = nsid[i];
	}
	if (nw)
		resolve(&nl, self, w, nw);
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < nw && nsid[i] >= 0; j++)
			if (w[j].nsid == nsid[i])
				cookies[i] = w[j].cookie;
out:
	weft_nl_close(&nl);
	if (self >= 0)
		close(self);
	free(w);
	free(nsid);
	return ret;
}
