/* SPDX-License-Identifier: MIT */
/* cmd-paths.c -- `pmpeek --threads` and `--referrers KIND`: why alive */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "pmpeek/error.h"
#include "pmpeek/unwind.h"

void
pm_cli_inspect_init(struct pm_cli_inspect *in)
{
  memset(in, 0, sizeof(*in));
  pm_stacks_init(&in->stacks);
  pm_referrers_init(&in->refs);
}

void
pm_cli_inspect_release(struct pm_cli_inspect *in)
{
  pm_stacks_release(&in->stacks);
  pm_referrers_release(&in->refs);
  pm_cli_inspect_init(in);
}

int
pm_cli_inspect_take(struct pm_cli_inspect *in,
                    const struct pm_cli_inspect_opts *o, struct pm_python *py,
                    struct pm_target *t)
{
  int err;

  /* The stacks also name the threads and frames that paths start at. */
  if ((err = pm_stacks_take(&in->stacks, py)))
    return err;
  in->have_stacks = 1;
  /* Native stacks are read while the threads are still stopped. */
  if (o->threads && o->native
      && (err = pm_unwind_stacks(&in->stacks, t)) == -ENOMEM)
    return err;
  if (o->referrers) {
    err = pm_referrers_take(&in->refs, py, o->referrers, o->samples,
                            &in->stacks);
    if (err)
      return err;
    in->have_refs = 1;
  }
  return 0;
}

/* ---- --threads ---------------------------------------------------------- */

static void
print_py_frame(FILE *f, const struct pm_py_frame *fr)
{
  fputs("    ", f);
  pm_cli_text(f, fr->function);
  fputs(" (", f);
  pm_cli_text(f, fr->file);
  if (fr->line >= 0)
    fprintf(f, ":%d", fr->line);
  fputs(")\n", f);
}

static const char *
base_name(const char *path)
{
  const char *s = strrchr(path, '/');
  return s ? s + 1 : path;
}

static void
print_native_frame(FILE *f, const struct pm_native_frame *nf)
{
  fprintf(f, "    [native] ");
  if (nf->symbol) {
    pm_cli_text(f, nf->symbol);
    fprintf(f, "+0x%" PRIx64, nf->offset);
  } else {
    fprintf(f, "0x%" PRIx64, nf->ip);
  }
  if (nf->file) {
    fputs(" (", f);
    pm_cli_text(f, base_name(nf->file));
    fputc(')', f);
  }
  fputc('\n', f);
}

static void
print_thread(FILE *f, const struct pm_py_thread *th, int native)
{
  size_t shown = 0;

  fprintf(f, "Thread %" PRIu64, th->native_id ? th->native_id : th->thread_id);
  if (th->name) {
    fputs(" (", f);
    pm_cli_text(f, th->name);
    fputc(')', f);
  }
  fprintf(f, ", ident 0x%" PRIx64, th->thread_id);
  if (th->interp_id)
    fprintf(f, ", interpreter %" PRId64, th->interp_id);
  if (th->gil == PM_GIL_HELD)
    fprintf(f, ", holds the GIL");
  fprintf(f, ":\n");
  if (native && th->nnative) {
    /* A call of the eval loop shows as the Python frames it runs. */
    for (size_t i = 0; i < th->nnative; i++) {
      const struct pm_native_frame *nf = &th->native[i];
      if (nf->py_first < 0) {
        print_native_frame(f, nf);
        continue;
      }
      for (size_t k = 0; k < nf->py_count; k++)
        print_py_frame(f, &th->frames[(size_t)nf->py_first + k]);
      if (nf->py_first + (int64_t)nf->py_count > (int64_t)shown)
        shown = (size_t)nf->py_first + nf->py_count;
      if (!nf->py_count)
        print_native_frame(f, nf);
    }
    if (shown < th->nframes)
      fprintf(f, "    (Python frames not matched to a native frame:)\n");
  } else if (native && th->native_err) {
    fprintf(f, "    (no native stack: %s)\n", pm_strerror(th->native_err));
  }
  for (size_t i = shown; i < th->nframes; i++)
    print_py_frame(f, &th->frames[i]);
  if (!th->nframes)
    fprintf(f, "    (no Python frames)\n");
  if (th->truncated)
    fprintf(f, "    (the frame chain is cut short here)\n");
}

static void
print_threads(FILE *f, const struct pm_stacks *s, const char *version,
              int native)
{
  int holder = 0;

  for (size_t i = 0; i < s->nthreads; i++)
    holder |= s->threads[i].gil == PM_GIL_HELD;
  fputs("Python ", f);
  pm_cli_text(f, version);
  fprintf(f, ": %zu thread%s; %s.\n\n", s->nthreads,
          s->nthreads == 1 ? "" : "s",
          holder ? "one holds the GIL"
          : s->nthreads && s->threads[0].gil == PM_GIL_UNKNOWN
              ? "the GIL's holder is unknown"
              : "none holds the GIL");
  for (size_t i = 0; i < s->nthreads; i++) {
    if (i)
      fputc('\n', f);
    print_thread(f, &s->threads[i], native);
  }
}

/* ---- --referrers -------------------------------------------------------- */

