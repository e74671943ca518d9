/* SPDX-License-Identifier: MIT */
/* fuzz-common.h -- what the libFuzzer harnesses share */
#ifndef PM_FUZZ_COMMON_H
#define PM_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/*
 * The readers under test take paths: the input goes into one memory file,
 * rewritten for each run, and is read back through /proc/self/fd/N.  The
 * descriptor is opened once so that a run leaks nothing.
 */
static int fuzz_fd = -1;
static char fuzz_path[64];

static const char *
fuzz_file(const uint8_t *data, size_t size)
{
  if (fuzz_fd < 0) {
    fuzz_fd = memfd_create("pmpeek-fuzz", MFD_CLOEXEC);
    if (fuzz_fd < 0) {
      perror("memfd_create");
      abort();
    }
    snprintf(fuzz_path, sizeof(fuzz_path), "/proc/self/fd/%d", fuzz_fd);
  }
  if (ftruncate(fuzz_fd, 0) != 0
      || (size && pwrite(fuzz_fd, data, size, 0) != (ssize_t)size)) {
    perror("memfd");
    abort();
  }
  return fuzz_path;
}

#endif
