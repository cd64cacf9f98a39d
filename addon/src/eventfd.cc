// eventfd(nonBlocking): the v1 OOM notification (`tsrun events`) registers an eventfd with
// cgroup.event_control ("<eventfd> <memory.oom_control fd>", Documentation/admin-guide/cgroup-v1/
// memory.rst "OOM Control"); the kernel then adds 1 per OOM in the cgroup. Node has no eventfd.
#include <sys/eventfd.h>

#include <cerrno>

#include "addon.h"
#include "sys_error.h"

namespace tsrun {

namespace {

Napi::Value EventFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bool non_blocking = false;
  if (info.Length() > 0 && !ArgBool(info, 0, "nonBlocking", &non_blocking)) return env.Undefined();
  // O_CLOEXEC: never inherited by a process tsrun spawns (hooks, ps).
  int fd = eventfd(0, EFD_CLOEXEC | (non_blocking ? EFD_NONBLOCK : 0));
  if (fd < 0) {
    ThrowSys(env, errno, "eventfd");
    return env.Undefined();
  }
  return Napi::Number::New(env, fd);
}

}  // namespace

void InitEventFd(Napi::Env env, Napi::Object exports) {
  exports.Set("eventfd", Napi::Function::New(env, EventFd, "eventfd"));
}

}  // namespace tsrun
