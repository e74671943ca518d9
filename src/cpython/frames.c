/* SPDX-License-Identifier: MIT */
/* frames.c -- what the threads of every interpreter hold on their stacks */
#include <config.h>

#include <errno.h>
#include <string.h>

#include "cpython/frames.h"
#include "cpython/gc.h"
#include "pmpeek/error.h"

#define MAX_INTERPRETERS 1024
#define MAX_THREADS 65536
/* Far deeper than any recursion limit lets a real stack grow. */
#define MAX_FRAMES (1 << 20)

static int
rd_u64(struct pm_python *py, pm_addr_t addr, uint64_t *out)
{
  return pm_target_read_u64(py->t, addr, out);
}

/* The innermost interpreter frame of a thread (3.11+), or 0. */
static int
current_frame(struct pm_python *py, pm_addr_t tstate, pm_addr_t *frame)
{
  const struct pm_layout *L = py->L;
  uint64_t cframe;
  int err;

  *frame = 0;
  if (L->thread_current_frame >= 0)
    return rd_u64(py, tstate + L->thread_current_frame, frame);
  if (L->thread_cframe < 0 || L->cframe_current_frame < 0)
    return 0;
  if ((err = rd_u64(py, tstate + L->thread_cframe, &cframe)))
    return err;
  if (!cframe)
    return 0;
  return rd_u64(py, cframe + L->cframe_current_frame, frame);
}

/*
 * Walks a 3.11+ frame chain from the innermost frame out.  A frame's saved
 * stack pointer is current when it called the frame inside it directly
 * (3.11-3.13 save it before such a call; a call through C does not), and
 * always on 3.14, which saves it before every call that may escape.
 */
static int
walk_chain(struct pm_python *py, pm_addr_t frame, pm_ref_fn visit, void *arg,
           struct pm_frames_stats *st)
{
  const struct pm_layout *L = py->L;
  int cstack = pm__iframe_cstack_owner(py);
  int callee_direct = 0; /* the innermost frame is running: no callee */
  struct pm_cycle cycle;
  uint64_t n = 0;
  int err;

  pm__cycle_init(&cycle);
  while (frame) {
    int owner, stack;
    uint64_t prev;

    if ((frame & 7) || ++n > MAX_FRAMES || pm__cycle_seen(&cycle, frame)) {
      st->broken_chains++;
      return 0;
    }
    stack = PM_PY_AT_LEAST(py, 3, 14) || callee_direct;
    if ((err = pm__iframe_referents(py, frame, stack, visit, arg, &owner)))
      return err;
    if (owner < 0) {
      st->broken_chains++;
      return 0;
    }
    st->frames++;
    if ((err = rd_u64(py, frame + L->iframe_previous, &prev))) {
      if (pm__walk_fatal(err))
        return err;
      st->broken_chains++;
      return 0;
    }
    if (L->iframe_is_entry >= 0) {
      uint8_t entry;
      if ((err = pm_target_read(py->t, frame + L->iframe_is_entry, &entry, 1)))
        return pm__walk_fatal(err) ? err : 0;
      callee_direct = !entry;
    } else {
      callee_direct = owner != cstack;
    }
    frame = prev;
  }
  return 0;
}

static int
walk_thread(struct pm_python *py, pm_addr_t tstate, pm_ref_fn visit,
            void *arg, struct pm_frames_stats *st)
{
  const struct pm_layout *L = py->L;
  const int64_t roots[] = { L->thread_dict, L->thread_async_exc,
                            L->thread_context, L->thread_frame };
  pm_addr_t frame;
  int err;

  for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
    uint64_t p;
    if (roots[i] < 0)
      continue;
    if ((err = rd_u64(py, tstate + (pm_addr_t)roots[i], &p)))
      return err;
    /* 3.8-3.10: thread_frame is the innermost frame object. */
    if (p && (err = visit(arg, p)))
      return err;
  }
  if (L->iframe_size <= 0)
    return 0;
  if ((err = current_frame(py, tstate, &frame)))
    return err;
  return walk_chain(py, frame, visit, arg, st);
}

int
pm__frames_walk(struct pm_python *py, pm_ref_fn visit, void *arg,
                struct pm_frames_stats *st)
{
  const struct pm_layout *L = py->L;
  pm_addr_t interps[MAX_INTERPRETERS];
  int n, err;

  memset(st, 0, sizeof(*st));
  n = pm__interpreters(py, interps, MAX_INTERPRETERS);
  if (n < 0)
    return n;
  for (int i = 0; i < n; i++) {
    uint64_t tstate, count = 0;
    struct pm_cycle cycle;

    if ((err = rd_u64(py, interps[i] + L->interp_threads_head, &tstate))) {
      if (pm__walk_fatal(err))
        return err;
      st->broken_chains++;
      continue;
    }
    pm__cycle_init(&cycle);
    while (tstate) {
      if ((tstate & 7) || ++count > MAX_THREADS ||
          pm__cycle_seen(&cycle, tstate)) {
        st->broken_chains++;
        break;
      }
      st->threads++;
      err = walk_thread(py, tstate, visit, arg, st);
      if (err && (pm__walk_fatal(err) || err > 0))
        return err;
      if (err) {
        st->broken_chains++;
        break;
      }
      if ((err = rd_u64(py, tstate + L->thread_next, &tstate))) {
        if (pm__walk_fatal(err))
          return err;
        st->broken_chains++;
        break;
      }
    }
  }
  return 0;
}
