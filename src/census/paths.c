/* SPDX-License-Identifier: MIT */
/* paths.c -- why objects of a kind are alive: paths from roots, referrers */
#include <config.h>

/*
 * One breadth-first walk from the roots over every object's referents
 * (pm__referents(), unlabelled, so the walk costs what a census does),
 * then from the objects of the GC lists no root reached.  Each object
 * found is logged with its parent: the object it was first found from, or
 * a tag naming its root.  Since the walk goes level by level, following
 * parents from any object gives a shortest path from a root; the labels of
 * its few steps are found afterwards, by walking each parent's referents
 * again with labels (pm__referents_labelled()) until the child turns up.
 * Objects of the kind's type are candidates, kept in the order found; the
 * edges into them are logged with their referrer's type for heapy's
 * byrcs.  Dicts are given their kind at the end, when every owner is known.
 *
 * Memory is what decides how big a heap this can walk: the objects seen
 * are a bitmap (census/addrset.h), and the parents, owners and edges are
 * logs appended to, 16 or 24 bytes an entry, searched only at the end.
 */

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "census/addrset.h"
#include "cpython/gc.h"
#include "cpython/object.h"
#include "cpython/referents.h"
#include "cpython/roots.h"
#include "pmpeek/error.h"
#include "pmpeek/paths.h"

/* Pointers below this are never objects (None included, it is higher). */
#define MIN_POINTER 4096
/* Members gathered per type; a class with more keeps only these. */
#define MAX_TYPE_MEMBERS 1024
/* Passes over the log of parents before it is sorted: follow_parents(). */
#define SCAN_PASSES 64
/* A path longer than this is a loop of parents: a bug, cut short. */
#define MAX_STEPS 100000
#define TEXT_MAX 256

/*
 * Parent words: an object's address (8-aligned), or a tag in the low bits:
 * a root (its index above the tag) or an object found on a GC list.
 */
#define TAG_ROOT 1
#define TAG_GC 2
#define TAG_MASK 7

/* Referrer "types" of what roots hold: no object refers to them. */
#define PSEUDO_INTERP UINT32_MAX
#define PSEUDO_THREAD (UINT32_MAX - 1)
#define PSEUDO_FRAME (UINT32_MAX - 2)

/* A logged pair: (object, its parent word) or (dict, owner type + 1). */
struct pair {
  uint64_t a, b;
};

static int
pair_cmp(const void *x, const void *y)
{
  uint64_t a = ((const struct pair *)x)->a, b = ((const struct pair *)y)->a;
  return (a > b) - (a < b);
}

/* ---- the walk ----------------------------------------------------------- */

struct tinfo {
  pm_addr_t addr;
  int valid;
  int candidate; /* instances may be of the kind searched */
  int exact_dict;
  uint32_t *members;
  uint32_t nmembers;
  char *dict_of; /* "dict of <name>", made when first needed */
  struct pm_type_info info;
};

struct cand {
  pm_addr_t obj;
  uint32_t type;
  uint8_t reachable; /* found from a root, not from a GC list */
};

/* An edge into a candidate: its referrer's type, and the referrer. */
struct edge {
  pm_addr_t to;
  pm_addr_t from;
  uint32_t rtype; /* a type index, or PSEUDO_* */
};

struct walk {
  struct pm_python *py;
  const char *kind;
  int dict_kind;          /* "dict of X" or "dict (no owner)": by owner */
  const char *owner_name; /* X; NULL for "dict (no owner)" */

  struct pm_addr_set seen; /* every object found */
  struct pm_addr_set cset; /* the candidates among them */
  struct pair *parents;    /* (object, parent word), in the order found */
  size_t nparents, parents_cap;
  struct pair *owners; /* (dict, its owner's type index + 1) */
  size_t nowners, owners_cap;
  struct pm_addr_map tindex; /* type object -> index + 1 */
  struct tinfo **types;
  size_t ntypes, types_cap;
  struct cand *cands; /* in the order found: shortest paths first */
  size_t ncands, cands_cap;
  uint32_t *by_addr; /* at the end: candidates by address */
  struct edge *edges;
  size_t nedges, edges_cap;
  uint64_t *cur, *next; /* this level of the walk, and the next */
  size_t ncur, cur_cap, nnext, next_cap;
  uint64_t *scratch; /* for sorting a level */
  size_t scratch_cap;
  struct pm_root *roots;
  size_t nroots, roots_cap;

  int from_gc;    /* the walk from the GC lists: nothing is reachable */
  pm_addr_t from; /* the object whose referents are being visited */
  uint32_t from_type;
  uint64_t objects, skipped;
};

/*
 * The index of the type object at type, read and checked on first use
 * (invalid ones are kept too, so garbage is rejected fast); or a negative
 * error that ends the walk.
 */
static int64_t
type_lookup(struct walk *w, pm_addr_t type)
{
  uint32_t offs[MAX_TYPE_MEMBERS];
  uint64_t *idx = pm__amap_find(&w->tindex, type);
  struct tinfo *t;
  size_t n;
  int err;

  if (idx)
    return (int64_t)*idx - 1;
  if (pm__array_grow((void **)&w->types, &w->types_cap, sizeof(*w->types),
                     w->ntypes + 1)
      || !(t = calloc(1, sizeof(*t))))
    return -ENOMEM;
  w->types[w->ntypes++] = t;
  t->addr = type;
  err = pm__type_read(w->py, type, &t->info);
  if (err && pm__walk_fatal(err))
    return err;
  t->valid = err == 0;
  if (t->valid) {
    t->exact_dict = type == w->py->types[PM_T_DICT];
    t->candidate
        = w->dict_kind ? t->exact_dict : strcmp(t->info.name, w->kind) == 0;
    err = pm__type_members(w->py, type, offs, MAX_TYPE_MEMBERS, &n);
    if (err && pm__walk_fatal(err))
      return err;
    if (err)
      n = 0;
    if (n > MAX_TYPE_MEMBERS)
      n = MAX_TYPE_MEMBERS;
    if (n) {
      if (!(t->members = malloc(n * sizeof(*t->members))))
        return -ENOMEM;
      memcpy(t->members, offs, n * sizeof(*t->members));
    }
    t->nmembers = (uint32_t)n;
  }
  if ((err = pm__amap_add(&w->tindex, type, w->ntypes)) < 0)
    return err;
  return (int64_t)w->ntypes - 1;
}

