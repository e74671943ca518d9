/* SPDX-License-Identifier: MIT */
/* main.c -- pmpeek's command line: one snapshot, or one every interval */
#include <config.h>

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/mallocstats.h"
#include "cli/progress.h"
#include "cli/table.h"
#include "pmpeek/allocator.h"
#include "pmpeek/census.h"
#include "pmpeek/error.h"
#include "pmpeek/python.h"
#include "pmpeek/snapshot.h"
#include "pmpeek/target.h"
#include "pmpeek/unwind.h"

#define DEFAULT_TOP 10
#define DEFAULT_SUSPECT_AFTER 3
#define DEFAULT_SAMPLES 3
#define EXIT_USAGE PM_EXIT_USAGE

enum format {
  FORMAT_TABLE,
  FORMAT_JSON,
  FORMAT_OPENMETRICS,
};

struct options {
  pid_t pid;
  const char *core;   /* a core file (or a recording) instead of a pid */
  int replay;         /* core is a recording (pmpeek --record) */
  const char *record; /* --record FILE */
  struct pm_core_options core_opts;
  size_t top; /* 0: all rows */
  enum pm_sort sort;
  enum format format;
  int no_pause;
  const char *output;
  double interval; /* > 0: periodic mode */
  size_t count;    /* snapshots in periodic mode; 0: until interrupted */
  const char *save_dir;
  const char *series;
  size_t suspect_after;
  int allocator;                      /* --allocator */
  unsigned census_flags;              /* --by type */
  int unreachable;                    /* --unreachable */
  struct pm_cli_inspect_opts inspect; /* --threads, --referrers */
};

static volatile sig_atomic_t interrupted;

static void
on_signal(int sig)
{
  interrupted = sig;
}

static void
usage(FILE *f)
{
  fputs(
      "usage: pmpeek [OPTIONS] PID\n"
      "       pmpeek [OPTIONS] [--exe FILE] [--lib-root DIR] [--force] CORE\n"
      "       pmpeek [OPTIONS] RECORDING\n"
      "       pmpeek PID --interval SECONDS [--count N] [--save-dir DIR]\n"
      "       pmpeek [--threads [--native]] [--referrers KIND [--samples N]]\n"
      "              [--json] PID|CORE\n"
      "       pmpeek diff [--top N | --all] [--json] OLD.json NEW.json\n"
      "       pmpeek report [-o FILE.html] [--top N] SNAPSHOT.json...\n"
      "\n"
      "Counts the objects of a running CPython process by kind, from the\n"
      "outside, and prints them as a heapy-style partition.\n"
      "\n"
      "  -n, --top N            show the N largest kinds (default 10)\n"
      "  -a, --all              show every kind\n"
      "  -s, --sort KEY         order rows by 'size' (default) or 'count'\n"
      "  -b, --by KIND          'kind' (default): dicts by owner, as heapy\n"
      "                         ('dict of K'); 'type': plain types\n"
      "  -j, --json             print the snapshot as one JSON document\n"
      "  -f, --format FMT       'table' (default), 'json' or 'openmetrics'\n"
      "  -o, --output FILE      also write the JSON snapshot to FILE\n"
      "      --no-pause         do not stop the target while reading it\n"
      "      --allocator        also show pymalloc's arenas, pools and size\n"
      "                         classes as sys._debugmallocstats() does,\n"
      "                         and how the resident memory divides\n"
      "      --unreachable      also show how many objects of each kind no\n"
      "                         root reaches (cyclic garbage not collected\n"
      "                         yet; always in --json)\n"
      "\n"
      "Core files (a path instead of a PID; gcore or the kernel's):\n"
      "      --exe FILE         the executable, when the core's path is wrong\n"
      "      --lib-root DIR     look for every mapped file under DIR\n"
      "      --force            read on despite build-id mismatches or a\n"
      "                         truncated core\n"
      "\n"
      "Why objects are alive (also on cores):\n"
      "      --referrers KIND   shortest paths from a root (module globals,\n"
      "                         attributes, keys, indices, thread frames and\n"
      "                         locals) to sample objects of KIND, and the\n"
      "                         kinds of their referrers (heapy's byrcs)\n"
      "      --samples N        paths for N objects (default 3)\n"
      "      --threads          each thread's Python stack, innermost first,\n"
      "                         and which thread holds the GIL\n"
      "      --native           with --threads, live targets: interleave\n"
      "                         native frames (libunwind)\n"
      "\n"
      "Recordings (for bug reports and fuzzing):\n"
      "      --record FILE      also save what the snapshot read from the\n"
      "                         target to FILE; 'pmpeek FILE' replays it\n"
      "\n"
      "Leak hunting:\n"
      "  -i, --interval SECONDS take a snapshot every SECONDS and print the\n"
      "                         changes and the kinds that keep growing\n"
      "  -c, --count N          stop after N snapshots (default: on Ctrl-C)\n"
      "      --save-dir DIR     save every snapshot as "
      "DIR/pmpeek-PID-NNNNNN.json\n"
      "      --suspect-after K  name kinds whose count grew in each of the\n"
      "                         last K snapshots (default 3)\n"
      "      --series FILE.tsv  append time, kind, count, size of the top\n"
      "                         kinds of every snapshot\n"
      "\n"
      "  -h, --help             show this help and exit\n"
      "  -V, --version          show the version and exit\n"
      "\n"
      "Exit status: 0 ok, 1 partial result, 2 usage or bad snapshot file,\n"
      "3 no such process, 4 permission denied, 5 not a Python process,\n"
      "6 unsupported Python, 7 target exited while watched, 8 unreadable\n"
      "target memory or corrupt core, 9 other error, 10 core files missing\n"
      "or different on disk, 130 interrupted.  See pmpeek(1).\n",
      f);
}

static int
parse_pid(const char *s, pid_t *out)
{
  size_t v;

  for (const char *p = s; *p; p++)
    if (*p < '0' || *p > '9')
      return -1;
  if (pm_cli_parse_count(s, INT_MAX, &v) != 0)
    return -1;
  *out = (pid_t)v;
  return 0;
}

