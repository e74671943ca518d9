/* SPDX-License-Identifier: MIT */
/* test-object.c -- type names, str and sys.getsizeof() on a fake 3.11 heap */
#include <config.h>

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cpython/object.h"
#include "fake-target.h"

/*
 * A CPython 3.11 heap laid out by hand, with the offsets of the 3.11 layout.
 * Flags, basic sizes and the expected sizes are those of a real 3.11.7
 * (type.__flags__, type.__basicsize__, sys.getsizeof()); each is noted
 * where it is used.
 */
#define HEAP 0x20000000ull
#define HEAP_LEN 0x100000ull
#define GAP 0x28000000ull    /* unmapped */
#define NOREAD 0x30000000ull /* mapped, not readable */

static const char maps_text[]
    = "20000000-20100000 rw-p 00000000 00:00 0      [heap]\n"
      "30000000-30001000 ---p 00000000 00:00 0\n";

/* tp_flags bits (Include/object.h). */
#define F_MANAGED_DICT (1ull << 4)
#define F_HEAPTYPE (1ull << 9)
#define F_HAVE_GC (1ull << 14)
#define F_TYPE_SUBCLASS (1ull << 31)

/* PyASCIIObject.state: interned:2 kind:3 compact:1 ascii:1 ready:1. */
#define ST_KIND FAKE_STR_KIND
#define ST_COMPACT FAKE_STR_COMPACT
#define ST_ASCII FAKE_STR_ASCII
#define ST_READY FAKE_STR_READY

static struct fake_target f;
static struct pm_python py;
static const struct pm_layout *L;

/* The builtin types of the fake interpreter. */
static pm_addr_t TYPE, OBJECT, STR, LIST, TUPLE, DICT, SET, INT, DEQUE;

/* ---- building the heap ------------------------------------------------ */

static pm_addr_t
static_type(const char *tp_name, uint64_t flags, int64_t basicsize,
            int64_t itemsize, pm_addr_t base)
{
  pm_addr_t t = fake_object(&f, L, TYPE, (size_t)L->type_size, 0);

  fake_type_fields(&f, L, t, tp_name, flags, basicsize, itemsize, base);
  return t;
}

/* A compact ASCII str. */
static pm_addr_t
ascii(const char *s)
{
  return fake_ascii(&f, L, STR, s);
}

/* A compact str of kind 1, 2 or 4 holding the code points cp[0..n). */
static pm_addr_t
compact(unsigned kind, const uint32_t *cp, size_t n)
{
  pm_addr_t o
      = fake_object(&f, L, STR, (size_t)L->compact_size + (n + 1) * kind, 0);
  pm_addr_t data = o + (pm_addr_t)L->compact_size;

  fake_put(&f, o, L->ascii_length, n);
  fake_put_u32(&f, o + (pm_addr_t)L->ascii_state,
               ST_KIND(kind) | ST_COMPACT | ST_READY);
  for (size_t i = 0; i < n; i++)
    memcpy(fake_at(&f, data + i * kind, kind), &cp[i], kind); /* LE */
  return o;
}

/*
 * A dict whose keys table has 1 << log2_size slots of 1-byte indices and
 * holds n entries of kind 1 (unicode: {key, value}) or 0 (general:
 * {hash, key, value}).  Pre-header: the GC head.
 */
static pm_addr_t
dict(unsigned log2_size, unsigned kind, size_t n, const pm_addr_t *keys,
     const pm_addr_t *values)
{
  size_t size = (size_t)1 << log2_size, usable = 2 * size / 3;
  unsigned log2_index = log2_size <= 7 ? log2_size : log2_size + 1;
  size_t entry
      = kind ? (size_t)L->dictunicodeentry_size : (size_t)L->dictkeyentry_size;
  pm_addr_t k = fake_alloc(
      &f, (size_t)L->dictkeys_size + ((size_t)1 << log2_index) + usable * entry,
      0);
  pm_addr_t d = fake_object(&f, L, DICT, (size_t)L->dict_size, 16);
  pm_addr_t entries = k + (pm_addr_t)L->dictkeys_indices + (1u << log2_index);

  ck_assert_uint_le(n, usable);
  fake_put(&f, k, L->dictkeys_refcnt, 1);
  fake_put_u8(&f, k + (pm_addr_t)L->dictkeys_log2_size, (uint8_t)log2_size);
  fake_put_u8(&f, k + (pm_addr_t)L->dictkeys_log2_index_bytes,
              (uint8_t)log2_index);
  fake_put_u8(&f, k + (pm_addr_t)L->dictkeys_kind, (uint8_t)kind);
  fake_put(&f, k, L->dictkeys_usable, usable - n);
  fake_put(&f, k, L->dictkeys_nentries, n);
  memset(fake_at(&f, k + (pm_addr_t)L->dictkeys_indices, 1u << log2_index),
         0xff, 1u << log2_index); /* DKIX_EMPTY; pmpeek walks the entries */
  for (size_t i = 0; i < n; i++) {
    pm_addr_t e = entries + i * entry;
    fake_put(&f, e, kind ? 0 : L->dictkeyentry_key, keys[i]);
    fake_put(&f, e, kind ? 8 : L->dictkeyentry_value, values[i]);
  }
  fake_put(&f, d, L->dict_used, n);
  fake_put(&f, d, L->dict_keys, k);
  return d;
}

