/* SPDX-License-Identifier: MIT */
/* json-out.h -- what the documents pmpeek writes have in common */
#ifndef PM_JSON_OUT_H
#define PM_JSON_OUT_H

#include <jansson.h>
#include <stdio.h>

#include "pmpeek/snapshot.h"

/*
 * Adds value to obj under key, taking the reference.  A NULL value (a
 * jansson constructor out of memory) fails with -1, so that a document is
 * built as a chain of `bad |= pm__json_put(...)` and checked once.
 */
int pm__json_put(json_t *obj, const char *key, json_t *value);

/*
 * A JSON string of s, or null when s is NULL.  Text that is not UTF-8
 * (names and paths from the target or the file system, which JSON cannot
 * hold as they are) has its stray bytes written as "\xNN"
 * (pm__utf8_clean()).  NULL when out of memory.
 */
json_t *pm__json_text(const char *s);

/*
 * Adds the members every document about one snapshot starts with to root:
 * "format" and "format_version" as given, then "source" (kind, core, pid,
 * executable, python_version), "taken_at" and "pause_seconds" of s.
 * Returns 0, or -1 when out of memory (root may then hold part of them).
 */
int pm__json_head(json_t *root, const struct pm_snapshot *s, const char *format,
                  int version);

/*
 * 0 when f took all that was written to it, else the failed write's
 * -errno: the caller sets errno to 0 before its writes, so that a flag
 * set by a failure before them reads as -EIO.
 */
int pm__write_status(FILE *f);

/*
 * Writes root to f, indented, with a newline; root is left to the caller.
 * precision: the significant digits of reals (0: jansson's 17, which
 * read back as the same double).  Returns 0, or
 * the write's -errno (-EIO when it left none).
 */
int pm__json_dump(const json_t *root, FILE *f, int precision);

#endif
