/* SPDX-License-Identifier: MIT */
/* test-layout.c -- the compiled-in layouts and pm__layout_find() */
#include <config.h>

#include <check.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpython/layout.h"

#define V(maj, min, mic) ((uint32_t)((maj) << 16 | (min) << 8 | (mic)))

/* Every field of struct pm_layout, by name, from the same list. */
struct field {
  const char *name;
  size_t off;
};

static const struct field fields[] = {
#define PM_FIELD(name, type, path) { #name, offsetof(struct pm_layout, name) },
#include "cpython/layout-fields.def"
#undef PM_FIELD
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

/*
 * The struct a field belongs to, by its name's prefix; its size is the
 * field called <prefix>size.  A new struct in layout-fields.def must be
 * added here (test_prefixes fails until it is).
 */
static const char *const prefixes[] = {
  "runtime_",
  "interp_",
  "thread_",
  "gc_state_",
  "gc_generation_",
  "gc_head_",
  "object_",
  "varobject_",
  "type_",
  "heaptype_",
  "dict_",
  "dictkeys_",
  "dictkeyentry_",
  "dictunicodeentry_",
  "list_",
  "tuple_",
  "set_",
  "setentry_",
  "ascii_",
  "compact_",
  "unicode_",
  "bytes_",
  "bytearray_",
  "long_",
  "float_",
  "pool_header_",
  "arena_object_",
  "obmalloc_",
  /* census (issue #3) */
  "member_",
  "dictvalues_",
  "cframe_",
  "iframe_",
  "frame_",
  "code_",
  "cocached_",
  "func_",
  "cell_",
  "cfunc_",
  "exc_",
  "gen_",
  "deque_",
  "odict_",
  "odictnode_",
  "buffered_",
  "bytesio_",
  "structobj_",
  "formatcode_",
  "array_",
  "arraydescr_",
  "future_",
  "task_",
  "textio_",
  "unicodeiter_",
  "tupleiter_",
  "reversed_",
  "enum_",
  "calliter_",
  "asend_",
  "athrow_",
  "anext_",
  "mappingproxy_",
  "dictview_",
  "dictiter_",
  "count_",
  "ziplongest_",
  "unpackiter_",
  "simplequeue_",
  "sqliterow_",
  "treebuilder_",
  "bytesiter_",
  "repeat_",
  "itemgetter_",
  "element_",
  "elemextra_",
  "decimal_",
  "lru_",
  "lruelem_",
  "opcache_",
  "statictype_",
  "memoryview_",
  "mbuf_",
  "context_",
  "contextvar_",
  "token_",
  "hamt_",
  "hamtbitmap_",
  "hamtarray_",
  "hamtcoll_",
  /* thread stacks (issue #10) */
  "gil_",
};
#define NPREFIXES (sizeof(prefixes) / sizeof(prefixes[0]))

/*
 * Flexible array members: their offset is the struct's size.
 * PyDictKeysObject.dk_indices is `char dk_indices[]` (3.8-3.13).
 */
static const char *const flexible[] = { "dictkeys_indices" };

static int64_t
value(const struct pm_layout *l, const char *name)
{
  for (size_t i = 0; i < NFIELDS; i++)
    if (strcmp(fields[i].name, name) == 0)
      return *(const int64_t *)((const char *)l + fields[i].off);
  ck_abort_msg("no field '%s'", name);
  return -1;
}

static const char *
prefix_of(const char *name)
{
  const char *found = NULL;

  for (size_t i = 0; i < NPREFIXES; i++)
    if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0) {
      ck_assert_msg(!found, "'%s' matches '%s' and '%s'", name, found,
                    prefixes[i]);
      found = prefixes[i];
    }
  return found;
}

static int
is_flexible(const char *name)
{
  for (size_t i = 0; i < sizeof(flexible) / sizeof(flexible[0]); i++)
    if (strcmp(name, flexible[i]) == 0)
      return 1;
  return 0;
}

START_TEST(test_have_layouts)
{
  ck_assert_uint_gt(pm__nlayouts, 0);
  /* pmpeek(1): every 3.11.x release, default and debug builds. */
  ck_assert_ptr_nonnull(pm__layout_find(V(3, 11, 0), PM_BUILD_DEFAULT));
  ck_assert_ptr_nonnull(pm__layout_find(V(3, 11, 0), PM_BUILD_DEBUG));
}
END_TEST

