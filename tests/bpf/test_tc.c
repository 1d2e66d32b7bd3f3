// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The tc policy programs (bpf/tc.bpf.c, lib/tc.h) through BPF_PROG_TEST_RUN:
 * crafted packets, in order, against a policy compiled by the agent, each
 * with its verdict and the counter it moves. Packets share flow state
 * (the interface's flow tables) and fragment records, so the order of the
 * table matters and is part of the test. The packets run on lo (ifindex 1),
 * written as web's interface the way weftd writes it (weft_tc_iface_put).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "model/model.h"
#include "harness.h"
#include "reconcile/policy.h"
#include "datapath/datapath.h"
#include "lib/maps.h"
#include "sockfix.h"
#include "testenv.h"
#include "weft.skel.h"

#define EPS                                                                      \
	"endpoints:\n"                                                           \
	"  - {name: cli, ip: 10.250.0.10, labels: {app: client}}\n"             \
	"  - {name: cli6, ip: 'fd00:250::10', labels: {app: client}}\n"         \
	"  - {name: web, ip: 10.250.0.21, labels: {app: web}}\n"                \
	"  - {name: web6, ip: 'fd00:250::21', labels: {app: web}}\n"

/* web: from clients on TCP 8080 and UDP 53 only; no egress of its own
 * (its replies pass as replies of tracked flows). */
#define WEB_POLICY                                                               \
	"policies:\n"                                                            \
	"  - name: web\n"                                                        \
	"    selector: {app: web}\n"                                             \
	"    ingress:\n"                                                         \
	"      - from: [{selector: {app: client}}]\n"                            \
	"        ports: [{port: 8080}, {port: 53, protocol: udp},\n"             \
	"                {port: 3868, protocol: sctp}]\n"                         \
	"    egress: []\n"

/* After a change: nobody may reach web. */
#define WEB_CLOSED                                                               \
	"policies:\n"                                                            \
	"  - {name: web, selector: {app: web}, ingress: [], egress: []}\n"

/* web accepts clients on 8080 and no egress policy selects it: its own
 * connections are open. Then its ingress closed, its egress still open. */
#define WEB_INGRESS_ONLY                                                         \
	"policies:\n"                                                            \
	"  - name: web\n"                                                        \
	"    selector: {app: web}\n"                                             \
	"    ingress: [{from: [{selector: {app: client}}], ports: [{port: 8080}]}]\n"
#define WEB_INGRESS_CLOSED                                                       \
	"policies:\n"                                                            \
	"  - {name: web, selector: {app: web}, ingress: []}\n"

#define OK 0	/* TC_ACT_OK */
#define DROP 2	/* TC_ACT_SHOT */

enum kind { K_TCP, K_UDP, K_ICMP, K_ARP, K_SCTP };

struct pkt_spec {
	const char *name;
	int to_pod;		/* 1: weft_to_pod, 0: weft_from_pod */
	enum kind kind;
	const char *src, *dst;
	uint16_t sport, dport;
	uint8_t tcp_flags;	/* 0x02 SYN, 0x10 ACK */
	uint8_t icmp_type;
	uint16_t frag_off;	/* IPv4: fragment offset in 8-byte units; IPv6: a fragment header */
	int hbh;		/* IPv6: a hop-by-hop options header first */
	int cut;		/* > 0: bytes cut from the end of the packet;
				 * < 0: IPv4 header length field -cut (the
				 * kernel's test run refuses a packet shorter
				 * than an IPv4 header: a bad ihl stands in) */
	int want;
	enum weft_stat stat;	/* counter that must move by one; WEFT_STAT_MAX: none */
	int mf;			/* more fragments: with frag_off 0, a first fragment */
	uint32_t frag_id;	/* IPv4: the IP id (16 bits); IPv6: the fragment header's */
};

#define SYN 0x02
#define ACK 0x10
#define NONE WEFT_STAT_MAX

static size_t put(uint8_t *b, size_t off, const void *p, size_t n)
{
	memcpy(b + off, p, n);
	return off + n;
}

/* The bytes of a packet. Returns the length. */
static size_t build(const struct pkt_spec *s, uint8_t *b)
{
	struct weft_ip src, dst;
	int fam = weft_ip_parse(s->src, &src);
	uint8_t proto = s->kind == K_TCP ? IPPROTO_TCP : s->kind == K_UDP ? IPPROTO_UDP :
			s->kind == K_SCTP ? IPPROTO_SCTP :
			fam == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	uint8_t l4[32] = { 0 };
	/* SCTP: common header (12) and an INIT chunk (20) */
	size_t l4len = s->kind == K_TCP ? 20 : s->kind == K_SCTP ? 32 : 8, off = 12, n;
	uint16_t et;

	weft_ip_parse(s->dst, &dst);
	memset(b, 0, 256);
	if (s->kind == K_ARP) {
		et = htons(0x0806);
		put(b, 12, &et, 2);
		return 14 + 28;
	}
	if (s->kind == K_ICMP) {
		l4[0] = s->icmp_type;
	} else {
		uint16_t sp = htons(s->sport), dp = htons(s->dport);

		memcpy(l4, &sp, 2);
		memcpy(l4 + 2, &dp, 2);
		if (s->kind == K_TCP) {
			l4[12] = 5 << 4;
			l4[13] = s->tcp_flags;
		} else if (s->kind == K_SCTP) {
			l4[12] = 1;	/* chunk type INIT */
			l4[15] = 20;	/* chunk length */
			l4[16] = 0x5e;	/* initiate tag */
		} else {
			uint16_t ul = htons(8);

			memcpy(l4 + 4, &ul, 2);
		}
	}
	if (fam == AF_INET) {
		uint8_t ip[20] = { (uint8_t)(0x40 | (s->cut < 0 ? -s->cut : 5)) };
		uint16_t tot = htons(20 + l4len), fo = htons(s->frag_off | (s->mf ? 0x2000 : 0));
		uint16_t id = htons((uint16_t)s->frag_id);

		et = htons(0x0800);
		off = put(b, off, &et, 2);
		memcpy(ip + 2, &tot, 2);
		memcpy(ip + 4, &id, 2);
		memcpy(ip + 6, &fo, 2);
		ip[8] = 64;
		ip[9] = proto;
		memcpy(ip + 12, &src.a.s6_addr[12], 4);
		memcpy(ip + 16, &dst.a.s6_addr[12], 4);
		off = put(b, off, ip, 20);
	} else {
		uint8_t ip[40] = { 0x60 };
		int fh = s->frag_off || s->mf;	/* a fragment header */
		uint16_t pl = htons(l4len + (s->hbh ? 8 : 0) + (fh ? 8 : 0));

		et = htons(0x86DD);
		off = put(b, off, &et, 2);
		memcpy(ip + 4, &pl, 2);
		ip[6] = s->hbh ? 0 : fh ? 44 : proto;
		ip[7] = 64;
		memcpy(ip + 8, &src.a, 16);
		memcpy(ip + 24, &dst.a, 16);
		off = put(b, off, ip, 40);
		if (s->hbh) {
			uint8_t h[8] = { (uint8_t)(fh ? 44 : proto), 0, 1, 4 };	/* PadN */

			off = put(b, off, h, 8);
		}
		if (fh) {
			uint8_t h[8] = { proto };
			uint16_t fo = htons((uint16_t)(s->frag_off << 3) | (s->mf ? 1 : 0));
			uint32_t id = htonl(s->frag_id);

			memcpy(h + 2, &fo, 2);
			memcpy(h + 4, &id, 4);
			off = put(b, off, h, 8);
		}
	}
	if (!(fam == AF_INET && (s->frag_off & 0x1fff)) && !(fam == AF_INET6 && s->frag_off))
		off = put(b, off, l4, l4len);
	else
		off = put(b, off, l4, 8);	/* fragment payload: not an L4 header */
	n = off - (s->cut > 0 ? s->cut : 0);
	return n;
}

static const char *const stat_name[WEFT_STAT_MAX] = {
	[WEFT_STAT_POL_TC_INGRESS_DENY] = "ingress denied", [WEFT_STAT_POL_TC_EGRESS_DENY] = "egress denied",
	[WEFT_STAT_POL_MALFORMED] = "malformed", [WEFT_STAT_POL_REVOKED] = "revoked",
	[WEFT_STAT_POL_AUDIT] = "audit", [WEFT_STAT_SPOOFED] = "spoofed source",
	[WEFT_STAT_IF_UNKNOWN] = "interface unknown", [WEFT_STAT_SUBJECT_UNKNOWN] = "subject unknown",
	[WEFT_STAT_CT_NO_TABLE] = "no flow table", [WEFT_STAT_FRAG_UNKNOWN] = "fragment unknown",
};

/* Run each packet; check verdict and counter. */
static void run(struct sfx *f, const struct pkt_spec *cases, size_t n)
{
	int to = bpf_program__fd(f->skel->progs.weft_to_pod);
	int from = bpf_program__fd(f->skel->progs.weft_from_pod);

	for (size_t i = 0; i < n; i++) {
		const struct pkt_spec *s = &cases[i];
		uint8_t buf[256];
		size_t len = build(s, buf);
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = buf, .data_size_in = len, .repeat = 1);
		uint64_t before = s->stat < NONE ? sfx_stat(f, s->stat) : 0;

		if (!ASSERT_OK(bpf_prog_test_run_opts(s->to_pod ? to : from, &o), s->name))
			continue;
		ASSERT_EQ(o.retval, s->want, s->name);
		if (s->stat < NONE)
			weft_assert(sfx_stat(f, s->stat) == before + 1, __FILE__, __LINE__,
				    "%s: counter %s did not move by one", s->name, stat_name[s->stat]);
	}
}

