/* SPDX-License-Identifier: MIT */
/* pmpeek-offsets.c -- write an offsets/ file from a CPython build's DWARF */
#include <config.h>

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROG "pmpeek-offsets"
#define MAX_MODULES 16

struct field {
  const char *name;
  const char *type;
  const char *path;
};

static const struct field fields[] = {
#define PM_FIELD(n, t, p) { #n, t, p },
#include "cpython/layout-fields.def"
#undef PM_FIELD
};

#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

enum kind { K_TYPEDEF, K_STRUCT, K_UNION };

/*
 * One named top-level type.  A typedef is "complete" when its chain ends in
 * a defined type; an aggregate when it is a definition with a byte size.
 */
struct entry {
  const char *name; /* points into .debug_str, lives as long as the Dwarf */
  enum kind kind;
  Dwarf *dbg;
  Dwarf_Off off;
  bool complete;
  Dwarf_Word size;
  bool conflict; /* another complete definition has a different size */
  bool warned;
};

struct index {
  struct entry *v;
  size_t cap; /* power of two */
  size_t n;
};

static struct index idx;

static void
die_oom(void)
{
  fprintf(stderr, "%s: out of memory\n", PROG);
  exit(1);
}

static size_t
hash_name(const char *s, enum kind k)
{
  size_t h = 1469598103934665603ULL ^ (size_t)k;

  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ULL;
  return h;
}

static struct entry *
index_slot(const char *name, enum kind k)
{
  size_t i = hash_name(name, k) & (idx.cap - 1);

  while (idx.v[i].name) {
    if (idx.v[i].kind == k && strcmp(idx.v[i].name, name) == 0)
      return &idx.v[i];
    i = (i + 1) & (idx.cap - 1);
  }
  return &idx.v[i];
}

static void
index_grow(void)
{
  struct index old = idx;

  idx.cap = old.cap ? old.cap * 2 : 4096;
  idx.n = 0;
  idx.v = calloc(idx.cap, sizeof(*idx.v));
  if (!idx.v)
    die_oom();
  for (size_t i = 0; i < old.cap; i++) {
    if (old.v[i].name) {
      *index_slot(old.v[i].name, old.v[i].kind) = old.v[i];
      idx.n++;
    }
  }
  free(old.v);
}

static struct entry *
index_find(const char *name, enum kind k)
{
  struct entry *e;

  if (!idx.cap)
    return NULL;
  e = index_slot(name, k);
  return e->name ? e : NULL;
}

/* Follow typedefs and qualifiers; the result may still be a declaration. */
static bool
strip_type(Dwarf_Die *d, Dwarf_Die *out)
{
  Dwarf_Die cur = *d;

  for (int depth = 0; depth < 64; depth++) {
    Dwarf_Attribute a;
    int tag = dwarf_tag(&cur);

    if (tag != DW_TAG_typedef && tag != DW_TAG_const_type
        && tag != DW_TAG_volatile_type && tag != DW_TAG_restrict_type
        && tag != DW_TAG_atomic_type) {
      *out = cur;
      return true;
    }
    if (!dwarf_attr_integrate(&cur, DW_AT_type, &a)
        || !dwarf_formref_die(&a, &cur))
      return false; /* typedef of void */
  }
  return false;
}

static bool
is_declaration(Dwarf_Die *d)
{
  Dwarf_Attribute a;
  bool decl = false;

  return dwarf_attr(d, DW_AT_declaration, &a) && dwarf_formflag(&a, &decl) == 0
         && decl;
}

static bool
is_definition(Dwarf_Die *d)
{
  return !is_declaration(d) && dwarf_hasattr(d, DW_AT_byte_size);
}

