/**
 * The typed boundary to the C++ addon (addon/src). Everything Node cannot do itself crosses here and
 * nothing else. Errors thrown by these functions look like Node system errors: an Error with
 * `code` ("ENOENT"), `errno` (negative, as Node), `syscall` and, when a path is involved, `path`.
 *
 * src/native/index.ts loads the real addon; src/native/fake.ts records calls for unit tests.
 */

import type { SeccompProfile } from '../seccomp/profile.js';

export interface SpawnInitOptions {
  /** Absolute path of the oci-init binary. The addon copies it once per process into a sealed
   *  memfd (F_SEAL_SEAL|SHRINK|GROW|WRITE) and the child execveat()s that, never the file
   *  (CVE-2019-5736: /proc/<pid>/exe must not be a writable host file). */
  initPath: string;
  /** argv for oci-init (argv[0] included). Its environment is always empty. */
  argv: string[];
  /** CLONE_NEW* flags given to clone3 (namespaces created with the child). */
  cloneFlags: number;
  /** Namespace files to setns() in the clone child, in order, before `unshareFlags` (used for a
   *  user namespace joined by path, which must come before creating the others). */
  joinInChild: { fd: number; nstype: number }[];
  /** CLONE_NEW* flags unshare()d in the clone child after the joins (the namespaces that must be
   *  owned by a joined user namespace). */
  unshareFlags: number;
  /** fd of an existing pid namespace to start the child in: set for children of the calling
   *  thread around clone3 and restored right after. -1 for none. */
  pidNamespaceFd: number;
  /** cgroup v2 directory fd for CLONE_INTO_CGROUP; -1 for none. If the kernel rejects
   *  CLONE_INTO_CGROUP (ENOSYS/E2BIG/EINVAL on old kernels) the addon retries without it and sets
   *  `intoCgroup: false` in the result so the caller writes cgroup.procs instead. */
  cgroupFd: number;
  /** The child's descriptor table: child fd i is a dup of fds[i]. Everything else is closed at
   *  execveat (close_range CLOSE_RANGE_CLOEXEC from fds.length up). */
  fds: number[];
  /** Parent-death signal for the child (prctl PR_SET_PDEATHSIG), 0 for none. */
  pdeathSignal: number;
  /** Called synchronously with the child's pid once it is in its namespaces and waits before
   *  execveat: the caller writes /proc/<pid>/uid_map and gid_map (or runs newuidmap) there. When it
   *  throws, the child is killed and reaped and spawnInit rethrows. */
  beforeExec?: (pid: number) => void;
  /** The child calls setresgid(0,0,0) and setresuid(0,0,0) right before execveat (after
   *  beforeExec): in a user namespace execve keeps capabilities only for the namespace's root. */
  becomeRoot?: boolean;
}

export interface SpawnInitResult {
  pid: number;
  /** pidfd from CLONE_PIDFD (O_CLOEXEC). */
  pidfd: number;
  intoCgroup: boolean;
}

export interface WaitResult {
  /** Exit status when the process exited, else null. */
  exitCode: number | null;
  /** Signal number when it was killed, else null. */
  signal: number | null;
}

export interface CompiledSeccomp {
  /** The classic BPF program: struct sock_filter records (8 bytes each), host byte order. */
  bpf: Buffer;
  /** SECCOMP_FILTER_FLAG_* bits for seccomp(SECCOMP_SET_MODE_FILTER): the profile's flags, plus
   *  NEW_LISTENER when a rule that libseccomp accepted uses SCMP_ACT_NOTIFY (WAIT_KILLABLE_RECV is
   *  dropped without it: the kernel refuses it alone). */
  flags: number;
  /** Syscall names libseccomp does not know: their rules were skipped (as runc skips them). */
  skipped: string[];
  /** Some rule uses SCMP_ACT_NOTIFY: loading returns a notify fd (flags has NEW_LISTENER). */
  notify: boolean;
}

/** A network device that netdevMove put into another namespace. */
export interface MovedNetDevice {
  /** Its name there (a "%d" template completed by the kernel). */
  name: string;
  /** Its interface index there. */
  index: number;
  /** IFF_UP before the move: what a move back restores. */
  wasUp: boolean;
  /** The permanent, global-scope addresses carried over ("10.0.0.2/24", "fd00::2/64"). */
  addresses: string[];
}

