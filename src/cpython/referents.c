/* SPDX-License-Identifier: MIT */
/* referents.c -- the objects an object refers to, read from its layout */
#include <config.h>

#include <errno.h>
#include <string.h>

#include "cpython/referents.h"
#include "pmpeek/error.h"

/* structmember.h: Py_T_OBJECT and Py_T_OBJECT_EX, and Py_RELATIVE_OFFSET. */
#define MEMBER_T_OBJECT 6
#define MEMBER_T_OBJECT_EX 16
#define MEMBER_RELATIVE_OFFSET 8
/* No real type has more members; a longer array is garbage. */
#define MAX_MEMBERS 4096
#define MAX_BASE_DEPTH 256
/* Bytes read at once when walking an array of pointers. */
#define CHUNK 4096
/* collections.deque blocks: leftlink, BLOCKLEN (64) items, rightlink. */
#define DEQUE_BLOCKLEN 64
/* _PyInterpreterFrame.owner values (Include/internal/pycore_frame.h). */
#define FRAME_OWNED_BY_FRAME_OBJECT 2

/* A read error ends the walk only when the target is gone or we must stop. */
static int
soft(int err)
{
  return pm__walk_fatal(err) ? err : 0;
}

static int
rd(struct pm_python *py, pm_addr_t addr, void *buf, size_t len)
{
  return pm_target_read(py->t, addr, buf, len);
}

static int
rd_u64(struct pm_python *py, pm_addr_t addr, uint64_t *out)
{
  return pm_target_read_u64(py->t, addr, out);
}

/* Visits one field at obj + off, when the layout has it (off >= 0). */
static int
field(struct pm_python *py, pm_addr_t obj, int64_t off, pm_ref_fn visit,
      void *arg)
{
  uint64_t p;
  int err;

  if (off < 0)
    return 0;
  if ((err = rd_u64(py, obj + (pm_addr_t)off, &p)))
    return soft(err);
  return p ? visit(arg, p) : 0;
}

/*
 * 3.14 keeps frame slots as _PyStackRef: the low bit marks a deferred
 * reference, and both low bits set a tagged int that is no object.
 */
static pm_addr_t
stackref(const struct pm_python *py, uint64_t v)
{
  if (!PM_PY_AT_LEAST(py, 3, 14))
    return v;
  if ((v & 3) == 3)
    return 0;
  return v & ~(uint64_t)1;
}

/*
 * Visits count pointers starting at addr, stride bytes apart, each at off
 * inside its stride; reads in chunks.  skip_hash_minus1: set tables, whose
 * deleted entries keep a key but have hash -1 at off + 8.
 */
static int
visit_array(struct pm_python *py, pm_addr_t addr, uint64_t count,
            unsigned stride, unsigned off, int tagged, pm_ref_fn visit,
            void *arg)
{
  uint64_t buf[CHUNK / 8];
  uint64_t per = CHUNK / stride;
  int err;

  if (stride < 8 || stride % 8 || off + 8 > stride)
    return PM_ECORRUPT;
  while (count > 0) {
    uint64_t n = count < per ? count : per;
    if ((err = rd(py, addr, buf, (size_t)(n * stride))))
      return soft(err);
    for (uint64_t i = 0; i < n; i++) {
      uint64_t p = buf[(i * stride + off) / 8];
      if (tagged)
        p = stackref(py, p);
      if (p && (err = visit(arg, p)))
        return err;
    }
    count -= n;
    addr += n * stride;
  }
  return 0;
}

