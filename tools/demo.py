#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Run pmpeek against a demo target: the markers fixture.

Usage: tools/demo.py [--scale K] PMPEEK [PYTHON] [-- PMPEEK-OPTIONS...]

Starts fixtures/markers.py under PYTHON (default /usr/bin/python3.11 if
present, else python3), waits until it is ready, prints
`# demo target: pid N (python X.Y.Z)`, runs `PMPEEK [OPTIONS] PID` with
this terminal as its stdout, prints what the target itself counted for the
marker classes, kills the target and exits with pmpeek's exit status.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from fifo_ready import wait_ready

MARKERS = Path(__file__).resolve().parents[1] / 'fixtures' / 'markers.py'
DEFAULT_PYTHON = '/usr/bin/python3.11'
READY_TIMEOUT = 60.0


def usage(msg=None):
    if msg:
        sys.stderr.write('demo.py: %s\n' % msg)
    sys.stderr.write('usage: tools/demo.py [--scale K] PMPEEK [PYTHON] '
                     '[-- PMPEEK-OPTIONS...]\n')
    sys.exit(2)


def parse_args(argv):
    scale = None
    pos = []
    extra = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == '--':
            extra = argv[i + 1:]
            break
        if a in ('-h', '--help'):
            sys.stdout.write(__doc__)
            sys.exit(0)
        if a == '--scale':
            if i + 1 >= len(argv):
                usage('--scale needs a value')
            scale = argv[i + 1]
            i += 2
            continue
        if a.startswith('--scale='):
            scale = a.split('=', 1)[1]
        elif a.startswith('-'):
            usage('unknown option %s' % a)
        else:
            pos.append(a)
        i += 1
    if not 1 <= len(pos) <= 2:
        usage()
    if scale is not None and not (scale.isdigit() and int(scale) >= 1):
        usage('--scale needs a positive integer')
    return scale, pos[0], (pos[1] if len(pos) == 2 else None), extra


def default_python():
    if os.access(DEFAULT_PYTHON, os.X_OK):
        return DEFAULT_PYTHON
    return shutil.which('python3') or 'python3'


def _child_setup():
    # The target dies with us even if we are killed.
    try:
        import ctypes
        ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)  # PDEATHSIG
    except Exception:
        pass


def main():
    scale, pmpeek, python, extra = parse_args(sys.argv[1:])
    python = python or default_python()
    if os.sep in pmpeek and not os.access(pmpeek, os.X_OK):
        usage('%s is not executable' % pmpeek)

    with tempfile.TemporaryDirectory(prefix='pmpeek-demo-') as workdir:
        fifo = os.path.join(workdir, 'ready.fifo')
        truth_path = os.path.join(workdir, 'truth.json')
        err_path = os.path.join(workdir, 'target.stderr')
        os.mkfifo(fifo)
        rfd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        cmd = [python, '-S', str(MARKERS)]
        if scale:
            cmd += ['--scale', scale]
        cmd += [fifo, truth_path]
        target = None
        try:
            with open(err_path, 'wb') as err:
                try:
                    target = subprocess.Popen(
                        cmd, stdin=subprocess.DEVNULL, stdout=err,
                        stderr=err, preexec_fn=_child_setup,
                        start_new_session=True)
                except OSError as e:
                    sys.stderr.write('demo.py: cannot run %s: %s\n'
                                     % (python, e))
                    return 9
            problem = wait_ready(rfd, target, READY_TIMEOUT)
            if problem:
                with open(err_path, 'rb') as f:
                    detail = f.read().decode('utf-8', 'replace')
                sys.stderr.write('demo.py: target %s\n%s' % (problem, detail))
                return 9
            with open(truth_path) as f:
                truth = json.load(f)

            print('# demo target: pid %d (python %s)'
                  % (target.pid, truth['version_string']))
            sys.stdout.flush()

            try:
                pm = subprocess.Popen([pmpeek] + extra + [str(target.pid)])
            except OSError as e:
                sys.stderr.write('demo.py: cannot run %s: %s\n' % (pmpeek, e))
                return 9
            while True:
                try:
                    rc = pm.wait()
                    break
                except KeyboardInterrupt:
                    # pmpeek got the SIGINT too; let it detach and exit.
                    continue
            if rc < 0:
                rc = 128 - rc

            try:
                sys.stdout.flush()
                print('# the target itself counted (gc.get_objects(), '
                      'sys.getsizeof):')
                for name in sorted(truth['markers'],
                                   key=lambda n: -truth['markers'][n]['size']):
                    m = truth['markers'][name]
                    print('#   %-22s count %7d  size %9d'
                          % (name, m['count'], m['size']))
                sys.stdout.flush()
            except BrokenPipeError:
                # e.g. piped into head; don't fail again at exit
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return rc
        finally:
            os.close(rfd)
            if target is not None and target.poll() is None:
                target.kill()
                target.wait()


if __name__ == '__main__':
    sys.exit(main())
