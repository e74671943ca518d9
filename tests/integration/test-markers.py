#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Integration test: pmpeek's census of fixtures/markers.py is exact.

Usage:
  test-markers.py --pmpeek PATH --python PYTHON [--python PYTHON ...]
                  [--label NAME] [--live] [--stopped-target] [--no-pause]
                  [--whole-heap] [--allocators]

For each PYTHON, start the markers fixture (FIFO-synced, `-S`), read the
truth it computed in the target (its own census of the whole heap: see
fixtures/markers.py), run `pmpeek --json` and `pmpeek --all` against it and
check every marker kind's count and size are exactly equal to the truth
(tracked and untracked markers, objects only a sleeping thread's locals
hold, "dict of" kinds), plus the structure of both outputs and that pmpeek
leaves the target in the run state it found it in.  In the live scenario
`pmpeek --by type` must also count the same objects, every dict as "dict",
and the default walk (on one thread for a heap as small as the fixture's),
the walk on one thread (PMPEEK_SERIAL=1), the walk on two threads even so
(PMPEEK_SERIAL=0) and a two-thread walk whose threads hand each other parts
of the heap at every turn (PMPEEK_GIVE=1) must find exactly the same.

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
  --allocators      two more: the target run with the other setting of
                    pymalloc's debug hooks (PYTHONMALLOC=debug on a release
                    build, =pymalloc on a debug one), whose 16 bytes before
                    every block's data the census must see from the blocks;
                    and with no pymalloc at all (PYTHONMALLOC=malloc), where
                    the census must not search the interpreter's code in
                    the pause for a state that is not there

Output: `ok N - desc` / `not ok N - desc` lines with `#` diagnostics and a
final `N passed, N failed[, N skipped]` line. Exit 0 if everything passed,
1 on any failure, 77 (skip) if no python was found or ptrace is denied.
"""

import os
import re
import shutil
import signal
import struct
import sys
import tempfile
import time

from common import (EXIT_OK, EXIT_PERM, FIXTURES, RUNNING, Fixture, Tap,
                    describe, driver_parser, for_pythons, parse_json, prefix,
                    proc_state, run, skip_if_denied, start_driver,
                    wait_state)

HEADER_RE = re.compile(
    r'^Partition of a set of (\d+) objects\. Total size = (\d+) bytes\.$')
COLUMNS_RE = re.compile(
    r'^\s*Index\s+Count\s+%\s+Size\s+%\s+Cumulative\s+%\s+Kind\b')
ROW_RE = re.compile(
    r'^\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s(.*)$')
MORE_RE = re.compile(r'^<\d+ more rows?\b.*>$')


# --- target process helpers ------------------------------------------------

def stays_state(pid, want, duration):
    """(True, state) if pid's state is one of want throughout `duration`
    seconds, else (False, the state that was not)."""
    deadline = time.monotonic() + duration
    while True:
        st = proc_state(pid)
        if st not in want:
            return False, st
        if time.monotonic() >= deadline:
            return True, st
        time.sleep(0.05)


# --- pmpeek ----------------------------------------------------------------

def check_exit(tap, cp, what):
    """ok/not ok for a pmpeek run's exit status; SkipAll on EPERM."""
    skip_if_denied(cp)
    return tap.check(cp.returncode == EXIT_OK, '%s: pmpeek exits 0' % what,
                     diag=describe(cp))


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def check_json(tap, cp, target):
    """Checks the --json document; returns it (or None if unusable)."""
    truth = target.truth
    what = 'json'
    doc = parse_json(tap, cp.stdout, '%s: stdout is one JSON document' % what)
    if doc is None:
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
    check_markers(tap, by_name, truth, what)

    gc_objs = truth.get('gc_objects', {})
    tap.diag('info: pmpeek saw %s objects / %s bytes; the fixture\'s own '
             'census saw %s / %s'
             % (objs.get('count'), objs.get('size'), gc_objs.get('count'),
                gc_objs.get('size')))
    diff_kinds(tap, by_name, truth.get('all_kinds') or {})
    return doc


