// oci-init: the container-side setup between clone and execve. The sequence, and why each step
// sits where it does, is in README.md; the numbers in the comments below are its step numbers.
//   argv: oci-init <syncFd> <fifoFd> <preservedFds>
// Nothing is written to stdout/stderr before `ready` (they belong to the container): failures
// travel to the parent as the sync protocol's `error` message and oci-init exits 1.
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "common/unique_fd.h"
#include "init/console.h"
#include "init/error.h"
#include "init/exec.h"
#include "init/hooks.h"
#include "init/identity.h"
#include "init/mempolicy.h"
#include "init/namespaces.h"
#include "init/plan.h"
#include "init/rootfs.h"
#include "init/seccomp_notify.h"
#include "init/sync.h"

namespace ociinit {
namespace {

struct Args {
  int sync_fd = -1;
  int fifo_fd = -1;
  int preserved = 0;
};

bool parse_int(const char* s, int lo, int& out) {
  char* end = nullptr;
  errno = 0;
  long v = std::strtol(s, &end, 10);
  if (errno || end == s || *end || v < lo || v > 1 << 20) return false;
  out = static_cast<int>(v);
  return true;
}

// Step 0. Non-dumpable first (CVE-2016-9962: the container must not reach /proc/<pid>/{exe,fd,
// environ} of this process before execve). Node leaves SIGPIPE/SIGXFSZ ignored and ignored
// dispositions survive execve (SECURITY.md #4), so every disposition and the mask are reset.
void sanitize_process() {
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) throw_sys("init", "prctl(PR_SET_DUMPABLE)");
  for (int sig = 1; sig < NSIG; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    ::signal(sig, SIG_DFL);  // EINVAL for the glibc-reserved RT signals: harmless
  }
  sigset_t none;
  sigemptyset(&none);
  if (::sigprocmask(SIG_SETMASK, &none, nullptr) < 0) throw_sys("init", "sigprocmask");
  // The container process leads its own session, as with runc (a terminal needs it for TIOCSCTTY).
  if (::setsid() < 0 && ::getsid(0) != ::getpid()) throw_sys("init", "setsid");
}

// The host's procfs, opened before any namespace join or mount so /proc/self files (timens
// offsets, oom_score_adj, LSM attrs, the exec fifo) are reached through a procfs that is verified
// and that the container's rootfs cannot replace (CVE-2019-16884 class). O_CLOEXEC and closed
// before execve: it never reaches the container.
tsrun::UniqueFd open_procfs() {
  tsrun::UniqueFd fd(tsrun::retry_eintr([] { return ::open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC); }));
  if (!fd) throw_sys("init", "open", "/proc");
  struct statfs sf;
  if (::fstatfs(fd.get(), &sf) < 0) throw_sys("init", "fstatfs", "/proc");
  if (sf.f_type != PROC_SUPER_MAGIC) throw_msg("init", "/proc", "init: /proc is not a procfs mount");
  return fd;
}

void set_names(const Plan& plan) {
  if (plan.hostname && ::sethostname(plan.hostname->data(), plan.hostname->size()) < 0) throw_sys("hostname", "sethostname");
  if (plan.domainname && ::setdomainname(plan.domainname->data(), plan.domainname->size()) < 0) {
    throw_sys("domainname", "setdomainname");
  }
}

// Without no_new_privileges the kernel only lets a process holding CAP_SYS_ADMIN load a filter;
// when the configured caps lack it the filter goes in before the identity change, as runc does
// (the profile must then allow the remaining setup calls).
bool seccomp_before_identity(const Process& p) {
  if (!p.seccomp || p.no_new_privileges) return false;
  if (!p.capabilities) return false;
  for (int c : p.capabilities->effective) {
    if (c == CAP_SYS_ADMIN) return false;
  }
  return true;
}

struct Prepared {
  std::string exe;
  std::vector<std::string> env;
  std::string start_state;  // from `resume`, for the startContainer hooks
  tsrun::UniqueFd listener;  // seccomp notify listener, until the filter is loaded
};

// An fd oci-init keeps until execve must sit above the --preserve-fds range, in whose holes
// close_stray_fds closes oci-init's own fds.
tsrun::UniqueFd above_preserved(tsrun::UniqueFd fd, const PreservedFds& pre, const char* step) {
  if (!fd || fd.get() >= 3 + pre.count) return fd;
  tsrun::UniqueFd high(::fcntl(fd.get(), F_DUPFD_CLOEXEC, 3 + pre.count));
  if (!high) throw_sys(step, "fcntl(F_DUPFD_CLOEXEC)");
  return high;
}

// Connected first thing: the listener path is a host path, gone once a mount namespace is joined
// or the root pivoted.
tsrun::UniqueFd listener_socket(const Process& p, const PreservedFds& pre) {
  if (!p.seccomp || !p.seccomp->listener) return {};
  return above_preserved(connect_listener(*p.seccomp->listener), pre, "seccomp listener");
}

// Loads the filter and, for SCMP_ACT_NOTIFY, hands the notify fd to the listener at once, before
// any later call could wait on a notification nobody can receive yet.
void install_seccomp(const Process& p, Prepared& prep) {
  tsrun::UniqueFd notify = load_seccomp(*p.seccomp);
  if (!notify || !prep.listener) return;
  send_notify_fd(prep.listener.get(), notify.get(), *p.seccomp->listener, prep.start_state);
  prep.listener.reset();
}

