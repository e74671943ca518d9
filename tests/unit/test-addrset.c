/* SPDX-License-Identifier: MIT */
/* test-addrset.c -- address sets: merging two walkers' sets, a MiB's bits */
#include <config.h>

#include <check.h>
#include <stdlib.h>

#include "census/addrset.h"

#define MIB ((pm_addr_t)1 << 20)

/*
 * Members are objects, 8-aligned, and no two start within 16 bytes of each
 * other (no object is smaller): members 16 bytes apart stay apart.
 */
#define STEP 16

/* Merging takes every member, whether dst has the MiB already or not. */
START_TEST(test_set_merge)
{
  struct pm_addr_set a = { 0 }, b = { 0 };
  const pm_addr_t base = 0x7f0000000000ull;

  ck_assert_int_eq(pm__set_reserve(&a), 0);
  ck_assert_int_eq(pm__set_reserve(&b), 0);
  /* a: MiBs 0 and 1; b: MiBs 1 and 2 .. 40 (the table grows). */
  ck_assert_int_eq(pm__set_add(&a, base + STEP), 1);
  ck_assert_int_eq(pm__set_add(&a, base + MIB + 2 * STEP), 1);
  ck_assert_int_eq(pm__set_add(&b, base + MIB + 3 * STEP), 1);
  for (pm_addr_t m = 2; m <= 40; m++)
    ck_assert_int_eq(pm__set_add(&b, base + m * MIB + STEP * m), 1);
  ck_assert_int_eq(pm__set_merge(&a, &b), 0);
  pm__set_free(&b);
  ck_assert(pm__set_has(&a, base + STEP));
  ck_assert(pm__set_has(&a, base + MIB + 2 * STEP));
  ck_assert(pm__set_has(&a, base + MIB + 3 * STEP));
  for (pm_addr_t m = 2; m <= 40; m++) {
    ck_assert(pm__set_has(&a, base + m * MIB + STEP * m));
    ck_assert(!pm__set_has(&a, base + m * MIB + STEP * m + STEP));
  }
  ck_assert(!pm__set_has(&a, base + 2 * STEP));
  ck_assert(!pm__set_has(&a, base + 41 * MIB));
  /* Still a set one can add to. */
  ck_assert_int_eq(pm__set_add(&a, base + 41 * MIB), 1);
  ck_assert_int_eq(pm__set_add(&a, base + 3 * MIB + 3 * STEP), 0);
  pm__set_free(&a);
}
END_TEST

/* An empty set merges into anything, and into an empty one. */
START_TEST(test_set_merge_empty)
{
  struct pm_addr_set a = { 0 }, b = { 0 };

  ck_assert_int_eq(pm__set_merge(&a, &b), 0);
  ck_assert_int_eq(pm__set_add(&b, 0x1000008), 1);
  ck_assert_int_eq(pm__set_merge(&a, &b), 0);
  pm__set_free(&b);
  ck_assert(pm__set_has(&a, 0x1000008));
  pm__set_free(&a);
}
END_TEST

/*
 * A bit per 16 bytes: an 8-aligned member (a static object) is one, and
 * so is the address 8 bytes from a member, which no object can start at.
 */
START_TEST(test_set_granule)
{
  struct pm_addr_set a = { 0 };
  const pm_addr_t base = 0x7f0000000000ull;

  ck_assert_uint_eq((pm_addr_t)1 << PM_SET_GRANULE_BITS, 16);
  ck_assert_int_eq(pm__set_add(&a, base + 0x1008), 1);
  ck_assert(pm__set_has(&a, base + 0x1008));
  ck_assert(pm__set_has(&a, base + 0x1000));
  ck_assert(!pm__set_has(&a, base + 0x1010));
  ck_assert(!pm__set_has(&a, base + 0xff8));
  ck_assert_int_eq(pm__set_add(&a, base + 0x1000), 0);
  /* 65 536 bits (8 KiB) cover a MiB. */
  ck_assert_uint_eq(PM_SET_WORDS * 8, 8192);
  pm__set_free(&a);
}
END_TEST

/*
 * A MiB looked up before it has a bitmap is remembered as empty, and then
 * a bitmap made or taken for it is found: the first guesses (near) follow
 * every change, also for MiB that share a guess's place.
 */
