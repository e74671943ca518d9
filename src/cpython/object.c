/* SPDX-License-Identifier: MIT */
/* object.c -- type objects, names and sys.getsizeof() read from outside */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpython/object.h"
#include "pmpeek/error.h"
#include "utf8.h"

/* Deep enough for any real class hierarchy; a loop in tp_base ends here. */
#define MAX_BASE_DEPTH 256
/* Longest str read for a name; longer ones are cut. */
#define MAX_NAME_CHARS 200
/* A dict bigger than this is not a type's namespace we trust. */
#define MAX_DICT_LOG2 30
/* Entries pm__dict_get_str() compares before it gives up. */
#define MAX_DICT_SEARCH 4096

struct str_shape {
  int64_t length;
  unsigned kind; /* 1, 2 or 4 bytes per character */
  int compact, ascii;
  pm_addr_t data;
};

static int str_shape(struct pm_python *py, pm_addr_t s, struct str_shape *sh);

int
pm__str_read(struct pm_python *py, pm_addr_t str, char *buf, size_t len)
{
  struct str_shape sh;
  unsigned char raw[MAX_NAME_CHARS * 4];
  size_t n, pos = 0;
  int err;

  if (len == 0)
    return -EINVAL;
  buf[0] = '\0';
  if ((err = str_shape(py, str, &sh)))
    return err;
  if (sh.length > 0 && !sh.data)
    return PM_ECORRUPT;
  n = sh.length < MAX_NAME_CHARS ? (size_t)sh.length : MAX_NAME_CHARS;
  if (n && (err = pm__py_read(py, sh.data, raw, n * sh.kind)))
    return err;
  for (size_t i = 0; i < n; i++) {
    uint32_t c;
    if (sh.kind == 1)
      c = raw[i];
    else if (sh.kind == 2)
      c = (uint32_t)raw[2 * i] | (uint32_t)raw[2 * i + 1] << 8;
    else
      memcpy(&c, raw + 4 * i, 4);
    /* Full (1) ends the text; past U+10FFFF ends it as corrupt. */
    if ((err = pm__utf8_put(buf, len, &pos, c)))
      break;
  }
  buf[pos] = '\0';
  return err < 0 ? err : 0;
}

int
pm__dict_keys_read(struct pm_python *py, pm_addr_t keys, struct pm_dict_keys *k)
{
  const struct pm_layout *L = py->L;
  unsigned char h[64];
  int err;

  if (keys && keys == py->keys_memo.addr
      && py->keys_memo.epoch == pm__target_epoch(py->t)) {
    *k = py->keys_memo.k;
    return 0;
  }
  /* The fixed part in one read: a census reads millions of these. */
  if (L->dictkeys_indices <= 0 || (size_t)L->dictkeys_indices > sizeof(h))
    return PM_EOFFSETS;
  if ((err = pm__py_read(py, keys, h, (size_t)L->dictkeys_indices)))
    return err;
  memcpy(&k->refcnt, h + L->dictkeys_refcnt, 8);
  memcpy(&k->nentries, h + L->dictkeys_nentries, 8);
  memcpy(&k->dk_usable, h + L->dictkeys_usable, 8);
  if (L->dictkeys_dk_size >= 0) {
    uint64_t size;
    memcpy(&size, h + L->dictkeys_dk_size, 8);
    /* dk_size 1 is the shared Py_EMPTY_KEYS of every empty dict. */
    if ((size < 8 && size != 1) || (size & (size - 1))
        || size > (1ULL << MAX_DICT_LOG2))
      return PM_ECORRUPT;
    k->size = size;
    k->index_bytes = size <= 0xff            ? 1
                     : size <= 0xffff        ? 2
                     : size <= 0xffffffffULL ? 4
                                             : 8;
    k->index_bytes *= (unsigned)size;
    k->entry_size = (unsigned)L->dictkeyentry_size;
  } else {
    uint8_t log2_size = h[L->dictkeys_log2_size];
    uint8_t log2_index = h[L->dictkeys_log2_index_bytes];
    uint8_t kind = h[L->dictkeys_kind];
    /* log2_size 0 is the shared Py_EMPTY_KEYS of every empty dict. */
    /* index_bytes is 32-bit: 1U << 32 and up would be undefined. */
    if ((log2_size < 3 && log2_size != 0) || log2_size > MAX_DICT_LOG2
        || log2_index > 31 || kind > 2)
      return PM_ECORRUPT;
    k->size = 1ULL << log2_size;
    k->index_bytes = 1U << log2_index;
    /* DICT_KEYS_GENERAL (0) stores the hash; UNICODE and SPLIT do not. */
    k->entry_size = kind == 0 ? (unsigned)L->dictkeyentry_size
                              : (unsigned)L->dictunicodeentry_size;
  }
  k->usable = (k->size << 1) / 3;
  if (k->nentries < 0 || (uint64_t)k->nentries > k->usable || k->dk_usable < 0
      || (uint64_t)k->dk_usable > k->usable)
    return PM_ECORRUPT;
  /* PyDictUnicodeEntry is { key, value }; PyDictKeyEntry has the hash first. */
  if (k->entry_size == (unsigned)L->dictkeyentry_size) {
    k->key_off = (unsigned)L->dictkeyentry_key;
    k->value_off = (unsigned)L->dictkeyentry_value;
  } else {
    k->key_off = 0;
    k->value_off = 8;
  }
  k->entries = keys + L->dictkeys_indices + k->index_bytes;
  py->keys_memo.addr = keys;
  py->keys_memo.epoch = pm__target_epoch(py->t);
  py->keys_memo.k = *k;
  return 0;
}

static uint64_t
keys_bytes(const struct pm_python *py, const struct pm_dict_keys *k)
{
  return (uint64_t)py->L->dictkeys_size + k->index_bytes
         + k->usable * k->entry_size;
}

int
pm__dict_get_str(struct pm_python *py, pm_addr_t dict, const char *key,
                 pm_addr_t *value)
{
  struct pm_dict_keys k;
  pm_addr_t values;
  int err;

  *value = 0;
  if ((err = pm__dict_read(py, dict, &k, &values)))
    return err;
  /* A type's namespace names __module__ first: a long search is garbage. */
  for (int64_t i = 0; i < k.nentries && i < MAX_DICT_SEARCH; i++) {
    pm_addr_t e = k.entries + (pm_addr_t)i * k.entry_size;
    uint64_t kp, vp;
    char text[PM_KIND_NAME_MAX];

    if ((err = pm__py_read_u64(py, e + k.key_off, &kp)))
      return err;
    if (!kp || pm__str_read(py, kp, text, sizeof(text)) != 0
        || strcmp(text, key) != 0)
      continue;
    if (values) /* split table: values live beside the keys */
      err = pm__py_read_u64(py, values + (pm_addr_t)i * 8, &vp);
    else
      err = pm__py_read_u64(py, e + k.value_off, &vp);
    if (err)
      return err;
    *value = vp;
    return 0;
  }
  return 0;
}

int
pm__is_type_object(struct pm_python *py, pm_addr_t type)
{
  uint64_t meta, meta_flags;

  if (!type || (type & 7))
    return 0;
  if (type == py->types[PM_T_TYPE])
    return 1;
  if (pm__py_read_u64(py, type + py->L->object_type, &meta) != 0 || !meta
      || pm__py_read_u64(py, meta + py->L->type_flags, &meta_flags) != 0)
    return 0;
  return (meta_flags & PM_TPFLAGS_TYPE_SUBCLASS) != 0;
}

