/* SPDX-License-Identifier: MIT */
/* test-obmalloc.c -- pymalloc's arenas, pools and figures on a fake heap */
#include <config.h>

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cpython/obmalloc.h"
#include "fake-target.h"
#include "pmpeek/allocator.h"

/*
 * A 3.12 (or 3.13) interpreter with one arena laid out by hand:
 *
 *   runtime   HEAP             interpreters.head = .main = INTERP
 *   INTERP    HEAP + 0x1000    its obmalloc state inline (3.12), or a
 *                              pointer to STATE (3.13)
 *   TABLE     HEAP + 0x100000  16 arena_objects: [0] used, 1..15 unused
 *   ARENA     HEAP + 0x201000  page- but not pool-aligned: 63 pools
 *
 * Pool 0 holds 16-byte blocks: 10 carved, 2, 5 and 9 free (7 in use).
 * Pool 1 holds one 512-byte block of 2 carved.  Pool 2 is empty, and the
 * 60 pools after it were never carved: 61 unused pools.
 */
#define HEAP 0x20000000ull
#define HEAP_LEN 0x400000ull
#define INTERP (HEAP + 0x1000)
#define STATE (HEAP + 0x80000)
#define TABLE (HEAP + 0x100000)
#define ARENA (HEAP + 0x201000)
#define POOL(i) (HEAP + 0x204000 + (pm_addr_t)(i)*16384)
#define OH 48

static const char maps_text[]
    = "20000000-20400000 rw-p 00000000 00:00 0      [heap]\n";

static struct fake_target f;
static struct pm_python py;
static const struct pm_layout *L;

static void
slot(unsigned i, pm_addr_t address, pm_addr_t pools, uint32_t nfree,
     uint32_t ntotal, pm_addr_t next)
{
  pm_addr_t o = TABLE + i * (pm_addr_t)L->arena_object_size;

  fake_put_u64(&f, o + L->arena_object_address, address);
  fake_put_u64(&f, o + L->arena_object_pool_address, pools);
  fake_put_u32(&f, o + L->arena_object_nfreepools, nfree);
  fake_put_u32(&f, o + L->arena_object_ntotalpools, ntotal);
  fake_put_u64(&f, o + L->arena_object_nextarena, next);
}

static void
pool(pm_addr_t p, uint32_t count, uint32_t szidx, uint32_t carved,
     const unsigned *freed, unsigned nfreed)
{
  unsigned size = (szidx + 1) * 16;

  fake_put_u32(&f, p + L->pool_header_count, count);
  fake_put_u32(&f, p + L->pool_header_szidx, szidx);
  fake_put_u32(&f, p + L->pool_header_arenaindex, 0);
  fake_put_u32(&f, p + L->pool_header_nextoffset, OH + carved * size);
  fake_put_u32(&f, p + L->pool_header_maxnextoffset, 16384 - size);
  /* The free list, in the order given, ending in NULL. */
  fake_put_u64(&f, p + L->pool_header_freeblock,
               nfreed ? p + OH + freed[0] * size : 0);
  for (unsigned i = 0; i < nfreed; i++)
    fake_put_u64(&f, p + OH + freed[i] * size,
                 i + 1 < nfreed ? p + OH + freed[i + 1] * size : 0);
}

/* Drops the target's read cache after the test changed its memory. */
static void
changed(void)
{
  ck_assert_int_eq(pm_target_pause(py.t), 0);
  ck_assert_int_eq(pm_target_resume(py.t), 0);
}

static pm_addr_t
state_addr(void)
{
  return PM_PY_AT_LEAST(&py, 3, 13) ? STATE : INTERP + L->interp_obmalloc;
}

static void
build(uint32_t version)
{
  static const unsigned freed0[] = { 2, 5, 9 }, freed1[] = { 1 };
  pm_addr_t st;

  L = pm__layout_find(version, PM_BUILD_DEFAULT);
  ck_assert_ptr_nonnull(L);
  fake_init(&f, HEAP, HEAP_LEN, maps_text);
  memset(&py, 0, sizeof(py));
  py.t = fake_open(&f);
  py.L = L;
  py.version = version;
  py.info.runtime = HEAP;

  fake_put_u64(&f, HEAP + L->runtime_interpreters_head, INTERP);
  fake_put_u64(&f, HEAP + L->runtime_interpreters_main, INTERP);
  fake_put_u64(&f, INTERP + L->interp_next, 0);
  fake_put_u64(&f, INTERP + L->interp_id, 0);
  if (PM_PY_AT_LEAST(&py, 3, 13))
    fake_put_u64(&f, INTERP + L->interp_obmalloc, STATE);
  st = state_addr();
  fake_put_u64(&f, st + L->obmalloc_arenas, TABLE);
  fake_put_u32(&f, st + L->obmalloc_maxarenas, 16);
  fake_put_u64(&f, st + L->obmalloc_ntimes_arena_allocated, 5);
  fake_put_u64(&f, st + L->obmalloc_narenas_highwater, 3);

  slot(0, ARENA, POOL(3), 61, 63, 0);
  for (unsigned i = 1; i < 16; i++)
    slot(i, 0, 0, 0, 0,
         i < 15 ? TABLE + (i + 1) * (pm_addr_t)L->arena_object_size : 0);
  pool(POOL(0), 7, 0, 10, freed0, 3);
  pool(POOL(1), 1, 31, 2, freed1, 1);
  pool(POOL(2), 0, 4, 1, NULL, 0);
}

