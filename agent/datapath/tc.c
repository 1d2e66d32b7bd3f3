// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* datapath/tc: weft's tc programs on the host-side interfaces of policed
 * endpoints, and the rtnetlink link events that re-attach them. */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "datapath/internal.h"
#include "lib/log.h"

/* tc: netlink filters, not links (libbpf 1.1 has no tcx). Ours carry a fixed
 * handle and priority, so a restarted weftd replaces them in place and
 * --cleanup finds them. */
#define WEFT_TC_HANDLE 0x57ef
#define WEFT_TC_PRIO 1

static int tc_detach_one(int ifindex, enum bpf_tc_attach_point point)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = point);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = WEFT_TC_HANDLE, .priority = WEFT_TC_PRIO);
	int ret = bpf_tc_detach(&hook, &opts);

	return ret == -ENOENT || ret == -EINVAL || ret == -ENODEV ? 0 : ret;
}

/* Whether ifindex has a clsact qdisc, asked of rtnetlink (the qdisc at
 * the ingress/clsact parent; echoed, then acknowledged): 1, 0 or -errno.
 * Asking first keeps both of libbpf's failure paths quiet: attaching
 * without the qdisc ("Parent Qdisc doesn't exists") and creating an
 * existing one (the kernel's exclusivity message). */
static int clsact_present(int ifindex)
{
	struct {
		struct nlmsghdr nh;
		struct tcmsg tc;
	} req = {
		.nh = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETQDISC,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_ECHO, .nlmsg_seq = 1 },
		.tc = { .tcm_family = AF_UNSPEC, .tcm_ifindex = ifindex, .tcm_parent = TC_H_CLSACT },
	};
	struct timeval tv = { .tv_sec = 2 };
	char buf[8192] __attribute__((aligned(4)));
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE), found = 0;

	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    send(fd, &req, sizeof(req), 0) < 0)
		goto fail;
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n < 0)
			goto fail;
		for (struct nlmsghdr *nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (size_t)n);
		     nh = NLMSG_NEXT(nh, n)) {
			if (nh->nlmsg_type == NLMSG_ERROR) {
				int e = ((const struct nlmsgerr *)NLMSG_DATA(nh))->error;

				close(fd);
				/* no ingress queue at all: ENOENT (EINVAL on older kernels) */
				if (e == -ENOENT || e == -EINVAL)
					return 0;
				return e ? e : found;
			}
			if (nh->nlmsg_type == RTM_NEWQDISC) {
				const struct tcmsg *tc = NLMSG_DATA(nh);
				int len = (int)nh->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*tc));

				/* the parent may hold a no-op qdisc, or "ingress" */
				for (struct rtattr *a = (struct rtattr *)((char *)tc + NLMSG_ALIGN(sizeof(*tc)));
				     RTA_OK(a, len); a = RTA_NEXT(a, len))
					if (a->rta_type == TCA_KIND && RTA_PAYLOAD(a) >= 7 &&
					    !strncmp(RTA_DATA(a), "clsact", 7))
						found = 1;
			}
		}
	}
fail:
	found = -errno;
	close(fd);
	return found;
}

static int tc_attach_one(int ifindex, enum bpf_tc_attach_point point, int prog_fd)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = point);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = WEFT_TC_HANDLE, .priority = WEFT_TC_PRIO,
			    .prog_fd = prog_fd, .flags = BPF_TC_F_REPLACE);
	int ret = clsact_present(ifindex);

	if (ret < 0)
		return ret;
	if (!ret) {
		ret = bpf_tc_hook_create(&hook);
		if (ret && ret != -EEXIST)	/* made meanwhile by someone else: fine */
			return ret;
	}
	return bpf_tc_attach(&hook, &opts);
}

static bool has_iface(const struct weft_model *cfg, const char *name)
{
	for (size_t i = 0; cfg && cfg->npolicies && i < cfg->nendpoints; i++)
		if (!strcmp(cfg->endpoints[i].interface, name))
			return true;
	return false;
}

static struct weft_tc_status *tc_find(struct weft_datapath *dp, const char *name)
{
	for (size_t i = 0; i < dp->ntc_if; i++)
		if (!strcmp(dp->tc_if[i].interface, name))
			return &dp->tc_if[i];
	return NULL;
}

