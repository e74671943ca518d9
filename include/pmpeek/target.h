/* SPDX-License-Identifier: MIT */
/* target.h -- one memory interface over a live process or a core file */
#ifndef PMPEEK_TARGET_H
#define PMPEEK_TARGET_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pmpeek/types.h"

/* Permission bits of a mapped region. */
enum {
  PM_PROT_READ = 1,
  PM_PROT_WRITE = 2,
  PM_PROT_EXEC = 4,
  PM_PROT_SHARED = 8,
};

/*
 * One mapping of the target, as /proc/PID/maps (or a core's NT_FILE note)
 * describes it.  `path` is NULL for anonymous mappings, or the kernel's
 * name, which may be a pseudo-name such as "[heap]" or end in " (deleted)".
 */
struct pm_region {
  pm_addr_t start;
  pm_addr_t end;
  uint64_t offset;
  uint64_t inode;
  unsigned prot;
  char *path;
};

/* The target's mappings, sorted by start address, not overlapping. */
struct pm_maps {
  struct pm_region *v;
  size_t n;
};

/* Sets up an empty list; allocates nothing. */
void pm_maps_init(struct pm_maps *m);

/*
 * Parses the text of /proc/PID/maps and appends its regions to m.
 * Returns -EINVAL for a malformed line or unsorted regions, -ENOMEM.
 */
int pm_maps_parse(struct pm_maps *m, const char *text);

/* The region holding addr, or NULL.  O(log n). */
const struct pm_region *pm_maps_find(const struct pm_maps *m, pm_addr_t addr);

/* Frees the regions and leaves m empty. */
void pm_maps_release(struct pm_maps *m);

struct pm_target;

/* Options of pm_target_open_pid(). */
enum {
  PM_TARGET_NO_PAUSE = 1, /* never stop the target: pause/resume do nothing */
};

/*
 * Opens the live process pid: checks it exists and reads its mappings, but
 * does not stop it.  Returns -ESRCH (no such process), -EPERM/-EACCES, or
 * -ENOMEM; *out is set only on success.
 */
int pm_target_open_pid(struct pm_target **out, pid_t pid, unsigned flags);

/*
 * Stops every thread of the target (PTRACE_SEIZE + PTRACE_INTERRUPT) so that
 * the walk sees one consistent state, and re-reads its mappings.  Threads
 * that were already stopped stay stopped after pm_target_resume().
 * Returns -EPERM when ptrace is not allowed, -ESRCH when the target is gone.
 * With PM_TARGET_NO_PAUSE, or for a core, it does nothing and returns 0.
 */
int pm_target_pause(struct pm_target *t);

/*
 * Lets every thread go exactly as it was found; always safe to call, also
 * after a failed or partial pause.  Returns 0 or the first error seen while
 * detaching (the other threads are still detached).
 */
int pm_target_resume(struct pm_target *t);

/*
 * Copies len bytes at addr into buf.  Succeeds only when all len bytes were
 * read: -EFAULT for an address outside the target's readable mappings,
 * PM_EGONE once the target has exited, PM_EINTR when the cancel flag is set.
 * Reads go through a cache that pause and resume drop.
 */
int pm_target_read(struct pm_target *t, pm_addr_t addr, void *buf,
                   size_t len);

/* Reads one little-endian 64-bit word. */
int pm_target_read_u64(struct pm_target *t, pm_addr_t addr, uint64_t *out);

/*
 * Makes every later read fail with PM_EINTR once *flag is non-zero (the CLI
 * points it at a variable its SIGINT/SIGTERM handler sets).
 */
void pm_target_set_cancel(struct pm_target *t, const volatile sig_atomic_t *flag);

/* The target's mappings; valid until the next pm_target_pause(). */
const struct pm_maps *pm_target_maps(const struct pm_target *t);

/*
 * Writes into buf a path through which the file behind region r can be
 * opened by pmpeek, even when it was deleted or lives in another mount
 * namespace (/proc/PID/map_files, then /proc/PID/root).  Returns -ENOENT for
 * an anonymous region, -ENAMETOOLONG.
 */
int pm_target_region_file(const struct pm_target *t,
                          const struct pm_region *r, char *buf, size_t len);

/*
 * Non-zero when the target has exited (or is a zombie, whose memory is
 * gone): the cause to report when a walk fails.  Always 0 for a core.
 */
int pm_target_gone(const struct pm_target *t);

/* Process id of the target (the core's pid for a core file). */
pid_t pm_target_pid(const struct pm_target *t);

/*
 * The executable's path as the target names it (/proc/PID/exe), or NULL.
 * Owned by t.
 */
const char *pm_target_exe(const struct pm_target *t);

/*
 * Seconds the target spent stopped in its last pause, and the number of
 * threads that were stopped.
 */
double pm_target_pause_seconds(const struct pm_target *t);

/* Bytes copied from the target so far (for progress and benchmarks). */
uint64_t pm_target_bytes_read(const struct pm_target *t);

/* Resumes the target if needed, then frees t.  NULL does nothing. */
void pm_target_free(struct pm_target *t);

#endif
