/* SPDX-License-Identifier: MIT */
/* mallocstats.h -- print pymalloc's figures as sys._debugmallocstats() does */
#ifndef PM_CLI_MALLOCSTATS_H
#define PM_CLI_MALLOCSTATS_H

#include <stdio.h>

#include "pmpeek/allocator.h"

/*
 * Prints, for each allocator state of a, a heading line and then the lines
 * of CPython's pymalloc statistics (from "Small block threshold" to
 * "Total"), figures right-aligned with thousands commas as its printone()
 * writes them and "unknown" for a figure pmpeek could not recover; then
 * the memory section.  Starts with an empty line, to follow a table.
 */
void pm_cli_print_allocator(FILE *f, const struct pm_allocator *a);

#endif
