# SPDX-License-Identifier: MIT
"""common.py -- what the integration drivers (test-*.py) share.

The drivers run as scripts, so Python puts this directory first on
sys.path and their `from common import ...` finds this file.

  Tap            `ok N - desc` / `not ok N - desc` lines, `#` diagnostics
                 and the final `N passed, N failed[, N skipped]` line
  run, describe, one_line
                 run pmpeek (or gcore) to its end, say how it ended, check
                 that it failed as pmpeek fails: a status, one line
  Fixture        a script of fixtures/ that says "ready" on a FIFO
  start_code     an interpreter running a program that says "ready" on
                 its stdout (sleeper(): the usual one)
  proc_state, wait_state, tracer, running_untraced
                 a target's state, as /proc shows it
  start_driver, driver_parser, for_pythons
                 a driver's start, its options and its loop over its
                 interpreters
"""

import argparse
import datetime
import glob
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

# tools/fifo_ready.py: the demo waits for its target the same way.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / 'tools'))
from fifo_ready import wait_ready  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[2] / 'fixtures'
SKIP = 77
READY_TIMEOUT = 120.0
RUN_TIMEOUT = 180.0

# pmpeek(1), EXIT STATUS (1, a partial result, has no name: the drivers
# accept it together with 0).
EXIT_OK, EXIT_USAGE, EXIT_NOPROC, EXIT_PERM, EXIT_NOPYTHON = 0, 2, 3, 4, 5
EXIT_VERSION, EXIT_GONE, EXIT_CORRUPT, EXIT_OTHER = 6, 7, 8, 9
EXIT_FILES, EXIT_INTERRUPTED = 10, 130
EXIT_NAMES = {
    0: 'ok', 1: 'partial', 2: 'usage', 3: 'no such process',
    4: 'permission denied', 5: 'not a Python process',
    6: 'unsupported Python version', 7: 'target exited during the walk',
    8: 'target memory inconsistent/unreadable', 9: 'other',
    10: 'core files do not match', 130: 'interrupted',
}

RUNNING = ('S', 'R')


class SkipAll(Exception):
    """The environment cannot run this driver at all (exit 77)."""


class Tap(object):
    """The test points of one driver.  prefix starts every test name (the
    interpreter, the scenario)."""

    def __init__(self, count_skips=False, tail=None):
        """count_skips: the summary says how many were skipped even when
        none were.  tail: a diagnostic keeps only its last lines, for
        drivers whose diagnostics may be whole valgrind or ASan reports."""
        self.prefix = ''
        self.count_skips = count_skips
        self.tail = tail
        self.n = self.passed = self.failed = self.skipped = 0

    def check(self, cond, desc, diag=None, expected=None, got=None):
        self.n += 1
        if cond:
            self.passed += 1
            print('ok %d - %s%s' % (self.n, self.prefix, desc))
        else:
            self.failed += 1
            print('not ok %d - %s%s' % (self.n, self.prefix, desc))
            if expected is not None:
                print('#   expected: %s' % (expected,))
            if got is not None:
                print('#   got:      %s' % (got,))
            if diag:
                self.diag(diag)
        sys.stdout.flush()
        return bool(cond)

    def equal(self, got, expected, desc):
        return self.check(got == expected, desc, expected=expected, got=got)

    def skip(self, desc):
        """A part that cannot run here, said in a comment: no test point."""
        self.skipped += 1
        print('# skip: %s%s' % (self.prefix, desc))
        sys.stdout.flush()

    def skip_test(self, desc, why):
        """A test point that cannot run here: `ok N - desc # SKIP why`."""
        self.n += 1
        self.skipped += 1
        print('ok %d - %s%s # SKIP %s' % (self.n, self.prefix, desc, why))
        sys.stdout.flush()

    def diag(self, text):
        lines = str(text).rstrip('\n').splitlines()
        for line in lines[-self.tail:] if self.tail else lines:
            print('#   ' + line)
        sys.stdout.flush()

    def summary(self):
        line = '%d passed, %d failed' % (self.passed, self.failed)
        if self.skipped or self.count_skips:
            line += ', %d skipped' % self.skipped
        print(line)
        sys.stdout.flush()

    def done(self):
        """The summary, and the exit status of a driver that ran: 1 on any
        failure, else 0."""
        self.summary()
        return 1 if self.failed else 0


