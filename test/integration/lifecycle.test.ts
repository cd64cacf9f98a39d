// The container state machine end to end through the tsrun binary (runtime-spec runtime.md
// "Lifecycle" and runc's CLI): creating → created → running → stopped, and the run/kill/delete
// behaviour containerd and podman rely on (CLIENTS.md).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  containerState, installCleanup, makeBundle, newId, pidAlive, skipNote, skipReason, testRoot, tsrun, waitFor,
  type Bundle,
} from '../../conformance/lib/index.js';
import { leftovers, spawnTsrun, ok } from './ops-lib.js';

installCleanup();

async function create(b: Bundle, id: string, extra: string[] = []): Promise<number> {
  b.write();
  const r = await tsrun(['create', '--bundle', b.dir, ...extra, id], { cwd: b.dir });
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
  const st = await containerState(id);
  expect(st.status).toBe('created');
  return st.pid!;
}

const statusOf = async (id: string): Promise<string> => (await containerState(id)).status;

describe.skipIf(!!skipReason)(`lifecycle through the binary${skipNote}`, () => {
  it('reports "creating" while createRuntime hooks run, then created, running, stopped', async () => {
    const b = await makeBundle({ args: ['/bin/sleep', '100'] });
    b.config.hooks = { createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', 'sleep 2'] }] };
    b.write();
    const id = newId('life');
    const creating = spawnTsrun(['create', '--bundle', b.dir, id], { cwd: b.dir });
    let seen = '';
    expect(
      await waitFor(async () => {
        const r = await tsrun(['state', id]);
        if (r.code === 0) seen = (JSON.parse(r.stdout) as { status: string }).status;
        return seen === 'creating';
      }, 5000),
    ).toBe(true);
    const c = await creating.done;
    expect(c.stderr).toBe('');
    expect(c.code).toBe(0);
    expect(await statusOf(id)).toBe('created');
    await ok(tsrun(['start', id]));
    expect(await statusOf(id)).toBe('running');
    await ok(tsrun(['kill', id, 'KILL']));
    expect(await waitFor(async () => (await statusOf(id)) === 'stopped', 8000)).toBe(true);
    await ok(tsrun(['delete', id]));
    expect(leftovers({ id, bundle: b.dir })).toEqual([]);
  });

  it('an init killed before start reads as stopped; start then fails and delete cleans up', async () => {
    const b = await makeBundle({ args: ['/bin/true'] });
    const id = newId('life');
    const pid = await create(b, id);
    process.kill(pid, 'SIGKILL');
    expect(await waitFor(() => !pidAlive(pid), 5000)).toBe(true);
    expect(await statusOf(id)).toBe('stopped');
    const s = await tsrun(['start', id]);
    expect({ failed: s.code !== 0, stderr: s.stderr }).toEqual({ failed: true, stderr: expect.stringMatching(/stopped/) });
    const d = await tsrun(['delete', id]);
    expect({ code: d.code, stderr: d.stderr }).toEqual({ code: 0, stderr: '' });
    expect(leftovers({ id, bundle: b.dir })).toEqual([]);
  });

  it('start twice fails; delete of a running container without --force fails and leaves it running', async () => {
    const b = await makeBundle({ args: ['/bin/sleep', '100'] });
    const id = newId('life');
    const pid = await create(b, id);
    await ok(tsrun(['start', id]));
    const again = await tsrun(['start', id]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/running|not.*created|cannot start/);
    const del = await tsrun(['delete', id]);
    expect(del.code).not.toBe(0);
    expect(del.stderr).toMatch(/running/);
    expect(pidAlive(pid)).toBe(true);
    expect(await statusOf(id)).toBe('running');
    const force = await tsrun(['delete', '--force', id]);
    expect(force.code).toBe(0);
    expect(await waitFor(() => !pidAlive(pid), 3000)).toBe(true);
    expect(leftovers({ id, bundle: b.dir })).toEqual([]);
  });

  it('delete --force of an unknown container exits 0 silently; delete of one fails', async () => {
    const id = newId('nobody');
    const f = await tsrun(['delete', '--force', id]);
    expect(f.code).toBe(0);
    expect(f.stdout + f.stderr).toBe('');
    const d = await tsrun(['delete', id]);
    expect(d.code).not.toBe(0);
    expect(d.stderr).toMatch(/does not exist/);
    expect(existsSync(join(testRoot(), id))).toBe(false);
  });

  it('run --keep leaves a stopped container that delete removes', async () => {
    const b = await makeBundle({ args: ['/bin/sh', '-c', 'echo kept; exit 0'] });
    b.write();
    const id = newId('keep');
    const r = await tsrun(['run', '--keep', '--bundle', b.dir, id], { cwd: b.dir });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('kept\n');
    expect(await statusOf(id)).toBe('stopped');
    await ok(tsrun(['delete', id]));
    expect(leftovers({ id, bundle: b.dir })).toEqual([]);
  });

  it('run without --keep removes the container', async () => {
    const b = await makeBundle({ args: ['/bin/true'] });
    b.write();
    const id = newId('life');
    const r = await tsrun(['run', '--bundle', b.dir, id], { cwd: b.dir });
    expect(r.code).toBe(0);
    expect((await tsrun(['state', id])).stderr).toMatch(/does not exist/);
    expect(leftovers({ id, bundle: b.dir })).toEqual([]);
  });

  it('run -d returns at once with the container running and the pid file written', async () => {
    const b = await makeBundle({ args: ['/bin/sleep', '100'] });
    b.write();
    const id = newId('detach');
    const pidFile = join(b.dir, 'detach.pid');
    const t0 = Date.now();
    const r = await tsrun(['run', '-d', '--pid-file', pidFile, '--bundle', b.dir, id], { cwd: b.dir });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(10000);
    const st = await containerState(id);
    expect(st.status).toBe('running');
    expect(readFileSync(pidFile, 'utf8')).toBe(String(st.pid));
    expect(pidAlive(st.pid!)).toBe(true);
    await ok(tsrun(['kill', id, 'KILL']));
    expect(await waitFor(async () => (await statusOf(id)) === 'stopped', 5000)).toBe(true);
    await ok(tsrun(['delete', id]));
    expect(leftovers({ id, bundle: b.dir })).toEqual([]);
  });

  it('--pid-file is complete when create returns (absolute and relative to the cwd)', async () => {
    const b = await makeBundle({ args: ['/bin/true'] });
    for (const [flag, file] of [[join(b.dir, 'abs.pid'), join(b.dir, 'abs.pid')], ['rel.pid', join(b.dir, 'rel.pid')]]) {
      const id = newId('pidf');
      const pid = await create(b, id, ['--pid-file', flag!]);
      // containerd parses this with strconv.Atoi and no trimming: digits only, no newline.
      expect(readFileSync(file!, 'utf8')).toBe(String(pid));
      expect(pidAlive(pid)).toBe(true);
      await ok(tsrun(['delete', '--force', id]));
    }
  });

  for (const [what, args, code] of [
    ['0 for success', ['/bin/true'], 0],
    ['3 for exit 3', ['/bin/sh', '-c', 'exit 3'], 3],
  ] as const) {
    it(`foreground run exits with the process status: ${what}`, async () => {
      const b = await makeBundle({ args: [...args] });
      b.write();
      const id = newId('exit');
      const r = await tsrun(['run', '--bundle', b.dir, id], { cwd: b.dir });
      expect(r.code).toBe(code);
      expect(leftovers({ id, bundle: b.dir })).toEqual([]);
    });
  }

  it('foreground run exits 137 when the container is killed with SIGKILL', async () => {
    const b = await makeBundle({ args: ['/bin/sleep', '100'] });
    b.write();
    const id = newId('exit');
    const run = spawnTsrun(['run', '--bundle', b.dir, id], { cwd: b.dir });
    expect(await waitFor(async () => (await tsrun(['state', id])).stdout.includes('"running"'), 8000)).toBe(true);
    await ok(tsrun(['kill', id, 'KILL']));
    const r = await run.done;
    expect(r.code).toBe(137);
    expect(leftovers({ id, bundle: b.dir })).toEqual([]);
  });

  it('foreground run forwards SIGTERM to the container, which sees it and exits with its own status', async () => {
    // pid 1 of a pid namespace only gets signals it has a handler for: the trap installs one.
    const script = 'trap "echo got-term; exit 42" TERM; echo ready; while :; do sleep 0.1; done';
    const b = await makeBundle({ args: ['/bin/sh', '-c', script] });
    b.write();
    const id = newId('sig');
    const run = spawnTsrun(['run', '--bundle', b.dir, id], { cwd: b.dir });
    expect(await waitFor(() => run.stdoutSoFar().includes('ready'), 8000)).toBe(true);
    run.child.kill('SIGTERM');
    const r = await run.done;
    expect(r.stdout).toBe('ready\ngot-term\n');
    expect(r.code).toBe(42);
    expect(leftovers({ id, bundle: b.dir })).toEqual([]);
  });

  it('a SIGTERM that reaches foreground run while the container is being created is forwarded once it runs', async () => {
    // No pid namespace: sleep has no handler, so the forwarded SIGTERM kills it (as pid 1 of a
    // new pid namespace it would be ignored). The createRuntime hook holds create until the test
    // has signalled tsrun; a runtime that installs its handler only after start dies of the
    // signal instead and leaves the container behind.
    const b = await makeBundle({ args: ['/bin/sleep', '100'] });
    b.config.linux.namespaces = (b.config.linux.namespaces ?? []).filter((n) => n.type !== 'pid');
    const marker = join(b.dir, 'hook-running');
    b.config.hooks = { createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', `touch ${marker}; sleep 1`] }] };
    b.write();
    const id = newId('sigearly');
    const run = spawnTsrun(['run', '--bundle', b.dir, id], { cwd: b.dir });
    expect(await waitFor(() => existsSync(marker), 8000)).toBe(true);
    run.child.kill('SIGTERM');
    const r = await run.done;
    expect({ code: r.code, signal: r.signal }).toEqual({ code: 128 + 15, signal: null });
    expect(leftovers({ id, bundle: b.dir })).toEqual([]);
  });

  it('--log --log-format json writes JSON lines with level, msg and time when a command fails', async () => {
    const b = await makeBundle({ args: ['/bin/true'] });
    const log = join(b.dir, 'log.json');
    const id = newId('log');
    const r = await tsrun(['--log', log, '--log-format', 'json', 'create', '--bundle', join(b.dir, 'missing'), id]);
    expect(r.code).not.toBe(0);
    const lines = readFileSync(log, 'utf8').split('\n').filter((l) => l !== '');
    expect(lines.length).toBeGreaterThan(0);
    const entries = lines.map((l) => JSON.parse(l) as { level: string; msg: string; time: string });
    for (const e of entries) {
      expect(typeof e.level).toBe('string');
      expect(typeof e.msg).toBe('string');
      expect(Number.isNaN(Date.parse(e.time))).toBe(false);
    }
    // containerd shows the msg of the last line to the user.
    const last = entries[entries.length - 1]!;
    expect(last.level).toBe('error');
    expect(last.msg).toContain('missing');
    expect(leftovers({ id, bundle: b.dir })).toEqual([]);
  });
});
