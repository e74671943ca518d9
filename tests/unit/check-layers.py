#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""check-layers.py -- a lower layer of src/ never includes an upper one.

Usage: check-layers.py SOURCE_ROOT

Layers, bottom up: error.[ch]/types.h/array.[ch]/utf8.[ch], elf, target,
cpython, census, snapshot, unwind, cli.  Each file under src/<layer>/ and
each public header include/pmpeek/<name>.h may include only headers of its
own layer or below.
Prints one line per offending #include and 'N passed, N failed' (one count
per file), and exits 1 when a file fails.
"""
import os
import re
import sys

import sourcecheck

LAYERS = ["base", "elf", "target", "cpython", "census", "snapshot", "unwind",
          "cli"]
RANK = {name: i for i, name in enumerate(LAYERS)}

# Public headers and the layer each belongs to.
PUBLIC = {
    "error.h": "base",
    "types.h": "base",
    "target.h": "target",
    "python.h": "cpython",
    "allocator.h": "cpython",
    "census.h": "census",
    "snapshot.h": "snapshot",
    "stacks.h": "cpython",
    "paths.h": "census",
    "unwind.h": "unwind",
}

# Files directly under src/ and the layer each belongs to.
SRC_TOP = {
    "array.c": "base",
    "array.h": "base",
    "error.c": "base",
    "utf8.c": "base",
    "utf8.h": "base",
}

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def layer_of_file(root, path):
    """The layer a file of the tree belongs to, or None when unknown."""
    rel = os.path.relpath(path, root).split(os.sep)
    if rel[0] == "include" and len(rel) == 3 and rel[1] == "pmpeek":
        return PUBLIC.get(rel[2])
    if rel[0] == "src" and len(rel) == 2:
        return SRC_TOP.get(rel[1])
    if rel[0] == "src" and len(rel) >= 3:
        return rel[1] if rel[1] in RANK else None
    return None


def layer_of_include(root, including, name):
    """The layer of the header that '#include "name"' names, or None."""
    if name == "config.h":
        return "base"
    if name.startswith("pmpeek/"):
        return PUBLIC.get(name[len("pmpeek/"):])
    first = name.split("/")[0]
    if "/" in name and first in RANK:
        return first
    if name in SRC_TOP:
        return SRC_TOP[name]
    # Relative to the including file (a header beside its .c file).
    here = os.path.join(os.path.dirname(including), name)
    if os.path.exists(here):
        return layer_of_file(root, here)
    return None


def check(root, path):
    """Problems found in one file, as printable lines."""
    problems = []
    rel = os.path.relpath(path, root)
    mine = layer_of_file(root, path)
    if mine is None:
        return ["%s: belongs to no known layer" % rel]
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            m = INCLUDE.match(line)
            if not m or m.group(1) == "<":
                # System headers; <config.h> is the build's.
                continue
            name = m.group(2)
            theirs = layer_of_include(root, path, name)
            if theirs is None:
                problems.append("%s:%d: '%s' is in no known layer"
                                % (rel, lineno, name))
            elif RANK[theirs] > RANK[mine]:
                problems.append("%s:%d: layer '%s' includes '%s' of higher "
                                "layer '%s'" % (rel, lineno, mine, name, theirs))
    return problems


def main(argv):
    if len(argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    return sourcecheck.run(argv[1], ("src", "include"), check)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