static void
setup(void)
{
  build(0x030c01); /* 3.12.1 */
}

static void
setup_313(void)
{
  build(0x030d00); /* 3.13.0 */
}

static void
teardown(void)
{
  pm_target_free(py.t);
  fake_release(&f);
}

static void
check_figures(const struct pm_allocator *a)
{
  const struct pm_obmalloc_stats *s = &a->states[0];

  ck_assert_uint_eq(a->nstates, 1);
  ck_assert_uint_eq(a->arena_size, 1 << 20);
  ck_assert_uint_eq(a->pool_size, 16384);
  ck_assert_uint_eq(s->classes[0].pools, 1);
  ck_assert_uint_eq(s->classes[0].blocks_in_use, 7);
  ck_assert_uint_eq(s->classes[0].blocks_available, 1021 - 7);
  ck_assert_uint_eq(s->classes[31].pools, 1);
  ck_assert_uint_eq(s->classes[31].blocks_in_use, 1);
  ck_assert_uint_eq(s->classes[31].blocks_available, 30);
  ck_assert_uint_eq(s->classes[4].pools, 0); /* the empty pool */
  ck_assert_int_eq(s->arenas_allocated_total, 5);
  ck_assert_int_eq(s->arenas_reclaimed, 4);
  ck_assert_int_eq(s->arenas_highwater, 3);
  ck_assert_uint_eq(s->arenas_allocated_current, 1);
  ck_assert_uint_eq(s->unused_pools, 61);
  ck_assert_uint_eq(s->bytes_in_allocated_blocks, 7 * 16 + 512);
  ck_assert_uint_eq(s->bytes_in_available_blocks, 1014 * 16 + 30 * 512);
  ck_assert_uint_eq(s->bytes_in_unused_pools, 61 * 16384);
  ck_assert_uint_eq(s->bytes_lost_to_pool_headers, 2 * 48);
  ck_assert_uint_eq(s->bytes_lost_to_quantization, 16336 % 512);
  ck_assert_uint_eq(s->bytes_lost_to_arena_alignment, 16384);
  ck_assert_uint_eq(s->total, 1 << 20);
}

/* The block of a granule by a multiply, for every granule and block size. */
START_TEST(test_recip)
{
  for (uint32_t m = 1; m <= PM_OBM_NCLASSES * PM_OBM_ALIGNMENT / 16; m++)
    for (uint32_t j = 0; j < PM_OBM_POOL_WORDS * 64; j++)
      ck_assert_uint_eq((j * pm__obm_recip(m)) >> PM_OBM_RECIP_SHIFT, j / m);
}
END_TEST

START_TEST(test_figures)
{
  struct pm_allocator a;

  ck_assert_int_eq(pm_allocator_take(&a, &py, 0), 0);
  check_figures(&a);
  ck_assert_str_eq(a.found_by, "interpreter state");
  ck_assert_int_eq(pm_allocator_partial(&a), 0);
  /* A fake target has no pagemap: unknown, not a guess. */
  ck_assert_int_eq(a.memory.rss, PM_UNKNOWN);
  ck_assert_int_eq(a.memory.arenas_resident, PM_UNKNOWN);
  ck_assert_uint_eq(a.memory.arenas_mapped, 1 << 20);
  ck_assert_uint_eq(a.memory.allocated_blocks, 7 * 16 + 512);
  pm_allocator_release(&a);
  ck_assert_uint_eq(a.nstates, 0);
  pm_allocator_release(&a); /* twice is fine */
}
END_TEST

