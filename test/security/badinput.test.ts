// SECURITY.md "bad input": property-based mutations (fast-check) of a valid config.json through
// `tsrun create` (linux.seccomp included), of container IDs, and of a real state.json through
// `tsrun state` / `delete` / `delete --force`.
// Each run must end with exit 0 (and then a clean delete) or exit 1 with a message, never a
// signal, a Node stack trace or another exit code, and leave no state dir, process, mount or
// cgroup. How these fail on a runtime with the hole: an uncaught TypeError prints "    at ..."
// frames and exits 1 or 7, a crash in the addon dies by SIGSEGV/SIGABRT (139/134), a half-done
// create leaves its state dir or cgroup: each is a separate observable checked below.
// Safety: values that would act on the host are never generated: root.path only gets names that
// do not exist, linux.cgroupsPath only wrong types or paths under our own test parent, no hooks,
// state pids only dead pids, a sleeper of ours or wrong types (never 0 or negative: kill(-1)),
// cgroup paths in state only inside our own test parent.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CGROUP_PARENT, installCleanup, makeBundle, newId, onCleanup, pidAlive, skipNote, skipReason, testRoot, tsrun,
  type RunResult,
} from '../../conformance/lib/index.js';
import { leftovers, processesUnder } from './helpers/index.js';

installCleanup();

// Thousands of mutations in all (issue 5): about 0.1 s a config and 0.2 s a state file on a quiet
// 2-core machine, so some 4 minutes; SEC_CONFIG_RUNS / SEC_STATE_RUNS change the counts.
const CONFIG_RUNS = Number(process.env.SEC_CONFIG_RUNS ?? 1500);
const STATE_RUNS = Number(process.env.SEC_STATE_RUNS ?? 600);
// A failure names the seed; SEC_SEED=<it> replays the same mutations.
const SEED = Number(process.env.SEC_SEED ?? Date.now() % 2 ** 31);
const STACK = /^\s+at .+[:(]\d+|Uncaught|TypeError|ReferenceError|RangeError|node:internal/m;

function crashProblems(what: string, r: RunResult): string[] {
  const p: string[] = [];
  if (r.signal) p.push(`${what}: killed by ${r.signal}`);
  if (r.timedOut) p.push(`${what}: timed out`);
  if (r.code !== 0 && r.code !== 1) p.push(`${what}: exit code ${r.code}`);
  if (STACK.test(r.stderr)) p.push(`${what}: stack trace/uncaught error: ${r.stderr.slice(0, 400)}`);
  if (r.code === 1 && r.stderr.trim() === '') p.push(`${what}: exit 1 without a message`);
  return p;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Every path (list of keys) in a JSON value, containers included. */
function paths(v: Json, prefix: Array<string | number> = []): Array<Array<string | number>> {
  const out: Array<Array<string | number>> = [prefix];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...prefix, i])));
  else if (v !== null && typeof v === 'object') for (const k of Object.keys(v)) out.push(...paths(v[k]!, [...prefix, k]));
  return out;
}

/**
 * Sets a copy of `value`: fast-check hands the same generated object to later runs (and to its
 * shrinking), so inserting it by reference would let one mutation write into another's value and
 * even make it cyclic.
 */
function setAt(root: Json, path: Array<string | number>, value: Json | undefined): Json {
  if (path.length === 0) return value === undefined ? {} : structuredClone(value);
  let cur = root as Record<string | number, Json>;
  for (const k of path.slice(0, -1)) cur = cur[k] as Record<string | number, Json>;
  const last = path[path.length - 1]!;
  if (value === undefined) {
    if (Array.isArray(cur)) cur.splice(last as number, 1);
    else delete cur[last];
  } else cur[last] = structuredClone(value);
  return root;
}

const weirdString = fc.oneof(
  fc.constantFrom('', '.', '..', '../../..', '/', '//', 'a/../../b', '/proc/self/fd/3', ' ', '\n', 'x'.repeat(5000),
    '\u00e9\u{1F600}', 'CAP_NOPE', 'RLIMIT_NOPE', 'not-a-type', '-1', '0x10', '1e400', 'a\u0000b'),
  fc.string({ maxLength: 12 }),
);
const weirdValue: fc.Arbitrary<Json | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.boolean(),
  fc.constantFrom(0, -1, 1, 2 ** 31, 2 ** 32, 2 ** 53, -(2 ** 63), 1.5, 1e308),
  fc.integer(),
  weirdString,
  fc.array(fc.oneof(weirdString, fc.integer(), fc.constant(null)), { maxLength: 4 }),
  fc.constant({}),
  fc.dictionary(fc.constantFrom('type', 'path', 'options', 'source', 'destination', 'x'), fc.oneof(weirdString, fc.integer()), { maxKeys: 3 }) as fc.Arbitrary<Json>,
  fc.constant(JSON.parse('[[[[[[[[[[[]]]]]]]]]]]') as Json),
) as fc.Arbitrary<Json | undefined>;

