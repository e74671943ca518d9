/* SPDX-License-Identifier: MIT */
/* elf-file.c -- symbols, sections and segments of an ELF file, via libelf */
#include <config.h>

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elf/elf-file.h"
#include "pmpeek/error.h"

/* One defined symbol of a table, for the index below. */
struct sym {
  const char *name; /* in libelf's string table; NULL = empty slot */
  uint64_t hash;
  uint64_t value, size;
};

/*
 * The defined symbols of one kind of table (.dynsym or .symtab), hashed by
 * name, made on the first lookup: a file is asked for dozens of names, and
 * a .symtab may hold a hundred thousand.  The first definition of a name
 * is kept, as a linear search would find it.
 */
struct sym_index {
  struct sym *v;
  size_t cap;
  int built; /* 1: v is the index; -1: it could not be made, search */
};

struct pm_elf {
  int fd;
  Elf *elf;
  GElf_Ehdr ehdr;
  size_t shstrndx;
  uint64_t size;     /* of the file when it was opened */
  pm_elf_ask_fn ask; /* set: no file, answers come from here */
  pm_elf_note_fn note;
  void *arg;
  struct sym_index dynsym, symtab;
  unsigned holders; /* pm__elf_free() calls to come */
  void *derived;    /* an upper layer's findings: pm__elf_set_derived() */
  void (*derived_free)(void *);
};

