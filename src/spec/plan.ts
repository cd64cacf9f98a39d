/**
 * spec -> plan: a pure conversion of a validated config.json into the InitPlan oci-init carries
 * out and the spawn parameters of the addon's spawnInit. No I/O: what depends on the host comes in
 * through PlanContext. Problems only detectable here (unknown capability, bad cpu list, ...) are
 * collected and thrown together as one ConfigError naming each JSON path.
 *
 * Where the spec is silent this follows runc (libcontainer/specconv, rootfs_linux.go, nsexec).
 */
import { posix } from 'node:path';
import type { Hook, IDMapping, Linux, LinuxDevice, LinuxMemoryPolicy, LinuxNamespaceType, Process, Spec } from './types.js';
import type { InitPlan, PlanCapabilities, PlanDevice, PlanHook, PlanJoin, PlanMemoryPolicy, PlanProcess, PlanRlimit, PlanScheduler, PlanTimeOffset } from './plan-types.js';
import { PLAN_VERSION } from './plan-types.js';
import { LINUX as L, MAX_CPUS, MAX_NUMA_NODES, MPOL_FLAGS, MPOL_MODES, RLIM_INFINITY } from './linux-constants.js';
import { CAPABILITIES, capNumber } from './capabilities.js';
import { buildMounts, containerPath, propagationFlags, type CgroupV1Hierarchy } from './mount-options.js';
import { adjustMountsForUserNs } from './userns-mounts.js';
import { ConfigError } from '../errors.js';
import { seccompProfile, type SeccompProfile } from '../seccomp/profile.js';

export type { CgroupV1Hierarchy } from './mount-options.js';

export interface PlanContext {
  /** Absolute bundle directory: root.path and relative bind sources resolve against it. */
  bundle: string;
  /** --no-pivot. */
  noPivot: boolean;
  /** /proc/sys/kernel/cap_last_cap, read by the caller. */
  lastCap: number;
  /** The caller's RLIMIT_NOFILE before Node raised it (TSRUN_NOFILE_SOFT and the hard limit). */
  nofile: { soft: string; hard: string } | null;
  cgroupMode: 'v1' | 'v2' | 'hybrid';
  /** v1/hybrid hosts: the hierarchies under /sys/fs/cgroup a `cgroup` mount reproduces. */
  cgroupV1Hierarchies?: CgroupV1Hierarchy[];
  /** tsrun itself runs inside a user namespace: device nodes must then be bind-mounted too. */
  runningInUserNamespace?: boolean;
}

export interface SpawnPlan {
  /** New namespaces created by clone3. */
  cloneFlags: number;
  /** New namespaces unshared in the clone child after joinInChild. */
  unshareFlags: number;
  /** The user namespace when joined by path. */
  joinInChild: { path: string; nstype: number }[];
  /** pid namespace joined by path. */
  pidNamespacePath: string | null;
  /** The container has a new user namespace: the parent writes the maps. */
  userNamespace: boolean;
  uidMappings: IDMapping[];
  gidMappings: IDMapping[];
}

export interface BuiltPlan {
  init: InitPlan;
  spawn: SpawnPlan;
  /** Things the config asks for that are skipped, for the CLI to log as warnings. */
  warnings: string[];
  /** linux.seccomp as libseccomp rules; compiled by the caller (src/seccomp compileForPlan) into
   *  init.process.seccomp, since compiling needs the addon and this module stays pure.
   *  Absent or null: no filter. */
  seccomp?: SeccompProfile | null;
}

const CONFIG_FILE = 'config.json';

const NAMESPACE_FLAGS: Record<LinuxNamespaceType, number> = {
  pid: L.CLONE_NEWPID,
  network: L.CLONE_NEWNET,
  mount: L.CLONE_NEWNS,
  ipc: L.CLONE_NEWIPC,
  uts: L.CLONE_NEWUTS,
  user: L.CLONE_NEWUSER,
  cgroup: L.CLONE_NEWCGROUP,
  time: L.CLONE_NEWTIME,
};

/** The order runc joins namespaces by path (configs.NamespaceTypes: user first, then these; user
 *  and pid are handled by the addon before oci-init runs). */
const JOIN_ORDER: LinuxNamespaceType[] = ['ipc', 'uts', 'network', 'mount', 'cgroup', 'time'];