def check_markers(tap, by_name, truth, what):
    """Every marker kind of the truth, counted and sized exactly; in JSON
    also its unreachable objects.  by_name: kind -> {count, size, ...}."""
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


def diff_kinds(tap, by_name, all_kinds, limit=8):
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
        tap.diag('info:   %-40s count %+6d  size %+9d (pmpeek - gc)'
                 % (name, dc, ds))
    if len(rows) > limit:
        tap.diag('info:   ... %d more kinds differ' % (len(rows) - limit))


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


def check_table(tap, cp, target, doc):
    truth = target.truth
    what = 'table'
    header, rows, more, bad = parse_table(cp.stdout)
    if not tap.check(header is not None, '%s: "Partition of a set of ..." '
                     'header' % what, got=cp.stdout.splitlines()[:1]):
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
    check_markers(tap, by_name, truth, what)


def is_dict_kind(name):
    return name == 'dict (no owner)' or name.startswith('dict of ')


def check_by_type(tap, cp, doc):
    """pmpeek --by type: the same objects, every exact dict as "dict"."""
    what = 'by type'
    typed = parse_json(tap, cp.stdout,
                       '%s: stdout is one JSON document' % what)
    if typed is None:
        return
    kinds = kinds_by_name(typed)
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


def kinds_by_name(doc):
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
    cp = run([args.pmpeek, '--json', str(target.pid)], env=env)
    if not check_exit(tap, cp, 'whole heap without blocks'):
        return
    nb = parse_json(tap, cp.stdout,
                    'whole heap: PMPEEK_NO_BLOCKS=1 output is JSON')
    if nb is None:
        return
    bad, worst = compare_heap(kinds_by_name(nb), truth)
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
    bad, worst = compare_heap(kinds_by_name(doc), truth)
    tap.diag('info: the full census adds %d objects, %d bytes held only by '
             'C state; against the fixture its worst kind of over 100 '
             'objects is %s, %.2f %%'
             % (extra, full.get('size', 0) - part.get('size', 0), worst[1],
                worst[0]))


# --- scenarios -------------------------------------------------------------

def check_serial(tap, args, target, doc):
    """The walk on one thread (PMPEEK_SERIAL=1) is exact on the markers
    too, and finds what the default walk found (on one thread too for a
    heap under 8 MiB of arenas, as the fixture's): every kind, count and
    size.  So does the walk on two threads (PMPEEK_SERIAL=0), which
    splits the heap by 64 MiB (a small heap is one thread's, but for its
    static objects) and gives only when one thread is out of work; and a
    two-thread walk whose threads split the heap by MiB and hand each other
    MiB of it at every turn (PMPEEK_GIVE=1), which also keeps the dicts
    claimed by the first owner types as sets from their first claim (the
    others do so for a type's claims past the 64th), and the first thread
    takes the second one's sets beside its own."""
    for name, var, val in (('serial', 'PMPEEK_SERIAL', '1'),
                           ('two-thread', 'PMPEEK_SERIAL', '0'),
                           ('giving', 'PMPEEK_GIVE', '1')):
        cp = run([args.pmpeek, '--json', str(target.pid)],
                 env=dict(os.environ, **{var: val}))
        if not check_exit(tap, cp, name) or doc is None:
            continue
        other = parse_json(tap, cp.stdout, '%s: stdout is JSON' % name)
        if not isinstance(other, dict):
            continue
        check_markers(tap, kinds_by_name(other), target.truth, name)
        tap.equal(other.get('objects'), doc.get('objects'),
                  '%s walk: the same totals as the default walk' % name)
        a, b = kinds_by_name(other), kinds_by_name(doc)
        differ = sorted(n for n in set(a) | set(b) if a.get(n) != b.get(n))
        tap.check(not differ,
                  '%s walk: the same kinds, counts and sizes' % name,
                  got=[(n, a.get(n), b.get(n)) for n in differ[:5]])


