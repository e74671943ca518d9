/* SPDX-License-Identifier: MIT */
/* obmalloc-find.c -- locate pymalloc's state: symbols, interpreter, or code */
#include <config.h>

#include <errno.h>
#include <gelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpython/gc.h"
#include "cpython/obmalloc.h"
#include "elf/elf-file.h"
#include "pmpeek/error.h"
#include "target/target-elf.h"

/* Py_RTFLAGS_USE_MAIN_OBMALLOC (Include/cpython/pylifecycle.h, 3.12+). */
#define RTFLAGS_USE_MAIN_OBMALLOC (1ull << 5)
/* How far before the stats printer's first label its arena loop may start. */
#define LOOP_WINDOW 4096
#define MAX_REFS 4096
#define MAX_INTERPRETERS 1024

void
pm__obmalloc_geometry(const struct pm_python *py, struct pm_obm_geometry *g)
{
  int64_t hdr = py->L->pool_header_size > 0 ? py->L->pool_header_size : 48;

  /* 3.10 made arenas 1 MiB and pools 16 KiB (bpo-37448, with the radix
   * tree); the walk checks every pool header against these. */
  if (PM_PY_AT_LEAST(py, 3, 10)) {
    g->arena_size = 1u << 20;
    g->pool_size = 1u << 14;
  } else {
    g->arena_size = 256u << 10;
    g->pool_size = 4u << 10;
  }
  g->pool_overhead = (uint32_t)((hdr + PM_OBM_ALIGNMENT - 1)
                                & ~(int64_t)(PM_OBM_ALIGNMENT - 1));
}

int
pm__obmalloc_check_table(struct pm_python *py, const struct pm_obm_geometry *g,
                         pm_addr_t arenas, uint32_t maxarenas, uint32_t *used)
{
  const struct pm_layout *L = py->L;
  const uint64_t osz = (uint64_t)L->arena_object_size;
  const uint32_t chunk = 1024;
  uint32_t *next = NULL, nunused = 0, nused = 0, head = UINT32_MAX, seen = 0;
  unsigned char *buf = NULL, *kind = NULL;
  int err = 0;

  *used = 0;
  if (maxarenas == 0)
    return arenas == 0 ? 0 : PM_ECORRUPT;
  /* The table starts at 16 slots and only ever doubles (new_arena()). */
  if (maxarenas < 16 || maxarenas > PM_OBM_MAX_ARENAS
      || (maxarenas & (maxarenas - 1)) || arenas % 8 || osz < 48)
    return PM_ECORRUPT;
  next = malloc(sizeof(*next) * maxarenas);
  kind = calloc(maxarenas, 1); /* bit 0: unused, bit 1: linked to */
  buf = malloc(osz * chunk);
  if (!next || !kind || !buf) {
    err = -ENOMEM;
    goto out;
  }
  for (uint32_t base = 0; base < maxarenas && !err; base += chunk) {
    uint32_t n = maxarenas - base < chunk ? maxarenas - base : chunk;

    err = pm__py_read(py, arenas + base * osz, buf, n * osz);
    if (err && !pm__walk_fatal(err))
      err = PM_ECORRUPT;
    for (uint32_t k = 0; k < n && !err; k++) {
      const unsigned char *o = buf + k * osz;
      uint64_t addr = pm__obm_u64(o + L->arena_object_address);
      uint64_t nexta = pm__obm_u64(o + L->arena_object_nextarena), off;

      next[base + k] = UINT32_MAX;
      if (addr) {
        uint64_t pools = pm__obm_u64(o + L->arena_object_pool_address);
        uint32_t nfree = pm__obm_u32(o + L->arena_object_nfreepools);
        uint32_t ntotal = pm__obm_u32(o + L->arena_object_ntotalpools);
        uint64_t excess = addr & (g->pool_size - 1);
        uint64_t first = addr - excess + (excess ? g->pool_size : 0);

        /* new_arena(): ntotalpools and the first pool follow from the
         * arena's alignment, and pool_address only moves by whole pools. */
        if (addr % PM_OBM_ALIGNMENT
            || ntotal != g->arena_size / g->pool_size - (excess != 0)
            || nfree > ntotal || pools < first || pools > addr + g->arena_size
            || (pools - first) % g->pool_size)
          err = PM_ECORRUPT;
        nused++;
        continue;
      }
      /* An unused slot: on the unused list, linked by nextarena. */
      kind[base + k] |= 1;
      nunused++;
      if (!nexta)
        continue;
      off = nexta - arenas;
      if (nexta < arenas || off % osz || off / osz >= maxarenas
          || (kind[off / osz] & 2))
        err = PM_ECORRUPT; /* outside the table, or two links to one */
      else {
        next[base + k] = (uint32_t)(off / osz);
        kind[off / osz] |= 2;
      }
    }
  }
  if (err)
    goto out;
  /* The unused slots must form one list: a head nobody links to, then a
   * chain through unused slots only, ending in NULL, that visits them all. */
  for (uint32_t i = 0; i < maxarenas && nunused; i++)
    if (kind[i] == 1) {
      if (head != UINT32_MAX) {
        err = PM_ECORRUPT;
        goto out;
      }
      head = i;
    }
  for (uint32_t i = head; i != UINT32_MAX && seen <= nunused; i = next[i]) {
    if (!(kind[i] & 1)) {
      err = PM_ECORRUPT;
      goto out;
    }
    seen++;
  }
  if (seen != nunused)
    err = PM_ECORRUPT;
out:
  if (!err)
    *used = nused;
  free(next);
  free(kind);
  free(buf);
  return err;
}

