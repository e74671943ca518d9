/* SPDX-License-Identifier: MIT */
/* census.c -- partition every object of a target by kind */
#include <config.h>

/*
 * Objects are found by four routes, each object counted once (the seen
 * set): the GC lists (every tracked object); the referents of every object
 * found, read from its type's layout (most untracked objects: str, int,
 * float, bytes, untracked tuples and dicts); the frames of every thread
 * (what only a local variable holds); and, once everything reachable is
 * known, the allocated pymalloc blocks (what only C state holds).  Found
 * objects are queued and processed in rounds sorted by address, so that
 * the walk reads the heap in a few sweeps rather than in random order.
 * Dicts are given their kind at the end, when every owner is known.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpython/frames.h"
#include "cpython/gc.h"
#include "cpython/object.h"
#include "cpython/obmalloc.h"
#include "cpython/referents.h"
#include "pmpeek/census.h"
#include "pmpeek/error.h"

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

/* Target address -> non-zero value, open addressing; key 0 is empty. */
struct addr_map {
  uint64_t *keys;
  uint32_t *vals;
  size_t cap, used;
};

/*
 * The set of objects seen: one bitmap per MiB of address space that holds
 * any (a bit per 8-byte granule, objects being 8-aligned), found through an
 * open-addressing table of those MiB.  Objects cluster in arenas and heap
 * segments, so the bitmaps stay a small fraction of the heap, and a lookup
 * touches cache-resident memory rather than a random slot of a table as
 * big as the heap's object count.
 */
#define SEEN_CHUNK_BITS 20
#define SEEN_GRANULE_BITS 3
#define SEEN_WORDS ((size_t)1 << (SEEN_CHUNK_BITS - SEEN_GRANULE_BITS - 6))

struct seen_chunk {
  uint64_t key; /* (address >> SEEN_CHUNK_BITS) + 1; 0 = empty slot */
  uint64_t *bits;
};

struct seen_set {
  struct seen_chunk *chunks;
  size_t cap, used;
  size_t last; /* slot of the last chunk hit, a cheap first guess */
};

/*
 * The work queue holds addresses (8-aligned) with CHECKED in bit 0 for
 * objects already known to be objects (from a GC list, a frame or a
 * block); the others are pointers offered by a field, checked when their
 * round comes.
 */
#define CHECKED 1u
#define RECENT 4096

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
  unsigned flags;

  struct type_entry **types; /* blocks of TYPE_BLOCK entries */
  size_t ntypes, blocks_cap;
  struct addr_map type_index; /* type address -> index + 1 */
  size_t last_type;

  struct seen_set seen;   /* every object counted or queued */
  struct addr_map owners; /* dict address -> owner's type index + 1 */
  /*
   * The next round's work, and the round being processed (sorted by
   * address, so that a round reads the heap once, in order, instead of
   * jumping around it and thrashing the target's read cache).
   */
  uint64_t *work, *round, *scratch;
  size_t nwork, work_cap, round_cap, scratch_cap;
  pm_addr_t recent[RECENT]; /* pointers queued lately, by hash */
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

/* ---- address maps and the seen set --------------------------------------- */

static size_t
map_slot(const struct addr_map *s, pm_addr_t a)
{
  size_t mask = s->cap - 1, i = (size_t)(hash_addr(a) >> 20) & mask;

  while (s->keys[i] && s->keys[i] != a)
    i = (i + 1) & mask;
  return i;
}

static int
map_grow(struct addr_map *s)
{
  size_t ncap = s->cap ? s->cap * 2 : 1 << 10;
  struct addr_map n = { .cap = ncap };

  n.keys = calloc(ncap, sizeof(*n.keys));
  if (!n.keys)
    return -ENOMEM;
  if (!(n.vals = calloc(ncap, sizeof(*n.vals)))) {
    free(n.keys);
    return -ENOMEM;
  }
  for (size_t i = 0; i < s->cap; i++) {
    size_t j;
    if (!s->keys[i])
      continue;
    j = map_slot(&n, s->keys[i]);
    n.keys[j] = s->keys[i];
    n.vals[j] = s->vals[i];
  }
  n.used = s->used;
  free(s->keys);
  free(s->vals);
  *s = n;
  return 0;
}