/** Default devices, as runc creates them (specconv.AllowedDevices with a path). */
const DEFAULT_DEVICES: readonly PlanDevice[] = [
  { path: '/dev/null', major: 1, minor: 3 },
  { path: '/dev/random', major: 1, minor: 8 },
  { path: '/dev/full', major: 1, minor: 7 },
  { path: '/dev/tty', major: 5, minor: 0 },
  { path: '/dev/zero', major: 1, minor: 5 },
  { path: '/dev/urandom', major: 1, minor: 9 },
].map((d) => ({ ...d, mode: L.S_IFCHR | 0o666, uid: 0, gid: 0 }));

export function buildPlan(spec: Spec, ctx: PlanContext): BuiltPlan {
  const problems: string[] = [];
  const warnings: string[] = [];
  const linux: Linux = spec.linux ?? {};
  const ns = splitNamespaces(linux, problems);
  const mounts = buildMounts(
    spec.mounts ?? [],
    {
      bundle: ctx.bundle,
      cgroupMode: ctx.cgroupMode,
      cgroupV1Hierarchies: ctx.cgroupV1Hierarchies ?? [],
      cgroupNamespace: (ns.init.lateUnshareFlags & L.CLONE_NEWCGROUP) !== 0,
    },
    problems,
  );
  // runc skips device nodes, /dev symlinks and ptmx when /dev comes from the host (needsSetupDev).
  const devFromHost = (spec.mounts ?? []).some((m) => containerPath(m.destination) === '/dev' && isBindMount(m));
  const process = buildProcess(spec, linux, ctx, problems, warnings);
  const init: InitPlan = {
    version: PLAN_VERSION,
    ...ns.init,
    rootfs: posix.resolve(ctx.bundle, spec.root?.path ?? ''),
    rootfsPropagation: rootfsPropagation(linux, ctx.noPivot, problems),
    readonlyRootfs: spec.root?.readonly ?? false,
    noPivot: ctx.noPivot,
    mounts: adjustMountsForUserNs(mounts, {
      userNamespace: ns.spawn.userNamespace || ns.spawn.joinInChild.length > 0,
      newNetworkNamespace: ((ns.spawn.cloneFlags | ns.spawn.unshareFlags) & L.CLONE_NEWNET) !== 0,
      uidMappings: ns.spawn.uidMappings,
      gidMappings: ns.spawn.gidMappings,
    }, problems),
    devices: devFromHost ? [] : buildDevices(linux.devices ?? [], problems),
    bindDevices: ns.spawn.userNamespace || ns.spawn.joinInChild.length > 0 || (ctx.runningInUserNamespace ?? false),
    devSymlinks: !devFromHost,
    maskedPaths: (linux.maskedPaths ?? []).map(containerPath),
    readonlyPaths: (linux.readonlyPaths ?? []).map(containerPath),
    sysctl: Object.entries(linux.sysctl ?? {}).map(([key, value]) => ({ key, value })),
    hostname: spec.hostname || null,
    domainname: spec.domainname || null,
    process,
    hooks: {
      createContainer: (spec.hooks?.createContainer ?? []).map(planHook),
      startContainer: (spec.hooks?.startContainer ?? []).map(planHook),
    },
  };
  const seccomp = linux.seccomp ? seccompProfile(linux.seccomp, problems) : null;
  if (!spec.root?.path) problems.push('/root/path: required');
  if (problems.length > 0) throw new ConfigError(CONFIG_FILE, problems);
  return { init, spawn: ns.spawn, warnings, seccomp };
}

function isBindMount(m: { type?: string; options?: string[] }): boolean {
  return m.type === 'bind' || (m.options ?? []).some((o) => o === 'bind' || o === 'rbind');
}

type NamespaceInit = Pick<InitPlan, 'lateUnshareFlags' | 'timeOffsets' | 'joinNamespaces' | 'mountNamespace'>;

