/* SPDX-License-Identifier: MIT */
/* target.c -- backend dispatch, region checks and the read cache */
#include <config.h>

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "pmpeek/error.h"
#include "target/target-elf.h"
#include "target/target-peek.h"
#include "target/target-private.h"

/*
 * What one walk may read, as a multiple of the target's readable memory,
 * with a floor for small targets; each call counts PM_READ_CALL_COST bytes
 * more than it reads, for the cost of the call.  A census of a real heap
 * of 4 M objects uses about 6 times its readable memory that way (2.3 GB
 * for 380 MB), a heap of nothing but the smallest objects maybe twice
 * that.  Only a target whose pointers send the walkers over the same
 * memory again and again gets near the budget, and the walk then ends
 * with PM_ELIMIT instead of running for hours.
 */
#define READ_BUDGET_FACTOR 64
#define READ_BUDGET_MIN ((uint64_t)256 << 20)

/* The flag of a target nobody cancels: never NULL keeps a cache hit short. */
static const volatile sig_atomic_t never_cancelled;

static void
budget_reset(struct pm_target *t)
{
  uint64_t readable = 0;

  for (size_t i = 0; i < t->maps.n; i++)
    if (t->maps.v[i].prot & PM_PROT_READ)
      readable += t->maps.v[i].end - t->maps.v[i].start;
  t->readable = readable;
  t->win.budget = readable > UINT64_MAX / READ_BUDGET_FACTOR
                      ? UINT64_MAX
                      : readable * READ_BUDGET_FACTOR;
  if (t->win.budget < READ_BUDGET_MIN)
    t->win.budget = READ_BUDGET_MIN;
}

/* The sets of a cache of bytes: a power of two, from one to all. */
static size_t
cache_sets(size_t bytes)
{
  size_t sets = 1;

  while (sets < PM_CACHE_SLOTS / PM_CACHE_WAYS
         && sets * 2 * PM_CACHE_WAYS * PM_CACHE_CHUNK <= bytes)
    sets *= 2;
  return sets;
}

static void
cache_drop(struct pm_target *t)
{
  static uint64_t epochs;

  t->win.epoch = __atomic_add_fetch(&epochs, 1, __ATOMIC_RELAXED);
  memset(t->present, 0, sizeof(t->present));
  for (size_t i = 0; i < PM_CACHE_SLOTS; i++) {
    t->cache[i].base = (pm_addr_t)-1;
    t->cache[i].from = t->cache[i].valid = 0;
    t->cache[i].used = 0;
    t->cache[i].pinned = 0;
  }
  t->pinned = NULL;
  t->win.len = t->win.len2 = 0;
}

/*
 * Makes slot s (filled) the window's newer chunk, the newer one the older,
 * unless recording (see target-peek.h).  The newer one just refilled is
 * shown again in place: the older one stays.
 */
static inline void
window_show(struct pm_target *t, struct pm_cache_slot *s)
{
  if (t->rec || (s == t->win_slot && t->win.len))
    return;
  if (s != t->win_slot) {
    /* s may be the older one: then the two change places. */
    t->win.base2 = t->win.base;
    t->win.len2 = t->win.len;
    t->win.data2 = t->win.data;
    t->win_slot2 = t->win_slot;
  }
  t->win.base = s->base + s->from;
  t->win.len = s->valid - s->from;
  t->win.data = s->data + s->from;
  t->win_slot = s;
}

int
pm__target_new(struct pm_target **out, const struct pm_target_ops *ops,
               void *ctx, pid_t pid)
{
  struct pm_target *t = calloc(1, sizeof(*t));
  int err;

  if (!t) {
    ops->close(ctx);
    return -ENOMEM;
  }
  t->ops = ops;
  t->ctx = ctx;
  t->win.cancel = &never_cancelled;
  t->win.present = t->present;
  t->set_mask = cache_sets(PM_TARGET_CACHE_DEFAULT) - 1;
  t->pid = pid;
  pm_maps_init(&t->maps);
  /* The cache is allocated lazily on first use, see slot_fill(). */
  cache_drop(t);
  err = ops->refresh_maps(ctx, &t->maps);
  if (err) {
    pm_target_free(t);
    return err;
  }
  budget_reset(t);
  *out = t;
  return 0;
}

