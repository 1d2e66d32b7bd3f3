/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * weft's kernel/user ABI: every map key, map value and constant that the BPF
 * programs and the agent share. One definition, used by both sides.
 *
 * Rules (see STYLE.md): fixed-width types, explicit zeroed pad fields, byte
 * order and unit in every comment, a _Static_assert on every size. A pinned
 * map whose layout changes gets a new name, so an agent never misreads a map
 * left by an older one.
 *
 * Addresses: every address is 16 bytes. An IPv4 address is stored v4-mapped
 * (::ffff:a.b.c.d), so one key serves connect4, connect6 and IPv4 reached
 * from a dual-stack IPv6 socket.
 */
#ifndef WEFT_ABI_H
#define WEFT_ABI_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define WEFT_ABI_VERSION 8	/* 2: weft_pol_meta; 3: weft_if_src, weft_ct_egress/ingress, weft_frag;
				 * 4: weft_stats 33 entries; 5: weft_ep_v2 (service account);
				 * 6: resilience (issue 16): weft_svc_val.flags,
				 * weft_svc_res, weft_be_state, weft_sk_svc, weft_cnt
				 * 48 bytes (weft_*_cnt_v2), weft_stats 37 entries;
				 * 7: the zero backend refuses, weft_ep_val's canonical
				 * service and revision (issue 15);
				 * 8: weft_pol an LPM_TRIE over port prefixes (issue 12) */

/* Maps: their names, types, sizes and settings are in weft/maps.h. */

#define WEFT_NAME_LEN 64	/* Kubernetes names are at most 63 characters */
#define WEFT_MAX_SLOTS_PER_SVC 65521	/* largest selection table of one service port */

/* Load-balancing algorithm of a service port (weft_svc_val.lb). */
#define WEFT_LB_RANDOM 0	/* weighted random over the slot table */
#define WEFT_LB_ROUND_ROBIN 1	/* next slot, one counter per service port */
#define WEFT_LB_MAGLEV 2	/* slot = hash(client) % nslots, table built by Maglev */
#define WEFT_LB_LEAST_REQUEST 3	/* two random slots, the backend with fewer active
				 * connections (weft_be_state.active); TCP only,
				 * UDP takes the first of the two */

/* weft_svc_val.flags */
#define WEFT_SVC_F_RES 0x1	/* the service port has a weft_svc_res entry (resilience
				 * settings): connect reads it and keeps weft_be_state */

/* Service frontend: what a client connects to. Key of weft_svc. */
struct weft_svc_key {
	__be32 addr[4];	/* service address (VIP), IPv4 v4-mapped, network order */
	__be16 port;	/* service port, network order */
	__u8 proto;	/* IPPROTO_TCP or IPPROTO_UDP */
	__u8 pad;	/* zero */
};
_Static_assert(sizeof(struct weft_svc_key) == 20, "weft_svc_key is ABI");

/* Value of weft_svc. */
struct weft_svc_val {
	__u32 id;	/* service port id, 1..max_services: key of the per-service maps */
	__u32 nslots;	/* entries in weft_slot for this id; 0 = no backends: connect fails */
	__u8 lb;	/* WEFT_LB_* */
	__u8 flags;	/* WEFT_SVC_F_* (was pad: 0 in older maps = none) */
	__u8 pad[2];	/* zero */
	__u32 affinity;	/* client affinity timeout in seconds, 0 = none */
};
_Static_assert(sizeof(struct weft_svc_val) == 16, "weft_svc_val is ABI");

/*
 * Resilience of a service port (issue 16): value of weft_svc_res (HASH, key:
 * __u32 service port id), written by weftd before the weft_svc entry that
 * sets WEFT_SVC_F_RES, deleted after it. Read by connect only for service
 * ports with the flag, so the others pay one byte test. TCP connect() only:
 * UDP and sendmsg() are never aborted, capped or ejected.
 */
struct weft_svc_res {
	__u32 abort_ppm;	/* fault.abort_percent: connects refused (ECONNREFUSED)
				 * in parts per million, 0..1000000 */
	__u32 max_conns;	/* connection_pool.max_connections: pending + established
				 * connections per backend from this node; 0 = no cap */
	__u32 errors;		/* outlier_detection.consecutive_errors; 0 = off */
	__u32 interval_s;	/* outlier_detection.interval, seconds: an error more than
				 * this after the previous one starts the count anew */
	__u32 eject_s;		/* outlier_detection.base_ejection_time, seconds */
	__u32 eject_pct;	/* outlier_detection.max_ejection_percent, 0..100 */
	__u32 nbackends;	/* backends of the service port (for eject_pct) */
	__u32 idx_end;		/* every backend index of the service port is below it
				 * (bounds the scan for an eligible backend) */
};
_Static_assert(sizeof(struct weft_svc_res) == 32, "weft_svc_res is ABI");

/* A backend of one service port. Key of weft_be: the backend index is chosen
 * by the agent, lowest free, and kept while the backend stays. */
struct weft_be_key {
	__u32 svc_id;	/* weft_svc_val.id */
	__u32 idx;	/* backend index within the service port */
};
_Static_assert(sizeof(struct weft_be_key) == 8, "weft_be_key is ABI");

/* Value of weft_be, and of weft_slot (a slot carries its backend whole, so a
 * connect needs one lookup and never sees a half-removed backend). */
struct weft_backend {
	__be32 addr[4];	/* backend address, IPv4 v4-mapped, network order */
	__be16 port;	/* target port, network order */
	__u16 weight;	/* relative weight, 1..65535 (informational in weft_slot) */
	__u32 idx;	/* backend index, as in weft_be_key.idx */
};
_Static_assert(sizeof(struct weft_backend) == 24, "weft_backend is ABI");

