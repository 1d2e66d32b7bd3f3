// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Unit tests of lib/nl: its parsers fed crafted datagrams (well formed,
 * truncated, with attributes outside their message or off their aligned
 * place, error answers), each copied into a buffer of exactly its length so
 * that a read past it shows under ASan; and one request to the kernel (no
 * root needed: rtnetlink answers questions to anyone). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/net_namespace.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include "harness.h"
#include "lib/nl.h"

/* A datagram being crafted. */
struct dgram {
	char buf[4096] __attribute__((aligned(4)));
	size_t len;
	struct nlmsghdr *last;
};

/* Start a message of type with family header hdr at the end of d. */
static struct nlmsghdr *msg(struct dgram *d, uint16_t type, const void *hdr, size_t hdrlen)
{
	struct nlmsghdr *nh = mnl_nlmsg_put_header(d->buf + d->len);

	nh->nlmsg_type = type;
	if (hdrlen)
		memcpy(mnl_nlmsg_put_extra_header(nh, hdrlen), hdr, hdrlen);
	d->last = nh;
	return nh;
}

/* Close the last message: the next one starts at its aligned end. */
static void end(struct dgram *d)
{
	d->len += MNL_ALIGN(d->last->nlmsg_len);
}

static void ack(struct dgram *d, int error)
{
	struct nlmsgerr e = { .error = error };

	msg(d, NLMSG_ERROR, &e, sizeof(e));
	end(d);
}

/* parse over the first len bytes of d, from a heap copy of exactly len
 * bytes (or, off 1, one byte into a bigger one: a misaligned buffer). */
static int parse_at(weft_nl_parse_fn parse, const struct dgram *d, size_t len, size_t off,
		    uint32_t seq, uint32_t portid, void *out)
{
	char *copy = malloc(len + off + 1);
	int ret;

	if (!copy)
		return -ENOMEM;
	memcpy(copy + off, d->buf, len);
	ret = parse(copy + off, len, seq, portid, out);
	free(copy);
	return ret;
}

static int parse(weft_nl_parse_fn fn, const struct dgram *d, size_t len, void *out)
{
	return parse_at(fn, d, len, 0, 0, 0, out);
}

/* Links collected by weft_nl_parse_links. */
struct seen {
	struct weft_nl_link l[8];
	size_t n;
};

static void collect(const struct weft_nl_link *l, void *arg)
{
	struct seen *s = arg;

	if (s->n < sizeof(s->l) / sizeof(s->l[0]))
		s->l[s->n] = *l;
	s->n++;
}

static int links(const struct dgram *d, size_t len, struct seen *s)
{
	struct weft_nl_links out = { collect, s };

	memset(s, 0, sizeof(*s));
	return parse(weft_nl_parse_links, d, len, &out);
}

static struct nlmsghdr *link_msg(struct dgram *d, uint16_t type, int ifindex)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex };

	return msg(d, type, &ifi, sizeof(ifi));
}

TEST(unit, nl_link_messages_parsed_in_order_until_the_ack)
{
	struct rtgenmsg g = { .rtgen_family = AF_UNSPEC };
	struct dgram d = { .len = 0 };
	struct seen s;
	size_t before_ack;

	mnl_attr_put_strz(link_msg(&d, RTM_NEWLINK, 7), IFLA_IFNAME, "wv-a");
	mnl_attr_put_u32(d.last, IFLA_MTU, 1500);
	mnl_attr_put_u32(d.last, IFLA_LINK_NETNSID, 3);
	end(&d);
	mnl_attr_put_u32(msg(&d, RTM_NEWNSID, &g, sizeof(g)), NETNSA_NSID, 9);	/* not a link */
	end(&d);
	mnl_attr_put_strz(link_msg(&d, RTM_DELLINK, 8), IFLA_IFNAME, "wv-b");
	end(&d);
	link_msg(&d, RTM_NEWLINK, 9);	/* no attributes at all */
	end(&d);
	before_ack = d.len;
	ack(&d, 0);
	mnl_attr_put_strz(link_msg(&d, RTM_NEWLINK, 10), IFLA_IFNAME, "after");
	end(&d);

	if (!ASSERT_EQ(links(&d, before_ack, &s), 1, "no ack yet: more to read") ||
	    !ASSERT_EQ(s.n, 3, "the three link messages"))
		return;
	ASSERT_EQ(s.l[0].ifindex, 7, "first: ifindex");
	ASSERT_STR(s.l[0].name, "wv-a", "first: name");
	ASSERT_EQ(s.l[0].link_nsid, 3, "first: the peer's netns id");
	ASSERT_FALSE(s.l[0].deleted, "first: RTM_NEWLINK");
	ASSERT_EQ(s.l[1].ifindex, 8, "second: ifindex");
	ASSERT_STR(s.l[1].name, "wv-b", "second: name");
	ASSERT_EQ(s.l[1].link_nsid, -1, "second: no peer netns");
	ASSERT_TRUE(s.l[1].deleted, "second: RTM_DELLINK");
	ASSERT_STR(s.l[2].name, "", "third: no name");
	ASSERT_EQ(links(&d, d.len, &s), 0, "the ack completes the answer");
	ASSERT_EQ(s.n, 3, "nothing read after the ack");
}

