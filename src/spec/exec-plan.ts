/**
 * `tsrun exec` -> an exec-mode InitPlan: a pure conversion, like spec/plan.ts, whose buildPlan it
 * reuses for the process part (capabilities, rlimits, scheduler, ... are converted exactly as for
 * the container's own process).
 *
 * The process spec comes from --process FILE or from the container's own process with the
 * command-line overrides; fields the file leaves out fall back to the container's (as runc's
 * newInitConfig: capabilities, noNewPrivileges, apparmor/selinux labels, rlimits, scheduler,
 * ioPriority). The environment is never the caller's (SECURITY.md #1/#5): only the container's
 * env plus --env.
 */
import type { CgroupState } from '../cgroups/types.js';
import { ConfigError, UsageError } from '../errors.js';
import type { InitPlan } from './plan-types.js';
import { PLAN_VERSION } from './plan-types.js';
import type { BuiltPlan, PlanContext } from './plan.js';
import type { LinuxMemoryPolicy, LinuxNamespaceType, LinuxPersonality, LinuxSeccomp, Process, Spec } from './types.js';
import { LINUX as L } from './linux-constants.js';

/** What exec needs of the container's config, stored in state.json at create (StateFile.exec):
 *  the bundle's config.json may have changed or gone since. */
export interface ExecDefaults {
  process: Process | null;
  /** Namespace types the container has (created or joined by path). */
  namespaces: LinuxNamespaceType[];
  seccomp: LinuxSeccomp | null;
  personality: LinuxPersonality | null;
  /** linux.memoryPolicy: exec'd processes get it too, as runc's (absent in older states). */
  memoryPolicy?: LinuxMemoryPolicy | null;
  ociVersion: string;
}

export function execDefaults(spec: Spec): ExecDefaults {
  return {
    process: spec.process ?? null,
    namespaces: (spec.linux?.namespaces ?? []).map((n) => n.type),
    seccomp: spec.linux?.seccomp ?? null,
    personality: spec.linux?.personality ?? null,
    memoryPolicy: spec.linux?.memoryPolicy ?? null,
    ociVersion: spec.ociVersion,
  };
}

/** The process-related command-line flags of `tsrun exec`. */
export interface ExecFlags {
  /** The command and its arguments (positional words after the id). */
  args: string[];
  tty: boolean;
  env: string[];
  cwd?: string;
  /** --user uid[:gid] as typed. */
  user?: string;
  additionalGids: string[];
  caps: string[];
  /** --no-new-privs when given; undefined keeps the container's setting. */
  noNewPrivs?: boolean;
  apparmor?: string;
  processLabel?: string;
}

const UINT32_MAX = 0xffffffff;

function parseId(text: string, what: string): number {
  // runc: strconv.Atoi; a uid must fit uint32 (the kernel's uid_t), never wrap.
  if (!/^\d+$/.test(text) || Number(text) > UINT32_MAX) throw new UsageError(`parsing ${text} as int for ${what} failed: invalid syntax`);
  return Number(text);
}

/** --user "uid[:gid]": exactly those numbers (a missing gid keeps the process's gid, as runc). */
export function parseUser(text: string): { uid: number; gid?: number } {
  const [u, g, extra] = text.split(':');
  if (extra !== undefined) throw new UsageError(`--user: expected <uid>[:<gid>], got ${JSON.stringify(text)}`);
  const uid = parseId(u ?? '', 'uid');
  return g === undefined ? { uid } : { uid, gid: parseId(g, 'gid') };
}

/** The exec'd process from the container's process and the command-line flags (runc getProcess). */
export function processFromFlags(defaults: ExecDefaults, f: ExecFlags): Process {
  if (f.args.length === 0) throw new UsageError('exec: <command> is required unless --process is given');
  const base: Process = structuredClone(defaults.process ?? { cwd: '/' });
  const p: Process = { ...base, args: [...f.args], terminal: f.tty, env: mergeEnv(base.env ?? [], f.env) };
  delete p.consoleSize;
  if (f.cwd !== undefined) p.cwd = f.cwd;
  if (f.apparmor) p.apparmorProfile = f.apparmor;
  if (f.processLabel) p.selinuxLabel = f.processLabel;
  if (f.noNewPrivs !== undefined) p.noNewPrivileges = f.noNewPrivs;
  const user = { ...(p.user ?? {}) };
  if (f.user !== undefined) Object.assign(user, parseUser(f.user));
  const gids = f.additionalGids.map((g) => {
    if (!/^\d+$/.test(g)) throw new UsageError(`additional-gids must be a positive number ${g}`);
    return parseId(g, 'additional-gids');
  });
  if (gids.length > 0) user.additionalGids = [...(user.additionalGids ?? []), ...gids];
  p.user = user;
  if (f.caps.length > 0) p.capabilities = addCaps(p.capabilities, f.caps);
  return p;
}

