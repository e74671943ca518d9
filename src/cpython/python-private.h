/* SPDX-License-Identifier: MIT */
/* python-private.h -- the interpreter model shared by the walkers */
#ifndef PM_PYTHON_PRIVATE_H
#define PM_PYTHON_PRIVATE_H

#include <errno.h>

#include "cpython/layout.h"
#include "pmpeek/error.h"
#include "pmpeek/python.h"
#include "target/target-peek.h"

/* Builtin types pmpeek recognises by address (their exported symbols). */
#define PM_BUILTIN_TYPES(X)                                                    \
  X(OBJECT, "PyBaseObject_Type")                                               \
  X(TYPE, "PyType_Type")                                                       \
  X(LIST, "PyList_Type")                                                       \
  X(TUPLE, "PyTuple_Type")                                                     \
  X(DICT, "PyDict_Type")                                                       \
  X(SET, "PySet_Type")                                                         \
  X(FROZENSET, "PyFrozenSet_Type")                                             \
  X(STR, "PyUnicode_Type")                                                     \
  X(BYTES, "PyBytes_Type")                                                     \
  X(BYTEARRAY, "PyByteArray_Type")                                             \
  X(INT, "PyLong_Type")                                                        \
  X(BOOL, "PyBool_Type")                                                       \
  X(FLOAT, "PyFloat_Type")                                                     \
  X(MODULE, "PyModule_Type")                                                   \
  X(CODE, "PyCode_Type")                                                       \
  X(FRAME, "PyFrame_Type")                                                     \
  X(GEN, "PyGen_Type")                                                         \
  X(CORO, "PyCoro_Type")                                                       \
  X(ASYNCGEN, "PyAsyncGen_Type")                                               \
  X(FUNCTION, "PyFunction_Type")                                               \
  X(CELL, "PyCell_Type")                                                       \
  X(CFUNCTION, "PyCFunction_Type")                                             \
  X(ODICT, "PyODict_Type")                                                     \
  X(MEMORYVIEW, "PyMemoryView_Type")                                           \
  X(CONTEXT, "PyContext_Type")                                                 \
  X(CONTEXTVAR, "PyContextVar_Type")                                           \
  X(CONTEXTTOKEN, "PyContextToken_Type")

enum pm_builtin {
#define PM__BT_ENUM(name, sym) PM_T_##name,
  PM_BUILTIN_TYPES(PM__BT_ENUM)
#undef PM__BT_ENUM
      PM_T__COUNT
};

/*
 * The geometry of a dict keys object (3.8-3.10 and 3.11+ layouts): where
 * its entries are, how many are in use and how big each is.
 */
struct pm_dict_keys {
  uint64_t size;     /* slots in the index table */
  uint64_t usable;   /* USABLE_FRACTION(size) */
  int64_t nentries;  /* entries in use, deleted included */
  int64_t dk_usable; /* entries still free */
  unsigned index_bytes;
  unsigned entry_size;
  unsigned key_off; /* of me_key inside an entry */
  unsigned value_off;
  pm_addr_t entries;
  int64_t refcnt;
};

struct pm_python {
  struct pm_target *t;
  const struct pm_layout *L;
  struct pm_python_info info;
  uint32_t version; /* major << 16 | minor << 8 | micro, as in layouts */
  pm_addr_t types[PM_T__COUNT]; /* 0 when not found */
  char *binary;
  /*
   * 3.8-3.11: the address of unicodeobject.c's static `interned` (a
   * pointer to the interned-strings dict), from .symtab; 0 when unknown.
   */
  pm_addr_t interned_var;
  /*
   * The keys object read last (pm__dict_keys_read()), while the target's
   * cache epoch is the same: a census reads a dict's keys for its size and
   * again for its referents.
   */
  struct {
    pm_addr_t addr;
    uint64_t epoch;
    struct pm_dict_keys k;
  } keys_memo;
};

/*
 * pm_python_prepare() and pm_allocator_prepare(): finds and indexes the
 * interpreter's file in t's mappings, then pm__obmalloc_prepare(obm_flags)
 * on it, whose result goes to *obm_err.  Reads none of the target's
 * memory.  Returns 0 or what finding the file met (PM_ENOPYTHON, -ENOMEM).
 */
int pm__python_prepare(struct pm_target *t, unsigned obm_flags, int *obm_err);

