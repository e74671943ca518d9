/* SPDX-License-Identifier: MIT */
/* obmalloc.h -- pymalloc's arenas, pools and blocks, read from outside */
#ifndef PM_OBMALLOC_H
#define PM_OBMALLOC_H

#include <stdint.h>

#include "cpython/python-private.h"

/*
 * Called for one allocated pymalloc block: block is the block's address,
 * size its size class in bytes (16, 32, ... 512).  With the debug hooks
 * (Py_DEBUG, PYTHONMALLOC=debug) the caller's data starts 16 bytes in.
 * A non-zero return stops the walk.
 */
typedef int (*pm_block_visit_fn)(void *arg, pm_addr_t block, unsigned size);

/*
 * Calls visit for every allocated block of every pool of every arena of
 * py's allocator(s): block is the block's address, size its size class in
 * bytes.  Blocks on a pool's free list are not visited.  Returns 0, the
 * first non-zero value visit returned, or a fatal read error.
 *
 * Every allocator state is covered once: the process-wide one of 3.8-3.11,
 * or each distinct state of the interpreters of 3.12+.  The target should
 * be paused.  Each arena's carved pools are copied in one read, so the
 * cost is about one process_vm_readv per arena.  An arena or pool that does
 * not read back consistently (unmapped, or a header that breaks pymalloc's
 * invariants) is skipped, never followed; see pm_allocator_partial() for a
 * walk that reports what it skipped.  PM_ENOSYM when the allocator state
 * cannot be found (a stripped binary the scan could not resolve).
 */
int pm__obmalloc_foreach_block(struct pm_python *py, pm_block_visit_fn visit,
                               void *arg);

/* -- shared by obmalloc.c and obmalloc-find.c ---------------------------- */

/* pymalloc's constants (Objects/obmalloc.c, pycore_obmalloc.h), x86-64. */
#define PM_OBM_ALIGNMENT 16
#define PM_OBM_NCLASSES 32  /* SMALL_REQUEST_THRESHOLD 512 / ALIGNMENT */
#define PM_OBM_MAX_POOLS 64 /* pools per arena, in every version */
/* Bounds pmpeek puts on untrusted counts read from the target. */
#define PM_OBM_MAX_ARENAS (1u << 20)
#define PM_OBM_MAX_STATES 64

/* Arena and pool sizes of a version: 256 KiB / 4 KiB until 3.9. */
struct pm_obm_geometry {
  uint32_t arena_size;
  uint32_t pool_size;
  uint32_t pool_overhead; /* sizeof(struct pool_header) rounded to 16 */
};

/* Where pmpeek found the state. */
enum pm_obm_source {
  PM_OBM_FROM_SYMBOLS, /* .symtab names the 3.8-3.11 globals */
  PM_OBM_FROM_INTERP,  /* 3.12+: PyInterpreterState.obmalloc */
  PM_OBM_FROM_CODE,    /* stripped: the code that uses the globals */
};

/*
 * One allocator state as read while the target is paused.  Counters that
 * could not be found are -1.
 */
struct pm_obm_state {
  int64_t interp_id;  /* first interpreter using it; -1 for 3.8-3.11 */
  pm_addr_t arenas;   /* the arena_object table */
  uint32_t maxarenas; /* its length, checked against the table */
  int64_t ntimes_arena_allocated;
  int64_t narenas_highwater;
};

/* Options of pm__obmalloc_find(). */
enum {
  PM_OBM_NO_SYMBOLS = 1,  /* ignore .symtab: take the stripped route */
  PM_OBM_NO_COUNTERS = 2, /* only the table: skip the counters' search */
};

/*
 * Finds every allocator state of py into out (at most max) and sets *n
 * and *source.  Each table is validated (every slot a plausible arena or a
 * member of the unused list) before it is returned.  Returns 0, PM_ENOSYM
 * when no state can be found without a guess, or a fatal read error.
 */
int pm__obmalloc_find(struct pm_python *py, unsigned flags,
                      struct pm_obm_state *out, int max, int *n,
                      enum pm_obm_source *source);

/* The constants for py's version. */
void pm__obmalloc_geometry(const struct pm_python *py,
                           struct pm_obm_geometry *g);

/*
 * Checks that the maxarenas slots of the table at arenas hold used arenas
 * and a well-formed unused list, and counts the used ones into *used.
 * Returns 0, PM_ECORRUPT, or a fatal read error.
 */
int pm__obmalloc_check_table(struct pm_python *py,
                             const struct pm_obm_geometry *g, pm_addr_t arenas,
                             uint32_t maxarenas, uint32_t *used);

#endif
