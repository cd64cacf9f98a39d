// Concurrent commands on one container ID (SECURITY.md "concurrent commands on one ID"; store.ts:
// atomic state writes and a per-container lock): readers never see a broken state.json, racing
// deletes end with the container gone exactly once, and of two creates of one ID exactly one wins.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  containerState, installCleanup, makeBundle, newId, pidAlive, skipNote, skipReason, testRoot, tsrun, waitFor,
  type RunResult,
} from '../../conformance/lib/index.js';
import { leftovers, ok } from './ops-lib.js';

installCleanup();

/** state.json, if present, must always parse: it is replaced by rename, never written in place. */
function stateFileIntact(id: string): boolean {
  const f = join(testRoot(), id, 'state.json');
  if (!existsSync(f)) return true;
  try {
    JSON.parse(readFileSync(f, 'utf8'));
    return true;
  } catch {
    return !existsSync(f); // deleted between the two calls
  }
}

/** A failure of a racing command must be a clean refusal, never a crash with a stack trace. */
function cleanFailure(r: RunResult): boolean {
  return r.code !== 0 && r.stderr.trim() !== '' && !/\n\s+at /.test(r.stderr) && r.signal === null;
}

describe.skipIf(!!skipReason)(`concurrency${skipNote}`, () => {
  it('10 parallel state and kill on one running container all succeed and never corrupt state.json', async () => {
    const b = await makeBundle({ args: ['/bin/sh', '-c', 'trap "" USR1; sleep 100'] });
    b.write();
    const id = newId('conc');
    await ok(tsrun(['run', '-d', '--bundle', b.dir, id], { cwd: b.dir }));
    let intact = true;
    const watcher = setInterval(() => (intact &&= stateFileIntact(id)), 2);
    const runs = await Promise.all(
      Array.from({ length: 10 }, (_, i) => tsrun(i % 2 ? ['kill', id, 'USR1'] : ['state', id])),
    );
    clearInterval(watcher);
    for (const [i, r] of runs.entries()) {
      expect({ i, stderr: r.stderr, code: r.code }).toEqual({ i, stderr: '', code: 0 });
      if (i % 2 === 0) expect((JSON.parse(r.stdout) as { status: string }).status).toBe('running');
    }
    expect(intact).toBe(true);
    expect((await containerState(id)).status).toBe('running');
    await ok(tsrun(['delete', '--force', id]));
  });

  it('10 parallel delete --force of one running container: all exit 0, it is gone, nothing is left', async () => {
    const b = await makeBundle({ args: ['/bin/sleep', '100'] });
    b.write();
    const id = newId('conc');
    await ok(tsrun(['run', '-d', '--bundle', b.dir, id], { cwd: b.dir }));
    const pid = (await containerState(id)).pid!;
    const runs = await Promise.all(Array.from({ length: 10 }, () => tsrun(['delete', '--force', id])));
    for (const r of runs) expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(await waitFor(() => !pidAlive(pid), 3000)).toBe(true);
    expect((await tsrun(['state', id])).stderr).toMatch(/does not exist/);
    expect(leftovers({ id, bundle: b.dir })).toEqual([]);
  });

  it('state, kill and delete racing on a stopped container: one delete wins, the rest fail cleanly', async () => {
    const b = await makeBundle({ args: ['/bin/true'] });
    b.write();
    const id = newId('conc');
    await ok(tsrun(['run', '--keep', '--bundle', b.dir, id], { cwd: b.dir }));
    expect((await containerState(id)).status).toBe('stopped');
    let intact = true;
    const watcher = setInterval(() => (intact &&= stateFileIntact(id)), 2);
    const cmds = Array.from({ length: 12 }, (_, i) => [['delete', id], ['state', id], ['kill', id, 'KILL']][i % 3]!);
    const runs = await Promise.all(cmds.map((c) => tsrun(c)));
    clearInterval(watcher);
    expect(intact).toBe(true);
    const deletes = runs.filter((_, i) => i % 3 === 0);
    expect(deletes.filter((r) => r.code === 0)).toHaveLength(1);
    for (const r of deletes.filter((x) => x.code !== 0)) {
      expect(cleanFailure(r)).toBe(true);
      expect(r.stderr).toMatch(/does not exist/);
    }
    for (const [i, r] of runs.entries()) {
      if (i % 3 === 1 && r.code === 0) expect((JSON.parse(r.stdout) as { status: string }).status).toBe('stopped');
      if (r.code !== 0) expect({ i, clean: cleanFailure(r) }).toEqual({ i, clean: true });
    }
    expect(leftovers({ id, bundle: b.dir })).toEqual([]);
  });

  for (let round = 1; round <= 3; round++) {
    it(`two parallel create of one id: exactly one wins (round ${round})`, async () => {
      const b = await makeBundle({ args: ['/bin/true'] });
      b.write();
      const id = newId('twin');
      const [x, y] = await Promise.all([
        tsrun(['create', '--bundle', b.dir, id], { cwd: b.dir }),
        tsrun(['create', '--bundle', b.dir, id], { cwd: b.dir }),
      ]);
      const winners = [x, y].filter((r) => r.code === 0);
      expect(winners).toHaveLength(1);
      const loser = [x, y].find((r) => r.code !== 0)!;
      expect(cleanFailure(loser)).toBe(true);
      expect(loser.stderr).toMatch(/already exists/);
      const st = await containerState(id);
      expect(st.status).toBe('created');
      expect(pidAlive(st.pid!)).toBe(true);
      expect(stateFileIntact(id)).toBe(true);
      await ok(tsrun(['delete', '--force', id]));
      // The loser must not have left an init of its own behind.
      expect(leftovers({ id, bundle: b.dir })).toEqual([]);
    });
  }

  it('5 parallel create of different ids in one bundle all succeed', async () => {
    const b = await makeBundle({ args: ['/bin/true'] });
    b.write();
    const ids = Array.from({ length: 5 }, () => newId('many'));
    const runs = await Promise.all(ids.map((id) => tsrun(['create', '--bundle', b.dir, id], { cwd: b.dir })));
    for (const r of runs) expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    for (const id of ids) expect((await containerState(id)).status).toBe('created');
    const deletes = await Promise.all(ids.map((id) => tsrun(['delete', '--force', id])));
    for (const r of deletes) expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    for (const id of ids) expect(leftovers({ id, bundle: b.dir })).toEqual([]);
  });
});
