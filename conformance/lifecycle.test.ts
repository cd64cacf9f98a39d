import { describe, expect, it } from 'vitest';
import {
  containerState, installCleanup, makeBundle, newId, pidAlive, runContainer, skipNote, skipReason, tsrun, waitFor,
} from './lib/index.js';

installCleanup();

describe.skipIf(!!skipReason)(`lifecycle${skipNote}`, () => {
  it('create → created (pid alive) → start → running → exit → stopped → delete', async () => {
    const b = await makeBundle({ args: ['/bin/sh', '-c', 'read x < /dev/null; sleep 1'] });
    const id = newId();
    const c = await tsrun(['create', '--bundle', b.dir, id], { cwd: b.dir });
    expect(c.stderr).toBe('');
    expect(c.code).toBe(0);
    const s1 = await containerState(id);
    expect(s1.status).toBe('created');
    expect(s1.id).toBe(id);
    expect(s1.bundle).toBe(b.dir);
    expect(typeof s1.pid).toBe('number');
    expect(pidAlive(s1.pid!)).toBe(true);
    const st = await tsrun(['start', id]);
    expect(st.code).toBe(0);
    expect((await containerState(id)).status).toBe('running');
    expect(await waitFor(async () => (await containerState(id)).status === 'stopped', 5000)).toBe(true);
    const d = await tsrun(['delete', id]);
    expect(d.code).toBe(0);
    const gone = await tsrun(['state', id]);
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toMatch(/does not exist|not exist|not found/);
  });
});
