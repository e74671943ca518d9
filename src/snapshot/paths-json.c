/* SPDX-License-Identifier: MIT */
/* paths-json.c -- thread stacks and reference paths as JSON */
#include <config.h>

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "pmpeek/error.h"
#include "pmpeek/snapshot.h"

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
frames_json(const struct pm_py_thread *th)
{
  json_t *a = json_array();
  int bad = !a;

  for (size_t i = 0; i < th->nframes && !bad; i++) {
    const struct pm_py_frame *f = &th->frames[i];
    json_t *o = json_object();
    bad |= !o;
    bad |= put(o, "function", json_string(f->function));
    bad |= put(o, "file", json_string(f->file));
    bad |= put(o, "line", int_or_null(f->line, f->line >= 0));
    bad |= put(o, "first_line", int_or_null(f->firstline, f->firstline >= 0));
    bad |= put(o, "entry", json_boolean(f->entry));
    bad |= json_array_append_new(a, o);
  }
  if (bad) {
    json_decref(a);
    return NULL;
  }
  return a;
}

static json_t *
native_json(const struct pm_py_thread *th)
{
  json_t *a = json_array();
  int bad = !a;

  for (size_t i = 0; i < th->nnative && !bad; i++) {
    const struct pm_native_frame *f = &th->native[i];
    json_t *o = json_object(), *py;
    bad |= !o;
    bad |= put(o, "address", address(f->ip));
    bad |= put(o, "symbol", str_or_null(f->symbol));
    bad |= put(o, "offset",
               int_or_null((int64_t)f->offset, f->symbol != NULL));
    bad |= put(o, "file", str_or_null(f->file));
    if (f->py_first >= 0) {
      /* Indices into the thread's "frames": the ones this call runs. */
      py = json_array();
      bad |= !py;
      for (size_t k = 0; k < f->py_count && !bad; k++)
        bad |= json_array_append_new(
            py, json_integer((json_int_t)(f->py_first + (int64_t)k)));
      bad |= put(o, "python_frames", py);
    }
    bad |= json_array_append_new(a, o);
  }
  if (bad) {
    json_decref(a);
    return NULL;
  }
  return a;
}

static json_t *
threads_json(const struct pm_stacks *s)
{
  json_t *a = json_array();
  int bad = !a;

  for (size_t i = 0; i < s->nthreads && !bad; i++) {
    const struct pm_py_thread *th = &s->threads[i];
    json_t *o = json_object();
    bad |= !o;
    bad |= put(o, "thread_id", json_integer((json_int_t)th->thread_id));
    bad |= put(o, "native_id",
               int_or_null((int64_t)th->native_id, th->native_id != 0));
    bad |= put(o, "name", str_or_null(th->name));
    bad |= put(o, "interpreter", json_integer((json_int_t)th->interp_id));
    bad |= put(o, "holds_gil", th->gil == PM_GIL_UNKNOWN
                                   ? json_null()
                                   : json_boolean(th->gil == PM_GIL_HELD));
    bad |= put(o, "truncated", json_boolean(th->truncated));
    bad |= put(o, "frames", frames_json(th));
    if (th->nnative)
      bad |= put(o, "native", native_json(th));
    else if (th->native_err)
      bad |= put(o, "native_error", json_string(pm_strerror(th->native_err)));
    bad |= json_array_append_new(a, o);
  }
  if (bad) {
    json_decref(a);
    return NULL;
  }
  return a;
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
  [PM_PATH_MODULES] = "modules",
  [PM_PATH_SYSDICT] = "sys",
  [PM_PATH_BUILTINS] = "builtins",
  [PM_PATH_INTERP] = "interpreter",
  [PM_PATH_THREAD] = "thread",
  [PM_PATH_LOCAL] = "local",
  [PM_PATH_FRAME] = "frame",
  [PM_PATH_STATIC_TYPE] = "static-type",
  [PM_PATH_INTERNED] = "interned",
  [PM_PATH_UNREACHABLE] = "unreachable",
};

static json_t *
steps_json(const struct pm_path *p)
{
  json_t *a = json_array();
  int bad = !a;

  for (size_t i = 0; i < p->nsteps && !bad; i++) {
    const struct pm_path_step *s = &p->steps[i];
    json_t *o = json_object();
    bad |= !o;
    bad |= put(o, "kind", json_string(s->kind));
    bad |= put(o, "label", json_string(s->label));
    bad |= put(o, "address", address(s->address));
    bad |= put(o, "edge", json_string(edge_names[s->edge]));
    if (s->name)
      bad |= put(o, "name", json_string(s->name));
    if (s->index >= 0)
      bad |= put(o, "index", json_integer((json_int_t)s->index));
    bad |= json_array_append_new(a, o);
  }
  if (bad) {
    json_decref(a);
    return NULL;
  }
  return a;
}

