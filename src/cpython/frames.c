/* SPDX-License-Identifier: MIT */
/* frames.c -- what the threads of every interpreter hold on their stacks */
#include <config.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpython/frames.h"
#include "cpython/gc.h"
#include "pmpeek/error.h"
#include "pmpeek/stacks.h"

#define MAX_INTERPRETERS 1024
#define MAX_THREADS 65536
/* Far deeper than any recursion limit lets a real stack grow. */
#define MAX_FRAMES (1 << 20)

int
pm__iframe_current(struct pm_python *py, pm_addr_t tstate, pm_addr_t *frame)
{
  const struct pm_layout *L = py->L;
  uint64_t cframe;
  int err;

  *frame = 0;
  if (L->thread_current_frame >= 0)
    return pm__py_read_u64(py, tstate + L->thread_current_frame, frame);
  if (L->thread_cframe < 0 || L->cframe_current_frame < 0)
    return 0;
  if ((err = pm__py_read_u64(py, tstate + L->thread_cframe, &cframe)))
    return err;
  if (!cframe)
    return 0;
  return pm__py_read_u64(py, cframe + L->cframe_current_frame, frame);
}

/*
 * A frame's saved stack pointer is current when it called the frame inside
 * it directly (3.11-3.13 save it before such a call; a call through C does
 * not), and always on 3.14, which saves it before every call that may
 * escape.
 */
int
pm__iframe_chain(struct pm_python *py, pm_addr_t frame, pm_iframe_fn fn,
                 void *arg, uint64_t *frames, uint64_t *broken)
{
  const struct pm_layout *L = py->L;
  int cstack = pm__iframe_cstack_owner(py);
  int callee_direct = 0; /* the innermost frame is running: no callee */
  struct pm_chain chain;
  int err;

  pm__chain_init(&chain, MAX_FRAMES);
  while (frame) {
    int owner, stack;
    uint64_t prev;

    if (pm__chain_bad(&chain, frame)) {
      (*broken)++;
      return 0;
    }
    stack = PM_PY_AT_LEAST(py, 3, 14) || callee_direct;
    if ((err = fn(arg, frame, stack, &owner)))
      return err;
    if (owner < 0) {
      (*broken)++;
      return 0;
    }
    (*frames)++;
    if ((err = pm__py_read_u64(py, frame + L->iframe_previous, &prev))) {
      (*broken)++;
      return pm__walk_soft(err);
    }
    if (L->iframe_is_entry >= 0) {
      uint8_t entry;
      if ((err = pm__py_read_u8(py, frame + L->iframe_is_entry, &entry)))
        return pm__walk_soft(err);
      callee_direct = !entry;
    } else {
      callee_direct = owner != cstack;
    }
    frame = prev;
  }
  return 0;
}

int
pm__tstates_walk(struct pm_python *py, pm_addr_t interp, pm_tstate_fn fn,
                 void *arg, uint64_t *threads, uint64_t *broken)
{
  const struct pm_layout *L = py->L;
  struct pm_chain chain;
  uint64_t tstate;
  int err;

  if ((err = pm__py_read_u64(py, interp + L->interp_threads_head, &tstate))) {
    (*broken)++;
    return pm__walk_soft(err);
  }
  pm__chain_init(&chain, MAX_THREADS);
  while (tstate) {
    if (pm__chain_bad(&chain, tstate)) {
      (*broken)++;
      return 0;
    }
    (*threads)++;
    err = fn(arg, tstate);
    if (err && (pm__walk_fatal(err) || err > 0))
      return err;
    if (err) {
      (*broken)++;
      return 0;
    }
    if ((err = pm__py_read_u64(py, tstate + L->thread_next, &tstate))) {
      (*broken)++;
      return pm__walk_soft(err);
    }
  }
  return 0;
}

struct frames_walk {
  struct pm_python *py;
  pm_ref_fn visit;
  void *arg;
  struct pm_frames_stats *st;
};

static int
walk_iframe(void *arg, pm_addr_t frame, int stack, int *owner)
{
  struct frames_walk *w = arg;

  return pm__iframe_referents(w->py, frame, stack, w->visit, w->arg, owner);
}

