/* SPDX-License-Identifier: MIT */
/* python.c -- find _PyRuntime, the exact version and the layout */
#include <config.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpython/python-private.h"
#include "elf/elf-file.h"
#include "pmpeek/error.h"

static const char *const builtin_symbols[PM_T__COUNT] = {
#define PM__BT_SYM(name, sym) sym,
  PM_BUILTIN_TYPES(PM__BT_SYM)
#undef PM__BT_SYM
};

static const char *
basename_of(const char *path)
{
  const char *s = strrchr(path, '/');
  return s ? s + 1 : path;
}

/*
 * Order in which files are tried: the executable first (static builds),
 * then anything named like libpython, then other files with "python" in
 * their name.  Other libraries cannot hold the interpreter's runtime.
 */
static int
candidate_rank(const struct pm_target *t, const char *path)
{
  const char *exe = pm_target_exe(t);
  const char *base = basename_of(path);

  if (exe && strcmp(exe, path) == 0)
    return 0;
  if (strncmp(base, "libpython", 9) == 0)
    return 1;
  if (strstr(base, "python"))
    return 2;
  return -1;
}

/* The first region (lowest file offset) of the file that r belongs to. */
static const struct pm_region *
first_region_of(const struct pm_maps *m, const char *path)
{
  const struct pm_region *best = NULL;

  for (size_t i = 0; i < m->n; i++)
    if (m->v[i].path && strcmp(m->v[i].path, path) == 0 &&
        (!best || m->v[i].offset < best->offset))
      best = &m->v[i];
  return best;
}

struct found {
  struct pm_elf *elf;
  uint64_t bias;
  const struct pm_region *region;
};

static int
find_runtime(struct pm_python *py, struct found *f, pm_addr_t *runtime)
{
  const struct pm_maps *m = pm_target_maps(py->t);

  for (int rank = 0; rank <= 2; rank++) {
    for (size_t i = 0; i < m->n; i++) {
      const struct pm_region *r = &m->v[i];
      const struct pm_region *first;
      char path[PATH_MAX];
      struct pm_elf *e;
      uint64_t value, size, bias;

      if (!r->path || r->path[0] != '/' ||
          candidate_rank(py->t, r->path) != rank)
        continue;
      first = first_region_of(m, r->path);
      if (first != r)
        continue; /* each file once */
      if (pm_target_region_file(py->t, r, path, sizeof(path)) != 0 ||
          pm__elf_open(&e, path) != 0)
        continue;
      if (pm__elf_symbol(e, "_PyRuntime", &value, &size) != 0 &&
          pm__elf_section(e, ".PyRuntime", &value, &size) != 0) {
        pm__elf_free(e);
        continue;
      }
      if (pm__elf_load_bias(e, r->start, r->offset, &bias) != 0) {
        pm__elf_free(e);
        continue;
      }
      f->elf = e;
      f->bias = bias;
      f->region = r;
      *runtime = value + bias;
      return 0;
    }
  }
  return PM_ENOPYTHON;
}

static void
format_version(char *buf, size_t len, uint32_t hex)
{
  unsigned major = hex >> 24, minor = (hex >> 16) & 0xff;
  unsigned micro = (hex >> 8) & 0xff, level = (hex >> 4) & 0xf;
  unsigned serial = hex & 0xf;
  const char *tag = level == 0xa ? "a" : level == 0xb ? "b" : "rc";

  if (level == 0xf)
    snprintf(buf, len, "%u.%u.%u", major, minor, micro);
  else
    snprintf(buf, len, "%u.%u.%u%s%u", major, minor, micro, tag, serial);
}

static int
detect_version(struct pm_python *py, struct found *f)
{
  uint64_t value, word;
  uint32_t hex;
  int err;

  if (pm__elf_symbol(f->elf, "Py_Version", &value, NULL) != 0)
    return PM_ENOVERSION; /* 3.8-3.10 evidence comes with the version issue */
  err = pm_target_read_u64(py->t, value + f->bias, &word);
  if (err)
    return err;
  hex = (uint32_t)word;
  if ((hex >> 24) != 3 || ((hex >> 4) & 0xf) < 0xa)
    return PM_ENOVERSION;
  py->info.hexversion = hex;
  py->version = ((hex >> 24) << 16) | (((hex >> 16) & 0xff) << 8) |
                ((hex >> 8) & 0xff);
  format_version(py->info.version, sizeof(py->info.version), hex);
  /* A pre-release may have any layout: only finals are trusted. */
  if (((hex >> 4) & 0xf) != 0xf)
    return PM_ENOVERSION;
  return 0;
}

static enum pm_build
detect_build(struct found *f)
{
  uint64_t value;

  /* Only Py_DEBUG builds (Py_REF_DEBUG) define these. */
  if (pm__elf_symbol(f->elf, "_Py_RefTotal", &value, NULL) == 0 ||
      pm__elf_symbol(f->elf, "_Py_NegativeRefcount", &value, NULL) == 0)
    return PM_BUILD_DEBUG;
  return PM_BUILD_DEFAULT;
}

int
pm_python_open(struct pm_python **out, struct pm_target *t,
               struct pm_python_info *seen)
{
  struct pm_python *py = calloc(1, sizeof(*py));
  struct found f = { 0 };
  enum pm_build build;
  int err;

  if (!py)
    return -ENOMEM;
  py->t = t;
  err = find_runtime(py, &f, &py->info.runtime);
  if (err)
    goto fail;
  py->binary = strdup(f.region->path);
  if (!py->binary) {
    err = -ENOMEM;
    goto fail;
  }
  py->info.binary = py->binary;
  err = detect_version(py, &f);
  if (err)
    goto fail;
  build = detect_build(&f);
  py->info.debug_build = build == PM_BUILD_DEBUG;
  py->L = pm__layout_find(py->version, build);
  if (!py->L) {
    err = PM_ENOVERSION;
    goto fail;
  }
  py->info.layout = py->L->file;
  for (int i = 0; i < PM_T__COUNT; i++) {
    uint64_t value;
    if (pm__elf_symbol(f.elf, builtin_symbols[i], &value, NULL) == 0)
      py->types[i] = value + f.bias;
  }
  if (!py->types[PM_T_TYPE] || !py->types[PM_T_OBJECT]) {
    err = PM_ENOPYTHON;
    goto fail;
  }
  pm__elf_free(f.elf);
  *out = py;
  return 0;

fail:
  pm__elf_free(f.elf);
  if (seen) {
    *seen = py->info;
    seen->binary = NULL;
    seen->layout = NULL;
  }
  pm_python_free(py);
  return err;
}

const struct pm_python_info *
pm_python_info(const struct pm_python *py)
{
  return &py->info;
}

void
pm_python_free(struct pm_python *py)
{
  if (!py)
    return;
  free(py->binary);
  free(py);
}
