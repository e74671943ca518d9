/* SPDX-License-Identifier: MIT */
/* test-elf.c -- pm__elf_* against real files, checked with binutils */
#include <config.h>

#include <check.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elf/elf-file.h"
#include "open-fds.h"
#include "pmpeek/error.h"

/*
 * Debian's python3.11: stripped, not PIE, _PyRuntime in .dynsym.
 * pyenv's libpython: PIC, not stripped, with LOCAL symbols in .symtab only.
 * Expected values come from nm, readelf and the interpreter itself, run
 * while the test runs; a file that is absent skips its test case.
 */
#define PY_EXE "/usr/bin/python3.11"
#define LIBPY "/root/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0"

#define PAGE 0x1000ull

/* ---- what binutils say ------------------------------------------------ */

/* Runs cmd and returns its whole standard output (malloc'd). */
static char *
run(const char *cmd)
{
  FILE *p = popen(cmd, "r");
  char *out = NULL;
  size_t len = 0, cap = 0, n;

  ck_assert_msg(p != NULL, "cannot run '%s'", cmd);
  do {
    if (cap - len < 4096) {
      cap = cap ? cap * 2 : 65536;
      out = realloc(out, cap + 1);
      ck_assert_ptr_nonnull(out);
    }
    n = fread(out + len, 1, cap - len, p);
    len += n;
  } while (n > 0);
  out[len] = '\0';
  ck_assert_msg(pclose(p) == 0, "'%s' failed", cmd);
  return out;
}

/*
 * Value and size of name per `nm -S --defined-only [-D]`; 0 when nm does
 * not list it.
 */
static int
nm_symbol(const char *path, int dynamic, const char *name, uint64_t *value,
          uint64_t *size)
{
  char cmd[512], *out, *line;
  int found = 0;

  snprintf(cmd, sizeof(cmd), "nm -S --defined-only %s '%s'",
           dynamic ? "-D" : "", path);
  out = run(cmd);
  for (line = strtok(out, "\n"); line && !found; line = strtok(NULL, "\n")) {
    unsigned long long v, s;
    char type, sym[256];
    if (sscanf(line, "%llx %llx %c %255s", &v, &s, &type, sym) == 4
        && strcmp(sym, name) == 0) {
      *value = v, *size = s;
      found = 1;
    }
  }
  free(out);
  return found;
}

/* Address and size of a section per `readelf -SW`. */
static void
readelf_section(const char *path, const char *name, uint64_t *addr,
                uint64_t *size)
{
  char cmd[512], *out, *line;
  int found = 0;

  snprintf(cmd, sizeof(cmd), "readelf -SW '%s'", path);
  out = run(cmd);
  for (line = strtok(out, "\n"); line && !found; line = strtok(NULL, "\n")) {
    char *rb = strchr(line, ']');
    char sname[256], type[64];
    unsigned long long a, off, s;
    if (rb
        && sscanf(rb + 1, "%255s %63s %llx %llx %llx", sname, type, &a, &off,
                  &s)
               == 5
        && strcmp(sname, name) == 0) {
      *addr = a, *size = s;
      found = 1;
    }
  }
  free(out);
  ck_assert_msg(found, "readelf shows no %s in %s", name, path);
}

/* The GNU build-id per `readelf -n`. */
static void
readelf_build_id(const char *path, char *buf, size_t len)
{
  char cmd[512], *out, *at;

  snprintf(cmd, sizeof(cmd), "readelf -n '%s'", path);
  out = run(cmd);
  at = strstr(out, "Build ID: ");
  ck_assert_msg(at != NULL, "readelf shows no build-id for %s", path);
  ck_assert_int_eq(sscanf(at + 10, "%127s", buf), 1);
  ck_assert_uint_lt(strlen(buf), len);
  free(out);
}

/* e_type per `readelf -h`. */
static int
readelf_type(const char *path)
{
  char cmd[512], *out;
  int type = -1;

  snprintf(cmd, sizeof(cmd), "readelf -hW '%s'", path);
  out = run(cmd);
  if (strstr(out, "Type:                              EXEC"))
    type = ET_EXEC;
  else if (strstr(out, "Type:                              DYN"))
    type = ET_DYN;
  free(out);
  return type;
}

struct load {
  uint64_t offset, vaddr, filesz, memsz;
};