static int
type_name(struct pm_python *py, pm_addr_t type, uint64_t flags, char *buf,
          size_t len)
{
  const struct pm_layout *L = py->L;
  char module[PM_KIND_NAME_MAX], qualname[PM_KIND_NAME_MAX];
  char name[PM_KIND_NAME_MAX];
  uint64_t p, dict, modobj;
  int err;

  if (!(flags & PM_TPFLAGS_HEAPTYPE)) {
    /* tp_name is "module.name" for static types outside builtins. */
    if ((err = pm__py_read_u64(py, type + L->type_name, &p)))
      return err;
    memset(name, 0, sizeof(name));
    for (size_t i = 0; i + 1 < sizeof(name); i++) {
      if ((err = pm__py_read(py, p + i, &name[i], 1)))
        return err;
      if (!name[i])
        break;
    }
    if (strlen(name) + 1 == sizeof(name))
      pm__utf8_trim(name);
  } else {
    if ((err = pm__py_read_u64(py, type + L->heaptype_qualname, &p))
        || (err = pm__str_read(py, p, qualname, sizeof(qualname))))
      return err;
    strcpy(module, "?");
    if (pm__py_read_u64(py, type + L->type_dict, &dict) == 0 && dict
        && pm__dict_get_str(py, dict, "__module__", &modobj) == 0 && modobj
        && pm__str_read(py, modobj, module, sizeof(module)) != 0)
      strcpy(module, "?");
    /* A name longer than a row is cut, never an error. */
    if (strcmp(module, "builtins") == 0)
      (void)(snprintf(name, sizeof(name), "%s", qualname) < 0);
    else if (snprintf(name, sizeof(name), "%s.%s", module, qualname)
             >= (int)sizeof(name))
      pm__utf8_trim(name);
  }
  /*
   * A static type's tp_name is bytes, and a str may hold a lone surrogate:
   * the kind is valid UTF-8 for every output that needs it (JSON).
   */
  pm__utf8_clean(buf, len, name);
  return 0;
}

static const enum pm_sizer sizer_of_builtin[PM_T__COUNT] = {
  [PM_T_LIST] = PM_SIZE_LIST,
  [PM_T_DICT] = PM_SIZE_DICT,
  [PM_T_SET] = PM_SIZE_SET,
  [PM_T_FROZENSET] = PM_SIZE_SET,
  [PM_T_TYPE] = PM_SIZE_TYPE,
  [PM_T_STR] = PM_SIZE_STR,
  [PM_T_INT] = PM_SIZE_INT,
  [PM_T_BOOL] = PM_SIZE_INT,
  [PM_T_BYTEARRAY] = PM_SIZE_BYTEARRAY,
  [PM_T_CODE] = PM_SIZE_CODE,
  [PM_T_FRAME] = PM_SIZE_FRAME,
  [PM_T_GEN] = PM_SIZE_GEN,
  [PM_T_CORO] = PM_SIZE_GEN,
  [PM_T_ASYNCGEN] = PM_SIZE_GEN,
  [PM_T_ODICT] = PM_SIZE_ODICT,
};

static const enum pm_walker walker_of_builtin[PM_T__COUNT] = {
  [PM_T_TUPLE] = PM_WALK_TUPLE,
  [PM_T_LIST] = PM_WALK_LIST,
  [PM_T_DICT] = PM_WALK_DICT,
  [PM_T_ODICT] = PM_WALK_DICT,
  [PM_T_SET] = PM_WALK_SET,
  [PM_T_FROZENSET] = PM_WALK_SET,
  [PM_T_TYPE] = PM_WALK_TYPE,
  [PM_T_CODE] = PM_WALK_CODE,
  [PM_T_FUNCTION] = PM_WALK_FUNCTION,
  [PM_T_CELL] = PM_WALK_CELL,
  [PM_T_CFUNCTION] = PM_WALK_CFUNCTION,
  [PM_T_GEN] = PM_WALK_GEN,
  [PM_T_CORO] = PM_WALK_GEN,
  [PM_T_ASYNCGEN] = PM_WALK_GEN,
  [PM_T_FRAME] = PM_WALK_FRAME,
  [PM_T_MEMORYVIEW] = PM_WALK_MEMORYVIEW,
  [PM_T_CONTEXT] = PM_WALK_CONTEXT,
  [PM_T_CONTEXTVAR] = PM_WALK_CONTEXTVAR,
  [PM_T_CONTEXTTOKEN] = PM_WALK_CONTEXTTOKEN,
};

/*
 * Types outside the exported symbols whose __sizeof__ or referents are
 * their own, or whose referents are C fields an exported type does not
 * declare as members.  They are known by name, checked against the size
 * of the struct they must have, since a name alone is only a claim.
 * PM_WALK_FIELD: the type's references are the C fields whose offsets are
 * the layout's members at held[] (up to PM_HELD_MAX), called names[].
 */
