/* SPDX-License-Identifier: MIT */
/* record.c -- keep what a walk read from a target, and write it out */
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pmpeek/error.h"
#include "target/record-format.h"
#include "target/target-private.h"

#define PAGE_BITS 12
#define PAGE_SIZE ((size_t)1 << PAGE_BITS)

/* One page the walk read from, and which of its bytes. */
struct page {
  pm_addr_t base;
  uint64_t have[PAGE_SIZE / 64];
  unsigned char data[PAGE_SIZE];
};

struct answer {
  int q, err;
  void *key, *data;
  size_t keylen, len;
};

/* Questions asked of one mapped file, under the path its regions give. */
struct file {
  struct pm_record *rec;
  char *path;
  struct answer *answers;
  size_t n, cap;
};

struct pm_record {
  struct page **pages;
  size_t npages, pages_cap;
  size_t *index; /* open addressing: page number -> position + 1 */
  size_t index_cap;
  struct file **files;
  size_t nfiles, files_cap;
  int err; /* the first failure: the recording is incomplete */
};

static size_t
slot_of(const size_t *index, size_t cap, struct page **pages, pm_addr_t base)
{
  size_t i = (size_t)(((base >> PAGE_BITS) * 0x9E3779B97F4A7C15ull) >> 20);

  for (i &= cap - 1; index[i] && pages[index[i] - 1]->base != base;
       i = (i + 1) & (cap - 1))
    ;
  return i;
}

/* Enters every page in rec's index, which must be empty. */
static void
index_fill(struct pm_record *rec)
{
  for (size_t k = 0; k < rec->npages; k++)
    rec->index[slot_of(rec->index, rec->index_cap, rec->pages,
                       rec->pages[k]->base)]
        = k + 1;
}

static int
index_grow(struct pm_record *rec)
{
  size_t cap = rec->index_cap ? rec->index_cap * 2 : 1024;
  size_t *index = calloc(cap, sizeof(*index));

  if (!index)
    return -ENOMEM;
  free(rec->index);
  rec->index = index;
  rec->index_cap = cap;
  index_fill(rec);
  return 0;
}

static struct page *
page_get(struct pm_record *rec, pm_addr_t base)
{
  struct page *p;
  size_t i;

  if ((rec->npages + 1) * 2 > rec->index_cap && index_grow(rec))
    return NULL;
  i = slot_of(rec->index, rec->index_cap, rec->pages, base);
  if (rec->index[i])
    return rec->pages[rec->index[i] - 1];
  if (pm__array_grow((void **)&rec->pages, &rec->pages_cap, sizeof(*rec->pages),
                     rec->npages + 1)
      || !(p = calloc(1, sizeof(*p))))
    return NULL;
  p->base = base;
  rec->pages[rec->npages++] = p;
  rec->index[i] = rec->npages;
  return p;
}

void
pm__record_memory(struct pm_record *rec, pm_addr_t addr, const void *buf,
                  size_t len)
{
  const unsigned char *in = buf;

  while (len > 0 && !rec->err) {
    pm_addr_t base = addr & ~(pm_addr_t)(PAGE_SIZE - 1);
    size_t off = (size_t)(addr - base);
    size_t n = PAGE_SIZE - off < len ? PAGE_SIZE - off : len;
    struct page *p = page_get(rec, base);

    if (!p) {
      rec->err = -ENOMEM;
      return;
    }
    /* Within one pause the bytes cannot differ: the first copy stays. */
    memcpy(p->data + off, in, n);
    for (size_t k = off; k < off + n; k++)
      p->have[k / 64] |= 1ull << (k % 64);
    in += n, addr += n, len -= n;
  }
}

static void *
dup_bytes(const void *p, size_t n)
{
  void *d = malloc(n ? n : 1);

  if (d && n)
    memcpy(d, p, n);
  return d;
}

