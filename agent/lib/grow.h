/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* grow: arrays that double. */
#ifndef WEFT_LIB_GROW_H
#define WEFT_LIB_GROW_H

#include <stddef.h>

/* Make *arr (a pointer to an array of elements of size bytes, *cap of them
 * allocated) hold at least need elements, doubling from 64. 0 or -ENOMEM
 * (the array is then as it was). */
int weft_grow(void *arr, size_t *cap, size_t need, size_t size);

#endif /* WEFT_LIB_GROW_H */
