/* SPDX-License-Identifier: MIT */
/* replay.c -- a recording as a target: recorded bytes, recorded answers */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pmpeek/error.h"
#include "target/record-format.h"
#include "target/target-private.h"

/* Bounds on what a recording may ask of us, far above any real target. */
#define MAX_REGIONS (1u << 20)
#define MAX_FILES 4096
#define MAX_ANSWERS (1u << 20)
#define MAX_FILE_BYTES ((uint64_t)16 << 30)

struct chunk {
  pm_addr_t addr;
  size_t len;
  const unsigned char *data;
};

struct answer {
  int q, err;
  const unsigned char *key, *data;
  size_t keylen, len;
};

struct rfile {
  char *path;
  struct answer *answers;
  size_t n, cap;
};

struct replay_ctx {
  unsigned char *buf; /* the whole recording; everything points into it */
  struct pm_maps regions;
  size_t regions_cap;
  struct chunk *chunks;
  size_t nchunks, chunks_cap;
  struct rfile *files;
  size_t nfiles, files_cap;
  size_t last; /* chunk of the last read */
  int32_t pid;
  char *exe;
};

static int fail(char *why, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(char *why, size_t len, const char *fmt, ...)
{
  va_list ap;

  if (why && len) {
    va_start(ap, fmt);
    vsnprintf(why, len, fmt, ap);
    va_end(ap);
  }
  return PM_ERECORD;
}

static uint32_t
get_u32(const unsigned char *p)
{
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16
         | (uint32_t)p[3] << 24;
}

static uint64_t
get_u64(const unsigned char *p)
{
  return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

/* A path of n bytes at p: no NUL inside, bounded.  NULL on -ENOMEM. */
static char *
text(const unsigned char *p, size_t n)
{
  char *s = malloc(n + 1);

  if (s) {
    memcpy(s, p, n);
    s[n] = '\0';
  }
  return s;
}

static int
path_ok(const unsigned char *p, size_t n)
{
  return n > 0 && n < PATH_MAX && !memchr(p, '\0', n);
}

static void
replay_close(void *ctx)
{
  struct replay_ctx *c = ctx;

  if (!c)
    return;
  pm_maps_release(&c->regions);
  for (size_t i = 0; i < c->nfiles; i++) {
    free(c->files[i].path);
    free(c->files[i].answers);
  }
  free(c->files);
  free(c->chunks);
  free(c->exe);
  free(c->buf);
  free(c);
}

static int
parse_region(struct replay_ctx *c, const unsigned char *p, size_t n, char *why,
             size_t whylen)
{
  struct pm_maps *m = &c->regions;
  struct pm_region *r;

  if (n < 36 || (n > 36 && !path_ok(p + 36, n - 36)))
    return fail(why, whylen, "malformed region record");
  if (m->n >= MAX_REGIONS)
    return fail(why, whylen, "more than %u regions", MAX_REGIONS);
  if (pm__array_grow((void **)&m->v, &c->regions_cap, sizeof(*m->v), m->n + 1))
    return -ENOMEM;
  r = &m->v[m->n];
  r->start = get_u64(p);
  r->end = get_u64(p + 8);
  r->offset = get_u64(p + 16);
  r->inode = get_u64(p + 24);
  r->dev = 0; /* not recorded */
  r->prot = get_u32(p + 32);
  r->path = NULL;
  if (r->end <= r->start || r->prot > 15
      || (m->n > 0 && r->start < m->v[m->n - 1].end))
    return fail(why, whylen, "region at 0x%llx is malformed or out of order",
                (unsigned long long)r->start);
  if (n > 36 && !(r->path = text(p + 36, n - 36)))
    return -ENOMEM;
  m->n++;
  return 0;
}

static int
parse_memory(struct replay_ctx *c, const unsigned char *p, size_t n, char *why,
             size_t whylen)
{
  struct chunk *k;
  pm_addr_t addr;

  if (n <= 8)
    return fail(why, whylen, "malformed memory record");
  addr = get_u64(p);
  if (addr + (n - 8) < addr
      || (c->nchunks > 0
          && addr < c->chunks[c->nchunks - 1].addr
                        + c->chunks[c->nchunks - 1].len))
    return fail(why, whylen, "memory at 0x%llx overlaps or is out of order",
                (unsigned long long)addr);
  if (pm__array_grow((void **)&c->chunks, &c->chunks_cap, sizeof(*c->chunks),
                     c->nchunks + 1))
    return -ENOMEM;
  k = &c->chunks[c->nchunks++];
  k->addr = addr;
  k->len = n - 8;
  k->data = p + 8;
  return 0;
}

static int
parse_file(struct replay_ctx *c, const unsigned char *p, size_t n, char *why,
           size_t whylen)
{
  struct rfile *f;

  if (!path_ok(p, n) || p[0] != '/')
    return fail(why, whylen, "malformed file record");
  if (c->nfiles >= MAX_FILES)
    return fail(why, whylen, "more than %u files", MAX_FILES);
  for (size_t i = 0; i < c->nfiles; i++)
    if (strlen(c->files[i].path) == n && memcmp(c->files[i].path, p, n) == 0)
      return fail(why, whylen, "a file is recorded twice");
  if (pm__array_grow((void **)&c->files, &c->files_cap, sizeof(*c->files),
                     c->nfiles + 1))
    return -ENOMEM;
  f = &c->files[c->nfiles];
  memset(f, 0, sizeof(*f));
  if (!(f->path = text(p, n)))
    return -ENOMEM;
  c->nfiles++;
  return 0;
}

static int
parse_answer(struct replay_ctx *c, const unsigned char *p, size_t n, char *why,
             size_t whylen)
{
  struct rfile *f;
  struct answer *a;
  uint32_t keylen;
  int32_t err;

  if (c->nfiles == 0 || n < 12)
    return fail(why, whylen, "malformed answer record");
  f = &c->files[c->nfiles - 1];
  keylen = get_u32(p + 8);
  err = (int32_t)get_u32(p + 4);
  if (keylen > n - 12 || err > 0 || (err && n - 12 != keylen)
      || get_u32(p) < PM_ELF_Q_TYPE || get_u32(p) > PM_ELF_Q_BUILD_ID)
    return fail(why, whylen, "malformed answer record");
  if (f->n >= MAX_ANSWERS)
    return fail(why, whylen, "more than %u answers", MAX_ANSWERS);
  if (pm__array_grow((void **)&f->answers, &f->cap, sizeof(*f->answers),
                     f->n + 1))
    return -ENOMEM;
  a = &f->answers[f->n++];
  a->q = (int)get_u32(p);
  a->err = err;
  a->keylen = keylen;
  a->key = p + 12;
  a->data = p + 12 + keylen;
  a->len = n - 12 - keylen;
  return 0;
}

static int
parse(struct replay_ctx *c, size_t size, char *why, size_t whylen)
{
  const unsigned char *p = c->buf;
  size_t off = PM_RECORD_MAGIC_LEN;
  int seen_target = 0, err = 0;

  if (size < PM_RECORD_MAGIC_LEN
      || memcmp(p, PM_RECORD_MAGIC, PM_RECORD_MAGIC_LEN - 1) != 0)
    return fail(why, whylen, "not a pmpeek recording");
  if (p[PM_RECORD_MAGIC_LEN - 1] != (unsigned char)PM_RECORD_MAGIC[7])
    return fail(why, whylen, "recording format %u, pmpeek reads %u",
                p[PM_RECORD_MAGIC_LEN - 1], (unsigned char)PM_RECORD_MAGIC[7]);
  while (off < size && !err) {
    uint32_t type, len;

    if (size - off < 8)
      return fail(why, whylen, "truncated at byte %zu", off);
    type = get_u32(p + off);
    len = get_u32(p + off + 4);
    off += 8;
    if (len > size - off)
      return fail(why, whylen, "truncated at byte %zu", off - 8);
    switch (type) {
    case PM_REC_TARGET:
      if (seen_target++ || len < 4
          || (len > 4 && !path_ok(p + off + 4, len - 4)))
        return fail(why, whylen, "malformed target record");
      c->pid = (int32_t)get_u32(p + off);
      if (c->pid < 0)
        c->pid = 0;
      if (len > 4 && !(c->exe = text(p + off + 4, len - 4)))
        return -ENOMEM;
      break;
    case PM_REC_REGION:
      err = parse_region(c, p + off, len, why, whylen);
      break;
    case PM_REC_MEMORY:
      err = parse_memory(c, p + off, len, why, whylen);
      break;
    case PM_REC_FILE:
      err = parse_file(c, p + off, len, why, whylen);
      break;
    case PM_REC_ANSWER:
      err = parse_answer(c, p + off, len, why, whylen);
      break;
    default:
      return fail(why, whylen, "unknown record type %u", type);
    }
    off += len;
  }
  if (!err && c->regions.n == 0)
    return fail(why, whylen, "it holds no regions");
  return err;
}

/* The last chunk that starts at or below addr, or NULL. */
static const struct chunk *
chunk_at(struct replay_ctx *c, pm_addr_t addr)
{
  size_t lo = 0, hi = c->nchunks;

  /* Reads cluster: the chunk of the last read first. */
  if (c->last < c->nchunks && addr >= c->chunks[c->last].addr
      && addr - c->chunks[c->last].addr < c->chunks[c->last].len)
    return &c->chunks[c->last];
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (c->chunks[mid].addr <= addr)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo)
    c->last = lo - 1;
  return lo ? &c->chunks[lo - 1] : NULL;
}

static int
replay_read(void *ctx, pm_addr_t addr, void *buf, size_t len)
{
  struct replay_ctx *c = ctx;
  const struct chunk *k = chunk_at(c, addr);
  const struct chunk *end = c->chunks + c->nchunks;
  unsigned char *out = buf;
  size_t need = len;

  if (!k || addr - k->addr >= k->len)
    return -EFAULT;
  if (len <= k->len - (size_t)(addr - k->addr)) {
    memcpy(out, k->data + (addr - k->addr), len);
    return 0;
  }
  /*
   * A range may run on into the next chunks when they are adjacent;
   * checked before anything is copied, so a failed read copies nothing.
   */
  for (const struct chunk *q = k;; q++) {
    size_t have = q->len - (size_t)(q == k ? addr - k->addr : 0);
    if (have >= need)
      break;
    need -= have;
    if (q + 1 >= end || q[1].addr != q->addr + q->len)
      return -EFAULT;
  }
  while (len > 0) {
    size_t off = (size_t)(addr - k->addr);
    size_t n = k->len - off < len ? k->len - off : len;
    memcpy(out, k->data + off, n);
    out += n, addr += n, len -= n;
    k++;
  }
  return 0;
}

static int
replay_nop(void *ctx)
{
  (void)ctx;
  return 0;
}

static int
replay_refresh_maps(void *ctx, struct pm_maps *maps)
{
  const struct replay_ctx *c = ctx;

  maps->v = calloc(c->regions.n ? c->regions.n : 1, sizeof(*maps->v));
  if (!maps->v)
    return -ENOMEM;
  for (size_t i = 0; i < c->regions.n; i++) {
    maps->v[i] = c->regions.v[i];
    maps->v[i].path = NULL;
    if (c->regions.v[i].path
        && !(maps->v[i].path = strdup(c->regions.v[i].path)))
      return -ENOMEM; /* the caller releases what was copied */
    maps->n = i + 1;
  }
  return 0;
}

static int
replay_region_file(void *ctx, const struct pm_region *r, char *buf, size_t len)
{
  (void)ctx, (void)r, (void)buf, (void)len;
  return -ENOENT; /* no file on disk: replay_elf_open() answers for it */
}

/* What a file that was never asked this question answers. */
static int
unasked(int q)
{
  switch (q) {
  case PM_ELF_Q_SYMBOL:
  case PM_ELF_Q_SECTION:
  case PM_ELF_Q_FIND_BYTES:
  case PM_ELF_Q_BUILD_ID:
    return PM_ENOSYM;
  case PM_ELF_Q_READ_VADDR:
    return -EFAULT;
  default:
    return PM_EELF;
  }
}

static int
replay_ask(void *arg, int q, const void *key, size_t keylen,
           const void **answer, size_t *len)
{
  const struct rfile *f = arg;

  for (size_t i = 0; i < f->n; i++) {
    const struct answer *a = &f->answers[i];
    if (a->q != q || a->keylen != keylen
        || (keylen && memcmp(a->key, key, keylen) != 0))
      continue;
    *answer = a->data;
    *len = a->len;
    return a->err;
  }
  return unasked(q);
}

static int
replay_elf_open(void *ctx, const struct pm_region *r, struct pm_elf **out)
{
  struct replay_ctx *c = ctx;

  for (size_t i = 0; i < c->nfiles; i++)
    if (strcmp(c->files[i].path, r->path) == 0)
      return pm__elf_open_answers(out, replay_ask, &c->files[i]);
  return -ENOENT;
}

static const struct pm_target_ops replay_target_ops = {
  replay_read,
  replay_nop,
  replay_nop,
  replay_refresh_maps,
  replay_region_file,
  NULL,
  replay_close,
  replay_elf_open,
  1, /* direct: the recording is in memory already */
  0,
};

/* Takes ownership of buf (size bytes). */
static int
open_buffer(struct pm_target **out, unsigned char *buf, size_t size, char *why,
            size_t whylen)
{
  struct replay_ctx *c = calloc(1, sizeof(*c));
  struct pm_target *t;
  int err;

  if (!c) {
    free(buf);
    return -ENOMEM;
  }
  c->buf = buf;
  pm_maps_init(&c->regions);
  if ((err = parse(c, size, why, whylen))) {
    replay_close(c);
    return err;
  }
  if ((err = pm__target_new(&t, &replay_target_ops, c, (pid_t)c->pid)))
    return err; /* c is freed */
  if (c->exe && !(t->exe = strdup(c->exe))) {
    pm_target_free(t);
    return -ENOMEM;
  }
  *out = t;
  return 0;
}

int
pm_target_open_replay_mem(struct pm_target **out, const void *data, size_t len,
                          char *why, size_t whylen)
{
  unsigned char *buf = malloc(len ? len : 1);

  if (!buf)
    return -ENOMEM;
  if (len)
    memcpy(buf, data, len);
  return open_buffer(out, buf, len, why, whylen);
}

int
pm_target_open_replay(struct pm_target **out, const char *path, char *why,
                      size_t whylen)
{
  unsigned char *buf;
  struct stat st;
  size_t size, got = 0;
  int fd, err;

  /* O_NONBLOCK: a FIFO given by mistake must not hang us. */
  fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0)
    return -errno;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)
      || (uint64_t)st.st_size > MAX_FILE_BYTES) {
    err = fstat(fd, &st) != 0 ? -errno
                              : fail(why, whylen,
                                     "not a regular file of "
                                     "at most 16 GiB");
    close(fd);
    return err;
  }
  size = (size_t)st.st_size;
  if (!(buf = malloc(size ? size : 1))) {
    close(fd);
    return -ENOMEM;
  }
  /* Read, not mapped: a file cut short under us must not SIGBUS us. */
  while (got < size) {
    ssize_t n = read(fd, buf + got, size - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    got += (size_t)n;
  }
  close(fd);
  return open_buffer(out, buf, got, why, whylen);
}

int
pm_target_is_recording(const char *path)
{
  char head[PM_RECORD_MAGIC_LEN - 1];
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  ssize_t n;

  if (fd < 0)
    return 0;
  n = read(fd, head, sizeof(head));
  close(fd);
  return n == (ssize_t)sizeof(head)
         && memcmp(head, PM_RECORD_MAGIC, sizeof(head)) == 0;
}