static int
parse_seconds(const char *s, double *out)
{
  char *end;
  double v;

  errno = 0;
  v = strtod(s, &end);
  if (errno || end == s || *end || !(v >= 0.01 && v <= 86400.0 * 365))
    return -1;
  *out = v;
  return 0;
}

/*
 * The target: digits are a pid, anything else the path of a core file or
 * a recording (a core called "1234" is "./1234").
 */
static int
parse_arg(const char *arg, struct options *o)
{
  struct stat st;

  if (arg[strspn(arg, "0123456789")] == '\0') {
    if (parse_pid(arg, &o->pid) == 0)
      return 0;
    pm_cli_error("invalid process id '%s'", arg);
    return -1;
  }
  if (stat(arg, &st) != 0) {
    pm_cli_error("'%s' is neither a process id nor a core file: %s", arg,
                 strerror(errno));
    return -1;
  }
  o->core = arg;
  o->replay = pm_target_is_recording(arg);
  return 0;
}

static int check_inspect(struct options *o);

static int
parse_options(int argc, char **argv, struct options *o)
{
  enum {
    OPT_NO_PAUSE = 256,
    OPT_SAVE_DIR,
    OPT_SUSPECT,
    OPT_SERIES,
    OPT_EXE,
    OPT_LIB_ROOT,
    OPT_FORCE,
    OPT_ALLOCATOR,
    OPT_RECORD,
    OPT_REFERRERS,
    OPT_SAMPLES,
    OPT_THREADS,
    OPT_NATIVE,
    OPT_UNREACHABLE
  };
  /* 'b' (--by) is the census's partition, -s the rows' order. */
  static const struct option longopts[] = {
    { "top", required_argument, NULL, 'n' },
    { "all", no_argument, NULL, 'a' },
    { "sort", required_argument, NULL, 's' },
    { "by", required_argument, NULL, 'b' },
    { "json", no_argument, NULL, 'j' },
    { "format", required_argument, NULL, 'f' },
    { "output", required_argument, NULL, 'o' },
    { "no-pause", no_argument, NULL, OPT_NO_PAUSE },
    { "interval", required_argument, NULL, 'i' },
    { "count", required_argument, NULL, 'c' },
    { "save-dir", required_argument, NULL, OPT_SAVE_DIR },
    { "suspect-after", required_argument, NULL, OPT_SUSPECT },
    { "series", required_argument, NULL, OPT_SERIES },
    { "exe", required_argument, NULL, OPT_EXE },
    { "lib-root", required_argument, NULL, OPT_LIB_ROOT },
    { "force", no_argument, NULL, OPT_FORCE },
    { "allocator", no_argument, NULL, OPT_ALLOCATOR },
    { "unreachable", no_argument, NULL, OPT_UNREACHABLE },
    { "record", required_argument, NULL, OPT_RECORD },
    { "referrers", required_argument, NULL, OPT_REFERRERS },
    { "samples", required_argument, NULL, OPT_SAMPLES },
    { "threads", no_argument, NULL, OPT_THREADS },
    { "native", no_argument, NULL, OPT_NATIVE },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, 'V' },
    { NULL, 0, NULL, 0 },
  };
  int c;

  memset(o, 0, sizeof(*o));
  o->top = DEFAULT_TOP;
  o->suspect_after = DEFAULT_SUSPECT_AFTER;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":n:as:b:jf:o:i:c:hV", longopts, NULL))
         != -1) {
    switch (c) {
    case 'n':
      if (pm_cli_parse_count(optarg, 1000000000, &o->top) != 0) {
        pm_cli_error("invalid row count '%s' for --top", optarg);
        return EXIT_USAGE;
      }
      break;
    case 'a':
      o->top = 0;
      break;
    case 's':
      if (strcmp(optarg, "size") == 0)
        o->sort = PM_SORT_SIZE;
      else if (strcmp(optarg, "count") == 0)
        o->sort = PM_SORT_COUNT;
      else {
        pm_cli_error("invalid sort key '%s' (use 'size' or 'count')", optarg);
        return EXIT_USAGE;
      }
      break;
    case 'b':
      if (strcmp(optarg, "kind") == 0)
        o->census_flags &= ~(unsigned)PM_CENSUS_BY_TYPE;
      else if (strcmp(optarg, "type") == 0)
        o->census_flags |= PM_CENSUS_BY_TYPE;
      else {
        pm_cli_error("invalid partition '%s' for --by (use 'kind' or "
                     "'type')",
                     optarg);
        return EXIT_USAGE;
      }
      break;
    case 'j':
      o->format = FORMAT_JSON;
      break;
    case 'f':
      if (strcmp(optarg, "table") == 0)
        o->format = FORMAT_TABLE;
      else if (strcmp(optarg, "json") == 0)
        o->format = FORMAT_JSON;
      else if (strcmp(optarg, "openmetrics") == 0)
        o->format = FORMAT_OPENMETRICS;
      else {
        pm_cli_error("invalid format '%s' (use 'table', 'json' or "
                     "'openmetrics')",
                     optarg);
        return EXIT_USAGE;
      }
      break;
    case 'o':
      o->output = optarg;
      break;
    case OPT_NO_PAUSE:
      o->no_pause = 1;
      break;
    case 'i':
      if (parse_seconds(optarg, &o->interval) != 0) {
        pm_cli_error("invalid interval '%s' (seconds, at least 0.01)", optarg);
        return EXIT_USAGE;
      }
      break;
    case 'c':
      if (pm_cli_parse_count(optarg, 100000000, &o->count) != 0) {
        pm_cli_error("invalid snapshot count '%s' for --count", optarg);
        return EXIT_USAGE;
      }
      break;
    case OPT_SAVE_DIR:
      o->save_dir = optarg;
      break;
    case OPT_SUSPECT:
      if (pm_cli_parse_count(optarg, 10000, &o->suspect_after) != 0) {
        pm_cli_error("invalid value '%s' for --suspect-after", optarg);
        return EXIT_USAGE;
      }
      break;
    case OPT_SERIES:
      o->series = optarg;
      break;
    case OPT_EXE:
      o->core_opts.exe = optarg;
      break;
    case OPT_LIB_ROOT:
      o->core_opts.lib_root = optarg;
      break;
    case OPT_FORCE:
      o->core_opts.force = 1;
      break;
    case OPT_ALLOCATOR:
      o->allocator = 1;
      break;
    case OPT_UNREACHABLE:
      o->unreachable = 1;
      break;
    case OPT_RECORD:
      o->record = optarg;
      break;
    case OPT_REFERRERS:
      o->inspect.referrers = optarg;
      break;
    case OPT_SAMPLES:
      if (pm_cli_parse_count(optarg, 100000, &o->inspect.samples) != 0) {
        pm_cli_error("invalid sample count '%s' for --samples", optarg);
        return EXIT_USAGE;
      }
      break;
    case OPT_THREADS:
      o->inspect.threads = 1;
      break;
    case OPT_NATIVE:
      o->inspect.native = 1;
      break;
    case 'h':
      usage(stdout);
      exit(pm_cli_output_end(stdout, 0));
    case 'V':
      printf("pmpeek %s\n", PM_VERSION);
      exit(pm_cli_output_end(stdout, 0));
    case ':':
      pm_cli_error("option '%s' needs a value", argv[optind - 1]);
      return EXIT_USAGE;
    default:
      pm_cli_error("unknown option '%s' (see pmpeek --help)", argv[optind - 1]);
      return EXIT_USAGE;
    }
  }
  if (optind != argc - 1) {
    pm_cli_error(optind == argc ? "no process id given (see pmpeek --help)"
                                : "too many arguments (see pmpeek --help)");
    return EXIT_USAGE;
  }
  if (parse_arg(argv[optind], o) != 0)
    return EXIT_USAGE;
  if ((!o->core || o->replay)
      && (o->core_opts.exe || o->core_opts.lib_root || o->core_opts.force)) {
    pm_cli_error("--exe, --lib-root and --force are for core files");
    return EXIT_USAGE;
  }
  if (o->core && o->interval > 0) {
    pm_cli_error("--interval needs a live process, not a %s",
                 o->replay ? "recording" : "core file");
    return EXIT_USAGE;
  }
  if (o->record && o->interval > 0) {
    pm_cli_error("--record is for a single snapshot, not --interval");
    return EXIT_USAGE;
  }
  if (o->interval == 0 && (o->count || o->save_dir || o->series)) {
    pm_cli_error("--count, --save-dir and --series need --interval");
    return EXIT_USAGE;
  }
  if (o->interval > 0 && o->allocator) {
    pm_cli_error("--allocator is for a single snapshot, not --interval");
    return EXIT_USAGE;
  }
  if (o->interval > 0 && o->format != FORMAT_TABLE) {
    pm_cli_error("--interval prints tables; use --save-dir for JSON");
    return EXIT_USAGE;
  }
  return check_inspect(o);
}

