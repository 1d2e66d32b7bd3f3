// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The only definitions of weft's maps (see lib/maps.h); every other object
 * declares them extern and `bpftool gen object` links them here. */
#include "vmlinux.h"

#define WEFT_DEFINE_MAPS
#include "lib/maps.h"

char LICENSE[] SEC("license") = "GPL";
