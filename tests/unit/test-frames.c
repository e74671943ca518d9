/* SPDX-License-Identifier: MIT */
/* test-frames.c -- line numbers from the line tables of 3.8 to 3.13 */
#include <config.h>

#include <check.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>

#include "cpython/frames.h"

/*
 * The tables of one function, as each version compiled it, and the line
 * of every instruction as the interpreter itself says: dis.findlinestarts()
 * (3.8) and co_lines() (3.10+).  Made by compiling, in f.py,
 *
 *   def f(a, b):
 *       x = a + b
 *
 *       if x > 3:
 *           y = [i
 *                for i in range(x)]
 *       else:
 *           y = None
 *       return (x,
 *               y)
 */
struct range {
  int start, end, line; /* byte offsets [start, end) */
};

/* 3.8: firstlineno 2 */
static const uint8_t tab_38[] = {
  0x00, 0x01, 0x08, 0x02, 0x08, 0x01, 0x06, 0x01, 0x06,
  0xff, 0x08, 0x03, 0x04, 0x01, 0x02, 0x01, 0x02, 0xff,
};
static const struct range ranges_38[] = {
  { 0, 8, 3 },   { 8, 16, 5 },   { 16, 22, 6 },  { 22, 28, 7 },  { 28, 36, 6 },
  { 36, 40, 9 }, { 40, 42, 10 }, { 42, 44, 11 }, { 44, 48, 10 },
};
/* 3.10: firstlineno 2 */
static const uint8_t tab_310[] = {
  0x08, 0x01, 0x08, 0x02, 0x06, 0x01, 0x06, 0x01, 0x06, 0xff, 0x02, 0x04,
  0x02, 0x01, 0x04, 0xff, 0x04, 0xff, 0x02, 0x01, 0x02, 0x01, 0x04, 0xff,
};
static const struct range ranges_310[] = {
  { 0, 8, 3 },   { 8, 16, 5 },   { 16, 22, 6 },  { 22, 28, 7 },
  { 28, 34, 6 }, { 34, 36, 10 }, { 36, 38, 11 }, { 38, 42, 10 },
  { 42, 46, 9 }, { 46, 48, 10 }, { 48, 50, 11 }, { 50, 54, 10 },
};
/* 3.11: firstlineno 2 */
static const uint8_t tab_311[] = {
  0x80, 0x00, 0xd8, 0x08, 0x09, 0x88, 0x41, 0x89, 0x05, 0x80, 0x41, 0xe0,
  0x07, 0x08, 0x88, 0x31, 0x82, 0x75, 0x80, 0x75, 0xf0, 0x02, 0x01, 0x0d,
  0x20, 0xf0, 0x00, 0x01, 0x0d, 0x20, 0xdd, 0x16, 0x1b, 0x98, 0x41, 0x91,
  0x68, 0x94, 0x68, 0xf0, 0x03, 0x01, 0x0d, 0x20, 0xf1, 0x00, 0x01, 0x0d,
  0x20, 0xf4, 0x00, 0x01, 0x0d, 0x20, 0x88, 0x01, 0x88, 0x01, 0xf0, 0x06,
  0x00, 0x0d, 0x11, 0x88, 0x01, 0xd8, 0x0c, 0x0d, 0xd8, 0x0c, 0x0d, 0xf0,
  0x03, 0x01, 0x0c, 0x0f, 0xf0, 0x00, 0x01, 0x05, 0x0f,
};
static const struct range ranges_311[] = {
  { 0, 2, 2 },    { 2, 4, 3 },   { 4, 6, 3 },    { 6, 10, 3 },   { 10, 12, 3 },
  { 12, 14, 5 },  { 14, 16, 5 }, { 16, 22, 5 },  { 22, 24, 5 },  { 24, 26, 6 },
  { 26, 28, 6 },  { 28, 40, 7 }, { 40, 42, 7 },  { 42, 46, 7 },  { 46, 56, 7 },
  { 56, 58, 6 },  { 58, 62, 6 }, { 62, 72, 6 },  { 72, 74, 6 },  { 74, 76, 6 },
  { 76, 78, 9 },  { 78, 80, 9 }, { 80, 82, 10 }, { 82, 84, 11 }, { 84, 86, 10 },
  { 86, 88, 10 },
};
/* 3.13: firstlineno 2 */
static const uint8_t tab_313[] = {
  0x80, 0x00, 0xd8, 0x08, 0x09, 0x89, 0x05, 0x80, 0x41, 0xe0, 0x07, 0x08, 0x88,
  0x31, 0x83, 0x75, 0xe4, 0x16, 0x1b, 0x98, 0x41, 0x94, 0x68, 0xf3, 0x03, 0x01,
  0x0d, 0x20, 0xd9, 0x16, 0x1e, 0x90, 0x11, 0xf3, 0x03, 0x00, 0x0e, 0x0f, 0xd9,
  0x16, 0x1e, 0xf0, 0x03, 0x00, 0x09, 0x0a, 0xf0, 0x00, 0x01, 0x0d, 0x20, 0xf0,
  0x08, 0x00, 0x0d, 0x0e, 0xd8, 0x0c, 0x0d, 0xf0, 0x03, 0x01, 0x0c, 0x0f, 0xf0,
  0x00, 0x01, 0x05, 0x0f, 0xf0, 0x03, 0x00, 0x0d, 0x11, 0x88, 0x01, 0xd8, 0x0c,
  0x0d, 0xd8, 0x0c, 0x0d, 0xf0, 0x03, 0x01, 0x0c, 0x0f, 0xf0, 0x00, 0x01, 0x05,
  0x0f, 0xf9, 0xf2, 0x09, 0x01, 0x0d, 0x20,
};
static const struct range ranges_313[] = {
  { 0, 2, 2 },    { 2, 10, 3 },   { 10, 22, 5 },  { 22, 44, 7 },
  { 44, 52, 6 },  { 52, 58, 7 },  { 58, 66, 6 },  { 66, 70, 7 },
  { 70, 74, 6 },  { 74, 76, 10 }, { 76, 78, 11 }, { 78, 82, 10 },
  { 82, 86, 9 },  { 86, 88, 10 }, { 88, 90, 11 }, { 90, 94, 10 },
  { 94, 98, -1 }, { 98, 104, 6 },
};