#define L_(f) offsetof(struct pm_layout, f)
/* Each on one line: clang-format would break them over several. */
/* clang-format off */
#define NONE_HELD { 0 }, { NULL }
#define HELD1(f, n) { L_(f) }, { n }
#define HELD2(f, n, g, m) { L_(f), L_(g) }, { n, m }
#define HELD3(f, n, g, m, h, o) { L_(f), L_(g), L_(h) }, { n, m, o }
/* clang-format on */
static const struct {
  const char *name;
  enum pm_sizer sizer;
  enum pm_walker walker;
  size_t size_field;
  int static_only; /* never a heap type, in any version */
  size_t held[PM_HELD_MAX];
  const char *names[PM_HELD_MAX];
} specials[] = {
  { "collections.deque", PM_SIZE_DEQUE, PM_WALK_DEQUE, L_(deque_size), 0,
    NONE_HELD },
  { "_io.BufferedReader", PM_SIZE_BUFFERED, PM_WALK_NONE, L_(buffered_size), 0,
    NONE_HELD },
  { "_io.BufferedWriter", PM_SIZE_BUFFERED, PM_WALK_NONE, L_(buffered_size), 0,
    NONE_HELD },
  { "_io.BufferedRandom", PM_SIZE_BUFFERED, PM_WALK_NONE, L_(buffered_size), 0,
    NONE_HELD },
  { "_io.TextIOWrapper", PM_SIZE_DEFAULT, PM_WALK_TEXTIO, L_(textio_size), 0,
    NONE_HELD },
  /* Its buffer: in its size when not shared, an object all the same. */
  { "_io.BytesIO", PM_SIZE_BYTESIO, PM_WALK_FIELD, L_(bytesio_size), 0,
    HELD1(bytesio_buf, "buf") },
  { "_struct.Struct", PM_SIZE_STRUCT, PM_WALK_FIELD, L_(structobj_size), 0,
    HELD1(structobj_format, "s_format") },
  /* 3.8's is static, and its tp_name has no module. */
  { "Struct", PM_SIZE_STRUCT, PM_WALK_FIELD, L_(structobj_size), 1,
    HELD1(structobj_format, "s_format") },
  { "_struct.unpack_iterator", PM_SIZE_DEFAULT, PM_WALK_FIELD,
    L_(unpackiter_size), 0,
    HELD2(unpackiter_so, "so", unpackiter_buf_obj, "buf.obj") },
  { "unpack_iterator", PM_SIZE_DEFAULT, PM_WALK_FIELD, L_(unpackiter_size), 1,
    HELD2(unpackiter_so, "so", unpackiter_buf_obj, "buf.obj") },
  { "array.array", PM_SIZE_ARRAY, PM_WALK_NONE, L_(array_size), 0, NONE_HELD },
  { "_asyncio.Task", PM_SIZE_DEFAULT, PM_WALK_TASK, L_(task_size), 0,
    NONE_HELD },
  { "_asyncio.Future", PM_SIZE_DEFAULT, PM_WALK_FUTURE, L_(future_size), 0,
    NONE_HELD },
  { "_queue.SimpleQueue", PM_SIZE_DEFAULT, PM_WALK_SIMPLEQUEUE,
    L_(simplequeue_size), 0, NONE_HELD },
  { "sqlite3.Row", PM_SIZE_DEFAULT, PM_WALK_FIELD, L_(sqliterow_size), 0,
    HELD2(sqliterow_data, "data", sqliterow_description, "description") },
  { "xml.etree.ElementTree.Element", PM_SIZE_ELEMENT, PM_WALK_ELEMENT,
    L_(element_size), 0, NONE_HELD },
  { "xml.etree.ElementTree.TreeBuilder", PM_SIZE_DEFAULT, PM_WALK_FIELD,
    L_(treebuilder_size), 0,
    HELD3(treebuilder_data, "data", treebuilder_root, "root", treebuilder_stack,
          "stack") },
  { "decimal.Decimal", PM_SIZE_DECIMAL, PM_WALK_NONE, L_(decimal_size), 0,
    NONE_HELD },
  { "functools._lru_cache_wrapper", PM_SIZE_DEFAULT, PM_WALK_LRU, L_(lru_size),
    0, NONE_HELD },
  { "functools._lru_list_elem", PM_SIZE_DEFAULT, PM_WALK_FIELD,
    L_(lruelem_size), 0, HELD2(lruelem_key, "key", lruelem_result, "result") },
  /* Iterators and views; 3.11+ has an iterator for ASCII str. */
  { "str_iterator", PM_SIZE_DEFAULT, PM_WALK_FIELD, L_(unicodeiter_size), 1,
    HELD1(unicodeiter_seq, "it_seq") },
  { "str_ascii_iterator", PM_SIZE_DEFAULT, PM_WALK_FIELD, L_(unicodeiter_size),
    1, HELD1(unicodeiter_seq, "it_seq") },
  { "bytes_iterator", PM_SIZE_DEFAULT, PM_WALK_FIELD, L_(bytesiter_size), 1,
    HELD1(bytesiter_seq, "it_seq") },
  { "tuple_iterator", PM_SIZE_DEFAULT, PM_WALK_FIELD, L_(tupleiter_size), 1,
    HELD1(tupleiter_seq, "it_seq") },
  { "reversed", PM_SIZE_DEFAULT, PM_WALK_FIELD, L_(reversed_size), 1,
    HELD1(reversed_seq, "seq") },
  { "enumerate", PM_SIZE_DEFAULT, PM_WALK_FIELD, L_(enum_size), 1,
    HELD3(enum_sit, "en_sit", enum_result, "en_result", enum_longindex,
          "en_longindex") },
  { "callable_iterator", PM_SIZE_DEFAULT, PM_WALK_FIELD, L_(calliter_size), 1,
    HELD2(calliter_callable, "it_callable", calliter_sentinel, "it_sentinel") },
  { "async_generator_asend", PM_SIZE_DEFAULT, PM_WALK_FIELD, L_(asend_size), 1,
    HELD2(asend_gen, "ags_gen", asend_sendval, "ags_sendval") },
  { "async_generator_athrow", PM_SIZE_DEFAULT, PM_WALK_FIELD, L_(athrow_size),
    1, HELD2(athrow_gen, "agt_gen", athrow_args, "agt_args") },
  { "anext_awaitable", PM_SIZE_DEFAULT, PM_WALK_FIELD, L_(anext_size), 1,
    HELD2(anext_wrapped, "wrapped", anext_default, "default_value") },
  { "mappingproxy", PM_SIZE_DEFAULT, PM_WALK_FIELD, L_(mappingproxy_size), 1,
    HELD1(mappingproxy_mapping, "mapping") },
  { "dict_keys", PM_SIZE_DEFAULT, PM_WALK_FIELD, L_(dictview_size), 1,
    HELD1(dictview_dict, "dv_dict") },
  { "dict_values", PM_SIZE_DEFAULT, PM_WALK_FIELD, L_(dictview_size), 1,
    HELD1(dictview_dict, "dv_dict") },
  { "dict_items", PM_SIZE_DEFAULT, PM_WALK_FIELD, L_(dictview_size), 1,
    HELD1(dictview_dict, "dv_dict") },
  { "dict_keyiterator", PM_SIZE_DEFAULT, PM_WALK_FIELD, L_(dictiter_size), 1,
    HELD2(dictiter_dict, "di_dict", dictiter_result, "di_result") },
  { "dict_valueiterator", PM_SIZE_DEFAULT, PM_WALK_FIELD, L_(dictiter_size), 1,
    HELD2(dictiter_dict, "di_dict", dictiter_result, "di_result") },
  { "dict_itemiterator", PM_SIZE_DEFAULT, PM_WALK_FIELD, L_(dictiter_size), 1,
    HELD2(dictiter_dict, "di_dict", dictiter_result, "di_result") },
  { "dict_reversekeyiterator", PM_SIZE_DEFAULT, PM_WALK_FIELD,
    L_(dictiter_size), 1,
    HELD2(dictiter_dict, "di_dict", dictiter_result, "di_result") },
  { "dict_reversevalueiterator", PM_SIZE_DEFAULT, PM_WALK_FIELD,
    L_(dictiter_size), 1,
    HELD2(dictiter_dict, "di_dict", dictiter_result, "di_result") },
  { "dict_reverseitemiterator", PM_SIZE_DEFAULT, PM_WALK_FIELD,
    L_(dictiter_size), 1,
    HELD2(dictiter_dict, "di_dict", dictiter_result, "di_result") },
  { "itertools.repeat", PM_SIZE_DEFAULT, PM_WALK_FIELD, L_(repeat_size), 0,
    HELD1(repeat_element, "element") },
  { "itertools.count", PM_SIZE_DEFAULT, PM_WALK_FIELD, L_(count_size), 0,
    HELD2(count_long_cnt, "long_cnt", count_long_step, "long_step") },
  { "itertools.zip_longest", PM_SIZE_DEFAULT, PM_WALK_FIELD,
    L_(ziplongest_size), 0,
    HELD3(ziplongest_ittuple, "ittuple", ziplongest_result, "result",
          ziplongest_fillvalue, "fillvalue") },
  { "operator.itemgetter", PM_SIZE_DEFAULT, PM_WALK_FIELD, L_(itemgetter_size),
    0, HELD1(itemgetter_item, "item") },
  /* Exported before 3.13 only, as _PyManagedBuffer_Type. */
  { "managedbuffer", PM_SIZE_DEFAULT, PM_WALK_FIELD, L_(mbuf_size), 1,
    HELD1(mbuf_master_obj, "obj") },
  /* Exported before 3.11 only. A node's items start at its basicsize. */
  { "hamt", PM_SIZE_DEFAULT, PM_WALK_FIELD, L_(hamt_size), 1,
    HELD1(hamt_root, "h_root") },
  { "hamt_bitmap_node", PM_SIZE_DEFAULT, PM_WALK_HAMT_BITMAP,
    L_(hamtbitmap_array), 1, NONE_HELD },
  { "hamt_array_node", PM_SIZE_DEFAULT, PM_WALK_HAMT_ARRAY, L_(hamtarray_size),
    1, NONE_HELD },
  { "hamt_collision_node", PM_SIZE_DEFAULT, PM_WALK_HAMT_COLLISION,
    L_(hamtcoll_array), 1, NONE_HELD },
};
#undef HELD3
#undef HELD2
#undef HELD1
#undef NONE_HELD
#undef L_
#define NSPECIALS (sizeof(specials) / sizeof(specials[0]))

