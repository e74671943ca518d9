/* SPDX-License-Identifier: MIT */
/* test-referents.c -- the referents of containers on a fake 3.11 heap */
#include <config.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpython/referents.h"
#include "fake-target.h"

/*
 * A CPython 3.11 heap laid out by hand with the offsets of the 3.11
 * layout, as in test-object.c; only what the walkers read is filled in.
 */
#define HEAP 0x20000000ull
#define HEAP_LEN 0x100000ull

static const char maps_text[]
    = "20000000-20100000 rw-p 00000000 00:00 0      [heap]\n";

#define F_MANAGED_DICT (1ull << 4)
#define F_HEAPTYPE (1ull << 9)
#define F_HAVE_GC (1ull << 14)

static struct fake_target f;
static struct pm_python py;
static const struct pm_layout *L;
static pm_addr_t TYPE, OBJECT, TUPLE, LIST, DICT, SET, CODE;

/* What a walk visited. */
static pm_addr_t seen[256];
static size_t nseen;

static int
collect(void *arg, pm_addr_t ref)
{
  (void)arg;
  ck_assert_uint_lt(nseen, sizeof(seen) / sizeof(seen[0]));
  seen[nseen++] = ref;
  return 0;
}

static int
visited(pm_addr_t a)
{
  for (size_t i = 0; i < nseen; i++)
    if (seen[i] == a)
      return 1;
  return 0;
}

/* A compact ASCII str (of no type: the walks here only read its text). */
static pm_addr_t
ascii(const char *s)
{
  return fake_ascii(&f, L, 0, s);
}

/* The tests write behind the read cache; a pause drops it. */
static void
flush(void)
{
  ck_assert_int_eq(pm_target_pause(py.t), 0);
  ck_assert_int_eq(pm_target_resume(py.t), 0);
}

static pm_addr_t
new_type(const char *name, uint64_t flags, int64_t basicsize, pm_addr_t base)
{
  pm_addr_t t = fake_object(&f, L, TYPE, (size_t)L->heaptype_size, 16);

  if (flags & F_HEAPTYPE)
    fake_put(&f, t, L->heaptype_qualname, ascii(name));
  fake_type_fields(&f, L, t, name, flags, basicsize, 0, base);
  return t;
}

/* A keys object of 8 slots, unicode kind, holding n {key, value} entries. */
static pm_addr_t
keys8(size_t n, const pm_addr_t *k, const pm_addr_t *v)
{
  pm_addr_t keys = fake_alloc(&f, (size_t)L->dictkeys_size + 8 + 5 * 16, 0);
  pm_addr_t entries = keys + (pm_addr_t)L->dictkeys_indices + 8;

  fake_put(&f, keys, L->dictkeys_refcnt, 1);
  fake_put_u8(&f, keys + (pm_addr_t)L->dictkeys_log2_size, 3);
  fake_put_u8(&f, keys + (pm_addr_t)L->dictkeys_log2_index_bytes, 3);
  fake_put_u8(&f, keys + (pm_addr_t)L->dictkeys_kind, 1);
  fake_put(&f, keys, L->dictkeys_usable, 5 - n);
  fake_put(&f, keys, L->dictkeys_nentries, n);
  for (size_t i = 0; i < n; i++) {
    fake_put(&f, entries + 16 * i, 0, k[i]);
    fake_put(&f, entries + 16 * i, 8, v ? v[i] : 0);
  }
  return keys;
}

static struct pm_type_info
info(pm_addr_t type)
{
  struct pm_type_info ti;

  flush();
  ck_assert_int_eq(pm__type_read(&py, type, &ti), 0);
  return ti;
}

/* Walks obj as an instance of type; *dict gets its own __dict__. */
static void
walk(pm_addr_t type, pm_addr_t obj, pm_addr_t *dict)
{
  struct pm_type_info ti = info(type);
  uint32_t members[16];
  size_t n;

  ck_assert_int_eq(pm__type_members(&py, type, members, 16, &n), 0);
  ck_assert_uint_le(n, 16);
  nseen = 0;
  ck_assert_int_eq(
      pm__referents(&py, obj, &ti, members, n, collect, NULL, dict), 0);
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

  TYPE = fake_alloc(&f, (size_t)L->heaptype_size, 16);
  fake_put(&f, TYPE, L->object_refcnt, 1);
  fake_put(&f, TYPE, L->object_type, TYPE);
  OBJECT = new_type("object", 0x81500, 16, 0);
  /* type: its namespace at tp_dictoffset 264 (offsetof tp_dict). */
  fake_put(&f, TYPE, L->type_name, fake_cstring(&f, "type"));
  fake_put(&f, TYPE, L->type_flags, 0x80085d00);
  fake_put(&f, TYPE, L->type_basicsize, 904);
  fake_put(&f, TYPE, L->type_base, OBJECT);
  fake_put(&f, TYPE, L->type_dictoffset, (uint64_t)L->type_dict);
  TUPLE = new_type("tuple", 0x4485520, 24, OBJECT);
  LIST = new_type("list", 0x2485520, 40, OBJECT);
  DICT = new_type("dict", 0x20485540, 48, OBJECT);
  SET = new_type("set", 0x485500, 200, OBJECT);
  CODE = new_type("code", 0x81100, 184, OBJECT);
  py.types[PM_T_TYPE] = TYPE;
  py.types[PM_T_OBJECT] = OBJECT;
  py.types[PM_T_TUPLE] = TUPLE;
  py.types[PM_T_LIST] = LIST;
  py.types[PM_T_DICT] = DICT;
  py.types[PM_T_SET] = SET;
  py.types[PM_T_CODE] = CODE;
}