static void
index_add(const char *name, enum kind k, Dwarf *dbg, Dwarf_Die *d)
{
  struct entry *e;
  bool complete;
  Dwarf_Word size = 0;

  if (k == K_TYPEDEF) {
    Dwarf_Die t;

    /* a typedef of an incomplete struct is resolved later by its tag */
    complete = strip_type(d, &t) && !is_declaration(&t);
    if (complete && dwarf_aggregate_size(&t, &size) != 0)
      size = 0;
  } else {
    complete = is_definition(d);
    if (complete && dwarf_aggregate_size(d, &size) != 0)
      size = 0;
  }

  if ((idx.n + 1) * 2 > idx.cap)
    index_grow();
  e = index_slot(name, k);
  if (e->name) {
    if (!e->complete && complete) {
      e->dbg = dbg;
      e->off = dwarf_dieoffset(d);
      e->complete = true;
      e->size = size;
    } else if (e->complete && complete && size != e->size) {
      e->conflict = true;
    }
    return;
  }
  memset(e, 0, sizeof(*e));
  e->name = name;
  e->kind = k;
  e->dbg = dbg;
  e->off = dwarf_dieoffset(d);
  e->complete = complete;
  e->size = size;
  idx.n++;
}

/*
 * Walks only the top level of each unit: the CPython types we want are all
 * declared at file scope, and skipping function bodies keeps this one pass
 * over a large libpython fast.
 */
static void
index_dwarf(Dwarf *dbg)
{
  Dwarf_Off off = 0, next;
  size_t hsize;

  while (dwarf_nextcu(dbg, off, &next, &hsize, NULL, NULL, NULL) == 0) {
    Dwarf_Die cu, d;

    if (dwarf_offdie(dbg, off + hsize, &cu) && dwarf_child(&cu, &d) == 0) {
      do {
        const char *name;
        int tag = dwarf_tag(&d);
        enum kind k;

        if (tag == DW_TAG_typedef)
          k = K_TYPEDEF;
        else if (tag == DW_TAG_structure_type)
          k = K_STRUCT;
        else if (tag == DW_TAG_union_type)
          k = K_UNION;
        else
          continue;
        name = dwarf_diename(&d);
        if (name)
          index_add(name, k, dbg, &d);
      } while (dwarf_siblingof(&d, &d) == 0);
    }
    off = next;
  }
}

static const char *const kind_prefix[] = { "", "struct ", "union " };

static bool
entry_die(struct entry *e, Dwarf_Die *out)
{
  if (e->conflict && !e->warned) {
    fprintf(stderr,
            "%s: warning: '%s%s' has definitions of different sizes; "
            "using the first\n",
            PROG, kind_prefix[e->kind], e->name);
    e->warned = true;
  }
  return dwarf_offdie(e->dbg, e->off, out) != NULL;
}

/* The definition behind d, found by tag when d is only a declaration. */
static bool
complete_type(Dwarf_Die *d, Dwarf_Die *out)
{
  Dwarf_Die t;
  const char *name;
  struct entry *e;
  int tag;

  if (!strip_type(d, &t))
    return false;
  tag = dwarf_tag(&t);
  if (!is_declaration(&t)) {
    *out = t;
    return true;
  }
  if (tag != DW_TAG_structure_type && tag != DW_TAG_union_type)
    return false;
  name = dwarf_diename(&t);
  if (!name)
    return false;
  e = index_find(name, tag == DW_TAG_structure_type ? K_STRUCT : K_UNION);
  if (!e || !e->complete || !entry_die(e, &t))
    return false;
  *out = t;
  return true;
}

/* "struct X", "union X" or a typedef name, resolved to its definition. */
static bool
lookup_type(const char *spec, size_t len, Dwarf_Die *out)
{
  char name[256];
  enum kind k = K_TYPEDEF;
  struct entry *e;
  Dwarf_Die d;

  if (len > 7 && strncmp(spec, "struct ", 7) == 0) {
    k = K_STRUCT;
    spec += 7;
    len -= 7;
  } else if (len > 6 && strncmp(spec, "union ", 6) == 0) {
    k = K_UNION;
    spec += 6;
    len -= 6;
  }
  if (len >= sizeof(name))
    return false;
  memcpy(name, spec, len);
  name[len] = '\0';
  e = index_find(name, k);
  if (!e || !entry_die(e, &d))
    return false;
  return complete_type(&d, out);
}

