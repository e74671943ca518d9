/* SPDX-License-Identifier: MIT */
/* paths-json.c -- thread stacks and reference paths as JSON */
#include <config.h>

#include <errno.h>
#include <jansson.h>
#include <stdio.h>

#include "pmpeek/error.h"
#include "pmpeek/snapshot.h"
#include "snapshot/json-out.h"

/* v, or NULL (v dropped) when building it failed. */
static json_t *
done(json_t *v, int bad)
{
  if (bad) {
    json_decref(v);
    return NULL;
  }
  return v;
}

/*
 * The n items at items, size bytes apart, each made JSON by one, as an
 * array; NULL when out of memory.
 */
static json_t *
array_of(const void *items, size_t n, size_t size,
         json_t *(*one)(const void *item))
{
  json_t *a = json_array();
  int bad = !a;

  for (size_t i = 0; i < n && !bad; i++)
    bad |= json_array_append_new(a, one((const char *)items + i * size));
  return done(a, bad);
}

/* Addresses as "0x..." text: what debuggers and /proc/PID/maps show. */
static json_t *
address(pm_addr_t a)
{
  char buf[24];

  snprintf(buf, sizeof(buf), "0x%llx", (unsigned long long)a);
  return json_string(buf);
}

static json_t *
int_or_null(int64_t v, int known)
{
  return known ? json_integer((json_int_t)v) : json_null();
}

static json_t *
frame_json(const void *item)
{
  const struct pm_py_frame *f = item;
  json_t *o = json_object();
  int bad = !o;

  bad |= pm__json_put(o, "function", pm__json_text(f->function));
  bad |= pm__json_put(o, "file", pm__json_text(f->file));
  bad |= pm__json_put(o, "line", int_or_null(f->line, f->line >= 0));
  bad |= pm__json_put(o, "first_line",
                      int_or_null(f->firstline, f->firstline >= 0));
  bad |= pm__json_put(o, "entry", json_boolean(f->entry));
  return done(o, bad);
}

static json_t *
native_frame_json(const void *item)
{
  const struct pm_native_frame *f = item;
  json_t *o = json_object(), *py;
  int bad = !o;

  bad |= pm__json_put(o, "address", address(f->ip));
  bad |= pm__json_put(o, "symbol", pm__json_text(f->symbol));
  bad |= pm__json_put(o, "offset",
                      int_or_null((int64_t)f->offset, f->symbol != NULL));
  bad |= pm__json_put(o, "file", pm__json_text(f->file));
  if (f->py_first >= 0) {
    /* Indices into the thread's "frames": the ones this call runs. */
    py = json_array();
    bad |= !py;
    for (size_t k = 0; k < f->py_count && !bad; k++)
      bad |= json_array_append_new(
          py, json_integer((json_int_t)(f->py_first + (int64_t)k)));
    bad |= pm__json_put(o, "python_frames", py);
  }
  return done(o, bad);
}

static json_t *
thread_json(const void *item)
{
  const struct pm_py_thread *th = item;
  json_t *o = json_object();
  int bad = !o;

  bad |= pm__json_put(o, "thread_id", json_integer((json_int_t)th->thread_id));
  bad |= pm__json_put(o, "native_id",
                      int_or_null((int64_t)th->native_id, th->native_id != 0));
  bad |= pm__json_put(o, "name", pm__json_text(th->name));
  bad |= pm__json_put(o, "interpreter",
                      json_integer((json_int_t)th->interp_id));
  bad |= pm__json_put(o, "holds_gil",
                      th->gil == PM_GIL_UNKNOWN
                          ? json_null()
                          : json_boolean(th->gil == PM_GIL_HELD));
  bad |= pm__json_put(o, "truncated", json_boolean(th->truncated));
  bad |= pm__json_put(
      o, "frames",
      array_of(th->frames, th->nframes, sizeof(*th->frames), frame_json));
  if (th->nnative)
    bad |= pm__json_put(o, "native",
                        array_of(th->native, th->nnative, sizeof(*th->native),
                                 native_frame_json));
  else if (th->native_err)
    bad |= pm__json_put(o, "native_error",
                        json_string(pm_strerror(th->native_err)));
  return done(o, bad);
}

static const char *const edge_names[] = {
  [PM_EDGE_ROOT] = "root",     [PM_EDGE_INDEX] = "index",
  [PM_EDGE_VALUE] = "value",   [PM_EDGE_KEY] = "key",
  [PM_EDGE_SET] = "set",       [PM_EDGE_ATTR] = "attribute",
  [PM_EDGE_MEMBER] = "member", [PM_EDGE_FIELD] = "field",
  [PM_EDGE_DICT] = "dict",     [PM_EDGE_CELL] = "cell",
  [PM_EDGE_LOCAL] = "local",   [PM_EDGE_STACK] = "stack",
  [PM_EDGE_CLASS] = "class",
};

