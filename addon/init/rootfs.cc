#include "init/rootfs.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <utility>
#include <vector>

#include "init/copyup.h"
#include "init/error.h"
#include "init/resolve.h"

namespace ociinit {

namespace {

UniqueFd g_rootfd;  // the rootfs bind mount, from prepare_rootfs to enter_rootfs
// Read-only tmpfs mounts, mounted read-write by mount_fs and made read-only by finish_rootfs.
std::vector<std::pair<std::string, UniqueFd>> g_readonly_tmpfs;

// ---------------------------------------------------------------------------------------------
// Errors: every mount failure names the mount as "mount <source> to <destination>: ...".

[[noreturn]] void mount_fail(const Mount& m, const char* syscall, int e = errno) {
  std::string msg = "mount " + m.source + " to " + m.destination + ": " + syscall + ": " + errno_text(e);
  throw InitError("mount", syscall, e, m.destination, msg);
}

[[noreturn]] void mount_refuse(const Mount& m, const std::string& why) {
  throw InitError("mount", "", 0, m.destination, "mount " + m.source + " to " + m.destination + ": " + why);
}

// ---------------------------------------------------------------------------------------------
// Small fd helpers.

bool fs_magic_is(int fd, long magic) {
  struct statfs sf;
  return fstatfs(fd, &sf) == 0 && static_cast<long>(sf.f_type) == magic;
}

uint64_t mount_id(int fd) {
  struct statx sx;
  if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &sx) != 0 || !(sx.stx_mask & STATX_MNT_ID)) return 0;
  return sx.stx_mnt_id;
}

// The per-mount flags statvfs reports, as MS_* flags. In a user namespace the kernel locks the flags a
// mount had when the namespace was created; a bind remount must keep them or fail with EPERM.
unsigned long current_ms_flags(const struct statvfs& sv) {
  static const struct { unsigned long st, ms; } kMap[] = {
      {ST_RDONLY, MS_RDONLY},     {ST_NOSUID, MS_NOSUID},         {ST_NODEV, MS_NODEV},
      {ST_NOEXEC, MS_NOEXEC},     {ST_NOATIME, MS_NOATIME},       {ST_NODIRATIME, MS_NODIRATIME},
      {ST_RELATIME, MS_RELATIME},
  };
  unsigned long out = 0;
  for (const auto& e : kMap)
    if (sv.f_flag & e.st) out |= e.ms;
  return out;
}

// MS_* per-mount flags -> MOUNT_ATTR_* with the semantics of a MS_BIND|MS_REMOUNT: the atime mode
// defaults to relatime unless noatime/strictatime is given.
uint64_t ms_to_mount_attr(unsigned long ms) {
  uint64_t a = 0;
  if (ms & MS_RDONLY) a |= MOUNT_ATTR_RDONLY;
  if (ms & MS_NOSUID) a |= MOUNT_ATTR_NOSUID;
  if (ms & MS_NODEV) a |= MOUNT_ATTR_NODEV;
  if (ms & MS_NOEXEC) a |= MOUNT_ATTR_NOEXEC;
  if (ms & MS_NODIRATIME) a |= MOUNT_ATTR_NODIRATIME;
  if (ms & MS_NOSYMFOLLOW) a |= MOUNT_ATTR_NOSYMFOLLOW;
  if (ms & MS_NOATIME)
    a |= MOUNT_ATTR_NOATIME;
  else if (ms & MS_STRICTATIME)
    a |= MOUNT_ATTR_STRICTATIME;
  return a;  // MOUNT_ATTR_RELATIME is 0
}

constexpr uint64_t kSettableAttrs = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC |
                                    MOUNT_ATTR_NODIRATIME | MOUNT_ATTR_NOSYMFOLLOW | MOUNT_ATTR__ATIME;

int setattr(int fd, unsigned int flags, uint64_t set, uint64_t clr, uint64_t propagation = 0) {
  struct mount_attr a = {};
  a.attr_set = set;
  a.attr_clr = clr;
  a.propagation = propagation;
  return mount_setattr(fd, "", AT_EMPTY_PATH | flags, &a, sizeof a);
}

UniqueFd clone_tree(int dirfd, const char* path, unsigned int flags) {
  return UniqueFd(open_tree(dirfd, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | flags));
}

int attach(int tree, int target) {
  return move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
}

// ---------------------------------------------------------------------------------------------
// /proc rules (SECURITY.md #6: CVE-2019-16884, CVE-2019-19921, CVE-2023-27561, CVE-2023-28642).

