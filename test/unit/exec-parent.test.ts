import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InitFailure, StatusError } from '../../src/errors.js';
import { Store, STATE_FORMAT, type StateFile } from '../../src/container/store.js';
import { FakeNative } from '../../src/native/fake.js';
import { execInContainer, type ExecDeps, type ExecOptions } from '../../src/process/exec.js';
import type { SyncChannel } from '../../src/process/parent.js';
import { startTimeOf } from '../../src/process/procfs.js';
import type { ChildMessage, ParentMessage } from '../../src/process/protocol.js';
import { execDefaults } from '../../src/spec/exec-plan.js';
import { buildPlan } from '../../src/spec/plan.js';
import type { Spec } from '../../src/spec/types.js';

class ScriptedChannel implements SyncChannel {
  sent: ParentMessage[] = [];
  closed = false;
  constructor(private readonly fd: number, private readonly replies: ChildMessage[]) {}
  send(msg: ParentMessage): void {
    this.sent.push(msg);
  }
  receive(before: string): ChildMessage {
    const r = this.replies.shift();
    if (r === undefined) throw new Error(`container init exited before ${before}`);
    return r;
  }
  close(): void {
    this.closed = true;
    closeSync(this.fd);
  }
}

const SPEC: Spec = {
  ociVersion: '1.3.0',
  root: { path: 'rootfs' },
  process: { args: ['/bin/sleep', '1'], cwd: '/', env: ['PATH=/bin'], user: { uid: 0, gid: 0 } },
  linux: { namespaces: [{ type: 'pid' }, { type: 'mount' }, { type: 'uts' }] },
};

let dir: string;
let root: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tsrun-exec-'));
  root = join(dir, 'root');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A container whose "init" is this test process (alive, start time known), state running. */
function container(over: Partial<StateFile> = {}): void {
  const store = new Store(root);
  store.createDir('c1');
  store.write({
    format: STATE_FORMAT, ociVersion: '1.3.0', id: 'c1', phase: 'created', pid: process.pid, pidStartTime: startTimeOf(process.pid) ?? '',
    creatorPid: 1, creatorStartTime: 'x', bundle: dir, rootfs: join(dir, 'rootfs'), annotations: {}, created: '', owner: 'root',
    hooks: { poststart: [], poststop: [] }, exec: execDefaults(SPEC), ...over,
  });
}

function setup(replies: ChildMessage[]) {
  const nat = new FakeNative();
  const realFd = () => openSync('/dev/null', 'r');
  nat.script('pidfdOpen', () => realFd(), () => realFd(), () => realFd());
  nat.script('socketPair', (): [number, number] => [realFd(), realFd()]);
  nat.script('spawnInit', () => ({ pid: 4321, pidfd: realFd(), intoCgroup: false }));
  const events: string[] = [];
  let channel: ScriptedChannel | null = null;
  const deps: ExecDeps = {
    native: nat,
    ociInitPath: '/opt/oci-init',
    buildPlan,
    parseProcess: (text) => JSON.parse(text),
    loadBundle: () => ({ spec: SPEC, bundle: dir }),
    hostContext: () => ({ lastCap: 40, nofile: null, cgroupMode: 'v2' }),
    channel: (fd) => {
      events.push('channel');
      channel = new ScriptedChannel(fd, replies);
      return channel;
    },
    joinCgroup: (_c, pid, sub) => void events.push(`cgroup ${pid} ${sub ?? ''}`),
  };
  return { nat, deps, events, channel: () => channel as ScriptedChannel | null };
}

const opts = (o: Partial<ExecOptions> = {}): ExecOptions => ({
  id: 'c1', root, flags: { args: ['/bin/true'], tty: false, env: ['A=1'], additionalGids: [], caps: [] }, detach: false, preserveFds: 0, ...o,
});

