/**
 * tsrun's cgroup commands on a pure cgroup v2 host (the qemu VM of MACHINE.md, cgroup_no_v1=all),
 * end to end through the real CLI: memory and pids limits take effect, `events` reports an OOM
 * kill, `update` changes a live limit, pause/resume freeze and thaw, the eBPF device program
 * refuses a node that is not allowed and allows a listed one, and delete leaves no cgroup.
 *
 * A plain script (scripts/vm/build-initramfs.sh bundles it with esbuild). One JSON line per check
 * ({"check","ok","ms","detail"?}) and a last line "N passed, M failed"; exit 1 if any failed.
 * Two groups of checks run side by side: under TCG each tsrun call costs seconds.
 * Environment (the VM's /init): TSRUN_BIN, TSRUN_VM_BUNDLE (a busybox bundle; its rootfs is
 * shared read-only). Every container's cgroup lives under /sys/fs/cgroup/tsrun-v2-<pid>/.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const TSRUN = process.env.TSRUN_BIN ?? '/tsrun/bin/tsrun';
const TEMPLATE = process.env.TSRUN_VM_BUNDLE ?? '/bundle';
const CG = '/sys/fs/cgroup';
const PARENT = `tsrun-v2-${process.pid}`;
const MiB = 1024 * 1024;
const work = mkdtempSync('/tmp/tsrun-v2-');
const stateRoot = join(work, 'state');
let passed = 0;
let failed = 0;
let serial = 0;

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
    failed++;
    console.log(JSON.stringify({ check: name, ok: false, ms: Date.now() - t0, detail: e instanceof Error ? e.message : String(e) }));
  }
}

interface Ctr {
  id: string;
  bundle: string;
  /** Host directory of the container's cgroup. */
  cg: string;
}

/** A bundle sharing the template's rootfs, cgroupsPath /tsrun-v2-<pid>/<id>. */
function bundle(args: string[], edit?: (c: Record<string, any>) => void): Ctr {
  const id = `v2-${(serial += 1)}`;
  const dir = join(work, id);
  mkdirSync(dir);
  const config = JSON.parse(readFileSync(join(TEMPLATE, 'config.json'), 'utf8')) as Record<string, any>;
  config.process.args = args;
  config.process.terminal = false;
  config.root = { path: join(TEMPLATE, 'rootfs'), readonly: true };
  config.linux.cgroupsPath = `/${PARENT}/${id}`;
  edit?.(config);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  return { id, bundle: dir, cg: join(CG, PARENT, id) };
}

interface Res {
  code: number | null;
  out: string;
  err: string;
}

const read = (c: Ctr, f: string): string => readFileSync(join(c.cg, f), 'utf8').trim();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const withMemory = (limit: number) => (cfg: Record<string, any>): void => {
  cfg.linux.resources = { ...(cfg.linux.resources ?? {}), memory: { limit, swap: limit } };
};

/** tsrun without blocking the event loop, so two groups of checks overlap (TCG is slow and the
 *  VM harness gives a suite about 90 s). */
