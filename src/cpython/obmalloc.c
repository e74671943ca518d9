/* SPDX-License-Identifier: MIT */
/* obmalloc.c -- walk pymalloc's arenas and pools: blocks and statistics */
#include <config.h>

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cpython/obmalloc.h"
#include "cpython/python-private.h"
#include "pmpeek/allocator.h"
#include "pmpeek/error.h"

#define TABLE_CHUNK 1024 /* arena_objects per read */

/* One used arena, as its arena_object describes it. */
struct arena_view {
  uint32_t index;
  pm_addr_t address;
  pm_addr_t first_pool;   /* address rounded up to a pool boundary */
  pm_addr_t pool_address; /* the first pool never carved */
  uint32_t nfreepools;
};

/* One pool in use, with its bytes copied from the target. */
struct pool_view {
  pm_addr_t addr;
  const unsigned char *mem; /* [addr, addr + nextoffset) */
  uint32_t count, szidx, nextoffset;
  unsigned size;
  pm_addr_t freeblock;
};

struct walk {
  struct pm_python *py;
  struct pm_obm_geometry g;
  unsigned char *table;
  unsigned char *arena;
  /* Either may be NULL; a non-zero return ends the walk with it. */
  int (*on_arena)(struct walk *w, const struct arena_view *a);
  int (*on_pool)(struct walk *w, const struct pool_view *p);
  void *arg;
  uint64_t bad_arenas, bad_pools;
};

static int
walk_init(struct walk *w, struct pm_python *py)
{
  memset(w, 0, sizeof(*w));
  w->py = py;
  pm__obmalloc_geometry(py, &w->g);
  if (py->L->arena_object_size < 48 || py->L->pool_header_size < 48)
    return PM_EOFFSETS;
  w->table = malloc((size_t)py->L->arena_object_size * TABLE_CHUNK);
  w->arena = malloc(w->g.arena_size);
  return w->table && w->arena ? 0 : -ENOMEM;
}

static void
walk_release(struct walk *w)
{
  free(w->table);
  free(w->arena);
}

/*
 * Reads one arena_object; 0 for a used arena that keeps new_arena()'s
 * invariants, 1 for an unused slot, PM_ECORRUPT otherwise.
 */
static int
arena_parse(const struct walk *w, const unsigned char *o, uint32_t index,
            struct arena_view *a)
{
  const struct pm_layout *L = w->py->L;
  uint64_t excess;
  uint32_t ntotal;

  a->index = index;
  a->address = pm__obm_u64(o + L->arena_object_address);
  if (!a->address)
    return 1;
  a->pool_address = pm__obm_u64(o + L->arena_object_pool_address);
  a->nfreepools = pm__obm_u32(o + L->arena_object_nfreepools);
  ntotal = pm__obm_u32(o + L->arena_object_ntotalpools);
  excess = a->address & (w->g.pool_size - 1);
  a->first_pool = a->address - excess + (excess ? w->g.pool_size : 0);
  if (a->address % PM_OBM_ALIGNMENT
      || ntotal != w->g.arena_size / w->g.pool_size - (excess != 0)
      || a->nfreepools > ntotal || a->pool_address < a->first_pool
      || a->pool_address > a->address + w->g.arena_size
      || (a->pool_address - a->first_pool) % w->g.pool_size)
    return PM_ECORRUPT;
  return 0;
}

/*
 * Checks a pool header against the invariants of allocate_from_new_pool()
 * and pymalloc_pool_extend(): 0 for a pool in use, 1 for an empty one,
 * PM_ECORRUPT when it breaks them.
 */