/* The entry of specials[] that type is, or -1. */
static int
special_type(struct pm_python *py, pm_addr_t type)
{
  char name[PM_KIND_NAME_MAX];
  int64_t basicsize;
  uint64_t flags;
  int named = 0;

  if (pm__py_read_i64(py, type + py->L->type_basicsize, &basicsize) != 0
      || pm__py_read_u64(py, type + py->L->type_flags, &flags) != 0)
    return -1;
  for (size_t i = 0; i < NSPECIALS; i++) {
    int64_t want
        = *(const int64_t *)((const char *)py->L + specials[i].size_field);
    if (want <= 0 || basicsize != want
        || (specials[i].static_only && (flags & PM_TPFLAGS_HEAPTYPE)))
      continue;
    if (!named && type_name(py, type, flags, name, sizeof(name)) != 0)
      return -1;
    named = 1;
    if (strcmp(name, specials[i].name) == 0)
      return (int)i;
  }
  return -1;
}

int
pm__type_read(struct pm_python *py, pm_addr_t type, struct pm_type_info *out)
{
  const struct pm_layout *L = py->L;
  int special = -1;
  pm_addr_t t = type;
  int err;

  memset(out, 0, sizeof(*out));
  out->base = -1;
  if (!pm__is_type_object(py, type))
    return PM_ECORRUPT;
  if ((err = pm__py_read_u64(py, type + L->type_flags, &out->flags))
      || (err = pm__py_read_i64(py, type + L->type_basicsize, &out->basicsize))
      || (err = pm__py_read_i64(py, type + L->type_itemsize, &out->itemsize))
      || (err
          = pm__py_read_i64(py, type + L->type_dictoffset, &out->dictoffset)))
    return err;
  if (out->basicsize <= 0 || out->basicsize > (1 << 24) || out->itemsize < 0
      || out->itemsize > (1 << 16) || out->dictoffset < -(1 << 24)
      || out->dictoffset > (1 << 24))
    return PM_ECORRUPT;
  /* The nearest builtin along tp_base decides which __sizeof__ runs. */
  for (int depth = 0; t && depth < MAX_BASE_DEPTH && out->base < 0; depth++) {
    for (int i = 0; i < PM_T__COUNT; i++)
      if (py->types[i] == t) {
        out->base = i;
        break;
      }
    if (out->base < 0 && special < 0)
      special = special_type(py, t);
    if (out->base < 0 && (err = pm__py_read_u64(py, t + L->type_base, &t)))
      return err;
  }
  if (special >= 0)
    out->sizer = specials[special].sizer;
  else
    out->sizer = out->base >= 0 ? sizer_of_builtin[out->base] : PM_SIZE_DEFAULT;
  if (special >= 0 && specials[special].walker != PM_WALK_NONE) {
    out->walker = specials[special].walker;
    for (int i = 0; i < PM_HELD_MAX && specials[special].names[i]; i++) {
      out->held[i]
          = *(const int64_t *)((const char *)L + specials[special].held[i]);
      out->held_name[i] = specials[special].names[i];
    }
  } else if (out->base >= 0 && walker_of_builtin[out->base] != PM_WALK_NONE)
    out->walker = walker_of_builtin[out->base];
  else if (out->flags & PM_TPFLAGS_BASE_EXC_SUBCLASS)
    out->walker = PM_WALK_EXC;
  out->shared_entries = -1;
  if (L->dictvalues_capacity < 0 && PM_PY_AT_LEAST(py, 3, 11)
      && (out->flags & PM_TPFLAGS_MANAGED_DICT)
      && (out->flags & PM_TPFLAGS_HEAPTYPE)) {
    uint64_t keys;
    struct pm_dict_keys k;
    if ((err = pm__py_read_u64(py, type + L->heaptype_cached_keys, &keys))
        && pm__walk_fatal(err))
      return err;
    if (!err && keys) {
      if ((err = pm__dict_keys_read(py, keys, &k)) && pm__walk_fatal(err))
        return err;
      if (!err)
        out->shared_entries = k.nentries;
    }
  }
  return type_name(py, type, out->flags, out->name, sizeof(out->name));
}

uint64_t
pm__object_presize(struct pm_python *py, const struct pm_type_info *ti,
                   pm_addr_t obj)
{
  const struct pm_layout *L = py->L;
  uint64_t n = 0;

  if (ti->flags & PM_TPFLAGS_HAVE_GC) {
    n = (uint64_t)L->gc_head_size;
    /*
     * A type object is GC only when it is a heap type (tp_is_gc) before
     * 3.11 and from 3.13; 3.11 and 3.12 add the GC head for every type.
     */
    if (ti->sizer == PM_SIZE_TYPE
        && (!PM_PY_AT_LEAST(py, 3, 11) || PM_PY_AT_LEAST(py, 3, 13))) {
      uint64_t flags;
      if (pm__py_read_u64(py, obj + L->type_flags, &flags) == 0
          && !(flags & PM_TPFLAGS_HEAPTYPE))
        n = 0;
    }
  }
  if (PM_PY_AT_LEAST(py, 3, 12)) {
    if (ti->flags & (PM_TPFLAGS_MANAGED_DICT | PM_TPFLAGS_MANAGED_WEAKREF))
      n += 16;
  } else if (PM_PY_AT_LEAST(py, 3, 11)) {
    if (ti->flags & PM_TPFLAGS_MANAGED_DICT)
      n += 16;
  }
  return n;
}

static int
dict_sizeof(struct pm_python *py, const struct pm_type_info *ti, pm_addr_t obj,
            uint64_t *size)
{
  const struct pm_layout *L = py->L;
  struct pm_dict_keys k;
  pm_addr_t values;
  int err;

  if ((err = pm__dict_read(py, obj, &k, &values)))
    return err;
  *size = (uint64_t)ti->basicsize;
  if (values) {
    /* 3.11+: shared_keys_usable_size(); before: USABLE_FRACTION(size). */
    if (L->dictkeys_log2_size >= 0)
      *size += (uint64_t)(k.nentries + k.dk_usable) * 8;
    else
      *size += k.usable * 8;
  }
  /* Split keys are shared with the class and counted there. */
  if (k.refcnt == 1)
    *size += keys_bytes(py, &k);
  return 0;
}

/*
 * The object heads below: a function that computes something from an
 * object's first n bytes returns 0 when done, the number of bytes it needs
 * when n is fewer (a str's first bytes say how many more it needs), or an
 * error.  A walker with the bytes in hand calls it once; read_head() reads
 * until it is enough.
 */
typedef int64_t (*head_fn)(const struct pm_python *py, pm_addr_t obj,
                           const unsigned char *b, size_t n, void *out);

/* Largest head asked for: well past any str struct. */
#define HEAD_MAX 256
/* No real str is longer (in characters or bytes): the sizes cannot wrap. */
#define MAX_STR_LENGTH (INT64_C(1) << 40)

