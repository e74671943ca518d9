/* SPDX-License-Identifier: MIT */
/* test-target.c -- pm_target_read(): region checks, cache, cancel, pause */
#include <config.h>

#include <check.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fake-target.h"
#include "open-fds.h"
#include "pmpeek/error.h"
#include "target/target-elf.h"
#include "target/target-peek.h"
#include "target/target-private.h"

#define BASE 0x10000000ull
#define CHUNK 0x10000ull /* PM_CACHE_CHUNK */

/*
 * A: 96 KiB, so its second chunk is half A, half B.
 * B: adjacent to A, read-only.
 * gap: 0x10030000-0x10038000.
 * F: read-only, just before C.
 * C: mapped but not readable.
 * D: [heap], 192 KiB.
 */
static const char maps_text[]
    = "10000000-10018000 rw-p 00000000 00:00 0\n"
      "10018000-10030000 r--p 00000000 00:00 0\n"
      "10038000-10040000 r--p 00000000 00:00 0\n"
      "10040000-10050000 ---p 00000000 00:00 0\n"
      "10050000-10080000 rw-p 00000000 00:00 0      [heap]\n";

/* The same plus a region E that appears later, in the former gap. */
static const char maps_text_grown[]
    = "10000000-10018000 rw-p 00000000 00:00 0\n"
      "10018000-10030000 r--p 00000000 00:00 0\n"
      "10030000-10031000 rw-p 00000000 fe:00 77     /usr/lib/libfoo.so\n"
      "10038000-10040000 r--p 00000000 00:00 0\n"
      "10040000-10050000 ---p 00000000 00:00 0\n"
      "10050000-10080000 rw-p 00000000 00:00 0      [heap]\n";

/* The same plus 32 MiB readable that nothing reads: a census's size. */
static const char maps_text_big[]
    = "10000000-10018000 rw-p 00000000 00:00 0\n"
      "10018000-10030000 r--p 00000000 00:00 0\n"
      "10038000-10040000 r--p 00000000 00:00 0\n"
      "10040000-10050000 ---p 00000000 00:00 0\n"
      "10050000-10080000 rw-p 00000000 00:00 0      [heap]\n"
      "20000000-22000000 r--p 00000000 00:00 0\n";

static struct fake_target f;
static struct pm_target *t;

/* A byte pattern where every nearby address differs. */
static unsigned char
pat(pm_addr_t a)
{
  return (unsigned char)(a * 131 + (a >> 8) * 7 + (a >> 16));
}

static void
setup(void)
{
  fake_init(&f, BASE, 0x80000, maps_text);
  for (size_t i = 0; i < f.len; i++)
    f.mem[i] = pat(BASE + i);
  t = fake_open(&f);
}

static void
teardown(void)
{
  pm_target_free(t);
  fake_release(&f);
}

/* Reads len bytes at addr through t and checks them against the pattern. */
static void
check_read(pm_addr_t addr, size_t len)
{
  unsigned char *buf = malloc(len);

  ck_assert_ptr_nonnull(buf);
  ck_assert_int_eq(pm_target_read(t, addr, buf, len), 0);
  for (size_t i = 0; i < len; i++)
    if (buf[i] != pat(addr + i))
      ck_abort_msg("wrong byte at 0x%llx", (unsigned long long)(addr + i));
  free(buf);
}

START_TEST(test_open)
{
  const struct pm_maps *m = pm_target_maps(t);

  ck_assert_uint_eq(m->n, 5);
  ck_assert_uint_eq(m->v[4].start, 0x10050000);
  ck_assert_str_eq(m->v[4].path, "[heap]");
  ck_assert_int_eq(pm_target_pid(t), 4242);
  ck_assert_uint_eq(f.refreshes, 1);
  ck_assert_uint_eq(f.reads, 0);
}
END_TEST

START_TEST(test_read_small)
{
  check_read(0x10000100, 8);
  check_read(0x10000000, 1);
  check_read(0x10017ff8, 8); /* last bytes of A */
  check_read(0x1002fff8, 8); /* last bytes of B */
  ck_assert_uint_eq(f.outside, 0);
}
END_TEST

