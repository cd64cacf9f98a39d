#include "sys_error.h"

#include <uv.h>

#include <cctype>
#include <cstring>

namespace tsrun {

namespace {

// libuv names and describes errnos exactly as Node's own errors do ("ENOENT", "no such file or
// directory"), so our messages read the same as fs's. libuv knows only the common ones; for the
// rest (ENOEXEC, EBADMSG...) glibc gives the name and the text, first letter lowered as libuv's.
void Describe(int err, std::string* code, std::string* desc) {
  const char* uv = uv_err_name(-err);
  if (std::strncmp(uv, "Unknown", 7) != 0) {
    *code = uv;
    *desc = uv_strerror(-err);
    return;
  }
  const char* name = strerrorname_np(err);
  *code = name != nullptr ? name : "E" + std::to_string(err);
  *desc = strerror(err);
  if (!desc->empty()) (*desc)[0] = static_cast<char>(std::tolower(static_cast<unsigned char>((*desc)[0])));
}

}  // namespace

Napi::Error SysError(Napi::Env env, int err, const std::string& syscall, const std::string& path,
                     const std::string& detail) {
  std::string code, desc;
  Describe(err, &code, &desc);
  std::string msg = code + ": " + desc + ", " + syscall;
  if (!path.empty()) msg += " '" + path + "'";
  if (!detail.empty()) msg += " (" + detail + ")";
  Napi::Error e = Napi::Error::New(env, msg);
  Napi::Object o = e.Value();
  o.Set("errno", Napi::Number::New(env, -err));
  o.Set("code", Napi::String::New(env, code));
  o.Set("syscall", Napi::String::New(env, syscall));
  if (!path.empty()) o.Set("path", Napi::String::New(env, path));
  return e;
}

void ThrowSys(Napi::Env env, int err, const std::string& syscall, const std::string& path,
              const std::string& detail) {
  SysError(env, err, syscall, path, detail).ThrowAsJavaScriptException();
}

static void ThrowType(Napi::Env env, const char* name, const char* want) {
  Napi::TypeError::New(env, std::string("argument ") + name + " must be " + want)
      .ThrowAsJavaScriptException();
}

bool ArgInt(const Napi::CallbackInfo& info, size_t i, const char* name, int32_t* out) {
  if (info.Length() <= i || !info[i].IsNumber()) {
    ThrowType(info.Env(), name, "an integer");
    return false;
  }
  double d = info[i].As<Napi::Number>().DoubleValue();
  if (d != static_cast<double>(static_cast<int32_t>(d))) {
    ThrowType(info.Env(), name, "an integer");
    return false;
  }
  *out = static_cast<int32_t>(d);
  return true;
}

bool ArgString(const Napi::CallbackInfo& info, size_t i, const char* name, std::string* out) {
  if (info.Length() <= i || !info[i].IsString()) {
    ThrowType(info.Env(), name, "a string");
    return false;
  }
  *out = info[i].As<Napi::String>().Utf8Value();
  if (out->find('\0') != std::string::npos) {
    ThrowType(info.Env(), name, "a string without NUL bytes");
    return false;
  }
  return true;
}

bool ArgBool(const Napi::CallbackInfo& info, size_t i, const char* name, bool* out) {
  if (info.Length() <= i || !info[i].IsBoolean()) {
    ThrowType(info.Env(), name, "a boolean");
    return false;
  }
  *out = info[i].As<Napi::Boolean>().Value();
  return true;
}

}  // namespace tsrun