/* The widest of a path's labels (kinds when kinds), at most cap. */
static size_t
width_of(const struct pm_path *p, int kinds, size_t cap)
{
  size_t w = 0;

  for (size_t i = 0; i < p->nsteps; i++) {
    size_t n = pm_cli_text_width(kinds ? p->steps[i].kind : p->steps[i].label);
    if (n > w)
      w = n;
  }
  return w < cap ? w : cap;
}

static void
print_path(FILE *f, size_t i, const struct pm_path *p)
{
  size_t w = width_of(p, 0, 48), kw = width_of(p, 1, 40);

  fprintf(f, "%3zu. at 0x%" PRIx64 ", %" PRIu64 " bytes%s:\n", i + 1, p->object,
          p->size,
          p->root == PM_PATH_UNREACHABLE ? ", no root reaches it" : "");
  fputs("     ", f);
  pm_cli_text(f, p->text);
  fputc('\n', f);
  if (p->function) {
    fputs("     (in ", f);
    pm_cli_text(f, p->function);
    fputs(", ", f);
    pm_cli_text(f, p->file ? p->file : "?");
    fprintf(f, " line %d)\n", p->line);
  }
  for (size_t k = 0; k < p->nsteps; k++) {
    fputs("       ", f);
    pm_cli_text_pad(f, p->steps[k].label, w);
    fputs("  ", f);
    pm_cli_text_pad(f, p->steps[k].kind, kw);
    fprintf(f, "  0x%" PRIx64 "\n", p->steps[k].address);
  }
}

static void
print_groups(FILE *f, const struct pm_referrers *r, int bold)
{
  uint64_t cum = 0;

  fprintf(f,
          "%sReferrers by kind (heapy byrcs): %" PRIu64
          " objects in %zu group%s%s\n",
          bold ? "\033[1m" : "", r->count, r->ngroups,
          r->ngroups == 1 ? "" : "s", bold ? "\033[0m" : "");
  fprintf(f, " Index  Count   %%      Size   %% Cumulative   %% Referrers\n");
  for (size_t i = 0; i < r->ngroups; i++) {
    const struct pm_rcs_group *g = &r->groups[i];
    unsigned pc = r->count ? (unsigned)(g->count * 100 / r->count) : 0;
    unsigned ps = r->size ? (unsigned)(g->size * 100 / r->size) : 0;
    cum += g->size;
    fprintf(f, "%6zu %6" PRIu64 " %3u %9" PRIu64 " %3u %10" PRIu64 " %3u ", i,
            g->count, pc, g->size, ps, cum,
            r->size ? (unsigned)(cum * 100 / r->size) : 0);
    if (!g->nkinds)
      fprintf(f, "<none found>");
    for (size_t k = 0; k < g->nkinds; k++) {
      if (k)
        fputs(", ", f);
      pm_cli_text(f, g->kinds[k]);
    }
    fputc('\n', f);
  }
}

static void
print_referrers(FILE *f, const struct pm_referrers *r, int bold)
{
  fprintf(f, "%s%" PRIu64 " object%s of kind ", bold ? "\033[1m" : "", r->count,
          r->count == 1 ? "" : "s");
  pm_cli_text(f, r->kind);
  fprintf(f,
          ", %" PRIu64 " bytes; %" PRIu64 " reachable from a root (%" PRIu64
          " objects walked).%s\n",
          r->size, r->reachable, r->objects, bold ? "\033[0m" : "");
  if (!r->count)
    return;
  fprintf(f, "\nShortest paths from a root (%zu sample%s):\n", r->npaths,
          r->npaths == 1 ? "" : "s");
  for (size_t i = 0; i < r->npaths; i++)
    print_path(f, i, &r->paths[i]);
  fputc('\n', f);
  print_groups(f, r, bold);
}

int
pm_cli_inspect_print(const struct pm_cli_inspect *in,
                     const struct pm_cli_inspect_opts *o,
                     const struct pm_snapshot *src, FILE *f)
{
  int status, err = 0;

  if (o->json) {
    err = pm_inspect_write_json(src, o->threads ? &in->stacks : NULL,
                                in->have_refs ? &in->refs : NULL, f);
  } else {
    if (o->threads)
      print_threads(f, &in->stacks, src->python_version, o->native);
    if (o->threads && in->have_refs)
      fputc('\n', f);
    if (in->have_refs)
      print_referrers(f, &in->refs, pm_cli_bold(f));
  }
  if ((status = pm_cli_output_end(f, err)))
    return status;
  if (o->threads && o->native) {
    size_t n = 0;
    for (size_t i = 0; i < in->stacks.nthreads; i++)
      n += in->stacks.threads[i].native_err != 0;
    if (n) {
      pm_cli_error("warning: no native stack for %zu thread%s", n,
                   n == 1 ? "" : "s");
      status = 1;
    }
  }
  if (in->have_refs && !in->refs.count) {
    pm_cli_error("no object of kind '%s' found", o->referrers);
    status = 1;
  }
  if (in->stacks.broken_chains
      || (in->have_refs && (in->refs.skipped || in->refs.broken_chains))) {
    pm_cli_error("warning: partial result: %" PRIu64 " objects unreadable, "
                 "%" PRIu64 " lists or chains cut short",
                 in->have_refs ? in->refs.skipped : 0,
                 in->stacks.broken_chains + in->refs.broken_chains);
    status = 1;
  }
  return status;
}
