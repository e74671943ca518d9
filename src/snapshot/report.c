/* SPDX-License-Identifier: MIT */
/* report.c -- a self-contained HTML page: growth chart and diff table */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json-out.h"
#include "pmpeek/snapshot.h"
#include "utf8.h"

#define CHART_W 900
#define CHART_H 360
#define MARGIN_L 90
#define MARGIN_B 40
#define MARGIN_T 20
#define MARGIN_R 20

static const char *const palette[] = {
  "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
  "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
};

/*
 * s as HTML text; a control character, which HTML may not hold, and a
 * byte that is not UTF-8 (a snapshot file is anybody's) as "\\xNN".
 */
static void
html_text(FILE *f, const char *s)
{
  pm__utf8_write_shown(f, s, 1);
}

static uint64_t
size_of(const struct pm_snapshot *s, const char *kind)
{
  for (size_t i = 0; i < s->census->nkinds; i++)
    if (strcmp(s->census->kinds[i].name, kind) == 0)
      return s->census->kinds[i].size;
  return 0;
}

static double
seconds_between(const struct pm_snapshot *a, const struct pm_snapshot *b)
{
  return (double)(b->taken_at.tv_sec - a->taken_at.tv_sec)
         + (double)(b->taken_at.tv_nsec - a->taken_at.tv_nsec) / 1e9;
}

static void
chart(FILE *f, const struct pm_snapshot *const *snaps, size_t n,
      const char *const *kinds, size_t nk)
{
  double span = n > 1 ? seconds_between(snaps[0], snaps[n - 1]) : 0;
  double pw = CHART_W - MARGIN_L - MARGIN_R, ph = CHART_H - MARGIN_T - MARGIN_B;
  uint64_t ymax = 1;

  for (size_t k = 0; k < nk; k++)
    for (size_t i = 0; i < n; i++) {
      uint64_t v = size_of(snaps[i], kinds[k]);
      if (v > ymax)
        ymax = v;
    }
  fprintf(f,
          "<svg id=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" "
          "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" "
          "aria-label=\"size of the top kinds over time\">\n"
          "<rect x=\"%d\" y=\"%d\" width=\"%.0f\" height=\"%.0f\" "
          "fill=\"#fafafa\" stroke=\"#ccc\"/>\n",
          CHART_W, CHART_H, CHART_W, CHART_H, MARGIN_L, MARGIN_T, pw, ph);
  for (int g = 0; g <= 4; g++) {
    double y = MARGIN_T + ph - ph * g / 4.0;
    fprintf(f,
            "<line x1=\"%d\" x2=\"%.0f\" y1=\"%.1f\" y2=\"%.1f\" "
            "stroke=\"#e0e0e0\"/><text x=\"%d\" y=\"%.1f\" font-size=\"11\" "
            "text-anchor=\"end\">%llu</text>\n",
            MARGIN_L, MARGIN_L + pw, y, y, MARGIN_L - 6, y + 4,
            (unsigned long long)(ymax * (uint64_t)g / 4));
  }
  fprintf(f,
          "<text x=\"%.0f\" y=\"%d\" font-size=\"12\" "
          "text-anchor=\"middle\">seconds since the first snapshot "
          "(0 to %.0f); bytes</text>\n",
          MARGIN_L + pw / 2, CHART_H - 8, span);
  for (size_t k = 0; k < nk; k++) {
    const char *colour = palette[k % (sizeof(palette) / sizeof(*palette))];
    fprintf(f,
            "<polyline class=\"series\" fill=\"none\" stroke=\"%s\" "
            "stroke-width=\"2\" points=\"",
            colour);
    for (size_t i = 0; i < n; i++) {
      double x = MARGIN_L
                 + (span > 0 ? pw * seconds_between(snaps[0], snaps[i]) / span
                             : (n > 1 ? pw * i / (n - 1) : pw / 2));
      double y = MARGIN_T + ph
                 - ph * (double)size_of(snaps[i], kinds[k]) / (double)ymax;
      fprintf(f, "%s%.1f,%.1f", i ? " " : "", x, y);
    }
    fputs("\"><title>", f);
    html_text(f, kinds[k]);
    fputs("</title></polyline>\n", f);
  }
  fputs("</svg>\n<ul class=\"legend\">\n", f);
  for (size_t k = 0; k < nk; k++) {
    fprintf(f, "<li><span style=\"background:%s\"></span>",
            palette[k % (sizeof(palette) / sizeof(*palette))]);
    html_text(f, kinds[k]);
    fputs("</li>\n", f);
  }
  fputs("</ul>\n", f);
}