/* 0 when a is absent, else its value. */
static uint32_t
map_get(const struct addr_map *s, pm_addr_t a)
{
  size_t i;

  if (!s->cap)
    return 0;
  i = map_slot(s, a);
  return s->keys[i] == a ? s->vals[i] : 0;
}

/* Adds a (with val); 1 when it was new, 0 when present, or -ENOMEM. */
static int
map_add(struct addr_map *s, pm_addr_t a, uint32_t val)
{
  size_t i;
  int err;

  if ((s->used + 1) * 2 > s->cap && (err = map_grow(s)))
    return err;
  i = map_slot(s, a);
  if (s->keys[i] == a)
    return 0;
  s->keys[i] = a;
  s->vals[i] = val;
  s->used++;
  return 1;
}

static void
map_free(struct addr_map *s)
{
  free(s->keys);
  free(s->vals);
  s->keys = NULL;
  s->vals = NULL;
  s->cap = s->used = 0;
}

static size_t
seen_slot(const struct seen_set *s, uint64_t key)
{
  size_t mask = s->cap - 1, i = (size_t)(hash_addr(key << 3) >> 32) & mask;

  while (s->chunks[i].key && s->chunks[i].key != key)
    i = (i + 1) & mask;
  return i;
}

/* The chunk's bitmap, or NULL when no object of that MiB was added. */
static uint64_t *
seen_bits(struct seen_set *s, pm_addr_t a)
{
  uint64_t key = (a >> SEEN_CHUNK_BITS) + 1;
  size_t i;

  if (s->cap && s->chunks[s->last].key == key)
    return s->chunks[s->last].bits;
  if (!s->cap)
    return NULL;
  i = seen_slot(s, key);
  if (!s->chunks[i].key)
    return NULL;
  s->last = i;
  return s->chunks[i].bits;
}

static int
seen_has(struct seen_set *s, pm_addr_t a)
{
  uint64_t *bits = seen_bits(s, a);
  size_t g = (size_t)(a >> SEEN_GRANULE_BITS) &
             (((size_t)1 << (SEEN_CHUNK_BITS - SEEN_GRANULE_BITS)) - 1);

  return bits && (bits[g >> 6] >> (g & 63) & 1);
}

static int
seen_grow(struct seen_set *s)
{
  size_t ncap = s->cap ? s->cap * 2 : 256;
  struct seen_chunk *n = calloc(ncap, sizeof(*n));
  struct seen_set t = { .chunks = n, .cap = ncap };

  if (!n)
    return -ENOMEM;
  for (size_t i = 0; i < s->cap; i++)
    if (s->chunks[i].key)
      n[seen_slot(&t, s->chunks[i].key)] = s->chunks[i];
  free(s->chunks);
  s->chunks = n;
  s->cap = ncap;
  s->last = 0;
  return 0;
}

/* Adds a; 1 when it was new, 0 when present, or -ENOMEM. */
static int
seen_add(struct seen_set *s, pm_addr_t a)
{
  uint64_t key = (a >> SEEN_CHUNK_BITS) + 1, *bits = seen_bits(s, a), bit;
  size_t g = (size_t)(a >> SEEN_GRANULE_BITS) &
             (((size_t)1 << (SEEN_CHUNK_BITS - SEEN_GRANULE_BITS)) - 1);
  int err;

  if (!bits) {
    size_t i;
    if ((s->used + 1) * 2 > s->cap && (err = seen_grow(s)))
      return err;
    i = seen_slot(s, key);
    if (!(bits = calloc(SEEN_WORDS, sizeof(*bits))))
      return -ENOMEM;
    s->chunks[i].key = key;
    s->chunks[i].bits = bits;
    s->used++;
    s->last = i;
  }
  bit = (uint64_t)1 << (g & 63);
  if (bits[g >> 6] & bit)
    return 0;
  bits[g >> 6] |= bit;
  return 1;
}