static int
pool_parse(const struct walk *w, const struct arena_view *a, pm_addr_t addr,
           const unsigned char *mem, struct pool_view *p)
{
  const struct pm_layout *L = w->py->L;
  const uint32_t ps = w->g.pool_size, oh = w->g.pool_overhead;
  uint32_t arenaindex, maxnext;

  p->addr = addr;
  p->mem = mem;
  p->count = pm__obm_u32(mem + L->pool_header_count);
  if (p->count == 0)
    return 1; /* on the arena's free pools: its header is stale */
  p->szidx = pm__obm_u32(mem + L->pool_header_szidx);
  p->nextoffset = pm__obm_u32(mem + L->pool_header_nextoffset);
  p->freeblock = pm__obm_u64(mem + L->pool_header_freeblock);
  arenaindex = pm__obm_u32(mem + L->pool_header_arenaindex);
  maxnext = pm__obm_u32(mem + L->pool_header_maxnextoffset);
  if (p->szidx >= PM_OBM_NCLASSES)
    return PM_ECORRUPT;
  p->size = (p->szidx + 1) * PM_OBM_ALIGNMENT;
  if (arenaindex != a->index || maxnext != ps - p->size
      || p->count > (ps - oh) / p->size || p->nextoffset < oh + p->size
      || p->nextoffset > ps || (p->nextoffset - oh) % p->size)
    return PM_ECORRUPT;
  if (p->freeblock
      && (p->freeblock < addr + oh || p->freeblock >= addr + p->nextoffset
          || (p->freeblock - addr - oh) % p->size))
    return PM_ECORRUPT;
  return 0;
}

static int
walk_arena(struct walk *w, const struct arena_view *a)
{
  uint64_t len = a->pool_address - a->first_pool;
  int err;

  if (w->on_arena && (err = w->on_arena(w, a)))
    return err;
  if (!w->on_pool || len == 0)
    return 0;
  /* One read for all carved pools of the arena. */
  err = pm_target_read(w->py->t, a->first_pool, w->arena, len);
  if (err) {
    if (pm__walk_fatal(err))
      return err;
    w->bad_arenas++;
    return 0;
  }
  for (uint64_t off = 0; off < len; off += w->g.pool_size) {
    struct pool_view p;
    int r = pool_parse(w, a, a->first_pool + off, w->arena + off, &p);

    if (r == 1)
      continue;
    if (r) {
      w->bad_pools++;
      continue;
    }
    if ((err = w->on_pool(w, &p)))
      return err;
  }
  return 0;
}

static int
by_address(const void *a, const void *b)
{
  const struct arena_view *x = *(const struct arena_view *const *)a;
  const struct arena_view *y = *(const struct arena_view *const *)b;
  return x->address < y->address ? -1 : x->address > y->address;
}

/*
 * Marks (address 0) every arena that overlaps one at a lower address: a
 * table whose slots all name the same memory would have us read it once
 * per slot.  Returns how many were dropped, or -ENOMEM.
 */
static int64_t
drop_overlaps(struct walk *w, struct arena_view *v, size_t n)
{
  struct arena_view **order = malloc((n ? n : 1) * sizeof(*order));
  pm_addr_t end = 0;
  int64_t dropped = 0;

  if (!order)
    return -ENOMEM;
  for (size_t i = 0; i < n; i++)
    order[i] = &v[i];
  qsort(order, n, sizeof(*order), by_address);
  for (size_t i = 0; i < n; i++) {
    if (i > 0 && order[i]->address < end) {
      order[i]->address = 0;
      dropped++;
      continue;
    }
    end = order[i]->address + w->g.arena_size;
  }
  free(order);
  return dropped;
}

/*
 * Reads the table of one state into *used (*nused of them, malloc'd, to
 * free): its used arenas, those that overlap one at a lower address marked
 * with address 0.  Bad slots are counted and skipped.
 */
static int
collect_state(struct walk *w, const struct pm_obm_state *st,
              struct arena_view **out, size_t *nout)
{
  const uint64_t osz = (uint64_t)w->py->L->arena_object_size;
  uint32_t max = st->maxarenas;
  struct arena_view *used = NULL;
  size_t nused = 0, cap = 0;
  int64_t dropped;
  int err = 0;

