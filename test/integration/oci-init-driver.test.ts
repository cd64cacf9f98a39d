// oci-init on its own: the real build/Release/oci-init, started under `unshare` in fresh mount, pid,
// uts and ipc namespaces, driven over the sync protocol by hand-written plans (the role
// process/parent.ts plays for tsrun). Each case checks what the container process sees from inside
// or the exact `error` message oci-init sends (addon/init/README.md lists the steps).
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InitPlan, PlanHook, PlanProcess } from '../../src/spec/plan-types.js';

const OCI_INIT = fileURLToPath(new URL('../../build/Release/oci-init', import.meta.url));
const isRoot = process.getuid?.() === 0;
const hasUnshare = spawnSync('unshare', ['--version']).status === 0;
const skip = !isRoot ? 'not root' : !existsSync(OCI_INIT) ? 'oci-init not built' : !existsSync('/bin/busybox') ? 'no /bin/busybox' : !hasUnshare ? 'no unshare' : '';
const O_PATH = 0o10000000;

let root = '';
let rootfs = '';

function makeRootfs(): void {
  root = mkdtempSync(join(tmpdir(), 'ocit-'));
  rootfs = join(root, 'rootfs');
  for (const d of ['bin', 'proc', 'dev', 'etc', 'tmp', 'home/u1']) mkdirSync(join(rootfs, d), { recursive: true });
  copyFileSync('/bin/busybox', join(rootfs, 'bin/busybox'));
  execFileSync('chmod', ['755', join(rootfs, 'bin/busybox')]);
  for (const a of ['sh', 'id', 'ls', 'cat', 'echo', 'true', 'hostname', 'sleep', 'env', 'grep', 'uname', 'pwd', 'readlink', 'tr']) {
    symlinkSync('busybox', join(rootfs, 'bin', a));
  }
  writeFileSync(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nu1:x:1000:1000::/home/u1:/bin/sh\n');
  writeFileSync(join(rootfs, 'etc/notexec'), 'x\n');
}

function basePlan(proc: Partial<PlanProcess> = {}): InitPlan {
  return {
    version: 1, lateUnshareFlags: 0, timeOffsets: [], joinNamespaces: [], mountNamespace: true, rootfs,
    rootfsPropagation: 0x4000 | 0x80000, readonlyRootfs: false, noPivot: false,
    mounts: [{ destination: '/proc', source: 'proc', type: 'proc', flags: 0, data: '', remountFlags: 0, propagation: [], attrSet: 0, attrClr: 0, createAs: 'dir' }],
    devices: [], bindDevices: false, devSymlinks: false, maskedPaths: [], readonlyPaths: [], sysctl: [],
    hostname: 'ctr', domainname: null,
    process: {
      args: ['true'], env: ['PATH=/bin'], cwd: '/', terminal: false, uid: 0, gid: 0, additionalGids: [], umask: null,
      capabilities: null, rlimits: [], noNewPrivileges: false, oomScoreAdj: null, personality: null, scheduler: null,
      ioPriority: null, execCPUAffinity: { initial: null, final: null }, apparmorProfile: null, selinuxLabel: null, seccomp: null,
      ...proc,
    },
    hooks: { createContainer: [], startContainer: [] },
  };
}

function frame(msg: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(msg));
  const f = Buffer.alloc(4 + body.length);
  f.writeUInt32LE(body.length, 0);
  body.copy(f, 4);
  return f;
}

/** Splits the byte stream from oci-init into messages. */
function messageReader(sock: Duplex): () => Promise<Record<string, unknown> | null> {
  let buf = Buffer.alloc(0);
  let ended = false;
  let wake: (() => void) | null = null;
  sock.on('data', (d: Buffer) => { buf = Buffer.concat([buf, d]); wake?.(); });
  sock.on('end', () => { ended = true; wake?.(); });
  sock.on('error', () => { ended = true; wake?.(); });
  return async () => {
    for (;;) {
      if (buf.length >= 4 && buf.length >= 4 + buf.readUInt32LE(0)) {
        const n = buf.readUInt32LE(0);
        const m = JSON.parse(buf.subarray(4, 4 + n).toString()) as Record<string, unknown>;
        buf = buf.subarray(4 + n);
        return m;
      }
      if (ended) return null;
      await new Promise<void>((r) => { wake = r; });
      wake = null;
    }
  };
}

