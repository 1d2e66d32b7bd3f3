// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* grow: arrays that double (grow.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/grow.h"

int weft_grow(void *arr, size_t *cap, size_t need, size_t size)
{
	size_t c = *cap ? *cap : 64;
	void *p;

	if (need <= *cap)
		return 0;
	while (c < need)
		c *= 2;
	memcpy(&p, arr, sizeof(p));
	p = realloc(p, c * size);
	if (!p)
		return -ENOMEM;
	memcpy(arr, &p, sizeof(p));
	*cap = c;
	return 0;
}
