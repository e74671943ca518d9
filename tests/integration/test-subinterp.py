#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Integration test: a process with subinterpreters.

Usage:
  test-subinterp.py --pmpeek PATH --python PYTHON [--python PYTHON ...]
                    [--label NAME]

For each PYTHON, start fixtures/subinterp.py (FIFO-synced, `-S`): a
subinterpreter that shares the main interpreter's allocator and, from
3.12, one with its own GIL and its own pymalloc state build marker
objects and count and size them themselves; the isolated one writes its
own sys._debugmallocstats() report and sleeps inside its subinterpreter,
the other one's code ends; the main interpreter then builds markers and
writes its report.  Then check, live and on a gdb core of the same state:

  - `pmpeek --json --allocator`: exit 0; the marker kinds of the three
    interpreters counted and sized exactly as the interpreter that made
    them counted them; the subinterpreters' cyclic garbage all
    unreachable and no other marker; the main interpreter's pymalloc
    figures (the top level) identical to its own report; and
    other_states empty before 3.12, else one entry, named by the isolated
    interpreter's id, identical to that interpreter's own report;
  - live, `pmpeek --allocator`: the pymalloc sections, line for line,
    the reports; and the target still running afterwards.

A case whose checks fail is run once more with a fresh target
(common.run_twice()).

Output: `ok N - desc` / `not ok N - desc` lines with `#` diagnostics and a
final `N passed, N failed[, N skipped]` line.  Exit 0 if everything passed,
1 on any failure, 77 (skip) if no python was found or ptrace is denied.
"""

import os
import re
import shutil
import sys
import tempfile

from common import (Fixture, Tap, describe, driver_parser, for_pythons,
                    gcore, parse_json, parse_stats, prefix, proc_state,
                    read_text, run, run_twice, skip_if_denied, start_driver,
                    state_rows)

# Figures of a state that other_states has too (the sizes are global).
STATE_KEYS = (
    'arenas_allocated_total', 'arenas_reclaimed', 'arenas_highwater',
    'arenas_allocated_current', 'bytes_in_allocated_blocks',
    'bytes_in_available_blocks', 'bytes_lost_to_pool_headers',
    'bytes_lost_to_quantization', 'bytes_lost_to_arena_alignment',
    'unused_pools', 'bytes_in_unused_pools', 'total')
OTHER_HEADING_RE = re.compile(
    r'^pymalloc, interpreter (\d+) and those sharing its allocator:$',
    re.M)


def report(tap, path, what):
    """parse_stats() of an interpreter's report, None (a failed check)
    when it does not parse."""
    section, rows, figures = parse_stats(read_text(path, 10 ** 6))
    if tap.check(section is not None and rows
                 and all(figures.get(k) is not None for k in STATE_KEYS),
                 '%s report parses, every figure in it' % what,
                 got=read_text(path)[:500]):
        return section, rows, figures
    return None


def check_state(tap, state, rep, what):
    """An allocator state of pmpeek's JSON against a report: every size
    class row and every figure of STATE_KEYS."""
    _, rows, figures = rep
    got = state_rows(state)
    bad = [(i, rows.get(i), got.get(i)) for i in sorted(set(rows) | set(got))
           if got.get(i) != rows.get(i)]
    tap.check(not bad, '%s: every size class row identical (%d classes)'
              % (what, len(rows)), got='(class, report, pmpeek) %s' % bad[:6])
    bad = [(k, figures.get(k), state.get(k)) for k in STATE_KEYS
           if state.get(k) != figures.get(k)]
    tap.check(not bad, '%s: the %d figures identical' % (what,
                                                          len(STATE_KEYS)),
              got='(figure, report, pmpeek) %s' % bad)


def check_doc(tap, doc, truth, reps, what):
    """The census and both allocator states of a --json --allocator
    document."""
    kinds = dict((k.get('kind'), k) for k in doc.get('kinds') or []
                 if isinstance(k, dict))
    extra = sorted(k for k in kinds if k not in truth['markers'] and (
        k.startswith('__main__.') or k.startswith('dict of __main__.')))
    tap.check(not extra, '%s: no marker kind the interpreters have not'
              % what, got=extra)
    for name in sorted(truth['markers']):
        want = truth['markers'][name]
        got = kinds.get(name) or {}
        tap.equal((got.get('count'), got.get('size')),
                  (want['count'], want['size']),
                  '%s: %s (count, size)' % (what, name))
        tap.equal(got.get('unreachable_count'),
                  truth['unreachable'].get(name, 0),
                  '%s: %s unreachable_count' % (what, name))
    alloc = doc.get('allocator')
    if not tap.check(isinstance(alloc, dict), '%s: "allocator" is an object'
                     % what, got=repr(alloc)[:200]):
        return
    if truth['isolated_id'] is not None:
        tap.equal(alloc.get('found_by'), 'interpreter state',
                  '%s: found_by (3.12+)' % what)
    tap.equal(alloc.get('partial'), False, '%s: allocator not partial' % what)
    check_state(tap, alloc, reps['main'], '%s: main interpreter' % what)
    others = alloc.get('other_states')
    want = 0 if truth['isolated_id'] is None else 1
    if not tap.check(isinstance(others, list) and len(others) == want,
                     '%s: %d other allocator state%s' % (
                         what, want, '' if want == 1 else 's'),
                     got=others if not isinstance(others, list)
                     else len(others)) or not want:
        return
    tap.equal(others[0].get('interpreter_id'), truth['isolated_id'],
              '%s: the other state\'s interpreter_id' % what)
    check_state(tap, others[0], reps['sub'], '%s: subinterpreter' % what)


def check_text(tap, text, truth, reps):
    """The text output's pymalloc sections against the reports."""
    m = OTHER_HEADING_RE.search(text)
    if truth['isolated_id'] is None:
        tap.check(m is None, 'text: no other allocator\'s section',
                  got=m and m.group(0))
        parts = [('main', text)]
    else:
        if not tap.check(m is not None, 'text: a section for the isolated '
                         'subinterpreter\'s allocator', got=text[-2000:]):
            return
        tap.equal(int(m.group(1)), truth['isolated_id'],
                  'text: its interpreter id')
        parts = [('main', text[:m.start()]), ('sub', text[m.end():])]
    for name, part in parts:
        want = reps[name][0]
        got, _, _ = parse_stats(part)
        tap.check(got == want, 'text: %s interpreter\'s section identical '
                  'to its report, line for line' % name,
                  diag='\n'.join('%s\n  vs %s' % (a, b)
                                  for a, b in zip(want, got or [])
                                  if a != b)[:3000] or part[-2000:])


