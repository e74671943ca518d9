/* SPDX-License-Identifier: MIT */
/* progress.h -- one line of progress on stderr while a census walks */
#ifndef PM_CLI_PROGRESS_H
#define PM_CLI_PROGRESS_H

#include "pmpeek/census.h"

/*
 * State of the progress line.  It is shown only when stderr is a terminal
 * and a walk has run for a second (PMPEEK_PROGRESS_AFTER, for the tests,
 * sets another time); without escape codes when NO_COLOR is set or TERM is
 * dumb (then spaces clear it).
 */
struct pm_cli_progress {
  int enabled;  /* stderr is a terminal */
  int plain;    /* no escape codes */
  int shown;    /* the line is on the screen */
  int width;    /* characters of the line last written */
  double after; /* seconds of walk before the line shows */
};

/* Sets p up from the environment; allocates nothing. */
void pm_cli_progress_init(struct pm_cli_progress *p);

/*
 * A pm_census_progress_fn: arg is a struct pm_cli_progress.  Rewrites the
 * line in place with \r, and clears it when the walk is done.
 */
void pm_cli_progress_show(void *arg, const struct pm_census_progress *p);

#endif
