#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# test-offsets-dwarf.py -- regenerate offsets/ files from installed pythons' DWARF

"""Check every committed offsets file against the DWARF of each interpreter
installed here whose version falls in the file's range and whose build kind
matches.  Exit 0 when all comparisons agree, 1 on any mismatch, 77 when
nothing could be checked."""

import argparse
import glob
import json
import os
import re
import shutil
import struct
import subprocess
import sys

from common import SKIP, Tap

DEBUG_ROOT = "/usr/lib/debug/.build-id"

# Runs inside each candidate interpreter, so it must stay valid Python 2.7.
PROBE = r"""
import json, os, sys, sysconfig
v = sysconfig.get_config_var
mapped = set()
maps_ok = True
try:
    for line in open('/proc/self/maps'):
        parts = line.split(None, 5)
        if len(parts) == 6 and os.path.basename(parts[5].strip()).startswith('libpython'):
            mapped.add(os.path.realpath(parts[5].strip()))
except (IOError, OSError):
    maps_ok = False
# Extension modules whose structs the offsets have (built in: no file).
modules = []
for name in ('_struct', 'array', '_asyncio', '_elementtree', '_decimal',
             '_queue', '_sqlite3'):
    try:
        modules.append(os.path.realpath(__import__(name).__file__))
    except (ImportError, AttributeError):
        pass
print(json.dumps({
    'version': list(sys.version_info[:3]),
    'debug': bool(v('Py_DEBUG')) or hasattr(sys, 'gettotalrefcount'),
    'gil_disabled': bool(v('Py_GIL_DISABLED')),
    'shared': bool(v('Py_ENABLE_SHARED')),
    'ldlibrary': v('LDLIBRARY') or '',
    'libdir': v('LIBDIR') or '',
    'executable': sys.executable,
    'mapped': sorted(mapped),
    'maps_ok': maps_ok,
    'modules': modules,
}))
"""


def parse_version(s):
    m = re.match(r"^(\d+)\.(\d+)\.(\d+)$", s)
    return tuple(int(x) for x in m.groups()) if m else None


def read_offsets_file(path):
    """Return (lo, hi, build, lines) where lines are the comparable lines."""
    lo = hi = build = None
    lines = []
    with open(path) as f:
        for raw in f:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            words = line.split()
            if words[0] == "python" and len(words) == 3:
                lo, hi = parse_version(words[1]), parse_version(words[2])
            elif words[0] == "build" and len(words) == 2:
                build = words[1]
            if words[0].startswith("const_"):
                continue
            lines.append(" ".join(words))
    return lo, hi, build, lines


def elf_sections(path):
    """Section (name, type, offset, size) tuples of a 64-bit little-endian ELF,
    or None for anything else."""
    try:
        with open(path, "rb") as f:
            ehdr = f.read(64)
            if len(ehdr) < 64 or ehdr[:4] != b"\x7fELF" or ehdr[4] != 2 or ehdr[5] != 1:
                return None
            shoff, = struct.unpack_from("<Q", ehdr, 0x28)
            shentsize, shnum, shstrndx = struct.unpack_from("<HHH", ehdr, 0x3A)
            if shoff == 0 or shnum == 0 or shentsize < 64:
                return None
            f.seek(shoff)
            table = f.read(shentsize * shnum)
            hdrs = []
            for i in range(shnum):
                name, stype, _flags, _addr, off, size = struct.unpack_from(
                    "<IIQQQQ", table, i * shentsize)
                hdrs.append((name, stype, off, size))
            _, _, stroff, strsize = hdrs[shstrndx]
            f.seek(stroff)
            strtab = f.read(strsize)
            out = []
            for name, stype, off, size in hdrs:
                end = strtab.find(b"\0", name)
                out.append((strtab[name:end].decode("latin-1"), stype, off, size))
            return out
    except (OSError, struct.error, IndexError):
        return None


def has_dwarf(path):
    secs = elf_sections(path)
    if not secs:
        return False
    # SHT_NOBITS (8) .debug_info is what strip --only-keep-debug leaves behind
    return any(n in (".debug_info", ".zdebug_info") and t != 8 and size > 0
               for n, t, _, size in secs)


def build_id(path):
    secs = elf_sections(path)
    if not secs:
        return None
    with open(path, "rb") as f:
        for _name, stype, off, size in secs:
            if stype != 7:  # SHT_NOTE
                continue
            f.seek(off)
            data = f.read(size)
            pos = 0
            while pos + 12 <= len(data):
                namesz, descsz, ntype = struct.unpack_from("<III", data, pos)
                pos += 12
                name = data[pos:pos + namesz]
                pos += (namesz + 3) & ~3
                desc = data[pos:pos + descsz]
                pos += (descsz + 3) & ~3
                if ntype == 3 and name.rstrip(b"\0") == b"GNU":  # NT_GNU_BUILD_ID
                    return desc.hex()
    return None


def find_dwarf(elf):
    """(elf, debug_file or None), or None when no DWARF can be found."""
    if has_dwarf(elf):
        return elf, None
    bid = build_id(elf)
    if bid and len(bid) > 2:
        dbg = os.path.join(DEBUG_ROOT, bid[:2], bid[2:] + ".debug")
        if has_dwarf(dbg):
            return elf, dbg
    return None


