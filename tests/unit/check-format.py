#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""check-format.py -- every C source of the tree is as .clang-format says.

Usage: check-format.py SOURCE_ROOT [CLANG_FORMAT]

Runs clang-format (CLANG_FORMAT, else clang-format-14, else clang-format)
over every .c and .h file under src/, include/, tests/, tools/ and bench/
at once, prints each file it would change, then 'N passed, N failed';
exits 1 when a file would change.  Formatting differs between clang-format
releases: the tree follows Debian 12's clang-format 14 (tools/setup-debian
installs it), and the check skips (77) with any other release or none.
"""
import os
import re
import subprocess
import sys

import sourcecheck

TOPS = ["src", "include", "tests", "tools", "bench"]
WANT_MAJOR = 14
SKIP = 77


def version(tool):
    """clang-format's major version, or None when it does not run."""
    try:
        out = subprocess.run([tool, "--version"], capture_output=True,
                             text=True).stdout
    except OSError:
        return None
    m = re.search(r"version (\d+)\.", out)
    return int(m.group(1)) if m else None


def main():
    root = os.path.abspath(sys.argv[1])
    tools = sys.argv[2:3] or ["clang-format-%d" % WANT_MAJOR, "clang-format"]
    tool = next((t for t in tools if version(t) == WANT_MAJOR), None)
    if tool is None:
        print("# skip: no clang-format %d (tried %s)"
              % (WANT_MAJOR, ", ".join(tools)))
        return SKIP
    files = [p for p in sourcecheck.sources(root, TOPS)
             if p.endswith((".c", ".h"))]
    if not files:
        print("no sources found under %s" % root)
        return 1
    cp = subprocess.run([tool, "--dry-run", "--Werror", "--style=file"]
                        + files, cwd=root, capture_output=True, text=True)
    bad = sorted(set(p for p in files if p + ":" in cp.stderr))
    for p in bad:
        print("%s: not as .clang-format says (%s -i %s)" % (p, tool, p))
    if cp.returncode != 0 and not bad:
        print("%s failed: %s" % (tool, cp.stderr.strip()[:500]))
        return 1
    print("%d passed, %d failed" % (len(files) - len(bad), len(bad)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