// Files beneath /proc that may be over-mounted (what lxcfs provides; the same list runc accepts).
bool proc_allow_listed(const std::string& dest) {
  static const char* const kAllowed[] = {
      "/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo",  "/proc/stat",
      "/proc/swaps",   "/proc/uptime",    "/proc/loadavg",  "/proc/slabinfo",
      "/proc/sys/kernel/ns_last_pid",     "/proc/net/dev",
  };
  for (const char* a : kAllowed)
    if (dest == a) return true;
  return false;
}

// `target`: the resolved destination; `tree`: the bind source's mount fd (-1 for other types).
// Only procfs may sit on /proc; beneath it only allow-listed files, each covered by a bind of a
// regular non-procfs file or a tmpfs; and no destination may reach procfs through a symlink.
void check_proc_rules(const Mount& m, int target, int tree) {
  const std::string& d = m.destination;
  if (d == "/proc") {
    if (m.type == "proc" || (tree >= 0 && fs_magic_is(tree, PROC_SUPER_MAGIC))) return;
    mount_refuse(m, "only procfs may be mounted on /proc (CVE-2019-16884)");
  }
  if (d.starts_with("/proc/")) {
    if (!proc_allow_listed(d)) mount_refuse(m, "mounts beneath /proc are limited to an allow-list (CVE-2019-19921)");
    struct stat st;
    bool regular_bind = tree >= 0 && fstat(tree, &st) == 0 && S_ISREG(st.st_mode) && !fs_magic_is(tree, PROC_SUPER_MAGIC);
    if (regular_bind || (tree < 0 && m.type == "tmpfs")) return;
    mount_refuse(m, "only a bind of a regular file or a tmpfs may cover a file beneath /proc (CVE-2019-19921)");
  }
  if (fs_magic_is(target, PROC_SUPER_MAGIC)) mount_refuse(m, "destination resolves into procfs (CVE-2019-19921)");
}

// ---------------------------------------------------------------------------------------------
// One mount.

// proc and sysfs, and whatever goes on /proc or /sys, must land on a real directory: a symlinked
// /proc or /sys in the image is refused rather than followed, even inside the rootfs
// (CVE-2019-16884, CVE-2023-28642).
bool needs_real_dir(const Mount& m) {
  return m.type == "proc" || m.type == "sysfs" || m.destination == "/proc" || m.destination == "/sys";
}

UniqueFd resolve_destination(const Mount& m, int rootfd, bool dir) {
  uint64_t extra = needs_real_dir(m) ? RESOLVE_NO_SYMLINKS : 0;
  Resolved r = dir ? mkdir_all_in_root(rootfd, m.destination, extra) : create_file_in_root(rootfd, m.destination, extra);
  if (!r.ok() && extra && r.err == ELOOP) mount_refuse(m, "destination is a symlink (CVE-2019-16884)");
  if (!r.ok()) mount_fail(m, r.syscall, r.err);
  return std::move(r.fd);
}

void apply_propagation_and_attrs(const Mount& m, int mnt) {
  for (unsigned long p : m.propagation) {
    unsigned int rec = (p & MS_REC) ? AT_RECURSIVE : 0;
    if (setattr(mnt, rec, 0, 0, p & ~static_cast<unsigned long>(MS_REC)) != 0) mount_fail(m, "mount_setattr");
  }
  if ((m.attr_set || m.attr_clr) && setattr(mnt, AT_RECURSIVE, m.attr_set, m.attr_clr) != 0) mount_fail(m, "mount_setattr");
}

// A bind ignores ro/nosuid/... on its first call: set them on the detached copy, so it is never
// visible in the container with the wrong flags. Like runc, the flags are first set exactly as asked,
// and on EPERM (flags locked in a user namespace) again with the mount's current flags kept.
void remount_bind(const Mount& m, int tree) {
  if (setattr(tree, 0, ms_to_mount_attr(m.remount_flags), kSettableAttrs) == 0) return;
  if (errno != EPERM) mount_fail(m, "mount_setattr");
  struct statvfs sv;
  if (fstatvfs(tree, &sv) != 0) mount_fail(m, "fstatvfs");
  if (setattr(tree, 0, ms_to_mount_attr(m.remount_flags | current_ms_flags(sv)), kSettableAttrs) != 0)
    mount_fail(m, "mount_setattr");
}

