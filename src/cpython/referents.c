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
#define SMALL_ARRAY 256 /* bytes: visit_array() without a loop */
/* collections.deque blocks: leftlink, BLOCKLEN (64) items, rightlink. */
#define DEQUE_BLOCKLEN 64
/* _PyInterpreterFrame.owner values (Include/internal/pycore_frame.h). */
#define FRAME_OWNED_BY_FRAME_OBJECT 2

/*
 * Where the walkers send what they find: to a plain callback, in runs to a
 * run callback, or with a label to a labelled one.  One set of walkers
 * serves all, so that a labelled walk visits exactly what a plain one does.
 */
struct visitor {
  pm_ref_fn plain;
  pm_refs_fn runs;
  pm_ref_label_fn labelled;
  void *arg;
};

static inline int
emit(const struct visitor *v, pm_addr_t ref, enum pm_ref_how how,
     const char *name, int64_t index, pm_addr_t key)
{
  struct pm_ref_label l;

  if (v->runs)
    return v->runs(v->arg, &ref, 1, 1);
  if (!v->labelled)
    return v->plain(v->arg, ref);
  l.how = how;
  l.name = name;
  l.index = index;
  l.key = key;
  return v->labelled(v->arg, ref, &l);
}

/* Visits one field at obj + off, when the layout has it (off >= 0). */
static int
field(struct pm_python *py, pm_addr_t obj, int64_t off, const struct visitor *v,
      const char *name)
{
  uint64_t p;
  int err;

  if (off < 0)
    return 0;
  if ((err = pm__py_read_u64(py, obj + (pm_addr_t)off, &p)))
    return pm__walk_soft(err);
  return p ? emit(v, p, PM_REF_FIELD, name, -1, 0) : 0;
}

/* A field of the layout and what a path calls it. */
struct named_field {
  int64_t off;
  const char *name;
};

static int
fields(struct pm_python *py, pm_addr_t obj, const struct named_field *f,
       size_t n, const struct visitor *v)
{
  int err;

  for (size_t i = 0; i < n; i++)
    if ((err = field(py, obj, f[i].off, v, f[i].name)))
      return err;
  return 0;
}

/*
 * Visits count pointers starting at addr, stride bytes apart, each at off
 * inside its stride; reads in chunks.  tagged: 3.14 stack references
 * (pm__stackref()).  A run visitor gets each chunk's items at once.
 */
static __attribute__((noinline)) int
visit_array_chunks(struct pm_python *py, pm_addr_t addr, uint64_t count,
                   unsigned stride, unsigned off, int tagged,
                   const struct visitor *v, enum pm_ref_how how)
{
  uint64_t index = 0;
  uint64_t buf[CHUNK / 8];
  uint64_t per = CHUNK / stride;
  int err;

  while (count > 0) {
    uint64_t n = count < per ? count : per;
    if ((err = pm__py_read(py, addr, buf, (size_t)(n * stride))))
      return pm__walk_soft(err);
    if (v->runs && !tagged) {
      if ((err = v->runs(v->arg, buf + off / 8, (size_t)n, stride / 8)))
        return err;
      goto next;
    }
    for (uint64_t i = 0; i < n; i++) {
      uint64_t p = buf[(i * stride + off) / 8];
      if (tagged)
        p = pm__stackref(py, p);
      if (p && (err = emit(v, p, how, NULL, (int64_t)(index + i), 0)))
        return err;
    }
  next:
    index += n;
    count -= n;
    addr += n * stride;
  }
  return 0;
}

/*
 * visit_array_chunks() for the small arrays most are (a pair's items, a
 * small dict's entries), read at once into a small frame, and handed to a
 * run visitor with no loop.
 */
static int
visit_array(struct pm_python *py, pm_addr_t addr, uint64_t count,
            unsigned stride, unsigned off, int tagged, const struct visitor *v,
            enum pm_ref_how how)
{
  uint64_t buf[SMALL_ARRAY / 8];
  int err;

  if (stride < 8 || stride % 8 || off + 8 > stride)
    return PM_ECORRUPT;
  if (!v->runs || tagged || count > SMALL_ARRAY / stride)
    return visit_array_chunks(py, addr, count, stride, off, tagged, v, how);
  if (!count)
    return 0;
  if ((err = pm__py_read(py, addr, buf, (size_t)(count * stride))))
    return pm__walk_soft(err);
  return v->runs(v->arg, buf + off / 8, (size_t)count, stride / 8);
}

/*
 * The object members along type's tp_base chain, as pm__type_members()
 * describes; when want >= 0, stops at the member at that offset and copies
 * its name into name (which must then hold len bytes).
 */
static int
type_members(struct pm_python *py, pm_addr_t type, uint32_t *offs, size_t max,
             size_t *n, int64_t want, char *name, size_t len)
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

    if ((err = pm__py_read_u64(py, t + L->type_members, &members))
        || (err = pm__py_read(py, t + L->type_basicsize, &basicsize, 8)))
      return err;
    if (pm__cycle_seen(&cycle, t))
      break; /* a loop of tp_base: each type's members once */
    for (int i = 0; members && i < MAX_MEMBERS && total < MAX_MEMBERS;
         i++, total++) {
      unsigned char m[64];
      uint64_t mname;
      int32_t mtype, mflags;
      int64_t off;

      if ((size_t)L->member_size > sizeof(m))
        return PM_ECORRUPT;
      if ((err
           = pm__py_read(py, members + (pm_addr_t)i * (pm_addr_t)L->member_size,
                         m, (size_t)L->member_size)))
        return err;
      memcpy(&mname, m, 8);
      if (!mname)
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
      if (want >= 0) {
        if (off != want)
          continue;
        /* A C string in the target: read it a byte at a time, bounded. */
        for (size_t k = 0; k + 1 < len; k++) {
          if ((err = pm__py_read(py, mname + k, &name[k], 1)))
            return err;
          if (!name[k])
            return 0;
        }
        name[len - 1] = '\0';
        return 0;
      }
      if (*n < max)
        offs[*n] = (uint32_t)off;
      (*n)++;
    }
    if ((err = pm__py_read_u64(py, t + L->type_base, &t)))
      return err;
  }
  return 0;
}

