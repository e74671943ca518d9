/* SPDX-License-Identifier: MIT */
/* census.c -- partition every object of a target by kind */
#include <config.h>

/*
 * Objects are found in three phases, each object counted once (the seen
 * set).  Roots: what the interpreters and threads hold (cpython/roots.h)
 * and, transitively, the referents of every object found, read from its
 * type's layout; all of that is alive.  GC lists: the tracked objects no
 * root reached.  The collector's own test sorts them: one whose reference
 * count exceeds the references the others hold is held from outside its
 * view (by C), alive with what it reaches; the rest is cyclic garbage not
 * collected yet, and so is what is first found from it.  Blocks: the
 * allocated pymalloc blocks that hold an object nothing else led to (held
 * by C state).
 *
 * The queue of objects to process is kept in buckets of one MiB of
 * address space and processed in sweeps down the address space (see
 * sweep_rank()): a discovery ahead of the sweep (below it) joins it, one
 * behind waits for the next sweep.  A walk so reads the heap in a few
 * passes through the target's read cache, instead of jumping around it.
 * A dict is counted by its owner's claim (heapy's "dict of K"), and with
 * no owner when none came yet: a later claim moves it.  Those whose claims
 * the other walker keeps, and the unreachable, get their kind at the end.
 *
 * The heap is not read again for the later phases.  When a bucket is done,
 * the pymalloc pools in its MiB are scanned in place, from the cache: each
 * block that may hold an object no root has reached yet is noted (a
 * candidate), and each GC link that leaves the arenas too.  What is still
 * unreached of the candidates once the roots are done is all that phases B
 * and C look at; the GC objects outside the arenas are found by following
 * the lists only where they leave the arenas, from those links and from
 * the lists' heads.  Without the allocator's state (or with
 * PM_CENSUS_NO_BLOCKS) phase B walks the whole GC lists instead.
 */

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "census/addrset.h"
#include "cpython/gc.h"
#include "cpython/object.h"
#include "cpython/obmalloc.h"
#include "cpython/referents.h"
#include "cpython/roots.h"
#include "pmpeek/census.h"
#include "pmpeek/error.h"
#include "target/target-peek.h"

#define MAX_INTERPRETERS 1024
/* Members gathered per type; a class with more keeps only these. */
#define MAX_TYPE_MEMBERS 1024
/* A refcount at or above this that is also a mapped address is a pointer. */
#define MIN_POINTER 4096

/*
 * What we know about one type object, looked up once per type.  Entries
 * live in fixed blocks so that a pointer to one stays valid while the walk
 * adds others.
 */
struct type_entry {
  pm_addr_t addr;
  int32_t kind;      /* index into kinds, -1 until an instance is counted */
  int32_t dict_kind; /* "dict of <name>", -1 until a dict it owns is counted */
  uint32_t *members; /* offsets of its object members; owned */
  uint32_t nmembers;
  uint8_t valid;   /* pm__type_read() succeeded */
  uint8_t offered; /* the type object itself was offered as an object */
  uint8_t exact_dict;
  uint8_t leaf;    /* its instances refer to no object but their type */
  uint8_t by_head; /* pm__object_sizeof_head() serves its sizer */
  /*
   * How count_object() sizes its instances without a call, once the type
   * is offered and its kind known: FAST_NONE until then, and for dicts.
   */
  uint8_t fast;
  uint32_t claims; /* dicts it claimed in the map of owners */
  /*
   * For object.__sizeof__ (PM_SIZE_DEFAULT): the size of an instance with
   * its pre-header, less itemsize times ob_size; -1 for other sizers.
   */
  int64_t base_size;
  /* Its instances' pre-header, or -1 when it depends on the object. */
  int64_t presize;
  struct pm_type_info info;
};

enum { FAST_NONE, FAST_DEFAULT, FAST_HEAD };

#define TYPE_BLOCK_BITS 8
#define TYPE_BLOCK (1u << TYPE_BLOCK_BITS)

/*
 * The work queue holds addresses (8-aligned) with CHECKED in bit 0 for
 * objects already known to be objects (a root, an object of a GC list or
 * a block); the others are pointers offered by a field, checked when
 * their turn comes.
 */
#define CHECKED 1u
#define RECENT 4096
/* About the items taken from a bucket at a time: mail is looked at between. */
#define BATCH 1024

/*
 * One MiB of address space with work queued in it.  `queued` says where
 * the bucket is listed: on the heap of the sweep under way (SWEEP_NOW) or
 * on the list for the next sweep (SWEEP_NEXT).
 */
#define BUCKET_SHIFT 20
#define SWEEP_NOW 1
#define SWEEP_NEXT 2

/*
 * A bucket's pending work is a map of two bits per 16-byte granule of its
 * MiB: offered (to be checked when its turn comes) and checked (known to
 * be an object: a root, an object of a GC list or a block, one checked
 * when offered), their words interleaved, with a summary bit per word
 * pair that holds any.  A push sets bits, so a (16-aligned) pointer
 * offered many times waits once, and the drain takes the bits in address
 * order with no sort.  Objects of the heap are 16-aligned (the allocators'
 * alignment, and the GC head before them is 16 bytes); the few 8-aligned
 * pointers (static objects, and pointers that are no objects) wait in a
 * list.  Drained, a map is all zeros again and waits in a pool for the
 * next bucket.  A heap's pending work can reach every MiB of it at once (each
 * walker's big lists): 16 KiB a MiB, twice the seen set.
 */
#define QMAP_GRANULE_BITS 4
#define QMAP_WORDS ((uint32_t)1 << (BUCKET_SHIFT - QMAP_GRANULE_BITS - 6))
#define QMAP_SUMMARY (QMAP_WORDS / 64)

struct qmap {
  uint64_t summary[QMAP_SUMMARY]; /* bit i: word pair i holds a bit */
  uint64_t words[2 * QMAP_WORDS]; /* offered, checked of word i at 2i, 2i+1 */
};

struct bucket {
  uint64_t key;     /* (address >> BUCKET_SHIFT) + 1 */
  struct qmap *map; /* NULL when nothing 16-aligned is pending */
  uint32_t *odd;    /* the others: offsets in the MiB, CHECKED in bit 0 */
  uint32_t nodd, odd_cap;
  uint32_t queued;
  uint32_t pos;  /* the word pair where the next batch starts */
  uint8_t swept; /* taken in a sweep: its pools are scanned, it stays */
  uint8_t given; /* given to the other walker (see give()) */
};

struct queue {
  struct bucket *b; /* stable indices; index into it by bucket number */
  size_t nb, b_cap;
  uint32_t *index; /* open addressing: hash(key) -> bucket number + 1 */
  size_t index_cap;
  uint32_t *heap; /* bucket numbers of this sweep, a min-heap by rank */
  size_t nheap, heap_cap;
  uint32_t *next; /* bucket numbers for the next sweep */
  size_t nnext, next_cap;
  struct qmap **pool; /* drained maps, all zeros; room for every map */
  size_t npool, pool_cap, nmaps;
  uint64_t cur; /* key of the bucket being processed; 0 between sweeps */
  size_t last;  /* the bucket of the last push */
};

/*
 * A dict counted while the other walker may hold its claims, or found
 * unreachable: classified at the end.
 */
struct dict_item {
  pm_addr_t obj; /* | 1 when it is unreachable */
  uint64_t size;
};

struct static_dict {
  pm_addr_t type, dict;
};

enum phase {
  PHASE_ROOTS,   /* what the roots reach: alive */
  PHASE_HELD,    /* from GC objects held from outside the collector: alive */
  PHASE_GARBAGE, /* from the rest of the GC lists: unreachable */
  PHASE_BLOCKS,  /* only in an allocator's block: held by C */
};

static const char *const phase_names[]
    = { "roots", "gc lists", "gc lists", "blocks" };

#define HOT_TYPES 64 /* a cache in front of type_index */
/*
 * Owner types with a set of their dicts, and the claims a type makes in
 * the map first: a 10 M heap's 250 thousand claims of one class made an
 * owners' map of 8 MB, written and read at random, and the walk 6 % slower.
 */
#define OWNER_SETS 2
#define OWNER_SET_AFTER 64
#define NO_TYPES 64 /* words known to be no type: chance_type() */
#define NO_TYPE_SLOT(type) (((type) >> 4) & (NO_TYPES - 1))
#define PROGRESS_EVERY 8192 /* objects between looks at the clock */
#define PROGRESS_SECONDS 0.1

/*
 * Two walkers share phase A, each on a thread of its own with a read
 * cache of its own: walker i owns the units of address space (64 MiB)
 * whose number is i modulo 2, and all it knows of their MiB (seen,
 * queued, candidates, claims).  What one finds in the other's MiB goes
 * over as a message: an object to offer, a root to check, or a claim on a
 * dict.  Units of a MiB split the objects as evenly, but an object's
 * items, keys and values (the pools of each size are carved at other
 * times, as often in the next arena as in its own) were in the other
 * walker's MiB half the time, and read by both: 15 % of a 10 M census's
 * chunks, against 2 % with units of 64 MiB.  A walker with no work left
 * waits for messages; phase A is over when both wait with none on the
 * way.  Then the second walker's findings are merged into the first,
 * which walks phases B and C alone.
 *
 * The split by address is even in objects, not in time: one core is
 * often slower than the other for a while, and a walker that is out of
 * work then waited for the other for up to a third of phase A.  While one
 * waits, the other gives it about half of the MiB it has work queued in
 * and has not swept yet (give()): what it knows of them (seen bits, queue)
 * goes over, and each walker's map of who owns a MiB changes when it gives
 * or takes one, so that messages sent meanwhile are passed on.  Claims on
 * dicts stay with the MiB's first owner: a dict counted by the other is
 * classified at the end, by all the claims.
 */
enum msg {
  MSG_REF,   /* an object a field refers to (offer()) */
  MSG_ROOT,  /* a root (root_visit()) */
  MSG_FRAME, /* a root in a thread's frames */
  MSG_CLAIM, /* a dict, then its owner's type: claim() */
  MSG_GIVE,  /* a MiB's bucket, its seen bits, map and list: give() */
};
#define MSG_MASK 7u
#define MSG_FLUSH 4096 /* messages kept before they are handed over */
#define MSG_SOON 1024  /* messages handed over at a poll (par_poll()) */
#define SPIN_NS 50000  /* how long a walker out of work looks for mail */
#define POLL_REFS 4096 /* referents offered in runs between polls */
/*
 * Each walker's read cache in phase A, together less than one's alone,
 * and the first walker's after it: the target's by default, so that what
 * was read before the walk stays (one walker alone has the most).  The
 * second walker's is then the one the target had ready before the pause
 * (see PM_TARGET_CLONE_READABLE), faulted in for this size.
 */
#define PAR_CACHE PM_TARGET_CACHE_DEFAULT
/*
 * The arenas' bytes below which one walker is faster: a small heap lies in
 * one walker's unit (UNIT_SHIFT) but for what the other is given, and the
 * second thread's start, read cache and mail cost more than it saves.
 * Pauses of one and two walkers (medians of 11 alternating runs, Debian
 * 3.11): 2 arenas (15 k objects) 6.7 against 10.2 ms, 4 arenas (52 k) 12.8
 * against 16.8, 9 (131 k) 28.6 against 23.0, 24 (356 k) 48.9 against 33.1.
 * The target has a clone's cache ready from PM_TARGET_CLONE_READABLE.
 */
#define PAR_MIN_ARENA_BYTES ((uint64_t)8 << 20)

struct mailbox {
  uint64_t *v;
  size_t n, cap;
};

/*
 * What each walker writes often is on a cache line of its own: a line two
 * cores write in turn costs both of them a miss each time.
 */
#define LINE 64

struct par_side {
  _Alignas(LINE) int mail; /* its inbox is not empty: read without the lock */
  int waiting;             /* it waits for mail (or is about to) */
  uint64_t count;          /* objects it counted so far, for progress */
  uint64_t bytes; /* bytes it read so far, for progress (the second's) */
};

struct par {
  _Alignas(LINE) pthread_mutex_t lock;
  pthread_cond_t cond;
  struct mailbox inbox[2];
  int idle;                /* walkers waiting for messages */
  int err;                 /* the first error of either walker */
  _Alignas(LINE) int stop; /* phase A is over (or failed): read without lock */
  struct par_side side[2];
};

/* A spinning thread's hint to the core (and its hyperthread sibling). */
static inline void
cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

/* Zeroed memory on cache lines of its own (see LINE), or NULL. */
static void *
zalloc_lines(size_t size)
{
  size_t n = (size + LINE - 1) / LINE * LINE;
  void *p = aligned_alloc(LINE, n);

  if (p)
    memset(p, 0, n);
  return p;
}

/* log2 of a walker's unit of address space (see struct par). */
#define UNIT_SHIFT 26

/*
 * The walker that owns a's MiB at the start of phase A, and its claims:
 * by its unit, of 2^shift bytes.
 */
static inline unsigned
first_owner(unsigned shift, pm_addr_t a)
{
  return (unsigned)(a >> shift) & 1;
}

/* The key of a's MiB in a walker's map of MiB given and taken. */
static inline pm_addr_t
mib_key(pm_addr_t a)
{
  return ((a >> BUCKET_SHIFT) + 1) << 3;
}

struct walk {
  struct pm_census *c;
  struct pm_python *py;
  unsigned flags;
  enum phase phase;
  /* ob_refcnt's and ob_type's word in an object's first 16 bytes. */
  unsigned refcnt_word, type_word;

  struct type_entry **types; /* blocks of TYPE_BLOCK entries */
  size_t ntypes, blocks_cap;
  struct pm_addr_map type_index; /* type address -> index + 1 */
  /* The last type looked up (type_lookup()): its address, index, entry. */
  pm_addr_t last_addr;
  size_t last_type;
  struct type_entry *last_e; /* NULL until a first lookup */
  struct hot_type {
    pm_addr_t addr;
    struct type_entry *e; /* NULL = empty */
    uint32_t idx;
  } hot_types[HOT_TYPES];

  struct pm_addr_set seen; /* every object counted or queued */
  /*
   * Who claimed a dict (claim()), by claimed_key(): the types that claim
   * most, a set of their dicts each; the others in the map of owners
   * (claimed_key -> owner's type index + 1); and the second walker's
   * sets (after this one's) and map, once merged, as indices of ours.  A
   * claim names the dict of its 64 bytes (no two share them); a torn dict
   * pointer into a dict's 64 bytes, which only a damaged heap holds, would
   * name that dict.
   */
  struct owner_set {
    uint32_t type; /* the owner's type index + 1; 0: free */
    struct pm_addr_set set;
  } owner_sets[2 * OWNER_SETS];
  struct pm_addr_map owners, oowners;
  /*
   * Every dict claimed, as a bit per 64 bytes (claimed_key()): most dicts
   * have no owner, and the bit answers for them from memory the walk is
   * near, not from a random slot of a map as big as the dicts owned.
   */
  struct pm_addr_set claimed;
  /*
   * The dicts counted as "dict (no owner)" (no_owner_kind) when no claim
   * was in yet, by claimed_key(): a later first claim moves one (see
   * claim()).  Their claims all come to this walker, their MiB's first
   * owner; after the merge the first walker holds both walkers' sets.
   */
  struct pm_addr_set unowned;
  int32_t no_owner_kind;
  struct queue q;
  uint32_t batch[BATCH + 64]; /* the items being processed (take_batch()) */
  pm_addr_t recent[RECENT];   /* pointers offered lately, by hash */
  struct dict_item *dicts;    /* dicts classified at the end */
  size_t ndicts, dicts_cap;
  struct dict_item *odicts; /* the second walker's, taken as they are */
  size_t nodicts;
  struct static_dict *statics; /* 3.12+: static builtin types' dicts */
  size_t nstatics, statics_cap;
  /* Phase B: the GC objects no root reached, with the references to each. */
  pm_addr_t *gcleft;
  size_t ngcleft, gcleft_cap;
  struct pm_addr_map internal;
  /* Phase C: the blocks that hold an object nothing else led to. */
  pm_addr_t *blockleft;
  size_t nblockleft, blockleft_cap;