// Steps 3-9, create plans only: an exec plan joined a container whose rootfs, names and hooks
// are done (the joined mount namespace already has the container's root as "/").
std::string build_container(const Args& a, const Plan& plan, int procfd) {
  late_unshare(plan, procfd);                             // 3
  if (plan.mount_namespace) prepare_rootfs(plan);         // 4
  send_mounted(a.sync_fd);                                // 5
  Resume r = recv_resume(a.sync_fd);
  run_hooks(plan.create_container_hooks, r.create_state, "createContainer");  // 6
  if (plan.mount_namespace) enter_rootfs(plan);           // 7
  set_names(plan);                                        // 8
  // After pivot_root (the pty comes from the container's devpts, SECURITY.md #9) and before the
  // root goes read-only in step 9: /dev/console may have to be created.
  if (plan.process.terminal) setup_console(plan.process, a.sync_fd, plan.mount_namespace);
  if (plan.mount_namespace) finish_rootfs(plan);          // 9
  return std::move(r.start_state);
}

// Steps 1-13: everything up to `ready`. Failures throw InitError, sent to the parent by main().
Prepared setup(const Args& a, const Plan& plan, const PreservedFds& pre, int procfd) {
  const Process& p = plan.process;
  Prepared out;
  out.listener = listener_socket(p, pre);
  if (p.cpu_affinity_initial) set_cpu_affinity(*p.cpu_affinity_initial, "execCPUAffinity.initial");
  check_lsm_available(p);
  join_namespaces(plan);                                  // 2
  if (!plan.exec_mode) out.start_state = build_container(a, plan, procfd);  // 3-9
  else out.start_state = plan.exec_state;
  // exec: the joined mount namespace's root is the container's; no /dev/console for exec.
  if (p.terminal && plan.exec_mode) setup_console(p, a.sync_fd, false);
  // linux.memoryPolicy before `ready`, so a policy the kernel refuses fails create (or exec) and
  // is undone by the parent; before any seccomp filter, which may deny set_mempolicy. The policy
  // survives execve (set_mempolicy(2)), so the container process runs under it; exec plans carry
  // it too, as runc applies it to exec'd processes.
  if (p.memory_policy) apply_memory_policy(*p.memory_policy);
  out.env = container_env(p);                             // 10 (reads /etc/passwd while still root)
  if (seccomp_before_identity(p)) install_seccomp(p, out);
  apply_identity(p, procfd);
  enter_cwd(p.cwd);                                       // 11
  out.exe = resolve_executable(p.args[0], out.env);       // 12
  send_ready(a.sync_fd);                                  // 13
  if (plan.exec_mode) {
    // exec: the socket stays open, O_CLOEXEC, until execve, so the parent reads end-of-file once
    // the process has been executed (or oci-init died): `exec -d` then writes a pid file that
    // names the container process, never oci-init. For create the exec fifo does this at start.
    int fl = ::fcntl(a.sync_fd, F_GETFD);
    if (fl < 0 || ::fcntl(a.sync_fd, F_SETFD, fl | FD_CLOEXEC) < 0) ::close(a.sync_fd);
  } else {
    ::close(a.sync_fd);
  }
  return out;
}

// Steps 14-16, after `ready`: the parent is gone from the socket, so failures go to stderr.
[[noreturn]] void start(const Args& a, const Plan& plan, const PreservedFds& pre, int procfd, Prepared& prep) {
  const Process& p = plan.process;
  tsrun::UniqueFd fifo_w;
  if (a.fifo_fd >= 0) fifo_w = above_preserved(signal_exec_fifo(procfd, a.fifo_fd), pre, "exec fifo");  // 14
  run_hooks(plan.start_container_hooks, prep.start_state, "startContainer");  // 15
  verify_cwd(p.cwd);                                        // 16
  close_stray_fds(pre, {prep.listener.get(), fifo_w.get(), plan.exec_mode ? a.sync_fd : -1});
  if (p.cpu_affinity_final) set_cpu_affinity(*p.cpu_affinity_final, "execCPUAffinity.final");
  // Last, so the filter constrains only the container process, not oci-init's own setup.
  if (p.seccomp && !seccomp_before_identity(p)) install_seccomp(p, prep);
  exec_container(prep.exe, p.args, prep.env);
}

}  // namespace
}  // namespace ociinit

int main(int argc, char** argv) {
  using namespace ociinit;
  Args a;
  if (argc != 4 || !parse_int(argv[1], 0, a.sync_fd) || !parse_int(argv[2], -1, a.fifo_fd) || !parse_int(argv[3], 0, a.preserved)) {
    static const char usage[] = "usage: oci-init <syncFd> <fifoFd> <preservedFds> (started by tsrun only)\n";
    (void)!::write(2, usage, sizeof usage - 1);
    return 1;
  }
  Plan plan;
  PreservedFds pre;
  tsrun::UniqueFd procfd;
  Prepared prep;
  try {
    sanitize_process();  // 0
    guard_stdio();
    pre = snapshot_preserved(a.preserved);
    procfd = open_procfs();
    std::string err;
    if (!decode_plan(recv_plan(a.sync_fd), plan, err)) throw_msg("plan", "", err);  // 1
    if (plan.exec_mode) use_exec_order();
    prep = setup(a, plan, pre, procfd.get());
  } catch (const InitError& e) {
    send_error(a.sync_fd, e);
    return 1;
  } catch (const std::exception& e) {
    send_error(a.sync_fd, InitError("init", "", 0, "", std::string("init: ") + e.what()));
    return 1;
  }
  try {
    start(a, plan, pre, procfd.get(), prep);
  } catch (const std::exception& e) {
    std::string msg = std::string(e.what()) + "\n";
    (void)!::write(2, msg.data(), msg.size());
    return 1;
  }
}
