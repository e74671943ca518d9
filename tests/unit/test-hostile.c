/* SPDX-License-Identifier: MIT */
/* test-hostile.c -- walkers over a fake 3.11 heap whose links loop */
#include <config.h>

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cpython/frames.h"
#include "cpython/gc.h"
#include "cpython/object.h"
#include "cpython/referents.h"
#include "fake-target.h"

/*
 * A target that means harm: every list the walkers follow loops back on
 * itself, and counts claim far more than memory holds.  Each walk must end
 * quickly (the test fails on time as well as on result), and say it cut
 * something short where it has a counter for that.
 */
#define HEAP 0x20000000ull
#define HEAP_LEN 0x100000ull
#define SECONDS_MAX 5.0

static const char maps_text[]
    = "20000000-20100000 rw-p 00000000 00:00 0      [heap]\n";

static struct fake_target f;
static struct pm_python py;
static const struct pm_layout *L;
static pm_addr_t TYPE, OBJECT, DEQUE;
static struct timespec started;

static pm_addr_t
type(const char *name, uint64_t flags, int64_t basicsize, pm_addr_t base)
{
  pm_addr_t t = fake_object(&f, L, TYPE, (size_t)L->type_size, 0);

  /* The first type is its own type: type itself. */
  if (!TYPE)
    fake_put(&f, t, L->object_type, t);
  fake_type_fields(&f, L, t, name, flags, basicsize, 0, base);
  return t;
}

static void
setup(void)
{
  L = pm__layout_find(0x030b07, PM_BUILD_DEFAULT);
  ck_assert_ptr_nonnull(L);
  fake_init(&f, HEAP, HEAP_LEN, maps_text);
  memset(&py, 0, sizeof(py));
  py.t = fake_open(&f);
  py.L = L;
  py.version = 0x030b07;
  TYPE = 0;
  TYPE = type("type", 0x80085d00, 904, 0);
  OBJECT = type("object", 0x81500, 16, 0);
  DEQUE = type("collections.deque", 0x5520, 216, OBJECT);
  py.types[PM_T_TYPE] = TYPE;
  py.types[PM_T_OBJECT] = OBJECT;
  ck_assert_int_eq(pm_target_pause(py.t), 0);
  clock_gettime(CLOCK_MONOTONIC, &started);
}

static void
teardown(void)
{
  struct timespec now;

  clock_gettime(CLOCK_MONOTONIC, &now);
  ck_assert_msg((double)(now.tv_sec - started.tv_sec) < SECONDS_MAX,
                "the walk took %ld s", (long)(now.tv_sec - started.tv_sec));
  pm_target_free(py.t);
  fake_release(&f);
}

static int
count_visit(void *arg, pm_addr_t obj, pm_addr_t type)
{
  (void)obj, (void)type;
  ++*(uint64_t *)arg;
  return 0;
}

static int
count_ref(void *arg, pm_addr_t ref)
{
  (void)ref;
  ++*(uint64_t *)arg;
  return 0;
}

/* A runtime with one interpreter, whose address comes back. */
static pm_addr_t
runtime(void)
{
  pm_addr_t rt = fake_alloc(&f, 4096, 0), interp = fake_alloc(&f, 8192, 0);

  py.info.runtime = rt;
  fake_put(&f, rt, L->runtime_interpreters_head, interp);
  fake_put(&f, interp, L->interp_next, 0);
  return interp;
}

/* A GC object: its PyGC_Head links, then a header of type OBJECT. */
static pm_addr_t
gc_node(void)
{
  pm_addr_t n = fake_alloc(&f, 64, 0);

  fake_put(&f, n, L->gc_head_size + L->object_refcnt, 1);
  fake_put(&f, n, L->gc_head_size + L->object_type, OBJECT);
  return n;
}

START_TEST(test_gc_list_loops_while_collecting)
{
  pm_addr_t interp = runtime(), gc = interp + (pm_addr_t)L->interp_gc;
  pm_addr_t head = gc + (pm_addr_t)L->gc_state_generations
                   + (pm_addr_t)L->gc_generation_head;
  pm_addr_t a = gc_node(), b = gc_node(), c = gc_node();
  struct pm_gc_stats st;
  uint64_t n = 0;

  /* While collecting, _gc_prev holds gc_refs: only next links count. */
  fake_put_u32(&f, gc + (pm_addr_t)L->gc_state_collecting, 1);
  fake_put(&f, head, L->gc_head_next, a);
  fake_put(&f, a, L->gc_head_next, b);
  fake_put(&f, b, L->gc_head_next, c);
  fake_put(&f, c, L->gc_head_next, a); /* never back to head */
  ck_assert_int_eq(pm__gc_walk(&py, count_visit, &n, &st), 0);
  ck_assert_uint_ge(st.broken_lists, 1);
  ck_assert_uint_le(n, 16);
}
END_TEST

START_TEST(test_gc_list_loops_idle)
{
  pm_addr_t interp = runtime(), gc = interp + (pm_addr_t)L->interp_gc;
  pm_addr_t head = gc + (pm_addr_t)L->gc_state_generations
                   + (pm_addr_t)L->gc_generation_head;
  pm_addr_t a = gc_node();
  struct pm_gc_stats st;
  uint64_t n = 0;

  fake_put(&f, head, L->gc_head_next, a);
  fake_put(&f, a, L->gc_head_prev, head);
  fake_put(&f, a, L->gc_head_next, a); /* a self-loop: the back-link breaks */
  ck_assert_int_eq(pm__gc_walk(&py, count_visit, &n, &st), 0);
  ck_assert_uint_ge(st.broken_lists, 1);
  ck_assert_uint_le(n, 2);
}
END_TEST

