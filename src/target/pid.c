/* SPDX-License-Identifier: MIT */
/* pid.c -- the live-process backend: ptrace stops, process_vm_readv reads */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pmpeek/error.h"
#include "target/target-private.h"

/* A thread we stopped, and what to give back to it when we let go. */
struct task {
  pid_t tid;
  int seized;
  int waiting;       /* asked to stop, its stop not seen yet */
  int resend_signal; /* a signal we intercepted in its delivery stop */
};

struct pid_ctx {
  pid_t pid;
  /*
   * The task whose memory and /proc files are read: pid, or a live thread
   * of it once its main thread has ended before the others (a zombie
   * leader has no memory, maps or exe of its own).  Changed only while
   * no read runs: at open and at a pause.
   */
  pid_t mm;
  unsigned flags;
  int mem_fd;       /* /proc/PID/mem, opened on first need */
  int use_vm_readv; /* read and written atomically: reads may be concurrent */
  pthread_mutex_t mem_lock; /* mem_fd's opening */
  struct task *tasks;
  size_t ntasks, cap;
  uint32_t *index; /* open addressing: tid -> its task's position + 1 */
  size_t index_cap;
};

/* Bounds how long the threads of a listing may take to report their stops. */
#define STOP_TIMEOUT_NS (2 * 1000000000LL)
/* Rounds of re-listing tasks, for threads created while we attach. */
#define ATTACH_ROUNDS 16
#define MAX_TASKS 65536

static int
errno_of_read(int e)
{
  if (e == ESRCH)
    return PM_EGONE;
  return -e;
}

static int
read_mem_file(struct pid_ctx *c, pm_addr_t addr, void *buf, size_t len)
{
  unsigned char *out = buf;
  int fd, open_errno = 0;

  pthread_mutex_lock(&c->mem_lock);
  if (c->mem_fd < 0) {
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/mem", (int)c->mm);
    /* Read-only: pmpeek never writes to the target. */
    c->mem_fd = open(path, O_RDONLY | O_CLOEXEC);
    if (c->mem_fd < 0)
      open_errno = errno;
  }
  fd = c->mem_fd;
  pthread_mutex_unlock(&c->mem_lock);
  if (fd < 0)
    return open_errno == ENOENT ? PM_EGONE : -open_errno;
  while (len > 0) {
    ssize_t n = pread(fd, out, len, (off_t)addr);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return errno == EIO ? -EFAULT : errno_of_read(errno);
    }
    if (n == 0)
      return kill(c->mm, 0) < 0 && errno == ESRCH ? PM_EGONE : -EFAULT;
    out += n, addr += (pm_addr_t)n, len -= (size_t)n;
  }
  return 0;
}

static int
pid_read(void *ctx, pm_addr_t addr, void *buf, size_t len)
{
  struct pid_ctx *c = ctx;
  unsigned char *out = buf;

  while (__atomic_load_n(&c->use_vm_readv, __ATOMIC_RELAXED) && len > 0) {
    struct iovec local = { out, len };
    struct iovec remote = { (void *)(uintptr_t)addr, len };
    ssize_t n = process_vm_readv(c->mm, &local, 1, &remote, 1, 0);

    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno == ENOSYS) {
        __atomic_store_n(&c->use_vm_readv, 0, __ATOMIC_RELAXED);
        break;
      }
      return errno_of_read(errno);
    }
    if (n == 0)
      return -EFAULT;
    out += n, addr += (pm_addr_t)n, len -= (size_t)n;
  }
  if (len == 0)
    return 0;
  return read_mem_file(c, addr, out, len);
}

