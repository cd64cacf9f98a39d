/**
 * What the host mounts: pure v2, pure v1, or hybrid (v1 controllers plus a cgroup2 mount at
 * /sys/fs/cgroup/unified), where each hierarchy is mounted, and this process's own cgroups.
 * Read lazily: only commands that touch cgroups pay for it.
 */

import { readFileSync, statfsSync } from 'node:fs';

/** linux/magic.h */
const CGROUP2_SUPER_MAGIC = 0x63677270;

export function detectMode(root = '/sys/fs/cgroup'): 'v1' | 'v2' | 'hybrid' {
  if (fsType(root) === CGROUP2_SUPER_MAGIC) return 'v2';
  return fsType(`${root}/unified`) === CGROUP2_SUPER_MAGIC ? 'hybrid' : 'v1';
}

function fsType(path: string): number {
  try {
    return statfsSync(path).type;
  } catch {
    return 0;
  }
}

export interface CgroupMount {
  mountpoint: string;
  /** The cgroup this mount shows as its root ("/" unless inside a cgroup namespace). */
  root: string;
}

export interface HostMounts {
  /** v1 controller (and "name=systemd"-style named hierarchy) → mount. */
  v1: Map<string, CgroupMount>;
  unified: CgroupMount | undefined;
}

/** Super options of a v1 cgroup mount that are not controller names. */
const NOT_CONTROLLERS = new Set(['rw', 'ro', 'xattr', 'noprefix', 'clone_children', 'cpuset_v2_mode', 'favordynmods', 'all', 'none']);

/** Parse /proc/self/mountinfo text (proc(5)); mount points are octal-escaped there. */
export function parseMountinfo(text: string): HostMounts {
  const v1 = new Map<string, CgroupMount>();
  let unified: CgroupMount | undefined;
  for (const line of text.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const pre = line.slice(0, sep).split(' ');
    const [fstype, , superOpts = ''] = line.slice(sep + 3).split(' ');
    const root = unescapeOctal(pre[3] ?? '/');
    const mountpoint = unescapeOctal(pre[4] ?? '');
    if (fstype === 'cgroup2') {
      // The first cgroup2 mount wins: later ones are usually the same hierarchy bound elsewhere.
      unified ??= { mountpoint, root };
    } else if (fstype === 'cgroup') {
      for (const opt of superOpts.split(',')) {
        if (NOT_CONTROLLERS.has(opt) || (opt.includes('=') && !opt.startsWith('name='))) continue;
        if (!v1.has(opt)) v1.set(opt, { mountpoint, root });
      }
    }
  }
  return { v1, unified };
}

function unescapeOctal(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Parse /proc/<pid>/cgroup: controller → path; the v2 entry ("0::/x") is keyed "". A line names
 *  several controllers when they share a hierarchy ("2:cpu,cpuacct:/x"). */
export function parseProcCgroup(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    const [, ctrls = '', path = '/'] = m;
    if (ctrls === '') out.set('', path);
    else for (const c of ctrls.split(',')) out.set(c, path);
  }
  return out;
}

export function readHostMounts(): HostMounts {
  return parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8'));
}

export function readOwnCgroups(): Map<string, string> {
  return parseProcCgroup(readFileSync('/proc/self/cgroup', 'utf8'));
}