/* The PT_LOAD program headers per `readelf -lW`. */
static size_t
readelf_loads(const char *path, struct load *v, size_t max)
{
  char cmd[512], *out, *line;
  size_t n = 0;

  snprintf(cmd, sizeof(cmd), "readelf -lW '%s'", path);
  out = run(cmd);
  for (line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
    unsigned long long off, va, pa, fs, ms;
    if (sscanf(line, " LOAD 0x%llx 0x%llx 0x%llx 0x%llx 0x%llx", &off, &va, &pa,
               &fs, &ms)
        == 5) {
      ck_assert_uint_lt(n, max);
      v[n++] = (struct load){ off, va, fs, ms };
    }
  }
  free(out);
  ck_assert_uint_gt(n, 0);
  return n;
}

/* ---- fixtures ---------------------------------------------------------- */

static struct pm_elf *e;

static void
open_exe(void)
{
  ck_assert_int_eq(pm__elf_open(&e, PY_EXE), 0);
}

static void
open_lib(void)
{
  ck_assert_int_eq(pm__elf_open(&e, LIBPY), 0);
}

static void
close_elf(void)
{
  pm__elf_free(e);
  e = NULL;
}

/* Checks pm__elf_symbol(name) against nm; dynamic: must be in .dynsym. */
static void
check_symbol(const char *path, const char *name, int dynamic)
{
  uint64_t want_value, want_size, value = 0, size = 0;

  ck_assert_msg(nm_symbol(path, dynamic, name, &want_value, &want_size),
                "nm does not list %s in %s", name, path);
  ck_assert_int_eq(pm__elf_symbol(e, name, &value, &size), 0);
  ck_assert_uint_eq(value, want_value);
  ck_assert_uint_eq(size, want_size);
  /* The size is optional. */
  value = 0;
  ck_assert_int_eq(pm__elf_symbol(e, name, &value, NULL), 0);
  ck_assert_uint_eq(value, want_value);
}

/* Every PT_LOAD mapped at bias, as the kernel does: the bias comes back. */
static void
check_bias_for_loads(const char *path, uint64_t bias)
{
  struct load l[16];
  size_t n = readelf_loads(path, l, 16);

  for (size_t i = 0; i < n; i++) {
    uint64_t vpage = l[i].vaddr & ~(PAGE - 1),
             opage = l[i].offset & ~(PAGE - 1);
    uint64_t last = (l[i].offset + l[i].filesz - 1) & ~(PAGE - 1), got = 1;

    /*
     * The segment's first page, and one in the middle (as after an
     * mprotect() split).  Its last page may be the next one's first, and
     * the kernel maps that page twice, each segment from its own start.
     */
    ck_assert_int_eq(pm__elf_load_bias(e, bias + vpage, opage, &got), 0);
    ck_assert_msg(got == bias, "PT_LOAD %zu first page: 0x%" PRIx64, i, got);
    if (last - opage >= 2 * PAGE) {
      uint64_t mid = opage + ((last - opage) / 2 & ~(PAGE - 1));
      got = 1;
      ck_assert_int_eq(
          pm__elf_load_bias(e, bias + vpage + (mid - opage), mid, &got), 0);
      ck_assert_msg(got == bias, "PT_LOAD %zu middle: 0x%" PRIx64, i, got);
    }
  }
}

/* ---- /usr/bin/python3.11 ---------------------------------------------- */

START_TEST(test_exe_type)
{
  ck_assert_int_eq(pm__elf_type(e), readelf_type(PY_EXE));
  ck_assert_int_eq(pm__elf_type(e), ET_EXEC);
}
END_TEST

START_TEST(test_exe_dynsym)
{
  check_symbol(PY_EXE, "_PyRuntime", 1);
  check_symbol(PY_EXE, "Py_Version", 1);
  check_symbol(PY_EXE, "PyType_Type", 1);
}
END_TEST

START_TEST(test_exe_no_symbol)
{
  uint64_t v = 7, s = 7;

  ck_assert_int_eq(pm__elf_symbol(e, "pmpeek_no_such_symbol", &v, &s),
                   PM_ENOSYM);
  ck_assert_int_eq(pm__elf_symbol(e, "", &v, &s), PM_ENOSYM);
  /* Undefined in the executable (it comes from libc). */
  ck_assert_int_eq(pm__elf_symbol(e, "malloc", &v, &s), PM_ENOSYM);
}
END_TEST

