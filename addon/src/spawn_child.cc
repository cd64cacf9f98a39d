#include "spawn_child.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

namespace tsrun {

namespace {

// The kernel's struct sigaction for rt_sigaction (glibc's differs in layout).
struct KernelSigaction {
  void (*handler)(int);
  unsigned long flags;
  void (*restorer)();
  uint64_t mask;
};

constexpr int kKernelSigsetSize = 8;
constexpr int kMaxSignal = 64;

[[noreturn]] void Fail(const ChildPlan& p, ChildStep step, int err, int index = 0) {
  ChildError e = {static_cast<int32_t>(step), err, index};
  // The parent is blocked reading this pipe; a short or failed write reads as EOF+exit 127 there.
  syscall(SYS_write, p.errFd, &e, sizeof e);
  syscall(SYS_exit_group, 127);
  __builtin_unreachable();
}

#define RETRY(call)                        \
  ({                                       \
    long r_;                               \
    do r_ = (call);                        \
    while (r_ == -1 && errno == EINTR);    \
    r_;                                    \
  })

// Node installs handlers (libuv's write to a pipe shared with the parent) and the parent blocked
// every signal around clone3 so none could run here. Reset handlers to default before unblocking,
// then unblock everything: Node's threads block signals and a mask survives execve (SECURITY.md #4).
void ResetSignals(const ChildPlan& p) {
  KernelSigaction dfl = {SIG_DFL, 0, nullptr, 0};
  for (int sig = 1; sig <= kMaxSignal; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    if (syscall(SYS_rt_sigaction, sig, &dfl, nullptr, kKernelSigsetSize) < 0)
      Fail(p, ChildStep::kSignals, errno, sig);
  }
  uint64_t empty = 0;
  if (syscall(SYS_rt_sigprocmask, SIG_SETMASK, &empty, nullptr, kKernelSigsetSize) < 0)
    Fail(p, ChildStep::kSignals, errno);
}

// Child fd i = srcFds[i]. The sources all sit at or above nFds, so no dup3 clobbers another.
// dup3 without O_CLOEXEC: these are the descriptors oci-init is meant to inherit.
void ArrangeFds(const ChildPlan& p) {
  for (int i = 0; i < p.nFds; i++) {
    if (p.srcFds[i] < 0) {
      syscall(SYS_close, i);
      continue;
    }
    if (RETRY(syscall(SYS_dup3, p.srcFds[i], i, 0)) < 0) Fail(p, ChildStep::kFds, errno, i);
  }
  // Everything else, Node's epoll/eventfd/pipes and whatever the caller of tsrun left inheritable,
  // closes at execve (SECURITY.md #1, CVE-2024-21626). CLOEXEC rather than close: our own sources,
  // join fds, exec memfd and error pipe must stay open until then.
  if (syscall(SYS_close_range, p.nFds, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
    Fail(p, ChildStep::kCloseRange, errno);
}

// Blocks until the parent has written the user namespace's maps (the only thing it does while we
// wait) and sent one byte. EOF means it gave up: it kills us anyway, exit without a report.
void AwaitRelease(const ChildPlan& p) {
  char b = 0;
  long n = RETRY(syscall(SYS_read, p.releaseFd, &b, 1));
  if (n != 1) Fail(p, ChildStep::kRelease, n < 0 ? errno : EPIPE);
  syscall(SYS_close, p.releaseFd);
}

// execve keeps capabilities in a user namespace only for its root (capabilities(7), "Effect of user
// ID changes on capabilities"; the host uid we still carry is unmapped there or not 0): become
// root of the namespace first, as runc's nsexec does. Raw system calls: glibc's wrappers would
// try to signal the parent's other threads, which do not exist in this copy.
void BecomeRoot(const ChildPlan& p) {
  if (syscall(SYS_setresgid, 0, 0, 0) < 0) Fail(p, ChildStep::kBecomeRoot, errno, 0);
  if (syscall(SYS_setresuid, 0, 0, 0) < 0) Fail(p, ChildStep::kBecomeRoot, errno, 1);
}

// unshare(CLONE_NEWPID) only places our future children in the new pid namespace (a user
// namespace joined by path must own it, so clone3 could not create it). Fork once more with
// CLONE_PARENT: the new process is pid 1 there and, like us, a child of the parent, which learns
// its pid from the record written here and reaps us.
void ForkIntoPidNamespace(const ChildPlan& p) {
  long pid = syscall(SYS_clone, CLONE_PARENT, nullptr, nullptr, nullptr, nullptr);
  if (pid < 0) Fail(p, ChildStep::kFork, errno);
  if (pid == 0) return;
  ChildError e = {static_cast<int32_t>(ChildStep::kForked), 0, static_cast<int32_t>(pid)};
  syscall(SYS_write, p.errFd, &e, sizeof e);
  syscall(SYS_exit_group, 0);
}

}  // namespace

void RunChild(const ChildPlan& p) {
  ResetSignals(p);
  if (p.pdeathSignal != 0) {
    if (syscall(SYS_prctl, PR_SET_PDEATHSIG, p.pdeathSignal, 0, 0, 0) < 0) Fail(p, ChildStep::kPdeathSig, errno);
    // The parent may have died before prctl: we were then reparented and the signal will never
    // come. getppid() is 0 when the parent is outside our pid namespace; then we cannot tell.
    long ppid = syscall(SYS_getppid);
    if (ppid != 0 && ppid != p.parentPid) Fail(p, ChildStep::kPdeathSig, ESRCH);
  }
  ArrangeFds(p);
  // Joins come before unshare: namespaces created by unshare are owned by the user namespace we
  // are in at that moment, which must be the joined one (runtime-spec linux.namespaces, path).
  for (int i = 0; i < p.nJoin; i++) {
    if (syscall(SYS_setns, p.joinFds[i], p.joinTypes[i]) < 0) Fail(p, ChildStep::kSetns, errno, i);
  }
  if (p.unshareFlags != 0 && syscall(SYS_unshare, p.unshareFlags) < 0)
    Fail(p, ChildStep::kUnshare, errno);
  if (p.unshareFlags & CLONE_NEWPID) ForkIntoPidNamespace(p);
  if (p.releaseFd >= 0) AwaitRelease(p);
  if (p.becomeRoot) BecomeRoot(p);
  syscall(SYS_execveat, p.execFd, "", p.argv, p.envp, AT_EMPTY_PATH);
  Fail(p, ChildStep::kExec, errno);
}

}  // namespace tsrun