int
pm__type_members(struct pm_python *py, pm_addr_t type, uint32_t *offs,
                 size_t max, size_t *n)
{
  const struct pm_layout *L = py->L;
  pm_addr_t t = type;
  struct pm_cycle cycle;
  int total = 0; /* entries read along the whole chain */
  int err;

  *n = 0;
  if (L->type_members < 0 || L->member_size <= 0)
    return 0;
  pm__cycle_init(&cycle);
  for (int depth = 0; t && depth < MAX_BASE_DEPTH; depth++) {
    uint64_t members;
    int64_t basicsize;

    if ((err = rd_u64(py, t + L->type_members, &members)) ||
        (err = pm_target_read(py->t, t + L->type_basicsize, &basicsize, 8)))
      return err;
    if (pm__cycle_seen(&cycle, t))
      break; /* a loop of tp_base: each type's members once */
    for (int i = 0; members && i < MAX_MEMBERS && total < MAX_MEMBERS;
         i++, total++) {
      unsigned char m[64];
      uint64_t name;
      int32_t mtype, mflags;
      int64_t off;

      if ((size_t)L->member_size > sizeof(m))
        return PM_ECORRUPT;
      if ((err = rd(py, members + (pm_addr_t)i * (pm_addr_t)L->member_size,
                    m, (size_t)L->member_size)))
        return err;
      memcpy(&name, m, 8);
      if (!name)
        break; /* the sentinel */
      memcpy(&mtype, m + L->member_type, 4);
      memcpy(&mflags, m + L->member_flags, 4);
      memcpy(&off, m + L->member_offset, 8);
      if (mtype != MEMBER_T_OBJECT && mtype != MEMBER_T_OBJECT_EX)
        continue;
      /* Offsets relative to a subclass's data are resolved at creation. */
      if (PM_PY_AT_LEAST(py, 3, 12) && (mflags & MEMBER_RELATIVE_OFFSET))
        continue;
      if (off < 16 || off % 8 || basicsize < 24 || off > basicsize - 8)
        continue;
      if (*n < max)
        offs[*n] = (uint32_t)off;
      (*n)++;
    }
    if ((err = rd_u64(py, t + L->type_base, &t)))
      return err;
  }
  return 0;
}

int
pm__iframe_cstack_owner(const struct pm_python *py)
{
  /* 3.12 and 3.13: FRAME_OWNED_BY_CSTACK is 3; 3.14 put INTERPRETER there. */
  if (!PM_PY_AT_LEAST(py, 3, 12))
    return -1;
  return PM_PY_AT_LEAST(py, 3, 14) ? 4 : 3;
}

int
pm__iframe_referents(struct pm_python *py, pm_addr_t frame, int stack,
                     pm_ref_fn visit, void *arg, int *owner)
{
  const struct pm_layout *L = py->L;
  unsigned char f[256];
  pm_addr_t code, locals;
  int64_t nlocals, nslots, count;
  uint64_t v;
  int8_t own;
  int err;

  *owner = -1;
  if (L->iframe_size <= 0 || (size_t)L->iframe_size > sizeof(f))
    return 0;
  if ((err = rd(py, frame, f, (size_t)L->iframe_size)))
    return soft(err);
  memcpy(&own, f + L->iframe_owner, 1);
  *owner = own;
  memcpy(&v, f + L->iframe_code, 8);
  code = stackref(py, v);
  if (!code || (code & 7))
    return 0;
  if ((err = visit(arg, code)))
    return err;
  /* A shim frame of a C call is valid only as far as its code. */
  if (own == pm__iframe_cstack_owner(py))
    return 0;
  memcpy(&v, f + L->iframe_func, 8);
  if ((v = stackref(py, v)) && (err = visit(arg, v)))
    return err;
  {
    const int64_t plain[] = { L->iframe_globals, L->iframe_builtins,
                              L->iframe_locals, L->iframe_frame_obj };
    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
      if (plain[i] < 0)
        continue;
      memcpy(&v, f + plain[i], 8);
      if (v && (err = visit(arg, v)))
        return err;
    }
  }
  if ((err = pm__code_slots(py, code, &nlocals, &nslots)))
    return soft(err);
  count = nlocals;
  locals = frame + (pm_addr_t)L->iframe_localsplus;
  if (stack && L->iframe_stacktop >= 0) {
    int32_t top;
    memcpy(&top, f + L->iframe_stacktop, 4);
    if (top >= nlocals && top <= nslots)
      count = top;
  } else if (stack && L->iframe_stackpointer >= 0) {
    uint64_t sp;
    memcpy(&sp, f + L->iframe_stackpointer, 8);
    if (sp >= locals && (sp - locals) % 8 == 0 &&
        (int64_t)((sp - locals) / 8) >= nlocals &&
        (int64_t)((sp - locals) / 8) <= nslots)
      count = (int64_t)((sp - locals) / 8);
  }
  return visit_array(py, locals, (uint64_t)count, 8, 0, 1, visit, arg);
}