START_TEST(test_exe_section)
{
  uint64_t want_addr, want_size, addr, size, sym, symsize;

  readelf_section(PY_EXE, ".PyRuntime", &want_addr, &want_size);
  ck_assert_int_eq(pm__elf_section(e, ".PyRuntime", &addr, &size), 0);
  ck_assert_uint_eq(addr, want_addr);
  ck_assert_uint_eq(size, want_size);
  /* _PyRuntime is the section's only content. */
  ck_assert_int_eq(pm__elf_symbol(e, "_PyRuntime", &sym, &symsize), 0);
  ck_assert_uint_eq(sym, addr);
  ck_assert_int_eq(pm__elf_section(e, ".pmpeek-none", &addr, &size), PM_ENOSYM);
}
END_TEST

START_TEST(test_exe_build_id)
{
  char want[128], got[128];

  readelf_build_id(PY_EXE, want, sizeof(want));
  ck_assert_int_eq(pm__elf_build_id(e, got, sizeof(got)), 0);
  ck_assert_str_eq(got, want);
}
END_TEST

START_TEST(test_exe_py_version)
{
  char *out = run(PY_EXE " -S -c 'import sys; print(sys.hexversion)'");
  uint64_t addr, size;
  uint64_t v = 0;

  /* const unsigned long Py_Version = PY_VERSION_HEX; */
  ck_assert_int_eq(pm__elf_symbol(e, "Py_Version", &addr, &size), 0);
  ck_assert_uint_eq(size, 8);
  ck_assert_int_eq(pm__elf_read_vaddr(e, addr, &v, sizeof(v)), 0);
  /* Debian bookworm's python3.11 says 0x030b02f0 (3.11.2 final). */
  ck_assert_uint_eq(v, strtoul(out, NULL, 10));
  free(out);
}
END_TEST

START_TEST(test_exe_read_vaddr_bounds)
{
  struct load l[16];
  size_t n = readelf_loads(PY_EXE, l, 16);
  const struct load *last = &l[n - 1];
  unsigned char buf[16];

  ck_assert_int_eq(pm__elf_read_vaddr(e, 0, buf, 8), -EFAULT);
  /* The file's last initialised bytes, and one byte beyond. */
  ck_assert_int_eq(
      pm__elf_read_vaddr(e, last->vaddr + last->filesz - 8, buf, 8), 0);
  ck_assert_int_eq(
      pm__elf_read_vaddr(e, last->vaddr + last->filesz - 8, buf, 9), -EFAULT);
  /* .bss: in memory, not in the file. */
  ck_assert_uint_gt(last->memsz, last->filesz + 16);
  ck_assert_int_eq(
      pm__elf_read_vaddr(e, last->vaddr + last->filesz + 8, buf, 8), -EFAULT);
  ck_assert_int_eq(pm__elf_read_vaddr(e, UINT64_MAX - 3, buf, 8), -EFAULT);
}
END_TEST

START_TEST(test_exe_read_vaddr_matches_file)
{
  struct load l[16];
  size_t n = readelf_loads(PY_EXE, l, 16);
  int fd = open(PY_EXE, O_RDONLY);

  ck_assert_int_ge(fd, 0);
  for (size_t i = 0; i < n; i++) {
    unsigned char want[64], got[64];
    uint64_t off = l[i].filesz / 2;
    ck_assert_int_eq(pread(fd, want, sizeof(want), (off_t)(l[i].offset + off)),
                     (ssize_t)sizeof(want));
    ck_assert_int_eq(pm__elf_read_vaddr(e, l[i].vaddr + off, got, sizeof(got)),
                     0);
    ck_assert_mem_eq(got, want, sizeof(want));
  }
  close(fd);
}
END_TEST