/*
 * Whether ref is an object: a live header of a valid type.  Returns 1 (*t
 * its type index), 0 when it is not one, or an error that ends the walk.
 */
static int
check(struct walk *w, pm_addr_t ref, uint32_t *t)
{
  uint64_t head[2];
  int64_t i;
  int err;

  if ((ref & 7) || ref < MIN_POINTER)
    return 0;
  err = pm_target_read(w->py->t, ref, head, sizeof(head));
  if (err)
    return pm__walk_fatal(err) ? err : 0;
  if (!pm__refcnt_live(w->py, head[w->py->L->object_refcnt / 8]))
    return 0;
  /* Not a header at all (e.g. a thread state a frame points back to). */
  if (head[w->py->L->object_type / 8] < MIN_POINTER
      || (head[w->py->L->object_type / 8] & 7))
    return 0;
  if ((i = type_lookup(w, head[w->py->L->object_type / 8])) < 0)
    return (int)i;
  if (!w->types[i]->valid)
    return 0;
  *t = (uint32_t)i;
  return 1;
}

/* A new object, first found from parent: queued for the next level. */
static int
found(struct walk *w, pm_addr_t obj, uint32_t t, uint64_t parent)
{
  int err;

  if ((err = pm__set_add(&w->seen, obj)) <= 0)
    return err;
  if (pm__array_grow((void **)&w->next, &w->next_cap, sizeof(*w->next),
                     w->nnext + 1)
      || pm__array_grow((void **)&w->parents, &w->parents_cap,
                        sizeof(*w->parents), w->nparents + 1))
    return -ENOMEM;
  w->next[w->nnext++] = obj;
  w->parents[w->nparents].a = obj;
  w->parents[w->nparents].b = parent;
  w->nparents++;
  if (!w->types[t]->candidate)
    return 0;
  if (pm__array_grow((void **)&w->cands, &w->cands_cap, sizeof(*w->cands),
                     w->ncands + 1))
    return -ENOMEM;
  w->cands[w->ncands].obj = obj;
  w->cands[w->ncands].type = t;
  w->cands[w->ncands].reachable = !w->from_gc;
  w->ncands++;
  return pm__set_add(&w->cset, obj) < 0 ? -ENOMEM : 0;
}

/* Records that rtype (from) refers to obj, when obj is a candidate. */
static int
edge(struct walk *w, pm_addr_t obj, uint32_t rtype, pm_addr_t from)
{
  if (!pm__set_has(&w->cset, obj))
    return 0;
  if (pm__array_grow((void **)&w->edges, &w->edges_cap, sizeof(*w->edges),
                     w->nedges + 1))
    return -ENOMEM;
  w->edges[w->nedges].to = obj;
  w->edges[w->nedges].rtype = rtype;
  w->edges[w->nedges].from = from;
  w->nedges++;
  return 0;
}

static int
visit(void *arg, pm_addr_t ref)
{
  struct walk *w = arg;
  uint32_t t;
  int err;

  if ((ref & 7) || ref < MIN_POINTER)
    return 0;
  if (!pm__set_has(&w->seen, ref)) {
    if ((err = check(w, ref, &t)) <= 0)
      return err;
    if ((err = found(w, ref, t, w->from)))
      return err;
  }
  return w->ncands ? edge(w, ref, w->from_type, w->from) : 0;
}

static uint32_t
root_referrer(enum pm_root_kind k)
{
  switch (k) {
  case PM_ROOT_THREAD:
    return PSEUDO_THREAD;
  case PM_ROOT_FRAME_LOCAL:
  case PM_ROOT_FRAME_OTHER:
    return PSEUDO_FRAME;
  default:
    return PSEUDO_INTERP;
  }
}

static int
root_visit(void *arg, const struct pm_root *root)
{
  struct walk *w = arg;
  uint32_t t;
  int err;

  if (!pm__set_has(&w->seen, root->obj)) {
    if ((err = check(w, root->obj, &t)) <= 0)
      return err;
    if (pm__array_grow((void **)&w->roots, &w->roots_cap, sizeof(*w->roots),
                       w->nroots + 1))
      return -ENOMEM;
    w->roots[w->nroots] = *root;
    if ((err = found(w, root->obj, t, (uint64_t)w->nroots << 3 | TAG_ROOT)))
      return err;
    w->nroots++;
  }
  /* 3.8-3.10: frames are objects, and the referrers of what they hold. */
  if (w->py->L->iframe_size <= 0 && root_referrer(root->kind) == PSEUDO_FRAME)
    return 0;
  return w->ncands ? edge(w, root->obj, root_referrer(root->kind), 0) : 0;
}

static int
gc_visit(void *arg, pm_addr_t obj, pm_addr_t type)
{
  struct walk *w = arg;
  uint32_t t;
  int err;

  (void)type;
  if (pm__set_has(&w->seen, obj))
    return 0;
  if ((err = check(w, obj, &t)) < 0)
    return err;
  if (!err) {
    w->skipped++;
    return 0;
  }
  return found(w, obj, t, TAG_GC);
}

