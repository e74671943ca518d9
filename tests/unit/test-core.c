/* SPDX-License-Identifier: MIT */
/* test-core.c -- the core backend against small synthetic cores */
#include <config.h>

#include <check.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/procfs.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elf/elf-core.h"
#include "pmpeek/error.h"
#include "pmpeek/target.h"

/*
 * The synthetic process, as its core describes it:
 *
 *   0x400000-0x402000  /synthetic/exe, offset 0.  PT_LOAD R+X with only
 *                      the first page (an ELF image with a build-id) in
 *                      the core: the second page comes from the file.
 *   0x500000-0x501000  /synthetic/lib.so, offset 0x1000.  No PT_LOAD at
 *                      all (as gcore leaves text out); the file is
 *                      0x1800 bytes, so the page ends in 0x800 zeros.
 *   0x600000-0x602000  anonymous, PT_LOAD RW, all in the core.
 *   0x700000-0x701000  PT_LOAD with no permissions and no bytes (a guard).
 *
 * Files live under a temporary directory passed as lib_root.
 */
#define EXE_AT 0x400000ull
#define LIB_AT 0x500000ull
#define ANON_AT 0x600000ull
#define GUARD_AT 0x700000ull
#define PAGE 0x1000u
#define PID 4242
#define BUILD_ID "\x01\x23\x45\x67\x89\xab\xcd\xef\x10\x32"
#define BUILD_ID_HEX "0123456789abcdef1032"
#define CORE_ONLY 0x5a /* at EXE_AT + PAGE - 1 in the core, not the file */

#if defined(__x86_64__)
#define MACHINE EM_X86_64
#else
#define MACHINE EM_AARCH64
#endif

static char dir[256];
static char core_path[PATH_MAX];

static unsigned char
pat(uint64_t a)
{
  return (unsigned char)(a * 131 + (a >> 8) * 7 + (a >> 16));
}

/* A growing byte buffer. */
struct buf {
  unsigned char *p;
  size_t n, cap;
};

static size_t
put(struct buf *b, const void *data, size_t len)
{
  size_t at = b->n;
  if (b->n + len > b->cap) {
    b->cap = (b->n + len) * 2 + 4096;
    b->p = realloc(b->p, b->cap);
    ck_assert_ptr_nonnull(b->p);
  }
  if (data)
    memcpy(b->p + b->n, data, len);
  else
    memset(b->p + b->n, 0, len);
  b->n += len;
  return at;
}

static void
pad_to(struct buf *b, size_t align)
{
  while (b->n % align)
    put(b, NULL, 1);
}

static void
note(struct buf *b, const char *name, uint32_t type, const void *desc,
     size_t len)
{
  Elf64_Nhdr nh = { (uint32_t)strlen(name) + 1, (uint32_t)len, type };
  put(b, &nh, sizeof(nh));
  put(b, name, nh.n_namesz);
  pad_to(b, 4);
  put(b, desc, len);
  pad_to(b, 4);
}

/*
 * A minimal ELF executable image: header, a PT_NOTE with the GNU
 * build-id, a PT_LOAD, padded with pat() to size bytes.
 */
static struct buf
elf_image(const char *id, size_t idlen, size_t size)
{
  struct buf b = { 0 };
  Elf64_Ehdr eh = { 0 };
  Elf64_Phdr ph[2] = { { 0 } };
  size_t notes_at = sizeof(eh) + sizeof(ph);
  struct buf n = { 0 };

  note(&n, "GNU", NT_GNU_BUILD_ID, id, idlen);
  memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = ELFCLASS64;
  eh.e_ident[EI_DATA] = ELFDATA2LSB;
  eh.e_ident[EI_VERSION] = EV_CURRENT;
  eh.e_type = ET_EXEC;
  eh.e_machine = MACHINE;
  eh.e_version = EV_CURRENT;
  eh.e_phoff = sizeof(eh);
  eh.e_ehsize = sizeof(eh);
  eh.e_phentsize = sizeof(Elf64_Phdr);
  eh.e_phnum = 2;
  ph[0] = (Elf64_Phdr){ PT_NOTE, PF_R, notes_at, EXE_AT + notes_at,
                        0,       n.n,  n.n,      4 };
  ph[1] = (Elf64_Phdr){ PT_LOAD, PF_R | PF_X, 0, EXE_AT, 0, size, size, PAGE };
  put(&b, &eh, sizeof(eh));
  put(&b, ph, sizeof(ph));
  put(&b, n.p, n.n);
  free(n.p);
  while (b.n < size) {
    unsigned char c = pat(EXE_AT + b.n);
    put(&b, &c, 1);
  }
  return b;
}

