#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""test-leaks.py -- snapshots, diff, periodic mode, series, report, metrics.

Usage: test-leaks.py --pmpeek PATH --python PYTHON [--chromium PATH]

Runs fixtures/leaker.py, which adds exactly N `Leak` objects on each
SIGUSR1 and leaves its other kinds alone, and checks against that:
two snapshots around one signal diff to count_delta == N for Leak and 0
for the stable kinds; periodic mode over several signals names Leak as a
suspect and no stable kind; --save-dir, --series, `pmpeek report` (also
rendered in headless Chromium when present), --format openmetrics, and the
errors for bad snapshot files.  Prints `ok N - ...` lines and a final
`N passed, N failed, N skipped` line.
"""
import argparse
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from common import (EXIT_USAGE, FIXTURES, Tap, one_line, proc_state,
                    proc_status, run, start_driver, stop, tracer)

N = 1234
STABLE = ('__main__.PmStable', '__main__.PmStableSlots')
tap = Tap(count_skips=True)


class Target:
    def __init__(self, python, tmp):
        fifo = os.path.join(tmp, 'fifo')
        os.mkfifo(fifo)
        self.proc = subprocess.Popen([python, '-S',
                                      str(FIXTURES / 'leaker.py'), fifo,
                                      str(N)])
        self.fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        self.buf = b''
        words = self.line(60).split()
        if words[0] != 'ready':
            raise RuntimeError('fixture said %r' % words)
        self.leak_size = int(words[1])
        self.pid = self.proc.pid

    def line(self, timeout):
        end = time.time() + timeout
        while b'\n' not in self.buf:
            left = end - time.time()
            if left <= 0 or self.proc.poll() is not None:
                raise RuntimeError('fixture did not answer: %s' %
                                   self.state_text())
            r, _, _ = select.select([self.fd], [], [], left)
            if r:
                self.buf += os.read(self.fd, 4096)
        line, self.buf = self.buf.split(b'\n', 1)
        return line.decode()

    def state_text(self):
        """The fixture's exit status, or its state, tracer and signals."""
        if self.proc.poll() is not None:
            return 'it exited with status %s' % self.proc.returncode
        pid = self.proc.pid
        return 'state %s, tracer %s, %s' % (
            proc_state(pid), tracer(pid), ', '.join(
                '%s %s' % (k, proc_status(pid, k))
                for k in ('SigPnd', 'ShdPnd', 'SigBlk', 'SigCgt')))

    def leak(self):
        os.kill(self.pid, signal.SIGUSR1)
        return int(self.line(30).split()[1])

    def close(self):
        stop(self.proc)
        os.close(self.fd)


def check_diff(pm, tmp, t):
    s1, s2 = os.path.join(tmp, 's1.json'), os.path.join(tmp, 's2.json')
    p1 = run([pm, '-o', s1, str(t.pid)])
    total = t.leak()
    p2 = run([pm, '-o', s2, '--json', str(t.pid)])
    tap.check(p1.returncode == 0 and p2.returncode == 0,
              'two snapshots taken', p1.stderr + p2.stderr)
    tap.check(json.load(open(s2)) == json.loads(p2.stdout),
              '-o writes the same document --json prints')
    d = run([pm, 'diff', '--json', s1, s2])
    tap.check(d.returncode == 0, 'diff --json exits 0', d.stderr)
    doc = json.loads(d.stdout)
    rows = {r['kind']: r for r in doc['kinds']}
    tap.check(doc['format'] == 'pmpeek-diff' and doc['format_version'] == 1,
              'diff document format')
    leak = rows.get('__main__.Leak', {})
    tap.check(leak.get('count_delta') == N and
              leak.get('count_new') == total, 'diff: Leak count_delta == N',
              leak)
    tap.check(leak.get('size_delta') == N * t.leak_size,
              'diff: Leak size_delta == N * getsizeof(Leak())', leak)
    tap.check(leak.get('count_old') == 0 and
              leak.get('status') == 'appeared',
              'diff: Leak marked as appeared', leak)
    for k in STABLE:
        r = rows.get(k, {})
        tap.check(r.get('count_delta') == 0 and r.get('size_delta') == 0 and
                  r.get('count_old', 0) > 0, 'diff: %s unchanged' % k, r)
    deltas = [abs(r['size_delta']) for r in doc['kinds']]
    tap.check(deltas == sorted(deltas, reverse=True),
              'diff: kinds sorted by absolute size delta')
    tap.check(doc['new']['objects']['count'] -
              doc['old']['objects']['count'] ==
              sum(r['count_delta'] for r in doc['kinds']),
              'diff: totals agree with the rows')
    d = run([pm, 'diff', '--all', s1, s2])
    m = re.search(r'^\s*0\s+%d\s+\+%d\s+0\s+\d+\s+\+%d __main__\.Leak \(new\)$'
                  % (total, N, N * t.leak_size), d.stdout, re.M)
    tap.check(d.returncode == 0 and m is not None,
              'diff table shows the Leak row', d.stdout)
    return s1, s2