static bool is_tc(struct weft *skel, const struct bpf_program *p)
{
	return p == skel->progs.weft_to_pod || p == skel->progs.weft_from_pod;
}

#define C4 "10.250.0.10"
#define W4 "10.250.0.21"
#define C6 "fd00:250::10"
#define W6 "fd00:250::21"
#define WORLD "10.9.9.9"

/* weft_ct_cnt of interface ifindex, summed over the CPUs. */
static struct weft_ct_cnt ct_counts(struct sfx *f, uint32_t ifindex)
{
	int ncpu = libbpf_num_possible_cpus();
	struct weft_ct_cnt sum = { 0 }, *c = calloc(ncpu > 0 ? (size_t)ncpu : 1, sizeof(*c));

	if (c && bpf_map_lookup_elem(bpf_map__fd(f->skel->maps.weft_ct_cnt), &ifindex, c) == 0)
		for (int i = 0; i < ncpu; i++)
			for (int d = 0; d < 2; d++) {
				sum.tracked[d] += c[i].tracked[d];
				sum.removed[d] += c[i].removed[d];
			}
	free(c);
	return sum;
}

TEST(bpf, tc_policy_packets)
{
	static const struct pkt_spec no_policy[] = {
		{ "no policy: SYN to a closed port passes", 1, K_TCP, WORLD, W4, 1000, 9090, SYN, 0, 0, 0, 0, OK, NONE, 0, 0 },
	};
	static const struct pkt_spec cases[] = {
		{ "allowed TCP SYN", 1, K_TCP, C4, W4, 40000, 8080, SYN, 0, 0, 0, 0, OK, NONE, 0, 0 },
		{ "established packet of the allowed flow", 1, K_TCP, C4, W4, 40000, 8080, ACK, 0, 0, 0, 0, OK, NONE, 0, 0 },
		{ "reply of the allowed flow (web has no egress)", 0, K_TCP, W4, C4, 8080, 40000, SYN | ACK, 0, 0, 0, 0, OK, NONE, 0, 0 },
		{ "SYN to a port not allowed", 1, K_TCP, C4, W4, 40001, 9090, SYN, 0, 0, 0, 0, DROP, WEFT_STAT_POL_TC_INGRESS_DENY, 0, 0 },
		{ "SYN from the world", 1, K_TCP, WORLD, W4, 40002, 8080, SYN, 0, 0, 0, 0, DROP, WEFT_STAT_POL_TC_INGRESS_DENY, 0, 0 },
		{ "ACK of an untracked denied flow", 1, K_TCP, WORLD, W4, 40003, 8080, ACK, 0, 0, 0, 0, DROP, WEFT_STAT_POL_TC_INGRESS_DENY, 0, 0 },
		{ "web opens a connection: egress denied", 0, K_TCP, W4, C4, 41000, 8080, SYN, 0, 0, 0, 0, DROP, WEFT_STAT_POL_TC_EGRESS_DENY, 0, 0 },
		{ "allowed UDP", 1, K_UDP, C4, W4, 5000, 53, 0, 0, 0, 0, 0, OK, NONE, 0, 0 },
		{ "UDP to another port", 1, K_UDP, C4, W4, 5000, 54, 0, 0, 0, 0, 0, DROP, WEFT_STAT_POL_TC_INGRESS_DENY, 0, 0 },
		{ "UDP reply", 0, K_UDP, W4, C4, 53, 5000, 0, 0, 0, 0, 0, OK, NONE, 0, 0 },
		{ "allowed SCTP INIT", 1, K_SCTP, C4, W4, 5000, 3868, 0, 0, 0, 0, 0, OK, NONE, 0, 0 },
		{ "SCTP INIT-ACK reply of the allowed association", 0, K_SCTP, W4, C4, 3868, 5000, 0, 0, 0, 0, 0, OK, NONE, 0, 0 },
		{ "SCTP INIT to a port not allowed", 1, K_SCTP, C4, W4, 5001, 3869, 0, 0, 0, 0, 0, DROP, WEFT_STAT_POL_TC_INGRESS_DENY, 0, 0 },
		{ "SCTP INIT to the TCP port (protocol differs)", 1, K_SCTP, C4, W4, 5002, 8080, 0, 0, 0, 0, 0, DROP, WEFT_STAT_POL_TC_INGRESS_DENY, 0, 0 },
		{ "SCTP INIT from the world", 1, K_SCTP, WORLD, W4, 5003, 3868, 0, 0, 0, 0, 0, DROP, WEFT_STAT_POL_TC_INGRESS_DENY, 0, 0 },
		{ "web opens an SCTP association: egress denied", 0, K_SCTP, W4, C4, 5004, 3868, 0, 0, 0, 0, 0, DROP, WEFT_STAT_POL_TC_EGRESS_DENY, 0, 0 },
		{ "IPv6 SCTP INIT behind hop-by-hop options", 1, K_SCTP, C6, W6, 5000, 3868, 0, 0, 0, 1, 0, OK, NONE, 0, 0 },
		{ "truncated SCTP common header (ports only)", 1, K_SCTP, C4, W4, 5005, 3868, 0, 0, 0, 0, 24, DROP, WEFT_STAT_POL_MALFORMED, 0, 0 },
		{ "truncated SCTP ports", 1, K_SCTP, C4, W4, 5005, 3868, 0, 0, 0, 0, 30, DROP, WEFT_STAT_POL_MALFORMED, 0, 0 },
		{ "non-first IPv4 fragment of SCTP, first not seen", 1, K_SCTP, C4, W4, 0, 0, 0, 0, 100, 0, 0, DROP, WEFT_STAT_FRAG_UNKNOWN, 0, 0 },
		{ "IPv4 header length below 20", 1, K_TCP, C4, W4, 40000, 8080, SYN, 0, 0, 0, -4, DROP, WEFT_STAT_POL_MALFORMED, 0, 0 },
		{ "IPv4 header longer than the packet", 1, K_TCP, C4, W4, 40000, 8080, SYN, 0, 0, 0, -15, DROP, WEFT_STAT_POL_MALFORMED, 0, 0 },
		{ "truncated TCP ports", 1, K_TCP, C4, W4, 40000, 8080, SYN, 0, 0, 0, 17, DROP, WEFT_STAT_POL_MALFORMED, 0, 0 },
		{ "non-first IPv4 fragment, first not seen (client not allowed every port)", 1, K_TCP, C4, W4, 0, 0, 0, 0, 100, 0, 0, DROP, WEFT_STAT_FRAG_UNKNOWN, 0, 0 },
		{ "IPv6 SYN behind hop-by-hop options", 1, K_TCP, C6, W6, 40000, 8080, SYN, 0, 0, 1, 0, OK, NONE, 0, 0 },
		{ "IPv6 SYN behind hop-by-hop options, port not allowed", 1, K_TCP, C6, W6, 40001, 9090, SYN, 0, 0, 1, 0, DROP, WEFT_STAT_POL_TC_INGRESS_DENY, 0, 0 },
		{ "IPv6 non-first fragment, first not seen", 1, K_TCP, C6, W6, 0, 0, 0, 0, 100, 0, 0, DROP, WEFT_STAT_FRAG_UNKNOWN, 0, 0 },
		{ "truncated IPv6 extension header", 1, K_TCP, C6, W6, 40000, 8080, SYN, 0, 0, 1, 24, DROP, WEFT_STAT_POL_MALFORMED, 0, 0 },
		{ "ICMP error from the world", 1, K_ICMP, WORLD, W4, 0, 0, 0, 3, 0, 0, 0, OK, NONE, 0, 0 },
		{ "ICMP echo from a client", 1, K_ICMP, C4, W4, 0, 0, 0, 8, 0, 0, 0, DROP, WEFT_STAT_POL_TC_INGRESS_DENY, 0, 0 },
		{ "ICMPv6 neighbour solicitation", 1, K_ICMP, C6, W6, 0, 0, 0, 135, 0, 0, 0, OK, NONE, 0, 0 },
		{ "non-IP (ARP)", 1, K_ARP, C4, W4, 0, 0, 0, 0, 0, 0, 0, OK, NONE, 0, 0 },
		/* Fragments: the first one's ports decide for the rest. */
		{ "first IPv4 fragment of an allowed UDP datagram", 1, K_UDP, C4, W4, 5100, 53, 0, 0, 0, 0, 0, OK, NONE, 1, 0x1234 },
		{ "its middle fragment (no UDP header)", 1, K_UDP, C4, W4, 0, 0, 0, 0, 185, 0, 0, OK, NONE, 1, 0x1234 },
		{ "its last fragment", 1, K_UDP, C4, W4, 0, 0, 0, 0, 370, 0, 0, OK, NONE, 0, 0x1234 },
		{ "a fragment of another datagram whose first was not seen", 1, K_UDP, C4, W4, 0, 0, 0, 0, 185, 0, 0, DROP, WEFT_STAT_FRAG_UNKNOWN, 0, 0x1235 },
		{ "first fragment to a port not allowed", 1, K_UDP, C4, W4, 5101, 54, 0, 0, 0, 0, 0, DROP, WEFT_STAT_POL_TC_INGRESS_DENY, 1, 0x2222 },
		{ "its later fragment: the first one's verdict", 1, K_UDP, C4, W4, 0, 0, 0, 0, 185, 0, 0, DROP, WEFT_STAT_POL_TC_INGRESS_DENY, 0, 0x2222 },
		{ "fragmented reply from web: first", 0, K_UDP, W4, C4, 53, 5100, 0, 0, 0, 0, 0, OK, NONE, 1, 0x3333 },
		{ "fragmented reply from web: last (a reply of the tracked flow)", 0, K_UDP, W4, C4, 0, 0, 0, 0, 185, 0, 0, OK, NONE, 0, 0x3333 },
		{ "first IPv6 fragment of an allowed UDP datagram", 1, K_UDP, C6, W6, 5100, 53, 0, 0, 0, 0, 0, OK, NONE, 1, 0xabcdef01 },
		{ "its last IPv6 fragment", 1, K_UDP, C6, W6, 0, 0, 0, 0, 185, 0, 0, OK, NONE, 0, 0xabcdef01 },
		{ "IPv6 fragment behind hop-by-hop options", 1, K_UDP, C6, W6, 0, 0, 0, 0, 370, 1, 0, OK, NONE, 0, 0xabcdef01 },
		{ "IPv6 fragment of another identification", 1, K_UDP, C6, W6, 0, 0, 0, 0, 185, 0, 0, DROP, WEFT_STAT_FRAG_UNKNOWN, 0, 0xabcdef02 },
		{ "first IPv6 fragment to a port not allowed", 1, K_UDP, C6, W6, 5101, 54, 0, 0, 0, 0, 0, DROP, WEFT_STAT_POL_TC_INGRESS_DENY, 1, 7 },
		{ "its later IPv6 fragment", 1, K_UDP, C6, W6, 0, 0, 0, 0, 185, 0, 0, DROP, WEFT_STAT_POL_TC_INGRESS_DENY, 0, 7 },
		/* Anti-spoofing: this interface carries web (W4, W6) only. */
		{ "from web with a client's source (an endpoint of another interface)", 0, K_UDP, C4, WORLD, 5200, 53, 0, 0, 0, 0, 0, DROP, WEFT_STAT_SPOOFED, 0, 0 },
		{ "from web with a world source", 0, K_UDP, WORLD, C4, 5200, 53, 0, 0, 0, 0, 0, DROP, WEFT_STAT_SPOOFED, 0, 0 },
		{ "spoofed reply of a tracked flow", 0, K_UDP, "10.250.0.22", C4, 53, 5000, 0, 0, 0, 0, 0, DROP, WEFT_STAT_SPOOFED, 0, 0 },
		{ "spoofed IPv6 source", 0, K_TCP, C6, W6, 40000, 8080, SYN, 0, 0, 0, 0, DROP, WEFT_STAT_SPOOFED, 0, 0 },
		{ "spoofed ICMP error", 0, K_ICMP, WORLD, C4, 0, 0, 0, 3, 0, 0, 0, DROP, WEFT_STAT_SPOOFED, 0, 0 },
		{ "spoofed first fragment records nothing", 0, K_UDP, C4, W4, 5100, 53, 0, 0, 0, 0, 0, DROP, WEFT_STAT_SPOOFED, 1, 0x4444 },
		{ "ICMP error from web's own source passes", 0, K_ICMP, W4, WORLD, 0, 0, 0, 3, 0, 0, 0, OK, NONE, 0, 0 },
		{ "link-local source: neighbour solicitation passes", 0, K_ICMP, "fe80::2", "fe80::1", 0, 0, 0, 135, 0, 0, 0, OK, NONE, 0, 0 },
		{ "unspecified source: DAD passes", 0, K_ICMP, "::", "ff02::1:ff00:21", 0, 0, 0, 135, 0, 0, 0, OK, NONE, 0, 0 },
		{ "link-local source: MLD report passes", 0, K_ICMP, "fe80::2", "ff02::16", 0, 0, 0, 143, 0, 0, 0, OK, NONE, 0, 0 },
		{ "link-local source is judged as web (no egress)", 0, K_UDP, "fe80::2", "fe80::1", 5300, 53, 0, 0, 0, 0, 0, DROP, WEFT_STAT_POL_TC_EGRESS_DENY, 0, 0 },
		{ "DHCP from 0.0.0.0 is judged as web", 0, K_UDP, "0.0.0.0", "255.255.255.255", 68, 67, 0, 0, 0, 0, 0, DROP, WEFT_STAT_POL_TC_EGRESS_DENY, 0, 0 },
		{ "to pod: broadcast is judged as web", 1, K_UDP, C4, "255.255.255.255", 5400, 54, 0, 0, 0, 0, 0, DROP, WEFT_STAT_POL_TC_INGRESS_DENY, 0, 0 },
		{ "to pod: broadcast to an allowed port", 1, K_UDP, C4, "255.255.255.255", 5401, 53, 0, 0, 0, 0, 0, OK, NONE, 0, 0 },
	};
	static const struct pkt_spec after_revoke[] = {
		{ "tracked flow after the policy closed web", 1, K_TCP, C4, W4, 40000, 8080, ACK, 0, 0, 0, 0, DROP, WEFT_STAT_POL_REVOKED, 0, 0 },
		{ "and it stays dropped as revoked", 1, K_TCP, C4, W4, 40000, 8080, ACK, 0, 0, 0, 0, DROP, WEFT_STAT_POL_REVOKED, 0, 0 },
		{ "its reply too", 0, K_TCP, W4, C4, 8080, 40000, ACK, 0, 0, 0, 0, DROP, WEFT_STAT_POL_REVOKED, 0, 0 },
	};
	/* A revoked flow must not come back through the other end: web's
	 * egress is open, so a reply judged as a new flow from web would pass
	 * and be tracked, and carry the client's packets as its replies. */
	static const struct pkt_spec open_egress[] = {
		{ "client SYN to web (ingress-only policy)", 1, K_TCP, C4, W4, 40100, 8080, SYN, 0, 0, 0, 0, OK, NONE, 0, 0 },
		{ "web's SYN-ACK", 0, K_TCP, W4, C4, 8080, 40100, SYN | ACK, 0, 0, 0, 0, OK, NONE, 0, 0 },
	};
	static const struct pkt_spec revoke_open_egress[] = {
		{ "web's mid-stream packet after its ingress closed", 0, K_TCP, W4, C4, 8080, 40100, ACK, 0, 0, 0, 0, DROP, WEFT_STAT_POL_REVOKED, 0, 0 },
		{ "web's next packet is not a new egress flow", 0, K_TCP, W4, C4, 8080, 40100, ACK, 0, 0, 0, 0, DROP, WEFT_STAT_POL_REVOKED, 0, 0 },
		{ "the client's packet stays dropped as revoked", 1, K_TCP, C4, W4, 40100, 8080, ACK, 0, 0, 0, 0, DROP, WEFT_STAT_POL_REVOKED, 0, 0 },
		{ "web opens a new connection: its egress is open", 0, K_TCP, W4, C4, 41100, 9000, SYN, 0, 0, 0, 0, OK, NONE, 0, 0 },
	};
	static const struct pkt_spec reopened[] = {
		{ "the policy allows the revoked flow again", 1, K_TCP, C4, W4, 40100, 8080, ACK, 0, 0, 0, 0, OK, NONE, 0, 0 },
		{ "and its reply", 0, K_TCP, W4, C4, 8080, 40100, ACK, 0, 0, 0, 0, OK, NONE, 0, 0 },
	};
	/* Global audit mode (datapath.policy_audit) over the closed policy:
	 * what it would drop passes, counted. */
	static const struct pkt_spec global_audit[] = {
		{ "audit: SYN from the world passes", 1, K_TCP, WORLD, W4, 40010, 8080, SYN, 0, 0, 0, 0, OK, WEFT_STAT_POL_AUDIT, 0, 0 },
		{ "audit: SCTP INIT to a closed port passes", 1, K_SCTP, C4, W4, 5010, 3869, 0, 0, 0, 0, 0, OK, WEFT_STAT_POL_AUDIT, 0, 0 },
		{ "audit: web's egress passes", 0, K_UDP, W4, WORLD, 5010, 53, 0, 0, 0, 0, 0, OK, WEFT_STAT_POL_AUDIT, 0, 0 },
		{ "audit: malformed packets are still dropped", 1, K_TCP, C4, W4, 40011, 8080, SYN, 0, 0, 0, 17, DROP, WEFT_STAT_POL_MALFORMED, 0, 0 },
	};
	static const struct pkt_spec audit_off[] = {
		{ "audit off again: SYN from the world dropped", 1, K_TCP, WORLD, W4, 40012, 8080, SYN, 0, 0, 0, 0, DROP, WEFT_STAT_POL_TC_INGRESS_DENY, 0, 0 },
	};
	static const struct pkt_spec no_tables[] = {
		{ "no flow tables: an allowed packet passes", 1, K_UDP, C4, W4, 6000, 53, 0, 0, 0, 0, 0, OK, WEFT_STAT_CT_NO_TABLE, 0, 0 },
		{ "and is not tracked: web's reply is judged (no egress)", 0, K_UDP, W4, C4, 53, 6000, 0, 0, 0, 0, 0, DROP, WEFT_STAT_POL_TC_EGRESS_DENY, 0, 0 },
	};
	static const struct pkt_spec no_iface[] = {
		{ "no addresses for the interface: to the pod dropped", 1, K_TCP, C4, W4, 40020, 8080, SYN, 0, 0, 0, 0, DROP, WEFT_STAT_IF_UNKNOWN, 0, 0 },
		{ "from the pod dropped", 0, K_UDP, W4, C4, 53, 5000, 0, 0, 0, 0, 0, DROP, WEFT_STAT_IF_UNKNOWN, 0, 0 },
		{ "non-IP still passes", 0, K_ARP, W4, C4, 0, 0, 0, 0, 0, 0, 0, OK, NONE, 0, 0 },
	};
	static const struct pkt_spec no_subject[] = {
		{ "an address without an endpoint identity", 0, K_UDP, "10.250.0.99", C4, 5500, 53, 0, 0, 0, 0, 0, DROP, WEFT_STAT_SUBJECT_UNKNOWN, 0, 0 },
	};
	static const char *const web_addrs[] = { W4, W6 };
	static const char *const odd[] = { "10.250.0.99" };
	struct weft_pol_state cur = { 0 };
	struct sfx f = { .cgfd = -1 };
	struct weft_ct_cnt ct_before, ct_after;
	char err[512] = "";
	struct weft_if_src lo_src;
	uint32_t lo = 1;

	tenv_need_root();
	if (!ASSERT_OK(sfx_load(&f.skel, is_tc), "load the tc programs") ||
	    !ASSERT_OK(sfx_tc_iface(f.skel, 1, web_addrs, 2, 4096), "web's interface: lo, ifindex 1"))
		goto out;
	run(&f, no_policy, sizeof(no_policy) / sizeof(no_policy[0]));
	if (!ASSERT_OK(sfx_policy(f.skel, &cur, EPS WEB_POLICY, err, sizeof(err)), err))
		goto out;
	run(&f, cases, sizeof(cases) / sizeof(cases[0]));
	if (!ASSERT_OK(sfx_policy(f.skel, &cur, EPS WEB_CLOSED, err, sizeof(err)), err))
		goto out;
	run(&f, after_revoke, sizeof(after_revoke) / sizeof(after_revoke[0]));
	if (!ASSERT_OK(sfx_policy(f.skel, &cur, "datapath: {policy_audit: true}\n" EPS WEB_CLOSED, err,
				  sizeof(err)), err))
		goto out;
	run(&f, global_audit, sizeof(global_audit) / sizeof(global_audit[0]));
	if (!ASSERT_OK(sfx_policy(f.skel, &cur, EPS WEB_CLOSED, err, sizeof(err)), err))
		goto out;
	run(&f, audit_off, sizeof(audit_off) / sizeof(audit_off[0]));
	if (!ASSERT_OK(sfx_policy(f.skel, &cur, EPS WEB_INGRESS_ONLY, err, sizeof(err)), err))
		goto out;
	run(&f, open_egress, sizeof(open_egress) / sizeof(open_egress[0]));
	ct_before = ct_counts(&f, 1);
	if (!ASSERT_OK(sfx_policy(f.skel, &cur, EPS WEB_INGRESS_CLOSED, err, sizeof(err)), err))
		goto out;
	run(&f, revoke_open_egress, sizeof(revoke_open_egress) / sizeof(revoke_open_egress[0]));
	ct_after = ct_counts(&f, 1);
	ASSERT_EQ(ct_after.removed[WEFT_DIR_INGRESS] - ct_before.removed[WEFT_DIR_INGRESS], 1,
		  "the revoked flow is counted once, however many packets it drops");
	ASSERT_EQ(ct_after.tracked[WEFT_DIR_EGRESS] - ct_before.tracked[WEFT_DIR_EGRESS], 1,
		  "only web's new connection was tracked as an egress flow");
	if (!ASSERT_OK(sfx_policy(f.skel, &cur, EPS WEB_INGRESS_ONLY, err, sizeof(err)), err))
		goto out;
	run(&f, reopened, sizeof(reopened) / sizeof(reopened[0]));
	/* Fail closed where the per-interface state is missing. */
	if (!ASSERT_OK(sfx_policy(f.skel, &cur, EPS WEB_POLICY, err, sizeof(err)), err))
		goto out;
	ASSERT_OK(bpf_map_lookup_elem(bpf_map__fd(f.skel->maps.weft_if_src), &lo, &lo_src), "lo's slot");
	ASSERT_OK(bpf_map_delete_elem(bpf_map__fd(f.skel->maps.weft_ct_ingress), &lo_src.slot), "drop the tables");
	ASSERT_OK(bpf_map_delete_elem(bpf_map__fd(f.skel->maps.weft_ct_egress), &lo_src.slot), "both");
	run(&f, no_tables, sizeof(no_tables) / sizeof(no_tables[0]));
	ASSERT_OK(bpf_map_delete_elem(bpf_map__fd(f.skel->maps.weft_if_src), &lo), "drop the addresses");
	run(&f, no_iface, sizeof(no_iface) / sizeof(no_iface[0]));
	if (!ASSERT_OK(sfx_tc_iface(f.skel, 1, odd, 1, 64), "an interface of a non-endpoint"))
		goto out;
	run(&f, no_subject, sizeof(no_subject) / sizeof(no_subject[0]));
out:
	weft_pol_free(&cur);
	weft__destroy(f.skel);
}