/* --threads, --native and --referrers: what goes with them. */
static int
check_inspect(struct options *o)
{
  struct pm_cli_inspect_opts *in = &o->inspect;

  if (in->samples && !in->referrers) {
    pm_cli_error("--samples needs --referrers");
    return EXIT_USAGE;
  }
  if (!in->samples)
    in->samples = DEFAULT_SAMPLES;
  if (in->native && !in->threads) {
    pm_cli_error("--native needs --threads");
    return EXIT_USAGE;
  }
  if (!in->threads && !in->referrers)
    return 0;
  if (o->interval > 0 || o->output || o->allocator || o->record
      || o->format == FORMAT_OPENMETRICS) {
    pm_cli_error("--threads and --referrers print their own report: not "
                 "with --interval, --output, --allocator, --record or "
                 "--format openmetrics");
    return EXIT_USAGE;
  }
  if (in->native && !pm_unwind_available()) {
    pm_cli_error("--native needs libunwind-ptrace, which this pmpeek was "
                 "built without");
    return EXIT_USAGE;
  }
  if (in->native && (o->core || o->no_pause)) {
    pm_cli_error("--native needs a live process it can pause, not %s",
                 o->replay ? "a recording"
                 : o->core ? "a core file (its Python stacks are read "
                             "without --native)"
                           : "--no-pause");
    return EXIT_USAGE;
  }
  in->json = o->format == FORMAT_JSON;
  return 0;
}

/* The number after "key:" in the status file at path, read in base; or 0. */
static unsigned long long
status_number(const char *path, const char *key, int base)
{
  char line[256];
  size_t n = strlen(key);
  unsigned long long v = 0;
  FILE *f = fopen(path, "re");

  if (!f)
    return 0;
  while (fgets(line, sizeof(line), f))
    if (strncmp(line, key, n) == 0 && line[n] == ':') {
      v = strtoull(line + n + 1, NULL, base);
      break;
    }
  fclose(f);
  return v;
}

/* The tracer of pid/task/tid, or 0. */
static long
tracer_of(pid_t pid, const char *tid)
{
  char path[PATH_MAX];

  snprintf(path, sizeof(path), "/proc/%d/task/%s/status", (int)pid, tid);
  return (long)status_number(path, "TracerPid", 10);
}

/* Whether pid is a kernel thread (PF_KTHREAD in /proc/PID/stat's flags). */
static int
kernel_thread(pid_t pid)
{
  char path[64], buf[512], *p;
  unsigned long flags = 0;
  FILE *f;

  snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
  if (!(f = fopen(path, "re")))
    return 0;
  p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
  fclose(f);
  /* After the name: state, ppid, pgrp, session, tty_nr, tpgid, flags. */
  return p && sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %lu", &flags) == 1
         && (flags & 0x00200000);
}

/*
 * Whether pmpeek runs in a user namespace other than the first: its root
 * and capabilities there do not reach a process outside it.
 */
