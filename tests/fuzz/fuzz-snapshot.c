/* SPDX-License-Identifier: MIT */
/* fuzz-snapshot.c -- libFuzzer harness: snapshot files as pmpeek diff reads
 * them */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>

#include "fuzz-common.h"
#include "pmpeek/snapshot.h"

static FILE *sink;

/* Everything `pmpeek diff`, `report` and the periodic mode do with one. */
static void
use(const struct pm_snapshot *s)
{
  const struct pm_snapshot *both[2] = { s, s };
  struct pm_trend *trend = pm_trend_new(1);
  struct pm_suspect *sus = NULL;
  struct pm_diff d;
  size_t n = 0;

  if (pm_diff_compute(&d, s, s) == 0) {
    (void)pm_diff_seconds(&d);
    (void)pm_diff_write_json(&d, sink);
    pm_diff_release(&d);
  }
  (void)pm_snapshot_write_json(s, sink);
  (void)pm_snapshot_write_series(s, 5, sink);
  (void)pm_snapshot_write_openmetrics(s, sink);
  (void)pm_report_write_html(both, 2, 10, sink);
  if (trend && pm_trend_add(trend, s) == 0 && pm_trend_add(trend, s) == 0
      && pm_trend_suspects(trend, &sus, &n) == 0)
    free(sus);
  pm_trend_free(trend);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct pm_snapshot_doc *doc = NULL;
  const char *why = NULL;

  if (!sink && !(sink = fopen("/dev/null", "we")))
    abort();
  if (pm_snapshot_load(fuzz_file(data, size), &doc, &why) == 0) {
    use(&doc->snap);
    pm_snapshot_doc_free(doc);
  }
  fflush(sink);
  return 0;
}
