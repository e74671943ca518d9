/* SPDX-License-Identifier: MIT */
/* test-utf8.c -- src/utf8.c: telling, cleaning and writing UTF-8 */
#include <config.h>

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "pmpeek/error.h"
#include "utf8.h"

static size_t
char_len(const char *s)
{
  return pm__utf8_char((const unsigned char *)s);
}

START_TEST(test_well_formed)
{
  ck_assert_uint_eq(char_len("a"), 1);
  ck_assert_uint_eq(char_len("\x7f"), 1);
  ck_assert_uint_eq(char_len("\xc2\x80"), 2);         /* U+0080 */
  ck_assert_uint_eq(char_len("\xdf\xbf"), 2);         /* U+07FF */
  ck_assert_uint_eq(char_len("\xe0\xa0\x80"), 3);     /* U+0800 */
  ck_assert_uint_eq(char_len("\xed\x9f\xbf"), 3);     /* U+D7FF */
  ck_assert_uint_eq(char_len("\xee\x80\x80"), 3);     /* U+E000 */
  ck_assert_uint_eq(char_len("\xef\xbf\xbf"), 3);     /* U+FFFF */
  ck_assert_uint_eq(char_len("\xf0\x90\x80\x80"), 4); /* U+10000 */
  ck_assert_uint_eq(char_len("\xf4\x8f\xbf\xbf"), 4); /* U+10FFFF */
}
END_TEST

START_TEST(test_ill_formed)
{
  ck_assert_uint_eq(char_len(""), 0);
  ck_assert_uint_eq(char_len("\x80"), 0);             /* continuation */
  ck_assert_uint_eq(char_len("\xc0\x80"), 0);         /* overlong NUL */
  ck_assert_uint_eq(char_len("\xc1\xbf"), 0);         /* overlong */
  ck_assert_uint_eq(char_len("\xe0\x9f\xbf"), 0);     /* overlong */
  ck_assert_uint_eq(char_len("\xed\xa0\x80"), 0);     /* U+D800 */
  ck_assert_uint_eq(char_len("\xed\xbf\xbf"), 0);     /* U+DFFF */
  ck_assert_uint_eq(char_len("\xf0\x8f\xbf\xbf"), 0); /* overlong */
  ck_assert_uint_eq(char_len("\xf4\x90\x80\x80"), 0); /* U+110000 */
  ck_assert_uint_eq(char_len("\xf5\x80\x80\x80"), 0);
  ck_assert_uint_eq(char_len("\xff"), 0);
  /* Cut short, by the end of the string or by another character. */
  ck_assert_uint_eq(char_len("\xc3"), 0);
  ck_assert_uint_eq(char_len("\xe2\x82"), 0);
  ck_assert_uint_eq(char_len("\xf0\x9f\x98"), 0);
  ck_assert_uint_eq(char_len("\xe2\x82x"), 0);
}
END_TEST

START_TEST(test_clean_valid)
{
  char buf[64];

  ck_assert_int_eq(
      pm__utf8_clean(buf, sizeof(buf), "caf\xc3\xa9 \xf0\x9f\x98\x80"), 1);
  ck_assert_str_eq(buf, "caf\xc3\xa9 \xf0\x9f\x98\x80");
  ck_assert_int_eq(pm__utf8_clean(buf, sizeof(buf), ""), 1);
  ck_assert_str_eq(buf, "");
}
END_TEST

START_TEST(test_clean_escapes)
{
  char buf[64];

  ck_assert_int_eq(pm__utf8_clean(buf, sizeof(buf),
                                  "w\x8d"
                                  "apper"),
                   0);
  ck_assert_str_eq(buf, "w\\x8dapper");
  /* A surrogate: each of its three bytes. */
  ck_assert_int_eq(pm__utf8_clean(buf, sizeof(buf), "a\xed\xb2\x80z"), 0);
  ck_assert_str_eq(buf, "a\\xed\\xb2\\x80z");
  /* A lead cut short escapes alone; the character after it is kept. */
  ck_assert_int_eq(pm__utf8_clean(buf, sizeof(buf), "\xe2\x82\xc3\xa9"), 0);
  ck_assert_str_eq(buf, "\\xe2\\x82\xc3\xa9");
  ck_assert_int_eq(pm__utf8_clean(buf, sizeof(buf), "\xff\xfe"), 0);
  ck_assert_str_eq(buf, "\\xff\\xfe");
}
END_TEST

START_TEST(test_clean_cut)
{
  char buf[6];

  /* Cut before a character that does not fit, never inside it. */
  ck_assert_int_eq(pm__utf8_clean(buf, sizeof(buf), "abcd\xc3\xa9"), 0);
  ck_assert_str_eq(buf, "abcd");
  ck_assert_int_eq(pm__utf8_clean(buf, sizeof(buf), "abcde"), 1);
  ck_assert_str_eq(buf, "abcde");
  ck_assert_int_eq(pm__utf8_clean(buf, sizeof(buf), "abcdef"), 0);
  ck_assert_str_eq(buf, "abcde");
  /* Nor inside an escape. */
  ck_assert_int_eq(pm__utf8_clean(buf, sizeof(buf), "ab\xff"), 0);
  ck_assert_str_eq(buf, "ab");
  ck_assert_int_eq(pm__utf8_clean(buf, sizeof(buf), "a\xff"), 0);
  ck_assert_str_eq(buf, "a\\xff");
  ck_assert_int_eq(pm__utf8_clean(buf, 1, "abc"), 0);
  ck_assert_str_eq(buf, "");
}
END_TEST