/* Frame objects: up to 3.10 the frame itself, from 3.11 a view of one. */
static int
frame_referents(struct pm_python *py, pm_addr_t obj, pm_ref_fn visit,
                void *arg)
{
  const struct pm_layout *L = py->L;
  const int64_t fields[] = {
    L->frame_back,        L->frame_trace,   L->frame_extra_locals,
    L->frame_locals_cache, L->frame_code,   L->frame_builtins,
    L->frame_globals,     L->frame_locals,
  };
  int err;

  for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
    if ((err = field(py, obj, fields[i], visit, arg)))
      return err;
  if (L->frame_frame >= 0) {
    uint64_t frame;
    int owner;
    if ((err = rd_u64(py, obj + L->frame_frame, &frame)))
      return soft(err);
    /*
     * Only a frame the object owns is its to visit; a running frame
     * belongs to its thread or generator, which visit it.
     */
    if (frame != obj + (pm_addr_t)L->frame_data)
      return 0;
    return pm__iframe_referents(py, frame, 1, visit, arg, &owner);
  }
  {
    uint64_t code, valuestack;
    int64_t nlocals, nslots, depth = 0;
    pm_addr_t locals = obj + (pm_addr_t)L->frame_localsplus;

    if ((err = rd_u64(py, obj + L->frame_code, &code)) ||
        (err = rd_u64(py, obj + L->frame_valuestack, &valuestack)))
      return soft(err);
    if ((err = pm__code_slots(py, code, &nlocals, &nslots)))
      return soft(err);
    if ((err = visit_array(py, locals, (uint64_t)nlocals, 8, 0, 0, visit,
                           arg)))
      return err;
    /* The value stack, while the frame is not running (frame_traverse). */
    if (L->frame_stacktop >= 0) {
      uint64_t top;
      if ((err = rd_u64(py, obj + L->frame_stacktop, &top)))
        return soft(err);
      if (top && top >= valuestack && (top - valuestack) % 8 == 0)
        depth = (int64_t)((top - valuestack) / 8);
    } else if (L->frame_stackdepth >= 0) {
      int32_t d;
      if ((err = rd(py, obj + L->frame_stackdepth, &d, 4)))
        return soft(err);
      depth = d;
    }
    if (valuestack != locals + (pm_addr_t)nlocals * 8 || depth < 0 ||
        depth > nslots - nlocals)
      return 0;
    return visit_array(py, valuestack, (uint64_t)depth, 8, 0, 0, visit, arg);
  }
}

static int
gen_referents(struct pm_python *py, pm_addr_t obj, pm_ref_fn visit,
              void *arg)
{
  const struct pm_layout *L = py->L;
  const int64_t fields[] = {
    L->gen_code,          L->gen_frame,       L->gen_name,
    L->gen_qualname,      L->gen_exc_type,    L->gen_exc_value,
    L->gen_exc_traceback, L->gen_origin_or_finalizer,
  };
  int8_t state;
  int owner, err;

  for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
    if ((err = field(py, obj, fields[i], visit, arg)))
      return err;
  if (L->gen_iframe < 0)
    return 0; /* 3.8-3.10: gi_frame is a frame object, visited above */
  if ((err = rd(py, obj + L->gen_frame_state, &state, 1)))
    return soft(err);
  /*
   * FRAME_COMPLETED (1) and FRAME_CLEARED (4): the frame is gone.  A
   * suspended (or new) generator saved its stack pointer; a running one is
   * on a thread's chain, where only its locals are certain.
   */
  if (state >= 1)
    return 0;
  return pm__iframe_referents(py, obj + (pm_addr_t)L->gen_iframe, state < 0,
                              visit, arg, &owner);
}

static int
code_referents(struct pm_python *py, pm_addr_t obj, pm_ref_fn visit,
               void *arg)
{
  const struct pm_layout *L = py->L;
  const int64_t fields[] = {
    L->code_consts,      L->code_names,      L->code_localsplusnames,
    L->code_localspluskinds, L->code_varnames, L->code_cellvars,
    L->code_freevars,    L->code_code,       L->code_filename,
    L->code_name,        L->code_qualname,   L->code_linetable,
    L->code_exceptiontable, L->code_cached_code,
  };
  int err;

  for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
    if ((err = field(py, obj, fields[i], visit, arg)))
      return err;
  if (L->code_cached >= 0 && L->cocached_size > 0) {
    /* 3.12+: co_code and the name tuples, made on first use. */
    uint64_t cached;
    if ((err = rd_u64(py, obj + L->code_cached, &cached)))
      return soft(err);
    if (cached) {
      const int64_t cf[] = { L->cocached_code, L->cocached_varnames,
                             L->cocached_cellvars, L->cocached_freevars };
      for (size_t i = 0; i < sizeof(cf) / sizeof(cf[0]); i++)
        if ((err = field(py, cached, cf[i], visit, arg)))
          return err;
    }
  }
  return 0;
}

