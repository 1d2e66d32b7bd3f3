/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* datapath internals shared by its files (datapath.c: load, pin, attach;
 * tc.c: the tc programs on endpoint interfaces). Not for other rooms. */
#ifndef WEFT_DATAPATH_INTERNAL_H
#define WEFT_DATAPATH_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "datapath/datapath.h"
#include "weft.skel.h"

struct weft_datapath {
	struct weft *skel;
	struct weft_maps maps;
	bool fresh[WEFT_M_COUNT];	/* created by this load: pin after attach */
	int old[WEFT_M_COUNT];		/* the pinned maps a rebuilt set replaces, until attach; -1 */
	bool had_pins;			/* some map was pinned already (not a first start) */
	bool carried;			/* every desired-state map of the old set carried over */
	bool redir;			/* redirect programs loaded (kernel has the features) */
	bool gone;			/* the socket iterators of sockgone.bpf.c loaded
					 * (kernel has bpf_sock_destroy) */
	size_t ntc;			/* interfaces the tc programs are attached to */
	struct weft_tc_status *tc_if;	/* interfaces of policed endpoints (tc_sync) */
	size_t ntc_if;
	uint32_t ct_size;		/* entries of each interface's flow table */
	struct bpf_link **links;
	size_t nlinks;
	int lockfd;			/* flock on bpffs: one weftd per folder (-1: none) */
	char bpffs[4096];
	char cgroup[4096];
};

#endif /* WEFT_DATAPATH_INTERNAL_H */
