/**
 * TypeScript types for the OCI runtime-spec v1.3.0 documents tsrun reads and writes:
 * config.json (config.md, config-linux.md), the state (runtime.md "State") and the features
 * document (features.md, features-linux.md).
 *
 * Types only: this file has no run-time code, so importing it costs nothing at start-up.
 * Field names and optionality follow the spec text; numbers the spec declares as 64-bit stay
 * `number` because that is what JSON.parse yields (values past 2^53 lose precision exactly as
 * they would in any JSON reader; plan.ts decides what to do with them).
 * Platforms other than Linux are kept loose (`unknown`): tsrun only runs Linux containers.
 */

/** config.md: the container's configuration (config.json). */
export interface Spec {
  /** SemVer 2.0.0 of the spec the bundle complies with (REQUIRED). */
  ociVersion: string;
  root?: Root;
  mounts?: Mount[];
  /** REQUIRED by `start` (config.md "process"), optional in the document itself. */
  process?: Process;
  hostname?: string;
  domainname?: string;
  hooks?: Hooks;
  annotations?: Record<string, string>;
  linux?: Linux;
  solaris?: unknown;
  windows?: unknown;
  vm?: unknown;
  zos?: unknown;
  freebsd?: unknown;
}

/** config.md "Root". */
export interface Root {
  /** REQUIRED on Linux: absolute or relative to the bundle. */
  path: string;
  readonly?: boolean;
}

/** config.md "Mounts". */
export interface Mount {
  destination: string;
  source?: string;
  options?: string[];
  type?: string;
  /** Idmapped mount (config.md "POSIX-platform Mounts"): both or neither. */
  uidMappings?: IDMapping[];
  gidMappings?: IDMapping[];
}

/** config.md "Process". */
export interface Process {
  terminal?: boolean;
  consoleSize?: ConsoleSize;
  /** config.md lists it for POSIX platforms; runc treats an absent user as uid 0, gid 0, and so
   *  does tsrun (plan.ts). */
  user?: User;
  /** REQUIRED for `create` on Linux (semantic check), at least one element. */
  args?: string[];
  /** Windows only. */
  commandLine?: string;
  env?: string[];
  cwd: string;
  capabilities?: Capabilities;
  rlimits?: POSIXRlimit[];
  noNewPrivileges?: boolean;
  apparmorProfile?: string;
  oomScoreAdj?: number;
  scheduler?: Scheduler;
  selinuxLabel?: string;
  ioPriority?: IOPriority;
  execCPUAffinity?: ExecCPUAffinity;
}

export interface ConsoleSize {
  height: number;
  width: number;
}

/** config.md "User" (POSIX platforms). */
export interface User {
  /** config.md: REQUIRED; absent is taken as 0 (as runc). */
  uid?: number;
  /** config.md: REQUIRED; absent is taken as 0 (as runc). */
  gid?: number;
  umask?: number;
  additionalGids?: number[];
  /** Windows only. */
  username?: string;
}

/** config.md "capabilities": each set is a list of CAP_* names. */
export interface Capabilities {
  effective?: string[];
  bounding?: string[];
  inheritable?: string[];
  permitted?: string[];
  ambient?: string[];
}

/** config.md "rlimits". */
export interface POSIXRlimit {
  /** RLIMIT_* name, e.g. RLIMIT_NOFILE. */
  type: string;
  soft: number;
  hard: number;
}

export type SchedulerPolicy =
  | 'SCHED_OTHER'
  | 'SCHED_FIFO'
  | 'SCHED_RR'
  | 'SCHED_BATCH'
  | 'SCHED_ISO'
  | 'SCHED_IDLE'
  | 'SCHED_DEADLINE';

export type SchedulerFlag =
  | 'SCHED_FLAG_RESET_ON_FORK'
  | 'SCHED_FLAG_RECLAIM'
  | 'SCHED_FLAG_DL_OVERRUN'
  | 'SCHED_FLAG_KEEP_POLICY'
  | 'SCHED_FLAG_KEEP_PARAMS'
  | 'SCHED_FLAG_UTIL_CLAMP_MIN'
  | 'SCHED_FLAG_UTIL_CLAMP_MAX';

/** config.md "scheduler" (sched_setattr(2)). */
export interface Scheduler {
  policy: SchedulerPolicy;
  nice?: number;
  priority?: number;
  flags?: SchedulerFlag[];
  runtime?: number;
  deadline?: number;
  period?: number;
}

export type IOPriorityClass = 'IOPRIO_CLASS_RT' | 'IOPRIO_CLASS_BE' | 'IOPRIO_CLASS_IDLE';

/** config.md "ioPriority" (ioprio_set(2)). */
export interface IOPriority {
  class: IOPriorityClass;
  priority?: number;
}