int
pm__type_members(struct pm_python *py, pm_addr_t type, uint32_t *offs,
                 size_t max, size_t *n)
{
  return type_members(py, type, offs, max, n, -1, NULL, 0);
}

int
pm__iframe_cstack_owner(const struct pm_python *py)
{
  /* 3.12 and 3.13: FRAME_OWNED_BY_CSTACK is 3; 3.14 put INTERPRETER there. */
  if (!PM_PY_AT_LEAST(py, 3, 12))
    return -1;
  return PM_PY_AT_LEAST(py, 3, 14) ? 4 : 3;
}

/* Item i of the tuple at tuple, or 0 when it has none. */
static int
tuple_item(struct pm_python *py, pm_addr_t tuple, int64_t i, pm_addr_t *out)
{
  int64_t n;
  int err;

  *out = 0;
  if (!tuple)
    return 0;
  if ((err = pm__py_read(py, tuple + py->L->varobject_ob_size, &n, 8)))
    return err;
  if (i < 0 || i >= n || n > (INT64_C(1) << 36))
    return 0;
  return pm__py_read_u64(
      py, tuple + (pm_addr_t)py->L->tuple_item + (pm_addr_t)i * 8, out);
}

int
pm__code_local_name(struct pm_python *py, pm_addr_t code, int64_t index,
                    pm_addr_t *name)
{
  const struct pm_layout *L = py->L;
  const int64_t parts[]
      = { L->code_varnames, L->code_cellvars, L->code_freevars };
  uint64_t names;
  int err;

  *name = 0;
  if (L->code_localsplusnames >= 0) {
    if ((err = pm__py_read_u64(py, code + L->code_localsplusnames, &names)))
      return err;
    return tuple_item(py, names, index, name);
  }
  /* 3.8-3.10: f_localsplus holds locals, then cells, then free variables. */
  for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
    int64_t n = 0;
    if (parts[i] < 0)
      return 0;
    if ((err = pm__py_read_u64(py, code + parts[i], &names)))
      return err;
    if (names && (err = pm__py_read(py, names + L->varobject_ob_size, &n, 8)))
      return err;
    if (n < 0 || n > (1 << 24))
      return PM_ECORRUPT;
    if (index < n)
      return tuple_item(py, names, index, name);
    index -= n;
  }
  return 0;
}

/*
 * A frame's count slots at addr: the first nlocals its locals, cells and
 * free variables (named after code's), the rest its value stack.
 */
static int
frame_slots(struct pm_python *py, pm_addr_t addr, int64_t count,
            int64_t nlocals, pm_addr_t code, int tagged,
            const struct visitor *v)
{
  uint64_t buf[CHUNK / 8];
  int err;

  if (!v->labelled)
    return visit_array(py, addr, (uint64_t)count, 8, 0, tagged, v,
                       PM_REF_LOCAL);
  for (int64_t i = 0; i < count;) {
    int64_t n = count - i < (int64_t)(CHUNK / 8) ? count - i : CHUNK / 8;
    if ((err = pm__py_read(py, addr + (pm_addr_t)i * 8, buf, (size_t)n * 8)))
      return pm__walk_soft(err);
    for (int64_t k = 0; k < n; k++, i++) {
      pm_addr_t p = tagged ? pm__stackref(py, buf[k]) : buf[k], name = 0;
      if (!p)
        continue;
      if (i < nlocals) {
        if ((err = pm__code_local_name(py, code, i, &name))
            && pm__walk_fatal(err))
          return err;
        err = emit(v, p, PM_REF_LOCAL, NULL, i, name);
      } else {
        err = emit(v, p, PM_REF_STACK, NULL, i - nlocals, 0);
      }
      if (err)
        return err;
    }
  }
  return 0;
}

int
pm__iframe_read(struct pm_python *py, pm_addr_t frame, int stack,
                struct pm_iframe *fr)
{
  const struct pm_layout *L = py->L;
  const int64_t plain[PM_IFRAME_PLAIN]
      = { L->iframe_globals, L->iframe_builtins, L->iframe_locals,
          L->iframe_frame_obj };
  unsigned char f[256];
  int64_t nslots;
  uint64_t w;
  int8_t own;
  int err;

  memset(fr, 0, sizeof(*fr));
  fr->owner = -1;
  if (L->iframe_size <= 0 || (size_t)L->iframe_size > sizeof(f))
    return 0;
  if ((err = pm__py_read(py, frame, f, (size_t)L->iframe_size)))
    return err;
  memcpy(&own, f + L->iframe_owner, 1);
  fr->owner = own;
  memcpy(&w, f + L->iframe_code, 8);
  fr->code = pm__stackref(py, w);
  if (!fr->code || (fr->code & 7)) {
    fr->code = 0;
    return 0;
  }
  /* A shim frame of a C call is valid only as far as its code. */
  if (own == pm__iframe_cstack_owner(py))
    return 0;
  memcpy(&w, f + L->iframe_func, 8);
  fr->func = pm__stackref(py, w);
  for (size_t i = 0; i < PM_IFRAME_PLAIN; i++)
    if (plain[i] >= 0)
      memcpy(&fr->plain[i], f + plain[i], 8);
  if ((fr->slots_err = pm__code_slots(py, fr->code, &fr->nlocals, &nslots)))
    return 0;
  fr->count = fr->nlocals;
  fr->localsplus = frame + (pm_addr_t)L->iframe_localsplus;
  if (stack && L->iframe_stacktop >= 0) {
    int32_t top;
    memcpy(&top, f + L->iframe_stacktop, 4);
    if (top >= fr->nlocals && top <= nslots)
      fr->count = top;
  } else if (stack && L->iframe_stackpointer >= 0) {
    uint64_t sp, locals = fr->localsplus;
    memcpy(&sp, f + L->iframe_stackpointer, 8);
    if (sp >= locals && (sp - locals) % 8 == 0
        && (int64_t)((sp - locals) / 8) >= fr->nlocals
        && (int64_t)((sp - locals) / 8) <= nslots)
      fr->count = (int64_t)((sp - locals) / 8);
  }
  return 0;
}

