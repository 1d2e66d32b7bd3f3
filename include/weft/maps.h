/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The registry of weft's maps: one line per map, and the only place that
 * gives a map's pinned name, type, key, value, size setting and default
 * size. Everything else is generated from it: the BPF definitions
 * (bpf/lib/maps.h), the agent's map ids and names (enum weft_map_id,
 * agent/lib/maps.c), the `datapath.max_*` settings of weft.yaml and their
 * defaults (agent/source/file.c, agent/model/model.h), the sizes set at
 * load and the skeleton lookups (agent/datapath/datapath.c), the maps the
 * CLI opens and shows.
 *
 * WEFT_KNOB_LIST: X(knob, default, what): a size setting, `datapath.<knob>`.
 * WEFT_MAP_LIST: X(ID, name, type, key, value, knob, extra, flags):
 *	ID	the agent's id, WEFT_M_<ID>
 *	name	the BPF map and its pin under datapath.bpffs, 15 characters at
 *		most. A map whose layout changes gets a new name (weft_svc_v2),
 *		so a restarted agent never reads an old pin with a new layout.
 *	type	BPF_MAP_TYPE_<type>
 *	key, value	types from weft/abi.h (a ring buffer has neither: ignored;
 *		a map of maps has __u32 values, its inner maps' ids, and its
 *		inner map is <name>_inner in bpf/lib/maps.h)
 *	knob	the setting that sizes it, or `none`
 *	extra	entries added to the knob's value; a map without a knob has
 *		extra entries (socket storage: 0, as the kernel wants; a ring
 *		buffer: bytes)
 *	flags	BPF_F_* map flags
 * Order is the agent's id order; add new maps at the end.
 */
#ifndef WEFT_MAPS_H
#define WEFT_MAPS_H

#include "weft/abi.h"

#define WEFT_KNOB_LIST(X)                                                                          \
	X(max_services, 65536, "service ports (weft_svc, weft_rr, weft_svc_meta, weft_svc_cnt_v2, weft_svc_res)") \
	X(max_backends, 262144, "backends over all service ports (weft_be, weft_be_cnt_v2, weft_be_state)") \
	X(max_slots, 1048576, "selection slots over all service ports (weft_slot)")               \
	X(max_affinity, 65536, "client affinity entries (weft_aff, LRU)")                         \
	X(max_rev, 262144, "reverse translations (weft_rev, LRU)")                                 \
	X(max_policy, 262144, "policy entries, two generations (weft_pol, weft_pol_cnt)")         \
	X(max_idents, 65536, "address prefixes, two generations (weft_pol_id)")                   \
	X(max_policies, 16384, "policies, two generations (weft_pol_meta)")                       \
	X(max_endpoints, 16384, "endpoints (weft_ep_v2, weft_ns_ep)")                              \
	X(max_flows, 262144, "live TCP sockets observed (weft_flow, LRU)")                         \
	X(max_edges, 65536, "{reporter, client, server, service} totals (weft_edge)")              \
	X(max_hists, 16384, "latency histograms (weft_hist)")                                     \
	X(max_conntrack, 4096, "tracked flows per endpoint interface and direction (weft_ct_*)")

#define WEFT_NO_PREALLOC 1u	/* BPF_F_NO_PREALLOC, spelled for both sides */