class Trial(Tap):
    """Test points kept, not printed: replayed into a Tap, or shown as
    diagnostics when the case is tried again (run_twice())."""

    def __init__(self, prefix):
        Tap.__init__(self)
        self.prefix = prefix
        self.points = []

    def check(self, cond, desc, diag=None, expected=None, got=None):
        self.points.append((bool(cond), desc, diag, expected, got))
        self.failed += not cond
        return bool(cond)

    def skip(self, desc):
        self.points.append((None, desc, None, None, None))

    def replay(self, tap):
        for cond, desc, diag, expected, got in self.points:
            if cond is None:
                tap.skip(desc)
            else:
                tap.check(cond, desc, diag=diag, expected=expected, got=got)


def run_twice(tap, case):
    """case(t), t a Trial, replayed into tap when every check passed; else
    the failures are printed as diagnostics and case(tap) runs once more
    (with a fresh target): a difference that comes again fails.  About one
    full run of the suite in ten, on 3.8 to 3.10, pmpeek found one block of
    the 64-byte class free that a target's sys._debugmallocstats(), taken
    just before, counted in use (the target asleep in between; the cause
    is not found)."""
    trial = Trial(tap.prefix)
    case(trial)
    if not trial.failed:
        trial.replay(tap)
        return
    print('# first attempt: %d of %d checks failed; once more with a '
          'fresh target' % (trial.failed, len(trial.points)))
    for cond, desc, diag, expected, got in trial.points:
        if cond is False:
            print('#   %s: expected %s, got %s' % (desc, expected, got))
            if diag:
                tap.diag(str(diag)[-1500:])
    case(tap)


# --- running programs -------------------------------------------------------

def run(argv, timeout=RUN_TIMEOUT, **kw):
    """argv run to its end, its output captured as text.  returncode is
    None when it could not start or did not end in time (stderr says
    which), so that a hang or a missing program fails a check, not the
    driver."""
    opts = dict(stdin=subprocess.DEVNULL, capture_output=True, text=True,
                timeout=timeout)
    opts.update(kw)  # stdout to a file, say, with capture_output=False
    try:
        return subprocess.run(argv, **opts)
    except subprocess.TimeoutExpired:
        why = 'timed out after %.0f s' % timeout
    except OSError as e:
        why = str(e)
    return subprocess.CompletedProcess(argv, None, '', why)


def describe(cp):
    """A run for a failed check's diagnostic: its command line, how it
    ended, the end of its stderr and the start of its stdout."""
    if cp.returncode is None:
        how = 'did not run to its end'
    elif cp.returncode < 0:
        how = 'killed by signal %d' % -cp.returncode
    else:
        how = 'exit %d' % cp.returncode
        if os.path.basename(cp.args[0]) == 'pmpeek':
            how += ' (%s)' % EXIT_NAMES.get(cp.returncode, '?')
    return '%s: %s\nstderr: %s\nstdout: %s' % (
        ' '.join(cp.args), how, cp.stderr.strip()[-2000:], cp.stdout[:1500])


def one_line(cp, status, pattern):
    """Whether cp ended with status and printed one line on stderr, which
    pattern matches (re.search): how pmpeek reports every error."""
    lines = cp.stderr.strip().splitlines()
    return (cp.returncode == status and len(lines) == 1 and
            re.search(pattern, lines[0]) is not None)


def skip_if_denied(cp):
    """SkipAll when pmpeek could not attach to a live target for want of
    ptrace rights: then nothing of the driver can run here."""
    if cp.returncode == EXIT_PERM:
        raise SkipAll('pmpeek cannot attach (exit 4, permission denied); '
                      'needs ptrace rights (root, CAP_SYS_PTRACE or '
                      'kernel.yama.ptrace_scope <= 1)\n' + cp.stderr.strip())


def parse_json(tap, text, desc):
    """The JSON document text holds, or None after `not ok - desc`."""
    try:
        return json.loads(text)
    except ValueError as e:
        tap.check(False, desc,
                  diag='%s\nstdout starts: %r' % (e, text[:300]))
        return None


def taken_ms(text):
    """A document's taken_at in milliseconds since the epoch, or None."""
    try:
        when = datetime.datetime.strptime(text, '%Y-%m-%dT%H:%M:%S.%fZ')
    except (TypeError, ValueError):
        return None
    when = when.replace(tzinfo=datetime.timezone.utc)
    return round(when.timestamp() * 1000)


def kinds_of(doc):
    """A snapshot's kinds: name -> (count, size); a document without them
    has none, and the checks that compare kinds then fail, not the script."""
    kinds = doc.get('kinds') if isinstance(doc, dict) else None
    return dict((k.get('kind'), (k.get('count'), k.get('size')))
                for k in (kinds if isinstance(kinds, list) else [])
                if isinstance(k, dict))


