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
 * pm_ref_fn for runs of referents: refs[0], refs[stride], ... (n of them),
 * pointers as read, 0 for none.  The walks hand an array of items over at
 * once, so that a walker visits them with no call per item.
 */
typedef int (*pm_refs_fn)(void *arg, const uint64_t *refs, size_t n,
                          size_t stride);

/*
 * How a referent is held, for pm__referents_labelled(): what a path from a
 * root names at each step.
 */
enum pm_ref_how {
  PM_REF_FIELD,  /* name: a field of the object's C struct ("__globals__") */
  PM_REF_MEMBER, /* name: a member its type declares (__slots__, T_OBJECT) */
  PM_REF_DICT,   /* the object's own __dict__ */
  PM_REF_ATTR,   /* key: the name (a str) of an instance attribute kept in
                  * the object's values, without a dict (3.11+) */
  PM_REF_INDEX,  /* index: an item of a tuple, list or deque */
  PM_REF_KEY,    /* index: the entry; a key of a dict */
  PM_REF_VALUE,  /* key: the key object of the entry; index: the entry; a
                  * value of a dict */
  PM_REF_SET,    /* a member of a set or frozenset */
  PM_REF_CELL,   /* the contents of a cell */
  PM_REF_LOCAL,  /* index: slot of a frame's locals, cells and free
                  * variables; key: its name (a str) or 0 */
  PM_REF_STACK,  /* index: slot of a frame's value stack above its locals */
};

struct pm_ref_label {
  enum pm_ref_how how;
  const char *name; /* FIELD, MEMBER; else NULL.  Valid during the call. */
  int64_t index;    /* -1 when it does not apply */
  pm_addr_t key;    /* 0 when it does not apply */
};

/*
 * pm_ref_fn with the label of the edge.  label is valid only during the
 * call; a non-zero return stops the walk and is returned.
 */
typedef int (*pm_ref_label_fn)(void *arg, pm_addr_t ref,
                               const struct pm_ref_label *label);

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
                  size_t nmembers, pm_ref_fn visit, void *arg, pm_addr_t *dict);

/* pm__referents() that hands the referents over in runs (pm_refs_fn). */
int pm__referents_runs(struct pm_python *py, pm_addr_t obj,
                       const struct pm_type_info *ti, const uint32_t *members,
                       size_t nmembers, pm_refs_fn visit, void *arg,
                       pm_addr_t *dict);

/*
 * pm__referents() with a label for each referent, in the same order: the
 * walk is the same one, so a labelled walk of an object visits exactly
 * what pm__referents() visits.  Labelling costs extra reads (member and
 * attribute names, a dict's keys next to its values, a frame's local
 * names), so it is meant for the few objects of a path, not for a whole
 * heap.
 */
int pm__referents_labelled(struct pm_python *py, pm_addr_t obj,
                           const struct pm_type_info *ti,
                           const uint32_t *members, size_t nmembers,
                           pm_ref_label_fn visit, void *arg, pm_addr_t *dict);

/*
 * The attribute name of obj (whose type is ti): kept in its values
 * (3.11+), in its __dict__, or in a member of that name; *value is 0 when
 * obj has none.  Bounded like the walks above; for reading a few
 * attributes (a thread's name), not for a heap.
 */
int pm__object_attr(struct pm_python *py, pm_addr_t obj,
                    const struct pm_type_info *ti, const char *name,
                    pm_addr_t *value);

/*
 * The value of the int object at obj, when it fits 64 bits (more than 3
 * 30-bit digits: PM_ECORRUPT).  Thread idents (pthread_t) are unsigned:
 * cast them back.
 */
int pm__int_value(struct pm_python *py, pm_addr_t obj, int64_t *out);

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

/* The fields of a frame that pm__iframe_read() gives as plain[]. */
#define PM_IFRAME_PLAIN 4

/* A 3.11+ _PyInterpreterFrame as pm__iframe_read() read it. */
struct pm_iframe {
  int owner;      /* its owner byte; -1 when the frame does not read */
  pm_addr_t code; /* its code object; 0 when not a plausible pointer, and
                   * then nothing below is set */
  /* Below, 0 for a shim frame of a C call (owner pm__iframe_cstack_owner()),
   * which is valid only as far as its code. */
  pm_addr_t func;                   /* its function */
  pm_addr_t plain[PM_IFRAME_PLAIN]; /* globals, builtins, locals mapping,
                                     * frame object; 0 when absent */
  int slots_err;        /* what pm__code_slots() failed with; then no slots */
  pm_addr_t localsplus; /* its first slot */
  int64_t nlocals;      /* slots of locals, cells and free variables */
  int64_t count;        /* slots to visit from localsplus: nlocals, or up
                         * to the top of the value stack (see stack) */
};

/*
 * Reads the frame at frame into *fr: what pm__iframe_referents() and the
 * roots walk visit of it.  stack as there: the value stack is counted in
 * only when the caller says its saved stack pointer is current, and that
 * pointer lies within the code's bounds.  Pointers are untagged
 * (pm__stackref()), never checked.  Returns 0 or the error reading the
 * frame itself; fr->owner is -1 then.
 */
int pm__iframe_read(struct pm_python *py, pm_addr_t frame, int stack,
                    struct pm_iframe *fr);

/* pm__iframe_referents() with labels (locals by name, then the stack). */
int pm__iframe_referents_labelled(struct pm_python *py, pm_addr_t frame,
                                  int stack, pm_ref_label_fn visit, void *arg,
                                  int *owner);

/*
 * The name (a str) of slot index of the frame locals of the code object at
 * code: co_localsplusnames (3.11+), or co_varnames, co_cellvars and
 * co_freevars one after the other.  *name is 0 when there is none.
 */
int pm__code_local_name(struct pm_python *py, pm_addr_t code, int64_t index,
                        pm_addr_t *name);

/* _PyInterpreterFrame.owner of the shim frames a C call pushes (3.12+). */
int pm__iframe_cstack_owner(const struct pm_python *py);

#endif
