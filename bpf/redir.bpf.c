// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* sk_msg: same-node socket-to-socket redirect. Attached to the weft_sock
 * sockhash (not to a cgroup); runs on every sendmsg of a learned socket.
 * The logic is in lib/redir.h. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "weft/abi.h"
#include "lib/redir.h"

SEC("sk_msg")
int weft_redir(struct sk_msg_md *msg)
{
	return weft_redir_msg(msg);
}