  /*
   * The allocator's arenas, when found (scan set): their pools are scanned
   * once each, in place, for candidates and for GC links that leave them.
   */
  int scan;
  /* Bytes of the debug hooks before a block's data (16), or 0. */
  unsigned hooks_pad;
  struct pm_obm_arenas arenas;
  uint64_t *pools_scanned; /* a bit per pool, PM_OBM_MAX_POOLS per arena */
  /* The arena last looked up (in_arena()): [last_lo, last_lo + last_size). */
  pm_addr_t last_lo;
  uint64_t last_size;       /* 0 until one is */
  struct pm_addr_set cands; /* blocks' objects not reached when scanned */
  pm_addr_t *gclinks;       /* GC links from an arena to outside */
  size_t ngclinks, gclinks_cap;
  unsigned char *pool_buf; /* a pool's bytes when the cache cannot hold it */
  struct pm_obm_pool_used pool_used;          /* the pool being scanned */
  uint32_t scan_todo[PM_OBM_POOL_WORDS * 64]; /* its blocks to look at */
  /* Per size class: its blocks' object starts in a pool (start_mask()). */
  uint64_t start_masks[PM_OBM_NCLASSES][PM_OBM_POOL_WORDS];
  uint32_t start_masks_made; /* bit c: start_masks[c] is made */
  uint64_t bad_pools;
  pm_addr_t no_types[NO_TYPES]; /* words found to be no type's address */

  struct pm_name_index names; /* kind name -> index in c->kinds */
  size_t kinds_cap;

  /*
   * Phase A on two threads (see "two walkers" below): par is shared, id
   * says which MiB of address space this walker owns, out holds messages
   * for the other one until they are handed over.
   */
  struct par *par;
  unsigned id;
  unsigned unit_shift;      /* log2 of the units: see first_owner() */
  struct pm_addr_map moved; /* MiB given or taken: mib_key -> owner + 1 */
  uint64_t moved_any[64];   /* bit (MiB number % 4096): a MiB there moved */
  uint64_t *out;
  size_t nout, out_cap;
  struct mailbox spare;    /* an inbox's buffer, kept for the next one */
  size_t poll_in;          /* referents to offer before the next poll */
  struct pm_python py_own; /* the second walker's model: its own target */
  struct walk *other;      /* the first walker's second one */
  int par_err;             /* the second walker's result */
  uint64_t other_bytes;    /* bytes the second walker read */

  pm_census_progress_fn progress;
  void *progress_arg;
  struct timespec started, last_report;
  uint64_t until_clock;
  int reported;
};

/* The walker that owns a's MiB (of the queue, seen bits and pools) now. */
static inline unsigned
mib_owner(const struct walk *w, pm_addr_t a)
{
  uint64_t m = a >> BUCKET_SHIFT, o;

  /* Most MiB never move: a bit says so without a lookup. */
  if (!(w->moved_any[(m >> 6) & 63] >> (m & 63) & 1))
    return first_owner(w->unit_shift, a);
  o = pm__amap_get(&w->moved, mib_key(a));
  return o ? (unsigned)o - 1 : first_owner(w->unit_shift, a);
}

/* ---- the queue: buckets of address space, swept in order ---------------- */

/*
 * Sweeps go down the address space: a bucket's place in a sweep is its
 * key's rank, the higher MiB first ("ahead" is below).  pymalloc maps
 * its arenas from the top down, so that what was made later lies lower:
 * a container filled after it was made (a module's list of a million
 * records) lies above its items.  Swept upwards, the MiB of such a list
 * came last in the sweep, after those of its items, which then waited
 * for the next sweep (read again, their pools scanned before they were
 * reached); a walker held up for a few milliseconds (a busy host) made
 * that happen to the big lists of the benchmark's heap in one run of two.
 */
static inline uint64_t
sweep_rank(uint64_t key)
{
  return ~key;
}

static size_t
bucket_slot(const struct queue *q, uint64_t key)
{
  size_t mask = q->index_cap - 1,
         i = (size_t)(pm__hash_addr(key << 3) >> 32) & mask;

  while (q->index[i] && q->b[q->index[i] - 1].key != key)
    i = (i + 1) & mask;
  return i;
}

/* The number of the bucket for key, made when new; -ENOMEM. */
static int64_t
bucket_of(struct queue *q, uint64_t key)
{
  size_t i;

  if ((q->nb + 1) * 2 > q->index_cap) {
    size_t ncap = q->index_cap ? q->index_cap * 2 : 256;
    uint32_t *n = calloc(ncap, sizeof(*n)), *old = q->index;
    size_t old_cap = q->index_cap;
    if (!n)
      return -ENOMEM;
    q->index = n;
    q->index_cap = ncap;
    for (size_t k = 0; k < old_cap; k++)
      if (old[k])
        q->index[bucket_slot(q, q->b[old[k] - 1].key)] = old[k];
    free(old);
  }
  i = bucket_slot(q, key);
  if (q->index[i])
    return q->index[i] - 1;
  if (pm__array_grow((void **)&q->b, &q->b_cap, sizeof(*q->b), q->nb + 1))
    return -ENOMEM;
  memset(&q->b[q->nb], 0, sizeof(*q->b));
  q->b[q->nb].key = key;
  q->index[i] = (uint32_t)++q->nb;
  return (int64_t)q->nb - 1;
}

static int
heap_push(struct queue *q, uint32_t nb)
{
  size_t i;

  if (pm__array_grow((void **)&q->heap, &q->heap_cap, sizeof(*q->heap),
                     q->nheap + 1))
    return -ENOMEM;
  for (i = q->nheap++; i > 0; i = (i - 1) / 2) {
    uint32_t parent = q->heap[(i - 1) / 2];
    if (sweep_rank(q->b[parent].key) <= sweep_rank(q->b[nb].key))
      break;
    q->heap[i] = parent;
  }
  q->heap[i] = nb;
  return 0;
}

static uint32_t
heap_pop(struct queue *q)
{
  uint32_t top = q->heap[0], last = q->heap[--q->nheap];
  size_t i = 0;

  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= q->nheap)
      break;
    if (c + 1 < q->nheap
        && sweep_rank(q->b[q->heap[c + 1]].key)
               < sweep_rank(q->b[q->heap[c]].key))
      c++;
    if (sweep_rank(q->b[last].key) <= sweep_rank(q->b[q->heap[c]].key))
      break;
    q->heap[i] = q->heap[c];
    i = c;
  }
  if (q->nheap)
    q->heap[i] = last;
  return top;
}

/* Whether item (8-aligned, CHECKED in bit 0) waits in its bucket's list. */
static inline int
odd_item(uint64_t item)
{
  return (item >> 3) & 1;
}

/* Notes item (16-aligned, in m's MiB, CHECKED or not) as pending in m. */
static inline void
qmap_set(struct qmap *m, uint64_t item)
{
  uint32_t g = (uint32_t)(item & (((uint64_t)1 << BUCKET_SHIFT) - 1))
               >> QMAP_GRANULE_BITS,
           pair = g >> 6;

  m->words[2 * pair + (item & CHECKED)] |= (uint64_t)1 << (g & 63);
  m->summary[pair >> 6] |= (uint64_t)1 << (pair & 63);
}

/*
 * Whether bucket b (of key) is listed where a push into it belongs: in the
 * sweep under way, or in the next one when it lies behind the sweep.
 */
static inline int
listed(const struct queue *q, const struct bucket *b, uint64_t key)
{
  return b->queued == SWEEP_NOW
         || (b->queued == SWEEP_NEXT
             && !(q->cur && sweep_rank(key) > sweep_rank(q->cur)));
}

/* Lists bucket nb (with work) where its work belongs, unless it is there. */
static int
list_bucket(struct queue *q, uint32_t nb)
{
  struct bucket *b = &q->b[nb];
  uint64_t key = b->key;

  if (listed(q, b, key))
    return 0;
  /* Ahead of the sweep: in this one; behind it (or between sweeps): next. */
  if (q->cur && sweep_rank(key) > sweep_rank(q->cur)) {
    b->queued = SWEEP_NOW;
    return heap_push(q, nb);
  }
  b->queued = SWEEP_NEXT;
  if (pm__array_grow((void **)&q->next, &q->next_cap, sizeof(*q->next),
                     q->nnext + 1))
    return -ENOMEM;
  q->next[q->nnext++] = nb;
  return 0;
}

/* push() into any bucket: found or made, given a map, listed. */
static __attribute__((noinline)) int
push_slow(struct walk *w, uint64_t item)
{
  struct queue *q = &w->q;
  uint64_t key = (item >> BUCKET_SHIFT) + 1;
  int64_t nb;
  struct bucket *b;

  if (q->nb && q->b[q->last].key == key) {
    nb = (int64_t)q->last;
  } else {
    if ((nb = bucket_of(q, key)) < 0)
      return (int)nb;
    q->last = (size_t)nb;
  }
  b = &q->b[nb];
  if (odd_item(item)) {
    size_t cap = b->odd_cap;
    if (pm__array_grow((void **)&b->odd, &cap, sizeof(*b->odd),
                       (size_t)b->nodd + 1))
      return -ENOMEM;
    b->odd_cap = (uint32_t)cap;
    b->odd[b->nodd++] = (uint32_t)(item & (((uint64_t)1 << BUCKET_SHIFT) - 1));
  } else {
    if (!b->map && q->npool) {
      b->map = q->pool[--q->npool];
    } else if (!b->map) {
      /* The pool has room for every map: take_batch() cannot fail. */
      if (pm__array_grow((void **)&q->pool, &q->pool_cap, sizeof(*q->pool),
                         q->nmaps + 1)
          || !(b->map = calloc(1, sizeof(*b->map))))
        return -ENOMEM;
      q->nmaps++;
    }
    qmap_set(b->map, item);
  }
  return list_bucket(q, (uint32_t)nb);
}

/*
 * Queues item: an address with CHECKED in bit 0 when it is known to be an
 * object.  Referents cluster: most go to the bucket of the last push,
 * listed already, and cost two bits here.
 */
static inline __attribute__((always_inline)) int
push(struct walk *w, uint64_t item)
{
  struct queue *q = &w->q;
  uint64_t key = (item >> BUCKET_SHIFT) + 1;

  if (q->nb && !odd_item(item)) {
    struct bucket *b = &q->b[q->last];
    if (b->key == key && b->map && listed(q, b, key)) {
      qmap_set(b->map, item);
      return 0;
    }
  }
  return push_slow(w, item);
}

/*
 * Takes about max of b's pending items (up to 63 more: out has room for
 * max + 64) as offsets in its MiB with CHECKED in bit 0: while its list
 * holds any, from the list (newest first); else from the map, in address
 * order from where its last batch ended, their bits cleared.  0 when none
 * is pending: the map goes back to the pool.
 */
static size_t
take_batch(struct queue *q, struct bucket *b, uint32_t *out, size_t max)
{
  struct qmap *m = b->map;
  uint32_t pair = b->pos;
  size_t n = 0;
  int wrapped = 0;

  if (b->nodd) {
    n = b->nodd < max ? b->nodd : max;
    b->nodd -= (uint32_t)n;
    memcpy(out, b->odd + b->nodd, n * sizeof(*out));
    return n;
  }
  if (!m)
    return 0;
  while (n < max) {
    uint32_t s = pair >> 6;
    uint64_t sw
        = s < QMAP_SUMMARY ? m->summary[s] & (~(uint64_t)0 << (pair & 63)) : 0;
    uint64_t offered, checked, any;

    while (!sw && ++s < QMAP_SUMMARY)
      sw = m->summary[s];
    if (!sw) {
      /* The end of the MiB: what was pushed behind the last batch is next. */
      if (n || wrapped)
        break;
      wrapped = 1;
      pair = 0;
      continue;
    }
    pair = s * 64 + (uint32_t)__builtin_ctzll(sw);
    m->summary[s] &= ~(sw & -sw); /* the lowest bit: this pair */
    offered = m->words[2 * pair];
    checked = m->words[2 * pair + 1];
    m->words[2 * pair] = m->words[2 * pair + 1] = 0;
    for (any = offered | checked; any; any &= any - 1) {
      unsigned bit = (unsigned)__builtin_ctzll(any);
      out[n++] = ((pair * 64 + bit) << QMAP_GRANULE_BITS)
                 | (uint32_t)(checked >> bit & CHECKED);
    }
    pair++;
  }
  b->pos = pair < QMAP_WORDS ? pair : 0;
  if (!n) {
    q->pool[q->npool++] = m;
    b->map = NULL;
    b->pos = 0;
  }
  return n;
}

static void
queue_free(struct queue *q)
{
  for (size_t i = 0; i < q->nb; i++) {
    free(q->b[i].map);
    free(q->b[i].odd);
  }
  for (size_t i = 0; i < q->npool; i++)
    free(q->pool[i]);
  free(q->b);
  free(q->index);
  free(q->heap);
  free(q->next);
  free(q->pool);
  memset(q, 0, sizeof(*q));
}

/* ---- progress ------------------------------------------------------------ */