static int
cmp_u64(const void *a, const void *b)
{
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

static int
process(struct walk *w, pm_addr_t obj)
{
  uint64_t type;
  pm_addr_t dict;
  int64_t t;
  int err;

  if ((err = pm_target_read_u64(w->py->t, obj + w->py->L->object_type, &type)))
    return pm__walk_fatal(err) ? err : 0;
  if ((t = type_lookup(w, type)) < 0)
    return (int)t;
  if (!w->types[t]->valid) {
    w->skipped++;
    return 0;
  }
  w->objects++;
  w->from = obj;
  w->from_type = (uint32_t)t;
  /* Every object refers to its type. */
  if ((err = visit(w, type)))
    return err;
  err = pm__referents(w->py, obj, &w->types[t]->info, w->types[t]->members,
                      w->types[t]->nmembers, visit, w, &dict);
  if (err)
    return err;
  if (dict) {
    if (pm__array_grow((void **)&w->owners, &w->owners_cap, sizeof(*w->owners),
                       w->nowners + 1))
      return -ENOMEM;
    w->owners[w->nowners].a = dict;
    w->owners[w->nowners].b = (uint64_t)t + 1;
    w->nowners++;
  }
  return 0;
}

/*
 * Orders a level by MiB of address space (LSD radix on address bits
 * 20-43, two passes), as census.c orders its rounds: within a MiB the
 * order does not matter to the target's read cache.
 */
#define SORT_SHIFT 20
#define SORT_BITS 12

static int
sort_level(struct walk *w, uint64_t *v, size_t n)
{
  return pm__sort_addrs(v, n, SORT_SHIFT, SORT_SHIFT + 2 * SORT_BITS, SORT_BITS,
                        &w->scratch, &w->scratch_cap);
}

/*
 * Processes level after level until none is left.  Each level in address
 * order, so that it reads the heap in one sweep; the order inside a level
 * changes no path's length.
 */
static int
drain(struct walk *w)
{
  int err;

  while (w->nnext) {
    uint64_t *t = w->cur;
    size_t tc = w->cur_cap;

    w->cur = w->next, w->cur_cap = w->next_cap, w->ncur = w->nnext;
    w->next = t, w->next_cap = tc, w->nnext = 0;
    if ((err = sort_level(w, w->cur, w->ncur)))
      return err;
    for (size_t i = 0; i < w->ncur; i++)
      if ((err = process(w, w->cur[i])))
        return err;
  }
  return 0;
}

/* ---- kinds -------------------------------------------------------------- */

/* The owner's type index + 1 of the dict at dict (owners sorted), or 0. */
static uint64_t
owner_of(const struct walk *w, pm_addr_t dict)
{
  struct pair key = { dict, 0 }, *p;

  p = bsearch(&key, w->owners, w->nowners, sizeof(*w->owners), pair_cmp);
  return p ? p->b : 0;
}

/* The kind of an object of type index t at obj, as the census names it. */
static const char *
kind_of(struct walk *w, uint32_t t, pm_addr_t obj)
{
  struct tinfo *ti;
  uint64_t owner;

  switch (t) {
  case PSEUDO_INTERP:
    return "<interpreter>";
  case PSEUDO_THREAD:
    return "<thread>";
  case PSEUDO_FRAME:
    return "<frame>";
  }
  ti = w->types[t];
  if (!ti->exact_dict)
    return ti->info.name;
  if (!(owner = owner_of(w, obj)))
    return "dict (no owner)";
  ti = w->types[owner - 1];
  if (!ti->dict_of) {
    size_t n = strlen(ti->info.name) + 9;
    if (!(ti->dict_of = malloc(n)))
      return "dict of ?"; /* out of memory: a name is still a name */
    snprintf(ti->dict_of, n, "dict of %s", ti->info.name);
  }
  return ti->dict_of;
}

/* The index of the candidate at obj (by_addr sorted), or -1. */
static int64_t
cand_index(const struct walk *w, pm_addr_t obj)
{
  size_t lo = 0, hi = w->ncands;

  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    pm_addr_t a = w->cands[w->by_addr[mid]].obj;
    if (a == obj)
      return w->by_addr[mid];
    if (a < obj)
      lo = mid + 1;
    else
      hi = mid;
  }
  return -1;
}

static int
by_cand_addr(const void *a, const void *b, void *arg)
{
  const struct walk *w = arg;
  pm_addr_t x = w->cands[*(const uint32_t *)a].obj;
  pm_addr_t y = w->cands[*(const uint32_t *)b].obj;

  return (x > y) - (x < y);
}

/* Whether candidate c is of the kind searched. */
static int
matches(struct walk *w, const struct cand *c)
{
  uint64_t owner;

  if (!w->dict_kind)
    return 1;
  owner = owner_of(w, c->obj);
  if (!w->owner_name)
    return owner == 0;
  return owner && strcmp(w->types[owner - 1]->info.name, w->owner_name) == 0;
}

/* The type index of the object at obj (read again), or -1. */
static int64_t
type_of(struct walk *w, pm_addr_t obj)
{
  uint64_t type;
  int64_t t;

  if (pm_target_read_u64(w->py->t, obj + w->py->L->object_type, &type))
    return -1;
  t = type_lookup(w, type);
  return t >= 0 && w->types[t]->valid ? t : -1;
}

/* ---- byrcs -------------------------------------------------------------- */

struct rcs {
  const char **names; /* by id */
  size_t nnames, names_cap;
  struct pm_name_index index; /* name -> id */
};

/* The id of kind name; names point into the walk's types, which outlive. */
static int64_t
name_id(struct rcs *r, const char *name)
{
  int64_t id = pm__names_find(&r->index, name);

  if (id >= 0)
    return id;
  if (pm__array_grow((void **)&r->names, &r->names_cap, sizeof(*r->names),
                     r->nnames + 1)
      || pm__names_add(&r->index, name, r->nnames))
    return -ENOMEM;
  r->names[r->nnames] = name;
  return (int64_t)r->nnames++;
}

/* One matching candidate for grouping: its referrer kind ids. */
struct member {
  uint32_t cand;
  uint32_t first, n; /* its ids in the flat array */
};