/* -- the ELF that holds the interpreter ----------------------------------- */

struct binary {
  struct pm_elf *elf;
  uint64_t bias;
};

static int
binary_open(struct pm_python *py, struct binary *b)
{
  const struct pm_maps *m = pm_target_maps(py->t);
  const struct pm_region *first = NULL;
  int err;

  for (size_t i = 0; i < m->n; i++)
    if (m->v[i].path && strcmp(m->v[i].path, py->binary) == 0
        && (!first || m->v[i].offset < first->offset))
      first = &m->v[i];
  if (!first)
    return PM_ENOSYM;
  err = pm__target_elf_open(py->t, first, &b->elf);
  if (err)
    return err == -ENOMEM ? err : PM_ENOSYM;
  err = pm__elf_load_bias(b->elf, first->start, first->offset, &b->bias);
  if (err) {
    pm__elf_free(b->elf);
    b->elf = NULL;
  }
  return err;
}

/* LTO builds rename file-local symbols: "arenas.lto_priv.0". */
static int
local_symbol(struct binary *b, const char *name, uint64_t *addr)
{
  char buf[96];

  if (pm__elf_symbol(b->elf, name, addr, NULL) == 0)
    goto found;
  for (int i = 0; i < 4; i++) {
    snprintf(buf, sizeof(buf), "%s.lto_priv.%d", name, i);
    if (pm__elf_symbol(b->elf, buf, addr, NULL) == 0)
      goto found;
  }
  return PM_ENOSYM;
found:
  *addr += b->bias;
  return 0;
}

static int
read_counter(struct pm_python *py, pm_addr_t at, int64_t *out)
{
  uint64_t v;
  int err = pm__py_read_u64(py, at, &v);

  if (err)
    return pm__walk_fatal(err) ? err : 0;
  *out = v > INT64_MAX ? -1 : (int64_t)v;
  return 0;
}

static int
find_by_symbols(struct pm_python *py, struct binary *b, unsigned flags,
                struct pm_obm_state *st)
{
  uint64_t a_at, m_at, at;
  int err;

