// The clone child of spawnInit: everything it needs, prepared by the parent before clone3, and the
// async-signal-safe function that runs in it.
#pragma once

#include <cstdint>

namespace tsrun {

// Steps the child reports when it fails, in the order it runs them.
enum class ChildStep : int32_t {
  kSignals = 1,  // rt_sigaction / rt_sigprocmask
  kPdeathSig,    // prctl(PR_SET_PDEATHSIG)
  kFds,          // dup3 into the target table
  kCloseRange,   // close_range(CLOSE_RANGE_CLOEXEC)
  kSetns,        // setns(joinFds[index])
  kUnshare,      // unshare(unshareFlags)
  kExec,         // execveat(execFd)
  kRelease,      // read(releaseFd): the parent gave up before releasing the child
  kBecomeRoot,   // setresgid/setresuid(0, 0, 0) in the user namespace
  kForked,       // not a failure: unshareFlags had CLONE_NEWPID; index = pid of the child that goes on
  kFork,         // clone(CLONE_PARENT) into the new pid namespace
};

// What the child writes into the error pipe before exiting; nothing at all means execveat worked
// (the pipe is close-on-exec, so the parent then reads EOF).
struct ChildError {
  int32_t step;
  int32_t err;
  int32_t index;
};

// Every descriptor here is close-on-exec and numbered >= nFds, so the dup3 calls that build the
// child's table 0..nFds-1 can never overwrite one of them.
struct ChildPlan {
  int errFd;
  int execFd;
  const char* const* argv;
  const char* const* envp;
  const int* srcFds;  // nFds entries; -1 leaves that child fd closed
  int nFds;
  const int* joinFds;
  const int* joinTypes;
  int nJoin;
  int unshareFlags;
  int pdeathSignal;
  int parentPid;  // getpid() of the parent, to notice it died before PR_SET_PDEATHSIG took hold
  int releaseFd;  // -1, or a pipe the child reads one byte from before execveat (user ns maps)
  bool becomeRoot;  // setresgid/setresuid(0, 0, 0) before execveat
};

// Runs in the child of a multi-threaded process, on a copy of the parent's stack: raw system calls
// only (no malloc, no locks, no C++ runtime). Never returns.
[[noreturn]] void RunChild(const ChildPlan& plan);

}  // namespace tsrun