static int
function_referents(struct pm_python *py, pm_addr_t obj, pm_ref_fn visit,
                   void *arg)
{
  const struct pm_layout *L = py->L;
  const int64_t fields[] = {
    L->func_code,     L->func_globals,   L->func_builtins,
    L->func_name,     L->func_qualname,  L->func_defaults,
    L->func_kwdefaults, L->func_closure, L->func_doc,
    L->func_dict,     L->func_module,    L->func_annotations,
    L->func_annotate, L->func_typeparams,
  };
  int err;

  for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
    if ((err = field(py, obj, fields[i], visit, arg)))
      return err;
  return 0;
}

static int
tuple_referents(struct pm_python *py, pm_addr_t obj, pm_ref_fn visit,
                void *arg)
{
  int64_t n;
  int err;

  if ((err = pm_target_read(py->t, obj + py->L->varobject_ob_size, &n, 8)))
    return soft(err);
  if (n < 0 || n > (INT64_C(1) << 36))
    return 0;
  return visit_array(py, obj + (pm_addr_t)py->L->tuple_item, (uint64_t)n, 8,
                     0, 0, visit, arg);
}

static int
list_referents(struct pm_python *py, pm_addr_t obj, pm_ref_fn visit,
               void *arg)
{
  const struct pm_layout *L = py->L;
  int64_t n, allocated;
  uint64_t items;
  int err;

  if ((err = pm_target_read(py->t, obj + L->varobject_ob_size, &n, 8)) ||
      (err = pm_target_read(py->t, obj + L->list_allocated, &allocated, 8)) ||
      (err = rd_u64(py, obj + L->list_item, &items)))
    return soft(err);
  if (n < 0 || n > allocated || !items)
    return 0;
  return visit_array(py, items, (uint64_t)n, 8, 0, 0, visit, arg);
}

/* The values array of a split table or of an instance's inline values. */
static pm_addr_t
values_array(const struct pm_python *py, pm_addr_t values)
{
  return values + (pm_addr_t)(py->L->dictvalues_values > 0
                                  ? py->L->dictvalues_values
                                  : 0);
}

static int
dict_referents(struct pm_python *py, pm_addr_t obj, pm_ref_fn visit,
               void *arg)
{
  const struct pm_layout *L = py->L;
  struct pm_dict_keys k;
  uint64_t keys, values;
  int err;

  if ((err = rd_u64(py, obj + L->dict_keys, &keys)) ||
      (err = rd_u64(py, obj + L->dict_values, &values)) ||
      (err = pm__dict_keys_read(py, keys, &k)))
    return soft(err);
  if ((err = visit_array(py, k.entries, (uint64_t)k.nentries, k.entry_size,
                         k.key_off, 0, visit, arg)))
    return err;
  if (values)
    return visit_array(py, values_array(py, values), (uint64_t)k.nentries, 8,
                       0, 0, visit, arg);
  return visit_array(py, k.entries, (uint64_t)k.nentries, k.entry_size,
                     k.value_off, 0, visit, arg);
}

static int
set_referents(struct pm_python *py, pm_addr_t obj, pm_ref_fn visit,
              void *arg)
{
  const struct pm_layout *L = py->L;
  uint64_t table, buf[CHUNK / 8];
  int64_t mask;
  uint64_t n, i = 0;
  int err;

  if ((err = rd_u64(py, obj + L->set_table, &table)) ||
      (err = pm_target_read(py->t, obj + L->set_mask, &mask, 8)))
    return soft(err);
  if (!table || mask < 0 || mask > (INT64_C(1) << 36) || L->setentry_size != 16)
    return 0;
  n = (uint64_t)mask + 1;
  while (i < n) {
    uint64_t m = n - i < CHUNK / 16 ? n - i : CHUNK / 16;
    if ((err = rd(py, table + i * 16, buf, (size_t)(m * 16))))
      return soft(err);
    for (uint64_t j = 0; j < m; j++) {
      /* setentry {key, hash}; a deleted entry keeps the dummy, hash -1. */
      if (buf[2 * j] && (int64_t)buf[2 * j + 1] != -1 &&
          (err = visit(arg, buf[2 * j])))
        return err;
    }
    i += m;
  }
  return 0;
}

