/** The JSON object conformance/probe/probe prints (see probe.c for how each field is read). */
export interface ProbeCheck {
  /** The argv flag without dashes: read, write, stat, sysctl, mknod, ls. */
  op: string;
  path: string;
  ok: boolean;
  /** errno number and name/strerror when ok is false. */
  errno?: number;
  err?: string;
  /** read/sysctl: file content; ls: newline-separated names; stat: see `stat`. */
  content?: string;
  stat?: { mode: number; type: string; uid: number; gid: number; rdev_major: number; rdev_minor: number; size: number; ino: number; dev_major: number; dev_minor: number };
}

export interface ProbeReport {
  pid: number;
  ppid: number;
  uid: { real: number; effective: number; saved: number };
  gid: { real: number; effective: number; saved: number };
  groups: number[];
  /** Hex strings exactly as in /proc/self/status (16 digits). */
  caps: { inheritable: string; permitted: string; effective: string; bounding: string; ambient: string };
  noNewPrivs: number;
  seccomp: number;
  sigIgn: string;
  sigBlk: string;
  /** RLIMIT_* name (e.g. "RLIMIT_NOFILE") → soft/hard as decimal strings or "unlimited". */
  rlimits: Record<string, { soft: string; hard: string }>;
  umask: number;
  cwd: string;
  env: string[];
  hostname: string;
  domainname: string;
  /** fd number (string) → readlink target. */
  fds: Record<string, string>;
  /** namespace name (e.g. "pid", "net", "time_for_children") → inode number, or 0 when absent. */
  ns: Record<string, number>;
  mountinfo: string[];
  oomScoreAdj: number;
  personality: number;
  sched: { policy: number; policyName: string; nice: number; priority: number; ok: boolean; errno?: number };
  ioprio: number;
  affinity: number[];
  clock: { monotonic: number; boottime: number };
  attrCurrent: string;
  /** get_mempolicy(2): MPOL_* mode, MPOL_F_* flags (bits 13-15), node numbers of the mask. */
  mempolicy: { ok: boolean; errno?: number; mode: number; flags: number; nodes: number[] };
  checks: ProbeCheck[];
}

/** Capability names in bit order (CAP_CHOWN = bit 0 ...). */
export const CAP_NAMES: readonly string[] = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL',
  'CAP_SETGID', 'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER',
  'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

/** The hex mask /proc/self/status would show for a set of capability names. */
export function capMask(names: readonly string[]): string {
  let m = 0n;
  for (const n of names) {
    const bit = CAP_NAMES.indexOf(n);
    if (bit < 0) throw new Error(`unknown capability ${n}`);
    m |= 1n << BigInt(bit);
  }
  return m.toString(16).padStart(16, '0');
}

/** Capability names set in a /proc/self/status hex mask. */
export function capNames(hex: string): string[] {
  const m = BigInt('0x' + hex);
  return CAP_NAMES.filter((_, i) => (m >> BigInt(i)) & 1n);
}

/** The check result for op+path, or an error naming what is missing. */
export function check(r: ProbeReport, op: string, path: string): ProbeCheck {
  const c = r.checks.find((x) => x.op === op && x.path === path);
  if (!c) throw new Error(`probe report has no ${op} check for ${path}`);
  return c;
}

/** One /proc/self/mountinfo line, split (proc(5)). */
export interface MountEntry {
  id: number;
  parent: number;
  majorMinor: string;
  root: string;
  mountPoint: string;
  /** Per-mount options (ro/rw, nosuid, ...). */
  options: string[];
  /** Optional fields: shared:N, master:N, propagate_from:N, unbindable. */
  optional: string[];
  fstype: string;
  source: string;
  /** Per-superblock options (size=..., mode=...). */
  superOptions: string[];
}

const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

export function parseMountinfo(lines: readonly string[]): MountEntry[] {
  return lines.filter(Boolean).map((line) => {
    const f = line.split(' ');
    const dash = f.indexOf('-');
    return {
      id: Number(f[0]),
      parent: Number(f[1]),
      majorMinor: f[2]!,
      root: unescape(f[3]!),
      mountPoint: unescape(f[4]!),
      options: f[5]!.split(','),
      optional: f.slice(6, dash),
      fstype: f[dash + 1]!,
      source: unescape(f[dash + 2]!),
      superOptions: (f[dash + 3] ?? '').split(','),
    };
  });
}

/** The top-most mount at exactly `path` as the probe saw it, or undefined. */
export function mountAt(r: ProbeReport, path: string): MountEntry | undefined {
  const all = parseMountinfo(r.mountinfo).filter((m) => m.mountPoint === path);
  return all[all.length - 1];
}
