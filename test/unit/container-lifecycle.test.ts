import { existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deleteContainer, signalContainer, startContainer } from '../../src/container/lifecycle.js';
import { loadContainer } from '../../src/container/container.js';
import { Store, STATE_FORMAT, type StateFile } from '../../src/container/store.js';
import { NotFoundError, StatusError } from '../../src/errors.js';
import { FakeNative } from '../../src/native/fake.js';
import { startTimeOf } from '../../src/process/procfs.js';

let dir: string;
let store: Store;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tsrun-life-'));
  store = new Store(join(dir, 'root'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A container whose "init" is this test process (alive) or a pid that does not exist (stopped). */
function make(id: string, alive: boolean, over: Partial<StateFile> = {}): void {
  store.createDir(id);
  store.lock(id, new FakeNative(), true).release();
  store.write({
    format: STATE_FORMAT, ociVersion: '1.3.0', id, phase: 'created', pid: alive ? process.pid : 0x3ffffff,
    pidStartTime: alive ? startTimeOf(process.pid)! : '1', creatorPid: 0, creatorStartTime: '', bundle: '/b',
    rootfs: '/b/rootfs', annotations: {}, created: 'now', owner: 'root', hooks: { poststart: [], poststop: [] }, ...over,
  });
}

/** pidfds are real descriptors here because lifecycle.ts closes them. */
function nativeWithFds(): FakeNative {
  const nat = new FakeNative();
  for (let i = 0; i < 4; i++) nat.script('pidfdOpen', () => openSync('/dev/null', 'r'));
  return nat;
}

describe('delete', () => {
  it('unknown id: NotFoundError, or false silently with --force', () => {
    expect(() => deleteContainer(new FakeNative(), store, 'nope', false)).toThrow(NotFoundError);
    expect(deleteContainer(new FakeNative(), store, 'nope', true)).toBe(false);
  });

  it('stopped: removes the state and runs poststop hooks with status stopped', () => {
    const out = join(dir, 'poststop');
    make('c1', false, { hooks: { poststart: [], poststop: [{ path: '/bin/sh', args: ['sh', '-c', `cat > ${out}`] }] } });
    expect(deleteContainer(new FakeNative(), store, 'c1', false)).toBe(true);
    expect(existsSync(store.dir('c1'))).toBe(false);
    expect(JSON.parse(readFileSync(out, 'utf8'))).toMatchObject({ id: 'c1', status: 'stopped' });
  });

  it('running without --force: runc error, nothing changes', () => {
    make('c1', true);
    expect(() => deleteContainer(new FakeNative(), store, 'c1', false)).toThrow(new StatusError('cannot delete container c1 that is not stopped: running'));
    expect(existsSync(store.statePath('c1'))).toBe(true);
  });

  it('running with --force: SIGKILL through a verified pidfd, wait, remove', () => {
    make('c1', true);
    const nat = nativeWithFds();
    expect(deleteContainer(nat, store, 'c1', true)).toBe(true);
    expect(nat.callsOf('pidfdOpen')).toEqual([[process.pid]]);
    expect(nat.callsOf('pidfdSendSignal').map((a) => a[1])).toEqual([9]);
    expect(nat.callsOf('pidfdWait')).toHaveLength(1);
    expect(existsSync(store.dir('c1'))).toBe(false);
  });

  it('corrupt state: --force removes it, plain delete names the file', () => {
    make('c1', false);
    writeFileSync(store.statePath('c1'), '{"form');
    expect(() => deleteContainer(new FakeNative(), store, 'c1', false)).toThrow(/state\.json is not valid JSON/);
    expect(deleteContainer(new FakeNative(), store, 'c1', true)).toBe(false);
    expect(existsSync(store.dir('c1'))).toBe(false);
  });
});

describe('kill', () => {
  it('signals the init through a pidfd after checking its start time', () => {
    make('c1', true);
    const nat = nativeWithFds();
    signalContainer(nat, loadContainer(store, 'c1'), 15, false);
    expect(nat.callsOf('pidfdSendSignal').map((a) => a[1])).toEqual([15]);
  });

  it('never signals a recycled pid (same pid, other start time)', () => {
    make('c1', true, { pidStartTime: '12345' });
    const nat = nativeWithFds();
    expect(() => signalContainer(nat, loadContainer(store, 'c1'), 9, false)).toThrow('container not running');
    expect(nat.callsOf('pidfdSendSignal')).toEqual([]);
  });
});

describe('start', () => {
  it('refuses a stopped container with runc wording', () => {
    make('c1', false);
    expect(() => startContainer(new FakeNative(), store, 'c1')).toThrow('cannot start a container that has stopped');
  });
});
