/**
 * The addon against the real kernel, as root: spawnInit's child is checked from inside (busybox,
 * static, stands in for oci-init) and from the host through /proc.
 */
import { spawnSync } from 'node:child_process';
import {
  closeSync, existsSync, fstatSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, readlinkSync,
  rmSync, rmdirSync, statSync, writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { native, packageRoot } from '../../src/native/index.js';
import type { Native, SpawnInitOptions } from '../../src/native/types.js';

const BUSYBOX = '/bin/busybox';
const isRoot = process.getuid?.() === 0;
const addonBuilt = existsSync(join(import.meta.dirname, '..', '..', 'build', 'Release', 'tsrun.node'));
const CGROUP2 = '/sys/fs/cgroup/unified';
const cgroup2Root = ['/sys/fs/cgroup/cgroup.procs', `${CGROUP2}/cgroup.procs`].find((f) => existsSync(f));

/** Pids of the live children of every thread of this process. */
function ourChildren(): string[] {
  return readdirSync('/proc/self/task').flatMap((tid) =>
    readFileSync(`/proc/self/task/${tid}/children`, 'utf8').split(' ').filter(Boolean),
  );
}

describe.skipIf(!isRoot || !addonBuilt || !existsSync(BUSYBOX))('native addon (root, real kernel)', () => {
  let n: Native;
  let dir: string;
  const open: number[] = [];
  const children: { pid: number; pidfd: number }[] = [];

  const fd = (f: number): number => {
    open.push(f);
    return f;
  };

  const base = (argv: string[], over: Partial<SpawnInitOptions> = {}): SpawnInitOptions => ({
    initPath: BUSYBOX, argv, cloneFlags: 0, joinInChild: [], unshareFlags: 0, pidNamespaceFd: -1, cgroupFd: -1,
    fds: [], pdeathSignal: 0, ...over,
  });

  // Starts busybox with stdin /dev/null and stdout+stderr to a fresh file; returns the child and
  // a reader of that file.
  function start(argv: string[], over: Partial<SpawnInitOptions> = {}) {
    const out = join(dir, `out-${children.length}`);
    const o = fd(openSync(out, 'w'));
    const nul = fd(openSync('/dev/null', 'r'));
    const child = n.spawnInit(base(argv, { fds: [nul, o, o], ...over }));
    children.push(child);
    return { ...child, output: () => readFileSync(out, 'utf8') };
  }

  async function run(argv: string[], over: Partial<SpawnInitOptions> = {}) {
    const c = start(argv, over);
    const status = await n.waitPidfd(c.pidfd);
    return { status, output: c.output() };
  }

  beforeAll(() => {
    n = native();
    dir = mkdtempSync(join(tmpdir(), 'tsrun-native-'));
  });
  afterEach(async () => {
    for (const c of children.splice(0)) {
      if (!n.pidfdExited(c.pidfd)) n.pidfdSendSignal(c.pidfd, n.constants.SIGKILL);
      // Reap what a test did not wait for (ECHILD if it did), so no zombie outlives the test.
      await n.waitPidfd(c.pidfd).catch(() => undefined);
      try { closeSync(c.pidfd); } catch { /* already closed by the test */ }
    }
    for (const f of open.splice(0)) {
      try { closeSync(f); } catch { /* closed by the test */ }
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('finds the package root and exposes C constants by their C names', () => {
    expect(existsSync(join(packageRoot(), 'package.json'))).toBe(true);
    const c = n.constants;
    expect(c.CLONE_NEWPID).toBe(0x20000000);
    expect(c.MS_BIND).toBe(4096);
    expect(c.MOUNT_ATTR_IDMAP).toBe(0x100000);
    expect(c.RLIMIT_NOFILE).toBe(7);
    expect(c.SIGKILL).toBe(9);
    expect(c.O_PATH).toBe(0o10000000);
    expect(c.IOPRIO_CLASS_IDLE).toBe(3);
    expect(c.SECCOMP_FILTER_FLAG_NEW_LISTENER).toBe(8);
    expect(() => c.NO_SUCH_CONSTANT).toThrow(/unknown native constant/);
  });

  it('runs the child from a sealed memfd: /proc/<pid>/exe is no writable host file', async () => {
    const c = start(['sleep', '30']);
    expect(readlinkSync(`/proc/${c.pid}/exe`)).toBe('/memfd:oci-init (deleted)');
    expect(() => openSync(`/proc/${c.pid}/exe`, 'r+')).toThrow(/ETXTBSY|EPERM|EACCES/);
    expect(() => writeFileSync(`/proc/${c.pid}/exe`, 'x')).toThrow();
    n.pidfdSendSignal(c.pidfd, n.constants.SIGKILL);
    expect(await n.waitPidfd(c.pidfd)).toEqual({ exitCode: null, signal: 9 });
  });

  it('gives the child an empty environment', async () => {
    process.env.TSRUN_NATIVE_CANARY = 'leak';
    try {
      const r = await run(['cat', '/proc/self/environ']);
      expect(r.status).toEqual({ exitCode: 0, signal: null });
      expect(r.output).toBe('');
    } finally {
      delete process.env.TSRUN_NATIVE_CANARY;
    }
  });

  it('gives the child exactly the fds asked for, in place', () => {
    const extra = fd(openSync(join(dir, 'extra'), 'w'));
    const c = start(['sleep', '30'], {});
    const c2 = n.spawnInit(base(['sleep', '30'], { fds: [-1, extra, extra, extra] }));
    children.push(c2);
    expect(readdirSync(`/proc/${c.pid}/fd`).sort()).toEqual(['0', '1', '2']);
    expect(readdirSync(`/proc/${c2.pid}/fd`).sort()).toEqual(['1', '2', '3']);
    expect(readlinkSync(`/proc/${c2.pid}/fd/3`)).toBe(join(dir, 'extra'));
    // Targets that are sources elsewhere in the table (fds [2, 1, 0]) must not clobber each other.
    const a = fd(openSync(join(dir, 'a'), 'w'));
    const b = fd(openSync(join(dir, 'b'), 'w'));
    const c3 = n.spawnInit(base(['sleep', '30'], { fds: [b, a, b, a] }));
    children.push(c3);
    expect(['0', '1', '2', '3'].map((i) => readlinkSync(`/proc/${c3.pid}/fd/${i}`))).toEqual(
      [join(dir, 'b'), join(dir, 'a'), join(dir, 'b'), join(dir, 'a')],
    );
  });

  it('does not pass an inheritable (non-CLOEXEC) fd of the parent to the child', () => {
    // A node process started with an inheritable fd 40 (Node itself marks low inherited fds
    // close-on-exec at start-up, so the leak must come from higher up): it spawns busybox with
    // fds 0-2 and reports its premise and what the child holds.
    const script = `
      const fs = require('fs');
      const n = require(${JSON.stringify(join(packageRoot(), 'build/Release/tsrun.node'))});
      const flags = parseInt(/flags:\\s*(\\d+)/.exec(fs.readFileSync('/proc/self/fdinfo/40', 'utf8'))[1], 8);
      const c = n.spawnInit({ initPath: '/bin/busybox', argv: ['sleep', '30'], cloneFlags: 0, joinInChild: [],
        unshareFlags: 0, pidNamespaceFd: -1, cgroupFd: -1, fds: [0, 1, 2], pdeathSignal: 0 });
      const fds = fs.readdirSync('/proc/' + c.pid + '/fd').sort();
      n.pidfdSendSignal(c.pidfd, 9);
      n.pidfdWait(c.pidfd, 5000);
      console.log(JSON.stringify({ cloexec: (flags & 0o2000000) !== 0, fds }));`;
    const r = spawnSync('/bin/bash', ['-c', 'exec "$0" -e "$1" 40<"$2"', process.execPath, script, dir], {
      stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ cloexec: false, fds: ['0', '1', '2'] });
  });

  it('creates the namespaces in cloneFlags: pid 1, own uts and mount namespaces', async () => {
    const { CLONE_NEWPID, CLONE_NEWUTS, CLONE_NEWNS } = n.constants;
    const r = await run(['sh', '-c', 'echo $$; for n in uts mnt; do readlink /proc/self/ns/$n; done'], {
      cloneFlags: CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWNS,
    });
    const [pid, uts, mnt] = r.output.trim().split('\n');
    expect(pid).toBe('1');
    expect(uts).toMatch(/^uts:\[\d+\]$/);
    expect(uts).not.toBe(readlinkSync('/proc/self/ns/uts'));
    expect(mnt).not.toBe(readlinkSync('/proc/self/ns/mnt'));
  });

  it('joins namespaces by fd in the child, then unshares', async () => {
    const first = start(['sleep', '30'], { cloneFlags: n.constants.CLONE_NEWUTS | n.constants.CLONE_NEWIPC });
    const utsFd = fd(openSync(`/proc/${first.pid}/ns/uts`, 'r'));
    const r = await run(['sh', '-c', 'for n in uts ipc net; do readlink /proc/self/ns/$n; done'], {
      joinInChild: [{ fd: utsFd, nstype: n.constants.CLONE_NEWUTS }],
      unshareFlags: n.constants.CLONE_NEWNET,
    });
    const [uts, ipc, net] = r.output.trim().split('\n');
    expect(uts).toBe(readlinkSync(`/proc/${first.pid}/ns/uts`));
    expect(ipc).toBe(readlinkSync('/proc/self/ns/ipc'));
    expect(net).not.toBe(readlinkSync('/proc/self/ns/net'));
  });

  it('joins a user namespace in the child, then unshares the other namespaces', async () => {
    const { CLONE_NEWUSER, CLONE_NEWUTS, CLONE_NEWNS } = n.constants;
    const owner = start(['sleep', '30'], { cloneFlags: CLONE_NEWUSER });
    writeFileSync(`/proc/${owner.pid}/uid_map`, '0 0 65536\n');
    writeFileSync(`/proc/${owner.pid}/gid_map`, '0 0 65536\n');
    const userns = fd(openSync(`/proc/${owner.pid}/ns/user`, 'r'));
    const c = start(['sleep', '30'], {
      joinInChild: [{ fd: userns, nstype: CLONE_NEWUSER }],
      unshareFlags: CLONE_NEWUTS | CLONE_NEWNS,
    });
    expect(readlinkSync(`/proc/${c.pid}/ns/user`)).toBe(readlinkSync(`/proc/${owner.pid}/ns/user`));
    expect(readlinkSync(`/proc/${c.pid}/ns/uts`)).not.toBe(readlinkSync('/proc/self/ns/uts'));
    expect(readlinkSync(`/proc/${c.pid}/exe`)).toBe('/memfd:oci-init (deleted)');
    // A new user namespace without maps: the child still execs the memfd (as the overflow uid).
    const r = await run(['cat', '/proc/self/uid_map', '/proc/self/status'], { cloneFlags: CLONE_NEWUSER });
    expect(r.status).toEqual({ exitCode: 0, signal: null });
    expect(r.output).toMatch(/^Uid:\s+65534\s/m);
  });

  it('starts the child in an existing pid namespace and restores our pid_for_children', async () => {
    const first = start(['sleep', '30'], { cloneFlags: n.constants.CLONE_NEWPID });
    const pidns = fd(openSync(`/proc/${first.pid}/ns/pid`, 'r'));
    const r = await run(['sh', '-c', 'echo $$; readlink /proc/self/ns/pid'], { pidNamespaceFd: pidns });
    const [pid, ns] = r.output.trim().split('\n');
    expect(pid).toBe('2');
    expect(ns).toBe(readlinkSync(`/proc/${first.pid}/ns/pid`));
    expect(readlinkSync('/proc/thread-self/ns/pid_for_children')).toBe(readlinkSync('/proc/self/ns/pid'));
  });

  it('clears the signal mask and every caught or ignored disposition', async () => {
    const r = await run(['grep', '-E', '^Sig(Blk|Ign|Cgt)', '/proc/self/status']);
    expect(r.output.split('\n').filter(Boolean).map((l) => l.replace(/\s+/, ' '))).toEqual([
      'SigBlk: 0000000000000000', 'SigIgn: 0000000000000000', 'SigCgt: 0000000000000000',
    ]);
  });

  it('returns exit codes and signals from waitPidfd, and polls for exit', async () => {
    expect((await run(['sh', '-c', 'exit 7'])).status).toEqual({ exitCode: 7, signal: null });
    const c = start(['sleep', '30']);
    expect(n.pidfdExited(c.pidfd)).toBe(false);
    expect(n.pidfdWait(c.pidfd, 50)).toBe(false);
    n.pidfdSendSignal(c.pidfd, n.constants.SIGTERM);
    expect(n.pidfdWait(c.pidfd, 5000)).toBe(true);
    expect(n.pidfdExited(c.pidfd)).toBe(true);
    expect(await n.waitPidfd(c.pidfd)).toEqual({ exitCode: null, signal: 15 });
  });

  it('opens pidfds by pid and fails with ESRCH for a dead one', async () => {
    const c = start(['sleep', '30']);
    const p = fd(n.pidfdOpen(c.pid));
    n.pidfdSendSignal(p, n.constants.SIGKILL);
    expect(await n.waitPidfd(c.pidfd)).toEqual({ exitCode: null, signal: 9 });
    expect(() => n.pidfdOpen(c.pid)).toThrow(expect.objectContaining({ code: 'ESRCH', syscall: 'pidfd_open' }));
    expect(() => n.pidfdSendSignal(p, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
  });

  it('kills the child when the spawning process dies and pdeathSignal is set', () => {
    const script = `
      const n = require(${JSON.stringify(join(packageRoot(), 'build/Release/tsrun.node'))});
      const c = n.spawnInit({ initPath: '/bin/busybox', argv: ['sleep', '30'], cloneFlags: 0, joinInChild: [],
        unshareFlags: 0, pidNamespaceFd: -1, cgroupFd: -1, fds: [], pdeathSignal: 9 });
      console.log(c.pid);`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const pid = Number(r.stdout.trim());
    let alive = true;
    for (let i = 0; i < 100 && alive; i++) {
      alive = existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (alive) spawnSync('sleep', ['0.02']);
    }
    expect(alive).toBe(false);
  });

  it('reports a bad initPath as a Node-style error', () => {
    const err = (f: () => unknown) => {
      try { f(); } catch (e) { return e as NodeJS.ErrnoException; }
      throw new Error('did not throw');
    };
    const e = err(() => n.spawnInit(base(['x'], { initPath: join(dir, 'missing') })));
    expect(e.message).toBe(`ENOENT: no such file or directory, open '${join(dir, 'missing')}'`);
    expect(e).toMatchObject({ code: 'ENOENT', errno: -2, syscall: 'open', path: join(dir, 'missing') });
    writeFileSync(join(dir, 'noexec'), 'data', { mode: 0o644 });
    expect(err(() => n.spawnInit(base(['x'], { initPath: join(dir, 'noexec') })))).toMatchObject({ code: 'EACCES' });
    writeFileSync(join(dir, 'garbage'), 'not an ELF', { mode: 0o755 });
    expect(err(() => n.spawnInit(base(['x'], { initPath: join(dir, 'garbage') })))).toMatchObject({
      code: 'ENOEXEC', syscall: 'execveat', path: join(dir, 'garbage'),
    });
    expect(() => n.spawnInit(base([]))).toThrow('spawnInit: opts.argv must be a non-empty array of strings');
  });

  it('fails synchronously, naming the step, when the child cannot join a namespace; leaves no child', () => {
    const before = ourChildren();
    const nul = fd(openSync('/dev/null', 'r'));
    const e = (() => {
      try { n.spawnInit(base(['true'], { joinInChild: [{ fd: nul, nstype: 0 }] })); } catch (x) { return x as NodeJS.ErrnoException; }
      return undefined;
    })();
    expect(e?.message).toBe('EINVAL: invalid argument, setns (spawnInit child, joinInChild[0])');
    expect(e).toMatchObject({ code: 'EINVAL', syscall: 'setns' });
    expect(() => n.spawnInit(base(['true'], { fds: [987654] }))).toThrow(/^EBADF: bad file descriptor, fcntl \(spawnInit fds\[0\] = 987654\)/);
    expect(ourChildren().filter((pid) => !before.includes(pid))).toEqual([]);
  });

  it.skipIf(cgroup2Root === undefined)('clones into a cgroup v2 directory with CLONE_INTO_CGROUP', async () => {
    const cgroupDir = join(cgroup2Root === undefined ? '' : cgroup2Root.replace(/\/cgroup\.procs$/, ''), `tsrun-native-test-${process.pid}`);
    mkdirSync(cgroupDir);
    try {
      const cg = fd(openSync(cgroupDir, 'r'));
      const c = start(['cat', '/proc/self/cgroup'], { cgroupFd: cg });
      expect(c.intoCgroup).toBe(true);
      expect(await n.waitPidfd(c.pidfd)).toEqual({ exitCode: 0, signal: null });
      expect(c.output()).toMatch(new RegExp(`^0::/tsrun-native-test-${process.pid}$`, 'm'));
    } finally {
      rmdirSync(cgroupDir);
    }
  });

  it('excludes a second exclusive flock, and a shared one, until released', () => {
    const f = join(dir, 'lock');
    writeFileSync(f, '');
    const a = fd(openSync(f, 'r'));
    const b = fd(openSync(f, 'r'));
    expect(n.flock(a, true, true)).toBe(true);
    expect(n.flock(b, true, true)).toBe(false);
    expect(n.flock(b, false, true)).toBe(false);
    closeSync(a);
    expect(n.flock(b, true, true)).toBe(true);
  });

  it('passes an fd and its data over a socket pair', () => {
    const [s1, s2] = n.socketPair().map(fd) as [number, number];
    const file = fd(openSync(join(dir, 'passed'), 'w'));
    n.sendFd(s1, file, '/dev/pts/7');
    const got = n.recvFd(s2);
    fd(got.fd);
    expect(got.data).toBe('/dev/pts/7');
    expect(fstatSync(got.fd).ino).toBe(fstatSync(file).ino);
    expect(got.fd).not.toBe(file);
    const flags = /flags:\s*(\d+)/.exec(readFileSync(`/proc/self/fdinfo/${got.fd}`, 'utf8'))?.[1];
    expect(parseInt(flags ?? '0', 8) & 0o2000000).not.toBe(0);
    n.sendFd(s1, file, '');
    expect(n.recvFd(s2)).toMatchObject({ data: '' });
    closeSync(s1);
    open.splice(open.indexOf(s1), 1);
    expect(() => n.recvFd(s2)).toThrow(expect.objectContaining({ code: 'ECONNRESET', syscall: 'recvmsg' }));
  });

  it('connects to a unix socket and makes FIFOs', async () => {
    const path = join(dir, 'sock');
    const server = createServer();
    const received = new Promise<string>((resolve) => {
      server.on('connection', (s) => s.on('data', (d) => resolve(d.toString())));
    });
    await new Promise<void>((resolve) => server.listen(path, resolve));
    try {
      const s = fd(n.connectUnix(path));
      writeFileSync(s, 'hello');
      expect(await received).toBe('hello');
    } finally {
      server.close();
    }
    expect(() => n.connectUnix(join(dir, 'nosock'))).toThrow(expect.objectContaining({ code: 'ENOENT', syscall: 'connect' }));
    n.mkfifo(join(dir, 'fifo'), 0o600);
    expect(statSync(join(dir, 'fifo')).isFIFO()).toBe(true);
    expect(() => n.mkfifo(join(dir, 'fifo'), 0o600)).toThrow(`EEXIST: file already exists, mkfifo '${join(dir, 'fifo')}'`);
  });

  it('reads rlimits as decimal strings, infinity included, as /proc/self/limits shows them', () => {
    const limits = readFileSync('/proc/self/limits', 'utf8');
    const row = (label: string) => {
      const m = new RegExp(`^${label}\\s+(\\S+)\\s+(\\S+)`, 'm').exec(limits);
      const dec = (v: string | undefined) => (v === 'unlimited' ? '18446744073709551615' : v);
      return { soft: dec(m?.[1]), hard: dec(m?.[2]) };
    };
    expect(n.getrlimit(n.constants.RLIMIT_CORE)).toEqual(row('Max core file size'));
    expect(n.getrlimit(n.constants.RLIMIT_NOFILE)).toEqual(row('Max open files'));
    expect(n.getrlimit(n.constants.RLIMIT_RTTIME)).toEqual(row('Max realtime timeout'));
    expect(() => n.getrlimit(99)).toThrow(expect.objectContaining({ code: 'EINVAL', syscall: 'getrlimit' }));
  });
});