interface Outcome { messages: Record<string, unknown>[]; code: number | null; stdout: string; stderr: string }

interface RunOpts {
  /** fds for 3..3+N-1 ('ignore' leaves a hole in the preserved range). */
  preserved?: (number | 'ignore')[];
  fifo?: string;
  raw?: Buffer;
}

async function runInit(plan: InitPlan | null, opts: RunOpts = {}): Promise<Outcome> {
  const pre = opts.preserved ?? [];
  const syncIdx = 3 + pre.length;
  const fifoFd = opts.fifo ? openSync(opts.fifo, O_PATH) : -1;
  const stdio: (string | number)[] = ['ignore', 'pipe', 'pipe', ...pre, 'pipe', ...(fifoFd >= 0 ? [fifoFd] : [])];
  const child: ChildProcess = spawn('unshare', ['-m', '-p', '-f', '-u', '-i', '--mount-proc', OCI_INIT,
    String(syncIdx), fifoFd >= 0 ? String(syncIdx + 1) : '-1', String(pre.length)], { stdio: stdio as never });
  if (fifoFd >= 0) closeSync(fifoFd);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<number | null>((r) => child.on('close', (c) => r(c)));
  const sock = child.stdio[syncIdx] as Duplex;
  const next = messageReader(sock);
  sock.write(opts.raw ?? frame({ type: 'plan', plan }));
  const messages: Record<string, unknown>[] = [];
  let m = await next();
  if (m) messages.push(m);
  if (m?.type === 'mounted') {
    sock.write(frame({ type: 'resume', createState: '{"status":"creating"}', startState: '{"status":"created"}' }));
    m = await next();
    if (m) messages.push(m);
  }
  sock.destroy();
  if (opts.fifo && m?.type === 'ready') messages.push({ fifo: readFileSync(opts.fifo, 'utf8') });
  return { messages, code: await exited, stdout, stderr };
}

const last = (o: Outcome) => o.messages[o.messages.length - 1] ?? {};
const hook = (path: string, args: string[], extra: Partial<PlanHook> = {}): PlanHook => ({ path, args, env: [], timeout: 0, ...extra });