/*
 * What this node knows of one backend of a resilient service port: value of
 * weft_be_state (HASH, key struct weft_be_key). Made by connect on first
 * use, deleted by weftd when the backend or its service port goes. The
 * backend's address and port are kept: an entry found under a reused index
 * with another backend's address is started anew. Updated with atomic adds.
 */
struct weft_be_state {
	__be32 addr[4];		/* backend address, v4-mapped, network order */
	__be16 port;		/* backend port, network order */
	__u16 pad;		/* zero */
	__u32 active;		/* TCP connections from this node, SYN sent to closed */
	__u32 errors;		/* consecutive connect failures (refused, reset or timed
				 * out before established); a success makes it 0 */
	__u32 ejections;	/* times ejected in a row (the ejection time's factor);
				 * 0 again after a success once reinstated */
	__u64 last_error_ns;	/* bpf_ktime_get_ns() of the last failure */
	__u64 ejected_until_ns;	/* bpf_ktime_get_ns() the ejection ends; 0 = none.
				 * Reinstated lazily: connect compares the time, and
				 * the first to find it over sets 0 (WEFT_EV_REINSTATE) */
};
_Static_assert(sizeof(struct weft_be_state) == 48, "weft_be_state is ABI");

/*
 * The backend a TCP socket was sent to (weft_sk_svc, SK_STORAGE), written by
 * connect for sockets of resilient service ports. sockops counts the socket
 * in weft_be_state.active at TCP_CONNECT_CB (WEFT_SKS_COUNTED) and out at
 * its close, so a socket that never sent a SYN, or one sockops never saw,
 * is never counted out.
 */
#define WEFT_SKS_COUNTED 0x1	/* counted in active */
#define WEFT_SKS_OUTLIER 0x2	/* the service port detects outliers */

struct weft_sk_svc {
	__be32 addr[4];		/* backend address, v4-mapped, network order */
	__u32 svc_id;		/* service port id */
	__u32 idx;		/* backend index */
	__be16 port;		/* backend port, network order */
	__u8 flags;		/* WEFT_SKS_* */
	__u8 pad;		/* zero */
	__u32 pad2;		/* zero */
};
_Static_assert(sizeof(struct weft_sk_svc) == 32, "weft_sk_svc is ABI");

/* A backend (of weft_be and weft_slot) whose address and port are all zero
 * is a route's share that has no backend: connects and sends that pick it
 * fail with ECONNREFUSED, counted as refused by the service port. */

/* Key of weft_slot: one entry of a service port's selection table. */
struct weft_slot_key {
	__u32 svc_id;	/* weft_svc_val.id */
	__u32 slot;	/* 0..nslots-1 */
};
_Static_assert(sizeof(struct weft_slot_key) == 8, "weft_slot_key is ABI");

/* Value of weft_svc_meta (key: __u32 service port id). Only user space reads
 * it: the names the CLI and metrics show. NUL-terminated strings. */
struct weft_svc_meta {
	char name[WEFT_NAME_LEN];	/* service name */
	char ns[WEFT_NAME_LEN];		/* service namespace */
	char port_name[WEFT_NAME_LEN];	/* port name, may be empty */
	__be16 target_port;	/* default target port, network order */
	__u16 pad;		/* zero */
	__u32 nbackends;	/* backends configured */
};
_Static_assert(sizeof(struct weft_svc_meta) == 200, "weft_svc_meta is ABI");

/* Key of weft_aff: one client of one service port. The client is its socket's
 * bound source address when it has one, else its network namespace. */
struct weft_aff_key {
	__u64 netns;	/* netns cookie of the client socket */
	__be32 addr[4];	/* bound source address, v4-mapped, or all zero */
	__u32 svc_id;	/* weft_svc_val.id */
	__u32 pad;	/* zero */
};
_Static_assert(sizeof(struct weft_aff_key) == 32, "weft_aff_key is ABI");

/* Value of weft_aff. */
struct weft_aff_val {
	__u64 last_ns;		/* bpf_ktime_get_ns() of the last use */
	struct weft_backend be;	/* the backend the client keeps */
};
_Static_assert(sizeof(struct weft_aff_val) == 32, "weft_aff_val is ABI");

/* Key of weft_rev: a socket and the backend it was sent to. Used by recvmsg
 * and getpeername to show the service address instead of the backend. */
struct weft_rev_key {
	__u64 cookie;	/* socket cookie */
	__be32 addr[4];	/* backend address, v4-mapped, network order */
	__be16 port;	/* backend port, network order */
	__u16 pad;	/* zero */
	__u32 pad2;	/* zero */
};
_Static_assert(sizeof(struct weft_rev_key) == 32, "weft_rev_key is ABI");

/*
 * Key of weft_gone (HASH, value __u32 1, WEFT_GONE_MAX entries): a backend
 * that left a service in the last apply, written by weftd only for the run
 * of the socket iterators (bpf/sockgone.bpf.c) that destroy the sockets
 * connected to it through the service address (weft_rev says which), then
 * emptied. weftd's own: not pinned, not in the registry.
 */
#define WEFT_GONE_MAX 16384
struct weft_gone_key {
	__be32 vip[4];		/* service address, v4-mapped, network order */
	__be32 addr[4];		/* backend address, v4-mapped, network order */
	__be16 vport;		/* service port, network order */
	__be16 port;		/* backend port, network order */
	__u8 proto;		/* IPPROTO_TCP or IPPROTO_UDP */
	__u8 pad[3];		/* zero */
};
_Static_assert(sizeof(struct weft_gone_key) == 40, "weft_gone_key is ABI");

/* Value of weft_rev. */
struct weft_rev_val {
	__be32 addr[4];	/* service address, v4-mapped, network order */
	__be16 port;	/* service port, network order */
	__u16 pad;	/* zero */
};
_Static_assert(sizeof(struct weft_rev_val) == 20, "weft_rev_val is ABI");

