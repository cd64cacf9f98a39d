/**
 * tsrun's cgroup commands on a pure cgroup v2 host (the qemu VM of MACHINE.md, cgroup_no_v1=all),
 * end to end through the real CLI: memory and pids limits take effect, `events` reports an OOM
 * kill, `update` changes a live limit, pause/resume freeze and thaw, the eBPF device program
 * refuses a node that is not allowed and allows a listed one, and delete leaves no cgroup.
 *
 * A plain script (scripts/vm/build-initramfs.sh bundles it with esbuild). One JSON line per check
 * ({"check","ok","ms","detail"?}) and a last line "N passed, M failed"; exit 1 if any failed.
 * Environment (the VM's /init): TSRUN_BIN, TSRUN_VM_BUNDLE (a busybox bundle; its rootfs is
 * shared read-only). Every container's cgroup lives under /sys/fs/cgroup/tsrun-v2-<pid>/.
 */
import { spawn, spawnSync } from 'node:child_process';
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

function tsrun(args: string[], input?: string): Res {
  const r = spawnSync(TSRUN, ['--root', stateRoot, ...args], { encoding: 'utf8', input, timeout: 60000 });
  return { code: r.status, out: r.stdout ?? '', err: r.stderr ?? '' };
}

function ok(args: string[], input?: string): Res {
  const r = tsrun(args, input);
  assert(r.code === 0, `tsrun ${args.join(' ')}: exit ${r.code}: ${r.err.trim()}`);
  return r;
}

const read = (c: Ctr, f: string): string => readFileSync(join(c.cg, f), 'utf8').trim();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const status = (c: Ctr): string => (JSON.parse(ok(['state', c.id]).out) as { status: string }).status;

function started(c: Ctr): void {
  ok(['create', '--bundle', c.bundle, c.id]);
  ok(['start', c.id]);
}

const withMemory = (limit: number) => (cfg: Record<string, any>): void => {
  cfg.linux.resources = { ...(cfg.linux.resources ?? {}), memory: { limit, swap: limit } };
};

