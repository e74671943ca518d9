#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""test-core.py -- the census of a core file equals the live census.

Usage:
  test-core.py --pmpeek PATH --python PYTHON [--python PYTHON ...]
               [--label NAME] [--errors] [--require-kernel-core]

For each PYTHON, start fixtures/markers.py (FIFO-synced, `-S`, core limit
raised), take a live `pmpeek --json PID`, then
  - gcore it while it sleeps and run pmpeek on the gcore;
  - the same through --exe (a copy of the executable under another name)
    and through --lib-root (a tree of symlinks to every mapped file);
  - kill it with SIGABRT and run pmpeek on the kernel's core (skipped with
    a message when core_pattern pipes to a program or no core appears);
and check every core snapshot equals the live one (every kind's count and
size, the totals, executable and version), says "kind": "core", the core's
path and the target's pid, and that the markers match the fixture's truth.

--errors adds the error cases, with each PYTHON: an empty file, garbage,
a truncated core, a core of `sleep`, a wrong and a missing --exe, a
library whose build-id differs (refused, then accepted with --force), a
missing libpython.  Each must exit with its documented
status and print exactly one line on stderr.

TAP-like output (`ok N - ...`, `# skip: ...`), then `N passed, N failed,
N skipped`.  Exit 0 when all passed, 1 on any failure, 77 when nothing
could run (no python, no gcore, ptrace denied).
"""

import argparse
import glob
import json
import os
import re
import resource
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[2] / 'fixtures'
MARKERS = FIXTURES / 'markers.py'
READY_TIMEOUT = 60.0
RUN_TIMEOUT = 180.0
SKIP = 77

# pmpeek(1), EXIT STATUS.
EXIT_USAGE = 2
EXIT_PERM = 4
EXIT_NOPYTHON = 5
EXIT_CORRUPT = 8
EXIT_FILES = 10


class SkipAll(Exception):
    pass


class Tap(object):
    def __init__(self):
        self.n = self.passed = self.failed = self.skipped = 0
        self.prefix = ''

    def check(self, cond, desc, diag=None):
        self.n += 1
        if cond:
            self.passed += 1
            print('ok %d - %s%s' % (self.n, self.prefix, desc))
        else:
            self.failed += 1
            print('not ok %d - %s%s' % (self.n, self.prefix, desc))
            for line in str(diag or '').rstrip('\n').splitlines():
                print('#   ' + line)
        sys.stdout.flush()
        return bool(cond)

    def skip(self, desc):
        self.skipped += 1
        print('# skip: %s%s' % (self.prefix, desc))
        sys.stdout.flush()

    def summary(self):
        print('%d passed, %d failed, %d skipped'
              % (self.passed, self.failed, self.skipped))


def run(argv, timeout=RUN_TIMEOUT, **kw):
    try:
        return subprocess.run(argv, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True,
                              timeout=timeout, **kw)
    except subprocess.TimeoutExpired as e:
        return subprocess.CompletedProcess(argv, -999, e.stdout or '',
                                           'timed out after %.0f s' % timeout)


def describe(cp):
    return '%s: exit %s\nstderr: %s' % (' '.join(cp.args), cp.returncode,
                                        cp.stderr.strip()[-2000:])


def probe_python(python):
    code = ('import sys; sys.stdout.write("%s\\n%d.%d.%d\\n" % '
            '((sys.executable,) + tuple(sys.version_info[:3])))')
    cp = run([python, '-S', '-c', code], timeout=60)
    lines = cp.stdout.splitlines()
    if cp.returncode != 0 or len(lines) != 2:
        return None, 'exit %s' % cp.returncode
    return (lines[0] if os.access(lines[0], os.X_OK) else python), lines[1]


def _child_setup():
    """Between fork and exec: die with the driver; allow a full core."""
    resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY,
                                              resource.RLIM_INFINITY))
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def proc_state(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            data = f.read()
    except OSError:
        return None
    return data[data.rindex(')') + 2:].split()[0]


def proc_maps_files(pid):
    """The absolute paths the live process maps, from /proc/PID/maps."""
    files = set()
    with open('/proc/%d/maps' % pid) as f:
        for line in f:
            parts = line.split(None, 5)
            if len(parts) == 6 and parts[5].startswith('/'):
                files.add(parts[5].rstrip('\n'))
    return sorted(files)


class Target(object):
    """markers.py under one python, in workdir (where a kernel core goes)."""

    def __init__(self, python, workdir):
        self.python = python
        self.workdir = workdir
        self.fifo = os.path.join(workdir, 'ready.fifo')
        self.truth_path = os.path.join(workdir, 'truth.json')
        self.err_path = os.path.join(workdir, 'fixture.stderr')
        self.proc = None
        self.truth = None
        self.status = None  # raw wait status once reaped by us

    @property
    def pid(self):
        return self.proc.pid

    def start(self):
        os.mkfifo(self.fifo)
        rfd = os.open(self.fifo, os.O_RDONLY | os.O_NONBLOCK)
        try:
            with open(self.err_path, 'wb') as err:
                self.proc = subprocess.Popen(
                    [self.python, '-S', str(MARKERS), self.fifo,
                     self.truth_path],
                    cwd=self.workdir, stdin=subprocess.DEVNULL, stdout=err,
                    stderr=err, preexec_fn=_child_setup,
                    start_new_session=True)
            deadline = time.monotonic() + READY_TIMEOUT
            buf = b''
            while b'ready' not in buf:
                if time.monotonic() > deadline:
                    return 'no "ready" within %.0f s' % READY_TIMEOUT
                if self.proc.poll() is not None:
                    return 'fixture exited with %s: %s' % (
                        self.proc.returncode, self.stderr_text())
                r, _, _ = select.select([rfd], [], [], 0.2)
                if r:
                    try:
                        chunk = os.read(rfd, 64)
                    except BlockingIOError:
                        chunk = None
                    if chunk:
                        buf += chunk
                    elif chunk == b'':
                        time.sleep(0.05)
        finally:
            os.close(rfd)
        with open(self.truth_path) as f:
            self.truth = json.load(f)
        return None

    def stderr_text(self):
        try:
            with open(self.err_path, errors='replace') as f:
                return f.read()[-2000:]
        except OSError:
            return ''

    def abort(self, timeout=60.0):
        """SIGABRT, then reap it ourselves to see WCOREDUMP."""
        os.kill(self.pid, signal.SIGABRT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid == self.pid:
                self.status = status
                self.proc.returncode = -signal.SIGABRT
                return status
            time.sleep(0.05)
        return None

    def kill(self):
        if self.proc is None or self.status is not None:
            return
        if self.proc.poll() is None:
            try:
                self.proc.kill()
            except OSError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass


# --- snapshots ------------------------------------------------------------

def pmpeek_json(tap, pmpeek, args, what):
    cp = run([pmpeek, '--json'] + args)
    if cp.returncode == EXIT_PERM and what == 'live':
        raise SkipAll('pmpeek cannot attach (permission denied): '
                      + cp.stderr.strip())
    if not tap.check(cp.returncode == 0, '%s: pmpeek --json exits 0' % what,
                     describe(cp)):
        return None
    try:
        return json.loads(cp.stdout)
    except ValueError as e:
        tap.check(False, '%s: stdout is JSON' % what, e)
        return None


def kinds_of(doc):
    return dict((k['kind'], (k['count'], k['size'])) for k in doc['kinds'])


def compare(tap, live, doc, what, core_path, pid, truth):
    """Every check of a core snapshot against the live one and the truth."""
    src = doc.get('source') or {}
    lsrc = live.get('source') or {}
    tap.check(src.get('kind') == 'core', '%s: source.kind is "core"' % what,
              src)
    tap.check(src.get('core') == core_path, '%s: source.core is the path'
              % what, 'got %r, want %r' % (src.get('core'), core_path))
    tap.check(src.get('pid') == pid, '%s: source.pid is the target\'s'
              % what, 'got %r, want %r' % (src.get('pid'), pid))
    tap.check(src.get('executable') == lsrc.get('executable'),
              '%s: source.executable as live' % what,
              'got %r, live %r' % (src.get('executable'),
                                   lsrc.get('executable')))
    tap.check(src.get('python_version') == lsrc.get('python_version'),
              '%s: python_version as live' % what)
    tap.check(doc.get('pause_seconds') is None,
              '%s: pause_seconds is null' % what)
    for key in ('objects', 'partial', 'skipped_objects', 'scope'):
        tap.check(doc.get(key) == live.get(key), '%s: %s as live'
                  % (what, key), 'core %r\nlive %r'
                  % (doc.get(key), live.get(key)))
    lk, ck = kinds_of(live), kinds_of(doc)
    diff = sorted(set(lk) ^ set(ck)) + sorted(
        k for k in set(lk) & set(ck) if lk[k] != ck[k])
    tap.check(not diff, '%s: all %d kinds equal live (count and size)'
              % (what, len(lk)), '\n'.join(
                  '%s: live %s, core %s' % (k, lk.get(k), ck.get(k))
                  for k in diff[:20]))
    bad = []
    for name, want in sorted(truth['markers'].items()):
        got = ck.get(name)
        if got != (want['count'], want['size']):
            bad.append('%s: want %s, got %s' % (name, want, got))
    tap.check(not bad, '%s: markers equal the fixture\'s truth' % what,
              '\n'.join(bad))


def check_diff(tap, pmpeek, live, doc, workdir, what):
    """`pmpeek diff` of the live snapshot against the core's: no change."""
    paths = []
    for name, d in (('live', live), ('core', doc)):
        paths.append(os.path.join(workdir, '%s-%s.json' % (what, name)))
        with open(paths[-1], 'w') as f:
            json.dump(d, f)
    cp = run([pmpeek, 'diff', '--json'] + paths)
    rows = json.loads(cp.stdout).get('kinds', []) if cp.returncode == 0 \
        else None
    changed = [r for r in rows or []
               if r['count_delta'] or r['size_delta']]
    tap.check(rows is not None and not changed,
              '%s: pmpeek diff live core shows no change' % what,
              describe(cp) if rows is None else changed[:5])