export interface Native {
  spawnInit(opts: SpawnInitOptions): SpawnInitResult;
  /** socketpair(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC). */
  socketPair(): [number, number];
  /** mkfifo(path, mode) (mode is masked by the umask as usual). */
  mkfifo(path: string, mode: number): void;
  /** flock(fd, LOCK_EX|LOCK_NB?) ; returns false when nonBlocking and the lock is held elsewhere. */
  flock(fd: number, exclusive: boolean, nonBlocking: boolean): boolean;
  /** pidfd_open(pid, 0) with O_CLOEXEC semantics. */
  pidfdOpen(pid: number): number;
  /** pidfd_send_signal(pidfd, sig, NULL, 0). */
  pidfdSendSignal(pidfd: number, signal: number): void;
  /** Blocking waitid(P_PIDFD, pidfd, WEXITED) in a worker thread; for a child of this process. */
  waitPidfd(pidfd: number): Promise<WaitResult>;
  /** Non-blocking: true once the process behind the pidfd has exited (poll POLLIN, timeout 0). */
  pidfdExited(pidfd: number): boolean;
  /** Blocks up to timeoutMs (-1: forever) until fd is readable or its writers are gone (POLLIN or
   *  POLLHUP); true if it is, false on timeout. */
  pollIn(fd: number, timeoutMs: number): boolean;
  /** Blocks up to timeoutMs until the pidfd's process exits; true if it did. */
  pidfdWait(pidfd: number, timeoutMs: number): boolean;
  /** _exit(code): ends the process without Node's teardown (addon/src/exit.cc). Only for a
   *  process whose output was all written synchronously (src/process/exit.ts). */
  exitNow(code: number): never;
  /** setrlimit/getrlimit on this process, values as decimal strings (RLIM_INFINITY fits). */
  getrlimit(resource: number): { soft: string; hard: string };
  /** sendmsg one fd with SCM_RIGHTS (issue 4: console socket, seccomp listener). */
  sendFd(socketFd: number, fd: number, data: string): void;
  /** recvmsg one fd with SCM_RIGHTS; returns the fd and the data received with it. */
  recvFd(socketFd: number): { fd: number; data: string };
  /** connect(2) a new AF_UNIX SOCK_STREAM socket (O_CLOEXEC) to path; returns its fd. */
  connectUnix(path: string): number;
  /** ioctl(fd, TIOCSWINSZ) with rows/cols (0-65535): the foreground pty proxy forwards its own
   *  terminal's size to the container's pty master. */
  setWinsize(fd: number, rows: number, cols: number): void;
  /** fcntl(fd, F_DUPFD_CLOEXEC, 3): a second descriptor for the same open file. */
  dupFd(fd: number): number;
  /** cfmakeraw on a terminal (output processing off too, unlike setRawMode); returns the previous
   *  termios for ttyRestore. */
  ttyMakeRaw(fd: number): Buffer;
  ttyRestore(fd: number, saved: Buffer): void;
  /** cgroup v2 device filter (src/cgroups/devices-bpf.ts contract): bpf(BPF_PROG_LOAD) of a
   *  BPF_PROG_TYPE_CGROUP_DEVICE program (struct bpf_insn records) and BPF_PROG_ATTACH to the
   *  cgroup directory fd with BPF_F_ALLOW_MULTI, replacing the one attached program atomically
   *  (BPF_F_REPLACE), else attaching then detaching the old ones. The verifier log is the detail. */
  loadDeviceProgram(insns: Buffer, cgroupFd: number): void;
  /** eventfd(0, EFD_CLOEXEC[|EFD_NONBLOCK]): the v1 OOM notification of `events`. */
  eventfd(nonBlocking: boolean): number;
  /** Builds the filter with libseccomp (seccomp_init, seccomp_arch_add, seccomp_rule_add_array)
   *  and exports it with seccomp_export_bpf; nothing is loaded into this process. Throws a
   *  TypeError for a malformed profile, a system error (syscall "seccomp_rule_add", detail naming
   *  the syscall) when libseccomp refuses a rule. */
  compileSeccomp(profile: SeccompProfile): CompiledSeccomp;
  /** The numeric value of a constant the TypeScript side needs (CLONE_NEWNS, MS_BIND, ...),
   *  taken from the C headers so plan.ts never hard-codes a wrong one. Unknown names throw. */
  constants: Record<string, number>;
  /** A detached copy (open_tree OPEN_TREE_CLONE, recursive with rbind) of the host directory
   *  `source`, idmapped (mount_setattr MOUNT_ATTR_IDMAP, on every submount with ridmap) through a
   *  user namespace built with these maps ("containerID hostID size" lines). Made in the host's
   *  user namespace, where the kernel allows it; oci-init attaches it with move_mount. */
  idmappedTree(source: string, uidMap: string, gidMap: string, rbind: boolean, ridmap: boolean): number;
  /** Throws what netdevMove would refuse before touching anything: ENODEV when `name` is not in the
   *  namespace of `fromNsFd`, EEXIST when `newName` (not a "%d" template) is taken in `toNsFd`'s. */
  netdevCheck(name: string, newName: string, fromNsFd: number, toNsFd: number): void;
  /** Moves device `name` from the network namespace of `fromNsFd` into that of `toNsFd`, renamed to
   *  `newName` in the same RTM_NEWLINK (IFLA_NET_NS_FD + IFLA_IFNAME), re-adding its permanent
   *  global addresses there and setting it up when `up`. On failure the device is left, or put
   *  back, where it was. Netlink sockets in other namespaces come from a helper thread's setns(). */
  netdevMove(name: string, newName: string, fromNsFd: number, toNsFd: number, up: boolean): MovedNetDevice;
}
