/* SPDX-License-Identifier: MIT */
/* census.c -- partition every object of a target by kind */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpython/frames.h"
#include "cpython/gc.h"
#include "cpython/object.h"
#include "cpython/referents.h"
#include "pmpeek/census.h"
#include "pmpeek/error.h"

/*
 * Route 3, the allocator's blocks, needs the obmalloc walker; until it is
 * built in, the census finds objects through the GC lists, referents and
 * frames only.
 */
#if defined(__has_include)
#if __has_include("cpython/obmalloc.h")
#include "cpython/obmalloc.h"
#define PM_HAVE_OBMALLOC_BLOCKS 1
#endif
#endif

#define MAX_INTERPRETERS 1024
/* Members gathered per type; a class with more keeps only these. */
#define MAX_TYPE_MEMBERS 1024
/* A refcount at or above this that is also a mapped address is a pointer. */
#define MIN_POINTER 4096

/*
 * What we know about one type object, looked up once per type.  Entries
 * live in fixed blocks so that a pointer to one stays valid while the walk
 * adds others.
 */
struct type_entry {
  pm_addr_t addr;
  int32_t kind;      /* index into kinds, -1 until an instance is counted */
  int32_t dict_kind; /* "dict of <name>", -1 until a dict it owns is counted */
  uint32_t *members; /* offsets of its object members; owned */
  uint32_t nmembers;
  uint8_t valid;     /* pm__type_read() succeeded */
  uint8_t offered;   /* the type object itself was offered as an object */
  uint8_t exact_dict;
  struct pm_type_info info;
};

#define TYPE_BLOCK_BITS 8
#define TYPE_BLOCK (1u << TYPE_BLOCK_BITS)

/* Open addressing over target addresses; 0 marks an empty slot. */
struct addr_set {
  uint64_t *keys;
  uint32_t *vals; /* one per key when has_vals */
  size_t cap, used;
  int has_vals;
};

struct work_item {
  pm_addr_t obj;
  uint32_t type; /* index into walk.types */
};

struct dict_item {
  pm_addr_t obj;
  uint64_t size;
};

struct kind_entry {
  char *name; /* NULL = empty slot */
  size_t index;
};

struct static_dict {
  pm_addr_t type, dict;
};

struct walk {
  struct pm_census *c;
  struct pm_python *py;
  enum pm_census_by by;

  struct type_entry **types; /* blocks of TYPE_BLOCK entries */
  size_t ntypes, blocks_cap;
  struct addr_set type_index; /* type address -> index + 1 */

  struct addr_set seen;   /* every object counted or queued */
  struct addr_set owners; /* dict address -> owner's type index + 1 */
  struct work_item *work;
  size_t nwork, work_cap;
  struct dict_item *dicts; /* exact dicts, classified at the end */
  size_t ndicts, dicts_cap;
  struct static_dict *statics; /* 3.12+: static builtin types' dicts */
  size_t nstatics, statics_cap;

