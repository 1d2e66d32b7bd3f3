/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Every map of weft's datapath, declared once. bpf/maps.bpf.c defines
 * WEFT_DEFINE_MAPS before including this file and so holds the only
 * definitions; every other .bpf.c gets extern declarations of the identical
 * type, which `bpftool gen object` resolves when it links the objects into
 * build/weft.bpf.o. Key and value types come from weft/abi.h. Sizes are
 * defaults: weftd sets the real ones with bpf_map__set_max_entries().
 */
#ifndef WEFT_BPF_MAPS_H
#define WEFT_BPF_MAPS_H

#include <bpf/bpf_helpers.h>

#include "weft/abi.h"

#ifdef WEFT_DEFINE_MAPS
#define WEFT_MAP_STORAGE
#else
#define WEFT_MAP_STORAGE extern
#endif

#define WEFT_MAP(name_, type_, key_, value_, max_, flags_)	\
	WEFT_MAP_STORAGE struct {				\
		__uint(type, type_);				\
		__type(key, key_);				\
		__type(value, value_);				\
		__uint(max_entries, max_);			\
		__uint(map_flags, flags_);			\
	} name_ SEC(".maps")

/* Service frontends: VIP, port, protocol -> id, slot count, algorithm. */
WEFT_MAP(weft_svc, BPF_MAP_TYPE_HASH, struct weft_svc_key, struct weft_svc_val,
	 WEFT_DEF_MAX_SERVICES, 0);

/* Backends of each service port, by index: affinity checks a kept backend. */
WEFT_MAP(weft_be, BPF_MAP_TYPE_HASH, struct weft_be_key, struct weft_backend,
	 WEFT_DEF_MAX_BACKENDS, BPF_F_NO_PREALLOC);

/* Selection tables: slot -> backend (weights expanded, or a Maglev table). */
WEFT_MAP(weft_slot, BPF_MAP_TYPE_HASH, struct weft_slot_key, struct weft_backend,
	 WEFT_DEF_MAX_SLOTS, BPF_F_NO_PREALLOC);

/* Names of each service port; only user space reads it. */
WEFT_MAP(weft_svc_meta, BPF_MAP_TYPE_HASH, __u32, struct weft_svc_meta,
	 WEFT_DEF_MAX_SERVICES, BPF_F_NO_PREALLOC);

/* Round-robin counters, indexed by service port id (1..max). */
WEFT_MAP(weft_rr, BPF_MAP_TYPE_ARRAY, __u32, __u32, WEFT_DEF_MAX_SERVICES + 1, 0);

/* Client affinity: client of a service port -> the backend it keeps. */
WEFT_MAP(weft_aff, BPF_MAP_TYPE_LRU_HASH, struct weft_aff_key, struct weft_aff_val,
	 WEFT_DEF_MAX_AFFINITY, 0);

/* Reverse translation: socket and backend -> the VIP it asked for. */
WEFT_MAP(weft_rev, BPF_MAP_TYPE_LRU_HASH, struct weft_rev_key, struct weft_rev_val,
	 WEFT_DEF_MAX_REV, 0);

/* Datapath counters, enum weft_stat. */
WEFT_MAP(weft_stats, BPF_MAP_TYPE_PERCPU_ARRAY, __u32, __u64, WEFT_STAT_MAX, 0);

/* What the agent last applied (struct weft_info at key 0). */
WEFT_MAP(weft_info, BPF_MAP_TYPE_ARRAY, __u32, struct weft_info, 1, 0);

/* Connections, sends and refusals per service port id and per backend
 * (struct weft_cnt; not preallocated: per-CPU values on many CPUs add up). */
WEFT_MAP(weft_svc_cnt, BPF_MAP_TYPE_PERCPU_HASH, __u32, struct weft_cnt,
	 WEFT_DEF_MAX_SERVICES, BPF_F_NO_PREALLOC);
WEFT_MAP(weft_be_cnt, BPF_MAP_TYPE_PERCPU_HASH, struct weft_be_key, struct weft_cnt,
	 WEFT_DEF_MAX_BACKENDS, BPF_F_NO_PREALLOC);

/* Same-node redirect: established local TCP sockets by their own 4-tuple
 * (sockops adds them; the kernel removes them when they close). The sk_msg
 * program weft_redir is attached to this map. */
