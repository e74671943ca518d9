/* SPDX-License-Identifier: MIT */
/* target-private.h -- the backend vtable behind struct pm_target */
#ifndef PM_TARGET_PRIVATE_H
#define PM_TARGET_PRIVATE_H

#include <time.h>

#include "array.h"
#include "elf/elf-file.h"
#include "pmpeek/target.h"
#include "target/target-peek.h"

/*
 * A backend: a live pid (pid.c), a core file (core.c) or a recording
 * (replay.c).  `read` must copy all len bytes or fail; the generic layer
 * has already checked that [addr, addr+len) lies inside one readable
 * region.  `elf_open` may be NULL: the file behind a region is then opened
 * on disk through `region_file`.  `direct`: reads cost no more than a
 * memcpy, so they bypass the cache.  `concurrent`: `read` may be called
 * from several threads at once (pm__target_clone()).
 */
struct pm_target_ops {
  int (*read)(void *ctx, pm_addr_t addr, void *buf, size_t len);
  int (*pause)(void *ctx);
  int (*resume)(void *ctx);
  int (*refresh_maps)(void *ctx, struct pm_maps *maps);
  int (*region_file)(void *ctx, const struct pm_region *r, char *buf,
                     size_t len);
  int (*gone)(void *ctx);
  void (*close)(void *ctx);
  int (*elf_open)(void *ctx, const struct pm_region *r, struct pm_elf **out);
  int direct;
  int concurrent;
};

#define PM_CACHE_CHUNK_BITS PM_TARGET_CHUNK_BITS
#define PM_CACHE_CHUNK ((size_t)1 << PM_CACHE_CHUNK_BITS)
#define PM_CACHE_SLOT_BITS 8
#define PM_CACHE_SLOTS ((size_t)1 << PM_CACHE_SLOT_BITS)
/* Slots per set (target.c says why four). */
#define PM_CACHE_WAYS 4

struct pm_cache_slot {
  pm_addr_t base; /* chunk-aligned; (pm_addr_t)-1 when empty */
  size_t from;    /* [base + from, base + valid) was read */
  size_t valid;
  unsigned char *data;
  uint64_t used; /* the target's use count when last used: 0 when empty */
  int pinned;    /* pm__target_peek() handed it out: never refilled */
};

struct pm_record;

/*
 * ELF files a target keeps open once opened (pm__target_elf_open()): the
 * interpreter's file is asked of at every pause, by more than one layer,
 * and indexing a libpython's .symtab took 5 ms of a 10 ms pause of a small
 * process.  Kept, a file opened and indexed before a pause is only looked
 * up in it, and in every pause after.
 */
#define PM_TARGET_ELF_KEPT 8

/* A file kept, and the mapping it was opened for (its own copy of path). */
struct pm_elf_kept {
  struct pm_region r; /* r.path NULL: a free place */
  struct pm_elf *elf;
};

struct pm_target {
  /* First: pm__target_window() casts (target-peek.h); budget and cancel. */
  struct pm_target_window win;
  const struct pm_target_ops *ops;
  void *ctx;
  struct pm_maps maps;
  pid_t pid;
  char *exe;
  struct pm_cache_slot cache[PM_CACHE_SLOTS];
  unsigned set_mask; /* sets in use - 1 (pm__target_cache_size()) */
  uint8_t present[PM_TARGET_PRESENT]; /* win.present: see target-peek.h */
  uint64_t uses; /* slot uses so far: the clock of the slots' used */
  unsigned char *cache_mem;
  /*
   * A clone's cache memory, faulted in before the pause (cache_touch())
   * and taken by the next clone, which gives it back when freed: the
   * second walker's reads then fault no page while the target waits.
   */
  unsigned char *spare_mem;
  uint64_t readable; /* bytes of readable mappings, at the last refresh */
  struct pm_cache_slot *pinned;    /* pm__target_peek()'s, or NULL */
  struct pm_cache_slot *win_slot;  /* the slot win shows, when win.len */
  struct pm_cache_slot *win_slot2; /* and when win.len2 */
  size_t last_region; /* index of the last region hit, a cheap first guess */
  uint64_t bytes_read;
  double pause_seconds;
  struct timespec paused_at;
  int paused;
  struct pm_record *rec;    /* non-NULL while recording (record.c) */
  int borrowed;             /* a clone: ops, ctx and maps are its origin's */
  struct pm_target *origin; /* a clone's, charged with its reads when freed */
  uint64_t budget0;         /* a clone's budget when it was made */
  struct pm_elf_kept elfs[PM_TARGET_ELF_KEPT]; /* not a clone's */
};

/* Takes ownership of ctx; on failure calls ops->close(ctx). */
int pm__target_new(struct pm_target **out, const struct pm_target_ops *ops,
                   void *ctx, pid_t pid);

/* -- record.c: what target.c tells the recorder ------------------------- */

/* Keeps the len bytes at addr that a read returned. */
void pm__record_memory(struct pm_record *rec, pm_addr_t addr, const void *buf,
                       size_t len);

/* Notes every question e answers, as questions about the file at path. */
void pm__record_elf(struct pm_record *rec, const char *path, struct pm_elf *e);

void pm__record_free(struct pm_record *rec);

#endif