// Binds: open_tree(OPEN_TREE_CLONE) the host source, fix its flags while detached, move_mount it
// onto the destination's fd. No path is looked up twice, nothing goes through /proc.
// An idmapped bind arrives ready made from the parent (see PlanMount.idmapFd): only the host's
// user namespace may idmap it. Taken over here, so it is closed once attached.
void mount_bind(const Mount& m, int rootfd) {
  UniqueFd tree = m.idmap_fd >= 0 ? UniqueFd(m.idmap_fd)
                                  : clone_tree(AT_FDCWD, m.source.c_str(), (m.flags & MS_REC) ? AT_RECURSIVE : 0);
  if (!tree) mount_fail(m, "open_tree");
  struct stat st;
  if (fstat(tree.get(), &st) != 0) mount_fail(m, "fstat");
  bool dir = m.create_as == "dir" || (m.create_as == "auto" && S_ISDIR(st.st_mode));
  UniqueFd target = resolve_destination(m, rootfd, dir);
  check_proc_rules(m, target.get(), tree.get());
  if (m.remount_flags) remount_bind(m, tree.get());
  if (attach(tree.get(), target.get()) != 0) mount_fail(m, "move_mount");
  apply_propagation_and_attrs(m, tree.get());
}

void copy_up_into(const Mount& m, int lower, int mnt) {
  UniqueFd top(tsrun::retry_eintr([&] { return openat(mnt, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC); }));
  if (!top) mount_fail(m, "openat");
  copy_tree(lower, top.get(), m.destination);
}

// runc gives a tmpfs over an existing directory that directory's mode, unless the data sets one
// (it prepends mode=<mode>; a later mode= wins): an image's 0755 directory does not become 1777.
std::string tmpfs_data(const Mount& m, bool existed, const struct stat& st) {
  if (!existed) return m.data;
  char mode[16];
  snprintf(mode, sizeof mode, "mode=%04o", st.st_mode & 07777);
  return m.data.empty() ? std::string(mode) : std::string(mode) + "," + m.data;
}

// Other types: mount(2) onto "." after fchdir() to the resolved destination: the kernel mounts on
// exactly that directory (same effect as runc's /proc/self/fd/N, without needing a /proc). The
// destination is then reopened to act on the new mount, checked to be a new mount, and for proc to be
// procfs.
void mount_fs(const Mount& m, int rootfd) {
  bool tmpfs = m.type == "tmpfs";
  bool existed = tmpfs && open_in_root(rootfd, m.destination, O_PATH | O_DIRECTORY).ok();
  UniqueFd target = resolve_destination(m, rootfd, true);
  struct stat st;
  if (fstat(target.get(), &st) != 0) mount_fail(m, "fstat");
  if (!S_ISDIR(st.st_mode)) mount_refuse(m, "destination is not a directory");
  check_proc_rules(m, target.get(), -1);
  uint64_t before = mount_id(target.get());
  // tmpcopyup: the directory as the image has it, opened before the tmpfs covers it. Lookups from
  // this fd stay on the covered directory, so its content can be read once the tmpfs is on top.
  UniqueFd lower;
  if (m.copy_up) {
    lower.reset(tsrun::retry_eintr([&] { return openat(target.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC); }));
    if (!lower) mount_fail(m, "openat");
  }
  if (fchdir(target.get()) != 0) mount_fail(m, "fchdir");
  const char* src = m.source.empty() ? nullptr : m.source.c_str();
  std::string data = tmpfs ? tmpfs_data(m, existed, st) : m.data;
  // As runc (finalizeRootfs), a read-only tmpfs is mounted read-write and made read-only once the
  // rootfs is finished: tmpcopyup and later mounts inside it (podman binds /etc/hostname into a
  // `--tmpfs /etc:ro`) must be able to write first.
  bool defer_ro = tmpfs && (m.flags & MS_RDONLY);
  unsigned long flags = defer_ro ? m.flags & ~static_cast<unsigned long>(MS_RDONLY) : m.flags;
  if (mount(src, ".", m.type.c_str(), flags, data.empty() ? nullptr : data.c_str()) != 0) mount_fail(m, "mount");
  uint64_t extra = needs_real_dir(m) ? RESOLVE_NO_SYMLINKS : 0;
  Resolved now = open_in_root(rootfd, m.destination, O_PATH | O_DIRECTORY, extra);
  if (!now.ok()) mount_fail(m, now.syscall, now.err);
  if (mount_id(now.fd.get()) == before) mount_refuse(m, "the new mount is not at the destination (raced)");
  if (m.type == "proc" && !fs_magic_is(now.fd.get(), PROC_SUPER_MAGIC)) mount_refuse(m, "destination is not procfs after mounting");
  if (m.copy_up) copy_up_into(m, lower.get(), now.fd.get());
  apply_propagation_and_attrs(m, now.fd.get());
  if (defer_ro) g_readonly_tmpfs.emplace_back(m.destination, std::move(now.fd));
}