/* Options for building a core that is wrong in one way. */
struct shape {
  int exe_type;           /* e_type; ET_CORE unless set */
  int machine;            /* e_machine; the host's unless set */
  int overlap;            /* the anonymous segment overlaps the exe's */
  int filesz_over;        /* a segment with filesz > memsz */
  uint64_t nt_file_count; /* replaces the NT_FILE count when set */
  int unterminated;       /* the last NT_FILE name lacks its NUL */
  int no_auxv;            /* without NT_AUXV: the first file is the exe */
  int no_prpsinfo;        /* the pid then comes from NT_PRSTATUS */
};

static void
write_file(const char *path, const void *data, size_t len)
{
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
  close(fd);
}

static struct buf
build_core(const struct shape *s)
{
  struct buf b = { 0 }, notes = { 0 }, img = elf_image(BUILD_ID, 10, PAGE);
  Elf64_Ehdr eh = { 0 };
  Elf64_Phdr ph[5];
  struct elf_prpsinfo ps = { 0 };
  struct elf_prstatus st = { 0 };
  uint64_t auxv[]
      = { AT_PHDR, EXE_AT + sizeof(Elf64_Ehdr), AT_PAGESZ, PAGE, AT_NULL, 0 };
  static const char names[] = "/synthetic/exe\0/synthetic/lib.so";
  uint64_t file[2 + 6];
  struct buf fn = { 0 };
  size_t ph_at, data_at;

  /* NT_FILE: count, page size, (start, end, page offset) x2, names. */
  file[0] = s->nt_file_count ? s->nt_file_count : 2;
  file[1] = PAGE;
  file[2] = EXE_AT, file[3] = EXE_AT + 2 * PAGE, file[4] = 0;
  file[5] = LIB_AT, file[6] = LIB_AT + PAGE, file[7] = 1;
  put(&fn, file, sizeof(file));
  put(&fn, names, sizeof(names) - (s->unterminated ? 1 : 0));

  ps.pr_pid = PID;
  strcpy(ps.pr_fname, "python3");
  st.pr_pid = PID + 1;
  st.pr_cursig = 6;
  if (!s->no_prpsinfo)
    note(&notes, "CORE", NT_PRPSINFO, &ps, sizeof(ps));
  note(&notes, "CORE", NT_PRSTATUS, &st, sizeof(st));
  if (!s->no_auxv)
    note(&notes, "CORE", NT_AUXV, auxv, sizeof(auxv));
  note(&notes, "CORE", NT_FILE, fn.p, fn.n);
  free(fn.p);

  memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = ELFCLASS64;
  eh.e_ident[EI_DATA] = ELFDATA2LSB;
  eh.e_ident[EI_VERSION] = EV_CURRENT;
  eh.e_type = s->exe_type ? s->exe_type : ET_CORE;
  eh.e_machine = s->machine ? s->machine : MACHINE;
  eh.e_version = EV_CURRENT;
  eh.e_phoff = sizeof(eh);
  eh.e_ehsize = sizeof(eh);
  eh.e_phentsize = sizeof(Elf64_Phdr);
  eh.e_phnum = 5;
  put(&b, &eh, sizeof(eh));
  ph_at = put(&b, NULL, sizeof(ph));
  ph[0] = (Elf64_Phdr){ PT_NOTE, 0, b.n, 0, 0, notes.n, 0, 4 };
  put(&b, notes.p, notes.n);
  free(notes.p);
  pad_to(&b, PAGE);
  data_at = b.n;
  /* The exe: its first page only, whose last byte differs from the file. */
  put(&b, img.p, PAGE);
  b.p[b.n - 1] = CORE_ONLY;
  free(img.p);
  ph[1] = (Elf64_Phdr){ PT_LOAD, PF_R | PF_X, data_at,  EXE_AT,
                        0,       PAGE,        2 * PAGE, PAGE };
  /* The anonymous memory. */
  data_at = b.n;
  for (uint64_t a = 0; a < 2 * PAGE; a++) {
    unsigned char c = pat(ANON_AT + a);
    put(&b, &c, 1);
  }
  ph[2] = (Elf64_Phdr){ PT_LOAD,  PF_R | PF_W,
                        data_at,  s->overlap ? EXE_AT + PAGE : ANON_AT,
                        0,        2 * PAGE,
                        2 * PAGE, PAGE };
  ph[3] = (Elf64_Phdr){ PT_LOAD, 0, b.n, GUARD_AT, 0, 0, PAGE, PAGE };
  ph[4] = (Elf64_Phdr){ PT_NULL, 0, 0, 0, 0, 0, 0, 0 };
  if (s->filesz_over)
    ph[3].p_filesz = 2 * PAGE;
  memcpy(b.p + ph_at, ph, sizeof(ph));
  return b;
}

