// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* nl: rtnetlink over libmnl: sockets, one request and its answers, and the
 * parsers of the messages weft reads (see nl.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <linux/net_namespace.h>
#include <linux/rtnetlink.h>

#include "lib/nl.h"

/* A request that is not a dump is answered in a datagram or two (the
 * answer, the ack): more than this many is a confused peer. */
#define ASK_MAX_DATAGRAMS 16

int weft_nl_open(struct weft_nl *nl, unsigned int timeout_ms)
{
	struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
	int ret;

	memset(nl, 0, sizeof(*nl));
	nl->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl->sock)
		return -errno;
	if (setsockopt(mnl_socket_get_fd(nl->sock), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		weft_nl_close(nl);
		return ret;
	}
	nl->portid = mnl_socket_get_portid(nl->sock);
	return 0;
}

void weft_nl_close(struct weft_nl *nl)
{
	if (!nl || !nl->sock)
		return;
	mnl_socket_close(nl->sock);
	nl->sock = NULL;
}

struct nlmsghdr *weft_nl_request(void *buf, uint16_t type, uint16_t flags, const void *hdr,
				 size_t hdrlen)
{
	struct nlmsghdr *nh = mnl_nlmsg_put_header(buf);

	nh->nlmsg_type = type;
	nh->nlmsg_flags = NLM_F_REQUEST | flags;
	memcpy(mnl_nlmsg_put_extra_header(nh, hdrlen), hdr, hdrlen);
	return nh;
}

int weft_nl_ask(struct weft_nl *nl, struct nlmsghdr *req, weft_nl_parse_fn parse, void *out)
{
	char buf[WEFT_NL_BUFSIZE] __attribute__((aligned(4)));

	req->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	req->nlmsg_seq = ++nl->seq;
	if (mnl_socket_sendto(nl->sock, req, req->nlmsg_len) < 0)
		return -errno;
	for (int i = 0; i < ASK_MAX_DATAGRAMS; i++) {
		ssize_t n = mnl_socket_recvfrom(nl->sock, buf, sizeof(buf));
		int ret;

		if (n < 0)
			return -errno;
		ret = parse(buf, (size_t)n, req->nlmsg_seq, nl->portid, out);
		if (ret == -EPROTO)
			continue;	/* a late answer to an earlier request that timed out */
		if (ret <= 0)
			return ret;
	}
	return -EPROTO;
}

int weft_nl_query(struct nlmsghdr *req, unsigned int timeout_ms, weft_nl_parse_fn parse,
		  void *out)
{
	struct weft_nl nl;
	int ret = weft_nl_open(&nl, timeout_ms);

	if (!ret)
		ret = weft_nl_ask(&nl, req, parse, out);
	weft_nl_close(&nl);
	return ret;
}

int weft_nl_listen(unsigned int group)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int fd, ret;

	if (group < 1 || group > 32)
		return -EINVAL;
	sa.nl_groups = 1u << (group - 1);
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

/* --- walks --------------------------------------------------------------- */

/* The messages of one datagram to cb (data messages; libmnl answers the
 * control ones: an ack or NLMSG_DONE ends the walk, an error is its
 * errno). 1, 0 or -errno as weft_nl_parse_fn says. */
static int walk(const void *buf, size_t len, uint32_t seq, uint32_t portid, mnl_cb_t cb, void *data)
{
	size_t off = 0;
	int ret;

	if ((uintptr_t)buf % 4 || len > INT_MAX)
		return -EINVAL;
	/* The walk ends at the first message longer than the bytes left or
	 * shorter than its header. libmnl checks this with the length cast to
	 * int: a length above INT_MAX passes, and its step then moves the walk
	 * gigabytes past the buffer (found by the fuzz target nl_*). */
	while (len - off >= MNL_NLMSG_HDRLEN) {
		const struct nlmsghdr *nh = (const void *)((const char *)buf + off);

		if (nh->nlmsg_len < MNL_NLMSG_HDRLEN || nh->nlmsg_len > len - off)
			break;
		off += MNL_ALIGN(nh->nlmsg_len);
		if (off > len)	/* the last message, unpadded */
			off = len;
	}
	len = off;
	errno = 0;
	ret = mnl_cb_run(buf, len, seq, portid, cb, data);
	if (ret < 0)
		return errno > 0 ? -errno : -EBADMSG;	/* an error answer of INT_MIN */
	return ret == MNL_CB_STOP ? 0 : 1;
}

/* The attribute types a parser reads and the check each must pass
 * (mnl_attr_validate); MNL_TYPE_UNSPEC: not read. */
struct attr_table {
	const enum mnl_attr_data_type *want;
	uint16_t max;
	const struct nlattr **tb;
};

#define TABLE_MAX(want) ((uint16_t)(sizeof(want) / sizeof((want)[0]) - 1))

static int attr_take(const struct nlattr *a, void *data)
{
	const struct attr_table *t = data;
	uint16_t type = mnl_attr_get_type(a);

	if (type <= t->max && t->want[type] != MNL_TYPE_UNSPEC && !mnl_attr_validate(a, t->want[type]))
		t->tb[type] = a;
	return MNL_CB_OK;
}

/* The attributes of nh after its family header (hdrlen bytes) into
 * t->tb (t->max + 1 entries): those t->want names and whose length suits
 * their type; others stay NULL. The walk ends at the message's own length
 * (libmnl's message walk would end at its aligned length). 0, or -EBADMSG
 * (errno set, for libmnl) if nh is shorter than its family header. */
static int attrs(const struct nlmsghdr *nh, size_t hdrlen, const struct attr_table *t)
{
	size_t off = MNL_NLMSG_HDRLEN + MNL_ALIGN(hdrlen);

	memset(t->tb, 0, (t->max + 1u) * sizeof(*t->tb));
	if (nh->nlmsg_len < MNL_NLMSG_HDRLEN + hdrlen) {
		errno = EBADMSG;
		return -EBADMSG;
	}
	if (nh->nlmsg_len > off)
		mnl_attr_parse_payload((const char *)nh + off, nh->nlmsg_len - off, attr_take,
				       (void *)t);
	return 0;
}

/* --- parsers ------------------------------------------------------------- */

static const enum mnl_attr_data_type link_want[] = {
	[IFLA_IFNAME] = MNL_TYPE_NUL_STRING,
	[IFLA_LINK_NETNSID] = MNL_TYPE_U32,
};

static int link_msg(const struct nlmsghdr *nh, void *data)
{
	const struct weft_nl_links *out = data;
	const struct nlattr *tb[TABLE_MAX(link_want) + 1];
	struct attr_table t = { link_want, TABLE_MAX(link_want), tb };
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nh);
	struct weft_nl_link l = { .link_nsid = -1 };

	if (nh->nlmsg_type != RTM_NEWLINK && nh->nlmsg_type != RTM_DELLINK)
		return MNL_CB_OK;
	if (attrs(nh, sizeof(*ifi), &t))
		return MNL_CB_ERROR;
	l.ifindex = ifi->ifi_index;
	l.deleted = nh->nlmsg_type == RTM_DELLINK;
	if (tb[IFLA_IFNAME])
		snprintf(l.name, sizeof(l.name), "%s", mnl_attr_get_str(tb[IFLA_IFNAME]));
	if (tb[IFLA_LINK_NETNSID])
		l.link_nsid = (int32_t)mnl_attr_get_u32(tb[IFLA_LINK_NETNSID]);
	if (out->fn)
		out->fn(&l, out->arg);
	return MNL_CB_OK;
}