static int
iframe_referents(struct pm_python *py, pm_addr_t frame, int stack,
                 const struct visitor *v, int *owner)
{
  static const char *const plain[PM_IFRAME_PLAIN]
      = { "f_globals", "f_builtins", "f_locals", "frame_obj" };
  struct pm_iframe fr;
  int err;

  err = pm__iframe_read(py, frame, stack, &fr);
  *owner = fr.owner;
  if (err || !fr.code)
    return pm__walk_soft(err);
  if ((err = emit(v, fr.code, PM_REF_FIELD, "f_code", -1, 0)))
    return err;
  if (fr.owner == pm__iframe_cstack_owner(py))
    return 0;
  if (fr.func && (err = emit(v, fr.func, PM_REF_FIELD, "f_funcobj", -1, 0)))
    return err;
  for (size_t i = 0; i < PM_IFRAME_PLAIN; i++)
    if (fr.plain[i]
        && (err = emit(v, fr.plain[i], PM_REF_FIELD, plain[i], -1, 0)))
      return err;
  if (fr.slots_err)
    return pm__walk_soft(fr.slots_err);
  return frame_slots(py, fr.localsplus, fr.count, fr.nlocals, fr.code, 1, v);
}

int
pm__iframe_referents(struct pm_python *py, pm_addr_t frame, int stack,
                     pm_ref_fn visit, void *arg, int *owner)
{
  const struct visitor v = { visit, NULL, NULL, arg };

  return iframe_referents(py, frame, stack, &v, owner);
}

int
pm__iframe_referents_labelled(struct pm_python *py, pm_addr_t frame, int stack,
                              pm_ref_label_fn visit, void *arg, int *owner)
{
  const struct visitor v = { NULL, NULL, visit, arg };

  return iframe_referents(py, frame, stack, &v, owner);
}

/* Frame objects: up to 3.10 the frame itself, from 3.11 a view of one. */
static int
frame_referents(struct pm_python *py, pm_addr_t obj, const struct visitor *v)
{
  const struct pm_layout *L = py->L;
  const struct named_field fl[] = {
    { L->frame_back, "f_back" },
    { L->frame_trace, "f_trace" },
    { L->frame_extra_locals, "f_extra_locals" },
    { L->frame_locals_cache, "f_locals_cache" },
    { L->frame_code, "f_code" },
    { L->frame_builtins, "f_builtins" },
    { L->frame_globals, "f_globals" },
    { L->frame_locals, "f_locals" },
  };
  int err;

  if ((err = fields(py, obj, fl, sizeof(fl) / sizeof(fl[0]), v)))
    return err;
  if (L->frame_frame >= 0) {
    uint64_t frame;
    int owner;
    if ((err = pm__py_read_u64(py, obj + L->frame_frame, &frame)))
      return pm__walk_soft(err);
    /*
     * Only a frame the object owns is its to visit; a running frame
     * belongs to its thread or generator, which visit it.
     */
    if (frame != obj + (pm_addr_t)L->frame_data)
      return 0;
    return iframe_referents(py, frame, 1, v, &owner);
  }
  {
    uint64_t code, valuestack;
    int64_t nlocals, nslots, depth = 0;
    pm_addr_t locals = obj + (pm_addr_t)L->frame_localsplus;

    if ((err = pm__py_read_u64(py, obj + L->frame_code, &code))
        || (err = pm__py_read_u64(py, obj + L->frame_valuestack, &valuestack)))
      return pm__walk_soft(err);
    if ((err = pm__code_slots(py, code, &nlocals, &nslots)))
      return pm__walk_soft(err);
    if ((err = frame_slots(py, locals, nlocals, nlocals, code, 0, v)))
      return err;
    /* The value stack, while the frame is not running (frame_traverse). */
    if (L->frame_stacktop >= 0) {
      uint64_t top;
      if ((err = pm__py_read_u64(py, obj + L->frame_stacktop, &top)))
        return pm__walk_soft(err);
      if (top && top >= valuestack && (top - valuestack) % 8 == 0)
        depth = (int64_t)((top - valuestack) / 8);
    } else if (L->frame_stackdepth >= 0) {
      int32_t d;
      if ((err = pm__py_read(py, obj + L->frame_stackdepth, &d, 4)))
        return pm__walk_soft(err);
      depth = d;
    }
    if (valuestack != locals + (pm_addr_t)nlocals * 8 || depth < 0
        || depth > nslots - nlocals)
      return 0;
    return visit_array(py, valuestack, (uint64_t)depth, 8, 0, 0, v,
                       PM_REF_STACK);
  }
}

static int
gen_referents(struct pm_python *py, pm_addr_t obj, const struct visitor *v)
{
  const struct pm_layout *L = py->L;
  const struct named_field fl[] = {
    { L->gen_code, "gi_code" },
    { L->gen_frame, "gi_frame" },
    { L->gen_name, "__name__" },
    { L->gen_qualname, "__qualname__" },
    { L->gen_exc_type, "gi_exc_state.exc_type" },
    { L->gen_exc_value, "gi_exc_state.exc_value" },
    { L->gen_exc_traceback, "gi_exc_state.exc_traceback" },
    { L->gen_origin_or_finalizer, "gi_origin_or_finalizer" },
  };
  int8_t state;
  int owner, err;

  if ((err = fields(py, obj, fl, sizeof(fl) / sizeof(fl[0]), v)))
    return err;
  if (L->gen_iframe < 0)
    return 0; /* 3.8-3.10: gi_frame is a frame object, visited above */
  if ((err = pm__py_read(py, obj + L->gen_frame_state, &state, 1)))
    return pm__walk_soft(err);
  /*
   * FRAME_COMPLETED (1) and FRAME_CLEARED (4): the frame is gone.  A
   * suspended (or new) generator saved its stack pointer; a running one is
   * on a thread's chain, where only its locals are certain.
   */
  if (state >= 1)
    return 0;
  return iframe_referents(py, obj + (pm_addr_t)L->gen_iframe, state < 0, v,
                          &owner);
}

