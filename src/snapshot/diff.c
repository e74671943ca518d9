/* SPDX-License-Identifier: MIT */
/* diff.c -- compare two snapshots kind by kind */
#include <config.h>

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "pmpeek/snapshot.h"
#include "snapshot/json-out.h"

static int
by_name(const void *a, const void *b)
{
  const struct pm_kind *const *x = a, *const *y = b;
  return strcmp((*x)->name, (*y)->name);
}

/* Pointers to c's kinds, sorted by name, for a merge walk. */
static const struct pm_kind **
sorted_kinds(const struct pm_census *c)
{
  const struct pm_kind **v = malloc((c->nkinds + 1) * sizeof(*v));

  if (!v)
    return NULL;
  for (size_t i = 0; i < c->nkinds; i++)
    v[i] = &c->kinds[i];
  qsort(v, c->nkinds, sizeof(*v), by_name);
  return v;
}

static int64_t
delta(uint64_t a, uint64_t b)
{
  return (int64_t)(b - a);
}

static int
by_abs_size_delta(const void *a, const void *b)
{
  const struct pm_diff_row *x = a, *y = b;
  int64_t dx = delta(x->size_old, x->size_new);
  int64_t dy = delta(y->size_old, y->size_new);
  /* Negated as unsigned: -INT64_MIN would overflow. */
  uint64_t ax = dx < 0 ? 0 - (uint64_t)dx : (uint64_t)dx;
  uint64_t ay = dy < 0 ? 0 - (uint64_t)dy : (uint64_t)dy;
  int64_t cx = delta(x->count_old, x->count_new);
  int64_t cy = delta(y->count_old, y->count_new);
  uint64_t acx = cx < 0 ? 0 - (uint64_t)cx : (uint64_t)cx;
  uint64_t acy = cy < 0 ? 0 - (uint64_t)cy : (uint64_t)cy;

  if (ax != ay)
    return ax < ay ? 1 : -1;
  if (acx != acy)
    return acx < acy ? 1 : -1;
  return strcmp(x->kind, y->kind);
}

int
pm_diff_compute(struct pm_diff *d, const struct pm_snapshot *old,
                const struct pm_snapshot *new)
{
  const struct pm_census *a = old->census, *b = new->census;
  const struct pm_kind **va = sorted_kinds(a), **vb = sorted_kinds(b);
  size_t i = 0, j = 0, n = 0;

  memset(d, 0, sizeof(*d));
  d->old = old;
  d->new = new;
  d->rows = malloc((a->nkinds + b->nkinds + 1) * sizeof(*d->rows));
  if (!va || !vb || !d->rows) {
    free(va), free(vb), free(d->rows);
    d->rows = NULL;
    return -ENOMEM;
  }
  while (i < a->nkinds || j < b->nkinds) {
    struct pm_diff_row *r = &d->rows[n++];
    int cmp = i == a->nkinds   ? 1
              : j == b->nkinds ? -1
                               : strcmp(va[i]->name, vb[j]->name);
    memset(r, 0, sizeof(*r));
    if (cmp <= 0) {
      r->kind = va[i]->name;
      r->count_old = va[i]->count;
      r->size_old = va[i]->size;
      i++;
    }
    if (cmp >= 0) {
      r->kind = vb[j]->name;
      r->count_new = vb[j]->count;
      r->size_new = vb[j]->size;
      j++;
    }
  }
  free(va);
  free(vb);
  d->nrows = n;
  qsort(d->rows, n, sizeof(*d->rows), by_abs_size_delta);
  return 0;
}

void
pm_diff_release(struct pm_diff *d)
{
  free(d->rows);
  memset(d, 0, sizeof(*d));
}

double
pm_diff_seconds(const struct pm_diff *d)
{
  return (double)(d->new->taken_at.tv_sec - d->old->taken_at.tv_sec)
         + (double)(d->new->taken_at.tv_nsec - d->old->taken_at.tv_nsec) / 1e9;
}

static json_t *
side(const struct pm_snapshot *s)
{
  char when[PM_TIME_TEXT_MAX];

  pm_time_rfc3339(&s->taken_at, when, sizeof(when));
  return json_pack("{s:s, s:{s:I, s:I}}", "taken_at", when, "objects", "count",
                   (json_int_t)s->census->count, "size",
                   (json_int_t)s->census->size);
}

int
pm_diff_write_json(const struct pm_diff *d, FILE *f)
{
  json_t *kinds = json_array();
  json_t *root;
  int err = 0;

  if (!kinds)
    return -ENOMEM;
  for (size_t i = 0; i < d->nrows; i++) {
    const struct pm_diff_row *r = &d->rows[i];
    json_t *row = json_pack(
        "{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:s}", "kind", r->kind,
        "count_old", (json_int_t)r->count_old, "count_new",
        (json_int_t)r->count_new, "count_delta",
        (json_int_t)delta(r->count_old, r->count_new), "size_old",
        (json_int_t)r->size_old, "size_new", (json_int_t)r->size_new,
        "size_delta", (json_int_t)delta(r->size_old, r->size_new), "status",
        r->count_old == 0 && r->size_old == 0   ? "appeared"
        : r->count_new == 0 && r->size_new == 0 ? "vanished"
                                                : "both");
    if (!row || json_array_append_new(kinds, row) != 0) {
      json_decref(kinds);
      return -ENOMEM;
    }
  }
  root = json_pack("{s:s, s:i, s:o, s:o, s:f, s:o}", "format", "pmpeek-diff",
                   "format_version", 1, "old", side(d->old), "new",
                   side(d->new), "seconds", pm_diff_seconds(d), "kinds", kinds);
  if (!root)
    return -ENOMEM;
  /* Seconds to the millisecond: every digit a double holds. */
  err = pm__json_dump(root, f, 0);
  json_decref(root);
  return err;
}
