/**
 * Semantic checks on a config.json that already passed the JSON schema: the rules of
 * runtime-spec v1.3.0 (config.md, config-linux.md) that a schema cannot express, plus the ones runc
 * enforces so that tsrun refuses what runc refuses.
 *
 * Pure functions, no I/O: host-dependent checks (does a capability exist on this kernel, does a
 * namespace path exist) belong to plan.ts and the create path. Every problem is
 * "<json pointer>: <what is wrong>", all of them at once.
 */
import type { Hook, IDMapping, Linux, LinuxNamespaceType, Process, Spec } from './types.js';

/** JSON pointer escaping (RFC 6901), and a NUL shown as \u0000: a raw one would cut the error
 *  message short on a terminal or in a log. */
export function pointerToken(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1').replace(/\0/g, '\\u0000');
}

type Report = (pointer: string, message: string) => void;

function collector(): { problems: string[]; report: Report } {
  const problems: string[] = [];
  return { problems, report: (p, m) => problems.push(`${p}: ${m}`) };
}

/** Every semantic problem of a schema-valid config, for `create`/`run`. */
export function semanticProblems(spec: Spec): string[] {
  const { problems, report } = collector();
  checkVersion(spec, report);
  // config.md "Root": on Linux root is REQUIRED.
  if (spec.root === undefined) report('/root', 'is required on Linux');
  else if (spec.root.path === '') report('/root/path', 'must not be empty');
  // config.md "Process": REQUIRED when start is called; create always leads to start.
  if (spec.process === undefined) report('/process', 'is required to create a container');
  else checkProcess(spec.process, '/process', report);
  checkMounts(spec, report);
  checkHooks(spec, report);
  checkAnnotations(spec.annotations, '/annotations', report);
  checkLinux(spec, spec.linux ?? {}, report);
  for (const [key, value] of Object.entries(spec)) if (key !== 'annotations') checkNul(value, `/${pointerToken(key)}`, report);
  return problems;
}

/** Semantic problems of a process object on its own (exec --process process.json). */
export function processProblems(process: Process, pointer = ''): string[] {
  const { problems, report } = collector();
  checkProcess(process, pointer, report);
  checkNul(process, pointer, report);
  return problems;
}

/**
 * Every string of the config ends up as a C string (a path, an argument, a sysctl value), where
 * a NUL byte would silently cut it short: args ["x\0y"] would run with "x", a masked path
 * "/x\0y" would mask "/x". runc's syscalls refuse such strings (EINVAL); tsrun names the field.
 * Annotations are only ever JSON, so they may hold anything.
 */
function checkNul(value: unknown, at: string, report: Report): void {
  if (typeof value === 'string') {
    if (value.includes('\0')) report(at, 'must not contain a NUL byte');
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => checkNul(v, `${at}/${i}`, report));
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const key = pointerToken(k);
      if (k.includes('\0')) report(`${at}/${key}`, 'the key must not contain a NUL byte');
      checkNul(v, `${at}/${key}`, report);
    }
  }
}

function checkVersion(spec: Spec, report: Report): void {
  // config.md: ociVersion MUST be SemVer 2.0.0; compatibility is only promised within a major.
  const m = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/.exec(spec.ociVersion);
  if (m === null) report('/ociVersion', `must be a SemVer version such as "1.3.0", got ${JSON.stringify(spec.ociVersion)}`);
  else if (m[1] !== '1') report('/ociVersion', `major version ${m[1]} is not supported (tsrun implements runtime-spec 1.x)`);
}

function isAbs(p: string): boolean {
  return p.startsWith('/');
}

