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
 * in chunks into one buffer, and prints "bytes seconds chunk_kib": the
 * time of the copies alone, and the chunk they took.  Exits 2 on bad
 * usage, 1 when the maps cannot be read or the process goes away.  The
 * target should be stopped.  This is the least time a census from
 * outside, on one thread, can take to read that memory; the benchmark
 * divides pmpeek's time by it.
 *
 * Without CHUNK_KIB the chunk is the one that copies fastest here: each
 * of 16 to 512 KiB copies the first CALIBRATE_MIB of the memory, twice in
 * turn, before the clock starts (on the guests measured 128 to 512 KiB
 * were within a tenth of each other, and 16 KiB paid for its calls).
 *
 * The buffer is written before the clock starts, and is small enough to
 * stay in the CPU's L2: a fresh 64 MiB buffer (as this tool had before)
 * charged the copy with the kernel's page faults and with a miss for
 * every line it wrote, and took 1.4 to 1.5 times as long as the copy
 * itself.  It starts half a page past a page boundary: the copies start
 * at page boundaries of the target, and a buffer 16 bytes past one (what
 * malloc() gave for a buffer of 128 KiB or more) made each load of the
 * kernel's copy wait on the store just before it to the same offset in a
 * page (4 KiB aliasing): 3.5 times as slow on an AMD EPYC guest
 * (docs/performance.md).
 */
#define CHUNK_KIB_MIN 16
#define NCHUNKS 6 /* 16, 32, ... 512 KiB */
#define CHUNK_KIB_MAX (CHUNK_KIB_MIN << (NCHUNKS - 1))
#define CALIBRATE_MIB 64
#define PAGE 4096

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

static double
seconds(const struct timespec *a, const struct timespec *b)
{
  return (double)(b->tv_sec - a->tv_sec)
         + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

/*
 * Copies the mappings, at most limit bytes of them, in chunks of chunk
 * bytes into buf: the bytes copied, or -1 when the process is gone.
 * *took: the time of the copies.
 */
static int64_t
copy(long pid, const struct range *maps, long nmaps, unsigned char *buf,
     size_t chunk, uint64_t limit, double *took)
{
  struct timespec t0, t1;
  uint64_t total = 0;

  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (long i = 0; i < nmaps && total < limit; i++) {
    for (unsigned long long at = maps[i].lo, hi = maps[i].hi;
         at < hi && total < limit;) {
      size_t n = hi - at < chunk ? (size_t)(hi - at) : chunk;
      struct iovec local = { buf, n }, remote = { (void *)(uintptr_t)at, n };
      ssize_t got = process_vm_readv((pid_t)pid, &local, 1, &remote, 1, 0);
      if (got < 0 && errno == ESRCH)
        return -1;
      if (got <= 0)
        break; /* an unreadable stretch: skip the rest of the mapping */
      total += (uint64_t)got;
      at += (unsigned long long)got;
    }
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  *took = seconds(&t0, &t1);
  return (int64_t)total;
}

/*
 * The chunk in KiB that copies the first CALIBRATE_MIB of the mappings
 * fastest, each size tried twice in turn (the best of each counts); 0
 * when the process is gone.
 */
static long
calibrate(long pid, const struct range *maps, long nmaps, unsigned char *buf)
{
  double best[NCHUNKS], took;
  size_t k, pick = 0;

  for (k = 0; k < NCHUNKS; k++)
    best[k] = 1e30;
  for (int round = 0; round < 2; round++)
    for (k = 0; k < NCHUNKS; k++) {
      if (copy(pid, maps, nmaps, buf, (size_t)CHUNK_KIB_MIN << (k + 10),
               (uint64_t)CALIBRATE_MIB << 20, &took)
          < 0)
        return 0;
      if (took < best[k])
        best[k] = took;
    }
  for (k = 0; k < NCHUNKS; k++)
    if (best[k] < best[pick])
      pick = k;
  return (long)CHUNK_KIB_MIN << pick;
}

int
main(int argc, char **argv)
{
  unsigned char *mem, *buf;
  struct range *maps = NULL;
  int64_t total;
  long pid, kib = 0, nmaps;
  size_t size;
  double took;

  if (argc < 2 || argc > 3 || number(argv[1], 1, INT32_MAX, &pid)
      || (argc == 3 && number(argv[2], 4, 1L << 20, &kib))) {
    fprintf(stderr, "usage: pmpeek-floor PID [CHUNK_KIB]\n");
    return 2;
  }
  if ((nmaps = writable(pid, &maps)) < 0) {
    fprintf(stderr, "pmpeek-floor: cannot read the maps of %ld: %s\n", pid,
            strerror(errno));
    return 1;
  }
  size = (size_t)(kib > CHUNK_KIB_MAX ? kib : CHUNK_KIB_MAX) << 10;
  if (!(mem = aligned_alloc(PAGE, size + PAGE))) {
    fprintf(stderr, "pmpeek-floor: no memory for a buffer of %zu KiB\n",
            size >> 10);
    return 1;
  }
  buf = mem + PAGE / 2;
  memset(buf, 0xa5, size);
  if ((!kib && !(kib = calibrate(pid, maps, nmaps, buf)))
      || (total
          = copy(pid, maps, nmaps, buf, (size_t)kib << 10, UINT64_MAX, &took))
             < 0) {
    fprintf(stderr, "pmpeek-floor: process %ld is gone\n", pid);
    return 1;
  }
  free(maps);
  free(mem);
  printf("%" PRId64 " %.6f %ld\n", total, took, kib);
  return 0;
}
