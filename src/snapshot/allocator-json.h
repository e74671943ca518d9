/* SPDX-License-Identifier: MIT */
/* allocator-json.h -- pymalloc's figures in the snapshot document */
#ifndef PM_ALLOCATOR_JSON_H
#define PM_ALLOCATOR_JSON_H

#include <jansson.h>

#include "pmpeek/allocator.h"

/*
 * Adds the "allocator" and "memory" objects for a to root (see
 * docs/allocator.md); unknown figures are null.  Returns 0, or -1 when out
 * of memory (root may then hold part of them).
 */
int pm__allocator_json(json_t *root, const struct pm_allocator *a);

#endif
