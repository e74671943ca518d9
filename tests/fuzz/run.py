#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""run.py -- a short libFuzzer run of one pmpeek harness, from fresh seeds.

Usage:
  run.py --fuzzer PATH --kind elf|snapshot|replay|heap [--pmpeek PATH]
         [--seconds N] [--artifacts DIR] [--keep-corpus DIR]

Makes seeds for the harness in a temporary directory (see docs/fuzzing.md):
  elf       a tiny executable and shared object built with clang, holding
            _PyRuntime and a build-id, and a small synthetic core
  snapshot  a few snapshot documents
  replay    recordings (pmpeek --record) of small interpreters started
            here, one per Python version found, and a synthetic one
  heap      the same recordings as fixed bases, and a few patch lists
then runs every input of tests/fuzz/regressions/KIND once, then fuzzes for
N seconds (default $PMPEEK_FUZZ_SECONDS, else 20).  A crash, leak, UBSan
finding, timeout or out-of-memory fails the test; the input that caused it
is left in DIR (default: the current directory), named by libFuzzer.
"""
import argparse
import glob
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SKIP = 77


# -- elf seeds -------------------------------------------------------------

TINY_C = r'''
char _PyRuntime[256] = "xdebugpy";
unsigned long Py_Version = 0x030c01f0;
const char label[] = "# arenas allocated total";
long PyType_Type[64];
void _start(void) { for (;;) ; }
'''


def clang_seeds(outdir):
    cc = shutil.which('clang')
    if not cc:
        return
    src = os.path.join(outdir, 'tiny.c')
    with open(src, 'w') as f:
        f.write(TINY_C)
    for name, extra in (('tiny-exe', ['-static', '-no-pie']),
                        ('tiny-so', ['-shared', '-fPIC'])):
        subprocess.run([cc, '-nostdlib', '-Os', '-Wl,--build-id', '-o',
                        os.path.join(outdir, name), src] + extra,
                       check=False, capture_output=True)
    os.unlink(src)


def note(name, ntype, desc):
    name = name + b'\0'
    pad = lambda b: b + b'\0' * (-len(b) % 4)
    return struct.pack('<III', len(name), len(desc), ntype) + pad(name) + \
        pad(desc)


def synthetic_core():
    """A small x86-64 core: notes (prstatus, prpsinfo, auxv, file) and two
    loads, the first the start of a mapped ELF file with a build-id."""
    page = 4096
    va_file, va_anon = 0x400000, 0x7f0000000000
    # The mapped file's first page: an ELF header, one PT_NOTE, a build-id.
    bid = note(b'GNU', 3, bytes(range(20)))
    eh = struct.pack('<16sHHIQQQIHHHHHH',
                     b'\x7fELF\x02\x01\x01' + b'\0' * 9, 2, 62, 1,
                     va_file + 0x1000, 64, 0, 0, 64, 56, 1, 64, 0, 0)
    ph = struct.pack('<IIQQQQQQ', 4, 4, 120, va_file + 120, va_file + 120,
                     len(bid), len(bid), 4)
    filepage = (eh + ph + bid).ljust(page, b'\0')
    prstatus = bytearray(336)
    struct.pack_into('<H', prstatus, 12, 6)         # pr_cursig
    struct.pack_into('<i', prstatus, 32, 4242)      # pr_pid
    prpsinfo = bytearray(136)
    struct.pack_into('<i', prpsinfo, 24, 4242)
    prpsinfo[40:47] = b'python3'
    auxv = struct.pack('<QQQQQQ', 3, va_file + 64, 9, va_file + 0x1000, 0, 0)
    files = [(va_file, va_file + 2 * page, 0, b'/usr/bin/python3.11'),
             (va_file + 2 * page, va_file + 3 * page, 2,
              b'/usr/lib/libpython3.11.so.1.0')]
    nt_file = struct.pack('<QQ', len(files), page)
    for s, e, off, _ in files:
        nt_file += struct.pack('<QQQ', s, e, off)
    nt_file += b''.join(p + b'\0' for _, _, _, p in files)
    notes = note(b'CORE', 1, bytes(prstatus)) + \
        note(b'CORE', 3, bytes(prpsinfo)) + note(b'CORE', 6, auxv) + \
        note(b'CORE', 0x46494c45, nt_file)
    phnum = 3
    off_notes = 64 + phnum * 56
    off_data = (off_notes + len(notes) + page - 1) // page * page
    anon = (b'\x01' * 8 + struct.pack('<Q', va_anon)).ljust(page, b'\xaa')
    eh = struct.pack('<16sHHIQQQIHHHHHH',
                     b'\x7fELF\x02\x01\x01' + b'\0' * 9, 4, 62, 1, 0, 64, 0,
                     0, 64, 56, phnum, 64, 0, 0)
    phs = struct.pack('<IIQQQQQQ', 4, 0, off_notes, 0, 0, len(notes), 0, 4)
    phs += struct.pack('<IIQQQQQQ', 1, 5, off_data, va_file, 0, page,
                       2 * page, page)
    phs += struct.pack('<IIQQQQQQ', 1, 6, off_data + page, va_anon, 0, page,
                       page, page)
    head = (eh + phs + notes).ljust(off_data, b'\0')
    return head + filepage + anon


def elf_seeds(d, args):
    clang_seeds(d)
    with open(os.path.join(d, 'core'), 'wb') as f:
        f.write(synthetic_core())
    with open(os.path.join(d, 'not-elf'), 'wb') as f:
        f.write(b'\x7fELF' + b'\0' * 60)


# -- snapshot seeds -----------------------------------------------------------

def snapshot_seeds(d, args):
    base = {
        'format': 'pmpeek-snapshot', 'format_version': 1,
        'taken_at': '2026-11-21T14:00:00.123Z', 'scope': 'all',
        'pause_seconds': 0.0123,
        'source': {'kind': 'live', 'pid': 4242,
                   'executable': '/usr/bin/python3.11',
                   'python_version': '3.11.2'},
        'objects': {'count': 7, 'size': 700},
        'kinds': [{'kind': 'str', 'count': 4, 'size': 400},
                  {'kind': 'dict of mod.C', 'count': 2, 'size': 200},
                  {'kind': 'tuple', 'count': 1, 'size': 100}],
    }
    with open(os.path.join(d, 'small.json'), 'w') as f:
        json.dump(base, f)
    core = dict(base, source=dict(base['source'], kind='core',
                                  core='/tmp/core.1'), kinds=[])
    with open(os.path.join(d, 'core.json'), 'w') as f:
        json.dump(core, f)
    big = dict(base, kinds=[{'kind': 'k%d \u00e9"<&>' % i, 'count': i,
                             'size': 2 ** 63 - i} for i in range(40)])
    with open(os.path.join(d, 'odd.json'), 'w') as f:
        json.dump(big, f)


# -- replay seeds ---------------------------------------------------------------

def pythons():
    found = ['/usr/bin/python3.11']
    root = os.environ.get('PYENV_ROOT', os.path.expanduser('~/.pyenv'))
    for xy in ('3.8', '3.10', '3.12', '3.13'):
        c = sorted(glob.glob(os.path.join(root, 'versions', xy + '.*', 'bin',
                                          'python' + xy)))
        if c:
            found.append(c[-1])
    return [p for p in found if os.access(p, os.X_OK)]


def record(pmpeek, python, out):
    """Records one small interpreter; True when a recording was written."""
    code = ('import sys, time\n'
            'x = [{"a": (i, str(i))} for i in range(50)]\n'
            'sys.stdout.write("ready\\n"); sys.stdout.flush()\n'
            'time.sleep(600)\n')
    p = subprocess.Popen([python, '-S', '-I', '-c', code],
                         stdout=subprocess.PIPE, text=True)
    try:
        if p.stdout.readline().strip() != 'ready':
            return False
        r = subprocess.run([pmpeek, '--allocator', '--record', out,
                            str(p.pid)], capture_output=True, timeout=120)
        return r.returncode in (0, 1) and os.path.exists(out)
    finally:
        p.kill()
        p.wait()


def rec(rtype, payload):
    return struct.pack('<II', rtype, len(payload)) + payload


def synthetic_recording():
    out = b'PMPKREC\x01'
    out += rec(1, struct.pack('<i', 4242) + b'/usr/bin/python3.11')
    out += rec(2, struct.pack('<QQQQI', 0x400000, 0x401000, 0, 7, 5) +
               b'/usr/bin/python3.11')
    out += rec(2, struct.pack('<QQQQI', 0x7f0000000000, 0x7f0000010000, 0, 0,
                              3))
    out += rec(4, b'/usr/bin/python3.11')
    out += rec(5, struct.pack('<IiI', 2, 0, 10) + b'_PyRuntime' +
               struct.pack('<QQ', 0x7f0000000000 - 0x400000, 4096))
    out += rec(5, struct.pack('<IiI', 2, 0, 11) + b'PyType_Type' +
               struct.pack('<QQ', 0x7f0000000100 - 0x400000, 400))
    out += rec(5, struct.pack('<IiI', 4, 0, 16) + struct.pack('<QQ', 0x400000,
                                                              0) +
               struct.pack('<Q', 0x400000))
    out += rec(3, struct.pack('<Q', 0x7f0000000000) + b'xdebugpy' +
               struct.pack('<Q', 0x030c01f0) + b'\0' * 240)
    return out


def replay_seeds(d, args):
    with open(os.path.join(d, 'synthetic.rec'), 'wb') as f:
        f.write(synthetic_recording())
    if not args.pmpeek:
        return
    for py in pythons():
        name = os.path.basename(os.path.dirname(os.path.dirname(py))) \
            if '/versions/' in py else os.path.basename(py)
        out = os.path.join(d, name + '.rec')
        if not record(args.pmpeek, py, out):
            print('# no recording from %s (ptrace denied?)' % py)


def heap_seeds(d, args):
    """Recordings as the fixed bases, in $PMPEEK_FUZZ_BASE; the seeds are
    a few patch lists (see fuzz-heap.c)."""
    bases = os.path.join(os.path.dirname(d), 'bases')
    os.makedirs(bases, exist_ok=True)
    replay_seeds(bases, args)
    recs = sorted(os.path.join(bases, n) for n in os.listdir(bases)
                  if n != 'synthetic.rec')
    os.environ['PMPEEK_FUZZ_BASE'] = ':'.join(recs)
    for i in range(len(recs)):
        with open(os.path.join(d, 'base-%d' % i), 'wb') as f:
            f.write(bytes([i]))
        with open(os.path.join(d, 'patch-%d' % i), 'wb') as f:
            # Each op once: bytes, a copied word, a pointer, a nudge.
            f.write(bytes([i]) + b'\x00' + struct.pack('<I', 4096 * i + 8) +
                    b'\x08' + b'\xff' * 8 +
                    b'\x01' + struct.pack('<II', 64, 128) +
                    b'\x02' + struct.pack('<II', 256, 512) +
                    b'\x03' + struct.pack('<I', 1024) + b'\x81')
    return bool(recs)


SEEDS = {'elf': elf_seeds, 'snapshot': snapshot_seeds, 'replay': replay_seeds,
         'heap': heap_seeds}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--fuzzer', required=True)
    ap.add_argument('--kind', required=True, choices=sorted(SEEDS))
    ap.add_argument('--pmpeek')
    ap.add_argument('--seconds', type=int,
                    default=int(os.environ.get('PMPEEK_FUZZ_SECONDS', '20')))
    ap.add_argument('--artifacts', default='.')
    ap.add_argument('--keep-corpus')
    args = ap.parse_args()
    if not os.access(args.fuzzer, os.X_OK):
        print('# skip: no fuzzer at %s' % args.fuzzer)
        return SKIP
    env = os.environ  # heap_seeds() adds PMPEEK_FUZZ_BASE
    env.setdefault('ASAN_OPTIONS', 'detect_leaks=1:abort_on_error=0')
    env.setdefault('UBSAN_OPTIONS', 'print_stacktrace=1:halt_on_error=1')
    os.makedirs(args.artifacts, exist_ok=True)
    prefix = os.path.join(os.path.abspath(args.artifacts),
                          'fuzz-%s-' % args.kind)
    common = ['-timeout=30', '-rss_limit_mb=3072', '-artifact_prefix=' + prefix,
              '-print_final_stats=1']

    regressions = sorted(glob.glob(os.path.join(HERE, 'regressions',
                                                args.kind, '*')))
    with tempfile.TemporaryDirectory(prefix='pmpeek-fuzz-') as tmp:
        seeds = os.path.join(tmp, 'seeds')
        corpus = args.keep_corpus or os.path.join(tmp, 'corpus')
        os.makedirs(seeds)
        os.makedirs(corpus, exist_ok=True)
        if SEEDS[args.kind](seeds, args) is False:
            print('# skip: no recording to fuzz the heap of (ptrace denied, '
                  'or no interpreter)')
            return SKIP
        if regressions:
            print('# %d regression inputs' % len(regressions))
            r = subprocess.run([args.fuzzer] + common + regressions, env=env)
            if r.returncode != 0:
                print('not ok - a regression input fails again')
                return 1
        sizes = {n: os.path.getsize(os.path.join(seeds, n))
                 for n in sorted(os.listdir(seeds))}
        print('# seeds: %s' % ', '.join('%s (%d bytes)' % kv
                                        for kv in sizes.items()))
        # libFuzzer would cut inputs at 1 MiB; recordings are bigger.
        max_len = max([4096] + list(sizes.values()))
        start = time.time()
        r = subprocess.run([args.fuzzer, corpus, seeds] + common +
                           ['-max_total_time=%d' % args.seconds,
                            '-max_len=%d' % max_len], env=env)
        print('# fuzzed %.0f s, status %d' % (time.time() - start,
                                               r.returncode))
    if r.returncode != 0:
        print('not ok - libFuzzer found a problem; see %s*' % prefix)
        return 1
    print('ok - no crash, leak, hang or undefined behaviour found')
    return 0


if __name__ == '__main__':
    sys.exit(main())