START_TEST(test_prefixes)
{
  for (size_t i = 0; i < NFIELDS; i++) {
    const char *p = prefix_of(fields[i].name);
    char size[64];

    ck_assert_msg(p != NULL, "field '%s' belongs to no known struct",
                  fields[i].name);
    snprintf(size, sizeof(size), "%ssize", p);
    value(&pm__layouts[0], size); /* exists */
  }
}
END_TEST

START_TEST(test_header)
{
  const struct pm_layout *l = &pm__layouts[_i];
  size_t n;

  ck_assert_ptr_nonnull(l->file);
  n = strlen(l->file);
  ck_assert_msg(n > 8 && strcmp(l->file + n - 8, ".offsets") == 0, "'%s'",
                l->file);
  ck_assert_uint_le(l->version_lo, l->version_hi);
  ck_assert_uint_ge(l->version_lo, V(3, 0, 0));
  ck_assert(l->build == PM_BUILD_DEFAULT || l->build == PM_BUILD_DEBUG);
}
END_TEST

START_TEST(test_sizes)
{
  const struct pm_layout *l = &pm__layouts[_i];

  for (size_t i = 0; i < NFIELDS; i++) {
    const char *name = fields[i].name, *p = prefix_of(name);
    char size_name[64];
    int64_t v = value(l, name), size;

    snprintf(size_name, sizeof(size_name), "%ssize", p);
    size = value(l, size_name);
    if (strcmp(name, size_name) == 0) {
      /* -1: the struct does not exist in these versions. */
      ck_assert_msg(v > 0 || v == -1, "%s: %s = %lld", l->file, name,
                    (long long)v);
      continue;
    }
    if (v == -1)
      continue;
    ck_assert_msg(size > 0, "%s: %s = %lld, but %s is absent", l->file, name,
                  (long long)v, size_name);
    ck_assert_msg(v >= 0, "%s: %s = %lld", l->file, name, (long long)v);
    if (is_flexible(name))
      ck_assert_msg(v <= size, "%s: %s = %lld, %s = %lld", l->file, name,
                    (long long)v, size_name, (long long)size);
    else
      ck_assert_msg(v < size, "%s: %s = %lld, %s = %lld", l->file, name,
                    (long long)v, size_name, (long long)size);
  }
}
END_TEST

START_TEST(test_nesting)
{
  const struct pm_layout *l = &pm__layouts[_i];

  /* Structs embedded in others fit inside them. */
  if (l->interp_gc >= 0)
    ck_assert_int_le(l->interp_gc + l->gc_state_size, l->interp_size);
  if (l->runtime_main_interpreter >= 0)
    ck_assert_int_le(l->runtime_main_interpreter + l->interp_size,
                     l->runtime_size);
  if (l->gc_state_generations >= 0)
    ck_assert_int_le(l->gc_state_generations + l->gc_generation_size,
                     l->gc_state_size);
  /* PySet_MINSIZE (8) entries of smalltable. */
  ck_assert_int_le(l->set_smalltable + 8 * l->setentry_size, l->set_size);
  /* A PyVarObject is a PyObject and ob_size. */
  ck_assert_int_eq(l->varobject_size, l->object_size + 8);
  ck_assert_int_le(l->type_size, l->heaptype_size);
  ck_assert_int_le(l->ascii_size, l->compact_size);
  ck_assert_int_le(l->compact_size, l->unicode_size);
}
END_TEST

START_TEST(test_no_overlap)
{
  for (size_t i = 0; i < pm__nlayouts; i++)
    for (size_t j = 0; j < i; j++) {
      const struct pm_layout *a = &pm__layouts[i], *b = &pm__layouts[j];
      if (a->build != b->build)
        continue;
      ck_assert_msg(a->version_hi < b->version_lo
                        || b->version_hi < a->version_lo,
                    "%s and %s overlap", a->file, b->file);
    }
}
END_TEST