static double
since(const struct timespec *a, const struct timespec *b)
{
  return (double)(b->tv_sec - a->tv_sec)
         + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

/* The objects counted in c's kinds so far, and their bytes. */
static uint64_t
counted(const struct pm_census *c, uint64_t *size)
{
  uint64_t n = 0, bytes = 0;

  for (size_t i = 0; i < c->nkinds; i++) {
    n += c->kinds[i].count;
    bytes += c->kinds[i].size;
  }
  if (size)
    *size = bytes;
  return n;
}

static void
report(struct walk *w, int done)
{
  struct pm_census_progress p;
  struct timespec now;

  clock_gettime(CLOCK_MONOTONIC, &now);
  /* The first report at once: the caller decides when to show any. */
  if (!done && w->reported && since(&w->last_report, &now) < PROGRESS_SECONDS)
    return;
  if (done && !w->reported)
    return;
  w->last_report = now;
  w->reported = 1;
  p.objects = counted(w->c, NULL) + w->ndicts + w->nodicts;
  /* The second walker's reads: as it last said, or all once merged. */
  p.bytes_read
      = pm_target_bytes_read(w->py->t) - w->c->bytes_read + w->other_bytes;
  if (w->par) {
    p.objects += __atomic_load_n(&w->par->side[!w->id].count, __ATOMIC_RELAXED);
    p.bytes_read
        += __atomic_load_n(&w->par->side[!w->id].bytes, __ATOMIC_RELAXED);
  }
  p.seconds = since(&w->started, &now);
  p.phase = phase_names[w->phase];
  p.done = done;
  w->progress(w->progress_arg, &p);
}

static inline void
tick(struct walk *w)
{
  if (w->progress && --w->until_clock == 0) {
    w->until_clock = PROGRESS_EVERY;
    report(w, 0);
  }
}

/* ---- kinds --------------------------------------------------------------- */

static int
kind_index(struct walk *w, const char *name, int32_t *out)
{
  struct pm_census *c = w->c;
  int64_t k = pm__names_find(&w->names, name);
  char *copy;

  if (k >= 0) {
    *out = (int32_t)k;
    return 0;
  }
  if (pm__array_grow((void **)&c->kinds, &w->kinds_cap, sizeof(*c->kinds),
                     c->nkinds + 1)
      || !(copy = strdup(name)))
    return -ENOMEM;
  if (pm__names_add(&w->names, copy, c->nkinds)) {
    free(copy);
    return -ENOMEM;
  }
  memset(&c->kinds[c->nkinds], 0, sizeof(c->kinds[c->nkinds]));
  c->kinds[c->nkinds].name = copy;
  *out = (int32_t)c->nkinds++;
  return 0;
}

/*
 * Counts one object of size bytes in kind k; garbage: it is unreachable.
 * The census's totals are the kinds' sums (counted()), made at the end.
 */
static inline __attribute__((always_inline)) void
count(struct walk *w, int32_t k, uint64_t size, int garbage)
{
  struct pm_kind *kind = &w->c->kinds[k];

  kind->count++;
  kind->size += size;
  if (garbage) {
    kind->unreachable_count++;
    kind->unreachable_size += size;
    w->c->unreachable_count++;
    w->c->unreachable_size += size;
  }
}

/* ---- types --------------------------------------------------------------- */

static inline struct type_entry *
type_at(const struct walk *w, size_t idx)
{
  return &w->types[idx >> TYPE_BLOCK_BITS][idx & (TYPE_BLOCK - 1)];
}

/*
 * The entry for the type object at type, read and validated on first use
 * (entries of invalid types are kept too, so garbage is rejected fast).
 * Returns the index, or a negative error that ends the walk; w->last_e is
 * then the entry, until the next lookup.
 */
static int64_t type_lookup_slow(struct walk *w, pm_addr_t type,
                                struct hot_type *hot);

/* Whether type is the one looked up last (none is before a first look). */
static inline int
is_last_type(const struct walk *w, pm_addr_t type)
{
  return type == w->last_addr && w->last_e;
}

/* Notes the type at type (index idx, entry e) as the one looked up last. */
static inline void
last_type_is(struct walk *w, pm_addr_t type, size_t idx, struct type_entry *e)
{
  w->last_addr = type;
  w->last_type = idx;
  w->last_e = e;
}

static inline int64_t
type_lookup(struct walk *w, pm_addr_t type)
{
  struct hot_type *hot;

  /* Objects come in runs of one type: try the last one first. */
  if (is_last_type(w, type))
    return (int64_t)w->last_type;
  /*
   * Then the few types a heap is mostly made of, by pairs (in 64 slots of
   * one, two of a heap's seven main types met one time in three), then
   * every one.
   */
  hot = &w->hot_types[(pm__hash_addr(type) >> 58) & (HOT_TYPES - 2)];
  for (int i = 0; i < 2; i++) {
    if (hot[i].addr == type && hot[i].e) {
      last_type_is(w, type, hot[i].idx, hot[i].e);
      return (int64_t)hot[i].idx;
    }
  }
  return type_lookup_slow(w, type, hot);
}

/*
 * type_lookup() past its caches (hot: the pair of hot types for type): its
 * large frame is paid for only here.
 */
static __attribute__((noinline)) int64_t
type_lookup_slow(struct walk *w, pm_addr_t type, struct hot_type *hot)
{
  uint32_t idx, offs[MAX_TYPE_MEMBERS];
  struct type_entry *e;
  size_t n;
  int err;

  idx = (uint32_t)pm__amap_get(&w->type_index, type);
  if (idx) {
    /* The pair's newer one first: the older one goes. */
    hot[1] = hot[0];
    hot[0].addr = type;
    hot[0].idx = idx - 1;
    hot[0].e = type_at(w, idx - 1);
    last_type_is(w, type, idx - 1, hot[0].e);
    return idx - 1;
  }
  if (w->ntypes % TYPE_BLOCK == 0) {
    size_t b = w->ntypes / TYPE_BLOCK;
    if (pm__array_grow((void **)&w->types, &w->blocks_cap, sizeof(*w->types),
                       b + 1))
      return -ENOMEM;
    if (!(w->types[b] = malloc(TYPE_BLOCK * sizeof(**w->types))))
      return -ENOMEM;
  }
  e = type_at(w, w->ntypes);
  memset(e, 0, sizeof(*e));
  w->ntypes++;
  e->addr = type;
  e->kind = e->dict_kind = -1;
  e->base_size = e->presize = -1;
  err = pm__type_read(w->py, type, &e->info);
  if (err && pm__walk_fatal(err))
    return err;
  e->valid = err == 0;
  if (e->valid) {
    e->exact_dict = type == w->py->types[PM_T_DICT];
    err = pm__type_members(w->py, type, offs, MAX_TYPE_MEMBERS, &n);
    if (err && pm__walk_fatal(err))
      return err;
    if (err)
      n = 0; /* members unreadable: the instances contribute fewer referents */
    if (n > MAX_TYPE_MEMBERS)
      n = MAX_TYPE_MEMBERS;
    if (n) {
      if (!(e->members = malloc(n * sizeof(*e->members))))
        return -ENOMEM;
      memcpy(e->members, offs, n * sizeof(*e->members));
    }
    e->nmembers = (uint32_t)n;
    /* Only the type object's own pre-header depends on the object. */
    if (e->info.sizer != PM_SIZE_TYPE)
      e->presize = (int64_t)pm__object_presize(w->py, &e->info, 0);
    if (e->info.sizer == PM_SIZE_DEFAULT && e->info.basicsize >= 0
        && e->info.itemsize >= 0)
      e->base_size = e->info.basicsize + e->presize;
    e->by_head = pm__sizer_by_head(e->info.sizer);
    /* What pm__referents() finds nothing in (str, int, float, bytes...). */
    e->leaf = e->info.walker == PM_WALK_NONE && !n && !e->info.dictoffset
              && !(e->info.flags & PM_TPFLAGS_MANAGED_DICT)
              && e->info.sizer != PM_SIZE_TYPE && !e->exact_dict;
  }
  if ((err = pm__amap_add(&w->type_index, type, (uint32_t)w->ntypes)) < 0)
    return err;
  last_type_is(w, type, w->ntypes - 1, e);
  return (int64_t)w->ntypes - 1;
}

/* ---- finding objects ----------------------------------------------------- */

/*
 * A pointer some field declares to be an object: queued, to be checked
 * when its turn comes (see check()).  Only errors that end the walk come
 * back.
 */
static int count_object(struct walk *w, pm_addr_t obj, uint32_t t,
                        const struct type_entry *e, const unsigned char *head,
                        size_t nhead);

/*
 * The bytes of an object's head a walker looks at in place: enough for
 * every sizer pm__object_sizeof_head() serves (a str struct is the
 * longest), and a head that straddles two chunks is read the slow way.
 */
#define HEAD_BYTES 96

/* ---- two walkers: messages -------------------------------------------- */

/* Words of a MSG_GIVE: the MiB | MSG_GIVE, its bits, map, list, length. */
#define GIVE_WORDS 5

/*
 * Frees what the n words of messages at v hold (a given MiB's bits, map
 * and list), for messages that will not be taken.
 */
static void
drop_msgs(const uint64_t *v, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    if ((v[i] & MSG_MASK) == MSG_CLAIM) {
      i++;
    } else if ((v[i] & MSG_MASK) == MSG_GIVE && i + GIVE_WORDS <= n) {
      for (size_t k = 1; k < 4; k++)
        free((void *)(uintptr_t)v[i + k]);
      i += GIVE_WORDS - 1;
    }
  }
}

/* Hands the messages kept for the other walker over.  0 or -ENOMEM. */
static int
flush(struct walk *w)
{
  struct par *p = w->par;
  struct mailbox *to = &p->inbox[!w->id];
  int err = 0;

  if (!w->nout)
    return 0;
  pthread_mutex_lock(&p->lock);
  if (!to->n && w->out_cap >= MSG_FLUSH) {
    /* An empty inbox takes the messages' array as it is, no copy. */
    uint64_t *v = to->v;
    size_t cap = to->cap;
    to->v = w->out;
    to->cap = w->out_cap;
    to->n = w->nout;
    w->out = v;
    w->out_cap = cap;
  } else if (pm__array_grow((void **)&to->v, &to->cap, sizeof(*to->v),
                            to->n + w->nout)) {
    drop_msgs(w->out, w->nout);
    err = -ENOMEM;
  } else {
    memcpy(to->v + to->n, w->out, w->nout * sizeof(*w->out));
    to->n += w->nout;
  }
  if (!err) {
    __atomic_store_n(&p->side[!w->id].mail, 1, __ATOMIC_RELAXED);
    pthread_cond_broadcast(&p->cond);
  }
  pthread_mutex_unlock(&p->lock);
  w->nout = 0;
  return err;
}

/* Keeps the n words of one message for the other walker. */
static int
send_words(struct walk *w, const uint64_t *v, size_t n)
{
  if (pm__array_grow((void **)&w->out, &w->out_cap, sizeof(*w->out),
                     w->nout + n))
    return -ENOMEM;
  memcpy(w->out + w->nout, v, n * sizeof(*v));
  w->nout += n;
  return w->nout >= MSG_FLUSH ? flush(w) : 0;
}

/*
 * Keeps n (1 or 2) words of one message for the other walker: a store
 * when there is room and no handing over is due (a walker sends one
 * message for about every fourth referent).
 */
static inline int
send_msg(struct walk *w, uint64_t a, uint64_t b, size_t n)
{
  const uint64_t v[2] = { a, b };

  if (w->nout + 2 <= w->out_cap && w->nout + n < MSG_FLUSH) {
    w->out[w->nout] = a;
    w->out[w->nout + 1] = b; /* room for it; kept only when n is 2 */
    w->nout += n;
    return 0;
  }
  return send_words(w, v, n);
}

/*
 * Whether ref is in the seen set; *bits and *g are its MiB's bitmap (NULL
 * when the MiB has none yet) and its granule, for check_head().
 */
static inline int
seen_at(struct walk *w, pm_addr_t ref, uint64_t **bits, size_t *g)
{
  *bits = pm__set_bits(&w->seen, ref);
  *g = pm__set_granule(ref);
  return *bits && ((*bits)[*g >> 6] >> (*g & 63) & 1);
}

/*
 * The index in *t and the entry in *e of the type object at type, when it
 * is a valid type: 1, 0 when it is not, or an error that ends the walk.
 */
static inline int
valid_type(struct walk *w, pm_addr_t type, uint32_t *t, struct type_entry **e)
{
  int64_t i = type_lookup(w, type);

  if (i < 0)
    return (int)i;
  if (!w->last_e->valid)
    return 0;
  *t = (uint32_t)i;
  *e = w->last_e;
  return 1;
}

/*
 * Whether ref, whose first 16 bytes are head, is a new object (see
 * check()): a live header of a valid type.  bits and g: ref's seen bitmap
 * (NULL when its MiB has none yet) and granule.
 */
static inline int
check_head(struct walk *w, pm_addr_t ref, const uint64_t *head, uint64_t *bits,
           size_t g, uint32_t *t, struct type_entry **e)
{
  int err;

  if (!pm__refcnt_live(w->py, head[w->refcnt_word]))
    return 0;
  if ((err = valid_type(w, head[w->type_word], t, e)) <= 0)
    return err;
  /* The bitmap found by the caller is still the one (type_lookup adds none). */
  if (bits)
    bits[g >> 6] |= (uint64_t)1 << (g & 63);
  else if ((err = pm__set_add(&w->seen, ref)) < 0)
    return err;
  return 1;
}

/*
 * Whether ref was offered lately, noting it if not: a small filter keeps
 * the mail and the queue's list of 8-aligned pointers from holding one a
 * million times (the queue's map holds a 16-aligned pointer once however
 * often it is offered).  The two never share an address: the other
 * walker's MiB and this one's.
 */
static inline int
recently(struct walk *w, pm_addr_t ref)
{
  pm_addr_t *recent = &w->recent[(pm__hash_addr(ref) >> 40) & (RECENT - 1)];

  if (*recent == ref)
    return 1;
  *recent = ref;
  return 0;
}

static inline __attribute__((always_inline)) int
offer_one(struct walk *w, pm_addr_t ref)
{
  const unsigned char *cached;
  struct type_entry *e;
  uint64_t *bits, head[2];
  size_t g, n;
  uint32_t t = 0;
  int err;

  if ((ref & 7) || ref < MIN_POINTER)
    return 0;
  /* The other walker's: the same filter keeps repeats from the mail. */
  if (w->par && mib_owner(w, ref) != w->id)
    return recently(w, ref) ? 0 : send_msg(w, ref | MSG_REF, 0, 1);
  if (seen_at(w, ref, &bits, &g))
    return 0;
  /*
   * An object whose bytes are in the cache already is checked now, and a
   * leaf (str, int, float...) counted from them: only what has referents
   * to visit waits in the queue.  Its turn would have found the same.
   */
  if ((cached
       = pm__target_view_fast(w->py->t, ref, sizeof(head), HEAD_BYTES, &n))) {
    size_t ntypes = w->ntypes;
    memcpy(head, cached, sizeof(head));
    if ((err = check_head(w, ref, head, bits, g, &t, &e)) <= 0)
      return err;
    w->c->found_referents++;
    /* A type met for the first time was read: the cache may have moved. */
    if (w->ntypes != ntypes
        && !(cached = pm__target_view_fast(w->py->t, ref, 0, HEAD_BYTES, &n)))
      n = 0;
    if (e->leaf)
      return (err = count_object(w, ref, t, e, cached, n)) > 0 ? 0 : err;
    return push(w, ref | CHECKED);
  }
  /*
   * Until its turn comes a pointer is not in the seen set.  The map holds
   * it once however often it is offered; the list of 8-aligned ones (a
   * 3.12 static str, say) does not, and the filter keeps it short.
   */
  return odd_item(ref) && recently(w, ref) ? 0 : push(w, ref);
}

static int
offer(void *arg, pm_addr_t ref)
{
  return offer_one(arg, ref);
}

static int par_poll(struct walk *w);

/*
 * offer() for each of a run of referents (pm_refs_fn), with no call each.
 * Every POLL_REFS referents (runs of one field each count too) the other
 * walker gets its mail and, when out of work, some of this one's buckets,
 * as between batches (drain()): a long array comes in runs of a few
 * hundred (visit_array_chunks()), and one of 100 000 items takes
 * milliseconds, during which the other walker would get neither.
 */
static int
offer_run(void *arg, const uint64_t *refs, size_t n, size_t stride)
{
  struct walk *w = arg;
  int err;

  for (size_t i = 0; i < n; i++)
    if ((err = offer_one(w, refs[i * stride])))
      return err;
  if (w->par && (w->poll_in = w->poll_in > n ? w->poll_in - n : 0) == 0) {
    w->poll_in = POLL_REFS;
    return par_poll(w);
  }
  return 0;
}

/*
 * Whether the pointer ref is a new object: it must read as a live object
 * of a valid type.  Anything else is not an object and costs nothing.
 * Sets *t; returns 1 for an object, 0 if not, or an error that ends the
 * walk.
 */
static int
check(struct walk *w, pm_addr_t ref, uint32_t *t)
{
  struct type_entry *e;
  uint64_t head[2], *bits;
  size_t g;
  int err;

  if (seen_at(w, ref, &bits, &g))
    return 0;
  err = pm__target_read_fast(w->py->t, ref, head, sizeof(head));
  if (err)
    return pm__walk_fatal(err) ? err : 0;
  return check_head(w, ref, head, bits, g, t, &e);
}

/*
 * The claimed set is a filter in front of the map of owners, a bit per 64
 * bytes (no dict with its GC head takes less): a quarter of the memory of
 * the seen set, since claimed dicts are spread over the whole heap.  Its
 * members are dict / 64, one to a granule.
 */
static inline pm_addr_t
claimed_key(pm_addr_t dict)
{
  return (dict >> 6) << PM_SET_GRANULE_BITS;
}

/*
 * The set of the dicts of the type at index owner (entry e), made when it
 * has claimed OWNER_SET_AFTER in the map and a set is free; or NULL.
 */
static struct owner_set *
owner_set(struct walk *w, uint32_t owner, const struct type_entry *e)
{
  struct owner_set *free_set = NULL;

  for (int i = 0; i < OWNER_SETS; i++) {
    if (w->owner_sets[i].type == owner + 1)
      return &w->owner_sets[i];
    if (!w->owner_sets[i].type && !free_set)
      free_set = &w->owner_sets[i];
  }
  /* The tests' walk that gives at every turn: a set at the first claim. */
  if (free_set && (e->claims >= OWNER_SET_AFTER || (w->flags & PM_CENSUS_GIVE)))
    free_set->type = owner + 1;
  return free_set && free_set->type ? free_set : NULL;
}

