/* SPDX-License-Identifier: MIT */
/* test-snapshot.c -- pm_snapshot_write_json() against docs/snapshot-format.md
 */
#include <config.h>

#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pmpeek/error.h"
#include "pmpeek/snapshot.h"

static struct pm_kind kinds[] = {
  { "dict", 454, 205872, 0, 0 },
  { "type", 68, 93280, 0, 0 },
  { "function", 568, 86336, 0, 0 },
};

static struct pm_census census = {
  .kinds = kinds,
  .nkinds = 3,
  .count = 4785,
  .size = 728248,
};

/* The example of docs/snapshot-format.md. */
static struct pm_snapshot snap;

static char *text;
static size_t textlen;
static json_t *doc;

static void
setup(void)
{
  snap = (struct pm_snapshot){
    .source_kind = "live",
    .pid = 18672,
    .executable = "/usr/bin/python3.11",
    .python_version = "3.11.2",
    .scope = "gc-tracked",
    /* 2026-11-21T15:20:56.999Z, by `date -ud @1795274456`: milliseconds
     * are cut, not rounded up into the next second. */
    .taken_at = { .tv_sec = 1795274456, .tv_nsec = 999999999 },
    .pause_seconds = 0.0032138,
    .census = &census,
  };
  text = NULL;
  doc = NULL;
}

static void
teardown(void)
{
  json_decref(doc);
  free(text);
}

/* Writes snap to memory and parses it back; the document is left in doc. */
static json_t *
write_and_parse(void)
{
  json_error_t error;
  FILE *f;

  free(text);
  f = open_memstream(&text, &textlen);
  ck_assert_ptr_nonnull(f);
  ck_assert_int_eq(pm_snapshot_write_json(&snap, f), 0);
  ck_assert_int_eq(fclose(f), 0);
  json_decref(doc);
  doc = json_loads(text, 0, &error);
  ck_assert_msg(doc != NULL, "not JSON: %s at line %d: %s", error.text,
                error.line, text);
  ck_assert(json_is_object(doc));
  return doc;
}

static json_t *
field(json_t *obj, const char *key)
{
  json_t *v = json_object_get(obj, key);

  ck_assert_msg(v != NULL, "no field '%s'", key);
  return v;
}

static const char *
str_field(json_t *obj, const char *key)
{
  json_t *v = field(obj, key);

  ck_assert_msg(json_is_string(v), "'%s' is not a string", key);
  return json_string_value(v);
}

static json_int_t
int_field(json_t *obj, const char *key)
{
  json_t *v = field(obj, key);

  ck_assert_msg(json_is_integer(v), "'%s' is not an integer", key);
  return json_integer_value(v);
}

START_TEST(test_format)
{
  json_t *d = write_and_parse();

  ck_assert_str_eq(str_field(d, "format"), "pmpeek-snapshot");
  ck_assert_int_eq(int_field(d, "format_version"), 1);
  /* One document and a newline. */
  ck_assert_uint_gt(textlen, 2);
  ck_assert_int_eq(text[textlen - 1], '\n');
  ck_assert_int_eq(text[textlen - 2], '}');
}
END_TEST

START_TEST(test_source)
{
  json_t *src = field(write_and_parse(), "source");

  ck_assert(json_is_object(src));
  ck_assert_str_eq(str_field(src, "kind"), "live");
  ck_assert_int_eq(int_field(src, "pid"), 18672);
  ck_assert_str_eq(str_field(src, "executable"), "/usr/bin/python3.11");
  ck_assert_str_eq(str_field(src, "python_version"), "3.11.2");
}
END_TEST

START_TEST(test_executable_null)
{
  snap.executable = NULL;
  ck_assert(
      json_is_null(field(field(write_and_parse(), "source"), "executable")));
}
END_TEST

START_TEST(test_taken_at)
{
  /* Whole seconds, UTC, never rounded up from the nanoseconds. */
  ck_assert_str_eq(str_field(write_and_parse(), "taken_at"),
                   "2026-11-21T15:20:56.999Z");
  snap.taken_at = (struct timespec){ 0, 0 };
  ck_assert_str_eq(str_field(write_and_parse(), "taken_at"),
                   "1970-01-01T00:00:00.000Z");
  snap.taken_at = (struct timespec){ 951782400, 0 }; /* a leap day */
  ck_assert_str_eq(str_field(write_and_parse(), "taken_at"),
                   "2000-02-29T00:00:00.000Z");
}
END_TEST