def check_bad_files(pm, tmp, good):
    cases = {
        'missing': (os.path.join(tmp, 'nope.json'), r"cannot read snapshot"),
        'truncated': (None, r"not valid JSON"),
        'garbage': ('garbage', r"not valid JSON"),
        'format': ({'format': 'other'}, r"not a pmpeek snapshot"),
        'version': ('version', r"unsupported snapshot format_version"),
        'fields': ('fields', r"missing or malformed field"),
    }
    text = open(good).read()
    for name, (content, pattern) in cases.items():
        path = os.path.join(tmp, 'bad-%s.json' % name)
        if name == 'missing':
            path = content
        elif name == 'truncated':
            open(path, 'w').write(text[:len(text) // 2])
        elif content == 'garbage':
            open(path, 'wb').write(b'\x7fELF\x00garbage')
        elif content == 'version':
            doc = json.loads(text)
            doc['format_version'] = 99
            open(path, 'w').write(json.dumps(doc))
        elif content == 'fields':
            doc = json.loads(text)
            del doc['taken_at']
            open(path, 'w').write(json.dumps(doc))
        else:
            open(path, 'w').write(json.dumps(content))
        p = run([pm, 'diff', path, good])
        tap.check(one_line(p, EXIT_USAGE, pattern),
                  'bad snapshot file (%s): one line, status 2' % name,
                  '%s %r' % (p.returncode, p.stderr))


def check_interval(pm, tmp, t):
    save = os.path.join(tmp, 'saved')
    series = os.path.join(tmp, 'series.tsv')
    count = 5
    p = subprocess.Popen([pm, str(t.pid), '--interval', '1.5', '--count',
                          str(count), '--suspect-after', '3', '--save-dir',
                          save, '--series', series, '--top', '5'],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    out = []
    # Leak once right after each snapshot, so every interval grows Leak.
    try:
        for line in p.stdout:
            out.append(line)
            if line.startswith('== snapshot'):
                t.leak()
    except RuntimeError as e:
        # Said with what pmpeek was doing, not as a traceback.
        state = 'state %s' % proc_state(p.pid) if p.poll() is None \
            else 'exited %s' % p.returncode
        p.kill()
        tap.check(False, 'periodic mode: the fixture answers every signal',
                  '%s\npmpeek: %s\n%s' % (e, state, p.stderr.read()))
        p.wait()
        return []
    p.wait(timeout=120)
    err = p.stderr.read()
    text = ''.join(out)
    tap.check(p.returncode == 0, 'periodic mode exits 0', err)
    tap.check(len(re.findall(r'^== snapshot \d+ at .*paused [\d.]+ ms\)$',
                             text, re.M)) == count,
              'periodic mode: every snapshot reported with its pause', text)
    sus = text.split('Leak suspects')
    tap.check(len(sus) >= 2, 'periodic mode names suspects', text)
    last = sus[-1] if len(sus) > 1 else ''
    names = re.findall(r'^  (\S.*?): \d+ -> \d+ \(', last, re.M)
    tap.check('__main__.Leak' in names, 'Leak is a suspect', last)
    tap.check(not set(names) & set(STABLE), 'no stable kind is a suspect',
              names)
    tap.check(re.search(r'^  __main__\.Leak: \d+ -> \d+ \(\+[\d.]+/min\)$',
                        last, re.M) is not None, 'suspect growth per minute')
    files = sorted(os.listdir(save)) if os.path.isdir(save) else []
    tap.check(len(files) == count and all(
        json.load(open(os.path.join(save, f)))['format'] == 'pmpeek-snapshot'
        for f in files), '--save-dir keeps every snapshot', files)
    rows = [l.split('\t') for l in open(series).read().splitlines()]
    tap.check(len(rows) == 5 * count and all(len(r) == 4 and r[2].isdigit()
                                             for r in rows),
              '--series: time, kind, count, size for the top kinds', rows[:3])
    return [os.path.join(save, f) for f in files]


def check_report(pm, tmp, snaps, chromium):
    html = os.path.join(tmp, 'report.html')
    p = run([pm, 'report', '-o', html] + snaps)
    tap.check(p.returncode == 0 and os.path.exists(html), 'report written',
              p.stderr)
    page = open(html).read() if os.path.exists(html) else ''
    tap.check('<svg' in page and page.count('<polyline') >= 1 and
              '__main__.Leak' in page and 'src=' not in page and
              'href=' not in page, 'report is self-contained with a chart')
    if not chromium:
        tap.skip_test('report renders in headless Chromium', 'no chromium')
        return
    flags = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
             '--disable-background-networking', '--disable-component-update',
             '--disable-sync', '--user-data-dir=' + os.path.join(tmp, 'chr')]
    dom = subprocess.run([chromium] + flags + ['--dump-dom', 'file://' + html],
                         capture_output=True, text=True, timeout=120)
    tap.check('<polyline' in dom.stdout and re.search(
        r'<td>__main__\.Leak</td>', dom.stdout) is not None,
        'Chromium parses the chart and the diff table', dom.stderr[-500:])
    png = os.path.join(tmp, 'report.png')
    subprocess.run([chromium] + flags + ['--screenshot=' + png,
                                         '--window-size=1000,900',
                                         'file://' + html],
                   capture_output=True, timeout=120)
    ok = os.path.exists(png) and os.path.getsize(png) > 5000
    tap.check(ok, 'Chromium renders the report to a screenshot')


def check_openmetrics(pm, t, total):
    p = run([pm, '--format', 'openmetrics', str(t.pid)])
    lines = p.stdout.splitlines()
    m = [l for l in lines if l.startswith('pmpeek_objects{') and
         'kind="__main__.Leak"' in l]
    tap.check(p.returncode == 0 and lines[-1:] == ['# EOF'],
              'openmetrics ends with # EOF', p.stderr)
    tap.check(len(m) == 1 and m[0].endswith(' %d' % total) and
              'pid="%d"' % t.pid in m[0], 'openmetrics Leak count', m)
    line_re = r'^(# (TYPE|HELP|UNIT|EOF).*|[a-z_]+\{.*\} [\d.]+)$'
    tap.check(all(re.match(line_re, l) for l in lines),
              'openmetrics lines well formed')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--pmpeek', required=True)
    ap.add_argument('--python', required=True)
    ap.add_argument('--chromium', default=shutil.which('chromium'))
    a = ap.parse_args()
    status = start_driver(a.pmpeek, a.python)
    if status is not None:
        return status
    with tempfile.TemporaryDirectory(prefix='pmpeek-leaks-') as tmp:
        t = Target(a.python, tmp)
        try:
            s1, s2 = check_diff(a.pmpeek, tmp, t)
            check_bad_files(a.pmpeek, tmp, s1)
            saved = check_interval(a.pmpeek, tmp, t)
            check_report(a.pmpeek, tmp, [s1, s2] + saved, a.chromium)
            check_openmetrics(a.pmpeek, t, t.leak())
        finally:
            t.close()
    return tap.done()


if __name__ == '__main__':
    sys.exit(main())
