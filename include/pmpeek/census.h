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
  /*
   * Of those, the objects no root reaches that the cyclic garbage
   * collector would free: garbage it has not collected yet (see
   * pm_census_take()).  0 in snapshots that do not record it.
   */
  uint64_t unreachable_count;
  uint64_t unreachable_size;
};

struct pm_census {
  struct pm_kind *kinds;
  size_t nkinds;
  uint64_t count; /* objects in all kinds */
  uint64_t size;
  uint64_t unreachable_count; /* over all kinds */
  uint64_t unreachable_size;
  /*
   * Objects seen but left out because their type or size could not be read,
   * and GC lists cut short by a bad link.  Either makes the census partial.
   */
  uint64_t skipped;
  uint64_t broken_lists; /* GC lists, thread lists and frame chains */
  uint64_t interpreters;
  /*
   * How the objects were found (for diagnostics): as a root (found_frames
   * of them in the frames of a thread), on a GC list and nowhere else, as
   * the referent of another object, or in an allocated pymalloc block and
   * nowhere else.  blocks_walked is non-zero when the allocator's blocks
   * were searched.
   */
  uint64_t found_roots, found_gc, found_referents, found_frames, found_blocks;
  int blocks_walked;
  /*
   * Of the objects first found on a GC list, those that something outside
   * the collector's view holds (a C reference): alive, not unreachable.
   */
  uint64_t held_by_c;
  /* Sweeps of the address space the walk took, and bytes it read. */
  uint64_t sweeps, bytes_read;
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
  PM_CENSUS_SERIAL = 4,    /* one thread: by default a live target's walk
                            * from the roots is shared by two, unless its
                            * heap is small (less than 8 MiB of arenas) */
  PM_CENSUS_GIVE = 8,      /* for the tests: the two walkers split the heap
                            * by MiB and hand each other MiB at every
                            * turn, not only when one is out of work, and
                            * a type's claimed dicts get a set of their own
                            * at its first claim (the census is the same) */
  PM_CENSUS_PARALLEL = 16, /* for the tests: two threads, even for a small
                            * heap */
};

enum pm_sort {
  PM_SORT_SIZE,
  PM_SORT_COUNT,
};

/*
 * What pm_census_take_progress() reports while it walks: objects counted,
 * bytes read from the target and seconds spent so far, and the phase
 * ("roots", "gc lists", "blocks").
 */
struct pm_census_progress {
  uint64_t objects;
  uint64_t bytes_read;
  double seconds;
  const char *phase;
  int done; /* 1 in the last call, when the walk has ended */
};

/*
 * Called once a few thousand objects in, then about every tenth of a
 * second during a census, and once at its end (done set) when it was
 * called before.  p is valid during the call
 * only.  It must not touch the census or the target.
 */
typedef void (*pm_census_progress_fn)(void *arg,
                                      const struct pm_census_progress *p);

/* Sets up an empty census; allocates nothing. */
void pm_census_init(struct pm_census *c);

/*
 * Counts every live object of every interpreter of py by kind, with
 * sys.getsizeof() sizes, and sorts the kinds by size.  Objects are found,
 * in this order, from the roots (sys.modules, the sys and builtins dicts,
 * each thread's state and frames, the static types: cpython/roots.h) and
 * their referents, transitively (following the layouts of the builtin
 * containers); then on the GC lists; then in the allocated blocks of the
 * object allocator (unless flags has PM_CENSUS_NO_BLOCKS).  Each object is
 * counted once.
 *
 * What the roots reach is alive.  Of the objects first found on a GC list,
 * those held by a reference from outside the collector's view (their
 * reference count exceeds the references the other objects found there
 * hold: a C global, say) are alive too, with what they reach; the others,
 * and what is first found from them, are unreachable: cyclic garbage the
 * collector has not freed yet (the garbage gc.collect() would free, as far
 * as pmpeek follows references).  Objects found only in the allocator's
 * blocks are held from C, not unreachable.
 *
 * Reading only: nothing in the target is written or materialised (an
 * instance whose attributes are kept inline has no dict, so none is
 * counted).  The target should be paused.  Returns 0 (check
 * pm_census_partial()), PM_EGONE, PM_EINTR, -ENOMEM, or a read error; on
 * error c is left empty.  No kind has a count of 0.
 */
int pm_census_take(struct pm_census *c, struct pm_python *py, unsigned flags);

/* pm_census_take() that reports its progress to fn (which may be NULL). */
int pm_census_take_progress(struct pm_census *c, struct pm_python *py,
                            unsigned flags, pm_census_progress_fn fn,
                            void *arg);

/* Non-zero when some objects or lists could not be read. */
int pm_census_partial(const struct pm_census *c);

/* Sorts the kinds, largest first; ties by the other key, then by name. */
void pm_census_sort(struct pm_census *c, enum pm_sort by);

/* Frees the kinds and leaves c empty. */
void pm_census_release(struct pm_census *c);

#endif
