/* SPDX-License-Identifier: MIT */
/* unwind.c -- native stacks of a live target's threads (libunwind-ptrace) */
#include <config.h>

#include <elfutils/libdwfl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pmpeek/error.h"
#include "pmpeek/unwind.h"

#if PM_HAVE_UNWIND
#include <libunwind-ptrace.h>
#endif

/* Deeper than any real native stack; a loop of frames ends here. */
#define MAX_NATIVE 4096
#define SYMBOL_MAX 512
#define EVAL_LOOP "_PyEval_EvalFrameDefault"

int
pm_unwind_available(void)
{
  return PM_HAVE_UNWIND;
}

/* The eval loop, or a part of it the compiler split off (".cold"). */
static int
is_eval_loop(const char *symbol)
{
  size_t n = strlen(EVAL_LOOP);

  return symbol && strncmp(symbol, EVAL_LOOP, n) == 0
         && (symbol[n] == '\0' || symbol[n] == '.');
}

/*
 * Gives each eval-loop frame its Python frames: the next ones, up to and
 * including the next entry frame.  Python frames are innermost first, as
 * native ones are, and each call of the loop runs one run of them.
 */
static void
match_eval_frames(struct pm_py_thread *th)
{
  size_t py = 0;

  for (size_t i = 0; i < th->nnative; i++) {
    struct pm_native_frame *f = &th->native[i];
    size_t n = 0;

    f->py_first = -1;
    if (!is_eval_loop(f->symbol))
      continue;
    f->py_first = (int64_t)py;
    while (py + n < th->nframes) {
      n++;
      if (th->frames[py + n - 1].entry)
        break;
    }
    f->py_count = n;
    py += n;
  }
}

#if PM_HAVE_UNWIND
/*
 * Symbols come from libdwfl where it can give them, as eu-stack's do: it
 * finds separate debug files (by build-id, under /usr/lib/debug), whose
 * symbol tables name the static functions that a stripped library's
 * .dynsym does not (libunwind would name the nearest exported one).
 */
static const Dwfl_Callbacks proc_callbacks = {
  .find_elf = dwfl_linux_proc_find_elf,
  .find_debuginfo = dwfl_standard_find_debuginfo,
};

static Dwfl *
symbols_open(pid_t pid)
{
  Dwfl *d = dwfl_begin(&proc_callbacks);

  if (!d)
    return NULL;
  if (dwfl_linux_proc_report(d, pid) != 0
      || dwfl_report_end(d, NULL, NULL) != 0) {
    dwfl_end(d);
    return NULL;
  }
  return d;
}

/*
 * The function holding pc.  Above the innermost frame pc is a return
 * address, which may already be past the end of the calling function.
 */
static void
symbolize(Dwfl *d, unw_cursor_t *cursor, struct pm_native_frame *f,
          int innermost)
{
  char name[SYMBOL_MAX];
  unw_word_t off;

  if (d) {
    Dwarf_Addr pc = f->ip - (innermost ? 0 : 1);
    Dwfl_Module *mod = dwfl_addrmodule(d, pc);
    GElf_Off soff;
    GElf_Sym sym;
    const char *sname
        = mod ? dwfl_module_addrinfo(mod, pc, &soff, &sym, NULL, NULL, NULL)
              : NULL;
    if (sname) {
      f->symbol = strdup(sname);
      f->offset = soff + (innermost ? 0 : 1);
      return;
    }
  }
  if (unw_get_proc_name(cursor, name, sizeof(name), &off) == 0) {
    f->symbol = strdup(name);
    f->offset = off;
  }
}

static int
unwind_thread(struct pm_target *t, unw_addr_space_t as, Dwfl *d,
              struct pm_py_thread *th)
{
  const struct pm_maps *maps = pm_target_maps(t);
  unw_cursor_t cursor;
  size_t cap = 0;
  void *ui;
  int ret;

  if (!(ui = _UPT_create((pid_t)th->native_id)))
    return -ENOMEM;
  if ((ret = unw_init_remote(&cursor, as, ui)) < 0) {
    _UPT_destroy(ui);
    return pm_target_thread_ended(t, (pid_t)th->native_id) ? -ESRCH : -EIO;
  }
  do {
    struct pm_native_frame *f;
    const struct pm_region *r;
    unw_word_t ip;

    if (unw_get_reg(&cursor, UNW_REG_IP, &ip) < 0 || ip == 0)
      break;
    if (th->nnative == cap) {
      size_t ncap = cap ? cap * 2 : 32;
      f = realloc(th->native, ncap * sizeof(*f));
      if (!f) {
        _UPT_destroy(ui);
        return -ENOMEM;
      }
      th->native = f;
      cap = ncap;
    }
    f = &th->native[th->nnative++];
    memset(f, 0, sizeof(*f));
    f->ip = ip;
    f->py_first = -1;
    symbolize(d, &cursor, f, th->nnative == 1);
    r = pm_maps_find(maps, ip);
    if (r && r->path)
      f->file = strdup(r->path);
  } while (th->nnative < MAX_NATIVE && unw_step(&cursor) > 0);
  _UPT_destroy(ui);
  return 0;
}
#endif

int
pm_unwind_stacks(struct pm_stacks *s, struct pm_target *t)
{
#if PM_HAVE_UNWIND
  unw_addr_space_t as;
  Dwfl *d;
  int err = 0;

  if (pm_target_core_info(t))
    return -ENOTSUP;
  if (!(as = unw_create_addr_space(&_UPT_accessors, 0)))
    return -ENOMEM;
  /* Without it, libunwind's names are still there. */
  d = symbols_open(pm_target_task(t));
  unw_set_caching_policy(as, UNW_CACHE_GLOBAL);
  for (size_t i = 0; i < s->nthreads && !err; i++) {
    struct pm_py_thread *th = &s->threads[i];
    if (!th->native_id) {
      th->native_err = -ESRCH;
      continue;
    }
    th->native_err = unwind_thread(t, as, d, th);
    if (th->native_err == -ENOMEM)
      err = -ENOMEM;
    match_eval_frames(th);
  }
  unw_destroy_addr_space(as);
  dwfl_end(d);
  return err;
#else
  (void)s;
  (void)t;
  (void)match_eval_frames;
  return -ENOTSUP;
#endif
}