STRACE_OPEN_RE = re.compile(r'^\d+\s+openat\([^,]*, "([^"]*)".*= (\d+)$')
STRACE_FD_RE = re.compile(r'^\d+\s+(pread64|close)\((\d+),')
STRACE_PTRACE_RE = re.compile(r'^\d+\s+ptrace\((PTRACE_SEIZE|PTRACE_DETACH),')


def strace_files(tap, args, target, extra, env):
    """Runs pmpeek with extra arguments under strace and follows its
    openat() of the target's mapped files (/proc/PID/map_files/..., or
    /proc/PID/root/...), its pread64() of them, and the ptrace() calls that
    begin and end each pause.  Returns (pauses, [(pauses before, path)
    opened], [paths opened in a pause], preads in a pause, lines), or None
    when it could not run (a skip or a failure said)."""
    with tempfile.TemporaryDirectory(prefix='pmpeek-strace-') as d:
        log = os.path.join(d, 'strace.log')
        # LeakSanitizer cannot run under a tracer; the other runs check.
        asan = os.environ.get('ASAN_OPTIONS', '')
        cp = run(['strace', '-f', '-qq', '-e',
                  'trace=openat,pread64,close,ptrace', '-e', 'signal=none',
                  '-o', log, args.pmpeek] + extra + [str(target.pid)],
                 env=dict(os.environ, ASAN_OPTIONS=(
                     asan + ':' if asan else '') + 'detect_leaks=0', **env))
        if cp.returncode == EXIT_PERM:
            # Rights from file capabilities are dropped under strace.
            tap.skip_test('files opened before the pause',
                          'no ptrace rights under strace')
            return None
        if not check_exit(tap, cp, '%s under strace' % ' '.join(extra)):
            return None
        with open(log, errors='replace') as f:
            lines = f.read().splitlines()
    files = ('/proc/%d/map_files/' % target.pid,
             '/proc/%d/root/' % target.pid)
    # A pause begins at its first seize and ends at its first detach: pmpeek
    # detaches every thread in one loop, opening nothing in between (a
    # thread gone meanwhile is never detached).
    paused, pauses, opened, inside, fds, read = False, 0, [], [], {}, 0
    for line in lines:
        m = STRACE_PTRACE_RE.match(line)
        if m:
            if m.group(1) == 'PTRACE_DETACH':
                paused = False
            elif '= -1' not in line:
                pauses += not paused
                paused = True
            continue
        m = STRACE_OPEN_RE.match(line)
        if m and m.group(1).startswith(files):
            opened.append((pauses, m.group(1)))
            fds[m.group(2)] = m.group(1)
            if paused:
                inside.append(m.group(1))
            continue
        m = STRACE_FD_RE.match(line)
        if m and m.group(2) in fds:
            if m.group(1) == 'close':
                del fds[m.group(2)]
            elif paused:
                read += 1
    return pauses, opened, inside, read, lines


