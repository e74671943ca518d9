#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Integration test: pmpeek's census of fixtures/markers.py is exact.

Usage:
  test-markers.py --pmpeek PATH --python PYTHON [--python PYTHON ...]
                  [--label NAME] [--live] [--stopped-target] [--no-pause]
                  [--whole-heap]

For each PYTHON, start the markers fixture (FIFO-synced, `-S`), read the
truth it computed in the target (its own census of the whole heap: see
fixtures/markers.py), run `pmpeek --json` and `pmpeek --all` against it and
check every marker kind's count and size are exactly equal to the truth
(tracked and untracked markers, objects only a sleeping thread's locals
hold, "dict of" kinds), plus the structure of both outputs and that pmpeek
leaves the target in the run state it found it in.  In the live scenario
`pmpeek --by type` must also count the same objects, every dict as "dict".

--whole-heap (live scenario): every kind with over 100 objects must be
within 1 % (count and size) of the fixture's census.  That census sees what
Python code can reach, so it is compared with pmpeek's census without the
allocator's blocks (PMPEEK_NO_BLOCKS=1); the full census may add objects
that only C state holds (the interned-strings dict, say), which is checked
to stay small and is reported.

Scenarios (default: --live only; give several flags to run several):
  --live            target running (sleeping) while pmpeek attaches
  --stopped-target  target SIGSTOPped first; it must still be stopped after
  --no-pause        pmpeek --no-pause (target idle, so still exact)

Output: `ok N - desc` / `not ok N - desc` lines with `#` diagnostics and a
final `N passed, N failed[, N skipped]` line. Exit 0 if everything passed,
1 on any failure, 77 (skip) if no python was found or ptrace is denied.
"""

import argparse
import json
import os
import re
import select
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[2] / 'fixtures'
MARKERS = FIXTURES / 'markers.py'

READY_TIMEOUT = 60.0
PMPEEK_TIMEOUT = 120.0

EXIT_SKIP = 77
PM_EXIT_PERM = 4
PM_EXIT_NAMES = {
    0: 'ok', 1: 'partial', 2: 'usage', 3: 'no such process',
    4: 'permission denied', 5: 'not a Python process',
    6: 'unsupported Python version', 7: 'target exited during the walk',
    8: 'target memory inconsistent/unreadable', 9: 'other',
    130: 'interrupted',
}

HEADER_RE = re.compile(
    r'^Partition of a set of (\d+) objects\. Total size = (\d+) bytes\.$')
COLUMNS_RE = re.compile(
    r'^\s*Index\s+Count\s+%\s+Size\s+%\s+Cumulative\s+%\s+Kind\b')
ROW_RE = re.compile(
    r'^\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s(.*)$')
MORE_RE = re.compile(r'^<\d+ more rows?\b.*>$')


class SkipAll(Exception):
    """The environment cannot run this test at all (exit 77)."""


class Tap(object):
    def __init__(self, prefix):
        self.prefix = prefix
        self.n = 0
        self.passed = 0
        self.failed = 0
        self.skipped = 0

    def check(self, cond, desc, expected=None, got=None, diag=None):
        self.n += 1
        desc = self.prefix + desc
        if cond:
            self.passed += 1
            print('ok %d - %s' % (self.n, desc))
        else:
            self.failed += 1
            print('not ok %d - %s' % (self.n, desc))
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
        self.skipped += 1
        print('# skip: %s' % desc)
        sys.stdout.flush()

    @staticmethod
    def diag(text):
        for line in str(text).rstrip('\n').splitlines() or ['']:
            print('#   ' + line)
        sys.stdout.flush()

    def summary(self):
        line = '%d passed, %d failed' % (self.passed, self.failed)
        if self.skipped:
            line += ', %d skipped' % self.skipped
        print(line)
        sys.stdout.flush()


def probe_python(python):
    """(executable, 'X.Y.Z') of a working interpreter, or (None, why).
    Weeds out e.g. pyenv shims for versions that are not selected."""
    code = ('import sys; sys.stdout.write("%s\\n%d.%d.%d\\n" % '
            '((sys.executable,) + tuple(sys.version_info[:3])))')
    try:
        cp = subprocess.run([python, '-S', '-c', code],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, str(e)
    lines = cp.stdout.decode('utf-8', 'replace').splitlines()
    if cp.returncode != 0 or len(lines) != 2:
        why = cp.stderr.decode('utf-8', 'replace').strip().splitlines()
        return None, 'exit %d: %s' % (cp.returncode, why[0] if why else '')
    exe = lines[0] if lines[0] and os.access(lines[0], os.X_OK) else python
    return exe, lines[1]


# --- target process helpers ------------------------------------------------

def _child_setup():
    """Runs in the fixture between fork and exec: die with the driver, so
    a killed test (meson timeout) never leaves a sleeping target behind."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except Exception:
        pass