def check_table(tap, pmpeek, core_path, doc, what):
    """`pmpeek --all CORE`: header totals as in JSON, nothing on stderr."""
    cp = run([pmpeek, '--all', core_path])
    m = re.match(r'Partition of a set of (\d+) objects\. Total size = '
                 r'(\d+) bytes\.', cp.stdout)
    objs = doc.get('objects') or {}
    tap.check(cp.returncode == 0 and m and int(m.group(1)) ==
              objs.get('count') and int(m.group(2)) == objs.get('size')
              and not cp.stderr.strip(),
              '%s: table header equals the JSON totals, stderr empty' % what,
              describe(cp) + '\nstdout: ' + cp.stdout[:200])


# --- cores ----------------------------------------------------------------

def gcore(tap, pid, workdir, name):
    prefix = os.path.join(workdir, name)
    cp = run(['gcore', '-o', prefix, str(pid)])
    path = '%s.%d' % (prefix, pid)
    if not tap.check(cp.returncode == 0 and os.path.isfile(path),
                     'gcore %s' % name, describe(cp)):
        return None
    return path


def kernel_core_glob(workdir, pid):
    """Where the kernel will write the core of pid started in workdir, as a
    glob, or (None, why) when core_pattern does not give a file."""
    try:
        with open('/proc/sys/kernel/core_pattern') as f:
            pattern = f.read().strip()
    except OSError as e:
        return None, 'cannot read core_pattern: %s' % e
    if not pattern or pattern.startswith('|'):
        return None, ('core_pattern pipes cores to %r; not changing it'
                      % pattern)
    try:
        with open('/proc/sys/kernel/core_uses_pid') as f:
            uses_pid = f.read().strip() == '1'
    except OSError:
        uses_pid = False
    out, i = '', 0
    while i < len(pattern):
        c = pattern[i]
        if c == '%' and i + 1 < len(pattern):
            spec = pattern[i + 1]
            out += '%' if spec == '%' else str(pid) if spec == 'p' else '*'
            i += 2
            continue
        out += glob.escape(c)
        i += 1
    if uses_pid and '%p' not in pattern:
        out += '.%d' % pid
    if not out.startswith('/'):
        out = os.path.join(glob.escape(workdir), out)
    return out, None


