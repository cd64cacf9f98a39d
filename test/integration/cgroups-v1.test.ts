/**
 * The cgroup v1 manager on this (hybrid) host, as root: every limit is shown to take effect on a
 * real process, not only written. Everything lives under /<hierarchy>/tsrun-test-<random>/ in each
 * hierarchy, created here and removed after, even on failure (MACHINE.md: never touch cgroups
 * the tests did not create). Processes are /usr/bin/python3 children that wait on stdin until the
 * manager has placed them.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, readFileSync, rmdirSync, readdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createManager, detectMode, type CgroupManager } from '../../src/cgroups/manager.js';
import { effectiveDeviceRules, normalizeDeviceRules } from '../../src/cgroups/devices.js';
import { deviceProgram, encodeProgram } from '../../src/cgroups/devices-bpf.js';
import { readHostMounts } from '../../src/cgroups/detect.js';

const PY = '/usr/bin/python3';
const isRoot = process.getuid?.() === 0;
const mode = detectMode();
const usable = isRoot && mode !== 'v2' && existsSync(PY);
const why = !isRoot ? 'not root' : mode === 'v2' ? 'host is pure cgroup v2 (see test/vm/cgroups-v2.suite.ts)' : `no ${PY}`;
const parent = `tsrun-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

interface Running {
  child: ChildProcessWithoutNullStreams;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string }>;
}

/** Start python, place it in the manager's cgroups, then let it run `script`. */
function startIn(m: CgroupManager, script: string, args: string[] = []): Running {
  const child = spawn(PY, ['-c', `import sys\nsys.stdin.readline()\n${script}`, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, out })),
  );
  m.addProcess(child.pid!);
  child.stdin.write('go\n');
  return { child, done };
}