/* Per-CPU datapath counters: index of weft_stats (PERCPU_ARRAY of __u64).
 * Values are never reused; retired ones stay reserved. */
enum weft_stat {
	WEFT_STAT_XLATE = 0,		/* connects/sends translated to a backend */
	WEFT_STAT_NO_BACKEND = 1,	/* refused: service has no backends */
	WEFT_STAT_AFFINITY_HIT = 2,	/* backend taken from client affinity */
	WEFT_STAT_SLOT_MISS = 3,	/* slot lookup failed (table being rewritten) */
	WEFT_STAT_REV_XLATE = 4,	/* recvmsg/getpeername rewritten to the VIP */
	/* 5: reserved */
	WEFT_STAT_FAMILY = 6,		/* IPv6 backend for an IPv4 socket: not translated */
	/* Same-node socket redirect (sk_msg, weft_redir): every message of a
	 * learned socket counts once, as redirected or as one fallback reason. */
	WEFT_STAT_REDIR_MSGS = 7,	/* messages redirected socket to socket */
	WEFT_STAT_REDIR_BYTES = 8,	/* bytes of those messages */
	WEFT_STAT_REDIR_NO_PEER = 9,	/* fallback: the peer is not a learned local socket */
	WEFT_STAT_REDIR_OFF = 10,	/* fallback: redirect off (globally or for an endpoint) */
	WEFT_STAT_REDIR_PENDING = 11,	/* fallback: this direction already used the stack (order) */
	WEFT_STAT_REDIR_POLICY = 12,	/* fallback: per-socket verdict not ALLOW (issue 4) */
	WEFT_STAT_CNT_FULL = 13,	/* a service/backend counter entry could not be made (map full) */
	/* L4 policy (lib/policy.h): one count per decision that was not a
	 * plain allow. */
	WEFT_STAT_POL_EGRESS_DENY = 14,	/* connect/sendmsg refused (EPERM): egress policy */
	WEFT_STAT_POL_AUDIT = 15,	/* would have been denied, allowed by audit mode */
	WEFT_STAT_POL_TC_INGRESS_DENY = 16, /* tc: packet to an endpoint dropped (its ingress policy) */
	WEFT_STAT_POL_TC_EGRESS_DENY = 17, /* tc: packet from an endpoint dropped (its egress policy) */
	WEFT_STAT_POL_MALFORMED = 18,	/* tc: truncated IP/L4 header to/from a policed endpoint: dropped */
	WEFT_STAT_POL_REVOKED = 19,	/* tc: a tracked flow denied after a policy change: dropped */
	/* Observability (issue 5). */
	WEFT_STAT_FLOW_MISSING = 20,	/* a socket closed whose weft_flow entry was gone
					 * (evicted from the LRU): its bytes are lost */
	WEFT_STAT_EDGE_FULL = 21,	/* a weft_edge entry could not be made (map full) */
	WEFT_STAT_HIST_FULL = 22,	/* a weft_hist entry could not be made (map full) */
	WEFT_STAT_EVENTS_LOST = 23,	/* an event for `weft observe` did not fit the ring buffer */
	/* Hardening (issue 12): integrity checks and fail-closed branches. */
	WEFT_STAT_SPOOFED = 24,		/* tc: from an endpoint's interface, a source that is not
					 * one of its addresses (weft_if_src): dropped */
	WEFT_STAT_IF_UNKNOWN = 25,	/* tc: the interface has no weft_if_src entry: dropped */
	WEFT_STAT_SUBJECT_UNKNOWN = 26,	/* tc: the interface's endpoint has no identity in the
					 * active policy: dropped */
	WEFT_STAT_CT_NO_TABLE = 27,	/* tc: the interface has no flow table (weft_ct_egress,
					 * weft_ct_ingress): judged, not tracked */
	WEFT_STAT_CT_FAILED = 28,	/* tc: a flow or fragment record could not be stored */
	WEFT_STAT_FRAG_UNKNOWN = 29,	/* tc: a non-first fragment whose first was not seen,
					 * denied without ports: dropped */
	WEFT_STAT_REDIR_NO_STATE = 30,	/* redirect: a socket without weft_sk_state (no verdict):
					 * sockops does not learn it, sk_msg leaves it to the stack */
	WEFT_STAT_POL_NO_CFG = 31,	/* weft_redir_cfg unreadable (no policy epoch): denied
					 * (EPERM, tc drop, the stack for redirect) */
	/* Service semantics (issue 14). */
	WEFT_STAT_GONE_DESTROYED = 32,	/* a socket connected through a service to a backend
					 * that left it, destroyed (bpf_sock_destroy) */
	/* Resilience (issue 16). */
	WEFT_STAT_FAULT_ABORT = 33,	/* connect refused (ECONNREFUSED) by fault.abort_percent */
	WEFT_STAT_OVERFLOW = 34,	/* connect refused (ECONNREFUSED): every backend at
					 * connection_pool.max_connections */
	WEFT_STAT_OUTLIER_EJECT = 35,	/* a backend ejected by outlier detection */
	WEFT_STAT_BE_STATE_FULL = 36,	/* a weft_be_state or weft_sk_svc entry could not be
					 * made: the connection is not counted */
	WEFT_STAT_MAX = 37,
};

/* weft_info (ARRAY, one entry, key 0): written by weftd after each apply. */
struct weft_info {
	__u32 abi;		/* WEFT_ABI_VERSION of the writer */
	__u32 pid;		/* weftd's pid */
	__u64 generation;	/* incremented by every successful apply */
	__u64 applied_ns;	/* CLOCK_REALTIME of the last apply, ns */
	__u64 last_ops;		/* map writes and deletes of the last apply */
	__u64 pad;		/* zero */
};
_Static_assert(sizeof(struct weft_info) == 40, "weft_info is ABI");

