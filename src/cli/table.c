/* SPDX-License-Identifier: MIT */
/* table.c -- the heapy-style partition table */
#include <config.h>

#include <inttypes.h>

#include "cli/cli.h"
#include "cli/table.h"

/* Whole percent, rounded down as heapy does; 0 of an empty total is 0. */
static unsigned
percent(uint64_t part, uint64_t whole)
{
  if (whole == 0)
    return 0;
  return (unsigned)((unsigned __int128)part * 100 / whole);
}

void
pm_cli_print_table_ex(FILE *f, const struct pm_census *c, size_t top, int bold,
                      int unreachable)
{
  size_t rows = top == 0 || top > c->nkinds ? c->nkinds : top;
  uint64_t cumulative = 0;

  fprintf(f,
          "Partition of a set of %" PRIu64 " objects. Total size = %" PRIu64
          " bytes.\n",
          c->count, c->size);
  fprintf(f,
          "%s Index  Count   %%     Size   %% Cumulative  %% %sKind (class "
          "/ dict of class)%s\n",
          bold ? "\033[1m" : "", unreachable ? "Unreach " : "",
          bold ? "\033[0m" : "");
  for (size_t i = 0; i < rows; i++) {
    const struct pm_kind *k = &c->kinds[i];
    cumulative += k->size;
    fprintf(f, "%6zu %6" PRIu64 " %3u %8" PRIu64 " %3u %9" PRIu64 " %3u ", i,
            k->count, percent(k->count, c->count), k->size,
            percent(k->size, c->size), cumulative,
            percent(cumulative, c->size));
    if (unreachable)
      fprintf(f, "%7" PRIu64 " ", k->unreachable_count);
    pm_cli_text(f, k->name);
    fputc('\n', f);
  }
  if (rows < c->nkinds)
    fprintf(f, "<%zu more rows. Use --top N or --all.>\n", c->nkinds - rows);
  if (unreachable)
    fprintf(f,
            "Unreachable: %" PRIu64 " objects, %" PRIu64 " bytes (cyclic "
            "garbage not collected yet).\n",
            c->unreachable_count, c->unreachable_size);
}

void
pm_cli_print_table(FILE *f, const struct pm_census *c, size_t top, int bold)
{
  pm_cli_print_table_ex(f, c, top, bold, 0);
}
