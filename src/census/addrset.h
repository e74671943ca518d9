/* SPDX-License-Identifier: MIT */
/* addrset.h -- sets, maps and sorts of target addresses for the walks */
#ifndef PM_ADDRSET_H
#define PM_ADDRSET_H

/*
 * What the census and the path search both keep about the objects of a
 * heap: which were seen (a bitmap), what is known of some (a map), and
 * the order in which to visit them (a radix sort by address), and the
 * kinds they name (an index of names).  Memory is
 * what limits how big a heap a walk can take, and a walk does a lookup or
 * two per pointer it follows: the set costs a bit per 16 bytes of the MiB
 * that hold objects, and its lookups stay in memory the walk is near.
 */

#include <stddef.h>
#include <stdint.h>

#include "array.h"
#include "pmpeek/target.h"

/* Fibonacci hashing: the top bits are well mixed. */
static inline uint64_t
pm__hash_addr(pm_addr_t a)
{
  return (a >> 3) * 0x9E3779B97F4A7C15ull;
}

/* ---- a map: target address -> 64-bit value ------------------------------ */

/*
 * Open addressing, at most 3/4 full; the key 0 marks an empty slot.  A
 * key and its value side by side: a lookup in a big map (the owners of a
 * heap's dicts) costs one miss, not two.
 */
struct pm_amap_slot {
  uint64_t key, val;
};

struct pm_addr_map {
  struct pm_amap_slot *v;
  size_t cap, used;
  unsigned shift; /* 64 - log2(cap): the hash bits that pick a slot */
};

static inline size_t
pm__amap_slot(const struct pm_addr_map *m, pm_addr_t a)
{
  size_t mask = m->cap - 1, i = (size_t)(pm__hash_addr(a) >> m->shift);

  while (m->v[i].key && m->v[i].key != a)
    i = (i + 1) & mask;
  return i;
}

/* The value of a, or NULL when absent (0 is never a key). */
static inline uint64_t *
pm__amap_find(const struct pm_addr_map *m, pm_addr_t a)
{
  size_t i;

  if (!m->cap || !a)
    return NULL;
  i = pm__amap_slot(m, a);
  return m->v[i].key == a ? &m->v[i].val : NULL;
}

/* The value of a, or 0 when absent: for maps that store no 0. */
static inline uint64_t
pm__amap_get(const struct pm_addr_map *m, pm_addr_t a)
{
  const uint64_t *v = pm__amap_find(m, a);

  return v ? *v : 0;
}

/*
 * Adds a with val unless present.  1 when added, 0 when present (or a is
 * 0, which is never a key), -ENOMEM.
 */
int pm__amap_add(struct pm_addr_map *m, pm_addr_t a, uint64_t val);

/* Makes room so that the next add need not grow the map.  0 or -ENOMEM. */
int pm__amap_reserve(struct pm_addr_map *m);

void pm__amap_free(struct pm_addr_map *m);

/* ---- a set: a bitmap per MiB of address space that holds any ------------ */

/*
 * A bit per 16-byte granule, one bitmap per MiB found through an
 * open-addressing table of those MiB.  Members are objects: 8-aligned (the
 * allocators' are 16-aligned; static ones are not always), and no two
 * start within 16 bytes of each other, since none is smaller; an address
 * in a member's granule answers as the member.  (A walk that took for an
 * object what a torn read showed 8 bytes into a real one would miss the
 * real one: only a target read while it runs can show such a thing.)  Half
 * the bits of one per 8 bytes: 9.5 MB rather than 19 at 10 M objects.
 * Objects cluster in arenas and heap segments, so the bitmaps stay a small
 * fraction of the heap, and a lookup touches cache-resident memory rather
 * than a random slot of a table as big as the heap's object count.
 */
#define PM_SET_CHUNK_BITS 20
#define PM_SET_GRANULE_BITS 4
#define PM_SET_WORDS                                                           \
  ((size_t)1 << (PM_SET_CHUNK_BITS - PM_SET_GRANULE_BITS - 6))

struct pm_set_chunk {
  uint64_t key; /* (address >> PM_SET_CHUNK_BITS) + 1; 0 = empty slot */
  uint64_t *bits;
};

#define PM_SET_NEAR 16

