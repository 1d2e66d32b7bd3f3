/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sockfix: the fixture of the socket-hook tests. Loads weft's skeleton with
 * only the service-translation programs (bpf/sock.bpf.c), attaches them to
 * the test's own cgroup, and writes services into the maps with the ABI
 * structs, the way weftd does: backends, slot table, then weft_svc last.
 */
#ifndef WEFT_TESTS_SOCKFIX_H
#define WEFT_TESTS_SOCKFIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/maps.h"
#include "weft/abi.h"

#define SFX_NPROGS 8

struct weft;
struct bpf_link;
struct weft_pol_state;

struct sfx {
	struct weft *skel;
	struct bpf_link *link[SFX_NPROGS + 1];	/* + sockops (sfx_open_sockops) */
	bool msg_attached;	/* weft_redir on weft_sock (sfx_open_sockops) */
	int cgfd;
	uint32_t next_id;	/* service port ids handed out, from 1 */
};

struct sfx_be {
	const char *ip;		/* text, IPv4 or IPv6 */
	uint16_t port;		/* host order */
	uint16_t weight;	/* 0 counts as 1 */
};

struct sfx_svc {
	const char *vip;	/* text, IPv4 or IPv6 (or ::ffff:a.b.c.d) */
	uint16_t port;		/* host order */
	uint8_t proto;		/* IPPROTO_TCP or IPPROTO_UDP */
	uint8_t lb;		/* WEFT_LB_* */
	uint32_t affinity;	/* seconds, 0 = none */
	uint32_t table;		/* slots: 0 = weights expanded; else a table of
				 * this size, slot i -> backend i % nbe */
	const struct sfx_be *be;
	size_t nbe;		/* 0 = a service without backends */
};

/* Open and load the skeleton (socket programs only, small maps), attach the
 * 8 socket programs to tenv_cgroup(). 0 or -errno. */
/* Open the skeleton, load only the programs wanted() picks, with small
 * maps. 0 or -errno; *skel is set even on failure (weft__destroy it). */
int sfx_load(struct weft **skel, bool (*wanted)(struct weft *, const struct bpf_program *));

int sfx_open(struct sfx *f);

/* sfx_open and the redirect programs: sockops on tenv_cgroup() too, and
 * the sk_msg program on weft_sock (attached first). weft_redir_cfg is left
 * zero (redirect off): the caller sets it. 0 or -errno. */
int sfx_open_sockops(struct sfx *f);

void sfx_close(struct sfx *f);

/* Write a service; returns its id (>= 1) or -errno. */
int sfx_add_service(struct sfx *f, const struct sfx_svc *svc);

/* A datapath counter summed over CPUs. */
uint64_t sfx_stat(struct sfx *f, enum weft_stat stat);

/* The usual pods: cli 10.250.0.10, be1 .21, be2 .22, be3 .23 (and
 * fd00:250::N), nbe of the backends with namesrv ("be1", ...) listening on
 * [::]:port for each of ports[0..nports-1]. 0 or -1. */
int sfx_pods(int nbe, const uint16_t *ports, int nports);

/* The client: join the test cgroup and the cli pod. 0 or -errno. */
int sfx_enter_cli(void);

/* Compile yaml's policies and write them into skel's maps as weftd does
 * (weft_pol_build + weft_pol_apply); *cur becomes the new state. 0 or
 * -errno (err filled). */

int sfx_policy(struct weft *skel, struct weft_pol_state *cur, const char *yaml, char *err,
	       size_t errlen);

/* The fds of skel's maps, by registry id. */
struct weft_maps;
void sfx_maps(struct weft *skel, struct weft_maps *maps);

/* What weftd writes for an interface it puts the tc programs on
 * (weft_tc_iface_put): its endpoint addresses (text, at most
 * WEFT_IF_ADDRS) and flow tables of ct_size entries. ifindex 1 is the
 * loopback device BPF_PROG_TEST_RUN runs a packet on by default. 0 or
 * -errno. */
int sfx_tc_iface(struct weft *skel, int ifindex, const char *const *addrs, size_t n,
		 uint32_t ct_size);

#endif /* WEFT_TESTS_SOCKFIX_H */
