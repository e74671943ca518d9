/* SPDX-License-Identifier: MIT */
/* util.c -- helpers shared by pmpeek's commands */
#include <config.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "pmpeek/error.h"
#include "utf8.h"

size_t
pm_cli_text_width(const char *s)
{
  size_t w = 0;
  int shown;

  while (*s) {
    size_t n = pm__utf8_shown(s, &shown);
    w += shown ? 1 : 4 * n;
    s += n;
  }
  return w;
}

void
pm_cli_text(FILE *f, const char *s)
{
  pm__utf8_write_shown(f, s, 0);
}

void
pm_cli_text_pad(FILE *f, const char *s, size_t width)
{
  pm_cli_text(f, s);
  for (size_t w = pm_cli_text_width(s); w < width; w++)
    fputc(' ', f);
}

void
pm_cli_error(const char *fmt, ...)
{
  char buf[8192];
  va_list ap;
  int n;

  /* Names in a message may come from the target, or a file it wrote. */
  va_start(ap, fmt);
  n = vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  if (n < 0)
    buf[0] = '\0';
  else if ((size_t)n >= sizeof(buf))
    pm__utf8_trim(buf); /* cut: not in the middle of a character */
  fputs("pmpeek: ", stderr);
  pm_cli_text(stderr, buf);
  fputc('\n', stderr);
}

int
pm_cli_flush(FILE *f, int err)
{
  if (!err && fflush(f) != 0)
    err = errno > 0 ? -errno : -EIO;
  /* A write that failed before the flush left the flag, not its errno. */
  if (!err && ferror(f))
    err = -EIO;
  return err;
}

int
pm_cli_output_end(FILE *f, int err)
{
  if (!(err = pm_cli_flush(f, err)))
    return 0;
  /* A reader that has read enough (pmpeek PID | head) wants no word. */
  if (err != -EPIPE)
    pm_cli_error("cannot write the output: %s", pm_strerror(err));
  return PM_EXIT_OTHER;
}

int
pm_cli_parse_count(const char *s, size_t max, size_t *out)
{
  char *end;
  unsigned long long v;

  if (!*s || *s == '-' || *s == '+' || *s == ' ')
    return -1;
  errno = 0;
  v = strtoull(s, &end, 10);
  if (errno || *end || v == 0 || v > max)
    return -1;
  *out = (size_t)v;
  return 0;
}

int
pm_cli_bold(FILE *f)
{
  const char *nc = getenv("NO_COLOR");
  const char *term = getenv("TERM");

  return isatty(fileno(f)) && !(nc && *nc)
         && !(term && strcmp(term, "dumb") == 0);
}

int
pm_cli_load(const char *path, struct pm_snapshot_doc **out)
{
  const char *why = NULL;
  int err = pm_snapshot_load(path, out, &why);

  if (err == PM_EFORMAT) {
    pm_cli_error("cannot use snapshot '%s': %s", path, why ? why : "");
    return PM_EXIT_USAGE;
  }
  if (err) {
    pm_cli_error("cannot read snapshot '%s': %s", path, pm_strerror(err));
    return err == -ENOENT || err == -EACCES ? PM_EXIT_USAGE : PM_EXIT_OTHER;
  }
  return 0;
}
