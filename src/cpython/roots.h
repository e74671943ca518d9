/* SPDX-License-Identifier: MIT */
/* roots.h -- what keeps objects alive from outside the heap */
#ifndef PM_ROOTS_H
#define PM_ROOTS_H

#include <stdint.h>

#include "cpython/python-private.h"

/*
 * Where a root was found.  Everything reachable from the roots is alive
 * for the Python program; the objects of the GC lists that are not are
 * cyclic garbage (or held by C state that keeps no object of its own).
 */
enum pm_root_kind {
  PM_ROOT_MODULES,     /* sys.modules of an interpreter */
  PM_ROOT_SYSDICT,     /* the sys module's dict */
  PM_ROOT_BUILTINS,    /* the builtins module's dict */
  PM_ROOT_INTERP,      /* another object the interpreter state holds */
  PM_ROOT_THREAD,      /* a thread state's dict, async exception, context */
  PM_ROOT_FRAME_LOCAL, /* a local variable, cell or free variable */
  PM_ROOT_FRAME_OTHER, /* a frame's code, function, globals, builtins,
                        * locals mapping, frame object or value stack */
  PM_ROOT_STATIC_TYPE, /* a static type, or (3.12+) its namespace */
  PM_ROOT_INTERNED,    /* the interned-strings dict (3.8-3.11) */
};

struct pm_root {
  enum pm_root_kind kind;
  pm_addr_t obj;      /* the root object */
  uint64_t thread_id; /* PM_ROOT_THREAD/FRAME_*: the thread's id
                       * (threading.get_ident()), else 0 */
  uint64_t native_id; /* its native thread id (TID) where known, else 0 */
  pm_addr_t frame;    /* FRAME_*: the _PyInterpreterFrame (3.11+) or frame
                       * object */
  pm_addr_t code;     /* FRAME_*: the frame's code object */
  int index;          /* FRAME_LOCAL: index into co_localsplusnames (3.11+)
                       * / co_varnames+cellvars+freevars (<3.11); else -1 */
  int depth;          /* FRAME_*: 0 = innermost */
};

/*
 * Called once per root; root points to storage valid only during the call.
 * root->obj is a non-NULL pointer as read from the target, never checked:
 * in a torn state it may be garbage, so the callback validates it before
 * it trusts it.  The same object may be reported by several roots.
 * A non-zero return stops the walk and is returned.
 */
typedef int (*pm_root_fn)(void *arg, const struct pm_root *root);

/*
 * Visits every root of every interpreter: sys.modules, the sys and
 * builtins dicts, other interpreter state objects, each thread's state
 * objects (dict, async exc, context) and every frame's locals
 * (FRAME_LOCAL) and other frame references (FRAME_OTHER: code, function,
 * globals, builtins, value stack), static types (their per-interpreter
 * dicts on 3.12+), the interned-strings dict where found.  Bounded;
 * returns 0, the callback's value, or a fatal error.
 *
 * Frames are those of each thread's call chain, innermost first; depth
 * counts Python frames only (3.12+ shim frames of C calls are not
 * reported).  A 3.11+ frame's value stack is reported only where its
 * saved stack pointer is known to be current.  3.8-3.10 report each frame
 * object of the chain itself as FRAME_OTHER, and leave its value stack to
 * the frame object's referents.  A link that does not read back (a torn
 * chain) ends that chain or list only.  The target should be paused.
 */
int pm__roots_foreach(struct pm_python *py, pm_root_fn visit, void *arg);

/* What pm__roots_walk() saw, for diagnostics. */
struct pm_roots_stats {
  uint64_t interpreters;
  uint64_t threads;
  uint64_t frames;
  uint64_t broken_chains; /* thread lists or frame chains cut short */
};

/* Options of pm__roots_walk(). */
enum {
  PM_ROOTS_NO_INTERNED = 1, /* leave out what only C state holds */
};

/* pm__roots_foreach() with options, filling *stats (may be NULL). */
int pm__roots_walk(struct pm_python *py, unsigned flags, pm_root_fn visit,
                   void *arg, struct pm_roots_stats *stats);

#endif
