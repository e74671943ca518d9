#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""test-errors.py -- bad input and hostile situations: the error table.

Usage: test-errors.py --pmpeek PATH [--python PYTHON]

One table of cases, each a situation pmpeek cannot fully handle (or an odd
one it must handle): the arguments, the documented exit status and the one
line pmpeek must print on stderr.  Every case checks
  - the exit status;
  - exactly one line on stderr, matching the case's pattern (no line for
    the odd but valid targets, which must simply work: status 0, --json);
  - the state of the target afterwards: the case's own target where it has
    one (still running, still stopped, or gone, as the case says), and
    for every case a bystander interpreter that pmpeek was never pointed at
    (running, and traced by nobody).
Prints `ok N - ...` lines and `N passed, N failed, N skipped`; exits 1 on
any failure, 77 when PYTHON is missing.
"""
import argparse
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

from common import (EXIT_CORRUPT, EXIT_FILES, EXIT_GONE, EXIT_INTERRUPTED,
                    EXIT_NOPROC, EXIT_NOPYTHON, EXIT_OK, EXIT_OTHER, EXIT_PERM,
                    EXIT_USAGE, RUNNING, Tap, abort_for_core, gcore,
                    held_threads, one_line, run, running_untraced,
                    sleeper, start_code, start_driver, stop, tracer,
                    wait_state, write)

tap = Tap(count_skips=True)
STOPPED = ('T',)


def free_pid():
    p = subprocess.Popen(['true'])
    p.wait()
    return p.pid  # reaped: nothing has this pid until it is reused


def held(pm, pid, seconds):
    """pmpeek started on pid with the target held paused for seconds
    (PMPEEK_HOLD_PAUSE), and the target's state once it is paused ('t') or
    after 10 s."""
    p = subprocess.Popen([pm, str(pid)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True,
                         env=dict(os.environ, PMPEEK_HOLD_PAUSE=str(seconds)))
    return p, wait_state(pid, ('t',), 10.0)


def ended(p):
    """A pmpeek started by held(), once it has ended."""
    out, err = p.communicate(timeout=60)
    return subprocess.CompletedProcess(p.args, p.returncode, out, err)


class Table(object):
    """Runs the cases and checks the bystander after each."""

    def __init__(self, pm, bystander):
        self.pm = pm
        self.bystander = bystander

    def check(self, desc, proc, status, pattern, target=None, want=None):
        """pattern None: the case must succeed silently (status 0)."""
        if pattern is None:
            ok = proc.returncode == status and not proc.stderr.strip()
        else:
            ok = one_line(proc, status, pattern)
        diag = 'status %s (want %d), stderr %r (want %s)' % (
            proc.returncode, status, proc.stderr,
            'nothing' if pattern is None else 'one line ~ %r' % pattern)
        if target is not None:
            got = wait_state(target, want, 3.0)
            if got not in want:
                ok = False
                diag += '\ntarget %d is in state %r, want one of %r' % (
                    target, got, want)
            else:
                # Every thread, the main one too: none stopped or traced.
                held = held_threads(target, want + ('D',))
                if held:
                    ok = False
                    diag += '\nthreads of %d held (tid, state, tracer): %r' \
                        % (target, held[:5])
        if not running_untraced(self.bystander.pid, 3.0):
            ok = False
            diag += '\nthe bystander %d is not running untraced' % \
                self.bystander.pid
        return tap.check(ok, desc, diag)

    def case(self, desc, args, status, pattern, target=None, want=None,
             **kw):
        return self.check(desc, run([self.pm] + args, **kw), status,
                          pattern, target, want)


# -- input files -----------------------------------------------------------

def note(name, ntype, desc):
    name = name + b'\0'
    pad = lambda b: b + b'\0' * (-len(b) % 4)
    return struct.pack('<III', len(name), len(desc), ntype) + pad(name) + \
        pad(desc)


def small_core():
    """A well-formed x86-64 core of nothing: one note, one page."""
    notes = note(b'CORE', 1, bytes(336))
    off_data = 4096
    eh = struct.pack('<16sHHIQQQIHHHHHH',
                     b'\x7fELF\x02\x01\x01' + b'\0' * 9, 4, 62, 1, 0, 64, 0,
                     0, 64, 56, 2, 64, 0, 0)
    ph = struct.pack('<IIQQQQQQ', 4, 0, 64 + 2 * 56, 0, 0, len(notes), 0, 4)
    ph += struct.pack('<IIQQQQQQ', 1, 6, off_data, 0x7f0000000000, 0, 4096,
                      4096, 4096)
    return (eh + ph + notes).ljust(off_data, b'\0') + b'\x42' * 4096


def odd_class(py, tmp, tag, qualname, count, extra=''):
    """A target holding count instances of a class whose __qualname__ is
    the Python literal qualname (in the list keep; extra may move them),
    and what it wrote of it: the kind's name as pmpeek spells it (UTF-8,
    what UTF-8 cannot hold as backslashreplace writes it) and how many
    instances gc.get_objects() sees."""
    truth = os.path.join(tmp, tag + '.json')
    tg = start_code(py, sleeper(
        'import gc, json\n'
        'class C: pass\n'
        'C.__qualname__ = %s\n'
        'keep = [C() for _ in range(%d)]\n'
        '%s'
        'name = (C.__module__ + "." + C.__qualname__).encode(\n'
        '    "utf-8", "backslashreplace").decode("utf-8")\n'
        'n = sum(1 for o in gc.get_objects() if type(o) is C)\n'
        'json.dump({"kind": name, "count": n}, open(%r, "w"))\n'
        % (qualname, count, extra, truth)))
    with open(truth) as f:
        return tg, json.load(f)


def to_full(argv, **kw):
    """argv run with its standard output on /dev/full (every write fails
    with ENOSPC), its standard error captured."""
    with open('/dev/full', 'w') as full:
        return run(argv, stdout=full, stderr=subprocess.PIPE,
                   capture_output=False, **kw)


FULL_RE = r'^pmpeek: cannot write the output: No space left on device$'


def json_count(cp, kind):
    """The count of kind in pmpeek --json's output, or None."""
    try:
        return {k['kind']: k['count']
                for k in json.loads(cp.stdout)['kinds']}.get(kind)
    except (ValueError, KeyError, TypeError):
        return None