void
pm_target_set_cancel(struct pm_target *t, const volatile sig_atomic_t *flag)
{
  t->win.cancel = flag ? flag : &never_cancelled;
}

const struct pm_maps *
pm_target_maps(const struct pm_target *t)
{
  return &t->maps;
}

pid_t
pm_target_pid(const struct pm_target *t)
{
  return t->pid;
}

const char *
pm_target_exe(const struct pm_target *t)
{
  return t->exe;
}

double
pm_target_pause_seconds(const struct pm_target *t)
{
  return t->pause_seconds;
}

uint64_t
pm_target_bytes_read(const struct pm_target *t)
{
  return t->bytes_read;
}

int
pm_target_gone(const struct pm_target *t)
{
  return t->ops->gone ? t->ops->gone(t->ctx) : 0;
}

int
pm_target_region_file(const struct pm_target *t, const struct pm_region *r,
                      char *buf, size_t len)
{
  if (!r->path || r->path[0] != '/')
    return -ENOENT;
  return t->ops->region_file(t->ctx, r, buf, len);
}

/*
 * Memory for a cache of PM_CACHE_SLOTS chunks, or NULL.  Small pages, each
 * faulted in before the pause (cache_touch()): a huge page is zeroed in
 * 0.2 ms where the kernel has one at hand, but in 5 to 10 ms on a guest
 * whose free memory the host took back (virtio-balloon free page
 * reporting), which is where a process that ran last seconds ago finds it.
 */
static unsigned char *
cache_mem_alloc(void)
{
  unsigned char *mem
      = aligned_alloc(PM_CACHE_CHUNK, PM_CACHE_SLOTS * PM_CACHE_CHUNK);

#ifdef MADV_NOHUGEPAGE
  if (mem)
    madvise(mem, PM_CACHE_SLOTS * PM_CACHE_CHUNK, MADV_NOHUGEPAGE);
#endif
  return mem;
}

static void
cache_set_mem(struct pm_target *t, unsigned char *mem)
{
  t->cache_mem = mem;
  for (size_t i = 0; i < PM_CACHE_SLOTS; i++)
    t->cache[i].data = mem + i * PM_CACHE_CHUNK;
}

static int
cache_alloc(struct pm_target *t)
{
  unsigned char *mem = cache_mem_alloc();

  if (!mem)
    return -ENOMEM;
  cache_set_mem(t, mem);
  return 0;
}

/*
 * Faults in the first bytes of mem: in one call where the kernel can,
 * which leaves the bytes as they were (MADV_POPULATE_WRITE came in Linux
 * 5.14), else by writing a byte a page.
 */
static void
fault_in(unsigned char *mem, size_t bytes)
{
#ifdef MADV_POPULATE_WRITE
  if (madvise(mem, bytes, MADV_POPULATE_WRITE) == 0)
    return;
#endif
  for (size_t at = 0; at < bytes; at += 4096)
    ((volatile unsigned char *)mem)[at] = 0;
}

/* The bytes of the first sets of a cache: the ones in use. */
static size_t
sets_bytes(size_t sets)
{
  return sets * PM_CACHE_WAYS * PM_CACHE_CHUNK;
}

/*
 * Faults in the memory of the sets in use, so that the kernel zeroes it
 * before the target is paused rather than during its pause, and that of a
 * clone's cache where a clone can be made and is likely to be (the
 * census's second walker, whose reads otherwise faulted its cache in
 * during the pause: PM_TARGET_CLONE_READABLE; a clone uses the default
 * sets).  What the caches hold is dropped at every pause anyway.  The
 * memory stays with the target, ready for the next pause.  (Faulting it in
 * during the pause instead, on the core the walk does not use at first,
 * made the pause longer: the walk's own faults and mappings waited for the
 * kernel's.)
 */
static void
cache_touch(struct pm_target *t)
{
  if (t->ops->direct || (!t->cache_mem && cache_alloc(t)))
    return; /* the first read will say -ENOMEM */
  if (t->rec) {
    free(t->spare_mem); /* a recording target has no clones */
    t->spare_mem = NULL;
  } else if (t->ops->concurrent && !t->spare_mem
             && t->readable >= PM_TARGET_CLONE_READABLE) {
    t->spare_mem = cache_mem_alloc(); /* or the clone makes its own */
  }
  fault_in(t->cache_mem, sets_bytes(t->set_mask + 1));
  if (t->spare_mem)
    fault_in(t->spare_mem, sets_bytes(cache_sets(PM_TARGET_CACHE_DEFAULT)));
}

