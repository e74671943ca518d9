#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""test-replay.py -- a recording replays to the census it recorded.

Usage: test-replay.py --pmpeek PATH --python PYTHON [--python ...]
                      [--label NAME]

For each PYTHON: start a small interpreter with objects of many kinds, take
`pmpeek --json --allocator --record REC PID`, then `pmpeek --json
--allocator REC`, and check that the replay's census (every kind, the
totals, executable, version, pid) and pymalloc figures equal the live
ones, that it says "kind": "replay", and that the recording holds no more
than a fraction of the target's memory.  A recording truncated or with a
flipped byte must be refused or read without a crash (status 0, 1, 8).
Exits 77 when nothing could run.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

SKIP = 77
RESULTS = {'passed': 0, 'failed': 0}
CODE = r'''
import collections, sys, time
class C(object):
    def __init__(self, i):
        self.i = i
        self.s = str(i)
class S(object):
    __slots__ = ('a', 'b')
keep = [C(i) for i in range(3001)] + [S() for i in range(577)]
more = {i: (i, float(i), b'x' * (i % 50)) for i in range(2003)}
dq = collections.deque(range(1000))
sys.stdout.write('ready\n')
sys.stdout.flush()
while True:
    time.sleep(1)
'''


def check(ok, desc, diag=''):
    RESULTS['passed' if ok else 'failed'] += 1
    print('%s %d - %s' % ('ok' if ok else 'not ok', sum(RESULTS.values()),
                          desc))
    if not ok:
        for line in str(diag).splitlines()[-20:]:
            print('#   ' + line)
    sys.stdout.flush()


def kinds(doc):
    return {k['kind']: (k['count'], k['size']) for k in doc['kinds']}


def one(pm, python, label, tmp):
    t = subprocess.Popen([python, '-S', '-c', CODE], stdout=subprocess.PIPE,
                         text=True)
    try:
        if t.stdout.readline().strip() != 'ready':
            print('# skip: %s did not start' % python)
            return False
        rec = os.path.join(tmp, 'r.rec')
        live = subprocess.run([pm, '--json', '--allocator', '--record', rec,
                               str(t.pid)], capture_output=True, text=True,
                              timeout=300)
    finally:
        t.kill()
        t.wait()
    if live.returncode == 4:
        print('# skip: ptrace not permitted')
        return False
    check(live.returncode in (0, 1) and os.path.exists(rec),
          '%s: live snapshot with --record' % label, live.stderr)
    if not os.path.exists(rec):
        return True
    replay = subprocess.run([pm, '--json', '--allocator', rec],
                            capture_output=True, text=True, timeout=300)
    check(replay.returncode == live.returncode,
          '%s: replay status %d equals live %d' % (label, replay.returncode,
                                                   live.returncode),
          replay.stderr)
    if replay.returncode not in (0, 1):
        return True
    a, b = json.loads(live.stdout), json.loads(replay.stdout)
    check(kinds(a) == kinds(b) and a['objects'] == b['objects'],
          '%s: replay census equals live (%d kinds, %d objects)'
          % (label, len(kinds(a)), a['objects']['count']),
          set(kinds(a).items()) ^ set(kinds(b).items()))
    same = all(a['source'][k] == b['source'][k]
               for k in ('pid', 'executable', 'python_version'))
    check(same and b['source']['kind'] == 'replay',
          '%s: replay source names the recorded process' % label,
          (a['source'], b['source']))
    check(a.get('allocator') == b.get('allocator'),
          '%s: replay pymalloc figures equal live' % label)
    size = os.path.getsize(rec)
    check(size < 64 << 20, '%s: recording is %d KiB' % (label, size >> 10))
    # Damaged recordings: refused, or read, but never a crash.
    with open(rec, 'rb') as f:
        data = bytearray(f.read())
    for name, bad in (('truncated', data[:len(data) // 2]),
                      ('flipped', data[:4096] + bytes([data[4096] ^ 0xff]) +
                       data[4097:])):
        path = os.path.join(tmp, name + '.rec')
        with open(path, 'wb') as f:
            f.write(bad)
        cp = subprocess.run([pm, '--json', path], capture_output=True,
                            text=True, timeout=300)
        check(cp.returncode in (0, 1, 5, 6, 8) and
              len(cp.stderr.strip().splitlines()) <= 1,
              '%s: %s recording: status %d, no crash' % (label, name,
                                                         cp.returncode),
              cp.stderr)
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--pmpeek', required=True)
    ap.add_argument('--python', action='append', default=[])
    ap.add_argument('--label', default='')
    a = ap.parse_args()
    ran = False
    with tempfile.TemporaryDirectory(prefix='pmpeek-replay-') as tmp:
        for py in a.python:
            if os.access(py, os.X_OK):
                ran |= one(os.path.abspath(a.pmpeek), py,
                           a.label or os.path.basename(py), tmp)
    if not ran:
        return SKIP
    print('%d passed, %d failed' % (RESULTS['passed'], RESULTS['failed']))
    return 1 if RESULTS['failed'] else 0


if __name__ == '__main__':
    sys.exit(main())
