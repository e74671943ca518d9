/* SPDX-License-Identifier: MIT */
/* floor.c -- the physical floor: copy a process's writable memory out */
#include <config.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>

/*
 * Usage: pmpeek-floor PID [CHUNK_KIB]
 * Reads every private writable mapping of PID (where a Python heap lives:
 * arenas, the malloc heap, the interpreter's data) with process_vm_readv
 * in chunks of CHUNK_KIB KiB (256 by default) into one buffer, and prints
 * "bytes seconds".  The target should be stopped.  This is the least time
 * any outside census of that memory can take; the benchmark divides
 * pmpeek's time by it.
 *
 * The buffer is written before the clock starts, and is small enough to
 * stay in the CPU's L2: a fresh 64 MiB buffer (as this tool had before)
 * charged the copy with the kernel's page faults and with a miss for
 * every line it wrote, and took 1.4 to 1.5 times as long as the copy
 * itself (docs/performance.md).
 */
#define CHUNK_KIB_DEFAULT 256

int
main(int argc, char **argv)
{
  char path[64], line[4096];
  unsigned char *buf;
  struct timespec t0, t1;
  uint64_t total = 0;
  long pid, kib = CHUNK_KIB_DEFAULT;
  size_t chunk;
  FILE *maps;

  if (argc < 2 || argc > 3 || (pid = strtol(argv[1], NULL, 10)) <= 0
      || (argc == 3
          && ((kib = strtol(argv[2], NULL, 10)) < 4 || kib > (1L << 20)))) {
    fprintf(stderr, "usage: pmpeek-floor PID [CHUNK_KIB]\n");
    return 2;
  }
  chunk = (size_t)kib << 10;
  snprintf(path, sizeof(path), "/proc/%ld/maps", pid);
  if (!(maps = fopen(path, "re")) || !(buf = malloc(chunk))) {
    fprintf(stderr, "pmpeek-floor: cannot read '%s': %s\n", path,
            strerror(errno));
    return 1;
  }
  memset(buf, 0xa5, chunk);
  clock_gettime(CLOCK_MONOTONIC, &t0);
  while (fgets(line, sizeof(line), maps)) {
    unsigned long long lo, hi;
    char perms[5];
    if (sscanf(line, "%llx-%llx %4s", &lo, &hi, perms) != 3 || perms[1] != 'w'
        || perms[3] != 'p' || strstr(line, "[stack]") || strstr(line, "[vvar]"))
      continue;
    for (unsigned long long at = lo; at < hi;) {
      size_t n = hi - at < chunk ? (size_t)(hi - at) : chunk;
      struct iovec local = { buf, n }, remote = { (void *)(uintptr_t)at, n };
      ssize_t got = process_vm_readv((pid_t)pid, &local, 1, &remote, 1, 0);
      if (got <= 0)
        break; /* an unreadable stretch: skip the rest of the mapping */
      total += (uint64_t)got;
      at += (unsigned long long)got;
    }
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  fclose(maps);
  free(buf);
  printf("%" PRIu64 " %.6f\n", total,
         (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
  return 0;
}
