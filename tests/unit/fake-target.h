/* SPDX-License-Identifier: MIT */
/* fake-target.h -- an in-memory pm_target backend for unit tests */
#ifndef PM_TEST_FAKE_TARGET_H
#define PM_TEST_FAKE_TARGET_H

#include <stddef.h>
#include <stdint.h>

#include "cpython/layout.h"
#include "target/target-private.h"

/*
 * The target's memory is one local buffer `mem` standing at target address
 * `base`; which parts of it are mapped, and how, is up to `maps_text`, read
 * by every refresh_maps (so a test can change it before a pause).  The
 * counters let tests see what the generic layer asked of the backend.
 */
struct fake_target {
  pm_addr_t base;
  unsigned char *mem;
  size_t len;
  pm_addr_t next_free; /* fake_alloc()'s next address */
  const char *maps_text;
  int fail_read;    /* non-zero: read returns this code */
  unsigned reads;   /* backend read calls */
  uint64_t bytes;   /* bytes they asked for */
  unsigned outside; /* reads not inside one readable region of maps_text */
  unsigned pauses, resumes, refreshes, closes;
  int pause_err; /* returned by pause */
};

/*
 * Sets up f over a zeroed buffer of len bytes at target address base.
 * The fake outlives the pm_target made from it: close only counts.
 */
void fake_init(struct fake_target *f, pm_addr_t base, size_t len,
               const char *maps_text);
void fake_release(struct fake_target *f);

extern const struct pm_target_ops fake_target_ops;

/* pm__target_new() over f; aborts the test on failure. */
struct pm_target *fake_open(struct fake_target *f);

/* Direct access to the fake's memory at target address addr. */
unsigned char *fake_at(struct fake_target *f, pm_addr_t addr, size_t len);
void fake_put_u64(struct fake_target *f, pm_addr_t addr, uint64_t v);
void fake_put_u32(struct fake_target *f, pm_addr_t addr, uint32_t v);
void fake_put_u8(struct fake_target *f, pm_addr_t addr, uint8_t v);

/*
 * Building a heap: size zeroed bytes, 16-aligned, after pre bytes of
 * pre-header, from next_free (base + 0x100 at first: nothing at the
 * region's very start); the test fails when the buffer is full.
 */
pm_addr_t fake_alloc(struct fake_target *f, size_t size, size_t pre);

/* The word v at addr + off (off >= 0, or the test fails). */
void fake_put(struct fake_target *f, pm_addr_t addr, int64_t off, uint64_t v);

/* A copy of the C string s, NUL included. */
pm_addr_t fake_cstring(struct fake_target *f, const char *s);

/* An object header (refcount 1, type) on a fresh block, as L lays it out. */
pm_addr_t fake_object(struct fake_target *f, const struct pm_layout *L,
                      pm_addr_t type, size_t size, size_t pre);

/* PyASCIIObject.state's bits: kind, compact, ascii, ready. */
#define FAKE_STR_KIND(k) ((uint32_t)(k) << 2)
#define FAKE_STR_COMPACT (1u << 5)
#define FAKE_STR_ASCII (1u << 6)
#define FAKE_STR_READY (1u << 7)

/* A compact ASCII str object of type str_type holding s. */
pm_addr_t fake_ascii(struct fake_target *f, const struct pm_layout *L,
                     pm_addr_t str_type, const char *s);

/* The fields of the type object t that the walkers read first. */
void fake_type_fields(struct fake_target *f, const struct pm_layout *L,
                      pm_addr_t t, const char *tp_name, uint64_t flags,
                      int64_t basicsize, int64_t itemsize, pm_addr_t base);

#endif
