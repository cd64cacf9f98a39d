#include "init/copyup.h"

#include <cerrno>
#include <climits>
#include <dirent.h>
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/unique_fd.h"
#include "init/error.h"

namespace ociinit {

namespace {

using tsrun::retry_eintr;
using tsrun::UniqueFd;

constexpr const char* kStep = "mount";
// Two fds per level are open at once: a deeper tree than this is refused rather than running the
// process out of descriptors.
constexpr int kMaxDepth = 128;

// The image's owner. In a user namespace an id without a mapping cannot be set (EINVAL): the copy
// then keeps the owner it was created with, the container's root.
void set_owner(int fd, const char* name, const struct stat& st, const std::string& path) {
  int r = name ? fchownat(fd, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) : fchown(fd, st.st_uid, st.st_gid);
  if (r != 0 && errno != EINVAL) throw_sys(kStep, name ? "fchownat" : "fchown", path);
}

// Mode after owner: chown clears the set-id bits.
void set_mode_and_times(int fd, const struct stat& st, const std::string& path) {
  if (fchmod(fd, st.st_mode & 07777) != 0) throw_sys(kStep, "fchmod", path);
  const struct timespec times[2] = {st.st_atim, st.st_mtim};
  if (futimens(fd, times) != 0) throw_sys(kStep, "futimens", path);
}

void copy_bytes(int in, int out, const std::string& path) {
  for (;;) {
    ssize_t n = retry_eintr([&] { return sendfile(out, in, nullptr, 1 << 20); });
    if (n < 0) throw_sys(kStep, "sendfile", path);
    if (n == 0) return;
  }
}

// O_NONBLOCK: if the entry was swapped for a FIFO since fstatat, opening it must not block; it is
// then skipped like any entry that is no longer a regular file.
void copy_file(int sdir, int ddir, const char* name, const std::string& path) {
  UniqueFd in(retry_eintr([&] { return openat(sdir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC); }));
  if (!in) throw_sys(kStep, "openat", path);
  struct stat st;
  if (fstat(in.get(), &st) != 0) throw_sys(kStep, "fstat", path);
  if (!S_ISREG(st.st_mode)) return;
  UniqueFd out(retry_eintr([&] { return openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600); }));
  if (!out) throw_sys(kStep, "openat", path);
  copy_bytes(in.get(), out.get(), path);
  set_owner(out.get(), nullptr, st, path);
  set_mode_and_times(out.get(), st, path);
}

void copy_symlink(int sdir, int ddir, const char* name, const struct stat& st, const std::string& path) {
  char target[PATH_MAX + 1];
  ssize_t n = readlinkat(sdir, name, target, PATH_MAX);
  if (n < 0) throw_sys(kStep, "readlinkat", path);
  target[n] = '\0';
  if (symlinkat(target, ddir, name) != 0) throw_sys(kStep, "symlinkat", path);
  set_owner(ddir, name, st, path);
  const struct timespec times[2] = {st.st_atim, st.st_mtim};
  if (utimensat(ddir, name, times, AT_SYMLINK_NOFOLLOW) != 0) throw_sys(kStep, "utimensat", path);
}

// Device nodes and FIFOs are recreated (runc copies them the same way); mknod of a device fails in
// a user namespace, and that failure is reported.
void copy_node(int ddir, const char* name, const struct stat& st, const std::string& path) {
  if (mknodat(ddir, name, st.st_mode, st.st_rdev) != 0) throw_sys(kStep, "mknodat", path);
  set_owner(ddir, name, st, path);
  // The entry was just made in a tmpfs only this process can reach yet: by name is safe.
  if (fchmodat(ddir, name, st.st_mode & 07777, 0) != 0) throw_sys(kStep, "fchmodat", path);
}

void copy_dir(int sdir, int ddir, const std::string& path, int depth);

void copy_entry(int sdir, int ddir, const char* name, const std::string& path, int depth) {
  struct stat st;
  if (fstatat(sdir, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return;  // removed while we read the directory
    throw_sys(kStep, "fstatat", path);
  }
  switch (st.st_mode & S_IFMT) {
    case S_IFDIR: {
      if (depth >= kMaxDepth) throw_msg(kStep, path, "mount tmpcopyup " + path + ": directory tree deeper than 128 levels");
      if (mkdirat(ddir, name, 0700) != 0) throw_sys(kStep, "mkdirat", path);
      UniqueFd s(retry_eintr([&] { return openat(sdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC); }));
      if (!s) throw_sys(kStep, "openat", path);
      UniqueFd d(retry_eintr([&] { return openat(ddir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC); }));
      if (!d) throw_sys(kStep, "openat", path);
      copy_dir(s.get(), d.get(), path, depth + 1);
      // Times last: creating the entries inside changed the directory's mtime.
      set_owner(d.get(), nullptr, st, path);
      set_mode_and_times(d.get(), st, path);
      return;
    }
    case S_IFREG:
      return copy_file(sdir, ddir, name, path);
    case S_IFLNK:
      return copy_symlink(sdir, ddir, name, st, path);
    case S_IFCHR:
    case S_IFBLK:
    case S_IFIFO:
      return copy_node(ddir, name, st, path);
    default:
      return;  // a socket belongs to a process that is not in this container: nothing to copy
  }
}

void copy_dir(int sdir, int ddir, const std::string& path, int depth) {
  // fdopendir owns the descriptor it is given: hand it a duplicate.
  int fd = fcntl(sdir, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) throw_sys(kStep, "fcntl", path);
  DIR* dir = fdopendir(fd);
  if (!dir) {
    int e = errno;
    close(fd);
    throw_sys(kStep, "fdopendir", path, e);
  }
  try {
    errno = 0;
    while (struct dirent* e = readdir(dir)) {
      std::string name = e->d_name;
      if (name != "." && name != "..") copy_entry(sdir, ddir, name.c_str(), path + "/" + name, depth);
      errno = 0;
    }
    if (errno != 0) throw_sys(kStep, "readdir", path);
  } catch (...) {
    closedir(dir);
    throw;
  }
  closedir(dir);
}

}  // namespace

void copy_tree(int src, int dst, const std::string& where) { copy_dir(src, dst, where, 0); }

}  // namespace ociinit
