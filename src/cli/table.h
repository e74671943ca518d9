/* SPDX-License-Identifier: MIT */
/* table.h -- the heapy-style partition table */
#ifndef PM_CLI_TABLE_H
#define PM_CLI_TABLE_H

#include <stdio.h>

#include "pmpeek/census.h"

/*
 * Prints c as heapy prints a partition: a header line with the totals, then
 * one row per kind in c's order (at most top rows; all when top is 0), then
 * a line saying how many rows were left out.  bold: emphasise the header.
 */
void pm_cli_print_table(FILE *f, const struct pm_census *c, size_t top,
                        int bold);

/*
 * The same, and with unreachable non-zero a column of each kind's
 * unreachable objects before the kind, and a line with their total.
 */
void pm_cli_print_table_ex(FILE *f, const struct pm_census *c, size_t top,
                           int bold, int unreachable);

#endif