/** config-linux.md "Namespaces" -> who creates or joins each namespace, and when. */
function splitNamespaces(linux: Linux, problems: string[]): { init: NamespaceInit; spawn: SpawnPlan } {
  const fresh = new Set<LinuxNamespaceType>();
  const joined = new Map<LinuxNamespaceType, string>();
  (linux.namespaces ?? []).forEach((n, i) => {
    if (!Object.hasOwn(NAMESPACE_FLAGS, n.type)) return void problems.push(`/linux/namespaces/${i}/type: unknown namespace "${n.type}"`);
    if (fresh.has(n.type) || joined.has(n.type)) return void problems.push(`/linux/namespaces/${i}: duplicated namespace "${n.type}"`);
    if (n.path === undefined) return void fresh.add(n.type);
    if (!posix.isAbsolute(n.path)) problems.push(`/linux/namespaces/${i}/path: must be an absolute path`);
    joined.set(n.type, n.path);
  });
  const userPath = joined.get('user');
  let newFlags = 0;
  let lateUnshareFlags = 0;
  for (const t of fresh) {
    // The cgroup namespace must be rooted at the container's cgroup, and time offsets must be
    // written before any process enters: oci-init unshares both once the parent placed it.
    if (t === 'cgroup' || t === 'time') lateUnshareFlags |= NAMESPACE_FLAGS[t];
    else newFlags |= NAMESPACE_FLAGS[t];
  }
  // Namespaces created after joining a user namespace by path must be owned by it: unshare them
  // in the child after setns(user), pid included (a pid namespace owned by the host's user
  // namespace would refuse the container's proc mount); unshare(CLONE_NEWPID) places only the
  // child's children in it, so the addon's child then forks the init into it.
  const cloneFlags = userPath === undefined ? newFlags : 0;
  const spawn: SpawnPlan = {
    cloneFlags,
    unshareFlags: newFlags & ~cloneFlags,
    joinInChild: userPath === undefined ? [] : [{ path: userPath, nstype: L.CLONE_NEWUSER }],
    pidNamespacePath: joined.get('pid') ?? null,
    userNamespace: fresh.has('user'),
    uidMappings: fresh.has('user') ? copyMappings(linux.uidMappings) : [],
    gidMappings: fresh.has('user') ? copyMappings(linux.gidMappings) : [],
  };
  const joinNamespaces: PlanJoin[] = JOIN_ORDER.filter((t) => joined.has(t)).map((t) => ({ path: joined.get(t) as string, nstype: NAMESPACE_FLAGS[t] }));
  const init: NamespaceInit = {
    lateUnshareFlags,
    timeOffsets: timeOffsets(linux, fresh.has('time'), problems),
    joinNamespaces,
    mountNamespace: fresh.has('mount') || joined.has('mount'),
  };
  return { init, spawn };
}

function copyMappings(m: IDMapping[] | undefined): IDMapping[] {
  return (m ?? []).map(({ containerID, hostID, size }) => ({ containerID, hostID, size }));
}

function timeOffsets(linux: Linux, newTimeNs: boolean, problems: string[]): PlanTimeOffset[] {
  const given = linux.timeOffsets ?? {};
  const out: PlanTimeOffset[] = [];
  for (const clock of ['monotonic', 'boottime'] as const) {
    const o = given[clock];
    if (o) out.push({ clock, secs: o.secs ?? 0, nanosecs: o.nanosecs ?? 0 });
  }
  // Offsets can only be written into a namespace created for this container (runc refuses too).
  if (out.length > 0 && !newTimeNs) problems.push('/linux/timeOffsets: set, but the config does not create a new time namespace');
  return out;
}

function rootfsPropagation(linux: Linux, noPivot: boolean, problems: string[]): number {
  const name = linux.rootfsPropagation;
  // runc's default: changes under the host's mounts still reach the container, never the reverse.
  if (name === undefined) return L.MS_REC | L.MS_SLAVE;
  const flags = propagationFlags(name);
  if (flags === undefined) {
    problems.push(`/linux/rootfsPropagation: unknown propagation "${name}"`);
    return 0;
  }
  // Without pivot_root the old root stays reachable; a private rootfs would then hide the host's
  // later unmounts from it and keep them busy (runc refuses the same combination).
  if (noPivot && (flags & L.MS_PRIVATE) !== 0) problems.push('/linux/rootfsPropagation: [r]private is not safe without pivot_root (--no-pivot)');
  return flags;
}

const DEVICE_TYPES: Record<LinuxDevice['type'], number> = { c: L.S_IFCHR, u: L.S_IFCHR, b: L.S_IFBLK, p: L.S_IFIFO };