def pmpeek_json(tap, pmpeek, argv, what):
    cp = run([pmpeek, '--json', '--allocator'] + argv)
    skip_if_denied(cp)
    if not tap.check(cp.returncode == 0, '%s: pmpeek exits 0' % what,
                     got=cp.returncode, diag=describe(cp)):
        return None
    return parse_json(tap, cp.stdout, '%s: stdout is JSON' % what)


def run_one(tap, args, python):
    with tempfile.TemporaryDirectory(prefix='pmpeek-subinterp-') as workdir:
        target = Fixture(python, workdir, 'subinterp.py', 'truth.json')
        try:
            if not target.start_asleep(tap):
                return
            truth = target.truth
            reps = {}
            names = ['main'] + ['sub'] * (truth['isolated_id'] is not None)
            for name in names:
                reps[name] = report(tap, '%s.%s-stats' % (target.out_path,
                                                           name), name)
                if reps[name] is None:
                    return
            print('# python %s, subinterpreters %s and %s: %s'
                  % (truth['version_string'], truth['shared_id'],
                     truth['isolated_id'],
                     ', '.join('%s %d' % (k, v['count'])
                               for k, v in sorted(truth['markers'].items()))))
            doc = pmpeek_json(tap, args.pmpeek, [str(target.pid)], 'live')
            if doc is not None:
                check_doc(tap, doc, truth, reps, 'live')
            cp = run([args.pmpeek, '--allocator', '-n', '3',
                      str(target.pid)])
            if tap.check(cp.returncode == 0, 'text: pmpeek exits 0',
                         got=cp.returncode, diag=describe(cp)):
                check_text(tap, cp.stdout, truth, reps)
            st = proc_state(target.pid)
            tap.check(st not in ('T', 't', 'Z', None), 'target still running',
                      got=st)
            if not shutil.which('gcore'):
                tap.skip('gcore: not installed')
                return
            path, cp = gcore(target.pid, os.path.join(workdir, 'gcore'))
            if not tap.check(path is not None, 'gcore wrote a core',
                             diag=describe(cp)):
                return
            doc = pmpeek_json(tap, args.pmpeek, [path], 'gcore')
            if doc is not None:
                check_doc(tap, doc, truth, reps, 'gcore')
        finally:
            target.kill()


def main():
    ap = driver_parser(__doc__)
    args = ap.parse_args()
    tap = Tap()
    status = start_driver(args.pmpeek)
    if status is not None:
        return status

    def each(python, version):
        tap.prefix = prefix(args.label, python)
        run_twice(tap, lambda t: run_one(t, args, python))

    return for_pythons(tap, args.python, each)


if __name__ == '__main__':
    sys.exit(main())