START_TEST(test_set_near)
{
  struct pm_addr_set a = { 0 }, b = { 0 };
  const pm_addr_t base = 0x7f0000000000ull, far = PM_SET_NEAR * MIB;
  uint64_t *bits;

  ck_assert_int_eq(pm__set_add(&a, base), 1);
  ck_assert(!pm__set_has(&a, base + MIB + STEP));
  ck_assert_int_eq(pm__set_add(&a, base + MIB + STEP), 1);
  ck_assert(pm__set_has(&a, base + MIB + STEP));
  ck_assert(!pm__set_has(&a, base + far));
  ck_assert(pm__set_has(&a, base));
  ck_assert(!pm__set_has(&a, base + far));
  ck_assert_ptr_nonnull(bits = pm__set_copy_bits(&a, base));
  ck_assert_int_eq(pm__set_take_bits(&a, base + far, bits), 0);
  ck_assert(pm__set_has(&a, base + far));
  ck_assert(pm__set_has(&a, base));
  ck_assert(!pm__set_has(&b, base));
  ck_assert_ptr_nonnull(bits = pm__set_copy_bits(&a, base));
  ck_assert_int_eq(pm__set_take_bits(&b, base, bits), 0);
  ck_assert(pm__set_has(&b, base));
  pm__set_free(&a);
  pm__set_free(&b);
}
END_TEST

/*
 * A MiB's bits go from one walker's set to the other's (a MiB given): a
 * copy, taken as the other's bitmap or or-ed into the one it has.
 */
START_TEST(test_set_take_bits)
{
  struct pm_addr_set a = { 0 }, b = { 0 };
  const pm_addr_t base = 0x7f0000000000ull;
  uint64_t *bits;

  ck_assert_int_eq(pm__set_add(&a, base + STEP), 1);
  ck_assert_int_eq(pm__set_add(&a, base + MIB - STEP), 1);
  /* A copy: a's set is unchanged by what is done to it. */
  ck_assert_ptr_nonnull(bits = pm__set_copy_bits(&a, base + 64));
  ck_assert_int_eq(pm__set_take_bits(&b, base, bits), 0);
  ck_assert(pm__set_has(&b, base + STEP));
  ck_assert(pm__set_has(&b, base + MIB - STEP));
  ck_assert(!pm__set_has(&b, base + 2 * STEP));
  ck_assert_int_eq(pm__set_add(&b, base + 2 * STEP), 1);
  ck_assert(!pm__set_has(&a, base + 2 * STEP));
  /* Into a MiB the set has: or-ed in, its own bits kept. */
  ck_assert_int_eq(pm__set_add(&a, base + 3 * STEP), 1);
  ck_assert_ptr_nonnull(bits = pm__set_copy_bits(&a, base));
  ck_assert_int_eq(pm__set_take_bits(&b, base + 4096, bits), 0);
  ck_assert(pm__set_has(&b, base + 2 * STEP));
  ck_assert(pm__set_has(&b, base + 3 * STEP));
  ck_assert(pm__set_has(&b, base + STEP));
  /* A MiB the set has no bitmap of: all zeros. */
  ck_assert_ptr_nonnull(bits = pm__set_copy_bits(&a, base + 5 * MIB));
  for (size_t k = 0; k < PM_SET_WORDS; k++)
    ck_assert_uint_eq(bits[k], 0);
  ck_assert_int_eq(pm__set_take_bits(&b, base + 5 * MIB, bits), 0);
  ck_assert(!pm__set_has(&b, base + 5 * MIB + STEP));
  /* Many MiB: the table grows under taken bitmaps. */
  for (pm_addr_t m = 6; m < 600; m++) {
    ck_assert_int_eq(pm__set_add(&a, base + m * MIB + STEP * m), 1);
    ck_assert_ptr_nonnull(bits = pm__set_copy_bits(&a, base + m * MIB));
    ck_assert_int_eq(pm__set_take_bits(&b, base + m * MIB, bits), 0);
  }
  for (pm_addr_t m = 6; m < 600; m++) {
    ck_assert(pm__set_has(&b, base + m * MIB + STEP * m));
    ck_assert(!pm__set_has(&b, base + m * MIB + STEP * m + STEP));
  }
  pm__set_free(&a);
  pm__set_free(&b);
}
END_TEST

int
main(void)
{
  Suite *s = suite_create("addrset");
  TCase *tc = tcase_create("set");
  SRunner *sr;
  int failed;

  tcase_add_test(tc, test_set_merge);
  tcase_add_test(tc, test_set_merge_empty);
  tcase_add_test(tc, test_set_granule);
  tcase_add_test(tc, test_set_take_bits);
  tcase_add_test(tc, test_set_near);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_set_tap(sr, "-");
  srunner_run_all(sr, CK_SILENT);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
