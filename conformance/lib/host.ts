import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { onCleanup } from './cleanup.js';
import { tsrun, type TsrunOptions } from './tsrun.js';

/** Inode of one of this (host) process's namespaces, e.g. hostNs('net'); 0 when absent. */
export function hostNs(name: string): number {
  try {
    return statSync(`/proc/self/ns/${name}`).ino;
  } catch {
    return 0;
  }
}

/** The LSMs the host kernel has active (empty when securityfs does not say). */
export function hostLsms(): string[] {
  const f = '/sys/kernel/security/lsm';
  return existsSync(f) ? readFileSync(f, 'utf8').trim().split(',').filter(Boolean) : [];
}

/** Whether pid exists and is not a zombie (a reaped-later zombie has already stopped running). */
/** Whether AppArmor is enabled on the host kernel. */
export function hostHasAppArmor(): boolean {
  try {
    return readFileSync('/sys/module/apparmor/parameters/enabled', 'utf8').trim() === 'Y';
  } catch {
    return hostLsms().includes('apparmor');
  }
}

/** Whether SELinux is enabled on the host kernel. */
export function hostHasSELinux(): boolean {
  return existsSync('/sys/fs/selinux/enforce') || hostLsms().includes('selinux');
}

export function pidAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls cond every 20 ms until it holds or timeoutMs passes; returns whether it held. */
export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return true;
    if (Date.now() > end) return false;
    await sleep(20);
  }
}

export interface ContainerState {
  ociVersion: string;
  id: string;
  status: string;
  pid?: number;
  bundle: string;
  annotations?: Record<string, string>;
  [k: string]: unknown;
}

/** `tsrun state <id>` parsed; throws with tsrun's stderr when it fails. */
export async function containerState(id: string, opts: TsrunOptions = {}): Promise<ContainerState> {
  const r = await tsrun(['state', id], opts);
  if (r.code !== 0) throw new Error(`state ${id} failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as ContainerState;
}

/**
 * Runs mount(8) on the host for a mount of the test's own under one of its temp dirs, and
 * registers a lazy unmount of `target` for cleanup (never used on paths the tests did not create).
 */
export function hostMount(args: string[], target: string): void {
  if (!target.startsWith('/tmp/tsrun-conf-')) throw new Error(`refusing to mount on ${target}`);
  execFileSync('mount', [...args, target], { stdio: ['ignore', 'ignore', 'pipe'] });
  onCleanup(() => {
    try {
      execFileSync('umount', ['-l', target], { stdio: 'ignore' });
    } catch {
      // already gone (e.g. an earlier cleanup of a parent)
    }
  });
}