/* What connect/sendmsg did for one service port (weft_svc_cnt_v2, key: __u32
 * service port id) or one backend (weft_be_cnt_v2, key: struct weft_be_key).
 * PERCPU_HASH: user space sums the CPUs. Made zero by weftd when the service
 * port or backend appears, deleted when it goes, so a reused id starts at 0. */
struct weft_cnt {
	__u64 connects;	/* connect() sent to a backend: TCP connections, UDP connect() */
	__u64 sends;	/* datagrams of unconnected UDP sockets sent to a backend */
	__u64 refused;	/* connects/sends refused: no backends (always 0 per backend) */
	__u64 aborted;	/* connects refused by fault.abort_percent (0 per backend) */
	__u64 overflow;	/* connects refused: every backend at its connection cap
			 * (0 per backend) */
	__u64 ejections; /* times the backend was ejected (0 per service port) */
};
_Static_assert(sizeof(struct weft_cnt) == 48, "weft_cnt is ABI");

/*
 * Same-node socket redirect. sockops learns every established TCP socket of
 * the attached cgroup into weft_sock (SOCKHASH) under its own 4-tuple; the
 * sk_msg program of a sending socket looks up its peer under the swapped
 * tuple and moves the message into the peer's receive queue.
 */

/* Key of weft_sock: one TCP socket, seen from itself. */
struct weft_sock_key {
	__u64 netns;		/* netns cookie for addresses that repeat in every pod
				 * (127/8, ::1, fe80::/10); 0 otherwise */
	__be32 local[4];	/* this socket's address, IPv4 v4-mapped, network order */
	__be32 remote[4];	/* the peer's address, IPv4 v4-mapped, network order */
	__be16 lport;		/* this socket's port, network order */
	__be16 rport;		/* the peer's port, network order */
	__u32 pad;		/* zero */
};
_Static_assert(sizeof(struct weft_sock_key) == 48, "weft_sock_key is ABI");

/* weft_redir_cfg (ARRAY, one entry, key 0): written by weftd at start and on
 * every reload. Read by sockops (learn or not) and by sk_msg on every message,
 * so switching off takes effect on established connections at once. */
struct weft_redir_cfg {
	__u32 enabled;		/* 1: redirect (datapath.redirect); 0: stack only */
	__u32 noff;		/* entries in weft_redir_off (0: skip its lookups) */
	__u64 policy_epoch;	/* issue 4: bumped when policy changes; 0 until then */
};
_Static_assert(sizeof(struct weft_redir_cfg) == 16, "weft_redir_cfg is ABI");

/* Key of weft_redir_off (value: __u32, 1): an endpoint with `redirect: false`.
 * A connection with either end on this address is left to the stack. */
struct weft_addr_key {
	__be32 addr[4];		/* endpoint address, IPv4 v4-mapped, network order */
};
_Static_assert(sizeof(struct weft_addr_key) == 16, "weft_addr_key is ABI");

/*
 * Policy of a redirected connection: value of weft_sk_state (SK_STORAGE),
 * one per learned socket. sockops judges the connection when it is
 * established (the client's egress and the server's ingress policy, on the
 * server's port) and stores { verdict, epoch }. sk_msg redirects only while
 * verdict is ALLOW; when weft_redir_cfg.policy_epoch has moved since, it
 * judges the connection again first. Anything but ALLOW sends the message
 * down the normal stack, where the tc programs apply policy exactly as for
 * an unredirected connection (counted WEFT_STAT_REDIR_POLICY).
 */
#define WEFT_VERDICT_ALLOW 0	/* redirect allowed */
#define WEFT_VERDICT_STACK 1	/* leave this socket's messages to the stack */

struct weft_sk_state {
	__u32 verdict;		/* WEFT_VERDICT_* */
	__u32 active;		/* 1: this end connected (client); 0: accepted (server) */
	__u64 epoch;		/* weft_redir_cfg.policy_epoch the verdict was made at */
};
_Static_assert(sizeof(struct weft_sk_state) == 16, "weft_sk_state is ABI");

/*
 * L4 policy (issue 4). The agent compiles `policies:` into two maps, both
 * keyed by a policy epoch; the datapath reads only the entries of the active
 * epoch, weft_redir_cfg.policy_epoch (low 32 bits). An update writes the
 * whole new generation under epoch + 1, then flips policy_epoch with one map
 * write, then deletes the old generation: every decision sees exactly the
 * old or exactly the new policy (and needs both to fit: sizes are for two
 * epochs). Epoch 0 has no entries: no policy, everything allowed.
 *
 * Identities (__u32): 0 is "any peer" in a weft_pol_key; WEFT_ID_WORLD is an
 * address that matches no prefix; endpoint label sets get ids in
 * [WEFT_ID_EP_MIN, WEFT_ID_CIDR); every distinct CIDR of the policies (and
 * of their except lists) gets an id with WEFT_ID_CIDR set. An endpoint's own
 * address (/32, /128) is more specific than any CIDR, so CIDR peers match
 * addresses that are not local endpoints; endpoints are matched by selectors.
 */
#define WEFT_ID_ANY 0		/* weft_pol_key.peer: every peer */
#define WEFT_ID_WORLD 2		/* an address no prefix covers */
#define WEFT_ID_EP_MIN 256	/* first endpoint identity */
#define WEFT_ID_CIDR 0x01000000	/* flag of CIDR identities */

/* Key of weft_pol_id (LPM_TRIE): a prefix of one epoch. The epoch is part of
 * the matched prefix, so prefixlen = 32 + address bits (IPv4: 32 + 96 + n). */
