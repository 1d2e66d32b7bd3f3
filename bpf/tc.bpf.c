// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* tc clsact on an endpoint's host-side interface: L4 policy on packets.
 * weft_to_pod sits on clsact egress (packets into the pod: its ingress
 * policy), weft_from_pod on clsact ingress (packets out of the pod: its
 * egress policy). The logic is in lib/tc.h. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "weft/abi.h"
#include "lib/tc.h"

SEC("tc")
int weft_to_pod(struct __sk_buff *skb)
{
	return weft_tc_policy(skb, WEFT_DIR_INGRESS);
}

SEC("tc")
int weft_from_pod(struct __sk_buff *skb)
{
	return weft_tc_policy(skb, WEFT_DIR_EGRESS);
}