/* A class made by a class statement in module `module`. */
static pm_addr_t
heap_type(const char *module, const char *qualname, uint64_t flags,
          int64_t basicsize, pm_addr_t base)
{
  pm_addr_t t = fake_object(&f, L, TYPE, (size_t)L->heaptype_size, 16);
  pm_addr_t key = ascii("__module__"), value;

  fake_type_fields(
      &f, L, t, strrchr(qualname, '.') ? strrchr(qualname, '.') + 1 : qualname,
      flags | F_HEAPTYPE, basicsize, 0, base);
  fake_put(&f, t, L->heaptype_qualname, ascii(qualname));
  fake_put(&f, t, L->heaptype_name, ascii(qualname));
  if (module) {
    value = ascii(module);
    fake_put(&f, t, L->type_dict, dict(3, 1, 1, &key, &value));
  }
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

  /* type is its own type; TYPE is 0 until it exists. */
  TYPE = fake_alloc(&f, (size_t)L->type_size, 16);
  fake_put(&f, TYPE, L->object_refcnt, 1);
  fake_put(&f, TYPE, L->object_type, TYPE);
  OBJECT = static_type("object", 0x81500, 16, 0, 0);
  /* type.__flags__ == 0x80085d00, __basicsize__ 904, __itemsize__ 40 */
  fake_type_fields(&f, L, TYPE, "type", 0x80085d00, 904, 40, OBJECT);
  STR = static_type("str", 0x10481500, 80, 0, OBJECT);
  LIST = static_type("list", 0x2485520, 40, 0, OBJECT);
  TUPLE = static_type("tuple", 0x4485520, 24, 8, OBJECT);
  DICT = static_type("dict", 0x20485540, 48, 0, OBJECT);
  SET = static_type("set", 0x485500, 200, 0, OBJECT);
  INT = static_type("int", 0x1481500, 24, 4, OBJECT);
  /* collections.deque: a static type outside builtins. */
  DEQUE = static_type("collections.deque", 0x5520, 216, 0, OBJECT);

  py.types[PM_T_TYPE] = TYPE;
  py.types[PM_T_OBJECT] = OBJECT;
  py.types[PM_T_STR] = STR;
  py.types[PM_T_LIST] = LIST;
  py.types[PM_T_TUPLE] = TUPLE;
  py.types[PM_T_DICT] = DICT;
  py.types[PM_T_SET] = SET;
  py.types[PM_T_INT] = INT;
}

static void
teardown(void)
{
  pm_target_free(py.t);
  fake_release(&f);
}

/*
 * The tests write the fake's memory behind the target's read cache; a
 * pause drops the cache, as it would after the target ran.
 */
static void
flush(void)
{
  ck_assert_int_eq(pm_target_pause(py.t), 0);
  ck_assert_int_eq(pm_target_resume(py.t), 0);
}

static struct pm_type_info
type_info(pm_addr_t type)
{
  struct pm_type_info ti;

  flush();
  ck_assert_int_eq(pm__type_read(&py, type, &ti), 0);
  return ti;
}

/* pm__object_size() of obj, read afresh: 0 or its error. */
static int
sized(pm_addr_t type, pm_addr_t obj, uint64_t *size)
{
  struct pm_type_info ti = type_info(type);

  flush();
  return pm__object_size(&py, &ti, obj, size);
}

static uint64_t
size_of(pm_addr_t type, pm_addr_t obj)
{
  uint64_t size = 0;

  ck_assert_int_eq(sized(type, obj, &size), 0);
  return size;
}

static int
size_error(pm_addr_t type, pm_addr_t obj)
{
  uint64_t size;

  return sized(type, obj, &size);
}

/* ---- type names --------------------------------------------------------- */

START_TEST(test_static_type_name)
{
  struct pm_type_info ti = type_info(DEQUE);

  ck_assert_str_eq(ti.name, "collections.deque");
  ck_assert_uint_eq(ti.flags, 0x5520);
  ck_assert_int_eq(ti.basicsize, 216);
  ck_assert_int_eq(ti.itemsize, 0);
  ck_assert_int_eq(ti.base, PM_T_OBJECT);
  /* Known by name and the size of dequeobject: it has its own __sizeof__. */
  ck_assert_int_eq(ti.sizer, PM_SIZE_DEQUE);
  ck_assert_int_eq(ti.walker, PM_WALK_DEQUE);
}
END_TEST

START_TEST(test_builtin_names)
{
  ck_assert_str_eq(type_info(LIST).name, "list");
  ck_assert_int_eq(type_info(LIST).sizer, PM_SIZE_LIST);
  ck_assert_str_eq(type_info(DICT).name, "dict");
  ck_assert_int_eq(type_info(DICT).sizer, PM_SIZE_DICT);
  ck_assert_str_eq(type_info(OBJECT).name, "object");
  ck_assert_int_eq(type_info(OBJECT).base, PM_T_OBJECT);
}
END_TEST

START_TEST(test_type_type)
{
  /* PyType_Type: its own type, with Py_TPFLAGS_TYPE_SUBCLASS. */
  struct pm_type_info ti = type_info(TYPE);

  ck_assert_str_eq(ti.name, "type");
  ck_assert_int_eq(ti.base, PM_T_TYPE);
  ck_assert_int_eq(ti.sizer, PM_SIZE_TYPE);
  ck_assert_uint_ne(ti.flags & F_TYPE_SUBCLASS, 0);
}
END_TEST

START_TEST(test_heap_type_name)
{
  /* class Outer: class Inner: pass   (Inner.__flags__ == 0x5610) */
  pm_addr_t inner = heap_type("mymod", "Outer.Inner", 0x5610, 24, OBJECT);
  struct pm_type_info ti = type_info(inner);

  ck_assert_str_eq(ti.name, "mymod.Outer.Inner");
  ck_assert_int_eq(ti.base, PM_T_OBJECT);
  ck_assert_int_eq(ti.sizer, PM_SIZE_DEFAULT);
  ck_assert_int_eq(ti.basicsize, 24);
}
END_TEST

START_TEST(test_heap_type_builtins)
{
  /* A heap type whose __module__ is 'builtins' prints bare. */
  pm_addr_t t = heap_type("builtins", "Inner", 0x5610, 24, OBJECT);

  ck_assert_str_eq(type_info(t).name, "Inner");
}
END_TEST

START_TEST(test_heap_type_no_module)
{
  pm_addr_t t = heap_type(NULL, "Lost", 0x5610, 24, OBJECT);

  ck_assert_str_eq(type_info(t).name, "?.Lost");
}
END_TEST

START_TEST(test_heap_type_non_ascii)
{
  /* class Café: pass, in module 'données' */
  static const uint32_t cafe[] = { 'C', 'a', 'f', 0xe9 };
  static const uint32_t donnees[] = { 'd', 'o', 'n', 'n', 0xe9, 'e', 's' };
  pm_addr_t t = heap_type("x", "x", 0x5610, 24, OBJECT);
  pm_addr_t key = ascii("__module__"), value = compact(1, donnees, 7);

  fake_put(&f, t, L->heaptype_qualname, compact(1, cafe, 4));
  fake_put(&f, t, L->type_dict, dict(3, 1, 1, &key, &value));
  ck_assert_str_eq(type_info(t).name, "donn\xc3\xa9"
                                      "es.Caf\xc3\xa9");
}
END_TEST

/* Non-zero when s is well-formed UTF-8. */
static int
valid_utf8(const char *s)
{
  const unsigned char *p = (const unsigned char *)s;

  while (*p) {
    int n = *p < 0x80             ? 0
            : (*p & 0xe0) == 0xc0 ? 1
            : (*p & 0xf0) == 0xe0 ? 2
            : (*p & 0xf8) == 0xf0 ? 3
                                  : -1;
    if (n < 0)
      return 0;
    p++;
    while (n--)
      if ((*p++ & 0xc0) != 0x80)
        return 0;
  }
  return 1;
}