/** Defaults first, then linux.devices; a config entry replaces the default at the same path. */
function buildDevices(devices: readonly LinuxDevice[], problems: string[]): PlanDevice[] {
  const byPath = new Map<string, PlanDevice>(DEFAULT_DEVICES.map((d) => [d.path, { ...d }]));
  devices.forEach((d, i) => {
    if (!Object.hasOwn(DEVICE_TYPES, d.type)) return void problems.push(`/linux/devices/${i}/type: unknown device type "${d.type}"`);
    const path = containerPath(d.path);
    // fileMode carries permission bits only; the type comes from `type` (runc masks S_IFMT too).
    const perm = d.fileMode === undefined ? 0o666 : d.fileMode & 0o7777;
    byPath.delete(path);
    byPath.set(path, { path, mode: DEVICE_TYPES[d.type] | perm, major: d.major ?? 0, minor: d.minor ?? 0, uid: d.uid ?? 0, gid: d.gid ?? 0 });
  });
  return [...byPath.values()];
}

function planHook(h: Hook): PlanHook {
  return { path: h.path, args: h.args && h.args.length > 0 ? [...h.args] : [h.path], env: [...(h.env ?? [])], timeout: h.timeout ?? 0 };
}

function buildProcess(spec: Spec, linux: Linux, ctx: PlanContext, problems: string[], warnings: string[]): PlanProcess {
  if (!spec.process) problems.push('/process: required to create a container');
  const p: Process = spec.process ?? { cwd: '/' };
  const user = p.user ?? {};
  return {
    args: [...(p.args ?? [])],
    env: [...(p.env ?? [])],
    cwd: containerPath(typeof p.cwd === 'string' ? p.cwd : (problems.push('/process/cwd: required'), '/')),
    terminal: p.terminal ?? false,
    consoleSize: p.consoleSize ? { height: p.consoleSize.height, width: p.consoleSize.width } : null,
    uid: user.uid ?? 0,
    gid: user.gid ?? 0,
    additionalGids: [...(user.additionalGids ?? [])],
    umask: user.umask ?? null,
    capabilities: p.capabilities ? capabilitySets(p.capabilities, ctx.lastCap, problems, warnings) : null,
    rlimits: rlimits(p, ctx, problems),
    noNewPrivileges: p.noNewPrivileges ?? false,
    oomScoreAdj: p.oomScoreAdj ?? null,
    personality: personality(linux, problems),
    scheduler: p.scheduler ? scheduler(p.scheduler, problems) : null,
    ioPriority: p.ioPriority ? ioPriority(p.ioPriority, problems) : null,
    execCPUAffinity: {
      initial: cpuListAt(p.execCPUAffinity?.initial, '/process/execCPUAffinity/initial', problems),
      final: cpuListAt(p.execCPUAffinity?.final, '/process/execCPUAffinity/final', problems),
    },
    apparmorProfile: p.apparmorProfile || null,
    selinuxLabel: p.selinuxLabel || null,
    memoryPolicy: linux.memoryPolicy ? memoryPolicy(linux.memoryPolicy, problems) : null,
    seccomp: null,
  };
}

const CAP_SETS = ['bounding', 'effective', 'inheritable', 'permitted', 'ambient'] as const;

/**
 * Capability names -> numbers. A name that is no capability at all ("CAP_FOO") is a config error.
 * A real capability this kernel does not have (above cap_last_cap) is dropped with a warning:
 * config.md asks runtimes to log capabilities that cannot be granted and not to fail, and clients
 * (docker, podman) send their full known list regardless of the host kernel.
 */
function capabilitySets(caps: NonNullable<Process['capabilities']>, lastCap: number, problems: string[], warnings: string[]): PlanCapabilities {
  const out: PlanCapabilities = { bounding: [], effective: [], inheritable: [], permitted: [], ambient: [] };
  for (const set of CAP_SETS) {
    (caps[set] ?? []).forEach((name, i) => {
      const n = capNumber(name);
      if (n === undefined) return void problems.push(`/process/capabilities/${set}/${i}: unknown capability "${name}"`);
      if (n > lastCap) return void warnings.push(`/process/capabilities/${set}/${i}: ${name} is not supported by this kernel (last capability is ${CAPABILITIES[lastCap] ?? lastCap}); ignored`);
      if (!out[set].includes(n)) out[set].push(n);
    });
  }
  return out;
}