static void
seen_free(struct seen_set *s)
{
  for (size_t i = 0; i < s->cap; i++)
    free(s->chunks[i].bits);
  free(s->chunks);
  memset(s, 0, sizeof(*s));
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
  uint32_t idx, offs[MAX_TYPE_MEMBERS];
  struct type_entry *e;
  size_t n;
  int err;

  /* Objects come in runs of one type: try the last one first. */
  if (w->ntypes && w->last_type < w->ntypes &&
      type_at(w, w->last_type)->addr == type)
    return (int64_t)w->last_type;
  idx = map_get(&w->type_index, type);
  if (idx) {
    w->last_type = idx - 1;
    return idx - 1;
  }
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
  if ((err = map_add(&w->type_index, type, (uint32_t)w->ntypes)) < 0)
    return err;
  return (int64_t)w->ntypes - 1;
}

/* ---- finding objects ----------------------------------------------------- */

static int
push(struct walk *w, uint64_t item)
{
  if (w->nwork == w->work_cap &&
      grow((void **)&w->work, &w->work_cap, sizeof(*w->work), w->nwork + 1))
    return -ENOMEM;
  w->work[w->nwork++] = item;
  return 0;
}

/*
 * A pointer some field declares to be an object: queued, to be checked in
 * the next round (see check()).  Only errors that end the walk come back.
 */
static int
offer(void *arg, pm_addr_t ref)
{
  struct walk *w = arg;
  pm_addr_t *recent;

  if ((ref & 7) || ref < MIN_POINTER || seen_has(&w->seen, ref))
    return 0;
  /*
   * Until its round comes a pointer is not in the seen set: a small
   * filter keeps the queue from holding None a million times.
   */
  recent = &w->recent[(hash_addr(ref) >> 40) & (RECENT - 1)];
  if (*recent == ref)
    return 0;
  *recent = ref;
  return push(w, ref);
}

/*
 * Whether the queued pointer ref is a new object: it must read as a live
 * object of a valid type.  Anything else is not an object and costs
 * nothing.  Sets *t; returns 1 for an object, 0 if not, or an error that
 * ends the walk.
 */
static int
check(struct walk *w, pm_addr_t ref, uint32_t *t)
{
  uint64_t head[2];
  int64_t i;
  int err;

  if (seen_has(&w->seen, ref))
    return 0;
  err = pm_target_read(w->py->t, ref, head, sizeof(head));
  if (err)
    return pm__walk_fatal(err) ? err : 0;
  if (!pm__refcnt_live(w->py, head[w->py->L->object_refcnt / 8]))
    return 0;
  i = type_lookup(w, head[w->py->L->object_type / 8]);
  if (i < 0)
    return (int)i;
  if (!type_at(w, (size_t)i)->valid)
    return 0;
  if ((err = seen_add(&w->seen, ref)) < 0)
    return err;
  *t = (uint32_t)i;
  return 1;
}

/* 3.12+: the dicts of static builtin types live in the interpreter. */
static int
offer_static_dict(struct walk *w, pm_addr_t type, uint32_t owner)
{
  int err;

  for (size_t i = 0; i < w->nstatics; i++) {
    if (w->statics[i].type != type)
      continue;
    if ((err = map_add(&w->owners, w->statics[i].dict, owner + 1)) < 0 ||
        (err = offer(w, w->statics[i].dict)))
      return err;
  }
  return 0;
}