static bool
member_location(Dwarf_Die *m, Dwarf_Word *out)
{
  Dwarf_Attribute a;
  Dwarf_Op *ops;
  size_t nops;

  if (!dwarf_attr(m, DW_AT_data_member_location, &a)) {
    Dwarf_Word bits;

    /* union members and DWARF 4+ bit-fields may carry no byte location */
    if (dwarf_attr(m, DW_AT_data_bit_offset, &a)) {
      if (dwarf_formudata(&a, &bits) != 0 || bits % 8)
        return false;
      *out = bits / 8;
      return true;
    }
    *out = 0;
    return true;
  }
  switch (dwarf_whatform(&a)) {
  case DW_FORM_data1:
  case DW_FORM_data2:
  case DW_FORM_data4:
  case DW_FORM_data8:
  case DW_FORM_udata:
  case DW_FORM_sdata:
  case DW_FORM_implicit_const:
    return dwarf_formudata(&a, out) == 0;
  default:
    break;
  }
  /* DWARF 2 style: a location expression pushing the offset */
  if (dwarf_getlocation(&a, &ops, &nops) != 0 || nops != 1)
    return false;
  if (ops[0].atom != DW_OP_plus_uconst && ops[0].atom != DW_OP_constu)
    return false;
  *out = ops[0].number;
  return true;
}

static bool
is_aggregate(Dwarf_Die *d)
{
  int tag = dwarf_tag(d);

  return tag == DW_TAG_structure_type || tag == DW_TAG_union_type;
}

/*
 * Finds member name in aggregate agg, looking through anonymous struct and
 * union members as C does.  *off is the member's offset inside agg.
 */
static bool
find_member(Dwarf_Die *agg, const char *name, size_t len, Dwarf_Die *out,
            Dwarf_Word *off)
{
  Dwarf_Die m;

  if (dwarf_child(agg, &m) != 0)
    return false;
  do {
    const char *mname;
    Dwarf_Word loc;

    if (dwarf_tag(&m) != DW_TAG_member)
      continue;
    mname = dwarf_diename(&m);
    if (mname) {
      if (strlen(mname) != len || strncmp(mname, name, len) != 0)
        continue;
      if (!member_location(&m, &loc))
        return false;
      *out = m;
      *off = loc;
      return true;
    } else {
      Dwarf_Attribute a;
      Dwarf_Die t, inner;
      Dwarf_Word sub;

      if (!dwarf_attr_integrate(&m, DW_AT_type, &a)
          || !dwarf_formref_die(&a, &t) || !complete_type(&t, &t)
          || !is_aggregate(&t))
        continue;
      if (!find_member(&t, name, len, &inner, &sub))
        continue;
      if (!member_location(&m, &loc))
        return false;
      *out = inner;
      *off = loc + sub;
      return true;
    }
  } while (dwarf_siblingof(&m, &m) == 0);
  return false;
}

/*
 * Resolves one alternative of a member path.  want_size asks for the size of
 * the last member's type instead of its offset.
 */
static bool
resolve_path(Dwarf_Die *type, const char *path, size_t len, bool want_size,
             int64_t *out)
{
  Dwarf_Die agg = *type, m;
  Dwarf_Word total = 0, size;
  const char *p = path, *end = path + len;

  if (len == 0) {
    if (dwarf_aggregate_size(type, &size) != 0)
      return false;
    *out = (int64_t)size;
    return true;
  }
  for (;;) {
    const char *dot = memchr(p, '.', (size_t)(end - p));
    size_t n = dot ? (size_t)(dot - p) : (size_t)(end - p);
    Dwarf_Word off;
    Dwarf_Attribute a;
    Dwarf_Die t;

    if (!is_aggregate(&agg) || !find_member(&agg, p, n, &m, &off))
      return false;
    total += off;
    if (!dot)
      break;
    if (!dwarf_attr_integrate(&m, DW_AT_type, &a) || !dwarf_formref_die(&a, &t)
        || !complete_type(&t, &agg))
      return false;
    p = dot + 1;
  }
  if (want_size) {
    Dwarf_Attribute a;
    Dwarf_Die t;

    /* dwarf_aggregate_size multiplies array element size by the count */
    if (!dwarf_attr_integrate(&m, DW_AT_type, &a) || !dwarf_formref_die(&a, &t)
        || dwarf_aggregate_size(&t, &size) != 0)
      return false;
    *out = (int64_t)size;
    return true;
  }
  *out = (int64_t)total;
  return true;
}

