/* SPDX-License-Identifier: MIT */
/* test-table.c -- pm_cli_print_table(), the heapy-style partition table */
#include <config.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/table.h"

/* heapy's two header lines, for a census of `objects` and `bytes`. */
#define HEAD(objects, bytes)                                                   \
  "Partition of a set of " objects " objects. Total size = " bytes " bytes.\n" \
  " Index  Count   %     Size   % Cumulative  % Kind (class / dict of "        \
  "class)\n"

static struct pm_kind three[] = {
  { "dict", 5, 600, 0, 0 },
  { "list", 3, 333, 0, 0 },
  { "str", 2, 67, 0, 0 },
};

static struct pm_census census = {
  .kinds = three,
  .nkinds = 3,
  .count = 10,
  .size = 1000,
};

static char *buf;
static size_t len;
static FILE *out;

static void
setup(void)
{
  out = open_memstream(&buf, &len);
  ck_assert_ptr_nonnull(out);
}

static void
teardown(void)
{
  free(buf);
}

/* Closes the stream and returns what was printed. */
static const char *
printed(void)
{
  ck_assert_int_eq(fclose(out), 0);
  return buf;
}

START_TEST(test_full_table)
{
  /*
   * Counts 50 30 20 %; sizes 60 33.3 6.7 %, cumulative 60 93.3 100 %:
   * every percentage rounded down, as heapy does.
   */
  pm_cli_print_table(out, &census, 0, 0);
  ck_assert_str_eq(
      printed(),
      HEAD("10", "1000") "     0      5  50      600  60       600  60 dict\n"
                         "     1      3  30      333  33       933  93 list\n"
                         "     2      2  20       67   6      1000 100 str\n");
}
END_TEST

START_TEST(test_unreachable_column)
{
  struct pm_kind k[] = { { "str", 5, 600, 2, 120 }, { "dict", 3, 333, 0, 0 } };
  struct pm_census c = { .kinds = k,
                         .nkinds = 2,
                         .count = 8,
                         .size = 933,
                         .unreachable_count = 2,
                         .unreachable_size = 120 };

  pm_cli_print_table_ex(out, &c, 0, 0, 1);
  ck_assert_str_eq(printed(),
                   "Partition of a set of 8 objects. Total size = 933 bytes.\n"
                   " Index  Count   %     Size   % Cumulative  % Unreach Kind "
                   "(class / dict of class)\n"
                   "     0      5  62      600  64       600  64       2 str\n"
                   "     1      3  37      333  35       933 100       0 dict\n"
                   "Unreachable: 2 objects, 120 bytes (cyclic garbage not "
                   "collected yet).\n");
}
END_TEST

START_TEST(test_top)
{
  pm_cli_print_table(out, &census, 2, 0);
  ck_assert_str_eq(
      printed(),
      HEAD("10", "1000") "     0      5  50      600  60       600  60 dict\n"
                         "     1      3  30      333  33       933  93 list\n"
                         "<1 more rows. Use --top N or --all.>\n");
}
END_TEST

START_TEST(test_top_one)
{
  pm_cli_print_table(out, &census, 1, 0);
  ck_assert_str_eq(
      printed(),
      HEAD("10", "1000") "     0      5  50      600  60       600  60 dict\n"
                         "<2 more rows. Use --top N or --all.>\n");
}
END_TEST

START_TEST(test_top_not_reached)
{
  const char *want
      = HEAD("10", "1000") "     0      5  50      600  60       600  60 dict\n"
                           "     1      3  30      333  33       933  93 list\n"
                           "     2      2  20       67   6      1000 100 str\n";

  /* Exactly as many rows as kinds, or more: no footer. */
  pm_cli_print_table(out, &census, 3, 0);
  ck_assert_str_eq(printed(), want);
  teardown();
  setup();
  pm_cli_print_table(out, &census, 100, 0);
  ck_assert_str_eq(printed(), want);
}
END_TEST

START_TEST(test_empty)
{
  struct pm_census empty;

  pm_census_init(&empty);
  pm_cli_print_table(out, &empty, 0, 0);
  ck_assert_str_eq(printed(), HEAD("0", "0"));
  pm_census_release(&empty);
}
END_TEST

START_TEST(test_empty_top)
{
  struct pm_census empty = { 0 };

  pm_cli_print_table(out, &empty, 10, 0);
  ck_assert_str_eq(printed(), HEAD("0", "0"));
}
END_TEST

