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
import subprocess
import sys
import tempfile

SKIP = 77
VALGRIND = ['valgrind', '--tool=memcheck', '--leak-check=full',
            '--errors-for-leak-kinds=definite', '--error-exitcode=3',
            '--track-origins=yes']
RESULTS = {'passed': 0, 'failed': 0}


def check(ok, desc, diag=''):
    RESULTS['passed' if ok else 'failed'] += 1
    print('%s %d - %s' % ('ok' if ok else 'not ok', sum(RESULTS.values()),
                          desc))
    if not ok:
        for line in str(diag).splitlines()[-40:]:
            print('#   ' + line)
    sys.stdout.flush()


def memcheck(desc, argv, log):
    cp = subprocess.run(VALGRIND + ['--log-file=' + log] + argv,
                        capture_output=True, text=True, timeout=900)
    with open(log) as f:
        text = f.read()
    m = re.search(r'ERROR SUMMARY: (\d+) errors', text)
    errors = int(m.group(1)) if m else -1
    check(cp.returncode == 0 and errors == 0,
          '%s: status %d, %d memcheck errors' % (desc, cp.returncode, errors),
          cp.stderr + text)
    return cp


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--pmpeek', required=True)
    ap.add_argument('--python', default='/usr/bin/python3.11')
    a = ap.parse_args()
    pm = os.path.abspath(a.pmpeek)
    if not shutil.which('valgrind'):
        print('# skip: no valgrind')
        return SKIP
    ldd = subprocess.run(['ldd', pm], capture_output=True, text=True).stdout
    if 'libasan' in ldd or os.environ.get('PMPEEK_SANITIZED'):
        print('# skip: pmpeek is built with ASan, which valgrind cannot run')
        return SKIP
    if not os.access(a.python, os.X_OK):
        print('# skip: %s not found' % a.python)
        return SKIP
    code = ('import sys, time\nx = [{"k": (i, str(i))} for i in range(5000)]\n'
            'sys.stdout.write("ready\\n"); sys.stdout.flush()\n'
            'while True: time.sleep(1)\n')
    t = subprocess.Popen([a.python, '-S', '-c', code], stdout=subprocess.PIPE,
                         text=True)
    try:
        if t.stdout.readline().strip() != 'ready':
            print('# skip: target did not start')
            return SKIP
        with tempfile.TemporaryDirectory(prefix='pmpeek-vg-') as tmp:
            j1, j2 = os.path.join(tmp, 'a.json'), os.path.join(tmp, 'b.json')
            rec = os.path.join(tmp, 'a.rec')
            log = os.path.join(tmp, 'vg.log')
            memcheck('live snapshot', [pm, '--allocator', '--record', rec,
                                       '-o', j1, str(t.pid)], log)
            memcheck('replay of its recording', [pm, '--allocator', '-o', j2,
                                                 rec], log)
            if shutil.which('gcore'):
                prefix = os.path.join(tmp, 'core')
                subprocess.run(['gcore', '-o', prefix, str(t.pid)],
                               capture_output=True, timeout=120)
                core = '%s.%d' % (prefix, t.pid)
                if os.path.exists(core):
                    memcheck('core file', [pm, '--json', core], log)
            memcheck('diff', [pm, 'diff', j1, j2], log)
            memcheck('periodic mode', [pm, '--interval', '0.01', '--count',
                                       '3', str(t.pid)], log)
    finally:
        t.kill()
        t.wait()
    print('%d passed, %d failed' % (RESULTS['passed'], RESULTS['failed']))
    return 1 if RESULTS['failed'] else 0


if __name__ == '__main__':
    sys.exit(main())
