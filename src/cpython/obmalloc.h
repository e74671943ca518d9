/* SPDX-License-Identifier: MIT */
/* obmalloc.h -- pymalloc's arenas, pools and blocks, read from outside */
#ifndef PM_OBMALLOC_H
#define PM_OBMALLOC_H

#include <stdint.h>
#include <string.h>

#include "cpython/python-private.h"

/*
 * A field of a copied arena object or pool header, at p in the copy: the
 * copies of the target's structs are bytes, read at layout offsets.
 */
static inline uint32_t
pm__obm_u32(const unsigned char *p)
{
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}

static inline uint64_t
pm__obm_u64(const unsigned char *p)
{
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}

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

/*
 * A block visitor that is handed the block's bytes as well: bytes points
 * to the size bytes of the block at block, copied from the target with its
 * pool, and valid during the call only.  The caller need not read the
 * block again.
 */
typedef int (*pm_block_bytes_fn)(void *arg, pm_addr_t block, unsigned size,
                                 const unsigned char *bytes);

/* pm__obmalloc_foreach_block() with each block's bytes. */
int pm__obmalloc_foreach_block_bytes(struct pm_python *py,
                                     pm_block_bytes_fn visit, void *arg);

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

/*
 * Does before a pause what pm__obmalloc_find() would do inside it from the
 * interpreter's file alone: for a file whose symbols do not name the 3.8 to
 * 3.11 globals (or with PM_OBM_NO_SYMBOLS), searches its code for the
 * references to them, and keeps what it found with the file (the target
 * keeps the file).  With PM_OBM_NO_COUNTERS only the two functions that
 * walk the arenas are read; else all of .text is searched, as for the
 * counters.  py needs only its target and binary (pm__python_prepare()):
 * the file's Py_Version tells 3.12+, which need no search.  Reads none of
 * the target's memory.  Returns 0, PM_ENOSYM, an error of the file's
 * (PM_EELF), or -ENOMEM.
 */
int pm__obmalloc_prepare(struct pm_python *py, unsigned flags);

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

/* One used arena of an allocator state, as its arena_object says. */
struct pm_obm_arena {
  pm_addr_t address;      /* [address, address + arena_size) */
  pm_addr_t first_pool;   /* address rounded up to a pool boundary */
  pm_addr_t pool_address; /* the first pool never carved: pools below it */
  uint32_t index;         /* its slot in its state's table */
  uint32_t nfreepools;    /* its pools not in use (empty or not carved) */
};

/* Every used arena of every allocator state, sorted by address. */
struct pm_obm_arenas {
  struct pm_obm_geometry g;
  struct pm_obm_arena *v;
  size_t n;
  uint64_t bad_arenas; /* slots skipped as inconsistent */
};

/*
 * Reads the arena tables of every allocator state of py into out (no arena
 * itself is read), for walkers that read the pools themselves, with
 * pm__obmalloc_pool_used().  Returns 0, PM_ENOSYM as
 * pm__obmalloc_foreach_block() does, PM_ECORRUPT when two states claim
 * overlapping arenas, or a fatal read error; out is left empty on error.
 */
int pm__obmalloc_arenas(struct pm_python *py, struct pm_obm_arenas *out);

void pm__obmalloc_arenas_release(struct pm_obm_arenas *a);

/* The index in a->v of the arena holding addr, or -1.  O(log n). */
int64_t pm__obmalloc_arena_of(const struct pm_obm_arenas *a, pm_addr_t addr);

/* The allocated blocks of one pool: bit k of used is block k. */
#define PM_OBM_POOL_WORDS (65536 / 16 / 64)
struct pm_obm_pool_used {
  uint32_t first;   /* offset of block 0 in the pool */
  uint32_t size;    /* bytes per block */
  uint32_t nblocks; /* blocks carved so far */
  uint64_t used[PM_OBM_POOL_WORDS];
};

/*
 * j / m for the j-th 16-byte granule past a pool's first block and blocks
 * of m granules: (j * pm__obm_recip(m)) >> PM_OBM_RECIP_SHIFT, with no
 * division per block.  Exact for every j of a pool of 64 KiB (j < 2^12)
 * and m <= 32 (blocks of 512 bytes): ceil(2^17 / m) errs by less than 1
 * in 2^17 / m, so j / m errs by less than j / 2^17 < 1/32, and never
 * reaches the next integer, which is at least 1/m >= 1/32 away.
 */
#define PM_OBM_RECIP_SHIFT 17
static inline uint32_t
pm__obm_recip(uint32_t m)
{
  return (((uint32_t)1 << PM_OBM_RECIP_SHIFT) + m - 1) / m;
}

/*
 * The allocated blocks of the pool at pool, in arena a->v[arena], whose
 * pool_size bytes the caller copied to mem, with the checks of
 * pm__obmalloc_foreach_block(): an empty pool has none, and one whose
 * header or free list breaks pymalloc's invariants is counted in
 * *bad_pools and has none.  A walker then looks at the blocks it wants in
 * a loop of its own, with no call per block.  Returns 0, or PM_ECORRUPT
 * when pool is not a carved pool of that arena.
 */
int pm__obmalloc_pool_used(struct pm_python *py, const struct pm_obm_arenas *a,
                           size_t arena, pm_addr_t pool,
                           const unsigned char *mem,
                           struct pm_obm_pool_used *out, uint64_t *bad_pools);

/*
 * Whether the debug hooks (PYTHONMALLOC=debug or -X dev, and a Py_DEBUG
 * build's default) wrap pymalloc, told by the blocks themselves: the
 * build does not tell (a release build takes PYTHONMALLOC=debug, a debug
 * one PYTHONMALLOC=pymalloc).  A wrapped block begins with the size asked
 * for and its domain's letter ('m' or 'o') followed by seven
 * PYMEM_FORBIDDENBYTE (0xFD), its data 16 bytes in, and 8 more such bytes
 * after the data.  Reads carved pools of a, the fullest arena's first, at
 * most PM_OBM_HOOKS_POOLS, until PM_OBM_HOOKS_SAMPLE allocated blocks are
 * seen.
 * Sets *hooks to 1 when nine in ten or more bear the mark, to 0 when fewer
 * do, and leaves it as it is when the pools hold too few blocks to tell.
 * Returns 0, or a fatal read error or -ENOMEM.
 */
#define PM_OBM_HOOKS_POOLS 16
#define PM_OBM_HOOKS_SAMPLE 64
int pm__obmalloc_debug_hooks(struct pm_python *py,
                             const struct pm_obm_arenas *a, int *hooks);

#endif
