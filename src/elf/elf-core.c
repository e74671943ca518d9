/* SPDX-License-Identifier: MIT */
/* elf-core.c -- segments and notes of an ELF core file, validated */
#include <config.h>

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/procfs.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elf/elf-core.h"
#include "pmpeek/error.h"

/* Reads go straight into host structs: only cores of this machine. */
#if defined(__x86_64__)
#define HOST_MACHINE EM_X86_64
#elif defined(__aarch64__)
#define HOST_MACHINE EM_AARCH64
#else
#error "pmpeek reads cores of x86-64 and aarch64 only"
#endif

/* Bounds on what a core may ask of us, far above any real process. */
#define MAX_SEGMENTS (1u << 20)
#define MAX_MAPPINGS (1u << 20)
#define MAX_NOTES_BYTES ((uint64_t)256 << 20)

static int fail(char *why, size_t whylen, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
fail(char *why, size_t whylen, int err, const char *fmt, ...)
{
  va_list ap;

  if (why && whylen) {
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
  }
  return err;
}

static int
seg_cmp(const void *a, const void *b)
{
  const struct pm_core_segment *x = a, *y = b;
  return x->vaddr < y->vaddr ? -1 : x->vaddr > y->vaddr;
}

static int
map_cmp(const void *a, const void *b)
{
  const struct pm_core_mapping *x = a, *y = b;
  return x->start < y->start ? -1 : x->start > y->start;
}

/*
 * NT_FILE: count, page size, count (start, end, page offset) triples, then
 * count NUL-terminated names.  Every field is checked against descsz.
 */
static int
parse_nt_file(struct pm_elf_core *c, const unsigned char *d, size_t n,
              char *why, size_t whylen)
{
  uint64_t count, page;
  const char *name, *end = (const char *)d + n;

  if (c->maps)
    return 0; /* only the first one counts */
  if (n < 16)
    return fail(why, whylen, PM_ECORE, "NT_FILE note too short");
  memcpy(&count, d, 8);
  memcpy(&page, d + 8, 8);
  if (count > MAX_MAPPINGS || count > (n - 16) / 24)
    return fail(why, whylen, PM_ECORE,
                "NT_FILE note lists %llu files in %zu bytes",
                (unsigned long long)count, n);
  if (page == 0 || (page & (page - 1)) || page > (1u << 30))
    return fail(why, whylen, PM_ECORE, "NT_FILE page size %llu",
                (unsigned long long)page);
  c->names = malloc(n - 16 - count * 24 + 1);
  c->maps = calloc(count ? count : 1, sizeof(*c->maps));
  if (!c->names || !c->maps)
    return -ENOMEM;
  memcpy(c->names, d + 16 + count * 24, n - 16 - count * 24);
  c->names[n - 16 - count * 24] = '\0';
  name = c->names;
  end = c->names + (n - 16 - count * 24);
  for (uint64_t i = 0; i < count; i++) {
    struct pm_core_mapping *m = &c->maps[i];
    const char *nul;
    uint64_t pgoff;

    memcpy(&m->start, d + 16 + i * 24, 8);
    memcpy(&m->end, d + 16 + i * 24 + 8, 8);
    memcpy(&pgoff, d + 16 + i * 24 + 16, 8);
    nul = name < end ? memchr(name, '\0', (size_t)(end - name)) : NULL;
    if (!nul || m->end <= m->start || pgoff > UINT64_MAX / page)
      return fail(why, whylen, PM_ECORE, "NT_FILE entry %llu is malformed",
                  (unsigned long long)i);
    m->offset = pgoff * page;
    m->path = name;
    name = nul + 1;
  }
  c->nmaps = (size_t)count;
  qsort(c->maps, c->nmaps, sizeof(*c->maps), map_cmp);
  for (size_t i = 1; i < c->nmaps; i++)
    if (c->maps[i].start < c->maps[i - 1].end)
      return fail(why, whylen, PM_ECORE, "NT_FILE entries overlap at 0x%llx",
                  (unsigned long long)c->maps[i].start);
  return 0;
}

static void
parse_auxv(struct pm_elf_core *c, const unsigned char *d, size_t n)
{
  for (size_t off = 0; off + 16 <= n; off += 16) {
    uint64_t type, val;
    memcpy(&type, d + off, 8);
    memcpy(&val, d + off + 8, 8);
    if (type == AT_NULL)
      break;
    if (type == AT_PHDR)
      c->at_phdr = val;
    else if (type == AT_ENTRY)
      c->at_entry = val;
  }
}

static int
parse_notes(struct pm_elf_core *c, Elf *elf, const GElf_Phdr *ph, char *why,
            size_t whylen)
{
  Elf_Data *data;
  GElf_Nhdr nh;
  size_t off = 0, name_off, desc_off, next;
  int seen_prstatus = 0, err;

  if (ph->p_filesz == 0)
    return 0;
  if (ph->p_filesz > MAX_NOTES_BYTES)
    return fail(why, whylen, PM_ECORE, "notes of %llu bytes",
                (unsigned long long)ph->p_filesz);
  data = elf_getdata_rawchunk(elf, (int64_t)ph->p_offset, ph->p_filesz,
                              ELF_T_NHDR);
  if (!data)
    return fail(why, whylen, PM_ECORE, "unreadable notes at offset %llu",
                (unsigned long long)ph->p_offset);
  /* gelf_getnote() checks each header and its sizes against the data. */
  while ((next = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
    const unsigned char *desc = (const unsigned char *)data->d_buf + desc_off;
    const char *name = (const char *)data->d_buf + name_off;
    int core_owner = nh.n_namesz == 5 && memcmp(name, "CORE", 5) == 0;

    off = next;
    if (!core_owner)
      continue;
    switch (nh.n_type) {
    case NT_PRPSINFO:
      if (nh.n_descsz >= sizeof(struct elf_prpsinfo)) {
        struct elf_prpsinfo ps;
        memcpy(&ps, desc, sizeof(ps));
        c->pid = ps.pr_pid;
        memcpy(c->fname, ps.pr_fname, sizeof(ps.pr_fname));
        c->fname[sizeof(ps.pr_fname)] = '\0';
      }
      break;
    case NT_PRSTATUS:
      if (!seen_prstatus && nh.n_descsz >= sizeof(struct elf_prstatus)) {
        struct elf_prstatus st;
        memcpy(&st, desc, sizeof(st));
        if (!c->pid)
          c->pid = st.pr_pid;
        c->signal = st.pr_cursig;
        seen_prstatus = 1;
      }
      break;
    case NT_FILE:
      if ((err = parse_nt_file(c, desc, nh.n_descsz, why, whylen)))
        return err;
      break;
    case NT_AUXV:
      parse_auxv(c, desc, nh.n_descsz);
      break;
    }
  }
  return 0;
}

/*
 * Reads the ELF header by hand first: libelf takes a short or foreign file
 * for an archive or raw data, and we want to say which it is.
 */
static int
check_ident(int fd, uint64_t size, char *why, size_t whylen)
{
  Elf64_Ehdr eh;
  ssize_t n;

  if (size == 0)
    return fail(why, whylen, PM_ENOTCORE, "the file is empty");
  n = pread(fd, &eh, sizeof(eh), 0);
  if (n < 0)
    return -errno;
  if (n < SELFMAG || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
    return fail(why, whylen, PM_ENOTCORE, "not an ELF file");
  if ((size_t)n < sizeof(eh))
    return fail(why, whylen, PM_ECORE, "the ELF header is cut short");
  if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB
      || eh.e_machine != HOST_MACHINE)
    return fail(why, whylen, PM_ECORE, "a core of another architecture");
  if (eh.e_type != ET_CORE)
    return fail(why, whylen, PM_ENOTCORE, "an ELF %s, not a core",
                eh.e_type == ET_EXEC  ? "executable"
                : eh.e_type == ET_DYN ? "shared object or PIE"
                                      : "file");
  if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phoff < sizeof(eh)
      || eh.e_phoff > size)
    return fail(why, whylen, PM_ECORE, "malformed program header table");
  return 0;
}

int
pm__core_open(struct pm_elf_core **out, const char *path, char *why,
              size_t whylen)
{
  struct pm_elf_core *c;
  struct stat st;
  Elf *elf = NULL;
  GElf_Ehdr eh;
  size_t phnum;
  int err;

  if (elf_version(EV_CURRENT) == EV_NONE)
    return fail(why, whylen, PM_EELF, "libelf is unusable");
  c = calloc(1, sizeof(*c));
  if (!c)
    return -ENOMEM;
  /* O_NONBLOCK: a FIFO named by mistake must not wait for a writer. */
  c->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (c->fd < 0) {
    err = -errno;
    free(c);
    return err;
  }
  if (fstat(c->fd, &st) != 0) {
    err = -errno;
    goto out;
  }
  if (!S_ISREG(st.st_mode)) {
    err = fail(why, whylen, PM_ENOTCORE, "not a regular file");
    goto out;
  }
  c->file_size = (uint64_t)st.st_size;
  if ((err = check_ident(c->fd, c->file_size, why, whylen)))
    goto out;
  /* ELF_C_READ, not mmap: a core cut while we read it must not SIGBUS us. */
  elf = elf_begin(c->fd, ELF_C_READ, NULL);
  if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh)
      || elf_getphdrnum(elf, &phnum) != 0) {
    err = fail(why, whylen, PM_ECORE, "malformed ELF headers: %s",
               elf_errmsg(-1));
    goto out;
  }
  if (phnum == 0 || phnum > MAX_SEGMENTS
      || eh.e_phoff + (uint64_t)phnum * sizeof(Elf64_Phdr) > c->file_size) {
    err = fail(why, whylen, PM_ECORE,
               "%zu program headers do not fit in %llu bytes", phnum,
               (unsigned long long)c->file_size);
    goto out;
  }
  c->segs = calloc(phnum, sizeof(*c->segs));
  if (!c->segs) {
    err = -ENOMEM;
    goto out;
  }
  /* First the size the headers describe, for one truncation message. */
  for (size_t i = 0; i < phnum; i++) {
    GElf_Phdr ph;

    if (!gelf_getphdr(elf, (int)i, &ph)) {
      err = fail(why, whylen, PM_ECORE, "unreadable program header %zu", i);
      goto out;
    }
    if (ph.p_type != PT_LOAD && ph.p_type != PT_NOTE)
      continue;
    if (ph.p_offset > UINT64_MAX - ph.p_filesz) {
      err = fail(why, whylen, PM_ECORE, "program header %zu is malformed", i);
      goto out;
    }
    if (ph.p_offset + ph.p_filesz > c->needed_size)
      c->needed_size = ph.p_offset + ph.p_filesz;
  }
  for (size_t i = 0; i < phnum; i++) {
    GElf_Phdr ph;
    uint64_t end;

    if (!gelf_getphdr(elf, (int)i, &ph)
        || (ph.p_type != PT_LOAD && ph.p_type != PT_NOTE))
      continue;
    end = ph.p_offset + ph.p_filesz;
    if (ph.p_type == PT_NOTE) {
      /* Without its notes a core is no use, cut or not. */
      if (end > c->file_size) {
        err = fail(why, whylen, PM_ECORE, "truncated: %llu bytes of %llu",
                   (unsigned long long)c->file_size,
                   (unsigned long long)c->needed_size);
        goto out;
      }
      if ((err = parse_notes(c, elf, &ph, why, whylen)))
        goto out;
      continue;
    }
    if (ph.p_memsz == 0)
      continue;
    if (ph.p_filesz > ph.p_memsz || ph.p_vaddr > UINT64_MAX - ph.p_memsz) {
      err = fail(why, whylen, PM_ECORE, "program header %zu is malformed", i);
      goto out;
    }
    c->segs[c->nsegs] = (struct pm_core_segment){
      ph.p_vaddr, ph.p_memsz, ph.p_offset, ph.p_filesz, ph.p_flags,
    };
    /* A cut core keeps what it has: the caller decides whether to use it. */
    if (end > c->file_size)
      c->segs[c->nsegs].filesz
          = ph.p_offset >= c->file_size ? 0 : c->file_size - ph.p_offset;
    c->nsegs++;
  }
  qsort(c->segs, c->nsegs, sizeof(*c->segs), seg_cmp);
  for (size_t i = 1; i < c->nsegs; i++)
    if (c->segs[i].vaddr < c->segs[i - 1].vaddr + c->segs[i - 1].memsz) {
      err = fail(why, whylen, PM_ECORE, "segments overlap at 0x%llx",
                 (unsigned long long)c->segs[i].vaddr);
      goto out;
    }
  err = 0;
