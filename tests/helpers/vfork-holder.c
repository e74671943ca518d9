/* SPDX-License-Identifier: MIT */
/*
 * vfork-holder.c -- a process that cannot be stopped for a while.
 *
 * Usage: vfork-holder SECONDS
 *
 * Prints its pid, then vforks a child that sleeps SECONDS and exits.  Until
 * the child is gone the parent waits in the kernel for it (state D), where
 * neither a signal nor PTRACE_INTERRUPT stops it: the test of a target
 * that does not stop in time.  Exits 0 once the child is gone, however it
 * ended (a test kills it to be done sooner).
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
  struct timespec ts = { argc > 1 ? atoi(argv[1]) : 10, 0 };
  pid_t child;
  int status;

  printf("%d\n", (int)getpid());
  fflush(stdout);
  child = vfork();
  if (child == 0) {
    /* Only async-signal-safe calls in a vfork child. */
    nanosleep(&ts, NULL);
    _exit(0);
  }
  return child > 0 && waitpid(child, &status, 0) == child ? 0 : 1;
}
