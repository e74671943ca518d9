/* SPDX-License-Identifier: MIT */
/* test-maps.c -- pm_maps_parse() and pm_maps_find() on /proc/PID/maps text */
#include <config.h>

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pmpeek/target.h"

/* Shaped like a real python3.11 process's maps, kernel padding included. */
static const char real_maps[]
    = "00400000-0041f000 r--p 00000000 fe:00 10977288                          "
      " "
      "/usr/bin/python3.11\n"
      "0041f000-006cf000 r-xp 0001f000 fe:00 10977288                          "
      " "
      "/usr/bin/python3.11\n"
      "00941000-00a7f000 rw-p 00540000 fe:00 10977288                          "
      " "
      "/usr/bin/python3.11\n"
      "00a7f000-00aa4000 rw-p 00000000 00:00 0 \n"
      "01f3c000-0200e000 rw-p 00000000 00:00 0                                 "
      " "
      "[heap]\n"
      "7f76f4800000-7f76f48f5000 r--p 00000000 fe:00 18834                     "
      " "
      "/opt/my python/lib/libpython3.11.so.1.0\n"
      "7f76f4c44000-7f76f4d78000 rw-s 00443000 00:05 2049                      "
      " "
      "/dev/shm/seg (deleted)\n"
      "7f76f4d78000-7f76f4d79000 ---p 00000000 00:00 0\n"
      "7ffd1b7e4000-7ffd1b7e8000 r--p 00000000 00:00 0                         "
      " "
      "[vvar]\n"
      "7ffd1b7e8000-7ffd1b7ea000 r-xp 00000000 00:00 0                         "
      " "
      "[vdso]\n"
      "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                 "
      " "
      "[vsyscall]\n";

static struct pm_maps m;

static void
setup(void)
{
  pm_maps_init(&m);
}

static void
teardown(void)
{
  pm_maps_release(&m);
}

START_TEST(test_init_release)
{
  struct pm_maps e;

  pm_maps_init(&e);
  ck_assert_ptr_null(e.v);
  ck_assert_uint_eq(e.n, 0);
  pm_maps_release(&e);
  ck_assert_ptr_null(e.v);
  ck_assert_uint_eq(e.n, 0);
}
END_TEST

START_TEST(test_real_maps)
{
  ck_assert_int_eq(pm_maps_parse(&m, real_maps), 0);
  ck_assert_uint_eq(m.n, 11);

  ck_assert_uint_eq(m.v[0].start, 0x400000);
  ck_assert_uint_eq(m.v[0].end, 0x41f000);
  ck_assert_uint_eq(m.v[0].offset, 0);
  ck_assert_uint_eq(m.v[0].inode, 10977288);
  ck_assert_uint_eq(m.v[0].prot, PM_PROT_READ);
  ck_assert_str_eq(m.v[0].path, "/usr/bin/python3.11");

  ck_assert_uint_eq(m.v[1].offset, 0x1f000);
  ck_assert_uint_eq(m.v[1].prot, PM_PROT_READ | PM_PROT_EXEC);
  ck_assert_uint_eq(m.v[2].offset, 0x540000);
  ck_assert_uint_eq(m.v[2].prot, PM_PROT_READ | PM_PROT_WRITE);
}
END_TEST

START_TEST(test_anonymous)
{
  ck_assert_int_eq(pm_maps_parse(&m, real_maps), 0);
  /* With a trailing space after the inode, and without one. */
  ck_assert_ptr_null(m.v[3].path);
  ck_assert_uint_eq(m.v[3].inode, 0);
  ck_assert_uint_eq(m.v[3].prot, PM_PROT_READ | PM_PROT_WRITE);
  ck_assert_ptr_null(m.v[7].path);
  ck_assert_uint_eq(m.v[7].prot, 0);
}
END_TEST

START_TEST(test_pseudo_names)
{
  ck_assert_int_eq(pm_maps_parse(&m, real_maps), 0);
  ck_assert_str_eq(m.v[4].path, "[heap]");
  ck_assert_str_eq(m.v[8].path, "[vvar]");
  ck_assert_str_eq(m.v[9].path, "[vdso]");
  ck_assert_uint_eq(m.v[9].prot, PM_PROT_READ | PM_PROT_EXEC);
  ck_assert_str_eq(m.v[10].path, "[vsyscall]");
  ck_assert_uint_eq(m.v[10].start, 0xffffffffff600000ull);
  ck_assert_uint_eq(m.v[10].end, 0xffffffffff601000ull);
  ck_assert_uint_eq(m.v[10].prot, PM_PROT_EXEC);
}
END_TEST

