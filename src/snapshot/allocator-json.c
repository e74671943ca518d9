/* SPDX-License-Identifier: MIT */
/* allocator-json.c -- pymalloc's figures in the snapshot document */
#include <config.h>

#include "snapshot/allocator-json.h"
#include "snapshot/json-out.h"

static json_t *
num(uint64_t v)
{
  return json_integer((json_int_t)v);
}

static json_t *
num_or_null(int64_t v)
{
  return v < 0 ? json_null() : json_integer((json_int_t)v);
}

/* The figures of one state, named as in sys._debugmallocstats(). */
static json_t *
state_json(const struct pm_obmalloc_stats *s)
{
  json_t *o = json_object(), *classes = json_array();
  int bad = !o || !classes;

  for (unsigned i = 0; i < PM_ALLOCATOR_NCLASSES && !bad; i++) {
    const struct pm_size_class *c = &s->classes[i];
    json_t *k;

    if (c->pools == 0)
      continue; /* as CPython prints only classes with pools */
    k = json_object();
    bad |= !k;
    bad |= pm__json_put(k, "index", num(c->index));
    bad |= pm__json_put(k, "size", num(c->size));
    bad |= pm__json_put(k, "pools", num(c->pools));
    bad |= pm__json_put(k, "blocks_in_use", num(c->blocks_in_use));
    bad |= pm__json_put(k, "blocks_available", num(c->blocks_available));
    bad |= json_array_append_new(classes, k);
  }
  bad |= pm__json_put(o, "size_classes", classes);
  bad |= pm__json_put(o, "arenas_allocated_total",
                      num_or_null(s->arenas_allocated_total));
  bad |= pm__json_put(o, "arenas_reclaimed", num_or_null(s->arenas_reclaimed));
  bad |= pm__json_put(o, "arenas_highwater", num_or_null(s->arenas_highwater));
  bad |= pm__json_put(o, "arenas_allocated_current",
                      num(s->arenas_allocated_current));
  bad |= pm__json_put(o, "unused_pools", num(s->unused_pools));
  bad |= pm__json_put(o, "bytes_in_allocated_blocks",
                      num(s->bytes_in_allocated_blocks));
  bad |= pm__json_put(o, "bytes_in_available_blocks",
                      num(s->bytes_in_available_blocks));
  bad |= pm__json_put(o, "bytes_in_unused_pools",
                      num(s->bytes_in_unused_pools));
  bad |= pm__json_put(o, "bytes_lost_to_pool_headers",
                      num(s->bytes_lost_to_pool_headers));
  bad |= pm__json_put(o, "bytes_lost_to_quantization",
                      num(s->bytes_lost_to_quantization));
  bad |= pm__json_put(o, "bytes_lost_to_arena_alignment",
                      num(s->bytes_lost_to_arena_alignment));
  bad |= pm__json_put(o, "total", num(s->total));
  if (bad) {
    json_decref(o);
    return NULL;
  }
  return o;
}

int
pm__allocator_json(json_t *root, const struct pm_allocator *a)
{
  const struct pm_memory *m = &a->memory;
  json_t *alloc, *others = json_array(), *mem = json_object();
  int bad = !others || !mem;

  /* The main interpreter's state at the top level; others after it. */
  alloc = a->nstates ? state_json(&a->states[0]) : json_object();
  bad |= !alloc;
  for (size_t i = 1; i < a->nstates && !bad; i++) {
    json_t *o = state_json(&a->states[i]);
    bad |= !o
           || pm__json_put(o, "interpreter_id",
                           num_or_null(a->states[i].interp_id));
    bad |= json_array_append_new(others, o);
  }
  if (bad) {
    json_decref(alloc), json_decref(others), json_decref(mem);
    return -1;
  }
  bad |= pm__json_put(alloc, "arena_size", num(a->arena_size));
  bad |= pm__json_put(alloc, "pool_size", num(a->pool_size));
  bad |= pm__json_put(alloc, "pool_overhead", num(a->pool_overhead));
  bad |= pm__json_put(alloc, "found_by",
                      json_string(a->found_by ? a->found_by : "?"));
  bad |= pm__json_put(alloc, "partial", json_boolean(pm_allocator_partial(a)));
  bad |= pm__json_put(alloc, "bad_arenas", num(a->bad_arenas));
  bad |= pm__json_put(alloc, "bad_pools", num(a->bad_pools));
  bad |= pm__json_put(alloc, "other_states", others);
  bad |= pm__json_put(mem, "rss", num_or_null(m->rss));
  bad |= pm__json_put(mem, "arenas_mapped", num(m->arenas_mapped));
  bad |= pm__json_put(mem, "arenas_resident", num_or_null(m->arenas_resident));
  bad |= pm__json_put(mem, "allocated_blocks", num(m->allocated_blocks));
  bad |= pm__json_put(mem, "free_in_arenas", num_or_null(m->free_in_arenas));
  bad |= pm__json_put(mem, "outside_arenas", num_or_null(m->outside_arenas));
  bad |= pm__json_put(root, "allocator", alloc);
  bad |= pm__json_put(root, "memory", mem);
  return bad ? -1 : 0;
}
