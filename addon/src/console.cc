// The calls the foreground pty proxy needs (src/process/console-proxy.ts): window size on the pty
// master, a second descriptor for it (libuv allows one handle per fd, the proxy reads and writes
// through two), and raw mode on tsrun's own terminal.
#include <fcntl.h>
#include <sys/ioctl.h>
#include <termios.h>

#include <cerrno>
#include <cstring>

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

// ttyMakeRaw(fd): cfmakeraw on the terminal, returning the previous termios to restore. Not
// libuv's raw mode (setRawMode), which keeps output processing (OPOST|ONLCR) on: the container's
// pty already turns "\n" into "\r\n", and runc's proxy passes its output through untouched.
Napi::Value TtyMakeRaw(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t fd;
  if (!ArgInt(info, 0, "fd", &fd)) return env.Undefined();
  struct termios saved;
  if (tcgetattr(fd, &saved) < 0) {
    ThrowSys(env, errno, "tcgetattr");
    return env.Undefined();
  }
  struct termios raw = saved;
  cfmakeraw(&raw);
  if (tcsetattr(fd, TCSANOW, &raw) < 0) {
    ThrowSys(env, errno, "tcsetattr");
    return env.Undefined();
  }
  return Napi::Buffer<char>::Copy(env, reinterpret_cast<const char*>(&saved), sizeof saved);
}

// ttyRestore(fd, saved): puts back what ttyMakeRaw returned.
Napi::Value TtyRestore(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t fd;
  if (!ArgInt(info, 0, "fd", &fd)) return env.Undefined();
  if (info.Length() < 2 || !info[1].IsBuffer() || info[1].As<Napi::Buffer<char>>().Length() != sizeof(struct termios)) {
    Napi::TypeError::New(env, "saved: expected the Buffer ttyMakeRaw returned").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  struct termios saved;
  std::memcpy(&saved, info[1].As<Napi::Buffer<char>>().Data(), sizeof saved);
  if (tcsetattr(fd, TCSANOW, &saved) < 0) ThrowSys(env, errno, "tcsetattr");
  return env.Undefined();
}

}  // namespace

void InitConsole(Napi::Env env, Napi::Object exports) {
  exports.Set("setWinsize", Napi::Function::New(env, SetWinsize, "setWinsize"));
  exports.Set("dupFd", Napi::Function::New(env, DupFd, "dupFd"));
  exports.Set("ttyMakeRaw", Napi::Function::New(env, TtyMakeRaw, "ttyMakeRaw"));
  exports.Set("ttyRestore", Napi::Function::New(env, TtyRestore, "ttyRestore"));
}

}  // namespace tsrun
