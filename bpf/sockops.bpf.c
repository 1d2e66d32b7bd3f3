// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* sockops: learn established local TCP sockets (both ends) into weft_sock
 * for the same-node redirect. The logic is in lib/redir.h. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "weft/abi.h"
#include "lib/redir.h"

SEC("sockops")
int weft_sockops(struct bpf_sock_ops *ctx)
{
	switch (ctx->op) {
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		weft_redir_learn(ctx);
		break;
	default:
		break;
	}
	return 1;
}