def snapshot_doc(**over):
    d = {'format': 'pmpeek-snapshot', 'format_version': 1,
         'taken_at': '2026-11-21T14:00:00.000Z',
         'source': {'kind': 'live', 'pid': 1, 'executable': '/x',
                    'python_version': '3.11.2'},
         'objects': {'count': 1, 'size': 10},
         'kinds': [{'kind': 'str', 'count': 1, 'size': 10}]}
    d.update(over)
    return json.dumps(d)


# -- the cases ---------------------------------------------------------------

def usage_cases(t):
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
            (['--top', '-3', '1'], r"^pmpeek: invalid row count '-3'"),
            (['--sort', 'name', '1'], r"^pmpeek: invalid sort key 'name'"),
            (['--by', 'owner', '1'], r"^pmpeek: invalid partition 'owner'"),
            (['--format', 'xml', '1'], r"^pmpeek: invalid format 'xml'"),
            (['--interval', '0', '1'], r"^pmpeek: invalid interval '0'"),
            (['--interval', 'soon', '1'], r"^pmpeek: invalid interval "
                                          r"'soon'"),
            (['--interval', '1', '--count', '0', '1'],
             r"^pmpeek: invalid snapshot count '0'"),
            (['--count', '3', '1'], r'^pmpeek: --count, --save-dir and '
                                    r'--series need --interval$'),
            (['--exe', '/bin/sh', '1'], r'^pmpeek: --exe, --lib-root and '
                                        r'--force are for core files$'),
            (['--record', '/tmp/r', '--interval', '1', '1'],
             r'^pmpeek: --record is for a single snapshot'),
            (['--bogus', '1'], r"^pmpeek: unknown option '--bogus'"),
            (['1', '--top'], r"^pmpeek: option '--top' needs a value"),
            (['diff', 'only-one.json'], r'^pmpeek: diff takes two snapshot '
                                        r'files'),
    ]:
        t.case('usage: pmpeek %s' % ' '.join(args), args, EXIT_USAGE, pat)
    # Help and version go to standard output: one that takes nothing is
    # an error, as for any output.
    for args, want in [(['--help'], 'usage: pmpeek'),
                       (['--version'], 'pmpeek '),
                       (['diff', '--help'], 'usage: pmpeek diff'),
                       (['report', '--help'], 'usage: pmpeek report')]:
        cp = run([t.pm] + args)
        tap.check(cp.returncode == EXIT_OK and cp.stdout.startswith(want)
                  and not cp.stderr,
                  'pmpeek %s: status 0, %r...' % (' '.join(args), want),
                  'status %s, stdout %r, stderr %r'
                  % (cp.returncode, cp.stdout[:40], cp.stderr))
        t.check('pmpeek %s, standard output full' % ' '.join(args),
                to_full([t.pm] + args), EXIT_OTHER, FULL_RE)