static void
write_core(const struct shape *s, size_t cut)
{
  struct buf b = build_core(s);
  write_file(core_path, b.p, cut && cut < b.n ? cut : b.n);
  free(b.p);
}

/* The files on disk, under dir; exe_id is the build-id the exe gets. */
static void
write_files(const char *exe_id)
{
  char path[PATH_MAX];
  struct buf img = elf_image(exe_id, 10, 2 * PAGE);
  unsigned char lib[0x1800];

  snprintf(path, sizeof(path), "%s/synthetic", dir);
  mkdir(path, 0755);
  snprintf(path, sizeof(path), "%s/synthetic/exe", dir);
  write_file(path, img.p, img.n);
  free(img.p);
  for (size_t i = 0; i < sizeof(lib); i++)
    lib[i] = (unsigned char)(i < PAGE ? 0xee : pat(LIB_AT + i - PAGE));
  snprintf(path, sizeof(path), "%s/synthetic/lib.so", dir);
  write_file(path, lib, sizeof(lib));
}

static void
setup(void)
{
  const char *tmp = getenv("TMPDIR");

  snprintf(dir, sizeof(dir), "%s/pmpeek-test-core-XXXXXX", tmp ? tmp : "/tmp");
  ck_assert_ptr_nonnull(mkdtemp(dir));
  snprintf(core_path, sizeof(core_path), "%s/core", dir);
  write_files(BUILD_ID);
}

static void
teardown(void)
{
  char path[PATH_MAX];

  snprintf(path, sizeof(path), "%s/synthetic/exe", dir);
  unlink(path);
  snprintf(path, sizeof(path), "%s/synthetic/lib.so", dir);
  unlink(path);
  snprintf(path, sizeof(path), "%s/synthetic", dir);
  rmdir(path);
  unlink(core_path);
  rmdir(dir);
}

static char why[PATH_MAX + 256];

static int
open_core(struct pm_target **t, const char *exe, int force)
{
  struct pm_core_options o = { 0 };

  o.exe = exe;
  o.lib_root = dir;
  o.force = force;
  o.why = why;
  o.why_len = sizeof(why);
  why[0] = '\0';
  return pm_target_open_core(t, core_path, &o);
}

/* ---- the parsed core -------------------------------------------------- */

START_TEST(test_parse)
{
  static const struct shape plain;
  struct pm_elf_core *c;

  write_core(&plain, 0);
  ck_assert_int_eq(pm__core_open(&c, core_path, why, sizeof(why)), 0);
  ck_assert_int_eq(c->pid, PID);
  ck_assert_int_eq(c->signal, 6);
  ck_assert_str_eq(c->fname, "python3");
  ck_assert_uint_eq(c->at_phdr, EXE_AT + sizeof(Elf64_Ehdr));
  ck_assert_uint_eq(c->nsegs, 3);
  ck_assert_uint_eq(c->nmaps, 2);
  ck_assert_uint_eq(c->needed_size, c->file_size);
  ck_assert_str_eq(c->maps[1].path, "/synthetic/lib.so");
  ck_assert_uint_eq(c->maps[1].offset, PAGE);
  /* Lookups at both edges of each entry, and in the gaps. */
  ck_assert_ptr_null(pm__core_segment(c, EXE_AT - 1));
  ck_assert_ptr_eq(pm__core_segment(c, EXE_AT), &c->segs[0]);
  ck_assert_ptr_eq(pm__core_segment(c, EXE_AT + 2 * PAGE - 1), &c->segs[0]);
  ck_assert_ptr_null(pm__core_segment(c, EXE_AT + 2 * PAGE));
  ck_assert_ptr_eq(pm__core_segment_after(c, EXE_AT + 2 * PAGE), &c->segs[1]);
  ck_assert_ptr_null(pm__core_segment_after(c, GUARD_AT));
  ck_assert_ptr_eq(pm__core_mapping(c, LIB_AT + PAGE - 1), &c->maps[1]);
  ck_assert_ptr_null(pm__core_mapping(c, LIB_AT + PAGE));
  ck_assert_ptr_null(pm__core_mapping(c, 0));
  ck_assert_ptr_null(pm__core_mapping(c, UINT64_MAX));
  pm__core_free(c);
}
END_TEST