/*
 * The file kept for r's mapping, or NULL.  A mapping with the same path,
 * place, file offset, device and inode maps the same file: a process that
 * mapped another one there (an exec, a library reloaded) shows another
 * inode or place.
 */
static struct pm_elf_kept *
elf_kept(struct pm_target *t, const struct pm_region *r)
{
  for (size_t i = 0; i < PM_TARGET_ELF_KEPT; i++) {
    const struct pm_region *k = &t->elfs[i].r;
    if (k->path && k->start == r->start && k->end == r->end
        && k->offset == r->offset && k->inode == r->inode && k->dev == r->dev
        && strcmp(k->path, r->path) == 0)
      return &t->elfs[i];
  }
  return NULL;
}

/* Keeps e for r's mapping while a place is free: else it is not kept. */
static void
elf_keep(struct pm_target *t, const struct pm_region *r, struct pm_elf *e)
{
  for (size_t i = 0; i < PM_TARGET_ELF_KEPT; i++) {
    struct pm_elf_kept *k = &t->elfs[i];
    if (k->r.path)
      continue;
    k->r = *r;
    if ((k->r.path = strdup(r->path)))
      k->elf = pm__elf_hold(e);
    return;
  }
}

int
pm__target_elf_open(struct pm_target *t, const struct pm_region *r,
                    struct pm_elf **out)
{
  struct pm_elf_kept *k;
  char path[PATH_MAX];
  int err;

  if (!r->path || r->path[0] != '/')
    return -ENOENT;
  if (!t->borrowed && (k = elf_kept(t, r))) {
    *out = pm__elf_hold(k->elf);
    err = 0;
  } else {
    if (t->ops->elf_open)
      err = t->ops->elf_open(t->ctx, r, out);
    else if (!(err = t->ops->region_file(t->ctx, r, path, sizeof(path))))
      err = pm__elf_open(out, path);
    if (!err && !t->borrowed)
      elf_keep(t, r, *out);
  }
  if (!err && t->rec)
    pm__record_elf(t->rec, r->path, *out);
  return err;
}