START_TEST(test_taken_at_ignores_tz)
{
  setenv("TZ", "America/New_York", 1);
  tzset();
  ck_assert_str_eq(str_field(write_and_parse(), "taken_at"),
                   "2026-11-21T15:20:56.999Z");
}
END_TEST

START_TEST(test_pause_seconds)
{
  json_t *v = field(write_and_parse(), "pause_seconds");

  ck_assert(json_is_number(v));
  ck_assert_double_eq_tol(json_number_value(v), 0.0032138, 1e-9);

  snap.pause_seconds = 8.5e-05;
  v = field(write_and_parse(), "pause_seconds");
  ck_assert(json_is_number(v));
  ck_assert_double_eq_tol(json_number_value(v), 8.5e-05, 1e-12);

  /* Paused for no measurable time is still a number. */
  snap.pause_seconds = 0;
  v = field(write_and_parse(), "pause_seconds");
  ck_assert(json_is_number(v));
  ck_assert_double_eq(json_number_value(v), 0);
}
END_TEST

START_TEST(test_pause_seconds_null)
{
  snap.pause_seconds = -1;
  ck_assert(json_is_null(field(write_and_parse(), "pause_seconds")));
}
END_TEST

START_TEST(test_scope_and_partial)
{
  json_t *d = write_and_parse();

  ck_assert_str_eq(str_field(d, "scope"), "gc-tracked");
  ck_assert(json_is_false(field(d, "partial")));
  ck_assert_int_eq(int_field(d, "skipped_objects"), 0);
}
END_TEST

START_TEST(test_partial_skipped)
{
  json_t *d;

  census.skipped = 7;
  d = write_and_parse();
  census.skipped = 0;
  ck_assert(json_is_true(field(d, "partial")));
  ck_assert_int_eq(int_field(d, "skipped_objects"), 7);
}
END_TEST

START_TEST(test_partial_broken_list)
{
  json_t *d;

  /* Partial with nothing skipped: a list was cut short. */
  census.broken_lists = 1;
  d = write_and_parse();
  census.broken_lists = 0;
  ck_assert(json_is_true(field(d, "partial")));
  ck_assert_int_eq(int_field(d, "skipped_objects"), 0);
}
END_TEST

START_TEST(test_objects)
{
  json_t *o = field(write_and_parse(), "objects");

  ck_assert(json_is_object(o));
  ck_assert_int_eq(int_field(o, "count"), 4785);
  ck_assert_int_eq(int_field(o, "size"), 728248);
}
END_TEST

START_TEST(test_kinds)
{
  json_t *k = field(write_and_parse(), "kinds");

  ck_assert(json_is_array(k));
  ck_assert_uint_eq(json_array_size(k), 3);
  for (size_t i = 0; i < 3; i++) {
    json_t *e = json_array_get(k, i);
    ck_assert(json_is_object(e));
    ck_assert_str_eq(str_field(e, "kind"), kinds[i].name);
    ck_assert_int_eq(int_field(e, "count"), (json_int_t)kinds[i].count);
    ck_assert_int_eq(int_field(e, "size"), (json_int_t)kinds[i].size);
  }
}
END_TEST