def proc_state(pid):
    """Single-letter state from /proc/PID/stat, or None if gone."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            data = f.read()
    except OSError:
        return None
    return data[data.rindex(')') + 2:].split()[0]


def wait_state(pid, pred, timeout):
    """Poll until pred(state) holds; returns the last state seen."""
    deadline = time.monotonic() + timeout
    while True:
        st = proc_state(pid)
        if pred(st) or time.monotonic() >= deadline:
            return st
        time.sleep(0.05)


def stays_state(pid, pred, duration):
    """True if pred(state) holds throughout `duration` seconds."""
    deadline = time.monotonic() + duration
    while True:
        st = proc_state(pid)
        if not pred(st):
            return False, st
        if time.monotonic() >= deadline:
            return True, st
        time.sleep(0.05)


def read_file(path, limit=4000):
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except OSError:
        return ''
    text = data.decode('utf-8', 'replace')
    return text if len(text) <= limit else '...' + text[-limit:]


class Target(object):
    """The markers fixture running under one python, synced via a FIFO."""

    def __init__(self, python, workdir):
        self.python = python
        self.workdir = workdir
        self.fifo = os.path.join(workdir, 'ready.fifo')
        self.truth_path = os.path.join(workdir, 'truth.json')
        self.err_path = os.path.join(workdir, 'fixture.stderr')
        self.proc = None
        self.truth = None
        self.rfd = None

    @property
    def pid(self):
        return self.proc.pid

    def start(self):
        os.mkfifo(self.fifo)
        # Open the read end first (non-blocking) so the fixture's blocking
        # open for writing succeeds as soon as it gets there.
        self.rfd = os.open(self.fifo, os.O_RDONLY | os.O_NONBLOCK)
        with open(self.err_path, 'wb') as err:
            self.proc = subprocess.Popen(
                [self.python, '-S', str(MARKERS), self.fifo, self.truth_path],
                stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                preexec_fn=_child_setup, start_new_session=True)

    def wait_ready(self, timeout=READY_TIMEOUT):
        """Returns None when ready, else an error message."""
        deadline = time.monotonic() + timeout
        buf = b''
        try:
            while b'ready' not in buf:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return 'no "ready" on the FIFO within %.0f s' % timeout
                r, _, _ = select.select([self.rfd], [], [],
                                        min(0.2, remaining))
                if r:
                    try:
                        chunk = os.read(self.rfd, 256)
                    except BlockingIOError:
                        chunk = None
                    if chunk:
                        buf += chunk
                        continue
                    if chunk == b'':
                        # A writer came and went without "ready"; don't spin.
                        time.sleep(0.1)
                rc = self.proc.poll()
                if rc is not None:
                    return 'fixture exited with status %d before ready' % rc
        finally:
            os.close(self.rfd)
            self.rfd = None
        try:
            with open(self.truth_path) as f:
                self.truth = json.load(f)
        except (OSError, ValueError) as e:
            return 'cannot read truth %s: %s' % (self.truth_path, e)
        return None

    def stderr_text(self):
        return read_file(self.err_path)

    def kill(self):
        if self.rfd is not None:
            os.close(self.rfd)
            self.rfd = None
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            self.proc.kill()  # SIGKILL also ends a stopped process
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass


# --- pmpeek ----------------------------------------------------------------

class Run(object):
    def __init__(self, argv, rc, out, err, elapsed, timed_out=False):
        self.argv = argv
        self.rc = rc
        self.out = out
        self.err = err
        self.elapsed = elapsed
        self.timed_out = timed_out

    def describe(self):
        if self.timed_out:
            what = 'timed out after %.0f s' % self.elapsed
        elif self.rc < 0:
            what = 'killed by signal %d' % -self.rc
        else:
            what = 'exit %d (%s)' % (self.rc, PM_EXIT_NAMES.get(self.rc, '?'))
        text = '%s: %s' % (' '.join(self.argv), what)
        if self.err.strip():
            text += '\nstderr:\n' + self.err[-3000:]
        return text


def run_pmpeek(pmpeek, args, timeout=PMPEEK_TIMEOUT, env=None):
    argv = [pmpeek] + args
    t0 = time.monotonic()
    try:
        cp = subprocess.run(argv, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            timeout=timeout, env=env)
    except subprocess.TimeoutExpired as e:
        return Run(argv, None, (e.stdout or b'').decode('utf-8', 'replace'),
                   (e.stderr or b'').decode('utf-8', 'replace'),
                   time.monotonic() - t0, timed_out=True)
    return Run(argv, cp.returncode, cp.stdout.decode('utf-8', 'replace'),
               cp.stderr.decode('utf-8', 'replace'), time.monotonic() - t0)


def check_exit(tap, run, what):
    """ok/not ok for a pmpeek run's exit status; SkipAll on EPERM."""
    if not run.timed_out and run.rc == PM_EXIT_PERM:
        raise SkipAll('pmpeek cannot attach (exit 4, permission denied); '
                      'needs ptrace rights (root, CAP_SYS_PTRACE or '
                      'kernel.yama.ptrace_scope <= 1)\n' + run.err.strip())
    return tap.check(not run.timed_out and run.rc == 0,
                     '%s: pmpeek exits 0' % what, diag=run.describe())


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def check_json(tap, run, target):
    """Checks the --json document; returns it (or None if unusable)."""
    truth = target.truth
    what = 'json'
    try:
        doc = json.loads(run.out)
    except ValueError as e:
        tap.check(False, '%s: stdout is one JSON document' % what,
                  diag='%s\nstdout starts: %r' % (e, run.out[:300]))
        return None
    tap.check(isinstance(doc, dict), '%s: stdout is one JSON document' % what,
              got=type(doc).__name__)
    if not isinstance(doc, dict):
        return None

    tap.equal(doc.get('format'), 'pmpeek-snapshot', '%s: format' % what)
    tap.equal(doc.get('scope'), 'all', '%s: scope' % what)
    tap.equal(doc.get('format_version'), 1, '%s: format_version' % what)

    src = doc.get('source')
    if not tap.check(isinstance(src, dict), '%s: source is an object' % what,
                     got=src):
        src = {}
    tap.equal(src.get('kind'), 'live', '%s: source.kind' % what)
    tap.equal(src.get('pid'), target.pid, '%s: source.pid' % what)
    tap.equal(src.get('python_version'), truth['version_string'],
              '%s: source.python_version is the target\'s X.Y.Z' % what)
    exe = src.get('executable')
    try:
        want_exe = os.path.realpath(os.readlink('/proc/%d/exe' % target.pid))
    except OSError:
        want_exe = os.path.realpath(truth['executable'])
    tap.check(isinstance(exe, str) and os.path.realpath(exe) == want_exe,
              '%s: source.executable is the target\'s binary' % what,
              expected=want_exe, got=exe)
    tap.check(isinstance(doc.get('taken_at'), str) and doc['taken_at'],
              '%s: taken_at is a string' % what, got=doc.get('taken_at'))
    ps = doc.get('pause_seconds')
    tap.check(ps is None or (isinstance(ps, (int, float))
                             and not isinstance(ps, bool) and ps >= 0),
              '%s: pause_seconds is null or a number >= 0' % what, got=ps)

    kinds = doc.get('kinds')
    good = (isinstance(kinds, list) and all(
        isinstance(k, dict) and isinstance(k.get('kind'), str)
        and _is_int(k.get('count')) and _is_int(k.get('size'))
        for k in kinds))
    if not tap.check(good, '%s: kinds is a list of {kind, count, size}'
                     % what, got=repr(kinds)[:300]):
        return None
    names = [k['kind'] for k in kinds]
    dups = sorted(set(n for n in names if names.count(n) > 1))
    tap.check(not dups, '%s: kind names are unique' % what, got=dups)
    sizes = [k['size'] for k in kinds]
    unsorted = [(kinds[i]['kind'], sizes[i], kinds[i + 1]['kind'],
                 sizes[i + 1])
                for i in range(len(sizes) - 1) if sizes[i] < sizes[i + 1]]
    tap.check(not unsorted, '%s: kinds sorted by size, descending' % what,
              got=unsorted[:5])
    tap.check(all(k['count'] > 0 and k['size'] > 0 for k in kinds),
              '%s: every kind has count > 0 and size > 0' % what,
              got=[k for k in kinds if k['count'] <= 0 or k['size'] <= 0][:5])

    objs = doc.get('objects')
    if not isinstance(objs, dict):
        objs = {}
    tap.equal(objs.get('count'), sum(k['count'] for k in kinds),
              '%s: objects.count == sum of kinds[].count' % what)
    tap.equal(objs.get('size'), sum(k['size'] for k in kinds),
              '%s: objects.size == sum of kinds[].size' % what)
    tap.check(all(_is_int(k.get('unreachable_count'))
                  and _is_int(k.get('unreachable_size'))
                  and 0 <= k['unreachable_count'] <= k['count']
                  and 0 <= k['unreachable_size'] <= k['size'] for k in kinds),
              '%s: every kind has unreachable_count <= count and '
              'unreachable_size <= size' % what,
              got=[k for k in kinds if not (
                  _is_int(k.get('unreachable_count'))
                  and _is_int(k.get('unreachable_size')))][:3])
    tap.equal(objs.get('unreachable_count'),
              sum(k.get('unreachable_count', 0) for k in kinds),
              '%s: objects.unreachable_count == sum of kinds[]' % what)

    by_name = dict((k['kind'], k) for k in kinds)
    for name in sorted(truth['markers']):
        want = truth['markers'][name]
        got = by_name.get(name)
        if got is None:
            tap.check(False, '%s: %s present' % (what, name),
                      expected=want, got='missing')
            continue
        tap.equal(got['count'], want['count'], '%s: %s count' % (what, name))
        tap.equal(got['size'], want['size'], '%s: %s size' % (what, name))
        # Cyclic garbage (PmCycle) is all unreachable, the rest none of it.
        unreach = truth.get('unreachable', {}).get(name)
        if unreach is not None and what == 'json':
            tap.equal(got.get('unreachable_count'), unreach,
                      '%s: %s unreachable_count' % (what, name))
            tap.equal(got.get('unreachable_size'),
                      want['size'] if unreach else 0,
                      '%s: %s unreachable_size' % (what, name))

    gc_objs = truth.get('gc_objects', {})
    tap.diag('info: pmpeek saw %s objects / %s bytes; the fixture\'s own '
             'census saw %s / %s'
             % (objs.get('count'), objs.get('size'), gc_objs.get('count'),
                gc_objs.get('size')))
    diff_kinds(by_name, truth.get('all_kinds') or {})
    return doc


