/* SPDX-License-Identifier: MIT */
/* referents.h -- the objects an object refers to, read from its layout */
#ifndef PM_REFERENTS_H
#define PM_REFERENTS_H

#include <stddef.h>
#include <stdint.h>

#include "cpython/object.h"

/*
 * Called with each non-NULL pointer that a field of the object declares to
 * be an object.  The pointer comes from the target as it was read: the
 * callback validates it before it trusts it.  A non-zero return stops the
 * walk and is returned.
 */
typedef int (*pm_ref_fn)(void *arg, pm_addr_t ref);

/*
 * Collects into offs (at most max) the offsets of the object members
 * (T_OBJECT, T_OBJECT_EX in tp_members) of type and of every type along
 * its tp_base chain: the fields that instances declare to hold objects,
 * __slots__ included.  *n receives the count, which may exceed max (then
 * only max were stored).  Bounded against loops and garbage.
 */
int pm__type_members(struct pm_python *py, pm_addr_t type, uint32_t *offs,
                     size_t max, size_t *n);

/*
 * Visits the referents of obj, an instance of the type ti describes whose
 * members() pm__type_members() gave: its members, its instance attributes
 * (a __dict__ or the values kept inline), and what the walker of its
 * nearest builtin base knows (items of tuples and lists, keys and values
 * of dicts and sets, the fields of code, functions, types, frames and
 * generators, ...).  The type object itself is not visited: the caller
 * knows it.  A layout that is not understood contributes nothing rather
 * than a guess.
 *
 * *dict receives obj's own __dict__ (0 when it has none): the dict that
 * heapy calls "dict of <type of obj>".  Returns 0, the callback's value, or
 * an error that ends the walk (pm__walk_fatal()); other read errors only
 * cut this object's referents short.
 */
int pm__referents(struct pm_python *py, pm_addr_t obj,
                  const struct pm_type_info *ti, const uint32_t *members,
                  size_t nmembers, pm_ref_fn visit, void *arg,
                  pm_addr_t *dict);

/*
 * Visits what a 3.11+ interpreter frame (_PyInterpreterFrame) at frame
 * holds: code, function, globals, builtins, locals mapping, frame object,
 * and its local variables, cells and free variables.  When stack is
 * non-zero the value stack above them is visited too, as far as the
 * frame's saved stack pointer, if that lies within the code's bounds; the
 * caller says when the saved pointer is current.  *owner receives the
 * frame's owner byte (thread, generator, frame object, C stack).
 */
int pm__iframe_referents(struct pm_python *py, pm_addr_t frame, int stack,
                         pm_ref_fn visit, void *arg, int *owner);

/* _PyInterpreterFrame.owner of the shim frames a C call pushes (3.12+). */
int pm__iframe_cstack_owner(const struct pm_python *py);

#endif
