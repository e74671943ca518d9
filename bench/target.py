# SPDX-License-Identifier: MIT
"""target.py -- a benchmark heap of about N objects in a realistic mix.

Usage: python -S bench/target.py FIFO N

Builds N objects: instances of a class with attributes (a quarter with a
materialised __dict__), str, int, float, small dicts, lists and tuples,
held from a few module-level lists.  Writes `ready` to FIFO and waits; on
SIGUSR2 it times an in-process census of its own heap (gc.get_objects()
plus the transitive closure of gc.get_referents(), sys.getsizeof() of each)
and writes `census OBJECTS BYTES SECONDS` to FIFO.
"""
import gc
import os
import signal
import sys
import time

gc.disable()


class Record:
    def __init__(self, i):
        self.id = i
        self.name = 'record-%d' % i
        self.score = i * 0.5


n = int(sys.argv[2])
# Each unit below makes about 10 objects.
units = n // 10
records, strings, numbers, floats, dicts, lists, tuples = ([] for _ in range(7))
for i in range(units):
    r = Record(i)                      # instance + str name + int + float
    if i % 4 == 0:
        r.__dict__                     # materialise a dict for some
    records.append(r)
    strings.append('s%08d' % i)        # str
    numbers.append(i * 1000003)        # int
    floats.append(i / 7.0)             # float
    dicts.append({'k': i})             # dict
    lists.append([i, i + 1])           # list
    tuples.append((i, 'x'))            # tuple
fifo = os.open(sys.argv[1], os.O_WRONLY)


def census():
    t0 = time.perf_counter()
    seen = {}
    stack = gc.get_objects()
    while stack:
        o = stack.pop()
        if id(o) in seen:
            continue
        seen[id(o)] = sys.getsizeof(o)
        stack.extend(gc.get_referents(o))
    size = sum(seen.values())
    dt = time.perf_counter() - t0
    count = len(seen)
    del seen, stack
    os.write(fifo, b'census %d %d %.6f\n' % (count, size, dt))


# Taken with sigwait(), not a handler: one that runs just before
# time.sleep() enters its system call would wait for the sleep to end.
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR2})
os.write(fifo, b'ready\n')
while True:
    signal.sigwait({signal.SIGUSR2})
    census()