int weft_nl_parse_links(const void *buf, size_t len, uint32_t seq, uint32_t portid, void *out)
{
	return walk(buf, len, seq, portid, link_msg, out);
}

static const enum mnl_attr_data_type qdisc_want[] = {
	[TCA_KIND] = MNL_TYPE_NUL_STRING,
};

static int qdisc_msg(const struct nlmsghdr *nh, void *data)
{
	struct weft_nl_qdisc *q = data;
	const struct nlattr *tb[TABLE_MAX(qdisc_want) + 1];
	struct attr_table t = { qdisc_want, TABLE_MAX(qdisc_want), tb };
	const struct tcmsg *tc = mnl_nlmsg_get_payload(nh);

	if (nh->nlmsg_type != RTM_NEWQDISC)
		return MNL_CB_OK;
	if (attrs(nh, sizeof(*tc), &t))
		return MNL_CB_ERROR;
	q->ifindex = tc->tcm_ifindex;
	q->parent = tc->tcm_parent;
	snprintf(q->kind, sizeof(q->kind), "%s", tb[TCA_KIND] ? mnl_attr_get_str(tb[TCA_KIND]) : "");
	return MNL_CB_OK;
}

int weft_nl_parse_qdisc(const void *buf, size_t len, uint32_t seq, uint32_t portid, void *out)
{
	return walk(buf, len, seq, portid, qdisc_msg, out);
}

static const enum mnl_attr_data_type route_want[] = {
	[RTA_OIF] = MNL_TYPE_U32,
	[RTA_GATEWAY] = MNL_TYPE_BINARY,
	[RTA_VIA] = MNL_TYPE_BINARY,
};

static int route_msg(const struct nlmsghdr *nh, void *data)
{
	struct weft_nl_route *r = data;
	const struct nlattr *tb[TABLE_MAX(route_want) + 1];
	struct attr_table t = { route_want, TABLE_MAX(route_want), tb };

	if (nh->nlmsg_type != RTM_NEWROUTE || r->found)
		return MNL_CB_OK;
	if (attrs(nh, sizeof(struct rtmsg), &t))
		return MNL_CB_ERROR;
	r->found = true;
	r->oif = tb[RTA_OIF] ? (int)mnl_attr_get_u32(tb[RTA_OIF]) : 0;
	r->gateway = tb[RTA_GATEWAY] || tb[RTA_VIA];
	return MNL_CB_OK;
}

int weft_nl_parse_route(const void *buf, size_t len, uint32_t seq, uint32_t portid, void *out)
{
	return walk(buf, len, seq, portid, route_msg, out);
}

static const enum mnl_attr_data_type nsid_want[] = {
	[NETNSA_NSID] = MNL_TYPE_U32,
};

static int nsid_msg(const struct nlmsghdr *nh, void *data)
{
	int32_t *nsid = data;
	const struct nlattr *tb[TABLE_MAX(nsid_want) + 1];
	struct attr_table t = { nsid_want, TABLE_MAX(nsid_want), tb };

	if (nh->nlmsg_type != RTM_NEWNSID)
		return MNL_CB_OK;
	/* the family header is one byte; the attributes start at its aligned end */
	if (attrs(nh, sizeof(struct rtgenmsg), &t))
		return MNL_CB_ERROR;
	if (tb[NETNSA_NSID])
		*nsid = (int32_t)mnl_attr_get_u32(tb[NETNSA_NSID]);
	return MNL_CB_OK;
}

int weft_nl_parse_nsid(const void *buf, size_t len, uint32_t seq, uint32_t portid, void *out)
{
	return walk(buf, len, seq, portid, nsid_msg, out);
}