static int
inner_user_namespace(void)
{
  char line[128];
  unsigned long inside, outside, count;
  int inner = 0;
  FILE *f = fopen("/proc/self/uid_map", "re");

  if (!f)
    return 0;
  /* The first namespace maps all 2^32 uids onto themselves, in one line. */
  if (!fgets(line, sizeof(line), f)
      || sscanf(line, "%lu %lu %lu", &inside, &outside, &count) != 3
      || inside != 0 || outside != 0 || count != 4294967295UL
      || fgets(line, sizeof(line), f))
    inner = 1;
  fclose(f);
  return inner;
}

/*
 * Whether pid is outside the user namespace pmpeek runs in, as far as can
 * be told: when pmpeek runs in an inner one and pid's is another, or hidden
 * from it (seeing it takes the access that was refused).
 */
static int
outside_user_namespace(pid_t pid)
{
  struct stat self, other;
  char path[64];

  if (!inner_user_namespace())
    return 0;
  snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
  if (stat("/proc/self/ns/user", &self) != 0 || stat(path, &other) != 0)
    return 1;
  return self.st_ino != other.st_ino || self.st_dev != other.st_dev;
}

/* Why ptrace may be refused, for the permission-denied message. */
static void
explain_eperm(pid_t pid, char *buf, size_t len)
{
  char path[64];
  struct dirent *de;
  long tracer = 0;
  int scope = -1, has_cap;
  DIR *d;
  FILE *f;

  if (pid == getpid()) {
    snprintf(buf, len, "that is pmpeek itself");
    return;
  }
  if (kernel_thread(pid)) {
    snprintf(buf, len, "it is a kernel thread, not a Python process");
    return;
  }
  /* Any thread's: the main one may have ended before the traced one. */
  snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
  if ((d = opendir(path))) {
    while (tracer <= 0 && (de = readdir(d)))
      if (de->d_name[0] != '.')
        tracer = tracer_of(pid, de->d_name);
    closedir(d);
  }
  if (tracer > 0) {
    snprintf(buf, len, "it is already traced by process %ld", tracer);
    return;
  }
  if ((f = fopen("/proc/sys/kernel/yama/ptrace_scope", "re"))) {
    if (fscanf(f, "%d", &scope) != 1)
      scope = -1;
    fclose(f);
  }
  /* CAP_SYS_PTRACE is capability 19. */
  has_cap = status_number("/proc/self/status", "CapEff", 16) >> 19 & 1;
  if (scope >= 3)
    snprintf(buf, len,
             "Yama ptrace_scope is %d: no process may attach until reboot",
             scope);
  else if (outside_user_namespace(pid))
    snprintf(buf, len,
             "pmpeek runs in a user namespace that does not hold the "
             "target: run it in the target's namespace or an outer one");
  else if (has_cap)
    snprintf(buf, len,
             "pmpeek has CAP_SYS_PTRACE, so %sa security module (SELinux, "
             "AppArmor, BPF) forbids it",
             status_number("/proc/self/status", "Seccomp", 10) == 2
                 ? "a seccomp filter on pmpeek or "
                 : "");
  else if (scope > 0)
    snprintf(buf, len,
             "run as root or with CAP_SYS_PTRACE (Yama ptrace_scope is %d)",
             scope);
  else
    snprintf(buf, len,
             "run as root, as the target's user, or with "
             "CAP_SYS_PTRACE");
}

/* What pm_target_open_core() said about the file at fault. */
static char core_why[PATH_MAX + 256];

/* The core's missing files, as a hint for errors they may explain. */
static void
missing_hint(struct pm_target *t, char *buf, size_t len)
{
  const struct pm_core_info *ci = t ? pm_target_core_info(t) : NULL;

  buf[0] = '\0';
  if (ci && ci->nmissing)
    snprintf(buf, len,
             " (%zu mapped file%s not found, such as '%s'; see "
             "--lib-root)",
             ci->nmissing, ci->nmissing > 1 ? "s" : "", ci->missing);
}

static int
report_core(int err, const struct options *o, const struct pm_python_info *seen,
            struct pm_target *t)
{
  const char *exe = t ? pm_target_exe(t) : NULL;
  const char *version = seen && seen->version[0] ? seen->version : "?";
  const char *what = o->replay ? "recording" : "core";
  char hint[PATH_MAX + 80];

  missing_hint(t, hint, sizeof(hint));
  switch (err) {
  case PM_ENOTCORE:
    pm_cli_error("'%s' is not an ELF core file: %s", o->core, core_why);
    break;
  case PM_ECORE:
  case PM_ENOFILE:
  case PM_ERECORD:
    pm_cli_error("cannot read %s '%s': %s", what, o->core, core_why);
    break;
  case PM_EBUILDID:
    pm_cli_error("core '%s' does not match the files on disk: %s (--force "
                 "reads it anyway)",
                 o->core, core_why);
    break;
  case PM_ENOPYTHON:
    pm_cli_error("%s '%s' (pid %d, '%s') is not of a Python process: no "
                 "_PyRuntime in its executable or libraries%s",
                 what, o->core, (int)pm_target_pid(t), exe ? exe : "?", hint);
    break;
  case PM_ENOVERSION:
    pm_cli_error("unsupported Python version %s in %s '%s' (pmpeek has no "
                 "layout for it)",
                 version, what, o->core);
    break;
  case PM_EOFFSETS:
    pm_cli_error("refusing %s '%s' (Python %s): its layout differs from "
                 "pmpeek's table: %s",
                 what, o->core, version,
                 seen && seen->mismatch[0] ? seen->mismatch : "?");
    break;
  case PM_EFREETHREADED:
    pm_cli_error("%s '%s' is of a free-threaded Python %s, which pmpeek "
                 "does not support yet",
                 what, o->core, version);
    break;
  case PM_EINTR:
    pm_cli_error("interrupted");
    break;
  default:
    pm_cli_error("cannot read %s '%s': %s%s", what, o->core, pm_strerror(err),
                 hint);
    break;
  }
  return pm_exit_status(err);
}