START_TEST(test_unreachable)
{
  /* Always written, per kind and in total; loaded back, absent as 0. */
  struct pm_kind k[] = { { "a", 9, 900, 2, 200 }, { "b", 1, 1, 0, 0 } };
  struct pm_census c = { .kinds = k,
                         .nkinds = 2,
                         .count = 10,
                         .size = 901,
                         .unreachable_count = 2,
                         .unreachable_size = 200 };
  struct pm_snapshot_doc *d;
  const char *why = NULL;
  char path[] = "/tmp/pmpeek-test-snapshot-XXXXXX";
  json_t *o, *e;
  FILE *f;
  int fd;

  snap.census = &c;
  o = field(write_and_parse(), "objects");
  ck_assert_int_eq(int_field(o, "unreachable_count"), 2);
  ck_assert_int_eq(int_field(o, "unreachable_size"), 200);
  e = json_array_get(field(doc, "kinds"), 1);
  ck_assert_int_eq(int_field(e, "unreachable_count"), 0);
  ck_assert_int_eq(int_field(e, "unreachable_size"), 0);
  fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  ck_assert_ptr_nonnull(f = fdopen(fd, "w"));
  ck_assert_int_eq(pm_snapshot_write_json(&snap, f), 0);
  ck_assert_int_eq(fclose(f), 0);
  ck_assert_int_eq(pm_snapshot_load(path, &d, &why), 0);
  ck_assert_uint_eq(d->census.unreachable_count, 2);
  ck_assert_uint_eq(d->census.kinds[0].unreachable_count, 2);
  ck_assert_uint_eq(d->census.kinds[0].unreachable_size, 200);
  pm_snapshot_doc_free(d);
  /* An older snapshot without the fields: zeros. */
  json_object_del(field(doc, "objects"), "unreachable_count");
  json_object_del(json_array_get(field(doc, "kinds"), 0), "unreachable_count");
  json_object_del(json_array_get(field(doc, "kinds"), 0), "unreachable_size");
  ck_assert_int_eq(json_dump_file(doc, path, 0), 0);
  ck_assert_int_eq(pm_snapshot_load(path, &d, &why), 0);
  ck_assert_uint_eq(d->census.unreachable_count, 0);
  ck_assert_uint_eq(d->census.kinds[0].unreachable_count, 0);
  ck_assert_uint_eq(d->census.kinds[0].count, 9);
  pm_snapshot_doc_free(d);
  /* More unreachable than there are: refused. */
  json_object_set_new(json_array_get(field(doc, "kinds"), 1),
                      "unreachable_count", json_integer(5));
  ck_assert_int_eq(json_dump_file(doc, path, 0), 0);
  ck_assert_int_eq(pm_snapshot_load(path, &d, &why), PM_EFORMAT);
  unlink(path);
}
END_TEST

START_TEST(test_kinds_order_kept)
{
  /* The writer keeps the census's order, sorted or not. */
  struct pm_kind k[]
      = { { "b", 1, 1, 0, 0 }, { "a", 9, 900, 0, 0 }, { "c", 5, 50, 0, 0 } };
  struct pm_census c = { .kinds = k, .nkinds = 3, .count = 15, .size = 951 };
  json_t *arr;

  snap.census = &c;
  arr = field(write_and_parse(), "kinds");
  ck_assert_uint_eq(json_array_size(arr), 3);
  ck_assert_str_eq(str_field(json_array_get(arr, 0), "kind"), "b");
  ck_assert_str_eq(str_field(json_array_get(arr, 1), "kind"), "a");
  ck_assert_str_eq(str_field(json_array_get(arr, 2), "kind"), "c");
}
END_TEST

START_TEST(test_kind_names_escaped)
{
  struct pm_kind k[] = {
    { "caf\xc3\xa9.Men\xc3\xbc", 1, 10, 0, 0 }, /* café.Menü */
    { "emoji.\xf0\x9f\x98\x80", 2, 20, 0, 0 },  /* U+1F600 */
    { "q.\"quoted\" \\back\\slash", 3, 30, 0, 0 },
    { "ctl.tab\there", 4, 40, 0, 0 },
  };
  struct pm_census c = { .kinds = k, .nkinds = 4, .count = 10, .size = 100 };
  json_t *arr;

  snap.census = &c;
  arr = field(write_and_parse(), "kinds");
  ck_assert_uint_eq(json_array_size(arr), 4);
  for (size_t i = 0; i < 4; i++)
    ck_assert_str_eq(str_field(json_array_get(arr, i), "kind"), k[i].name);
  /* Escaped in the text, as JSON requires. */
  ck_assert_ptr_nonnull(strstr(text, "\"q.\\\"quoted\\\" \\\\back\\\\slash\""));
  ck_assert_ptr_nonnull(strstr(text, "\"ctl.tab\\there\""));
  ck_assert_ptr_null(strchr(text, '\t'));
}
END_TEST

START_TEST(test_text_not_utf8)
{
  /*
   * Text from the target or the file system need not be UTF-8, which JSON
   * cannot hold: written, with each stray byte as \xNN.
   */
  struct pm_kind k[] = {
    { "m.w\x8d"
      "apper",
      1, 10, 0, 0 },
    { "cut\xc3", 2, 20, 0, 0 },
    { "surrogate\xed\xb2\x80.ok\xc3\xa9", 3, 30, 0, 0 },
  };
  struct pm_census c = { .kinds = k, .nkinds = 3, .count = 6, .size = 60 };
  json_t *arr;

  snap.census = &c;
  snap.executable = "/opt/py\xff/bin/python";
  arr = field(write_and_parse(), "kinds");
  ck_assert_uint_eq(json_array_size(arr), 3);
  ck_assert_str_eq(str_field(json_array_get(arr, 0), "kind"), "m.w\\x8dapper");
  ck_assert_str_eq(str_field(json_array_get(arr, 1), "kind"), "cut\\xc3");
  ck_assert_str_eq(str_field(json_array_get(arr, 2), "kind"),
                   "surrogate\\xed\\xb2\\x80.ok\xc3\xa9");
  ck_assert_str_eq(str_field(field(doc, "source"), "executable"),
                   "/opt/py\\xff/bin/python");
}
END_TEST

