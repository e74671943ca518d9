/* SPDX-License-Identifier: MIT */
/* snapshot.h -- a census with its context, as the JSON document */
#ifndef PMPEEK_SNAPSHOT_H
#define PMPEEK_SNAPSHOT_H

#include <stdio.h>
#include <time.h>

#include "pmpeek/census.h"

/* Format name and version written into, and required from, every file. */
#define PM_SNAPSHOT_FORMAT "pmpeek-snapshot"
#define PM_SNAPSHOT_FORMAT_VERSION 1

/*
 * Everything a snapshot document holds.  The strings and the census are
 * borrowed: they must outlive the calls below.
 */
struct pm_snapshot {
  const char *source_kind;    /* "live" */
  long pid;
  const char *executable;     /* may be NULL */
  const char *python_version; /* "3.11.2" */
  const char *scope;          /* which objects the census covers */
  struct timespec taken_at;   /* CLOCK_REALTIME when the pause began */
  double pause_seconds;       /* < 0: the target was not paused */
  const struct pm_census *census;
};

/*
 * Writes s to f as one JSON document (see docs/snapshot-format.md), kinds
 * in the census's order, followed by a newline.  Returns 0, -ENOMEM or -EIO.
 */
int pm_snapshot_write_json(const struct pm_snapshot *s, FILE *f);

#endif