  if (local_symbol(b, "arenas", &a_at) || local_symbol(b, "maxarenas", &m_at))
    return PM_ENOSYM;
  if ((err = pm__py_read_u64(py, a_at, &st->arenas))
      || (err = pm__py_read(py, m_at, &st->maxarenas, 4)))
    return err;
  if (flags & PM_OBM_NO_COUNTERS)
    return 0;
  if (local_symbol(b, "ntimes_arena_allocated", &at) == 0
      && (err = read_counter(py, at, &st->ntimes_arena_allocated)))
    return err;
  if (local_symbol(b, "narenas_highwater", &at) == 0
      && (err = read_counter(py, at, &st->narenas_highwater)))
    return err;
  return 0;
}

/* -- stripped 3.8-3.11: the code that uses the globals --------------------- */

/*
 * A RIP-relative memory operand found in the code: the instruction at
 * `site` reads `width` bytes at `target` (link-time addresses).
 */
struct ref {
  uint64_t site;
  uint64_t target;
  unsigned width;
  int load; /* a plain mov into a register */
};

/* .text as read for a search, and the references found in it so far. */
struct code {
  unsigned char *text;
  uint64_t lo, hi;   /* .text, link-time */
  uint64_t wlo, whi; /* the writable segments */
  int exec;          /* ET_EXEC: absolute 32-bit addresses occur */
  struct ref *refs;
  size_t nrefs;
};

#define NLABELS 4

/*
 * What the code says, which holds for as long as the file is open: found
 * once, kept with the file (pm__elf_set_derived()), so that a pause only
 * reads the globals' values.  pm__obmalloc_prepare() finds it before the
 * pause.
 */
struct code_facts {
  struct ref *refs; /* the functions' first, then the labels' window */
  size_t nrefs;
  size_t nfunc; /* how many are the functions' */
  int funcs;    /* the functions read */
  int searched; /* .text searched for the labels: sites, the window */
  /* PM_ENOSYM for good (no .text, say) for each part; memory may return. */
  int funcs_err, search_err;
  uint64_t sites[NLABELS];
};

/*
 * Collects the RIP-relative reads of data in [from, to): mov, add, sub,
 * cmp and movsxd with a register, which is how GCC and Clang load a
 * global.  Bytes are matched without decoding, so some hits are not
 * instructions; every target is checked against the writable segments
 * here and its value against pymalloc's invariants later.
 */
static void
collect_refs(struct code *c, uint64_t from, uint64_t to)
{
  if (from < c->lo + 1)
    from = c->lo + 1;
  if (to > c->hi)
    to = c->hi;
  for (uint64_t a = from; a + 6 <= to && c->nrefs < MAX_REFS; a++) {
    const unsigned char *p = c->text + (a - c->lo);
    unsigned char op = p[0], modrm = p[1], rex = p[-1];
    int32_t disp;
    uint64_t target;
    unsigned width;

    if ((modrm & 0xc7) != 0x05)
      continue;
    if (op != 0x8b && op != 0x03 && op != 0x2b && op != 0x3b && op != 0x39
        && op != 0x63)
      continue;
    if ((rex & 0xf0) != 0x40)
      rex = 0;
    memcpy(&disp, p + 2, 4);
    target = a + 6 + (uint64_t)(int64_t)disp;
    width = op == 0x63 ? 4 : (rex & 8) ? 8 : 4;
    if (target < c->wlo || target + width > c->whi || target % width)
      continue;
    c->refs[c->nrefs].site = rex ? a - 1 : a;
    c->refs[c->nrefs].target = target;
    c->refs[c->nrefs].width = width;
    c->refs[c->nrefs].load = op == 0x8b;
    c->nrefs++;
  }
}

/*
 * For each string address strs[i], the single instruction of .text that
 * puts it into a register: `lea str(%rip)`, or in a non-PIE executable
 * `mov $str, %reg32`.  sites[i] is 0 when there is none or more than one.
 * One pass over .text for all of them.
 */
