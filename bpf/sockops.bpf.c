// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* sockops: per-connection observability (lib/obs.h) for every TCP socket of
 * the cgroup, and learning established local sockets into weft_sock for the
 * same-node redirect (lib/redir.h). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "weft/abi.h"
#include "lib/obs.h"
#include "lib/redir.h"
#include "lib/resops.h"

SEC("sockops")
int weft_sockops(struct bpf_sock_ops *ctx)
{
	switch (ctx->op) {
	case BPF_SOCK_OPS_TCP_CONNECT_CB:
		weft_obs_connect(ctx);
		weft_res_connect(ctx);
		break;
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		/* The flow first: once the socket is in weft_sock, sk_msg
		 * may add redirected bytes to it. */
		weft_obs_open(ctx);
		weft_redir_learn(ctx);
		if (ctx->op == BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB)
			weft_res_established(ctx);
		break;
	case BPF_SOCK_OPS_RTT_CB:
		weft_obs_rtt(ctx);
		break;
	case BPF_SOCK_OPS_STATE_CB:
		if (ctx->args[1] == BPF_TCP_CLOSE) {
			weft_obs_close(ctx);
			weft_res_close(ctx);
		}
		break;
	default:
		break;
	}
	return 1;
}