/* pm_elf_note_fn: keeps the first answer to each question. */
static void
note_answer(void *arg, int q, const void *key, size_t keylen, int err,
            const void *data, size_t len)
{
  struct file *f = arg;
  struct answer *a;

  if (f->rec->err)
    return;
  for (size_t i = 0; i < f->n; i++)
    if (f->answers[i].q == q && f->answers[i].keylen == keylen
        && (keylen == 0 || memcmp(f->answers[i].key, key, keylen) == 0))
      return;
  if (pm__array_grow((void **)&f->answers, &f->cap, sizeof(*f->answers),
                     f->n + 1)) {
    f->rec->err = -ENOMEM;
    return;
  }
  a = &f->answers[f->n];
  a->q = q;
  a->err = err;
  a->keylen = keylen;
  a->len = err ? 0 : len;
  a->key = dup_bytes(key, keylen);
  a->data = dup_bytes(data, a->len);
  if (!a->key || !a->data) {
    free(a->key);
    free(a->data);
    f->rec->err = -ENOMEM;
    return;
  }
  f->n++;
}

void
pm__record_elf(struct pm_record *rec, const char *path, struct pm_elf *e)
{
  struct file *f = NULL;

  for (size_t i = 0; i < rec->nfiles && !f; i++)
    if (strcmp(rec->files[i]->path, path) == 0)
      f = rec->files[i];
  if (!f) {
    if (pm__array_grow((void **)&rec->files, &rec->files_cap,
                       sizeof(*rec->files), rec->nfiles + 1)
        || !(f = calloc(1, sizeof(*f)))) {
      rec->err = -ENOMEM;
      return;
    }
    f->rec = rec;
    if (!(f->path = strdup(path))) {
      free(f);
      rec->err = -ENOMEM;
      return;
    }
    rec->files[rec->nfiles++] = f;
  }
  pm__elf_set_note(e, note_answer, f);
}

void
pm__record_free(struct pm_record *rec)
{
  if (!rec)
    return;
  for (size_t i = 0; i < rec->npages; i++)
    free(rec->pages[i]);
  for (size_t i = 0; i < rec->nfiles; i++) {
    struct file *f = rec->files[i];
    for (size_t k = 0; k < f->n; k++) {
      free(f->answers[k].key);
      free(f->answers[k].data);
    }
    free(f->answers);
    free(f->path);
    free(f);
  }
  free(rec->pages);
  free(rec->index);
  free(rec->files);
  free(rec);
}

int
pm_target_record_start(struct pm_target *t)
{
  if (t->rec)
    return -EBUSY;
  /* Reads served by the window would not be recorded. */
  t->win.len = t->win.len2 = 0;
  t->rec = calloc(1, sizeof(*t->rec));
  return t->rec ? 0 : -ENOMEM;
}

/* -- writing ------------------------------------------------------------ */