static int
process(struct walk *w, pm_addr_t obj, uint32_t t)
{
  struct type_entry *e = type_at(w, t);
  uint64_t size;
  pm_addr_t dict;
  int64_t t2;
  int err;

  /* Every object refers to its type; each type is offered once. */
  if (!e->offered) {
    e->offered = 1;
    if ((err = offer(w, e->addr)))
      return err;
  }
  err = pm__object_size(w->py, &e->info, obj, &size);
  if (err) {
    if (pm__walk_fatal(err))
      return err;
    w->c->skipped++;
    return 0;
  }
  if (e->exact_dict && !(w->flags & PM_CENSUS_BY_TYPE)) {
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
  /*
   * A type object found is a type its instances may be known by; the
   * allocator's blocks are only believed for types known so.
   */
  if (e->info.sizer == PM_SIZE_TYPE && (t2 = type_lookup(w, obj)) < 0)
    return (int)t2;
  err = pm__referents(w->py, obj, &e->info, e->members, e->nmembers, offer,
                      w, &dict);
  if (err)
    return err;
  if (dict && (err = map_add(&w->owners, dict, t + 1)) < 0)
    return err;
  if (!dict && e->info.walker == PM_WALK_TYPE && w->nstatics &&
      (err = offer_static_dict(w, obj, t)))
    return err;
  return 0;
}

/*
 * Orders a round by MiB of address space (LSD radix on address bits 20-43,
 * two passes).  Within a MiB the order does not matter: its 16 chunks of
 * the target's read cache are read once while the round is there.
 */
#define SORT_SHIFT 20
#define SORT_BITS 12

static int
sort_round(struct walk *w, uint64_t *v, size_t n)
{
  size_t counts[1 << SORT_BITS];
  uint64_t *src = v, *dst;
  const uint64_t mask = (1u << SORT_BITS) - 1;

  if (n < 2)
    return 0;
  if (n < 64) {
    /* Short rounds (a chain of objects gives many): insertion sort. */
    for (size_t i = 1; i < n; i++) {
      uint64_t x = v[i];
      size_t j = i;
      for (; j > 0 && v[j - 1] > x; j--)
        v[j] = v[j - 1];
      v[j] = x;
    }
    return 0;
  }
  if (grow((void **)&w->scratch, &w->scratch_cap, sizeof(*w->scratch), n))
    return -ENOMEM;
  dst = w->scratch;
  for (unsigned shift = SORT_SHIFT; shift < SORT_SHIFT + 2 * SORT_BITS;
       shift += SORT_BITS) {
    uint64_t *t;
    size_t sum = 0;
    memset(counts, 0, sizeof(counts));
    for (size_t i = 0; i < n; i++)
      counts[(src[i] >> shift) & mask]++;
    if (counts[(src[0] >> shift) & mask] == n)
      continue; /* every key has this digit */
    for (size_t d = 0; d <= mask; d++) {
      size_t c = counts[d];
      counts[d] = sum;
      sum += c;
    }
    for (size_t i = 0; i < n; i++)
      dst[counts[(src[i] >> shift) & mask]++] = src[i];
    t = src, src = dst, dst = t;
  }
  if (src != v)
    memcpy(v, src, n * sizeof(*v));
  return 0;
}

/* The type of an object already checked, read again (a cache hit now). */
static int
checked_type(struct walk *w, pm_addr_t obj, uint32_t *t)
{
  uint64_t type;
  int64_t i;
  int err;

  if ((err = pm_target_read_u64(w->py->t, obj + w->py->L->object_type,
                                &type)))
    return pm__walk_fatal(err) ? err : 0;
  if ((i = type_lookup(w, type)) < 0)
    return (int)i;
  if (!type_at(w, (size_t)i)->valid)
    return 0;
  *t = (uint32_t)i;
  return 1;
}

/* Checks (unless known) and processes one queued item. */
static int
handle(struct walk *w, uint64_t item)
{
  pm_addr_t obj = item & ~(uint64_t)CHECKED;
  uint32_t t = 0;
  int err;

  if (item & CHECKED)
    err = checked_type(w, obj, &t);
  else if ((err = check(w, obj, &t)) > 0)
    w->c->found_referents++;
  if (err <= 0)
    return err; /* not an object, or offered again and seen */
  return process(w, obj, t);
}

/*
 * Processes the queued work in rounds until none is left: each round in
 * address order, which is what makes the walk read the heap in sweeps.
 */
#define SMALL_ROUND 4096

static int
drain(struct walk *w)
{
  int err;

  while (w->nwork > 0) {
    uint64_t *r = w->work;
    size_t n = w->nwork, cap = w->work_cap;

    /* A short queue (a chain of objects, say) is cheaper depth-first. */
    if (n < SMALL_ROUND) {
      if ((err = handle(w, w->work[--w->nwork])))
        return err;
      continue;
    }
    /* This round's items; the next round's start empty. */
    w->work = w->round, w->work_cap = w->round_cap, w->nwork = 0;
    w->round = r, w->round_cap = cap;
    if ((err = sort_round(w, r, n)))
      return err;
    for (size_t i = 0; i < n; i++)
      if ((err = handle(w, r[i])))
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

  if (seen_has(&w->seen, obj))
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
  if ((err = seen_add(&w->seen, obj)) < 0)
    return err;
  w->c->found_gc++;
  return push(w, obj | CHECKED);
}

/* Route 2: what every thread's frames hold, checked at once. */
static int
frame_visit(void *arg, pm_addr_t ref)
{
  struct walk *w = arg;
  uint32_t t;
  int err;

  if ((ref & 7) || ref < MIN_POINTER)
    return 0;
  if ((err = check(w, ref, &t)) <= 0)
    return err;
  w->c->found_frames++;
  return push(w, ref | CHECKED);
}

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

  /* Py_DEBUG's hooks put 16 bytes before the data and 8 after it. */
  if (w->py->info.debug_build) {
    if (size < 24 + 16)
      return 0;
    block += 16;
    size -= 24;
  }
  if (size < 16)
    return 0;
  /* Most blocks hold objects found already: no need to read them. */
  for (unsigned off = 0; off + 16 <= size && off <= 32; off += 16)
    if (seen_has(&w->seen, block + off))
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
    /* Only types already known: every type object found is registered. */
    idx = map_get(&w->type_index, type);
    if (!idx)
      continue;
    t = idx - 1;
    if (!type_at(w, (size_t)t)->valid)
      continue;
    ti = &type_at(w, (size_t)t)->info;
    if (pm__object_presize(w->py, ti, obj) != off)
      continue;
    if ((ti->flags & PM_TPFLAGS_HAVE_GC) && L->gc_head_size == 16 &&
        off >= 16 &&
        (words[off / 8 - 2] != 0 || (words[off / 8 - 1] & ~(uint64_t)3) != 0))
      continue; /* tracked, or not a GC head at all */
    if (seen_has(&w->seen, obj))
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
    if ((err = seen_add(&w->seen, obj)) < 0)
      return err;
    w->c->found_blocks++;
    return push(w, obj | CHECKED);
  }
  return 0;
}

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
  for (int i = 0; i < n * 2; i++) {
    /* The builtin types, then (3.13+) the static types of extensions. */
    int64_t off = i % 2 ? L->interp_static_ext_types : L->interp_static_types;
    int64_t bytes = i % 2 ? L->interp_static_ext_types_bytes
                          : L->interp_static_types_bytes;
    int64_t count = off >= 0 && bytes > 0 ? bytes / L->statictype_size : 0;
    for (int64_t j = 0; j < count; j++) {
      pm_addr_t s = interps[i / 2] + (pm_addr_t)off +
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
    uint32_t owner = map_get(&w->owners, w->dicts[i].obj);
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

  if ((err = seen_grow(&w->seen)) || (err = map_grow(&w->type_index)) ||
      (err = map_grow(&w->owners)))
    return err;
  if ((err = read_static_dicts(w)))
    return err;
  err = pm__gc_walk(w->py, gc_visit, w, &st);
  w->c->broken_lists += st.broken_lists;
  w->c->interpreters = st.interpreters;
  if (err)
    return err;
  err = pm__frames_walk(w->py, frame_visit, w, &fst);
  w->c->broken_lists += fst.broken_chains;
  if (err || (err = drain(w)))
    return err;
  /* The blocks are searched once everything reachable is known. */
  if (!(w->flags & PM_CENSUS_NO_BLOCKS)) {
    /* Without the allocator's state this route is lost, not the census. */
    if ((err = pm__obmalloc_foreach_block(w->py, block_visit, w)) &&
        pm__walk_fatal(err))
      return err;
    w->c->blocks_walked = err == 0;
  }
  if ((err = drain(w)))
    return err;
  return classify_dicts(w);
}

int
pm_census_take(struct pm_census *c, struct pm_python *py, unsigned flags)
{
  struct walk w = { .c = c, .py = py, .flags = flags };
  int err;

  pm_census_init(c);
  err = take(&w);
  seen_free(&w.seen);
  map_free(&w.type_index);
  map_free(&w.owners);
  for (size_t i = 0; i < w.ntypes; i++)
    free(type_at(&w, i)->members);
  for (size_t b = 0; b * TYPE_BLOCK < w.ntypes; b++)
    free(w.types[b]);
  free(w.types);
  free(w.work);
  free(w.round);
  free(w.scratch);
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
