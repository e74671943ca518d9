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
 * "bytes seconds": the time of the copies alone.  Exits 2 on bad usage,
 * 1 when the maps cannot be read or the process goes away.  The target
 * should be stopped.  This is the least time a census from outside, on
 * one thread, can take to read that memory; the benchmark divides
 * pmpeek's time by it.
 *
 * The buffer is written before the clock starts, and is small enough to
 * stay in the CPU's L2 (2 MiB here): a fresh 64 MiB buffer (as this tool
 * had before) charged the copy with the kernel's page faults and with a
 * miss for every line it wrote, and took 1.4 to 1.5 times as long as the
 * copy itself (docs/performance.md).
 */
#define CHUNK_KIB_DEFAULT 256

struct range {
  unsigned long long lo, hi;
};

/* A whole decimal number in [lo, hi] from s: 0, or -1. */
static int
number(const char *s, long lo, long hi, long *out)
{
  char *end;
  long v;

  errno = 0;
  v = strtol(s, &end, 10);
  if (errno || end == s || *end || v < lo || v > hi)
    return -1;
  *out = v;
  return 0;
}

/*
 * The private writable mappings of pid (not its stack), read before the
 * clock starts: only the copies are timed.  The count, or -1 with errno.
 */
static long
writable(long pid, struct range **out)
{
  char path[64], line[4096];
  struct range *v = NULL, *grown;
  size_t n = 0, cap = 0;
  FILE *maps;

  snprintf(path, sizeof(path), "/proc/%ld/maps", pid);
  if (!(maps = fopen(path, "re")))
    return -1;
  while (fgets(line, sizeof(line), maps)) {
    unsigned long long lo, hi;
    char perms[5];
    if (sscanf(line, "%llx-%llx %4s", &lo, &hi, perms) != 3 || perms[1] != 'w'
        || perms[3] != 'p' || strstr(line, "[stack]") || strstr(line, "[vvar]"))
      continue;
    if (n == cap) {
      cap = cap ? 2 * cap : 64;
      if (!(grown = realloc(v, cap * sizeof(*v)))) {
        free(v);
        fclose(maps);
        errno = ENOMEM;
        return -1;
      }
      v = grown;
    }
    v[n++] = (struct range){ lo, hi };
  }
  fclose(maps);
  *out = v;
  return (long)n;
}

int
main(int argc, char **argv)
{
  unsigned char *buf;
  struct timespec t0, t1;
  struct range *maps = NULL;
  uint64_t total = 0;
  long pid, kib = CHUNK_KIB_DEFAULT, nmaps;
  size_t chunk;

  if (argc < 2 || argc > 3 || number(argv[1], 1, INT32_MAX, &pid)
      || (argc == 3 && number(argv[2], 4, 1L << 20, &kib))) {
    fprintf(stderr, "usage: pmpeek-floor PID [CHUNK_KIB]\n");
    return 2;
  }
  chunk = (size_t)kib << 10;
  if ((nmaps = writable(pid, &maps)) < 0) {
    fprintf(stderr, "pmpeek-floor: cannot read the maps of %ld: %s\n", pid,
            strerror(errno));
    return 1;
  }
  if (!(buf = malloc(chunk))) {
    fprintf(stderr, "pmpeek-floor: no memory for a buffer of %ld KiB\n", kib);
    return 1;
  }
  memset(buf, 0xa5, chunk);
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (long i = 0; i < nmaps; i++) {
    for (unsigned long long at = maps[i].lo, hi = maps[i].hi; at < hi;) {
      size_t n = hi - at < chunk ? (size_t)(hi - at) : chunk;
      struct iovec local = { buf, n }, remote = { (void *)(uintptr_t)at, n };
      ssize_t got = process_vm_readv((pid_t)pid, &local, 1, &remote, 1, 0);
      if (got < 0 && errno == ESRCH) {
        fprintf(stderr, "pmpeek-floor: process %ld is gone\n", pid);
        return 1;
      }
      if (got <= 0)
        break; /* an unreadable stretch: skip the rest of the mapping */
      total += (uint64_t)got;
      at += (unsigned long long)got;
    }
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  free(maps);
  free(buf);
  printf("%" PRIu64 " %.6f\n", total,
         (double)(t1.tv_sec - t0.tv_sec)
             + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
  return 0;
}
