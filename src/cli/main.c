/* SPDX-License-Identifier: MIT */
/* main.c -- pmpeek's command line: parse, run the census, print */
#include <config.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/table.h"
#include "pmpeek/census.h"
#include "pmpeek/error.h"
#include "pmpeek/python.h"
#include "pmpeek/snapshot.h"
#include "pmpeek/target.h"

#define DEFAULT_TOP 10
#define EXIT_USAGE 2

struct options {
  pid_t pid;
  size_t top; /* 0: all rows */
  enum pm_sort sort;
  int json;
  int no_pause;
  const char *output;
};

static volatile sig_atomic_t interrupted;

static void
on_signal(int sig)
{
  interrupted = sig;
}

static void
pm_cli_error(const char *fmt, ...)
{
  va_list ap;

  fputs("pmpeek: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

static void
usage(FILE *f)
{
  fputs("usage: pmpeek [OPTIONS] PID\n"
        "\n"
        "Counts the objects of a running CPython process by kind, from the\n"
        "outside, and prints them as a heapy-style partition.\n"
        "\n"
        "  -n, --top N        show the N largest kinds (default 10)\n"
        "  -a, --all          show every kind\n"
        "  -s, --sort KEY     order rows by 'size' (default) or 'count'\n"
        "  -j, --json         print the snapshot as one JSON document\n"
        "  -o, --output FILE  also write the JSON snapshot to FILE\n"
        "      --no-pause     do not stop the target while reading it\n"
        "  -h, --help         show this help and exit\n"
        "  -V, --version      show the version and exit\n"
        "\n"
        "Exit status: 0 ok, 1 partial result, 2 usage, 3 no such process,\n"
        "4 permission denied, 5 not a Python process, 6 unsupported Python,\n"
        "7 target exited during the walk, 8 unreadable target memory,\n"
        "9 other error, 130 interrupted.  See pmpeek(1).\n",
        f);
}

static int
parse_count(const char *s, size_t *out)
{
  char *end;
  unsigned long long v;

  if (!*s || *s == '-' || *s == '+')
    return -1;
  errno = 0;
  v = strtoull(s, &end, 10);
  if (errno || *end || v == 0 || v > 1000000000ULL)
    return -1;
  *out = (size_t)v;
  return 0;
}

static int
parse_pid(const char *s, pid_t *out)
{
  size_t v;

  for (const char *p = s; *p; p++)
    if (*p < '0' || *p > '9')
      return -1;
  if (parse_count(s, &v) != 0 || v > INT_MAX)
    return -1;
  *out = (pid_t)v;
  return 0;
}

static int
parse_options(int argc, char **argv, struct options *o)
{
  static const struct option longopts[] = {
    { "top", required_argument, NULL, 'n' },
    { "all", no_argument, NULL, 'a' },
    { "sort", required_argument, NULL, 's' },
    { "json", no_argument, NULL, 'j' },
    { "output", required_argument, NULL, 'o' },
    { "no-pause", no_argument, NULL, 'P' },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, 'V' },
    { NULL, 0, NULL, 0 },
  };
  int c;

  memset(o, 0, sizeof(*o));
  o->top = DEFAULT_TOP;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":n:as:jo:hV", longopts, NULL)) != -1) {
    switch (c) {
    case 'n':
      if (parse_count(optarg, &o->top) != 0) {
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
    case 'j':
      o->json = 1;
      break;
    case 'o':
      o->output = optarg;
      break;
    case 'P':
      o->no_pause = 1;
      break;
    case 'h':
      usage(stdout);
      exit(0);
    case 'V':
      printf("pmpeek %s\n", PM_VERSION);
      exit(0);
    case ':':
      pm_cli_error("option '%s' needs a value", argv[optind - 1]);
      return EXIT_USAGE;
    default:
      pm_cli_error("unknown option '%s' (see pmpeek --help)",
                   argv[optind - 1]);
      return EXIT_USAGE;
    }
  }
  if (optind != argc - 1) {
    pm_cli_error(optind == argc ? "no process id given (see pmpeek --help)"
                                : "too many arguments (see pmpeek --help)");
    return EXIT_USAGE;
  }
  if (parse_pid(argv[optind], &o->pid) != 0) {
    pm_cli_error("invalid process id '%s'", argv[optind]);
    return EXIT_USAGE;
  }
  return 0;
}

