// loadDeviceProgram(insns, cgroupFd): makes a cgroup v2 device filter live (src/cgroups/devices-bpf.ts
// builds the instructions). cgroup v2 has no devices.allow: the kernel asks a
// BPF_PROG_TYPE_CGROUP_DEVICE program attached to the cgroup (Documentation/admin-guide/cgroup-v2.rst
// "Device controller").
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "addon.h"
#include "common/unique_fd.h"
#include "sys_error.h"

namespace tsrun {

namespace {

long SysBpf(int cmd, union bpf_attr* attr) {
  return retry_eintr([&] { return syscall(SYS_bpf, cmd, attr, sizeof(*attr)); });
}

// The programs already attached to the cgroup for BPF_CGROUP_DEVICE (ids), from BPF_PROG_QUERY.
bool QueryAttached(int cgroup_fd, std::vector<uint32_t>* ids) {
  ids->assign(64, 0);
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.query.target_fd = static_cast<uint32_t>(cgroup_fd);
  a.query.attach_type = BPF_CGROUP_DEVICE;
  a.query.prog_ids = reinterpret_cast<uint64_t>(ids->data());
  a.query.prog_cnt = static_cast<uint32_t>(ids->size());
  if (SysBpf(BPF_PROG_QUERY, &a) < 0) return false;
  ids->resize(a.query.prog_cnt);
  return true;
}

UniqueFd ProgFdById(uint32_t id) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.prog_id = id;
  return UniqueFd(static_cast<int>(SysBpf(BPF_PROG_GET_FD_BY_ID, &a)));
}

// Loads without a verifier log (with one, a log buffer too small for the verifier's trace fails
// the load with ENOSPC even for a valid program); only a refused program is loaded again with a
// log, whose last line says why.
UniqueFd LoadProgram(const uint8_t* insns, size_t len, std::string* why) {
  static const char kLicense[] = "Apache-2.0";  // device programs call no GPL-only helper
  std::vector<char> log;
  for (int attempt = 0; attempt < 2; attempt++) {
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    a.insns = reinterpret_cast<uint64_t>(insns);
    a.insn_cnt = static_cast<uint32_t>(len / 8);
    a.license = reinterpret_cast<uint64_t>(kLicense);
    if (attempt == 1) {
      log.assign(1 << 20, 0);
      a.log_buf = reinterpret_cast<uint64_t>(log.data());
      a.log_size = static_cast<uint32_t>(log.size());
      a.log_level = 1;
    }
    UniqueFd fd(static_cast<int>(SysBpf(BPF_PROG_LOAD, &a)));
    if (fd || attempt == 1) {
      int err = errno;
      if (!fd && !log.empty()) {
        // The last line that is not the verifier's statistics ("processed N insns ...").
        std::string text(log.data());
        for (;;) {
          while (!text.empty() && text.back() == '\n') text.pop_back();
          size_t nl = text.rfind('\n');
          std::string line = nl == std::string::npos ? text : text.substr(nl + 1);
          bool stats = line.rfind("processed ", 0) == 0 || line.rfind("verification time", 0) == 0;
          if (!stats || nl == std::string::npos) {
            *why = line;
            break;
          }
          text.resize(nl);
        }
      }
      errno = err;
      return fd;
    }
    if (errno == EPERM || errno == ENOSYS) return fd;  // no bpf(2) for us: a log would not help
  }
  return UniqueFd();
}

int Attach(int cgroup_fd, int prog_fd, int replace_fd) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.target_fd = static_cast<uint32_t>(cgroup_fd);
  a.attach_bpf_fd = static_cast<uint32_t>(prog_fd);
  a.attach_type = BPF_CGROUP_DEVICE;
  a.attach_flags = BPF_F_ALLOW_MULTI;
  if (replace_fd >= 0) {
    a.attach_flags |= BPF_F_REPLACE;
    a.replace_bpf_fd = static_cast<uint32_t>(replace_fd);
  }
  return SysBpf(BPF_PROG_ATTACH, &a) < 0 ? errno : 0;
}

int Detach(int cgroup_fd, int prog_fd) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.target_fd = static_cast<uint32_t>(cgroup_fd);
  a.attach_bpf_fd = static_cast<uint32_t>(prog_fd);
  a.attach_type = BPF_CGROUP_DEVICE;
  return SysBpf(BPF_PROG_DETACH, &a) < 0 ? errno : 0;
}

Napi::Value LoadDeviceProgram(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsBuffer()) {
    Napi::TypeError::New(env, "insns must be a Buffer").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto buf = info[0].As<Napi::Buffer<uint8_t>>();
  int32_t cgroup_fd;
  if (!ArgInt(info, 1, "cgroupFd", &cgroup_fd)) return env.Undefined();
  if (buf.Length() == 0 || buf.Length() % 8 != 0) {
    ThrowSys(env, EINVAL, "bpf(BPF_PROG_LOAD)", "", "insns must be a non-empty multiple of 8 bytes");
    return env.Undefined();
  }
  std::string why;
  UniqueFd prog = LoadProgram(buf.Data(), buf.Length(), &why);
  if (!prog) {
    ThrowSys(env, errno, "bpf(BPF_PROG_LOAD)", "", why);
    return env.Undefined();
  }
  std::vector<uint32_t> old_ids;
  if (!QueryAttached(cgroup_fd, &old_ids)) {
    ThrowSys(env, errno, "bpf(BPF_PROG_QUERY)");
    return env.Undefined();
  }
  std::vector<UniqueFd> old;
  for (uint32_t id : old_ids) {
    UniqueFd fd = ProgFdById(id);
    if (fd) old.push_back(std::move(fd));
  }
  // One program attached (ours from create): swap it in one step, so the cgroup is never without
  // a filter (update). Otherwise attach first and detach the old ones after: still never unfiltered.
  if (old.size() == 1) {
    if (int err = Attach(cgroup_fd, prog.get(), old[0].get()); err != 0) {
      ThrowSys(env, err, "bpf(BPF_PROG_ATTACH)", "", "BPF_F_REPLACE");
    }
    return env.Undefined();
  }
  if (int err = Attach(cgroup_fd, prog.get(), -1); err != 0) {
    ThrowSys(env, err, "bpf(BPF_PROG_ATTACH)");
    return env.Undefined();
  }
  for (const UniqueFd& fd : old) {
    if (int err = Detach(cgroup_fd, fd.get()); err != 0 && err != ENOENT) {
      ThrowSys(env, err, "bpf(BPF_PROG_DETACH)");
      return env.Undefined();
    }
  }
  return env.Undefined();
}

}  // namespace

void InitBpf(Napi::Env env, Napi::Object exports) {
  exports.Set("loadDeviceProgram", Napi::Function::New(env, LoadDeviceProgram, "loadDeviceProgram"));
}

}  // namespace tsrun