static void
diff_table(FILE *f, const struct pm_diff *d)
{
  fputs("<table id=\"diff\">\n<thead><tr><th>Kind</th><th>Count "
        "first</th><th>Count last</th><th>&Delta; count</th><th>Size "
        "first</th><th>Size last</th><th>&Delta; size</th></tr></thead>\n"
        "<tbody>\n",
        f);
  for (size_t i = 0; i < d->nrows; i++) {
    const struct pm_diff_row *r = &d->rows[i];
    fputs("<tr><td>", f);
    html_text(f, r->kind);
    fprintf(f,
            "</td><td>%llu</td><td>%llu</td><td>%+lld</td><td>%llu</td>"
            "<td>%llu</td><td>%+lld</td></tr>\n",
            (unsigned long long)r->count_old, (unsigned long long)r->count_new,
            (long long)(r->count_new - r->count_old),
            (unsigned long long)r->size_old, (unsigned long long)r->size_new,
            (long long)(r->size_new - r->size_old));
  }
  fputs("</tbody>\n</table>\n", f);
}

int
pm_report_write_html(const struct pm_snapshot *const *snaps, size_t n,
                     size_t top, FILE *f)
{
  const struct pm_snapshot *last;
  const char **kinds;
  struct pm_diff d;
  char first_at[PM_TIME_TEXT_MAX], last_at[PM_TIME_TEXT_MAX];
  size_t nk;
  int err;

  if (n == 0)
    return -EINVAL;
  last = snaps[n - 1];
  nk = top == 0 || top > last->census->nkinds ? last->census->nkinds : top;
  kinds = malloc((nk + 1) * sizeof(*kinds));
  if (!kinds)
    return -ENOMEM;
  /* The top kinds are the largest in the last snapshot, as it is sorted. */
  for (size_t k = 0; k < nk; k++)
    kinds[k] = last->census->kinds[k].name;
  if ((err = pm_diff_compute(&d, snaps[0], last))) {
    free(kinds);
    return err;
  }
  errno = 0; /* see pm__write_status() */
  pm_time_rfc3339(&snaps[0]->taken_at, first_at, sizeof(first_at));
  pm_time_rfc3339(&last->taken_at, last_at, sizeof(last_at));
  fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta "
        "charset=\"utf-8\">\n<title>pmpeek report</title>\n<style>\n"
        "body{font-family:sans-serif;margin:2em;color:#222}\n"
        "table{border-collapse:collapse}td,th{padding:2px 8px;border-bottom:"
        "1px solid #ddd}td:not(:first-child){text-align:right;"
        "font-variant-numeric:tabular-nums}\n"
        ".legend{list-style:none;padding:0}.legend li{display:inline-block;"
        "margin-right:1.5em}.legend span{display:inline-block;width:12px;"
        "height:12px;margin-right:4px}\n</style>\n</head>\n<body>\n",
        f);
  fprintf(f, "<h1>pmpeek report</h1>\n<p>%zu snapshots of process %ld (", n,
          last->pid);
  html_text(f, last->executable ? last->executable : "?");
  fprintf(f,
          ", Python %s) from %s to %s.</p>\n<h2>Size of the top %zu kinds"
          "</h2>\n",
          last->python_version ? last->python_version : "?", first_at, last_at,
          nk);
  chart(f, snaps, n, kinds, nk);
  fprintf(f,
          "<h2>Changes from the first snapshot to the last</h2>\n"
          "<p>Objects: %llu &rarr; %llu; bytes: %llu &rarr; %llu.</p>\n",
          (unsigned long long)snaps[0]->census->count,
          (unsigned long long)last->census->count,
          (unsigned long long)snaps[0]->census->size,
          (unsigned long long)last->census->size);
  diff_table(f, &d);
  fputs("</body>\n</html>\n", f);
  pm_diff_release(&d);
  free(kinds);
  return pm__write_status(f);
}