/** --env KEY=V replaces the container's KEY where it stands and appends new keys: runc's init
 *  sets each with os.Setenv, so the last value of a key is the one the process sees. */
function mergeEnv(base: readonly string[], add: readonly string[]): string[] {
  const out = [...base];
  const key = (e: string): string => (e.includes('=') ? e.slice(0, e.indexOf('=')) : e);
  for (const e of add) {
    const i = out.findIndex((o) => key(o) === key(e));
    if (i >= 0) out[i] = e;
    else out.push(e);
  }
  return out;
}

/** --cap X: added to bounding, effective and permitted only. Never inheritable or ambient: the
 *  caller asked for the process's own privileges, not for ones it passes on through execve of
 *  non-privileged files (CVE-2022-29162). */
function addCaps(caps: Process['capabilities'], add: string[]): NonNullable<Process['capabilities']> {
  const out = structuredClone(caps ?? {});
  for (const set of ['bounding', 'effective', 'permitted'] as const) {
    const list = out[set] ?? [];
    for (const c of add) if (!list.includes(c)) list.push(c);
    out[set] = list;
  }
  return out;
}

/** --process FILE: taken as given; what it leaves unset falls back to the container's. */
export function processFromFile(defaults: ExecDefaults, file: Process): Process {
  const d = defaults.process ?? { cwd: '/' };
  const p: Process = { ...file };
  p.capabilities ??= d.capabilities;
  p.noNewPrivileges ??= d.noNewPrivileges;
  p.apparmorProfile ||= d.apparmorProfile;
  p.selinuxLabel ||= d.selinuxLabel;
  if (!p.rlimits || p.rlimits.length === 0) p.rlimits = d.rlimits;
  p.scheduler ??= d.scheduler;
  p.ioPriority ??= d.ioPriority;
  for (const k of Object.keys(p) as (keyof Process)[]) if (p[k] === undefined) delete p[k];
  return p;
}

/** Host facts and the container's init the plan is built against. */
export interface ExecContext extends Omit<PlanContext, 'bundle' | 'noPivot'> {
  /** Host pid of the container's init: its /proc/<pid>/ns/* are joined. */
  initPid: number;
  rootfs: string;
  bundle: string;
}

export interface ExecSpawn {
  /** The container's user namespace, joined in the clone child (before everything else). */
  joinInChild: { path: string; nstype: number }[];
  /** The container's pid namespace: the process appears inside it. */
  pidNamespacePath: string | null;
  /** Joined a user namespace: become its root before execveat of oci-init (capabilities(7)). */
  becomeRoot: boolean;
}

export interface ExecPlan {
  init: InitPlan;
  spawn: ExecSpawn;
  seccomp: BuiltPlan['seccomp'];
  warnings: string[];
}

const PROC_NS: Record<LinuxNamespaceType, string> = {
  pid: 'pid', network: 'net', mount: 'mnt', ipc: 'ipc', uts: 'uts', user: 'user', cgroup: 'cgroup', time: 'time',
};
const NS_FLAG: Record<LinuxNamespaceType, number> = {
  pid: L.CLONE_NEWPID, network: L.CLONE_NEWNET, mount: L.CLONE_NEWNS, ipc: L.CLONE_NEWIPC,
  uts: L.CLONE_NEWUTS, user: L.CLONE_NEWUSER, cgroup: L.CLONE_NEWCGROUP, time: L.CLONE_NEWTIME,
};
/** oci-init opens every path before the first setns, so the order only matters to the kernel's
 *  permission checks, all made in the (already joined) user namespace. Mount last, as runc. */