static void
put_u32(unsigned char *p, uint32_t v)
{
  for (int i = 0; i < 4; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}

static void
put_u64(unsigned char *p, uint64_t v)
{
  for (int i = 0; i < 8; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}

/* One record: its head, a fixed part and a variable tail. */
static int
put_record(FILE *f, uint32_t type, const void *fixed, size_t nfixed,
           const void *tail, size_t ntail)
{
  unsigned char head[8];

  if (nfixed + ntail > UINT32_MAX)
    return -EINVAL;
  put_u32(head, type);
  put_u32(head + 4, (uint32_t)(nfixed + ntail));
  if (fwrite(head, 1, 8, f) != 8
      || (nfixed && fwrite(fixed, 1, nfixed, f) != nfixed)
      || (ntail && fwrite(tail, 1, ntail, f) != ntail))
    return -EIO;
  return 0;
}

static int
page_cmp(const void *a, const void *b)
{
  const struct page *x = *(const struct page *const *)a;
  const struct page *y = *(const struct page *const *)b;
  return x->base < y->base ? -1 : x->base > y->base;
}

static int
have(const struct page *p, size_t k)
{
  return (p->have[k / 64] >> (k % 64)) & 1;
}

/*
 * Writes the recorded bytes as runs: a run goes on across pages as long as
 * the bytes do, up to PM_RECORD_MEMORY_MAX.
 */
static int
write_memory(struct pm_record *rec, FILE *f)
{
  unsigned char *run = malloc(PM_RECORD_MEMORY_MAX + 8);
  size_t len = 0;
  pm_addr_t next = 0;
  int err = 0;

  if (!run)
    return -ENOMEM;
  if (!rec->npages) { /* nothing read: qsort(NULL, 0) would be undefined */
    free(run);
    return 0;
  }
  qsort(rec->pages, rec->npages, sizeof(*rec->pages), page_cmp);
  /* The index is stale once sorted: rebuild it for later reads. */
  memset(rec->index, 0, rec->index_cap * sizeof(*rec->index));
  index_fill(rec);
  for (size_t i = 0; i < rec->npages && !err; i++) {
    const struct page *p = rec->pages[i];
    for (size_t k = 0; k < PAGE_SIZE && !err; k++) {
      if (!have(p, k))
        continue;
      if (len && (p->base + k != next || len == PM_RECORD_MEMORY_MAX)) {
        err = put_record(f, PM_REC_MEMORY, run, 8 + len, NULL, 0);
        len = 0;
      }
      if (!len)
        put_u64(run, p->base + k);
      run[8 + len++] = p->data[k];
      next = p->base + k + 1;
    }
  }
  if (!err && len)
    err = put_record(f, PM_REC_MEMORY, run, 8 + len, NULL, 0);
  free(run);
  return err;
}

static int
write_files(struct pm_record *rec, FILE *f)
{
  int err = 0;

  for (size_t i = 0; i < rec->nfiles && !err; i++) {
    const struct file *fl = rec->files[i];
    err = put_record(f, PM_REC_FILE, fl->path, strlen(fl->path), NULL, 0);
    for (size_t k = 0; k < fl->n && !err; k++) {
      const struct answer *a = &fl->answers[k];
      unsigned char *buf = malloc(12 + a->keylen);
      if (!buf)
        return -ENOMEM;
      put_u32(buf, (uint32_t)a->q);
      put_u32(buf + 4, (uint32_t)a->err);
      put_u32(buf + 8, (uint32_t)a->keylen);
      if (a->keylen)
        memcpy(buf + 12, a->key, a->keylen);
      err = put_record(f, PM_REC_ANSWER, buf, 12 + a->keylen, a->data, a->len);
      free(buf);
    }
  }
  return err;
}

int
pm_target_record_write(struct pm_target *t, FILE *f)
{
  const struct pm_maps *m = &t->maps;
  unsigned char fixed[36];
  int err;

  if (!t->rec)
    return -EINVAL;
  if (t->rec->err)
    return t->rec->err;
  if (fwrite(PM_RECORD_MAGIC, 1, PM_RECORD_MAGIC_LEN, f) != PM_RECORD_MAGIC_LEN)
    return -EIO;
  put_u32(fixed, (uint32_t)t->pid);
  err = put_record(f, PM_REC_TARGET, fixed, 4, t->exe,
                   t->exe ? strlen(t->exe) : 0);
  for (size_t i = 0; i < m->n && !err; i++) {
    const struct pm_region *r = &m->v[i];
    put_u64(fixed, r->start);
    put_u64(fixed + 8, r->end);
    put_u64(fixed + 16, r->offset);
    put_u64(fixed + 24, r->inode);
    put_u32(fixed + 32, r->prot);
    err = put_record(f, PM_REC_REGION, fixed, 36, r->path,
                     r->path ? strlen(r->path) : 0);
  }
  if (!err)
    err = write_files(t->rec, f);
  if (!err)
    err = write_memory(t->rec, f);
  if (!err && ferror(f))
    err = -EIO;
  return err;
}