// MS_REMOUNT entries change the mount already at the destination (e.g. runc's read-only tmpfs under
// a cgroup v1 /sys/fs/cgroup once the hierarchies are in place). With MS_BIND only the per-mount
// flags change (replace semantics, locked flags kept on EPERM); without it the filesystem is
// reconfigured with flags and data. Nothing new is mounted, so the /proc rules do not apply.
void mount_remount(const Mount& m, int rootfd) {
  Resolved t = open_in_root(rootfd, m.destination, O_PATH);
  if (!t.ok()) mount_fail(m, t.syscall, t.err);
  unsigned long flags = m.flags & ~static_cast<unsigned long>(MS_REMOUNT | MS_BIND | MS_REC);
  if (m.flags & MS_BIND) {
    Mount as_bind = m;
    as_bind.remount_flags = flags;
    remount_bind(as_bind, t.fd.get());
  } else {
    if (fchdir(t.fd.get()) != 0) mount_fail(m, "fchdir");
    const char* data = m.data.empty() ? nullptr : m.data.c_str();
    if (mount(nullptr, ".", nullptr, flags | MS_REMOUNT, data) != 0) mount_fail(m, "mount");
  }
  apply_propagation_and_attrs(m, t.fd.get());
}

void mount_one(const Mount& m, int rootfd) {
  if (m.flags & MS_REMOUNT)
    mount_remount(m, rootfd);
  else if (m.flags & MS_BIND)
    mount_bind(m, rootfd);
  else
    mount_fs(m, rootfd);
}

// ---------------------------------------------------------------------------------------------
// The rootfs itself.

// pivot_root(2) and MS_MOVE refuse a new root whose parent mount is shared, and a shared parent would
// propagate the container's mounts back to the host: make the mount holding the rootfs private (in
// our own mount namespace only). mount(MS_PRIVATE) fails with EINVAL on a non-mount-point, so walk
// up until it succeeds ("/" always does).
void make_parent_mount_private(const std::string& rootfs) {
  std::string p = rootfs;
  for (;;) {
    if (mount(nullptr, p.c_str(), nullptr, MS_PRIVATE, nullptr) == 0) return;
    if (errno != EINVAL || p == "/") throw_sys("rootfs", "mount", rootfs);
    size_t slash = p.rfind('/');
    p = slash == 0 || slash == std::string::npos ? "/" : p.substr(0, slash);
  }
}