def diff_kinds(by_name, all_kinds, limit=8):
    """Informational: the kinds whose counts differ most between pmpeek and
    the fixture's own census (which cannot see what only C state holds, and
    ran a little before the fixture finished writing its truth)."""
    rows = []
    for name in set(by_name) | set(all_kinds):
        got = by_name.get(name) or {'count': 0, 'size': 0}
        want = all_kinds.get(name) or {'count': 0, 'size': 0}
        dc = got['count'] - want['count']
        if dc or got['size'] != want['size']:
            rows.append((abs(dc), name, dc, got['size'] - want['size']))
    rows.sort(key=lambda r: (-r[0], r[1]))
    for _, name, dc, ds in rows[:limit]:
        Tap.diag('info:   %-40s count %+6d  size %+9d (pmpeek - gc)'
                 % (name, dc, ds))
    if len(rows) > limit:
        Tap.diag('info:   ... %d more kinds differ' % (len(rows) - limit))


def parse_table(text):
    """Returns (header (count, size) or None, rows, more_line, bad_lines).
    rows are dicts: index, count, pct, size, spct, cum, cpct, kind."""
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    header = None
    rows = []
    more = None
    bad = []
    i = 0
    if lines:
        m = HEADER_RE.match(lines[0])
        if m:
            header = (int(m.group(1)), int(m.group(2)))
            i = 1
    if i < len(lines) and COLUMNS_RE.match(lines[i]):
        i += 1
    else:
        bad.append('(no column header line)')
    for line in lines[i:]:
        m = ROW_RE.match(line)
        if m and more is None:
            g = [int(x) for x in m.groups()[:7]]
            rows.append(dict(index=g[0], count=g[1], pct=g[2], size=g[3],
                             spct=g[4], cum=g[5], cpct=g[6],
                             kind=m.group(8).rstrip()))
        elif MORE_RE.match(line.strip()) and more is None:
            more = line
        else:
            bad.append(line)
    return header, rows, more, bad