START_TEST(test_bold)
{
  /* Only the column header is emphasised, and the emphasis is reset. */
  pm_cli_print_table(out, &census, 1, 1);
  ck_assert_str_eq(printed(),
                   "Partition of a set of 10 objects. Total size = 1000 "
                   "bytes.\n"
                   "\033[1m Index  Count   %     Size   % Cumulative  % Kind "
                   "(class / dict of class)\033[0m\n"
                   "     0      5  50      600  60       600  60 dict\n"
                   "<2 more rows. Use --top N or --all.>\n");
}
END_TEST

START_TEST(test_bold_off)
{
  pm_cli_print_table(out, &census, 1, 0);
  ck_assert_ptr_null(strchr(printed(), '\033'));
}
END_TEST

START_TEST(test_wide_numbers)
{
  /* Columns widen rather than cut; percentages stay exact on big sizes. */
  struct pm_kind big[] = {
    { "bytes", 12345678, UINT64_C(1) << 62, 0, 0 },
    { "mymod.Outer.Inner", 1, UINT64_C(1) << 61, 0, 0 },
  };
  struct pm_census c = {
    .kinds = big,
    .nkinds = 2,
    .count = 12345679,
    .size = (UINT64_C(1) << 62) + (UINT64_C(1) << 61),
  };

  pm_cli_print_table(out, &c, 0, 0);
  ck_assert_str_eq(
      printed(),
      HEAD("12345679",
           "6917529027641081856") "     0 12345678  99 4611686018427387904  66 "
                                  "4611686018427387904  66 bytes\n"
                                  "     1      1   0 2305843009213693952  33 "
                                  "6917529027641081856 100 "
                                  "mymod.Outer.Inner\n");
}
END_TEST

START_TEST(test_zero_total)
{
  /* Kinds of size 0 (all objects unreadable): 0 %, not a division by 0. */
  struct pm_kind z[] = { { "dict", 0, 0, 0, 0 } };
  struct pm_census c = { .kinds = z, .nkinds = 1 };

  pm_cli_print_table(out, &c, 0, 0);
  ck_assert_str_eq(
      printed(),
      HEAD("0", "0") "     0      0   0        0   0         0   0 dict\n");
}
END_TEST

START_TEST(test_many_rows)
{
  /* Row numbers keep their six columns past 9 rows. */
  struct pm_kind k[12];
  struct pm_census c = { .kinds = k, .nkinds = 12, .count = 12, .size = 1200 };
  const char *s, *row11;

  for (int i = 0; i < 12; i++)
    k[i] = (struct pm_kind){ "tuple", 1, 100, 0, 0 };
  pm_cli_print_table(out, &c, 11, 0);
  s = printed();
  row11 = strstr(s, "    10      1   8      100   8      1100  91 tuple\n");
  ck_assert_ptr_nonnull(row11);
  ck_assert_str_eq(row11
                       + strlen("    10      1   8      100   8      1100  "
                                "91 tuple\n"),
                   "<1 more rows. Use --top N or --all.>\n");
}
END_TEST

/*
 * Kind names come from the target: a control character in one must not
 * reach a terminal as it is, where ESC [ 2 J clears the screen and
 * ESC ] 0 ; ... BEL retitles the window.  Well-formed UTF-8 passes.
 */
START_TEST(test_control_names)
{
  static struct pm_kind odd[] = {
    { "evil\x1b[2Jx\x1b]0;t\x07", 3, 600, 0, 0 },
    { "tab\tnl\ndel\x7f", 2, 300, 0, 0 },
    /* U+009B (CSI, a C1 control), a stray byte 0x9b, then U+00E9, U+2192 */
    { "c1\xc2\x9b"
      "stray\x9b"
      "caf\xc3\xa9\xe2\x86\x92",
      1, 100, 0, 0 },
  };
  struct pm_census c = { .kinds = odd, .nkinds = 3, .count = 6, .size = 1000 };

  pm_cli_print_table(out, &c, 0, 0);
  ck_assert_str_eq(
      printed(),
      HEAD("6", "1000") "     0      3  50      600  60       600  60 "
                        "evil\\x1b[2Jx\\x1b]0;t\\x07\n"
                        "     1      2  33      300  30       900  90 "
                        "tab\\x09nl\\x0adel\\x7f\n"
                        "     2      1  16      100  10      1000 100 "
                        "c1\\xc2\\x9bstray\\x9b"
                        "caf\xc3\xa9\xe2\x86\x92\n");
}
END_TEST