static void
teardown(void)
{
  pm_target_free(py.t);
  fake_release(&f);
}

START_TEST(test_tuple_list)
{
  pm_addr_t t = fake_object(&f, L, TUPLE, 24 + 3 * 8, 16),
            l = fake_object(&f, L, LIST, 40, 16);
  pm_addr_t items = fake_alloc(&f, 4 * 8, 0), d;

  fake_put(&f, t, L->varobject_ob_size, 3);
  fake_put(&f, t, L->tuple_item, 0x1000);
  fake_put(&f, t, L->tuple_item + 8, 0x2000);
  fake_put(&f, t, L->tuple_item + 16, 0x3000);
  walk(TUPLE, t, &d);
  ck_assert_uint_eq(nseen, 3);
  ck_assert(visited(0x1000) && visited(0x2000) && visited(0x3000));
  ck_assert_uint_eq(d, 0);
  /* A list visits its ob_size items, not its allocated slots. */
  fake_put(&f, l, L->varobject_ob_size, 2);
  fake_put(&f, l, L->list_allocated, 4);
  fake_put(&f, l, L->list_item, items);
  fake_put(&f, items, 0, 0x4000);
  fake_put(&f, items, 8, 0x5000);
  fake_put(&f, items, 16, 0x6000); /* stale, beyond ob_size */
  walk(LIST, l, &d);
  ck_assert_uint_eq(nseen, 2);
  ck_assert(visited(0x4000) && visited(0x5000) && !visited(0x6000));
  /* Garbage sizes give nothing, never a crash. */
  fake_put(&f, l, L->varobject_ob_size, 9);
  walk(LIST, l, &d);
  ck_assert_uint_eq(nseen, 0);
  fake_put(&f, t, L->varobject_ob_size, (uint64_t)-3);
  walk(TUPLE, t, &d);
  ck_assert_uint_eq(nseen, 0);
}
END_TEST

START_TEST(test_dict)
{
  pm_addr_t k[] = { 0x1000, 0, 0x3000 }, v[] = { 0x1100, 0, 0x3300 };
  pm_addr_t d = fake_object(&f, L, DICT, 48, 16), own,
            values = fake_alloc(&f, 8 * 8, 0);

  /* A deleted entry (NULL key and value) in the middle. */
  fake_put(&f, d, L->dict_keys, keys8(3, k, v));
  walk(DICT, d, &own);
  ck_assert_uint_eq(nseen, 4);
  ck_assert(visited(0x1000) && visited(0x1100));
  ck_assert(visited(0x3000) && visited(0x3300));
  ck_assert_uint_eq(own, 0);
  /* Split: the keys are shared, the values beside the dict. */
  fake_put(&f, d, L->dict_keys, keys8(3, k, NULL));
  fake_put(&f, d, L->dict_values, values);
  fake_put(&f, values, 0, 0x1200);
  fake_put(&f, values, 16, 0x3400);
  walk(DICT, d, &own);
  ck_assert_uint_eq(nseen, 4);
  ck_assert(visited(0x1000) && visited(0x1200));
  ck_assert(visited(0x3000) && visited(0x3400));
}
END_TEST

START_TEST(test_set)
{
  pm_addr_t s = fake_object(&f, L, SET, 200, 16), own;
  pm_addr_t table = s + (pm_addr_t)L->set_smalltable;

  fake_put(&f, s, L->set_mask, 7);
  fake_put(&f, s, L->set_table, table);
  fake_put(&f, table, 0, 0x1000); /* {key, hash} */
  fake_put(&f, table, 8, 42);
  fake_put(&f, table, 16, 0x2000); /* a deleted entry keeps the dummy key */
  fake_put(&f, table, 24, (uint64_t)-1);
  fake_put(&f, table, 48, 0x3000);
  fake_put(&f, table, 56, 7);
  walk(SET, s, &own);
  ck_assert_uint_eq(nseen, 2);
  ck_assert(visited(0x1000) && visited(0x3000) && !visited(0x2000));
}
END_TEST

START_TEST(test_slots_and_dictoffset)
{
  /* class S: __slots__ = ('a', 'b'): two T_OBJECT_EX members. */
  pm_addr_t members = fake_alloc(&f, 3 * (size_t)L->member_size, 0);
  pm_addr_t s = new_type("S", 0x5600 | F_HEAPTYPE, 32, OBJECT);
  pm_addr_t o = fake_object(&f, L, s, 32, 16), own;

  for (int i = 0; i < 2; i++) {
    pm_addr_t m = members + (pm_addr_t)(i * L->member_size);
    fake_put(&f, m, 0, fake_cstring(&f, i ? "b" : "a"));
    fake_put_u32(&f, m + (pm_addr_t)L->member_type, 16);
    fake_put(&f, m, L->member_offset, 16 + 8 * (uint64_t)i);
  }
  fake_put(&f, s, L->type_members, members);
  fake_put(&f, o, 16, 0x1000);
  fake_put(&f, o, 24, 0x2000);
  walk(s, o, &own);
  ck_assert(visited(0x1000) && visited(0x2000));
  ck_assert_uint_eq(own, 0);
  /* A __dict__ at tp_dictoffset (3.8-3.10 classes, C types). */
  fake_put(&f, s, L->type_dictoffset, 24);
  walk(s, o, &own);
  ck_assert_uint_eq(own, 0x2000);
  /* A member that would lie outside the object is not believed. */
  fake_put(&f, members, L->member_offset, 4096);
  walk(s, o, &own);
  ck_assert(!visited(0x1000));
}
END_TEST

