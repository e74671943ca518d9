/* SPDX-License-Identifier: MIT */
/* json-out.c -- what the JSON documents pmpeek writes have in common */
#include <config.h>

#include <errno.h>
#include <string.h>

#include "snapshot/json-out.h"

int
pm__json_put(json_t *obj, const char *key, json_t *value)
{
  return value ? json_object_set_new(obj, key, value) : -1;
}

json_t *
pm__json_str_or_null(const char *s)
{
  return s ? json_string(s) : json_null();
}

int
pm__json_head(json_t *root, const struct pm_snapshot *s, const char *format,
              int version)
{
  json_t *source = json_object();
  char when[PM_TIME_TEXT_MAX];
  int bad = !source;

  if (bad)
    return -1;
  pm_time_rfc3339(&s->taken_at, when, sizeof(when));
  bad |= pm__json_put(source, "kind", json_string(s->source_kind));
  if (s->core && strcmp(s->source_kind, "core") == 0)
    bad |= pm__json_put(source, "core", json_string(s->core));
  bad |= pm__json_put(source, "pid", json_integer(s->pid));
  bad |= pm__json_put(source, "executable",
                      pm__json_str_or_null(s->executable));
  bad |= pm__json_put(source, "python_version",
                      pm__json_str_or_null(s->python_version));
  bad |= pm__json_put(root, "format", json_string(format));
  bad |= pm__json_put(root, "format_version", json_integer(version));
  bad |= pm__json_put(root, "source", source);
  bad |= pm__json_put(root, "taken_at", json_string(when));
  bad |= pm__json_put(root, "pause_seconds",
                      s->pause_seconds < 0 ? json_null()
                                           : json_real(s->pause_seconds));
  return bad ? -1 : 0;
}

int
pm__json_dump(const json_t *root, FILE *f)
{
  if (json_dumpf(root, f, JSON_INDENT(2) | JSON_REAL_PRECISION(6)) != 0
      || fputc('\n', f) == EOF)
    return -EIO;
  return 0;
}
