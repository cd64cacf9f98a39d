import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Store, STATE_FORMAT, writeFileAtomic, type StateFile } from '../../src/container/store.js';
import { Container, loadContainer } from '../../src/container/container.js';
import { NotFoundError, TsrunError } from '../../src/errors.js';
import { FakeNative } from '../../src/native/fake.js';
import { startTimeOf } from '../../src/process/procfs.js';

let root: string;
let store: Store;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'tsrun-store-'));
  store = new Store(join(root, 'state'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function state(id: string, over: Partial<StateFile> = {}): StateFile {
  return {
    format: STATE_FORMAT, ociVersion: '1.3.0', id, phase: 'created', pid: process.pid,
    pidStartTime: startTimeOf(process.pid)!, creatorPid: 0, creatorStartTime: '', bundle: '/b', rootfs: '/b/rootfs',
    annotations: {}, created: '2026-01-01T00:00:00.000Z', owner: 'root', hooks: { poststart: [], poststop: [] }, ...over,
  };
}

describe('Store', () => {
  it('creates the container directory once (0700) and refuses a taken id', () => {
    store.createDir('c1');
    expect(existsSync(store.dir('c1'))).toBe(true);
    expect(() => store.createDir('c1')).toThrow('container with given ID already exists');
    expect(() => store.createDir('../x')).toThrow(/invalid container ID format/);
  });

  it('writes state atomically and reads it back; no temp files remain', () => {
    store.createDir('c1');
    store.write(state('c1'));
    store.write(state('c1', { bundle: '/other' }));
    expect(store.read('c1').bundle).toBe('/other');
    expect(readdirSync(store.dir('c1'))).toEqual(['state.json']);
  });

  it('reports a missing container as NotFoundError and a corrupt one clearly', () => {
    expect(() => store.read('nope')).toThrow(NotFoundError);
    store.createDir('c2');
    writeFileSync(store.statePath('c2'), '{"format":1,"id":"c2"');
    expect(() => store.read('c2')).toThrow(/state of container c2 is corrupt: .* not valid JSON/);
    writeFileSync(store.statePath('c2'), '{"format":1,"id":"other","pid":1}');
    expect(() => store.read('c2')).toThrow(TsrunError);
  });

  it('lock: create makes the lock file, others need it', () => {
    const nat = new FakeNative();
    expect(() => store.lock('c1', nat)).toThrow(NotFoundError);
    store.createDir('c1');
    const l = store.lock('c1', nat, true);
    expect(nat.callsOf('flock')).toHaveLength(1);
    expect(nat.callsOf('flock')[0]!.slice(1)).toEqual([true, false]);
    l.release();
    store.lock('c1', nat).release();
  });

  it('lock: a waiter notices the container was deleted while it waited', () => {
    store.createDir('c1');
    store.lock('c1', new FakeNative(), true).release();
    store.write(state('c1'));
    // The flock "blocks" while another command deletes the container, then returns.
    const nat = new FakeNative().script('flock', () => {
      store.remove('c1');
      return true;
    });
    expect(() => store.lock('c1', nat)).toThrow(NotFoundError);
  });

  it('remove deletes everything and ids() lists what is left', () => {
    for (const id of ['b', 'a']) {
      store.createDir(id);
      store.write(state(id));
    }
    expect(store.ids()).toEqual(['a', 'b']);
    store.remove('a');
    expect(store.ids()).toEqual(['b']);
    expect(new Store(join(root, 'missing')).ids()).toEqual([]);
  });

  it('writeFileAtomic replaces a file whole', () => {
    const p = join(root, 'pid');
    writeFileAtomic(p, '123');
    writeFileAtomic(p, '45');
    expect(readFileSync(p, 'utf8')).toBe('45');
    expect(readdirSync(root).filter((f) => f.includes('tmp'))).toEqual([]);
  });
});

describe('Container', () => {
  it('derives status from pid+start time and the fifo', () => {
    store.createDir('c1');
    store.write(state('c1'));
    writeFileSync(store.fifoPath('c1'), '');
    expect(loadContainer(store, 'c1').status()).toBe('created');
    rmSync(store.fifoPath('c1'));
    expect(loadContainer(store, 'c1').status()).toBe('running');
    // Same pid, different start time: a recycled pid is not our init.
    store.write(state('c1', { pidStartTime: '1' }));
    expect(loadContainer(store, 'c1').status()).toBe('stopped');
  });

  it('prints runc containerState (pid 0 when stopped, annotations before owner)', () => {
    const c = new Container(store, state('c1', { annotations: { a: 'b' }, pidStartTime: '1' }));
    const rs = c.runcState();
    expect(Object.keys(rs)).toEqual(['ociVersion', 'id', 'pid', 'status', 'bundle', 'rootfs', 'created', 'annotations', 'owner']);
    expect(rs).toMatchObject({ pid: 0, status: 'stopped' });
    expect(c.ociState('creating')).toEqual({ ociVersion: '1.3.0', id: 'c1', status: 'creating', pid: process.pid, bundle: '/b', annotations: { a: 'b' } });
  });
});