START_TEST(test_exe_find_bytes)
{
  static const char needle[] = "Py_Version";
  struct load l[16];
  size_t n = readelf_loads(PY_EXE, l, 16);
  uint64_t vaddr = 0, off = UINT64_MAX;
  int fd = open(PY_EXE, O_RDONLY);
  struct stat st;
  char *file;

  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(fstat(fd, &st), 0);
  file = malloc((size_t)st.st_size);
  ck_assert_ptr_nonnull(file);
  ck_assert_int_eq(pread(fd, file, (size_t)st.st_size, 0), st.st_size);
  close(fd);

  ck_assert_int_eq(pm__elf_find_bytes(e, needle, strlen(needle), &vaddr), 0);
  /* Back to a file offset through readelf's program headers. */
  for (size_t i = 0; i < n; i++)
    if (vaddr >= l[i].vaddr && vaddr < l[i].vaddr + l[i].filesz)
      off = l[i].offset + (vaddr - l[i].vaddr);
  ck_assert_uint_ne(off, UINT64_MAX);
  ck_assert_mem_eq(file + off, needle, strlen(needle));
  /* The first occurrence (the first PT_LOAD starts at offset 0). */
  ck_assert_uint_eq(l[0].offset, 0);
  ck_assert_ptr_eq(memmem(file, off + strlen(needle), needle, strlen(needle)),
                   file + off);
  free(file);

  ck_assert_int_eq(
      pm__elf_find_bytes(e, "pmpeek\001needle\002absent", 20, &vaddr),
      PM_ENOSYM);
}
END_TEST

START_TEST(test_exe_load_bias)
{
  /* Not PIE: mapped where linked, whichever line of the maps is used. */
  check_bias_for_loads(PY_EXE, 0);
}
END_TEST

START_TEST(test_exe_load_bias_real_maps)
{
  /*
   * Lines of /proc/PID/maps of a live /usr/bin/python3.11: the RELRO page
   * and the rw data share a file page with the end of the r-- segment.
   */
  static const struct {
    uint64_t start, offset;
  } lines[] = {
    { 0x400000, 0 },        { 0x41f000, 0x1f000 },  { 0x6cf000, 0x2cf000 },
    { 0x940000, 0x53f000 }, { 0x941000, 0x540000 },
  };
  struct load l[16];
  size_t n = readelf_loads(PY_EXE, l, 16);

  /* Only meaningful for the build these lines came from. */
  if (n != 4 || l[3].offset != 0x53fdc8 || l[3].vaddr != 0x940dc8)
    return;
  for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
    uint64_t bias = 1;
    ck_assert_int_eq(
        pm__elf_load_bias(e, lines[i].start, lines[i].offset, &bias), 0);
    ck_assert_msg(bias == 0, "line %zu: bias 0x%" PRIx64, i, bias);
  }
}
END_TEST

START_TEST(test_exe_load_bias_outside)
{
  struct stat st;
  uint64_t bias;

  ck_assert_int_eq(stat(PY_EXE, &st), 0);
  ck_assert_int_eq(
      pm__elf_load_bias(e, 0x7f0000000000ull,
                        ((uint64_t)st.st_size + 0x10000) & ~(PAGE - 1), &bias),
      PM_EELF);
}
END_TEST

/* ---- pyenv's libpython3.11.so.1.0 ------------------------------------- */

START_TEST(test_lib_type)
{
  ck_assert_int_eq(pm__elf_type(e), readelf_type(LIBPY));
  ck_assert_int_eq(pm__elf_type(e), ET_DYN);
}
END_TEST

START_TEST(test_lib_dynsym)
{
  check_symbol(LIBPY, "_PyRuntime", 1);
}
END_TEST

START_TEST(test_lib_symtab_fallback)
{
  uint64_t v, s;

  /* LOCAL symbols: in .symtab, not in .dynsym. */
  ck_assert(!nm_symbol(LIBPY, 1, "usedpools", &v, &s));
  check_symbol(LIBPY, "usedpools", 0);
  ck_assert(!nm_symbol(LIBPY, 1, "arenas", &v, &s));
  check_symbol(LIBPY, "arenas", 0); /* in .bss */
}
END_TEST

START_TEST(test_lib_section)
{
  uint64_t want_addr, want_size, addr, size;

  readelf_section(LIBPY, ".PyRuntime", &want_addr, &want_size);
  ck_assert_int_eq(pm__elf_section(e, ".PyRuntime", &addr, &size), 0);
  ck_assert_uint_eq(addr, want_addr);
  ck_assert_uint_eq(size, want_size);
  readelf_section(LIBPY, ".data", &want_addr, &want_size);
  ck_assert_int_eq(pm__elf_section(e, ".data", &addr, &size), 0);
  ck_assert_uint_eq(addr, want_addr);
  ck_assert_uint_eq(size, want_size);
}
END_TEST

