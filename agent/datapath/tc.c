// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* datapath/tc: weft's tc programs on the host-side interfaces of policed
 * endpoints, and the rtnetlink link events that re-attach them. */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "datapath/internal.h"
#include "lib/log.h"
#include "lib/nl.h"

/* tc: netlink filters, not links (libbpf 1.1 has no tcx). Ours carry a fixed
 * handle and priority, so a restarted weftd replaces them in place and
 * --cleanup finds them. */
#define WEFT_TC_HANDLE 0x57ef
#define WEFT_TC_PRIO 1
#define TC_NL_TIMEOUT_MS 2000

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
	struct tcmsg tc = { .tcm_family = AF_UNSPEC, .tcm_ifindex = ifindex, .tcm_parent = TC_H_CLSACT };
	char buf[WEFT_NL_REQSIZE] __attribute__((aligned(4)));
	struct weft_nl_qdisc q = { 0 };
	int ret = weft_nl_query(weft_nl_request(buf, RTM_GETQDISC, NLM_F_ECHO, &tc, sizeof(tc)),
				TC_NL_TIMEOUT_MS, weft_nl_parse_qdisc, &q);

	/* no ingress queue at all: ENOENT (EINVAL on older kernels); the
	 * parent may hold a no-op qdisc, or "ingress" */
	if (ret == -ENOENT || ret == -EINVAL)
		return 0;
	return ret ? ret : !strcmp(q.kind, "clsact");
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

/* Detach ours from an interface if it is still the one we attached. */
static void tc_detach_both(const struct weft_tc_status *t)
{
	if (t->ifindex > 0 && (int)if_nametoindex(t->interface) == t->ifindex) {
		tc_detach_one(t->ifindex, BPF_TC_EGRESS);
		tc_detach_one(t->ifindex, BPF_TC_INGRESS);
	}
}

int weft_datapath_tc_want(struct weft_datapath *dp, const struct weft_tc_status *want, bool on,
			  char *err, size_t errlen)
{
	struct weft_tc_status *t = tc_find(dp, want->interface);
	int ret;

	if (!on) {
		if (!t)
			return 0;
		tc_detach_both(t);
		*t = dp->tc_if[--dp->ntc_if];
		dp->ntc = tc_count(dp);
		return 0;
	}
	if (!t) {
		t = realloc(dp->tc_if, (dp->ntc_if + 1) * sizeof(*t));
		if (!t) {
			snprintf(err, errlen, "datapath: tc: out of memory");
			return -ENOMEM;
		}
		dp->tc_if = t;
		t = &dp->tc_if[dp->ntc_if++];
		memset(t, 0, sizeof(*t));
		snprintf(t->interface, sizeof(t->interface), "%s", want->interface);
	}
	snprintf(t->endpoint, sizeof(t->endpoint), "%s", want->endpoint);
	snprintf(t->ns, sizeof(t->ns), "%s", want->ns);
	if (t->ifindex > 0 && (int)if_nametoindex(t->interface) == t->ifindex)
		return 0;	/* attached already */
	t->ifindex = (int)if_nametoindex(t->interface);
	if (!t->ifindex) {
		/* not there (yet): weft_datapath_tc_link attaches it */
		weft_log(LOG_INFO, "datapath: tc: %s (endpoint %s/%s) does not exist yet: attached when it appears",
			 t->interface, t->ns, t->endpoint);
		return 0;
	}
	ret = tc_attach_both(dp, t->ifindex);
	if (ret == -ENODEV)
		ret = 0;	/* gone meanwhile: the link event will tell */
	if (ret)
		snprintf(err, errlen, "datapath: attach tc policy to %s (endpoint %s/%s): %s",
			 t->interface, t->ns, t->endpoint, strerror(-ret));
	if (ret || !if_nametoindex(t->interface))
		t->ifindex = 0;
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
	return weft_nl_listen(RTNLGRP_LINK);
}

static void link_event(const struct weft_nl_link *l, void *dp)
{
	if (l->name[0])
		weft_datapath_tc_link(dp, l->ifindex, l->name, l->deleted);
}

int weft_link_watch_read(int fd, struct weft_datapath *dp)
{
	char buf[WEFT_NL_BUFSIZE] __attribute__((aligned(4)));
	struct weft_nl_links events = { link_event, dp };

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
		if (weft_nl_parse_links(buf, (size_t)n, 0, 0, &events) < 0) {
			/* The rest of the datagram is unread: as if lost. */
			weft_log(LOG_WARN, "datapath: tc: malformed link event: checking every interface");
			weft_datapath_tc_refresh(dp);
		}
	}
}

void weft_datapath_tc_detach(const char *const *ifnames, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int ifindex = ifnames[i][0] ? (int)if_nametoindex(ifnames[i]) : 0;

		if (!ifindex)
			continue;
		tc_detach_one(ifindex, BPF_TC_EGRESS);
		tc_detach_one(ifindex, BPF_TC_INGRESS);
	}
}
