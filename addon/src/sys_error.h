// Node-style system errors for the addon: the same shape Node's fs gives, so callers handle both
// alike (`err.code === 'ENOENT'`): message "<CODE>: <description>, <syscall> '<path>'", with
// properties code, errno (negative, as Node), syscall and, when one is involved, path.
#pragma once

#include <napi.h>

#include <string>

namespace tsrun {

// Builds the error for errno value `err` (positive). `path` is omitted when empty; `detail`, when
// given, is appended in parentheses to say which argument was at fault.
Napi::Error SysError(Napi::Env env, int err, const std::string& syscall, const std::string& path = "",
                     const std::string& detail = "");

// Throws SysError as a pending JS exception (NAPI_DISABLE_CPP_EXCEPTIONS: the caller must then
// return at once).
void ThrowSys(Napi::Env env, int err, const std::string& syscall, const std::string& path = "",
              const std::string& detail = "");

// Argument checks: throw a TypeError naming the argument and return false when it does not fit.
bool ArgInt(const Napi::CallbackInfo& info, size_t i, const char* name, int32_t* out);
bool ArgString(const Napi::CallbackInfo& info, size_t i, const char* name, std::string* out);
bool ArgBool(const Napi::CallbackInfo& info, size_t i, const char* name, bool* out);

}  // namespace tsrun
