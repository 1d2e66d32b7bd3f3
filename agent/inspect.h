/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * inspect: the weft CLI's generic commands, which read whatever is pinned
 * under --bpffs (no skeleton, works while weftd is down):
 *	weft status          weftd's pid and liveness, last apply, map
 *	                     occupancy, attach status of every pinned link
 *	weft map list        every pinned map: type, sizes, entries
 *	weft map dump NAME   its entries, decoded with the map's BTF (hex without)
 * Each takes --json. Exit codes: 0 done, 1 error (message on stderr), 2 usage.
 */
#ifndef WEFT_INSPECT_H
#define WEFT_INSPECT_H

#include <stdbool.h>

/* Print s as a JSON string to stdout: quoted, escaped, bytes outside
 * printable ASCII as \u00XX (names are ASCII; output stays valid JSON). */
void weft_json_str(const char *s);

/* argv[0] is "status" or "map". */
int weft_inspect_main(const char *bpffs, bool json, int argc, char **argv);

#endif /* WEFT_INSPECT_H */
