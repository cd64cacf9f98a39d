// Device nodes and /dev symlinks (SECURITY.md #10: device setup never acts on a host directory).
#include <cerrno>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "init/error.h"
#include "init/resolve.h"
#include "init/rootfs.h"

namespace ociinit {

namespace {

// mknod permissions must be exactly the configured ones (runc clears the umask the same way).
class UmaskZero {
 public:
  UmaskZero() : old_(umask(0)) {}
  ~UmaskZero() { umask(old_); }
  UmaskZero(const UmaskZero&) = delete;
  UmaskZero& operator=(const UmaskZero&) = delete;

 private:
  mode_t old_;
};

// The rootfs's /dev, refused when it is a symlink: an image with /dev -> /somewhere would otherwise
// get device nodes (and the /dev/null used for masking) wherever the link points (runc
// CVE-2026-41579, crun CVE-2026-47766).
UniqueFd open_dev_dir(int rootfd) {
  const uint64_t strict = RESOLVE_NO_SYMLINKS;
  Resolved dev = open_in_root(rootfd, "/dev", O_PATH | O_DIRECTORY, strict);
  if (!dev.ok() && dev.err == ENOENT) {
    if (mkdirat(rootfd, "dev", 0755) != 0 && errno != EEXIST) throw_sys("devices", "mkdirat", "/dev");
    dev = open_in_root(rootfd, "/dev", O_PATH | O_DIRECTORY, strict);
  }
  if (!dev.ok() && dev.err == ELOOP) throw_msg("devices", "/dev", "devices: /dev in the rootfs is a symlink, refusing to create devices through it");
  if (!dev.ok()) throw_sys("devices", dev.syscall, "/dev", dev.err);
  return std::move(dev.fd);
}

UniqueFd open_parent(int rootfd, const Device& d, std::string& base) {
  std::string parent;
  split_parent(d.path, parent, base);
  if (base.empty() || base == "." || base == "..") throw_msg("devices", d.path, "devices " + d.path + ": invalid path");
  Resolved p = mkdir_all_in_root(rootfd, parent);
  if (!p.ok()) throw_sys("devices", p.syscall, d.path, p.err);
  return std::move(p.fd);
}

// An existing entry is replaced (runc does the same), so the node has exactly the configured type,
// numbers and owner whatever the image shipped.
void remove_existing(int parent, const std::string& base, const std::string& path) {
  if (unlinkat(parent, base.c_str(), 0) != 0 && errno != ENOENT) throw_sys("devices", "unlinkat", path);
}

void mknod_device(int parent, const std::string& base, const Device& d) {
  remove_existing(parent, base, d.path);
  if (mknodat(parent, base.c_str(), d.mode, makedev(d.major, d.minor)) != 0) throw_sys("devices", "mknodat", d.path);
  if (fchownat(parent, base.c_str(), d.uid, d.gid, AT_SYMLINK_NOFOLLOW) != 0) throw_sys("devices", "fchownat", d.path);
}

// In a user namespace mknod is not allowed: bind the host's node onto an empty regular file.
void bind_device(int parent, const std::string& base, const Device& d) {
  struct stat st;
  bool exists = fstatat(parent, base.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
  if (exists && !S_ISREG(st.st_mode)) {
    remove_existing(parent, base, d.path);
    exists = false;
  }
  if (!exists) {
    int fd = tsrun::retry_eintr([&] { return openat(parent, base.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644); });
    if (fd < 0) throw_sys("devices", "openat", d.path);
    close(fd);
  }
  UniqueFd target(tsrun::retry_eintr([&] { return openat(parent, base.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC); }));
  if (!target) throw_sys("devices", "openat", d.path);
  UniqueFd host(tsrun::retry_eintr([&] { return open(d.path.c_str(), O_PATH | O_CLOEXEC); }));
  if (!host) throw_sys("devices", "open", d.path);
  bind_fd_onto(host.get(), target.get(), "devices", d.path);
}

void create_device(const Plan& plan, int rootfd, const Device& d) {
  std::string base;
  UniqueFd parent = open_parent(rootfd, d, base);
  if (plan.bind_devices)
    bind_device(parent.get(), base, d);
  else
    mknod_device(parent.get(), base, d);
}

void dev_symlink(int devfd, const char* target, const char* name) {
  if (symlinkat(target, devfd, name) != 0 && errno != EEXIST) throw_sys("devices", "symlinkat", std::string("/dev/") + name);
}

bool devpts_mounted(int devfd) {
  int fd = openat2_retry(devfd, "pts", O_PATH | O_DIRECTORY, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
  if (fd < 0) return false;
  UniqueFd pts(fd);
  struct statfs sf;
  return fstatfs(pts.get(), &sf) == 0 && sf.f_type == DEVPTS_SUPER_MAGIC;
}

// The links every Linux program expects in /dev (runc creates the same set); existing entries win.
void create_dev_symlinks(int devfd) {
  dev_symlink(devfd, "/proc/self/fd", "fd");
  dev_symlink(devfd, "/proc/self/fd/0", "stdin");
  dev_symlink(devfd, "/proc/self/fd/1", "stdout");
  dev_symlink(devfd, "/proc/self/fd/2", "stderr");
  // Still the host's /proc here (before pivot_root), as runc checks.
  if (access("/proc/kcore", F_OK) == 0) dev_symlink(devfd, "/proc/kcore", "core");
  if (devpts_mounted(devfd)) dev_symlink(devfd, "pts/ptmx", "ptmx");
}

}  // namespace

void setup_devices(const Plan& plan, int rootfd) {
  if (plan.devices.empty() && !plan.dev_symlinks) return;
  UniqueFd dev = open_dev_dir(rootfd);
  UmaskZero mask;
  for (const Device& d : plan.devices) create_device(plan, rootfd, d);
  if (plan.dev_symlinks) create_dev_symlinks(dev.get());
}

}  // namespace ociinit