START_TEST(test_pid_from_prstatus)
{
  struct shape s = { 0 };
  struct pm_elf_core *c;

  s.no_prpsinfo = 1;
  write_core(&s, 0);
  ck_assert_int_eq(pm__core_open(&c, core_path, why, sizeof(why)), 0);
  ck_assert_int_eq(c->pid, PID + 1);
  pm__core_free(c);
}
END_TEST

/* ---- regions and reads through pm_target ------------------------------ */

START_TEST(test_regions)
{
  static const struct shape plain;
  const struct pm_maps *m;
  struct pm_target *t;
  char path[PATH_MAX], want[PATH_MAX];

  write_core(&plain, 0);
  ck_assert_int_eq(open_core(&t, NULL, 0), 0);
  ck_assert_int_eq(pm_target_pid(t), PID);
  ck_assert_str_eq(pm_target_exe(t), "/synthetic/exe");
  ck_assert_int_eq(pm_target_pause(t), 0);
  ck_assert_int_eq(pm_target_gone(t), 0);
  m = pm_target_maps(t);
  /* The exe in two: the page in the core, the page from the file. */
  ck_assert_uint_eq(m->n, 5);
  ck_assert_uint_eq(m->v[0].start, EXE_AT);
  ck_assert_uint_eq(m->v[0].end, EXE_AT + PAGE);
  ck_assert_uint_eq(m->v[0].prot, PM_PROT_READ | PM_PROT_EXEC);
  ck_assert_str_eq(m->v[0].path, "/synthetic/exe");
  ck_assert_uint_eq(m->v[1].start, EXE_AT + PAGE);
  ck_assert_uint_eq(m->v[1].end, EXE_AT + 2 * PAGE);
  ck_assert_uint_eq(m->v[1].offset, PAGE);
  ck_assert_str_eq(m->v[1].path, "/synthetic/exe");
  ck_assert_uint_eq(m->v[2].start, LIB_AT);
  ck_assert_uint_eq(m->v[2].offset, PAGE);
  ck_assert_uint_eq(m->v[2].prot, PM_PROT_READ);
  ck_assert_ptr_null(m->v[3].path);
  ck_assert_uint_eq(m->v[3].prot, PM_PROT_READ | PM_PROT_WRITE);
  ck_assert_uint_eq(m->v[4].prot, 0);
  ck_assert_int_eq(pm_target_region_file(t, &m->v[2], path, sizeof(path)), 0);
  snprintf(want, sizeof(want), "%s/synthetic/lib.so", dir);
  ck_assert_str_eq(path, want);
  ck_assert_int_eq(pm_target_region_file(t, &m->v[3], path, sizeof(path)),
                   -ENOENT);
  ck_assert_int_eq(pm_target_region_file(t, &m->v[2], path, 8), -ENAMETOOLONG);
  ck_assert_int_eq(pm_target_core_info(t)->signal, 6);
  ck_assert_uint_eq(pm_target_core_info(t)->nmissing, 0);
  ck_assert_int_eq(pm_target_resume(t), 0);
  pm_target_free(t);
}
END_TEST

