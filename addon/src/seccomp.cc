// compileSeccomp: a SeccompProfile (src/seccomp/profile.ts) -> classic BPF through libseccomp, in
// the parent, so oci-init only has to hand the finished program to seccomp(2) right before execve
// and never links libseccomp. The filter is exported, never loaded here.
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "addon.h"
#include "common/unique_fd.h"
#include "sys_error.h"

namespace tsrun {

namespace {

struct CtxFree {
  void operator()(scmp_filter_ctx c) const { seccomp_release(c); }
};
using Ctx = std::unique_ptr<void, CtxFree>;

// A libseccomp or system call failure: errno value, the call, the syscall or arch it concerned.
struct SysFailure {
  int err;
  std::string syscall;
  std::string detail;
};

// A bad profile here is a bug in profile.ts (it validates first): a TypeError naming the field.
struct BadProfile {
  std::string what;
};

std::string GetString(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsString()) throw BadProfile{std::string(key) + " must be a string"};
  return v.As<Napi::String>().Utf8Value();
}

int64_t GetInt(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) throw BadProfile{std::string(key) + " must be a number"};
  return v.As<Napi::Number>().Int64Value();
}

Napi::Array GetArray(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsArray()) throw BadProfile{std::string(key) + " must be an array"};
  return v.As<Napi::Array>();
}

Napi::Object At(const Napi::Array& a, uint32_t i, const char* what) {
  Napi::Value v = a.Get(i);
  if (!v.IsObject()) throw BadProfile{std::string(what) + " entries must be objects"};
  return v.As<Napi::Object>();
}

uint32_t Action(const std::string& name, int64_t data) {
  uint16_t d = static_cast<uint16_t>(data);
  if (name == "SCMP_ACT_ALLOW") return SCMP_ACT_ALLOW;
  if (name == "SCMP_ACT_ERRNO") return SCMP_ACT_ERRNO(d);
  if (name == "SCMP_ACT_TRACE") return SCMP_ACT_TRACE(d);
  if (name == "SCMP_ACT_KILL" || name == "SCMP_ACT_KILL_THREAD") return SCMP_ACT_KILL_THREAD;
  if (name == "SCMP_ACT_KILL_PROCESS") return SCMP_ACT_KILL_PROCESS;
  if (name == "SCMP_ACT_TRAP") return SCMP_ACT_TRAP;
  if (name == "SCMP_ACT_LOG") return SCMP_ACT_LOG;
  if (name == "SCMP_ACT_NOTIFY") return SCMP_ACT_NOTIFY;
  throw BadProfile{"unknown action " + name};
}

scmp_compare Operator(const std::string& name) {
  if (name == "SCMP_CMP_NE") return SCMP_CMP_NE;
  if (name == "SCMP_CMP_LT") return SCMP_CMP_LT;
  if (name == "SCMP_CMP_LE") return SCMP_CMP_LE;
  if (name == "SCMP_CMP_EQ") return SCMP_CMP_EQ;
  if (name == "SCMP_CMP_GE") return SCMP_CMP_GE;
  if (name == "SCMP_CMP_GT") return SCMP_CMP_GT;
  if (name == "SCMP_CMP_MASKED_EQ") return SCMP_CMP_MASKED_EQ;
  throw BadProfile{"unknown operator " + name};
}

uint32_t FilterFlag(const std::string& name) {
  if (name == "SECCOMP_FILTER_FLAG_LOG") return SECCOMP_FILTER_FLAG_LOG;
  if (name == "SECCOMP_FILTER_FLAG_SPEC_ALLOW") return SECCOMP_FILTER_FLAG_SPEC_ALLOW;
  if (name == "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV") return SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
  throw BadProfile{"unknown filter flag " + name};
}

uint64_t Datum(const Napi::Object& o, const char* key) {
  std::string s = GetString(o, key);
  if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos || s.size() > 20) {
    throw BadProfile{std::string(key) + " must be a decimal uint64"};
  }
  errno = 0;
  unsigned long long v = std::strtoull(s.c_str(), nullptr, 10);
  if (errno == ERANGE) throw BadProfile{std::string(key) + " must be a decimal uint64"};
  return v;
}

// libseccomp spells architectures "x86_64", the spec "SCMP_ARCH_X86_64". An architecture libseccomp
// does not know is left out: its system calls then meet the filter's bad-arch action (kill).
void AddArchitectures(scmp_filter_ctx ctx, const Napi::Array& archs) {
  for (uint32_t i = 0; i < archs.Length(); i++) {
    Napi::Value v = archs.Get(i);
    if (!v.IsString()) throw BadProfile{"architectures entries must be strings"};
    std::string name = v.As<Napi::String>().Utf8Value();
    if (name.rfind("SCMP_ARCH_", 0) == 0) name = name.substr(10);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    uint32_t token = seccomp_arch_resolve_name(name.c_str());
    if (token == 0) continue;
    int r = seccomp_arch_add(ctx, token);
    if (r < 0 && r != -EEXIST) throw SysFailure{-r, "seccomp_arch_add", name};
  }
}

