/**
 * What tsrun reads from /proc about processes: start time (so a recycled pid is never taken for the
 * container's init), liveness, pid namespace identity, and the process list for `kill --all`.
 */

import { existsSync, readFileSync, readdirSync, readlinkSync, statfsSync } from 'node:fs';

export interface ProcStat {
  /** Single-letter state (R, S, D, Z, X, ...). */
  state: string;
  /** Field 22, starttime in clock ticks since boot: with the pid it names one process forever. */
  startTime: string;
}

/** Parse /proc/<pid>/stat; the command name (field 2) may hold spaces and parentheses, so
 *  split after the last ')'. */
export function parseStat(text: string): ProcStat {
  const close = text.lastIndexOf(')');
  if (close < 0) throw new Error('malformed /proc stat line');
  const rest = text.slice(close + 2).split(' ');
  // rest[0] is field 3 (state); field 22 is rest[19].
  const startTime = rest[19];
  if (rest[0] === undefined || startTime === undefined) throw new Error('malformed /proc stat line');
  return { state: rest[0], startTime };
}

export function readStat(pid: number): ProcStat | null {
  try {
    return parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

export function startTimeOf(pid: number): string | null {
  return readStat(pid)?.startTime ?? null;
}

/** The process `pid` exists, is the one that started at `startTime`, and is not a zombie. */
export function isAlive(pid: number, startTime: string): boolean {
  if (pid <= 0) return false;
  const st = readStat(pid);
  return st !== null && st.startTime === startTime && st.state !== 'Z' && st.state !== 'X';
}

/** "pid:[4026531836]" for the process' pid namespace, or null when it is gone. */
export function pidNamespaceOf(pid: number | 'self'): string | null {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return null;
  }
}

export function listPids(): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (/^\d+$/.test(name)) out.push(Number(name));
  }
  return out;
}

/** statfs f_type of a cgroup2 filesystem (linux/magic.h CGROUP2_SUPER_MAGIC). */
const CGROUP2_SUPER_MAGIC = 0x63677270;

/** How the host mounts cgroups: unified (v2), v1 only, or hybrid (v1 plus /sys/fs/cgroup/unified). */
export function cgroupMode(): 'v1' | 'v2' | 'hybrid' {
  try {
    if (statfsSync('/sys/fs/cgroup').type === CGROUP2_SUPER_MAGIC) return 'v2';
  } catch {
    // No /sys/fs/cgroup at all: treat as v1 with no hierarchies; plan.ts then mounts only a tmpfs.
  }
  return existsSync('/sys/fs/cgroup/unified') ? 'hybrid' : 'v1';
}

/** Super options of a v1 cgroup mount that are not controller names. */
const NOT_CONTROLLERS = new Set(['rw', 'ro', 'xattr', 'noprefix', 'clone_children', 'cpuset_v2_mode', 'favordynmods', 'all', 'none']);

export interface HostCgroupHierarchy {
  name: string;
  options: string;
}

/** The cgroup hierarchies mounted under /sys/fs/cgroup (v1 and hybrid hosts), from mountinfo. */
export function cgroupV1Hierarchies(mountinfo = safeRead('/proc/self/mountinfo')): HostCgroupHierarchy[] {
  const out: HostCgroupHierarchy[] = [];
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const mountPoint = line.slice(0, sep).split(' ')[4] ?? '';
    const [fstype, , superOpts = ''] = line.slice(sep + 3).split(' ');
    if (!mountPoint.startsWith('/sys/fs/cgroup/') || mountPoint.slice(15).includes('/')) continue;
    if (fstype === 'cgroup') {
      const opts = superOpts.split(',').filter((o) => !NOT_CONTROLLERS.has(o) && !o.startsWith('release_agent='));
      out.push({ name: mountPoint.slice(15), options: opts.join(',') });
    } else if (fstype === 'cgroup2') {
      out.push({ name: mountPoint.slice(15), options: '' });
    }
  }
  return out;
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** /proc/sys/kernel/cap_last_cap: the highest capability number this kernel knows. */
export function lastCap(): number {
  const n = Number(safeRead('/proc/sys/kernel/cap_last_cap').trim());
  return Number.isInteger(n) && n > 0 ? n : 40;
}

/** The user name for a uid from /etc/passwd (runc shows it as `owner`), else the number. */
export function userName(uid: number): string {
  for (const line of safeRead('/etc/passwd').split('\n')) {
    const f = line.split(':');
    if (f[2] === String(uid) && f[0]) return f[0];
  }
  return String(uid);
}

/** tsrun itself runs in a user namespace (rootless, or nested in a container): the initial
 *  namespace's uid_map is the identity map of the whole 32-bit range. */
export function inUserNamespace(uidMap = safeRead('/proc/self/uid_map')): boolean {
  return uidMap.trim().split(/\s+/).join(' ') !== '0 0 4294967295';
}
