#include "init/console.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "common/unique_fd.h"
#include "init/error.h"
#include "init/resolve.h"
#include "init/sync.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

namespace ociinit {
namespace {

using tsrun::UniqueFd;

constexpr const char* kStep = "console";
// UNIX98 pty slaves use majors 136-143 (Documentation/admin-guide/devices.txt).
constexpr unsigned kPtySlaveMajorFirst = 136;
constexpr unsigned kPtySlaveMajorLast = 143;

struct Pty {
  UniqueFd master;
  UniqueFd peer;
  std::string name;  // "/dev/pts/N", for error messages
};

// The master comes from the container's /dev/ptmx (a symlink to pts/ptmx, resolved inside the
// root); the peer is taken from the master with TIOCGPTPEER, never by opening /dev/pts/N by path,
// which the container could have replaced (CVE-2025-52565).
Pty alloc_pty(int rootfd) {
  Pty t;
  t.master.reset(openat2_retry(rootfd, "/dev/ptmx", O_RDWR | O_NOCTTY, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS));
  if (!t.master) throw_sys(kStep, "open", "/dev/ptmx");
  int unlock = 0;
  if (::ioctl(t.master.get(), TIOCSPTLCK, &unlock) < 0) throw_sys(kStep, "ioctl(TIOCSPTLCK)", "/dev/ptmx");
  unsigned int n = 0;
  if (::ioctl(t.master.get(), TIOCGPTN, &n) < 0) throw_sys(kStep, "ioctl(TIOCGPTN)", "/dev/ptmx");
  t.name = "/dev/pts/" + std::to_string(n);
  t.peer.reset(::ioctl(t.master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!t.peer) throw_sys(kStep, "ioctl(TIOCGPTPEER)", t.name);
  struct statfs sf;
  struct stat st;
  if (::fstatfs(t.peer.get(), &sf) < 0) throw_sys(kStep, "fstatfs", t.name);
  if (::fstat(t.peer.get(), &st) < 0) throw_sys(kStep, "fstat", t.name);
  if (sf.f_type != DEVPTS_SUPER_MAGIC || !S_ISCHR(st.st_mode) || major(st.st_rdev) < kPtySlaveMajorFirst ||
      major(st.st_rdev) > kPtySlaveMajorLast) {
    throw_msg(kStep, t.name, "console: the pty peer " + t.name + " is not a devpts pty slave");
  }
  return t;
}

void set_size(const Pty& t, const Process& p) {
  if (!p.console_size) return;
  struct winsize ws{};
  ws.ws_row = p.console_size->first;
  ws.ws_col = p.console_size->second;
  if (::ioctl(t.master.get(), TIOCSWINSZ, &ws) < 0) throw_sys(kStep, "ioctl(TIOCSWINSZ)", t.name);
}

// /dev/console as a mount target, opened without following a final symlink: a /dev/console
// planted as a symlink to /proc/sys/kernel/core_pattern (or any procfs/sysfs file) would otherwise
// get the pty bound over that file (CVE-2025-52565). Created as an empty regular file if missing.
UniqueFd console_target(int rootfd) {
  const char* path = "/dev/console";
  UniqueFd fd(openat2_retry(rootfd, path, O_PATH | O_NOFOLLOW, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS));
  if (!fd && errno == ENOENT) {
    Resolved made = create_file_in_root(rootfd, path, RESOLVE_NO_MAGICLINKS, 0666);
    if (!made.ok()) throw_sys(kStep, made.syscall ? made.syscall : "openat", path, made.err);
    fd.reset(openat2_retry(rootfd, path, O_PATH | O_NOFOLLOW, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS));
  }
  if (!fd) throw_sys(kStep, "openat2", path);
  struct stat st;
  struct statfs sf;
  if (::fstat(fd.get(), &st) < 0) throw_sys(kStep, "fstat", path);
  if (::fstatfs(fd.get(), &sf) < 0) throw_sys(kStep, "fstatfs", path);
  if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode)) {
    throw_msg(kStep, path, "console: /dev/console is neither a regular file nor a character device (symlink?)");
  }
  if (sf.f_type == PROC_SUPER_MAGIC || sf.f_type == SYSFS_MAGIC) {
    throw_msg(kStep, path, "console: /dev/console is on procfs or sysfs");
  }
  return fd;
}

// The peer is bound by fd (open_tree on the peer itself, move_mount onto the verified target fd):
// no path is resolved again between the checks and the mount.
void mount_console(int rootfd, const Pty& t) {
  UniqueFd target = console_target(rootfd);
  UniqueFd tree(::open_tree(t.peer.get(), "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH));
  if (!tree) throw_sys(kStep, "open_tree", t.name);
  if (::move_mount(tree.get(), "", target.get(), "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
    throw_sys(kStep, "move_mount", "/dev/console");
  }
}

// Still root here (identity comes later): the pty is handed to process.user, as runc's
// fixStdioPermissions does (uid only: devpts' gid=5 "tty" group stays). EINVAL: the uid is not
// mapped in the container's user namespace; the process still holds the open fds.
void give_to_user(const Pty& t, const Process& p) {
  if (::fchown(t.peer.get(), p.uid, static_cast<gid_t>(-1)) < 0 && errno != EINVAL) throw_sys(kStep, "fchown", t.name);
}

void dup_stdio(const Pty& t) {
  for (int fd = 0; fd < 3; fd++) {
    if (tsrun::retry_eintr([&] { return ::dup3(t.peer.get(), fd, 0); }) < 0) throw_sys(kStep, "dup3", t.name);
  }
  // runtime-spec config.md process.terminal: the pty is the process's controlling terminal.
  if (::ioctl(0, TIOCSCTTY, 0) < 0) throw_sys(kStep, "ioctl(TIOCSCTTY)", t.name);
}

}  // namespace

void setup_console(const Process& p, int sync_fd, bool mount_console_file) {
  UniqueFd root(tsrun::retry_eintr([] { return ::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC); }));
  if (!root) throw_sys(kStep, "open", "/");
  Pty t = alloc_pty(root.get());
  set_size(t, p);
  if (mount_console_file) mount_console(root.get(), t);
  // runc sends the master's own name with it (utils.SendRawFd(socket, pty.Name(), fd)).
  send_pty(sync_fd, t.master.get(), "/dev/ptmx");
  t.master.reset();
  give_to_user(t, p);
  dup_stdio(t);
}

}  // namespace ociinit
