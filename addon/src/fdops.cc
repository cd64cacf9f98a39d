// Descriptor operations Node lacks: socketpair, mkfifo, flock, SCM_RIGHTS passing, AF_UNIX connect,
// getrlimit. Every descriptor made here is close-on-exec (SECURITY.md #1: nothing of ours may
// reach a container by accident).
#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "addon.h"
#include "common/scm_rights.h"
#include "common/unique_fd.h"
#include "sys_error.h"

namespace tsrun {

namespace {

Napi::Value SocketPair(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
    ThrowSys(env, errno, "socketpair");
    return env.Undefined();
  }
  Napi::Array a = Napi::Array::New(env, 2);
  a.Set(0u, Napi::Number::New(env, sv[0]));
  a.Set(1u, Napi::Number::New(env, sv[1]));
  return a;
}

Napi::Value Mkfifo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  int32_t mode;
  if (!ArgString(info, 0, "path", &path) || !ArgInt(info, 1, "mode", &mode)) return env.Undefined();
  if (mkfifo(path.c_str(), static_cast<mode_t>(mode)) < 0) ThrowSys(env, errno, "mkfifo", path);
  return env.Undefined();
}

Napi::Value Flock(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t fd;
  bool exclusive, nonBlocking;
  if (!ArgInt(info, 0, "fd", &fd) || !ArgBool(info, 1, "exclusive", &exclusive) ||
      !ArgBool(info, 2, "nonBlocking", &nonBlocking))
    return env.Undefined();
  int op = (exclusive ? LOCK_EX : LOCK_SH) | (nonBlocking ? LOCK_NB : 0);
  if (retry_eintr([&] { return flock(fd, op); }) < 0) {
    if (nonBlocking && errno == EWOULDBLOCK) return Napi::Boolean::New(env, false);
    ThrowSys(env, errno, "flock");
    return env.Undefined();
  }
  return Napi::Boolean::New(env, true);
}

Napi::Value Getrlimit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t resource;
  if (!ArgInt(info, 0, "resource", &resource)) return env.Undefined();
  struct rlimit rl;
  if (prlimit(0, static_cast<__rlimit_resource>(resource), nullptr, &rl) < 0) {
    ThrowSys(env, errno, "getrlimit");
    return env.Undefined();
  }
  // Decimal strings: RLIM_INFINITY (2^64-1) does not fit a JS number.
  Napi::Object o = Napi::Object::New(env);
  o.Set("soft", Napi::String::New(env, std::to_string(static_cast<unsigned long long>(rl.rlim_cur))));
  o.Set("hard", Napi::String::New(env, std::to_string(static_cast<unsigned long long>(rl.rlim_max))));
  return o;
}

// A stream socket carries SCM_RIGHTS only along with at least one byte of data; an empty `data`
// travels as one NUL byte, which RecvFd turns back into "".
Napi::Value SendFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t sock, fd;
  if (!ArgInt(info, 0, "socketFd", &sock) || !ArgInt(info, 1, "fd", &fd)) return env.Undefined();
  if (info.Length() < 3 || !info[2].IsString()) {
    Napi::TypeError::New(env, "argument data must be a string").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string data = info[2].As<Napi::String>().Utf8Value();
  if (data.empty()) data.push_back('\0');
  ssize_t n = tsrun::send_with_fd(sock, data, fd);
  if (n < 0) {
    ThrowSys(env, errno, "sendmsg");
  } else if (static_cast<size_t>(n) != data.size()) {
    ThrowSys(env, EMSGSIZE, "sendmsg", "", "short write");
  }
  return env.Undefined();
}

// Takes ownership of every descriptor in the control data; returns the first, closes the rest
// (a peer must not be able to plant extra fds in our table).
UniqueFd TakeFds(struct msghdr* msg) {
  UniqueFd first;
  for (struct cmsghdr* c = CMSG_FIRSTHDR(msg); c != nullptr; c = CMSG_NXTHDR(msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; i++) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      UniqueFd owned(fd);
      if (!first) first = std::move(owned);
    }
  }
  return first;
}

Napi::Value RecvFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t sock;
  if (!ArgInt(info, 0, "socketFd", &sock)) return env.Undefined();
  char buf[4096];
  struct iovec iov = {buf, sizeof buf};
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int) * 8)];
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n = retry_eintr([&] { return recvmsg(sock, &msg, MSG_CMSG_CLOEXEC); });
  if (n < 0) {
    ThrowSys(env, errno, "recvmsg");
    return env.Undefined();
  }
  UniqueFd fd = TakeFds(&msg);
  if (n == 0 && !fd) {
    ThrowSys(env, ECONNRESET, "recvmsg", "", "peer closed the socket before sending a descriptor");
    return env.Undefined();
  }
  if ((msg.msg_flags & MSG_CTRUNC) != 0 || !fd) {
    ThrowSys(env, EBADMSG, "recvmsg", "", "message carried no file descriptor");
    return env.Undefined();
  }
  std::string data(buf, static_cast<size_t>(n));
  if (data.size() == 1 && data[0] == '\0') data.clear();
  Napi::Object o = Napi::Object::New(env);
  o.Set("data", Napi::String::New(env, data));
  o.Set("fd", Napi::Number::New(env, fd.release()));
  return o;
}

Napi::Value ConnectUnix(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path;
  if (!ArgString(info, 0, "path", &path)) return env.Undefined();
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    ThrowSys(env, ENAMETOOLONG, "connect", path);
    return env.Undefined();
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  // A connect() cut short by a signal may be left half done; start again on a fresh socket.
  for (;;) {
    UniqueFd s(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!s) {
      ThrowSys(env, errno, "socket");
      return env.Undefined();
    }
    if (connect(s.get(), reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) == 0)
      return Napi::Number::New(env, s.release());
    if (errno != EINTR) {
      ThrowSys(env, errno, "connect", path);
      return env.Undefined();
    }
  }
}

}  // namespace

void InitFdOps(Napi::Env env, Napi::Object exports) {
  exports.Set("socketPair", Napi::Function::New(env, SocketPair, "socketPair"));
  exports.Set("mkfifo", Napi::Function::New(env, Mkfifo, "mkfifo"));
  exports.Set("flock", Napi::Function::New(env, Flock, "flock"));
  exports.Set("getrlimit", Napi::Function::New(env, Getrlimit, "getrlimit"));
  exports.Set("sendFd", Napi::Function::New(env, SendFd, "sendFd"));
  exports.Set("recvFd", Napi::Function::New(env, RecvFd, "recvFd"));
  exports.Set("connectUnix", Napi::Function::New(env, ConnectUnix, "connectUnix"));
}

}  // namespace tsrun
