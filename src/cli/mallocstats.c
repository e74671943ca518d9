/* SPDX-License-Identifier: MIT */
/* mallocstats.c -- print pymalloc's figures as sys._debugmallocstats() does */
#include <config.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli/mallocstats.h"

/* CPython's printone(): the label padded to 35 columns, '=', then the
 * value with thousands commas, right-aligned in 21 columns. */
static void
printone(FILE *f, const char *label, int64_t value)
{
  char digits[32], buf[48];
  int n, k = 0;

  if (value < 0) {
    fprintf(f, "%-35s=%21s\n", label, "unknown");
    return;
  }
  n = snprintf(digits, sizeof(digits), "%" PRId64, value);
  for (int i = 0; i < n; i++) {
    if (i > 0 && (n - i) % 3 == 0)
      buf[k++] = ',';
    buf[k++] = digits[i];
  }
  buf[k] = '\0';
  fprintf(f, "%-35s=%21s\n", label, buf);
}

static void
print_state(FILE *f, const struct pm_allocator *a,
            const struct pm_obmalloc_stats *s)
{
  char label[64];

  fprintf(f, "Small block threshold = %u, in %u size classes.\n",
          PM_ALLOCATOR_NCLASSES * 16, PM_ALLOCATOR_NCLASSES);
  fputs("\nclass   size   num pools   blocks in use  avail blocks\n"
        "-----   ----   ---------   -------------  ------------\n",
        f);
  for (unsigned i = 0; i < PM_ALLOCATOR_NCLASSES; i++) {
    const struct pm_size_class *c = &s->classes[i];
    if (c->pools == 0)
      continue;
    fprintf(f, "%5u %6u %11" PRIu64 " %15" PRIu64 " %13" PRIu64 "\n", c->index,
            c->size, c->pools, c->blocks_in_use, c->blocks_available);
  }
  fputc('\n', f);
  printone(f, "# arenas allocated total", s->arenas_allocated_total);
  printone(f, "# arenas reclaimed", s->arenas_reclaimed);
  printone(f, "# arenas highwater mark", s->arenas_highwater);
  printone(f, "# arenas allocated current",
           (int64_t)s->arenas_allocated_current);
  snprintf(label, sizeof(label), "%" PRIu64 " arenas * %u bytes/arena",
           s->arenas_allocated_current, a->arena_size);
  printone(f, label, (int64_t)(s->arenas_allocated_current * a->arena_size));
  fputc('\n', f);
  printone(f, "# bytes in allocated blocks",
           (int64_t)s->bytes_in_allocated_blocks);
  printone(f, "# bytes in available blocks",
           (int64_t)s->bytes_in_available_blocks);
  snprintf(label, sizeof(label), "%" PRIu64 " unused pools * %u bytes",
           s->unused_pools, a->pool_size);
  printone(f, label, (int64_t)s->bytes_in_unused_pools);
  printone(f, "# bytes lost to pool headers",
           (int64_t)s->bytes_lost_to_pool_headers);
  printone(f, "# bytes lost to quantization",
           (int64_t)s->bytes_lost_to_quantization);
  printone(f, "# bytes lost to arena alignment",
           (int64_t)s->bytes_lost_to_arena_alignment);
  printone(f, "Total", (int64_t)s->total);
}

void
pm_cli_print_allocator(FILE *f, const struct pm_allocator *a)
{
  const struct pm_memory *m = &a->memory;
  int64_t absent = PM_UNKNOWN;

  for (size_t i = 0; i < a->nstates; i++) {
    const struct pm_obmalloc_stats *s = &a->states[i];

    fputc('\n', f);
    if (s->interp_id < 0)
      fprintf(f, "pymalloc (state found by %s):\n", a->found_by);
    else if (s->interp_id == 0)
      fprintf(f, "pymalloc, main interpreter (state found by %s):\n",
              a->found_by);
    else
      fprintf(f,
              "pymalloc, interpreter %" PRId64 " and those sharing its "
              "allocator:\n",
              s->interp_id);
    /*
     * Never an arena: the objects go to another allocator, and CPython
     * prints no pymalloc figures then either.  A live interpreter that
     * uses pymalloc has held one since its start.  Counters known to be
     * zero, not unknown, and no arena skipped as unreadable.
     */
    if (s->arenas_allocated_current == 0 && s->arenas_allocated_total == 0
        && s->arenas_highwater == 0 && a->bad_arenas == 0)
      fputs("pymalloc has never held an arena: the interpreter allocates "
            "its objects\nelsewhere (PYTHONMALLOC=malloc, or mimalloc on "
            "3.13 and later).\n",
            f);
    else
      print_state(f, a, s);
  }
  if (m->arenas_resident >= 0)
    absent = (int64_t)m->arenas_mapped - m->arenas_resident;
  fputc('\n', f);
  fputs("Memory of the process:\n", f);
  printone(f, "Resident set size (RSS)", m->rss);
  printone(f, "# bytes in allocated blocks", (int64_t)m->allocated_blocks);
  printone(f, "# bytes free in arenas (resident)", m->free_in_arenas);
  printone(f, "# bytes outside arenas (resident)", m->outside_arenas);
  printone(f, "# arena bytes not resident", absent);
}