START_TEST(test_long_name_cut_utf8)
{
  /* A name too long for a row is cut, on a character boundary. */
  uint32_t cp[150];
  pm_addr_t t = heap_type("mymod", "x", 0x5610, 24, OBJECT);
  struct pm_type_info ti;

  for (size_t i = 0; i < 150; i++)
    cp[i] = 0xe9; /* 2 bytes each in UTF-8 */
  fake_put(&f, t, L->heaptype_qualname, compact(1, cp, 150));
  ti = type_info(t);
  ck_assert_uint_ge(strlen(ti.name), PM_KIND_NAME_MAX - 8);
  ck_assert_uint_lt(strlen(ti.name), PM_KIND_NAME_MAX);
  ck_assert_int_eq(strncmp(ti.name, "mymod.\xc3\xa9", 8), 0);
  ck_assert_msg(valid_utf8(ti.name), "cut inside a character: ...%s",
                ti.name + strlen(ti.name) - 3);
}
END_TEST

START_TEST(test_static_type_name_not_utf8)
{
  /* A tp_name is bytes: a stray one is written \xNN, as JSON needs. */
  pm_addr_t t = static_type("m.w\x8d\xc3(b\xe9", 0, 16, 0, OBJECT);

  ck_assert_str_eq(type_info(t).name, "m.w\\x8d\\xc3(b\\xe9");
}
END_TEST

START_TEST(test_heap_type_surrogate)
{
  /* class X: ...; X.__qualname__ = 'bad\udc80' (a lone surrogate) */
  static const uint32_t bad[] = { 'b', 'a', 'd', 0xdc80 };
  pm_addr_t t = heap_type("mymod", "x", 0x5610, 24, OBJECT);

  fake_put(&f, t, L->heaptype_qualname, compact(2, bad, 4));
  /* As Python's backslashreplace writes it: UTF-8 cannot hold it. */
  ck_assert_str_eq(type_info(t).name, "mymod.bad\\udc80");
}
END_TEST

START_TEST(test_heap_type_module_corrupt)
{
  /* A __module__ whose text cannot be read: "?", nothing of it kept. */
  static const uint32_t bad[] = { 'a', 'b', 0x110000 };
  pm_addr_t t = heap_type("x", "Q", 0x5610, 24, OBJECT);
  pm_addr_t key = ascii("__module__"), value = compact(4, bad, 3);

  fake_put(&f, t, L->type_dict, dict(3, 1, 1, &key, &value));
  ck_assert_str_eq(type_info(t).name, "?.Q");
}
END_TEST

START_TEST(test_dict_subclass)
{
  /* class D(dict): pass -- sized as a dict */
  pm_addr_t d = heap_type("mymod", "D", 0x20445540 | F_HAVE_GC, 64, DICT);
  struct pm_type_info ti = type_info(d);

  ck_assert_str_eq(ti.name, "mymod.D");
  ck_assert_int_eq(ti.base, PM_T_DICT);
  ck_assert_int_eq(ti.sizer, PM_SIZE_DICT);
}
END_TEST

/*
 * A keys header read once serves the next read of it (a dict's size, then
 * its referents) while the target's cache holds what it read, not after.
 */
START_TEST(test_dict_keys_memo)
{
  pm_addr_t key = ascii("a"), value = ascii("b");
  pm_addr_t d = dict(3, 1, 1, &key, &value), k = 0;
  struct pm_dict_keys dk;

  ck_assert_int_eq(pm__py_read_u64(&py, d + (pm_addr_t)L->dict_keys, &k), 0);
  ck_assert_int_eq(pm__dict_keys_read(&py, k, &dk), 0);
  ck_assert_int_eq(dk.nentries, 1);
  fake_put(&f, k, L->dictkeys_nentries, 2);
  ck_assert_int_eq(pm__dict_keys_read(&py, k, &dk), 0);
  ck_assert_int_eq(dk.nentries, 1);
  ck_assert_int_eq(pm_target_pause(py.t), 0);
  ck_assert_int_eq(pm__dict_keys_read(&py, k, &dk), 0);
  ck_assert_int_eq(dk.nentries, 2);
  ck_assert_int_eq(pm_target_resume(py.t), 0);
}
END_TEST

START_TEST(test_dict_get_str)
{
  pm_addr_t keys[] = { ascii("__module__"), ascii("__doc__"), ascii("x") };
  pm_addr_t values[] = { ascii("mymod"), 0x1234, 0x5678 };
  pm_addr_t d = dict(3, 1, 3, keys, values), v = 1;

  flush();
  ck_assert_int_eq(pm__dict_get_str(&py, d, "x", &v), 0);
  ck_assert_uint_eq(v, 0x5678);
  flush();
  ck_assert_int_eq(pm__dict_get_str(&py, d, "__doc__", &v), 0);
  ck_assert_uint_eq(v, 0x1234);
  flush();
  ck_assert_int_eq(pm__dict_get_str(&py, d, "__qualname__", &v), 0);
  ck_assert_uint_eq(v, 0);
}
END_TEST

/* ---- not a type --------------------------------------------------------- */

START_TEST(test_garbage_type)
{
  pm_addr_t zeros = fake_alloc(&f, 1024, 0);
  pm_addr_t s = ascii("not a type");
  pm_addr_t wild = fake_alloc(&f, 64, 0);
  struct pm_type_info ti;

  fake_put(&f, wild, L->object_type, GAP); /* its "type" is unmapped */
  flush();
  ck_assert_int_eq(pm__type_read(&py, 0, &ti), PM_ECORRUPT);
  flush();
  ck_assert_int_eq(pm__type_read(&py, GAP, &ti), PM_ECORRUPT);
  flush();
  ck_assert_int_eq(pm__type_read(&py, NOREAD, &ti), PM_ECORRUPT);
  flush();
  ck_assert_int_eq(pm__type_read(&py, DEQUE + 1, &ti), PM_ECORRUPT);
  flush();
  ck_assert_int_eq(pm__type_read(&py, zeros, &ti), PM_ECORRUPT);
  flush();
  ck_assert_int_eq(pm__type_read(&py, s, &ti), PM_ECORRUPT);
  flush();
  ck_assert_int_eq(pm__type_read(&py, wild, &ti), PM_ECORRUPT);
  flush();
  ck_assert_int_eq(pm__type_read(&py, UINT64_MAX - 7, &ti), PM_ECORRUPT);
  flush();
  ck_assert_int_eq(pm__type_read(&py, HEAP + HEAP_LEN - 8, &ti), PM_ECORRUPT);
}
END_TEST

