// Helpers for the ops integration tests (lifecycle, hooks, badinput, concurrency) that
// conformance/lib does not have: a tsrun child whose pid the test can signal, and a check that a
// container left nothing behind (state dir, mounts, processes, cgroups).
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { testRoot, tsrunBin, type RunResult } from '../../conformance/lib/index.js';

export interface Spawned {
  child: ChildProcess;
  /** Resolves when tsrun exits, with its output (read from files, see conformance/lib/tsrun.ts). */
  done: Promise<RunResult>;
  /** Output so far. */
  stdoutSoFar(): string;
}

/** Starts `tsrun --root <testRoot()> ...args` and hands back the child so a test can signal it. */
export function spawnTsrun(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Spawned {
  const io = mkdtempSync('/tmp/tsrun-conf-io-');
  const outPath = join(io, 'out');
  const errPath = join(io, 'err');
  const fds = [openSync('/dev/null', 'r'), openSync(outPath, 'w'), openSync(errPath, 'w')];
  const child = spawn(tsrunBin, ['--root', testRoot(), ...args], {
    stdio: fds,
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    detached: true,
  });
  for (const fd of fds) closeSync(fd);
  const done = new Promise<RunResult>((resolve, reject) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 25000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const result = { code, signal, stdout: readFileSync(outPath, 'utf8'), stderr: readFileSync(errPath, 'utf8'), timedOut };
      rmSync(io, { recursive: true, force: true });
      resolve(result);
    });
  });
  return { child, done, stdoutSoFar: () => (existsSync(outPath) ? readFileSync(outPath, 'utf8') : '') };
}

function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}

function unescapeMountPath(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

function mountNs(pid: string): string {
  try {
    return readlinkSync(`/proc/${pid}/ns/mnt`);
  } catch {
    return '';
  }
}

/**
 * Live processes (not zombies, not us) whose command line mentions one of `needles`, or that live
 * in another mount namespace whose mount table mentions `bundle` (a container's root mount is the
 * bundle's rootfs; readlink of /proc/<pid>/root only says "/", so the mount table is the tell).
 */
export function strayProcesses(needles: string[], bundle?: string): string[] {
  const found: string[] = [];
  const ourNs = mountNs('self');
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    const stat = readOr(`/proc/${p}/stat`, '');
    if (stat === '' || stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
    const cmdline = readOr(`/proc/${p}/cmdline`, '').replace(/\0/g, ' ').trim();
    if (needles.some((n) => n !== '' && cmdline.includes(n))) {
      found.push(`pid ${p}: ${cmdline}`);
      continue;
    }
    if (bundle === undefined) continue;
    const ns = mountNs(p);
    if (ns === '' || ns === ourNs) continue;
    if (unescapeMountPath(readOr(`/proc/${p}/mountinfo`, '')).includes(bundle)) {
      found.push(`pid ${p} with the bundle's rootfs mounted: ${cmdline}`);
    }
  }
  return found;
}

/** Host mounts whose mount point or source mentions `text`. */
export function mountsMentioning(text: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l !== '' && unescapeMountPath(l).includes(text));
}

/** cgroup directories (v1 controllers and the v2 mount, three levels deep) named after `id`. */
export function cgroupsNamed(id: string): string[] {
  const found: string[] = [];
  const walk = (dir: string, depth: number): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const p = join(dir, e.name);
      if (e.name.includes(id)) found.push(p);
      if (depth > 1) walk(p, depth - 1);
    }
  };
  walk('/sys/fs/cgroup', 4);
  return found;
}

export interface LeftoverCheck {
  id: string;
  /** The bundle directory: no mount may mention it afterwards. */
  bundle?: string;
  root?: string;
}

/** Everything a failed or deleted container left behind; [] when it is gone without a trace. */
export function leftovers(c: LeftoverCheck): string[] {
  const problems: string[] = [];
  const stateDir = join(c.root ?? testRoot(), c.id);
  if (c.id !== '' && !c.id.includes('/') && existsSync(stateDir)) problems.push(`state dir ${stateDir} exists`);
  if (c.bundle) for (const m of mountsMentioning(c.bundle)) problems.push(`mount: ${m}`);
  for (const p of strayProcesses([c.id, ...(c.bundle ? [c.bundle] : [])].filter((n) => n.length >= 6), c.bundle)) {
    problems.push(`process: ${p}`);
  }
  if (c.id.length >= 6) for (const g of cgroupsNamed(c.id)) problems.push(`cgroup: ${g}`);
  return problems;
}

/** Awaits a tsrun call that must succeed; on failure the assertion shows tsrun's stderr. */
export async function ok(call: Promise<RunResult>): Promise<RunResult> {
  const r = await call;
  expect({ code: r.code, signal: r.signal, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, signal: null, stderr: '' });
  return r;
}
