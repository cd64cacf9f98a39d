import { describe, expect, it } from 'vitest';

import { FakeNative, systemError } from '../../src/native/fake.js';
import type { SpawnInitOptions } from '../../src/native/types.js';

const opts: SpawnInitOptions = {
  initPath: '/opt/oci-init',
  argv: ['oci-init'],
  cloneFlags: 0,
  joinInChild: [],
  unshareFlags: 0,
  pidNamespaceFd: -1,
  cgroupFd: 7,
  fds: [0, 1, 2],
  pdeathSignal: 9,
};

describe('FakeNative', () => {
  it('records every call with its arguments, in order', () => {
    const n = new FakeNative();
    n.flock(3, true, true);
    n.spawnInit(opts);
    n.pidfdSendSignal(1000, 15);
    expect(n.calls.map((c) => c.name)).toEqual(['flock', 'spawnInit', 'pidfdSendSignal']);
    expect(n.callsOf('pidfdSendSignal')).toEqual([[1000, 15]]);
    expect(n.callsOf('spawnInit')[0]?.[0]).toBe(opts);
  });

  it('gives defaults with fresh fds and pids when nothing is scripted', () => {
    const n = new FakeNative();
    const a = n.spawnInit(opts);
    const b = n.spawnInit({ ...opts, cgroupFd: -1 });
    expect(a.pid).not.toBe(b.pid);
    expect(a.pidfd).toBeGreaterThanOrEqual(1000);
    expect(a.intoCgroup).toBe(true);
    expect(b.intoCgroup).toBe(false);
    const [x, y] = n.socketPair();
    expect(new Set([a.pidfd, b.pidfd, x, y]).size).toBe(4);
  });

  it('plays scripted results once each, then falls back to the default', () => {
    const n = new FakeNative().script('flock', false, true).script('getrlimit', (r) => ({ soft: String(r), hard: 'x' }));
    expect(n.flock(1, true, true)).toBe(false);
    expect(n.flock(1, true, true)).toBe(true);
    expect(n.getrlimit(7)).toEqual({ soft: '7', hard: 'x' });
    expect(n.getrlimit(7)).toEqual({ soft: '1024', hard: '1048576' });
  });

  it('throws scripted errors, and rejects for the promise-returning waitPidfd', async () => {
    const err = systemError('ESRCH', 3, 'pidfd_open', undefined, 'no such process');
    const n = new FakeNative().script('pidfdOpen', err).script('waitPidfd', new Error('boom'), { exitCode: null, signal: 9 });
    expect(() => n.pidfdOpen(12)).toThrow('ESRCH: no such process, pidfd_open');
    expect(err).toMatchObject({ code: 'ESRCH', errno: -3, syscall: 'pidfd_open' });
    await expect(n.waitPidfd(1)).rejects.toThrow('boom');
    await expect(n.waitPidfd(1)).resolves.toEqual({ exitCode: null, signal: 9 });
  });

  it('has constants that throw on unknown names', () => {
    const n = new FakeNative({ MS_BIND: 4096 });
    expect(n.constants.CLONE_NEWPID).toBe(0x20000000);
    expect(n.constants.MS_BIND).toBe(4096);
    expect(() => n.constants.NOT_A_CONSTANT).toThrow('unknown native constant NOT_A_CONSTANT');
  });
});
