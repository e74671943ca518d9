#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""test-paths.py -- why objects are alive, and what each thread is doing.

Usage:
  test-paths.py --pmpeek PATH --python PYTHON [--python PYTHON ...]
                [--label NAME] [--no-core]

For each PYTHON, start fixtures/paths.py --spin (FIFO-synced, `-S`), whose
truth file says, for marker objects held in one known way each (a module
global dict holding a list, a class attribute, an instance attribute, a
__slots__ member, a closure cell, a dict key, an instance's __dict__, and
a local variable of a sleeping thread's function), the path pmpeek must
print, and for each thread its ident, native id, name and stack.  Then,
live and on a gcore of the same process:

  - `pmpeek --referrers KIND --json` names the real global, key, index,
    attribute and local variable (the path's text, its steps, the last
    step is the marker's address), and groups the referrers (byrcs);
  - `pmpeek --threads --json` gives each thread's name, native id and
    stack (file, line, function; innermost first) as the fixture recorded
    it, and says the spinning thread holds the GIL;
  - the text forms print the same;
  - live only: `--threads --native` interleaves native frames, each
    Python frame matched once, in order, to an eval-loop frame (skipped
    when pmpeek has no libunwind); on the core --native is refused.
Also the usage errors of the new options.

TAP-like output (`ok N - ...`), then `N passed, N failed, N skipped`.  Exit
0 when all passed, 1 on any failure, 77 when nothing could run (no python,
ptrace denied).
"""

import json
import os
import re
import shutil
import sys
import tempfile

from common import (EXIT_USAGE, Fixture, Tap, describe, driver_parser,
                    for_pythons, gcore, one_line, parse_json, prefix, run,
                    skip_if_denied, start_driver, taken_ms)


def pmpeek_json(tap, args, argv, what):
    cp = run([args.pmpeek, '--json'] + argv)
    if what.startswith('live'):
        skip_if_denied(cp)
    if not tap.check(cp.returncode == 0, '%s: exits 0' % what, describe(cp)):
        return None
    doc = parse_json(tap, cp.stdout, '%s: stdout is JSON' % what)
    if doc is None:
        return None
    tap.check(doc.get('format') == 'pmpeek-inspect' and
              doc.get('format_version') == 1,
              '%s: a pmpeek-inspect document, version 1' % what,
              {k: doc.get(k) for k in ('format', 'format_version')})
    return doc


def newer(truth, major, minor):
    v = tuple(int(x) for x in truth['version'].split('.')[:2])
    return v >= (major, minor)


# --- referrers ------------------------------------------------------------

def check_referrers(tap, args, target, truth, what):
    for kind, pattern in sorted(truth['expected'].items()):
        ids = [i for i in truth['markers'][kind] if i]
        doc = pmpeek_json(tap, args, ['--referrers', kind, '--samples', '3',
                                      target], '%s --referrers %s'
                          % (what, kind))
        if doc is None:
            continue
        check_taken_at(tap, doc, target, '%s --referrers %s' % (what, kind))
        r = doc.get('referrers') or {}
        tap.check(r.get('kind') == kind and r.get('count') == len(ids) and
                  r.get('reachable') == len(ids),
                  '%s %s: count and reachable are %d' % (what, kind,
                                                        len(ids)),
                  {k: r.get(k) for k in ('kind', 'count', 'reachable')})
        paths = r.get('paths') or []
        if not tap.check(len(paths) == min(3, len(ids)),
                         '%s %s: %d paths' % (what, kind, min(3, len(ids))),
                         json.dumps(r, indent=1)[:3000]):
            continue
        seen = set()
        for p in paths:
            steps = p.get('steps') or []
            addr = int(steps[-1]['address'], 16) if steps else None
            want_ids = ids
            if '%d' in pattern:
                m = re.match(re.escape(pattern).replace('%d', r'(\d+)') + '$',
                             p.get('text', ''))
                index = int(m.group(1)) if m else -1
                good = m is not None and 0 <= index < len(ids)
                want_ids = [truth['markers'][kind][index]] if good else []
            else:
                good = p.get('text') == pattern
            tap.check(good and addr == int(p['object'], 16) and
                      addr in want_ids and p.get('reachable') is True and
                      p.get('root') == 'modules',
                      '%s %s: path %r names the global, keys and indices'
                      % (what, kind, p.get('text')),
                      'want %r at one of %s\n%s'
                      % (pattern, [hex(i) for i in want_ids],
                         json.dumps(p, indent=1)))
            seen.add(addr)
        tap.check(len(seen) == len(paths), '%s %s: distinct samples'
                  % (what, kind))
        steps = paths[0].get('steps') or []
        names = [s.get('name') for s in steps if s.get('edge') == 'value']
        tap.check(steps and steps[0].get('edge') == 'root' and
                  steps[0].get('kind') == 'dict (no owner)' and
                  names[:1] == ['pmapp'] and
                  all(set(s) >= {'kind', 'label', 'address', 'edge'}
                      for s in steps) and steps[-1].get('kind') == kind,
                  '%s %s: steps from sys.modules, each with kind, label, '
                  'address' % (what, kind), json.dumps(steps, indent=1))
        groups = r.get('by_referrers') or []
        want = {'pmapp.PmOrder': ['list'], 'pmapp.PmViaClass': ['tuple'],
                # 3.8-3.10 keep attributes in the instance's dict.
                'pmapp.PmViaAttr': ['pmapp.Holder' if newer(truth, 3, 11)
                                    else 'dict of pmapp.Holder'],
                'pmapp.PmViaSlot': ['pmapp.Slotted'],
                'pmapp.PmViaCell': ['cell'],
                'pmapp.PmViaKey': ['dict (no owner)'],
                'pmapp.PmDeep': ['list'],
                'dict of pmapp.PmOrder': ['pmapp.PmOrder']}[kind]
        tap.check(len(groups) == 1 and groups[0].get('referrers') == want and
                  groups[0].get('count') == len(ids),
                  '%s %s: byrcs is one group %s' % (what, kind, want),
                  json.dumps(groups, indent=1))
    check_local(tap, args, target, truth, what)


def check_local(tap, args, target, truth, what):
    lo = truth['local_only']
    worker = [t for t in truth['threads'] if t['name'] == lo['thread']][0]
    doc = pmpeek_json(tap, args, ['--referrers', lo['kind'], target],
                      '%s --referrers %s' % (what, lo['kind']))
    if doc is None:
        return
    r = doc['referrers']
    p = (r.get('paths') or [{}])[0]
    want_text = "thread %d (%s) frame %s() local '%s'" % (
        worker['native_id'] or worker['ident'], lo['thread'], lo['function'],
        lo['local'])
    tap.check(r.get('count') == 1 and p.get('root') == 'local' and
              p.get('thread_name') == lo['thread'] and
              p.get('thread_id') == worker['ident'] and
              (worker['native_id'] is None or
               p.get('native_id') == worker['native_id']) and
              p.get('function') == lo['function'] and
              p.get('local') == lo['local'] and
              int(p.get('object', '0'), 16) == lo['ids'][0] and
              p.get('text') == want_text,
              '%s: the local-only object\'s path names thread %s, function '
              '%s and local %r' % (what, lo['thread'], lo['function'],
                                   lo['local']),
              'want %r\n%s' % (want_text, json.dumps(r, indent=1)[:3000]))
    want = ['<frame>'] if newer(truth, 3, 11) else ['frame']
    groups = r.get('by_referrers') or []
    tap.check([g.get('referrers') for g in groups] == [want],
              '%s: the local-only object\'s referrer is %s' % (what, want),
              json.dumps(groups))
    # The text form.
    cp = run([args.pmpeek, '--referrers', 'pmapp.PmOrder', target])
    tap.check(cp.returncode == 0 and
              "module 'pmapp'.REGISTRY['orders'][" in cp.stdout and
              re.search(r'^ +0 +7 +100 .* list$', cp.stdout, re.M) and
              not cp.stderr.strip(),
              '%s: text --referrers prints the path and the byrcs table'
              % what, describe(cp))
    cp = run([args.pmpeek, '--referrers', 'NoSuchKind', target])
    tap.check(cp.returncode == 1 and cp.stderr.strip() ==
              "pmpeek: no object of kind 'NoSuchKind' found",
              '%s: an unknown kind: exit 1, one line' % what, describe(cp))


# --- threads --------------------------------------------------------------

def frames_equal(truth, got_frames, want_frames):
    qual = newer(truth, 3, 11)
    want = [(f['file'], f['line'], f['qualname'] if qual else f['name'])
            for f in want_frames]
    got = [(f.get('file'), f.get('line'), f.get('function'))
           for f in got_frames]
    return got == want, 'want %s\ngot  %s' % (want, got)


def check_taken_at(tap, doc, target, what):
    """A core's state is from when it was written, not from now."""
    if not what.startswith('core'):
        return
    got, want = taken_ms(doc.get('taken_at')), os.stat(target).st_mtime_ns
    tap.check(got is not None and abs(got - want // 10**6) <= 1,
              '%s: taken_at is when the core was written' % what,
              'got %r, core written at %d ms' % (doc.get('taken_at'),
                                                 want // 10**6))


def check_threads(tap, args, target, truth, what):
    doc = pmpeek_json(tap, args, ['--threads', target], what + ' --threads')
    if doc is None:
        return
    check_taken_at(tap, doc, target, what + ' --threads')
    got = dict((t.get('thread_id'), t) for t in doc.get('threads') or [])
    tap.check(len(got) == len(truth['threads']),
              '%s: %d threads' % (what, len(truth['threads'])),
              sorted(got))
    for want in truth['threads']:
        t = got.get(want['ident'])
        if not tap.check(t is not None, '%s: thread %s is listed'
                         % (what, want['name'])):
            continue
        tap.check(t.get('name') == want['name'] and
                  (want['native_id'] is None or
                   t.get('native_id') == want['native_id']),
                  '%s: thread %s: name and native id' % (what, want['name']),
                  {'name': t.get('name'), 'native_id': t.get('native_id'),
                   'want': want['native_id']})
        ok, diag = frames_equal(truth, t.get('frames') or [],
                                want['frames'])
        tap.check(ok, '%s: thread %s: stack (file, line, function)'
                  % (what, want['name']), diag)
        spinner = want['name'] == truth.get('spinner')
        tap.check(t.get('holds_gil') is spinner,
                  '%s: thread %s %s the GIL' % (what, want['name'],
                                               'holds' if spinner
                                               else 'does not hold'),
                  'holds_gil: %r' % t.get('holds_gil'))
    # The text form names every thread and frame.
    cp = run([args.pmpeek, '--threads', target])
    bad = []
    for want in truth['threads']:
        qual = newer(truth, 3, 11)
        for f in want['frames']:
            line = '    %s (%s:%d)' % (f['qualname'] if qual else f['name'],
                                       f['file'], f['line'])
            if line not in cp.stdout.splitlines():
                bad.append(line)
        head = r'^Thread \d+ \(%s\), ident 0x%x' % (re.escape(want['name']),
                                                   want['ident'])
        if not re.search(head, cp.stdout, re.M):
            bad.append(head)
    tap.check(cp.returncode == 0 and not bad and
              re.search(r'^Thread .*\(pm-spinner\).*, holds the GIL:$',
                        cp.stdout, re.M),
              '%s: text --threads names each thread, frame and the GIL'
              % what, '\n'.join(bad) + '\n' + describe(cp))


def check_native(tap, args, pid, truth):
    cp = run([args.pmpeek, '--threads', '--native', '--json', str(pid)])
    if cp.returncode == EXIT_USAGE and 'built without' in cp.stderr:
        tap.skip('--native: pmpeek has no libunwind')
        return
    if not tap.check(cp.returncode == 0, 'live --native: exits 0',
                     describe(cp)):
        return
    doc = json.loads(cp.stdout)
    for t in doc.get('threads') or []:
        native = t.get('native') or []
        matched = []
        evals = 0
        for f in native:
            if 'python_frames' in f:
                evals += 1
                matched += f['python_frames']
        n = len(t.get('frames') or [])
        tap.check(native and evals and matched == list(range(n)) and
                  all(f.get('symbol', '').startswith(
                      '_PyEval_EvalFrameDefault')
                      for f in native if 'python_frames' in f),
                  'live --native: thread %s: each of its %d Python frames '
                  'matched once, in order, to an eval-loop frame'
                  % (t.get('name'), n),
                  json.dumps(t, indent=1)[:4000])
    cp = run([args.pmpeek, '--threads', '--native', str(pid)])
    tap.check(cp.returncode == 0 and '[native] ' in cp.stdout,
              'live --native: text interleaves native frames', describe(cp))


# --- the whole run --------------------------------------------------------

def usage_errors(tap, args):
    for argv, pattern in (
            (['--samples', '2', '1'],
             r'^pmpeek: --samples needs --referrers$'),
            (['--native', '1'], r'^pmpeek: --native needs --threads$'),
            (['--threads', '--interval', '1', '1'],
             r'^pmpeek: --threads and --referrers print their own report'),
            (['--referrers', 'x', '--samples', '0', '1'],
             r"^pmpeek: invalid sample count '0' for --samples$")):
        cp = run([args.pmpeek] + argv)
        tap.check(one_line(cp, EXIT_USAGE, pattern),
                  'usage: pmpeek %s: status 2, one line' % ' '.join(argv),
                  describe(cp))


def run_python(tap, args, python):
    with tempfile.TemporaryDirectory(prefix='pmpeek-paths-') as workdir:
        target = Fixture(python, workdir, 'paths.py', 'truth.json',
                         options=['--spin'])
        try:
            why = target.start()
            if why:
                tap.check(False, 'fixture ready', why)
                return
            pid, truth = target.pid, target.truth
            print('# target pid %d, python %s' % (pid, truth['version']))
            check_referrers(tap, args, str(pid), truth, 'live')
            check_threads(tap, args, str(pid), truth, 'live')
            check_native(tap, args, pid, truth)
            if args.no_core:
                return
            if not shutil.which('gcore'):
                tap.skip('gcore: not installed')
                return
            core, cp = gcore(pid, os.path.join(workdir, 'core'))
            if not tap.check(core, 'gcore', describe(cp)):
                return
            check_referrers(tap, args, core, truth, 'core')
            check_threads(tap, args, core, truth, 'core')
            cp = run([args.pmpeek, '--threads', '--native', core])
            tap.check(one_line(cp, EXIT_USAGE, 'needs a live process'),
                      'core: --native is refused in one line', describe(cp))
        finally:
            target.kill()


def main():
    ap = driver_parser(__doc__)
    ap.add_argument('--no-core', action='store_true')
    args = ap.parse_args()
    tap = Tap(count_skips=True)
    status = start_driver(args.pmpeek)
    if status is not None:
        return status
    usage_errors(tap, args)

    def each(python, version):
        tap.prefix = prefix(args.label, python)
        run_python(tap, args, python)

    # No probe: an interpreter that cannot run the fixture is a failure
    # here, not a skip.
    return for_pythons(tap, args.python, each, probe=False)


if __name__ == '__main__':
    sys.exit(main())
