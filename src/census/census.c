/* SPDX-License-Identifier: MIT */
/* census.c -- partition the objects of a target by kind */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cpython/gc.h"
#include "cpython/object.h"
#include "pmpeek/census.h"
#include "pmpeek/error.h"

/* What we know about one type object, looked up once per type. */
struct type_entry {
  pm_addr_t addr; /* 0 = empty slot */
  int kind;       /* index into kinds, or -1 for an unreadable type */
  struct pm_type_info info;
};

struct kind_entry {
  char *name; /* NULL = empty slot */
  size_t index;
};

struct walk {
  struct pm_census *c;
  struct pm_python *py;
  struct type_entry *types;
  size_t types_cap, types_used;
  struct kind_entry *names;
  size_t names_cap;
  size_t kinds_cap;
};

static uint64_t
hash_addr(pm_addr_t a)
{
  return (a >> 3) * 0x9E3779B97F4A7C15ull;
}

static uint64_t
hash_str(const char *s)
{
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

static int
kind_index(struct walk *w, const char *name, size_t *out)
{
  struct pm_census *c = w->c;
  size_t mask, i;

  if (c->nkinds * 2 >= w->names_cap) {
    size_t ncap = w->names_cap ? w->names_cap * 2 : 256;
    struct kind_entry *nn = calloc(ncap, sizeof(*nn));
    if (!nn)
      return -ENOMEM;
    for (size_t k = 0; k < w->names_cap; k++) {
      if (!w->names[k].name)
        continue;
      for (i = hash_str(w->names[k].name) & (ncap - 1); nn[i].name;
           i = (i + 1) & (ncap - 1))
        ;
      nn[i] = w->names[k];
    }
    free(w->names);
    w->names = nn;
    w->names_cap = ncap;
  }
  mask = w->names_cap - 1;
  for (i = hash_str(name) & mask; w->names[i].name; i = (i + 1) & mask)
    if (strcmp(w->names[i].name, name) == 0) {
      *out = w->names[i].index;
      return 0;
    }
  if (c->nkinds == w->kinds_cap) {
    size_t ncap = w->kinds_cap ? w->kinds_cap * 2 : 128;
    struct pm_kind *nk = realloc(c->kinds, ncap * sizeof(*nk));
    if (!nk)
      return -ENOMEM;
    c->kinds = nk;
    w->kinds_cap = ncap;
  }
  c->kinds[c->nkinds].name = strdup(name);
  if (!c->kinds[c->nkinds].name)
    return -ENOMEM;
  c->kinds[c->nkinds].count = c->kinds[c->nkinds].size = 0;
  w->names[i].name = c->kinds[c->nkinds].name;
  w->names[i].index = c->nkinds;
  *out = c->nkinds++;
  return 0;
}

static int
grow_types(struct walk *w)
{
  size_t ncap = w->types_cap ? w->types_cap * 2 : 1024;
  struct type_entry *nt = calloc(ncap, sizeof(*nt));

  if (!nt)
    return -ENOMEM;
  for (size_t k = 0; k < w->types_cap; k++) {
    size_t i;
    if (!w->types[k].addr)
      continue;
    for (i = hash_addr(w->types[k].addr) & (ncap - 1); nt[i].addr;
         i = (i + 1) & (ncap - 1))
      ;
    nt[i] = w->types[k];
  }
  free(w->types);
  w->types = nt;
  w->types_cap = ncap;
  return 0;
}

static int
type_lookup(struct walk *w, pm_addr_t type, struct type_entry **out)
{
  size_t mask, i;
  struct type_entry *e;
  int err;

  if (w->types_used * 2 >= w->types_cap && (err = grow_types(w)))
    return err;
  mask = w->types_cap - 1;
  for (i = hash_addr(type) & mask; w->types[i].addr; i = (i + 1) & mask)
    if (w->types[i].addr == type) {
      *out = &w->types[i];
      return 0;
    }
  e = &w->types[i];
  e->addr = type;
  e->kind = -1;
  w->types_used++;
  err = pm__type_read(w->py, type, &e->info);
  if (err == 0) {
    size_t k;
    if ((err = kind_index(w, e->info.name, &k)))
      return err;
    e->kind = (int)k;
  } else if (pm__walk_fatal(err)) {
    return err;
  }
  *out = e;
  return 0;
}

static int
visit(void *arg, pm_addr_t obj, pm_addr_t type)
{
  struct walk *w = arg;
  struct type_entry *e;
  uint64_t size;
  int err;

  if (!type) {
    w->c->skipped++;
    return 0;
  }
  if ((err = type_lookup(w, type, &e)))
    return err; /* only fatal errors come back */
  if (e->kind < 0) {
    w->c->skipped++;
    return 0;
  }
  err = pm__object_size(w->py, &e->info, obj, &size);
  if (err) {
    if (pm__walk_fatal(err))
      return err;
    w->c->skipped++;
    return 0;
  }
  w->c->kinds[e->kind].count++;
  w->c->kinds[e->kind].size += size;
  w->c->count++;
  w->c->size += size;
  return 0;
}

void
pm_census_init(struct pm_census *c)
{
  memset(c, 0, sizeof(*c));
}

void
pm_census_release(struct pm_census *c)
{
  for (size_t i = 0; i < c->nkinds; i++)
    free(c->kinds[i].name);
  free(c->kinds);
  pm_census_init(c);
}

int
pm_census_partial(const struct pm_census *c)
{
  return c->skipped > 0 || c->broken_lists > 0;
}

int
pm_census_take(struct pm_census *c, struct pm_python *py)
{
  struct walk w = { .c = c, .py = py };
  struct pm_gc_stats st;
  int err;

  pm_census_init(c);
  err = pm__gc_walk(py, visit, &w, &st);
  free(w.types);
  free(w.names);
  if (err) {
    pm_census_release(c);
    return err;
  }
  c->broken_lists = st.broken_lists;
  c->interpreters = st.interpreters;
  pm_census_sort(c, PM_SORT_SIZE);
  return 0;
}

static int
by_size(const void *a, const void *b)
{
  const struct pm_kind *x = a, *y = b;
  if (x->size != y->size)
    return x->size < y->size ? 1 : -1;
  if (x->count != y->count)
    return x->count < y->count ? 1 : -1;
  return strcmp(x->name, y->name);
}

static int
by_count(const void *a, const void *b)
{
  const struct pm_kind *x = a, *y = b;
  if (x->count != y->count)
    return x->count < y->count ? 1 : -1;
  if (x->size != y->size)
    return x->size < y->size ? 1 : -1;
  return strcmp(x->name, y->name);
}

void
pm_census_sort(struct pm_census *c, enum pm_sort by)
{
  if (c->nkinds > 1)
    qsort(c->kinds, c->nkinds, sizeof(*c->kinds),
          by == PM_SORT_COUNT ? by_count : by_size);
}