START_TEST(test_managed_dict)
{
  /*
   * 3.11: class C: def __init__(s): s.x = 1; s.y = 2 -- the values array
   * is at obj - 32, the dict pointer at obj - 24; the class's cached
   * keys say how many values there are.
   */
  pm_addr_t k[] = { 0x1000, 0x2000 };
  pm_addr_t c = new_type("C", 0x5610 | F_HEAPTYPE | F_MANAGED_DICT, 16, OBJECT);
  pm_addr_t o = fake_object(&f, L, c, 16, 32),
            values = fake_alloc(&f, 3 * 8, 0), own;
  pm_addr_t d = fake_object(&f, L, DICT, 48, 16);

  fake_put(&f, c, L->heaptype_cached_keys, keys8(2, k, NULL));
  fake_put(&f, values, 0, 0x1100);
  fake_put(&f, values, 8, 0x2200);
  fake_put(&f, o - 32, 0, values);
  walk(c, o, &own);
  ck_assert(visited(0x1100) && visited(0x2200));
  ck_assert_uint_eq(own, 0); /* values inline: no dict, no "dict of C" */
  /* After obj.__dict__: a dict, no values. */
  fake_put(&f, o - 32, 0, 0);
  fake_put(&f, o - 24, 0, d);
  walk(c, o, &own);
  ck_assert_uint_eq(own, d);
  ck_assert(visited(d) && !visited(0x1100));
}
END_TEST

START_TEST(test_type)
{
  /* A class: its namespace (owned), bases, mro, name and qualname. */
  pm_addr_t c = new_type("C", 0x5610 | F_HEAPTYPE, 16, OBJECT), own;

  fake_put(&f, c, L->type_dict, 0x1000);
  fake_put(&f, c, L->type_bases, 0x2000);
  fake_put(&f, c, L->type_mro, 0x3000);
  fake_put(&f, c, L->heaptype_name, 0x4000);
  fake_put(&f, c, L->heaptype_qualname, 0x5000);
  walk(TYPE, c, &own);
  ck_assert_uint_eq(own, 0x1000);
  ck_assert(visited(0x1000) && visited(0x2000) && visited(0x3000));
  ck_assert(visited(0x4000) && visited(0x5000) && visited(OBJECT));
}
END_TEST

/*
 * What an ElementTree's element, an lru_cache and a text file hold in C
 * fields: text and tail are tagged pointers, children an array; the
 * cache's links hold its results.
 */
START_TEST(test_elements_and_lru)
{
  pm_addr_t elem = new_type("xml.etree.ElementTree.Element", 0x5400,
                            L->element_size, OBJECT);
  pm_addr_t lru
      = new_type("functools._lru_cache_wrapper", 0x4400, L->lru_size, OBJECT);
  pm_addr_t link
      = new_type("functools._lru_list_elem", 0x400, L->lruelem_size, OBJECT);
  /* A name alone is only a claim. */
  pm_addr_t fake_link = new_type("functools._lru_list_elem", 0x400,
                                 L->lruelem_size + 8, OBJECT);
  pm_addr_t textio
      = new_type("_io.TextIOWrapper", 0x4400, L->textio_size, OBJECT);
  pm_addr_t o, extra, own;

  /* No extra: the tag, and text and tail without their flag bits. */
  o = fake_object(&f, L, elem, (size_t)L->element_size, 16);
  fake_put(&f, o, L->element_tag, 0x1000);
  fake_put(&f, o, L->element_text, 0x1101);
  fake_put(&f, o, L->element_tail, 0x1200);
  walk(elem, o, &own);
  ck_assert(nseen == 3 && visited(0x1000) && visited(0x1100)
            && visited(0x1200));
  /* Attributes and two children in the extra's own slots. */
  extra = fake_alloc(&f, (size_t)L->elemextra_size, 16);
  fake_put(&f, o, L->element_extra, extra);
  fake_put(&f, extra, L->elemextra_attrib, 0x1300);
  fake_put(&f, extra, L->elemextra_length, 2);
  fake_put(&f, extra, L->elemextra_allocated, 4);
  fake_put(&f, extra, L->elemextra_children,
           extra + (pm_addr_t)L->elemextra_static);
  fake_put(&f, extra, L->elemextra_static, 0x1400);
  fake_put(&f, extra, L->elemextra_static + 8, 0x1500);
  walk(elem, o, &own);
  ck_assert(nseen == 6 && visited(0x1300) && visited(0x1400)
            && visited(0x1500));
  /* More children than slots is corrupt: none of them is followed. */
  fake_put(&f, extra, L->elemextra_length, 5);
  walk(elem, o, &own);
  ck_assert(nseen == 4 && !visited(0x1400));

  o = fake_object(&f, L, lru, (size_t)L->lru_size, 16);
  fake_put(&f, o, L->lru_cache, 0x2000);
  fake_put(&f, o, L->lru_func, 0x2100);
  walk(lru, o, &own);
  ck_assert(nseen == 2 && visited(0x2000) && visited(0x2100));

  o = fake_object(&f, L, link, (size_t)L->lruelem_size, 0);
  fake_put(&f, o, L->lruelem_key, 0x2200);
  fake_put(&f, o, L->lruelem_result, 0x2300);
  walk(link, o, &own);
  ck_assert(nseen == 2 && visited(0x2200) && visited(0x2300));
  walk(fake_link, o, &own);
  ck_assert_uint_eq(nseen, 0);

  /* A text file's text not written yet, and decoded but not read. */
  o = fake_object(&f, L, textio, (size_t)L->textio_size, 16);
  fake_put(&f, o, L->textio_decoded_chars, 0x2400);
  fake_put(&f, o, L->textio_pending_bytes, 0x2500);
  fake_put(&f, o, L->textio_snapshot, 0x2600);
  walk(textio, o, &own);
  ck_assert(nseen == 3 && visited(0x2400) && visited(0x2500)
            && visited(0x2600));
}
END_TEST