START_TEST(test_in_arena)
{
  struct pm_allocator a;

  ck_assert_int_eq(pm_allocator_take(&a, &py, 0), 0);
  ck_assert(pm_allocator_in_arena(&a, ARENA));
  ck_assert(pm_allocator_in_arena(&a, POOL(1) + 100));
  ck_assert(pm_allocator_in_arena(&a, ARENA + (1 << 20) - 1));
  ck_assert(!pm_allocator_in_arena(&a, ARENA + (1 << 20)));
  ck_assert(!pm_allocator_in_arena(&a, ARENA - 1));
  ck_assert(!pm_allocator_in_arena(&a, 0));
  pm_allocator_release(&a);
  ck_assert(!pm_allocator_in_arena(&a, ARENA));
}
END_TEST

struct seen {
  pm_addr_t blocks[64];
  unsigned sizes[64];
  unsigned n;
  unsigned stop_after;
};

static int
record(void *arg, pm_addr_t block, unsigned size)
{
  struct seen *s = arg;

  ck_assert_uint_lt(s->n, 64);
  s->blocks[s->n] = block;
  s->sizes[s->n++] = size;
  return s->stop_after && s->n == s->stop_after ? 42 : 0;
}

START_TEST(test_foreach_block)
{
  static const unsigned used0[] = { 0, 1, 3, 4, 6, 7, 8 };
  struct seen s = { 0 };

  ck_assert_int_eq(pm__obmalloc_foreach_block(&py, record, &s), 0);
  ck_assert_uint_eq(s.n, 8);
  for (unsigned i = 0; i < 7; i++) {
    ck_assert_uint_eq(s.blocks[i], POOL(0) + OH + used0[i] * 16);
    ck_assert_uint_eq(s.sizes[i], 16);
  }
  ck_assert_uint_eq(s.blocks[7], POOL(1) + OH);
  ck_assert_uint_eq(s.sizes[7], 512);
}
END_TEST

static int
record_bytes(void *arg, pm_addr_t block, unsigned size,
             const unsigned char *bytes)
{
  /* The bytes handed over are the block's. */
  ck_assert_mem_eq(bytes, fake_at(&f, block, size), size);
  return record(arg, block, size);
}

START_TEST(test_foreach_block_bytes)
{
  struct seen a = { 0 }, b = { 0 };

  for (unsigned i = 0; i < 10; i++)
    fake_put_u64(&f, POOL(0) + OH + i * 16 + 8, 0x1111 * (i + 1));
  ck_assert_int_eq(pm__obmalloc_foreach_block(&py, record, &a), 0);
  ck_assert_int_eq(pm__obmalloc_foreach_block_bytes(&py, record_bytes, &b), 0);
  ck_assert_uint_eq(a.n, b.n);
  ck_assert_mem_eq(a.blocks, b.blocks, sizeof(a.blocks));
  ck_assert_mem_eq(a.sizes, b.sizes, sizeof(a.sizes));
}
END_TEST

START_TEST(test_arenas)
{
  struct pm_obm_arenas a;
  struct pm_obm_pool_used u;
  uint64_t bad = 0, n = 0;
  unsigned char *mem;

  ck_assert_int_eq(pm__obmalloc_arenas(&py, &a), 0);
  ck_assert_uint_eq(a.n, 1);
  ck_assert_uint_eq(a.v[0].address, ARENA);
  ck_assert_int_eq(pm__obmalloc_arena_of(&a, ARENA), 0);
  ck_assert_int_eq(pm__obmalloc_arena_of(&a, ARENA + (1 << 20) - 1), 0);
  ck_assert_int_eq(pm__obmalloc_arena_of(&a, ARENA + (1 << 20)), -1);
  ck_assert_int_eq(pm__obmalloc_arena_of(&a, ARENA - 1), -1);
  /* A pool's blocks from bytes the caller brings: as the walk finds them. */
  mem = fake_at(&f, POOL(0), 16384);
  ck_assert_int_eq(pm__obmalloc_pool_used(&py, &a, 0, POOL(0), mem, &u, &bad),
                   0);
  for (uint32_t k = 0; k < u.nblocks; k++)
    n += u.used[k / 64] >> (k % 64) & 1;
  ck_assert_uint_eq(n, 7);
  ck_assert_uint_eq(bad, 0);
  ck_assert_uint_eq(u.first, OH);
  ck_assert_uint_eq(u.used[0] & 1, 1);
  /* Not a carved pool of that arena. */
  ck_assert_int_eq(
      pm__obmalloc_pool_used(&py, &a, 0, POOL(0) + 16, mem, &u, &bad),
      PM_ECORRUPT);
  pm__obmalloc_arenas_release(&a);
  ck_assert_uint_eq(a.n, 0);
}
END_TEST

