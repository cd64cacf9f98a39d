/**
 * The InitPlan: everything oci-init needs to build the container, decided in TypeScript.
 *
 * spec/plan.ts turns a validated config.json into this (a pure function); process/parent.ts sends it
 * to oci-init as the first sync message (see process/protocol.ts); addon/init/plan.h is the C++
 * mirror and addon/init/plan.cc decodes it. oci-init makes no policy decisions: every flag, number
 * and path here is final. Keep the three files in step.
 *
 * Conventions
 * - Paths inside the container are absolute and normalised ("/a/b", no "." or "..", no trailing
 *   "/"); oci-init resolves them under the rootfs with openat2(RESOLVE_IN_ROOT) and acts on the fd.
 * - Host paths (rootfs, bind sources, hook paths) are absolute.
 * - Numbers that can exceed 2^53 (rlimits, scheduler times) travel as decimal strings.
 * - Optional settings are `null` when the config does not ask for them: oci-init then leaves the
 *   process as it is (it was already reset to a clean state, see addon/init/README.md).
 */

export const PLAN_VERSION = 1;

export interface InitPlan {
  version: typeof PLAN_VERSION;
  /** "create" (the default when absent): build the container. "exec" (`tsrun exec`,
   *  spec/exec-plan.ts): join the running container's namespaces (joinNamespaces, plus user/pid
   *  by the addon), skip the rootfs, names and hooks, and run process after `ready` without the
   *  exec fifo; the exchange follows EXEC_PROTOCOL_ORDER (process/protocol.ts). */
  mode?: 'create' | 'exec';
  /** Exec mode: the container's state JSON (runtime.md "State"), the `state` of the
   *  ContainerProcessState a seccomp NOTIFY listener receives (create mode gets it from `resume`). */
  execState?: string;
  /** Namespaces oci-init unshares itself after the parent sent the plan (so after the parent put it
   *  in its cgroup): CLONE_NEWCGROUP (the cgroup ns root must be the container's cgroup) and
   *  CLONE_NEWTIME (offsets must be written before any process enters; entered at execve). */
  lateUnshareFlags: number;
  /** Written to /proc/self/timens_offsets after unshare(CLONE_NEWTIME). */
  timeOffsets: PlanTimeOffset[];
  /** Namespaces joined by path, opened by oci-init and setns()'d in this order, before anything else
   *  (the addon already handled user and pid; these are the ones it is safe to join here). */
  joinNamespaces: PlanJoin[];
  /** false when the config has no mount namespace: then no rootfs work at all (runc refuses this
   *  case unless the rootfs is "/"; spec/validate.ts decides what is allowed). */
  mountNamespace: boolean;
  rootfs: string;
  /** MS_* propagation applied recursively to "/" first (default MS_REC|MS_SLAVE, as runc). */
  rootfsPropagation: number;
  readonlyRootfs: boolean;
  noPivot: boolean;
  mounts: PlanMount[];
  /** Device nodes to create (defaults first, then linux.devices; a later entry for the same path
   *  replaces an earlier one, already resolved by plan.ts). */
  devices: PlanDevice[];
  /** Bind-mount device nodes from the host instead of mknod (needed inside a user namespace). */
  bindDevices: boolean;
  /** Create /dev/fd, /dev/stdin, /dev/stdout, /dev/stderr, /dev/core (if /proc/kcore exists) and
   *  /dev/ptmx -> pts/ptmx, as runc does when /dev is not bind-mounted from the host. */
  devSymlinks: boolean;
  maskedPaths: string[];
  readonlyPaths: string[];
  /** Written to /proc/sys/<key with . replaced by /> after pivot_root, before masking. */
  sysctl: { key: string; value: string }[];
  hostname: string | null;
  domainname: string | null;
  process: PlanProcess;
  hooks: {
    /** Run by oci-init in the container namespaces, after the mounts, before pivot_root. */
    createContainer: PlanHook[];
    /** Run by oci-init after `start` opened the exec fifo, before execve of process.args. */
    startContainer: PlanHook[];
  };
}