  *out = NULL;
  *nout = 0;
  if (max == 0 && st->arenas == 0)
    return 0; /* nothing allocated yet, or pymalloc not in use */
  if (max > PM_OBM_MAX_ARENAS || (max & (max - 1)) || st->arenas % 8) {
    w->bad_arenas++;
    return 0;
  }
  /* The whole table first, so that overlapping arenas can be dropped. */
  for (uint32_t base = 0; base < max && !err; base += TABLE_CHUNK) {
    uint32_t n = max - base < TABLE_CHUNK ? max - base : TABLE_CHUNK;

    err = pm_target_read(w->py->t, st->arenas + base * osz, w->table, n * osz);
    if (err) {
      if (!pm__walk_fatal(err)) {
        w->bad_arenas++;
        err = 0;
      }
      break;
    }
    for (uint32_t k = 0; k < n; k++) {
      struct arena_view a;
      int r = arena_parse(w, w->table + k * osz, base + k, &a);

      if (r == 1)
        continue;
      if (r) {
        w->bad_arenas++;
        continue;
      }
      if (nused == cap) {
        size_t ncap = cap ? cap * 2 : 64;
        struct arena_view *nv = realloc(used, ncap * sizeof(*nv));
        if (!nv) {
          err = -ENOMEM;
          break;
        }
        used = nv;
        cap = ncap;
      }
      used[nused++] = a;
    }
  }
  if (!err && (dropped = drop_overlaps(w, used, nused)) < 0)
    err = (int)dropped;
  else if (!err)
    w->bad_arenas += (uint64_t)dropped;
  if (err) {
    free(used);
    return err;
  }
  *out = used;
  *nout = nused;
  return 0;
}

/* Walks the table of one state; bad slots are counted and skipped. */
static int
walk_state(struct walk *w, const struct pm_obm_state *st)
{
  struct arena_view *used;
  size_t nused;
  int err = collect_state(w, st, &used, &nused);

  for (size_t i = 0; i < nused && !err; i++)
    if (used[i].address)
      err = walk_arena(w, &used[i]);
  free(used);
  return err;
}

/* -- blocks ------------------------------------------------------------ */

struct block_walk {
  pm_block_visit_fn visit;
  pm_block_bytes_fn visit_bytes; /* instead of visit, when set */
  void *arg;
};

/*
 * Which blocks of the pool p are allocated: those carved and not on its
 * free list.  0, or 1 (counted in bad_pools) when the free list or the
 * count breaks the pool's invariants, or when too many blocks are carved.
 */
static int
pool_used(struct walk *w, const struct pool_view *p, struct pm_obm_pool_used *u)
{
  const uint32_t oh = w->g.pool_overhead;
  uint32_t carved = (p->nextoffset - oh) / p->size, nfree = 0;
  pm_addr_t fb = p->freeblock;

  memset(u, 0, sizeof(*u));
  if (carved > PM_OBM_POOL_WORDS * 64) {
    w->bad_pools++;
    return 1;
  }
  u->first = oh;
  u->size = p->size;
  for (uint32_t k = 0; k < carved / 64; k++)
    u->used[k] = ~(uint64_t)0;
  if (carved % 64)
    u->used[carved / 64] = ((uint64_t)1 << (carved % 64)) - 1;
  /* Bounded by the carved blocks; a repeat is a cycle. */
  while (fb) {
    uint64_t off = fb - p->addr;
    uint32_t k;

    if (fb < p->addr + oh || off >= p->nextoffset || (off - oh) % p->size) {
      w->bad_pools++;
      return 1;
    }
    k = (uint32_t)((off - oh) / p->size);
    if (!(u->used[k / 64] & (1ull << (k % 64)))) {
      w->bad_pools++;
      return 1;
    }
    u->used[k / 64] &= ~(1ull << (k % 64));
    nfree++;
    fb = pm__obm_u64(p->mem + off);
  }
  /* A thread stopped inside malloc or free may leave the count one off. */
  if (carved - nfree != p->count)
    w->bad_pools++;
  u->nblocks = carved;
  return 0;
}

static int
visit_pool_blocks(struct walk *w, const struct pool_view *p)
{
  const struct block_walk *bw = w->arg;
  struct pm_obm_pool_used u;
  int err;

  if (pool_used(w, p, &u))
    return 0;
  for (uint32_t k = 0; k < u.nblocks; k++) {
    uint32_t off = u.first + k * u.size;
    if (!(u.used[k / 64] & (1ull << (k % 64))))
      continue;
    if (bw->visit_bytes)
      err = bw->visit_bytes(bw->arg, p->addr + off, p->size, p->mem + off);
    else
      err = bw->visit(bw->arg, p->addr + off, p->size);
    if (err)
      return err;
  }
  return 0;
}

