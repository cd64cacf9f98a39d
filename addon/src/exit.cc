// exitNow: the end of a tsrun command without Node's teardown. process.exit() joins V8's platform
// threads, closes libuv's loop and runs every C++ static destructor and atexit handler (OpenSSL's
// cleanup among them) before exit_group: 2-4 ms of each command on this project's machines, for a
// process whose every effect (state files, stdout, stderr, --log) was written synchronously.
#include <unistd.h>

#include "addon.h"
#include "sys_error.h"

namespace tsrun {
namespace {

Napi::Value ExitNow(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t code;
  if (!ArgInt(info, 0, "code", &code)) return env.Undefined();
  _exit(code & 0xff);
}

}  // namespace

void InitExit(Napi::Env env, Napi::Object exports) {
  exports.Set("exitNow", Napi::Function::New(env, ExitNow, "exitNow"));
}

}  // namespace tsrun