START_TEST(test_garbage_type_fields)
{
  struct pm_type_info ti;
  pm_addr_t t = static_type("neg", 0, -16, 0, OBJECT), loop;

  flush();
  ck_assert_int_eq(pm__type_read(&py, t, &ti), PM_ECORRUPT);
  t = static_type("huge", 0, 16, INT64_MAX, OBJECT);
  flush();
  ck_assert_int_eq(pm__type_read(&py, t, &ti), PM_ECORRUPT);
  /* A heap type whose qualname is not a str: an error, not a crash. */
  t = heap_type("m", "q", 0x5610, 24, OBJECT);
  fake_put(&f, t, L->heaptype_qualname, GAP);
  flush();
  ck_assert_int_lt(pm__type_read(&py, t, &ti), 0);
  t = heap_type("m", "q", 0x5610, 24, OBJECT);
  fake_put(&f, t, L->heaptype_qualname,
           fake_alloc(&f, 64, 0) /* zeros: kind 0 */);
  flush();
  ck_assert_int_lt(pm__type_read(&py, t, &ti), 0);
  /* tp_base pointing at itself ends. */
  loop = static_type("m.Loop", 0, 16, 0, 0);
  fake_put(&f, loop, L->type_base, loop);
  flush();
  ck_assert_int_le(pm__type_read(&py, loop, &ti), 0);
  /* tp_name into unmapped memory. */
  t = static_type("x", 0, 16, 0, OBJECT);
  fake_put(&f, t, L->type_name, GAP);
  flush();
  ck_assert_int_lt(pm__type_read(&py, t, &ti), 0);
}
END_TEST

/* ---- str ---------------------------------------------------------------- */

static const char *
str(pm_addr_t s)
{
  static char buf[PM_KIND_NAME_MAX];

  flush();
  ck_assert_int_eq(pm__str_read(&py, s, buf, sizeof(buf)), 0);
  return buf;
}

START_TEST(test_str_ascii)
{
  ck_assert_str_eq(str(ascii("hello world")), "hello world");
  ck_assert_str_eq(str(ascii("")), "");
}
END_TEST

START_TEST(test_str_latin1)
{
  static const uint32_t cp[] = { 'h', 0xe9, 'l', 'l', 'o' };

  ck_assert_str_eq(str(compact(1, cp, 5)), "h\xc3\xa9llo"); /* héllo */
}
END_TEST

START_TEST(test_str_ucs2)
{
  static const uint32_t cp[] = { 0x20ac, ' ', 0xe9, 0x4e2d };

  ck_assert_str_eq(str(compact(2, cp, 4)),
                   "\xe2\x82\xac \xc3\xa9\xe4\xb8\xad"); /* "€ é中" */
}
END_TEST

START_TEST(test_str_ucs4)
{
  static const uint32_t cp[] = { 0x1f600, 'x', 0xe9, 0x10ffff };

  ck_assert_str_eq(str(compact(4, cp, 4)),
                   "\xf0\x9f\x98\x80x\xc3\xa9\xf4\x8f\xbf\xbf");
}
END_TEST

START_TEST(test_str_legacy)
{
  /* Not compact: the characters live behind PyUnicodeObject.data. */
  static const uint16_t chars[] = { 'o', 'l', 0xe9, 0 };
  pm_addr_t o = fake_object(&f, L, STR, (size_t)L->unicode_size, 0);
  pm_addr_t data = fake_alloc(&f, sizeof(chars), 0);

  memcpy(fake_at(&f, data, sizeof(chars)), chars, sizeof(chars));
  fake_put(&f, o, L->ascii_length, 3);
  fake_put_u32(&f, o + (pm_addr_t)L->ascii_state, ST_KIND(2) | ST_READY);
  fake_put(&f, o, L->unicode_data, data);
  ck_assert_str_eq(str(o), "ol\xc3\xa9");
}
END_TEST

START_TEST(test_str_cut)
{
  static const uint32_t smileys[] = { 0x1f600, 0x1f600 };
  char buf[6];

  flush();
  ck_assert_int_eq(pm__str_read(&py, ascii("hello"), buf, 4), 0);
  ck_assert_str_eq(buf, "hel");
  /* Never half a character. */
  flush();
  ck_assert_int_eq(pm__str_read(&py, compact(4, smileys, 2), buf, 6), 0);
  ck_assert_str_eq(buf, "\xf0\x9f\x98\x80");
  flush();
  ck_assert_int_eq(pm__str_read(&py, compact(4, smileys, 2), buf, 4), 0);
  ck_assert_str_eq(buf, "");
}
END_TEST

START_TEST(test_str_corrupt)
{
  char buf[32];
  pm_addr_t s;

  s = ascii("abc"); /* kind 3 does not exist */
  fake_put_u32(&f, s + (pm_addr_t)L->ascii_state,
               ST_KIND(3) | ST_COMPACT | ST_READY);
  flush();
  ck_assert_int_eq(pm__str_read(&py, s, buf, sizeof(buf)), PM_ECORRUPT);
  s = ascii("abc"); /* ASCII but 2 bytes a character */
  fake_put_u32(&f, s + (pm_addr_t)L->ascii_state,
               ST_KIND(2) | ST_COMPACT | ST_ASCII | ST_READY);
  flush();
  ck_assert_int_eq(pm__str_read(&py, s, buf, sizeof(buf)), PM_ECORRUPT);
  s = ascii("abc");
  fake_put(&f, s, L->ascii_length, (uint64_t)-5);
  flush();
  ck_assert_int_eq(pm__str_read(&py, s, buf, sizeof(buf)), PM_ECORRUPT);
  s = compact(4, (const uint32_t[]){ 0x110000 }, 1); /* beyond Unicode */
  flush();
  ck_assert_int_eq(pm__str_read(&py, s, buf, sizeof(buf)), PM_ECORRUPT);
  flush();
  ck_assert_int_eq(pm__str_read(&py, GAP, buf, sizeof(buf)), -EFAULT);
  /* A length running off the mapping. */
  s = ascii("abc");
  fake_put(&f, s, L->ascii_length, 150);
  memmove(fake_at(&f, HEAP + HEAP_LEN - L->ascii_size - 4,
                  (size_t)L->ascii_size + 4),
          fake_at(&f, s, (size_t)L->ascii_size + 4), (size_t)L->ascii_size + 4);
  flush();
  ck_assert_int_eq(
      pm__str_read(&py, HEAP + HEAP_LEN - L->ascii_size - 4, buf, sizeof(buf)),
      -EFAULT);
}
END_TEST