struct pm_addr_set {
  struct pm_set_chunk *chunks;
  size_t cap, used;
  /*
   * The MiB looked up lately and their bitmaps (NULL: none yet), by key
   * modulo PM_SET_NEAR: an answer with no hash or probe of the table
   * (bitmaps never move, and a new one is put here; key 0 is no MiB's).
   * A walk works in a MiB and the few its referents lie in.
   */
  struct pm_set_chunk near[PM_SET_NEAR];
};

static inline size_t
pm__set_slot(const struct pm_addr_set *s, uint64_t key)
{
  size_t mask = s->cap - 1, i = (size_t)(pm__hash_addr(key << 3) >> 32) & mask;

  while (s->chunks[i].key && s->chunks[i].key != key)
    i = (i + 1) & mask;
  return i;
}

/* The bitmap of a's MiB, or NULL when nothing of that MiB was added. */
static inline uint64_t *
pm__set_bits(struct pm_addr_set *s, pm_addr_t a)
{
  uint64_t key = (a >> PM_SET_CHUNK_BITS) + 1;
  struct pm_set_chunk *near = &s->near[key % PM_SET_NEAR];
  size_t i;

  if (key == near->key)
    return near->bits;
  if (!s->cap)
    return NULL;
  i = pm__set_slot(s, key);
  near->key = key;
  near->bits = s->chunks[i].key ? s->chunks[i].bits : NULL;
  return near->bits;
}

/* a's granule in its MiB's bitmap: bit g & 63 of word g >> 6. */
static inline size_t
pm__set_granule(pm_addr_t a)
{
  return (size_t)(a >> PM_SET_GRANULE_BITS)
         & (((size_t)1 << (PM_SET_CHUNK_BITS - PM_SET_GRANULE_BITS)) - 1);
}

static inline int
pm__set_has(struct pm_addr_set *s, pm_addr_t a)
{
  uint64_t *bits = pm__set_bits(s, a);
  size_t g = pm__set_granule(a);

  return bits && (bits[g >> 6] >> (g & 63) & 1);
}

/* Adds a; 1 when it was new, 0 when present, or -ENOMEM. */
int pm__set_add(struct pm_addr_set *s, pm_addr_t a);

/* Makes the table of MiB (not yet a bitmap) exist.  0 or -ENOMEM. */
int pm__set_reserve(struct pm_addr_set *s);

/*
 * Adds every member of src to dst, taking src's bitmaps where dst has none
 * for their MiB: src is then fit only for pm__set_free().  0 or -ENOMEM.
 */
int pm__set_merge(struct pm_addr_set *dst, struct pm_addr_set *src);

/*
 * Adds the members in bits, a bitmap of a's MiB (PM_SET_WORDS words from
 * malloc), to s, and takes bits: made s's when s has none for that MiB,
 * else or-ed in and freed.  0, or -ENOMEM with bits freed.
 */
int pm__set_take_bits(struct pm_addr_set *s, pm_addr_t a, uint64_t *bits);

/*
 * A copy (from malloc, PM_SET_WORDS words) of s's bitmap of a's MiB, all
 * zeros when s has none; NULL when out of memory.
 */
uint64_t *pm__set_copy_bits(struct pm_addr_set *s, pm_addr_t a);

void pm__set_free(struct pm_addr_set *s);

/* ---- an index of names ------------------------------------------------- */

/*
 * Name -> index, open addressing, at most half full; the names are the
 * caller's and must outlive the index (the walks name kinds this way).
 */
struct pm_name_slot {
  const char *name; /* NULL = empty slot */
  size_t index;
};

struct pm_name_index {
  struct pm_name_slot *slots;
  size_t cap, used;
};

/* The index of name, or -1 when absent. */
int64_t pm__names_find(const struct pm_name_index *x, const char *name);

/* Adds name (absent) with index.  0 or -ENOMEM. */
int pm__names_add(struct pm_name_index *x, const char *name, size_t index);

void pm__names_free(struct pm_name_index *x);

/* ---- sorting by address ------------------------------------------------- */

/*
 * Sorts the n words of v by their bits [lo, hi), least significant digit
 * first in digits of bits bits (at most 12), into the order of those bits
 * only: the path search sorts by MiB (address bits 20 to 43).  Uses
 * *scratch (grown to n words) and returns 0 or -ENOMEM.
 */
int pm__sort_addrs(uint64_t *v, size_t n, unsigned lo, unsigned hi,
                   unsigned bits, uint64_t **scratch, size_t *scratch_cap);

#endif
