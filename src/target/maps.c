/* SPDX-License-Identifier: MIT */
/* maps.c -- parse /proc/PID/maps into sorted regions */
#include <config.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pmpeek/target.h"

void
pm_maps_init(struct pm_maps *m)
{
  m->v = NULL;
  m->n = 0;
}

void
pm_maps_release(struct pm_maps *m)
{
  for (size_t i = 0; i < m->n; i++)
    free(m->v[i].path);
  free(m->v);
  pm_maps_init(m);
}

/*
 * Reads a number of base 16 or 10 at *p, before end: one digit at least,
 * no more than fit 64 bits.  A process of thousands of threads has as many
 * stacks mapped, and its maps are read in every pause: this is several
 * times faster than sscanf().
 */
static int
number(const char **p, const char *end, unsigned base, uint64_t *out)
{
  const char *s = *p;
  uint64_t v = 0;

  for (; s < end; s++) {
    unsigned d;
    if (*s >= '0' && *s <= '9')
      d = (unsigned)(*s - '0');
    else if (base == 16 && *s >= 'a' && *s <= 'f')
      d = (unsigned)(*s - 'a' + 10);
    else
      break;
    if (v > (UINT64_MAX - d) / base)
      return -EINVAL;
    v = v * base + d;
  }
  if (s == *p)
    return -EINVAL;
  *p = s;
  *out = v;
  return 0;
}

/* Consumes the character c at *p. */
static int
expect(const char **p, const char *end, char c)
{
  if (*p >= end || **p != c)
    return -EINVAL;
  (*p)++;
  return 0;
}

/* "start-end perms offset major:minor inode   name", the name optional. */
static int
parse_line(const char *line, size_t len, struct pm_region *r)
{
  const char *p = line, *end = line + len, *perms;
  uint64_t start, end_addr, offset, major, minor, inode;

  if (number(&p, end, 16, &start) || expect(&p, end, '-')
      || number(&p, end, 16, &end_addr) || expect(&p, end, ' '))
    return -EINVAL;
  perms = p;
  if (end - p < 5 || !strchr("r-", perms[0]) || !strchr("w-", perms[1])
      || !strchr("x-", perms[2]) || !strchr("ps", perms[3]))
    return -EINVAL;
  p += 4;
  if (expect(&p, end, ' ') || number(&p, end, 16, &offset)
      || expect(&p, end, ' ') || number(&p, end, 16, &major)
      || expect(&p, end, ':') || number(&p, end, 16, &minor)
      || expect(&p, end, ' ') || number(&p, end, 10, &inode))
    return -EINVAL;
  if (end_addr <= start || major > UINT32_MAX || minor > UINT32_MAX
      || (p < end && *p != ' '))
    return -EINVAL;
  while (p < end && *p == ' ')
    p++;
  r->start = start;
  r->end = end_addr;
  r->offset = offset;
  r->inode = inode;
  r->dev = major << 32 | minor;
  r->prot = (perms[0] == 'r' ? PM_PROT_READ : 0)
            | (perms[1] == 'w' ? PM_PROT_WRITE : 0)
            | (perms[2] == 'x' ? PM_PROT_EXEC : 0)
            | (perms[3] == 's' ? PM_PROT_SHARED : 0);
  r->path = NULL;
  if (p < end) {
    r->path = strndup(p, (size_t)(end - p));
    if (!r->path)
      return -ENOMEM;
  }
  return 0;
}

int
pm_maps_parse(struct pm_maps *m, const char *text)
{
  size_t cap = m->n;
  const char *p = text;

  while (*p) {
    const char *nl = strchr(p, '\n');
    size_t len = nl ? (size_t)(nl - p) : strlen(p);
    struct pm_region r;
    int err;

    if (len == 0) {
      p += nl ? 1 : 0;
      if (!nl)
        break;
      continue;
    }
    err = parse_line(p, len, &r);
    if (err)
      return err;
    if (m->n > 0 && r.start < m->v[m->n - 1].end) {
      free(r.path);
      return -EINVAL;
    }
    if (m->n == cap) {
      size_t ncap = cap ? cap * 2 : 64;
      struct pm_region *nv = realloc(m->v, ncap * sizeof(*nv));
      if (!nv) {
        free(r.path);
        return -ENOMEM;
      }
      m->v = nv;
      cap = ncap;
    }
    m->v[m->n++] = r;
    if (!nl)
      break;
    p = nl + 1;
  }
  return 0;
}

const struct pm_region *
pm_maps_find(const struct pm_maps *m, pm_addr_t addr)
{
  size_t lo = 0, hi = m->n;

  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (addr < m->v[mid].start)
      hi = mid;
    else if (addr >= m->v[mid].end)
      lo = mid + 1;
    else
      return &m->v[mid];
  }
  return NULL;
}
