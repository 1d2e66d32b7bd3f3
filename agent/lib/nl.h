/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * nl: rtnetlink (NETLINK_ROUTE) over libmnl, the one place weft speaks it.
 *
 * A request socket (with a receive timeout), one request and its answers
 * until the kernel's ack, a socket subscribed to a multicast group, and the
 * parsers of the messages weft reads: links (events and RTM_GETLINK
 * answers), qdiscs, routes and netns ids. No policy here: a parser says
 * what a message holds, its caller decides what that means.
 *
 * Every parser has one shape (weft_nl_parse_fn): the bytes of one
 * datagram as read from the socket, so a test or a fuzz target can feed it
 * recorded or crafted messages. Messages are bounds-checked (a message
 * longer than the bytes left ends the walk; an attribute is read only
 * inside its message, at its aligned place, with the length its type
 * needs, else it counts as absent); a message of the parser's type too
 * short for its family header is -EBADMSG.
 */
#ifndef WEFT_LIB_NL_H
#define WEFT_LIB_NL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>
#include <libmnl/libmnl.h>

/* A receive buffer big enough for any answer weft asks for and for a
 * datagram of link events. */
#define WEFT_NL_BUFSIZE 32768
/* A request buffer: the family header and a few small attributes. */
#define WEFT_NL_REQSIZE 256

/* A request socket. Zeroed, it is closed (weft_nl_close accepts it). */
struct weft_nl {
	struct mnl_socket *sock;
	uint32_t portid;	/* ours, for answers to check */
	uint32_t seq;		/* of the last request */
};

/* Open a NETLINK_ROUTE request socket whose reads give up after
 * timeout_ms. 0 or -errno. */
int weft_nl_open(struct weft_nl *nl, unsigned int timeout_ms);
void weft_nl_close(struct weft_nl *nl);

/* A parser: the netlink messages in buf (len bytes, 4-byte aligned), as
 * read from one datagram; messages that do not carry seq and portid (0:
 * any) are an error (-EPROTO, -ESRCH). Decoded contents go to out, whose
 * type each parser names (and which its caller initializes: an answer can
 * span datagrams). 1: more to read; 0: the answer is complete (the ack,
 * or the end of a dump); -errno: an error answer (its error), a malformed
 * message (-EBADMSG) or a misaligned buffer (-EINVAL). */
typedef int (*weft_nl_parse_fn)(const void *buf, size_t len, uint32_t seq, uint32_t portid,
				void *out);

/* Build a request in buf (WEFT_NL_REQSIZE bytes, 4-byte aligned): the
 * netlink header (type; NLM_F_REQUEST | flags) and the family header hdr
 * (hdrlen bytes). Attributes follow with mnl_attr_put*(). */
struct nlmsghdr *weft_nl_request(void *buf, uint16_t type, uint16_t flags, const void *hdr,
				 size_t hdrlen);

/* Send req (its seq is set, NLM_F_ACK added) and hand each datagram of
 * the answer to parse, until the ack; a datagram answering an earlier
 * request (late, after a timeout) is skipped. 0 or -errno: the kernel's
 * error, the parser's, or -EAGAIN (no answer within the socket's timeout). */
int weft_nl_ask(struct weft_nl *nl, struct nlmsghdr *req, weft_nl_parse_fn parse, void *out);

/* weft_nl_ask on a socket of its own, opened and closed around it. */
int weft_nl_query(struct nlmsghdr *req, unsigned int timeout_ms, weft_nl_parse_fn parse,
		  void *out);

/* A non-blocking NETLINK_ROUTE socket subscribed to group (RTNLGRP_*, 1
 * to 32): the fd, or -errno. Read it with recv() into a WEFT_NL_BUFSIZE
 * buffer and hand the bytes to a parser (seq and portid 0); close() it. */
int weft_nl_listen(unsigned int group);

/* --- parsers ----------------------------------------------------------- */

/* An RTM_NEWLINK or RTM_DELLINK message. */
struct weft_nl_link {
	int ifindex;
	bool deleted;			/* RTM_DELLINK */
	char name[IF_NAMESIZE];		/* IFLA_IFNAME; "" without one */
	int32_t link_nsid;		/* IFLA_LINK_NETNSID: the id, in our netns, of the
					 * netns the peer is in; -1: none */
};

/* What weft_nl_parse_links hands each link message to. */
struct weft_nl_links {
	void (*fn)(const struct weft_nl_link *link, void *arg);
	void *arg;
};

/* out: struct weft_nl_links. Every link message, in order, to out->fn. */
int weft_nl_parse_links(const void *buf, size_t len, uint32_t seq, uint32_t portid, void *out);

/* An RTM_NEWQDISC message. */
struct weft_nl_qdisc {
	int ifindex;
	uint32_t parent;		/* tcm_parent: TC_H_CLSACT (== TC_H_INGRESS), TC_H_ROOT, ... */
	char kind[16];			/* TCA_KIND ("clsact", "ingress"); "" without one */
};

/* out: struct weft_nl_qdisc, the last qdisc message (untouched without one). */
int weft_nl_parse_qdisc(const void *buf, size_t len, uint32_t seq, uint32_t portid, void *out);

/* An RTM_NEWROUTE message. */
struct weft_nl_route {
	bool found;			/* a route message was read */
	int oif;			/* RTA_OIF; 0 without one */
	bool gateway;			/* has RTA_GATEWAY or RTA_VIA */
};

/* out: struct weft_nl_route, the first route message (found tells). */
int weft_nl_parse_route(const void *buf, size_t len, uint32_t seq, uint32_t portid, void *out);

/* out: int32_t, NETNSA_NSID of an RTM_NEWNSID message (untouched without
 * one: start it at -1, which is also the kernel's "not assigned"). */
int weft_nl_parse_nsid(const void *buf, size_t len, uint32_t seq, uint32_t portid, void *out);

#endif /* WEFT_LIB_NL_H */
