#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Integration test: `pmpeek --allocator` equals sys._debugmallocstats().

Usage:
  test-allocator.py --pmpeek PATH --python PYTHON [--python PYTHON ...]
                    [--label NAME] [--no-symbols] [--allow-unknown-counters]

For each PYTHON, start fixtures/mallocstats.py (FIFO-synced, `-S`), which
writes the target's own sys._debugmallocstats() report to a file right
after its last allocation and then sleeps without allocating.  Then run
`pmpeek --allocator --json PID` and `pmpeek --allocator PID` and check:

  - every size class row (pools, blocks in use, available blocks) and every
    figure of the pymalloc section (arena counters, bytes lines, total) in
    the JSON "allocator" object is identical to the report;
  - the text output's pymalloc section is, line for line, the report's;
  - the JSON "memory" object adds up (rss = allocated + free + outside).

--no-symbols runs pmpeek with PMPEEK_NO_SYMBOLS=1, so that on 3.8-3.11 it
finds the allocator as it must in a stripped binary (the code scan) even
where .symtab exists.  The arena counters (total, reclaimed, highwater) must
be known; --allow-unknown-counters accepts null for them (and says so),
for binaries where they truly cannot be recovered.

Output: `ok N - desc` / `not ok N - desc` lines with `#` diagnostics and a
final `N passed, N failed[, N skipped]` line.  Exit 0 if everything passed,
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

FIXTURE = Path(__file__).resolve().parents[2] / 'fixtures' / 'mallocstats.py'

READY_TIMEOUT = 120.0
PMPEEK_TIMEOUT = 120.0
EXIT_SKIP = 77
PM_EXIT_PERM = 4

ROW_RE = re.compile(r'^\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)$')
ONE_RE = re.compile(r'^(.*?)\s*=\s*([\d,]+|unknown)$')
ARENAS_RE = re.compile(r'^(\d+) arenas \* (\d+) bytes/arena$')
POOLS_RE = re.compile(r'^(\d+) unused pools \* (\d+) bytes$')

