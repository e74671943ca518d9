#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""check-format.py -- every C source of the tree is as .clang-format says.

Usage: check-format.py SOURCE_ROOT [CLANG_FORMAT]

Runs CLANG_FORMAT (default clang-format) over every .c and .h file under
src/, include/, tests/, tools/ and bench/ and prints the name of each file
it would change, then 'N passed, N failed'; exits 1 when a file would
change.  Formatting differs between clang-format releases: the tree
follows Debian 12's clang-format 14 (tools/setup-debian installs it), and
the check skips (77) with any other release or without one.
"""
import re
import subprocess
import sys

import sourcecheck

TOPS = ["src", "include", "tests", "tools", "bench"]
WANT_MAJOR = 14
SKIP = 77


def main():
    root = sys.argv[1]
    tool = sys.argv[2] if len(sys.argv) > 2 else "clang-format"
    try:
        out = subprocess.run([tool, "--version"], capture_output=True,
                             text=True).stdout
    except OSError:
        print("# skip: %s not found" % tool)
        return SKIP
    m = re.search(r"version (\d+)\.", out)
    if not m or int(m.group(1)) != WANT_MAJOR:
        print("# skip: %s is not clang-format %d: %s"
              % (tool, WANT_MAJOR, out.strip()))
        return SKIP

    def check(root, path):
        if not path.endswith((".c", ".h")):
            return []
        cp = subprocess.run([tool, "--dry-run", "--Werror", "--style=file",
                             path], cwd=root, capture_output=True, text=True)
        if cp.returncode == 0:
            return []
        first = cp.stderr.strip().splitlines()
        return ["%s: not as .clang-format says (clang-format -i %s): %s"
                % (path, path, first[0] if first else cp.returncode)]

    return sourcecheck.run(root, TOPS, check)


if __name__ == "__main__":
    sys.exit(main())