static int count_dict(struct walk *w, pm_addr_t obj, uint64_t size,
                      int garbage);
static int object_size(struct walk *w, const struct type_entry *e,
                       pm_addr_t obj, const unsigned char *head, size_t nhead,
                       uint64_t *size);

/* Makes w->no_owner_kind the index of "dict (no owner)".  0 or an error. */
static int
no_owner_kind(struct walk *w)
{
  return w->no_owner_kind < 0
             ? kind_index(w, "dict (no owner)", &w->no_owner_kind)
             : 0;
}

/*
 * The first claim on dict, which was counted with no owner: moved to its
 * owner's kind, its size found again (from the same bytes, as the target
 * is stopped; a live one's may have changed, and what is taken away is
 * never more than the kind holds).  Rare: an owner's dict is mostly found
 * from it, after its claim.  A pointer torn into a dict's 64 bytes, or a
 * dict that no longer reads, moves nothing: it stays with no owner.
 */
static int
claim_late(struct walk *w, pm_addr_t dict)
{
  const pm_addr_t dict_type = w->py->types[PM_T_DICT];
  struct pm_kind *k;
  uint64_t head[2], size;
  int64_t t;
  int err;

  if ((err = pm__target_read_fast(w->py->t, dict, head, sizeof(head))))
    return pm__walk_fatal(err) ? err : 0;
  if (head[w->type_word] != dict_type)
    return 0;
  if ((t = type_lookup(w, dict_type)) < 0)
    return (int)t;
  if (!type_at(w, (size_t)t)->valid)
    return 0;
  if ((err = object_size(w, type_at(w, (size_t)t), dict, NULL, 0, &size)))
    return pm__walk_fatal(err) ? err : 0;
  if ((err = no_owner_kind(w)))
    return err;
  k = &w->c->kinds[w->no_owner_kind];
  if (!k->count)
    return 0;
  if (size > k->size)
    size = k->size;
  k->count--;
  k->size -= size;
  return count_dict(w, dict, size, 0);
}

/*
 * Notes the type at index owner as the first to claim dict, and moves
 * dict to its kind when it was counted with no owner before.
 */
static int
claim(struct walk *w, pm_addr_t dict, uint32_t owner)
{
  struct type_entry *e = type_at(w, owner);
  struct owner_set *set;
  pm_addr_t key = claimed_key(dict);
  int err;

  /* A torn pointer claims nothing (masked, it could name a real dict). */
  if (dict & 7)
    return 0;
  /* The walker that owns the dict keeps its claims: by type address. */
  if (w->par && first_owner(w->unit_shift, dict) != w->id)
    return send_msg(w, (dict & ~(pm_addr_t)MSG_MASK) | MSG_CLAIM, e->addr, 2);
  /* The first claim names the dict: one the second walker took stays. */
  if ((err = pm__set_add(&w->claimed, key)) <= 0)
    return err;
  if ((set = owner_set(w, owner, e))) {
    if (pm__set_add(&set->set, key) < 0)
      return -ENOMEM;
  } else {
    e->claims++;
    if (pm__amap_add(&w->owners, key, owner + 1) < 0)
      return -ENOMEM;
  }
  return pm__set_has(&w->unowned, key) ? claim_late(w, dict) : 0;
}

/* The owner's type index + 1 of dict, or 0. */
static uint32_t
owner_of(struct walk *w, pm_addr_t dict)
{
  pm_addr_t key = claimed_key(dict);
  uint32_t o;

  if (!pm__set_has(&w->claimed, key))
    return 0;
  for (int i = 0; i < 2 * OWNER_SETS; i++)
    if (w->owner_sets[i].type && pm__set_has(&w->owner_sets[i].set, key))
      return w->owner_sets[i].type;
  o = (uint32_t)pm__amap_get(&w->owners, key);
  return o || !w->oowners.used ? o : (uint32_t)pm__amap_get(&w->oowners, key);
}

/* 3.12+: the dicts of static builtin types live in the interpreter. */
static int
offer_static_dict(struct walk *w, pm_addr_t type, uint32_t owner)
{
  int err;

  for (size_t i = 0; i < w->nstatics; i++) {
    if (w->statics[i].type != type)
      continue;
    if ((err = claim(w, w->statics[i].dict, owner)) < 0
        || (err = offer(w, w->statics[i].dict)))
      return err;
  }
  return 0;
}

/*
 * Counts the exact dict obj by its owner; with none yet, as one with no
 * owner when its claims come to this walker (claim() moves it if one
 * comes), else keeps it for the end.
 */
static int
count_dict(struct walk *w, pm_addr_t obj, uint64_t size, int garbage)
{
  uint32_t owner = owner_of(w, obj);
  struct type_entry *e;
  char name[PM_KIND_NAME_MAX + 16];
  int err;

  if (!owner && !garbage
      && (!w->par || first_owner(w->unit_shift, obj) == w->id)) {
    if ((err = no_owner_kind(w)))
      return err;
    if (pm__set_add(&w->unowned, claimed_key(obj)) < 0)
      return -ENOMEM;
    count(w, w->no_owner_kind, size, 0);
    return 0;
  }
  if (!owner) {
    if (pm__array_grow((void **)&w->dicts, &w->dicts_cap, sizeof(*w->dicts),
                       w->ndicts + 1))
      return -ENOMEM;
    w->dicts[w->ndicts].obj = obj | (garbage ? 1 : 0);
    w->dicts[w->ndicts].size = size;
    w->ndicts++;
    return 0;
  }
  /*
   * The first owner to claim a dict names it: a claim that comes after the
   * dict was counted with no owner moves it (claim_late()), so its kind is
   * its first claimant's whenever the claim comes.
   */
  e = type_at(w, owner - 1);
  if (e->dict_kind < 0) {
    snprintf(name, sizeof(name), "dict of %s", e->info.name);
    if ((err = kind_index(w, name, &e->dict_kind)))
      return err;
  }
  count(w, e->dict_kind, size, garbage);
  return 0;
}

/*
 * object.__sizeof__ of obj, of a type with base_size (pm__object_size()
 * too), without a call: from head (nhead bytes) or a read.
 */
static inline int
default_size(struct walk *w, const struct type_entry *e, pm_addr_t obj,
             const unsigned char *head, size_t nhead, uint64_t *size)
{
  int64_t n, off = w->py->L->varobject_ob_size;
  int err = 0;

  if (e->info.itemsize == 0) {
    *size = (uint64_t)e->base_size;
    return 0;
  }
  if (off >= 0 && (uint64_t)off + sizeof(n) <= nhead)
    memcpy(&n, head + off, sizeof(n));
  else if (off >= 0)
    err = pm__target_read_fast(w->py->t, obj + (pm_addr_t)off, &n, sizeof(n));
  else
    err = PM_EOFFSETS;
  if (!err && (n < 0 || n > (INT64_C(1) << 40)))
    err = PM_ECORRUPT;
  /* itemsize <= 1 << 16 and n <= 1 << 40: the product fits. */
  *size = err ? 0 : (uint64_t)e->base_size + (uint64_t)(e->info.itemsize * n);
  return err;
}

/*
 * The size of obj, of the type of entry e, whose first nhead bytes are at
 * head (NULL and 0 when the caller has none): 0 or an error.
 */
static int
object_size(struct walk *w, const struct type_entry *e, pm_addr_t obj,
            const unsigned char *head, size_t nhead, uint64_t *size)
{
  int64_t r;
  int err;

  if (e->base_size >= 0)
    return default_size(w, e, obj, head, nhead, size);
  if (e->presize < 0)
    return pm__object_size(w->py, &e->info, obj, size);
  /* From the bytes in hand when they do (a str's, an int's...). */
  r = e->by_head && nhead
          ? pm__object_sizeof_head(w->py, &e->info, obj, head, nhead, size)
          : 1;
  err = r > 0 ? pm__object_sizeof(w->py, &e->info, obj, size) : (int)r;
  if (!err)
    *size += (uint64_t)e->presize;
  return err;
}

/* count_object() past its fast path. */
static __attribute__((noinline)) int
count_object_slow(struct walk *w, pm_addr_t obj, uint32_t t,
                  const unsigned char *head, size_t nhead)
{
  struct type_entry *e = type_at(w, t); /* written: kind, offered */
  int garbage = w->phase == PHASE_GARBAGE;
  uint64_t size;
  int err;

  tick(w);
  err = object_size(w, e, obj, head, nhead, &size);
  /*
   * Every object refers to its type; each type is offered once, after the
   * size: the offer may read (a metatype met for the first time), and head
   * is good only until the next read.
   */
  if (!e->offered) {
    int err2;
    e->offered = 1;
    if ((err2 = offer(w, e->addr)))
      return err2;
  }
  if (err) {
    if (pm__walk_fatal(err))
      return err;
    w->c->skipped++;
    return 1;
  }
  if (e->exact_dict && !(w->flags & PM_CENSUS_BY_TYPE)) {
    /* Its kind depends on its owner, who may not be found yet. */
    return count_dict(w, obj, size, garbage);
  }
  if (e->kind < 0 && (err = kind_index(w, e->info.name, &e->kind)))
    return err;
  e->fast = e->base_size >= 0               ? FAST_DEFAULT
            : e->by_head && e->presize >= 0 ? FAST_HEAD
                                            : FAST_NONE;
  count(w, e->kind, size, garbage);
  return 0;
}

/*
 * Counts obj, of the type at index t, in its kind with its size, and
 * offers its type; head holds obj's first nhead bytes as the cache has
 * them (NULL and 0 when the caller has none), which serve most sizes
 * without a read; they are good until the next read of the target.
 * 1 when its size could not be read (skipped), 0, or an error that ends
 * the walk.  Inline for the objects of a fixed or item-counted size
 * (float, tuple, most instances) or sized by their head (str, int, list)
 * whose type is offered and kind known.
 */
static inline __attribute__((always_inline)) int
count_object(struct walk *w, pm_addr_t obj, uint32_t t,
             const struct type_entry *e, const unsigned char *head,
             size_t nhead)
{
  uint64_t size;

  if (e->fast == FAST_DEFAULT) {
    if (default_size(w, e, obj, head, nhead, &size))
      return count_object_slow(w, obj, t, head, nhead);
  } else if (e->fast == FAST_HEAD && nhead) {
    if (pm__object_sizeof_head(w->py, &e->info, obj, head, nhead, &size))
      return count_object_slow(w, obj, t, head, nhead);
    size += (uint64_t)e->presize;
  } else {
    return count_object_slow(w, obj, t, head, nhead);
  }
  tick(w);
  count(w, e->kind, size, w->phase == PHASE_GARBAGE);
  return 0;
}

/*
 * Counts obj, of the type at index t, and offers its referents; head holds
 * its first nhead bytes as the cache has them (NULL and 0 when the caller
 * has none: then they are looked up when a size needs them).
 */
static int
process(struct walk *w, pm_addr_t obj, uint32_t t, const struct type_entry *e,
        const unsigned char *head, size_t nhead)
{
  pm_addr_t dict;
  int64_t t2;
  int err;

  if (!head && (e->by_head || (e->base_size >= 0 && e->info.itemsize)))
    head = pm__target_view_fast(w->py->t, obj, 0, HEAD_BYTES, &nhead);
  if ((err = count_object(w, obj, t, e, head, head ? nhead : 0)))
    return err > 0 ? 0 : err;
  if (e->leaf)
    return 0;
  /*
   * A type object found is a type its instances may be known by; the
   * allocator's blocks are only believed for types known so.
   */
  if (e->info.sizer == PM_SIZE_TYPE && (t2 = type_lookup(w, obj)) < 0)
    return (int)t2;
  err = pm__referents_runs(w->py, obj, &e->info, e->members, e->nmembers,
                           offer_run, w, &dict);
  if (err)
    return err;
  if (dict && (err = claim(w, dict, t)) < 0)
    return err;
  if (!dict && e->info.walker == PM_WALK_TYPE && w->nstatics
      && (err = offer_static_dict(w, obj, t)))
    return err;
  return 0;
}

/* The type of an object already checked, read again (a cache hit now). */
static int
checked_type(struct walk *w, pm_addr_t obj, uint32_t *t, struct type_entry **e)
{
  uint64_t type;
  int err;

  if ((err
       = pm__target_read_fast(w->py->t, obj + w->py->L->object_type, &type, 8)))
    return pm__walk_fatal(err) ? err : 0;
  return valid_type(w, type, t, e);
}

/*
 * Checks (unless known) and processes one queued item, from one look at
 * its head in the cache (read into it first when it is not there).
 */
static int
handle(struct walk *w, uint64_t item)
{
  pm_addr_t obj = item & ~(uint64_t)CHECKED;
  const unsigned char *head;
  struct type_entry *e;
  uint64_t h[2], *bits = NULL;
  size_t g = 0, n = 0, ntypes = w->ntypes;
  uint32_t t = 0;
  int err;

  if (!(item & CHECKED) && seen_at(w, obj, &bits, &g))
    return 0; /* offered again, and seen meanwhile */
  if ((head = pm__target_view_fast(w->py->t, obj, sizeof(h), HEAD_BYTES, &n))) {
    memcpy(h, head, sizeof(h));
  } else {
    if ((err = pm__target_read_fast(w->py->t, obj, h, sizeof(h))))
      return pm__walk_fatal(err) ? err : 0;
    head = pm__target_view_fast(w->py->t, obj, sizeof(h), HEAD_BYTES, &n);
  }
  if (item & CHECKED) {
    if ((err = valid_type(w, h[w->type_word], &t, &e)) <= 0)
      return err;
  } else {
    if ((err = check_head(w, obj, h, bits, g, &t, &e)) <= 0)
      return err;
    w->c->found_referents++;
  }
  /* A type met for the first time was read: the cache may have moved. */
  if (w->ntypes != ntypes)
    head = NULL;
  return process(w, obj, t, e, head, head ? n : 0);
}

static int scan_mib(struct walk *w, uint64_t key);

#define PREFETCH_AHEAD 8

/*
 * Processes the queued work until none is left, in sweeps over the address
 * space: each bucket of a sweep is emptied (what its objects add to it
 * too) before the next one down is taken.  Its objects are taken in address
 * order, so that the local copies of the target's memory are read ahead
 * by the CPU, not missed one by one.
 */