/* Each parser, and the family header of its messages. */
static const struct parser {
	const char *name;
	weft_nl_parse_fn fn;
	uint16_t type;
	size_t hdrlen;
} parsers[] = {
	{ "links", weft_nl_parse_links, RTM_NEWLINK, sizeof(struct ifinfomsg) },
	{ "qdisc", weft_nl_parse_qdisc, RTM_NEWQDISC, sizeof(struct tcmsg) },
	{ "route", weft_nl_parse_route, RTM_NEWROUTE, sizeof(struct rtmsg) },
	{ "nsid", weft_nl_parse_nsid, RTM_NEWNSID, sizeof(struct rtgenmsg) },
};

/* Somewhere for any parser to write to. */
union any_out {
	struct weft_nl_links links;
	struct weft_nl_qdisc qdisc;
	struct weft_nl_route route;
	int32_t nsid;
};

TEST(unit, nl_parsers_reject_truncated_messages_and_misaligned_buffers)
{
	static const char zero[32];

	for (size_t i = 0; i < sizeof(parsers) / sizeof(parsers[0]); i++) {
		const struct parser *p = &parsers[i];
		struct dgram d = { .len = 0 };
		union any_out o;
		size_t whole;

		memset(&o, 0, sizeof(o));	/* links: no fn */

		msg(&d, p->type, zero, p->hdrlen);
		d.last->nlmsg_len = MNL_NLMSG_HDRLEN + p->hdrlen - 1;	/* header cut short */
		end(&d);
		if (!ASSERT_EQ(parse(p->fn, &d, d.len, &o), -EBADMSG, p->name))
			return;

		d.len = 0;
		msg(&d, p->type, zero, p->hdrlen);
		mnl_attr_put_u32(d.last, 1, 1);
		end(&d);
		whole = d.len;
		ack(&d, 0);
		/* The datagram cut inside the message, and inside the netlink
		 * header: the message is not read, nor what follows. */
		if (!ASSERT_EQ(parse(p->fn, &d, whole - 2, &o), 1, p->name) ||
		    !ASSERT_EQ(parse(p->fn, &d, MNL_NLMSG_HDRLEN - 1, &o), 1, p->name) ||
		    !ASSERT_EQ(parse(p->fn, &d, 0, &o), 1, p->name))
			return;
		/* A length beyond the datagram, and one too short for a header. */
		d.last = (struct nlmsghdr *)d.buf;
		d.last->nlmsg_len = (uint32_t)d.len + 4;
		if (!ASSERT_EQ(parse(p->fn, &d, d.len, &o), 1, p->name))
			return;
		d.last->nlmsg_len = 4;
		if (!ASSERT_EQ(parse(p->fn, &d, d.len, &o), 1, p->name))
			return;
		d.last->nlmsg_len = (uint32_t)whole;
		if (!ASSERT_EQ(parse(p->fn, &d, d.len, &o), 0, p->name) ||
		    !ASSERT_EQ(parse_at(p->fn, &d, d.len, 1, 0, 0, &o), -EINVAL, p->name))
			return;
	}
}

/* A length above INT_MAX after a good message (found by the fuzz target
 * nl_qdisc): libmnl's own check casts it to int and would step gigabytes
 * past the datagram; the walk ends there instead, for every parser. */
TEST(unit, nl_a_length_above_int_max_ends_the_walk)
{
	static const char zero[32];

	for (size_t i = 0; i < sizeof(parsers) / sizeof(parsers[0]); i++) {
		const struct parser *p = &parsers[i];
		struct dgram d = { .len = 0 };
		union any_out o;
		struct seen s;

		memset(&o, 0, sizeof(o));
		if (p->fn == weft_nl_parse_links)
			o.links = (struct weft_nl_links){ collect, &s };
		memset(&s, 0, sizeof(s));
		msg(&d, p->type, zero, p->hdrlen);
		end(&d);
		msg(&d, p->type, zero, p->hdrlen);
		d.last->nlmsg_len = 0xfffffe00;
		d.len += 32;
		if (!ASSERT_EQ(parse(p->fn, &d, d.len, &o), 1, p->name))
			return;
		if (p->fn == weft_nl_parse_links && !ASSERT_EQ(s.n, 1, "the good message only"))
			return;
		if (p->fn == weft_nl_parse_route && !ASSERT_TRUE(o.route.found, "the good route read"))
			return;
	}
}

