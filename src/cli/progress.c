/* SPDX-License-Identifier: MIT */
/* progress.c -- one line of progress on stderr while a census walks */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/progress.h"

/* A walk shorter than this shows nothing. */
#define PROGRESS_AFTER_SECONDS 1.0

void
pm_cli_progress_init(struct pm_cli_progress *p)
{
  const char *nc = getenv("NO_COLOR");
  const char *term = getenv("TERM");

  /* PMPEEK_PROGRESS_AFTER=SECONDS: the tests' walks are short. */
  const char *after = getenv("PMPEEK_PROGRESS_AFTER");
  char *end = NULL;
  double v = after && *after ? strtod(after, &end) : -1;

  memset(p, 0, sizeof(*p));
  p->after = end && !*end && v >= 0 ? v : PROGRESS_AFTER_SECONDS;
  p->enabled = isatty(STDERR_FILENO);
  p->plain = (nc && *nc) || !term || strcmp(term, "dumb") == 0;
}

static void
clear(struct pm_cli_progress *p)
{
  if (!p->shown)
    return;
  /* Without escape codes, spaces over the old text. */
  if (p->plain)
    fprintf(stderr, "\r%*s\r", p->width, "");
  else
    fputs("\r\033[K", stderr);
  fflush(stderr);
  p->shown = 0;
  p->width = 0;
}

void
pm_cli_progress_show(void *arg, const struct pm_census_progress *c)
{
  struct pm_cli_progress *p = arg;
  double rate;
  int n;

  if (!p->enabled)
    return;
  if (c->done) {
    clear(p);
    return;
  }
  if (c->seconds < p->after)
    return;
  rate = c->seconds > 0 ? (double)c->objects / c->seconds : 0;
  n = fprintf(stderr,
              "\rpmpeek: %s: %llu objects, %.1f MiB read, "
              "%.0fk objects/s",
              c->phase, (unsigned long long)c->objects,
              (double)c->bytes_read / (1 << 20), rate / 1000);
  /* The new line may be shorter than the one it overwrites. */
  if (n > 0 && p->plain && n - 1 < p->width)
    fprintf(stderr, "%*s", p->width - (n - 1), "");
  else if (!p->plain)
    fputs("\033[K", stderr);
  if (n > 0 && n - 1 > p->width)
    p->width = n - 1;
  fflush(stderr);
  p->shown = 1;
}
