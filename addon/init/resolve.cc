#include "init/resolve.h"

#include <cerrno>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <vector>

namespace ociinit {

namespace {

// A rename racing with RESOLVE_IN_ROOT makes openat2 fail with EAGAIN; retrying is what the kernel
// asks for. The bound stops an attacker who renames in a loop from keeping us here forever.
constexpr int kMaxEagainRetries = 128;

std::vector<std::string> split_components(const std::string& path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    if (j > i) out.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

std::string join_components(const std::vector<std::string>& comps, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += "/" + comps[i];
  return out.empty() ? "/" : out;
}

Resolved fail(const char* syscall, int err = errno) {
  Resolved r;
  r.syscall = syscall;
  r.err = err;
  return r;
}

Resolved wrap(int fd, const char* syscall) {
  if (fd < 0) return fail(syscall);
  Resolved r;
  r.fd.reset(fd);
  return r;
}

// The longest a chain of dangling symlinks may be, as the kernel's own limit (MAXSYMLINKS).
constexpr int kMaxLinks = 40;

Resolved mkdir_all_depth(int rootfd, const std::string& path, uint64_t extra, mode_t mode, int depth);

// `name` (in `dirfd`, whose container path is `dir`) is a symlink the kernel could not follow because
// its target does not exist yet: the path to create continues at the link's target, resolved again
// from the root (so still confined by RESOLVE_IN_ROOT), as runc does for e.g. a dangling
// /etc/resolv.conf link.
bool read_dangling_link(int dirfd, const std::string& dir, const std::string& name, std::string& out) {
  char buf[4096];
  ssize_t n = readlinkat(dirfd, name.c_str(), buf, sizeof buf - 1);
  if (n <= 0) return false;
  std::string target(buf, static_cast<size_t>(n));
  out = target[0] == '/' ? target : (dir == "/" ? "" : dir) + "/" + target;
  return true;
}

// Creates (if needed) and opens each of comps[from..] below `cur`. "." and ".." are refused: an
// openat(.., O_NOFOLLOW) from the root fd would step out of the rootfs.
Resolved create_components(int rootfd, UniqueFd cur, const std::vector<std::string>& comps, size_t from, uint64_t extra,
                           mode_t mode, int depth) {
  for (size_t i = from; i < comps.size(); ++i) {
    const std::string& c = comps[i];
    if (c == "." || c == "..") return fail("mkdirat", EINVAL);
    if (mkdirat(cur.get(), c.c_str(), mode) != 0 && errno != EEXIST) return fail("mkdirat");
    int fd = tsrun::retry_eintr([&] { return openat(cur.get(), c.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC); });
    if (fd < 0) {
      int e = errno;
      std::string link;
      bool follow = !(extra & RESOLVE_NO_SYMLINKS) && (e == ENOTDIR || e == ELOOP);
      if (!follow || !read_dangling_link(cur.get(), join_components(comps, i), c, link)) return fail("openat", e);
      for (size_t j = i + 1; j < comps.size(); ++j) link += "/" + comps[j];
      return mkdir_all_depth(rootfd, link, extra, mode, depth + 1);
    }
    cur.reset(fd);
  }
  Resolved r;
  r.fd = std::move(cur);
  return r;
}

Resolved mkdir_all_depth(int rootfd, const std::string& path, uint64_t extra, mode_t mode, int depth) {
  if (depth > kMaxLinks) return fail("openat2", ELOOP);
  Resolved whole = open_in_root(rootfd, path, O_PATH | O_DIRECTORY, extra);
  if (whole.ok() || whole.err != ENOENT) return whole;
  // Find the longest prefix that exists (resolved in root, symlinks allowed unless extra forbids
  // them), then create the rest component by component on fds.
  std::vector<std::string> comps = split_components(path);
  for (size_t n = comps.size(); n-- > 0;) {
    Resolved prefix = open_in_root(rootfd, join_components(comps, n), O_PATH | O_DIRECTORY, extra);
    if (prefix.ok()) return create_components(rootfd, std::move(prefix.fd), comps, n, extra, mode, depth);
    if (prefix.err != ENOENT) return prefix;
  }
  return fail("openat2", ENOENT);  // not reached: "/" always opens
}

Resolved create_file_depth(int rootfd, const std::string& path, uint64_t extra, mode_t mode, int depth);

}  // namespace

int openat2_retry(int dirfd, const char* path, int flags, uint64_t resolve, mode_t mode) {
  struct open_how how = {};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
  how.resolve = resolve;
  for (int attempt = 0;; ++attempt) {
    long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
    if (fd >= 0) return static_cast<int>(fd);
    if (errno == EINTR) continue;
    if (errno == EAGAIN && attempt < kMaxEagainRetries) continue;
    return -1;
  }
}

Resolved open_in_root(int rootfd, const std::string& path, int flags, uint64_t extra_resolve) {
  uint64_t resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | extra_resolve;
  return wrap(openat2_retry(rootfd, path.c_str(), flags, resolve), "openat2");
}

Resolved mkdir_all_in_root(int rootfd, const std::string& path, uint64_t extra_resolve, mode_t mode) {
  return mkdir_all_depth(rootfd, path, extra_resolve, mode, 0);
}

void split_parent(const std::string& path, std::string& parent, std::string& base) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) {
    parent = "/";
    base = path;
    return;
  }
  parent = slash == 0 ? "/" : path.substr(0, slash);
  base = path.substr(slash + 1);
}

Resolved create_file_in_root(int rootfd, const std::string& path, uint64_t extra_resolve, mode_t mode) {
  return create_file_depth(rootfd, path, extra_resolve, mode, 0);
}

namespace {

Resolved create_file_depth(int rootfd, const std::string& path, uint64_t extra, mode_t mode, int depth) {
  if (depth > kMaxLinks) return fail("openat2", ELOOP);
  Resolved whole = open_in_root(rootfd, path, O_PATH, extra);
  if (whole.ok() || whole.err != ENOENT) return whole;
  std::string parent_path, base;
  split_parent(path, parent_path, base);
  if (base.empty() || base == "." || base == "..") return fail("openat", EINVAL);
  Resolved parent = mkdir_all_depth(rootfd, parent_path, extra, 0755, depth);
  if (!parent.ok()) return parent;
  int fd = tsrun::retry_eintr([&] {
    return openat(parent.fd.get(), base.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, mode);
  });
  if (fd < 0 && errno != EEXIST) return fail("openat");
  UniqueFd created(fd);
  // Reopen without following: if the name is (or raced into) a symlink we get the link itself and
  // follow it only through a fresh in-root resolution of its target.
  Resolved out = wrap(tsrun::retry_eintr([&] { return openat(parent.fd.get(), base.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC); }), "openat");
  if (!out.ok()) return out;
  struct stat st;
  if (fstat(out.fd.get(), &st) != 0) return fail("fstat");
  if (!S_ISLNK(st.st_mode)) return out;
  std::string link;
  if ((extra & RESOLVE_NO_SYMLINKS) || !read_dangling_link(parent.fd.get(), parent_path, base, link)) return fail("openat", ELOOP);
  return create_file_depth(rootfd, link, extra, mode, depth + 1);
}

}  // namespace

}  // namespace ociinit
