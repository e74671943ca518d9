#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""test-valgrind.py -- snapshots under valgrind memcheck are clean.

Usage: test-valgrind.py --pmpeek PATH [--python PYTHON]

Runs pmpeek under `valgrind --tool=memcheck --leak-check=full
--errors-for-leak-kinds=definite --error-exitcode=3` on: a live
interpreter (paused, with --allocator and --record), the recording it
made, a core of it (when gcore exists), and `pmpeek diff` of two of the
snapshots.  Each must exit 0 with no memcheck error.  Exits 77 when
valgrind is missing or pmpeek was built with ASan, which valgrind cannot
run.
"""
import argparse
import os
import re
import shutil
import sys
import tempfile

from common import (SKIP, Tap, gcore, run, sleeper, start_code, start_driver,
                    stop)

VALGRIND = ['valgrind', '--tool=memcheck', '--leak-check=full',
            '--errors-for-leak-kinds=definite', '--error-exitcode=3',
            '--track-origins=yes']
tap = Tap(tail=40)


def memcheck(desc, argv, log):
    cp = run(VALGRIND + ['--log-file=' + log] + argv, timeout=900)
    with open(log) as f:
        text = f.read()
    m = re.search(r'ERROR SUMMARY: (\d+) errors', text)
    errors = int(m.group(1)) if m else -1
    tap.check(cp.returncode == 0 and errors == 0,
              '%s: status %s, %d memcheck errors'
              % (desc, cp.returncode, errors), cp.stderr + text)
    return cp


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--pmpeek', required=True)
    ap.add_argument('--python', default='/usr/bin/python3.11')
    a = ap.parse_args()
    status = start_driver(a.pmpeek, a.python)
    if status is not None:
        return status
    pm = os.path.abspath(a.pmpeek)
    if not shutil.which('valgrind'):
        print('# skip: no valgrind')
        return SKIP
    ldd = run(['ldd', pm]).stdout
    if 'libasan' in ldd or os.environ.get('PMPEEK_SANITIZED'):
        print('# skip: pmpeek is built with ASan, which valgrind cannot run')
        return SKIP
    try:
        t = start_code(a.python, sleeper(
            'x = [{"k": (i, str(i))} for i in range(5000)]\n'))
    except RuntimeError as e:
        print('# skip: %s' % e)
        return SKIP
    try:
        with tempfile.TemporaryDirectory(prefix='pmpeek-vg-') as tmp:
            j1, j2 = os.path.join(tmp, 'a.json'), os.path.join(tmp, 'b.json')
            rec = os.path.join(tmp, 'a.rec')
            log = os.path.join(tmp, 'vg.log')
            memcheck('live snapshot', [pm, '--allocator', '--record', rec,
                                       '-o', j1, str(t.pid)], log)
            memcheck('replay of its recording', [pm, '--allocator', '-o', j2,
                                                 rec], log)
            core = gcore(t.pid, os.path.join(tmp, 'core'))[0]
            if core:
                memcheck('core file', [pm, '--json', core], log)
            memcheck('diff', [pm, 'diff', j1, j2], log)
            memcheck('periodic mode', [pm, '--interval', '0.01', '--count',
                                       '3', str(t.pid)], log)
    finally:
        stop(t)
    return tap.done()


if __name__ == '__main__':
    sys.exit(main())