/* ---- sys.getsizeof() ---------------------------------------------------- */

START_TEST(test_size_list)
{
  pm_addr_t l = fake_object(&f, L, LIST, 40, 16);

  ck_assert_uint_eq(size_of(LIST, l), 56); /* sys.getsizeof([]) */
  /* l = []; 5 x l.append(i): allocated 8 */
  fake_put(&f, l, L->varobject_ob_size, 5);
  fake_put(&f, l, L->list_allocated, 8);
  ck_assert_uint_eq(size_of(LIST, l), 120); /* 40 + 8 * 8 + 16 */
}
END_TEST

START_TEST(test_size_tuple)
{
  pm_addr_t t = fake_object(&f, L, TUPLE, 24 + 3 * 8, 16);

  fake_put(&f, t, L->varobject_ob_size, 3);
  ck_assert_uint_eq(size_of(TUPLE, t), 64); /* sys.getsizeof((1, 2, [3])) */
}
END_TEST

START_TEST(test_size_dict)
{
  pm_addr_t keys[] = { ascii("a"), ascii("b") };
  pm_addr_t values[] = { 0x1000, 0x2000 };

  /*
   * {'a': 1, 'b': 2}: 48 + keys (32 + 8 one-byte indices + 5 usable x 16)
   * + 16 GC head = 184, as sys.getsizeof() says in 3.11.
   */
  ck_assert_uint_eq(size_of(DICT, dict(3, 1, 2, keys, values)), 184);
}
END_TEST

START_TEST(test_size_dict_general)
{
  /*
   * {i: i for i in range(100)}: 256 slots, 2-byte indices, general
   * entries: 48 + 32 + 512 + 170 x 24 + 16 = 4688.
   */
  pm_addr_t keys[100], values[100];

  for (int i = 0; i < 100; i++)
    keys[i] = values[i] = 0x1000 + 32 * (pm_addr_t)i;
  ck_assert_uint_eq(size_of(DICT, dict(8, 0, 100, keys, values)), 4688);
}
END_TEST

START_TEST(test_size_dict_empty)
{
  /*
   * {} shares the static Py_EMPTY_KEYS (3.11: dk_refcnt 0xea in a fresh
   * interpreter, dk_log2_size 0, dk_log2_index_bytes 0, kind UNICODE), so
   * sys.getsizeof({}) is 48 + 16 = 64.  d.clear() leaves the same.
   */
  pm_addr_t k = fake_alloc(&f, 48, 0), d = fake_object(&f, L, DICT, 48, 16);

  fake_put(&f, k, L->dictkeys_refcnt, 0xea);
  fake_put_u8(&f, k + (pm_addr_t)L->dictkeys_kind, 1);
  memset(fake_at(&f, k + (pm_addr_t)L->dictkeys_indices, 8), 0xff, 8);
  fake_put(&f, d, L->dict_keys, k);
  ck_assert_uint_eq(size_of(DICT, d), 64);
}
END_TEST

START_TEST(test_size_dict_split)
{
  /*
   * class C: pass; c = C(); c.a = 1; c.__dict__: split, the keys shared
   * with C (dk_refcnt 2, 64 slots, dk_usable 28, dk_nentries 1):
   * 48 + (1 + 28) x 8 + 16 = 296.
   */
  pm_addr_t key = ascii("a"), value = 0x1000;
  pm_addr_t d = dict(6, 2, 1, &key, &value), k,
            values = fake_alloc(&f, 30 * 8, 0);

  ck_assert_int_eq(pm_target_read_u64(py.t, d + (pm_addr_t)L->dict_keys, &k),
                   0);
  fake_put(&f, k, L->dictkeys_refcnt, 2);
  fake_put(&f, k, L->dictkeys_usable, 28);
  fake_put(&f, d, L->dict_values, values);
  ck_assert_uint_eq(size_of(DICT, d), 296);
}
END_TEST

START_TEST(test_size_set)
{
  pm_addr_t s = fake_object(&f, L, SET, 200, 16),
            table = fake_alloc(&f, 32 * 16, 0);

  /* set(): the table is the smalltable inside the object. */
  fake_put(&f, s, L->set_mask, 7);
  fake_put(&f, s, L->set_table, s + (pm_addr_t)L->set_smalltable);
  ck_assert_uint_eq(size_of(SET, s), 216);
  /* set(range(10)): 32 entries elsewhere, 200 + 32 x 16 + 16 = 728. */
  fake_put(&f, s, L->set_used, 10);
  fake_put(&f, s, L->set_mask, 31);
  fake_put(&f, s, L->set_table, table);
  ck_assert_uint_eq(size_of(SET, s), 728);
}
END_TEST

START_TEST(test_size_instance)
{
  /* An instance with a __dict__: 24 + GC head 16 + managed dict 16 = 56. */
  pm_addr_t c = heap_type("mymod", "C", 0x5610, 24, OBJECT);
  pm_addr_t o = fake_object(&f, L, c, 24, 32);

  ck_assert_uint_ne(type_info(c).flags & F_MANAGED_DICT, 0);
  ck_assert_uint_eq(size_of(c, o), 56);
}
END_TEST

START_TEST(test_size_slots)
{
  /* class S: __slots__ = ()  (flags 0x85600, basicsize 16): 16 + 16. */
  pm_addr_t s = heap_type("mymod", "S", 0x85600, 16, OBJECT);

  ck_assert_uint_eq(size_of(s, fake_object(&f, L, s, 16, 16)), 32);
}
END_TEST

START_TEST(test_size_static_type)
{
  /* sys.getsizeof(int) == 424 in 3.11: sizeof(PyTypeObject) + GC head. */
  ck_assert_uint_eq(size_of(TYPE, INT), 424);
  ck_assert_uint_eq(size_of(TYPE, DEQUE), 424);
}
END_TEST

