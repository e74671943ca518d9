/* SPDX-License-Identifier: MIT */
/* python.c -- find _PyRuntime, the exact version and the layout */
#include <config.h>

#include <errno.h>
#include <stddef.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpython/obmalloc.h"
#include "cpython/python-private.h"
#include "elf/elf-file.h"
#include "pmpeek/error.h"
#include "target/target-elf.h"

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

struct found {
  struct pm_elf *elf;
  uint64_t runtime_size; /* st_size of _PyRuntime, 0 if unknown */
  uint64_t bias;
  const struct pm_region *region;
};

/* A region that may hold the runtime, and how likely its file is to. */
struct candidate {
  const struct pm_region *r;
  int rank;
};

/* By rank, then file, then file offset (the file's first region first). */
static int
candidate_cmp(const void *a, const void *b)
{
  const struct candidate *x = a, *y = b;
  int d = x->rank - y->rank;

  if (!d)
    d = strcmp(x->r->path, y->r->path);
  if (!d)
    d = (x->r->offset > y->r->offset) - (x->r->offset < y->r->offset);
  if (!d)
    d = (x->r->start > y->r->start) - (x->r->start < y->r->start);
  return d;
}

/*
 * Files tried at most: extension modules are named "*.cpython-311-*.so",
 * and a target may map thousands of files to slow us down.
 */
#define MAX_FILES_TRIED 64

static int
try_file(struct pm_python *py, const struct pm_region *r, struct found *f,
         pm_addr_t *runtime)
{
  struct pm_elf *e;
  uint64_t value, size, bias;

  if (pm__target_elf_open(py->t, r, &e) != 0)
    return PM_ENOPYTHON;
  if (pm__elf_symbol(e, "_PyRuntime", &value, &size) == 0)
    f->runtime_size = size;
  else if (pm__elf_section(e, ".PyRuntime", &value, &size) != 0) {
    pm__elf_free(e);
    return PM_ENOPYTHON;
  }
  if (pm__elf_load_bias(e, r->start, r->offset, &bias) != 0) {
    pm__elf_free(e);
    return PM_ENOPYTHON;
  }
  f->elf = e;
  f->bias = bias;
  f->region = r;
  *runtime = value + bias;
  return 0;
}

/*
 * Each candidate file once, from the region that maps its lowest offset:
 * sorted rather than searched, so that many mappings cost n log n.
 */