function checkProcess(proc: Process, at: string, report: Report): void {
  if (proc.args === undefined) report(`${at}/args`, 'is required on Linux');
  else if (proc.args.length === 0) report(`${at}/args`, 'must contain at least 1 item');
  // config.md: cwd MUST be an absolute path.
  if (!isAbs(proc.cwd)) report(`${at}/cwd`, `must be an absolute path, got ${JSON.stringify(proc.cwd)}`);
  if (proc.oomScoreAdj !== undefined && (proc.oomScoreAdj < -1000 || proc.oomScoreAdj > 1000))
    report(`${at}/oomScoreAdj`, `must be between -1000 and 1000, got ${proc.oomScoreAdj}`);
  checkRlimits(proc, at, report);
  checkCapabilities(proc, at, report);
  checkScheduler(proc, at, report);
  if (proc.ioPriority?.priority !== undefined && (proc.ioPriority.priority < 0 || proc.ioPriority.priority > 7))
    report(`${at}/ioPriority/priority`, `must be between 0 and 7, got ${proc.ioPriority.priority}`);
  for (const key of ['initial', 'final'] as const) {
    const list = proc.execCPUAffinity?.[key];
    if (list !== undefined) checkCpuList(list, `${at}/execCPUAffinity/${key}`, report);
  }
}

/** Linux resource names (getrlimit(2)); runc refuses any other. */
const RLIMITS = new Set([
  'RLIMIT_AS', 'RLIMIT_CORE', 'RLIMIT_CPU', 'RLIMIT_DATA', 'RLIMIT_FSIZE', 'RLIMIT_LOCKS', 'RLIMIT_MEMLOCK',
  'RLIMIT_MSGQUEUE', 'RLIMIT_NICE', 'RLIMIT_NOFILE', 'RLIMIT_NPROC', 'RLIMIT_RSS', 'RLIMIT_RTPRIO',
  'RLIMIT_RTTIME', 'RLIMIT_SIGPENDING', 'RLIMIT_STACK',
]);

function checkRlimits(proc: Process, at: string, report: Report): void {
  const seen = new Map<string, number>();
  (proc.rlimits ?? []).forEach((r, i) => {
    const p = `${at}/rlimits/${i}`;
    if (!RLIMITS.has(r.type)) report(`${p}/type`, `unknown resource ${JSON.stringify(r.type)} (see getrlimit(2))`);
    // config.md: "the runtime MUST generate an error for any duplicate entries" of the same type.
    const first = seen.get(r.type);
    if (first !== undefined) report(`${p}/type`, `duplicate rlimit ${r.type} (also at ${at}/rlimits/${first})`);
    else seen.set(r.type, i);
    // setrlimit(2) fails with EINVAL when soft > hard; say so before anything is created.
    if (r.soft > r.hard) report(`${p}/soft`, `must not exceed hard (${r.soft} > ${r.hard})`);
  });
}

function checkCapabilities(proc: Process, at: string, report: Report): void {
  const caps = proc.capabilities;
  if (caps === undefined) return;
  for (const set of ['effective', 'bounding', 'inheritable', 'permitted', 'ambient'] as const) {
    (caps[set] ?? []).forEach((name, i) => {
      // Whether the running kernel knows the name is decided later (plan.ts), not here.
      if (!/^CAP_[A-Z0-9_]+$/.test(name)) report(`${at}/capabilities/${set}/${i}`, `must be a capability name like CAP_CHOWN, got ${JSON.stringify(name)}`);
    });
  }
}