struct weft_pol_id_key {
	__u32 prefixlen;	/* 32 + bits of addr that match */
	__be32 epoch;		/* policy epoch, network order (matched bytewise) */
	__be32 addr[4];		/* address, IPv4 v4-mapped, network order */
};
_Static_assert(sizeof(struct weft_pol_id_key) == 24, "weft_pol_id_key is ABI");

/* Value of weft_pol_id. */
struct weft_pol_id_val {
	__u32 id;		/* identity of the addresses under the prefix */
	__u32 pad;		/* zero */
};
_Static_assert(sizeof(struct weft_pol_id_val) == 8, "weft_pol_id_val is ABI");

#define WEFT_DIR_INGRESS 0	/* weft_pol_key.dir: traffic to the subject */
#define WEFT_DIR_EGRESS 1	/* traffic from the subject */

/*
 * Key of weft_pol (LPM_TRIE): the fixed fields, then the destination port
 * as a prefix, so a port range is a few aligned blocks (1-65535: 16) instead
 * of an entry per port. prefixlen = WEFT_POL_FIXED_BITS + port bits
 * (0: every port, 16: one port). A lookup gives the longest block holding
 * the port; the agent writes each block's value resolved over every rule
 * whose range holds the whole block, so the longest is the answer. The
 * fixed fields are always matched whole, so their byte order does not
 * matter; the port is network order (matched bit by bit from the top).
 * The selected marker: proto 0, peer WEFT_ID_ANY, port 0, all 16 bits.
 */
struct weft_pol_key {
	__u32 prefixlen;	/* WEFT_POL_FIXED_BITS + bits of port that match */
	__u32 epoch;		/* policy epoch (low 32 bits) */
	__u32 subject;		/* identity of the local endpoint the rule protects */
	__u32 peer;		/* identity of the other end, WEFT_ID_ANY = every peer */
	__u8 proto;		/* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP; 0 = the selected marker */
	__u8 dir;		/* WEFT_DIR_* */
	__be16 port;		/* first port of the block, network order; bits past
				 * the prefix zero */
};
_Static_assert(sizeof(struct weft_pol_key) == 20, "weft_pol_key is ABI");

#define WEFT_POL_FIXED_BITS 112	/* epoch, subject, peer, proto, dir */
#define WEFT_POL_FULL_BITS 128	/* WEFT_POL_FIXED_BITS + 16: one port */

/* Key of weft_pol up to ABI 6 (a HASH, port 0 = every port): read only to
 * carry an old pinned map's entries into the LPM_TRIE on an upgrade. */
struct weft_pol_key_abi6 {
	__u32 epoch;
	__u32 subject;
	__u32 peer;
	__be16 port;
	__u8 proto;
	__u8 dir;
};
_Static_assert(sizeof(struct weft_pol_key_abi6) == 16, "weft_pol_key_abi6 is ABI");

#define WEFT_POL_ALLOW 1	/* weft_pol_val.action: allow */
#define WEFT_POL_DENY 2		/* deny; wins over any allow */
#define WEFT_POL_SELECTED 3	/* the marker: default deny in this direction */

/* Value of weft_pol. */
struct weft_pol_val {
	__u8 action;		/* WEFT_POL_* */
	__u8 audit;		/* 1: a deny by this entry is only counted (audit mode) */
	__u16 pad;		/* zero */
	__u32 rule;		/* policies[] index << 16 | rule index in its list
				 * (ingress, egress or deny, told apart by dir and
				 * action); WEFT_RULE_DEFAULT: the selected marker */
};
_Static_assert(sizeof(struct weft_pol_val) == 8, "weft_pol_val is ABI");

#define WEFT_RULE_DEFAULT 0xffff	/* low 16 bits of rule: default deny of a policy */
#define WEFT_RULE_NONE 0xffffffff	/* no rule decided (not counted) */

/* Verdicts counted in weft_pol_cnt (key field verdict). */
#define WEFT_PV_CNT_ALLOW 1	/* allowed by the rule */
#define WEFT_PV_CNT_DENY 2	/* denied by the rule (or its policy's default deny) */
#define WEFT_PV_CNT_AUDIT 3	/* would have been denied; audit mode let it pass */

/* Key of weft_pol_cnt (PERCPU_HASH of __u64): decisions per rule, counted
 * where a decision is made (connect/sendmsg, the first packet of a flow in
 * tc). Keyed by epoch: weftd deletes the counters of other epochs after a
 * flip, so they count since the policy last changed. */
struct weft_pol_cnt_key {
	__u32 epoch;		/* policy epoch of the decision */
	__u32 subject;		/* identity of the endpoint judged */
	__u32 rule;		/* weft_pol_val.rule of the deciding entry */
	__u8 dir;		/* WEFT_DIR_* */
	__u8 verdict;		/* WEFT_PV_CNT_* */
	__u16 pad;		/* zero */
};
_Static_assert(sizeof(struct weft_pol_cnt_key) == 16, "weft_pol_cnt_key is ABI");

/* Names of a policy of one epoch (weft_pol_meta, HASH), written with its
 * generation and deleted with it: the CLI and /metrics name a rule
 * (weft_pol_val.rule >> 16 is its policy's index) from the maps alone. */
struct weft_pol_meta_key {
	__u32 epoch;		/* policy epoch (low 32 bits) */
	__u32 policy;		/* index of the policy in its generation (rule >> 16) */
};
_Static_assert(sizeof(struct weft_pol_meta_key) == 8, "weft_pol_meta_key is ABI");

struct weft_pol_meta {
	char name[WEFT_NAME_LEN];	/* policy name, NUL-terminated */
	char ns[WEFT_NAME_LEN];		/* its namespace */
	__u16 ningress;		/* rules of each kind */
	__u16 negress;
	__u16 ndeny;
	__u8 audit;		/* 1: the policy is in audit mode */
	__u8 pad;		/* zero */
};
_Static_assert(sizeof(struct weft_pol_meta) == 136, "weft_pol_meta is ABI");