/*
 * Errors that end a whole walk.  Anything else means one pointer we
 * followed was torn or garbage, which costs only that object or list.
 * PM_ELIMIT: the target's read budget is spent (pm_target_read()), so
 * every later read would fail too.
 */
static inline int
pm__walk_fatal(int err)
{
  return err == PM_EGONE || err == PM_EINTR || err == -ENOMEM || err == -EPERM
         || err == -ESRCH || err == PM_ELIMIT;
}

/* err when it ends the walk (pm__walk_fatal()), else 0: a soft failure. */
static inline int
pm__walk_soft(int err)
{
  return pm__walk_fatal(err) ? err : 0;
}

/*
 * Reads of the target for the walkers, which call them for nearly every
 * field: inline, served from the read cache's window without a call when
 * they can be (pm__target_read_fast()).
 */
static inline int
pm__py_read(struct pm_python *py, pm_addr_t addr, void *buf, size_t len)
{
  return pm__target_read_fast(py->t, addr, buf, len);
}

static inline int
pm__py_read_u64(struct pm_python *py, pm_addr_t addr, uint64_t *out)
{
  return pm__target_read_fast(py->t, addr, out, sizeof(*out));
}

static inline int
pm__py_read_i64(struct pm_python *py, pm_addr_t addr, int64_t *out)
{
  return pm__target_read_fast(py->t, addr, out, sizeof(*out));
}

static inline int
pm__py_read_u8(struct pm_python *py, pm_addr_t addr, uint8_t *out)
{
  return pm__target_read_fast(py->t, addr, out, 1);
}

/*
 * Brent's cycle detector, for a linked list read from the target one node
 * at a time: pm__cycle_seen() is non-zero once the walk is back at a node
 * it has been at, within about twice the length of the list's tail and
 * loop, at no memory cost.  A list of the target's may loop anywhere.
 */
struct pm_cycle {
  pm_addr_t mark;
  uint64_t steps, next_mark;
};

static inline void
pm__cycle_init(struct pm_cycle *c)
{
  c->mark = 0;
  c->steps = 0;
  c->next_mark = 1;
}

static inline int
pm__cycle_seen(struct pm_cycle *c, pm_addr_t node)
{
  if (c->steps && node == c->mark)
    return 1;
  if (++c->steps == c->next_mark) {
    c->mark = node;
    c->next_mark *= 2;
  }
  return 0;
}

/*
 * A linked list of the target's followed node by node, at most max nodes:
 * pm__chain_bad() is non-zero for a node not to be followed, because it is
 * misaligned (nodes are structs, 8-aligned), one too many, or one the walk
 * has been at (pm_cycle).
 */
struct pm_chain {
  struct pm_cycle cycle;
  uint64_t n, max;
};

static inline void
pm__chain_init(struct pm_chain *c, uint64_t max)
{
  pm__cycle_init(&c->cycle);
  c->n = 0;
  c->max = max;
}

static inline int
pm__chain_bad(struct pm_chain *c, pm_addr_t node)
{
  return (node & 7) || ++c->n > c->max || pm__cycle_seen(&c->cycle, node);
}

#define PM_PY_AT_LEAST(py, maj, min)                                           \
  ((py)->version >= (((maj) << 16) | ((min) << 8)))

/*
 * The object in a frame slot or frame field as read.  3.14 keeps them as
 * _PyStackRef: the low bit marks a deferred reference, and both low bits
 * set a tagged int, which is no object (0).
 */
static inline pm_addr_t
pm__stackref(const struct pm_python *py, uint64_t v)
{
  if (!PM_PY_AT_LEAST(py, 3, 14))
    return v;
  if ((v & 3) == 3)
    return 0;
  return v & ~(uint64_t)1;
}

/* tp_flags bits (Include/object.h), stable across 3.8-3.14 where present. */
#define PM_TPFLAGS_MANAGED_WEAKREF (1UL << 3)
#define PM_TPFLAGS_MANAGED_DICT (1UL << 4)
#define PM_TPFLAGS_HEAPTYPE (1UL << 9)
#define PM_TPFLAGS_HAVE_GC (1UL << 14)
#define PM_TPFLAGS_INLINE_VALUES (1UL << 2) /* 3.13+ */
#define PM_TPFLAGS_BASE_EXC_SUBCLASS (1UL << 30)
#define PM_TPFLAGS_TYPE_SUBCLASS (1UL << 31)

#endif