/** A JSON number as an rlimit value: at or above 2^53 it cannot be exact, and the only such value
 *  in practice is RLIM_INFINITY (2^64-1, which JSON.parse rounds to 18446744073709552000). */
function rlimitValue(v: number): string {
  return v >= Number.MAX_SAFE_INTEGER + 1 ? RLIM_INFINITY : String(Math.max(0, Math.trunc(v)));
}

function rlimits(p: Process, ctx: PlanContext, problems: string[]): PlanRlimit[] {
  const out: PlanRlimit[] = [];
  (p.rlimits ?? []).forEach((r, i) => {
    const resource = rlimitNumber(r.type);
    if (resource === undefined) return void problems.push(`/process/rlimits/${i}/type: unknown rlimit "${r.type}"`);
    // config.md: each rlimit type appears once (a second would silently override the first).
    if (out.some((o) => o.resource === resource)) return void problems.push(`/process/rlimits/${i}/type: duplicated rlimit "${r.type}"`);
    const soft = rlimitValue(r.soft);
    const hard = rlimitValue(r.hard);
    // setrlimit(2) would fail with a bare EINVAL inside the container; say which entry is wrong.
    if (BigInt(soft) > BigInt(hard)) return void problems.push(`/process/rlimits/${i}: soft limit ${soft} exceeds hard limit ${hard}`);
    out.push({ resource, soft, hard });
  });
  // Node raised RLIMIT_NOFILE at start-up; the container must see the caller's limit instead.
  if (ctx.nofile && !out.some((o) => o.resource === L.RLIMIT_NOFILE)) {
    out.push({ resource: L.RLIMIT_NOFILE, soft: ctx.nofile.soft, hard: ctx.nofile.hard });
  }
  return out;
}

function rlimitNumber(name: string): number | undefined {
  return name.startsWith('RLIMIT_') ? constant(name) : undefined;
}

/** A LINUX constant by name, undefined when there is none. */
function constant(name: string): number | undefined {
  return Object.hasOwn(L, name) ? L[name as keyof typeof L] : undefined;
}

const PERSONALITY_FLAGS = [
  'UNAME26',
  'ADDR_NO_RANDOMIZE',
  'FDPIC_FUNCPTRS',
  'MMAP_PAGE_ZERO',
  'ADDR_COMPAT_LAYOUT',
  'READ_IMPLIES_EXEC',
  'ADDR_LIMIT_32BIT',
  'SHORT_INODE',
  'WHOLE_SECONDS',
  'STICKY_TIMEOUTS',
  'ADDR_LIMIT_3GB',
];

function personality(linux: Linux, problems: string[]): number | null {
  const p = linux.personality;
  if (!p) return null;
  let value = p.domain === 'LINUX' ? L.PER_LINUX : p.domain === 'LINUX32' ? L.PER_LINUX32 : -1;
  if (value < 0) {
    problems.push(`/linux/personality/domain: unknown domain "${String(p.domain)}"`);
    return null;
  }
  (p.flags ?? []).forEach((f, i) => {
    const bit = PERSONALITY_FLAGS.includes(f) ? constant(f) : undefined;
    if (bit === undefined) problems.push(`/linux/personality/flags/${i}: unknown personality flag "${f}"`);
    else value |= bit;
  });
  return value;
}

function scheduler(s: NonNullable<Process['scheduler']>, problems: string[]): PlanScheduler | null {
  const policy = s.policy.startsWith('SCHED_') && !s.policy.startsWith('SCHED_FLAG_') ? constant(s.policy) : undefined;
  if (policy === undefined) {
    problems.push(`/process/scheduler/policy: unknown policy "${s.policy}"`);
    return null;
  }
  let flags = 0;
  (s.flags ?? []).forEach((f, i) => {
    const bit = f.startsWith('SCHED_FLAG_') ? constant(f) : undefined;
    if (bit === undefined) problems.push(`/process/scheduler/flags/${i}: unknown scheduler flag "${f}"`);
    else flags |= bit;
  });
  const str = (v: number | undefined): string => String(v ?? 0);
  return { policy, nice: s.nice ?? 0, priority: s.priority ?? 0, flags, runtime: str(s.runtime), deadline: str(s.deadline), period: str(s.period) };
}