static int
find_runtime(struct pm_python *py, struct found *f, pm_addr_t *runtime)
{
  const struct pm_maps *m = pm_target_maps(py->t);
  struct candidate *c = malloc((m->n ? m->n : 1) * sizeof(*c));
  size_t n = 0, tried = 0;
  int err = PM_ENOPYTHON;

  if (!c)
    return -ENOMEM;
  for (size_t i = 0; i < m->n; i++) {
    const struct pm_region *r = &m->v[i];
    int rank;
    if (!r->path || r->path[0] != '/'
        || (rank = candidate_rank(py->t, r->path)) < 0)
      continue;
    c[n].r = r;
    c[n].rank = rank;
    n++;
  }
  qsort(c, n, sizeof(*c), candidate_cmp);
  for (size_t i = 0; i < n && err && tried < MAX_FILES_TRIED; i++) {
    if (i > 0 && strcmp(c[i].r->path, c[i - 1].r->path) == 0)
      continue;
    tried++;
    err = try_file(py, c[i].r, f, runtime);
  }
  free(c);
  return err;
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

/*
 * Parses the start of a Py_GetVersion() text, "3.9.18 (main, ...", into a
 * PY_VERSION_HEX; 0 when text is not one.
 */
static uint32_t
parse_version_text(const char *text, size_t len)
{
  unsigned v[3] = { 0, 0, 0 }, level = 0xf, serial = 0;
  size_t i = 0;

  for (int part = 0; part < 3; part++) {
    size_t digits = 0;
    if (part > 0) {
      if (i >= len || text[i] != '.')
        return 0;
      i++;
    }
    while (i < len && text[i] >= '0' && text[i] <= '9' && digits < 3)
      v[part] = v[part] * 10 + (unsigned)(text[i++] - '0'), digits++;
    if (!digits)
      return 0;
  }
  if (i + 1 < len && (text[i] == 'a' || text[i] == 'b' || text[i] == 'r')) {
    level = text[i] == 'a' ? 0xa : text[i] == 'b' ? 0xb : 0xc;
    i += text[i] == 'r' ? 2 : 1;
    while (i < len && text[i] >= '0' && text[i] <= '9' && serial < 15)
      serial = serial * 10 + (unsigned)(text[i++] - '0');
  }
  if (i + 1 >= len || text[i] != ' ' || text[i + 1] != '(' || v[0] != 3
      || v[1] > 99 || v[2] > 99 || serial > 15)
    return 0;
  return v[0] << 24 | v[1] << 16 | v[2] << 8 | level << 4 | serial;
}

/* How far into .data/.bss we look for the version text of 3.8-3.10. */
#define VERSION_SCAN_MAX (16u << 20)
#define VERSION_TEXT_MAX 250

/*
 * Before 3.11 there is no Py_Version: Py_GetVersion() fills a static
 * buffer at start-up (sys.version), found by its local symbol when the
 * file has a .symtab, else by scanning the file's .data/.bss in the target.
 */
static uint32_t
version_from_text(struct pm_python *py, struct found *f)
{
  static const char *const names[]
      = { "Py_GetVersion.version", "version.0", "version" };
  char buf[VERSION_TEXT_MAX + 1];
  uint64_t value, lo, hi;
  uint32_t hex;

  for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
    if (pm__elf_symbol(f->elf, names[i], &value, NULL) != 0
        || pm__py_read(py, value + f->bias, buf, VERSION_TEXT_MAX) != 0)
      continue;
    if ((hex = parse_version_text(buf, VERSION_TEXT_MAX)))
      return hex;
  }
  if (pm__elf_writable_range(f->elf, &lo, &hi) != 0)
    return 0;
  if (hi - lo > VERSION_SCAN_MAX)
    hi = lo + VERSION_SCAN_MAX;
  /* Chunks overlap by a version text's length so none is cut in two. */
  for (uint64_t at = lo; at < hi; at += sizeof(buf) * 64 - VERSION_TEXT_MAX) {
    char chunk[VERSION_TEXT_MAX + 1 + sizeof(buf) * 64];
    size_t n = hi - at < sizeof(chunk) ? (size_t)(hi - at) : sizeof(chunk);
    if (pm__py_read(py, at + f->bias, chunk, n) != 0)
      continue;
    for (size_t k = 0; k + 8 < n; k++)
      if (chunk[k] == '3' && chunk[k + 1] == '.' && (k == 0 || !chunk[k - 1])
          && (hex = parse_version_text(chunk + k, n - k)))
        return hex;
  }
  return 0;
}

static int
detect_version(struct pm_python *py, struct found *f)
{
  uint64_t value, word;
  uint32_t hex;
  int err;

  if (pm__elf_symbol(f->elf, "Py_Version", &value, NULL) == 0) {
    if ((err = pm__py_read_u64(py, value + f->bias, &word)))
      return err;
    hex = (uint32_t)word;
  } else {
    hex = version_from_text(py, f);
    /* From 3.11 on every build exports Py_Version. */
    if (((hex >> 16) & 0xff) >= 11)
      hex = 0;
  }
  if ((hex >> 24) != 3 || ((hex >> 4) & 0xf) < 0xa)
    return PM_ENOVERSION;
  py->info.hexversion = hex;
  py->version
      = ((hex >> 24) << 16) | (((hex >> 16) & 0xff) << 8) | ((hex >> 8) & 0xff);
  format_version(py->info.version, sizeof(py->info.version), hex);
  /* A pre-release may have any layout: only finals are trusted. */
  if (((hex >> 4) & 0xf) != 0xf)
    return PM_ENOVERSION;
  return 0;
}

/*
 * _Py_DebugOffsets (3.13+) entries that the layout also holds: where each
 * sits in the 3.13 and the 3.14 struct, and the layout field it must equal.
 */