static void
string_refs(const struct code *c, const uint64_t *strs, uint64_t *sites,
            size_t n)
{
  int hits[8] = { 0 };

  if (n > 8)
    n = 8;
  for (uint64_t a = c->lo + 1; a + 6 <= c->hi; a++) {
    const unsigned char *p = c->text + (a - c->lo);
    uint64_t target;
    int32_t v;

    if (p[0] == 0x8d && (p[1] & 0xc7) == 0x05) {
      memcpy(&v, p + 2, 4);
      target = a + 6 + (uint64_t)(int64_t)v;
    } else if (c->exec && p[0] >= 0xb8 && p[0] <= 0xbf) {
      memcpy(&v, p + 1, 4);
      target = (uint32_t)v;
    } else {
      continue;
    }
    for (size_t i = 0; i < n; i++)
      if (strs[i] && target == strs[i]) {
        sites[i] = a;
        hits[i]++;
      }
  }
  for (size_t i = 0; i < n; i++)
    if (hits[i] != 1)
      sites[i] = 0;
}

/*
 * The global whose value the printer passes with the label referenced at
 * site: the last 8-byte load between the previous label and this one, or
 * else the first one before the next label.  0 when there is none.
 */
static uint64_t
label_value(const struct code_facts *f, uint64_t prev, uint64_t site,
            uint64_t next, const uint64_t *exclude, int nexclude)
{
  uint64_t best = 0, best_site = 0;

  for (int pass = 0; pass < 2 && !best; pass++)
    for (size_t i = 0; i < f->nrefs; i++) {
      const struct ref *r = &f->refs[i];
      int skip = 0;

      if (r->width != 8 || !r->load)
        continue;
      for (int k = 0; k < nexclude; k++)
        skip |= r->target == exclude[k];
      if (skip)
        continue;
      if (pass == 0 && r->site > prev && r->site < site
          && (!best || r->site > best_site)) {
        best = r->target;
        best_site = r->site;
      } else if (pass == 1 && r->site > site && r->site < next
                 && (!best || r->site < best_site)) {
        best = r->target;
        best_site = r->site;
      }
    }
  return best;
}

static int
read_text(struct binary *b, struct code *c)
{
  uint64_t size;

  if (pm__elf_section(b->elf, ".text", &c->lo, &size) != 0
      || pm__elf_writable_range(b->elf, &c->wlo, &c->whi) != 0 || size < 16
      || size > (1ull << 30))
    return PM_ENOSYM;
  c->hi = c->lo + size;
  c->exec = pm__elf_type(b->elf) == ET_EXEC;
  /* Only what is read of it is touched: see text_range(). */
  c->text = malloc(size);
  return c->text ? 0 : -ENOMEM;
}

/*
 * Reads [from, to) of .text (clipped to it) into its place in c->text: the
 * functions named by symbols first, all of it only for the label search.
 */
static int
text_range(struct binary *b, struct code *c, uint64_t from, uint64_t to)
{
  if (from < c->lo)
    from = c->lo;
  if (to > c->hi)
    to = c->hi;
  if (from >= to)
    return 0;
  return pm__elf_read_vaddr(b->elf, from, c->text + (from - c->lo), to - from)
             ? PM_ENOSYM
             : 0;
}

static const char *const labels[] = {
  "# arenas allocated total",
  "# arenas reclaimed",
  "# arenas highwater mark",
  "# arenas allocated current",
};
_Static_assert(sizeof(labels) / sizeof(labels[0]) == NLABELS, "NLABELS");

/*
 * Picks ntimes_arena_allocated and narenas_highwater from the loads next
 * to the printer's labels, and keeps them only if everything agrees: the
 * "reclaimed" line loads the same global as the "total" one, the two are
 * different globals, and used <= highwater <= total, highwater <= maxarenas.
 * Otherwise both stay unknown.
 */
