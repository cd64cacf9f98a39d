// spawnInit: clone3 a child into its new namespaces (and cgroup) and execveat the sealed oci-init
// memfd in it. The child of this multi-threaded process may only make raw system calls, so
// everything that allocates happens here first (spawn_child.h); its failures come back
// synchronously through an "exec error pipe".
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "common/linux_abi.h"
#include "addon.h"
#include "common/unique_fd.h"
#include "sealed_exe.h"
#include "spawn_child.h"
#include "spawn_options.h"
#include "sys_error.h"


namespace tsrun {

namespace {

// struct clone_args of linux/sched.h (kernel ABI, CLONE_ARGS_SIZE_VER2), spelled out here because
// that header's CLONE_* macros collide with glibc's <sched.h>.
struct CloneArgs {
  uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
      set_tid_size, cgroup;
};

// Everything the child uses, owned by the parent until clone3 has copied it.
struct Prepared {
  std::vector<UniqueFd> owned;
  std::vector<int> srcFds;
  std::vector<int> joinFds;
  std::vector<const char*> argv;
  const char* envp[1] = {nullptr};  // oci-init starts with an empty environment (SECURITY.md #3)
  UniqueFd execFd, errRead, errWrite;
  UniqueFd releaseRead, releaseWrite;  // only with beforeExec
};

// A close-on-exec duplicate of fd numbered >= min (above the child's target table).
bool DupAbove(Napi::Env env, int fd, int min, const std::string& what, UniqueFd* out) {
  out->reset(fcntl(fd, F_DUPFD_CLOEXEC, min));
  if (*out) return true;
  ThrowSys(env, errno, "fcntl", "", "spawnInit " + what + " = " + std::to_string(fd));
  return false;
}

bool Prepare(Napi::Env env, const SpawnOptions& o, Prepared* p) {
  const int min = static_cast<int>(o.fds.size());
  const char* sc = "";
  int exe = SealedExecutable(o.initPath, &sc);
  if (exe < 0) {
    ThrowSys(env, errno, sc, o.initPath);
    return false;
  }
  if (!DupAbove(env, exe, min, "oci-init memfd", &p->execFd)) return false;
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) < 0) {
    ThrowSys(env, errno, "pipe2");
    return false;
  }
  p->errRead.reset(pipefd[0]);
  UniqueFd w(pipefd[1]);
  if (!DupAbove(env, w.get(), min, "error pipe", &p->errWrite)) return false;
  for (size_t i = 0; i < o.fds.size(); i++) {
    p->srcFds.push_back(-1);
    if (o.fds[i] < 0) continue;
    p->owned.emplace_back();
    if (!DupAbove(env, o.fds[i], min, "fds[" + std::to_string(i) + "]", &p->owned.back())) return false;
    p->srcFds.back() = p->owned.back().get();
  }
  for (size_t i = 0; i < o.joinFds.size(); i++) {
    p->owned.emplace_back();
    if (!DupAbove(env, o.joinFds[i], min, "joinInChild[" + std::to_string(i) + "].fd", &p->owned.back()))
      return false;
    p->joinFds.push_back(p->owned.back().get());
  }
  for (const std::string& a : o.argv) p->argv.push_back(a.c_str());
  p->argv.push_back(nullptr);
  if (o.beforeExec.IsEmpty()) return true;
  if (pipe2(pipefd, O_CLOEXEC) < 0) {
    ThrowSys(env, errno, "pipe2");
    return false;
  }
  p->releaseWrite.reset(pipefd[1]);
  UniqueFd r(pipefd[0]);
  return DupAbove(env, r.get(), min, "release pipe", &p->releaseRead);
}

// Runs beforeExec(pid) while the child waits, then releases it with one byte. False, with the JS
// exception pending, when the callback threw or the write failed: the caller discards the child.
bool RunBeforeExec(Napi::Env env, const SpawnOptions& o, Prepared* p, long pid) {
  p->releaseRead.reset();
  o.beforeExec.Call({Napi::Number::New(env, static_cast<double>(pid))});
  if (env.IsExceptionPending()) return false;
  char one = 1;
  if (retry_eintr([&] { return write(p->releaseWrite.get(), &one, 1); }) != 1) {
    ThrowSys(env, errno, "write", "", "spawnInit release pipe");
    return false;
  }
  p->releaseWrite.reset();
  return true;
}