/*
 * 3.13+: a SimpleQueue's items in a ring of items_cap slots, num_items
 * of them from get_idx on, wrapping around; a ring that makes no sense
 * is not followed.
 */
START_TEST(test_simplequeue_ring)
{
  pm_addr_t sq;
  pm_addr_t o, ring, own;
  const struct pm_layout *l13 = pm__layout_find(0x030d00, PM_BUILD_DEFAULT);

  ck_assert_ptr_nonnull(l13);
  py.L = L = l13;
  py.version = 0x030d00;
  sq = new_type("_queue.SimpleQueue", 0x4400, L->simplequeue_size, OBJECT);
  ck_assert_int_ge(L->simplequeue_items, 0);
  o = fake_object(&f, L, sq, (size_t)L->simplequeue_size, 16);
  ring = fake_alloc(&f, 8 * 8, 16);
  /* Four slots: items at 2, 3, then 0. */
  fake_put(&f, ring, 16, 0x5200);
  fake_put(&f, ring, 24, 0x5300);
  fake_put(&f, ring, 0, 0x5000);
  fake_put(&f, ring, 8, 0x5100); /* taken: not among the three */
  fake_put(&f, o, L->simplequeue_items, ring);
  fake_put(&f, o, L->simplequeue_get, 2);
  fake_put(&f, o, L->simplequeue_cap, 4);
  fake_put(&f, o, L->simplequeue_num, 3);
  walk(sq, o, &own);
  ck_assert(nseen == 3 && visited(0x5200) && visited(0x5300)
            && visited(0x5000));
  /* More items than slots, or a start outside the ring. */
  fake_put(&f, o, L->simplequeue_num, 5);
  walk(sq, o, &own);
  ck_assert_uint_eq(nseen, 0);
  fake_put(&f, o, L->simplequeue_num, 3);
  fake_put(&f, o, L->simplequeue_get, 4);
  walk(sq, o, &own);
  ck_assert_uint_eq(nseen, 0);
  /* No wrap: two items from slot 1. */
  fake_put(&f, o, L->simplequeue_get, 1);
  fake_put(&f, o, L->simplequeue_num, 2);
  walk(sq, o, &own);
  ck_assert(nseen == 2 && visited(0x5100) && visited(0x5200));

  /* Before 3.13: its items in a list. */
  py.L = L = pm__layout_find(0x030b07, PM_BUILD_DEFAULT);
  py.version = 0x030b07;
  ck_assert_int_ge(L->simplequeue_lst, 0);
  ck_assert_int_lt(L->simplequeue_items, 0);
  sq = new_type("_queue.SimpleQueue", 0x4400, L->simplequeue_size, OBJECT);
  o = fake_object(&f, L, sq, (size_t)L->simplequeue_size, 16);
  fake_put(&f, o, L->simplequeue_lst, 0x5400);
  walk(sq, o, &own);
  ck_assert(nseen == 1 && visited(0x5400));
}
END_TEST

/*
 * Types that hold references in C fields that are no members: each by
 * its name, so that a name misspelt in specials[] fails here (the first
 * field of those that hold several).
 */
