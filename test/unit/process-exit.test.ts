import { afterEach, describe, expect, it } from 'vitest';
import { FakeNative } from '../../src/native/fake.js';
import { exitProcess, usingNodeStdio } from '../../src/process/exit.js';

class Exited extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}
const nodeExit = (code: number): never => {
  throw new Exited(code);
};

function outcome(run: () => never): string {
  try {
    run();
  } catch (e) {
    if (e instanceof Exited) return `process.exit(${e.code})`;
    return `exitNow`;
  }
  return 'returned';
}

describe('exitProcess', () => {
  const listener = (): void => {};
  afterEach(() => {
    process.removeListener('exit', listener);
  });

  it('ends through the addon _exit, with the code, when the addon is loaded', () => {
    const nat = new FakeNative();
    expect(outcome(() => exitProcess(3, nat, nodeExit))).toBe('exitNow');
    expect(nat.callsOf('exitNow')).toEqual([[3]]);
  });

  it('uses process.exit when the command never loaded the addon (no dlopen just to exit)', () => {
    expect(outcome(() => exitProcess(0, undefined, nodeExit))).toBe('process.exit(0)');
  });

  it('uses process.exit while an exit listener waits (the build writes code caches there)', () => {
    process.on('exit', listener);
    const nat = new FakeNative();
    expect(outcome(() => exitProcess(1, nat, nodeExit))).toBe('process.exit(1)');
    expect(nat.callsOf('exitNow')).toEqual([]);
  });

  // Last: the flag stays set for the rest of this file's process, as it does in tsrun.
  it('uses process.exit once the terminal proxy used Node stdio streams (queued writes, tty mode)', () => {
    usingNodeStdio();
    const nat = new FakeNative();
    expect(outcome(() => exitProcess(0, nat, nodeExit))).toBe('process.exit(0)');
    expect(nat.callsOf('exitNow')).toEqual([]);
  });
});