static int
report(int err, const struct options *o, const struct pm_python_info *seen,
       struct pm_target *t)
{
  char why[256], who[96];
  const char *exe = t ? pm_target_exe(t) : NULL;
  pid_t pid = o->pid;

  if (o->core)
    return report_core(err, o, seen, t);
  /*
   * A thread id given for the process, which could not be opened (once
   * open, o->pid is the process's): the process is named, and the id.
   */
  if (!t) {
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    pid = (pid_t)status_number(path, "Tgid", 10);
    if (pid <= 0)
      pid = o->pid;
  }
  if (pid != o->pid)
    snprintf(who, sizeof(who), "process %d (given as its thread %d)", (int)pid,
             (int)o->pid);
  else
    snprintf(who, sizeof(who), "process %d", (int)pid);
  switch (err) {
  case -ESRCH:
    pm_cli_error("no live process with pid %d", (int)o->pid);
    break;
  case -EPERM:
  case -EACCES:
    explain_eperm(o->pid, why, sizeof(why));
    pm_cli_error("cannot attach to %s: permission denied: %s", who, why);
    break;
  case PM_ENOPYTHON:
    pm_cli_error("%s ('%s') is not a Python process: no _PyRuntime in its "
                 "executable or libraries",
                 who, exe ? exe : "?");
    break;
  case PM_ENOVERSION:
    if (seen && seen->version[0])
      pm_cli_error("unsupported Python version %s in %s "
                   "(pmpeek has no layout for it)",
                   seen->version, who);
    else
      pm_cli_error("cannot tell the Python version of %s", who);
    break;
  case PM_EOFFSETS:
    pm_cli_error("refusing %s (Python %s): its layout differs from "
                 "pmpeek's table: %s",
                 who, seen && seen->version[0] ? seen->version : "?",
                 seen && seen->mismatch[0] ? seen->mismatch : "?");
    break;
  case PM_EFREETHREADED:
    pm_cli_error("%s runs a free-threaded Python %s, which pmpeek "
                 "does not support yet",
                 who, seen && seen->version[0] ? seen->version : "");
    break;
  case PM_EGONE:
    pm_cli_error("%s exited during the walk", who);
    break;
  case -ETIMEDOUT:
  case PM_ESTUCK:
    pm_cli_error("%s did not stop within 2 seconds%s; nothing was "
                 "read, and it was let go",
                 who,
                 err == PM_ESTUCK
                     ? ": a thread is in uninterruptible sleep (state D: "
                       "waiting for a vfork child, a disk or a network "
                       "file system)"
                     : "");
    break;
  case PM_EINTR:
    pm_cli_error("interrupted; %s was resumed", who);
    break;
  default:
    pm_cli_error("cannot read %s: %s", who, pm_strerror(err));
    break;
  }
  return pm_exit_status(err);
}

/*
 * PMPEEK_HOLD_PAUSE=SECONDS keeps the target paused that long before the
 * walk, so that tests can signal pmpeek or kill the target mid-walk.
 */
static int
hold_for_tests(void)
{
  const char *s = getenv("PMPEEK_HOLD_PAUSE");
  double left = s ? strtod(s, NULL) : 0;

  while (left > 0 && !interrupted) {
    struct timespec ts = { 0, 10 * 1000 * 1000 };
    nanosleep(&ts, NULL);
    left -= 0.01;
  }
  return interrupted ? PM_EINTR : 0;
}

/*
 * The census options; PMPEEK_NO_BLOCKS=1 leaves out the allocator's blocks,
 * so that tests can compare with what an in-process census sees,
 * PMPEEK_SERIAL=1 keeps the walk on one thread, PMPEEK_SERIAL=0 puts it on
 * two even for a small heap, and PMPEEK_GIVE=1 makes its two walkers hand
 * each other work at every turn.
 */
static unsigned
census_flags(const struct options *o)
{
  const char *nb = getenv("PMPEEK_NO_BLOCKS"), *se = getenv("PMPEEK_SERIAL"),
             *gv = getenv("PMPEEK_GIVE");

  return o->census_flags | (nb && *nb == '1' ? PM_CENSUS_NO_BLOCKS : 0)
         | (se && *se == '1' ? PM_CENSUS_SERIAL : 0)
         | (se && *se == '0' ? PM_CENSUS_PARALLEL : 0)
         | (gv && *gv == '1' ? PM_CENSUS_GIVE : 0);
}

/*
 * Lets the target run again; the walk's result err, or PM_EINTR when the
 * user interrupted it, or PM_EGONE when the target died under it (whatever
 * a read tripped over, a target that died is the cause).
 */
static int
end_pause(struct pm_target *t, int err)
{
  pm_target_resume(t);
  if (!err && interrupted)
    err = PM_EINTR;
  if (err && err != PM_EINTR && pm_target_gone(t))
    err = PM_EGONE;
  return err;
}

/*
 * When the state a document describes was the target's: now, or, for a
 * core (or a recording), when it was written.
 */
static void
taken_at(const struct options *o, struct timespec *when)
{
  struct stat st;

  clock_gettime(CLOCK_REALTIME, when);
  if (o->core && stat(o->core, &st) == 0)
    *when = st.st_mtim;
}

/* One census and what the snapshot document says around it. */
struct shot {
  struct pm_census census;
  struct pm_allocator alloc;
  int alloc_err; /* why alloc is empty, with --allocator */
  struct pm_snapshot snap;
  char version[32];
};

/* PMPEEK_NO_SYMBOLS=1: find 3.8-3.11's state as if stripped (tests). */
static unsigned
allocator_flags(void)
{
  const char *ns = getenv("PMPEEK_NO_SYMBOLS");

  return ns && *ns == '1' ? PM_ALLOCATOR_NO_SYMBOLS : 0;
}

/*
 * Pauses the target, walks it, and lets it go again before anything else,
 * since the pause is the target's outage.  On error prints the one-line
 * message and returns the exit status.
 */