static int
code_referents(struct pm_python *py, pm_addr_t obj, const struct visitor *v)
{
  const struct pm_layout *L = py->L;
  const struct named_field fl[] = {
    { L->code_consts, "co_consts" },
    { L->code_names, "co_names" },
    { L->code_localsplusnames, "co_localsplusnames" },
    { L->code_localspluskinds, "co_localspluskinds" },
    { L->code_varnames, "co_varnames" },
    { L->code_cellvars, "co_cellvars" },
    { L->code_freevars, "co_freevars" },
    { L->code_code, "co_code" },
    { L->code_filename, "co_filename" },
    { L->code_name, "co_name" },
    { L->code_qualname, "co_qualname" },
    { L->code_linetable, "co_linetable" },
    { L->code_exceptiontable, "co_exceptiontable" },
    { L->code_cached_code, "_co_code" },
  };
  int err;

  if ((err = fields(py, obj, fl, sizeof(fl) / sizeof(fl[0]), v)))
    return err;
  if (L->code_cached >= 0 && L->cocached_size > 0) {
    /* 3.12+: co_code and the name tuples, made on first use. */
    uint64_t cached;
    if ((err = pm__py_read_u64(py, obj + L->code_cached, &cached)))
      return pm__walk_soft(err);
    if (cached) {
      const struct named_field cf[] = {
        { L->cocached_code, "co_code" },
        { L->cocached_varnames, "co_varnames" },
        { L->cocached_cellvars, "co_cellvars" },
        { L->cocached_freevars, "co_freevars" },
      };
      return fields(py, cached, cf, sizeof(cf) / sizeof(cf[0]), v);
    }
  }
  return 0;
}

static int
function_referents(struct pm_python *py, pm_addr_t obj, const struct visitor *v)
{
  const struct pm_layout *L = py->L;
  const struct named_field fl[] = {
    { L->func_code, "__code__" },
    { L->func_globals, "__globals__" },
    { L->func_builtins, "__builtins__" },
    { L->func_name, "__name__" },
    { L->func_qualname, "__qualname__" },
    { L->func_defaults, "__defaults__" },
    { L->func_kwdefaults, "__kwdefaults__" },
    { L->func_closure, "__closure__" },
    { L->func_doc, "__doc__" },
    { L->func_dict, "__dict__" },
    { L->func_module, "__module__" },
    { L->func_annotations, "__annotations__" },
    { L->func_annotate, "__annotate__" },
    { L->func_typeparams, "__type_params__" },
  };

  return fields(py, obj, fl, sizeof(fl) / sizeof(fl[0]), v);
}

static int
tuple_referents(struct pm_python *py, pm_addr_t obj, const struct visitor *v)
{
  int64_t n;
  int err;

  if ((err = pm__py_read(py, obj + py->L->varobject_ob_size, &n, 8)))
    return pm__walk_soft(err);
  if (n < 0 || n > (INT64_C(1) << 36))
    return 0;
  return visit_array(py, obj + (pm_addr_t)py->L->tuple_item, (uint64_t)n, 8, 0,
                     0, v, PM_REF_INDEX);
}

/* An array node's children: HAMT_ARRAY_NODE_SIZE slots, NULL or a node. */
#define HAMT_ARRAY_NODE_SIZE 32
/*
 * Items of a bitmap node (a key and a value, or no key and a child node,
 * for each of its at most 16 slots: it becomes an array node beyond), and
 * of a collision node (a key and a value each), at most.
 */
#define HAMT_BITMAP_MAX_ITEMS 32
#define HAMT_COLLISION_MAX_ITEMS (1 << 16)

/*
 * A HAMT node's items at off: count of them, or its ob_size, at most max,
 * when count is -1.
 */
static int
hamt_node_referents(struct pm_python *py, pm_addr_t obj, int64_t off,
                    int64_t count, int64_t max, const struct visitor *v)
{
  int err;

  if (off < 0)
    return 0;
  if (count < 0
      && (err = pm__py_read(py, obj + py->L->varobject_ob_size, &count, 8)))
    return pm__walk_soft(err);
  if (count < 0 || count > max)
    return 0;
  return visit_array(py, obj + (pm_addr_t)off, (uint64_t)count, 8, 0, 0, v,
                     PM_REF_INDEX);
}

static int
list_referents(struct pm_python *py, pm_addr_t obj, const struct visitor *v)
{
  const struct pm_layout *L = py->L;
  int64_t n, allocated;
  uint64_t items;
  int err;

  if ((err = pm__py_read(py, obj + L->varobject_ob_size, &n, 8))
      || (err = pm__py_read(py, obj + L->list_allocated, &allocated, 8))
      || (err = pm__py_read_u64(py, obj + L->list_item, &items)))
    return pm__walk_soft(err);
  if (n < 0 || n > allocated || !items)
    return 0;
  return visit_array(py, items, (uint64_t)n, 8, 0, 0, v, PM_REF_INDEX);
}

/*
 * Labelled: the count values at vals (stride apart, at off), each with the
 * key of the same entry of k (how VALUE), or the attribute name (ATTR).
 */
static int
values_labelled(struct pm_python *py, const struct pm_dict_keys *k,
                pm_addr_t vals, uint64_t count, unsigned stride, unsigned off,
                enum pm_ref_how how, const struct visitor *v)
{
  int err;

  for (uint64_t i = 0; i < count; i++) {
    uint64_t val, key = 0;
    if ((err = pm__py_read_u64(py, vals + i * stride + off, &val)))
      return pm__walk_soft(err);
    if (!val)
      continue;
    if (k && (int64_t)i < k->nentries
        && (err = pm__py_read_u64(
                py, k->entries + i * k->entry_size + k->key_off, &key)))
      return pm__walk_soft(err);
    if ((err = emit(v, val, how, NULL, (int64_t)i, key)))
      return err;
  }
  return 0;
}

static int
dict_referents(struct pm_python *py, pm_addr_t obj, const struct visitor *v)
{
  struct pm_dict_keys k;
  pm_addr_t values;
  int err;

  if ((err = pm__dict_read(py, obj, &k, &values)))
    return pm__walk_soft(err);
  /*
   * Entries of a key and a value (str keys): for a visitor of runs, one
   * run of both (nentries is at most 2/3 of 2^40 slots: 2 n cannot wrap).
   */
  if (v->runs && !values && k.value_off == k.key_off + 8 && k.entry_size == 16)
    return visit_array(py, k.entries + k.key_off, 2 * (uint64_t)k.nentries, 8,
                       0, 0, v, PM_REF_KEY);
  if ((err = visit_array(py, k.entries, (uint64_t)k.nentries, k.entry_size,
                         k.key_off, 0, v, PM_REF_KEY)))
    return err;
  if (v->labelled) {
    if (values)
      return values_labelled(py, &k, values, (uint64_t)k.nentries, 8, 0,
                             PM_REF_VALUE, v);
    return values_labelled(py, &k, k.entries, (uint64_t)k.nentries,
                           k.entry_size, k.value_off, PM_REF_VALUE, v);
  }
  if (values)
    return visit_array(py, values, (uint64_t)k.nentries, 8, 0, 0, v,
                       PM_REF_VALUE);
  return visit_array(py, k.entries, (uint64_t)k.nentries, k.entry_size,
                     k.value_off, 0, v, PM_REF_VALUE);
}