def _pct_ok(pct, part, whole):
    if whole <= 0:
        return True
    exact = 100.0 * part / whole
    return abs(pct - exact) <= 1.0


def check_table(tap, run, target, doc):
    truth = target.truth
    what = 'table'
    header, rows, more, bad = parse_table(run.out)
    if not tap.check(header is not None, '%s: "Partition of a set of ..." '
                     'header' % what, got=run.out.splitlines()[:1]):
        return
    tap.check(not bad, '%s: every line parses' % what, got=bad[:5])
    tap.check(more is None, '%s: --all prints no "<N more rows>" line'
              % what, got=more)
    hcount, hsize = header
    if doc is not None:
        objs = doc.get('objects') or {}
        tap.equal(hcount, objs.get('count'),
                  '%s: header object count == json objects.count' % what)
        tap.equal(hsize, objs.get('size'),
                  '%s: header total size == json objects.size' % what)
        tap.equal(len(rows), len(doc.get('kinds') or []),
                  '%s: --all row count == number of json kinds' % what)
    tap.equal([r['index'] for r in rows], list(range(len(rows))),
              '%s: Index column runs 0..N-1' % what)
    tap.equal(sum(r['count'] for r in rows), hcount,
              '%s: row counts sum to the header count' % what)
    tap.equal(sum(r['size'] for r in rows), hsize,
              '%s: row sizes sum to the header total' % what)
    cum = 0
    bad_cum = []
    bad_pct = []
    for r in rows:
        cum += r['size']
        if r['cum'] != cum:
            bad_cum.append((r['index'], r['cum'], cum))
        if not (_pct_ok(r['pct'], r['count'], hcount)
                and _pct_ok(r['spct'], r['size'], hsize)
                and _pct_ok(r['cpct'], r['cum'], hsize)):
            bad_pct.append((r['index'], r['pct'], r['spct'], r['cpct']))
    tap.check(not bad_cum, '%s: Cumulative is the running size total' % what,
              got='(index, printed, expected) %s' % bad_cum[:5])
    tap.check(not bad_pct, '%s: percentages within 1 of the exact value'
              % what, got='(index, %%, size %%, cum %%) %s' % bad_pct[:5])
    unsorted = [(rows[i]['kind'], rows[i]['size'], rows[i + 1]['kind'],
                 rows[i + 1]['size'])
                for i in range(len(rows) - 1)
                if rows[i]['size'] < rows[i + 1]['size']]
    tap.check(not unsorted, '%s: rows sorted by size, descending' % what,
              got=unsorted[:5])
    by_name = {}
    for r in rows:
        by_name.setdefault(r['kind'], r)
    for name in sorted(truth['markers']):
        want = truth['markers'][name]
        got = by_name.get(name)
        if got is None:
            tap.check(False, '%s: %s present' % (what, name),
                      expected=want, got='missing')
            continue
        tap.equal(got['count'], want['count'], '%s: %s count' % (what, name))
        tap.equal(got['size'], want['size'], '%s: %s size' % (what, name))
        # Cyclic garbage (PmCycle) is all unreachable, the rest none of it.
        unreach = truth.get('unreachable', {}).get(name)
        if unreach is not None and what == 'json':
            tap.equal(got.get('unreachable_count'), unreach,
                      '%s: %s unreachable_count' % (what, name))
            tap.equal(got.get('unreachable_size'),
                      want['size'] if unreach else 0,
                      '%s: %s unreachable_size' % (what, name))


