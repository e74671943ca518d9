#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""test-versions.py -- layouts and versions pmpeek must refuse, not guess.

Usage: test-versions.py --pmpeek PATH --python PYTHON   (a 3.13 or later)

Records a snapshot of a live 3.13+ interpreter (`pmpeek --record`), then
replays copies of the recording in which the target's own facts were
changed, as a patch release, a pre-release, a free-threaded build or an
unknown version would change them:
  - a _Py_DebugOffsets entry that disagrees with pmpeek's table
    (refused, naming the field; status 6);
  - free_threaded set (refused as free-threaded; status 6);
  - Py_Version a pre-release, or a version without a table (refused as
    unsupported, naming the version; status 6);
  - the unchanged recording (accepted; status 0).
Prints `ok N - ...` lines and a final `N passed, N failed` line.
"""
import argparse
import os
import struct
import sys
import tempfile

from common import (EXIT_OK, EXIT_PERM, EXIT_VERSION, SKIP, Tap, one_line, run,
                    sleeper, start_code, start_driver, stop, write)

MAGIC = b'PMPKREC\x01'
MEMORY = 3
tap = Tap()


def memory_records(data):
    """(offset of the bytes in data, target address, length) per MEMORY."""
    out, at = [], len(MAGIC)
    while at + 8 <= len(data):
        kind, size = struct.unpack_from('<II', data, at)
        if kind == MEMORY:
            addr, = struct.unpack_from('<Q', data, at + 8)
            out.append((at + 16, addr, size - 8))
        at += 8 + size
    return out


def find_all(data, records, needle):
    """Target addresses of needle in the recorded memory, with offsets."""
    hits = []
    for off, addr, n in records:
        i = data.find(needle, off, off + n)
        while i >= 0:
            hits.append((i, addr + (i - off)))
            i = data.find(needle, i + 1, off + n)
    return hits


def patched(data, changes):
    b = bytearray(data)
    for off, value in changes:
        b[off:off + len(value)] = value
    return bytes(b)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--pmpeek', required=True)
    ap.add_argument('--python', required=True)
    a = ap.parse_args()
    status = start_driver(a.pmpeek, a.python)
    if status is not None:
        return status
    v = run([a.python, '-S', '-c', 'import sys; print(sys.hexversion)'])
    hexversion = int(v.stdout.strip() or 0)
    if hexversion < 0x030d0000:
        print('# skip: %s is older than 3.13 (no _Py_DebugOffsets)'
              % a.python)
        return SKIP
    with tempfile.TemporaryDirectory(prefix='pmpeek-versions-') as tmp:
        target = start_code(a.python, sleeper())
        try:
            rec = os.path.join(tmp, 'rec')
            p = run([a.pmpeek, '--record', rec, '--json', str(target.pid)])
            if p.returncode == EXIT_PERM:
                print('# skip: ptrace not permitted')
                return SKIP
            tap.check(p.returncode == EXIT_OK and os.path.exists(rec),
                      'recorded a live %s' % a.python, p.stderr)
        finally:
            stop(target)
        data = open(rec, 'rb').read()
        records = memory_records(data)
        cookie = find_all(data, records, b'xdebugpy' +
                          struct.pack('<Q', hexversion))
        tap.check(len(cookie) == 1, 'one _Py_DebugOffsets in the recording',
                  cookie)
        if len(cookie) != 1:
            return 1
        runtime_off, runtime = cookie[0]
        versions = [h for h in find_all(data, records,
                                        struct.pack('<Q', hexversion))
                    if h[1] != runtime + 8]

        def case(name, changes, status, pattern):
            p = run([a.pmpeek, write(os.path.join(tmp, name),
                                     patched(data, changes))])
            if pattern is None:  # accepted: a census, no complaint
                tap.check(p.returncode == EXIT_OK and not p.stderr.strip() and
                          p.stdout.startswith('Partition of a set of'),
                          '%s: accepted' % name, '%s %r' % (p.returncode,
                                                          p.stderr))
                return
            tap.check(one_line(p, status, pattern),
                      '%s: status %d, one line ~ %r' % (name, status, pattern),
                      '%s %r' % (p.returncode, p.stderr))

        case('unchanged', [], EXIT_OK, None)
        # runtime_state.interpreters_head sits at +40 in 3.13 and 3.14.
        head, = struct.unpack_from('<Q', data, runtime_off + 40)
        case('moved-field', [(runtime_off + 40, struct.pack('<Q', head + 8))],
             EXIT_VERSION, r"layout differs from pmpeek's table: "
             r"runtime_state\.interpreters_head is %d in the target"
             % (head + 8))
        case('free-threaded', [(runtime_off + 16, struct.pack('<Q', 1))],
             EXIT_VERSION, r'free-threaded Python')
        case('cookie', [(runtime_off, b'ydebugpy')], EXIT_VERSION,
             r"_Py_DebugOffsets cookie or version")
        pre = (hexversion & ~0xff) | 0xa1  # alpha 1 of the same version
        case('pre-release', [(off, struct.pack('<Q', pre)) for off, _ in
                             versions], EXIT_VERSION,
             r'unsupported Python version %d\.%d\.%da1'
             % (pre >> 24, (pre >> 16) & 0xff, (pre >> 8) & 0xff))
        case('unknown-version', [(off, struct.pack('<Q', 0x030f00f0))
                                 for off, _ in versions], EXIT_VERSION,
             r'unsupported Python version 3\.15\.0 ')
    return tap.done()


if __name__ == '__main__':
    sys.exit(main())