export interface PlanTimeOffset {
  clock: 'monotonic' | 'boottime';
  secs: number;
  nanosecs: number;
}

export interface PlanJoin {
  /** Absolute host path of the namespace file, e.g. /proc/1234/ns/net. */
  path: string;
  /** CLONE_NEW* constant for setns(2) (checks the file is a namespace of that type). */
  nstype: number;
}

export interface PlanMount {
  /** Absolute, normalised destination inside the container. */
  destination: string;
  /** Bind mounts: absolute host path (relative sources were resolved against the bundle).
   *  Others: the source string given to mount(2) (e.g. "proc", "tmpfs", an overlay's "overlay"). */
  source: string;
  /** Filesystem type for mount(2); "" for bind mounts. */
  type: string;
  /** MS_* flags for the first mount(2) call (MS_BIND and MS_REC included for bind/rbind). */
  flags: number;
  /** Filesystem data (comma separated), e.g. "mode=755,size=65536k" or overlay's lowerdir=... */
  data: string;
  /** Bind mounts only: when non-zero, a second call mount(NULL, dst, NULL,
   *  MS_BIND|MS_REMOUNT|remountFlags) makes ro/nosuid/nodev/noexec/atime flags take effect
   *  (a bind ignores them on the first call). oci-init ORs in the flags the kernel locked
   *  (statvfs of the new mount) so the remount cannot fail with EPERM in a user namespace. */
  remountFlags: number;
  /** Propagation changes applied one by one after mounting: mount(NULL, dst, NULL, flag). */
  propagation: number[];
  /** mount_setattr(2) on the new mount for the r* options (rro, rnosuid, ...): set/clear masks of
   *  MOUNT_ATTR_*; applied with AT_RECURSIVE. Zero when unused. */
  attrSet: number;
  attrClr: number;
  /** What to create at the destination if missing: a directory, or an empty file when a bind
   *  source is not a directory (oci-init checks the source on the host: "auto"). */
  createAs: 'dir' | 'file' | 'auto';
  /** Bind mounts only, absent or null when not idmapped (config.md mount options idmap/ridmap,
   *  mounts[].uidMappings/gidMappings): the parent builds the detached idmapped tree of `source` in
   *  the host's user namespace (only there may it idmap a mount) and passes it as `idmapFd`. */
  idmap?: { uidMappings: PlanIdMapping[]; gidMappings: PlanIdMapping[]; recursive: boolean } | null;
  /** oci-init's descriptor of that detached tree: attached at the destination (move_mount) instead
   *  of a fresh bind of `source`, then remountFlags/propagation/attrs as for any bind. Absent or
   *  -1: none. */
  idmapFd?: number;
  /** tmpfs only (runc's `tmpcopyup` option): oci-init fills the new tmpfs with a copy of what the
   *  image has at the destination (type, mode, owner, times kept; symlinks copied, not followed).
   *  A read-only tmpfs (with or without copyUp) is made read-only only when the rootfs is finished,
   *  as runc does. Absent: false. */
  copyUp?: boolean;
}

export interface PlanIdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

export interface PlanDevice {
  /** Absolute, normalised path inside the container (usually under /dev). */
  path: string;
  /** S_IFCHR, S_IFBLK or S_IFIFO ORed with the permission bits (default 0666 as runc). */
  mode: number;
  major: number;
  minor: number;
  uid: number;
  gid: number;
}

export interface PlanRlimit {
  /** RLIMIT_* number. */
  resource: number;
  /** Decimal strings: values reach 2^64-1 (RLIM_INFINITY). */
  soft: string;
  hard: string;
}

export interface PlanCapabilities {
  /** Capability numbers (CAP_CHOWN = 0 ...), already checked against the host's last cap. */
  bounding: number[];
  effective: number[];
  inheritable: number[];
  permitted: number[];
  ambient: number[];
}

