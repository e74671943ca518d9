/* SPDX-License-Identifier: MIT */
/* unwind.h -- native stacks of a live target's threads (libunwind-ptrace) */
#ifndef PMPEEK_UNWIND_H
#define PMPEEK_UNWIND_H

#include "pmpeek/stacks.h"
#include "pmpeek/target.h"

/*
 * Non-zero when pmpeek was built with libunwind's ptrace library (meson
 * option 'native'), so that pm_unwind_stacks() can work.
 */
int pm_unwind_available(void);

/*
 * Unwinds the native stack of each thread of s that has a native id (TID)
 * and fills its native frames, innermost first, with their function names
 * (ELF symbols, as libunwind finds them) and mapped files.  Each frame of
 * _PyEval_EvalFrameDefault is given the Python frames it runs, in order:
 * from the thread's next Python frame down to its next entry frame (see
 * struct pm_py_frame), so that the two stacks can be interleaved.
 *
 * t must be a live process that pm_target_pause() has stopped (each of its
 * threads ptrace-stopped by this process): libunwind reads registers and
 * memory through ptrace.  A thread that cannot be unwound gets its reason
 * in native_err and no frames; that is not an error of the call.  Returns
 * 0, -ENOTSUP when pmpeek has no libunwind or t is a core or a recording,
 * -ENOMEM.
 */
int pm_unwind_stacks(struct pm_stacks *s, struct pm_target *t);

#endif