START_TEST(test_size_heap_type)
{
  /*
   * class P: pass -- sys.getsizeof(P) == 1688: 904 + cached keys (32 + 64
   * indices + 42 usable x 16, split) + 16.
   */
  pm_addr_t p = heap_type("mymod", "P", 0x5610, 24, OBJECT);
  pm_addr_t k = fake_alloc(&f, 32 + 64 + 42 * 16, 0);

  ck_assert_uint_eq(size_of(TYPE, p), 904 + 16);
  fake_put(&f, k, L->dictkeys_refcnt, 1);
  fake_put_u8(&f, k + (pm_addr_t)L->dictkeys_log2_size, 6);
  fake_put_u8(&f, k + (pm_addr_t)L->dictkeys_log2_index_bytes, 6);
  fake_put_u8(&f, k + (pm_addr_t)L->dictkeys_kind, 2);
  fake_put(&f, k, L->dictkeys_usable, 30);
  fake_put(&f, p, L->heaptype_cached_keys, k);
  ck_assert_uint_eq(size_of(TYPE, p), 1688);
}
END_TEST

START_TEST(test_size_str)
{
  static const uint32_t hello[] = { 'h', 0xe9, 'l', 'l', 'o' };
  uint32_t euro[10], smile[5];

  for (int i = 0; i < 10; i++)
    euro[i] = 0x20ac;
  for (int i = 0; i < 5; i++)
    smile[i] = 0x1f600;
  /* sys.getsizeof() in 3.11 of 'hello world' * 3, 'h\xe9llo', ... */
  ck_assert_uint_eq(size_of(STR, ascii("hello worldhello worldhello world")),
                    82);
  ck_assert_uint_eq(size_of(STR, compact(1, hello, 5)), 78);
  ck_assert_uint_eq(size_of(STR, compact(2, euro, 10)), 94); /* '\u20ac'*10 */
  ck_assert_uint_eq(size_of(STR, compact(4, smile, 5)), 96); /* U+1F600 * 5 */
}
END_TEST

START_TEST(test_size_int)
{
  pm_addr_t i;

  /* 3.11: 24 + 4 x max(|ob_size|, 1). */
  i = fake_object(&f, L, INT, 28, 0);
  ck_assert_uint_eq(size_of(INT, i), 28); /* 0 */
  fake_put(&f, i, L->varobject_ob_size, 1);
  ck_assert_uint_eq(size_of(INT, i), 28); /* 12345 */
  fake_put(&f, i, L->varobject_ob_size, 7);
  ck_assert_uint_eq(size_of(INT, i), 52); /* 2**200 + 1 */
  fake_put(&f, i, L->varobject_ob_size, (uint64_t)-4);
  ck_assert_uint_eq(size_of(INT, i), 40); /* -(2**100) */
}
END_TEST

START_TEST(test_size_corrupt)
{
  pm_addr_t l = fake_object(&f, L, LIST, 40, 16),
            d = fake_object(&f, L, DICT, 48, 16);

  fake_put(&f, l, L->list_allocated, (uint64_t)-1);
  ck_assert_int_eq(size_error(LIST, l), PM_ECORRUPT);
  ck_assert_int_eq(size_error(LIST, GAP), -EFAULT);
  /* A dict whose keys pointer is garbage. */
  fake_put(&f, d, L->dict_keys, GAP);
  ck_assert_int_lt(size_error(DICT, d), 0);
  {
    /* 2**200 slots, and more entries than a table of 8 can hold. */
    pm_addr_t k1 = fake_alloc(&f, 64, 0), k2 = fake_alloc(&f, 64, 0);

    fake_put(&f, k1, L->dictkeys_refcnt, 1);
    fake_put_u8(&f, k1 + (pm_addr_t)L->dictkeys_log2_size, 200);
    fake_put(&f, d, L->dict_keys, k1);
    ck_assert_int_eq(size_error(DICT, d), PM_ECORRUPT);
    fake_put(&f, k2, L->dictkeys_refcnt, 1);
    fake_put_u8(&f, k2 + (pm_addr_t)L->dictkeys_log2_size, 3);
    fake_put_u8(&f, k2 + (pm_addr_t)L->dictkeys_log2_index_bytes, 3);
    fake_put_u8(&f, k2 + (pm_addr_t)L->dictkeys_kind, 1);
    fake_put(&f, k2, L->dictkeys_nentries, 6);
    fake_put(&f, d, L->dict_keys, k2);
    ck_assert_int_eq(size_error(DICT, d), PM_ECORRUPT);
  }
}
END_TEST

/* ---- own __sizeof__ implementations (3.11.7 values) ------------------- */

START_TEST(test_size_code)
{
  /*
   * def f(a, b): c = a + b; return c  -- code.__basicsize__ 184,
   * __itemsize__ 2, 8 code units: getsizeof 200 (not a GC object).
   */
  pm_addr_t code = static_type("code", 0x81100, 184, 2, OBJECT);
  pm_addr_t co = fake_object(&f, L, code, 200, 0),
            extra = fake_alloc(&f, 24, 0);

  py.types[PM_T_CODE] = code;
  fake_put(&f, co, L->varobject_ob_size, 8);
  ck_assert_int_eq(type_info(code).sizer, PM_SIZE_CODE);
  ck_assert_uint_eq(size_of(code, co), 200);
  /* 7 units round up to a pointer: _PyObject_VAR_SIZE. */
  fake_put(&f, co, L->varobject_ob_size, 7);
  ck_assert_uint_eq(size_of(code, co), 200);
  /* co_extra with two slots: _PyCodeObjectExtra is 16, plus one more. */
  fake_put(&f, co, L->varobject_ob_size, 8);
  fake_put(&f, extra, 0, 2);
  fake_put(&f, co, L->code_extra, extra);
  ck_assert_uint_eq(size_of(code, co), 224);
}
END_TEST

START_TEST(test_size_deque)
{
  /* deque(range(100)): leftindex 1, two blocks of 528; deque(): one. */
  pm_addr_t d = fake_object(&f, L, DEQUE, 216, 16);

  fake_put(&f, d, L->varobject_ob_size, 100);
  fake_put(&f, d, L->deque_leftindex, 1);
  ck_assert_uint_eq(size_of(DEQUE, d), 1288);
  fake_put(&f, d, L->varobject_ob_size, 0);
  fake_put(&f, d, L->deque_leftindex, 32);
  ck_assert_uint_eq(size_of(DEQUE, d), 760);
  fake_put(&f, d, L->deque_leftindex, 64); /* beyond BLOCKLEN: not a deque */
  ck_assert_int_eq(size_error(DEQUE, d), PM_ECORRUPT);
}
END_TEST

