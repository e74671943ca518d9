/* SPDX-License-Identifier: MIT */
/* allocator.h -- pymalloc's figures, as sys._debugmallocstats() prints them */
#ifndef PMPEEK_ALLOCATOR_H
#define PMPEEK_ALLOCATOR_H

#include <stddef.h>
#include <stdint.h>

#include "pmpeek/python.h"
#include "pmpeek/types.h"

/* A figure that could not be recovered (JSON null, text "unknown"). */
#define PM_UNKNOWN (-1)

#define PM_ALLOCATOR_NCLASSES 32

/* One size class: blocks of `size` bytes. */
struct pm_size_class {
  unsigned index;
  unsigned size;
  uint64_t pools;            /* pools in use (ref.count > 0) */
  uint64_t blocks_in_use;    /* sum of ref.count */
  uint64_t blocks_available; /* free blocks of those pools */
};

/*
 * The figures of one allocator state, each computed exactly as CPython's
 * _PyObject_DebugMallocStats() / pymalloc_print_stats() computes it.
 */
struct pm_obmalloc_stats {
  int64_t interp_id; /* first interpreter using it; -1 for 3.8-3.11 */
  struct pm_size_class classes[PM_ALLOCATOR_NCLASSES];
  int64_t arenas_allocated_total;    /* ntimes_arena_allocated, or PM_UNKNOWN */
  int64_t arenas_reclaimed;          /* total - current, or PM_UNKNOWN */
  int64_t arenas_highwater;          /* narenas_highwater, or PM_UNKNOWN */
  uint64_t arenas_allocated_current; /* arenas walked */
  uint64_t unused_pools;             /* sum of nfreepools */
  uint64_t bytes_in_allocated_blocks;
  uint64_t bytes_in_available_blocks;
  uint64_t bytes_in_unused_pools;
  uint64_t bytes_lost_to_pool_headers;
  uint64_t bytes_lost_to_quantization;
  uint64_t bytes_lost_to_arena_alignment;
  uint64_t total; /* the sum of the six above: arenas * arena_size */
};

/*
 * How the process's resident memory divides around the arenas.  Unknown
 * figures are PM_UNKNOWN.
 */
struct pm_memory {
  int64_t rss;               /* Rss of /proc/PID/smaps_rollup */
  uint64_t arenas_mapped;    /* arenas * arena_size, every state */
  int64_t arenas_resident;   /* arena pages present in RAM (pagemap) */
  uint64_t allocated_blocks; /* bytes in allocated blocks, every state */
  int64_t free_in_arenas;    /* arenas_resident - allocated_blocks */
  int64_t outside_arenas;    /* rss - arenas_resident */
};

struct pm_allocator {
  unsigned arena_size;
  unsigned pool_size;
  unsigned pool_overhead;
  const char *found_by; /* "symbols", "interpreter state" or "code scan" */
  /*
   * One entry per distinct allocator state; [0] is the main interpreter's
   * (the only one before 3.12), the one sys._debugmallocstats() prints
   * when called from the main interpreter.
   */
  struct pm_obmalloc_stats *states;
  size_t nstates;
  struct pm_memory memory;
  /* Skipped as inconsistent: arenas that did not read, pools whose header
   * broke an invariant.  Either makes the figures partial. */
  uint64_t bad_arenas;
  uint64_t bad_pools;
  /* Sorted start addresses of all arenas, for pm_allocator_in_arena(). */
  pm_addr_t *arena_bases;
  size_t narena_bases;
};

/* Options of pm_allocator_take(). */
enum {
  /* Ignore .symtab and find 3.8-3.11's state as in a stripped binary. */
  PM_ALLOCATOR_NO_SYMBOLS = 1,
};

/* Sets up an empty a; allocates nothing. */
void pm_allocator_init(struct pm_allocator *a);

/*
 * Walks every arena and pool of every allocator state of py (the target
 * should be paused) and fills a, memory included.  Returns 0 (check
 * pm_allocator_partial()), PM_ENOSYM when the allocator state cannot be
 * found, -ENOMEM, or a fatal read error (PM_EGONE, PM_EINTR); on error a is
 * left empty.
 */
int pm_allocator_take(struct pm_allocator *a, struct pm_python *py,
                      unsigned flags);

/*
 * Does before a pause what pm_allocator_take() would do inside it from the
 * interpreter's file alone: for 3.8-3.11 without the allocator's symbols
 * (or with PM_ALLOCATOR_NO_SYMBOLS), searches the code for the globals
 * that hold the arena table and the counters, and leaves what it found
 * with the file that t keeps (all of .text read and scanned: 15 to 20 ms
 * of the pause when done inside it).  Does all pm_python_prepare() does
 * besides, so that one of the two is enough.  The version is the file's
 * (Py_Version).  Reads none of the target's memory, so a recording holds
 * only what the pause read.  Returns 0, PM_ENOPYTHON, PM_ENOSYM when the
 * code holds no such globals, or -ENOMEM; the pause meets any of them
 * again and says it.
 */
int pm_allocator_prepare(struct pm_target *t, unsigned flags);

/*
 * Non-zero when arenas or pools were skipped, or a counter of state [0]
 * is unknown.
 */
int pm_allocator_partial(const struct pm_allocator *a);

/*
 * Non-zero when addr lies inside one of the arenas walked by
 * pm_allocator_take() (the block of a pymalloc allocation), zero for
 * memory from malloc() or mmap().  O(log arenas); a must stay untouched.
 */
int pm_allocator_in_arena(const struct pm_allocator *a, pm_addr_t addr);

/* Frees what a holds and leaves it empty. */
void pm_allocator_release(struct pm_allocator *a);

#endif