function checkScheduler(proc: Process, at: string, report: Report): void {
  const s = proc.scheduler;
  if (s === undefined) return;
  const p = `${at}/scheduler`;
  if (s.nice !== undefined && (s.nice < -20 || s.nice > 19)) report(`${p}/nice`, `must be between -20 and 19, got ${s.nice}`);
  const realtime = s.policy === 'SCHED_FIFO' || s.policy === 'SCHED_RR';
  const prio = s.priority ?? 0;
  // sched(7): static priority is 1..99 for SCHED_FIFO/SCHED_RR and 0 for every other policy.
  if (realtime && (prio < 1 || prio > 99)) report(`${p}/priority`, `must be between 1 and 99 for ${s.policy}, got ${prio}`);
  if (!realtime && prio !== 0) report(`${p}/priority`, `must be 0 for ${s.policy} (only SCHED_FIFO and SCHED_RR take a priority)`);
  const runtime = s.runtime ?? 0;
  const deadline = s.deadline ?? 0;
  const period = s.period ?? 0;
  if (s.policy !== 'SCHED_DEADLINE') {
    if (runtime !== 0 || deadline !== 0 || period !== 0) report(p, 'runtime, deadline and period only apply to SCHED_DEADLINE');
    return;
  }
  // sched_setattr(2): SCHED_DEADLINE needs 0 < runtime <= deadline <= period (period 0 = deadline).
  if (runtime === 0) report(`${p}/runtime`, 'is required for SCHED_DEADLINE');
  if (deadline === 0) report(`${p}/deadline`, 'is required for SCHED_DEADLINE');
  if (runtime > deadline && deadline !== 0) report(`${p}/runtime`, `must not exceed deadline (${runtime} > ${deadline})`);
  if (period !== 0 && deadline > period) report(`${p}/deadline`, `must not exceed period (${deadline} > ${period})`);
}

/** cpuset list syntax (cpuset(7) "List format"): "0-3,7", ranges ascending. Empty means unset. */
function checkCpuList(list: string, at: string, report: Report): void {
  if (list.trim() === '') return;
  for (const part of list.split(',')) {
    const m = /^\s*(\d+)(?:\s*-\s*(\d+))?\s*$/.exec(part);
    if (m === null) {
      report(at, `must be a CPU list like "0-3,7", got ${JSON.stringify(list)}`);
      return;
    }
    if (m[2] !== undefined && Number(m[2]) < Number(m[1])) {
      report(at, `range ${m[1]}-${m[2]} is descending in ${JSON.stringify(list)}`);
      return;
    }
  }
}

function checkMounts(spec: Spec, report: Report): void {
  (spec.mounts ?? []).forEach((m, i) => {
    const p = `/mounts/${i}`;
    // config.md (v1.3.0): destination SHOULD be absolute; a relative one is deprecated but MUST be
    // taken as relative to "/", so only an empty destination is refused.
    if (m.destination === '') report(`${p}/destination`, 'must not be empty');
    // config.md "POSIX-platform Mounts": idmapped mounts need both uidMappings and gidMappings.
    if ((m.uidMappings === undefined) !== (m.gidMappings === undefined))
      report(p, 'uidMappings and gidMappings must be given together');
    if (m.uidMappings !== undefined) checkMappings(m.uidMappings, `${p}/uidMappings`, report);
    if (m.gidMappings !== undefined) checkMappings(m.gidMappings, `${p}/gidMappings`, report);
  });
}

const HOOK_STAGES = ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'] as const;

function checkHooks(spec: Spec, report: Report): void {
  // Only the defined stages: unknown properties are ignored (config.md "Extensibility").
  for (const stage of HOOK_STAGES) {
    (spec.hooks?.[stage] ?? []).forEach((h: Hook, i) => {
      // config.md "POSIX-platform Hooks": path MUST be absolute (resolved in the runtime namespace).
      if (!isAbs(h.path)) report(`/hooks/${stage}/${i}/path`, `must be an absolute path, got ${JSON.stringify(h.path)}`);
    });
  }
}

function checkAnnotations(map: Record<string, string> | undefined, at: string, report: Report): void {
  // config.md "Annotations": keys MUST NOT be an empty string.
  if (map !== undefined && Object.prototype.hasOwnProperty.call(map, '')) report(at, 'keys must not be empty');
}

/** Kernel limit on lines in uid_map/gid_map (user_namespaces(7), since Linux 4.15). */
const MAX_MAP_LINES = 340;
const ID_SPACE = 2 ** 32;

