/* SPDX-License-Identifier: MIT */
/* frames.h -- what the threads of every interpreter hold on their stacks */
#ifndef PM_FRAMES_H
#define PM_FRAMES_H

#include <stdint.h>

#include "cpython/referents.h"

struct pm_frames_stats {
  uint64_t threads;
  uint64_t frames;
  uint64_t broken_chains; /* thread lists or frame chains cut short */
};

/*
 * Visits the roots each thread of each interpreter holds outside the heap:
 * its thread-state objects (the thread's dict, pending async exception,
 * context) and every frame of its call chain.  3.11+: each
 * _PyInterpreterFrame's code, function, globals, builtins, locals mapping,
 * frame object and local variables (the value stack too where the saved
 * stack pointer is current).  3.8-3.10: the innermost frame object, whose
 * own referents reach the others.  Objects held only by a sleeping
 * function's local variable are found here.
 *
 * Every link is checked and every chain bounded; a bad one is counted in
 * broken_chains.  Returns 0, the callback's value or an error that ends
 * the walk (pm__walk_fatal()).
 */
int pm__frames_walk(struct pm_python *py, pm_ref_fn visit, void *arg,
                    struct pm_frames_stats *stats);

/*
 * The innermost _PyInterpreterFrame of the thread state at tstate (3.11+),
 * in *frame; 0 when the thread runs none.  Returns 0 or a read error.
 */
int pm__iframe_current(struct pm_python *py, pm_addr_t tstate,
                       pm_addr_t *frame);

/*
 * Called by pm__iframe_chain() for one frame.  stack: the frame's saved
 * stack pointer is current, so its value stack may be read.  Sets *owner
 * to the frame's owner byte, or to -1 when the frame does not read (the
 * chain is then cut short).  A non-zero return ends the walk with it.
 */
typedef int (*pm_iframe_fn)(void *arg, pm_addr_t frame, int stack, int *owner);

/*
 * Walks a 3.11+ chain of _PyInterpreterFrame from frame, the innermost,
 * out, calling fn for each.  Counts each frame fn read in *frames, and a
 * chain cut short (a misaligned link, a loop, too many frames, a frame or
 * link that does not read) in *broken.  Returns 0, fn's non-zero value, or
 * an error that ends the walk (pm__walk_fatal()).
 */
int pm__iframe_chain(struct pm_python *py, pm_addr_t frame, pm_iframe_fn fn,
                     void *arg, uint64_t *frames, uint64_t *broken);

/*
 * Called by pm__tstates_walk() for one thread state.  A positive return or
 * an error that ends the walk (pm__walk_fatal()) ends it with that value;
 * another error only cuts the list short.
 */
typedef int (*pm_tstate_fn)(void *arg, pm_addr_t tstate);

/*
 * Calls fn for each thread state of the interpreter at interp, newest
 * first, counting them in *threads, and a list cut short (a misaligned or
 * unreadable link, a loop, too many threads, an fn error) in *broken.
 * Returns 0, fn's value as above, or an error that ends the walk.
 */
int pm__tstates_walk(struct pm_python *py, pm_addr_t interp, pm_tstate_fn fn,
                     void *arg, uint64_t *threads, uint64_t *broken);

/* How a code object maps instructions to lines. */
enum pm_line_format {
  PM_LINES_LNOTAB,    /* 3.8-3.9 co_lnotab: (bytes, lines) increments */
  PM_LINES_LINETABLE, /* 3.10 co_linetable: (bytes, lines), -128 no line */
  PM_LINES_LOCATIONS, /* 3.11+ co_linetable: the location table */
};

/*
 * The line of the instruction at byte offset addr of a code whose first
 * line is firstlineno, from its line table tab (len bytes) in format fmt,
 * as PyCode_Addr2Line() computes it: firstlineno for a negative addr (a
 * frame that has not started), -1 when the table gives no line.
 */
int pm__addr2line(enum pm_line_format fmt, const uint8_t *tab, size_t len,
                  int firstlineno, int64_t addr);

#endif
