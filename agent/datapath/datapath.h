/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * datapath: the only module that touches the BPF skeleton. Loads the
 * programs, reuses the pinned maps a previous weftd left (when their layout
 * and size still fit), attaches every program through a pinned bpf_link (or
 * swaps the program inside a link a previous weftd pinned), and removes all
 * of it on --cleanup. The datapath outlives weftd: nothing here detaches on
 * exit.
 */
#ifndef WEFT_DATAPATH_H
#define WEFT_DATAPATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/model.h"
#include "lib/maps.h"

struct weft_datapath;

/* Open and load: maps sized from cfg, pinned maps reused where compatible.
 * Nothing is attached or pinned yet. NULL with err filled. */
struct weft_datapath *weft_datapath_load(const struct weft_datapath_cfg *cfg, char *err,
					 size_t errlen);

/* False when the pinned maps had to be made anew (a size or a layout
 * changed) and some desired-state entries of the old set could not be
 * carried into the new one (another layout, a size too small): the new
 * maps then hold less than the programs attached now serve, and the caller
 * should attach only once its own desired state is applied. */
bool weft_datapath_carried(const struct weft_datapath *dp);

/* The map fds (valid until weft_datapath_close). */
const struct weft_maps *weft_datapath_maps(const struct weft_datapath *dp);

/* Attach (or adopt and update) every program's link and pin the maps that
 * were created fresh. 0 or -errno with err filled. */
int weft_datapath_attach(struct weft_datapath *dp, char *err, size_t errlen);

/* A program of the datapath and whether a link of this weftd attaches it
 * now (asked of the kernel: a link detached by --cleanup reads false). */
struct weft_prog_status {
	const char *name;	/* valid until weft_datapath_close */
	bool attached;
};

/* Fill up to max programs, in load order; returns how many there are. */
size_t weft_datapath_programs(const struct weft_datapath *dp, struct weft_prog_status *out,
			      size_t max);

/* Record an apply in weft_info. */
int weft_datapath_set_info(struct weft_datapath *dp, uint64_t generation, uint64_t nops);

/* Destroy the sockets that reached one of the n backends through its
 * service address (struct weft_gone_key: service address, port and
 * protocol, backend address and port): TCP connections are reset,
 * connected UDP sockets get an error. 0, -EOPNOTSUPP on a kernel without
 * bpf_sock_destroy, or -errno. Counted in weft_stats
 * (WEFT_STAT_GONE_DESTROYED). */
struct weft_gone_key;
int weft_datapath_close_gone(struct weft_datapath *dp, const struct weft_gone_key *keys, size_t n);

/* Attach status of the tc programs on one endpoint's interface. */
struct weft_tc_status {
	char interface[16];		/* IFNAMSIZ */
	char endpoint[WEFT_NAME_LEN];	/* the endpoint it belongs to (its first) */
	char ns[WEFT_NAME_LEN];		/* its namespace */
	int ifindex;			/* attached on this ifindex; 0: not attached (missing) */
	struct weft_if_src src;		/* the endpoints' addresses on it (weft_if_src) */
};

/*
 * The per-interface state the tc programs read (abi.h, "Per-interface
 * tables"), for an interface weft puts them on: its addresses into
 * weft_if_src (with the slot of its tables: the one it had, else the
 * lowest free one), its own flow tables (an LRU of ct_size entries for each
 * direction) at that slot of weft_ct_egress and weft_ct_ingress, and zero
 * counters into weft_ct_cnt. Tables already there with the right size are
 * kept (their flows survive a restart); ones of another size are replaced,
 * with the counters. Written before the programs are attached; the
 * addresses last, as they name the slot. 0 or -errno (err names the map).
 */
int weft_tc_iface_put(const struct weft_maps *maps, int ifindex, const struct weft_if_src *src,
		      uint32_t ct_size, char *err, size_t errlen);

/* Remove an interface's state (after the programs are off it). */
void weft_tc_iface_del(const struct weft_maps *maps, int ifindex);

/* One interface's flow tables, by WEFT_DIR_*: entries now, capacity, and
 * the counters summed over CPUs. 0, -ENOENT (no tables) or -errno. */
struct weft_ct_usage {
	uint64_t entries[2];
	uint32_t capacity[2];
	uint64_t tracked[2], removed[2];	/* weft_ct_cnt */
	uint64_t evicted[2];			/* tracked - entries (0 if below) */
};
int weft_tc_iface_usage(const struct weft_maps *maps, int ifindex, struct weft_ct_usage *out);

/* The interfaces of policed endpoints, as of the last weft_datapath_tc_want
 * calls and the link events since. Fills up to max; returns how many. */
size_t weft_datapath_tc_status(const struct weft_datapath *dp, struct weft_tc_status *out,
			       size_t max);

/* Want the tc programs on want->interface (endpoint want->endpoint, ns),
 * on: attached now if it exists, and whenever it appears or is re-created
 * (weft_datapath_tc_link), with want->src (its endpoints' addresses) and
 * its flow tables in the per-interface maps; off: detached, its state
 * removed, and forgotten. 0 or -errno (err filled). */
int weft_datapath_tc_want(struct weft_datapath *dp, const struct weft_tc_status *want, bool on,
			  char *err, size_t errlen);

/* A link event: name (ifindex) appeared or changed (gone false) or was
 * deleted. Attaches the tc programs when it is the interface of a policed
 * endpoint that is not attached there yet (it did not exist, or it was
 * re-created with a new ifindex). Logs what it did. 0 or -errno. */
int weft_datapath_tc_link(struct weft_datapath *dp, int ifindex, const char *name, bool gone);

/* Look every endpoint interface up again and attach where needed (after
 * lost link events). 0 or the first -errno. */
int weft_datapath_tc_refresh(struct weft_datapath *dp);

/* An rtnetlink socket subscribed to link events (RTNLGRP_LINK), non-blocking,
 * for weftd's epoll loop. fd or -errno. */
int weft_link_watch_open(void);

/* Read the pending link events and hand them to weft_datapath_tc_link
 * (dp may be NULL: events are read and dropped). 0 or -errno. */
int weft_link_watch_read(int fd, struct weft_datapath *dp);

/* Detach weft's tc programs from these interfaces and from every one the
 * pinned weft_if_src under bpffs says weft put them on (--cleanup). */
void weft_datapath_tc_detach(const char *bpffs, const char *const *ifnames, size_t n);

/* Take the programs and their state off interfaces weft_if_src names but
 * that no wanted interface is attached on (left by an earlier weftd): after
 * the tc step's attaches. 0 or -errno. */
int weft_datapath_tc_sweep(struct weft_datapath *dp);

/* Close fds; attached programs and pins stay. Accepts NULL. */
void weft_datapath_close(struct weft_datapath *dp);

/* The folder lock weftd holds, taken for --cleanup so it never pulls a
 * running weftd's datapath away: an fd to close after the cleanup, -ENOENT
 * if the folder is not there (nothing to clean), -EBUSY with err naming the
 * holder's pid while a weftd runs on it, or another -errno. */
int weft_datapath_cleanup_lock(const char *bpffs, char *err, size_t errlen);

/* Detach every program weft pinned under cfg->bpffs and unpin its maps. */
int weft_datapath_cleanup(const struct weft_datapath_cfg *cfg, char *err, size_t errlen);

#endif /* WEFT_DATAPATH_H */