def kernel_core(tap, target):
    where, why = kernel_core_glob(target.workdir, target.pid)
    if where is None:
        return None, why
    start = time.time() - 1
    status = target.abort()
    if status is None:
        tap.check(False, 'kernel core: target dies of SIGABRT')
        return None, None
    tap.check(os.WIFSIGNALED(status) and
              os.WTERMSIG(status) == signal.SIGABRT,
              'kernel core: target dies of SIGABRT', 'status %r' % status)
    if not os.WCOREDUMP(status):
        return None, 'the kernel wrote no core (pattern %s)' % where
    found = [p for p in glob.glob(where)
             if os.path.isfile(p) and os.path.getmtime(p) >= start]
    if not found:
        return None, 'the kernel reported a core, but none matches %s' % where
    return max(found, key=os.path.getmtime), None


def symlink_tree(root, files, replace=None, leave_out=()):
    """root/<path> -> <path> for each mapped file; replace maps a path to
    another file to link instead."""
    for path in files:
        if path in leave_out:
            continue
        dest = os.path.join(root, path.lstrip('/'))
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        os.symlink((replace or {}).get(path, path), dest)


def run_python(tap, args, python):
    with tempfile.TemporaryDirectory(prefix='pmpeek-core-') as workdir:
        target = Target(python, workdir)
        try:
            err = target.start()
            if not tap.check(err is None, 'fixture ready', err):
                return
            pid, truth = target.pid, target.truth
            print('# target pid %d, python %s' % (pid,
                                                  truth['version_string']))
            live = pmpeek_json(tap, args.pmpeek, [str(pid)], 'live')
            if live is None:
                return
            files = proc_maps_files(pid)
            exe = os.readlink('/proc/%d/exe' % pid)

            if not shutil.which('gcore'):
                tap.skip('gcore: not installed')
            else:
                path = gcore(tap, pid, workdir, 'gcore')
                tap.check(proc_state(pid) in ('S', 'R'),
                          'target runs on after gcore', proc_state(pid))
                if path:
                    doc = pmpeek_json(tap, args.pmpeek, [path], 'gcore')
                    if doc:
                        compare(tap, live, doc, 'gcore', path, pid, truth)
                        check_table(tap, args.pmpeek, path, doc, 'gcore')
                        check_diff(tap, args.pmpeek, live, doc, workdir,
                                   'gcore')

                    # The executable under another name, through --exe.
                    copy = os.path.join(workdir, 'renamed-python')
                    shutil.copy2(exe, copy)
                    doc = pmpeek_json(tap, args.pmpeek,
                                      ['--exe', copy, path], 'gcore --exe')
                    if doc:
                        compare(tap, live, doc, 'gcore --exe', path, pid,
                                truth)

                    # Every mapped file under another root.
                    root = os.path.join(workdir, 'root')
                    symlink_tree(root, files)
                    doc = pmpeek_json(tap, args.pmpeek,
                                      ['--lib-root', root, path],
                                      'gcore --lib-root')
                    if doc:
                        compare(tap, live, doc, 'gcore --lib-root', path,
                                pid, truth)
                    if args.errors:
                        error_cases(tap, args, workdir, path, files, exe,
                                    live)

            path, why = kernel_core(tap, target)
            if path is None:
                if why:
                    if args.require_kernel_core:
                        tap.check(False, 'kernel core', why)
                    else:
                        tap.skip('kernel core: ' + why)
                return
            print('# kernel core %s, %d bytes' % (path,
                                                   os.path.getsize(path)))
            doc = pmpeek_json(tap, args.pmpeek, [path], 'kernel core')
            if doc:
                compare(tap, live, doc, 'kernel core', path, pid, truth)
                check_table(tap, args.pmpeek, path, doc, 'kernel core')
                check_diff(tap, args.pmpeek, live, doc, workdir,
                           'kernel-core')
        finally:
            target.kill()