def gcore(pid, prefix):
    """gdb's core of the live pid, written as PREFIX.PID: (its path, None
    when none was written; the gcore run)."""
    cp = run(['gcore', '-o', prefix, str(pid)])
    path = '%s.%d' % (prefix, pid)
    return (path if cp.returncode == 0 and os.path.isfile(path)
            else None), cp


def kernel_core_glob(workdir, pid):
    """Where the kernel will write the core of pid started in workdir, as a
    glob, or (None, why) when core_pattern does not give a file."""
    try:
        with open('/proc/sys/kernel/core_pattern') as f:
            pattern = f.read().strip()
    except OSError as e:
        return None, 'cannot read core_pattern: %s' % e
    if not pattern or pattern.startswith('|'):
        return None, ('core_pattern pipes cores to %r; not changing it'
                      % pattern)
    try:
        with open('/proc/sys/kernel/core_uses_pid') as f:
            uses_pid = f.read().strip() == '1'
    except OSError:
        uses_pid = False
    out, i = '', 0
    while i < len(pattern):
        c = pattern[i]
        if c == '%' and i + 1 < len(pattern):
            spec = pattern[i + 1]
            out += '%' if spec == '%' else str(pid) if spec == 'p' else '*'
            i += 2
            continue
        out += glob.escape(c)
        i += 1
    if uses_pid and '%p' not in pattern:
        out += '.%d' % pid
    if not out.startswith('/'):
        out = os.path.join(glob.escape(workdir), out)
    return out, None


def abort_for_core(proc, workdir, timeout=60.0):
    """SIGABRT to proc (a Popen started in workdir), reaped here to see
    WCOREDUMP: (the core's path or None, the wait status or None when it
    did not die in time, why there is no core).  Also None for the status,
    and a why, when core_pattern gives no file (then proc is left alone)."""
    where, why = kernel_core_glob(workdir, proc.pid)
    if where is None:
        return None, None, why
    start = time.time() - 1
    os.kill(proc.pid, signal.SIGABRT)
    status, deadline = None, time.monotonic() + timeout
    while status is None and time.monotonic() < deadline:
        pid, st = os.waitpid(proc.pid, os.WNOHANG)
        if pid == proc.pid:
            # Popen must not wait for it again.
            status, proc.returncode = st, -signal.SIGABRT
        else:
            time.sleep(0.05)
    if status is None:
        return None, None, None
    if not os.WCOREDUMP(status):
        return None, status, 'the kernel wrote no core (pattern %s)' % where
    found = [p for p in glob.glob(where)
             if os.path.isfile(p) and os.path.getmtime(p) >= start]
    if not found:
        return None, status, ('the kernel reported a core, but none matches '
                              '%s' % where)
    return max(found, key=os.path.getmtime), status, None


def write(path, data):
    with open(path, 'wb' if isinstance(data, bytes) else 'w') as f:
        f.write(data)
    return path


def read_text(path, limit=4000):
    """The end of a file, '' when it cannot be read."""
    try:
        with open(path, 'rb') as f:
            text = f.read().decode('utf-8', 'replace')
    except OSError:
        return ''
    return text if len(text) <= limit else '...' + text[-limit:]


# --- targets ----------------------------------------------------------------

