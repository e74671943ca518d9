/* SPDX-License-Identifier: MIT */
/* cli.h -- helpers shared by pmpeek's commands */
#ifndef PM_CLI_H
#define PM_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "pmpeek/snapshot.h"

#define PM_EXIT_USAGE 2
#define PM_EXIT_OTHER 9

/* Prints "pmpeek: " and the message, one line on stderr. */
void pm_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Parses a whole positive number up to max; -1 when it is not one. */
int pm_cli_parse_count(const char *s, size_t max, size_t *out);

/* Whether to use bold on f: a terminal, NO_COLOR unset, TERM not dumb. */
int pm_cli_bold(FILE *f);

/* `pmpeek diff OLD NEW`: argv[0] is "diff".  Returns the exit status. */
int pm_cli_diff(int argc, char **argv);

/* `pmpeek report SNAPSHOT...`: argv[0] is "report". */
int pm_cli_report(int argc, char **argv);

/*
 * Prints the rows of d with the largest size changes (all when top is 0)
 * as a table, with totals and the time between the snapshots first.
 * changed_only: leave out kinds whose count and size did not change.
 */
void pm_cli_print_diff(FILE *f, const struct pm_diff *d, size_t top,
                       int bold, int changed_only);

/*
 * Loads a snapshot file, printing a one-line error on failure.  Returns
 * 0 or the exit status to use.
 */
int pm_cli_load(const char *path, struct pm_snapshot_doc **out);

#endif