# printone() label -> JSON key.
LABELS = {
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
COUNTERS = ('arenas_allocated_total', 'arenas_reclaimed', 'arenas_highwater')


class SkipAll(Exception):
    """The environment cannot run this test at all (exit 77)."""


class Tap(object):
    def __init__(self):
        self.prefix = ''
        self.n = self.passed = self.failed = self.skipped = 0

    def check(self, cond, desc, expected=None, got=None, diag=None):
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
    """(executable, 'X.Y.Z') of a working interpreter, or (None, why)."""
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


def _child_setup():
    """In the fixture before exec: die with the driver, and let pmpeek (a
    sibling, not an ancestor) attach under Yama ptrace_scope=1."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
        libc.prctl(0x59616d61, ctypes.c_ulong(-1), 0, 0, 0)  # PR_SET_PTRACER
    except Exception:
        pass


def read_file(path, limit=4000):
    try:
        with open(path, 'rb') as f:
            text = f.read().decode('utf-8', 'replace')
    except OSError:
        return ''
    return text if len(text) <= limit else '...' + text[-limit:]


class Target(object):
    def __init__(self, python, workdir):
        self.python = python
        self.fifo = os.path.join(workdir, 'ready.fifo')
        self.stats_path = os.path.join(workdir, 'mallocstats.txt')
        self.err_path = os.path.join(workdir, 'fixture.stderr')
        self.proc = None
        self.rfd = None

    @property
    def pid(self):
        return self.proc.pid

    def start(self):
        os.mkfifo(self.fifo)
        # The read end first, so the fixture's open for writing succeeds.
        self.rfd = os.open(self.fifo, os.O_RDONLY | os.O_NONBLOCK)
        with open(self.err_path, 'wb') as err:
            self.proc = subprocess.Popen(
                [self.python, '-S', str(FIXTURE), self.fifo, self.stats_path],
                stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                preexec_fn=_child_setup, start_new_session=True)

    def wait_ready(self):
        deadline = time.monotonic() + READY_TIMEOUT
        buf = b''
        try:
            while b'ready' not in buf:
                left = deadline - time.monotonic()
                if left <= 0:
                    return 'no "ready" on the FIFO within %.0f s' % READY_TIMEOUT
                r, _, _ = select.select([self.rfd], [], [], min(0.2, left))
                if r:
                    try:
                        chunk = os.read(self.rfd, 256)
                    except BlockingIOError:
                        chunk = None
                    if chunk:
                        buf += chunk
                        continue
                    if chunk == b'':
                        time.sleep(0.1)
                rc = self.proc.poll()
                if rc is not None:
                    return 'fixture exited with status %d before ready' % rc
        finally:
            os.close(self.rfd)
            self.rfd = None
        return None

    def kill(self):
        if self.rfd is not None:
            os.close(self.rfd)
            self.rfd = None
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            self.proc.kill()
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            pass


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
        m = ROW_RE.match(line)
        if m:
            g = [int(x) for x in m.groups()]
            rows[g[0]] = tuple(g[1:])
            continue
        m = ONE_RE.match(line)
        if not m:
            continue
        label, value = m.group(1), m.group(2)
        value = None if value == 'unknown' else int(value.replace(',', ''))
        if label in LABELS:
            figures[LABELS[label]] = value
        elif ARENAS_RE.match(label):
            figures['arena_size'] = int(ARENAS_RE.match(label).group(2))
        elif POOLS_RE.match(label):
            pm = POOLS_RE.match(label)
            figures['unused_pools'] = int(pm.group(1))
            figures['pool_size'] = int(pm.group(2))
            figures['bytes_in_unused_pools'] = value
    return section, rows, figures


def run_pmpeek(pmpeek, args, env):
    argv = [pmpeek] + args
    try:
        cp = subprocess.run(argv, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            timeout=PMPEEK_TIMEOUT, env=env)
    except subprocess.TimeoutExpired:
        return None, '', 'timed out after %.0f s' % PMPEEK_TIMEOUT
    out = cp.stdout.decode('utf-8', 'replace')
    err = cp.stderr.decode('utf-8', 'replace')
    if cp.returncode == PM_EXIT_PERM:
        raise SkipAll('pmpeek cannot attach (exit 4, permission denied); '
                      'needs ptrace rights\n' + err.strip())
    return cp.returncode, out, err


def check_json(tap, args, doc, rows, figures, python_version, no_symbols):
    alloc = doc.get('allocator')
    if not tap.check(isinstance(alloc, dict), 'json: "allocator" is an object',
                     got=repr(alloc)[:200]):
        return
    found = alloc.get('found_by')
    old = tuple(int(x) for x in python_version.split('.')[:2]) < (3, 12)
    if no_symbols:
        tap.equal(found, 'code scan' if old else 'interpreter state',
                  'json: found_by with PMPEEK_NO_SYMBOLS=1')
    else:
        print('# state found by: %s' % found)
    unknown = [k for k in COUNTERS if alloc.get(k) is None]
    if unknown and args.allow_unknown_counters:
        print('# counters unknown (allowed by --allow-unknown-counters): %s'
              % ', '.join(unknown))
        tap.equal(alloc.get('partial'), True,
                  'json: allocator partial, as counters are unknown')
    else:
        tap.equal(alloc.get('partial'), False, 'json: allocator not partial')
    classes = alloc.get('size_classes') or []
    got_rows = {}
    for c in classes:
        got_rows[c.get('index')] = (c.get('size'), c.get('pools'),
                                    c.get('blocks_in_use'),
                                    c.get('blocks_available'))
    tap.equal(sorted(got_rows), sorted(rows),
              'json: the size classes listed are the report\'s')
    bad = [(i, rows[i], got_rows.get(i)) for i in sorted(rows)
           if got_rows.get(i) != rows[i]]
    tap.check(not bad, 'json: every size class row identical (%d classes)'
              % len(rows), got='(class, report, pmpeek) %s' % bad[:6])
    for key in sorted(figures):
        got = alloc.get(key)
        if key in COUNTERS and got is None and args.allow_unknown_counters:
            tap.check(True, 'json: %s is null (allowed by '
                      '--allow-unknown-counters; report says %s)'
                      % (key, figures[key]))
            continue
        tap.equal(got, figures[key], 'json: %s' % key)
    mem = doc.get('memory')
    if not tap.check(isinstance(mem, dict), 'json: "memory" is an object',
                     got=mem):
        return
    rss, res = mem.get('rss'), mem.get('arenas_resident')
    tap.check(isinstance(rss, int) and rss > 0, 'json: memory.rss > 0', got=rss)
    tap.equal(mem.get('arenas_mapped'),
              figures['arena_size'] * figures['arenas_allocated_current'],
              'json: memory.arenas_mapped = arenas * arena size')
    tap.equal(mem.get('allocated_blocks'),
              figures['bytes_in_allocated_blocks'],
              'json: memory.allocated_blocks')
    if isinstance(res, int) and isinstance(rss, int):
        tap.check(res <= mem.get('arenas_mapped', 0),
                  'json: arenas_resident <= arenas_mapped', got=res)
        tap.equal(mem.get('allocated_blocks') + mem.get('free_in_arenas')
                  + mem.get('outside_arenas'), rss,
                  'json: allocated + free in arenas + outside = rss')
    else:
        tap.check(False, 'json: arenas_resident known', got=res)


def run_one(tap, args, python, version):
    with tempfile.TemporaryDirectory(prefix='pmpeek-alloc-') as workdir:
        target = Target(python, workdir)
        try:
            target.start()
            why = target.wait_ready()
            if not tap.check(why is None, 'fixture ready', got=why,
                             diag=target.proc and read_file(target.err_path)):
                return
            section, rows, figures = parse_stats(read_file(target.stats_path,
                                                           10 ** 6))
            if not tap.check(section is not None and rows,
                             'report parses',
                             got=read_file(target.stats_path)[:500]):
                return
            print('# report: %d classes, %s arenas total, %s reclaimed, %s '
                  'highwater, %s current' % (
                      len(rows), figures.get('arenas_allocated_total'),
                      figures.get('arenas_reclaimed'),
                      figures.get('arenas_highwater'),
                      figures.get('arenas_allocated_current')))
            env = dict(os.environ)
            if args.no_symbols:
                env['PMPEEK_NO_SYMBOLS'] = '1'
            rc, out, err = run_pmpeek(args.pmpeek, ['--allocator', '--json',
                                                    str(target.pid)], env)
            # Unknown counters make the result partial: exit 1.
            ok_rcs = (0, 1) if args.allow_unknown_counters else (0,)
            if tap.check(rc in ok_rcs, 'json: pmpeek exits %s'
                         % ' or '.join(map(str, ok_rcs)), got=rc, diag=err):
                try:
                    doc = json.loads(out)
                except ValueError as e:
                    doc = None
                    tap.check(False, 'json: stdout is JSON', got=e)
                if doc is not None:
                    check_json(tap, args, doc, rows, figures, version,
                               args.no_symbols)
            rc, out, err = run_pmpeek(args.pmpeek, ['--allocator', '-n', '3',
                                                    str(target.pid)], env)
            if tap.check(rc in ok_rcs, 'text: pmpeek exits %s'
                         % ' or '.join(map(str, ok_rcs)), got=rc, diag=err):
                got, _, _ = parse_stats(out)
                if args.allow_unknown_counters and got:
                    # Only the counters may differ, and only as "unknown".
                    got = [g if not g.endswith('unknown') else s
                           for g, s in zip(got, section)]
                tap.check(got == section, 'text: pymalloc section identical '
                          'to the report, line for line',
                          diag='\n'.join(
                              '%s\n  vs %s' % (a, b)
                              for a, b in zip(section, got or [])
                              if a != b)[:3000] or out[-2000:])
                tap.check('Memory of the process:' in out,
                          'text: memory section printed')
            st = ''
            try:
                with open('/proc/%d/stat' % target.pid) as f:
                    st = f.read().rsplit(')', 1)[1].split()[0]
            except OSError:
                pass
            tap.check(st not in ('T', 't', 'Z', ''), 'target still running',
                      got=st)
        finally:
            target.kill()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--pmpeek', required=True)
    ap.add_argument('--python', action='append', default=[])
    ap.add_argument('--label', default='')
    ap.add_argument('--no-symbols', action='store_true')
    ap.add_argument('--allow-unknown-counters', action='store_true')
    args = ap.parse_args()
    tap = Tap()
    pythons = list(args.python)
    extra = os.environ.get('PMPEEK_TEST_PYTHONS')
    if extra:
        pythons += [p for p in extra.split(':') if p]
    ran = 0
    try:
        for python in pythons:
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
            label = args.label + ' ' if args.label else ''
            tap.prefix = '[%s%s%s] ' % (label, python,
                                        ' no-symbols' if args.no_symbols
                                        else '')
            run_one(tap, args, python, version)
    except SkipAll as e:
        tap.prefix = ''
        for line in str(e).splitlines():
            print('# skip: ' + line)
        tap.skipped += 1
        tap.summary()
        return 1 if tap.failed else EXIT_SKIP
    if ran == 0:
        print('# skip: none of the requested pythons is installed')
    tap.summary()
    if tap.failed:
        return 1
    return EXIT_SKIP if ran == 0 else 0


if __name__ == '__main__':
    sys.exit(main())
