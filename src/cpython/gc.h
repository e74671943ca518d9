/* SPDX-License-Identifier: MIT */
/* gc.h -- walk every interpreter's GC generation lists */
#ifndef PM_GC_H
#define PM_GC_H

#include <stdint.h>

#include "cpython/python-private.h"

/*
 * Called for each object on a GC list: obj is the object (after its
 * PyGC_Head), type its ob_type as read.  A non-zero return stops the walk
 * and is returned by pm__gc_walk().
 */
typedef int (*pm_gc_visit_fn)(void *arg, pm_addr_t obj, pm_addr_t type);

struct pm_gc_stats {
  uint64_t interpreters;
  uint64_t lists;
  uint64_t objects;
  uint64_t broken_lists; /* lists cut short by a bad link (torn or corrupt) */
};

/*
 * Visits the objects of every GC list (each generation and the permanent
 * one) of every interpreter.  Every link is checked (alignment, readable,
 * back-link while the collector is idle) and every loop is bounded, so a
 * corrupt or moving heap ends a list early, counted in broken_lists, and
 * never loops or crashes.  Returns 0, the callback's value, or a read error
 * that means the walk cannot go on (PM_EGONE, PM_EINTR).
 */
int pm__gc_walk(struct pm_python *py, pm_gc_visit_fn visit, void *arg,
                struct pm_gc_stats *stats);

/*
 * The head of every GC list (each generation and the permanent one) of
 * every interpreter into heads (at most max), in pm__gc_walk()'s order,
 * and *collecting non-zero when a collector is running (its lists' back
 * links do not hold then).  Returns the count or a negative error.
 */
int pm__gc_heads(struct pm_python *py, pm_addr_t *heads, int max,
                 int *collecting);

/*
 * Lists the interpreters from _PyRuntime.interpreters.head into out (at most
 * max), bounded against loops.  Returns the count or a negative error.
 */
int pm__interpreters(struct pm_python *py, pm_addr_t *out, int max);

#endif