START_TEST(test_find_edges)
{
  const struct pm_layout *l = &pm__layouts[_i];
  const struct pm_layout *below, *above;

  ck_assert_ptr_eq(pm__layout_find(l->version_lo, l->build), l);
  ck_assert_ptr_eq(pm__layout_find(l->version_hi, l->build), l);
  ck_assert_ptr_eq(
      pm__layout_find(l->version_lo + (l->version_hi - l->version_lo) / 2,
                      l->build),
      l);
  /* Just outside: nothing, or another layout that really covers it. */
  below = pm__layout_find(l->version_lo - 1, l->build);
  if (below)
    ck_assert(below != l && below->version_lo <= l->version_lo - 1
              && l->version_lo - 1 <= below->version_hi);
  above = pm__layout_find(l->version_hi + 1, l->build);
  if (above)
    ck_assert(above != l && above->version_lo <= l->version_hi + 1
              && l->version_hi + 1 <= above->version_hi);
}
END_TEST

START_TEST(test_find_known)
{
  const struct pm_layout *l;

  l = pm__layout_find(V(3, 11, 0), PM_BUILD_DEFAULT);
  ck_assert_str_eq(l->file, "3.11.offsets");
  ck_assert_ptr_eq(pm__layout_find(V(3, 11, 7), PM_BUILD_DEFAULT), l);
  ck_assert_ptr_eq(pm__layout_find(V(3, 11, 99), PM_BUILD_DEFAULT), l);
  l = pm__layout_find(V(3, 11, 7), PM_BUILD_DEBUG);
  ck_assert_str_eq(l->file, "3.11-debug.offsets");
  ck_assert_int_eq(l->build, PM_BUILD_DEBUG);
}
END_TEST

START_TEST(test_find_outside)
{
  static const uint32_t none[] = {
    V(3, 7, 0), V(3, 7, 99), V(3, 15, 0), V(2, 7, 18), V(4, 0, 0), 0,
  };

  for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
    ck_assert_ptr_null(pm__layout_find(none[i], PM_BUILD_DEFAULT));
    ck_assert_ptr_null(pm__layout_find(none[i], PM_BUILD_DEBUG));
  }
  ck_assert_ptr_null(pm__layout_find(V(3, 11, 0), (enum pm_build)7));
}
END_TEST

START_TEST(test_find_debug_without_file)
{
  /* A default layout with no debug layout beside it: debug is refused. */
  for (size_t i = 0; i < pm__nlayouts; i++) {
    const struct pm_layout *l = &pm__layouts[i];
    int has_debug = 0;

    if (l->build != PM_BUILD_DEFAULT)
      continue;
    for (size_t j = 0; j < pm__nlayouts; j++)
      has_debug |= pm__layouts[j].build == PM_BUILD_DEBUG
                   && pm__layouts[j].version_lo <= l->version_lo
                   && l->version_lo <= pm__layouts[j].version_hi;
    if (has_debug)
      continue;
    ck_assert_msg(pm__layout_find(l->version_lo, PM_BUILD_DEBUG) == NULL,
                  "%s: a debug build gets a layout", l->file);
  }
}
END_TEST

static Suite *
layout_suite(void)
{
  Suite *s = suite_create("layout");
  TCase *tc;

  tc = tcase_create("table");
  tcase_add_test(tc, test_have_layouts);
  tcase_add_test(tc, test_prefixes);
  tcase_add_loop_test(tc, test_header, 0, (int)pm__nlayouts);
  tcase_add_loop_test(tc, test_sizes, 0, (int)pm__nlayouts);
  tcase_add_loop_test(tc, test_nesting, 0, (int)pm__nlayouts);
  tcase_add_test(tc, test_no_overlap);
  suite_add_tcase(s, tc);

  tc = tcase_create("find");
  tcase_add_loop_test(tc, test_find_edges, 0, (int)pm__nlayouts);
  tcase_add_test(tc, test_find_known);
  tcase_add_test(tc, test_find_outside);
  tcase_add_test(tc, test_find_debug_without_file);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  SRunner *sr = srunner_create(layout_suite());
  int failed;

  srunner_set_tap(sr, "-");
  srunner_run_all(sr, CK_SILENT);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