// Returns false when libseccomp does not know the syscall: skipped, as runc skips it, so a
// profile written for a newer kernel still loads.
bool AddRule(scmp_filter_ctx ctx, const Napi::Object& rule) {
  std::string name = GetString(rule, "syscall");
  int nr = seccomp_syscall_resolve_name(name.c_str());
  if (nr == __NR_SCMP_ERROR) return false;
  uint32_t action = Action(GetString(rule, "action"), GetInt(rule, "errno"));
  Napi::Array conds = GetArray(rule, "conditions");
  std::vector<scmp_arg_cmp> cmp;
  for (uint32_t i = 0; i < conds.Length(); i++) {
    Napi::Object c = At(conds, i, "conditions");
    // MASKED_EQ: datum_a is the mask (the spec's value), datum_b what the masked arg must equal.
    cmp.push_back(scmp_arg_cmp{static_cast<unsigned int>(GetInt(c, "index")), Operator(GetString(c, "op")),
                               Datum(c, "value"), Datum(c, "valueTwo")});
  }
  int r = seccomp_rule_add_array(ctx, action, nr, static_cast<unsigned int>(cmp.size()), cmp.data());
  if (r < 0) throw SysFailure{-r, "seccomp_rule_add", name};
  return true;
}

std::string ExportBpf(scmp_filter_ctx ctx) {
  UniqueFd mem(static_cast<int>(::syscall(SYS_memfd_create, "tsrun-seccomp", MFD_CLOEXEC)));
  if (!mem) throw SysFailure{errno, "memfd_create", ""};
  int r = seccomp_export_bpf(ctx, mem.get());
  if (r < 0) throw SysFailure{-r, "seccomp_export_bpf", ""};
  if (::lseek(mem.get(), 0, SEEK_SET) < 0) throw SysFailure{errno, "lseek", ""};
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = retry_eintr([&] { return ::read(mem.get(), buf, sizeof buf); });
    if (n < 0) throw SysFailure{errno, "read", ""};
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Napi::Value CompileSeccomp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) {
    Napi::TypeError::New(env, "compileSeccomp: profile must be an object").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Object p = info[0].As<Napi::Object>();
  try {
    Ctx ctx(seccomp_init(Action(GetString(p, "defaultAction"), GetInt(p, "defaultErrno"))));
    if (!ctx) throw SysFailure{EINVAL, "seccomp_init", ""};
    AddArchitectures(ctx.get(), GetArray(p, "architectures"));
    Napi::Array rules = GetArray(p, "rules");
    Napi::Array skipped = Napi::Array::New(env);
    bool notify = false;
    for (uint32_t i = 0; i < rules.Length(); i++) {
      Napi::Object rule = At(rules, i, "rules");
      if (!AddRule(ctx.get(), rule)) skipped.Set(skipped.Length(), rule.Get("syscall"));
      else if (GetString(rule, "action") == "SCMP_ACT_NOTIFY") notify = true;
    }
    uint32_t flags = notify ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0;
    Napi::Array names = GetArray(p, "flags");
    for (uint32_t i = 0; i < names.Length(); i++) {
      Napi::Value v = names.Get(i);
      if (!v.IsString()) throw BadProfile{"flags entries must be strings"};
      flags |= FilterFlag(v.As<Napi::String>().Utf8Value());
    }
    // The kernel refuses WAIT_KILLABLE_RECV without NEW_LISTENER (EINVAL); with no listener it
    // would change nothing, so it is dropped rather than failing the container.
    if (!notify) flags &= ~static_cast<uint32_t>(SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV);
    std::string bpf = ExportBpf(ctx.get());
    Napi::Object out = Napi::Object::New(env);
    out.Set("bpf", Napi::Buffer<char>::Copy(env, bpf.data(), bpf.size()));
    out.Set("flags", Napi::Number::New(env, flags));
    out.Set("skipped", skipped);
    out.Set("notify", Napi::Boolean::New(env, notify));
    return out;
  } catch (const BadProfile& b) {
    Napi::TypeError::New(env, "compileSeccomp: " + b.what).ThrowAsJavaScriptException();
  } catch (const SysFailure& f) {
    ThrowSys(env, f.err, f.syscall, "", f.detail.empty() ? "" : "syscall " + f.detail);
  }
  return env.Undefined();
}

}  // namespace

void InitSeccomp(Napi::Env env, Napi::Object exports) {
  exports.Set("compileSeccomp", Napi::Function::New(env, CompileSeccomp, "compileSeccomp"));
}

}  // namespace tsrun
