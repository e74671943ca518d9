/* SPDX-License-Identifier: MIT */
/* maps.c -- parse /proc/PID/maps into sorted regions */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
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

static int
parse_line(const char *line, size_t len, struct pm_region *r)
{
  char perms[5];
  unsigned long long start, end, offset, inode;
  unsigned dev_major, dev_minor;
  int name_at = 0;
  char buf[256];
  size_t head = len < sizeof(buf) - 1 ? len : sizeof(buf) - 1;

  /*
   * The fields before the name fit in buf; the name, which the target
   * chooses, may be as long as a path gets and is copied from the line.
   */
  memcpy(buf, line, head);
  buf[head] = '\0';
  if (sscanf(buf, "%llx-%llx %4s %llx %x:%x %llu %n", &start, &end, perms,
             &offset, &dev_major, &dev_minor, &inode, &name_at)
      < 7)
    return -EINVAL;
  if (end <= start || strlen(perms) != 4 || !strchr("r-", perms[0])
      || !strchr("w-", perms[1]) || !strchr("x-", perms[2])
      || !strchr("ps", perms[3]))
    return -EINVAL;
  r->start = start;
  r->end = end;
  r->offset = offset;
  r->inode = inode;
  r->dev = (uint64_t)dev_major << 32 | dev_minor;
  r->prot = (perms[0] == 'r' ? PM_PROT_READ : 0)
            | (perms[1] == 'w' ? PM_PROT_WRITE : 0)
            | (perms[2] == 'x' ? PM_PROT_EXEC : 0)
            | (perms[3] == 's' ? PM_PROT_SHARED : 0);
  r->path = NULL;
  if (name_at > 0 && (size_t)name_at < len) {
    r->path = strndup(line + name_at, len - (size_t)name_at);
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