static int
walk_thread(void *arg, pm_addr_t tstate)
{
  struct frames_walk *w = arg;
  struct pm_python *py = w->py;
  const struct pm_layout *L = py->L;
  const int64_t roots[] = { L->thread_dict, L->thread_async_exc,
                            L->thread_context, L->thread_frame };
  pm_addr_t frame;
  int err;

  for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
    uint64_t p;
    if (roots[i] < 0)
      continue;
    if ((err = pm__py_read_u64(py, tstate + (pm_addr_t)roots[i], &p)))
      return err;
    /* 3.8-3.10: thread_frame is the innermost frame object. */
    if (p && (err = w->visit(w->arg, p)))
      return err;
  }
  if (L->iframe_size <= 0)
    return 0;
  if ((err = pm__iframe_current(py, tstate, &frame)))
    return err;
  return pm__iframe_chain(py, frame, walk_iframe, w, &w->st->frames,
                          &w->st->broken_chains);
}

int
pm__frames_walk(struct pm_python *py, pm_ref_fn visit, void *arg,
                struct pm_frames_stats *st)
{
  struct frames_walk w = { py, visit, arg, st };
  pm_addr_t interps[MAX_INTERPRETERS];
  int n, err;

  memset(st, 0, sizeof(*st));
  n = pm__interpreters(py, interps, MAX_INTERPRETERS);
  if (n < 0)
    return n;
  for (int i = 0; i < n; i++)
    if ((err = pm__tstates_walk(py, interps[i], walk_thread, &w, &st->threads,
                                &st->broken_chains)))
      return err;
  return 0;
}

/* ---- thread stacks ------------------------------------------------------ */

/* Longest line table read; a real one is a few bytes per instruction. */
#define MAX_LINETABLE (1 << 22)
/* Longest file or function name kept. */
#define MAX_TEXT 1024
/* Entries of threading._active looked at. */
#define MAX_ACTIVE 65536
/*
 * glibc on x86-64: struct pthread's tid, at this offset from the thread
 * pointer that threading.get_ident() returns (2.26 and later).  Read only
 * before 3.11, whose thread states do not keep the TID, and believed only
 * when it looks like one.
 */
#define GLIBC_PTHREAD_TID 720
#define MAX_TID 4194304

/*
 * Varints of the 3.11+ location table: 6 bits a byte, low bits first, bit
 * 6 set while more follow.
 */
static const uint8_t *
varint(const uint8_t *p, const uint8_t *end, uint32_t *out)
{
  uint32_t v = 0;
  unsigned shift = 0;
  uint8_t b;

  do {
    if (p >= end || shift > 30)
      return NULL;
    b = *p++;
    v |= (uint32_t)(b & 63) << shift;
    shift += 6;
  } while (b & 64);
  *out = v;
  return p;
}

/*
 * A line added up from the target's table: in 64 bits (4 Mi entries of at
 * most 2^31 cannot overflow them), then -1 unless it fits an int.
 */
static int
line_of(int64_t line)
{
  return line < INT_MIN || line > INT_MAX ? -1 : (int)line;
}

static int
locations_line(const uint8_t *p, const uint8_t *end, int64_t line, int64_t addr)
{
  int64_t start = 0;

  while (p < end) {
    uint8_t first = *p;
    int code = (first >> 3) & 15, here;
    int64_t stop = start + ((first & 7) + 1) * 2;

    if (!(first & 128))
      return -1; /* not at an entry: the table is garbage */
    if (code == 13 || code == 14) {
      uint32_t u;
      if (!varint(p + 1, end, &u))
        return -1;
      line += (u & 1) ? -(int64_t)(u >> 1) : (int64_t)(u >> 1);
    } else if (code >= 10 && code <= 12) {
      line += code - 10;
    }
    /* Code 15 is an instruction with no location. */
    here = code == 15 ? -1 : line_of(line);
    if (start <= addr && addr < stop)
      return here;
    start = stop;
    do
      p++;
    while (p < end && !(*p & 128));
  }
  return -1;
}