// clone3 with every signal blocked: until the child has reset the dispositions, a signal would run
// one of Node's handlers in it (libuv's writes to a pipe the parent's event loop reads).
long Clone3(uint64_t flags, int cgroupFd, int* pidfd, const ChildPlan& plan) {
  CloneArgs args = {};
  args.flags = flags | CLONE_PIDFD;
  args.pidfd = reinterpret_cast<uintptr_t>(pidfd);
  args.exit_signal = SIGCHLD;
  if (cgroupFd >= 0) {
    args.flags |= CLONE_INTO_CGROUP;
    args.cgroup = static_cast<uint64_t>(cgroupFd);
  }
  uint64_t all = ~0ULL, old = 0;
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, &old, sizeof all);
  long pid = syscall(SYS_clone3, &args, sizeof args);
  if (pid == 0) RunChild(plan);
  int saved = errno;
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, nullptr, sizeof old);
  errno = saved;
  return pid;
}

// Kills and reaps a child we cannot hand out, so a failed spawnInit leaves no process behind.
void Discard(int pidfd) {
  syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0);
  siginfo_t si;
  retry_eintr([&] { return waitid(static_cast<idtype_t>(P_PIDFD), pidfd, &si, WEXITED); });
}

void ThrowChildError(Napi::Env env, const SpawnOptions& o, const ChildError& e) {
  std::string idx = std::to_string(e.index);
  switch (static_cast<ChildStep>(e.step)) {
    case ChildStep::kSignals: return ThrowSys(env, e.err, "rt_sigprocmask", "", "spawnInit child");
    case ChildStep::kPdeathSig: return ThrowSys(env, e.err, "prctl", "", "spawnInit child, PR_SET_PDEATHSIG");
    case ChildStep::kFds: return ThrowSys(env, e.err, "dup3", "", "spawnInit child, fds[" + idx + "]");
    case ChildStep::kCloseRange: return ThrowSys(env, e.err, "close_range", "", "spawnInit child");
    case ChildStep::kSetns: return ThrowSys(env, e.err, "setns", "", "spawnInit child, joinInChild[" + idx + "]");
    case ChildStep::kUnshare: return ThrowSys(env, e.err, "unshare", "", "spawnInit child, unshareFlags");
    case ChildStep::kExec: return ThrowSys(env, e.err, "execveat", o.initPath, "spawnInit child");
    case ChildStep::kRelease: return ThrowSys(env, e.err, "read", "", "spawnInit child, release pipe");
    case ChildStep::kFork: return ThrowSys(env, e.err, "clone", "", "spawnInit child, into the new pid namespace");
    case ChildStep::kForked: break;
    case ChildStep::kBecomeRoot:
      return ThrowSys(env, e.err, e.index == 0 ? "setresgid" : "setresuid", "",
                      "spawnInit child, becoming root in the user namespace (is container id 0 mapped?)");
  }
  ThrowSys(env, e.err, "spawnInit", "", "child failed at unknown step " + std::to_string(e.step));
}