/* Orders members by their ids (in the flat array arg), as sequences. */
static int
by_ids(const void *a, const void *b, void *arg)
{
  const struct member *x = a, *y = b;
  const uint32_t *ids = arg;
  uint32_t n = x->n < y->n ? x->n : y->n;

  for (uint32_t i = 0; i < n; i++)
    if (ids[x->first + i] != ids[y->first + i])
      return ids[x->first + i] < ids[y->first + i] ? -1 : 1;
  return (x->n > y->n) - (x->n < y->n);
}

static int
by_count(const void *a, const void *b)
{
  const struct pm_rcs_group *x = a, *y = b;

  if (x->count != y->count)
    return x->count < y->count ? 1 : -1;
  if (x->size != y->size)
    return x->size < y->size ? 1 : -1;
  return (x->nkinds > y->nkinds) - (x->nkinds < y->nkinds);
}

static int
by_name(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Groups the matching candidates by the set of their referrers' kinds;
 * sizes[i] is candidate i's size (0 for those that do not match).
 */
static int
group(struct walk *w, const uint8_t *match, const uint64_t *sizes,
      struct pm_referrers *out)
{
  struct rcs r = { 0 };
  uint64_t *pairs = NULL;
  uint32_t *ids = NULL;
  struct member *members = NULL;
  size_t npairs = 0, nmembers = 0, nids = 0, gcap = 0;
  int err = -ENOMEM;

  if (w->nedges && !(pairs = malloc(w->nedges * sizeof(*pairs))))
    goto out;
  for (size_t i = 0; i < w->nedges; i++) {
    const struct edge *e = &w->edges[i];
    int64_t c = cand_index(w, e->to), id;
    if (c < 0 || !match[c])
      continue;
    if ((id = name_id(&r, kind_of(w, e->rtype, e->from))) < 0)
      goto out;
    pairs[npairs++] = (uint64_t)c << 32 | (uint64_t)id;
  }
  if (npairs > 1) /* pairs may be NULL when there are none */
    qsort(pairs, npairs, sizeof(*pairs), cmp_u64);
  if (!(ids = malloc((npairs ? npairs : 1) * sizeof(*ids)))
      || !(members = malloc((w->ncands ? w->ncands : 1) * sizeof(*members))))
    goto out;
  /* Each candidate's ids, sorted and unique, in one flat array. */
  for (size_t c = 0, p = 0; c < w->ncands; c++) {
    if (!match[c])
      continue;
    members[nmembers].cand = (uint32_t)c;
    members[nmembers].first = (uint32_t)nids;
    for (; p < npairs && (pairs[p] >> 32) == c; p++) {
      uint32_t id = (uint32_t)pairs[p];
      if (nids == members[nmembers].first || ids[nids - 1] != id)
        ids[nids++] = id;
    }
    members[nmembers].n = (uint32_t)nids - members[nmembers].first;
    nmembers++;
  }
  qsort_r(members, nmembers, sizeof(*members), by_ids, ids);
  for (size_t i = 0; i < nmembers; i++) {
    struct pm_rcs_group *g;
    if (i == 0 || by_ids(&members[i - 1], &members[i], ids) != 0) {
      if (pm__array_grow((void **)&out->groups, &gcap, sizeof(*out->groups),
                         out->ngroups + 1))
        goto out;
      g = &out->groups[out->ngroups++];
      memset(g, 0, sizeof(*g));
      if (members[i].n && !(g->kinds = calloc(members[i].n, sizeof(*g->kinds))))
        goto out;
      for (uint32_t k = 0; k < members[i].n; k++) {
        if (!(g->kinds[k] = strdup(r.names[ids[members[i].first + k]])))
          goto out;
        g->nkinds++;
      }
      if (g->nkinds > 1)
        qsort(g->kinds, g->nkinds, sizeof(*g->kinds), by_name);
    }
    g = &out->groups[out->ngroups - 1];
    g->count++;
    g->size += sizes[members[i].cand];
  }
  if (out->ngroups > 1)
    qsort(out->groups, out->ngroups, sizeof(*out->groups), by_count);
  err = 0;
out:
  free(pairs);
  free(ids);
  free(members);
  free(r.names);
  pm__names_free(&r.index);
  return err;
}

/* ---- paths -------------------------------------------------------------- */

/* The objects of a path, root first, and the parent word of the root. */
struct chain {
  pm_addr_t *v;
  size_t n, cap;
  uint64_t word;
};

struct find_label {
  pm_addr_t child;
  struct pm_ref_label label;
  char name[TEXT_MAX];
  int found;
};

static int
label_visit(void *arg, pm_addr_t ref, const struct pm_ref_label *l)
{
  struct find_label *f = arg;

  if (ref != f->child)
    return 0;
  f->label = *l;
  f->label.name = NULL;
  if (l->name)
    snprintf(f->name, sizeof(f->name), "%s", l->name);
  f->found = 1;
  return 1;
}

/* The first label of an edge from parent to child, or PM_ECORRUPT. */
static int
edge_label(struct walk *w, pm_addr_t parent, pm_addr_t child,
           struct find_label *f)
{
  struct tinfo *t;
  pm_addr_t dict;
  int64_t ti;
  int err;

  memset(f, 0, sizeof(*f));
  f->child = child;
  if ((ti = type_of(w, parent)) < 0)
    return PM_ECORRUPT;
  t = w->types[ti];
  if (t->addr == child) {
    f->found = 1;
    f->label.how = PM_REF_FIELD;
    f->label.index = -1;
    snprintf(f->name, sizeof(f->name), "__class__");
    return 0;
  }
  err = pm__referents_labelled(w->py, parent, &t->info, t->members, t->nmembers,
                               label_visit, f, &dict);
  if (err < 0)
    return err;
  return f->found ? 0 : PM_ECORRUPT;
}

/* The text of the str at s, or NULL. */
static char *
str_text(struct walk *w, pm_addr_t s)
{
  char buf[TEXT_MAX];

  if (!s || pm__str_read(w->py, s, buf, sizeof(buf)) != 0)
    return NULL;
  return strdup(buf);
}

static int
is_identifier(const char *s)
{
  if (!s
      || !(isalpha((unsigned char)*s) || *s == '_'
           || (unsigned char)*s >= 0x80))
    return 0;
  for (; *s; s++)
    if (!(isalnum((unsigned char)*s) || *s == '_' || (unsigned char)*s >= 0x80))
      return 0;
  return 1;
}

/* A dict key as Python would show it in an index: 'text', 12, or <kind>. */
static void
key_repr(struct walk *w, pm_addr_t key, char **text, char *buf, size_t len)
{
  int64_t t = key ? type_of(w, key) : -1, v;
  size_t o = 0;

  *text = NULL;
  if (t >= 0 && w->types[t]->info.sizer == PM_SIZE_STR
      && (*text = str_text(w, key))) {
    buf[o++] = '\'';
    for (const char *p = *text; *p && o + 4 < len; p++) {
      if (*p == '\'' || *p == '\\')
        buf[o++] = '\\';
      buf[o++] = *p;
    }
    buf[o++] = '\'';
    buf[o] = '\0';
    return;
  }
  if (t >= 0 && w->types[t]->info.sizer == PM_SIZE_INT
      && pm__int_value(w->py, key, &v) == 0) {
    snprintf(buf, len, "%lld", (long long)v);
    *text = strdup(buf);
    return;
  }
  (void)(snprintf(buf, len, "<%s at 0x%llx>",
                  t >= 0 ? w->types[t]->info.name : "?",
                  (unsigned long long)key)
         < 0);
}

/* Fills a step from the label of the edge into it. */
static int
step_from_label(struct walk *w, const struct find_label *f,
                struct pm_path_step *s)
{
  const struct pm_ref_label *l = &f->label;
  char buf[TEXT_MAX * 3], key[TEXT_MAX * 2];

  s->index = -1;
  switch (l->how) {
  case PM_REF_FIELD:
  case PM_REF_MEMBER:
    /* Modules and functions also declare their dict as a member. */
    s->edge = strcmp(f->name, "__class__") == 0  ? PM_EDGE_CLASS
              : strcmp(f->name, "__dict__") == 0 ? PM_EDGE_DICT
              : l->how == PM_REF_MEMBER          ? PM_EDGE_MEMBER
                                                 : PM_EDGE_FIELD;
    if (s->edge != PM_EDGE_DICT)
      s->name = strdup(f->name);
    snprintf(buf, sizeof(buf), ".%s", f->name);
    break;
  case PM_REF_DICT:
    s->edge = PM_EDGE_DICT;
    snprintf(buf, sizeof(buf), ".__dict__");
    break;
  case PM_REF_ATTR:
    s->edge = PM_EDGE_ATTR;
    s->name = str_text(w, l->key);
    snprintf(buf, sizeof(buf), ".%s", s->name ? s->name : "?");
    break;
  case PM_REF_INDEX:
    s->edge = PM_EDGE_INDEX;
    s->index = l->index;
    snprintf(buf, sizeof(buf), "[%lld]", (long long)l->index);
    break;
  case PM_REF_KEY:
    s->edge = PM_EDGE_KEY;
    s->index = l->index;
    snprintf(buf, sizeof(buf), " <key>");
    break;
  case PM_REF_VALUE:
    s->edge = PM_EDGE_VALUE;
    key_repr(w, l->key, &s->name, key, sizeof(key));
    snprintf(buf, sizeof(buf), "[%s]", key);
    break;
  case PM_REF_SET:
    s->edge = PM_EDGE_SET;
    snprintf(buf, sizeof(buf), " <member>");
    break;
  case PM_REF_CELL:
    s->edge = PM_EDGE_CELL;
    snprintf(buf, sizeof(buf), ".cell_contents");
    break;
  case PM_REF_LOCAL:
    s->edge = PM_EDGE_LOCAL;
    s->index = l->index;
    s->name = str_text(w, l->key);
    snprintf(buf, sizeof(buf), " local '%s'", s->name ? s->name : "?");
    break;
  case PM_REF_STACK:
    s->edge = PM_EDGE_STACK;
    s->index = l->index;
    snprintf(buf, sizeof(buf), " <stack %lld>", (long long)l->index);
    break;
  }
  return (s->label = strdup(buf)) ? 0 : -ENOMEM;
}

static const struct pm_py_thread *
thread_of(const struct pm_stacks *st, uint64_t thread_id)
{
  for (size_t i = 0; st && i < st->nthreads; i++)
    if (st->threads[i].thread_id == thread_id)
      return &st->threads[i];
  return NULL;
}

static const struct pm_py_frame *
frame_of(const struct pm_py_thread *th, pm_addr_t frame)
{
  for (size_t i = 0; th && i < th->nframes; i++)
    if (th->frames[i].frame == frame)
      return &th->frames[i];
  return NULL;
}

/* What a frame root's object is to its frame: ".f_globals", " <stack 2>". */
static void
frame_field(struct walk *w, const struct pm_root *r, char *buf, size_t len)
{
  struct find_label f;
  int owner, err;

  buf[0] = '\0';
  if (r->obj == r->frame)
    return; /* 3.8-3.10: the frame object itself */
  memset(&f, 0, sizeof(f));
  f.child = r->obj;
  if (w->py->L->iframe_size > 0)
    err = pm__iframe_referents_labelled(w->py, r->frame, 1, label_visit, &f,
                                        &owner);
  else
    err = edge_label(w, r->frame, r->obj, &f);
  if (err < 0 || !f.found)
    return;
  if (f.label.how == PM_REF_STACK)
    snprintf(buf, len, " <stack %lld>", (long long)f.label.index);
  else if (f.label.how == PM_REF_FIELD)
    (void)(snprintf(buf, len, ".%s", f.name) < 0);
}

/* Describes the root of a path in p, its first step's label and p->text. */
static int
root_step(struct walk *w, const struct pm_root *r, const struct pm_stacks *st,
          struct pm_path *p, char *text, size_t len)
{
  const struct pm_py_thread *th = NULL;
  const struct pm_py_frame *fr = NULL;
  char thread[TEXT_MAX + 64], field[TEXT_MAX + 8];
  pm_addr_t name;

  p->line = -1;
  p->depth = -1;
  if (r->kind == PM_ROOT_THREAD || r->kind == PM_ROOT_FRAME_LOCAL
      || r->kind == PM_ROOT_FRAME_OTHER) {
    th = thread_of(st, r->thread_id);
    p->thread_id = r->thread_id;
    p->native_id = r->native_id ? r->native_id : th ? th->native_id : 0;
    if (th && th->name && !(p->thread_name = strdup(th->name)))
      return -ENOMEM;
    snprintf(thread, sizeof(thread), "thread %llu%s%s%s",
             (unsigned long long)(p->native_id ? p->native_id : p->thread_id),
             p->thread_name ? " (" : "", p->thread_name ? p->thread_name : "",
             p->thread_name ? ")" : "");
  }
  if (r->kind == PM_ROOT_FRAME_LOCAL || r->kind == PM_ROOT_FRAME_OTHER) {
    p->depth = r->depth;
    if ((fr = frame_of(th, r->frame))) {
      p->function = strdup(fr->function);
      p->file = strdup(fr->file);
      p->line = fr->line;
    } else {
      uint64_t q = 0;
      const struct pm_layout *L = w->py->L;
      pm_target_read_u64(
          w->py->t,
          r->code + (L->code_qualname >= 0 ? L->code_qualname : L->code_name),
          &q);
      p->function = str_text(w, q);
    }
    if (!p->function && !(p->function = strdup("?")))
      return -ENOMEM;
  }
  switch (r->kind) {
  case PM_ROOT_MODULES:
    p->root = PM_PATH_MODULES;
    snprintf(text, len, "sys.modules");
    break;
  case PM_ROOT_SYSDICT:
    p->root = PM_PATH_SYSDICT;
    snprintf(text, len, "sys.__dict__");
    break;
  case PM_ROOT_BUILTINS:
    p->root = PM_PATH_BUILTINS;
    snprintf(text, len, "builtins.__dict__");
    break;
  case PM_ROOT_INTERP:
    p->root = PM_PATH_INTERP;
    snprintf(text, len, "interpreter state");
    break;
  case PM_ROOT_THREAD:
    p->root = PM_PATH_THREAD;
    snprintf(text, len, "%s state", thread);
    break;
  case PM_ROOT_FRAME_LOCAL:
    p->root = PM_PATH_LOCAL;
    pm__code_local_name(w->py, r->code, r->index, &name);
    p->local = str_text(w, name);
    snprintf(text, len, "%s frame %s() local '%s'", thread, p->function,
             p->local ? p->local : "?");
    break;
  case PM_ROOT_FRAME_OTHER:
    p->root = PM_PATH_FRAME;
    frame_field(w, r, field, sizeof(field));
    snprintf(text, len, "%s frame %s()%s", thread, p->function, field);
    break;
  case PM_ROOT_STATIC_TYPE:
    p->root = PM_PATH_STATIC_TYPE;
    snprintf(text, len, "static type");
    break;
  case PM_ROOT_INTERNED:
    p->root = PM_PATH_INTERNED;
    snprintf(text, len, "interned strings");
    break;
  }
  return 0;
}

/* The __name__ of a module or of a module's dict, for "module 'name'". */
static char *
module_name(struct walk *w, pm_addr_t obj)
{
  struct tinfo *t;
  pm_addr_t name = 0;
  int64_t ti = type_of(w, obj);

  if (ti < 0)
    return NULL;
  t = w->types[ti];
  if (t->exact_dict) {
    if (pm__dict_get_str(w->py, obj, "__name__", &name) != 0)
      return NULL;
  } else if (pm__object_attr(w->py, obj, &t->info, "__name__", &name) != 0) {
    return NULL;
  }
  return str_text(w, name);
}

static void
path_free(struct pm_path *p)
{
  for (size_t i = 0; i < p->nsteps; i++) {
    free(p->steps[i].kind);
    free(p->steps[i].label);
    free(p->steps[i].name);
  }
  free(p->steps);
  free(p->thread_name);
  free(p->function);
  free(p->file);
  free(p->local);
  free(p->text);
}

static void
append(char *text, size_t len, const char *s)
{
  size_t n = strlen(text);

  if (n + 1 < len)
    snprintf(text + n, len - n, "%s", s);
}

/*
 * The path to candidate c: its chain of parents back to the root (or GC
 * list), each edge labelled.
 */
static int
make_path(struct walk *w, const struct chain *ch, uint64_t size,
          const struct pm_stacks *st, struct pm_path *p)
{
  const pm_addr_t *chain = ch->v;
  size_t n = ch->n, dict_cut = 0;
  char text[4096], tmp[TEXT_MAX * 2];
  uint64_t word = ch->word;
  int err = 0;

  memset(p, 0, sizeof(*p));
  p->object = chain[n - 1];
  p->size = size;
  p->line = p->depth = -1;
  if (!(p->steps = calloc(n, sizeof(*p->steps)))) {
    err = -ENOMEM;
    goto out;
  }
  text[0] = '\0';
  if ((word & TAG_MASK) == TAG_ROOT) {
    if ((err = root_step(w, &w->roots[word >> 3], st, p, text, sizeof(text))))
      goto out;
  } else {
    int64_t t = type_of(w, chain[0]);
    p->root = PM_PATH_UNREACHABLE;
    snprintf(text, sizeof(text), "unreachable %s at 0x%llx",
             t >= 0 ? kind_of(w, (uint32_t)t, chain[0]) : "?",
             (unsigned long long)chain[0]);
  }
  for (size_t i = 0; i < n; i++) {
    struct pm_path_step *s = &p->steps[p->nsteps];
    int64_t t = type_of(w, chain[i]);
    s->address = chain[i];
    s->index = -1;
    if (!(s->kind = strdup(t >= 0 ? kind_of(w, (uint32_t)t, chain[i]) : "?")))
      err = -ENOMEM;
    p->nsteps++;
    if (err)
      goto out;
    if (i == 0) {
      s->edge = PM_EDGE_ROOT;
      if (!(s->label = strdup(text))
          || (p->local && !(s->name = strdup(p->local)))) {
        err = -ENOMEM;
        goto out;
      }
    } else {
      struct find_label f;
      if ((err = edge_label(w, chain[i - 1], chain[i], &f))
          && pm__walk_fatal(err))
        goto out;
      if (err) {
        /* The heap moved under the walk: say so rather than guess. */
        s->edge = PM_EDGE_FIELD;
        s->label = strdup(" <?>");
        err = s->label ? 0 : -ENOMEM;
      } else {
        err = step_from_label(w, &f, s);
      }
      if (err)
        goto out;
      /* x.__dict__['name'] reads better as x.name. */
      if (s->edge == PM_EDGE_VALUE && dict_cut && is_identifier(s->name)) {
        text[dict_cut] = '\0';
        snprintf(tmp, sizeof(tmp), ".%s", s->name);
        append(text, sizeof(text), tmp);
      } else {
        if (s->edge == PM_EDGE_DICT)
          dict_cut = strlen(text);
        append(text, sizeof(text), s->label);
      }
    }
    if (s->edge != PM_EDGE_DICT)
      dict_cut = 0;
    /*
     * A module, or a module's namespace reached another way (a frame's
     * globals, a function's __globals__), restarts the text: what it holds
     * are the module's globals.
     */
    if (t >= 0
        && ((i > 0 && w->types[t]->addr == w->py->types[PM_T_MODULE])
            || strcmp(s->kind, "dict of module") == 0)
        && s->edge != PM_EDGE_DICT) {
      char *name = module_name(w, chain[i]);
      snprintf(text, sizeof(text), "module '%s'", name ? name : "?");
      free(name);
      if (strcmp(s->kind, "dict of module") == 0) {
        dict_cut = strlen(text);
        append(text, sizeof(text), ".__dict__");
      }
    }
  }
  if (!(p->text = strdup(text)))
    err = -ENOMEM;
out:
  if (err)
    path_free(p);
  return err;
}

/*
 * Follows the parents of the n samples back to their roots, all at once:
 * each pass over the log of parents takes every chain one step further.
 * Paths are short, so a few passes do; past SCAN_PASSES (a list nested
 * deeper, or garbage made to look so) the log is sorted by object and
 * each chain is finished by binary search, not by a pass a step.
 * chains[i] receives sample i's objects, root first; a chain whose parent
 * is not in the log (a bug) is left with n 0.
 */
static int
follow_parents(struct walk *w, const pm_addr_t *samples, size_t n,
               struct chain *chains)
{
  struct pm_addr_map want = { 0 }; /* address -> first sample at it + 1 */
  size_t *next_at = NULL, left = n;
  pm_addr_t *at = NULL;
  int err = -ENOMEM;

  if (!(next_at = calloc(n, sizeof(*next_at)))
      || !(at = calloc(n, sizeof(*at))))
    goto out;
  for (size_t i = 0; i < n; i++) {
    at[i] = samples[i];
    if ((err = pm__array_grow((void **)&chains[i].v, &chains[i].cap,
                              sizeof(*chains[i].v), 1)))
      goto out;
    chains[i].v[chains[i].n++] = samples[i];
  }
  for (size_t pass = 0; left && pass < SCAN_PASSES; pass++) {
    size_t found_any = 0;
    pm__amap_free(&want);
    /* Samples at the same object are linked through next_at. */
    for (size_t i = 0; i < n; i++) {
      uint64_t *v;
      if (!at[i])
        continue;
      if ((v = pm__amap_find(&want, at[i]))) {
        next_at[i] = (size_t)*v;
        *v = i + 1;
      } else {
        next_at[i] = 0;
        if ((err = pm__amap_add(&want, at[i], i + 1)) < 0)
          goto out;
      }
    }
    for (size_t k = 0; k < w->nparents; k++) {
      uint64_t *v = pm__amap_find(&want, w->parents[k].a), word;
      if (!v)
        continue;
      word = w->parents[k].b;
      for (size_t i = (size_t)*v; i; i = next_at[i - 1]) {
        struct chain *c = &chains[i - 1];
        found_any++;
        if (word & TAG_MASK) {
          c->word = word;
          at[i - 1] = 0;
          left--;
          continue;
        }
        if ((err = pm__array_grow((void **)&c->v, &c->cap, sizeof(*c->v),
                                  c->n + 1)))
          goto out;
        c->v[c->n++] = word;
        at[i - 1] = word;
      }
    }
    if (!found_any)
      break;
  }
  if (left) {
    /* The log's order is not needed after this: found() appends only. */
    qsort(w->parents, w->nparents, sizeof(*w->parents), pair_cmp);
    for (size_t i = 0; i < n; i++) {
      struct chain *c = &chains[i];
      for (size_t step = 0; at[i] && step < MAX_STEPS; step++) {
        const struct pair key = { at[i], 0 };
        const struct pair *p = bsearch(&key, w->parents, w->nparents,
                                       sizeof(*w->parents), pair_cmp);
        if (!p)
          break;
        if (p->b & TAG_MASK) {
          c->word = p->b;
          at[i] = 0;
          break;
        }
        if ((err = pm__array_grow((void **)&c->v, &c->cap, sizeof(*c->v),
                                  c->n + 1)))
          goto out;
        c->v[c->n++] = p->b;
        at[i] = p->b;
      }
    }
  }
  for (size_t i = 0; i < n; i++) {
    struct chain *c = &chains[i];
    if (at[i]) {
      c->n = 0; /* not back at a root: a bug, no path */
      continue;
    }
    for (size_t k = 0; k < c->n / 2; k++) {
      pm_addr_t t = c->v[k];
      c->v[k] = c->v[c->n - 1 - k];
      c->v[c->n - 1 - k] = t;
    }
  }
  err = 0;
out:
  pm__amap_free(&want);
  free(next_at);
  free(at);
  return err;
}

/* ---- the result --------------------------------------------------------- */

void
pm_referrers_init(struct pm_referrers *r)
{
  memset(r, 0, sizeof(*r));
}

void
pm_referrers_release(struct pm_referrers *r)
{
  for (size_t i = 0; i < r->npaths; i++)
    path_free(&r->paths[i]);
  free(r->paths);
  for (size_t i = 0; i < r->ngroups; i++) {
    for (size_t k = 0; k < r->groups[i].nkinds; k++)
      free(r->groups[i].kinds[k]);
    free(r->groups[i].kinds);
  }
  free(r->groups);
  free(r->kind);
  pm_referrers_init(r);
}

static int
results(struct walk *w, size_t samples, const struct pm_stacks *st,
        struct pm_referrers *r)
{
  uint8_t *match = NULL;
  uint64_t *sizes = NULL, *picked_size = NULL;
  pm_addr_t *picked = NULL;
  struct chain *chains = NULL;
  size_t npicked = 0;
  int err = -ENOMEM;

  /* The logs are searched from now on. */
  if (w->nowners > 1)
    qsort(w->owners, w->nowners, sizeof(*w->owners), pair_cmp);
  if (!(w->by_addr = malloc((w->ncands + 1) * sizeof(*w->by_addr))))
    goto out;
  for (size_t i = 0; i < w->ncands; i++)
    w->by_addr[i] = (uint32_t)i;
  qsort_r(w->by_addr, w->ncands, sizeof(*w->by_addr), by_cand_addr, w);
  if (!(match = calloc(w->ncands + 1, 1))
      || !(sizes = calloc(w->ncands + 1, sizeof(*sizes)))
      || !(picked = calloc(samples + 1, sizeof(*picked)))
      || !(picked_size = calloc(samples + 1, sizeof(*picked_size)))
      || !(chains = calloc(samples + 1, sizeof(*chains))))
    goto out;
  for (size_t i = 0; i < w->ncands; i++) {
    const struct cand *c = &w->cands[i];
    if (!(match[i] = (uint8_t)matches(w, c)))
      continue;
    err = pm__object_size(w->py, &w->types[c->type]->info, c->obj, &sizes[i]);
    if (err && pm__walk_fatal(err))
      goto out;
    r->count++;
    r->size += sizes[i];
    r->reachable += c->reachable;
  }
  /* Reachable samples first, in the order found (shortest first). */
  for (int pass = 0; pass < 2; pass++)
    for (size_t i = 0; i < w->ncands && npicked < samples; i++)
      if (match[i] && w->cands[i].reachable == !pass) {
        picked_size[npicked] = sizes[i];
        picked[npicked++] = w->cands[i].obj;
      }
  if ((err = follow_parents(w, picked, npicked, chains)))
    goto out;
  if (!(r->paths = calloc(npicked + 1, sizeof(*r->paths)))) {
    err = -ENOMEM;
    goto out;
  }
  for (size_t i = 0; i < npicked; i++) {
    if (!chains[i].n)
      continue;
    err = make_path(w, &chains[i], picked_size[i], st, &r->paths[r->npaths]);
    if (err && (pm__walk_fatal(err) || err == -ENOMEM))
      goto out;
    if (!err)
      r->npaths++;
  }
  err = group(w, match, sizes, r);
out:
  for (size_t i = 0; chains && i < npicked; i++)
    free(chains[i].v);
  free(chains);
  free(picked);
  free(picked_size);
  free(match);
  free(sizes);
  return err;
}

int
pm_referrers_take(struct pm_referrers *r, struct pm_python *py,
                  const char *kind, size_t samples,
                  const struct pm_stacks *stacks)
{
  struct walk w = { .py = py, .kind = kind };
  struct pm_stacks own;
  struct pm_roots_stats rst;
  struct pm_gc_stats gst;
  int err;

  pm_referrers_init(r);
  pm_stacks_init(&own);
  if (strncmp(kind, "dict of ", 8) == 0) {
    w.dict_kind = 1;
    w.owner_name = kind + 8;
  } else if (strcmp(kind, "dict (no owner)") == 0) {
    w.dict_kind = 1;
  }
  if (!(r->kind = strdup(kind)))
    return -ENOMEM;
  if (!stacks) {
    err = pm_stacks_take(&own, py);
    if (err && (pm__walk_fatal(err) || err == -ENOMEM))
      goto out;
    stacks = &own;
  }
  if ((err = pm__set_reserve(&w.seen)) || (err = pm__set_reserve(&w.cset))
      || (err = pm__amap_reserve(&w.tindex)))
    goto out;
  err = pm__roots_walk(py, 0, root_visit, &w, &rst);
  r->broken_chains += rst.broken_chains;
  if (err || (err = drain(&w)))
    goto out;
  /* What no root reaches: cyclic garbage, or held by C state only. */
  w.from_gc = 1;
  err = pm__gc_walk(py, gc_visit, &w, &gst);
  r->broken_chains += gst.broken_lists;
  if (err || (err = drain(&w)))
    goto out;
  r->objects = w.objects;
  r->skipped = w.skipped;
  err = results(&w, samples, stacks, r);
out:
  pm_stacks_release(&own);
  pm__set_free(&w.seen);
  pm__set_free(&w.cset);
  pm__amap_free(&w.tindex);
  free(w.parents);
  free(w.owners);
  free(w.by_addr);
  free(w.scratch);
  for (size_t i = 0; i < w.ntypes; i++) {
    free(w.types[i]->members);
    free(w.types[i]->dict_of);
    free(w.types[i]);
  }
  free(w.types);
  free(w.cands);
  free(w.edges);
  free(w.cur);
  free(w.next);
  free(w.roots);
  if (err)
    pm_referrers_release(r);
  return err;
}
