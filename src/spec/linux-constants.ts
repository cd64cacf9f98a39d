/**
 * Numeric Linux constants the plan needs, with their x86_64 (generic Linux ABI) values.
 *
 * Names are exactly the C names so test/unit/plan-constants.test.ts can compare every entry with
 * the values the addon takes from the C headers (`native().constants`). Every value here fits in
 * 31 bits, so JavaScript's 32-bit bitwise operators are safe on them.
 */
export const LINUX = {
  // clone(2) / unshare(2) / setns(2) namespace flags (linux/sched.h).
  CLONE_NEWTIME: 0x00000080,
  CLONE_NEWNS: 0x00020000,
  CLONE_NEWCGROUP: 0x02000000,
  CLONE_NEWUTS: 0x04000000,
  CLONE_NEWIPC: 0x08000000,
  CLONE_NEWUSER: 0x10000000,
  CLONE_NEWPID: 0x20000000,
  CLONE_NEWNET: 0x40000000,

  // mount(2) flags (linux/mount.h).
  MS_RDONLY: 1,
  MS_NOSUID: 2,
  MS_NODEV: 4,
  MS_NOEXEC: 8,
  MS_SYNCHRONOUS: 16,
  MS_REMOUNT: 32,
  MS_MANDLOCK: 64,
  MS_DIRSYNC: 128,
  MS_NOSYMFOLLOW: 256,
  MS_NOATIME: 1024,
  MS_NODIRATIME: 2048,
  MS_BIND: 4096,
  MS_MOVE: 8192,
  MS_REC: 16384,
  MS_SILENT: 32768,
  MS_POSIXACL: 1 << 16,
  MS_UNBINDABLE: 1 << 17,
  MS_PRIVATE: 1 << 18,
  MS_SLAVE: 1 << 19,
  MS_SHARED: 1 << 20,
  MS_RELATIME: 1 << 21,
  MS_I_VERSION: 1 << 23,
  MS_STRICTATIME: 1 << 24,
  MS_LAZYTIME: 1 << 25,

  // mount_setattr(2) attributes (linux/mount.h).
  MOUNT_ATTR_RDONLY: 0x00000001,
  MOUNT_ATTR_NOSUID: 0x00000002,
  MOUNT_ATTR_NODEV: 0x00000004,
  MOUNT_ATTR_NOEXEC: 0x00000008,
  MOUNT_ATTR__ATIME: 0x00000070,
  MOUNT_ATTR_RELATIME: 0x00000000,
  MOUNT_ATTR_NOATIME: 0x00000010,
  MOUNT_ATTR_STRICTATIME: 0x00000020,
  MOUNT_ATTR_NODIRATIME: 0x00000080,
  MOUNT_ATTR_IDMAP: 0x00100000,
  MOUNT_ATTR_NOSYMFOLLOW: 0x00200000,

  // setrlimit(2) resources (asm-generic/resource.h; x86_64 uses the generic numbering).
  RLIMIT_CPU: 0,
  RLIMIT_FSIZE: 1,
  RLIMIT_DATA: 2,
  RLIMIT_STACK: 3,
  RLIMIT_CORE: 4,
  RLIMIT_RSS: 5,
  RLIMIT_NPROC: 6,
  RLIMIT_NOFILE: 7,
  RLIMIT_MEMLOCK: 8,
  RLIMIT_AS: 9,
  RLIMIT_LOCKS: 10,
  RLIMIT_SIGPENDING: 11,
  RLIMIT_MSGQUEUE: 12,
  RLIMIT_NICE: 13,
  RLIMIT_RTPRIO: 14,
  RLIMIT_RTTIME: 15,

  // File types for mknod(2) (sys/stat.h).
  S_IFMT: 0o170000,
  S_IFIFO: 0o010000,
  S_IFCHR: 0o020000,
  S_IFDIR: 0o040000,
  S_IFBLK: 0o060000,
  S_IFREG: 0o100000,

  // sched_setattr(2) policies and flags (linux/sched.h, linux/sched/types.h).
  SCHED_OTHER: 0,
  SCHED_FIFO: 1,
  SCHED_RR: 2,
  SCHED_BATCH: 3,
  SCHED_ISO: 4,
  SCHED_IDLE: 5,
  SCHED_DEADLINE: 6,
  SCHED_FLAG_RESET_ON_FORK: 0x01,
  SCHED_FLAG_RECLAIM: 0x02,
  SCHED_FLAG_DL_OVERRUN: 0x04,
  SCHED_FLAG_KEEP_POLICY: 0x08,
  SCHED_FLAG_KEEP_PARAMS: 0x10,
  SCHED_FLAG_UTIL_CLAMP_MIN: 0x20,
  SCHED_FLAG_UTIL_CLAMP_MAX: 0x40,

  // ioprio_set(2) (linux/ioprio.h).
  IOPRIO_CLASS_NONE: 0,
  IOPRIO_CLASS_RT: 1,
  IOPRIO_CLASS_BE: 2,
  IOPRIO_CLASS_IDLE: 3,
  IOPRIO_CLASS_SHIFT: 13,

  // personality(2) (linux/personality.h).
  PER_LINUX: 0x0000,
  PER_LINUX32: 0x0008,
  UNAME26: 0x0020000,
  ADDR_NO_RANDOMIZE: 0x0040000,
  FDPIC_FUNCPTRS: 0x0080000,
  MMAP_PAGE_ZERO: 0x0100000,
  ADDR_COMPAT_LAYOUT: 0x0200000,
  READ_IMPLIES_EXEC: 0x0400000,
  ADDR_LIMIT_32BIT: 0x0800000,
  SHORT_INODE: 0x1000000,
  WHOLE_SECONDS: 0x2000000,
  STICKY_TIMEOUTS: 0x4000000,
  ADDR_LIMIT_3GB: 0x8000000,
} as const;

export type LinuxConstantName = keyof typeof LINUX;

/** RLIM_INFINITY as the decimal string the plan carries (2^64 - 1 does not fit a JS number). */
export const RLIM_INFINITY = '18446744073709551615';

/** The kernel's limit on CPU numbers (CONFIG_NR_CPUS at most 8192): bounds cpu list expansion. */
export const MAX_CPUS = 8192;

/** MAX_NUMNODES at its largest (CONFIG_NODES_SHIFT 10): bounds node list expansion. */
export const MAX_NUMA_NODES = 1024;

/** linux/mempolicy.h modes, by the names config-linux.md "Memory policy" uses. */
export const MPOL_MODES: Readonly<Record<string, number>> = {
  MPOL_DEFAULT: 0,
  MPOL_PREFERRED: 1,
  MPOL_BIND: 2,
  MPOL_INTERLEAVE: 3,
  MPOL_LOCAL: 4,
  MPOL_PREFERRED_MANY: 5,
  MPOL_WEIGHTED_INTERLEAVE: 6,
};

/** linux/mempolicy.h mode flags, ORed into set_mempolicy's mode. */
export const MPOL_FLAGS: Readonly<Record<string, number>> = {
  MPOL_F_STATIC_NODES: 1 << 15,
  MPOL_F_RELATIVE_NODES: 1 << 14,
  MPOL_F_NUMA_BALANCING: 1 << 13,
};
