/* SPDX-License-Identifier: MIT */
/* cli.h -- helpers shared by pmpeek's commands */
#ifndef PM_CLI_H
#define PM_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "pmpeek/paths.h"
#include "pmpeek/snapshot.h"
#include "pmpeek/stacks.h"

#define PM_EXIT_USAGE 2
#define PM_EXIT_OTHER 9

/*
 * Prints "pmpeek: " and the message, one line on stderr, its control
 * characters escaped as pm_cli_text() does; cut at 8 KiB.
 */
void pm_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Writes s, a text that came from the target or from a file (a kind's or a
 * function's name, a key, a path), to f as a terminal may show it: each
 * control character (C0, DEL, C1), whose escape sequences could move the
 * cursor, rewrite the screen or retitle the window, and each byte that
 * starts no well-formed UTF-8 character, as "\xNN", a byte at a time.  The
 * JSON outputs keep the text as it is.
 */
void pm_cli_text(FILE *f, const char *s);

/* How many characters pm_cli_text() writes for s. */
size_t pm_cli_text_width(const char *s);

/* pm_cli_text(), then spaces up to width characters. */
void pm_cli_text_pad(FILE *f, const char *s, size_t width);

/*
 * Flushes f after writes that returned err: err when it is one, else the
 * flush's -errno, -EIO for an earlier failed write, or 0.
 */
int pm_cli_flush(FILE *f, int err);

/*
 * Ends the output written to f (standard output): flushes it, and when
 * err (what writing it returned) or the flush failed, says so in one line
 * (not for a closed pipe: the reader had enough).  Returns 0, or
 * PM_EXIT_OTHER.
 */
int pm_cli_output_end(FILE *f, int err);

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
void pm_cli_print_diff(FILE *f, const struct pm_diff *d, size_t top, int bold,
                       int changed_only);

/*
 * Loads a snapshot file, printing a one-line error on failure.  Returns
 * 0 or the exit status to use.
 */
int pm_cli_load(const char *path, struct pm_snapshot_doc **out);

/* ---- cmd-paths.c: --threads, --native, --referrers ------------------- */

struct pm_cli_inspect_opts {
  const char *referrers; /* --referrers KIND, or NULL */
  size_t samples;        /* --samples N */
  int threads;           /* --threads */
  int native;            /* --native (with --threads, live targets) */
  int json;
};

/* What the target showed; owned, released by pm_cli_inspect_release(). */
struct pm_cli_inspect {
  struct pm_stacks stacks;
  struct pm_referrers refs;
  int have_stacks, have_refs;
};

void pm_cli_inspect_init(struct pm_cli_inspect *in);

/*
 * Reads the thread stacks (always: they name the threads of paths), the
 * native stacks with --native, and the referrers of o->referrers.  The
 * target must be paused; nothing is printed.  Returns 0 or a pmpeek code
 * for the caller's report.
 */
int pm_cli_inspect_take(struct pm_cli_inspect *in,
                        const struct pm_cli_inspect_opts *o,
                        struct pm_python *py, struct pm_target *t);

/*
 * Prints what was taken as text or, with o->json, as a pmpeek-inspect
 * document whose source and times come from src, and warnings on stderr.
 * Returns the exit status: 0, 1 (partial, or no object of the kind) or
 * PM_EXIT_OTHER (output failed).
 */
int pm_cli_inspect_print(const struct pm_cli_inspect *in,
                         const struct pm_cli_inspect_opts *o,
                         const struct pm_snapshot *src, FILE *f);

void pm_cli_inspect_release(struct pm_cli_inspect *in);

#endif
