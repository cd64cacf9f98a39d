import { closeSync, existsSync, statSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InitFailure } from '../../src/errors.js';
import { FakeNative } from '../../src/native/fake.js';
import { createContainer, type CreateDeps, type CreateOptions, type SyncChannel } from '../../src/process/parent.js';
import type { ChildMessage, ParentMessage } from '../../src/process/protocol.js';
import type { BuiltPlan } from '../../src/spec/plan.js';
import type { InitPlan } from '../../src/spec/plan-types.js';
import type { Spec } from '../../src/spec/types.js';

/** Plays oci-init's side: records what the parent sent, answers from a script. */
class ScriptedChannel implements SyncChannel {
  sent: ParentMessage[] = [];
  closed = false;
  constructor(
    private readonly fd: number,
    private readonly replies: (ChildMessage | 'eof')[],
  ) {}
  send(msg: ParentMessage): void {
    this.sent.push(msg);
  }
  receive(before: string): ChildMessage {
    const r = this.replies.shift();
    if (r === undefined || r === 'eof') throw new Error(`container init exited before ${before}`);
    return r;
  }
  close(): void {
    this.closed = true;
    closeSync(this.fd);
  }
}

let dir: string;
let root: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tsrun-parent-'));
  root = join(dir, 'root');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const INIT = { version: 1, rootfs: '/bundle/rootfs' } as unknown as InitPlan;

function setup(spec: Partial<Spec>, replies: (ChildMessage | 'eof')[]) {
  const nat = new FakeNative();
  // Real descriptors where parent.ts closes them; the fifo as a plain file (O_PATH opens it).
  nat.script('socketPair', (): [number, number] => [openSync('/dev/null', 'r'), openSync('/dev/null', 'r')]);
  nat.script('mkfifo', (p: string) => writeFileSync(p, ''));
  nat.script('spawnInit', () => ({ pid: process.pid, pidfd: 777, intoCgroup: false }));
  let channel: ScriptedChannel | null = null;
  const plan: BuiltPlan = {
    init: INIT,
    spawn: { cloneFlags: 0x20000, unshareFlags: 0, joinInChild: [], pidNamespacePath: null, userNamespace: false, uidMappings: [], gidMappings: [] },
    warnings: [],
  };
  const deps: CreateDeps = {
    native: nat,
    ociInitPath: '/opt/oci-init',
    loadBundle: () => ({ spec: { ociVersion: '1.3.0', process: { cwd: '/', args: ['sh'] }, ...spec } as Spec, bundle: '/bundle' }),
    buildPlan: () => plan,
    hostContext: () => ({ lastCap: 40, nofile: null, cgroupMode: 'v2' }),
    channel: (fd) => (channel = new ScriptedChannel(fd, replies)),
  };
  return { nat, deps, channel: () => channel! };
}

const opts = (o: Partial<CreateOptions> = {}): CreateOptions => ({
  id: 'c1', bundle: '/bundle', root, noPivot: false, noNewKeyring: false, preserveFds: 0, ...o,
});