/* One packet through a tc program as if it crossed interface ifindex (of
 * the netns this process is in). The program's verdict, or -1. */
static int run_on(struct sfx *f, const struct pkt_spec *s, int ifindex)
{
	int prog = bpf_program__fd(s->to_pod ? f->skel->progs.weft_to_pod : f->skel->progs.weft_from_pod);
	struct __sk_buff ctx = { .ifindex = (uint32_t)ifindex };
	uint8_t buf[256];
	size_t len = build(s, buf);
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = buf, .data_size_in = len, .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = 1);

	if (bpf_prog_test_run_opts(prog, &o))
		return -1;
	return (int)o.retval;
}

#define A4 "10.250.0.31"
#define B4 "10.250.0.32"

/*
 * Flow tracking per interface and direction: pod a opens 3000 UDP flows to
 * pod b, two datagrams each (both under policy, both tables 256 flows). b's own flow to the
 * world, opened before, keeps passing its replies: a could evict only the
 * flows on its own interface and the flows opened to b, never b's own. With
 * one shared table of that size, b's reply would be judged as a new flow
 * into b and dropped by b's default deny. The LRU's evictions are counted.
 */
TEST(bpf, tc_conntrack_flood_stays_on_its_interface)
{
	static const char *const pol =
		"endpoints:\n"
		"  - {name: a, ip: " A4 ", labels: {app: a}}\n"
		"  - {name: b, ip: " B4 ", labels: {app: b}}\n"
		"policies:\n"
		"  - name: a\n"
		"    selector: {app: a}\n"
		"    ingress: []\n"
		"    egress: [{to: [{cidr: 10.9.0.0/16}, {selector: {app: b}}]}]\n"
		"  - name: b\n"
		"    selector: {app: b}\n"
		"    ingress: [{from: [{selector: {app: a}}], ports: [{port: 53, protocol: udp}]}]\n"
		"    egress: [{to: [{cidr: 10.9.0.0/16}]}]\n";
	static const char *const aa[] = { A4 }, *const ba[] = { B4 };
	const struct pkt_spec b_out = { "b opens a flow to the world", 0, K_UDP, B4, WORLD, 4000, 53,
					0, 0, 0, 0, 0, OK, NONE, 0, 0 };
	const struct pkt_spec b_reply = { "the world answers b", 1, K_UDP, WORLD, B4, 53, 4000,
					  0, 0, 0, 0, 0, OK, NONE, 0, 0 };
	struct pkt_spec flood = { "a to b", 0, K_UDP, A4, B4, 0, 53, 0, 0, 0, 0, 0, OK, NONE, 0, 0 };
	struct pkt_spec a_reply = { "b answers a's first flow", 1, K_UDP, B4, A4, 53, 10000,
				    0, 0, 0, 0, 0, OK, NONE, 0, 0 };
	const int nflows = 3000, cap = 256;
	struct weft_pol_state cur = { 0 };
	struct sfx f = { .cgfd = -1 };
	struct weft_ct_usage ua, ub;
	struct weft_maps maps;
	char err[512] = "";
	int ia, ib, bad = 0;

	tenv_need_root();
	if (!ASSERT_OK(tenv_pod("a", A4, NULL), "pod a") || !ASSERT_OK(tenv_pod("b", B4, NULL), "pod b") ||
	    !ASSERT_OK(tenv_enter("node", false), "into the node netns"))
		return;
	ia = (int)if_nametoindex("wv-a");
	ib = (int)if_nametoindex("wv-b");
	if (!ASSERT_TRUE(ia > 0 && ib > 0, "the pods' host-side interfaces") ||
	    !ASSERT_OK(sfx_load(&f.skel, is_tc), "load the tc programs") ||
	    !ASSERT_OK(sfx_tc_iface(f.skel, ia, aa, 1, cap), "a's interface") ||
	    !ASSERT_OK(sfx_tc_iface(f.skel, ib, ba, 1, cap), "b's interface") ||
	    !ASSERT_OK(sfx_policy(f.skel, &cur, pol, err, sizeof(err)), err))
		goto out;
	ASSERT_EQ(run_on(&f, &b_out, ib), OK, b_out.name);
	ASSERT_EQ(run_on(&f, &b_reply, ib), OK, b_reply.name);
	/* Two datagrams a flow: the second finds its entry, which the LRU then
	 * counts as used (a flow used once is evicted before one used twice). */
	for (int i = 0; i < nflows; i++) {
		flood.sport = (uint16_t)(10000 + i);
		for (int n = 0; n < 2; n++) {
			flood.to_pod = 0;
			bad += run_on(&f, &flood, ia) != OK;	/* leaves a */
			flood.to_pod = 1;
			bad += run_on(&f, &flood, ib) != OK;	/* reaches b */
		}
	}
	ASSERT_EQ(bad, 0, "every flow of the flood allowed");
	ASSERT_EQ(run_on(&f, &b_reply, ib), OK, "after the flood, b's flow still passes its replies");
	ASSERT_EQ(run_on(&f, &a_reply, ia), DROP, "a's own oldest flow was evicted (only a's)");
	sfx_maps(f.skel, &maps);
	if (!ASSERT_OK(weft_tc_iface_usage(&maps, ia, &ua), "a's tables") ||
	    !ASSERT_OK(weft_tc_iface_usage(&maps, ib, &ub), "b's tables"))
		goto out;
	ASSERT_LE(ua.entries[WEFT_DIR_EGRESS], cap, "a's table holds at most its size");
	ASSERT_GE(ua.evicted[WEFT_DIR_EGRESS], nflows - cap, "a's evictions counted");
	ASSERT_GE(ub.evicted[WEFT_DIR_INGRESS], nflows - cap, "flows opened to b evicted in b's inbound table");
	ASSERT_EQ(ub.entries[WEFT_DIR_EGRESS], 1, "b's own flow kept");
	ASSERT_EQ(ub.evicted[WEFT_DIR_EGRESS], 0, "nothing evicted from b's own flows");
	ASSERT_EQ(ua.tracked[WEFT_DIR_EGRESS], nflows, "every flow of a tracked once");
out:
	weft_pol_free(&cur);
	weft__destroy(f.skel);
}