/* Any alternative of "A|B" types and paths; -1 when none resolves. */
static int64_t
field_value(const struct field *f)
{
  const char *tp = f->type;

  for (;;) {
    const char *tbar = strchr(tp, '|');
    size_t tlen = tbar ? (size_t)(tbar - tp) : strlen(tp);
    Dwarf_Die type;

    if (lookup_type(tp, tlen, &type)) {
      const char *p = f->path;
      bool all_size = strncmp(p, "sizeof:", 7) == 0;

      for (;;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        bool want_size = all_size;
        int64_t v;

        /* "sizeof:" may lead the whole path or a single alternative */
        if (len >= 7 && strncmp(p, "sizeof:", 7) == 0) {
          want_size = true;
          p += 7;
          len -= 7;
        }
        if (resolve_path(&type, p, len, want_size, &v))
          return v;
        if (!bar)
          break;
        p = bar + 1;
      }
      /* a type that exists but lacks the member is the answer: no fallback */
      return -1;
    }
    if (!tbar)
      return -1;
    tp = tbar + 1;
  }
}

static bool
has_debug_info(Elf *elf)
{
  size_t shstrndx;
  Elf_Scn *scn = NULL;

  if (elf_getshdrstrndx(elf, &shstrndx) != 0)
    return false;
  while ((scn = elf_nextscn(elf, scn))) {
    GElf_Shdr sh;
    const char *name;

    if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS)
      continue;
    name = elf_strptr(elf, shstrndx, sh.sh_name);
    if (name
        && (strcmp(name, ".debug_info") == 0
            || strcmp(name, ".zdebug_info") == 0))
      return true;
  }
  return false;
}

struct elf_file {
  int fd;
  Elf *elf;
};

static int
open_elf(const char *path, struct elf_file *f)
{
  f->fd = open(path, O_RDONLY | O_CLOEXEC);
  if (f->fd < 0) {
    fprintf(stderr, "%s: cannot open '%s': %s\n", PROG, path, strerror(errno));
    return -1;
  }
  f->elf = elf_begin(f->fd, ELF_C_READ_MMAP, NULL);
  if (!f->elf || elf_kind(f->elf) != ELF_K_ELF) {
    fprintf(stderr, "%s: '%s' is not an ELF file\n", PROG, path);
    if (f->elf)
      elf_end(f->elf);
    close(f->fd);
    f->elf = NULL;
    f->fd = -1;
    return -1;
  }
  return 0;
}

static void
close_elf(struct elf_file *f)
{
  if (f->elf)
    elf_end(f->elf);
  if (f->fd >= 0)
    close(f->fd);
  f->elf = NULL;
  f->fd = -1;
}

/* Distros keep stripped DWARF under the build-id; look there for BINARY. */
static char *
build_id_debug_path(Elf *elf)
{
  const void *id;
  ssize_t n = dwelf_elf_gnu_build_id(elf, &id);
  const unsigned char *b = id;
  char *path, *p;

  if (n < 2)
    return NULL;
  path = malloc(sizeof("/usr/lib/debug/.build-id/") + 2 * (size_t)n + 8);
  if (!path)
    die_oom();
  p = path + sprintf(path, "/usr/lib/debug/.build-id/%02x/", b[0]);
  for (ssize_t i = 1; i < n; i++)
    p += sprintf(p, "%02x", b[i]);
  strcpy(p, ".debug");
  if (access(path, R_OK) != 0) {
    free(path);
    return NULL;
  }
  return path;
}