const IOPRIO_CLASSES: readonly string[] = ['IOPRIO_CLASS_RT', 'IOPRIO_CLASS_BE', 'IOPRIO_CLASS_IDLE'];

function ioPriority(io: NonNullable<Process['ioPriority']>, problems: string[]): number | null {
  const cls = IOPRIO_CLASSES.includes(io.class) ? constant(io.class) : undefined;
  if (cls === undefined) {
    problems.push(`/process/ioPriority/class: unknown class "${io.class}"`);
    return null;
  }
  const prio = io.priority ?? 0;
  // linux/ioprio.h: IOPRIO_PRIO_VALUE(class, data) = class << 13 | data; data above 7 is EINVAL.
  if (!Number.isInteger(prio) || prio < 0 || prio > 7) problems.push('/process/ioPriority/priority: must be an integer from 0 to 7');
  return (cls << L.IOPRIO_CLASS_SHIFT) | (prio & 0x1fff);
}

function cpuListAt(list: string | undefined, at: string, problems: string[]): number[] | null {
  if (list === undefined) return null;
  try {
    return parseCpuList(list);
  } catch (e) {
    problems.push(`${at}: ${(e as Error).message}`);
    return null;
  }
}

/** Expand a kernel cpu list ("0-3,7", as in cpuset.cpus) into sorted CPU numbers. */
export function parseCpuList(list: string): number[] {
  const cpus = new Set<number>();
  const text = list.trim();
  if (text === '') throw new Error('empty cpu list');
  for (const part of text.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m) throw new Error(`invalid cpu list "${list}": "${part}" is not a number or a range`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) throw new Error(`invalid cpu list "${list}": range "${part}" is reversed`);
    if (to >= MAX_CPUS) throw new Error(`invalid cpu list "${list}": cpu ${to} is beyond the kernel's limit of ${MAX_CPUS} cpus`);
    for (let c = from; c <= to; c++) cpus.add(c);
  }
  return [...cpus].sort((a, b) => a - b);
}

/** linux.memoryPolicy -> set_mempolicy(2) arguments. The kernel judges the combination (a node
 *  this host lacks, nodes with MPOL_DEFAULT/MPOL_LOCAL, exclusive flags: EINVAL from oci-init);
 *  here only what cannot be encoded at all is refused, with runc's wording. */
function memoryPolicy(mp: LinuxMemoryPolicy, problems: string[]): PlanMemoryPolicy | null {
  const at = '/linux/memoryPolicy';
  const mode = Object.hasOwn(MPOL_MODES, mp.mode) ? MPOL_MODES[mp.mode] : undefined;
  if (mode === undefined) problems.push(`${at}/mode: invalid memory policy mode ${JSON.stringify(mp.mode)}`);
  let flags = 0;
  (mp.flags ?? []).forEach((f, i) => {
    const bit = Object.hasOwn(MPOL_FLAGS, f) ? MPOL_FLAGS[f] : undefined;
    if (bit === undefined) problems.push(`${at}/flags/${i}: invalid memory policy flag ${JSON.stringify(f)}`);
    else flags |= bit;
  });
  let nodes: number[] = [];
  if (mp.nodes !== undefined && mp.nodes.trim() !== '') {
    try {
      nodes = parseNodeList(mp.nodes);
    } catch (e) {
      problems.push(`${at}/nodes: ${(e as Error).message}`);
    }
  }
  return mode === undefined ? null : { mode: mode | flags, nodes };
}

/** A node list ("0-3,7", as cpuset.mems) -> node numbers, refused beyond the kernel's
 *  MAX_NUMNODES before anything is expanded (runc: "invalid memory policy node"). */
export function parseNodeList(list: string): number[] {
  for (const part of list.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    const last = m ? Number(m[2] ?? m[1]) : NaN;
    if (m && last >= MAX_NUMA_NODES) throw new Error(`invalid memory policy node ${last} in "${list}": the kernel has at most ${MAX_NUMA_NODES} nodes`);
  }
  try {
    return parseCpuList(list);
  } catch (e) {
    throw new Error((e as Error).message.replace('invalid cpu list', 'invalid memory policy node list').replace('empty cpu list', 'empty node list'));
  }
}