START_TEST(test_interpreters_loop)
{
  pm_addr_t interp = runtime(), other = fake_alloc(&f, 8192, 0), out[1024];

  fake_put(&f, interp, L->interp_next, other);
  fake_put(&f, other, L->interp_next, interp);
  ck_assert_int_eq(pm__interpreters(&py, out, 1024), 2);
}
END_TEST

START_TEST(test_thread_list_loops)
{
  pm_addr_t interp = runtime();
  pm_addr_t t1 = fake_alloc(&f, (size_t)L->thread_size, 0);
  pm_addr_t t2 = fake_alloc(&f, (size_t)L->thread_size, 0);
  struct pm_frames_stats st;
  uint64_t n = 0;

  fake_put(&f, interp, L->interp_threads_head, t1);
  fake_put(&f, t1, L->thread_next, t2);
  fake_put(&f, t2, L->thread_next, t1);
  ck_assert_int_eq(pm__frames_walk(&py, count_ref, &n, &st), 0);
  ck_assert_uint_ge(st.broken_chains, 1);
  ck_assert_uint_le(st.threads, 4);
}
END_TEST

START_TEST(test_frame_chain_loops)
{
  pm_addr_t interp = runtime();
  pm_addr_t ts = fake_alloc(&f, (size_t)L->thread_size, 0);
  pm_addr_t cframe = fake_alloc(&f, 64, 0),
            frame = fake_alloc(&f, (size_t)L->iframe_size, 0);
  pm_addr_t code = fake_alloc(&f, 512, 0);
  struct pm_frames_stats st;
  uint64_t n = 0;

  fake_put(&f, interp, L->interp_threads_head, ts);
  fake_put(&f, ts, L->thread_cframe, cframe);
  fake_put(&f, cframe, L->cframe_current_frame, frame);
  fake_put(&f, frame, L->iframe_code, code);
  fake_put(&f, frame, L->iframe_previous, frame); /* its own caller */
  ck_assert_int_eq(pm__frames_walk(&py, count_ref, &n, &st), 0);
  ck_assert_uint_ge(st.broken_chains, 1);
  ck_assert_uint_le(st.frames, 4);
}
END_TEST

START_TEST(test_deque_blocks_loop)
{
  struct pm_type_info ti;
  pm_addr_t dq = fake_alloc(&f, 216, 0), block = fake_alloc(&f, 66 * 8, 0),
            dict;
  uint64_t n = 0;

  ck_assert_int_eq(pm__type_read(&py, DEQUE, &ti), 0);
  ck_assert_int_eq(ti.walker, PM_WALK_DEQUE);
  fake_put(&f, dq, L->object_refcnt, 1);
  fake_put(&f, dq, L->object_type, DEQUE);
  fake_put(&f, dq, L->varobject_ob_size, (uint64_t)1 << 36); /* "items" */
  fake_put(&f, dq, L->deque_leftblock, block);
  fake_put(&f, dq, L->deque_leftindex, 0);
  fake_put(&f, block, 8, HEAP + 0x100); /* one item, the rest NULL */
  fake_put(&f, block, 65 * 8, block);   /* rightlink: itself */
  ck_assert_int_eq(pm__referents(&py, dq, &ti, NULL, 0, count_ref, &n, &dict),
                   0);
  ck_assert_uint_le(n, 4);
}
END_TEST

START_TEST(test_tp_base_loops)
{
  pm_addr_t a = type("A", 1ull << 9, 64, 0), b = type("B", 1ull << 9, 64, a);
  pm_addr_t members = fake_alloc(&f, (size_t)L->member_size * 4, 0);
  pm_addr_t name = fake_alloc(&f, 16, 0);
  uint32_t offs[16];
  size_t n = 0;

  fake_put(&f, a, L->type_base, b); /* A -> B -> A */
  fake_put(&f, members, 0, name);
  fake_put_u32(&f, members + (pm_addr_t)L->member_type, 16);
  fake_put(&f, members, L->member_offset, 24);
  fake_put(&f, a, L->type_members, members);
  fake_put(&f, b, L->type_members, members);
  ck_assert_int_eq(pm__type_members(&py, a, offs, 16, &n), 0);
  ck_assert_uint_le(n, 4);
}
END_TEST

/* A target that has every walker reread the same memory runs out of reads. */
START_TEST(test_read_budget)
{
  unsigned char buf[4096];
  int err = 0;
  uint64_t reads = 0;

  while (!err && reads < 10000000) {
    err = pm_target_read(py.t, HEAP + (reads % 256) * 4096, buf, sizeof(buf));
    reads++;
  }
  ck_assert_int_eq(err, PM_ELIMIT);
  /* 256 MiB at least, in 4 KiB reads. */
  ck_assert_uint_ge(reads, 60000);
  /* A new pause is a new walk. */
  ck_assert_int_eq(pm_target_resume(py.t), 0);
  ck_assert_int_eq(pm_target_pause(py.t), 0);
  ck_assert_int_eq(pm_target_read(py.t, HEAP, buf, 8), 0);
}
END_TEST

static Suite *
hostile_suite(void)
{
  Suite *s = suite_create("hostile");
  TCase *tc = tcase_create("loops");

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_gc_list_loops_while_collecting);
  tcase_add_test(tc, test_gc_list_loops_idle);
  tcase_add_test(tc, test_interpreters_loop);
  tcase_add_test(tc, test_thread_list_loops);
  tcase_add_test(tc, test_frame_chain_loops);
  tcase_add_test(tc, test_deque_blocks_loop);
  tcase_add_test(tc, test_tp_base_loops);
  tcase_add_test(tc, test_read_budget);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  SRunner *sr = srunner_create(hostile_suite());
  int failed;

  srunner_set_tap(sr, "-");
  srunner_run_all(sr, CK_SILENT);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