static int
set_referents(struct pm_python *py, pm_addr_t obj, const struct visitor *v)
{
  const struct pm_layout *L = py->L;
  uint64_t table, buf[CHUNK / 8];
  int64_t mask;
  uint64_t n, i = 0;
  int err;

  if ((err = pm__py_read_u64(py, obj + L->set_table, &table))
      || (err = pm__py_read(py, obj + L->set_mask, &mask, 8)))
    return pm__walk_soft(err);
  if (!table || mask < 0 || mask > (INT64_C(1) << 36) || L->setentry_size != 16)
    return 0;
  n = (uint64_t)mask + 1;
  while (i < n) {
    uint64_t m = n - i < CHUNK / 16 ? n - i : CHUNK / 16;
    if ((err = pm__py_read(py, table + i * 16, buf, (size_t)(m * 16))))
      return pm__walk_soft(err);
    for (uint64_t j = 0; j < m; j++) {
      /* setentry {key, hash}; a deleted entry keeps the dummy, hash -1. */
      if (buf[2 * j] && (int64_t)buf[2 * j + 1] != -1
          && (err = emit(v, buf[2 * j], PM_REF_SET, NULL, -1, 0)))
        return err;
    }
    i += m;
  }
  return 0;
}

static int
deque_referents(struct pm_python *py, pm_addr_t obj, const struct visitor *v)
{
  const struct pm_layout *L = py->L;
  uint64_t block, buf[DEQUE_BLOCKLEN + 2];
  struct pm_cycle cycle;
  int64_t left, n, index = 0;
  int err;

  if ((err = pm__py_read_u64(py, obj + L->deque_leftblock, &block))
      || (err = pm__py_read(py, obj + L->deque_leftindex, &left, 8))
      || (err = pm__py_read(py, obj + L->varobject_ob_size, &n, 8)))
    return pm__walk_soft(err);
  if (left < 0 || left >= DEQUE_BLOCKLEN || n < 0 || n > (INT64_C(1) << 36))
    return 0;
  /* Each block: leftlink, data[BLOCKLEN], rightlink; n bounds the chain. */
  pm__cycle_init(&cycle);
  while (n > 0 && block) {
    if (pm__cycle_seen(&cycle, block))
      return 0; /* a loop of blocks: n is garbage too */
    if ((err = pm__py_read(py, block, buf, sizeof(buf))))
      return pm__walk_soft(err);
    for (int64_t i = left; i < DEQUE_BLOCKLEN && n > 0; i++, n--, index++)
      if (buf[1 + i]
          && (err = emit(v, buf[1 + i], PM_REF_INDEX, NULL, index, 0)))
        return err;
    left = 0;
    block = buf[DEQUE_BLOCKLEN + 1];
  }
  return 0;
}

/*
 * ElementTree.Element: its tag, text and tail (tagged pointers: bit 0
 * is the tree builder's flag, not part of the address), and in its extra
 * its attributes' dict and its children.
 */
static int
element_referents(struct pm_python *py, pm_addr_t obj, const struct visitor *v)
{
  const struct pm_layout *L = py->L;
  const struct named_field tagged[] = {
    { L->element_text, "text" },
    { L->element_tail, "tail" },
  };
  uint64_t p, extra, children;
  int64_t n, allocated;
  int err;

  if ((err = field(py, obj, L->element_tag, v, "tag")))
    return err;
  for (size_t i = 0; i < sizeof(tagged) / sizeof(tagged[0]); i++) {
    if (tagged[i].off < 0)
      continue;
    if ((err = pm__py_read_u64(py, obj + (pm_addr_t)tagged[i].off, &p)))
      return pm__walk_soft(err);
    p &= ~(uint64_t)1;
    if (p && (err = emit(v, p, PM_REF_FIELD, tagged[i].name, -1, 0)))
      return err;
  }
  if (L->element_extra < 0)
    return 0;
  if ((err = pm__py_read_u64(py, obj + L->element_extra, &extra)))
    return pm__walk_soft(err);
  if (!extra)
    return 0;
  if ((err = field(py, extra, L->elemextra_attrib, v, "attrib")))
    return err;
  if ((err = pm__py_read_i64(py, extra + L->elemextra_length, &n))
      || (err = pm__py_read_i64(py, extra + L->elemextra_allocated, &allocated))
      || (err = pm__py_read_u64(py, extra + L->elemextra_children, &children)))
    return pm__walk_soft(err);
  if (n < 0 || n > allocated || allocated > PM_ELEMENT_MAX_CHILDREN
      || !children)
    return 0;
  return visit_array(py, children, (uint64_t)n, 8, 0, 0, v, PM_REF_INDEX);
}

/* Items a SimpleQueue's ring may have room for. */
#define RING_MAX_ITEMS (INT64_C(1) << 32)

/*
 * _queue.SimpleQueue: its items, in a list before 3.13, then in a ring of
 * items_cap slots whose num_items items start at get_idx.
 */