START_TEST(test_reads)
{
  static const struct shape plain;
  unsigned char got[3 * PAGE];
  struct pm_target *t;

  write_core(&plain, 0);
  ck_assert_int_eq(open_core(&t, NULL, 0), 0);
  /* Across the end of the core's bytes into the file's. */
  ck_assert_int_eq(pm_target_read(t, EXE_AT + PAGE - 16, got, 32), 0);
  for (int i = 0; i < 15; i++)
    ck_assert_int_eq(got[i], pat(EXE_AT + PAGE - 16 + i));
  ck_assert_int_eq(got[15], CORE_ONLY); /* the core wins over the file */
  for (int i = 16; i < 32; i++)
    ck_assert_int_eq(got[i], pat(EXE_AT + PAGE + i - 16));
  ck_assert_int_eq(pm_target_read(t, EXE_AT, got, 4), 0);
  ck_assert_int_eq(memcmp(got, ELFMAG, SELFMAG), 0);
  /* The whole exe in one large read (bypasses the cache). */
  ck_assert_int_eq(pm_target_read(t, EXE_AT, got, 2 * PAGE), 0);
  for (unsigned i = PAGE; i < 2 * PAGE; i++)
    ck_assert_int_eq(got[i], pat(EXE_AT + i));
  /* A mapping with no segment: the file, then zeros past its end. */
  ck_assert_int_eq(pm_target_read(t, LIB_AT + 0x7f0, got, 32), 0);
  for (int i = 0; i < 16; i++)
    ck_assert_int_eq(got[i], pat(LIB_AT + 0x7f0 + i));
  for (int i = 16; i < 32; i++)
    ck_assert_int_eq(got[i], 0);
  /* Anonymous memory, all in the core. */
  ck_assert_int_eq(pm_target_read(t, ANON_AT + 5, got, 2 * PAGE - 5), 0);
  for (unsigned i = 0; i < 2 * PAGE - 5; i++)
    ck_assert_int_eq(got[i], pat(ANON_AT + 5 + i));
  /* Not mapped, not readable, or past the end. */
  ck_assert_int_eq(pm_target_read(t, GUARD_AT, got, 8), -EFAULT);
  ck_assert_int_eq(pm_target_read(t, ANON_AT + 2 * PAGE - 4, got, 8), -EFAULT);
  ck_assert_int_eq(pm_target_read(t, 0x1000, got, 8), -EFAULT);
  ck_assert_int_eq(pm_target_read(t, UINT64_MAX - 4, got, 8), -EFAULT);
  pm_target_free(t);
}
END_TEST

START_TEST(test_exe_option)
{
  static const struct shape plain;
  char other[PATH_MAX];
  struct buf img = elf_image(BUILD_ID, 10, 2 * PAGE);
  struct pm_target *t;
  unsigned char b;

  write_core(&plain, 0);
  snprintf(other, sizeof(other), "%s/moved-exe", dir);
  write_file(other, img.p, img.n);
  free(img.p);
  ck_assert_int_eq(open_core(&t, other, 0), 0);
  /* The recorded name stays; the bytes come from --exe. */
  ck_assert_str_eq(pm_target_exe(t), "/synthetic/exe");
  ck_assert_int_eq(pm_target_read(t, EXE_AT + PAGE, &b, 1), 0);
  ck_assert_int_eq(b, pat(EXE_AT + PAGE));
  pm_target_free(t);
  unlink(other);
  ck_assert_int_eq(open_core(&t, other, 0), PM_ENOFILE);
  ck_assert_ptr_nonnull(strstr(why, "moved-exe' not found"));
}
END_TEST

START_TEST(test_build_id_mismatch)
{
  static const struct shape plain;
  struct pm_target *t;
  char want[PATH_MAX + 64];

  write_core(&plain, 0);
  write_files("\xff\x23\x45\x67\x89\xab\xcd\xef\x10\x32");
  ck_assert_int_eq(open_core(&t, NULL, 0), PM_EBUILDID);
  snprintf(want, sizeof(want),
           "'%s/synthetic/exe' has build-id "
           "ff23456789abcdef1032, the core maps '/synthetic/exe' with "
           "build-id " BUILD_ID_HEX,
           dir);
  ck_assert_str_eq(why, want);
  ck_assert_int_eq(open_core(&t, NULL, 1), 0);
  ck_assert_ptr_nonnull(pm_target_core_info(t)->forced);
  ck_assert_ptr_nonnull(
      strstr(pm_target_core_info(t)->forced, "/synthetic/exe"));
  pm_target_free(t);
}
END_TEST

START_TEST(test_missing_files)
{
  static const struct shape plain;
  struct pm_target *t;
  char path[PATH_MAX];
  unsigned char b;

  write_core(&plain, 0);
  snprintf(path, sizeof(path), "%s/synthetic/lib.so", dir);
  unlink(path);
  ck_assert_int_eq(open_core(&t, NULL, 0), 0);
  ck_assert_uint_eq(pm_target_core_info(t)->nmissing, 1);
  ck_assert_str_eq(pm_target_core_info(t)->missing, path);
  ck_assert_int_eq(pm_target_read(t, LIB_AT, &b, 1), -EFAULT);
  pm_target_free(t);
  snprintf(path, sizeof(path), "%s/synthetic/exe", dir);
  unlink(path);
  ck_assert_int_eq(open_core(&t, NULL, 0), PM_ENOFILE);
  ck_assert_ptr_nonnull(strstr(why, "executable '"));
}
END_TEST