static int
take_snapshot(const struct options *o, struct pm_target *t, struct shot *s)
{
  struct pm_python *py = NULL;
  struct pm_python_info seen = { 0 };
  int err;

  pm_census_init(&s->census);
  pm_allocator_init(&s->alloc);
  s->alloc_err = 0;
  memset(&s->snap, 0, sizeof(s->snap));
  taken_at(o, &s->snap.taken_at);
  /*
   * What the files alone tell is learnt outside the target's pause; a
   * failure is met again, and said, by pm_python_open().  The allocator's
   * prepare does all the census's does, and searches more.
   */
  if (o->allocator)
    (void)pm_allocator_prepare(t, allocator_flags());
  else
    (void)pm_python_prepare(t);
  err = pm_target_pause(t);
  if (!err)
    err = hold_for_tests();
  if (!err)
    err = pm_python_open(&py, t, &seen);
  if (!err) {
    struct pm_cli_progress progress;
    pm_cli_progress_init(&progress);
    /* No terminal, no progress: the walk need not look at the clock. */
    err = pm_census_take_progress(
        &s->census, py, census_flags(o),
        progress.enabled ? pm_cli_progress_show : NULL, &progress);
  }
  if (!err && o->allocator) {
    s->alloc_err = pm_allocator_take(&s->alloc, py, allocator_flags());
    if (s->alloc_err == PM_EGONE || s->alloc_err == PM_EINTR)
      err = s->alloc_err;
  }
  err = end_pause(t, err);
  if (err) {
    pm_python_free(py);
    pm_census_release(&s->census);
    pm_allocator_release(&s->alloc);
    return report(err, o, &seen, t);
  }
  snprintf(s->version, sizeof(s->version), "%s", pm_python_info(py)->version);
  pm_python_free(py);
  s->snap.source_kind = o->replay ? "replay" : o->core ? "core" : "live";
  s->snap.core = o->replay ? NULL : o->core;
  s->snap.pid = o->core ? pm_target_pid(t) : o->pid;
  s->snap.executable = pm_target_exe(t);
  s->snap.python_version = s->version;
  s->snap.scope = "all";
  s->snap.pause_seconds
      = o->no_pause || o->core ? -1.0 : pm_target_pause_seconds(t);
  s->snap.census = &s->census;
  if (o->allocator && !s->alloc_err)
    s->snap.allocator = &s->alloc;
  pm_census_sort(&s->census, o->sort);
  return 0;
}

/* Writes the JSON snapshot to path through a temporary file and rename. */
static int
save_json(const struct pm_snapshot *s, const char *path)
{
  char tmp[PATH_MAX];
  FILE *f;
  int err;

  if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
    pm_cli_error("cannot write '%s': path too long", path);
    return PM_EXIT_OTHER;
  }
  if (!(f = fopen(tmp, "we"))) {
    pm_cli_error("cannot write '%s': %s", tmp, strerror(errno));
    return PM_EXIT_OTHER;
  }
  err = pm_snapshot_write_json(s, f);
  if (fclose(f) != 0 && !err)
    err = -errno;
  if (!err && rename(tmp, path) != 0)
    err = -errno;
  if (err) {
    unlink(tmp);
    pm_cli_error("cannot write '%s': %s", path, pm_strerror(err));
    return PM_EXIT_OTHER;
  }
  return 0;
}

/*
 * Writes what the walk read to path (--record), through a temporary file
 * and rename.  quiet: an error was reported already; say nothing more.
 */
static int
save_record(struct pm_target *t, const char *path, int quiet)
{
  char tmp[PATH_MAX];
  FILE *f;
  int err;

  if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
    err = -ENAMETOOLONG;
  else if (!(f = fopen(tmp, "we")))
    err = -errno;
  else {
    err = pm_target_record_write(t, f);
    if (fclose(f) != 0 && !err)
      err = -errno;
    if (!err && rename(tmp, path) != 0)
      err = -errno;
    if (err)
      unlink(tmp);
  }
  if (err && !quiet)
    pm_cli_error("cannot write recording '%s': %s", path, pm_strerror(err));
  return err ? PM_EXIT_OTHER : 0;
}

static int
partial_warning(const struct pm_census *c)
{
  if (!pm_census_partial(c))
    return 0;
  pm_cli_error("warning: partial census: %llu objects unreadable, %llu "
               "lists cut short",
               (unsigned long long)c->skipped,
               (unsigned long long)c->broken_lists);
  return 1;
}

/* Says what --allocator could not do; 0 when that makes the output partial. */
static int
allocator_warning(const struct shot *s)
{
  const struct pm_allocator *a = &s->alloc;

  if (s->alloc_err == PM_ENOSYM) {
    pm_cli_error("warning: cannot find pymalloc's state in '%s' (stripped, "
                 "and the code scan found no unique match); no allocator "
                 "figures",
                 s->snap.executable ? s->snap.executable : "?");
    return 0;
  }
  if (s->alloc_err) {
    pm_cli_error("warning: cannot read pymalloc's state: %s",
                 pm_strerror(s->alloc_err));
    return 0;
  }
  if (!pm_allocator_partial(a))
    return 1;
  pm_cli_error("warning: partial allocator figures: %llu arenas and %llu "
               "pools skipped as inconsistent%s",
               (unsigned long long)a->bad_arenas,
               (unsigned long long)a->bad_pools,
               a->nstates && a->states[0].arenas_highwater < 0
                   ? ", arena counters unknown"
                   : "");
  return 0;
}