/*
 * The endpoint of a pod network namespace (weft_ns_ep, HASH, key: __u64
 * netns cookie), for connect/sendmsg of an unbound socket: its source
 * address is not chosen yet, so egress policy takes the subject from the
 * socket's netns instead. weftd fills it from each endpoint's `interface`
 * (the netns of the veth's peer); sized by datapath.max_endpoints.
 */
struct weft_ns_ep {
	__be32 addr4[4];	/* the pod's IPv4 endpoint, v4-mapped; zero if none */
	__be32 addr6[4];	/* the pod's IPv6 endpoint; zero if none */
};
_Static_assert(sizeof(struct weft_ns_ep) == 32, "weft_ns_ep is ABI");

/*
 * Flow tracking of the tc programs (the tables of an interface in
 * weft_ct_egress and weft_ct_ingress, an LRU_HASH each; see "Per-interface
 * tables" below): a flow allowed by
 * one side's policy, keyed in the direction of its first packet and by the
 * direction it was judged in (WEFT_DIR_INGRESS at the endpoint's "to pod"
 * side, WEFT_DIR_EGRESS at its "from pod" side). Packets of a tracked flow,
 * and its replies, pass without a decision while the epoch is the active
 * one; after a policy change the flow is judged again and dropped (and
 * forgotten) if the new policy denies it.
 */
struct weft_ct_key {
	__be32 saddr[4];	/* first packet's source, v4-mapped, network order */
	__be32 daddr[4];	/* first packet's destination */
	__be16 sport;		/* network order; 0 for protocols without ports */
	__be16 dport;		/* network order */
	__u8 proto;		/* IPPROTO_* */
	__u8 dir;		/* WEFT_DIR_* it was judged in */
	__u16 pad;		/* zero */
};
_Static_assert(sizeof(struct weft_ct_key) == 40, "weft_ct_key is ABI");

struct weft_ct_val {
	__u32 epoch;		/* policy epoch of the decision */
	__u32 flags;		/* WEFT_CT_F_* */
};
/* A flow a policy change revoked stays in its table, dropped, until the LRU
 * evicts it or a later epoch allows it again: deleting it would let a packet
 * of the other end (a server whose egress no policy selects) open the same
 * flow again in the other direction and carry the revoked one. */
#define WEFT_CT_F_REVOKED 1	/* revoked at epoch: every packet dropped */
#define WEFT_CT_F_UNKNOWN 2	/* ... because its subject has no identity */
_Static_assert(sizeof(struct weft_ct_val) == 8, "weft_ct_val is ABI");

/*
 * Per-interface tables of the tc programs (issue 12), keyed by the ifindex
 * of an endpoint's host-side interface and written by weftd when it puts
 * the tc programs there (deleted when it takes them off):
 *
 * weft_if_src (HASH, key __u32 ifindex): the endpoints' addresses on that
 * interface. A packet from the pod (clsact ingress) whose source is none of
 * them is dropped (WEFT_STAT_SPOOFED) before any policy; link-scoped
 * sources (fe80::/10, ::, 0.0.0.0), which the kernel never forwards, pass
 * and are judged as addr[0]. Packets to the pod are judged as their
 * destination when it is one of them, else as addr[0].
 */
#define WEFT_IF_ADDRS 8		/* endpoint addresses per interface */

struct weft_if_src {
	__u32 naddr;			/* addresses, 1..WEFT_IF_ADDRS */
	__u32 slot;			/* index of the interface's flow tables in
					 * weft_ct_egress and weft_ct_ingress */
	__be32 addr[WEFT_IF_ADDRS][4];	/* v4-mapped, network order; unused ones zero.
					 * First, with naddr and slot: one cache line
					 * holds what a pod of 1-3 addresses needs */
};
_Static_assert(sizeof(struct weft_if_src) == 136, "weft_if_src is ABI");

/*
 * weft_ct_egress and weft_ct_ingress (ARRAY_OF_MAPS, index: the interface's
 * weft_if_src.slot, which weftd gives out lowest free first): the
 * interface's own flow tables, each an LRU_HASH of struct weft_ct_key ->
 * struct weft_ct_val with datapath.max_conntrack entries: flows the
 * endpoint opened (key dir WEFT_DIR_EGRESS) and flows opened to it
 * (WEFT_DIR_INGRESS). A flow is looked up and inserted only in the table of
 * its interface and direction, so the flows a pod opens can evict only its
 * own, and a peer flooding a pod (as far as its ingress policy lets it in)
 * only that pod's inbound flows, never the flows the pod opened.
 * weft_ct_cnt (PERCPU_HASH, key __u32 ifindex) counts what the programs
 * did to the tables, by direction; user space sums the CPUs. The programs
 * never delete a flow (a revoked one stays, see WEFT_CT_F_REVOKED), so
 * tracked - entries is what an LRU evicted. Made zero with the tables.
 */
struct weft_ct_cnt {
	__u64 tracked[2];	/* flows inserted, by WEFT_DIR_* */
	__u64 removed[2];	/* flows revoked by a policy change (once each) */
};
_Static_assert(sizeof(struct weft_ct_cnt) == 32, "weft_ct_cnt is ABI");

/*
 * Fragments (weft_frag, LRU_HASH): the L4 ports of a fragmented datagram,
 * recorded from its first fragment, so its later fragments (which carry no
 * L4 header) get the same decision. Keyed as the kernel reassembles: both
 * addresses, the protocol and the identification.
 */
struct weft_frag_key {
	__be32 saddr[4];	/* source, v4-mapped, network order */
	__be32 daddr[4];	/* destination */
	__be32 id;		/* IPv4: the 16-bit IP id (low bytes, network order);
				 * IPv6: the fragment header's identification */
	__u8 proto;		/* IPv4: protocol; IPv6: the fragment header's next header */
	__u8 pad[3];		/* zero */
};
_Static_assert(sizeof(struct weft_frag_key) == 40, "weft_frag_key is ABI");