START_TEST(test_held_fields)
{
  static const struct {
    const char *name;
    uint64_t flags;
    size_t size, held;
  } holders[] = {
    { "str_iterator", 0x4000, offsetof(struct pm_layout, unicodeiter_size),
      offsetof(struct pm_layout, unicodeiter_seq) },
    { "str_ascii_iterator", 0x4000,
      offsetof(struct pm_layout, unicodeiter_size),
      offsetof(struct pm_layout, unicodeiter_seq) },
    { "bytes_iterator", 0x4000, offsetof(struct pm_layout, bytesiter_size),
      offsetof(struct pm_layout, bytesiter_seq) },
    { "itertools.repeat", 0x4400, offsetof(struct pm_layout, repeat_size),
      offsetof(struct pm_layout, repeat_element) },
    { "operator.itemgetter", 0x4400,
      offsetof(struct pm_layout, itemgetter_size),
      offsetof(struct pm_layout, itemgetter_item) },
    { "tuple_iterator", 0x4000, offsetof(struct pm_layout, tupleiter_size),
      offsetof(struct pm_layout, tupleiter_seq) },
    { "reversed", 0x4400, offsetof(struct pm_layout, reversed_size),
      offsetof(struct pm_layout, reversed_seq) },
    { "mappingproxy", 0x4000, offsetof(struct pm_layout, mappingproxy_size),
      offsetof(struct pm_layout, mappingproxy_mapping) },
    { "dict_items", 0x4000, offsetof(struct pm_layout, dictview_size),
      offsetof(struct pm_layout, dictview_dict) },
    { "_io.BytesIO", 0x4400, offsetof(struct pm_layout, bytesio_size),
      offsetof(struct pm_layout, bytesio_buf) },
    { "enumerate", 0x4000, offsetof(struct pm_layout, enum_size),
      offsetof(struct pm_layout, enum_sit) },
    { "callable_iterator", 0x4000, offsetof(struct pm_layout, calliter_size),
      offsetof(struct pm_layout, calliter_callable) },
    { "async_generator_asend", 0x4000, offsetof(struct pm_layout, asend_size),
      offsetof(struct pm_layout, asend_sendval) },
    { "async_generator_athrow", 0x4000, offsetof(struct pm_layout, athrow_size),
      offsetof(struct pm_layout, athrow_args) },
    { "anext_awaitable", 0x4000, offsetof(struct pm_layout, anext_size),
      offsetof(struct pm_layout, anext_default) },
    { "itertools.count", 0x4000, offsetof(struct pm_layout, count_size),
      offsetof(struct pm_layout, count_long_cnt) },
    { "xml.etree.ElementTree.TreeBuilder", 0x4000,
      offsetof(struct pm_layout, treebuilder_size),
      offsetof(struct pm_layout, treebuilder_data) },
    { "dict_keys", 0x4000, offsetof(struct pm_layout, dictview_size),
      offsetof(struct pm_layout, dictview_dict) },
    { "dict_values", 0x4000, offsetof(struct pm_layout, dictview_size),
      offsetof(struct pm_layout, dictview_dict) },
    { "dict_keyiterator", 0x4000, offsetof(struct pm_layout, dictiter_size),
      offsetof(struct pm_layout, dictiter_dict) },
    { "dict_valueiterator", 0x4000, offsetof(struct pm_layout, dictiter_size),
      offsetof(struct pm_layout, dictiter_dict) },
    { "dict_itemiterator", 0x4000, offsetof(struct pm_layout, dictiter_size),
      offsetof(struct pm_layout, dictiter_dict) },
    { "dict_reversekeyiterator", 0x4000,
      offsetof(struct pm_layout, dictiter_size),
      offsetof(struct pm_layout, dictiter_dict) },
    { "dict_reversevalueiterator", 0x4000,
      offsetof(struct pm_layout, dictiter_size),
      offsetof(struct pm_layout, dictiter_dict) },
    { "dict_reverseitemiterator", 0x4000,
      offsetof(struct pm_layout, dictiter_size),
      offsetof(struct pm_layout, dictiter_dict) },
    { "_io.TextIOWrapper", 0x4000, offsetof(struct pm_layout, textio_size),
      offsetof(struct pm_layout, textio_decoded_chars) },
    { "functools._lru_list_elem", 0x4000,
      offsetof(struct pm_layout, lruelem_size),
      offsetof(struct pm_layout, lruelem_result) },
    { "str_ascii_iterator", 0x4000,
      offsetof(struct pm_layout, unicodeiter_size),
      offsetof(struct pm_layout, unicodeiter_seq) },
  };

  for (size_t i = 0; i < sizeof(holders) / sizeof(holders[0]); i++) {
    int64_t size = *(const int64_t *)((const char *)L + holders[i].size);
    int64_t held = *(const int64_t *)((const char *)L + holders[i].held);
    pm_addr_t t = new_type(holders[i].name, holders[i].flags, size, OBJECT);
    pm_addr_t o = fake_object(&f, L, t, (size_t)size, 16), own;

    fake_put(&f, o, held, 0x3000 + i * 0x100);
    walk(t, o, &own);
    ck_assert_msg(nseen == 1 && visited(0x3000 + i * 0x100), "%s",
                  holders[i].name);
    /* An iterator run out holds nothing. */
    fake_put(&f, o, held, 0);
    walk(t, o, &own);
    ck_assert_uint_eq(nseen, 0);
  }
  /* Several fields: a zip_longest's fill value, an unpack iterator's
   * buffer (a Py_buffer's obj), a Row's data. */
  {
    pm_addr_t zl
        = new_type("itertools.zip_longest", 0x4400, L->ziplongest_size, OBJECT);
    pm_addr_t it = new_type("_struct.unpack_iterator", 0x4400,
                            L->unpackiter_size, OBJECT);
    pm_addr_t row = new_type("sqlite3.Row", 0x4400, L->sqliterow_size, OBJECT);
    pm_addr_t o, own;

    o = fake_object(&f, L, zl, (size_t)L->ziplongest_size, 16);
    fake_put(&f, o, L->ziplongest_ittuple, 0x4000);
    fake_put(&f, o, L->ziplongest_fillvalue, 0x4100);
    walk(zl, o, &own);
    ck_assert(nseen == 2 && visited(0x4000) && visited(0x4100));
    o = fake_object(&f, L, it, (size_t)L->unpackiter_size, 16);
    fake_put(&f, o, L->unpackiter_so, 0x4200);
    fake_put(&f, o, L->unpackiter_buf_obj, 0x4300);
    walk(it, o, &own);
    ck_assert(nseen == 2 && visited(0x4200) && visited(0x4300));
    o = fake_object(&f, L, row, (size_t)L->sqliterow_size, 16);
    fake_put(&f, o, L->sqliterow_data, 0x4400);
    fake_put(&f, o, L->sqliterow_description, 0x4500);
    walk(row, o, &own);
    ck_assert(nseen == 2 && visited(0x4400) && visited(0x4500));
  }
  /* Iterators are static types: a class of that name is not one. */
  ck_assert_int_eq(info(new_type("bytes_iterator", 0x4000 | F_HEAPTYPE,
                                 L->bytesiter_size, OBJECT))
                       .walker,
                   PM_WALK_NONE);
}
END_TEST

