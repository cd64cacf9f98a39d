// `constants`: numeric values the TypeScript side needs, read from the C headers so the plan never
// carries a hand-typed wrong number. Names are exactly the C names; src/spec/linux-constants.ts is
// checked against this table in a test.
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/ioprio.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "common/linux_abi.h"
#include "addon.h"

#ifndef SCHED_FLAG_RESET_ON_FORK
#define SCHED_FLAG_RESET_ON_FORK 0x01
#define SCHED_FLAG_RECLAIM 0x02
#define SCHED_FLAG_DL_OVERRUN 0x04
#define SCHED_FLAG_KEEP_POLICY 0x08
#define SCHED_FLAG_KEEP_PARAMS 0x10
#define SCHED_FLAG_UTIL_CLAMP_MIN 0x20
#define SCHED_FLAG_UTIL_CLAMP_MAX 0x40
#endif
#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif
#ifndef MOUNT_ATTR_NOSYMFOLLOW
#define MOUNT_ATTR_NOSYMFOLLOW 0x00200000
#endif
#ifndef CAP_CHECKPOINT_RESTORE
#define CAP_CHECKPOINT_RESTORE 40
#endif

namespace tsrun {

namespace {

struct Constant {
  const char* name;
  double value;
};

#define C(x) {#x, static_cast<double>(x)}

const Constant kConstants[] = {
    // Namespaces and clone3 (runtime-spec linux.namespaces).
    C(CLONE_NEWNS), C(CLONE_NEWUTS), C(CLONE_NEWIPC), C(CLONE_NEWUSER), C(CLONE_NEWPID),
    C(CLONE_NEWNET), C(CLONE_NEWCGROUP), C(CLONE_NEWTIME), C(CLONE_PIDFD), C(CLONE_INTO_CGROUP),
    // mount(2) flags and propagation.
    C(MS_RDONLY), C(MS_NOSUID), C(MS_NODEV), C(MS_NOEXEC), C(MS_SYNCHRONOUS), C(MS_REMOUNT),
    C(MS_MANDLOCK), C(MS_DIRSYNC), C(MS_NOSYMFOLLOW), C(MS_NOATIME), C(MS_NODIRATIME), C(MS_BIND),
    C(MS_MOVE), C(MS_REC), C(MS_SILENT), C(MS_POSIXACL), C(MS_UNBINDABLE), C(MS_PRIVATE),
    C(MS_SLAVE), C(MS_SHARED), C(MS_RELATIME), C(MS_KERNMOUNT), C(MS_I_VERSION),
    C(MS_STRICTATIME), C(MS_LAZYTIME), C(MNT_DETACH), C(MNT_FORCE), C(MNT_EXPIRE),
    C(UMOUNT_NOFOLLOW),
    // mount_setattr(2) attributes (recursive mount options, idmapped mounts).
    C(MOUNT_ATTR_RDONLY), C(MOUNT_ATTR_NOSUID), C(MOUNT_ATTR_NODEV), C(MOUNT_ATTR_NOEXEC),
    C(MOUNT_ATTR__ATIME), C(MOUNT_ATTR_RELATIME), C(MOUNT_ATTR_NOATIME), C(MOUNT_ATTR_STRICTATIME),
    C(MOUNT_ATTR_NODIRATIME), C(MOUNT_ATTR_IDMAP), C(MOUNT_ATTR_NOSYMFOLLOW),
    // Resource limits (process.rlimits).
    C(RLIMIT_CPU), C(RLIMIT_FSIZE), C(RLIMIT_DATA), C(RLIMIT_STACK), C(RLIMIT_CORE),
    C(RLIMIT_RSS), C(RLIMIT_NPROC), C(RLIMIT_NOFILE), C(RLIMIT_MEMLOCK), C(RLIMIT_AS),
    C(RLIMIT_LOCKS), C(RLIMIT_SIGPENDING), C(RLIMIT_MSGQUEUE), C(RLIMIT_NICE), C(RLIMIT_RTPRIO),
    C(RLIMIT_RTTIME),
    // File types (linux.devices) and open flags.
    C(S_IFMT), C(S_IFCHR), C(S_IFBLK), C(S_IFIFO), C(S_IFREG), C(S_IFDIR), C(S_IFLNK),
    C(S_IFSOCK), C(O_RDONLY), C(O_WRONLY), C(O_RDWR), C(O_CREAT), C(O_EXCL), C(O_NOCTTY),
    C(O_TRUNC), C(O_APPEND), C(O_NONBLOCK), C(O_DIRECTORY), C(O_NOFOLLOW), C(O_CLOEXEC),
    C(O_PATH), C(AT_FDCWD), C(AT_EMPTY_PATH), C(AT_SYMLINK_NOFOLLOW), C(AT_RECURSIVE),
    C(RESOLVE_NO_XDEV), C(RESOLVE_NO_MAGICLINKS), C(RESOLVE_NO_SYMLINKS), C(RESOLVE_BENEATH),
    C(RESOLVE_IN_ROOT), C(LOCK_SH), C(LOCK_EX), C(LOCK_NB), C(LOCK_UN),
    // Scheduler (process.scheduler) and I/O priority (process.ioPriority).
    C(SCHED_OTHER), C(SCHED_FIFO), C(SCHED_RR), C(SCHED_BATCH), C(SCHED_IDLE),
    C(SCHED_DEADLINE), C(SCHED_RESET_ON_FORK), C(SCHED_FLAG_RESET_ON_FORK),
    C(SCHED_FLAG_RECLAIM), C(SCHED_FLAG_DL_OVERRUN), C(SCHED_FLAG_KEEP_POLICY),
    C(SCHED_FLAG_KEEP_PARAMS), C(SCHED_FLAG_UTIL_CLAMP_MIN), C(SCHED_FLAG_UTIL_CLAMP_MAX),
    C(IOPRIO_CLASS_NONE), C(IOPRIO_CLASS_RT), C(IOPRIO_CLASS_BE), C(IOPRIO_CLASS_IDLE),
    C(IOPRIO_CLASS_SHIFT),
    // Personality domains and flags (linux.personality).
    C(PER_LINUX), C(PER_LINUX32), C(UNAME26), C(ADDR_NO_RANDOMIZE), C(FDPIC_FUNCPTRS),
    C(MMAP_PAGE_ZERO), C(ADDR_COMPAT_LAYOUT), C(READ_IMPLIES_EXEC), C(ADDR_LIMIT_32BIT),
    C(SHORT_INODE), C(WHOLE_SECONDS), C(STICKY_TIMEOUTS), C(ADDR_LIMIT_3GB),
    // Seccomp (linux.seccomp flags and actions).
    C(SECCOMP_MODE_FILTER), C(SECCOMP_FILTER_FLAG_TSYNC), C(SECCOMP_FILTER_FLAG_LOG),
    C(SECCOMP_FILTER_FLAG_SPEC_ALLOW), C(SECCOMP_FILTER_FLAG_NEW_LISTENER),
    C(SECCOMP_FILTER_FLAG_TSYNC_ESRCH), C(SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV),
    C(SECCOMP_RET_KILL_PROCESS), C(SECCOMP_RET_KILL_THREAD), C(SECCOMP_RET_TRAP),
    C(SECCOMP_RET_ERRNO), C(SECCOMP_RET_USER_NOTIF), C(SECCOMP_RET_TRACE), C(SECCOMP_RET_LOG),
    C(SECCOMP_RET_ALLOW),
    // Signals (kill, process signals, pdeathsig). SIGRTMIN is glibc's (34: 32 and 33 are glibc's
    // own), which is what runc and kill(1) number RTMIN+n from.
    C(SIGHUP), C(SIGINT), C(SIGQUIT), C(SIGILL), C(SIGTRAP), C(SIGABRT), C(SIGIOT), C(SIGBUS),
    C(SIGFPE), C(SIGKILL), C(SIGUSR1), C(SIGSEGV), C(SIGUSR2), C(SIGPIPE), C(SIGALRM),
    C(SIGTERM), C(SIGSTKFLT), C(SIGCHLD), C(SIGCONT), C(SIGSTOP), C(SIGTSTP), C(SIGTTIN),
    C(SIGTTOU), C(SIGURG), C(SIGXCPU), C(SIGXFSZ), C(SIGVTALRM), C(SIGPROF), C(SIGWINCH),
    C(SIGIO), C(SIGPOLL), C(SIGPWR), C(SIGSYS), C(SIGRTMIN), C(SIGRTMAX),
    C(WNOHANG), C(WEXITED),
    // Capabilities (process.capabilities).
    C(CAP_CHOWN), C(CAP_DAC_OVERRIDE), C(CAP_DAC_READ_SEARCH), C(CAP_FOWNER), C(CAP_FSETID),
    C(CAP_KILL), C(CAP_SETGID), C(CAP_SETUID), C(CAP_SETPCAP), C(CAP_LINUX_IMMUTABLE),
    C(CAP_NET_BIND_SERVICE), C(CAP_NET_BROADCAST), C(CAP_NET_ADMIN), C(CAP_NET_RAW),
    C(CAP_IPC_LOCK), C(CAP_IPC_OWNER), C(CAP_SYS_MODULE), C(CAP_SYS_RAWIO), C(CAP_SYS_CHROOT),
    C(CAP_SYS_PTRACE), C(CAP_SYS_PACCT), C(CAP_SYS_ADMIN), C(CAP_SYS_BOOT), C(CAP_SYS_NICE),
    C(CAP_SYS_RESOURCE), C(CAP_SYS_TIME), C(CAP_SYS_TTY_CONFIG), C(CAP_MKNOD), C(CAP_LEASE),
    C(CAP_AUDIT_WRITE), C(CAP_AUDIT_CONTROL), C(CAP_SETFCAP), C(CAP_MAC_OVERRIDE),
    C(CAP_MAC_ADMIN), C(CAP_SYSLOG), C(CAP_WAKE_ALARM), C(CAP_BLOCK_SUSPEND), C(CAP_AUDIT_READ),
    C(CAP_PERFMON), C(CAP_BPF), C(CAP_CHECKPOINT_RESTORE),
};

#undef C

}  // namespace

void InitConstants(Napi::Env env, Napi::Object exports) {
  Napi::Object o = Napi::Object::New(env);
  for (const Constant& c : kConstants) o.Set(c.name, Napi::Number::New(env, c.value));
  o.Freeze();
  exports.Set("constants", o);
}

}  // namespace tsrun