START_TEST(test_spaces_and_deleted)
{
  ck_assert_int_eq(pm_maps_parse(&m, real_maps), 0);
  ck_assert_str_eq(m.v[5].path, "/opt/my python/lib/libpython3.11.so.1.0");
  ck_assert_uint_eq(m.v[5].start, 0x7f76f4800000ull);
  ck_assert_uint_eq(m.v[5].inode, 18834);
  /* The kernel's " (deleted)" suffix is kept, as documented. */
  ck_assert_str_eq(m.v[6].path, "/dev/shm/seg (deleted)");
  ck_assert_uint_eq(m.v[6].offset, 0x443000);
  ck_assert_uint_eq(m.v[6].prot, PM_PROT_READ | PM_PROT_WRITE | PM_PROT_SHARED);
}
END_TEST

/*
 * This process's own maps, against sscanf() field by field: what the kernel
 * writes here, not only what the tests above spell out.
 */
START_TEST(test_self_maps)
{
  FILE *f = fopen("/proc/self/maps", "r");
  char text[1 << 16], line[4096];
  size_t len = 0, i = 0;

  ck_assert_ptr_nonnull(f);
  len = fread(text, 1, sizeof(text) - 1, f);
  fclose(f);
  ck_assert_uint_lt(len, sizeof(text) - 1);
  text[len] = '\0';
  ck_assert_int_eq(pm_maps_parse(&m, text), 0);
  ck_assert_uint_gt(m.n, 5);
  f = fmemopen(text, len, "r");
  ck_assert_ptr_nonnull(f);
  while (fgets(line, sizeof(line), f)) {
    unsigned long long start, end, offset, inode;
    unsigned major, minor;
    char perms[5];
    int at = 0;
    size_t n = strcspn(line, "\n");

    line[n] = '\0';
    ck_assert_int_eq(sscanf(line, "%llx-%llx %4s %llx %x:%x %llu %n", &start,
                            &end, perms, &offset, &major, &minor, &inode, &at),
                     7);
    ck_assert_uint_lt(i, m.n);
    ck_assert_uint_eq(m.v[i].start, start);
    ck_assert_uint_eq(m.v[i].end, end);
    ck_assert_uint_eq(m.v[i].offset, offset);
    ck_assert_uint_eq(m.v[i].dev, (uint64_t)major << 32 | minor);
    ck_assert_uint_eq(m.v[i].inode, inode);
    ck_assert_uint_eq(!!(m.v[i].prot & PM_PROT_WRITE), perms[1] == 'w');
    if (at > 0 && (size_t)at < n)
      ck_assert_str_eq(m.v[i].path, line + at);
    else
      ck_assert_ptr_null(m.v[i].path);
    i++;
  }
  fclose(f);
  ck_assert_uint_eq(i, m.n);
}
END_TEST

START_TEST(test_no_trailing_newline)
{
  ck_assert_int_eq(pm_maps_parse(&m, "1000-2000 r--p 00000000 00:00 0 [heap]"),
                   0);
  ck_assert_uint_eq(m.n, 1);
  ck_assert_str_eq(m.v[0].path, "[heap]");
}
END_TEST

START_TEST(test_empty_text)
{
  ck_assert_int_eq(pm_maps_parse(&m, ""), 0);
  ck_assert_uint_eq(m.n, 0);
  ck_assert_int_eq(pm_maps_parse(&m, "\n\n"), 0);
  ck_assert_uint_eq(m.n, 0);
}
END_TEST

START_TEST(test_append)
{
  ck_assert_int_eq(pm_maps_parse(&m, "1000-2000 r--p 00000000 00:00 0\n"), 0);
  ck_assert_int_eq(pm_maps_parse(&m, "3000-4000 rw-p 00000000 00:00 0\n"), 0);
  ck_assert_uint_eq(m.n, 2);
  ck_assert_uint_eq(m.v[1].start, 0x3000);
  /* Appending must keep the list sorted too. */
  ck_assert_int_eq(pm_maps_parse(&m, "2000-3000 rw-p 00000000 00:00 0\n"),
                   -EINVAL);
}
END_TEST