static int
foreach_block(struct pm_python *py, pm_block_visit_fn visit,
              pm_block_bytes_fn visit_bytes, void *arg)
{
  struct pm_obm_state states[PM_OBM_MAX_STATES];
  struct block_walk bw = { visit, visit_bytes, arg };
  enum pm_obm_source source;
  struct walk w;
  int n = 0, err;

  err = pm__obmalloc_find(py, PM_OBM_NO_COUNTERS, states, PM_OBM_MAX_STATES, &n,
                          &source);
  if (err)
    return err;
  if ((err = walk_init(&w, py)))
    goto out;
  w.on_pool = visit_pool_blocks;
  w.arg = &bw;
  for (int i = 0; i < n && !err; i++)
    err = walk_state(&w, &states[i]);
out:
  walk_release(&w);
  return err;
}

int
pm__obmalloc_foreach_block(struct pm_python *py, pm_block_visit_fn visit,
                           void *arg)
{
  return foreach_block(py, visit, NULL, arg);
}

int
pm__obmalloc_foreach_block_bytes(struct pm_python *py, pm_block_bytes_fn visit,
                                 void *arg)
{
  return foreach_block(py, NULL, visit, arg);
}

/* -- arenas, for walkers that bring their own bytes ---------------------- */

static int
by_arena_address(const void *a, const void *b)
{
  const struct pm_obm_arena *x = a, *y = b;
  return x->address < y->address ? -1 : x->address > y->address;
}

int
pm__obmalloc_arenas(struct pm_python *py, struct pm_obm_arenas *out)
{
  struct pm_obm_state states[PM_OBM_MAX_STATES];
  enum pm_obm_source source;
  size_t cap = 0;
  struct walk w;
  int n = 0, err;

  memset(out, 0, sizeof(*out));
  err = pm__obmalloc_find(py, PM_OBM_NO_COUNTERS, states, PM_OBM_MAX_STATES, &n,
                          &source);
  if (err)
    return err;
  /* Only the geometry and the table buffer: no arena is read here. */
  memset(&w, 0, sizeof(w));
  w.py = py;
  pm__obmalloc_geometry(py, &w.g);
  if (py->L->arena_object_size < 48 || py->L->pool_header_size < 48)
    return PM_EOFFSETS;
  if (!(w.table = malloc((size_t)py->L->arena_object_size * TABLE_CHUNK)))
    return -ENOMEM;
  out->g = w.g;
  for (int i = 0; i < n && !err; i++) {
    struct arena_view *used;
    size_t nused;
    if ((err = collect_state(&w, &states[i], &used, &nused)))
      break;
    for (size_t k = 0; k < nused && !err; k++) {
      struct pm_obm_arena *a;
      if (!used[k].address)
        continue;
      if (out->n == cap) {
        size_t ncap = cap ? cap * 2 : 64;
        struct pm_obm_arena *nv = realloc(out->v, ncap * sizeof(*nv));
        if (!nv) {
          err = -ENOMEM;
          break;
        }
        out->v = nv;
        cap = ncap;
      }
      a = &out->v[out->n++];
      a->address = used[k].address;
      a->first_pool = used[k].first_pool;
      a->pool_address = used[k].pool_address;
      a->index = used[k].index;
      a->nfreepools = used[k].nfreepools;
    }
    free(used);
  }
  free(w.table);
  out->bad_arenas = w.bad_arenas;
  if (!err && out->n > 1)
    qsort(out->v, out->n, sizeof(*out->v), by_arena_address);
  /* States never share an arena; a table that says so is not believed. */
  for (size_t k = 1; k < out->n && !err; k++)
    if (out->v[k].address < out->v[k - 1].address + out->g.arena_size)
      err = PM_ECORRUPT;
  if (err)
    pm__obmalloc_arenas_release(out);
  return err;
}

void
pm__obmalloc_arenas_release(struct pm_obm_arenas *a)
{
  free(a->v);
  memset(a, 0, sizeof(*a));
}

int64_t
pm__obmalloc_arena_of(const struct pm_obm_arenas *a, pm_addr_t addr)
{
  size_t lo = 0, hi = a->n;

  /* The last arena starting at or below addr, then whether it holds addr. */
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (a->v[mid].address <= addr)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo > 0 && addr - a->v[lo - 1].address < a->g.arena_size)
    return (int64_t)lo - 1;
  return -1;
}

