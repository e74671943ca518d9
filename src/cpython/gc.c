/* SPDX-License-Identifier: MIT */
/* gc.c -- walk every interpreter's GC generation lists */
#include <config.h>

#include <errno.h>
#include <string.h>

#include "cpython/gc.h"
#include "pmpeek/error.h"

#define MAX_INTERPRETERS 1024
#define NUM_GENERATIONS 3
/* Masks the flag bits CPython keeps in the low bits of both links. */
#define GC_LINK_MASK (~(uint64_t)3)

int
pm__interpreters(struct pm_python *py, pm_addr_t *out, int max)
{
  const struct pm_layout *L = py->L;
  uint64_t interp;
  int n = 0, err;

  if ((err = pm_target_read_u64(
           py->t, py->info.runtime + L->runtime_interpreters_head, &interp)))
    return err;
  while (interp && n < max) {
    for (int i = 0; i < n; i++)
      if (out[i] == interp)
        return n; /* a loop: every interpreter seen once */
    out[n++] = interp;
    if ((err = pm__py_read_u64(py, interp + L->interp_next, &interp)))
      return pm__walk_fatal(err) ? err : n;
  }
  return n;
}

/* Upper bound on a list: no more objects than readable memory can hold. */
static uint64_t
max_objects(struct pm_python *py)
{
  const struct pm_maps *m = pm_target_maps(py->t);
  uint64_t bytes = 0;

  for (size_t i = 0; i < m->n; i++)
    if (m->v[i].prot & PM_PROT_WRITE)
      bytes += m->v[i].end - m->v[i].start;
  return bytes / 32 + 1;
}

static int
walk_list(struct pm_python *py, pm_addr_t head, int collecting, uint64_t limit,
          pm_gc_visit_fn visit, void *arg, struct pm_gc_stats *st)
{
  const struct pm_layout *L = py->L;
  uint64_t prev = head, cur;
  struct pm_chain chain;
  int err;

  if ((err = pm__py_read_u64(py, head + L->gc_head_next, &cur)))
    return err;
  cur &= GC_LINK_MASK;
  /* The back-links catch a loop, except while the collector runs. */
  pm__chain_init(&chain, limit);
  while (cur != head) {
    /* One read brings the PyGC_Head and the object header after it. */
    uint64_t words[4];
    pm_addr_t obj = cur + (pm_addr_t)L->gc_head_size;

    if (!cur || pm__chain_bad(&chain, cur)) {
      st->broken_lists++;
      return 0;
    }
    err = pm__py_read(py, cur, words, sizeof(words));
    if (err) {
      if (pm__walk_fatal(err))
        return err;
      st->broken_lists++;
      return 0;
    }
    /* While the collector runs, _gc_prev holds gc_refs instead. */
    if (!collecting && (words[L->gc_head_prev / 8] & GC_LINK_MASK) != prev) {
      st->broken_lists++;
      return 0;
    }
    st->objects++;
    err = visit(arg, obj, words[(L->gc_head_size + L->object_type) / 8]);
    if (err)
      return err;
    prev = cur;
    cur = words[L->gc_head_next / 8] & GC_LINK_MASK;
  }
  return 0;
}

int
pm__gc_heads(struct pm_python *py, pm_addr_t *heads, int max, int *collecting)
{
  const struct pm_layout *L = py->L;
  pm_addr_t interps[MAX_INTERPRETERS];
  int n, k = 0, err;

  *collecting = 0;
  n = pm__interpreters(py, interps, MAX_INTERPRETERS);
  if (n < 0)
    return n;
  if (L->interp_gc < 0 && n > 1)
    n = 1;
  for (int i = 0; i < n; i++) {
    pm_addr_t gc = L->interp_gc >= 0
                       ? interps[i] + (pm_addr_t)L->interp_gc
                       : py->info.runtime + (pm_addr_t)L->runtime_gc;
    int32_t c = 0;

    if ((err = pm__py_read(py, gc + L->gc_state_collecting, &c, sizeof(c))))
      return err;
    if (c)
      *collecting = 1;
    for (int g = 0; g <= NUM_GENERATIONS && k < max; g++)
      heads[k++] = g < NUM_GENERATIONS
                       ? gc + (pm_addr_t)L->gc_state_generations
                             + (pm_addr_t)(g * L->gc_generation_size)
                             + (pm_addr_t)L->gc_generation_head
                       : gc + (pm_addr_t)L->gc_state_permanent
                             + (pm_addr_t)L->gc_generation_head;
  }
  return k;
}

int
pm__gc_walk(struct pm_python *py, pm_gc_visit_fn visit, void *arg,
            struct pm_gc_stats *st)
{
  const struct pm_layout *L = py->L;
  pm_addr_t interps[MAX_INTERPRETERS];
  uint64_t limit = max_objects(py);
  int n, err;

  memset(st, 0, sizeof(*st));
  n = pm__interpreters(py, interps, MAX_INTERPRETERS);
  if (n < 0)
    return n;
  if (n == 0)
    return PM_ENOPYTHON; /* not initialised, or already finalised */
  /* 3.8 has one GC state, in the runtime, shared by every interpreter. */
  if (L->interp_gc < 0)
    n = 1;
  for (int i = 0; i < n; i++) {
    pm_addr_t gc = L->interp_gc >= 0
                       ? interps[i] + (pm_addr_t)L->interp_gc
                       : py->info.runtime + (pm_addr_t)L->runtime_gc;
    pm_addr_t heads[NUM_GENERATIONS + 1];
    int32_t collecting = 0;

    st->interpreters++;
    err = pm__py_read(py, gc + L->gc_state_collecting, &collecting,
                      sizeof(collecting));
    if (err) {
      if (pm__walk_fatal(err))
        return err;
      st->broken_lists++;
      continue;
    }
    for (int g = 0; g < NUM_GENERATIONS; g++)
      heads[g] = gc + (pm_addr_t)L->gc_state_generations
                 + (pm_addr_t)(g * L->gc_generation_size)
                 + (pm_addr_t)L->gc_generation_head;
    heads[NUM_GENERATIONS] = gc + (pm_addr_t)L->gc_state_permanent
                             + (pm_addr_t)L->gc_generation_head;
    for (int g = 0; g <= NUM_GENERATIONS; g++) {
      st->lists++;
      err = walk_list(py, heads[g], collecting != 0, limit, visit, arg, st);
      if (err)
        return err;
    }
  }
  return 0;
}
