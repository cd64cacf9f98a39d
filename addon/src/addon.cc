// Module entry of tsrun.node: the few system calls Node.js cannot make (see src/native/types.ts
// for the typed interface). Errors are thrown as Node-style system errors (sys_error.h).
#include "addon.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  tsrun::InitConstants(env, exports);
  tsrun::InitSpawn(env, exports);
  tsrun::InitFdOps(env, exports);
  tsrun::InitPidfd(env, exports);
  tsrun::InitSeccomp(env, exports);
  tsrun::InitConsole(env, exports);
  tsrun::InitBpf(env, exports);
  tsrun::InitEventFd(env, exports);
  tsrun::InitIdmap(env, exports);
  tsrun::InitNetdev(env, exports);
  tsrun::InitExit(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(tsrun, Init)