START_TEST(test_no_auxv)
{
  struct shape s = { 0 };
  struct pm_target *t;

  s.no_auxv = 1;
  write_core(&s, 0);
  ck_assert_int_eq(open_core(&t, NULL, 0), 0);
  ck_assert_str_eq(pm_target_exe(t), "/synthetic/exe");
  pm_target_free(t);
}
END_TEST

/* ---- refusals --------------------------------------------------------- */

static int
open_shape(const struct shape *s, size_t cut)
{
  struct pm_target *t = NULL;
  int err;

  write_core(s, cut);
  err = open_core(&t, NULL, 0);
  pm_target_free(t);
  return err;
}

START_TEST(test_refusals)
{
  struct shape s;

  memset(&s, 0, sizeof(s));
  s.exe_type = ET_EXEC;
  ck_assert_int_eq(open_shape(&s, 0), PM_ENOTCORE);
  ck_assert_str_eq(why, "an ELF executable, not a core");
  memset(&s, 0, sizeof(s));
  s.machine = EM_386;
  ck_assert_int_eq(open_shape(&s, 0), PM_ECORE);
  ck_assert_str_eq(why, "a core of another architecture");
  memset(&s, 0, sizeof(s));
  s.overlap = 1;
  ck_assert_int_eq(open_shape(&s, 0), PM_ECORE);
  ck_assert_ptr_nonnull(strstr(why, "overlap"));
  memset(&s, 0, sizeof(s));
  s.filesz_over = 1;
  ck_assert_int_eq(open_shape(&s, 0), PM_ECORE);
  memset(&s, 0, sizeof(s));
  s.nt_file_count = 1000;
  ck_assert_int_eq(open_shape(&s, 0), PM_ECORE);
  ck_assert_ptr_nonnull(strstr(why, "NT_FILE"));
  s.nt_file_count = UINT64_MAX;
  ck_assert_int_eq(open_shape(&s, 0), PM_ECORE);
  memset(&s, 0, sizeof(s));
  s.unterminated = 1;
  ck_assert_int_eq(open_shape(&s, 0), PM_ECORE);
  ck_assert_str_eq(why, "NT_FILE entry 1 is malformed");
}
END_TEST

START_TEST(test_not_cores)
{
  static const struct shape plain;
  static const char text[] = "#!/bin/sh\necho not a core\n";
  struct pm_target *t = NULL;
  struct pm_core_options o = { 0 };

  write_file(core_path, "", 0);
  ck_assert_int_eq(open_core(&t, NULL, 0), PM_ENOTCORE);
  ck_assert_str_eq(why, "the file is empty");
  write_file(core_path, text, sizeof(text));
  ck_assert_int_eq(open_core(&t, NULL, 0), PM_ENOTCORE);
  ck_assert_str_eq(why, "not an ELF file");
  write_file(core_path, ELFMAG, 3);
  ck_assert_int_eq(open_core(&t, NULL, 0), PM_ENOTCORE);
  write_file(core_path, ELFMAG "\2\1", 6);
  ck_assert_int_eq(open_core(&t, NULL, 0), PM_ECORE);
  ck_assert_str_eq(why, "the ELF header is cut short");
  ck_assert_int_eq(pm_target_open_core(&t, dir, &o), PM_ENOTCORE);
  ck_assert_int_eq(pm_target_open_core(&t, "/nonexistent/core", NULL), -ENOENT);
  /* Cut inside the program headers, the notes, the data. */
  write_core(&plain, 100);
  ck_assert_int_eq(open_core(&t, NULL, 0), PM_ECORE);
  write_core(&plain, 64 + 5 * 56 + 40);
  ck_assert_int_eq(open_core(&t, NULL, 0), PM_ECORE);
  ck_assert_ptr_nonnull(strstr(why, "truncated: "));
  ck_assert_ptr_null(t);
}
END_TEST

