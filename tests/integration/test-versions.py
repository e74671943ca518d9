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
import re
import struct
import subprocess
import sys
import tempfile
import time

MAGIC = b'PMPKREC\x01'
MEMORY = 3
RESULTS = {'passed': 0, 'failed': 0}


def report(ok, desc, diag=''):
    RESULTS['passed' if ok else 'failed'] += 1
    print('%s %d - %s' % ('ok' if ok else 'not ok', sum(RESULTS.values()),
                          desc))
    if not ok and diag:
        for line in str(diag).splitlines():
            print('#   ' + line)


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
    if not os.access(a.python, os.X_OK):
        print('# skip: %s not found' % a.python)
        return 77
    v = subprocess.run([a.python, '-S', '-c',
                        'import sys; print(sys.hexversion)'],
                       capture_output=True, text=True).stdout.strip()
    hexversion = int(v or 0)
    if hexversion < 0x030d0000:
        print('# skip: %s is older than 3.13 (no _Py_DebugOffsets)'
              % a.python)
        return 77
    with tempfile.TemporaryDirectory(prefix='pmpeek-versions-') as tmp:
        target = subprocess.Popen([a.python, '-S', '-c',
                                   'import time\nwhile 1: time.sleep(9)'])
        try:
            time.sleep(0.5)
            rec = os.path.join(tmp, 'rec')
            p = subprocess.run([a.pmpeek, '--record', rec, '--json',
                                str(target.pid)], capture_output=True)
            if p.returncode == 4:
                print('# skip: ptrace not permitted')
                return 77
            report(p.returncode == 0 and os.path.exists(rec),
                   'recorded a live %s' % a.python, p.stderr.decode())
        finally:
            target.kill()
            target.wait()
        data = open(rec, 'rb').read()
        records = memory_records(data)
        cookie = find_all(data, records, b'xdebugpy' +
                          struct.pack('<Q', hexversion))
        report(len(cookie) == 1, 'one _Py_DebugOffsets in the recording',
               cookie)
        if len(cookie) != 1:
            return 1
        runtime_off, runtime = cookie[0]
        versions = [h for h in find_all(data, records,
                                        struct.pack('<Q', hexversion))
                    if h[1] != runtime + 8]

        def run(name, changes, status, pattern):
            path = os.path.join(tmp, name)
            with open(path, 'wb') as f:
                f.write(patched(data, changes))
            p = subprocess.run([a.pmpeek, path], capture_output=True,
                               text=True)
            lines = p.stderr.strip().splitlines()
            if pattern is None:  # accepted: a census, no complaint
                report(p.returncode == 0 and not lines and
                       p.stdout.startswith('Partition of a set of'),
                       '%s: accepted' % name, '%d %r' % (p.returncode,
                                                       p.stderr))
                return
            report(p.returncode == status and len(lines) == 1 and
                   re.search(pattern, lines[0]) is not None,
                   '%s: status %d, one line ~ %r' % (name, status, pattern),
                   '%d %r' % (p.returncode, p.stderr))

        run('unchanged', [], 0, None)
        # runtime_state.interpreters_head sits at +40 in 3.13 and 3.14.
        head, = struct.unpack_from('<Q', data, runtime_off + 40)
        run('moved-field', [(runtime_off + 40, struct.pack('<Q', head + 8))],
            6, r"layout differs from pmpeek's table: "
            r"runtime_state\.interpreters_head is %d in the target"
            % (head + 8))
        run('free-threaded', [(runtime_off + 16, struct.pack('<Q', 1))], 6,
            r'free-threaded Python')
        run('cookie', [(runtime_off, b'ydebugpy')], 6,
            r"_Py_DebugOffsets cookie or version")
        pre = (hexversion & ~0xff) | 0xa1  # alpha 1 of the same version
        run('pre-release', [(off, struct.pack('<Q', pre)) for off, _ in
                            versions], 6,
            r'unsupported Python version %d\.%d\.%da1'
            % (pre >> 24, (pre >> 16) & 0xff, (pre >> 8) & 0xff))
        run('unknown-version', [(off, struct.pack('<Q', 0x030f00f0))
                                for off, _ in versions], 6,
            r'unsupported Python version 3\.15\.0 ')
    print('%d passed, %d failed' % (RESULTS['passed'], RESULTS['failed']))
    return 1 if RESULTS['failed'] else 0


if __name__ == '__main__':
    sys.exit(main())