static int
slurp(const char *path, char **out)
{
  size_t cap = 1 << 16, len = 0;
  char *buf = malloc(cap);
  int fd = open(path, O_RDONLY | O_CLOEXEC);

  if (!buf || fd < 0) {
    int e = fd < 0 ? errno : ENOMEM;
    free(buf);
    if (fd >= 0)
      close(fd);
    return -e;
  }
  for (;;) {
    ssize_t n;
    if (len + 1 >= cap) {
      char *nb = cap < (64u << 20) ? realloc(buf, cap * 2) : NULL;
      if (!nb) {
        free(buf);
        close(fd);
        return -ENOMEM;
      }
      buf = nb;
      cap *= 2;
    }
    n = read(fd, buf + len, cap - len - 1);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int e = errno;
      free(buf);
      close(fd);
      return -e;
    }
    if (n == 0)
      break;
    len += (size_t)n;
  }
  close(fd);
  buf[len] = '\0';
  *out = buf;
  return 0;
}

static int
pid_refresh_maps(void *ctx, struct pm_maps *maps)
{
  struct pid_ctx *c = ctx;
  char path[64], *text = NULL;
  int err;

  snprintf(path, sizeof(path), "/proc/%d/maps", (int)c->mm);
  err = slurp(path, &text);
  if (err == -ENOENT)
    return -ESRCH;
  if (err == -EACCES)
    return -EPERM;
  if (err)
    return err;
  err = pm_maps_parse(maps, text);
  free(text);
  return err == -EINVAL ? PM_ECORRUPT : err;
}

static int
pid_region_file(void *ctx, const struct pm_region *r, char *buf, size_t len)
{
  struct pid_ctx *c = ctx;
  int n;

  /* map_files reaches deleted files; it needs CAP_SYS_ADMIN on some kernels. */
  n = snprintf(buf, len, "/proc/%d/map_files/%llx-%llx", (int)c->mm,
               (unsigned long long)r->start, (unsigned long long)r->end);
  if (n < 0 || (size_t)n >= len)
    return -ENAMETOOLONG;
  if (access(buf, R_OK) == 0)
    return 0;
  n = snprintf(buf, len, "/proc/%d/root%s", (int)c->mm, r->path);
  if (n < 0 || (size_t)n >= len)
    return -ENAMETOOLONG;
  /* A deleted file keeps its old name plus " (deleted)" in maps. */
  if (n > 10 && strcmp(buf + n - 10, " (deleted)") == 0
      && access(buf, R_OK) != 0)
    buf[n - 10] = '\0';
  return 0;
}

/* The slot of tid in c->index: where it is, or the empty one it would take. */
static size_t
index_slot(const struct pid_ctx *c, pid_t tid)
{
  size_t mask = c->index_cap - 1, i = ((uint32_t)tid * 2654435761u) & mask;

  while (c->index[i] && c->tasks[c->index[i] - 1].tid != tid)
    i = (i + 1) & mask;
  return i;
}

/*
 * tid's entry in c->tasks, or NULL.  Each listing of the threads asks for
 * every thread: a hash index, not a scan, keeps a process of thousands of
 * threads from costing millions of compares.
 */
static struct task *
task_of(const struct pid_ctx *c, pid_t tid)
{
  uint32_t i = c->index_cap ? c->index[index_slot(c, tid)] : 0;

  return i ? &c->tasks[i - 1] : NULL;
}

/* Makes room in the index for one more task: twice the tasks, at least. */
static int
index_reserve(struct pid_ctx *c)
{
  size_t ncap = c->index_cap ? 2 * c->index_cap : 64;
  uint32_t *old = c->index, *ni;

  if (2 * (c->ntasks + 1) <= c->index_cap)
    return 0;
  ni = calloc(ncap, sizeof(*ni));
  if (!ni)
    return -ENOMEM;
  c->index = ni;
  c->index_cap = ncap;
  for (size_t i = 0; i < c->ntasks; i++)
    c->index[index_slot(c, c->tasks[i].tid)] = (uint32_t)i + 1;
  free(old);
  return 0;
}