static int
read_head(struct pm_python *py, pm_addr_t obj, head_fn fn, void *out)
{
  unsigned char b[HEAD_MAX];
  size_t n = 0;
  int64_t r;
  int err;

  while ((r = fn(py, obj, b, n, out)) > 0) {
    /* The need grows each round and is bounded: a few reads at most. */
    if ((uint64_t)r <= n || r > HEAD_MAX)
      return PM_EOFFSETS;
    if ((err = pm__py_read(py, obj, b, (size_t)r)))
      return err;
    n = (size_t)r;
  }
  return (int)r;
}

/*
 * The field of len bytes at off of a head of n bytes: 1 with *v, or 0 when
 * n does not reach it (or the layout lacks the field).
 */
static inline int
head_field(const unsigned char *b, size_t n, int64_t off, void *v, size_t len)
{
  if (off < 0 || (uint64_t)off + len > n)
    return 0;
  memcpy(v, b + off, len);
  return 1;
}

/* What a head function needs to read the field at off: an error if none. */
static inline int64_t
head_need(int64_t off, size_t len)
{
  return off >= 0 ? off + (int64_t)len : PM_EOFFSETS;
}

struct str_head {
  struct str_shape sh;
  uint32_t state;
  uint64_t size, inline_size;
};

/*
 * The shape of the str at obj from its head (see head_fn).  This and the
 * other sizers by head are inline: pm__object_sizeof_head() sizes most of
 * a heap's objects (str, int, list), and their calls cost as much as their
 * work.
 */
static inline __attribute__((always_inline)) int64_t
str_shape_head(const struct pm_python *py, pm_addr_t obj,
               const unsigned char *b, size_t n, void *out)
{
  const struct pm_layout *L = py->L;
  struct str_head *h = out;
  struct str_shape *sh = &h->sh;
  int64_t need;

  if (!head_field(b, n, L->ascii_length, &sh->length, 8))
    return head_need(L->ascii_length, 8);
  if (!head_field(b, n, L->ascii_state, &h->state, 4))
    return head_need(L->ascii_state, 4);
  /* Bit fields of PyASCIIObject.state: interned:2, kind:3, compact:1, ascii:1.
   */
  sh->kind = (h->state >> 2) & 7;
  sh->compact = (h->state >> 5) & 1;
  sh->ascii = (h->state >> 6) & 1;
  if (sh->length < 0 || sh->length > MAX_STR_LENGTH
      || (sh->kind != 1 && sh->kind != 2 && sh->kind != 4)
      || (sh->ascii && sh->kind != 1))
    return PM_ECORRUPT;
  /* Every field of a str lies in the struct of its shape. */
  need = !sh->compact ? L->unicode_size
         : sh->ascii  ? L->ascii_size
                      : L->compact_size;
  if (need < 0 || (uint64_t)need > n)
    return need < 0 ? PM_EOFFSETS : need;
  if (sh->compact)
    sh->data = obj + (pm_addr_t)(sh->ascii ? L->ascii_size : L->compact_size);
  else if (!head_field(b, n, L->unicode_data, &sh->data, 8))
    return PM_EOFFSETS;
  return 0;
}

static int
str_shape(struct pm_python *py, pm_addr_t s, struct str_shape *sh)
{
  struct str_head h;
  int err = read_head(py, s, str_shape_head, &h);

  if (!err)
    *sh = h.sh;
  return err;
}

/*
 * str.__sizeof__ from the head (see head_fn), and the bytes of the object
 * itself (inline_size).
 */
static inline __attribute__((always_inline)) int64_t
str_size_head(const struct pm_python *py, pm_addr_t obj, const unsigned char *b,
              size_t n, void *out)
{
  const struct pm_layout *L = py->L;
  struct str_head *h = out;
  const struct str_shape *sh = &h->sh;
  int64_t r, utf8_len = 0, wstr_len = 0;
  uint64_t utf8 = 0, wstr = 0;

  if ((r = str_shape_head(py, obj, b, n, h)))
    return r;
  if (sh->compact && sh->ascii)
    h->size = (uint64_t)L->ascii_size + (uint64_t)sh->length + 1;
  else if (sh->compact)
    h->size = (uint64_t)L->compact_size + ((uint64_t)sh->length + 1) * sh->kind;
  else
    h->size = (uint64_t)L->unicode_size
              + (sh->data ? ((uint64_t)sh->length + 1) * sh->kind : 0);
  h->inline_size = sh->compact ? h->size : (uint64_t)L->unicode_size;
  if (!(sh->compact && sh->ascii)) {
    if (!head_field(b, n, L->compact_utf8, &utf8, 8))
      return PM_EOFFSETS;
    if (utf8 && utf8 != sh->data) {
      if (!head_field(b, n, L->compact_utf8_length, &utf8_len, 8))
        return PM_EOFFSETS;
      if (utf8_len < 0 || utf8_len > MAX_STR_LENGTH)
        return PM_ECORRUPT;
      h->size += (uint64_t)utf8_len + 1;
    }
  }
  /* Until 3.12, a wchar_t copy may hang off the object too. */
  if (L->ascii_wstr >= 0) {
    if (!head_field(b, n, L->ascii_wstr, &wstr, 8))
      return PM_EOFFSETS;
    if (wstr && (!((h->state >> 7) & 1) || wstr != sh->data)) {
      if (sh->compact && sh->ascii)
        wstr_len = sh->length;
      else if (!head_field(b, n, L->compact_wstr_length, &wstr_len, 8))
        return PM_EOFFSETS;
      if (wstr_len < 0 || wstr_len > MAX_STR_LENGTH)
        return PM_ECORRUPT;
      h->size += ((uint64_t)wstr_len + 1) * 4;
    }
  }
  return 0;
}

static int
str_sizeof(struct pm_python *py, pm_addr_t obj, uint64_t *size,
           uint64_t *inline_size)
{
  struct str_head h;
  int err = read_head(py, obj, str_size_head, &h);

  if (!err) {
    *size = h.size;
    if (inline_size)
      *inline_size = h.inline_size;
  }
  return err;
}

/* What the sizers that need only the head compute it from. */
struct size_head {
  const struct pm_type_info *ti;
  uint64_t size;
};

/* int.__sizeof__ from the head (see head_fn). */
static inline __attribute__((always_inline)) int64_t
int_size_head(const struct pm_python *py, const struct pm_type_info *ti,
              const unsigned char *b, size_t n, uint64_t *size)
{
  const struct pm_layout *L = py->L;
  int64_t num;

  if (L->long_lv_tag >= 0) {
    uint64_t tag;
    if (!head_field(b, n, L->long_lv_tag, &tag, 8))
      return head_need(L->long_lv_tag, 8);
    num = (int64_t)(tag >> 3); /* _PyLong_NON_SIZE_BITS */
    if (num < 1)
      num = 1;
    if (num > (INT64_C(1) << 40))
      return PM_ECORRUPT;
    *size = (uint64_t)ti->basicsize + (uint64_t)(ti->itemsize * num);
    return 0;
  }
  if (!head_field(b, n, L->varobject_ob_size, &num, 8))
    return head_need(L->varobject_ob_size, 8);
  if (num < -(INT64_C(1) << 40) || num > (INT64_C(1) << 40))
    return PM_ECORRUPT;
  num = num < 0 ? -num : num;
  if (num == 0 && PM_PY_AT_LEAST(py, 3, 11))
    num = 1;
  *size = (uint64_t)L->long_digit + 4 * (uint64_t)num;
  return 0;
}

