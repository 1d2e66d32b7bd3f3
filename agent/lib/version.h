/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * version: the one place weft's version lives in the programs. The Makefile
 * passes it as -DWEFT_VERSION to version.c alone: `git describe --tags
 * --always --dirty` in a git checkout (the VERSION file plus the commit while
 * no release is tagged), else the VERSION file at the top of the tree. `weft
 * --version`, `weftd --version` and /metrics' weft_build_info all read it.
 */
#ifndef WEFT_LIB_VERSION_H
#define WEFT_LIB_VERSION_H

/* "0.3.0", "v0.3.0-4-gabc1234-dirty", "0.3.0-gdeefc68". */
const char *weft_version(void);

#endif /* WEFT_LIB_VERSION_H */