struct debug_field {
  const char *name;
  unsigned pos313, pos314; /* 0: absent in that version */
  size_t field;            /* offsetof(struct pm_layout, ...) */
};

#define DF(name, p13, p14, f)                                                  \
  {                                                                            \
    name, p13, p14, offsetof(struct pm_layout, f)                              \
  }
static const struct debug_field debug_fields[] = {
  DF("runtime_state.size", 24, 24, runtime_size),
  DF("runtime_state.finalizing", 32, 32, runtime_finalizing),
  DF("runtime_state.interpreters_head", 40, 40, runtime_interpreters_head),
  DF("interpreter_state.size", 48, 48, interp_size),
  DF("interpreter_state.id", 56, 56, interp_id),
  DF("interpreter_state.next", 64, 64, interp_next),
  DF("interpreter_state.threads_head", 72, 72, interp_threads_head),
  DF("interpreter_state.gc", 80, 88, interp_gc),
  DF("interpreter_state.imports_modules", 88, 96, interp_modules),
  DF("interpreter_state.sysdict", 96, 104, interp_sysdict),
  DF("interpreter_state.builtins", 104, 112, interp_builtins),
  DF("thread_state.next", 168, 192, thread_next),
  DF("thread_state.interp", 176, 200, thread_interp),
  DF("thread_state.current_frame", 184, 208, thread_current_frame),
  DF("thread_state.thread_id", 192, 216, thread_thread_id),
  DF("thread_state.native_thread_id", 200, 224, thread_native_thread_id),
  DF("thread_state.datastack_chunk", 208, 232, thread_datastack_chunk),
  DF("pyobject.size", 352, 400, object_size),
  DF("pyobject.ob_type", 360, 408, object_type),
  DF("type_object.size", 368, 416, type_size),
  DF("type_object.tp_name", 376, 424, type_name),
  DF("type_object.tp_flags", 392, 440, type_flags),
  DF("tuple_object.size", 400, 448, tuple_size),
  DF("tuple_object.ob_item", 408, 456, tuple_item),
  DF("tuple_object.ob_size", 416, 464, varobject_ob_size),
  DF("list_object.size", 424, 472, list_size),
  DF("list_object.ob_item", 432, 480, list_item),
  DF("list_object.ob_size", 440, 488, varobject_ob_size),
  DF("set_object.size", 0, 496, set_size),
  DF("set_object.used", 0, 504, set_used),
  DF("set_object.table", 0, 512, set_table),
  DF("set_object.mask", 0, 520, set_mask),
  DF("dict_object.size", 448, 528, dict_size),
  DF("dict_object.ma_keys", 456, 536, dict_keys),
  DF("dict_object.ma_values", 464, 544, dict_values),
  DF("float_object.size", 472, 552, float_size),
  DF("long_object.size", 488, 568, long_size),
  DF("long_object.lv_tag", 496, 576, long_lv_tag),
  DF("long_object.ob_digit", 504, 584, long_digit),
  DF("bytes_object.size", 512, 592, bytes_size),
  DF("bytes_object.ob_size", 520, 600, varobject_ob_size),
  DF("bytes_object.ob_sval", 528, 608, bytes_sval),
  DF("unicode_object.size", 536, 616, unicode_size),
  DF("unicode_object.state", 544, 624, ascii_state),
  DF("unicode_object.length", 552, 632, ascii_length),
  DF("unicode_object.asciiobject_size", 560, 640, ascii_size),
  DF("gc.size", 568, 648, gc_state_size),
  DF("gc.collecting", 576, 656, gc_state_collecting),
};
#undef DF

#define DEBUG_OFFSETS_MAX 1024

/*
 * 3.13+ publish their own layout at the start of _PyRuntime.  Every entry
 * that our table also has must agree with it: patch releases do move
 * fields, and a disagreement is refused, never guessed around.
 */
