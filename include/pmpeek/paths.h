/* SPDX-License-Identifier: MIT */
/* paths.h -- why objects of a kind are alive: paths from roots, referrers */
#ifndef PMPEEK_PATHS_H
#define PMPEEK_PATHS_H

#include <stddef.h>
#include <stdint.h>

#include "pmpeek/python.h"
#include "pmpeek/stacks.h"

/* How a step of a path is reached from the step before it. */
enum pm_edge {
  PM_EDGE_ROOT,   /* the first step: a root (see pm_path.root) */
  PM_EDGE_INDEX,  /* index: an item of a tuple, list or deque: "[3]" */
  PM_EDGE_VALUE,  /* name: the key's text; a dict's value: "['orders']" */
  PM_EDGE_KEY,    /* index: the entry; a dict's key: "<key>" */
  PM_EDGE_SET,    /* a member of a set or frozenset: "<member>" */
  PM_EDGE_ATTR,   /* name: an instance attribute kept without a dict */
  PM_EDGE_MEMBER, /* name: a __slots__ or C member: ".a" */
  PM_EDGE_FIELD,  /* name: a field of the C struct: ".__globals__" */
  PM_EDGE_DICT,   /* the object's __dict__: ".__dict__" */
  PM_EDGE_CELL,   /* a cell's contents: ".cell_contents" */
  PM_EDGE_LOCAL,  /* name, index: a frame object's local variable */
  PM_EDGE_STACK,  /* index: a frame object's value stack */
  PM_EDGE_CLASS,  /* an object's type: ".__class__" */
};

/* What kind of root a path starts at. */
enum pm_path_root {
  PM_PATH_MODULES,     /* sys.modules */
  PM_PATH_SYSDICT,     /* the sys module's dict */
  PM_PATH_BUILTINS,    /* the builtins module's dict */
  PM_PATH_INTERP,      /* another object of the interpreter state */
  PM_PATH_THREAD,      /* a thread state's dict, async exception, context */
  PM_PATH_LOCAL,       /* a frame's local variable, cell or free variable */
  PM_PATH_FRAME,       /* a frame's code, function, globals, stack... */
  PM_PATH_STATIC_TYPE, /* a static type or its namespace */
  PM_PATH_INTERNED,    /* the interned-strings dict */
  PM_PATH_UNREACHABLE, /* no root: an object of a GC list that no root
                        * reaches (cyclic garbage, or held by C state) */
};

struct pm_path_step {
  char *kind;        /* the object's kind, named as the census names it */
  pm_addr_t address; /* the object */
  enum pm_edge edge;
  char *label;   /* the edge as text: ".__dict__", "['orders']", "[3]";
                  * for the root its description */
  char *name;    /* the key, attribute, member, field or local name;
                  * NULL when the edge has none or it is unreadable */
  int64_t index; /* INDEX, KEY, LOCAL, STACK; else -1 */
};

struct pm_path {
  pm_addr_t object; /* the sample */
  uint64_t size;    /* its sys.getsizeof() */
  enum pm_path_root root;
  /* Where the root is, for THREAD, LOCAL and FRAME; else 0, NULL, -1. */
  uint64_t thread_id;
  uint64_t native_id;
  char *thread_name;
  char *function; /* LOCAL, FRAME: the frame's function, file and line */
  char *file;
  int line;
  int depth;                  /* LOCAL, FRAME: the frame's depth, 0 innermost */
  char *local;                /* LOCAL: the variable's name */
  struct pm_path_step *steps; /* steps[0] the root object, the last the
                               * sample; nsteps >= 1 */
  size_t nsteps;
  /*
   * The whole path on one line, e.g. "module 'app'.orders[3]" or
   * "thread 140213 (worker) frame run() local 'pending'[0]".
   */
  char *text;
};

/* Objects of the kind whose referrers have the same set of kinds. */
struct pm_rcs_group {
  char **kinds;  /* sorted; a root that is no object is "<frame>",
                  * "<thread>" or "<interpreter>" */
  size_t nkinds; /* 0: nothing found refers to them */
  uint64_t count;
  uint64_t size;
};

struct pm_referrers {
  char *kind;
  uint64_t count; /* objects of the kind found */
  uint64_t size;
  uint64_t reachable;    /* of which a root reaches */
  struct pm_path *paths; /* shortest first; reachable ones before others */
  size_t npaths;
  struct pm_rcs_group *groups; /* by count, largest first, then by size */
  size_t ngroups;
  uint64_t objects; /* every object the walk found */
  uint64_t skipped; /* objects whose type or size could not be read */
  uint64_t broken_chains;
};

/* Sets up an empty result; allocates nothing. */
void pm_referrers_init(struct pm_referrers *r);

/*
 * Finds why objects of kind (named as the census names kinds: "list",
 * "__main__.Order", "dict of __main__.Order", "dict (no owner)") are
 * alive.  Walks breadth first from the roots (sys.modules, the sys and
 * builtins dicts, interpreter and thread state, every frame's locals...)
 * over every object's referents, then from the objects of the GC lists
 * no root reached, and gives:
 *   - for up to samples objects of the kind, a shortest path from a root,
 *     each step labelled (module globals, class and instance attributes,
 *     dict keys, indices, cells, thread frames and local variables);
 *     objects no root reaches come last, with a path from a GC list;
 *   - heapy's byrcs: the objects of the kind grouped by the set of kinds
 *     of the objects that refer to them.
 * stacks, when not NULL, names the threads and frames of roots (else they
 * are read here).  The target should be paused.  Returns 0, PM_EGONE,
 * PM_EINTR, -ENOMEM or a read error that ends the walk; r->count is 0 when
 * no object of the kind was found.  On error r is left empty.
 */
int pm_referrers_take(struct pm_referrers *r, struct pm_python *py,
                      const char *kind, size_t samples,
                      const struct pm_stacks *stacks);

/* Frees everything and leaves r empty. */
void pm_referrers_release(struct pm_referrers *r);

#endif
