/* SPDX-License-Identifier: MIT */
/* layout.c -- choose the compiled-in layout for a CPython version */
#include <config.h>

#include "cpython/layout.h"

const struct pm_layout *
pm__layout_find(uint32_t version, enum pm_build build)
{
  for (size_t i = 0; i < pm__nlayouts; i++) {
    const struct pm_layout *l = &pm__layouts[i];
    if (l->build == build && version >= l->version_lo
        && version <= l->version_hi)
      return l;
  }
  return NULL;
}