/** config.md "execCPUAffinity": cpu lists such as "0-3,7". */
export interface ExecCPUAffinity {
  initial?: string;
  final?: string;
}

/** config.md "POSIX-platform Hooks". */
export interface Hook {
  path: string;
  args?: string[];
  env?: string[];
  timeout?: number;
}

export interface Hooks {
  /** Deprecated, still honoured. */
  prestart?: Hook[];
  createRuntime?: Hook[];
  createContainer?: Hook[];
  startContainer?: Hook[];
  poststart?: Hook[];
  poststop?: Hook[];
}

/** config.md / config-linux.md "User namespace mappings". */
export interface IDMapping {
  containerID: number;
  hostID: number;
  size: number;
}

export type LinuxNamespaceType = 'pid' | 'network' | 'mount' | 'ipc' | 'uts' | 'user' | 'cgroup' | 'time';

/** config-linux.md "Namespaces". */
export interface LinuxNamespace {
  type: LinuxNamespaceType;
  path?: string;
}

/** config-linux.md "Offset for Time Namespace". */
export interface LinuxTimeOffset {
  secs?: number;
  nanosecs?: number;
}

export type LinuxDeviceType = 'c' | 'b' | 'u' | 'p';

/** config-linux.md "Devices". */
export interface LinuxDevice {
  type: LinuxDeviceType;
  path: string;
  major?: number;
  minor?: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}

/** config-linux.md "Device allowlist". */
export interface LinuxDeviceCgroup {
  allow: boolean;
  /** 'a' (all), 'c' or 'b'. */
  type?: string;
  major?: number;
  minor?: number;
  /** Any combination of r, w, m. */
  access?: string;
}

export interface LinuxMemory {
  limit?: number;
  reservation?: number;
  swap?: number;
  /** Deprecated (kernel memory limits were removed from the kernel). */
  kernel?: number;
  kernelTCP?: number;
  swappiness?: number;
  disableOOMKiller?: boolean;
  useHierarchy?: boolean;
  checkBeforeUpdate?: boolean;
}

export interface LinuxCPU {
  shares?: number;
  quota?: number;
  burst?: number;
  period?: number;
  realtimeRuntime?: number;
  realtimePeriod?: number;
  cpus?: string;
  mems?: string;
  idle?: number;
}

export interface LinuxWeightDevice {
  major: number;
  minor: number;
  weight?: number;
  leafWeight?: number;
}

export interface LinuxThrottleDevice {
  major: number;
  minor: number;
  rate: number;
}

export interface LinuxBlockIO {
  weight?: number;
  leafWeight?: number;
  weightDevice?: LinuxWeightDevice[];
  throttleReadBpsDevice?: LinuxThrottleDevice[];
  throttleWriteBpsDevice?: LinuxThrottleDevice[];
  throttleReadIOPSDevice?: LinuxThrottleDevice[];
  throttleWriteIOPSDevice?: LinuxThrottleDevice[];
}

export interface LinuxHugepageLimit {
  /** e.g. "2MB", "1GB". */
  pageSize: string;
  limit: number;
}

export interface LinuxInterfacePriority {
  name: string;
  priority: number;
}

export interface LinuxNetwork {
  classID?: number;
  priorities?: LinuxInterfacePriority[];
}

export interface LinuxPids {
  limit: number;
}

export interface LinuxRdma {
  hcaHandles?: number;
  hcaObjects?: number;
}

/** config-linux.md "Control groups" resources. */
export interface LinuxResources {
  devices?: LinuxDeviceCgroup[];
  memory?: LinuxMemory;
  cpu?: LinuxCPU;
  blockIO?: LinuxBlockIO;
  hugepageLimits?: LinuxHugepageLimit[];
  network?: LinuxNetwork;
  pids?: LinuxPids;
  rdma?: Record<string, LinuxRdma>;
  /** cgroup v2 files, key = file name under the container's cgroup. */
  unified?: Record<string, string>;
}

export type LinuxSeccompAction =
  | 'SCMP_ACT_KILL'
  | 'SCMP_ACT_KILL_PROCESS'
  | 'SCMP_ACT_KILL_THREAD'
  | 'SCMP_ACT_TRAP'
  | 'SCMP_ACT_ERRNO'
  | 'SCMP_ACT_TRACE'
  | 'SCMP_ACT_ALLOW'
  | 'SCMP_ACT_LOG'
  | 'SCMP_ACT_NOTIFY';

export type LinuxSeccompOperator =
  | 'SCMP_CMP_NE'
  | 'SCMP_CMP_LT'
  | 'SCMP_CMP_LE'
  | 'SCMP_CMP_EQ'
  | 'SCMP_CMP_GE'
  | 'SCMP_CMP_GT'
  | 'SCMP_CMP_MASKED_EQ';

