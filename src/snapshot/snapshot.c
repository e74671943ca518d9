/* SPDX-License-Identifier: MIT */
/* snapshot.c -- write a snapshot as JSON with jansson */
#include <config.h>

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "pmpeek/snapshot.h"
#include "snapshot/allocator-json.h"

/* Adds value to obj under key, taking the reference; NULL values fail. */
static int
put(json_t *obj, const char *key, json_t *value)
{
  return value ? json_object_set_new(obj, key, value) : -1;
}

static json_t *
str_or_null(const char *s)
{
  return s ? json_string(s) : json_null();
}

void
pm_time_rfc3339(const struct timespec *ts, char *buf, size_t len)
{
  struct tm tm;
  char sec[24];
  long ms = ts->tv_nsec / 1000000;

  gmtime_r(&ts->tv_sec, &tm);
  strftime(sec, sizeof(sec), "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf, len, "%s.%03ldZ", sec, ms < 0 ? 0 : ms > 999 ? 999 : ms);
}

static json_t *
snapshot_json(const struct pm_snapshot *s)
{
  json_t *root = json_object(), *source = json_object();
  json_t *objects = json_object(), *kinds = json_array();
  const struct pm_census *c = s->census;
  char when[PM_TIME_TEXT_MAX];
  int bad = 0;

  if (!root || !source || !objects || !kinds) {
    json_decref(root), json_decref(source), json_decref(objects);
    json_decref(kinds);
    return NULL;
  }
  pm_time_rfc3339(&s->taken_at, when, sizeof(when));

  bad |= put(source, "kind", json_string(s->source_kind));
  if (s->core && strcmp(s->source_kind, "core") == 0)
    bad |= put(source, "core", json_string(s->core));
  bad |= put(source, "pid", json_integer(s->pid));
  bad |= put(source, "executable", str_or_null(s->executable));
  bad |= put(source, "python_version", str_or_null(s->python_version));
  bad |= put(objects, "count", json_integer((json_int_t)c->count));
  bad |= put(objects, "size", json_integer((json_int_t)c->size));
  bad |= put(objects, "unreachable_count",
             json_integer((json_int_t)c->unreachable_count));
  bad |= put(objects, "unreachable_size",
             json_integer((json_int_t)c->unreachable_size));
  for (size_t i = 0; i < c->nkinds && !bad; i++) {
    json_t *k = json_object();
    bad |= !k;
    bad |= put(k, "kind", json_string(c->kinds[i].name));
    bad |= put(k, "count", json_integer((json_int_t)c->kinds[i].count));
    bad |= put(k, "size", json_integer((json_int_t)c->kinds[i].size));
    bad |= put(k, "unreachable_count",
               json_integer((json_int_t)c->kinds[i].unreachable_count));
    bad |= put(k, "unreachable_size",
               json_integer((json_int_t)c->kinds[i].unreachable_size));
    bad |= json_array_append_new(kinds, k);
  }
  bad |= put(root, "format", json_string(PM_SNAPSHOT_FORMAT));
  bad |= put(root, "format_version", json_integer(PM_SNAPSHOT_FORMAT_VERSION));
  bad |= put(root, "source", source);
  bad |= put(root, "taken_at", json_string(when));
  bad |= put(root, "pause_seconds",
             s->pause_seconds < 0 ? json_null() : json_real(s->pause_seconds));
  bad |= put(root, "scope", json_string(s->scope));
  bad |= put(root, "partial", json_boolean(pm_census_partial(c)));
  bad |= put(root, "skipped_objects", json_integer((json_int_t)c->skipped));
  bad |= put(root, "objects", objects);
  bad |= put(root, "kinds", kinds);
  if (s->allocator && !bad)
    bad |= pm__allocator_json(root, s->allocator);
  if (bad) {
    json_decref(root);
    return NULL;
  }
  return root;
}

int
pm_snapshot_write_json(const struct pm_snapshot *s, FILE *f)
{
  json_t *root = snapshot_json(s);
  int err = 0;

  if (!root)
    return -ENOMEM;
  if (json_dumpf(root, f, JSON_INDENT(2) | JSON_REAL_PRECISION(6)) != 0 ||
      fputc('\n', f) == EOF)
    err = -EIO;
  json_decref(root);
  return err;
}