static bool
find_symbol(Elf *elf, const char *want, GElf_Sym *out)
{
  Elf_Scn *scn = NULL;

  while ((scn = elf_nextscn(elf, scn))) {
    GElf_Shdr sh;
    Elf_Data *data;

    if (!gelf_getshdr(scn, &sh)
        || (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM)
        || sh.sh_entsize == 0)
      continue;
    data = elf_getdata(scn, NULL);
    if (!data)
      continue;
    for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
      GElf_Sym sym;
      const char *name;

      if (!gelf_getsym(data, (int)i, &sym) || sym.st_shndx == SHN_UNDEF)
        continue;
      name = elf_strptr(elf, sh.sh_link, sym.st_name);
      if (name && strcmp(name, want) == 0) {
        *out = sym;
        return true;
      }
    }
  }
  return false;
}

static bool
read_vaddr(Elf *elf, GElf_Addr addr, void *buf, size_t len)
{
  Elf_Scn *scn = NULL;

  while ((scn = elf_nextscn(elf, scn))) {
    GElf_Shdr sh;
    Elf_Data *data;

    if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS
        || !(sh.sh_flags & SHF_ALLOC) || addr < sh.sh_addr
        || addr + len > sh.sh_addr + sh.sh_size)
      continue;
    data = elf_getdata(scn, NULL);
    if (!data || addr - sh.sh_addr + len > data->d_size)
      return false;
    memcpy(buf, (const char *)data->d_buf + (addr - sh.sh_addr), len);
    return true;
  }
  return false;
}

/*
 * Py_Version (3.11+) holds PY_VERSION_HEX.  Its symbol may be only in the
 * debug file, but the bytes are only in the real binary.  Older versions
 * keep no number we could read reliably, so the caller omits it.
 */
static bool
exact_version(Elf *bin, Elf *debug, char *buf, size_t size)
{
  GElf_Sym sym;
  unsigned char b[4];
  uint32_t hex;
  unsigned major, minor, micro, level, serial;

  if (!find_symbol(bin, "Py_Version", &sym)
      && !(debug && find_symbol(debug, "Py_Version", &sym)))
    return false;
  if (sym.st_size < 4 || !read_vaddr(bin, sym.st_value, b, 4))
    return false;
  /* x86-64 is little-endian, checked by the caller */
  hex = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16
        | (uint32_t)b[3] << 24;
  if (hex >> 24 < 2 || hex >> 24 > 9)
    return false;
  major = hex >> 24;
  minor = (hex >> 16) & 0xff;
  micro = (hex >> 8) & 0xff;
  level = (hex >> 4) & 0xf;
  serial = hex & 0xf;
  if (level == 0xF)
    snprintf(buf, size, "%u.%u.%u", major, minor, micro);
  else if (level >= 0xA && level <= 0xC)
    snprintf(buf, size, "%u.%u.%u%s%u", major, minor, micro,
             (const char *[]){ "a", "b", "rc" }[level - 0xA], serial);
  else
    return false;
  return true;
}

static bool
valid_version(const char *s)
{
  unsigned a, b, c;
  int n = 0;

  return sscanf(s, "%u.%u.%u%n", &a, &b, &c, &n) == 3 && s[n] == '\0';
}

/* major.minor.micro of s packed for comparison; pre-release tags ignored */
static unsigned long
version_key(const char *s)
{
  unsigned a = 0, b = 0, c = 0;

  sscanf(s, "%u.%u.%u", &a, &b, &c);
  return (unsigned long)a << 16 | (b & 0xff) << 8 | (c & 0xff);
}