START_TEST(test_lib_build_id)
{
  char want[128], got[128];

  readelf_build_id(LIBPY, want, sizeof(want));
  ck_assert_int_eq(pm__elf_build_id(e, got, sizeof(got)), 0);
  ck_assert_str_eq(got, want);
}
END_TEST

START_TEST(test_lib_load_bias)
{
  uint64_t bias = 0;

  /* A PIE or library mapped at start from offset 0: the bias is start. */
  ck_assert_int_eq(pm__elf_load_bias(e, 0x555555554000ull, 0, &bias), 0);
  ck_assert_uint_eq(bias, 0x555555554000ull);
  check_bias_for_loads(LIBPY, 0x7f76f4800000ull);
}
END_TEST

/* ---- files that are not ELF ------------------------------------------- */

static char tmp_path[64];

/* A temporary file holding len bytes of data. */
static const char *
tmp_file(const void *data, size_t len)
{
  int fd;

  strcpy(tmp_path, "/tmp/pmpeek-test-elf-XXXXXX");
  fd = mkstemp(tmp_path);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
  close(fd);
  return tmp_path;
}

static void
rm_tmp(void)
{
  if (tmp_path[0])
    unlink(tmp_path);
  tmp_path[0] = '\0';
}

START_TEST(test_empty_file)
{
  struct pm_elf *x = NULL;

  ck_assert_int_eq(pm__elf_open(&x, tmp_file("", 0)), PM_EELF);
  ck_assert_ptr_null(x);
}
END_TEST

START_TEST(test_text_file)
{
  static const char text[] = "#!/bin/sh\necho 'not an ELF file'\n";
  struct pm_elf *x = NULL;

  ck_assert_int_eq(pm__elf_open(&x, tmp_file(text, sizeof(text) - 1)), PM_EELF);
  ck_assert_ptr_null(x);
}
END_TEST

START_TEST(test_garbage_file)
{
  unsigned char junk[8192];
  struct pm_elf *x = NULL;
  uint32_t s = 12345;

  for (size_t i = 0; i < sizeof(junk); i++)
    junk[i] = (unsigned char)((s = s * 1103515245 + 12345) >> 16);
  junk[0] = 0; /* surely not "\177ELF" */
  ck_assert_int_eq(pm__elf_open(&x, tmp_file(junk, sizeof(junk))), PM_EELF);
  ck_assert_ptr_null(x);
}
END_TEST

START_TEST(test_elf32)
{
  /* A 32-bit ELF header: pmpeek reads 64-bit files only. */
  Elf32_Ehdr h;
  struct pm_elf *x = NULL;

  memset(&h, 0, sizeof(h));
  memcpy(h.e_ident, ELFMAG, SELFMAG);
  h.e_ident[EI_CLASS] = ELFCLASS32;
  h.e_ident[EI_DATA] = ELFDATA2LSB;
  h.e_ident[EI_VERSION] = EV_CURRENT;
  h.e_type = ET_EXEC;
  h.e_machine = EM_386;
  h.e_version = EV_CURRENT;
  h.e_ehsize = sizeof(h);
  ck_assert_int_eq(pm__elf_open(&x, tmp_file(&h, sizeof(h))), PM_EELF);
}
END_TEST

START_TEST(test_truncated_elf)
{
  /* The ELF magic and little more. */
  static const char head[] = "\177ELF\002\001\001\000\000\000\000\000";
  struct pm_elf *x = NULL;

  ck_assert_int_eq(pm__elf_open(&x, tmp_file(head, sizeof(head) - 1)), PM_EELF);
}
END_TEST

START_TEST(test_missing_file)
{
  struct pm_elf *x = NULL;

  ck_assert_int_eq(pm__elf_open(&x, "/nonexistent/pmpeek/python"), -ENOENT);
  ck_assert_ptr_null(x);
  pm__elf_free(NULL);
}
END_TEST

START_TEST(test_self)
{
  /* This test program is always there, and not stripped. */
  char path[4096];
  ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);

  ck_assert_int_gt(n, 0);
  path[n] = '\0';
  ck_assert_int_eq(pm__elf_open(&e, path), 0);
  ck_assert_int_eq(pm__elf_type(e), readelf_type(path));
  check_symbol(path, "pm__elf_open", 0);
  check_symbol(path, "main", 0);
  close_elf();
}
END_TEST

