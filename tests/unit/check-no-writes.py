#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""check-no-writes.py -- pmpeek never writes to its target.

Usage: check-no-writes.py SOURCE_ROOT
       check-no-writes.py --self-test

Scans every C source and header under src/, include/, tools/ and bench/
and fails a file that can change its target:
  - writes to its memory or registers: PTRACE_POKE*, any PTRACE_SET*
    request (registers, signal info and mask, options), PTRACE_ARCH_PRCTL,
    process_vm_writev and its raw syscall numbers, or a /proc/PID/mem path
    opened for writing (O_WRONLY or O_RDWR, or an fopen mode with 'w', 'a'
    or '+', within a few lines of a "/mem" string);
  - changes how it runs: a ptrace() request other than SEIZE, INTERRUPT,
    DETACH, PEEK* and GET* (PTRACE_ATTACH sends a SIGSTOP, PTRACE_CONT
    would resume a target that was stopped), a raw ptrace syscall that
    would bypass that check, a kill() with a signal other than 0, and
    tgkill(), tkill(), sigqueue() and pidfd_send_signal().
Comments count too: a forbidden call should not appear even as an example.
Prints each hit with its context and 'N passed, N failed' (one count per
file); exits 1 when a file fails.  --self-test runs the checks against
snippets that must fail and one that must pass.
"""
import os
import re
import sys

import sourcecheck

FORBIDDEN = re.compile(
    r"\b(PTRACE_POKE\w*|PTRACE_SET\w*|PTRACE_ARCH_PRCTL|PTRACE_KILL|"
    r"PTRACE_ATTACH|PTRACE_CONT|PTRACE_SYSCALL\w*|PTRACE_SINGLESTEP|"
    r"PTRACE_SYSEMU\w*|PTRACE_LISTEN|process_vm_writev|"
    r"SYS_process_vm_writev|__NR_process_vm_writev|SYS_ptrace|__NR_ptrace|"
    r"tgkill|tkill|sigqueue|pidfd_send_signal)\b")
MEM_PATH = re.compile(r'"[^"\n]*/mem"')
WRITE_OPEN = re.compile(
    r"\bO_(WRONLY|RDWR)\b|\bfopen\s*\([^;]*,\s*\"[^\"]*[wa+][^\"]*\"")
# ptrace(REQUEST, ...): the requests that only read or let go.
PTRACE_CALL = re.compile(r"\bptrace\s*\(\s*([^,)]*)")
PTRACE_OK = re.compile(r"^PTRACE_(SEIZE|INTERRUPT|DETACH|PEEK\w+|GET\w+)$")
# kill(pid, sig): only the existence probe, signal 0.
KILL_CALL = re.compile(r"(?<![\w.>])kill\s*\(\s*[^,()]*(?:\([^()]*\))?[^,()]*,"
                       r"\s*([^)]*)\)")
# How many lines around a "/mem" path an open may be.
CONTEXT = 6
TOPS = ("src", "include", "tools", "bench")


def show(rel, lines, i):
    """The lines around line i (0-based), as grep -C would."""
    lo, hi = max(0, i - 2), min(len(lines), i + 3)
    return "\n".join("%s:%d%s %s" % (rel, n + 1, ":" if n == i else "-",
                                     lines[n].rstrip("\n"))
                     for n in range(lo, hi))


def check_lines(rel, lines):
    hits = []
    for i, line in enumerate(lines):
        for m in FORBIDDEN.finditer(line):
            hits.append("%s uses %s:\n%s" % (rel, m.group(1),
                                             show(rel, lines, i)))
        for m in PTRACE_CALL.finditer(line):
            req = m.group(1).strip()
            if not PTRACE_OK.match(req):
                hits.append("%s calls ptrace(%s), which may change the "
                            "target:\n%s" % (rel, req, show(rel, lines, i)))
        for m in KILL_CALL.finditer(line):
            sig = m.group(1).strip()
            if sig != "0":
                hits.append("%s sends signal %s with kill():\n%s"
                            % (rel, sig, show(rel, lines, i)))
        if MEM_PATH.search(line):
            lo, hi = max(0, i - CONTEXT), min(len(lines), i + CONTEXT + 1)
            for j in range(lo, hi):
                w = WRITE_OPEN.search(lines[j])
                if w:
                    hits.append("%s opens /proc/PID/mem for writing (%s):\n%s"
                                % (rel, w.group(0), show(rel, lines, j)))
    return hits


def check(root, path):
    rel = os.path.relpath(path, root)
    with open(path, encoding="utf-8") as f:
        return check_lines(rel, f.readlines())


MUST_FAIL = [
    "ptrace(PTRACE_POKEDATA, pid, addr, word);",
    "ptrace(PTRACE_POKEUSER, pid, off, word);",
    "ptrace(PTRACE_SETREGS, pid, NULL, &regs);",
    "ptrace(PTRACE_SETFPXREGS, pid, NULL, &fp);",
    "ptrace(PTRACE_SETSIGMASK, pid, 8, &set);",
    "ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_EXITKILL);",
    "ptrace(PTRACE_ATTACH, pid, NULL, NULL);",
    "ptrace(PTRACE_CONT, tid, NULL, NULL);",
    "ptrace(16, pid, NULL, NULL);",
    "ptrace(req, pid, NULL, NULL);",
    "process_vm_writev(pid, &l, 1, &r, 1, 0);",
    "syscall(SYS_process_vm_writev, pid, &l, 1, &r, 1, 0);",
    "syscall(__NR_ptrace, 5, pid, a, d);",
    "kill(c->pid, SIGSTOP);",
    "kill(pid, 9);",
    "tgkill(pid, tid, SIGCONT);",
    "pidfd_send_signal(fd, SIGKILL, NULL, 0);",
    'snprintf(p, sizeof(p), "/proc/%d/mem", pid);\nfd = open(p, O_RDWR);',
    'f = fopen("/proc/self/mem", "r+");',
]
MUST_PASS = (
    'ptrace(PTRACE_SEIZE, tid, NULL, NULL);\n'
    'ptrace(PTRACE_INTERRUPT, tid, NULL, NULL);\n'
    'ptrace(PTRACE_DETACH, t->tid, NULL, (void *)(uintptr_t)sig);\n'
    'ptrace(PTRACE_GETREGSET, tid, NT_PRSTATUS, &iov);\n'
    'if (kill(c->pid, 0) < 0 && errno == ESRCH)\n'
    'snprintf(p, sizeof(p), "/proc/%d/mem", pid);\n'
    'c->mem_fd = open(p, O_RDONLY | O_CLOEXEC);\n'
    'process_vm_readv(pid, &l, 1, &r, 1, 0);\n')


def self_test():
    failed = 0
    for snippet in MUST_FAIL:
        if not check_lines("snippet", snippet.splitlines(True)):
            print("not caught: %r" % snippet)
            failed += 1
    hits = check_lines("snippet", MUST_PASS.splitlines(True))
    for h in hits:
        print("false alarm: %s" % h)
    failed += bool(hits)
    print("%d passed, %d failed" % (len(MUST_FAIL) + 1 - failed, failed))
    return 1 if failed else 0


def main(argv):
    if len(argv) == 2 and argv[1] == "--self-test":
        return self_test()
    if len(argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    return sourcecheck.run(argv[1], TOPS, check)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
