// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Unit tests of observability: the histogram bucket math the BPF programs
 * use (bpf/lib/hist.h, the same function compiled for the host). */
#include <stddef.h>
#include <stdint.h>

#include "harness.h"
#include "../../bpf/lib/hist.h"

TEST(unit, obs_hist_bucket_boundaries)
{
	static const struct {
		uint64_t v;
		uint32_t b;
	} cases[] = {
		{ 0, 0 }, { 1, 1 }, { 2, 2 }, { 3, 3 }, { 4, 4 }, { 5, 4 }, { 6, 5 }, { 7, 5 },
		{ 8, 6 }, { 11, 6 }, { 12, 7 }, { 15, 7 }, { 16, 8 }, { 1000, 19 }, { 1023, 19 },
		{ 1024, 20 }, { 1u << 27, 54 }, { 3u << 26, 55 }, { (1u << 28) - 1, 55 },
		{ 1u << 28, 55 }, { UINT64_MAX, 55 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (!ASSERT_EQ(weft_hist_bucket(cases[i].v), cases[i].b, "bucket of a boundary"))
			return;
	/* Every power of two below the last bucket: 2^k opens bucket 2k, 1.5 * 2^k
	 * opens 2k + 1, and the values just below them close the previous one. */
	for (uint32_t k = 1; k < 28; k++) {
		uint64_t p = 1ull << k, h = p + p / 2;

		if (!ASSERT_EQ(weft_hist_bucket(p), 2 * k, "2^k") ||
		    !ASSERT_EQ(weft_hist_bucket(p - 1), 2 * k - 1, "2^k - 1") ||
		    !ASSERT_EQ(weft_hist_bucket(h - 1), 2 * k, "1.5 * 2^k - 1") ||
		    !ASSERT_EQ(weft_hist_bucket(h), 2 * k + 1, "1.5 * 2^k"))
			return;
	}
}
