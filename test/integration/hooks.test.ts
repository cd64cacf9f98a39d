// All six runtime-spec hook kinds through the tsrun binary (config.md "POSIX-platform Hooks",
// runtime.md "Lifecycle"): when each runs, what it gets on stdin, args/env/timeout, and what a
// failing hook does to the operation.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  containerState, installCleanup, makeBundle, newId, skipNote, skipReason, tsrun, waitFor, type Bundle,
} from '../../conformance/lib/index.js';
import { leftovers, strayProcesses, ok } from './ops-lib.js';

installCleanup();

type Kind = 'prestart' | 'createRuntime' | 'createContainer' | 'startContainer' | 'poststart' | 'poststop';
const KINDS: readonly Kind[] = ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'];

interface Hook {
  path: string;
  args?: string[];
  env?: string[];
  timeout?: number;
}

// runc's messages say "error running hook #0" without the kind; tsrun names it (TSRUN_BIN lets this
// file run against runc to check the tests themselves).
const namesKind = process.env.TSRUN_BIN === undefined;

// Hooks get exactly their `env`: without PATH the shells would not find cat/env.
const PATH = 'PATH=/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * A /bin/sh hook running `script` with $d set to the rootfs as this hook sees it: the host path for
 * runtime-namespace hooks (and createContainer, which runs before pivot_root), "" (the container's
 * /) for hooks that run inside the container. Both name the same files, since root is writable.
 */
function shHook(b: Bundle, script: string, extra: Partial<Hook> = {}): Hook {
  return {
    path: '/bin/sh',
    args: ['sh', '-c', `d=${b.rootfs}; [ -d "$d" ] || d=; ${script}`, ...(extra.args ?? [])],
    env: [PATH, ...(extra.env ?? [])],
    ...(extra.timeout !== undefined ? { timeout: extra.timeout } : {}),
  };
}

/** Records the hook's kind to hooks.log and its stdin to state-<kind>.json. */
const recorder = (b: Bundle, kind: Kind): Hook => shHook(b, `cat > "$d/state-${kind}.json"; echo ${kind} >> "$d/hooks.log"`);

async function writableBundle(args: string[]): Promise<Bundle> {
  return makeBundle({ args, readonlyRoot: false });
}

function hooksLog(b: Bundle): string[] {
  const f = join(b.rootfs, 'hooks.log');
  return existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean) : [];
}

