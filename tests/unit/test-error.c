/* SPDX-License-Identifier: MIT */
/* test-error.c -- pm_strerror() and pm_exit_status() */
#include <config.h>

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pmpeek/error.h"

struct code {
  const char *name;
  int value;
};

static const struct code codes[] = {
#define CODE(name, value, status, msg) { "PM_" #name, PM_##name },
  PM_ERRNO_MAP(CODE)
#undef CODE
};
#define NCODES (sizeof(codes) / sizeof(codes[0]))

START_TEST(test_codes_below_errno)
{
  for (size_t i = 0; i < NCODES; i++) {
    ck_assert_msg(codes[i].value <= -4000, "%s = %d", codes[i].name,
                  codes[i].value);
    for (size_t j = 0; j < i; j++)
      ck_assert_msg(codes[i].value != codes[j].value, "%s == %s", codes[i].name,
                    codes[j].name);
  }
}
END_TEST

START_TEST(test_messages)
{
  for (size_t i = 0; i < NCODES; i++) {
    const char *msg = pm_strerror(codes[i].value);

    ck_assert_ptr_nonnull(msg);
    ck_assert_msg(msg[0] != '\0', "%s: empty message", codes[i].name);
    ck_assert_str_ne(msg, pm_strerror(-123456)); /* not the fallback */
    /* git style: lowercase first word, no full stop. */
    ck_assert_msg(!(msg[0] >= 'A' && msg[0] <= 'Z'), "%s: '%s'", codes[i].name,
                  msg);
    ck_assert_msg(msg[strlen(msg) - 1] != '.', "%s: '%s'", codes[i].name, msg);
    for (size_t j = 0; j < i; j++)
      ck_assert_msg(strcmp(msg, pm_strerror(codes[j].value)) != 0,
                    "%s and %s share '%s'", codes[i].name, codes[j].name, msg);
  }
}
END_TEST

START_TEST(test_statuses)
{
  /* pmpeek(1), EXIT STATUS: 1 is partial output, never an error's. */
  static const int documented[] = { 2, 3, 4, 5, 6, 7, 8, 9, 10, 130 };

  for (size_t i = 0; i < NCODES; i++) {
    int st = pm_exit_status(codes[i].value), ok = 0;

    for (size_t j = 0; j < sizeof(documented) / sizeof(documented[0]); j++)
      ok |= st == documented[j];
    ck_assert_msg(ok, "%s: exit status %d", codes[i].name, st);
  }
}
END_TEST

START_TEST(test_documented_statuses)
{
  /* As pmpeek(1) describes each status. */
  ck_assert_int_eq(pm_exit_status(PM_EUSAGE), 2);
  ck_assert_int_eq(pm_exit_status(PM_ENOPYTHON), 5);
  ck_assert_int_eq(pm_exit_status(PM_ENOVERSION), 6);
  ck_assert_int_eq(pm_exit_status(PM_EGONE), 7);
  ck_assert_int_eq(pm_exit_status(PM_ECORRUPT), 8);
  ck_assert_int_eq(pm_exit_status(PM_EELF), 8);
  ck_assert_int_eq(pm_exit_status(PM_ELIMIT), 8);
  ck_assert_int_eq(pm_exit_status(PM_EINTR), 130);
  ck_assert_int_eq(pm_exit_status(PM_ENOTCORE), 2);
  ck_assert_int_eq(pm_exit_status(PM_ECORE), 8);
  ck_assert_int_eq(pm_exit_status(PM_ENOFILE), 10);
  ck_assert_int_eq(pm_exit_status(PM_EBUILDID), 10);
}
END_TEST

START_TEST(test_errno_statuses)
{
  ck_assert_int_eq(pm_exit_status(0), 0);
  ck_assert_int_eq(pm_exit_status(-ESRCH), 3);
  ck_assert_int_eq(pm_exit_status(-EPERM), 4);
  ck_assert_int_eq(pm_exit_status(-EACCES), 4);
  ck_assert_int_eq(pm_exit_status(-EFAULT), 8);
  ck_assert_int_eq(pm_exit_status(-ENOMEM), 9);
  ck_assert_int_eq(pm_exit_status(-ENOENT), 9);
  ck_assert_int_eq(pm_exit_status(-123456), 9);
}
END_TEST

START_TEST(test_strerror_errno)
{
  ck_assert_str_eq(pm_strerror(-ENOENT), strerror(ENOENT));
  ck_assert_str_eq(pm_strerror(-EPERM), strerror(EPERM));
  ck_assert_str_eq(pm_strerror(-ENOMEM), strerror(ENOMEM));
  ck_assert_ptr_nonnull(pm_strerror(0));
  ck_assert_ptr_nonnull(pm_strerror(-123456));
  ck_assert_ptr_nonnull(pm_strerror(1));
}
END_TEST

static Suite *
error_suite(void)
{
  Suite *s = suite_create("error");
  TCase *tc = tcase_create("table");

  tcase_add_test(tc, test_codes_below_errno);
  tcase_add_test(tc, test_messages);
  tcase_add_test(tc, test_statuses);
  tcase_add_test(tc, test_documented_statuses);
  tcase_add_test(tc, test_errno_statuses);
  tcase_add_test(tc, test_strerror_errno);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  SRunner *sr = srunner_create(error_suite());
  int failed;

  srunner_set_tap(sr, "-");
  srunner_run_all(sr, CK_SILENT);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