static int
find_counters(struct pm_python *py, const struct code_facts *f, uint64_t bias,
              const uint64_t *exclude, int nexclude, uint32_t used,
              struct pm_obm_state *st)
{
  const uint64_t *sites = f->sites;
  uint64_t total, reclaimed, high;
  int64_t vt = -1, vh = -1;
  int err;

  if (!sites[0] || !sites[1] || !sites[2] || !sites[3]
      || !(sites[0] < sites[1] && sites[1] < sites[2] && sites[2] < sites[3]))
    return 0;
  total = label_value(f, sites[0] - 64, sites[0], sites[1], exclude, nexclude);
  reclaimed = label_value(f, sites[0], sites[1], sites[2], exclude, nexclude);
  high = label_value(f, sites[1], sites[2], sites[3], exclude, nexclude);
  if (!total || !high || total == high || reclaimed != total)
    return 0;
  if ((err = read_counter(py, total + bias, &vt))
      || (err = read_counter(py, high + bias, &vh)))
    return err;
  if (vt < 0 || vh < 0 || vh > vt || vh < (int64_t)used
      || vh > (int64_t)st->maxarenas)
    return 0;
  st->ntimes_arena_allocated = vt;
  st->narenas_highwater = vh;
  return 0;
}

/* What the search of the code for the arena table found. */
struct table_pick {
  int found;
  uint64_t a_word, m_word; /* the globals: arenas, maxarenas */
  uint32_t used;
};

/*
 * Every (8-byte global, 4-byte global) pair of c's references whose values
 * make a valid arena table; exactly one table value may remain.  Returns 0
 * (p->found says whether one did), PM_ENOSYM when two tables fit, or a
 * fatal read error.
 */
static int
pick_table(struct pm_python *py, const struct binary *b, const struct ref *refs,
           size_t nrefs, const struct pm_obm_geometry *g,
           struct pm_obm_state *st, struct table_pick *p)
{
  int err = 0;

  memset(p, 0, sizeof(*p));
  for (size_t i = 0; i < nrefs; i++) {
    uint64_t arenas;
    int dup = 0;

    if (refs[i].width != 8)
      continue;
    for (size_t k = 0; k < i; k++)
      dup |= refs[k].target == refs[i].target;
    if (dup)
      continue;
    err = pm__py_read_u64(py, refs[i].target + b->bias, &arenas);
    if (err && pm__walk_fatal(err))
      return err;
    if (err || !arenas || arenas % 8)
      continue;
    for (size_t j = 0; j < nrefs; j++) {
      uint32_t m, u;
      int mdup = 0;

      if (refs[j].width != 4)
        continue;
      for (size_t k = 0; k < j; k++)
        mdup |= refs[k].target == refs[j].target;
      if (mdup)
        continue;
      err = pm__py_read(py, refs[j].target + b->bias, &m, 4);
      if (err && pm__walk_fatal(err))
        return err;
      if (err || m < 16 || (m & (m - 1)) || m > PM_OBM_MAX_ARENAS)
        continue;
      err = pm__obmalloc_check_table(py, g, arenas, m, &u);
      if (err && pm__walk_fatal(err))
        return err;
      if (err || u == 0)
        continue;
      if (p->found && (st->arenas != arenas || st->maxarenas != m)) {
        err = PM_ENOSYM; /* two tables fit: refuse to guess */
        return err;
      }
      p->found = 1;
      st->arenas = arenas;
      st->maxarenas = m;
      p->a_word = refs[i].target;
      p->m_word = refs[j].target;
      p->used = u;
    }
  }
  return 0;
}

static void
facts_free(void *p)
{
  struct code_facts *f = p;

  if (f)
    free(f->refs);
  free(f);
}

/*
 * The facts of b's code, kept with its file: the two functions' references
 * always, the search of all .text for the printer's labels (several MB
 * read and scanned) when `search`.  Each part is found once per file.
 */
