/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * inspect: the weft CLI's generic commands, which read whatever is pinned
 * under --bpffs (no skeleton, works while weftd is down):
 *	weft status          weftd's pid and liveness, last apply, map
 *	                     occupancy, attach status of every pinned link
 *	weft map list        every pinned map: type, sizes, entries
 *	weft map dump NAME   its entries, decoded with the map's BTF (hex without)
 * and the checks and opens every command starts with. Errors go to stderr,
 * one line naming what is wrong; exit codes are WEFT_EXIT_* (docs/cli.md).
 */
#ifndef WEFT_INSPECT_H
#define WEFT_INSPECT_H

#include <stdbool.h>
#include <stddef.h>

struct json_object;
struct weft_cli_opts;
struct weft_out;

/* Exit codes of weft (every command; docs/cli.md lists them). */
#define WEFT_EXIT_OK 0		/* done */
#define WEFT_EXIT_ERROR 1	/* a map could not be read or written, a named map is not pinned */
#define WEFT_EXIT_USAGE 2	/* bad command, option or argument (the message names it) */
#define WEFT_EXIT_PERM 3	/* permission denied: weft needs root (CAP_BPF + CAP_SYS_ADMIN) */
#define WEFT_EXIT_NO_PINS 4	/* no pinned maps under --bpffs: weftd has never run here */
#define WEFT_EXIT_OLD_WEFTD 5	/* a map this weft reads is not pinned: weftd is older */
#define WEFT_EXIT_NEW_WEFTD 6	/* weft_info.abi > WEFT_ABI_VERSION: weftd is newer */

/* Check that bpffs holds a datapath this weft can read: the directory and
 * weft_info are there and weft_info.abi is not newer than WEFT_ABI_VERSION.
 * Prints the reason on stderr and returns a WEFT_EXIT_* code, or 0. */
int weft_cli_check(const char *bpffs);

/* Open weftd's pinned map NAME under bpffs. Returns the fd, or a negative
 * WEFT_EXIT_* code after printing why (not root; not pinned: weftd older
 * than this weft). Call weft_cli_check first. */
int weft_cli_open(const char *bpffs, const char *name);

/* Say that map (a WEFT_M_*) could not be read (err: -errno):
 * WEFT_EXIT_ERROR. */
int weft_cli_read_failed(int map, int err);

/* Every map weft knows, by pinned name (enum weft_map_id). Fills up to max;
 * returns how many. */
size_t weft_cli_map_names(const char **out, size_t max);

/* Map pressure: every map of weft_cli_map_names() pinned under bpffs with
 * its entries and capacity. As a document: an array of {"name", "entries",
 * "capacity"} under key of parent (maps without a count, ring buffers and
 * socket storage, are left out); as a table: one line each with its use in
 * percent. */
void weft_cli_maps_doc(const char *bpffs, struct json_object *parent, const char *key);
void weft_cli_maps_table(const char *bpffs, const struct weft_out *out);

int weft_cmd_status(struct weft_cli_opts *o);

/* sub: "list", or "dump" with name. */
int weft_cmd_map(struct weft_cli_opts *o, const char *sub, const char *name);

#endif /* WEFT_INSPECT_H */