static int
simplequeue_referents(struct pm_python *py, pm_addr_t obj,
                      const struct visitor *v)
{
  const struct pm_layout *L = py->L;
  int64_t get, cap, n;
  uint64_t items, first;
  int err;

  if ((err = field(py, obj, L->simplequeue_lst, v, "lst")))
    return err;
  if (L->simplequeue_items < 0)
    return 0;
  if ((err = pm__py_read_u64(py, obj + L->simplequeue_items, &items))
      || (err = pm__py_read_i64(py, obj + L->simplequeue_get, &get))
      || (err = pm__py_read_i64(py, obj + L->simplequeue_cap, &cap))
      || (err = pm__py_read_i64(py, obj + L->simplequeue_num, &n)))
    return pm__walk_soft(err);
  if (!items || cap <= 0 || cap > RING_MAX_ITEMS || n < 0 || n > cap || get < 0
      || get >= cap)
    return 0;
  /* From get_idx to the end of the ring, then from its start. */
  first = (uint64_t)(n < cap - get ? n : cap - get);
  if ((err = visit_array(py, items + (uint64_t)get * 8, first, 8, 0, 0, v,
                         PM_REF_INDEX)))
    return err;
  return visit_array(py, items, (uint64_t)n - first, 8, 0, 0, v, PM_REF_INDEX);
}

static int
type_referents(struct pm_python *py, pm_addr_t obj, const struct visitor *v)
{
  const struct pm_layout *L = py->L;
  const struct named_field base[] = {
    { L->type_bases, "__bases__" },
    { L->type_mro, "__mro__" },
    { L->type_base, "__base__" },
  };
  const struct named_field heap[] = {
    { L->heaptype_name, "__name__" },
    { L->heaptype_qualname, "__qualname__" },
    { L->heaptype_slots, "__slots__" },
    { L->heaptype_module, "ht_module" },
  };
  uint64_t flags, keys;
  struct pm_dict_keys k;
  int err;

  if ((err = fields(py, obj, base, sizeof(base) / sizeof(base[0]), v)))
    return err;
  if ((err = pm__py_read_u64(py, obj + L->type_flags, &flags)))
    return pm__walk_soft(err);
  if (!(flags & PM_TPFLAGS_HEAPTYPE))
    return 0;
  if ((err = fields(py, obj, heap, sizeof(heap) / sizeof(heap[0]), v)))
    return err;
  /* The attribute names its instances share (split keys). */
  if ((err = pm__py_read_u64(py, obj + L->heaptype_cached_keys, &keys)))
    return pm__walk_soft(err);
  if (!keys)
    return 0;
  if ((err = pm__dict_keys_read(py, keys, &k)))
    return pm__walk_soft(err);
  return visit_array(py, k.entries, (uint64_t)k.nentries, k.entry_size,
                     k.key_off, 0, v, PM_REF_KEY);
}

/* The shared keys of the class of obj (3.11+), whose order its values keep. */
static int
shared_keys(struct pm_python *py, pm_addr_t obj, struct pm_dict_keys *k)
{
  const struct pm_layout *L = py->L;
  uint64_t type, keys;
  int err;

  if ((err = pm__py_read_u64(py, obj + L->object_type, &type))
      || (err = pm__py_read_u64(py, type + L->heaptype_cached_keys, &keys)))
    return err;
  if (!keys)
    return PM_ECORRUPT;
  return pm__dict_keys_read(py, keys, k);
}