/* Both programs on one interface. 0, -ENODEV (gone meanwhile) or -errno. */
static int tc_attach_both(struct weft_datapath *dp, int ifindex)
{
	int ret = tc_attach_one(ifindex, BPF_TC_EGRESS, bpf_program__fd(dp->skel->progs.weft_to_pod));

	if (!ret)
		ret = tc_attach_one(ifindex, BPF_TC_INGRESS,
				    bpf_program__fd(dp->skel->progs.weft_from_pod));
	return ret;
}

static size_t tc_count(const struct weft_datapath *dp)
{
	size_t n = 0;

	for (size_t i = 0; i < dp->ntc_if; i++)
		n += dp->tc_if[i].ifindex > 0;
	return n;
}

int weft_datapath_tc_sync(struct weft_datapath *dp, const struct weft_model *old,
			  const struct weft_model *cfg, char *err, size_t errlen)
{
	size_t n = cfg->npolicies ? cfg->nendpoints : 0, k = 0;
	struct weft_tc_status *want = calloc(n ? n : 1, sizeof(*want));
	int ret = 0;

	if (!want) {
		snprintf(err, errlen, "datapath: tc: out of memory");
		return -ENOMEM;
	}
	/* Interfaces that no longer carry a policed endpoint: of the old
	 * config, and of what this weftd attached (Kubernetes mode has no old
	 * config with the endpoints). */
	for (size_t i = 0; old && old->npolicies && i < old->nendpoints; i++) {
		const char *name = old->endpoints[i].interface;
		int ifindex = name[0] ? (int)if_nametoindex(name) : 0;

		if (!ifindex || has_iface(cfg, name) || tc_find(dp, name))
			continue;	/* kept, or detached in the next loop */
		tc_detach_one(ifindex, BPF_TC_EGRESS);
		tc_detach_one(ifindex, BPF_TC_INGRESS);
	}
	for (size_t i = 0; i < dp->ntc_if; i++) {
		const struct weft_tc_status *t = &dp->tc_if[i];

		if (t->ifindex > 0 && !has_iface(cfg, t->interface) &&
		    (int)if_nametoindex(t->interface) == t->ifindex) {
			tc_detach_one(t->ifindex, BPF_TC_EGRESS);
			tc_detach_one(t->ifindex, BPF_TC_INGRESS);
		}
	}
	for (size_t i = 0; i < n; i++) {
		const struct weft_endpoint *ep = &cfg->endpoints[i];
		struct weft_tc_status *t = &want[k];
		bool dup = false;

		if (!ep->interface[0])
			continue;
		for (size_t j = 0; j < k && !dup; j++)
			dup = !strcmp(want[j].interface, ep->interface);
		if (dup)
			continue;
		snprintf(t->interface, sizeof(t->interface), "%s", ep->interface);
		snprintf(t->endpoint, sizeof(t->endpoint), "%s", ep->name);
		snprintf(t->ns, sizeof(t->ns), "%s", ep->ns);
		k++;
		t->ifindex = (int)if_nametoindex(ep->interface);
		if (!t->ifindex) {
			/* not there (yet): weft_datapath_tc_link attaches it */
			if (!tc_find(dp, ep->interface))	/* said once */
				weft_log(LOG_INFO, "datapath: tc: %s (endpoint %s/%s) does not exist yet: attached when it appears",
					 t->interface, ep->ns, ep->name);
			continue;
		}
		ret = tc_attach_both(dp, t->ifindex);
		if (ret == -ENODEV) {
			t->ifindex = 0;	/* gone meanwhile: the link event will tell */
			ret = 0;
			continue;
		}
		if (ret) {
			t->ifindex = 0;
			snprintf(err, errlen, "datapath: attach tc policy to %s (endpoints[%zu]): %s",
				 ep->interface, i, strerror(-ret));
			break;
		}
	}
	free(dp->tc_if);
	dp->tc_if = want;
	dp->ntc_if = k;
	dp->ntc = tc_count(dp);
	return ret;
}

