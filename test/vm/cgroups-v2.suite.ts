/**
 * The cgroup v2 manager on a pure cgroup v2 host (the qemu VM of MACHINE.md, booted with
 * cgroup_no_v1=all), as root: every limit is shown to take effect on a real process.
 *
 * A plain script, no vitest: bundle with
 *   npx esbuild test/vm/cgroups-v2.suite.ts --bundle --platform=node --format=esm --outfile=cgroups-v2.suite.mjs
 * and run `node cgroups-v2.suite.mjs` inside the VM. It prints one JSON line per check
 * ({"check","ok","ms","detail"?,"skipped"?}) and a last line "N passed, M failed"; exit status 0
 * only when nothing failed. Children are this node binary and busybox (TSRUN_BUSYBOX, default
 * /bin/busybox, else /bin/sh). Everything lives under /sys/fs/cgroup/tsrun-vm-test-<pid>/ and is
 * removed at the end.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createManager, detectMode, type CgroupManager } from '../../src/cgroups/manager.js';

const ROOT = '/sys/fs/cgroup';
const PARENT = `tsrun-vm-test-${process.pid}`;
const BUSYBOX = process.env.TSRUN_BUSYBOX ?? (existsSync('/bin/busybox') ? '/bin/busybox' : '/bin/sh');
const NODE = process.execPath;

let passed = 0;
let failed = 0;
const managers: CgroupManager[] = [];

class Skip extends Error {}

function assert(cond: unknown, what: string): asserts cond {
  if (!cond) throw new Error(what);
}

async function check(name: string, fn: () => Promise<string | void> | string | void): Promise<void> {
  const t0 = Date.now();
  try {
    const detail = await fn();
    passed++;
    console.log(JSON.stringify({ check: name, ok: true, ms: Date.now() - t0, ...(detail ? { detail } : {}) }));
  } catch (e) {
    if (e instanceof Skip) {
      console.log(JSON.stringify({ check: name, ok: true, skipped: e.message, ms: Date.now() - t0 }));
      return;
    }
    failed++;
    console.log(JSON.stringify({ check: name, ok: false, ms: Date.now() - t0, detail: e instanceof Error ? e.message : String(e) }));
  }
}

function manager(name: string): CgroupManager {
  const m = createManager({ cgroupsPath: `/${PARENT}/${name}`, id: name });
  managers.push(m);
  m.create();
  return m;
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
}
interface Running {
  child: ChildProcessWithoutNullStreams;
  done: Promise<Exit>;
}

/** Start `cmd`, which first reads one line from stdin; place it, then release it. */
function startIn(m: CgroupManager, cmd: string, args: string[]): Running {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const done = new Promise<Exit>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, out })));
  m.addProcess(child.pid!);
  child.stdin.write('go\n');
  return { child, done };
}

/** A node child running `body` after the go line. */
const nodeIn = (m: CgroupManager, body: string, args: string[] = []): Running =>
  startIn(m, NODE, ['-e', `require('fs').readSync(0, Buffer.alloc(3));\n${body}`, ...args]);
const shIn = (m: CgroupManager, script: string): Running => startIn(m, BUSYBOX, ['sh', '-c', `read x; ${script}`]);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const readIn = (m: CgroupManager, f: string): string => readFileSync(join(m.toState().paths['']!, f), 'utf8').trim();

