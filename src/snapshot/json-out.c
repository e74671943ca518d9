/* SPDX-License-Identifier: MIT */
/* json-out.c -- what the documents pmpeek writes have in common */
#include <config.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot/json-out.h"
#include "utf8.h"

int
pm__json_put(json_t *obj, const char *key, json_t *value)
{
  return value ? json_object_set_new(obj, key, value) : -1;
}

json_t *
pm__json_text(const char *s)
{
  json_t *v;
  char *clean;
  size_t n;

  if (!s)
    return json_null();
  if ((v = json_string(s)))
    return v;
  /* Not UTF-8 (or out of memory: then this fails too). */
  n = strlen(s);
  if (n > (SIZE_MAX - 1) / 4 || !(clean = malloc(4 * n + 1)))
    return NULL;
  pm__utf8_clean(clean, 4 * n + 1, s);
  v = json_string(clean);
  free(clean);
  return v;
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
    bad |= pm__json_put(source, "core", pm__json_text(s->core));
  bad |= pm__json_put(source, "pid", json_integer(s->pid));
  bad |= pm__json_put(source, "executable", pm__json_text(s->executable));
  bad |= pm__json_put(source, "python_version",
                      pm__json_text(s->python_version));
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
pm__write_status(FILE *f)
{
  /* The write's own reason (a full disk, say) when stdio left one. */
  return ferror(f) ? errno > 0 ? -errno : -EIO : 0;
}

int
pm__json_dump(const json_t *root, FILE *f, int precision)
{
  errno = 0;
  if (json_dumpf(root, f, JSON_INDENT(2) | JSON_REAL_PRECISION(precision)) != 0)
    return errno > 0 ? -errno : -EIO;
  fputc('\n', f);
  return pm__write_status(f);
}
