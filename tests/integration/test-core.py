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

import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from common import (EXIT_CORRUPT, EXIT_FILES, EXIT_NOPYTHON, EXIT_USAGE, SKIP,
                    Fixture, Tap, abort_for_core, child_setup, describe,
                    driver_parser, for_pythons, gcore, kinds_of, one_line,
                    parse_json, prefix, proc_state, run, skip_if_denied,
                    start_driver, stop, taken_ms, write)


def core_child_setup():
    """Between fork and exec: allow a full core, and child_setup()."""
    resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY,
                                              resource.RLIM_INFINITY))
    child_setup()


def proc_maps_files(pid):
    """The absolute paths the live process maps, from /proc/PID/maps."""
    files = set()
    with open('/proc/%d/maps' % pid) as f:
        for line in f:
            parts = line.split(None, 5)
            if len(parts) == 6 and parts[5].startswith('/'):
                files.add(parts[5].rstrip('\n'))
    return sorted(files)


class Target(Fixture):
    """markers.py under one python, in workdir (where a kernel core goes)."""

    def __init__(self, python, workdir):
        Fixture.__init__(self, python, workdir, 'markers.py', 'truth.json',
                         preexec_fn=core_child_setup)


# --- snapshots ------------------------------------------------------------

def pmpeek_json(tap, pmpeek, args, what):
    cp = run([pmpeek, '--json'] + args)
    if what == 'live':
        skip_if_denied(cp)
    if not tap.check(cp.returncode == 0, '%s: pmpeek --json exits 0' % what,
                     describe(cp)):
        return None
    return parse_json(tap, cp.stdout, '%s: stdout is JSON' % what)


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
    got, want = taken_ms(doc.get('taken_at')), os.stat(core_path).st_mtime_ns
    tap.check(got is not None and abs(got - want // 10**6) <= 1,
              '%s: taken_at is when the core was written' % what,
              'got %r, core written at %d ms' % (doc.get('taken_at'),
                                                 want // 10**6))
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
              describe(cp))


# --- cores ----------------------------------------------------------------

def kernel_core(tap, target):
    path, status, why = abort_for_core(target.proc, target.workdir)
    if status is None:
        if why is None:
            tap.check(False, 'kernel core: target dies of SIGABRT')
        return None, why
    tap.check(os.WIFSIGNALED(status) and
              os.WTERMSIG(status) == signal.SIGABRT,
              'kernel core: target dies of SIGABRT', 'status %r' % status)
    return path, why


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
            why = target.start()
            if not tap.check(why is None, 'fixture ready', why):
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
                path, cp = gcore(pid, os.path.join(workdir, 'gcore'))
                tap.check(path, 'gcore gcore', describe(cp))
                tap.check(proc_state(pid) in ('S', 'R'),
                          'target runs on after gcore', proc_state(pid))
                if path:
                    doc = pmpeek_json(tap, args.pmpeek, [path], 'gcore')
                    if doc is not None:
                        compare(tap, live, doc, 'gcore', path, pid, truth)
                        check_table(tap, args.pmpeek, path, doc, 'gcore')
                        check_diff(tap, args.pmpeek, live, doc, workdir,
                                   'gcore')

                    # The executable under another name, through --exe.
                    copy = os.path.join(workdir, 'renamed-python')
                    shutil.copy2(exe, copy)
                    doc = pmpeek_json(tap, args.pmpeek,
                                      ['--exe', copy, path], 'gcore --exe')
                    if doc is not None:
                        compare(tap, live, doc, 'gcore --exe', path, pid,
                                truth)

                    # Every mapped file under another root.
                    root = os.path.join(workdir, 'root')
                    symlink_tree(root, files)
                    doc = pmpeek_json(tap, args.pmpeek,
                                      ['--lib-root', root, path],
                                      'gcore --lib-root')
                    if doc is not None:
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
            if doc is not None:
                compare(tap, live, doc, 'kernel core', path, pid, truth)
                check_table(tap, args.pmpeek, path, doc, 'kernel core')
                check_diff(tap, args.pmpeek, live, doc, workdir,
                           'kernel-core')
        finally:
            target.kill()


# --- errors ---------------------------------------------------------------

def expect(tap, args, argv, status, pattern, desc):
    cp = run([args.pmpeek] + argv)
    tap.check(one_line(cp, status, pattern),
              'error: %s: status %d, one line' % (desc, status),
              '%s\nwant status %d and one line ~ %r'
              % (describe(cp), status, pattern))
    return cp


def error_cases(tap, args, workdir, core, files, exe, live):
    pm = args.pmpeek
    q = re.escape
    empty = write(os.path.join(workdir, 'empty'), b'')
    expect(tap, args, [empty], EXIT_USAGE,
           r"^pmpeek: '%s' is not an ELF core file: the file is empty$"
           % q(empty), 'empty file')

    garbage = write(os.path.join(workdir, 'garbage'),
                    bytes((i * 131 + 7) % 256 for i in range(65536)))
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

    with open(core, 'rb') as f:
        data = bytearray(f.read())
    for frac in (0.5, 0.999):
        size = int(len(data) * frac)
        cut = write(os.path.join(workdir, 'truncated'), bytes(data[:size]))
        expect(tap, args, [cut], EXIT_CORRUPT,
               r"^pmpeek: cannot read core '%s': truncated: %d bytes of "
               r"\d+$" % (q(cut), size), 'core truncated to %g' % frac)
    cut = write(os.path.join(workdir, 'headers-only'), bytes(data[:100]))
    expect(tap, args, [cut], EXIT_CORRUPT,
           r"^pmpeek: cannot read core '%s': " % q(cut),
           'core cut inside its program headers')

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
    bad = write(os.path.join(workdir, 'bad-note'), bytes(data))
    cp = run([pm, bad])
    tap.check(cp.returncode in (EXIT_NOPYTHON, EXIT_CORRUPT, EXIT_FILES) and
              len(cp.stderr.strip().splitlines()) == 1,
              'error: garbled notes: clear refusal, no crash', describe(cp))

    if shutil.which('sleep') and shutil.which('gcore'):
        sl = subprocess.Popen(['sleep', '600'], preexec_fn=child_setup)
        time.sleep(0.2)
        try:
            base = os.path.join(workdir, 'sleep')
            run(['gcore', '-o', base, str(sl.pid)])
            sc = '%s.%d' % (base, sl.pid)
            expect(tap, args, [sc], EXIT_NOPYTHON,
                   r"^pmpeek: core '%s' \(pid %d, '.*sleep'\) is not of a "
                   r"Python process: no _PyRuntime" % (q(sc), sl.pid),
                   'core of sleep')
        finally:
            stop(sl)
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
    ap = driver_parser(__doc__)
    ap.add_argument('--errors', action='store_true',
                    help='also run the error cases')
    ap.add_argument('--require-kernel-core', action='store_true',
                    help='fail, not skip, when no kernel core can be made')
    args = ap.parse_args()
    tap = Tap(count_skips=True)
    status = start_driver(args.pmpeek)
    if status is not None:
        return status
    if not shutil.which('gcore'):
        print('# skip: gcore (gdb) is not installed')
        return SKIP

    def each(python, version):
        tap.prefix = prefix(args.label, python)
        run_python(tap, args, python)

    return for_pythons(tap, args.python, each)


if __name__ == '__main__':
    sys.exit(main())
