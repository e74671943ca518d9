#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""check-no-writes.py -- pmpeek never writes to its target.

Usage: check-no-writes.py SOURCE_ROOT

Fails when a source under src/ or include/ mentions PTRACE_POKE*,
PTRACE_SETREGS* (and the other PTRACE_SET* register requests),
process_vm_writev, or opens a /proc/PID/mem path for writing: O_WRONLY or
O_RDWR (or an fopen mode with 'w', 'a' or '+') within a few lines of a
"/mem" string.  Comments count too: a forbidden call should not appear even
as an example.  Prints each hit with its context and 'N passed, N failed'
(one count per file); exits 1 when a file fails.
"""
import os
import re
import sys

FORBIDDEN = re.compile(
    r"\b(PTRACE_POKE\w*|PTRACE_SETREGS\w*|PTRACE_SETFPREGS\w*|"
    r"PTRACE_SETREGSET|PTRACE_SETSIGINFO|process_vm_writev)\b")
MEM_PATH = re.compile(r'"[^"\n]*/mem"')
WRITE_OPEN = re.compile(
    r"\bO_(WRONLY|RDWR)\b|\bfopen\s*\([^;]*,\s*\"[^\"]*[wa+][^\"]*\"")
# How many lines around a "/mem" path an open may be.
CONTEXT = 6


def files(root):
    for top in ("src", "include"):
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
            dirnames.sort()
            for name in sorted(filenames):
                if name.endswith((".c", ".h", ".def")):
                    yield os.path.join(dirpath, name)


def show(rel, lines, i):
    """The lines around line i (0-based), as grep -C would."""
    lo, hi = max(0, i - 2), min(len(lines), i + 3)
    return "\n".join("%s:%d%s %s" % (rel, n + 1, ":" if n == i else "-",
                                     lines[n].rstrip("\n"))
                     for n in range(lo, hi))


def check(root, path):
    rel = os.path.relpath(path, root)
    with open(path, encoding="utf-8") as f:
        lines = f.readlines()
    hits = []
    for i, line in enumerate(lines):
        m = FORBIDDEN.search(line)
        if m:
            hits.append("%s uses %s:\n%s" % (rel, m.group(1),
                                             show(rel, lines, i)))
        if MEM_PATH.search(line):
            lo, hi = max(0, i - CONTEXT), min(len(lines), i + CONTEXT + 1)
            for j in range(lo, hi):
                w = WRITE_OPEN.search(lines[j])
                if w:
                    hits.append("%s opens /proc/PID/mem for writing (%s):\n%s"
                                % (rel, w.group(0), show(rel, lines, j)))
    return hits


def main(argv):
    if len(argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    root = argv[1]
    passed = failed = 0
    for path in files(root):
        hits = check(root, path)
        for h in hits:
            print(h)
        if hits:
            failed += 1
        else:
            passed += 1
    if passed + failed == 0:
        print("no sources found under %s" % root)
        failed = 1
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