  struct kind_entry *names;
  size_t names_cap, kinds_cap;
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

/* ---- address sets ------------------------------------------------------ */

static size_t
set_slot(const struct addr_set *s, pm_addr_t a)
{
  size_t mask = s->cap - 1, i = (size_t)(hash_addr(a) >> 20) & mask;

  while (s->keys[i] && s->keys[i] != a)
    i = (i + 1) & mask;
  return i;
}

static int
set_grow(struct addr_set *s)
{
  size_t ncap = s->cap ? s->cap * 2 : 1 << 16;
  struct addr_set n = { .cap = ncap, .has_vals = s->has_vals };

  n.keys = calloc(ncap, sizeof(*n.keys));
  if (!n.keys)
    return -ENOMEM;
  if (s->has_vals && !(n.vals = calloc(ncap, sizeof(*n.vals)))) {
    free(n.keys);
    return -ENOMEM;
  }
  for (size_t i = 0; i < s->cap; i++) {
    size_t j;
    if (!s->keys[i])
      continue;
    j = set_slot(&n, s->keys[i]);
    n.keys[j] = s->keys[i];
    if (n.has_vals)
      n.vals[j] = s->vals[i];
  }
  n.used = s->used;
  free(s->keys);
  free(s->vals);
  *s = n;
  return 0;
}

static int
set_has(const struct addr_set *s, pm_addr_t a)
{
  return s->cap && s->keys[set_slot(s, a)] == a;
}

/* 0 when a is absent, else its value (sets with values only). */
static uint32_t
set_get(const struct addr_set *s, pm_addr_t a)
{
  size_t i;

  if (!s->cap)
    return 0;
  i = set_slot(s, a);
  return s->keys[i] == a ? s->vals[i] : 0;
}

/* Adds a (with val); 1 when it was new, 0 when present, or -ENOMEM. */
static int
set_add(struct addr_set *s, pm_addr_t a, uint32_t val)
{
  size_t i;
  int err;

  if ((s->used + 1) * 2 > s->cap && (err = set_grow(s)))
    return err;
  i = set_slot(s, a);
  if (s->keys[i] == a)
    return 0;
  s->keys[i] = a;
  if (s->has_vals)
    s->vals[i] = val;
  s->used++;
  return 1;
}

static void
set_free(struct addr_set *s)
{
  free(s->keys);
  free(s->vals);
  s->keys = NULL;
  s->vals = NULL;
  s->cap = s->used = 0;
}

static int
grow(void **v, size_t *cap, size_t elem, size_t need)
{
  size_t ncap = *cap ? *cap : 64;
  void *nv;

  if (need <= *cap)
    return 0;
  while (ncap < need)
    ncap *= 2;
  nv = realloc(*v, ncap * elem);
  if (!nv)
    return -ENOMEM;
  *v = nv;
  *cap = ncap;
  return 0;
}

/* ---- kinds --------------------------------------------------------------- */

static int
kind_index(struct walk *w, const char *name, int32_t *out)
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
      *out = (int32_t)w->names[i].index;
      return 0;
    }
  if (grow((void **)&c->kinds, &w->kinds_cap, sizeof(*c->kinds),
           c->nkinds + 1))
    return -ENOMEM;
  c->kinds[c->nkinds].name = strdup(name);
  if (!c->kinds[c->nkinds].name)
    return -ENOMEM;
  c->kinds[c->nkinds].count = c->kinds[c->nkinds].size = 0;
  w->names[i].name = c->kinds[c->nkinds].name;
  w->names[i].index = c->nkinds;
  *out = (int32_t)c->nkinds++;
  return 0;
}

/* Counts one object of size bytes in kind k. */
static void
count(struct walk *w, int32_t k, uint64_t size)
{
  w->c->kinds[k].count++;
  w->c->kinds[k].size += size;
  w->c->count++;
  w->c->size += size;
}

/* ---- types --------------------------------------------------------------- */

static struct type_entry *
type_at(const struct walk *w, size_t idx)
{
  return &w->types[idx >> TYPE_BLOCK_BITS][idx & (TYPE_BLOCK - 1)];
}

/*
 * The entry for the type object at type, read and validated on first use
 * (entries of invalid types are kept too, so garbage is rejected fast).
 * Returns the index, or a negative error that ends the walk.
 */
static int64_t
type_lookup(struct walk *w, pm_addr_t type)
{
  uint32_t idx = set_get(&w->type_index, type);
  uint32_t offs[MAX_TYPE_MEMBERS];
  struct type_entry *e;
  size_t n;
  int err;

  if (idx)
    return idx - 1;
  if (w->ntypes % TYPE_BLOCK == 0) {
    size_t b = w->ntypes / TYPE_BLOCK;
    if (grow((void **)&w->types, &w->blocks_cap, sizeof(*w->types), b + 1))
      return -ENOMEM;
    if (!(w->types[b] = malloc(TYPE_BLOCK * sizeof(**w->types))))
      return -ENOMEM;
  }
  e = type_at(w, w->ntypes);
  memset(e, 0, sizeof(*e));
  w->ntypes++;
  e->addr = type;
  e->kind = e->dict_kind = -1;
  err = pm__type_read(w->py, type, &e->info);
  if (err && pm__walk_fatal(err))
    return err;
  e->valid = err == 0;
  if (e->valid) {
    e->exact_dict = type == w->py->types[PM_T_DICT];
    err = pm__type_members(w->py, type, offs, MAX_TYPE_MEMBERS, &n);
    if (err && pm__walk_fatal(err))
      return err;
    if (err)
      n = 0; /* members unreadable: the instances contribute fewer referents */
    if (n > MAX_TYPE_MEMBERS)
      n = MAX_TYPE_MEMBERS;
    if (n) {
      if (!(e->members = malloc(n * sizeof(*e->members))))
        return -ENOMEM;
      memcpy(e->members, offs, n * sizeof(*e->members));
    }
    e->nmembers = (uint32_t)n;
  }
  if ((err = set_add(&w->type_index, type, (uint32_t)w->ntypes)) < 0)
    return err;
  return (int64_t)w->ntypes - 1;
}