START_TEST(test_clean_worst_case_fits)
{
  /* 4 * strlen + 1 bytes hold any string whole. */
  char s[65], buf[4 * 64 + 1];

  for (int i = 0; i < 64; i++)
    s[i] = (char)(0x80 + i);
  s[64] = '\0';
  ck_assert_int_eq(pm__utf8_clean(buf, sizeof(buf), s), 0);
  ck_assert_uint_eq(strlen(buf), 4 * 64);
  ck_assert_int_eq(strncmp(buf + 4 * 63, "\\xbf", 4), 0);
}
END_TEST

/* The code points cp[0..n) put into a buffer of len bytes. */
static int
put_all(char *buf, size_t len, const uint32_t *cp, size_t n)
{
  size_t pos = 0;
  int err = 0;

  for (size_t i = 0; i < n && !err; i++)
    err = pm__utf8_put(buf, len, &pos, cp[i]);
  buf[pos] = '\0';
  return err;
}

START_TEST(test_put)
{
  static const uint32_t cp[] = { 'a', 0xe9, 0x20ac, 0x1f600 };
  char buf[32];

  ck_assert_int_eq(put_all(buf, sizeof(buf), cp, 4), 0);
  ck_assert_str_eq(buf, "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
}
END_TEST

START_TEST(test_put_surrogate)
{
  /* UTF-8 may not hold one: written as Python's backslashreplace does. */
  static const uint32_t cp[] = { 'x', 0xd800, 0xdfff, 'y' };
  char buf[32];

  ck_assert_int_eq(put_all(buf, sizeof(buf), cp, 4), 0);
  ck_assert_str_eq(buf, "x\\ud800\\udfffy");
}
END_TEST

START_TEST(test_put_limits)
{
  static const uint32_t past[] = { 'a', 0x110000 }, euro[] = { 'a', 0x20ac };
  char buf[8];

  ck_assert_int_eq(put_all(buf, sizeof(buf), past, 2), PM_ECORRUPT);
  ck_assert_str_eq(buf, "a");
  /* A character that does not fit before the NUL is not written. */
  ck_assert_int_eq(put_all(buf, 4, euro, 2), 1);
  ck_assert_str_eq(buf, "a");
  ck_assert_int_eq(put_all(buf, 5, euro, 2), 0);
  ck_assert_str_eq(buf, "a\xe2\x82\xac");
}
END_TEST

START_TEST(test_trim)
{
  char s[16];

  strcpy(s, "ab\xe2\x82");
  pm__utf8_trim(s);
  ck_assert_str_eq(s, "ab");
  strcpy(s, "ab\xe2\x82\xac");
  pm__utf8_trim(s);
  ck_assert_str_eq(s, "ab\xe2\x82\xac");
  strcpy(s, "\xf0\x9f\x98");
  pm__utf8_trim(s);
  ck_assert_str_eq(s, "");
  strcpy(s, "abc");
  pm__utf8_trim(s);
  ck_assert_str_eq(s, "abc");
}
END_TEST

/* What a terminal or a page may show as it is, a character at a time. */
START_TEST(test_shown)
{
  static const struct {
    const char *s;
    size_t n;
    int shown;
  } cases[] = {
    { "a", 1, 1 },
    { " ", 1, 1 },
    { "\x1b[", 1, 0 },
    { "\t", 1, 0 },
    { "\x7f", 1, 0 },
    { "\xc2\x9b", 2, 0 }, /* U+009B, CSI */
    { "\xc2\x80", 2, 0 }, /* U+0080 */
    { "\xc2\xa0", 2, 1 }, /* U+00A0, the first after C1 */
    { "\xe2\x86\x92", 3, 1 },
    { "\xf0\x9f\x98\x80", 4, 1 },
    { "\x9b", 1, 0 },         /* a stray byte */
    { "\xe2\x86", 1, 0 },     /* cut short: a byte at a time */
    { "\xed\xa0\x80", 1, 0 }, /* a surrogate */
  };
  char out[64];
  size_t len = 0;
  FILE *f;

  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    int shown = -1;
    ck_assert_uint_eq(pm__utf8_shown(cases[i].s, &shown), cases[i].n);
    ck_assert_int_eq(shown, cases[i].shown);
  }
  f = fmemopen(out, sizeof(out), "w");
  ck_assert_ptr_nonnull(f);
  pm__utf8_write_shown(f, "a\x1b\xc2\x9b<\xe2\x86\x92", 1);
  len = (size_t)ftell(f);
  fclose(f);
  out[len] = '\0';
  ck_assert_str_eq(out, "a\\x1b\\xc2\\x9b&lt;\xe2\x86\x92");
}
END_TEST

static Suite *
utf8_suite(void)
{
  Suite *s = suite_create("utf8");
  TCase *tc = tcase_create("utf8");

  tcase_add_test(tc, test_well_formed);
  tcase_add_test(tc, test_ill_formed);
  tcase_add_test(tc, test_clean_valid);
  tcase_add_test(tc, test_clean_escapes);
  tcase_add_test(tc, test_clean_cut);
  tcase_add_test(tc, test_clean_worst_case_fits);
  tcase_add_test(tc, test_put);
  tcase_add_test(tc, test_put_surrogate);
  tcase_add_test(tc, test_put_limits);
  tcase_add_test(tc, test_trim);
  tcase_add_test(tc, test_shown);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  SRunner *sr = srunner_create(utf8_suite());
  int failed;

  srunner_set_tap(sr, "-");
  srunner_run_all(sr, CK_SILENT);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