static int
deque_referents(struct pm_python *py, pm_addr_t obj, pm_ref_fn visit,
                void *arg)
{
  const struct pm_layout *L = py->L;
  uint64_t block, buf[DEQUE_BLOCKLEN + 2];
  struct pm_cycle cycle;
  int64_t left, n;
  int err;

  if ((err = rd_u64(py, obj + L->deque_leftblock, &block)) ||
      (err = pm_target_read(py->t, obj + L->deque_leftindex, &left, 8)) ||
      (err = pm_target_read(py->t, obj + L->varobject_ob_size, &n, 8)))
    return soft(err);
  if (left < 0 || left >= DEQUE_BLOCKLEN || n < 0 || n > (INT64_C(1) << 36))
    return 0;
  /* Each block: leftlink, data[BLOCKLEN], rightlink; n bounds the chain. */
  pm__cycle_init(&cycle);
  while (n > 0 && block) {
    if (pm__cycle_seen(&cycle, block))
      return 0; /* a loop of blocks: n is garbage too */
    if ((err = rd(py, block, buf, sizeof(buf))))
      return soft(err);
    for (int64_t i = left; i < DEQUE_BLOCKLEN && n > 0; i++, n--)
      if (buf[1 + i] && (err = visit(arg, buf[1 + i])))
        return err;
    left = 0;
    block = buf[DEQUE_BLOCKLEN + 1];
  }
  return 0;
}

static int
type_referents(struct pm_python *py, pm_addr_t obj, pm_ref_fn visit,
               void *arg)
{
  const struct pm_layout *L = py->L;
  uint64_t flags, keys;
  struct pm_dict_keys k;
  int err;

  if ((err = field(py, obj, L->type_bases, visit, arg)) ||
      (err = field(py, obj, L->type_mro, visit, arg)) ||
      (err = field(py, obj, L->type_base, visit, arg)))
    return err;
  if ((err = rd_u64(py, obj + L->type_flags, &flags)))
    return soft(err);
  if (!(flags & PM_TPFLAGS_HEAPTYPE))
    return 0;
  if ((err = field(py, obj, L->heaptype_name, visit, arg)) ||
      (err = field(py, obj, L->heaptype_qualname, visit, arg)) ||
      (err = field(py, obj, L->heaptype_slots, visit, arg)) ||
      (err = field(py, obj, L->heaptype_module, visit, arg)))
    return err;
  /* The attribute names its instances share (split keys). */
  if ((err = rd_u64(py, obj + L->heaptype_cached_keys, &keys)))
    return soft(err);
  if (!keys)
    return 0;
  if ((err = pm__dict_keys_read(py, keys, &k)))
    return soft(err);
  return visit_array(py, k.entries, (uint64_t)k.nentries, k.entry_size,
                     k.key_off, 0, visit, arg);
}

/* The number of values in an instance's values (3.11+). */
static int
values_count(struct pm_python *py, pm_addr_t obj, pm_addr_t values,
             uint64_t *n)
{
  const struct pm_layout *L = py->L;
  uint64_t type, keys;
  struct pm_dict_keys k;
  int err;

  if (L->dictvalues_capacity >= 0) {
    uint8_t cap;
    if ((err = rd(py, values + L->dictvalues_capacity, &cap, 1)))
      return err;
    *n = cap;
    return 0;
  }
  /* 3.11, 3.12: as many as the class's shared keys have entries. */
  if ((err = rd_u64(py, obj + L->object_type, &type)) ||
      (err = rd_u64(py, type + L->heaptype_cached_keys, &keys)))
    return err;
  if (!keys)
    return PM_ECORRUPT;
  if ((err = pm__dict_keys_read(py, keys, &k)))
    return err;
  *n = (uint64_t)k.nentries;
  return 0;
}

/*
 * The instance's attributes: a __dict__ at tp_dictoffset, or (3.11+) the
 * managed dict pointer and values before the object or inline after it.
 */