def interpreter_symtab(pid):
    """Whether the file holding pid's interpreter (a libpython it maps, else
    its executable) has a .symtab, from its ELF64 section headers."""
    path = '/proc/%d/exe' % pid
    with open('/proc/%d/maps' % pid) as f:
        for line in f:
            name = line.split(None, 5)[5:]
            if name and '/libpython' in name[0]:
                path = name[0].strip()
                break
    with open(path, 'rb') as f:
        head = f.read(64)
        shoff, = struct.unpack_from('<Q', head, 0x28)
        entsize, count = struct.unpack_from('<HH', head, 0x3a)
        f.seek(shoff)
        table = f.read(entsize * count)
    return any(struct.unpack_from('<I', table, k * entsize + 4)[0] == 2
               for k in range(len(table) // entsize if entsize else 0))


def check_no_arenas(tap, args, target):
    """PYTHONMALLOC=malloc: --allocator says pymalloc holds nothing, as
    sys._debugmallocstats() prints no pymalloc figures then, rather than a
    table of zeros.  Only a 3.8-3.11 file with no .symtab, whose state the
    code scan finds by the table it validates, may not find it at all."""
    cp = run([args.pmpeek, '--allocator', '--top', '1', str(target.pid)])
    if 'cannot find pymalloc' not in cp.stderr:
        tap.check(cp.returncode == EXIT_OK and 'pymalloc has never held an '
                  'arena' in cp.stdout and 'blocks in use' not in cp.stdout,
                  '--allocator: pymalloc holds nothing, and no table of '
                  'zeros', describe(cp))
        return
    old = tuple(target.truth['version']) < (3, 12)
    symtab = interpreter_symtab(target.pid)
    tap.check(cp.returncode == 1 and old and not symtab,
              '--allocator: no state found, status 1, only in a stripped '
              '3.8-3.11', '%s\nversion %r, .symtab %s'
              % (describe(cp), target.truth['version'], symtab))


def check_files_before_pause(tap, args, target, allocator=True):
    """The interpreter's files are opened, their symbols indexed and, for
    3.8-3.11 files that do not name the allocator's globals, their code
    searched for them, before the target is paused, once for all the
    snapshots of a periodic run: the pause holds only what needs the target
    stopped.  Then the same for --allocator, its state found as in a
    stripped file (PMPEEK_NO_SYMBOLS), which searches all of .text on every
    interpreter up to 3.11 (not with allocator false: under
    PYTHONMALLOC=malloc there is no state to find)."""
    if not shutil.which('strace'):
        tap.skip_test('files opened before the pause', 'no strace')
        return
    got = strace_files(tap, args, target, ['--interval', '0.1', '--count',
                                           '3'], {})
    if got is None:
        return
    pauses, opened, inside, read, lines = got
    tap.equal(pauses, 3, 'under strace: three pauses seen')
    tap.check(opened, 'under strace: the interpreter\'s file opened',
              got=len(lines))
    tap.check(not inside, 'no file opened while the target is paused',
              got=inside[:3])
    later = [p for n, p in opened if n > 0]
    tap.check(not later, 'files opened once, before the first pause',
              got=later[:3])
    tap.equal(read, 0, 'the files not read while the target is paused')
    if not allocator:
        return
    got = strace_files(tap, args, target, ['--allocator'],
                       {'PMPEEK_NO_SYMBOLS': '1'})
    if got is None:
        return
    pauses, opened, inside, read, lines = got
    tap.equal(pauses, 1, '--allocator under strace: one pause seen')
    tap.check(not inside and not read, '--allocator, its state found as in a '
              'stripped file: the files not opened or read in the pause',
              got='%d opened, %d reads' % (len(inside), read))


def check_running(tap, target, when):
    st = wait_state(target.pid, RUNNING, 2.0)
    tap.check(st not in ('T', 't'), 'target not left stopped %s' % when,
              expected='not T/t', got=st)
    tap.check(target.proc.poll() is None and st not in (None, 'Z', 'X'),
              'target still alive %s' % when,
              got='state %s, exit status %s' % (st, target.proc.poll()))


def check_still_stopped(tap, target, when):
    # On detach the kernel puts a group-stopped tracee back into group stop;
    # allow for that transition, then require it to stay stopped.
    ok, st = False, wait_state(target.pid, ('T',), 2.0)
    if st == 'T':
        ok, st = stays_state(target.pid, ('T',), 0.5)
    tap.check(ok, 'target still stopped (T) %s' % when, expected='T', got=st)


def debug_build(python):
    """Whether python is a Py_DEBUG build (its allocator has the debug
    hooks by default)."""
    cp = run([python, '-S', '-c',
              'import sys; print(hasattr(sys, "gettotalrefcount"))'])
    return cp.stdout.strip() == 'True'


def scenario_env(python, scenario):
    """The fixture's environment in scenario, None for pmpeek's own."""
    if scenario == 'hooks':
        flip = 'pymalloc' if debug_build(python) else 'debug'
        return dict(os.environ, PYTHONMALLOC=flip)
    if scenario == 'malloc':
        return dict(os.environ, PYTHONMALLOC='malloc')
    return None


def run_scenario(tap, args, python, scenario):
    with tempfile.TemporaryDirectory(prefix='pmpeek-markers-') as workdir:
        target = Fixture(python, workdir, 'markers.py', 'truth.json',
                         env=scenario_env(python, scenario))
        try:
            why = target.start()
            if not tap.check(why is None, 'fixture ready', why):
                return
            truth = target.truth
            tap.diag('target pid %d, python %s, scenario %s%s'
                     % (target.pid, truth['version_string'], scenario,
                        ' (PYTHONMALLOC=%s)' % target.env['PYTHONMALLOC']
                        if target.env else ''))
            tap.equal(truth.get('pid'), target.pid, 'truth written by target')

            extra = []
            if scenario == 'stopped':
                os.kill(target.pid, signal.SIGSTOP)
                st = wait_state(target.pid, ('T',), 5.0)
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

            cp = run([args.pmpeek, '--json'] + extra + [str(target.pid)])
            doc = None
            if check_exit(tap, cp, 'json'):
                doc = check_json(tap, cp, target)
            after('after pmpeek --json')

            if scenario == 'live':
                cp = run([args.pmpeek, '--json', '--by', 'type',
                          str(target.pid)])
                if check_exit(tap, cp, 'by type'):
                    check_by_type(tap, cp, doc)
                check_serial(tap, args, target, doc)
                check_files_before_pause(tap, args, target)
                if args.whole_heap:
                    check_whole_heap(tap, args, target, doc)
                after('after the whole-heap runs')
            elif scenario == 'malloc':
                # No state to find: none searched for in the pauses.
                check_files_before_pause(tap, args, target, allocator=False)
                check_no_arenas(tap, args, target)
                after('after the runs under strace')

            cp = run([args.pmpeek, '--all'] + extra + [str(target.pid)])
            if check_exit(tap, cp, 'table'):
                check_table(tap, cp, target, doc)
            after('after pmpeek --all')

            if scenario == 'stopped':
                os.kill(target.pid, signal.SIGCONT)
                check_running(tap, target, 'after SIGCONT')
        finally:
            target.kill()


def main():
    ap = driver_parser(__doc__)
    ap.add_argument('--live', action='store_true',
                    help='run the live scenario (default if no scenario)')
    ap.add_argument('--stopped-target', action='store_true',
                    help='run the SIGSTOPped-target scenario')
    ap.add_argument('--no-pause', action='store_true',
                    help='run the pmpeek --no-pause scenario')
    ap.add_argument('--whole-heap', action='store_true',
                    help='also compare every kind of over 100 objects with '
                         'the fixture\'s census (live scenario)')
    ap.add_argument('--allocators', action='store_true',
                    help='also run the target with the other setting of '
                         'the debug hooks, and with PYTHONMALLOC=malloc')
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
    if args.allocators:
        scenarios += ['hooks', 'malloc']

    tap = Tap()
    status = start_driver(args.pmpeek)
    if status is not None:
        return status
    if not (FIXTURES / 'markers.py').is_file():
        print('Bail out! fixture not found: %s' % (FIXTURES / 'markers.py'))
        return 1

    def each(python, version):
        for scenario in scenarios:
            tap.prefix = prefix(args.label, python, scenario)
            run_scenario(tap, args, python, scenario)

    return for_pythons(tap, args.python, each)


if __name__ == '__main__':
    sys.exit(main())
