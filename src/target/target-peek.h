/* SPDX-License-Identifier: MIT */
/* target-peek.h -- bytes of a target in place, for walkers that scan */
#ifndef PM_TARGET_PEEK_H
#define PM_TARGET_PEEK_H

#include <stddef.h>

#include "pmpeek/target.h"

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
 * Where the cache holds the len bytes at addr (in one chunk), or NULL (so
 * too while t records): no read, no charge, no change.  The pointer is for a
 * prefetch hint, or for a quick look that decides whether to read the
 * bytes for real with pm_target_read(); it is valid until the next read.
 */
const void *pm__target_cached(const struct pm_target *t, pm_addr_t addr,
                              size_t len);

/* Lets the pinned chunk go (nothing when none is pinned). */
void pm__target_unpin(struct pm_target *t);

#endif