START_TEST(test_size_struct)
{
  /* 3.11's Struct('<QQ'): two codes and the end one; GC head 16. */
  pm_addr_t st = heap_type("_struct", "Struct", F_HAVE_GC, 56, OBJECT);
  pm_addr_t s = fake_object(&f, L, st, 56, 16);
  pm_addr_t codes = fake_alloc(&f, 4 * (size_t)L->formatcode_size, 16);

  ck_assert_int_eq(type_info(st).sizer, PM_SIZE_STRUCT);
  ck_assert_int_eq(type_info(st).walker, PM_WALK_FIELD);
  ck_assert_int_eq(type_info(st).held[0], L->structobj_format);
  fake_put(&f, s, L->structobj_len, 2);
  fake_put(&f, s, L->structobj_codes, codes);
  fake_put(&f, codes, L->formatcode_fmtdef, 0x1000);
  fake_put(&f, codes + (pm_addr_t)L->formatcode_size, L->formatcode_fmtdef,
           0x1000);
  ck_assert_uint_eq(size_of(st, s), 168);
  /* Two million items of one code ("2000000B"): a Struct. */
  fake_put(&f, s, L->structobj_len, 2000000);
  ck_assert_uint_eq(size_of(st, s), 168);
  /* Not set up (3.13+): the end code alone. */
  fake_put(&f, s, L->structobj_codes, 0);
  ck_assert_uint_eq(size_of(st, s), 104);
  /* More codes than items: no Struct has them. */
  fake_put(&f, s, L->structobj_codes, codes);
  fake_put(&f, s, L->structobj_len, 1);
  ck_assert_int_eq(size_error(st, s), PM_ECORRUPT);
  fake_put(&f, s, L->structobj_len, -1);
  ck_assert_int_eq(size_error(st, s), PM_ECORRUPT);
  /* A name is only a claim: the struct's size must agree. */
  ck_assert_int_eq(
      type_info(heap_type("_struct", "Struct", F_HAVE_GC, 64, OBJECT)).sizer,
      PM_SIZE_DEFAULT);
}
END_TEST

START_TEST(test_size_array)
{
  /* array('d') with room for 10 items; a subclass with one slot. */
  pm_addr_t arr = heap_type("array", "array", F_HAVE_GC, 64, OBJECT);
  pm_addr_t sub = heap_type("__main__", "PmArray", F_HAVE_GC, 72, arr);
  pm_addr_t a = fake_object(&f, L, arr, 64, 16);
  pm_addr_t b = fake_object(&f, L, sub, 72, 16);
  pm_addr_t descr = fake_alloc(&f, (size_t)L->arraydescr_size, 16);

  ck_assert_int_eq(type_info(arr).sizer, PM_SIZE_ARRAY);
  ck_assert_int_eq(type_info(sub).sizer, PM_SIZE_ARRAY);
  *(int32_t *)fake_at(&f, descr + (pm_addr_t)L->arraydescr_itemsize, 4) = 8;
  fake_put(&f, a, L->array_allocated, 10);
  fake_put(&f, a, L->array_descr, descr);
  fake_put(&f, b, L->array_allocated, 10);
  fake_put(&f, b, L->array_descr, descr);
  ck_assert_uint_eq(size_of(arr, a), 16 + 64 + 80);
  ck_assert_uint_eq(size_of(sub, b), 16 + 72 + 80);
  /* No item is 0 bytes wide, and no array has room for fewer than 0. */
  *(int32_t *)fake_at(&f, descr + (pm_addr_t)L->arraydescr_itemsize, 4) = 0;
  ck_assert_int_eq(size_error(arr, a), PM_ECORRUPT);
  *(int32_t *)fake_at(&f, descr + (pm_addr_t)L->arraydescr_itemsize, 4) = 8;
  fake_put(&f, a, L->array_allocated, -1);
  ck_assert_int_eq(size_error(arr, a), PM_ECORRUPT);
}
END_TEST

START_TEST(test_size_element)
{
  /* 3.11's Element: GC head 16, basicsize 56; its extra 64 bytes. */
  pm_addr_t et
      = heap_type("xml.etree.ElementTree", "Element", F_HAVE_GC, 56, OBJECT);
  pm_addr_t e = fake_object(&f, L, et, 56, 16);
  pm_addr_t extra = fake_alloc(&f, (size_t)L->elemextra_size, 16);

  ck_assert_int_eq(L->elemextra_size, 64);
  ck_assert_int_eq(type_info(et).sizer, PM_SIZE_ELEMENT);
  ck_assert_int_eq(type_info(et).walker, PM_WALK_ELEMENT);
  /* No attributes nor children: no extra. */
  ck_assert_uint_eq(size_of(et, e), 16 + 56);
  /* Children in the extra's own slots. */
  fake_put(&f, e, L->element_extra, extra);
  fake_put(&f, extra, L->elemextra_allocated, 4);
  fake_put(&f, extra, L->elemextra_children,
           extra + (pm_addr_t)L->elemextra_static);
  ck_assert_uint_eq(size_of(et, e), 16 + 56 + 64);
  /* Ten slots of their own. */
  fake_put(&f, extra, L->elemextra_allocated, 10);
  fake_put(&f, extra, L->elemextra_children, 0x7000);
  ck_assert_uint_eq(size_of(et, e), 16 + 56 + 64 + 80);
  fake_put(&f, extra, L->elemextra_allocated, -1);
  ck_assert_int_eq(size_error(et, e), PM_ECORRUPT);
  /* A name is only a claim: the struct's size must agree. */
  ck_assert_int_eq(type_info(heap_type("xml.etree.ElementTree", "Element",
                                       F_HAVE_GC, 64, OBJECT))
                       .sizer,
                   PM_SIZE_DEFAULT);
}
END_TEST

START_TEST(test_size_decimal)
{
  /* 3.11's Decimal: no GC, basicsize 104, four digit words inside. */
  pm_addr_t dt = heap_type("decimal", "Decimal", 0, 104, OBJECT);
  pm_addr_t d = fake_object(&f, L, dt, 104, 0);

  ck_assert_int_eq(type_info(dt).sizer, PM_SIZE_DECIMAL);
  /* Its digits inside it: MPD_STATIC | MPD_STATIC_DATA (0x30), negative. */
  fake_put_u8(&f, d + (pm_addr_t)L->decimal_flags, 0x30 | 1);
  fake_put(&f, d, L->decimal_alloc, 4);
  ck_assert_uint_eq(size_of(dt, d), 104);
  /* Six words of its own (Decimal('1' * 100)): MPD_STATIC alone. */
  fake_put_u8(&f, d + (pm_addr_t)L->decimal_flags, 0x10);
  fake_put(&f, d, L->decimal_alloc, 6);
  ck_assert_uint_eq(size_of(dt, d), 104 + 48);
  /* Shared or constant digits are not its own. */
  fake_put_u8(&f, d + (pm_addr_t)L->decimal_flags, 0x10 | 64);
  ck_assert_uint_eq(size_of(dt, d), 104);
  fake_put_u8(&f, d + (pm_addr_t)L->decimal_flags, 0x10 | 128);
  ck_assert_uint_eq(size_of(dt, d), 104);
  fake_put_u8(&f, d + (pm_addr_t)L->decimal_flags, 0);
  fake_put(&f, d, L->decimal_alloc, -1);
  ck_assert_int_eq(size_error(dt, d), PM_ECORRUPT);
}
END_TEST