static int
run_once(const struct options *o, struct pm_target *t)
{
  struct shot s;
  int status;

  if ((status = take_snapshot(o, t, &s))) {
    /* A recording of a failed walk is how to report it. */
    if (o->record && status != 130)
      save_record(t, o->record, 1);
    return status;
  }
  if (o->record)
    status = save_record(t, o->record, 0);
  if (o->output && !status)
    status = save_json(&s.snap, o->output);
  if (!status) {
    int err = 0;
    switch (o->format) {
    case FORMAT_JSON:
      err = pm_snapshot_write_json(&s.snap, stdout);
      break;
    case FORMAT_OPENMETRICS:
      err = pm_snapshot_write_openmetrics(&s.snap, stdout);
      break;
    case FORMAT_TABLE:
      pm_cli_print_table_ex(stdout, &s.census, o->top, pm_cli_bold(stdout),
                            o->unreachable);
      if (s.snap.allocator)
        pm_cli_print_allocator(stdout, &s.alloc);
      if (!o->no_pause && !o->core)
        fprintf(stderr, "pmpeek: process %d was paused for %.1f ms\n",
                (int)o->pid, s.snap.pause_seconds * 1000);
      break;
    }
    status = pm_cli_output_end(stdout, err);
  }
  if (!status)
    status = partial_warning(&s.census);
  if (o->allocator && !allocator_warning(&s) && !status)
    status = 1;
  pm_census_release(&s.census);
  pm_allocator_release(&s.alloc);
  return status;
}

/*
 * --threads and --referrers: read while the target is paused (native
 * stacks need its threads stopped), print once it runs again.
 */
static int
run_inspect(const struct options *o, struct pm_target *t)
{
  struct pm_cli_inspect in;
  struct pm_python *py = NULL;
  struct pm_python_info seen = { 0 };
  struct pm_snapshot src;
  char version[32];
  int err, status;

  pm_cli_inspect_init(&in);
  memset(&src, 0, sizeof(src));
  taken_at(o, &src.taken_at);
  (void)pm_python_prepare(t); /* as take_snapshot() does */
  err = pm_target_pause(t);
  if (!err)
    err = hold_for_tests();
  if (!err)
    err = pm_python_open(&py, t, &seen);
  if (!err)
    err = pm_cli_inspect_take(&in, &o->inspect, py, t);
  err = end_pause(t, err);
  if (err) {
    pm_python_free(py);
    pm_cli_inspect_release(&in);
    return report(err, o, &seen, t);
  }
  snprintf(version, sizeof(version), "%s", pm_python_info(py)->version);
  pm_python_free(py);
  src.source_kind = o->replay ? "replay" : o->core ? "core" : "live";
  src.core = o->replay ? NULL : o->core;
  src.pid = o->core ? pm_target_pid(t) : o->pid;
  src.executable = pm_target_exe(t);
  src.python_version = version;
  src.pause_seconds
      = o->no_pause || o->core ? -1.0 : pm_target_pause_seconds(t);
  status = pm_cli_inspect_print(&in, &o->inspect, &src, stdout);
  pm_cli_inspect_release(&in);
  return status;
}

/* Sleeps up to seconds, waking early when a signal stops the run. */
static void
nap(double seconds)
{
  while (seconds > 0 && !interrupted) {
    double step = seconds < 0.1 ? seconds : 0.1;
    struct timespec ts = { 0, (long)(step * 1e9) };
    nanosleep(&ts, NULL);
    seconds -= step;
  }
}

static void
print_changes(const char *title, const struct pm_snapshot *a,
              const struct pm_snapshot *b, size_t top)
{
  struct pm_diff d;

  if (pm_diff_compute(&d, a, b) != 0)
    return;
  printf("%s (%.1f s):\n", title, pm_diff_seconds(&d));
  pm_cli_print_diff(stdout, &d, top, 0, 1);
  pm_diff_release(&d);
}

/*
 * Whether the reader of standard output went away (a pipe whose other end
 * is closed): known before the next pause, not from the write after it.
 */
static int
reader_gone(void)
{
  struct pollfd p = { .fd = STDOUT_FILENO, .events = POLLOUT };

  return poll(&p, 1, 0) == 1 && (p.revents & POLLERR);
}