/* A u32 attribute written at an arbitrary place (a careless writer's). */
static void put_attr_at(char *at, uint16_t type, uint32_t v)
{
	struct nlattr h = { .nla_len = MNL_ATTR_HDRLEN + sizeof(v), .nla_type = type };

	memcpy(at, &h, sizeof(h));
	memcpy(at + sizeof(h), &v, sizeof(v));
}

TEST(unit, nl_attributes_off_their_place_are_not_read)
{
	struct dgram d = { .len = 0 };
	struct seen s;
	int32_t nsid = -1;
	struct nlattr *a;
	char *at;

	/* An attribute longer than its message (the next one follows). */
	mnl_attr_put_strz(link_msg(&d, RTM_NEWLINK, 7), IFLA_IFNAME, "wv-a");
	a = (struct nlattr *)((char *)d.last + MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct ifinfomsg)));
	a->nla_len = 40;
	end(&d);
	mnl_attr_put_strz(link_msg(&d, RTM_NEWLINK, 8), IFLA_IFNAME, "wv-b");
	end(&d);
	if (!ASSERT_EQ(links(&d, d.len, &s), 1, "parsed") || !ASSERT_EQ(s.n, 2, "both messages"))
		return;
	ASSERT_STR(s.l[0].name, "", "an attribute past its message's end is not read");
	ASSERT_STR(s.l[1].name, "wv-b", "the next message is read whole");

	/* An attribute in the message's alignment slack: nlmsg_len 38 with
	 * an 8-byte attribute; the datagram ends at 38 bytes. */
	d.len = 0;
	link_msg(&d, RTM_NEWLINK, 7);
	mnl_attr_put_u32(d.last, IFLA_LINK_NETNSID, 5);
	d.last->nlmsg_len -= 2;
	if (!ASSERT_EQ(links(&d, d.last->nlmsg_len, &s), 1, "parsed") ||
	    !ASSERT_EQ(s.n, 1, "the message") ||
	    !ASSERT_EQ(s.l[0].link_nsid, -1, "an attribute past nlmsg_len is not read"))
		return;

	/* A writer that forgot the padding: "wv-a\0" (nla_len 9) and the next
	 * attribute right after it, at offset 9 instead of 12. */
	d.len = 0;
	mnl_attr_put_strz(link_msg(&d, RTM_NEWLINK, 7), IFLA_IFNAME, "wv-a");
	at = (char *)d.last + d.last->nlmsg_len - 3;
	put_attr_at(at, IFLA_LINK_NETNSID, 3);
	d.last->nlmsg_len += MNL_ATTR_HDRLEN + 4 - 3;
	end(&d);
	if (!ASSERT_EQ(links(&d, d.len, &s), 1, "parsed") || !ASSERT_EQ(s.n, 1, "the message"))
		return;
	ASSERT_STR(s.l[0].name, "wv-a", "the aligned attribute");
	ASSERT_EQ(s.l[0].link_nsid, -1, "the misplaced one is not read at its unaligned offset");

	/* Lengths that do not suit the type: a 2-byte netns id, a name
	 * without its NUL. */
	d.len = 0;
	mnl_attr_put(link_msg(&d, RTM_NEWLINK, 7), IFLA_LINK_NETNSID, 2, "\x03\x00");
	mnl_attr_put(d.last, IFLA_IFNAME, 4, "wv-a");
	end(&d);
	if (!ASSERT_EQ(links(&d, d.len, &s), 1, "parsed") || !ASSERT_EQ(s.n, 1, "the message"))
		return;
	ASSERT_EQ(s.l[0].link_nsid, -1, "a short netns id is absent");
	ASSERT_STR(s.l[0].name, "", "a name without its NUL is absent");

	/* RTM_NEWNSID: one byte of family header, attributes at its aligned
	 * end (offset 20), as commit 0bd9220 learnt; one at offset 17 is not
	 * an attribute. */
	{
		struct rtgenmsg g = { .rtgen_family = AF_UNSPEC };

		d.len = 0;
		mnl_attr_put_u32(msg(&d, RTM_NEWNSID, &g, sizeof(g)), NETNSA_NSID, 4);
		end(&d);
		ack(&d, 0);
		if (!ASSERT_EQ(parse(weft_nl_parse_nsid, &d, d.len, &nsid), 0, "acked") ||
		    !ASSERT_EQ(nsid, 4, "the id at the aligned offset"))
			return;
		d.len = 0;
		msg(&d, RTM_NEWNSID, &g, sizeof(g));
		put_attr_at((char *)d.last + MNL_NLMSG_HDRLEN + sizeof(g), NETNSA_NSID, 4);
		d.last->nlmsg_len = MNL_NLMSG_HDRLEN + sizeof(g) + MNL_ATTR_HDRLEN + 4;
		end(&d);
		nsid = -1;
		ASSERT_EQ(parse(weft_nl_parse_nsid, &d, d.len, &nsid), 1, "parsed");
		ASSERT_EQ(nsid, -1, "no id read right after the one-byte header");
	}
}