/* ---- finding objects ----------------------------------------------------- */

static int
push(struct walk *w, pm_addr_t obj, uint32_t type)
{
  if (grow((void **)&w->work, &w->work_cap, sizeof(*w->work), w->nwork + 1))
    return -ENOMEM;
  w->work[w->nwork].obj = obj;
  w->work[w->nwork].type = type;
  w->nwork++;
  return 0;
}

/*
 * A pointer some field declares to be an object: queued when it is new and
 * reads as a live object of a valid type.  Anything else is not an object
 * and costs nothing.  Only errors that end the walk come back.
 */
static int
offer(void *arg, pm_addr_t ref)
{
  struct walk *w = arg;
  uint64_t head[2];
  int64_t t;
  int err;

  if ((ref & 7) || ref < MIN_POINTER || set_has(&w->seen, ref))
    return 0;
  err = pm_target_read(w->py->t, ref, head, sizeof(head));
  if (err)
    return pm__walk_fatal(err) ? err : 0;
  if (!pm__refcnt_live(w->py, head[w->py->L->object_refcnt / 8]))
    return 0;
  t = type_lookup(w, head[w->py->L->object_type / 8]);
  if (t < 0)
    return (int)t;
  if (!type_at(w, (size_t)t)->valid)
    return 0;
  if ((err = set_add(&w->seen, ref, 0)) < 0)
    return err;
  w->c->found_referents++;
  return push(w, ref, (uint32_t)t);
}

/* 3.12+: the dicts of static builtin types live in the interpreter. */
static int
offer_static_dict(struct walk *w, pm_addr_t type, uint32_t owner)
{
  int err;

  for (size_t i = 0; i < w->nstatics; i++) {
    if (w->statics[i].type != type)
      continue;
    if ((err = set_add(&w->owners, w->statics[i].dict, owner + 1)) < 0 ||
        (err = offer(w, w->statics[i].dict)))
      return err;
  }
  return 0;
}

static FILE *dbg_dump; /* TEMPORARY */
static int dbg_route;

static int
process(struct walk *w, pm_addr_t obj, uint32_t t)
{
  struct type_entry *e = type_at(w, t);
  uint64_t size;
  pm_addr_t dict;
  int err;

  /* Every object refers to its type; each type is offered once. */
  if (!e->offered) {
    e->offered = 1;
    if ((err = offer(w, e->addr)))
      return err;
  }
  err = pm__object_size(w->py, &e->info, obj, &size);
  if (dbg_dump)
    fprintf(dbg_dump, "%lu %d %s\n", (unsigned long)obj, dbg_route, e->info.name);
  if (err) {
    if (pm__walk_fatal(err))
      return err;
    w->c->skipped++;
    return 0;
  }
  if (e->exact_dict && w->by == PM_CENSUS_BY_KIND) {
    /* Its kind depends on its owner, who may not be found yet. */
    if (grow((void **)&w->dicts, &w->dicts_cap, sizeof(*w->dicts),
             w->ndicts + 1))
      return -ENOMEM;
    w->dicts[w->ndicts].obj = obj;
    w->dicts[w->ndicts].size = size;
    w->ndicts++;
  } else {
    if (e->kind < 0 && (err = kind_index(w, e->info.name, &e->kind)))
      return err;
    count(w, e->kind, size);
  }
  err = pm__referents(w->py, obj, &e->info, e->members, e->nmembers, offer,
                      w, &dict);
  if (err)
    return err;
  if (dict && (err = set_add(&w->owners, dict, t + 1)) < 0)
    return err;
  if (!dict && e->info.walker == PM_WALK_TYPE && w->nstatics &&
      (err = offer_static_dict(w, obj, t)))
    return err;
  return 0;
}

static int
drain(struct walk *w)
{
  int err;

  while (w->nwork > 0) {
    struct work_item it = w->work[--w->nwork];
    if ((err = process(w, it.obj, it.type)))
      return err;
  }
  return 0;
}