def pyenv_roots():
    roots = []
    exe = shutil.which("pyenv")
    if exe:
        try:
            r = subprocess.run([exe, "root"], capture_output=True, text=True,
                               timeout=30)
            if r.returncode == 0 and r.stdout.strip():
                roots.append(r.stdout.strip())
        except (OSError, subprocess.SubprocessError):
            pass
    if os.environ.get("PYENV_ROOT"):
        roots.append(os.environ["PYENV_ROOT"])
    roots += [os.path.expanduser("~/.pyenv"), "/root/.pyenv"]
    return roots


def candidate_pythons():
    found = []
    for root in pyenv_roots():
        for d in sorted(glob.glob(os.path.join(root, "versions", "*"))):
            for name in ("python3", "python"):
                p = os.path.join(d, "bin", name)
                if os.access(p, os.X_OK):
                    found.append(p)
                    break
    for p in sorted(glob.glob("/usr/bin/python3.*")):
        if re.search(r"/python3\.\d+d?$", p):
            found.append(p)
    for p in os.environ.get("PMPEEK_TEST_PYTHONS", "").split(":"):
        if p:
            found.append(p)
    seen, out = set(), []
    for p in found:
        rp = os.path.realpath(p)
        if rp not in seen and os.access(rp, os.X_OK):
            seen.add(rp)
            out.append(p)
    return out


def probe(python):
    try:
        r = subprocess.run([python, "-S", "-c", PROBE], capture_output=True,
                           text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    if r.returncode != 0:
        return None
    try:
        return json.loads(r.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None


def python_elf(info):
    """The ELF file holding the interpreter: libpython when the executable
    really loads it, else the executable.  Debian sets Py_ENABLE_SHARED yet
    links python3.X statically, hence the check against the mappings."""
    exe = os.path.realpath(info["executable"])
    lib = None
    if info["shared"] and info["ldlibrary"] and info["libdir"]:
        lib = os.path.realpath(os.path.join(info["libdir"], info["ldlibrary"]))
    if not info["maps_ok"]:
        return lib if lib and os.path.exists(lib) else exe
    if lib in info["mapped"]:
        return lib
    if info["mapped"]:
        return info["mapped"][0]
    return exe


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tool", required=True)
    ap.add_argument("--offsets-dir", required=True)
    args = ap.parse_args()

    tap = Tap()
    files = sorted(glob.glob(os.path.join(args.offsets_dir, "*.offsets")))
    if not files:
        print("# no offsets files in '%s'" % args.offsets_dir)
        tap.summary()
        return SKIP

    targets = []
    seen = set()
    for py in candidate_pythons():
        info = probe(py)
        if info is None:
            print("# skip '%s': does not run" % py)
            continue
        if info["gil_disabled"]:
            print("# skip '%s': free-threaded builds have no offsets files" % py)
            continue
        build = "debug" if info["debug"] else "default"
        elf = python_elf(info)
        key = (elf, build)
        if key in seen:
            continue
        seen.add(key)
        targets.append((py, tuple(info["version"]), build, elf,
                        info.get("modules", [])))

    for path in files:
        lo, hi, build, want = read_offsets_file(path)
        base = os.path.basename(path)
        if lo is None or hi is None or build is None:
            tap.check(False, "%s # no 'python LO HI' or 'build' line" % base)
            continue
        for py, version, pbuild, elf, modules in targets:
            if pbuild != build or not (lo <= version <= hi):
                continue
            vs = ".".join(map(str, version))
            what = "%s vs %s (%s, %s)" % (base, elf, vs, build)
            dw = find_dwarf(elf)
            if dw is None:
                tap.skip_test(what, "no DWARF and no build-id debug file")
                continue
            cmd = [args.tool, "--range", ".".join(map(str, lo)),
                   ".".join(map(str, hi)), "--build", build]
            if dw[1]:
                cmd += ["--debug-file", dw[1]]
                what += " with " + dw[1]
            for m in modules:
                cmd += ["--module", m]
            cmd.append(dw[0])
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                tap.check(False, "%s # tool exited %d: %s"
                          % (what, r.returncode, r.stderr.strip()))
                continue
            got = [" ".join(line.split()) for line in r.stdout.splitlines()
                   if line.strip() and not line.lstrip().startswith("#")
                   and not line.split()[0].startswith("const_")]
            if tap.check(got == want, what):
                continue
            wmap = dict(line.split(None, 1) for line in want)
            gmap = dict(line.split(None, 1) for line in got)
            for k in list(wmap) + [k for k in gmap if k not in wmap]:
                if wmap.get(k) != gmap.get(k):
                    tap.diag("%s: file %s, DWARF %s"
                             % (k, wmap.get(k, "(missing)"),
                                gmap.get(k, "(missing)")))
            if list(wmap) != list(gmap):
                tap.diag("field order differs")

    tap.summary()
    if tap.failed:
        return 1
    if tap.passed == 0:
        return SKIP
    return 0


if __name__ == "__main__":
    sys.exit(main())
