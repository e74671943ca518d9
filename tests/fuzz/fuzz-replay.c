/* SPDX-License-Identifier: MIT */
/* fuzz-replay.c -- libFuzzer harness: the census over a mutated recording */
#include <config.h>

#include <stdlib.h>

#include "pmpeek/allocator.h"
#include "pmpeek/census.h"
#include "pmpeek/error.h"
#include "pmpeek/python.h"
#include "pmpeek/target.h"

/*
 * The input is a recording (pmpeek --record): its memory, mappings and
 * the answers of its ELF files are all the fuzzer's to change, as a
 * hostile target's memory is.  Runs what one `pmpeek --allocator` does.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct pm_target *t;
  struct pm_python *py;
  struct pm_census c;
  struct pm_allocator a;
  char why[256];

  if (pm_target_open_replay_mem(&t, data, size, why, sizeof(why)) != 0)
    return 0;
  if (pm_target_pause(t) == 0 && pm_python_open(&py, t, NULL) == 0) {
    pm_census_init(&c);
    if (pm_census_take(&c, py, PM_CENSUS_BY_KIND) == 0) {
      pm_census_sort(&c, PM_SORT_COUNT);
      pm_census_release(&c);
    }
    pm_allocator_init(&a);
    (void)pm_allocator_take(&a, py, 0);
    pm_allocator_release(&a);
    pm_python_free(py);
  }
  pm_target_resume(t);
  pm_target_free(t);
  return 0;
}
