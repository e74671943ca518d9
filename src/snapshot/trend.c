/* SPDX-License-Identifier: MIT */
/* trend.c -- name kinds that keep growing over a window of snapshots */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pmpeek/snapshot.h"

/* One snapshot's counts, by kind name (sorted, for lookups). */
struct frame {
  struct timespec at;
  char **names;
  uint64_t *counts;
  size_t n;
};

struct pm_trend {
  unsigned window;
  struct frame *frames; /* ring of window + 1, oldest at `first` */
  size_t used, first;
};

static void
frame_release(struct frame *f)
{
  for (size_t i = 0; i < f->n; i++)
    free(f->names[i]);
  free(f->names);
  free(f->counts);
  memset(f, 0, sizeof(*f));
}

struct pm_trend *
pm_trend_new(unsigned window)
{
  struct pm_trend *t;

  if (window < 1)
    window = 1;
  t = calloc(1, sizeof(*t));
  if (!t)
    return NULL;
  t->window = window;
  t->frames = calloc(window + 1, sizeof(*t->frames));
  if (!t->frames) {
    free(t);
    return NULL;
  }
  return t;
}

void
pm_trend_free(struct pm_trend *t)
{
  if (!t)
    return;
  for (size_t i = 0; i <= t->window; i++)
    frame_release(&t->frames[i]);
  free(t->frames);
  free(t);
}

static int
cmp_kind_ptr(const void *a, const void *b)
{
  const struct pm_kind *const *x = a, *const *y = b;
  return strcmp((*x)->name, (*y)->name);
}

int
pm_trend_add(struct pm_trend *t, const struct pm_snapshot *s)
{
  const struct pm_census *c = s->census;
  size_t slot = (t->first + t->used) % (t->window + 1);
  const struct pm_kind **order = malloc((c->nkinds + 1) * sizeof(*order));
  struct frame f = { .at = s->taken_at };

  if (!order)
    return -ENOMEM;
  for (size_t i = 0; i < c->nkinds; i++)
    order[i] = &c->kinds[i];
  qsort(order, c->nkinds, sizeof(*order), cmp_kind_ptr);
  f.names = calloc(c->nkinds + 1, sizeof(*f.names));
  f.counts = calloc(c->nkinds + 1, sizeof(*f.counts));
  if (!f.names || !f.counts)
    goto nomem;
  for (size_t i = 0; i < c->nkinds; i++, f.n++) {
    if (!(f.names[i] = strdup(order[i]->name)))
      goto nomem;
    f.counts[i] = order[i]->count;
  }
  free(order);
  if (t->used == t->window + 1) {
    /* Full: the oldest frame makes room. */
    slot = t->first;
    t->first = (t->first + 1) % (t->window + 1);
  } else {
    t->used++;
  }
  frame_release(&t->frames[slot]);
  t->frames[slot] = f;
  return 0;

nomem:
  free(order);
  frame_release(&f);
  return -ENOMEM;
}

/* Count of kind in f; 0 when absent. */
static uint64_t
count_in(const struct frame *f, const char *kind)
{
  size_t lo = 0, hi = f->n;

  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(kind, f->names[mid]);
    if (c == 0)
      return f->counts[mid];
    if (c < 0)
      hi = mid;
    else
      lo = mid + 1;
  }
  return 0;
}

static int
by_rate(const void *a, const void *b)
{
  const struct pm_suspect *x = a, *y = b;
  if (x->per_minute != y->per_minute)
    return x->per_minute < y->per_minute ? 1 : -1;
  return strcmp(x->kind, y->kind);
}

int
pm_trend_suspects(const struct pm_trend *t, struct pm_suspect **out, size_t *n)
{
  const struct frame *last, *first;
  struct pm_suspect *v;
  double minutes;

  *out = NULL;
  *n = 0;
  if (t->used < t->window + 1)
    return 0;
  first = &t->frames[t->first];
  last = &t->frames[(t->first + t->window) % (t->window + 1)];
  v = calloc(last->n + 1, sizeof(*v));
  if (!v)
    return -ENOMEM;
  minutes = ((double)(last->at.tv_sec - first->at.tv_sec)
             + (double)(last->at.tv_nsec - first->at.tv_nsec) / 1e9)
            / 60.0;
  for (size_t k = 0; k < last->n; k++) {
    const char *kind = last->names[k];
    int grew = 1;
    /* Strictly more in each snapshot than in the one before it. */
    for (unsigned i = 0; i < t->window && grew; i++) {
      const struct frame *a = &t->frames[(t->first + i) % (t->window + 1)];
      const struct frame *b = &t->frames[(t->first + i + 1) % (t->window + 1)];
      grew = count_in(b, kind) > count_in(a, kind);
    }
    if (!grew)
      continue;
    v[*n].kind = kind;
    v[*n].count_first = count_in(first, kind);
    v[*n].count_last = last->counts[k];
    v[*n].per_minute
        = minutes > 0 ? (double)(v[*n].count_last - v[*n].count_first) / minutes
                      : 0;
    (*n)++;
  }
  qsort(v, *n, sizeof(*v), by_rate);
  *out = v;
  return 0;
}