function tsrunAsync(args: string[]): Promise<Res> {
  return new Promise((resolve) => {
    const child = spawn(TSRUN, ['--root', stateRoot, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

async function okAsync(args: string[]): Promise<Res> {
  const r = await tsrunAsync(args);
  assert(r.code === 0, `tsrun ${args.join(' ')}: exit ${r.code}: ${r.err.trim()}`);
  return r;
}

/** Limits, pids enforcement, the cost of the init, update, pause, delete: one container. */
async function limitsGroup(): Promise<void> {
  const c = bundle(['/bin/sleep', '1000'], (cfg) => {
    withMemory(64 * MiB)(cfg);
    cfg.linux.resources.pids = { limit: 10 };
  });
  let peak = '';
  await check('create: memory.max and pids.max written; memory charged before execve reported', async () => {
    await okAsync(['create', '--bundle', c.bundle, c.id]);
    assert(read(c, 'memory.max') === String(64 * MiB), `memory.max ${read(c, 'memory.max')}`);
    assert(read(c, 'pids.max') === '10', `pids.max ${read(c, 'pids.max')}`);
    peak = existsSync(join(c.cg, 'memory.peak')) ? read(c, 'memory.peak') : read(c, 'memory.current');
    await okAsync(['start', c.id]);
    return `charged before execve: ${peak} bytes`;
  });
  await check('update changes memory.max of the running container', async () => {
    await okAsync(['update', '--memory', '96m', c.id]);
    assert(read(c, 'memory.max') === String(96 * MiB), `memory.max ${read(c, 'memory.max')}`);
  });
  await check('pause freezes the cgroup (cgroup.events frozen 1); delete --force removes it', async () => {
    await okAsync(['pause', c.id]);
    assert(/frozen 1/.test(read(c, 'cgroup.events')), `cgroup.events: ${read(c, 'cgroup.events')}`);
    await okAsync(['delete', '--force', c.id]);
    assert(!existsSync(c.cg), `${c.cg} left after delete`);
  });
  await check('device program: an unlisted node gives EPERM, a listed one opens past the filter', async () => {
    const node = (minor: number) => ({ path: `/dev/v2-misc${minor}`, type: 'c', major: 10, minor, fileMode: 0o666 });
    const d = bundle(['/bin/sh', '-c', 'cat /dev/v2-misc237; cat /dev/v2-misc236; true'], (cfg) => {
      cfg.linux.devices = [...(cfg.linux.devices ?? []), node(237), node(236)];
      const rules = [...(cfg.linux.resources?.devices ?? []), { allow: true, type: 'c', major: 10, minor: 237, access: 'rwm' }];
      cfg.linux.resources = { ...(cfg.linux.resources ?? {}), devices: rules };
    });
    const r = await okAsync(['run', '--bundle', d.bundle, d.id]);
    const lines = r.err.trim().split('\n');
    const allowed = lines.find((l) => l.includes('v2-misc237')) ?? '';
    const denied = lines.find((l) => l.includes('v2-misc236')) ?? '';
    assert(/Operation not permitted/.test(denied), `unlisted: ${denied}`);
    assert(!/Operation not permitted/.test(allowed), `listed still refused: ${allowed}`);
    return allowed;
  });
  await check('tsrun run of busybox true succeeds under memory.max = 1 MiB', async () => {
    const r = bundle(['/bin/true'], withMemory(MiB));
    await okAsync(['run', '--bundle', r.bundle, r.id]);
    return peak ? `init charged ${peak} bytes before execve (64 MiB container above)` : undefined;
  });
}

/** pids.max against a fork loop; memory.max → OOM kill → `events` reports it. */
async function oomGroup(): Promise<void> {
  await check('pids.max stops a fork loop', async () => {
    const c = bundle(['/bin/sh', '-c', 'i=0; while [ $i -lt 30 ]; do sleep 5 & i=$((i+1)); done; echo done'], (cfg) => {
      cfg.linux.resources = { ...(cfg.linux.resources ?? {}), pids: { limit: 10 } };
    });
    const r = await tsrunAsync(['run', '--bundle', c.bundle, c.id]);
    assert(/can't fork|Resource temporarily unavailable/.test(r.err), `no fork failure: ${r.err.slice(0, 200)}`);
    assert(!existsSync(c.cg), `${c.cg} left after run`);
  });
  await check('memory.max causes an OOM kill that `events` reports', async () => {
    const c = bundle(['/bin/sh', '-c', 'sleep 5; x=$(head -c 67108864 /dev/zero | tr "\\0" a); echo survived'], withMemory(16 * MiB));
    await okAsync(['create', '--bundle', c.bundle, c.id]);
    const events = tsrunAsync(['events', '--interval', '2s', c.id]);
    await okAsync(['start', c.id]);
    const r = await events;
    const evs = r.out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; id: string });
    assert(r.code === 0, `events exit ${r.code}: ${r.err.trim()}`);
    assert(evs.some((e) => e.type === 'oom' && e.id === c.id), `no oom event in ${r.out.slice(0, 300)}`);
    await okAsync(['delete', '--force', c.id]);
    return `${evs.length} events`;
  });
}

async function main(): Promise<void> {
  await Promise.all([limitsGroup(), oomGroup()]);
}

try {
  await main();
} finally {
  rmSync(work, { recursive: true, force: true });
  try {
    rmdirSync(join(CG, PARENT));
  } catch {
    // absent (nothing created) or a check left a container: reported by that check
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