int
pm__obmalloc_pool_used(struct pm_python *py, const struct pm_obm_arenas *a,
                       size_t arena, pm_addr_t pool, const unsigned char *mem,
                       struct pm_obm_pool_used *out, uint64_t *bad_pools)
{
  const struct pm_obm_arena *ar = &a->v[arena];
  struct arena_view av;
  struct pool_view p;
  struct walk w;
  int r;

  memset(out, 0, offsetof(struct pm_obm_pool_used, used));
  memset(&w, 0, sizeof(w));
  w.py = py;
  w.g = a->g;
  av.index = ar->index;
  av.address = ar->address;
  av.first_pool = ar->first_pool;
  av.pool_address = ar->pool_address;
  av.nfreepools = 0;
  if (pool < ar->first_pool || pool >= ar->pool_address
      || (pool - ar->first_pool) % a->g.pool_size)
    return PM_ECORRUPT;
  r = pool_parse(&w, &av, pool, mem, &p);
  if (r == 1)
    return 0;
  if (r) {
    (*bad_pools)++;
    return 0;
  }
  if (pool_used(&w, &p, out))
    out->nblocks = 0;
  *bad_pools += w.bad_pools;
  return 0;
}

/* Whether an allocated block bears the debug hooks' mark (see below). */
static int
hooks_mark(const unsigned char *b)
{
  static const unsigned char forbidden[7]
      = { 0xfd, 0xfd, 0xfd, 0xfd, 0xfd, 0xfd, 0xfd };

  return (b[8] == 'm' || b[8] == 'o') && !memcmp(b + 9, forbidden, 7);
}

/*
 * Looks at the allocated blocks of arena i's pools for the hooks' mark
 * (see pm__obmalloc_debug_hooks()), adding to *seen and *marked, while
 * *pools, the pools read, is under PM_OBM_HOOKS_POOLS.
 */
static int
hooks_in_arena(struct pm_python *py, const struct pm_obm_arenas *a, size_t i,
               unsigned char *mem, struct pm_obm_pool_used *u, unsigned *pools,
               unsigned *seen, unsigned *marked)
{
  const struct pm_obm_arena *ar = &a->v[i];
  const uint32_t ps = a->g.pool_size;
  uint64_t bad = 0;

  for (pm_addr_t pool = ar->first_pool;
       pool < ar->pool_address && *pools < PM_OBM_HOOKS_POOLS
       && *seen < PM_OBM_HOOKS_SAMPLE;
       pool += ps) {
    int err = pm__target_read_fast(py->t, pool, mem, ps);
    ++*pools;
    if (err) {
      if (pm__walk_fatal(err))
        return err;
      continue;
    }
    /* A wrapped block holds the hooks' 24 bytes and some data. */
    if (pm__obmalloc_pool_used(py, a, i, pool, mem, u, &bad) || u->size < 32)
      continue;
    for (uint32_t k = 0; k < u->nblocks && *seen < PM_OBM_HOOKS_SAMPLE; k++)
      if (u->used[k / 64] >> (k % 64) & 1) {
        ++*seen;
        *marked += hooks_mark(mem + u->first + (size_t)k * u->size);
      }
  }
  return 0;
}

int
pm__obmalloc_debug_hooks(struct pm_python *py, const struct pm_obm_arenas *a,
                         int *hooks)
{
  struct pm_obm_pool_used *u = malloc(sizeof(*u));
  unsigned char *mem = malloc(a->g.pool_size ? a->g.pool_size : 1);
  unsigned seen = 0, marked = 0, pools = 0;
  size_t fullest = 0;
  int err = 0;

  if (!u || !mem) {
    free(u);
    free(mem);
    return -ENOMEM;
  }
  /*
   * The arena with the fewest free pools first (in the first one's turn):
   * the lowest ones may hold nothing but pools emptied since.  Then the
   * others, while the budget of pools lasts.
   */
  for (size_t i = 1; i < a->n; i++)
    if (a->v[i].nfreepools < a->v[fullest].nfreepools)
      fullest = i;
  for (size_t j = 0; !err && j < a->n && pools < PM_OBM_HOOKS_POOLS
                     && seen < PM_OBM_HOOKS_SAMPLE;
       j++)
    err = hooks_in_arena(py, a,
                         j == 0         ? fullest
                         : j == fullest ? 0
                                        : j,
                         mem, u, &pools, &seen, &marked);
  /* A thread stopped in the allocator may leave a block half written. */
  if (!err && seen >= 8)
    *hooks = marked * 10 >= seen * 9;
  free(u);
  free(mem);
  return err;
}

