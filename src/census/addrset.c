/* SPDX-License-Identifier: MIT */
/* addrset.c -- sets, maps and sorts of target addresses for the walks */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "census/addrset.h"

/* ---- the map ------------------------------------------------------------ */

static int
amap_grow(struct pm_addr_map *m)
{
  size_t ncap = m->cap ? m->cap * 2 : 1 << 10;
  struct pm_addr_map n
      = { .cap = ncap, .shift = 64 - (unsigned)__builtin_ctzll(ncap) };

  if (!(n.v = calloc(ncap, sizeof(*n.v))))
    return -ENOMEM;
  for (size_t i = 0; i < m->cap; i++)
    if (m->v[i].key)
      n.v[pm__amap_slot(&n, m->v[i].key)] = m->v[i];
  n.used = m->used;
  free(m->v);
  *m = n;
  return 0;
}

int
pm__amap_reserve(struct pm_addr_map *m)
{
  /* A load of at most 3/4 keeps probes short and an entry 21 bytes. */
  if ((m->used + 1) * 4 > m->cap * 3)
    return amap_grow(m);
  return 0;
}

int
pm__amap_add(struct pm_addr_map *m, pm_addr_t a, uint64_t val)
{
  size_t i;
  int err;

  if (!a)
    return 0;
  if ((err = pm__amap_reserve(m)))
    return err;
  i = pm__amap_slot(m, a);
  if (m->v[i].key == a)
    return 0;
  m->v[i].key = a;
  m->v[i].val = val;
  m->used++;
  return 1;
}

void
pm__amap_free(struct pm_addr_map *m)
{
  free(m->v);
  memset(m, 0, sizeof(*m));
}

/* ---- the set ------------------------------------------------------------ */

static int
set_grow(struct pm_addr_set *s)
{
  size_t ncap = s->cap ? s->cap * 2 : 256;
  struct pm_addr_set n = { .cap = ncap };

  if (!(n.chunks = calloc(ncap, sizeof(*n.chunks))))
    return -ENOMEM;
  for (size_t i = 0; i < s->cap; i++)
    if (s->chunks[i].key)
      n.chunks[pm__set_slot(&n, s->chunks[i].key)] = s->chunks[i];
  free(s->chunks);
  s->chunks = n.chunks;
  s->cap = ncap;
  return 0;
}

int
pm__set_reserve(struct pm_addr_set *s)
{
  return s->cap ? 0 : set_grow(s);
}

int
pm__set_add(struct pm_addr_set *s, pm_addr_t a)
{
  uint64_t key = (a >> PM_SET_CHUNK_BITS) + 1, *bits = pm__set_bits(s, a), bit;
  size_t g = pm__set_granule(a);
  int err;

  if (!bits) {
    size_t i;
    if ((s->used + 1) * 2 > s->cap && (err = set_grow(s)))
      return err;
    i = pm__set_slot(s, key);
    if (!(bits = calloc(PM_SET_WORDS, sizeof(*bits))))
      return -ENOMEM;
    s->chunks[i].key = key;
    s->chunks[i].bits = bits;
    s->used++;
    s->near[key % PM_SET_NEAR] = s->chunks[i];
  }
  bit = (uint64_t)1 << (g & 63);
  if (bits[g >> 6] & bit)
    return 0;
  bits[g >> 6] |= bit;
  return 1;
}

/*
 * Adds the members in *bits (the bitmap of the MiB of key) to s: or-ed
 * into s's bitmap of that MiB, or taken as it when s has none (*bits is
 * then NULL).  0 or -ENOMEM.
 */
static int
take_chunk(struct pm_addr_set *s, uint64_t key, uint64_t **bits)
{
  uint64_t *have = pm__set_bits(s, (key - 1) << PM_SET_CHUNK_BITS);
  size_t j;
  int err;

  if (have) {
    for (size_t k = 0; k < PM_SET_WORDS; k++)
      have[k] |= (*bits)[k];
    return 0;
  }
  if ((s->used + 1) * 2 > s->cap && (err = set_grow(s)))
    return err;
  j = pm__set_slot(s, key);
  s->chunks[j].key = key;
  s->chunks[j].bits = *bits;
  s->near[key % PM_SET_NEAR] = s->chunks[j];
  s->used++;
  *bits = NULL;
  return 0;
}