#define N(a) (sizeof(a) / sizeof(a[0]))

static void
check_table(enum pm_line_format fmt, const uint8_t *tab, size_t len,
            const struct range *r, size_t n)
{
  for (size_t i = 0; i < n; i++)
    for (int addr = r[i].start; addr < r[i].end; addr += 2)
      ck_assert_msg(pm__addr2line(fmt, tab, len, 2, addr) == r[i].line,
                    "format %d, offset %d: line %d, want %d", (int)fmt, addr,
                    pm__addr2line(fmt, tab, len, 2, addr), r[i].line);
}

START_TEST(test_lnotab)
{
  check_table(PM_LINES_LNOTAB, tab_38, N(tab_38), ranges_38, N(ranges_38));
}
END_TEST

START_TEST(test_linetable)
{
  check_table(PM_LINES_LINETABLE, tab_310, N(tab_310), ranges_310,
              N(ranges_310));
  /* Past the end: no line. */
  ck_assert_int_eq(
      pm__addr2line(PM_LINES_LINETABLE, tab_310, N(tab_310), 2, 1000), -1);
}
END_TEST

START_TEST(test_locations)
{
  check_table(PM_LINES_LOCATIONS, tab_311, N(tab_311), ranges_311,
              N(ranges_311));
  check_table(PM_LINES_LOCATIONS, tab_313, N(tab_313), ranges_313,
              N(ranges_313));
}
END_TEST

START_TEST(test_line_overflow)
{
  /* A first line of INT_MAX and a step of +1: no line, never a wrap. */
  static const uint8_t lnotab[] = { 0, 1 }, linetable[] = { 2, 1 },
                       locations[] = { 0xd8, 0, 0 }; /* code 11: +1 */

  ck_assert_int_eq(pm__addr2line(PM_LINES_LNOTAB, lnotab, 2, INT_MAX, 0), -1);
  ck_assert_int_eq(pm__addr2line(PM_LINES_LINETABLE, linetable, 2, INT_MAX, 0),
                   -1);
  ck_assert_int_eq(pm__addr2line(PM_LINES_LOCATIONS, locations, 3, INT_MAX, 0),
                   -1);
  ck_assert_int_eq(
      pm__addr2line(PM_LINES_LOCATIONS, locations, 3, INT_MAX - 1, 0), INT_MAX);
}
END_TEST

START_TEST(test_edges)
{
  /* A frame that has not started is at its first line. */
  ck_assert_int_eq(
      pm__addr2line(PM_LINES_LOCATIONS, tab_311, N(tab_311), 2, -2), 2);
  ck_assert_int_eq(pm__addr2line(PM_LINES_LNOTAB, tab_38, N(tab_38), 2, -1), 2);
  /* Garbage and cut tables end in "no line", never out of bounds. */
  ck_assert_int_eq(pm__addr2line(PM_LINES_LOCATIONS, tab_311, 3, 2, 40), -1);
  {
    static const uint8_t junk[] = { 0x12, 0x34 }, cut[] = { 0xf0, 0x7f };
    ck_assert_int_eq(pm__addr2line(PM_LINES_LOCATIONS, junk, 2, 2, 0), -1);
    ck_assert_int_eq(pm__addr2line(PM_LINES_LOCATIONS, cut, 2, 2, 0), -1);
    ck_assert_int_eq(pm__addr2line(PM_LINES_LINETABLE, junk, 1, 2, 0), -1);
  }
}
END_TEST

static Suite *
frames_suite(void)
{
  Suite *s = suite_create("frames");
  TCase *tc = tcase_create("lines");

  tcase_add_test(tc, test_lnotab);
  tcase_add_test(tc, test_linetable);
  tcase_add_test(tc, test_locations);
  tcase_add_test(tc, test_line_overflow);
  tcase_add_test(tc, test_edges);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  SRunner *sr = srunner_create(frames_suite());
  int failed;

  srunner_set_tap(sr, "-");
  srunner_run_all(sr, CK_SILENT);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
