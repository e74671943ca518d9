/* SPDX-License-Identifier: MIT */
/* cmd-diff.c -- `pmpeek diff OLD NEW`: what changed between two snapshots */
#include <config.h>

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

#define DEFAULT_TOP 20

static void
usage(FILE *f)
{
  fputs("usage: pmpeek diff [--top N | --all] [--json] OLD.json NEW.json\n"
        "\n"
        "Compares two snapshots written by pmpeek -o, kind by kind, largest\n"
        "size change first.\n",
        f);
}

void
pm_cli_print_diff(FILE *f, const struct pm_diff *d, size_t top, int bold,
                  int changed_only)
{
  const struct pm_census *a = d->old->census, *b = d->new->census;
  size_t nrows = d->nrows, rows;

  /* Rows are sorted by the size of their change: unchanged ones are last. */
  while (changed_only && nrows > 0
         && d->rows[nrows - 1].count_old == d->rows[nrows - 1].count_new
         && d->rows[nrows - 1].size_old == d->rows[nrows - 1].size_new)
    nrows--;
  rows = top == 0 || top > nrows ? nrows : top;

  fprintf(f,
          "Objects: %" PRIu64 " -> %" PRIu64 " (%+" PRId64 "). Size: %" PRIu64
          " -> %" PRIu64 " (%+" PRId64 ") bytes. %.1f s apart.\n",
          a->count, b->count, (int64_t)(b->count - a->count), a->size, b->size,
          (int64_t)(b->size - a->size), pm_diff_seconds(d));
  fprintf(f,
          "%s Count old  Count new    d count   Size old   Size new     "
          "d size Kind%s\n",
          bold ? "\033[1m" : "", bold ? "\033[0m" : "");
  for (size_t i = 0; i < rows; i++) {
    const struct pm_diff_row *r = &d->rows[i];
    const char *mark = r->count_old == 0 && r->size_old == 0   ? " (new)"
                       : r->count_new == 0 && r->size_new == 0 ? " (gone)"
                                                               : "";
    fprintf(f,
            "%10" PRIu64 " %10" PRIu64 " %+10" PRId64 " %10" PRIu64
            " %10" PRIu64 " %+10" PRId64 " ",
            r->count_old, r->count_new, (int64_t)(r->count_new - r->count_old),
            r->size_old, r->size_new, (int64_t)(r->size_new - r->size_old));
    pm_cli_text(f, r->kind);
    fprintf(f, "%s\n", mark);
  }
  if (rows < nrows)
    fprintf(f, "<%zu more rows. Use --top N or --all.>\n", nrows - rows);
}

int
pm_cli_diff(int argc, char **argv)
{
  static const struct option longopts[] = {
    { "top", required_argument, NULL, 'n' },
    { "all", no_argument, NULL, 'a' },
    { "json", no_argument, NULL, 'j' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  struct pm_snapshot_doc *old = NULL, *new = NULL;
  struct pm_diff d;
  size_t top = DEFAULT_TOP;
  int json = 0, c, status, err = 0;

  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":n:ajh", longopts, NULL)) != -1) {
    switch (c) {
    case 'n':
      if (pm_cli_parse_count(optarg, 1000000000, &top) != 0) {
        pm_cli_error("invalid row count '%s' for --top", optarg);
        return PM_EXIT_USAGE;
      }
      break;
    case 'a':
      top = 0;
      break;
    case 'j':
      json = 1;
      break;
    case 'h':
      usage(stdout);
      return pm_cli_output_end(stdout, 0);
    case ':':
      pm_cli_error("option '%s' needs a value", argv[optind - 1]);
      return PM_EXIT_USAGE;
    default:
      pm_cli_error("unknown option '%s' (see pmpeek diff --help)",
                   argv[optind - 1]);
      return PM_EXIT_USAGE;
    }
  }
  if (argc - optind != 2) {
    pm_cli_error("diff takes two snapshot files (see pmpeek diff --help)");
    return PM_EXIT_USAGE;
  }
  if ((status = pm_cli_load(argv[optind], &old))
      || (status = pm_cli_load(argv[optind + 1], &new)))
    goto out;
  if (pm_diff_compute(&d, &old->snap, &new->snap) != 0) {
    pm_cli_error("out of memory");
    status = PM_EXIT_OTHER;
    goto out;
  }
  if (json)
    err = pm_diff_write_json(&d, stdout);
  else
    pm_cli_print_diff(stdout, &d, top, pm_cli_bold(stdout), 0);
  pm_diff_release(&d);
  status = pm_cli_output_end(stdout, err);
out:
  pm_snapshot_doc_free(old);
  pm_snapshot_doc_free(new);
  return status;
}