START_TEST(test_size_odict)
{
  /*
   * OrderedDict(a=1, b=2, c=3): the dict's 232 bytes with OrderedDict's
   * basicsize 112, 8 fast nodes, 3 list nodes of 32: getsizeof 408.
   */
  pm_addr_t odict
      = static_type("collections.OrderedDict", 0x20485540, 112, 0, DICT);
  pm_addr_t keys[] = { ascii("a"), ascii("b"), ascii("c") };
  pm_addr_t values[] = { 0x1000, 0x2000, 0x3000 };
  pm_addr_t d = dict(3, 1, 3, keys, values);

  py.types[PM_T_ODICT] = odict;
  fake_put(&f, d, L->object_type, odict);
  fake_put(&f, d, L->odict_first, 0x4000);
  fake_put(&f, d, L->odict_fast_nodes_size, 8);
  ck_assert_int_eq(type_info(odict).sizer, PM_SIZE_ODICT);
  ck_assert_uint_eq(size_of(odict, d), 408);
  fake_put(&f, d, L->odict_first, 0); /* empty list: no nodes */
  ck_assert_uint_eq(size_of(odict, d), 408 - 96);
}
END_TEST

START_TEST(test_refcnt_live)
{
  /* 3.11: any positive count. */
  ck_assert(pm__refcnt_live(&py, 1));
  ck_assert(!pm__refcnt_live(&py, 0));
  ck_assert(!pm__refcnt_live(&py, (uint64_t)-1));
  /* 3.12: immortal objects hold UINT_MAX. */
  py.version = 0x030c01;
  ck_assert(pm__refcnt_live(&py, 0xffffffffull));
  ck_assert(!pm__refcnt_live(&py, 0));
  /* 3.14: the count is the low 32 bits; flags live in the top 16. */
  py.version = 0x030e07;
  ck_assert(pm__refcnt_live(&py, (3ull << 30) | (5ull << 48)));
  ck_assert(!pm__refcnt_live(&py, 5ull << 48));
  py.version = 0x030b07;
}
END_TEST

START_TEST(test_inline_size)
{
  struct pm_type_info ti;
  uint64_t size;
  pm_addr_t l = fake_object(&f, L, LIST, 40, 16), s = ascii("hello");

  /* A list's items live elsewhere: the object is its basicsize. */
  fake_put(&f, l, L->list_allocated, 100);
  ti = type_info(LIST);
  flush();
  ck_assert_int_eq(pm__object_inline_size(&py, &ti, l, &size), 0);
  ck_assert_uint_eq(size, 40);
  ck_assert_uint_eq(pm__object_presize(&py, &ti, l), 16);
  /* A compact str holds its characters. */
  ti = type_info(STR);
  flush();
  ck_assert_int_eq(pm__object_inline_size(&py, &ti, s, &size), 0);
  ck_assert_uint_eq(size, (uint64_t)L->ascii_size + 6);
  ck_assert_uint_eq(pm__object_presize(&py, &ti, s), 0);
}
END_TEST

static Suite *
object_suite(void)
{
  Suite *s = suite_create("object");
  TCase *tc;

  tc = tcase_create("types");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_static_type_name);
  tcase_add_test(tc, test_builtin_names);
  tcase_add_test(tc, test_type_type);
  tcase_add_test(tc, test_heap_type_name);
  tcase_add_test(tc, test_heap_type_builtins);
  tcase_add_test(tc, test_heap_type_no_module);
  tcase_add_test(tc, test_heap_type_non_ascii);
  tcase_add_test(tc, test_static_type_name_not_utf8);
  tcase_add_test(tc, test_heap_type_surrogate);
  tcase_add_test(tc, test_heap_type_module_corrupt);
  tcase_add_test(tc, test_long_name_cut_utf8);
  tcase_add_test(tc, test_dict_subclass);
  tcase_add_test(tc, test_dict_get_str);
  tcase_add_test(tc, test_dict_keys_memo);
  tcase_add_test(tc, test_garbage_type);
  tcase_add_test(tc, test_garbage_type_fields);
  suite_add_tcase(s, tc);

  tc = tcase_create("str");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_str_ascii);
  tcase_add_test(tc, test_str_latin1);
  tcase_add_test(tc, test_str_ucs2);
  tcase_add_test(tc, test_str_ucs4);
  tcase_add_test(tc, test_str_legacy);
  tcase_add_test(tc, test_str_cut);
  tcase_add_test(tc, test_str_corrupt);
  suite_add_tcase(s, tc);

  tc = tcase_create("getsizeof");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_size_list);
  tcase_add_test(tc, test_size_tuple);
  tcase_add_test(tc, test_size_dict);
  tcase_add_test(tc, test_size_dict_general);
  tcase_add_test(tc, test_size_dict_empty);
  tcase_add_test(tc, test_size_dict_split);
  tcase_add_test(tc, test_size_set);
  tcase_add_test(tc, test_size_instance);
  tcase_add_test(tc, test_size_slots);
  tcase_add_test(tc, test_size_static_type);
  tcase_add_test(tc, test_size_heap_type);
  tcase_add_test(tc, test_size_str);
  tcase_add_test(tc, test_size_int);
  tcase_add_test(tc, test_size_corrupt);
  tcase_add_test(tc, test_size_code);
  tcase_add_test(tc, test_size_deque);
  tcase_add_test(tc, test_size_struct);
  tcase_add_test(tc, test_size_array);
  tcase_add_test(tc, test_size_element);
  tcase_add_test(tc, test_size_decimal);
  tcase_add_test(tc, test_size_odict);
  tcase_add_test(tc, test_refcnt_live);
  tcase_add_test(tc, test_inline_size);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  SRunner *sr = srunner_create(object_suite());
  int failed;

  srunner_set_tap(sr, "-");
  srunner_run_all(sr, CK_SILENT);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
