# SPDX-License-Identifier: MIT
"""sourcecheck.py -- what check-layers.py and check-no-writes.py share.

Both walk the C sources of the tree, print one line per problem, count a
file as failed when it has any, and end with 'N passed, N failed'.
"""
import os


def sources(root, tops):
    """Every .c, .h and .def file under root/top for each top, sorted."""
    for top in tops:
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
            dirnames.sort()
            for name in sorted(filenames):
                if name.endswith((".c", ".h", ".def")):
                    yield os.path.join(dirpath, name)


def run(root, tops, check):
    """Prints check(root, path)'s problems for every source and the
    summary; returns the exit status (1 when a file failed, or when
    there was no source at all)."""
    passed = failed = 0
    for path in sources(root, tops):
        problems = check(root, path)
        for p in problems:
            print(p)
        if problems:
            failed += 1
        else:
            passed += 1
    if passed + failed == 0:
        print("no sources found under %s" % root)
        failed = 1
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0