static int
drain(struct walk *w)
{
  struct queue *q = &w->q;
  int err;

  while (q->nnext > 0) {
    w->c->sweeps++;
    for (size_t i = 0; i < q->nnext; i++) {
      /* Buckets taken into the last sweep after they were listed: done. */
      if (q->b[q->next[i]].queued != SWEEP_NEXT)
        continue;
      q->b[q->next[i]].queued = SWEEP_NOW;
      if ((err = heap_push(q, q->next[i])))
        return err;
    }
    q->nnext = 0;
    while (q->nheap > 0) {
      uint32_t nb = heap_pop(q);
      const pm_addr_t base = (q->b[nb].key - 1) << BUCKET_SHIFT;

      q->cur = q->b[nb].key;
      /* One given away is empty, and may come back unswept. */
      q->b[nb].swept |= !q->b[nb].given;
      /* Indices, not pointers: handle() may grow the bucket array. */
      while (q->b[nb].map || q->b[nb].nodd) {
        size_t n;

        /* The other walker's news first: it may add to this bucket. */
        if (w->par && (err = par_poll(w))) {
          q->cur = 0;
          return err;
        }
        n = take_batch(q, &q->b[nb], w->batch, BATCH);
        /* The cached bytes [pf_lo, pf_hi) are at pf, or were: see below. */
        pm_addr_t pf_lo = 1, pf_hi = 0;
        const unsigned char *pf = NULL;
        for (size_t i = 0; i < n; i++) {
          /*
           * The CPU fetches the copies a few objects ahead.  Most lie in
           * the chunk of the one before, looked up once: a read since may
           * have refilled its slot, and a hint to fetch other bytes of the
           * cache is only a wasted hint.
           */
          if (i + PREFETCH_AHEAD < n) {
            pm_addr_t ahead
                = base | (w->batch[i + PREFETCH_AHEAD] & ~(uint32_t)CHECKED);
            if (ahead - pf_lo >= pf_hi - pf_lo) {
              size_t avail;
              if ((pf = pm__target_cached_at(w->py->t, ahead, &avail))) {
                pf_lo = ahead;
                pf_hi = ahead + avail;
              } else {
                pf_lo = 1;
                pf_hi = 0;
              }
            }
            if (pf)
              __builtin_prefetch(pf + (ahead - pf_lo));
          }
          if ((err = handle(w, base | w->batch[i]))) {
            q->cur = 0;
            return err;
          }
        }
      }
      q->b[nb].queued = 0;
      /*
       * Its chunks are in the cache now: the pools there, once (a MiB
       * given away is the other walker's to scan).  A scan takes up to a
       * millisecond or two: the other walker gets its mail first.
       */
      if (w->scan && !q->b[nb].given
          && ((w->par && (err = par_poll(w)))
              || (err = scan_mib(w, q->b[nb].key)))) {
        q->cur = 0;
        return err;
      }
    }
    q->cur = 0;
  }
  return 0;
}

/* A root (frame: in a thread's frames) of this walker's, checked now. */
static int
root_take(struct walk *w, pm_addr_t ref, int frame)
{
  uint32_t t;
  int err;

  if ((err = check(w, ref, &t)) <= 0)
    return err;
  w->c->found_roots++;
  if (frame)
    w->c->found_frames++;
  return push(w, ref | CHECKED);
}

/* Phase A: every root, checked at once (or by the walker that owns it). */
static int
root_visit(void *arg, const struct pm_root *root)
{
  struct walk *w = arg;
  pm_addr_t ref = root->obj;
  int frame;

  if ((ref & 7) || ref < MIN_POINTER)
    return 0;
  /*
   * What only C holds stays out of a census that is to match what Python
   * code can reach (PM_CENSUS_NO_BLOCKS): the static types without an
   * instance, the interned strings nothing else refers to.
   */
  if ((w->flags & PM_CENSUS_NO_BLOCKS)
      && (root->kind == PM_ROOT_STATIC_TYPE || root->kind == PM_ROOT_INTERNED))
    return 0;
  frame
      = root->kind == PM_ROOT_FRAME_LOCAL || root->kind == PM_ROOT_FRAME_OTHER;
  if (w->par && mib_owner(w, ref) != w->id)
    return send_msg(w, ref | (frame ? MSG_FRAME : MSG_ROOT), 0, 1);
  return root_take(w, ref, frame);
}

/* ---- two walkers: phase A ---------------------------------------------- */

/*
 * Notes that the MiB at base is walker o's now (see mib_owner()).  The
 * caller empties the filter of recent pointers before the next offer: it
 * holds pointers of the other walker's MiB and of this one's list, and
 * which are which has changed.
 */
static int
moved(struct walk *w, pm_addr_t base, unsigned o)
{
  uint64_t *v = pm__amap_find(&w->moved, mib_key(base));
  int err;

  w->moved_any[(base >> (BUCKET_SHIFT + 6)) & 63]
      |= (uint64_t)1 << ((base >> BUCKET_SHIFT) & 63);
  if (v) {
    *v = o + 1;
    return 0;
  }
  return (err = pm__amap_add(&w->moved, mib_key(base), o + 1)) < 0 ? err : 0;
}

/* Gives bucket nb's MiB to the other walker, with what is known of it. */
static int
give_bucket(struct walk *w, uint32_t nb)
{
  struct bucket *b = &w->q.b[nb];
  const pm_addr_t base = (b->key - 1) << BUCKET_SHIFT;
  uint64_t v[GIVE_WORDS];
  int err;

  if (!(v[1] = (uint64_t)(uintptr_t)pm__set_copy_bits(&w->seen, base)))
    return -ENOMEM;
  if ((err = pm__array_grow((void **)&w->out, &w->out_cap, sizeof(*w->out),
                            w->nout + GIVE_WORDS))
      || (err = moved(w, base, !w->id))) {
    free((void *)(uintptr_t)v[1]);
    return err;
  }
  v[0] = base | MSG_GIVE;
  v[2] = (uint64_t)(uintptr_t)b->map;
  v[3] = (uint64_t)(uintptr_t)b->odd;
  v[4] = b->nodd;
  if (b->map)
    w->q.nmaps--;
  b->map = NULL;
  b->odd = NULL;
  b->nodd = b->odd_cap = 0;
  b->pos = 0;
  b->given = 1;
  return send_words(w, v, GIVE_WORDS);
}

struct give_item {
  uint64_t key;
  uint32_t nb;
};

static int
by_rank_down(const void *a, const void *b)
{
  uint64_t x = sweep_rank(((const struct give_item *)a)->key),
           y = sweep_rank(((const struct give_item *)b)->key);

  return x < y ? 1 : x > y ? -1 : 0;
}

/*
 * The other walker is out of work: gives it half of the buckets of this
 * sweep not swept yet, rounded up (a single one too: this walker has the
 * bucket under way), the last ones of the sweep (see struct par).  0 or
 * -ENOMEM.
 */
static int
give(struct walk *w)
{
  struct queue *q = &w->q;
  struct give_item *v;
  size_t n = 0;
  int err = 0;

  for (size_t i = 0; i < q->nheap; i++) {
    const struct bucket *b = &q->b[q->heap[i]];
    n += !b->swept && !b->given && (b->map || b->nodd);
  }
  if (!n)
    return 0;
  if (!(v = malloc(n * sizeof(*v))))
    return -ENOMEM;
  n = 0;
  for (size_t i = 0; i < q->nheap; i++) {
    const struct bucket *b = &q->b[q->heap[i]];
    if (!b->swept && !b->given && (b->map || b->nodd))
      v[n++] = (struct give_item){ b->key, q->heap[i] };
  }
  qsort(v, n, sizeof(*v), by_rank_down);
  for (size_t i = 0; i < (n + 1) / 2 && !err; i++)
    err = give_bucket(w, v[i].nb);
  free(v);
  memset(w->recent, 0, sizeof(w->recent)); /* see moved() */
  return err;
}

/*
 * Takes the MiB at base from the other walker (a MSG_GIVE): its seen bits
 * (bits), its pending work (map, and n items at odd); all three are this
 * walker's to free.
 */
static int
take_bucket(struct walk *w, pm_addr_t base, uint64_t *bits, struct qmap *map,
            uint32_t *odd, uint32_t n)
{
  struct queue *q = &w->q;
  struct bucket *b;
  int64_t nb;
  int err;

  if ((err = moved(w, base, w->id)))
    goto fail;
  memset(w->recent, 0, sizeof(w->recent));
  err = pm__set_take_bits(&w->seen, base, bits);
  bits = NULL; /* taken, or freed */
  if (err)
    goto fail;
  if ((nb = bucket_of(q, (base >> BUCKET_SHIFT) + 1)) < 0) {
    err = (int)nb;
    goto fail;
  }
  b = &q->b[nb];
  b->given = 0;
  if (map) {
    /* The pool keeps room for every map (take_batch()). */
    if (pm__array_grow((void **)&q->pool, &q->pool_cap, sizeof(*q->pool),
                       q->nmaps + 1)) {
      err = -ENOMEM;
      goto fail;
    }
    q->nmaps++;
    if (!b->map) {
      b->map = map;
    } else {
      for (size_t k = 0; k < QMAP_SUMMARY; k++)
        b->map->summary[k] |= map->summary[k];
      for (size_t k = 0; k < 2 * QMAP_WORDS; k++)
        b->map->words[k] |= map->words[k];
      memset(map, 0, sizeof(*map));
      q->pool[q->npool++] = map;
    }
    map = NULL;
  }
  if (n) {
    size_t cap = b->odd_cap;
    if (pm__array_grow((void **)&b->odd, &cap, sizeof(*b->odd),
                       (size_t)b->nodd + n)) {
      err = -ENOMEM;
      goto fail;
    }
    b->odd_cap = (uint32_t)cap;
    memcpy(b->odd + b->nodd, odd, n * sizeof(*odd));
    b->nodd += n;
  }
  free(odd);
  return b->map || b->nodd ? list_bucket(q, (uint32_t)nb) : 0;
fail:
  free(bits);
  free(map);
  free(odd);
  return err;
}

/* Takes the messages in this walker's inbox and acts on them. */
static int
take_mail(struct walk *w)
{
  struct par *p = w->par;
  struct mailbox got;
  size_t i;
  int err = 0;

  pthread_mutex_lock(&p->lock);
  got = p->inbox[w->id];
  p->inbox[w->id] = w->spare;
  p->inbox[w->id].n = 0;
  __atomic_store_n(&p->side[w->id].mail, 0, __ATOMIC_RELAXED);
  pthread_mutex_unlock(&p->lock);
  for (i = 0; i < got.n && !err; i++) {
    pm_addr_t a = got.v[i] & ~(uint64_t)MSG_MASK;
    int64_t t;
    switch (got.v[i] & MSG_MASK) {
    case MSG_REF:
      err = offer_one(w, a);
      break;
    case MSG_ROOT:
    case MSG_FRAME:
      /* Sent before this walker gave its MiB away: passed on. */
      err = mib_owner(w, a) != w->id
                ? send_msg(w, got.v[i], 0, 1)
                : root_take(w, a, (got.v[i] & MSG_MASK) == MSG_FRAME);
      break;
    case MSG_GIVE:
      /* Always handed over whole (send_words()). */
      if (i + GIVE_WORDS > got.n) {
        i = got.n - 1;
        break;
      }
      err = take_bucket(w, a, (uint64_t *)(uintptr_t)got.v[i + 1],
                        (struct qmap *)(uintptr_t)got.v[i + 2],
                        (uint32_t *)(uintptr_t)got.v[i + 3],
                        (uint32_t)got.v[i + 4]);
      i += GIVE_WORDS - 1;
      break;
    case MSG_CLAIM:
      /* A claim is two words, always handed over together. */
      if (i + 1 >= got.n)
        break;
      if ((t = type_lookup(w, got.v[++i])) < 0)
        err = (int)t;
      else if (type_at(w, (size_t)t)->valid
               && (err = claim(w, a, (uint32_t)t)) > 0)
        err = 0;
      break;
    }
  }
  /* Failed: what the rest holds is freed (given MiB). */
  if (err && i < got.n)
    drop_msgs(got.v + i, got.n - i);
  w->spare = got;
  return err;
}

/*
 * Between batches, every POLL_REFS referents offered and before a MiB's
 * scan: stops when the other walker failed, takes the mail, hands over
 * what is kept for the other, and says how far it got.
 */
static int
par_poll(struct walk *w)
{
  struct par *p = w->par;
  int err;

  if (__atomic_load_n(&p->stop, __ATOMIC_RELAXED))
    return -ECANCELED;
  if (__atomic_load_n(&p->side[w->id].mail, __ATOMIC_RELAXED)
      && (err = take_mail(w)))
    return err;
  __atomic_store_n(&p->side[w->id].count, counted(w->c, NULL) + w->ndicts,
                   __ATOMIC_RELAXED);
  __atomic_store_n(&p->side[w->id].bytes, pm_target_bytes_read(w->py->t),
                   __ATOMIC_RELAXED);
  /*
   * Handing over takes the lock and may wake the other walker: done for
   * a good number of messages, or at once when the other has no work
   * (then with work of this one's, when it has enough).
   */
  if (__atomic_load_n(&p->side[!w->id].waiting, __ATOMIC_RELAXED)
      || (w->flags & PM_CENSUS_GIVE)) {
    /* Work for it: unless what went over last is not taken yet. */
    if (!__atomic_load_n(&p->side[!w->id].mail, __ATOMIC_RELAXED)
        && (err = give(w)))
      return err;
    return flush(w);
  }
  return w->nout >= MSG_SOON ? flush(w) : 0;
}

/* A walker's share of phase A: until both are out of work, or one fails. */
static int
par_loop(struct walk *w)
{
  struct par *p = w->par;
  int err;

  for (;;) {
    struct timespec t0, t1;

    if ((err = drain(w)) || (err = flush(w)))
      break;
    /*
     * Out of work: mail often comes within microseconds, and a walker that
     * sleeps for it costs a wake-up on both sides.  A short look first.
     */
    __atomic_store_n(&p->side[w->id].waiting, 1, __ATOMIC_RELAXED);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
      for (int i = 0; i < 64; i++)
        cpu_relax();
      clock_gettime(CLOCK_MONOTONIC, &t1);
    } while (!__atomic_load_n(&p->side[w->id].mail, __ATOMIC_RELAXED)
             && !__atomic_load_n(&p->stop, __ATOMIC_RELAXED)
             && (t1.tv_sec - t0.tv_sec) * 1000000000L + t1.tv_nsec - t0.tv_nsec
                    < SPIN_NS);
    if (__atomic_load_n(&p->side[w->id].mail, __ATOMIC_RELAXED)) {
      __atomic_store_n(&p->side[w->id].waiting, 0, __ATOMIC_RELAXED);
      if ((err = take_mail(w)))
        break;
      continue;
    }
    pthread_mutex_lock(&p->lock);
    p->idle++;
    while (!p->inbox[w->id].n && !__atomic_load_n(&p->stop, __ATOMIC_RELAXED)) {
      /* Both out of work with nothing on the way: phase A is done. */
      if (p->idle == 2 && !p->inbox[!w->id].n) {
        __atomic_store_n(&p->stop, 1, __ATOMIC_RELAXED);
        pthread_cond_broadcast(&p->cond);
        break;
      }
      pthread_cond_wait(&p->cond, &p->lock);
    }
    p->idle--;
    __atomic_store_n(&p->side[w->id].waiting, 0, __ATOMIC_RELAXED);
    if (__atomic_load_n(&p->stop, __ATOMIC_RELAXED)) {
      err = p->err;
      pthread_mutex_unlock(&p->lock);
      return err;
    }
    pthread_mutex_unlock(&p->lock);
    if ((err = take_mail(w)))
      break;
  }
  pthread_mutex_lock(&p->lock);
  if (!p->err && err != -ECANCELED)
    p->err = err;
  err = p->err ? p->err : err;
  __atomic_store_n(&p->stop, 1, __ATOMIC_RELAXED);
  pthread_cond_broadcast(&p->cond);
  pthread_mutex_unlock(&p->lock);
  return err;
}

static void *
par_thread(void *arg)
{
  struct walk *w = arg;

  w->par_err = par_loop(w);
  return NULL;
}

static void walk_free(struct walk *w);

/*
 * Whether the heap is small (PAR_MIN_ARENA_BYTES), as far as the arenas
 * found tell; never when none were.
 */
static int
small_heap(const struct walk *w)
{
  return w->scan
         && (uint64_t)w->arenas.n * w->arenas.g.arena_size
                < PAR_MIN_ARENA_BYTES;
}

/*
 * Sets up the second walker for phase A, when the target can be read from
 * two threads and the heap is not small: 0, 1 when the walk stays on one
 * thread, or -ENOMEM.
 */
