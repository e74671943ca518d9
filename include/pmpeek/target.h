/* SPDX-License-Identifier: MIT */
/* target.h -- one memory interface over a live process or a core file */
#ifndef PMPEEK_TARGET_H
#define PMPEEK_TARGET_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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
  uint64_t dev; /* the file's device, major << 32 | minor; 0: unknown */
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
 * does not stop it.  A thread's id opens its process: pm_target_pid() is
 * then the process's.  Returns -ESRCH (no such process), -EPERM/-EACCES, or
 * -ENOMEM; *out is set only on success.
 */
int pm_target_open_pid(struct pm_target **out, pid_t pid, unsigned flags);

/* Options of pm_target_open_core(); zero-initialised means none. */
struct pm_core_options {
  /*
   * The executable on disk, when the path the core records is wrong or
   * absent here.  NULL: the recorded path (under lib_root, if given).
   */
  const char *exe;
  /*
   * A directory under which every file the core maps is looked for, by
   * its recorded absolute path: for cores from containers or other
   * machines.  Nothing is looked for outside it.  NULL: the host's root.
   */
  const char *lib_root;
  /* Read on despite build-id mismatches and a truncated core. */
  int force;
  /*
   * NULL, or a buffer that receives on failure a short lowercase text
   * for messages: the file at fault and why, or what is wrong in the core.
   */
  char *why;
  size_t why_len;
};

/*
 * Opens the ELF core file at path as a target.  Memory comes from the
 * core's PT_LOAD segments and, for the file-backed parts the kernel or gdb
 * left out, from the files its NT_FILE note lists, read on disk (with
 * opts->exe and opts->lib_root applied).  Every mapped ELF file whose
 * first page is in the core must carry the build-id the core shows, and
 * the executable must be found.  The regions (pm_target_maps()) are the
 * NT_FILE entries and the segments; pm_target_region_file() gives the
 * on-disk file; pause and resume do nothing; pm_target_pid() is the pid
 * the core records (0 when it has none).
 *
 * Returns -errno from open(), PM_ENOTCORE (empty, not ELF, an ELF file
 * that is not a core), PM_ECORE (corrupt, of another architecture, or
 * truncated without opts->force), PM_ENOFILE (the executable is not
 * found), PM_EBUILDID (a file differs, without opts->force), -ENOMEM.
 * Mapped files other than the executable that are missing are not an
 * error here: reads that need them fail with -EFAULT, and
 * pm_target_core_info() lists them.  *out is set only on success.
 */
int pm_target_open_core(struct pm_target **out, const char *path,
                        const struct pm_core_options *opts);

/* What pm_target_open_core() found; see pm_target_core_info(). */
struct pm_core_info {
  const char *core;    /* the path given to pm_target_open_core() */
  int signal;          /* the signal that dumped it; 0 (gcore) if none */
  int truncated;       /* cut short, and read anyway (force) */
  const char *forced;  /* first file read despite a build-id mismatch */
  size_t nmissing;     /* mapped files not found on disk */
  const char *missing; /* one of them as looked for, Python's first */
};

/*
 * For a target opened with pm_target_open_core(), what was found while
 * opening it; NULL for a live process.  Owned by t.
 */
const struct pm_core_info *pm_target_core_info(const struct pm_target *t);

/*
 * Opens a recording that pm_target_record_write() made, as a target: its
 * mappings, pid and executable are the recorded ones, reads return the
 * recorded bytes (-EFAULT for any other), and the ELF files it maps answer
 * what they answered while recording (pm__target_elf_open()), so a census
 * of the replay is the census that was recorded.  Pause and resume do
 * nothing.  Every field of the file is checked: it may come from anywhere.
 * Returns -errno from open(), PM_ERECORD (not a recording, or a corrupt
 * one; why then receives a short lowercase reason, as for cores), -ENOMEM.
 */
int pm_target_open_replay(struct pm_target **out, const char *path, char *why,
                          size_t why_len);

/* The same from len bytes at data, which are copied (for fuzzing). */
int pm_target_open_replay_mem(struct pm_target **out, const void *data,
                              size_t len, char *why, size_t why_len);

/* Non-zero when the file at path starts with a recording's magic. */
int pm_target_is_recording(const char *path);