static int
instance_dict(struct pm_python *py, pm_addr_t obj,
              const struct pm_type_info *ti, pm_ref_fn visit, void *arg,
              pm_addr_t *dict)
{
  const struct pm_layout *L = py->L;
  uint64_t d = 0, values = 0, n;
  int err;

  if (PM_PY_AT_LEAST(py, 3, 11) && (ti->flags & PM_TPFLAGS_MANAGED_DICT)) {
    uint64_t pre[2];
    /* 3.11 [values][dict]; 3.12 [weakref][dict|values]; 3.13 [weakref][dict] */
    if ((err = rd(py, obj - 32, pre, sizeof(pre))))
      return soft(err);
    if (PM_PY_AT_LEAST(py, 3, 13)) {
      d = pre[1];
      if (ti->flags & PM_TPFLAGS_INLINE_VALUES) {
        uint8_t valid;
        values = obj + (pm_addr_t)ti->basicsize;
        if ((err = rd(py, values + L->dictvalues_valid, &valid, 1)))
          return soft(err);
        if (!valid)
          values = 0;
      }
    } else if (PM_PY_AT_LEAST(py, 3, 12)) {
      if (pre[1] & 1)
        values = pre[1] + 1; /* stored as values - 1: bit 0 is the tag */
      else
        d = pre[1];
    } else {
      values = pre[0];
      d = pre[1];
    }
    if (values) {
      if ((err = values_count(py, obj, values, &n)))
        return soft(err);
      if ((err = visit_array(py, values_array(py, values), n, 8, 0, 0, visit,
                             arg)))
        return err;
    }
  } else if (ti->dictoffset != 0) {
    int64_t off = ti->dictoffset;
    if (off < 0) {
      /* _PyObject_DictPointer: from the end of a variable-size object. */
      int64_t size;
      if ((err = pm_target_read(py->t, obj + L->varobject_ob_size, &size, 8)))
        return soft(err);
      if (size < 0)
        size = -size;
      if (size > (INT64_C(1) << 36))
        return 0;
      off += (ti->basicsize + size * ti->itemsize + 7) & ~INT64_C(7);
    }
    if (off < 8 || off % 8)
      return 0;
    if ((err = rd_u64(py, obj + (pm_addr_t)off, &d)))
      return soft(err);
  }
  if (d && !(d & 7)) {
    *dict = d;
    return visit(arg, d);
  }
  return 0;
}

int
pm__referents(struct pm_python *py, pm_addr_t obj,
              const struct pm_type_info *ti, const uint32_t *members,
              size_t nmembers, pm_ref_fn visit, void *arg, pm_addr_t *dict)
{
  const struct pm_layout *L = py->L;
  int err = 0;

  *dict = 0;
  for (size_t i = 0; i < nmembers; i++)
    if ((err = field(py, obj, members[i], visit, arg)))
      return err;
  if ((err = instance_dict(py, obj, ti, visit, arg, dict)))
    return err;
  switch (ti->walker) {
  case PM_WALK_NONE:
    break;
  case PM_WALK_TUPLE:
    err = tuple_referents(py, obj, visit, arg);
    break;
  case PM_WALK_LIST:
    err = list_referents(py, obj, visit, arg);
    break;
  case PM_WALK_DICT:
    err = dict_referents(py, obj, visit, arg);
    break;
  case PM_WALK_SET:
    err = set_referents(py, obj, visit, arg);
    break;
  case PM_WALK_TYPE:
    err = type_referents(py, obj, visit, arg);
    break;
  case PM_WALK_CODE:
    err = code_referents(py, obj, visit, arg);
    break;
  case PM_WALK_FUNCTION:
    err = function_referents(py, obj, visit, arg);
    break;
  case PM_WALK_CELL:
    err = field(py, obj, L->cell_ref, visit, arg);
    break;
  case PM_WALK_CFUNCTION:
    if (!(err = field(py, obj, L->cfunc_self, visit, arg)))
      err = field(py, obj, L->cfunc_module, visit, arg);
    break;
  case PM_WALK_GEN:
    err = gen_referents(py, obj, visit, arg);
    break;
  case PM_WALK_FRAME:
    err = frame_referents(py, obj, visit, arg);
    break;
  case PM_WALK_EXC: {
    const int64_t fields[] = { L->exc_args, L->exc_notes, L->exc_traceback,
                               L->exc_context, L->exc_cause };
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]) && !err; i++)
      err = field(py, obj, fields[i], visit, arg);
    break;
  }
  case PM_WALK_DEQUE:
    err = deque_referents(py, obj, visit, arg);
    break;
  }
  return err;
}