/** user_namespaces(7): each line maps a range; ranges may not overlap in either column. */
function checkMappings(maps: IDMapping[], at: string, report: Report): void {
  if (maps.length > MAX_MAP_LINES) report(at, `at most ${MAX_MAP_LINES} mappings are allowed, got ${maps.length}`);
  maps.forEach((m, i) => {
    if (m.size === 0) report(`${at}/${i}/size`, 'must be at least 1');
    if (m.containerID + m.size > ID_SPACE) report(`${at}/${i}`, 'containerID + size exceeds the 32-bit ID space');
    if (m.hostID + m.size > ID_SPACE) report(`${at}/${i}`, 'hostID + size exceeds the 32-bit ID space');
    for (let j = 0; j < i; j++) {
      const o = maps[j]!;
      if (overlaps(m.containerID, m.size, o.containerID, o.size)) report(`${at}/${i}`, `containerID range overlaps ${at}/${j}`);
      if (overlaps(m.hostID, m.size, o.hostID, o.size)) report(`${at}/${i}`, `hostID range overlaps ${at}/${j}`);
    }
  });
}

function overlaps(a: number, an: number, b: number, bn: number): boolean {
  return an > 0 && bn > 0 && a < b + bn && b < a + an;
}

function checkLinux(spec: Spec, linux: Linux, report: Report): void {
  const ns = checkNamespaces(linux, report);
  checkUserNamespace(linux, ns, report);
  checkTimeNamespace(linux, ns, report);
  // config-linux.md "Namespaces" uts: without a private UTS namespace the hostname would be the host's.
  if (spec.hostname !== undefined && spec.hostname !== '' && !ns.has('uts'))
    report('/hostname', 'cannot be set without a uts namespace in /linux/namespaces');
  if (spec.domainname !== undefined && spec.domainname !== '' && !ns.has('uts'))
    report('/domainname', 'cannot be set without a uts namespace in /linux/namespaces');
  if (!ns.has('mount') && spec.root !== undefined && spec.root.path.replace(/\/+$/, '') !== '')
    report('/linux/namespaces', 'a mount namespace is required (only a root.path of "/" can run without one)');
  checkDevices(linux, report);
  checkSysctl(linux, ns, report);
  checkPathList(linux.maskedPaths, '/linux/maskedPaths', report);
  checkPathList(linux.readonlyPaths, '/linux/readonlyPaths', report);
  checkNetDevices(linux, ns, report);
  checkMisc(linux, report);
}

/** Returns the namespace types listed, with their entries, and reports duplicates and bad paths. */
function checkNamespaces(linux: Linux, report: Report): Map<LinuxNamespaceType, { path?: string }> {
  const seen = new Map<LinuxNamespaceType, { path?: string; index: number }>();
  (linux.namespaces ?? []).forEach((n, i) => {
    const first = seen.get(n.type);
    // config-linux.md "Namespaces": a type MUST NOT appear twice.
    if (first !== undefined) report(`/linux/namespaces/${i}/type`, `duplicate namespace "${n.type}" (also at /linux/namespaces/${first.index})`);
    else seen.set(n.type, { path: n.path, index: i });
    // config-linux.md: path MUST be an absolute path in the runtime mount namespace.
    if (n.path !== undefined && !isAbs(n.path)) report(`/linux/namespaces/${i}/path`, `must be an absolute path, got ${JSON.stringify(n.path)}`);
  });
  return seen;
}

function checkUserNamespace(linux: Linux, ns: Map<LinuxNamespaceType, { path?: string }>, report: Report): void {
  const user = ns.get('user');
  const hasUid = (linux.uidMappings ?? []).length > 0;
  const hasGid = (linux.gidMappings ?? []).length > 0;
  if (user === undefined) {
    // Mappings only mean something for a new user namespace (runc refuses them otherwise too).
    if (hasUid) report('/linux/uidMappings', 'needs a user namespace in /linux/namespaces');
    if (hasGid) report('/linux/gidMappings', 'needs a user namespace in /linux/namespaces');
  } else if (user.path === undefined) {
    // config-linux.md "User namespace mappings": a new user namespace needs both maps written.
    if (!hasUid) report('/linux/uidMappings', 'is required with a new user namespace');
    if (!hasGid) report('/linux/gidMappings', 'is required with a new user namespace');
  }
  if (linux.uidMappings !== undefined) checkMappings(linux.uidMappings, '/linux/uidMappings', report);
  if (linux.gidMappings !== undefined) checkMappings(linux.gidMappings, '/linux/gidMappings', report);
}