/* basicsize + scale times the count at off (list, bytearray). */
static inline __attribute__((always_inline)) int64_t
count_size_head(const struct pm_type_info *ti, const unsigned char *b, size_t n,
                int64_t off, uint64_t scale, uint64_t *size)
{
  int64_t num;

  if (!head_field(b, n, off, &num, 8))
    return head_need(off, 8);
  if (num < 0 || num > (INT64_C(1) << 40))
    return PM_ECORRUPT;
  *size = (uint64_t)ti->basicsize + (uint64_t)num * scale;
  return 0;
}

int64_t
pm__object_sizeof_head(const struct pm_python *py,
                       const struct pm_type_info *ti, pm_addr_t obj,
                       const unsigned char *head, size_t n, uint64_t *size)
{
  const struct pm_layout *L = py->L;

  switch (ti->sizer) {
  case PM_SIZE_LIST:
    return count_size_head(ti, head, n, L->list_allocated, 8, size);
  case PM_SIZE_BYTEARRAY:
    return count_size_head(ti, head, n, L->bytearray_alloc, 1, size);
  case PM_SIZE_INT:
    return int_size_head(py, ti, head, n, size);
  case PM_SIZE_STR: {
    struct str_head h;
    int64_t r = str_size_head(py, obj, head, n, &h);
    if (!r)
      *size = h.size;
    return r;
  }
  default:
    return PM_EOFFSETS;
  }
}

/* pm__object_sizeof_head() as a head_fn. */
static int64_t
sizeof_head(const struct pm_python *py, pm_addr_t obj, const unsigned char *b,
            size_t n, void *out)
{
  struct size_head *h = out;

  return pm__object_sizeof_head(py, h->ti, obj, b, n, &h->size);
}

/* The sizers of pm__object_sizeof_head(), reading the head. */
static int
sizeof_by_head(struct pm_python *py, const struct pm_type_info *ti,
               pm_addr_t obj, uint64_t *size)
{
  struct size_head h = { ti, 0 };
  int err = read_head(py, obj, sizeof_head, &h);

  if (!err)
    *size = h.size;
  return err;
}

int
pm__code_slots(struct pm_python *py, pm_addr_t code, int64_t *nlocals,
               int64_t *nslots)
{
  const struct pm_layout *L = py->L;
  int32_t stacksize, n;
  int err;

  if ((err = pm__py_read(py, code + L->code_stacksize, &stacksize, 4)))
    return err;
  if (L->code_nlocalsplus >= 0) {
    if ((err = pm__py_read(py, code + L->code_nlocalsplus, &n, 4)))
      return err;
  } else {
    /* 3.8-3.10: locals, then cells, then free variables. */
    uint64_t cells, frees;
    int64_t nc = 0, nf = 0;
    if ((err = pm__py_read(py, code + L->code_nlocals, &n, 4))
        || (err = pm__py_read_u64(py, code + L->code_cellvars, &cells))
        || (err = pm__py_read_u64(py, code + L->code_freevars, &frees))
        || (cells
            && (err = pm__py_read_i64(py, cells + L->varobject_ob_size, &nc)))
        || (frees
            && (err = pm__py_read_i64(py, frees + L->varobject_ob_size, &nf))))
      return err;
    if (nc < 0 || nf < 0 || nc > (1 << 24) || nf > (1 << 24))
      return PM_ECORRUPT;
    n += (int32_t)(nc + nf);
  }
  if (n < 0 || stacksize < 0 || n > (1 << 24) || stacksize > (1 << 24))
    return PM_ECORRUPT;
  *nlocals = n;
  *nslots = (int64_t)n + stacksize;
  return 0;
}

static int
code_sizeof(struct pm_python *py, const struct pm_type_info *ti, pm_addr_t obj,
            uint64_t *size)
{
  const struct pm_layout *L = py->L;
  uint64_t extra;
  int err;

  if (L->code_cell2arg >= 0) {
    /* 3.8-3.10: a fixed-size object, plus the cell-to-argument map. */
    uint64_t cell2arg, cells;
    int64_t nc;
    *size = (uint64_t)ti->basicsize;
    if ((err = pm__py_read_u64(py, obj + L->code_cell2arg, &cell2arg))
        || (err = pm__py_read_u64(py, obj + L->code_cellvars, &cells)))
      return err;
    if (cell2arg && cells) {
      if ((err = pm__py_read_i64(py, cells + L->varobject_ob_size, &nc)))
        return err;
      if (nc < 0 || nc > (1 << 24))
        return PM_ECORRUPT;
      *size += (uint64_t)nc * 8;
    }
    if (L->code_opcache >= 0 && L->opcache_size > 0) {
      /* The LOAD_GLOBAL cache: a map byte per code unit, then the entries. */
      uint64_t cache, code;
      uint8_t n;
      int64_t len;
      if ((err = pm__py_read_u64(py, obj + L->code_opcache, &cache)))
        return err;
      if (cache) {
        if ((err = pm__py_read_u8(py, obj + L->code_opcache_size, &n))
            || (err = pm__py_read_u64(py, obj + L->code_code, &code))
            || (err = pm__py_read_i64(py, code + L->varobject_ob_size, &len)))
          return err;
        if (len < 0 || len > (INT64_C(1) << 32))
          return PM_ECORRUPT;
        *size += (uint64_t)len / 2 + (uint64_t)n * (uint64_t)L->opcache_size;
      }
    }
  } else {
    /* 3.11+: _PyObject_VAR_SIZE, which rounds up to a pointer. */
    int64_t n;
    if ((err = pm__py_read_i64(py, obj + L->varobject_ob_size, &n)))
      return err;
    if (n < 0 || n > (INT64_C(1) << 32))
      return PM_ECORRUPT;
    *size = ((uint64_t)ti->basicsize + (uint64_t)(ti->itemsize * n) + 7)
            & ~(uint64_t)7;
  }
  if ((err = pm__py_read_u64(py, obj + L->code_extra, &extra)))
    return err;
  if (extra) {
    /* _PyCodeObjectExtra: ce_size, then ce_extras[ce_size]. */
    int64_t ce_size;
    if ((err = pm__py_read_i64(py, extra, &ce_size)))
      return err;
    if (ce_size < 1 || ce_size > (1 << 20))
      return PM_ECORRUPT;
    *size += 16 + (uint64_t)(ce_size - 1) * 8;
  }
  return 0;
}

/* The code object an interpreter frame runs (3.11+). */
static int
iframe_code(struct pm_python *py, pm_addr_t frame, pm_addr_t *code)
{
  uint64_t c;
  int err;

  if ((err = pm__py_read_u64(py, frame + py->L->iframe_code, &c)))
    return err;
  /* 3.14: a _PyStackRef, whose low bit says the reference is deferred. */
  if (PM_PY_AT_LEAST(py, 3, 14))
    c &= ~(uint64_t)1;
  if (!c || (c & 7))
    return PM_ECORRUPT;
  *code = c;
  return 0;
}