START_TEST(test_read_u64)
{
  uint64_t v;

  fake_put_u64(&f, 0x10050010, 0x1122334455667788ull);
  ck_assert_int_eq(pm_target_read_u64(t, 0x10050010, &v), 0);
  ck_assert_uint_eq(v, 0x1122334455667788ull);
  /* In another chunk: the first one is cached by now. */
  memcpy(f.mem + 0x60020, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
  ck_assert_int_eq(pm_target_read_u64(t, 0x10060020, &v), 0);
  ck_assert_uint_eq(v, 0x0807060504030201ull); /* little-endian */
}
END_TEST

START_TEST(test_cache_one_chunk)
{
  /* Many small reads inside one 64 KiB chunk cost one backend read. */
  for (pm_addr_t a = 0x10050000; a < 0x10050000 + CHUNK - 8; a += 61)
    check_read(a, 8);
  ck_assert_uint_eq(f.reads, 1);
  ck_assert_uint_eq(f.bytes, CHUNK);
  ck_assert_uint_eq(pm_target_bytes_read(t), CHUNK);
  /* The next chunk is one more. */
  check_read(0x10050000 + CHUNK, 8);
  check_read(0x10050000 + CHUNK + 0x800, 8);
  ck_assert_uint_eq(f.reads, 2);
  /* And the first is still cached. */
  check_read(0x10050040, 8);
  ck_assert_uint_eq(f.reads, 2);
}
END_TEST

START_TEST(test_cache_chunk_boundary)
{
  /* 8 bytes in chunk 0x10050000, 8 in chunk 0x10060000. */
  check_read(0x1005fff8, 16);
  ck_assert_uint_eq(f.reads, 2);
  check_read(0x1005fff0, 8);
  check_read(0x10060000, 8);
  ck_assert_uint_eq(f.reads, 2);
  ck_assert_uint_eq(f.outside, 0);
}
END_TEST

START_TEST(test_cache_partial_chunk)
{
  /* A chunk half outside any region is cached for the mapped half only. */
  check_read(0x10010000, 16);
  ck_assert_uint_eq(f.bytes, 0x8000);
  ck_assert_uint_eq(f.outside, 0);
}
END_TEST

START_TEST(test_cache_other_region_same_chunk)
{
  /*
   * The chunk at 0x10010000 cached for A's half only: a read of B's half
   * must not be served from the slot's unfilled bytes.
   */
  check_read(0x10010000, 16);
  check_read(0x1001c000, 16);
  check_read(0x1001fff8, 8);
  check_read(0x10010010, 16);
  ck_assert_uint_eq(f.outside, 0);
}
END_TEST

START_TEST(test_peek)
{
  const unsigned char *p;
  int err = 1;

  /* Bytes in place, charged as read; the same as pm_target_read gives. */
  p = pm__target_peek(t, 0x10054000, 0x4000, &err);
  ck_assert_ptr_nonnull(p);
  ck_assert_int_eq(err, 0);
  for (size_t i = 0; i < 0x4000; i += 97)
    ck_assert_uint_eq(p[i], pat(0x10054000 + i));
  {
    size_t avail = 0;
    ck_assert_ptr_eq(pm__target_cached_span(t, 0x10054010, &avail), p + 0x10);
    /* What the chunk holds from there: to its end. */
    ck_assert_uint_eq(avail, 0x10060000 - 0x10054010);
  }
  /* Reads elsewhere leave the pinned bytes as they are. */
  check_read(0x10060000, 8);
  check_read(0x10000000, 8);
  ck_assert_uint_eq(p[0x123], pat(0x10054123));
  pm__target_unpin(t);
  /* Not within one chunk, or not all mapped: NULL, and no error. */
  ck_assert_ptr_null(pm__target_peek(t, 0x1005fff0, 0x20, &err));
  ck_assert_int_eq(err, 0);
  ck_assert_ptr_null(pm__target_peek(t, 0x10034000, 0x10, &err));
  ck_assert_int_eq(err, 0);
  /* Not cached: NULL, and nothing read. */
  {
    unsigned reads = f.reads;
    size_t avail;
    ck_assert_ptr_null(pm__target_cached_span(t, 0x10070000, &avail));
    ck_assert_ptr_null(pm__target_cached_fast(t, 0x10070000, 8));
    ck_assert_uint_eq(f.reads, reads);
  }
}
END_TEST

START_TEST(test_view)
{
  struct pm_target_window *win = pm__target_window(t);
  const unsigned char *p;
  unsigned reads;
  uint64_t budget;
  size_t n = 0, avail;

  check_read(0x10054000, 8);
  check_read(0x10000000, 8);
  check_read(0x10060000, 8);
  reads = f.reads;
  budget = win->budget;
  ck_assert_ptr_null(pm__target_window_span(t, 0x10054100, &avail));
  /* In place, as many as asked for; the chunk becomes the window's. */
  p = pm__target_view_fast(t, 0x10054100, 16, 96, &n);
  ck_assert_ptr_nonnull(p);
  ck_assert_uint_eq(n, 96);
  ck_assert_uint_eq(p[5], pat(0x10054105));
  ck_assert_ptr_eq(pm__target_window_span(t, 0x10054100, &avail), p);
  /* Cut at the chunk's end, down to min. */
  p = pm__target_view_fast(t, 0x1005fff0, 16, 96, &n);
  ck_assert_ptr_nonnull(p);
  ck_assert_uint_eq(n, 16);
  ck_assert_ptr_null(pm__target_view_fast(t, 0x1005fff8, 16, 96, &n));
  /* Not cached: NULL, nothing read; no look is charged. */
  ck_assert_ptr_null(pm__target_view_fast(t, 0x10070000, 8, 8, &n));
  ck_assert_uint_eq(f.reads, reads);
  ck_assert_uint_eq(win->budget, budget);
}
END_TEST

START_TEST(test_span_regions)
{
  /* A ends and B starts inside the same chunk. */
  check_read(0x10017ff0, 32);
  ck_assert_uint_eq(f.outside, 0);
  /* Back and forth across the boundary. */
  check_read(0x10017ff8, 8);
  check_read(0x10018000, 8);
  check_read(0x10017000, 0x2000);
  ck_assert_uint_eq(f.outside, 0);
}
END_TEST

START_TEST(test_gap)
{
  unsigned char buf[16];

  ck_assert_int_eq(pm_target_read(t, 0x10030000, buf, 8), -EFAULT);
  ck_assert_int_eq(pm_target_read(t, 0x10037ff8, buf, 8), -EFAULT);
  /* Starts readable, ends in the gap: all or nothing. */
  ck_assert_int_eq(pm_target_read(t, 0x1002fff8, buf, 16), -EFAULT);
  /* Before the first region and after the last. */
  ck_assert_int_eq(pm_target_read(t, 0, buf, 8), -EFAULT);
  ck_assert_int_eq(pm_target_read(t, 0x0ffffff8, buf, 16), -EFAULT);
  ck_assert_int_eq(pm_target_read(t, 0x10080000, buf, 8), -EFAULT);
  ck_assert_int_eq(pm_target_read(t, 0x1007fff8, buf, 9), -EFAULT);
  ck_assert_uint_eq(f.outside, 0);
}
END_TEST

START_TEST(test_not_readable)
{
  unsigned char buf[16];

  ck_assert_int_eq(pm_target_read(t, 0x10040000, buf, 8), -EFAULT);
  ck_assert_int_eq(pm_target_read(t, 0x1004fff8, buf, 8), -EFAULT);
  /* Ends in the next, readable region. */
  ck_assert_int_eq(pm_target_read(t, 0x1004fff8, buf, 16), -EFAULT);
  /* Starts readable, ends in C. */
  ck_assert_int_eq(pm_target_read(t, 0x1003fff8, buf, 16), -EFAULT);
  ck_assert_int_eq(pm_target_read(t, 0x1003fff8, buf, 0x20000), -EFAULT);
  ck_assert_uint_eq(f.outside, 0);
}
END_TEST

START_TEST(test_large_read)
{
  /* Bigger than a chunk: A and B together, to the byte before the gap. */
  check_read(0x10000000, 0x30000);
  ck_assert_uint_eq(f.outside, 0);
  check_read(0x10000010, 0x20000);
  ck_assert_uint_eq(f.outside, 0);
}
END_TEST

START_TEST(test_large_read_bypasses_cache)
{
  check_read(0x10050000, 0x30000);
  ck_assert_uint_eq(f.reads, 1);
  ck_assert_uint_eq(f.bytes, 0x30000);
  /* Nothing of it went to the cache. */
  check_read(0x10050000, 8);
  ck_assert_uint_eq(f.reads, 2);
}
END_TEST

START_TEST(test_large_read_fault)
{
  unsigned char *buf = malloc(0x40000);

  ck_assert_ptr_nonnull(buf);
  /* One byte into the gap. */
  ck_assert_int_eq(pm_target_read(t, 0x10000000, buf, 0x30001), -EFAULT);
  /* Over C. */
  ck_assert_int_eq(pm_target_read(t, 0x10030000 - 0x100, buf, 0x40000),
                   -EFAULT);
  free(buf);
  ck_assert_uint_eq(f.outside, 0);
}
END_TEST

START_TEST(test_overflow)
{
  unsigned char buf[16];

  ck_assert_int_eq(pm_target_read(t, UINT64_MAX - 3, buf, 8), -EFAULT);
  ck_assert_int_eq(pm_target_read(t, UINT64_MAX - 7, buf, 8), -EFAULT);
  ck_assert_int_eq(pm_target_read(t, 0x10050000, buf, SIZE_MAX), -EFAULT);
  ck_assert_int_eq(pm_target_read(t, UINT64_MAX, buf, 1), -EFAULT);
  ck_assert_uint_eq(f.reads, 0);
}
END_TEST

START_TEST(test_cancel)
{
  volatile sig_atomic_t stop = 0;
  unsigned char buf[8];

  pm_target_set_cancel(t, &stop);
  check_read(0x10050000, 8);
  stop = 1;
  /* Cached or not, every read fails once the flag is set. */
  ck_assert_int_eq(pm_target_read(t, 0x10060000, buf, 8), PM_EINTR);
  ck_assert_int_eq(pm_target_read(t, 0x10050000, buf, 8), PM_EINTR);
  ck_assert_int_eq(pm_target_read(t, 0x10050000, buf, 0x20000), PM_EINTR);
  stop = 0;
  check_read(0x10060000, 8);
  pm_target_set_cancel(t, NULL);
  check_read(0x10070000, 8);
}
END_TEST

START_TEST(test_backend_error)
{
  unsigned char buf[8];

  f.fail_read = PM_EGONE;
  ck_assert_int_eq(pm_target_read(t, 0x10050000, buf, 8), PM_EGONE);
  ck_assert_int_eq(pm_target_read(t, 0x10050000, buf, 0x10000), PM_EGONE);
  ck_assert_uint_eq(pm_target_bytes_read(t), 0);
  /* A failed fill leaves nothing behind in the cache. */
  f.fail_read = 0;
  check_read(0x10050000, 8);
}
END_TEST

/* The window serves reads inline, and never bytes of a chunk since dropped. */
START_TEST(test_read_fast_window)
{
  /* Five chunks of four readable regions. */
  static const pm_addr_t five[]
      = { 0x10000000, 0x10020000, 0x10050000, 0x10060000, 0x10070000 };
  unsigned char b[8];
  uint64_t v, reads;
  size_t n;

  /* Many reads in one chunk: one backend read, all bytes right. */
  for (pm_addr_t a = 0x10050000; a < 0x10050000 + CHUNK - 8; a += 251) {
    ck_assert_int_eq(pm__target_read_fast(t, a, b, sizeof(b)), 0);
    for (int i = 0; i < 8; i++)
      ck_assert_uint_eq(b[i], pat(a + i));
  }
  ck_assert_uint_eq(f.reads, 1);
  /*
   * One set of four ways (the smallest cache): five chunks read in turn
   * evict each other, and the window must follow the slot it shows
   * (every read is checked).
   */
  pm__target_cache_size(t, 2 * CHUNK);
  for (int round = 0; round < 3; round++)
    for (size_t k = 0; k < sizeof(five) / sizeof(five[0]); k++) {
      pm_addr_t a = five[k] + 16 * (pm_addr_t)round;
      ck_assert_int_eq(pm__target_read_fast(t, a, b, 8), 0);
      for (int i = 0; i < 8; i++)
        ck_assert_uint_eq(b[i], pat(a + i));
    }
  /*
   * The least recently used way is refilled: four chunks fill the set,
   * the third is used again (through the window), and a fifth takes the
   * first one's slot, not the third's.
   */
  {
    static const pm_addr_t seq[] = { 0x10000000, 0x10020000, 0x10050000,
                                     0x10060000, 0x10050008, 0x10070000 };
    for (size_t k = 0; k < sizeof(seq) / sizeof(seq[0]); k++) {
      ck_assert_int_eq(pm__target_read_fast(t, seq[k], b, 8), 0);
      for (int i = 0; i < 8; i++)
        ck_assert_uint_eq(b[i], pat(seq[k] + i));
    }
  }
  reads = f.reads;
  ck_assert_int_eq(pm__target_read_fast(t, 0x10050010, &v, 8), 0);
  ck_assert_int_eq(pm__target_read_fast(t, 0x10060000, &v, 8), 0);
  ck_assert_int_eq(pm__target_read_fast(t, 0x10020000, &v, 8), 0);
  ck_assert_uint_eq(f.reads, reads);
  /* The look without a read knows the same: one chunk cached, one not. */
  ck_assert_ptr_nonnull(pm__target_cached_fast(t, 0x10050010, 8));
  ck_assert_ptr_null(pm__target_cached_fast(t, 0x10000008, 8));
  ck_assert_ptr_null(pm__target_view_fast(t, 0x10000008, 8, 8, &n));
  /* 0x10000000 was evicted: its new bytes must be read. */
  fake_put_u64(&f, 0x10000008, 0x0123456789abcdefull);
  ck_assert_int_eq(pm__target_read_fast(t, 0x10000008, &v, 8), 0);
  ck_assert_uint_eq(v, 0x0123456789abcdefull);
  ck_assert_uint_eq(f.reads, reads + 1);
  /* A read outside any window still checks the regions. */
  ck_assert_int_eq(pm__target_read_fast(t, 0x10034000, &v, 8), -EFAULT);
  pm__target_cache_size(t, PM_TARGET_CACHE_MAX);
  check_read(0x10000100, 64);
}
END_TEST

/*
 * The window shows the last two chunks read: an object's chunk and the
 * one of its items are both served inline, and a third chunk sends the
 * older one away; dropped chunks leave it.
 */
START_TEST(test_read_fast_two_chunks)
{
  static const pm_addr_t a = 0x10050000, b = 0x10060000, c = 0x10070000;
  size_t avail;
  uint64_t v;

  check_read(a, 8);
  check_read(b, 8);
  for (pm_addr_t k = 0; k < 16; k++) {
    unsigned reads = f.reads;
    check_read(a + 8 * k, 8);
    check_read(b + 8 * k, 8);
    ck_assert_uint_eq(f.reads, reads);
    ck_assert_ptr_nonnull(pm__target_window_span(t, a + 8 * k, &avail));
    ck_assert_ptr_nonnull(pm__target_window_span(t, b + 8 * k, &avail));
  }
  /* The newer is b: c sends a away. */
  check_read(c, 8);
  ck_assert_ptr_null(pm__target_window_span(t, a, &avail));
  ck_assert_ptr_nonnull(pm__target_window_span(t, b, &avail));
  ck_assert_ptr_nonnull(pm__target_window_span(t, c, &avail));
  /* A cache emptied shows neither: new bytes are read. */
  pm__target_cache_size(t, 2 * CHUNK);
  ck_assert_ptr_null(pm__target_window_span(t, b, &avail));
  ck_assert_ptr_null(pm__target_window_span(t, c, &avail));
  fake_put_u64(&f, b + 8, 0x0123456789abcdefull);
  ck_assert_int_eq(pm__target_read_fast(t, b + 8, &v, 8), 0);
  ck_assert_uint_eq(v, 0x0123456789abcdefull);
  pm__target_cache_size(t, PM_TARGET_CACHE_MAX);
}
END_TEST

/* Small copies without a call: every length, and no byte past it. */
START_TEST(test_copy_small)
{
  unsigned char src[80], dst[80];

  for (size_t i = 0; i < sizeof(src); i++)
    src[i] = (unsigned char)(i * 37 + 1);
  for (size_t len = 0; len <= 64; len++) {
    memset(dst, 0xee, sizeof(dst));
    pm__copy_small(dst, src + 3, len);
    for (size_t i = 0; i < len; i++)
      ck_assert_uint_eq(dst[i], src[3 + i]);
    for (size_t i = len; i < sizeof(dst); i++)
      ck_assert_uint_eq(dst[i], 0xee);
  }
}
END_TEST

/* The window honours the read budget and the cancel flag. */
START_TEST(test_read_fast_cancel)
{
  static volatile sig_atomic_t flag;
  uint64_t v;

  flag = 0;
  pm_target_set_cancel(t, &flag);
  ck_assert_int_eq(pm__target_read_fast(t, 0x10050000, &v, 8), 0);
  flag = 1;
  ck_assert_int_eq(pm__target_read_fast(t, 0x10050008, &v, 8), PM_EINTR);
  pm_target_set_cancel(t, NULL);
  ck_assert_int_eq(pm__target_read_fast(t, 0x10050008, &v, 8), 0);
}
END_TEST

/* A clone reads the same target through a cache of its own. */
START_TEST(test_clone)
{
  struct pm_target_ops ops = fake_target_ops;
  struct pm_target *c = NULL, *u = NULL;
  unsigned char b[16];
  uint64_t left;

  /* The fake's backend is not declared safe for two threads. */
  ck_assert_int_eq(pm__target_clone(t, &c), -ENOTSUP);
  ops.concurrent = 1;
  ck_assert_int_eq(pm__target_new(&u, &ops, &f, 4242), 0);
  ck_assert_int_eq(pm__target_clone(u, &c), 0);
  ck_assert_int_eq(pm_target_read(c, 0x10050010, b, sizeof(b)), 0);
  for (int i = 0; i < 16; i++)
    ck_assert_uint_eq(b[i], pat(0x10050010 + i));
  ck_assert_uint_eq(pm_target_bytes_read(c), CHUNK);
  ck_assert_uint_eq(pm_target_bytes_read(u), 0);
  ck_assert_int_eq(pm_target_read(c, 0x10034000, b, 8), -EFAULT);
  /* Only the origin stops and lets go of the target. */
  ck_assert_int_eq(pm_target_pause(c), -EINVAL);
  ck_assert_int_eq(pm_target_resume(c), 0);
  ck_assert_uint_eq(f.pauses, 0);
  ck_assert_uint_eq(f.resumes, 0);
  /* Freeing the clone leaves the backend to its origin, and its spending. */
  left = pm__target_window(c)->budget;
  ck_assert_uint_lt(left, pm__target_window(u)->budget);
  pm_target_free(c);
  ck_assert_uint_eq(f.closes, 0);
  ck_assert_uint_eq(pm__target_window(u)->budget, left);
  ck_assert_int_eq(pm_target_read(u, 0x10050010, b, sizeof(b)), 0);
  ck_assert_uint_eq(b[0], pat(0x10050010));
  pm_target_free(u);
  ck_assert_uint_eq(f.closes, 1);
}
END_TEST

/* Whether the len bytes at p are all in memory (mincore()). */
static int
resident(const void *p, size_t len)
{
  size_t page = (size_t)sysconf(_SC_PAGESIZE), n = (len + page - 1) / page;
  unsigned char *v = malloc(n);
  int all = v && mincore((void *)p, len, v) == 0;

  for (size_t i = 0; all && i < n; i++)
    all = v[i] & 1;
  free(v);
  return all;
}

/*
 * A clone's cache memory is made ready at the pause, before the target
 * waits, taken by the clone and given back when it is freed: the next
 * clone (a periodic census's next walk) reuses it.
 */
START_TEST(test_clone_spare)
{
  struct pm_target_ops ops = fake_target_ops;
  struct pm_target *c = NULL, *d = NULL, *u = NULL;
  unsigned char b[16], *spare;

  ops.concurrent = 1;
  f.maps_text = maps_text_big;
  ck_assert_int_eq(pm__target_new(&u, &ops, &f, 4242), 0);
  ck_assert_ptr_null(u->spare_mem);
  ck_assert_int_eq(pm_target_pause(u), 0);
  ck_assert_ptr_nonnull(spare = u->spare_mem);
  ck_assert_ptr_ne(spare, u->cache_mem);
  /* Both faulted in before the pause: the sets in use, the clone's. */
  ck_assert(resident(u->cache_mem, PM_TARGET_CACHE_DEFAULT));
  ck_assert(resident(spare, PM_TARGET_CACHE_DEFAULT));
  ck_assert_int_eq(pm__target_clone(u, &c), 0);
  ck_assert_ptr_eq(c->cache_mem, spare);
  ck_assert_ptr_null(u->spare_mem);
  ck_assert_int_eq(pm_target_read(c, 0x10050010, b, sizeof(b)), 0);
  for (int i = 0; i < 16; i++)
    ck_assert_uint_eq(b[i], pat(0x10050010 + i));
  pm_target_free(c);
  ck_assert_ptr_eq(u->spare_mem, spare);
  /* The next pause keeps it; the next clone takes it, its old bytes gone. */
  ck_assert_int_eq(pm_target_resume(u), 0);
  ck_assert_int_eq(pm_target_pause(u), 0);
  ck_assert_ptr_eq(u->spare_mem, spare);
  ck_assert_int_eq(pm__target_clone(u, &c), 0);
  ck_assert_ptr_eq(c->cache_mem, spare);
  ck_assert_uint_eq(pm_target_bytes_read(c), 0);
  ck_assert_int_eq(pm_target_read(c, 0x10050010, b, sizeof(b)), 0);
  ck_assert_uint_eq(pm_target_bytes_read(c), CHUNK);
  ck_assert_uint_eq(b[3], pat(0x10050013));
  /* A second clone meanwhile makes its own, freed when the origin has one. */
  ck_assert_int_eq(pm__target_clone(u, &d), 0);
  ck_assert_int_eq(pm_target_read(d, 0x10050010, b, sizeof(b)), 0);
  ck_assert_ptr_nonnull(d->cache_mem);
  ck_assert_ptr_ne(d->cache_mem, spare);
  pm_target_free(c);
  ck_assert_ptr_eq(u->spare_mem, spare);
  pm_target_free(d);
  ck_assert_ptr_eq(u->spare_mem, spare);
  pm_target_free(u);
  ck_assert_uint_eq(f.closes, 1);
}
END_TEST

/*
 * Not for a target too small for a census's second walker, nor one that
 * cannot have clones: a clone then makes its own, left to the origin.
 */
START_TEST(test_clone_no_spare)
{
  struct pm_target_ops ops = fake_target_ops;
  struct pm_target *c = NULL, *u = NULL;
  unsigned char b[8], *mem;

  ops.concurrent = 1;
  ck_assert_int_eq(pm__target_new(&u, &ops, &f, 4242), 0);
  ck_assert_int_eq(pm_target_pause(u), 0);
  ck_assert_ptr_null(u->spare_mem);
  ck_assert_int_eq(pm__target_clone(u, &c), 0);
  ck_assert_int_eq(pm_target_read(c, 0x10050010, b, sizeof(b)), 0);
  ck_assert_ptr_nonnull(mem = c->cache_mem);
  pm_target_free(c);
  ck_assert_ptr_eq(u->spare_mem, mem);
  pm_target_free(u);
  f.maps_text = maps_text_big;
  ck_assert_int_eq(pm__target_new(&u, &fake_target_ops, &f, 4242), 0);
  ck_assert_int_eq(pm_target_pause(u), 0);
  ck_assert_ptr_null(u->spare_mem);
  pm_target_free(u);
}
END_TEST

START_TEST(test_pause_drops_cache)
{
  check_read(0x10050100, 8);
  /* Unpaused, the cache serves the old bytes... */
  memset(f.mem + 0x50100, 0xaa, 8);
  check_read(0x10050100, 1);
  /* ...until pause drops it. */
  ck_assert_int_eq(pm_target_pause(t), 0);
  ck_assert_uint_eq(f.pauses, 1);
  {
    unsigned char buf[8], want[8];
    memset(want, 0xaa, 8);
    ck_assert_int_eq(pm_target_read(t, 0x10050100, buf, 8), 0);
    ck_assert_mem_eq(buf, want, 8);
    /* Changed while paused (not by the target): still cached. */
    memset(f.mem + 0x50100, 0xbb, 8);
    ck_assert_int_eq(pm_target_read(t, 0x10050100, buf, 8), 0);
    ck_assert_mem_eq(buf, want, 8);
    /* Resume drops it too. */
    ck_assert_int_eq(pm_target_resume(t), 0);
    ck_assert_uint_eq(f.resumes, 1);
    memset(want, 0xbb, 8);
    ck_assert_int_eq(pm_target_read(t, 0x10050100, buf, 8), 0);
    ck_assert_mem_eq(buf, want, 8);
  }
  ck_assert_uint_ge(pm_target_pause_seconds(t), 0.0);
}
END_TEST

/*
 * The epoch a reader keeps cached facts under (pm_python's keys memo)
 * changes whenever the cache forgets, and no two caches share one.
 */
START_TEST(test_epoch)
{
  struct pm_target_ops ops = fake_target_ops;
  struct pm_target *c = NULL, *u = NULL;
  uint64_t e = pm__target_epoch(t);

  check_read(0x10050100, 8);
  ck_assert_uint_eq(pm__target_epoch(t), e);
  ck_assert_int_eq(pm_target_pause(t), 0);
  ck_assert_uint_ne(pm__target_epoch(t), e);
  e = pm__target_epoch(t);
  check_read(0x10050100, 8);
  ck_assert_uint_eq(pm__target_epoch(t), e);
  pm__target_cache_size(t, PM_TARGET_CACHE_MAX);
  ck_assert_uint_ne(pm__target_epoch(t), e);
  e = pm__target_epoch(t);
  ck_assert_int_eq(pm_target_resume(t), 0);
  ck_assert_uint_ne(pm__target_epoch(t), e);
  ops.concurrent = 1;
  ck_assert_int_eq(pm__target_new(&u, &ops, &f, 4242), 0);
  ck_assert_int_eq(pm__target_clone(u, &c), 0);
  ck_assert_uint_ne(pm__target_epoch(u), pm__target_epoch(t));
  ck_assert_uint_ne(pm__target_epoch(c), pm__target_epoch(u));
  pm_target_free(c);
  pm_target_free(u);
}
END_TEST

START_TEST(test_pause_refreshes_maps)
{
  unsigned char buf[8];

  ck_assert_int_eq(pm_target_read(t, 0x10030000, buf, 8), -EFAULT);
  f.maps_text = maps_text_grown;
  /* Mappings are re-read at pause, not before. */
  ck_assert_int_eq(pm_target_read(t, 0x10030000, buf, 8), -EFAULT);
  ck_assert_int_eq(pm_target_pause(t), 0);
  ck_assert_uint_eq(pm_target_maps(t)->n, 6);
  check_read(0x10030000, 8);
  check_read(0x1002fff8, 16); /* B into E */
  ck_assert_int_eq(pm_target_resume(t), 0);
  ck_assert_uint_eq(f.outside, 0);
}
END_TEST

START_TEST(test_pause_error)
{
  f.pause_err = -EPERM;
  ck_assert_int_eq(pm_target_pause(t), -EPERM);
  /* Resuming after a failed pause is safe. */
  pm_target_resume(t);
  check_read(0x10050000, 8);
}
END_TEST

START_TEST(test_region_file)
{
  const struct pm_maps *m;
  char buf[64];

  f.maps_text = maps_text_grown;
  ck_assert_int_eq(pm_target_pause(t), 0);
  m = pm_target_maps(t);
  ck_assert_int_eq(pm_target_region_file(t, &m->v[0], buf, sizeof(buf)),
                   -ENOENT); /* anonymous */
  ck_assert_int_eq(pm_target_region_file(t, &m->v[5], buf, sizeof(buf)),
                   -ENOENT); /* [heap] */
  ck_assert_int_eq(pm_target_region_file(t, &m->v[2], buf, sizeof(buf)), 0);
  ck_assert_str_eq(buf, "/usr/lib/libfoo.so");
}
END_TEST

START_TEST(test_free)
{
  struct fake_target g;
  struct pm_target *u;

  pm_target_free(NULL);
  fake_init(&g, BASE, 0x1000, "10000000-10001000 r--p 00000000 00:00 0\n");
  u = fake_open(&g);
  ck_assert_int_eq(pm_target_pause(u), 0);
  pm_target_free(u);
  /* Freed while paused: resumed first, closed once. */
  ck_assert_uint_eq(g.resumes, 1);
  ck_assert_uint_eq(g.closes, 1);
  fake_release(&g);
}
END_TEST

START_TEST(test_new_fails)
{
  struct fake_target g;
  struct pm_target *u = NULL;

  fake_init(&g, BASE, 0x1000, "not maps\n");
  ck_assert_int_eq(pm__target_new(&u, &fake_target_ops, &g, 1), -EINVAL);
  ck_assert_ptr_null(u);
  /* The context was handed over, so it is closed on failure too. */
  ck_assert_uint_eq(g.closes, 1);
  fake_release(&g);
}
END_TEST

/*
 * The ELF files a target opened are kept for the same mapping, across
 * pauses, up to PM_TARGET_ELF_KEPT of them, and closed with the target.
 * Every region maps this test's own executable, each at its own place
 * with its own inode; then the first on another device, the second with
 * another inode, as after an exec.
 */
START_TEST(test_elf_kept)
{
  enum { N = PM_TARGET_ELF_KEPT + 2 };
  static char text[N * (PATH_MAX + 64)], text2[N * (PATH_MAX + 64)];
  char exe[PATH_MAX];
  ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  struct pm_elf *e[N], *again;
  const struct pm_maps *m;
  struct fake_target g;
  struct pm_target *u;
  size_t at = 0;
  int fds;

  ck_assert_int_gt(len, 0);
  exe[len] = '\0';
  for (int i = 0, at2 = 0; i < N; i++) {
    unsigned long long lo = BASE + (unsigned long long)i * 0x1000;
    at += (size_t)snprintf(text + at, sizeof(text) - at,
                           "%llx-%llx r--p 00000000 08:01 %d %s\n", lo,
                           lo + 0x1000, 100 + i, exe);
    at2 += snprintf(text2 + at2, sizeof(text2) - (size_t)at2,
                    "%llx-%llx r--p 00000000 08:0%d %d %s\n", lo, lo + 0x1000,
                    i == 0 ? 2 : 1, i == 1 ? 999 : 100 + i, exe);
  }
  fake_init(&g, BASE, (size_t)N * 0x1000, text);
  u = fake_open(&g);
  ck_assert_int_eq(pm_target_pause(u), 0);
  m = pm_target_maps(u);
  ck_assert_uint_eq(m->n, N);
  fds = open_fds();
  for (int i = 0; i < N; i++) {
    ck_assert_int_eq(pm__target_elf_open(u, &m->v[i], &e[i]), 0);
    for (int k = 0; k < i; k++)
      ck_assert_ptr_ne(e[i], e[k]);
  }
  /* The first ones again, after a pause: the same files, still open. */
  ck_assert_int_eq(pm_target_resume(u), 0);
  ck_assert_int_eq(pm_target_pause(u), 0);
  m = pm_target_maps(u);
  for (int i = 0; i < N; i++) {
    ck_assert_int_eq(pm__target_elf_open(u, &m->v[i], &again), 0);
    if (i < PM_TARGET_ELF_KEPT)
      ck_assert_ptr_eq(again, e[i]);
    else
      ck_assert_ptr_ne(again, e[i]);
    pm__elf_free(again);
  }
  /* Another file there now: not the one kept. */
  g.maps_text = text2;
  ck_assert_int_eq(pm_target_resume(u), 0);
  ck_assert_int_eq(pm_target_pause(u), 0);
  m = pm_target_maps(u);
  for (int i = 0; i < 3; i++) {
    ck_assert_int_eq(pm__target_elf_open(u, &m->v[i], &again), 0);
    if (i < 2)
      ck_assert_ptr_ne(again, e[i]);
    else
      ck_assert_ptr_eq(again, e[i]);
    pm__elf_free(again);
  }
  for (int i = 0; i < N; i++)
    pm__elf_free(e[i]);
  ck_assert_int_eq(open_fds(), fds + PM_TARGET_ELF_KEPT);
  pm_target_free(u);
  ck_assert_int_eq(open_fds(), fds);
  fake_release(&g);
}
END_TEST

static Suite *
target_suite(void)
{
  Suite *s = suite_create("target");
  TCase *tc;

  tc = tcase_create("read");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_open);
  tcase_add_test(tc, test_read_small);
  tcase_add_test(tc, test_read_u64);
  tcase_add_test(tc, test_span_regions);
  tcase_add_test(tc, test_cache_other_region_same_chunk);
  tcase_add_test(tc, test_peek);
  tcase_add_test(tc, test_view);
  tcase_add_test(tc, test_gap);
  tcase_add_test(tc, test_not_readable);
  tcase_add_test(tc, test_large_read);
  tcase_add_test(tc, test_large_read_fault);
  tcase_add_test(tc, test_overflow);
  tcase_add_test(tc, test_backend_error);
  tcase_add_test(tc, test_cancel);
  tcase_add_test(tc, test_epoch);
  suite_add_tcase(s, tc);

  tc = tcase_create("cache");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_cache_one_chunk);
  tcase_add_test(tc, test_cache_chunk_boundary);
  tcase_add_test(tc, test_cache_partial_chunk);
  tcase_add_test(tc, test_large_read_bypasses_cache);
  tcase_add_test(tc, test_clone_spare);
  tcase_add_test(tc, test_clone_no_spare);
  tcase_add_test(tc, test_pause_drops_cache);
  tcase_add_test(tc, test_read_fast_window);
  tcase_add_test(tc, test_read_fast_two_chunks);
  tcase_add_test(tc, test_copy_small);
  tcase_add_test(tc, test_read_fast_cancel);
  tcase_add_test(tc, test_clone);
  suite_add_tcase(s, tc);

  tc = tcase_create("lifecycle");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_pause_refreshes_maps);
  tcase_add_test(tc, test_pause_error);
  tcase_add_test(tc, test_region_file);
  tcase_add_test(tc, test_free);
  tcase_add_test(tc, test_new_fails);
  tcase_add_test(tc, test_elf_kept);
  suite_add_tcase(s, tc);
  return s;
}

int
main(void)
{
  SRunner *sr = srunner_create(target_suite());
  int failed;

  srunner_set_tap(sr, "-");
  srunner_run_all(sr, CK_SILENT);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