function checkTimeNamespace(linux: Linux, ns: Map<LinuxNamespaceType, { path?: string }>, report: Report): void {
  const offsets = linux.timeOffsets;
  if (offsets === undefined) return;
  const time = ns.get('time');
  // config-linux.md "Offset for Time Namespace": offsets apply to a new time namespace only;
  // an existing one already has its offsets fixed (time_namespaces(7)).
  if (time === undefined) report('/linux/timeOffsets', 'needs a time namespace in /linux/namespaces');
  else if (time.path !== undefined) report('/linux/timeOffsets', 'cannot be set when joining an existing time namespace');
  for (const clock of ['monotonic', 'boottime'] as const) {
    const n = offsets[clock]?.nanosecs;
    if (n !== undefined && n >= 1e9) report(`/linux/timeOffsets/${clock}/nanosecs`, `must be below 1000000000, got ${n}`);
  }
}

function checkDevices(linux: Linux, report: Report): void {
  (linux.devices ?? []).forEach((d, i) => {
    const p = `/linux/devices/${i}`;
    if (!isAbs(d.path)) report(`${p}/path`, `must be an absolute path, got ${JSON.stringify(d.path)}`);
    // config-linux.md "Devices": major/minor are REQUIRED unless type is p (a FIFO has no numbers).
    if (d.type !== 'p') {
      if (d.major === undefined) report(`${p}/major`, `is required for type "${d.type}"`);
      if (d.minor === undefined) report(`${p}/minor`, `is required for type "${d.type}"`);
    }
  });
  (linux.resources?.devices ?? []).forEach((r, i) => {
    const p = `/linux/resources/devices/${i}`;
    if (r.type !== undefined && !['a', 'b', 'c'].includes(r.type)) report(`${p}/type`, `must be one of a, b, c, got ${JSON.stringify(r.type)}`);
    if (r.access !== undefined && !/^[rwm]*$/.test(r.access)) report(`${p}/access`, `must combine r, w and m, got ${JSON.stringify(r.access)}`);
  });
}

/** IPC sysctls that live in the ipc namespace (ipc_namespaces(7), as runc's list). */
const IPC_SYSCTLS = new Set([
  'kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni',
  'kernel.shm_rmid_forced',
]);

/** Which namespace a sysctl belongs to; null when it is not namespaced (would change the host). */
function sysctlNamespace(key: string): LinuxNamespaceType | null {
  if (key.startsWith('net.')) return 'network';
  if (IPC_SYSCTLS.has(key) || key.startsWith('fs.mqueue.')) return 'ipc';
  if (key === 'kernel.domainname') return 'uts';
  return null;
}