/* Why ptrace may be refused, for the permission-denied message. */
static void
explain_eperm(pid_t pid, char *buf, size_t len)
{
  char path[64], line[256];
  FILE *f;
  long tracer = 0;
  int scope = -1;

  snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
  if ((f = fopen(path, "re"))) {
    while (fgets(line, sizeof(line), f))
      if (sscanf(line, "TracerPid: %ld", &tracer) == 1)
        break;
    fclose(f);
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
  if (scope > 0)
    snprintf(buf, len,
             "run as root or with CAP_SYS_PTRACE (Yama ptrace_scope is %d)",
             scope);
  else
    snprintf(buf, len, "run as root, as the target's user, or with "
                       "CAP_SYS_PTRACE");
}

static int
report(int err, const struct options *o, const struct pm_python_info *seen,
       struct pm_target *t)
{
  char why[160];
  const char *exe = t ? pm_target_exe(t) : NULL;

  switch (err) {
  case -ESRCH:
    pm_cli_error("no live process with pid %d", (int)o->pid);
    break;
  case -EPERM:
  case -EACCES:
    explain_eperm(o->pid, why, sizeof(why));
    pm_cli_error("cannot attach to process %d: permission denied: %s",
                 (int)o->pid, why);
    break;
  case PM_ENOPYTHON:
    pm_cli_error("process %d ('%s') is not a Python process: no _PyRuntime "
                 "in its executable or libraries",
                 (int)o->pid, exe ? exe : "?");
    break;
  case PM_ENOVERSION:
    if (seen && seen->version[0])
      pm_cli_error("unsupported Python version %s in process %d "
                   "(pmpeek has no layout for it)",
                   seen->version, (int)o->pid);
    else
      pm_cli_error("cannot tell the Python version of process %d",
                   (int)o->pid);
    break;
  case PM_EOFFSETS:
    pm_cli_error("refusing process %d (Python %s): its layout differs from "
                 "pmpeek's table: %s",
                 (int)o->pid, seen && seen->version[0] ? seen->version : "?",
                 seen && seen->mismatch[0] ? seen->mismatch : "?");
    break;
  case PM_EFREETHREADED:
    pm_cli_error("process %d runs a free-threaded Python %s, which pmpeek "
                 "does not support yet",
                 (int)o->pid, seen && seen->version[0] ? seen->version : "");
    break;
  case PM_EGONE:
    pm_cli_error("process %d exited during the walk", (int)o->pid);
    break;
  case PM_EINTR:
    pm_cli_error("interrupted; process %d was resumed", (int)o->pid);
    break;
  default:
    pm_cli_error("cannot read process %d: %s", (int)o->pid, pm_strerror(err));
    break;
  }
  return pm_exit_status(err);
}

static int
write_outputs(const struct options *o, FILE *f, const struct pm_snapshot *s,
              const struct pm_census *c)
{
  int err;

  if (f) {
    err = pm_snapshot_write_json(s, f);
    if (fflush(f) != 0 && !err)
      err = -EIO;
    if (err) {
      pm_cli_error("cannot write '%s': %s", o->output, pm_strerror(err));
      return 9;
    }
  }
  if (o->json) {
    if (pm_snapshot_write_json(s, stdout) != 0)
      return 9;
  } else {
    const char *nc = getenv("NO_COLOR");
    const char *term = getenv("TERM");
    int bold = isatty(STDOUT_FILENO) && !(nc && *nc) &&
               !(term && strcmp(term, "dumb") == 0);
    pm_cli_print_table(stdout, c, o->top, bold);
  }
  if (fflush(stdout) != 0)
    return 9;
  return 0;
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
  if (interrupted)
    return PM_EINTR;
  return 0;
}

int
main(int argc, char **argv)
{
  struct options o;
  struct sigaction sa;
  struct pm_target *t = NULL;
  struct pm_python *py = NULL;
  struct pm_python_info seen = { 0 };
  struct pm_census census;
  struct pm_snapshot snap = { 0 };
  FILE *out = NULL;
  int err, status;

  if ((status = parse_options(argc, argv, &o)))
    return status;
  /* A bad -o path must fail before the target is touched. */
  if (o.output && !(out = fopen(o.output, "we"))) {
    pm_cli_error("cannot write '%s': %s", o.output, strerror(errno));
    return 9;
  }

  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  pm_census_init(&census);
  err = pm_target_open_pid(&t, o.pid, o.no_pause ? PM_TARGET_NO_PAUSE : 0);
  if (err) {
    status = report(err, &o, NULL, NULL);
    goto out;
  }
  pm_target_set_cancel(t, &interrupted);
  clock_gettime(CLOCK_REALTIME, &snap.taken_at);
  err = pm_target_pause(t);
  if (!err)
    err = hold_for_tests();
  if (!err)
    err = pm_python_open(&py, t, &seen);
  if (!err)
    err = pm_census_take(&census, py);
  /* Let the target go before any output: its pause is our cost. */
  pm_target_resume(t);
  if (!err && interrupted)
    err = PM_EINTR;
  /* Whatever a read tripped over, a target that died is the cause. */
  if (err && err != PM_EINTR && pm_target_gone(t))
    err = PM_EGONE;
  if (err) {
    status = report(err, &o, &seen, t);
    goto out;
  }

  snap.source_kind = "live";
  snap.pid = o.pid;
  snap.executable = pm_target_exe(t);
  snap.python_version = pm_python_info(py)->version;
  snap.scope = "gc-tracked";
  snap.pause_seconds = o.no_pause ? -1.0 : pm_target_pause_seconds(t);
  snap.census = &census;
  pm_census_sort(&census, o.sort);
  status = write_outputs(&o, out, &snap, &census);
  if (!status && !o.json && !o.no_pause)
    fprintf(stderr, "pmpeek: process %d was paused for %.1f ms\n", (int)o.pid,
            snap.pause_seconds * 1000);
  if (!status && pm_census_partial(&census)) {
    pm_cli_error("warning: partial census: %llu objects unreadable, %llu "
                 "lists cut short",
                 (unsigned long long)census.skipped,
                 (unsigned long long)census.broken_lists);
    status = 1;
  }
out:
  if (out && fclose(out) != 0 && !status) {
    pm_cli_error("cannot write '%s': %s", o.output, strerror(errno));
    status = 9;
  }
  pm_census_release(&census);
  pm_python_free(py);
  pm_target_free(t);
  return status;
}