def is_dict_kind(name):
    return name == 'dict (no owner)' or name.startswith('dict of ')


def check_by_type(tap, run, doc):
    """pmpeek --by type: the same objects, every exact dict as "dict"."""
    what = 'by type'
    try:
        typed = json.loads(run.out)
    except ValueError as e:
        tap.check(False, '%s: stdout is one JSON document' % what, diag=e)
        return
    kinds = dict((k['kind'], k) for k in typed.get('kinds') or [])
    tap.check(not [n for n in kinds if is_dict_kind(n)],
              '%s: no "dict of" or "dict (no owner)" kinds' % what,
              got=[n for n in kinds if is_dict_kind(n)][:5])
    if doc is None:
        return
    want = [0, 0]
    for k in doc.get('kinds') or []:
        if is_dict_kind(k['kind']) or k['kind'] == 'dict':
            want[0] += k['count']
            want[1] += k['size']
    got = kinds.get('dict') or {'count': 0, 'size': 0}
    tap.equal([got['count'], got['size']], want,
              '%s: "dict" is every dict kind of the default partition' % what)
    tap.equal(typed.get('objects'), doc.get('objects'),
              '%s: same objects in all' % what)


def kinds_of(doc):
    return dict((k['kind'], k) for k in (doc or {}).get('kinds') or [])