static int
check_debug_offsets(struct pm_python *py, const struct found *f)
{
  unsigned char raw[DEBUG_OFFSETS_MAX];
  int is313 = !PM_PY_AT_LEAST(py, 3, 14);
  uint64_t version, free_threaded;
  size_t need = is313 ? 584 : 760;
  int err;

  (void)f;
  if ((err = pm__py_read(py, py->info.runtime, raw, need)))
    return err;
  memcpy(&version, raw + 8, 8);
  memcpy(&free_threaded, raw + 16, 8);
  if (memcmp(raw, "xdebugpy", 8) != 0 || version != py->info.hexversion) {
    snprintf(py->info.mismatch, sizeof(py->info.mismatch),
             "_Py_DebugOffsets cookie or version");
    return PM_EOFFSETS;
  }
  if (free_threaded)
    return PM_EFREETHREADED;
  for (size_t i = 0; i < sizeof(debug_fields) / sizeof(*debug_fields); i++) {
    const struct debug_field *d = &debug_fields[i];
    unsigned pos = is313 ? d->pos313 : d->pos314;
    int64_t ours, theirs;
    if (!pos)
      continue;
    memcpy(&theirs, raw + pos, 8);
    memcpy(&ours, (const char *)py->L + d->field, 8);
    if (ours != theirs) {
      snprintf(py->info.mismatch, sizeof(py->info.mismatch),
               "%s is %lld in the target, %lld in offsets/%s", d->name,
               (long long)theirs, (long long)ours, py->L->file);
      return PM_EOFFSETS;
    }
  }
  return 0;
}

static enum pm_build
detect_build(struct found *f)
{
  uint64_t value;

  /* Only Py_DEBUG builds (Py_REF_DEBUG) define these. */
  if (pm__elf_symbol(f->elf, "_Py_RefTotal", &value, NULL) == 0
      || pm__elf_symbol(f->elf, "_Py_NegativeRefcount", &value, NULL) == 0)
    return PM_BUILD_DEBUG;
  return PM_BUILD_DEFAULT;
}

int
pm__python_prepare(struct pm_target *t, unsigned obm_flags, int *obm_err)
{
  struct pm_python py = { .t = t };
  struct found f = { 0 };
  pm_addr_t runtime;
  int err;

  *obm_err = 0;
  if ((err = find_runtime(&py, &f, &runtime)) != 0)
    return err;
  /*
   * Both tables, whichever the names asked later: a debug build exports
   * what a release build's .symtab alone holds, and the census asks that
   * table for the allocator's statics (obmalloc-find.c).
   */
  pm__elf_index(f.elf);
  /* Where the statics are not named, the code that uses them is read. */
  if (!(py.binary = strdup(f.region->path)))
    err = -ENOMEM;
  else
    *obm_err = pm__obmalloc_prepare(&py, obm_flags);
  free(py.binary);
  pm__elf_free(f.elf);
  return err;
}

int
pm_python_prepare(struct pm_target *t)
{
  int obm_err;

  /* Without the arena table the census does without, in the pause too. */
  return pm__python_prepare(t, PM_OBM_NO_COUNTERS, &obm_err);
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
  /* Before 3.11 the version came from text: the runtime's size confirms it. */
  if (!PM_PY_AT_LEAST(py, 3, 11) && f.runtime_size
      && f.runtime_size != (uint64_t)py->L->runtime_size) {
    snprintf(py->info.mismatch, sizeof(py->info.mismatch),
             "_PyRuntime is %llu bytes in the target, %lld in offsets/%s",
             (unsigned long long)f.runtime_size, (long long)py->L->runtime_size,
             py->L->file);
    err = PM_EOFFSETS;
    goto fail;
  }
  if (PM_PY_AT_LEAST(py, 3, 13) && (err = check_debug_offsets(py, &f)))
    goto fail;
  for (int i = 0; i < PM_T__COUNT; i++) {
    uint64_t value;
    if (pm__elf_symbol(f.elf, builtin_symbols[i], &value, NULL) == 0)
      py->types[i] = value + f.bias;
  }
  if (!PM_PY_AT_LEAST(py, 3, 12)) {
    uint64_t value;
    if (pm__elf_symbol(f.elf, "interned", &value, NULL) == 0)
      py->interned_var = value + f.bias;
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