static const char *const root_names[] = {
  [PM_PATH_MODULES] = "modules",   [PM_PATH_SYSDICT] = "sys",
  [PM_PATH_BUILTINS] = "builtins", [PM_PATH_INTERP] = "interpreter",
  [PM_PATH_THREAD] = "thread",     [PM_PATH_LOCAL] = "local",
  [PM_PATH_FRAME] = "frame",       [PM_PATH_STATIC_TYPE] = "static-type",
  [PM_PATH_INTERNED] = "interned", [PM_PATH_UNREACHABLE] = "unreachable",
};

static json_t *
step_json(const void *item)
{
  const struct pm_path_step *s = item;
  json_t *o = json_object();
  int bad = !o;

  bad |= pm__json_put(o, "kind", pm__json_text(s->kind));
  bad |= pm__json_put(o, "label", pm__json_text(s->label));
  bad |= pm__json_put(o, "address", address(s->address));
  bad |= pm__json_put(o, "edge", json_string(edge_names[s->edge]));
  if (s->name)
    bad |= pm__json_put(o, "name", pm__json_text(s->name));
  if (s->index >= 0)
    bad |= pm__json_put(o, "index", json_integer((json_int_t)s->index));
  return done(o, bad);
}

static json_t *
path_json(const void *item)
{
  const struct pm_path *p = item;
  json_t *o = json_object();
  int bad = !o, thread = p->root == PM_PATH_THREAD || p->root == PM_PATH_LOCAL
                         || p->root == PM_PATH_FRAME;

  bad |= pm__json_put(o, "object", address(p->object));
  bad |= pm__json_put(o, "size", json_integer((json_int_t)p->size));
  bad |= pm__json_put(o, "root", json_string(root_names[p->root]));
  bad |= pm__json_put(o, "reachable",
                      json_boolean(p->root != PM_PATH_UNREACHABLE));
  bad |= pm__json_put(o, "text", pm__json_text(p->text));
  if (thread) {
    bad |= pm__json_put(o, "thread_id", json_integer((json_int_t)p->thread_id));
    bad |= pm__json_put(o, "native_id",
                        int_or_null((int64_t)p->native_id, p->native_id != 0));
    bad |= pm__json_put(o, "thread_name", pm__json_text(p->thread_name));
  }
  if (p->function) {
    bad |= pm__json_put(o, "function", pm__json_text(p->function));
    bad |= pm__json_put(o, "file", pm__json_text(p->file));
    bad |= pm__json_put(o, "line", int_or_null(p->line, p->line >= 0));
    bad |= pm__json_put(o, "depth", json_integer(p->depth));
  }
  if (p->local)
    bad |= pm__json_put(o, "local", pm__json_text(p->local));
  bad |= pm__json_put(
      o, "steps", array_of(p->steps, p->nsteps, sizeof(*p->steps), step_json));
  return done(o, bad);
}

static json_t *
group_json(const void *item)
{
  const struct pm_rcs_group *g = item;
  json_t *e = json_object(), *kinds = json_array();
  int bad = !e || !kinds;

  for (size_t k = 0; k < g->nkinds && !bad; k++)
    bad |= json_array_append_new(kinds, pm__json_text(g->kinds[k]));
  bad |= pm__json_put(e, "referrers", kinds);
  bad |= pm__json_put(e, "count", json_integer((json_int_t)g->count));
  bad |= pm__json_put(e, "size", json_integer((json_int_t)g->size));
  return done(e, bad);
}

static json_t *
referrers_json(const struct pm_referrers *r)
{
  json_t *o = json_object();
  int bad = !o;

  bad |= pm__json_put(o, "kind", pm__json_text(r->kind));
  bad |= pm__json_put(o, "count", json_integer((json_int_t)r->count));
  bad |= pm__json_put(o, "size", json_integer((json_int_t)r->size));
  bad |= pm__json_put(o, "reachable", json_integer((json_int_t)r->reachable));
  bad |= pm__json_put(o, "objects_walked",
                      json_integer((json_int_t)r->objects));
  bad |= pm__json_put(o, "partial",
                      json_boolean(r->skipped > 0 || r->broken_chains > 0));
  bad |= pm__json_put(
      o, "paths", array_of(r->paths, r->npaths, sizeof(*r->paths), path_json));
  bad |= pm__json_put(
      o, "by_referrers",
      array_of(r->groups, r->ngroups, sizeof(*r->groups), group_json));
  return done(o, bad);
}

int
pm_inspect_write_json(const struct pm_snapshot *s,
                      const struct pm_stacks *stacks,
                      const struct pm_referrers *refs, FILE *f)
{
  json_t *root = json_object();
  int bad = !root, err;

  if (bad)
    return -ENOMEM;
  bad |= pm__json_head(root, s, PM_INSPECT_FORMAT, PM_INSPECT_FORMAT_VERSION);
  if (stacks)
    bad |= pm__json_put(root, "threads",
                        array_of(stacks->threads, stacks->nthreads,
                                 sizeof(*stacks->threads), thread_json));
  if (refs)
    bad |= pm__json_put(root, "referrers", referrers_json(refs));
  if (bad) {
    json_decref(root);
    return -ENOMEM;
  }
  err = pm__json_dump(root, f, 6);
  json_decref(root);
  return err;
}