/* The number of values in an instance's values (3.11+). */
static int
values_count(struct pm_python *py, pm_addr_t obj, const struct pm_type_info *ti,
             pm_addr_t values, uint64_t *n)
{
  const struct pm_layout *L = py->L;
  struct pm_dict_keys k;
  int err;

  if (L->dictvalues_capacity >= 0) {
    uint8_t cap;
    if ((err = pm__py_read(py, values + L->dictvalues_capacity, &cap, 1)))
      return err;
    *n = cap;
    return 0;
  }
  /* 3.11, 3.12: as many as the class's shared keys have entries. */
  if (ti->shared_entries >= 0) {
    *n = (uint64_t)ti->shared_entries;
    return 0;
  }
  if ((err = shared_keys(py, obj, &k)))
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
              const struct pm_type_info *ti, const struct visitor *v,
              pm_addr_t *dict)
{
  const struct pm_layout *L = py->L;
  uint64_t d = 0, values = 0, n;
  int err;

  if (PM_PY_AT_LEAST(py, 3, 11) && (ti->flags & PM_TPFLAGS_MANAGED_DICT)) {
    uint64_t pre[2];
    /* 3.11 [values][dict]; 3.12 [weakref][dict|values]; 3.13 [weakref][dict] */
    if ((err = pm__py_read(py, obj - 32, pre, sizeof(pre))))
      return pm__walk_soft(err);
    if (PM_PY_AT_LEAST(py, 3, 13)) {
      d = pre[1];
      if (ti->flags & PM_TPFLAGS_INLINE_VALUES) {
        uint8_t valid;
        values = obj + (pm_addr_t)ti->basicsize;
        if ((err = pm__py_read(py, values + L->dictvalues_valid, &valid, 1)))
          return pm__walk_soft(err);
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
      if ((err = values_count(py, obj, ti, values, &n)))
        return pm__walk_soft(err);
      if (v->labelled) {
        /* Value i is the attribute the class's shared key i names. */
        struct pm_dict_keys k;
        int kerr = shared_keys(py, obj, &k);
        if (kerr && pm__walk_fatal(kerr))
          return kerr;
        err = values_labelled(py, kerr ? NULL : &k,
                              pm__dict_values_first(py, values), n, 8, 0,
                              PM_REF_ATTR, v);
      } else {
        err = visit_array(py, pm__dict_values_first(py, values), n, 8, 0, 0, v,
                          PM_REF_ATTR);
      }
      if (err)
        return err;
    }
  } else if (ti->dictoffset != 0) {
    int64_t off = ti->dictoffset;
    if (off < 0) {
      /* _PyObject_DictPointer: from the end of a variable-size object. */
      int64_t size;
      if ((err = pm__py_read(py, obj + L->varobject_ob_size, &size, 8)))
        return pm__walk_soft(err);
      if (size < 0)
        size = -size;
      if (size > (INT64_C(1) << 36))
        return 0;
      off += (ti->basicsize + size * ti->itemsize + 7) & ~INT64_C(7);
    }
    if (off < 8 || off % 8)
      return 0;
    if ((err = pm__py_read_u64(py, obj + (pm_addr_t)off, &d)))
      return pm__walk_soft(err);
  }
  if (d && !(d & 7)) {
    *dict = d;
    return emit(v, d, PM_REF_DICT, "__dict__", -1, 0);
  }
  return 0;
}

/* Labelled: a member, named after the type's declaration of it. */
static int
member(struct pm_python *py, pm_addr_t obj, uint32_t off,
       const struct visitor *v)
{
  char name[128];
  uint64_t p, type;
  size_t n;
  int err;

  if (!v->labelled)
    return field(py, obj, off, v, NULL);
  if ((err = pm__py_read_u64(py, obj + off, &p)))
    return pm__walk_soft(err);
  if (!p)
    return 0;
  name[0] = '\0';
  if ((err = pm__py_read_u64(py, obj + py->L->object_type, &type))
      || (err = type_members(py, type, NULL, 0, &n, off, name, sizeof(name))))
    if (pm__walk_fatal(err))
      return err;
  return emit(v, p, PM_REF_MEMBER, name[0] ? name : "?", off, 0);
}

static int
referents(struct pm_python *py, pm_addr_t obj, const struct pm_type_info *ti,
          const uint32_t *members, size_t nmembers, const struct visitor *v,
          pm_addr_t *dict)
{
  const struct pm_layout *L = py->L;
  int err = 0;

  *dict = 0;
  for (size_t i = 0; i < nmembers; i++)
    if ((err = member(py, obj, members[i], v)))
      return err;
  if ((err = instance_dict(py, obj, ti, v, dict)))
    return err;
  switch (ti->walker) {
  case PM_WALK_NONE:
    break;
  case PM_WALK_TUPLE:
    err = tuple_referents(py, obj, v);
    break;
  case PM_WALK_LIST:
    err = list_referents(py, obj, v);
    break;
  case PM_WALK_DICT:
    err = dict_referents(py, obj, v);
    break;
  case PM_WALK_SET:
    err = set_referents(py, obj, v);
    break;
  case PM_WALK_TYPE:
    err = type_referents(py, obj, v);
    break;
  case PM_WALK_CODE:
    err = code_referents(py, obj, v);
    break;
  case PM_WALK_FUNCTION:
    err = function_referents(py, obj, v);
    break;
  case PM_WALK_CELL: {
    uint64_t p;
    if (L->cell_ref < 0)
      break;
    if ((err = pm__py_read_u64(py, obj + L->cell_ref, &p)))
      return pm__walk_soft(err);
    err = p ? emit(v, p, PM_REF_CELL, "cell_contents", -1, 0) : 0;
    break;
  }
  case PM_WALK_CFUNCTION: {
    const struct named_field fl[] = {
      { L->cfunc_self, "__self__" },
      { L->cfunc_module, "__module__" },
    };
    err = fields(py, obj, fl, sizeof(fl) / sizeof(fl[0]), v);
    break;
  }
  case PM_WALK_GEN:
    err = gen_referents(py, obj, v);
    break;
  case PM_WALK_FRAME:
    err = frame_referents(py, obj, v);
    break;
  case PM_WALK_EXC: {
    const struct named_field fl[] = {
      { L->exc_args, "args" },
      { L->exc_notes, "__notes__" },
      { L->exc_traceback, "__traceback__" },
      { L->exc_context, "__context__" },
      { L->exc_cause, "__cause__" },
    };
    err = fields(py, obj, fl, sizeof(fl) / sizeof(fl[0]), v);
    break;
  }
  case PM_WALK_DEQUE:
    err = deque_referents(py, obj, v);
    break;
  case PM_WALK_MEMORYVIEW:
    /* Not view.obj: the managedbuffer's, borrowed, dangling once released. */
    err = field(py, obj, L->memoryview_mbuf, v, "mbuf");
    break;
  case PM_WALK_CONTEXT: {
    const struct named_field fl[] = {
      { L->context_prev, "ctx_prev" },
      { L->context_vars, "ctx_vars" },
    };
    err = fields(py, obj, fl, sizeof(fl) / sizeof(fl[0]), v);
    break;
  }
  case PM_WALK_CONTEXTVAR:
    /* Its name is a member; its cached value is borrowed. */
    err = field(py, obj, L->contextvar_default, v, "var_default");
    break;
  case PM_WALK_CONTEXTTOKEN: {
    const struct named_field fl[] = {
      { L->token_ctx, "tok_ctx" },
      { L->token_var, "var" },
      { L->token_oldval, "old_value" },
    };
    err = fields(py, obj, fl, sizeof(fl) / sizeof(fl[0]), v);
    break;
  }
  case PM_WALK_FUTURE:
  case PM_WALK_TASK: {
    /* A Task's head is a Future's: the same fields, then its own. */
    const struct named_field fl[] = {
      { L->future_loop, "_loop" },
      { L->future_callback0, "fut_callback0" },
      { L->future_context0, "fut_context0" },
      { L->future_callbacks, "_callbacks" },
      { L->future_exception, "_exception" },
      { L->future_exception_tb, "fut_exception_tb" },
      { L->future_result, "_result" },
      { L->future_source_tb, "_source_traceback" },
      { L->future_cancel_msg, "_cancel_message" },
      { L->future_cancelled_exc, "fut_cancelled_exc" },
      { L->future_cancelled_exc_type, "fut_cancelled_exc_type" },
      { L->future_cancelled_exc_tb, "fut_cancelled_exc_tb" },
      { L->future_awaited_by, "fut_awaited_by" },
    };
    const struct named_field task[] = {
      { L->task_fut_waiter, "_fut_waiter" },
      { L->task_coro, "_coro" },
      { L->task_name, "task_name" },
      { L->task_context, "_context" },
    };
    err = fields(py, obj, fl, sizeof(fl) / sizeof(fl[0]), v);
    if (!err && ti->walker == PM_WALK_TASK)
      err = fields(py, obj, task, sizeof(task) / sizeof(task[0]), v);
    break;
  }
  case PM_WALK_FIELD:
    for (int i = 0; !err && i < PM_HELD_MAX && ti->held_name[i]; i++)
      err = field(py, obj, ti->held[i], v, ti->held_name[i]);
    break;
  case PM_WALK_SIMPLEQUEUE:
    err = simplequeue_referents(py, obj, v);
    break;
  case PM_WALK_TEXTIO: {
    /* Its buffer and encoding are members; not raw, the buffer's. */
    const struct named_field fl[] = {
      { L->textio_encoder, "encoder" },
      { L->textio_decoder, "decoder" },
      { L->textio_readnl, "readnl" },
      { L->textio_errors, "errors" },
      { L->textio_decoded_chars, "decoded_chars" },
      { L->textio_pending_bytes, "pending_bytes" },
      { L->textio_snapshot, "snapshot" },
    };
    err = fields(py, obj, fl, sizeof(fl) / sizeof(fl[0]), v);
    break;
  }
  case PM_WALK_ELEMENT:
    err = element_referents(py, obj, v);
    break;
  case PM_WALK_LRU: {
    /*
     * Not the links' keys and results: the cache's values are the links,
     * each walked as its own type (specials[]).
     */
    const struct named_field fl[] = {
      { L->lru_cache, "cache" },
      { L->lru_func, "func" },
      { L->lru_kwd_mark, "kwd_mark" },
      { L->lru_elem_type, "lru_list_elem_type" },
      { L->lru_cache_info_type, "cache_info_type" },
    };
    err = fields(py, obj, fl, sizeof(fl) / sizeof(fl[0]), v);
    break;
  }
  case PM_WALK_HAMT_BITMAP:
    err = hamt_node_referents(py, obj, L->hamtbitmap_array, -1,
                              HAMT_BITMAP_MAX_ITEMS, v);
    break;
  case PM_WALK_HAMT_ARRAY:
    err = hamt_node_referents(py, obj, L->hamtarray_array, HAMT_ARRAY_NODE_SIZE,
                              HAMT_ARRAY_NODE_SIZE, v);
    break;
  case PM_WALK_HAMT_COLLISION:
    err = hamt_node_referents(py, obj, L->hamtcoll_array, -1,
                              HAMT_COLLISION_MAX_ITEMS, v);
    break;
  }
  return err;
}

int
pm__referents(struct pm_python *py, pm_addr_t obj,
              const struct pm_type_info *ti, const uint32_t *members,
              size_t nmembers, pm_ref_fn visit, void *arg, pm_addr_t *dict)
{
  const struct visitor v = { visit, NULL, NULL, arg };

  return referents(py, obj, ti, members, nmembers, &v, dict);
}

int
pm__referents_runs(struct pm_python *py, pm_addr_t obj,
                   const struct pm_type_info *ti, const uint32_t *members,
                   size_t nmembers, pm_refs_fn visit, void *arg,
                   pm_addr_t *dict)
{
  const struct visitor v = { NULL, visit, NULL, arg };

  return referents(py, obj, ti, members, nmembers, &v, dict);
}

int
pm__referents_labelled(struct pm_python *py, pm_addr_t obj,
                       const struct pm_type_info *ti, const uint32_t *members,
                       size_t nmembers, pm_ref_label_fn visit, void *arg,
                       pm_addr_t *dict)
{
  const struct visitor v = { NULL, NULL, visit, arg };

  return referents(py, obj, ti, members, nmembers, &v, dict);
}

int
pm__int_value(struct pm_python *py, pm_addr_t obj, int64_t *out)
{
  const struct pm_layout *L = py->L;
  uint32_t digits[3] = { 0, 0, 0 };
  uint64_t v;
  int64_t n;
  int neg, err;

  if (L->long_lv_tag >= 0) {
    uint64_t tag;
    if ((err = pm__py_read_u64(py, obj + L->long_lv_tag, &tag)))
      return err;
    /* 3.12+: sign in the low two bits (0 positive, 1 zero, 2 negative). */
    neg = (tag & 3) == 2;
    n = (tag & 3) == 1 ? 0 : (int64_t)(tag >> 3);
  } else {
    if ((err = pm__py_read(py, obj + L->varobject_ob_size, &n, 8)))
      return err;
    neg = n < 0;
    n = neg ? -n : n;
  }
  if (n < 0 || n > 3)
    return PM_ECORRUPT;
  if (n && (err = pm__py_read(py, obj + L->long_digit, digits, (size_t)n * 4)))
    return err;
  /* 30-bit digits, least significant first; a pointer-sized ident fits. */
  v = (uint64_t)digits[0] | (uint64_t)digits[1] << 30
      | (uint64_t)digits[2] << 60;
  *out = neg ? -(int64_t)v : (int64_t)v;
  return 0;
}

/* ---- reading one attribute ---------------------------------------------- */

/* Members gathered for pm__object_attr(); a class with more keeps these. */
#define ATTR_MEMBERS 64

struct attr_search {
  struct pm_python *py;
  const char *name;
  pm_addr_t value;
  pm_addr_t dict;
};

static int
attr_visit(void *arg, pm_addr_t ref, const struct pm_ref_label *l)
{
  struct attr_search *a = arg;
  char text[128];
  int err;

  if (l->how == PM_REF_DICT) {
    a->dict = ref;
    return 0;
  }
  if (l->how == PM_REF_MEMBER && l->name && strcmp(l->name, a->name) == 0) {
    a->value = ref;
    return 1;
  }
  if (l->how != PM_REF_ATTR || !l->key)
    return 0;
  err = pm__str_read(a->py, l->key, text, sizeof(text));
  if (err)
    return pm__walk_soft(err);
  if (strcmp(text, a->name) != 0)
    return 0;
  a->value = ref;
  return 1;
}

int
pm__object_attr(struct pm_python *py, pm_addr_t obj,
                const struct pm_type_info *ti, const char *name,
                pm_addr_t *value)
{
  struct attr_search a = { py, name, 0, 0 };
  uint32_t offs[ATTR_MEMBERS];
  size_t n = 0;
  uint64_t type;
  pm_addr_t dict;
  int err;

  *value = 0;
  if ((err = pm__py_read_u64(py, obj + py->L->object_type, &type))
      || (err = pm__type_members(py, type, offs, ATTR_MEMBERS, &n)))
    return err;
  if (n > ATTR_MEMBERS)
    n = ATTR_MEMBERS;
  /* Only what every object has: no need to walk a list's items. */
  {
    struct pm_type_info plain = *ti;
    plain.walker = PM_WALK_NONE;
    err = pm__referents_labelled(py, obj, &plain, offs, n, attr_visit, &a,
                                 &dict);
  }
  if (err < 0)
    return err;
  if (a.value) {
    *value = a.value;
    return 0;
  }
  if (a.dict)
    return pm__dict_get_str(py, a.dict, name, value);
  return 0;
}
