// Helpers shared by the security suite (test/security/*.test.ts). Black-box: they drive the tsrun
// binary through conformance/lib and inspect the host through /proc; nothing here imports src/.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { onCleanup, testRoot, tsrun, type RunResult } from '../../../conformance/lib/index.js';
import { cgroupMounts, CGROUP_PARENT } from '../../../conformance/lib/cgroups.js';

const here = dirname(fileURLToPath(import.meta.url));
const swapBinary = join(here, 'swap');
const swapSource = join(here, 'swap.c');

/** Builds helpers/swap when missing or older than swap.c; returns its path. */
export function ensureSwap(): string {
  const stale = !existsSync(swapBinary) || statSync(swapBinary).mtimeMs < statSync(swapSource).mtimeMs;
  if (stale) execFileSync('/bin/sh', [join(here, 'build.sh')], { stdio: ['ignore', 'inherit', 'inherit'] });
  return swapBinary;
}

/** Starts `swap a b seconds` in the background; killed at cleanup (or by the returned stop()). */
export function startSwap(a: string, b: string, seconds: number): { child: ChildProcess; stop(): void } {
  const child = spawn(ensureSwap(), [a, b, String(seconds)], { stdio: ['ignore', 'ignore', 'pipe'] });
  const stop = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  onCleanup(stop);
  return { child, stop };
}

/** sha256 of a file, hex. */
export function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** A host directory holding one MARK file with a random name: proof of what lives only on the host. */
export function makeMarkDir(dir: string): { dir: string; name: string } {
  mkdirSync(dir, { recursive: true });
  const name = `MARK-${Math.random().toString(36).slice(2, 10)}`;
  execFileSync('/bin/sh', ['-c', `printf host-only > "$1"`, 'sh', join(dir, name)]);
  return { dir, name };
}

/** Directory entries (names), sorted; [] when the dir is gone. */
export function listDir(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

/** Pids of live processes whose root or cwd lies at or below dir (what a container leaves behind). */
export function processesUnder(dir: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    for (const link of ['root', 'cwd']) {
      try {
        const t = readlinkSync(`/proc/${e}/${link}`);
        if (t === dir || t.startsWith(dir + '/')) {
          out.push(Number(e));
          break;
        }
      } catch {
        // gone or a kernel thread
      }
    }
  }
  return out;
}

/**
 * Mounts in the container of pid (its /proc/<pid>/mountinfo, read from the host) whose source
 * directory is `hostDir` or below it: a host directory mounted INTO the container. Matched on the
 * mountinfo root field's tail (`<bundle name>/<dir name>`), which holds whatever fs /tmp is on.
 */
export function hostDirMountedIn(pid: number, hostDir: string): string[] {
  const tail = hostDir.split('/').slice(-2).join('/');
  const un = (x: string): string => x.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return readFileSync(`/proc/${pid}/mountinfo`, 'utf8')
    .split('\n')
    .filter((l) => {
      const root = l.split(' ')[3];
      return root !== undefined && (un(root).endsWith('/' + tail) || un(root).includes('/' + tail + '/'));
    });
}

/** Host mount points at or below dir (this process's mount namespace). */
export function hostMountsBelow(dir: string): string[] {
  const out: string[] = [];
  for (const l of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const m = l.split(' ')[4];
    if (m && (m === dir || m.startsWith(dir + '/'))) out.push(m);
  }
  return out;
}

/** Whether the test cgroup /tsrun-conf/<name> exists in any hierarchy. */
export function testCgroupExists(name: string): boolean {
  return cgroupMounts().some((m) => existsSync(join(m.mountPoint, CGROUP_PARENT, name)));
}

/** Whether this file's state root holds a directory for id. */
export function stateDirExists(id: string): boolean {
  return existsSync(join(testRoot(), id));
}

/**
 * A run that must be REFUSED (SECURITY.md): non-zero exit with a message, not a crash, and nothing
 * left: no state dir, no process rooted in the bundle, no cgroup, no mount under the bundle.
 */
export function expectRefused(r: RunResult, id: string, bundleDir: string): string[] {
  const problems: string[] = [];
  if (r.code === 0) problems.push(`exit 0 (stdout: ${r.stdout.slice(0, 300)})`);
  if (r.code !== null && r.code !== 0 && r.code !== 1) problems.push(`exit code ${r.code} (runc exits 1 on error)`);
  if (r.signal) problems.push(`killed by ${r.signal}`);
  if (/\n\s+at |TypeError|ReferenceError/.test(r.stderr)) problems.push(`stack trace on stderr: ${r.stderr}`);
  if (r.stderr.trim() === '') problems.push('no error message');
  problems.push(...leftovers(id, bundleDir));
  return problems;
}

/** What a finished or refused container left behind. */
export function leftovers(id: string, bundleDir: string): string[] {
  const problems: string[] = [];
  if (stateDirExists(id)) problems.push(`state dir ${join(testRoot(), id)} left`);
  const procs = processesUnder(bundleDir);
  if (procs.length) problems.push(`processes left rooted in the bundle: ${procs.join(',')}`);
  const mounts = hostMountsBelow(bundleDir);
  if (mounts.length) problems.push(`host mounts left: ${mounts.join(',')}`);
  const name = bundleDir.split('/').pop()!;
  if (testCgroupExists(name)) problems.push(`cgroup /${CGROUP_PARENT}/${name} left`);
  return problems;
}

/** `tsrun exec` exists (another helper is writing it): '' when usable, else the reason. */
export async function execMissing(): Promise<string> {
  const r = await tsrun(['exec', '--help'], { root: false });
  const text = r.stdout + r.stderr;
  return /not implemented/i.test(text) || r.code !== 0 ? 'tsrun exec not implemented yet' : '';
}

export { tsrun };