/* Generators (3.11+) and frame objects: a frame's specials plus slots. */
static int
frame_sizeof(struct pm_python *py, const struct pm_type_info *ti, pm_addr_t obj,
             uint64_t *size)
{
  const struct pm_layout *L = py->L;
  pm_addr_t frame, code;
  int64_t nlocals, nslots;
  uint64_t head;
  int err;

  if (ti->sizer == PM_SIZE_GEN) {
    if (L->gen_iframe < 0) {
      *size = (uint64_t)ti->basicsize; /* 3.8-3.10: no __sizeof__ */
      return 0;
    }
    frame = obj + (pm_addr_t)L->gen_iframe;
    head = (uint64_t)L->gen_iframe;
  } else if (L->frame_frame >= 0) {
    if ((err = pm__py_read_u64(py, obj + L->frame_frame, &frame)))
      return err;
    head = (uint64_t)L->frame_data;
  } else {
    /* 3.8-3.10: sizeof(PyFrameObject) holds one slot already. */
    if ((err = pm__py_read_u64(py, obj + L->frame_code, &code))
        || (err = pm__code_slots(py, code, &nlocals, &nslots)))
      return err;
    *size = (uint64_t)L->frame_size + (uint64_t)(nslots - 1) * 8;
    return 0;
  }
  if ((err = iframe_code(py, frame, &code))
      || (err = pm__code_slots(py, code, &nlocals, &nslots)))
    return err;
  *size = head + (uint64_t)L->iframe_localsplus + (uint64_t)nslots * 8;
  return 0;
}

static int
odict_sizeof(struct pm_python *py, const struct pm_type_info *ti, pm_addr_t obj,
             uint64_t *size)
{
  const struct pm_layout *L = py->L;
  uint64_t first;
  int64_t fast, used;
  int err;

  if ((err = dict_sizeof(py, ti, obj, size)))
    return err;
  if (L->odict_first < 0)
    return 0;
  if ((err = pm__py_read_u64(py, obj + L->odict_first, &first))
      || (err = pm__py_read_i64(py, obj + L->odict_fast_nodes_size, &fast))
      || (err = pm__py_read_i64(py, obj + L->dict_used, &used)))
    return err;
  if (fast < 0 || used < 0 || fast > (INT64_C(1) << 40)
      || used > (INT64_C(1) << 40))
    return PM_ECORRUPT;
  /* od_fast_nodes, then one node per item while the list is not empty. */
  *size += (uint64_t)fast * 8;
  if (first)
    *size += (uint64_t)used * (uint64_t)L->odictnode_size;
  return 0;
}

/* collections.deque: BLOCKLEN (64) items per block, and the two links. */
#define DEQUE_BLOCKLEN 64
#define DEQUE_BLOCK_BYTES ((DEQUE_BLOCKLEN + 2) * 8)

static int
deque_sizeof(struct pm_python *py, const struct pm_type_info *ti, pm_addr_t obj,
             uint64_t *size)
{
  const struct pm_layout *L = py->L;
  int64_t left, n;
  int err;

  if ((err = pm__py_read_i64(py, obj + L->deque_leftindex, &left))
      || (err = pm__py_read_i64(py, obj + L->varobject_ob_size, &n)))
    return err;
  if (left < 0 || left >= DEQUE_BLOCKLEN || n < 0 || n > (INT64_C(1) << 40))
    return PM_ECORRUPT;
  *size = (uint64_t)ti->basicsize
          + (uint64_t)((left + n + DEQUE_BLOCKLEN - 1) / DEQUE_BLOCKLEN)
                * DEQUE_BLOCK_BYTES;
  return 0;
}

static int
buffer_sizeof(struct pm_python *py, const struct pm_type_info *ti,
              pm_addr_t obj, uint64_t *size)
{
  const struct pm_layout *L = py->L;
  uint64_t p, refcnt;
  int64_t n;
  int err;

  *size = (uint64_t)ti->basicsize;
  if (ti->sizer == PM_SIZE_BUFFERED) {
    if ((err = pm__py_read_u64(py, obj + L->buffered_buffer, &p)))
      return err;
    if (!p)
      return 0;
    if ((err = pm__py_read_i64(py, obj + L->buffered_buffer_size, &n)))
      return err;
  } else {
    /* BytesIO counts its bytes buffer unless it shares it (refcount 1). */
    if ((err = pm__py_read_u64(py, obj + L->bytesio_buf, &p)))
      return err;
    if (!p)
      return 0;
    if ((err = pm__py_read_u64(py, p + L->object_refcnt, &refcnt))
        || (err = pm__py_read_i64(py, p + L->varobject_ob_size, &n)))
      return err;
    if (refcnt != 1)
      return 0;
    n += L->bytes_sval + 1;
  }
  if (n < 0 || n > (INT64_C(1) << 40))
    return PM_ECORRUPT;
  *size += (uint64_t)n;
  return 0;
}

/*
 * Format codes read for a Struct: ncodes <= s_len, checked too, but s_len
 * counts items ("2000000B" is one code), so it bounds no loop.
 */
#define STRUCT_MAX_CODES (1 << 20)

/*
 * _struct.Struct: basicsize and one formatcode per code, the NULL-fmtdef
 * one that ends them included.
 */
static int
struct_sizeof(struct pm_python *py, const struct pm_type_info *ti,
              pm_addr_t obj, uint64_t *size)
{
  const struct pm_layout *L = py->L;
  const int64_t csize = L->formatcode_size;
  uint64_t codes, fmtdef;
  int64_t len, n;
  int err;

  if ((err = pm__py_read_i64(py, obj + L->structobj_len, &len))
      || (err = pm__py_read_u64(py, obj + L->structobj_codes, &codes)))
    return err;
  if (len < 0 || csize <= 0)
    return PM_ECORRUPT;
  /* No codes: not set up yet (3.13+ allows it); __sizeof__ would raise. */
  for (n = 0; codes; n++) {
    if (n > len || n > STRUCT_MAX_CODES)
      return PM_ECORRUPT;
    if ((err = pm__py_read_u64(py,
                               codes + (pm_addr_t)(n * csize)
                                   + (pm_addr_t)L->formatcode_fmtdef,
                               &fmtdef)))
      return err;
    if (!fmtdef)
      break;
  }
  *size = (uint64_t)ti->basicsize + (uint64_t)(n + 1) * (uint64_t)csize;
  return 0;
}

/* array.array: basicsize and the items it has room for. */
static int
array_sizeof(struct pm_python *py, const struct pm_type_info *ti, pm_addr_t obj,
             uint64_t *size)
{
  const struct pm_layout *L = py->L;
  int64_t allocated;
  uint64_t descr;
  int32_t itemsize;
  int err;

  if ((err = pm__py_read_i64(py, obj + L->array_allocated, &allocated))
      || (err = pm__py_read_u64(py, obj + L->array_descr, &descr))
      || (err = pm__py_read(py, descr + L->arraydescr_itemsize, &itemsize,
                            sizeof(itemsize))))
    return err;
  if (allocated < 0 || allocated > (INT64_C(1) << 40) || itemsize < 1
      || itemsize > 16)
    return PM_ECORRUPT;
  *size = (uint64_t)ti->basicsize + (uint64_t)allocated * (uint64_t)itemsize;
  return 0;
}

/*
 * ElementTree.Element: basicsize, its extra (attributes and children)
 * when it has one, and the children's array when it is not the extra's
 * own.
 */
static int
element_sizeof(struct pm_python *py, const struct pm_type_info *ti,
               pm_addr_t obj, uint64_t *size)
{
  const struct pm_layout *L = py->L;
  uint64_t extra, children;
  int64_t allocated;
  int err;

  *size = (uint64_t)ti->basicsize;
  if (L->element_extra < 0)
    return PM_EOFFSETS;
  if ((err = pm__py_read_u64(py, obj + L->element_extra, &extra)))
    return err;
  if (!extra)
    return 0;
  if (L->elemextra_size <= 0 || L->elemextra_static < 0)
    return PM_ECORRUPT;
  if ((err = pm__py_read_u64(py, extra + L->elemextra_children, &children))
      || (err
          = pm__py_read_i64(py, extra + L->elemextra_allocated, &allocated)))
    return err;
  *size += (uint64_t)L->elemextra_size;
  if (children == extra + (pm_addr_t)L->elemextra_static)
    return 0;
  if (allocated < 0 || allocated > PM_ELEMENT_MAX_CHILDREN)
    return PM_ECORRUPT;
  *size += (uint64_t)allocated * 8;
  return 0;
}