/* Route 0: every object on a GC list. */
static int
gc_visit(void *arg, pm_addr_t obj, pm_addr_t type)
{
  struct walk *w = arg;
  int64_t t;
  int err;

  if (set_has(&w->seen, obj))
    return 0;
  if (!type) {
    w->c->skipped++;
    return 0;
  }
  t = type_lookup(w, type);
  if (t < 0)
    return (int)t;
  if (!type_at(w, (size_t)t)->valid) {
    w->c->skipped++;
    return 0;
  }
  if ((err = set_add(&w->seen, obj, 0)) < 0)
    return err;
  w->c->found_gc++;
  if ((err = process(w, obj, (uint32_t)t)))
    return err;
  return drain(w);
}

/* Route 2: what every thread's frames hold. */
static int
frame_visit(void *arg, pm_addr_t ref)
{
  struct walk *w = arg;
  uint64_t before = w->c->found_referents;
  int err;

  if ((err = offer(w, ref)))
    return err;
  w->c->found_frames += w->c->found_referents - before;
  w->c->found_referents = before;
  return drain(w);
}

#ifdef PM_HAVE_OBMALLOC_BLOCKS
/*
 * A refcount that is the address of mapped memory is a pointer: the block
 * holds an array of them (a list's items, say), not an object header.
 */
static int
pointer_like(struct walk *w, uint64_t v)
{
  return v >= MIN_POINTER && pm_maps_find(pm_target_maps(w->py->t), v);
}

/*
 * Route 3: an allocated pymalloc block is an object when, at the offset its
 * type's pre-header gives, it holds a live header of a known type, its GC
 * head says it is untracked (tracked ones came from the GC lists), and the
 * object fits the block.
 */
static int
block_visit(void *arg, pm_addr_t block, unsigned size)
{
  struct walk *w = arg;
  const struct pm_layout *L = w->py->L;
  uint64_t words[6];
  int err;

  if (size < 16)
    return 0;
  err = pm_target_read(w->py->t, block, words,
                       size < sizeof(words) ? size : sizeof(words));
  if (err)
    return pm__walk_fatal(err) ? err : 0;
  for (unsigned off = 0; off + 16 <= size && off <= 32; off += 16) {
    pm_addr_t obj = block + off, type = words[off / 8 + L->object_type / 8];
    uint64_t refcnt = words[off / 8 + L->object_refcnt / 8], need;
    const struct pm_type_info *ti;
    uint32_t idx;
    int64_t t;

    if (!type || (type & 7))
      continue;
    /* Only types already known, or objects already found to be types. */
    idx = set_get(&w->type_index, type);
    if (idx)
      t = idx - 1;
    else if (set_has(&w->seen, type))
      t = type_lookup(w, type);
    else
      continue;
    if (t < 0)
      return (int)t;
    if (!type_at(w, (size_t)t)->valid)
      continue;
    ti = &type_at(w, (size_t)t)->info;
    if (pm__object_presize(w->py, ti, obj) != off)
      continue;
    if ((ti->flags & PM_TPFLAGS_HAVE_GC) && L->gc_head_size == 16 && off >= 16 &&
        (words[off / 8 - 2] != 0 || (words[off / 8 - 1] & ~(uint64_t)3) != 0))
      continue; /* tracked, or not a GC head at all */
    if (set_has(&w->seen, obj))
      return 0;
    if (!pm__refcnt_live(w->py, refcnt) || pointer_like(w, refcnt))
      continue;
    err = pm__object_inline_size(w->py, ti, obj, &need);
    if (err) {
      if (pm__walk_fatal(err))
        return err;
      continue;
    }
    need += off;
    /* pymalloc may keep a shrunk object in its larger block (realloc). */
    if (need > size ||
        size > need + need / 3 + 16 + (uint64_t)ti->itemsize)
      continue;
    if ((err = set_add(&w->seen, obj, 0)) < 0)
      return err;
    w->c->found_blocks++;
    if ((err = push(w, obj, (uint32_t)t)))
      return err;
    return drain(w);
  }
  return 0;
}
#endif

