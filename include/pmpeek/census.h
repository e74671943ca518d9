/* SPDX-License-Identifier: MIT */
/* census.h -- a partition of the target's objects by kind */
#ifndef PMPEEK_CENSUS_H
#define PMPEEK_CENSUS_H

#include <stddef.h>
#include <stdint.h>

#include "pmpeek/python.h"

/* One row: all objects whose type prints as `name`. */
struct pm_kind {
  char *name;
  uint64_t count;
  uint64_t size; /* sum of sys.getsizeof() */
};

struct pm_census {
  struct pm_kind *kinds;
  size_t nkinds;
  uint64_t count; /* objects in all kinds */
  uint64_t size;
  /*
   * Objects seen but left out because their type or size could not be read,
   * and GC lists cut short by a bad link.  Either makes the census partial.
   */
  uint64_t skipped;
  uint64_t broken_lists;
  uint64_t interpreters;
};

enum pm_sort {
  PM_SORT_SIZE,
  PM_SORT_COUNT,
};

/* Sets up an empty census; allocates nothing. */
void pm_census_init(struct pm_census *c);

/*
 * Counts every GC-tracked object of every interpreter of py by kind, with
 * sys.getsizeof() sizes, and sorts the kinds by size.  The target should be
 * paused.  Returns 0 (check pm_census_partial()), PM_EGONE, PM_EINTR,
 * -ENOMEM, or a read error; on error c is left empty.
 */
int pm_census_take(struct pm_census *c, struct pm_python *py);

/* Non-zero when some objects or lists could not be read. */
int pm_census_partial(const struct pm_census *c);

/* Sorts the kinds, largest first; ties by the other key, then by name. */
void pm_census_sort(struct pm_census *c, enum pm_sort by);

/* Frees the kinds and leaves c empty. */
void pm_census_release(struct pm_census *c);

#endif