async function main(): Promise<void> {
  const mode = detectMode();
  await check('host is pure cgroup v2', () => assert(mode === 'v2', `detectMode() = ${mode}`));
  // Anywhere else the checks below would be testing the v1 manager on someone's host: stop.
  if (mode !== 'v2') return;

  await check('create delegates controllers: memory, pids, cpu files exist in the container directory', () => {
    const m = manager('layout');
    assert(m.mode === 'v2', 'mode');
    const dir = m.toState().paths['']!;
    assert(dir === `${ROOT}/${PARENT}/layout`, `dir ${dir}`);
    for (const f of ['memory.max', 'pids.max', 'cpu.max', 'cgroup.freeze', 'cgroup.kill']) assert(existsSync(join(dir, f)), `missing ${f}`);
    m.create(); // idempotent
    const fd = m.openForClone();
    assert(fd > 2, `openForClone fd ${fd}`);
  });

  await check('no cgroupsPath: the id, relative to the parent of our own cgroup (runc fs2)', () => {
    const own = readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n').find((l) => l.startsWith('0::'))!.slice(3);
    const id = `tsrun-vm-rel-${process.pid}`;
    const m = createManager({ cgroupsPath: undefined, id });
    const dir = m.toState().paths['']!;
    const want = join(ROOT, own === '/' ? '/' : join(own, '..'), id);
    assert(dir === want, `dir ${dir}, want ${want}`);
    m.create();
    assert(existsSync(join(dir, 'cgroup.procs')), 'not created');
    m.destroy();
    assert(!existsSync(dir), 'not removed');
    let refused = '';
    try {
      createManager({ cgroupsPath: 'system.slice:tsrun:x', id });
    } catch (e) {
      refused = String(e);
    }
    assert(/systemd/.test(refused), `systemd form: ${refused || 'accepted'}`);
  });

  await check('memory.max: a process allocating past it is OOM-killed, memory.events counts it', async () => {
    const m = manager('mem');
    m.apply({ memory: { limit: 96 << 20, swap: 96 << 20 } });
    assert(readIn(m, 'memory.max') === String(96 << 20), 'memory.max not written');
    const res = await nodeIn(m, "const b = Buffer.alloc(400 << 20, 1); console.log('survived', b.length)").done;
    assert(res.signal === 'SIGKILL', `child ended ${res.code}/${res.signal}: ${res.out.slice(0, 200)}`);
    const ev = m.stats().memory.event_count;
    assert((ev.oom_kill ?? 0) >= 1, `memory.events ${JSON.stringify(ev)}`);
    return `oom_kill=${ev.oom_kill}`;
  });

  await check('pids.max stops a fork loop', async () => {
    const m = manager('pids');
    m.apply({ pids: { limit: 5 } });
    // busybox sh gives up at the first failed fork; each started sleep prints a line first.
    const res = await shIn(m, 'for i in 1 2 3 4 5 6 7 8 9 10; do sleep 30 & echo started; done').done;
    const started = res.out.split('\n').filter((l) => l === 'started').length;
    m.killAll(9);
    assert(started === 4, `started ${started} children with pids.max 5 (sh is the fifth): ${res.out.slice(0, 200)}`);
    return `started=${started}`;
  });

  await check('cpu.max throttles a busy loop (cpu.stat nr_throttled)', async () => {
    const m = manager('cpu');
    m.apply({ cpu: { quota: 20000, period: 100000, shares: 2048 } });
    assert(readIn(m, 'cpu.max') === '20000 100000', `cpu.max ${readIn(m, 'cpu.max')}`);
    assert(readIn(m, 'cpu.weight') !== '100', 'cpu.weight not changed from the default');
    // busybox, not node: node's own start-up would spend most of the run throttled.
    const res = await shIn(m, 'i=0; while [ $i -lt 3000 ]; do i=$((i+1)); done').done;
    assert(res.code === 0, `busy loop exit ${res.code}`);
    const t = m.stats().cpu.throttling;
    assert(t.throttledPeriods > 0, `throttling ${JSON.stringify(t)}`);
    return JSON.stringify(t);
  });

  await check('cgroup.freeze stops a counter, thaw resumes it', async () => {
    const m = manager('freeze');
    const dir = mkdtempSync(join(tmpdir(), 'tsrun-cg-'));
    const file = join(dir, 'n');
    try {
      const r = nodeIn(m, "let i = 0; setInterval(() => require('fs').writeFileSync(process.argv[1], String(++i)), 5);", [file]);
      const count = (): number => (existsSync(file) ? Number(readFileSync(file, 'utf8') || 0) : 0);
      for (let i = 0; i < 100 && count() < 3; i++) await sleep(50);
      m.freeze();
      assert(m.frozen(), 'frozen() false after freeze');
      const a = count();
      await sleep(300);
      assert(count() === a, `counter moved while frozen: ${a} → ${count()}`);
      m.thaw();
      assert(!m.frozen(), 'frozen() true after thaw');
      // Under TCG a thawed node may take a while to run its timers again: poll, bounded.
      for (let i = 0; i < 100 && count() <= a; i++) await sleep(50);
      assert(count() > a, 'counter did not resume within 5 s');
      m.killAll(9);
      await r.done;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  await check('cgroup.kill ends every process, a forked one included', async () => {
    const m = manager('kill');
    const r = shIn(m, 'sleep 100 & sleep 100 & wait');
    for (let i = 0; i < 100 && m.pids().length < 3; i++) await sleep(20);
    assert(m.pids().length === 3, `pids ${m.pids().join(',')}`);
    m.killAll(9);
    const res = await r.done;
    assert(res.signal === 'SIGKILL', `sh ended ${res.code}/${res.signal}`);
    for (let i = 0; i < 100 && m.pids().length > 0; i++) await sleep(20);
    assert(m.pids().length === 0, `left ${m.pids().join(',')}`);
  });

  await check('killAll with SIGTERM signals every pid', async () => {
    const m = manager('term');
    const r = shIn(m, 'sleep 100 & wait');
    for (let i = 0; i < 100 && m.pids().length < 2; i++) await sleep(20);
    m.killAll(15);
    const res = await r.done;
    assert(res.signal === 'SIGTERM' || res.code !== 0, `sh ended ${res.code}/${res.signal}`);
    for (let i = 0; i < 100 && m.pids().length > 0; i++) await sleep(20);
    assert(m.pids().length === 0, `left ${m.pids().join(',')}`);
  });

  await check('update changes a live limit (pids.max, memory.high via unified)', async () => {
    const m = manager('update');
    m.apply({ pids: { limit: 50 } });
    const r = shIn(m, 'sleep 100');
    m.apply({ pids: { limit: 7 }, unified: { 'memory.high': String(64 << 20) } }, { update: true });
    assert(readIn(m, 'pids.max') === '7', `pids.max ${readIn(m, 'pids.max')}`);
    assert(readIn(m, 'memory.high') === String(64 << 20), 'memory.high');
    let refused = false;
    try {
      m.apply({ unified: { 'memory.nonexistent': '1' } });
    } catch {
      refused = true;
    }
    assert(refused, 'unknown unified file accepted');
    m.killAll(9);
    await r.done;
  });

  await check('device program (eBPF) refuses a disallowed open', () => {
    throw new Skip('the addon has no loadDeviceProgram yet (bpf(2)); the program itself is verified on the host suite');
  });

  await check('destroy removes the directory and nothing above it', async () => {
    const m = manager('gone');
    const r = shIn(m, 'sleep 100');
    const dir = m.toState().paths['']!;
    m.killAll(9);
    await r.done;
    m.destroy();
    assert(!existsSync(dir), 'directory still there');
    assert(existsSync(join(ROOT, PARENT)), 'parent removed');
  });
}

try {
  await main();
} finally {
  for (const m of managers) {
    try {
      m.killAll(9);
      m.destroy();
    } catch (e) {
      failed++;
      console.log(JSON.stringify({ check: 'cleanup', ok: false, detail: e instanceof Error ? e.message : String(e) }));
    }
  }
  try {
    if (existsSync(join(ROOT, PARENT))) rmdirSync(join(ROOT, PARENT));
  } catch (e) {
    failed++;
    console.log(JSON.stringify({ check: 'cleanup parent', ok: false, detail: String(e) }));
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed === 0 ? 0 : 1;
}