/* A held file stays open, its symbols answered, until its last holder. */
START_TEST(test_self_held)
{
  char path[4096];
  ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
  int before = open_fds();
  uint64_t value = 0;

  ck_assert_int_gt(n, 0);
  path[n] = '\0';
  ck_assert_int_eq(pm__elf_open(&e, path), 0);
  ck_assert_int_eq(open_fds(), before + 1);
  ck_assert_ptr_eq(pm__elf_hold(e), e);
  ck_assert_ptr_eq(pm__elf_hold(e), e);
  pm__elf_free(e);
  pm__elf_free(e);
  ck_assert_int_eq(open_fds(), before + 1);
  check_symbol(path, "pm__elf_open", 0);
  ck_assert_int_eq(pm__elf_symbol(e, "main", &value, NULL), 0);
  close_elf();
  ck_assert_int_eq(open_fds(), before);
}
END_TEST

static int derived_freed;

static void
count_free(void *p)
{
  derived_freed += *(int *)p;
}

/* What an upper layer keeps with a file lives as long as the file. */
START_TEST(test_derived)
{
  char path[4096];
  ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
  int one = 1, ten = 10;

  ck_assert_int_gt(n, 0);
  path[n] = '\0';
  derived_freed = 0;
  ck_assert_int_eq(pm__elf_open(&e, path), 0);
  ck_assert_ptr_null(pm__elf_derived(e));
  pm__elf_set_derived(e, &one, count_free);
  ck_assert_ptr_eq(pm__elf_derived(e), &one);
  pm__elf_set_derived(e, &ten, count_free); /* the one it replaces goes */
  ck_assert_int_eq(derived_freed, 1);
  ck_assert_ptr_eq(pm__elf_hold(e), e);
  pm__elf_free(e); /* another holder remains */
  ck_assert_int_eq(derived_freed, 1);
  ck_assert_ptr_eq(pm__elf_derived(e), &ten);
  close_elf();
  ck_assert_int_eq(derived_freed, 11);
}
END_TEST

static Suite *
elf_suite(void)
{
  Suite *s = suite_create("elf");
  TCase *tc;

  if (access(PY_EXE, R_OK) == 0) {
    tc = tcase_create("python3.11");
    tcase_add_checked_fixture(tc, open_exe, close_elf);
    tcase_add_test(tc, test_exe_type);
    tcase_add_test(tc, test_exe_dynsym);
    tcase_add_test(tc, test_exe_no_symbol);
    tcase_add_test(tc, test_exe_section);
    tcase_add_test(tc, test_exe_build_id);
    tcase_add_test(tc, test_exe_py_version);
    tcase_add_test(tc, test_exe_read_vaddr_bounds);
    tcase_add_test(tc, test_exe_read_vaddr_matches_file);
    tcase_add_test(tc, test_exe_find_bytes);
    tcase_add_test(tc, test_exe_load_bias);
    tcase_add_test(tc, test_exe_load_bias_real_maps);
    tcase_add_test(tc, test_exe_load_bias_outside);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
  } else {
    printf("# skipping test case python3.11: no %s\n", PY_EXE);
  }

  if (access(LIBPY, R_OK) == 0) {
    tc = tcase_create("libpython");
    tcase_add_checked_fixture(tc, open_lib, close_elf);
    tcase_add_test(tc, test_lib_type);
    tcase_add_test(tc, test_lib_dynsym);
    tcase_add_test(tc, test_lib_symtab_fallback);
    tcase_add_test(tc, test_lib_section);
    tcase_add_test(tc, test_lib_build_id);
    tcase_add_test(tc, test_lib_load_bias);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
  } else {
    printf("# skipping test case libpython: no %s\n", LIBPY);
  }

  tc = tcase_create("not-elf");
  tcase_add_checked_fixture(tc, NULL, rm_tmp);
  tcase_add_test(tc, test_empty_file);
  tcase_add_test(tc, test_text_file);
  tcase_add_test(tc, test_garbage_file);
  tcase_add_test(tc, test_elf32);
  tcase_add_test(tc, test_truncated_elf);
  tcase_add_test(tc, test_missing_file);
  tcase_add_test(tc, test_self);
  tcase_add_test(tc, test_self_held);
  tcase_add_test(tc, test_derived);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  SRunner *sr = srunner_create(elf_suite());
  int failed;

  fflush(stdout);
  srunner_set_tap(sr, "-");
  srunner_run_all(sr, CK_SILENT);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
