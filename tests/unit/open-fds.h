/* SPDX-License-Identifier: MIT */
/* open-fds.h -- how many descriptors a unit test has open */
#ifndef PM_TEST_OPEN_FDS_H
#define PM_TEST_OPEN_FDS_H

#include <stdio.h>
#include <unistd.h>

/* Descriptors below 1024 open in this process now. */
static inline int
open_fds(void)
{
  char path[64];
  int n = 0;

  for (int fd = 0; fd < 1024; fd++) {
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    n += access(path, F_OK) == 0;
  }
  return n;
}

#endif
