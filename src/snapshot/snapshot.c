/* SPDX-License-Identifier: MIT */
/* snapshot.c -- write a snapshot as JSON with jansson */
#include <config.h>

#include <errno.h>
#include <jansson.h>
#include <stdio.h>

#include "pmpeek/snapshot.h"
#include "snapshot/allocator-json.h"
#include "snapshot/json-out.h"

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
  json_t *root = json_object();
  json_t *objects = json_object(), *kinds = json_array();
  const struct pm_census *c = s->census;
  int bad = 0;

  if (!root || !objects || !kinds) {
    json_decref(root), json_decref(objects), json_decref(kinds);
    return NULL;
  }
  bad |= pm__json_put(objects, "count", json_integer((json_int_t)c->count));
  bad |= pm__json_put(objects, "size", json_integer((json_int_t)c->size));
  bad |= pm__json_put(objects, "unreachable_count",
                      json_integer((json_int_t)c->unreachable_count));
  bad |= pm__json_put(objects, "unreachable_size",
                      json_integer((json_int_t)c->unreachable_size));
  for (size_t i = 0; i < c->nkinds && !bad; i++) {
    json_t *k = json_object();
    bad |= !k;
    bad |= pm__json_put(k, "kind", pm__json_text(c->kinds[i].name));
    bad |= pm__json_put(k, "count",
                        json_integer((json_int_t)c->kinds[i].count));
    bad |= pm__json_put(k, "size", json_integer((json_int_t)c->kinds[i].size));
    bad |= pm__json_put(
        k, "unreachable_count",
        json_integer((json_int_t)c->kinds[i].unreachable_count));
    bad |= pm__json_put(k, "unreachable_size",
                        json_integer((json_int_t)c->kinds[i].unreachable_size));
    bad |= json_array_append_new(kinds, k);
  }
  bad |= pm__json_head(root, s, PM_SNAPSHOT_FORMAT, PM_SNAPSHOT_FORMAT_VERSION);
  bad |= pm__json_put(root, "scope", json_string(s->scope));
  bad |= pm__json_put(root, "partial", json_boolean(pm_census_partial(c)));
  bad |= pm__json_put(root, "skipped_objects",
                      json_integer((json_int_t)c->skipped));
  bad |= pm__json_put(root, "objects", objects);
  bad |= pm__json_put(root, "kinds", kinds);
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
  err = pm__json_dump(root, f, 6);
  json_decref(root);
  return err;
}