struct weft_frag_val {
	__be16 sport;		/* the first fragment's ports, network order */
	__be16 dport;
	__u8 proto;		/* its L4 protocol (IPv6: after the extension headers) */
	__u8 pad[3];		/* zero */
};
_Static_assert(sizeof(struct weft_frag_val) == 8, "weft_frag_val is ABI");

/*
 * Observability (issue 5).
 *
 * Endpoints by address (weft_ep_v2): written by weftd from the config or
 * from Kubernetes pods, so the CLI and /metrics can name both ends of a flow
 * (Istio's workload and principal labels) even while weftd is down. Only
 * user space reads it. v2 (ABI 5): the service account and reserved room
 * were added; the old weft_ep (208-byte values) is never read.
 */
#define WEFT_EP_REDIRECT_OFF 0x1	/* weft_ep_val.flags: `redirect: false` */
#define WEFT_EP_INGRESS_POLICED 0x2	/* selected by an ingress policy (default deny) */
#define WEFT_EP_EGRESS_POLICED 0x4	/* selected by an egress policy (default deny) */
#define WEFT_EP_REMOTE 0x8		/* a pod of another node: named and given an identity,
					 * no interface, netns, tc or redirect here */

/* Value of weft_ep_v2 (HASH, key: struct weft_addr_key, the endpoint's address). */
struct weft_ep_val {
	char name[WEFT_NAME_LEN];	/* endpoint (pod) name, NUL-terminated */
	char ns[WEFT_NAME_LEN];		/* namespace */
	char workload[WEFT_NAME_LEN];	/* workload (Deployment, ...); `workload:`, else
					 * label app.kubernetes.io/name, else app, else name */
	__u32 identity;			/* policy identity of its labels (weft_pol_id) */
	__u32 ifindex;			/* host-side interface, 0 = none */
	__u32 flags;			/* WEFT_EP_* */
	__u32 pad;			/* zero */
	char service_account[WEFT_NAME_LEN];	/* the pod's service account (Kubernetes
					 * spec.serviceAccountName, file `service_account:`,
					 * "default" when not said); "" = not known */
	char canonical_service[WEFT_NAME_LEN];	/* Istio's canonical service (label
					 * service.istio.io/canonical-name, else
					 * app.kubernetes.io/name, else app, else the
					 * workload); "" = not known (a writer before
					 * issue 15: the reader takes the workload) */
	char canonical_revision[WEFT_NAME_LEN];	/* canonical-revision, else
					 * app.kubernetes.io/version, else version, else
					 * "latest"; "" = not known ("latest") */
};
_Static_assert(sizeof(struct weft_ep_val) == 400, "weft_ep_val is ABI");

/*
 * Flows: one weft_flow entry (LRU_HASH, key: struct weft_sock_key, the
 * socket's own 4-tuple as in weft_sock) per live TCP socket of the attached
 * cgroup, made by sockops when the socket is established (both ends, when
 * both are local) and deleted when it closes, after its totals are added to
 * its weft_edge entry. Bytes count both paths: the stack (tcp_sock
 * bytes_acked / bytes_received, sampled by sockops) and the socket redirect
 * (sk_msg adds every redirected message to the sender's redir_sent and to
 * the receiver's redir_received).
 */
#define WEFT_FLOW_ACTIVE 0x1		/* this end connected (client); else accepted */
#define WEFT_FLOW_REDIRECTED 0x2	/* at least one message went socket to socket */
#define WEFT_FLOW_SERVICE 0x4		/* connected through a service VIP (svc_id set) */

#define WEFT_REPORTER_SOURCE 1		/* counted at the client socket (Istio reporter=source) */
#define WEFT_REPORTER_DESTINATION 2	/* counted at the server socket (reporter=destination) */

struct weft_flow {
	__u64 start_ns;		/* bpf_ktime_get_ns() of connect() (client) or of the
				 * established callback (server) */
	__u64 established_ns;	/* bpf_ktime_get_ns() when established */
	__u64 bytes_acked;	/* stack: payload bytes this socket sent (tcp_sock
				 * bytes_sent - bytes_retrans: no SYN, FIN or
				 * retransmission), sampled at RTT updates and close */
	__u64 bytes_received;	/* stack: payload bytes this socket received (tcp_sock
				 * bytes_received less the FIN) */
	__u64 redir_sent;	/* redirect: bytes this socket sent socket to socket */
	__u64 redir_received;	/* redirect: bytes redirected into this socket */
	__u64 segs_out;		/* stack: segments sent (tcp_sock segs_out) */
	__u64 segs_in;		/* stack: segments received */
	__be32 vip[4];		/* service address the client asked for (FLOW_SERVICE) */
	__be16 vport;		/* service port, network order */
	__u16 flags;		/* WEFT_FLOW_* */
	__u32 svc_id;		/* service port id (weft_svc_val.id); 0 = none */
	__u32 srtt_us;		/* last smoothed RTT, microseconds (already >> 3) */
	__u32 retrans;		/* total retransmitted segments */
	__u64 netns;		/* netns cookie of the socket */
};
_Static_assert(sizeof(struct weft_flow) == 104, "weft_flow is ABI");

/* Key of weft_edge (HASH): who talked to whom, seen by one reporter. client
 * and server are the connection's ends after translation (server is the
 * backend for a service connection). */
struct weft_edge_key {
	__be32 client[4];	/* client address, v4-mapped, network order */
	__be32 server[4];	/* server address (the backend), v4-mapped */
	__u32 svc_id;		/* service port id the client asked for; 0 = direct */
	__be16 server_port;	/* server port, network order */
	__u8 reporter;		/* WEFT_REPORTER_* */
	__u8 proto;		/* IPPROTO_TCP */
};
_Static_assert(sizeof(struct weft_edge_key) == 40, "weft_edge_key is ABI");