WEFT_MAP(weft_sock, BPF_MAP_TYPE_SOCKHASH, struct weft_sock_key, __u32, WEFT_DEF_MAX_SOCKS, 0);

/* Redirect switches: the global one (struct weft_redir_cfg at key 0) and the
 * endpoints with `redirect: false`. */
WEFT_MAP(weft_redir_cfg, BPF_MAP_TYPE_ARRAY, __u32, struct weft_redir_cfg, 1, 0);
WEFT_MAP(weft_redir_off, BPF_MAP_TYPE_HASH, struct weft_addr_key, __u32, WEFT_DEF_MAX_REDIR_OFF,
	 BPF_F_NO_PREALLOC);

/* L4 policy of the active epoch (see abi.h): address -> identity, and
 * {subject, peer, port, proto, direction} -> allow/deny/selected. */
WEFT_MAP(weft_pol_id, BPF_MAP_TYPE_LPM_TRIE, struct weft_pol_id_key, struct weft_pol_id_val,
	 WEFT_DEF_MAX_IDENTS, BPF_F_NO_PREALLOC);
WEFT_MAP(weft_pol, BPF_MAP_TYPE_HASH, struct weft_pol_key, struct weft_pol_val,
	 WEFT_DEF_MAX_POLICY, BPF_F_NO_PREALLOC);

/* Policy decisions per rule (struct weft_pol_cnt_key), per CPU. */
WEFT_MAP(weft_pol_cnt, BPF_MAP_TYPE_PERCPU_HASH, struct weft_pol_cnt_key, __u64,
	 WEFT_DEF_MAX_POLICY, BPF_F_NO_PREALLOC);

/* Pod netns cookie -> its endpoint addresses (unbound sockets' egress). */
WEFT_MAP(weft_ns_ep, BPF_MAP_TYPE_HASH, __u64, struct weft_ns_ep, WEFT_DEF_MAX_ENDPOINTS,
	 BPF_F_NO_PREALLOC);

/* Flows the tc programs allowed (struct weft_ct_key in abi.h). */
WEFT_MAP(weft_ct, BPF_MAP_TYPE_LRU_HASH, struct weft_ct_key, struct weft_ct_val, WEFT_DEF_MAX_CT, 0);

/* Per-socket redirect verdict and policy epoch: the seam of issue 4. */
WEFT_MAP_STORAGE struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__type(key, int);
	__type(value, struct weft_sk_state);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} weft_sk_state SEC(".maps");

/*
 * Observability (issue 5, see abi.h): local endpoints by address (weftd
 * writes them), one entry per live TCP socket (LRU: eviction is counted
 * WEFT_STAT_FLOW_MISSING at close), totals per {reporter, client, server,
 * service}, latency histograms per CPU, the switch of `weft observe` and its
 * ring buffer, and the connect start of each connecting socket.
 */
WEFT_MAP(weft_ep, BPF_MAP_TYPE_HASH, struct weft_addr_key, struct weft_ep_val,
	 WEFT_DEF_MAX_ENDPOINTS, BPF_F_NO_PREALLOC);
WEFT_MAP(weft_flow, BPF_MAP_TYPE_LRU_HASH, struct weft_sock_key, struct weft_flow,
	 WEFT_DEF_MAX_FLOWS, 0);
WEFT_MAP(weft_edge, BPF_MAP_TYPE_HASH, struct weft_edge_key, struct weft_edge_val,
	 WEFT_DEF_MAX_EDGES, 0);
WEFT_MAP(weft_hist, BPF_MAP_TYPE_PERCPU_HASH, struct weft_hist_key, struct weft_hist,
	 WEFT_DEF_MAX_HISTS, BPF_F_NO_PREALLOC);
WEFT_MAP(weft_obs_cfg, BPF_MAP_TYPE_ARRAY, __u32, struct weft_obs_cfg, 1, 0);

WEFT_MAP_STORAGE struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, WEFT_DEF_EVENTS_BYTES);
} weft_events SEC(".maps");

WEFT_MAP_STORAGE struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__type(key, int);
	__type(value, struct weft_sk_obs);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} weft_sk_obs SEC(".maps");

/* Count one event in weft_stats. */
static __always_inline void weft_stat_inc(__u32 stat)
{
	__u64 *c = bpf_map_lookup_elem(&weft_stats, &stat);

	if (c)
		*c += 1;
}

#endif /* WEFT_BPF_MAPS_H */