int
pm__set_merge(struct pm_addr_set *dst, struct pm_addr_set *src)
{
  int err;

  for (size_t i = 0; i < src->cap; i++)
    if (src->chunks[i].key
        && (err = take_chunk(dst, src->chunks[i].key, &src->chunks[i].bits)))
      return err;
  return 0;
}

int
pm__set_take_bits(struct pm_addr_set *s, pm_addr_t a, uint64_t *bits)
{
  int err = take_chunk(s, (a >> PM_SET_CHUNK_BITS) + 1, &bits);

  free(bits);
  return err;
}

uint64_t *
pm__set_copy_bits(struct pm_addr_set *s, pm_addr_t a)
{
  uint64_t *bits = calloc(PM_SET_WORDS, sizeof(*bits));
  const uint64_t *have = bits ? pm__set_bits(s, a) : NULL;

  if (have)
    memcpy(bits, have, PM_SET_WORDS * sizeof(*bits));
  return bits;
}

void
pm__set_free(struct pm_addr_set *s)
{
  for (size_t i = 0; i < s->cap; i++)
    free(s->chunks[i].bits);
  free(s->chunks);
  memset(s, 0, sizeof(*s));
}

/* ---- the index of names ------------------------------------------------- */

static size_t
hash_str(const char *s)
{
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return (size_t)h;
}

/* The slot of name in slots (cap a power of two): its own, or empty. */
static size_t
names_slot(const struct pm_name_slot *slots, size_t cap, const char *name)
{
  size_t i = hash_str(name) & (cap - 1);

  while (slots[i].name && strcmp(slots[i].name, name) != 0)
    i = (i + 1) & (cap - 1);
  return i;
}

int64_t
pm__names_find(const struct pm_name_index *x, const char *name)
{
  size_t i;

  if (!x->cap)
    return -1;
  i = names_slot(x->slots, x->cap, name);
  return x->slots[i].name ? (int64_t)x->slots[i].index : -1;
}

int
pm__names_add(struct pm_name_index *x, const char *name, size_t index)
{
  size_t i;

  if ((x->used + 1) * 2 > x->cap) {
    size_t ncap = x->cap ? x->cap * 2 : 64;
    struct pm_name_slot *n = calloc(ncap, sizeof(*n));
    if (!n)
      return -ENOMEM;
    for (size_t k = 0; k < x->cap; k++)
      if (x->slots[k].name)
        n[names_slot(n, ncap, x->slots[k].name)] = x->slots[k];
    free(x->slots);
    x->slots = n;
    x->cap = ncap;
  }
  i = names_slot(x->slots, x->cap, name);
  x->slots[i].name = name;
  x->slots[i].index = index;
  x->used++;
  return 0;
}

void
pm__names_free(struct pm_name_index *x)
{
  free(x->slots);
  memset(x, 0, sizeof(*x));
}

/* ---- sorting ------------------------------------------------------------ */

#define MAX_DIGIT 12

/* An LSD radix sort (addrset.h). */
int
pm__sort_addrs(uint64_t *v, size_t n, unsigned lo, unsigned hi, unsigned bits,
               uint64_t **scratch, size_t *scratch_cap)
{
  size_t counts[1 << MAX_DIGIT];
  const uint64_t mask = ((uint64_t)1 << bits) - 1;
  uint64_t *src = v, *dst;
  if (bits > MAX_DIGIT)
    return -EINVAL;
  if (n < 64) {
    /* Short runs: an insertion sort beats the passes over counts. */
    for (size_t i = 1; i < n; i++) {
      uint64_t x = v[i];
      size_t j = i;
      for (; j > 0 && v[j - 1] > x; j--)
        v[j] = v[j - 1];
      v[j] = x;
    }
    return 0;
  }
  if (pm__array_grow((void **)scratch, scratch_cap, sizeof(**scratch), n))
    return -ENOMEM;
  dst = *scratch;
  for (unsigned shift = lo; shift < hi; shift += bits) {
    uint64_t *t;
    size_t sum = 0;
    memset(counts, 0, ((size_t)mask + 1) * sizeof(*counts));
    for (size_t i = 0; i < n; i++)
      counts[(src[i] >> shift) & mask]++;
    /* A digit all the words share: the pass would only copy them. */
    if (counts[(src[0] >> shift) & mask] == n)
      continue;
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