async function main(): Promise<void> {
  await check('memory.max and pids.max written; update changes memory.max live', () => {
    const c = bundle(['/bin/sleep', '1000'], (cfg) => {
      withMemory(64 * MiB)(cfg);
      cfg.linux.resources.pids = { limit: 42 };
    });
    started(c);
    assert(read(c, 'memory.max') === String(64 * MiB), `memory.max ${read(c, 'memory.max')}`);
    assert(read(c, 'pids.max') === '42', `pids.max ${read(c, 'pids.max')}`);
    ok(['update', '--memory', '96m', '--pids-limit', '50', c.id]);
    assert(read(c, 'memory.max') === String(96 * MiB), `after update memory.max ${read(c, 'memory.max')}`);
    ok(['update', '--resources', '-', c.id], JSON.stringify({ pids: { limit: 60 } }));
    assert(read(c, 'pids.max') === '60', `after --resources - pids.max ${read(c, 'pids.max')}`);
    ok(['delete', '--force', c.id]);
    assert(!existsSync(c.cg), `${c.cg} left after delete`);
  });

  await check('pids.max stops a fork loop', () => {
    const c = bundle(['/bin/sh', '-c', 'i=0; while [ $i -lt 30 ]; do sleep 5 & i=$((i+1)); done; echo done'], (cfg) => {
      cfg.linux.resources = { ...(cfg.linux.resources ?? {}), pids: { limit: 10 } };
    });
    const r = tsrun(['run', '--bundle', c.bundle, c.id]);
    assert(/can't fork|Resource temporarily unavailable/.test(r.err), `no fork failure: ${r.err.slice(0, 200)}`);
    assert(!existsSync(c.cg), `${c.cg} left after run`);
  });

  await check('memory.max causes an OOM kill that `events` reports', async () => {
    const c = bundle(['/bin/sh', '-c', 'sleep 2; x=$(head -c 67108864 /dev/zero | tr "\\0" a); echo survived'], withMemory(16 * MiB));
    ok(['create', '--bundle', c.bundle, c.id]);
    const ev = spawn(TSRUN, ['--root', stateRoot, 'events', '--interval', '1s', c.id], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    ev.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const done = new Promise<number | null>((r) => ev.on('exit', (code) => r(code)));
    await sleep(1500);
    ok(['start', c.id]);
    const timer = setTimeout(() => ev.kill('SIGKILL'), 90000);
    const code = await done;
    clearTimeout(timer);
    const evs = out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; id: string });
    assert(code === 0, `events exit ${code}`);
    assert(evs.some((e) => e.type === 'oom' && e.id === c.id), `no oom event in ${out.slice(0, 300)}`);
    ok(['delete', '--force', c.id]);
    return `${evs.length} events`;
  });

  await check('pause freezes (cgroup.freeze, state paused), resume thaws; kill --all KILL empties the cgroup', async () => {
    const c = bundle(['/bin/sh', '-c', 'sleep 1000 & sleep 1000 & wait']);
    started(c);
    ok(['pause', c.id]);
    assert(status(c) === 'paused', `state ${status(c)} after pause`);
    assert(/frozen 1/.test(read(c, 'cgroup.events')), `cgroup.events: ${read(c, 'cgroup.events')}`);
    ok(['resume', c.id]);
    assert(status(c) === 'running', `state ${status(c)} after resume`);
    const pids = JSON.parse(ok(['ps', '--format', 'json', c.id]).out) as number[];
    assert(pids.length === 3, `ps pids ${JSON.stringify(pids)}`);
    ok(['kill', '--all', c.id, 'KILL']);
    for (let i = 0; i < 50 && read(c, 'cgroup.procs') !== ''; i++) await sleep(100);
    assert(read(c, 'cgroup.procs') === '', 'processes left after kill --all');
    ok(['delete', '--force', c.id]);
    assert(!existsSync(c.cg), `${c.cg} left after delete`);
  });

  await check('device program: a node not allowed gives EPERM, allowed it opens past the filter', () => {
    const dev = { path: '/dev/v2-loopctl', type: 'c', major: 10, minor: 237, fileMode: 0o666 };
    const denied = bundle(['/bin/sh', '-c', 'cat /dev/v2-loopctl'], (cfg) => {
      cfg.linux.devices = [...(cfg.linux.devices ?? []), dev];
    });
    const r1 = tsrun(['run', '--bundle', denied.bundle, denied.id]);
    assert(/Operation not permitted/.test(r1.err), `denied: ${r1.err.trim()}`);
    const allowed = bundle(['/bin/sh', '-c', 'cat /dev/v2-loopctl'], (cfg) => {
      cfg.linux.devices = [...(cfg.linux.devices ?? []), dev];
      const rules = [...(cfg.linux.resources?.devices ?? []), { allow: true, type: 'c', major: 10, minor: 237, access: 'rwm' }];
      cfg.linux.resources = { ...(cfg.linux.resources ?? {}), devices: rules };
    });
    const r2 = tsrun(['run', '--bundle', allowed.bundle, allowed.id]);
    assert(!/Operation not permitted/.test(r2.err), `allowed still refused: ${r2.err.trim()}`);
    return r2.err.trim().slice(0, 120);
  });

  await check('tsrun run of busybox true succeeds under memory.max = 1 MiB', () => {
    const c = bundle(['/bin/true'], withMemory(MiB));
    ok(['create', '--bundle', c.bundle, c.id]);
    const peak = existsSync(join(c.cg, 'memory.peak')) ? read(c, 'memory.peak') : read(c, 'memory.current');
    ok(['delete', '--force', c.id]);
    const r = bundle(['/bin/true'], withMemory(MiB));
    ok(['run', '--bundle', r.bundle, r.id]);
    return `charged before execve: ${peak} bytes`;
  });
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