/* Writes the debug hooks' mark into the block at b, or zeros. */
static void
put_mark(pm_addr_t b, int on)
{
  static const unsigned char mark[8]
      = { 'o', 0xfd, 0xfd, 0xfd, 0xfd, 0xfd, 0xfd, 0xfd };

  if (on)
    memcpy(fake_at(&f, b + 8, 8), mark, 8);
  else
    memset(fake_at(&f, b + 8, 8), 0, 8);
}

/*
 * The hooks are told by the blocks, nine in ten marked, not by the build:
 * pool 1's block of 512 bytes and, when `more`, twelve of 80 in pool 2,
 * the first `marked` of them bearing the mark (pool 0's blocks of 16 are
 * too small for the hooks and not looked at).
 */
START_TEST(test_debug_hooks)
{
  static const struct {
    int more;
    unsigned marked;
    int before, after;
  } cases[] = {
    { 1, 0, 1, 0 },  { 1, 13, 0, 1 }, { 1, 12, 0, 1 }, /* one half made */
    { 1, 11, 1, 0 }, { 0, 1, 0, 0 },  { 0, 0, 1, 1 },  /* too few */
  };

  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct pm_obm_arenas a;
    int hooks = cases[i].before;

    pool(POOL(2), cases[i].more ? 12 : 0, 4, cases[i].more ? 12 : 1, NULL, 0);
    put_mark(POOL(1) + OH, cases[i].marked > 0);
    for (unsigned k = 0; k < 12; k++)
      put_mark(POOL(2) + OH + k * 80, k + 1 < cases[i].marked);
    changed();
    ck_assert_int_eq(pm__obmalloc_arenas(&py, &a), 0);
    ck_assert_int_eq(pm__obmalloc_debug_hooks(&py, &a, &hooks), 0);
    ck_assert_msg(hooks == cases[i].after, "case %zu: hooks %d", i, hooks);
    pm__obmalloc_arenas_release(&a);
  }
}
END_TEST

START_TEST(test_foreach_stops)
{
  struct seen s = { 0 };

  s.stop_after = 3;
  ck_assert_int_eq(pm__obmalloc_foreach_block(&py, record, &s), 42);
  ck_assert_uint_eq(s.n, 3);
}
END_TEST

START_TEST(test_foreach_free_cycle)
{
  struct seen s = { 0 };

  /* Block 9, the list's last, links back to block 2: pool 0 is skipped. */
  fake_put_u64(&f, POOL(0) + OH + 9 * 16, POOL(0) + OH + 2 * 16);
  ck_assert_int_eq(pm__obmalloc_foreach_block(&py, record, &s), 0);
  ck_assert_uint_eq(s.n, 1);
  ck_assert_uint_eq(s.blocks[0], POOL(1) + OH);
}
END_TEST

START_TEST(test_bad_pool_header)
{
  struct pm_allocator a;

  /* A pool of another arena, and one past NUMBLOCKS: both skipped. */
  fake_put_u32(&f, POOL(1) + L->pool_header_arenaindex, 5);
  fake_put_u32(&f, POOL(0) + L->pool_header_count, 1022);
  ck_assert_int_eq(pm_allocator_take(&a, &py, 0), 0);
  ck_assert_uint_eq(a.bad_pools, 2);
  ck_assert(pm_allocator_partial(&a));
  ck_assert_uint_eq(a.states[0].classes[31].pools, 0);
  ck_assert_uint_eq(a.states[0].classes[0].pools, 0);
  ck_assert_uint_eq(a.states[0].arenas_allocated_current, 1);
  pm_allocator_release(&a);
}
END_TEST

START_TEST(test_bad_table)
{
  struct pm_allocator a;
  struct seen s = { 0 };

  /* Not a power of two: the table is not read at all. */
  fake_put_u32(&f, state_addr() + L->obmalloc_maxarenas, 17);
  ck_assert_int_eq(pm_allocator_take(&a, &py, 0), 0);
  ck_assert_uint_eq(a.bad_arenas, 1);
  ck_assert_uint_eq(a.states[0].arenas_allocated_current, 0);
  ck_assert(pm_allocator_partial(&a));
  pm_allocator_release(&a);
  ck_assert_int_eq(pm__obmalloc_foreach_block(&py, record, &s), 0);
  ck_assert_uint_eq(s.n, 0);

  /* A table pointer into nothing: counted, never followed. */
  fake_put_u32(&f, state_addr() + L->obmalloc_maxarenas, 1u << 19);
  changed();
  ck_assert_int_eq(pm_allocator_take(&a, &py, 0), 0);
  ck_assert_uint_ge(a.bad_arenas, 1);
  pm_allocator_release(&a);
}
END_TEST

