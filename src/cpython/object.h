/* SPDX-License-Identifier: MIT */
/* object.h -- reading type objects, names and sys.getsizeof() from outside */
#ifndef PM_OBJECT_H
#define PM_OBJECT_H

#include <stddef.h>
#include <stdint.h>

#include "cpython/python-private.h"

/* Which __sizeof__ implementation applies to instances of a type. */
enum pm_sizer {
  PM_SIZE_DEFAULT, /* object.__sizeof__: basicsize + itemsize * ob_size */
  PM_SIZE_LIST,
  PM_SIZE_DICT,
  PM_SIZE_SET,
  PM_SIZE_TYPE,
  PM_SIZE_STR,
  PM_SIZE_INT,
  PM_SIZE_BYTEARRAY,
  PM_SIZE_CODE,
  PM_SIZE_GEN, /* generator, coroutine, async_generator */
  PM_SIZE_FRAME,
  PM_SIZE_ODICT,
  PM_SIZE_DEQUE,
  PM_SIZE_BUFFERED, /* _io.BufferedReader, -Writer, -Random */
  PM_SIZE_BYTESIO,
  PM_SIZE_STRUCT,  /* _struct.Struct: its format codes */
  PM_SIZE_ARRAY,   /* array.array: allocated items */
  PM_SIZE_ELEMENT, /* ElementTree.Element: its extra, its children array */
  PM_SIZE_DECIMAL, /* decimal.Decimal: digits outside the object */
};

/*
 * Which layout the referents of an instance follow, on top of what every
 * object has (its type, its T_OBJECT members, its __dict__).
 */
enum pm_walker {
  PM_WALK_NONE,
  PM_WALK_TUPLE,
  PM_WALK_LIST,
  PM_WALK_DICT,
  PM_WALK_SET,
  PM_WALK_TYPE,
  PM_WALK_CODE,
  PM_WALK_FUNCTION,
  PM_WALK_CELL,
  PM_WALK_CFUNCTION,
  PM_WALK_GEN,
  PM_WALK_FRAME,
  PM_WALK_EXC,
  PM_WALK_DEQUE,
  PM_WALK_MEMORYVIEW,
  PM_WALK_CONTEXT,
  PM_WALK_CONTEXTVAR,
  PM_WALK_CONTEXTTOKEN,
  PM_WALK_HAMT_BITMAP, /* the nodes of a context's variables' trie */
  PM_WALK_HAMT_ARRAY,
  PM_WALK_HAMT_COLLISION,
  PM_WALK_FUTURE,  /* _asyncio.Future: result, exception, callbacks... */
  PM_WALK_TASK,    /* _asyncio.Task: a future's, and its coroutine... */
  PM_WALK_ELEMENT, /* ElementTree.Element: tag, text, tail, attrib, children */
  PM_WALK_LRU,     /* functools.lru_cache's wrapper: its cache, function */
  PM_WALK_FIELD,   /* references in C fields: pm_type_info.held */
  PM_WALK_SIMPLEQUEUE, /* _queue.SimpleQueue: its list, or ring (3.13+) */
  PM_WALK_TEXTIO,      /* _io.TextIOWrapper: decoder, pending text... */
};

#define PM_KIND_NAME_MAX 256

/* C fields a PM_WALK_FIELD type may hold references in. */
#define PM_HELD_MAX 3

/* Children an ElementTree element may have: its length and room. */
#define PM_ELEMENT_MAX_CHILDREN (INT64_C(1) << 32)

struct pm_type_info {
  uint64_t flags;
  int64_t basicsize;
  int64_t itemsize;
  int64_t dictoffset; /* tp_dictoffset */
  enum pm_sizer sizer;
  enum pm_walker walker;
  int base; /* nearest enum pm_builtin in the tp_base chain, or -1 */
  /*
   * PM_WALK_FIELD: the offsets in the object of the references it holds in
   * C fields (-1 when the layout lacks one), and the fields' names; the
   * list ends at the first NULL name.
   */
  int64_t held[PM_HELD_MAX];
  const char *held_name[PM_HELD_MAX];
  /*
   * 3.11 and 3.12: how many values an instance's inline values hold (the
   * entries of the class's shared keys, fixed while the target is paused);
   * -1 when that does not apply or could not be read.
   */
  int64_t shared_entries;
  char name[PM_KIND_NAME_MAX]; /* as Python prints the type, UTF-8 */
};

/*
 * Reads the type object at type: flags, sizes, which sizer and walker
 * apply, and its name (builtins bare, else module.qualname).  Returns
 * PM_ECORRUPT when type does not look like a type object (its own type is
 * not a type).
 */
int pm__type_read(struct pm_python *py, pm_addr_t type,
                  struct pm_type_info *out);

/* Non-zero when type is plausibly a type object (its type is a type). */
int pm__is_type_object(struct pm_python *py, pm_addr_t type);

/*
 * What sys.getsizeof(obj) returns for obj of type ti: __sizeof__ by the
 * type's sizer plus the pre-header that getsizeof adds.
 */
int pm__object_size(struct pm_python *py, const struct pm_type_info *ti,
                    pm_addr_t obj, uint64_t *size);