static int
run_interval(const struct options *o, struct pm_target *t)
{
  struct pm_trend *trend = pm_trend_new((unsigned)o->suspect_after);
  struct shot first, prev, cur;
  FILE *series = NULL;
  size_t n = 0;
  int status = 0, prev_is_first = 0, any_partial = 0, err;

  if (!trend) {
    pm_cli_error("out of memory");
    return PM_EXIT_OTHER;
  }
  if (o->save_dir && mkdir(o->save_dir, 0777) != 0 && errno != EEXIST) {
    pm_cli_error("cannot create '%s': %s", o->save_dir, strerror(errno));
    pm_trend_free(trend);
    return PM_EXIT_OTHER;
  }
  if (o->series && !(series = fopen(o->series, "ae"))) {
    pm_cli_error("cannot write '%s': %s", o->series, strerror(errno));
    pm_trend_free(trend);
    return PM_EXIT_OTHER;
  }
  while (!interrupted && (o->count == 0 || n < o->count)) {
    struct pm_suspect *sus = NULL;
    const struct pm_snapshot *latest;
    size_t nsus = 0;
    char when[PM_TIME_TEXT_MAX];

    if (n > 0)
      nap(o->interval);
    if (interrupted)
      break;
    if (n > 0 && reader_gone()) {
      status = PM_EXIT_OTHER; /* as for a write to it: without a word */
      break;
    }
    /* Not "during the walk": the snapshots taken stand. */
    if (n > 0 && pm_target_gone(t)) {
      pm_cli_error("process %d exited; stopped after %zu snapshot%s",
                   (int)o->pid, n, n == 1 ? "" : "s");
      status = pm_exit_status(PM_EGONE);
      break;
    }
    if ((status = take_snapshot(o, t, &cur)))
      break;
    n++;
    pm_time_rfc3339(&cur.snap.taken_at, when, sizeof(when));
    printf("== snapshot %zu at %s: %llu objects, %llu bytes", n, when,
           (unsigned long long)cur.census.count,
           (unsigned long long)cur.census.size);
    if (!o->no_pause)
      printf(" (paused %.1f ms)", cur.snap.pause_seconds * 1000);
    printf("\n");
    fflush(stdout);
    any_partial |= partial_warning(&cur.census);
    if (n > 1) {
      print_changes("Top changes since the previous snapshot",
                    prev_is_first ? &first.snap : &prev.snap, &cur.snap,
                    o->top);
      if (n > 2)
        print_changes("Top changes since the first snapshot", &first.snap,
                      &cur.snap, o->top);
    } else {
      pm_cli_print_table_ex(stdout, &cur.census, o->top, 0, o->unreachable);
    }
    /* Keep the first snapshot for "since the first", and the latest. */
    if (n == 1) {
      first = cur;
      first.snap.census = &first.census;
      first.snap.python_version = first.version;
      latest = &first.snap;
      prev_is_first = 1;
    } else {
      if (!prev_is_first)
        pm_census_release(&prev.census);
      prev = cur;
      prev.snap.census = &prev.census;
      prev.snap.python_version = prev.version;
      latest = &prev.snap;
      prev_is_first = 0;
    }
    if (o->save_dir) {
      char path[PATH_MAX];
      snprintf(path, sizeof(path), "%s/pmpeek-%d-%06zu.json", o->save_dir,
               (int)o->pid, n);
      if ((status = save_json(latest, path)))
        break;
    }
    if (o->output && (status = save_json(latest, o->output)))
      break;
    if (series
        && (err = pm_cli_flush(
                series, pm_snapshot_write_series(latest, o->top, series)))) {
      pm_cli_error("cannot write '%s': %s", o->series, pm_strerror(err));
      status = PM_EXIT_OTHER;
      break;
    }
    if (pm_trend_add(trend, latest) != 0
        || pm_trend_suspects(trend, &sus, &nsus) != 0) {
      pm_cli_error("out of memory");
      status = PM_EXIT_OTHER;
      break;
    }
    if (nsus > 0) {
      printf("Leak suspects (count grew in each of the last %zu "
             "snapshots):\n",
             o->suspect_after);
      for (size_t i = 0; i < nsus; i++) {
        fputs("  ", stdout);
        pm_cli_text(stdout, sus[i].kind);
        printf(": %llu -> %llu (%+.1f/min)\n",
               (unsigned long long)sus[i].count_first,
               (unsigned long long)sus[i].count_last, sus[i].per_minute);
      }
    }
    free(sus);
    printf("\n");
    /*
     * Output that cannot be written ends the run: a full disk, a reader
     * gone during this round (one gone since is seen before the pause).
     */
    if ((status = pm_cli_output_end(stdout, 0)))
      break;
  }
  if (n > 0)
    pm_census_release(&first.census);
  if (n > 1 && !prev_is_first)
    pm_census_release(&prev.census);
  if (series)
    fclose(series);
  pm_trend_free(trend);
  if (interrupted && (status == 0 || status == 130)) {
    /* Ctrl-C is how a monitoring run ends: not an error. */
    fprintf(stderr,
            "pmpeek: stopped after %zu snapshots; process %d is "
            "running\n",
            n, (int)o->pid);
    status = 0;
  }
  return status ? status : any_partial;
}

/* Says why path cannot be written, if it cannot; leaves no file behind. */
static int
check_writable(const char *path)
{
  if (access(path, F_OK) != 0) {
    FILE *f = fopen(path, "we");
    if (!f) {
      pm_cli_error("cannot write '%s': %s", path, strerror(errno));
      return -1;
    }
    fclose(f);
    unlink(path);
  } else if (access(path, W_OK) != 0) {
    pm_cli_error("cannot write '%s': %s", path, strerror(errno));
    return -1;
  }
  return 0;
}

int
main(int argc, char **argv)
{
  struct options o;
  struct sigaction sa;
  struct pm_target *t = NULL;
  int err, status;

  /*
   * One malloc arena for every thread: what the census's second walker
   * frees is then reused by the first, not kept aside, and the peak of
   * memory stays that of one walker.  Arrays of a MiB or more (the walk's
   * queues, batches and lists) are mapped on their own and unmapped when
   * freed: grown and freed by turns in the heap, they left it holes that
   * raised the peak by up to a fifth from one run to the next.
   */
  mallopt(M_ARENA_MAX, 1);
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  if (argc > 1 && strcmp(argv[1], "diff") == 0)
    return pm_cli_diff(argc - 1, argv + 1);
  if (argc > 1 && strcmp(argv[1], "report") == 0)
    return pm_cli_report(argc - 1, argv + 1);
  if ((status = parse_options(argc, argv, &o)))
    return status;

  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  /* A bad -o or --record path must fail before the target is touched. */
  if ((o.output && check_writable(o.output))
      || (o.record && check_writable(o.record)))
    return PM_EXIT_OTHER;
  if (o.replay) {
    err = pm_target_open_replay(&t, o.core, core_why, sizeof(core_why));
  } else if (o.core) {
    o.core_opts.why = core_why;
    o.core_opts.why_len = sizeof(core_why);
    err = pm_target_open_core(&t, o.core, &o.core_opts);
  } else {
    err = pm_target_open_pid(&t, o.pid, o.no_pause ? PM_TARGET_NO_PAUSE : 0);
  }
  if (err)
    return report(err, &o, NULL, NULL);
  if (!o.core && pm_target_pid(t) != o.pid) {
    pm_cli_error("%d is a thread of process %d: reading the process",
                 (int)o.pid, (int)pm_target_pid(t));
    o.pid = pm_target_pid(t);
  }
  if (o.record && (err = pm_target_record_start(t))) {
    pm_cli_error("cannot record: %s", pm_strerror(err));
    pm_target_free(t);
    return PM_EXIT_OTHER;
  }
  if (o.core && !o.replay) {
    const struct pm_core_info *ci = pm_target_core_info(t);
    if (ci->truncated)
      pm_cli_error("warning: core '%s' is truncated; reading what it holds",
                   o.core);
    if (ci->forced)
      pm_cli_error("warning: '%s' is not the file the core maps; reading "
                   "it anyway",
                   ci->forced);
  }
  pm_target_set_cancel(t, &interrupted);
  if (o.inspect.threads || o.inspect.referrers)
    status = run_inspect(&o, t);
  else
    status = o.interval > 0 ? run_interval(&o, t) : run_once(&o, t);
  pm_target_free(t);
  return status;
}