/** Values allowed at paths that would otherwise act on the host (see the header). */
function safeFor(path: Array<string | number>, v: Json | undefined, bundleName: string): Json | undefined {
  const key = path.join('.');
  if (key === 'root.path' && typeof v === 'string') return `does-not-exist-${v.length}`;
  if (key === 'linux.cgroupsPath' && typeof v === 'string') return `/${CGROUP_PARENT}/${bundleName}/${v.replace(/\.\.|\//g, '_')}`;
  if (key.startsWith('hooks')) return undefined;
  return v;
}

describe.skipIf(!!skipReason)(`bad input, property-based${skipNote}`, () => {
  it(`${CONFIG_RUNS} mutated configs through create: a clear error or a clean container, nothing left`, async () => {
    const b = await makeBundle({ args: ['/bin/sleep', '100'] });
    const name = b.dir.split('/').pop()!;
    // A seccomp section, so its fields (parsed by the addon's C++, compiled by libseccomp) are
    // mutated too: every kind of field once (flags, both errno fields, args with each key).
    (b.config.linux as Record<string, unknown>).seccomp = {
      defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 38, architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
      flags: ['SECCOMP_FILTER_FLAG_LOG'],
      syscalls: [
        { names: ['read', 'write', 'execve', 'nanosleep'], action: 'SCMP_ACT_ALLOW' },
        { names: ['kill'], action: 'SCMP_ACT_ERRNO', errnoRet: 1, args: [{ index: 1, value: 9, valueTwo: 0, op: 'SCMP_CMP_EQ' }] },
      ],
    };
    const valid = JSON.parse(JSON.stringify(b.config)) as Json;
    const allPaths = paths(valid).filter((p) => p.length > 0);
    const problems: string[] = [];
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom(...allPaths), weirdValue), { minLength: 1, maxLength: 3 }),
        async (muts) => {
          let cfg = JSON.parse(JSON.stringify(valid)) as Json;
          const applied: string[] = [];
          for (const [path, v] of muts) {
            try {
              cfg = setAt(cfg, path, safeFor(path, v, name));
              applied.push(`${path.join('.')}=${JSON.stringify(v)?.slice(0, 40)}`);
            } catch {
              // an earlier mutation removed the parent: nothing to set
            }
          }
          writeFileSync(join(b.dir, 'config.json'), JSON.stringify(cfg));
          const id = newId('bad');
          const r = await tsrun(['create', '--bundle', b.dir, id], { cwd: b.dir, timeoutMs: 15000 });
          const p = crashProblems(`create [${applied.join('; ')}]`, r);
          if (r.code === 0) {
            const d = await tsrun(['delete', '--force', id]);
            p.push(...crashProblems('delete after create', d));
          }
          p.push(...leftovers(id, b.dir).map((x) => `[${applied.join('; ')}] ${x}`));
          if (p.length) {
            await tsrun(['delete', '--force', id]);
            problems.push(...p);
          }
          return true;
        },
      ),
      { numRuns: CONFIG_RUNS, seed: SEED },
    );
    expect(problems, `SEC_SEED=${SEED}`).toEqual([]);
  }, 900000);

  it('IDs with "/", "..", ".", empty, spaces, newlines or over 1024 bytes are refused with nothing left', async () => {
    const b = await makeBundle({ args: ['/bin/sleep', '100'] });
    const before = readdirSync(testRoot()).sort();
    const problems: string[] = [];
    for (const id of ['a/b', '..', '.', '../x', '', ' ', 'a b', 'a\nb', 'x'.repeat(1025), '-rf', '/abs']) {
      const r = await tsrun(['create', '--bundle', b.dir, id], { cwd: b.dir });
      if (r.code === 0) {
        problems.push(`id ${JSON.stringify(id.slice(0, 20))} accepted`);
        await tsrun(['delete', '--force', id]);
      }
      problems.push(...crashProblems(`id ${JSON.stringify(id.slice(0, 20))}`, r));
      for (const cmd of [['state', id], ['delete', id], ['kill', id, '0']]) {
        const s = await tsrun(cmd);
        if (s.code === 0) problems.push(`${cmd[0]} with id ${JSON.stringify(id.slice(0, 20))} succeeded`);
        problems.push(...crashProblems(`${cmd[0]} ${JSON.stringify(id.slice(0, 20))}`, s));
      }
    }
    expect(readdirSync(testRoot()).sort()).toEqual(before);
    expect(processesUnder(b.dir)).toEqual([]);
    expect(problems).toEqual([]);
  }, 60000);

  it(`${STATE_RUNS} corrupted state files: state, delete and delete --force never crash, kill no stranger, leave nothing`, async () => {
    const b = await makeBundle({ args: ['/bin/sleep', '100'] });
    const name = b.dir.split('/').pop()!;
    const seed = newId('seed');
    expect((await tsrun(['create', '--bundle', b.dir, seed], { cwd: b.dir })).code).toBe(0);
    const stateText = readFileSync(join(testRoot(), seed, 'state.json'), 'utf8');
    await tsrun(['delete', '--force', seed]);
    const valid = JSON.parse(stateText) as Json;
    // Must outlive the property whatever the machine's load (it ran past 300 s under load).
    const sleeper = spawn('sleep', ['infinity'], { stdio: 'ignore' });
    onCleanup(() => void sleeper.kill('SIGKILL'));
    let dead = 4194000;
    while (pidAlive(dead) || existsSync(`/proc/${dead}`)) dead--;
    const safePid = fc.constantFrom<Json>(dead, sleeper.pid!, 'x', null, 1.5, 2 ** 40, true, [], {});
    // cgroup paths that exist nowhere, inside our own test parent only.
    const safeCg = fc.constantFrom<Json>(`/sys/fs/cgroup/pids/${CGROUP_PARENT}/${name}/nope`, 'relative', '', 7, null, []);
    const allPaths = paths(valid).filter((p) => p.length > 0);
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat({ max: stateText.length }) }),
      fc.record({ kind: fc.constant('bytes' as const), bytes: fc.uint8Array({ maxLength: 64 }) }),
      fc.record({ kind: fc.constant('mutate' as const), muts: fc.array(fc.tuple(fc.constantFrom(...allPaths), weirdValue), { minLength: 1, maxLength: 3 }), pid: safePid, cg: safeCg }),
    );
    const problems: string[] = [];
    await fc.assert(
      fc.asyncProperty(mutation, async (m) => {
        const id = newId('st');
        const dir = join(testRoot(), id);
        mkdirSync(dir);
        let text: string | Buffer;
        let label: string;
        if (m.kind === 'truncate') {
          text = stateText.slice(0, m.at);
          label = `truncated at ${m.at}`;
        } else if (m.kind === 'bytes') {
          text = Buffer.from(m.bytes);
          label = `random bytes (${m.bytes.length})`;
        } else {
          let s = JSON.parse(stateText) as Json;
          for (const [path, v] of m.muts) {
            const key = path.join('.');
            let val: Json | undefined = v;
            if (key === 'pid' || key === 'creatorPid') val = m.pid;
            else if (key.startsWith('cgroup')) val = m.cg;
            else if (key.startsWith('hooks')) val = v === undefined ? undefined : [];
            try {
              s = setAt(s, path, val);
            } catch {
              // parent already removed
            }
          }
          if (s !== null && typeof s === 'object' && !Array.isArray(s)) s.id = id;
          text = JSON.stringify(s);
          label = `mutated ${m.muts.map(([p, v]) => `${p.join('.')}=${JSON.stringify(v)?.slice(0, 30)}`).join('; ')} pid=${JSON.stringify(m.pid)}`;
        }
        writeFileSync(join(dir, 'state.json'), text);
        // The lock file makes the directory a container to tsrun; without it every command stops
        // at "container does not exist" and never reads the damaged state.
        writeFileSync(join(dir, 'lock'), '', { mode: 0o600 });
        // delete may refuse a damaged state (the state dir then stays, as runc leaves it);
        // delete --force after it must not crash either, and an exit 0 means the dir is gone.
        for (const cmd of [['state', id], ['delete', id], ['delete', '--force', id]]) {
          const r = await tsrun(cmd, { timeoutMs: 10000 });
          problems.push(...crashProblems(`${cmd.join(' ')} on ${label}`, r));
          if (cmd[0] === 'delete' && r.code === 0 && existsSync(dir)) problems.push(`${cmd.join(' ')} on ${label}: exit 0, state dir left`);
        }
        problems.push(...leftovers(id, b.dir).filter((p) => !p.startsWith('state dir')).map((p) => `${label}: ${p}`));
        rmSync(dir, { recursive: true, force: true });
        if (!pidAlive(sleeper.pid!)) problems.push(`${label}: our sleeper (not a container) was killed`);
        return true;
      }),
      { numRuns: STATE_RUNS, seed: SEED },
    );
    sleeper.kill('SIGKILL');
    expect(problems, `SEC_SEED=${SEED}`).toEqual([]);
  }, 900000);
});