function checkSysctl(linux: Linux, ns: Map<LinuxNamespaceType, unknown>, report: Report): void {
  for (const rawKey of Object.keys(linux.sysctl ?? {})) {
    const at = `/linux/sysctl/${pointerToken(rawKey)}`;
    // Keys may use "/" instead of "." (sysctl(8) accepts both).
    const key = rawKey.replace(/\//g, '.');
    // runc refuses it too: the value would fight the dedicated hostname field.
    if (key === 'kernel.hostname') {
      report(at, 'is not allowed: set /hostname instead');
      continue;
    }
    const want = sysctlNamespace(key);
    // Writing a sysctl that is not namespaced, or whose namespace is the host's, changes the host.
    if (want === null) report(at, 'is not allowed: not a namespaced sysctl (net.*, fs.mqueue.*, kernel.shm*/msg*/sem, kernel.domainname)');
    else if (!ns.has(want)) report(at, `needs a ${want} namespace in /linux/namespaces`);
  }
}

function checkPathList(paths: string[] | undefined, at: string, report: Report): void {
  // config-linux.md: masked and readonly paths MUST be absolute paths in the container namespace.
  (paths ?? []).forEach((p, i) => {
    if (!isAbs(p)) report(`${at}/${i}`, `must be an absolute path, got ${JSON.stringify(p)}`);
  });
}

/** netdevice(7) name rules: at most 15 bytes, not "." or "..", no "/", ":" or whitespace. */
function badIfName(name: string): boolean {
  return name === '' || name === '.' || name === '..' || Buffer.byteLength(name) > 15 || /[/:\s]/.test(name);
}

function checkNetDevices(linux: Linux, ns: Map<LinuxNamespaceType, unknown>, report: Report): void {
  const devs = linux.netDevices;
  if (devs === undefined) return;
  // config-linux.md "Network Devices": devices are moved into the container's network namespace.
  if (Object.keys(devs).length > 0 && !ns.has('network')) report('/linux/netDevices', 'needs a network namespace in /linux/namespaces');
  const names = new Map<string, string>();
  for (const [host, dev] of Object.entries(devs)) {
    const at = `/linux/netDevices/${pointerToken(host)}`;
    if (badIfName(host) || host.includes('%')) report(at, `${JSON.stringify(host)} is not a valid interface name`);
    if (dev.name !== undefined && badIfName(dev.name)) report(`${at}/name`, `${JSON.stringify(dev.name)} is not a valid interface name`);
    // The kernel completes one "%d" in a name (net/core/dev.c dev_prep_valid_name); any other "%" is EINVAL.
    else if (dev.name?.includes('%') && !/^[^%]*%d[^%]*$/.test(dev.name)) report(`${at}/name`, `${JSON.stringify(dev.name)}: a name template takes exactly one "%d"`);
    // Two devices cannot share a name in the container; a "%d" template is completed per device.
    const name = dev.name || host;
    const other = names.get(name);
    if (other !== undefined && !name.includes('%')) report(`${at}/name`, `${JSON.stringify(name)} is also the container name of "${other}"`);
    names.set(name, host);
  }
}

function checkMisc(linux: Linux, report: Report): void {
  const pers = linux.personality;
  if (pers !== undefined) {
    // config-linux.md "Personality": domain is REQUIRED; no flag values are defined yet.
    if (pers.domain === undefined) report('/linux/personality/domain', 'is required (LINUX or LINUX32)');
    if ((pers.flags ?? []).length > 0) report('/linux/personality/flags', 'no personality flags are supported');
  }
  const mp = linux.memoryPolicy;
  if (mp !== undefined) {
    // config-linux.md "Memory policy": mode is REQUIRED; nodes use the cpuset list format.
    if (mp.mode === undefined) report('/linux/memoryPolicy/mode', 'is required');
    if (mp.nodes !== undefined) checkCpuList(mp.nodes, '/linux/memoryPolicy/nodes', report);
  }
  checkAnnotations(linux.sysctl, '/linux/sysctl', report);
  checkAnnotations(linux.resources?.unified, '/linux/resources/unified', report);
  const sc = linux.seccomp;
  // config-linux.md "Seccomp": SCMP_ACT_NOTIFY hands the listener fd to listenerPath, so it needs one.
  if (sc !== undefined && (sc.listenerPath ?? '') === '' && (sc.defaultAction === 'SCMP_ACT_NOTIFY' || (sc.syscalls ?? []).some((s) => s.action === 'SCMP_ACT_NOTIFY')))
    report('/linux/seccomp/listenerPath', 'is required when SCMP_ACT_NOTIFY is used');
}