/* -- statistics ------------------------------------------------------- */

struct stats_walk {
  struct pm_allocator *a;
  struct pm_obmalloc_stats *s;
  int64_t resident; /* -1 once unknown */
};

static int
add_base(struct pm_allocator *a, pm_addr_t base)
{
  static const size_t max = PM_OBM_MAX_ARENAS * (size_t)PM_OBM_MAX_STATES;
  size_t n = a->narena_bases;

  /* The capacity is 16, then doubles: full when n is 16 * 2^k. */
  if (n == 0 || (n >= 16 && (n & (n - 1)) == 0)) {
    size_t cap = n ? n * 2 : 16;
    pm_addr_t *nb;
    if (cap > max)
      return PM_ELIMIT;
    nb = realloc(a->arena_bases, cap * sizeof(*nb));
    if (!nb)
      return -ENOMEM;
    a->arena_bases = nb;
  }
  a->arena_bases[a->narena_bases++] = base;
  return 0;
}

/* _PyObject_DebugMallocStats(): per arena. */
static int
stats_arena(struct walk *w, const struct arena_view *av)
{
  struct stats_walk *sw = w->arg;
  struct pm_obmalloc_stats *s = sw->s;
  uint64_t resident;
  int err;

  s->arenas_allocated_current++;
  s->unused_pools += av->nfreepools;
  if (av->first_pool != av->address)
    s->bytes_lost_to_arena_alignment += w->g.pool_size;
  if ((err = add_base(sw->a, av->address)))
    return err;
  if (sw->resident >= 0) {
    if (pm_target_resident(w->py->t, av->address, w->g.arena_size, &resident)
        == 0)
      sw->resident += (int64_t)resident;
    else
      sw->resident = -1;
  }
  return 0;
}

/* _PyObject_DebugMallocStats(): per pool in use. */
static int
stats_pool(struct walk *w, const struct pool_view *p)
{
  struct stats_walk *sw = w->arg;
  struct pm_size_class *c = &sw->s->classes[p->szidx];

  c->pools++;
  c->blocks_in_use += p->count;
  c->blocks_available
      += (w->g.pool_size - w->g.pool_overhead) / p->size - p->count;
  return 0;
}

/* The derived lines, in the order and with the arithmetic of CPython. */
static void
stats_finish(struct pm_obmalloc_stats *s, const struct pm_obm_geometry *g,
             const struct pm_obm_state *st)
{
  for (unsigned i = 0; i < PM_ALLOCATOR_NCLASSES; i++) {
    struct pm_size_class *c = &s->classes[i];

    c->index = i;
    c->size = (i + 1) * PM_OBM_ALIGNMENT;
    s->bytes_in_allocated_blocks += c->blocks_in_use * c->size;
    s->bytes_in_available_blocks += c->blocks_available * c->size;
    s->bytes_lost_to_pool_headers += c->pools * g->pool_overhead;
    s->bytes_lost_to_quantization
        += c->pools * ((g->pool_size - g->pool_overhead) % c->size);
  }
  s->bytes_in_unused_pools = s->unused_pools * g->pool_size;
  s->total = s->bytes_in_allocated_blocks + s->bytes_in_available_blocks
             + s->bytes_in_unused_pools + s->bytes_lost_to_pool_headers
             + s->bytes_lost_to_quantization + s->bytes_lost_to_arena_alignment;
  s->arenas_allocated_total = st->ntimes_arena_allocated;
  s->arenas_highwater = st->narenas_highwater;
  s->arenas_reclaimed = PM_UNKNOWN;
  if (st->ntimes_arena_allocated >= (int64_t)s->arenas_allocated_current)
    s->arenas_reclaimed
        = st->ntimes_arena_allocated - (int64_t)s->arenas_allocated_current;
  else
    s->arenas_allocated_total = PM_UNKNOWN; /* cannot be: not trusted */
}

static int
cmp_addr(const void *x, const void *y)
{
  pm_addr_t a = *(const pm_addr_t *)x, b = *(const pm_addr_t *)y;
  return a < b ? -1 : a > b;
}