static int
code_facts(struct binary *b, int search, struct code_facts **out)
{
  static const char *const funcs[]
      = { "_Py_GetAllocatedBlocks", "_PyObject_DebugMallocStats" };
  struct code_facts *f = pm__elf_derived(b->elf);
  struct code c = { 0 };
  uint64_t strs[NLABELS] = { 0 };
  int err;

  if (!f) {
    f = calloc(1, sizeof(*f));
    if (!f || !(f->refs = malloc(sizeof(*f->refs) * MAX_REFS))) {
      facts_free(f);
      return -ENOMEM;
    }
    pm__elf_set_derived(b->elf, f, facts_free);
  }
  *out = f;
  if (f->funcs_err || (f->funcs && !search))
    return f->funcs_err;
  if (f->funcs && (f->searched || f->search_err))
    return f->search_err;
  if ((err = read_text(b, &c)))
    goto out;
  c.refs = f->refs;
  c.nrefs = f->nrefs;
  for (size_t i = 0; !f->funcs && i < sizeof(funcs) / sizeof(funcs[0]); i++) {
    uint64_t at, size;
    if (pm__elf_symbol(b->elf, funcs[i], &at, &size) == 0 && size < 65536) {
      /* collect_refs() looks one byte before the range (a REX prefix). */
      if ((err = text_range(b, &c, at - 1, at + size)))
        goto out;
      collect_refs(&c, at, at + size);
    }
  }
  if (!f->funcs) {
    f->nfunc = c.nrefs;
    f->funcs = 1;
  }
  if (!search)
    goto out;
  if ((err = text_range(b, &c, c.lo, c.hi)))
    goto out;
  for (size_t i = 0; i < NLABELS; i++)
    /* With its NUL, so that a longer string cannot match. */
    if (pm__elf_find_bytes(b->elf, labels[i], strlen(labels[i]) + 1, &strs[i])
        != 0)
      strs[i] = 0;
  string_refs(&c, strs, f->sites, NLABELS);
  if (f->sites[0])
    collect_refs(&c, f->sites[0] - LOOP_WINDOW, f->sites[NLABELS - 1] + 64);
  f->searched = 1;
out:
  if (c.refs)
    f->nrefs = c.nrefs;
  free(c.text);
  /* What the file lacks it will lack next time; memory may come back. */
  if (err == PM_ENOSYM)
    *(f->funcs ? &f->search_err : &f->funcs_err) = err;
  return err;
}

/* Whether refs hold an 8-byte and a 4-byte global: pick_table()'s pairs. */
static int
may_pair(const struct ref *refs, size_t n)
{
  int w8 = 0, w4 = 0;

  for (size_t i = 0; i < n; i++) {
    w8 |= refs[i].width == 8;
    w4 |= refs[i].width == 4;
  }
  return w8 && w4;
}

static int
find_by_code(struct pm_python *py, struct binary *b, unsigned flags,
             struct pm_obm_state *st)
{
  struct code_facts *f;
  struct pm_obm_geometry g;
  struct table_pick pick;
  int err;

  pm__obmalloc_geometry(py, &g);
  /*
   * Without the counters, the functions that walk the arenas usually name
   * the table alone: the search of all .text for the printer's labels is
   * for when they do not.
   */
  if (flags & PM_OBM_NO_COUNTERS) {
    if ((err = code_facts(b, 0, &f)))
      return err;
    if (f->nfunc) {
      err = pick_table(py, b, f->refs, f->nfunc, &g, st, &pick);
      if (err && pm__walk_fatal(err))
        return err;
      if (!err && pick.found)
        return 0;
    }
    /*
     * Functions that may name the table but name none that holds (no
     * pymalloc: PYTHONMALLOC=malloc) do not start the search of all .text
     * here, in the pause: pm__obmalloc_prepare() did it before the pause
     * where the functions could not name it.  The census goes without
     * the blocks then.
     */
    if (!f->searched && may_pair(f->refs, f->nfunc))
      return PM_ENOSYM;
  }
  if ((err = code_facts(b, 1, &f))
      || (err = pick_table(py, b, f->refs, f->nrefs, &g, st, &pick)))
    return err;
  if (!pick.found)
    return PM_ENOSYM;
  if (!(flags & PM_OBM_NO_COUNTERS)) {
    uint64_t exclude[2] = { pick.a_word, pick.m_word };
    return find_counters(py, f, b->bias, exclude, 2, pick.used, st);
  }
  return 0;
}