static int
par_prepare(struct walk *w)
{
  struct walk *o;
  struct par *p;
  int err;

  if (w->flags & PM_CENSUS_SERIAL)
    return 1;
  if (!(w->flags & (PM_CENSUS_PARALLEL | PM_CENSUS_GIVE)) && small_heap(w))
    return 1;
  if (!(p = zalloc_lines(sizeof(*p))) || !(o = zalloc_lines(sizeof(*o)))) {
    free(p);
    return -ENOMEM;
  }
  if (!(o->c = zalloc_lines(sizeof(*o->c)))) {
    free(o);
    free(p);
    return -ENOMEM;
  }
  o->py_own = *w->py;
  if ((err = pm__target_clone(w->py->t, &o->py_own.t))) {
    free(o->c);
    free(o);
    free(p);
    return err == -ENOTSUP ? 1 : err;
  }
  o->py = &o->py_own;
  o->flags = w->flags;
  o->refcnt_word = w->refcnt_word;
  o->type_word = w->type_word;
  o->phase = PHASE_ROOTS;
  o->no_owner_kind = -1;
  o->scan = w->scan;
  o->hooks_pad = w->hooks_pad;
  o->arenas = w->arenas; /* shared, read only */
  o->statics = w->statics;
  o->nstatics = w->nstatics;
  /*
   * The tests' walk that gives at every turn splits by MiB too: messages
   * and moves between the walkers on the small heaps of the tests.
   */
  w->unit_shift = o->unit_shift
      = w->flags & PM_CENSUS_GIVE ? BUCKET_SHIFT : UNIT_SHIFT;
  o->id = 1;
  o->par = p;
  pthread_mutex_init(&p->lock, NULL);
  pthread_cond_init(&p->cond, NULL);
  w->other = o;
  w->id = 0;
  w->par = p;
  /* Each walker reads about half the heap, through a smaller cache. */
  pm__target_cache_size(w->py->t, PAR_CACHE);
  pm__target_cache_size(o->py->t, PAR_CACHE);
  if ((w->scan
       && !(o->pools_scanned
            = calloc(w->arenas.n ? w->arenas.n : 1, sizeof(*o->pools_scanned))))
      || pm__set_reserve(&o->seen) || pm__set_reserve(&o->claimed)
      || pm__set_reserve(&o->cands) || pm__amap_reserve(&o->type_index)
      || pm__amap_reserve(&o->owners))
    return -ENOMEM;
  return 0;
}

/* Frees the second walker; its findings are the first's or lost. */
static void
par_end(struct walk *w)
{
  struct walk *o = w->other;
  struct par *p;

  if (!o)
    return;
  p = o->par;
  memset(&o->arenas, 0, sizeof(o->arenas));
  o->statics = NULL;
  pm_census_release(o->c);
  free(o->c);
  pm_target_free(o->py_own.t);
  /* Messages not taken (a walk that failed): what they hold is freed. */
  drop_msgs(o->out, o->nout);
  drop_msgs(w->out, w->nout);
  w->nout = 0;
  walk_free(o);
  for (int i = 0; i < 2; i++) {
    drop_msgs(p->inbox[i].v, p->inbox[i].n);
    free(p->inbox[i].v);
  }
  pthread_mutex_destroy(&p->lock);
  pthread_cond_destroy(&p->cond);
  free(p);
  w->other = NULL;
  w->par = NULL;
}

/*
 * The second walker's owner sets, made the first's after its own (its
 * claims were on dicts it owned first: none is in ours), their types as
 * ours.
 */
static int
merge_owner_sets(struct walk *w, struct walk *o)
{
  for (int i = 0; i < OWNER_SETS; i++) {
    struct owner_set *from = &o->owner_sets[i];
    int64_t t;

    if (!from->type)
      continue;
    if ((t = type_lookup(w, type_at(o, from->type - 1)->addr)) < 0)
      return (int)t;
    w->owner_sets[OWNER_SETS + i].type = (uint32_t)t + 1;
    w->owner_sets[OWNER_SETS + i].set = from->set;
    memset(&from->set, 0, sizeof(from->set));
  }
  return 0;
}

/* What the second walker found, made the first's: then it is freed. */
static int
par_merge(struct walk *w)
{
  struct walk *o = w->other;
  struct pm_census *c = w->c, *oc = o->c;
  int err;

  w->par = NULL; /* claims and counts from here on are the first's */
  for (size_t i = 0; i < oc->nkinds; i++) {
    struct pm_kind *from = &oc->kinds[i], *to;
    int32_t k;
    if ((err = kind_index(w, from->name, &k)))
      return err;
    to = &c->kinds[k];
    to->count += from->count;
    to->size += from->size;
    to->unreachable_count += from->unreachable_count;
    to->unreachable_size += from->unreachable_size;
  }
  c->unreachable_count += oc->unreachable_count;
  c->unreachable_size += oc->unreachable_size;
  c->skipped += oc->skipped;
  c->broken_lists += oc->broken_lists;
  c->found_roots += oc->found_roots;
  c->found_gc += oc->found_gc;
  c->found_referents += oc->found_referents;
  c->found_frames += oc->found_frames;
  c->found_blocks += oc->found_blocks;
  c->held_by_c += oc->held_by_c;
  if (oc->sweeps > c->sweeps)
    c->sweeps = oc->sweeps;
  w->other_bytes += pm_target_bytes_read(o->py->t);
  w->bad_pools += o->bad_pools;
  if ((err = pm__set_merge(&w->seen, &o->seen))
      || (err = pm__set_merge(&w->claimed, &o->claimed))
      || (err = pm__set_merge(&w->unowned, &o->unowned))
      || (err = pm__set_merge(&w->cands, &o->cands)))
    return err;
  /*
   * Its claims (on dicts it owned first: none is in ours) name owners by its
   * type indices: made ours in place, and the map taken, not copied.
   */
  for (size_t i = 0; i < o->owners.cap; i++) {
    int64_t t;
    if (!o->owners.v[i].key)
      continue;
    t = type_lookup(w, type_at(o, o->owners.v[i].val - 1)->addr);
    if (t < 0)
      return (int)t;
    o->owners.v[i].val = (uint64_t)t + 1;
  }
  w->oowners = o->owners;
  memset(&o->owners, 0, sizeof(o->owners));
  if ((err = merge_owner_sets(w, o)))
    return err;
  /* Its dicts for the end: taken, not copied (they may be millions). */
  w->odicts = o->dicts;
  w->nodicts = o->ndicts;
  o->dicts = NULL;
  o->ndicts = 0;
  if (pm__array_grow((void **)&w->gclinks, &w->gclinks_cap,
                     2 * sizeof(*w->gclinks), w->ngclinks + o->ngclinks))
    return -ENOMEM;
  if (o->ngclinks)
    memcpy(w->gclinks + 2 * w->ngclinks, o->gclinks,
           2 * o->ngclinks * sizeof(*w->gclinks));
  w->ngclinks += o->ngclinks;
  if (w->scan)
    for (size_t i = 0; i < w->arenas.n; i++)
      w->pools_scanned[i] |= o->pools_scanned[i];
  return 0;
}

/*
 * Phase A past the roots on two threads: the second walker starts with
 * the roots sent to it, both walk, and the second's findings are merged.
 */
static int
par_run(struct walk *w)
{
  struct walk *o = w->other;
  pthread_t th;
  int err, err2;

  if ((err = flush(w)))
    return err;
  if (pthread_create(&th, NULL, par_thread, o)) {
    /* No thread: the roots sent over are taken back, one walker walks. */
    const struct mailbox *in = &o->par->inbox[1];
    w->par = NULL;
    for (size_t i = 0; i < in->n && !err; i++)
      err = root_take(w, in->v[i] & ~(uint64_t)MSG_MASK,
                      (in->v[i] & MSG_MASK) == MSG_FRAME);
    return err ? err : drain(w);
  }
  err = par_loop(w);
  pthread_join(th, NULL);
  err2 = o->par_err;
  if (err || err2)
    return err ? err : err2;
  return par_merge(w);
}

/*
 * Keeps obj, a GC object no root reached, for phase B.  The lists' links
 * are masked of their flag bits only: one that is not 8-aligned is torn,
 * and no object (the queue holds 8-aligned addresses).
 */
static int
gc_left(struct walk *w, pm_addr_t obj)
{
  if (obj & 7) {
    w->c->skipped++;
    return 0;
  }
  if (pm__array_grow((void **)&w->gcleft, &w->gcleft_cap, sizeof(*w->gcleft),
                     w->ngcleft + 1))
    return -ENOMEM;
  w->gcleft[w->ngcleft++] = obj;
  return 0;
}

/* Phase B: the objects of the GC lists that no root reached. */
static int
gc_visit(void *arg, pm_addr_t obj, pm_addr_t type)
{
  struct walk *w = arg;
  int64_t t;

  if (pm__set_has(&w->seen, obj))
    return 0;
  if (!type) {
    w->c->skipped++;
    return 0;
  }
  t = type_lookup(w, type);
  if (t < 0)
    return (int)t;
  if (!type_at(w, (size_t)t)->valid) {
    w->c->skipped++;
    return 0;
  }
  return gc_left(w, obj);
}

static int
count_internal(void *arg, pm_addr_t ref)
{
  uint64_t *n = pm__amap_find(&((struct walk *)arg)->internal, ref);

  if (n)
    ++*n;
  return 0;
}

/* The number of references ob_refcnt says obj has; 3.14 keeps 32 bits. */
static uint64_t
refcnt_value(const struct pm_python *py, uint64_t refcnt)
{
  return PM_PY_AT_LEAST(py, 3, 14) ? (uint32_t)refcnt : refcnt;
}

/*
 * The collector's test on the GC objects no root reached: each one's
 * reference count less the references the others hold.  Those with
 * references left are held from outside (a C global, an object pmpeek
 * does not follow) and seed PHASE_HELD; the rest is garbage.
 */
static int
sort_gc_leftovers(struct walk *w)
{
  const struct pm_layout *L = w->py->L;
  int err;

  for (size_t i = 0; i < w->ngcleft; i++)
    if ((err = pm__amap_add(&w->internal, w->gcleft[i], 1)) < 0)
      return err;
  for (size_t i = 0; i < w->ngcleft; i++) {
    pm_addr_t dict;
    uint64_t *n;
    struct type_entry *e;
    uint32_t t;
    if ((err = checked_type(w, w->gcleft[i], &t, &e)) <= 0) {
      if (err)
        return err;
      continue;
    }
    if ((err = pm__referents(w->py, w->gcleft[i], &e->info, e->members,
                             e->nmembers, count_internal, w, &dict)))
      return err;
    /* An instance of a heap type holds a reference to it (3.8+). */
    if (e->info.flags & PM_TPFLAGS_HEAPTYPE)
      if ((n = pm__amap_find(&w->internal, e->addr)))
        ++*n;
  }
  w->phase = PHASE_HELD;
  for (size_t i = 0; i < w->ngcleft; i++) {
    uint64_t refcnt;
    uint64_t internal = pm__amap_get(&w->internal, w->gcleft[i]) - 1;

    if ((err = pm__target_read_fast(w->py->t, w->gcleft[i] + L->object_refcnt,
                                    &refcnt, 8))) {
      if (pm__walk_fatal(err))
        return err;
      continue;
    }
    if (refcnt_value(w->py, refcnt) <= internal)
      continue;
    if ((err = pm__set_add(&w->seen, w->gcleft[i])) < 0)
      return err;
    w->c->found_gc++;
    w->c->held_by_c++;
    if ((err = push(w, w->gcleft[i] | CHECKED)))
      return err;
  }
  if ((err = drain(w)))
    return err;
  w->phase = PHASE_GARBAGE;
  for (size_t i = 0; i < w->ngcleft; i++) {
    if ((err = pm__set_add(&w->seen, w->gcleft[i])) < 0)
      return err;
    if (!err)
      continue; /* reached from a held one */
    w->c->found_gc++;
    if ((err = push(w, w->gcleft[i] | CHECKED)))
      return err;
  }
  return drain(w);
}

/* ---- scanning the arenas ------------------------------------------------- */

/*
 * Whether addr lies in the arena last looked up: a scan's words mostly
 * point into the arena it is in, and this answers them without a search.
 */
static inline int
in_last_arena(const struct walk *w, pm_addr_t addr)
{
  return addr - w->last_lo < w->last_size;
}

/*
 * A refcount that is the address of mapped memory is a pointer: the block
 * holds an array of them (a list's items, say), not an object header.
 */
static int
pointer_like(struct walk *w, uint64_t v)
{
  /* The arena last looked up is mapped: most pointers of a block are in it. */
  return v >= MIN_POINTER
         && (in_last_arena(w, v) || pm_maps_find(pm_target_maps(w->py->t), v));
}

/* Whether addr lies in one of the allocator's arenas. */
static int
in_arena(struct walk *w, pm_addr_t addr)
{
  int64_t i;

  if (in_last_arena(w, addr))
    return 1;
  if ((i = pm__obmalloc_arena_of(&w->arenas, addr)) < 0)
    return 0;
  w->last_lo = w->arenas.v[i].address;
  w->last_size = w->arenas.g.arena_size;
  return 1;
}

/*
 * Whether the word type may be the address of a type object by its value
 * alone: a pointer, 8-aligned, and not into the arena last looked up (no
 * type object lies in an arena; a word that points into the one being
 * scanned, an item array's or a keys table's, ends here before a lookup).
 */
static inline int
may_be_type(const struct walk *w, uint64_t type)
{
  return type >= MIN_POINTER && !(type & 7) && !in_last_arena(w, type);
}

/*
 * Whether the block of size bytes at block, whose first words are words,
 * may hold an object off bytes in: a live header of a valid type whose
 * pre-header is off bytes, and an object that fits the block (pymalloc may
 * keep a shrunk object in its larger block).  Types are looked up as
 * needed, but never in an arena (no type object fits a pool).  Sets *t;
 * returns 1, 0, or an error that ends the walk.
 */
static int
plausible(struct walk *w, pm_addr_t block, unsigned size, const uint64_t *words,
          unsigned off, uint32_t *t)
{
  const struct pm_layout *L = w->py->L;
  pm_addr_t obj = block + off, type = words[off / 8 + L->object_type / 8];
  uint64_t refcnt = words[off / 8 + L->object_refcnt / 8], need;
  const struct pm_type_info *ti;
  uint32_t idx;
  int64_t i;
  int err;

  if (!may_be_type(w, type) || !pm__refcnt_live(w->py, refcnt))
    return 0;
  idx = is_last_type(w, type) ? (uint32_t)w->last_type + 1
                              : (uint32_t)pm__amap_get(&w->type_index, type);
  if (idx)
    i = idx - 1;
  else if (in_arena(w, type) || pointer_like(w, refcnt))
    return 0;
  else if ((i = type_lookup(w, type)) < 0)
    return (int)i;
  if (!type_at(w, (size_t)i)->valid) {
    w->no_types[NO_TYPE_SLOT(type)] = type; /* see chance_type() */
    return 0;
  }
  ti = &type_at(w, (size_t)i)->info;
  if (pm__object_presize(w->py, ti, obj) != off || pointer_like(w, refcnt))
    return 0;
  /*
   * The pre-header (GC links, managed dict and weakrefs) holds pointers,
   * small flags or nothing: text before a chance header is none of these.
   */
  for (unsigned k = 0; k < off / 8; k++)
    if (words[k] >= MIN_POINTER && !pointer_like(w, words[k] & ~(uint64_t)7))
      return 0;
  err = pm__object_inline_size(w->py, ti, obj, &need);
  if (err)
    return pm__walk_fatal(err) ? err : 0;
  need += off;
  if (need > size || size > need + need / 3 + 16 + (uint64_t)ti->itemsize)
    return 0;
  *t = (uint32_t)i;
  return 1;
}

/*
 * Notes the GC link of the object off bytes into a block (bytes, its
 * bytes) when it leaves the arenas: the GC objects outside them are found
 * from such links (see follow_gc_runs()).
 */