// Reads the child's report: true, with *e filled, when it failed before or at execveat; false
// (EOF) when execveat succeeded and closed the close-on-exec write end.
bool ChildFailed(int fd, ChildError* e) {
  size_t got = 0;
  char* buf = reinterpret_cast<char*>(e);
  while (got < sizeof *e) {
    ssize_t n = retry_eintr([&] { return read(fd, buf + got, sizeof *e - got); });
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  if (got == 0) return false;
  if (got < sizeof *e) *e = {0, EPROTO, 0};
  return true;
}

// The pid namespace the child is born in: setns applies to pid_for_children of this thread only,
// so it is switched around clone3 and restored (to what it was, read first) before returning.
class PidnsSwitch {
 public:
  bool Enter(Napi::Env env, int target) {
    saved_.reset(open("/proc/thread-self/ns/pid_for_children", O_RDONLY | O_CLOEXEC));
    if (!saved_) {
      ThrowSys(env, errno, "open", "/proc/thread-self/ns/pid_for_children");
      return false;
    }
    if (setns(target, CLONE_NEWPID) < 0) {
      ThrowSys(env, errno, "setns", "", "spawnInit pidNamespaceFd = " + std::to_string(target));
      saved_.reset();
      return false;
    }
    return true;
  }
  // Returns false with errno set when the original namespace could not be restored.
  bool Leave() { return !saved_ || setns(saved_.get(), CLONE_NEWPID) == 0; }

 private:
  UniqueFd saved_;
};

// With CLONE_NEWPID in unshareFlags the clone child forks the real init (spawn_child.cc
// ForkIntoPidNamespace) and exits: reap it, and switch *pid/*pidfd to the new process, our child too
// (CLONE_PARENT), so its pid cannot be reused before we wait for it. False with a JS exception set.
bool TakeForkedChild(Napi::Env env, const SpawnOptions& o, int errFd, long* pid, int* pidfd) {
  ChildError e;
  bool got = ChildFailed(errFd, &e);
  Discard(*pidfd);  // the intermediate child exits by itself; this only reaps it
  close(*pidfd);
  *pidfd = -1;
  if (!got || static_cast<ChildStep>(e.step) != ChildStep::kForked) {
    if (got) ThrowChildError(env, o, e);
    else ThrowSys(env, EPROTO, "spawnInit", "", "child exited before forking into its pid namespace");
    return false;
  }
  *pid = e.index;
  *pidfd = static_cast<int>(syscall(SYS_pidfd_open, static_cast<pid_t>(e.index), 0));
  if (*pidfd < 0) {
    ThrowSys(env, errno, "pidfd_open", "", "spawnInit, the init in its pid namespace");
    kill(static_cast<pid_t>(e.index), SIGKILL);
    retry_eintr([&] { return waitpid(static_cast<pid_t>(e.index), nullptr, 0); });
    return false;
  }
  return true;
}

Napi::Value SpawnInit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  SpawnOptions o;
  if (!ParseSpawnOptions(env, info.Length() > 0 ? info[0] : env.Undefined(), &o)) return env.Undefined();
  Prepared p;
  if (!Prepare(env, o, &p)) return env.Undefined();
  ChildPlan plan = {p.errWrite.get(), p.execFd.get(), p.argv.data(), p.envp, p.srcFds.data(),
                    static_cast<int>(p.srcFds.size()), p.joinFds.data(), o.joinTypes.data(),
                    static_cast<int>(p.joinFds.size()), static_cast<int>(o.unshareFlags), o.pdeathSignal,
                    static_cast<int>(getpid()), p.releaseRead ? p.releaseRead.get() : -1, o.becomeRoot};
  PidnsSwitch pidns;
  if (o.pidNamespaceFd >= 0 && !pidns.Enter(env, o.pidNamespaceFd)) return env.Undefined();
  int pidfd = -1;
  bool intoCgroup = o.cgroupFd >= 0;
  long pid = Clone3(o.cloneFlags, o.cgroupFd, &pidfd, plan);
  // Kernels before 5.7 know neither CLONE_INTO_CGROUP nor the larger clone_args; the caller then
  // moves the child by writing cgroup.procs.
  if (pid < 0 && intoCgroup && (errno == E2BIG || errno == EINVAL || errno == ENOSYS)) {
    intoCgroup = false;
    pid = Clone3(o.cloneFlags, -1, &pidfd, plan);
  }
  int cloneErr = errno;
  if (!pidns.Leave()) {
    int err = errno;
    if (pid > 0) {
      Discard(pidfd);
      close(pidfd);
    }
    ThrowSys(env, err, "setns", "", "restoring pid_for_children after spawnInit");
    return env.Undefined();
  }
  if (pid < 0) {
    ThrowSys(env, cloneErr, "clone3");
    return env.Undefined();
  }
  // Our copies of the write end and the sources must go, or the read below would never see EOF.
  p.errWrite.reset();
  p.owned.clear();
  ChildError e;
  if ((o.unshareFlags & CLONE_NEWPID) && !TakeForkedChild(env, o, p.errRead.get(), &pid, &pidfd)) return env.Undefined();
  if (!o.beforeExec.IsEmpty() && !RunBeforeExec(env, o, &p, pid)) {
    Discard(pidfd);
    close(pidfd);
    return env.Undefined();
  }
  if (ChildFailed(p.errRead.get(), &e)) {
    Discard(pidfd);
    close(pidfd);
    ThrowChildError(env, o, e);
    return env.Undefined();
  }
  Napi::Object r = Napi::Object::New(env);
  r.Set("pid", Napi::Number::New(env, static_cast<double>(pid)));
  r.Set("pidfd", Napi::Number::New(env, pidfd));
  r.Set("intoCgroup", Napi::Boolean::New(env, intoCgroup));
  return r;
}

}  // namespace

void InitSpawn(Napi::Env env, Napi::Object exports) {
  exports.Set("spawnInit", Napi::Function::New(env, SpawnInit, "spawnInit"));
}

}  // namespace tsrun