static long long
now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/*
 * Looks once for t's stop after PTRACE_INTERRUPT: 1 when it stopped or went
 * away (t->seized cleared then), 0 when not yet, or an error.  A signal that
 * arrived first shows up as a delivery stop: it is kept and handed back at
 * detach, so the target loses nothing.
 */
static int
poll_stop(struct task *t)
{
  for (;;) {
    int status;
    pid_t r = waitpid(t->tid, &status, __WALL | WNOHANG);

    if (r < 0) {
      if (errno == EINTR)
        continue;
      if (errno != ECHILD)
        return -errno;
      /* Seized, yet not ours: it died and was released, nothing to wait. */
      t->seized = 0;
      return 1;
    }
    if (r != t->tid)
      return 0;
    if (WIFEXITED(status) || WIFSIGNALED(status)) {
      t->seized = 0;
      return 1;
    }
    if (WIFSTOPPED(status)) {
      int event = status >> 16;
      int sig = WSTOPSIG(status);
      if (event == 0 && sig != SIGTRAP)
        t->resend_signal = sig;
      return 1;
    }
  }
}

/* The state letter of /proc/PID/task/TID/stat, or 0 when it is gone. */
static char
task_state(pid_t pid, pid_t tid)
{
  char path[64], buf[512], *p;
  ssize_t n;
  int fd;

  snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (n <= 0)
    return 0;
  buf[n] = '\0';
  /* The command name may hold spaces and parentheses: skip to the last ')'. */
  p = strrchr(buf, ')');
  return p && p[1] == ' ' ? p[2] : 0;
}

/* The same for the process (its main thread). */
static char
proc_state(pid_t pid)
{
  return task_state(pid, pid);
}

/* A state letter of a task that has no memory left to read, or none. */
static int
state_gone(char s)
{
  return s == 0 || s == 'Z' || s == 'X';
}

/* The thread id an entry of /proc/PID/task names, or 0 ("." and ".."). */
static pid_t
task_tid(const struct dirent *de)
{
  char *end;
  long tid = strtol(de->d_name, &end, 10);

  return !*end && tid > 0 && tid <= INT_MAX ? (pid_t)tid : 0;
}

/*
 * A live task of pid's (its main thread first), or 0 when none is: a
 * process whose main thread ended before the others lives on in them.
 */
static pid_t
live_task(pid_t pid)
{
  char path[64];
  struct dirent *de;
  pid_t found = 0;
  DIR *d;

  if (!state_gone(proc_state(pid)))
    return pid;
  snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
  if (!(d = opendir(path)))
    return 0;
  while (!found && (de = readdir(d))) {
    pid_t tid = task_tid(de);
    if (tid && !state_gone(task_state(pid, tid)))
      found = tid;
  }
  closedir(d);
  return found;
}

/*
 * The process that the task tid belongs to (its Tgid), or tid when /proc
 * does not say: a thread's id, as top -H or a log shows it, names its
 * process, whose pid is what the snapshot and the messages must name.
 */
static pid_t
thread_group(pid_t tid)
{
  char path[64], *status, *at;
  long tgid = 0;

  snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
  if (slurp(path, &status))
    return tid;
  if ((at = strstr(status, "\nTgid:")))
    tgid = strtol(at + 6, NULL, 10);
  free(status);
  return tgid > 0 && tgid <= INT_MAX ? (pid_t)tgid : tid;
}

/*
 * Seizes tid and asks it to stop, without waiting: the threads of a
 * listing stop together, not one after another (a thread takes tens of
 * microseconds to stop, and a process may have thousands).  Returns 1 when
 * seized, 0 when the thread is gone or ending (kept as known, so that a
 * leader that ended before the others is not asked again and again), or
 * an error.
 */
