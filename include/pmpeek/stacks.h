/* SPDX-License-Identifier: MIT */
/* stacks.h -- each thread's Python stack and who holds the GIL */
#ifndef PMPEEK_STACKS_H
#define PMPEEK_STACKS_H

#include <stddef.h>
#include <stdint.h>

#include "pmpeek/python.h"
#include "pmpeek/types.h"

/* One Python frame: where a thread is in one function. */
struct pm_py_frame {
  char *function; /* co_qualname (3.11+), else co_name; "?" if unreadable */
  char *file;     /* co_filename; "?" if unreadable */
  int line;       /* from the code's line table; -1 when unknown */
  int firstline;  /* co_firstlineno */
  /*
   * Non-zero for the outermost frame of one call of the eval loop
   * (_PyEval_EvalFrameDefault): every frame before 3.11; from 3.11 the
   * frame a C caller entered, under which the frames it called inline run.
   * What lets native stacks be interleaved with Python ones.
   */
  int entry;
  pm_addr_t code;  /* the code object */
  pm_addr_t frame; /* _PyInterpreterFrame (3.11+) or frame object */
};

/* Whether a thread holds the GIL. */
enum pm_gil {
  PM_GIL_UNKNOWN = -1, /* the layout does not say */
  PM_GIL_NO = 0,
  PM_GIL_HELD = 1,
};

/*
 * One native frame of a thread (pmpeek --native on a live target; see
 * pmpeek/unwind.h).  A call of the eval loop names the Python frames it
 * runs.
 */
struct pm_native_frame {
  pm_addr_t ip;    /* the instruction (a return address above frame 0) */
  char *symbol;    /* the function's name; NULL when unknown */
  uint64_t offset; /* of ip from the symbol's start */
  char *file;      /* the file mapped at ip; NULL when anonymous */
  /*
   * For a frame of _PyEval_EvalFrameDefault: the thread's Python frames
   * [py_first, py_first + py_count) are the ones it runs (py_count is 0
   * when they ran out).  py_first is -1 for every other frame.
   */
  int64_t py_first;
  size_t py_count;
};

struct pm_py_thread {
  uint64_t thread_id; /* threading.get_ident(): the pthread_t */
  uint64_t native_id; /* the kernel's TID (threading.get_native_id());
                       * 0 when unknown */
  pm_addr_t tstate;
  int64_t interp_id; /* the interpreter's id; 0 is the main one */
  enum pm_gil gil;
  char *name;                 /* threading.Thread.name; NULL when unknown */
  struct pm_py_frame *frames; /* innermost first */
  size_t nframes;
  int truncated; /* the frame chain did not read to its end */
  /* Native frames, innermost first, once pm_unwind_stacks() filled them. */
  struct pm_native_frame *native;
  size_t nnative;
  int native_err; /* why there are none: 0 or a negative code */
};

struct pm_stacks {
  struct pm_py_thread *threads; /* in the interpreter's order: newest first */
  size_t nthreads;
  uint64_t broken_chains; /* thread lists or frame chains cut short */
};

/* Sets up an empty set of stacks; allocates nothing. */
void pm_stacks_init(struct pm_stacks *s);

/*
 * Reads every thread of every interpreter of py: its ids, its name (from
 * the threading module, when imported), whether it holds the GIL
 * (3.8-3.11: _PyRuntime.gilstate.tstate_current; 3.12+: the GIL's last
 * holder while it is locked) and its Python frames with file, function
 * and line (3.12+ shim frames of C calls are left out).  The target
 * should be paused.  Returns 0 (a chain cut short is counted in
 * broken_chains), PM_EGONE, PM_EINTR, -ENOMEM or a read error; on error s
 * is left empty.
 */
int pm_stacks_take(struct pm_stacks *s, struct pm_python *py);

/* Frees every thread and frame and leaves s empty. */
void pm_stacks_release(struct pm_stacks *s);

#endif