static const char *
source_name(enum pm_obm_source s)
{
  switch (s) {
  case PM_OBM_FROM_SYMBOLS:
    return "symbols";
  case PM_OBM_FROM_INTERP:
    return "interpreter state";
  case PM_OBM_FROM_CODE:
    return "code scan";
  }
  return "?";
}

void
pm_allocator_init(struct pm_allocator *a)
{
  memset(a, 0, sizeof(*a));
  a->memory.rss = a->memory.arenas_resident = PM_UNKNOWN;
  a->memory.free_in_arenas = a->memory.outside_arenas = PM_UNKNOWN;
}

int
pm_allocator_prepare(struct pm_target *t, unsigned flags)
{
  unsigned obm = (flags & PM_ALLOCATOR_NO_SYMBOLS) ? PM_OBM_NO_SYMBOLS : 0;
  int obm_err, err = pm__python_prepare(t, obm, &obm_err);

  return err ? err : obm_err;
}

int
pm_allocator_take(struct pm_allocator *a, struct pm_python *py, unsigned flags)
{
  struct pm_obm_state states[PM_OBM_MAX_STATES];
  enum pm_obm_source source;
  struct stats_walk sw = { a, NULL, 0 };
  struct pm_memory *m = &a->memory;
  struct walk w;
  uint64_t rss;
  int n = 0, err;

  pm_allocator_init(a);
  err = pm__obmalloc_find(
      py, (flags & PM_ALLOCATOR_NO_SYMBOLS) ? PM_OBM_NO_SYMBOLS : 0, states,
      PM_OBM_MAX_STATES, &n, &source);
  if (err)
    return err;
  if ((err = walk_init(&w, py)))
    goto out;
  a->arena_size = w.g.arena_size;
  a->pool_size = w.g.pool_size;
  a->pool_overhead = w.g.pool_overhead;
  a->found_by = source_name(source);
  a->states = calloc((size_t)n, sizeof(*a->states));
  if (!a->states) {
    err = -ENOMEM;
    goto out;
  }
  a->nstates = (size_t)n;
  w.on_arena = stats_arena;
  w.on_pool = stats_pool;
  w.arg = &sw;
  for (int i = 0; i < n && !err; i++) {
    sw.s = &a->states[i];
    sw.s->interp_id = states[i].interp_id;
    err = walk_state(&w, &states[i]);
    stats_finish(sw.s, &w.g, &states[i]);
    m->arenas_mapped += sw.s->arenas_allocated_current * w.g.arena_size;
    m->allocated_blocks += sw.s->bytes_in_allocated_blocks;
  }
  if (err)
    goto out;
  a->bad_arenas = w.bad_arenas;
  a->bad_pools = w.bad_pools;
  if (a->narena_bases > 1) /* qsort(NULL, 0) is undefined */
    qsort(a->arena_bases, a->narena_bases, sizeof(*a->arena_bases), cmp_addr);
  m->arenas_resident = sw.resident;
  if (pm_target_rss(py->t, &rss) == 0 && rss <= INT64_MAX)
    m->rss = (int64_t)rss;
  if (m->arenas_resident >= 0)
    m->free_in_arenas = m->arenas_resident - (int64_t)m->allocated_blocks;
  if (m->rss >= 0 && m->arenas_resident >= 0)
    m->outside_arenas = m->rss - m->arenas_resident;
out:
  walk_release(&w);
  if (err)
    pm_allocator_release(a);
  return err;
}

int
pm_allocator_partial(const struct pm_allocator *a)
{
  if (a->bad_arenas || a->bad_pools)
    return 1;
  return a->nstates
         && (a->states[0].arenas_allocated_total < 0
             || a->states[0].arenas_highwater < 0);
}

int
pm_allocator_in_arena(const struct pm_allocator *a, pm_addr_t addr)
{
  size_t lo = 0, hi = a->narena_bases;

  /* The last base <= addr, then whether addr is inside its arena. */
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (a->arena_bases[mid] <= addr)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo > 0 && addr - a->arena_bases[lo - 1] < a->arena_size;
}

void
pm_allocator_release(struct pm_allocator *a)
{
  free(a->states);
  free(a->arena_bases);
  pm_allocator_init(a);
}