const EXEC_JOIN_ORDER: LinuxNamespaceType[] = ['ipc', 'uts', 'network', 'cgroup', 'time', 'mount'];

type BuildPlan = (spec: Spec, ctx: PlanContext) => BuiltPlan;

/** The exec-mode InitPlan for `process` in the container described by `defaults`. The process is
 *  converted by buildPlan (so a bad field is reported as for create, with "process.json" or
 *  "config.json" naming where it came from). */
export function buildExecPlan(defaults: ExecDefaults, process: Process, ctx: ExecContext, buildPlan: BuildPlan, file = 'process.json'): ExecPlan {
  const linux: Spec['linux'] = {};
  if (defaults.seccomp) linux.seccomp = defaults.seccomp;
  if (defaults.personality) linux.personality = defaults.personality;
  if (defaults.memoryPolicy) linux.memoryPolicy = defaults.memoryPolicy;
  const spec: Spec = { ociVersion: defaults.ociVersion, root: { path: ctx.rootfs }, process, linux };
  let built: BuiltPlan;
  try {
    built = buildPlan(spec, { ...ctx, bundle: ctx.bundle, noPivot: false });
  } catch (e) {
    // buildPlan names fields from the config's root; a process.json's root is the process.
    if (e instanceof ConfigError) throw new ConfigError(file, file === 'process.json' ? e.problems.map((x) => x.replace(/^\/process(?=\/)/, '')) : e.problems);
    throw e;
  }
  const has = new Set(defaults.namespaces);
  const nsPath = (t: LinuxNamespaceType) => `/proc/${ctx.initPid}/ns/${PROC_NS[t]}`;
  const init: InitPlan = {
    version: PLAN_VERSION,
    mode: 'exec',
    lateUnshareFlags: 0,
    timeOffsets: [],
    joinNamespaces: EXEC_JOIN_ORDER.filter((t) => has.has(t)).map((t) => ({ path: nsPath(t), nstype: NS_FLAG[t] })),
    mountNamespace: false,
    rootfs: ctx.rootfs,
    rootfsPropagation: 0,
    readonlyRootfs: false,
    noPivot: false,
    mounts: [],
    devices: [],
    bindDevices: false,
    devSymlinks: false,
    maskedPaths: [],
    readonlyPaths: [],
    sysctl: [],
    hostname: null,
    domainname: null,
    process: built.init.process,
    hooks: { createContainer: [], startContainer: [] },
  };
  return {
    init,
    spawn: {
      joinInChild: has.has('user') ? [{ path: nsPath('user'), nstype: L.CLONE_NEWUSER }] : [],
      pidNamespacePath: has.has('pid') ? nsPath('pid') : null,
      becomeRoot: has.has('user'),
    },
    seccomp: built.seccomp,
    warnings: built.warnings,
  };
}

/** --cgroup [<controller>:]<path>: an existing sub-cgroup of the container's cgroup(s). A bare
 *  path applies to every hierarchy; "controller:path" to that controller only (v1). */
export function subCgroupState(cg: CgroupState, spec: string): CgroupState {
  const colon = spec.indexOf(':');
  const controller = colon >= 0 ? spec.slice(0, colon) : null;
  const sub = colon >= 0 ? spec.slice(colon + 1) : spec;
  const parts = sub.split('/').filter((s) => s !== '' && s !== '.');
  // The process must stay inside the container's cgroup: no way up, no absolute escape.
  if (parts.length === 0 || parts.includes('..')) throw new UsageError(`--cgroup: invalid sub-cgroup ${JSON.stringify(spec)}`);
  if (cg.mode === 'v2' && controller !== null && controller !== '') {
    throw new UsageError(`--cgroup: controller ${JSON.stringify(controller)} given, but the host uses cgroup v2 (use a plain path)`);
  }
  if (controller && !Object.hasOwn(cg.paths, controller)) throw new UsageError(`--cgroup: the container has no ${controller} cgroup`);
  const paths: Record<string, string> = {};
  for (const [k, dir] of Object.entries(cg.paths)) paths[k] = controller === null || controller === '' || k === controller ? `${dir}/${parts.join('/')}` : dir;
  return { mode: cg.mode, paths };
}