static json_t *
path_json(const struct pm_path *p)
{
  json_t *o = json_object();
  int bad = !o, thread = p->root == PM_PATH_THREAD ||
                         p->root == PM_PATH_LOCAL || p->root == PM_PATH_FRAME;

  bad |= put(o, "object", address(p->object));
  bad |= put(o, "size", json_integer((json_int_t)p->size));
  bad |= put(o, "root", json_string(root_names[p->root]));
  bad |= put(o, "reachable", json_boolean(p->root != PM_PATH_UNREACHABLE));
  bad |= put(o, "text", json_string(p->text));
  if (thread) {
    bad |= put(o, "thread_id", json_integer((json_int_t)p->thread_id));
    bad |= put(o, "native_id",
               int_or_null((int64_t)p->native_id, p->native_id != 0));
    bad |= put(o, "thread_name", str_or_null(p->thread_name));
  }
  if (p->function) {
    bad |= put(o, "function", json_string(p->function));
    bad |= put(o, "file", str_or_null(p->file));
    bad |= put(o, "line", int_or_null(p->line, p->line >= 0));
    bad |= put(o, "depth", json_integer(p->depth));
  }
  if (p->local)
    bad |= put(o, "local", json_string(p->local));
  bad |= put(o, "steps", steps_json(p));
  if (bad) {
    json_decref(o);
    return NULL;
  }
  return o;
}

static json_t *
referrers_json(const struct pm_referrers *r)
{
  json_t *o = json_object(), *paths = json_array(), *groups = json_array();
  int bad = !o || !paths || !groups;

  if (bad) {
    json_decref(o), json_decref(paths), json_decref(groups);
    return NULL;
  }
  bad |= put(o, "kind", json_string(r->kind));
  bad |= put(o, "count", json_integer((json_int_t)r->count));
  bad |= put(o, "size", json_integer((json_int_t)r->size));
  bad |= put(o, "reachable", json_integer((json_int_t)r->reachable));
  bad |= put(o, "objects_walked", json_integer((json_int_t)r->objects));
  bad |= put(o, "partial",
             json_boolean(r->skipped > 0 || r->broken_chains > 0));
  for (size_t i = 0; i < r->npaths && !bad; i++)
    bad |= json_array_append_new(paths, path_json(&r->paths[i]));
  for (size_t i = 0; i < r->ngroups && !bad; i++) {
    const struct pm_rcs_group *g = &r->groups[i];
    json_t *e = json_object(), *kinds = json_array();
    bad |= !e || !kinds;
    for (size_t k = 0; k < g->nkinds && !bad; k++)
      bad |= json_array_append_new(kinds, json_string(g->kinds[k]));
    bad |= put(e, "referrers", kinds);
    bad |= put(e, "count", json_integer((json_int_t)g->count));
    bad |= put(e, "size", json_integer((json_int_t)g->size));
    bad |= json_array_append_new(groups, e);
  }
  bad |= put(o, "paths", paths);
  bad |= put(o, "by_referrers", groups);
  if (bad) {
    json_decref(o);
    return NULL;
  }
  return o;
}

int
pm_inspect_write_json(const struct pm_snapshot *s,
                      const struct pm_stacks *stacks,
                      const struct pm_referrers *refs, FILE *f)
{
  json_t *root = json_object(), *source = json_object();
  char when[PM_TIME_TEXT_MAX];
  int bad = !root || !source, err = 0;

  if (bad) {
    json_decref(root), json_decref(source);
    return -ENOMEM;
  }
  pm_time_rfc3339(&s->taken_at, when, sizeof(when));
  bad |= put(source, "kind", json_string(s->source_kind));
  if (s->core && strcmp(s->source_kind, "core") == 0)
    bad |= put(source, "core", json_string(s->core));
  bad |= put(source, "pid", json_integer(s->pid));
  bad |= put(source, "executable", str_or_null(s->executable));
  bad |= put(source, "python_version", str_or_null(s->python_version));
  bad |= put(root, "format", json_string(PM_INSPECT_FORMAT));
  bad |= put(root, "format_version", json_integer(PM_INSPECT_FORMAT_VERSION));
  bad |= put(root, "source", source);
  bad |= put(root, "taken_at", json_string(when));
  bad |= put(root, "pause_seconds",
             s->pause_seconds < 0 ? json_null() : json_real(s->pause_seconds));
  if (stacks)
    bad |= put(root, "threads", threads_json(stacks));
  if (refs)
    bad |= put(root, "referrers", referrers_json(refs));
  if (bad) {
    json_decref(root);
    return -ENOMEM;
  }
  if (json_dumpf(root, f, JSON_INDENT(2) | JSON_REAL_PRECISION(6)) != 0 ||
      fputc('\n', f) == EOF)
    err = -EIO;
  json_decref(root);
  return err;
}
