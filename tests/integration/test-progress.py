#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""test-progress.py -- the progress line of a long walk, on a terminal only.

Usage: test-progress.py --pmpeek PATH [--python PYTHON] [--objects N]

Starts PYTHON (default /usr/bin/python3.11) holding about N objects
(default 3 000 000: tuples, str and int) and runs `pmpeek --json PID` with
PMPEEK_PROGRESS_AFTER=0 (the line shows from the census's first report, a
few thousand objects in, rather than after a second), on one walker and on
two, with stderr:
  - a terminal (a pty), TERM=xterm: at least one line `pmpeek: PHASE: N
    objects, M MiB read, R objects/s`, rewritten in place (\\r, cleared to
    the end with ESC [K), objects and bytes that never go down and end
    below the census's count, and the line cleared when the walk is done;
  - a terminal with NO_COLOR=1: the same lines without any escape code,
    cleared with spaces;
  - a pipe: nothing at all.
The census's JSON must be a valid document each time.  Prints TAP-like
lines; exits 1 on failure, 77 when PYTHON is missing, when pmpeek may not
attach (no ptrace rights) or when there is no pseudo-terminal.
"""
import argparse
import json
import os
import re
import select
import subprocess
import sys
import tempfile
import time

from common import (SKIP, SkipAll, Tap, run, skip_if_denied, sleeper,
                    start_code, start_driver, stop)

LINE = re.compile(rb'pmpeek: ([a-z ]+): (\d+) objects, ([\d.]+) MiB read, '
                  rb'(\d+)k objects/s')
DEADLINE = 120.0

tap = Tap()


def on_pty(argv, env):
    """argv run with stderr on a new pty and stdout in a file: (status,
    stdout text, stderr bytes); status None when it did not end within
    DEADLINE seconds (then it is killed)."""
    try:
        master, slave = os.openpty()
    except OSError as e:
        raise SkipAll('no pseudo-terminal here: %s' % e)
    err = b''
    with tempfile.TemporaryFile() as out:
        try:
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                 stderr=slave, env=env)
        finally:
            os.close(slave)
        try:
            end = time.monotonic() + DEADLINE
            while time.monotonic() < end:
                ready, _, _ = select.select([master], [], [], 1.0)
                if not ready:
                    continue
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: every writer of the pty is gone
                    break
                if not chunk:
                    break
                err += chunk
            try:
                status = p.wait(timeout=max(end - time.monotonic(), 1.0))
            except subprocess.TimeoutExpired:
                status = None
        finally:
            os.close(master)
            stop(p)
        out.seek(0)
        return status, out.read().decode(errors='replace'), err


def count_of(tap, out, what):
    try:
        return json.loads(out)['objects']['count']
    except (ValueError, KeyError, TypeError) as e:
        tap.check(False, '%s: valid JSON' % what, diag=str(e))
        return None


def check_lines(tap, err, count, what, plain):
    lines = LINE.findall(err)
    if not tap.check(lines, '%s: a progress line' % what, diag=repr(err[:300])):
        return
    objs = [int(l[1]) for l in lines]
    mibs = [float(l[2]) for l in lines]
    tap.check(objs == sorted(objs) and mibs == sorted(mibs),
              '%s: objects and bytes never go down' % what,
              diag='objects %s, MiB %s' % (objs, mibs))
    tap.check(0 < objs[-1] <= count and mibs[0] > 0,
              '%s: counts up to the census (%d of %d objects, %.1f MiB)'
              % (what, objs[-1], count, mibs[-1]))
    # Each line overwrites the last from the line's start; none ends one.
    starts = [m.start() for m in LINE.finditer(err)]
    tap.check(b'\n' not in err and all(i > 0 and err[i - 1:i] == b'\r'
                                       for i in starts),
              '%s: rewritten in place (\\r, no newline)' % what,
              diag=repr(err[:200]))
    if plain:
        tap.check(b'\x1b' not in err, '%s: no escape code' % what,
                  diag=repr(err[-200:]))
        tap.check(re.search(rb'\r +\r$', err) is not None,
                  '%s: cleared with spaces at the end' % what,
                  diag=repr(err[-80:]))
    else:
        tap.check(err.endswith(b'\r\x1b[K'), '%s: cleared at the end' % what,
                  diag=repr(err[-80:]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--pmpeek', required=True)
    ap.add_argument('--python', default='/usr/bin/python3.11')
    ap.add_argument('--objects', type=int, default=3000000)
    a = ap.parse_args()
    status = start_driver(a.pmpeek, a.python)
    if status is not None:
        return status
    units = a.objects // 3
    target = start_code(a.python, sleeper(
        'held = [(i, "s%%d" %% i) for i in range(%d)]\n' % units))
    try:
        base = dict(os.environ, PMPEEK_PROGRESS_AFTER='0', TERM='xterm')
        base.pop('NO_COLOR', None)
        argv = [a.pmpeek, '--json', str(target.pid)]
        # First with stderr a pipe: nothing on it, and whether pmpeek may
        # attach here at all.
        cp = run(argv, env=base)
        skip_if_denied(cp)
        tap.equal(cp.returncode, 0, 'stderr a pipe: exit status')
        tap.check(cp.stderr == '', 'stderr a pipe: nothing on it',
                  diag=cp.stderr[:300])
        tap.check(count_of(tap, cp.stdout, 'stderr a pipe') is not None,
                  'stderr a pipe: the census')
        for walkers in ('1', '2'):
            env = dict(base, PMPEEK_SERIAL='1' if walkers == '1' else '0')
            for plain in (False, True):
                what = '%s walker%s, %s' % (walkers, 's' if walkers == '2'
                                            else '', 'NO_COLOR' if plain
                                            else 'TERM=xterm')
                e = dict(env, NO_COLOR='1') if plain else env
                status, out, err = on_pty(argv, e)
                # status None: it did not end within DEADLINE seconds.
                if not tap.equal(status, 0, '%s: exits 0' % what):
                    tap.diag(err.decode(errors='replace'))
                    continue
                count = count_of(tap, out, what)
                if count is not None:
                    check_lines(tap, err, count, what, plain)
    except SkipAll as e:
        print('# skip: %s' % e)
        return SKIP
    finally:
        stop(target)
    return tap.done()


if __name__ == '__main__':
    sys.exit(main())
