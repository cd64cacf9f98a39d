import { existsSync, readFileSync, readdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Parent of every cgroup the suite's containers get (config linux.cgroupsPath = /tsrun-conf/<x>):
 * MACHINE.md asks tests to keep their cgroups under a parent of their own, away from the cgroup
 * the machine's manager lives in (where a relative default path would put them on cgroup v1).
 */
export const CGROUP_PARENT = 'tsrun-conf';

/** Mount points of every cgroup hierarchy (v1 controllers and v2) in this mount namespace. */
export function cgroupMounts(): Array<{ mountPoint: string; v2: boolean; options: string[] }> {
  const out: Array<{ mountPoint: string; v2: boolean; options: string[] }> = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const f = line.split(' ');
    const dash = f.indexOf('-');
    if (dash < 0) continue;
    const fstype = f[dash + 1];
    if (fstype !== 'cgroup' && fstype !== 'cgroup2') continue;
    out.push({ mountPoint: f[4]!, v2: fstype === 'cgroup2', options: (f[dash + 3] ?? '').split(',') });
  }
  return out;
}

function rmdirTree(dir: string): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) rmdirTree(join(dir, e.name));
  rmdirSync(dir);
}

/**
 * Removes what is left of cgroup `/tsrun-conf/<name>` in every hierarchy (a runtime bug may leave
 * it). Only our own parent is ever touched; a cgroup still holding processes is reported and kept.
 */
export function removeTestCgroup(name: string): void {
  if (!name || name.includes('/') || name === '..') throw new Error(`bad test cgroup name ${name}`);
  for (const m of cgroupMounts()) {
    const dir = join(m.mountPoint, CGROUP_PARENT, name);
    if (!existsSync(dir)) continue;
    try {
      rmdirTree(dir);
    } catch (e) {
      console.error(`conformance: could not remove cgroup ${dir}: ${(e as Error).message}`);
    }
  }
}

/** rmdir of /tsrun-conf in each hierarchy; fails harmlessly (EBUSY) while another file uses it. */
export function removeCgroupParentIfEmpty(): void {
  for (const m of cgroupMounts()) {
    try {
      rmdirSync(join(m.mountPoint, CGROUP_PARENT));
    } catch {
      // absent or still in use
    }
  }
}
