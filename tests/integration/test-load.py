#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""test-load.py -- many snapshots of a busy target, paused and not.

Usage: test-load.py --pmpeek PATH [--python PYTHON] [--count N] [--runs K]
                    [--threads T]

Starts fixtures/churn.py (T threads, default 8, churning allocations and
checking their own data), then, once with the target paused for every
snapshot and once with --no-pause:
  - one pmpeek process takes N snapshots (default $PMPEEK_LOAD_COUNT, else
    500) with --interval 0.01 --count N, while its resident memory is
    sampled: it must end with status 0 or 1, and its memory must not grow
    from the first fifth of the run to the last (skipped under ASan, whose
    quarantine keeps freed memory on purpose);
  - K separate `pmpeek --json` runs (default 50): each must end with status
    0 or 1 and print valid JSON.
After each stage the target must be running (never left stopped, traced
by nobody) and still making progress; at the end it stops its threads
and reports: every thread must have done work and found its data intact.
Prints TAP-like lines and the figures (snapshots per second, pmpeek's
memory); exits 1 on failure, 77 when PYTHON is missing.
"""
import argparse
import json
import os
import subprocess
import sys
import threading
import time

from common import (FIXTURES, Tap, proc_status, run, running_untraced,
                    start_driver, stop)

tap = Tap()


def sanitized(pmpeek):
    if os.environ.get('PMPEEK_SANITIZED'):
        return True
    out = run(['ldd', pmpeek])
    return 'libasan' in out.stdout or 'libubsan' in out.stdout


class Target(object):
    def __init__(self, python, threads):
        self.p = subprocess.Popen([python, '-S', str(FIXTURES / 'churn.py'),
                                   str(threads)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        if self.p.stdout.readline().strip() != 'ready':
            raise RuntimeError('churn.py did not start')
        self.pid = self.p.pid

    def ask(self, cmd):
        self.p.stdin.write(cmd + '\n')
        self.p.stdin.flush()
        return json.loads(self.p.stdout.readline())

    def rounds(self):
        return sum(t['rounds'] for t in self.ask('report')['threads'])

    def finish(self):
        self.p.stdin.write('stop\n')
        self.p.stdin.flush()
        final = json.loads(self.p.stdout.readline())
        return final, self.p.wait(timeout=120)


def loop(pmpeek, target, count, extra):
    """One pmpeek taking count snapshots; returns (status, rss samples in
    KiB by time, seconds, stderr)."""
    p = subprocess.Popen([pmpeek, '--interval', '0.01', '--count',
                          str(count), '--top', '5'] + extra +
                         [str(target.pid)], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    samples = []
    err = []
    reader = threading.Thread(target=lambda: err.append(p.stderr.read()))
    reader.start()
    start = time.time()
    while p.poll() is None:
        rss = proc_status(p.pid, 'VmRSS')
        if rss:
            samples.append((time.time() - start, int(rss)))
        time.sleep(0.05)
    reader.join()
    return p.returncode, samples, time.time() - start, ''.join(err)


def flat(samples):
    """(ok, early max, late max): the last fifth against the first."""
    if len(samples) < 10:
        return True, 0, 0
    span = samples[-1][0]
    early = max(r for t, r in samples if t <= span / 5) or 1
    late = max(r for t, r in samples if t >= span * 4 / 5)
    return late <= early * 1.10 + 2048, early, late


def stage(pmpeek, target, count, runs, no_pause, asan):
    name = '--no-pause' if no_pause else 'paused'
    extra = ['--no-pause'] if no_pause else []
    before = target.rounds()
    status, samples, secs, err = loop(pmpeek, target, count, extra)
    tap.check(status in (0, 1), '%s: %d snapshots in one pmpeek, status %d'
              % (name, count, status), err[-2000:])
    print('# %s: %d snapshots in %.1f s (%.1f/s)'
          % (name, count, secs, count / secs if secs else 0))
    ok, early, late = flat(samples)
    print('# %s: pmpeek RSS %d KiB early, %d KiB late, %d samples'
          % (name, early, late, len(samples)))
    if asan:
        print('# %s: memory flatness not checked under ASan' % name)
    else:
        tap.check(ok, '%s: pmpeek memory flat (%d -> %d KiB)'
                  % (name, early, late))
    tap.check(running_untraced(target.pid), '%s: target running, untraced '
              'after the loop' % name)
    bad = []
    t0 = time.time()
    for i in range(runs):
        cp = run([pmpeek, '--json'] + extra + [str(target.pid)])
        try:
            doc = json.loads(cp.stdout) if cp.returncode in (0, 1) else None
        except ValueError:
            doc = None
        if cp.returncode not in (0, 1) or not doc or \
                doc['objects']['count'] < 1000:
            bad.append('run %d: status %s, %s' % (i, cp.returncode,
                                                  cp.stderr.strip()[-300:]))
    print('# %s: %d separate runs in %.1f s' % (name, runs, time.time() - t0))
    tap.check(not bad, '%s: %d separate runs, each status 0 or 1 with a census'
              % (name, runs), '\n'.join(bad[:5]))
    tap.check(running_untraced(target.pid), '%s: target running, untraced '
              'after the runs' % name)
    after = target.rounds()
    tap.check(after > before, '%s: the target kept working (%d rounds -> %d)'
              % (name, before, after))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--pmpeek', required=True)
    ap.add_argument('--python', default='/usr/bin/python3.11')
    ap.add_argument('--count', type=int,
                    default=int(os.environ.get('PMPEEK_LOAD_COUNT', '500')))
    ap.add_argument('--runs', type=int,
                    default=int(os.environ.get('PMPEEK_LOAD_RUNS', '50')))
    ap.add_argument('--threads', type=int, default=8)
    a = ap.parse_args()
    status = start_driver(a.pmpeek, a.python)
    if status is not None:
        return status
    asan = sanitized(a.pmpeek)
    target = Target(a.python, a.threads)
    try:
        for no_pause in (False, True):
            stage(a.pmpeek, target, a.count, a.runs, no_pause, asan)
        final, status = target.finish()
    except BaseException:
        stop(target.p)
        raise
    errors = [e for t in final['threads'] for e in t['errors']]
    idle = [t['name'] for t in final['threads'] if t['rounds'] == 0]
    tap.check(status == 0 and not errors and not idle and not final['alive'],
              'the target\'s %d threads all worked and found their data intact'
              % a.threads, 'status %d, errors %r, idle %r' % (status, errors,
                                                             idle))
    return tap.done()


if __name__ == '__main__':
    sys.exit(main())
