/* SPDX-License-Identifier: MIT */
/* error.h -- pmpeek's error codes and the exit codes they map to */
#ifndef PMPEEK_ERROR_H
#define PMPEEK_ERROR_H

/*
 * Every pmpeek function that can fail returns 0 or a negative code: either
 * -errno for a system error or one of the PM_E* codes below, which sit far
 * below any errno value.  The table is the single source of the codes, their
 * messages and the process exit status the CLI uses for them.
 *
 *   X(name, value, exit status, message)
 */
#define PM_ERRNO_MAP(X)                                                        \
  X(EUSAGE, -4000, 2, "invalid arguments")                                     \
  X(ENOPYTHON, -4001, 5, "not a Python process")                               \
  X(ENOVERSION, -4002, 6, "unsupported Python version")                        \
  X(EOFFSETS, -4003, 6, "layout does not match the target")                    \
  X(EGONE, -4004, 7, "the target exited during the walk")                      \
  X(ECORRUPT, -4005, 8, "inconsistent target memory")                          \
  X(EELF, -4006, 8, "malformed ELF file")                                      \
  X(ENOSYM, -4007, 5, "symbol not found")                                      \
  X(EINTR, -4008, 130, "interrupted")                                          \
  X(ELIMIT, -4009, 8, "a limit was exceeded while walking the target")         \
  X(EFREETHREADED, -4010, 6, "free-threaded builds are not supported yet")     \
  X(EFORMAT, -4011, 2, "not a pmpeek snapshot")                                \
  X(ENOTCORE, -4012, 2, "not an ELF core file")                                \
  X(ECORE, -4013, 8, "truncated or corrupt core file")                         \
  X(ENOFILE, -4014, 10, "a file the core maps is missing")                     \
  X(EBUILDID, -4015, 10, "a file on disk is not the one the core maps")        \
  X(ERECORD, -4016, 8, "not a pmpeek recording, or a corrupt one")             \
  X(ESTUCK, -4017, 9, "a thread in uninterruptible sleep did not stop")

enum pm_errno {
#define PM__ERR_ENUM(name, value, status, msg) PM_##name = value,
  PM_ERRNO_MAP(PM__ERR_ENUM)
#undef PM__ERR_ENUM
};

/*
 * A static, human-readable message for err (a PM_E* code or -errno).
 * Never NULL.
 */
const char *pm_strerror(int err);

/*
 * The documented exit status for err: 0 for 0, else the table's status, or
 * for -errno: 3 no such process, 4 permission denied, 8 unreadable memory,
 * 9 anything else.  10: a core's files on disk are missing or differ.
 */
int pm_exit_status(int err);

#endif
