/* SPDX-License-Identifier: MIT */
/* load.c -- read a snapshot file back, validating every field */
#include <config.h>

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pmpeek/error.h"
#include "pmpeek/snapshot.h"

/* Snapshot files are small; a bigger one is not ours. */
#define MAX_FILE_BYTES (256u << 20)

static char why_buf[256];

static int
fail(const char **why, const char *msg, const char *detail)
{
  if (why) {
    snprintf(why_buf, sizeof(why_buf), "%s%s%s", msg, detail ? ": " : "",
             detail ? detail : "");
    *why = why_buf;
  }
  return PM_EFORMAT;
}

/* Parses "YYYY-MM-DDTHH:MM:SS[.fff]Z" as UTC. */
static int
parse_time(const char *s, struct timespec *out)
{
  struct tm tm = { 0 };
  int n = 0;
  long frac = 0, scale = 1000000000;

  if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
             &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n)
      != 6)
    return -1;
  s += n;
  if (*s == '.') {
    for (s++; *s >= '0' && *s <= '9'; s++)
      if (scale > 1)
        scale /= 10, frac += (*s - '0') * scale;
  }
  if (strcmp(s, "Z") != 0 || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1
      || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
    return -1;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  out->tv_sec = timegm(&tm);
  out->tv_nsec = frac;
  return 0;
}

static int
get_u64(json_t *obj, const char *key, uint64_t *out)
{
  json_t *v = json_object_get(obj, key);
  if (!json_is_integer(v) || json_integer_value(v) < 0)
    return -1;
  *out = (uint64_t)json_integer_value(v);
  return 0;
}

/* An optional count: absent is 0, present must be a valid count. */
static int
get_opt_u64(json_t *obj, const char *key, uint64_t *out)
{
  *out = 0;
  return json_object_get(obj, key) ? get_u64(obj, key, out) : 0;
}

static const char *
get_str(json_t *obj, const char *key)
{
  json_t *v = json_object_get(obj, key);
  return json_is_string(v) ? json_string_value(v) : NULL;
}

static int
load_kinds(struct pm_snapshot_doc *d, json_t *kinds, const char **why)
{
  size_t n = json_array_size(kinds), i;
  json_t *k;
  struct pm_census *c = &d->census;

  c->kinds = calloc(n ? n : 1, sizeof(*c->kinds));
  if (!c->kinds)
    return -ENOMEM;
  json_array_foreach(kinds, i, k)
  {
    struct pm_kind *row = &c->kinds[i];
    const char *name = get_str(k, "kind");
    if (!name || get_u64(k, "count", &row->count)
        || get_u64(k, "size", &row->size)
        || get_opt_u64(k, "unreachable_count", &row->unreachable_count)
        || get_opt_u64(k, "unreachable_size", &row->unreachable_size)
        || row->unreachable_count > row->count
        || row->unreachable_size > row->size)
      return fail(why, "malformed entry in 'kinds'", NULL);
    row->name = strdup(name);
    if (!row->name)
      return -ENOMEM;
    c->nkinds = i + 1;
  }
  return 0;
}

int
pm_snapshot_load(const char *path, struct pm_snapshot_doc **out,
                 const char **why)
{
  struct pm_snapshot_doc *d;
  json_error_t jerr;
  json_t *root, *source, *objects, *kinds, *v;
  const char *s;
  FILE *f;
  long size;
  int err;

  f = fopen(path, "re");
  if (!f)
    return -errno;
  if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) > (long)MAX_FILE_BYTES) {
    fclose(f);
    return fail(why, "file too large for a snapshot", NULL);
  }
  rewind(f);
  root = json_loadf(f, JSON_REJECT_DUPLICATES, &jerr);
  fclose(f);
  if (!root) {
    char detail[200];
    snprintf(detail, sizeof(detail), "line %d: %s", jerr.line, jerr.text);
    return fail(why, "not valid JSON", detail);
  }
  d = calloc(1, sizeof(*d));
  if (!d) {
    json_decref(root);
    return -ENOMEM;
  }
  d->json = root;
  pm_census_init(&d->census);
  d->snap.census = &d->census;
  err = PM_EFORMAT;
  s = get_str(root, "format");
  if (!s || strcmp(s, PM_SNAPSHOT_FORMAT) != 0) {
    err = fail(why, "not a pmpeek snapshot (format is not 'pmpeek-snapshot')",
               NULL);
    goto bad;
  }
  v = json_object_get(root, "format_version");
  if (!json_is_integer(v)
      || json_integer_value(v) != PM_SNAPSHOT_FORMAT_VERSION) {
    err = fail(why, "unsupported snapshot format_version", NULL);
    goto bad;
  }
  source = json_object_get(root, "source");
  objects = json_object_get(root, "objects");
  kinds = json_object_get(root, "kinds");
  s = get_str(root, "taken_at");
  if (!json_is_object(source) || !json_is_object(objects)
      || !json_is_array(kinds) || !s || parse_time(s, &d->snap.taken_at) != 0
      || get_u64(objects, "count", &d->census.count)
      || get_u64(objects, "size", &d->census.size)
      || get_opt_u64(objects, "unreachable_count", &d->census.unreachable_count)
      || get_opt_u64(objects, "unreachable_size", &d->census.unreachable_size)
      || !(d->snap.source_kind = get_str(source, "kind"))) {
    err = fail(why,
               "missing or malformed field (taken_at, source, objects "
               "or kinds)",
               NULL);
    goto bad;
  }
  v = json_object_get(source, "pid");
  d->snap.pid = json_is_integer(v) ? (long)json_integer_value(v) : 0;
  d->snap.executable = get_str(source, "executable");
  d->snap.python_version = get_str(source, "python_version");
  d->snap.scope = get_str(root, "scope");
  v = json_object_get(root, "pause_seconds");
  d->snap.pause_seconds = json_is_number(v) ? json_number_value(v) : -1.0;
  if ((err = load_kinds(d, kinds, why)))
    goto bad;
  *out = d;
  return 0;

bad:
  pm_snapshot_doc_free(d);
  return err;
}

void
pm_snapshot_doc_free(struct pm_snapshot_doc *d)
{
  if (!d)
    return;
  pm_census_release(&d->census);
  json_decref(d->json);
  free(d);
}