int
pm__elf_open(struct pm_elf **out, const char *path)
{
  struct pm_elf *e;
  struct stat st;

  if (elf_version(EV_CURRENT) == EV_NONE)
    return PM_EELF;
  e = calloc(1, sizeof(*e));
  if (!e)
    return -ENOMEM;
  e->holders = 1;
  /* O_NONBLOCK: opening a FIFO must not wait for a writer. */
  e->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (e->fd < 0) {
    int err = -errno;
    free(e);
    return err;
  }
  if (fstat(e->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    pm__elf_free(e);
    return PM_EELF;
  }
  e->size = (uint64_t)st.st_size;
  /* ELF_C_READ: a mapped file cut short under us would raise SIGBUS. */
  e->elf = elf_begin(e->fd, ELF_C_READ, NULL);
  if (!e->elf || elf_kind(e->elf) != ELF_K_ELF
      || gelf_getclass(e->elf) != ELFCLASS64 || !gelf_getehdr(e->elf, &e->ehdr)
      || elf_getshdrstrndx(e->elf, &e->shstrndx) != 0) {
    pm__elf_free(e);
    return PM_EELF;
  }
  *out = e;
  return 0;
}

int
pm__elf_open_answers(struct pm_elf **out, pm_elf_ask_fn ask, void *arg)
{
  struct pm_elf *e = calloc(1, sizeof(*e));

  if (!e)
    return -ENOMEM;
  e->holders = 1;
  e->fd = -1;
  e->ask = ask;
  e->arg = arg;
  *out = e;
  return 0;
}

void
pm__elf_set_note(struct pm_elf *e, pm_elf_note_fn note, void *arg)
{
  if (e->ask)
    return;
  e->note = note;
  e->arg = arg;
}

struct pm_elf *
pm__elf_hold(struct pm_elf *e)
{
  e->holders++;
  return e;
}

void
pm__elf_free(struct pm_elf *e)
{
  if (!e)
    return;
  assert(e->holders > 0);
  if (--e->holders)
    return;
  if (e->derived_free)
    e->derived_free(e->derived);
  free(e->dynsym.v);
  free(e->symtab.v);
  if (e->elf)
    elf_end(e->elf);
  if (e->fd >= 0)
    close(e->fd);
  free(e);
}

void *
pm__elf_derived(const struct pm_elf *e)
{
  return e->derived;
}

void
pm__elf_set_derived(struct pm_elf *e, void *derived, void (*free_fn)(void *))
{
  if (e->derived_free)
    e->derived_free(e->derived);
  e->derived = derived;
  e->derived_free = free_fn;
}

/*
 * Asks a question of a pm_elf without a file, for an answer of exactly
 * len bytes into out.
 */
static int
ask_fixed(const struct pm_elf *e, int q, const void *key, size_t keylen,
          void *out, size_t len)
{
  const void *answer = NULL;
  size_t n = 0;
  int err = e->ask(e->arg, q, key, keylen, &answer, &n);

  if (err)
    return err > 0 ? PM_EELF : err;
  if (n != len || (len && !answer))
    return PM_EELF;
  if (len)
    memcpy(out, answer, len);
  return 0;
}

static void
note(const struct pm_elf *e, int q, const void *key, size_t keylen, int err,
     const void *answer, size_t len)
{
  if (e->note)
    e->note(e->arg, q, key, keylen, err, err ? NULL : answer, err ? 0 : len);
}

int
pm__elf_type(const struct pm_elf *e)
{
  uint32_t type = e->ehdr.e_type;

  if (e->ask)
    return ask_fixed(e, PM_ELF_Q_TYPE, NULL, 0, &type, 4) ? 0 : (int)type;
  note(e, PM_ELF_Q_TYPE, NULL, 0, 0, &type, 4);
  return (int)type;
}

static int lookup_scan(struct pm_elf *e, Elf64_Word type, const char *name,
                       uint64_t *value, uint64_t *size);

static uint64_t
hash_name(const char *s)
{
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

/* Adds a symbol unless its name is there; 0 or -ENOMEM. */
static int
index_add(struct sym_index *x, size_t *n, const char *name, uint64_t value,
          uint64_t size)
{
  uint64_t h = hash_name(name);
  size_t i;

  if ((*n + 1) * 2 > x->cap) {
    size_t ncap = x->cap ? x->cap * 2 : 1024;
    struct sym *nv = calloc(ncap, sizeof(*nv));
    if (!nv)
      return -ENOMEM;
    for (size_t k = 0; k < x->cap; k++) {
      if (!x->v[k].name)
        continue;
      for (i = x->v[k].hash & (ncap - 1); nv[i].name; i = (i + 1) & (ncap - 1))
        ;
      nv[i] = x->v[k];
    }
    free(x->v);
    x->v = nv;
    x->cap = ncap;
  }
  for (i = h & (x->cap - 1); x->v[i].name; i = (i + 1) & (x->cap - 1))
    if (x->v[i].hash == h && strcmp(x->v[i].name, name) == 0)
      return 0;
  x->v[i].name = name;
  x->v[i].hash = h;
  x->v[i].value = value;
  x->v[i].size = size;
  (*n)++;
  return 0;
}

/*
 * Calls fn with the name and symbol of each defined symbol, with a name,
 * of every table of type, until fn returns non-zero: that value, or 0.
 */
static int
each_symbol(struct pm_elf *e, Elf64_Word type,
            int (*fn)(void *arg, const char *name, const GElf_Sym *sym),
            void *arg)
{
  Elf_Scn *scn = NULL;
  int r;

  while ((scn = elf_nextscn(e->elf, scn))) {
    GElf_Shdr sh;
    Elf_Data *data;
    size_t n;

    if (!gelf_getshdr(scn, &sh) || sh.sh_type != type || sh.sh_entsize == 0)
      continue;
    data = elf_getdata(scn, NULL);
    if (!data)
      continue;
    /* The data read, not the header's claim, bounds the loop. */
    n = data->d_size / sh.sh_entsize;
    for (size_t i = 0; i < n; i++) {
      GElf_Sym sym;
      const char *s;
      if (!gelf_getsym(data, (int)i, &sym) || sym.st_shndx == SHN_UNDEF)
        continue;
      s = elf_strptr(e->elf, sh.sh_link, sym.st_name);
      if (s && (r = fn(arg, s, &sym)))
        return r;
    }
  }
  return 0;
}

struct index_build {
  struct sym_index *x;
  size_t used;
};

static int
index_build_one(void *arg, const char *name, const GElf_Sym *sym)
{
  struct index_build *b = arg;

  return *name ? index_add(b->x, &b->used, name, sym->st_value, sym->st_size)
               : 0;
}

/* Builds x from every table of type; 0, or -ENOMEM (x is then empty). */
static int
index_build(struct pm_elf *e, Elf64_Word type, struct sym_index *x)
{
  struct index_build b = { x, 0 };

  if (each_symbol(e, type, index_build_one, &b)) {
    free(x->v);
    x->v = NULL;
    x->cap = 0;
    return -ENOMEM;
  }
  return 0;
}

/* Builds x once: it is then the index, or marked for searches. */
static void
index_ready(struct pm_elf *e, Elf64_Word type, struct sym_index *x)
{
  if (!x->built)
    x->built = index_build(e, type, x) ? -1 : 1;
}

/* The symbol in x's index, when x has one: 0, PM_ENOSYM, or 1 to search. */
static int
index_lookup(struct pm_elf *e, Elf64_Word type, struct sym_index *x,
             const char *name, uint64_t *value, uint64_t *size)
{
  uint64_t h;

  index_ready(e, type, x);
  if (x->built < 0)
    return 1;
  if (!x->cap || !*name)
    return x->cap ? 1 : PM_ENOSYM;
  h = hash_name(name);
  for (size_t i = h & (x->cap - 1); x->v[i].name; i = (i + 1) & (x->cap - 1))
    if (x->v[i].hash == h && strcmp(x->v[i].name, name) == 0) {
      *value = x->v[i].value;
      if (size)
        *size = x->v[i].size;
      return 0;
    }
  return PM_ENOSYM;
}

void
pm__elf_index(struct pm_elf *e)
{
  /* Asks nothing of the file that a recording would keep. */
  if (e->ask)
    return;
  index_ready(e, SHT_DYNSYM, &e->dynsym);
  index_ready(e, SHT_SYMTAB, &e->symtab);
}

static int
lookup_in(struct pm_elf *e, Elf64_Word type, const char *name, uint64_t *value,
          uint64_t *size)
{
  int r = index_lookup(e, type, type == SHT_DYNSYM ? &e->dynsym : &e->symtab,
                       name, value, size);

  if (r <= 0)
    return r;
  return lookup_scan(e, type, name, value, size);
}

struct scan {
  const char *name;
  GElf_Sym sym;
};

static int
scan_one(void *arg, const char *name, const GElf_Sym *sym)
{
  struct scan *sc = arg;

  if (strcmp(name, sc->name) != 0)
    return 0;
  sc->sym = *sym;
  return 1;
}

/* The search itself, when no index could be made (or for the empty name). */
static int
lookup_scan(struct pm_elf *e, Elf64_Word type, const char *name,
            uint64_t *value, uint64_t *size)
{
  struct scan sc = { name, { 0 } };

  if (!each_symbol(e, type, scan_one, &sc))
    return PM_ENOSYM;
  *value = sc.sym.st_value;
  if (size)
    *size = sc.sym.st_size;
  return 0;
}

static int
file_symbol(struct pm_elf *e, const char *name, uint64_t *value, uint64_t *size)
{
  int err = lookup_in(e, SHT_DYNSYM, name, value, size);

  return err ? lookup_in(e, SHT_SYMTAB, name, value, size) : 0;
}

/*
 * A question about a name whose answer is two u64s: asked of e's answers,
 * or answered by from_file and noted.  On success the first goes to *out0
 * and the second to *out1 unless out1 is NULL.
 */
static int
ask_by_name(struct pm_elf *e, int q, const char *name, uint64_t *out0,
            uint64_t *out1,
            int (*from_file)(struct pm_elf *e, const char *name, uint64_t *a0,
                             uint64_t *a1))
{
  uint64_t a[2] = { 0, 0 };
  int err;

  if (e->ask)
    err = ask_fixed(e, q, name, strlen(name), a, sizeof(a));
  else {
    err = from_file(e, name, &a[0], &a[1]);
    note(e, q, name, strlen(name), err, a, sizeof(a));
  }
  if (err)
    return err;
  *out0 = a[0];
  if (out1)
    *out1 = a[1];
  return 0;
}

int
pm__elf_symbol(struct pm_elf *e, const char *name, uint64_t *value,
               uint64_t *size)
{
  return ask_by_name(e, PM_ELF_Q_SYMBOL, name, value, size, file_symbol);
}

static int
file_section(struct pm_elf *e, const char *name, uint64_t *addr, uint64_t *size)
{
  Elf_Scn *scn = NULL;

  while ((scn = elf_nextscn(e->elf, scn))) {
    GElf_Shdr sh;
    const char *s;
    if (!gelf_getshdr(scn, &sh))
      continue;
    s = elf_strptr(e->elf, e->shstrndx, sh.sh_name);
    if (s && strcmp(s, name) == 0) {
      *addr = sh.sh_addr;
      *size = sh.sh_size;
      return 0;
    }
  }
  return PM_ENOSYM;
}

int
pm__elf_section(struct pm_elf *e, const char *name, uint64_t *addr,
                uint64_t *size)
{
  return ask_by_name(e, PM_ELF_Q_SECTION, name, addr, size, file_section);
}

static int
file_load_bias(struct pm_elf *e, uint64_t start, uint64_t offset,
               uint64_t *bias)
{
  size_t n;
  int found = 0;

  if (elf_getphdrnum(e->elf, &n) != 0)
    return PM_EELF;
  for (size_t i = 0; i < n; i++) {
    GElf_Phdr ph;
    uint64_t page_off;
    if (!gelf_getphdr(e->elf, (int)i, &ph) || ph.p_type != PT_LOAD)
      continue;
    /* The kernel maps from p_offset rounded down to a page. */
    page_off = ph.p_offset - (ph.p_vaddr & 0xfff);
    if ((ph.p_vaddr & 0xfff) != (ph.p_offset & 0xfff))
      continue;
    /*
     * A file page holding the end of one segment and the start of the next
     * is mapped twice; a mapping that starts on it is the later segment's
     * (the earlier one's mapping starts at its own first page).
     */
    if (offset >= page_off && offset < ph.p_offset + ph.p_filesz) {
      *bias = start + (ph.p_offset - offset) - ph.p_vaddr;
      found = 1;
    }
  }
  return found ? 0 : PM_EELF;
}

int
pm__elf_load_bias(struct pm_elf *e, uint64_t start, uint64_t offset,
                  uint64_t *bias)
{
  uint64_t key[2] = { start, offset }, a = 0;
  int err;

  if (e->ask)
    err = ask_fixed(e, PM_ELF_Q_LOAD_BIAS, key, sizeof(key), &a, sizeof(a));
  else {
    err = file_load_bias(e, start, offset, &a);
    note(e, PM_ELF_Q_LOAD_BIAS, key, sizeof(key), err, &a, sizeof(a));
  }
  if (!err)
    *bias = a;
  return err;
}

/*
 * Reads len bytes at file offset off.  pread, not elf_rawfile(): libelf
 * 0.188 leaks the section data it had read before elf_rawfile() loads the
 * whole file, and the file may be large.
 */
static int
file_pread(const struct pm_elf *e, uint64_t off, void *buf, size_t len)
{
  unsigned char *out = buf;

  if (off > e->size || len > e->size - off)
    return PM_EELF;
  while (len > 0) {
    ssize_t n = pread(e->fd, out, len, (off_t)off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return PM_EELF; /* shorter than when it was opened */
    out += n, off += (uint64_t)n, len -= (size_t)n;
  }
  return 0;
}

static int
file_read_vaddr(struct pm_elf *e, uint64_t vaddr, void *buf, size_t len)
{
  size_t n;

  if (elf_getphdrnum(e->elf, &n) != 0)
    return PM_EELF;
  for (size_t i = 0; i < n; i++) {
    GElf_Phdr ph;
    if (!gelf_getphdr(e->elf, (int)i, &ph) || ph.p_type != PT_LOAD)
      continue;
    if (vaddr >= ph.p_vaddr && vaddr - ph.p_vaddr <= ph.p_filesz
        && len <= ph.p_filesz - (vaddr - ph.p_vaddr)) {
      if (ph.p_offset > UINT64_MAX - (vaddr - ph.p_vaddr))
        return PM_EELF;
      return file_pread(e, ph.p_offset + (vaddr - ph.p_vaddr), buf, len);
    }
  }
  return -EFAULT;
}

int
pm__elf_read_vaddr(struct pm_elf *e, uint64_t vaddr, void *buf, size_t len)
{
  uint64_t key[2] = { vaddr, len };
  int err;

  if (e->ask)
    return ask_fixed(e, PM_ELF_Q_READ_VADDR, key, sizeof(key), buf, len);
  err = file_read_vaddr(e, vaddr, buf, len);
  note(e, PM_ELF_Q_READ_VADDR, key, sizeof(key), err, buf, len);
  return err;
}

#define SCAN_CHUNK ((size_t)1 << 20)

static int
file_find_bytes(struct pm_elf *e, const void *needle, size_t len,
                uint64_t *vaddr)
{
  unsigned char *buf;
  size_t n;
  int err = PM_ENOSYM;

  if (len == 0 || len > SCAN_CHUNK / 2)
    return PM_ENOSYM;
  if (elf_getphdrnum(e->elf, &n) != 0)
    return PM_EELF;
  if (!(buf = malloc(SCAN_CHUNK)))
    return -ENOMEM;
  for (size_t i = 0; i < n && err == PM_ENOSYM; i++) {
    GElf_Phdr ph;
    if (!gelf_getphdr(e->elf, (int)i, &ph) || ph.p_type != PT_LOAD
        || ph.p_offset > e->size || ph.p_filesz > e->size - ph.p_offset)
      continue;
    /* Chunks overlap by len - 1 bytes so that no match is cut in two. */
    for (uint64_t at = 0; at < ph.p_filesz && err == PM_ENOSYM;
         at += SCAN_CHUNK - (len - 1)) {
      size_t want = ph.p_filesz - at < SCAN_CHUNK ? (size_t)(ph.p_filesz - at)
                                                  : SCAN_CHUNK;
      const unsigned char *hit;
      if (want < len || file_pread(e, ph.p_offset + at, buf, want) != 0)
        break;
      hit = memmem(buf, want, needle, len);
      if (hit) {
        *vaddr = ph.p_vaddr + at + (uint64_t)(hit - buf);
        err = 0;
      }
      if (want < SCAN_CHUNK)
        break;
    }
  }
  free(buf);
  return err;
}

int
pm__elf_find_bytes(struct pm_elf *e, const void *needle, size_t len,
                   uint64_t *vaddr)
{
  uint64_t a = 0;
  int err;

  if (e->ask)
    err = ask_fixed(e, PM_ELF_Q_FIND_BYTES, needle, len, &a, sizeof(a));
  else {
    err = file_find_bytes(e, needle, len, &a);
    note(e, PM_ELF_Q_FIND_BYTES, needle, len, err, &a, sizeof(a));
  }
  if (!err)
    *vaddr = a;
  return err;
}

static int
file_writable_range(struct pm_elf *e, uint64_t *lo, uint64_t *hi)
{
  size_t n;
  int found = 0;

  if (elf_getphdrnum(e->elf, &n) != 0)
    return PM_EELF;
  for (size_t i = 0; i < n; i++) {
    GElf_Phdr ph;
    if (!gelf_getphdr(e->elf, (int)i, &ph) || ph.p_type != PT_LOAD
        || !(ph.p_flags & PF_W) || ph.p_vaddr + ph.p_memsz < ph.p_vaddr)
      continue;
    if (!found || ph.p_vaddr < *lo)
      *lo = ph.p_vaddr;
    if (!found || ph.p_vaddr + ph.p_memsz > *hi)
      *hi = ph.p_vaddr + ph.p_memsz;
    found = 1;
  }
  return found ? 0 : PM_EELF;
}

int
pm__elf_writable_range(struct pm_elf *e, uint64_t *lo, uint64_t *hi)
{
  uint64_t a[2] = { 0, 0 };
  int err;

  if (e->ask)
    err = ask_fixed(e, PM_ELF_Q_WRITABLE, NULL, 0, a, sizeof(a));
  else {
    err = file_writable_range(e, &a[0], &a[1]);
    note(e, PM_ELF_Q_WRITABLE, NULL, 0, err, a, sizeof(a));
  }
  if (err)
    return err;
  *lo = a[0];
  *hi = a[1];
  return 0;
}

static int
file_build_id(struct pm_elf *e, char *buf, size_t len)
{
  size_t n;

  if (elf_getphdrnum(e->elf, &n) != 0)
    return PM_EELF;
  for (size_t i = 0; i < n; i++) {
    GElf_Phdr ph;
    Elf_Data *data;
    GElf_Nhdr nh;
    size_t off = 0, name_off, desc_off;

    if (!gelf_getphdr(e->elf, (int)i, &ph) || ph.p_type != PT_NOTE)
      continue;
    data = elf_getdata_rawchunk(e->elf, (int64_t)ph.p_offset, ph.p_filesz,
                                ELF_T_NHDR);
    if (!data)
      continue;
    while ((off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
      const unsigned char *d = (const unsigned char *)data->d_buf + desc_off;
      if (nh.n_type != NT_GNU_BUILD_ID || nh.n_namesz != 4
          || memcmp((const char *)data->d_buf + name_off, "GNU", 4) != 0)
        continue;
      if (len < nh.n_descsz * 2 + 1)
        return -ENAMETOOLONG;
      for (size_t k = 0; k < nh.n_descsz; k++) {
        static const char hex[] = "0123456789abcdef";
        buf[2 * k] = hex[d[k] >> 4];
        buf[2 * k + 1] = hex[d[k] & 15];
      }
      buf[nh.n_descsz * 2] = '\0';
      return 0;
    }
  }
  return PM_ENOSYM;
}

int
pm__elf_build_id(struct pm_elf *e, char *buf, size_t len)
{
  const void *answer = NULL;
  size_t n = 0;
  int err;

  if (!e->ask) {
    err = file_build_id(e, buf, len);
    note(e, PM_ELF_Q_BUILD_ID, NULL, 0, err, buf, err ? 0 : strlen(buf));
    return err;
  }
  err = e->ask(e->arg, PM_ELF_Q_BUILD_ID, NULL, 0, &answer, &n);
  if (err)
    return err > 0 ? PM_EELF : err;
  if (n && !answer)
    return PM_EELF;
  if (n + 1 > len)
    return -ENAMETOOLONG;
  memcpy(buf, answer, n);
  buf[n] = '\0';
  return 0;
}
