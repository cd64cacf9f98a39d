// Process handles by pidfd: no pid-reuse races when signalling or waiting (a pid may be recycled
// between reading state.json and kill(); a pidfd may not).
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

#include "common/linux_abi.h"
#include "addon.h"
#include "common/unique_fd.h"
#include "sys_error.h"


namespace tsrun {

namespace {

Napi::Value PidfdOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t pid;
  if (!ArgInt(info, 0, "pid", &pid)) return env.Undefined();
  if (pid <= 0) {
    // pidfd_open on 0 or a negative number would name no single process.
    ThrowSys(env, EINVAL, "pidfd_open", "", "pid " + std::to_string(pid));
    return env.Undefined();
  }
  // pidfds are always close-on-exec.
  long fd = syscall(SYS_pidfd_open, pid, 0);
  if (fd < 0) {
    ThrowSys(env, errno, "pidfd_open", "", "pid " + std::to_string(pid));
    return env.Undefined();
  }
  return Napi::Number::New(env, static_cast<double>(fd));
}

Napi::Value PidfdSendSignal(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t fd, sig;
  if (!ArgInt(info, 0, "pidfd", &fd) || !ArgInt(info, 1, "signal", &sig)) return env.Undefined();
  if (syscall(SYS_pidfd_send_signal, fd, sig, nullptr, 0) < 0)
    ThrowSys(env, errno, "pidfd_send_signal");
  return env.Undefined();
}

// Polls fd for POLLIN for up to timeoutMs (-1: forever): a pidfd is readable once its process has
// exited; a fifo or socket when it has data or its last writer is gone (POLLHUP counts too).
// Returns 1 ready, 0 timed out, -1 error (errno set).
int PollIn(int fd, int timeoutMs) {
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  int left = timeoutMs;
  for (;;) {
    struct pollfd p = {fd, POLLIN, 0};
    int r = poll(&p, 1, left);
    if (r > 0) {
      if ((p.revents & POLLNVAL) != 0) {
        errno = EBADF;
        return -1;
      }
      return 1;
    }
    if (r == 0) return 0;
    if (errno != EINTR) return -1;
    if (timeoutMs > 0) {
      struct timespec now;
      clock_gettime(CLOCK_MONOTONIC, &now);
      long spent = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
      left = spent >= timeoutMs ? 0 : static_cast<int>(timeoutMs - spent);
    }
  }
}

Napi::Value PidfdExited(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t fd;
  if (!ArgInt(info, 0, "pidfd", &fd)) return env.Undefined();
  int r = PollIn(fd, 0);
  if (r < 0) {
    ThrowSys(env, errno, "poll");
    return env.Undefined();
  }
  return Napi::Boolean::New(env, r == 1);
}

// pollIn(fd, timeoutMs), also exported as pidfdWait: a pidfd polls readable when its process exits;
// `start` waits on the exec fifo with it instead of sleeping between reads.
Napi::Value PollInFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t fd, timeoutMs;
  if (!ArgInt(info, 0, "fd", &fd) || !ArgInt(info, 1, "timeoutMs", &timeoutMs)) return env.Undefined();
  int r = PollIn(fd, timeoutMs < 0 ? -1 : timeoutMs);
  if (r < 0) {
    ThrowSys(env, errno, "poll");
    return env.Undefined();
  }
  return Napi::Boolean::New(env, r == 1);
}

// waitid(P_PIDFD) blocks, so it runs in libuv's thread pool and settles a promise. It reaps the
// child: only the owner of the child (the tsrun process that spawned it) may call it.
class WaitWorker : public Napi::AsyncWorker {
 public:
  WaitWorker(Napi::Env env, int fd)
      : Napi::AsyncWorker(env, "tsrun.waitPidfd"), deferred_(Napi::Promise::Deferred::New(env)), fd_(fd) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    siginfo_t si = {};
    int r = retry_eintr([&] { return waitid(static_cast<idtype_t>(P_PIDFD), fd_, &si, WEXITED); });
    if (r < 0) {
      err_ = errno;
      return;
    }
    code_ = si.si_code;
    status_ = si.si_status;
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (err_ != 0) {
      deferred_.Reject(SysError(env, err_, "waitid").Value());
      return;
    }
    Napi::Object o = Napi::Object::New(env);
    bool exited = code_ == CLD_EXITED;
    o.Set("exitCode", exited ? Napi::Number::New(env, status_) : env.Null());
    o.Set("signal", exited ? env.Null() : Napi::Number::New(env, status_));
    deferred_.Resolve(o);
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  int fd_;
  int err_ = 0;
  int code_ = 0;
  int status_ = 0;
};

Napi::Value WaitPidfd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t fd;
  if (!ArgInt(info, 0, "pidfd", &fd)) return env.Undefined();
  auto* w = new WaitWorker(env, fd);  // deleted by AsyncWorker after OnOK/OnError
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

}  // namespace

void InitPidfd(Napi::Env env, Napi::Object exports) {
  exports.Set("pidfdOpen", Napi::Function::New(env, PidfdOpen, "pidfdOpen"));
  exports.Set("pidfdSendSignal", Napi::Function::New(env, PidfdSendSignal, "pidfdSendSignal"));
  exports.Set("pidfdExited", Napi::Function::New(env, PidfdExited, "pidfdExited"));
  exports.Set("pidfdWait", Napi::Function::New(env, PollInFd, "pidfdWait"));
  exports.Set("waitPidfd", Napi::Function::New(env, WaitPidfd, "waitPidfd"));
  exports.Set("pollIn", Napi::Function::New(env, PollInFd, "pollIn"));
}

}  // namespace tsrun
