#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""build.py -- build pmpeek's libFuzzer harnesses with clang.

Usage:
  build.py --cc CLANG --src-root DIR --build-root DIR --outdir DIR
           --objdir DIR --depfile FILE --depfile-target OUT
           --harnesses H.c... --sources S.c...

The project itself may be built by gcc; libFuzzer needs clang.  So this
compiles every libpmpeek source once more, with clang and
-fsanitize=fuzzer-no-link,address,undefined, into OBJDIR (only what changed
since the last run, by modification time of the source and the headers it
included), then links each harness H.c into OUTDIR/H with
-fsanitize=fuzzer,address,undefined.  UBSan findings abort, as ASan's do.
FILE receives a Make-style depfile for ninja, naming OUT as its target.
"""
import argparse
import concurrent.futures
import os
import shlex
import subprocess
import sys

CFLAGS = ['-std=c11', '-g', '-O1', '-D_GNU_SOURCE', '-fno-omit-frame-pointer',
          '-fno-sanitize-recover=all', '-Wno-unused-command-line-argument']
LIB_SAN = '-fsanitize=fuzzer-no-link,address,undefined'
EXE_SAN = '-fsanitize=fuzzer,address,undefined'


def pkg_config(*args):
    pkgs = ['libelf', 'libdw', 'jansson']
    # Native stacks (src/unwind) link libunwind-ptrace when the build has it.
    if subprocess.run(['pkg-config', '--exists', 'libunwind-ptrace']
                      ).returncode == 0:
        pkgs.append('libunwind-ptrace')
    out = subprocess.run(['pkg-config'] + list(args) + pkgs,
                         capture_output=True, text=True, check=True)
    return shlex.split(out.stdout)


def deps_of(dfile):
    """The files a clang -MD depfile lists, or None when it is missing."""
    try:
        with open(dfile) as f:
            text = f.read().replace('\\\n', ' ')
    except OSError:
        return None
    _, _, rest = text.partition(':')
    return rest.split()


def stale(obj, dfile, src):
    if not os.path.exists(obj):
        return True
    deps = deps_of(dfile)
    if deps is None:
        return True
    t = os.path.getmtime(obj)
    return any(not os.path.exists(d) or os.path.getmtime(d) > t
               for d in deps + [src])


def compile_one(cc, flags, src, obj):
    dfile = obj + '.d'
    if not stale(obj, dfile, src):
        return None
    cmd = [cc] + flags + ['-MD', '-MF', dfile, '-c', src, '-o', obj]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        return '%s\n%s%s' % (' '.join(cmd), p.stdout, p.stderr)
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--cc', required=True)
    ap.add_argument('--src-root', required=True)
    ap.add_argument('--build-root', required=True)
    ap.add_argument('--outdir', required=True)
    ap.add_argument('--objdir', required=True)
    ap.add_argument('--depfile', required=True)
    ap.add_argument('--depfile-target', required=True)
    ap.add_argument('--harnesses', nargs='+', required=True)
    ap.add_argument('--sources', nargs='+', required=True)
    a = ap.parse_args()

    os.makedirs(a.objdir, exist_ok=True)
    src, bld = os.path.abspath(a.src_root), os.path.abspath(a.build_root)
    incs = ['-I' + d for d in (bld, src, os.path.join(src, 'include'),
                               os.path.join(src, 'src'),
                               os.path.join(src, 'tests', 'fuzz'))]
    flags = CFLAGS + incs + pkg_config('--cflags')

    jobs = []
    for s in a.sources + a.harnesses:
        s = os.path.abspath(s)
        rel = os.path.relpath(s, src) if s.startswith(src + os.sep) else \
            os.path.relpath(s, bld)
        obj = os.path.join(a.objdir, rel.replace(os.sep, '_') + '.o')
        jobs.append((s, obj))
    with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 2) as ex:
        errors = [e for e in ex.map(
            lambda j: compile_one(a.cc, flags + [LIB_SAN], j[0], j[1]), jobs)
            if e]
    if errors:
        sys.stderr.write('\n'.join(errors))
        return 1

    lib_objs = [o for s, o in jobs[:len(a.sources)]]
    libs = pkg_config('--libs')
    for (s, obj) in jobs[len(a.sources):]:
        name = os.path.splitext(os.path.basename(s))[0]
        out = os.path.join(a.outdir, name)
        cmd = [a.cc, EXE_SAN, '-g', obj] + lib_objs + libs + ['-o', out]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            sys.stderr.write('%s\n%s%s' % (' '.join(cmd), p.stdout, p.stderr))
            return 1

    # Every header any object included, for ninja to rebuild on change.
    deps = set()
    for s, obj in jobs:
        deps.update(deps_of(obj + '.d') or [])
    with open(a.depfile, 'w') as f:
        f.write('%s: %s\n' % (a.depfile_target.replace(' ', '\\ '),
                              ' \\\n '.join(sorted(d.replace(' ', '\\ ')
                                                   for d in deps))))
    return 0


if __name__ == '__main__':
    sys.exit(main())
