/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The tc programs' packet parser (lib/tc.h judges what it finds): Ethernet,
 * IPv4 or IPv6 with its extension headers, fragments, and the L4 ports or
 * ICMP type, into a struct weft_pkt. Every read is bounds-checked against
 * skb->data_end.
 *
 * It touches no map and calls no helper, so it also builds for the host
 * (tests/fuzz/tc_host.h: struct __sk_buff with pointer-sized data and
 * data_end, the kernel's ethhdr/iphdr/ipv6hdr from the UAPI headers), where
 * a fuzz target drives it over arbitrary bytes. Its includer provides those
 * types: vmlinux.h here, the shim there.
 */
#ifndef WEFT_BPF_PKT_H
#define WEFT_BPF_PKT_H

#include <bpf/bpf_endian.h>

#define WEFT_TC_MAX_EXT 4	/* IPv6 extension headers walked */

#define WEFT_ETH_P_IP 0x0800
#define WEFT_ETH_P_IPV6 0x86DD
#define WEFT_IP_MF 0x2000
#define WEFT_IP_OFFSET 0x1fff
#define WEFT_IPPROTO_ICMPV6 58
#define WEFT_IPV6_FRAGMENT 44	/* the fragment extension header */
#define WEFT_IP6_OFFSET 0xfff8	/* fragment header: offset, 8-byte units << 3 */
#define WEFT_IP6_MF 0x0001	/* fragment header: more fragments */
#define WEFT_SCTP_HDR_LEN 12	/* ports, verification tag, checksum */

/* Where a packet stands in a fragmented datagram (struct weft_pkt.frag). */
#define WEFT_FRAG_NONE 0	/* not fragmented (or an atomic fragment) */
#define WEFT_FRAG_FIRST 1	/* offset 0, more to come: carries the L4 header */
#define WEFT_FRAG_LATER 2	/* offset > 0: no L4 header */

static __always_inline void weft_tc_v4(__be32 *a, __be32 ip4)
{
	a[0] = 0;
	a[1] = 0;
	a[2] = bpf_htonl(0xffff);
	a[3] = ip4;
}

/* A parsed packet: addresses in the 16-byte form, ports 0 when absent. */
struct weft_pkt {
	__be32 src[4];
	__be32 dst[4];
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 frag;		/* WEFT_FRAG_* */
	__u8 pass;		/* 1: pass without a decision (ICMP error, ND) */
	__u8 fproto;		/* fragments: weft_frag_key.proto */
	__be32 frag_id;		/* fragments: weft_frag_key.id */
};

enum weft_parse { WEFT_P_OK, WEFT_P_NOT_IP, WEFT_P_BAD };

/* Protocols judged by port and tracked as flows. */
static __always_inline int weft_tc_ported(__u8 proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP;
}

static __always_inline int weft_icmp_passes(__u8 proto, __u8 type)
{
	if (proto == IPPROTO_ICMP)
		return type == 3 || type == 11 || type == 12;
	/* ICMPv6: errors 1-4, MLD 130-132 and 143, router/neighbour
	 * discovery 133-137 */
	return (type >= 1 && type <= 4) || (type >= 130 && type <= 137) || type == 143;
}

/* L4 at off: ports, or the ICMP type. */
static __always_inline int weft_parse_l4(struct __sk_buff *skb, __u32 off, struct weft_pkt *p)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;

	if (p->frag == WEFT_FRAG_LATER)
		return WEFT_P_OK;
	if (weft_tc_ported(p->proto)) {
		__be16 *ports = data + off;

		/* TCP, UDP: the ports; SCTP: its whole common header */
		if ((void *)(ports + 2) > end ||
		    (p->proto == IPPROTO_SCTP && data + off + WEFT_SCTP_HDR_LEN > end))
			return WEFT_P_BAD;
		p->sport = ports[0];
		p->dport = ports[1];
	} else if (p->proto == IPPROTO_ICMP || p->proto == WEFT_IPPROTO_ICMPV6) {
		__u8 *type = data + off;

		if ((void *)(type + 1) > end)
			return WEFT_P_BAD;
		p->pass = weft_icmp_passes(p->proto, *type);
	}
	return WEFT_P_OK;
}

static __always_inline int weft_parse(struct __sk_buff *skb, struct weft_pkt *p)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	__u32 off = sizeof(*eth);

	if ((void *)(eth + 1) > end)
		return WEFT_P_NOT_IP;
	if (eth->h_proto == bpf_htons(WEFT_ETH_P_IP)) {
		struct iphdr *ip = data + off;
		__u16 fo;
		__u32 hl;

		if ((void *)(ip + 1) > end)
			return WEFT_P_BAD;
		hl = ip->ihl * 4;
		if (hl < sizeof(*ip))
			return WEFT_P_BAD;
		weft_tc_v4(p->src, ip->saddr);
		weft_tc_v4(p->dst, ip->daddr);
		p->proto = ip->protocol;
		fo = bpf_ntohs(ip->frag_off);
		if (fo & WEFT_IP_OFFSET)
			p->frag = WEFT_FRAG_LATER;
		else if (fo & WEFT_IP_MF)
			p->frag = WEFT_FRAG_FIRST;
		p->fproto = ip->protocol;
		p->frag_id = ip->id;
		return weft_parse_l4(skb, off + hl, p);
	}
	if (eth->h_proto == bpf_htons(WEFT_ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = data + off;
		__u8 nh;

		if ((void *)(ip6 + 1) > end)
			return WEFT_P_BAD;
		__builtin_memcpy(p->src, &ip6->saddr, 16);
		__builtin_memcpy(p->dst, &ip6->daddr, 16);
		nh = ip6->nexthdr;
		off += sizeof(*ip6);
		/* A loop with a constant bound: the verifier walks it. */
		for (int i = 0; i < WEFT_TC_MAX_EXT; i++) {
			__u8 *h;

			if (nh != 0 && nh != 43 && nh != 60 && nh != WEFT_IPV6_FRAGMENT)
				break;
			data = (void *)(long)skb->data;
			end = (void *)(long)skb->data_end;
			h = data + off;
			if ((void *)(h + 8) > end)
				return WEFT_P_BAD;
			if (nh == WEFT_IPV6_FRAGMENT) {
				/* 8 bytes: next header, reserved, offset and
				 * flags (2..3), identification (4..7) */
				__be16 fo = *(__be16 *)(h + 2);

				p->fproto = h[0];
				p->frag_id = *(__be32 *)(h + 4);
				if (fo & bpf_htons(WEFT_IP6_OFFSET)) {
					/* the rest is payload, not headers */
					p->frag = WEFT_FRAG_LATER;
					p->proto = h[0];
					return WEFT_P_OK;
				}
				if (fo & bpf_htons(WEFT_IP6_MF))
					p->frag = WEFT_FRAG_FIRST;
				nh = h[0];
				off += 8;
			} else {
				nh = h[0];
				off += ((__u32)h[1] + 1) * 8;
			}
			if (off > 512)
				return WEFT_P_BAD;
		}
		p->proto = nh;
		return weft_parse_l4(skb, off, p);
	}
	return WEFT_P_NOT_IP;
}

#endif /* WEFT_BPF_PKT_H */