/* Value of weft_edge: totals of closed connections (opened counts at
 * establishment). A scrape adds the live weft_flow entries of the edge to
 * the byte totals. Updated with atomic adds. Istio's L4 meaning: received =
 * client to server, sent = server to client. */
struct weft_edge_val {
	__u64 opened;		/* connections established */
	__u64 closed;		/* established connections closed */
	__u64 failed;		/* connects that never established (client only) */
	__u64 reset;		/* closed by a reset (sk_err ECONNRESET) */
	__u64 received_bytes;	/* client to server, closed connections */
	__u64 sent_bytes;	/* server to client, closed connections */
	__u64 redirected;	/* closed connections that used the socket redirect */
	__u64 pad;		/* zero */
};
_Static_assert(sizeof(struct weft_edge_val) == 64, "weft_edge_val is ABI");

/*
 * Latency histograms (weft_hist, PERCPU_HASH): log-linear buckets of a
 * value in microseconds, two per power of two. Bucket 0: v == 0; bucket 1:
 * v == 1; for v >= 2 with k = floor(log2 v): bucket 2k holds
 * [2^k, 1.5 * 2^k), bucket 2k + 1 holds [1.5 * 2^k, 2^(k+1)). The last
 * bucket also takes everything above it. /metrics exposes the power-of-two
 * bounds (le = 2^(k+1) us, cumulative up to bucket 2k + 1): exact, since
 * sub-buckets nest.
 */
#define WEFT_HIST_BUCKETS 56		/* up to 2^28 us (268 s) */
#define WEFT_HIST_RTT 1			/* smoothed RTT of an established socket, per sample */
#define WEFT_HIST_CONNECT 2		/* connect() to established (client sockets) */

struct weft_hist_key {
	__be32 server[4];	/* server address (the backend), v4-mapped */
	__u32 svc_id;		/* service port id; 0 = direct */
	__u8 kind;		/* WEFT_HIST_* */
	__u8 reporter;		/* WEFT_REPORTER_* */
	__u16 pad;		/* zero */
};
_Static_assert(sizeof(struct weft_hist_key) == 24, "weft_hist_key is ABI");

struct weft_hist {
	__u64 bucket[WEFT_HIST_BUCKETS];	/* samples per bucket (not cumulative) */
	__u64 sum_us;				/* sum of the samples, microseconds */
	__u64 count;				/* samples */
};
_Static_assert(sizeof(struct weft_hist) == 464, "weft_hist is ABI");

/* weft_obs_cfg.flags: sockops does not ask for BPF_SOCK_OPS_RTT_CB, so a
 * flow is sampled only when established and when it closes (no per-ACK
 * work; live byte counts and RTT samples wait for the close). Read when a
 * socket is established: a change applies to new connections. */
#define WEFT_OBS_NO_RTT_UPDATES 0x1

/* weft_obs_cfg (ARRAY, one entry, key 0). */
struct weft_obs_cfg {
	__u32 observers;	/* > 0: emit weft_events (set by `weft observe`) */
	__u32 flags;		/* WEFT_OBS_*, set by weftd (metrics.tcp_rtt_updates) */
};
_Static_assert(sizeof(struct weft_obs_cfg) == 8, "weft_obs_cfg is ABI");

/* Events of weft_events (RINGBUF), for `weft observe`; emitted only while
 * weft_obs_cfg.observers > 0, and counted WEFT_STAT_EVENTS_LOST when the
 * ring is full. */
#define WEFT_EV_OPEN 1		/* connection established (one per local socket) */
#define WEFT_EV_CLOSE 2		/* connection closed; bytes are its totals */
#define WEFT_EV_FAIL 3		/* connect never established */
#define WEFT_EV_DROP 4		/* refused or dropped; reason is a WEFT_STAT_* */
#define WEFT_EV_EJECT 5		/* issue 16: a backend ejected by outlier detection;
				 * daddr/dport the backend, svc_id its service port,
				 * reason its consecutive errors, duration_ns the
				 * ejection's length */
#define WEFT_EV_REINSTATE 6	/* the first connect after an ejection ended found the
				 * backend eligible again (daddr/dport, svc_id) */

struct weft_event {
	__u64 ts_ns;		/* bpf_ktime_get_ns() */
	__u8 type;		/* WEFT_EV_* */
	__u8 proto;		/* IPPROTO_* */
	__u8 reporter;		/* WEFT_REPORTER_*, 0 for drops */
	__u8 dir;		/* drops: WEFT_DIR_* of the policy; else 0 */
	__u32 reason;		/* drops: enum weft_stat; close: sk_err */
	__be32 saddr[4];	/* source (client), v4-mapped, network order */
	__be32 daddr[4];	/* destination (server, after translation) */
	__be16 sport;		/* network order */
	__be16 dport;		/* network order */
	__u32 svc_id;		/* service port id; 0 = none */
	__u64 received_bytes;	/* close: client to server */
	__u64 sent_bytes;	/* close: server to client */
	__u64 duration_ns;	/* close: established to close; open: connect time */
};
_Static_assert(sizeof(struct weft_event) == 80, "weft_event is ABI");

/* Connect start of a client socket, kept in weft_sk_obs (SK_STORAGE) from
 * BPF_SOCK_OPS_TCP_CONNECT_CB until it is established or fails. */
struct weft_sk_obs {
	__u64 connect_ns;	/* bpf_ktime_get_ns() at the SYN */
};
_Static_assert(sizeof(struct weft_sk_obs) == 8, "weft_sk_obs is ABI");

#endif /* WEFT_ABI_H */