out:
  if (elf)
    elf_end(elf);
  if (err) {
    pm__core_free(c);
    return err;
  }
  *out = c;
  return 0;
}

void
pm__core_free(struct pm_elf_core *c)
{
  if (!c)
    return;
  if (c->fd >= 0)
    close(c->fd);
  free(c->segs);
  free(c->maps);
  free(c->names);
  free(c);
}

/* Index of the first segment with vaddr > addr (upper bound). */
static size_t
seg_upper(const struct pm_elf_core *c, uint64_t addr)
{
  size_t lo = 0, hi = c->nsegs;

  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (c->segs[mid].vaddr <= addr)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

const struct pm_core_segment *
pm__core_segment(const struct pm_elf_core *c, uint64_t addr)
{
  size_t i = seg_upper(c, addr);
  const struct pm_core_segment *s;

  if (i == 0)
    return NULL;
  s = &c->segs[i - 1];
  return addr - s->vaddr < s->memsz ? s : NULL;
}

const struct pm_core_segment *
pm__core_segment_after(const struct pm_elf_core *c, uint64_t addr)
{
  size_t i = seg_upper(c, addr);
  return i < c->nsegs ? &c->segs[i] : NULL;
}

const struct pm_core_mapping *
pm__core_mapping(const struct pm_elf_core *c, uint64_t addr)
{
  size_t lo = 0, hi = c->nmaps;

  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (addr < c->maps[mid].start)
      hi = mid;
    else if (addr >= c->maps[mid].end)
      lo = mid + 1;
    else
      return &c->maps[mid];
  }
  return NULL;
}

