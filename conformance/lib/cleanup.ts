import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';

const dirs = new Set<string>();
const hooks: Array<() => void | Promise<void>> = [];

/** Remembers a temp dir so cleanupAll removes it even when the test that made it failed. */
export function trackDir(dir: string): string {
  dirs.add(dir);
  return dir;
}

/** Runs fn during cleanupAll (e.g. killing a namespace holder process). */
export function onCleanup(fn: () => void | Promise<void>): void {
  hooks.push(fn);
}

export function takeCleanupHooks(): Array<() => void | Promise<void>> {
  return hooks.splice(0, hooks.length);
}

export function trackedDirs(): string[] {
  return [...dirs];
}

function unescapeMountPath(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Mount points in the host namespace at or below dir, deepest first. */
function mountsBelow(dir: string): string[] {
  const found: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const mp = line.split(' ')[4];
    if (mp === undefined) continue;
    const p = unescapeMountPath(mp);
    if (p === dir || p.startsWith(dir + '/')) found.push(p);
  }
  return found.sort((a, b) => b.length - a.length);
}

/**
 * Removes one of our temp dirs. A runtime bug could leave a mount under it in the host namespace;
 * deleting recursively through a bind mount would delete host files, so such mounts (ours: they
 * sit in our own temp dir) are detached first, and the tree is kept if that fails.
 */
export function removeTree(dir: string): void {
  if (!dir.startsWith('/tmp/tsrun-conf-')) throw new Error(`refusing to remove ${dir}`);
  for (const mp of mountsBelow(dir)) {
    try {
      execFileSync('umount', ['-l', mp], { stdio: 'ignore' });
    } catch {
      // reported below by the mount check
    }
  }
  if (mountsBelow(dir).length > 0) {
    console.error(`conformance: leaving ${dir}: mounts remain below it`);
    return;
  }
  rmSync(dir, { recursive: true, force: true });
  dirs.delete(dir);
}