TEST(unit, nl_error_answers_acks_and_strangers)
{
	static const struct {
		const char *what;
		uint16_t type;		/* NLMSG_ERROR: error below */
		int error;
		uint32_t len_cut;	/* bytes cut off the message */
		uint32_t seq, pid;	/* the message's; the parser expects 7 and 42 */
		int want;
	} cases[] = {
		{ "an ack", NLMSG_ERROR, 0, 0, 7, 42, 0 },
		{ "an error", NLMSG_ERROR, -ENODEV, 0, 7, 42, -ENODEV },
		{ "a positive error", NLMSG_ERROR, ENODEV, 0, 7, 42, -ENODEV },
		{ "an error of INT_MIN", NLMSG_ERROR, INT_MIN, 0, 7, 42, -EBADMSG },
		{ "an error too short for nlmsgerr", NLMSG_ERROR, -ENODEV, 4, 7, 42, -EBADMSG },
		{ "the end of a dump", NLMSG_DONE, 0, 0, 7, 42, 0 },
		{ "a no-op", NLMSG_NOOP, 0, 0, 7, 42, 1 },
		{ "another request's answer", NLMSG_ERROR, 0, 0, 8, 42, -EPROTO },
		{ "another socket's answer", NLMSG_ERROR, 0, 0, 7, 43, -ESRCH },
		{ "the kernel's (seq and pid 0)", NLMSG_ERROR, 0, 0, 0, 0, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		for (size_t j = 0; j < sizeof(parsers) / sizeof(parsers[0]); j++) {
			struct dgram d = { .len = 0 };
			struct nlmsgerr e = { .error = cases[i].error };
			union any_out o;

			memset(&o, 0, sizeof(o));
			msg(&d, cases[i].type, &e, sizeof(e));
			d.last->nlmsg_len -= cases[i].len_cut;
			d.last->nlmsg_seq = cases[i].seq;
			d.last->nlmsg_pid = cases[i].pid;
			end(&d);
			if (!ASSERT_EQ(parse_at(parsers[j].fn, &d, d.len, 0, 7, 42, &o), cases[i].want,
					   cases[i].what))
				return;
		}
}

TEST(unit, nl_qdisc_and_route_answers)
{
	struct tcmsg tc = { .tcm_family = AF_UNSPEC, .tcm_ifindex = 5, .tcm_parent = TC_H_CLSACT };
	struct rtmsg rt = { .rtm_family = AF_INET, .rtm_dst_len = 32 };
	static const uint8_t gw[4] = { 169, 254, 1, 1 };
	struct weft_nl_qdisc q = { 0 };
	struct weft_nl_route r = { 0 };
	struct dgram d = { .len = 0 };

	mnl_attr_put_strz(msg(&d, RTM_NEWQDISC, &tc, sizeof(tc)), TCA_KIND, "clsact");
	end(&d);
	ack(&d, 0);
	if (!ASSERT_EQ(parse(weft_nl_parse_qdisc, &d, d.len, &q), 0, "acked"))
		return;
	ASSERT_STR(q.kind, "clsact", "kind");
	ASSERT_EQ(q.ifindex, 5, "ifindex");
	ASSERT_EQ(q.parent, TC_H_CLSACT, "parent");
	d.len = 0;
	mnl_attr_put(msg(&d, RTM_NEWQDISC, &tc, sizeof(tc)), TCA_KIND, 6, "clsact");
	end(&d);
	memset(&q, 0, sizeof(q));
	ASSERT_EQ(parse(weft_nl_parse_qdisc, &d, d.len, &q), 1, "parsed");
	ASSERT_STR(q.kind, "", "a kind without its NUL is absent");

	d.len = 0;
	mnl_attr_put_u32(msg(&d, RTM_NEWROUTE, &rt, sizeof(rt)), RTA_OIF, 4);
	end(&d);
	mnl_attr_put_u32(msg(&d, RTM_NEWROUTE, &rt, sizeof(rt)), RTA_OIF, 9);	/* only the first counts */
	mnl_attr_put(d.last, RTA_GATEWAY, sizeof(gw), gw);
	end(&d);
	ack(&d, 0);
	if (!ASSERT_EQ(parse(weft_nl_parse_route, &d, d.len, &r), 0, "acked"))
		return;
	ASSERT_TRUE(r.found, "a route");
	ASSERT_EQ(r.oif, 4, "its interface");
	ASSERT_FALSE(r.gateway, "directly connected");

	d.len = 0;
	mnl_attr_put(msg(&d, RTM_NEWROUTE, &rt, sizeof(rt)), RTA_OIF, 2, "\x04\x00");
	mnl_attr_put(d.last, RTA_VIA, sizeof(gw), gw);
	end(&d);
	memset(&r, 0, sizeof(r));
	ASSERT_EQ(parse(weft_nl_parse_route, &d, d.len, &r), 1, "parsed");
	ASSERT_TRUE(r.found && !r.oif, "a 2-byte interface index is absent");
	ASSERT_TRUE(r.gateway, "RTA_VIA is a gateway");

	d.len = 0;
	ack(&d, 0);
	memset(&r, 0, sizeof(r));
	ASSERT_EQ(parse(weft_nl_parse_route, &d, d.len, &r), 0, "a bare ack");
	ASSERT_FALSE(r.found, "no route");
}

static void take_one(const struct weft_nl_link *l, void *arg)
{
	*(struct weft_nl_link *)arg = *l;
}

/* The same parsers over a real socket: the kernel's answers about lo and
 * our own netns, and its error for an interface that does not exist. */
TEST(unit, nl_asks_the_kernel)
{
	struct weft_nl_link l = { .ifindex = -1 };
	struct weft_nl_links out = { take_one, &l };
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = (int)if_nametoindex("lo") };
	struct rtgenmsg g = { .rtgen_family = AF_UNSPEC };
	char buf[WEFT_NL_REQSIZE] __attribute__((aligned(4)));
	struct weft_nl nl;
	struct nlmsghdr *req;
	int32_t nsid = -2;
	int self = -1;

	if (!ASSERT_TRUE(ifi.ifi_index > 0, "lo") || !ASSERT_OK(weft_nl_open(&nl, 2000), "open"))
		return;
	/* An earlier request whose answer (and ack) nobody read: skipped. */
	req = weft_nl_request(buf, RTM_GETLINK, NLM_F_ACK, &ifi, sizeof(ifi));
	req->nlmsg_seq = nl.seq + 1000;
	if (!ASSERT_TRUE(mnl_socket_sendto(nl.sock, req, req->nlmsg_len) > 0, "a stale request"))
		goto out;
	if (!ASSERT_OK(weft_nl_ask(&nl, weft_nl_request(buf, RTM_GETLINK, 0, &ifi, sizeof(ifi)),
				   weft_nl_parse_links, &out), "RTM_GETLINK lo, after the stale answer"))
		goto out;
	ASSERT_EQ(l.ifindex, ifi.ifi_index, "lo's ifindex");
	ASSERT_STR(l.name, "lo", "lo's name");
	ASSERT_EQ(l.link_nsid, -1, "lo has no peer");
	ifi.ifi_index = INT_MAX;
	ASSERT_EQ(weft_nl_ask(&nl, weft_nl_request(buf, RTM_GETLINK, 0, &ifi, sizeof(ifi)),
			      weft_nl_parse_links, &out), -ENODEV, "no such interface");
	/* Our own netns has no id in itself: the answer says -1 (not assigned). */
	self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (!ASSERT_TRUE(self >= 0, "own netns file"))
		goto out;
	req = weft_nl_request(buf, RTM_GETNSID, 0, &g, sizeof(g));
	mnl_attr_put_u32(req, NETNSA_FD, (uint32_t)self);
	ASSERT_OK(weft_nl_ask(&nl, req, weft_nl_parse_nsid, &nsid), "RTM_GETNSID");
	ASSERT_EQ(nsid, -1, "the answer read (NETNSA_NSID_NOT_ASSIGNED)");
out:
	if (self >= 0)
		close(self);
	weft_nl_close(&nl);
}