#define WEFT_MAP_LIST(X)                                                                           \
	/* Service translation (sock.bpf.c) */                                                     \
	/* Not preallocated: a preallocated element replaced by an update is \
	 * reused at once, so a connect() that looked it up could read another \
	 * update's value (seen: a VIP left untranslated while services        \
	 * changed under load). */                                             \
	X(SVC, weft_svc, HASH, struct weft_svc_key, struct weft_svc_val, max_services, 0,          \
	  WEFT_NO_PREALLOC)                                                                        \
	X(BE, weft_be, HASH, struct weft_be_key, struct weft_backend, max_backends, 0,             \
	  WEFT_NO_PREALLOC)                                                                        \
	X(SLOT, weft_slot, HASH, struct weft_slot_key, struct weft_backend, max_slots, 0,          \
	  WEFT_NO_PREALLOC)                                                                        \
	X(META, weft_svc_meta, HASH, __u32, struct weft_svc_meta, max_services, 0,                 \
	  WEFT_NO_PREALLOC)                                                                        \
	X(RR, weft_rr, ARRAY, __u32, __u32, max_services, 1, 0)                                    \
	X(AFF, weft_aff, LRU_HASH, struct weft_aff_key, struct weft_aff_val, max_affinity, 0, 0)   \
	X(REV, weft_rev, LRU_HASH, struct weft_rev_key, struct weft_rev_val, max_rev, 0, 0)        \
	X(STATS, weft_stats, PERCPU_ARRAY, __u32, __u64, none, WEFT_STAT_MAX, 0)                   \
	X(INFO, weft_info, ARRAY, __u32, struct weft_info, none, 1, 0)                             \
	X(SVC_CNT, weft_svc_cnt_v2, PERCPU_HASH, __u32, struct weft_cnt, max_services, 0,             \
	  WEFT_NO_PREALLOC)                                                                        \
	X(BE_CNT, weft_be_cnt_v2, PERCPU_HASH, struct weft_be_key, struct weft_cnt, max_backends, 0,  \
	  WEFT_NO_PREALLOC)                                                                        \
	/* Same-node redirect (sockops.bpf.c, redir.bpf.c) */                                      \
	X(SOCK, weft_sock, SOCKHASH, struct weft_sock_key, __u32, none, 65536, 0)                  \
	X(REDIR_CFG, weft_redir_cfg, ARRAY, __u32, struct weft_redir_cfg, none, 1, 0)              \
	X(REDIR_OFF, weft_redir_off, HASH, struct weft_addr_key, __u32, none, 4096,                \
	  WEFT_NO_PREALLOC)                                                                        \
	X(SK_STATE, weft_sk_state, SK_STORAGE, int, struct weft_sk_state, none, 0,                 \
	  WEFT_NO_PREALLOC)                                                                        \
	/* L4 policy (tc.bpf.c, the connect hooks, sk_msg) */                                      \
	X(POL_ID, weft_pol_id, LPM_TRIE, struct weft_pol_id_key, struct weft_pol_id_val,           \
	  max_idents, 0, WEFT_NO_PREALLOC)                                                         \
	X(POL, weft_pol, LPM_TRIE, struct weft_pol_key, struct weft_pol_val, max_policy, 0,        \
	  WEFT_NO_PREALLOC)                                                                        \
	/* flows an endpoint opened: an LRU per interface (weft_ct_egress_inner) */                \
	X(CT_EGRESS, weft_ct_egress, ARRAY_OF_MAPS, __u32, __u32, max_endpoints, 0, 0)             \
	X(POL_CNT, weft_pol_cnt, PERCPU_HASH, struct weft_pol_cnt_key, __u64, max_policy, 0,       \
	  WEFT_NO_PREALLOC)                                                                        \
	/* Observability (sockops.bpf.c; weft_ep_v2 written and read by user space only) */        \
	X(EP, weft_ep_v2, HASH, struct weft_addr_key, struct weft_ep_val, max_endpoints, 0,        \
	  WEFT_NO_PREALLOC)                                                                        \
	X(FLOW, weft_flow, LRU_HASH, struct weft_sock_key, struct weft_flow, max_flows, 0, 0)      \
	X(EDGE, weft_edge, HASH, struct weft_edge_key, struct weft_edge_val, max_edges, 0, 0)      \
	X(HIST, weft_hist, PERCPU_HASH, struct weft_hist_key, struct weft_hist, max_hists, 0,      \
	  WEFT_NO_PREALLOC)                                                                        \
	X(OBS_CFG, weft_obs_cfg, ARRAY, __u32, struct weft_obs_cfg, none, 1, 0)                    \
	X(EVENTS, weft_events, RINGBUF, __u32, __u32, none, 1u << 20, 0)                           \
	X(SK_OBS, weft_sk_obs, SK_STORAGE, int, struct weft_sk_obs, none, 0, WEFT_NO_PREALLOC)     \
	/* Connect-time egress of unbound sockets (weftd writes it) */                             \
	X(NS_EP, weft_ns_ep, HASH, __u64, struct weft_ns_ep, max_endpoints, 0, WEFT_NO_PREALLOC)   \
	/* Names of policies, for the CLI and /metrics (only user space reads it) */              \
	X(POL_META, weft_pol_meta, HASH, struct weft_pol_meta_key, struct weft_pol_meta,          \
	  max_policies, 0, WEFT_NO_PREALLOC)                                                       \
	/* Per-interface state of the tc programs (weftd writes it with them) */                  \
	X(IF_SRC, weft_if_src, HASH, __u32, struct weft_if_src, max_endpoints, 0, WEFT_NO_PREALLOC) \
	X(CT_CNT, weft_ct_cnt, PERCPU_HASH, __u32, struct weft_ct_cnt, max_endpoints, 0,          \
	  WEFT_NO_PREALLOC)                                                                        \
	X(FRAG, weft_frag, LRU_HASH, struct weft_frag_key, struct weft_frag_val, none, 8192, 0)   \
	/* flows opened to an endpoint: an LRU per interface (weft_ct_ingress_inner) */            \
	X(CT_INGRESS, weft_ct_ingress, ARRAY_OF_MAPS, __u32, __u32, max_endpoints, 0, 0)            \
	/* Resilience (issue 16): settings by weftd, backend state by the programs */              \
	X(SVC_RES, weft_svc_res, HASH, __u32, struct weft_svc_res, max_services, 0,                \
	  WEFT_NO_PREALLOC)                                                                        \
	X(BE_STATE, weft_be_state, HASH, struct weft_be_key, struct weft_be_state, max_backends,   \
	  0, WEFT_NO_PREALLOC)                                                                     \
	X(SK_SVC, weft_sk_svc, SK_STORAGE, int, struct weft_sk_svc, none, 0, WEFT_NO_PREALLOC)

/* Size settings: WEFT_KNOB_<knob> (WEFT_KNOB_none for fixed maps) and their
 * defaults WEFT_DEF_<knob>, integer constants usable on both sides. */
enum weft_knob {
#define WEFT_X(knob, def, what) WEFT_KNOB_##knob,
	WEFT_KNOB_LIST(WEFT_X)
#undef WEFT_X
	WEFT_KNOB_COUNT,
	WEFT_KNOB_none = -1,
};

enum {
#define WEFT_X(knob, def, what) WEFT_DEF_##knob = def,
	WEFT_KNOB_LIST(WEFT_X)
#undef WEFT_X
	WEFT_DEF_none = 0,
};

/* The agent's ids of the maps. */
enum weft_map_id {
#define WEFT_X(id, name, type, key, value, knob, extra, flags) WEFT_M_##id,
	WEFT_MAP_LIST(WEFT_X)
#undef WEFT_X
	WEFT_M_COUNT,
};

#endif /* WEFT_MAPS_H */