/*
 * What only C fields hold: a memoryview's managedbuffer and exporter, a
 * context's variables, and the trie of a HAMT.  The types without an
 * exported symbol are known by name and struct size together.
 */
START_TEST(test_buffers_and_contexts)
{
  pm_addr_t mview = new_type("memoryview", 0x5100, L->memoryview_size, OBJECT);
  pm_addr_t mbuf = new_type("managedbuffer", 0x4100, L->mbuf_size, OBJECT);
  pm_addr_t ctx
      = new_type("_contextvars.Context", 0x4100, L->context_size, OBJECT);
  pm_addr_t cvar
      = new_type("_contextvars.ContextVar", 0x4100, L->contextvar_size, OBJECT);
  pm_addr_t token
      = new_type("_contextvars.Token", 0x4100, L->token_size, OBJECT);
  pm_addr_t hamt = new_type("hamt", 0x4100, L->hamt_size, OBJECT);
  pm_addr_t bitmap
      = new_type("hamt_bitmap_node", 0x4100, L->hamtbitmap_array, OBJECT);
  pm_addr_t array
      = new_type("hamt_array_node", 0x4100, L->hamtarray_size, OBJECT);
  /* A name alone is only a claim; a class is not a static type. */
  pm_addr_t fake = new_type("hamt", 0x4100, L->hamt_size + 8, OBJECT);
  pm_addr_t heap = new_type("hamt", 0x4100 | F_HEAPTYPE, L->hamt_size, OBJECT);
  pm_addr_t fut = new_type("_asyncio.Future", 0x4400, L->future_size, OBJECT);
  pm_addr_t task = new_type("_asyncio.Task", 0x4400, L->task_size, fut);
  pm_addr_t st = new_type("Struct", 0x1400, L->structobj_size, OBJECT);
  pm_addr_t st_heap
      = new_type("Struct", 0x1400 | F_HEAPTYPE, L->structobj_size, OBJECT);
  pm_addr_t o, node, own;
  struct pm_type_info ti;

  py.types[PM_T_MEMORYVIEW] = mview;
  py.types[PM_T_CONTEXT] = ctx;
  py.types[PM_T_CONTEXTVAR] = cvar;
  py.types[PM_T_CONTEXTTOKEN] = token;
  o = fake_object(&f, L, mview, (size_t)L->memoryview_size, 0);
  fake_put(&f, o, L->memoryview_mbuf, 0x1000);
  walk(mview, o, &own);
  ck_assert(nseen == 1 && visited(0x1000));

  o = fake_object(&f, L, mbuf, (size_t)L->mbuf_size, 0);
  fake_put(&f, o, L->mbuf_master_obj, 0x3000);
  walk(mbuf, o, &own);
  ck_assert(nseen == 1 && visited(0x3000));

  o = fake_object(&f, L, ctx, (size_t)L->context_size, 0);
  fake_put(&f, o, L->context_prev, 0x4000);
  fake_put(&f, o, L->context_vars, 0x5000);
  walk(ctx, o, &own);
  ck_assert(nseen == 2 && visited(0x4000) && visited(0x5000));

  o = fake_object(&f, L, cvar, (size_t)L->contextvar_size, 0);
  fake_put(&f, o, L->contextvar_default, 0x5100);
  walk(cvar, o, &own);
  ck_assert(nseen == 1 && visited(0x5100));

  o = fake_object(&f, L, token, (size_t)L->token_size, 0);
  fake_put(&f, o, L->token_ctx, 0x5200);
  fake_put(&f, o, L->token_var, 0x5300);
  fake_put(&f, o, L->token_oldval, 0x5400);
  walk(token, o, &own);
  ck_assert(nseen == 3 && visited(0x5200) && visited(0x5300)
            && visited(0x5400));

  o = fake_object(&f, L, hamt, (size_t)L->hamt_size, 0);
  fake_put(&f, o, L->hamt_root, 0x6000);
  walk(hamt, o, &own);
  ck_assert(nseen == 1 && visited(0x6000));
  walk(fake, o, &own);
  ck_assert_uint_eq(nseen, 0);
  ck_assert_int_eq(info(heap).walker, PM_WALK_NONE);

  /* 3.8's Struct: static, its format held by a C field alone. */
  o = fake_object(&f, L, st, (size_t)L->structobj_size, 0);
  fake_put(&f, o, L->structobj_format, 0x6800);
  walk(st, o, &own);
  ck_assert(nseen == 1 && visited(0x6800));
  ck_assert_int_eq(info(st_heap).walker, PM_WALK_NONE);

  /* An asyncio Future's result, and a Task's coroutine as well. */
  o = fake_object(&f, L, fut, (size_t)L->task_size, 0);
  fake_put(&f, o, L->future_result, 0x6900);
  fake_put(&f, o, L->task_coro, 0x6a00);
  walk(fut, o, &own);
  ck_assert(nseen == 1 && visited(0x6900));
  walk(task, o, &own);
  ck_assert(nseen == 2 && visited(0x6900) && visited(0x6a00));

  /* A bitmap node: a key and a value, then no key and a child node. */
  node = fake_object(&f, L, bitmap, (size_t)L->hamtbitmap_array + 32, 0);
  fake_put(&f, node, L->varobject_ob_size, 4);
  fake_put(&f, node, L->hamtbitmap_array, 0x7000);
  fake_put(&f, node, L->hamtbitmap_array + 8, 0x7100);
  fake_put(&f, node, L->hamtbitmap_array + 24, 0x7300);
  walk(bitmap, node, &own);
  ck_assert(nseen == 3 && visited(0x7000) && visited(0x7100)
            && visited(0x7300));
  /* An ob_size no node has is not followed. */
  fake_put(&f, node, L->varobject_ob_size, 34);
  walk(bitmap, node, &own);
  ck_assert_uint_eq(nseen, 0);

  /* An array node: 32 slots, most of them empty. */
  node = fake_object(&f, L, array, (size_t)L->hamtarray_size, 0);
  fake_put(&f, node, L->hamtarray_array, 0x8000);
  fake_put(&f, node, L->hamtarray_array + 31 * 8, 0x8100);
  walk(array, node, &own);
  ck_assert(nseen == 2 && visited(0x8000) && visited(0x8100));
  ti = info(array);
  ck_assert_int_eq(ti.walker, PM_WALK_HAMT_ARRAY);
}
END_TEST