describe.skipIf(!!skipReason)(`hooks${skipNote}`, () => {
  it('run in order across create, start and delete, each with the state JSON on stdin', async () => {
    // A process that outlives start, so poststart sees it running whatever the machine's load.
    const b = await writableBundle(['/bin/sleep', '100']);
    b.config.hooks = Object.fromEntries(KINDS.map((k) => [k, [recorder(b, k)]]));
    b.write();
    const id = newId('hooks');
    const c = await tsrun(['create', '--bundle', b.dir, id], { cwd: b.dir });
    expect(c.stderr).toBe('');
    expect(c.code).toBe(0);
    expect(hooksLog(b)).toEqual(['prestart', 'createRuntime', 'createContainer']);
    const pid = (await containerState(id)).pid!;
    await ok(tsrun(['start', id]));
    expect(hooksLog(b)).toEqual(['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart']);
    await ok(tsrun(['kill', id, 'KILL']));
    expect(await waitFor(async () => (await containerState(id)).status === 'stopped', 8000)).toBe(true);
    await ok(tsrun(['delete', id]));
    expect(hooksLog(b)).toEqual([...KINDS]);

    const expected: Record<Kind, string> = {
      prestart: 'creating', createRuntime: 'creating', createContainer: 'creating',
      startContainer: 'created', poststart: 'running', poststop: 'stopped',
    };
    for (const kind of KINDS) {
      const st = JSON.parse(readFileSync(join(b.rootfs, `state-${kind}.json`), 'utf8')) as Record<string, unknown>;
      expect({ kind, status: st.status, id: st.id, bundle: st.bundle }).toEqual({ kind, status: expected[kind], id, bundle: b.dir });
      expect(st.ociVersion).toMatch(/^1\./);
      // The host's view of the init pid (runtime-spec state "pid"); a stopped container has none.
      if (kind !== 'poststop') expect({ kind, pid: st.pid }).toEqual({ kind, pid });
    }
    expect(leftovers({ id, bundle: b.dir })).toEqual([]);
  });

  it('poststart runs after the process is executed, even behind a slow startContainer hook', async () => {
    // runtime-spec runtime.md: startContainer before the user-specified program is executed,
    // poststart after it is executed and before start returns. A runtime that runs poststart once
    // the init is released (runc does) races the slow hook and sees oci-init, not the program.
    const b = await writableBundle(['/bin/sleep', '100']);
    b.config.hooks = {
      startContainer: [shHook(b, `sleep 0.5; echo startContainer >> "$d/hooks.log"`)],
      poststart: [shHook(b, `pid=$(sed 's/.*"pid": *\\([0-9]*\\).*/\\1/'); readlink /proc/$pid/exe > "$d/exe-poststart"; echo poststart >> "$d/hooks.log"`)],
    };
    b.write();
    const id = newId('hookexec');
    await ok(tsrun(['create', '--bundle', b.dir, id], { cwd: b.dir }));
    await ok(tsrun(['start', id]));
    expect(hooksLog(b)).toEqual(['startContainer', 'poststart']);
    const exe = readFileSync(join(b.rootfs, 'exe-poststart'), 'utf8').trim();
    expect(exe).not.toBe('');
    expect(exe).not.toMatch(/memfd|oci-init/);
    await ok(tsrun(['delete', '--force', id]));
    expect(leftovers({ id, bundle: b.dir })).toEqual([]);
  });

  it('get exactly their args (args[0] is argv[0]) and env, nothing of tsrun\'s environment', async () => {
    const b = await writableBundle(['/bin/true']);
    b.config.hooks = Object.fromEntries(
      KINDS.map((k) => [
        k,
        [shHook(b, `echo "$0|$1|$FOO" > "$d/args-${k}"; env > "$d/env-${k}"`, { args: ['argzero', 'arg one'], env: ['FOO=bar baz'] })],
      ]),
    );
    b.write();
    const id = newId('hookenv');
    const env = { ...process.env, TSRUN_HOOK_CANARY: 'must-not-leak' };
    await ok(tsrun(['create', '--bundle', b.dir, id], { cwd: b.dir, env }));
    await ok(tsrun(['start', id], { env }));
    expect(await waitFor(async () => (await containerState(id)).status === 'stopped', 8000)).toBe(true);
    await ok(tsrun(['delete', id], { env }));
    for (const kind of KINDS) {
      expect({ kind, args: readFileSync(join(b.rootfs, `args-${kind}`), 'utf8') }).toEqual({ kind, args: 'argzero|arg one|bar baz\n' });
      const hookEnv = readFileSync(join(b.rootfs, `env-${kind}`), 'utf8');
      expect(hookEnv).toContain('FOO=bar baz');
      expect(hookEnv).not.toContain('TSRUN_HOOK_CANARY');
      expect(hookEnv).not.toMatch(/^NODE_/m);
    }
  });

  for (const kind of ['prestart', 'createRuntime', 'createContainer'] as const) {
    it(`a ${kind} hook past its timeout is killed and create fails, leaving nothing`, async () => {
      const b = await writableBundle(['/bin/true']);
      const marker = kind === 'createContainer' ? '31.338' : '31.337';
      b.config.hooks = { [kind]: [shHook(b, `exec sleep ${marker}`, { timeout: 1 })] };
      b.write();
      const id = newId('hooktime');
      const t0 = Date.now();
      const c = await tsrun(['create', '--bundle', b.dir, id], { cwd: b.dir });
      expect(c.code).not.toBe(0);
      expect(Date.now() - t0).toBeLessThan(10000);
      expect(c.stderr).toMatch(/timeout|timed out/i);
      if (namesKind) expect(c.stderr).toContain(kind);
      expect(leftovers({ id, bundle: b.dir })).toEqual([]);
      expect(strayProcesses([`sleep ${marker}`])).toEqual([]);
    });
  }

  for (const kind of ['prestart', 'createRuntime', 'createContainer'] as const) {
    it(`a failing ${kind} hook fails create and leaves nothing behind`, async () => {
      const b = await writableBundle(['/bin/true']);
      b.config.hooks = { [kind]: [shHook(b, 'echo hook-said-no >&2; exit 7')] };
      b.write();
      const id = newId('hookfail');
      const c = await tsrun(['create', '--bundle', b.dir, id], { cwd: b.dir });
      expect(c.code).not.toBe(0);
      expect(c.stderr).toMatch(/hook/);
      if (namesKind) expect(c.stderr).toContain(kind);
      expect(c.stderr).toMatch(/(exit status|exited with status) 7/);
      expect(c.stderr).toContain('hook-said-no');
      expect((await tsrun(['state', id])).stderr).toMatch(/does not exist/);
      expect(leftovers({ id, bundle: b.dir })).toEqual([]);
    });
  }

  it('a failing poststart hook fails start', async () => {
    const b = await writableBundle(['/bin/sleep', '100']);
    b.config.hooks = { poststart: [shHook(b, 'exit 5')] };
    b.write();
    const id = newId('hookpost');
    await ok(tsrun(['create', '--bundle', b.dir, id], { cwd: b.dir }));
    const s = await tsrun(['start', id]);
    expect(s.code).not.toBe(0);
    if (namesKind) expect(s.stderr).toContain('poststart');
    await tsrun(['delete', '--force', id]);
    expect(leftovers({ id, bundle: b.dir })).toEqual([]);
  });

  it('a failing poststop hook does not fail delete, and the later poststop hooks still run', async () => {
    const b = await writableBundle(['/bin/true']);
    b.config.hooks = { poststop: [shHook(b, 'exit 9'), shHook(b, 'echo second > "$d/second-poststop"')] };
    b.write();
    const id = newId('hookstop');
    await ok(tsrun(['create', '--bundle', b.dir, id], { cwd: b.dir }));
    await ok(tsrun(['start', id]));
    expect(await waitFor(async () => (await containerState(id)).status === 'stopped', 8000)).toBe(true);
    const d = await tsrun(['delete', id]);
    expect(d.code).toBe(0);
    expect(readFileSync(join(b.rootfs, 'second-poststop'), 'utf8')).toBe('second\n');
    expect((await tsrun(['state', id])).stderr).toMatch(/does not exist/);
    expect(leftovers({ id, bundle: b.dir })).toEqual([]);
  });
});