const managers: CgroupManager[] = [];
function manager(name: string): CgroupManager {
  const m = createManager({ cgroupsPath: `/${parent}/${name}`, id: name });
  managers.push(m);
  m.create();
  return m;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!usable)(`cgroup v1 manager on this host (root)${usable ? '' : ` (skipped: ${why})`}`, () => {
  beforeAll(() => {
    expect(['v1', 'hybrid']).toContain(mode);
  });

  afterAll(() => {
    // Kill and remove everything created here, then the per-run parents: ours alone.
    for (const m of managers) {
      try {
        m.killAll(9);
      } catch {
        /* already gone */
      }
    }
    for (const m of managers) {
      try {
        m.destroy();
      } catch {
        /* reported by the destroy test */
      }
    }
    const mounts = readHostMounts();
    const roots = new Set([...mounts.v1.values()].map((x) => x.mountpoint));
    if (mounts.unified) roots.add(mounts.unified.mountpoint);
    for (const r of roots) {
      if (existsSync(join(r, parent))) rmdirSync(join(r, parent));
    }
  });

  it('creates the directory in every hierarchy, under the absolute cgroupsPath', () => {
    const m = manager('layout');
    const paths = m.toState().paths;
    expect(m.mode).toBe('v1');
    for (const c of ['memory', 'pids', 'cpu', 'freezer', 'devices']) {
      expect(paths[c]).toBe(`/sys/fs/cgroup/${c}/${parent}/layout`);
      expect(existsSync(join(paths[c]!, 'cgroup.procs'))).toBe(true);
    }
    if (mode === 'hybrid') expect(paths['']).toBe(`/sys/fs/cgroup/unified/${parent}/layout`);
    // cpuset starts empty in v1: create() copied the parent's so a task can join.
    expect(readFileSync(join(paths.cpuset!, 'cpuset.cpus'), 'utf8').trim()).not.toBe('');
    m.create(); // idempotent
  });

  it('memory limit: a process allocating past it is OOM-killed, and stats count the kill', async () => {
    const m = manager('mem');
    m.apply({ memory: { limit: 64 << 20, swap: 64 << 20 } });
    const r = startIn(m, "b = b'x' * (256 << 20)\nprint('survived')");
    const res = await r.done;
    expect(res.signal).toBe('SIGKILL');
    expect(res.out).not.toContain('survived');
    expect(m.stats().memory.event_count.oom_kill).toBeGreaterThanOrEqual(1);
    expect(m.stats().memory.usage.limit).toBe(64 << 20);
  });

  it('memory limit leaves a process under it alone', async () => {
    const m = manager('mem-ok');
    m.apply({ memory: { limit: 128 << 20 } });
    const res = await startIn(m, "b = b'x' * (16 << 20)\nprint('survived')").done;
    expect(res.out).toContain('survived');
    expect(res.code).toBe(0);
  });

  it('pids.max stops forks', async () => {
    const m = manager('pids');
    m.apply({ pids: { limit: 5 } });
    const script = [
      'import os, time',
      'kids = []',
      'for i in range(20):',
      '    try:',
      '        pid = os.fork()',
      '    except OSError:',
      '        break',
      '    if pid == 0:',
      '        time.sleep(10)',
      '        os._exit(0)',
      '    kids.append(pid)',
      'print(len(kids), flush=True)',
      'for k in kids: os.kill(k, 9)',
      'for k in kids: os.waitpid(k, 0)',
    ].join('\n');
    const res = await startIn(m, script).done;
    // python itself is one of the 5.
    expect(res.out.trim()).toBe('4');
    expect(m.stats().pids.limit).toBe(5);
  });

  it('cpu quota throttles a busy loop (cpu.stat nr_throttled)', async () => {
    const m = manager('cpu');
    m.apply({ cpu: { quota: 10000, period: 100000, shares: 256 } });
    expect(readFileSync(join(m.toState().paths.cpu!, 'cpu.cfs_quota_us'), 'utf8').trim()).toBe('10000');
    const res = await startIn(m, 'import time\nend = time.time() + 0.6\nwhile time.time() < end: pass').done;
    expect(res.code).toBe(0);
    const st = m.stats();
    expect(st.cpu.throttling.throttledPeriods).toBeGreaterThan(0);
    expect(st.cpu.throttling.throttledTime).toBeGreaterThan(0);
    // ~10% of the 0.6 s run, in ns (cpuacct): counted, and capped by the quota.
    expect(st.cpu.usage.total).toBeGreaterThan(30_000_000);
    expect(st.cpu.usage.total).toBeLessThan(300_000_000);
  });

  it('freezer stops a counter, thaw resumes it, killAll ends every process', async () => {
    const m = manager('freeze');
    const dir = mkdtempSync(join(tmpdir(), 'tsrun-cg-'));
    const file = join(dir, 'n');
    try {
      const r = startIn(m, 'import time\ni = 0\nwhile True:\n    i += 1\n    open(sys.argv[1], "w").write(str(i))\n    time.sleep(0.005)', [file]);
      const count = (): number => Number(existsSync(file) ? readFileSync(file, 'utf8') || 0 : 0);
      await sleep(300);
      m.freeze();
      expect(m.frozen()).toBe(true);
      const a = count();
      await sleep(200);
      expect(count()).toBe(a);
      m.thaw();
      expect(m.frozen()).toBe(false);
      for (let i = 0; i < 100 && count() <= a; i++) await sleep(20);
      expect(count()).toBeGreaterThan(a);
      expect(m.pids()).toContain(r.child.pid);
      m.killAll(9);
      expect((await r.done).signal).toBe('SIGKILL');
      expect(m.pids()).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('devices: deny all but the listed node (v1 devices controller)', async () => {
    const m = manager('dev');
    m.apply({}, { deviceRules: normalizeDeviceRules([{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 5, access: 'rw' }]) });
    const probe = 'for p in ("/dev/null", "/dev/zero"):\n    try:\n        open(p, "rb").close(); print(p, "ok")\n    except OSError as e:\n        print(p, e.errno)';
    const res = await startIn(m, probe).done;
    expect(res.out).toContain('/dev/null 1'); // EPERM
    expect(res.out).toContain('/dev/zero ok');
    // With the runtime's defaults appended, /dev/null is usable again.
    m.apply({}, { deviceRules: effectiveDeviceRules([{ allow: false, access: 'rwm' }], []) });
    expect((await startIn(m, probe).done).out).toContain('/dev/null ok');
  });

  it.skipIf(mode !== 'hybrid')('hybrid: the eBPF device program passes the verifier and filters on the unified directory', async () => {
    const m = manager('bpf');
    const unified = m.toState().paths['']!;
    const prog = encodeProgram(deviceProgram(normalizeDeviceRules([{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 5, access: 'rw' }])));
    // A stand-in for the addon's future loadDeviceProgram: bpf(2) through ctypes.
    const loader = [
      'import ctypes, os, sys',
      'libc = ctypes.CDLL(None, use_errno=True)',
      'insns = bytes.fromhex(sys.argv[1]); buf = ctypes.create_string_buffer(insns, len(insns)); lic = ctypes.create_string_buffer(b"Apache-2.0")',
      'log = ctypes.create_string_buffer(65536)',
      'attr = ctypes.create_string_buffer(128)',
      'import struct',
      'struct.pack_into("IIQQIIQ", attr, 0, 15, len(insns) // 8, ctypes.addressof(buf), ctypes.addressof(lic), 1, 65536, ctypes.addressof(log))',
      'fd = libc.syscall(321, 5, attr, 128)',
      'if fd < 0: print("load", ctypes.get_errno(), log.value.decode()); sys.exit(1)',
      'cg = os.open(sys.argv[2], os.O_RDONLY | os.O_DIRECTORY)',
      'attr = ctypes.create_string_buffer(128); struct.pack_into("IIII", attr, 0, cg, fd, 6, 0)',
      'if libc.syscall(321, 8, attr, 128) < 0: print("attach", ctypes.get_errno()); sys.exit(1)',
      'print("attached")',
    ].join('\n');
    const load = spawnSync(PY, ['-c', loader, prog.toString('hex'), unified], { encoding: 'utf8' });
    expect(load.stdout + load.stderr).toContain('attached');
    const probe = 'for p in ("/dev/null", "/dev/zero"):\n    try:\n        open(p, "rb").close(); print(p, "ok")\n    except OSError as e:\n        print(p, e.errno)';
    const res = await startIn(m, probe).done;
    expect(res.out).toContain('/dev/null 1');
    expect(res.out).toContain('/dev/zero ok');
  });

  it('a nested cgroup (as a container with a cgroup namespace makes) is listed, killed and removed', async () => {
    const m = manager('nested');
    const mem = m.toState().paths.memory!;
    const { mkdirSync, writeFileSync } = await import('node:fs');
    mkdirSync(join(mem, 'inner'));
    const r = startIn(m, 'import time\ntime.sleep(30)');
    writeFileSync(join(mem, 'inner', 'cgroup.procs'), String(r.child.pid));
    expect(readFileSync(join(mem, 'cgroup.procs'), 'utf8').trim()).toBe('');
    expect(m.pids()).toEqual([r.child.pid]);
    m.killAll(15);
    expect((await r.done).signal).toBe('SIGTERM');
    m.destroy();
    expect(existsSync(mem)).toBe(false);
  });

  it('destroy removes the container directories in every hierarchy and nothing above', async () => {
    const m = manager('gone');
    const r = startIn(m, 'import time\ntime.sleep(30)');
    const paths = Object.values(m.toState().paths);
    m.killAll(9);
    await r.done;
    m.destroy();
    for (const p of paths) {
      expect(existsSync(p)).toBe(false);
      expect(existsSync(join(p, '..'))).toBe(true);
    }
    expect(readdirSync(join(paths[0]!, '..'))).not.toContain('gone');
  });
});