describe.skipIf(!!skip)(`oci-init driven alone${skip ? ` (skipped: ${skip})` : ''}`, () => {
  beforeAll(makeRootfs);
  afterAll(() => { if (root) rmSync(root, { recursive: true, force: true }); });

  it('runs the protocol in order and execs process.args with exactly its environment', async () => {
    const o = await runInit(basePlan({ args: ['env'], env: ['PATH=/bin', 'A=b'] }));
    expect(o.messages.map((m) => m.type)).toEqual(['mounted', 'ready']);
    expect(o.stdout.split('\n').filter(Boolean).sort()).toEqual(['A=b', 'HOME=/root', 'PATH=/bin']);
    expect(o.code).toBe(0);
  });

  it('reports a missing executable in runc wording', async () => {
    expect(last(await runInit(basePlan({ args: ['nope'] }))).message).toBe('exec: "nope": executable file not found in $PATH');
    expect(last(await runInit(basePlan({ args: ['/x/y'] }))).message).toBe('exec: "/x/y": stat /x/y: no such file or directory');
    expect(last(await runInit(basePlan({ args: ['/etc/notexec'] }))).message).toBe('exec: "/etc/notexec": permission denied');
    expect(last(await runInit(basePlan({ args: ['/bin'] }))).message).toBe('exec: "/bin": permission denied');
  });

  it('spells errno in lower case as runc does (docker maps "no such file or directory" to exit 127)', async () => {
    const o = await runInit({ ...basePlan(), sysctl: [{ key: 'kernel.tsrun_nonexistent', value: '1' }] });
    expect(last(o)).toMatchObject({ type: 'error', step: 'sysctl', message: 'sysctl kernel.tsrun_nonexistent: openat2: no such file or directory' });
  });

  it('fails a missing cwd with runc wording and runs in a configured one', async () => {
    const bad = await runInit(basePlan({ cwd: '/nonexist' }));
    expect(last(bad)).toMatchObject({ type: 'error', step: 'cwd', message: 'chdir to cwd ("/nonexist") set in config.json failed: no such file or directory' });
    expect(bad.code).toBe(1);
    expect((await runInit(basePlan({ args: ['pwd'], cwd: '/tmp' }))).stdout).toBe('/tmp\n');
  });

  it('sets user, groups, the five capability sets and no_new_privs', async () => {
    const o = await runInit(basePlan({
      args: ['sh', '-c', 'id; grep -E "^Cap|NoNewPrivs|^Sig(Blk|Ign)" /proc/self/status; echo $HOME'], uid: 1000, gid: 1000,
      additionalGids: [5, 6], noNewPrivileges: true,
      capabilities: { bounding: [0, 1, 2, 8], effective: [0, 8], permitted: [0, 8], inheritable: [8], ambient: [8] },
    }));
    expect(o.stdout).toContain('uid=1000(u1) gid=1000 groups=5,6');
    // Non-root after execve: permitted/effective come from the ambient set only (capabilities(7)).
    for (const l of ['CapInh:\t0000000000000100', 'CapPrm:\t0000000000000100', 'CapEff:\t0000000000000100',
      'CapBnd:\t0000000000000107', 'CapAmb:\t0000000000000100', 'NoNewPrivs:\t1', 'SigBlk:\t0000000000000000', 'SigIgn:\t0000000000000000']) {
      expect(o.stdout).toContain(l);
    }
    expect(o.stdout.trim().endsWith('/home/u1')).toBe(true);
  });

  it('applies rlimits, umask, oom_score_adj and hostname', async () => {
    const o = await runInit(basePlan({
      args: ['sh', '-c', 'ulimit -n; ulimit -Hn; umask; cat /proc/self/oom_score_adj; hostname'],
      rlimits: [{ resource: 7, soft: '123', hard: '456' }], umask: 0o27, oomScoreAdj: 500,
    }));
    expect(o.stdout.split('\n')).toEqual(['123', '456', '0027', '500', 'ctr', '']);
  });

  it('runs createContainer hooks with the state on stdin and reports their failures', async () => {
    const ok = basePlan({ args: ['cat', '/hook.out'] });
    ok.hooks.createContainer = [hook('/bin/sh', ['sh', '-c', `cat > ${rootfs}/hook.out; echo " $X" >> ${rootfs}/hook.out`], { env: ['X=y'] })];
    expect((await runInit(ok)).stdout).toBe('{"status":"creating"} y\n');

    const cases: [PlanHook, string][] = [
      [hook('/bin/sh', ['sh', '-c', 'echo oops >&2; exit 3']), 'createContainer hook #1 (/bin/sh) exited with status 3: oops'],
      [hook('/bin/sleep', ['sleep', '10'], { timeout: 1 }), 'createContainer hook #1 (/bin/sleep) timed out after 1s'],
      [hook('/bin/sh', ['sh', '-c', 'kill -9 $$']), 'createContainer hook #1 (/bin/sh) killed by signal 9'],
    ];
    for (const [h, msg] of cases) {
      const p = basePlan();
      p.hooks.createContainer = [hook('/bin/true', ['true']), h];
      const o = await runInit(p);
      expect(last(o)).toMatchObject({ type: 'error', step: 'hook createContainer #1', message: msg });
      expect(o.code).toBe(1);
    }
  });

  it('runs startContainer hooks in the container after the exec fifo is opened', async () => {
    const fifo = join(root, 'exec.fifo');
    execFileSync('mkfifo', ['-m', '622', fifo]);
    const p = basePlan({ args: ['cat', '/started'] });
    p.hooks.startContainer = [hook('/bin/sh', ['sh', '-c', 'cat > /started'])];
    const o = await runInit(p, { fifo });
    expect(o.messages).toEqual([{ type: 'mounted' }, { type: 'ready' }, { fifo: '0' }]);
    expect(o.stdout).toBe('{"status":"created"}');
    rmSync(fifo);

    const f = basePlan();
    f.hooks.startContainer = [hook('/bin/sh', ['sh', '-c', 'exit 2'])];
    const bad = await runInit(f);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('startContainer hook #0 (/bin/sh) exited with status 2');
  });

  it('hands the container only 0-2 and the preserved fds that were open (CVE-2024-21626)', async () => {
    const dir = openSync(root, 'r');
    try {
      const o = await runInit(basePlan({ args: ['sh', '-c', 'for f in 3 4 5 6 7 8 9; do [ -e /proc/$$/fd/$f ] && echo $f; done'] }),
        { preserved: ['ignore', dir, 'ignore'] });
      expect(o.stdout).toBe('4\n');
    } finally {
      closeSync(dir);
    }
  });

  it('names the field of a malformed plan and refuses oversized frames', async () => {
    const p = basePlan() as unknown as Record<string, unknown>;
    const badUid = { ...p, process: { ...(p.process as object), uid: 'x' } };
    expect(last(await runInit(null, { raw: frame({ type: 'plan', plan: badUid }) })).message).toBe('plan.process.uid: expected an integer');
    const { mounts: _m, ...noMounts } = p;
    expect(last(await runInit(null, { raw: frame({ type: 'plan', plan: noMounts }) })).message).toBe('plan.mounts: missing');
    expect(last(await runInit(null, { raw: frame({ type: 'resume' }) })).message).toContain('expected plan message');
    const big = Buffer.alloc(4);
    big.writeUInt32LE(17 * 1024 * 1024, 0);
    expect(last(await runInit(null, { raw: big })).message).toContain('exceeds the limit');
  });

  it('writes time namespace offsets before the container enters it', async () => {
    const p = basePlan({ args: ['cat', '/proc/uptime'] });
    p.lateUnshareFlags = 0x80; // CLONE_NEWTIME
    p.timeOffsets = [{ clock: 'boottime', secs: 86400 * 100, nanosecs: 0 }];
    const o = await runInit(p);
    expect(Number(o.stdout.split(' ')[0])).toBeGreaterThan(86400 * 100);
  });

  it('loads seccomp with and without no_new_privileges (early when CAP_SYS_ADMIN is dropped)', async () => {
    // ld [nr]; jeq uname(63) ? ERRNO(1) : ALLOW  (x86_64 only: the arch word is not checked here)
    const ins: [number, number, number, number][] = [[0x20, 0, 0, 0], [0x15, 0, 1, 63], [0x06, 0, 0, 0x00050001], [0x06, 0, 0, 0x7fff0000]];
    const bpf = Buffer.concat(ins.map(([code, jt, jf, k]) => {
      const b = Buffer.alloc(8);
      b.writeUInt16LE(code, 0); b.writeUInt8(jt, 2); b.writeUInt8(jf, 3); b.writeUInt32LE(k, 4);
      return b;
    })).toString('base64');
    expect((await runInit(basePlan({ args: ['uname'] }))).stdout).toBe('Linux\n');
    const none = { bounding: [], effective: [], permitted: [], inheritable: [], ambient: [] };
    for (const extra of [{ noNewPrivileges: true }, {}, { uid: 1000, gid: 1000, capabilities: none }]) {
      const o = await runInit(basePlan({ args: ['uname'], seccomp: { bpf, flags: 0 }, ...extra }));
      expect(last(o).type).toBe('ready');
      expect(o.stdout.trim()).toBe('');
    }
  }, 60000);
});