static int
seize_one(struct pid_ctx *c, pid_t tid)
{
  struct task *t;

  if (c->ntasks == c->cap) {
    size_t ncap = c->cap ? c->cap * 2 : 16;
    struct task *nt;
    if (ncap > MAX_TASKS)
      return PM_ELIMIT;
    nt = realloc(c->tasks, ncap * sizeof(*nt));
    if (!nt)
      return -ENOMEM;
    c->tasks = nt;
    c->cap = ncap;
  }
  if (index_reserve(c) < 0)
    return -ENOMEM;
  t = &c->tasks[c->ntasks];
  memset(t, 0, sizeof(*t));
  t->tid = tid;
  if (ptrace(PTRACE_SEIZE, tid, NULL, NULL) < 0) {
    int e = errno;
    /* A thread that exited: ESRCH, or EPERM once it is ending (a zombie). */
    if (e != ESRCH && !(e == EPERM && state_gone(task_state(c->pid, tid))))
      return -e;
  } else {
    t->seized = 1;
  }
  c->index[index_slot(c, tid)] = (uint32_t)c->ntasks + 1;
  c->ntasks++;
  if (!t->seized)
    return 0;
  /*
   * A failure means it died since the seize (a dead thread has no signal
   * state to interrupt): waiting reaps it.  A live one the wait would
   * time out on, and the pause fails as it would have.
   */
  (void)ptrace(PTRACE_INTERRUPT, tid, NULL, NULL);
  t->waiting = 1;
  return 1;
}

/*
 * Waits for the stops of tasks[from..], asked for by seize_one(), with one
 * deadline for all.  Every one is waited for even after an error, since
 * only a stopped thread can be detached.
 */
static int
wait_stops(struct pid_ctx *c, size_t from)
{
  long long deadline = now_ns() + STOP_TIMEOUT_NS;
  int first = 0;

  for (;;) {
    size_t left = 0;

    for (size_t i = from; i < c->ntasks; i++) {
      struct task *t = &c->tasks[i];
      int r;
      if (!t->waiting)
        continue;
      r = poll_stop(t);
      if (r == 0) {
        left++;
        continue;
      }
      t->waiting = 0;
      if (r < 0 && !first)
        first = r;
    }
    if (!left)
      return first;
    if (now_ns() > deadline) {
      /* A thread in uninterruptible sleep (a vfork parent, say) cannot stop. */
      for (size_t i = from; i < c->ntasks; i++)
        if (c->tasks[i].waiting && task_state(c->pid, c->tasks[i].tid) == 'D')
          return PM_ESTUCK;
      return first ? first : -ETIMEDOUT;
    }
    struct timespec ts = { 0, 50000 };
    nanosleep(&ts, NULL);
  }
}

static int
pid_pause(void *ctx)
{
  struct pid_ctx *c = ctx;
  char path[64];

  /*
   * Unstopped, the thread read through may end at any time: it is chosen
   * again for each snapshot, at least (one that ends during a walk fails
   * that walk, as with anything else --no-pause reads).
   */
  if (c->flags & PM_TARGET_NO_PAUSE) {
    pid_t mm = live_task(c->pid);
    if (!mm)
      return -ESRCH;
    c->mm = mm;
    return 0;
  }
  snprintf(path, sizeof(path), "/proc/%d/task", (int)c->pid);
  for (int round = 0; round < ATTACH_ROUNDS; round++) {
    DIR *d = opendir(path);
    struct dirent *de;
    size_t from = c->ntasks;
    int added = 0, err = 0, werr;

    if (!d)
      return errno == ENOENT ? -ESRCH : -errno;
    while (!err && (de = readdir(d))) {
      pid_t tid = task_tid(de);
      int r;
      if (!tid || task_of(c, tid))
        continue;
      r = seize_one(c, tid);
      if (r < 0)
        err = r;
      added += r > 0;
    }
    closedir(d);
    werr = wait_stops(c, from);
    if (err || werr)
      return err ? err : werr;
    if (!added) {
      /*
       * Reads go through the main thread, or one we stopped when it has
       * ended: a stopped thread cannot end but with all of them (SIGKILL).
       */
      struct task *lead = task_of(c, c->pid);
      if (lead && lead->seized) {
        c->mm = c->pid;
        return 0;
      }
      for (size_t i = 0; i < c->ntasks; i++)
        if (c->tasks[i].seized) {
          c->mm = c->tasks[i].tid;
          return 0;
        }
      return -ESRCH;
    }
  }
  /* Threads keep appearing faster than we can stop them. */
  return PM_ELIMIT;
}

