/* SPDX-License-Identifier: MIT */
/* target-peek.h -- bytes of a target in place, for walkers that scan */
#ifndef PM_TARGET_PEEK_H
#define PM_TARGET_PEEK_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pmpeek/target.h"

/* What each read costs beyond its bytes, against the read budget. */
#define PM_READ_CALL_COST 32

/*
 * The chunks of the read cache the last two cached reads from different
 * chunks were served from: the walkers read many fields of one object,
 * mostly from one chunk, and the items, keys or values it has elsewhere
 * from another; pm__target_read_fast() serves those without a call.  It
 * is the first member of struct pm_target (so pm__target_window() is a
 * cast), kept by target.c: len (len2) is 0 while no chunk is the window
 * (none hit yet, the chunk refilled or dropped, a recording under way).
 * budget and cancel are the target's read budget and cancel flag, which
 * every read, fast or not, honours.
 */
struct pm_target_window {
  pm_addr_t base; /* [base, base + len) is at data: the newer chunk */
  uint64_t len;
  const unsigned char *data;
  pm_addr_t base2; /* the older one */
  uint64_t len2;
  const unsigned char *data2;
  uint64_t budget; /* bytes reads may still hand out */
  const volatile sig_atomic_t *cancel;
  /*
   * By a chunk's number modulo PM_TARGET_PRESENT, how many cached chunks
   * have that number: 0 says the chunk is not cached, without a look at
   * its set (most looks of a walker's offers find nothing).
   */
  const uint8_t *present;
  /*
   * Changes whenever the cache forgets what it read (the target ran, or
   * the cache was remade), and is never the same for two caches: what a
   * reader kept of bytes it read holds while the epoch does.
   */
  uint64_t epoch;
};

#define PM_TARGET_CHUNK_BITS 16 /* the read cache's chunks: 64 KiB */
#define PM_TARGET_PRESENT 4096

/* The entry of addr's chunk in present. */
static inline size_t
pm__target_present_of(pm_addr_t addr)
{
  return (size_t)(addr >> PM_TARGET_CHUNK_BITS) & (PM_TARGET_PRESENT - 1);
}

/* Whether t's read cache may hold the chunk of addr (see present). */
static inline int
pm__target_may_hold(struct pm_target *t, pm_addr_t addr)
{
  const struct pm_target_window *w = (const void *)t;

  return w->present[pm__target_present_of(addr)] != 0;
}

static inline struct pm_target_window *
pm__target_window(struct pm_target *t)
{
  return (struct pm_target_window *)(void *)t;
}

/* See struct pm_target_window's epoch. */
static inline uint64_t
pm__target_epoch(struct pm_target *t)
{
  return pm__target_window(t)->epoch;
}

/*
 * Where the window holds the byte at addr, with in *avail how many it
 * holds from there, or NULL: for the chunks a walk is in,
 * pm__target_cached_span() without a call.  Valid until the next read.
 */
static inline const unsigned char *
pm__target_window_span(struct pm_target *t, pm_addr_t addr, size_t *avail)
{
  const struct pm_target_window *w = pm__target_window(t);
  uint64_t off = addr - w->base;

  if (off < w->len) {
    *avail = (size_t)(w->len - off);
    return w->data + off;
  }
  off = addr - w->base2;
  if (off < w->len2) {
    *avail = (size_t)(w->len2 - off);
    return w->data2 + off;
  }
  return NULL;
}

/* Where the window holds the len bytes at addr, or NULL. */
static inline const void *
pm__target_window_at(struct pm_target *t, pm_addr_t addr, size_t len)
{
  size_t avail;
  const unsigned char *p = pm__target_window_span(t, addr, &avail);

  return p && len <= avail ? p : NULL;
}

/*
 * memcpy() of the few bytes a walker reads at a time (a word, a head, a
 * small item array) without a call: 8 to 32 bytes as two overlapping
 * moves of 8 or 16.
 */
static inline void
pm__copy_small(void *dst, const void *src, size_t len)
{
  unsigned char *d = dst;
  const unsigned char *s = src;

  if (len - 8 <= 8) {
    memcpy(d, s, 8);
    memcpy(d + len - 8, s + len - 8, 8);
  } else if (len - 16 <= 16) {
    memcpy(d, s, 16);
    memcpy(d + len - 16, s + len - 16, 16);
  } else {
    memcpy(d, s, len);
  }
}

/*
 * pm_target_read(), with the same result, charges and checks, inline when
 * the window holds all of [addr, addr + len).
 */
static inline int
pm__target_read_fast(struct pm_target *t, pm_addr_t addr, void *buf, size_t len)
{
  struct pm_target_window *w = pm__target_window(t);
  const void *p = pm__target_window_at(t, addr, len);

  if (p && len + PM_READ_CALL_COST <= w->budget && !*w->cancel) {
    w->budget -= len + PM_READ_CALL_COST;
    pm__copy_small(buf, p, len);
    return 0;
  }
  return pm_target_read(t, addr, buf, len);
}

/*
 * Points at the len bytes at addr in t's read cache, reading their chunk
 * first when it is not cached, and pins that chunk: [addr, addr + len)
 * must lie in one 64 KiB-aligned chunk.  The bytes stay valid, whatever
 * else is read from t meanwhile, until pm__target_unpin(t), the next peek,
 * or a pause or resume.  Counts as a read of len bytes (budget, recording,
 * cancel).
 *
 * NULL when they cannot be served so (a backend that is read without the
 * cache, a range across chunks or regions, a chunk that does not read as a
 * whole): then read them with pm_target_read().  *err receives 0, or an
 * error that must end the caller's walk (PM_EINTR, PM_ELIMIT, PM_EGONE,
 * -ESRCH...) with NULL.
 */
