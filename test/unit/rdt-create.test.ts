// The create flow's side of linux.intelRdt (src/process/parent.ts), against a temp directory
// standing in for the resctrl mount and a scripted oci-init: the group exists and holds the init
// before the first sync message, state.json records it, and a failed create removes it.
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeNative } from '../../src/native/fake.js';
import { createContainer, type CreateDeps, type SyncChannel } from '../../src/process/parent.js';
import type { ChildMessage, ParentMessage } from '../../src/process/protocol.js';
import type { BuiltPlan } from '../../src/spec/plan.js';
import type { InitPlan } from '../../src/spec/plan-types.js';
import type { LinuxIntelRdt, Spec } from '../../src/spec/types.js';

let dir: string;
let resctrl: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tsrun-rdt-create-'));
  resctrl = join(dir, 'fake-resctrl');
  mkdirSync(resctrl);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** oci-init's side: records the group's tasks when the plan arrives, answers from a script. */
function channel(fd: number, replies: (ChildMessage | 'eof')[], seen: string[], group: string): SyncChannel {
  return {
    send(msg: ParentMessage): void {
      if (msg.type === 'plan') seen.push(existsSync(join(group, 'tasks')) ? readFileSync(join(group, 'tasks'), 'utf8') : '<no tasks>');
    },
    receive(before: string): ChildMessage {
      const r = replies.shift();
      if (r === undefined || r === 'eof') throw new Error(`container init exited before ${before}`);
      return r;
    },
    close: () => closeSync(fd),
  };
}

function deps(rdt: LinuxIntelRdt, replies: (ChildMessage | 'eof')[], seen: string[]): CreateDeps {
  const nat = new FakeNative();
  nat.script('socketPair', (): [number, number] => [openSync('/dev/null', 'r'), openSync('/dev/null', 'r')]);
  nat.script('mkfifo', (p: string) => writeFileSync(p, ''));
  nat.script('spawnInit', () => ({ pid: process.pid, pidfd: 777, intoCgroup: false }));
  const plan: BuiltPlan = {
    init: { version: 1, rootfs: '/bundle/rootfs' } as unknown as InitPlan,
    spawn: { cloneFlags: 0, unshareFlags: 0, joinInChild: [], pidNamespacePath: null, userNamespace: false, uidMappings: [], gidMappings: [] },
    warnings: [],
  };
  return {
    native: nat,
    ociInitPath: '/opt/oci-init',
    loadBundle: () => ({ spec: { ociVersion: '1.3.0', process: { cwd: '/', args: ['sh'] }, linux: { intelRdt: rdt } } as Spec, bundle: '/bundle' }),
    buildPlan: () => plan,
    hostContext: () => ({ lastCap: 40, nofile: null, cgroupMode: 'v2' }),
    channel: (fd) => channel(fd, replies, seen, join(resctrl, rdt.closID ?? 'c1')),
    resctrl: { root: resctrl, removeDir: (d) => rmSync(d, { recursive: true }) },
  };
}

const opts = () => ({ id: 'c1', bundle: '/bundle', root: join(dir, 'root'), noPivot: false, noNewKeyring: false, preserveFds: 0 });

describe('create with linux.intelRdt (stand-in resctrl root)', () => {
  it('the group is made, its schemata written and the init in its tasks before oci-init gets the plan', () => {
    const seen: string[] = [];
    createContainer(opts(), deps({ l3CacheSchema: 'L3:0=f0' }, [{ type: 'mounted' }, { type: 'ready' }], seen));
    expect(seen).toEqual([`${process.pid}\n`]);
    expect(readFileSync(join(resctrl, 'c1', 'schemata'), 'utf8')).toBe('L3:0=f0\n');
    const state = JSON.parse(readFileSync(join(dir, 'root', 'c1', 'state.json'), 'utf8'));
    expect(state.intelRdt).toEqual({ group: join(resctrl, 'c1'), createdGroup: true, monitor: null });
  });

  it('a failed create removes the group it made, and leaves no state', () => {
    expect(() => createContainer(opts(), deps({ l3CacheSchema: 'L3:0=f0' }, ['eof'], []))).toThrow('container init exited before mounted');
    expect(readdirSync(resctrl)).toEqual([]);
    expect(readdirSync(join(dir, 'root'))).toEqual([]);
  });

  it('no resctrl: refused naming /linux/intelRdt before anything is spawned', () => {
    const d = deps({ memBwSchema: 'MB:0=10' }, [], []);
    d.resctrl = { root: null };
    expect(() => createContainer(opts(), d)).toThrow(/^\/linux\/intelRdt: intelRdt is specified in config, but Intel RDT is not supported or enabled/);
    expect((d.native as FakeNative).callsOf('spawnInit')).toEqual([]);
    expect(readdirSync(join(dir, 'root'))).toEqual([]);
  });
});
