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

// Creates (if needed) and opens each of comps[from..] below `cur`. "." and ".." are refused: an
// openat(.., O_NOFOLLOW) from the root fd would step out of the rootfs.
Resolved create_components(UniqueFd cur, const std::vector<std::string>& comps, size_t from, mode_t mode) {
  for (size_t i = from; i < comps.size(); ++i) {
    const std::string& c = comps[i];
    if (c == "." || c == "..") return fail("mkdirat", EINVAL);
    if (mkdirat(cur.get(), c.c_str(), mode) != 0 && errno != EEXIST) return fail("mkdirat");
    int fd = tsrun::retry_eintr([&] { return openat(cur.get(), c.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC); });
    if (fd < 0) return fail("openat");
    cur.reset(fd);
  }
  Resolved r;
  r.fd = std::move(cur);
  return r;
}

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
  Resolved whole = open_in_root(rootfd, path, O_PATH | O_DIRECTORY, extra_resolve);
  if (whole.ok() || whole.err != ENOENT) return whole;
  // Find the longest prefix that exists (resolved in root, symlinks allowed unless extra_resolve
  // forbids them), then create the rest component by component on fds.
  std::vector<std::string> comps = split_components(path);
  for (size_t n = comps.size(); n-- > 0;) {
    Resolved prefix = open_in_root(rootfd, join_components(comps, n), O_PATH | O_DIRECTORY, extra_resolve);
    if (prefix.ok()) return create_components(std::move(prefix.fd), comps, n, mode);
    if (prefix.err != ENOENT) return prefix;
  }
  return fail("openat2", ENOENT);  // not reached: "/" always opens
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
  Resolved whole = open_in_root(rootfd, path, O_PATH, extra_resolve);
  if (whole.ok() || whole.err != ENOENT) return whole;
  std::string parent_path, base;
  split_parent(path, parent_path, base);
  if (base.empty() || base == "." || base == "..") return fail("openat", EINVAL);
  Resolved parent = mkdir_all_in_root(rootfd, parent_path, extra_resolve);
  if (!parent.ok()) return parent;
  int fd = tsrun::retry_eintr([&] {
    return openat(parent.fd.get(), base.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, mode);
  });
  if (fd < 0 && errno != EEXIST) return fail("openat");
  UniqueFd created(fd);
  // Reopen without following: if the name is (or raced into) a symlink we get the link itself and
  // the caller's mount onto it fails, rather than following it anywhere.
  Resolved out = wrap(tsrun::retry_eintr([&] { return openat(parent.fd.get(), base.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC); }), "openat");
  if (!out.ok()) return out;
  struct stat st;
  if (fstat(out.fd.get(), &st) != 0) return fail("fstat");
  if (S_ISLNK(st.st_mode)) return fail("openat", ELOOP);
  return out;
}

}  // namespace ociinit