START_TEST(test_bad_arena)
{
  struct pm_allocator a;

  /* ntotalpools must be 63 for an arena that is not pool-aligned. */
  slot(0, ARENA, POOL(3), 61, 64, 0);
  ck_assert_int_eq(pm_allocator_take(&a, &py, 0), 0);
  ck_assert_uint_eq(a.bad_arenas, 1);
  ck_assert_uint_eq(a.states[0].arenas_allocated_current, 0);
  pm_allocator_release(&a);
}
END_TEST

START_TEST(test_check_table)
{
  struct pm_obm_geometry g;
  uint32_t used = 99;
  pm_addr_t osz = (pm_addr_t)L->arena_object_size;

  pm__obmalloc_geometry(&py, &g);
  ck_assert_uint_eq(g.pool_overhead, 48);
  ck_assert_int_eq(pm__obmalloc_check_table(&py, &g, TABLE, 16, &used), 0);
  ck_assert_uint_eq(used, 1);
  ck_assert_int_eq(pm__obmalloc_check_table(&py, &g, 0, 0, &used), 0);
  ck_assert_uint_eq(used, 0);
  ck_assert_int_eq(pm__obmalloc_check_table(&py, &g, TABLE, 8, &used),
                   PM_ECORRUPT);
  ck_assert_int_eq(pm__obmalloc_check_table(&py, &g, TABLE, 24, &used),
                   PM_ECORRUPT);
  /* 32 slots: 16..31 are zeros, sixteen lists of one: not one list. */
  ck_assert_int_eq(pm__obmalloc_check_table(&py, &g, TABLE, 32, &used),
                   PM_ECORRUPT);
  /* The last unused slot links back to the first: a cycle. */
  slot(15, 0, 0, 0, 0, TABLE + 1 * osz);
  changed();
  ck_assert_int_eq(pm__obmalloc_check_table(&py, &g, TABLE, 16, &used),
                   PM_ECORRUPT);
  /* An unused slot linking to a used one. */
  slot(15, 0, 0, 0, 0, TABLE);
  changed();
  ck_assert_int_eq(pm__obmalloc_check_table(&py, &g, TABLE, 16, &used),
                   PM_ECORRUPT);
  /* A link between slots. */
  slot(15, 0, 0, 0, 0, TABLE + 2 * osz + 8);
  changed();
  ck_assert_int_eq(pm__obmalloc_check_table(&py, &g, TABLE, 16, &used),
                   PM_ECORRUPT);
  /* Unreadable table. */
  ck_assert_int_eq(
      pm__obmalloc_check_table(&py, &g, HEAP + HEAP_LEN - 64, 16, &used),
      PM_ECORRUPT);
}
END_TEST

START_TEST(test_empty_state)
{
  struct pm_allocator a;

  /* Before the first allocation, or under PYTHONMALLOC=malloc. */
  fake_put_u64(&f, state_addr() + L->obmalloc_arenas, 0);
  fake_put_u32(&f, state_addr() + L->obmalloc_maxarenas, 0);
  ck_assert_int_eq(pm_allocator_take(&a, &py, 0), 0);
  ck_assert_uint_eq(a.states[0].arenas_allocated_current, 0);
  ck_assert_uint_eq(a.states[0].total, 0);
  ck_assert_int_eq(pm_allocator_partial(&a), 0);
  pm_allocator_release(&a);
}
END_TEST

static Suite *
obmalloc_suite(void)
{
  Suite *s = suite_create("obmalloc");
  TCase *tc;

  tc = tcase_create("3.12");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_recip);
  tcase_add_test(tc, test_figures);
  tcase_add_test(tc, test_in_arena);
  tcase_add_test(tc, test_foreach_block);
  tcase_add_test(tc, test_foreach_block_bytes);
  tcase_add_test(tc, test_arenas);
  tcase_add_test(tc, test_debug_hooks);
  tcase_add_test(tc, test_foreach_stops);
  tcase_add_test(tc, test_foreach_free_cycle);
  tcase_add_test(tc, test_bad_pool_header);
  tcase_add_test(tc, test_bad_table);
  tcase_add_test(tc, test_bad_arena);
  tcase_add_test(tc, test_check_table);
  tcase_add_test(tc, test_empty_state);
  suite_add_tcase(s, tc);

  tc = tcase_create("3.13");
  tcase_add_checked_fixture(tc, setup_313, teardown);
  tcase_add_test(tc, test_recip);
  tcase_add_test(tc, test_figures);
  tcase_add_test(tc, test_foreach_block);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  SRunner *sr = srunner_create(obmalloc_suite());
  int failed;

  srunner_set_tap(sr, "-");
  srunner_run_all(sr, CK_SILENT);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
