// The two calls the foreground pty proxy needs (src/process/console.ts): window size on the pty
// master, and a second descriptor for it (libuv allows one handle per fd, the proxy reads and
// writes through two).
#include <fcntl.h>
#include <sys/ioctl.h>
#include <termios.h>

#include <cerrno>

#include "addon.h"
#include "sys_error.h"

namespace tsrun {

namespace {

// setWinsize(fd, rows, cols): ioctl TIOCSWINSZ; the kernel then sends SIGWINCH to the pty's
// foreground process group, as a resized terminal does.
Napi::Value SetWinsize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t fd, rows, cols;
  if (!ArgInt(info, 0, "fd", &fd) || !ArgInt(info, 1, "rows", &rows) || !ArgInt(info, 2, "cols", &cols)) return env.Undefined();
  if (rows < 0 || rows > 0xffff || cols < 0 || cols > 0xffff) {
    ThrowSys(env, EINVAL, "ioctl(TIOCSWINSZ)", "", "rows and cols must be 0-65535");
    return env.Undefined();
  }
  struct winsize ws{};
  ws.ws_row = static_cast<unsigned short>(rows);
  ws.ws_col = static_cast<unsigned short>(cols);
  if (ioctl(fd, TIOCSWINSZ, &ws) < 0) ThrowSys(env, errno, "ioctl(TIOCSWINSZ)");
  return env.Undefined();
}

// dupFd(fd): fcntl F_DUPFD_CLOEXEC, so the copy never leaks into a spawned process.
Napi::Value DupFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t fd;
  if (!ArgInt(info, 0, "fd", &fd)) return env.Undefined();
  int d = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (d < 0) {
    ThrowSys(env, errno, "fcntl(F_DUPFD_CLOEXEC)");
    return env.Undefined();
  }
  return Napi::Number::New(env, d);
}

}  // namespace

void InitConsole(Napi::Env env, Napi::Object exports) {
  exports.Set("setWinsize", Napi::Function::New(env, SetWinsize, "setWinsize"));
  exports.Set("dupFd", Napi::Function::New(env, DupFd, "dupFd"));
}

}  // namespace tsrun
