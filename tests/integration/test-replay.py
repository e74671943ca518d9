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
import json
import os
import sys
import tempfile

from common import (EXIT_PERM, SKIP, Tap, driver_parser, kinds_of, run,
                    start_code, start_driver, stop, write)

tap = Tap(tail=20)
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


def one(pm, python, label, tmp):
    try:
        t = start_code(python, CODE)
    except RuntimeError as e:
        print('# skip: %s' % e)
        return False
    try:
        rec = os.path.join(tmp, 'r.rec')
        live = run([pm, '--json', '--allocator', '--record', rec, str(t.pid)],
                   timeout=300)
    finally:
        stop(t)
    if live.returncode == EXIT_PERM:
        print('# skip: ptrace not permitted')
        return False
    tap.check(live.returncode in (0, 1) and os.path.exists(rec),
              '%s: live snapshot with --record' % label, live.stderr)
    if not os.path.exists(rec):
        return True
    replay = run([pm, '--json', '--allocator', rec], timeout=300)
    tap.check(replay.returncode == live.returncode,
              '%s: replay status %s equals live %s'
              % (label, replay.returncode, live.returncode), replay.stderr)
    if replay.returncode not in (0, 1):
        return True
    a, b = json.loads(live.stdout), json.loads(replay.stdout)
    tap.check(kinds_of(a) == kinds_of(b) and a['objects'] == b['objects'],
              '%s: replay census equals live (%d kinds, %d objects)'
              % (label, len(kinds_of(a)), a['objects']['count']),
              set(kinds_of(a).items()) ^ set(kinds_of(b).items()))
    same = all(a['source'][k] == b['source'][k]
               for k in ('pid', 'executable', 'python_version'))
    tap.check(same and b['source']['kind'] == 'replay',
              '%s: replay source names the recorded process' % label,
              (a['source'], b['source']))
    tap.check(a.get('allocator') == b.get('allocator'),
              '%s: replay pymalloc figures equal live' % label)
    size = os.path.getsize(rec)
    tap.check(size < 64 << 20, '%s: recording is %d KiB' % (label, size >> 10))
    # Damaged recordings: refused, or read, but never a crash.
    with open(rec, 'rb') as f:
        data = bytearray(f.read())
    for name, bad in (('truncated', data[:len(data) // 2]),
                      ('flipped', data[:4096] + bytes([data[4096] ^ 0xff]) +
                       data[4097:])):
        path = write(os.path.join(tmp, name + '.rec'), bytes(bad))
        cp = run([pm, '--json', path], timeout=300)
        tap.check(cp.returncode in (0, 1, 5, 6, 8) and
                  len(cp.stderr.strip().splitlines()) <= 1,
                  '%s: %s recording: status %s, no crash' % (label, name,
                                                             cp.returncode),
                  cp.stderr)
    return True


def main():
    a = driver_parser(__doc__).parse_args()
    status = start_driver(a.pmpeek)
    if status is not None:
        return status
    ran = False
    with tempfile.TemporaryDirectory(prefix='pmpeek-replay-') as tmp:
        for py in a.python:
            if os.access(py, os.X_OK):
                ran |= one(os.path.abspath(a.pmpeek), py,
                           a.label or os.path.basename(py), tmp)
    if not ran:
        return SKIP
    return tap.done()


if __name__ == '__main__':
    sys.exit(main())