/* The const_* lines of path, read before printing so errors leave no output. */
static char *
read_consts(const char *path)
{
  FILE *f = fopen(path, "r");
  char line[1024], *buf = NULL;
  size_t len = 0;

  if (!f) {
    fprintf(stderr, "%s: cannot read '%s': %s\n", PROG, path, strerror(errno));
    return NULL;
  }
  buf = calloc(1, 1);
  if (!buf)
    die_oom();
  while (fgets(line, sizeof(line), f)) {
    const char *p = line + strspn(line, " \t");
    size_t n = strlen(line);
    char *nb;

    if (strncmp(p, "const_", 6) != 0)
      continue;
    nb = realloc(buf, len + n + 2);
    if (!nb)
      die_oom();
    buf = nb;
    memcpy(buf + len, line, n);
    len += n;
    if (line[n - 1] != '\n')
      buf[len++] = '\n';
    buf[len] = '\0';
  }
  if (ferror(f)) {
    fprintf(stderr, "%s: cannot read '%s': %s\n", PROG, path, strerror(errno));
    free(buf);
    buf = NULL;
  }
  fclose(f);
  return buf;
}

static void
usage(FILE *out)
{
  fprintf(out,
          "usage: " PROG " [--debug-file FILE] --range LO HI\n"
          "                      [--build default|debug] [--merge OLDFILE]\n"
          "                      [--module EXTENSION.so]... BINARY\n");
}