def compare_heap(got, truth, limit_pct=1.0, min_count=100):
    """Kinds with over min_count objects (in either) that differ by more
    than limit_pct in count or size: [(name, got, want, count %, size %)],
    and the worst difference seen."""
    bad = []
    worst = (0.0, None)
    for name in sorted(set(got) | set(truth)):
        g = got.get(name) or {'count': 0, 'size': 0}
        w = truth.get(name) or {'count': 0, 'size': 0}
        if max(g['count'], w['count']) <= min_count:
            continue
        cp = 100.0 * abs(g['count'] - w['count']) / max(w['count'], 1)
        sp = 100.0 * abs(g['size'] - w['size']) / max(w['size'], 1)
        if max(cp, sp) > worst[0]:
            worst = (max(cp, sp), name)
        if cp > limit_pct or sp > limit_pct:
            bad.append((name, (g['count'], g['size']), (w['count'], w['size']),
                        round(cp, 2), round(sp, 2)))
    return bad, worst


def check_whole_heap(tap, args, target, doc):
    """--whole-heap: pmpeek's census against the fixture's in-process one."""
    truth = target.truth.get('census') or {}
    if not tap.check(truth, 'whole heap: the fixture wrote its census'):
        return
    env = dict(os.environ, PMPEEK_NO_BLOCKS='1')
    run = run_pmpeek(args.pmpeek, ['--json', str(target.pid)], env=env)
    if not check_exit(tap, run, 'whole heap without blocks'):
        return
    try:
        nb = json.loads(run.out)
    except ValueError as e:
        tap.check(False, 'whole heap: PMPEEK_NO_BLOCKS=1 output is JSON',
                  diag=e)
        return
    bad, worst = compare_heap(kinds_of(nb), truth)
    tap.check(not bad, 'whole heap: every kind of over 100 objects within '
              '1 % of the fixture\'s census (count and size)',
              got='(kind, pmpeek, fixture, count %%, size %%) %s' % bad[:8])
    tap.diag('info: worst kind of over 100 objects: %s, %.2f %%'
             % (worst[1], worst[0]))
    if doc is None:
        return
    full = doc.get('objects') or {}
    part = nb.get('objects') or {}
    tap.check(full.get('count', 0) >= part.get('count', 0),
              'whole heap: the allocator\'s blocks only add objects',
              expected='>= %s' % part.get('count'), got=full.get('count'))
    extra = full.get('count', 0) - part.get('count', 0)
    tap.check(extra <= 0.02 * max(part.get('count', 0), 1),
              'whole heap: objects only the blocks hold are under 2 %',
              got='%d of %d' % (extra, part.get('count', 0)))
    bad, worst = compare_heap(kinds_of(doc), truth)
    tap.diag('info: the full census adds %d objects, %d bytes held only by '
             'C state; against the fixture its worst kind of over 100 '
             'objects is %s, %.2f %%'
             % (extra, full.get('size', 0) - part.get('size', 0), worst[1],
                worst[0]))


