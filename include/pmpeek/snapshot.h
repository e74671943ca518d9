/* SPDX-License-Identifier: MIT */
/* snapshot.h -- a census with its context, as the JSON document */
#ifndef PMPEEK_SNAPSHOT_H
#define PMPEEK_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "pmpeek/allocator.h"
#include "pmpeek/census.h"
#include "pmpeek/paths.h"
#include "pmpeek/stacks.h"

/* Format name and version written into, and required from, every file. */
#define PM_SNAPSHOT_FORMAT "pmpeek-snapshot"
#define PM_SNAPSHOT_FORMAT_VERSION 1

/*
 * Everything a snapshot document holds.  The strings and the census are
 * borrowed: they must outlive the calls below.
 */
struct pm_snapshot {
  const char *source_kind; /* "live" or "core" */
  long pid;
  const char *core;           /* the core file's path, for kind "core" */
  const char *executable;     /* may be NULL */
  const char *python_version; /* "3.11.2" */
  const char *scope;          /* which objects the census covers */
  struct timespec taken_at;   /* CLOCK_REALTIME when the pause began */
  double pause_seconds;       /* < 0: the target was not paused */
  const struct pm_census *census;
  /* pymalloc's figures and the memory section; NULL leaves them out. */
  const struct pm_allocator *allocator;
};

/* Room for pm_time_rfc3339()'s text and its NUL. */
#define PM_TIME_TEXT_MAX 32

/* ts as UTC RFC 3339 with milliseconds: "2026-11-21T14:00:00.123Z". */
void pm_time_rfc3339(const struct timespec *ts, char *buf, size_t len);

/*
 * Writes s to f as one JSON document (see docs/snapshot-format.md), kinds
 * in the census's order, followed by a newline.  Returns 0, -ENOMEM, or
 * the write's -errno (-EIO when it left none).
 */
int pm_snapshot_write_json(const struct pm_snapshot *s, FILE *f);

/* A snapshot read back from a file; owns everything it points to. */
struct pm_snapshot_doc {
  struct pm_snapshot snap; /* snap.census points at census below */
  struct pm_census census;
  void *json; /* the parsed document, owning snap's strings */
};

/*
 * Reads the snapshot file at path.  Returns -errno when it cannot be read,
 * PM_EFORMAT when it is not JSON, not a "pmpeek-snapshot", of another
 * format_version, or misses a required field; *why then names the cause
 * (a static or thread-unsafe buffer; valid until the next call).
 */
int pm_snapshot_load(const char *path, struct pm_snapshot_doc **out,
                     const char **why);

/* NULL does nothing. */
void pm_snapshot_doc_free(struct pm_snapshot_doc *d);

/* One kind's change between two snapshots. */
struct pm_diff_row {
  const char *kind; /* borrowed from one of the snapshots */
  uint64_t count_old, count_new;
  uint64_t size_old, size_new;
};

struct pm_diff {
  struct pm_diff_row *rows; /* by absolute size delta, largest first */
  size_t nrows;
  const struct pm_snapshot *old, *new;
};

/*
 * Compares two snapshots kind by kind.  A kind present in only one of
 * them has zero count and size in the other (appeared or vanished).
 * Kinds unchanged in count and size are kept.  Returns 0 or -ENOMEM.
 * The diff borrows from both snapshots: they must outlive it.
 */
int pm_diff_compute(struct pm_diff *d, const struct pm_snapshot *old,
                    const struct pm_snapshot *new);

/* Frees the rows; d is left empty. */
void pm_diff_release(struct pm_diff *d);

/* Seconds from old's taken_at to new's. */
double pm_diff_seconds(const struct pm_diff *d);

/*
 * Writes d as a "pmpeek-diff" JSON document (docs/snapshot-format.md).
 * Returns 0, -ENOMEM, or the write's -errno (-EIO when it left none).
 */
int pm_diff_write_json(const struct pm_diff *d, FILE *f);

/*
 * Per-kind counts over a sliding window of snapshots, to name leak
 * suspects: kinds whose count grew between every two consecutive ones of
 * the last `window` + 1 snapshots.
 */
struct pm_trend;

/* A trend that keeps the last window + 1 snapshots (window >= 1). */
struct pm_trend *pm_trend_new(unsigned window);
void pm_trend_free(struct pm_trend *t);

/* Adds a snapshot's per-kind counts (copied).  Returns 0 or -ENOMEM. */
int pm_trend_add(struct pm_trend *t, const struct pm_snapshot *s);

struct pm_suspect {
  const char *kind; /* owned by the trend; valid until its next add */
  uint64_t count_first, count_last; /* over the window */
  double per_minute;                /* count growth per minute */
};

/*
 * The current suspects, by growth per minute, largest first, into a newly
 * allocated array (free() it).  None until window + 1 snapshots were added.
 */
int pm_trend_suspects(const struct pm_trend *t, struct pm_suspect **out,
                      size_t *n);

/*
 * Appends to f one tab-separated row per kind among the census's first
 * `top` (all when 0): RFC 3339 time, kind, count, size.  Returns 0, or the
 * write's -errno (-EIO when it left none).
 */
int pm_snapshot_write_series(const struct pm_snapshot *s, size_t top, FILE *f);

/*
 * Writes s as OpenMetrics text: per-kind counts and sizes, labelled with
 * the pid and executable, plus totals, ending in "# EOF".  Returns 0, or
 * the write's -errno (-EIO when it left none).
 */
int pm_snapshot_write_openmetrics(const struct pm_snapshot *s, FILE *f);

/*
 * Writes a self-contained HTML page (no external resources): a growth
 * chart of the top kinds over the n snapshots, in time order, and the diff
 * table of the first against the last.  Returns 0, -EINVAL when n is 0,
 * -ENOMEM, or the failed write's -errno (-EIO when it left none); f is not
 * flushed.
 */
int pm_report_write_html(const struct pm_snapshot *const *snaps, size_t n,
                         size_t top, FILE *f);

/* The document of `pmpeek --threads` and `--referrers` with --json. */
#define PM_INSPECT_FORMAT "pmpeek-inspect"
#define PM_INSPECT_FORMAT_VERSION 1

/*
 * Writes one pmpeek-inspect document (docs/snapshot-format.md): the source
 * and times of s (its census and allocator are not written), the threads
 * of stacks with their frames (and native frames where unwound) when
 * stacks is not NULL, and the paths and referrer groups of refs when it is
 * not NULL.  Returns 0, -ENOMEM, or the write's -errno (-EIO when it
 * left none).
 */
int pm_inspect_write_json(const struct pm_snapshot *s,
                          const struct pm_stacks *stacks,
                          const struct pm_referrers *refs, FILE *f);

#endif
