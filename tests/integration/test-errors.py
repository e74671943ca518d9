#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""test-errors.py -- bad input and hostile situations: message and status.

Usage: test-errors.py --pmpeek PATH [--python PYTHON]

Each case runs pmpeek in a situation it cannot fully handle and checks the
documented exit status, a single stderr line matching a pattern, and, where
a target is involved, that the target is left exactly as it was found
(running, or stopped) and alive.  Prints `ok N - ...` lines and a final
`N passed, N failed, N skipped` line; exits 1 on any failure.
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

RESULTS = {'passed': 0, 'failed': 0, 'skipped': 0}


def report(ok, desc, diag=''):
    n = sum(RESULTS.values()) + 1
    if ok is None:
        RESULTS['skipped'] += 1
        print('ok %d - %s # SKIP %s' % (n, desc, diag))
        return
    RESULTS['passed' if ok else 'failed'] += 1
    print('%s %d - %s' % ('ok' if ok else 'not ok', n, desc))
    if not ok and diag:
        for line in diag.splitlines():
            print('#   ' + line)


def state(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0]
    except OSError:
        return None


def settled_state(pid, want, timeout=2.0):
    end = time.time() + timeout
    s = state(pid)
    while s != want and time.time() < end:
        time.sleep(0.02)
        s = state(pid)
    return s


def run(pmpeek, args, env=None, timeout=60, **kw):
    return subprocess.run([pmpeek] + args, capture_output=True, text=True,
                          timeout=timeout, env=env, **kw)


def check(desc, proc, status, pattern):
    lines = proc.stderr.strip().splitlines()
    ok = (proc.returncode == status and len(lines) == 1 and
          re.search(pattern, lines[0]) is not None)
    report(ok, desc, 'status %d (want %d), stderr %r (want one line ~ %r)'
           % (proc.returncode, status, proc.stderr, pattern))


def start_target(python, code='import time\nwhile True: time.sleep(1)\n'):
    p = subprocess.Popen([python, '-S', '-c', code])
    time.sleep(0.3)
    return p


def stop(p):
    try:
        p.kill()
    except OSError:
        pass
    p.wait()