int
pm__addr2line(enum pm_line_format fmt, const uint8_t *tab, size_t len,
              int firstlineno, int64_t addr)
{
  const uint8_t *end = tab + len;
  int64_t line = firstlineno;

  if (addr < 0)
    return firstlineno;
  switch (fmt) {
  case PM_LINES_LNOTAB: {
    int64_t a = 0;
    for (size_t i = 0; i + 1 < len; i += 2) {
      a += tab[i];
      if (a > addr)
        break;
      line += (int8_t)tab[i + 1];
    }
    return line_of(line);
  }
  case PM_LINES_LINETABLE: {
    int64_t start, stop = 0;
    for (size_t i = 0; i + 1 < len; i += 2) {
      int8_t ldelta = (int8_t)tab[i + 1];
      start = stop;
      stop += tab[i];
      if (ldelta != -128)
        line += ldelta;
      if (start <= addr && addr < stop)
        return ldelta == -128 ? -1 : line_of(line);
    }
    return -1;
  }
  case PM_LINES_LOCATIONS:
    return locations_line(tab, end, line, addr);
  }
  return -1;
}

static char *
text_of(struct pm_python *py, pm_addr_t str)
{
  char buf[MAX_TEXT];

  if (!str || pm__str_read(py, str, buf, sizeof(buf)) != 0)
    snprintf(buf, sizeof(buf), "?");
  return strdup(buf);
}

/* The bytes of the bytes object at b into a new buffer; *len its size. */
static int
bytes_read(struct pm_python *py, pm_addr_t b, uint8_t **out, size_t *len)
{
  const struct pm_layout *L = py->L;
  int64_t n;
  int err;

  *out = NULL;
  *len = 0;
  if ((err = pm__py_read(py, b + L->varobject_ob_size, &n, 8)))
    return err;
  if (n < 0 || n > MAX_LINETABLE)
    return PM_ECORRUPT;
  if (!(*out = malloc(n ? (size_t)n : 1)))
    return -ENOMEM;
  if (n && (err = pm__py_read(py, b + L->bytes_sval, *out, (size_t)n))) {
    free(*out);
    *out = NULL;
    return err;
  }
  *len = (size_t)n;
  return 0;
}

/*
 * Fills f from the code object at code and the byte offset addr of the
 * instruction the frame is at.  Fields that do not read stay "?" or -1.
 */
static int
frame_info(struct pm_python *py, pm_addr_t code, int64_t addr,
           struct pm_py_frame *f)
{
  const struct pm_layout *L = py->L;
  enum pm_line_format fmt = PM_PY_AT_LEAST(py, 3, 11)   ? PM_LINES_LOCATIONS
                            : PM_PY_AT_LEAST(py, 3, 10) ? PM_LINES_LINETABLE
                                                        : PM_LINES_LNOTAB;
  uint64_t name = 0, file = 0, table = 0;
  int32_t first = -1;
  uint8_t *tab;
  size_t len;
  int err;

  f->code = code;
  f->line = f->firstline = -1;
  if ((err = pm__py_read_u64(
           py, code + (L->code_qualname >= 0 ? L->code_qualname : L->code_name),
           &name))
      || (err = pm__py_read_u64(py, code + L->code_filename, &file))
      || (err = pm__py_read(py, code + L->code_firstlineno, &first, 4))
      || (err = pm__py_read_u64(py, code + L->code_linetable, &table)))
    if (pm__walk_fatal(err))
      return err;
  if (!(f->function = text_of(py, name)) || !(f->file = text_of(py, file)))
    return -ENOMEM;
  if (err)
    return 0;
  f->firstline = first;
  if (!table)
    return 0;
  err = bytes_read(py, table, &tab, &len);
  if (err)
    return pm__walk_fatal(err) || err == -ENOMEM ? err : 0;
  f->line = pm__addr2line(fmt, tab, len, first, addr);
  free(tab);
  return 0;
}

static int
is_code(struct pm_python *py, pm_addr_t code)
{
  uint64_t type;

  return code && !(code & 7) && py->types[PM_T_CODE]
         && pm__py_read_u64(py, code + py->L->object_type, &type) == 0
         && type == py->types[PM_T_CODE];
}

