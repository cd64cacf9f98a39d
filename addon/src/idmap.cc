// idmappedTree: a detached, idmapped copy of a host directory tree (runtime-spec config.md mounts
// "idmap"/"ridmap" and uidMappings/gidMappings), handed to oci-init, which attaches it in the
// container. It is made here, in the host's user namespace, because the kernel lets only a holder
// of CAP_SYS_ADMIN over the filesystem's user namespace idmap a mount (fs/namespace.c
// can_idmap_mount), which the container's init no longer has once it is in its own namespace.
//
// The mapping comes from a user namespace built for it: a clone child that only sleeps until it is
// killed, whose maps are written here. The kernel reads the maps, not the namespace's identity, so
// the container's own mapping can be reproduced before the container exists.
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "common/linux_abi.h"
#include "addon.h"
#include "common/unique_fd.h"
#include "sys_error.h"


namespace tsrun {

namespace {

// The clone child: a copy of a multi-threaded process with every signal blocked (no handler of
// Node's may run in it), sleeping until SIGKILL. Raw system calls only.
[[noreturn]] void Sleeper() {
  for (;;) syscall(SYS_pause);
}

// A process in a new user namespace; killed and reaped by the destructor.
class MapHolder {
 public:
  bool Start() {
    uint64_t all = ~0ULL, old = 0;
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, &old, sizeof all);
    int pidfd = -1;
    long pid = syscall(SYS_clone, CLONE_NEWUSER | CLONE_PIDFD | SIGCHLD, nullptr, &pidfd, nullptr, nullptr);
    if (pid == 0) Sleeper();
    int err = errno;
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, nullptr, sizeof old);
    if (pid < 0) {
      errno = err;
      return false;
    }
    pid_ = pid;
    pidfd_.reset(pidfd);
    return true;
  }
  long pid() const { return pid_; }
  ~MapHolder() {
    if (!pidfd_) return;
    syscall(SYS_pidfd_send_signal, pidfd_.get(), SIGKILL, nullptr, 0);
    siginfo_t si;
    retry_eintr([&] { return waitid(static_cast<idtype_t>(P_PIDFD), pidfd_.get(), &si, WEXITED); });
  }

 private:
  long pid_ = -1;
  UniqueFd pidfd_;
};

bool WriteFile(const std::string& path, const std::string& data) {
  UniqueFd fd(retry_eintr([&] { return open(path.c_str(), O_WRONLY | O_CLOEXEC); }));
  if (!fd) return false;
  ssize_t n = retry_eintr([&] { return write(fd.get(), data.data(), data.size()); });
  if (n < 0) return false;
  if (static_cast<size_t>(n) != data.size()) {
    errno = EIO;
    return false;
  }
  return true;
}

// idmappedTree(source, uidMap, gidMap, rbind, ridmap): the maps are "containerID hostID size\n"
// lines, exactly as the kernel's map files take them; rbind copies the submounts too, ridmap idmaps
// them as well. Returns the detached mount's fd (O_CLOEXEC).
Napi::Value IdmappedTree(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 5 || !info[0].IsString() || !info[1].IsString() || !info[2].IsString() || !info[3].IsBoolean() ||
      !info[4].IsBoolean()) {
    Napi::TypeError::New(env, "idmappedTree(source: string, uidMap: string, gidMap: string, rbind: boolean, ridmap: boolean)")
        .ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string source = info[0].As<Napi::String>().Utf8Value();
  std::string uidMap = info[1].As<Napi::String>().Utf8Value();
  std::string gidMap = info[2].As<Napi::String>().Utf8Value();
  unsigned int rbind = info[3].As<Napi::Boolean>().Value() ? AT_RECURSIVE : 0;
  unsigned int ridmap = info[4].As<Napi::Boolean>().Value() ? AT_RECURSIVE : 0;
  MapHolder holder;
  if (!holder.Start()) {
    ThrowSys(env, errno, "clone", "", "idmappedTree: user namespace for the mapping");
    return env.Undefined();
  }
  std::string proc = "/proc/" + std::to_string(holder.pid());
  if (!WriteFile(proc + "/uid_map", uidMap)) {
    ThrowSys(env, errno, "write", proc + "/uid_map", "idmappedTree");
    return env.Undefined();
  }
  if (!WriteFile(proc + "/gid_map", gidMap)) {
    ThrowSys(env, errno, "write", proc + "/gid_map", "idmappedTree");
    return env.Undefined();
  }
  UniqueFd userns(retry_eintr([&] { return open((proc + "/ns/user").c_str(), O_RDONLY | O_CLOEXEC); }));
  if (!userns) {
    ThrowSys(env, errno, "open", proc + "/ns/user", "idmappedTree");
    return env.Undefined();
  }
  UniqueFd tree(open_tree(AT_FDCWD, source.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | rbind));
  if (!tree) {
    ThrowSys(env, errno, "open_tree", source, "idmappedTree");
    return env.Undefined();
  }
  struct mount_attr a = {};
  a.attr_set = MOUNT_ATTR_IDMAP;
  a.userns_fd = static_cast<uint64_t>(userns.get());
  if (mount_setattr(tree.get(), "", AT_EMPTY_PATH | ridmap, &a, sizeof a) != 0) {
    ThrowSys(env, errno, "mount_setattr", source, "idmappedTree, MOUNT_ATTR_IDMAP");
    return env.Undefined();
  }
  return Napi::Number::New(env, tree.release());
}

}  // namespace

void InitIdmap(Napi::Env env, Napi::Object exports) {
  exports.Set("idmappedTree", Napi::Function::New(env, IdmappedTree, "idmappedTree"));
}

}  // namespace tsrun
