#include "spawn_options.h"

#include <cmath>

namespace tsrun {

namespace {

bool Fail(Napi::Env env, const std::string& field, const char* want) {
  Napi::TypeError::New(env, "spawnInit: opts." + field + " must be " + want).ThrowAsJavaScriptException();
  return false;
}

bool ToInt(Napi::Value v, double lo, double hi, double* out) {
  if (!v.IsNumber()) return false;
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || std::floor(d) != d || d < lo || d > hi) return false;
  *out = d;
  return true;
}

bool GetFd(Napi::Env env, Napi::Value v, const std::string& field, int* out) {
  double d;
  if (!ToInt(v, -1, INT32_MAX, &d)) return Fail(env, field, "an integer file descriptor or -1");
  *out = static_cast<int>(d);
  return true;
}

bool GetFlags(Napi::Env env, Napi::Value v, const std::string& field, uint32_t* out) {
  double d;
  if (!ToInt(v, 0, UINT32_MAX, &d)) return Fail(env, field, "a non-negative 32-bit integer");
  *out = static_cast<uint32_t>(d);
  return true;
}

bool GetString(Napi::Env env, Napi::Value v, const std::string& field, std::string* out) {
  if (!v.IsString()) return Fail(env, field, "a string");
  *out = v.As<Napi::String>().Utf8Value();
  if (out->find('\0') != std::string::npos) return Fail(env, field, "a string without NUL bytes");
  return true;
}

bool GetArgv(Napi::Env env, Napi::Value v, std::vector<std::string>* out) {
  if (!v.IsArray() || v.As<Napi::Array>().Length() == 0)
    return Fail(env, "argv", "a non-empty array of strings");
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); i++) {
    out->emplace_back();
    if (!GetString(env, a.Get(i), "argv[" + std::to_string(i) + "]", &out->back())) return false;
  }
  return true;
}

bool GetFds(Napi::Env env, Napi::Value v, std::vector<int>* out) {
  if (!v.IsArray()) return Fail(env, "fds", "an array of file descriptors");
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); i++) {
    out->push_back(-1);
    if (!GetFd(env, a.Get(i), "fds[" + std::to_string(i) + "]", &out->back())) return false;
  }
  return true;
}

bool GetJoins(Napi::Env env, Napi::Value v, SpawnOptions* out) {
  if (!v.IsArray()) return Fail(env, "joinInChild", "an array of {fd, nstype}");
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); i++) {
    std::string field = "joinInChild[" + std::to_string(i) + "]";
    Napi::Value e = a.Get(i);
    if (!e.IsObject()) return Fail(env, field, "an object {fd, nstype}");
    Napi::Object o = e.As<Napi::Object>();
    int fd = -1;
    uint32_t type = 0;
    if (!GetFd(env, o.Get("fd"), field + ".fd", &fd) || !GetFlags(env, o.Get("nstype"), field + ".nstype", &type))
      return false;
    if (fd < 0) return Fail(env, field + ".fd", "an open file descriptor");
    out->joinFds.push_back(fd);
    out->joinTypes.push_back(static_cast<int>(type));
  }
  return true;
}

// The optional user-namespace fields: absent (undefined) is the same as not asked for.
bool GetUserNs(Napi::Env env, Napi::Object o, SpawnOptions* out) {
  Napi::Value f = o.Get("beforeExec");
  if (!f.IsUndefined()) {
    if (!f.IsFunction()) return Fail(env, "beforeExec", "a function (pid) => void");
    out->beforeExec = f.As<Napi::Function>();
  }
  Napi::Value b = o.Get("becomeRoot");
  if (!b.IsUndefined()) {
    if (!b.IsBoolean()) return Fail(env, "becomeRoot", "a boolean");
    out->becomeRoot = b.As<Napi::Boolean>().Value();
  }
  return true;
}

}  // namespace

bool ParseSpawnOptions(Napi::Env env, Napi::Value v, SpawnOptions* out) {
  if (!v.IsObject()) {
    Napi::TypeError::New(env, "spawnInit: opts must be an object").ThrowAsJavaScriptException();
    return false;
  }
  Napi::Object o = v.As<Napi::Object>();
  uint32_t sig = 0;
  if (!GetString(env, o.Get("initPath"), "initPath", &out->initPath) ||
      !GetArgv(env, o.Get("argv"), &out->argv) ||
      !GetFlags(env, o.Get("cloneFlags"), "cloneFlags", &out->cloneFlags) ||
      !GetJoins(env, o.Get("joinInChild"), out) ||
      !GetFlags(env, o.Get("unshareFlags"), "unshareFlags", &out->unshareFlags) ||
      !GetFd(env, o.Get("pidNamespaceFd"), "pidNamespaceFd", &out->pidNamespaceFd) ||
      !GetFd(env, o.Get("cgroupFd"), "cgroupFd", &out->cgroupFd) || !GetFds(env, o.Get("fds"), &out->fds) ||
      !GetFlags(env, o.Get("pdeathSignal"), "pdeathSignal", &sig) || !GetUserNs(env, o, out))
    return false;
  if (out->initPath.empty() || out->initPath[0] != '/') return Fail(env, "initPath", "an absolute path");
  if (sig > 64) return Fail(env, "pdeathSignal", "a signal number (0 for none)");
  out->pdeathSignal = static_cast<int>(sig);
  return true;
}

}  // namespace tsrun
