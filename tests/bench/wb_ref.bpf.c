// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The benchmark's bare sockmap reference (issue 17): the least a same-node
 * socket redirect can do, and so the limit weft-redirect is measured
 * against. sockops puts every established IPv4 TCP socket of the cgroup in
 * a sockhash under its own 4-tuple; sk_msg hands each message to the
 * socket keyed by the reverse tuple, if there is one, else to the stack.
 * No load balancing, policy, counters, RTT samples or ordering guard.
 * Loaded and attached with bpftool by tests/bench/bench.sh.
 */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

struct ref_key {
	__u32 lip, rip;		/* network order */
	__u16 lport, rport;	/* network order */
};

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 65536);
	__type(key, struct ref_key);
	__type(value, __u64);
} wb_ref_sock SEC(".maps");

SEC("sockops")
int wb_ref_sockops(struct bpf_sock_ops *o)
{
	/* local_port: host order; remote_port: network order, upper 16 bits */
	struct ref_key k = { .lip = o->local_ip4, .rip = o->remote_ip4,
			     .lport = bpf_htons((__u16)o->local_port),
			     .rport = (__u16)(o->remote_port >> 16) };

	if (o->family == 2 && (o->op == BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB ||
			       o->op == BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB))
		bpf_sock_hash_update(o, &wb_ref_sock, &k, BPF_ANY);
	return 1;
}

SEC("sk_msg")
int wb_ref_msg(struct sk_msg_md *m)
{
	struct ref_key peer = { .lip = m->remote_ip4, .rip = m->local_ip4,
				.lport = (__u16)(m->remote_port >> 16),
				.rport = bpf_htons((__u16)m->local_port) };

	if (m->family == 2)
		bpf_msg_redirect_hash(m, &wb_ref_sock, &peer, BPF_F_INGRESS);
	return SK_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
