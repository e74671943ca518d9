/* SPDX-License-Identifier: MIT */
/* fuzz-elf.c -- libFuzzer harness: ELF files and cores as pmpeek reads them */
#include <config.h>

#include <errno.h>
#include <string.h>

#include "elf/elf-core.h"
#include "elf/elf-file.h"
#include "fuzz-common.h"
#include "pmpeek/error.h"
#include "pmpeek/python.h"
#include "pmpeek/target.h"

/* What python.c and obmalloc-find.c ask of a file that may hold Python. */
static void
query_file(const char *path)
{
  static const char *const names[]
      = { "_PyRuntime", "Py_Version", "PyType_Type", "version.0", "" };
  struct pm_elf *e;
  uint64_t a, b;
  char id[129], buf[64];

  if (pm__elf_open(&e, path) != 0)
    return;
  (void)pm__elf_type(e);
  for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
    if (pm__elf_symbol(e, names[i], &a, &b) == 0)
      (void)pm__elf_read_vaddr(e, a, buf, sizeof(buf));
  if (pm__elf_section(e, ".text", &a, &b) == 0)
    (void)pm__elf_read_vaddr(e, a, buf, b < sizeof(buf) ? b : sizeof(buf));
  (void)pm__elf_section(e, ".PyRuntime", &a, &b);
  (void)pm__elf_load_bias(e, 0x400000, 0, &a);
  (void)pm__elf_load_bias(e, 0x7f0000001000, 0x1000, &a);
  (void)pm__elf_writable_range(e, &a, &b);
  (void)pm__elf_find_bytes(e, "# arenas allocated total", 25, &a);
  (void)pm__elf_build_id(e, id, sizeof(id));
  (void)pm__elf_build_id(e, id, 8);
  pm__elf_free(e);
}

/* The parsed core: every segment and mapping looked up and read. */
static void
query_core(const char *path)
{
  struct pm_elf_core *c;
  unsigned char buf[256];
  char why[256];

  if (pm__core_open(&c, path, why, sizeof(why)) != 0)
    return;
  for (size_t i = 0; i < c->nsegs; i++) {
    const struct pm_core_segment *s = &c->segs[i];
    uint64_t last = s->vaddr + s->memsz - 1;
    size_t n = s->memsz < sizeof(buf) ? (size_t)s->memsz : sizeof(buf);
    (void)pm__core_segment(c, s->vaddr);
    (void)pm__core_segment(c, last);
    (void)pm__core_segment_after(c, s->vaddr);
    (void)pm__core_read(c, s->vaddr, buf, n);
    (void)pm__core_read(c, last, buf, 1);
    if (pm__core_read(c, s->vaddr, buf, n) == 0)
      (void)pm__elf_image_build_id(buf, n, why, sizeof(why));
  }
  for (size_t i = 0; i < c->nmaps; i++)
    (void)pm__core_mapping(c, c->maps[i].start);
  pm__core_free(c);
}

/*
 * The core as a target.  Its files are looked for under a directory that
 * does not exist, so that the harness never reads the host's files, and
 * the executable is the input itself.
 */
static void
open_core_target(const char *path)
{
  struct pm_core_options o = { 0 };
  struct pm_target *t;
  struct pm_python *py;
  char why[256];

  o.exe = path;
  o.lib_root = "/nonexistent/pmpeek-fuzz";
  o.force = 1;
  o.why = why;
  o.why_len = sizeof(why);
  if (pm_target_open_core(&t, path, &o) != 0)
    return;
  {
    const struct pm_maps *m = pm_target_maps(t);
    unsigned char buf[512];
    for (size_t i = 0; i < m->n && i < 64; i++) {
      const struct pm_region *r = &m->v[i];
      size_t n
          = r->end - r->start < sizeof(buf) ? r->end - r->start : sizeof(buf);
      (void)pm_target_read(t, r->start, buf, n);
      (void)pm_target_read(t, r->end - 8, buf, 8);
    }
  }
  if (pm_python_open(&py, t, NULL) == 0)
    pm_python_free(py);
  pm_target_free(t);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *path = fuzz_file(data, size);
  char id[129];

  query_file(path);
  query_core(path);
  open_core_target(path);
  (void)pm__elf_image_build_id(data, size, id, sizeof(id));
  return 0;
}