/* libmpdec's flags for digits that are not the Decimal's to free. */
#define MPD_DATAFLAGS (32 | 64 | 128) /* static, shared, const */
/* mpd_uint_t: 64 bits on a 64-bit target (libmpdec's CONFIG_64). */
#define MPD_WORD 8

/*
 * decimal.Decimal: basicsize, and its digits when they live outside the
 * object (more than the few words it holds).
 */
static int
decimal_sizeof(struct pm_python *py, const struct pm_type_info *ti,
               pm_addr_t obj, uint64_t *size)
{
  const struct pm_layout *L = py->L;
  uint8_t flags;
  int64_t alloc;
  int err;

  *size = (uint64_t)ti->basicsize;
  if ((err = pm__py_read_u8(py, obj + L->decimal_flags, &flags)))
    return err;
  if (flags & MPD_DATAFLAGS)
    return 0;
  if ((err = pm__py_read_i64(py, obj + L->decimal_alloc, &alloc)))
    return err;
  if (alloc < 0 || alloc > (INT64_C(1) << 40))
    return PM_ECORRUPT;
  *size += (uint64_t)alloc * MPD_WORD;
  return 0;
}

static int
default_sizeof(struct pm_python *py, const struct pm_type_info *ti,
               pm_addr_t obj, uint64_t *size)
{
  int64_t n;
  int err;

  *size = (uint64_t)ti->basicsize;
  if (ti->itemsize > 0) {
    if ((err = pm__py_read_i64(py, obj + py->L->varobject_ob_size, &n)))
      return err;
    if (n < 0 || n > (INT64_C(1) << 40))
      return PM_ECORRUPT;
    *size += (uint64_t)(ti->itemsize * n);
  }
  return 0;
}

int
pm__object_size(struct pm_python *py, const struct pm_type_info *ti,
                pm_addr_t obj, uint64_t *size)
{
  int err = pm__object_sizeof(py, ti, obj, size);

  if (!err)
    *size += pm__object_presize(py, ti, obj);
  return err;
}

int
pm__object_sizeof(struct pm_python *py, const struct pm_type_info *ti,
                  pm_addr_t obj, uint64_t *size)
{
  const struct pm_layout *L = py->L;
  uint64_t u;
  int64_t n;
  int err = 0;

  switch (ti->sizer) {
  case PM_SIZE_LIST: /* pm__sizer_by_head() */
  case PM_SIZE_BYTEARRAY:
  case PM_SIZE_STR:
  case PM_SIZE_INT:
    err = sizeof_by_head(py, ti, obj, size);
    break;
  case PM_SIZE_DICT:
    err = dict_sizeof(py, ti, obj, size);
    break;
  case PM_SIZE_ODICT:
    err = odict_sizeof(py, ti, obj, size);
    break;
  case PM_SIZE_SET:
    if ((err = pm__py_read_u64(py, obj + L->set_table, &u)))
      return err;
    *size = (uint64_t)ti->basicsize;
    if (u != obj + (pm_addr_t)L->set_smalltable) {
      if ((err = pm__py_read_i64(py, obj + L->set_mask, &n)))
        return err;
      if (n < 0 || n > (INT64_C(1) << 40))
        return PM_ECORRUPT;
      *size += ((uint64_t)n + 1) * (uint64_t)L->setentry_size;
    }
    break;
  case PM_SIZE_TYPE:
    if ((err = pm__py_read_u64(py, obj + L->type_flags, &u)))
      return err;
    if (u & PM_TPFLAGS_HEAPTYPE) {
      uint64_t keys;
      *size = (uint64_t)L->heaptype_size;
      if ((err = pm__py_read_u64(py, obj + L->heaptype_cached_keys, &keys)))
        return err;
      if (keys) {
        struct pm_dict_keys k;
        if ((err = pm__dict_keys_read(py, keys, &k)))
          return err;
        *size += keys_bytes(py, &k);
      }
    } else {
      *size = (uint64_t)L->type_size;
    }
    break;
  case PM_SIZE_CODE:
    err = code_sizeof(py, ti, obj, size);
    break;
  case PM_SIZE_GEN:
  case PM_SIZE_FRAME:
    err = frame_sizeof(py, ti, obj, size);
    break;
  case PM_SIZE_DEQUE:
    err = deque_sizeof(py, ti, obj, size);
    break;
  case PM_SIZE_BUFFERED:
  case PM_SIZE_BYTESIO:
    err = buffer_sizeof(py, ti, obj, size);
    break;
  case PM_SIZE_STRUCT:
    err = struct_sizeof(py, ti, obj, size);
    break;
  case PM_SIZE_ARRAY:
    err = array_sizeof(py, ti, obj, size);
    break;
  case PM_SIZE_ELEMENT:
    err = element_sizeof(py, ti, obj, size);
    break;
  case PM_SIZE_DECIMAL:
    err = decimal_sizeof(py, ti, obj, size);
    break;
  case PM_SIZE_DEFAULT:
    err = default_sizeof(py, ti, obj, size);
    break;
  }
  return err;
}

int
pm__object_inline_size(struct pm_python *py, const struct pm_type_info *ti,
                       pm_addr_t obj, uint64_t *size)
{
  const struct pm_layout *L = py->L;
  uint64_t full;
  int err;

  switch (ti->sizer) {
  case PM_SIZE_STR:
    return str_sizeof(py, obj, &full, size);
  case PM_SIZE_INT:
    if ((err = sizeof_by_head(py, ti, obj, size)))
      return err;
    /* int.__sizeof__ counts from the digits: the struct may be larger. */
    if (*size < (uint64_t)ti->basicsize)
      *size = (uint64_t)ti->basicsize;
    return 0;
  case PM_SIZE_GEN:
  case PM_SIZE_FRAME:
    /*
     * 3.11+: the frame lives in the object, sized by its code; the type
     * has an item size but the object no ob_size (that word is a pointer).
     */
    err = L->iframe_localsplus >= 0 ? frame_sizeof(py, ti, obj, size)
                                    : default_sizeof(py, ti, obj, size);
    if (err)
      return err;
    break;
  case PM_SIZE_DEFAULT:
  case PM_SIZE_CODE:
    if ((err = default_sizeof(py, ti, obj, size)))
      return err;
    break;
  default:
    /* Items, tables and buffers live in blocks of their own. */
    *size = (uint64_t)ti->basicsize;
    break;
  }
  if ((ti->flags & PM_TPFLAGS_INLINE_VALUES) && L->dictvalues_capacity >= 0) {
    /* 3.13+: the instance's values follow it, then their order bytes. */
    uint8_t cap;
    if ((err = pm__py_read_u8(py,
                              obj + (pm_addr_t)ti->basicsize
                                  + (pm_addr_t)L->dictvalues_capacity,
                              &cap)))
      return err;
    *size += (uint64_t)L->dictvalues_values + (uint64_t)cap * 8
             + (((uint64_t)cap + 7) & ~(uint64_t)7);
  }
  return 0;
}
