/* SPDX-License-Identifier: MIT */
/* array.h -- growing the arrays every layer keeps */
#ifndef PM_ARRAY_H
#define PM_ARRAY_H

#include <stddef.h>

/*
 * Makes *v, an array of *cap elements of elem bytes, hold at least need
 * elements, by doubling (from 16).  Returns 0, or -ENOMEM with *v and
 * *cap unchanged.
 */
int pm__array_grow(void **v, size_t *cap, size_t elem, size_t need);

#endif