def free_pid():
    p = subprocess.Popen(['true'])
    p.wait()
    return p.pid  # reaped: nothing has this pid until it is reused


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--pmpeek', required=True)
    ap.add_argument('--python', default='/usr/bin/python3.11')
    a = ap.parse_args()
    pm, py = a.pmpeek, a.python
    if not os.access(py, os.X_OK):
        print('# skip: %s not found' % py)
        return 77

    # Usage errors: status 2, one line, no target involved.
    for args, pat in [
            ([], r'^pmpeek: no process id given'),
            (['abc'], r"^pmpeek: 'abc' is neither a process id nor a core "
                      r"file: No such file or directory$"),
            (['0'], r"^pmpeek: invalid process id '0'$"),
            (['-5'], r"^pmpeek: unknown option '-5'"),
            (['99999999999'], r"^pmpeek: invalid process id '99999999999'$"),
            (['12x'], r"^pmpeek: '12x' is neither a process id nor a core "
                      r"file: No such file or directory$"),
            (['1', '2'], r'^pmpeek: too many arguments'),
            (['--top', '0', '1'], r"^pmpeek: invalid row count '0'"),
            (['--top', 'x', '1'], r"^pmpeek: invalid row count 'x'"),
            (['--sort', 'name', '1'], r"^pmpeek: invalid sort key 'name'"),
            (['--bogus', '1'], r"^pmpeek: unknown option '--bogus'"),
            (['1', '--top'], r"^pmpeek: option '--top' needs a value"),
    ]:
        check('usage: pmpeek %s' % ' '.join(args), run(pm, args), 2, pat)

    pid = free_pid()
    check('no such process', run(pm, [str(pid)]), 3,
          r'^pmpeek: no live process with pid %d$' % pid)

    sleeper = subprocess.Popen(['sleep', '600'])
    time.sleep(0.2)
    check('not a Python process', run(pm, [str(sleeper.pid)]), 5,
          r"^pmpeek: process %d \('.*sleep'\) is not a Python process"
          % sleeper.pid)
    report(state(sleeper.pid) in ('S', 'R'), 'non-Python target left running')
    stop(sleeper)

    t = start_target(py)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'no', 'such', 'dir', 'out.json')
        check('unwritable -o path', run(pm, ['-o', path, str(t.pid)]), 9,
              r"^pmpeek: cannot write '%s'" % re.escape(path))
    report(state(t.pid) in ('S', 'R'), 'target running after -o failure')

    # Signals while the target is held paused (PMPEEK_HOLD_PAUSE).
    for sig in (signal.SIGINT, signal.SIGTERM):
        env = dict(os.environ, PMPEEK_HOLD_PAUSE='30')
        p = subprocess.Popen([pm, str(t.pid)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env)
        held = settled_state(t.pid, 't', 5.0)
        p.send_signal(sig)
        out, err = p.communicate(timeout=30)
        report(held == 't', '%s: target was paused (state %s)'
               % (sig.name, held))
        proc = subprocess.CompletedProcess(p.args, p.returncode, out, err)
        check('%s during the walk: status 130' % sig.name, proc, 130,
              r'^pmpeek: interrupted; process %d was resumed$' % t.pid)
        report(settled_state(t.pid, 'S') in ('S', 'R'),
               '%s: target running again' % sig.name)

    # pmpeek killed outright: the kernel detaches, the target runs on.
    env = dict(os.environ, PMPEEK_HOLD_PAUSE='30')
    p = subprocess.Popen([pm, str(t.pid)], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, env=env)
    settled_state(t.pid, 't', 5.0)
    p.kill()
    p.wait()
    report(settled_state(t.pid, 'S') in ('S', 'R'),
           'SIGKILL of pmpeek: target running again')

    # A second tracer: pmpeek cannot attach and says who holds the target.
    if shutil.which('strace'):
        tr = subprocess.Popen(['strace', '-p', str(t.pid), '-o', os.devnull])
        time.sleep(0.5)
        check('target already traced', run(pm, [str(t.pid)]), 4,
              r'^pmpeek: cannot attach to process %d: permission denied: '
              r'it is already traced by process %d$' % (t.pid, tr.pid))
        tr.terminate()
        tr.wait()
    else:
        report(None, 'target already traced', 'no strace')

    # An unprivileged user attaching to root's process.
    if os.geteuid() == 0 and shutil.which('setpriv'):
        proc = run('setpriv', ['--reuid=65534', '--regid=65534',
                               '--clear-groups', pm, str(t.pid)])
        check('unprivileged user, root target', proc, 4,
              r'^pmpeek: cannot (attach to|read) process %d: permission '
              r'denied' % t.pid)
    else:
        report(None, 'unprivileged user', 'needs root and setpriv')
    report(state(t.pid) in ('S', 'R'), 'target running after refusals')
    stop(t)

    # The target dies while paused: status 7.
    t = start_target(py)
    env = dict(os.environ, PMPEEK_HOLD_PAUSE='1')
    p = subprocess.Popen([pm, str(t.pid)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env)
    settled_state(t.pid, 't', 5.0)
    t.kill()
    out, err = p.communicate(timeout=30)
    t.wait()
    check('target exits during the walk', subprocess.CompletedProcess(
        p.args, p.returncode, out, err), 7,
        r'^pmpeek: process %d exited during the walk$' % t.pid)

    # A zombie: it exists, but has no memory left to read.
    z = subprocess.Popen(['sh', '-c', 'exit 0'])
    time.sleep(0.3)  # not waited for: a zombie
    proc = run(pm, [str(z.pid)])
    check('zombie process', proc, 3,
          r'^pmpeek: no live process with pid %d$' % z.pid)
    z.wait()

    print('%d passed, %d failed, %d skipped' % (
        RESULTS['passed'], RESULTS['failed'], RESULTS['skipped']))
    return 1 if RESULTS['failed'] else 0


if __name__ == '__main__':
    sys.exit(main())