export interface PlanProcess {
  args: string[];
  /** KEY=VALUE strings: exactly the container's environment. */
  env: string[];
  /** Absolute, normalised working directory inside the container. */
  cwd: string;
  terminal: boolean;
  /** process.consoleSize: oci-init sets it on the pty it allocates (TIOCSWINSZ) before the
   *  process runs. Absent or null: no size set. */
  consoleSize?: { height: number; width: number } | null;
  uid: number;
  gid: number;
  additionalGids: number[];
  umask: number | null;
  /** null: keep the capabilities as they are (runc behaviour when process.capabilities is absent). */
  capabilities: PlanCapabilities | null;
  /** Configured limits, then the limits Node changed at start-up (RLIMIT_NOFILE) restored to what
   *  the caller had, unless configured: the container never sees Node's values. */
  rlimits: PlanRlimit[];
  noNewPrivileges: boolean;
  oomScoreAdj: number | null;
  /** personality(2) persona: PER_LINUX (0) or PER_LINUX32 (8), ORed with flag bits. */
  personality: number | null;
  scheduler: PlanScheduler | null;
  /** ioprio_set(IOPRIO_WHO_PROCESS, 0, value) with value = class << 13 | priority. */
  ioPriority: number | null;
  /** CPU lists expanded to CPU numbers: `initial` applied to oci-init early, `final` just before
   *  execve of the container process. */
  execCPUAffinity: { initial: number[] | null; final: number[] | null };
  apparmorProfile: string | null;
  selinuxLabel: string | null;
  /** linux.memoryPolicy: set_mempolicy(2) by oci-init before `ready` (the policy survives execve),
   *  for the container's process and for exec'd ones (as runc). Absent or null: left as inherited. */
  memoryPolicy?: PlanMemoryPolicy | null;
  /** Compiled classic BPF (struct sock_filter array, base64) and SECCOMP_FILTER_FLAG_* (issue 5).
   *  buildPlan leaves it null; src/seccomp compileForPlan fills it from BuiltPlan.seccomp. */
  seccomp: PlanSeccomp | null;
}

export interface PlanSeccomp {
  bpf: string;
  /** Passed as is to seccomp(SECCOMP_SET_MODE_FILTER, flags); has SECCOMP_FILTER_FLAG_NEW_LISTENER
   *  exactly when `listener` is set. */
  flags: number;
  /** SCMP_ACT_NOTIFY (config-linux.md "Seccomp"): oci-init connects to `path` (AF_UNIX stream)
   *  before it joins or pivots into the container's mount namespace, and right after loading the
   *  filter sends the notify fd with SCM_RIGHTS and a ContainerProcessState JSON (runtime.md
   *  "ContainerProcessState": ociVersion, fds ["seccompFd"], pid, metadata, state) built from the
   *  start state of `resume`. Absent or null: no listener. */
  listener?: { path: string; metadata: string } | null;
}

export interface PlanMemoryPolicy {
  /** MPOL_* mode (linux/mempolicy.h) ORed with the MPOL_F_* mode flags: set_mempolicy's `mode`. */
  mode: number;
  /** Node numbers (the config's node list expanded), bits of the nodemask; [] for no mask. */
  nodes: number[];
}

export interface PlanScheduler {
  /** SCHED_* number. */
  policy: number;
  nice: number;
  priority: number;
  /** SCHED_FLAG_* bits. */
  flags: number;
  /** Nanoseconds as decimal strings (SCHED_DEADLINE). */
  runtime: string;
  deadline: string;
  period: string;
}

export interface PlanHook {
  path: string;
  /** Full argv, args[0] included (the spec's hook.args); [path] when the config has none. */
  args: string[];
  env: string[];
  /** Seconds; 0 means no timeout. */
  timeout: number;
}