const unsigned char *pm__target_peek(struct pm_target *t, pm_addr_t addr,
                                     size_t len, int *err);

/*
 * Where the cache holds the byte at addr, with in *avail how many bytes
 * from there it holds in one piece (its chunk), or NULL (so too while t
 * records): no read, no charge, no change.  The pointer is for a prefetch
 * hint, or for a quick look that decides whether to read the bytes for
 * real with pm_target_read(); it is valid until the next read.
 */
const void *pm__target_cached_span(const struct pm_target *t, pm_addr_t addr,
                                   size_t *avail);

/*
 * pm__target_cached_span() that also makes the chunk the window, as a read
 * from it would: for a walker that goes on reading there.
 */
const unsigned char *pm__target_view_span(struct pm_target *t, pm_addr_t addr,
                                          size_t *avail);

/*
 * pm__target_cached_span(), the window first and a chunk not cached told
 * by its count, without a call.
 */
static inline const unsigned char *
pm__target_cached_at(struct pm_target *t, pm_addr_t addr, size_t *avail)
{
  const unsigned char *p = pm__target_window_span(t, addr, avail);

  if (!p && pm__target_may_hold(t, addr))
    p = pm__target_cached_span(t, addr, avail);
  return p;
}

/* Where the cache holds the len bytes at addr in one piece, or NULL. */
static inline const void *
pm__target_cached_fast(struct pm_target *t, pm_addr_t addr, size_t len)
{
  size_t avail;
  const unsigned char *p = pm__target_cached_at(t, addr, &avail);

  return p && avail >= len ? p : NULL;
}

/*
 * The bytes at addr in place, at least min and at most max of them (their
 * number in *n), when the window or the cache holds min of them; the
 * chunk is then one of the window's two.  NULL with no read otherwise;
 * then read them with pm_target_read().  Valid until the next read.  Not
 * charged to the read budget, and no cancel point: for a walker that
 * looks at an object's bytes where they are rather than copy them, whose
 * every look follows a read that was charged (the pointer came from one).
 */
static inline const unsigned char *
pm__target_view_fast(struct pm_target *t, pm_addr_t addr, size_t min,
                     size_t max, size_t *n)
{
  const unsigned char *p;
  size_t avail;

  if (!(p = pm__target_window_span(t, addr, &avail))
      && !(pm__target_may_hold(t, addr)
           && (p = pm__target_view_span(t, addr, &avail))))
    return NULL;
  if (avail < min)
    return NULL;
  *n = avail < max ? avail : max;
  return p;
}

/* The read cache's size at most. */
#define PM_TARGET_CACHE_MAX ((size_t)16 << 20)
/*
 * And by default, until a walk asks for more: the pages of what is in use
 * are faulted in before each pause, and a census's two walkers use 4 MiB
 * each (one walker of a small heap never uses more).
 */
#define PM_TARGET_CACHE_DEFAULT (PM_TARGET_CACHE_MAX / 4)

/*
 * The readable memory from which pm_target_pause() has a clone's cache
 * ready too (see pm__target_clone()).  A census reads a heap of 8 MiB of
 * arenas or more with two walkers (PAR_MIN_ARENA_BYTES in census.c), and
 * a Python process with as much maps more than this; below it the clone
 * makes its own, in the pause, and a small census is spared 4 MiB of page
 * faults (2 ms of its 11 here) for a clone it does not make.  Libraries
 * count too: a process of few arenas and large libraries (numpy) pays
 * those 2 ms, before the pause, for nothing.  The clone's cache ready is
 * PM_TARGET_CACHE_DEFAULT, the size a census's second walker uses.
 */
#define PM_TARGET_CLONE_READABLE ((uint64_t)16 << 20)

/*
 * Limits t's read cache to bytes (a power of two of its chunks, between one
 * set of four chunks and the 16 MiB it has at most; PM_TARGET_CACHE_DEFAULT
 * until then), emptying it when that changes: two walkers at once keep
 * their memory to that of one.
 */
void pm__target_cache_size(struct pm_target *t, size_t bytes);

/* Lets the pinned chunk go (nothing when none is pinned). */
void pm__target_unpin(struct pm_target *t);

/*
 * A second handle on t's target for another thread to read through at the
 * same time: its own read cache, window and read budget (t's budget as it
 * stands), t's backend, mappings and cancel flag.  It must not outlive t,
 * nor be used across a pause, resume or refresh of t; free it with
 * pm_target_free(), from t's thread once it is no longer read: that
 * leaves the target to t, and charges t's budget with what the clone
 * spent of it (what comes after has what is left of one budget).
 * Pausing a clone is refused (-EINVAL); resuming one only empties its
 * cache.  Its cache's memory is the one t's pause had ready, if any
 * (PM_TARGET_CLONE_READABLE), and goes back to t when the clone is freed,
 * for t's next clone, until t is freed.  -ENOTSUP when t's backend cannot
 * be read from two threads, or t records; -ENOMEM.
 */
int pm__target_clone(struct pm_target *t, struct pm_target **out);

#endif
