#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""pythons.py -- run an integration driver against chosen interpreters.

Usage:
  pythons.py [--stripped] WHICH -- DRIVER [DRIVER-ARGS...]

WHICH is one of:
  pyenv:X.Y     the newest pyenv build of X.Y ($(pyenv root)/versions)
  path:PATH     that interpreter
  env           every interpreter in $PMPEEK_TEST_PYTHONS (':'-separated)

The driver is run as `DRIVER DRIVER-ARGS... --python P` for each P found.
With --stripped, P is a wrapper that runs the interpreter against a
stripped copy of its libpython (strip, then LD_LIBRARY_PATH): the case of
distributions that ship no symbols.  Exits 77 (skipped) when no interpreter
is found, or when --stripped is given and the interpreter has no shared
libpython; otherwise with the driver's status.
"""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

SKIP = 77


def pyenv_root():
    try:
        out = subprocess.run(['pyenv', 'root'], capture_output=True,
                             text=True, timeout=30)
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return os.environ.get('PYENV_ROOT', os.path.expanduser('~/.pyenv'))


def version_key(path):
    m = re.search(r'/versions/(\d+)\.(\d+)\.(\d+)/', path)
    return tuple(int(x) for x in m.groups()) if m else (0, 0, 0)


def resolve(which):
    if which.startswith('pyenv:'):
        xy = which[6:]
        found = glob.glob(os.path.join(pyenv_root(), 'versions',
                                       xy + '.*', 'bin', 'python' + xy))
        found = [p for p in found if re.search(r'/versions/\d+\.\d+\.\d+/',
                                               p)]
        return [max(found, key=version_key)] if found else []
    if which.startswith('path:'):
        return [which[5:]] if os.access(which[5:], os.X_OK) else []
    if which == 'env':
        paths = os.environ.get('PMPEEK_TEST_PYTHONS', '')
        return [p for p in paths.split(':') if p and os.access(p, os.X_OK)]
    sys.exit('pythons.py: unknown interpreter set %r' % which)


def libpython_of(python):
    """The shared libpython the interpreter really maps, or None."""
    code = ('import re\n'
            'for l in open("/proc/self/maps"):\n'
            '    m = re.search(r"(/\\S*libpython3[^/ ]*\\.so[^/ ]*)$", l)\n'
            '    if m: print(m.group(1)); break\n')
    out = subprocess.run([python, '-S', '-c', code], capture_output=True,
                         text=True, timeout=60)
    lib = out.stdout.strip()
    return lib or None


def stripped_wrapper(python, tmp):
    lib = libpython_of(python)
    if not lib:
        return None
    libdir = os.path.join(tmp, 'lib')
    os.makedirs(libdir, exist_ok=True)
    copy = os.path.join(libdir, os.path.basename(lib))
    shutil.copy2(lib, copy)
    subprocess.run(['strip', copy], check=True)
    wrapper = os.path.join(tmp, 'python-stripped')
    with open(wrapper, 'w') as f:
        f.write('#!/bin/sh\nLD_LIBRARY_PATH=%s exec %s "$@"\n'
                % (libdir, python))
    os.chmod(wrapper, 0o755)
    return wrapper


def main(argv):
    stripped = False
    if argv and argv[0] == '--stripped':
        stripped = True
        argv = argv[1:]
    if len(argv) < 3 or argv[1] != '--':
        sys.exit(__doc__)
    pythons = resolve(argv[0])
    if not pythons:
        print('# skip: no interpreter for %s' % argv[0])
        return SKIP
    status = SKIP
    with tempfile.TemporaryDirectory(prefix='pmpeek-py-') as tmp:
        for i, python in enumerate(pythons):
            if stripped:
                python = stripped_wrapper(python, os.path.join(tmp, str(i)))
                if not python:
                    print('# skip: %s has no shared libpython to strip'
                          % pythons[i])
                    continue
                print('# %s with a stripped copy of its libpython'
                      % pythons[i])
            rc = subprocess.call(argv[2:] + ['--python', python])
            if rc != SKIP and status in (SKIP, 0):
                status = rc
    return status


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
