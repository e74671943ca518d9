/* SPDX-License-Identifier: MIT */
/* python.h -- the CPython interpreter inside a target */
#ifndef PMPEEK_PYTHON_H
#define PMPEEK_PYTHON_H

#include <stdint.h>

#include "pmpeek/target.h"
#include "pmpeek/types.h"

struct pm_python;

/* What pmpeek found out about the interpreter. */
struct pm_python_info {
  char version[32];    /* "3.11.2", or "3.13.0rc1" */
  uint32_t hexversion; /* PY_VERSION_HEX */
  const char *binary;  /* the file holding _PyRuntime, as the target maps it */
  pm_addr_t runtime;   /* address of _PyRuntime */
  const char *layout;  /* offsets/ file in use */
  int debug_build;     /* Py_DEBUG */
  char mismatch[160];  /* after PM_EOFFSETS: the field that disagreed */
};

/*
 * Finds _PyRuntime in t's mappings (the executable or a libpython, by
 * .dynsym, .symtab or the .PyRuntime section), reads the exact version and
 * picks the layout.  The target should be paused.  Returns PM_ENOPYTHON
 * when no mapping holds an interpreter, PM_ENOVERSION when the version is
 * unknown or has no layout, PM_EFREETHREADED.  t must outlive *out.
 * When seen is not NULL it receives, also on failure, what was learnt
 * (version, hexversion; its pointers are NULL after a failure).
 */
int pm_python_open(struct pm_python **out, struct pm_target *t,
                   struct pm_python_info *seen);

/*
 * Does before a pause what pm_python_open() and a census would do inside
 * it from the target's files alone: finds the file that holds the
 * interpreter in t's mappings as last read, opens it and indexes its
 * symbols, and, when its symbols do not name 3.8-3.11's allocator state,
 * searches the two functions that walk the arenas for the globals that
 * do.  t keeps the file, and what was found in it, for the pauses that
 * follow (see pm__target_elf_open()), so that they only look names up.
 * Reads none of the target's memory.  Returns what pm_python_open() would
 * about the file (PM_ENOPYTHON, -ENOMEM), which meets it again in the
 * pause and says it.
 */
int pm_python_prepare(struct pm_target *t);

/* Owned by py; valid until pm_python_free(py). */
const struct pm_python_info *pm_python_info(const struct pm_python *py);

/* NULL does nothing. */
void pm_python_free(struct pm_python *py);

#endif