describe('createContainer', () => {
  it('spawns oci-init, exchanges plan/mounted/resume/ready, runs hooks, saves created state and the pid file', () => {
    const hookOut = join(dir, 'hook');
    const { nat, deps, channel } = setup(
      {
        hooks: {
          prestart: [{ path: '/bin/sh', args: ['sh', '-c', `cat > ${hookOut}.pre`] }],
          createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', `cat > ${hookOut}.cr`] }],
          poststop: [{ path: '/bin/true' }],
        },
        annotations: { k: 'v' },
      },
      [{ type: 'mounted' }, { type: 'ready' }],
    );
    const pidFile = join(dir, 'init.pid');
    const { container, pidfd } = createContainer(opts({ pidFile, preserveFds: 2 }), deps);
    expect(pidfd).toBe(777);

    const [spawn] = nat.callsOf('spawnInit')[0]!;
    expect(spawn.initPath).toBe('/opt/oci-init');
    expect(spawn.argv).toEqual(['oci-init', '5', '6', '2']);
    expect(spawn.fds.slice(0, 5)).toEqual([0, 1, 2, 3, 4]);
    expect(spawn.fds).toHaveLength(7);
    expect(spawn.pdeathSignal).toBe(0);
    expect(spawn.cloneFlags).toBe(0x20000);
    expect(nat.callsOf('mkfifo')[0]).toEqual([join(root, 'c1', 'exec.fifo'), 0o622]);
    // Whatever the umask: the init may drop to any uid before it opens the fifo for writing.
    expect(statSync(join(root, 'c1', 'exec.fifo')).mode & 0o777).toBe(0o622);

    const ch = channel();
    expect(ch.sent.map((m) => m.type)).toEqual(['plan', 'resume']);
    expect(ch.sent[0]).toEqual({ type: 'plan', plan: INIT });
    expect(ch.closed).toBe(true);
    const resume = ch.sent[1] as Extract<ParentMessage, { type: 'resume' }>;
    expect(JSON.parse(resume.createState)).toEqual({ ociVersion: '1.3.0', id: 'c1', status: 'creating', pid: process.pid, bundle: '/bundle', annotations: { k: 'v' } });
    expect(JSON.parse(resume.startState).status).toBe('created');

    for (const f of ['pre', 'cr']) expect(JSON.parse(readFileSync(`${hookOut}.${f}`, 'utf8'))).toMatchObject({ status: 'creating', pid: process.pid });

    const saved = JSON.parse(readFileSync(join(root, 'c1', 'state.json'), 'utf8'));
    expect(saved).toMatchObject({ phase: 'created', pid: process.pid, bundle: '/bundle', rootfs: '/bundle/rootfs', hooks: { poststop: [{ path: '/bin/true' }] } });
    expect(container.status()).toBe('created');
    expect(readFileSync(pidFile, 'utf8')).toBe(String(process.pid));
  });

  it('an error from oci-init becomes InitFailure with its message; the init is killed and nothing is left', () => {
    const { nat, deps } = setup({}, [{ type: 'error', step: 'exec lookup', syscall: 'stat', errno: 2, path: '/x', message: 'exec: "/x": stat /x: no such file or directory' }]);
    let err: unknown;
    try {
      createContainer(opts(), deps);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InitFailure);
    expect((err as InitFailure).message).toBe('exec: "/x": stat /x: no such file or directory');
    expect((err as InitFailure).step).toBe('exec lookup');
    expect(nat.callsOf('pidfdSendSignal')).toEqual([[777, 9]]);
    expect(readdirSync(root)).toEqual([]);
  });

  it('the init dying before mounted is reported and cleaned up', () => {
    const { nat, deps } = setup({}, ['eof']);
    expect(() => createContainer(opts(), deps)).toThrow('container init exited before mounted');
    expect(nat.callsOf('pidfdSendSignal')).toEqual([[777, 9]]);
    expect(readdirSync(root)).toEqual([]);
  });

  it('an out-of-order message is a protocol error', () => {
    const { deps } = setup({}, [{ type: 'ready' }]);
    expect(() => createContainer(opts(), deps)).toThrow('sync: got ready (child->parent), expected mounted (child->parent)');
    expect(readdirSync(root)).toEqual([]);
  });

  it('a failing prestart hook fails create with runc wording and leaves nothing', () => {
    const { nat, deps, channel } = setup({ hooks: { prestart: [{ path: '/bin/sh', args: ['sh', '-c', 'echo no >&2; exit 2'] }] } }, [{ type: 'mounted' }]);
    const pidFile = join(dir, 'pid');
    expect(() => createContainer(opts({ pidFile }), deps)).toThrow('error running prestart hook #0: exit status 2, stdout: , stderr: no\n');
    expect(channel().sent.map((m) => m.type)).toEqual(['plan']);
    expect(nat.callsOf('pidfdSendSignal')).toEqual([[777, 9]]);
    expect(readdirSync(root)).toEqual([]);
    expect(existsSync(pidFile)).toBe(false);
  });

  it('refuses a detached terminal without --console-socket before creating anything (runc wording)', () => {
    const { nat, deps } = setup({ process: { cwd: '/', args: ['sh'], terminal: true } }, []);
    expect(() => createContainer(opts(), deps)).toThrow('cannot allocate tty if runc will detach without setting console socket');
    expect(nat.callsOf('spawnInit')).toEqual([]);
    expect(existsSync(root)).toBe(false);
  });

  it('refuses an id that is taken and leaves the existing container alone', () => {
    const first = setup({}, [{ type: 'mounted' }, { type: 'ready' }]);
    createContainer(opts(), first.deps);
    const second = setup({}, []);
    expect(() => createContainer(opts(), second.deps)).toThrow('container with given ID already exists');
    expect(second.nat.callsOf('spawnInit')).toEqual([]);
    expect(existsSync(join(root, 'c1', 'state.json'))).toBe(true);
  });
});