int
main(int argc, char **argv)
{
  const char *debug_path = NULL, *lo = NULL, *hi = NULL, *build = "default";
  const char *merge = NULL, *binary = NULL, *base;
  char *found_debug = NULL, *consts = NULL, version[32];
  struct elf_file bin = { -1, NULL }, dbgf = { -1, NULL };
  /* Extension modules (_struct, array) whose structs libpython lacks. */
  const char *module_paths[MAX_MODULES];
  struct elf_file modules[MAX_MODULES];
  Dwarf *module_dbg[MAX_MODULES] = { NULL };
  size_t nmodules = 0;
  Elf *dwarf_elf;
  Dwarf *dbg;
  Dwarf_Die probe;
  GElf_Ehdr eh;
  int status = 1;

  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];

    if (strcmp(a, "--debug-file") == 0 && i + 1 < argc) {
      debug_path = argv[++i];
    } else if (strcmp(a, "--range") == 0 && i + 2 < argc) {
      lo = argv[++i];
      hi = argv[++i];
    } else if (strcmp(a, "--build") == 0 && i + 1 < argc) {
      build = argv[++i];
    } else if (strcmp(a, "--merge") == 0 && i + 1 < argc) {
      merge = argv[++i];
    } else if (strcmp(a, "--module") == 0 && i + 1 < argc) {
      if (nmodules == MAX_MODULES) {
        fprintf(stderr, "%s: more than %d --module files\n", PROG, MAX_MODULES);
        return 2;
      }
      module_paths[nmodules++] = argv[++i];
    } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage(stdout);
      return 0;
    } else if (a[0] == '-' && a[1] != '\0') {
      fprintf(stderr, "%s: unknown or incomplete option '%s'\n", PROG, a);
      usage(stderr);
      return 2;
    } else if (!binary) {
      binary = a;
    } else {
      fprintf(stderr, "%s: more than one BINARY ('%s')\n", PROG, a);
      usage(stderr);
      return 2;
    }
  }
  if (!binary || !lo) {
    usage(stderr);
    return 2;
  }
  if (!valid_version(lo) || !valid_version(hi)) {
    fprintf(stderr, "%s: range must be two versions like 3.11.0 3.11.99\n",
            PROG);
    return 2;
  }
  if (strcmp(build, "default") != 0 && strcmp(build, "debug") != 0) {
    fprintf(stderr, "%s: build must be 'default' or 'debug', not '%s'\n", PROG,
            build);
    return 2;
  }

  if (merge && !(consts = read_consts(merge)))
    return 1;

  elf_version(EV_CURRENT);
  if (open_elf(binary, &bin) != 0)
    goto out;
  if (!gelf_getehdr(bin.elf, &eh) || eh.e_machine != EM_X86_64
      || eh.e_ident[EI_CLASS] != ELFCLASS64) {
    fprintf(stderr, "%s: '%s' is not an x86-64 ELF file\n", PROG, binary);
    goto out;
  }
  if (!debug_path && !has_debug_info(bin.elf))
    debug_path = found_debug = build_id_debug_path(bin.elf);
  if (debug_path) {
    if (open_elf(debug_path, &dbgf) != 0)
      goto out;
    dwarf_elf = dbgf.elf;
  } else {
    dwarf_elf = bin.elf;
  }
  if (!has_debug_info(dwarf_elf)) {
    fprintf(stderr, "%s: '%s' has no DWARF (.debug_info)\n", PROG,
            debug_path ? debug_path : binary);
    goto out;
  }
  dbg = dwarf_begin_elf(dwarf_elf, DWARF_C_READ, NULL);
  if (!dbg) {
    fprintf(stderr, "%s: cannot read DWARF of '%s': %s\n", PROG,
            debug_path ? debug_path : binary, dwarf_errmsg(-1));
    goto out;
  }

  index_dwarf(dbg);
  /* dwz moves shared types into a supplementary file; index it too */
  if (dwarf_getalt(dbg))
    index_dwarf(dwarf_getalt(dbg));
  /* After the interpreter's own, so that its definitions come first. */
  for (size_t i = 0; i < nmodules; i++)
    modules[i] = (struct elf_file){ -1, NULL };
  for (size_t i = 0; i < nmodules; i++) {
    char *found = NULL;
    /* A stripped module's DWARF: its build-id debug file, as above. */
    if (open_elf(module_paths[i], &modules[i]) != 0)
      goto out_dbg;
    if (!has_debug_info(modules[i].elf)
        && (found = build_id_debug_path(modules[i].elf))) {
      close_elf(&modules[i]);
      if (open_elf(found, &modules[i]) != 0) {
        free(found);
        goto out_dbg;
      }
    }
    if (!has_debug_info(modules[i].elf)
        || !(module_dbg[i]
             = dwarf_begin_elf(modules[i].elf, DWARF_C_READ, NULL))) {
      fprintf(stderr, "%s: '%s' has no DWARF (.debug_info)\n", PROG,
              found ? found : module_paths[i]);
      free(found);
      goto out_dbg;
    }
    free(found);
    index_dwarf(module_dbg[i]);
  }
  if (!lookup_type("PyObject", strlen("PyObject"), &probe)) {
    fprintf(stderr, "%s: '%s' has no PyObject in its DWARF\n", PROG,
            debug_path ? debug_path : binary);
    goto out_dbg;
  }

  base = strrchr(binary, '/');
  base = base ? base + 1 : binary;
  printf("# pmpeek offsets: CPython %s..%s, x86-64, %s build\n", lo, hi, build);
  if (exact_version(bin.elf, debug_path ? dbgf.elf : NULL, version,
                    sizeof(version))) {
    /* easy to pass the wrong --range; the file would still look fine */
    if (version_key(version) < version_key(lo)
        || version_key(version) > version_key(hi))
      fprintf(stderr, "%s: warning: '%s' is %s, outside %s..%s\n", PROG, binary,
              version, lo, hi);
    printf("# generated by tools/pmpeek-offsets from %s %s\n", base, version);
  } else
    printf("# generated by tools/pmpeek-offsets from %s\n", base);
  printf("python %s %s\n", lo, hi);
  printf("build %s\n", build);
  for (size_t i = 0; i < NFIELDS; i++)
    printf("%s %" PRId64 "\n", fields[i].name, field_value(&fields[i]));
  if (consts)
    fputs(consts, stdout);
  status = 0;
  if (fflush(stdout) != 0 || ferror(stdout)) {
    fprintf(stderr, "%s: cannot write output: %s\n", PROG, strerror(errno));
    status = 1;
  }

out_dbg:
  dwarf_end(dbg);
  for (size_t i = 0; i < nmodules; i++) {
    if (module_dbg[i])
      dwarf_end(module_dbg[i]);
    close_elf(&modules[i]);
  }
out:
  close_elf(&dbgf);
  close_elf(&bin);
  free(found_debug);
  free(consts);
  free(idx.v);
  return status;
}