static int
gc_link(struct walk *w, pm_addr_t obj, const unsigned char *bytes, unsigned off,
        int candidate)
{
  const struct pm_layout *L = w->py->L;
  pm_addr_t next, type;
  uint32_t idx;

  /*
   * Only an object with a pre-header can have a GC head before it, and
   * only a tracked one has a link: most blocks end at these tests.
   */
  if (off < 16 || L->gc_head_size != 16)
    return 0;
  memcpy(&next, bytes + off - 16, 8);
  next &= ~(uint64_t)3;
  /*
   * Only a pointer is a link to follow: 3.14.7 leaves small values (4) in
   * _gc_next of some pool objects, which are not list members.
   */
  if (next < 4096 || (next & 7) || in_arena(w, next))
    return 0;
  memcpy(&type, bytes + off + L->object_type, 8);
  idx = (uint32_t)pm__amap_get(&w->type_index, type);
  if (!idx || !(type_at(w, idx - 1)->info.flags & PM_TPFLAGS_HAVE_GC))
    return 0;
  if (pm__array_grow((void **)&w->gclinks, &w->gclinks_cap,
                     2 * sizeof(*w->gclinks), w->ngclinks + 1))
    return -ENOMEM;
  /* Bit 0 (a GC head is 16-aligned) marks a link not known to be one. */
  w->gclinks[2 * w->ngclinks] = (obj - 16) | (pm_addr_t)(candidate != 0);
  w->gclinks[2 * w->ngclinks + 1] = next;
  w->ngclinks++;
  return 0;
}

/*
 * The seen bit, counted from a block's first, of the object that starts
 * 16 j bytes into it (j < 3: a block's starts are 0, 16 and 32 bytes in).
 */
#define START_STEP (16u >> PM_SET_GRANULE_BITS)
#define START_BIT(j) ((uint64_t)1 << ((j)*START_STEP))
#define START_BITS (START_BIT(0) | START_BIT(1) | START_BIT(2))

/*
 * Whether a block (bytes) may hold an object at one of its starts (those
 * in starts, see START_BIT()) by its head alone: plausible()'s first test,
 * inline, and whether the type word was found to be no type before.  Most
 * unreached blocks are an object's items, keys or values, whose words are
 * small, point into the arena, or are the same few pointers.  A small
 * dict's keys table holds its first key where a type would be, 32 bytes
 * in, after its indices where the count would be: those read as negative,
 * no live count.
 */
static inline int
chance_type(const struct walk *w, const unsigned char *bytes, uint64_t starts)
{
  const int64_t at = w->py->L->object_type, rc = w->py->L->object_refcnt;

  for (unsigned j = 0; j < 3; j++) {
    uint64_t type, refcnt;
    if (!(starts & START_BIT(j)))
      continue;
    memcpy(&type, bytes + 16 * j + at, 8);
    memcpy(&refcnt, bytes + 16 * j + rc, 8);
    if (may_be_type(w, type) && w->no_types[NO_TYPE_SLOT(type)] != type
        && pm__refcnt_live(w->py, refcnt))
      return 1;
  }
  return 0;
}

/*
 * One allocated block of a pool being scanned, whose object no root has
 * reached yet at any of its possible starts: noted as a candidate when it
 * may hold one.
 */
static __attribute__((noinline)) int
scan_unreached(struct walk *w, pm_addr_t block, unsigned size,
               const unsigned char *bytes)
{
  uint64_t words[6] = { 0 };
  uint32_t t;
  int err;
  /* Fixed sizes: the compiler copies them in a few moves. */
  if (size >= 48)
    memcpy(words, bytes, 48);
  else if (size >= 32)
    memcpy(words, bytes, 32);
  else
    memcpy(words, bytes, 16);
  for (unsigned off = 0; off + 16 <= size && off <= 32; off += 16) {
    if ((err = plausible(w, block, size, words, off, &t)) < 0)
      return err;
    if (!err)
      continue;
    if ((err = pm__set_add(&w->cands, block + off)) < 0)
      return err;
    return gc_link(w, block + off, bytes, off, 1);
  }
  return 0;
}

/*
 * The granules of a pool (bit p: 16 p bytes in) where the blocks of u's
 * size class begin, pad bytes after the block's start: the same for every
 * pool of the class, made once.  NULL when the pool's geometry does not
 * allow it (see todo_by_words()).
 */
static const uint64_t *
start_mask(struct walk *w, const struct pm_obm_pool_used *u, unsigned pad)
{
  const uint32_t ps = w->arenas.g.pool_size;
  const unsigned c = u->size / PM_OBM_ALIGNMENT - 1;
  uint64_t *mask;

  if (u->size % ((unsigned)1 << PM_SET_GRANULE_BITS)
      || (u->first + pad) % ((unsigned)1 << PM_SET_GRANULE_BITS)
      || u->size > PM_OBM_NCLASSES * PM_OBM_ALIGNMENT || c >= PM_OBM_NCLASSES
      || ps > PM_OBM_POOL_WORDS * 64 * PM_OBM_ALIGNMENT || ps % 1024 || !ps
      || (ps & (ps - 1)))
    return NULL;
  mask = w->start_masks[c];
  if (!(w->start_masks_made >> c & 1)) {
    memset(mask, 0, sizeof(w->start_masks[c]));
    for (uint32_t at = u->first + pad; at + u->size - pad <= ps; at += u->size)
      mask[at >> PM_SET_GRANULE_BITS >> 6]
          |= (uint64_t)1 << (at >> PM_SET_GRANULE_BITS & 63);
    w->start_masks_made |= (uint32_t)1 << c;
  }
  return mask;
}

/*
 * The first pass of scan_blocks() a word of seen bits at a time: only the
 * blocks with no object seen at their start cost a step (the GC objects,
 * whose head comes first, the unreached, and the free blocks).  seenw:
 * the pool's seen bits (its first granule is bit 0 of seenw[0]); mask:
 * start_mask().  Block k of the pool starts p0 + k m granules in: k is
 * (p - p0) / m by pm__obm_recip().  Returns how many blocks it put in
 * w->scan_todo.
 */
static uint32_t
todo_by_words(struct walk *w, const uint64_t *seenw, const uint64_t *mask,
              const struct pm_obm_pool_used *u, unsigned pad, uint64_t starts,
              const unsigned char *mem)
{
  const uint32_t p0 = (u->first + pad) >> PM_SET_GRANULE_BITS;
  const uint32_t m = u->size >> PM_SET_GRANULE_BITS;
  /*
   * The pool's granules, at most: with the debug hooks' pad the last
   * block's end, past its data, can be 16 bytes beyond the pool (3.8 and
   * 3.9's pools of 4 KiB, blocks of 176 or 368 bytes), and so the seen
   * bits read past its MiB's.
   */
  const uint32_t pool_granules = w->arenas.g.pool_size >> PM_SET_GRANULE_BITS;
  const uint32_t limit = p0 + u->nblocks * m < pool_granules
                             ? p0 + u->nblocks * m
                             : pool_granules;
  const uint32_t recip = pm__obm_recip(m);
  uint32_t n = 0;

  _Static_assert(PM_OBM_POOL_WORDS * 64 <= 1 << 12 && PM_SET_GRANULE_BITS == 4
                     && PM_OBM_NCLASSES * PM_OBM_ALIGNMENT <= 512,
                 "pm__obm_recip() is exact for these");
  for (uint32_t wi = 0; wi * 64 < limit; wi++) {
    uint64_t todo = mask[wi] & ~seenw[wi], s1 = 0, s2 = 0;
    /* Bit b of s1 (s2): the seen bit of the start 16 (32) bytes after b. */
    const uint64_t next = (wi + 1) * 64 < limit ? seenw[wi + 1] : 0;
    if (starts & START_BIT(1))
      s1 = seenw[wi] >> START_STEP | next << (64 - START_STEP);
    if (starts & START_BIT(2))
      s2 = seenw[wi] >> 2 * START_STEP | next << (64 - 2 * START_STEP);
    if ((wi + 1) * 64 > limit)
      todo &= ((uint64_t)1 << (limit % 64)) - 1;
    for (; todo; todo &= todo - 1) {
      const unsigned b = (unsigned)__builtin_ctzll(todo);
      const uint32_t k = ((wi * 64 + b - p0) * recip) >> PM_OBM_RECIP_SHIFT;
      if (!(u->used[k / 64] >> (k % 64) & 1))
        continue;
      __builtin_prefetch(mem + u->first + (size_t)k * u->size + pad);
      w->scan_todo[n++] = k
                          | (uint32_t)((s1 >> b & 1) * START_BIT(1)
                                       | (s2 >> b & 1) * START_BIT(2))
                                << 16;
    }
  }
  return n;
}

/*
 * The allocated blocks of the pool at pool (u), whose bytes are at mem:
 * each object in them is either reached already (then only its GC link
 * matters), or looked at as a candidate.  A loop with no call for the
 * blocks already reached, which most are.
 */
static int
scan_blocks(struct walk *w, pm_addr_t pool, const unsigned char *mem,
            const struct pm_obm_pool_used *u)
{
  /* The debug hooks put 16 bytes before the data and 8 after it. */
  const unsigned pad = w->hooks_pad;
  const unsigned hooks = pad ? 24 : 0;
  /* The seen bits of a MiB where nothing was seen yet. */
  static const uint64_t nothing[PM_OBM_POOL_WORDS];
  const uint64_t *bits = pm__set_bits(&w->seen, pool), *mask;
  uint64_t starts;
  uint32_t ntodo;
  unsigned size;
  int err;

  if (u->size < 16 + hooks || !u->nblocks)
    return 0;
  size = u->size - hooks;
  /* The starts an object may have in a block: 0, 16 and 32 bytes in. */
  starts = size >= 48   ? START_BITS
           : size >= 32 ? START_BIT(0) | START_BIT(1)
                        : START_BIT(0);
  /*
   * First the seen bits of every block, which say which blocks' bytes are
   * looked at (the unreached ones, and the GC heads of the reached GC
   * objects), by words of seen bits: those bytes are fetched all at once,
   * then looked at.  pymalloc's pools lie aligned to their size (so in one
   * MiB, one bitmap of seen bits), at most 64 KiB, their blocks of 16 to
   * 512 bytes: a pool said to be otherwise is a bad one.
   */
  if (!(mask = start_mask(w, u, pad)) || (pool & (w->arenas.g.pool_size - 1))) {
    w->bad_pools++;
    return 0;
  }
  ntodo = todo_by_words(w, bits ? bits + (pm__set_granule(pool) >> 6) : nothing,
                        mask, u, pad, starts, mem);
  for (uint32_t i = 0; i < ntodo; i++) {
    uint32_t k = w->scan_todo[i] & 0xffff;
    unsigned seen = w->scan_todo[i] >> 16;
    const size_t at = u->first + (size_t)k * u->size + pad;
    const pm_addr_t block = pool + at;
    const unsigned char *bytes = mem + at;

    if (!seen) {
      if (chance_type(w, bytes, starts)
          && (err = scan_unreached(w, block, size, bytes)))
        return err;
      continue;
    }
    {
      unsigned off = seen & START_BIT(1) ? 16 : 32;
      uint64_t next;
      /* Most links stay in the arena the walk is in: no call for them. */
      memcpy(&next, bytes + off - 16, 8);
      next &= ~(uint64_t)3;
      if (next < MIN_POINTER || (next & 7) || in_last_arena(w, next))
        continue;
      if ((err = gc_link(w, block + off, bytes, off, 0)))
        return err;
    }
  }
  return 0;
}

/* Scans the pool at pool of arena i, once. */
static int
scan_pool(struct walk *w, size_t i, pm_addr_t pool)
{
  const struct pm_obm_arenas *a = &w->arenas;
  uint64_t bit = (pool - a->v[i].first_pool) / a->g.pool_size;
  const unsigned char *mem;
  int err;

  if (bit >= PM_OBM_MAX_POOLS || (w->pools_scanned[i] >> bit & 1))
    return 0;
  w->pools_scanned[i] |= (uint64_t)1 << bit;
  mem = pm__target_peek(w->py->t, pool, a->g.pool_size, &err);
  if (!mem) {
    if (err)
      return err;
    /* A backend read without the cache (core, replay): a copy. */
    if (!w->pool_buf && !(w->pool_buf = malloc(a->g.pool_size)))
      return -ENOMEM;
    if ((err
         = pm__target_read_fast(w->py->t, pool, w->pool_buf, a->g.pool_size))) {
      if (pm__walk_fatal(err))
        return err;
      w->bad_pools++;
      return 0;
    }
    mem = w->pool_buf;
  }
  err = pm__obmalloc_pool_used(w->py, a, i, pool, mem, &w->pool_used,
                               &w->bad_pools);
  if (!err)
    err = scan_blocks(w, pool, mem, &w->pool_used);
  pm__target_unpin(w->py->t);
  return err;
}

/* Scans the pools of arena i in [lo, hi) not scanned yet. */
static int
scan_arena(struct walk *w, size_t i, pm_addr_t lo, pm_addr_t hi)
{
  const struct pm_obm_arena *ar = &w->arenas.v[i];
  const uint32_t ps = w->arenas.g.pool_size;
  pm_addr_t p = ar->first_pool,
            end = ar->pool_address < hi ? ar->pool_address : hi;
  int err;

  if (lo > p)
    p += (lo - p + ps - 1) / ps * ps;
  for (; p < end; p += ps)
    if ((err = scan_pool(w, i, p)))
      return err;
  return 0;
}

/* Scans the pools in the MiB of address space of bucket key. */
static int
scan_mib(struct walk *w, uint64_t key)
{
  const struct pm_obm_arenas *a = &w->arenas;
  pm_addr_t lo = (key - 1) << BUCKET_SHIFT;
  pm_addr_t hi = lo + ((pm_addr_t)1 << BUCKET_SHIFT);
  size_t i = 0, n = a->n;
  int err;

  /* The first arena that ends above lo. */
  while (i < n) {
    size_t mid = i + (n - i) / 2;
    if (a->v[mid].address + a->g.arena_size <= lo)
      i = mid + 1;
    else
      n = mid;
  }
  for (; i < a->n && a->v[i].address < hi; i++)
    if ((err = scan_arena(w, i, lo, hi)))
      return err;
  return 0;
}

/* Scans every pool not scanned yet. */
static int
scan_rest(struct walk *w)
{
  int err;

  for (size_t i = 0; i < w->arenas.n; i++)
    if ((err = scan_arena(w, i, 0, (pm_addr_t)-1)))
      return err;
  return 0;
}

/*
 * A candidate no root reached: a GC object on a list (for phase B), an
 * untracked object held by C (phase C), or nothing.  One on a list, as
 * the node before it says, is an object of any valid type, as gc_visit()
 * takes the lists' objects: before 3.12 the static types that nothing
 * refers to are found no other way (the iterator of an OrderedDict that
 * only C code holds, say).  The others are believed, as the allocator's blocks
 * always were, only for a type that the walk found as an object.
 */
static int
sort_candidate(struct walk *w, pm_addr_t obj, int collecting)
{
  const struct pm_layout *L = w->py->L;
  const struct type_entry *e;
  uint64_t head[2], gch[2], pnext;
  int64_t t;
  int err;
  /*
   * Found as an object by either walker of phase A (this one may not have
   * looked it up yet).
   */
  int found;

  if ((err = pm__target_read_fast(w->py->t, obj, head, sizeof(head))))
    return pm__walk_fatal(err) ? err : 0;
  if (!pm__refcnt_live(w->py, head[w->refcnt_word]))
    return 0;
  found = pm__set_has(&w->seen, head[w->type_word]);
  if ((t = type_lookup(w, head[w->type_word])) < 0)
    return (int)t;
  if (!(e = type_at(w, (size_t)t))->valid)
    return 0;
  if ((e->info.flags & PM_TPFLAGS_HAVE_GC) && L->gc_head_size == 16
      && pm__object_presize(w->py, &e->info, obj) >= 16) {
    if ((err = pm__target_read_fast(w->py->t, obj - 16, gch, sizeof(gch))))
      return pm__walk_fatal(err) ? err : 0;
    if (gch[L->gc_head_next / 8]) {
      /*
       * Tracked: on a list, when the node before it says so.  While the
       * collector runs, the lists cannot say: only a found type is taken.
       */
      pm_addr_t prev = gch[L->gc_head_prev / 8] & ~(uint64_t)3;
      if (collecting) {
        if (!found)
          return 0;
      } else if ((err = pm__target_read_fast(w->py->t, prev + L->gc_head_next,
                                             &pnext, 8))
                 || (pnext & ~(uint64_t)3) != obj - 16) {
        return err && pm__walk_fatal(err) ? err : 0;
      }
      return gc_left(w, obj);
    }
    if (gch[L->gc_head_prev / 8] & ~(uint64_t)3)
      return 0; /* not a GC head at all */
  }
  if (!found)
    return 0;
  if (pm__array_grow((void **)&w->blockleft, &w->blockleft_cap,
                     sizeof(*w->blockleft), w->nblockleft + 1))
    return -ENOMEM;
  w->blockleft[w->nblockleft++] = obj;
  return 0;
}