/*
 * pm__object_size() without the pre-header: what obj's __sizeof__ returns.
 * A walker that knows a type's pre-header (pm__object_presize() depends on
 * the object only for type objects) adds it once per type, not per object.
 */
int pm__object_sizeof(struct pm_python *py, const struct pm_type_info *ti,
                      pm_addr_t obj, uint64_t *size);

/* Whether pm__object_sizeof_head() serves sizer. */
static inline int
pm__sizer_by_head(enum pm_sizer sizer)
{
  return sizer == PM_SIZE_LIST || sizer == PM_SIZE_BYTEARRAY
         || sizer == PM_SIZE_STR || sizer == PM_SIZE_INT;
}

/*
 * pm__object_sizeof() from the first n bytes of obj, head, for the sizers
 * that need nothing else (pm__sizer_by_head()): 0 with *size, the
 * number of bytes it needs when n is fewer, PM_EOFFSETS for another sizer,
 * or PM_ECORRUPT.  For a walker that holds an object's bytes already.
 */
int64_t pm__object_sizeof_head(const struct pm_python *py,
                               const struct pm_type_info *ti, pm_addr_t obj,
                               const unsigned char *head, size_t n,
                               uint64_t *size);

/*
 * The bytes sys.getsizeof() adds in front of __sizeof__: the GC head and
 * the managed dict/weakref words, by the rules of py's version.  For an
 * object in a pymalloc block this is also its offset in the block (static
 * type objects, the exception on 3.11 and 3.12, are never in one).
 */
uint64_t pm__object_presize(struct pm_python *py, const struct pm_type_info *ti,
                            pm_addr_t obj);

/*
 * The bytes obj itself occupies after its pre-header: its allocation
 * request, without the memory it owns elsewhere (item arrays, hash tables,
 * buffers).  For a plausibility check of a memory block that is thought to
 * hold obj; PM_ECORRUPT when the object's own fields are impossible.
 */
int pm__object_inline_size(struct pm_python *py, const struct pm_type_info *ti,
                           pm_addr_t obj, uint64_t *size);

/*
 * Whether an ob_refcnt word read from the target is that of a live object
 * in py's version: positive (or immortal).  Objects parked on the
 * interpreter's free lists have a count of 0.
 */
static inline int
pm__refcnt_live(const struct pm_python *py, uint64_t refcnt)
{
  /*
   * 3.14 keeps flags in the top 16 bits and an overflow count below them;
   * 3.12 and 3.13's immortal objects hold UINT_MAX (or more), and a count
   * read as negative is no object's before them either.
   */
  if (PM_PY_AT_LEAST(py, 3, 14))
    return (uint32_t)refcnt != 0;
  return (int64_t)refcnt > 0;
}

/*
 * Copies the str object at str into buf as UTF-8 (a lone surrogate as the
 * text \uXXXX: see pm__utf8_put()), cut at len - 1 bytes.  PM_ECORRUPT
 * when it is not a plausible str.  buf is NUL-terminated whatever the
 * result (len > 0).
 */
int pm__str_read(struct pm_python *py, pm_addr_t str, char *buf, size_t len);

/*
 * Looks up the str key in the dict at dict by comparing key text; *value is
 * 0 when absent.  Bounded by the dict's size, and gives up (absent) after
 * 4096 entries.
 */
int pm__dict_get_str(struct pm_python *py, pm_addr_t dict, const char *key,
                     pm_addr_t *value);

/* Reads and checks the keys object at keys.  PM_ECORRUPT when implausible. */
int pm__dict_keys_read(struct pm_python *py, pm_addr_t keys,
                       struct pm_dict_keys *k);

/*
 * The address of the first value in the PyDictValues at values, those of a
 * split table or of an instance's inline values (3.13+ put a header first).
 */
static inline pm_addr_t
pm__dict_values_first(const struct pm_python *py, pm_addr_t values)
{
  return values
         + (pm_addr_t)(py->L->dictvalues_values > 0 ? py->L->dictvalues_values
                                                    : 0);
}

/*
 * Reads the dict object at dict: its keys object into k, as
 * pm__dict_keys_read() does, and into *values the address of its first
 * value when the table is split (its values kept apart from the keys), or
 * 0 when they sit in the entries.  Inline: a census reads every dict.
 */
static inline int
pm__dict_read(struct pm_python *py, pm_addr_t dict, struct pm_dict_keys *k,
              pm_addr_t *values)
{
  const struct pm_layout *L = py->L;
  uint64_t keys;
  int err;

  if ((err = pm__py_read_u64(py, dict + L->dict_keys, &keys))
      || (err = pm__py_read_u64(py, dict + L->dict_values, values)))
    return err;
  if (*values)
    *values = pm__dict_values_first(py, *values);
  return pm__dict_keys_read(py, keys, k);
}

/*
 * co_nlocalsplus + co_stacksize of the code object at code: the slots of a
 * frame running it (3.11+), or the same for the 3.8-3.10 frame layout.
 * *nlocals receives the slots that hold locals, cells and free variables.
 */
int pm__code_slots(struct pm_python *py, pm_addr_t code, int64_t *nlocals,
                   int64_t *nslots);

#endif