START_TEST(test_openmetrics_labels)
{
  /* Label values are UTF-8 too: a stray byte is the text \xNN. */
  struct pm_kind k[] = { { "caf\xc3\xa9.\"q\"", 1, 10, 0, 0 } };
  struct pm_census c = { .kinds = k, .nkinds = 1, .count = 1, .size = 10 };
  FILE *f;

  snap.census = &c;
  snap.executable = "/opt/py\xff/bin";
  free(text);
  f = open_memstream(&text, &textlen);
  ck_assert_ptr_nonnull(f);
  ck_assert_int_eq(pm_snapshot_write_openmetrics(&snap, f), 0);
  ck_assert_int_eq(fclose(f), 0);
  ck_assert_ptr_nonnull(
      strstr(text, "pmpeek_objects{pid=\"18672\",executable=\"/opt/py"
                   "\\\\xff/bin\",kind=\"caf\xc3\xa9.\\\"q\\\"\"} 1\n"));
  ck_assert_ptr_null(strchr(text, '\xff'));
}
END_TEST

START_TEST(test_empty_census)
{
  struct pm_census c;
  json_t *d;

  pm_census_init(&c);
  snap.census = &c;
  d = write_and_parse();
  ck_assert_uint_eq(json_array_size(field(d, "kinds")), 0);
  ck_assert(json_is_array(field(d, "kinds")));
  ck_assert_int_eq(int_field(field(d, "objects"), "count"), 0);
  ck_assert_int_eq(int_field(field(d, "objects"), "size"), 0);
  ck_assert(json_is_false(field(d, "partial")));
}
END_TEST

START_TEST(test_big_numbers)
{
  struct pm_kind k[] = { { "bytes", 1, UINT64_C(1) << 40, 0, 0 } };
  struct pm_census c
      = { .kinds = k, .nkinds = 1, .count = 1, .size = UINT64_C(1) << 40 };

  snap.census = &c;
  snap.pid = 4194304; /* pid_max on 64-bit */
  ck_assert_int_eq(int_field(field(write_and_parse(), "objects"), "size"),
                   (json_int_t)1 << 40);
  ck_assert_int_eq(int_field(field(doc, "source"), "pid"), 4194304);
}
END_TEST

START_TEST(test_write_error)
{
  FILE *f = fopen("/dev/null", "r");
  int err;

  ck_assert_ptr_nonnull(f);
  /* The write's own reason (glibc's: not open for writing), else -EIO. */
  err = pm_snapshot_write_json(&snap, f);
  ck_assert_msg(err == -EBADF || err == -EIO, "got %d", err);
  fclose(f);
}
END_TEST

static Suite *
snapshot_suite(void)
{
  Suite *s = suite_create("snapshot");
  TCase *tc = tcase_create("json");

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_format);
  tcase_add_test(tc, test_source);
  tcase_add_test(tc, test_executable_null);
  tcase_add_test(tc, test_taken_at);
  tcase_add_test(tc, test_taken_at_ignores_tz);
  tcase_add_test(tc, test_pause_seconds);
  tcase_add_test(tc, test_pause_seconds_null);
  tcase_add_test(tc, test_scope_and_partial);
  tcase_add_test(tc, test_partial_skipped);
  tcase_add_test(tc, test_partial_broken_list);
  tcase_add_test(tc, test_objects);
  tcase_add_test(tc, test_kinds);
  tcase_add_test(tc, test_unreachable);
  tcase_add_test(tc, test_kinds_order_kept);
  tcase_add_test(tc, test_kind_names_escaped);
  tcase_add_test(tc, test_text_not_utf8);
  tcase_add_test(tc, test_openmetrics_labels);
  tcase_add_test(tc, test_empty_census);
  tcase_add_test(tc, test_big_numbers);
  tcase_add_test(tc, test_write_error);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  SRunner *sr = srunner_create(snapshot_suite());
  int failed;

  srunner_set_tap(sr, "-");
  srunner_run_all(sr, CK_SILENT);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