static struct pm_py_frame *
frame_push(struct pm_py_thread *th, size_t *cap)
{
  struct pm_py_frame *f;

  if (th->nframes == *cap) {
    size_t ncap = *cap ? *cap * 2 : 16;
    f = realloc(th->frames, ncap * sizeof(*f));
    if (!f)
      return NULL;
    th->frames = f;
    *cap = ncap;
  }
  f = &th->frames[th->nframes++];
  memset(f, 0, sizeof(*f));
  return f;
}

/* The byte offset in its code of the instruction a 3.11+ frame is at. */
static int64_t
iframe_addr(struct pm_python *py, pm_addr_t frame, pm_addr_t code)
{
  const struct pm_layout *L = py->L;
  uint64_t instr;

  if (L->iframe_instr < 0 || L->code_code_adaptive < 0
      || pm__py_read_u64(py, frame + L->iframe_instr, &instr) != 0)
    return INT64_MAX;
  /* 3.11-3.12 point at the last instruction run, -1 before the first. */
  return (int64_t)(instr - (code + (pm_addr_t)L->code_code_adaptive));
}

static int
stack_iframes(struct pm_python *py, pm_addr_t frame, struct pm_py_thread *th)
{
  const struct pm_layout *L = py->L;
  int cstack = pm__iframe_cstack_owner(py);
  struct pm_chain chain;
  size_t cap = 0;
  int err;

  pm__chain_init(&chain, MAX_FRAMES);
  while (frame) {
    uint64_t code, prev;
    int8_t owner;
    struct pm_py_frame *f;

    if (pm__chain_bad(&chain, frame)
        || pm__py_read_u64(py, frame + L->iframe_code, &code) != 0
        || pm__py_read(py, frame + L->iframe_owner, &owner, 1) != 0
        || pm__py_read_u64(py, frame + L->iframe_previous, &prev) != 0) {
      th->truncated = 1;
      break;
    }
    if (PM_PY_AT_LEAST(py, 3, 14))
      code &= ~(uint64_t)1; /* a _PyStackRef */
    if (owner == cstack) {
      /* The shim a C caller pushed: the frame inside it was entered. */
      if (th->nframes)
        th->frames[th->nframes - 1].entry = 1;
      frame = prev;
      continue;
    }
    if (!is_code(py, code)) {
      frame = prev; /* no code object to show: nothing of ours runs there */
      continue;
    }
    if (!(f = frame_push(th, &cap)))
      return -ENOMEM;
    f->frame = frame;
    if ((err = frame_info(py, code, iframe_addr(py, frame, code), f)))
      return err;
    if (L->iframe_is_entry >= 0) {
      uint8_t entry;
      if (pm__py_read(py, frame + L->iframe_is_entry, &entry, 1) == 0)
        f->entry = entry != 0;
    }
    frame = prev;
  }
  if (th->nframes)
    th->frames[th->nframes - 1].entry = 1;
  return 0;
}

static int
stack_frame_objects(struct pm_python *py, pm_addr_t frame,
                    struct pm_py_thread *th)
{
  const struct pm_layout *L = py->L;
  struct pm_chain chain;
  size_t cap = 0;
  int err;

  pm__chain_init(&chain, MAX_FRAMES);
  while (frame) {
    uint64_t code, back;
    int32_t lasti;
    int64_t addr;
    struct pm_py_frame *f;

    if (pm__chain_bad(&chain, frame)
        || pm__py_read_u64(py, frame + L->frame_code, &code) != 0
        || pm__py_read_u64(py, frame + L->frame_back, &back) != 0
        || pm__py_read(py, frame + L->frame_lasti, &lasti, 4) != 0
        || !is_code(py, code)) {
      th->truncated = 1;
      break;
    }
    if (!(f = frame_push(th, &cap)))
      return -ENOMEM;
    f->frame = frame;
    f->entry = 1; /* each frame has its own call of the eval loop */
    /* 3.10 counts f_lasti in instructions, 3.8 and 3.9 in bytes. */
    addr = PM_PY_AT_LEAST(py, 3, 10) && lasti >= 0 ? (int64_t)lasti * 2 : lasti;
    if ((err = frame_info(py, code, addr, f)))
      return err;
    frame = back;
  }
  return 0;
}

