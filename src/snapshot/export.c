/* SPDX-License-Identifier: MIT */
/* export.c -- snapshots as time-series rows and OpenMetrics text */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "pmpeek/snapshot.h"

/* Writes s with tabs and newlines made spaces: one TSV field. */
static void
tsv_field(FILE *f, const char *s)
{
  for (; *s; s++)
    fputc(*s == '\t' || *s == '\n' || *s == '\r' ? ' ' : *s, f);
}

int
pm_snapshot_write_series(const struct pm_snapshot *s, size_t top, FILE *f)
{
  const struct pm_census *c = s->census;
  size_t rows = top == 0 || top > c->nkinds ? c->nkinds : top;
  char when[PM_TIME_TEXT_MAX];

  pm_time_rfc3339(&s->taken_at, when, sizeof(when));
  for (size_t i = 0; i < rows; i++) {
    fprintf(f, "%s\t", when);
    tsv_field(f, c->kinds[i].name);
    fprintf(f, "\t%llu\t%llu\n", (unsigned long long)c->kinds[i].count,
            (unsigned long long)c->kinds[i].size);
  }
  return ferror(f) ? -EIO : 0;
}

/* A label value as OpenMetrics escapes it: \\, \" and \n. */
static void
label_value(FILE *f, const char *s)
{
  fputc('"', f);
  for (; s && *s; s++) {
    if (*s == '\\' || *s == '"')
      fputc('\\', f), fputc(*s, f);
    else if (*s == '\n')
      fputs("\\n", f);
    else
      fputc(*s, f);
  }
  fputc('"', f);
}

static void
labels(FILE *f, const struct pm_snapshot *s, const char *kind)
{
  fprintf(f, "{pid=\"%ld\",executable=", s->pid);
  label_value(f, s->executable ? s->executable : "");
  if (kind) {
    fputs(",kind=", f);
    label_value(f, kind);
  }
  fputc('}', f);
}

int
pm_snapshot_write_openmetrics(const struct pm_snapshot *s, FILE *f)
{
  const struct pm_census *c = s->census;

  fputs("# TYPE pmpeek_objects gauge\n"
        "# HELP pmpeek_objects Objects of a kind in the target process.\n",
        f);
  for (size_t i = 0; i < c->nkinds; i++) {
    fputs("pmpeek_objects", f);
    labels(f, s, c->kinds[i].name);
    fprintf(f, " %llu\n", (unsigned long long)c->kinds[i].count);
  }
  fputs("# TYPE pmpeek_object_bytes gauge\n"
        "# UNIT pmpeek_object_bytes bytes\n"
        "# HELP pmpeek_object_bytes Bytes in objects of a kind, as "
        "sys.getsizeof() counts them.\n",
        f);
  for (size_t i = 0; i < c->nkinds; i++) {
    fputs("pmpeek_object_bytes", f);
    labels(f, s, c->kinds[i].name);
    fprintf(f, " %llu\n", (unsigned long long)c->kinds[i].size);
  }
  fputs("# TYPE pmpeek_census_objects gauge\n"
        "# HELP pmpeek_census_objects Objects in the whole census.\n"
        "pmpeek_census_objects",
        f);
  labels(f, s, NULL);
  fprintf(f, " %llu\n", (unsigned long long)c->count);
  fputs("# TYPE pmpeek_census_bytes gauge\n"
        "# UNIT pmpeek_census_bytes bytes\n"
        "# HELP pmpeek_census_bytes Bytes in the whole census.\n"
        "pmpeek_census_bytes",
        f);
  labels(f, s, NULL);
  fprintf(f, " %llu\n", (unsigned long long)c->size);
  if (s->pause_seconds >= 0) {
    fputs("# TYPE pmpeek_pause_seconds gauge\n"
          "# UNIT pmpeek_pause_seconds seconds\n"
          "# HELP pmpeek_pause_seconds How long the target was stopped.\n"
          "pmpeek_pause_seconds",
          f);
    labels(f, s, NULL);
    fprintf(f, " %.6f\n", s->pause_seconds);
  }
  fputs("# EOF\n", f);
  return ferror(f) ? -EIO : 0;
}
