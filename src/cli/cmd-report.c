/* SPDX-License-Identifier: MIT */
/* cmd-report.c -- `pmpeek report SNAPSHOT...`: an HTML growth report */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "pmpeek/error.h"

#define DEFAULT_TOP 8
#define MAX_SNAPSHOTS 100000

static void
usage(FILE *f)
{
  fputs("usage: pmpeek report [-o FILE.html] [--top N] SNAPSHOT.json...\n"
        "\n"
        "Writes a self-contained HTML page: the size of the top kinds over\n"
        "the snapshots (in time order) and the diff of the first against the\n"
        "last.  To stdout unless -o is given.\n",
        f);
}

static int
by_time(const void *a, const void *b)
{
  const struct pm_snapshot *const *x = a, *const *y = b;
  if ((*x)->taken_at.tv_sec != (*y)->taken_at.tv_sec)
    return (*x)->taken_at.tv_sec < (*y)->taken_at.tv_sec ? -1 : 1;
  return ((*x)->taken_at.tv_nsec > (*y)->taken_at.tv_nsec)
         - ((*x)->taken_at.tv_nsec < (*y)->taken_at.tv_nsec);
}

int
pm_cli_report(int argc, char **argv)
{
  static const struct option longopts[] = {
    { "output", required_argument, NULL, 'o' },
    { "top", required_argument, NULL, 'n' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  struct pm_snapshot_doc **docs = NULL;
  const struct pm_snapshot **snaps = NULL;
  const char *output = NULL;
  size_t top = DEFAULT_TOP, n = 0;
  FILE *f = stdout;
  int c, err, status = 0;

  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":o:n:h", longopts, NULL)) != -1) {
    switch (c) {
    case 'o':
      output = optarg;
      break;
    case 'n':
      if (pm_cli_parse_count(optarg, 1000, &top) != 0) {
        pm_cli_error("invalid kind count '%s' for --top", optarg);
        return PM_EXIT_USAGE;
      }
      break;
    case 'h':
      usage(stdout);
      return pm_cli_output_end(stdout, 0);
    case ':':
      pm_cli_error("option '%s' needs a value", argv[optind - 1]);
      return PM_EXIT_USAGE;
    default:
      pm_cli_error("unknown option '%s' (see pmpeek report --help)",
                   argv[optind - 1]);
      return PM_EXIT_USAGE;
    }
  }
  if (optind == argc || argc - optind > MAX_SNAPSHOTS) {
    pm_cli_error("report takes 1 to %d snapshot files", MAX_SNAPSHOTS);
    return PM_EXIT_USAGE;
  }
  docs = calloc((size_t)(argc - optind), sizeof(*docs));
  snaps = calloc((size_t)(argc - optind), sizeof(*snaps));
  if (!docs || !snaps) {
    pm_cli_error("out of memory");
    status = PM_EXIT_OTHER;
    goto out;
  }
  for (; n < (size_t)(argc - optind); n++) {
    if ((status = pm_cli_load(argv[optind + (int)n], &docs[n])))
      goto out;
    snaps[n] = &docs[n]->snap;
  }
  qsort(snaps, n, sizeof(*snaps), by_time);
  if (output && !(f = fopen(output, "we"))) {
    pm_cli_error("cannot write '%s': %s", output, strerror(errno));
    status = PM_EXIT_OTHER;
    goto out;
  }
  err = pm_cli_flush(f, pm_report_write_html(snaps, n, top, f));
  if (err == -ENOMEM) {
    pm_cli_error("out of memory");
    status = PM_EXIT_OTHER;
  } else if (!output)
    status = pm_cli_output_end(f, err);
  else if (err) {
    pm_cli_error("cannot write '%s': %s", output, pm_strerror(err));
    status = PM_EXIT_OTHER;
  }
  if (f != stdout && fclose(f) != 0 && !status) {
    pm_cli_error("cannot write '%s': %s", output, strerror(errno));
    status = PM_EXIT_OTHER;
  }
out:
  for (size_t i = 0; i < n && docs; i++)
    pm_snapshot_doc_free(docs[i]);
  free(docs);
  free(snaps);
  return status;
}