# --- errors ---------------------------------------------------------------

def expect(tap, args, argv, status, pattern, desc):
    cp = run([args.pmpeek] + argv)
    lines = cp.stderr.strip().splitlines()
    tap.check(cp.returncode == status and len(lines) == 1 and
              re.search(pattern, lines[0]),
              'error: %s: status %d, one line' % (desc, status),
              '%s\nwant status %d and one line ~ %r'
              % (describe(cp), status, pattern))
    return cp


def error_cases(tap, args, workdir, core, files, exe, live):
    pm = args.pmpeek
    q = re.escape
    empty = os.path.join(workdir, 'empty')
    open(empty, 'w').close()
    expect(tap, args, [empty], EXIT_USAGE,
           r"^pmpeek: '%s' is not an ELF core file: the file is empty$"
           % q(empty), 'empty file')

    garbage = os.path.join(workdir, 'garbage')
    with open(garbage, 'wb') as f:
        f.write(bytes((i * 131 + 7) % 256 for i in range(65536)))
    expect(tap, args, [garbage], EXIT_USAGE,
           r"^pmpeek: '%s' is not an ELF core file: not an ELF file$"
           % q(garbage), 'garbage file')

    expect(tap, args, [exe], EXIT_USAGE,
           r"^pmpeek: '%s' is not an ELF core file: an ELF " % q(exe),
           'an executable, not a core')

    missing = os.path.join(workdir, 'no-such-core')
    expect(tap, args, [missing], EXIT_USAGE,
           r"^pmpeek: '%s' is neither a process id nor a core file: No such "
           r"file or directory$" % q(missing), 'missing core file')

    size = os.path.getsize(core)
    for frac in (0.5, 0.999):
        cut = os.path.join(workdir, 'truncated')
        with open(core, 'rb') as src, open(cut, 'wb') as dst:
            dst.write(src.read(int(size * frac)))
        expect(tap, args, [cut], EXIT_CORRUPT,
               r"^pmpeek: cannot read core '%s': truncated: %d bytes of "
               r"\d+$" % (q(cut), int(size * frac)),
               'core truncated to %g' % frac)
    cut = os.path.join(workdir, 'headers-only')
    with open(core, 'rb') as src, open(cut, 'wb') as dst:
        dst.write(src.read(100))
    expect(tap, args, [cut], EXIT_CORRUPT,
           r"^pmpeek: cannot read core '%s': " % q(cut),
           'core cut inside its program headers')

    bad = os.path.join(workdir, 'bad-note')
    with open(core, 'rb') as f:
        data = bytearray(f.read())
    # Garble every note header but keep the ELF and program headers.
    phoff = int.from_bytes(data[32:40], 'little')
    phnum = int.from_bytes(data[56:58], 'little')
    for i in range(phnum):
        ph = data[phoff + 56 * i:phoff + 56 * (i + 1)]
        if int.from_bytes(ph[0:4], 'little') == 4:  # PT_NOTE
            off = int.from_bytes(ph[8:16], 'little')
            n = int.from_bytes(ph[32:40], 'little')
            for k in range(off, off + n, 4):
                data[k:k + 4] = b'\xff\xff\xff\x7f'
    with open(bad, 'wb') as f:
        f.write(data)
    cp = run([pm, bad])
    tap.check(cp.returncode in (EXIT_NOPYTHON, EXIT_CORRUPT, EXIT_FILES) and
              len(cp.stderr.strip().splitlines()) == 1,
              'error: garbled notes: clear refusal, no crash', describe(cp))

    if shutil.which('sleep') and shutil.which('gcore'):
        sl = subprocess.Popen(['sleep', '600'], preexec_fn=_child_setup)
        time.sleep(0.2)
        try:
            prefix = os.path.join(workdir, 'sleep')
            run(['gcore', '-o', prefix, str(sl.pid)])
            sc = '%s.%d' % (prefix, sl.pid)
            expect(tap, args, [sc], EXIT_NOPYTHON,
                   r"^pmpeek: core '%s' \(pid %d, '.*sleep'\) is not of a "
                   r"Python process: no _PyRuntime" % (q(sc), sl.pid),
                   'core of sleep')
        finally:
            sl.kill()
            sl.wait()
    else:
        tap.skip('error: core of sleep: no sleep or gcore')

    other = shutil.which('sleep') or '/bin/sh'
    expect(tap, args, ['--exe', other, core], EXIT_FILES,
           r"^pmpeek: core '%s' does not match the files on disk: '%s' has "
           r"build-id [0-9a-f]+, the core maps '%s' with build-id [0-9a-f]+ "
           r"\(--force reads it anyway\)$" % (q(core), q(other), q(exe)),
           'wrong --exe')
    expect(tap, args, ['--exe', '/etc/hostname', core], EXIT_FILES,
           r"^pmpeek: core '%s' does not match the files on disk: "
           r"'/etc/hostname' is not an ELF file" % q(core),
           '--exe not an ELF file')
    nowhere = os.path.join(workdir, 'nowhere', 'python')
    expect(tap, args, ['--exe', nowhere, core], EXIT_FILES,
           r"^pmpeek: cannot read core '%s': executable '%s' not found$"
           % (q(core), q(nowhere)), 'missing --exe')
    empty_root = os.path.join(workdir, 'empty-root')
    os.mkdir(empty_root)
    expect(tap, args, ['--lib-root', empty_root, core], EXIT_FILES,
           r"^pmpeek: cannot read core '%s': executable '%s' not found "
           r"\(name it with --exe\)$" % (q(core), q(empty_root + exe)),
           '--lib-root without the executable')
    expect(tap, args, ['--exe', exe, '1'], EXIT_USAGE,
           r"^pmpeek: --exe, --lib-root and --force are for core files$",
           '--exe with a pid')

    # A library whose build-id differs: libm in libc's place.
    libc = [f for f in files if re.search(r'/libc\.so', f)]
    libm = [f for f in files if re.search(r'/libm\.so', f)]
    if libc and libm:
        root = os.path.join(workdir, 'root-mismatch')
        symlink_tree(root, files, replace={libc[0]: libm[0]})
        expect(tap, args, ['--lib-root', root, core], EXIT_FILES,
               r"^pmpeek: core '%s' does not match the files on disk: '%s' "
               r"has build-id [0-9a-f]+, the core maps '%s' with build-id "
               r"[0-9a-f]+ \(--force reads it anyway\)$"
               % (q(core), q(root + libc[0]), q(libc[0])),
               'library with another build-id')
        cp = run([pm, '--json', '--force', '--lib-root', root, core])
        lines = cp.stderr.strip().splitlines()
        ok = cp.returncode == 0 and len(lines) == 1 and re.search(
            r"^pmpeek: warning: '%s' is not the file the core maps; "
            r"reading it anyway$" % q(root + libc[0]), lines[0])
        tap.check(ok, 'error: --force reads on with one warning line',
                  describe(cp))
        if ok:
            tap.check(kinds_of(json.loads(cp.stdout)) == kinds_of(live),
                      'error: --force census equals live (libc unused)')
    else:
        tap.skip('error: build-id mismatch: no libc and libm mapped')

    # No libpython on disk: not found, and the message says which file.
    libpy = [f for f in files if re.search(r'/libpython3[^/]*\.so', f)]
    if libpy:
        root = os.path.join(workdir, 'root-nolibpython')
        symlink_tree(root, files, leave_out=libpy)
        expect(tap, args, ['--lib-root', root, core], EXIT_NOPYTHON,
               r"^pmpeek: core '%s' .* is not of a Python process: no "
               r"_PyRuntime in its executable or libraries \(\d+ mapped "
               r"files? not found, such as '%s'; see --lib-root\)$"
               % (q(core), q(root + libpy[0])), 'libpython missing')
    else:
        tap.skip('error: libpython missing: static interpreter')


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--pmpeek', required=True)
    ap.add_argument('--python', action='append', default=[])
    ap.add_argument('--label', default='')
    ap.add_argument('--errors', action='store_true',
                    help='also run the error cases')
    ap.add_argument('--require-kernel-core', action='store_true',
                    help='fail, not skip, when no kernel core can be made')
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda s, f: sys.exit(128 + s))
    tap = Tap()
    if not os.access(args.pmpeek, os.X_OK):
        print('Bail out! pmpeek not found: %s' % args.pmpeek)
        return 1
    if not shutil.which('gcore'):
        print('# skip: gcore (gdb) is not installed')
        return SKIP
    ran = 0
    try:
        for python in args.python:
            if not os.access(python, os.X_OK):
                tap.skip('%s not found' % python)
                continue
            exe, version = probe_python(python)
            if exe is None:
                tap.skip('%s not usable (%s)' % (python, version))
                continue
            ran += 1
            tap.prefix = '[%s%s] ' % (args.label + ' ' if args.label else '',
                                      python)
            run_python(tap, args, python)
    except SkipAll as e:
        print('# skip: %s' % e)
        tap.summary()
        return 1 if tap.failed else SKIP
    tap.summary()
    if tap.failed:
        return 1
    return SKIP if ran == 0 else 0


if __name__ == '__main__':
    sys.exit(main())