describe('execInContainer', () => {
  it('spawns oci-init in the container pid namespace with an exec plan and no fifo', () => {
    container();
    const { nat, deps, events, channel } = setup([{ type: 'ready' }]);
    const r = execInContainer(opts({ preserveFds: 2 }), deps);
    expect(r.pid).toBe(4321);
    closeSync(r.pidfd);
    const [spawn] = nat.callsOf('spawnInit');
    expect(spawn![0]).toMatchObject({ argv: ['oci-init', '5', '-1', '2'], cloneFlags: 0, unshareFlags: 0, joinInChild: [], pdeathSignal: 0 });
    expect(spawn![0].fds).toHaveLength(6);
    expect(spawn![0].fds.slice(0, 5)).toEqual([0, 1, 2, 3, 4]);
    expect(spawn![0].pidNamespaceFd).toBeGreaterThanOrEqual(0);
    expect(spawn![0].becomeRoot).toBeUndefined();
    // The cgroup is joined before the plan goes out: no setup step runs outside it.
    expect(events).toEqual(['cgroup 4321 ', 'channel']);
    const sent = channel()!.sent;
    expect(sent).toHaveLength(1);
    const plan = (sent[0] as Extract<ParentMessage, { type: 'plan' }>).plan;
    expect(plan.mode).toBe('exec');
    expect(plan.process.args).toEqual(['/bin/true']);
    expect(plan.process.env).toEqual(['PATH=/bin', 'A=1']);
    expect(plan.joinNamespaces.map((j) => j.path)).toEqual([`/proc/${process.pid}/ns/uts`, `/proc/${process.pid}/ns/mnt`]);
    expect(channel()!.closed).toBe(true);
  });

  it('writes --pid-file once the process is ready', () => {
    container();
    const { deps } = setup([{ type: 'ready' }]);
    const pidFile = join(dir, 'p.pid');
    closeSync(execInContainer(opts({ pidFile }), deps).pidfd);
    expect(readFileSync(pidFile, 'utf8')).toBe('4321');
  });

  it('an error from oci-init kills the child and writes no pid file', () => {
    container();
    const { nat, deps } = setup([{ type: 'error', step: 'exec lookup', syscall: '', errno: 2, path: '/nope', message: 'exec: "/nope": stat /nope: no such file or directory' }]);
    const pidFile = join(dir, 'p.pid');
    expect(() => execInContainer(opts({ pidFile }), deps)).toThrow(InitFailure);
    expect(nat.callsOf('pidfdSendSignal').map((a) => a[1])).toEqual([9]);
    expect(existsSync(pidFile)).toBe(false);
  });

  it('refuses a stopped container before spawning anything', () => {
    container({ pid: 999999, pidStartTime: '1' });
    const { nat, deps } = setup([]);
    expect(() => execInContainer(opts(), deps)).toThrow(new StatusError('cannot exec in a stopped container'));
    expect(nat.callsOf('spawnInit')).toHaveLength(0);
  });

  it('falls back to the bundle config for states written before exec defaults existed', () => {
    container({ exec: undefined });
    const { deps, channel } = setup([{ type: 'ready' }]);
    closeSync(execInContainer(opts(), deps).pidfd);
    const plan = (channel()!.sent[0] as Extract<ParentMessage, { type: 'plan' }>).plan;
    expect(plan.process.env).toEqual(['PATH=/bin', 'A=1']);
  });

  it('terminal flags follow runc\'s rules, checked before spawning', () => {
    container();
    const { nat, deps } = setup([]);
    const tty = { args: ['/bin/sh'], tty: true, env: [], additionalGids: [], caps: [] };
    expect(() => execInContainer(opts({ flags: tty, detach: true }), deps)).toThrow('cannot allocate tty if runc will detach without setting console socket');
    expect(() => execInContainer(opts({ consoleSocket: '/x.sock', detach: true }), deps)).toThrow('cannot use console socket if runc will not detach or allocate tty');
    expect(nat.callsOf('spawnInit')).toHaveLength(0);
  });

  it('a foreground terminal: the pty master from oci-init is returned for the proxy', () => {
    container();
    const { nat, deps } = setup([{ type: 'pty' }, { type: 'ready' }]);
    const master = openSync('/dev/null', 'r');
    let channel: { receiveFd(): { fd: number; data: string } } | undefined;
    const orig = deps.channel;
    deps.channel = (fd) => {
      const ch = orig(fd) as SyncChannel & { receiveFd?: () => { fd: number; data: string } };
      ch.receiveFd = () => ({ fd: master, data: '/dev/ptmx' });
      channel = ch as { receiveFd(): { fd: number; data: string } };
      return ch;
    };
    const r = execInContainer(opts({ flags: { args: ['/bin/sh'], tty: true, env: [], additionalGids: [], caps: [] } }), deps);
    expect(channel).toBeDefined();
    expect(r.pty).toBe(master);
    const plan = nat.callsOf('spawnInit');
    expect(plan).toHaveLength(1);
    closeSync(r.pidfd);
    closeSync(master);
  });
});