/*
 * Whether the file says it is 3.12 or later: the state hangs off the
 * interpreter there.  Py_Version (3.11+, const) is read from the file, not
 * the target, which may be running.
 */
static int
file_from_3_12(struct binary *b)
{
  uint64_t at, size, hex = 0;

  if (pm__elf_symbol(b->elf, "Py_Version", &at, &size) != 0 || size != 8
      || pm__elf_read_vaddr(b->elf, at, &hex, 8) != 0)
    return 0;
  return (hex >> 24) == 3 && ((hex >> 16) & 0xff) >= 12;
}

int
pm__obmalloc_prepare(struct pm_python *py, unsigned flags)
{
  struct binary b = { 0 };
  struct code_facts *f;
  uint64_t at;
  int err;

  if ((err = binary_open(py, &b)))
    return err;
  if (!file_from_3_12(&b)
      && ((flags & PM_OBM_NO_SYMBOLS) || local_symbol(&b, "arenas", &at)
          || local_symbol(&b, "maxarenas", &at))) {
    err = code_facts(&b, !(flags & PM_OBM_NO_COUNTERS), &f);
    /*
     * Functions with no 8-byte and 4-byte global to pair cannot name the
     * table (3.8's _Py_GetAllocatedBlocks returns a counter): the pause
     * would search all of .text, so search it now.
     */
    if (!err && !f->searched && !may_pair(f->refs, f->nfunc))
      err = code_facts(&b, 1, &f);
  }
  pm__elf_free(b.elf);
  return err;
}

/* -- 3.12+: the state hangs off each interpreter ----------------------------
 */

/* The allocator state interp uses: 3.12's get_state(), 3.13's pointer. */
static int
state_of(struct pm_python *py, pm_addr_t interp, pm_addr_t main,
         pm_addr_t *state)
{
  const struct pm_layout *L = py->L;
  uint64_t flags = 0;
  int err;

  if (PM_PY_AT_LEAST(py, 3, 13))
    return pm__py_read_u64(py, interp + L->interp_obmalloc, state);
  /* has_own_state(): the main one, or one not told to share main's. */
  err = pm__py_read_u64(py, interp + L->interp_feature_flags, &flags);
  if (err)
    return err;
  if (interp != main && (flags & RTFLAGS_USE_MAIN_OBMALLOC))
    interp = main;
  *state = interp + L->interp_obmalloc;
  return 0;
}

static int
read_state(struct pm_python *py, pm_addr_t state, unsigned flags,
           struct pm_obm_state *st)
{
  const struct pm_layout *L = py->L;
  int64_t lo = L->obmalloc_arenas, hi = L->obmalloc_narenas_highwater + 8;
  unsigned char mgmt[1024];
  int err;

  if (hi - lo > (int64_t)sizeof(mgmt) || L->obmalloc_maxarenas < lo
      || L->obmalloc_ntimes_arena_allocated < lo
      || L->obmalloc_narenas_highwater < lo)
    return PM_EOFFSETS;
  if ((err = pm__py_read(py, state + lo, mgmt, (size_t)(hi - lo))))
    return err;
  st->arenas = pm__obm_u64(mgmt + (L->obmalloc_arenas - lo));
  st->maxarenas = pm__obm_u32(mgmt + (L->obmalloc_maxarenas - lo));
  st->ntimes_arena_allocated = st->narenas_highwater = -1;
  if (!(flags & PM_OBM_NO_COUNTERS)) {
    uint64_t t = pm__obm_u64(mgmt + (L->obmalloc_ntimes_arena_allocated - lo));
    uint64_t h = pm__obm_u64(mgmt + (L->obmalloc_narenas_highwater - lo));
    st->ntimes_arena_allocated = t > INT64_MAX ? -1 : (int64_t)t;
    st->narenas_highwater = h > INT64_MAX ? -1 : (int64_t)h;
  }
  return 0;
}

