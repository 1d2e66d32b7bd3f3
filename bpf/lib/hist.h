/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The bucket of a latency sample in a weft_hist (abi.h): log-linear, two
 * buckets per power of two, computed without loops (a fixed binary search
 * for the highest set bit). Plain C on purpose: the BPF programs and the
 * unit tests include the same function.
 */
#ifndef WEFT_BPF_HIST_H
#define WEFT_BPF_HIST_H

#include "weft/abi.h"

/* v in microseconds -> bucket index, 0..WEFT_HIST_BUCKETS-1. */
static inline __attribute__((always_inline)) __u32 weft_hist_bucket(__u64 v)
{
	__u64 x = v;
	__u32 k = 0, b;

	if (v < 2)
		return (__u32)v;
	if (x >> 32) {
		k += 32;
		x >>= 32;
	}
	if (x >> 16) {
		k += 16;
		x >>= 16;
	}
	if (x >> 8) {
		k += 8;
		x >>= 8;
	}
	if (x >> 4) {
		k += 4;
		x >>= 4;
	}
	if (x >> 2) {
		k += 2;
		x >>= 2;
	}
	if (x >> 1)
		k += 1;
	/* k = floor(log2 v) >= 1; the bit below the top one says whether v
	 * is in the upper half [1.5 * 2^k, 2^(k+1)). */
	b = 2 * k + (__u32)((v >> (k - 1)) & 1);
	return b < WEFT_HIST_BUCKETS ? b : WEFT_HIST_BUCKETS - 1;
}

#endif /* WEFT_BPF_HIST_H */