# --- scenarios -------------------------------------------------------------

def not_stopped(st):
    return st is not None and st not in ('T', 't')


def check_running(tap, target, when):
    st = wait_state(target.pid, not_stopped, 2.0)
    tap.check(st not in ('T', 't'), 'target not left stopped %s' % when,
              expected='not T/t', got=st)
    tap.check(target.proc.poll() is None and st not in (None, 'Z', 'X'),
              'target still alive %s' % when,
              got='state %s, exit status %s' % (st, target.proc.poll()))


def check_still_stopped(tap, target, when):
    # On detach the kernel puts a group-stopped tracee back into group stop;
    # allow for that transition, then require it to stay stopped.
    is_t = lambda s: s == 'T'
    ok, st = False, wait_state(target.pid, is_t, 2.0)
    if is_t(st):
        ok, st = stays_state(target.pid, is_t, 0.5)
    tap.check(ok, 'target still stopped (T) %s' % when, expected='T', got=st)


def run_scenario(tap, args, python, scenario):
    with tempfile.TemporaryDirectory(prefix='pmpeek-markers-') as workdir:
        target = Target(python, workdir)
        try:
            target.start()
            err = target.wait_ready()
            if not tap.check(err is None, 'fixture ready',
                             diag='%s\nfixture stderr:\n%s'
                             % (err, target.stderr_text())):
                return
            truth = target.truth
            tap.diag('target pid %d, python %s, scenario %s'
                     % (target.pid, truth['version_string'], scenario))
            tap.equal(truth.get('pid'), target.pid, 'truth written by target')

            extra = []
            if scenario == 'stopped':
                os.kill(target.pid, signal.SIGSTOP)
                st = wait_state(target.pid, lambda s: s == 'T', 5.0)
                if not tap.check(st == 'T', 'target stopped by SIGSTOP',
                                 expected='T', got=st):
                    return
            elif scenario == 'nopause':
                extra = ['--no-pause']

            def after(when):
                if scenario == 'stopped':
                    check_still_stopped(tap, target, when)
                else:
                    check_running(tap, target, when)

            run = run_pmpeek(args.pmpeek, ['--json'] + extra +
                             [str(target.pid)])
            doc = None
            if check_exit(tap, run, 'json'):
                doc = check_json(tap, run, target)
            after('after pmpeek --json')

            if scenario == 'live':
                run = run_pmpeek(args.pmpeek, ['--json', '--by', 'type',
                                               str(target.pid)])
                if check_exit(tap, run, 'by type'):
                    check_by_type(tap, run, doc)
                if args.whole_heap:
                    check_whole_heap(tap, args, target, doc)
                after('after the whole-heap runs')

            run = run_pmpeek(args.pmpeek, ['--all'] + extra +
                             [str(target.pid)])
            if check_exit(tap, run, 'table'):
                check_table(tap, run, target, doc)
            after('after pmpeek --all')

            if scenario == 'stopped':
                os.kill(target.pid, signal.SIGCONT)
                check_running(tap, target, 'after SIGCONT')
        finally:
            target.kill()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--pmpeek', required=True, help='pmpeek executable')
    ap.add_argument('--python', action='append', default=[],
                    help='target interpreter (repeatable; none: skip)')
    ap.add_argument('--label', default='', help='prefix for test names')
    ap.add_argument('--live', action='store_true',
                    help='run the live scenario (default if no scenario)')
    ap.add_argument('--stopped-target', action='store_true',
                    help='run the SIGSTOPped-target scenario')
    ap.add_argument('--no-pause', action='store_true',
                    help='run the pmpeek --no-pause scenario')
    ap.add_argument('--whole-heap', action='store_true',
                    help='also compare every kind of over 100 objects with '
                         'the fixture\'s census (live scenario)')
    args = ap.parse_args()

    scenarios = []
    if args.live:
        scenarios.append('live')
    if args.stopped_target:
        scenarios.append('stopped')
    if args.no_pause:
        scenarios.append('nopause')
    if not scenarios:
        scenarios = ['live']

    signal.signal(signal.SIGTERM, lambda s, f: sys.exit(128 + s))

    tap = Tap('')
    if not (os.path.isfile(args.pmpeek) and os.access(args.pmpeek, os.X_OK)):
        print('Bail out! pmpeek not found or not executable: %s'
              % args.pmpeek)
        return 1
    if not MARKERS.is_file():
        print('Bail out! fixture not found: %s' % MARKERS)
        return 1

    ran = 0
    try:
        for python in args.python:
            if not (os.path.isfile(python) and os.access(python, os.X_OK)):
                tap.skip('%s not found' % python)
                continue
            exe, version = probe_python(python)
            if exe is None:
                tap.skip('%s not usable (%s)' % (python, version))
                continue
            # Start the target through the given path: it may be a wrapper
            # (pythons.py --stripped sets LD_LIBRARY_PATH in one).
            if exe != python:
                print('# %s runs %s (python %s)' % (python, exe, version))
            ran += 1
            for scenario in scenarios:
                label = args.label + ' ' if args.label else ''
                tap.prefix = '[%s%s %s] ' % (label, python, scenario)
                run_scenario(tap, args, python, scenario)
    except SkipAll as e:
        tap.prefix = ''
        for line in str(e).splitlines():
            print('# skip: ' + line if line else '#')
        tap.skipped += 1
        tap.summary()
        return 1 if tap.failed else EXIT_SKIP

    if ran == 0:
        print('# skip: none of the requested pythons is installed'
              if args.python else '# skip: no --python given')
    tap.summary()
    if tap.failed:
        return 1
    return EXIT_SKIP if ran == 0 else 0


if __name__ == '__main__':
    sys.exit(main())
