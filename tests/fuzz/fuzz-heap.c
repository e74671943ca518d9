/* SPDX-License-Identifier: MIT */
/* fuzz-heap.c -- libFuzzer harness: the census over a recording's patched
 * memory */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pmpeek/allocator.h"
#include "pmpeek/census.h"
#include "pmpeek/paths.h"
#include "pmpeek/python.h"
#include "pmpeek/stacks.h"
#include "pmpeek/target.h"

/*
 * fuzz-replay mutates whole recordings, megabytes each, and most of its
 * mutations break the records.  Here the recordings are fixed (the
 * ':'-separated paths in $PMPEEK_FUZZ_BASE, read once) and the input is a
 * short list of patches to the memory they hold, as a hostile or torn
 * heap would differ from a sound one:
 *
 *   byte 0            which recording
 *   then per patch:   u8 op, u32 at (an offset into the recorded memory,
 *                     modulo its size), then
 *     op % 4 == 0     u8 n, n bytes: written at `at`
 *     op % 4 == 1     u32 from: the 8 bytes at `from` copied to `at`
 *                     (a pointer or header from elsewhere: aliasing, loops)
 *     op % 4 == 2     u32 to: the address of `to` written at `at` (a
 *                     pointer into recorded memory)
 *     op % 4 == 3     u8 k: the word at `at` plus or minus k * 8
 *
 * Each input runs what `pmpeek --allocator`, `pmpeek --threads` and
 * `pmpeek --referrers KIND` do; the kind is one of the census's, chosen
 * by the input's last byte.
 */

struct base {
  unsigned char *buf;
  size_t len;
  /* The memory records' bytes: where each run starts in buf, its address. */
  size_t *at;
  unsigned long long *addr;
  size_t *runlen;
  size_t nruns, total;
};

static struct base *bases;
static size_t nbases;

static uint32_t
get_u32(const unsigned char *p)
{
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16
         | (uint32_t)p[3] << 24;
}

static void
load(const char *path)
{
  struct base b = { 0 };
  FILE *f = fopen(path, "rb");
  size_t off = 8;

  if (!f || fseek(f, 0, SEEK_END) != 0 || (b.len = (size_t)ftell(f)) < 8) {
    fprintf(stderr, "fuzz-heap: cannot read '%s'\n", path);
    exit(1);
  }
  rewind(f);
  b.buf = malloc(b.len);
  if (!b.buf || fread(b.buf, 1, b.len, f) != b.len)
    exit(1);
  fclose(f);
  b.at = malloc(sizeof(*b.at) * (b.len / 16 + 1));
  b.addr = malloc(sizeof(*b.addr) * (b.len / 16 + 1));
  b.runlen = malloc(sizeof(*b.runlen) * (b.len / 16 + 1));
  if (!b.at || !b.addr || !b.runlen)
    exit(1);
  while (off + 8 <= b.len) {
    uint32_t type = get_u32(b.buf + off), len = get_u32(b.buf + off + 4);
    if (len > b.len - off - 8)
      break;
    if (type == 3 && len > 8) { /* PM_REC_MEMORY */
      unsigned long long a = 0;
      for (int i = 7; i >= 0; i--)
        a = a << 8 | b.buf[off + 8 + i];
      b.at[b.nruns] = off + 16;
      b.addr[b.nruns] = a;
      b.runlen[b.nruns] = len - 8;
      b.total += len - 8;
      b.nruns++;
    }
    off += 8 + len;
  }
  if (!b.total) {
    fprintf(stderr, "fuzz-heap: '%s' holds no memory\n", path);
    exit(1);
  }
  bases = realloc(bases, sizeof(*bases) * (nbases + 1));
  bases[nbases++] = b;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
  const char *env = getenv("PMPEEK_FUZZ_BASE");
  char *list, *tok, *save = NULL;

  (void)argc, (void)argv;
  if (!env || !*env) {
    fprintf(stderr, "fuzz-heap: set PMPEEK_FUZZ_BASE to recordings\n");
    exit(1);
  }
  list = strdup(env);
  for (tok = strtok_r(list, ":", &save); tok; tok = strtok_r(NULL, ":", &save))
    load(tok);
  free(list);
  return 0;
}

/* The run and offset in it of memory byte k (k < total). */
static size_t
locate(const struct base *b, uint64_t k, size_t *run)
{
  size_t i = 0;

  while (k >= b->runlen[i])
    k -= b->runlen[i++];
  *run = i;
  return (size_t)k;
}

static void
patch(const struct base *b, unsigned char *buf, const uint8_t *p, size_t n)
{
  while (n >= 5) {
    uint8_t op = p[0];
    size_t run, off = locate(b, get_u32(p + 1) % b->total, &run);
    unsigned char *at = buf + b->at[run] + off;
    size_t room = b->runlen[run] - off;

    p += 5, n -= 5;
    if (op % 4 == 0 && n >= 1) {
      size_t k = p[0] < n - 1 ? p[0] : n - 1;
      memcpy(at, p + 1, k < room ? k : room);
      p += 1 + k, n -= 1 + k;
    } else if (op % 4 == 1 && n >= 4) {
      size_t r2, o2 = locate(b, get_u32(p) % b->total, &r2);
      if (room >= 8 && b->runlen[r2] - o2 >= 8)
        memmove(at, buf + b->at[r2] + o2, 8);
      p += 4, n -= 4;
    } else if (op % 4 == 2 && n >= 4) {
      size_t r2, o2 = locate(b, get_u32(p) % b->total, &r2);
      unsigned long long a = b->addr[r2] + o2;
      for (int i = 0; i < 8 && (size_t)i < room; i++)
        at[i] = (unsigned char)(a >> (8 * i));
      p += 4, n -= 4;
    } else if (op % 4 == 3 && n >= 1) {
      unsigned long long w = 0;
      int64_t d = (int64_t)(p[0] & 0x7f) * 8 * ((p[0] & 0x80) ? -1 : 1);
      if (room >= 8) {
        memcpy(&w, at, 8);
        w += (unsigned long long)d;
        memcpy(at, &w, 8);
      }
      p += 1, n -= 1;
    } else {
      break;
    }
  }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const struct base *b;
  unsigned char *buf;
  struct pm_target *t;
  struct pm_python *py;
  struct pm_census c;
  struct pm_stacks s;
  struct pm_referrers r;
  struct pm_allocator a;
  char why[256];

  if (size < 1)
    return 0;
  b = &bases[data[0] % nbases];
  if (!(buf = malloc(b->len)))
    return 0;
  memcpy(buf, b->buf, b->len);
  patch(b, buf, data + 1, size - 1);
  if (pm_target_open_replay_mem(&t, buf, b->len, why, sizeof(why)) != 0) {
    free(buf);
    return 0;
  }
  free(buf);
  if (pm_target_pause(t) == 0 && pm_python_open(&py, t, NULL) == 0) {
    char *kind = NULL;
    if (pm_census_take(&c, py, PM_CENSUS_BY_KIND) == 0) {
      if (c.nkinds)
        kind = strdup(c.kinds[data[size - 1] % c.nkinds].name);
      pm_census_release(&c);
    }
    pm_stacks_init(&s);
    if (pm_stacks_take(&s, py) == 0 && kind) {
      pm_referrers_init(&r);
      if (pm_referrers_take(&r, py, kind, 3, &s) == 0)
        pm_referrers_release(&r);
    }
    pm_stacks_release(&s);
    free(kind);
    pm_allocator_init(&a);
    (void)pm_allocator_take(&a, py, 0);
    pm_allocator_release(&a);
    pm_python_free(py);
  }
  pm_target_free(t);
  return 0;
}
