/* SPDX-License-Identifier: MIT */
/* core.c -- the core-file backend: PT_LOAD segments, then the mapped files */
#include <config.h>

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elf/elf-core.h"
#include "elf/elf-file.h"
#include "pmpeek/error.h"
#include "target/target-private.h"

/* Enough of a mapped ELF file's start to hold its build-id note. */
#define HEADER_BYTES 4096
#define BUILD_ID_MAX 129
#define PAGE 4096u

/* One distinct file of the NT_FILE note. */
struct core_file {
  const char *path; /* as the core records it; points into the core */
  char *disk;       /* where it is looked for on disk */
  int present;      /* disk can be opened for reading */
  int fd;           /* opened on first read; -1 */
  uint64_t size;    /* of disk, once opened */
};

struct core_ctx {
  struct pm_elf_core *core;
  struct core_file *files;
  size_t nfiles;
  size_t *file_of; /* per NT_FILE entry: its index in files */
  size_t exe;      /* index in files, or SIZE_MAX */
  char *path;
  struct pm_core_info info;
};

static int why(const struct pm_core_options *o, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
why(const struct pm_core_options *o, int err, const char *fmt, ...)
{
  va_list ap;

  if (o->why && o->why_len) {
    va_start(ap, fmt);
    vsnprintf(o->why, o->why_len, fmt, ap);
    va_end(ap);
  }
  return err;
}

static void
close_files(struct core_ctx *c, size_t keep)
{
  for (size_t i = 0; i < c->nfiles; i++)
    if (i != keep && c->files[i].fd >= 0) {
      close(c->files[i].fd);
      c->files[i].fd = -1;
    }
}

static int
file_open(struct core_ctx *c, size_t i)
{
  struct core_file *f = &c->files[i];
  struct stat st;

  if (f->fd >= 0)
    return 0;
  if (!f->present)
    return -EFAULT;
  /* The paths come from the core: a FIFO there must not block us. */
  f->fd = open(f->disk, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (f->fd < 0 && (errno == EMFILE || errno == ENFILE)) {
    /* Out of descriptors: those are only a cache, drop the others. */
    close_files(c, i);
    f->fd = open(f->disk, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  }
  if (f->fd < 0)
    return -EFAULT;
  if (fstat(f->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(f->fd);
    f->fd = -1;
    return -EFAULT;
  }
  f->size = (uint64_t)st.st_size;
  return 0;
}

/*
 * Reads a file-backed range the core left out.  Past the end of the file,
 * the rest of its last page reads as zeros, as it does in the process.
 */
static int
file_read(struct core_ctx *c, size_t i, uint64_t off, unsigned char *out,
          size_t len)
{
  struct core_file *f = &c->files[i];
  uint64_t zeros_end;
  int err;

  if ((err = file_open(c, i)))
    return err;
  zeros_end = (f->size + PAGE - 1) & ~(uint64_t)(PAGE - 1);
  while (len > 0) {
    ssize_t n = 0;

    if (off < f->size) {
      size_t want = f->size - off < len ? (size_t)(f->size - off) : len;
      n = pread(f->fd, out, want, (off_t)off);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return -EFAULT;
    } else if (off < zeros_end) {
      n = (ssize_t)(zeros_end - off < len ? zeros_end - off : len);
      memset(out, 0, (size_t)n);
    } else {
      return -EFAULT;
    }
    out += n, off += (uint64_t)n, len -= (size_t)n;
  }
  return 0;
}

static int
core_read(void *ctx, pm_addr_t addr, void *buf, size_t len)
{
  struct core_ctx *c = ctx;
  unsigned char *out = buf;

  /* Each round serves one piece from one source; both tables are sorted. */
  while (len > 0) {
    const struct pm_core_segment *s = pm__core_segment(c->core, addr);
    const struct pm_core_mapping *m;
    uint64_t limit;
    size_t n;
    int err;

    if (s && addr - s->vaddr < s->filesz) {
      n = s->filesz - (addr - s->vaddr) < len
              ? (size_t)(s->filesz - (addr - s->vaddr))
              : len;
      if ((err = pm__core_read(c->core, addr, out, n)))
        return err;
    } else {
      m = pm__core_mapping(c->core, addr);
      if (!m)
        return -EFAULT;
      limit = m->end;
      if (s) {
        if (s->vaddr + s->memsz < limit)
          limit = s->vaddr + s->memsz;
      } else if ((s = pm__core_segment_after(c->core, addr))
                 && s->vaddr < limit) {
        limit = s->vaddr;
      }
      n = limit - addr < len ? (size_t)(limit - addr) : len;
      err = file_read(c, c->file_of[m - c->core->maps],
                      m->offset + (addr - m->start), out, n);
      if (err)
        return err;
    }
    out += n, addr += n, len -= n;
  }
  return 0;
}

static int
core_nop(void *ctx)
{
  (void)ctx;
  return 0;
}

static unsigned
prot_of(unsigned flags)
{
  return (flags & PF_R ? PM_PROT_READ : 0) | (flags & PF_W ? PM_PROT_WRITE : 0)
         | (flags & PF_X ? PM_PROT_EXEC : 0);
}

static int
addr_cmp(const void *a, const void *b)
{
  const uint64_t *x = a, *y = b;
  return *x < *y ? -1 : *x > *y;
}

/*
 * The regions are the pieces between every boundary of a segment or an
 * NT_FILE entry, and where a segment's bytes in the core end: so that no
 * region is part core, part elsewhere, and a read cache filling a whole
 * region never trips over the part that is missing.  A piece only in
 * NT_FILE (gcore leaves whole mappings out) is readable from the file;
 * its real permissions are unknown.
 */
static int
core_refresh_maps(void *ctx, struct pm_maps *maps)
{
  struct core_ctx *c = ctx;
  const struct pm_elf_core *k = c->core;
  size_t nb = 0, cap = 3 * k->nsegs + 2 * k->nmaps;
  uint64_t *b = malloc((cap ? cap : 1) * sizeof(*b));
  int err = 0;

  if (!b)
    return -ENOMEM;
  for (size_t i = 0; i < k->nsegs; i++) {
    b[nb++] = k->segs[i].vaddr;
    b[nb++] = k->segs[i].vaddr + k->segs[i].memsz;
    if (k->segs[i].filesz > 0 && k->segs[i].filesz < k->segs[i].memsz)
      b[nb++] = k->segs[i].vaddr + k->segs[i].filesz;
  }
  for (size_t i = 0; i < k->nmaps; i++) {
    b[nb++] = k->maps[i].start;
    b[nb++] = k->maps[i].end;
  }
  qsort(b, nb, sizeof(*b), addr_cmp);
  maps->v = calloc(nb ? nb : 1, sizeof(*maps->v));
  if (!maps->v) {
    free(b);
    return -ENOMEM;
  }
  for (size_t i = 0; i + 1 < nb; i++) {
    const struct pm_core_segment *s;
    const struct pm_core_mapping *m;
    struct pm_region *r;

    if (b[i] == b[i + 1])
      continue;
    s = pm__core_segment(k, b[i]);
    m = pm__core_mapping(k, b[i]);
    if (!s && !m)
      continue;
    r = &maps->v[maps->n];
    r->start = b[i];
    r->end = b[i + 1];
    r->prot = s ? prot_of(s->flags) : PM_PROT_READ;
    r->offset = m ? m->offset + (b[i] - m->start) : 0;
    r->inode = 0;
    r->dev = 0;
    r->path = NULL;
    if (m && !(r->path = strdup(m->path))) {
      err = -ENOMEM;
      break;
    }
    maps->n++;
  }
  free(b);
  return err;
}

static int
core_region_file(void *ctx, const struct pm_region *r, char *buf, size_t len)
{
  struct core_ctx *c = ctx;
  const struct pm_core_mapping *m = pm__core_mapping(c->core, r->start);
  const struct core_file *f;

  if (!m)
    return -ENOENT;
  f = &c->files[c->file_of[m - c->core->maps]];
  if (!f->present)
    return -ENOENT;
  if (strlen(f->disk) >= len)
    return -ENAMETOOLONG;
  strcpy(buf, f->disk);
  return 0;
}

static void
core_close(void *ctx)
{
  struct core_ctx *c = ctx;

  if (!c)
    return;
  close_files(c, SIZE_MAX);
  for (size_t i = 0; i < c->nfiles; i++)
    free(c->files[i].disk);
  free(c->files);
  free(c->file_of);
  free(c->path);
  pm__core_free(c->core);
  free(c);
}

static const struct pm_target_ops core_target_ops = {
  core_read,
  core_nop,
  core_nop,
  core_refresh_maps,
  core_region_file,
  NULL,
  core_close,
  NULL,
  0,
  0,
};

/* An NT_FILE entry by path, to find the distinct files. */
struct by_path {
  const char *path;
  size_t index;
};

static int
path_cmp(const void *a, const void *b)
{
  const struct by_path *x = a, *y = b;
  int d = strcmp(x->path, y->path);
  return d ? d : (x->index > y->index) - (x->index < y->index);
}

/*
 * Where the recorded path is looked for: the --exe file for the
 * executable, else the path (without the kernel's " (deleted)") under
 * lib_root.
 */
static char *
disk_path(const char *recorded, int is_exe, const struct pm_core_options *o)
{
  size_t n = strlen(recorded), rootlen;
  char *out;

  if (is_exe && o->exe)
    return strdup(o->exe);
  if (n > 10 && strcmp(recorded + n - 10, " (deleted)") == 0)
    n -= 10;
  rootlen = o->lib_root ? strlen(o->lib_root) : 0;
  while (rootlen > 0 && o->lib_root[rootlen - 1] == '/')
    rootlen--;
  out = malloc(rootlen + n + 1);
  if (!out)
    return NULL;
  if (rootlen)
    memcpy(out, o->lib_root, rootlen);
  memcpy(out + rootlen, recorded, n);
  out[rootlen + n] = '\0';
  return out;
}

static int
group_files(struct core_ctx *c)
{
  const struct pm_elf_core *k = c->core;
  size_t n = k->nmaps ? k->nmaps : 1;
  struct by_path *order;

  c->file_of = calloc(n, sizeof(*c->file_of));
  c->files = calloc(n, sizeof(*c->files));
  order = malloc(n * sizeof(*order));
  if (!c->file_of || !c->files || !order) {
    free(order);
    return -ENOMEM;
  }
  for (size_t i = 0; i < k->nmaps; i++)
    order[i] = (struct by_path){ k->maps[i].path, i };
  qsort(order, k->nmaps, sizeof(*order), path_cmp);
  for (size_t i = 0; i < k->nmaps; i++) {
    if (i == 0 || strcmp(order[i].path, c->files[c->nfiles - 1].path) != 0) {
      c->files[c->nfiles].path = order[i].path;
      c->files[c->nfiles].fd = -1;
      c->nfiles++;
    }
    c->file_of[order[i].index] = c->nfiles - 1;
  }
  free(order);
  return 0;
}

/* The executable: the file mapped where the auxv says its headers are. */
static size_t
find_exe(const struct core_ctx *c)
{
  const struct pm_elf_core *k = c->core;
  const struct pm_core_mapping *m = NULL;

  if (k->at_phdr)
    m = pm__core_mapping(k, k->at_phdr);
  if (!m && k->at_entry)
    m = pm__core_mapping(k, k->at_entry);
  if (!m && k->nmaps)
    m = &k->maps[0];
  return m ? c->file_of[m - k->maps] : SIZE_MAX;
}

/*
 * Build-id of file i as the core shows it: from the first page of its
 * mapping at offset 0, when the core kept that page.  0 or PM_ENOSYM.
 */
static int
core_build_id(const struct core_ctx *c, size_t i, char *id, size_t len)
{
  const struct pm_elf_core *k = c->core;
  unsigned char page[HEADER_BYTES];

  for (size_t j = 0; j < k->nmaps; j++) {
    const struct pm_core_mapping *m = &k->maps[j];
    const struct pm_core_segment *s;
    uint64_t have;

    if (c->file_of[j] != i || m->offset != 0)
      continue;
    s = pm__core_segment(k, m->start);
    if (!s || m->start - s->vaddr >= s->filesz)
      continue;
    have = s->filesz - (m->start - s->vaddr);
    if (have > m->end - m->start)
      have = m->end - m->start;
    if (have > sizeof(page))
      have = sizeof(page);
    if (pm__core_read(k, m->start, page, (size_t)have) == 0
        && pm__elf_image_build_id(page, (size_t)have, id, len) == 0)
      return 0;
  }
  return PM_ENOSYM;
}

/*
 * Checks every file against the core and notes which are missing.  A
 * mismatch is refused unless forced; a file without build-id in the core
 * (or whose first page the core left out) cannot be checked and is used.
 */
static int
check_files(struct core_ctx *c, const struct pm_core_options *o)
{
  for (size_t i = 0; i < c->nfiles; i++) {
    struct core_file *f = &c->files[i];
    char want[BUILD_ID_MAX], have[BUILD_ID_MAX];
    struct pm_elf *e;
    int err;

    f->disk = disk_path(f->path, i == c->exe, o);
    if (!f->disk)
      return -ENOMEM;
    f->present = access(f->disk, R_OK) == 0;
    if (!f->present) {
      if (i == c->exe)
        return why(o, PM_ENOFILE, "executable '%s' not found%s", f->disk,
                   o->exe ? "" : " (name it with --exe)");
      /* Python's own files first: those are the ones that matter. */
      if (!c->info.missing
          || (!strstr(c->info.missing, "python") && strstr(f->disk, "python")))
        c->info.missing = f->disk;
      c->info.nmissing++;
      continue;
    }
    if (core_build_id(c, i, want, sizeof(want)) != 0)
      continue;
    err = pm__elf_open(&e, f->disk);
    if (err == 0) {
      err = pm__elf_build_id(e, have, sizeof(have));
      pm__elf_free(e);
    }
    if (err == 0 && strcmp(have, want) == 0)
      continue;
    if (o->force) {
      if (!c->info.forced)
        c->info.forced = f->disk;
      continue;
    }
    if (err)
      return why(o, PM_EBUILDID,
                 "'%s' is %s, the core maps '%s' with build-id %s", f->disk,
                 err == PM_ENOSYM ? "without build-id" : "not an ELF file",
                 f->path, want);
    return why(o, PM_EBUILDID,
               "'%s' has build-id %s, the core maps '%s' with build-id %s",
               f->disk, have, f->path, want);
  }
  return 0;
}

int
pm_target_open_core(struct pm_target **out, const char *path,
                    const struct pm_core_options *opts)
{
  static const struct pm_core_options none;
  const struct pm_core_options *o = opts ? opts : &none;
  struct core_ctx *c;
  struct pm_target *t;
  int err;

  c = calloc(1, sizeof(*c));
  if (!c)
    return -ENOMEM;
  c->exe = SIZE_MAX;
  err = pm__core_open(&c->core, path, o->why, o->why_len);
  if (err)
    goto fail;
  if (!(c->path = strdup(path))) {
    err = -ENOMEM;
    goto fail;
  }
  c->info.core = c->path;
  c->info.signal = c->core->signal;
  if (c->core->nsegs == 0) {
    err = why(o, PM_ECORE, "it holds no memory segments");
    goto fail;
  }
  if (c->core->needed_size > c->core->file_size) {
    if (!o->force) {
      err = why(o, PM_ECORE, "truncated: %llu bytes of %llu",
                (unsigned long long)c->core->file_size,
                (unsigned long long)c->core->needed_size);
      goto fail;
    }
    c->info.truncated = 1;
  }
  if ((err = group_files(c)))
    goto fail;
  c->exe = find_exe(c);
  if ((err = check_files(c, o)))
    goto fail;
  err = pm__target_new(&t, &core_target_ops, c, c->core->pid);
  if (err)
    return err; /* c is freed */
  if (c->exe != SIZE_MAX && !(t->exe = strdup(c->files[c->exe].path))) {
    pm_target_free(t);
    return -ENOMEM;
  }
  *out = t;
  return 0;

fail:
  core_close(c);
  return err;
}

const struct pm_core_info *
pm_target_core_info(const struct pm_target *t)
{
  if (!t || t->ops != &core_target_ops)
    return NULL;
  return &((const struct core_ctx *)t->ctx)->info;
}