int weft_datapath_tc_link(struct weft_datapath *dp, int ifindex, const char *name, bool gone)
{
	struct weft_tc_status *t = dp ? tc_find(dp, name) : NULL;
	int ret;

	if (!t)
		return 0;	/* not an interface of a policed endpoint */
	if (gone) {
		if (t->ifindex > 0 && t->ifindex == ifindex) {
			t->ifindex = 0;
			dp->ntc = tc_count(dp);
			weft_log(LOG_INFO, "datapath: tc: %s (endpoint %s/%s) is gone: attached again when it reappears",
				 name, t->ns, t->endpoint);
		}
		return 0;
	}
	if (t->ifindex == ifindex)
		return 0;	/* attached already; another change of the link */
	ret = tc_attach_both(dp, ifindex);
	if (ret == -ENODEV)
		return 0;	/* gone again before we got to it */
	if (ret) {
		weft_log(LOG_ERROR, "datapath: tc: attach policy to %s (ifindex %d, endpoint %s/%s): %s",
			 name, ifindex, t->ns, t->endpoint, strerror(-ret));
		return ret;
	}
	weft_log(LOG_INFO, "datapath: tc: policy attached to %s (ifindex %d, endpoint %s/%s)%s", name,
		 ifindex, t->ns, t->endpoint, t->ifindex ? ": re-created interface" : "");
	t->ifindex = ifindex;
	dp->ntc = tc_count(dp);
	return 0;
}

int weft_datapath_tc_refresh(struct weft_datapath *dp)
{
	int ret = 0;

	for (size_t i = 0; dp && i < dp->ntc_if; i++) {
		struct weft_tc_status *t = &dp->tc_if[i];
		int ifindex = (int)if_nametoindex(t->interface);
		int r = 0;

		if (ifindex)
			r = weft_datapath_tc_link(dp, ifindex, t->interface, false);
		else if (t->ifindex > 0)
			r = weft_datapath_tc_link(dp, t->ifindex, t->interface, true);

		if (r && !ret)
			ret = r;
	}
	return ret;
}

size_t weft_datapath_tc_status(const struct weft_datapath *dp, struct weft_tc_status *out,
			       size_t max)
{
	for (size_t i = 0; i < dp->ntc_if && i < max; i++)
		out[i] = dp->tc_if[i];
	return dp->ntc_if;
}

int weft_link_watch_open(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = 1u << (RTNLGRP_LINK - 1) };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	return fd;
}

int weft_link_watch_read(int fd, struct weft_datapath *dp)
{
	char buf[32768] __attribute__((aligned(4)));

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n < 0 && errno == ENOBUFS) {
			/* Events were lost: ask every interface again. */
			weft_log(LOG_WARN, "datapath: tc: link events lost (ENOBUFS): checking every interface");
			weft_datapath_tc_refresh(dp);
			continue;
		}
		if (n < 0)
			return -errno;
		for (struct nlmsghdr *nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (size_t)n);
		     nh = NLMSG_NEXT(nh, n)) {
			const struct ifinfomsg *ifi = NLMSG_DATA(nh);
			int len = (int)nh->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*ifi));
			char name[IF_NAMESIZE] = "";

			if ((nh->nlmsg_type != RTM_NEWLINK && nh->nlmsg_type != RTM_DELLINK) || len < 0)
				continue;
			for (struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len))
				if (a->rta_type == IFLA_IFNAME)
					snprintf(name, sizeof(name), "%.*s", (int)RTA_PAYLOAD(a),
						 (const char *)RTA_DATA(a));
			if (name[0])
				weft_datapath_tc_link(dp, ifi->ifi_index, name,
						      nh->nlmsg_type == RTM_DELLINK);
		}
	}
}

void weft_datapath_tc_detach(const struct weft_model *cfg)
{
	for (size_t i = 0; i < cfg->nendpoints; i++) {
		const char *name = cfg->endpoints[i].interface;
		int ifindex = name[0] ? (int)if_nametoindex(name) : 0;

		if (!ifindex)
			continue;
		tc_detach_one(ifindex, BPF_TC_EGRESS);
		tc_detach_one(ifindex, BPF_TC_INGRESS);
	}
}
