// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* cgroup connect/sendmsg/recvmsg/getpeername hooks: service translation at
 * the socket layer. The logic is in lib/svc.h. */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "weft/abi.h"
#include "lib/svc.h"

SEC("cgroup/connect4")
int weft_connect4(struct bpf_sock_addr *ctx)
{
	return weft_sock_xlate4(ctx, WEFT_CNT_CONNECT);
}

SEC("cgroup/connect6")
int weft_connect6(struct bpf_sock_addr *ctx)
{
	return weft_sock_xlate6(ctx, WEFT_CNT_CONNECT);
}

SEC("cgroup/sendmsg4")
int weft_sendmsg4(struct bpf_sock_addr *ctx)
{
	return weft_sock_xlate4(ctx, WEFT_CNT_SEND);
}

SEC("cgroup/sendmsg6")
int weft_sendmsg6(struct bpf_sock_addr *ctx)
{
	return weft_sock_xlate6(ctx, WEFT_CNT_SEND);
}

SEC("cgroup/recvmsg4")
int weft_recvmsg4(struct bpf_sock_addr *ctx)
{
	return weft_sock_rev4(ctx);
}

SEC("cgroup/recvmsg6")
int weft_recvmsg6(struct bpf_sock_addr *ctx)
{
	return weft_sock_rev6(ctx);
}

SEC("cgroup/getpeername4")
int weft_getpeer4(struct bpf_sock_addr *ctx)
{
	return weft_sock_rev4(ctx);
}

SEC("cgroup/getpeername6")
int weft_getpeer6(struct bpf_sock_addr *ctx)
{
	return weft_sock_rev6(ctx);
}