/*
 * Starts recording what is read from t: every byte pm_target_read() hands
 * out and every question asked of a file it maps, until t is freed.  With
 * the mappings, pid and executable, that is all a replay needs to walk the
 * target again as it was walked (for fuzzing, and to report a problem
 * without sending a core).  Returns 0, -EBUSY when already recording,
 * -ENOMEM.
 */
int pm_target_record_start(struct pm_target *t);

/*
 * Writes what was recorded so far to f, with t's current mappings (see
 * src/target/record-format.h).  Returns 0, -EINVAL when t is not
 * recording, -ENOMEM (memory ran out while recording), -EIO.
 */
int pm_target_record_write(struct pm_target *t, FILE *f);

/*
 * Stops every thread of the target (PTRACE_SEIZE + PTRACE_INTERRUPT) so that
 * the walk sees one consistent state, and re-reads its mappings.  Threads
 * that were already stopped stay stopped after pm_target_resume().
 * Returns -EPERM when ptrace is not allowed, -ESRCH when the target is gone,
 * -ETIMEDOUT when a thread did not stop within 2 s (the threads are asked
 * together and given 2 s together), PM_ESTUCK when a thread that did not
 * is in uninterruptible sleep (state D); a thread that did not stop
 * stays traced until the process that called this exits.  With
 * PM_TARGET_NO_PAUSE, or for a core, it does nothing and returns 0.
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
 * PM_EGONE once the target has exited, PM_EINTR when the cancel flag is set,
 * PM_ELIMIT once the reads since the last pause add up to 64 times the
 * target's readable memory (at least 256 MiB; each call counts 32 bytes
 * more): a walk that reads that much is being led in circles by the
 * target's pointers.  Reads go through a cache that pause and resume drop.
 */
int pm_target_read(struct pm_target *t, pm_addr_t addr, void *buf, size_t len);

/* Reads one little-endian 64-bit word. */
int pm_target_read_u64(struct pm_target *t, pm_addr_t addr, uint64_t *out);

/*
 * Makes every later read fail with PM_EINTR once *flag is non-zero (the CLI
 * points it at a variable its SIGINT/SIGTERM handler sets).
 */
void pm_target_set_cancel(struct pm_target *t,
                          const volatile sig_atomic_t *flag);

/* The target's mappings; valid until the next pm_target_pause(). */
const struct pm_maps *pm_target_maps(const struct pm_target *t);

/*
 * Writes into buf a path through which the file behind region r can be
 * opened by pmpeek, even when it was deleted or lives in another mount
 * namespace (/proc/PID/map_files, then /proc/PID/root).  Returns -ENOENT for
 * an anonymous region, -ENAMETOOLONG.
 */
int pm_target_region_file(const struct pm_target *t, const struct pm_region *r,
                          char *buf, size_t len);

/*
 * Non-zero when the target has exited (or is a zombie, whose memory is
 * gone): the cause to report when a walk fails.  Always 0 for a core.
 */
int pm_target_gone(const struct pm_target *t);

/* Process id of the target (the core's pid for a core file). */
pid_t pm_target_pid(const struct pm_target *t);

/*
 * The task of a live target whose /proc files (maps, mem) describe its
 * memory: its pid, or a live thread of it when its main thread has ended
 * before the others.  pm_target_pid() for a core.
 */
pid_t pm_target_task(const struct pm_target *t);

/*
 * Non-zero when tid, a thread of a live target, has ended (is gone or a
 * zombie, as a main thread that ended before the others is).  0 for a
 * core.
 */
int pm_target_thread_ended(const struct pm_target *t, pid_t tid);

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

/*
 * The resident set size of a live target in bytes: Rss of
 * /proc/PID/smaps_rollup, or VmRSS of /proc/PID/status on kernels before
 * 4.14.  -ENOTSUP for a core, -ESRCH, -EACCES.
 */
int pm_target_rss(struct pm_target *t, uint64_t *bytes);

/*
 * Bytes of the pages of [addr, addr + len) that are present in RAM (swapped
 * pages are not), from /proc/PID/pagemap, whole pages.  Reading pagemap
 * never faults pages in.  -ENOTSUP for a core, -ESRCH, -EACCES.
 */
int pm_target_resident(struct pm_target *t, pm_addr_t addr, uint64_t len,
                       uint64_t *bytes);

/* Resumes the target if needed, then frees t.  NULL does nothing. */
void pm_target_free(struct pm_target *t);

#endif
