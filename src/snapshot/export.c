/* SPDX-License-Identifier: MIT */
/* export.c -- snapshots as time-series rows and OpenMetrics text */
#include <config.h>

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "pmpeek/allocator.h"
#include "pmpeek/snapshot.h"
#include "snapshot/json-out.h"
#include "utf8.h"

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
  errno = 0;
  for (size_t i = 0; i < rows; i++) {
    fprintf(f, "%s\t", when);
    tsv_field(f, c->kinds[i].name);
    fprintf(f, "\t%llu\t%llu\n", (unsigned long long)c->kinds[i].count,
            (unsigned long long)c->kinds[i].size);
  }
  return pm__write_status(f);
}

/*
 * A label value as OpenMetrics escapes it: \\, \" and \n; a byte that is
 * not UTF-8 (an executable's path may hold one) as the text \xNN, as
 * pm__utf8_clean() writes it, its backslash escaped.
 */
static void
label_value(FILE *f, const char *s)
{
  size_t n;

  fputc('"', f);
  for (; s && *s; s++) {
    if (*s == '\\' || *s == '"')
      fputc('\\', f), fputc(*s, f);
    else if (*s == '\n')
      fputs("\\n", f);
    else if ((unsigned char)*s < 0x80)
      fputc(*s, f);
    else if ((n = pm__utf8_char((const unsigned char *)s)))
      fwrite(s, 1, n, f), s += n - 1;
    else
      fprintf(f, "\\\\x%02x", (unsigned char)*s);
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

/* The metadata lines of a gauge; unit may be NULL. */
static void
gauge_head(FILE *f, const char *name, const char *unit, const char *help)
{
  fprintf(f, "# TYPE %s gauge\n", name);
  if (unit)
    fprintf(f, "# UNIT %s %s\n", name, unit);
  fprintf(f, "# HELP %s %s\n", name, help);
}

/* One sample of a gauge, labelled with s and kind (may be NULL). */
static void
sample(FILE *f, const struct pm_snapshot *s, const char *name, const char *kind,
       uint64_t v)
{
  fputs(name, f);
  labels(f, s, kind);
  fprintf(f, " %llu\n", (unsigned long long)v);
}

/* One gauge per allocator state (interpreter), labelled with its id. */
static void
state_gauge(FILE *f, const struct pm_snapshot *s, const char *name,
            const char *unit, const char *help, const struct pm_allocator *a,
            size_t field)
{
  int any = 0;

  for (size_t i = 0; i < a->nstates; i++) {
    int64_t v;
    memcpy(&v, (const char *)&a->states[i] + field, sizeof(v));
    if (v < 0)
      continue; /* unknown: left out rather than guessed */
    if (!any)
      gauge_head(f, name, unit, help);
    any = 1;
    fprintf(f, "%s{pid=\"%ld\",executable=", name, s->pid);
    label_value(f, s->executable ? s->executable : "");
    fprintf(
        f, ",interpreter=\"%lld\"} %lld\n",
        (long long)(a->states[i].interp_id < 0 ? 0 : a->states[i].interp_id),
        (long long)v);
  }
}

static void
allocator_metrics(FILE *f, const struct pm_snapshot *s,
                  const struct pm_allocator *a)
{
#define GAUGE(name, unit, help, member)                                        \
  state_gauge(f, s, name, unit, help, a,                                       \
              offsetof(struct pm_obmalloc_stats, member))
  GAUGE("pmpeek_pymalloc_arenas", NULL, "pymalloc arenas allocated now.",
        arenas_allocated_current);
  GAUGE("pmpeek_pymalloc_arenas_highwater", NULL,
        "Most pymalloc arenas ever allocated at once.", arenas_highwater);
  GAUGE("pmpeek_pymalloc_allocated_blocks_bytes", "bytes",
        "Bytes in allocated pymalloc blocks.", bytes_in_allocated_blocks);
  GAUGE("pmpeek_pymalloc_available_blocks_bytes", "bytes",
        "Bytes in free blocks of used pymalloc pools.",
        bytes_in_available_blocks);
  GAUGE("pmpeek_pymalloc_unused_pools_bytes", "bytes",
        "Bytes in unused pymalloc pools.", bytes_in_unused_pools);
  GAUGE("pmpeek_pymalloc_arenas_bytes", "bytes",
        "Bytes in pymalloc arenas (the sum of the above and the losses).",
        total);
#undef GAUGE
}

int
pm_snapshot_write_openmetrics(const struct pm_snapshot *s, FILE *f)
{
  const struct pm_census *c = s->census;

  errno = 0;
  gauge_head(f, "pmpeek_objects", NULL,
             "Objects of a kind in the target process.");
  for (size_t i = 0; i < c->nkinds; i++)
    sample(f, s, "pmpeek_objects", c->kinds[i].name, c->kinds[i].count);
  gauge_head(f, "pmpeek_object_bytes", "bytes",
             "Bytes in objects of a kind, as sys.getsizeof() counts them.");
  for (size_t i = 0; i < c->nkinds; i++)
    sample(f, s, "pmpeek_object_bytes", c->kinds[i].name, c->kinds[i].size);
  gauge_head(f, "pmpeek_census_objects", NULL, "Objects in the whole census.");
  sample(f, s, "pmpeek_census_objects", NULL, c->count);
  gauge_head(f, "pmpeek_census_bytes", "bytes", "Bytes in the whole census.");
  sample(f, s, "pmpeek_census_bytes", NULL, c->size);
  if (s->pause_seconds >= 0) {
    gauge_head(f, "pmpeek_pause_seconds", "seconds",
               "How long the target was stopped.");
    fputs("pmpeek_pause_seconds", f);
    labels(f, s, NULL);
    fprintf(f, " %.6f\n", s->pause_seconds);
  }
  if (s->allocator)
    allocator_metrics(f, s, s->allocator);
  fputs("# EOF\n", f);
  return pm__write_status(f);
}
