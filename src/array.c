/* SPDX-License-Identifier: MIT */
/* array.c -- growing the arrays every layer keeps */
#include <config.h>

#include <errno.h>
#include <stdlib.h>

#include "array.h"

int
pm__array_grow(void **v, size_t *cap, size_t elem, size_t need)
{
  size_t ncap = *cap ? *cap : 16;
  void *nv;

  if (need <= *cap)
    return 0;
  while (ncap < need)
    ncap *= 2;
  if (!(nv = realloc(*v, ncap * elem)))
    return -ENOMEM;
  *v = nv;
  *cap = ncap;
  return 0;
}
