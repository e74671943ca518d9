/* SPDX-License-Identifier: MIT */
/* roots.c -- what keeps objects alive from outside the heap */
#include <config.h>

#include <errno.h>
#include <string.h>

#include "cpython/frames.h"
#include "cpython/gc.h"
#include "cpython/object.h"
#include "cpython/referents.h"
#include "cpython/roots.h"
#include "pmpeek/error.h"

#define MAX_INTERPRETERS 1024
/* Far deeper than any recursion limit lets a real stack grow. */
#define MAX_FRAMES (1 << 20)
/* Slots of a frame read at once. */
#define SLOT_CHUNK 512

struct roots {
  struct pm_python *py;
  pm_root_fn visit;
  void *arg;
  struct pm_roots_stats *st;
  struct pm_root r; /* the thread and frame being walked */
};

static int
emit(struct roots *w, enum pm_root_kind kind, pm_addr_t obj, int index)
{
  if (!obj)
    return 0;
  w->r.kind = kind;
  w->r.obj = obj;
  w->r.index = index;
  return w->visit(w->arg, &w->r);
}

/* The object field at base + off, when the layout has it. */
static int
emit_field(struct roots *w, enum pm_root_kind kind, pm_addr_t base, int64_t off)
{
  uint64_t p;
  int err;

  if (off < 0)
    return 0;
  if ((err = pm__py_read_u64(w->py, base + (pm_addr_t)off, &p)))
    return pm__walk_soft(err);
  return emit(w, kind, p, -1);
}

/*
 * count slots at addr: the first nlocals are local variables (FRAME_LOCAL
 * with their index), the rest the value stack.
 */
static int
emit_slots(struct roots *w, pm_addr_t addr, int64_t count, int64_t nlocals,
           int tagged)
{
  uint64_t buf[SLOT_CHUNK];
  int err;

  for (int64_t i = 0; i < count;) {
    int64_t n = count - i < SLOT_CHUNK ? count - i : SLOT_CHUNK;
    if ((err = pm_target_read(w->py->t, addr + (pm_addr_t)i * 8, buf,
                              (size_t)n * 8)))
      return pm__walk_soft(err);
    for (int64_t k = 0; k < n; k++, i++) {
      pm_addr_t p = tagged ? pm__stackref(w->py, buf[k]) : buf[k];
      if (i < nlocals)
        err = emit(w, PM_ROOT_FRAME_LOCAL, p, (int)i);
      else
        err = emit(w, PM_ROOT_FRAME_OTHER, p, -1);
      if (err)
        return err;
    }
  }
  return 0;
}

/*
 * One 3.11+ _PyInterpreterFrame.  *owner receives its owner byte (-1 when
 * it does not read); stack: its saved stack pointer is current.
 */
static int
iframe_roots(struct roots *w, pm_addr_t frame, int stack, int *owner)
{
  struct pm_python *py = w->py;
  struct pm_iframe fr;
  int err;

  err = pm__iframe_read(py, frame, stack, &fr);
  *owner = fr.owner;
  if (err || !fr.code)
    return pm__walk_soft(err);
  w->r.frame = frame;
  w->r.code = fr.code;
  if ((err = emit(w, PM_ROOT_FRAME_OTHER, fr.code, -1)))
    return err;
  if (fr.owner == pm__iframe_cstack_owner(py))
    return 0;
  if ((err = emit(w, PM_ROOT_FRAME_OTHER, fr.func, -1)))
    return err;
  for (size_t i = 0; i < PM_IFRAME_PLAIN; i++)
    if ((err = emit(w, PM_ROOT_FRAME_OTHER, fr.plain[i], -1)))
      return err;
  if (fr.slots_err)
    return pm__walk_soft(fr.slots_err);
  return emit_slots(w, fr.localsplus, fr.count, fr.nlocals, 1);
}

/* pm_iframe_fn: one frame of a 3.11+ chain; depth counts Python frames. */
static int
iframe_visit(void *arg, pm_addr_t frame, int stack, int *owner)
{
  struct roots *w = arg;
  int err = iframe_roots(w, frame, stack, owner);

  if (!err && *owner >= 0 && *owner != pm__iframe_cstack_owner(w->py))
    w->r.depth++;
  return err;
}

/*
 * A 3.8-3.10 chain of frame objects, f_back after f_back: the frame
 * object, its code, globals, builtins, locals mapping and its local
 * variables, cells and free variables.
 */
static int
frame_object_chain(struct roots *w, pm_addr_t frame)
{
  struct pm_python *py = w->py;
  const struct pm_layout *L = py->L;
  struct pm_chain chain;
  int err;

  pm__chain_init(&chain, MAX_FRAMES);
  for (w->r.depth = 0; frame; w->r.depth++) {
    int64_t nlocals, nslots;
    uint64_t code, back;

    if (pm__chain_bad(&chain, frame)) {
      w->st->broken_chains++;
      return 0;
    }
    if ((err = pm__py_read_u64(py, frame + L->frame_code, &code))
        || (err = pm__py_read_u64(py, frame + L->frame_back, &back))) {
      w->st->broken_chains++;
      return pm__walk_soft(err);
    }
    w->st->frames++;
    w->r.frame = frame;
    w->r.code = code;
    if ((err = emit(w, PM_ROOT_FRAME_OTHER, frame, -1))
        || (err = emit(w, PM_ROOT_FRAME_OTHER, code, -1))
        || (err = emit_field(w, PM_ROOT_FRAME_OTHER, frame, L->frame_globals))
        || (err = emit_field(w, PM_ROOT_FRAME_OTHER, frame, L->frame_builtins))
        || (err = emit_field(w, PM_ROOT_FRAME_OTHER, frame, L->frame_locals)))
      return err;
    if (code && !(code & 7) && L->frame_localsplus >= 0) {
      err = pm__code_slots(py, code, &nlocals, &nslots);
      if (err && pm__walk_fatal(err))
        return err;
      if (!err
          && (err = emit_slots(w, frame + (pm_addr_t)L->frame_localsplus,
                               nlocals, nlocals, 0)))
        return err;
    }
    frame = back;
  }
  return 0;
}