static int
find_by_interp(struct pm_python *py, unsigned flags, struct pm_obm_state *out,
               int max, int *n)
{
  const struct pm_layout *L = py->L;
  pm_addr_t interps[MAX_INTERPRETERS], states[PM_OBM_MAX_STATES];
  pm_addr_t main = 0, main_state = 0;
  int ni, err;

  *n = 0;
  ni = pm__interpreters(py, interps, MAX_INTERPRETERS);
  if (ni < 0)
    return ni;
  if (ni == 0)
    return PM_ENOPYTHON;
  if ((err = pm_target_read_u64(
           py->t, py->info.runtime + L->runtime_interpreters_main, &main))
      || (err = state_of(py, main, main, &main_state)))
    return err;
  /* The main interpreter's state first: the one sys._debugmallocstats()
   * prints when called from the main interpreter. */
  if (main_state)
    states[(*n)++] = main_state;
  for (int i = 0; i < ni && *n < max && *n < PM_OBM_MAX_STATES; i++) {
    pm_addr_t state;
    int dup = 0;

    if ((err = state_of(py, interps[i], main, &state)))
      return err;
    for (int k = 0; k < *n; k++)
      dup |= states[k] == state;
    if (!dup && state)
      states[(*n)++] = state;
  }
  for (int k = 0; k < *n; k++) {
    struct pm_obm_state *st = &out[k];

    memset(st, 0, sizeof(*st));
    st->interp_id = -1;
    if ((err = read_state(py, states[k], flags, st)))
      return err;
    /* Name a state by the oldest interpreter using it; main's is 0. */
    for (int i = 0; i < ni && L->interp_id >= 0; i++) {
      pm_addr_t s;
      int64_t id;
      if (state_of(py, interps[i], main, &s) == 0 && s == states[k]
          && pm__py_read(py, interps[i] + L->interp_id, &id, 8) == 0 && id >= 0
          && (st->interp_id < 0 || id < st->interp_id))
        st->interp_id = id;
    }
    if (states[k] == main_state)
      st->interp_id = 0;
  }
  return 0;
}

int
pm__obmalloc_find(struct pm_python *py, unsigned flags,
                  struct pm_obm_state *out, int max, int *n,
                  enum pm_obm_source *source)
{
  struct binary b = { 0 };
  int err;

  *n = 0;
  if (max < 1)
    return -EINVAL;
  if (py->L->obmalloc_arenas >= 0 && py->L->interp_obmalloc >= 0) {
    *source = PM_OBM_FROM_INTERP;
    return find_by_interp(py, flags, out, max, n);
  }
  memset(out, 0, sizeof(*out));
  out->interp_id = -1;
  out->ntimes_arena_allocated = -1;
  out->narenas_highwater = -1;
  if ((err = binary_open(py, &b)))
    return err == -ENOMEM || pm__walk_fatal(err) ? err : PM_ENOSYM;
  err = PM_ENOSYM;
  if (!(flags & PM_OBM_NO_SYMBOLS)) {
    *source = PM_OBM_FROM_SYMBOLS;
    err = find_by_symbols(py, &b, flags, out);
  }
  if (err == PM_ENOSYM) {
    *source = PM_OBM_FROM_CODE;
    err = find_by_code(py, &b, flags, out);
  }
  pm__elf_free(b.elf);
  if (!err)
    *n = 1;
  return err;
}