void bind_rootfs(const Plan& plan) {
  if (plan.rootfs_propagation && mount(nullptr, "/", nullptr, plan.rootfs_propagation, nullptr) != 0)
    throw_sys("rootfs", "mount", "/");
  make_parent_mount_private(plan.rootfs);
  // pivot_root needs the new root to be a mount point.
  if (mount(plan.rootfs.c_str(), plan.rootfs.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
    throw_sys("rootfs", "mount", plan.rootfs);
  g_rootfd.reset(open(plan.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!g_rootfd) throw_sys("rootfs", "open", plan.rootfs);
}

// ---------------------------------------------------------------------------------------------
// After pivot_root.

// sysctl values go to /proc/sys only through the container's own procfs: /proc is checked to be
// procfs and the key is resolved beneath it without symlinks or mount crossings, so a file
// bind-mounted over a /proc/sys entry cannot redirect the write (CVE-2025-52881).
void write_sysctl(int procfd, const std::string& key, const std::string& value) {
  std::string rel = "sys/" + key;
  for (size_t i = 4; i < rel.size(); ++i)
    if (rel[i] == '.') rel[i] = '/';
  int fd = openat2_retry(procfd, rel.c_str(), O_WRONLY | O_TRUNC, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS);
  if (fd < 0) throw_sys("sysctl", "openat2", key);
  UniqueFd f(fd);
  if (!fs_magic_is(f.get(), PROC_SUPER_MAGIC)) throw_msg("sysctl", key, "sysctl " + key + ": not a procfs file");
  ssize_t n = tsrun::retry_eintr([&] { return write(f.get(), value.data(), value.size()); });
  if (n < 0) throw_sys("sysctl", "write", key);
  if (static_cast<size_t>(n) != value.size()) throw_msg("sysctl", key, "sysctl " + key + ": short write");
}

void apply_sysctls(const Plan& plan) {
  if (plan.sysctl.empty()) return;
  int fd = openat2_retry(AT_FDCWD, "/proc", O_PATH | O_DIRECTORY, RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
  if (fd < 0) throw_sys("sysctl", "openat2", "/proc");
  UniqueFd proc(fd);
  if (!fs_magic_is(proc.get(), PROC_SUPER_MAGIC)) throw_msg("sysctl", "/proc", "sysctl: /proc is not procfs");
  for (const auto& [key, value] : plan.sysctl) write_sysctl(proc.get(), key, value);
}

// Read-only bind of the path onto itself, recursively, so nothing below it stays writable. Adding
// MOUNT_ATTR_RDONLY keeps every other flag, locked or not.
void make_readonly(int rootfd, const std::string& path) {
  Resolved t = open_in_root(rootfd, path, O_PATH);
  if (!t.ok() && t.err == ENOENT) return;
  if (!t.ok()) throw_sys("readonlyPaths", t.syscall, path, t.err);
  UniqueFd tree = clone_tree(t.fd.get(), "", AT_EMPTY_PATH | AT_RECURSIVE);
  if (!tree) throw_sys("readonlyPaths", "open_tree", path);
  if (setattr(tree.get(), AT_RECURSIVE, MOUNT_ATTR_RDONLY, 0) != 0) throw_sys("readonlyPaths", "mount_setattr", path);
  if (attach(tree.get(), t.fd.get()) != 0) throw_sys("readonlyPaths", "move_mount", path);
}

// The /dev/null used for masking must be the real 1:3 character device: a symlink or a regular
// file planted in the image would let the bind mount write-enable something else (CVE-2025-31133).
UniqueFd verified_dev_null(int rootfd) {
  Resolved n = open_in_root(rootfd, "/dev/null", O_PATH, RESOLVE_NO_SYMLINKS);
  struct stat st;
  bool ok = n.ok() && fstat(n.fd.get(), &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 && minor(st.st_rdev) == 3;
  if (!ok)
    throw_msg("maskedPaths", "/dev/null",
              "maskedPaths: /dev/null in the container is not the 1:3 character device, refusing to mask with it (CVE-2025-31133)");
  return std::move(n.fd);
}

void mask_dir(int target, const std::string& path) {
  UniqueFd fs(fsopen("tmpfs", FSOPEN_CLOEXEC));
  if (!fs) throw_sys("maskedPaths", "fsopen", path);
  if (fsconfig(fs.get(), FSCONFIG_SET_STRING, "source", "tmpfs", 0) != 0) throw_sys("maskedPaths", "fsconfig", path);
  if (fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) throw_sys("maskedPaths", "fsconfig", path);
  UniqueFd mnt(fsmount(fs.get(), FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY));
  if (!mnt) throw_sys("maskedPaths", "fsmount", path);
  if (attach(mnt.get(), target) != 0) throw_sys("maskedPaths", "move_mount", path);
}

void mask_path(int rootfd, int devnull, const std::string& path) {
  Resolved t = open_in_root(rootfd, path, O_PATH);
  if (!t.ok() && t.err == ENOENT) return;
  if (!t.ok()) throw_sys("maskedPaths", t.syscall, path, t.err);
  struct stat st;
  if (fstat(t.fd.get(), &st) != 0) throw_sys("maskedPaths", "fstat", path);
  if (S_ISDIR(st.st_mode)) return mask_dir(t.fd.get(), path);
  bind_fd_onto(devnull, t.fd.get(), "maskedPaths", path);
}

void remount_root_readonly() {
  unsigned long flags = MS_BIND | MS_REMOUNT | MS_RDONLY;
  if (mount(nullptr, "/", nullptr, flags, nullptr) == 0) return;
  if (errno != EPERM) throw_sys("rootfs", "mount", "/");
  // Flags locked in a user namespace must be kept (as runc does on EPERM).
  struct statvfs sv;
  if (statvfs("/", &sv) != 0) throw_sys("rootfs", "statvfs", "/");
  if (mount(nullptr, "/", nullptr, flags | current_ms_flags(sv), nullptr) != 0) throw_sys("rootfs", "mount", "/");
}

}  // namespace

int rootfs_fd() { return g_rootfd.get(); }

UniqueFd bind_fd_onto(int src, int target, const std::string& step, const std::string& path) {
  UniqueFd tree = clone_tree(src, "", AT_EMPTY_PATH);
  if (!tree) throw_sys(step, "open_tree", path);
  if (attach(tree.get(), target) != 0) throw_sys(step, "move_mount", path);
  return tree;
}

void prepare_rootfs(const Plan& plan) {
  if (!plan.mount_namespace) return;
  // mount_fs() moves the cwd into the rootfs; main.cc expects it back where it was.
  UniqueFd cwd(open(".", O_PATH | O_DIRECTORY | O_CLOEXEC));
  bind_rootfs(plan);
  for (const Mount& m : plan.mounts) mount_one(m, g_rootfd.get());
  setup_devices(plan, g_rootfd.get());
  if (cwd && fchdir(cwd.get()) != 0) throw_sys("rootfs", "fchdir", ".");
}

void enter_rootfs(const Plan& plan) {
  if (!plan.mount_namespace) {
    // No mount namespace: nothing to pivot; only confine the process to the rootfs.
    if (plan.rootfs != "/" && (chdir(plan.rootfs.c_str()) != 0 || chroot(".") != 0)) throw_sys("rootfs", "chroot", plan.rootfs);
    if (chdir("/") != 0) throw_sys("rootfs", "chdir", "/");
    return;
  }
  if (!g_rootfd) throw_msg("pivot_root", plan.rootfs, "pivot_root: the rootfs was not prepared");
  if (fchdir(g_rootfd.get()) != 0) throw_sys("pivot_root", "fchdir", plan.rootfs);
  if (plan.no_pivot) {
    if (mount(".", "/", nullptr, MS_MOVE, nullptr) != 0) throw_sys("pivot_root", "mount", plan.rootfs);
    if (chroot(".") != 0) throw_sys("pivot_root", "chroot", plan.rootfs);
  } else {
    // pivot_root(".", ".") stacks the old root on top of the new one at "/"; it is then detached
    // without needing a put_old directory in the image. It is made a slave first so the detach
    // cannot propagate an unmount to the host's mounts. The slave change must reach the old root
    // only (not the container's mounts, whose propagation is configured), so it goes through an fd
    // of the old root opened before the pivot rather than through ".".
    UniqueFd old_root(open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!old_root) throw_sys("pivot_root", "open", "/");
    if (syscall(SYS_pivot_root, ".", ".") != 0) throw_sys("pivot_root", "pivot_root", plan.rootfs);
    if (fchdir(old_root.get()) != 0) throw_sys("pivot_root", "fchdir", plan.rootfs);
    if (mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) != 0) throw_sys("pivot_root", "mount", plan.rootfs);
    if (umount2(".", MNT_DETACH) != 0) throw_sys("pivot_root", "umount2", plan.rootfs);
  }
  if (chdir("/") != 0) throw_sys("pivot_root", "chdir", "/");
  g_rootfd.reset();
  // The new "/" is a bind of a private mount, so it is private. A shared rootfsPropagation is
  // applied again here, to the container's own root (as runc does after pivot_root): applied before,
  // it would have joined the host's peer group. Private and slave need nothing more, and
  // re-applying a recursive slave would override propagation configured on individual mounts.
  if ((plan.rootfs_propagation & MS_SHARED) && mount(nullptr, "/", nullptr, plan.rootfs_propagation, nullptr) != 0)
    throw_sys("rootfs", "mount", "/");
}

void finish_rootfs(const Plan& plan) {
  apply_sysctls(plan);
  if (!plan.mount_namespace) return;
  UniqueFd root(open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) throw_sys("rootfs", "open", "/");
  for (const std::string& p : plan.readonly_paths) make_readonly(root.get(), p);
  if (!plan.masked_paths.empty()) {
    UniqueFd devnull = verified_dev_null(root.get());
    for (const std::string& p : plan.masked_paths) mask_path(root.get(), devnull.get(), p);
  }
  // Adding MOUNT_ATTR_RDONLY keeps every other flag, locked ones included (user namespaces).
  for (const auto& [dest, fd] : g_readonly_tmpfs)
    if (setattr(fd.get(), 0, MOUNT_ATTR_RDONLY, 0) != 0) throw_sys("mount", "mount_setattr", dest);
  g_readonly_tmpfs.clear();
  if (plan.readonly_rootfs) remount_root_readonly();
}

}  // namespace ociinit