int
pm__core_read(const struct pm_elf_core *c, uint64_t addr, void *buf, size_t len)
{
  unsigned char *out = buf;

  while (len > 0) {
    const struct pm_core_segment *s = pm__core_segment(c, addr);
    uint64_t in;
    size_t n;
    ssize_t got;

    if (!s || (in = addr - s->vaddr) >= s->filesz)
      return -EFAULT;
    n = s->filesz - in < len ? (size_t)(s->filesz - in) : len;
    got = pread(c->fd, out, n, (off_t)(s->offset + in));
    if (got < 0 && errno == EINTR)
      continue;
    if (got < 0)
      return -errno;
    if (got == 0)
      return PM_ECORE; /* the file shrank since we checked it */
    out += got, addr += (uint64_t)got, len -= (size_t)got;
  }
  return 0;
}

int
pm__elf_image_build_id(const void *image, size_t len, char *buf, size_t buflen)
{
  const unsigned char *img = image;
  Elf64_Ehdr eh;

  if (len < sizeof(eh) || memcmp(img, ELFMAG, SELFMAG) != 0)
    return PM_EELF;
  memcpy(&eh, img, sizeof(eh));
  if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(Elf64_Phdr)
      || eh.e_phoff > len
      || eh.e_phnum > (len - eh.e_phoff) / sizeof(Elf64_Phdr))
    return PM_EELF;
  for (size_t i = 0; i < eh.e_phnum; i++) {
    Elf64_Phdr ph;
    uint64_t off, end;

    memcpy(&ph, img + eh.e_phoff + i * sizeof(ph), sizeof(ph));
    if (ph.p_type != PT_NOTE || ph.p_offset > len
        || ph.p_filesz > len - ph.p_offset)
      continue;
    off = ph.p_offset;
    end = ph.p_offset + ph.p_filesz;
    /* Notes in files are 4- or 8-byte aligned, as p_align says. */
    while (end - off >= sizeof(Elf64_Nhdr)) {
      uint64_t align = ph.p_align == 8 ? 8 : 4;
      uint64_t namesz, descsz, name_at, desc_at;
      Elf64_Nhdr nh;

      memcpy(&nh, img + off, sizeof(nh));
      namesz = (nh.n_namesz + 3) & ~(uint64_t)3;
      descsz = (nh.n_descsz + align - 1) & ~(align - 1);
      name_at = off + sizeof(nh);
      desc_at = (name_at + namesz + align - 1) & ~(align - 1);
      if (namesz > end - name_at || desc_at > end
          || nh.n_descsz > end - desc_at)
        break;
      if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4
          && memcmp(img + name_at, "GNU", 4) == 0 && nh.n_descsz > 0) {
        static const char hex[] = "0123456789abcdef";
        if (buflen < (size_t)nh.n_descsz * 2 + 1)
          return -ENAMETOOLONG;
        for (size_t k = 0; k < nh.n_descsz; k++) {
          buf[2 * k] = hex[img[desc_at + k] >> 4];
          buf[2 * k + 1] = hex[img[desc_at + k] & 15];
        }
        buf[nh.n_descsz * 2] = '\0';
        return 0;
      }
      if (descsz > end - desc_at)
        break;
      off = desc_at + descsz;
    }
  }
  return PM_ENOSYM;
}