static int
pid_resume(void *ctx)
{
  struct pid_ctx *c = ctx;
  int first = 0;

  for (size_t i = 0; i < c->ntasks; i++) {
    struct task *t = &c->tasks[i];
    if (!t->seized)
      continue;
    /*
     * Detach restarts a thread we interrupted; the kernel leaves one that was
     * in group-stop (SIGSTOP) stopped, so a stopped target stays stopped.
     */
    if (ptrace(PTRACE_DETACH, t->tid, NULL, (void *)(uintptr_t)t->resend_signal)
            < 0
        && errno != ESRCH && !first)
      first = -errno;
    t->seized = 0;
  }
  c->ntasks = 0;
  if (c->index)
    memset(c->index, 0, c->index_cap * sizeof(*c->index));
  return first;
}

static int
pid_gone(void *ctx)
{
  return !live_task(((struct pid_ctx *)ctx)->pid);
}

static void
pid_close(void *ctx)
{
  struct pid_ctx *c = ctx;

  pid_resume(c);
  if (c->mem_fd >= 0)
    close(c->mem_fd);
  pthread_mutex_destroy(&c->mem_lock);
  free(c->tasks);
  free(c->index);
  free(c);
}

static const struct pm_target_ops pid_target_ops = {
  pid_read,
  pid_pause,
  pid_resume,
  pid_refresh_maps,
  pid_region_file,
  pid_gone,
  pid_close,
  NULL,
  0,
  1,
};

int
pm_target_open_pid(struct pm_target **out, pid_t pid, unsigned flags)
{
  struct pid_ctx *c;
  struct pm_target *t;
  char path[64], exe[PATH_MAX];
  ssize_t n;
  pid_t mm;
  int err;

  if (pid <= 0)
    return -ESRCH;
  pid = thread_group(pid);
  /* A zombie has no memory left: to us it is as gone as a reaped one. */
  if (!(mm = live_task(pid)))
    return -ESRCH;
  c = calloc(1, sizeof(*c));
  if (!c)
    return -ENOMEM;
  c->pid = pid;
  c->mm = mm;
  c->flags = flags;
  c->mem_fd = -1;
  pthread_mutex_init(&c->mem_lock, NULL);
  c->use_vm_readv = HAVE_PROCESS_VM_READV;
  err = pm__target_new(&t, &pid_target_ops, c, pid);
  if (err)
    return err;
  snprintf(path, sizeof(path), "/proc/%d/exe", (int)mm);
  n = readlink(path, exe, sizeof(exe) - 1);
  if (n > 0) {
    exe[n] = '\0';
    t->exe = strdup(exe);
  }
  *out = t;
  return 0;
}

/* The live backend's state, or NULL (a core keeps no page residency). */
static struct pid_ctx *
live_ctx(const struct pm_target *t)
{
  return t->ops == &pid_target_ops ? t->ctx : NULL;
}

pid_t
pm_target_task(const struct pm_target *t)
{
  const struct pid_ctx *c = live_ctx(t);

  return c ? c->mm : pm_target_pid(t);
}

int
pm_target_thread_ended(const struct pm_target *t, pid_t tid)
{
  const struct pid_ctx *c = live_ctx(t);

  return c && state_gone(task_state(c->pid, tid));
}