START_TEST(test_code_and_frame)
{
  /* def f(a, b): c = a + b -- 3 locals, a stack of 2. */
  pm_addr_t co = fake_object(&f, L, CODE, 200, 0),
            frame = fake_alloc(&f, 80 + 5 * 8, 0);
  pm_addr_t locals = frame + (pm_addr_t)L->iframe_localsplus, own;
  int owner;

  fake_put_u32(&f, co + (pm_addr_t)L->code_nlocalsplus, 3);
  fake_put_u32(&f, co + (pm_addr_t)L->code_stacksize, 2);
  fake_put(&f, co, L->code_consts, 0x1000);
  fake_put(&f, co, L->code_names, 0x2000);
  fake_put(&f, co, L->code_localsplusnames, 0x3000);
  fake_put(&f, co, L->code_filename, 0x4000);
  walk(CODE, co, &own);
  ck_assert(visited(0x1000) && visited(0x2000) && visited(0x3000));
  ck_assert(visited(0x4000));

  fake_put(&f, frame, L->iframe_code, co);
  fake_put(&f, frame, L->iframe_globals, 0x5000);
  for (int i = 0; i < 5; i++)
    fake_put(&f, locals, 8 * i, 0x6000 + 0x100 * (uint64_t)i);
  fake_put_u32(&f, frame + (pm_addr_t)L->iframe_stacktop, 4);
  flush();
  nseen = 0;
  ck_assert_int_eq(pm__iframe_referents(&py, frame, 0, collect, NULL, &owner),
                   0);
  /* Locals only: the code, globals and three slots. */
  ck_assert_uint_eq(nseen, 5);
  ck_assert(visited(co) && visited(0x5000) && visited(0x6200));
  ck_assert(!visited(0x6300));
  nseen = 0;
  ck_assert_int_eq(pm__iframe_referents(&py, frame, 1, collect, NULL, &owner),
                   0);
  ck_assert(visited(0x6300) && !visited(0x6400)); /* up to stacktop */
  /* A stacktop beyond the code's slots is not believed. */
  fake_put_u32(&f, frame + (pm_addr_t)L->iframe_stacktop, 99);
  flush();
  nseen = 0;
  ck_assert_int_eq(pm__iframe_referents(&py, frame, 1, collect, NULL, &owner),
                   0);
  ck_assert(!visited(0x6300));
}
END_TEST

/* What a labelled walk visited, with each label copied. */
static struct pm_ref_label labels[256];
static char label_names[256][32];

static int
collect_labelled(void *arg, pm_addr_t ref, const struct pm_ref_label *l)
{
  (void)arg;
  ck_assert_uint_lt(nseen, sizeof(seen) / sizeof(seen[0]));
  labels[nseen] = *l;
  snprintf(label_names[nseen], sizeof(label_names[0]), "%s",
           l->name ? l->name : "");
  seen[nseen++] = ref;
  return 0;
}

/* The labelled walk of obj visits what the plain one does, in order. */
static void
walk_labelled(pm_addr_t type, pm_addr_t obj)
{
  pm_addr_t plain[256], dict, ldict;
  size_t nplain;
  struct pm_type_info ti;
  uint32_t members[16];
  size_t n;

  walk(type, obj, &dict);
  nplain = nseen;
  memcpy(plain, seen, sizeof(plain));
  ti = info(type);
  ck_assert_int_eq(pm__type_members(&py, type, members, 16, &n), 0);
  nseen = 0;
  ck_assert_int_eq(pm__referents_labelled(&py, obj, &ti, members, n,
                                          collect_labelled, NULL, &ldict),
                   0);
  ck_assert_uint_eq(nseen, nplain);
  ck_assert_uint_eq(ldict, dict);
  for (size_t i = 0; i < nseen; i++)
    ck_assert_uint_eq(seen[i], plain[i]);
}

