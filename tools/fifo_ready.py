# SPDX-License-Identifier: MIT
"""fifo_ready.py -- waiting for a target's "ready" on a FIFO.

The fixtures and the demo target write "ready" to a FIFO once their heap
is built.  Shared by tools/demo.py and the integration tests
(tests/integration/common.py), which import it from this directory.
"""
import os
import select
import time


def wait_ready(rfd, proc, timeout):
    """None once "ready" came on the non-blocking FIFO rfd, else why not:
    no "ready" within timeout seconds, or proc (a Popen) exited first."""
    deadline = time.monotonic() + timeout
    buf = b''
    while b'ready' not in buf:
        left = deadline - time.monotonic()
        if left <= 0:
            return 'no "ready" on the FIFO within %.0f s' % timeout
        r, _, _ = select.select([rfd], [], [], min(0.2, left))
        if r:
            try:
                chunk = os.read(rfd, 256)
            except BlockingIOError:
                chunk = None
            if chunk:
                buf += chunk
                continue
            if chunk == b'':
                # A writer came and went without "ready": do not spin.
                time.sleep(0.1)
        if proc.poll() is not None:
            return 'exited with status %d before "ready"' % proc.returncode
    return None
