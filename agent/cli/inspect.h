/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * inspect: the weft CLI's generic commands, which read whatever is pinned
 * under --bpffs (no skeleton, works while weftd is down):
 *	weft status          weftd's pid and liveness, last apply, map
 *	                     occupancy, attach status of every pinned link
 *	weft map list        every pinned map: type, sizes, entries
 *	weft map dump NAME   its entries, decoded with the map's BTF (hex without)
 * Each takes --json. Errors go to stderr, one line naming what is wrong;
 * exit codes are WEFT_EXIT_* (docs/cli.md).
 */
#ifndef WEFT_INSPECT_H
#define WEFT_INSPECT_H

#include <stdbool.h>
#include <stddef.h>

/* Exit codes of weft (every command; docs/cli.md lists them). */
#define WEFT_EXIT_OK 0		/* done */
#define WEFT_EXIT_ERROR 1	/* a map could not be read or written, a named map is not pinned */
#define WEFT_EXIT_USAGE 2	/* bad command, option or argument (the message names it) */
#define WEFT_EXIT_PERM 3	/* permission denied: weft needs root (CAP_BPF + CAP_SYS_ADMIN) */
#define WEFT_EXIT_NO_PINS 4	/* no pinned maps under --bpffs: weftd has never run here */
#define WEFT_EXIT_OLD_WEFTD 5	/* a map this weft reads is not pinned: weftd is older */
#define WEFT_EXIT_NEW_WEFTD 6	/* weft_info.abi > WEFT_ABI_VERSION: weftd is newer */

/* Print s as a JSON string to stdout: quoted, escaped, bytes outside
 * printable ASCII as \u00XX (names are ASCII; output stays valid JSON). */
void weft_json_str(const char *s);

/* Check that bpffs holds a datapath this weft can read: the directory and
 * weft_info are there and weft_info.abi is not newer than WEFT_ABI_VERSION.
 * Prints the reason on stderr and returns a WEFT_EXIT_* code, or 0. */
int weft_cli_check(const char *bpffs);

/* Open weftd's pinned map NAME under bpffs. Returns the fd, or a negative
 * WEFT_EXIT_* code after printing why (not root; not pinned: weftd older
 * than this weft). Call weft_cli_check first. */
int weft_cli_open(const char *bpffs, const char *name);

/* Every map weft knows, by pinned name: those of enum weft_map_id, then the
 * observability maps it opens by name. Fills up to max; returns how many. */
size_t weft_cli_map_names(const char **out, size_t max);

/* Map pressure: every map of weft_cli_map_names() pinned under bpffs with
 * its entries and capacity. JSON: an array of {"name", "entries",
 * "capacity"} (maps without a count, ring buffers and socket storage, are
 * left out); table: one line each with its use in percent. */
void weft_cli_print_maps(const char *bpffs, bool json);

/* argv[0] is "status" or "map". */
int weft_inspect_main(const char *bpffs, bool json, int argc, char **argv);

#endif /* WEFT_INSPECT_H */
