// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* version: see version.h. */
#include "lib/version.h"

#ifndef WEFT_VERSION
#error "WEFT_VERSION comes from the Makefile (the VERSION file, git describe)"
#endif

const char *weft_version(void)
{
	return WEFT_VERSION;
}