export type LinuxSeccompFlag =
  | 'SECCOMP_FILTER_FLAG_TSYNC'
  | 'SECCOMP_FILTER_FLAG_LOG'
  | 'SECCOMP_FILTER_FLAG_SPEC_ALLOW'
  | 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV';

export interface LinuxSeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: LinuxSeccompOperator;
}

export interface LinuxSyscall {
  names: string[];
  action: LinuxSeccompAction;
  errnoRet?: number;
  args?: LinuxSeccompArg[];
}

/** config-linux.md "Seccomp". */
export interface LinuxSeccomp {
  defaultAction: LinuxSeccompAction;
  defaultErrnoRet?: number;
  /** SCMP_ARCH_* names. */
  architectures?: string[];
  flags?: LinuxSeccompFlag[];
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: LinuxSyscall[];
}

export type LinuxRootfsPropagation = 'private' | 'shared' | 'slave' | 'unbindable';

/** config-linux.md "IntelRdt". */
export interface LinuxIntelRdt {
  closID?: string;
  schemata?: string[];
  l3CacheSchema?: string;
  memBwSchema?: string;
  enableMonitoring?: boolean;
}

/** config-linux.md "Personality". */
export interface LinuxPersonality {
  /** REQUIRED by the spec text; enforced by validate.ts. */
  domain: 'LINUX' | 'LINUX32';
  flags?: string[];
}

export type LinuxMemoryPolicyMode =
  | 'MPOL_DEFAULT'
  | 'MPOL_BIND'
  | 'MPOL_INTERLEAVE'
  | 'MPOL_WEIGHTED_INTERLEAVE'
  | 'MPOL_PREFERRED'
  | 'MPOL_PREFERRED_MANY'
  | 'MPOL_LOCAL';

export type LinuxMemoryPolicyFlag = 'MPOL_F_NUMA_BALANCING' | 'MPOL_F_RELATIVE_NODES' | 'MPOL_F_STATIC_NODES';

/** config-linux.md "Memory policy" (set_mempolicy(2)). */
export interface LinuxMemoryPolicy {
  mode: LinuxMemoryPolicyMode;
  nodes?: string;
  flags?: LinuxMemoryPolicyFlag[];
}

/** config-linux.md "Network Devices": the map key is the host interface name. */
export interface LinuxNetDevice {
  /** Name inside the container (defaults to the key). */
  name?: string;
}

/** config-linux.md: the `linux` object. */
export interface Linux {
  namespaces?: LinuxNamespace[];
  uidMappings?: IDMapping[];
  gidMappings?: IDMapping[];
  timeOffsets?: { monotonic?: LinuxTimeOffset; boottime?: LinuxTimeOffset };
  devices?: LinuxDevice[];
  netDevices?: Record<string, LinuxNetDevice>;
  cgroupsPath?: string;
  resources?: LinuxResources;
  rootfsPropagation?: LinuxRootfsPropagation;
  seccomp?: LinuxSeccomp;
  sysctl?: Record<string, string>;
  maskedPaths?: string[];
  readonlyPaths?: string[];
  mountLabel?: string;
  intelRdt?: LinuxIntelRdt;
  personality?: LinuxPersonality;
  memoryPolicy?: LinuxMemoryPolicy;
}

export type ContainerStatus = 'creating' | 'created' | 'running' | 'stopped';

/** runtime.md "State": what `tsrun state` prints and what hooks receive on stdin. */
export interface State {
  ociVersion: string;
  id: string;
  status: ContainerStatus;
  /** REQUIRED when status is created or running (on Linux). */
  pid?: number;
  /** Absolute path of the bundle. */
  bundle: string;
  annotations?: Record<string, string>;
}

/** features.md: what this runtime implements (`tsrun features`). */
export interface Features {
  ociVersionMin: string;
  ociVersionMax: string;
  hooks?: string[];
  mountOptions?: string[];
  annotations?: Record<string, string>;
  potentiallyUnsafeConfigAnnotations?: string[];
  linux?: FeaturesLinux;
}

/** features-linux.md. Absent fields mean "unknown", not "unsupported". */
export interface FeaturesLinux {
  namespaces?: LinuxNamespaceType[];
  capabilities?: string[];
  cgroup?: {
    v1?: boolean;
    v2?: boolean;
    systemd?: boolean;
    systemdUser?: boolean;
    rdma?: boolean;
  };
  seccomp?: {
    enabled?: boolean;
    actions?: string[];
    operators?: string[];
    archs?: string[];
    knownFlags?: string[];
    supportedFlags?: string[];
  };
  apparmor?: { enabled?: boolean };
  selinux?: { enabled?: boolean };
  intelRdt?: { enabled?: boolean; schemata?: boolean };
  memoryPolicy?: { modes?: string[]; flags?: string[] };
  mountExtensions?: { idmap?: { enabled?: boolean } };
  netDevices?: { enabled?: boolean };
}