/* pm_tstate_fn: one thread's state and frames. */
static int
thread_roots(void *arg, pm_addr_t tstate)
{
  struct roots *w = arg;
  struct pm_python *py = w->py;
  const struct pm_layout *L = py->L;
  const int64_t fields[]
      = { L->thread_dict, L->thread_async_exc, L->thread_context };
  pm_addr_t frame;
  int err;

  memset(&w->r, 0, sizeof(w->r));
  w->r.index = -1;
  if ((err
       = pm__py_read_u64(py, tstate + L->thread_thread_id, &w->r.thread_id)))
    return err;
  if (L->thread_native_thread_id >= 0
      && (err = pm__py_read_u64(py, tstate + L->thread_native_thread_id,
                                &w->r.native_id)))
    return err;
  for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
    if ((err = emit_field(w, PM_ROOT_THREAD, tstate, fields[i])))
      return err;
  if (L->iframe_size <= 0) {
    if (L->thread_frame < 0
        || (err = pm__py_read_u64(py, tstate + L->thread_frame, &frame)))
      return err;
    return frame_object_chain(w, frame);
  }
  if ((err = pm__iframe_current(py, tstate, &frame)))
    return err;
  w->r.depth = 0;
  return pm__iframe_chain(py, frame, iframe_visit, w, &w->st->frames,
                          &w->st->broken_chains);
}

/* 3.12+: the namespaces of static types live in each interpreter. */
static int
static_type_dicts(struct roots *w, pm_addr_t interp)
{
  const struct pm_layout *L = w->py->L;
  int err;

  if (L->interp_static_types < 0 || L->statictype_size <= 0)
    return 0;
  for (int ext = 0; ext < 2; ext++) {
    /* The builtin types, then (3.13+) the static types of extensions. */
    int64_t off = ext ? L->interp_static_ext_types : L->interp_static_types;
    int64_t bytes
        = ext ? L->interp_static_ext_types_bytes : L->interp_static_types_bytes;
    int64_t count = off >= 0 && bytes > 0 ? bytes / L->statictype_size : 0;
    for (int64_t j = 0; j < count; j++) {
      pm_addr_t s
          = interp + (pm_addr_t)off + (pm_addr_t)(j * L->statictype_size);
      if ((err = emit_field(w, PM_ROOT_STATIC_TYPE, s, L->statictype_type))
          || (err = emit_field(w, PM_ROOT_STATIC_TYPE, s, L->statictype_dict)))
        return err;
    }
  }
  return 0;
}

static int
interp_roots(struct roots *w, pm_addr_t interp)
{
  const struct pm_layout *L = w->py->L;
  int err;

  memset(&w->r, 0, sizeof(w->r));
  w->r.index = -1;
  if ((err = emit_field(w, PM_ROOT_MODULES, interp, L->interp_modules))
      || (err = emit_field(w, PM_ROOT_SYSDICT, interp, L->interp_sysdict))
      || (err = emit_field(w, PM_ROOT_BUILTINS, interp, L->interp_builtins)))
    return err;
  if ((err = pm__tstates_walk(w->py, interp, thread_roots, w, &w->st->threads,
                              &w->st->broken_chains)))
    return err;
  memset(&w->r, 0, sizeof(w->r));
  w->r.index = -1;
  return static_type_dicts(w, interp);
}

int
pm__roots_walk(struct pm_python *py, unsigned flags, pm_root_fn visit,
               void *arg, struct pm_roots_stats *stats)
{
  struct pm_roots_stats dummy;
  struct roots w = { py, visit, arg, stats ? stats : &dummy, { 0 } };
  pm_addr_t interps[MAX_INTERPRETERS];
  int n, err;

  memset(w.st, 0, sizeof(*w.st));
  n = pm__interpreters(py, interps, MAX_INTERPRETERS);
  if (n < 0)
    return n;
  for (int i = 0; i < n; i++) {
    w.st->interpreters++;
    if ((err = interp_roots(&w, interps[i])))
      return err;
  }
  memset(&w.r, 0, sizeof(w.r));
  w.r.index = -1;
  /* The static types pmpeek knows by symbol, shared by every interpreter. */
  for (int i = 0; i < PM_T__COUNT; i++)
    if ((err = emit(&w, PM_ROOT_STATIC_TYPE, py->types[i], -1)))
      return err;
  if (py->interned_var && !(flags & PM_ROOTS_NO_INTERNED)
      && (err = emit_field(&w, PM_ROOT_INTERNED, py->interned_var, 0)))
    return err;
  return 0;
}

int
pm__roots_foreach(struct pm_python *py, pm_root_fn visit, void *arg)
{
  return pm__roots_walk(py, 0, visit, arg, NULL);
}