int
pm_target_rss(struct pm_target *t, uint64_t *bytes)
{
  static const char *const files[] = { "smaps_rollup", "status" };
  static const char *const keys[] = { "\nRss:", "\nVmRSS:" };
  struct pid_ctx *c = live_ctx(t);
  int err = -ENOTSUP;

  if (!c)
    return -ENOTSUP;
  /* smaps_rollup is Linux 4.14+; status has the same figure in kB. */
  for (int i = 0; i < 2; i++) {
    char path[64], *text, *p;
    unsigned long long kb;

    snprintf(path, sizeof(path), "/proc/%d/%s", (int)c->mm, files[i]);
    err = slurp(path, &text);
    if (err == -ENOENT && i == 0)
      continue;
    if (err)
      return err == -ENOENT ? -ESRCH : err;
    p = strstr(text, keys[i]);
    err = p && sscanf(p + strlen(keys[i]), "%llu kB", &kb) == 1 ? 0 : -EINVAL;
    free(text);
    if (!err)
      *bytes = (uint64_t)kb * 1024;
    return err;
  }
  return err;
}

/* pagemap entry bits (Documentation/admin-guide/mm/pagemap.rst). */
#define PAGEMAP_PRESENT (1ull << 63)
#define PAGEMAP_FILE_OR_SHARED (1ull << 61)
#define PAGEMAP_EXCLUSIVE (1ull << 56)
#define PAGEMAP_PFN ((1ull << 55) - 1)

/*
 * The frame of the shared zero page, which backs anonymous memory that was
 * read but never written (our own reads do that to the target) and which
 * Rss does not count.  Found through a page of our own; 0 when pagemap
 * hides frame numbers (no CAP_SYS_ADMIN).
 */
static uint64_t
zero_pfn(void)
{
  static uint64_t pfn = (uint64_t)-1;
  long page = sysconf(_SC_PAGESIZE);
  volatile unsigned char *p;
  uint64_t e = 0;
  int fd;

  if (pfn != (uint64_t)-1)
    return pfn;
  pfn = 0;
  p = mmap(NULL, (size_t)page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    return 0;
  (void)p[0]; /* a read fault maps the zero page */
  fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (fd >= 0
      && pread(fd, &e, 8, (off_t)((uintptr_t)p / (uintptr_t)page * 8)) == 8
      && (e & PAGEMAP_PRESENT))
    pfn = e & PAGEMAP_PFN;
  if (fd >= 0)
    close(fd);
  munmap((void *)p, (size_t)page);
  return pfn;
}

int
pm_target_resident(struct pm_target *t, pm_addr_t addr, uint64_t len,
                   uint64_t *bytes)
{
  struct pid_ctx *c = live_ctx(t);
  uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), n = 0, zero;
  pm_addr_t first, end;
  char path[64];
  int fd, err = 0;

  if (!c)
    return -ENOTSUP;
  if (addr + len < addr)
    return -EINVAL;
  zero = zero_pfn();
  snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)c->mm);
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return errno == ENOENT ? -ESRCH : -errno;
  first = addr / page;
  end = (addr + len + page - 1) / page;
  while (first < end) {
    uint64_t entries[512];
    size_t want = end - first < 512 ? (size_t)(end - first) : 512;
    ssize_t got = pread(fd, entries, want * 8, (off_t)(first * 8));

    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0 || got % 8) {
      err = got < 0 ? -errno : -EIO;
      break;
    }
    /*
     * Present pages, less the zero page.  Without frame numbers, the zero
     * page looks like a shared anonymous page; only pages mapped once or
     * file-backed count then.  Swapped pages are not in Rss either.
     */
    for (ssize_t i = 0; i < got / 8; i++) {
      uint64_t e = entries[i];
      if (!(e & PAGEMAP_PRESENT))
        continue;
      if (zero ? (e & PAGEMAP_PFN) != zero
               : (e & (PAGEMAP_EXCLUSIVE | PAGEMAP_FILE_OR_SHARED)) != 0)
        n++;
    }
    first += (pm_addr_t)got / 8;
  }
  close(fd);
  if (!err)
    *bytes = n * page;
  return err;
}