START_TEST(test_text_width)
{
  ck_assert_uint_eq(pm_cli_text_width(""), 0);
  ck_assert_uint_eq(pm_cli_text_width("abc"), 3);
  /* One character each: U+00E9, U+2192, U+1F600. */
  ck_assert_uint_eq(pm_cli_text_width("\xc3\xa9\xe2\x86\x92\xf0\x9f\x98\x80"),
                    3);
  ck_assert_uint_eq(pm_cli_text_width("a\x1b"
                                      "b"),
                    6);
  ck_assert_uint_eq(pm_cli_text_width("\xc2\x85"), 8);
  /* A sequence cut short is two stray bytes. */
  ck_assert_uint_eq(pm_cli_text_width("\xe2\x86"), 8);
  pm_cli_text_pad(out, "\xc3\xa9\x1b", 8);
  fputc('|', out);
  pm_cli_text_pad(out, "toolong", 3);
  fputc('|', out);
  ck_assert_str_eq(printed(), "\xc3\xa9\\x1b   |toolong|");
}
END_TEST

/* What pm_cli_error() writes for the message made of fmt and arg. */
static char *
error_text(const char *fmt, const char *arg)
{
  FILE *tmp = tmpfile();
  int saved = dup(2);
  char *got = calloc(1, 16384);
  size_t n;

  ck_assert_ptr_nonnull(tmp);
  ck_assert_ptr_nonnull(got);
  ck_assert_int_ge(saved, 0);
  fflush(stderr);
  ck_assert_int_ge(dup2(fileno(tmp), 2), 0);
  pm_cli_error(fmt, arg);
  fflush(stderr);
  ck_assert_int_ge(dup2(saved, 2), 0);
  close(saved);
  rewind(tmp);
  n = fread(got, 1, 16383, tmp);
  got[n] = '\0';
  fclose(tmp);
  return got;
}

/* An error message names a kind or a path, maybe the target's: escaped. */
START_TEST(test_error_escaped)
{
  char *got = error_text("no object of kind '%s' found", "a\x1b[2Jb\xff");

  ck_assert_str_eq(got, "pmpeek: no object of kind 'a\\x1b[2Jb\\xff' found\n");
  free(got);
  /* A stray lead byte at the end is shown, not taken for a cut. */
  got = error_text("%s", "end\xc3");
  ck_assert_str_eq(got, "pmpeek: end\\xc3\n");
  free(got);
  fclose(out);
  out = NULL;
}
END_TEST

/* A message past 8 KiB is cut between two characters, not inside one. */
START_TEST(test_error_cut)
{
  char *name = malloc(2 * 5000 + 1), *got;
  size_t n;

  ck_assert_ptr_nonnull(name);
  for (int i = 0; i < 5000; i++)
    memcpy(name + 2 * i, "\xc3\xa9", 2);
  name[2 * 5000] = '\0';
  got = error_text("%s", name);
  n = strlen(got);
  ck_assert_uint_gt(n, 8000);
  ck_assert_uint_lt(n, 8192 + 8);
  ck_assert_ptr_null(strstr(got, "\\x"));
  ck_assert_int_eq(got[n - 1], '\n');
  ck_assert_int_eq((unsigned char)got[n - 2], 0xa9);
  free(got);
  free(name);
  fclose(out);
  out = NULL;
}
END_TEST

static Suite *
table_suite(void)
{
  Suite *s = suite_create("table");
  TCase *tc = tcase_create("print");

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_full_table);
  tcase_add_test(tc, test_unreachable_column);
  tcase_add_test(tc, test_top);
  tcase_add_test(tc, test_top_one);
  tcase_add_test(tc, test_top_not_reached);
  tcase_add_test(tc, test_empty);
  tcase_add_test(tc, test_empty_top);
  tcase_add_test(tc, test_bold);
  tcase_add_test(tc, test_bold_off);
  tcase_add_test(tc, test_wide_numbers);
  tcase_add_test(tc, test_zero_total);
  tcase_add_test(tc, test_many_rows);
  tcase_add_test(tc, test_control_names);
  tcase_add_test(tc, test_text_width);
  tcase_add_test(tc, test_error_escaped);
  tcase_add_test(tc, test_error_cut);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  SRunner *sr = srunner_create(table_suite());
  int failed;

  srunner_set_tap(sr, "-");
  srunner_run_all(sr, CK_SILENT);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
