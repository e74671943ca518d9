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

A case whose checks fail is run once more with a fresh target, and the
first attempt's failures are printed as diagnostics (common.run_twice()).

--no-symbols runs pmpeek with PMPEEK_NO_SYMBOLS=1, so that on 3.8-3.11 it
finds the allocator as it must in a stripped binary (the code scan) even
where .symtab exists.  The arena counters (total, reclaimed, highwater) must
be known; --allow-unknown-counters accepts null for them (and says so),
for binaries where they truly cannot be recovered.

Output: `ok N - desc` / `not ok N - desc` lines with `#` diagnostics and a
final `N passed, N failed[, N skipped]` line.  Exit 0 if everything passed,
1 on any failure, 77 (skip) if no python was found or ptrace is denied.
"""

import os
import sys
import tempfile

from common import (Fixture, Tap, describe, driver_parser, for_pythons,
                    parse_json, parse_stats, prefix, proc_state, read_text,
                    run, run_twice, skip_if_denied, start_driver,
                    state_rows)

COUNTERS = ('arenas_allocated_total', 'arenas_reclaimed', 'arenas_highwater')


def run_pmpeek(pmpeek, args, env):
    cp = run([pmpeek] + args, env=env)
    skip_if_denied(cp)
    return cp


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
    got_rows = state_rows(alloc)
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
        target = Fixture(python, workdir, 'mallocstats.py', 'mallocstats.txt')
        try:
            if not target.start_asleep(tap, truth=False):
                return
            section, rows, figures = parse_stats(read_text(target.out_path,
                                                           10 ** 6))
            if not tap.check(section is not None and rows,
                             'report parses',
                             got=read_text(target.out_path)[:500]):
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
            cp = run_pmpeek(args.pmpeek, ['--allocator', '--json',
                                          str(target.pid)], env)
            # Unknown counters make the result partial: exit 1.
            ok_rcs = (0, 1) if args.allow_unknown_counters else (0,)
            if tap.check(cp.returncode in ok_rcs, 'json: pmpeek exits %s'
                         % ' or '.join(map(str, ok_rcs)), got=cp.returncode,
                         diag=describe(cp)):
                doc = parse_json(tap, cp.stdout, 'json: stdout is JSON')
                if doc is not None:
                    check_json(tap, args, doc, rows, figures, version,
                               args.no_symbols)
            cp = run_pmpeek(args.pmpeek, ['--allocator', '-n', '3',
                                          str(target.pid)], env)
            if tap.check(cp.returncode in ok_rcs, 'text: pmpeek exits %s'
                         % ' or '.join(map(str, ok_rcs)), got=cp.returncode,
                         diag=describe(cp)):
                got, _, _ = parse_stats(cp.stdout)
                if args.allow_unknown_counters and got:
                    # Only the counters may differ, and only as "unknown".
                    got = [g if not g.endswith('unknown') else s
                           for g, s in zip(got, section)]
                tap.check(got == section, 'text: pymalloc section identical '
                          'to the report, line for line',
                          diag='\n'.join(
                              '%s\n  vs %s' % (a, b)
                              for a, b in zip(section, got or [])
                              if a != b)[:3000] or cp.stdout[-2000:])
                tap.check('Memory of the process:' in cp.stdout,
                          'text: memory section printed')
            st = proc_state(target.pid)
            tap.check(st not in ('T', 't', 'Z', None), 'target still running',
                      got=st)
        finally:
            target.kill()


def main():
    ap = driver_parser(__doc__)
    ap.add_argument('--no-symbols', action='store_true')
    ap.add_argument('--allow-unknown-counters', action='store_true')
    args = ap.parse_args()
    tap = Tap()
    status = start_driver(args.pmpeek)
    if status is not None:
        return status

    def each(python, version):
        tap.prefix = prefix(args.label, python,
                            'no-symbols' if args.no_symbols else '')
        run_twice(tap, lambda t: run_one(t, args, python, version))

    return for_pythons(tap, args.python, each)


if __name__ == '__main__':
    sys.exit(main())