START_TEST(test_labels)
{
  pm_addr_t k[] = { ascii("orders"), ascii("count") };
  pm_addr_t v[] = { 0x1100, 0x2200 };
  pm_addr_t l = fake_object(&f, L, LIST, 40, 16),
            items = fake_alloc(&f, 2 * 8, 0);
  pm_addr_t d = fake_object(&f, L, DICT, 48, 16), members, s, o, c, co, name;
  pm_addr_t values = fake_alloc(&f, 2 * 8, 0);

  /* A list: each item by index. */
  fake_put(&f, l, L->varobject_ob_size, 2);
  fake_put(&f, l, L->list_allocated, 2);
  fake_put(&f, l, L->list_item, items);
  fake_put(&f, items, 0, 0x4000);
  fake_put(&f, items, 8, 0x5000);
  walk_labelled(LIST, l);
  ck_assert(labels[1].how == PM_REF_INDEX && labels[1].index == 1);
  /* A dict: its keys, then each value under its key. */
  fake_put(&f, d, L->dict_keys, keys8(2, k, v));
  walk_labelled(DICT, d);
  ck_assert_uint_eq(nseen, 4);
  ck_assert(labels[0].how == PM_REF_KEY && seen[0] == k[0]);
  ck_assert(labels[3].how == PM_REF_VALUE && seen[3] == 0x2200
            && labels[3].key == k[1]);
  /* A slot by its member's name. */
  members = fake_alloc(&f, 2 * (size_t)L->member_size, 0);
  s = new_type("S", 0x5600 | F_HEAPTYPE, 24, OBJECT);
  o = fake_object(&f, L, s, 24, 16);
  fake_put(&f, members, 0, fake_cstring(&f, "ref"));
  fake_put_u32(&f, members + (pm_addr_t)L->member_type, 16);
  fake_put(&f, members, L->member_offset, 16);
  fake_put(&f, s, L->type_members, members);
  fake_put(&f, o, 16, 0x1000);
  walk_labelled(s, o);
  ck_assert(labels[0].how == PM_REF_MEMBER
            && strcmp(label_names[0], "ref") == 0);
  /* 3.11 values: each attribute by its shared key's name. */
  c = new_type("C", 0x5610 | F_HEAPTYPE | F_MANAGED_DICT, 16, OBJECT);
  o = fake_object(&f, L, c, 16, 32);
  fake_put(&f, c, L->heaptype_cached_keys, keys8(2, k, NULL));
  fake_put(&f, values, 0, 0x1100);
  fake_put(&f, values, 8, 0x2200);
  fake_put(&f, o - 32, 0, values);
  walk_labelled(c, o);
  ck_assert(labels[1].how == PM_REF_ATTR && labels[1].key == k[1]);
  {
    struct pm_type_info ti = info(c);
    ck_assert_int_eq(pm__object_attr(&py, o, &ti, "count", &name), 0);
    ck_assert_uint_eq(name, 0x2200);
    ck_assert_int_eq(pm__object_attr(&py, o, &ti, "nope", &name), 0);
    ck_assert_uint_eq(name, 0);
  }
  /* A frame's locals by name (3.11: co_localsplusnames). */
  co = fake_object(&f, L, CODE, 200, 0);
  {
    pm_addr_t names = fake_object(&f, L, TUPLE, 24 + 2 * 8, 16);
    pm_addr_t frame = fake_alloc(&f, 80 + 3 * 8, 0);
    pm_addr_t locals = frame + (pm_addr_t)L->iframe_localsplus;
    int owner;
    fake_put(&f, names, L->varobject_ob_size, 2);
    fake_put(&f, names, L->tuple_item, k[0]);
    fake_put(&f, names, L->tuple_item + 8, k[1]);
    fake_put_u32(&f, co + (pm_addr_t)L->code_nlocalsplus, 2);
    fake_put_u32(&f, co + (pm_addr_t)L->code_stacksize, 1);
    fake_put(&f, co, L->code_localsplusnames, names);
    fake_put(&f, frame, L->iframe_code, co);
    fake_put(&f, locals, 0, 0x7000);
    fake_put(&f, locals, 8, 0x7100);
    flush();
    nseen = 0;
    ck_assert_int_eq(pm__iframe_referents_labelled(
                         &py, frame, 0, collect_labelled, NULL, &owner),
                     0);
    ck_assert_uint_eq(nseen, 3);
    ck_assert(labels[0].how == PM_REF_FIELD
              && strcmp(label_names[0], "f_code") == 0);
    ck_assert(labels[2].how == PM_REF_LOCAL && labels[2].index == 1
              && labels[2].key == k[1] && seen[2] == 0x7100);
  }
}
END_TEST

static Suite *
referents_suite(void)
{
  Suite *s = suite_create("referents");
  TCase *tc = tcase_create("layouts");

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_tuple_list);
  tcase_add_test(tc, test_dict);
  tcase_add_test(tc, test_set);
  tcase_add_test(tc, test_slots_and_dictoffset);
  tcase_add_test(tc, test_managed_dict);
  tcase_add_test(tc, test_type);
  tcase_add_test(tc, test_buffers_and_contexts);
  tcase_add_test(tc, test_elements_and_lru);
  tcase_add_test(tc, test_held_fields);
  tcase_add_test(tc, test_simplequeue_ring);
  tcase_add_test(tc, test_code_and_frame);
  tcase_add_test(tc, test_labels);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  SRunner *sr = srunner_create(referents_suite());
  int failed;

  srunner_set_tap(sr, "-");
  srunner_run_all(sr, CK_SILENT);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