/* 3.12+: which dict is each static builtin type's namespace. */
static int
read_static_dicts(struct walk *w)
{
  const struct pm_layout *L = w->py->L;
  pm_addr_t interps[MAX_INTERPRETERS];
  int n, err;

  if (L->interp_static_types < 0 || L->statictype_size <= 0)
    return 0;
  n = pm__interpreters(w->py, interps, MAX_INTERPRETERS);
  if (n < 0)
    return pm__walk_fatal(n) ? n : 0;
  for (int i = 0; i < n; i++) {
    int64_t count = L->interp_static_types_bytes / L->statictype_size;
    for (int64_t j = 0; j < count; j++) {
      pm_addr_t s = interps[i] + (pm_addr_t)L->interp_static_types +
                    (pm_addr_t)(j * L->statictype_size);
      uint64_t type, dict;
      if ((err = pm_target_read_u64(w->py->t, s + L->statictype_type,
                                    &type)) ||
          (err = pm_target_read_u64(w->py->t, s + L->statictype_dict, &dict)))
        return pm__walk_fatal(err) ? err : 0;
      if (!type || !dict)
        continue;
      if (grow((void **)&w->statics, &w->statics_cap, sizeof(*w->statics),
               w->nstatics + 1))
        return -ENOMEM;
      w->statics[w->nstatics].type = type;
      w->statics[w->nstatics].dict = dict;
      w->nstatics++;
    }
  }
  return 0;
}

/* Gives every exact dict its heapy kind, now that all owners are known. */
static int
classify_dicts(struct walk *w)
{
  char name[PM_KIND_NAME_MAX + 16];
  int32_t no_owner = -1;
  int err;

  for (size_t i = 0; i < w->ndicts; i++) {
    uint32_t owner = set_get(&w->owners, w->dicts[i].obj);
    int32_t k;

    if (owner) {
      struct type_entry *e = type_at(w, owner - 1);
      if (e->dict_kind < 0) {
        snprintf(name, sizeof(name), "dict of %s", e->info.name);
        if ((err = kind_index(w, name, &e->dict_kind)))
          return err;
      }
      k = e->dict_kind;
    } else {
      if (no_owner < 0 && (err = kind_index(w, "dict (no owner)", &no_owner)))
        return err;
      k = no_owner;
    }
    count(w, k, w->dicts[i].size);
  }
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

static int
take(struct walk *w)
{
  struct pm_gc_stats st;
  struct pm_frames_stats fst;
  int err;

  if ((err = set_grow(&w->seen)) || (err = set_grow(&w->type_index)) ||
      (err = set_grow(&w->owners)))
    return err;
  if ((err = read_static_dicts(w)))
    return err;
  if (getenv("PMPEEK_DEBUG_DUMP"))
    dbg_dump = fopen(getenv("PMPEEK_DEBUG_DUMP"), "w");
  dbg_route = 0;
  err = pm__gc_walk(w->py, gc_visit, w, &st);
  w->c->broken_lists += st.broken_lists;
  w->c->interpreters = st.interpreters;
  if (err)
    return err;
  dbg_route = 2;
  err = pm__frames_walk(w->py, frame_visit, w, &fst);
  w->c->broken_lists += fst.broken_chains;
  if (err)
    return err;
  dbg_route = 3;
#ifdef PM_HAVE_OBMALLOC_BLOCKS
  if ((err = pm__obmalloc_foreach_block(w->py, block_visit, w)) &&
      pm__walk_fatal(err))
    return err;
  w->c->blocks_walked = err == 0;
#endif
  if ((err = drain(w)))
    return err;
  if (dbg_dump)
    fclose(dbg_dump);
  return classify_dicts(w);
}

int
pm_census_take(struct pm_census *c, struct pm_python *py,
               enum pm_census_by by)
{
  struct walk w = { .c = c, .py = py, .by = by };
  int err;

  pm_census_init(c);
  w.type_index.has_vals = w.owners.has_vals = 1;
  err = take(&w);
  set_free(&w.seen);
  set_free(&w.type_index);
  set_free(&w.owners);
  for (size_t i = 0; i < w.ntypes; i++)
    free(type_at(&w, i)->members);
  for (size_t b = 0; b * TYPE_BLOCK < w.ntypes; b++)
    free(w.types[b]);
  free(w.types);
  free(w.work);
  free(w.dicts);
  free(w.statics);
  free(w.names);
  if (err) {
    pm_census_release(c);
    return err;
  }
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