START_TEST(test_truncated_data)
{
  static const struct shape plain;
  struct buf b = build_core(&plain);
  size_t full = b.n;
  struct pm_target *t = NULL;
  unsigned char got[16];
  char want[128];

  free(b.p);
  /* The anonymous segment loses its second page. */
  write_core(&plain, full - PAGE);
  ck_assert_int_eq(open_core(&t, NULL, 0), PM_ECORE);
  snprintf(want, sizeof(want), "truncated: %zu bytes of %zu", full - PAGE,
           full);
  ck_assert_str_eq(why, want);
  ck_assert_int_eq(open_core(&t, NULL, 1), 0);
  ck_assert_int_eq(pm_target_core_info(t)->truncated, 1);
  ck_assert_int_eq(pm_target_read(t, ANON_AT, got, sizeof(got)), 0);
  ck_assert_int_eq(got[3], pat(ANON_AT + 3));
  ck_assert_int_eq(pm_target_read(t, ANON_AT + PAGE, got, sizeof(got)),
                   -EFAULT);
  pm_target_free(t);
}
END_TEST

/*
 * Every single-byte change to the headers and notes, and every cut, must
 * give an error code or a target whose reads stay in bounds: never a
 * crash (valgrind's test setup checks the bounds too).
 */
START_TEST(test_mutations)
{
  static const struct shape plain;
  struct buf b = build_core(&plain);
  size_t headers = 0x400; /* ELF and program headers and the notes */
  uint32_t lcg = 12345;
  unsigned char got[64];

  for (size_t cut = 0; cut < b.n; cut += cut < headers ? 1 : 97) {
    struct pm_target *t = NULL;
    write_file(core_path, b.p, cut);
    if (open_core(&t, NULL, 1) == 0) {
      const struct pm_maps *m = pm_target_maps(t);
      for (size_t i = 0; i < m->n; i++)
        pm_target_read(t, m->v[i].start, got, sizeof(got));
      pm_target_free(t);
    }
  }
  for (int round = 0; round < 3000; round++) {
    struct buf c = { 0 };
    struct pm_target *t = NULL;
    put(&c, b.p, b.n);
    for (int k = 0; k < 1 + round % 4; k++) {
      lcg = lcg * 1103515245 + 12345;
      c.p[(lcg >> 8) % headers] = (unsigned char)(lcg >> 20);
    }
    write_file(core_path, c.p, c.n);
    free(c.p);
    if (open_core(&t, NULL, 1) == 0) {
      const struct pm_maps *m = pm_target_maps(t);
      for (size_t i = 0; i < m->n && i < 64; i++)
        pm_target_read(t, m->v[i].end - 8, got, 8);
      pm_target_free(t);
    }
  }
  free(b.p);
}
END_TEST

/* ---- build-ids from an image ----------------------------------------- */

START_TEST(test_image_build_id)
{
  struct buf img = elf_image(BUILD_ID, 10, PAGE);
  char id[64];

  ck_assert_int_eq(pm__elf_image_build_id(img.p, img.n, id, sizeof(id)), 0);
  ck_assert_str_eq(id, BUILD_ID_HEX);
  ck_assert_int_eq(pm__elf_image_build_id(img.p, img.n, id, 10), -ENAMETOOLONG);
  /* The note cut off: none found, and no read past len. */
  ck_assert_int_eq(
      pm__elf_image_build_id(img.p, 64 + 2 * 56 + 20, id, sizeof(id)),
      PM_ENOSYM);
  ck_assert_int_eq(pm__elf_image_build_id(img.p, 63, id, sizeof(id)), PM_EELF);
  img.p[0] = 0;
  ck_assert_int_eq(pm__elf_image_build_id(img.p, img.n, id, sizeof(id)),
                   PM_EELF);
  free(img.p);
}
END_TEST

static Suite *
core_suite(void)
{
  Suite *s = suite_create("core");
  TCase *tc = tcase_create("core");

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_parse);
  tcase_add_test(tc, test_pid_from_prstatus);
  tcase_add_test(tc, test_regions);
  tcase_add_test(tc, test_reads);
  tcase_add_test(tc, test_exe_option);
  tcase_add_test(tc, test_build_id_mismatch);
  tcase_add_test(tc, test_missing_files);
  tcase_add_test(tc, test_no_auxv);
  tcase_add_test(tc, test_refusals);
  tcase_add_test(tc, test_not_cores);
  tcase_add_test(tc, test_truncated_data);
  tcase_add_test(tc, test_mutations);
  tcase_add_test(tc, test_image_build_id);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  SRunner *sr = srunner_create(core_suite());
  int failed;

  srunner_set_tap(sr, "-");
  srunner_run_all(sr, CK_SILENT);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