/* The attribute name of obj, whatever its type. */
static int
attr_of(struct pm_python *py, pm_addr_t obj, const char *name, pm_addr_t *value)
{
  struct pm_type_info ti;
  uint64_t type;
  int err;

  *value = 0;
  if ((err = pm__py_read_u64(py, obj + py->L->object_type, &type))
      || (err = pm__type_read(py, type, &ti)))
    return err;
  return pm__object_attr(py, obj, &ti, name, value);
}

struct names {
  struct pm_python *py;
  struct pm_py_thread *threads;
  size_t n;
  uint64_t seen;
};

/* One entry of threading._active: ident -> Thread. */
static int
active_visit(void *arg, pm_addr_t ref, const struct pm_ref_label *l)
{
  struct names *w = arg;
  uint64_t ident;
  int64_t value;
  pm_addr_t name;
  int err;

  if (l->how != PM_REF_VALUE || !l->key)
    return 0;
  if (++w->seen > MAX_ACTIVE)
    return 1;
  if ((err = pm__int_value(w->py, l->key, &value)))
    return pm__walk_soft(err);
  ident = (uint64_t)value;
  for (size_t i = 0; i < w->n; i++) {
    if (w->threads[i].thread_id != ident || w->threads[i].name)
      continue;
    if ((err = attr_of(w->py, ref, "_name", &name)))
      return pm__walk_soft(err);
    if (name && !(w->threads[i].name = text_of(w->py, name)))
      return -ENOMEM;
  }
  return 0;
}

/*
 * Names the n threads of the interpreter at interp after the Thread
 * objects of its threading._active, when threading was imported.
 */
static int
thread_names(struct pm_python *py, pm_addr_t interp,
             struct pm_py_thread *threads, size_t n)
{
  struct names w = { py, threads, n, 0 };
  struct pm_type_info dict_ti;
  pm_addr_t threading, active, dict;
  uint64_t modules;
  int err;

  if ((err = pm__py_read_u64(py, interp + py->L->interp_modules, &modules)))
    return err;
  if (!modules || (err = pm__dict_get_str(py, modules, "threading", &threading))
      || !threading || (err = attr_of(py, threading, "_active", &active))
      || !active)
    return err;
  memset(&dict_ti, 0, sizeof(dict_ti));
  dict_ti.walker = PM_WALK_DICT;
  err = pm__referents_labelled(py, active, &dict_ti, NULL, 0, active_visit, &w,
                               &dict);
  return err > 0 ? 0 : err;
}

/* The thread state holding the GIL of interp, or 0; -1 when unknown. */
static int
gil_holder(struct pm_python *py, pm_addr_t interp, pm_addr_t *holder)
{
  const struct pm_layout *L = py->L;
  uint64_t gil;
  int32_t locked;
  int err;

  *holder = 0;
  if (L->runtime_gilstate_current >= 0)
    return pm__py_read_u64(py, py->info.runtime + L->runtime_gilstate_current,
                           holder);
  if (L->interp_ceval_gil < 0 || L->gil_locked < 0 || L->gil_last_holder < 0)
    return 1;
  if ((err = pm__py_read_u64(py, interp + L->interp_ceval_gil, &gil)))
    return err;
  if (!gil)
    return 0;
  if ((err = pm__py_read(py, gil + L->gil_locked, &locked, 4)))
    return err;
  if (!locked)
    return 0;
  return pm__py_read_u64(py, gil + L->gil_last_holder, holder);
}

void
pm_stacks_init(struct pm_stacks *s)
{
  memset(s, 0, sizeof(*s));
}

void
pm_stacks_release(struct pm_stacks *s)
{
  for (size_t i = 0; i < s->nthreads; i++) {
    struct pm_py_thread *th = &s->threads[i];
    for (size_t j = 0; j < th->nframes; j++) {
      free(th->frames[j].function);
      free(th->frames[j].file);
    }
    free(th->frames);
    free(th->name);
    for (size_t j = 0; j < th->nnative; j++) {
      free(th->native[j].symbol);
      free(th->native[j].file);
    }
    free(th->native);
  }
  free(s->threads);
  pm_stacks_init(s);
}