/* A target chooses its file names: one as long as a path gets is fine. */
START_TEST(test_long_path)
{
  size_t n = 4095;
  char *text = malloc(n + 128), *p;

  ck_assert_ptr_nonnull(text);
  p = text
      + sprintf(text, "7f0000000000-7f0000001000 r--p 00000000 fe:01 "
                      "1234567                    ");
  p[0] = '/';
  memset(p + 1, 'x', n - 1);
  strcpy(p + n, " (deleted)\n");
  ck_assert_int_eq(pm_maps_parse(&m, text), 0);
  ck_assert_uint_eq(m.n, 1);
  ck_assert_uint_eq(strlen(m.v[0].path), n + 10);
  ck_assert_int_eq(m.v[0].path[0], '/');
  free(text);
}
END_TEST

START_TEST(test_many_regions)
{
  /* More regions than the parser's first allocation. */
  char *text = malloc(200 * 64);
  size_t pos = 0;

  ck_assert_ptr_nonnull(text);
  for (unsigned i = 0; i < 200; i++)
    pos += (size_t)sprintf(text + pos, "%x-%x rw-p 00000000 00:00 0\n",
                           0x10000 + i * 0x2000, 0x11000 + i * 0x2000);
  ck_assert_int_eq(pm_maps_parse(&m, text), 0);
  free(text);
  ck_assert_uint_eq(m.n, 200);
  for (unsigned i = 0; i < 200; i++) {
    ck_assert_uint_eq(m.v[i].start, 0x10000 + i * 0x2000);
    ck_assert_ptr_eq(pm_maps_find(&m, 0x10800 + i * 0x2000), &m.v[i]);
    ck_assert_ptr_null(pm_maps_find(&m, 0x11800 + i * 0x2000));
  }
}
END_TEST

static const char *const malformed[] = {
  "garbage\n",
  "1000-2000\n",
  "1000-2000 r--p\n",
  "1000-2000 r--p 00000000\n",
  "1000-2000 r--p 00000000 00:00\n",
  "1000 r--p 00000000 00:00 0\n",
  "xyz-2000 r--p 00000000 00:00 0\n",
  "2000-1000 r--p 00000000 00:00 0\n",  /* end before start */
  "1000-1000 r--p 00000000 00:00 0\n",  /* empty */
  "1000-2000 r-p 00000000 00:00 0\n",   /* short perms */
  "1000-2000 r--pp 00000000 00:00 0\n", /* long perms */
  "1000-2000 rzxq 00000000 00:00 0\n",  /* not r/w/x/s/p/- */
  "1000-2000 r--p 00000000 00:00 0\nnot a line\n",
  "10000000000000000-20000000000000000 r--p 00000000 00:00 0\n", /* > 64 b */
  "1000-2000 r--p 00000000 00:00 0x /lib\n",       /* junk after the inode */
  "1000-2000 r--p 00000000 100000000:00 0 /lib\n", /* device over 32 bits */
  "1000-2000 r--p 00000000 00-00 0 /lib\n",
  "1000-2000 r--p 00000000 00:00 99999999999999999999 /lib\n",
};

START_TEST(test_malformed)
{
  const char *text = malformed[_i];

  ck_assert_msg(pm_maps_parse(&m, text) == -EINVAL, "accepted '%s'", text);
}
END_TEST

START_TEST(test_unsorted)
{
  ck_assert_int_eq(pm_maps_parse(&m, "3000-4000 r--p 00000000 00:00 0\n"
                                     "1000-2000 r--p 00000000 00:00 0\n"),
                   -EINVAL);
}
END_TEST

START_TEST(test_overlapping)
{
  ck_assert_int_eq(pm_maps_parse(&m, "1000-3000 r--p 00000000 00:00 0\n"
                                     "2000-4000 r--p 00000000 00:00 0\n"),
                   -EINVAL);
}
END_TEST

START_TEST(test_duplicate)
{
  ck_assert_int_eq(pm_maps_parse(&m, "1000-2000 r--p 00000000 00:00 0\n"
                                     "1000-2000 r--p 00000000 00:00 0\n"),
                   -EINVAL);
}
END_TEST