def child_setup():
    """Runs in a target between fork and exec: it dies with the driver, so
    that a killed test (meson's timeout) never leaves a target behind, and
    pmpeek, its sibling rather than its ancestor, may attach to it under
    Yama ptrace_scope=1."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
        libc.prctl(0x59616d61, ctypes.c_ulong(-1), 0, 0, 0)  # PR_SET_PTRACER
    except Exception:
        pass


def stop(proc):
    """Kills proc if it still runs (SIGKILL also ends a stopped process)
    and reaps it."""
    if proc.poll() is None:
        try:
            proc.kill()
        except OSError:
            pass
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass


class Fixture(object):
    """`python -S fixtures/SCRIPT [OPTIONS] FIFO OUT`, run in workdir (where
    a kernel core would go): the script builds its state, writes to OUT
    what the driver checks against, says "ready" on FIFO and sleeps.  Its
    stdout and stderr go to a file, for the diagnostics."""

    def __init__(self, python, workdir, script, out, options=(),
                 preexec_fn=child_setup, env=None):
        self.workdir = workdir
        self.env = env
        self.argv = [python, '-S', str(FIXTURES / script)] + list(options)
        self.fifo = os.path.join(workdir, 'ready.fifo')
        self.out_path = os.path.join(workdir, out)
        self.err_path = os.path.join(workdir, 'fixture.stderr')
        self.preexec_fn = preexec_fn
        self.proc = None
        self.truth = None

    @property
    def pid(self):
        return self.proc.pid

    def start(self, truth=True):
        """Starts it and waits for "ready": None, else why it is not ready
        (with the fixture's stderr).  With truth, OUT is JSON and loaded into
        self.truth."""
        os.mkfifo(self.fifo)
        # The read end first (non-blocking), so that the fixture's blocking
        # open for writing succeeds as soon as it gets there.
        rfd = os.open(self.fifo, os.O_RDONLY | os.O_NONBLOCK)
        try:
            with open(self.err_path, 'wb') as err:
                self.proc = subprocess.Popen(
                    self.argv + [self.fifo, self.out_path], cwd=self.workdir,
                    stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                    preexec_fn=self.preexec_fn, start_new_session=True,
                    env=self.env)
            why = wait_ready(rfd, self.proc, READY_TIMEOUT)
        finally:
            os.close(rfd)
        if why is None and truth:
            try:
                with open(self.out_path) as f:
                    self.truth = json.load(f)
            except (OSError, ValueError) as e:
                why = 'cannot read truth %s: %s' % (self.out_path, e)
        if why is None:
            return None
        return '%s\nfixture stderr:\n%s' % (why, self.stderr_text())


    def start_asleep(self, tap, truth=True):
        """start(), then waits until the fixture sleeps for good, past its
        last allocation: every thread in a sleeping system call (a report
        it wrote must be what pmpeek sees: stopped in the few instructions
        after "ready", it may be in the middle of a free and the next
        allocation).  Only for fixtures whose threads all end so (not
        markers.py's holder thread, which waits on a lock).  True, or
        False after a failed check on tap."""
        why = self.start(truth)
        if not tap.check(why is None, 'fixture ready', why):
            return False
        asleep = wait_asleep(self.pid, 10.0)
        return tap.check(asleep is True, 'fixture asleep after its last '
                         'allocation', got=asleep)

    def stderr_text(self):
        return read_text(self.err_path)

    def kill(self):
        if self.proc is not None:
            stop(self.proc)


def sleeper(code=''):
    """A program for `python -S -c`: code, then "ready" on stdout, then
    sleep until killed."""
    return ('import sys, time\n' + code + 'sys.stdout.write("ready\\n")\n'
            'sys.stdout.flush()\nwhile True:\n    time.sleep(1)\n')


def start_code(python, program):
    """`python -S -c program`, returned once program has printed "ready"."""
    proc = subprocess.Popen([python, '-S', '-c', program],
                            stdout=subprocess.PIPE, text=True)
    if proc.stdout.readline().strip() != 'ready':
        stop(proc)
        raise RuntimeError('%s did not start' % python)
    return proc


def proc_state(pid):
    """The state letter of /proc/PID/stat (R, S, T, t, Z...), None once pid
    is gone."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0]
    except OSError:
        return None


def proc_status(pid, key):
    """The value of a /proc/PID/status line (its first word), or None."""
    try:
        with open('/proc/%d/status' % pid) as f:
            for line in f:
                if line.startswith(key + ':'):
                    return line.split()[1]
    except OSError:
        pass
    return None


def tracer(pid):
    """The pid of pid's tracer, 0 for none, None once pid is gone."""
    value = proc_status(pid, 'TracerPid')
    return None if value is None else int(value)


def wait_state(pid, want, timeout):
    """Polls until pid's state is one of want, for at most timeout seconds;
    returns the last state seen."""
    deadline = time.monotonic() + timeout
    while True:
        st = proc_state(pid)
        if st in want or time.monotonic() >= deadline:
            return st
        time.sleep(0.02)


# x86-64 system calls a Python process sleeps in (time.sleep: pselect6 up
# to 3.10, clock_nanosleep from 3.11; the others for older libcs).
SLEEP_SYSCALLS = {7: 'poll', 23: 'select', 35: 'nanosleep',
                  230: 'clock_nanosleep', 270: 'pselect6'}


def wait_asleep(pid, timeout):
    """Polls until every thread of pid sits in a sleeping system call (its
    code after "ready" has run to the end: a thread waiting for the GIL,
    in futex, has not), for at most timeout seconds: True, or what a
    thread's /proc/PID/task/TID/syscall last said.  True at once on
    another machine than x86-64, whose numbers differ."""
    if os.uname().machine != 'x86_64':
        return True
    deadline = time.monotonic() + timeout
    while True:
        awake = None
        try:
            tids = os.listdir('/proc/%d/task' % pid)
        except OSError as e:
            tids, awake = [], str(e)
        for tid in tids:
            try:
                with open('/proc/%d/task/%s/syscall' % (pid, tid)) as f:
                    text = f.read().strip()
            except OSError as e:
                text = str(e)
            first = text.split(' ', 1)[0]
            if not (first.isdigit() and int(first) in SLEEP_SYSCALLS):
                awake = 'thread %s: %s' % (tid, text or 'nothing')
                break
        if awake is None:
            return True
        if time.monotonic() >= deadline:
            return awake
        time.sleep(0.01)


def held_threads(pid, want=RUNNING, tracer_ok=0):
    """The threads of pid that are traced by another than tracer_ok, or in a
    state not in want, as (tid, state, tracer); [] when pid is gone; those
    ending (Z, X) are left out.  pmpeek stops and lets go every thread, not
    only the main one."""
    try:
        tids = sorted(int(t) for t in os.listdir('/proc/%d/task' % pid))
    except OSError:
        return []
    held = []
    for tid in tids:
        path = '/proc/%d/task/%d/' % (pid, tid)
        try:
            with open(path + 'stat') as f:
                state = f.read().rsplit(')', 1)[1].split()[0]
            with open(path + 'status') as f:
                who = [int(line.split()[1]) for line in f
                       if line.startswith('TracerPid:')][0]
        except (OSError, IndexError):
            continue  # a thread that ended meanwhile
        if state in ('Z', 'X'):
            continue  # one that is ending
        if state not in want or who != tracer_ok:
            held.append((tid, state, who))
    return held


def running_untraced(pid, timeout=5.0):
    """True once pid and every thread of it run (none stopped) and nobody
    traces any of them."""
    deadline = time.monotonic() + timeout
    while True:
        # held_threads() looks at the main thread too, once pid exists.
        if proc_state(pid) in RUNNING and not held_threads(pid):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)


# --- sys._debugmallocstats() reports ----------------------------------------

STATS_ROW_RE = re.compile(r'^\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)$')
STATS_ONE_RE = re.compile(r'^(.*?)\s*=\s*([\d,]+|unknown)$')
STATS_ARENAS_RE = re.compile(r'^(\d+) arenas \* (\d+) bytes/arena$')
STATS_POOLS_RE = re.compile(r'^(\d+) unused pools \* (\d+) bytes$')

# printone() label -> JSON key.
STATS_LABELS = {
    '# arenas allocated total': 'arenas_allocated_total',
    '# arenas reclaimed': 'arenas_reclaimed',
    '# arenas highwater mark': 'arenas_highwater',
    '# arenas allocated current': 'arenas_allocated_current',
    '# bytes in allocated blocks': 'bytes_in_allocated_blocks',
    '# bytes in available blocks': 'bytes_in_available_blocks',
    '# bytes lost to pool headers': 'bytes_lost_to_pool_headers',
    '# bytes lost to quantization': 'bytes_lost_to_quantization',
    '# bytes lost to arena alignment': 'bytes_lost_to_arena_alignment',
    'Total': 'total',
}


def parse_stats(text):
    """The pymalloc section of a _debugmallocstats() report: (lines, rows,
    figures).  lines runs from "Small block threshold" to the first
    "Total"; rows maps class index -> (size, pools, in use, available);
    figures maps JSON keys -> values, arena_size and pool_size included."""
    lines = text.splitlines()
    try:
        start = next(i for i, l in enumerate(lines)
                     if l.startswith('Small block threshold'))
        end = next(i for i, l in enumerate(lines)
                   if i > start and l.startswith('Total'))
    except StopIteration:
        return None, None, None
    section = lines[start:end + 1]
    rows = {}
    figures = {}
    for line in section:
        m = STATS_ROW_RE.match(line)
        if m:
            g = [int(x) for x in m.groups()]
            rows[g[0]] = tuple(g[1:])
            continue
        m = STATS_ONE_RE.match(line)
        if not m:
            continue
        label, value = m.group(1), m.group(2)
        value = None if value == 'unknown' else int(value.replace(',', ''))
        if label in STATS_LABELS:
            figures[STATS_LABELS[label]] = value
        elif STATS_ARENAS_RE.match(label):
            figures['arena_size'] = int(STATS_ARENAS_RE.match(label).group(2))
        elif STATS_POOLS_RE.match(label):
            pm = STATS_POOLS_RE.match(label)
            figures['unused_pools'] = int(pm.group(1))
            figures['pool_size'] = int(pm.group(2))
            figures['bytes_in_unused_pools'] = value
    return section, rows, figures


def state_rows(state):
    """The size classes of an allocator state of pmpeek's JSON (the
    "allocator" object, or one of its other_states) as parse_stats()'s
    rows: index -> (size, pools, in use, available)."""
    classes = state.get('size_classes') if isinstance(state, dict) else None
    return dict((c.get('index'), (c.get('size'), c.get('pools'),
                                  c.get('blocks_in_use'),
                                  c.get('blocks_available')))
                for c in (classes if isinstance(classes, list) else [])
                if isinstance(c, dict))


# --- the drivers' loop ------------------------------------------------------

def probe_python(python):
    """(executable, 'X.Y.Z') of a working interpreter, or (None, why).
    Weeds out e.g. pyenv shims for versions that are not selected."""
    code = ('import sys; sys.stdout.write("%s\\n%d.%d.%d\\n" % '
            '((sys.executable,) + tuple(sys.version_info[:3])))')
    cp = run([python, '-S', '-c', code], timeout=60)
    lines = cp.stdout.splitlines()
    if cp.returncode != 0 or len(lines) != 2:
        why = cp.stderr.strip().splitlines()
        return None, 'exit %s: %s' % (cp.returncode, why[0] if why else '')
    exe = lines[0] if lines[0] and os.access(lines[0], os.X_OK) else python
    return exe, lines[1]


def start_driver(pmpeek, python=None):
    """A driver's first steps: SIGTERM (meson's timeout) exits through the
    finally blocks that kill the targets.  Returns the status to exit with
    at once: 1 when pmpeek is not there ("Bail out!"), 77 when the one
    interpreter python is not; None to go on."""
    signal.signal(signal.SIGTERM, lambda s, f: sys.exit(128 + s))
    if not (os.path.isfile(pmpeek) and os.access(pmpeek, os.X_OK)):
        print('Bail out! pmpeek not found or not executable: %s' % pmpeek)
        return 1
    if python is not None and not os.access(python, os.X_OK):
        print('# skip: %s not found' % python)
        return SKIP
    return None


def driver_parser(doc):
    """The options of a driver over interpreters (pythons.py passes
    --python), before its own."""
    ap = argparse.ArgumentParser(description=doc.split('\n\n')[0])
    ap.add_argument('--pmpeek', required=True, help='pmpeek executable')
    ap.add_argument('--python', action='append', default=[],
                    help='target interpreter (repeatable; none: skip)')
    ap.add_argument('--label', default='', help='prefix for test names')
    return ap


def prefix(*words):
    """The prefix of test names, e.g. '[pyenv-3.12 /usr/bin/python3 live] '
    (empty words left out)."""
    return '[%s] ' % ' '.join(w for w in words if w)


def for_pythons(tap, pythons, each, probe=True):
    """A driver's main loop: each(python, version) for every interpreter of
    pythons that runs here (version 'X.Y.Z', or None without probe), a skip
    for the others, then the summary.  Returns the exit status: 1 on any
    failure, else 77 when none ran or pmpeek may not attach (SkipAll),
    else 0."""
    ran = 0
    try:
        for python in pythons:
            tap.prefix = ''
            if not (os.path.isfile(python) and os.access(python, os.X_OK)):
                tap.skip('%s not found' % python)
                continue
            version = None
            if probe:
                exe, version = probe_python(python)
                if exe is None:
                    tap.skip('%s not usable (%s)' % (python, version))
                    continue
                # The target starts through the given path: it may be a
                # wrapper (pythons.py --stripped sets LD_LIBRARY_PATH in one).
                if exe != python:
                    print('# %s runs %s (python %s)' % (python, exe, version))
            ran += 1
            each(python, version)
    except SkipAll as e:
        tap.prefix = ''
        for line in str(e).splitlines():
            print('# skip: ' + line if line else '#')
        tap.skipped += 1
        tap.summary()
        return 1 if tap.failed else SKIP
    if ran == 0:
        print('# skip: none of the requested pythons is installed'
              if pythons else '# skip: no --python given')
    status = tap.done()
    return SKIP if ran == 0 and status == 0 else status