def process_cases(t, pm, py, tmp):
    pid = free_pid()
    t.case('no such process', [str(pid)], EXIT_NOPROC,
           r'^pmpeek: no live process with pid %d$' % pid)

    z = subprocess.Popen(['sh', '-c', 'exit 0'])
    time.sleep(0.3)  # not waited for: a zombie
    t.case('zombie process', [str(z.pid)], EXIT_NOPROC,
           r'^pmpeek: no live process with pid %d$' % z.pid,
           z.pid, ('Z',))
    z.wait()

    sl = subprocess.Popen(['sleep', '600'])
    time.sleep(0.2)
    t.case('not a Python process', [str(sl.pid)], EXIT_NOPYTHON,
           r"^pmpeek: process %d \('.*sleep'\) is not a Python process"
           % sl.pid, sl.pid, RUNNING)
    stop(sl)

    tg = start_code(py, sleeper())
    try:
        path = os.path.join(tmp, 'no', 'such', 'dir', 'out.json')
        t.case('unwritable -o path', ['-o', path, str(tg.pid)], EXIT_OTHER,
               r"^pmpeek: cannot write '%s'" % re.escape(path),
               tg.pid, RUNNING)
        path = os.path.join(tmp, 'no', 'such', 'dir', 'out.rec')
        t.case('unwritable --record path', ['--record', path, str(tg.pid)],
               EXIT_OTHER, r"^pmpeek: cannot write '%s'" % re.escape(path),
               tg.pid, RUNNING)
        # Standard output that takes nothing: one line that says so.
        for fmt in ('json', 'openmetrics'):
            t.check('standard output full (%s)' % fmt,
                    to_full([t.pm, '--format', fmt, str(tg.pid)]),
                    EXIT_OTHER, FULL_RE, tg.pid, RUNNING)

        # Periodic mode whose output cannot be written: it ends after the
        # first snapshot it cannot print, instead of pausing the target on
        # for nothing (it once ran until a signal).  No --count: only the
        # error can end it, within 30 s.
        t.check('periodic mode, standard output full',
                to_full([t.pm, '--interval', '0.05', str(tg.pid)],
                        timeout=30), EXIT_OTHER, FULL_RE, tg.pid, RUNNING)
        cp = run([t.pm, '--interval', '0.05', '--series', '/dev/full',
                  str(tg.pid)], timeout=30, stdout=subprocess.DEVNULL,
                 stderr=subprocess.PIPE, capture_output=False)
        t.check('periodic mode, --series file full', cp, EXIT_OTHER,
                r"^pmpeek: cannot write '/dev/full': No space left on "
                r"device$", tg.pid, RUNNING)
        # Rows past stdio's buffer: the writer sees the error flag, and the
        # reason must still be the write's, not "Input/output error".
        big = start_code(py, sleeper(
            'keep = [type("K" + "x" * 80 + str(i), (), {})()\n'
            '        for i in range(100)]\n'))
        try:
            cp = run([t.pm, '--interval', '0.05', '--all', '--series',
                      '/dev/full', str(big.pid)], timeout=30,
                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                     capture_output=False)
            t.check('periodic mode, --series file full, 10 KB of rows', cp,
                    EXIT_OTHER, r"^pmpeek: cannot write '/dev/full': No "
                    r"space left on device$", big.pid, RUNNING)
        finally:
            stop(big)
        # A reader that had enough (pmpeek PID -i 1 | head): no word, and
        # no pause more.  It reads the first snapshot's report whole (up to
        # its blank line) and goes while pmpeek waits for the second: the
        # run must end before the second (--save-dir keeps one file each).
        saves = os.path.join(tmp, 'reader-gone')
        p = subprocess.Popen([t.pm, '--interval', '1', '--save-dir', saves,
                              str(tg.pid)],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        lines = 0
        for line in p.stdout:
            lines += 1
            if not line.strip():
                break
        p.stdout.close()
        try:
            err = p.communicate(timeout=30)[1]
        except subprocess.TimeoutExpired:
            p.kill()
            err = p.communicate()[1] + '(did not end)'
        cp = subprocess.CompletedProcess(p.args, p.returncode, '', err)
        t.check('periodic mode, reader gone after %d lines' % lines, cp,
                EXIT_OTHER, None, tg.pid, RUNNING)
        shots = sorted(os.listdir(saves)) if os.path.isdir(saves) else []
        tap.check(len(shots) == 1,
                  'periodic mode, reader gone: no snapshot after it',
                  'snapshots saved: %r' % shots)

        # Signals while the target is held paused (PMPEEK_HOLD_PAUSE).
        for sig in (signal.SIGINT, signal.SIGTERM):
            p, st = held(pm, tg.pid, 30)
            p.send_signal(sig)
            proc = ended(p)
            if st != 't':
                tap.check(False, '%s during the walk' % sig.name,
                          'target never paused (state %s)' % st)
                continue
            t.check('%s during the walk: status 130, target resumed'
                    % sig.name, proc, EXIT_INTERRUPTED,
                    r'^pmpeek: interrupted; process %d was resumed$' % tg.pid,
                    tg.pid, RUNNING)

        # pmpeek killed outright: the kernel detaches, the target runs on.
        p, _ = held(pm, tg.pid, 30)
        p.kill()
        proc = ended(p)
        proc.returncode = 0  # killed, as meant: the check is of the target
        t.check('SIGKILL of pmpeek: target running again', proc, 0, None,
                tg.pid, RUNNING)

        # A second tracer: pmpeek cannot attach and says who holds it.
        if shutil.which('strace'):
            tr = subprocess.Popen(['strace', '-p', str(tg.pid), '-o',
                                   os.devnull], stderr=subprocess.DEVNULL)
            end = time.time() + 10
            while tracer(tg.pid) != tr.pid and time.time() < end:
                time.sleep(0.05)
            proc = run([pm, str(tg.pid)])
            tr.terminate()
            tr.wait()
            t.check('target already traced by another tracer', proc,
                    EXIT_PERM, r'^pmpeek: cannot attach to process %d: '
                    r'permission denied: it is already traced by process %d$'
                    % (tg.pid, tr.pid), tg.pid, RUNNING)
        else:
            tap.skip_test('target already traced', 'no strace')

        if os.geteuid() == 0 and shutil.which('setpriv'):
            proc = run(['setpriv', '--reuid=65534', '--regid=65534',
                        '--clear-groups', pm, str(tg.pid)], timeout=60)
            t.check('unprivileged user, root target', proc, EXIT_PERM,
                    r'^pmpeek: cannot (attach to|read) process %d: '
                    r'permission denied' % tg.pid, tg.pid, RUNNING)
        else:
            tap.skip_test('unprivileged user', 'needs root and setpriv')
        perm_why_cases(t, pm, tg.pid)
    finally:
        stop(tg)

    # A class name that is not UTF-8 (a lone surrogate in __qualname__):
    # JSON cannot hold it as it is, and once made pmpeek --json exit 9 with
    # nothing said.  The census must spell it as the target does.
    tg, want = odd_class(py, tmp, 'odd-name', '"odd\\udc80name"', 37)
    try:
        cp = run([pm, '--json', str(tg.pid)])
        t.check('class name not UTF-8: status 0', cp, EXIT_OK, None, tg.pid,
                RUNNING)
        got = json_count(cp, want['kind'])
        tap.check(got == want['count'] == 37,
                  'class name not UTF-8: %r counted %s, the target holds %d'
                  % (want['kind'], got, want['count']))
    finally:
        stop(tg)

    # Control characters in a class name and a key (what the target holds
    # is untrusted): the table and the paths show them as \\xNN, never as
    # escape sequences a terminal would act on; --json keeps the name as it
    # is.
    tg, want = odd_class(py, tmp, 'ctl-name',
                         '"ctl\\x1b[2J\\x1b]0;t\\x07\\x9bname"', 29,
                         'keep = {"key\\x1b[31m": keep}\n')
    try:
        shown = ''.join(c if ' ' <= c < '\x7f' or c > '\x9f'
                        else ''.join('\\x%02x' % b for b in c.encode())
                        for c in want['kind'])
        ctl = re.compile('[\x00-\x09\x0b-\x1f\x7f-\x9f]')
        cp = run([pm, '--all', str(tg.pid)])
        t.check('control characters in a class name: status 0', cp, EXIT_OK,
                r'^pmpeek: process %d was paused for [0-9.]+ ms$' % tg.pid,
                tg.pid, RUNNING)
        rows = [ln.split() for ln in cp.stdout.splitlines()
                if ln.endswith(' ' + shown)]
        tap.check(len(rows) == 1 and rows[0][1] == str(want['count']) == '29'
                  and not ctl.search(cp.stdout),
                  'control characters in a class name: %r shown escaped, '
                  'counted %s, the target holds %d'
                  % (shown, rows[0][1] if rows else None, want['count']))
        got = json_count(run([pm, '--json', str(tg.pid)]), want['kind'])
        tap.check(got == want['count'],
                  'control characters in a class name: --json keeps %r, '
                  'counted %s' % (want['kind'], got))
        cp = run([pm, '--referrers', want['kind'], '--samples', '1',
                  str(tg.pid)])
        t.check('control characters in paths: status 0', cp, EXIT_OK, None,
                tg.pid, RUNNING)
        tap.check(not ctl.search(cp.stdout)
                  and "['key\\x1b[31m']" in cp.stdout
                  and ('kind ' + shown + ',') in cp.stdout,
                  'control characters in paths: the key and the kind shown '
                  'escaped')
        cp = run([pm, '--referrers', want['kind'] + 'x', str(tg.pid)])
        t.check('control characters in an error: status 1', cp, 1,
                r"^pmpeek: no object of kind '__main__\.ctl\\x1b\[2J.*' "
                r"found$", tg.pid, RUNNING)
    finally:
        stop(tg)

    # The target exits between two snapshots of periodic mode: status 7,
    # and how many were taken.  The exit may fall in a walk (about one time
    # in a hundred), which says so, or find the interpreter half torn down
    # (a partial census): up to three tries for the common case.
    for _ in range(3):
        tg = start_code(py, 'import sys, time\nsys.stdout.write("ready\\n")'
                            '\nsys.stdout.flush()\ntime.sleep(1.5)\n')
        cp = run([pm, '--interval', '0.4', str(tg.pid)], timeout=30,
                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                 capture_output=False, text=True)
        stop(tg)
        if re.match(r'pmpeek: process \d+ exited; stopped after \d+ '
                    r'snapshots?\n\Z', cp.stderr or ''):
            break
    t.check('periodic mode, target exits', cp, EXIT_GONE,
            r'^pmpeek: process %d exited; stopped after [1-9][0-9]* '
            r'snapshots?$' % tg.pid)

    # The target dies while paused: status 7.
    tg = start_code(py, sleeper())
    p, _ = held(pm, tg.pid, 2)
    stop(tg)
    t.check('target exits during the walk', ended(p), EXIT_GONE,
            r'^pmpeek: process %d exited during the walk$' % tg.pid)


def file_cases(t, pm, py, tmp):
    q = re.escape
    empty = write(os.path.join(tmp, 'empty'), b'')
    t.case('empty file', [empty], EXIT_USAGE,
           r"^pmpeek: '%s' is not an ELF core file: the file is empty$"
           % q(empty))
    garbage = write(os.path.join(tmp, 'garbage'),
                    bytes((i * 131 + 7) % 256 for i in range(65536)))
    t.case('garbage file', [garbage], EXIT_USAGE,
           r"^pmpeek: '%s' is not an ELF core file: not an ELF file$"
           % q(garbage))
    core = small_core()
    cut = write(os.path.join(tmp, 'truncated'), core[:6000])
    t.case('truncated core', [cut], EXIT_CORRUPT,
           r"^pmpeek: cannot read core '%s': truncated: 6000 bytes of 8192$"
           % q(cut))
    headers = write(os.path.join(tmp, 'cut-in-headers'), core[:100])
    t.case('core cut inside its program headers', [headers], EXIT_CORRUPT,
           r"^pmpeek: cannot read core '%s': " % q(headers))
    exe = shutil.copy(py, os.path.join(tmp, 'an-executable'))
    t.case('an ELF executable, not a core', [exe], EXIT_USAGE,
           r"^pmpeek: '%s' is not an ELF core file: an ELF executable, not "
           r"a core$" % q(exe))
    t.case('a directory, not a core', [tmp], EXIT_USAGE,
           r"^pmpeek: '%s' is not an ELF core file: not a regular file$"
           % q(tmp))
    fifo = os.path.join(tmp, 'a-fifo')
    os.mkfifo(fifo)
    t.case('a FIFO, not a core (must not wait for a writer)', [fifo],
           EXIT_USAGE, r"^pmpeek: '%s' is not an ELF core file: not a "
           r"regular file$" % q(fifo), timeout=30)

    # Cores of real processes: needs gcore.
    sl = subprocess.Popen(['sleep', '600'])
    time.sleep(0.2)
    sc = gcore(sl.pid, os.path.join(tmp, 'sleep'))[0]
    stop(sl)
    if sc:
        t.case('core of a non-Python program', [sc], EXIT_NOPYTHON,
               r"^pmpeek: core '%s' \(pid %d, '.*sleep'\) is not of a "
               r"Python process: no _PyRuntime" % (q(sc), sl.pid))
    else:
        tap.skip_test('core of a non-Python program', 'no gcore')
    tg = start_code(py, sleeper())
    pc = gcore(tg.pid, os.path.join(tmp, 'python'))[0]
    stop(tg)
    if pc:
        other = shutil.which('sleep')
        t.case('core with a wrong --exe', ['--exe', other, pc], EXIT_FILES,
               r"^pmpeek: core '%s' does not match the files on disk: '%s' "
               r"has build-id [0-9a-f]+, the core maps '.*' with build-id "
               r"[0-9a-f]+ \(--force reads it anyway\)$" % (q(pc), q(other)))
        nowhere = os.path.join(tmp, 'nowhere', 'python')
        t.case('core with a missing --exe', ['--exe', nowhere, pc],
               EXIT_FILES, r"^pmpeek: cannot read core '%s': executable '%s' "
               r"not found$" % (q(pc), q(nowhere)))
        t.case('--exe with a recording', ['--exe', exe, rec_path(tmp)],
               EXIT_USAGE, r'^pmpeek: --exe, --lib-root and --force are for '
                           r'core files$')
    else:
        for d in ('core with a wrong --exe', 'core with a missing --exe'):
            tap.skip_test(d, 'no gcore')

    bad = write(os.path.join(tmp, 'bad.rec'),
                b'PMPKREC\x01' + struct.pack('<II', 2, 36) + b'\xff' * 36)
    t.case('corrupt recording', [bad], EXIT_CORRUPT,
           r"^pmpeek: cannot read recording '%s': region at 0x[0-9a-f]+ is "
           r"malformed or out of order$" % q(bad))
    cut = write(os.path.join(tmp, 'cut.rec'),
                b'PMPKREC\x01' + struct.pack('<II', 2, 36) + b'\0' * 10)
    t.case('truncated recording', [cut], EXIT_CORRUPT,
           r"^pmpeek: cannot read recording '%s': truncated at byte 8$"
           % q(cut))
    newer = write(os.path.join(tmp, 'newer.rec'), b'PMPKREC\x02')
    t.case('recording of a newer format', [newer], EXIT_CORRUPT,
           r"^pmpeek: cannot read recording '%s': recording format 2, "
           r"pmpeek reads 1$" % q(newer))


def rec_path(tmp):
    return write(os.path.join(tmp, 'tiny.rec'),
                 b'PMPKREC\x01' + struct.pack('<II', 2, 36) +
                 struct.pack('<QQQQI', 4096, 8192, 0, 0, 1))


def snapshot_cases(t, tmp):
    q = re.escape
    good = write(os.path.join(tmp, 'good.json'), snapshot_doc())
    missing = os.path.join(tmp, 'missing.json')
    t.case('diff: missing snapshot file', ['diff', missing, good], EXIT_USAGE,
           r"^pmpeek: cannot read snapshot '%s': No such file or directory$"
           % q(missing))
    bad = write(os.path.join(tmp, 'malformed.json'), '{"format": "pmpe')
    t.case('diff: malformed JSON', ['diff', good, bad], EXIT_USAGE,
           r"^pmpeek: cannot use snapshot '%s': not valid JSON" % q(bad))
    other = write(os.path.join(tmp, 'other.json'),
                  json.dumps({'format': 'something-else', 'kinds': []}))
    t.case('diff: JSON of another format', ['diff', other, good], EXIT_USAGE,
           r"^pmpeek: cannot use snapshot '%s': not a pmpeek snapshot"
           % q(other))
    newer = write(os.path.join(tmp, 'newer.json'),
                  snapshot_doc(format_version=99))
    t.case('diff: unsupported format_version', ['diff', good, newer],
           EXIT_USAGE, r"^pmpeek: cannot use snapshot '%s': unsupported "
           r"snapshot format_version$" % q(newer))
    nokinds = write(os.path.join(tmp, 'nokinds.json'),
                    snapshot_doc(kinds={'str': 1}))
    t.case('diff: snapshot with a malformed field', ['diff', good, nokinds],
           EXIT_USAGE, r"^pmpeek: cannot use snapshot '%s': missing or "
                       r"malformed field" % q(nokinds))
    # A snapshot file is anybody's: its kind names reach the terminal
    # escaped.
    ctl = write(os.path.join(tmp, 'ctl.json'), snapshot_doc(
        kinds=[{'kind': 'str', 'count': 1, 'size': 10},
               {'kind': 'x\x1b]0;t\x07\x1b[2J', 'count': 4, 'size': 99},
               {'kind': '<i>\x9b', 'count': 1, 'size': 1}]))
    cp = run([t.pm, 'diff', good, ctl])
    t.check('diff: control characters in a kind: status 0', cp, EXIT_OK,
            None)
    tap.check(re.search(r'^ +0 +4 +\+4 +0 +99 +\+99 '
                        r'x\\x1b\]0;t\\x07\\x1b\[2J \(new\)$',
                        cp.stdout, re.M)
              and re.search(r' <i>\\xc2\\x9b \(new\)$', cp.stdout, re.M)
              and not re.search('[\x00-\x09\x0b-\x1f\x7f-\x9f]',
                                cp.stdout),
              'diff: control characters in a kind shown escaped',
              cp.stdout)
    cp = run([t.pm, 'report', good, ctl])
    t.check('report: control characters in a kind: status 0', cp, EXIT_OK,
            None)
    tap.check('x\\x1b]0;t\\x07\\x1b[2J' in cp.stdout
              and '&lt;i&gt;\\xc2\\x9b' in cp.stdout
              and not re.search('[\x00-\x09\x0b-\x1f\x7f-\x9f]',
                                cp.stdout),
              'report: control characters in a kind written as \\xNN')
    t.check('diff: standard output full',
            to_full([t.pm, 'diff', '--json', good, good]), EXIT_OTHER,
            FULL_RE)
    # The report says why it could not write, as the other writers do.
    cp = run([t.pm, 'report', '-o', '/dev/full', good])
    t.check('report -o: file full', cp, EXIT_OTHER,
            r"^pmpeek: cannot write '/dev/full': No space left on device$")
    t.check('report: standard output full', to_full([t.pm, 'report', good]),
            EXIT_OTHER, FULL_RE)


def valid_cases(t, pm, py, tmp):
    """Odd but valid targets: they must simply work."""
    tg = start_code(py, sleeper())
    try:
        os.kill(tg.pid, signal.SIGSTOP)
        wait_state(tg.pid, STOPPED, 3.0)
        t.case('a stopped process: read, and left stopped',
               ['--json', str(tg.pid)], EXIT_OK, None, tg.pid, STOPPED)
        os.kill(tg.pid, signal.SIGCONT)
        t.case('the same process, continued: left running',
               ['--json', str(tg.pid)], EXIT_OK, None, tg.pid, RUNNING)
        t.case('--no-pause on a running process',
               ['--json', '--no-pause', str(tg.pid)], EXIT_OK, None, tg.pid,
               RUNNING)
        rec = os.path.join(tmp, 'live.rec')
        t.case('--record of a live process', ['--json', '--record', rec,
                                              str(tg.pid)], EXIT_OK, None,
               tg.pid, RUNNING)
        t.case('the recording replayed', ['--json', rec], EXIT_OK, None)
    finally:
        stop(tg)

    many_threads_case(t, py, tmp)
    ended_main_case(t, py, tmp)
    thread_id_case(t, py, tmp)

    # A deleted executable: the kernel still maps it, under " (deleted)".
    copy = shutil.copy(py, os.path.join(tmp, 'python-deleted'))
    tg = start_code(copy, sleeper())
    try:
        os.unlink(copy)
        proc = run([pm, '--json', str(tg.pid)])
        t.check('a deleted executable', proc, EXIT_OK, None, tg.pid, RUNNING)
        if proc.returncode == 0:
            doc = json.loads(proc.stdout)
            tap.check(doc['objects']['count'] > 1000 and
                      doc['source']['executable'].endswith(' (deleted)'),
                      'a deleted executable: a full census, named as deleted',
                      repr(doc['source']))
    finally:
        stop(tg)

    # Another mount namespace: the executable exists only in there.
    if os.geteuid() == 0 and shutil.which('unshare'):
        where = os.path.join(tmp, 'ns')
        os.mkdir(where)
        inner = os.path.join(where, 'python3')
        script = ('mount -t tmpfs tmpfs "$1" && cp "$2" "$1/python3" && '
                  'exec "$1/python3" -S -c "$3"')
        p = subprocess.Popen(['unshare', '--mount', '--propagation',
                              'private', 'sh', '-c', script, 'sh', where, py,
                              sleeper()], stdout=subprocess.PIPE, text=True)
        try:
            if p.stdout.readline().strip() != 'ready':
                tap.skip_test('another mount namespace', 'unshare failed')
            else:
                ok = not os.path.exists(inner)
                proc = run([pm, '--json', str(p.pid)])
                t.check('a process in another mount namespace', proc,
                        EXIT_OK, None, p.pid, RUNNING)
                tap.check(ok and proc.returncode == 0 and json.loads(
                    proc.stdout)['objects']['count'] > 1000,
                    'another mount namespace: its executable is not in ours, '
                    'the census is full')
        finally:
            stop(p)
    else:
        tap.skip_test('another mount namespace', 'needs root and unshare')


MANY_THREADS = 300


def many_threads_case(t, py, tmp):
    """Hundreds of threads, and threads that start and end all the while:
    each snapshot must stop every one (all are stopped and traced while the
    pause is held; --threads lists each waiting thread of the target's own
    list) and let every one go, between the snapshots of a periodic run
    too."""
    idents = os.path.join(tmp, 'threads')
    code = ('import threading\n'
            'ev = threading.Event()\n'
            'ts = [threading.Thread(target=ev.wait, daemon=True)\n'
            '      for _ in range(%d)]\n'
            'for x in ts: x.start()\n'
            'def churn():\n'
            '    while True:\n'
            '        cs = [threading.Thread(target=len, args=((),))\n'
            '              for _ in range(8)]\n'
            '        for c in cs: c.start()\n'
            '        for c in cs: c.join()\n'
            'threading.Thread(target=churn, daemon=True).start()\n'
            'with open(%r, "w") as f:\n'
            '    f.write(" ".join(str(x.native_id) for x in ts))\n'
            % (MANY_THREADS, idents))
    tg = start_code(py, sleeper(code))
    try:
        with open(idents) as f:
            want = set(int(x) for x in f.read().split())
        for i in range(3):
            proc = run([t.pm, '--threads', '--json', str(tg.pid)])
            if not t.check('%d threads, more starting and ending: --threads '
                           '(run %d)' % (MANY_THREADS, i + 1), proc, EXIT_OK,
                           None, tg.pid, RUNNING):
                break
            got = set(x['native_id'] for x in json.loads(proc.stdout)[
                'threads'])
            tap.check(want <= got, '%d threads: --threads lists each '
                      'waiting thread (run %d)' % (MANY_THREADS, i + 1),
                      'missing %r' % sorted(want - got)[:10])
        # While the pause is held, every thread is stopped and traced by
        # pmpeek: none was missed while the others stopped.
        p, st = held(t.pm, tg.pid, 2)
        try:
            # The main thread stops first: the others may still be on their
            # way to their stops (R) when it is seen stopped.
            end = time.monotonic() + 1.5
            during = held_threads(tg.pid, ('t',), p.pid)
            while during and time.monotonic() < end:
                time.sleep(0.02)
                during = held_threads(tg.pid, ('t',), p.pid)
            nthreads = len(os.listdir('/proc/%d/task' % tg.pid))
            out, err = p.communicate(timeout=60)
        finally:
            stop(p)
        tap.check(st == 't' and not during and p.returncode == 0,
                  '%d threads: all %d stopped and traced in the pause'
                  % (MANY_THREADS, nthreads), 'state %r, status %s, not '
                  'stopped (tid, state, tracer) %r, stderr %r'
                  % (st, p.returncode, during[:5], err))
        # Between the snapshots of one pmpeek, nothing may stay held.
        p = subprocess.Popen([t.pm, '--interval', '1', '--count', '3',
                              '--top', '1', str(tg.pid)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        try:
            first = p.stdout.readline()
            time.sleep(0.3)
            between = held_threads(tg.pid)
            out, err = p.communicate(timeout=60)
        finally:
            stop(p)
        tap.check(first.startswith('== snapshot 1') and p.returncode == 0 and
                  not between, '%d threads: none held between two snapshots'
                  % MANY_THREADS, 'status %s, first line %r, held %r, '
                  'stderr %r' % (p.returncode, first, between[:5], err))
    finally:
        stop(tg)


def ended_main_case(t, py, tmp):
    """A process whose main thread ended (exit(2), not exit_group(2)) while
    another runs on: a zombie main thread with no memory of its own, in a
    live process.  It must be read whole through the live thread, once and
    in a periodic run (the main thread ending between two --no-pause
    snapshots too), and be let go; its main thread has no native stack to
    unwind, and --threads says why; a tracer of the live thread is named
    when pmpeek cannot attach."""
    truth = os.path.join(tmp, 'ended-main.json')
    code = ('import ctypes, gc, json, os, resource, signal, sys, threading\n'
            'import time\n'
            'os.chdir(%r)  # where a kernel core goes\n'
            'hard = resource.getrlimit(resource.RLIMIT_CORE)[1]\n'
            'resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))\n'
            'class EndedMain: pass\n'
            'keep = [EndedMain() for _ in range(777)]\n'
            'w = threading.Thread(target=lambda: time.sleep(1e6), daemon=1)\n'
            'w.start()\n'
            'def end(*args):\n'
            '    ctypes.CDLL(None).syscall(60, 0)  # SYS_exit: this thread\n'
            'signal.signal(signal.SIGUSR1, end)\n'
            'with open(%r, "w") as f:\n'
            '    json.dump({"kind": EndedMain.__module__ + ".EndedMain",\n'
            '               "count": sum(1 for o in gc.get_objects()\n'
            '                            if type(o) is EndedMain),\n'
            '               "main": threading.main_thread().ident,\n'
            '               "worker": w.native_id}, f)\n'
            % (tmp, truth))
    tg = start_code(py, sleeper(code))
    name = 'a process whose main thread ended'
    try:
        with open(truth) as f:
            want = json.load(f)
        # The main thread ends between two snapshots that do not stop it.
        p = subprocess.Popen([t.pm, '--no-pause', '--interval', '1',
                              '--count', '3', '--top', '1', str(tg.pid)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        try:
            first = p.stdout.readline()
            os.kill(tg.pid, signal.SIGUSR1)
            ended = wait_state(tg.pid, ('Z',), 5.0) == 'Z'
            out, err = p.communicate(timeout=60)
        finally:
            stop(p)
        if not tap.check(ended, name, 'its main thread did not end'):
            return
        tap.check(p.returncode == 0 and (first + out).count('== snapshot ')
                  == 3, name + ' between two --no-pause snapshots: all three '
                  'taken', 'status %s, stdout %r, stderr %r'
                  % (p.returncode, first + out, err))
        proc = run([t.pm, '--json', str(tg.pid)])
        t.check(name, proc, EXIT_OK, None)
        tap.check(json_count(proc, want['kind']) == want['count'],
                  name + ': read through its live thread, the census full',
                  'want %d of %s, got %r' % (want['count'], want['kind'],
                                             json_count(proc, want['kind'])))
        proc = run([t.pm, '--interval', '0.2', '--count', '2', '--top', '1',
                    str(tg.pid)])
        t.check(name + ': a periodic run', proc, EXIT_OK, None)
        tap.check(proc.stdout.count('== snapshot ') == 2,
                  name + ': both snapshots of the periodic run', proc.stdout)
        proc = run([t.pm, '--threads', '--native', '--json', str(tg.pid)])
        if proc.returncode == EXIT_USAGE and 'built without' in proc.stderr:
            tap.skip_test(name + ': --native', 'pmpeek has no libunwind')
        else:
            # No stack for a thread is a partial result (status 1).
            t.check(name + ': --threads --native', proc, 1,
                    r'^pmpeek: warning: no native stack for 1 thread$')
            threads = {x['thread_id']: x for x in json.loads(
                proc.stdout or '{"threads": []}')['threads']}
            main = threads.pop(want['main'], {})
            tap.check(main.get('native_error') == 'No such process' and
                      len(threads) == 1 and
                      all(x.get('native') for x in threads.values()),
                      name + ': --native unwinds the live thread, says the '
                      'main one has ended', repr((main, threads)))
        tap.check(not held_threads(tg.pid) and wait_state(tg.pid, ('Z',),
                                                          0.0) == 'Z',
                  name + ': its live thread runs on, traced by nobody',
                  repr(held_threads(tg.pid)))
        if shutil.which('strace') and want['worker']:
            tr = subprocess.Popen(['strace', '-p', str(want['worker']), '-o',
                                   os.devnull], stderr=subprocess.DEVNULL)
            end = time.time() + 10
            while tracer(want['worker']) != tr.pid and time.time() < end:
                time.sleep(0.05)
            proc = run([t.pm, str(tg.pid)])
            tr.terminate()
            tr.wait()
            t.check(name + ': its live thread already traced', proc,
                    EXIT_PERM, r'^pmpeek: cannot attach to process %d: '
                    r'permission denied: it is already traced by process %d$'
                    % (tg.pid, tr.pid))
        else:
            tap.skip_test(name + ': its live thread already traced',
                          'no strace, or no native id')
        ended_main_core(t, tg, name, tmp, want)
    finally:
        stop(tg)


def ended_main_core(t, tg, name, tmp, want):
    """The kernel's core of a process whose main thread ended (it has no
    registers of that thread): read whole, every Python thread listed."""
    core, status, why = abort_for_core(tg, tmp)
    if core is None:
        return tap.skip_test(name + ': its kernel core',
                             '%s (status %r)' % (why or 'it did not die of '
                                                 'SIGABRT', status))
    proc = run([t.pm, '--json', core])
    t.check(name + ': its kernel core', proc, EXIT_OK, None)
    doc = json.loads(proc.stdout or '{}')
    tap.check(doc.get('source', {}).get('pid') == tg.pid and
              json_count(proc, want['kind']) == want['count'],
              name + ': its kernel core read whole',
              'want pid %d and %d of %s, got %r and %r' % (
                  tg.pid, want['count'], want['kind'],
                  doc.get('source', {}).get('pid'),
                  json_count(proc, want['kind'])))
    proc = run([t.pm, '--threads', '--json', core])
    t.check(name + ': its kernel core\'s threads', proc, EXIT_OK, None)
    ids = [x['thread_id'] for x in json.loads(
        proc.stdout or '{"threads": []}')['threads']]
    tap.check(len(ids) == 2 and want['main'] in ids,
              name + ': its kernel core lists both threads, the ended one '
              'too', repr(ids))


def in_user_namespace():
    """The command that runs its arguments as root of a user namespace of
    their own (`unshare -U -r`), or None where it cannot."""
    unshare = shutil.which('unshare')
    argv = [unshare, '-U', '-r'] if unshare else None
    return argv if argv and run(argv + ['true']).returncode == 0 else None


def thread_id_case(t, py, tmp):
    """A thread's id given for the process (as top -H shows it): pmpeek says
    whose thread it is and reads the whole process, named by its pid in the
    snapshot and in every message, an error included; the thread and the
    process run on."""
    truth = os.path.join(tmp, 'thread-id.json')
    code = ('import gc, json, threading, time\n'
            'class ByThread: pass\n'
            'keep = [ByThread() for _ in range(555)]\n'
            'w = threading.Thread(target=lambda: time.sleep(1e6), daemon=1)\n'
            'w.start()\n'
            'with open(%r, "w") as f:\n'
            '    json.dump({"kind": ByThread.__module__ + ".ByThread",\n'
            '               "count": sum(1 for o in gc.get_objects()\n'
            '                            if type(o) is ByThread),\n'
            '               "worker": w.native_id}, f)\n' % truth)
    tg = start_code(py, sleeper(code))
    name = "a thread's id for its process"
    try:
        with open(truth) as f:
            want = json.load(f)
        tid, pid = want['worker'], tg.pid
        note = r'^pmpeek: %d is a thread of process %d: reading the process$' \
            % (tid, pid)
        proc = run([t.pm, '--json', str(tid)])
        t.check(name, proc, EXIT_OK, note, pid, ('S', 'R'))
        doc = json.loads(proc.stdout or '{}')
        tap.check(doc.get('source', {}).get('pid') == pid and
                  json_count(proc, want['kind']) == want['count'],
                  name + ': the snapshot names the process, its census full',
                  'want pid %d and %d of %s, got %r and %r' % (
                      pid, want['count'], want['kind'],
                      doc.get('source', {}).get('pid'),
                      json_count(proc, want['kind'])))
        proc = run([t.pm, '--top', '1', str(tid)])
        lines = proc.stderr.splitlines()
        tap.check(proc.returncode == EXIT_OK and len(lines) == 2 and
                  re.match(note, lines[0]) and
                  re.match(r'^pmpeek: process %d was paused for ' % pid,
                           lines[1]),
                  name + ': the pause names the process',
                  'status %s, stderr %r' % (proc.returncode, proc.stderr))
        proc = run([t.pm, '--threads', '--json', str(tid)])
        t.check(name + ': --threads', proc, EXIT_OK, note)
        doc = json.loads(proc.stdout or '{"threads": []}')
        threads = doc['threads']
        tap.check(doc.get('source', {}).get('pid') == pid and
                  len(threads) == 2 and
                  tid in [x.get('native_id') for x in threads],
                  name + ': --threads names the process, lists both threads',
                  repr(doc.get('source')) + ' ' + repr(threads))
        saved = os.path.join(tmp, 'thread-id-saved')
        os.mkdir(saved)
        proc = run([t.pm, '--interval', '0.2', '--count', '2', '--top', '1',
                    '--save-dir', saved, str(tid)])
        lines = proc.stderr.splitlines()
        files = sorted(os.listdir(saved))
        tap.check(proc.returncode == EXIT_OK and
                  proc.stdout.count('== snapshot ') == 2 and
                  re.match(note, lines[0] if lines else '') and
                  files == ['pmpeek-%d-%06d.json' % (pid, i)
                            for i in (1, 2)],
                  name + ': a periodic run saves its snapshots under the '
                  "process's pid", 'status %s, files %r, stderr %r'
                  % (proc.returncode, files, proc.stderr))
        # Refused at once: the error names the process, and the thread.
        userns = in_user_namespace()
        if not userns:
            tap.skip_test(name + ': refused', 'no unshare -U -r here')
        else:
            proc = run(userns + [t.pm, str(tid)])
            t.check(name + ': refused', proc, EXIT_PERM,
                    r'^pmpeek: cannot attach to process %d \(given as its '
                    r'thread %d\): permission denied: pmpeek runs in a user '
                    r'namespace ' % (pid, tid), pid, RUNNING)
    finally:
        stop(tg)


def perm_why_cases(t, pm, pid):
    """Permission denied for a cause that root cannot lift: the message names
    it, not "run as root"."""
    deny = r'^pmpeek: cannot attach to process %s: permission denied: %s$'
    # The shell's pid is pmpeek's once it execs.
    proc = run(['sh', '-c', 'exec "$0" "$$"', pm])
    t.check('pmpeek given its own pid', proc, EXIT_PERM,
            deny % (r'\d+', 'that is pmpeek itself'))
    kthread = None
    for cand in (2, 3):
        try:
            with open('/proc/%d/stat' % cand) as f:
                flags = int(f.read().rsplit(')', 1)[1].split()[6])
        except (OSError, IndexError, ValueError):
            continue
        if flags & 0x00200000:
            kthread = cand
            break
    if kthread is None:
        tap.skip_test('a kernel thread', 'none at pid 2 or 3 (a PID '
                      'namespace)')
    else:
        t.case('a kernel thread', [str(kthread)], EXIT_PERM,
               deny % (kthread, 'it is a kernel thread, not a Python '
                       'process'))
    userns = in_user_namespace()
    if not userns:
        tap.skip_test('root of a user namespace of its own',
                      'no unshare -U -r here')
    else:
        proc = run(userns + [pm, str(pid)])
        t.check('root of a user namespace of its own', proc, EXIT_PERM,
                deny % (pid, 'pmpeek runs in a user namespace that does not '
                        "hold the target: run it in the target's namespace "
                        'or an outer one'), pid, RUNNING)


def stuck_case(t, pm, holder):
    """A target that does not stop (a vfork parent waits in state D): one
    line and status 9; once pmpeek has exited the target is neither stopped
    nor traced, and it exits normally when its child is gone."""
    p = subprocess.Popen([holder, '60'], stdout=subprocess.PIPE, text=True)
    try:
        p.stdout.readline()  # its pid, once it is about to vfork
        pid = p.pid
        if wait_state(pid, ('D',), 5.0) != 'D':
            tap.check(False, 'a target that does not stop',
                      'the vfork parent never waited in state D')
            return
        t.case('a target that does not stop (a vfork parent)', [str(pid)],
               EXIT_OTHER, r'^pmpeek: process %d did not stop within 2 '
               r'seconds: a thread is in uninterruptible sleep \(state D: '
               r'.*\); nothing was read, and it was let go$' % pid, pid,
               ('D',))
        kill_children(pid)
        try:
            status = p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            status = None
        tap.check(status == 0, 'the vfork parent runs on and exits once its '
                  'child is gone', 'status %r, state %r' % (
                      status, wait_state(pid, RUNNING, 0.0)))
    finally:
        kill_children(p.pid)
        stop(p)


def kill_children(pid):
    try:
        with open('/proc/%d/task/%d/children' % (pid, pid)) as f:
            for child in f.read().split():
                os.kill(int(child), signal.SIGKILL)
    except OSError:
        pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--pmpeek', required=True)
    ap.add_argument('--python', default='/usr/bin/python3.11')
    ap.add_argument('--vfork-holder', help='tests/helpers/vfork-holder')
    a = ap.parse_args()
    status = start_driver(a.pmpeek, a.python)
    if status is not None:
        return status
    pm, py = os.path.abspath(a.pmpeek), a.python
    bystander = start_code(py, sleeper())
    try:
        t = Table(pm, bystander)
        with tempfile.TemporaryDirectory(prefix='pmpeek-errors-') as tmp:
            usage_cases(t)
            process_cases(t, pm, py, tmp)
            file_cases(t, pm, py, tmp)
            snapshot_cases(t, tmp)
            valid_cases(t, pm, py, tmp)
            if a.vfork_holder:
                stuck_case(t, pm, a.vfork_holder)
            else:
                tap.skip_test('a target that does not stop',
                              'no --vfork-holder')
    finally:
        stop(bystander)
    return tap.done()


if __name__ == '__main__':
    sys.exit(main())