static double
elapsed(const struct timespec *a, const struct timespec *b)
{
  return (double)(b->tv_sec - a->tv_sec)
         + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

int
pm_target_pause(struct pm_target *t)
{
  struct pm_maps maps;
  int err;

  /* The target is its origin's to stop: a clone shares its backend. */
  if (t->borrowed)
    return -EINVAL;
  cache_drop(t);
  cache_touch(t);
  clock_gettime(CLOCK_MONOTONIC, &t->paused_at);
  t->paused = 1;
  err = t->ops->pause(t->ctx);
  if (err)
    return err;
  /* Mappings may have changed since open; read them in the stopped state. */
  pm_maps_init(&maps);
  err = t->ops->refresh_maps(t->ctx, &maps);
  if (err) {
    pm_maps_release(&maps);
    return err;
  }
  pm_maps_release(&t->maps);
  t->maps = maps;
  t->last_region = 0;
  budget_reset(t);
  return 0;
}

int
pm_target_resume(struct pm_target *t)
{
  struct timespec now;
  int err;

  cache_drop(t);
  if (!t->paused)
    return 0;
  err = t->ops->resume(t->ctx);
  clock_gettime(CLOCK_MONOTONIC, &now);
  t->pause_seconds = elapsed(&t->paused_at, &now);
  t->paused = 0;
  return err;
}

/*
 * The ways of the cache set for the chunk at base.  The set is taken from
 * the address: consecutive chunks never evict each other, so a walk that
 * works through the heap a MiB at a time reads each chunk of it once.
 * Four ways, the least recently used refilled: a walk also comes back
 * again and again to a few chunks (the interpreter's static objects, its
 * first arena, the allocator's heap), and with two ways three such
 * chunks of one set, or two and the sweep's, evicted each other at every
 * turn (the two walkers of a 1 M census read 131 MB with two ways, 120 MB
 * with four).
 */
static inline struct pm_cache_slot *
cache_set(const struct pm_target *t, pm_addr_t base)
{
  return (struct pm_cache_slot *)&t
      ->cache[((base >> PM_CACHE_CHUNK_BITS) & t->set_mask) * PM_CACHE_WAYS];
}

/* The way of set that holds the chunk at base, or NULL. */
static inline struct pm_cache_slot *
cache_way(struct pm_cache_slot *set, pm_addr_t base)
{
  for (int i = 0; i < PM_CACHE_WAYS; i++)
    if (set[i].base == base)
      return &set[i];
  return NULL;
}

/* Marks s as the slot used last. */
static inline void
slot_use(struct pm_target *t, struct pm_cache_slot *s)
{
  s->used = ++t->uses;
}

static const struct pm_region *
region_of(struct pm_target *t, pm_addr_t addr)
{
  const struct pm_region *r;

  if (t->last_region < t->maps.n) {
    r = &t->maps.v[t->last_region];
    if (addr >= r->start && addr < r->end)
      return r;
  }
  r = pm_maps_find(&t->maps, addr);
  if (r)
    t->last_region = (size_t)(r - t->maps.v);
  return r;
}

static int
backend_read(struct pm_target *t, pm_addr_t addr, void *buf, size_t len)
{
  int err;

  if (*t->win.cancel)
    return PM_EINTR;
  err = t->ops->read(t->ctx, addr, buf, len);
  if (err == 0)
    t->bytes_read += len;
  return err;
}

/*
 * Fills the slot for the chunk holding addr with as much of the chunk as the
 * region r covers.  Objects cluster in arenas and pools, so one 64 KiB read
 * serves hundreds of the small reads a walk makes.
 */
static int
slot_fill(struct pm_target *t, struct pm_cache_slot *s, pm_addr_t base,
          const struct pm_region *r)
{
  pm_addr_t lo = base < r->start ? r->start : base;
  pm_addr_t hi = base + PM_CACHE_CHUNK;
  int err;

  if (hi > r->end)
    hi = r->end;
  /* Its bytes change: the window must not show them meanwhile. */
  if (t->win_slot == s)
    t->win.len = 0;
  if (t->win_slot2 == s)
    t->win.len2 = 0;
  if (!t->cache_mem && cache_alloc(t))
    return -ENOMEM;
  /* A slot holds bytes of one region only: [base + from, base + valid). */
  if (s->base != (pm_addr_t)-1)
    t->present[pm__target_present_of(s->base)]--;
  s->base = (pm_addr_t)-1;
  err = backend_read(t, lo, s->data + (lo - base), hi - lo);
  if (err) {
    s->used = 0;
    return err;
  }
  s->base = base;
  t->present[pm__target_present_of(base)]++;
  s->from = lo - base;
  s->valid = hi - base;
  return 0;
}

/*
 * Reads [addr, addr + len), which lies in one chunk of region r: through
 * the chunk's cache slot, or straight from the backend when the chunk as a
 * whole does not read (a recording holds only the bytes a walk used; a
 * region may end in a page that faults).
 */
static int
read_piece(struct pm_target *t, const struct pm_region *r, pm_addr_t addr,
           unsigned char *out, size_t len)
{
  pm_addr_t base = addr & ~(pm_addr_t)(PM_CACHE_CHUNK - 1);
  struct pm_cache_slot *set = cache_set(t, base), *s = cache_way(set, base);
  int err;

  if (!s || addr - base < s->from || addr + len - base > s->valid) {
    /* The chunk's own way, else the least recently used one not pinned. */
    if (!s)
      for (int i = 0; i < PM_CACHE_WAYS; i++)
        if (!set[i].pinned && (!s || set[i].used < s->used))
          s = &set[i];
    /* A pinned way is the caller's: the bytes go around the cache. */
    if (!s || s->pinned)
      return backend_read(t, addr, out, len);
    err = slot_fill(t, s, base, r);
    if (err == -EFAULT)
      return backend_read(t, addr, out, len);
    if (err)
      return err;
  }
  slot_use(t, s);
  window_show(t, s);
  memcpy(out, s->data + (addr - base), len);
  return 0;
}

/*
 * The cached bytes of [addr, addr + len) when one slot holds all of them
 * and the read may be served from it (no cancel, within the budget, not
 * recording), with the read charged; else NULL.  Reads are mostly this.
 */
static inline const unsigned char *
cache_hit(struct pm_target *t, pm_addr_t addr, size_t len)
{
  pm_addr_t base = addr & ~(pm_addr_t)(PM_CACHE_CHUNK - 1);
  struct pm_cache_slot *s = cache_way(cache_set(t, base), base);
  size_t off = (size_t)(addr - base);

  /* len is at most a chunk first, so that off + len cannot wrap. */
  if (!s || len > PM_CACHE_CHUNK || off < s->from || off + len > s->valid
      || t->rec || *t->win.cancel || len + PM_READ_CALL_COST > t->win.budget)
    return NULL;
  t->win.budget -= len + PM_READ_CALL_COST;
  slot_use(t, s);
  window_show(t, s);
  return s->data + off;
}

/* pm_target_read() past the cache's fast path. */
static int
read_slow(struct pm_target *t, pm_addr_t addr, void *buf, size_t len)
{
  unsigned char *out = buf;
  pm_addr_t start = addr;
  size_t total = len;

  /* Checked here too: cached bytes must not outlive a cancel. */
  if (*t->win.cancel)
    return PM_EINTR;
  if (len == 0)
    return 0;
  if (addr + len < addr)
    return -EFAULT;
  /* Each call costs more than its bytes: many tiny reads add up too. */
  if (len > t->win.budget || t->win.budget - len < PM_READ_CALL_COST)
    return PM_ELIMIT;
  t->win.budget -= len + PM_READ_CALL_COST;
  while (len > 0) {
    const struct pm_region *r = region_of(t, addr);
    pm_addr_t base = addr & ~(pm_addr_t)(PM_CACHE_CHUNK - 1);
    size_t n;
    int err;

    if (!r || !(r->prot & PM_PROT_READ))
      return -EFAULT;
    n = r->end - addr < len ? (size_t)(r->end - addr) : len;
    if (len >= PM_CACHE_CHUNK || t->ops->direct) {
      /* Large reads bypass the cache, one region at a time. */
      err = backend_read(t, addr, out, n);
    } else {
      if (n > base + PM_CACHE_CHUNK - addr)
        n = (size_t)(base + PM_CACHE_CHUNK - addr);
      err = read_piece(t, r, addr, out, n);
    }
    if (err)
      return err;
    out += n, addr += n, len -= n;
  }
  if (t->rec)
    pm__record_memory(t->rec, start, buf, total);
  return 0;
}

int
pm_target_read(struct pm_target *t, pm_addr_t addr, void *buf, size_t len)
{
  const unsigned char *p = cache_hit(t, addr, len);

  if (!p)
    return read_slow(t, addr, buf, len);
  pm__copy_small(buf, p, len);
  return 0;
}

/* The slot that holds the byte at addr, or NULL: see pm__target_cached_span. */
static struct pm_cache_slot *
slot_at(const struct pm_target *t, pm_addr_t addr)
{
  pm_addr_t base = addr & ~(pm_addr_t)(PM_CACHE_CHUNK - 1);
  struct pm_cache_slot *s = cache_way(cache_set(t, base), base);

  /*
   * While recording, never: a look at bytes not recorded would steer the
   * walk where its replay, which sees only the recorded ones, cannot go.
   */
  if (t->rec || !s || addr - base < s->from || addr - base >= s->valid)
    return NULL;
  return s;
}

const void *
pm__target_cached_span(const struct pm_target *t, pm_addr_t addr, size_t *avail)
{
  const struct pm_cache_slot *s = slot_at(t, addr);

  if (!s)
    return NULL;
  *avail = s->valid - (addr - s->base);
  return s->data + (addr - s->base);
}

const unsigned char *
pm__target_view_span(struct pm_target *t, pm_addr_t addr, size_t *avail)
{
  struct pm_cache_slot *s = slot_at(t, addr);

  if (!s)
    return NULL;
  /* The walker reads on here: the window follows, as for a read. */
  slot_use(t, s);
  window_show(t, s);
  *avail = s->valid - (addr - s->base);
  return s->data + (addr - s->base);
}

_Static_assert(PM_CACHE_SLOTS *PM_CACHE_CHUNK == PM_TARGET_CACHE_MAX,
               "target-peek.h says how big the cache is");

void
pm__target_cache_size(struct pm_target *t, size_t bytes)
{
  size_t sets = cache_sets(bytes);

  if (sets - 1 == t->set_mask)
    return;
  /* Slots stay where they are: the sets in use are the first ones. */
  cache_drop(t);
  t->set_mask = (unsigned)(sets - 1);
}

void
pm__target_unpin(struct pm_target *t)
{
  if (t->pinned) {
    t->pinned->pinned = 0;
    t->pinned = NULL;
  }
}

const unsigned char *
pm__target_peek(struct pm_target *t, pm_addr_t addr, size_t len, int *err)
{
  pm_addr_t base = addr & ~(pm_addr_t)(PM_CACHE_CHUNK - 1);
  struct pm_cache_slot *s;
  unsigned char probe;

  *err = 0;
  pm__target_unpin(t);
  if (t->ops->direct || len == 0 || len > PM_CACHE_CHUNK
      || addr + len - base > PM_CACHE_CHUNK)
    return NULL;
  /* Charged as a read, which also brings the chunk in when it reads. */
  if ((*err = pm_target_read(t, addr, &probe, 1))) {
    if (*err == -EFAULT)
      *err = 0; /* unreadable here: the caller's pm_target_read says so */
    return NULL;
  }
  if (len > t->win.budget || t->win.budget - len < PM_READ_CALL_COST) {
    *err = PM_ELIMIT;
    return NULL;
  }
  t->win.budget -= len;
  s = cache_way(cache_set(t, base), base);
  /* Not all of it in the chunk as cached: a region ends inside. */
  if (!s || addr - base < s->from || addr + len - base > s->valid)
    return NULL;
  s->pinned = 1;
  t->pinned = s;
  if (t->rec)
    pm__record_memory(t->rec, addr, s->data + (addr - base), len);
  return s->data + (addr - base);
}

int
pm_target_read_u64(struct pm_target *t, pm_addr_t addr, uint64_t *out)
{
  const unsigned char *p = cache_hit(t, addr, sizeof(*out));

  if (!p)
    return read_slow(t, addr, out, sizeof(*out));
  memcpy(out, p, sizeof(*out));
  return 0;
}

int
pm__target_clone(struct pm_target *t, struct pm_target **out)
{
  struct pm_target *c;

  if (!t->ops->concurrent || t->ops->direct || t->rec)
    return -ENOTSUP;
  if (!(c = calloc(1, sizeof(*c))))
    return -ENOMEM;
  c->ops = t->ops;
  c->ctx = t->ctx;
  c->maps = t->maps;
  c->readable = t->readable;
  c->pid = t->pid;
  c->win.cancel = t->win.cancel;
  c->win.present = c->present;
  c->win.budget = c->budget0 = t->win.budget;
  c->origin = t;
  c->set_mask = cache_sets(PM_TARGET_CACHE_DEFAULT) - 1;
  c->borrowed = 1;
  if (t->spare_mem) {
    cache_set_mem(c, t->spare_mem);
    t->spare_mem = NULL;
  }
  cache_drop(c);
  *out = c;
  return 0;
}

void
pm_target_free(struct pm_target *t)
{
  if (!t)
    return;
  if (t->borrowed) {
    /* One budget for both: what the clone spent, its origin has not. */
    uint64_t spent = t->budget0 - t->win.budget;
    t->origin->win.budget
        -= spent < t->origin->win.budget ? spent : t->origin->win.budget;
    if (!t->origin->spare_mem)
      t->origin->spare_mem = t->cache_mem; /* for the next clone */
    else
      free(t->cache_mem);
    free(t->spare_mem); /* a clone's clone's */
    free(t);
    return;
  }
  pm_target_resume(t);
  for (size_t i = 0; i < PM_TARGET_ELF_KEPT; i++) {
    pm__elf_free(t->elfs[i].elf);
    free(t->elfs[i].r.path);
  }
  pm__record_free(t->rec);
  t->ops->close(t->ctx);
  pm_maps_release(&t->maps);
  free(t->cache_mem);
  free(t->spare_mem);
  free(t->exe);
  free(t);
}