START_TEST(test_adjacent)
{
  ck_assert_int_eq(pm_maps_parse(&m, "1000-2000 r--p 00000000 00:00 0\n"
                                     "2000-3000 rw-p 00000000 00:00 0\n"),
                   0);
  ck_assert_uint_eq(m.n, 2);
  ck_assert_ptr_eq(pm_maps_find(&m, 0x1fff), &m.v[0]);
  ck_assert_ptr_eq(pm_maps_find(&m, 0x2000), &m.v[1]);
}
END_TEST

START_TEST(test_find_boundaries)
{
  ck_assert_int_eq(pm_maps_parse(&m, real_maps), 0);
  for (size_t i = 0; i < m.n; i++) {
    ck_assert_ptr_eq(pm_maps_find(&m, m.v[i].start), &m.v[i]);
    ck_assert_ptr_eq(pm_maps_find(&m, m.v[i].end - 1), &m.v[i]);
    ck_assert_ptr_eq(pm_maps_find(&m, m.v[i].start + 0x100), &m.v[i]);
  }
  /* The end is exclusive; these ends are followed by a gap. */
  ck_assert_ptr_null(pm_maps_find(&m, 0x6cf000));
  ck_assert_ptr_null(pm_maps_find(&m, 0x200e000));
  /* Adjacent regions: the end of one is the start of the next. */
  ck_assert_ptr_eq(pm_maps_find(&m, 0x41f000), &m.v[1]);
}
END_TEST

START_TEST(test_find_gaps)
{
  ck_assert_int_eq(pm_maps_parse(&m, real_maps), 0);
  ck_assert_ptr_null(pm_maps_find(&m, 0));
  ck_assert_ptr_null(pm_maps_find(&m, 0x3fffff));
  ck_assert_ptr_null(pm_maps_find(&m, 0x800000));
  ck_assert_ptr_null(pm_maps_find(&m, 0x7f0000000000ull));
  ck_assert_ptr_null(pm_maps_find(&m, 0x7ffd1b7ea000ull));
  ck_assert_ptr_null(pm_maps_find(&m, 0xffffffffff601000ull));
  ck_assert_ptr_null(pm_maps_find(&m, UINT64_MAX));
}
END_TEST

START_TEST(test_find_empty)
{
  ck_assert_ptr_null(pm_maps_find(&m, 0));
  ck_assert_ptr_null(pm_maps_find(&m, 0x1000));
  ck_assert_ptr_null(pm_maps_find(&m, UINT64_MAX));
}
END_TEST

START_TEST(test_find_single)
{
  ck_assert_int_eq(pm_maps_parse(&m, "1000-2000 r--p 00000000 00:00 0\n"), 0);
  ck_assert_ptr_null(pm_maps_find(&m, 0xfff));
  ck_assert_ptr_eq(pm_maps_find(&m, 0x1000), &m.v[0]);
  ck_assert_ptr_eq(pm_maps_find(&m, 0x1fff), &m.v[0]);
  ck_assert_ptr_null(pm_maps_find(&m, 0x2000));
}
END_TEST

static Suite *
maps_suite(void)
{
  Suite *s = suite_create("maps");
  TCase *tc;

  tc = tcase_create("parse");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_init_release);
  tcase_add_test(tc, test_real_maps);
  tcase_add_test(tc, test_anonymous);
  tcase_add_test(tc, test_self_maps);
  tcase_add_test(tc, test_pseudo_names);
  tcase_add_test(tc, test_spaces_and_deleted);
  tcase_add_test(tc, test_no_trailing_newline);
  tcase_add_test(tc, test_empty_text);
  tcase_add_test(tc, test_append);
  tcase_add_test(tc, test_many_regions);
  tcase_add_test(tc, test_long_path);
  suite_add_tcase(s, tc);

  tc = tcase_create("invalid");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_loop_test(tc, test_malformed, 0,
                      (int)(sizeof(malformed) / sizeof(malformed[0])));
  tcase_add_test(tc, test_unsorted);
  tcase_add_test(tc, test_overlapping);
  tcase_add_test(tc, test_duplicate);
  tcase_add_test(tc, test_adjacent);
  suite_add_tcase(s, tc);

  tc = tcase_create("find");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_find_boundaries);
  tcase_add_test(tc, test_find_gaps);
  tcase_add_test(tc, test_find_empty);
  tcase_add_test(tc, test_find_single);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  SRunner *sr = srunner_create(maps_suite());
  int failed;

  srunner_set_tap(sr, "-");
  srunner_run_all(sr, CK_SILENT);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
