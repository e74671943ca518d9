/* SPDX-License-Identifier: MIT */
/* layout.h -- per-version CPython struct layouts, generated from offsets/ */
#ifndef PM_LAYOUT_H
#define PM_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

enum pm_build {
  PM_BUILD_DEFAULT = 0,
  PM_BUILD_DEBUG = 1, /* Py_DEBUG: Py_REF_DEBUG, pymalloc debug hooks */
};

/*
 * Sizes and offsets in bytes; -1 where the field does not exist in the
 * layout's versions.  Versions are packed as major << 16 | minor << 8 |
 * micro, both ends inclusive.
 */
struct pm_layout {
  const char *file; /* the offsets/ file it came from */
  uint32_t version_lo, version_hi;
  enum pm_build build;
#define PM_FIELD(name, type, path) int64_t name;
#include "cpython/layout-fields.def"
#undef PM_FIELD
};

/* Every layout compiled in, from the generated offsets-table.c. */
extern const struct pm_layout pm__layouts[];
extern const size_t pm__nlayouts;

/*
 * The layout for version (packed as above) and build, or NULL when pmpeek
 * has none: a version without a table is refused, never approximated.
 */
const struct pm_layout *pm__layout_find(uint32_t version, enum pm_build build);

#endif