static int
stacks_thread(struct pm_python *py, pm_addr_t tstate, struct pm_py_thread *th)
{
  const struct pm_layout *L = py->L;
  pm_addr_t frame;
  int err;

  th->tstate = tstate;
  if ((err = pm__py_read_u64(py, tstate + L->thread_thread_id, &th->thread_id)))
    return err;
  if (L->thread_native_thread_id >= 0) {
    if ((err = pm__py_read_u64(py, tstate + L->thread_native_thread_id,
                               &th->native_id)))
      return err;
  } else if (th->thread_id) {
    int32_t tid;
    if (pm__py_read(py, th->thread_id + GLIBC_PTHREAD_TID, &tid, 4) == 0
        && tid > 0 && tid < MAX_TID)
      th->native_id = (uint64_t)tid;
  }
  if (L->iframe_size <= 0) {
    if ((err = pm__py_read_u64(py, tstate + L->thread_frame, &frame)))
      return err;
    return stack_frame_objects(py, frame, th);
  }
  if ((err = pm__iframe_current(py, tstate, &frame)))
    return err;
  return stack_iframes(py, frame, th);
}

static int
stacks_interp(struct pm_stacks *s, struct pm_python *py, pm_addr_t interp,
              size_t *cap)
{
  const struct pm_layout *L = py->L;
  size_t first = s->nthreads;
  struct pm_chain chain;
  uint64_t tstate;
  int64_t id = 0;
  pm_addr_t holder;
  int gil, err;

  if (L->interp_id >= 0
      && (err = pm__py_read(py, interp + L->interp_id, &id, 8)))
    return err;
  gil = gil_holder(py, interp, &holder);
  if (gil < 0 && pm__walk_fatal(gil))
    return gil;
  if (gil < 0)
    gil = 1; /* unreadable: unknown */
  if ((err = pm__py_read_u64(py, interp + L->interp_threads_head, &tstate)))
    return err;
  pm__chain_init(&chain, MAX_THREADS);
  while (tstate) {
    struct pm_py_thread *th;

    if (pm__chain_bad(&chain, tstate)) {
      s->broken_chains++;
      break;
    }
    if (s->nthreads == *cap) {
      size_t ncap = *cap ? *cap * 2 : 8;
      struct pm_py_thread *nt = realloc(s->threads, ncap * sizeof(*nt));
      if (!nt)
        return -ENOMEM;
      s->threads = nt;
      *cap = ncap;
    }
    th = &s->threads[s->nthreads++];
    memset(th, 0, sizeof(*th));
    th->interp_id = id;
    th->gil = gil > 0            ? PM_GIL_UNKNOWN
              : tstate == holder ? PM_GIL_HELD
                                 : PM_GIL_NO;
    err = stacks_thread(py, tstate, th);
    if (err && (pm__walk_fatal(err) || err == -ENOMEM))
      return err;
    if (err || th->truncated)
      s->broken_chains++;
    if (err || (err = pm__py_read_u64(py, tstate + L->thread_next, &tstate))) {
      if (pm__walk_fatal(err))
        return err;
      s->broken_chains++;
      break;
    }
  }
  err = thread_names(py, interp, s->threads + first, s->nthreads - first);
  return pm__walk_fatal(err) || err == -ENOMEM ? err : 0;
}

int
pm_stacks_take(struct pm_stacks *s, struct pm_python *py)
{
  pm_addr_t interps[MAX_INTERPRETERS];
  size_t cap = 0;
  int n, err = 0;

  pm_stacks_init(s);
  n = pm__interpreters(py, interps, MAX_INTERPRETERS);
  if (n < 0)
    return n;
  for (int i = 0; i < n && !err; i++)
    err = stacks_interp(s, py, interps[i], &cap);
  if (err)
    pm_stacks_release(s);
  return err;
}
