/* SPDX-License-Identifier: MIT */
/* census.h -- a partition of the target's objects by kind */
#ifndef PMPEEK_CENSUS_H
#define PMPEEK_CENSUS_H

#include <stddef.h>
#include <stdint.h>

#include "pmpeek/python.h"

/*
 * One row: all objects of one kind.  A kind is a type, named as Python
 * prints it (builtins bare, else module.qualname), except that a dict is
 * named by its owner as heapy does: "dict of K" for the __dict__ of an
 * instance of K (K "type" for a class's namespace, "module" for a
 * module's), "dict (no owner)" for any other.
 */
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
  uint64_t broken_lists; /* GC lists, thread lists and frame chains */
  uint64_t interpreters;
  /*
   * How the objects were found (for diagnostics): on a GC list, as the
   * referent of another object, held by a thread's frames, or in an
   * allocated pymalloc block and nowhere else.  blocks_walked is non-zero
   * when the allocator's blocks were searched.
   */
  uint64_t found_gc, found_referents, found_frames, found_blocks;
  int blocks_walked;
};

/*
 * Options of pm_census_take().  By default kinds are heapy's partition
 * (dicts by owner) and every route is taken.
 */
enum {
  PM_CENSUS_BY_KIND = 0,   /* the default: heapy's kinds, every route */
  PM_CENSUS_BY_TYPE = 1,   /* plain types: every dict is "dict" */
  PM_CENSUS_NO_BLOCKS = 2, /* skip the allocator's blocks: find objects only
                            * on the GC lists, as referents and in frames,
                            * which is what an in-process census sees */
};

enum pm_sort {
  PM_SORT_SIZE,
  PM_SORT_COUNT,
};

/* Sets up an empty census; allocates nothing. */
void pm_census_init(struct pm_census *c);

/*
 * Counts every live object of every interpreter of py by kind, with
 * sys.getsizeof() sizes, and sorts the kinds by size.  Objects are found on
 * the GC lists, as referents of objects found (following the layouts of
 * the builtin containers), in the frames of every thread, and in the
 * allocated blocks of the object allocator (unless flags has
 * PM_CENSUS_NO_BLOCKS); each is counted once.  Reading
 * only: nothing in the target is written or materialised (an instance whose
 * attributes are kept inline has no dict, so none is counted).  The target
 * should be paused.  Returns 0 (check pm_census_partial()), PM_EGONE,
 * PM_EINTR, -ENOMEM, or a read error; on error c is left empty.  No kind
 * has a count of 0.
 */
int pm_census_take(struct pm_census *c, struct pm_python *py,
                   unsigned flags);

/* Non-zero when some objects or lists could not be read. */
int pm_census_partial(const struct pm_census *c);

/* Sorts the kinds, largest first; ties by the other key, then by name. */
void pm_census_sort(struct pm_census *c, enum pm_sort by);

/* Frees the kinds and leaves c empty. */
void pm_census_release(struct pm_census *c);

#endif