/* Every candidate that is still unreached, sorted by sort_candidate(). */
static int
sort_candidates(struct walk *w, int collecting)
{
  struct pm_addr_set *c = &w->cands;
  int err;

  for (size_t i = 0; i < c->cap; i++) {
    pm_addr_t base;
    uint64_t *seen;
    if (!c->chunks[i].key)
      continue;
    base = (c->chunks[i].key - 1) << PM_SET_CHUNK_BITS;
    seen = pm__set_bits(&w->seen, base);
    for (size_t k = 0; k < PM_SET_WORDS; k++) {
      uint64_t bits = c->chunks[i].bits[k] & ~(seen ? seen[k] : 0);
      while (bits) {
        unsigned b = (unsigned)__builtin_ctzll(bits);
        pm_addr_t obj = base + (((pm_addr_t)k * 64 + b) << PM_SET_GRANULE_BITS);
        bits &= bits - 1;
        if ((err = sort_candidate(w, obj, collecting)))
          return err;
      }
    }
  }
  return 0;
}

#define MAX_HEADS 4096

/*
 * The GC objects outside the arenas: the lists are followed from each
 * link that leaves an arena, and from each list's head, until they come
 * back to an arena or a head.  Each stretch outside has one such start.
 * A link from a candidate block that does not lead back to it was no
 * link: it is dropped, not counted as a list cut short.
 */
static int
follow_gc_runs(struct walk *w, const pm_addr_t *heads, int nheads,
               int collecting)
{
  const struct pm_layout *L = w->py->L;
  struct pm_addr_map visited = { 0 };
  size_t nstarts = w->ngclinks + (size_t)nheads;
  int err = 0;

  for (size_t s = 0; s < nstarts && !err; s++) {
    pm_addr_t prev, node;
    uint64_t steps = 0;
    int tentative = 0;

    if (s < w->ngclinks) {
      tentative = (int)(w->gclinks[2 * s] & 1);
      prev = w->gclinks[2 * s] & ~(pm_addr_t)1;
      node = w->gclinks[2 * s + 1];
    } else {
      uint64_t next;
      prev = heads[s - w->ngclinks];
      if ((err = pm__target_read_fast(w->py->t, prev + L->gc_head_next, &next,
                                      8))) {
        err = pm__walk_fatal(err) ? err : 0;
        w->c->broken_lists++;
        continue;
      }
      node = next & ~(uint64_t)3;
    }
    for (;;) {
      uint64_t words[4];
      int is_head = 0;
      pm_addr_t obj;
      int64_t t;

      if (!node || in_arena(w, node))
        break;
      for (int h = 0; h < nheads && !is_head; h++)
        is_head = node == heads[h];
      if (is_head)
        break;
      if ((node & 7) || ++steps > ((uint64_t)1 << 32)) {
        w->c->broken_lists += !(tentative && steps == 1);
        break;
      }
      if ((err = pm__amap_add(&visited, node, 1)) <= 0)
        break; /* a stretch already followed (or -ENOMEM) */
      err = 0;
      if ((err = pm__target_read_fast(w->py->t, node, words, sizeof(words)))) {
        err = pm__walk_fatal(err) ? err : 0;
        w->c->broken_lists += !(tentative && steps == 1);
        break;
      }
      /* While the collector runs, _gc_prev holds gc_refs instead. */
      if (!collecting && (words[L->gc_head_prev / 8] & ~(uint64_t)3) != prev) {
        w->c->broken_lists += !(tentative && steps == 1);
        break;
      }
      obj = node + (pm_addr_t)L->gc_head_size;
      if (!pm__set_has(&w->seen, obj)) {
        if ((t = type_lookup(w, words[(L->gc_head_size + L->object_type) / 8]))
            < 0) {
          err = (int)t;
          break;
        }
        if (!type_at(w, (size_t)t)->valid) {
          w->c->skipped++;
        } else if ((err = gc_left(w, obj))) {
          break;
        }
      }
      prev = node;
      node = words[L->gc_head_next / 8] & ~(uint64_t)3;
    }
  }
  pm__amap_free(&visited);
  return err;
}

/* 3.12+: which dict is each static builtin type's namespace. */
static int
read_static_dicts(struct walk *w)
{
  const struct pm_layout *L = w->py->L;
  pm_addr_t interps[MAX_INTERPRETERS];
  int n, err;

  if (L->interp_static_types < 0 || L->statictype_size <= 0)
    return 0;
  n = pm__interpreters(w->py, interps, MAX_INTERPRETERS);
  if (n < 0)
    return pm__walk_fatal(n) ? n : 0;
  for (int i = 0; i < n * 2; i++) {
    /* The builtin types, then (3.13+) the static types of extensions. */
    int64_t off = i % 2 ? L->interp_static_ext_types : L->interp_static_types;
    int64_t bytes = i % 2 ? L->interp_static_ext_types_bytes
                          : L->interp_static_types_bytes;
    int64_t count = off >= 0 && bytes > 0 ? bytes / L->statictype_size : 0;
    for (int64_t j = 0; j < count; j++) {
      pm_addr_t s = interps[i / 2] + (pm_addr_t)off
                    + (pm_addr_t)(j * L->statictype_size);
      uint64_t type, dict;
      if ((err
           = pm__target_read_fast(w->py->t, s + L->statictype_type, &type, 8))
          || (err = pm__target_read_fast(w->py->t, s + L->statictype_dict,
                                         &dict, 8)))
        return pm__walk_fatal(err) ? err : 0;
      if (!type || !dict)
        continue;
      if (pm__array_grow((void **)&w->statics, &w->statics_cap,
                         sizeof(*w->statics), w->nstatics + 1))
        return -ENOMEM;
      w->statics[w->nstatics].type = type;
      w->statics[w->nstatics].dict = dict;
      w->nstatics++;
    }
  }
  return 0;
}

/*
 * Drops the kinds left with no object: "dict (no owner)" when every dict
 * counted in it was moved to its owner's kind later.
 */
static void
drop_empty_kinds(struct pm_census *c)
{
  size_t n = 0;

  for (size_t i = 0; i < c->nkinds; i++) {
    if (c->kinds[i].count)
      c->kinds[n++] = c->kinds[i];
    else
      free(c->kinds[i].name);
  }
  c->nkinds = n;
}

/* Gives the dicts kept for the end (n at v) their heapy kind. */
static int
classify_dicts(struct walk *w, const struct dict_item *v, size_t n)
{
  int err;

  for (size_t i = 0; i < n; i++) {
    pm_addr_t obj = v[i].obj & ~(pm_addr_t)1;
    int garbage = (int)(v[i].obj & 1);

    if (owner_of(w, obj)) {
      if ((err = count_dict(w, obj, v[i].size, garbage)))
        return err;
      continue;
    }
    if ((err = no_owner_kind(w)))
      return err;
    count(w, w->no_owner_kind, v[i].size, garbage);
  }
  return 0;
}

void
pm_census_init(struct pm_census *c)
{
  memset(c, 0, sizeof(*c));
}

void
pm_census_release(struct pm_census *c)
{
  for (size_t i = 0; i < c->nkinds; i++)
    free(c->kinds[i].name);
  free(c->kinds);
  pm_census_init(c);
}

int
pm_census_partial(const struct pm_census *c)
{
  return c->skipped > 0 || c->broken_lists > 0;
}

/*
 * Phase B's and C's work when the arenas were scanned: the candidates no
 * root reached, and the GC objects outside the arenas.
 */
static int
leftovers_from_scan(struct walk *w)
{
  pm_addr_t heads[MAX_HEADS];
  int nheads, collecting, err;

  if ((err = scan_rest(w)))
    return err;
  nheads = pm__gc_heads(w->py, heads, MAX_HEADS, &collecting);
  if (nheads < 0)
    return nheads;
  if ((err = sort_candidates(w, collecting)))
    return err;
  return follow_gc_runs(w, heads, nheads, collecting);
}

static int
take(struct walk *w)
{
  struct pm_gc_stats st;
  struct pm_roots_stats rst;
  int err;

  if ((err = pm__set_reserve(&w->seen)) || (err = pm__set_reserve(&w->claimed))
      || (err = pm__amap_reserve(&w->type_index))
      || (err = pm__amap_reserve(&w->owners)))
    return err;
  if ((err = read_static_dicts(w)))
    return err;
  if (!(w->flags & PM_CENSUS_NO_BLOCKS)) {
    /*
     * Py_DEBUG's default is the debug hooks, but the blocks tell: any
     * build takes PYTHONMALLOC=debug (or -X dev), a debug one =pymalloc.
     */
    int hooks = w->py->info.debug_build;
    /* Without the allocator's state the blocks are lost, not the census. */
    err = pm__obmalloc_arenas(w->py, &w->arenas);
    if (err && pm__walk_fatal(err))
      return err;
    if (!err && (err = pm__obmalloc_debug_hooks(w->py, &w->arenas, &hooks)))
      return err;
    if (!err) {
      w->hooks_pad = hooks ? 16 : 0;
      w->scan = 1;
      w->pools_scanned
          = calloc(w->arenas.n ? w->arenas.n : 1, sizeof(*w->pools_scanned));
      if (!w->pools_scanned || (err = pm__set_reserve(&w->cands)))
        return -ENOMEM;
    }
  }
  /* Phase A: the roots and all they reach, on two threads when it can. */
  w->phase = PHASE_ROOTS;
  if ((err = par_prepare(w)) < 0)
    return err;
  /*
   * One walker: the whole read cache is its (see PAR_CACHE); not for a
   * small heap, whose walk the cache it has holds nearly all of: a new
   * size would drop what was read, and the fresh memory of the larger
   * cache costs more than the chunks read again (the pause 1.04 to 1.22
   * times as long with it, on huge pages; more on small ones).
   */
  if (err && !small_heap(w))
    pm__target_cache_size(w->py->t, PM_TARGET_CACHE_MAX);
  err = pm__roots_walk(w->py, 0, root_visit, w, &rst);
  w->c->broken_lists += rst.broken_chains;
  w->c->interpreters = rst.interpreters;
  if (!err)
    err = w->other ? par_run(w) : drain(w);
  par_end(w);
  if (err)
    return err;
  /* Phase B: what only the GC lists hold. */
  w->phase = PHASE_HELD;
  if (w->scan) {
    err = leftovers_from_scan(w);
  } else {
    err = pm__gc_walk(w->py, gc_visit, w, &st);
    w->c->broken_lists += st.broken_lists;
  }
  if (err || (err = sort_gc_leftovers(w)))
    return err;
  /* Phase C: what only the allocator's blocks hold. */
  w->phase = PHASE_BLOCKS;
  for (size_t i = 0; i < w->nblockleft; i++) {
    if ((err = pm__set_add(&w->seen, w->blockleft[i])) < 0)
      return err;
    if (!err)
      continue; /* reached from the GC objects */
    w->c->found_blocks++;
    if ((err = push(w, w->blockleft[i] | CHECKED)))
      return err;
  }
  w->c->blocks_walked = w->scan;
  if ((err = drain(w)))
    return err;
  if ((err = classify_dicts(w, w->dicts, w->ndicts))
      || (err = classify_dicts(w, w->odicts, w->nodicts)))
    return err;
  w->ndicts = w->nodicts = 0;
  drop_empty_kinds(w->c);
  return 0;
}

/* Frees a walker and all it holds. */
static void
walk_free(struct walk *w)
{
  par_end(w);
  free(w->out);
  free(w->spare.v);
  pm__set_free(&w->seen);
  pm__set_free(&w->claimed);
  pm__set_free(&w->unowned);
  for (int i = 0; i < 2 * OWNER_SETS; i++)
    pm__set_free(&w->owner_sets[i].set);
  pm__amap_free(&w->type_index);
  pm__amap_free(&w->owners);
  pm__amap_free(&w->oowners);
  pm__amap_free(&w->internal);
  pm__amap_free(&w->moved);
  queue_free(&w->q);
  for (size_t i = 0; i < w->ntypes; i++)
    free(type_at(w, i)->members);
  for (size_t b = 0; b * TYPE_BLOCK < w->ntypes; b++)
    free(w->types[b]);
  free(w->types);
  free(w->dicts);
  free(w->odicts);
  free(w->statics);
  free(w->gcleft);
  free(w->blockleft);
  pm__obmalloc_arenas_release(&w->arenas);
  free(w->pools_scanned);
  pm__set_free(&w->cands);
  free(w->gclinks);
  free(w->pool_buf);
  pm__names_free(&w->names);
  free(w);
}

int
pm_census_take_progress(struct pm_census *c, struct pm_python *py,
                        unsigned flags, pm_census_progress_fn fn, void *arg)
{
  struct walk *w = zalloc_lines(sizeof(*w));
  uint64_t bytes0 = pm_target_bytes_read(py->t);
  int err;

  pm_census_init(c);
  if (!w)
    return -ENOMEM;
  w->c = c;
  w->py = py;
  w->flags = flags;
  /* A head is read as two words: the layouts all say so, checked here. */
  if (py->L->object_refcnt % 8 || (uint64_t)py->L->object_refcnt >= 16
      || py->L->object_type % 8 || (uint64_t)py->L->object_type >= 16) {
    free(w);
    return PM_EOFFSETS;
  }
  w->refcnt_word = (unsigned)(py->L->object_refcnt / 8);
  w->type_word = (unsigned)(py->L->object_type / 8);
  w->progress = fn;
  w->progress_arg = arg;
  w->no_owner_kind = -1;
  w->until_clock = PROGRESS_EVERY;
  clock_gettime(CLOCK_MONOTONIC, &w->started);
  w->last_report = w->started;
  c->bytes_read = bytes0; /* the base, while the walk runs */
  err = take(w);
  c->count = counted(c, &c->size);
  c->bytes_read = pm_target_bytes_read(py->t) - bytes0;
  c->bytes_read += w->other_bytes;
  if (fn)
    report(w, 1);
  walk_free(w);
  if (err) {
    pm_census_release(c);
    return err;
  }
  pm_census_sort(c, PM_SORT_SIZE);
  return 0;
}

int
pm_census_take(struct pm_census *c, struct pm_python *py, unsigned flags)
{
  return pm_census_take_progress(c, py, flags, NULL, NULL);
}

static int
by_size(const void *a, const void *b)
{
  const struct pm_kind *x = a, *y = b;
  if (x->size != y->size)
    return x->size < y->size ? 1 : -1;
  if (x->count != y->count)
    return x->count < y->count ? 1 : -1;
  return strcmp(x->name, y->name);
}

static int
by_count(const void *a, const void *b)
{
  const struct pm_kind *x = a, *y = b;
  if (x->count != y->count)
    return x->count < y->count ? 1 : -1;
  if (x->size != y->size)
    return x->size < y->size ? 1 : -1;
  return strcmp(x->name, y->name);
}

void
pm_census_sort(struct pm_census *c, enum pm_sort by)
{
  if (c->nkinds > 1)
    qsort(c->kinds, c->nkinds, sizeof(*c->kinds),
          by == PM_SORT_COUNT ? by_count : by_size);
}
